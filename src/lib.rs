//! zk-entry: one static binary that replaces the Kubernetes ZooKeeper tutorial's scripts.
//!
//! `main` blocks signals ([`signals`]), parses ([`cli`]), dispatches to a subcommand ([`start`],
//! [`ready`], [`metrics`]) and maps the outcome to the exit-code contract of [`exit`]. Each other
//! module owns one job: [`settings`] checks start's input, [`identity`] derives the server id and
//! domain, [`privileges`] resolves the user ZooKeeper runs as, [`render`] makes file contents,
//! [`files`] puts them on disk atomically, [`ownership`] gives the data directories to that user,
//! [`jvm`] builds the JVM command line, [`supervise`] runs it as a child and forwards signals and
//! reaps, [`probe_settings`] checks the probes' input, [`fourlw`] is the four-letter-word client,
//! [`sys`] holds the libc calls, [`logging`] formats zk-entry's own log lines.

pub mod cli;
pub mod exit;
pub mod files;
pub mod fourlw;
pub mod identity;
pub mod jvm;
pub mod logging;
pub mod metrics;
pub mod ownership;
pub mod privileges;
pub mod probe_settings;
pub mod ready;
pub mod render;
pub mod settings;
pub mod signals;
pub mod start;
pub mod supervise;
pub mod sys;

use std::ffi::OsString;
use std::process::ExitCode;

/// Run zk-entry with these process arguments (`args[0]` is the program name). `signals` is the
/// state `main` set up before anything else: every handled signal blocked.
pub fn run(args: Vec<OsString>, signals: &signals::Signals) -> anyhow::Result<ExitCode> {
    let invocation = cli::parse(args)?;
    if !matches!(invocation, cli::Invocation::Start(_)) {
        // Only `start` supervises; everything else is a plain tool that Ctrl-C should end.
        signals.restore()?;
    }
    match invocation {
        cli::Invocation::Info(text) => {
            write_stdout(&text)?;
            Ok(ExitCode::from(exit::SUCCESS))
        }
        cli::Invocation::Start(start) => start::run(&start, signals),
        cli::Invocation::Ready(args) => {
            ready::run(&probe_settings::Ready::from_args(&args)?)?;
            Ok(ExitCode::from(exit::SUCCESS))
        }
        cli::Invocation::Metrics(args) => {
            metrics::run(&probe_settings::Metrics::from_args(&args)?)?;
            Ok(ExitCode::from(exit::SUCCESS))
        }
    }
}

/// Write output for the user. `print!` would panic on a closed pipe (Rust ignores SIGPIPE); a
/// reader that stopped early (`| head`) is not an error, any other write failure is.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to stdout"))
        }
        _ => Ok(()),
    }
}
