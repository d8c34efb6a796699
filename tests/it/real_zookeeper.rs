//! A real standalone ZooKeeper (Debian's package) started through `zk-entry start` in a pod's
//! namespaces, checked over raw TCP: it answers `ruok` and `srvr`, honours the whitelist zk-entry
//! wrote, logs at the level `--log_level` asked for (through log4j as Debian's 3.8 does, and
//! through logback as upstream 3.8+ does), and runs the purge task every `--purge_interval`
//! hours (the key the script misspelled).

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::support::*;

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
    // The machine's logback (1.2), copied where the pod still sees it once the run's suite has
    // its own /usr/share/java (Debian's 3.9 packages bring no logback): as an image adds it.
    let copy = [
        "mkdir -p /opt/logback",
        "cp /usr/share/java/logback-classic.jar /usr/share/java/logback-core.jar /opt/logback/",
    ];
    let classpath = "--classpath=/opt/zookeeper/conf:/usr/share/java/zookeeper.jar:/opt/logback/logback-classic.jar:/opt/logback/logback-core.jar";
    let server =
        Server::start_with_setup(&copy, &["--log_level=WARN", classpath], "srvr", |r| r.contains("Mode: "));
    assert_eq!(four_letter(server.port, "ruok", RAW_IO_LIMIT).unwrap(), "imok");
    let log = server.stop();
    assert!(log.contains("[myid:1] - WARN "), "expected WARN lines in the tutorial pattern:\n{log}");
    assert!(!log.contains(" - INFO "), "INFO lines despite --log_level=WARN:\n{log}");
    assert!(!log.contains("log4j:WARN"), "log4j answered instead of logback:\n{log}");
}

/// Send `sig` to zk-entry (PID 1 of the pod's PID namespace) or to the java under it, and time
/// until the pod is gone: (exit status, time taken, java's pid).
fn signal_pod(
    server: &mut Server,
    to_java: bool,
    sig: i32,
    limit: Duration,
) -> (std::process::ExitStatus, Duration, u32) {
    let zk_entry = only_child(server.process.0.id(), RAW_IO_LIMIT);
    let java = only_child(zk_entry, RAW_IO_LIMIT);
    assert_eq!(proc_status(java, "Name").as_deref(), Some("java"));
    let sent = std::time::Instant::now();
    signal(if to_java { java } else { zk_entry }, sig);
    let status = wait_exit(&mut server.process.0, limit);
    (status, sent.elapsed(), java)
}

#[test]
fn sigterm_to_pid1_shuts_zookeeper_down_and_passes_its_status_on() {
    let mut server = start("INFO", &[]);
    let (status, took, java) = signal_pod(&mut server, false, libc::SIGTERM, Duration::from_secs(10));
    let log = fs::read_to_string(&server.stderr).unwrap();
    assert_eq!(status.code(), Some(143), "{log}");
    assert!(log.contains("forwarded SIGTERM to ZooKeeper"), "{log}");
    // "exited with status 143", not "was killed by SIGTERM": the JVM took the signal, ran its
    // shutdown hooks and exited; zk-entry passed that status on.
    assert!(log.contains(") exited with status 143; exiting with 143"), "{log}");
    assert!(proc_status(java, "State").is_none(), "java still exists");
    eprintln!("SIGTERM to exit: {took:?}");
}

#[test]
fn kill_9_of_java_ends_pid1_at_once() {
    let mut server = start("INFO", &[]);
    let (status, took, _) = signal_pod(&mut server, true, libc::SIGKILL, Duration::from_secs(5));
    assert_eq!(status.code(), Some(137));
    assert!(took < Duration::from_millis(100), "took {took:?}");
}

