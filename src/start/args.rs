//! `zk-entry start`'s flags, each defined once, and the hidden `tls-watch` that `start` runs,
//! with the arguments it runs it with.
//!
//! A flag is one field: its help, its long name (start-zookeeper's spelling), its default and
//! the [`Raw`] it arrives as. Its kebab-case spelling and its `ZK_<FLAG>` variable come from the
//! long name ([`flag::aliased_with_variable`]); a flag on the command line wins over its
//! variable. What clap does not read is read by [`StartArgs::with_environment`]: the switches'
//! variables, `$JVMFLAGS`, and the one-entry-per-line variables `ZK_SET` and `ZK_SET_FILE`.
//! [`crate::start::settings`] checks the values.
//!
//! The structs carry plain comments, not doc comments: their definitions are deferred until the
//! subcommand runs (crate::cli), and a doc comment would then replace the subcommand's about line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::{ArgAction, Args};

use crate::exit;
use crate::flag;
use crate::parse::{Raw, Source};
use crate::reach::AuthorisedArgs;

/// zkServer.sh appends this variable's JVM flags; so does zk-entry.
const JVMFLAGS_VAR: &str = "JVMFLAGS";

// Flags of `zk-entry start` (and of `start-zookeeper`). The four switches (flags without a
// value) read their `ZK_*` variable in `with_environment`, where any text is taken and checked
// by the settings as any other value: clap would accept only true or false there, and name
// neither the variable nor the choices. Their help says so in `[env: ...]`.
#[derive(Debug, Clone, Args)]
#[command(next_line_help = false, mut_args = flag::aliased_with_variable)]
pub(crate) struct StartArgs {
    /// Number of servers in the ensemble (the StatefulSet's replicas); 1 runs standalone
    #[arg(long = "servers", default_value = "1", value_name = "N")]
    pub(crate) servers: Raw,

    /// Snapshot directory; holds myid
    #[arg(long = "data_dir", default_value = "/var/lib/zookeeper/data", value_name = "DIR")]
    pub(crate) data_dir: Raw,

    /// Transaction log directory; not given, start-zookeeper's /var/lib/zookeeper/log when that holds the logs
    #[arg(long = "data_log_dir", default_value = "/var/lib/zookeeper/data/log", value_name = "DIR")]
    pub(crate) data_log_dir: Raw,

    /// ZooKeeper's log directory (zookeeper.log.dir, ZOO_LOG_DIR); logs go to stdout
    #[arg(long = "log_dir", default_value = "/var/log/zookeeper", value_name = "DIR")]
    pub(crate) log_dir: Raw,

    /// Where zoo.cfg, log4j.properties, logback.xml and java.env are written
    #[arg(long = "conf_dir", default_value = "/opt/zookeeper/conf", value_name = "DIR")]
    pub(crate) conf_dir: Raw,

    /// Port for client connections
    #[arg(long = "client_port", default_value = "2181", value_name = "PORT")]
    pub(crate) client_port: Raw,

    /// Port followers use to talk to the leader
    #[arg(long = "server_port", default_value = "2888", value_name = "PORT")]
    pub(crate) server_port: Raw,

    /// Port for leader election
    #[arg(long = "election_port", default_value = "3888", value_name = "PORT")]
    pub(crate) election_port: Raw,

    /// Length of a tick in milliseconds
    #[arg(long = "tick_time", default_value = "2000", value_name = "MS")]
    pub(crate) tick_time: Raw,

    /// Ticks a follower may take to connect and sync to the leader
    #[arg(long = "init_limit", default_value = "10", value_name = "TICKS")]
    pub(crate) init_limit: Raw,

    /// Ticks a follower may lag behind the leader
    #[arg(long = "sync_limit", default_value = "5", value_name = "TICKS")]
    pub(crate) sync_limit: Raw,

