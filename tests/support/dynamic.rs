//! Dynamic ensembles on the pod harness, shared by tests/it/scaling.rs and benches/scaling.rs: the
//! super user's password in every pod, `start --reconfig` as zookeeper-scalable.yaml runs it,
//! the committed membership as `zk-entry members` shows it, `resize`, sessions of the binary's
//! own client ([`super::zk`]) as an anonymous client or the super user, the recorded shape as
//! the password's holder signs it, and a native writer that measures the gaps between
//! acknowledged writes.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ensemble::{Client, Ensemble, pod_ip};
use super::zk::session::{KeeperError, Session};
use super::{stderr, stdout};

/// How long pods may take to serve or to vote.
pub const SERVE_LIMIT: Duration = Duration::from_secs(90);

/// `host:2181` of one pod: a client pinned to that server.
pub fn only(ordinal: usize) -> String {
    format!("{}:2181", pod_ip(ordinal))
}

pub const PASSWORD: &str = "zk-entry test s3cret";
/// Where the pods see the super user's password (a Secret volume in Kubernetes).
pub const PASSWORD_FILE: &str = "/opt/secret/password";

/// `start --reconfig`, the configuration directory on the data volume, as in
/// docker/k8s/zookeeper-scalable.yaml.
pub const DYNAMIC: &[&str] =
    &["--reconfig", "--super_password_file=/opt/secret/password", "--conf_dir=/var/lib/zookeeper/conf"];

/// Put the password file into every pod of `e`.
pub fn give_secret(e: &Ensemble) {
    for ordinal in 0..e.size() {
        let dir = e.pod_dir(ordinal).join("opt/secret");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("password"), format!("{PASSWORD}\n")).unwrap();
    }
    assert!(PASSWORD_FILE.starts_with("/opt/"));
}

/// `zk-entry members` in pod `ordinal`: (id, role) of each member, or why not.
pub fn members(e: &mut Ensemble, ordinal: usize) -> Result<Vec<(u64, String)>, String> {
    let out = e.exec(ordinal, &["zk-entry", "members"]);
    if !out.status.success() {
        return Err(stderr(&out));
    }
    Ok(stdout(&out)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.first()?.parse().ok()?, f.get(2)?.to_string()))
        })
        .collect())
}

/// Wait until pod `ordinal` reports exactly `ids` as participants and nobody else.
pub fn wait_voters(
    e: &mut Ensemble,
    ordinal: usize,
    ids: &[u64],
    limit: Duration,
) -> Result<Duration, String> {
    let want: Vec<(u64, &str)> = ids.iter().map(|&id| (id, "participant")).collect();
    wait_members(e, ordinal, &want, limit)
}

