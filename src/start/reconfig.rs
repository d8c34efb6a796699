//! `start --reconfig`: the parts of a start that dynamic membership adds (docs/design.md,
//! "Decided reconfiguration"). Before the JVM, once every check of the start has passed (deciding
//! may add this server to the ensemble): decide the membership
//! ([`super::formation`]), write it as the dynamic file beside zoo.cfg (on the data
//! volume, where ZooKeeper rewrites both) and drop older versions; the super user's digest
//! reaches the JVM as every start's does ([`super::sasl`]: an argument file only its user can
//! read). Beside an observer's JVM: a short-lived `zk-entry join` that, once the server serves,
//! records the ensemble's shape if none is recorded and promotes a joiner meant to vote, so the
//! supervising PID 1 never holds a ZooKeeper session.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use super::args::{HANDOFF_BOUND, Helper, JoinArgs};
use super::formation::{self, Formation, Me, Pods, Volume};
use super::identity::Identity;
use super::plan::{Contents, Contribution, Entry, File, Group};
use super::settings::Settings;
use crate::pid1::handoff::HandOff;
use crate::pid1::signals::Signals;
use crate::secrets::password::Password;
use crate::shape::{self, Shape};
use crate::zk::config::{Config, Member, Role};

/// What `--reconfig` needs before the ensemble is asked, read and checked: the super user's
/// secret and this server's line. Holding one changes nothing anywhere.
pub(crate) struct Pending {
    password: Password,
    me: Me,
    conf_dir: PathBuf,
    data_dirs: [PathBuf; 2],
}

impl Pending {
    /// Read the secret and work out this server's line; no connection is opened.
    pub(crate) fn prepare(s: &Settings, id: &Identity) -> anyhow::Result<Pending> {
        let password_file = s.reconfig.super_password_file.as_deref().context("no password file")?;
        Ok(Pending {
            password: Password::read(password_file)?,
            me: me(s, id)?,
            conf_dir: s.paths.conf_dir.clone(),
            data_dirs: [s.paths.data_dir.clone(), s.paths.data_log_dir.clone()],
        })
    }

    /// What `--reconfig` adds before the membership is decided: the conf dir is ZooKeeper's to
    /// write, as it rewrites zoo.cfg and writes each new membership beside it.
    pub(crate) fn contribution(&self) -> Contribution {
        Contribution { owned_dirs: vec![self.conf_dir.clone()], ..Contribution::default() }
    }

    /// Decide the membership, waiting for the ensemble if need be. With `may_change` this may
    /// add the server to the ensemble as an observer: the start's one change outside the pod,
    /// so the caller makes it only once every check that can refuse the start has passed.
    /// Without, it reports what it would do (`--dry-run`).
    pub(crate) fn decide(self, may_change: bool, signals: &Signals) -> anyhow::Result<Decided> {
        let [data, data_log] = &self.data_dirs;
        let volume = Volume::inspect(&self.conf_dir, &[data, data_log]);
        let formation = formation::decide(&self.me, &volume, &self.password, may_change, signals)?;
        tracing::info!("{}", formation.describe(self.me.id));
        Ok(Decided { formation, me: self.me, conf_dir: self.conf_dir })
    }
}

/// The membership `--reconfig` decided for this start, and what the start does with it.
pub(crate) struct Decided {
    pub(crate) formation: Formation,
    me: Me,
    conf_dir: PathBuf,
}

impl Decided {
    pub(crate) fn dynamic_file(&self) -> PathBuf {
        self.conf_dir.join(self.formation.file_name())
    }

    /// What the decided membership adds: zoo.cfg's keys for it (the server lines live in the
    /// dynamic file) and the dynamic file.
    pub(crate) fn contribution(&self) -> Contribution {
        let path = self.dynamic_file();
        let zoo_cfg = vec![
            Entry::new("reconfigEnabled", "true"),
            // A one-member dynamic ensemble must stay a quorum peer, or it could never grow.
            Entry::new("standaloneEnabled", "false"),
            Entry::new("dynamicConfigFile", path.to_string_lossy()),
        ];
        let contents = Contents::Public(self.formation.config.dynamic_file());
        Contribution {
            zoo_cfg,
            files: vec![File { path, group: Group::Identity, contents }],
            ..Contribution::default()
        }
    }

