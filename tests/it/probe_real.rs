//! `zk-entry ready` and `zk-entry metrics` against a real ZooKeeper (Debian's 3.8 package)
//! started through `zk-entry start` in a pod's namespaces: a standalone server, one whose
//! whitelist leaves out `ruok`, a lone member of a three-server ensemble (alive, never serving),
//! and 10,000 consecutive probes of a healthy server, each a new process as the kubelet runs it.
//!
//! What the server says is also read with the tests' own raw client (`four_letter`), so the
//! checks do not rest on zk-entry's client alone.

use std::collections::BTreeSet;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::dist;
use crate::support::*;

/// The probe as a manifest would call it: the default `--timeout` (800ms).
fn probe(args: &[&str]) -> Output {
    zk_entry().args(args).output().expect("run zk-entry")
}

fn assert_healthy(out: &Output, what: &str) {
    assert_quiet_success(what, out);
}

fn mntr_keys(text: &str) -> BTreeSet<String> {
    text.lines().filter_map(|l| l.split_once('\t')).map(|(k, _)| k.to_string()).collect()
}

#[test]
fn ready_and_metrics_on_a_standalone_server() {
    let server = Server::start(&["--log_level=WARN"]);
    let port = server.port.to_string();
    // The run's ZooKeeper (support/dist.rs: ZK_SUITE).
    let version = dist::current().version.clone();

    assert_healthy(&probe(&["ready", &port]), "ready");
    assert_healthy(&probe(&["ready", "--quorum", &port]), "ready --quorum");

    let raw = probe(&["metrics", &port]);
    assert_eq!(raw.status.code(), Some(0), "{}", stderr(&raw));
    let raw = stdout(&raw);
    assert!(raw.starts_with(&format!("zk_version\t{version}-")), "{raw}");
    assert!(raw.contains("\nzk_server_state\tstandalone\n"), "{raw}");
    // The same keys as the raw client sees (values such as uptime move between the two calls).
    let direct = four_letter(server.port, "mntr", RAW_IO_LIMIT).unwrap();
    assert_eq!(mntr_keys(&raw), mntr_keys(&direct));
    assert!(mntr_keys(&raw).len() > 400, "a 3.8 mntr has ~500 lines: {}", mntr_keys(&raw).len());

    let prom = probe(&["metrics", "--format", "prometheus", &port]);
    assert_eq!(prom.status.code(), Some(0), "{}", stderr(&prom));
    assert_eq!(stderr(&prom), "", "no key of Debian's {version} needs leaving out");
    let prom = stdout(&prom);
    promtool_check(&prom).unwrap();
    for line in ["zk_up 1", "zk_server_state{state=\"standalone\"} 1", "zk_znode_count 5"] {
        assert!(prom.lines().any(|l| l == line), "{line:?} missing:\n{prom}");
    }
    assert!(prom.lines().any(|l| l.starts_with(&format!("zk_version{{version=\"{version}-"))), "{prom}");

    let json = probe(&["metrics", "--format", "json", &port]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let json = stdout(&json);
    assert!(json.starts_with(&format!("{{\n  \"version\": \"{version}-")), "{json}");
    assert!(json.contains("\n  \"server_state\": \"standalone\",\n"), "{json}");
    assert!(json.contains("\n  \"avg_latency\": 0.0,\n") || json.contains("\n  \"avg_latency\": "), "{json}");
    assert!(json.ends_with("  \"command\": \"monitor\",\n  \"error\": null\n}\n"), "{json}");

    // Negative control: the same probes fail once the server is gone.
    drop(server.stop());
    assert_refused("ready, server gone", &probe(&["ready", &port]), 1, &["connection refused"]);
    let gone = probe(&["metrics", "--format", "prometheus", &port]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(stdout(&gone).ends_with("zk_up 0\n"), "{}", stdout(&gone));
}

/// ZooKeeper 3.5.3+ enables only srvr unless told otherwise: the tutorial's `ruok` probe then
/// never passes (docs/design.md, "The tutorial's scripts and their defects", defect 10). `ready`
/// falls back to srvr.
#[test]
fn ready_succeeds_through_srvr_when_ruok_is_not_whitelisted() {
    let server = Server::start(&["--log_level=WARN", "--4lw_whitelist=srvr,mntr"]);
    let port = server.port.to_string();
    // What the tutorial's probe would get: the refusal, not imok.
    let ruok = four_letter(server.port, "ruok", RAW_IO_LIMIT).unwrap();
    assert_eq!(ruok, "ruok is not executed because it is not in the whitelist.\n");

    assert_healthy(&probe(&["ready", &port]), "ready");
    assert_healthy(&probe(&["ready", "--quorum", &port]), "ready --quorum");
    let raw = probe(&["metrics", &port]);
    assert_eq!(raw.status.code(), Some(0), "{}", stderr(&raw));
}

/// One member of a three-server ensemble, alone: the process is alive (imok) but never serves.
/// Plain `ready` (liveness) passes; `ready --quorum` and `metrics` fail and say why.
#[test]
fn a_lone_ensemble_member_is_alive_but_not_serving() {
    let server_port = format!("--server_port={}", free_port());
    let election_port = format!("--election_port={}", free_port());
    let server = Server::start_until(
        &[
            "--log_level=WARN",
            "--servers=3",
            &server_port,
            &election_port,
            // The pod shares the host's network here; bind the election port on every address
            // rather than on zk-0's test address, which only exists in a pod's own namespace.
            "--quorum_listen_on_all_ips",
        ],
        "ruok",
        |reply| reply == "imok",
    );
    let port = server.port.to_string();
    let srvr = four_letter(server.port, "srvr", RAW_IO_LIMIT).unwrap();
    assert_eq!(srvr, "This ZooKeeper instance is not currently serving requests\n");

    assert_healthy(&probe(&["ready", &port]), "ready");
    let quorum = probe(&["ready", "--quorum", &port]);
    assert_refused("ready --quorum", &quorum, 1, &[]);
    let line = stderr(&quorum);
    assert!(
        line.starts_with(&format!("zk-entry: ready --quorum: 127.0.0.1:{port}: not serving requests")),
        "{line}"
    );
    let metrics = probe(&["metrics", "--format", "json", &port]);
    assert_eq!(metrics.status.code(), Some(1));
    assert!(stdout(&metrics).contains("not serving requests"), "{}", stdout(&metrics));
}

/// The tutorial's probe returns nothing from a healthy server about once in a hundred calls
/// (docs/design.md, "The tutorial's scripts and their defects", defect 11). zk-entry's must not
/// fail once in 10,000.
#[test]
fn ten_thousand_consecutive_ready_calls_never_fail() {
    const CALLS: usize = 10_000;
    /// A bound on the whole loop (a call takes a few ms; the kubelet allows 1 s each).
    const LIMIT: Duration = Duration::from_secs(300);
    let server = Server::start(&["--log_level=WARN"]);
    let port = server.port.to_string();
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut calls = 0;
    while calls < CALLS && started.elapsed() < LIMIT {
        let out = probe(&["ready", &port]);
        calls += 1;
        if !out.status.success() || !out.stdout.is_empty() || !out.stderr.is_empty() {
            failures.push(format!("call {calls}: {} {}", out.status, stderr(&out).trim()));
        }
    }
    let elapsed = started.elapsed();
    println!(
        "ready: {calls} consecutive calls, {} failures, {:.1} s ({:.2} ms per call)",
        failures.len(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / calls as f64
    );
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed; first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(calls, CALLS, "only {calls} calls within {LIMIT:?}");
}
