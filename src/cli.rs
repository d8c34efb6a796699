//! The command line as typed: clap definitions, multi-call dispatch on the program name, and
//! clap's own errors folded into one `zk-entry:` line.
//!
//! The low layer of the two (ripgrep's split of raw and checked arguments): it holds input only,
//! as text, but each value already carries the name it was given under ([`Raw`]: `--servers`,
//! `ZK_SERVERS (environment)`, `PORT`), worked out here once from clap's definition. The high
//! layer ([`crate::start::settings`] for `start`, [`crate::probe::settings`] for the probes) checks
//! the values without calling back here, so every bad-value message comes from one place and
//! names the right flag or variable.

use std::ffi::OsString;
use std::path::Path;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::exit;
use crate::parse::{Raw, Source};

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
//
// `defer`: a subcommand's arguments are defined only when it runs (or its help is shown), not on
// every call: building all of them, 44 `start` flags among them, was most of what a `ready` probe
// cost (docs/performance.md, "Probes"). The deferred definitions are applied after the variant's
// attributes and would override them, so the `Args` structs below carry plain comments, not doc
// comments: a doc comment there would replace the subcommand's about line in its help.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
#[command(defer = true)]
enum Command {
    /// Write zoo.cfg, logging configuration and myid for this pod, then run ZooKeeper
    Start(StartArgs),
    /// Probe: exit 0 when ZooKeeper is alive (ruok, else srvr); with --quorum, only when it serves clients
    Ready(ReadyArgs),
    /// Print the server's mntr metrics: as received (raw), as Prometheus text, or as AdminServer JSON
    Metrics(MetricsArgs),
    /// Internal: started by `start --tls_dir` to keep the key store current
    #[command(name = "tls-watch", hide = true)]
    TlsWatch(TlsWatchArgs),
    /// Print the ensemble's committed membership (from /zookeeper/config): id, host, role, ports
    Members(MembersArgs),
    /// Give a --reconfig ensemble ordinals 0..N-1, the highest K observing, one change at a time; before kubectl scale --replicas=N
    Resize(ResizeArgs),
    /// preStop of a --reconfig pod: leave the membership only if zk-entry resize removed this ordinal
    Leave(LeaveArgs),
    /// Promote this joining server to a voter once it serves (run by start --reconfig)
    #[command(hide = true)]
    Join(JoinArgs),
}

// Flags of `zk-entry resize`.
#[derive(Debug, Clone, Args)]
struct ResizeArgs {
    /// The number of members to keep: ordinals 0 to N-1 stay
    #[arg(value_name = "N")]
    size: String,

    /// How many of them, the highest ordinals, are observers [default: the number recorded, else 0]
    #[arg(long = "observers", value_name = "K")]
    observers: Option<String>,

    #[command(flatten)]
    authorised: AuthorisedArgs,
}

// Flags of `zk-entry leave`.
#[derive(Debug, Clone, Args)]
struct LeaveArgs {
    #[command(flatten)]
    authorised: AuthorisedArgs,
}

// Flags of the hidden `zk-entry join`.
#[derive(Debug, Clone, Args)]
struct JoinArgs {
    #[command(flatten)]
    authorised: AuthorisedArgs,

    /// This server's participant line, server.N=HOST:QUORUM:ELECTION:participant;CLIENT
    #[arg(long = "line", value_name = "LINE")]
    line: String,

    /// The shape to record when the ensemble has none: start's --servers
    #[arg(long = "size", value_name = "N")]
    size: String,

    /// The observers of that shape: start's --observers
    #[arg(long = "observers", value_name = "K")]
    observers: String,
}

// The commands that change the membership: where they reach it, and the super user's secret.
#[derive(Debug, Clone, Args)]
struct AuthorisedArgs {
    #[command(flatten)]
    ensemble: EnsembleArgs,

    /// File holding the super user's password
    #[arg(
        long = "super_password_file",
        alias = "super-password-file",
        env = "ZK_SUPER_PASSWORD_FILE",
        value_name = "PATH"
    )]
    super_password_file: String,
}

// Flags of `zk-entry members`.
#[derive(Debug, Clone, Args)]
struct MembersArgs {
    #[command(flatten)]
    ensemble: EnsembleArgs,
}

// Where the membership commands reach the ensemble, and how long they may take.
#[derive(Debug, Clone, Args)]
struct EnsembleArgs {
    /// Servers to ask, tried in order: HOST:PORT, comma-separated
    #[arg(
        long = "server",
        env = "ZK_ENTRY_SERVER",
        default_value = "127.0.0.1:2181",
        value_name = "HOST:PORT,..."
    )]
    server: String,

    /// Deadline for the whole command: 800ms, 5s, 90s
    #[arg(long = "timeout", default_value = "30s", value_name = "DURATION")]
    timeout: String,
}

// The helper's arguments, given by `start` only.
#[derive(Debug, Clone, Args)]
struct TlsWatchArgs {
    #[arg(long = "tls_dir")]
    tls_dir: OsString,
    #[arg(long = "store")]
    store: OsString,
    #[arg(long = "fqdn")]
    fqdn: String,
    /// Check once, print the key store, exit (start's pre-start check, kept out of PID 1)
    #[arg(long = "check")]
    check: bool,
}

// Where `ready` and `metrics` connect, and how long they may take. Raw text: checked in
// crate::probe::settings.
#[derive(Debug, Clone, Args)]
struct TargetArgs {
    /// ZooKeeper's client port
    #[arg(value_name = "PORT", default_value = "2181")]
    port: String,

    /// Host name or address of the server
    #[arg(long = "host", default_value = "127.0.0.1", value_name = "HOST")]
    host: String,

    /// Deadline for the whole exchange (connect, send, read): 800, 800ms, 1s or 1.5s
    #[arg(long = "timeout", default_value = "800ms", value_name = "DURATION")]
    timeout: String,
}

// Flags of `zk-entry ready` (and of `zookeeper-ready`).
#[derive(Debug, Clone, Args)]
struct ReadyArgs {
    #[command(flatten)]
    target: TargetArgs,

