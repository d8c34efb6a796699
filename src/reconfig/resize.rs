//! `zk-entry resize N [--observers=K]`: give the ensemble the shape of ordinals 0..N-1, the
//! highest K of them observers, before `kubectl scale statefulset zk --replicas=N`: one
//! reconfiguration at a time, each conditioned on the version it read and committed only while
//! the rest keep a quorum (ZooKeeper checks that the new membership has a quorum connected and
//! up to date). Promotions come first (more voters, more tolerance), then the removals, highest
//! ordinal first, then the demotions.
//!
//! First it proves the super password ([`Password::log_in`]): a wrong one changes nothing, also
//! when no step is needed. Then it records the shape ([`crate::shape::record`]) so that a removed pod
//! restarting before it is deleted waits instead of joining again, and pods created later take
//! the role the shape gives them; the record's version is the membership's when no step is
//! needed, and the version the last step reached once they are done. It refuses, changing
//! nothing (the record is put back), when no server serves (no quorum), when a server is still
//! joining, or when another reconfiguration is running or the first step is refused. A step that loses its connection (removing or demoting the leader
//! does) is checked by reading the membership again, never blindly repeated.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::members::table;
use crate::parse;
use crate::reach::Target;
use crate::secrets::password::Password;
use crate::shape::Shape;
use crate::shape::record::{self, Recorded, SHAPE_ZNODE};
use crate::zk::config::{CONFIG_ZNODE, Config, Member, Role};
use crate::zk::session::{KeeperError, Session};

const RETRY: Duration = Duration::from_millis(500);
/// How long a step whose answer was lost is looked for before it counts as not committed.
const SETTLE: Duration = Duration::from_secs(5);

/// The StatefulSet ordinal in a member's host name (`zk-3.zk-hs...` is 3; [`parse::ordinal`]).
pub(crate) fn ordinal(member: &Member) -> Option<u64> {
    parse::ordinal(&member.host)
}

/// One reconfiguration of a resize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// `-add` the member's line with the role it is to have.
    Change(Member),
    Remove(Member),
}

impl Step {
    fn member(&self) -> &Member {
        match self {
            Step::Change(m) | Step::Remove(m) => m,
        }
    }

    fn describe(&self) -> String {
        let m = self.member();
        match self {
            Step::Change(_) if m.role == Role::Participant => {
                format!("promoting server {} ({})", m.id, m.host)
            }
            Step::Change(_) => format!("demoting server {} ({}) to observer", m.id, m.host),
            Step::Remove(_) => format!("removing server {} ({})", m.id, m.host),
        }
    }

    /// True when `config` shows this step done.
    fn done_in(&self, config: &Config) -> bool {
        match self {
            Step::Change(m) => config.member(m.id).is_some_and(|now| now.role == m.role),
            Step::Remove(m) => config.member(m.id).is_none(),
        }
    }
}

/// What a resize to `shape` does, in order; or why it must not start. `current` is the shape
/// recorded before it: an observer that it means to vote is a joiner not promoted yet.
pub(crate) fn plan(config: &Config, current: Option<Shape>, shape: Shape) -> Result<Vec<Step>, String> {
    let mut ordinals = Vec::new();
    for m in &config.members {
        match ordinal(m) {
            Some(o) => ordinals.push((o, m)),
            None => return Err(format!("server {}'s host {} carries no StatefulSet ordinal", m.id, m.host)),
        }
    }
    // Without a record (members started by an older zk-entry) every observer is a joiner.
    let meant = |o: u64| current.map_or(Role::Participant, |c| c.role(o));
    if let Some((_, joiner)) =
        ordinals.iter().find(|(o, m)| m.role == Role::Observer && meant(*o) == Role::Participant)
    {
        return Err(format!(
            "server {} ({}) is still joining as an observer; wait until it votes (zk-entry members), then resize",
            joiner.id, joiner.host
        ));
    }
    let (mut promote, mut remove, mut demote) = (Vec::new(), Vec::new(), Vec::new());
    for (o, m) in &ordinals {
        let to = shape.role(*o);
        if *o >= shape.size {
            remove.push((*o, Step::Remove((*m).clone())));
        } else if m.role != to {
            let step = Step::Change(Member { role: to, ..(*m).clone() });
            if to == Role::Participant { promote.push((*o, step)) } else { demote.push((*o, step)) }
        }
    }
    let voters =
        ordinals.iter().filter(|(o, _)| *o < shape.size && shape.role(*o) == Role::Participant).count();
    let min = crate::shape::MIN_VOTERS;
    if (voters as u64) < min {
        return Err(format!(
            "resize {} with {} observer(s) would leave {voters} voting member(s); a dynamic ensemble keeps at least {min}, or no server could join it again",
            shape.size, shape.observers
        ));
    }
    promote.sort_by_key(|(o, _)| *o);
    remove.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
    demote.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
    Ok(promote.into_iter().chain(remove).chain(demote).map(|(_, step)| step).collect())
}

