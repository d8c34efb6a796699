//! `zk-entry start`: check the input, work out this pod's identity, plan every file and the JVM
//! command line, then either print the plan (`--dry-run`) or carry it out and exec the JVM.
//!
//! Order matters: everything that can be refused (flags, host name, domain, java, the ZooKeeper
//! install, an existing myid of another server) is decided before the first directory is
//! created, so a refused start leaves the disk as it found it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::Start;
use crate::exit;
use crate::files::{self, FileChange, State};
use crate::identity::{self, DomainSources, Identity};
use crate::jvm::{self, JavaEnv, JvmCommand};
use crate::render;
use crate::settings::{Environment, Settings};

/// Everything a start will do, decided and checked, nothing done yet.
pub struct Plan {
    pub settings: Settings,
    pub identity: Identity,
    pub zoo_cfg: Vec<(String, String)>,
    pub dirs: Vec<PathBuf>,
    pub files: Vec<FileChange>,
    pub command: JvmCommand,
}

pub fn run(start: &Start) -> anyhow::Result<ExitCode> {
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
    let command = jvm::command(&settings, &JavaEnv::from_process())?;
    let plan = Plan::new(settings, identity, command)?;

    if plan.settings.dry_run {
        crate::write_stdout(&plan.dry_run_report())?;
        return Ok(ExitCode::from(exit::SUCCESS));
    }
    plan.apply()?;
    tracing::info!("exec {}", plan.command.display());
    Err(plan.command.exec())
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
    pub fn new(settings: Settings, identity: Identity, command: JvmCommand) -> anyhow::Result<Plan> {
        let zoo_cfg = render::zoo_cfg_entries(&settings, &identity);
        let conf = &settings.conf_dir;
        let mut files = vec![
            FileChange::new(conf.join("zoo.cfg"), render::zoo_cfg(&zoo_cfg))?,
            FileChange::new(conf.join("log4j.properties"), render::log4j_properties(settings.log_level))?,
            FileChange::new(conf.join("logback.xml"), render::logback_xml(settings.log_level))?,
            FileChange::new(conf.join("java.env"), render::java_env(&settings, &command.options))?,
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
        Ok(Plan { settings, identity, zoo_cfg, dirs, files, command })
    }

    /// Create the directories, write the files, and log what zk-entry set up.
    pub fn apply(&self) -> anyhow::Result<()> {
        files::create_dirs(&self.dirs)?;
        files::write_files(&self.files)?;
        tracing::info!("{}", self.describe_identity());
        if let Some(install) = &self.command.install {
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
        let _ = writeln!(out, "==> exec <==\n{}", self.command.display());
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
