//! The workload: several clients, each a thread in the client sandbox's network namespace with
//! its own session, doing reads and compare-and-sets on a few registers (`/chaos/rN`, the value
//! as decimal text, set by version) and sequential creates under `/chaos/seq`, each recorded
//! with its invocation and completion time and its outcome ([`support::chaos::history`]).
//!
//! A client's connection lost (no answer within [`REQUEST_LIMIT`]) makes the request unknown;
//! the client then moves its session to another server, as ZooKeeper's clients do, or starts a
//! new session when the old one expired. Values are unique per run (client and counter), so a
//! read names the write it saw.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client::{Conn, Failure, SESSION_EXPIRED, SessionId};
use crate::rng::Rng;
use crate::support::chaos::checker::Listing;
use crate::support::chaos::history::{Kind, Op, Outcome};

pub const REGISTERS: u32 = 3;
pub const CLIENTS: u32 = 5;
/// One request's deadline: longer than a leader election on this machine usually takes, much
/// shorter than the session timeout, so a session survives moving to another server.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(4);
pub const SESSION_TIMEOUT_MS: i32 = 12_000;
/// Between two requests of a client: keeps the histories and the machine's load moderate.
const THINK: Duration = Duration::from_millis(40);

pub fn register_path(r: u32) -> String {
    format!("/chaos/r{r}")
}

/// The run's clock: nanoseconds since it began.
#[derive(Clone, Copy)]
pub struct Clock(pub Instant);

