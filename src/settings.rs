//! Validated start settings: the one conversion from raw command-line and environment input
//! ([`crate::cli::Start`]) to typed values.
//!
//! Invariant: every check on user input happens here, before anything on disk is looked at or
//! touched, and every failure is a [`crate::exit::Usage`] error whose message names the flag (or
//! `ZK_*` variable), the value given and what would be accepted.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::cli::Start;
use crate::exit::{self, Usage};
use crate::privileges::{self, UserSpec};

/// ZooKeeper's administrator guide gives server ids (myid) the range 1 to 255.
pub const MAX_SERVER_ID: u64 = 255;
/// ZooKeeper parses its numeric settings as Java `int`s.
const JAVA_INT_MAX: u64 = i32::MAX as u64;
/// ZooKeeper refuses to purge when it would keep fewer snapshots than this.
const MIN_SNAP_RETAIN: u64 = 3;

/// Four-letter words ZooKeeper 3.4 to 3.9 knows; a typo in the whitelist would silently disable
/// a probe, so unknown words are refused.
pub const FOUR_LETTER_WORDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst", "srvr",
    "stat", "stmk", "wchc", "wchp", "wchs",
];

/// zoo.cfg keys that zk-entry writes itself, with the flag that sets each (lower case: ZooKeeper
/// matches keys exactly, but a differently-cased duplicate is always a mistake).
const MANAGED_KEYS: &[(&str, &str)] = &[
    ("clientport", "--client_port"),
    ("datadir", "--data_dir"),
    ("datalogdir", "--data_log_dir"),
    ("ticktime", "--tick_time"),
    ("initlimit", "--init_limit"),
    ("synclimit", "--sync_limit"),
    ("maxclientcnxns", "--max_client_cnxns"),
    ("minsessiontimeout", "--min_session_timeout"),
    ("maxsessiontimeout", "--max_session_timeout"),
    ("autopurge.snapretaincount", "--snap_retain_count"),
    ("autopurge.purgeinterval", "--purge_interval"),
    ("4lw.commands.whitelist", "--4lw_whitelist"),
    ("admin.enableserver", "--admin_server_port"),
    ("admin.serverport", "--admin_server_port"),
    ("admin.serveraddress", "--admin_server_address"),
    ("quorumlistenonallips", "--quorum_listen_on_all_ips"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    const ALL: [(LogLevel, &'static str); 6] = [
        (LogLevel::Trace, "TRACE"),
        (LogLevel::Debug, "DEBUG"),
        (LogLevel::Info, "INFO"),
        (LogLevel::Warn, "WARN"),
        (LogLevel::Error, "ERROR"),
        (LogLevel::Fatal, "FATAL"),
    ];

    /// The level's name in log4j 1.2.
    pub fn log4j(self) -> &'static str {
        Self::ALL.iter().find(|(l, _)| *l == self).map(|(_, n)| *n).unwrap_or("INFO")
    }

    /// The level's name in logback, which has no FATAL: ERROR is the closest that still shows
    /// fatal events.
    pub fn logback(self) -> &'static str {
        match self {
            LogLevel::Fatal => "ERROR",
            other => other.log4j(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminServer {
    pub port: u16,
    pub address: String,
}

/// Everything `start` needs from its flags, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub servers: u64,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub log_dir: PathBuf,
    pub conf_dir: PathBuf,
    pub client_port: u16,
    pub server_port: u16,
    pub election_port: u16,
    pub tick_time: u64,
    pub init_limit: u64,
    pub sync_limit: u64,
    pub heap: String,
    pub max_client_cnxns: u64,
    pub snap_retain_count: u64,
    pub purge_interval: u64,
    pub min_session_timeout: u64,
    pub max_session_timeout: u64,
    pub log_level: LogLevel,
    pub domain: Option<String>,
    pub four_lw_whitelist: String,
    pub admin_server: Option<AdminServer>,
    pub quorum_listen_on_all_ips: bool,
    pub min_server_id: u64,
    pub extra: Vec<(String, String)>,
    pub java: Option<PathBuf>,
    pub zk_home: Option<PathBuf>,
    pub classpath: Option<String>,
    pub jvm_flags: Vec<String>,
    pub dry_run: bool,
    pub user: UserSpec,
    /// False when `--user` was left at its default (which may fall back to 1000:1000).
    pub user_explicit: bool,
    pub exit_code_map: Vec<(u8, u8)>,
    /// `-- COMMAND [ARGS...]`; empty for the JVM command line.
    pub command: Vec<OsString>,
}

/// Process environment that is not a clap argument: `$JVMFLAGS` (appended to `--jvm_flags`, as
/// zkServer.sh does) and the two switches' `ZK_*` variables.
#[derive(Debug, Default, Clone)]
pub struct Environment {
    pub jvmflags: Option<String>,
    pub quorum_listen_on_all_ips: Option<String>,
    pub dry_run: Option<String>,
}

impl Environment {
    pub const QUORUM_LISTEN_ON_ALL_IPS: &'static str = "ZK_QUORUM_LISTEN_ON_ALL_IPS";
    pub const DRY_RUN: &'static str = "ZK_DRY_RUN";
}

/// One raw input value and where it came from. Its name (`--servers` or `ZK_SERVERS
/// (environment)`) is only worked out for a message: that needs clap's whole command definition.
struct Field<'a> {
    id: &'a str,
    value: &'a str,
    /// `None` for a plain environment variable such as JVMFLAGS, named by `id` itself.
    start: Option<&'a Start>,
}

impl Field<'_> {
    fn name(&self) -> String {
        match self.start {
            Some(start) => start.name_of(self.id),
            None => self.id.to_string(),
        }
    }

    /// A usage error: `<name>: '<value>' <problem>; expected <expected>`.
    fn reject(&self, problem: &str, expected: &str) -> anyhow::Error {
        let mut msg =
            format!("{}: '{}' {problem}; expected {expected}", self.name(), self.value.escape_debug());
        let from_env = self.start.is_none_or(|s| s.from_env(self.id));
        // Kubernetes injects <SERVICE>_PORT=tcp://... for every service; a service named
        // zk-client collides with ZK_CLIENT_PORT.
        if from_env && (self.value.starts_with("tcp://") || self.value.starts_with("udp://")) {
            msg.push_str(" (this looks like a Kubernetes service link variable: set enableServiceLinks: false or rename the service)");
        }
        Usage(msg).into()
    }
}

impl Settings {
    /// Check and convert the raw input.
    pub fn from_start(start: &Start, env: &Environment) -> anyhow::Result<Settings> {
        let a = &start.args;
        let field = |id: &'static str, value| Field { id, value, start: Some(start) };

        let servers = number(&field("servers", &a.servers), 1, MAX_SERVER_ID)?;
        let data_dir = abs_path(&field("data_dir", &a.data_dir))?;
        let data_log_dir = abs_path(&field("data_log_dir", &a.data_log_dir))?;
        let log_dir = abs_path(&field("log_dir", &a.log_dir))?;
        let conf_dir = abs_path(&field("conf_dir", &a.conf_dir))?;
        let client_port = port(&field("client_port", &a.client_port))?;
        let server_port = port(&field("server_port", &a.server_port))?;
        let election_port = port(&field("election_port", &a.election_port))?;
        let tick_time = number(&field("tick_time", &a.tick_time), 1, JAVA_INT_MAX)?;
        let init_limit = number(&field("init_limit", &a.init_limit), 1, JAVA_INT_MAX)?;
        let sync_limit = number(&field("sync_limit", &a.sync_limit), 1, JAVA_INT_MAX)?;
        let heap = heap(&field("heap", &a.heap))?;
        let max_client_cnxns = number(&field("max_client_cnxns", &a.max_client_cnxns), 0, JAVA_INT_MAX)?;
        let snap_retain_count =
            number(&field("snap_retain_count", &a.snap_retain_count), MIN_SNAP_RETAIN, JAVA_INT_MAX)?;
        let purge_interval = number(&field("purge_interval", &a.purge_interval), 0, JAVA_INT_MAX)?;

        let min_session_timeout = match &a.min_session_timeout {
            Some(v) => number(&field("min_session_timeout", v), 1, JAVA_INT_MAX)?,
            None => derived_timeout(start, tick_time, 2)?,
        };
        let max_session_timeout = match &a.max_session_timeout {
            Some(v) => number(&field("max_session_timeout", v), 1, JAVA_INT_MAX)?,
            None => derived_timeout(start, tick_time, 20)?,
        };
        if min_session_timeout > max_session_timeout {
            return exit::usage(format!(
                "{} {min_session_timeout} is above {} {max_session_timeout}; the minimum session timeout must not exceed the maximum",
                start.name_of("min_session_timeout"),
                start.name_of("max_session_timeout"),
            ));
        }

        let log_level = log_level(&field("log_level", &a.log_level))?;
        let domain = a.domain.as_deref().map(|d| domain(&field("domain", d))).transpose()?;
        let four_lw_whitelist = whitelist(&field("four_lw_whitelist", &a.four_lw_whitelist))?;

        let admin_server = match (&a.admin_server_port, &a.admin_server_address) {
            (Some(p), address) => Some(AdminServer {
                port: port(&field("admin_server_port", p))?,
                address: match address {
                    Some(addr) => bind_address(&field("admin_server_address", addr))?,
                    None => "127.0.0.1".to_string(),
                },
            }),
            (None, Some(_)) => {
                return exit::usage(format!(
                    "{} is set but the AdminServer is off; also pass --admin_server_port to enable it",
                    start.name_of("admin_server_address")
                ));
            }
            (None, None) => None,
        };

        let mut ports = vec![
            ("client_port", client_port),
            ("server_port", server_port),
            ("election_port", election_port),
        ];
        if let Some(admin) = &admin_server {
            ports.push(("admin_server_port", admin.port));
        }
        distinct_ports(start, &ports)?;

        let min_server_id = number(&field("min_server_id", &a.min_server_id), 1, MAX_SERVER_ID)?;
        let highest = min_server_id + servers - 1;
        if highest > MAX_SERVER_ID {
            return exit::usage(format!(
                "{} {min_server_id} with {} {servers} gives server ids up to {highest}; ZooKeeper server ids go from 1 to {MAX_SERVER_ID}",
                start.name_of("min_server_id"),
                start.name_of("servers"),
            ));
        }

        let mut extra = Vec::with_capacity(a.set.len());
        for item in &a.set {
            let (key, value) = set_entry(&field("set", item))?;
            if let Some((earlier, _)) =
                extra.iter().find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(&key))
            {
                return exit::usage(format!(
                    "{}: key '{key}' is given twice (also as '{earlier}'); give each zoo.cfg key once",
                    start.name_of("set")
                ));
            }
            extra.push((key, value));
        }

        let java = a.java.as_deref().map(|j| abs_path(&field("java", j))).transpose()?;
        let zk_home = a.zk_home.as_deref().map(|h| abs_path(&field("zk_home", h))).transpose()?;
        let classpath = a.classpath.as_deref().map(|c| classpath(&field("classpath", c))).transpose()?;
        let mut jvm_flags: Vec<String> = Vec::new();
        if let Some(flags) = &a.jvm_flags {
            jvm_flags.extend(words(&field("jvm_flags", flags))?);
        }
        if let Some(flags) = &env.jvmflags {
            let f = Field { id: "JVMFLAGS (environment)", value: flags, start: None };
            jvm_flags.extend(words(&f)?);
        }
        // A switch given on the command line is on whatever its variable says.
        let switch = |given: bool, variable: &str, value: &Option<String>| -> anyhow::Result<bool> {
            match value {
                _ if given => Ok(true),
                None => Ok(false),
                Some(v) => {
                    boolean(&Field { id: &format!("{variable} (environment)"), value: v, start: None })
                }
            }
        };
        let quorum_listen_on_all_ips = switch(
            a.quorum_listen_on_all_ips,
            Environment::QUORUM_LISTEN_ON_ALL_IPS,
            &env.quorum_listen_on_all_ips,
        )?;
        let dry_run = switch(a.dry_run, Environment::DRY_RUN, &env.dry_run)?;
        let user = match &a.user {
            Some(u) => user(&field("user", u))?,
            None => UserSpec::Name(privileges::DEFAULT_USER.to_string()),
        };
        let mut exit_code_map: Vec<(u8, u8)> = Vec::with_capacity(a.exit_code_map.len());
        for item in &a.exit_code_map {
            let (from, to) = exit_code_pair(&field("exit_code_map", item))?;
            if exit_code_map.iter().any(|(f, _)| *f == from) {
                return exit::usage(format!(
                    "{}: status {from} is mapped twice; give each status once",
                    start.name_of("exit_code_map")
                ));
            }
            exit_code_map.push((from, to));
        }
        if a.command.first().is_some_and(|program| program.is_empty()) {
            return exit::usage(
                "the command after -- is empty; give a program, e.g. -- zkServer.sh start-foreground",
            );
        }

        Ok(Settings {
            servers,
            data_dir,
            data_log_dir,
            log_dir,
            conf_dir,
            client_port,
            server_port,
            election_port,
            tick_time,
            init_limit,
            sync_limit,
            heap,
            max_client_cnxns,
            snap_retain_count,
            purge_interval,
            min_session_timeout,
            max_session_timeout,
            log_level,
            domain,
            four_lw_whitelist,
            admin_server,
            quorum_listen_on_all_ips,
            min_server_id,
            extra,
            java,
            zk_home,
            classpath,
            jvm_flags,
            dry_run,
            user,
            user_explicit: a.user.is_some(),
            exit_code_map,
            command: a.command.clone(),
        })
    }

    /// True when this pod is one server of several (server.N lines, ordinal required).
    pub fn is_ensemble(&self) -> bool {
        self.servers > 1
    }
}