/// Regression (and the measurement behind the reply cap): every top-level znode that is written
/// to gets its own per-namespace lines in 3.6+'s `mntr`, so a client that creates 1,000 of them
/// with long names pushed a real server's `mntr` past the old 1 MiB cap, and `metrics` reported
/// the server down. The figures are in docs/performance.md, "mntr size".
#[test]
fn mntr_of_a_thousand_long_named_top_level_znodes_is_read_whole() {
    let server = start("WARN", &[]);
    let count = 1000;
    let name = "n".repeat(200);
    let script: String =
        (0..count).map(|i| format!("create /{name}{i:04} x\n")).collect::<String>() + "quit\n";
    let mut cli = std::process::Command::new("/usr/share/zookeeper/bin/zkCli.sh")
        .args(["-server", &format!("127.0.0.1:{}", server.port)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut cli.stdin.take().unwrap(), script.as_bytes()).unwrap();
    let mut cli = Reaped(cli);
    wait_exit(&mut cli.0, Duration::from_secs(180));
    let out = zk_entry()
        .args(["metrics", &server.port.to_string(), "--format=raw", "--timeout=10s"])
        .output()
        .unwrap();
    let size = out.stdout.len();
    eprintln!("mntr with {count} top-level znodes of {} characters: {size} bytes", name.len() + 4);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(size > 1 << 20, "only {size} bytes: the test no longer crosses the old cap");
    let prometheus = zk_entry()
        .args(["metrics", &server.port.to_string(), "--format=prometheus", "--timeout=10s"])
        .output()
        .unwrap();
    assert_eq!(prometheus.status.code(), Some(0), "{}", stderr(&prometheus));
    assert!(stdout(&prometheus).contains("\nzk_up 1\n"), "{}", stderr(&prometheus));
}

/// `zk-entry start` into the private directory `dir` with /bin/true as java: it writes the
/// files and runs nothing.
fn start_into(dir: &Path, extra: &[&str]) -> std::process::Output {
    let d = dir.display();
    let mut cmd = zk_entry();
    cmd.arg("start").args([
        format!("--conf_dir={d}/conf"),
        format!("--data_dir={d}/data"),
        format!("--data_log_dir={d}/data/log"),
        format!("--log_dir={d}/log"),
        "--java=/bin/true".into(),
    ]);
    cmd.args(extra).output().unwrap()
}

/// What ZooKeeper's own parser keeps of each key of `zoo_cfg`, as UTF-8 in hex
/// (tests/fixtures/ReadZooCfg.java, run with the machine's java on Debian's jars).
fn zookeeper_reads(zoo_cfg: &Path, keys: &[&str]) -> Vec<String> {
    let jars = ["zookeeper.jar", "log4j-1.2.jar", "slf4j-api.jar", "slf4j-log4j12.jar"];
    let classpath: Vec<String> = jars.iter().map(|j| format!("/usr/share/java/{j}")).collect();
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ReadZooCfg.java");
    let out = std::process::Command::new("java")
        .args(["-cp", &classpath.join(":")])
        .arg(program)
        .arg(zoo_cfg)
        .args(keys)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "ReadZooCfg: {}", stderr(&out));
    let text = stdout(&out);
    keys.iter()
        .map(|k| {
            let prefix = format!("{k}=");
            text.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or("missing").to_string()
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// java.util.Properties treats a backslash as an escape (`\n`, `\uXXXX`), a trailing one as a
/// line continuation, and reads the file as ISO 8859-1: a `--set_file` or `--set` value with any
/// of these reaches ZooKeeper exactly as given.
#[test]
fn set_and_set_file_values_reach_zookeeper_byte_for_byte() {
    require_zookeeper();
    let dir = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let tricky = "a\\b \\n\\u0041 donnée ✓ 😀 #x !y =z :w end\\";
    let file = secrets.path().join("value");
    fs::write(&file, format!("{tricky}\n")).unwrap();
    let set_file = format!("tricky.file={}", file.display());
    let set = format!("tricky.set={tricky}");
    let out = start_into(dir.path(), &["--set_file", &set_file, "--set", &set]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let read = zookeeper_reads(&dir.path().join("conf/zoo.cfg"), &["tricky.file", "tricky.set"]);
    assert_eq!(read, [hex(tricky.as_bytes()), hex(tricky.as_bytes())], "ZooKeeper read another value");
}

/// ZooKeeper trims every zoo.cfg value after Properties has read it, so a value that starts or
/// ends with white space cannot reach it as written: refused, naming the flag, key and file,
/// never quoting the secret; nothing written.
#[test]
fn values_zookeeper_would_trim_are_refused_naming_the_file() {
    let secrets = tempfile::tempdir().unwrap();
    for (name, value) in [("leading", "  s3cret"), ("trailing", "s3cret \n")] {
        let dir = tempfile::tempdir().unwrap();
        let file = secrets.path().join(name);
        fs::write(&file, value).unwrap();
        let out = start_into(dir.path(), &["--set_file", &format!("my.secret={}", file.display())]);
        let what = format!("--set_file {name}");
        assert_refused(
            &what,
            &out,
            1,
            &[&format!("--set_file my.secret: {}: ", file.display()), "white space", "ZooKeeper trims"],
        );
        assert!(!stderr(&out).contains("s3cret"), "{what}: the secret is quoted");
        assert!(snapshot(dir.path()).is_empty(), "{what}: files were written");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = start_into(dir.path(), &["--set", "my.setting= on"]);
    assert_refused("--set", &out, 2, &["--set: 'my.setting= on'", "white space", "ZooKeeper trims"]);
    assert!(snapshot(dir.path()).is_empty(), "--set: files were written");
}
