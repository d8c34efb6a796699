//! A real standalone ZooKeeper (Debian's package) started through `zk-entry start` in a pod's
//! namespaces, checked over raw TCP: it answers `ruok` and `srvr`, honours the whitelist zk-entry
//! wrote, logs at the level `--log_level` asked for (through log4j as Debian's 3.8 does, and
//! through logback as upstream 3.8+ does), and runs the purge task every `--purge_interval`
//! hours (the key the script misspelled).

mod support;

use support::*;

/// Debian's ZooKeeper through `zk-entry start` at this log level, checked to answer `ruok`.
fn start(level: &str, extra: &[&str]) -> Server {
    let level_flag = format!("--log_level={level}");
    let flags: Vec<&str> = std::iter::once(level_flag.as_str()).chain(extra.iter().copied()).collect();
    let server = Server::start(&flags);
    assert_eq!(four_letter(server.port, "ruok", RAW_IO_LIMIT).unwrap(), "imok");
    server
}

#[test]
fn standalone_server_serves_with_our_config_and_info_logging() {
    let server = start("INFO", &[]);
    let srvr = four_letter(server.port, "srvr", RAW_IO_LIMIT).unwrap();
    assert!(srvr.contains("Mode: standalone"), "{srvr}");
    // conf is not in zk-entry's default whitelist (ruok,srvr,mntr): the server read our zoo.cfg.
    let conf = four_letter(server.port, "conf", RAW_IO_LIMIT).unwrap();
    assert!(conf.contains("conf is not executed because it is not in the whitelist"), "{conf}");
    let mntr = four_letter(server.port, "mntr", RAW_IO_LIMIT).unwrap();
    assert!(mntr.contains("zk_server_state\tstandalone"), "{mntr}");
    let log = server.stop();
    assert!(log.contains("autopurge.purgeInterval set to 12"), "purge interval not in effect:\n{log}");
    assert!(log.contains("Purge task started"), "{log}");
    assert!(log.contains("[myid:1] - INFO "), "console pattern or myid missing:\n{log}");
}

#[test]
fn log_level_warn_silences_info() {
    let server = start("WARN", &[]);
    let log = server.stop();
    assert!(log.contains(" - WARN "), "expected some WARN lines:\n{log}");
    assert!(!log.contains(" - INFO "), "INFO lines despite --log_level=WARN:\n{log}");
}

/// Upstream ZooKeeper 3.8+ logs through logback: the same server with logback on the classpath
/// instead of log4j must read our logback.xml, level and pattern included.
#[test]
fn logback_configuration_is_in_force_too() {
    for jar in ["logback-classic.jar", "logback-core.jar"] {
        let path = format!("/usr/share/java/{jar}");
        assert!(
            std::path::Path::new(&path).is_file(),
            "{path} missing: `make test` installs liblogback-java"
        );
    }
    let classpath = "--classpath=/opt/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/logback-classic.jar:/usr/share/java/logback-core.jar";
    let server = start("WARN", &[classpath]);
    let log = server.stop();
    assert!(log.contains("[myid:1] - WARN "), "expected WARN lines in the tutorial pattern:\n{log}");
    assert!(!log.contains(" - INFO "), "INFO lines despite --log_level=WARN:\n{log}");
    assert!(!log.contains("log4j:WARN"), "log4j answered instead of logback:\n{log}");
}
