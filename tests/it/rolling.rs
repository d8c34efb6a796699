//! Rolling restarts of dynamic ensembles (docs/design.md, "Hand-off before a stop"; docs/rolling.md):
//! the leader's PID 1 hands the role over before its JVM stops, so a full roll has no period
//! without a leader, loses no acknowledged write and leaves the membership as it found it; and
//! the hand-off is skipped, saying why on one line, whenever it is not safe.
//!
//! Not timed: how long writes pause is benches/rolling.rs's. Needs root. One ensemble at a time
//! (tests/support/turn.rs).

use std::path::Path;
use std::time::Instant;

use crate::support::dynamic::*;
use crate::support::ensemble::Ensemble;
use crate::support::monitor::{Monitor, leadership, timeline};
use crate::support::rolling::{self, Stop, membership};
use crate::support::writer::Writer;
use crate::support::zk::session::{Acl, PERMS_READ};
use crate::support::*;

fn dynamic_ensemble(size: usize) -> Ensemble {
    require_zookeeper();
    let mut e = Ensemble::new(Path::new(BIN), size);
    give_secret(&e);
    let ids: Vec<u64> = (1..=size as u64).collect();
    let servers = format!("--servers={size}");
    form(&mut e, 0..size, &[&servers], &ids);
    e
}

fn argv(e: &Ensemble, size: usize) -> Vec<String> {
    let servers = format!("--servers={size}");
    let mut flags: Vec<&str> = DYNAMIC.to_vec();
    flags.push(&servers);
    e.command_with(&flags)
}

/// The pod that leads, waiting for one that still leads half a second later (a hand-off, an
/// election or a promotion may be settling).
fn wait_leader(e: &mut Ensemble, among: std::ops::Range<usize>) -> usize {
    let stable = wait_for(SERVE_LIMIT, || {
        let first = leader(e, among.clone())?;
        std::thread::sleep(std::time::Duration::from_millis(500));
        (leader(e, among.clone()) == Some(first)).then_some(first)
    });
    stable.unwrap_or_else(|| panic!("no steady leader among {among:?}"))
}

/// A running pod that serves (`ready --quorum`), waiting for one.
fn serving(e: &mut Ensemble) -> usize {
    let pod = wait_for(SERVE_LIMIT, || (0..e.size()).find(|o| e.running(*o) && e.ready(*o, true)));
    pod.expect("no pod serves")
}