    /// Succeed only when srvr reports Mode: leader, follower, observer or standalone (readiness
    /// for a Service with publishNotReadyAddresses: true; never for liveness)
    #[arg(long = "quorum")]
    quorum: bool,

    /// With --quorum, also accept Mode: read-only
    #[arg(long = "allow_read_only", alias = "allow-read-only")]
    allow_read_only: bool,
}

// Flags of `zk-entry metrics` (and of `zookeeper-metrics`).
#[derive(Debug, Clone, Args)]
struct MetricsArgs {
    #[command(flatten)]
    target: TargetArgs,

    /// Output: raw (mntr's bytes), prometheus (text exposition) or json (AdminServer's /commands/monitor)
    #[arg(long = "format", default_value = "raw", value_name = "FORMAT")]
    format: String,
}

// Flags of `zk-entry start`. Underscore names are the start-zookeeper spellings; kebab-case
// spellings are accepted too. Every flag also reads `ZK_<FLAG>` from the environment; a flag on
// the command line wins. The two switches' variables are read by `Named::switch`.
#[derive(Debug, Clone, Args)]
#[command(next_line_help = false)]
struct StartArgs {
    /// Number of servers in the ensemble (the StatefulSet's replicas); 1 runs standalone
    #[arg(long = "servers", env = "ZK_SERVERS", default_value = "1", value_name = "N")]
    servers: String,

