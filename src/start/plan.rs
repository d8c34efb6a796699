//! The plan of a start: what each of its parts adds, combined and checked, then printed
//! (`--dry-run`) or carried out.
//!
//! A part is the base every start has, or a feature a flag turns on (`--set_file`, `--tls_dir`,
//! the SASL flags, `--reconfig`, `--heap`, the operator's `--jvm_flags`). Each is a function of
//! the checked settings that returns a [`Contribution`]: zoo.cfg keys (with whether each value
//! is secret), files with their privacy, directories to create, directories ZooKeeper owns, JVM
//! arguments and argument files, notes for the log. It reads and checks what it needs (a secret
//! file, a certificate) and refuses there, but writes nothing. `start::run` adds the parts to
//! [`Parts`] in order, and [`Plan::new`] folds them:
//! - zoo.cfg holds every part's keys, in part order. It is private (0600 for ZooKeeper's user,
//!   shown with [`secrets::REDACTED`] in place of each secret) as soon as one key is secret, by
//!   its part's word or by its name ([`secrets::is_secret_key`]).
//! - The JVM reads every part's argument files (`@FILE`) first, then every part's arguments, in
//!   part order (the operator's last, so theirs win); java.env repeats the arguments for the
//!   pod's shell tools and is private when one carries a secret system property.
//! - Files are listed, written and logged by [`Group`] (configuration, credentials, identity),
//!   in part order within a group.
//! - Directories are created, and notes printed and logged, in part order.
//!
//! How a feature adds itself: write the function that returns its [`Contribution`] beside the
//! feature's code, and add its result to the parts in `start::run` at the place its keys and
//! JVM arguments belong. Nothing here changes. A part decided later (`--reconfig`'s membership,
//! decided once every check that can refuse has passed) keeps the place [`Parts::add`] gave it
//! and brings its keys and files through [`Plan::complete`], which can add no directory and no
//! JVM argument: those were checked by [`Plan::new`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};

use super::access;
use super::identity::Identity;
use super::jvm::JvmCommand;
use super::program::Program;
use super::render;
use super::settings::Settings;
use crate::fs::files::{self, FileChange, Private, State};
use crate::fs::ownership;
use crate::fs::paths::{self, Guard};
use crate::pid1::signals::Signals;
use crate::pid1::user::{self, RunAs};
use crate::secrets;

/// What one part of a start adds to it. Every field is optional (`..Default::default()`).
#[derive(Debug, Default)]
pub(crate) struct Contribution {
    pub(crate) zoo_cfg: Vec<Entry>,
    pub(crate) files: Vec<File>,
    /// Directories to create (with their parents), in order.
    pub(crate) dirs: Vec<Dir>,
    /// The directories ZooKeeper writes: as root, given to its user with everything in them;
    /// otherwise checked to be writable.
    pub(crate) owned_dirs: Vec<PathBuf>,
    /// JVM arguments before `-cp`.
    pub(crate) jvm_args: Vec<String>,
    /// Java argument files (`@FILE`): arguments that must not show on a command line.
    pub(crate) arg_files: Vec<PathBuf>,
    /// Lines for the start log and `--dry-run` (what a check found).
    pub(crate) notes: Vec<String>,
}

/// A zoo.cfg key and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) value: String,
    /// Never shown; makes zoo.cfg private. A key named like a secret is one anyway.
    pub(crate) secret: bool,
}

impl Entry {
    pub(crate) fn new(key: impl Into<String>, value: impl Into<String>) -> Entry {
        Entry { key: key.into(), value: value.into(), secret: false }
    }

    pub(crate) fn secret(key: impl Into<String>, value: impl Into<String>) -> Entry {
        Entry { secret: true, ..Entry::new(key, value) }
    }
}

/// A file a part writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct File {
    pub(crate) path: PathBuf,
    pub(crate) group: Group,
    pub(crate) contents: Contents,
}

