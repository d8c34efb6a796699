//! A real standalone ZooKeeper (Debian's package) started through `zk-entry start` in a pod's
//! namespaces, checked over raw TCP: it answers `ruok` and `srvr`, honours the whitelist zk-entry
//! wrote, logs at the level `--log_level` asked for (through log4j as Debian's 3.8 does, and
//! through logback as upstream 3.8+ does), and runs the purge task every `--purge_interval`
//! hours (the key the script misspelled).

mod support;

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use support::*;

const START_LIMIT: Duration = Duration::from_secs(60);
const IO_LIMIT: Duration = Duration::from_secs(2);

struct Server {
    port: u16,
    stdout: PathBuf,
    stderr: PathBuf,
    process: Reaped,
    _pod: Pod,
}

fn start(level: &str, extra: &[&str]) -> Server {
    require_zookeeper();
    let mut pod = Pod::new("zk-0", &kubelet_hosts(0));
    pod.network = true;
    pod.private_tmp = true;
    let port = free_port();
    let stdout = pod.root.path().join("zookeeper.out");
    let stderr = pod.root.path().join("zk-entry.err");
    let port_flag = format!("--client_port={port}");
    let level_flag = format!("--log_level={level}");
    let args = [
        "start",
        &port_flag,
        &level_flag,
        "--heap=256M",
        "--purge_interval=12",
        "--set",
        "clientPortAddress=127.0.0.1",
    ];
    let args: Vec<&str> = args.iter().chain(extra).copied().collect();
    let child = pod
        .command(BIN, &args)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("start zk-entry");
    let mut process = Reaped(child);
    let ready = wait_for(START_LIMIT, || {
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!("zk-entry ended with {status}: {}", fs::read_to_string(&stderr).unwrap_or_default());
        }
        // imok comes as soon as the port is open; srvr only once the server serves.
        four_letter(port, "srvr", IO_LIMIT).ok().filter(|r| r.contains("Mode: "))
    });
    assert!(
        ready.is_some(),
        "not serving within {START_LIMIT:?}; zk-entry said: {}",
        fs::read_to_string(&stderr).unwrap()
    );
    assert_eq!(four_letter(port, "ruok", IO_LIMIT).unwrap(), "imok");
    Server { port, stdout, stderr, process, _pod: pod }
}

impl Server {
    /// Stop the server and return everything it logged.
    fn stop(mut self) -> String {
        let _ = self.process.0.kill();
        let _ = self.process.0.wait();
        fs::read_to_string(&self.stdout).unwrap()
    }
}

#[test]
fn standalone_server_serves_with_our_config_and_info_logging() {
    let server = start("INFO", &[]);
    let srvr = four_letter(server.port, "srvr", IO_LIMIT).unwrap();
    assert!(srvr.contains("Mode: standalone"), "{srvr}");
    // conf is not in zk-entry's default whitelist (ruok,srvr,mntr): the server read our zoo.cfg.
    let conf = four_letter(server.port, "conf", IO_LIMIT).unwrap();
    assert!(conf.contains("conf is not executed because it is not in the whitelist"), "{conf}");
    let mntr = four_letter(server.port, "mntr", IO_LIMIT).unwrap();
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

/// Send `sig` to zk-entry (PID 1 of the pod's PID namespace) or to the java under it, and time
/// until the pod is gone: (exit status, time taken, java's pid).
fn signal_pod(
    server: &mut Server,
    to_java: bool,
    sig: i32,
    limit: Duration,
) -> (std::process::ExitStatus, Duration, u32) {
    let zk_entry = only_child(server.process.0.id(), IO_LIMIT);
    let java = only_child(zk_entry, IO_LIMIT);
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
    assert!(log.contains("forwarding SIGTERM to ZooKeeper"), "{log}");
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
