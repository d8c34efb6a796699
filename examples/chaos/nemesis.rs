//! The nemesis: faults at random moments, several at once, each healed after a random time, and
//! all healed before the end; a "kubelet" that restarts every container that ended. Every fault
//! goes into the timeline (kind, pods, start, end) that the plot shades.
//!
//! The faults, as Jepsen's ZooKeeper nemesis and the issue list them:
//! - partitions by iptables rules in the pods' own network namespaces (never the machine's):
//!   one member isolated, the leader isolated, a 2|3 split, one-way loss between two members,
//!   and a 2|3 split whose minority is restarted while cut off (where a wrong membership choice
//!   forms a second quorum);
//! - a JVM frozen (SIGSTOP) beyond syncLimit × tickTime (10 s), the leader's or any member's,
//!   then SIGCONT;
//! - a JVM killed, a container killed, a whole pod deleted (sandbox and network too) and made
//!   again later;
//! - the data volume full (each volume is a small tmpfs of its own, filled by a file);
//! - a pod's DNS entry removed from the other pods' /etc/hosts, then restored;
//! - a pod restarted on a stale copy of its volume (copied earlier while it was stopped);
//! - dynamic ensembles only: `resize 3` and the scale-down, the scale-up back to 5, a pod killed
//!   during `resize` and during its `join`.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::rng::Rng;
use crate::support::dynamic::{self, PASSWORD_FILE};
use crate::support::ensemble::{Ensemble, pod_ip};
use crate::workload::Clock;

pub const SIZE: usize = 5;
/// How full a volume may get: the tmpfs each pod's /var/lib is.
pub const VOLUME_SIZE: &str = "160m";

/// One fault as it happened.
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: &'static str,
    pub pods: Vec<usize>,
    pub start: u64,
    pub end: Option<u64>,
    /// What happened beyond the kind (a resize's exit, a step that could not be taken).
    pub note: String,
}

/// What must be undone when a fault heals.
#[derive(Debug)]
enum Undo {
    /// Flush every pod's rules.
    Rules,
    Resume(u32),
    /// Start the pod again (after a kill or deletion), on the current volume.
    Restart(usize),
    Unfill(usize),
    Hosts(usize),
    /// Nothing to undo (the kubelet restarts what ended).
    Nothing,
}

struct Active {
    fault: usize,
    heal_at: Instant,
    undo: Vec<Undo>,
}

pub struct Nemesis<'a> {
    e: &'a mut Ensemble,
    rng: Rng,
    clock: Clock,
    pub timeline: Vec<Fault>,
    active: Vec<Active>,
    /// Which pods should run (the StatefulSet's replicas, less those a fault holds down).
    wanted: [bool; SIZE],
    /// Which pods have a container (started, not yet seen ended) and a sandbox.
    running: [bool; SIZE],
    sandboxed: [bool; SIZE],
    /// When a pod's container was seen ended, for the kubelet's back-off.
    ended_at: [Option<Instant>; SIZE],
    /// When a pod was deleted: it is made again only after [`SETTLE`].
    deleted_at: [Option<Instant>; SIZE],
    flags: Vec<String>,
    dynamic: bool,
    /// Dynamic ensembles: the replicas (3 after a scale-down, 5 again after a scale-up).
    replicas: usize,
    stale: [Option<PathBuf>; SIZE],
    /// A `resize` running in pod zk-0, and the fault it belongs to.
    resize: Option<(Child, usize)>,
}

/// The kubelet's back-off before a container that ended starts again.
const BACKOFF: Duration = Duration::from_secs(2);
/// A deleted pod's veth is removed at once ([`Ensemble::unplug`]); a pod is made again once the
/// name is free, and this long without, it is said.
const SETTLE: Duration = Duration::from_secs(30);

