//! The membership commands and `start --reconfig` against peers and resolvers that never end an
//! exchange: a fake ZooKeeper that drips its reply one byte at a time or never answers, a name
//! server that never answers, and a membership record planted in the conf dir that names a host
//! of its writer's choosing (docs/design.md, "Talking to ZooKeeper").
//!
//! The fakes stand in for what a real ZooKeeper cannot be made to do. Each run is bounded, and
//! the bounds asserted are generous ("well within the deadline", not a speed target).
//!
//! The fake-server case needs nothing; the pod cases need root, as every pod test does.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::*;

/// How long a command with `--timeout=1s` may take here: the deadline, process start and exit,
/// and a loaded machine's scheduling, with room to spare.
const WELL_WITHIN: Duration = Duration::from_secs(5);
/// How long a run may go before the test gives up on it (and kills it).
const RUN_LIMIT: Duration = Duration::from_secs(30);
/// A dripping peer's pace: a byte well inside any receive timeout.
const DRIP: Duration = Duration::from_millis(200);
/// Bounds the fake itself, so that a client that never hangs up cannot keep it going.
const FAKE_LIMIT: Duration = Duration::from_secs(60);
const PASSWORD_FILE: &str = "/opt/secret/password";
const DOMAIN: &str = "zk-hs.default.svc.cluster.local";

/// What the fake ZooKeeper does on each connection, after reading the client's first request.
#[derive(Debug, Clone, Copy)]
enum Peer {
    /// Announce a 1,000-byte reply, then send it one byte per [`DRIP`].
    Drip,
    /// Keep the connection open and never send a byte.
    Silent,
}

/// A fake ZooKeeper on 127.0.0.1, serving every connection as `peer` says until dropped.
struct Fake {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Fake {
    fn start(peer: Peer) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (count, stop) = (connections.clone(), done.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut served = Vec::new();
            while !stop.load(Ordering::Relaxed) && started.elapsed() < FAKE_LIMIT {
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        let stop = stop.clone();
                        served.push(std::thread::spawn(move || serve(stream, peer, &stop, started)));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
            for one in served {
                let _ = one.join();
            }
        });
        Fake { addr, connections, done, thread: Some(thread) }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, peer: Peer, stop: &AtomicBool, started: Instant) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut request = [0u8; 256];
    let _ = stream.read(&mut request);
    let going = || !stop.load(Ordering::Relaxed) && started.elapsed() < FAKE_LIMIT;
    match peer {
        Peer::Drip => {
            if stream.write_all(&1000u32.to_be_bytes()).is_err() {
                return;
            }
            for _ in 0..1000 {
                std::thread::sleep(DRIP);
                // The client hanging up ends the drip.
                if !going() || stream.write_all(&[0]).is_err() {
                    return;
                }
            }
        }
        Peer::Silent => {
            while going() {
                match stream.read(&mut request) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => return,
                }
            }
        }
    }
}

/// What a bounded run left.
struct Ran {
    code: Option<i32>,
    stderr: String,
    took: Duration,
}

/// Run `cmd` (its output to files, so no pipe can stall it) for at most [`RUN_LIMIT`]; a run
/// that goes on longer is killed and fails the test.
fn run_bounded(mut cmd: Command) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(dir.path().join("stdout")).unwrap())
        .stderr(fs::File::create(&err_path).unwrap());
    let started = Instant::now();
    let mut child = Reaped(cmd.spawn().unwrap());
    let status = wait_for(RUN_LIMIT, || child.0.try_wait().unwrap());
    let took = started.elapsed();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let Some(status) = status else {
        child.end();
        panic!("still running after {RUN_LIMIT:?}; it said: {stderr}");
    };
    Ran { code: status.code(), stderr, took }
}

/// A pod whose resolver finds this StatefulSet's other pods at 127.0.0.1 (the test's own
/// network namespace, where the fakes listen), with the super user's password in place.
fn pod_with_peers_on_loopback(ordinal: u32) -> Pod {
    let mut hosts = kubelet_hosts(ordinal);
    for other in (0..3).filter(|o| *o != ordinal) {
        hosts.push_str(&format!("127.0.0.1\tzk-{other}.{DOMAIN}\n"));
    }
    let mut pod = Pod::new(&format!("zk-{ordinal}"), &hosts);
    pod.network = true;
    // The start's notes go to /tmp; a pod has its own.
    pod.private_tmp = true;
    give_password(&pod);
    pod
}

