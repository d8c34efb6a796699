//! `zk-entry start`: check the input, work out this pod's identity and user, plan every file and
//! the command line, then either print the plan (`--dry-run`) or carry it out and supervise the
//! JVM (or the `-- COMMAND`) as its parent, usually PID 1.
//!
//! Order matters: everything that can be refused (flags, host name, domain, java, the ZooKeeper
//! install, the user, an existing myid of another server, an unwritable directory) is decided
//! before the first directory is created, so a refused start leaves the disk as it found it.
//! With `--reconfig` the membership is decided after all of them, just before the first write:
//! deciding may add this server to the running ensemble, the one change outside the pod, so a
//! refused start leaves the ensemble as it found it too.
//! Between steps, a pending signal that would end a process ends the start
//! ([`Signals::checkpoint`]).
//!
//! The steps live beside this file: [`args`] defines the flags, [`settings`] checks them, [`identity`] derives the
//! server id and domain, [`user`] resolves who ZooKeeper runs as, [`render`] makes the files'
//! contents, [`files`] puts them on disk atomically, [`ownership`] gives the data directories to
//! that user, [`jvm`] builds the command line; [`crate::pid1::supervise`] then runs it.

mod access;
pub(crate) mod args;
mod der;
mod formation;
mod identity;
pub(crate) mod join;
mod jvm;
mod memory;
mod reconfig;
mod render;
mod sasl;
pub(crate) mod settings;
mod tls;
pub(crate) mod tls_watch;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::exit;
use crate::fs::files::{self, FileChange, Private, State};
use crate::fs::paths::Guard;
use crate::fs::{ownership, paths};
use crate::pid1::signals::Signals;
use crate::pid1::supervise::{self, Child};
use crate::pid1::user::{self, RunAs};
use crate::secrets;
use args::StartArgs;
use identity::{DomainSources, Identity};
use jvm::{JavaEnv, JvmCommand};
use settings::Settings;

/// What runs once the files are in place.
pub(crate) enum Program {
    Jvm(JvmCommand),
    /// `-- COMMAND [ARGS...]`.
    Custom(Vec<OsString>),
}