/// The script's default session timeouts are multiples of the tick; they must still fit an int.
fn derived_timeout(start: &Start, tick_time: u64, factor: u64) -> anyhow::Result<u64> {
    let value = tick_time * factor;
    if value > JAVA_INT_MAX {
        return exit::usage(format!(
            "{} {tick_time} makes the default session timeout {factor} x {tick_time} = {value} ms, above ZooKeeper's limit {JAVA_INT_MAX}; lower the tick time or set the session timeouts",
            start.name_of("tick_time")
        ));
    }
    Ok(value)
}

fn boolean(f: &Field) -> anyhow::Result<bool> {
    match f.value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(f.reject("is not a switch value", "true or false (also 1/0, yes/no, on/off)")),
    }
}

fn number(f: &Field, min: u64, max: u64) -> anyhow::Result<u64> {
    let expected = format!("a whole number from {min} to {max}");
    if f.value.is_empty() || !f.value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(f.reject("is not a whole number", &expected));
    }
    match f.value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(f.reject("is out of range", &expected)),
    }
}

fn port(f: &Field) -> anyhow::Result<u16> {
    let n = number(f, 1, 65535)?;
    Ok(n as u16)
}

fn distinct_ports(start: &Start, ports: &[(&str, u16)]) -> anyhow::Result<()> {
    for (i, (id_a, a)) in ports.iter().enumerate() {
        if let Some((id_b, _)) = ports[i + 1..].iter().find(|(_, b)| b == a) {
            return exit::usage(format!(
                "{} and {} are both {a}; each port must be different",
                start.name_of(id_a),
                start.name_of(id_b)
            ));
        }
    }
    Ok(())
}

