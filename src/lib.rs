//! zk-entry: one static binary that replaces the Kubernetes ZooKeeper tutorial's scripts.
//!
//! `main` parses ([`cli`]), dispatches to a subcommand ([`start`], [`ready`], [`metrics`]) and
//! maps the outcome to the exit-code contract of [`exit`]. Each other module owns one job:
//! [`settings`] checks start's input, [`identity`] derives the server id and domain, [`render`]
//! makes file contents, [`files`] puts them on disk atomically, [`jvm`] builds and execs the JVM
//! command line, [`probe_settings`] checks the probes' input, [`fourlw`] is the four-letter-word
//! client, [`sys`] holds the libc calls, [`logging`] formats zk-entry's own log lines.

pub mod cli;
pub mod exit;
pub mod files;
pub mod fourlw;
pub mod identity;
pub mod jvm;
pub mod logging;
pub mod metrics;
pub mod probe_settings;
pub mod ready;
pub mod render;
pub mod settings;
pub mod start;
pub mod sys;

use std::ffi::OsString;
use std::process::ExitCode;

/// Run zk-entry with these process arguments (`args[0]` is the program name).
pub fn run(args: Vec<OsString>) -> anyhow::Result<ExitCode> {
    match cli::parse(args)? {
        cli::Invocation::Info(text) => {
            write_stdout(&text)?;
            Ok(ExitCode::from(exit::SUCCESS))
        }
        cli::Invocation::Start(start) => start::run(&start),
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
