//! zk-entry: one static binary that replaces the Kubernetes ZooKeeper tutorial's scripts.
//!
//! `main` blocks signals first ([`pid1::signals`]), parses the command line ([`cli`]), runs one
//! subcommand and maps its outcome to the exit-code contract ([`exit`]).
//!
//! One folder per subcommand family, none of which imports another: [`start`] (the pod's PID 1
//! until it supervises: settings, identity, the files and directories it writes, TLS, SASL, the
//! JVM command line, and its part of `--reconfig`, the membership it starts with), [`probe`]
//! (`ready` and `metrics` over the four-letter-word client) and [`reconfig`] (`members`,
//! `resize`, `leave`: the membership commands of `--reconfig`; the hidden `join` is start's, which
//! runs it). Each defines its flags in its own `args.rs`; [`cli`] holds only the top level.
//!
//! Below them, what several of them use, importing none of them: [`pid1`] (the signal state, who
//! a child runs as and with which privileges, the supervision loop that `start` ends in), [`fs`]
//! (directories opened relative to descriptors without following links, bounded reads, atomic
//! writes, the ownership walk), [`secrets`] (which values are secret, secret files, the super
//! password), [`shape`] (the ensemble's recorded shape and the pod's notes), [`zk`] (ZooKeeper's
//! client protocol and its membership text), [`net`] (network steps under a deadline), [`reach`] (how a command reaches
//! a running ensemble), [`flag`] (a flag's value as a [`parse::Raw`], its alias and variable), [`parse`]
//! (checking values typed on the command line or in `ZK_*` variables, pod ordinals), [`log`]
//! (zk-entry's own log lines), [`output`] (what is printed for the user), [`quote`] (printing
//! text that came from a server) and [`sys`] (every libc call, the only module allowed
//! `unsafe`; signal numbers and names). `make lint` checks these rules
//! (tests/scripts/imports.py): no folder reaches into another, no module imports one that
//! imports it back.

#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod cli;
mod exit;
mod flag;
mod fs;
mod log;
mod net;
mod output;
mod parse;
mod pid1;
mod probe;
mod quote;
mod reach;
mod reconfig;
mod secrets;
mod shape;
mod start;
#[allow(unsafe_code)]
mod sys;
mod zk;

use std::ffi::OsString;
use std::process::ExitCode;

use pid1::signals::Signals;

/// See Cargo.toml: musl's allocator maps and unmaps memory per size class on every call.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> ExitCode {
    // First, before anything can start a thread: a signal that arrives from here on waits for
    // zk-entry instead of being lost (see pid1::signals).
    let signals = match Signals::block() {
        Ok(signals) => signals,
        Err(err) => return exit::report(&err),
    };
    log::init();
    match run(std::env::args_os().collect(), &signals) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    }
}

/// Run zk-entry with these process arguments (`args[0]` is the program name).
fn run(args: Vec<OsString>, signals: &Signals) -> anyhow::Result<ExitCode> {
    let invocation = cli::parse(args, &cli::process_env)?;
    if !matches!(invocation, cli::Invocation::Start(_)) {
        // Only `start` supervises; everything else is a plain tool that Ctrl-C should end.
        signals.restore()?;
    }
    match invocation {
        cli::Invocation::Info(text) => output::write_stdout(&text)?,
        cli::Invocation::Start(args) => return start::run(&args, signals),
        cli::Invocation::Ready(args) => probe::ready::run(&probe::settings::Ready::from_input(&args)?)?,
        cli::Invocation::Metrics(args) => probe::metrics::run(&probe::settings::Metrics::from_input(&args)?)?,
        cli::Invocation::TlsWatch(args) if args.check => {
            output::write_stdout(&start::tls_watch::check_once(&args.watch)?)?
        }
        cli::Invocation::TlsWatch(args) => start::tls_watch::run(&args.watch)?,
        cli::Invocation::Members(args) => {
            reconfig::members::run(&reach::Target::from_input(&args.ensemble)?)?
        }
        cli::Invocation::Join(args) => start::join::check_and_run(&args)?,
        cli::Invocation::Handoff(args) => start::handoff::check_and_run(&args)?,
        cli::Invocation::Resize(args) => reconfig::resize(&args)?,
        cli::Invocation::Leave(args) => reconfig::leave(&args.authorised)?,
    }
    Ok(ExitCode::from(exit::SUCCESS))
}