    /// Snapshot directory; holds myid
    #[arg(
        long = "data_dir",
        alias = "data-dir",
        env = "ZK_DATA_DIR",
        default_value = "/var/lib/zookeeper/data",
        value_name = "DIR"
    )]
    data_dir: String,

    /// Transaction log directory
    #[arg(
        long = "data_log_dir",
        alias = "data-log-dir",
        env = "ZK_DATA_LOG_DIR",
        default_value = "/var/lib/zookeeper/data/log",
        value_name = "DIR"
    )]
    data_log_dir: String,

    /// ZooKeeper's log directory (zookeeper.log.dir, ZOO_LOG_DIR); logs go to stdout
    #[arg(
        long = "log_dir",
        alias = "log-dir",
        env = "ZK_LOG_DIR",
        default_value = "/var/log/zookeeper",
        value_name = "DIR"
    )]
    log_dir: String,

    /// Where zoo.cfg, log4j.properties, logback.xml and java.env are written
    #[arg(
        long = "conf_dir",
        alias = "conf-dir",
        env = "ZK_CONF_DIR",
        default_value = "/opt/zookeeper/conf",
        value_name = "DIR"
    )]
    conf_dir: String,

    /// Port for client connections
    #[arg(
        long = "client_port",
        alias = "client-port",
        env = "ZK_CLIENT_PORT",
        default_value = "2181",
        value_name = "PORT"
    )]
    client_port: String,

    /// Port followers use to talk to the leader
    #[arg(
        long = "server_port",
        alias = "server-port",
        env = "ZK_SERVER_PORT",
        default_value = "2888",
        value_name = "PORT"
    )]
    server_port: String,

    /// Port for leader election
    #[arg(
        long = "election_port",
        alias = "election-port",
        env = "ZK_ELECTION_PORT",
        default_value = "3888",
        value_name = "PORT"
    )]
    election_port: String,

    /// Length of a tick in milliseconds
    #[arg(
        long = "tick_time",
        alias = "tick-time",
        env = "ZK_TICK_TIME",
        default_value = "2000",
        value_name = "MS"
    )]
    tick_time: String,

    /// Ticks a follower may take to connect and sync to the leader
    #[arg(
        long = "init_limit",
        alias = "init-limit",
        env = "ZK_INIT_LIMIT",
        default_value = "10",
        value_name = "TICKS"
    )]
    init_limit: String,

    /// Ticks a follower may lag behind the leader
    #[arg(
        long = "sync_limit",
        alias = "sync-limit",
        env = "ZK_SYNC_LIMIT",
        default_value = "5",
        value_name = "TICKS"
    )]
    sync_limit: String,

    /// JVM heap, as for -Xmx (digits and k, m or g), or N% of the container's memory limit (e.g. 75%)
    #[arg(long = "heap", env = "ZK_HEAP", default_value = "2G", value_name = "SIZE")]
    heap: String,

    /// Most concurrent connections from one client address (0 = no limit)
    #[arg(
        long = "max_client_cnxns",
        alias = "max-client-cnxns",
        env = "ZK_MAX_CLIENT_CNXNS",
        default_value = "60",
        value_name = "N"
    )]
    max_client_cnxns: String,

    /// Snapshots kept by the purge task (at least 3)
    #[arg(
        long = "snap_retain_count",
        alias = "snap-retain-count",
        env = "ZK_SNAP_RETAIN_COUNT",
        default_value = "3",
        value_name = "N"
    )]
    snap_retain_count: String,

    /// Hours between purges of old snapshots and logs (0 = never)
    #[arg(
        long = "purge_interval",
        alias = "purge-interval",
        env = "ZK_PURGE_INTERVAL",
        default_value = "0",
        value_name = "HOURS"
    )]
    purge_interval: String,

    /// Smallest session timeout a client may get, in ms [default: 2 x tick_time]
    #[arg(
        long = "min_session_timeout",
        alias = "min-session-timeout",
        env = "ZK_MIN_SESSION_TIMEOUT",
        value_name = "MS"
    )]
    min_session_timeout: Option<String>,

    /// Largest session timeout a client may get, in ms [default: 20 x tick_time]
    #[arg(
        long = "max_session_timeout",
        alias = "max-session-timeout",
        env = "ZK_MAX_SESSION_TIMEOUT",
        value_name = "MS"
    )]
    max_session_timeout: Option<String>,

    /// ZooKeeper's log level: TRACE, DEBUG, INFO, WARN, ERROR or FATAL
    #[arg(
        long = "log_level",
        alias = "log-level",
        env = "ZK_LOG_LEVEL",
        default_value = "INFO",
        value_name = "LEVEL"
    )]
    log_level: String,

    /// The pods' DNS domain (e.g. zk-hs.default.svc.cluster.local) [default: from /etc/hosts, then the resolver]
    #[arg(long = "domain", env = "ZK_DOMAIN", value_name = "DOMAIN")]
    domain: Option<String>,

    /// Four-letter words the server answers (4lw.commands.whitelist), comma-separated, or *
    #[arg(
        long = "4lw_whitelist",
        alias = "4lw-whitelist",
        env = "ZK_4LW_WHITELIST",
        default_value = "ruok,srvr,mntr",
        value_name = "WORDS"
    )]
    four_lw_whitelist: String,

    /// Enable the AdminServer on this port [default: AdminServer off]
    #[arg(
        long = "admin_server_port",
        alias = "admin-server-port",
        env = "ZK_ADMIN_SERVER_PORT",
        value_name = "PORT"
    )]
    admin_server_port: Option<String>,

    /// Address the AdminServer binds to [default: 127.0.0.1]
    #[arg(
        long = "admin_server_address",
        alias = "admin-server-address",
        env = "ZK_ADMIN_SERVER_ADDRESS",
        value_name = "ADDR"
    )]
    admin_server_address: Option<String>,

    /// Listen for quorum and election traffic on all addresses (quorumListenOnAllIPs=true) [env: ZK_QUORUM_LISTEN_ON_ALL_IPS=true|false]
    #[arg(long = "quorum_listen_on_all_ips", alias = "quorum-listen-on-all-ips")]
    quorum_listen_on_all_ips: bool,

    /// Server id of ordinal 0; myid = ordinal + this (for StatefulSets sharing an id space)
    #[arg(
        long = "min_server_id",
        alias = "min-server-id",
        env = "ZK_MIN_SERVER_ID",
        default_value = "1",
        value_name = "ID"
    )]
    min_server_id: String,

    /// How many of the highest ordinals are observers (non-voting members that serve clients)
    #[arg(long = "observers", env = "ZK_OBSERVERS", default_value = "0", value_name = "K")]
    observers: String,

    /// Dynamic membership: scale with kubectl scale and zk-entry resize; the membership lives on the data volume [env: ZK_RECONFIG=true|false]
    #[arg(long = "reconfig")]
    reconfig: bool,

    /// A digest super user 'super' (addauth digest super:PASSWORD) with the password in this file (a Secret volume); needed by --reconfig
    #[arg(
        long = "super_password_file",
        alias = "super-password-file",
        env = "ZK_SUPER_PASSWORD_FILE",
        value_name = "PATH"
    )]
    super_password_file: Option<String>,

    /// Any other zoo.cfg key, repeatable (ZK_SET: one KEY=VALUE per line)
    // No value_delimiter: clap would split a flag's value too, and a newline inside a secret
    // would cut it in two; the variable is split by [`Named::lines`].
    #[arg(long = "set", env = "ZK_SET", value_name = "KEY=VALUE")]
    set: Vec<String>,

    /// A zoo.cfg key whose value is the contents of a file (a Secret volume), one trailing newline trimmed; shown as <redacted>, repeatable (ZK_SET_FILE: one KEY=PATH per line)
    #[arg(long = "set_file", alias = "set-file", env = "ZK_SET_FILE", value_name = "KEY=PATH")]
    set_file: Vec<String>,

    /// Quorum SASL (DIGEST-MD5): the file holding the password every server logs in to the others with; servers without it are refused
    #[arg(
        long = "quorum_password_file",
        alias = "quorum-password-file",
        env = "ZK_QUORUM_PASSWORD_FILE",
        value_name = "PATH"
    )]
    quorum_password_file: Option<String>,

    /// Client SASL (DIGEST-MD5), enforced: a directory (Secret volume) with one file per user, holding its password
    #[arg(
        long = "client_sasl_users_dir",
        alias = "client-sasl-users-dir",
        env = "ZK_CLIENT_SASL_USERS_DIR",
        value_name = "DIR"
    )]
    client_sasl_users_dir: Option<String>,

    /// TLS for clients and the quorum from a cert-manager Secret volume holding tls.crt, tls.key and ca.crt; checked before start, reloaded when the Secret changes; --client_port then binds to 127.0.0.1 only
    #[arg(long = "tls_dir", alias = "tls-dir", env = "ZK_TLS_DIR", value_name = "DIR")]
    tls_dir: Option<String>,

    /// Port for TLS client connections (with --tls_dir)
    #[arg(
        long = "secure_client_port",
        alias = "secure-client-port",
        env = "ZK_SECURE_CLIENT_PORT",
        default_value = "2281",
        value_name = "PORT"
    )]
    secure_client_port: String,

    /// With --tls_dir, the plaintext client port: loopback (127.0.0.1 only, for the probes, metrics and kubectl exec) or off (ready and metrics then cannot reach the server)
    #[arg(
        long = "client_plaintext",
        alias = "client-plaintext",
        env = "ZK_CLIENT_PLAINTEXT",
        value_name = "MODE"
    )]
    client_plaintext: Option<String>,

    /// Quorum TLS with --tls_dir: on; or, to switch a running plaintext ensemble in three rolling restarts, accept (plaintext out, both in), then both (TLS out, both in), then on
    #[arg(long = "quorum_tls", alias = "quorum-tls", env = "ZK_QUORUM_TLS", value_name = "MODE")]
    quorum_tls: Option<String>,

    /// The java binary [default: $JAVA_HOME/bin/java, else java on PATH]
    #[arg(long = "java", env = "ZK_JAVA", value_name = "PATH")]
    java: Option<String>,

    /// ZooKeeper install: an upstream release (zookeeper-*.jar, lib/) or Debian's /usr/share/java [default: /opt/zookeeper, then /usr/share/java]
    #[arg(long = "zk_home", alias = "zk-home", env = "ZK_ZK_HOME", value_name = "DIR")]
    zk_home: Option<String>,

    /// JVM classpath, used as given instead of searching --zk_home
    #[arg(long = "classpath", env = "ZK_CLASSPATH", value_name = "CP")]
    classpath: Option<String>,

    /// Extra JVM flags, split on white space; $JVMFLAGS is appended
    #[arg(
        long = "jvm_flags",
        alias = "jvm-flags",
        env = "ZK_JVM_FLAGS",
        value_name = "FLAGS",
        allow_hyphen_values = true
    )]
    jvm_flags: Option<String>,

    /// Check everything, print the files and the JVM command line, change nothing [env: ZK_DRY_RUN=true|false]
    #[arg(long = "dry-run", alias = "dry_run")]
    dry_run: bool,

    /// User ZooKeeper runs as when zk-entry starts as root (NAME, UID or UID:GID); zk-entry gives it the data and log directories [default: zookeeper, else 1000:1000]
    #[arg(
        long = "user",
        env = "ZK_USER",
        value_name = "USER",
        default_value = "zookeeper",
        hide_default_value = true
    )]
    user: String,

    /// Let ZooKeeper gain privileges again: without it the child starts with no_new_privs set and, when zk-entry switches users, an empty capability bounding set, so a setuid program in the image cannot lead back to root [env: ZK_KEEP_PRIVILEGES=true|false]
    #[arg(long = "keep_privileges", alias = "keep-privileges")]
    keep_privileges: bool,

    /// Exit with TO when ZooKeeper's status is FROM (e.g. 143:0 for a clean SIGTERM); repeatable (ZK_EXIT_CODE_MAP: comma-separated)
    #[arg(
        long = "exit_code_map",
        alias = "exit-code-map",
        env = "ZK_EXIT_CODE_MAP",
        value_name = "FROM:TO",
        value_delimiter = ','
    )]
    exit_code_map: Vec<String>,

    /// Run this instead of the JVM command line, after preparing everything (e.g. -- zkServer.sh start-foreground)
    #[arg(last = true, value_name = "COMMAND", value_parser = clap::value_parser!(OsString))]
    command: Vec<OsString>,
}