impl Program {
    fn child(
        &self,
        run_as: &RunAs,
        exit_code_map: &[(u8, u8)],
        privileges: user::Privileges,
        exit_meanings: Vec<(u8, String)>,
    ) -> Child {
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
        Child {
            program,
            args,
            label,
            run_as: run_as.clone(),
            exit_code_map: exit_code_map.to_vec(),
            privileges,
            exit_meanings,
        }
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
    /// zoo.cfg's entries as they may be logged: secret values redacted.
    zoo_cfg: Vec<(String, String)>,
    dirs: Vec<PathBuf>,
    /// The directories ZooKeeper writes: chowned as root, checked for writability otherwise.
    owned_dirs: Vec<PathBuf>,
    /// Who could have planted links on the way to them (see [`paths`]).
    guard: Guard,
    files: Vec<FileChange>,
    program: Program,
    run_as: RunAs,
    /// For `--heap=N%`: the memory limit and the heap it gives.
    heap_note: Option<String>,
    /// For `--tls_dir`: what the check found, and what the watcher is to keep current.
    tls_summary: Option<String>,
    tls_watch: Option<tls_watch::Watch>,
    /// Who owns the files that hold secrets (`None`: zk-entry's own user).
    owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
    /// zoo.cfg's entries as written: (key, value, secret).
    entries: Vec<(String, String, bool)>,
    /// Where in `entries` `--reconfig`'s keys go.
    membership_at: usize,
    /// `--reconfig`'s membership, once decided ([`Plan::set_membership`]).
    reconfig: Option<reconfig::Decided>,
}

pub(crate) fn run(input: &StartArgs, signals: &Signals) -> anyhow::Result<ExitCode> {
    signals.checkpoint()?;
    let settings = Settings::from_input(input)?;
    let hostname = current_hostname()?;
    // /etc/hosts is read only when the domain is needed and not given.
    let hosts = if settings.ensemble.is_ensemble() && settings.ensemble.domain.is_none() {
        files::read_optional(std::path::Path::new(identity::HOSTS_FILE), &Guard::none()).ok().flatten()
    } else {
        None
    };
    let resolver = |host: &str| crate::sys::canonical_name(host);
    let sources = DomainSources { hosts: hosts.as_deref(), resolver: &resolver };
    // A signal that arrived while the resolver hung (it is blocked, so the lookup runs to its
    // own timeout) ends the start as that signal, not as the lookup's failure.
    let identity = Identity::derive(&settings.ensemble, &hostname, &sources)
        .or_else(|err| signals.checkpoint().and(Err(err)))?;
    let program = match settings.supervision.command.is_empty() {
        true => Program::Jvm(jvm::command(&settings.java, &settings.paths, &JavaEnv::from_process())?),
        false => {
            jvm::check_command(Path::new(&settings.supervision.command[0]), &JavaEnv::from_process())?;
            Program::Custom(settings.supervision.command.clone())
        }
    };
    let supervision = &settings.supervision;
    let run_as = user::decide(
        &supervision.user,
        supervision.user_explicit,
        &supervision.user_name,
        nix::unistd::geteuid(),
    )?;
    let privileges = user::privileges(&run_as, settings.supervision.keep_privileges)?;
    let pending = match settings.ensemble.reconfig {
        true => Some(reconfig::Pending::prepare(&settings, &identity)?),
        false => None,
    };
    let mut plan = Plan::new(settings, identity, program, run_as, &hostname, signals)?;
    signals.checkpoint()?;
    // Last of all: deciding the membership may add this server to the running ensemble, which
    // no later refusal could take back (an orphan observer blocks every resize). Everything
    // that can refuse the start has been checked by now.
    if let Some(pending) = pending {
        plan.set_membership(pending.decide(!plan.settings.dry_run, signals)?)?;
        signals.checkpoint()?;
    }

    if plan.settings.dry_run {
        crate::output::write_stdout(&plan.dry_run_report())?;
        return Ok(ExitCode::from(exit::SUCCESS));
    }
    plan.apply(signals)?;
    signals.checkpoint()?;
    tracing::info!("running {}", plan.program.display());
    if let (Some(watch), Program::Jvm(_)) = (&plan.tls_watch, &plan.program) {
        tls_watch::spawn(watch, &plan.run_as, privileges, signals);
    }
    let child = plan.program.child(
        &plan.run_as,
        &plan.settings.supervision.exit_code_map,
        privileges,
        plan.exit_meanings(),
    );
    if let (Some(d), Some(file)) = (&plan.reconfig, &plan.settings.reconfig.super_password_file) {
        d.spawn_joiner(plan.settings.ports.client, file, signals)?;
    }
    supervise::run(&child, signals)
}

fn current_hostname() -> anyhow::Result<String> {
    let name = hostname::get().map_err(|e| anyhow::anyhow!("cannot read the host name: {e}"))?;
    name.into_string().or_else(|raw| {
        exit::usage(format!("host name {raw:?} is not valid UTF-8; set a DNS-style host name"))
    })
}

impl Plan {
    /// Render every file, read the secret files and check the existing myid against the
    /// derived one.
    fn new(
        settings: Settings,
        identity: Identity,
        program: Program,
        run_as: RunAs,
        hostname: &str,
        signals: &Signals,
    ) -> anyhow::Result<Plan> {
        let paths = &settings.paths;
        let guard = match &run_as {
            RunAs::Switch(account) => Guard::against(account.uid, account.groups.clone()),
            RunAs::Current { .. } => Guard::none(),
        };
        let owned = [
            ("--data_dir", &paths.data_dir),
            ("--data_log_dir", &paths.data_log_dir),
            ("--log_dir", &paths.log_dir),
        ];
        for (flag, dir) in owned {
            refuse_system_dir(flag, dir, dir)?;
            if let Some(open) = paths::open_dir(dir, &guard, false)? {
                refuse_system_dir(flag, dir, &open.real)?;
            }
        }
        let jvm_options = jvm::jvm_options(&settings.java, paths);
        let conf = &paths.conf_dir;
        let owner = match &run_as {
            RunAs::Switch(account) => Some((account.uid, account.gid)),
            RunAs::Current { .. } => None,
        };
        let private = |shown: String| Private { owner, shown };
        let mut files = Vec::new();
        // (key, value, secret)
        let mut entries: Vec<(String, String, bool)> = render::zoo_cfg_entries(&settings, &identity)
            .into_iter()
            .map(|(k, v)| {
                let secret = secrets::is_secret_key(&k);
                (k, v, secret)
            })
            .collect();
        // `--reconfig`'s keys go here once the membership is decided ([`Plan::set_membership`]).
        let membership_at = entries.len();
        for secret in &settings.security.set_file {
            let what = format!("{} {}", secret.name, secret.key);
            let value = secrets::read_file(&what, &secret.path)?;
            if settings::PASSWORD_PATH_KEYS.contains(&secret.key.as_str()) {
                // ZooKeeper reads this one from a file itself: zoo.cfg names the file only.
                let path = conf.join(format!("secret.{}", secret.key));
                entries.push((format!("{}Path", secret.key), path.to_string_lossy().into_owned(), false));
                files.push(FileChange::with_privacy(
                    path,
                    value,
                    Some(private(secrets::REDACTED.into())),
                    &guard,
                )?);
            } else {
                if let Some(problem) = settings::zoo_cfg_value_problem(&value) {
                    anyhow::bail!(
                        "{what}: {}: the value {problem}; expected the value without it",
                        secret.path.display()
                    );
                }
                entries.push((secret.key.clone(), value, true));
            }
        }
        let mut tls_summary = None;
        let mut tls_watch = None;
        if let Some(t) = &settings.security.tls {
            let short = hostname.split('.').next().unwrap_or(hostname);
            let fqdn = match &identity.domain {
                Some(domain) => format!("{short}.{domain}"),
                None => hostname.to_string(),
            };
            let store = tls::store_dir(conf);
            let watch = tls_watch::Watch { tls_dir: t.dir.clone(), store: store.clone(), fqdn };
            let material = tls_watch::check_in_child(&watch, signals)?;
            entries.extend(
                tls::zoo_cfg(&store, t.secure_client_port, t.quorum, t.plaintext_off)
                    .into_iter()
                    .map(|(k, v)| (k, v, false)),
            );
            let key_store = private(secrets::REDACTED.into());
            files.push(FileChange::with_privacy(
                store.join(tls::KEY_STORE),
                material.key_store,
                Some(key_store),
                &guard,
            )?);
            let trust_store =
                private(format!("(the CA certificates of {})", t.dir.join(tls::CA_FILE).display()));
            files.push(FileChange::with_privacy(
                store.join(tls::TRUST_STORE),
                material.trust_store,
                Some(trust_store),
                &guard,
            )?);
            tls_summary = Some(material.summary);
            tls_watch = Some(watch);
        }
        let sasl = sasl::plan(&settings.security)?;
        entries.extend(sasl.zoo_cfg);
        let mut program = program;
        if let Some(digest) = &sasl.super_digest {
            let path = conf.join(sasl::SUPER_ARG_FILE);
            let shown = private(format!("(the super user's digest, {})", secrets::REDACTED));
            files.push(FileChange::with_privacy(
                path.clone(),
                sasl::super_arg_file(digest),
                Some(shown),
                &guard,
            )?);
            if let Program::Jvm(jvm) = &mut program {
                jvm.arg_file = Some(path);
            }
        }
        if let Some(jaas) = sasl.jaas {
            let path = conf.join(settings::JAAS_FILE);
            files.push(FileChange::with_privacy(
                path,
                jaas,
                Some(private(secrets::REDACTED.into())),
                &guard,
            )?);
        }
        let (zoo_cfg, shown) = zoo_cfg_change(conf, &entries, owner, &guard)?;
        let java_env = render::java_env(&paths.log_dir, &jvm_options);
        let java_env_private = jvm_options.iter().any(|o| secrets::is_secret_jvm_arg(o)).then(|| {
            let shown: Vec<String> = jvm_options.iter().map(|o| secrets::shown_jvm_arg(o)).collect();
            private(render::java_env(&paths.log_dir, &shown))
        });
        let level = settings.server.log_level;
        files.splice(
            0..0,
            [
                zoo_cfg,
                FileChange::new(conf.join("log4j.properties"), render::log4j_properties(level), &guard)?,
                FileChange::new(conf.join("logback.xml"), render::logback_xml(level), &guard)?,
                FileChange::with_privacy(conf.join("java.env"), java_env, java_env_private, &guard)?,
            ],
        );
        if let Some(myid) = myid_change(&paths.data_dir, identity.myid, &guard)? {
            files.push(myid);
        }
        let mut dirs = vec![
            paths.data_dir.clone(),
            paths.data_log_dir.clone(),
            paths.log_dir.clone(),
            paths.conf_dir.clone(),
        ];
        if settings.security.tls.is_some() {
            dirs.push(tls::store_dir(&paths.conf_dir));
        }
        let mut owned_dirs = vec![paths.data_dir.clone(), paths.data_log_dir.clone(), paths.log_dir.clone()];
        if settings.ensemble.reconfig {
            // ZooKeeper rewrites zoo.cfg and writes each new membership beside it.
            owned_dirs.push(paths.conf_dir.clone());
        }
        match &run_as {
            RunAs::Current { uid } if !uid.is_root() => ownership::check_writable(&owned_dirs, *uid)?,
            RunAs::Current { .. } => {}
            RunAs::Switch(account) => reachable(account, &settings, &program, &owned_dirs, &files, &guard)?,
        }
        let heap_note = match &settings.java.heap {
            settings::Heap::Percent { percent, flag } => Some(memory::heap_note(
                flag,
                *percent,
                Path::new(memory::PROC_SELF_CGROUP),
                Path::new(memory::CGROUP_ROOT),
            )?),
            settings::Heap::Size(_) => None,
        };
        Ok(Plan {
            settings,
            identity,
            zoo_cfg: shown,
            dirs,
            owned_dirs,
            files,
            program,
            run_as,
            guard,
            heap_note,
            tls_summary,
            tls_watch,
            owner,
            entries,
            membership_at,
            reconfig: None,
        })
    }

