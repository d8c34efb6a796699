//! Which membership a member of a dynamic ensemble starts with (docs/design.md, "Dynamic
//! reconfiguration"), decided at every start, before the JVM runs:
//!
//! 1. the live ensemble's committed membership (`/zookeeper/config` through any peer that serves),
//!    with this server in it: as committed if it is there, else added first as a non-voting
//!    observer (a joiner meant to vote is promoted once it serves, by the `zk-entry join` that
//!    [`super::reconfig`] starts beside the JVM);
//! 2. nothing serves: the newest membership this volume recorded, only if it lists this server
//!    (every member restarting at once). A member that the ensemble removed has a record without
//!    itself, and waits: it must never form a quorum of its own;
//! 3. nothing serves, the volume has neither data nor a record, and the ordinal belongs to the
//!    first formation (`--servers`): the template. This is the only use of `--servers`.
//!
//! A pod is taken for one that a resize removed only on the word of a record that carries the
//! super password's MAC ([`crate::shape::record`]); any other record counts as none.
//!
//! A peer that serves without a dynamic membership (ZooKeeper 3.4 has no `/zookeeper/config`),
//! or an ensemble that refuses to add this server (reconfiguration disabled, or a 3.4 leader that
//! does not know the operation), ends the start at once: a static ensemble never gains one to join, so the way is a roll to
//! static zk-entry first (docs/migration.md).
//!
//! Anything else waits, retrying, and says what for; after [`WAIT_LIMIT`] the start fails, so
//! the kubelet restarts it with its back-off.
//!
//! The peers asked are pods of this StatefulSet only ([`Pods`]): those the flags name, and the
//! ordinals of the volume's record. The record is a file ZooKeeper's user can write, and this
//! runs as root and may log in as the super user: a host of its own choosing is never asked.
//! Every ask ends by its deadline and as soon as a signal that ends the start is pending (this
//! runs in PID 1 before the JVM, with signals blocked).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::fs::files::read_small_file;
use crate::net::Deadline;
use crate::pid1::signals::Signals;
use crate::secrets::password::Password;
use crate::shape::record::{self, Recorded};
use crate::shape::{self, Shape};
use crate::zk::config::{CONFIG_ZNODE, Config, MAX_SERVER_ID, Member, Role};
use crate::zk::session::{KeeperError, Session};

/// How long a start waits for an ensemble to join before it gives up.
const WAIT_LIMIT: Duration = Duration::from_secs(600);
/// Between attempts; the log says what it waits for once per [`WAIT_NOTE`].
const RETRY: Duration = Duration::from_secs(2);
const WAIT_NOTE: Duration = Duration::from_secs(30);
/// One attempt to read the membership from one server.
const ASK_LIMIT: Duration = Duration::from_secs(3);
/// The dynamic file zk-entry writes; ZooKeeper adds `.<version>` to the ones it writes.
pub(crate) const DYNAMIC_FILE: &str = "zoo.cfg.dynamic";
/// A recorded membership larger than this is not one.
const CONFIG_CAP: u64 = 1 << 20;

/// The pods of this server's StatefulSet, where they serve clients: the only peers a start asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pods {
    /// The StatefulSet's name (pod `NAME-N`) and its headless service's domain.
    pub(crate) name: String,
    pub(crate) domain: String,
    /// The flags' client port, the same in every pod of the set.
    pub(crate) client_port: u16,
}

impl Pods {
    pub(crate) fn host(&self, ordinal: u64) -> String {
        format!("{}-{ordinal}.{}", self.name, self.domain)
    }

    /// What their host names look like, for messages.
    fn pattern(&self) -> String {
        format!("{}-N.{}", self.name, self.domain)
    }

    /// `host:port` where pod `ordinal` serves clients.
    pub(crate) fn address(&self, ordinal: u64) -> String {
        format!("{}:{}", self.host(ordinal), self.client_port)
    }

    /// The ordinal of `host` when it is exactly the name of one of these pods.
    pub(crate) fn ordinal_of(&self, host: &str) -> Option<u64> {
        let ordinal = crate::parse::ordinal(host)?;
        (ordinal < MAX_SERVER_ID && host == self.host(ordinal)).then_some(ordinal)
    }
}

