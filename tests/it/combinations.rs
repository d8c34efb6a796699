//! The flags that shape an ensemble's security and membership, in every combination:
//! `--reconfig`, `--tls_dir`, `--quorum_password_file`, `--client_sasl_users_dir`,
//! `--observers`. Each combination is either supported, and then a 3-pod ensemble of real
//! ZooKeeper with those flags reaches serving and takes a write, or refused at once: one line,
//! exit 2, nothing written (docs/design.md, "Combinations of flags").
//!
//! Needs root and Debian's ZooKeeper. One ensemble at a time (tests/support/turn.rs).

use std::fmt;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::dynamic::{DYNAMIC, SERVE_LIMIT, give_secret, members};
use crate::support::ensemble::{DOMAIN, Ensemble, tutorial_flags_with};
use crate::support::pki::*;
use crate::support::*;

const QUORUM_PASSWORD: &str = "combination quorum pw";
const APP_PASSWORD: &str = "combination app pw";
/// The JAAS file zkCli.sh logs in with when clients must use SASL, in every pod.
const CLIENT_JAAS: &str = "/opt/client.jaas";

/// One combination of the five flags.
#[derive(Clone, Copy)]
struct Combination {
    reconfig: bool,
    tls: bool,
    quorum_sasl: bool,
    client_sasl: bool,
    observers: bool,
}

impl Combination {
    fn all() -> Vec<Combination> {
        (0..32u8)
            .map(|bits| Combination {
                reconfig: bits & 1 != 0,
                tls: bits & 2 != 0,
                quorum_sasl: bits & 4 != 0,
                client_sasl: bits & 8 != 0,
                observers: bits & 16 != 0,
            })
            .collect()
    }

    /// What the refusal says, for a combination zk-entry does not support.
    fn refusal(self) -> Option<&'static [&'static str]> {
        match self {
            Combination { reconfig: true, tls: true, .. } => {
                Some(&["--tls_dir with --reconfig is not supported", "a fixed --servers"])
            }
            Combination { reconfig: true, client_sasl: true, .. } => {
                Some(&["--client_sasl_users_dir with --reconfig is not supported", "a fixed --servers"])
            }
            _ => None,
        }
    }

    /// The flags after the tutorial's (which give `--servers=3`).
    fn flags(self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.reconfig {
            flags.extend_from_slice(DYNAMIC);
        }
        if self.tls {
            flags.push("--tls_dir=/opt/tls");
        }
        if self.quorum_sasl {
            flags.push("--quorum_password_file=/opt/secrets/quorum/password");
        }
        if self.client_sasl {
            flags.push("--client_sasl_users_dir=/opt/secrets/users");
        }
        if self.observers {
            flags.push("--observers=1");
        }
        flags
    }
}

impl fmt::Display for Combination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.reconfig, "--reconfig"),
            (self.tls, "--tls_dir"),
            (self.quorum_sasl, "--quorum_password_file"),
            (self.client_sasl, "--client_sasl_users_dir"),
            (self.observers, "--observers"),
        ];
        let on: Vec<&str> = names.iter().filter(|(on, _)| *on).map(|(_, name)| *name).collect();
        match on.is_empty() {
            true => f.write_str("no flag of the five"),
            false => f.write_str(&on.join(" ")),
        }
    }
}

/// Each pod's certificate, issued once for the whole table.
struct Certificates {
    _ca: Pki,
    pods: Vec<std::path::PathBuf>,
}

impl Certificates {
    fn new() -> Certificates {
        let ca = Pki::new("zk-combinations-ca");
        let pods = (0..3)
            .map(|o| {
                let fqdn = format!("zk-{o}.{DOMAIN}");
                ca.issue(&format!("zk-{o}"), &[&fqdn], KeyKind::EcSec1, 30, BOTH_USAGES)
            })
            .collect();
        Certificates { _ca: ca, pods }
    }
}

/// The Secrets the combination's flags name, in pod `ordinal`'s directory `pod` (its /opt is
/// `pod/opt`).
fn give_secrets(pod: &Path, ordinal: usize, c: Combination, certificates: &Certificates) {
    let opt = pod.join("opt");
    if c.tls {
        mount_tls_secret(&certificates.pods[ordinal], &opt.join("tls"));
    }
    if c.quorum_sasl {
        secret_volume(&opt.join("secrets/quorum"), &[("password", QUORUM_PASSWORD)]);
    }
    if c.client_sasl {
        secret_volume(&opt.join("secrets/users"), &[("app", APP_PASSWORD)]);
        fs::write(
            opt.join("client.jaas"),
            format!("Client {{\n org.apache.zookeeper.server.auth.DigestLoginModule required\n username=\"app\"\n password=\"{APP_PASSWORD}\";\n}};\n"),
        )
        .unwrap();
    }
}