impl Clock {
    pub fn now(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// Enter the client sandbox's network namespace (this thread only).
pub fn enter(netns: &std::path::Path) {
    let file = std::fs::File::open(netns).expect("client network namespace");
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

/// Create `/chaos`, its registers (value 0, version 0) and `/chaos/seq` through any server,
/// retrying for up to `limit`.
pub fn prepare(servers: &[String], limit: Duration) -> Result<(), String> {
    let started = Instant::now();
    let mut why = String::new();
    while started.elapsed() < limit {
        for server in servers {
            let done = Conn::connect(server, None, 0, SESSION_TIMEOUT_MS, REQUEST_LIMIT).and_then(|mut c| {
                let paths = ["/chaos".to_string(), "/chaos/seq".to_string()];
                for path in paths.into_iter().chain((0..REGISTERS).map(register_path)) {
                    match c.create(&path, b"0", false) {
                        Ok(_) | Err(Failure::Code(-110)) => {}
                        Err(e) => return Err(e),
                    }
                }
                c.close();
                Ok(())
            });
            match done {
                Ok(()) => return Ok(()),
                Err(e) => why = format!("{server}: {e:?}"),
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(format!("could not create the workload's znodes within {limit:?}: {why}"))
}

/// One client's loop until `stop`; its history.
fn run_client(client: u32, servers: Vec<String>, clock: Clock, seed: u64, stop: Arc<AtomicBool>) -> Vec<Op> {
    let mut rng = Rng::new(seed ^ (u64::from(client) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut ops = Vec::new();
    let mut conn: Option<Conn> = None;
    let mut session: Option<SessionId> = None;
    let mut last_zxid = 0i64;
    let mut seen_version = [0i32; REGISTERS as usize];
    let mut counter = 0u64;
    // Bounded by the stop flag, and as a last bound by a count far above any run's.
    for _ in 0..10_000_000u64 {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Some(c) = conn.as_mut() else {
            let server = &servers[rng.below(servers.len() as u64) as usize];
            match Conn::connect(server, session.as_ref(), last_zxid, SESSION_TIMEOUT_MS, REQUEST_LIMIT) {
                Ok(c) => {
                    session = Some(c.session.clone());
                    conn = Some(c);
                }
                Err(Failure::Code(SESSION_EXPIRED)) => {
                    // A new session starts with nothing seen: the checker groups by session.
                    session = None;
                    last_zxid = 0;
                }
                Err(Failure::Code(_) | Failure::Lost(_)) => std::thread::sleep(Duration::from_millis(200)),
            }
            continue;
        };
        counter += 1;
        let register = rng.below(u64::from(REGISTERS)) as u32;
        let mut op = Op::invoked(client, c.session.id, Kind::Read, register, clock.now());
        let roll = rng.below(100);
        let result = if roll < 45 {
            // Half the reads after a sync: those must be linearizable; the others may lag.
            let synced = if roll < 22 {
                op.kind = Kind::SyncRead;
                c.sync(&register_path(register))
            } else {
                Ok(())
            };
            synced.and_then(|()| c.get_data(&register_path(register))).map(|got| {
                op.value =
                    std::str::from_utf8(&got.data).ok().and_then(|t| t.parse().ok()).unwrap_or(u64::MAX);
                (op.version, op.mzxid, op.zxid) = (got.version, got.mzxid, got.zxid);
                seen_version[register as usize] = got.version;
            })
        } else if roll < 80 {
            op.kind = Kind::Cas;
            op.expected = seen_version[register as usize];
            op.value = u64::from(client + 1) * 1_000_000_000 + counter;
            c.set_data(&register_path(register), op.value.to_string().as_bytes(), op.expected).map(|set| {
                (op.version, op.mzxid, op.zxid) = (set.version, set.mzxid, set.zxid);
                seen_version[register as usize] = set.version;
            })
        } else {
            op.kind = Kind::Create;
            op.register = 0;
            op.value = counter;
            op.name = format!("c{client}-{counter}-");
            c.create(&format!("/chaos/seq/{}", op.name), b"", true).map(|(path, zxid)| {
                op.name = path.rsplit('/').next().unwrap_or_default().to_string();
                op.zxid = zxid;
            })
        };
        op.complete = clock.now();
        last_zxid = c.last_zxid;
        match result {
            Ok(()) => {}
            Err(Failure::Code(code)) => {
                op.outcome = Outcome::Fail(code);
                if code == SESSION_EXPIRED {
                    conn = None;
                    session = None;
                    last_zxid = 0;
                }
            }
            Err(Failure::Lost(_)) => {
                op.outcome = Outcome::Unknown;
                // Move the session: to another server, chosen at random (perhaps the same).
                conn = None;
            }
        }
        ops.push(op);
        std::thread::sleep(THINK);
    }
    if let Some(c) = conn {
        c.close();
    }
    ops
}

/// The running clients.
pub struct Workload {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<Vec<Op>>>,
}

impl Workload {
    pub fn start(netns: std::path::PathBuf, servers: Vec<String>, clock: Clock, seed: u64) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..CLIENTS)
            .map(|client| {
                let (netns, servers, stop) = (netns.clone(), servers.clone(), Arc::clone(&stop));
                std::thread::spawn(move || {
                    enter(&netns);
                    run_client(client, servers, clock, seed, stop)
                })
            })
            .collect();
        Workload { stop, threads }
    }

    /// Stop every client (each finishes its request, bounded by [`REQUEST_LIMIT`]); the whole
    /// history in invocation order.
    pub fn stop(self) -> Vec<Op> {
        self.stop.store(true, Ordering::SeqCst);
        let mut all: Vec<Op> =
            self.threads.into_iter().flat_map(|t| t.join().expect("client thread")).collect();
        all.sort_by_key(|op| op.invoke);
        all
    }
}

/// After the run: through each server alone (after a `sync`), the register values as reads
/// recorded by a client of their own (one past the workload's) and the names under
/// `/chaos/seq`.
pub fn final_reads(servers: &[String], clock: Clock, limit: Duration) -> (Vec<Op>, Vec<Listing>) {
    let mut ops = Vec::new();
    let mut listings = Vec::new();
    for (n, server) in servers.iter().enumerate() {
        let started = Instant::now();
        let mut last: String;
        let listing = loop {
            let attempt = Conn::connect(server, None, 0, SESSION_TIMEOUT_MS, Duration::from_secs(20))
                .and_then(|mut c| {
                    c.sync("/chaos")?;
                    let names = c.children("/chaos/seq")?;
                    let mut reads = Vec::new();
                    for register in 0..REGISTERS {
                        let invoke = clock.now();
                        let got = c.get_data(&register_path(register))?;
                        reads.push(Op {
                            value: std::str::from_utf8(&got.data)
                                .ok()
                                .and_then(|t| t.parse().ok())
                                .unwrap_or(u64::MAX),
                            version: got.version,
                            mzxid: got.mzxid,
                            zxid: got.zxid,
                            complete: clock.now(),
                            ..Op::invoked(CLIENTS + n as u32, c.session.id, Kind::Read, register, invoke)
                        });
                    }
                    c.close();
                    Ok((names, reads))
                });
            match attempt {
                Ok((names, reads)) => {
                    ops.extend(reads);
                    break Ok(names);
                }
                Err(e) => last = format!("{e:?}"),
            }
            if started.elapsed() > limit {
                break Err(last);
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        listings.push((format!("zk-{n}"), listing));
    }
    (ops, listings)
}