/// This server as the ensemble should know it.
#[derive(Debug, Clone)]
pub(crate) struct Me {
    pub(crate) id: u64,
    pub(crate) ordinal: u64,
    /// This pod's note of the membership version it first saw ([`crate::shape`]).
    pub(crate) pod_marker: Option<PathBuf>,
    /// Its line when it votes.
    pub(crate) participant: Member,
    /// The shape of its start flags (`--servers`, `--observers`), for when the ensemble has
    /// none recorded yet.
    pub(crate) shape: Shape,
    /// Its StatefulSet's pods.
    pub(crate) pods: Pods,
    /// The peers the flags name (the first formation's members and the ordinals below this one).
    pub(crate) peers: Vec<String>,
    /// The first formation (template), when this server belongs to it.
    pub(crate) template: Option<Config>,
}

/// Where the decided membership came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Live(String),
    Record(PathBuf),
    Template,
}

#[derive(Debug, Clone)]
pub(crate) struct Formation {
    pub(crate) config: Config,
    pub(crate) source: Source,
    /// The role this server is meant to have, by the recorded shape (or its flags').
    pub(crate) intended: Role,
}

impl Formation {
    /// The dynamic file's name: versioned when the version is known (ZooKeeper honours an
    /// observer's role only then).
    pub(crate) fn file_name(&self) -> String {
        match self.config.version {
            0 => DYNAMIC_FILE.to_string(),
            v => format!("{DYNAMIC_FILE}.{v:x}"),
        }
    }

    /// True when this server starts as an observer (a joiner, or an observer by the shape).
    pub(crate) fn observes(&self, id: u64) -> bool {
        self.config.member(id).is_some_and(|m| m.role == Role::Observer)
    }

    /// True when this server still has to be promoted to a voter.
    pub(crate) fn joining(&self, id: u64) -> bool {
        self.intended == Role::Participant && self.observes(id)
    }

    pub(crate) fn describe(&self, id: u64) -> String {
        let role = self.config.member(id).map(|m| m.role.as_str()).unwrap_or("absent");
        let from = match &self.source {
            Source::Live(server) => format!("the live ensemble (through {server})"),
            Source::Record(path) => format!("this volume's record {}", path.display()),
            Source::Template => "the first formation (--servers)".to_string(),
        };
        format!(
            "membership version {:x} from {from}: {} members, this server: {role} (meant to be {})",
            self.config.version,
            self.config.members.len(),
            self.intended.as_str()
        )
    }
}

/// What the volume says about this server's past.
pub(crate) struct Volume {
    /// The newest membership recorded in the configuration directory, and its file.
    pub(crate) record: Option<(PathBuf, Config)>,
    /// A snapshot or transaction log exists: the server has been part of an ensemble.
    pub(crate) has_data: bool,
}

impl Volume {
    pub(crate) fn inspect(conf_dir: &Path, data_dirs: &[&Path]) -> Volume {
        let has_data = data_dirs.iter().any(|d| {
            std::fs::read_dir(d.join("version-2")).is_ok_and(|mut entries| entries.next().is_some())
        });
        Volume { record: newest_record(conf_dir), has_data }
    }
}

/// The newest `zoo.cfg.dynamic.<hex>` (or unversioned `zoo.cfg.dynamic`) that parses.
fn newest_record(conf_dir: &Path) -> Option<(PathBuf, Config)> {
    let mut found: Vec<(u64, PathBuf)> = dynamic_files(conf_dir);
    found.sort();
    found.into_iter().rev().find_map(|(version, path)| {
        let text = read_small_file(&path, CONFIG_CAP).ok()?;
        let mut config = Config::parse(&text).ok()?;
        config.version = version;
        Some((path, config))
    })
}

/// Every dynamic file in `dir`, with its version (0 for the unversioned one).
pub(crate) fn dynamic_files(dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = match name.strip_prefix(DYNAMIC_FILE)? {
                "" => 0,
                suffix => u64::from_str_radix(suffix.strip_prefix('.')?, 16).ok()?,
            };
            Some((version, e.path()))
        })
        .collect()
}