fn give_password(pod: &Pod) {
    let file = pod.host_path(PASSWORD_FILE);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(file, "s3cret\n").unwrap();
}

/// `start --reconfig` of a three-server StatefulSet, with ZooKeeper replaced by /bin/true.
fn dynamic_start(client_port: u16) -> Vec<String> {
    [
        "start",
        "--servers=3",
        "--reconfig",
        "--super_password_file=/opt/secret/password",
        "--conf_dir=/var/lib/zookeeper/conf",
        "--java=/bin/true",
    ]
    .map(String::from)
    .into_iter()
    .chain([format!("--client_port={client_port}")])
    .collect()
}

/// Regression: a peer that sent one byte per receive timeout was never cut off (the timeout was
/// set once per `read_exact`, the deadline looked at only between whole reads): `members
/// --timeout 1s` ran for minutes. A peer that accepts and never answers is cut off alike.
#[test]
fn members_ends_within_its_timeout_whatever_the_peer_does() {
    for peer in [Peer::Drip, Peer::Silent] {
        let fake = Fake::start(peer);
        let mut cmd = zk_entry();
        cmd.args(["members", "--timeout=1s", &format!("--server={}", fake.addr)]);
        let ran = run_bounded(cmd);
        let what = format!("members against a {peer:?} peer");
        eprintln!("{what}: {:?}", ran.took);
        assert!(ran.took < WELL_WITHIN, "{what} took {:?}: {}", ran.took, ran.stderr);
        assert!(fake.connections() >= 1, "{what}: the fake saw no connection");
        assert_one_line(&what, ran.code, &ran.stderr, 1, &[&fake.addr.to_string(), "out of time"]);
    }
}

/// A pod (zk-1) whose name server never answers, with the super user's password in place.
fn pod_without_dns() -> Pod {
    let mut pod = Pod::new("zk-1", &kubelet_hosts(1));
    pod.silent_name_server(10);
    give_password(&pod);
    pod
}

fn zk_0_server() -> String {
    format!("--server=zk-0.{DOMAIN}:2181")
}

/// Regression: name lookups were not bounded: `members --timeout 1s` took as long as the
/// resolver's own timeout (here 10 s) against a name server that never answers.
#[test]
fn members_ends_within_its_timeout_when_dns_never_answers() {
    let ran = run_bounded(pod_without_dns().command(BIN, &["members", "--timeout=1s", &zk_0_server()]));
    eprintln!("members with a silent name server: {:?}", ran.took);
    assert!(ran.took < WELL_WITHIN, "members took {:?}: {}", ran.took, ran.stderr);
    assert_one_line("members", ran.code, &ran.stderr, 1, &["out of time looking up the host name"]);
}

/// Regression: the same for `leave`, the preStop hook (`--timeout=10s` in the manifest).
#[test]
fn leave_ends_within_its_timeout_when_dns_never_answers() {
    let leave = ["leave", "--timeout=1s", &zk_0_server(), "--super_password_file=/opt/secret/password"];
    let ran = run_bounded(pod_without_dns().command(BIN, &leave));
    eprintln!("leave with a silent name server: {:?}", ran.took);
    assert!(ran.took < WELL_WITHIN, "leave took {:?}: {}", ran.took, ran.stderr);
    // Nobody answering is no reason to fail the pod's stop.
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_contains_all("leave", &ran.stderr, &["no server answers", "out of time looking up the host name"]);
}

/// Regression: a joining pod whose peer dripped its reply never logged a line and ignored
/// SIGTERM for a minute and more: the membership decision runs in PID 1 before the JVM, with
/// signals blocked, and the ask had no end. It now ends with 143 as soon as SIGTERM is pending.
#[test]
fn sigterm_while_a_peer_drips_ends_the_start_with_143() {
    sigterm_while_asking(Peer::Drip);
}

