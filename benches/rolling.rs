//! What every planned operation costs a client (docs/performance.md, "Planned operations"): a
//! writer creating znodes without pause over one session of 10 s (tests/support/writer.rs) and a
//! monitor asking every pod `srvr` every 100 ms (tests/support/monitor.rs), on the pod harness
//! with Debian's ZooKeeper, through:
//! - a full rolling restart in StatefulSet order (highest ordinal first, each pod stopped as its
//!   manifest stops it and started again, the next only once `ready --quorum` passes);
//! - deleting the leader's pod and a follower's pod (stopped gracefully, made again);
//! - a node drain of the leader's pod (stopped gracefully, away for [`DRAIN_AWAY`] while the
//!   volume moves, made again);
//! - `kubectl scale` up by one and `resize` down by one (`--reconfig` only: a static ensemble
//!   changes size only by a roll with new flags);
//!
//! for ensembles of 3, static (zookeeper.yaml: SIGTERM, no hook) and `--reconfig`
//! (zookeeper-scalable.yaml: preStop `leave`, then SIGTERM, the hand-off). Per operation:
//! longest write gap, time in gaps over 100 ms, leader changes, periods without a leader,
//! session expiries, acknowledged writes lost, and how long it took.
//!
//! `ZK_ENTRY_BENCH_ROLLING=all` adds ensembles of 5 and the tutorial's way (its
//! `start-zookeeper` under `sh -c`, which ignores SIGTERM: every stop waits out the 30 s grace
//! period before SIGKILL): some ten minutes more.
//!
//! Needs root. Run with `make bench`.

// The whole test harness, of which this bench uses a few helpers; the rest is dead code here.
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::dynamic::*;
use support::ensemble::{Ensemble, Launch};
use support::monitor::{Monitor, leadership};
use support::rolling::{self, Stop};
use support::writer::{STALL, Writer};

/// How long a drained pod stays away: the volume's detach and attach on another node.
const DRAIN_AWAY: Duration = Duration::from_secs(5);
/// The goals of issue 21 for `--reconfig` (docs/performance.md).
const GOAL_GAP_PER_POD: Duration = Duration::from_millis(300);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Static,
    Reconfig,
    Tutorial,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Static => "static",
            Kind::Reconfig => "--reconfig",
            Kind::Tutorial => "tutorial sh -c",
        }
    }

    fn stop(self) -> Stop {
        match self {
            Kind::Static => Stop::TERM,
            Kind::Reconfig => Stop::PRE_STOP,
            Kind::Tutorial => Stop::TERM,
        }
    }
}

