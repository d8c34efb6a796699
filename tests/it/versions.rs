//! What zk-entry configures differently for the ZooKeeper version it starts (src/start/version,
//! docs/versions.md), on real ensembles of the run's version (`ZK_SUITE`, support/dist.rs; the
//! Makefile runs this module once per suite of `ZK_SUITES`):
//! - the version zk-entry reads from the jar is the one that serves (mntr's `zk_version`);
//! - quorum SASL (DIGEST-MD5) forms: 3.9.4+ refuses it in FIPS mode, which zk-entry turns off;
//! - a quorum peer presenting a certificate of the ensemble's CA issued for another name is
//!   refused: 3.9's FIPS mode skips that check of inbound peers;
//! - a rolling upgrade 3.8.0 → 3.9 and back, static and `--reconfig`, with quorum SASL and a
//!   writer, loses no acknowledged write (the 3.9 is the run's suite when it is one, else sid).
//!
//! Root: pods from Linux namespaces.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::support::dist;
use crate::support::dynamic::{self, Writer};
use crate::support::ensemble::{Ensemble, Launch, pod_ip};
use crate::support::pki::*;
use crate::support::*;

const SERVE_LIMIT: Duration = Duration::from_secs(90);
/// How long a refused peer is watched after the others serve: the issue's rogue observer on
/// 3.9.3 had the whole tree within 3 s.
const ROGUE_WATCH: Duration = Duration::from_secs(20);
const FIPS_NOTE: &str = "zk-entry: FIPS mode off (-Dzookeeper.fips-mode=false) for";

fn zk_entry_log(e: &Ensemble, ordinal: usize) -> String {
    fs::read_to_string(e.pod_dir(ordinal).join("logs/container.err")).unwrap_or_default()
}

fn zookeeper_log(e: &Ensemble, ordinal: usize) -> String {
    fs::read_to_string(e.pod_dir(ordinal).join("logs/container.out")).unwrap_or_default()
}

/// zk-entry names the version it read, and FIPS mode is turned off exactly where the version
/// has it (3.9.0+) and the quorum authenticates.
fn assert_version_noted(e: &Ensemble, ordinal: usize, quorum_auth: bool) {
    let dist = e.zookeeper(ordinal);
    let log = zk_entry_log(e, ordinal);
    let named = format!(
        "zk-entry: ZooKeeper {} (from /usr/share/java/zookeeper-{}.jar)\n",
        dist.version, dist.version
    );
    assert!(log.contains(&named), "zk-{ordinal} ({}) does not log '{named}': {log}", dist.suite);
    let fips = dist.at_least(3, 9) && quorum_auth;
    assert_eq!(
        log.contains(FIPS_NOTE),
        fips,
        "FIPS note on {} (quorum auth {quorum_auth}): {log}",
        dist.version
    );
}

#[test]
fn quorum_sasl_forms_on_every_version() {
    require_zookeeper();
    let mut e = Ensemble::new(Path::new(BIN), 3);
    for ordinal in 0..3 {
        let secrets = e.pod_dir(ordinal).join("opt/secrets/quorum");
        secret_volume(&secrets, &[("password", "quorum-pw-of-the-matrix\n")]);
    }
    let mut argv = e.command_line(Launch::ZkEntry);
    argv.push("--quorum_password_file=/opt/secrets/quorum/password".into());
    for ordinal in 0..3 {
        e.start_with(ordinal, &argv);
    }
    // 3.9.6 in FIPS mode: "QuorumLearner will not use DIGEST-MD5 as SASL mechanism, because
    // FIPS mode is enabled", then never serving.
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    for ordinal in 0..3 {
        assert_version_noted(&e, ordinal, true);
        let log = zookeeper_log(&e, ordinal);
        assert!(!log.contains("because FIPS mode is enabled"), "zk-{ordinal}: {log}");
    }
}

