//! The tutorial's ensemble on one machine: StatefulSet `zk` behind headless service `zk-hs` in
//! namespace `default`, each pod built from Linux namespaces, with zk-entry as every pod's PID 1.
//! Used by the end-to-end tests and by `make demo` (examples/demo.rs), so both run the same pods.
//!
//! Kubernetes' own model, in processes:
//! - a *hub* network namespace holds the run's bridge (`br0`): the cluster network. It is a
//!   namespace of its own, never the machine's, so no route leads anywhere else and two runs can
//!   never collide (every name lives inside namespaces made for the run);
//! - each pod has a *sandbox* (the pause container): a `sleep` holding the pod's network namespace
//!   (a veth to the bridge, address 198.18.0.(10+N)), UTS namespace (host name `zk-N`) and mount
//!   namespace: /etc/hosts as the kubelet writes it plus the other pods' names as cluster DNS
//!   would resolve them, a resolver on loopback, the pod's volume on /var/lib (so
//!   /var/lib/zookeeper, kept across restarts and deletion: the PersistentVolume), its own /opt
//!   (conf dir, a copy of zk-entry and its `start-zookeeper` link), /var/log and a tmpfs /tmp;
//! - the *container* joins the sandbox and gets a new PID namespace whose PID 1 is the manifest's
//!   command: `zk-entry start ...`, or the tutorial's `sh -c "start-zookeeper ..."`;
//! - a *client* sandbox on the bridge (198.18.0.100) runs zkCli.sh against the pods' addresses;
//!   [`Ensemble::port_forward`] connects from it too (`kubectl port-forward svc/zk-cs`).
//!
//! Every process is started under `setpriv --pdeathsig KILL`, so if the test process dies the
//! whole tree goes with it; the holders sleep at most an hour as a last bound. Dropping the
//! [`Ensemble`] ends containers (PID 1 first, so each PID namespace is gone before its parent
//! returns), then sandboxes, client and hub: their namespaces, veths and bridge go with them.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::dist::{self, Dist};
use super::forward::PortForward;
use super::turn::Turn;
use super::{Reaped, TUTORIAL_FLAGS, children_of, only_child, proc_status, scrub, signal, wait_for};

pub const DOMAIN: &str = "zk-hs.default.svc.cluster.local";
pub const CLIENT_PORT: u16 = 2181;
const CLIENT_IP: &str = "198.18.0.100";
/// How long the namespace holders live at most, should everything else fail.
const HOLD: &str = "3600";
const STEP_LIMIT: Duration = Duration::from_secs(10);

/// A pod's address on the run's bridge.
pub fn pod_ip(ordinal: usize) -> String {
    format!("198.18.0.{}", 10 + ordinal)
}

/// `198.18.0.10:2181,198.18.0.11:2181,...`: what a client of the `zk-cs` service would use.
pub fn connect_string(size: usize) -> String {
    (0..size).map(|i| format!("{}:{CLIENT_PORT}", pod_ip(i))).collect::<Vec<_>>().join(",")
}

/// How the container command is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// `["zk-entry", "start", <tutorial flags>]`: zk-entry is PID 1.
    ZkEntry,
    /// The tutorial manifest's `["sh", "-c", "start-zookeeper <tutorial flags>"]`.
    TutorialShell,
}

struct Member {
    /// The pod's own directory on the host: volume, conf, logs.
    dir: PathBuf,
    sandbox: Option<Reaped>,
    container: Option<Reaped>,
    /// The ZooKeeper the pod runs: its image, bound into the sandbox when it is made.
    zookeeper: Arc<Dist>,
}

pub struct Ensemble {
    pub root: tempfile::TempDir,
    bin: PathBuf,
    hub: Reaped,
    client: Reaped,
    members: Vec<Member>,
    /// The machine's turn, taken first and, as the last field, given back last, after the pods
    /// are gone.
    _turn: Turn,
}