#[test]
fn every_refused_combination_is_refused_at_once_with_one_line_and_nothing_written() {
    let certificates = Certificates::new();
    let refused: Vec<Combination> =
        Combination::all().into_iter().filter(|c| c.refusal().is_some()).collect();
    assert!(!refused.is_empty());
    for c in refused {
        let pod = Pod::new("zk-0", &kubelet_hosts(0));
        give_secrets(pod.root.path(), 0, c, &certificates);
        let secret = pod.host_path("/opt/secret");
        fs::create_dir_all(&secret).unwrap();
        fs::write(secret.join("password"), "combination super pw\n").unwrap();
        let before = pod.snapshot();
        // As the pods below get them.
        let flags = tutorial_flags_with(&[&c.flags()[..], &["--java=/bin/true"]].concat());
        let args: Vec<&str> = ["start"].into_iter().chain(flags.iter().map(String::as_str)).collect();
        let out = pod.run(&args);
        assert_usage_error(&c.to_string(), &out, c.refusal().unwrap());
        assert_eq!(pod.snapshot(), before, "{c}: a refused start changed files");
    }
}

/// zkCli.sh in pod 0 on its loopback client port (the one TLS leaves in plaintext), logged in
/// as the SASL user when clients must be: the write's outcome.
fn write_in_pod(e: &mut Ensemble, c: Combination) -> Result<(), String> {
    let flags = match c.client_sasl {
        // A 3.9.4+ Java client in FIPS mode refuses DIGEST-MD5 itself (docs/versions.md).
        true => format!(
            "CLIENT_JVMFLAGS=-Djava.security.auth.login.config={CLIENT_JAAS} -Dzookeeper.fips-mode=false"
        ),
        false => "CLIENT_JVMFLAGS=".to_string(),
    };
    let zkcli = "/usr/share/zookeeper/bin/zkCli.sh";
    let argv = ["env", &flags, "timeout", "-s", "KILL", "60", zkcli, "-server", "127.0.0.1:2181"];
    let command = [&argv[..], &["create", "/combination", "written"]].concat();
    let out = e.exec(0, &command);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    if text.contains("Created /combination") || text.contains("Node already exists") {
        Ok(())
    } else {
        Err(text.lines().filter(|l| l.contains("Exception") || l.contains("rror")).take(3).collect())
    }
}

#[test]
fn every_supported_combination_starts_serves_and_takes_a_write() {
    require_zookeeper();
    let certificates = Certificates::new();
    let supported: Vec<Combination> =
        Combination::all().into_iter().filter(|c| c.refusal().is_none()).collect();
    let mut took = Vec::new();
    for c in supported {
        let started = Instant::now();
        let mut e = Ensemble::new(Path::new(BIN), 3);
        give_secret(&e);
        for ordinal in 0..3 {
            give_secrets(e.pod_dir(ordinal), ordinal, c, &certificates);
        }
        let flags = c.flags();
        for ordinal in 0..3 {
            e.start_flags(ordinal, &flags);
        }
        e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{c}: {why}"));
        let mut last = String::new();
        let written = wait_for(Duration::from_secs(60), || match write_in_pod(&mut e, c) {
            Ok(()) => Some(()),
            Err(why) => {
                last = why;
                None
            }
        });
        assert!(written.is_some(), "{c}: no write acknowledged: {last}{}", e.log(0));
        if c.observers {
            let srvr = e.four_letter(2, "srvr");
            assert!(srvr.contains("Mode: observer\n"), "{c}: zk-2 does not observe: {srvr}");
        }
        if c.reconfig {
            // The membership steps (resize, leave, a joiner) read it as `members` does.
            let members = members(&mut e, 0).unwrap_or_else(|why| panic!("{c}: members: {why}"));
            assert_eq!(members.len(), 3, "{c}: {members:?}");
        }
        took.push(format!("{c}: {:.1?}", started.elapsed()));
        drop(e);
    }
    eprintln!("supported combinations, each to a write:\n{}", took.join("\n"));
}
