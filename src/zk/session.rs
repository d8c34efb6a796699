//! One short ZooKeeper session over one TCP connection, synchronous: connect, authenticate,
//! read a znode, reconfigure, create, read and set ACLs, close. Everything zk-entry's membership work needs, and
//! nothing else (no watches, no reconnection, no pings: a session lives for a few requests).
//!
//! Why not a crate: the well-kept Rust client (`zookeeper-client`) is async and brings an async
//! runtime and its dependency tree into a binary that is otherwise synchronous and small, for
//! a handful of requests; this module is a few hundred lines over [`super::jute`] with one deadline over
//! the lookup, the connect and every read and write ([`super::net`]) and a cap on every frame
//! (docs/design.md, "Talking to ZooKeeper").

use std::fmt;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use super::jute::{Reader, Writer};
use super::net::{self, Deadline, Ended};

/// The largest reply frame accepted: ZooKeeper's own default `jute.maxbuffer` is 1 MiB.
const FRAME_CAP: usize = 1 << 20;
/// Request types and special xids (ZooKeeper's `ZooDefs.OpCode`, `ClientCnxn`).
const OP_CREATE: i32 = 1;
const OP_DELETE: i32 = 2;
const OP_GET_DATA: i32 = 4;
const OP_SET_DATA: i32 = 5;
const OP_GET_ACL: i32 = 6;
const OP_SET_ACL: i32 = 7;
const OP_RECONFIG: i32 = 16;
const OP_CLOSE: i32 = -11;
const OP_AUTH: i32 = 100;
const XID_NOTIFICATION: i32 = -1;
const XID_PING: i32 = -2;
const XID_AUTH: i32 = -4;

/// A ZooKeeper error code from a reply (`KeeperException.Code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeeperError(pub(crate) i32);

impl KeeperError {
    pub(crate) const CONNECTION_LOSS: KeeperError = KeeperError(-4);
    pub(crate) const UNIMPLEMENTED: KeeperError = KeeperError(-6);
    pub(crate) const NEW_CONFIG_NO_QUORUM: KeeperError = KeeperError(-13);
    pub(crate) const RECONFIG_IN_PROGRESS: KeeperError = KeeperError(-14);
    pub(crate) const NO_NODE: KeeperError = KeeperError(-101);
    pub(crate) const NO_AUTH: KeeperError = KeeperError(-102);
    pub(crate) const BAD_VERSION: KeeperError = KeeperError(-103);
    pub(crate) const NO_CHILDREN_FOR_EPHEMERALS: KeeperError = KeeperError(-108);
    pub(crate) const NODE_EXISTS: KeeperError = KeeperError(-110);
    pub(crate) const RECONFIG_DISABLED: KeeperError = KeeperError(-123);

    fn name(self) -> &'static str {
        match self.0 {
            -1 => "system error",
            -4 => "connection lost",
            -6 => "the server does not implement the operation",
            -7 => "operation timed out",
            -8 => "bad arguments",
            -13 => "no quorum of the new configuration is connected and up to date",
            -14 => "another reconfiguration is in progress",
            -101 => "no such znode",
            -102 => "not authorised (the super user's password is wrong or missing)",
            -103 => "the configuration changed meanwhile (version check failed)",
            -108 => "an ephemeral znode cannot have children",
            -110 => "the znode exists",
            -111 => "the znode has children",
            -112 => "session expired",
            -115 => "authentication failed",
            -123 => "reconfiguration is disabled on the server (reconfigEnabled=false)",
            _ => "ZooKeeper error",
        }
    }

    /// The code carried by `err`, if it is a ZooKeeper error.
    pub(crate) fn of(err: &anyhow::Error) -> Option<KeeperError> {
        err.downcast_ref::<KeeperError>().or_else(|| err.chain().find_map(|e| e.downcast_ref())).copied()
    }
}

impl fmt::Display for KeeperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.name(), self.0)
    }
}

