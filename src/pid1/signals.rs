//! zk-entry's signal state: which signals it blocks, the mask its child gets back, and the
//! checkpoints that stop a start when a signal arrives during preparation.
//!
//! Invariant: there are no signal handlers in zk-entry. Every signal it handles is blocked first
//! thing in `main`, before any thread or child exists, so none is lost (PID 1 drops signals whose
//! disposition is the default) and none interrupts a half-done step; they wait as pending signals
//! until zk-entry takes them synchronously: [`Signals::checkpoint`] while preparing (and, in the
//! waits of a start's membership decision, [`Signals::stop_check`] and [`Signals::sleep`]),
//! [`crate::pid1::supervise`]'s loop once the child runs.
//!
//! "Every signal" means every number the kernel can deliver, 1 to [`sys::MAX_SIGNAL`], not what
//! the C library's `sigfillset` gives: musl's leaves out 32 to 34 (and glibc's wrappers 32 and
//! 33), and 34 is the first real-time signal of bash, kill, Python and the JVM.
//!
//! Not blocked:
//! - fault signals (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS): a fault in zk-entry must kill it, not
//!   wait in a queue (and the kernel would kill it anyway);
//! - SIGPIPE: Rust ignores it so that a write to a closed pipe fails with EPIPE; blocked, it
//!   would queue instead and be taken for a signal to forward, so a closed log pipe would kill
//!   the JVM;
//! - SIGKILL and SIGSTOP, which cannot be blocked.

use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::Signal;

use crate::exit::Stopped;
use crate::net;
use crate::sys::{self, Mask};

const NOT_BLOCKED: [Signal; 8] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
    Signal::SIGPIPE,
];

/// Standard signals whose default action ends a process. Receiving one of them while preparing
/// stops the start, as it would stop any program without a handler; the others (CHLD, CONT,
/// URG, WINCH, TSTP, TTIN, TTOU) stay pending and reach the child once it runs.
const ENDING: [Signal; 14] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGSTKFLT,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGIO,
    Signal::SIGPWR,
];

/// The signal state set up in `main`.
pub(crate) struct Signals {
    /// The mask zk-entry inherited; its child gets it back.
    pub(crate) original: Mask,
    /// What zk-entry blocked: every signal but those in [`NOT_BLOCKED`].
    pub(crate) handled: Mask,
    /// Signals that stop a start during preparation: [`ENDING`] and every real-time signal.
    ending: Vec<i32>,
}

impl Signals {
    /// Block every signal zk-entry handles. Call first thing in `main`, before anything else can
    /// start a thread.
    pub(crate) fn block() -> anyhow::Result<Signals> {
        let not_blocked: Vec<i32> = NOT_BLOCKED.iter().map(|s| *s as i32).collect();
        let handled = Mask::all_except(&not_blocked);
        let original = sys::block_signals(&handled).context("cannot block signals")?;
        let mut ending: Vec<i32> = ENDING.iter().map(|s| *s as i32).collect();
        ending.extend(FIRST_REALTIME..=sys::MAX_SIGNAL);
        Ok(Signals { original, handled, ending })
    }

    /// Signal state for unit tests that run preparation code inside the test harness: nothing is
    /// blocked (the mask is per thread and shared with other tests), so checkpoints never fire.
    #[cfg(test)]
    pub(crate) fn unblocked_for_tests() -> Signals {
        Signals { original: Mask(0), handled: Mask(0), ending: Vec::new() }
    }

    /// Give this thread its inherited mask back: for subcommands that run no child and should
    /// die of Ctrl-C as any tool does.
    pub(crate) fn restore(&self) -> anyhow::Result<()> {
        sys::set_signal_mask(&self.original).context("cannot restore the signal mask")
    }