    /// JVM heap, as for -Xmx (digits and k, m or g), or N% of the container's memory limit (e.g. 75%)
    #[arg(long = "heap", default_value = "2G", value_name = "SIZE")]
    pub(crate) heap: Raw,

    /// Most concurrent connections from one client address (0 = no limit)
    #[arg(long = "max_client_cnxns", default_value = "60", value_name = "N")]
    pub(crate) max_client_cnxns: Raw,

    /// Snapshots kept by the purge task (at least 3)
    #[arg(long = "snap_retain_count", default_value = "3", value_name = "N")]
    pub(crate) snap_retain_count: Raw,

    /// Hours between purges of old snapshots and logs (0 = never)
    #[arg(long = "purge_interval", default_value = "0", value_name = "HOURS")]
    pub(crate) purge_interval: Raw,

    // Named even when not given (an empty default): the messages about the derived defaults
    // name the flag.
    /// Smallest session timeout a client may get, in ms [default: 2 x tick_time]
    #[arg(long = "min_session_timeout", value_name = "MS", default_value = "", hide_default_value = true)]
    pub(crate) min_session_timeout: Raw,

    /// Largest session timeout a client may get, in ms [default: 20 x tick_time]
    #[arg(long = "max_session_timeout", value_name = "MS", default_value = "", hide_default_value = true)]
    pub(crate) max_session_timeout: Raw,

    /// ZooKeeper's log level: TRACE, DEBUG, INFO, WARN, ERROR or FATAL
    #[arg(long = "log_level", default_value = "INFO", value_name = "LEVEL")]
    pub(crate) log_level: Raw,

    /// The pods' DNS domain (e.g. zk-hs.default.svc.cluster.local) [default: from /etc/hosts, then the resolver]
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub(crate) domain: Option<Raw>,

    /// Four-letter words the server answers (4lw.commands.whitelist), comma-separated, or *
    #[arg(long = "4lw_whitelist", default_value = "ruok,srvr,mntr", value_name = "WORDS")]
    pub(crate) four_lw_whitelist: Raw,

    /// Enable the AdminServer on this port [default: AdminServer off]
    #[arg(long = "admin_server_port", value_name = "PORT")]
    pub(crate) admin_server_port: Option<Raw>,

    /// Address the AdminServer binds to [default: 127.0.0.1]
    #[arg(long = "admin_server_address", value_name = "ADDR")]
    pub(crate) admin_server_address: Option<Raw>,

    /// Listen for quorum and election traffic on all addresses (quorumListenOnAllIPs=true) [env: ZK_QUORUM_LISTEN_ON_ALL_IPS=true|false]
    #[arg(long = "quorum_listen_on_all_ips", action = ArgAction::SetTrue)]
    pub(crate) quorum_listen_on_all_ips: Option<Raw>,

    /// Server id of ordinal 0; myid = ordinal + this (for StatefulSets sharing an id space)
    #[arg(long = "min_server_id", default_value = "1", value_name = "ID")]
    pub(crate) min_server_id: Raw,

    /// How many of the highest ordinals are observers (non-voting members that serve clients)
    #[arg(long = "observers", default_value = "0", value_name = "K")]
    pub(crate) observers: Raw,

    /// Dynamic membership: scale with kubectl scale and zk-entry resize; the membership lives on the data volume [env: ZK_RECONFIG=true|false]
    #[arg(long = "reconfig", action = ArgAction::SetTrue)]
    pub(crate) reconfig: Option<Raw>,

    /// A digest super user 'super' (addauth digest super:PASSWORD) with the password in this file (a Secret volume); needed by --reconfig
    #[arg(long = "super_password_file", value_name = "PATH")]
    pub(crate) super_password_file: Option<Raw>,

    /// Any other zoo.cfg key, repeatable (ZK_SET: one KEY=VALUE per line)
    // No value_delimiter: clap would split a flag's value too, and a newline inside a secret
    // would cut it in two; only the variable is split, by `lines`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) set: Vec<Raw>,

