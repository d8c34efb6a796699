//! The contents of every file `start` writes, from the templates in `conf-templates/` (compiled
//! into the binary, so nothing of ours is needed at run time) and the checked settings.
//!
//! Pure functions: no I/O here, so the golden tests compare exact bytes.

use std::fmt::Write as _;
use std::path::Path;

use super::identity::Identity;
use super::settings::{LogLevel, Settings};

const ZOO_CFG: &str = include_str!("../../conf-templates/zoo.cfg");
const LOG4J: &str = include_str!("../../conf-templates/log4j.properties");
const LOGBACK: &str = include_str!("../../conf-templates/logback.xml");
const JAVA_ENV: &str = include_str!("../../conf-templates/java.env");

/// The tutorial's console pattern; `[myid:%X{myid}]` tells ensemble members' lines apart.
const LOG_PATTERN: &str = "%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n";

/// Replace each `{{name}}` in `template`. Templates are ours, so a placeholder without a value is
/// a bug caught by the tests, not by users.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    debug_assert!(!out.contains("{{"), "unfilled placeholder in template");
    out
}

/// zoo.cfg's keys and values in the order start-zookeeper wrote them, then zk-entry's own.
pub(crate) fn zoo_cfg_entries(s: &Settings, id: &Identity) -> Vec<(String, String)> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let (timing, server) = (&s.timing, &s.server);
    let mut entries: Vec<(String, String)> = vec![
        ("clientPort".into(), s.ports.client.to_string()),
        ("dataDir".into(), path(&s.paths.data_dir)),
        ("dataLogDir".into(), path(&s.paths.data_log_dir)),
        ("tickTime".into(), timing.tick_time.to_string()),
        ("initLimit".into(), timing.init_limit.to_string()),
        ("syncLimit".into(), timing.sync_limit.to_string()),
        ("maxClientCnxns".into(), server.max_client_cnxns.to_string()),
        ("minSessionTimeout".into(), timing.min_session_timeout.to_string()),
        ("maxSessionTimeout".into(), timing.max_session_timeout.to_string()),
        ("autopurge.snapRetainCount".into(), server.snap_retain_count.to_string()),
        ("autopurge.purgeInterval".into(), server.purge_interval.to_string()),
        ("4lw.commands.whitelist".into(), server.four_lw_whitelist.clone()),
    ];
    if s.security.tls.as_ref().is_some_and(|t| t.plaintext_off) {
        // `--client_plaintext=off`: clients reach only the secure port.
        entries.remove(0);
    }
    match &s.ports.admin {
        Some(admin) => {
            entries.push(("admin.enableServer".into(), "true".into()));
            entries.push(("admin.serverAddress".into(), admin.address.clone()));
            entries.push(("admin.serverPort".into(), admin.port.to_string()));
        }
        None => entries.push(("admin.enableServer".into(), "false".into())),
    }
    if s.ensemble.quorum_listen_on_all_ips {
        entries.push(("quorumListenOnAllIPs".into(), "true".into()));
    }
    if id.is_observer(&s.ensemble) && !s.ensemble.reconfig {
        entries.push(("peerType".into(), "observer".into()));
    }
    entries.extend(server.extra.iter().cloned());
    // A dynamic membership lives in its own file (start::reconfig), never in zoo.cfg.
    if !s.ensemble.reconfig {
        for (n, server) in id.server_lines(&s.ensemble, &s.ports) {
            entries.push((format!("server.{n}"), server));
        }
    }
    entries
}

/// A value as java.util.Properties reads it back exactly: zoo.cfg is read as ISO 8859-1 with
/// backslash escapes, so a backslash is doubled (a trailing one would join the next line, `\n`
/// or `\u0041` in a value would be decoded), anything beyond ASCII and any control character is
/// written as `\uXXXX` (a line break would end the value), and leading white space, which
/// Properties skips, as `\ `. ZooKeeper then trims every value, so the settings refuse values
/// that start or end with white space ([`super::settings::zoo_cfg_value_problem`]) rather than
/// let them arrive changed.
fn properties_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut leading = true;
    for c in value.chars() {
        leading &= c == ' ';
        match c {
            '\\' => out.push_str("\\\\"),
            ' ' if leading => out.push_str("\\ "),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
        }
    }
    out
}

pub(crate) fn zoo_cfg(entries: &[(String, String)]) -> String {
    let mut lines = String::new();
    for (key, value) in entries {
        let _ = writeln!(lines, "{key}={}", properties_value(value));
    }
    fill(ZOO_CFG, &[("settings", lines.trim_end_matches('\n'))])
}

