//! `zk-entry start`: check the input, work out this pod's identity and user, plan every file and
//! the command line, then either print the plan (`--dry-run`) or carry it out and supervise the
//! JVM (or the `-- COMMAND`) as its parent, usually PID 1.
//!
//! Order matters: everything that can be refused (flags, host name, domain, java, the ZooKeeper
//! install, the user, an existing myid of another server, an unwritable directory) is decided
//! before the first directory is created, so a refused start leaves the disk as it found it.
//! Between steps, a pending signal that would end a process ends the start
//! ([`Signals::checkpoint`]).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::Start;
use crate::exit;
use crate::files::{self, FileChange, State};
use crate::identity::{self, DomainSources, Identity};
use crate::jvm::{self, JavaEnv, JvmCommand};
use crate::ownership;
use crate::privileges::{self, RunAs};
use crate::render;
use crate::settings::{Environment, Settings};
use crate::signals::Signals;
use crate::supervise::{self, Child};

/// What runs once the files are in place.
pub enum Program {
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
pub struct Plan {
    pub settings: Settings,
    pub identity: Identity,
    pub zoo_cfg: Vec<(String, String)>,
    pub dirs: Vec<PathBuf>,
    /// The directories ZooKeeper writes: chowned as root, checked for writability otherwise.
    pub owned_dirs: Vec<PathBuf>,
    pub files: Vec<FileChange>,
    pub program: Program,
    pub run_as: RunAs,
}

pub fn run(start: &Start, signals: &Signals) -> anyhow::Result<ExitCode> {
    signals.checkpoint()?;
    let env = Environment {
        jvmflags: env_text("JVMFLAGS")?,
        quorum_listen_on_all_ips: env_text(Environment::QUORUM_LISTEN_ON_ALL_IPS)?,
        dry_run: env_text(Environment::DRY_RUN)?,
    };
    let settings = Settings::from_start(start, &env)?;
    let hostname = current_hostname()?;
    // /etc/hosts is read only when the domain is needed and not given.
    let hosts = if settings.is_ensemble() && settings.domain.is_none() {
        files::read_optional(std::path::Path::new(identity::HOSTS_FILE)).ok().flatten()
    } else {
        None
    };
    let resolver = |host: &str| crate::sys::canonical_name(host);
    let sources = DomainSources { hosts: hosts.as_deref(), resolver: &resolver };
    let identity = Identity::derive(&settings, &hostname, &sources)?;
    let program = match settings.command.is_empty() {
        true => Program::Jvm(jvm::command(&settings, &JavaEnv::from_process())?),
        false => Program::Custom(settings.command.clone()),
    };
    let user_flag = start.name_of("user");
    let run_as =
        privileges::decide(&settings.user, settings.user_explicit, &user_flag, nix::unistd::geteuid())?;
    let plan = Plan::new(settings, identity, program, run_as)?;
    signals.checkpoint()?;

    if plan.settings.dry_run {
        crate::write_stdout(&plan.dry_run_report())?;
        return Ok(ExitCode::from(exit::SUCCESS));
    }
    plan.apply(signals)?;
    signals.checkpoint()?;
    tracing::info!("running {}", plan.program.display());
    supervise::run(&plan.program.child(&plan.run_as, &plan.settings.exit_code_map), signals)
}

/// An environment variable as text; one that is not UTF-8 is refused rather than mangled.
fn env_text(name: &str) -> anyhow::Result<Option<String>> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(v) => match v.into_string() {
            Ok(s) => Ok(Some(s)),
            Err(_) => exit::usage(format!("{name} (environment) is not valid UTF-8; fix the variable")),
        },
    }
}

fn current_hostname() -> anyhow::Result<String> {
    let name = hostname::get().map_err(|e| anyhow::anyhow!("cannot read the host name: {e}"))?;
    name.into_string().or_else(|raw| {
        exit::usage(format!("host name {raw:?} is not valid UTF-8; set a DNS-style host name"))
    })
}

impl Plan {
    /// Render every file and check the existing myid against the derived one.
    pub fn new(
        settings: Settings,
        identity: Identity,
        program: Program,
        run_as: RunAs,
    ) -> anyhow::Result<Plan> {
        let jvm_options = jvm::jvm_options(&settings);
        let zoo_cfg = render::zoo_cfg_entries(&settings, &identity);
        let conf = &settings.conf_dir;
        let mut files = vec![
            FileChange::new(conf.join("zoo.cfg"), render::zoo_cfg(&zoo_cfg))?,
            FileChange::new(conf.join("log4j.properties"), render::log4j_properties(settings.log_level))?,
            FileChange::new(conf.join("logback.xml"), render::logback_xml(settings.log_level))?,
            FileChange::new(conf.join("java.env"), render::java_env(&settings, &jvm_options))?,
        ];
        if let Some(myid) = myid_change(&settings, &identity)? {
            files.push(myid);
        }
        let dirs = vec![
            settings.data_dir.clone(),
            settings.data_log_dir.clone(),
            settings.log_dir.clone(),
            settings.conf_dir.clone(),
        ];
        let owned_dirs =
            vec![settings.data_dir.clone(), settings.data_log_dir.clone(), settings.log_dir.clone()];
        Ok(Plan { settings, identity, zoo_cfg, dirs, owned_dirs, files, program, run_as })
    }

    /// Create the directories, write the files, give the data directories to ZooKeeper's user,
    /// and log what zk-entry set up.
    pub fn apply(&self, signals: &Signals) -> anyhow::Result<()> {
        if let RunAs::Current { uid } = &self.run_as
            && !uid.is_root()
        {
            ownership::check_writable(&self.owned_dirs, *uid)?;
        }
        files::create_dirs(&self.dirs)?;
        signals.checkpoint()?;
        files::write_files(&self.files)?;
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
        if self.settings.is_ensemble() {
            format!(
                "server {} of {} (ordinal {}, domain {})",
                id.myid,
                self.settings.servers,
                id.ordinal.unwrap_or(0),
                id.domain.as_deref().unwrap_or("")
            )
        } else {
            format!("standalone server, myid {}", id.myid)
        }
    }

    /// What `--dry-run` prints: directories to create, each file with its contents, the command.
    pub fn dry_run_report(&self) -> String {
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

/// The myid file to write, or none when the volume already holds this server's id. Another id
/// means the volume belongs to another server: starting would give two servers one identity.
fn myid_change(settings: &Settings, identity: &Identity) -> anyhow::Result<Option<FileChange>> {
    let path = settings.data_dir.join("myid");
    let Some(existing) = files::read_optional(&path)? else {
        return Ok(Some(FileChange { path, contents: render::myid(identity.myid), state: State::New }));
    };
    match existing.trim().parse::<u64>() {
        Ok(id) if id == identity.myid => Ok(None),
        Ok(id) => anyhow::bail!(
            "refusing to start: {} holds server id {id}, but this host is server {}; the volume belongs to another server (check which PersistentVolumeClaim this pod has), or delete the file if the volume is meant to start over",
            path.display(),
            identity.myid
        ),
        Err(_) => anyhow::bail!(
            "refusing to start: {} holds '{}', which is not a server id; this host is server {}: delete the file to let zk-entry write it",
            path.display(),
            existing.trim().escape_debug(),
            identity.myid
        ),
    }
}
