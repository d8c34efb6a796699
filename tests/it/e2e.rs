//! The Kubernetes ZooKeeper tutorial's scenarios ("Sanity Testing the Ensemble" to "Tolerating
//! Node Failure") on a real three-server ensemble of Debian's ZooKeeper, each pod built from Linux
//! namespaces with zk-entry as its PID 1 (tests/support/ensemble.rs), started with the tutorial's
//! exact flags. Reads and writes go through ZooKeeper's own zkCli.sh from a client on the pods'
//! network.
//!
//! Needs root. The tests take turns with every other ensemble of the test binary
//! (tests/support/turn.rs): three JVMs already keep this machine's two cores busy, and elections
//! slow down when starved.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::ensemble::{Ensemble, Launch, connect_string, pod_ip};
use crate::support::turn::Turn;
use crate::support::*;

const SERVE_LIMIT: Duration = Duration::from_secs(90);
const STOP_LIMIT: Duration = Duration::from_secs(5);
const GOLDEN_ZOO_CFG: &str = include_str!("../golden/tutorial-zk-0.zoo.cfg");

fn ensemble() -> Ensemble {
    require_zookeeper();
    Ensemble::new(Path::new(BIN), 3)
}

fn start_all(e: &mut Ensemble, launch: Launch) -> Duration {
    let started = Instant::now();
    for ordinal in 0..e.size() {
        e.start(ordinal, launch);
    }
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    started.elapsed()
}

/// `host:2181` of one pod: a client pinned to that server.
fn only(ordinal: usize) -> String {
    format!("{}:2181", pod_ip(ordinal))
}

fn myid(e: &Ensemble, ordinal: usize) -> String {
    std::fs::read_to_string(e.pod_dir(ordinal).join("var-lib/zookeeper/data/myid")).unwrap()
}

/// Scenario 1, through the manifest's own `sh -c "start-zookeeper ..."`.
#[test]
fn the_tutorial_manifest_command_forms_an_ensemble() {
    let mut e = ensemble();
    let took = start_all(&mut e, Launch::TutorialShell);
    let mut roles: Vec<String> = (0..3).map(|o| e.role(o).unwrap_or_default()).collect();
    roles.sort();
    assert_eq!(roles, ["follower", "follower", "leader"], "{}", e.log(0));
    for ordinal in 0..3 {
        assert!(e.ready(ordinal, false), "zk-{ordinal}: ready");
        assert!(e.ready(ordinal, true), "zk-{ordinal}: ready --quorum");
        assert_eq!(myid(&e, ordinal), format!("{}\n", ordinal + 1));
        // Every pod's zoo.cfg is the tutorial's, server lines included.
        let conf = std::fs::read_to_string(e.pod_dir(ordinal).join("opt/zookeeper/conf/zoo.cfg")).unwrap();
        assert_eq!(conf, GOLDEN_ZOO_CFG, "zk-{ordinal}");
    }
    eprintln!("three pods serving {took:?} after start");
}

