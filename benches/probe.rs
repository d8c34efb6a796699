//! Benchmark: CPU time, page faults and wall time per probe call against a live ZooKeeper
//! (Debian's 3.8, started through `zk-entry start` as in the tests), for
//! - `zk-entry ready PORT` and `zk-entry metrics PORT`, the glibc build cargo makes and, with
//!   `ZK_ENTRY_BENCH_STATIC`, the shipped static musl binary;
//! - benches/fourlw.c, built here with `musl-gcc -static -O2`: a static C program that connects,
//!   sends `ruok` (or `mntr`), half-closes and reads the reply; the floor of an exec probe, which
//!   the static binary's CPU is held against (target: at most 1.3 times, ready against its `ruok`,
//!   metrics against its `mntr`);
//! - the tutorial's probe, `sh -c "zookeeper-ready PORT"`, with its bash script recreated in a
//!   temporary directory (`echo ruok | nc 127.0.0.1 $1`);
//! - a bare connect-send-read done inside this process: the floor any probe pays for the
//!   exchange itself;
//! - the same bare exchange in a new process (this bench binary re-executed with `--exchange`);
//! - `/bin/true` spawned and waited for: the floor any exec probe pays for being a process.
//!
//! CPU is the user + system time of the probe's whole process tree, from
//! `getrusage(RUSAGE_CHILDREN)` before and after each call (sh, bash and nc are all waited for,
//! so all count), and so are the minor page faults; for the in-process case it is this thread's
//! own (`RUSAGE_THREAD`). The cases run interleaved, one call of each in turn, so drift in the
//! machine's load hits all alike; the ratios against the C program are also taken per round of
//! 100 calls, to show their spread. The shell probe's failures are counted too
//! (docs/design.md, "The tutorial's scripts and their defects", defect 11).
//!
//! Needs root (the server runs in a pod's namespaces). Run with `make bench`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

// The whole test harness, of which this bench uses a few helpers; the rest is dead code here.
// Unused helpers are caught where the harness is at home: the test binary, tests/it.
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

const RUNS: usize = 1000;
/// Calls per round, for the spread of the ratios against the C program.
const ROUND: usize = 100;
/// The issues' targets: CPU at least this many times below the shell probe's, wall time within
/// this factor of the bare exchange, CPU at most this many times the C program's.
const CPU_TARGET: f64 = 5.0;
const WALL_TARGET: f64 = 1.5;
const C_TARGET: f64 = 1.3;

/// The tutorial image's zookeeper-ready script, as published.
const TUTORIAL_SCRIPT: &str = "#!/usr/bin/env bash\nOK=$(echo ruok | nc 127.0.0.1 $1)\nif [ \"$OK\" == \"imok\" ]; then exit 0; else exit 1; fi\n";

struct Sample {
    wall: Duration,
    cpu: Duration,
    minor_faults: i64,
    ok: bool,
}

/// CPU time (user + system) and minor page faults so far.
fn usage_of(who: UsageWho) -> (Duration, i64) {
    let usage = getrusage(who).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    (tv(usage.user_time()) + tv(usage.system_time()), usage.minor_page_faults())
}

fn spawn(program: &str, args: &[&str], path: &str) -> Sample {
    let (cpu_before, faults_before) = usage_of(UsageWho::RUSAGE_CHILDREN);
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn");
    let wall = started.elapsed();
    let (cpu, faults) = usage_of(UsageWho::RUSAGE_CHILDREN);
    Sample { wall, cpu: cpu - cpu_before, minor_faults: faults - faults_before, ok: status.success() }
}

/// The exchange alone: 4 bytes, half-close, read to EOF; true for `imok`.
fn exchange(port: u16) -> bool {
    let attempt = || -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.write_all(b"ruok")?;
        stream.shutdown(Shutdown::Write)?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply)?;
        Ok(reply)
    };
    matches!(attempt(), Ok(reply) if reply == b"imok")
}

fn in_process(port: u16) -> Sample {
    let (cpu_before, faults_before) = usage_of(UsageWho::RUSAGE_THREAD);
    let started = Instant::now();
    let ok = exchange(port);
    let wall = started.elapsed();
    let (cpu, faults) = usage_of(UsageWho::RUSAGE_THREAD);
    Sample { wall, cpu: cpu - cpu_before, minor_faults: faults - faults_before, ok }
}

