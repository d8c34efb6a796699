//! `zk-entry resize N`: shrink the voting membership to ordinals 0..N-1 before
//! `kubectl scale statefulset zk --replicas=N`, one member at a time, each removal conditioned on
//! the version it read and committed only while the rest keep a quorum (ZooKeeper checks that
//! the new membership has a quorum connected and up to date).
//!
//! First it records N ([`super::fence`]) so that a removed pod restarting before it is deleted
//! waits instead of joining again. It refuses, changing nothing (the record is put back), when no
//! server serves (no quorum), when a server is still joining, or when another reconfiguration is
//! running or the first removal is refused. A removal that loses its connection (removing the
//! leader does) is checked by reading the membership again, never blindly repeated.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::fence::{Fence, SIZE_ZNODE};
use super::members::{CONFIG_ZNODE, table};
use super::secret::Password;
use super::settings::Target;
use crate::zk::config::{Config, Member, Role};
use crate::zk::session::{KeeperError, Session};

const RETRY: Duration = Duration::from_millis(500);
/// How long a removal whose answer was lost is looked for before it counts as not committed.
const SETTLE: Duration = Duration::from_secs(5);

/// The StatefulSet ordinal in a member's host name (`zk-3.zk-hs...` is 3).
pub(crate) fn ordinal(member: &Member) -> Option<u64> {
    let short = member.host.split('.').next()?;
    let (_, digits) = short.rsplit_once('-')?;
    digits.parse().ok()
}

/// What a resize to `size` removes, highest ordinal first; or why it must not start.
pub(crate) fn plan(config: &Config, size: u64) -> Result<Vec<Member>, String> {
    if let Some(joiner) = config.members.iter().find(|m| m.role == Role::Observer) {
        return Err(format!(
            "server {} ({}) is still joining as an observer; wait until it votes (zk-entry members), then resize",
            joiner.id, joiner.host
        ));
    }
    let mut removing = Vec::new();
    for m in &config.members {
        match ordinal(m) {
            Some(o) if o >= size => removing.push(m.clone()),
            Some(_) => {}
            None => return Err(format!("server {}'s host {} carries no StatefulSet ordinal", m.id, m.host)),
        }
    }
    let min = crate::start::settings::MIN_VOTERS;
    if config.members.len() - removing.len() < min as usize {
        return Err(format!(
            "resize {size} would leave {} voting member(s); a dynamic ensemble keeps at least {min}, or no server could join it again",
            config.members.len() - removing.len()
        ));
    }
    removing.sort_by_key(|m| std::cmp::Reverse(ordinal(m)));
    Ok(removing)
}

pub(crate) fn run(target: &Target, size: u64, password: &Password) -> anyhow::Result<()> {
    let deadline = Instant::now() + target.timeout;
    let mut session = connect(target, deadline)?;
    let config = read(&mut session)?;
    let removing =
        plan(&config, size).map_err(|why| anyhow::anyhow!("refusing to resize: {why}; nothing changed"))?;
    if removing.is_empty() {
        tracing::info!("nothing to remove: every member's ordinal is below {size}");
        session.close();
        return crate::write_stdout(&table(&config));
    }
    session.add_digest_auth(&password.credentials())?;
    let previous = Fence::read(&mut session)?;
    // Any pod that first saw a version before this one was there before the resize.
    let fence = Fence { size, version: config.version + 1 };
    fence.write(&mut session)?;
    let mut version = config.version;
    for (n, member) in removing.iter().enumerate() {
        match remove(target, &mut session, member, version, deadline) {
            Ok((next, again)) => {
                version = next;
                session = again;
            }
            Err(e) if n == 0 => {
                // Nothing was removed: put the record back as it was.
                let restored = match previous {
                    Some(old) => old.write(&mut connect_as_super(target, password, deadline)?),
                    None => connect_as_super(target, password, deadline)?.delete(SIZE_ZNODE),
                };
                if let Err(undo) = restored {
                    tracing::warn!("could not restore {SIZE_ZNODE}: {undo:#}");
                }
                bail!("refusing to resize: {e:#}; nothing changed");
            }
            Err(e) => bail!(
                "stopped after removing {}: removing server {} failed: {e:#}; run zk-entry resize {size} again once the ensemble is healthy",
                removing[..n].iter().map(|m| m.id.to_string()).collect::<Vec<_>>().join(", "),
                member.id
            ),
        }
    }
    let final_config = read(&mut session)?;
    session.close();
    crate::write_stdout(&table(&final_config))
}