    /// Complete the plan with the decided membership: `--reconfig`'s zoo.cfg keys (the dynamic
    /// file's name follows the membership's version) and the dynamic file itself. Both files
    /// were already looked at by [`Plan::new`] (zoo.cfg) or are ZooKeeper's own (older dynamic
    /// files), so nothing here refuses what a check could have found before.
    fn set_membership(&mut self, d: reconfig::Decided) -> anyhow::Result<()> {
        let keys = d.zoo_cfg_entries().into_iter().map(|(k, v)| (k, v, false));
        self.entries.splice(self.membership_at..self.membership_at, keys);
        let conf = &self.settings.paths.conf_dir;
        let (zoo_cfg, shown) = zoo_cfg_change(conf, &self.entries, self.owner, &self.guard)?;
        self.zoo_cfg = shown;
        match self.files.iter_mut().find(|f| f.path == zoo_cfg.path) {
            Some(old) => *old = zoo_cfg,
            None => self.files.insert(0, zoo_cfg),
        }
        self.files.extend(d.files(&self.guard)?);
        self.reconfig = Some(d);
        Ok(())
    }

    /// Create the directories, write the files, give the data directories to ZooKeeper's user,
    /// and log what zk-entry set up.
    fn apply(&self, signals: &Signals) -> anyhow::Result<()> {
        files::create_dirs(&self.dirs, &self.guard)?;
        if self.settings.security.tls.is_some() {
            tls::secure_dir(&self.settings.paths.conf_dir, &self.guard, self.owner)?;
        }
        signals.checkpoint()?;
        files::write_files(&self.files, &self.guard)?;
        if let Some(d) = &self.reconfig {
            d.apply()?;
        }
        signals.checkpoint()?;
        if let RunAs::Switch(account) = &self.run_as {
            let tally = ownership::give(&self.owned_dirs, account.uid, account.gid, signals, &self.guard)?;
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
        for note in [&self.heap_note, &self.tls_summary].into_iter().flatten() {
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
        let settings: Vec<String> = self.zoo_cfg.iter().map(|(k, v)| format!("zoo.cfg: {k}={v}")).collect();
        tracing::info!("{}", settings.join("\nzk-entry: "));
        let states: Vec<String> =
            self.files.iter().map(|f| format!("{} ({})", f.path.display(), f.state.describe())).collect();
        tracing::info!("{}", states.join("\nzk-entry: "));
        Ok(())
    }

    /// ZooKeeper's own exit statuses that zk-entry can explain. It exits with 14 when its
    /// election listener cannot bind after `zookeeper.electionPortBindRetry` tries (3 by default,
    /// about 4 s): a fast restart by the kubelet is the right answer, so the status passes through.
    fn exit_meanings(&self) -> Vec<(u8, String)> {
        if !matches!(self.program, Program::Jvm(_)) || !self.settings.ensemble.is_ensemble() {
            return Vec::new();
        }
        let port = self.settings.ports.election;
        let own = self.zoo_cfg.iter().find(|(k, _)| *k == format!("server.{}", self.identity.myid));
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
    fn dry_run_report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# zk-entry start --dry-run: {}; nothing is written or run",
            self.describe_identity()
        );
        for note in [&self.heap_note, &self.tls_summary].into_iter().flatten() {
            let _ = writeln!(out, "# {note}");
        }
        for dir in files::missing_dirs(&self.dirs) {
            let _ = writeln!(out, "==> mkdir {} <==", dir.display());
        }
        for f in &self.files {
            let _ = writeln!(out, "==> {} ({}) <==", f.path.display(), f.state.describe());
            out.push_str(f.shown());
            if !f.shown().ends_with('\n') {
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

/// As root: every directory the JVM needs, and every file it reads that the start keeps as it
/// is, can be used by the user it runs as ([`access`]).
fn reachable(
    account: &user::Account,
    settings: &Settings,
    program: &Program,
    owned_dirs: &[PathBuf],
    files: &[FileChange],
    guard: &Guard,
) -> anyhow::Result<()> {
    let paths = &settings.paths;
    let judge = access::Judge::new(account, owned_dirs, guard)?;
    let mut needs = vec![
        access::Need { flag: "--data_dir", dir: &paths.data_dir, write: true },
        access::Need { flag: "--data_log_dir", dir: &paths.data_log_dir, write: true },
        access::Need { flag: "--log_dir", dir: &paths.log_dir, write: true },
        access::Need { flag: "--conf_dir", dir: &paths.conf_dir, write: settings.ensemble.reconfig },
    ];
    if let Program::Jvm(JvmCommand { install: Some(install), .. }) = program {
        needs.push(access::Need { flag: "--zk_home", dir: install, write: false });
    }
    judge.directories(&needs)?;
    // java.env is for the pod's shell tools (zkCli.sh); the JVM gets its flags from zk-entry.
    let java_env = paths.conf_dir.join("java.env");
    for file in files.iter().filter(|f| f.state == State::Unchanged && f.path != java_env) {
        judge.kept_file(&file.path)?;
    }
    Ok(())
}

/// zoo.cfg from `entries` (key, value, secret), and the entries as they may be shown: a file
/// only ZooKeeper's user (`owner`) can read when any value is a secret.
fn zoo_cfg_change(
    conf: &Path,
    entries: &[(String, String, bool)],
    owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
    guard: &Guard,
) -> anyhow::Result<(FileChange, Vec<(String, String)>)> {
    let written: Vec<(String, String)> = entries.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
    let shown: Vec<(String, String)> = entries
        .iter()
        .map(|(k, v, secret)| (k.clone(), if *secret { secrets::REDACTED.into() } else { v.clone() }))
        .collect();
    let private = entries
        .iter()
        .any(|(_, _, secret)| *secret)
        .then(|| Private { owner, shown: render::zoo_cfg(&shown) });
    let change = FileChange::with_privacy(conf.join("zoo.cfg"), render::zoo_cfg(&written), private, guard)?;
    Ok((change, shown))
}

/// A data, data-log or log directory that is, or lies in, a system directory: zk-entry would
/// give it and everything in it to ZooKeeper's user (`--log_dir=/etc` would give away
/// /etc/shadow). `real` is where `configured` leads once links are resolved.
fn refuse_system_dir(flag: &str, configured: &Path, real: &Path) -> anyhow::Result<()> {
    let Some(system) = paths::system_dir(real) else { return Ok(()) };
    let via = if real != configured { format!(" (it leads to {})", real.display()) } else { String::new() };
    exit::usage(format!(
        "{flag} {}{via}: {system} is a system directory, and zk-entry would give it and everything in it to the user ZooKeeper runs as; use a directory of its own such as /var/lib/zookeeper/data",
        configured.display()
    ))
}

/// The myid file to write in `data_dir`, or none when the volume already holds this server's
/// id. Another id means the volume belongs to another server: starting would give two servers
/// one identity.
fn myid_change(data_dir: &Path, myid: u64, guard: &Guard) -> anyhow::Result<Option<FileChange>> {
    let path = data_dir.join("myid");
    let Some(existing) = files::read_optional(&path, guard)? else {
        return Ok(Some(FileChange { path, contents: render::myid(myid), state: State::New, private: None }));
    };
    match existing.trim().parse::<u64>() {
        Ok(id) if id == myid => Ok(None),
        Ok(id) => anyhow::bail!(
            "refusing to start: {} holds server id {id}, but this host is server {myid}; the volume belongs to another server (check which PersistentVolumeClaim this pod has), or delete the file if the volume is meant to start over",
            path.display(),
        ),
        // Quoted in part only: whatever the file holds must not reach the pod's log.
        Err(_) => anyhow::bail!(
            "refusing to start: {} holds {} bytes that are not a server id (starting '{}'); this host is server {myid}: delete the file to let zk-entry write it",
            path.display(),
            existing.len(),
            existing.trim().chars().take(8).collect::<String>().escape_debug(),
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
        myid_change(dir.path(), 2, &Guard::none())
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
        assert!(line.contains("holds 3 bytes that are not a server id (starting 'x\\ny')"), "{line}");
        let line = crate::exit::one_line(
            &myid_in(&dir, Some("root:$6$secret-hash:19000:0:99999:7:::\n")).unwrap_err(),
        );
        assert!(!line.contains("secret-hash"), "{line}");
    }
}
