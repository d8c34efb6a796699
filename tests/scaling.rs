//! Observers and resizing on real ensembles of Debian's ZooKeeper, each pod built from Linux
//! namespaces with zk-entry as its PID 1 (tests/support/ensemble.rs).
//!
//! Needs root. One ensemble at a time, as in e2e.rs.

mod support;

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use support::ensemble::{Ensemble, pod_ip};
use support::*;

const SERVE_LIMIT: Duration = Duration::from_secs(90);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn ensemble(size: usize) -> (std::sync::MutexGuard<'static, ()>, Ensemble) {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    require_zookeeper();
    (turn, Ensemble::new(Path::new(BIN), size))
}

/// `host:2181` of one pod: a client pinned to that server.
fn only(ordinal: usize) -> String {
    format!("{}:2181", pod_ip(ordinal))
}

/// `--servers=4 --observers=1` in static mode: zk-3 runs as an observer (its zoo.cfg says so,
/// `srvr` reports it, `ready --quorum` accepts it), serves reads and forwards writes, and the
/// three others vote.
#[test]
fn static_observers_serve_without_voting() {
    let (_turn, mut e) = ensemble(4);
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