/// Scenarios 2 (sanity), 6 (graceful stop), 3 (durable storage) and 4 (process failure), in the
/// tutorial's order of events on one ensemble.
#[test]
fn sanity_graceful_stop_durable_storage_and_process_failure() {
    let mut e = ensemble();
    let client = e.client();
    let started = Instant::now();
    for ordinal in 0..3 {
        e.start(ordinal, Launch::ZkEntry);
    }
    // The first write the ensemble acknowledges, retried until it forms.
    let first = wait_for(SERVE_LIMIT, || client.write(&only(0), &["create", "/hello", "world"]).ok());
    assert!(first.is_some(), "no write acknowledged: {}", e.log(0));
    eprintln!("start of three pods to the first acknowledged write: {:?}", started.elapsed());

    // 2. Sanity: written through zk-0, read from zk-1 and zk-2.
    for ordinal in [1, 2] {
        assert_eq!(client.get(&only(ordinal), "/hello").as_deref(), Some("world"), "via zk-{ordinal}");
    }

    // `kubectl port-forward svc/zk-cs` (what `make demo` offers): a host client on loopback
    // reaches every pod in turn; kept through the stop and restart below.
    let forward =
        e.port_forward(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), |l| eprintln!("{l}")).unwrap();
    let port = forward.port().to_string();
    let through_forward = |args: &[&str]| zk_entry().args(args).arg(&port).output().unwrap();
    for _ in 0..3 {
        let out = through_forward(&["ready", "--quorum"]);
        assert!(out.status.success(), "ready through the forward: {}", stderr(&out));
    }
    let metrics = stdout(&through_forward(&["metrics"]));
    assert!(metrics.contains("zk_server_state\t"), "metrics through the forward: {metrics}");

    // 6. Graceful stop: SIGTERM to each PID 1 ends the JVM, and the pod, within 5 s.
    for ordinal in 0..3 {
        let (status, took) = e.signal_pid1(ordinal, libc::SIGTERM, STOP_LIMIT);
        eprintln!("zk-{ordinal}: SIGTERM to pod exit {took:?} ({status})");
        assert_eq!(status.code(), Some(143), "{}", e.log(ordinal));
        let log = e.log(ordinal);
        assert!(log.contains("forwarded SIGTERM to ZooKeeper"), "{log}");
        assert!(log.contains("exited with status 143"), "{log}");
    }

    // 3. Durable storage: the same volumes, the data is still there.
    start_all(&mut e, Launch::ZkEntry);
    for ordinal in 0..3 {
        assert_eq!(client.get(&only(ordinal), "/hello").as_deref(), Some("world"), "via zk-{ordinal}");
    }

    // 4. Process failure: kill -9 of java ends zk-0's PID 1 at once; restarted, it rejoins.
    let java = e.java(0);
    let killed = Instant::now();
    signal(java, libc::SIGKILL);
    let status = e.wait_exit(0, STOP_LIMIT);
    let took = killed.elapsed();
    assert_eq!(status.code(), Some(137));
    assert!(took < Duration::from_millis(500), "zk-0 outlived its java by {took:?}");
    // The forward skips the pod that refuses: every connection in a round reaches a server
    // (alive: a quorum may be electing a new leader just now).
    for _ in 0..3 {
        let out = through_forward(&["ready"]);
        assert!(out.status.success(), "ready through the forward, zk-0 down: {}", stderr(&out));
    }
    forward.stop();
    assert!(std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(), "listener left open");
    e.start(0, Launch::ZkEntry);
    e.wait_serving(&[0], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    assert_eq!(client.get(&only(0), "/hello").as_deref(), Some("world"));
}

/// Scenario 5: with one pod deleted writes succeed; with two, they fail; restarted, the last
/// acknowledged value is there.
#[test]
fn tolerating_the_loss_of_one_server_but_not_two() {
    let mut e = ensemble();
    let client = e.client();
    start_all(&mut e, Launch::ZkEntry);
    client.write(&connect_string(3), &["create", "/tolerance", "0"]).unwrap();

    e.delete(2);
    let via_0 = only(0);
    // If zk-2 led, the other two elect a new leader first: retried for a bounded time.
    let mut last = String::new();
    let written =
        wait_for(Duration::from_secs(40), || match client.write(&via_0, &["set", "/tolerance", "1"]) {
            Ok(()) => Some(()),
            Err(why) => {
                last = why;
                None
            }
        });
    assert!(written.is_some(), "one pod down, yet no write acknowledged: {last}");

    e.delete(1);
    let refused = client.write(&via_0, &["set", "/tolerance", "2"]);
    assert!(refused.is_err(), "a write was acknowledged without a quorum");
    assert!(!e.ready(0, true), "zk-0 claims to serve alone");
    assert!(e.ready(0, false), "zk-0 is alive and must say so");

    e.start(1, Launch::ZkEntry);
    e.start(2, Launch::ZkEntry);
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    for ordinal in 0..3 {
        assert_eq!(client.get(&only(ordinal), "/tolerance").as_deref(), Some("1"), "via zk-{ordinal}");
    }
}