/// Wait until pod `ordinal` reports exactly the members `want`, (id, role) by id.
pub fn wait_members(
    e: &mut Ensemble,
    ordinal: usize,
    want: &[(u64, &str)],
    limit: Duration,
) -> Result<Duration, String> {
    let started = std::time::Instant::now();
    let mut last = String::new();
    while started.elapsed() < limit {
        match members(e, ordinal) {
            Ok(m) => {
                if m.iter().map(|(id, role)| (*id, role.as_str())).eq(want.iter().copied()) {
                    return Ok(started.elapsed());
                }
                last = format!("{m:?}");
            }
            Err(why) => last = why,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("members never became {want:?}: {last}"))
}

/// A writer creating znodes `/w/NNNNN` without pause, with zk-entry's own client from the
/// client sandbox's network (its thread enters that namespace), through the first three pods.
pub struct Writer {
    stop: Arc<AtomicBool>,
    /// The longest gap since [`Writer::take_gap`] last looked.
    gap: Arc<Mutex<Duration>>,
    thread: std::thread::JoinHandle<Writes>,
}

#[derive(Debug, Default)]
pub struct Writes {
    pub acknowledged: Vec<u32>,
    pub refused: u32,
    /// The longest time between two acknowledged writes.
    pub longest_gap: Duration,
}

impl Writer {
    pub fn start(client: Client, servers: Vec<String>) -> Writer {
        Writer::start_from(client, servers, 0)
    }

    /// A writer whose first znode is `/w/<first>`: a second writer on the same ensemble starts
    /// past the first one's names.
    pub fn start_from(client: Client, servers: Vec<String>, first: u32) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let gap = Arc::new(Mutex::new(Duration::ZERO));
        let shared_gap = Arc::clone(&gap);
        let thread = std::thread::spawn(move || {
            let netns = std::fs::File::open(client.netns()).unwrap();
            nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let mut writes = Writes::default();
            let mut last_ack = Instant::now();
            let mut session: Option<(Session, Instant)> = None;
            // Bounded: the resizes take well under this many writes.
            for n in first..first + 200_000u32 {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                // A session lives 2 s at most: its own deadline bounds every request.
                if session.as_ref().is_none_or(|(_, born)| born.elapsed() > Duration::from_secs(2)) {
                    if let Some((old, _)) = session.take() {
                        old.close();
                    }
                    session =
                        Session::connect(&servers, Duration::from_secs(3)).ok().map(|s| (s, Instant::now()));
                }
                let Some((s, _)) = session.as_mut() else {
                    writes.refused += 1;
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                match s.create(&format!("/w/{n:06}"), b"") {
                    Ok(()) => {
                        let this_gap = last_ack.elapsed();
                        writes.longest_gap = writes.longest_gap.max(this_gap);
                        let mut phase = shared_gap.lock().unwrap();
                        *phase = (*phase).max(this_gap);
                        last_ack = Instant::now();
                        writes.acknowledged.push(n);
                    }
                    Err(_) => {
                        writes.refused += 1;
                        session = None;
                    }
                }
            }
            writes
        });
        Writer { stop, gap, thread }
    }

    /// The longest gap between acknowledged writes since the last call.
    pub fn take_gap(&self) -> Duration {
        std::mem::take(&mut *self.gap.lock().unwrap())
    }

    pub fn stop(self) -> Writes {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}

/// How long a member may take to show every acknowledged write.
const READ_LIMIT: Duration = Duration::from_secs(30);

/// The acknowledged writes that pod `ordinal` lacks under `/w`. Asked again for up to
/// [`READ_LIMIT`] before anything counts as lost: a member just promoted to a voter re-syncs and
/// serves again a moment later, and a new session on a follower may not see the last commits yet.
/// No listing at all within the limit fails the test with zkCli's reason: that is not a loss.
pub fn lacking(client: &Client, ordinal: usize, acknowledged: &[u32]) -> Vec<u32> {
    let started = Instant::now();
    loop {
        let last = client.children(&only(ordinal), "/w").map(|names| {
            let present: BTreeSet<u32> = names.iter().filter_map(|name| name.parse().ok()).collect();
            acknowledged.iter().copied().filter(|n| !present.contains(n)).collect::<Vec<u32>>()
        });
        match last {
            Ok(lost) if lost.is_empty() || started.elapsed() > READ_LIMIT => return lost,
            Err(why) if started.elapsed() > READ_LIMIT => panic!("zk-{ordinal} never listed /w: {why}"),
            Ok(lost) => eprintln!("zk-{ordinal} lacks {} acknowledged writes yet; asking again", lost.len()),
            Err(why) => eprintln!("zk-{ordinal}: {why}; asking again"),
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `kubectl exec zk-0 -- zk-entry resize ARGS...`.
pub fn resize(e: &mut Ensemble, args: &[&str]) -> std::process::Output {
    resize_with(e, PASSWORD_FILE, args)
}

/// `resize` with the super password read from `password_file` in zk-0.
pub fn resize_with(e: &mut Ensemble, password_file: &str, args: &[&str]) -> std::process::Output {
    let password = format!("ZK_SUPER_PASSWORD_FILE={password_file}");
    let mut argv = vec!["env", &password, "zk-entry", "resize"];
    argv.extend_from_slice(args);
    e.exec(0, &argv)
}

/// `kubectl exec zk-N -- zk-entry leave` (the preStop hook).
pub fn leave(e: &mut Ensemble, ordinal: usize) -> std::process::Output {
    e.exec(ordinal, &["env", &format!("ZK_SUPER_PASSWORD_FILE={PASSWORD_FILE}"), "zk-entry", "leave"])
}

/// Where the shape is recorded, and its parent; where earlier releases recorded it.
pub const SHAPE: &str = "/zk-entry/shape";
pub const SHAPE_PARENT: &str = "/zk-entry";
pub const OLD_SHAPE: &str = "/zk-entry-size";

/// Run `f` in a thread of its own that has entered the client sandbox's network.
fn in_client_net<T: Send + 'static>(client: &Client, f: impl FnOnce() -> T + Send + 'static) -> T {
    let netns = client.netns();
    std::thread::spawn(move || {
        let netns = std::fs::File::open(netns).unwrap();
        nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// Run `f` on a session of zk-entry's own client to `server`, from the client sandbox's
/// network (in a thread of its own, which enters that namespace): anonymous unless
/// `credentials` (`super:PASSWORD`) are given.
pub fn with_session<T: Send + 'static>(
    client: &Client,
    server: &str,
    credentials: Option<&str>,
    f: impl FnOnce(&mut Session) -> T + Send + 'static,
) -> T {
    let server = server.to_string();
    let credentials = credentials.map(str::to_string);
    in_client_net(client, move || {
        let mut session = Session::connect(&[server], Duration::from_secs(10)).unwrap();
        if let Some(c) = credentials {
            session.add_digest_auth(&c).unwrap();
        }
        let out = f(&mut session);
        session.close();
        out
    })
}

/// As [`with_session`], anonymous, but a session that cannot be had is `None` instead of a panic.
pub fn with_session_tried<T: Send + 'static>(
    client: &Client,
    server: &str,
    f: impl FnOnce(&mut Session) -> T + Send + 'static,
) -> Option<T> {
    let server = server.to_string();
    in_client_net(client, move || {
        let mut session = Session::connect(&[server], Duration::from_secs(10)).ok()?;
        let out = f(&mut session);
        session.close();
        Some(out)
    })
}

/// `super:PASSWORD`, as the pods log in.
pub fn super_credentials() -> String {
    format!("super:{PASSWORD}")
}

/// The ZooKeeper error code of a request's outcome (0: it succeeded).
pub fn code<T>(result: anyhow::Result<T>) -> i32 {
    match result {
        Ok(_) => 0,
        Err(e) => KeeperError::of(&e).map_or_else(|| panic!("not a ZooKeeper error: {e:#}"), |k| k.0),
    }
}

/// The data of `path` through pod `ordinal`, `None` if there is no such znode.
pub fn data(client: &Client, ordinal: usize, path: &'static str) -> Option<Vec<u8>> {
    with_session(client, &only(ordinal), None, move |s| match s.get_data(path) {
        Ok(d) => Some(d.bytes),
        Err(e) if KeeperError::of(&e) == Some(KeeperError::NO_NODE) => None,
        Err(e) => panic!("get {path}: {e:#}"),
    })
}

/// The committed membership's version, through pod `ordinal`.
pub fn live_version(client: &Client, ordinal: usize) -> u64 {
    let text = String::from_utf8(data(client, ordinal, "/zookeeper/config").unwrap()).unwrap();
    let hex = text.lines().find_map(|l| l.strip_prefix("version=")).unwrap_or_else(|| panic!("{text}"));
    u64::from_str_radix(hex, 16).unwrap()
}

/// The record of `fields` (`size=N observers=K version=HEX`) as a holder of the test's super
/// password writes it: HMAC-SHA256 of a fixed domain line and the fields, in base64
/// (docs/design.md, "Dynamic reconfiguration"). Computed here, apart from zk-entry's code, so a
/// change of the format shows.
pub fn signed_shape(fields: &str) -> String {
    use base64::Engine as _;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, PASSWORD.as_bytes());
    let tag = ring::hmac::sign(&key, format!("zk-entry shape v1\n{fields}").as_bytes());
    format!("{fields} mac={}\n", base64::engine::general_purpose::STANDARD.encode(tag))
}

/// Start pods `ordinals` in dynamic mode with `extra` flags, and wait until `ids` vote.
pub fn form(e: &mut Ensemble, ordinals: std::ops::Range<usize>, extra: &[&str], ids: &[u64]) {
    let mut flags: Vec<&str> = DYNAMIC.to_vec();
    flags.extend_from_slice(extra);
    for ordinal in ordinals.clone() {
        e.start_flags(ordinal, &flags);
    }
    let pods: Vec<usize> = ordinals.collect();
    e.wait_serving(&pods, SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    wait_voters(e, pods[0], ids, SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(pods[0])));
}

/// The pod that leads, by `zk-entry metrics`.
pub fn leader(e: &mut Ensemble, among: std::ops::Range<usize>) -> Option<usize> {
    among.into_iter().find(|&o| e.role(o).as_deref() == Some("leader"))
}