/// A full roll of three voters, stopped with and without the manifest's preStop hook (which
/// changes nothing for a restart), the next only once `ready --quorum` passes:
/// each leader's successor takes over from following (no election: ZooKeeper's own log of its
/// states), the leadership moves, every acknowledged write is on every member, the session
/// never expires, the leader's pod logs its hand-off and the followers'
/// that they had nothing to hand over, and the membership is the same rows as before.
#[test]
fn a_rolling_restart_hands_the_leader_over_and_keeps_the_membership() {
    let mut e = dynamic_ensemble(3);
    let before = membership(&mut e, 0).unwrap();
    let client = e.client();
    let monitor = Monitor::start(client, 3);
    assert!(monitor.wait_leader(SERVE_LIMIT).is_some(), "the monitor never saw a leader");
    let writer = Writer::start(client, (0..3).map(only).collect());
    assert!(writer.wait_acks(50, SERVE_LIMIT), "the writer does not get going: {:?}", writer.record());

    let from = Instant::now();
    let argv = argv(&e, 3);
    let mut leaders = Vec::new();
    let mut stopped = Vec::new();
    for ordinal in (0..3).rev() {
        let led = wait_leader(&mut e, 0..3) == ordinal;
        leaders.push(led);
        // zk-2 and zk-0 as zookeeper-scalable.yaml stops them (preStop leave, then SIGTERM),
        // zk-1 by SIGTERM alone: the hand-off is PID 1's either way.
        let how = if ordinal == 1 { Stop::TERM } else { Stop::PRE_STOP };
        stopped.push((ordinal, Instant::now()));
        rolling::stop(&mut e, ordinal, how);
        let log = e.log(ordinal);
        if led {
            assert!(log.contains("is an observer now and zk-"), "no hand-off: {log}");
            no_election(&e, &log);
        } else {
            assert!(log.contains("is a follower; nothing to hand over, stopping now"), "{log}");
        }
        rolling::start_ready(&mut e, ordinal, &argv).unwrap_or_else(|why| panic!("{why}"));
    }
    // A moment of writing after the last pod is back.
    assert!(writer.wait_acks(20, SERVE_LIMIT), "no writes after the roll");
    let to = Instant::now();
    let record = writer.stop();
    let rounds = monitor.stop();

    assert!(leaders.iter().any(|l| *l), "no pod led when its turn came: nothing was handed over");
    let seen = leadership(&rounds, from, to);
    assert!(seen.rounds > 10, "too few monitor rounds: {seen:?}");
    // The monitor's view, for the reader: while the successor establishes its epoch (its
    // followers re-sync), no server may answer as a leader for a moment, election or not; that
    // there was no election is what `no_election` checked.
    let stops: Vec<String> =
        stopped.iter().map(|(o, t)| format!("zk-{o} at {:.3} s", (*t - from).as_secs_f64())).collect();
    eprintln!("monitor: {seen:?}; SIGTERMs: {stops:?}; what the pods said:\n{}", timeline(&rounds, from));
    assert!(seen.changes >= 1, "the leader's restart did not move the leadership: {seen:?}");
    assert_eq!(record.expiries, 0, "the writer's session expired: {record:?}");
    assert!(record.acked_between(from, to) > 0, "no write acknowledged during the roll");
    // For the reader of the test's output; how long is benches/rolling.rs's to judge.
    eprintln!(
        "roll: {} writes, longest gap {:?}, {:?} in gaps over {:?}, {} session moves",
        record.acked_between(from, to),
        record.longest_gap(from, to),
        record.stalled(from, to),
        crate::support::writer::STALL,
        record.moves
    );
    let acknowledged = record.acknowledged();
    for ordinal in 0..3 {
        let lost = lacking(&client, ordinal, &acknowledged);
        assert!(
            lost.is_empty(),
            "zk-{ordinal} lacks {} acknowledged writes: {:?}",
            lost.len(),
            &lost[..lost.len().min(10)]
        );
    }
    let after = wait_for(SERVE_LIMIT, || membership(&mut e, 0).ok().filter(|m| *m == before));
    assert!(
        after.is_some(),
        "the roll changed the membership: before {before:?}, after {:?}",
        membership(&mut e, 0)
    );
}

/// The successor a hand-off named (in the stopped leader's `log`) took over without an
/// election: in its ZooKeeper log the last two states are FOLLOWING, then LEADING (an election
/// goes through LOOKING first, the successor included).
fn no_election(e: &Ensemble, log: &str) {
    let line = log.lines().find(|l| l.contains("is an observer now and zk-")).unwrap();
    let successor: usize =
        line.split(" and zk-").nth(1).and_then(|t| t.split('.').next()).unwrap().parse().unwrap();
    let out = std::fs::read_to_string(e.pod_dir(successor).join("logs/container.out")).unwrap();
    let states: Vec<&str> = out
        .lines()
        .filter_map(|l| {
            ["LOOKING", "FOLLOWING", "LEADING", "OBSERVING"]
                .into_iter()
                .find(|s| l.ends_with(&format!("] - {s}")))
        })
        .collect();
    assert!(
        states.ends_with(&["FOLLOWING", "LEADING"]),
        "zk-{successor} did not take over from following (an election?): its states end {:?}",
        &states[states.len().saturating_sub(4)..]
    );
}

