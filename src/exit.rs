//! The exit-code contract of every zk-entry subcommand, and the one place that turns an error
//! into the single `zk-entry: ...` line on stderr.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (`--dry-run`, `--help`, `--version`; `ready`: the server is healthy; `metrics`: mntr printed) |
//! | 1 | a start step failed: a file could not be read or written, a planted link or a file that is not a small regular file, `myid` holds another id, no ZooKeeper install found, a directory the JVM's user cannot write, root without the capabilities to switch users, a `--tls_dir` pair that fails its check; `ready`/`metrics`: the server is unhealthy or gave no usable reply |
//! | 2 | invalid input: an unknown flag, a bad value (flag or `ZK_*` variable), a host name or domain that cannot give the server's identity, an unknown `--user`, a system directory as data or log directory; nothing was touched (and no connection opened) |
//! | 126 | the JVM (or `--java`, or the `-- COMMAND`) exists but could not be executed |
//! | 127 | the JVM (or `--java`, or the `-- COMMAND`) was not found |
//! | 128 + n | `start`: a signal n arrived while zk-entry was still preparing; no child was started |
//!
//! Once the child of `start` runs, zk-entry exits with the child's status instead (its exit code,
//! or 128 + n when signal n killed it), remapped by `--exit_code_map`.
//!
//! Errors travel as `anyhow::Error`; the code is chosen by the typed marker at the root of the
//! chain ([`Usage`], [`Exec`], [`Stopped`]), everything else is a plain failure (1).

use std::fmt;
use std::process::ExitCode;

pub(crate) const SUCCESS: u8 = 0;
pub(crate) const FAILURE: u8 = 1;
pub(crate) const USAGE: u8 = 2;
pub(crate) const NOT_EXECUTABLE: u8 = 126;
pub(crate) const NOT_FOUND: u8 = 127;

/// Bad input: the message names the flag or variable, the value and what would be accepted.
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A program could not be started; `code` is 126 or 127.
#[derive(Debug)]
pub(crate) struct Exec {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl fmt::Display for Exec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exec {}

/// A signal arrived before the child was started; the start was abandoned.
#[derive(Debug)]
pub(crate) struct Stopped {
    pub(crate) signal: i32,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "received {} while preparing; stopped before starting ZooKeeper",
            crate::sys::signal_name(self.signal)
        )
    }
}

impl std::error::Error for Stopped {}

/// Shorthand for returning a [`Usage`] error.
pub(crate) fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(Usage(message.into()).into())
}

/// The exit code an error maps to under the contract above.
pub(crate) fn code_of(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<Usage>()) {
        USAGE
    } else if let Some(exec) = err.chain().find_map(|e| e.downcast_ref::<Exec>()) {
        exec.code
    } else if let Some(stopped) = err.chain().find_map(|e| e.downcast_ref::<Stopped>()) {
        (128 + stopped.signal).clamp(0, 255) as u8
    } else {
        FAILURE
    }
}

/// The error as one line: context first, cause last, separated by `: `. Embedded newlines
/// (from an OS message or a quoted value) are folded so a log collector sees one record.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.split(['\n', '\r']).map(str::trim).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Print the error on stderr and give the process exit code. The line is best effort, through the
/// log's non-blocking writer: a stderr that is closed, full or unread must neither turn the
/// documented code into a panic's 101 (`eprintln!` panics when the write fails) nor keep PID 1
/// from exiting.
pub(crate) fn report(err: &anyhow::Error) -> ExitCode {
    crate::log::emit(format!("zk-entry: {}\n", one_line(err)).as_bytes());
    ExitCode::from(code_of(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn usage_errors_map_to_2_even_under_context() {
        let err = usage::<()>("--servers: bad").context("start").unwrap_err();
        assert_eq!(code_of(&err), USAGE);
    }

    #[test]
    fn exec_errors_carry_their_code() {
        let err: anyhow::Error = Exec { code: NOT_FOUND, message: "java: not found".into() }.into();
        assert_eq!(code_of(&err), NOT_FOUND);
    }

    #[test]
    fn other_errors_are_failures() {
        let err = anyhow::anyhow!("disk full");
        assert_eq!(code_of(&err), FAILURE);
    }

    #[test]
    fn one_line_joins_context_and_folds_newlines() {
        let err = Err::<(), _>(anyhow::anyhow!("first\nsecond")).context("writing zoo.cfg").unwrap_err();
        assert_eq!(one_line(&err), "writing zoo.cfg: first second");
    }
}