/// benches/fourlw.c built static with musl-gcc into `dir`.
fn build_c_reference(dir: &std::path::Path) -> String {
    let out = dir.join("fourlw");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/fourlw.c");
    let built = Command::new("musl-gcc").args(["-static", "-O2", "-o"]).arg(&out).arg(source).status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!(
            "bench probe: cannot build {source} with musl-gcc; `make bench` installs musl-tools (tests/scripts/install-deps.sh)"
        );
        std::process::exit(1);
    }
    out.display().to_string()
}

struct Summary {
    wall_median: Duration,
    wall_p10: Duration,
    wall_p90: Duration,
    cpu_median: Duration,
    cpu_mean: Duration,
    minor_faults: f64,
    failures: usize,
}

fn summarise(samples: &[Sample]) -> Summary {
    let sorted = |f: fn(&Sample) -> Duration| {
        let mut v: Vec<Duration> = samples.iter().map(f).collect();
        v.sort();
        v
    };
    let at = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    let wall = sorted(|s| s.wall);
    let cpu = sorted(|s| s.cpu);
    Summary {
        wall_median: at(&wall, 0.5),
        wall_p10: at(&wall, 0.1),
        wall_p90: at(&wall, 0.9),
        cpu_median: at(&cpu, 0.5),
        cpu_mean: cpu.iter().sum::<Duration>() / cpu.len() as u32,
        minor_faults: samples.iter().map(|s| s.minor_faults).sum::<i64>() as f64 / samples.len() as f64,
        failures: samples.iter().filter(|s| !s.ok).count(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// The CPU mean of `samples`, in seconds.
fn cpu_mean(samples: &[Sample]) -> f64 {
    samples.iter().map(|s| s.cpu.as_secs_f64()).sum::<f64>() / samples.len().max(1) as f64
}

/// `ours` against `floor`: the ratio of the CPU means over all calls, and its least and greatest
/// over the rounds of [`ROUND`] calls.
fn cpu_ratio(ours: &[Sample], floor: &[Sample]) -> (f64, f64, f64) {
    let all = cpu_mean(ours) / cpu_mean(floor).max(1e-9);
    let rounds: Vec<f64> = ours
        .chunks(ROUND)
        .zip(floor.chunks(ROUND))
        .map(|(o, f)| cpu_mean(o) / cpu_mean(f).max(1e-9))
        .collect();
    let least = rounds.iter().copied().fold(f64::INFINITY, f64::min);
    let most = rounds.iter().copied().fold(0.0, f64::max);
    (all, least, most)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // Re-executed as the bare exchange in a process of its own.
    if let [_, flag, port] = args.as_slice()
        && flag == "--exchange"
    {
        let ok = port.parse().is_ok_and(exchange);
        std::process::exit(if ok { 0 } else { 1 });
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench probe: needs root (ZooKeeper runs in a pod's namespaces); run `sudo make bench`");
        std::process::exit(1);
    }
    for tool in ["nc", "bash"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
        if !found.map(|o| o.status.success()).unwrap_or(false) {
            eprintln!(
                "bench probe: {tool} is missing; `make bench` installs it (tests/scripts/install-deps.sh)"
            );
            std::process::exit(1);
        }
    }
    let scripts = tempfile::tempdir().unwrap();
    let c_reference = build_c_reference(scripts.path());

    let server = support::Server::start(&["--log_level=WARN"]);
    let port = server.port.to_string();
    let script = scripts.path().join("zookeeper-ready");
    std::fs::write(&script, TUTORIAL_SCRIPT).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", scripts.path().display());
    let shell_command = format!("zookeeper-ready {port}");

    let mut binaries = vec![("glibc build".to_string(), support::BIN.to_string())];
    if let Ok(static_bin) = std::env::var("ZK_ENTRY_BENCH_STATIC") {
        binaries.push(("static musl (shipped)".to_string(), static_bin));
    }
    // One case per program and argument list, all run in turn; the C program's two words first.
    let mut calls: Vec<(String, String, Vec<String>)> = Vec::new();
    for word in ["ruok", "mntr"] {
        calls.push((
            format!("C {word} (benches/fourlw.c, static musl)"),
            c_reference.clone(),
            vec![port.clone(), word.to_string()],
        ));
    }
    for (label, bin) in &binaries {
        for sub in ["ready", "metrics"] {
            calls.push((
                format!("zk-entry {sub}, {label}"),
                bin.clone(),
                vec![sub.to_string(), port.clone()],
            ));
        }
    }
    calls.push((
        "sh -c \"zookeeper-ready PORT\" (bash + nc)".into(),
        "sh".into(),
        vec!["-c".into(), shell_command.clone()],
    ));
    let myself = std::env::current_exe().unwrap().display().to_string();
    calls.push((
        "bare connect-send-read, new process".into(),
        myself,
        vec!["--exchange".into(), port.clone()],
    ));
    calls.push(("/bin/true spawned (process floor)".into(), "/bin/true".into(), Vec::new()));
    let run = |(_, program, args): &(String, String, Vec<String>)| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        spawn(program, &args, &path)
    };

    // Warm up the server's JIT and the page cache for every program.
    for _ in 0..50 {
        for call in &calls {
            run(call);
        }
    }
    let mut samples: Vec<Vec<Sample>> = calls.iter().map(|_| Vec::with_capacity(RUNS)).collect();
    let mut bare = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        for (call, out) in calls.iter().zip(samples.iter_mut()) {
            out.push(run(call));
        }
        bare.push(in_process(server.port));
    }
    drop(server.stop());

    println!("probes against Debian ZooKeeper 3.8 on loopback, {RUNS} calls per case, interleaved");
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7}",
        "case", "wall p50", "wall p10", "wall p90", "cpu p50", "cpu mean", "faults", "failed"
    );
    let mut labels: Vec<&str> = calls.iter().map(|(label, _, _)| label.as_str()).collect();
    labels.push("bare connect-send-read, in process");
    samples.push(bare);
    let summaries: Vec<Summary> = samples.iter().map(|s| summarise(s)).collect();
    for (label, s) in labels.iter().zip(&summaries) {
        println!(
            "{:<44} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7.0} {:>7}",
            label,
            ms(s.wall_median),
            ms(s.wall_p10),
            ms(s.wall_p90),
            ms(s.cpu_median),
            ms(s.cpu_mean),
            s.minor_faults,
            s.failures
        );
    }
    println!("(ms; cpu = user + system of the probe's process tree; faults = minor page faults per call)");
    let find = |label: &str| labels.iter().position(|l| *l == label).expect("a case");
    let verdict = |met: bool| if met { "meets" } else { "MISSES" };
    let shell = find("sh -c \"zookeeper-ready PORT\" (bash + nc)");
    let (bare_in, bare_new) =
        (find("bare connect-send-read, in process"), find("bare connect-send-read, new process"));
    for (label, _) in &binaries {
        for (sub, word) in [("ready", "ruok"), ("metrics", "mntr")] {
            let ours = find(&format!("zk-entry {sub}, {label}"));
            let c = find(&format!("C {word} (benches/fourlw.c, static musl)"));
            let (ratio, least, most) = cpu_ratio(&samples[ours], &samples[c]);
            // The target is the shipped binary's; the glibc build maps libc.so and starts slower.
            let judged = match label.starts_with("static") {
                true => format!("{} target {C_TARGET}x", verdict(ratio <= C_TARGET)),
                false => "not shipped".to_string(),
            };
            println!(
                "zk-entry {sub}, {label}: CPU {ratio:.2}x the C program's {word} (rounds of {ROUND}: {least:.2}-{most:.2}x; {judged})"
            );
        }
        let ours = &summaries[find(&format!("zk-entry ready, {label}"))];
        let cpu_ratio = summaries[shell].cpu_mean.as_secs_f64() / ours.cpu_mean.as_secs_f64().max(1e-9);
        let wall_ratio =
            |floor: &Summary| ours.wall_median.as_secs_f64() / floor.wall_median.as_secs_f64().max(1e-9);
        let (in_process, new_process) = (wall_ratio(&summaries[bare_in]), wall_ratio(&summaries[bare_new]));
        println!(
            "zk-entry ready, {label}: {cpu_ratio:.1}x less CPU than the shell probe ({} target {CPU_TARGET}x); wall {in_process:.2}x the bare exchange in process ({} target {WALL_TARGET}x), {new_process:.2}x in a new process ({})",
            verdict(cpu_ratio >= CPU_TARGET),
            verdict(in_process <= WALL_TARGET),
            verdict(new_process <= WALL_TARGET),
        );
    }
    let ours_failed = labels.iter().zip(&summaries).any(|(l, s)| !l.starts_with("sh ") && s.failures > 0);
    if ours_failed {
        eprintln!("bench probe: a probe other than the shell's failed against a healthy server");
        std::process::exit(1);
    }
}
