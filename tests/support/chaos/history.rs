//! A chaos run's recorded history: one [`Op`] per client request, with when it was invoked and
//! when it completed (nanoseconds since the run began), and its outcome: ok, a definite failure
//! (the server answered with an error code), or unknown (a timeout or a lost connection: the
//! request may or may not have taken effect). Written and read back as one tab-separated line per
//! operation, so a kept history can be checked again (`chaos --check FILE`).

use std::fmt;

/// What the request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// getData of a register: served by the server the session is on, which may be behind
    /// (ZooKeeper's reads are sequentially consistent, not linearizable).
    Read,
    /// `sync`, then getData on the same session: the server catches up with the leader first,
    /// the way ZooKeeper offers for a read that must see every write completed before it.
    SyncRead,
    /// setData of a register with the version the client last saw: compare-and-set.
    Cas,
    /// A sequential create under the run's parent znode.
    Create,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The server's error code: the request did not take effect (for a compare-and-set with
    /// code [`BAD_VERSION`], because the version differed when it was applied).
    Fail(i32),
    /// No answer: it may or may not have taken effect, at any time after its invocation.
    Unknown,
}

/// ZooKeeper's BadVersion.
pub const BAD_VERSION: i32 = -103;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub client: u32,
    /// The ZooKeeper session the request went on (0: none was established).
    pub session: i64,
    pub kind: Kind,
    /// The register read or set (reads and compare-and-sets).
    pub register: u32,
    /// A compare-and-set's expected version.
    pub expected: i32,
    /// A compare-and-set's new value, a read's value, a create's unique id.
    pub value: u64,
    /// A read's version; an ok compare-and-set's new version.
    pub version: i32,
    /// The znode's mzxid as the reply's Stat gave it (reads and ok compare-and-sets).
    pub mzxid: i64,
    /// The reply header's zxid (0: no reply).
    pub zxid: i64,
    /// A create's name: the prefix asked for, and once ok, the full name the server gave.
    pub name: String,
    pub invoke: u64,
    pub complete: u64,
    pub outcome: Outcome,
}

impl Op {
    /// An operation just invoked: who asked what of which register at `invoke`, everything the
    /// reply fills in still zero, the outcome `Ok` until it completes.
    pub fn invoked(client: u32, session: i64, kind: Kind, register: u32, invoke: u64) -> Op {
        Op {
            client,
            session,
            kind,
            register,
            expected: 0,
            value: 0,
            version: 0,
            mzxid: 0,
            zxid: 0,
            name: String::new(),
            invoke,
            complete: 0,
            outcome: Outcome::Ok,
        }
    }
}

impl Op {
    pub fn ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Fail(code) => write!(f, "fail:{code}"),
            Outcome::Unknown => f.write_str("unknown"),
        }
    }
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::SyncRead => "sread",
            Kind::Cas => "cas",
            Kind::Create => "create",
        }
    }
}

/// The line header of a history file.
pub const HEADER: &str = "client\tsession\tkind\tregister\texpected\tvalue\tversion\tmzxid\tzxid\tinvoke_ns\tcomplete_ns\toutcome\tname";

/// One operation as a line (no newline).
pub fn line(op: &Op) -> String {
    let name = if op.name.is_empty() { "-" } else { &op.name };
    format!(
        "{}\t{:x}\t{}\t{}\t{}\t{}\t{}\t{:x}\t{:x}\t{}\t{}\t{}\t{name}",
        op.client,
        op.session,
        op.kind.word(),
        op.register,
        op.expected,
        op.value,
        op.version,
        op.mzxid,
        op.zxid,
        op.invoke,
        op.complete,
        op.outcome
    )
}

/// A whole history file's text.
pub fn render(ops: &[Op]) -> String {
    let mut text = format!("{HEADER}\n");
    for op in ops {
        text.push_str(&line(op));
        text.push('\n');
    }
    text
}

/// Read back a history file written by [`render`]; the line number on error.
pub fn parse(text: &str) -> Result<Vec<Op>, String> {
    let mut ops = Vec::new();
    for (n, l) in text.lines().enumerate().filter(|(_, l)| !l.is_empty() && *l != HEADER) {
        ops.push(parse_line(l).ok_or_else(|| format!("history line {}: cannot read {l:?}", n + 1))?);
    }
    Ok(ops)
}

fn parse_line(l: &str) -> Option<Op> {
    let f: Vec<&str> = l.split('\t').collect();
    if f.len() != 13 {
        return None;
    }
    // `{:x}` writes an i64 as its two's complement.
    let hex = |s: &str| u64::from_str_radix(s, 16).ok().map(|v| v as i64);
    let kind = match f[2] {
        "read" => Kind::Read,
        "sread" => Kind::SyncRead,
        "cas" => Kind::Cas,
        "create" => Kind::Create,
        _ => return None,
    };
    let outcome = match f[11] {
        "ok" => Outcome::Ok,
        "unknown" => Outcome::Unknown,
        other => Outcome::Fail(other.strip_prefix("fail:")?.parse().ok()?),
    };
    Some(Op {
        client: f[0].parse().ok()?,
        session: hex(f[1])?,
        kind,
        register: f[3].parse().ok()?,
        expected: f[4].parse().ok()?,
        value: f[5].parse().ok()?,
        version: f[6].parse().ok()?,
        mzxid: hex(f[7])?,
        zxid: hex(f[8])?,
        invoke: f[9].parse().ok()?,
        complete: f[10].parse().ok()?,
        outcome,
        name: if f[12] == "-" { String::new() } else { f[12].to_string() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_reads_back_as_written() {
        let ops = vec![
            Op {
                client: 3,
                session: 0x1000_0abc,
                kind: Kind::Cas,
                register: 1,
                expected: 4,
                value: 3_000_000_017,
                version: 5,
                mzxid: 0x2_0000_0031,
                zxid: 0x2_0000_0031,
                name: String::new(),
                invoke: 12,
                complete: 40,
                outcome: Outcome::Ok,
            },
            Op {
                client: 0,
                session: -5,
                kind: Kind::Create,
                register: 0,
                expected: 0,
                value: 9,
                version: 0,
                mzxid: 0,
                zxid: 0,
                name: "c0-9-".into(),
                invoke: 50,
                complete: 90,
                outcome: Outcome::Fail(-101),
            },
        ];
        assert_eq!(parse(&render(&ops)).unwrap(), ops);
        assert!(parse("1\t2\tread\n").unwrap_err().contains("line 1"));
    }
}
