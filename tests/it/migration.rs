//! Moving a running tutorial ensemble to zk-entry in place (docs/migration.md): three pods of the
//! tutorial's image (support/tutorial.rs: its scripts, re-created, on ZooKeeper 3.4.13 from
//! Debian bullseye, `sh -c` as uid 1000 with fsGroup) with data, then the StatefulSet's rolling
//! update to zk-entry on the run's ZooKeeper (3.8.0 unless ZK_SUITE says otherwise), highest
//! ordinal first, with a writer; no manual step. Needs root.

use std::time::{Duration, Instant};

use crate::support::dynamic::{self, SERVE_LIMIT, Writer, only};
use crate::support::ensemble::{Ensemble, Launch};
use crate::support::tutorial::{self, Image};
use crate::support::zk::session::Acl;
use crate::support::*;

/// Znodes written before the roll: far below 3.4's snapCount (100,000), so the members that never
/// took a snapshot (always the leader) hold only `log.100000001`.
const ZNODES: u32 = 3000;

/// The tutorial's three 3.4 pods, serving, with [`ZNODES`] znodes under /data.
fn tutorial_ensemble() -> Ensemble {
    let mut e = Ensemble::new(std::path::Path::new(BIN), 3);
    for ordinal in 0..3 {
        tutorial::use_image(&mut e, ordinal, Image::Tutorial);
        tutorial::start(&mut e, ordinal, None);
    }
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    let written = dynamic::with_session(&e.client(), &only(0), None, |s| {
        // Plain `create` (opcode 1), which 3.4 knows: a 3.5+ operation would end the rollback.
        let open = [Acl { perms: 31, scheme: "world".into(), id: "anyone".into() }];
        s.create_with("/data", b"", &open).unwrap();
        s.create_with("/w", b"", &open).unwrap();
        for n in 0..ZNODES {
            s.create(&format!("/data/{n:05}"), b"tutorial").unwrap();
        }
        ZNODES
    });
    assert_eq!(written, ZNODES);
    e
}

#[test]
fn the_tutorials_34_pods_serve_as_the_tutorial_runs_them() {
    let mut e = tutorial_ensemble();
    let zoo_cfg = std::fs::read_to_string(e.pod_dir(0).join("opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert!(zoo_cfg.contains("autopurge.purgeInteval=12\n"), "the script's misspelled key: {zoo_cfg}");
    for ordinal in 0..3 {
        let pid1 = e.pid1(ordinal);
        assert_eq!(proc_status(pid1, "Name").as_deref(), Some("sh"), "PID 1 is the shell");
        let uid = proc_status(e.java(ordinal), "Uid").unwrap();
        assert!(uid.starts_with("1000\t"), "java runs as 1000: {uid}");
        let listing = e.client().children(&only(ordinal), "/data").unwrap();
        assert_eq!(listing.len(), ZNODES as usize, "zk-{ordinal}");
        eprintln!(
            "zk-{ordinal} ({:?}): data {:?}, log {:?}",
            e.role(ordinal),
            tutorial::files_in(&e, ordinal, "/var/lib/zookeeper/data"),
            tutorial::files_in(&e, ordinal, "/var/lib/zookeeper/data/log")
        );
    }
    let _ = (Launch::ZkEntry, Instant::now(), Duration::ZERO, Writer::start);
}