/// The same with a peer that accepts and never answers (this one each ask's own limit ended,
/// then the 2 s pause between rounds, before the signal was looked at).
#[test]
fn sigterm_while_a_peer_says_nothing_ends_the_start_with_143() {
    sigterm_while_asking(Peer::Silent);
}

/// Start zk-1 of a dynamic StatefulSet whose peers are `peer`, send SIGTERM once it is asking
/// them, and check that the start ends with 143 at once, saying why.
fn sigterm_while_asking(peer: Peer) {
    let fake = Fake::start(peer);
    let pod = pod_with_peers_on_loopback(1);
    let args = dynamic_start(fake.addr.port());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let err_path = pod.root.path().join("zk-entry.err");
    let mut cmd = pod.command(BIN, &args);
    cmd.stdin(Stdio::null()).stderr(fs::File::create(&err_path).unwrap());
    let mut zk = Reaped(cmd.spawn().unwrap());
    let said = || fs::read_to_string(&err_path).unwrap_or_default();
    let asked = wait_for(RUN_LIMIT, || {
        if let Some(status) = zk.0.try_wait().unwrap() {
            panic!("the start ended ({status}) before asking its peer: {}", said());
        }
        (fake.connections() >= 1).then_some(())
    });
    assert!(asked.is_some(), "no peer was asked within {RUN_LIMIT:?}: {}", said());
    // Well inside the exchange: the drip has begun, the silent peer has said nothing.
    std::thread::sleep(Duration::from_millis(500));
    let pid1 = only_child(zk.0.id(), RUN_LIMIT);
    let sent = Instant::now();
    signal(pid1, libc::SIGTERM);
    let status = wait_for(RUN_LIMIT, || zk.0.try_wait().unwrap());
    let took = sent.elapsed();
    let Some(status) = status else {
        zk.end();
        panic!("{peer:?} peer: the start ignored SIGTERM for {RUN_LIMIT:?}: {}", said());
    };
    let err = said();
    eprintln!("{peer:?} peer: SIGTERM to exit {took:?}");
    assert_eq!(status.code(), Some(143), "{peer:?} peer: {err}");
    assert!(took < WELL_WITHIN, "{peer:?} peer: SIGTERM took {took:?} to end the start: {err}");
    assert!(err.contains("received SIGTERM while preparing"), "{peer:?} peer: {err}");
}

/// Regression: a membership record planted in the conf dir (ZooKeeper's user can write it with
/// `--reconfig`) named peers that the start asked as root, and added itself through as the
/// super user: the password went to a host of the writer's choosing. Only this StatefulSet's
/// pods are asked now; the planted host, a listener in this test's own network namespace, sees
/// no connection, and the start says why it ignores it.
#[test]
fn a_planted_record_naming_a_foreign_host_is_never_asked() {
    let planted = TcpListener::bind("127.0.0.1:0").unwrap();
    planted.set_nonblocking(true).unwrap();
    let planted_port = planted.local_addr().unwrap().port();
    // Nothing listens at the flags' peers (zk-1, zk-2 at 127.0.0.1): they refuse at once.
    let client_port = free_port();
    let pod = pod_with_peers_on_loopback(0);
    let conf = pod.host_path("/var/lib/zookeeper/conf");
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        conf.join("zoo.cfg.dynamic.100000005"),
        format!(
            "server.1=zk-0.{DOMAIN}:2888:3888:participant;0.0.0.0:{client_port}\nserver.2=127.0.0.1:2888:3888:participant;127.0.0.1:{planted_port}\n"
        ),
    )
    .unwrap();
    let args = dynamic_start(client_port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ran = run_bounded(pod.command(BIN, &args));
    let contacted = match planted.accept() {
        Ok((_, from)) => Some(from),
        Err(e) if e.kind() == ErrorKind::WouldBlock => None,
        Err(e) => panic!("accept: {e}"),
    };
    assert_eq!(contacted, None, "the planted host was asked; the start said: {}", ran.stderr);
    assert_contains_all(
        "the start",
        &ran.stderr,
        &["server.2 is at 127.0.0.1, not a pod of this StatefulSet (zk-N.zk-hs.default.svc.cluster.local)"],
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
}
