//! `make chaos`: five pods from Linux namespaces (tests/support/ensemble.rs), static or
//! `--reconfig`, under a recorded workload (workload.rs) while a nemesis (nemesis.rs) injects
//! faults; then every fault healed, the ensemble given time to recover, the final state read
//! from every member, and the history checked (tests/support/chaos/checker.rs). Artefacts go to
//! the output directory: history.tsv, nemesis.tsv, listings.tsv, latency.svg, summary.txt, each
//! pod's logs. Exit 0 with no anomaly, 1 with any (a hang included), 2 on bad usage.
//! docs/chaos.md says why it is built this way.
//!
//! Usage: chaos --bin PATH --mode static|reconfig --seconds N --seed S --out DIR (as root), or
//! chaos --check DIR (check a kept run's history again, no root needed).

#[path = "../../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

// The binary's own wire encoding and deadlines (src/zk/jute.rs, src/net.rs, as the harness
// compiles them in), under the workload's client.
use support::zk::{jute, net};

mod client;
mod nemesis;
mod plot;
mod rng;
mod workload;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::chaos::checker;
use support::chaos::history::{self, Kind, Op, Outcome};
use support::dynamic::{self, DYNAMIC};
use support::ensemble::{Ensemble, connect_string};

const USAGE: &str =
    "usage: chaos --bin PATH --mode static|reconfig --seconds N --seed S --out DIR | chaos --check DIR";
/// How long the ensemble may take to serve again once every fault is healed.
const RECOVERY_LIMIT: Duration = Duration::from_secs(240);
/// The workload goes on this long after the recovery, before the final reads.
const AFTER_RECOVERY: Duration = Duration::from_secs(10);
/// How many anomalies the output shows.
const SHOWN: usize = 12;
/// Faults stop this long before the run's time is up, leaving it for the recovery.
const QUIET_END: Duration = Duration::from_secs(20);

fn fail(code: i32, text: &str) -> ! {
    eprintln!("chaos: {text}");
    std::process::exit(code);
}