/// What the user asked for: each value with the name it was given under.
pub(crate) enum Invocation {
    Start(Box<StartInput>),
    Ready(ReadyInput),
    Metrics(MetricsInput),
    /// The TLS watcher that `start` runs.
    TlsWatch(crate::start::tls_watch::Watch, bool),
    Members(EnsembleInput),
    Join(JoinInput),
    Resize(ResizeInput),
    Leave(AuthorisedInput),
    /// Help or version text to print on stdout, exit 0.
    Info(String),
}

/// `zk-entry start` as typed; [`crate::start::settings`] checks it.
pub(crate) struct StartInput {
    pub(crate) servers: Raw,
    pub(crate) data_dir: Raw,
    pub(crate) data_log_dir: Raw,
    pub(crate) log_dir: Raw,
    pub(crate) conf_dir: Raw,
    pub(crate) client_port: Raw,
    pub(crate) server_port: Raw,
    pub(crate) election_port: Raw,
    pub(crate) tick_time: Raw,
    pub(crate) init_limit: Raw,
    pub(crate) sync_limit: Raw,
    pub(crate) heap: Raw,
    pub(crate) max_client_cnxns: Raw,
    pub(crate) snap_retain_count: Raw,
    pub(crate) purge_interval: Raw,
    /// Named even when not given: the cross-flag messages about the derived defaults name them.
    pub(crate) min_session_timeout: Raw,
    pub(crate) max_session_timeout: Raw,
    pub(crate) log_level: Raw,
    pub(crate) domain: Option<Raw>,
    pub(crate) four_lw_whitelist: Raw,
    pub(crate) admin_server_port: Option<Raw>,
    pub(crate) admin_server_address: Option<Raw>,
    /// A switch: the flag (`true`), else its `ZK_*` variable, else `None`.
    pub(crate) quorum_listen_on_all_ips: Option<Raw>,
    pub(crate) min_server_id: Raw,
    pub(crate) observers: Raw,
    /// A switch, as `quorum_listen_on_all_ips`.
    pub(crate) reconfig: Option<Raw>,
    pub(crate) super_password_file: Option<Raw>,
    pub(crate) set: Vec<Raw>,
    pub(crate) set_file: Vec<Raw>,
    pub(crate) quorum_password_file: Option<Raw>,
    pub(crate) client_sasl_users_dir: Option<Raw>,
    pub(crate) tls_dir: Option<Raw>,
    pub(crate) secure_client_port: Raw,
    pub(crate) quorum_tls: Option<Raw>,
    pub(crate) client_plaintext: Option<Raw>,
    pub(crate) java: Option<Raw>,
    pub(crate) zk_home: Option<Raw>,
    pub(crate) classpath: Option<Raw>,
    pub(crate) jvm_flags: Option<Raw>,
    /// `$JVMFLAGS`, appended to `--jvm_flags` as zkServer.sh does.
    pub(crate) jvmflags_env: Option<Raw>,
    pub(crate) dry_run: Option<Raw>,
    pub(crate) user: Raw,
    pub(crate) keep_privileges: Option<Raw>,
    pub(crate) exit_code_map: Vec<Raw>,
    /// `-- COMMAND [ARGS...]`; empty for the JVM command line.
    pub(crate) command: Vec<OsString>,
}

/// Where `ready` and `metrics` connect, and how long they may take.
pub(crate) struct TargetInput {
    pub(crate) port: Raw,
    pub(crate) host: Raw,
    pub(crate) timeout: Raw,
}

/// `zk-entry ready` as typed.
pub(crate) struct ReadyInput {
    pub(crate) target: TargetInput,
    pub(crate) quorum: bool,
    pub(crate) allow_read_only: bool,
}

/// Where a membership command reaches the ensemble, as typed.
pub(crate) struct EnsembleInput {
    pub(crate) server: Raw,
    pub(crate) timeout: Raw,
}

/// A membership-changing command's target and secret, as typed.
pub(crate) struct AuthorisedInput {
    pub(crate) ensemble: EnsembleInput,
    pub(crate) super_password_file: Raw,
}

/// `zk-entry resize` as typed.
pub(crate) struct ResizeInput {
    pub(crate) size: Raw,
    pub(crate) observers: Option<Raw>,
    pub(crate) authorised: AuthorisedInput,
}

/// `zk-entry join` as typed.
pub(crate) struct JoinInput {
    pub(crate) authorised: AuthorisedInput,
    pub(crate) line: Raw,
    pub(crate) size: Raw,
    pub(crate) observers: Raw,
}

