//! The child's whole life under zk-entry: start it with a clean signal state and its user's
//! credentials, then wait, forward and reap until it exits, and exit with its status.
//!
//! Invariants (docs/design.md, "Rules for PID 1"):
//! - one loop takes every signal synchronously ([`crate::sys::wait_signal`] on the set blocked in
//!   `main`); nothing runs in a signal handler;
//! - every wake-up reaps until no exited child is left, since SIGCHLDs coalesce; orphans that the
//!   kernel hands to zk-entry (as PID 1, or as a child subreaper) are reaped there too;
//! - a signal is forwarded only while the child is unreaped: until zk-entry itself collects its
//!   status the PID stays a zombie and cannot be reused, and once it is collected zk-entry exits;
//! - no kill timer: the kubelet escalates to SIGKILL after `terminationGracePeriodSeconds`, and
//!   ZooKeeper's own shutdown must not be cut short;
//! - with a [`HandOff`] (`start --reconfig`), the first SIGTERM waits for its helper, bounded,
//!   before it is forwarded ([`super::handoff`]); every other signal is forwarded as it comes.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use nix::unistd::Pid;

use super::handoff::{HandOff, Running};
use super::signals::Signals;
use super::user::RunAs;
use crate::exit::{self, Exec};
use crate::sys;

/// The program to run and how.
pub(crate) struct Child {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    /// How log lines name it: "ZooKeeper" for the JVM, the program otherwise.
    pub(crate) label: String,
    pub(crate) run_as: RunAs,
    /// `--exit_code_map`: (child's status, zk-entry's exit code).
    pub(crate) exit_code_map: Vec<(u8, u8)>,
    /// Privileges the child must not be able to gain back (see [`super::user::Privileges`]).
    pub(crate) privileges: super::user::Privileges,
    /// What an exit status of the child means, for the log line that reports it.
    pub(crate) exit_meanings: Vec<(u8, String)>,
    /// What runs on the first SIGTERM before it is forwarded, if anything.
    pub(crate) hand_off: Option<HandOff>,
}

/// Start the child and supervise it until it exits; the result is zk-entry's exit code.
pub(crate) fn run(child: &Child, signals: &Signals) -> anyhow::Result<ExitCode> {
    become_reaper();
    let pid = spawn(child, signals)?;
    // The hand-off runs at most once: once SIGTERM has been forwarded, the next ones go at once.
    let mut hand_off = child.hand_off.as_ref();
    let mut running: Option<Running> = None;
    loop {
        let taken = match &running {
            None => sys::wait_signal(&signals.handled).map(Some),
            Some(helper) => sys::wait_signal_for(&signals.handled, helper.left()),
        };
        let sig = match taken {
            Ok(sig) => sig,
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(anyhow::Error::new(e).context("cannot wait for signals")),
        };
        match sig {
            None => {
                if let Some(helper) = running.take() {
                    helper.abandon("its time is up");
                    forward(pid, libc::SIGTERM, &child.label);
                }
            }
            Some(libc::SIGCHLD) => {}
            Some(libc::SIGTERM) if running.is_some() => {
                if let Some(helper) = running.take() {
                    helper.abandon("another SIGTERM came");
                }
                forward(pid, libc::SIGTERM, &child.label);
            }
            Some(libc::SIGTERM) if hand_off.is_some() => {
                running = hand_off.take().and_then(|h| h.start(signals));
                if running.is_none() {
                    forward(pid, libc::SIGTERM, &child.label);
                }
            }
            Some(sig) => forward(pid, sig, &child.label),
        }
        let helper = running.as_ref().map(|r| r.pid);
        let (main, helper_status) = reap(pid, helper)?;
        if let Some(status) = main {
            return Ok(ExitCode::from(outcome(child, pid, status)));
        }
        // Only once it has exited: until then the SIGTERM still waits for it.
        if let Some(status) = helper_status
            && let Some(helper) = running.take()
        {
            helper.finished(status);
            forward(pid, libc::SIGTERM, &child.label);
        }
    }
}

/// PID 1 inherits every orphan of its namespace. Anywhere else (`shareProcessNamespace: true`,
/// or a plain shell) the orphans of the child would go to someone else's init and could stay
/// zombies there: a child subreaper gets them instead.
fn become_reaper() {
    if nix::unistd::getpid().as_raw() == 1 {
        return;
    }
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        tracing::warn!("cannot become a child subreaper ({e}); orphans of ZooKeeper will be reaped by PID 1");
    }
}

