//! `make demo`: the tutorial's three-server ensemble on this machine, every pod built from Linux
//! namespaces with zk-entry as its PID 1 (the same harness as the end-to-end tests,
//! tests/support/ensemble.rs). Shows each pod's role as it comes up, runs the tutorial's sanity
//! test with ZooKeeper's own zkCli.sh, then keeps the ensemble running until Ctrl-C and removes
//! everything.
//!
//! Usage: demo PATH-TO-ZK-ENTRY (needs root).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use support::ensemble::{Ensemble, Launch, connect_string, pod_ip};

fn say(text: &str) {
    println!("demo: {text}");
}

fn main() {
    let Some(bin) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: demo PATH-TO-ZK-ENTRY");
        std::process::exit(2);
    };
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "demo: the three-pod demo needs root: it builds each pod from Linux namespaces (network, host name, mounts, PID). Run `sudo make demo`, or `make demo-standalone` for one ZooKeeper server through zk-entry without namespaces."
        );
        std::process::exit(1);
    }
    // Taken synchronously below, so Ctrl-C ends in an orderly teardown.
    let mut stop = SigSet::empty();
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        stop.add(sig);
    }
    stop.thread_block().expect("block signals");

    let bin = std::fs::canonicalize(&bin).expect("zk-entry binary");
    let mut e = Ensemble::new(&bin, 3);
    say(&format!(
        "StatefulSet zk, headless service zk-hs: pods zk-0, zk-1, zk-2 at {}, {}, {} on a bridge in a network namespace of their own; volumes under {}",
        pod_ip(0),
        pod_ip(1),
        pod_ip(2),
        e.root.path().display()
    ));
    say(&format!("each pod's PID 1: {}", e.command_line(Launch::ZkEntry).join(" ")));
    let started = Instant::now();
    for ordinal in 0..3 {
        e.start(ordinal, Launch::ZkEntry);
    }
    let mut roles: Vec<Option<String>> = vec![None; 3];
    while roles.iter().any(Option::is_none) {
        if started.elapsed() > Duration::from_secs(120) {
            say("the ensemble did not form within 120 s; zk-0's log follows");
            eprintln!("{}", e.log(0));
            return;
        }
        for (ordinal, known) in roles.iter_mut().enumerate() {
            if known.is_none()
                && let Some(role) = e.role(ordinal)
            {
                say(&format!(
                    "zk-{ordinal} is {role} ({:.1} s after start)",
                    started.elapsed().as_secs_f64()
                ));
                *known = Some(role);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    let client = e.client();
    let zk0 = format!("{}:2181", pod_ip(0));
    say(&format!("zkCli.sh -server {zk0} create /hello world   (through zk-0)"));
    match client.write(&zk0, &["create", "/hello", "world"]) {
        Ok(()) => say("  Created /hello"),
        Err(why) => say(&format!("  failed: {why}")),
    }
    for ordinal in [1, 2] {
        let server = format!("{}:2181", pod_ip(ordinal));
        say(&format!("zkCli.sh -server {server} get /hello   (through zk-{ordinal})"));
        say(&format!(
            "  {}",
            client.get(&server, "/hello").unwrap_or_else(|| "<nothing: the sanity check failed>".into())
        ));
    }
    say(&format!("ensemble running; clients use {}", connect_string(3)));
    for ordinal in 0..3 {
        say(&format!(
            "zk-{ordinal}: zk-entry's own lines in {}",
            e.pod_dir(ordinal).join("logs/container.err").display()
        ));
    }
    say("press Ctrl-C to stop and remove everything");
    let _ = stop.wait();
    say("stopping: SIGTERM to each pod's PID 1");
    for ordinal in 0..3 {
        let (status, took) = e.signal_pid1(ordinal, libc::SIGTERM, Duration::from_secs(10));
        say(&format!("zk-{ordinal} stopped in {:.2} s ({status})", took.as_secs_f64()));
    }
    drop(e);
    say("removed the pods, their namespaces, the bridge and the volumes");
}