/// `zk-entry metrics` as typed.
pub(crate) struct MetricsInput {
    pub(crate) target: TargetInput,
    pub(crate) format: Raw,
}

/// The two switches' variables: clap would accept only `true`/`false` there and name neither
/// the variable nor the choices, so they are read here and checked as any other value.
const QUORUM_LISTEN_ON_ALL_IPS_VAR: &str = "ZK_QUORUM_LISTEN_ON_ALL_IPS";
const DRY_RUN_VAR: &str = "ZK_DRY_RUN";
const KEEP_PRIVILEGES_VAR: &str = "ZK_KEEP_PRIVILEGES";
const RECONFIG_VAR: &str = "ZK_RECONFIG";
/// zkServer.sh appends this variable's JVM flags; so does zk-entry.
const JVMFLAGS_VAR: &str = "JVMFLAGS";

/// The process environment, as [`parse`] reads it.
pub(crate) fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// Parse the process arguments. `args[0]` selects the subcommand when the binary runs under a
/// script's name (a symlink), so `start-zookeeper --servers=3` is `zk-entry start --servers=3`.
/// `env` gives the variables read outside clap (clap reads the `ZK_<FLAG>` ones itself).
pub(crate) fn parse(
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<Invocation> {
    let mut args = args;
    let program = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let alias = ALIASES.iter().find(|(alias, _)| *alias == program);
    if let Some((_, subcommand)) = alias {
        args.insert(1, OsString::from(subcommand));
    }
    let mut command = Cli::command();
    if let Some((alias, _)) = alias {
        command = command.bin_name(*alias);
    }
    let matches = match command.try_get_matches_from_mut(&args) {
        Ok(m) => m,
        Err(err) => {
            // Point at the help of what was typed: `start-zookeeper --help`, `zk-entry ready --help`.
            let typed = args.get(1).and_then(|a| a.to_str()).and_then(|a| command.find_subcommand(a));
            let help = match (alias, typed) {
                (Some((alias, _)), _) => format!("{alias} --help"),
                (None, Some(sub)) => format!("zk-entry {} --help", sub.get_name()),
                (None, None) => "zk-entry --help".to_string(),
            };
            if err.kind() == ErrorKind::MissingRequiredArgument
                && let Some(line) = typed.and_then(|sub| missing(&err, sub))
            {
                return exit::usage(format!("{line} (see {help})"));
            }
            if err.kind() == ErrorKind::InvalidUtf8
                && let Some(var) = non_utf8_variable(&mut command, env)
            {
                return exit::usage(format!(
                    "{var} (environment) is not valid UTF-8; set it to text, or unset it (see {help})"
                ));
            }
            let outcome = clap_outcome(err, &help)?;
            return Ok(match (outcome, alias) {
                // `start-zookeeper --help` must show usage that works as typed: clap writes the
                // subcommand after the program name, which the script's name already stands for.
                (Invocation::Info(text), Some((alias, sub))) => Invocation::Info(
                    text.replace(&format!("Usage: {alias} {sub}"), &format!("Usage: {alias}")),
                ),
                (outcome, _) => outcome,
            });
        }
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|e| exit::Usage(clap_line(&e, "zk-entry --help")))?;
    let (name, sub_matches) = matches.subcommand().ok_or_else(|| exit::Usage("no subcommand".into()))?;
    let sub_command = command.find_subcommand(name).ok_or_else(|| exit::Usage("no subcommand".into()))?;
    let named = Named { command: sub_command, matches: sub_matches };
    Ok(match cli.command {
        Command::Start(args) => Invocation::Start(Box::new(named.start(args, env)?)),
        Command::Ready(args) => Invocation::Ready(ReadyInput {
            target: named.target(args.target),
            quorum: args.quorum,
            allow_read_only: args.allow_read_only,
        }),
        Command::Metrics(args) => Invocation::Metrics(MetricsInput {
            format: named.raw("format", args.format),
            target: named.target(args.target),
        }),
        Command::TlsWatch(args) => Invocation::TlsWatch(
            crate::start::tls_watch::Watch {
                tls_dir: args.tls_dir.into(),
                store: args.store.into(),
                fqdn: args.fqdn,
            },
            args.check,
        ),
        Command::Members(args) => Invocation::Members(named.ensemble(args.ensemble)),
        Command::Resize(args) => Invocation::Resize(ResizeInput {
            size: named.raw("size", args.size),
            observers: named.optional("observers", args.observers),
            authorised: named.authorised(args.authorised),
        }),
        Command::Leave(args) => Invocation::Leave(named.authorised(args.authorised)),
        Command::Join(args) => Invocation::Join(JoinInput {
            line: named.raw("line", args.line),
            size: named.raw("size", args.size),
            observers: named.raw("observers", args.observers),
            authorised: named.authorised(args.authorised),
        }),
    })
}

/// Names each value after the flag or variable it came from, using clap's definition of one
/// subcommand and what it matched.
struct Named<'a> {
    command: &'a clap::Command,
    matches: &'a ArgMatches,
}