/// Where a file is listed: groups in this order, parts in theirs within a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    /// What ZooKeeper and the JVM read their settings from: zoo.cfg, logging, java.env.
    Config,
    /// What servers and clients authenticate with: keys, certificates, passwords.
    Credentials,
    /// Who this server is and which ensemble it belongs to: myid, the dynamic file.
    Identity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Contents {
    /// World-readable (zkCli.sh and probes in the pod may run as another user).
    Public(String),
    /// A secret: 0600, ZooKeeper's user's, and shown as `shown` wherever zk-entry prints it.
    Private { text: String, shown: String },
    /// zoo.cfg: every part's keys.
    ZooCfg,
    /// java.env: `log_dir` and every part's JVM arguments, for zkEnv.sh.
    JavaEnv { log_dir: PathBuf },
}

/// A directory to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dir {
    pub(crate) path: PathBuf,
    /// Closed to everyone but ZooKeeper's user (0700, its own) before any file is written.
    pub(crate) private: bool,
}

impl Dir {
    pub(crate) fn new(path: PathBuf) -> Dir {
        Dir { path, private: false }
    }

    pub(crate) fn private(path: PathBuf) -> Dir {
        Dir { path, private: true }
    }
}

/// The parts of a start, in the order they combine.
#[derive(Debug, Default)]
pub(crate) struct Parts(Vec<Contribution>);

/// A part's place among the [`Parts`], for [`Plan::complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part(usize);

impl Parts {
    pub(crate) fn add(&mut self, contribution: Contribution) -> Part {
        self.0.push(contribution);
        Part(self.0.len() - 1)
    }
}

/// The parts folded into what is written: no settings, no user, only the parts, the owner of
/// the private files and the guard they are read with.
struct Combined {
    parts: Vec<Contribution>,
    owner: Option<(Uid, Gid)>,
    /// Every part's files, in listing order: (group, part, index in the part).
    files: Vec<((Group, usize, usize), FileChange)>,
    /// zoo.cfg's entries as they may be logged: secret values redacted.
    shown: Vec<(String, String)>,
}

impl Combined {
    fn new(parts: Parts, owner: Option<(Uid, Gid)>, guard: &Guard) -> anyhow::Result<Combined> {
        let mut combined = Combined { parts: parts.0, owner, files: Vec::new(), shown: Vec::new() };
        combined.shown = combined.shown();
        let mut places: Vec<(Group, usize, usize)> = combined
            .parts
            .iter()
            .enumerate()
            .flat_map(|(p, part)| part.files.iter().enumerate().map(move |(n, f)| (f.group, p, n)))
            .collect();
        places.sort();
        for place in places {
            let change = combined.change(combined.file(place), guard)?;
            combined.files.push((place, change));
        }
        Ok(combined)
    }

    /// Add `more` to the part at `part`: its keys join zoo.cfg at the part's place (zoo.cfg is
    /// compared with the disk again), its files are listed at theirs.
    fn complete(&mut self, part: Part, more: Contribution, guard: &Guard) -> anyhow::Result<()> {
        anyhow::ensure!(
            more.dirs.is_empty()
                && more.owned_dirs.is_empty()
                && more.jvm_args.is_empty()
                && more.arg_files.is_empty(),
            "a part completed after the checks adds a directory or a JVM argument, which nothing checked"
        );
        let Part(p) = part;
        let known = self.parts[p].files.len();
        let keys = !more.zoo_cfg.is_empty();
        let target = &mut self.parts[p];
        target.zoo_cfg.extend(more.zoo_cfg);
        target.files.extend(more.files);
        target.notes.extend(more.notes);
        if keys {
            self.shown = self.shown();
            let zoo_cfg: Vec<_> = self
                .files
                .iter()
                .map(|(place, _)| *place)
                .filter(|place| matches!(self.file(*place).contents, Contents::ZooCfg))
                .collect();
            for place in zoo_cfg {
                let change = self.change(self.file(place), guard)?;
                if let Some((_, old)) = self.files.iter_mut().find(|(at, _)| *at == place) {
                    *old = change;
                }
            }
        }
        for n in known..self.parts[p].files.len() {
            let place = (self.parts[p].files[n].group, p, n);
            let change = self.change(self.file(place), guard)?;
            self.files.push((place, change));
        }
        // Stable, and places are distinct: earlier files keep their order.
        self.files.sort_by_key(|(place, _)| *place);
        Ok(())
    }

    fn file(&self, (_, p, n): (Group, usize, usize)) -> &File {
        &self.parts[p].files[n]
    }