    /// Start `cmd` as a child set up by `setup` ([`sys::install_child_setup`]). The one way
    /// zk-entry starts a process: std's spawn blocks signals around fork and restores the mask
    /// through the C library, which leaves out the numbers it keeps for itself (glibc: 32 and
    /// 33), so they are blocked again here, or a `kill -32` would be dropped (as PID 1) or kill
    /// zk-entry (otherwise).
    pub(crate) fn spawn(
        &self,
        cmd: &mut std::process::Command,
        setup: sys::ChildSetup,
    ) -> std::io::Result<std::process::Child> {
        sys::install_child_setup(cmd, setup);
        let spawned = cmd.spawn();
        // Whatever the spawn gave: a started child's handle must not be lost to an error here
        // (the kernel refuses a valid mask for no reason it documents, so this only warns).
        if let Err(e) = sys::block_signals(&self.handled) {
            tracing::warn!("cannot block signals 32 and 33 again after starting a process: {e}");
        }
        spawned
    }

    /// Between preparation steps: a pending signal that would end a process ends the start here,
    /// with a [`Stopped`] error (exit 128 + signal), before the JVM is started.
    pub(crate) fn checkpoint(&self) -> anyhow::Result<()> {
        match sys::first_pending(&self.ending).context("cannot read pending signals")? {
            Some(signal) => Err(Stopped { signal }.into()),
            None => Ok(()),
        }
    }

    /// For network waits during preparation ([`net::Deadline`]): true once a signal that ends
    /// the start is pending. The wait then ends, and the next [`Signals::checkpoint`] says which.
    pub(crate) fn stop_check(&self) -> net::Stop {
        let ending = self.ending.clone();
        // A pending set that cannot be read stops nothing here; the checkpoint reports it.
        Rc::new(move || matches!(sys::first_pending(&ending), Ok(Some(_))))
    }

    /// Sleep for `pause` during preparation, ended early by a signal that ends the start (with
    /// a [`Stopped`] error, as at a checkpoint): PID 1 answers SIGTERM while it waits for peers.
    pub(crate) fn sleep(&self, pause: Duration) -> anyhow::Result<()> {
        let until = Instant::now() + pause;
        loop {
            self.checkpoint()?;
            match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => std::thread::sleep(left.min(net::SLICE)),
                _ => return Ok(()),
            }
        }
    }
}

/// The first real-time signal the kernel has (32); the ones below 34 are kept by the C libraries
/// for their own threads but can still be sent with `kill -32`.
const FIRST_REALTIME: i32 = 32;
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_signals_and_sigpipe_are_never_blocked() {
        // In a thread of its own: the mask is per thread, and the test harness's must stay as is.
        std::thread::spawn(|| {
            let signals = Signals::block().unwrap();
            let now = sys::signal_mask().unwrap();
            for sig in NOT_BLOCKED {
                assert!(!now.contains(sig as i32), "{sig} blocked");
            }
            for sig in ENDING {
                assert!(now.contains(sig as i32), "{sig} not blocked");
            }
            // The numbers the C libraries keep for themselves are blocked too.
            for sig in 32..=sys::MAX_SIGNAL {
                assert!(now.contains(sig), "{sig} not blocked");
            }
            signals.restore().unwrap();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_pending_ending_signal_stops_preparation() {
        std::thread::spawn(|| {
            let signals = Signals::block().unwrap();
            assert!(signals.checkpoint().is_ok());
            assert!(!signals.stop_check()());
            signals.sleep(Duration::from_millis(120)).unwrap();
            // A thread-directed signal stays pending on this thread only, away from the harness.
            nix::sys::pthread::pthread_kill(nix::sys::pthread::pthread_self(), Signal::SIGUSR2).unwrap();
            let err = signals.checkpoint().unwrap_err();
            assert_eq!(crate::exit::code_of(&err), 128 + libc::SIGUSR2 as u8);
            // Network waits see it too, and a pause ends at once instead of sleeping it out.
            assert!(signals.stop_check()());
            let started = Instant::now();
            let err = signals.sleep(Duration::from_secs(30)).unwrap_err();
            assert_eq!(crate::exit::code_of(&err), 128 + libc::SIGUSR2 as u8);
            assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
            // Take it so that restoring the mask does not deliver it.
            let set = Mask(1 << (libc::SIGUSR2 - 1));
            assert_eq!(sys::wait_signal(&set).unwrap(), libc::SIGUSR2);
            signals.restore().unwrap();
        })
        .join()
        .unwrap();
    }
}