impl Named<'_> {
    /// `--servers`, `ZK_SERVERS (environment)` when the value came from the variable, or the
    /// value name (`PORT`) of a positional argument.
    fn raw(&self, id: &str, text: String) -> Raw {
        let arg = self.command.get_arguments().find(|a| a.get_id() == id);
        let source = match self.matches.value_source(id) {
            Some(ValueSource::EnvVariable) => Source::Environment,
            Some(ValueSource::CommandLine) => Source::CommandLine,
            _ => Source::Default,
        };
        let name = match arg {
            Some(arg) if source == Source::Environment && arg.get_env().is_some() => {
                format!("{} (environment)", arg.get_env().unwrap_or_default().to_string_lossy())
            }
            Some(arg) => match arg.get_long() {
                Some(long) => format!("--{long}"),
                None => arg
                    .get_value_names()
                    .and_then(|v| v.first())
                    .map(|v| v.to_string())
                    .unwrap_or(id.to_string()),
            },
            None => id.to_string(),
        };
        Raw::new(name, text, source)
    }

    fn optional(&self, id: &str, text: Option<String>) -> Option<Raw> {
        text.map(|t| self.raw(id, t))
    }

    fn list(&self, id: &str, texts: Vec<String>) -> Vec<Raw> {
        texts.into_iter().map(|t| self.raw(id, t)).collect()
    }

    /// The values of a repeatable flag whose variable holds one value per line (`ZK_SET`,
    /// `ZK_SET_FILE`). Only the variable is split: a flag's value is one value whatever it holds,
    /// so a line break in it is refused by the settings as it is (for a secret key, without
    /// quoting the value) instead of being cut in two and quoted as a second entry.
    fn lines(&self, id: &str, texts: Vec<String>) -> Vec<Raw> {
        let from_variable = self.matches.value_source(id) == Some(ValueSource::EnvVariable);
        let texts = match from_variable {
            true => texts.iter().flat_map(|t| t.split('\n')).map(str::to_string).collect(),
            false => texts,
        };
        self.list(id, texts)
    }

    /// `--set` values. From ZK_SET, one per line: blank lines (a YAML block scalar ends in a
    /// newline, and entries may be spaced out) are not entries; a blank `--set ''` is still
    /// refused by the settings.
    fn set_entries(&self, texts: Vec<String>) -> Vec<Raw> {
        self.lines("set", texts)
            .into_iter()
            .filter(|raw| raw.source != Source::Environment || !raw.text.trim().is_empty())
            .collect()
    }

    /// A switch: given as a flag it is on; otherwise its variable decides, checked later.
    fn switch(
        &self,
        id: &str,
        given: bool,
        var: &str,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> anyhow::Result<Option<Raw>> {
        if given {
            return Ok(Some(self.raw(id, "true".to_string())));
        }
        Ok(env_text(var, env)?
            .map(|text| Raw::new(format!("{var} (environment)"), text, Source::Environment)))
    }

    fn target(&self, args: TargetArgs) -> TargetInput {
        TargetInput {
            port: self.raw("port", args.port),
            host: self.raw("host", args.host),
            timeout: self.raw("timeout", args.timeout),
        }
    }

    fn authorised(&self, args: AuthorisedArgs) -> AuthorisedInput {
        AuthorisedInput {
            super_password_file: self.raw("super_password_file", args.super_password_file),
            ensemble: self.ensemble(args.ensemble),
        }
    }

    fn ensemble(&self, args: EnsembleArgs) -> EnsembleInput {
        EnsembleInput { server: self.raw("server", args.server), timeout: self.raw("timeout", args.timeout) }
    }

    fn start(&self, a: StartArgs, env: &dyn Fn(&str) -> Option<OsString>) -> anyhow::Result<StartInput> {
        let session_timeout = |id: &str, text: Option<String>| self.raw(id, text.unwrap_or_default());
        Ok(StartInput {
            servers: self.raw("servers", a.servers),
            data_dir: self.raw("data_dir", a.data_dir),
            data_log_dir: self.raw("data_log_dir", a.data_log_dir),
            log_dir: self.raw("log_dir", a.log_dir),
            conf_dir: self.raw("conf_dir", a.conf_dir),
            client_port: self.raw("client_port", a.client_port),
            server_port: self.raw("server_port", a.server_port),
            election_port: self.raw("election_port", a.election_port),
            tick_time: self.raw("tick_time", a.tick_time),
            init_limit: self.raw("init_limit", a.init_limit),
            sync_limit: self.raw("sync_limit", a.sync_limit),
            heap: self.raw("heap", a.heap),
            max_client_cnxns: self.raw("max_client_cnxns", a.max_client_cnxns),
            snap_retain_count: self.raw("snap_retain_count", a.snap_retain_count),
            purge_interval: self.raw("purge_interval", a.purge_interval),
            min_session_timeout: session_timeout("min_session_timeout", a.min_session_timeout),
            max_session_timeout: session_timeout("max_session_timeout", a.max_session_timeout),
            log_level: self.raw("log_level", a.log_level),
            domain: self.optional("domain", a.domain),
            four_lw_whitelist: self.raw("four_lw_whitelist", a.four_lw_whitelist),
            admin_server_port: self.optional("admin_server_port", a.admin_server_port),
            admin_server_address: self.optional("admin_server_address", a.admin_server_address),
            quorum_listen_on_all_ips: self.switch(
                "quorum_listen_on_all_ips",
                a.quorum_listen_on_all_ips,
                QUORUM_LISTEN_ON_ALL_IPS_VAR,
                env,
            )?,
            min_server_id: self.raw("min_server_id", a.min_server_id),
            set: self.set_entries(a.set),
            set_file: self.lines("set_file", a.set_file),
            quorum_password_file: self.optional("quorum_password_file", a.quorum_password_file),
            client_sasl_users_dir: self.optional("client_sasl_users_dir", a.client_sasl_users_dir),
            super_password_file: self.optional("super_password_file", a.super_password_file),
            tls_dir: self.optional("tls_dir", a.tls_dir),
            secure_client_port: self.raw("secure_client_port", a.secure_client_port),
            quorum_tls: self.optional("quorum_tls", a.quorum_tls),
            client_plaintext: self.optional("client_plaintext", a.client_plaintext),
            observers: self.raw("observers", a.observers),
            reconfig: self.switch("reconfig", a.reconfig, RECONFIG_VAR, env)?,
            java: self.optional("java", a.java),
            zk_home: self.optional("zk_home", a.zk_home),
            classpath: self.optional("classpath", a.classpath),
            jvm_flags: self.optional("jvm_flags", a.jvm_flags),
            jvmflags_env: env_text(JVMFLAGS_VAR, env)?
                .map(|text| Raw::new(format!("{JVMFLAGS_VAR} (environment)"), text, Source::Environment)),
            dry_run: self.switch("dry_run", a.dry_run, DRY_RUN_VAR, env)?,
            user: self.raw("user", a.user),
            keep_privileges: self.switch("keep_privileges", a.keep_privileges, KEEP_PRIVILEGES_VAR, env)?,
            exit_code_map: self.list("exit_code_map", a.exit_code_map),
            command: a.command,
        })
    }
}