/// The JVM's -Xmx form, with a unit: a bare number means bytes and is almost always a mistake.
fn heap(f: &Field) -> anyhow::Result<String> {
    let expected = "digits and a unit k, m or g, such as 512M or 2G";
    let v = f.value;
    let (digits, unit) = v.split_at(v.len().saturating_sub(1));
    let unit_factor: u64 = match unit {
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return Err(f.reject("is not a JVM heap size", expected)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(f.reject("is not a JVM heap size", expected));
    }
    match digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit_factor)) {
        Some(0) => Err(f.reject("is zero", expected)),
        Some(_) => Ok(v.to_string()),
        None => Err(f.reject("is too large", expected)),
    }
}

fn log_level(f: &Field) -> anyhow::Result<LogLevel> {
    LogLevel::ALL
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(f.value))
        .map(|(level, _)| *level)
        .ok_or_else(|| f.reject("is not a log level", "TRACE, DEBUG, INFO, WARN, ERROR or FATAL"))
}

/// Control characters would split a line of zoo.cfg or java.env into two settings.
fn no_control(f: &Field, expected: &str) -> anyhow::Result<()> {
    if f.value.chars().any(char::is_control) {
        return Err(f.reject("contains a control character", expected));
    }
    Ok(())
}

fn user(f: &Field) -> anyhow::Result<UserSpec> {
    UserSpec::parse(f.value).map_err(|problem| f.reject(problem, UserSpec::EXPECTED))
}