/// Decide, waiting as long as needed (bounded). `may_change`: false for `--dry-run`, which
/// reports what it would do instead of adding this server.
pub(crate) fn decide(
    me: &Me,
    volume: &Volume,
    password: &Password,
    may_change: bool,
    signals: &Signals,
) -> anyhow::Result<Formation> {
    let started = Instant::now();
    let ask = Ask { signals, give_up: started + WAIT_LIMIT };
    let peers = peers(me, volume);
    let mut noted: Option<Instant> = None;
    loop {
        signals.checkpoint()?;
        let why = match attempt(me, volume, &peers, password, may_change, &ask)? {
            Ok(formation) => {
                // The pod's first start notes the version it began with, whatever the source: a
                // member of the first formation (version 0) is as removable as a joiner.
                if let Some(marker) = me.pod_marker.as_deref().filter(|_| may_change) {
                    shape::first_seen(marker, formation.config.version)?;
                }
                return Ok(formation);
            }
            Err(why) => why,
        };
        // An ask cut short by a signal is no answer: the signal ends the start.
        signals.checkpoint()?;
        if started.elapsed() > WAIT_LIMIT {
            bail!("gave up after {WAIT_LIMIT:?}: {why}");
        }
        if noted.is_none_or(|t| t.elapsed() >= WAIT_NOTE) {
            tracing::info!("waiting: {why}");
            noted = Some(Instant::now());
        }
        signals.sleep(RETRY)?;
    }
}

/// How every ask of a decision is bounded: by [`ASK_LIMIT`] (or its multiple), by the end of
/// the whole wait, and by a signal that ends the start.
struct Ask<'a> {
    signals: &'a Signals,
    give_up: Instant,
}

impl Ask<'_> {
    fn deadline(&self, limit: Duration) -> Deadline {
        let at = (Instant::now() + limit).min(self.give_up);
        Deadline::new(at).with_stop(Some(self.signals.stop_check()))
    }
}

