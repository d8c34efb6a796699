//! The zk-entry binary: block signals, set up logging, run, turn any error into one line and an
//! exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    // First, before anything can start a thread: a signal that arrives from here on waits for
    // zk-entry instead of being lost (see zk_entry::signals).
    let signals = match zk_entry::signals::Signals::block() {
        Ok(signals) => signals,
        Err(err) => return zk_entry::exit::report(&err),
    };
    zk_entry::logging::init();
    match zk_entry::run(std::env::args_os().collect(), &signals) {
        Ok(code) => code,
        Err(err) => zk_entry::exit::report(&err),
    }
}