impl std::error::Error for KeeperError {}

/// ACL perms (`ZooDefs.Perms`).
pub(crate) const PERMS_READ: i32 = 1;
pub(crate) const PERMS_ADMIN: i32 = 16;

/// One ACL entry: who (`scheme:id`) may do what (`perms`, a bit set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Acl {
    pub(crate) perms: i32,
    pub(crate) scheme: String,
    pub(crate) id: String,
}

impl Acl {
    /// `world:anyone` with `perms`: with [`PERMS_READ`], readable by all and changeable by the
    /// super user alone, who passes every check.
    pub(crate) fn anyone(perms: i32) -> Acl {
        Acl { perms, scheme: "world".into(), id: "anyone".into() }
    }
}

/// The fields of a znode's Stat that zk-entry uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// The ACL's version, which a conditional setACL names.
    pub(crate) aversion: i32,
    /// The session owning an ephemeral znode; 0 for a persistent one.
    pub(crate) ephemeral_owner: i64,
}

/// A znode's data and the version fields zk-entry uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Data {
    pub(crate) bytes: Vec<u8>,
    /// The zxid of the last change (for `/zookeeper/config`, the configuration's version).
    pub(crate) mzxid: i64,
}

pub(crate) struct Session {
    stream: TcpStream,
    deadline: Deadline,
    next_xid: i32,
    /// The server this session talks to, for messages.
    pub(crate) server: String,
    /// The digest credentials given, to authenticate a replacement session alike.
    pub(crate) credentials: Option<String>,
}

impl Session {
    /// Connect to the first of `servers` (each `host:port`) that accepts a session; every step
    /// of the whole session must finish within `limit`.
    pub(crate) fn connect(servers: &[String], limit: Duration) -> Result<Session> {
        Session::connect_until(servers, Deadline::new(Instant::now() + limit))
    }

    /// [`Session::connect`] with a deadline of the caller's, which may carry a stop check (a
    /// start deciding its membership stops at a pending SIGTERM).
    pub(crate) fn connect_until(servers: &[String], deadline: Deadline) -> Result<Session> {
        let mut why = Vec::new();
        for server in servers {
            match Session::connect_one(server, &deadline) {
                Ok(session) => return Ok(session),
                Err(e) => why.push(format!("{server}: {e:#}")),
            }
        }
        bail!("no ZooKeeper server accepted a session ({})", why.join("; "))
    }

    fn connect_one(server: &str, deadline: &Deadline) -> Result<Session> {
        let (host, port) = split_server(server)?;
        let addrs = net::resolve(host, port, deadline).map_err(|e| cut(e, "looking up the host name"))?;
        let mut last = None;
        for addr in addrs {
            match net::connect(addr, deadline) {
                Ok(stream) => {
                    let mut session = Session {
                        stream,
                        deadline: deadline.clone(),
                        next_xid: 1,
                        server: server.to_string(),
                        credentials: None,
                    };
                    session.handshake()?;
                    return Ok(session);
                }
                Err(e @ (Ended::TimedOut | Ended::Stopped)) => return Err(cut(e, "connecting")),
                Err(e) => last = Some(e),
            }
        }
        Err(cut(last.unwrap_or(Ended::TimedOut), "connecting"))
    }

    fn handshake(&mut self) -> Result<()> {
        let left = self.deadline.left().unwrap_or_default();
        let timeout_ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(4000);
        let mut w = Writer::default();
        // protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly.
        w.int(0).long(0).int(timeout_ms).long(0).buffer(&[0; 16]).boolean(false);
        self.send(&w)?;
        let frame = self.receive()?;
        let mut r = Reader::new(&frame);
        let _protocol = r.int()?;
        let negotiated = r.int()?;
        let session_id = r.long()?;
        if negotiated <= 0 || session_id == 0 {
            bail!("the server refused the session (it may not be serving: no quorum)");
        }
        Ok(())
    }