    /// A zoo.cfg key whose value is the contents of a file (a Secret volume), one trailing newline trimmed; shown as <redacted>, repeatable (ZK_SET_FILE: one KEY=PATH per line)
    #[arg(long = "set_file", value_name = "KEY=PATH")]
    pub(crate) set_file: Vec<Raw>,

    /// Quorum SASL (DIGEST-MD5): the file holding the password every server logs in to the others with; servers without it are refused
    #[arg(long = "quorum_password_file", value_name = "PATH")]
    pub(crate) quorum_password_file: Option<Raw>,

    /// Client SASL (DIGEST-MD5), enforced: a directory (Secret volume) with one file per user, holding its password
    #[arg(long = "client_sasl_users_dir", value_name = "DIR")]
    pub(crate) client_sasl_users_dir: Option<Raw>,

    /// TLS for clients and the quorum from a cert-manager Secret volume holding tls.crt, tls.key and ca.crt; checked before start, reloaded when the Secret changes; --client_port then binds to 127.0.0.1 only
    #[arg(long = "tls_dir", value_name = "DIR")]
    pub(crate) tls_dir: Option<Raw>,

    /// Port for TLS client connections (with --tls_dir)
    #[arg(long = "secure_client_port", default_value = "2281", value_name = "PORT")]
    pub(crate) secure_client_port: Raw,

    /// With --tls_dir, the plaintext client port: loopback (127.0.0.1 only, for the probes, metrics and kubectl exec) or off (ready and metrics then cannot reach the server)
    #[arg(long = "client_plaintext", value_name = "MODE")]
    pub(crate) client_plaintext: Option<Raw>,

    /// Quorum TLS with --tls_dir: on; or, to switch a running plaintext ensemble in three rolling restarts, accept (plaintext out, both in), then both (TLS out, both in), then on
    #[arg(long = "quorum_tls", value_name = "MODE")]
    pub(crate) quorum_tls: Option<Raw>,

    /// The java binary [default: $JAVA_HOME/bin/java, else java on PATH]
    #[arg(long = "java", value_name = "PATH")]
    pub(crate) java: Option<Raw>,

    /// ZooKeeper install: an upstream release (zookeeper-*.jar, lib/) or Debian's /usr/share/java [default: /opt/zookeeper, then /usr/share/java]
    #[arg(long = "zk_home", value_name = "DIR")]
    pub(crate) zk_home: Option<Raw>,

    /// JVM classpath, used as given instead of searching --zk_home
    #[arg(long = "classpath", value_name = "CP")]
    pub(crate) classpath: Option<Raw>,

    /// The ZooKeeper version that runs (e.g. 3.9.4), for the settings that depend on it [default: read from the server jar's name on the classpath]
    #[arg(long = "zk_version", value_name = "X.Y.Z")]
    pub(crate) zk_version: Option<Raw>,

    /// Extra JVM flags, split on white space; $JVMFLAGS is appended
    #[arg(long = "jvm_flags", value_name = "FLAGS", allow_hyphen_values = true)]
    pub(crate) jvm_flags: Option<Raw>,

    // `$JVMFLAGS`, appended to `--jvm_flags` as zkServer.sh does; read by `with_environment`.
    #[arg(skip)]
    pub(crate) jvmflags_env: Option<Raw>,

    /// Check everything, print the files and the JVM command line, change nothing [env: ZK_DRY_RUN=true|false]
    #[arg(long = "dry-run", action = ArgAction::SetTrue)]
    pub(crate) dry_run: Option<Raw>,

    /// User ZooKeeper runs as when zk-entry starts as root (NAME, UID or UID:GID); zk-entry gives it the data and log directories [default: zookeeper, else 1000:1000]
    #[arg(long = "user", value_name = "USER", default_value = "zookeeper", hide_default_value = true)]
    pub(crate) user: Raw,