/// The version read is the one that serves, and a plain ensemble gets no FIPS setting.
#[test]
fn the_version_logged_is_the_one_that_serves() {
    require_zookeeper();
    let mut e = Ensemble::new(Path::new(BIN), 1);
    let argv: Vec<String> = vec!["/opt/bin/zk-entry".into(), "start".into(), "--heap=256M".into()];
    e.start_with(0, &argv);
    // wait_serving checks mntr's zk_version against the pod's image.
    e.wait_serving(&[0], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    assert_version_noted(&e, 0, false);
}

/// zk-N's certificate of `pki`: its name and address.
fn tls_pod_secret(pki: &Pki, ordinal: usize) -> std::path::PathBuf {
    let fqdn = format!("zk-{ordinal}.zk-hs.default.svc.cluster.local");
    let ip = format!("IP:{}", pod_ip(ordinal));
    pki.issue(&format!("zk-{ordinal}"), &[&fqdn, &ip], KeyKind::RsaPkcs8, 30, BOTH_USAGES)
}

/// A peer with a certificate of the ensemble's CA, but issued for another name (a client's), is
/// refused by the quorum; on 3.9 in FIPS mode it joined and received the whole data tree.
///
/// The rogue is zk-2 as an attacker would run it: zk-entry prepares the pod with zk-2's own
/// certificate (it refuses to start with one that does not name the pod), then the pod's
/// command swaps in the client certificate for the quorum's key store and runs ZooKeeper on
/// the same configuration.
#[test]
fn a_quorum_peer_with_another_names_certificate_of_the_ca_is_refused() {
    require_zookeeper();
    let pki = Pki::new("zk-test-ca");
    let mut e = Ensemble::new(Path::new(BIN), 3);
    for ordinal in 0..3 {
        mount_tls_secret(&tls_pod_secret(&pki, ordinal), &e.pod_dir(ordinal).join("opt/tls"));
    }
    let rogue = pki.issue("rogue", &["client.zk-test"], KeyKind::RsaPkcs8, 30, BOTH_USAGES);
    let pem = |f: &str| fs::read_to_string(rogue.join(f)).unwrap();
    let rogue_dir = e.pod_dir(2).join("opt/rogue");
    fs::create_dir_all(&rogue_dir).unwrap();
    fs::write(rogue_dir.join("rogue.pem"), format!("{}{}", pem("tls.key"), pem("tls.crt"))).unwrap();
    // The JVM command line zk-entry would run, with the rogue key store for the quorum.
    let jars = [
        "zookeeper.jar",
        "log4j-1.2.jar",
        "slf4j-log4j12.jar",
        "netty-codec.jar",
        "netty-resolver.jar",
        "netty-transport-native-unix-common.jar",
    ]
    .map(|j| format!("/usr/share/java/{j}"))
    .join(":");
    let script = format!(
        "set -e\n\
         sed 's#^ssl.quorum.keyStore.location=.*#ssl.quorum.keyStore.location=/opt/rogue/rogue.pem#' /opt/zookeeper/conf/zoo.cfg >/tmp/rogue.cfg\n\
         grep -q '^ssl.quorum.keyStore.location=/opt/rogue/rogue.pem$' /tmp/rogue.cfg\n\
         exec /usr/bin/java -Dzookeeper.log.dir=/var/log/zookeeper -Dlog4j.configuration=file:/opt/zookeeper/conf/log4j.properties \
         -cp /opt/zookeeper/conf:{jars} org.apache.zookeeper.server.quorum.QuorumPeerMain /tmp/rogue.cfg\n"
    );
    fs::write(rogue_dir.join("rogue.sh"), script).unwrap();
    let mut argv = e.command_line(Launch::ZkEntry);
    argv.push("--tls_dir=/opt/tls".into());
    for ordinal in 0..2 {
        e.start_with(ordinal, &argv);
    }
    let mut rogue_argv = argv.clone();
    rogue_argv.extend(["--".into(), "/bin/sh".into(), "/opt/rogue/rogue.sh".into()]);
    e.start_with(2, &rogue_argv);
    e.wait_serving(&[0, 1], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    // The rogue really runs, with its swapped key store.
    let running = wait_for(SERVE_LIMIT, || {
        zookeeper_log(&e, 2).contains("configuration from: /tmp/rogue.cfg").then_some(())
    });
    assert!(running.is_some() && e.exited(2).is_none(), "the rogue zk-2 does not run: {}", e.log(2));
    let joined = wait_for(ROGUE_WATCH, || e.ready(2, true).then_some(()));
    assert!(
        joined.is_none(),
        "zk-2 with a certificate for client.zk-test joined the quorum ({}): {}",
        e.zookeeper(0).version,
        e.log(2)
    );
    let refused = (0..2).any(|o| {
        let log = zookeeper_log(&e, o);
        log.contains("Failed to verify")
            || log.contains("certificate_unknown")
            || log.contains("No subject alternative")
    });
    assert!(
        refused,
        "no server logs refusing zk-2's certificate:\n{}\n{}",
        zookeeper_log(&e, 0),
        zookeeper_log(&e, 1)
    );
    for ordinal in 0..2 {
        assert_version_noted(&e, ordinal, true);
    }
}

/// The 3.9 a rolling upgrade goes to: the run's suite when it is a 3.9, else the newest (sid).
fn upgrade_target() -> String {
    let current = dist::current();
    if current.at_least(3, 9) { current.suite.clone() } else { "sid".to_string() }
}

/// Roll every pod of `e` onto `suite`'s ZooKeeper in StatefulSet order (highest ordinal
/// first): SIGTERM, the pod deleted, made again from the new image with the same volume and
/// `argv`, serving before the next. The longest write gap of each pod's turn, for the log.
fn roll(e: &mut Ensemble, argv: &[String], suite: &str, writer: &Writer) -> Vec<Duration> {
    let mut gaps = Vec::new();
    for ordinal in (0..e.size()).rev() {
        writer.take_gap();
        let (status, _) = e.signal_pid1(ordinal, libc::SIGTERM, STOP_LIMIT);
        assert_eq!(status.code(), Some(143), "zk-{ordinal}: {}", e.log(ordinal));
        e.delete(ordinal);
        e.set_zookeeper(ordinal, suite);
        e.start_with(ordinal, argv);
        // wait_serving checks that the pod serves the new version.
        e.wait_serving(&[ordinal], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
        gaps.push(writer.take_gap());
    }
    gaps
}

const STOP_LIMIT: Duration = Duration::from_secs(10);

/// 3.8.0 → 3.9 → 3.8.0 with quorum SASL and a writer: every acknowledged write is on every
/// pod at the end. `reconfig`: the dynamic mode of zookeeper-scalable.yaml, else static.
fn upgrade_and_roll_back(reconfig: bool) {
    require_zookeeper();
    let target = upgrade_target();
    let mut e = Ensemble::new(Path::new(BIN), 3);
    for ordinal in 0..3 {
        e.set_zookeeper(ordinal, dist::MACHINE);
        secret_volume(&e.pod_dir(ordinal).join("opt/secrets/quorum"), &[("password", "upgrade-quorum-pw\n")]);
    }
    let quorum = "--quorum_password_file=/opt/secrets/quorum/password";
    let argv: Vec<String> = if reconfig {
        dynamic::give_secret(&e);
        let mut flags: Vec<&str> = dynamic::DYNAMIC.to_vec();
        flags.push(quorum);
        e.command_with(&flags)
    } else {
        let mut argv = e.command_line(Launch::ZkEntry);
        argv.push(quorum.into());
        argv
    };
    for ordinal in 0..3 {
        e.start_with(ordinal, &argv);
    }
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    if reconfig {
        dynamic::wait_voters(&mut e, 0, &[1, 2, 3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    }
    let client = e.client();
    let created = wait_for(SERVE_LIMIT, || client.write(&dynamic::only(0), &["create", "/w", ""]).ok());
    assert!(created.is_some(), "cannot create /w: {}", e.log(0));
    let writer = Writer::start(e.client(), (0..3).map(dynamic::only).collect());
    let up = roll(&mut e, &argv, &target, &writer);
    let down = roll(&mut e, &argv, dist::MACHINE, &writer);
    std::thread::sleep(Duration::from_secs(2));
    let writes = writer.stop();
    let mode = if reconfig { "--reconfig" } else { "static" };
    eprintln!(
        "upgrade ({mode}, quorum SASL) 3.8.0 -> {} -> 3.8.0: {} writes acknowledged, {} refused; longest gap per pod up {up:?}, down {down:?}",
        dist::of(&target).version,
        writes.acknowledged.len(),
        writes.refused
    );
    assert!(writes.acknowledged.len() >= 20, "too few writes to prove anything: {writes:?}");
    for ordinal in 0..3 {
        let lost = dynamic::lacking(&client, ordinal, &writes.acknowledged);
        assert!(lost.is_empty(), "zk-{ordinal} lacks acknowledged writes {lost:?}");
    }
    if reconfig {
        dynamic::wait_voters(&mut e, 0, &[1, 2, 3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    }
}

#[test]
fn a_static_ensemble_upgrades_to_3_9_and_rolls_back_with_quorum_sasl() {
    upgrade_and_roll_back(false);
}

#[test]
fn a_dynamic_ensemble_upgrades_to_3_9_and_rolls_back_with_quorum_sasl() {
    upgrade_and_roll_back(true);
}

/// `zk-entry start` of a standalone server in a pod of the run's suite with `extra` flags, run
/// to its end: (status, zk-entry's lines, ZooKeeper's log).
fn run_standalone(extra: &[&str]) -> (Option<i32>, String, String) {
    let mut pod = Pod::new("zk-0", &kubelet_hosts(0));
    pod.private_tmp = true;
    pod.setup.push("ip link set lo up".into());
    pod.setup.extend(dist::current().mounts());
    let mut args = vec!["start", "--heap=128M"];
    args.extend_from_slice(extra);
    let out = pod.run(&args);
    (out.status.code(), stderr(&out), stdout(&out))
}

/// ZooKeeper's own exit statuses 1 and 2 pass through with a line saying they were ZooKeeper's:
/// 2 would otherwise read as zk-entry's refusal of its input, which leaves everything untouched.
#[test]
fn zookeepers_own_statuses_1_and_2_are_said_to_be_zookeepers() {
    require_zookeeper();
    // A port that is no number: ZooKeeper's parser refuses the configuration.
    let (code, log, zookeeper) = run_standalone(&["--set=secureClientPort=not-a-port"]);
    assert_eq!(code, Some(2), "{log}");
    assert!(zookeeper.contains("Invalid config, exiting abnormally"), "{zookeeper}");
    assert!(
        log.contains("exited with status 2 (ZooKeeper's own status for a configuration it refused ('Invalid config, exiting abnormally' in ZooKeeper's log above"),
        "{log}"
    );
    // A connection factory that does not exist: an unexpected exception while starting.
    let (code, log, zookeeper) = run_standalone(&["--set=serverCnxnFactory=org.example.NoSuchFactory"]);
    assert_eq!(code, Some(1), "{log}\n{zookeeper}");
    assert!(zookeeper.contains("exiting abnormally"), "{zookeeper}");
    assert!(log.contains("exited with status 1 (ZooKeeper's own status for an unexpected error"), "{log}");
}

/// `METHOD path` on 127.0.0.1:`port` (HTTP/1.0, so the server closes) with an `Authorization`
/// header if given: the whole response, or empty when nothing listens.
fn http(port: u16, method: &str, path: &str, auth: Option<&str>) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    stream.set_read_timeout(Some(RAW_IO_LIMIT)).unwrap();
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    let request = format!("{method} {path} HTTP/1.0\r\nHost: localhost\r\n{auth}Content-Length: 0\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut reply = Vec::new();
    let _ = stream.take(1 << 20).read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

/// How long the AdminServer may take once the client port serves (it starts before it).
const ADMIN_LIMIT: Duration = Duration::from_secs(20);
const ADMIN_SUPER: &str = "digest super:admin-super-pw";

/// The AdminServer on Debian's layout (its servlet API jar on the classpath: without it there
/// is no AdminServer, and nothing says so), and on 3.9 without its snapshot and restore
/// commands, which read out and replace the whole data tree: asked by the super user (whom
/// 3.9 lets through its ACL check), they answer 503, the status of a disabled command.
///
/// On 3.8.0 and 3.9.3 whatever the run's suite: sid's Java libraries are built for Java 21
/// (jackson-databind's class files are version 65) and this machine's JRE is 17, so its
/// AdminServer fails on every JSON answer here (docs/versions.md).
#[test]
fn the_admin_server_answers_and_its_snapshot_and_restore_are_off() {
    for suite in [dist::MACHINE, "trixie"] {
        let image = dist::of(suite);
        let admin = free_port();
        let flag = format!("--admin_server_port={admin}");
        let secret = ["mkdir -p /opt/secret", "printf 'admin-super-pw\\n' >/opt/secret/password"];
        let server = Server::start_on(
            image.clone(),
            &secret,
            &["--log_level=WARN", &flag, "--super_password_file=/opt/secret/password"],
            "srvr",
            |r| r.contains("Mode: "),
        );
        let answered = wait_for(ADMIN_LIMIT, || {
            let reply = http(admin, "GET", "/commands/ruok", None);
            reply.starts_with("HTTP/1.1 200").then_some(reply)
        });
        let log = || fs::read_to_string(&server.stdout).unwrap();
        let ruok =
            answered.unwrap_or_else(|| panic!("{}: no AdminServer on {admin}: {}", image.version, log()));
        assert!(ruok.contains("\"command\" : \"ruok\"") && ruok.contains("\"error\" : null"), "{ruok}");
        for (method, command) in [("GET", "snapshot"), ("POST", "restore")] {
            let reply = http(admin, method, &format!("/commands/{command}"), Some(ADMIN_SUPER));
            if image.at_least(3, 9) {
                assert!(
                    reply.starts_with("HTTP/1.1 503"),
                    "{}: {command} is not disabled: {reply}",
                    image.version
                );
            } else {
                // 3.8 has neither command (and takes no POST).
                let reply = http(admin, "GET", &format!("/commands/{command}"), Some(ADMIN_SUPER));
                assert!(reply.contains("Unknown command"), "{command}: {reply}");
            }
        }
        drop(server.stop());
    }
}
