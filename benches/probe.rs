//! Benchmark: CPU time and wall time per readiness probe against a live ZooKeeper (Debian's 3.8,
//! started through `zk-entry start` as in the tests), for
//! - `zk-entry ready PORT`, the glibc build cargo makes and, with `ZK_ENTRY_BENCH_STATIC`, the
//!   shipped static musl binary;
//! - the tutorial's probe, `sh -c "zookeeper-ready PORT"`, with its bash script recreated in a
//!   temporary directory (`echo ruok | nc 127.0.0.1 $1`);
//! - a bare connect-send-read done inside this process: the floor any probe pays for the
//!   exchange itself;
//! - the same bare exchange in a new process (this bench binary re-executed with `--exchange`):
//!   the floor of an exec probe that does nothing else;
//! - `/bin/true` spawned and waited for: the floor any exec probe pays for being a process.
//!
//! CPU is the user + system time of the probe's whole process tree, from
//! `getrusage(RUSAGE_CHILDREN)` before and after each call (sh, bash and nc are all waited for,
//! so all count); for the in-process case it is this thread's own (`RUSAGE_THREAD`). The cases
//! run interleaved, one call of each in turn, so drift in the machine's load hits all alike.
//! The shell probe's failures are counted too (docs/design.md, "The tutorial's scripts and their
//! defects", defect 11).
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
/// The targets: CPU at least this many times below the shell probe's, wall time within
/// this factor of the bare exchange.
const CPU_TARGET: f64 = 5.0;
const WALL_TARGET: f64 = 1.5;

/// The tutorial image's zookeeper-ready script, as published.
const TUTORIAL_SCRIPT: &str = "#!/usr/bin/env bash\nOK=$(echo ruok | nc 127.0.0.1 $1)\nif [ \"$OK\" == \"imok\" ]; then exit 0; else exit 1; fi\n";

struct Sample {
    wall: Duration,
    cpu: Duration,
    ok: bool,
}

fn cpu_of(who: UsageWho) -> Duration {
    let usage = getrusage(who).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    tv(usage.user_time()) + tv(usage.system_time())
}

fn spawn(program: &str, args: &[&str], path: &str) -> Sample {
    let cpu_before = cpu_of(UsageWho::RUSAGE_CHILDREN);
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
    Sample { wall, cpu: cpu_of(UsageWho::RUSAGE_CHILDREN) - cpu_before, ok: status.success() }
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
    let cpu_before = cpu_of(UsageWho::RUSAGE_THREAD);
    let started = Instant::now();
    let ok = exchange(port);
    let wall = started.elapsed();
    Sample { wall, cpu: cpu_of(UsageWho::RUSAGE_THREAD) - cpu_before, ok }
}

struct Case {
    label: String,
    samples: Vec<Sample>,
}

struct Summary {
    wall_median: Duration,
    wall_p10: Duration,
    wall_p90: Duration,
    cpu_median: Duration,
    cpu_mean: Duration,
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
        failures: samples.iter().filter(|s| !s.ok).count(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
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

    let server = support::Server::start(&["--log_level=WARN"]);
    let port = server.port.to_string();
    let scripts = tempfile::tempdir().unwrap();
    let script = scripts.path().join("zookeeper-ready");
    std::fs::write(&script, TUTORIAL_SCRIPT).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", scripts.path().display());
    let shell_command = format!("zookeeper-ready {port}");

    let mut binaries = vec![("zk-entry ready, glibc build".to_string(), support::BIN.to_string())];
    if let Ok(static_bin) = std::env::var("ZK_ENTRY_BENCH_STATIC") {
        binaries.push(("zk-entry ready, static musl (shipped)".to_string(), static_bin));
    }
    let mut cases: Vec<Case> = binaries
        .iter()
        .map(|(label, _)| Case { label: label.clone(), samples: Vec::with_capacity(RUNS) })
        .collect();
    let shell = cases.len();
    cases.push(Case { label: "sh -c \"zookeeper-ready PORT\" (bash + nc)".into(), samples: Vec::new() });
    let bare = cases.len();
    cases.push(Case { label: "bare connect-send-read, in process".into(), samples: Vec::new() });
    let bare_process = cases.len();
    cases.push(Case { label: "bare connect-send-read, new process".into(), samples: Vec::new() });
    let myself = std::env::current_exe().unwrap().display().to_string();
    let true_case = cases.len();
    cases.push(Case { label: "/bin/true spawned (process floor)".into(), samples: Vec::new() });

    // Warm up the server's JIT and the page cache for every binary.
    for _ in 0..50 {
        for (_, bin) in &binaries {
            spawn(bin, &["ready", &port], &path);
        }
        spawn("sh", &["-c", &shell_command], &path);
    }
    for _ in 0..RUNS {
        for (i, (_, bin)) in binaries.iter().enumerate() {
            cases[i].samples.push(spawn(bin, &["ready", &port], &path));
        }
        cases[shell].samples.push(spawn("sh", &["-c", &shell_command], &path));
        cases[bare].samples.push(in_process(server.port));
        cases[bare_process].samples.push(spawn(&myself, &["--exchange", &port], &path));
        cases[true_case].samples.push(spawn("/bin/true", &[], &path));
    }
    drop(server.stop());

    println!("readiness probe against Debian ZooKeeper 3.8 on loopback, {RUNS} calls per case, interleaved");
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "case", "wall p50", "wall p10", "wall p90", "cpu p50", "cpu mean", "failed"
    );
    let summaries: Vec<Summary> = cases.iter().map(|c| summarise(&c.samples)).collect();
    for (case, s) in cases.iter().zip(&summaries) {
        println!(
            "{:<44} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            case.label,
            ms(s.wall_median),
            ms(s.wall_p10),
            ms(s.wall_p90),
            ms(s.cpu_median),
            ms(s.cpu_mean),
            s.failures
        );
    }
    println!("(ms; cpu = user + system of the probe's process tree)");
    for (i, (label, _)) in binaries.iter().enumerate() {
        let ours = &summaries[i];
        let cpu_ratio = summaries[shell].cpu_mean.as_secs_f64() / ours.cpu_mean.as_secs_f64().max(1e-9);
        let wall_ratio =
            |floor: &Summary| ours.wall_median.as_secs_f64() / floor.wall_median.as_secs_f64().max(1e-9);
        let verdict = |met: bool| if met { "meets" } else { "MISSES" };
        let (in_process, new_process) = (wall_ratio(&summaries[bare]), wall_ratio(&summaries[bare_process]));
        println!(
            "{label}: {cpu_ratio:.1}x less CPU than the shell probe ({} target {CPU_TARGET}x); wall {in_process:.2}x the bare exchange in process ({} target {WALL_TARGET}x), {new_process:.2}x in a new process ({})",
            verdict(cpu_ratio >= CPU_TARGET),
            verdict(in_process <= WALL_TARGET),
            verdict(new_process <= WALL_TARGET),
        );
    }
    if summaries.iter().take(binaries.len()).any(|s| s.failures > 0) {
        eprintln!("bench probe: zk-entry ready failed against a healthy server");
        std::process::exit(1);
    }
}
