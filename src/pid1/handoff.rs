//! A step PID 1 runs between the first SIGTERM and forwarding it: with `start --reconfig`, a
//! short-lived helper (`zk-entry handoff`, crate::start::handoff) that moves the leader's role to
//! another member before the JVM stops (docs/design.md, "Hand-off before a stop").
//!
//! PID 1 itself holds no session and talks to no server: it starts the helper, keeps taking
//! signals while it runs, and forwards the SIGTERM as soon as the helper exits, or when the
//! [`HandOff::bound`] has passed (the helper is then killed), or at a second SIGTERM (whoever
//! sent it insists), whichever comes first. A helper that cannot be started forwards at once.
//! SIGKILL needs nothing from zk-entry, and every other signal is forwarded as always.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::signals::Signals;
use crate::sys;

/// The helper to run on the first SIGTERM, and how long the SIGTERM may wait for it.
#[derive(Debug, Clone)]
pub(crate) struct HandOff {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    /// Past this, the helper is killed and the SIGTERM forwarded anyway.
    pub(crate) bound: Duration,
}

/// A helper that runs while the SIGTERM waits.
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) pid: Pid,
    started: Instant,
    until: Instant,
}

impl HandOff {
    /// Start the helper; `None` (logged) when it cannot be started: the caller forwards at once.
    pub(crate) fn start(&self, signals: &Signals) -> Option<Running> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).stdin(Stdio::null());
        // Not PID 1's blocked mask: a signal must be able to end it.
        match signals.spawn(&mut cmd, super::user::setup_helper(signals)) {
            Ok(child) => {
                let pid = Pid::from_raw(child.id() as i32);
                // PID 1's loop reaps it with every other child.
                drop(child);
                tracing::info!(
                    "SIGTERM: handing over before ZooKeeper stops (zk-entry handoff, pid {pid}, at most {:?})",
                    self.bound
                );
                let started = Instant::now();
                Some(Running { pid, started, until: started + self.bound })
            }
            Err(e) => {
                tracing::warn!("SIGTERM: cannot start zk-entry handoff ({e}); stopping ZooKeeper now");
                None
            }
        }
    }
}

impl Running {
    /// How long the SIGTERM may still wait.
    pub(crate) fn left(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }

    /// The helper exited (its raw wait status): the SIGTERM goes on.
    pub(crate) fn finished(self, status: i32) {
        let how = match sys::killed_by(status) {
            Some(sig) => format!("was killed by {}", sys::signal_name(sig)),
            None => format!("exited with status {}", sys::status_code(status)),
        };
        tracing::info!(
            "hand-off (pid {}) {how} after {:?}; stopping ZooKeeper",
            self.pid,
            self.started.elapsed()
        );
    }

    /// Stop waiting for the helper (`why`: the bound passed, a second SIGTERM): it is killed,
    /// and reaped later with every other child. It is unreaped, so its pid is still its own.
    pub(crate) fn abandon(self, why: &str) {
        if let Err(e) = sys::send_signal(self.pid, libc::SIGKILL) {
            tracing::warn!("cannot end zk-entry handoff (pid {}): {e}", self.pid);
        }
        tracing::info!(
            "hand-off (pid {}) cut short after {:?}: {why}; stopping ZooKeeper",
            self.pid,
            self.started.elapsed()
        );
    }
}