/// Remove `member` on `version`; the new version and a session that still works.
fn remove(
    target: &Target,
    session: &mut Session,
    member: &Member,
    version: u64,
    deadline: Instant,
) -> anyhow::Result<(u64, Session)> {
    let started = Instant::now();
    match session.reconfig(None, Some(&member.id.to_string()), None, version as i64) {
        Ok(data) => {
            let config = Config::parse(&String::from_utf8_lossy(&data.bytes))?;
            tracing::info!("removed server {} ({}) in {:?}", member.id, member.host, started.elapsed());
            // A fresh session for the next step: the server this one used may have been removed.
            Ok((config.version, connect_as_super_again(target, session, deadline)?))
        }
        Err(e) if KeeperError::of(&e) == Some(KeeperError::CONNECTION_LOSS) => {
            // Removing the leader may report a lost connection although it committed: look, for a
            // few seconds, as the server read from may apply the commit a moment later.
            let settle = (Instant::now() + SETTLE).min(deadline);
            loop {
                if Instant::now() > deadline {
                    bail!(
                        "lost the connection while removing server {} and could not check the outcome in time",
                        member.id
                    );
                }
                std::thread::sleep(RETRY);
                let Ok(mut again) = connect_as_super_again(target, session, deadline) else { continue };
                let Ok(config) = read(&mut again) else { continue };
                if config.member(member.id).is_none() {
                    tracing::info!(
                        "removed server {} ({}) in {:?} (the connection was lost; the membership shows it gone)",
                        member.id,
                        member.host,
                        started.elapsed()
                    );
                    return Ok((config.version, again));
                }
                if config.version != version {
                    bail!(
                        "the membership changed meanwhile (version {:x}) but still lists server {}",
                        config.version,
                        member.id
                    );
                }
                if Instant::now() > settle {
                    bail!("the removal of server {} did not commit: {e:#}", member.id);
                }
            }
        }
        Err(e) => Err(e).context(format!("reconfig removing server {}", member.id)),
    }
}

fn connect(target: &Target, deadline: Instant) -> anyhow::Result<Session> {
    let left = deadline.saturating_duration_since(Instant::now());
    Session::connect(&target.servers, left.max(Duration::from_millis(100)))
        .context("no server serves (is there a quorum?)")
}

/// A new session with the same credentials as `old`, retried until `deadline`: after a removal,
/// the leader may be handing over and no server serves for a moment.
fn connect_as_super_again(target: &Target, old: &mut Session, deadline: Instant) -> anyhow::Result<Session> {
    let credentials = old.credentials.clone();
    let mut session = loop {
        match connect(target, deadline) {
            Ok(session) => break session,
            Err(e) if Instant::now() + RETRY >= deadline => return Err(e),
            Err(_) => std::thread::sleep(RETRY),
        }
    };
    if let Some(c) = credentials {
        session.add_digest_auth(&c)?;
    }
    Ok(session)
}

fn connect_as_super(target: &Target, password: &Password, deadline: Instant) -> anyhow::Result<Session> {
    let mut session = connect(target, deadline)?;
    session.add_digest_auth(&password.credentials())?;
    Ok(session)
}

fn read(session: &mut Session) -> anyhow::Result<Config> {
    let data = session.get_data(CONFIG_ZNODE).with_context(|| format!("cannot read {CONFIG_ZNODE}"))?;
    Config::parse(&String::from_utf8_lossy(&data.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hosts: &[(u64, &str, Role)]) -> Config {
        let text: String = hosts
            .iter()
            .map(|(id, host, role)| format!("server.{id}={host}:2888:3888:{};2181\n", role.as_str()))
            .collect();
        Config::parse(&text).unwrap()
    }

    #[test]
    fn removes_the_ordinals_at_or_above_n_highest_first() {
        let c = config(&[
            (1, "zk-0.d", Role::Participant),
            (2, "zk-1.d", Role::Participant),
            (3, "zk-2.d", Role::Participant),
            (4, "zk-3.d", Role::Participant),
            (5, "zk-4.d", Role::Participant),
        ]);
        let ids: Vec<u64> = plan(&c, 3).unwrap().iter().map(|m| m.id).collect();
        assert_eq!(ids, [5, 4]);
        assert!(plan(&c, 5).unwrap().is_empty());
        assert!(plan(&c, 1).unwrap_err().contains("keeps at least 2"));
        assert_eq!(plan(&c, 2).unwrap().len(), 3);
    }

    #[test]
    fn a_joiner_or_a_foreign_host_stops_it() {
        let c = config(&[(1, "zk-0.d", Role::Participant), (2, "zk-1.d", Role::Observer)]);
        assert!(plan(&c, 1).unwrap_err().contains("still joining"));
        let c = config(&[(1, "zk-0.d", Role::Participant), (2, "other.d", Role::Participant)]);
        assert!(plan(&c, 1).unwrap_err().contains("no StatefulSet ordinal"));
    }
}
