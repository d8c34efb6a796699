//! `zk-entry leave`, the preStop hook of zookeeper-scalable.yaml: a safety net for a resize
//! that did not finish, never the way members are removed.
//!
//! A pod stopping is usually a restart (a rolling update, a drain, a crash): it must stay a
//! member. It leaves only when a `resize` recorded a size at or below its ordinal after the pod
//! began ([`crate::shape`]), i.e. when the resize meant to remove it and it is still listed. In
//! every other case, and when no server answers, it changes nothing and says why.
//!
//! The record decides nothing on its own: it must carry the super password's MAC
//! ([`crate::shape::record`]), must not name a version the membership never reached, and must keep at
//! least [`MIN_VOTERS`] voters of the live membership; and whatever it says, the removal must
//! leave that many voters. A record that fails any of these is refused, on one line, and
//! nothing changes.

use std::path::Path;

use anyhow::{Context, bail};

use super::resize::ordinal;
use crate::reach::Target;
use crate::secrets::password::Password;
use crate::shape::record::{self, Recorded, SHAPE_ZNODE};
use crate::shape::{self, MIN_VOTERS, Shape};
use crate::zk::config::{CONFIG_ZNODE, Config, Member, Role};
use crate::zk::session::{KeeperError, Session};

pub(crate) fn run(target: &Target, password: &Password, hostname: &str) -> anyhow::Result<()> {
    let short = hostname.split('.').next().unwrap_or(hostname);
    let Some(my_ordinal) = crate::parse::ordinal(short) else {
        tracing::info!("leave: host name {short} carries no ordinal; nothing to do");
        return Ok(());
    };
    let mut session = match Session::connect(&target.servers, target.timeout) {
        Ok(s) => s,
        Err(e) => {
            tracing::info!("leave: no server answers ({e:#}); nothing to do");
            return Ok(());
        }
    };
    let data = session.get_data(CONFIG_ZNODE).with_context(|| format!("cannot read {CONFIG_ZNODE}"))?;
    let config = Config::parse(&String::from_utf8_lossy(&data.bytes))?;
    let Some(me) = config.members.iter().find(|m| m.host.split('.').next() == Some(short)).cloned() else {
        tracing::info!(
            "leave: {short} is not in the membership (version {:x}); nothing to do",
            config.version
        );
        return Ok(());
    };
    let shape = match record::read(&mut session, password)? {
        Recorded::Absent => None,
        Recorded::Trusted(shape) => Some(shape),
        Recorded::Untrusted(why) => {
            // A wrong password fails every MAC: say so rather than blame the record.
            password.log_in(&mut session)?;
            bail!(
                "leave: not trusting the recorded shape: {why}; server {} stays a member; nothing changed",
                me.id
            );
        }
    };
    let first_seen = shape::noted(Path::new(shape::POD_MARKER));
    let removed = match (shape, first_seen) {
        (Some(shape), Some(seen)) => decide(&config, shape, &me, my_ordinal, seen).map_err(|why| {
            anyhow::anyhow!("leave: {why}; server {} stays a member; nothing changed", me.id)
        })?,
        _ => false,
    };
    if !removed {
        tracing::info!(
            "leave: server {} stays a member: a stop is a restart unless zk-entry resize removed this ordinal",
            me.id
        );
        return Ok(());
    }
    password.log_in(&mut session)?;
    match session.reconfig(None, Some(&me.id.to_string()), None, config.version as i64) {
        Ok(_) => {
            tracing::info!("leave: removed server {} ({}), which a resize meant to remove", me.id, me.host)
        }
        Err(e) if KeeperError::of(&e) == Some(KeeperError::CONNECTION_LOSS) => {
            tracing::info!(
                "leave: removing server {}: the connection dropped, as it does when the removal commits",
                me.id
            )
        }
        Err(e) => return Err(e).context(format!("reconfig removing server {}", me.id)),
    }
    Ok(())
}

