//! `zk-entry start`: check the input, work out this pod's identity and user, plan every file and
//! the command line, then either print the plan (`--dry-run`) or carry it out and supervise the
//! JVM (or the `-- COMMAND`) as its parent, usually PID 1.
//!
//! Order matters: everything that can be refused (flags, host name, domain, java, the ZooKeeper
//! install, the user, an existing myid of another server, an unwritable directory) is decided
//! before the first directory is created, so a refused start leaves the disk as it found it.
//! Between steps, a pending signal that would end a process ends the start
//! ([`Signals::checkpoint`]).
//!
//! The steps live beside this file: [`settings`] checks the input, [`identity`] derives the
//! server id and domain, [`user`] resolves who ZooKeeper runs as, [`render`] makes the files'
//! contents, [`files`] puts them on disk atomically, [`ownership`] gives the data directories to
//! that user, [`jvm`] builds the command line; [`crate::pid1::supervise`] then runs it.

mod dynamic;
mod files;
mod identity;
mod jvm;
mod ownership;
mod render;
pub(crate) mod settings;
pub(crate) mod user;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::StartInput;
use crate::exit;
use crate::pid1::signals::Signals;
use crate::pid1::supervise::{self, Child};
use files::{FileChange, State};
use identity::{DomainSources, Identity};
use jvm::{JavaEnv, JvmCommand};
use settings::Settings;
use user::RunAs;

/// What runs once the files are in place.
pub(crate) enum Program {
    Jvm(JvmCommand),
    /// `-- COMMAND [ARGS...]`.
    Custom(Vec<OsString>),
}

impl Program {
    fn child(&self, run_as: &RunAs, exit_code_map: &[(u8, u8)]) -> Child {
        let (program, args, label) = match self {
            Program::Jvm(jvm) => (
                jvm.program.clone(),
                jvm.args().into_iter().map(OsString::from).collect(),
                "ZooKeeper".to_string(),
            ),
            Program::Custom(words) => {
                let program = PathBuf::from(&words[0]);
                let label = program.display().to_string();
                (program, words[1..].to_vec(), label)
            }
        };
        Child { program, args, label, run_as: run_as.clone(), exit_code_map: exit_code_map.to_vec() }
    }

    /// The command as one shell-quoted line, for logs and `--dry-run`.
    fn display(&self) -> String {
        match self {
            Program::Jvm(jvm) => jvm.display(),
            Program::Custom(words) => {
                let words: Vec<_> = words.iter().map(|w| w.to_string_lossy()).collect();
                render::command_line(words.iter().map(|w| w.as_ref()))
            }
        }
    }
}

/// Everything a start will do, decided and checked, nothing done yet.
pub(crate) struct Plan {
    settings: Settings,
    identity: Identity,
    zoo_cfg: Vec<(String, String)>,
    dirs: Vec<PathBuf>,
    /// The directories ZooKeeper writes: chowned as root, checked for writability otherwise.
    owned_dirs: Vec<PathBuf>,
    files: Vec<FileChange>,
    program: Program,
    run_as: RunAs,
    /// `--reconfig`'s membership and secret.
    dynamic: Option<dynamic::Dynamic>,
}

pub(crate) fn run(input: &StartInput, signals: &Signals) -> anyhow::Result<ExitCode> {
    signals.checkpoint()?;
    let settings = Settings::from_input(input)?;
    let hostname = current_hostname()?;
    // /etc/hosts is read only when the domain is needed and not given.
    let hosts = if settings.ensemble.is_ensemble() && settings.ensemble.domain.is_none() {
        files::read_optional(std::path::Path::new(identity::HOSTS_FILE)).ok().flatten()
    } else {
        None
    };
    let resolver = |host: &str| crate::sys::canonical_name(host);
    let sources = DomainSources { hosts: hosts.as_deref(), resolver: &resolver };
    let identity = Identity::derive(&settings.ensemble, &hostname, &sources)?;
    let program = match settings.supervision.command.is_empty() {
        true => Program::Jvm(jvm::command(&settings.java, &settings.paths, &JavaEnv::from_process())?),
        false => Program::Custom(settings.supervision.command.clone()),
    };
    let run_as = user::decide(&settings.supervision, nix::unistd::geteuid())?;
    let dynamic = match settings.ensemble.dynamic {
        true => Some(dynamic::Dynamic::prepare(&settings, &identity, signals)?),
        false => None,
    };
    let mut program = program;
    if let (Program::Jvm(jvm), Some(d)) = (&mut program, &dynamic) {
        jvm.arg_file = Some(d.arg_file());
    }
    let plan = Plan::new(settings, identity, program, run_as, dynamic)?;
    signals.checkpoint()?;

    if plan.settings.dry_run {
        crate::write_stdout(&plan.dry_run_report())?;
        return Ok(ExitCode::from(exit::SUCCESS));
    }
    plan.apply(signals)?;
    signals.checkpoint()?;
    tracing::info!("running {}", plan.program.display());
    if let (Some(d), Some(file)) = (&plan.dynamic, &plan.settings.membership.super_password_file) {
        d.spawn_joiner(plan.settings.ports.client, file)?;
    }
    supervise::run(&plan.program.child(&plan.run_as, &plan.settings.supervision.exit_code_map), signals)
}

