//! `zk-entry handoff` (hidden; PID 1 of a `start --reconfig` pod runs it on the first SIGTERM,
//! crate::pid1::handoff): when this server leads, demote it to an observer with one
//! reconfiguration on the version read, so that the leader designates a successor instead of
//! the ensemble holding an election when its JVM stops; then wait until another voter says it
//! leads (the old leader lingers until its next tick, its clients waiting on it: the JVM's stop
//! drops them at once). The restart that follows rejoins it as an observer, and its `join` promotes it
//! back ([`super::join`]), so a roll leaves the membership as it found it.
//!
//! A follower or observer has nothing to hand over. Every other case where a demotion could cost
//! more than the stop is refused, on one line, and the pod stops at once: no quorum (the server
//! does not serve), the membership unreadable, fewer than [`MIN_VOTERS`] voters left after it,
//! a resize under way or a joiner not yet promoted (another reconfiguration), a recorded shape
//! that does not verify or that would not promote this ordinal back. ZooKeeper refuses a
//! reconfiguration that races another (a version that moved on, one in progress): refused too.
//! Everything happens within `--timeout` (a few seconds); PID 1 forwards SIGTERM when this exits
//! or when its own bound passes, whichever is first.

use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::args::JoinArgs;
use super::join::checked;
use crate::net::{self, Deadline};
use crate::reach::Target;
use crate::secrets::password::Password;
use crate::shape::record::{self, Recorded, SHAPE_ZNODE};
use crate::shape::{MIN_VOTERS, Shape};
use crate::zk::config::{CONFIG_ZNODE, Config, Member, Role};
use crate::zk::session::{KeeperError, Session};

/// How often the other voters are asked who leads while the demotion takes effect.
const POLL: Duration = Duration::from_millis(20);
/// One `srvr` to another voter.
const ASK: Duration = Duration::from_millis(500);
/// The most `srvr` reply bytes read (a 3.8 reply is about 400).
const SRVR_CAP: usize = 64 << 10;

/// Check `zk-entry handoff`'s input and run it.
pub(crate) fn check_and_run(input: &JoinArgs) -> anyhow::Result<()> {
    let (target, me, start_shape, password) = checked(input)?;
    run(&target, &me, start_shape, &password);
    Ok(())
}

/// Hand the leader's role over if this server leads and it is safe; says on one line what it
/// did or why not. Never fails: the stop goes on either way.
pub(crate) fn run(target: &Target, me: &Member, start_shape: Shape, password: &Password) {
    let started = Instant::now();
    let deadline = Deadline::new(started + target.timeout);
    match hand_over(target, me, start_shape, password, &deadline) {
        Ok(Outcome::NotLeader(mode)) => {
            tracing::info!("hand-off: server {} is a {mode}; nothing to hand over, stopping now", me.id)
        }
        Ok(Outcome::HandedOver(leader)) => tracing::info!(
            "hand-off: server {} is an observer now and {leader} leads, {:?} after SIGTERM; stopping",
            me.id,
            started.elapsed()
        ),
        Err(why) => tracing::info!("hand-off skipped: {why}; stopping server {} now", me.id),
    }
}

enum Outcome {
    /// What the server said it is instead.
    NotLeader(String),
    /// The member that leads now.
    HandedOver(String),
}