/// `setpriv --pdeathsig KILL -- program args`, with none of the caller's ZK_* variables.
/// Each in its own process group: a Ctrl-C at the demo's terminal reaches the demo alone, which
/// then takes the pods down in order.
fn guarded(program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--pdeathsig", "KILL", "--", program]).args(args).process_group(0);
    scrub(&mut cmd);
    cmd
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The command line that runs `argv` in a pod: nsenter into the network, host name and mounts
/// of its sandbox `sandbox`.
fn enter(sandbox: u32, argv: &[&str]) -> Vec<String> {
    let mut line: Vec<String> =
        ["nsenter", "--target", &sandbox.to_string(), "--net", "--uts", "--mount", "--"]
            .map(str::to_string)
            .to_vec();
    line.extend(argv.iter().map(|a| a.to_string()));
    line
}

/// Run `line` (from [`enter`]) with the pod's /opt/bin first on PATH (what `kubectl exec` and the
/// container command see).
fn in_pod(line: &[String]) -> Command {
    let args: Vec<&str> = line[1..].iter().map(String::as_str).collect();
    let mut cmd = guarded(&line[0], &args);
    cmd.env("PATH", "/opt/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    cmd
}

/// Run `argv` in the network namespace of process `pid`.
fn in_net(pid: u32, argv: &[&str]) -> Command {
    let net = format!("--net=/proc/{pid}/ns/net");
    let mut cmd = Command::new("nsenter");
    cmd.arg(net).arg("--").args(argv);
    scrub(&mut cmd);
    cmd
}

/// Start a namespace holder: `unshare <flags> sh -c <script>` whose script ends in `exec sleep`;
/// returns once the script has got there.
fn holder(flags: &[&str], script: &str) -> Reaped {
    let mut args: Vec<&str> = flags.to_vec();
    let full = format!("set -e\n{script}\nexec sleep {HOLD}");
    args.extend(["--", "sh", "-c", &full]);
    let mut child =
        Reaped(guarded("unshare", &args).stdin(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap());
    let pid = child.0.id();
    let ready = wait_for(STEP_LIMIT, || {
        if let Ok(Some(status)) = child.0.try_wait() {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut err);
            panic!("namespace holder failed ({status}): {err}");
        }
        (proc_status(pid, "Name").as_deref() == Some("sleep")).then_some(())
    });
    assert!(ready.is_some(), "namespace holder did not come up");
    child
}

impl Ensemble {
    /// The network (hub and bridge) and the client; no pod yet. Waits first for its turn: one
    /// ensemble at a time in this process (support/turn.rs).
    pub fn new(bin: &Path, size: usize) -> Ensemble {
        super::require_root();
        let turn = Turn::take();
        let root = tempfile::Builder::new().prefix("zk-ensemble").tempdir().unwrap();
        // The pods' users (zookeeper) must reach their directories below it.
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let hub = holder(&["--net"], "ip link set lo up\nip link add br0 type bridge\nip link set br0 up");
        let client = holder(&["--net"], "ip link set lo up");
        attach(hub.0.id(), client.0.id(), "client", CLIENT_IP);
        let mut ensemble =
            Ensemble { root, bin: bin.to_path_buf(), hub, client, members: Vec::new(), _turn: turn };
        let zookeeper = dist::current();
        for ordinal in 0..size {
            let dir = ensemble.root.path().join(format!("zk-{ordinal}"));
            for sub in ["etc", "var-lib/zookeeper", "var-log", "opt/bin", "logs"] {
                fs::create_dir_all(dir.join(sub)).unwrap();
            }
            fs::write(dir.join("etc/hosts"), hosts_file(ordinal, size)).unwrap();
            fs::write(dir.join("etc/resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
                .unwrap();
            // A copy, as an image holds it: the binary under test may live below /tmp (a
            // checkout there), which the pod's own /tmp hides.
            super::copy_program(&ensemble.bin, &dir.join("opt/bin/zk-entry"));
            std::os::unix::fs::symlink("zk-entry", dir.join("opt/bin/start-zookeeper")).unwrap();
            ensemble.members.push(Member {
                dir,
                sandbox: None,
                container: None,
                zookeeper: zookeeper.clone(),
            });
        }
        ensemble
    }

    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// The processes it started and holds: hub, client, every sandbox and container. The rest of
    /// the run's processes are their descendants.
    pub fn processes(&self) -> Vec<u32> {
        let pods = self.members.iter().flat_map(|m| [&m.sandbox, &m.container]).flatten();
        [&self.hub, &self.client].into_iter().chain(pods).map(|p| p.0.id()).collect()
    }

    /// The host directory of pod `ordinal` (its volume is `var-lib/zookeeper`).
    pub fn pod_dir(&self, ordinal: usize) -> &Path {
        &self.members[ordinal].dir
    }

    /// The ZooKeeper pod `ordinal` runs (or will run when next made).
    pub fn zookeeper(&self, ordinal: usize) -> Arc<Dist> {
        self.members[ordinal].zookeeper.clone()
    }

    /// Give pod `ordinal` another ZooKeeper (`suite` as in support/dist.rs), as a new image in
    /// the StatefulSet's template does: it takes effect when the pod is next made, so the pod
    /// must be deleted (or not yet started).
    pub fn set_zookeeper(&mut self, ordinal: usize, suite: &str) {
        assert!(
            self.members[ordinal].sandbox.is_none(),
            "zk-{ordinal} must be deleted before its image changes"
        );
        self.members[ordinal].zookeeper = dist::of(suite);
    }

    /// The pod's sandbox, made if it does not exist (first start, or after deletion).
    fn sandbox(&mut self, ordinal: usize) -> u32 {
        if let Some(sandbox) = &self.members[ordinal].sandbox {
            return sandbox.0.id();
        }
        let dir = &self.members[ordinal].dir;
        let d = |rel: &str| super::shell_quote(&dir.join(rel).display().to_string());
        let image: String =
            self.members[ordinal].zookeeper.mounts().iter().map(|line| format!("{line}\n")).collect();
        let script = format!(
            "hostname zk-{ordinal}\n\
             mount --bind {hosts} /etc/hosts\n\
             mount --bind {resolv} /etc/resolv.conf\n\
             mount --bind {var_lib} /var/lib\n\
             mount --bind {var_log} /var/log\n\
             mount --bind {opt} /opt\n\
             mount -t tmpfs -o size=64m tmpfs /tmp\n\
             {image}\
             ip link set lo up",
            hosts = d("etc/hosts"),
            resolv = d("etc/resolv.conf"),
            var_lib = d("var-lib"),
            var_log = d("var-log"),
            opt = d("opt"),
        );
        let sandbox = holder(&["--net", "--uts", "--mount", "--propagation", "private"], &script);
        let pid = sandbox.0.id();
        attach(self.hub.0.id(), pid, &format!("veth-zk{ordinal}"), &pod_ip(ordinal));
        self.members[ordinal].sandbox = Some(sandbox);
        pid
    }

    /// The container command for `launch`, with the tutorial's flags.
    pub fn command_line(&self, launch: Launch) -> Vec<String> {
        match launch {
            Launch::ZkEntry => {
                let mut argv = vec!["/opt/bin/zk-entry".to_string(), "start".to_string()];
                argv.extend(TUTORIAL_FLAGS.iter().map(|f| f.to_string()));
                argv
            }
            Launch::TutorialShell => {
                vec!["sh".into(), "-c".into(), format!("start-zookeeper {}", TUTORIAL_FLAGS.join(" "))]
            }
        }
    }

    /// Start pod `ordinal`'s container (making the sandbox first if needed): a new PID namespace
    /// whose PID 1 is `argv`, as a container runtime does. Its output is appended to
    /// `<pod dir>/logs/container.{out,err}`.
    pub fn start_with(&mut self, ordinal: usize, argv: &[String]) {
        assert!(self.members[ordinal].container.is_none(), "zk-{ordinal} is already running");
        let sandbox = self.sandbox(ordinal);
        let logs = self.members[ordinal].dir.join("logs");
        let append =
            |name: &str| fs::OpenOptions::new().create(true).append(true).open(logs.join(name)).unwrap();
        let mut args = vec!["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--"];
        args.extend(argv.iter().map(String::as_str));
        let child = in_pod(&enter(sandbox, &args))
            .stdin(Stdio::null())
            .stdout(append("container.out"))
            .stderr(append("container.err"))
            .spawn()
            .unwrap();
        self.members[ordinal].container = Some(Reaped(child));
    }

    /// `zk-entry start` with the tutorial's flags, each flag in `flags` replacing the tutorial's
    /// of the same name or added after them (e.g. `--servers=5`, `--observers=1`).
    pub fn command_with(&self, flags: &[&str]) -> Vec<String> {
        let mut argv = vec!["/opt/bin/zk-entry".to_string(), "start".to_string()];
        argv.extend(tutorial_flags_with(flags));
        argv
    }

    /// Start pod `ordinal` as zk-entry with the tutorial's flags changed by `flags`.
    pub fn start_flags(&mut self, ordinal: usize, flags: &[&str]) {
        let argv = self.command_with(flags);
        self.start_with(ordinal, &argv);
    }

    /// A four-letter word sent from inside the pod to its own client port; the reply.
    pub fn four_letter(&mut self, ordinal: usize, word: &str) -> String {
        let script =
            format!("exec 3<>/dev/tcp/127.0.0.1/{CLIENT_PORT}; printf {word} >&3; timeout 5 cat <&3");
        String::from_utf8_lossy(&self.exec(ordinal, &["bash", "-c", &script]).stdout).into_owned()
    }

    pub fn start(&mut self, ordinal: usize, launch: Launch) {
        let argv = self.command_line(launch);
        self.start_with(ordinal, &argv);
    }

    /// The host PID of the container's PID 1.
    pub fn pid1(&self, ordinal: usize) -> u32 {
        let container = self.members[ordinal].container.as_ref().expect("pod not running");
        only_child(container.0.id(), STEP_LIMIT)
    }

    /// The host PID of the pod's java process.
    pub fn java(&self, ordinal: usize) -> u32 {
        let pid1 = self.pid1(ordinal);
        let find = || -> Option<u32> {
            let mut stack = vec![pid1];
            while let Some(pid) = stack.pop() {
                if proc_status(pid, "Name").as_deref() == Some("java") {
                    return Some(pid);
                }
                stack.extend(children_of(pid));
            }
            None
        };
        wait_for(STEP_LIMIT, find).unwrap_or_else(|| panic!("no java in zk-{ordinal}"))
    }

    /// The host PID of the pod's java process, if its container runs one now (never waits or
    /// panics: for the chaos nemesis, which acts on pods in any state). The tests do not use it.
    #[allow(dead_code)]
    pub fn java_now(&self, ordinal: usize) -> Option<u32> {
        let mut stack = vec![self.members[ordinal].container.as_ref()?.0.id()];
        while let Some(pid) = stack.pop() {
            if proc_status(pid, "Name").as_deref() == Some("java") {
                return Some(pid);
            }
            stack.extend(children_of(pid));
        }
        None
    }

    /// Send `sig` to the pod's PID 1 and wait until the container has exited (the PID namespace
    /// is gone by then): its status and how long it took.
    pub fn signal_pid1(&mut self, ordinal: usize, sig: i32, limit: Duration) -> (ExitStatus, Duration) {
        let pid1 = self.pid1(ordinal);
        let sent = Instant::now();
        signal(pid1, sig);
        let status = self.wait_exit(ordinal, limit);
        (status, sent.elapsed())
    }

    /// Wait for the container to end by itself (e.g. after its java was killed).
    pub fn wait_exit(&mut self, ordinal: usize, limit: Duration) -> ExitStatus {
        let mut container = self.members[ordinal].container.take().expect("pod not running");
        super::wait_exit(&mut container.0, limit)
    }

    /// Whether the pod's container was started and not yet stopped or seen to exit.
    pub fn running(&self, ordinal: usize) -> bool {
        self.members[ordinal].container.is_some()
    }

    /// Whether the pod's container process has ended by itself.
    pub fn exited(&mut self, ordinal: usize) -> Option<ExitStatus> {
        self.members[ordinal].container.as_mut().and_then(|c| c.0.try_wait().ok().flatten())
    }

    /// Kill the container now (SIGKILL to PID 1): the pod's process is gone, sandbox and volume
    /// stay, as when a container crashes and the kubelet restarts it.
    pub fn kill(&mut self, ordinal: usize) {
        if let Some(mut container) = self.members[ordinal].container.take() {
            container.end();
        }
    }

    /// Delete the pod: container and sandbox (network, host name, mounts); the volume stays, as
    /// the StatefulSet's PersistentVolumeClaim does.
    pub fn delete(&mut self, ordinal: usize) {
        self.kill(ordinal);
        if let Some(mut sandbox) = self.members[ordinal].sandbox.take() {
            sandbox.end();
        }
    }

    /// Whether pod `ordinal` can be made again now: its sandbox is gone and so is its old veth
    /// (the kernel removes it with the network namespace, some time after the last process).
    /// The tests do not use it; the chaos nemesis deletes and remakes pods at any moment.
    #[allow(dead_code)]
    pub fn can_remake(&self, ordinal: usize) -> bool {
        let name = format!("veth-zk{ordinal}");
        let shown = in_net(self.hub.0.id(), &["ip", "link", "show", &name]).output();
        self.members[ordinal].sandbox.is_none() && shown.is_ok_and(|out| !out.status.success())
    }

    /// Remove a deleted pod's veth from the bridge now, as a CNI plugin's DEL does, instead of
    /// leaving it to the kernel's clean-up of the old network namespace, which waits for every
    /// socket of it: under chaos the old veth stayed for more than a minute (the JVM's orphaned
    /// connections to cut-off peers, most likely).
    /// The tests do not use it; the chaos nemesis deletes and remakes pods at any moment.
    #[allow(dead_code)]
    pub fn unplug(&self, ordinal: usize) {
        assert!(self.members[ordinal].sandbox.is_none(), "zk-{ordinal} must be deleted first");
        let name = format!("veth-zk{ordinal}");
        // Gone already when the namespace went first: nothing to do then.
        let _ = in_net(self.hub.0.id(), &["ip", "link", "del", &name]).output();
    }

    /// Take the pod's link to the bridge down (`up = false`) or up again.
    pub fn link(&self, ordinal: usize, up: bool) {
        let name = format!("veth-zk{ordinal}");
        let state = if up { "up" } else { "down" };
        run_ok(&mut in_net(self.hub.0.id(), &["ip", "link", "set", &name, state]), "link state");
    }

    /// `kubectl exec zk-N -- argv`: run in the pod's network, host name and mounts.
    pub fn exec(&mut self, ordinal: usize, argv: &[&str]) -> Output {
        in_pod(&self.exec_command(ordinal, argv)).stdin(Stdio::null()).output().unwrap()
    }

    /// The command line a user can run as root for `kubectl exec zk-N -- argv` (the pod's PATH
    /// is not set: give programs in /opt/bin with their path); [`Ensemble::exec`] runs it.
    pub fn exec_command(&self, ordinal: usize, argv: &[&str]) -> Vec<String> {
        let sandbox = self.members[ordinal].sandbox.as_ref().expect("pod deleted").0.id();
        enter(sandbox, argv)
    }

    /// `kubectl port-forward svc/zk-cs`: connections to `listener` (on the caller's network,
    /// e.g. the host's loopback) go to the pods' client port, from the client sandbox.
    pub fn port_forward(&self, listener: TcpListener, note: fn(&str)) -> std::io::Result<PortForward> {
        let pods = (0..self.size())
            .map(|o| (format!("zk-{o}"), SocketAddr::new(pod_ip(o).parse().unwrap(), CLIENT_PORT)))
            .collect();
        PortForward::start(listener, &self.client().netns(), pods, note)
    }

    /// `zk-entry ready [--quorum]` in the pod: true when it exits 0.
    pub fn ready(&mut self, ordinal: usize, quorum: bool) -> bool {
        let mut argv = vec!["zk-entry", "ready"];
        if quorum {
            argv.push("--quorum");
        }
        self.exec(ordinal, &argv).status.success()
    }

    /// The pod's `zk_server_state` from `zk-entry metrics`, if it serves.
    pub fn role(&mut self, ordinal: usize) -> Option<String> {
        let out = self.exec(ordinal, &["zk-entry", "metrics"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines().find_map(|l| l.strip_prefix("zk_server_state\t")).map(str::to_string)
    }

    /// Wait until every pod in `pods` passes `ready --quorum`.
    pub fn wait_serving(&mut self, pods: &[usize], limit: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        for &ordinal in pods {
            while !self.ready(ordinal, true) {
                if let Some(status) = self.exited(ordinal) {
                    return Err(format!("zk-{ordinal} exited with {status}: {}", self.log(ordinal)));
                }
                if start.elapsed() > limit {
                    return Err(format!("zk-{ordinal} not serving after {limit:?}: {}", self.log(ordinal)));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            self.check_version(ordinal)?;
        }
        Ok(start.elapsed())
    }

    /// A serving pod runs the ZooKeeper its image holds: the version matrix (support/dist.rs)
    /// proves nothing if a bind did not take. Pods whose `mntr` is not reachable over plain text
    /// (secure client port only) are not checked here.
    fn check_version(&mut self, ordinal: usize) -> Result<(), String> {
        let image = self.members[ordinal].zookeeper.clone();
        let out = self.exec(ordinal, &["zk-entry", "metrics"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        match text.lines().find_map(|l| l.strip_prefix("zk_version\t")) {
            Some(got) if !image.is_served_as(got) => {
                Err(format!("zk-{ordinal} serves ZooKeeper {got}, not the {} of its image", image.version))
            }
            _ => Ok(()),
        }
    }

    /// zk-entry's lines and the end of ZooKeeper's log for pod `ordinal`, for failure messages.
    pub fn log(&self, ordinal: usize) -> String {
        let logs = self.members[ordinal].dir.join("logs");
        let err = fs::read_to_string(logs.join("container.err")).unwrap_or_default();
        let out = fs::read_to_string(logs.join("container.out")).unwrap_or_default();
        let tail: Vec<&str> = out.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        format!("\n--- zk-{ordinal} stderr ---\n{err}--- zk-{ordinal} stdout (end) ---\n{}", tail.join("\n"))
    }

    /// ZooKeeper's own client, in the client sandbox on the bridge.
    pub fn client(&self) -> Client {
        Client { pid: self.client.0.id() }
    }
}

/// Work on a thread of its own in the client sandbox's network, told to stop by a flag it looks
/// at (a writer, a monitor); the flag is raised when this is dropped.
pub struct Background {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Raise the flag and wait for the work to end.
    pub fn stop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The client sandbox; can be handed to another thread (a writer running during a restart).
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pid: u32,
}

impl Client {
    /// The sandbox's network namespace.
    pub fn netns(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.pid))
    }

    /// Run `work` on a thread that enters this sandbox's network first; `work` ends when the
    /// flag it is given is raised ([`Background::stop`]).
    pub fn background(
        self,
        work: impl FnOnce(&std::sync::atomic::AtomicBool) + Send + 'static,
    ) -> Background {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let netns = fs::File::open(self.netns()).unwrap();
            nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            work(&flag);
        });
        Background { stop, thread: Some(thread) }
    }

    /// `zkCli.sh -server <servers> -timeout 5000 <command...>`.
    pub fn zkcli(&self, servers: &str, command: &[&str]) -> Output {
        let mut argv = vec!["/usr/share/zookeeper/bin/zkCli.sh", "-server", servers, "-timeout", "5000"];
        argv.extend(command);
        // setpriv's death signal goes to timeout's process, and timeout bounds the JVM.
        let mut cmd =
            in_net(self.pid, &["setpriv", "--pdeathsig", "KILL", "--", "timeout", "-s", "KILL", "30"]);
        cmd.args(&argv).stdin(Stdio::null()).process_group(0);
        // A writer that runs through a whole roll leaves 100,000+ children under /w: their
        // listing (10 bytes a name) outgrows the client's default 1 MiB packet limit, and zkCli
        // then reports ConnectionLoss, not the listing. 8 MiB holds the writers' 200,000 names.
        cmd.env("CLIENT_JVMFLAGS", "-Djute.maxbuffer=8388608");
        cmd.output().unwrap()
    }

    /// A write acknowledged by the ensemble: zkCli exits 0 and reports no error.
    pub fn write(&self, servers: &str, command: &[&str]) -> Result<(), String> {
        let out = self.zkcli(servers, command);
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if out.status.success() && !text.contains("Exception") && !text.contains("KeeperErrorCode") {
            Ok(())
        } else {
            let why: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("Exception") || l.contains("KeeperErrorCode"))
                .take(2)
                .collect();
            Err(format!("{:?}: {}", out.status.code(), why.join(" | ")))
        }
    }

    /// The children of `path` as `ls` prints them (`[a, b]`), read through `servers`.
    pub fn children(&self, servers: &str, path: &str) -> Result<Vec<String>, String> {
        let out = self.zkcli(servers, &["ls", path]);
        let text = String::from_utf8_lossy(&out.stdout);
        // An empty list is an answer; no list at all (a server that does not serve) is not.
        match text.lines().rev().find(|l| l.starts_with('[')) {
            Some(listing) if out.status.success() => Ok(listing
                .trim_matches(|c| c == '[' || c == ']')
                .split(", ")
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .collect()),
            _ => {
                let all = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
                let tail: Vec<&str> = all.lines().rev().take(3).collect();
                Err(format!(
                    "zkCli ls {path} through {servers} gave no listing ({:?}): {}",
                    out.status.code(),
                    tail.join(" | ")
                ))
            }
        }
    }

    /// The data of `path` as `get` prints it (its first line), read through `servers`.
    pub fn get(&self, servers: &str, path: &str) -> Option<String> {
        let out = self.zkcli(servers, &["get", path]);
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // zkCli prints connection chatter first; the value is the last non-empty line.
        text.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_string)
    }
}

/// The tutorial's flags, each flag in `flags` replacing the tutorial's of the same name or added
/// after them.
pub fn tutorial_flags_with(flags: &[&str]) -> Vec<String> {
    let name = |flag: &str| flag.split('=').next().unwrap_or(flag).to_string();
    let kept = TUTORIAL_FLAGS.iter().filter(|t| !flags.iter().any(|f| name(f) == name(t)));
    kept.chain(flags).map(|f| f.to_string()).collect()
}

/// A veth from the bridge into the namespace of `pid`, named `name` on the hub side.
fn attach(hub: u32, pid: u32, name: &str, ip: &str) {
    let pid_text = pid.to_string();
    // A deleted pod's veth goes with its network namespace, which the kernel may still be
    // tearing down when the pod is made again: wait for the name to be free (bounded).
    let free = wait_for(STEP_LIMIT, || {
        let out = in_net(hub, &["ip", "link", "show", name]).output().ok()?;
        (!out.status.success()).then_some(())
    });
    assert!(free.is_some(), "{name} still exists {STEP_LIMIT:?} after its pod was deleted");
    run_ok(
        &mut in_net(
            hub,
            &["ip", "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", &pid_text],
        ),
        "create veth",
    );
    run_ok(&mut in_net(hub, &["ip", "link", "set", name, "master", "br0", "up"]), "attach veth");
    let cidr = format!("{ip}/24");
    run_ok(&mut in_net(pid, &["ip", "addr", "add", &cidr, "dev", "eth0"]), "address");
    run_ok(&mut in_net(pid, &["ip", "link", "set", "eth0", "up"]), "eth0 up");
}

/// The kubelet's /etc/hosts for zk-N, plus the other pods' names as cluster DNS gives them.
fn hosts_file(ordinal: usize, size: usize) -> String {
    let mut text = format!(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\tzk-{ordinal}.{DOMAIN}\tzk-{ordinal}\n",
        pod_ip(ordinal)
    );
    text.push_str("# cluster DNS (headless service zk-hs)\n");
    for other in (0..size).filter(|o| *o != ordinal) {
        text.push_str(&format!("{}\tzk-{other}.{DOMAIN}\n", pod_ip(other)));
    }
    text
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for member in &mut self.members {
            if let Some(mut c) = member.container.take() {
                c.end();
            }
        }
        for member in &mut self.members {
            if let Some(mut s) = member.sandbox.take() {
                s.end();
            }
        }
        self.client.end();
        self.hub.end();
    }
}