    /// zoo.cfg's entries as (key, value, secret).
    fn zoo_cfg(&self) -> Vec<(String, String, bool)> {
        let secret = |e: &Entry| e.secret || secrets::is_secret_key(&e.key);
        self.parts
            .iter()
            .flat_map(|part| &part.zoo_cfg)
            .map(|e| (e.key.clone(), e.value.clone(), secret(e)))
            .collect()
    }

    /// zoo.cfg's entries as they may be shown: secret values redacted.
    fn shown(&self) -> Vec<(String, String)> {
        let shown =
            |(k, v, secret): (String, String, bool)| (k, if secret { secrets::REDACTED.into() } else { v });
        self.zoo_cfg().into_iter().map(shown).collect()
    }

    fn jvm_args(&self) -> Vec<String> {
        self.parts.iter().flat_map(|part| part.jvm_args.iter().cloned()).collect()
    }

    fn arg_files(&self) -> Vec<PathBuf> {
        self.parts.iter().flat_map(|part| part.arg_files.iter().cloned()).collect()
    }

    fn dirs(&self) -> impl Iterator<Item = &Dir> {
        self.parts.iter().flat_map(|part| &part.dirs)
    }

    fn owned_dirs(&self) -> Vec<PathBuf> {
        self.parts.iter().flat_map(|part| part.owned_dirs.iter().cloned()).collect()
    }

    fn notes(&self) -> impl Iterator<Item = &String> {
        self.parts.iter().flat_map(|part| &part.notes)
    }

    fn changes(&self) -> impl Iterator<Item = &FileChange> {
        self.files.iter().map(|(_, change)| change)
    }

    /// `file` compared with what is on disk, its contents made from the parts when they are
    /// zoo.cfg's or java.env's.
    fn change(&self, file: &File, guard: &Guard) -> anyhow::Result<FileChange> {
        let path = file.path.clone();
        let private = |secret: bool, shown: &dyn Fn() -> String| {
            secret.then(|| Private { owner: self.owner, shown: shown() })
        };
        match &file.contents {
            Contents::Public(text) => FileChange::new(path, text.clone(), guard),
            Contents::Private { text, shown } => {
                FileChange::with_privacy(path, text.clone(), private(true, &|| shown.clone()), guard)
            }
            Contents::ZooCfg => {
                let entries = self.zoo_cfg();
                let secret = entries.iter().any(|(_, _, secret)| *secret);
                let written: Vec<(String, String)> = entries.into_iter().map(|(k, v, _)| (k, v)).collect();
                let private = private(secret, &|| render::zoo_cfg(&self.shown()));
                FileChange::with_privacy(path, render::zoo_cfg(&written), private, guard)
            }
            Contents::JavaEnv { log_dir } => {
                let args = self.jvm_args();
                let secret = args.iter().any(|a| secrets::is_secret_jvm_arg(a));
                let shown: Vec<String> = args.iter().map(|a| secrets::shown_jvm_arg(a)).collect();
                let private = private(secret, &|| render::java_env(log_dir, &shown));
                FileChange::with_privacy(path, render::java_env(log_dir, &args), private, guard)
            }
        }
    }
}

/// Everything a start will do, decided and checked, nothing done yet.
pub(crate) struct Plan {
    pub(super) settings: Settings,
    identity: Identity,
    pub(super) program: Program,
    pub(super) run_as: RunAs,
    /// Who could have planted links on the way to the files (see [`paths`]).
    guard: Guard,
    combined: Combined,
}

impl Plan {
    /// Fold the parts: compare every file with the disk, give the JVM its arguments, and check
    /// that ZooKeeper's user can reach what it needs.
    pub(super) fn new(
        settings: Settings,
        identity: Identity,
        program: Program,
        run_as: RunAs,
        guard: Guard,
        parts: Parts,
    ) -> anyhow::Result<Plan> {
        let owner = match &run_as {
            RunAs::Switch(account) => Some((account.uid, account.gid)),
            RunAs::Current { .. } => None,
        };
        let combined = Combined::new(parts, owner, &guard)?;
        let mut program = program;
        if let Program::Jvm(jvm) = &mut program {
            jvm.options = combined.jvm_args();
            jvm.arg_files = combined.arg_files();
        }
        let plan = Plan { settings, identity, program, run_as, guard, combined };
        let owned_dirs = plan.combined.owned_dirs();
        match &plan.run_as {
            RunAs::Current { uid } if !uid.is_root() => ownership::check_writable(&owned_dirs, *uid)?,
            RunAs::Current { .. } => {}
            RunAs::Switch(account) => plan.reachable(account, &owned_dirs)?,
        }
        Ok(plan)
    }

