//! Benchmark of dynamic membership on the pod harness (tests/support/dynamic.rs), Debian's
//! ZooKeeper 3.8, zookeeper-scalable.yaml's flags, a native writer creating znodes without pause:
//! - 3 → 5 (`kubectl scale`-equivalent: two pods started at once): time to both voting, and each
//!   joiner's time from serving (as an observer) to voting;
//! - the longest gap between acknowledged writes while the two join, while `resize 3` removes
//!   them, while `resize 3 --observers=1` demotes a follower and `resize 3 --observers=0`
//!   promotes it again, and while `resize 2` removes the leader;
//! - zk-entry's resident memory as PID 1 of a first-formation pod and of a joiner, supervising,
//!   and how much of it is the binary's own pages (mapped from the file, shared with every other
//!   process running it).
//!
//! Needs root. Run with `make bench`.

// The whole test harness, of which this bench uses a few helpers; the rest is dead code here.
// Unused helpers are caught where the harness is at home: the test binary, tests/it.
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::dynamic::*;
use support::ensemble::Ensemble;

const ROUNDS: usize = 2;
const TARGET_JOIN_GAP: Duration = Duration::from_millis(150);
const TARGET_LEADER_GAP: Duration = Duration::from_secs(1);
const TARGET_VOTING_AFTER_SERVING: Duration = Duration::from_secs(2);
const TARGET_RSS_KIB: u64 = 2048;

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "within" } else { "OVER" }
}

/// VmRSS and, of it, RssFile (the binary's pages), in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let kib = |key| {
        support::proc_status(pid, key)
            .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    };
    (kib("VmRSS"), kib("RssFile"))
}

struct Round {
    all_voting: Duration,
    serving_to_voting: Vec<Duration>,
    join_gap: Duration,
    remove_gap: Duration,
    demote_gap: Duration,
    promote_gap: Duration,
    leader_gap: Duration,
    /// (VmRSS, RssFile) of a first-formation pod's PID 1, then of a joiner's.
    rss: [(u64, u64); 2],
}

