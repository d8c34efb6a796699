//! Moving a running tutorial ensemble to zk-entry in place (docs/migration.md): three pods of the
//! tutorial's image (support/tutorial.rs: its scripts, re-created, on ZooKeeper 3.4.13 from
//! Debian bullseye, `sh -c` as uid 1000 with fsGroup) with data, then the StatefulSet's rolling
//! update to zk-entry on the run's ZooKeeper (3.8.0 unless ZK_SUITE says otherwise), highest
//! ordinal first, with a writer; no manual step. Needs root.

use std::time::Duration;

use crate::support::dynamic::{self, DYNAMIC, SERVE_LIMIT, Writer, Writes, only};
use crate::support::ensemble::Ensemble;
use crate::support::roll::{self, Step, Template};
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
}

/// The tutorial manifest's grace period (the default): each old pod waits it out.
const GRACE: Duration = Duration::from_secs(30);

fn say(line: &str) {
    eprintln!("roll: {line}");
}

fn servers() -> Vec<String> {
    (0..3).map(only).collect()
}

/// Every acknowledged write of `writes` and the tutorial's data on every member.
fn everything_everywhere(e: &Ensemble, writes: &Writes) {
    assert!(writes.acknowledged.len() > 100, "the writer hardly wrote: {writes:?}");
    for ordinal in 0..3 {
        let lost = dynamic::lacking(&e.client(), ordinal, &writes.acknowledged);
        assert!(
            lost.is_empty(),
            "zk-{ordinal} lacks {} acknowledged writes: {:?}",
            lost.len(),
            &lost[..lost.len().min(10)]
        );
        let data = e.client().children(&only(ordinal), "/data").unwrap();
        assert_eq!(data.len(), ZNODES as usize, "zk-{ordinal}'s /data");
    }
}

fn report(what: &str, steps: &[Step], writes: &Writes) {
    for s in steps {
        eprintln!(
            "{what}: zk-{} ({}) ended {} after {:.1} s, Ready {:.1} s after its start, longest write gap {:.2} s",
            s.ordinal,
            s.role.as_deref().unwrap_or("?"),
            if s.ended.by_itself { "by itself" } else { "killed" },
            s.ended.took.as_secs_f64(),
            s.to_ready.as_secs_f64(),
            s.gap.as_secs_f64()
        );
    }
    eprintln!(
        "{what}: {} writes acknowledged, {} refused, longest gap {:.2} s",
        writes.acknowledged.len(),
        writes.refused,
        writes.longest_gap.as_secs_f64()
    );
}