pub(crate) fn run(
    target: &Target,
    size: u64,
    observers: Option<u64>,
    password: &Password,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + target.timeout;
    let mut session = connect(target, deadline)?;
    let config = read(&mut session)?;
    // Before anything else, also when no step is needed: a wrong password changes nothing.
    password.log_in(&mut session)?;
    let previous = record::read(&mut session, password)?;
    let observers = match (observers, &previous) {
        (Some(k), _) => k,
        (None, Recorded::Trusted(p)) if p.observers < size => p.observers,
        (None, Recorded::Trusted(p)) => bail!(
            "refusing to resize: the recorded shape has {} observer(s), which {size} member(s) cannot hold beside a voter; give --observers=K (0 to {}); nothing changed",
            p.observers,
            size - 1
        ),
        (None, Recorded::Untrusted(why)) if config.members.iter().any(|m| m.role == Role::Observer) => {
            bail!("refusing to resize: {why}; give --observers=K to record the shape anew; nothing changed")
        }
        (None, _) => 0,
    };
    let asked = Shape { size, observers, version: config.version };
    // Without a trusted record, the observers the asked shape keeps are no joiners; without any
    // (members of an older zk-entry), every observer is one.
    let current = match &previous {
        Recorded::Trusted(p) => Some(*p),
        Recorded::Untrusted(why) => {
            tracing::warn!("not trusting the recorded shape ({why}); recording it anew");
            Some(asked)
        }
        Recorded::Absent => None,
    };
    let steps = plan(&config, current, asked)
        .map_err(|why| anyhow::anyhow!("refusing to resize: {why}; nothing changed"))?;
    if steps.is_empty() {
        // No step: the membership stays at its version, and so does the record, so that a pod a
        // later scale-up adds (which first sees this version or a newer one) joins.
        // A record of a version the membership never reached (a resize that stopped before its
        // first step) would fence out later pods: replaced.
        if previous
            .trusted()
            .is_some_and(|p| (p.size, p.observers) == (size, observers) && p.version <= config.version)
        {
            tracing::info!(
                "nothing to change: the ensemble has the shape of {size} members, {observers} observers"
            );
        } else {
            record::write(asked, &mut session, password)?;
            forget_old(&mut session);
            tracing::info!("recorded the shape: {size} members, {observers} of them observers");
        }
        session.close();
        return crate::output::write_stdout(&table(&config));
    }
    // Any pod that first saw a version before the first step's was there before the resize.
    let shape = Shape { version: config.version + 1, ..asked };
    record::write(shape, &mut session, password)?;
    forget_old(&mut session);
    tracing::info!("recorded the shape: {size} members, {observers} of them observers");
    let mut version = config.version;
    for (n, step) in steps.iter().enumerate() {
        match apply(target, &mut session, step, version, deadline) {
            Ok((next, again)) => {
                version = next;
                session = again;
            }
            Err(e) if n == 0 => {
                // Nothing changed: put the record back as it was (an untrusted one, which no
                // reader acted on, goes).
                let restored =
                    connect_as_super(target, password, deadline).and_then(|mut s| match previous {
                        Recorded::Trusted(old) => record::write(old, &mut s, password),
                        _ => record::remove(&mut s),
                    });
                if let Err(undo) = restored {
                    tracing::warn!("could not restore {SHAPE_ZNODE}: {undo:#}");
                }
                bail!("refusing to resize: {e:#}; nothing changed");
            }
            Err(e) => bail!(
                "stopped after {} step(s): {} failed: {e:#}; run zk-entry resize {size} --observers={observers} again once the ensemble is healthy",
                n,
                step.describe()
            ),
        }
    }
    let final_config = read(&mut session)?;
    // The version the resize ended at: a pod that first saw an older one was there during it.
    let done = Shape { version: final_config.version, ..shape };
    if let Err(e) = record::write(done, &mut session, password) {
        tracing::warn!(
            "the membership has the shape; recording its final version failed ({e:#}): {SHAPE_ZNODE} keeps version {:x}",
            shape.version
        );
    }
    session.close();
    crate::output::write_stdout(&table(&final_config))
}

