//! Planned operations as Kubernetes carries them out, on the pod harness: restarting a pod the
//! way a StatefulSet's RollingUpdate or a drain does (the preStop hook if the manifest has one,
//! SIGTERM to PID 1, the grace period, SIGKILL; the pod made again on its volume; the next one
//! only once `ready --quorum` passes), and the membership as `zk-entry members` shows it. Shared
//! by tests/it/rolling.rs and benches/rolling.rs.

use std::time::{Duration, Instant};

use super::dynamic::{SERVE_LIMIT, leave};
use super::ensemble::Ensemble;
use super::{signal, stderr, stdout};

/// The manifests' `terminationGracePeriodSeconds`.
pub const GRACE: Duration = Duration::from_secs(30);

/// How a pod is stopped: the preStop hook first or not, then SIGTERM to PID 1, then SIGKILL
/// once `grace` has passed if PID 1 is still there (the tutorial's `sh -c` ignores SIGTERM and
/// waits it out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// zookeeper-scalable.yaml's preStop (`zk-entry leave`) before the SIGTERM.
    pub pre_stop: bool,
    pub grace: Duration,
}

impl Stop {
    /// SIGTERM alone (`podman stop`, a kubelet with no preStop hook), the manifests' grace.
    pub const TERM: Stop = Stop { pre_stop: false, grace: GRACE };
    /// As zookeeper-scalable.yaml stops a pod.
    pub const PRE_STOP: Stop = Stop { pre_stop: true, grace: GRACE };
}

/// Stop pod `ordinal` as `how` says; how long it took. The sandbox and volume stay.
pub fn stop(e: &mut Ensemble, ordinal: usize, how: Stop) -> Duration {
    let started = Instant::now();
    if how.pre_stop {
        let out = leave(e, ordinal);
        assert!(out.status.success(), "preStop leave in zk-{ordinal}: {}", stderr(&out));
    }
    let pid1 = e.pid1(ordinal);
    signal(pid1, libc::SIGTERM);
    while e.exited(ordinal).is_none() && started.elapsed() < how.grace {
        std::thread::sleep(Duration::from_millis(20));
    }
    if e.exited(ordinal).is_none() {
        // The kubelet's SIGKILL; the harness ends the container the same way.
        e.kill(ordinal);
    } else {
        e.wait_exit(ordinal, Duration::from_secs(5));
    }
    started.elapsed()
}

/// Start pod `ordinal` again with `argv` and wait until it passes `ready --quorum` (a joiner:
/// until it is promoted), as the StatefulSet waits before the next pod.
pub fn start_ready(e: &mut Ensemble, ordinal: usize, argv: &[String]) -> Result<Duration, String> {
    e.start_with(ordinal, argv);
    e.wait_serving(&[ordinal], SERVE_LIMIT)
}

/// The committed membership through pod `ordinal`: `zk-entry members`' rows (id, host, role,
/// ports), without the version line.
pub fn membership(e: &mut Ensemble, ordinal: usize) -> Result<Vec<String>, String> {
    let out = e.exec(ordinal, &["zk-entry", "members"]);
    if !out.status.success() {
        return Err(stderr(&out));
    }
    Ok(stdout(&out).lines().filter(|l| !l.starts_with("version ")).map(str::to_string).collect())
}
