//! A client that writes throughout a planned operation and records what its users would see:
//! one ZooKeeper session kept for the whole run (timeout [`SESSION_TIMEOUT`]), moved to the next
//! server when its connection drops, as ZooKeeper's own clients do (same session id and
//! password, last zxid seen), and a new one only when the ensemble says it expired. Each write
//! creates `/w/NNNNNN` and waits for its answer; only answered creates count as acknowledged.
//!
//! Spoken with the jute encoding of zk-entry's own client ([`super::zk`]), whose session cannot
//! move between servers (it lives for a few requests). Shared by the rolling-restart test
//! (tests/it/rolling.rs) and benchmark (benches/rolling.rs); meant to be reused by whatever
//! needs a writer that measures (e.g. chaos tests), with [`super::monitor`] beside it.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ensemble::{Background, Client};
use super::zk::jute::{Reader, Writer as Jute};

/// The session timeout asked for: what a production client typically uses (Curator's default
/// is 60 s, kazoo's 10 s); the servers' `--min_session_timeout` of 4 s lets it through.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one connect or one answer is waited for before the next server is tried
/// (ZooKeeper's clients: two thirds of the session timeout for reads; connects are quicker).
const CONNECT_LIMIT: Duration = Duration::from_millis(500);
const ANSWER_LIMIT: Duration = Duration::from_secs(4);
/// A bound on the run, should a caller forget to stop it.
const MAX_WRITES: u32 = 2_000_000;
/// Gaps between two acknowledgements longer than this count as time with no write
/// acknowledged (a healthy ensemble answers a create in a few milliseconds).
pub const STALL: Duration = Duration::from_millis(100);

const OP_CREATE: i32 = 1;
const NODE_EXISTS: i32 = -110;
const SESSION_EXPIRED: i32 = -112;

/// What a run of the writer saw.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// The number of each acknowledged create and when its answer came.
    pub acks: Vec<(u32, Instant)>,
    /// Creates that got no answer (connection lost) or an error.
    pub unanswered: u32,
    /// Sessions the ensemble reported expired (a new one was made each time).
    pub expiries: u32,
    /// Times the session moved to another server.
    pub moves: u32,
    pub started: Option<Instant>,
    pub stopped: Option<Instant>,
    /// What happened to the connection, and when: for the reader of a failure.
    pub events: Vec<(Instant, String)>,
}

impl Record {
    pub fn acknowledged(&self) -> Vec<u32> {
        self.acks.iter().map(|(n, _)| *n).collect()
    }

    /// The gaps between consecutive acknowledgements (from the start, to the stop) within
    /// `from..to`.
    fn gaps(&self, from: Instant, to: Instant) -> Vec<Duration> {
        let mut times: Vec<Instant> = vec![from];
        times.extend(self.acks.iter().map(|(_, t)| *t).filter(|t| *t > from && *t < to));
        times.push(to);
        times.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// The longest time without an acknowledgement within `from..to`.
    pub fn longest_gap(&self, from: Instant, to: Instant) -> Duration {
        self.gaps(from, to).into_iter().max().unwrap_or_default()
    }

    /// The time within `from..to` spent in gaps longer than [`STALL`].
    pub fn stalled(&self, from: Instant, to: Instant) -> Duration {
        self.gaps(from, to).into_iter().filter(|g| *g > STALL).sum()
    }

    /// Acknowledged writes within `from..to`.
    pub fn acked_between(&self, from: Instant, to: Instant) -> usize {
        self.acks.iter().filter(|(_, t)| *t >= from && *t < to).count()
    }
}

/// A writer running on its own thread, from the client sandbox's network.
pub struct Writer {
    record: Arc<Mutex<Record>>,
    work: Background,
}

impl Writer {
    /// Start writing through `servers` (`ip:port`, tried in turn from the first).
    pub fn start(client: Client, servers: Vec<String>) -> Writer {
        let record = Arc::new(Mutex::new(Record::default()));
        let shared = Arc::clone(&record);
        let work = client.background(move |stop| {
            let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.parse().unwrap()).collect();
            write_until(&addrs, stop, &shared);
        });
        Writer { record, work }
    }

    /// What it saw so far.
    pub fn record(&self) -> Record {
        self.record.lock().unwrap().clone()
    }

