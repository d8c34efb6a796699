//! `zk-entry start` as a StatefulSet pod runs it: inside UTS, mount and network namespaces with
//! the pod's host name, the kubelet's /etc/hosts and the tutorial's real paths (on pod-private
//! directories). The JVM is replaced by /bin/true through `--java`/`ZK_JAVA`, so these tests
//! check everything up to the exec; `real_zookeeper.rs` runs the real server.
//!
//! Needs root (CI runs as root); without it each test fails saying so.

use std::fs;

use crate::support::*;

const GOLDEN_ZOO_CFG: &str = include_str!("../golden/tutorial-zk-0.zoo.cfg");

fn tutorial_with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["start"];
    args.extend_from_slice(TUTORIAL_FLAGS);
    args.extend_from_slice(extra);
    args
}

#[test]
fn tutorial_manifest_command_through_start_zookeeper_name_matches_golden() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    let bin_dir = pod.root.path().join("bin");
    fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(BIN, bin_dir.join("start-zookeeper")).unwrap();
    // Exactly the tutorial's container command: sh -c "start-zookeeper --servers=3 ...".
    let line = format!("start-zookeeper {}", TUTORIAL_FLAGS.join(" "));
    let mut cmd = pod.command("sh", &["-c", &line]);
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path).env("ZK_JAVA", "/bin/true");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let zoo_cfg = fs::read_to_string(pod.host_path("/opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert_eq!(zoo_cfg, GOLDEN_ZOO_CFG);
    assert_eq!(fs::read_to_string(pod.host_path("/var/lib/zookeeper/data/myid")).unwrap(), "1\n");
    assert!(pod.host_path("/var/lib/zookeeper/data/log").is_dir());
    assert!(pod.host_path("/var/log/zookeeper").is_dir());
    let log4j = fs::read_to_string(pod.host_path("/opt/zookeeper/conf/log4j.properties")).unwrap();
    assert!(log4j.contains("log4j.rootLogger=INFO, CONSOLE"));
    let logback = fs::read_to_string(pod.host_path("/opt/zookeeper/conf/logback.xml")).unwrap();
    assert!(logback.contains("<root level=\"INFO\">"));
    let java_env = fs::read_to_string(pod.host_path("/opt/zookeeper/conf/java.env")).unwrap();
    assert!(java_env.contains("ZOO_LOG_DIR=/var/log/zookeeper\n"), "{java_env}");
    assert!(java_env.contains("JVMFLAGS='-Xms512M -Xmx512M "), "{java_env}");

    // The effective zoo.cfg is logged on stderr, one setting a line, as the script printed it.
    let err = stderr(&out);
    assert!(err.contains("zk-entry: zoo.cfg: autopurge.purgeInterval=12\n"), "{err}");
    assert!(
        err.contains("zk-entry: zoo.cfg: server.3=zk-2.zk-hs.default.svc.cluster.local:2888:3888\n"),
        "{err}"
    );
}

/// The key/value pairs of the golden file, spelled out: the purge key the script misspelled, no
/// stray spaces in the session timeouts, and the server lines in order.
#[test]
fn golden_file_holds_the_tutorial_settings() {
    let pairs: Vec<(&str, &str)> = GOLDEN_ZOO_CFG
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_once('=').expect("key=value"))
        .collect();
    let expected = [
        ("clientPort", "2181"),
        ("dataDir", "/var/lib/zookeeper/data"),
        ("dataLogDir", "/var/lib/zookeeper/data/log"),
        ("tickTime", "2000"),
        ("initLimit", "10"),
        ("syncLimit", "5"),
        ("maxClientCnxns", "60"),
        ("minSessionTimeout", "4000"),
        ("maxSessionTimeout", "40000"),
        ("autopurge.snapRetainCount", "3"),
        ("autopurge.purgeInterval", "12"),
        ("4lw.commands.whitelist", "ruok,srvr,mntr"),
        ("admin.enableServer", "false"),
        ("server.1", "zk-0.zk-hs.default.svc.cluster.local:2888:3888"),
        ("server.2", "zk-1.zk-hs.default.svc.cluster.local:2888:3888"),
        ("server.3", "zk-2.zk-hs.default.svc.cluster.local:2888:3888"),
    ];
    assert_eq!(pairs, expected);
}

