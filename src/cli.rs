//! The command line as typed: clap definitions, multi-call dispatch on the program name, and
//! clap's own errors folded into one `zk-entry:` line.
//!
//! This layer holds raw input only (numbers stay strings): turning it into checked settings is
//! [`crate::settings`]'s job for `start` and [`crate::probe_settings`]'s for `ready` and
//! `metrics`, so that every bad-value message comes from one place. It also
//! remembers where each value came from (flag or `ZK_*` variable) so those messages can name the
//! right one.

use std::ffi::OsString;
use std::path::Path;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::exit;

/// Program names under which the binary acts as one subcommand (the tutorial image's scripts),
/// with that subcommand.
const ALIASES: &[(&str, &str)] =
    &[("start-zookeeper", "start"), ("zookeeper-ready", "ready"), ("zookeeper-metrics", "metrics")];

#[derive(Debug, Parser)]
#[command(
    name = "zk-entry",
    version,
    about = "Entrypoint, probe and metrics for Apache ZooKeeper in a Kubernetes StatefulSet",
    disable_help_subcommand = true,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Built once per process and taken apart at once: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Write zoo.cfg, logging configuration and myid for this pod, then run ZooKeeper
    Start(StartArgs),
    /// Probe: exit 0 when ZooKeeper is alive (ruok, else srvr); with --quorum, only when it serves clients
    Ready(ReadyArgs),
    /// Print the server's mntr metrics: as received (raw), as Prometheus text, or as AdminServer JSON
    Metrics(MetricsArgs),
}

/// Where `ready` and `metrics` connect, and how long they may take. Raw text: checked in
/// [`crate::probe_settings`].
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// ZooKeeper's client port
    #[arg(value_name = "PORT", default_value = "2181")]
    pub port: String,

    /// Host name or address of the server
    #[arg(long = "host", default_value = "127.0.0.1", value_name = "HOST")]
    pub host: String,

    /// Deadline for the whole exchange (connect, send, read): 800, 800ms, 1s or 1.5s
    #[arg(long = "timeout", default_value = "800ms", value_name = "DURATION")]
    pub timeout: String,
}

/// Flags of `zk-entry ready` (and of `zookeeper-ready`).
#[derive(Debug, Clone, Args)]
pub struct ReadyArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Succeed only when srvr reports Mode: leader, follower, observer or standalone (readiness
    /// for a Service with publishNotReadyAddresses: true; never for liveness)
    #[arg(long = "quorum")]
    pub quorum: bool,

    /// With --quorum, also accept Mode: read-only
    #[arg(long = "allow_read_only", alias = "allow-read-only")]
    pub allow_read_only: bool,
}

/// Flags of `zk-entry metrics` (and of `zookeeper-metrics`).
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Output: raw (mntr's bytes), prometheus (text exposition) or json (AdminServer's /commands/monitor)
    #[arg(long = "format", default_value = "raw", value_name = "FORMAT")]
    pub format: String,
}

/// Flags of `zk-entry start`. Underscore names are the start-zookeeper spellings; kebab-case
/// spellings are accepted too. Every flag also reads `ZK_<FLAG>` from the environment; a flag on
/// the command line wins. The two switches read theirs in [`crate::settings`], because clap
/// accepts only `true`/`false` there and names neither the variable nor the choices.
#[derive(Debug, Clone, Args)]
#[command(next_line_help = false)]
pub struct StartArgs {
    /// Number of servers in the ensemble (the StatefulSet's replicas); 1 runs standalone
    #[arg(long = "servers", env = "ZK_SERVERS", default_value = "1", value_name = "N")]
    pub servers: String,

