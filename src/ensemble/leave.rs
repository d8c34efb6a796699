//! `zk-entry leave`, the preStop hook of zookeeper-scalable.yaml: a safety net for a resize
//! that did not finish, never the way members are removed.
//!
//! A pod stopping is usually a restart (a rolling update, a drain, a crash): it must stay a
//! member. It leaves only when a `resize` recorded a size at or below its ordinal after the pod
//! began ([`super::fence`]), i.e. when the resize meant to remove it and it is still listed. In
//! every other case, and when no server answers, it changes nothing and says why.

use std::path::Path;

use anyhow::Context;

use super::fence::{self, Fence};
use super::members::CONFIG_ZNODE;
use super::secret::Password;
use super::settings::Target;
use crate::zk::config::Config;
use crate::zk::session::{KeeperError, Session};

pub(crate) fn run(target: &Target, password: &Password, hostname: &str) -> anyhow::Result<()> {
    let short = hostname.split('.').next().unwrap_or(hostname);
    let Some(ordinal) = short.rsplit_once('-').and_then(|(_, d)| d.parse::<u64>().ok()) else {
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
    let fence = Fence::read(&mut session)?;
    let Some(me) = config.members.iter().find(|m| m.host.split('.').next() == Some(short)) else {
        tracing::info!(
            "leave: {short} is not in the membership (version {:x}); nothing to do",
            config.version
        );
        return Ok(());
    };
    let first_seen = fence::noted(Path::new(fence::POD_MARKER));
    let removed = match (fence, first_seen) {
        (Some(f), Some(seen)) => f.removes(ordinal, seen),
        _ => false,
    };
    if !removed {
        tracing::info!(
            "leave: server {} stays a member: a stop is a restart unless zk-entry resize removed this ordinal",
            me.id
        );
        return Ok(());
    }
    session.add_digest_auth(&password.credentials())?;
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