/// Stop the leader with SIGTERM; its log must say the hand-off was skipped because `why`, on
/// one line, and nothing handed over. The membership before, for the caller to compare once
/// the pod is back.
fn refused(e: &mut Ensemble, among: std::ops::Range<usize>, why: &str) -> Vec<String> {
    let leader = wait_leader(e, among.clone());
    let before = wait_for(SERVE_LIMIT, || membership(e, among.start).ok()).unwrap_or_default();
    rolling::stop(e, leader, Stop::TERM);
    expect_refusal(e, leader, why);
    before
}

/// Pod `ordinal`'s log says the hand-off was skipped because `why`; the log is emptied for the
/// next case (it is appended to across restarts).
fn expect_refusal(e: &mut Ensemble, ordinal: usize, why: &str) {
    let log = e.log(ordinal);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("hand-off skipped:")).collect();
    assert_eq!(lines.len(), 1, "expected one refusal line: {log}");
    assert!(
        lines[0].contains(why) && lines[0].contains("stopping server"),
        "expected '{why}' in: {}",
        lines[0]
    );
    assert!(!log.contains("is an observer now"), "{log}");
    eprintln!("zk-{ordinal}: {}", lines[0]);
    std::fs::write(e.pod_dir(ordinal).join("logs/container.err"), "").unwrap();
}

/// The membership through pod `ordinal` becomes `want` again.
fn same_membership(e: &mut Ensemble, ordinal: usize, want: &[String]) {
    let now = wait_for(SERVE_LIMIT, || membership(e, ordinal).ok().filter(|m| m == want));
    assert!(
        now.is_some(),
        "a skipped hand-off changed the membership: {want:?} became {:?}",
        membership(e, ordinal)
    );
}

