//! `zk-entry join` (hidden; `start --reconfig` runs it beside the JVM of a server that starts as
//! an observer): once the local server serves, record the ensemble's shape if no trusted one is
//! recorded yet (the start flags' `--servers` and `--observers`, [`crate::shape::record`]; the super
//! password proven first), then give this server the role the recorded shape means for it. A
//! joiner, added as a non-voting observer and now holding the ensemble's data, is made a voter
//! with one `reconfig` on the version it read, unless the shape makes it an observer. Retried on the answers a changing ensemble gives
//! (another reconfiguration, a version that moved on, a leader handing over), bounded by
//! `--timeout`.
//!
//! One joiner is promoted per committed reconfiguration: each promotion is conditioned on the
//! version it read, so two joiners never become voters in one step, and a joiner only ever
//! votes after it has synced as an observer (never as an unlisted participant, which could
//! form a quorum with another). A member that votes though the shape makes it an observer is
//! left alone: demoting is `resize`'s, which checks the quorum first.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::args::JoinArgs;
use crate::reach::{Target, authorised};
use crate::secrets::password::Password;
use crate::shape::record::{self, Recorded};
use crate::shape::{self, Shape};
use crate::zk::config::{CONFIG_ZNODE, Config, MAX_SERVER_ID, Member, Role, is_transient};
use crate::zk::session::Session;

const RETRY: Duration = Duration::from_millis(500);
/// How often the wait is logged.
const NOTE: Duration = Duration::from_secs(15);
/// One request to the local server.
const ASK_LIMIT: Duration = Duration::from_secs(5);

/// Check `zk-entry join`'s input and run it.
pub(crate) fn check_and_run(input: &JoinArgs) -> anyhow::Result<()> {
    let (target, me, shape, password) = checked(input)?;
    run(&target, &me, shape, &password)
}

/// [`JoinArgs`] checked (for `join` and `handoff`): where to reach the server, this server's
/// line, the start flags' shape, the super password.
pub(crate) fn checked(input: &JoinArgs) -> anyhow::Result<(Target, Member, Shape, Password)> {
    let (target, password) = authorised(&input.authorised)?;
    let me = parse_line(&input.line.text).map_err(|e| {
        input.line.reject(
            &format!("is not a server line ({e:#})"),
            "server.N=HOST:QUORUM:ELECTION:participant;CLIENT",
        )
    })?;
    let size = input.size.number(1, MAX_SERVER_ID)?;
    let observers = input.observers.number(0, size - 1)?;
    Ok((target, me, Shape { size, observers, version: 0 }, password))
}

/// Give server `me` its role; `start_shape` (`--size`, `--observers`: the start flags') is
/// recorded when the ensemble has no trusted shape.
pub(crate) fn run(
    target: &Target,
    me: &Member,
    start_shape: Shape,
    password: &Password,
) -> anyhow::Result<()> {
    let Some(my_ordinal) = crate::parse::ordinal(&me.host) else {
        bail!("--line: host {} carries no StatefulSet ordinal; expected NAME-ORDINAL.DOMAIN", me.host);
    };
    let started = Instant::now();
    let mut last = String::from("the local server does not serve yet");
    let mut noted: Option<Instant> = None;
    while let Some(left) = target.timeout.checked_sub(started.elapsed()).filter(|d| !d.is_zero()) {
        // No look outlasts --timeout.
        match step(target, left.min(ASK_LIMIT), me, my_ordinal, start_shape, password) {
            Ok(Some((role, version))) => {
                tracing::info!(
                    "server {} serves as {} (membership version {version:x}), {:?} after zk-entry join started",
                    me.id,
                    role.as_str(),
                    started.elapsed()
                );
                return shape::note_joining(Path::new(shape::JOINING_NOTE), false);
            }
            Ok(None) => {}
            Err(e) if is_transient(&e) || e.downcast_ref::<NotServing>().is_some() => {
                last = format!("{e:#}");
                if noted.is_none_or(|t: Instant| t.elapsed() >= NOTE) {
                    tracing::info!("server {} not settled yet: {last}", me.id);
                    noted = Some(Instant::now());
                }
            }
            Err(e) => return Err(e),
        }
        // Never past the deadline: the pause is cut to what is left of it.
        std::thread::sleep(RETRY.min(target.timeout.saturating_sub(started.elapsed())));
    }
    bail!("server {} did not reach its role within {:?}: {last}", me.id, target.timeout)
}

#[derive(Debug)]
struct NotServing(String);

impl std::fmt::Display for NotServing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotServing {}

/// One look and at most one change: `Some((role, version))` once this server has its role.
fn step(
    target: &Target,
    limit: Duration,
    me: &Member,
    my_ordinal: u64,
    start_shape: Shape,
    password: &Password,
) -> anyhow::Result<Option<(Role, u64)>> {
    let mut session = Session::connect(&target.servers, limit).map_err(|e| NotServing(format!("{e:#}")))?;
    let data = session.get_data(CONFIG_ZNODE).with_context(|| format!("cannot read {CONFIG_ZNODE}"))?;
    let config = Config::parse(&String::from_utf8_lossy(&data.bytes))?;
    let Some(listed) = config.member(me.id).map(|m| m.role) else {
        bail!(
            "server {} is not in the membership (version {:x}): it was removed meanwhile; not promoting it",
            me.id,
            config.version
        );
    };
    let shape = match record::read(&mut session, password)? {
        Recorded::Trusted(shape) => shape,
        other => {
            if let Recorded::Untrusted(why) = other {
                tracing::warn!("not trusting the recorded shape ({why}); recording the start flags' instead");
            }
            password.log_in(&mut session)?;
            let shape = record::create(start_shape, &mut session, password)?;
            tracing::info!(
                "the ensemble's recorded shape: {} members, {} of them observers",
                shape.size,
                shape.observers
            );
            shape
        }
    };
    if listed == Role::Participant || shape.role(my_ordinal) == Role::Observer {
        session.close();
        return Ok(Some((listed, config.version)));
    }
    if session.credentials.is_none() {
        password.log_in(&mut session)?;
    }
    let result = session.reconfig(Some(&me.line()), None, None, config.version as i64);
    session.close();
    result.context("reconfig")?;
    tracing::info!("promoted server {} to participant (from version {:x})", me.id, config.version);
    Ok(None)
}

/// `server.N=...` as given to `join --line`.
pub(crate) fn parse_line(text: &str) -> anyhow::Result<Member> {
    let config = Config::parse(text)?;
    match config.members.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!("expected one server line"),
    }
}