    /// Let ZooKeeper gain privileges again: without it the child starts with no_new_privs set and, when zk-entry switches users, an empty capability bounding set, so a setuid program in the image cannot lead back to root [env: ZK_KEEP_PRIVILEGES=true|false]
    #[arg(long = "keep_privileges", action = ArgAction::SetTrue)]
    pub(crate) keep_privileges: Option<Raw>,

    /// Exit with TO when ZooKeeper's status is FROM (e.g. 143:0 for a clean SIGTERM); repeatable (ZK_EXIT_CODE_MAP: comma-separated)
    #[arg(long = "exit_code_map", value_name = "FROM:TO", value_delimiter = ',')]
    pub(crate) exit_code_map: Vec<Raw>,

    // `-- COMMAND [ARGS...]`; empty for the JVM command line.
    /// Run this instead of the JVM command line, after preparing everything (e.g. -- zkServer.sh start-foreground)
    #[arg(last = true, value_name = "COMMAND", value_parser = clap::value_parser!(OsString))]
    pub(crate) command: Vec<OsString>,
}

impl StartArgs {
    /// Complete what clap parsed with what it does not read: a switch not given as a flag takes
    /// its variable's value, `$JVMFLAGS` is read, and `ZK_SET` and `ZK_SET_FILE` become one
    /// entry per line. `env` is the process environment (`process_env` in crate::cli) or a test's.
    pub(crate) fn with_environment(
        mut self,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> anyhow::Result<StartArgs> {
        self.quorum_listen_on_all_ips = switch(self.quorum_listen_on_all_ips, env)?;
        self.reconfig = switch(self.reconfig, env)?;
        self.jvmflags_env = variable(JVMFLAGS_VAR, env)?;
        self.dry_run = switch(self.dry_run, env)?;
        self.keep_privileges = switch(self.keep_privileges, env)?;
        // Blank lines of ZK_SET (a YAML block scalar ends in a newline, and entries may be
        // spaced out) are not entries; a blank `--set ''` is still refused by the settings.
        self.set = lines(self.set)
            .into_iter()
            .filter(|raw| raw.source != Source::Environment || !raw.text.trim().is_empty())
            .collect();
        self.set_file = lines(self.set_file);
        Ok(self)
    }
}

/// A switch: given as a flag it is on (`true`, under the flag's name); otherwise its variable,
/// if set, decides, checked later.
fn switch(flag: Option<Raw>, env: &dyn Fn(&str) -> Option<OsString>) -> anyhow::Result<Option<Raw>> {
    match flag {
        Some(raw) if raw.is_given() => Ok(Some(raw)),
        // Not given: clap's default (`false`), under the flag's name.
        Some(raw) => variable(&flag::variable_of(raw.name.trim_start_matches('-')), env),
        // A switch always has a value from clap; already completed, it stays as it is.
        None => Ok(None),
    }
}

/// The variable `name` from `env`, named as one; one that is not UTF-8 is refused rather than
/// mangled.
fn variable(name: &str, env: &dyn Fn(&str) -> Option<OsString>) -> anyhow::Result<Option<Raw>> {
    match env(name).map(OsString::into_string) {
        None => Ok(None),
        Some(Ok(text)) => Ok(Some(Raw::new(flag::variable(name), text, Source::Environment))),
        Some(Err(_)) => exit::usage(format!("{name} (environment) is not valid UTF-8; fix the variable")),
    }
}

/// The values of a repeatable flag whose variable holds one value per line. Only the variable
/// is split: a flag's value is one value whatever it holds, so a line break in it is refused by
/// the settings as it is (for a secret key, without quoting the value) instead of being cut in
/// two and quoted as a second entry.
fn lines(values: Vec<Raw>) -> Vec<Raw> {
    values
        .into_iter()
        .flat_map(|raw| match raw.source {
            Source::Environment => {
                raw.text.split('\n').map(|line| Raw::new(raw.name.clone(), line, raw.source)).collect()
            }
            _ => vec![raw],
        })
        .collect()
}

// Arguments of the hidden `zk-entry tls-watch`, given by `start` only ([`Watch::argv`]).
#[derive(Debug, Clone, Args)]
pub(crate) struct TlsWatchArgs {
    #[command(flatten)]
    pub(crate) watch: Watch,