struct Args {
    bin: PathBuf,
    dynamic: bool,
    seconds: u64,
    seed: u64,
    out: PathBuf,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut map = BTreeMap::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value; {USAGE}"))?;
        map.insert(flag.as_str(), value.clone());
    }
    let get = |k: &str| map.get(k).cloned().ok_or_else(|| format!("{k} is missing; {USAGE}"));
    let number = |k: &str| {
        get(k)?.parse::<u64>().map_err(|_| format!("{k} takes a whole number, not {:?}", map.get(k)))
    };
    let dynamic = match get("--mode")?.as_str() {
        "static" => false,
        "reconfig" => true,
        other => return Err(format!("--mode is static or reconfig, not {other:?}")),
    };
    Ok(Args {
        bin: get("--bin")?.into(),
        dynamic,
        seconds: number("--seconds")?,
        seed: number("--seed")?,
        out: get("--out")?.into(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 2 && args[0] == "--check" {
        let anomalies = recheck(Path::new(&args[1])).unwrap_or_else(|e| fail(2, &e));
        for a in &anomalies {
            println!("chaos: anomaly: {a}");
        }
        println!("chaos: {} anomalies", anomalies.len());
        std::process::exit(i32::from(!anomalies.is_empty()));
    }
    let args = parse(&args).unwrap_or_else(|e| fail(2, &e));
    if !nix::unistd::geteuid().is_root() {
        fail(2, "needs root (pods from Linux namespaces, a tmpfs volume per pod); run `sudo make chaos`");
    }
    if !args.bin.is_file() {
        fail(2, &format!("--bin {}: no such file", args.bin.display()));
    }
    private_mounts();
    let code = run(&args);
    std::process::exit(code);
}

/// A mount namespace of the run's own, before any thread exists: the pods' volume file systems
/// are mounted in it and vanish with the process, whatever way it ends.
fn private_mounts() {
    // SAFETY: unshare has no memory-safety preconditions; the process has one thread here,
    // which CLONE_NEWNS requires.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        fail(1, &format!("unshare(CLONE_NEWNS): {}", std::io::Error::last_os_error()));
    }
    let ok = Command::new("mount").args(["--make-rprivate", "/"]).status().is_ok_and(|s| s.success());
    if !ok {
        fail(1, "mount --make-rprivate / failed in the run's mount namespace");
    }
}

fn run(args: &Args) -> i32 {
    let mode = if args.dynamic { "reconfig" } else { "static" };
    println!("chaos: seed {} ({mode}, {} s); replay with CHAOS_SEED={}", args.seed, args.seconds, args.seed);
    fs::create_dir_all(&args.out).unwrap_or_else(|e| fail(1, &format!("{}: {e}", args.out.display())));
    let mut e = Ensemble::new(&args.bin, nemesis::SIZE);
    for pod in 0..nemesis::SIZE {
        let volume = e.pod_dir(pod).join("var-lib");
        let size = format!("size={},mode=755", nemesis::VOLUME_SIZE);
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &size, "tmpfs"]).arg(&volume).status();
        assert!(ok.is_ok_and(|s| s.success()), "tmpfs on {}", volume.display());
        fs::create_dir_all(volume.join("zookeeper")).unwrap();
    }
    let mut flags: Vec<String> = vec!["--heap=256M".into()];
    let ids: Vec<u64> = (1..=nemesis::SIZE as u64).collect();
    if args.dynamic {
        dynamic::give_secret(&e);
        // zookeeper-scalable.yaml's way: three first, then the StatefulSet scaled to five.
        flags.push("--servers=3".into());
        let extra: Vec<&str> = flags.iter().map(String::as_str).collect();
        dynamic::form(&mut e, 0..3, &extra, &[1, 2, 3]);
        flags.extend(DYNAMIC.iter().map(|f| f.to_string()));
        let refs: Vec<&str> = flags.iter().map(String::as_str).collect();
        for pod in 3..nemesis::SIZE {
            e.start_flags(pod, &refs);
        }
        if let Err(why) = dynamic::wait_voters(&mut e, 0, &ids, dynamic::SERVE_LIMIT) {
            fail(1, &format!("the ensemble never formed: {why}"));
        }
    } else {
        flags.push(format!("--servers={}", nemesis::SIZE));
        let refs: Vec<&str> = flags.iter().map(String::as_str).collect();
        for pod in 0..nemesis::SIZE {
            e.start_flags(pod, &refs);
        }
        let pods: Vec<usize> = (0..nemesis::SIZE).collect();
        if let Err(why) = e.wait_serving(&pods, dynamic::SERVE_LIMIT) {
            fail(1, &format!("the ensemble never formed: {why}"));
        }
    }
    println!("chaos: 5 pods serve; workload and nemesis start");
    let servers: Vec<String> = connect_string(nemesis::SIZE).split(',').map(str::to_string).collect();
    let netns = e.client().netns();
    let prepared = in_client(&netns, {
        let servers = servers.clone();
        move || workload::prepare(&servers, Duration::from_secs(60))
    });
    if let Err(why) = prepared {
        fail(1, &why);
    }

    let clock = workload::Clock(Instant::now());
    let started = Instant::now();
    let load = workload::Workload::start(netns.clone(), servers.clone(), clock, args.seed);
    let mut anomalies = Vec::new();
    let mut nemesis = nemesis::Nemesis::new(&mut e, args.seed, clock, flags.clone(), args.dynamic);
    let faults_until = Duration::from_secs(args.seconds).saturating_sub(QUIET_END);
    // Bounded by the run's time; a tick every half second.
    while started.elapsed() < faults_until {
        nemesis.tick(true);
        std::thread::sleep(Duration::from_millis(500));
    }
    nemesis.heal_all();
    match nemesis.wait_recovered(RECOVERY_LIMIT) {
        Ok(took) => {
            println!("chaos: every fault healed; all 5 members serve again after {:.1} s", took.as_secs_f64())
        }
        Err(why) => anomalies.push(format!("hang: {why}")),
    }
    std::thread::sleep(AFTER_RECOVERY);
    let timeline = nemesis.timeline.clone();
    drop(nemesis);
    let mut ops = load.stop();
    let (finals, listings) = in_client(&netns, {
        let servers = servers.clone();
        move || workload::final_reads(&servers, clock, Duration::from_secs(60))
    });
    ops.extend(finals);
    let end = clock.now();

    anomalies.extend(check(&ops, &listings));
    let summary = summary(&ops, &timeline, &anomalies, args, mode);
    keep(&args.out, &e, &ops, &timeline, &listings, &anomalies, &summary, end);
    // The first few here; all of them in anomalies.txt.
    for a in anomalies.iter().take(SHOWN) {
        println!("chaos: anomaly: {a}");
    }
    if anomalies.len() > SHOWN {
        println!("chaos: ... and {} more anomalies in anomalies.txt", anomalies.len() - SHOWN);
    }
    println!("{summary}");
    println!("chaos: artefacts in {}", args.out.display());
    i32::from(!anomalies.is_empty())
}

