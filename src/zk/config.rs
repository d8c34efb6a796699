//! ZooKeeper's dynamic membership as text: the `server.N=` lines of `/zookeeper/config` (and of
//! the dynamic config file), parsed into members and written back.
//!
//! A line is `server.N=HOST:QUORUM_PORT:ELECTION_PORT[:participant|:observer][;[ADDR:]CLIENT_PORT]`;
//! `/zookeeper/config` ends in `version=<hex>`, which a dynamic config file must not contain.
//! The text comes from the network: anything else is refused with the line quoted (escaped by
//! [`quote`]), never guessed; the client part is kept as written and escaped wherever printed.
//!
//! Beside the text, what `start` and the membership commands both take from ZooKeeper about its
//! membership: where it is published ([`CONFIG_ZNODE`]), the id range ([`MAX_SERVER_ID`]) and
//! which answers to a change are worth another round ([`is_transient`]).

use std::fmt;

use anyhow::{Result, bail};

use super::session::KeeperError;
use crate::quote;

/// Where ZooKeeper publishes its committed membership.
pub(crate) const CONFIG_ZNODE: &str = "/zookeeper/config";

/// ZooKeeper's administrator guide gives server ids (myid) the range 1 to 255.
pub(crate) const MAX_SERVER_ID: u64 = 255;

/// Whether an error is worth another round (the usual answers while the ensemble changes).
pub(crate) fn is_transient(err: &anyhow::Error) -> bool {
    matches!(
        KeeperError::of(err),
        Some(
            KeeperError::BAD_VERSION
                | KeeperError::RECONFIG_IN_PROGRESS
                | KeeperError::CONNECTION_LOSS
                | KeeperError::NEW_CONFIG_NO_QUORUM
        )
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    Participant,
    Observer,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Participant => "participant",
            Role::Observer => "observer",
        }
    }
}

/// One member: its id and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) id: u64,
    pub(crate) host: String,
    pub(crate) quorum_port: u16,
    pub(crate) election_port: u16,
    pub(crate) role: Role,
    /// `ADDR:PORT` or `PORT` after the `;`, as written.
    pub(crate) client: Option<String>,
}

impl Member {
    /// The value after `server.N=`.
    pub(crate) fn value(&self) -> String {
        let mut v =
            format!("{}:{}:{}:{}", self.host, self.quorum_port, self.election_port, self.role.as_str());
        if let Some(client) = &self.client {
            v.push(';');
            v.push_str(client);
        }
        v
    }

    /// The whole line, `server.N=...`.
    pub(crate) fn line(&self) -> String {
        format!("server.{}={}", self.id, self.value())
    }
}

/// A membership, sorted by id, with the version `/zookeeper/config` gave it (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Config {
    pub(crate) members: Vec<Member>,
    pub(crate) version: u64,
}

impl Config {
    /// Parse `/zookeeper/config` or a dynamic config file.
    pub(crate) fn parse(text: &str) -> Result<Config> {
        let mut config = Config::default();
        for raw in text.lines() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(hex) = line.strip_prefix("version=") {
                config.version = u64::from_str_radix(hex, 16)
                    .map_err(|_| anyhow::anyhow!("version '{}' is not hexadecimal", quote::escaped(hex)))?;
                continue;
            }
            let member = parse_line(line)?;
            if config.members.iter().any(|m| m.id == member.id) {
                bail!("server.{} is listed twice", member.id);
            }
            config.members.push(member);
        }
        config.members.sort_by_key(|m| m.id);
        Ok(config)
    }

    pub(crate) fn member(&self, id: u64) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The dynamic config file's contents: the server lines, no version.
    pub(crate) fn dynamic_file(&self) -> String {
        self.members.iter().map(|m| format!("{}\n", m.line())).collect()
    }

    /// This membership with `member` in it (replacing a line of the same id).
    pub(crate) fn with(&self, member: Member) -> Config {
        let mut next = self.clone();
        next.members.retain(|m| m.id != member.id);
        next.members.push(member);
        next.members.sort_by_key(|m| m.id);
        next
    }
}

/// For unit tests: members `zk-0.d`, `zk-1.d`... (ids from 1) with these roles, at membership
/// version 0x20.
#[cfg(test)]
pub(crate) fn pods(roles: &[Role]) -> Config {
    let text: String = roles
        .iter()
        .enumerate()
        .map(|(o, role)| format!("server.{}=zk-{o}.d:2888:3888:{};2181\n", o + 1, role.as_str()))
        .collect();
    Config { version: 0x20, ..Config::parse(&text).unwrap() }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dynamic_file())?;
        write!(f, "version={:x}", self.version)
    }
}

