//! Moving a running tutorial ensemble to zk-entry in place (docs/migration.md): three pods of the
//! tutorial's image (support/tutorial.rs: its scripts, re-created, on ZooKeeper 3.4.13 from
//! Debian bullseye, `sh -c` as uid 1000 with fsGroup) with data, then the StatefulSet's rolling
//! update to zk-entry on the run's ZooKeeper (3.8.0 unless ZK_SUITE says otherwise), highest
//! ordinal first, with a writer; no manual step. Needs root.

use std::time::Duration;

use crate::support::dist;
use crate::support::dynamic::{self, DYNAMIC, SERVE_LIMIT, Writer, Writes, only};
use crate::support::ensemble::Ensemble;
use crate::support::roll::{self, Step, Template};
use crate::support::tutorial::{self, Image};
use crate::support::*;

/// Znodes written before the roll: far below 3.4's snapCount (100,000), so the members that never
/// took a snapshot (always the leader) hold only `log.100000001`.
const ZNODES: u32 = 3000;

/// The tutorial's three 3.4 pods, serving, with [`ZNODES`] znodes under /data.
fn tutorial_ensemble() -> Ensemble {
    let mut e = Ensemble::new(std::path::Path::new(BIN), 3);
    tutorial::start_ensemble(&mut e).unwrap_or_else(|why| panic!("{why}"));
    tutorial::write_data(&e, ZNODES);
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

/// The grace period the rolls give each pod. The tutorial's manifest has Kubernetes' default,
/// 30 s, which each old pod waits out (its `sh -c` ignores SIGTERM); 10 s proves the same (the
/// old pod is killed, never exits by itself) in a third of the time: the module runs 9 rolls.
/// `make migrate-demo` and the figures in docs/migration.md use the full 30 s.
const GRACE: Duration = Duration::from_secs(10);

fn say(line: &str) {
    eprintln!("roll: {line}");
}

fn servers() -> Vec<String> {
    (0..3).map(only).collect()
}

/// Every acknowledged write of `writes` and the tutorial's data on every member.
fn everything_everywhere(e: &Ensemble, writes: &Writes) {
    assert!(writes.acknowledged.len() > 100, "the writer hardly wrote: {writes:?}");
    tutorial::check_everywhere(e, &writes.acknowledged, ZNODES).unwrap_or_else(|why| panic!("{why}"));
}

/// Roll `e` to `template` with a writer running, whose first znode follows `after`'s writes
/// (from 0 without); the steps and the writes, reported as `what`.
fn roll_writing(
    e: &mut Ensemble,
    template: &Template,
    after: Option<&Writes>,
    what: &str,
) -> (Vec<Step>, Writes) {
    let first = after.and_then(|w| w.acknowledged.last()).map_or(0, |n| n + 1);
    let writer = Writer::start_from(e.client(), servers(), first);
    let steps = roll::roll(e, template, &writer, GRACE, &say);
    let writes = writer.stop();
    let steps = steps.unwrap_or_else(|why| panic!("{why}"));
    for line in roll::describe(&steps, &writes) {
        eprintln!("{what}: {line}");
    }
    (steps, writes)
}

/// Exactly the pods whose volume held no snapshot when they were deleted adopted it, each has a
/// snapshot now, and at least one adopted. Who that is can change during the roll: 3.4
/// snapshots after 50-100% of snapCount (100,000) transactions, which the writer reaches, and a
/// member can gain one by a SNAP sync. Two of three hold none before the roll, and the writes
/// before the second deletion stay below 50,000, so one always adopts.
fn adopted_as_the_rule_says(e: &Ensemble, steps: &[Step]) {
    for step in steps {
        let log = e.log(step.ordinal);
        let adopted = log.contains("so this start adds -Dzookeeper.snapshot.trust.empty=true");
        assert_eq!(
            adopted,
            step.snapshots.is_empty(),
            "zk-{}: adopted {adopted} with {:?}{log}",
            step.ordinal,
            step.snapshots
        );
        let now = tutorial::files_in(e, step.ordinal, "/var/lib/zookeeper/data");
        assert!(!now.is_empty(), "zk-{} has a snapshot now", step.ordinal);
    }
    assert!(steps.iter().any(|s| s.snapshots.is_empty()), "no pod adopted its volume: {steps:?}");
}

/// The whole path: the tutorial's 3.4 ensemble with data, the rolling update to zk-entry with a
/// writer running, every acknowledged write on every member; then the second roll to
/// `--reconfig`. Nobody but zk-entry's own rule gives `snapshot.trust.empty`: the members
/// without a snapshot at their turn each say they adopted their volume.
#[test]
fn a_running_tutorial_ensemble_rolls_to_zk_entry_then_to_reconfig_losing_nothing() {
    let target = dist::current();
    assert!(target.at_least(3, 5), "the roll's target, {} of {}, is 3.5+", target.version, target.suite);
    let mut e = tutorial_ensemble();
    let leader = dynamic::leader(&mut e, 0..3).expect("a 3.4 leader");
    assert!(
        tutorial::files_in(&e, leader, "/var/lib/zookeeper/data").is_empty(),
        "the 3.4 leader took no snapshot yet: the case this is about"
    );
    let template = Template::zk_entry(&e, &[]);
    let (steps, writes) = roll_writing(&mut e, &template, None, "to zk-entry");
    everything_everywhere(&e, &writes);
    assert!(steps.iter().all(|s| !s.ended.by_itself), "each 3.4 pod waits out the grace period");
    adopted_as_the_rule_says(&e, &steps);

    // The second roll: zk-entry with dynamic membership, from the static zk-entry ensemble.
    dynamic::give_secret(&e);
    let template = Template::zk_entry(&e, DYNAMIC);
    let (steps, writes) = roll_writing(&mut e, &template, Some(&writes), "to --reconfig");
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

/// The stderr of a start that succeeded, and the java.env it wrote.
fn started(pod: &Pod, out: &std::process::Output) -> (String, String) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let java_env = std::fs::read_to_string(pod.host_path("/opt/zookeeper/conf/java.env")).unwrap();
    (stderr(out), java_env)
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
    let (err, java_env) = started(&pod, &start_on_volume(&pod, false, &[]));
    assert!(java_env.contains("-Dzookeeper.snapshot.trust.empty=true"), "{java_env}");
    assert!(err.contains("so this start adds -Dzookeeper.snapshot.trust.empty=true"), "{err}");
    // ZooKeeper wrote its snapshot: the next start needs nothing.
    volume(&pod, "/var/lib/zookeeper/data", &["snapshot.100000000"]);
    let (err, java_env) = started(&pod, &start_on_volume(&pod, false, &[]));
    assert!(!java_env.contains("trust.empty") && !err.contains("trust.empty"), "{err}{java_env}");
}

#[test]
fn the_scripts_log_directory_is_used_when_the_flag_is_not_given_and_refused_beside_another() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    volume(&pod, "/var/lib/zookeeper/log", &["log.100000001"]);
    volume(&pod, "/var/lib/zookeeper/data", &["snapshot.100000000"]);
    let (err, _) = started(&pod, &start_on_volume(&pod, true, &[]));
    let zoo_cfg = std::fs::read_to_string(pod.host_path("/opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert!(zoo_cfg.contains("dataLogDir=/var/lib/zookeeper/log\n"), "{zoo_cfg}");
    assert!(err.contains("--data_log_dir not given: using /var/lib/zookeeper/log"), "{err}");
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

/// `--reconfig` straight from 3.4: the peers serve but have no membership to join. The start
/// refuses at once, saying the way (a static roll first), instead of waiting ten minutes.
#[test]
fn reconfig_against_the_tutorials_34_ensemble_refuses_at_once() {
    let mut e = tutorial_ensemble();
    e.delete(2);
    // The other two serve again (zk-2 may have led): an answer, not a wait, is what is checked.
    e.wait_serving(&[0, 1], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    tutorial::use_image(&mut e, 2, Image::ZkEntry);
    dynamic::give_secret(&e);
    refused_at_once(&mut e, 2, "it has no /zookeeper/config, as ZooKeeper 3.4 has none");
}

/// Start pod `ordinal` with `--reconfig`: it must end within a minute, never having waited, its
/// last line the refusal naming zk-0 and `why`.
fn refused_at_once(e: &mut Ensemble, ordinal: usize, why: &str) {
    e.start_flags(ordinal, DYNAMIC);
    let status = e.wait_exit(ordinal, Duration::from_secs(60));
    let err = std::fs::read_to_string(e.pod_dir(ordinal).join("logs/container.err")).unwrap();
    let last = err.lines().last().unwrap_or("");
    let line = format!(
        "refusing to start with --reconfig: zk-0.zk-hs.default.svc.cluster.local:2181 serves a static ensemble ({why}), which a server cannot join by reconfiguration; roll the StatefulSet to zk-entry without --reconfig first (the same --servers), then roll it to --reconfig (docs/migration.md)"
    );
    assert_one_line("--reconfig against a static ensemble", status.code(), &format!("{last}\n"), 1, &[&line]);
    assert!(!err.contains("waiting:"), "it never waited: {err}");
}

/// A `--reconfig` pod joining a static 3.5+ ensemble (zk-entry without `--reconfig`, which
/// leaves reconfiguration disabled) as a new member: the ensemble refuses to add it, for good,
/// so the start ends at once with the way there instead of retrying for ten minutes.
#[test]
fn reconfig_joining_a_static_ensemble_refuses_at_once() {
    let mut e = Ensemble::new(std::path::Path::new(BIN), 4);
    for ordinal in 0..3 {
        e.start(ordinal, crate::support::ensemble::Launch::ZkEntry);
    }
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    dynamic::give_secret(&e);
    let why = "it refuses to reconfigure: reconfiguration is disabled on the server (reconfigEnabled=false) (code -123)";
    refused_at_once(&mut e, 3, why);
}

/// The roll with the tutorial's `securityContext` kept (`runAsUser: 1000`, `fsGroup: 1000`):
/// zk-entry starts as uid 1000, checks the directories instead of giving them away, adopts the
/// volumes without a snapshot the same way, and loses nothing.
#[test]
fn the_roll_keeping_the_tutorials_security_context_loses_nothing() {
    let mut e = tutorial_ensemble();
    let template = Template::zk_entry_as_1000(&e, &[]);
    let (steps, writes) = roll_writing(&mut e, &template, None, "to zk-entry as 1000");
    everything_everywhere(&e, &writes);
    for step in &steps {
        let uid = proc_status(e.java(step.ordinal), "Uid").unwrap();
        assert!(uid.starts_with("1000\t"), "zk-{}: java runs as 1000: {uid}", step.ordinal);
    }
    adopted_as_the_rule_says(&e, &steps);
}