    /// Snapshot directory; holds myid
    #[arg(
        long = "data_dir",
        alias = "data-dir",
        env = "ZK_DATA_DIR",
        default_value = "/var/lib/zookeeper/data",
        value_name = "DIR"
    )]
    pub data_dir: String,

    /// Transaction log directory
    #[arg(
        long = "data_log_dir",
        alias = "data-log-dir",
        env = "ZK_DATA_LOG_DIR",
        default_value = "/var/lib/zookeeper/data/log",
        value_name = "DIR"
    )]
    pub data_log_dir: String,

    /// ZooKeeper's log directory (zookeeper.log.dir, ZOO_LOG_DIR); logs go to stdout
    #[arg(
        long = "log_dir",
        alias = "log-dir",
        env = "ZK_LOG_DIR",
        default_value = "/var/log/zookeeper",
        value_name = "DIR"
    )]
    pub log_dir: String,

    /// Where zoo.cfg, log4j.properties, logback.xml and java.env are written
    #[arg(
        long = "conf_dir",
        alias = "conf-dir",
        env = "ZK_CONF_DIR",
        default_value = "/opt/zookeeper/conf",
        value_name = "DIR"
    )]
    pub conf_dir: String,

    /// Port for client connections
    #[arg(
        long = "client_port",
        alias = "client-port",
        env = "ZK_CLIENT_PORT",
        default_value = "2181",
        value_name = "PORT"
    )]
    pub client_port: String,

    /// Port followers use to talk to the leader
    #[arg(
        long = "server_port",
        alias = "server-port",
        env = "ZK_SERVER_PORT",
        default_value = "2888",
        value_name = "PORT"
    )]
    pub server_port: String,

    /// Port for leader election
    #[arg(
        long = "election_port",
        alias = "election-port",
        env = "ZK_ELECTION_PORT",
        default_value = "3888",
        value_name = "PORT"
    )]
    pub election_port: String,

    /// Length of a tick in milliseconds
    #[arg(
        long = "tick_time",
        alias = "tick-time",
        env = "ZK_TICK_TIME",
        default_value = "2000",
        value_name = "MS"
    )]
    pub tick_time: String,

    /// Ticks a follower may take to connect and sync to the leader
    #[arg(
        long = "init_limit",
        alias = "init-limit",
        env = "ZK_INIT_LIMIT",
        default_value = "10",
        value_name = "TICKS"
    )]
    pub init_limit: String,

    /// Ticks a follower may lag behind the leader
    #[arg(
        long = "sync_limit",
        alias = "sync-limit",
        env = "ZK_SYNC_LIMIT",
        default_value = "5",
        value_name = "TICKS"
    )]
    pub sync_limit: String,

    /// JVM heap, as for -Xmx (digits and k, m or g)
    #[arg(long = "heap", env = "ZK_HEAP", default_value = "2G", value_name = "SIZE")]
    pub heap: String,

    /// Most concurrent connections from one client address (0 = no limit)
    #[arg(
        long = "max_client_cnxns",
        alias = "max-client-cnxns",
        env = "ZK_MAX_CLIENT_CNXNS",
        default_value = "60",
        value_name = "N"
    )]
    pub max_client_cnxns: String,

    /// Snapshots kept by the purge task (at least 3)
    #[arg(
        long = "snap_retain_count",
        alias = "snap-retain-count",
        env = "ZK_SNAP_RETAIN_COUNT",
        default_value = "3",
        value_name = "N"
    )]
    pub snap_retain_count: String,

    /// Hours between purges of old snapshots and logs (0 = never)
    #[arg(
        long = "purge_interval",
        alias = "purge-interval",
        env = "ZK_PURGE_INTERVAL",
        default_value = "0",
        value_name = "HOURS"
    )]
    pub purge_interval: String,

    /// Smallest session timeout a client may get, in ms [default: 2 x tick_time]
    #[arg(
        long = "min_session_timeout",
        alias = "min-session-timeout",
        env = "ZK_MIN_SESSION_TIMEOUT",
        value_name = "MS"
    )]
    pub min_session_timeout: Option<String>,

    /// Largest session timeout a client may get, in ms [default: 20 x tick_time]
    #[arg(
        long = "max_session_timeout",
        alias = "max-session-timeout",
        env = "ZK_MAX_SESSION_TIMEOUT",
        value_name = "MS"
    )]
    pub max_session_timeout: Option<String>,

    /// ZooKeeper's log level: TRACE, DEBUG, INFO, WARN, ERROR or FATAL
    #[arg(
        long = "log_level",
        alias = "log-level",
        env = "ZK_LOG_LEVEL",
        default_value = "INFO",
        value_name = "LEVEL"
    )]
    pub log_level: String,

    /// The pods' DNS domain (e.g. zk-hs.default.svc.cluster.local) [default: from /etc/hosts, then the resolver]
    #[arg(long = "domain", env = "ZK_DOMAIN", value_name = "DOMAIN")]
    pub domain: Option<String>,

    /// Four-letter words the server answers (4lw.commands.whitelist), comma-separated, or *
    #[arg(
        long = "4lw_whitelist",
        alias = "4lw-whitelist",
        env = "ZK_4LW_WHITELIST",
        default_value = "ruok,srvr,mntr",
        value_name = "WORDS"
    )]
    pub four_lw_whitelist: String,

    /// Enable the AdminServer on this port [default: AdminServer off]
    #[arg(
        long = "admin_server_port",
        alias = "admin-server-port",
        env = "ZK_ADMIN_SERVER_PORT",
        value_name = "PORT"
    )]
    pub admin_server_port: Option<String>,

    /// Address the AdminServer binds to [default: 127.0.0.1]
    #[arg(
        long = "admin_server_address",
        alias = "admin-server-address",
        env = "ZK_ADMIN_SERVER_ADDRESS",
        value_name = "ADDR"
    )]
    pub admin_server_address: Option<String>,

    /// Listen for quorum and election traffic on all addresses (quorumListenOnAllIPs=true) [env: ZK_QUORUM_LISTEN_ON_ALL_IPS=true|false]
    #[arg(long = "quorum_listen_on_all_ips", alias = "quorum-listen-on-all-ips")]
    pub quorum_listen_on_all_ips: bool,

    /// Server id of ordinal 0; myid = ordinal + this (for StatefulSets sharing an id space)
    #[arg(
        long = "min_server_id",
        alias = "min-server-id",
        env = "ZK_MIN_SERVER_ID",
        default_value = "1",
        value_name = "ID"
    )]
    pub min_server_id: String,

    /// Any other zoo.cfg key, repeatable (ZK_SET: one KEY=VALUE per line)
    #[arg(long = "set", env = "ZK_SET", value_name = "KEY=VALUE", value_delimiter = '\n')]
    pub set: Vec<String>,

    /// The java binary [default: $JAVA_HOME/bin/java, else java on PATH]
    #[arg(long = "java", env = "ZK_JAVA", value_name = "PATH")]
    pub java: Option<String>,

    /// ZooKeeper install: an upstream release (zookeeper-*.jar, lib/) or Debian's /usr/share/java [default: /opt/zookeeper, then /usr/share/java]
    #[arg(long = "zk_home", alias = "zk-home", env = "ZK_ZK_HOME", value_name = "DIR")]
    pub zk_home: Option<String>,

    /// JVM classpath, used as given instead of searching --zk_home
    #[arg(long = "classpath", env = "ZK_CLASSPATH", value_name = "CP")]
    pub classpath: Option<String>,

    /// Extra JVM flags, split on white space; $JVMFLAGS is appended
    #[arg(
        long = "jvm_flags",
        alias = "jvm-flags",
        env = "ZK_JVM_FLAGS",
        value_name = "FLAGS",
        allow_hyphen_values = true
    )]
    pub jvm_flags: Option<String>,

    /// Check everything, print the files and the JVM command line, change nothing [env: ZK_DRY_RUN=true|false]
    #[arg(long = "dry-run", alias = "dry_run")]
    pub dry_run: bool,

    /// User ZooKeeper runs as when zk-entry starts as root (NAME, UID or UID:GID); zk-entry gives it the data and log directories [default: zookeeper, else 1000:1000]
    #[arg(long = "user", env = "ZK_USER", value_name = "USER")]
    pub user: Option<String>,

    /// Exit with TO when ZooKeeper's status is FROM (e.g. 143:0 for a clean SIGTERM); repeatable (ZK_EXIT_CODE_MAP: comma-separated)
    #[arg(
        long = "exit_code_map",
        alias = "exit-code-map",
        env = "ZK_EXIT_CODE_MAP",
        value_name = "FROM:TO",
        value_delimiter = ','
    )]
    pub exit_code_map: Vec<String>,

    /// Run this instead of the JVM command line, after preparing everything (e.g. -- zkServer.sh start-foreground)
    #[arg(last = true, value_name = "COMMAND", value_parser = clap::value_parser!(OsString))]
    pub command: Vec<OsString>,
}