/// Scenario 7: restart one pod at a time, highest ordinal first (what a StatefulSet's rolling
/// update does), each waiting for `ready --quorum`, while a client keeps writing.
#[test]
fn rolling_restart_loses_no_acknowledged_write() {
    let mut e = ensemble();
    let client = e.client();
    start_all(&mut e, Launch::ZkEntry);
    let all = connect_string(3);
    client.write(&all, &["create", "/roll", ""]).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let all = all.clone();
        std::thread::spawn(move || {
            let mut acknowledged = Vec::new();
            let mut failed = 0;
            // Bounded: the restart takes well under this many writes.
            for n in 0..400u32 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                match client.write(&all, &["create", &format!("/roll/w{n:04}"), &n.to_string()]) {
                    Ok(()) => acknowledged.push(n),
                    Err(_) => failed += 1,
                }
            }
            (acknowledged, failed)
        })
    };
    let rolling = Instant::now();
    for ordinal in [2, 1, 0] {
        let (status, took) = e.signal_pid1(ordinal, libc::SIGTERM, STOP_LIMIT);
        assert_eq!(status.code(), Some(143), "{}", e.log(ordinal));
        e.start(ordinal, Launch::ZkEntry);
        e.wait_serving(&[ordinal], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
        eprintln!("zk-{ordinal} restarted (stop {took:?}), {:?} into the roll", rolling.elapsed());
    }
    // A few writes after the last pod is back, then stop.
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::SeqCst);
    let (acknowledged, failed) = writer.join().unwrap();
    assert!(acknowledged.len() >= 3, "too few writes to prove anything: {acknowledged:?}");

    let present: BTreeSet<u32> = client
        .children(&all, "/roll")
        .unwrap_or_else(|why| panic!("{why}"))
        .iter()
        .filter_map(|name| name.strip_prefix('w')?.parse().ok())
        .collect();
    let lost: Vec<u32> = acknowledged.iter().copied().filter(|n| !present.contains(n)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?} (present {present:?})");
    eprintln!(
        "rolling restart: {} writes acknowledged and all readable, {failed} refused during the roll",
        acknowledged.len()
    );
}