#[test]
fn second_pod_gets_myid_2_and_a_restart_changes_nothing() {
    let pod = Pod::new("zk-1", &kubelet_hosts(1));
    let args = tutorial_with(&["--java=/bin/true"]);
    let first = pod.run(&args);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(fs::read_to_string(pod.host_path("/var/lib/zookeeper/data/myid")).unwrap(), "2\n");
    let zoo_cfg = fs::read_to_string(pod.host_path("/opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert_eq!(zoo_cfg, GOLDEN_ZOO_CFG, "the config is the same on every member");

    let before = pod.snapshot();
    let again = pod.run(&args);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stderr(&again).contains("zoo.cfg (unchanged)"), "{}", stderr(&again));
    assert_eq!(pod.snapshot(), before, "a restart with the same flags must not rewrite anything");
}

#[test]
fn changed_flags_replace_the_config_but_keep_myid() {
    let pod = Pod::new("zk-2", &kubelet_hosts(2));
    assert_eq!(pod.run(&tutorial_with(&["--java=/bin/true"])).status.code(), Some(0));
    let out = pod.run(&tutorial_with(&["--java=/bin/true", "--set", "standaloneEnabled=false"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let zoo_cfg = fs::read_to_string(pod.host_path("/opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert!(zoo_cfg.contains("\nstandaloneEnabled=false\nserver.1="), "{zoo_cfg}");
    assert_eq!(fs::read_to_string(pod.host_path("/var/lib/zookeeper/data/myid")).unwrap(), "3\n");
}

fn refused(pod: &Pod, args: &[&str], code: i32, needles: &[&str]) {
    let before = pod.snapshot();
    let out = pod.run(args);
    assert_refused(&format!("{args:?}"), &out, code, needles);
    assert_eq!(pod.snapshot(), before, "a refused start changed files");
}

#[test]
fn ordinal_beyond_servers_is_refused() {
    let pod = Pod::new("zk-3", &kubelet_hosts(3));
    refused(
        &pod,
        &tutorial_with(&["--java=/bin/true"]),
        2,
        &["zk-3", "ordinal 3", "--servers=3", "raise --servers"],
    );
}

#[test]
fn host_without_ordinal_is_refused_for_an_ensemble_but_fine_standalone() {
    let pod = Pod::new("zookeeper", "127.0.0.1 localhost\n");
    refused(&pod, &tutorial_with(&["--java=/bin/true"]), 2, &["'zookeeper'", "ordinal", "--servers=1"]);
    let out = pod.run(&["start", "--java=/bin/true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(pod.host_path("/var/lib/zookeeper/data/myid")).unwrap(), "1\n");
    let zoo_cfg = fs::read_to_string(pod.host_path("/opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert!(!zoo_cfg.contains("server."), "{zoo_cfg}");
}

#[test]
fn missing_domain_is_refused_not_written_as_a_trailing_dot() {
    // The kubelet wrote no FQDN (no serviceName/subdomain) and the resolver has nothing.
    let pod = Pod::new("zk-0", "127.0.0.1 localhost\n198.18.0.10 zk-0\n");
    refused(&pod, &tutorial_with(&["--java=/bin/true"]), 2, &["domain", "zk-0", "--domain="]);
    let out = pod.run(&tutorial_with(&["--java=/bin/true", "--domain=zk-hs.default.svc.cluster.local"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let zoo_cfg = fs::read_to_string(pod.host_path("/opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert_eq!(zoo_cfg, GOLDEN_ZOO_CFG);
}

#[test]
fn volume_with_another_servers_myid_is_refused_untouched() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    let data = pod.host_path("/var/lib/zookeeper/data");
    fs::create_dir_all(data.join("version-2")).unwrap();
    fs::write(data.join("myid"), "2\n").unwrap();
    fs::write(data.join("version-2/snapshot.100000000"), "snapshot of server 2").unwrap();
    refused(
        &pod,
        &tutorial_with(&["--java=/bin/true"]),
        1,
        &["/var/lib/zookeeper/data/myid", "server id 2", "server 1", "refusing to start"],
    );
    assert!(!pod.host_path("/opt/zookeeper/conf/zoo.cfg").exists());
    fs::write(data.join("myid"), "two\n").unwrap();
    refused(&pod, &tutorial_with(&["--java=/bin/true"]), 1, &["'two'", "not a server id"]);
}

#[test]
fn dry_run_prints_everything_and_writes_nothing() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    let before = pod.snapshot();
    let out = pod.run(&tutorial_with(&["--dry-run"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(pod.snapshot(), before, "--dry-run wrote something");
    let text = stdout(&out);
    assert!(text.contains(&format!("==> /opt/zookeeper/conf/zoo.cfg (new) <==\n{GOLDEN_ZOO_CFG}")), "{text}");
    assert!(text.contains("==> mkdir /var/lib/zookeeper/data <=="), "{text}");
    assert!(text.contains("==> /var/lib/zookeeper/data/myid (new) <==\n1\n"), "{text}");
    // As root, the default user: the data and log directories change owner, then the JVM runs.
    let zookeeper = nix::unistd::User::from_name("zookeeper").unwrap().expect("Debian's zookeeper user");
    let chown = format!(
        "==> chown {}:{} (symlinks not followed) <==\n/var/lib/zookeeper/data\n/var/lib/zookeeper/data/log\n/var/log/zookeeper\n==> run as zookeeper (uid {}, gid {}",
        zookeeper.uid, zookeeper.gid, zookeeper.uid, zookeeper.gid
    );
    assert!(text.contains(&chown), "{text}");
    let exec = text.split("==> run as ").nth(1).and_then(|s| s.split_once('\n')).expect("run section").1;
    assert!(exec.contains(" -Xms512M -Xmx512M -XX:+ExitOnOutOfMemoryError "), "{exec}");
    assert!(exec.contains(" -Dlog4j.configuration=file:/opt/zookeeper/conf/log4j.properties "), "{exec}");
    assert!(
        exec.trim_end()
            .ends_with(" org.apache.zookeeper.server.quorum.QuorumPeerMain /opt/zookeeper/conf/zoo.cfg"),
        "{exec}"
    );
}

#[test]
fn environment_fills_flags_the_command_line_wins_and_jvmflags_is_appended() {
    let pod = Pod::new("zk-1", &kubelet_hosts(1));
    let mut cmd = pod.command(BIN, &["start", "--servers=3", "--dry-run", "--jvm_flags=-Dfrom.flag=1"]);
    cmd.env("ZK_SERVERS", "not-a-number")
        .env("ZK_HEAP", "1G")
        .env("ZK_LOG_LEVEL", "warn")
        // As a YAML block scalar (`value: |`) gives it: a trailing newline, here also a blank line
        // between entries. Regression: both were refused as an empty KEY=VALUE.
        .env("ZK_SET", "standaloneEnabled=false\n\nreconfigEnabled=false\n")
        .env("JVMFLAGS", "-Dfrom.env=1");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("server.2=zk-1.zk-hs.default.svc.cluster.local:2888:3888"), "{text}");
    assert!(text.contains("\nstandaloneEnabled=false\nreconfigEnabled=false\n"), "{text}");
    assert!(text.contains("log4j.rootLogger=WARN, CONSOLE"), "{text}");
    assert!(text.contains(" -Xms1G -Xmx1G "), "{text}");
    assert!(text.contains(" -Dfrom.flag=1 -Dfrom.env=1 -cp "), "{text}");
}

#[test]
fn missing_or_unusable_java_is_refused_before_anything_is_written() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    refused(&pod, &tutorial_with(&["--java=/nonexistent/java"]), 127, &["--java", "/nonexistent/java"]);
    let not_java = pod.root.path().join("not-java");
    fs::write(&not_java, "plain text").unwrap();
    fs::set_permissions(&not_java, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let flag = format!("--java={}", not_java.display());
    refused(&pod, &tutorial_with(&[&flag]), 126, &["--java", "not an executable"]);
    let mut cmd = pod.command(BIN, &tutorial_with(&[]));
    cmd.env("JAVA_HOME", "/nonexistent/jdk");
    let before = pod.snapshot();
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(stderr(&out).contains("JAVA_HOME"), "{}", stderr(&out));
    assert_eq!(pod.snapshot(), before);
}

#[test]
fn missing_zookeeper_install_is_refused_naming_where_it_looked() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    let empty = pod.root.path().join("empty-home");
    fs::create_dir(&empty).unwrap();
    let home = format!("--zk_home={}", empty.display());
    refused(
        &pod,
        &tutorial_with(&["--java=/bin/true", &home]),
        1,
        &["no ZooKeeper install", "empty-home", "--zk_home"],
    );
}

/// A full volume: the new zoo.cfg cannot be written. The start fails with a clear line and the
/// old zoo.cfg is still whole, with no temporary file left behind.
#[test]
fn full_file_system_keeps_the_old_config_intact() {
    let mut pod = Pod::new("zk-0", &kubelet_hosts(0));
    let conf = "/opt/zookeeper/conf";
    pod.setup = vec![
        format!("mkdir -p {conf}"),
        format!("mount -t tmpfs -o size=64k tmpfs {conf}"),
        format!("printf 'clientPort=2181\\n# the good old config\\n' > {conf}/zoo.cfg"),
        format!("dd if=/dev/zero of={conf}/filler bs=4k 2>/dev/null || true"),
    ];
    pod.after = vec![format!("cat {conf}/zoo.cfg"), format!("ls -A {conf}")];
    let out = pod.run(&tutorial_with(&["--java=/bin/true"]));
    // stdout carries the after commands' output: one line on stderr only.
    assert_one_line(
        "a full conf volume",
        out.status.code(),
        &stderr(&out),
        1,
        &["/opt/zookeeper/conf/zoo.cfg", "No space left on device", "the volume is full"],
    );
    let after = stdout(&out);
    let after = after.split(AFTER_MARKER).nth(1).expect("after marker");
    assert_eq!(after.trim(), "clientPort=2181\n# the good old config\nfiller\nzoo.cfg", "{after}");
}

/// Regression: `print!` panicked (exit 101) when the reader of a long `--dry-run` closed the
/// pipe early, as `| head` does.
#[test]
fn dry_run_into_a_closed_pipe_ends_cleanly() {
    use std::io::Read;
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    let sets: Vec<String> = (0..2000).map(|i| format!("--set=key{i}={}", "0".repeat(100))).collect();
    let mut args = tutorial_with(&["--dry-run"]);
    args.extend(sets.iter().map(String::as_str));
    let mut child = pod
        .command(BIN, &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is dropped here: the rest of the ~200 KB report meets a closed pipe.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// Regression: `--log_dir=/etc` chowned all of /etc (shadow included) to ZooKeeper's user and
/// exited 0; `--data_dir=/` planned a chown of `/`. System directories are refused before
/// anything is written, also when a link leads there.
///
/// Always with `--dry-run`: the pod shares the machine's /etc and /, so a binary with this defect
/// must not get to carry the start out (run against the old code without it, this test gave the
/// machine's /etc to the zookeeper user). The refusal comes from the plan, which a dry run and a
/// real start share; `--dry-run` only skips carrying the plan out.
#[test]
fn system_directories_are_refused_as_data_or_log_dirs() {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    fs::create_dir_all(pod.host_path("/var/lib/zk-links")).unwrap();
    std::os::unix::fs::symlink("/etc", pod.host_path("/var/lib/zk-links/logs")).unwrap();
    for (flag, needles) in [
        ("--log_dir=/etc", ["--log_dir /etc", "/etc is a system directory"]),
        ("--data_dir=/", ["--data_dir /", "/ is a system directory"]),
        ("--data_log_dir=/usr/lib/zookeeper", ["--data_log_dir /usr/lib/zookeeper", "/usr is a system"]),
        ("--log_dir=/var/lib/zk-links/logs", ["(it leads to /etc)", "/etc is a system directory"]),
    ] {
        refused(&pod, &["start", "--dry-run", "--java=/bin/true", flag], 2, &needles);
    }
}

/// Regression: a read-only mount inside the data directory (a Secret volume) failed every start
/// with EROFS; the walk stays on the data directory's own file system now.
#[test]
fn a_read_only_mount_inside_the_data_dir_is_left_alone() {
    let mut pod = Pod::new("zk-0", &kubelet_hosts(0));
    let secret = "/var/lib/zookeeper/data/secret";
    pod.setup = vec![
        format!("mkdir -p {secret}"),
        format!("mount -t tmpfs -o size=64k tmpfs {secret}"),
        format!("echo key > {secret}/key"),
        format!("mount -o remount,ro {secret}"),
    ];
    pod.after = vec![format!("stat -c %u {secret}/key")];
    let out = pod.run(&tutorial_with(&["--java=/bin/true"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("1 mount points inside the data directories were left alone"), "{err}");
    let after = stdout(&out);
    assert_eq!(after.split(AFTER_MARKER).nth(1).map(str::trim), Some("0"), "{after}");
}

/// Regression: a SIGTERM that arrived while the resolver hung (looking for the domain) ended the
/// start with exit 2 and "the resolver gave none", as if the host name were wrong. It now ends
/// as the signal does (143), once the lookup returns. The name server never answers
/// ([`Pod::silent_name_server`]), so the lookup waits out its timeout.
#[test]
fn sigterm_during_a_hanging_domain_lookup_exits_143() {
    let mut pod = Pod::new("zk-0", "127.0.0.1\tlocalhost\n");
    pod.silent_name_server(3);
    let started = std::time::Instant::now();
    let mut zk = Reaped(
        pod.command(BIN, &["start", "--servers=3", "--java=/bin/true"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let limit = std::time::Duration::from_secs(20);
    let pid1 = only_child(zk.0.id(), limit);
    // Once the shell has exec'd zk-entry and it has had time to reach the lookup.
    let execed = wait_for(limit, || {
        fs::read_to_string(format!("/proc/{pid1}/comm")).ok().filter(|c| c.trim() == "zk-entry")
    });
    if execed.is_none() {
        let status = zk.end();
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut zk.0.stderr.take().unwrap(), &mut err);
        panic!("zk-entry never started ({status:?}): {err}");
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    signal(pid1, libc::SIGTERM);
    let status = wait_exit(&mut zk.0, limit);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut zk.0.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(err.contains("received SIGTERM while preparing"), "{err}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "the lookup did not hang: {err}");
}

/// Regression: control characters from the host name reached the log as they were (an escape
/// sequence drives the reader's terminal); they are written as `\xNN` now.
#[test]
fn control_characters_in_the_host_name_are_escaped_in_messages() {
    let mut pod = Pod::new("zk", "127.0.0.1\tlocalhost\n");
    // hostname(1) refuses such a name; the kernel does not.
    pod.setup = vec!["printf 'zk\\033[2J' > /proc/sys/kernel/hostname".into()];
    let out = pod.run(&["start", "--servers=3", "--java=/bin/true"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("zk\\x1b[2J"), "{err:?}");
}

/// Regression: a Deployment's pod name whose random suffix is all digits was refused in
/// standalone as "ordinal 24567, not below --servers=1".
#[test]
fn a_deployment_style_pod_name_runs_standalone() {
    let pod = Pod::new("zk-7d9c5b8f6-24567", "127.0.0.1\tlocalhost\n");
    let out = pod.run(&["start", "--java=/bin/true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(pod.host_path("/var/lib/zookeeper/data/myid")).unwrap(), "1\n");
}

/// As root, what ZooKeeper's user cannot reach is refused before anything is written or run,
/// naming the directory and the fix: a data directory below a 0700 parent, a configuration
/// directory below one, a zoo.cfg kept as it is that the user cannot read. Regression: the JVM
/// started and failed with a Java stack trace ("Invalid config" after "Permission denied").
#[test]
fn what_zookeepers_user_cannot_reach_is_refused_before_the_jvm() {
    use std::os::unix::fs::PermissionsExt;
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    let chmod = |pod_path: &str, mode: u32| {
        fs::set_permissions(pod.host_path(pod_path), fs::Permissions::from_mode(mode)).unwrap()
    };
    let start = tutorial_with(&["--java=/bin/true"]);
    fs::create_dir_all(pod.host_path("/var/lib/zookeeper")).unwrap();
    chmod("/var/lib/zookeeper", 0o700);
    refused(
        &pod,
        &start,
        1,
        &[
            "--data_dir /var/lib/zookeeper/data: the user ZooKeeper runs as, zookeeper (uid ",
            "cannot pass through /var/lib/zookeeper to reach it",
            "owned by 0:0 with mode 0700",
            "chmod o+x /var/lib/zookeeper",
        ],
    );
    chmod("/var/lib/zookeeper", 0o711);
    fs::create_dir_all(pod.host_path("/opt/zookeeper")).unwrap();
    chmod("/opt/zookeeper", 0o700);
    refused(&pod, &start, 1, &["--conf_dir /opt/zookeeper/conf", "chmod o+x /opt/zookeeper"]);
    chmod("/opt/zookeeper", 0o755);
    let out = pod.run(&start);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    chmod("/opt/zookeeper/conf/zoo.cfg", 0o600);
    refused(&pod, &start, 1, &["/opt/zookeeper/conf/zoo.cfg is kept as it is", "chmod o+r"]);
}