impl<'a> Nemesis<'a> {
    pub fn new(
        e: &'a mut Ensemble,
        seed: u64,
        clock: Clock,
        flags: Vec<String>,
        dynamic: bool,
    ) -> Nemesis<'a> {
        Nemesis {
            e,
            rng: Rng::new(seed),
            clock,
            timeline: Vec::new(),
            active: Vec::new(),
            wanted: [true; SIZE],
            running: [true; SIZE],
            sandboxed: [true; SIZE],
            ended_at: [None; SIZE],
            deleted_at: [None; SIZE],
            flags,
            dynamic,
            replicas: SIZE,
            stale: Default::default(),
            resize: None,
        }
    }

    fn flag_refs(&self) -> Vec<String> {
        self.flags.clone()
    }

    fn start_pod(&mut self, pod: usize) {
        let flags = self.flag_refs();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        self.e.start_flags(pod, &flags);
        self.running[pod] = true;
        self.sandboxed[pod] = true;
        self.ended_at[pod] = None;
    }

    fn kill_pod(&mut self, pod: usize) {
        self.e.kill(pod);
        self.running[pod] = false;
    }

    fn delete_pod(&mut self, pod: usize) {
        self.e.delete(pod);
        self.e.unplug(pod);
        self.running[pod] = false;
        self.sandboxed[pod] = false;
        self.deleted_at[pod] = Some(Instant::now());
    }

    /// Restart every wanted container that ended, after the back-off.
    fn kubelet(&mut self) {
        for pod in 0..SIZE {
            if self.running[pod] && self.e.exited(pod).is_some() {
                self.kill_pod(pod);
                self.ended_at[pod] = Some(Instant::now());
            }
            let settled = self.sandboxed[pod] || self.e.can_remake(pod);
            if !settled && self.deleted_at[pod].is_some_and(|t| t.elapsed() >= SETTLE) {
                eprintln!("chaos: zk-{pod}'s old veth is still there {SETTLE:?} after its deletion; waiting");
                self.deleted_at[pod] = Some(Instant::now());
            }
            if !self.running[pod]
                && self.wanted[pod]
                && settled
                && self.ended_at[pod].is_none_or(|t| t.elapsed() >= BACKOFF)
            {
                self.start_pod(pod);
            }
        }
    }

    fn sh(&mut self, pod: usize, script: &str) -> bool {
        self.sandboxed[pod] && self.e.exec(pod, &["sh", "-c", script]).status.success()
    }

    /// Drop what `pod` receives from and sends to each of `peers` (`both`), or only what it
    /// receives (one-way loss).
    fn cut(&mut self, pod: usize, peers: &[usize], both: bool) {
        let mut script = String::new();
        for &p in peers {
            let ip = pod_ip(p);
            script.push_str(&format!("iptables -w -A INPUT -s {ip} -j DROP\n"));
            if both {
                script.push_str(&format!("iptables -w -A OUTPUT -d {ip} -j DROP\n"));
            }
        }
        self.sh(pod, &script);
    }

    fn leader(&mut self) -> Option<usize> {
        (0..SIZE)
            .find(|&o| self.sandboxed[o] && self.running[o] && self.e.role(o).as_deref() == Some("leader"))
    }

    fn busy_pods(&self) -> Vec<usize> {
        let mut busy: Vec<usize> = Vec::new();
        for a in &self.active {
            busy.extend(&self.timeline[a.fault].pods);
        }
        busy
    }

    fn partitioned(&self) -> bool {
        self.active.iter().any(|a| a.undo.iter().any(|u| matches!(u, Undo::Rules)))
    }

    /// A pod that runs and no active fault holds, among the replicas.
    fn free_pod(&mut self) -> Option<usize> {
        let busy = self.busy_pods();
        let free: Vec<usize> = (0..self.replicas)
            .filter(|p| !busy.contains(p) && self.running[*p] && self.sandboxed[*p])
            .collect();
        (!free.is_empty()).then(|| free[self.rng.below(free.len() as u64) as usize])
    }

    fn record(&mut self, kind: &'static str, pods: Vec<usize>, note: String) -> usize {
        self.timeline.push(Fault { kind, pods, start: self.clock.now(), end: None, note });
        self.timeline.len() - 1
    }

    fn hold(&mut self, fault: usize, low: u64, high: u64, undo: Vec<Undo>) {
        let heal_at = Instant::now() + self.rng.secs(low, high);
        self.active.push(Active { fault, heal_at, undo });
    }

    /// Try one fault of a random kind; false when it does not apply now.
    fn inject(&mut self) -> bool {
        let mut kinds = vec![
            "isolate",
            "isolate-leader",
            "split",
            "one-way",
            "split-restart",
            "pause",
            "pause-leader",
            "kill-java",
            "kill-container",
            "delete-pod",
            "disk-full",
            "dns",
            "stale-copy",
            "stale-restart",
        ];
        if self.dynamic {
            kinds.extend(["scale-down", "scale-up", "kill-mid-resize", "kill-mid-join"]);
        }
        let kind = kinds[self.rng.below(kinds.len() as u64) as usize];
        let members = self.replicas;
        match kind {
            "isolate" | "isolate-leader" | "split" | "one-way" | "split-restart" => {
                if self.partitioned() {
                    return false;
                }
                let sides: (Vec<usize>, Vec<usize>) = match kind {
                    "isolate-leader" => {
                        let Some(l) = self.leader() else { return false };
                        (vec![l], (0..SIZE).filter(|&p| p != l).collect())
                    }
                    "isolate" => {
                        let p = self.rng.below(members as u64) as usize;
                        (vec![p], (0..SIZE).filter(|&o| o != p).collect())
                    }
                    "one-way" => {
                        let two = self.rng.pick(members, 2);
                        (vec![two[0]], vec![two[1]])
                    }
                    _ => {
                        let minority = self.rng.pick(members, members / 2);
                        (minority.clone(), (0..SIZE).filter(|p| !minority.contains(p)).collect())
                    }
                };
                let both = kind != "one-way";
                for &a in &sides.0 {
                    self.cut(a, &sides.1, both);
                }
                if both {
                    for &b in &sides.1 {
                        self.cut(b, &sides.0, true);
                    }
                }
                let mut pods = sides.0.clone();
                if kind == "one-way" {
                    pods.extend(&sides.1);
                }
                let note = format!("{:?} | {:?}", sides.0, sides.1);
                let fault = self.record(kind, pods, note);
                if kind == "split-restart" {
                    // The minority's containers restart while cut off: the kubelet brings them
                    // back at once, and each decides its membership alone with its side.
                    for &p in &sides.0 {
                        if self.running[p] {
                            self.kill_pod(p);
                        }
                    }
                }
                self.hold(fault, 10, 30, vec![Undo::Rules]);
            }
            "pause" | "pause-leader" => {
                let pod = if kind == "pause" { self.free_pod() } else { self.leader() };
                let Some(pod) = pod.filter(|p| !self.busy_pods().contains(p)) else { return false };
                let Some(java) = self.e.java_now(pod) else { return false };
                crate::support::signal(java, libc::SIGSTOP);
                let fault = self.record(kind, vec![pod], format!("java {java}"));
                self.hold(fault, 12, 20, vec![Undo::Resume(java)]);
            }
            "kill-java" => {
                let Some(pod) = self.free_pod() else { return false };
                let Some(java) = self.e.java_now(pod) else { return false };
                crate::support::signal(java, libc::SIGKILL);
                let fault = self.record(kind, vec![pod], format!("java {java}"));
                self.hold(fault, 1, 2, vec![Undo::Nothing]);
            }
            "kill-container" | "delete-pod" => {
                let Some(pod) = self.free_pod() else { return false };
                self.wanted[pod] = false;
                if kind == "kill-container" {
                    self.kill_pod(pod);
                } else {
                    self.delete_pod(pod);
                }
                let fault = self.record(kind, vec![pod], String::new());
                self.hold(fault, 3, 20, vec![Undo::Restart(pod)]);
            }
            "disk-full" => {
                let Some(pod) = self.free_pod() else { return false };
                let written = fill(&self.e.pod_dir(pod).join("var-lib/fill"));
                let fault = self.record(kind, vec![pod], format!("{written} MiB written"));
                self.hold(fault, 10, 30, vec![Undo::Unfill(pod)]);
            }
            "dns" => {
                let Some(pod) = self.free_pod() else { return false };
                let name = format!("zk-{pod}.");
                for other in (0..SIZE).filter(|&o| o != pod) {
                    let path = self.e.pod_dir(other).join("etc/hosts");
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    let kept: String =
                        text.lines().filter(|l| !l.contains(&name)).map(|l| format!("{l}\n")).collect();
                    // In place (the pods see this file by a bind mount of its inode).
                    let _ = fs::write(&path, kept);
                }
                let fault = self.record(kind, vec![pod], String::new());
                self.hold(fault, 10, 30, vec![Undo::Hosts(pod)]);
            }
            "stale-copy" => {
                let Some(pod) = self.free_pod() else { return false };
                self.wanted[pod] = false;
                self.kill_pod(pod);
                let copy = self.e.pod_dir(pod).join("stale");
                let volume = self.e.pod_dir(pod).join("var-lib/zookeeper");
                let _ = fs::remove_dir_all(&copy);
                let ok =
                    Command::new("cp").arg("-a").arg(&volume).arg(&copy).status().is_ok_and(|s| s.success());
                if ok {
                    self.stale[pod] = Some(copy);
                }
                let fault = self.record(kind, vec![pod], format!("copied: {ok}"));
                self.hold(fault, 1, 3, vec![Undo::Restart(pod)]);
            }
            "stale-restart" => {
                let Some(pod) = self.free_pod() else { return false };
                let Some(copy) = self.stale[pod].take() else { return false };
                self.wanted[pod] = false;
                self.kill_pod(pod);
                let volume = self.e.pod_dir(pod).join("var-lib/zookeeper");
                let _ = fs::remove_dir_all(&volume);
                let ok =
                    Command::new("cp").arg("-a").arg(&copy).arg(&volume).status().is_ok_and(|s| s.success());
                let fault = self.record(kind, vec![pod], format!("restored: {ok}"));
                self.hold(fault, 1, 3, vec![Undo::Restart(pod)]);
            }
            "scale-down" | "kill-mid-resize" => {
                if self.replicas != SIZE || self.resize.is_some() || !self.sandboxed[0] {
                    return false;
                }
                let busy = self.busy_pods();
                if busy.contains(&3) || busy.contains(&4) {
                    return false;
                }
                let mut victims = vec![3, 4];
                let argv = self.e.exec_command(
                    0,
                    &[
                        "timeout",
                        "120",
                        "env",
                        &format!("ZK_SUPER_PASSWORD_FILE={PASSWORD_FILE}"),
                        "zk-entry",
                        "resize",
                        "3",
                    ],
                );
                let child = Command::new(&argv[0])
                    .args(&argv[1..])
                    .env("PATH", "/opt/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn();
                let Ok(child) = child else { return false };
                if kind == "kill-mid-resize" {
                    std::thread::sleep(self.rng.secs(0, 2));
                    let pod = self.rng.below(SIZE as u64) as usize;
                    if self.running[pod] {
                        self.kill_pod(pod);
                    }
                    victims.push(pod);
                }
                let fault = self.record(kind, victims, String::new());
                self.resize = Some((child, fault));
                // Healed when the resize ends (see `tick`); this bounds it as well.
                self.hold(fault, 125, 130, vec![Undo::Nothing]);
            }
            "scale-up" | "kill-mid-join" => {
                if self.replicas == SIZE || self.resize.is_some() {
                    return false;
                }
                self.replicas = SIZE;
                for pod in 3..SIZE {
                    self.wanted[pod] = true;
                }
                // The kubelet makes them (once their old sandboxes are surely gone).
                self.kubelet();
                let fault = self.record(kind, vec![3, 4], String::new());
                if kind == "kill-mid-join" && self.running[3] && self.running[4] {
                    std::thread::sleep(self.rng.secs(2, 8));
                    let pod = 3 + self.rng.below(2) as usize;
                    self.kill_pod(pod);
                    self.timeline[fault].note = format!("zk-{pod} killed while joining");
                }
                self.hold(fault, 1, 2, vec![Undo::Nothing]);
            }
            _ => unreachable!("every kind is matched"),
        }
        true
    }

    /// The end of a running resize: record its outcome, scale down once it succeeded.
    fn reap_resize(&mut self, force: bool) {
        let Some((child, fault)) = self.resize.as_mut() else { return };
        let fault = *fault;
        let status = match child.try_wait() {
            Ok(Some(status)) => status,
            _ if !force => return,
            _ => {
                let _ = child.kill();
                match child.wait() {
                    Ok(s) => s,
                    Err(_) => return,
                }
            }
        };
        let (mut child, _) = self.resize.take().expect("a resize runs");
        let mut said = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut said);
        }
        let last = said.lines().last().unwrap_or_default().to_string();
        self.timeline[fault].note = format!("resize 3: {status}; {last}");
        if status.success() {
            // The scale-down: the StatefulSet deletes the two highest pods.
            self.replicas = 3;
            for pod in 3..SIZE {
                self.wanted[pod] = false;
                if self.sandboxed[pod] {
                    self.delete_pod(pod);
                }
            }
        }
        if let Some(a) = self.active.iter_mut().find(|a| a.fault == fault) {
            a.heal_at = Instant::now();
        }
    }

    fn heal(&mut self, active: Active) {
        for undo in active.undo {
            match undo {
                Undo::Rules => {
                    for pod in 0..SIZE {
                        self.sh(pod, "iptables -w -F INPUT; iptables -w -F OUTPUT");
                    }
                }
                Undo::Resume(java) => {
                    // SAFETY: kill has no memory-safety preconditions; the JVM may have been
                    // killed meanwhile, and then this does nothing (or the PID is gone: ESRCH).
                    unsafe { libc::kill(java as i32, libc::SIGCONT) };
                }
                Undo::Restart(pod) => {
                    if pod < self.replicas {
                        self.wanted[pod] = true;
                    }
                }
                Undo::Unfill(pod) => {
                    let _ = fs::remove_file(self.e.pod_dir(pod).join("var-lib/fill"));
                }
                Undo::Hosts(pod) => {
                    for other in 0..SIZE {
                        let path = self.e.pod_dir(other).join("etc/hosts");
                        let mut text = fs::read_to_string(&path).unwrap_or_default();
                        let line =
                            format!("{}\tzk-{pod}.{}\n", pod_ip(pod), crate::support::ensemble::DOMAIN);
                        if other != pod && !text.contains(&line) {
                            text.push_str(&line);
                            let _ = fs::write(&path, text);
                        }
                    }
                }
                Undo::Nothing => {}
            }
        }
        self.timeline[active.fault].end = Some(self.clock.now());
    }

    /// One round: the kubelet, a resize's end, the heals that are due, perhaps a new fault.
    pub fn tick(&mut self, may_inject: bool) {
        self.reap_resize(false);
        let now = Instant::now();
        let (due, kept): (Vec<Active>, Vec<Active>) = self.active.drain(..).partition(|a| a.heal_at <= now);
        self.active = kept;
        for a in due {
            self.heal(a);
        }
        self.kubelet();
        if may_inject && self.active.len() < 2 {
            // A few tries: a kind may not apply now (no leader, nothing stale yet, ...).
            for _ in 0..4 {
                if self.inject() {
                    break;
                }
            }
        }
    }

    /// Heal everything, scale back to 5, and let the kubelet start what is down.
    pub fn heal_all(&mut self) {
        self.reap_resize(true);
        for a in std::mem::take(&mut self.active) {
            self.heal(a);
        }
        if self.dynamic && self.replicas != SIZE {
            self.replicas = SIZE;
            let fault = self.record("scale-up", vec![3, 4], "after the faults".into());
            self.timeline[fault].end = Some(self.clock.now());
        }
        self.wanted = [true; SIZE];
        self.ended_at = [None; SIZE];
        self.kubelet();
    }

    /// Wait until every member serves (the kubelet keeps restarting meanwhile).
    pub fn wait_recovered(&mut self, limit: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        loop {
            self.kubelet();
            let serving: Vec<usize> =
                (0..SIZE).filter(|&o| self.running[o] && self.e.ready(o, true)).collect();
            let mut voters = String::new();
            if serving.len() == SIZE {
                if !self.dynamic {
                    return Ok(started.elapsed());
                }
                let ids: Vec<u64> = (1..=SIZE as u64).collect();
                match dynamic::wait_voters(self.e, 0, &ids, Duration::from_secs(1)) {
                    Ok(_) => return Ok(started.elapsed()),
                    Err(why) => voters = format!(", but the membership is not the five voters: {why}"),
                }
            }
            if started.elapsed() > limit {
                return Err(format!("{serving:?} serve {limit:?} after every fault was healed{voters}"));
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

/// Fill the file system of `path` until it is full (bounded by its size); MiB written.
fn fill(path: &std::path::Path) -> u64 {
    use std::io::Write;
    let Ok(mut file) = fs::File::create(path) else { return 0 };
    let chunk = vec![0xa5u8; 1 << 20];
    let mut written = 0;
    // 1 GiB at most: the volume is far smaller.
    while written < 1024 && file.write_all(&chunk).is_ok() {
        written += 1;
    }
    let _ = file.sync_all();
    written
}