/// The whole path: the tutorial's 3.4 ensemble with data, the rolling update to zk-entry with a
/// writer running, every acknowledged write on every member; then the second roll to
/// `--reconfig`. Nobody but zk-entry's own rule gives `snapshot.trust.empty`: the members
/// without a snapshot (the leader among them) each say they adopted their volume.
#[test]
fn a_running_tutorial_ensemble_rolls_to_zk_entry_then_to_reconfig_losing_nothing() {
    let mut e = tutorial_ensemble();
    let bare: Vec<usize> =
        (0..3).filter(|&o| tutorial::files_in(&e, o, "/var/lib/zookeeper/data").is_empty()).collect();
    assert!(!bare.is_empty(), "3.4 took no snapshot on some member: the case this is about");
    let writer = Writer::start(e.client(), servers());
    let template = Template::zk_entry(&e, &[]);
    let steps = roll::roll(&mut e, &template, &writer, GRACE, &say).unwrap_or_else(|why| panic!("{why}"));
    let writes = writer.stop();
    report("to zk-entry", &steps, &writes);
    everything_everywhere(&e, &writes);
    for ordinal in 0..3 {
        let log = e.log(ordinal);
        let adopted = log.contains("so this start adds -Dzookeeper.snapshot.trust.empty=true");
        assert_eq!(adopted, bare.contains(&ordinal), "zk-{ordinal} adopted its volume: {adopted}{log}");
        assert!(
            !tutorial::files_in(&e, ordinal, "/var/lib/zookeeper/data").is_empty(),
            "zk-{ordinal} has a snapshot now"
        );
        assert!(steps.iter().all(|s| !s.ended.by_itself), "each 3.4 pod waits out the grace period");
    }

    // The second roll: zk-entry with dynamic membership, from the static zk-entry ensemble.
    dynamic::give_secret(&e);
    let first = writes.acknowledged.last().map_or(0, |n| n + 1);
    let writer = Writer::start_from(e.client(), servers(), first);
    let template = Template::zk_entry(&e, DYNAMIC);
    let steps = roll::roll(&mut e, &template, &writer, GRACE, &say).unwrap_or_else(|why| panic!("{why}"));
    let writes = writer.stop();
    report("to --reconfig", &steps, &writes);
    assert!(steps.iter().all(|s| s.ended.by_itself), "zk-entry forwards SIGTERM: {steps:?}");
    everything_everywhere(&e, &writes);
    dynamic::wait_voters(&mut e, 0, &[1, 2, 3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
}

/// `zk-entry start` in a pod of its own with the tutorial's flags (without `--data_log_dir` when
/// `script_default`), the JVM replaced by /bin/true: what a start decides about a volume.
fn start_on_volume(pod: &Pod, script_default: bool, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["start"];
    args.extend(TUTORIAL_FLAGS.iter().filter(|f| !(script_default && f.starts_with("--data_log_dir="))));
    args.extend_from_slice(extra);
    pod.command(BIN, &args).env("ZK_JAVA", "/bin/true").output().unwrap()
}

/// A volume as 3.4 leaves it: `files` in the pod's `dir`/version-2, and this server's myid.
fn volume(pod: &Pod, dir: &str, files: &[&str]) {
    let version = pod.host_path(&format!("{dir}/version-2"));
    std::fs::create_dir_all(&version).unwrap();
    for name in files {
        std::fs::write(version.join(name), b"ZKLG").unwrap();
    }
    std::fs::create_dir_all(pod.host_path("/var/lib/zookeeper/data")).unwrap();
    std::fs::write(pod.host_path("/var/lib/zookeeper/data/myid"), "1\n").unwrap();
}

#[test]
fn a_volume_whose_oldest_log_starts_mid_epoch_is_refused_and_left_as_it_is() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    volume(&pod, "/var/lib/zookeeper/data/log", &["log.100000005", "log.100000fff"]);
    let before = pod.snapshot();
    for extra in [&[][..], &["--dry-run"][..]] {
        let out = start_on_volume(&pod, false, extra);
        assert_usage_error(
            "mid-epoch log",
            &out,
            &[
                "refusing to start: /var/lib/zookeeper/data/version-2 holds no snapshot and its oldest transaction log, log.100000005, starts in the middle of epoch 1",
                "restore the volume's snapshot.* files",
            ],
        );
        assert_eq!(pod.snapshot(), before, "nothing changed ({extra:?})");
    }
}

#[test]
fn a_34_volume_without_a_snapshot_starts_once_with_trust_empty_and_never_once_one_exists() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    volume(&pod, "/var/lib/zookeeper/data/log", &["log.100000001"]);
    let out = start_on_volume(&pod, false, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = stdout(&out);
    assert_contains_all(
        "dry run",
        &plan,
        &["-Dzookeeper.snapshot.trust.empty=true", "oldest transaction log, log.100000001, starts epoch 1"],
    );
    let out = start_on_volume(&pod, false, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let java_env = std::fs::read_to_string(pod.host_path("/opt/zookeeper/conf/java.env")).unwrap();
    assert!(java_env.contains("-Dzookeeper.snapshot.trust.empty=true"), "{java_env}");
    assert!(
        stderr(&out).contains("so this start adds -Dzookeeper.snapshot.trust.empty=true"),
        "{}",
        stderr(&out)
    );
    // ZooKeeper wrote its snapshot: the next start needs nothing.
    volume(&pod, "/var/lib/zookeeper/data", &["snapshot.100000000"]);
    let out = start_on_volume(&pod, false, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let java_env = std::fs::read_to_string(pod.host_path("/opt/zookeeper/conf/java.env")).unwrap();
    assert!(!java_env.contains("trust.empty"), "{java_env}");
    assert!(!stderr(&out).contains("trust.empty"), "{}", stderr(&out));
}

#[test]
fn the_scripts_log_directory_is_used_when_the_flag_is_not_given_and_refused_beside_another() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    volume(&pod, "/var/lib/zookeeper/log", &["log.100000001"]);
    volume(&pod, "/var/lib/zookeeper/data", &["snapshot.100000000"]);
    let out = start_on_volume(&pod, true, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let zoo_cfg = std::fs::read_to_string(pod.host_path("/opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert!(zoo_cfg.contains("dataLogDir=/var/lib/zookeeper/log\n"), "{zoo_cfg}");
    assert!(
        stderr(&out).contains("--data_log_dir not given: using /var/lib/zookeeper/log"),
        "{}",
        stderr(&out)
    );
    assert!(!pod.host_path("/var/lib/zookeeper/data/log").exists(), "no empty log beside the old one");
    // Given, the flag is the operator's word.
    let out = start_on_volume(&pod, false, &["--dry-run"]);
    assert!(stdout(&out).contains("dataLogDir=/var/lib/zookeeper/data/log"), "{}", stdout(&out));
    // Logs at both defaults: which one is this server's history is not zk-entry's to guess.
    volume(&pod, "/var/lib/zookeeper/data/log", &["log.200000001"]);
    let before = pod.snapshot();
    let out = start_on_volume(&pod, true, &[]);
    assert_usage_error(
        "logs at both defaults",
        &out,
        &["--data_log_dir is not given and both /var/lib/zookeeper/log/version-2", "log.200000001"],
    );
    assert_eq!(pod.snapshot(), before, "nothing changed");
}