    /// Complete the part at `part` with what was decided after the checks: zoo.cfg keys and
    /// files (`--reconfig`'s membership). The files were already looked at (zoo.cfg) or are
    /// ZooKeeper's own, so nothing here refuses what a check could have found before.
    pub(super) fn complete(&mut self, part: Part, more: Contribution) -> anyhow::Result<()> {
        self.combined.complete(part, more, &self.guard)
    }

    /// As root: every directory the JVM needs, and every file it reads that the start keeps as
    /// it is, can be used by the user it runs as ([`access`]).
    fn reachable(&self, account: &user::Account, owned_dirs: &[PathBuf]) -> anyhow::Result<()> {
        let paths = &self.settings.paths;
        let judge = access::Judge::new(account, owned_dirs, &self.guard)?;
        let conf_write = owned_dirs.contains(&paths.conf_dir);
        let mut needs = vec![
            access::Need { flag: "--data_dir", dir: &paths.data_dir, write: true },
            access::Need { flag: "--data_log_dir", dir: &paths.data_log_dir, write: true },
            access::Need { flag: "--log_dir", dir: &paths.log_dir, write: true },
            access::Need { flag: "--conf_dir", dir: &paths.conf_dir, write: conf_write },
        ];
        if let Program::Jvm(JvmCommand { install: Some(install), .. }) = &self.program {
            needs.push(access::Need { flag: "--zk_home", dir: install, write: false });
        }
        judge.directories(&needs)?;
        // java.env is for the pod's shell tools (zkCli.sh); the JVM gets its flags from zk-entry.
        let java_env = paths.conf_dir.join("java.env");
        for file in self.combined.changes().filter(|f| f.state == State::Unchanged && f.path != java_env) {
            judge.kept_file(&file.path)?;
        }
        Ok(())
    }

    /// Create the directories (closing the private ones) and write the files.
    pub(super) fn write(&self, signals: &Signals) -> anyhow::Result<()> {
        let dirs: Vec<PathBuf> = self.combined.dirs().map(|d| d.path.clone()).collect();
        files::create_dirs(&dirs, &self.guard)?;
        for dir in self.combined.dirs().filter(|d| d.private) {
            close_dir(&dir.path, &self.guard, self.combined.owner)?;
        }
        signals.checkpoint()?;
        let changes: Vec<FileChange> = self.combined.changes().cloned().collect();
        files::write_files(&changes, &self.guard)
    }

    /// Give the directories ZooKeeper writes to its user, and log what zk-entry set up.
    pub(super) fn hand_over(&self, signals: &Signals) -> anyhow::Result<()> {
        signals.checkpoint()?;
        if let RunAs::Switch(account) = &self.run_as {
            let owned_dirs = self.combined.owned_dirs();
            let tally = ownership::give(&owned_dirs, account.uid, account.gid, signals, &self.guard)?;
            let paths = &self.settings.paths;
            ownership::close(
                &[paths.data_dir.clone(), paths.data_log_dir.clone(), paths.log_dir.clone()],
                &self.guard,
            )?;
            tracing::info!(
                "ownership: {} of {} entries changed to {}:{}",
                tally.changed,
                tally.seen,
                account.uid,
                account.gid
            );
        }
        tracing::info!("{}", self.describe_identity());
        for note in self.combined.notes() {
            tracing::info!("{note}");
        }
        for (key, _) in self.settings.server.extra.iter().filter(|(k, _)| secrets::is_secret_key(k)) {
            tracing::warn!(
                "--set {key}: a secret on the command line can be read by every process of the pod (/proc/PID/cmdline); use --set_file {key}=PATH"
            );
        }
        if let Program::Jvm(JvmCommand { install: Some(install), .. }) = &self.program {
            tracing::info!("ZooKeeper install: {}", install.display());
        }
        // One event (one write) per block: every line keeps the prefix that log readers filter on.
        let settings: Vec<String> =
            self.combined.shown.iter().map(|(k, v)| format!("zoo.cfg: {k}={v}")).collect();
        tracing::info!("{}", settings.join("\nzk-entry: "));
        let states: Vec<String> = self
            .combined
            .changes()
            .map(|f| format!("{} ({})", f.path.display(), f.state.describe()))
            .collect();
        tracing::info!("{}", states.join("\nzk-entry: "));
        Ok(())
    }

