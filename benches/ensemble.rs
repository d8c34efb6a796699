//! Benchmark on the end-to-end harness (tests/support/ensemble.rs), Debian's ZooKeeper 3.8, the
//! tutorial's flags:
//! - time from starting the three pods to the first write the ensemble acknowledges (zkCli.sh
//!   create, retried until it succeeds; each try is a JVM start of its own, so this is an upper
//!   bound), and from SIGTERM to each pod's exit;
//! - what zk-entry adds to a pod's start: pod zk-0 alone (it answers `ruok` once its client port
//!   is open, quorum or not), started as `zk-entry start <flags>` and as the very JVM command line
//!   zk-entry runs (taken from its log), in alternation; time from the container's start to the
//!   first `imok` (polled every 10 ms from inside the pod).
//!
//! Needs root. Run with `make bench`.

// The whole test harness, of which this bench uses a few helpers; the rest is dead code here.
// Unused helpers are caught where the harness is at home: the test binary, tests/it.
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::ensemble::{Ensemble, Launch};

const ROUNDS: usize = 3;
const START_ROUNDS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Start zk-0 with `argv` and time until it answers ruok; then kill it.
fn time_to_imok(e: &mut Ensemble, argv: &[String]) -> Duration {
    let started = Instant::now();
    e.start_with(0, argv);
    loop {
        let out = e.exec(0, &["zk-entry", "ready", "--timeout", "200ms"]);
        if out.status.success() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "zk-0 never answered: {}", e.log(0));
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    e.kill(0);
    took
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench ensemble: needs root (Linux namespaces); run `sudo make bench`");
        std::process::exit(1);
    }
    support::require_zookeeper();
    let bin = Path::new(support::BIN);

    let mut first_writes = Vec::new();
    let mut stops = Vec::new();
    for _ in 0..ROUNDS {
        let mut e = Ensemble::new(bin, 3);
        let client = e.client();
        let started = Instant::now();
        for ordinal in 0..3 {
            e.start(ordinal, Launch::ZkEntry);
        }
        let zk0 = format!("{}:2181", support::ensemble::pod_ip(0));
        let written = support::wait_for(Duration::from_secs(90), || {
            client.write(&zk0, &["create", "/bench", "1"]).ok()
        });
        assert!(written.is_some(), "no write acknowledged: {}", e.log(0));
        first_writes.push(started.elapsed());
        for ordinal in 0..3 {
            let (status, took) = e.signal_pid1(ordinal, libc::SIGTERM, Duration::from_secs(10));
            assert_eq!(status.code(), Some(143));
            stops.push(took);
        }
    }

    let mut e = Ensemble::new(bin, 3);
    let zk_entry = e.command_line(Launch::ZkEntry);
    // Once through zk-entry, to have the files in place and its exact JVM command line.
    time_to_imok(&mut e, &zk_entry);
    let log = std::fs::read_to_string(e.pod_dir(0).join("logs/container.err")).unwrap();
    let jvm: Vec<String> = log
        .lines()
        .find_map(|l| l.strip_prefix("zk-entry: running "))
        .expect("zk-entry logs its command line")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let (mut through, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..START_ROUNDS {
        through.push(time_to_imok(&mut e, &zk_entry));
        direct.push(time_to_imok(&mut e, &jvm));
    }
    let (t, d) = (median(through.clone()), median(direct.clone()));

    println!("ensemble bench: Debian ZooKeeper 3.8, tutorial flags, pods in Linux namespaces");
    println!(
        "start of 3 pods to first acknowledged write: median {} (runs: {})",
        ms(median(first_writes.clone())),
        first_writes.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ")
    );
    println!(
        "SIGTERM to pod exit: median {}, max {} over {} stops (target 5 s)",
        ms(median(stops.clone())),
        ms(*stops.iter().max().unwrap()),
        stops.len()
    );
    println!(
        "pod start to first imok, {START_ROUNDS} alternating runs each: through zk-entry median {} ({}), the same JVM command line directly median {} ({})",
        ms(t),
        through.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", "),
        ms(d),
        direct.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ")
    );
    let added = t.as_secs_f64() * 1000.0 - d.as_secs_f64() * 1000.0;
    println!(
        "zk-entry adds {added:.0} ms to a pod's start (target under 100 ms): {}",
        if added < 100.0 { "within" } else { "OVER" }
    );
}
