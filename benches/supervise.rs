//! Benchmark: zk-entry as a resident supervisor. Two figures per binary:
//! - resident memory (VmRSS, and the peak VmHWM) of zk-entry while it supervises its child, read
//!   from /proc/<pid>/status, as PID 1 of its own PID namespace (target: at most 2 MiB);
//! - the time from the child's death to zk-entry's exit: the bench SIGKILLs the child (a
//!   `sleep` standing in for the JVM) and times until zk-entry, its own child, has exited
//!   (target: under 10 ms). This includes the kernel's delivery of SIGKILL and of SIGCHLD and
//!   the bench's own wake-up, so it is an upper bound.
//!
//! `ZK_ENTRY_BENCH_STATIC` adds the static binary. Needs root (PID namespaces). Run with
//! `make bench`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// The whole test harness, of which this bench uses a few helpers; the rest is dead code here.
// Unused helpers are caught where the harness is at home: the test binary, tests/it.
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

const RUNS: usize = 200;
const RSS_TARGET_KIB: u64 = 2048;
const EXIT_TARGET: Duration = Duration::from_millis(10);

fn kib(pid: u32, field: &str) -> u64 {
    support::proc_status(pid, field)
        .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} for pid {pid}"))
}

struct Run {
    rss_kib: u64,
    hwm_kib: u64,
    exit: Duration,
}

fn once(bin: &str, dir: &std::path::Path) -> Run {
    let d = dir.display();
    let mut zk = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child", "--mount-proc", "--", bin, "start", "--user=root"])
        .args([
            format!("--data_dir={d}/data"),
            format!("--data_log_dir={d}/data/log"),
            format!("--log_dir={d}/log"),
            format!("--conf_dir={d}/conf"),
        ])
        .args(["--", "/bin/sleep", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn unshare");
    let zk_entry = support::only_child(zk.id(), Duration::from_secs(5));
    let child = support::only_child(zk_entry, Duration::from_secs(5));
    // Settled: zk-entry is in its wait loop once the child has replaced itself with sleep.
    support::wait_for(Duration::from_secs(5), || {
        (support::proc_status(child, "Name").as_deref() == Some("sleep")).then_some(())
    })
    .expect("child never became sleep");
    let rss_kib = kib(zk_entry, "VmRSS");
    let hwm_kib = kib(zk_entry, "VmHWM");
    let t = Instant::now();
    support::signal(child, libc::SIGKILL);
    let status = zk.wait().expect("wait for zk-entry");
    let exit = t.elapsed();
    assert_eq!(status.code(), Some(137), "zk-entry did not pass the child's death on");
    Run { rss_kib, hwm_kib, exit }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench supervise: needs root (PID namespaces); run `sudo make bench`");
        std::process::exit(1);
    }
    let mut binaries = vec![("glibc build".to_string(), support::BIN.to_string())];
    if let Ok(static_bin) = std::env::var("ZK_ENTRY_BENCH_STATIC") {
        binaries.push(("static musl".to_string(), static_bin));
    }
    println!("zk-entry start supervising a child, as PID 1, {RUNS} runs each");
    println!(
        "{:<14} {:>10} {:>10} {:>10} {:>12} {:>10} {:>10}",
        "binary", "RSS KiB", "max RSS", "peak HWM", "exit median", "exit p95", "exit max"
    );
    for (label, bin) in &binaries {
        let dir = tempfile::tempdir().unwrap();
        let runs: Vec<Run> = (0..RUNS).map(|_| once(bin, dir.path())).collect();
        let mut rss: Vec<u64> = runs.iter().map(|r| r.rss_kib).collect();
        rss.sort();
        let hwm = runs.iter().map(|r| r.hwm_kib).max().unwrap();
        let mut exits: Vec<Duration> = runs.iter().map(|r| r.exit).collect();
        exits.sort();
        let at = |q: f64| exits[((exits.len() - 1) as f64 * q).round() as usize];
        let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1000.0);
        println!(
            "{:<14} {:>10} {:>10} {:>10} {:>12} {:>10} {:>10}",
            label,
            rss[rss.len() / 2],
            rss[rss.len() - 1],
            hwm,
            ms(at(0.5)),
            ms(at(0.95)),
            ms(at(1.0))
        );
        let rss_ok = rss[rss.len() - 1] <= RSS_TARGET_KIB;
        let exit_ok = at(0.5) < EXIT_TARGET;
        println!(
            "{:<14} RSS {} the {RSS_TARGET_KIB} KiB target; exit {} the {} ms target",
            "",
            if rss_ok { "within" } else { "OVER" },
            if exit_ok { "within" } else { "OVER" },
            EXIT_TARGET.as_millis()
        );
    }
}