/// `FROM:TO`, two exit statuses from 0 to 255.
fn exit_code_pair(f: &Field) -> anyhow::Result<(u8, u8)> {
    let expected = "FROM:TO with two exit statuses from 0 to 255, e.g. 143:0";
    let status = |t: &str| t.parse::<u8>().ok().filter(|_| t.bytes().all(|b| b.is_ascii_digit()));
    match f.value.split_once(':') {
        Some((from, to)) => match (status(from), status(to)) {
            (Some(from), Some(to)) => Ok((from, to)),
            _ => Err(f.reject("is not two exit statuses from 0 to 255", expected)),
        },
        None => Err(f.reject("has no ':'", expected)),
    }
}

fn abs_path(f: &Field) -> anyhow::Result<PathBuf> {
    let expected = "an absolute path such as /var/lib/zookeeper/data";
    no_control(f, expected)?;
    if !f.value.starts_with('/') {
        return Err(f.reject("is not an absolute path", expected));
    }
    Ok(PathBuf::from(f.value))
}

fn classpath(f: &Field) -> anyhow::Result<String> {
    let expected = "':'-separated jars and directories";
    no_control(f, expected)?;
    if f.value.trim().is_empty() {
        return Err(f.reject("is empty", expected));
    }
    Ok(f.value.to_string())
}

