//! The high layer of `start`'s input: every value of [`StartArgs`] checked and typed, in groups
//! by concern. Each group checks its own values and owns the rules between them
//! (the id space in [`Ensemble`], distinct ports in [`Ports`], the session timeouts' order in
//! [`Timing`], the `--set` keys in [`ServerOptions`]).
//!
//! Invariant: every check on user input happens here, before anything on disk is looked at or
//! touched, and every failure is a [`crate::exit::Usage`] error whose message names the flag (or
//! `ZK_*` variable), the value given and what would be accepted. The names come with the values
//! ([`crate::parse::Raw`]): nothing here calls back into the command line.

mod ensemble;
mod java;
mod ports;
mod reconfig;
mod security;
mod server;
mod supervision;
mod timing;

use std::path::PathBuf;

use crate::start::args::StartArgs;

pub(crate) use ensemble::Ensemble;
pub(crate) use java::{Heap, Java, MIN_HEAP, MIN_HEAP_BYTES};
pub(crate) use ports::Ports;
pub(crate) use reconfig::Reconfig;
pub(crate) use security::{JAAS_FILE, PASSWORD_PATH_KEYS, QuorumTls, Security, Tls};
pub(crate) use server::{LogLevel, ServerOptions, zoo_cfg_value_problem};
pub(crate) use supervision::Supervision;
pub(crate) use timing::Timing;

/// Everything `start` needs from its flags, checked.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) paths: Paths,
    pub(crate) ensemble: Ensemble,
    pub(crate) reconfig: Reconfig,
    pub(crate) ports: Ports,
    pub(crate) timing: Timing,
    pub(crate) server: ServerOptions,
    pub(crate) java: Java,
    pub(crate) supervision: Supervision,
    pub(crate) security: Security,
    /// Check everything and print the plan; change nothing.
    pub(crate) dry_run: bool,
}

/// Where ZooKeeper keeps its data and logs, and where zk-entry writes the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paths {
    pub(crate) data_dir: PathBuf,
    pub(crate) data_log_dir: PathBuf,
    pub(crate) log_dir: PathBuf,
    pub(crate) conf_dir: PathBuf,
}

impl Settings {
    /// Check and convert the input.
    pub(crate) fn from_input(a: &StartArgs) -> anyhow::Result<Settings> {
        let ensemble = Ensemble::from_input(a)?;
        let ports = Ports::from_input(a)?;
        let server = ServerOptions::from_input(a)?;
        let set_keys: Vec<&str> = server.extra.iter().map(|(k, _)| k.as_str()).collect();
        let security = Security::from_input(a, &set_keys, &ports)?;
        let paths = Paths {
            data_dir: a.data_dir.absolute_path()?,
            data_log_dir: a.data_log_dir.absolute_path()?,
            log_dir: a.log_dir.absolute_path()?,
            conf_dir: a.conf_dir.absolute_path()?,
        };
        let mut java = Java::from_input(a)?;
        java.netty_jars = security.tls.is_some();
        java.admin_jars = ports.admin.is_some();
        Ok(Settings {
            paths,
            reconfig: Reconfig::from_input(a, &ensemble)?,
            ensemble,
            ports,
            timing: Timing::from_input(a)?,
            server,
            java,
            supervision: Supervision::from_input(a)?,
            security,
            dry_run: a.dry_run.as_ref().map(|raw| raw.switch()).transpose()?.unwrap_or(false),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::parse::tests::refusal;

    /// The settings `zk-entry start FLAGS...` gives with these variables read outside clap
    /// (`JVMFLAGS`, the switches' `ZK_*`).
    pub(crate) fn settings_with_env(flags: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        Settings::from_input(&crate::start::args::tests::start_args(flags, env)?)
    }

    /// The settings `zk-entry start FLAGS...` gives.
    pub(crate) fn settings(flags: &[&str]) -> anyhow::Result<Settings> {
        settings_with_env(flags, &[])
    }

    /// The one-line refusal of `zk-entry start FLAGS...`, checked to contain each needle.
    pub(crate) fn rejects(flags: &[&str], needles: &[&str]) {
        let line = refusal(settings(flags));
        for needle in needles {
            assert!(line.contains(needle), "'{line}' lacks '{needle}'");
        }
    }

    #[test]
    fn defaults_match_the_script() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.ensemble.servers, 1);
        assert_eq!(s.paths.data_dir, PathBuf::from("/var/lib/zookeeper/data"));
        assert_eq!(s.paths.data_log_dir, PathBuf::from("/var/lib/zookeeper/data/log"));
        assert_eq!(s.paths.conf_dir, PathBuf::from("/opt/zookeeper/conf"));
        assert_eq!((s.ports.client, s.ports.server, s.ports.election), (2181, 2888, 3888));
        assert_eq!((s.timing.tick_time, s.timing.init_limit, s.timing.sync_limit), (2000, 10, 5));
        assert_eq!(s.java.heap, Heap::Size("2G".into()));
        assert_eq!((s.timing.min_session_timeout, s.timing.max_session_timeout), (4000, 40000));
        assert_eq!(s.server.four_lw_whitelist, "ruok,srvr,mntr");
        assert_eq!(s.ports.admin, None);
        assert_eq!(s.server.log_level, LogLevel::Info);
        assert!(!s.dry_run);
    }

    #[test]
    fn bad_numbers_name_flag_value_and_range() {
        rejects(&["--servers=abc"], &["--servers", "'abc'", "1 to 255"]);
        rejects(&["--servers=0"], &["--servers", "out of range"]);
        rejects(&["--tick_time=-5"], &["--tick_time", "'-5'"]);
        rejects(&["--init_limit=99999999999999999999999"], &["--init_limit", "out of range"]);
        rejects(&["--max_client_cnxns=1.5"], &["--max_client_cnxns"]);
        rejects(&["--purge_interval="], &["--purge_interval", "not a whole number"]);
    }

    #[test]
    fn paths_must_be_absolute_and_single_line() {
        rejects(&["--data_dir=data"], &["--data_dir", "absolute"]);
        rejects(&["--conf_dir=./conf"], &["--conf_dir"]);
        rejects(&["--log_dir=/var/log\nx"], &["--log_dir", "control character"]);
    }

    #[test]
    fn dry_run_from_the_flag_or_its_variable() {
        let dry = |flags: &[&str], value: Option<&str>| {
            let env: Vec<(&str, &str)> = value.map(|v| ("ZK_DRY_RUN", v)).into_iter().collect();
            settings_with_env(flags, &env)
        };
        assert!(dry(&[], Some("yes")).unwrap().dry_run);
        assert!(dry(&[], Some("TRUE")).unwrap().dry_run);
        assert!(!dry(&[], Some("0")).unwrap().dry_run);
        assert!(!dry(&[], None).unwrap().dry_run);
        assert!(dry(&["--dry-run"], Some("false")).unwrap().dry_run, "the flag wins");
        let line = refusal(dry(&[], Some("maybe")));
        assert!(
            line.contains("ZK_DRY_RUN (environment): 'maybe'") && line.contains("true or false"),
            "{line}"
        );
    }
}