fn hand_over(
    target: &Target,
    me: &Member,
    start_shape: Shape,
    password: &Password,
    deadline: &Deadline,
) -> Result<Outcome, String> {
    let local = target.servers.first().ok_or("no server to ask")?;
    let local_addr =
        address(local, deadline).map_err(|e| format!("cannot ask the server its role ({e:#})"))?;
    match mode_at(local_addr, deadline) {
        Ok(Some(mode)) if mode == "leader" => {}
        Ok(Some(mode)) => return Ok(Outcome::NotLeader(mode)),
        Ok(None) => return Err("the server does not serve (no quorum)".into()),
        Err(e) => return Err(format!("cannot ask the server its role ({e:#})")),
    }
    let mut session = Session::connect_until(std::slice::from_ref(local), deadline.clone())
        .map_err(|e| format!("the membership is not readable ({e:#})"))?;
    let config = read_config(&mut session).map_err(|e| format!("the membership is not readable ({e:#})"))?;
    let shape = match record::read(&mut session, password) {
        Ok(Recorded::Trusted(shape)) => shape,
        // No record yet: the restart's join records the start flags' shape and goes by it.
        Ok(Recorded::Absent) => start_shape,
        Ok(Recorded::Untrusted(why)) => {
            return Err(format!("{why}: the restart could not be trusted to promote server {} back", me.id));
        }
        Err(e) => return Err(format!("{SHAPE_ZNODE} is not readable ({e:#})")),
    };
    let observer = decide(&config, shape, me.id)?;
    // The other voters' addresses, looked up now: once the demotion commits, every moment until
    // the JVM stops is one the clients of this server wait.
    let port = local.rsplit_once(':').map_or("2181", |(_, p)| p);
    let others: Vec<(String, SocketAddr)> = config
        .members
        .iter()
        .filter(|m| m.role == Role::Participant && m.id != me.id)
        .filter_map(|m| {
            let name = format!("{}:{port}", m.host);
            address(&name, deadline).ok().map(|addr| (name, addr))
        })
        .collect();
    if others.is_empty() {
        return Err("no other voter's address could be looked up".into());
    }
    password.log_in(&mut session).map_err(|e| format!("{e:#}"))?;
    let asked = Instant::now();
    match session.reconfig(Some(&observer.line()), None, None, config.version as i64) {
        Ok(_) => tracing::info!(
            "hand-off: server {} demoted to observer (from version {:x}) in {:?}",
            me.id,
            config.version,
            asked.elapsed()
        ),
        // Demoting the leader ends its sessions: the answer may be lost although it committed.
        Err(e) if KeeperError::of(&e) == Some(KeeperError::CONNECTION_LOSS) => tracing::info!(
            "hand-off: demoting server {}: the answer was lost after {:?}; looking for the next leader",
            me.id,
            asked.elapsed()
        ),
        Err(e) => return Err(refused(&e, config.version)),
    }
    // Not closed: closing is a transaction, which this server, demoted, holds until its next
    // tick. Dropping the connection leaves the session to end with the JVM, moments from now.
    drop(session);
    // Committed (or maybe, when the answer was lost): the designated successor leads within
    // moments, while this server lingers as a leader that commits nothing until its next tick.
    // Its clients would wait for that: once another voter says it leads, the JVM may stop.
    let mut last = String::from("no answer yet");
    while deadline.left().is_some() {
        for (other, addr) in &others {
            // Each ask gets a slice of what is left: one silent peer must not use it all up.
            let ask = Deadline::new(Instant::now() + ASK.min(deadline.left().unwrap_or_default()));
            match mode_at(*addr, &ask) {
                Ok(Some(mode)) if mode == "leader" => return Ok(Outcome::HandedOver(other.clone())),
                Ok(Some(mode)) => last = format!("{other}: {mode}"),
                Ok(None) => last = format!("{other}: not serving"),
                Err(e) => last = format!("{other}: {e:#}"),
            }
        }
        std::thread::sleep(POLL.min(deadline.left().unwrap_or_default()));
    }
    Err(format!(
        "no other member led in time after the demotion of server {} (last: {last}); its restart finds its role in the membership",
        me.id
    ))
}

/// Why ZooKeeper refused the demotion, in the hand-off's words.
fn refused(err: &anyhow::Error, version: u64) -> String {
    match KeeperError::of(err) {
        Some(KeeperError::BAD_VERSION) => {
            format!("the membership moved on from version {version:x} meanwhile (another reconfiguration)")
        }
        Some(KeeperError::RECONFIG_IN_PROGRESS) => "another reconfiguration is in progress".into(),
        Some(KeeperError::NEW_CONFIG_NO_QUORUM) => {
            "the other voters are not a quorum in sync (ZooKeeper refused the demotion)".into()
        }
        _ => format!("the demotion was refused ({err:#})"),
    }
}

/// The observer line this server is demoted to; or why it must not be, judged on the live
/// membership `config` and the shape the restart's `join` will go by.
fn decide(config: &Config, shape: Shape, my_id: u64) -> Result<Member, String> {
    let Some(me) = config.member(my_id) else {
        return Err(format!("server {my_id} is not in the membership (version {:x})", config.version));
    };
    if me.role != Role::Participant {
        return Err(format!("server {my_id} is listed as an {}", me.role.as_str()));
    }
    let Some(my_ordinal) = crate::parse::ordinal(&me.host) else {
        return Err(format!("server {my_id}'s host {} carries no StatefulSet ordinal", me.host));
    };
    let voters =
        config.members.iter().filter(|m| m.role == Role::Participant && m.id != my_id).count() as u64;
    if voters < MIN_VOTERS {
        return Err(format!(
            "demoting server {my_id} would leave {voters} voting member(s); a dynamic ensemble keeps at least {MIN_VOTERS}"
        ));
    }
    if shape.version > config.version {
        return Err(format!(
            "a resize is under way ({SHAPE_ZNODE} names version {:x}, the membership is at {:x})",
            shape.version, config.version
        ));
    }
    let joiner = config.members.iter().find(|m| {
        m.role == Role::Observer
            && crate::parse::ordinal(&m.host).is_some_and(|o| shape.role(o) == Role::Participant)
    });
    if let Some(j) = joiner {
        return Err(format!("server {} is still joining (another reconfiguration is under way)", j.id));
    }
    if shape.role(my_ordinal) != Role::Participant {
        return Err(format!(
            "the recorded shape (size {}, {} observers) makes ordinal {my_ordinal} an observer: its restart would not vote again",
            shape.size, shape.observers
        ));
    }
    Ok(Member { role: Role::Observer, ..me.clone() })
}