/// A pod killed in the middle of its hand-off is repaired by its next start; then each refusal
/// of the hand-off on the same ensemble of three: a resize under way (a record naming a
/// version the membership has not reached, as `resize` writes before its first step), a
/// recorded shape that does not verify, the membership unreadable (`/zookeeper/config` closed
/// to anonymous reads), no quorum (both followers gone), and, after `resize 2`, a demotion that
/// would leave one voter.
#[test]
fn a_killed_hand_off_is_repaired_and_unsafe_ones_are_skipped() {
    let mut e = dynamic_ensemble(3);
    let client = e.client();

    // Killed in the middle: SIGKILL once the demotion has committed, before the JVM's stop.
    // The next start finds an observer and promotes it: the membership is as it was.
    let before = membership(&mut e, 0).unwrap();
    let leader = wait_leader(&mut e, 0..3);
    let other = (leader + 1) % 3;
    let my_id = leader as u64 + 1;
    let pid1 = e.pid1(leader);
    signal(pid1, libc::SIGTERM);
    let demoted = wait_for(SERVE_LIMIT, || {
        members(&mut e, other).ok().filter(|m| m.iter().any(|(id, role)| *id == my_id && role == "observer"))
    });
    e.kill(leader);
    assert!(demoted.is_some(), "zk-{leader} was never demoted: {}", e.log(leader));
    std::fs::write(e.pod_dir(leader).join("logs/container.err"), "").unwrap();
    restart_stopped(&mut e);
    same_membership(&mut e, 0, &before);
    // It started as the observer the demotion made it, and its join saw it vote again (having
    // promoted it, or finding that the new leader's first membership already lists it voting:
    // ZooKeeper re-proposes the last membership a new epoch starts with). The join's line may
    // follow the membership by a moment.
    let log = e.log(leader);
    assert!(log.contains("this server: observer (meant to be participant)"), "{log}");
    let voting = format!("server {my_id} serves as participant");
    let said = wait_for(SERVE_LIMIT, || e.log(leader).contains(&voting).then_some(()));
    assert!(said.is_some(), "zk-{leader}'s join did not see it vote: {}", e.log(leader));

    // A resize under way.
    let pod = serving(&mut e);
    let ahead = live_version(&client, pod) + 5;
    let forged = signed_shape(&format!("size=3 observers=0 version={ahead:x}"));
    as_super(&mut e, move |s| {
        let _ = s.create(SHAPE_PARENT, b"");
        if s.create(SHAPE, forged.as_bytes()).is_err() {
            s.set_data(SHAPE, forged.as_bytes()).unwrap();
        }
    });
    let before = refused(&mut e, 0..3, "a resize is under way");
    as_super(&mut e, |s| s.delete(SHAPE).unwrap());
    restart_stopped(&mut e);
    same_membership(&mut e, 0, &before);

    // A record someone without the password wrote.
    as_super(&mut e, |s| s.create(SHAPE, b"size=3 observers=0 version=0 mac=AAAA\n").unwrap());
    let before = refused(&mut e, 0..3, "does not match the super password");
    as_super(&mut e, |s| s.delete(SHAPE).unwrap());
    restart_stopped(&mut e);
    same_membership(&mut e, 0, &before);

    // The membership unreadable by the hand-off's anonymous read.
    let before = membership(&mut e, 0).unwrap();
    let closed = vec![Acl { perms: 31, scheme: "digest".into(), id: "super:nobody".into() }];
    as_super(&mut e, move |s| {
        let (_, stat) = s.get_acl("/zookeeper/config").unwrap();
        s.set_acl("/zookeeper/config", &closed, stat.aversion).unwrap();
    });
    refused(&mut e, 0..3, "the membership is not readable");
    as_super(&mut e, |s| {
        let (_, stat) = s.get_acl("/zookeeper/config").unwrap();
        s.set_acl("/zookeeper/config", &[Acl::anyone(PERMS_READ)], stat.aversion).unwrap();
    });
    restart_stopped(&mut e);
    same_membership(&mut e, 0, &before);

    // No quorum: the followers gone, the leader left alone stops serving.
    let before = membership(&mut e, 0).unwrap();
    let leader = wait_leader(&mut e, 0..3);
    for o in (0..3).filter(|o| *o != leader) {
        rolling::stop(&mut e, o, Stop::TERM);
        std::fs::write(e.pod_dir(o).join("logs/container.err"), "").unwrap();
    }
    let alone = wait_for(SERVE_LIMIT, || (!e.ready(leader, true)).then_some(()));
    assert!(alone.is_some(), "zk-{leader} serves without a quorum");
    rolling::stop(&mut e, leader, Stop::TERM);
    expect_refusal(&mut e, leader, "the server does not serve (no quorum)");
    restart_stopped(&mut e);
    same_membership(&mut e, 0, &before);

    // Two voters: demoting either would leave one.
    let out = resize(&mut e, &["2"]);
    assert!(out.status.success(), "resize 2: {}", stderr(&out));
    e.delete(2);
    let before = refused(&mut e, 0..2, "would leave 1 voting member(s)");
    let stopped = (0..2).find(|o| !e.running(*o)).unwrap();
    let argv = argv(&e, 3);
    rolling::start_ready(&mut e, stopped, &argv).unwrap_or_else(|w| panic!("{w}"));
    same_membership(&mut e, 1 - stopped, &before);
}

/// Run `f` on a super user's session to a running pod that serves (after a stop without a
/// hand-off, the others hold an election first).
fn as_super<T: Send + 'static>(
    e: &mut Ensemble,
    f: impl FnOnce(&mut crate::support::zk::session::Session) -> T + Send + 'static,
) -> T {
    let pod = serving(e);
    with_session(&e.client(), &only(pod), Some(&super_credentials()), f)
}

/// Start every pod that is not running, in dynamic mode, and wait until all serve.
fn restart_stopped(e: &mut Ensemble) {
    let size = e.size();
    let argv = argv(e, size);
    let stopped: Vec<usize> = (0..size).filter(|o| !e.running(*o)).collect();
    for o in stopped {
        e.start_with(o, &argv);
    }
    e.wait_serving(&(0..size).collect::<Vec<_>>(), SERVE_LIMIT).unwrap_or_else(|w| panic!("{w}"));
    wait_voters(e, 0, &(1..=size as u64).collect::<Vec<_>>(), SERVE_LIMIT).unwrap_or_else(|w| panic!("{w}"));
}