/// A variable as text; one that is not UTF-8 is refused rather than mangled.
fn env_text(name: &str, env: &dyn Fn(&str) -> Option<OsString>) -> anyhow::Result<Option<String>> {
    match env(name) {
        None => Ok(None),
        Some(v) => match v.into_string() {
            Ok(s) => Ok(Some(s)),
            Err(_) => exit::usage(format!("{name} (environment) is not valid UTF-8; fix the variable")),
        },
    }
}

/// Help and version requests are successes; everything else clap rejects is a usage error.
/// The first `ZK_*` variable of any subcommand whose value is not UTF-8: clap refuses it without
/// saying which one.
fn non_utf8_variable(command: &mut clap::Command, env: &dyn Fn(&str) -> Option<OsString>) -> Option<String> {
    // Every subcommand's variables, as before the definitions were deferred: only the one that
    // ran has been built.
    command.build();
    command
        .get_subcommands()
        .flat_map(|sub| sub.get_arguments())
        .chain(command.get_arguments())
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .find(|name| env(name).is_some_and(|value| value.to_str().is_none()))
}

fn clap_outcome(err: clap::Error, help: &str) -> anyhow::Result<Invocation> {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(Invocation::Info(err.render().to_string())),
        _ => exit::usage(clap_line(&err, help)),
    }
}