/// Delete the unprotected record of earlier releases; failing to only leaves it unread.
fn forget_old(session: &mut Session) {
    if let Err(e) = record::remove_old(session) {
        tracing::warn!("{e:#}");
    }
}

/// One step on `version`; the new version and a session that still works.
fn apply(
    target: &Target,
    session: &mut Session,
    step: &Step,
    version: u64,
    deadline: Instant,
) -> anyhow::Result<(u64, Session)> {
    let started = Instant::now();
    let member = step.member();
    let id = member.id.to_string();
    let result = match step {
        Step::Change(m) => session.reconfig(Some(&m.line()), None, None, version as i64),
        Step::Remove(_) => session.reconfig(None, Some(&id), None, version as i64),
    };
    match result {
        Ok(data) => {
            let config = Config::parse(&String::from_utf8_lossy(&data.bytes))?;
            tracing::info!("{} took {:?}", step.describe(), started.elapsed());
            // A fresh session for the next step: the server this one used may have left.
            Ok((config.version, connect_as_super_again(target, session, deadline)?))
        }
        Err(e) if KeeperError::of(&e) == Some(KeeperError::CONNECTION_LOSS) => {
            // A step that takes the leader's vote may report a lost connection although it
            // committed: look, for a few seconds, as the server read from may apply the commit
            // a moment later.
            let settle = (Instant::now() + SETTLE).min(deadline);
            loop {
                if Instant::now() > deadline {
                    bail!("lost the connection {} and could not check the outcome in time", step.describe());
                }
                std::thread::sleep(RETRY);
                let Ok(mut again) = connect_as_super_again(target, session, deadline) else { continue };
                let Ok(config) = read(&mut again) else { continue };
                if step.done_in(&config) {
                    tracing::info!(
                        "{} took {:?} (the connection was lost; the membership shows it done)",
                        step.describe(),
                        started.elapsed()
                    );
                    return Ok((config.version, again));
                }
                if config.version != version {
                    bail!(
                        "the membership changed meanwhile (version {:x}) without {}",
                        config.version,
                        step.describe()
                    );
                }
                if Instant::now() > settle {
                    bail!("{} did not commit: {e:#}", step.describe());
                }
            }
        }
        Err(e) => Err(e).context(format!("reconfig {}", step.describe())),
    }
}