pub(crate) fn log4j_properties(level: LogLevel) -> String {
    fill(LOG4J, &[("level", level.log4j()), ("pattern", LOG_PATTERN)])
}

pub(crate) fn logback_xml(level: LogLevel) -> String {
    fill(LOGBACK, &[("level", level.logback()), ("pattern", LOG_PATTERN)])
}

/// A command as one line a POSIX shell would run as given, for logs and `--dry-run`.
pub(crate) fn command_line<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words.into_iter().map(shell_quote).collect::<Vec<_>>().join(" ")
}

/// Quote for POSIX sh: java.env is sourced by zkEnv.sh.
fn shell_quote(value: &str) -> String {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=+,@%".contains(&b)) {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', "'\\''"))
}

pub(crate) fn java_env(log_dir: &Path, jvm_options: &[String]) -> String {
    let log_dir = shell_quote(&log_dir.to_string_lossy());
    let flags = shell_quote(&jvm_options.join(" "));
    fill(JAVA_ENV, &[("log_dir", &log_dir), ("jvm_flags", &flags)])
}

/// myid holds the id and a newline, as `echo` wrote it.
pub(crate) fn myid(id: u64) -> String {
    format!("{id}\n")
}

#[cfg(test)]
mod tests {
    use crate::start::settings::tests::settings;

    /// zoo.cfg's keys for these start flags, on a standalone host.
    fn keys(flags: &[&str]) -> Vec<String> {
        let s = settings(flags).unwrap();
        let id = Identity { name: String::new(), ordinal: None, myid: 1, domain: None };
        zoo_cfg_entries(&s, &id).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn the_plaintext_client_port_leaves_zoo_cfg_only_when_asked() {
        assert!(keys(&[]).contains(&"clientPort".to_string()));
        assert!(keys(&["--tls_dir=/t"]).contains(&"clientPort".to_string()));
        assert!(!keys(&["--tls_dir=/t", "--client_plaintext=off"]).contains(&"clientPort".to_string()));
    }

    use super::*;

    #[test]
    fn templates_have_no_unfilled_placeholders() {
        for text in [log4j_properties(LogLevel::Warn), logback_xml(LogLevel::Fatal), zoo_cfg(&[])] {
            assert!(!text.contains("{{"), "{text}");
        }
    }

    #[test]
    fn log_level_is_literal_in_both_logging_files() {
        let log4j = log4j_properties(LogLevel::Debug);
        assert!(log4j.contains("log4j.rootLogger=DEBUG, CONSOLE\n"));
        assert!(log4j.contains("Threshold=DEBUG\n"));
        assert!(!log4j.contains("${zookeeper.root.logger}\n"));
        assert!(log4j.contains("[myid:%X{myid}]"));
        let logback = logback_xml(LogLevel::Fatal);
        assert!(logback.contains("<root level=\"ERROR\">"));
        assert!(logback.contains("<level>ERROR</level>"));
        assert!(logback.contains("<pattern>%d{ISO8601} [myid:%X{myid}]"));
    }

    #[test]
    fn properties_escaping() {
        assert_eq!(properties_value("/var/lib/zk"), "/var/lib/zk");
        assert_eq!(properties_value("C:\\x"), "C:\\\\x");
        assert_eq!(properties_value("/données"), "/donn\\u00E9es");
        assert_eq!(properties_value("😀"), "\\uD83D\\uDE00");
        assert_eq!(properties_value("end\\"), "end\\\\");
        assert_eq!(properties_value("  a b"), "\\ \\ a b");
        assert_eq!(properties_value("a\nb\tc\r\u{7f}"), "a\\u000Ab\\u0009c\\u000D\\u007F");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/var/log/zookeeper"), "/var/log/zookeeper");
        assert_eq!(shell_quote("-Xmx1G -Xms1G"), "'-Xmx1G -Xms1G'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn an_observer_says_so_and_a_voter_does_not() {
        use crate::start::identity::DomainSources;
        let s =
            crate::start::settings::tests::settings(&["--servers=3", "--observers=1", "--domain=d.local"])
                .unwrap();
        let none = |_: &str| None;
        let sources = DomainSources { hosts: None, resolver: &none };
        let peer_type = |host: &str| {
            let id = Identity::derive(&s.ensemble, host, &sources).unwrap();
            zoo_cfg_entries(&s, &id).into_iter().find(|(k, _)| k == "peerType").map(|(_, v)| v)
        };
        assert_eq!(peer_type("zk-2").as_deref(), Some("observer"));
        assert_eq!(peer_type("zk-1"), None);
    }

    #[test]
    fn myid_has_trailing_newline() {
        assert_eq!(myid(3), "3\n");
    }
}