    /// Wait until `n` more writes are acknowledged (or `limit` passes): the writer is under way.
    pub fn wait_acks(&self, n: usize, limit: Duration) -> bool {
        let started = Instant::now();
        let before = self.record().acks.len();
        while started.elapsed() < limit {
            if self.record().acks.len() >= before + n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn stop(mut self) -> Record {
        self.work.stop();
        self.record()
    }
}

/// The session as the servers know it.
#[derive(Default)]
struct Session {
    id: i64,
    password: Vec<u8>,
    last_zxid: i64,
}

fn write_until(servers: &[SocketAddr], stop: &AtomicBool, record: &Mutex<Record>) {
    record.lock().unwrap().started = Some(Instant::now());
    let mut session = Session::default();
    let mut next_server = 0;
    let mut conn: Option<TcpStream> = None;
    let mut xid = 0;
    let mut made_parent = false;
    let mut n = 0u32;
    while !stop.load(Ordering::SeqCst) && n < MAX_WRITES {
        let stream = match conn.as_mut() {
            Some(s) => s,
            None => {
                let server = servers[next_server % servers.len()];
                next_server += 1;
                let reattach = session.id != 0;
                match connect(server, &mut session) {
                    Ok((stream, expired)) => {
                        let mut r = record.lock().unwrap();
                        r.events.push((Instant::now(), format!("session on {server}")));
                        if expired {
                            r.expiries += 1;
                        } else if reattach {
                            r.moves += 1;
                        }
                        conn = Some(stream);
                        continue;
                    }
                    Err(e) => {
                        record.lock().unwrap().events.push((Instant::now(), format!("{server}: {e}")));
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                }
            }
        };
        xid += 1;
        let path = if made_parent { format!("/w/{n:06}") } else { "/w".to_string() };
        match create(stream, xid, &path, &mut session) {
            Ok(code) if !made_parent && (code == 0 || code == NODE_EXISTS) => made_parent = true,
            Ok(0) => {
                record.lock().unwrap().acks.push((n, Instant::now()));
                n += 1;
            }
            Ok(SESSION_EXPIRED) => {
                record.lock().unwrap().expiries += 1;
                session = Session::default();
                conn = None;
            }
            other => {
                let what = match other {
                    Ok(code) => format!("create answered {code}"),
                    Err(e) => format!("create: {e}"),
                };
                record.lock().unwrap().events.push((Instant::now(), what));
                // Unanswered or refused (no quorum, a server shutting down): the next server, and
                // a number of its own for the next try, so an answer lost here is never counted.
                if made_parent {
                    record.lock().unwrap().unanswered += 1;
                    n += 1;
                }
                conn = None;
            }
        }
    }
    if let Some(s) = conn {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    record.lock().unwrap().stopped = Some(Instant::now());
}

/// Connect to `server` and attach `session` (a new one when its id is 0); true when the server
/// said the old session expired (a new one is made then).
fn connect(server: SocketAddr, session: &mut Session) -> std::io::Result<(TcpStream, bool)> {
    let mut expired = false;
    loop {
        let mut stream = TcpStream::connect_timeout(&server, CONNECT_LIMIT)?;
        stream.set_read_timeout(Some(ANSWER_LIMIT))?;
        stream.set_write_timeout(Some(ANSWER_LIMIT))?;
        stream.set_nodelay(true)?;
        let mut w = Jute::default();
        let password = if session.password.is_empty() { vec![0; 16] } else { session.password.clone() };
        w.int(0)
            .long(session.last_zxid)
            .int(SESSION_TIMEOUT.as_millis() as i32)
            .long(session.id)
            .buffer(&password)
            .boolean(false);
        stream.write_all(&w.frame())?;
        let frame = receive(&mut stream)?;
        let mut r = Reader::new(&frame);
        let parsed = (|| -> anyhow::Result<(i32, i64, Vec<u8>)> {
            let _protocol = r.int()?;
            let timeout = r.int()?;
            let id = r.long()?;
            let password = r.buffer()?.unwrap_or_default().to_vec();
            Ok((timeout, id, password))
        })()
        .map_err(|e| std::io::Error::new(ErrorKind::InvalidData, format!("{e:#}")))?;
        match parsed {
            // A server without a quorum closes without answering; one that answers 0 says the
            // session expired: make a new one on the same server.
            (timeout, _, _) if timeout <= 0 && session.id != 0 => {
                *session = Session::default();
                expired = true;
            }
            (timeout, _, _) if timeout <= 0 => return Err(ErrorKind::ConnectionRefused.into()),
            (_, id, password) => {
                session.id = id;
                session.password = password;
                return Ok((stream, expired));
            }
        }
    }
}

/// One persistent create; the reply's error code (0: created).
fn create(stream: &mut TcpStream, xid: i32, path: &str, session: &mut Session) -> std::io::Result<i32> {
    let mut w = Jute::default();
    w.int(xid).int(OP_CREATE).string(Some(path)).buffer(b"");
    // world:anyone, every permission.
    w.int(1).int(31).string(Some("world")).string(Some("anyone"));
    w.int(0);
    stream.write_all(&w.frame())?;
    loop {
        let frame = receive(stream)?;
        let mut r = Reader::new(&frame);
        let header = (|| -> anyhow::Result<(i32, i64, i32)> { Ok((r.int()?, r.long()?, r.int()?)) })()
            .map_err(|e| std::io::Error::new(ErrorKind::InvalidData, format!("{e:#}")))?;
        let (reply_xid, zxid, err) = header;
        if zxid > 0 {
            session.last_zxid = session.last_zxid.max(zxid);
        }
        if reply_xid == xid {
            return Ok(err);
        }
        // A ping's or a notification's answer: not ours.
    }
}

fn receive(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > 1 << 20 {
        return Err(std::io::Error::new(ErrorKind::InvalidData, "frame too large"));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok(body)
}