/// Whether `me` (at `my_ordinal`, in the pod that first saw version `first_seen`) is one that
/// the trusted `shape` removed; or why the record contradicts the live membership `config`.
fn decide(
    config: &Config,
    shape: Shape,
    me: &Member,
    my_ordinal: u64,
    first_seen: u64,
) -> Result<bool, String> {
    if shape.version > config.version {
        return Err(format!(
            "{SHAPE_ZNODE} names membership version {:x}, which the live membership (version {:x}) never reached",
            shape.version, config.version
        ));
    }
    if !shape.removes(my_ordinal, first_seen) {
        return Ok(false);
    }
    // The voters the shape keeps among the live members: it must keep a quorum able to grow.
    let kept = config
        .members
        .iter()
        .filter(|m| ordinal(m).is_some_and(|o| o < shape.size && shape.role(o) == Role::Participant))
        .count() as u64;
    if kept < MIN_VOTERS {
        return Err(format!(
            "{SHAPE_ZNODE} (size {}, {} observers) keeps {kept} of the live membership's members voting; a dynamic ensemble keeps at least {MIN_VOTERS}",
            shape.size, shape.observers
        ));
    }
    let voters =
        config.members.iter().filter(|m| m.role == Role::Participant && m.id != me.id).count() as u64;
    if voters < MIN_VOTERS {
        return Err(format!(
            "removing server {} would leave {voters} voting member(s); a dynamic ensemble keeps at least {MIN_VOTERS}",
            me.id
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Members zk-0.. with these roles, at membership version 0x20.
    fn live(roles: &[Role]) -> Config {
        crate::zk::config::pods(roles)
    }

    fn at(config: &Config, ordinal: usize) -> Member {
        config.members[ordinal].clone()
    }

    use Role::{Observer as O, Participant as P};

    #[test]
    fn a_pod_the_shape_removed_leaves_and_others_stay() {
        let c = live(&[P, P, P, P]);
        let shape = Shape { size: 3, observers: 0, version: 0x20 };
        assert_eq!(decide(&c, shape, &at(&c, 3), 3, 0x10), Ok(true));
        assert_eq!(decide(&c, shape, &at(&c, 3), 3, 0x20), Ok(false), "created by a later scale-up");
        assert_eq!(decide(&c, shape, &at(&c, 2), 2, 0x10), Ok(false), "below the size");
    }

    #[test]
    fn a_record_the_membership_never_reached_is_refused() {
        let c = live(&[P, P, P, P]);
        let forged = Shape { size: 3, observers: 0, version: u64::MAX };
        let why = decide(&c, forged, &at(&c, 2), 2, 0x10).unwrap_err();
        assert!(why.contains("version ffffffffffffffff") && why.contains("never reached"), "{why}");
        let ahead = Shape { size: 3, observers: 0, version: 0x21 };
        assert!(decide(&c, ahead, &at(&c, 3), 3, 0x10).is_err(), "refused even for a pod it removes");
    }

    #[test]
    fn never_below_two_voters_whatever_the_record_says() {
        // The forgery, had it carried a MAC: size 1 keeps one voter.
        let c = live(&[P, P, P]);
        let one = Shape { size: 1, observers: 0, version: 0x20 };
        for o in 1..3 {
            let why = decide(&c, one, &at(&c, o), o as u64, 0).unwrap_err();
            assert!(why.contains("keeps 1 of the live membership's members voting"), "{why}");
        }
        // The shape keeps two voters, but one of them observes for now: removing the third
        // would leave one.
        let c = live(&[P, O, P]);
        let shape = Shape { size: 2, observers: 0, version: 0x20 };
        let why = decide(&c, shape, &at(&c, 2), 2, 0).unwrap_err();
        assert!(why.contains("would leave 1 voting member"), "{why}");
        // An observer beyond the size leaves: the voters stay.
        let c = live(&[P, P, O]);
        assert_eq!(decide(&c, shape, &at(&c, 2), 2, 0), Ok(true));
    }

    #[test]
    fn a_shape_whose_observers_leave_one_voter_is_refused() {
        let c = live(&[P, P, P, P]);
        let shape = Shape { size: 3, observers: 2, version: 0x20 };
        let why = decide(&c, shape, &at(&c, 3), 3, 0).unwrap_err();
        assert!(why.contains("keeps 1 of the live"), "{why}");
    }
}