    fn send(&mut self, packet: &Writer) -> Result<()> {
        let sent = net::write_all(&mut self.stream, &packet.frame(), &self.deadline);
        sent.map_err(|e| cut(e, "sending")).context(KeeperError::CONNECTION_LOSS)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        // Like ZooKeeper's own clients, a broken exchange is a lost connection: the request may or
        // may not have been applied (a reconfig that moves the leader reports exactly this).
        let read = net::read_exact(&mut self.stream, buf, &self.deadline);
        read.map_err(|e| cut(e, "waiting for the reply")).context(KeeperError::CONNECTION_LOSS)
    }

    fn receive(&mut self) -> Result<Vec<u8>> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > FRAME_CAP {
            bail!("{} sent a frame of {len} bytes, more than the {FRAME_CAP} accepted", self.server);
        }
        let mut body = vec![0u8; len];
        self.read_exact(&mut body)?;
        Ok(body)
    }

    /// Send a request of type `op` with `body`, and return the reply's body once its header
    /// says success. `xid` is the request's own unless given (auth uses a fixed one).
    fn call(&mut self, op: i32, xid: Option<i32>, body: impl FnOnce(&mut Writer)) -> Result<Vec<u8>> {
        let xid = xid.unwrap_or_else(|| {
            self.next_xid += 1;
            self.next_xid
        });
        let mut w = Writer::default();
        w.int(xid).int(op);
        body(&mut w);
        self.send(&w)?;
        loop {
            let frame = self.receive()?;
            let mut r = Reader::new(&frame);
            let (reply_xid, _zxid, err) = (r.int()?, r.long()?, r.int()?);
            if reply_xid == XID_NOTIFICATION || reply_xid == XID_PING {
                continue;
            }
            if reply_xid != xid {
                bail!("{} answered request {reply_xid}, not {xid}", self.server);
            }
            if err != 0 {
                return Err(KeeperError(err).into());
            }
            return Ok(frame[16..].to_vec());
        }
    }

    /// `addauth digest USER:PASSWORD`.
    pub(crate) fn add_digest_auth(&mut self, credentials: &str) -> Result<()> {
        self.call(OP_AUTH, Some(XID_AUTH), |w| {
            w.int(0).string(Some("digest")).buffer(credentials.as_bytes());
        })
        .context("digest authentication")?;
        self.credentials = Some(credentials.to_string());
        Ok(())
    }

    /// The data of `path`. Every znode zk-entry reads (`/zookeeper/config`, the membership
    /// record) must hold data: null, which any client may create, is an error naming `path`.
    pub(crate) fn get_data(&mut self, path: &str) -> Result<Data> {
        let body = self.call(OP_GET_DATA, None, |w| {
            w.string(Some(path)).boolean(false);
        })?;
        read_data(&body, path)
    }

    /// `reconfig`: incremental when `joining`/`leaving` are given, else `new_members` replaces
    /// the membership. `from_config` is the version it must apply to (-1: any). Returns the new
    /// configuration.
    pub(crate) fn reconfig(
        &mut self,
        joining: Option<&str>,
        leaving: Option<&str>,
        new_members: Option<&str>,
        from_config: i64,
    ) -> Result<Data> {
        let body = self.call(OP_RECONFIG, None, |w| {
            w.string(joining).string(leaving).string(new_members).long(from_config);
        })?;
        read_data(&body, "the reconfig reply")
    }

    /// Create a persistent znode that everyone may read and only the super user may change
    /// (the super user passes every ACL).
    pub(crate) fn create(&mut self, path: &str, data: &[u8]) -> Result<()> {
        self.create_with(path, data, &[Acl::anyone(PERMS_READ)])
    }

    /// Create a persistent znode with `acl`.
    pub(crate) fn create_with(&mut self, path: &str, data: &[u8], acl: &[Acl]) -> Result<()> {
        self.call(OP_CREATE, None, |w| {
            w.string(Some(path)).buffer(data);
            write_acl(w, acl);
            w.int(0);
        })
        .map(|_| ())
    }

    /// The ACL of `path`, and its Stat.
    pub(crate) fn get_acl(&mut self, path: &str) -> Result<(Vec<Acl>, Stat)> {
        let body = self.call(OP_GET_ACL, None, |w| {
            w.string(Some(path));
        })?;
        read_acl(&body)
    }

    /// Replace the ACL of `path` if its ACL version is `version` (-1: whatever it is).
    pub(crate) fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<()> {
        self.call(OP_SET_ACL, None, |w| {
            w.string(Some(path));
            write_acl(w, acl);
            w.int(version);
        })
        .map(|_| ())
    }

    /// Delete a znode, whatever its version.
    pub(crate) fn delete(&mut self, path: &str) -> Result<()> {
        self.call(OP_DELETE, None, |w| {
            w.string(Some(path)).int(-1);
        })
        .map(|_| ())
    }

    /// Replace a znode's data, whatever its version.
    pub(crate) fn set_data(&mut self, path: &str, data: &[u8]) -> Result<()> {
        self.call(OP_SET_DATA, None, |w| {
            w.string(Some(path)).buffer(data).int(-1);
        })
        .map(|_| ())
    }

    /// End the session at once (its ephemeral state, if any, goes with it).
    pub(crate) fn close(mut self) {
        let _ = self.call(OP_CLOSE, None, |_| {});
    }
}