fn spawn(child: &Child, signals: &Signals) -> anyhow::Result<Pid> {
    let mut cmd = Command::new(&child.program);
    cmd.args(&child.args);
    // Its own process group: a Ctrl-C in a terminal reaches zk-entry, which forwards it once,
    // instead of reaching both and the JVM twice.
    cmd.process_group(0);
    if let RunAs::Switch(account) = &child.run_as {
        cmd.env("HOME", &account.home);
    }
    let setup = super::user::setup_as(&child.run_as, child.privileges, signals);
    let spawned = signals.spawn(&mut cmd, setup).map_err(|e| {
        let code =
            if e.kind() == std::io::ErrorKind::NotFound { exit::NOT_FOUND } else { exit::NOT_EXECUTABLE };
        let user = match &child.run_as {
            RunAs::Switch(account) => format!(" as {}", account.describe()),
            RunAs::Current { .. } => String::new(),
        };
        anyhow::Error::from(Exec {
            code,
            message: format!("cannot run {}{user}: {e}", child.program.display()),
        })
    })?;
    let pid = Pid::from_raw(spawned.id() as i32);
    // The status is collected by the reaping loop with waitpid(-1), not through this handle.
    drop(spawned);
    let user = format!(" as {}", child.run_as.describe());
    let role = if nix::unistd::getpid().as_raw() == 1 { "PID 1" } else { "child subreaper" };
    tracing::info!("started {} (pid {pid}){user}; zk-entry stays as {role}, forwarding signals", child.label);
    Ok(pid)
}

/// Send first, log after: the log line may be dropped (see [`crate::log`]), the signal must not
/// wait for it.
fn forward(pid: Pid, sig: i32, label: &str) {
    match sys::send_signal(pid, sig) {
        Ok(()) => tracing::info!("forwarded {} to {label} (pid {pid})", sys::signal_name(sig)),
        Err(e) => tracing::warn!("cannot forward {} to pid {pid}: {e}", sys::signal_name(sig)),
    }
}

/// Collect every exited child; the raw statuses of the main child and of `helper` (the
/// hand-off) if they were among them.
fn reap(main: Pid, helper: Option<Pid>) -> anyhow::Result<(Option<i32>, Option<i32>)> {
    let (mut main_status, mut helper_status) = (None, None);
    while let Some((pid, status)) =
        sys::reap_one().map_err(|e| anyhow::Error::new(e).context("cannot reap children"))?
    {
        if pid == main {
            main_status = Some(status);
        } else if Some(pid) == helper {
            helper_status = Some(status);
        }
    }
    Ok((main_status, helper_status))
}

/// zk-entry's exit code for the child's raw wait status, after `--exit_code_map`.
fn outcome(child: &Child, pid: Pid, status: i32) -> u8 {
    let code = sys::status_code(status);
    let mapped = child.exit_code_map.iter().find(|(from, _)| *from == code).map(|(_, to)| *to);
    let how = match sys::killed_by(status) {
        Some(sig) => format!("was killed by {}", sys::signal_name(sig)),
        None => match child.exit_meanings.iter().find(|(status, _)| *status == code) {
            Some((_, meaning)) => format!("exited with status {code} ({meaning})"),
            None => format!("exited with status {code}"),
        },
    };
    match mapped {
        Some(to) => {
            tracing::info!(
                "{} (pid {pid}) {how}; exiting with {to} (--exit_code_map {code}:{to})",
                child.label
            )
        }
        None => tracing::info!("{} (pid {pid}) {how}; exiting with {code}", child.label),
    }
    mapped.unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(exit_code_map: &[(u8, u8)]) -> Child {
        Child {
            program: PathBuf::from("/bin/true"),
            args: Vec::new(),
            label: "ZooKeeper".into(),
            run_as: RunAs::Current { uid: nix::unistd::Uid::from_raw(1000) },
            exit_code_map: exit_code_map.to_vec(),
            privileges: crate::pid1::user::Privileges::default(),
            exit_meanings: vec![(14, "could not bind".into())],
            hand_off: None,
        }
    }

    /// Raw wait statuses as the kernel encodes them: exit code in bits 8-15, signal in 0-6.
    fn exited(code: i32) -> i32 {
        code << 8
    }

    #[test]
    fn outcome_passes_exit_codes_and_signals_through() {
        let pid = Pid::from_raw(42);
        let plain = child(&[]);
        assert_eq!(outcome(&plain, pid, exited(0)), 0);
        assert_eq!(outcome(&plain, pid, exited(3)), 3);
        assert_eq!(outcome(&plain, pid, exited(255)), 255);
        assert_eq!(outcome(&plain, pid, libc::SIGTERM), 143);
        assert_eq!(outcome(&plain, pid, libc::SIGKILL), 137);
        let rt = 34;
        assert_eq!(outcome(&plain, pid, rt), (128 + rt) as u8);
    }

    #[test]
    fn outcome_applies_the_exit_code_map_to_statuses_and_signals() {
        let pid = Pid::from_raw(42);
        let mapped = child(&[(143, 0), (3, 7)]);
        assert_eq!(outcome(&mapped, pid, libc::SIGTERM), 0, "a clean SIGTERM mapped to success");
        assert_eq!(outcome(&mapped, pid, exited(143)), 0, "the JVM's own exit 143 is the same status");
        assert_eq!(outcome(&mapped, pid, exited(3)), 7);
        assert_eq!(outcome(&mapped, pid, exited(4)), 4, "unmapped statuses pass through");
        assert_eq!(outcome(&mapped, pid, libc::SIGKILL), 137);
    }

    #[test]
    fn a_status_with_a_meaning_passes_through_unchanged() {
        assert_eq!(outcome(&child(&[]), Pid::from_raw(42), exited(14)), 14);
        assert_eq!(outcome(&child(&[(14, 0)]), Pid::from_raw(42), exited(14)), 0);
    }
}