fn read_config(session: &mut Session) -> anyhow::Result<Config> {
    let data = session.get_data(CONFIG_ZNODE).with_context(|| format!("cannot read {CONFIG_ZNODE}"))?;
    Config::parse(&String::from_utf8_lossy(&data.bytes))
}

/// `HOST:PORT`'s first address, within the hand-off's deadline.
fn address(server: &str, deadline: &Deadline) -> anyhow::Result<SocketAddr> {
    let (host, port) = server.rsplit_once(':').context("no port")?;
    let port: u16 = port.parse().context("bad port")?;
    let addrs = net::resolve(host.trim_matches(['[', ']']), port, deadline)?;
    addrs.first().copied().context("no address")
}

/// The `Mode:` of the `srvr` reply from `addr` (`leader`, `follower`, `observer`), `None` while
/// it does not serve. Four bytes, the write side closed, the reply read to its end: as the
/// probes ask (docs/design.md, "Four-letter words on the wire"), within `deadline`.
fn mode_at(addr: SocketAddr, deadline: &Deadline) -> anyhow::Result<Option<String>> {
    let mut stream = net::connect(addr, deadline)?;
    net::write_all(&mut stream, b"srvr", deadline)?;
    let _ = stream.shutdown(Shutdown::Write);
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while reply.len() < SRVR_CAP {
        match net::read(&mut stream, &mut buf, deadline) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            // What arrived before a reset is the reply.
            Err(net::Ended::Failed(e)) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(mode_of(&String::from_utf8_lossy(&reply)))
}

fn mode_of(reply: &str) -> Option<String> {
    reply.lines().find_map(|l| l.strip_prefix("Mode: ")).map(|m| m.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::{Observer as O, Participant as P};

    fn live(roles: &[Role]) -> Config {
        crate::zk::config::pods(roles)
    }

    fn shape(size: u64, observers: u64) -> Shape {
        Shape { size, observers, version: 0x20 }
    }

    #[test]
    fn a_leader_among_three_voters_is_demoted_to_observer() {
        let c = live(&[P, P, P]);
        let line = decide(&c, shape(3, 0), 3).unwrap().line();
        assert_eq!(line, "server.3=zk-2.d:2888:3888:observer;2181");
        // No record yet: the start flags' shape, version 0.
        assert!(decide(&c, Shape { size: 3, observers: 0, version: 0 }, 1).is_ok());
        // A pod a scale-up added beyond the recorded size votes, and is promoted back.
        let c = live(&[P, P, P, P]);
        assert!(decide(&c, shape(3, 0), 4).is_ok());
    }

    #[test]
    fn never_below_two_voters() {
        let why = decide(&live(&[P, P]), shape(2, 0), 1).unwrap_err();
        assert!(why.contains("would leave 1 voting member(s)"), "{why}");
        let why = decide(&live(&[P, P, O]), shape(3, 1), 2).unwrap_err();
        assert!(why.contains("would leave 1 voting member(s)"), "{why}");
    }

    #[test]
    fn a_resize_or_a_joiner_under_way_is_another_reconfiguration() {
        let c = live(&[P, P, P]);
        let ahead = Shape { size: 3, observers: 0, version: 0x21 };
        assert!(decide(&c, ahead, 1).unwrap_err().contains("a resize is under way"));
        // zk-3 observes though the shape means it to vote: a joiner not promoted yet.
        let c = live(&[P, P, P, O]);
        let why = decide(&c, shape(4, 0), 1).unwrap_err();
        assert!(why.contains("server 4 is still joining"), "{why}");
        // An observer the shape means to observe is no joiner.
        assert!(decide(&c, shape(4, 1), 1).is_ok());
    }

    #[test]
    fn a_member_the_shape_does_not_mean_to_vote_stays_as_it_is() {
        let c = live(&[P, P, P, P]);
        let why = decide(&c, shape(4, 1), 4).unwrap_err();
        assert!(why.contains("makes ordinal 3 an observer"), "{why}");
        assert!(decide(&c, shape(4, 0), 9).unwrap_err().contains("server 9 is not in the membership"));
        let c = live(&[P, P, P, O]);
        assert!(decide(&c, shape(4, 1), 4).unwrap_err().contains("listed as an observer"));
    }

    #[test]
    fn the_mode_line_of_srvr() {
        let reply = "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nMode: leader\nNode count: 5\n";
        assert_eq!(mode_of(reply).as_deref(), Some("leader"));
        assert_eq!(mode_of("This ZooKeeper instance is not currently serving requests\n"), None);
    }
}