/// Scenario 8: zk-0 cut off the network; the others keep a quorum and serve writes; zk-0 is
/// alive but not ready with `--quorum`; reconnected, it catches up.
#[test]
fn a_partitioned_server_steps_aside_and_catches_up() {
    let mut e = ensemble();
    let client = e.client();
    start_all(&mut e, Launch::ZkEntry);
    let others = format!("{},{}", only(1), only(2));
    client.write(&connect_string(3), &["create", "/partition", "before"]).unwrap();

    e.link(0, false);
    // A follower notices after syncLimit ticks (10 s with the tutorial's flags); a leader alone
    // gives up its role as soon as it misses its followers.
    let alone = wait_for(Duration::from_secs(40), || (!e.ready(0, true)).then_some(()));
    assert!(alone.is_some(), "zk-0 still claims to serve while cut off");
    assert!(e.ready(0, false), "zk-0 is alive: `ready` must pass");
    let written =
        wait_for(Duration::from_secs(40), || client.write(&others, &["set", "/partition", "during"]).ok());
    assert!(written.is_some(), "zk-1 and zk-2 did not keep a quorum");
    e.wait_serving(&[1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));

    e.link(0, true);
    e.wait_serving(&[0], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    assert_eq!(client.get(&only(0), "/partition").as_deref(), Some("during"), "zk-0 did not catch up");
}

/// Scenario 9: a pod whose volume holds another server's myid refuses to start and leaves the
/// volume as it was.
#[test]
fn a_volume_with_another_servers_myid_is_refused_untouched() {
    let mut e = ensemble();
    let volume = e.pod_dir(1).join("var-lib");
    std::fs::create_dir_all(volume.join("zookeeper/data/version-2")).unwrap();
    std::fs::write(volume.join("zookeeper/data/myid"), "3\n").unwrap();
    std::fs::write(volume.join("zookeeper/data/version-2/snapshot.0"), "zk-2's data").unwrap();
    let before = snapshot(&volume);
    e.start(1, Launch::ZkEntry);
    let status = e.wait_exit(1, Duration::from_secs(10));
    assert_eq!(status.code(), Some(1));
    let log = e.log(1);
    assert!(log.contains("holds server id 3, but this host is server 2"), "{log}");
    assert_eq!(snapshot(&volume), before, "the volume changed");
}

/// Every process below `pid` (children, grandchildren, ...).
fn descendants(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let mut stack = children_of(pid);
    while let Some(p) = stack.pop() {
        stack.extend(children_of(p));
        all.push(p);
    }
    all
}

fn alive(pids: &[u32]) -> Vec<u32> {
    pids.iter().copied().filter(|p| proc_status(*p, "State").is_some_and(|s| !s.starts_with('Z'))).collect()
}

/// What must be gone after a run: its processes, its links in this network namespace, and
/// mounts of its directory.
fn assert_nothing_left(pids: &[u32], root: &Path) {
    let gone = wait_for(Duration::from_secs(10), || alive(pids).is_empty().then_some(()));
    assert!(gone.is_some(), "processes left behind: {:?}", alive(pids));
    let links = std::process::Command::new("ip").args(["-o", "link"]).output().unwrap();
    let links = String::from_utf8_lossy(&links.stdout).into_owned();
    assert!(
        !links.contains("veth-zk") && !links.contains("br0"),
        "links left in the host's namespace: {links}"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&root.display().to_string()), "mounts left: {mounts}");
}

#[test]
fn teardown_leaves_nothing_behind() {
    let mut e = ensemble();
    start_all(&mut e, Launch::ZkEntry);
    let root = e.root.path().to_path_buf();
    // The ensemble's own tree, not this process's: other modules' tests run beside this one.
    let pids: Vec<u32> =
        e.processes().into_iter().flat_map(|p| [p].into_iter().chain(descendants(p))).collect();
    assert!(pids.len() >= 12, "expected hub, client, 3 sandboxes and 3 pods with java: {pids:?}");
    drop(e);
    assert_nothing_left(&pids, &root);
    assert!(!root.exists(), "{} left behind", root.display());
}

/// A run killed outright (no destructor runs): every process it started dies with it (each was
/// started with SIGKILL as its parent-death signal), and with them the namespaces, veths and
/// bridge. Only its temporary directory of plain files stays.
#[test]
fn a_killed_run_leaves_no_process_link_or_mount() {
    // The demo's ensemble is another process's: it takes this one's turn by hand.
    let _turn = Turn::take();
    require_zookeeper();
    let demo = helper().with_file_name("demo");
    assert!(demo.is_file(), "{} missing: `cargo test` builds the examples", demo.display());
    let mut run = Reaped(
        std::process::Command::new(&demo)
            .arg(BIN)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut root = None;
    let lines = std::io::BufRead::lines(std::io::BufReader::new(run.0.stdout.take().unwrap()));
    for line in lines.map_while(Result::ok) {
        if let Some(at) = line.find("volumes under ") {
            root = Some(std::path::PathBuf::from(&line[at + "volumes under ".len()..]));
        }
        if line.contains("press Ctrl-C") {
            break;
        }
    }
    let root = root.expect("the demo names its directory");
    let pids = descendants(run.0.id());
    assert!(
        alive(&pids).iter().any(|p| proc_status(*p, "Name").as_deref() == Some("java")),
        "no pod was running"
    );
    signal(run.0.id(), libc::SIGKILL);
    let _ = run.0.wait();
    assert_nothing_left(&pids, &root);
    let _ = std::fs::remove_dir_all(&root);
}