fn current_hostname() -> anyhow::Result<String> {
    let name = hostname::get().map_err(|e| anyhow::anyhow!("cannot read the host name: {e}"))?;
    name.into_string().or_else(|raw| {
        exit::usage(format!("host name {raw:?} is not valid UTF-8; set a DNS-style host name"))
    })
}

impl Plan {
    /// Render every file and check the existing myid against the derived one.
    fn new(
        settings: Settings,
        identity: Identity,
        program: Program,
        run_as: RunAs,
        dynamic: Option<dynamic::Dynamic>,
    ) -> anyhow::Result<Plan> {
        let paths = &settings.paths;
        let jvm_options = jvm::jvm_options(&settings.java, paths);
        let mut zoo_cfg = render::zoo_cfg_entries(&settings, &identity);
        zoo_cfg.extend(dynamic.iter().flat_map(|d| d.zoo_cfg_entries()));
        let conf = &paths.conf_dir;
        let level = settings.server.log_level;
        let mut files = vec![
            FileChange::new(conf.join("zoo.cfg"), render::zoo_cfg(&zoo_cfg))?,
            FileChange::new(conf.join("log4j.properties"), render::log4j_properties(level))?,
            FileChange::new(conf.join("logback.xml"), render::logback_xml(level))?,
            FileChange::new(conf.join("java.env"), render::java_env(&paths.log_dir, &jvm_options))?,
        ];
        if let Some(myid) = myid_change(&paths.data_dir, identity.myid)? {
            files.push(myid);
        }
        let dirs = vec![
            paths.data_dir.clone(),
            paths.data_log_dir.clone(),
            paths.log_dir.clone(),
            paths.conf_dir.clone(),
        ];
        let mut owned_dirs = vec![paths.data_dir.clone(), paths.data_log_dir.clone(), paths.log_dir.clone()];
        if let Some(d) = &dynamic {
            files.extend(d.files()?);
            // ZooKeeper rewrites zoo.cfg and writes each new membership beside it.
            owned_dirs.push(paths.conf_dir.clone());
        }
        Ok(Plan { settings, identity, zoo_cfg, dirs, owned_dirs, files, program, run_as, dynamic })
    }

    /// Create the directories, write the files, give the data directories to ZooKeeper's user,
    /// and log what zk-entry set up.
    fn apply(&self, signals: &Signals) -> anyhow::Result<()> {
        if let RunAs::Current { uid } = &self.run_as
            && !uid.is_root()
        {
            ownership::check_writable(&self.owned_dirs, *uid)?;
        }
        files::create_dirs(&self.dirs)?;
        signals.checkpoint()?;
        files::write_files(&self.files)?;
        if let Some(d) = &self.dynamic {
            d.apply()?;
        }
        signals.checkpoint()?;
        if let RunAs::Switch(account) = &self.run_as {
            let tally = ownership::give(&self.owned_dirs, account.uid, account.gid, signals)?;
            tracing::info!(
                "ownership: {} of {} entries changed to {}:{}",
                tally.changed,
                tally.seen,
                account.uid,
                account.gid
            );
        }
        tracing::info!("{}", self.describe_identity());
        if let Program::Jvm(JvmCommand { install: Some(install), .. }) = &self.program {
            tracing::info!("ZooKeeper install: {}", install.display());
        }
        // One event (one write) per block: every line keeps the prefix that log readers filter on.
        let settings: Vec<String> = self.zoo_cfg.iter().map(|(k, v)| format!("zoo.cfg: {k}={v}")).collect();
        tracing::info!("{}", settings.join("\nzk-entry: "));
        let states: Vec<String> =
            self.files.iter().map(|f| format!("{} ({})", f.path.display(), f.state.describe())).collect();
        tracing::info!("{}", states.join("\nzk-entry: "));
        Ok(())
    }

