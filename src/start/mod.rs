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
//! server id and domain, [`crate::pid1::user`] resolves who ZooKeeper runs as, [`jvm`] finds
//! java and the install. Then the parts: the base every start writes ([`base`]) and each feature a flag
//! turns on ([`set_file`], [`tls`], [`sasl`], [`reconfig`] for `--reconfig`, [`memory`] for the
//! heap, the operator's JVM flags) return what they add, and [`plan`] folds them (its module doc
//! says how, and how a new feature adds itself: a function beside its code and one line in
//! [`run`]). [`render`] makes the files' contents, [`crate::fs::files`] puts them on disk
//! atomically, [`crate::fs::ownership`] gives the data directories to that user; [`crate::pid1::supervise`] then runs
//! the JVM. Before the parts, [`adopt`] settles what an older server left on the volume (the
//! script's log directory, a ZooKeeper 3.4 volume without a snapshot).

mod access;
mod adopt;
pub(crate) mod args;
mod der;
mod formation;
pub(crate) mod handoff;
mod identity;
pub(crate) mod join;
mod jvm;
mod memory;
mod plan;
mod program;
mod reconfig;
mod render;
mod sasl;
mod set_file;
pub(crate) mod settings;
mod tls;
pub(crate) mod tls_watch;
mod version;

use std::path::Path;
use std::process::ExitCode;

use crate::exit;
use crate::fs::files;
use crate::fs::paths::{self, Guard};
use crate::pid1::signals::Signals;
use crate::pid1::supervise;
use crate::pid1::user::{self, RunAs};
use args::StartArgs;
use identity::{DomainSources, Identity};
use jvm::JavaEnv;
use plan::{Contents, Contribution, Dir, Entry, File, Group, Parts, Plan};
use program::Program;
use settings::Settings;

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
    let guard = match &run_as {
        RunAs::Switch(account) => Guard::against(account.uid, account.groups.clone()),
        RunAs::Current { .. } => Guard::none(),
    };
    // What an older server left on the volume (a 3.4 volume, the script's log directory) is
    // settled first: the log directory it decides is the one every later step uses.
    let (settings, adopted) = adopt::settle(settings, input.data_log_dir.is_given(), &guard)?;
    let pending = match settings.ensemble.reconfig {
        true => Some(reconfig::Pending::prepare(&settings, &identity)?),
        false => None,
    };
    // Each part reads and checks what it needs (plan.rs says how they combine).
    let base = base(&settings, &identity, &guard)?;
    let set_file = set_file::contribution(&settings)?;
    let (tls, tls_watch) = match &settings.security.tls {
        Some(tls) => {
            let (part, watch) =
                tls_watch::prepare(tls, &settings.paths.conf_dir, &hostname, &identity, signals)?;
            (part, Some(watch))
        }
        None => (Contribution::default(), None),
    };
    let sasl = sasl::contribution(&settings.security, &settings.paths.conf_dir)?;
    let heap = memory::contribution(&settings.java)?;
    let classpath = match &program {
        Program::Jvm(jvm) => Some(jvm.classpath()),
        Program::Custom(_) => None,
    };
    let known = version::Known::decide(settings.java.zk_version.as_ref(), classpath);
    let version = version::contribution(&known, &settings);
    // In the order they combine: the heap's JVM arguments first and the operator's last (the
    // JVM takes the last of repeated flags); zoo.cfg's membership keys right after the base's.
    let mut parts = Parts::default();
    parts.add(heap);
    parts.add(base);
    let membership = parts.add(pending.as_ref().map(reconfig::Pending::contribution).unwrap_or_default());
    parts.add(set_file);
    parts.add(tls);
    parts.add(sasl);
    parts.add(adopted);
    parts.add(version);
    // The operator's flags (`--jvm_flags`, `$JVMFLAGS`): a part of their own, added last so that
    // an operator's -Xmx or -D wins (the JVM takes the last of repeated flags).
    parts.add(Contribution { jvm_args: settings.java.jvm_flags.clone(), ..Contribution::default() });
    let mut plan = Plan::new(settings, identity, program, run_as, guard, parts)?;
    signals.checkpoint()?;
    // Last of all: deciding the membership may add this server to the running ensemble, which
    // no later refusal could take back (an orphan observer blocks every resize). Everything
    // that can refuse the start has been checked by now.
    let dynamic = match pending {
        Some(pending) => {
            let decided = pending.decide(!plan.settings.dry_run, signals)?;
            plan.complete(membership, decided.contribution())?;
            signals.checkpoint()?;
            Some(decided)
        }
        None => None,
    };

    if plan.settings.dry_run {
        crate::output::write_stdout(&plan.dry_run_report())?;
        return Ok(ExitCode::from(exit::SUCCESS));
    }
    plan.write(signals)?;
    // Before ownership is given: the walk never meets the older dynamic files this removes.
    if let Some(d) = &dynamic {
        d.apply()?;
    }
    plan.hand_over(signals)?;
    signals.checkpoint()?;
    tracing::info!("running {}", plan.program.display());
    if let (Some(watch), Program::Jvm(_)) = (&tls_watch, &plan.program) {
        tls_watch::spawn(watch, &plan.run_as, privileges, signals);
    }
    let mut exit_meanings = plan.exit_meanings();
    if let Program::Jvm(_) = &plan.program {
        exit_meanings.extend(version::zookeeper_exit_meanings());
    }
    let mut child =
        plan.program.child(&plan.run_as, &plan.settings.supervision.exit_code_map, privileges, exit_meanings);
    if let (Some(d), Some(file)) = (&dynamic, &plan.settings.reconfig.super_password_file) {
        d.spawn_joiner(plan.settings.ports.client, file, signals)?;
        // Every member: an observer promoted later may lead by the time it stops.
        if let Program::Jvm(_) = &plan.program {
            if plan.settings.security.quorum_password_file.is_some() {
                // A demoted leader restarts as an observer, and with quorum SASL its election
                // connections with the new leader failed authentication during a 3.8 <-> 3.9
                // roll (versions:: upgrade test): it never synced. Until that is understood the
                // stop falls back to an election, which costs time but never the pod.
                tracing::info!(
                    "no leader hand-off on stop: not with quorum SASL (--quorum_password_file) yet; a stop of the leader is an election (docs/rolling.md)"
                );
            } else {
                child.hand_off = Some(d.hand_off(plan.settings.ports.client, file)?);
            }
        }
    }
    supervise::run(&child, signals)
}

