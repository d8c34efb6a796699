//! The workload's ZooKeeper client: one connection carrying one session, over the binary's own
//! jute and deadline code (src/zk/jute.rs, src/net.rs). Unlike zk-entry's short sessions
//! (src/zk/session.rs) it gives a workload what a history needs: every reply header's zxid,
//! the Stat's version and mzxid, compare-and-set by version, sequential creates, listings, and a
//! session that moves to another server after a lost connection with the last zxid it saw, as
//! ZooKeeper's own clients do (the server refuses a client that has seen more than it has, which
//! is what keeps a session's reads from going back in time).
//!
//! Every request ends by its own deadline. A reply with an error code is a definite failure; no
//! reply (timeout, reset, a closed connection) is unknown: the request may have been applied.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::jute::{Reader, Writer};
use crate::net::{self, Deadline};

const OP_CREATE: i32 = 1;
const OP_GET_DATA: i32 = 4;
const OP_SET_DATA: i32 = 5;
const OP_SYNC: i32 = 9;
const OP_GET_CHILDREN: i32 = 8;
const OP_CLOSE: i32 = -11;
const XID_NOTIFICATION: i32 = -1;
const XID_PING: i32 = -2;
/// `CreateMode.PERSISTENT_SEQUENTIAL`.
const SEQUENTIAL: i32 = 2;
/// `Perms.ALL` for world:anyone.
const PERMS_ALL: i32 = 31;
const FRAME_CAP: usize = 4 << 20;
pub const SESSION_EXPIRED: i32 = -112;

/// Why a request has no ok answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered this error code: the request did not take effect.
    Code(i32),
    /// No answer: it may or may not have taken effect.
    Lost(String),
}

/// A session's identity, to move it to another server.
#[derive(Debug, Clone)]
pub struct SessionId {
    pub id: i64,
    passwd: Vec<u8>,
    timeout_ms: i32,
}

pub struct Conn {
    stream: TcpStream,
    next_xid: i32,
    pub session: SessionId,
    /// The largest zxid a reply header carried on this session.
    pub last_zxid: i64,
    limit: Duration,
}

/// A znode's data with the Stat fields the checker uses, and the reply's zxid.
pub struct Got {
    pub data: Vec<u8>,
    pub version: i32,
    pub mzxid: i64,
    pub zxid: i64,
}

pub struct Set {
    pub version: i32,
    pub mzxid: i64,
    pub zxid: i64,
}

fn lost(e: impl std::fmt::Display) -> Failure {
    Failure::Lost(e.to_string())
}

impl Conn {
    /// Connect to `server` (`ip:port`): a new session with `timeout_ms`, or `resume` moved here
    /// with `last_zxid`. Each request then has `limit`.
    pub fn connect(
        server: &str,
        resume: Option<&SessionId>,
        last_zxid: i64,
        timeout_ms: i32,
        limit: Duration,
    ) -> Result<Conn, Failure> {
        let addr = server.parse().map_err(|_| lost(format!("{server} is not ip:port")))?;
        let deadline = Deadline::new(Instant::now() + limit);
        let stream = net::connect(addr, &deadline).map_err(lost)?;
        let _ = stream.set_nodelay(true);
        let (id, passwd, timeout) = match resume {
            Some(s) => (s.id, s.passwd.clone(), s.timeout_ms),
            None => (0, vec![0; 16], timeout_ms),
        };
        let mut conn = Conn {
            stream,
            next_xid: 0,
            session: SessionId { id, passwd: passwd.clone(), timeout_ms: timeout },
            last_zxid,
            limit,
        };
        let mut w = Writer::default();
        // protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly.
        w.int(0).long(last_zxid).int(timeout).long(id).buffer(&passwd).boolean(false);
        conn.send(&w, &deadline)?;
        let frame = conn.receive(&deadline)?;
        let mut r = Reader::new(&frame);
        let (_protocol, negotiated, got_id) =
            (r.int().map_err(lost)?, r.int().map_err(lost)?, r.long().map_err(lost)?);
        let got_passwd = r.buffer().map_err(lost)?.unwrap_or_default().to_vec();
        if negotiated <= 0 || got_id == 0 {
            // What a server answers for a session it no longer knows.
            return Err(Failure::Code(SESSION_EXPIRED));
        }
        conn.session = SessionId { id: got_id, passwd: got_passwd, timeout_ms: negotiated };
        Ok(conn)
    }

    fn send(&mut self, w: &Writer, deadline: &Deadline) -> Result<(), Failure> {
        net::write_all(&mut self.stream, &w.frame(), deadline).map_err(lost)
    }

