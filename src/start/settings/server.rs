//! What ZooKeeper itself is told beyond membership and ports: limits, snapshot purging, the
//! four-letter-word whitelist, the log level, and any other zoo.cfg key (`--set`). Owns the rule
//! that `--set` neither repeats a key nor overrides one that zk-entry writes from a flag.

use crate::exit;
use crate::parse::{Raw, Source};
use crate::secrets;
use crate::start::args::StartArgs;

/// ZooKeeper parses its numeric settings as Java `int`s.
pub(super) const JAVA_INT_MAX: u64 = i32::MAX as u64;
/// ZooKeeper refuses to purge when it would keep fewer snapshots than this.
const MIN_SNAP_RETAIN: u64 = 3;

/// Four-letter words ZooKeeper 3.4 to 3.9 knows; a typo in the whitelist would silently disable
/// a probe, so unknown words are refused.
const FOUR_LETTER_WORDS: &[&str] = &[
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
pub(crate) enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    const ALL: [(&'static str, LogLevel); 6] = [
        ("TRACE", LogLevel::Trace),
        ("DEBUG", LogLevel::Debug),
        ("INFO", LogLevel::Info),
        ("WARN", LogLevel::Warn),
        ("ERROR", LogLevel::Error),
        ("FATAL", LogLevel::Fatal),
    ];

    /// The level's name in log4j 1.2.
    pub(crate) fn log4j(self) -> &'static str {
        Self::ALL.iter().find(|(_, l)| *l == self).map(|(n, _)| *n).unwrap_or("INFO")
    }

    /// The level's name in logback, which has no FATAL: ERROR is the closest that still shows
    /// fatal events.
    pub(crate) fn logback(self) -> &'static str {
        match self {
            LogLevel::Fatal => "ERROR",
            other => other.log4j(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerOptions {
    pub(crate) max_client_cnxns: u64,
    pub(crate) snap_retain_count: u64,
    /// Hours; 0 = never.
    pub(crate) purge_interval: u64,
    pub(crate) four_lw_whitelist: String,
    pub(crate) log_level: LogLevel,
    /// `--set KEY=VALUE` entries, in the order given.
    pub(crate) extra: Vec<(String, String)>,
}

impl ServerOptions {
    pub(super) fn from_input(a: &StartArgs) -> anyhow::Result<ServerOptions> {
        let mut extra: Vec<(String, String)> = Vec::with_capacity(a.set.len());
        for raw in &a.set {
            // ZK_SET's lines: one after a secret may be the rest of a value broken in two.
            let after_secret = extra
                .last()
                .map(|(k, _)| k.as_str())
                .filter(|k| raw.source == Source::Environment && secrets::is_secret_key(k));
            let (key, value) = set_entry(raw, after_secret)?;
            if let Some((earlier, _)) = extra.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key)) {
                return exit::usage(format!(
                    "{}: key '{key}' is given twice (also as '{earlier}'); give each zoo.cfg key once",
                    raw.name
                ));
            }
            extra.push((key, value));
        }
        Ok(ServerOptions {
            max_client_cnxns: a.max_client_cnxns.number(0, JAVA_INT_MAX)?,
            snap_retain_count: a.snap_retain_count.number(MIN_SNAP_RETAIN, JAVA_INT_MAX)?,
            purge_interval: a.purge_interval.number(0, JAVA_INT_MAX)?,
            four_lw_whitelist: whitelist(&a.four_lw_whitelist)?,
            log_level: a.log_level.choice(
                "is not a log level",
                "TRACE, DEBUG, INFO, WARN, ERROR or FATAL",
                &LogLevel::ALL,
            )?,
            extra,
        })
    }
}

fn whitelist(raw: &Raw) -> anyhow::Result<String> {
    let expected = format!("'*' or a comma-separated list of {}", FOUR_LETTER_WORDS.join(", "));
    let words: Vec<&str> = raw.text.split(',').map(str::trim).collect();
    if words == ["*"] {
        return Ok("*".into());
    }
    if words.iter().all(|w| w.is_empty()) {
        return Err(raw.reject("is empty (ZooKeeper would then answer only srvr)", &expected));
    }
    if let Some(unknown) = words.iter().find(|w| !FOUR_LETTER_WORDS.contains(w)) {
        return Err(raw.reject_part(unknown, "is not a four-letter word ZooKeeper knows", &expected));
    }
    Ok(words.join(","))
}

/// `KEY=VALUE` for a zoo.cfg key zk-entry does not manage. A secret value (by its key) is never
/// quoted back: the refusal shows `KEY=<redacted>`; nor is a line of `ZK_SET` that follows the
/// secret key `after_secret` and is no entry of its own (it may be the second half of the value).
fn set_entry(raw: &Raw, after_secret: Option<&str>) -> anyhow::Result<(String, String)> {
    let expected = "KEY=VALUE with a zoo.cfg key of letters, digits, '.', '_' or '-'";
    let shown = match (raw.text.split_once('='), after_secret) {
        (Some((key, _)), _) if secrets::is_secret_key(key) => {
            Raw::new(raw.name.clone(), format!("{key}={}", secrets::REDACTED), raw.source)
        }
        (_, Some(secret)) => {
            Raw::new(format!("{}, the line after {secret}=...", raw.name), secrets::REDACTED, raw.source)
        }
        _ => raw.clone(),
    };
    if raw.text.chars().any(char::is_control) {
        return Err(shown.reject("contains a control character", expected));
    }
    let Some((key, value)) = raw.text.split_once('=') else {
        return Err(shown.reject("has no '='", expected));
    };
    if !is_key(key) {
        return Err(shown.reject("does not start with a valid key", expected));
    }
    check_unmanaged(&raw.name, key)?;
    if let Some(problem) = zoo_cfg_value_problem(value) {
        return Err(shown.reject(&format!("has a value that {problem}"), "the value without it"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Why ZooKeeper would not read `value` as written in zoo.cfg, if it would not. Properties can
/// carry any character ([`crate::start::render`] escapes them), but ZooKeeper 3.8's
/// `QuorumPeerConfig` then trims every value (`String.trim`: each character up to U+0020 at
/// either end): `--set_file` with "  s3cret" gave ZooKeeper "s3cret". No escaping survives that.
pub(crate) fn zoo_cfg_value_problem(value: &str) -> Option<&'static str> {
    let trimmed = |c: char| c <= ' ';
    (value.starts_with(trimmed) || value.ends_with(trimmed))
        .then_some("starts or ends with white space, which ZooKeeper trims off every zoo.cfg value")
}

/// A zoo.cfg key as `--set` and `--set_file` accept it.
pub(super) fn is_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Refuse a key that zk-entry writes itself from a flag; `name` is the flag that gave it.
pub(super) fn check_unmanaged(name: &str, key: &str) -> anyhow::Result<()> {
    let lower = key.to_ascii_lowercase();
    if lower.starts_with("server.") {
        return exit::usage(format!(
            "{name}: '{key}' is written by zk-entry from --servers, --domain, --server_port and --election_port; remove it from {name}"
        ));
    }
    if let Some((_, flag)) = MANAGED_KEYS.iter().find(|(k, _)| *k == lower) {
        return exit::usage(format!("{name}: '{key}' is managed by zk-entry; use {flag} instead"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::start::settings::tests::{rejects, settings};

    #[test]
    fn log_level_any_case_known_only() {
        assert_eq!(settings(&["--log_level=debug"]).unwrap().server.log_level, LogLevel::Debug);
        assert_eq!(LogLevel::Fatal.logback(), "ERROR");
        rejects(
            &["--log_level=VERBOSE"],
            &["--log_level", "'VERBOSE'", "TRACE, DEBUG, INFO, WARN, ERROR or FATAL"],
        );
    }

    #[test]
    fn snap_retain_count_at_least_three() {
        rejects(&["--snap_retain_count=2"], &["--snap_retain_count", "3 to"]);
    }

    #[test]
    fn whitelist_normalised_and_checked() {
        assert_eq!(
            settings(&["--4lw_whitelist= ruok , mntr"]).unwrap().server.four_lw_whitelist,
            "ruok,mntr"
        );
        assert_eq!(settings(&["--4lw_whitelist=*"]).unwrap().server.four_lw_whitelist, "*");
        rejects(&["--4lw_whitelist=ruok,rouk"], &["--4lw_whitelist", "'rouk'"]);
        rejects(&["--4lw_whitelist="], &["--4lw_whitelist", "empty"]);
    }

    #[test]
    fn set_refuses_managed_keys_naming_the_flag() {
        rejects(&["--set", "clientPort=1"], &["clientPort", "--client_port"]);
        rejects(&["--set", "autopurge.purgeInterval=1"], &["--purge_interval"]);
        rejects(&["--set", "server.4=x:1:2"], &["--servers"]);
        rejects(&["--set", "novalue"], &["--set", "'novalue'", "KEY=VALUE"]);
        rejects(&["--set", "a=1", "--set", "A=2"], &["twice"]);
        rejects(&["--set", "bad key=1"], &["--set"]);
        rejects(&["--set", "server.4=x:1:2"], &["remove it from --set"]);
        let s =
            settings(&["--set", "standaloneEnabled=false", "--set", "metricsProvider.exportJvmInfo=true"])
                .unwrap();
        assert_eq!(s.server.extra[0], ("standaloneEnabled".to_string(), "false".to_string()));
        assert_eq!(s.server.extra.len(), 2);
    }

    #[test]
    fn set_refusals_never_quote_a_secret_value() {
        let line = crate::parse::tests::refusal(settings(&["--set", "ssl.keyStore.password=hun\tter2"]));
        assert_eq!(
            line,
            "--set: 'ssl.keyStore.password=<redacted>' contains a control character; expected KEY=VALUE with a zoo.cfg key of letters, digits, '.', '_' or '-'"
        );
        let line = crate::parse::tests::refusal(settings(&["--set", "tickTime=1\t"]));
        assert!(line.contains("'tickTime=1\\t'"), "other values are quoted: {line}");
    }

    /// Regression: a newline in a `--set` secret cut it in two, and the second half was quoted as
    /// an entry without '='.
    #[test]
    fn a_line_break_in_a_secret_is_refused_without_quoting_it() {
        let line = crate::parse::tests::refusal(settings(&["--set", "my.secret=first\nsecond"]));
        assert_eq!(
            line,
            "--set: 'my.secret=<redacted>' contains a control character; expected KEY=VALUE with a zoo.cfg key of letters, digits, '.', '_' or '-'"
        );
        for split in ["\r", "\u{85}", "\u{b}", "\u{c}"] {
            let line = crate::parse::tests::refusal(settings(&["--set", &format!("a.password=x{split}y")]));
            assert!(line.contains("'a.password=<redacted>' contains a control character"), "{line}");
        }
        // From ZK_SET, one entry per line: the line after a secret that is no entry is not quoted.
        let raw = |text: &str| Raw::new("ZK_SET (environment)", text, Source::Environment);
        let line = crate::exit::one_line(&set_entry(&raw("second"), Some("my.secret")).unwrap_err());
        assert_eq!(
            line,
            "ZK_SET (environment), the line after my.secret=...: '<redacted>' has no '='; expected KEY=VALUE with a zoo.cfg key of letters, digits, '.', '_' or '-'"
        );
        let line = crate::exit::one_line(&set_entry(&raw("second"), None).unwrap_err());
        assert!(line.contains("'second' has no '='"), "{line}");
    }
}