    /// ZooKeeper's own exit statuses that zk-entry can explain. It exits with 14 when its
    /// election listener cannot bind after `zookeeper.electionPortBindRetry` tries (3 by default,
    /// about 4 s): a fast restart by the kubelet is the right answer, so the status passes through.
    pub(super) fn exit_meanings(&self) -> Vec<(u8, String)> {
        if !matches!(self.program, Program::Jvm(_)) || !self.settings.ensemble.is_ensemble() {
            return Vec::new();
        }
        let port = self.settings.ports.election;
        let own = self.combined.shown.iter().find(|(k, _)| *k == format!("server.{}", self.identity.myid));
        let address = own.and_then(|(_, v)| v.split(':').next()).unwrap_or("its address");
        vec![(
            14,
            format!(
                "ZooKeeper could not bind its election port {port} on {address}: another process holds the port, or {address} is not an address of this pod; see ZooKeeper's log above"
            ),
        )]
    }

    fn describe_identity(&self) -> String {
        let id = &self.identity;
        if self.settings.ensemble.reconfig {
            format!(
                "server {} (ordinal {}, dynamic membership, domain {})",
                id.myid,
                id.ordinal.unwrap_or(0),
                id.domain.as_deref().unwrap_or("")
            )
        } else if self.settings.ensemble.is_ensemble() {
            let role = if id.is_observer(&self.settings.ensemble) { ", observer" } else { "" };
            format!(
                "server {} of {} (ordinal {}{role}, domain {})",
                id.myid,
                self.settings.ensemble.servers,
                id.ordinal.unwrap_or(0),
                id.domain.as_deref().unwrap_or("")
            )
        } else {
            format!("standalone server, myid {}", id.myid)
        }
    }

    /// What `--dry-run` prints: directories to create, each file with its contents, the command.
    pub(super) fn dry_run_report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# zk-entry start --dry-run: {}; nothing is written or run",
            self.describe_identity()
        );
        for note in self.combined.notes() {
            let _ = writeln!(out, "# {note}");
        }
        let dirs: Vec<PathBuf> = self.combined.dirs().map(|d| d.path.clone()).collect();
        for dir in files::missing_dirs(&dirs) {
            let _ = writeln!(out, "==> mkdir {} <==", dir.display());
        }
        for f in self.combined.changes() {
            let _ = writeln!(out, "==> {} ({}) <==", f.path.display(), f.state.describe());
            out.push_str(f.shown());
            if !f.shown().ends_with('\n') {
                out.push('\n');
            }
        }
        if let RunAs::Switch(account) = &self.run_as {
            let _ = writeln!(out, "==> chown {}:{} (symlinks not followed) <==", account.uid, account.gid);
            for dir in self.combined.owned_dirs() {
                let _ = writeln!(out, "{}", dir.display());
            }
        }
        let _ = writeln!(out, "==> run as {} <==", self.run_as.describe());
        let _ = writeln!(out, "{}", self.program.display());
        out
    }
}

