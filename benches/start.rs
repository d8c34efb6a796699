//! Benchmark: wall time and CPU time from starting `zk-entry start` to its exit, for the
//! tutorial's flag set, with real writes into a temporary directory. `--java=/bin/true` stands in
//! for the JVM, so each run is zk-entry preparing, forking /bin/true, reaping it and exiting; the
//! cost of running /bin/true itself (with the same arguments) is measured alone and subtracted
//! (the "zk-entry" columns). CPU is the user + system time of the whole process tree, from
//! `getrusage(RUSAGE_CHILDREN)` around each run: on a shared machine it moves less than the wall
//! time, which also counts waiting for a core. Storage on disk shows the fsync cost of a first
//! start; tmpfs shows zk-entry's own work. `ZK_ENTRY_BENCH_STATIC` adds the static binary to the
//! comparison. Target: an idempotent restart (every file already right) at most 1.5 ms over
//! /bin/true.
//!
//! Needs root: it runs in its own UTS namespace with host name zk-0, as a pod would, and in its
//! own mount namespace, where it mounts the tmpfs it measures on (zk-entry refuses data
//! directories below system directories such as /dev, so /dev/shm will not do). Run with
//! `make bench`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

// The whole test harness, of which this bench uses a few helpers; the rest is dead code here.
// Unused helpers are caught where the harness is at home: the test binary, tests/it.
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use support::BIN;
const RUNS: usize = 300;
/// The target for a restart, over /bin/true's own cost.
const TARGET: Duration = Duration::from_micros(1500);

/// The tutorial's flags with its paths moved under `dir`, and /bin/true as the JVM.
fn flags(dir: &Path) -> Vec<String> {
    let mut args = vec!["start".to_string()];
    for flag in support::TUTORIAL_FLAGS {
        args.push(flag.replace("=/", &format!("={}/", dir.display())));
    }
    args.push(format!("--log_dir={}/log", dir.display()));
    args.push("--java=/bin/true".to_string());
    args
}

/// Wall time and the CPU time of the process tree for one run.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

fn children_cpu() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    tv(usage.user_time()) + tv(usage.system_time())
}

fn time_once(program: &str, args: &[String]) -> Sample {
    let cpu = children_cpu();
    let t = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn");
    let wall = t.elapsed();
    assert!(status.success(), "{program} {args:?} failed: {status}");
    Sample { wall, cpu: children_cpu() - cpu }
}

struct Stats {
    median: Duration,
    p95: Duration,
    min: Duration,
    cpu_mean: Duration,
}

fn stats(samples: &[Sample]) -> Stats {
    let mut wall: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    wall.sort();
    let at = |q: f64| wall[((wall.len() - 1) as f64 * q).round() as usize];
    let cpu_mean = samples.iter().map(|s| s.cpu).sum::<Duration>() / samples.len() as u32;
    Stats { median: at(0.5), p95: at(0.95), min: wall[0], cpu_mean }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// One binary on one storage: first start, restart, dry run; `baseline` is /bin/true's.
fn run_cases(label: &str, bin: &str, base: &Path, domain: &str, baseline: &Stats) {
    // First start: empty directories, every file new and fsynced.
    let mut first = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let dir = tempfile::Builder::new().prefix("zk-entry-bench").tempdir_in(base).unwrap();
        let mut args = flags(dir.path());
        args.push(domain.to_string());
        first.push(time_once(bin, &args));
    }
    // Restart: the same flags on the same volume, every file already right.
    let dir = tempfile::Builder::new().prefix("zk-entry-bench").tempdir_in(base).unwrap();
    let mut args = flags(dir.path());
    args.push(domain.to_string());
    time_once(bin, &args);
    let restart: Vec<_> = (0..RUNS).map(|_| time_once(bin, &args)).collect();
    // Dry run: everything but the writes and the exec.
    args.push("--dry-run".into());
    let dry: Vec<_> = (0..RUNS).map(|_| time_once(bin, &args)).collect();

    for (name, samples) in [("first start", first), ("restart", restart), ("--dry-run", dry)] {
        let s = stats(&samples);
        let own = s.median.saturating_sub(baseline.median);
        let own_cpu = s.cpu_mean.saturating_sub(baseline.cpu_mean);
        let verdict = |d: Duration| if d <= TARGET { "within" } else { "OVER" };
        let verdicts = if name == "restart" {
            format!("   wall {}, cpu {} {} ms", verdict(own), verdict(own_cpu), TARGET.as_secs_f64() * 1000.0)
        } else {
            String::new()
        };
        println!(
            "{:<40} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}{verdicts}",
            format!("{label}: {name}"),
            ms(s.median),
            ms(s.p95),
            ms(s.min),
            ms(own),
            ms(s.cpu_mean),
            ms(own_cpu),
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "bench start: needs root (it sets the host name zk-0 in its own UTS namespace); run `sudo make bench`"
        );
        std::process::exit(1);
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS | nix::sched::CloneFlags::CLONE_NEWNS)
        .expect("unshare UTS and mount namespaces");
    nix::unistd::sethostname("zk-0").expect("set host name");
    // The tmpfs lives in this process's mount namespace only and goes with it.
    mount(&["--make-rprivate", "/"]);
    let tmpfs = tempfile::tempdir().unwrap();
    let tmpfs_path = tmpfs.path().to_str().expect("a UTF-8 temporary directory").to_string();
    mount(&["-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", &tmpfs_path]);
    let domain = "--domain=zk-hs.default.svc.cluster.local";

    // The stand-in JVM alone, to separate its cost from zk-entry's.
    let probe = tempfile::tempdir().unwrap();
    let baseline: Vec<_> = (0..RUNS).map(|_| time_once("/bin/true", &flags(probe.path()))).collect();
    let base = stats(&baseline);

    let mut binaries = vec![("glibc build".to_string(), BIN.to_string())];
    if let Ok(static_bin) = std::env::var("ZK_ENTRY_BENCH_STATIC") {
        binaries.push(("static musl".to_string(), static_bin));
    }
    let disk = std::env::temp_dir();
    let mut storages = vec![(format!("disk {}", disk.display()), disk)];
    storages.push(("tmpfs".to_string(), tmpfs.path().to_path_buf()));

    println!(
        "zk-entry start, tutorial flag set, {RUNS} runs each; ms from spawn to exit (wall) and CPU of the process tree, /bin/true as the JVM"
    );
    println!(
        "{:<40} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "case", "median", "p95", "min", "zk-entry", "cpu mean", "zk-entry"
    );
    println!(
        "{:<40} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "/bin/true alone (subtracted)",
        ms(base.median),
        ms(base.p95),
        ms(base.min),
        "",
        ms(base.cpu_mean)
    );
    for (bin_label, bin) in &binaries {
        for (storage_label, base_dir) in &storages {
            run_cases(&format!("{bin_label}, {storage_label}"), bin, base_dir, domain, &base);
        }
    }
    // Unmounted first, so that the directory left on the host's /tmp is removed.
    let status = Command::new("umount").arg(&tmpfs_path).status().expect("umount");
    assert!(status.success(), "umount {tmpfs_path}: {status}");
}

/// `mount ARGS` in this process's mount namespace (the child inherits it).
fn mount(args: &[&str]) {
    let status = Command::new("mount").args(args).status().expect("mount");
    assert!(status.success(), "mount {args:?}: {status}");
}