fn words(f: &Field) -> anyhow::Result<Vec<String>> {
    no_control(f, "JVM flags separated by spaces")?;
    Ok(f.value.split_whitespace().map(str::to_string).collect())
}

/// A DNS name: dot-separated labels of letters, digits and inner hyphens. One trailing dot (the
/// fully-qualified spelling) is dropped.
pub fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn domain(f: &Field) -> anyhow::Result<String> {
    if !is_dns_name(f.value) {
        return Err(f.reject("is not a DNS domain", "a name such as zk-hs.default.svc.cluster.local"));
    }
    Ok(f.value.strip_suffix('.').unwrap_or(f.value).to_ascii_lowercase())
}

fn whitelist(f: &Field) -> anyhow::Result<String> {
    let expected = format!("'*' or a comma-separated list of {}", FOUR_LETTER_WORDS.join(", "));
    let words: Vec<&str> = f.value.split(',').map(str::trim).collect();
    if words == ["*"] {
        return Ok("*".into());
    }
    if words.iter().all(|w| w.is_empty()) {
        return Err(f.reject("is empty (ZooKeeper would then answer only srvr)", &expected));
    }
    for w in &words {
        if !FOUR_LETTER_WORDS.contains(w) {
            return Err(Usage(format!(
                "{}: '{}' is not a four-letter word ZooKeeper knows; expected {expected}",
                f.name(),
                w.escape_debug()
            ))
            .into());
        }
    }
    Ok(words.join(","))
}