/// `host:port` or `[v6]:port`, as `--server` and the peer lists give them.
fn split_server(server: &str) -> Result<(&str, u16)> {
    let parsed = server.rsplit_once(':').and_then(|(host, port)| Some((host, port.parse().ok()?)));
    parsed.ok_or_else(|| anyhow!("'{server}' is not HOST:PORT"))
}

/// A step that did not complete, as one clause: which step, and why.
fn cut(ended: Ended, step: &str) -> anyhow::Error {
    match ended {
        Ended::TimedOut => anyhow!("out of time {step}"),
        Ended::Stopped => anyhow!("stopped by a signal while {step}"),
        Ended::Failed(e) => anyhow::Error::new(e).context(format!("{step} failed")),
    }
}

/// jute's `vector<ACL>`.
fn write_acl(w: &mut Writer, acl: &[Acl]) {
    // A handful of entries, all of them ours.
    w.int(i32::try_from(acl.len()).unwrap_or(i32::MAX));
    for entry in acl {
        w.int(entry.perms).string(Some(&entry.scheme)).string(Some(&entry.id));
    }
}

/// `GetACLResponse`: the entries, then the Stat.
fn read_acl(body: &[u8]) -> Result<(Vec<Acl>, Stat)> {
    let mut r = Reader::new(body);
    let count = r.int()?;
    // An entry takes 12 bytes at least: a count beyond the frame is a broken reply.
    if count < 0 || count as usize > body.len() / 12 {
        bail!("a reply's ACL claims {count} entries");
    }
    let mut acl = Vec::new();
    for _ in 0..count {
        let perms = r.int()?;
        let scheme = String::from_utf8_lossy(r.buffer()?.unwrap_or_default()).into_owned();
        let id = String::from_utf8_lossy(r.buffer()?.unwrap_or_default()).into_owned();
        acl.push(Acl { perms, scheme, id });
    }
    Ok((acl, read_stat(&mut r)?))
}

/// A Stat: czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner,
/// dataLength, numChildren, pzxid.
fn read_stat(r: &mut Reader) -> Result<Stat> {
    r.skip(8 * 4 + 4 * 2)?;
    let aversion = r.int()?;
    let ephemeral_owner = r.long()?;
    r.skip(4 * 2 + 8)?;
    Ok(Stat { aversion, ephemeral_owner })
}