    fn receive(&mut self, deadline: &Deadline) -> Result<Vec<u8>, Failure> {
        let mut len = [0u8; 4];
        net::read_exact(&mut self.stream, &mut len, deadline).map_err(lost)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > FRAME_CAP {
            return Err(lost(format!("a frame of {len} bytes")));
        }
        let mut body = vec![0u8; len];
        net::read_exact(&mut self.stream, &mut body, deadline).map_err(lost)?;
        Ok(body)
    }

    /// One request; the reply's zxid and body after the header.
    fn call(&mut self, op: i32, body: impl FnOnce(&mut Writer)) -> Result<(i64, Vec<u8>), Failure> {
        let deadline = Deadline::new(Instant::now() + self.limit);
        self.next_xid += 1;
        let xid = self.next_xid;
        let mut w = Writer::default();
        w.int(xid).int(op);
        body(&mut w);
        self.send(&w, &deadline)?;
        loop {
            let frame = self.receive(&deadline)?;
            let mut r = Reader::new(&frame);
            let (reply_xid, zxid, err) =
                (r.int().map_err(lost)?, r.long().map_err(lost)?, r.int().map_err(lost)?);
            if reply_xid == XID_NOTIFICATION || reply_xid == XID_PING {
                continue;
            }
            if reply_xid != xid {
                return Err(lost(format!("reply to {reply_xid}, not {xid}")));
            }
            if zxid > 0 {
                self.last_zxid = self.last_zxid.max(zxid);
            }
            if err != 0 {
                return Err(Failure::Code(err));
            }
            return Ok((zxid, frame[16..].to_vec()));
        }
    }

    pub fn get_data(&mut self, path: &str) -> Result<Got, Failure> {
        let (zxid, body) = self.call(OP_GET_DATA, |w| {
            w.string(Some(path)).boolean(false);
        })?;
        let mut r = Reader::new(&body);
        let data = r.buffer().map_err(lost)?.unwrap_or_default().to_vec();
        let (version, mzxid) = stat(&mut r).map_err(lost)?;
        Ok(Got { data, version, mzxid, zxid })
    }

    pub fn set_data(&mut self, path: &str, data: &[u8], version: i32) -> Result<Set, Failure> {
        let (zxid, body) = self.call(OP_SET_DATA, |w| {
            w.string(Some(path)).buffer(data).int(version);
        })?;
        let (version, mzxid) = stat(&mut Reader::new(&body)).map_err(lost)?;
        Ok(Set { version, mzxid, zxid })
    }

    /// A persistent znode anyone may change; with `sequential`, the server appends a counter.
    /// The created path and the reply's zxid.
    pub fn create(&mut self, path: &str, data: &[u8], sequential: bool) -> Result<(String, i64), Failure> {
        let (zxid, body) = self.call(OP_CREATE, |w| {
            w.string(Some(path)).buffer(data);
            w.int(1).int(PERMS_ALL).string(Some("world")).string(Some("anyone"));
            w.int(if sequential { SEQUENTIAL } else { 0 });
        })?;
        let name = Reader::new(&body).buffer().map_err(lost)?.unwrap_or_default().to_vec();
        Ok((String::from_utf8_lossy(&name).into_owned(), zxid))
    }

    pub fn children(&mut self, path: &str) -> Result<Vec<String>, Failure> {
        let (_, body) = self.call(OP_GET_CHILDREN, |w| {
            w.string(Some(path)).boolean(false);
        })?;
        let mut r = Reader::new(&body);
        let count = r.int().map_err(lost)?;
        if count < 0 || count as usize > body.len() / 4 {
            return Err(lost(format!("a listing of {count} children")));
        }
        let mut names = Vec::with_capacity(count as usize);
        for _ in 0..count {
            names.push(String::from_utf8_lossy(r.buffer().map_err(lost)?.unwrap_or_default()).into_owned());
        }
        Ok(names)
    }

    /// `sync`: the server catches up with the leader before answering.
    pub fn sync(&mut self, path: &str) -> Result<(), Failure> {
        self.call(OP_SYNC, |w| {
            w.string(Some(path));
        })
        .map(|_| ())
    }

    pub fn close(mut self) {
        let _ = self.call(OP_CLOSE, |_| {});
    }
}

/// A Stat's version and mzxid (czxid, mzxid, ctime, mtime, version, cversion, aversion,
/// ephemeralOwner, dataLength, numChildren, pzxid).
fn stat(r: &mut Reader) -> anyhow::Result<(i32, i64)> {
    r.skip(8)?;
    let mzxid = r.long()?;
    r.skip(16)?;
    let version = r.int()?;
    r.skip(4 + 4 + 8 + 4 + 4 + 8)?;
    Ok((version, mzxid))
}
