//! Observers and resizing on real ensembles of Debian's ZooKeeper, each pod built from Linux
//! namespaces with zk-entry as its PID 1 (tests/support/ensemble.rs).
//!
//! Needs root. One ensemble at a time (tests/support/turn.rs).

use std::path::Path;
use std::time::Duration;

use crate::support;
use crate::support::dynamic::*;
use crate::support::ensemble::{Client, Ensemble};
use crate::support::zk::session::{Acl, KeeperError};
use crate::support::*;

fn ensemble(size: usize) -> Ensemble {
    require_zookeeper();
    Ensemble::new(Path::new(BIN), size)
}

/// `--servers=4 --observers=1` in static mode: zk-3 runs as an observer (its zoo.cfg says so,
/// `srvr` reports it, `ready --quorum` accepts it), serves reads and forwards writes, and the
/// three others vote.
#[test]
fn static_observers_serve_without_voting() {
    let mut e = ensemble(4);
    let flags = ["--servers=4", "--observers=1"];
    for ordinal in 0..4 {
        e.start_flags(ordinal, &flags);
    }
    e.wait_serving(&[0, 1, 2, 3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    let conf = std::fs::read_to_string(e.pod_dir(3).join("opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert!(conf.contains("\npeerType=observer\n"), "{conf}");
    assert!(conf.contains("\nserver.4=zk-3.zk-hs.default.svc.cluster.local:2888:3888:observer"), "{conf}");
    let voter = std::fs::read_to_string(e.pod_dir(0).join("opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert!(!voter.contains("peerType"), "{voter}");
    assert!(voter.contains("\nserver.4=zk-3.zk-hs.default.svc.cluster.local:2888:3888:observer"), "{voter}");

    let srvr = e.four_letter(3, "srvr");
    assert!(srvr.contains("Mode: observer\n"), "zk-3 srvr: {srvr}");
    assert!(e.ready(3, true), "ready --quorum refuses a serving observer");
    let mut roles: Vec<String> = (0..3).map(|o| e.role(o).unwrap_or_default()).collect();
    roles.sort();
    assert_eq!(roles, ["follower", "follower", "leader"]);

    // `zk-entry members` in any pod shows the committed membership, roles included.
    let out = e.exec(2, &["zk-entry", "members"]);
    let table = stdout(&out);
    assert!(out.status.success(), "members: {}", stderr(&out));
    let rows: Vec<Vec<&str>> = table.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    let expect = |id: &str, role: &str| {
        let host = format!("zk-{}.zk-hs.default.svc.cluster.local", id.parse::<usize>().unwrap() - 1);
        rows.iter().any(|r| {
            r.len() >= 5 && r[0] == id && r[1] == host && r[2] == role && r[3] == "2888" && r[4] == "3888"
        })
    };
    for (id, role) in [("1", "participant"), ("2", "participant"), ("3", "participant"), ("4", "observer")] {
        assert!(expect(id, role), "server {id} is not a {role} in:\n{table}");
    }

    // Written through the observer, read through a voter, and the other way round.
    let client = e.client();
    let first = wait_for(SERVE_LIMIT, || client.write(&only(3), &["create", "/via-observer", "x"]).ok());
    assert!(first.is_some(), "no write through the observer: {}", e.log(3));
    assert_eq!(client.get(&only(0), "/via-observer").as_deref(), Some("x"));
    client.write(&only(1), &["create", "/via-voter", "y"]).unwrap();
    assert_eq!(client.get(&only(3), "/via-voter").as_deref(), Some("y"));

    // The observer does not vote: with two of three voters gone, no write is acknowledged, even
    // though two servers (a voter and the observer) still run.
    e.delete(1);
    e.delete(2);
    assert!(client.write(&only(3), &["create", "/no-quorum", ""]).is_err(), "an observer voted");
    let stops = wait_for(Duration::from_secs(30), || (!e.ready(3, true)).then_some(()));
    assert!(stops.is_some(), "an observer without a leader claims to serve");
}

/// 3 → 5 → 3 → 5 with a writer running throughout: three pods form a dynamic ensemble from the
/// template; two more join by starting (`kubectl scale --replicas=5`: observer first, then
/// voter); `zk-entry resize 3` removes them one at a time, and a removed pod restarting before
/// its deletion waits instead of joining again; after deletion, scaling to 5 again (their
/// volumes kept) makes them voters again. Every acknowledged write is on every member.
#[test]
fn three_five_three_five_loses_no_acknowledged_write() {
    let (mut e, client) = three_voters(5);
    let conf = std::fs::read_to_string(e.pod_dir(0).join("var-lib/zookeeper/conf/zoo.cfg")).unwrap();
    assert!(conf.contains("reconfigEnabled=true") && conf.contains("standaloneEnabled=false"), "{conf}");
    assert!(!conf.to_lowercase().contains("skipacl"), "{conf}");
    let writer = Writer::start(client, (0..3).map(only).collect());

    // 3 → 5.
    writer.take_gap();
    for ordinal in 3..5 {
        e.start_flags(ordinal, DYNAMIC);
    }
    let took = wait_voters(&mut e, 0, &[1, 2, 3, 4, 5], SERVE_LIMIT)
        .unwrap_or_else(|why| panic!("{why}{}{}", e.log(3), e.log(4)));
    eprintln!(
        "3 -> 5: both joiners voting {took:?} after their start; longest write gap {:?}",
        writer.take_gap()
    );
    e.wait_serving(&[3, 4], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    for ordinal in 3..5 {
        let said = wait_for(Duration::from_secs(10), || {
            e.log(ordinal).contains("serves as participant").then_some(())
        });
        let log = e.log(ordinal);
        assert!(said.is_some() && log.contains("as an observer"), "{log}");
    }

    // 5 → 3: resize first, then the scale-down deletes the pods.
    let out = resize(&mut e, &["3"]);
    assert!(out.status.success(), "resize 3: {}{}", stderr(&out), e.log(0));
    eprintln!(
        "5 -> 3: resize took its share; longest write gap {:?}; {}",
        writer.take_gap(),
        stderr(&out).trim()
    );
    wait_voters(&mut e, 0, &[1, 2, 3], Duration::from_secs(5)).unwrap_or_else(|why| panic!("{why}"));
    // zk-4's container restarts before its pod is deleted: it must not join again.
    e.kill(4);
    e.start_flags(4, DYNAMIC);
    let waits = wait_for(Duration::from_secs(20), || e.log(4).contains("waits to be deleted").then_some(()));
    assert!(waits.is_some(), "a removed pod did not wait: {}", e.log(4));
    wait_voters(&mut e, 0, &[1, 2, 3], Duration::from_secs(1)).unwrap_or_else(|why| panic!("{why}"));
    e.delete(3);
    e.delete(4);

    // 3 → 5 again, on the kept volumes, as new pods.
    for ordinal in 3..5 {
        e.start_flags(ordinal, DYNAMIC);
    }
    wait_voters(&mut e, 0, &[1, 2, 3, 4, 5], SERVE_LIMIT)
        .unwrap_or_else(|why| panic!("{why}{}{}", e.log(3), e.log(4)));
    e.wait_serving(&[3, 4], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));

    let Writes { acknowledged, refused, longest_gap } = writer.stop();
    assert!(acknowledged.len() >= 100, "too few writes to prove anything: {acknowledged:?}");
    for ordinal in 0..5 {
        let lost = lacking(&client, ordinal, &acknowledged);
        assert!(lost.is_empty(), "zk-{ordinal} lacks acknowledged writes {lost:?}");
    }
    for ordinal in 0..5 {
        let log = e.log(ordinal);
        assert!(!log.contains(PASSWORD), "zk-{ordinal} logged the password: {log}");
    }
    eprintln!(
        "3 -> 5 -> 3 -> 5: {} writes acknowledged, all on every member; {refused} refused; longest gap between acknowledged writes {longest_gap:?}",
        acknowledged.len()
    );
}

/// Observers in a dynamic ensemble, with a writer running throughout: `--servers=4
/// --observers=1` forms with zk-3 observing (Ready as one); `resize 4 --observers=2` demotes
/// zk-2; `resize 5 --observers=2` promotes zk-2 again and records the shape, so the new zk-4
/// joins as an observer and stays one; `resize 3` with the two recorded observers would leave
/// one voter and is refused, changing nothing; `resize 3 --observers=0` removes both observers.
/// No acknowledged write is lost on any member.
#[test]
fn dynamic_observers_follow_the_recorded_shape() {
    const P: &str = "participant";
    const O: &str = "observer";
    let mut e = ensemble(5);
    give_secret(&e);
    let flags: Vec<&str> = [DYNAMIC, &["--servers=4", "--observers=1"]].concat();
    for ordinal in 0..4 {
        e.start_flags(ordinal, &flags);
    }
    e.wait_serving(&[0, 1, 2, 3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    let settle = |e: &mut Ensemble, want: &[(u64, &str)]| {
        wait_members(e, 0, want, SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(0)));
    };
    settle(&mut e, &[(1, P), (2, P), (3, P), (4, O)]);
    let serves_as = |e: &mut Ensemble, ordinal: usize, mode: &str| {
        let found = wait_for(SERVE_LIMIT, || {
            (e.four_letter(ordinal, "srvr").contains(&format!("Mode: {mode}\n")) && e.ready(ordinal, true))
                .then_some(())
        });
        assert!(found.is_some(), "zk-{ordinal} never served as {mode}, Ready: {}", e.log(ordinal));
    };
    serves_as(&mut e, 3, "observer");

    let client = e.client();
    let first = wait_for(SERVE_LIMIT, || client.write(&only(0), &["create", "/w", ""]).ok());
    assert!(first.is_some(), "no write acknowledged: {}", e.log(0));
    let writer = Writer::start(client, (0..2).map(only).collect());
    std::thread::sleep(Duration::from_millis(300));
    writer.take_gap();

    let demoted_role = e.role(2).unwrap_or_default();
    let out = resize(&mut e, &["4", "--observers=2"]);
    assert!(out.status.success(), "resize 4 --observers=2: {}", stderr(&out));
    settle(&mut e, &[(1, P), (2, P), (3, O), (4, O)]);
    serves_as(&mut e, 2, "observer");
    let demote_gap = writer.take_gap();

    let out = resize(&mut e, &["5", "--observers=2"]);
    assert!(out.status.success(), "resize 5 --observers=2: {}", stderr(&out));
    settle(&mut e, &[(1, P), (2, P), (3, P), (4, O)]);
    let promote_gap = writer.take_gap();
    e.start_flags(4, &flags);
    settle(&mut e, &[(1, P), (2, P), (3, P), (4, O), (5, O)]);
    serves_as(&mut e, 4, "observer");
    let settled = wait_for(SERVE_LIMIT, || e.log(4).contains("serves as observer").then_some(()));
    assert!(settled.is_some(), "zk-4's join never settled: {}", e.log(4));
    settle(&mut e, &[(1, P), (2, P), (3, P), (4, O), (5, O)]);
    let join_gap = writer.take_gap();

    let out = resize(&mut e, &["3"]);
    let line = stderr(&out);
    assert!(!out.status.success() && line.lines().count() == 1, "{line}");
    assert!(line.contains("would leave 1 voting member") && line.contains("nothing changed"), "{line}");
    let out = resize(&mut e, &["3", "--observers=0"]);
    assert!(out.status.success(), "resize 3 --observers=0: {}", stderr(&out));
    settle(&mut e, &[(1, P), (2, P), (3, P)]);
    let remove_gap = writer.take_gap();

    let writes = writer.stop();
    assert!(writes.acknowledged.len() >= 100, "too few writes to prove anything: {writes:?}");
    for ordinal in 0..3 {
        let lost = lacking(&e.client(), ordinal, &writes.acknowledged);
        assert!(lost.is_empty(), "zk-{ordinal} lacks acknowledged writes {lost:?}");
    }
    eprintln!(
        "dynamic observers: {} writes acknowledged, all on every member; longest write gaps: demote (the {demoted_role}) {demote_gap:?}, promote {promote_gap:?}, observer joins {join_gap:?}, two observers removed {remove_gap:?}",
        writes.acknowledged.len()
    );
}

/// A dynamic ensemble of `size` pods, the first three voting and `/w` written.
fn three_voters(size: usize) -> (Ensemble, Client) {
    let mut e = ensemble(size);
    give_secret(&e);
    form(&mut e, 0..3, &[], &[1, 2, 3]);
    let client = e.client();
    let first = wait_for(SERVE_LIMIT, || client.write(&only(0), &["create", "/w", ""]).ok());
    assert!(first.is_some(), "no write acknowledged: {}", e.log(0));
    (e, client)
}

/// `resize` without a quorum is refused and changes nothing; once the quorum is back, a resize
/// that removes the current leader commits (ZooKeeper may drop the connection as the leader
/// hands over; zk-entry checks the outcome) and writes go on after a short gap.
#[test]
fn resize_refuses_without_quorum_and_removes_the_leader() {
    let (mut e, client) = three_voters(3);

    // No quorum: two of three pods gone.
    e.delete(1);
    e.delete(2);
    let out = resize(&mut e, &["1"]);
    assert!(!out.status.success(), "resize without quorum succeeded: {}", stdout(&out));
    let line = stderr(&out);
    assert!(line.starts_with("zk-entry: ") && line.contains("quorum") && line.lines().count() == 1, "{line}");
    for ordinal in 1..3 {
        e.start_flags(ordinal, DYNAMIC);
    }
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    wait_voters(&mut e, 0, &[1, 2, 3], Duration::from_secs(5))
        .unwrap_or_else(|why| panic!("refused resize changed the membership: {why}"));
    assert_eq!(data(&client, 0, SHAPE), None, "a refused resize left a record");

    // Make zk-2 lead (restart the others until it does), then remove it with resize 2.
    let mut tries = 0;
    while leader(&mut e, 0..3) != Some(2) && tries < 5 {
        let current = leader(&mut e, 0..3);
        if let Some(l) = current {
            e.kill(l);
            e.start_flags(l, DYNAMIC);
        }
        e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
        tries += 1;
    }
    assert_eq!(leader(&mut e, 0..3), Some(2), "could not make zk-2 the leader");
    let writer = Writer::start(client, (0..2).map(only).collect());
    std::thread::sleep(Duration::from_millis(500));
    writer.take_gap();
    let out = resize(&mut e, &["2"]);
    assert!(out.status.success(), "resize 2: {}", stderr(&out));
    let gap = writer.take_gap();
    wait_voters(&mut e, 0, &[1, 2], Duration::from_secs(5)).unwrap_or_else(|why| panic!("{why}"));
    std::thread::sleep(Duration::from_millis(500));
    let writes = writer.stop();
    assert!(leader(&mut e, 0..2).is_some(), "no leader after the old one left");
    let lost = lacking(&client, 0, &writes.acknowledged);
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    eprintln!("removing the leader: longest write gap {gap:?}; {}", stderr(&out).trim());
}

/// 3 → 5 → 3 → 5 with the volumes kept, and the split brain of a shrink: while the three
/// remaining members are down, the two removed pods restarting (their containers, before
/// deletion) wait instead of forming a quorum of their own; the remaining members restart; the
/// pods made again on the old volumes, with stale membership files, join without "My id N not
/// in the peer list". No acknowledged write is lost. (A dynamic ensemble keeps two voters at
/// least, so 1 → 3 → 1 → 3 is refused at `resize 1`: checked too.)
#[test]
fn removed_members_never_form_a_quorum_of_their_own() {
    let (mut e, client) = three_voters(5);
    for ordinal in 3..5 {
        e.start_flags(ordinal, DYNAMIC);
    }
    wait_voters(&mut e, 0, &[1, 2, 3, 4, 5], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(3)));
    client.write(&only(3), &["create", "/w/five", ""]).unwrap();

    let out = resize(&mut e, &["1"]);
    assert!(!out.status.success() && stderr(&out).contains("keeps at least 2"), "resize 1: {}", stderr(&out));
    let out = resize(&mut e, &["3"]);
    assert!(out.status.success(), "resize 3: {}", stderr(&out));
    wait_voters(&mut e, 0, &[1, 2, 3], Duration::from_secs(5)).unwrap_or_else(|why| panic!("{why}"));
    client.write(&only(0), &["create", "/w/three", ""]).unwrap();

    // The remaining members are down; the removed ones restart before their deletion.
    for ordinal in 0..3 {
        e.kill(ordinal);
    }
    for ordinal in 3..5 {
        e.kill(ordinal);
        e.start_flags(ordinal, DYNAMIC);
    }
    for ordinal in 3..5 {
        let waits = wait_for(Duration::from_secs(20), || e.log(ordinal).contains("waiting: ").then_some(()));
        assert!(waits.is_some(), "zk-{ordinal} did not wait: {}", e.log(ordinal));
    }
    std::thread::sleep(Duration::from_secs(3));
    for ordinal in 3..5 {
        assert!(!e.ready(ordinal, false), "removed zk-{ordinal} runs a server: {}", e.log(ordinal));
    }
    // kubectl scale --replicas=3 deletes them; the remaining members come back.
    e.delete(3);
    e.delete(4);
    for ordinal in 0..3 {
        e.start_flags(ordinal, DYNAMIC);
    }
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    wait_voters(&mut e, 0, &[1, 2, 3], Duration::from_secs(5)).unwrap_or_else(|why| panic!("{why}"));
    let again = wait_for(SERVE_LIMIT, || client.write(&only(0), &["create", "/w/three-again", ""]).ok());
    assert!(again.is_some(), "{}", e.log(0));

    // 3 → 5 again: new pods on the old volumes.
    for ordinal in 3..5 {
        e.start_flags(ordinal, DYNAMIC);
    }
    wait_voters(&mut e, 0, &[1, 2, 3, 4, 5], SERVE_LIMIT)
        .unwrap_or_else(|why| panic!("{why}{}{}", e.log(3), e.log(4)));
    e.wait_serving(&[3, 4], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    for ordinal in 0..5 {
        let log = e.log(ordinal);
        assert!(!log.contains("not in the peer list"), "zk-{ordinal}: {log}");
        let out = client.zkcli(&only(ordinal), &["ls", "/w"]);
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        for name in ["five", "three", "three-again"] {
            assert!(listing.contains(name), "zk-{ordinal} lacks /w/{name}: {listing}");
        }
    }
}

/// A joiner killed right after it was added as an observer converges once restarted; a joiner
/// whose peers' names do not resolve yet waits, saying so, and joins once they do.
#[test]
fn joiners_converge_after_a_kill_and_wait_for_dns() {
    let mut e = ensemble(5);
    give_secret(&e);
    form(&mut e, 0..3, &[], &[1, 2, 3]);

    e.start_flags(3, DYNAMIC);
    let added = wait_for(SERVE_LIMIT, || e.log(3).contains("as an observer").then_some(()));
    assert!(added.is_some(), "{}", e.log(3));
    e.kill(3);
    e.start_flags(3, DYNAMIC);
    wait_voters(&mut e, 0, &[1, 2, 3, 4], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(3)));
    e.wait_serving(&[3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    // Promoted: `join` took the pod's joining note away, and the voter is Ready.
    let settled = wait_for(Duration::from_secs(10), || {
        (!e.exec(3, &["test", "-e", "/tmp/zk-entry.joining"]).status.success() && e.ready(3, true))
            .then_some(())
    });
    assert!(settled.is_some(), "zk-3 kept its joining note or is not Ready: {}", e.log(3));

    // zk-4's cluster DNS does not know its peers yet.
    let hosts = e.pod_dir(4).join("etc/hosts");
    let full = std::fs::read_to_string(&hosts).unwrap();
    let own_only: String =
        full.lines().take_while(|l| !l.starts_with("# cluster DNS")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&hosts, &own_only).unwrap();
    e.start_flags(4, DYNAMIC);
    let waits = wait_for(Duration::from_secs(20), || e.log(4).contains("waiting: ").then_some(()));
    assert!(waits.is_some(), "no waiting line: {}", e.log(4));
    assert!(e.log(4).contains("zk-0.zk-hs.default.svc.cluster.local:2181"), "{}", e.log(4));
    std::fs::write(&hosts, &full).unwrap();
    wait_voters(&mut e, 0, &[1, 2, 3, 4, 5], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(4)));
    e.wait_serving(&[4], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
}

/// 3 → 7 in one step (four pods at once, as a Parallel StatefulSet starts them): they are
/// promoted one per reconfiguration and writes never stop for long.
#[test]
fn three_to_seven_in_one_step_keeps_the_quorum() {
    let (mut e, client) = three_voters(7);
    let writer = Writer::start(client, (0..3).map(only).collect());
    std::thread::sleep(Duration::from_millis(300));
    writer.take_gap();
    for ordinal in 3..7 {
        e.start_flags(ordinal, DYNAMIC);
    }
    let took = wait_voters(&mut e, 0, &[1, 2, 3, 4, 5, 6, 7], SERVE_LIMIT)
        .unwrap_or_else(|why| panic!("{why}{}", e.log(6)));
    let gap = writer.take_gap();
    let writes = writer.stop();
    let lost = lacking(&client, 6, &writes.acknowledged);
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(gap < Duration::from_secs(5), "writes stopped for {gap:?}");
    eprintln!(
        "3 -> 7: all voting {took:?} after the start; longest write gap {gap:?}; {} writes",
        writes.acknowledged.len()
    );
}

/// A running static ensemble (the tutorial's flags) moved to dynamic membership by a rolling
/// restart, highest ordinal first, with a writer running: no acknowledged write is lost, the
/// membership stays the three pods, and the ensemble then grows by starting a pod.
#[test]
fn a_static_ensemble_moves_to_dynamic_by_a_rolling_restart() {
    let mut e = ensemble(4);
    give_secret(&e);
    for ordinal in 0..3 {
        e.start(ordinal, support::ensemble::Launch::ZkEntry);
    }
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    let client = e.client();
    let first = wait_for(SERVE_LIMIT, || client.write(&only(0), &["create", "/w", ""]).ok());
    assert!(first.is_some(), "no write acknowledged: {}", e.log(0));
    let writer = Writer::start(client, (0..3).map(only).collect());
    for ordinal in [2, 1, 0] {
        let (status, _) = e.signal_pid1(ordinal, libc::SIGTERM, Duration::from_secs(5));
        assert_eq!(status.code(), Some(143), "{}", e.log(ordinal));
        e.start_flags(ordinal, DYNAMIC);
        e.wait_serving(&[ordinal], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    }
    wait_voters(&mut e, 0, &[1, 2, 3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(0)));
    e.start_flags(3, DYNAMIC);
    wait_voters(&mut e, 0, &[1, 2, 3, 4], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(3)));
    let writes = writer.stop();
    let lost = lacking(&client, 3, &writes.acknowledged);
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    eprintln!(
        "static -> dynamic: {} writes, longest gap {:?}, {} refused",
        writes.acknowledged.len(),
        writes.longest_gap,
        writes.refused
    );
}

/// `zk-entry leave` (the preStop hook) removes nobody on a restart, and removes a pod only when
/// a recorded resize meant to remove its ordinal and it is still listed (a resize that stopped
/// after its first step; the record is written here as the super user, with the password's MAC,
/// as `resize` writes it).
#[test]
fn leave_removes_only_what_a_resize_meant_to_remove() {
    let (mut e, client) = three_voters(4);
    e.start_flags(3, DYNAMIC);
    wait_voters(&mut e, 0, &[1, 2, 3, 4], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(3)));
    e.wait_serving(&[3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    let out = leave(&mut e, 3);
    assert!(out.status.success() && stderr(&out).contains("stays a member"), "{}", stderr(&out));
    wait_voters(&mut e, 0, &[1, 2, 3, 4], Duration::from_secs(2)).unwrap_or_else(|why| panic!("{why}"));

    // The joiner's `join` recorded the start flags' shape; replace it by one as `resize 3`
    // leaves it when it stops after its first step (at the live version, which zk-3's pod
    // note predates).
    let recorded = wait_for(Duration::from_secs(10), || data(&client, 0, SHAPE));
    let expected = signed_shape("size=3 observers=0 version=0");
    assert_eq!(recorded.as_deref(), Some(expected.as_bytes()), "{}", e.log(3));
    let stopped = signed_shape(&format!("size=3 observers=0 version={:x}", live_version(&client, 0)));
    let credentials = super_credentials();
    with_session(&client, &only(0), Some(&credentials), move |s| s.set_data(SHAPE, stopped.as_bytes()))
        .unwrap();
    let out = leave(&mut e, 2);
    assert!(out.status.success() && stderr(&out).contains("stays a member"), "{}", stderr(&out));
    let out = leave(&mut e, 3);
    assert!(out.status.success() && stderr(&out).contains("removed server 4"), "{}", stderr(&out));
    wait_voters(&mut e, 0, &[1, 2, 3], Duration::from_secs(5)).unwrap_or_else(|why| panic!("{why}"));
}

/// The forgery: what an anonymous client writes where it can (the old release's
/// `/zk-entry-size`, and `/zk-entry/shape` under a parent it created before any record existed).
const FORGED: &str = "size=1 observers=0 version=ffffffffffffffff";

/// What ZooKeeper answers (`KeeperException.Code`).
const NO_AUTH: i32 = -102;
const NOT_EMPTY: i32 = -111;
const EVERYTHING: i32 = 31;

/// Through pod `ordinal`, as an anonymous client before any record exists: take `/zk-entry`
/// (world:cdrwa), put [`FORGED`] under it and where earlier releases kept the record.
fn plant_forgeries(client: &Client, ordinal: usize) {
    let planted = with_session(client, &only(ordinal), None, |s| {
        let all = [Acl::anyone(EVERYTHING)];
        [
            code(s.create_with(SHAPE_PARENT, b"", &all)),
            code(s.create_with(SHAPE, FORGED.as_bytes(), &all)),
            code(s.create(OLD_SHAPE, FORGED.as_bytes())),
        ]
    });
    assert_eq!(planted, [0, 0, 0], "an anonymous client could not plant the forgeries");
}

/// The record lives where only the super user can create, change or delete it: an anonymous
/// client that took `/zk-entry` for itself (world:cdrwa) before any record existed, planted a
/// child there and left a record where earlier releases kept it, is undone by `resize`; then
/// every create, setData, delete and setACL it tries on the record and its parent is refused.
/// The resize needed no step, so the record carries the live version.
#[test]
fn the_record_is_the_super_users_alone() {
    let (mut e, client) = three_voters(3);
    plant_forgeries(&client, 1);
    let out = resize(&mut e, &["3"]);
    assert!(out.status.success(), "resize 3: {}", stderr(&out));
    eprintln!("resize 3 over the planted znodes:\n{}", stderr(&out).trim_end());

    let version = live_version(&client, 0);
    let recorded = data(&client, 0, SHAPE).unwrap();
    let expected = signed_shape(&format!("size=3 observers=0 version={version:x}"));
    assert_eq!(String::from_utf8_lossy(&recorded), expected, "{}", stderr(&out));
    assert_eq!(data(&client, 0, OLD_SHAPE), None, "the old release's record was left");
    let tries = with_session(&client, &only(2), None, |s| {
        let all = [Acl::anyone(EVERYTHING)];
        vec![
            ("getACL parent", s.get_acl(SHAPE_PARENT).map(|(acl, _)| acl)),
            ("getACL record", s.get_acl(SHAPE).map(|(acl, _)| acl)),
            ("create a child", s.create_with("/zk-entry/other", b"", &all).map(|_| vec![])),
            ("create the record", s.create_with(SHAPE, FORGED.as_bytes(), &all).map(|_| vec![])),
            ("setData record", s.set_data(SHAPE, FORGED.as_bytes()).map(|_| vec![])),
            ("setData parent", s.set_data(SHAPE_PARENT, FORGED.as_bytes()).map(|_| vec![])),
            ("delete record", s.delete(SHAPE).map(|_| vec![])),
            ("delete parent", s.delete(SHAPE_PARENT).map(|_| vec![])),
            ("setACL record", s.set_acl(SHAPE, &all, -1).map(|_| vec![])),
            ("setACL parent", s.set_acl(SHAPE_PARENT, &all, -1).map(|_| vec![])),
        ]
        .into_iter()
        .map(|(what, r)| (what, r.map_err(|e| KeeperError::of(&e).map_or(0, |k| k.0))))
        .collect::<Vec<_>>()
    });
    let read_only = Ok(vec![Acl::anyone(1)]);
    let expected = [
        ("getACL parent", read_only.clone()),
        ("getACL record", read_only),
        ("create a child", Err(NO_AUTH)),
        ("create the record", Err(NO_AUTH)),
        ("setData record", Err(NO_AUTH)),
        ("setData parent", Err(NO_AUTH)),
        ("delete record", Err(NO_AUTH)),
        ("delete parent", Err(NOT_EMPTY)),
        ("setACL record", Err(NO_AUTH)),
        ("setACL parent", Err(NO_AUTH)),
    ];
    assert_eq!(tries, expected);
    assert_eq!(data(&client, 1, SHAPE), Some(recorded), "the record changed");
}

/// A forged record (the issue's `size=1 observers=0 version=ffffffffffffffff`, written by an
/// anonymous client wherever it can) makes no `leave` remove anything: each refuses on one line
/// and nothing changes. Nor does a record with a valid MAC that would keep one voter: `leave`
/// never takes the ensemble below two.
#[test]
fn a_forged_record_never_makes_leave_remove_anyone() {
    let (mut e, client) = three_voters(3);
    plant_forgeries(&client, 0);
    for ordinal in [2, 1] {
        let out = leave(&mut e, ordinal);
        let line = stderr(&out);
        assert!(!out.status.success() && line.lines().count() == 1, "zk-{ordinal}: {line}");
        assert!(line.starts_with("zk-entry: leave: not trusting the recorded shape"), "{line}");
        assert!(line.ends_with("stays a member; nothing changed\n"), "{line}");
        eprintln!("zk-{ordinal}, forged: {}", line.trim_end());
    }
    wait_voters(&mut e, 0, &[1, 2, 3], Duration::from_secs(2)).unwrap_or_else(|why| panic!("{why}"));

    // Signed with the password, at the live version, in both places: still one voter too few.
    let one = signed_shape(&format!("size=1 observers=0 version={:x}", live_version(&client, 0)));
    let credentials = super_credentials();
    with_session(&client, &only(0), Some(&credentials), move |s| {
        s.set_data(SHAPE, one.as_bytes()).unwrap();
        s.set_data(OLD_SHAPE, one.as_bytes()).unwrap();
    });
    for ordinal in [2, 1] {
        let out = leave(&mut e, ordinal);
        let line = stderr(&out);
        assert!(!out.status.success() && line.lines().count() == 1, "zk-{ordinal}: {line}");
        assert!(line.contains("keeps 1 of the live membership's members voting"), "{line}");
        eprintln!("zk-{ordinal}, signed size=1: {}", line.trim_end());
    }
    wait_voters(&mut e, 0, &[1, 2, 3], Duration::from_secs(2)).unwrap_or_else(|why| panic!("{why}"));
}

/// A wrong super password fails `resize` on one line, exit 1, with nothing changed, also when
/// the resize needs no step: before any record, after one, and when a step is needed.
#[test]
fn a_wrong_password_changes_nothing_even_without_steps() {
    let (mut e, client) = three_voters(3);
    std::fs::write(e.pod_dir(0).join("opt/secret/wrong"), "not the password\n").unwrap();
    let refused = |e: &mut Ensemble, args: &[&str]| {
        let out = resize_with(e, "/opt/secret/wrong", args);
        let line = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "resize {args:?}: {line}{}", stdout(&out));
        assert!(line.lines().count() == 1, "{line}");
        assert!(line.starts_with("zk-entry: the super password in /opt/secret/wrong is wrong"), "{line}");
        assert!(line.ends_with("; nothing changed\n"), "{line}");
        eprintln!("resize {}, wrong password: {}", args.join(" "), line.trim_end());
    };
    refused(&mut e, &["3"]);
    for path in [SHAPE, SHAPE_PARENT, OLD_SHAPE] {
        assert_eq!(data(&client, 0, path), None, "{path} written with a wrong password");
    }
    let out = resize(&mut e, &["3"]);
    assert!(out.status.success(), "resize 3: {}", stderr(&out));
    let recorded = data(&client, 0, SHAPE).unwrap();
    refused(&mut e, &["3"]);
    refused(&mut e, &["3", "--observers=1"]);
    assert_eq!(data(&client, 0, SHAPE), Some(recorded), "the record changed");
    wait_voters(&mut e, 0, &[1, 2, 3], Duration::from_secs(2)).unwrap_or_else(|why| panic!("{why}"));
}

/// A resize that needs no step records the live version, so a pod a later `kubectl scale` adds
/// (a new pod: its note says it first saw that version) joins and votes, as the README says
/// ordinals beyond N do.
#[test]
fn a_resize_without_steps_leaves_scale_ups_working() {
    let (mut e, client) = three_voters(4);
    let out = resize(&mut e, &["3"]);
    assert!(out.status.success(), "resize 3: {}", stderr(&out));
    let version = live_version(&client, 0);
    let expected = signed_shape(&format!("size=3 observers=0 version={version:x}"));
    assert_eq!(data(&client, 0, SHAPE).as_deref(), Some(expected.as_bytes()));
    e.start_flags(3, DYNAMIC);
    let fenced = wait_for(SERVE_LIMIT, || {
        let log = e.log(3);
        (log.contains("waits to be deleted") || log.contains("serves as participant")).then_some(log)
    });
    let log = fenced.unwrap_or_else(|| e.log(3));
    assert!(!log.contains("waits to be deleted"), "a new pod was taken for a removed one: {log}");
    wait_voters(&mut e, 0, &[1, 2, 3, 4], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(3)));
    e.wait_serving(&[3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
}

/// A joiner's start that is refused (a system directory as `--log_dir`, a `--set_file` that does
/// not exist) refuses before it asks the ensemble: exit 2 or 1 with one line, and the membership
/// stays exactly the three voters. Regression: the joiner had already added itself as an
/// observer, and that orphan blocked every resize ("still joining").
#[test]
fn a_refused_joiner_leaves_the_membership_unchanged() {
    let (mut e, _client) = three_voters(4);
    let refusals: [(&str, i32, &[&str]); 2] = [
        ("--log_dir=/etc", 2, &["--log_dir /etc", "system directory"]),
        ("--set_file=my.token=/opt/secret/missing", 1, &["/opt/secret/missing"]),
    ];
    for (flag, code, needles) in refusals {
        let err = e.pod_dir(3).join("logs/container.err");
        let _ = std::fs::remove_file(&err);
        let flags: Vec<&str> = [DYNAMIC, &[flag]].concat();
        e.start_flags(3, &flags);
        let status = e.wait_exit(3, SERVE_LIMIT);
        let said = std::fs::read_to_string(&err).unwrap_or_default();
        let members = members(&mut e, 0).unwrap_or_else(|why| panic!("{why}"));
        let voters: Vec<(u64, String)> = (1..=3).map(|id| (id, "participant".to_string())).collect();
        assert_eq!(members, voters, "{flag}: the refused start changed the membership: {said}");
        assert_one_line(flag, status.code(), &said, code, needles);
    }
}