fn connect(target: &Target, deadline: Instant) -> anyhow::Result<Session> {
    // The resize's own deadline, not a moment more: past it, every try fails at once.
    Session::connect_until(&target.servers, crate::net::Deadline::new(deadline))
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
            Err(_) => std::thread::sleep(RETRY.min(deadline.saturating_duration_since(Instant::now()))),
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

    fn shape(size: u64, observers: u64) -> Shape {
        Shape { size, observers, version: 9 }
    }

    /// (id, what) of each step.
    fn steps(c: &Config, current: Option<Shape>, to: Shape) -> Vec<(u64, &'static str)> {
        plan(c, current, to)
            .unwrap()
            .iter()
            .map(|s| match s {
                Step::Remove(m) => (m.id, "remove"),
                Step::Change(m) if m.role == Role::Participant => (m.id, "promote"),
                Step::Change(m) => (m.id, "demote"),
            })
            .collect()
    }

    fn five(roles: [Role; 5]) -> Config {
        let hosts = ["zk-0.d", "zk-1.d", "zk-2.d", "zk-3.d", "zk-4.d"];
        config(&(0..5).map(|i| (i as u64 + 1, hosts[i], roles[i])).collect::<Vec<_>>())
    }

    use Role::{Observer as O, Participant as P};

    #[test]
    fn a_signed_or_zero_padded_ordinal_is_none() {
        // `zk-+2` and `zk-02` are no pod's names; once read as 2 they let a resize remove or
        // promote a member that is not the pod it takes it for.
        for host in ["zk-+2.d", "zk-02.d"] {
            let c = config(&[(1, "zk-0.d", P), (2, "zk-1.d", P), (3, host, P)]);
            let why = plan(&c, None, shape(2, 0)).unwrap_err();
            assert!(why.contains(&format!("host {host} carries no StatefulSet ordinal")), "{why}");
        }
    }

    #[test]
    fn removes_the_ordinals_at_or_above_n_highest_first() {
        let c = five([P; 5]);
        assert_eq!(steps(&c, None, shape(3, 0)), [(5, "remove"), (4, "remove")]);
        assert!(plan(&c, None, shape(5, 0)).unwrap().is_empty());
        assert!(plan(&c, None, shape(1, 0)).unwrap_err().contains("keeps at least 2"));
        assert_eq!(plan(&c, None, shape(2, 0)).unwrap().len(), 3);
    }

    #[test]
    fn observers_are_promoted_first_and_demoted_last_highest_first() {
        // Three voters and two observers, to four voters and one observer out of five.
        let c = five([P, P, P, O, O]);
        assert_eq!(steps(&c, Some(shape(5, 2)), shape(5, 1)), [(4, "promote")]);
        // To five voters: both observers promoted, lowest first.
        assert_eq!(steps(&c, Some(shape(5, 2)), shape(5, 0)), [(4, "promote"), (5, "promote")]);
        // All voting, to 3 members with one observer: remove 5 and 4, then demote 3.
        let c = five([P; 5]);
        assert_eq!(steps(&c, None, shape(3, 1)), [(5, "remove"), (4, "remove"), (3, "demote")]);
        assert_eq!(steps(&c, None, shape(5, 2)), [(5, "demote"), (4, "demote")]);
        // Growing the shape beyond the pods changes only what exists.
        let c = five([P, P, P, O, O]);
        assert_eq!(steps(&c, Some(shape(5, 2)), shape(7, 2)), [(4, "promote"), (5, "promote")]);
        assert!(plan(&c, Some(shape(5, 2)), shape(5, 4)).unwrap_err().contains("1 voting member"));
    }

    #[test]
    fn a_joiner_or_a_foreign_host_stops_it() {
        let c = config(&[(1, "zk-0.d", P), (2, "zk-1.d", P), (3, "zk-2.d", O)]);
        assert!(plan(&c, None, shape(2, 0)).unwrap_err().contains("server 3 (zk-2.d) is still joining"));
        assert!(plan(&c, Some(shape(3, 0)), shape(2, 0)).unwrap_err().contains("still joining"));
        // An observer the recorded shape means to observe is no joiner.
        assert_eq!(steps(&c, Some(shape(3, 1)), shape(2, 0)), [(3, "remove")]);
        let c = config(&[(1, "zk-0.d", P), (2, "other.d", P)]);
        assert!(plan(&c, None, shape(1, 0)).unwrap_err().contains("no StatefulSet ordinal"));
    }

    #[test]
    fn a_step_is_done_when_the_membership_shows_it() {
        let c = five([P, P, P, O, O]);
        let m = |id: u64, role| Member { role, ..c.member(id).unwrap().clone() };
        assert!(Step::Change(m(4, O)).done_in(&c) && !Step::Change(m(4, P)).done_in(&c));
        assert!(!Step::Remove(m(5, O)).done_in(&c));
        assert!(Step::Remove(m(5, O)).done_in(&config(&[(1, "zk-0.d", P)])));
    }
}