fn parse_line(line: &str) -> Result<Member> {
    let bad = |why: &str| anyhow::anyhow!("'{}' is not a server line: {why}", quote::escaped(line));
    let (key, value) = line.split_once('=').ok_or_else(|| bad("no '='"))?;
    let id = key
        .strip_prefix("server.")
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| (1..=255).contains(n))
        .ok_or_else(|| bad("expected server.N with N from 1 to 255"))?;
    let (addrs, client) = match value.split_once(';') {
        Some((a, c)) => (a, Some(c.trim().to_string()).filter(|c| !c.is_empty())),
        None => (value, None),
    };
    // The role is optional and last; the host may hold colons (IPv6 in brackets), so the ports
    // are taken from the right.
    let (addrs, role) = match addrs.rsplit_once(':') {
        Some((rest, "observer")) => (rest, Role::Observer),
        Some((rest, "participant")) => (rest, Role::Participant),
        _ => (addrs, Role::Participant),
    };
    let mut fields = addrs.rsplitn(3, ':');
    let (election, quorum, host) = match (fields.next(), fields.next(), fields.next()) {
        (Some(e), Some(q), Some(h)) => (e, q, h),
        _ => return Err(bad("expected HOST:QUORUM_PORT:ELECTION_PORT")),
    };
    let port =
        |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| bad("a port is not 1 to 65535"));
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("the host is empty or holds white space"));
    }
    Ok(Member {
        id,
        host: host.to_string(),
        quorum_port: port(quorum)?,
        election_port: port(election)?,
        role,
        client,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "server.1=zk-0.zk-hs.default.svc.cluster.local:2888:3888:participant;0.0.0.0:2181\nserver.3=zk-2.zk-hs.default.svc.cluster.local:2888:3888:observer;2181\nserver.2=zk-1.zk-hs.default.svc.cluster.local:2888:3888:participant;0.0.0.0:2181\nversion=100000003";

    #[test]
    fn parses_the_live_config_sorted_by_id() {
        let c = Config::parse(LIVE).unwrap();
        assert_eq!(c.version, 0x1_0000_0003);
        let ids: Vec<u64> = c.members.iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let m = c.member(3).unwrap();
        assert_eq!(
            (m.host.as_str(), m.quorum_port, m.election_port),
            ("zk-2.zk-hs.default.svc.cluster.local", 2888, 3888)
        );
        assert_eq!((m.role, m.client.as_deref()), (Role::Observer, Some("2181")));
        assert_eq!(c.member(1).unwrap().client.as_deref(), Some("0.0.0.0:2181"));
        assert_eq!(c.members.iter().filter(|m| m.role == Role::Participant).count(), 2);
    }

    #[test]
    fn writes_back_what_it_read_without_the_version_in_the_file() {
        let c = Config::parse(LIVE).unwrap();
        let file = c.dynamic_file();
        assert!(!file.contains("version"));
        assert_eq!(
            file.lines().next().unwrap(),
            "server.1=zk-0.zk-hs.default.svc.cluster.local:2888:3888:participant;0.0.0.0:2181"
        );
        assert_eq!(Config::parse(&c.to_string()).unwrap(), c);
    }

    #[test]
    fn static_lines_without_role_or_client_port_are_participants() {
        let c = Config::parse("server.1=zk-0.d:2888:3888\nserver.2=10.0.0.2:2888:3888:observer\n").unwrap();
        assert_eq!(c.member(1).unwrap().role, Role::Participant);
        assert_eq!(c.member(1).unwrap().client, None);
        assert_eq!(c.member(2).unwrap().role, Role::Observer);
        assert_eq!(c.version, 0);
    }

    #[test]
    fn with_adds_or_replaces_by_id() {
        let c = Config::parse(LIVE).unwrap();
        let mut m = c.member(3).unwrap().clone();
        m.role = Role::Participant;
        let next = c.with(m);
        assert!(next.members.iter().all(|m| m.role == Role::Participant));
        assert_eq!(next.members.len(), 3);
    }

    #[test]
    fn refuses_what_is_not_a_membership() {
        for bad in [
            "server.0=a:1:2",
            "server.x=a:1:2",
            "server.1=a:1",
            "server.1=a:0:2",
            "server.1=a:1:99999",
            "server.1=a b:1:2",
            "hello",
            "server.1=a:1:2\nserver.1=b:1:2",
            "version=xyz",
        ] {
            assert!(Config::parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