/// What the user asked for, with the provenance needed for error messages.
pub enum Invocation {
    Start(Box<Start>),
    Ready(ReadyArgs),
    Metrics(MetricsArgs),
    /// Help or version text to print on stdout, exit 0.
    Info(String),
}

/// `zk-entry start` as typed.
pub struct Start {
    pub args: StartArgs,
    matches: ArgMatches,
}

impl Start {
    /// How to name the input behind argument `id` in a message: `--servers`, or
    /// `ZK_SERVERS (environment)` when the value came from the environment.
    pub fn name_of(&self, id: &str) -> String {
        let command = Cli::command();
        let arg = command
            .find_subcommand("start")
            .and_then(|start| start.get_arguments().find(|a| a.get_id() == id));
        let Some(arg) = arg else {
            return id.to_string();
        };
        let long = arg.get_long().unwrap_or(id);
        match (self.matches.value_source(id), arg.get_env()) {
            (Some(ValueSource::EnvVariable), Some(env)) => {
                format!("{} (environment)", env.to_string_lossy())
            }
            _ => format!("--{long}"),
        }
    }

    /// True when the value of `id` came from its `ZK_*` variable.
    pub fn from_env(&self, id: &str) -> bool {
        self.matches.value_source(id) == Some(ValueSource::EnvVariable)
    }
}