/// Run `f` on a thread in the client sandbox's network namespace.
fn in_client<T: Send + 'static>(netns: &Path, f: impl FnOnce() -> T + Send + 'static) -> T {
    let netns = netns.to_path_buf();
    std::thread::spawn(move || {
        workload::enter(&netns);
        f()
    })
    .join()
    .expect("client thread")
}

fn check(ops: &[Op], listings: &[checker::Listing]) -> Vec<String> {
    let mut anomalies = checker::registers(ops, workload::REGISTERS);
    anomalies.extend(checker::sessions(ops));
    anomalies.extend(checker::creates(ops, listings));
    anomalies
}

fn summary(ops: &[Op], timeline: &[nemesis::Fault], anomalies: &[String], args: &Args, mode: &str) -> String {
    let count = |p: &dyn Fn(&Op) -> bool| ops.iter().filter(|op| p(op)).count();
    let ok = count(&|op| op.ok());
    let failed = count(&|op| matches!(op.outcome, Outcome::Fail(_)));
    let unknown = count(&|op| op.outcome == Outcome::Unknown);
    let kinds = [Kind::Read, Kind::SyncRead, Kind::Cas, Kind::Create]
        .map(|k| format!("{k:?} {}", count(&|op| op.kind == k)).to_lowercase())
        .join(", ");
    let mut faults: BTreeMap<&str, usize> = BTreeMap::new();
    for f in timeline {
        *faults.entry(f.kind).or_default() += 1;
    }
    let faults: Vec<String> = faults.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!(
        "chaos: summary: seed {} {mode} {} s: {} operations (ok {ok}, failed {failed}, unknown {unknown}; {kinds}); {} faults ({}); anomalies {}",
        args.seed,
        args.seconds,
        ops.len(),
        timeline.len(),
        faults.join(", "),
        anomalies.len()
    )
}

#[allow(clippy::too_many_arguments)]
fn keep(
    out: &Path,
    e: &Ensemble,
    ops: &[Op],
    timeline: &[nemesis::Fault],
    listings: &[checker::Listing],
    anomalies: &[String],
    summary: &str,
    end: u64,
) {
    let write = |name: &str, text: &str| {
        if let Err(err) = fs::write(out.join(name), text) {
            eprintln!("chaos: {name}: {err}");
        }
    };
    write("history.tsv", &history::render(ops));
    let mut nem = String::from("kind\tpods\tstart_ns\tend_ns\tnote\n");
    for f in timeline {
        let end = f.end.map_or("-".to_string(), |t| t.to_string());
        nem.push_str(&format!("{}\t{:?}\t{}\t{end}\t{}\n", f.kind, f.pods, f.start, f.note));
    }
    write("nemesis.tsv", &nem);
    let mut lists = String::new();
    for (member, listing) in listings {
        match listing {
            Ok(names) => lists.push_str(&format!("{member}\tok\t{}\n", names.join(","))),
            Err(why) => lists.push_str(&format!("{member}\terror\t{}\n", why.replace(['\t', '\n'], " "))),
        }
    }
    write("listings.tsv", &lists);
    write("anomalies.txt", &anomalies.iter().map(|a| format!("{a}\n")).collect::<String>());
    write("summary.txt", &format!("{summary}\n"));
    write("latency.svg", &plot::svg(ops, timeline, end, summary.trim_start_matches("chaos: summary: ")));
    for pod in 0..nemesis::SIZE {
        let dir = out.join(format!("pods/zk-{pod}"));
        let _ = fs::create_dir_all(&dir);
        for name in ["container.out", "container.err"] {
            let _ = fs::copy(e.pod_dir(pod).join("logs").join(name), dir.join(name));
        }
    }
}

/// Check a kept run again from its history.tsv and listings.tsv.
fn recheck(dir: &Path) -> Result<Vec<String>, String> {
    let read = |name: &str| {
        fs::read_to_string(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let ops = history::parse(&read("history.tsv")?)?;
    let listings = read("listings.tsv")?
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(3, '\t').collect();
            let names = f.get(2).copied().unwrap_or_default();
            let listing = match f.get(1) {
                Some(&"ok") => Ok(names.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect()),
                _ => Err(names.to_string()),
            };
            (f[0].to_string(), listing)
        })
        .collect::<Vec<_>>();
    Ok(check(&ops, &listings))
}