/// Close `dir` to everyone but `owner` (ZooKeeper's user; `None`: zk-entry's own): 0700. As
/// root, and with `--reconfig` the conf dir is ZooKeeper's user's: the change goes through a
/// descriptor opened without following links, relative to its parent's own (reached as `guard`
/// allows), so a link swapped in for `dir` is refused and its target never touched.
fn close_dir(dir: &Path, guard: &Guard, owner: Option<(Uid, Gid)>) -> anyhow::Result<()> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        anyhow::bail!("cannot close {}: it has no parent directory", dir.display());
    };
    let Some(open) = paths::open_dir(parent, guard, false)? else {
        anyhow::bail!("cannot open {}: it does not exist", parent.display());
    };
    let child = paths::open_child(&open, name)?;
    paths::set_mode(&child, 0o700, owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(list: Vec<Contribution>) -> Parts {
        let mut parts = Parts::default();
        for c in list {
            parts.add(c);
        }
        parts
    }

    fn file(dir: &Path, name: &str, group: Group, contents: Contents) -> File {
        File { path: dir.join(name), group, contents }
    }

    fn zoo_cfg_part(dir: &Path, keys: &[(&str, &str)]) -> Contribution {
        Contribution {
            zoo_cfg: keys.iter().map(|(k, v)| Entry::new(*k, *v)).collect(),
            files: vec![file(dir, "zoo.cfg", Group::Config, Contents::ZooCfg)],
            ..Contribution::default()
        }
    }

    fn names(combined: &Combined) -> Vec<String> {
        combined.changes().map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned()).collect()
    }

    fn zoo_cfg<'a>(combined: &'a Combined, dir: &Path) -> &'a FileChange {
        combined.changes().find(|f| f.path == dir.join("zoo.cfg")).expect("zoo.cfg is planned")
    }

    #[test]
    fn a_secret_key_in_any_part_makes_zoo_cfg_private() {
        let dir = tempfile::tempdir().unwrap();
        let owner = Some((Uid::from_raw(7), Gid::from_raw(8)));
        let public =
            Combined::new(parts(vec![zoo_cfg_part(dir.path(), &[("a", "1")])]), owner, &Guard::none());
        assert_eq!(zoo_cfg(&public.unwrap(), dir.path()).private, None);

        let later = Contribution { zoo_cfg: vec![Entry::secret("k", "s3cret")], ..Contribution::default() };
        let by_name =
            Contribution { zoo_cfg: vec![Entry::new("x.password", "hunter2")], ..Contribution::default() };
        for secret in [later, by_name] {
            let list = vec![zoo_cfg_part(dir.path(), &[("a", "1")]), Contribution::default(), secret];
            let combined = Combined::new(parts(list), owner, &Guard::none()).unwrap();
            let change = zoo_cfg(&combined, dir.path());
            let private = change.private.as_ref().expect("zoo.cfg holds a secret");
            assert_eq!(private.owner, owner);
            assert!(change.contents.contains("a=1\n"), "{}", change.contents);
            assert!(change.contents.contains("s3cret") || change.contents.contains("hunter2"));
            assert!(
                private.shown.contains("=<redacted>") && private.shown.contains("a=1\n"),
                "{}",
                private.shown
            );
            assert!(
                !private.shown.contains("s3cret") && !private.shown.contains("hunter2"),
                "{}",
                private.shown
            );
            assert!(combined.shown.iter().all(|(_, v)| v != "s3cret" && v != "hunter2"));
        }
    }

    #[test]
    fn files_are_listed_by_group_then_in_part_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let text = || Contents::Public("x\n".into());
        let list = vec![
            Contribution {
                files: vec![file(d, "a", Group::Config, text()), file(d, "myid", Group::Identity, text())],
                ..Contribution::default()
            },
            Contribution {
                files: vec![file(d, "c1", Group::Credentials, text()), file(d, "b", Group::Config, text())],
                ..Contribution::default()
            },
            Contribution {
                files: vec![file(d, "c2", Group::Credentials, text())],
                ..Contribution::default()
            },
        ];
        let combined = Combined::new(parts(list), None, &Guard::none()).unwrap();
        assert_eq!(names(&combined), ["a", "b", "c1", "c2", "myid"]);
    }

    #[test]
    fn a_part_completed_later_keeps_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut list = Parts::default();
        let mut base = zoo_cfg_part(d, &[("a", "1")]);
        base.files.push(file(d, "myid", Group::Identity, Contents::Public("1\n".into())));
        list.add(base);
        let late = list.add(Contribution::default());
        list.add(Contribution {
            zoo_cfg: vec![Entry::new("z", "26")],
            files: vec![file(
                d,
                "key",
                Group::Credentials,
                Contents::Private { text: "k".into(), shown: "-".into() },
            )],
            ..Contribution::default()
        });
        let mut combined = Combined::new(list, None, &Guard::none()).unwrap();
        let more = Contribution {
            zoo_cfg: vec![Entry::new("m", "13")],
            files: vec![file(d, "late", Group::Credentials, Contents::Public("x\n".into()))],
            ..Contribution::default()
        };
        combined.complete(late, more, &Guard::none()).unwrap();
        assert_eq!(names(&combined), ["zoo.cfg", "late", "key", "myid"]);
        let contents = &zoo_cfg(&combined, d).contents;
        assert!(contents.ends_with("a=1\nm=13\nz=26\n"), "{contents}");
        let shown: Vec<&str> = combined.shown.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(shown, ["a", "m", "z"]);

        let unchecked = Contribution { owned_dirs: vec![d.to_path_buf()], ..Contribution::default() };
        assert!(combined.complete(late, unchecked, &Guard::none()).is_err());
        let unchecked = Contribution { jvm_args: vec!["-Da=1".into()], ..Contribution::default() };
        assert!(combined.complete(late, unchecked, &Guard::none()).is_err());
    }

    #[test]
    fn jvm_arguments_in_part_order_and_java_env_private_with_a_secret_property() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let java_env = || Contribution {
            jvm_args: vec!["-Xmx1G".into()],
            files: vec![file(d, "java.env", Group::Config, Contents::JavaEnv { log_dir: d.join("logs") })],
            ..Contribution::default()
        };
        let args = |jvm_args: &[&str], arg_files: &[&str]| Contribution {
            jvm_args: jvm_args.iter().map(|a| a.to_string()).collect(),
            arg_files: arg_files.iter().map(|f| d.join(f)).collect(),
            ..Contribution::default()
        };
        let combined = Combined::new(
            parts(vec![java_env(), args(&["-Dx.secret=s3cret"], &["one"]), args(&["-Da=1"], &["two"])]),
            None,
            &Guard::none(),
        )
        .unwrap();
        assert_eq!(combined.jvm_args(), ["-Xmx1G", "-Dx.secret=s3cret", "-Da=1"]);
        assert_eq!(combined.arg_files(), [d.join("one"), d.join("two")]);
        let change = combined.changes().next().unwrap();
        assert!(change.contents.contains("-Xmx1G -Dx.secret=s3cret -Da=1"), "{}", change.contents);
        let shown = &change.private.as_ref().expect("java.env holds a secret").shown;
        assert!(shown.contains("-Xmx1G -Dx.secret=<redacted> -Da=1"), "{shown}");

        let combined =
            Combined::new(parts(vec![java_env(), args(&["-Da=1"], &[])]), None, &Guard::none()).unwrap();
        assert_eq!(combined.changes().next().unwrap().private, None);
    }

    /// Regression: the mode was changed by path after a check, and a process swapping
    /// `<conf>/tls` (the key store's directory, a private one) for a link made root chmod the
    /// link's target 0700. Here a thread swaps the directory and a link to `target` (an atomic
    /// exchange) as fast as it can while the directory is closed again and again: the target's
    /// mode never changes.
    #[test]
    fn a_link_swapped_in_for_a_private_directory_is_never_followed() {
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        use std::os::unix::fs::PermissionsExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("conf");
        let target = dir.path().join("target");
        std::fs::create_dir_all(conf.join("tls")).unwrap();
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&target, conf.join("swap")).unwrap();
        let mode = || std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
        // Planted before the call: refused.
        renameat2(AT_FDCWD, &conf.join("tls"), AT_FDCWD, &conf.join("swap"), RenameFlags::RENAME_EXCHANGE)
            .unwrap();
        let line = crate::exit::one_line(&close_dir(&conf.join("tls"), &Guard::none(), None).unwrap_err());
        assert!(line.contains("tls: it is not a directory (a symbolic link or a file"), "{line}");
        assert_eq!(mode(), 0o755);
        // Swapped while zk-entry works.
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let swapper = {
            let (stop, conf) = (stop.clone(), conf.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = renameat2(
                        AT_FDCWD,
                        &conf.join("tls"),
                        AT_FDCWD,
                        &conf.join("swap"),
                        RenameFlags::RENAME_EXCHANGE,
                    );
                }
            })
        };
        let mut secured = 0;
        for _ in 0..20_000 {
            secured += usize::from(close_dir(&conf.join("tls"), &Guard::none(), None).is_ok());
            if mode() != 0o755 {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        swapper.join().unwrap();
        assert_eq!(mode(), 0o755, "the link's target was changed (after {secured} successful calls)");
        assert!(secured > 0, "the real directory was never secured");
    }
}