/// The peers to ask, in order: the flags' ones, then the pods of this StatefulSet that the
/// volume's record lists, at the flags' client port. A recorded member elsewhere (the record
/// is ZooKeeper's user's to write) is said once and never asked.
fn peers(me: &Me, volume: &Volume) -> Vec<String> {
    let mut peers = me.peers.clone();
    if let Some((path, record)) = &volume.record {
        for m in &record.members {
            match me.pods.ordinal_of(&m.host) {
                Some(ordinal) if ordinal != me.ordinal => peers.push(me.pods.address(ordinal)),
                Some(_) => {}
                None => tracing::warn!(
                    "{}: server.{} is at {}, not a pod of this StatefulSet ({}): it is never asked",
                    path.display(),
                    m.id,
                    m.host,
                    me.pods.pattern()
                ),
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    peers.retain(|p| seen.insert(p.clone()));
    peers
}

/// One round: a formation, or why there is none yet.
fn attempt(
    me: &Me,
    volume: &Volume,
    peers: &[String],
    password: &Password,
    may_change: bool,
    ask: &Ask,
) -> anyhow::Result<Result<Formation, String>> {
    // Offline, the flags' shape stands in until `join` reads the recorded one: an observer it
    // takes for a joiner is held not Ready until `join` settles it, never Ready too early.
    let offline = |config, source| Formation { config, source, intended: me.shape.role(me.ordinal) };
    let live = match read_live(peers, ask, password) {
        Answer::Live(server, live, recorded) => Some((server, live, recorded)),
        Answer::Static { peer, why } => return Err(static_ensemble(&peer, &why)),
        Answer::Silent => None,
    };
    // No answer because a signal cut the asks short must not be taken for "nobody serves".
    ask.signals.checkpoint()?;
    if let Some((server, live, recorded)) = live {
        let intended = recorded.unwrap_or(me.shape).role(me.ordinal);
        let first_seen = match &me.pod_marker {
            Some(marker) if may_change => shape::first_seen(marker, live.version)?,
            _ => live.version,
        };
        if let Some(mine) = live.member(me.id) {
            if mine.host != me.participant.host {
                bail!(
                    "the ensemble's server.{} is {}, not this host {}: two StatefulSets share an id space (set --min_server_id apart)",
                    me.id,
                    mine.host,
                    me.participant.host
                );
            }
            return Ok(Ok(Formation { config: live, source: Source::Live(server), intended }));
        }
        if let Some(shape) = recorded.filter(|s| s.removes(me.ordinal, first_seen)) {
            return Ok(Err(format!(
                "zk-entry resize {} removed ordinals from {} up (membership version {:x}) after this pod started; it waits to be deleted by kubectl scale instead of joining again",
                shape.size, shape.size, shape.version
            )));
        }
        if !may_change {
            let observer = Member { role: Role::Observer, ..me.participant.clone() };
            return Ok(Ok(Formation { config: live.with(observer), source: Source::Live(server), intended }));
        }
        return match add_observer(me, &server, &live, password, ask) {
            Ok(config) => Ok(Ok(Formation { config, source: Source::Live(server), intended })),
            Err(e) if refuses_reconfig(&e) => {
                Err(static_ensemble(&server, &format!("it refuses to reconfigure: {}", e.root_cause())))
            }
            Err(e) => Ok(Err(format!("adding this server as an observer through {server}: {e:#}"))),
        };
    }
    // The negative control of `make chaos` (docs/chaos.md), compiled only into a variant built
    // apart (`--features chaos-broken-formation`), never into the shipped binary: when nobody
    // serves, the membership generated from the template, whatever the volume recorded, as
    // operators that rebuild the server list from the replica count do. It let a cut-off
    // minority form a quorum of its own (a split brain with a lost write); chaos must catch it.
    #[cfg(feature = "chaos-broken-formation")]
    if let Some(template) = &me.template {
        return Ok(Ok(offline(template.clone(), Source::Template)));
    }
    let asked = if peers.is_empty() { "no peer to ask".to_string() } else { peers.join(", ") };
    if let Some((path, record)) = &volume.record {
        if record.member(me.id).is_some() {
            return Ok(Ok(offline(record.clone(), Source::Record(path.clone()))));
        }
        return Ok(Err(format!(
            "no peer serves ({asked}) and this volume's newest membership ({}) does not list server {}: it was removed, so it waits for the ensemble instead of forming its own",
            path.display(),
            me.id
        )));
    }
    if volume.has_data {
        return Ok(Err(format!(
            "no peer serves ({asked}); this volume has data but no recorded membership, so it waits for the ensemble"
        )));
    }
    match &me.template {
        Some(template) => Ok(Ok(offline(template.clone(), Source::Template))),
        None => Ok(Err(format!(
            "no member of the ensemble serves yet ({asked}); a new server joins a running ensemble"
        ))),
    }
}

/// The committed membership from the first peer that serves, and the shape recorded, if a
/// holder of the super password recorded it: no pod is taken for removed on anyone else's word.
fn read_live(peers: &[String], ask: &Ask, password: &Password) -> Answer {
    for peer in peers {
        let deadline = ask.deadline(ASK_LIMIT);
        let Ok(mut session) = Session::connect_until(std::slice::from_ref(peer), deadline) else { continue };
        let data = session.get_data(CONFIG_ZNODE);
        if let Err(e) = &data
            && KeeperError::of(e) == Some(KeeperError::NO_NODE)
        {
            session.close();
            let why = format!("it has no {CONFIG_ZNODE}, as ZooKeeper 3.4 has none");
            return Answer::Static { peer: peer.clone(), why };
        }
        let recorded = record::read(&mut session, password);
        session.close();
        let (Ok(data), Ok(recorded)) = (data, recorded) else { continue };
        if let Recorded::Untrusted(why) = &recorded {
            tracing::warn!("{peer}: not trusting the recorded shape ({why}); going by the start flags");
        }
        let shape = recorded.trusted();
        match Config::parse(&String::from_utf8_lossy(&data.bytes)) {
            Ok(config) if !config.members.is_empty() => return Answer::Live(peer.clone(), config, shape),
            Ok(_) => {
                let why = format!("its {CONFIG_ZNODE} lists no member");
                return Answer::Static { peer: peer.clone(), why };
            }
            Err(e) => {
                tracing::warn!("{peer}: {CONFIG_ZNODE} is unusable: {e:#}");
                continue;
            }
        }
    }
    Answer::Silent
}

/// What the peers said about the membership.
enum Answer {
    /// The first peer that serves it: its committed membership and the recorded shape.
    Live(String, Config, Option<Shape>),
    /// A peer serves but keeps no dynamic membership: a static ensemble (ZooKeeper 3.4, whose
    /// tree has no `/zookeeper/config`, or one that lists nobody there).
    Static { peer: String, why: String },
    /// No peer serves.
    Silent,
}

/// A reconfiguration refused for good: the ensemble runs without dynamic membership
/// (`reconfigEnabled=false`), or its leader does not know the operation (ZooKeeper 3.4 leading a
/// mixed ensemble). Retrying would not change either.
fn refuses_reconfig(err: &anyhow::Error) -> bool {
    matches!(KeeperError::of(err), Some(KeeperError::RECONFIG_DISABLED | KeeperError::UNIMPLEMENTED))
}

/// Why `--reconfig` cannot start against a static ensemble, and the way there. Waiting would not
/// help: a static ensemble never gains a membership to join.
fn static_ensemble(peer: &str, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "refusing to start with --reconfig: {peer} serves a static ensemble ({why}), which a server cannot join by reconfiguration; roll the StatefulSet to zk-entry without --reconfig first (the same --servers), then roll it to --reconfig (docs/migration.md)"
    )
}

/// `reconfig -add` this server as an observer, on the version read; the new membership.
fn add_observer(
    me: &Me,
    server: &str,
    live: &Config,
    password: &Password,
    ask: &Ask,
) -> anyhow::Result<Config> {
    let observer = Member { role: Role::Observer, ..me.participant.clone() };
    let mut session = Session::connect_until(&[server.to_string()], ask.deadline(ASK_LIMIT * 4))?;
    session.add_digest_auth(&password.credentials())?;
    let result = session.reconfig(Some(&observer.line()), None, None, live.version as i64);
    session.close();
    let data = result.context("reconfig")?;
    let config = Config::parse(&String::from_utf8_lossy(&data.bytes)).context("the new membership")?;
    if config.member(me.id).is_none() {
        bail!("the new membership does not list server {}", me.id);
    }
    tracing::info!("added server {} to the ensemble as an observer (version {:x})", me.id, config.version);
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, role: Role) -> Member {
        Member {
            id,
            host: format!("zk-{}.d", id - 1),
            quorum_port: 2888,
            election_port: 3888,
            role,
            client: Some("2181".into()),
        }
    }

    fn config(ids: &[u64], version: u64) -> Config {
        Config { members: ids.iter().map(|&i| member(i, Role::Participant)).collect(), version }
    }

    fn pods() -> Pods {
        Pods { name: "zk".into(), domain: "d".into(), client_port: 2181 }
    }

    fn me(id: u64, template: bool) -> Me {
        Me {
            id,
            ordinal: id - 1,
            pod_marker: None,
            participant: member(id, Role::Participant),
            shape: Shape { size: 3, observers: 0, version: 0 },
            pods: pods(),
            peers: Vec::new(),
            template: template.then(|| config(&[1, 2, 3], 0)),
        }
    }

    fn decide_offline(me: &Me, volume: &Volume) -> Result<Formation, String> {
        let signals = Signals::unblocked_for_tests();
        let ask = Ask { signals: &signals, give_up: Instant::now() + Duration::from_secs(10) };
        attempt(me, volume, &[], &Password::read_test("pw"), true, &ask).unwrap()
    }

    /// Regression: a record planted in the conf dir named peers that the start asked as root,
    /// and logged in to as the super user: only this StatefulSet's pods are asked now, each at
    /// the flags' client port, whatever port the record gives.
    #[test]
    fn only_this_statefulsets_pods_are_asked() {
        let planted = "server.1=zk-0.d:2888:3888:participant;2181\n\
            server.2=zk-1.d:2888:3888:participant;0.0.0.0:2181\n\
            server.3=zk-5.d:2888:3888:participant;9999\n\
            server.4=198.18.0.99:2888:3888:participant;2181\n\
            server.5=zk-3.d.evil.example:2888:3888:participant;2181\n\
            server.6=zk-03.d:2888:3888:participant;2181\n\
            server.7=other-zk-4.d:2888:3888:participant;2181\n\
            server.8=zk-9:2888:3888:participant;2181\n\
            server.9=zk-1.d:2888:3888:participant\n";
        let record = Config::parse(planted).unwrap();
        let volume =
            Volume { record: Some((PathBuf::from("/v/zoo.cfg.dynamic.10"), record)), has_data: true };
        let me = Me { peers: vec!["zk-2.d:2181".into()], ..me(1, true) };
        assert_eq!(peers(&me, &volume), ["zk-2.d:2181", "zk-1.d:2181", "zk-5.d:2181"]);
        assert_eq!(pods().ordinal_of("zk-7.d"), Some(7));
        assert_eq!(pods().ordinal_of("zk-255.d"), None, "no server id is that high");
        assert_eq!(pods().ordinal_of("zk-.d"), None);
        assert_eq!(pods().ordinal_of("zk-1.d."), None);
    }

    #[test]
    fn an_empty_volume_of_the_first_formation_takes_the_template() {
        let volume = Volume { record: None, has_data: false };
        let f = decide_offline(&me(2, true), &volume).unwrap();
        assert_eq!(
            (f.file_name(), f.config.members.len(), f.source),
            (DYNAMIC_FILE.into(), 3, Source::Template)
        );
    }

    #[test]
    fn a_joiner_or_a_member_with_data_never_takes_the_template() {
        let why = decide_offline(&me(4, false), &Volume { record: None, has_data: false }).unwrap_err();
        assert!(why.contains("joins a running ensemble"), "{why}");
        let why = decide_offline(&me(2, true), &Volume { record: None, has_data: true }).unwrap_err();
        assert!(why.contains("has data but no recorded membership"), "{why}");
    }

    #[test]
    fn a_static_ensemble_is_refused_at_once_with_the_way_there() {
        let line = crate::exit::one_line(&static_ensemble("zk-0.d:2181", "it has no /zookeeper/config"));
        assert!(line.starts_with("refusing to start with --reconfig: zk-0.d:2181 serves a static ensemble (it has no /zookeeper/config)"), "{line}");
        assert!(line.contains("roll the StatefulSet to zk-entry without --reconfig first (the same --servers), then roll it to --reconfig"), "{line}");
    }

    #[test]
    fn only_a_refusal_for_good_ends_the_wait() {
        let refused = |code| refuses_reconfig(&anyhow::Error::new(KeeperError(code)).context("reconfig"));
        assert!(refused(-123) && refused(-6));
        assert!(!refused(-4) && !refused(-14) && !refused(-102), "lost, busy or not authorised: retried");
        assert!(!refuses_reconfig(&anyhow::anyhow!("timed out")));
    }

    #[test]
    fn a_record_is_used_only_when_it_lists_this_server() {
        let path = PathBuf::from("/v/zoo.cfg.dynamic.100000003");
        let volume =
            Volume { record: Some((path.clone(), config(&[1, 2, 3], 0x1_0000_0003))), has_data: true };
        let f = decide_offline(&me(2, true), &volume).unwrap();
        assert_eq!(f.source, Source::Record(path.clone()));
        assert_eq!(f.file_name(), "zoo.cfg.dynamic.100000003");
        // Removed by a resize: the record lacks it; it waits rather than form a quorum.
        let volume = Volume { record: Some((path, config(&[1], 0x1_0000_0009))), has_data: true };
        let why = decide_offline(&me(2, true), &volume).unwrap_err();
        assert!(why.contains("does not list server 2") && why.contains("waits"), "{why}");
    }

    #[test]
    fn offline_the_flags_shape_says_whether_a_listed_observer_still_joins() {
        let mut listed = config(&[1, 2, 3], 0x10);
        listed.members.push(Member { role: Role::Observer, ..member(4, Role::Participant) });
        let volume = Volume { record: Some((PathBuf::from("/v/r"), listed)), has_data: true };
        let joiner = me(4, false);
        let f = decide_offline(&joiner, &volume).unwrap();
        assert!(f.observes(4) && f.joining(4), "flags without observers: server 4 is to vote");
        let observer = Me { shape: Shape { size: 4, observers: 1, version: 0 }, ..me(4, false) };
        let f = decide_offline(&observer, &volume).unwrap();
        assert!(f.observes(4) && !f.joining(4), "flags with one observer: server 4 observes");
    }

    #[test]
    fn newest_parsable_record_wins_and_names_are_strict() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("zoo.cfg.dynamic", "server.1=a:1:2\n");
        write("zoo.cfg.dynamic.10", "server.1=a:1:2\nserver.2=b:1:2\n");
        write("zoo.cfg.dynamic.ff", "garbage");
        write("zoo.cfg.dynamic.zz", "server.9=z:1:2\n");
        write("zoo.cfg.dynamic.10.bak", "server.9=z:1:2\n");
        let (path, record) = newest_record(dir.path()).unwrap();
        assert_eq!(path, dir.path().join("zoo.cfg.dynamic.10"));
        assert_eq!((record.version, record.members.len()), (0x10, 2));
        assert_eq!(dynamic_files(dir.path()).len(), 3);
    }
}