fn current_hostname() -> anyhow::Result<String> {
    let name = hostname::get().map_err(|e| anyhow::anyhow!("cannot read the host name: {e}"))?;
    name.into_string().or_else(|raw| {
        exit::usage(format!("host name {raw:?} is not valid UTF-8; set a DNS-style host name"))
    })
}

/// What every start writes: zoo.cfg's own keys, the logging files, java.env and myid, the
/// data, log and conf directories, and the JVM's fixed arguments. Refuses a data directory in a
/// system directory and a volume that holds another server's myid.
fn base(settings: &Settings, identity: &Identity, guard: &Guard) -> anyhow::Result<Contribution> {
    let paths = &settings.paths;
    let owned = [
        ("--data_dir", &paths.data_dir),
        ("--data_log_dir", &paths.data_log_dir),
        ("--log_dir", &paths.log_dir),
    ];
    for (flag, dir) in owned {
        refuse_system_dir(flag, dir, dir)?;
        if let Some(open) = paths::open_dir(dir, guard, false)? {
            refuse_system_dir(flag, dir, &open.real)?;
        }
    }
    let conf =
        |name: &str, contents| File { path: paths.conf_dir.join(name), group: Group::Config, contents };
    let level = settings.server.log_level;
    let mut files = vec![
        conf("zoo.cfg", Contents::ZooCfg),
        conf("log4j.properties", Contents::Public(render::log4j_properties(level))),
        conf("logback.xml", Contents::Public(render::logback_xml(level))),
        conf("java.env", Contents::JavaEnv { log_dir: paths.log_dir.clone() }),
    ];
    files.extend(myid_file(&paths.data_dir, identity.myid, guard)?);
    let entries = render::zoo_cfg_entries(settings, identity);
    Ok(Contribution {
        zoo_cfg: entries.into_iter().map(|(k, v)| Entry::new(k, v)).collect(),
        files,
        dirs: [&paths.data_dir, &paths.data_log_dir, &paths.log_dir, &paths.conf_dir]
            .map(|d| Dir::new(d.clone()))
            .into(),
        owned_dirs: vec![paths.data_dir.clone(), paths.data_log_dir.clone(), paths.log_dir.clone()],
        jvm_args: jvm::fixed_options(paths),
        ..Contribution::default()
    })
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
fn myid_file(data_dir: &Path, myid: u64, guard: &Guard) -> anyhow::Result<Option<File>> {
    let path = data_dir.join("myid");
    let Some(existing) = files::read_optional(&path, guard)? else {
        return Ok(Some(File {
            path,
            group: Group::Identity,
            contents: Contents::Public(render::myid(myid)),
        }));
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

    fn myid_in(dir: &tempfile::TempDir, contents: Option<&str>) -> anyhow::Result<Option<File>> {
        if let Some(text) = contents {
            std::fs::write(dir.path().join("myid"), text).unwrap();
        }
        myid_file(dir.path(), 2, &Guard::none())
    }

    #[test]
    fn myid_is_written_when_absent() {
        let dir = tempfile::tempdir().unwrap();
        let file = myid_in(&dir, None).unwrap().expect("a new myid");
        assert_eq!(
            file,
            File {
                path: dir.path().join("myid"),
                group: Group::Identity,
                contents: Contents::Public("2\n".to_string())
            }
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