    fn describe_identity(&self) -> String {
        let id = &self.identity;
        if self.settings.ensemble.dynamic {
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
    fn dry_run_report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# zk-entry start --dry-run: {}; nothing is written or run",
            self.describe_identity()
        );
        for dir in files::missing_dirs(&self.dirs) {
            let _ = writeln!(out, "==> mkdir {} <==", dir.display());
        }
        for f in &self.files {
            let _ = writeln!(out, "==> {} ({}) <==", f.path.display(), f.state.describe());
            out.push_str(&f.contents);
            if !f.contents.ends_with('\n') {
                out.push('\n');
            }
        }
        if let Some(d) = &self.dynamic {
            let _ = writeln!(
                out,
                "==> {} (the super user's digest, mode 0600; not shown) <==",
                d.arg_file().display()
            );
        }
        if let RunAs::Switch(account) = &self.run_as {
            let _ = writeln!(out, "==> chown {}:{} (symlinks not followed) <==", account.uid, account.gid);
            for dir in &self.owned_dirs {
                let _ = writeln!(out, "{}", dir.display());
            }
        }
        let _ = writeln!(out, "==> run as {} <==", self.run_as.describe());
        let _ = writeln!(out, "{}", self.program.display());
        out
    }
}

/// The myid file to write in `data_dir`, or none when the volume already holds this server's
/// id. Another id means the volume belongs to another server: starting would give two servers
/// one identity.
fn myid_change(data_dir: &Path, myid: u64) -> anyhow::Result<Option<FileChange>> {
    let path = data_dir.join("myid");
    let Some(existing) = files::read_optional(&path)? else {
        return Ok(Some(FileChange { path, contents: render::myid(myid), state: State::New }));
    };
    match existing.trim().parse::<u64>() {
        Ok(id) if id == myid => Ok(None),
        Ok(id) => anyhow::bail!(
            "refusing to start: {} holds server id {id}, but this host is server {myid}; the volume belongs to another server (check which PersistentVolumeClaim this pod has), or delete the file if the volume is meant to start over",
            path.display(),
        ),
        Err(_) => anyhow::bail!(
            "refusing to start: {} holds '{}', which is not a server id; this host is server {myid}: delete the file to let zk-entry write it",
            path.display(),
            existing.trim().escape_debug(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn myid_in(dir: &tempfile::TempDir, contents: Option<&str>) -> anyhow::Result<Option<FileChange>> {
        if let Some(text) = contents {
            std::fs::write(dir.path().join("myid"), text).unwrap();
        }
        myid_change(dir.path(), 2)
    }

    #[test]
    fn myid_is_written_when_absent() {
        let dir = tempfile::tempdir().unwrap();
        let change = myid_in(&dir, None).unwrap().expect("a new myid");
        assert_eq!(
            (change.path, change.contents, change.state),
            (dir.path().join("myid"), "2\n".to_string(), State::New)
        );
    }

    #[test]
    fn the_same_id_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(myid_in(&dir, Some("2\n")).unwrap().is_none());
        assert!(myid_in(&dir, Some(" 2 ")).unwrap().is_none());
    }

    #[test]
    fn another_servers_id_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let line = crate::exit::one_line(&myid_in(&dir, Some("3\n")).unwrap_err());
        let path = dir.path().join("myid");
        assert_eq!(
            line,
            format!(
                "refusing to start: {} holds server id 3, but this host is server 2; the volume belongs to another server (check which PersistentVolumeClaim this pod has), or delete the file if the volume is meant to start over",
                path.display()
            )
        );
        let line = crate::exit::one_line(&myid_in(&dir, Some("x\ny")).unwrap_err());
        assert!(line.contains("holds 'x\\ny', which is not a server id"), "{line}");
    }
}