struct Setup {
    e: Ensemble,
    kind: Kind,
    size: usize,
    argv: Vec<String>,
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn setup(kind: Kind, size: usize) -> Setup {
    support::require_zookeeper();
    // Room for one more pod: the scale-up.
    let mut e = Ensemble::new(Path::new(support::BIN), size + 1);
    let servers = format!("--servers={size}");
    let argv = match kind {
        Kind::Static => e.command_with(&[&servers]),
        Kind::Reconfig => {
            let mut flags: Vec<&str> = DYNAMIC.to_vec();
            flags.push(&servers);
            e.command_with(&flags)
        }
        // The tutorial's manifest as it is (an ensemble of 3).
        Kind::Tutorial => e.command_line(Launch::TutorialShell),
    };
    if kind == Kind::Reconfig {
        give_secret(&e);
    }
    for ordinal in 0..size {
        e.start_with(ordinal, &argv);
    }
    let pods: Vec<usize> = (0..size).collect();
    e.wait_serving(&pods, SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    if kind == Kind::Reconfig {
        let ids: Vec<u64> = (1..=size as u64).collect();
        wait_voters(&mut e, 0, &ids, SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    }
    Setup { e, kind, size, argv }
}

fn leader_of(s: &mut Setup) -> usize {
    let size = s.size;
    support::wait_for(SERVE_LIMIT, || leader(&mut s.e, 0..size)).expect("no leader")
}

fn follower_of(s: &mut Setup) -> usize {
    let size = s.size;
    support::wait_for(SERVE_LIMIT, || (0..size).rev().find(|&o| s.e.role(o).as_deref() == Some("follower")))
        .expect("no follower")
}

/// One operation's figures.
struct Cost {
    what: String,
    took: Duration,
    longest_gap: Duration,
    stalled: Duration,
    changes: usize,
    leaderless: usize,
    expiries: u32,
    lost: usize,
    writes: usize,
    /// Pods the operation restarted (for the per-pod goal).
    pods: usize,
}

/// Run `op` with a writer and a monitor running; what it cost.
fn measure(s: &mut Setup, what: &str, pods: usize, op: impl FnOnce(&mut Setup)) -> Cost {
    let client = s.e.client();
    let all = s.e.size();
    let monitor = Monitor::start(client, all);
    assert!(monitor.wait_leader(SERVE_LIMIT).is_some(), "no leader before {what}");
    let writer = Writer::start(client, (0..s.size).map(only).collect());
    assert!(writer.wait_acks(100, SERVE_LIMIT), "the writer does not get going before {what}");
    // A second of steady writing: the baseline.
    std::thread::sleep(Duration::from_secs(1));
    let from = Instant::now();
    op(s);
    // Writes acknowledged again, and a moment more, before the span ends.
    assert!(writer.wait_acks(50, SERVE_LIMIT), "no writes after {what}");
    std::thread::sleep(Duration::from_millis(500));
    let to = Instant::now();
    let record = writer.stop();
    let rounds = monitor.stop();
    let seen = leadership(&rounds, from, to);
    let acknowledged = record.acknowledged();
    let serving: Vec<usize> = (0..all).filter(|o| s.e.running(*o)).collect();
    let lost = serving.iter().map(|&o| lacking(&client, o, &acknowledged).len()).max().unwrap_or(0);
    Cost {
        what: what.to_string(),
        took: to - from,
        longest_gap: record.longest_gap(from, to),
        stalled: record.stalled(from, to),
        changes: seen.changes,
        leaderless: seen.leaderless,
        expiries: record.expiries,
        lost,
        writes: record.acked_between(from, to),
        pods,
    }
}

fn restart(s: &mut Setup, ordinal: usize, away: Option<Duration>) {
    let took = rolling::stop(&mut s.e, ordinal, s.kind.stop());
    // What the pod's PID 1 said about its hand-off, for the reader.
    let log = s.e.log(ordinal);
    let said = log
        .lines()
        .rfind(|l| l.contains("hand-off: ") || l.contains("hand-off skipped"))
        .unwrap_or("(no hand-off)")
        .to_string();
    println!("    zk-{ordinal} stopped in {}: {said}", ms(took));
    if let Some(away) = away {
        // The pod is deleted (its sandbox goes) and made again elsewhere after a while.
        s.e.delete(ordinal);
        std::thread::sleep(away);
    }
    let argv = s.argv.clone();
    rolling::start_ready(&mut s.e, ordinal, &argv).unwrap_or_else(|why| panic!("{why}"));
}

fn operations(s: &mut Setup) -> Vec<Cost> {
    let mut costs = Vec::new();
    let size = s.size;
    costs.push(measure(s, "rolling restart", size, |s| {
        for ordinal in (0..s.size).rev() {
            restart(s, ordinal, None);
        }
    }));
    let leader = leader_of(s);
    costs.push(measure(s, "delete the leader's pod", 1, |s| restart(s, leader, Some(Duration::ZERO))));
    let follower = follower_of(s);
    costs.push(measure(s, "delete a follower's pod", 1, |s| restart(s, follower, Some(Duration::ZERO))));
    let leader = leader_of(s);
    costs.push(measure(s, "drain the leader's node", 1, |s| restart(s, leader, Some(DRAIN_AWAY))));
    if s.kind == Kind::Reconfig {
        costs.push(measure(s, "scale up by one", 0, |s| {
            let new = s.size;
            let argv = s.argv.clone();
            s.e.start_with(new, &argv);
            let ids: Vec<u64> = (1..=new as u64 + 1).collect();
            wait_voters(&mut s.e, 0, &ids, SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
            s.e.wait_serving(&[new], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
        }));
        costs.push(measure(s, "resize down by one", 0, |s| {
            let n = s.size.to_string();
            let out = resize(&mut s.e, &[&n]);
            assert!(out.status.success(), "resize: {}", support::stderr(&out));
            // kubectl scale --replicas=N then deletes the pod.
            let gone = s.size;
            rolling::stop(&mut s.e, gone, Stop::PRE_STOP);
            s.e.delete(gone);
        }));
    }
    costs
}

fn report(kind: Kind, size: usize, costs: &[Cost]) {
    println!("\n{} ensemble of {size}:", kind.name());
    println!(
        "  {:<26} {:>9} {:>11} {:>11} {:>8} {:>10} {:>8} {:>5} {:>7}",
        "operation",
        "took",
        "longest gap",
        "no-ack time",
        "leaders",
        "leaderless",
        "expiries",
        "lost",
        "writes"
    );
    for c in costs {
        println!(
            "  {:<26} {:>9} {:>11} {:>11} {:>8} {:>10} {:>8} {:>5} {:>7}",
            c.what,
            format!("{:.1} s", c.took.as_secs_f64()),
            ms(c.longest_gap),
            ms(c.stalled),
            c.changes,
            c.leaderless,
            c.expiries,
            c.lost,
            c.writes
        );
    }
    if kind == Kind::Reconfig {
        for c in costs.iter().filter(|c| c.pods > 0) {
            let ok = c.longest_gap <= GOAL_GAP_PER_POD && c.expiries == 0 && c.lost == 0;
            let roll_ok = c.what != "rolling restart" || c.leaderless == 0;
            println!(
                "  goal for {}: longest gap at most {} (a pod at a time), 0 expiries, 0 lost{}: {}",
                c.what,
                ms(GOAL_GAP_PER_POD),
                if c.what == "rolling restart" { ", 0 leaderless" } else { "" },
                if ok && roll_ok { "met" } else { "NOT MET" }
            );
        }
    }
    println!("  (no-ack time: the sum of the gaps between acknowledgements longer than {})", ms(STALL));
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let all = std::env::var("ZK_ENTRY_BENCH_ROLLING").is_ok_and(|v| v == "all");
    let mut runs = vec![(Kind::Static, 3), (Kind::Reconfig, 3)];
    if all {
        runs.extend([(Kind::Static, 5), (Kind::Reconfig, 5), (Kind::Tutorial, 3)]);
    }
    println!(
        "planned operations against a writer (session {:?}), srvr polled every 100 ms",
        support::writer::SESSION_TIMEOUT
    );
    for (kind, size) in runs {
        let started = Instant::now();
        let mut s = setup(kind, size);
        let costs = if kind == Kind::Tutorial {
            // The tutorial's way: a roll only (each stop waits out the grace period).
            vec![measure(&mut s, "rolling restart", size, |s| {
                for ordinal in (0..s.size).rev() {
                    restart(s, ordinal, None);
                }
            })]
        } else {
            operations(&mut s)
        };
        report(kind, size, &costs);
        println!("  ({:.0} s for this ensemble)", started.elapsed().as_secs_f64());
    }
}
