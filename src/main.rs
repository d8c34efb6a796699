//! The zk-entry binary: set up logging, run, turn any error into one line and an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    zk_entry::logging::init();
    match zk_entry::run(std::env::args_os().collect()) {
        Ok(code) => code,
        Err(err) => zk_entry::exit::report(&err),
    }
}