    /// Check once, print the key store, exit (start's pre-start check, kept out of PID 1)
    #[arg(long = "check")]
    pub(crate) check: bool,
}

// What the TLS helper is told: the Secret's directory, the key store to keep current, and the
// name its certificate must carry (crate::start::tls_watch).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub(crate) struct Watch {
    #[arg(long = "tls_dir", value_parser = OsStringValueParser::new().map(PathBuf::from))]
    pub(crate) tls_dir: PathBuf,
    #[arg(long = "store", value_parser = OsStringValueParser::new().map(PathBuf::from))]
    pub(crate) store: PathBuf,
    #[arg(long = "fqdn")]
    pub(crate) fqdn: String,
}

impl Watch {
    /// `zk-entry tls-watch` for this watch, as `start` runs it (after the program); `check` for
    /// the one-off check.
    pub(crate) fn argv(&self, check: bool) -> Vec<OsString> {
        let mut argv = vec![OsString::from("tls-watch")];
        if check {
            argv.push("--check".into());
        }
        argv.extend([
            "--tls_dir".into(),
            self.tls_dir.clone().into(),
            "--store".into(),
            self.store.clone().into(),
            "--fqdn".into(),
            self.fqdn.clone().into(),
        ]);
        argv
    }
}

// Flags of the hidden `zk-entry join`, given by `start --reconfig` only ([`JoinArgs::argv`]).
#[derive(Debug, Clone, Args)]
#[command(mut_args = flag::aliased)]
pub(crate) struct JoinArgs {
    #[command(flatten)]
    pub(crate) authorised: AuthorisedArgs,

    /// This server's participant line, server.N=HOST:QUORUM:ELECTION:participant;CLIENT
    #[arg(long = "line", value_name = "LINE")]
    pub(crate) line: Raw,

    /// The shape to record when the ensemble has none: start's --servers
    #[arg(long = "size", value_name = "N")]
    pub(crate) size: Raw,

    /// The observers of that shape: start's --observers
    #[arg(long = "observers", value_name = "K")]
    pub(crate) observers: Raw,
}

/// How long `join` may wait for its server to serve and be promoted: a joiner syncs the
/// ensemble's data first.
const JOIN_TIMEOUT: &str = "600s";
/// How long `handoff` may take (docs/design.md, "Hand-off before a stop"): a demotion commits and
/// the successor leads in well under a second; PID 1 waits [`HANDOFF_BOUND`] at most.
const HANDOFF_TIMEOUT: &str = "4s";
/// How long PID 1 holds the SIGTERM for `handoff`: its timeout and a second to exit.
pub(crate) const HANDOFF_BOUND: std::time::Duration = std::time::Duration::from_secs(5);

/// The two helpers that take [`JoinArgs`]: `join` beside an observer's JVM, `handoff` on the
/// first SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Helper {
    Join,
    Handoff,
}