    /// Remove every other dynamic file: ZooKeeper never deletes old versions, and a stale one
    /// must not be mistaken for the membership next time. Then note in the pod whether this
    /// server is a joiner still to be promoted, which `ready --quorum` reads.
    pub(crate) fn apply(&self) -> anyhow::Result<()> {
        let keep = self.dynamic_file();
        for (_, path) in formation::dynamic_files(&self.conf_dir) {
            if path != keep {
                std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        shape::note_joining(Path::new(shape::JOINING_NOTE), self.formation.joining(self.me.id))
    }

    /// Start `zk-entry join` in a child process when this server starts as an observer: once it
    /// serves, `join` records the shape if the ensemble has none (so `resize` can tell an
    /// observer meant to observe from a joiner) and promotes a joiner meant to vote. A voter
    /// starts none: it has nothing to settle. PID 1 reaps it like any other child and does not
    /// wait for it.
    pub(crate) fn spawn_joiner(
        &self,
        client_port: u16,
        password_file: &Path,
        signals: &Signals,
    ) -> anyhow::Result<()> {
        if !self.formation.observes(self.me.id) {
            return Ok(());
        }
        let exe = std::env::current_exe().context("cannot find zk-entry's own program")?;
        let mut cmd = Command::new(exe);
        let shape = &self.me.shape;
        let line = self.me.participant.line();
        cmd.args(JoinArgs::argv(
            Helper::Join,
            client_port,
            &line,
            shape.size,
            shape.observers,
            password_file,
        ))
        .stdin(Stdio::null());
        // Not PID 1's blocked mask: a signal must be able to end it.
        let child = signals
            .spawn(&mut cmd, crate::pid1::user::setup_helper(signals))
            .context("cannot start zk-entry join")?;
        let why = if self.formation.joining(self.me.id) { "promote" } else { "settle the role of" };
        tracing::info!(
            "started zk-entry join (pid {}) to {why} server {} once it serves",
            child.id(),
            self.me.id
        );
        // PID 1 reaps it with every other child; nothing waits for it here.
        drop(child);
        Ok(())
    }
}

impl Decided {
    /// What PID 1 runs on the first SIGTERM before forwarding it: `zk-entry handoff`, which
    /// moves the leader's role to another member if this server leads ([`super::handoff`]).
    pub(crate) fn hand_off(&self, client_port: u16, password_file: &Path) -> anyhow::Result<HandOff> {
        let program = std::env::current_exe().context("cannot find zk-entry's own program")?;
        let shape = &self.me.shape;
        let line = self.me.participant.line();
        let args =
            JoinArgs::argv(Helper::Handoff, client_port, &line, shape.size, shape.observers, password_file);
        Ok(HandOff { program, args, bound: HANDOFF_BOUND })
    }
}

/// This server's line, its peers and, for an ordinal of the first formation, the template.
fn me(s: &Settings, id: &Identity) -> anyhow::Result<Me> {
    let (Some(ordinal), Some(domain)) = (id.ordinal, id.domain.as_deref()) else {
        anyhow::bail!("--reconfig needs a StatefulSet pod's host name and domain");
    };
    let pods = Pods { name: id.name.clone(), domain: domain.to_string(), client_port: s.ports.client };
    let line = |o: u64| Member {
        id: o + s.ensemble.min_server_id,
        host: pods.host(o),
        quorum_port: s.ports.server,
        election_port: s.ports.election,
        role: Role::Participant,
        client: Some(s.ports.client.to_string()),
    };
    let shape = Shape { size: s.ensemble.servers, observers: s.ensemble.observers, version: 0 };
    let template_line = |o: u64| Member { role: shape.role(o), ..line(o) };
    let servers = s.ensemble.servers;
    let peers = (0..servers.max(ordinal)).filter(|o| *o != ordinal).map(|o| pods.address(o)).collect();
    let template = (ordinal < servers)
        .then(|| Config { members: (0..servers).map(template_line).collect(), version: 0 });
    Ok(Me {
        id: id.myid,
        ordinal,
        pod_marker: Some(PathBuf::from(shape::POD_MARKER)),
        participant: line(ordinal),
        shape,
        pods,
        peers,
        template,
    })
}
