//! What zk-entry configures differently for the ZooKeeper version it starts (src/start/version,
//! docs/versions.md), on real ensembles of the run's version (`ZK_SUITE`, support/dist.rs; the
//! Makefile runs this module once per suite of `ZK_SUITES`):
//! - the version zk-entry reads from the jar is the one that serves (mntr's `zk_version`);
//! - quorum SASL (DIGEST-MD5) forms: 3.9.4+ refuses it in FIPS mode, which zk-entry turns off;
//! - a quorum peer presenting a certificate of the ensemble's CA issued for another name is
//!   refused: 3.9's FIPS mode skips that check of inbound peers.
//!
//! Root: pods from Linux namespaces.

use std::fs;
use std::path::Path;
use std::time::Duration;

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