impl JoinArgs {
    /// `zk-entry join` or `zk-entry handoff` (after the program) as `start --reconfig` runs them:
    /// through the server's own client port, with this server's participant `line`, the shape
    /// of `--servers` and `--observers` (the one `join` records when none is, and the one
    /// `handoff` expects the restart's `join` to go by), and the super user's password file.
    pub(crate) fn argv(
        helper: Helper,
        client_port: u16,
        line: &str,
        size: u64,
        observers: u64,
        password_file: &Path,
    ) -> Vec<OsString> {
        let (command, timeout) = match helper {
            Helper::Join => ("join", JOIN_TIMEOUT),
            Helper::Handoff => ("handoff", HANDOFF_TIMEOUT),
        };
        let mut argv: Vec<OsString> = [
            command.to_string(),
            format!("--timeout={timeout}"),
            "--server".to_string(),
            format!("127.0.0.1:{client_port}"),
            format!("--line={line}"),
            format!("--size={size}"),
            format!("--observers={observers}"),
            "--super_password_file".to_string(),
        ]
        .map(OsString::from)
        .into();
        argv.push(password_file.into());
        argv
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use clap::{Args as _, FromArgMatches as _};

    use super::*;

    /// `zk-entry start FLAGS...` as typed, with these variables read outside clap (`JVMFLAGS`,
    /// the switches' `ZK_*`).
    pub(crate) fn start_args(flags: &[&str], env: &[(&str, &str)]) -> anyhow::Result<StartArgs> {
        let mut command = StartArgs::augment_args(clap::Command::new("start"));
        let matches = command.try_get_matches_from_mut(std::iter::once(&"start").chain(flags))?;
        let lookup = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v));
        StartArgs::from_arg_matches(&matches)?.with_environment(&lookup)
    }

    #[test]
    fn a_switch_not_given_takes_its_variable() {
        let args =
            start_args(&["--reconfig"], &[("ZK_RECONFIG", "no"), ("ZK_KEEP_PRIVILEGES", "on")]).unwrap();
        assert_eq!(args.reconfig, Some(Raw::new("--reconfig", "true", Source::CommandLine)));
        assert_eq!(
            args.keep_privileges,
            Some(Raw::new("ZK_KEEP_PRIVILEGES (environment)", "on", Source::Environment))
        );
        assert_eq!(args.quorum_listen_on_all_ips, None);
        let args = start_args(&["--quorum-listen-on-all-ips", "--dry_run"], &[]).unwrap();
        assert_eq!(args.quorum_listen_on_all_ips.unwrap().name, "--quorum_listen_on_all_ips");
        assert_eq!(args.dry_run.unwrap().name, "--dry-run");
    }

    #[test]
    fn the_session_timeouts_are_named_when_not_given() {
        let args = start_args(&[], &[]).unwrap();
        assert_eq!(args.min_session_timeout, Raw::new("--min_session_timeout", "", Source::Default));
        assert_eq!(args.max_session_timeout, Raw::new("--max_session_timeout", "", Source::Default));
    }

    #[test]
    fn exit_code_maps_are_split_at_commas_each_named() {
        let args = start_args(&["--exit_code_map=143:0,1:2", "--exit-code-map=3:4"], &[]).unwrap();
        let texts: Vec<&str> = args.exit_code_map.iter().map(|raw| raw.text.as_str()).collect();
        assert_eq!(texts, ["143:0", "1:2", "3:4"]);
        assert!(args.exit_code_map.iter().all(|raw| raw.name == "--exit_code_map"));
    }

    #[test]
    fn only_a_variable_is_split_into_lines() {
        let raw = |text: &str, source| Raw::new("x", text, source);
        let split = lines(vec![raw("a\nb", Source::Environment), raw("c\nd", Source::CommandLine)]);
        assert_eq!(
            split,
            [raw("a", Source::Environment), raw("b", Source::Environment), raw("c\nd", Source::CommandLine)]
        );
    }

    /// The argv `start` gives the TLS helper names its flags as defined: crate::cli's tests
    /// parse it back.
    #[test]
    fn the_tls_helpers_argv_lists_its_flags() {
        let watch = Watch { tls_dir: "/t".into(), store: "/s".into(), fqdn: "zk-0.zk-hs".into() };
        let argv = watch.argv(true);
        assert_eq!(
            argv,
            ["tls-watch", "--check", "--tls_dir", "/t", "--store", "/s", "--fqdn", "zk-0.zk-hs"]
        );
        assert_eq!(watch.argv(false).len(), argv.len() - 1);
    }
}