/// What `sub` still needs, named with what each takes: `resize needs N (...) and
/// --super_password_file=PATH (...; or set ZK_SUPER_PASSWORD_FILE)`. clap lists the missing
/// arguments on lines of their own, which the one-line form would cut off.
fn missing(err: &clap::Error, sub: &clap::Command) -> Option<String> {
    let Some(ContextValue::Strings(shown)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    // clap shows an option as `--long <VALUE>`, a positional as `<VALUE>`.
    let value_name = |arg: &clap::Arg| {
        arg.get_value_names()
            .and_then(|v| v.first())
            .map_or_else(|| arg.get_id().to_string(), |n| n.to_string())
    };
    let named = |text: &str| {
        sub.get_arguments().find(|arg| match arg.get_long() {
            Some(long) => text.strip_prefix("--").and_then(|t| t.split(' ').next()) == Some(long),
            None => text == format!("<{}>", value_name(arg)),
        })
    };
    // Positionals first, as the usage line writes them.
    let mut shown: Vec<&String> = shown.iter().collect();
    shown.sort_by_key(|text| text.starts_with("--"));
    let described: Vec<String> = shown
        .into_iter()
        .map(|text| {
            let Some(arg) = named(text) else { return text.clone() };
            let mut out = match arg.get_long() {
                Some(long) => format!("--{long}={}", value_name(arg)),
                None => value_name(arg),
            };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            let mut what: Vec<String> = Vec::new();
            let mut chars = help.trim().chars();
            if let Some(first) = chars.next() {
                what.push(first.to_lowercase().chain(chars).collect());
            }
            if let Some(var) = arg.get_env() {
                what.push(format!("or set {}", var.to_string_lossy()));
            }
            if !what.is_empty() {
                out.push_str(&format!(" ({})", what.join("; ")));
            }
            out
        })
        .collect();
    let (last, rest) = described.split_last()?;
    let list = if rest.is_empty() { last.clone() } else { format!("{} and {last}", rest.join(", ")) };
    Some(format!("{} needs {list}", sub.get_name()))
}

/// clap's error reduced to its first line, plus the suggestion clap found, if any.
fn clap_line(err: &clap::Error, help: &str) -> String {
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
        line =
            "no subcommand given; expected one of: start, ready, metrics, members, resize, leave".to_string();
    }
    line.push_str(&format!(" (see {help})"));
    line
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Parse `args` with these variables as the environment read outside clap.
    pub(crate) fn parse_with_env(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Invocation> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| OsString::from(v));
        parse(args.iter().map(OsString::from).collect(), &lookup)
    }

    fn parse_strs(args: &[&str]) -> anyhow::Result<Invocation> {
        parse_with_env(args, &[])
    }

    /// `zk-entry start FLAGS...` as typed.
    pub(crate) fn start_input(flags: &[&str], env: &[(&str, &str)]) -> anyhow::Result<StartInput> {
        let mut args = vec!["zk-entry", "start"];
        args.extend_from_slice(flags);
        match parse_with_env(&args, env)? {
            Invocation::Start(s) => Ok(*s),
            _ => panic!("not start"),
        }
    }

    fn start(args: &[&str]) -> StartInput {
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

    /// The probe's cost: a call defines only the arguments of the subcommand it runs.
    #[test]
    fn only_the_subcommand_that_runs_is_built() {
        let mut command = Cli::command();
        command.try_get_matches_from_mut(["zk-entry", "ready", "2181"]).expect("ready parses");
        let count = |command: &clap::Command, name: &str| {
            command.find_subcommand(name).map(|sub| sub.get_arguments().count()).unwrap_or_default()
        };
        assert!(count(&command, "ready") > 0);
        for other in ["start", "metrics", "members", "resize", "leave", "join", "tls-watch"] {
            assert_eq!(count(&command, other), 0, "{other} was built for a ready call");
        }
    }

    /// Deferred definitions are applied last: a doc comment on an `Args` struct would replace
    /// the subcommand's about line once it is built.
    #[test]
    fn building_a_subcommand_keeps_its_about_line() {
        let listed: Vec<_> = Cli::command()
            .get_subcommands()
            .map(|sub| (sub.get_name().to_string(), sub.get_about().map(|a| a.to_string())))
            .collect();
        let mut command = Cli::command();
        command.build();
        for (name, about) in listed {
            let built = command.find_subcommand(&name).and_then(|sub| sub.get_about()).map(|a| a.to_string());
            assert_eq!(built, about, "{name}");
        }
    }

    #[test]
    fn equals_space_and_kebab_spellings_agree() {
        let a = start(&["zk-entry", "start", "--data_dir=/d", "--tick_time", "3000"]);
        let b = start(&["zk-entry", "start", "--data-dir", "/d", "--tick-time=3000"]);
        assert_eq!(a.data_dir.text, "/d");
        assert_eq!(b.data_dir.text, "/d");
        assert_eq!(a.tick_time.text, "3000");
        assert_eq!(b.tick_time.text, "3000");
    }

    #[test]
    fn values_know_their_names_and_sources() {
        let s = start(&["/usr/local/bin/start-zookeeper", "--servers=3"]);
        assert_eq!(s.servers, Raw::new("--servers", "3", Source::CommandLine));
        assert_eq!(s.heap, Raw::new("--heap", "2G", Source::Default));
        assert_eq!(s.user, Raw::new("--user", "zookeeper", Source::Default));
        assert_eq!(s.min_session_timeout.name, "--min_session_timeout");
        assert!(!s.min_session_timeout.is_given());
        let s = start_input(&[], &[("ZK_DRY_RUN", "yes"), ("JVMFLAGS", "-Da=1")]).unwrap();
        assert_eq!(s.dry_run, Some(Raw::new("ZK_DRY_RUN (environment)", "yes", Source::Environment)));
        assert_eq!(s.jvmflags_env.unwrap().name, "JVMFLAGS (environment)");
        let s = start_input(&["--dry-run"], &[("ZK_DRY_RUN", "no")]).unwrap();
        assert_eq!(s.dry_run.unwrap().text, "true", "the flag wins over its variable");
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
    fn errors_point_at_the_help_of_what_was_typed() {
        let line = |args: &[&str]| exit::one_line(&parse_strs(args).err().expect("must fail"));
        assert!(line(&["start-zookeeper", "--servres=3"]).ends_with("(see start-zookeeper --help)"));
        assert!(line(&["zk-entry", "metrics", "--fromat=raw"]).ends_with("(see zk-entry metrics --help)"));
        assert!(line(&["zk-entry", "--bogus"]).ends_with("(see zk-entry --help)"));
    }

    /// clap lists what is missing on lines of their own, which the one-line form cut off:
    /// "the following required arguments were not provided:" and nothing after it.
    #[test]
    fn a_missing_required_flag_is_named_with_what_it_takes() {
        let line = |args: &[&str]| exit::one_line(&parse_strs(args).err().expect("must fail"));
        let leave = line(&["zk-entry", "leave"]);
        assert_eq!(
            leave,
            "leave needs --super_password_file=PATH (file holding the super user's password; or set ZK_SUPER_PASSWORD_FILE) (see zk-entry leave --help)"
        );
        let resize = line(&["zk-entry", "resize", "--observers=1"]);
        assert!(resize.starts_with("resize needs N (the number of members to keep: ordinals 0 to N-1 stay) and --super_password_file=PATH ("), "{resize}");
        let join = line(&["zk-entry", "join", "--super_password_file=/p", "--size=3"]);
        assert!(join.starts_with("join needs --line=LINE (this server's participant line, "), "{join}");
        assert!(join.contains(" and --observers=K ("), "{join}");
        assert!(join.ends_with("(see zk-entry join --help)"), "{join}");
        let watch = line(&["zk-entry", "tls-watch", "--tls_dir=/t", "--fqdn=a"]);
        assert_eq!(watch, "tls-watch needs --store=STORE (see zk-entry tls-watch --help)");
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
    fn script_names_show_usage_that_works_as_typed() {
        let Ok(Invocation::Info(help)) = parse_strs(&["/usr/local/bin/start-zookeeper", "--help"]) else {
            panic!("no help")
        };
        assert!(help.contains("Usage: start-zookeeper [OPTIONS]"), "{help}");
        assert!(!help.contains("start-zookeeper start"), "{help}");
    }

    #[test]
    fn command_after_double_dash_keeps_its_own_flags() {
        let s = start(&["zk-entry", "start", "--servers=1", "--", "/bin/zkServer.sh", "--servers=9", "-x"]);
        assert_eq!(s.servers.text, "1");
        assert_eq!(s.command, vec!["/bin/zkServer.sh", "--servers=9", "-x"]);
        assert!(start(&["zk-entry", "start"]).command.is_empty());
    }

    #[test]
    fn script_names_select_the_probes() {
        match parse_strs(&["/usr/local/bin/zookeeper-ready", "2181"]) {
            Ok(Invocation::Ready(r)) => {
                assert_eq!(r.target.port, Raw::new("PORT", "2181", Source::CommandLine));
                assert_eq!(r.target.host, Raw::new("--host", "127.0.0.1", Source::Default));
                assert_eq!(r.target.timeout.text, "800ms");
                assert!(!r.quorum);
            }
            _ => panic!("zookeeper-ready is not ready"),
        }
        match parse_strs(&["zookeeper-metrics"]) {
            Ok(Invocation::Metrics(m)) => {
                assert_eq!(m.target.port.text, "2181");
                assert_eq!(m.format, Raw::new("--format", "raw", Source::Default));
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
    fn non_utf8_variables_are_named() {
        use std::os::unix::ffi::OsStringExt;
        let lookup = |name: &str| (name == "JVMFLAGS").then(|| OsString::from_vec(vec![0xff]));
        let err = parse(vec!["zk-entry".into(), "start".into()], &lookup).err().expect("must fail");
        assert_eq!(exit::one_line(&err), "JVMFLAGS (environment) is not valid UTF-8; fix the variable");
    }

    /// Regression: clap split a flag's value at its newline, and the second half of a secret
    /// was quoted as an entry of its own.
    #[test]
    fn only_the_variables_are_split_into_lines() {
        let s = start(&["zk-entry", "start", "--set", "a.password=x\ny", "--set_file=k=/a\n/b"]);
        let texts = |raws: &[Raw]| raws.iter().map(|r| r.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&s.set), ["a.password=x\ny"]);
        assert_eq!(texts(&s.set_file), ["k=/a\n/b"]);
        // The variables (clap reads them from the process) are split: tests/pod_start.rs.
    }

    #[test]
    fn set_is_repeatable() {
        let s = start(&["zk-entry", "start", "--set", "a=1", "--set=b=2"]);
        let texts: Vec<&str> = s.set.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["a=1", "b=2"]);
    }
}