/// Poll until both joiners vote; when each first served and first voted.
fn watch_joiners(e: &mut Ensemble, started: Instant) -> (Duration, Vec<Duration>) {
    let mut serving = [None, None];
    let mut voting = [None, None];
    while voting.iter().any(Option::is_none) {
        assert!(started.elapsed() < SERVE_LIMIT, "joiners not voting: {}{}", e.log(3), e.log(4));
        for (i, ordinal) in [3usize, 4].into_iter().enumerate() {
            if serving[i].is_none() && matches!(e.role(ordinal).as_deref(), Some("observer" | "follower")) {
                serving[i] = Some(started.elapsed());
            }
        }
        if let Ok(m) = members(e, 0) {
            for (i, id) in [4u64, 5].into_iter().enumerate() {
                if voting[i].is_none() && m.iter().any(|(m_id, role)| *m_id == id && role == "participant") {
                    voting[i] = Some(started.elapsed());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let all = voting.iter().flatten().max().copied().unwrap_or_default();
    let after: Vec<Duration> =
        (0..2).map(|i| voting[i].unwrap().saturating_sub(serving[i].unwrap_or(voting[i].unwrap()))).collect();
    (all, after)
}

fn round(bin: &Path) -> Round {
    let mut e = Ensemble::new(bin, 5);
    give_secret(&e);
    form(&mut e, 0..3, &[], &[1, 2, 3]);
    let client = e.client();
    let first = support::wait_for(SERVE_LIMIT, || client.write(&only(0), &["create", "/w", ""]).ok());
    assert!(first.is_some(), "no write acknowledged: {}", e.log(0));
    let writer = Writer::start(client, (0..3).map(only).collect());
    std::thread::sleep(Duration::from_millis(500));
    writer.take_gap();

    let started = Instant::now();
    for ordinal in 3..5 {
        e.start_flags(ordinal, DYNAMIC);
    }
    let (all_voting, serving_to_voting) = watch_joiners(&mut e, started);
    std::thread::sleep(Duration::from_millis(300));
    let join_gap = writer.take_gap();
    let rss = [rss_kib(e.pid1(0)), rss_kib(e.pid1(3))];

    let out = resize(&mut e, &["3"]);
    assert!(out.status.success(), "resize 3: {}", support::stderr(&out));
    std::thread::sleep(Duration::from_millis(300));
    let remove_gap = writer.take_gap();
    e.delete(3);
    e.delete(4);

    // Demote a follower (zk-2, restarted while it leads) to observer, then promote it again.
    for _ in 0..6 {
        if leader(&mut e, 0..3) != Some(2) {
            break;
        }
        e.kill(2);
        e.start_flags(2, DYNAMIC);
        e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    }
    assert_ne!(leader(&mut e, 0..3), Some(2), "zk-2 kept leading");
    std::thread::sleep(Duration::from_millis(500));
    writer.take_gap();
    let out = resize(&mut e, &["3", "--observers=1"]);
    assert!(out.status.success(), "resize 3 --observers=1: {}", support::stderr(&out));
    std::thread::sleep(Duration::from_millis(300));
    let demote_gap = writer.take_gap();
    let out = resize(&mut e, &["3", "--observers=0"]);
    assert!(out.status.success(), "resize 3 --observers=0: {}", support::stderr(&out));
    std::thread::sleep(Duration::from_millis(300));
    let promote_gap = writer.take_gap();
    wait_voters(&mut e, 0, &[1, 2, 3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));

    // Make zk-2 the leader (restarting whoever leads), then remove it.
    for _ in 0..6 {
        match leader(&mut e, 0..3) {
            Some(2) => break,
            Some(l) => {
                e.kill(l);
                e.start_flags(l, DYNAMIC);
                e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
            }
            None => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    assert_eq!(leader(&mut e, 0..3), Some(2), "could not make zk-2 lead");
    std::thread::sleep(Duration::from_millis(500));
    writer.take_gap();
    let out = resize(&mut e, &["2"]);
    assert!(out.status.success(), "resize 2: {}", support::stderr(&out));
    std::thread::sleep(Duration::from_millis(500));
    let leader_gap = writer.take_gap();
    let writes = writer.stop();
    let lost = lacking(&client, 0, &writes.acknowledged);
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    Round { all_voting, serving_to_voting, join_gap, remove_gap, demote_gap, promote_gap, leader_gap, rss }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench scaling: needs root (Linux namespaces); run `sudo make bench`");
        std::process::exit(1);
    }
    support::require_zookeeper();
    // The shipped static binary when `make bench` names it: PID 1's memory is the image's.
    let static_bin = std::env::var("ZK_ENTRY_BENCH_STATIC").ok();
    let (label, bin) = match &static_bin {
        Some(path) => ("static musl", Path::new(path.as_str())),
        None => ("glibc build", Path::new(support::BIN)),
    };
    let rounds: Vec<Round> = (0..ROUNDS).map(|_| round(bin)).collect();

    let max = |f: &dyn Fn(&Round) -> Duration| rounds.iter().map(f).max().unwrap_or_default();
    let list =
        |f: &dyn Fn(&Round) -> Duration| rounds.iter().map(|r| ms(f(r))).collect::<Vec<_>>().join(", ");
    println!(
        "scaling bench: Debian ZooKeeper 3.8, zk-entry start --reconfig ({label}), {ROUNDS} rounds, a native writer"
    );
    println!("3 -> 5, two pods started at once, to both voting: {}", list(&|r| r.all_voting));
    let after: Vec<Duration> = rounds.iter().flat_map(|r| r.serving_to_voting.clone()).collect();
    let worst_after = after.iter().max().copied().unwrap_or_default();
    println!(
        "a joiner voting after it serves: {} (target {}): {}",
        after.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", "),
        ms(TARGET_VOTING_AFTER_SERVING),
        verdict(worst_after <= TARGET_VOTING_AFTER_SERVING)
    );
    for (what, f, target) in [
        ("joining (add, promote)", &(|r: &Round| r.join_gap) as &dyn Fn(&Round) -> Duration, TARGET_JOIN_GAP),
        ("resize 3 (two followers removed)", &|r: &Round| r.remove_gap, TARGET_JOIN_GAP),
        ("resize 3 --observers=1 (a follower demoted)", &|r: &Round| r.demote_gap, TARGET_JOIN_GAP),
        ("resize 3 --observers=0 (promoted again)", &|r: &Round| r.promote_gap, TARGET_JOIN_GAP),
        ("resize 2 (the leader removed)", &|r: &Round| r.leader_gap, TARGET_LEADER_GAP),
    ] {
        println!(
            "longest gap between acknowledged writes, {what}: {} (target {}): {}",
            list(f),
            ms(target),
            verdict(max(f) <= target)
        );
    }
    let rss_max = rounds.iter().flat_map(|r| r.rss.map(|(all, _)| all)).max().unwrap_or(0);
    let show = |(all, file): (u64, u64)| format!("{all} ({file} from the binary)");
    println!(
        "PID 1 resident memory while supervising, first-formation pod / joiner: {} KiB (target {TARGET_RSS_KIB} KiB): {}",
        rounds
            .iter()
            .map(|r| format!("{} / {}", show(r.rss[0]), show(r.rss[1])))
            .collect::<Vec<_>>()
            .join(", "),
        verdict(rss_max <= TARGET_RSS_KIB)
    );
}
