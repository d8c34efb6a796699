//! `make migrate-demo`: a running tutorial ensemble moved to zk-entry in place, on this machine
//! (docs/migration.md). The tutorial's three pods (its scripts, re-created in tests/tutorial, on
//! ZooKeeper 3.4.13 from Debian bullseye, `sh -c` as uid 1000 with fsGroup) get data, then a
//! writer runs while the StatefulSet's rolling update moves every pod to zk-entry on the
//! machine's ZooKeeper (highest ordinal first, the next once the last is Ready), then a second
//! roll to `--reconfig`. Each step is printed as `kubectl get pods -w` shows it, with the longest
//! gap between acknowledged writes; at the end every acknowledged write is looked for on every
//! member. The same harness as tests/it/migration.rs.
//!
//! Usage: migrate_demo PATH-TO-ZK-ENTRY (needs root). Ctrl-C: the step under way finishes, then
//! everything is removed.

// The whole test harness, of which this demo uses a few helpers; the rest is dead code here.
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};
use support::dynamic::{self, DYNAMIC, Writer, Writes, only};
use support::ensemble::Ensemble;
use support::roll::{self, Step, Template};
use support::tutorial;

/// Znodes written before the roll (3.4's first snapshot comes after 100,000 transactions).
const ZNODES: u32 = 3000;
/// The tutorial manifest's grace period (Kubernetes' default).
const GRACE: Duration = Duration::from_secs(30);

fn say(text: &str) {
    println!("migrate-demo: {text}");
}

fn kubectl(text: &str) {
    println!("  {text}");
}

/// A container command as one line to paste into a shell.
fn shown(argv: &[String]) -> String {
    support::command_line(argv.iter().map(String::as_str))
}

fn fail(text: &str) -> ! {
    eprintln!("migrate-demo: {text}");
    std::process::exit(1);
}

fn summary(what: &str, steps: &[Step], writes: &Writes) {
    for line in roll::describe(steps, writes) {
        say(&format!("{what}: {line}"));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bin] = &args[..] else { fail("usage: migrate_demo PATH-TO-ZK-ENTRY") };
    if !nix::unistd::geteuid().is_root() {
        fail(
            "the migration demo needs root: it builds each pod from Linux namespaces; run `sudo make migrate-demo`",
        );
    }
    let bin: PathBuf = std::fs::canonicalize(bin).unwrap_or_else(|e| fail(&format!("{bin}: {e}")));
    // Ctrl-C is taken by a thread of its own: the step under way finishes, then the ensemble is
    // dropped in order (its pods, namespaces and volumes removed).
    let mut stop = SigSet::empty();
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        stop.add(sig);
    }
    stop.thread_block().expect("block signals");
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    std::thread::spawn(move || {
        if stop.wait().is_ok() {
            say("interrupted: the step under way finishes, then everything is removed");
            flag.store(true, Ordering::SeqCst);
        }
    });
    let go_on = || !interrupted.load(Ordering::SeqCst);

    let mut e = Ensemble::new(&bin, 3);
    say(
        "the tutorial's StatefulSet: image kubernetes-zookeeper:1.0-3.4.10 (here ZooKeeper 3.4.13 from Debian bullseye), runAsUser 1000, fsGroup 1000",
    );
    kubectl(&format!("command: {}", shown(&tutorial::command(None)[10..])));
    kubectl("$ kubectl apply -f zookeeper.yaml");
    match tutorial::start_ensemble(&mut e) {
        Ok(took) => say(&format!("zk-0, zk-1, zk-2 Ready after {:.1} s", took.as_secs_f64())),
        Err(why) => fail(&why),
    }
    tutorial::write_data(&e, ZNODES);
    say(&format!("wrote {ZNODES} znodes under /data; what each volume holds (3.4 snapshots late):"));
    for o in 0..3 {
        kubectl(&format!(
            "zk-{o} ({}): data/version-2 {:?}, data/log/version-2 {:?}",
            e.role(o).as_deref().unwrap_or("?"),
            tutorial::files_in(&e, o, "/var/lib/zookeeper/data"),
            tutorial::files_in(&e, o, "/var/lib/zookeeper/data/log")
        ));
    }
    let servers: Vec<String> = (0..3).map(only).collect();
    if !go_on() {
        return;
    }

    say(
        "roll 1: the StatefulSet's template changed to zk-entry (same flags, same volumes); a writer creates /w/N throughout",
    );
    let template = Template::zk_entry(&e, &[]);
    kubectl(&format!("command: {}", shown(&template.command)));
    kubectl("$ kubectl apply -f zookeeper.yaml && kubectl get pods -w -l app=zk");
    let writer = Writer::start(e.client(), servers.clone());
    let first = roll::roll(&mut e, &template, &writer, GRACE, &|l| kubectl(l));
    let writes = writer.stop();
    let steps = first.unwrap_or_else(|why| fail(&why));
    summary("roll 1", &steps, &writes);
    for o in 0..3 {
        if let Some(line) = std::fs::read_to_string(e.pod_dir(o).join("logs/container.err"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.contains("trust.empty"))
        {
            say(&format!("zk-{o}: {line}"));
        }
    }
    match tutorial::check_everywhere(&e, &writes.acknowledged, ZNODES) {
        Ok(()) => say("every acknowledged write and all of /data is on every member"),
        Err(why) => fail(&why),
    }
    if !go_on() {
        return;
    }

    say("roll 2: the template changed to zk-entry --reconfig (dynamic membership)");
    dynamic::give_secret(&e);
    let template = Template::zk_entry(&e, DYNAMIC);
    kubectl(&format!("command: {}", shown(&template.command)));
    let from = writes.acknowledged.last().map_or(0, |n| n + 1);
    let writer = Writer::start_from(e.client(), servers, from);
    let second = roll::roll(&mut e, &template, &writer, GRACE, &|l| kubectl(l));
    let more = writer.stop();
    let steps = second.unwrap_or_else(|why| fail(&why));
    summary("roll 2", &steps, &more);
    match tutorial::check_everywhere(&e, &more.acknowledged, ZNODES) {
        Ok(()) => say("every acknowledged write and all of /data is on every member"),
        Err(why) => fail(&why),
    }
    say("removing the pods, their namespaces and the volumes");
}