fn bind_address(f: &Field) -> anyhow::Result<String> {
    if f.value.parse::<IpAddr>().is_ok() || is_dns_name(f.value) {
        return Ok(f.value.to_string());
    }
    Err(f.reject("is not an address", "an IP address such as 127.0.0.1 or 0.0.0.0, or a host name"))
}

/// `KEY=VALUE` for a zoo.cfg key zk-entry does not manage.
fn set_entry(f: &Field) -> anyhow::Result<(String, String)> {
    let expected = "KEY=VALUE with a zoo.cfg key of letters, digits, '.', '_' or '-'";
    no_control(f, expected)?;
    let Some((key, value)) = f.value.split_once('=') else {
        return Err(f.reject("has no '='", expected));
    };
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Err(f.reject("does not start with a valid key", expected));
    }
    let lower = key.to_ascii_lowercase();
    if lower.starts_with("server.") {
        return exit::usage(format!(
            "{}: '{key}' is written by zk-entry from --servers, --domain, --server_port and --election_port; remove it from --set",
            f.name()
        ));
    }
    if let Some((_, flag)) = MANAGED_KEYS.iter().find(|(k, _)| *k == lower) {
        return exit::usage(format!("{}: '{key}' is managed by zk-entry; use {flag} instead", f.name()));
    }
    Ok((key.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{self, Invocation};
    use std::ffi::OsString;

    fn settings(flags: &[&str]) -> anyhow::Result<Settings> {
        let mut args = vec![OsString::from("zk-entry"), OsString::from("start")];
        args.extend(flags.iter().map(OsString::from));
        match cli::parse(args)? {
            Invocation::Start(s) => Settings::from_start(&s, &Environment::default()),
            _ => panic!("not start"),
        }
    }

    fn rejects(flags: &[&str], needles: &[&str]) {
        let err = settings(flags).expect_err("must be rejected");
        assert_eq!(exit::code_of(&err), exit::USAGE, "{err:#}");
        let line = exit::one_line(&err);
        for needle in needles {
            assert!(line.contains(needle), "'{line}' lacks '{needle}'");
        }
    }

    #[test]
    fn defaults_match_the_script() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.servers, 1);
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/zookeeper/data"));
        assert_eq!(s.data_log_dir, PathBuf::from("/var/lib/zookeeper/data/log"));
        assert_eq!(s.conf_dir, PathBuf::from("/opt/zookeeper/conf"));
        assert_eq!((s.client_port, s.server_port, s.election_port), (2181, 2888, 3888));
        assert_eq!((s.tick_time, s.init_limit, s.sync_limit), (2000, 10, 5));
        assert_eq!(s.heap, "2G");
        assert_eq!((s.min_session_timeout, s.max_session_timeout), (4000, 40000));
        assert_eq!(s.four_lw_whitelist, "ruok,srvr,mntr");
        assert_eq!(s.admin_server, None);
        assert_eq!(s.log_level, LogLevel::Info);
    }

    #[test]
    fn session_timeouts_follow_tick_time() {
        let s = settings(&["--tick_time=3000"]).unwrap();
        assert_eq!((s.min_session_timeout, s.max_session_timeout), (6000, 60000));
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
    fn ports_in_range_and_distinct() {
        rejects(&["--client_port=0"], &["--client_port", "1 to 65535"]);
        rejects(&["--client_port=65536"], &["--client_port"]);
        rejects(&["--server_port=3888"], &["--server_port", "--election_port", "3888"]);
        rejects(&["--admin_server_port=2181"], &["--client_port", "--admin_server_port"]);
    }

    #[test]
    fn heap_needs_jvm_form() {
        for ok in ["512M", "2G", "1024k", "4g"] {
            assert_eq!(settings(&["--heap", ok]).unwrap().heap, ok);
        }
        for bad in ["512", "2GB", "G", "1.5G", "-1G", "0M", "99999999999999999999G"] {
            rejects(&[&format!("--heap={bad}")], &["--heap", "512M or 2G"]);
        }
    }

    #[test]
    fn log_level_any_case_known_only() {
        assert_eq!(settings(&["--log_level=debug"]).unwrap().log_level, LogLevel::Debug);
        assert_eq!(LogLevel::Fatal.logback(), "ERROR");
        rejects(
            &["--log_level=VERBOSE"],
            &["--log_level", "'VERBOSE'", "TRACE, DEBUG, INFO, WARN, ERROR or FATAL"],
        );
    }

    #[test]
    fn session_timeout_order_and_limits() {
        rejects(
            &["--min_session_timeout=50000", "--max_session_timeout=40000"],
            &["--min_session_timeout", "--max_session_timeout"],
        );
        rejects(&["--tick_time=200000000"], &["--tick_time", "session timeout"]);
    }

    #[test]
    fn snap_retain_count_at_least_three() {
        rejects(&["--snap_retain_count=2"], &["--snap_retain_count", "3 to"]);
    }

    #[test]
    fn paths_must_be_absolute_and_single_line() {
        rejects(&["--data_dir=data"], &["--data_dir", "absolute"]);
        rejects(&["--conf_dir=./conf"], &["--conf_dir"]);
        rejects(&["--log_dir=/var/log\nx"], &["--log_dir", "control character"]);
    }

    #[test]
    fn whitelist_normalised_and_checked() {
        assert_eq!(settings(&["--4lw_whitelist= ruok , mntr"]).unwrap().four_lw_whitelist, "ruok,mntr");
        assert_eq!(settings(&["--4lw_whitelist=*"]).unwrap().four_lw_whitelist, "*");
        rejects(&["--4lw_whitelist=ruok,rouk"], &["--4lw_whitelist", "'rouk'"]);
        rejects(&["--4lw_whitelist="], &["--4lw_whitelist", "empty"]);
    }

    #[test]
    fn admin_server_defaults_to_localhost() {
        let s = settings(&["--admin_server_port=8080"]).unwrap();
        assert_eq!(s.admin_server, Some(AdminServer { port: 8080, address: "127.0.0.1".into() }));
        let s = settings(&["--admin_server_port=8080", "--admin_server_address=0.0.0.0"]).unwrap();
        assert_eq!(s.admin_server.unwrap().address, "0.0.0.0");
        rejects(&["--admin_server_address=0.0.0.0"], &["--admin_server_address", "--admin_server_port"]);
        rejects(
            &["--admin_server_port=8080", "--admin_server_address=not an address"],
            &["--admin_server_address"],
        );
    }

    #[test]
    fn set_refuses_managed_keys_naming_the_flag() {
        rejects(&["--set", "clientPort=1"], &["clientPort", "--client_port"]);
        rejects(&["--set", "autopurge.purgeInterval=1"], &["--purge_interval"]);
        rejects(&["--set", "server.4=x:1:2"], &["--servers"]);
        rejects(&["--set", "novalue"], &["--set", "'novalue'", "KEY=VALUE"]);
        rejects(&["--set", "a=1", "--set", "A=2"], &["twice"]);
        rejects(&["--set", "bad key=1"], &["--set"]);
        let s =
            settings(&["--set", "standaloneEnabled=false", "--set", "metricsProvider.exportJvmInfo=true"])
                .unwrap();
        assert_eq!(s.extra[0], ("standaloneEnabled".to_string(), "false".to_string()));
        assert_eq!(s.extra.len(), 2);
    }

    #[test]
    fn id_space_stays_within_255() {
        let s = settings(&["--servers=5", "--min_server_id=100"]).unwrap();
        assert_eq!(s.min_server_id, 100);
        rejects(&["--servers=5", "--min_server_id=252"], &["--min_server_id", "256", "255"]);
        rejects(&["--min_server_id=0"], &["--min_server_id"]);
    }

    #[test]
    fn domain_checked_and_trailing_dot_dropped() {
        assert_eq!(
            settings(&["--domain=zk-hs.default.svc.cluster.local."]).unwrap().domain.as_deref(),
            Some("zk-hs.default.svc.cluster.local")
        );
        rejects(&["--domain=zk_hs..local"], &["--domain"]);
        assert!(is_dns_name("a-b.c"));
        assert!(!is_dns_name("-a.c"));
        assert!(!is_dns_name(""));
    }

    #[test]
    fn jvm_flags_split_and_jvmflags_appended() {
        let mut args = vec![OsString::from("zk-entry"), OsString::from("start")];
        args.push("--jvm_flags=-Da=1  -XX:+UseG1GC".into());
        let Invocation::Start(s) = cli::parse(args).unwrap() else { panic!() };
        let env = Environment { jvmflags: Some("-Dzk=2".into()), ..Environment::default() };
        let settings = Settings::from_start(&s, &env).unwrap();
        assert_eq!(settings.jvm_flags, vec!["-Da=1", "-XX:+UseG1GC", "-Dzk=2"]);
    }

    #[test]
    fn switches_from_the_environment() {
        let parse = |dry_run: Option<&str>, flags: &[&str]| {
            let mut args = vec![OsString::from("zk-entry"), OsString::from("start")];
            args.extend(flags.iter().map(OsString::from));
            let Invocation::Start(s) = cli::parse(args).unwrap() else { panic!() };
            let env = Environment { dry_run: dry_run.map(str::to_string), ..Environment::default() };
            Settings::from_start(&s, &env)
        };
        assert!(parse(Some("yes"), &[]).unwrap().dry_run);
        assert!(parse(Some("TRUE"), &[]).unwrap().dry_run);
        assert!(!parse(Some("0"), &[]).unwrap().dry_run);
        assert!(!parse(None, &[]).unwrap().dry_run);
        assert!(parse(Some("false"), &["--dry-run"]).unwrap().dry_run, "the flag wins");
        let err = parse(Some("maybe"), &[]).unwrap_err();
        assert_eq!(exit::code_of(&err), exit::USAGE);
        let line = exit::one_line(&err);
        assert!(
            line.contains("ZK_DRY_RUN (environment): 'maybe'") && line.contains("true or false"),
            "{line}"
        );
    }

    #[test]
    fn user_and_exit_code_map() {
        let s = settings(&[]).unwrap();
        assert_eq!((s.user, s.user_explicit), (UserSpec::Name("zookeeper".into()), false));
        let s =
            settings(&["--user=1000:1000", "--exit_code_map=143:0", "--exit_code_map", "1:3,2:4"]).unwrap();
        assert_eq!((s.user, s.user_explicit), (UserSpec::UidGid(1000, 1000), true));
        assert_eq!(s.exit_code_map, vec![(143, 0), (1, 3), (2, 4)]);
        rejects(&["--user=a b"], &["--user", "'a b'", "uid:gid"]);
        rejects(&["--exit_code_map=143"], &["--exit_code_map", "'143'", "FROM:TO"]);
        rejects(&["--exit_code_map=256:0"], &["0 to 255"]);
        rejects(&["--exit_code_map=1:0", "--exit_code_map=1:2"], &["status 1 is mapped twice"]);
    }

    #[test]
    fn relative_java_rejected() {
        rejects(&["--java=java"], &["--java", "absolute"]);
    }
}