/// Parse the process arguments. `args[0]` selects the subcommand when the binary runs under a
/// script's name (a symlink), so `start-zookeeper --servers=3` is `zk-entry start --servers=3`.
pub fn parse(args: Vec<OsString>) -> anyhow::Result<Invocation> {
    let mut args = args;
    let program = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some((_, subcommand)) = ALIASES.iter().find(|(alias, _)| *alias == program) {
        args.insert(1, OsString::from(subcommand));
    }
    let matches = match Cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(err) => return clap_outcome(err),
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|e| exit::Usage(clap_line(&e)))?;
    match cli.command {
        Command::Start(args) => {
            let (_, sub) = matches.subcommand().ok_or_else(|| exit::Usage("no subcommand".into()))?;
            Ok(Invocation::Start(Box::new(Start { args, matches: sub.clone() })))
        }
        Command::Ready(args) => Ok(Invocation::Ready(args)),
        Command::Metrics(args) => Ok(Invocation::Metrics(args)),
    }
}

/// Help and version requests are successes; everything else clap rejects is a usage error.
fn clap_outcome(err: clap::Error) -> anyhow::Result<Invocation> {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(Invocation::Info(err.render().to_string())),
        _ => exit::usage(clap_line(&err)),
    }
}

/// clap's error reduced to its first line, plus the suggestion clap found, if any.
fn clap_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let first = rendered.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut line = first.to_string();
    match err.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => line.push_str(&format!("; did you mean {s}?")),
        Some(ContextValue::Strings(list)) if !list.is_empty() => {
            line.push_str(&format!("; did you mean {}?", list.join(" or ")));
        }
        _ => {}
    }
    if err.kind() == ErrorKind::MissingSubcommand
        || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    {
        line = "no subcommand given; expected one of: start, ready, metrics".to_string();
    }
    line.push_str(" (see zk-entry --help)");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> anyhow::Result<Invocation> {
        parse(args.iter().map(OsString::from).collect())
    }

    fn start(args: &[&str]) -> Start {
        match parse_strs(args) {
            Ok(Invocation::Start(s)) => *s,
            Ok(_) => panic!("not start"),
            Err(e) => panic!("parse failed: {e:#}"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn equals_space_and_kebab_spellings_agree() {
        let a = start(&["zk-entry", "start", "--data_dir=/d", "--tick_time", "3000"]);
        let b = start(&["zk-entry", "start", "--data-dir", "/d", "--tick-time=3000"]);
        assert_eq!(a.args.data_dir, "/d");
        assert_eq!(b.args.data_dir, "/d");
        assert_eq!(a.args.tick_time, "3000");
        assert_eq!(b.args.tick_time, "3000");
    }

    #[test]
    fn start_zookeeper_name_means_start() {
        let s = start(&["/usr/local/bin/start-zookeeper", "--servers=3"]);
        assert_eq!(s.args.servers, "3");
        assert_eq!(s.name_of("servers"), "--servers");
    }

    #[test]
    fn unknown_flag_is_one_line_usage_error_with_suggestion() {
        let err = parse_strs(&["zk-entry", "start", "--servres=3"]).err().expect("must fail");
        assert_eq!(exit::code_of(&err), exit::USAGE);
        let line = exit::one_line(&err);
        assert!(line.contains("--servres"), "{line}");
        assert!(line.contains("--servers"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn stray_positional_is_rejected() {
        let err = parse_strs(&["start-zookeeper", "foo", "--servers=5"]).err().expect("must fail");
        assert_eq!(exit::code_of(&err), exit::USAGE);
        assert!(exit::one_line(&err).contains("foo"));
    }

    #[test]
    fn help_is_not_an_error() {
        assert!(matches!(parse_strs(&["zk-entry", "start", "--help"]), Ok(Invocation::Info(_))));
    }

    #[test]
    fn command_after_double_dash_keeps_its_own_flags() {
        let s = start(&["zk-entry", "start", "--servers=1", "--", "/bin/zkServer.sh", "--servers=9", "-x"]);
        assert_eq!(s.args.servers, "1");
        assert_eq!(s.args.command, vec!["/bin/zkServer.sh", "--servers=9", "-x"]);
        assert!(start(&["zk-entry", "start"]).args.command.is_empty());
    }

    #[test]
    fn script_names_select_the_probes() {
        match parse_strs(&["/usr/local/bin/zookeeper-ready", "2181"]) {
            Ok(Invocation::Ready(r)) => {
                assert_eq!(r.target.port, "2181");
                assert_eq!(r.target.host, "127.0.0.1");
                assert_eq!(r.target.timeout, "800ms");
                assert!(!r.quorum);
            }
            _ => panic!("zookeeper-ready is not ready"),
        }
        match parse_strs(&["zookeeper-metrics"]) {
            Ok(Invocation::Metrics(m)) => {
                assert_eq!(m.target.port, "2181");
                assert_eq!(m.format, "raw");
            }
            _ => panic!("zookeeper-metrics is not metrics"),
        }
    }

    #[test]
    fn allow_read_only_has_a_kebab_spelling() {
        assert!(matches!(
            parse_strs(&["zk-entry", "ready", "--quorum", "--allow-read-only"]),
            Ok(Invocation::Ready(r)) if r.allow_read_only
        ));
    }

    #[test]
    fn set_is_repeatable() {
        let s = start(&["zk-entry", "start", "--set", "a=1", "--set=b=2"]);
        assert_eq!(s.args.set, vec!["a=1", "b=2"]);
    }
}