/// `GetDataResponse`: the data, then the Stat (czxid, mzxid, ...). `what` names the znode for
/// the error when its data is null.
fn read_data(body: &[u8], what: &str) -> Result<Data> {
    let mut r = Reader::new(body);
    let Some(bytes) = r.buffer()? else {
        bail!("{what} holds no data (null, not even empty), where zk-entry expects its text");
    };
    let bytes = bytes.to_vec();
    r.skip(8)?;
    let mzxid = r.long()?;
    Ok(Data { bytes, mzxid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_data_reply_gives_data_and_the_change_zxid() {
        let mut w = Writer::default();
        w.buffer(b"server.1=a:2888:3888:participant;2181\nversion=100000000");
        w.long(1).long(0x1_0000_0000).long(0).long(0).int(0).int(0).int(-1).long(0).int(0).int(0).long(0);
        let frame = w.frame();
        let data = read_data(&frame[4..], "/zookeeper/config").unwrap();
        assert_eq!(data.mzxid, 0x1_0000_0000);
        assert!(data.bytes.starts_with(b"server.1="));
        assert!(read_data(&frame[4..20], "/zookeeper/config").is_err());
    }

    /// A Stat: czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner,
    /// dataLength, numChildren, pzxid.
    fn stat(w: &mut Writer) {
        w.long(1).long(0x1_0000_0000).long(0).long(0).int(0).int(0).int(-1).long(0).int(0).int(0).long(0);
    }

    #[test]
    fn null_data_is_an_error_naming_the_znode_and_other_negative_lengths_are_refused() {
        let mut w = Writer::default();
        w.int(-1);
        stat(&mut w);
        let err = read_data(&w.frame()[4..], "/zookeeper/config").unwrap_err().to_string();
        assert!(err.contains("/zookeeper/config holds no data (null, not even empty)"), "{err}");
        let mut w = Writer::default();
        w.int(-2);
        stat(&mut w);
        let err = read_data(&w.frame()[4..], "/zookeeper/config").unwrap_err().to_string();
        assert!(err.contains("length -2"), "{err}");
    }

    #[test]
    fn get_acl_reply_gives_entries_and_stat() {
        let mut w = Writer::default();
        write_acl(
            &mut w,
            &[Acl::anyone(PERMS_READ), Acl { perms: 31, scheme: "digest".into(), id: "u:x".into() }],
        );
        w.long(1).long(2).long(0).long(0).int(0).int(0).int(7).long(0x55).int(0).int(0).long(0);
        let frame = w.frame();
        let (acl, stat) = read_acl(&frame[4..]).unwrap();
        assert_eq!(
            acl,
            [Acl::anyone(PERMS_READ), Acl { perms: 31, scheme: "digest".into(), id: "u:x".into() }]
        );
        assert_eq!(stat, Stat { aversion: 7, ephemeral_owner: 0x55 });
        assert_eq!(frame[4..20], [0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 5, b'w', b'o', b'r', b'l']);
        assert!(read_acl(&frame[4..frame.len() - 1]).is_err(), "a short Stat was read");
        assert!(read_acl(&[0x7f, 0xff, 0xff, 0xff]).unwrap_err().to_string().contains("claims"));
    }

    #[test]
    fn keeper_errors_travel_in_anyhow_and_read_plainly() {
        let err: anyhow::Error = anyhow::Error::from(KeeperError(-102)).context("reconfig");
        assert_eq!(KeeperError::of(&err), Some(KeeperError(-102)));
        assert_eq!(
            format!("{err:#}"),
            "reconfig: not authorised (the super user's password is wrong or missing) (code -102)"
        );
        assert_eq!(KeeperError::of(&anyhow::anyhow!("x")), None);
        let lost = Err::<(), _>(std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
            .context("no complete reply")
            .context(KeeperError::CONNECTION_LOSS)
            .unwrap_err();
        assert_eq!(KeeperError::of(&lost), Some(KeeperError::CONNECTION_LOSS));
    }
}
