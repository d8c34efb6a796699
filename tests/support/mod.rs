//! Shared harness of the integration tests: run the real binary with a clean environment, run
//! it as a "pod" (its own host name, /etc/hosts and filesystem view through Linux namespaces),
//! snapshot directories to prove nothing changed, start a real ZooKeeper through `zk-entry
//! start`, talk to it over raw TCP, and check Prometheus text with promtool.

pub mod chaos;
pub mod dist;
pub mod dynamic;
pub mod ensemble;
pub mod forward;
pub mod kube;
pub mod monitor;
pub mod pki;
pub mod podman;
pub mod roll;
pub mod rolling;
pub mod turn;
pub mod tutorial;
pub mod writer;
pub mod zk;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test. Cargo names it for tests and benches; an example (the demo) that
/// includes this module gets `zk-entry` from PATH here and passes the real path itself.
pub const BIN: &str = match option_env!("CARGO_BIN_EXE_zk-entry") {
    Some(path) => path,
    None => "zk-entry",
};

/// The tutorial manifest's exact flags (docs/design.md, "The tutorial's scripts and their defects").
pub const TUTORIAL_FLAGS: &[&str] = &[
    "--servers=3",
    "--data_dir=/var/lib/zookeeper/data",
    "--data_log_dir=/var/lib/zookeeper/data/log",
    "--conf_dir=/opt/zookeeper/conf",
    "--client_port=2181",
    "--election_port=3888",
    "--server_port=2888",
    "--tick_time=2000",
    "--init_limit=10",
    "--sync_limit=5",
    "--heap=512M",
    "--max_client_cnxns=60",
    "--snap_retain_count=3",
    "--purge_interval=12",
    "--max_session_timeout=40000",
    "--min_session_timeout=4000",
    "--log_level=INFO",
];

/// The /etc/hosts the kubelet writes for pod zk-N of StatefulSet zk behind service zk-hs.
pub fn kubelet_hosts(ordinal: u32) -> String {
    format!(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n198.18.0.{}\tzk-{ordinal}.zk-hs.default.svc.cluster.local\tzk-{ordinal}\n",
        10 + ordinal
    )
}

/// zk-entry with none of the caller's ZK_*, JVMFLAGS or JAVA_HOME variables, so the tests see
/// only what they set.
pub fn zk_entry() -> Command {
    let mut cmd = Command::new(BIN);
    scrub(&mut cmd);
    cmd
}

pub fn scrub(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("ZK_") || key_text == "JVMFLAGS" || key_text == "JAVA_HOME" {
            cmd.env_remove(&key);
        }
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Tests that build namespaces need root. CI runs as root; anywhere else such a test fails and
/// says why instead of passing without having run.
pub fn require_root() {
    if !nix::unistd::geteuid().is_root() {
        panic!(
            "this test needs root (it builds Linux namespaces with unshare and mounts); run it as root, as CI does, e.g. `sudo make test`"
        );
    }
}

/// A pod's view of the machine: its host name, the /etc/hosts the kubelet would write, and
/// private copies of /var/lib, /var/log and /opt (bind-mounted from a temporary directory), so
/// the tutorial's real paths can be used without touching the host's.
pub struct Pod {
    pub hostname: String,
    pub root: tempfile::TempDir,
    /// Commands run inside the namespaces before zk-entry (test setup, e.g. a full file system).
    pub setup: Vec<String>,
    /// Commands run inside the namespaces after zk-entry; their output follows a marker line.
    pub after: Vec<String>,
    pub network: bool,
    /// A tmpfs of its own on /tmp, as a container has (hides the host's /tmp, where tests keep
    /// fixtures: only for pods that run a JVM).
    pub private_tmp: bool,
}

pub const AFTER_MARKER: &str = "--- after ---";

/// The pod's private directories: where the pod sees each, and its folder in the pod's root.
const PRIVATE_DIRS: [(&str, &str); 3] = [("/var/lib", "var-lib"), ("/var/log", "var-log"), ("/opt", "opt")];

impl Pod {
    pub fn new(hostname: &str, hosts: &str) -> Pod {
        require_root();
        let root = tempfile::tempdir().expect("temporary directory");
        for dir in PRIVATE_DIRS.iter().map(|(_, dir)| *dir).chain(["etc"]) {
            fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        fs::write(root.path().join("etc/hosts"), hosts).unwrap();
        // The resolver must never leave the machine: point it at loopback in the pod.
        fs::write(
            root.path().join("etc/resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        )
        .unwrap();
        Pod {
            hostname: hostname.to_string(),
            root,
            setup: Vec::new(),
            after: Vec::new(),
            network: false,
            private_tmp: false,
        }
    }

    /// The host path behind an absolute path as the pod sees it.
    pub fn host_path(&self, pod_path: &str) -> PathBuf {
        for (mount, dir) in PRIVATE_DIRS {
            if let Some(rest) = pod_path.strip_prefix(mount).and_then(|r| r.strip_prefix('/')) {
                return self.root.path().join(dir).join(rest);
            }
        }
        panic!("{pod_path} is not under a pod-private directory");
    }

    /// A command that runs `program args` inside fresh UTS and mount namespaces (and a network
    /// namespace with nothing but a down loopback, unless `network`), after the pod's set-up.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let r = self.root.path().display().to_string();
        // The pod's own /tmp would hide a program that lives below the host's /tmp (a checkout
        // there): run a copy from the pod's /opt instead.
        let copied;
        let program = if self.private_tmp && program.starts_with("/tmp/") {
            let name = Path::new(program).file_name().expect("program name");
            copy_program(Path::new(program), &self.root.path().join("opt/.under-test").join(name));
            copied = format!("/opt/.under-test/{}", name.to_string_lossy());
            copied.as_str()
        } else {
            program
        };
        let q = |rel: &str| shell_quote(&format!("{r}/{rel}"));
        let mut script = vec![
            "set -e".to_string(),
            format!("hostname {}", shell_quote(&self.hostname)),
            format!("mount --bind {} /etc/hosts", q("etc/hosts")),
            format!("mount --bind {} /etc/resolv.conf", q("etc/resolv.conf")),
        ];
        script.extend(PRIVATE_DIRS.iter().map(|(mount, dir)| format!("mount --bind {} {mount}", q(dir))));
        script.extend(self.setup.iter().cloned());
        if self.private_tmp {
            // JVMs of different pods would otherwise share hsperfdata files in /tmp, named after
            // the PID, which is the same in every pod's PID namespace.
            script.push("mount -t tmpfs -o size=16m tmpfs /tmp".into());
        }
        if self.after.is_empty() {
            // The program takes over this process: killing the child kills it, not a shell.
            script.push("exec \"$@\"".into());
        } else {
            script.push("set +e".into());
            script.push("\"$@\"; rc=$?".into());
            script.push(format!("echo '{AFTER_MARKER}'"));
            script.extend(self.after.iter().cloned());
            script.push("exit $rc".into());
        }
        let mut cmd = Command::new("unshare");
        // A PID namespace as in a pod: what the script execs (zk-entry) is its PID 1, and
        // killing unshare kills that PID 1 and with it everything in the namespace.
        cmd.args(["--uts", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]);
        if !self.network {
            cmd.arg("--net");
        }
        cmd.args(["--", "sh", "-c", &script.join("\n"), "sh", program]);
        cmd.args(args);
        scrub(&mut cmd);
        cmd
    }

    /// The pod's private directories (/var/lib, /var/log, /opt), for "nothing changed" checks.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, String> {
        let mut all = BTreeMap::new();
        for (_, dir) in PRIVATE_DIRS {
            for (path, state) in snapshot(&self.root.path().join(dir)) {
                all.insert(Path::new(dir).join(path), state);
            }
        }
        all
    }

    /// Point the pod's resolver at a name server that never answers: an address behind a veth
    /// pair in the pod's own network namespace that nothing answers for, so queries go nowhere
    /// and a lookup waits out `timeout_s` (resolv.conf's per-query timeout, one attempt). The
    /// address has a fixed neighbour entry: otherwise ARP gives up after about 3 s and the
    /// lookup fails at once from then on ("host unreachable"), sooner than a silent server.
    pub fn silent_name_server(&mut self, timeout_s: u32) {
        assert!(!self.network, "the veth pair needs the pod's own network namespace");
        fs::write(
            self.root.path().join("etc/resolv.conf"),
            format!("nameserver 198.18.0.53\noptions timeout:{timeout_s} attempts:1\n"),
        )
        .unwrap();
        self.setup.extend(
            [
                "ip link set lo up",
                "ip link add zkdns0 type veth peer name zkdns1",
                "ip addr add 198.18.0.1/24 dev zkdns0",
                "ip link set zkdns0 up",
                "ip link set zkdns1 up",
                "ip neigh add 198.18.0.53 lladdr 02:00:00:00:00:53 dev zkdns0 nud permanent",
            ]
            .map(String::from),
        );
    }

    /// Run zk-entry inside the pod and wait for it.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(BIN, args).output().expect("run unshare")
    }
}

/// Everything below `dir`: path → (kind, mode, size, mtime, contents), for "nothing changed"
/// assertions.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(base).unwrap().to_path_buf();
        let contents = if meta.is_file() {
            String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned()
        } else {
            String::new()
        };
        out.insert(
            rel,
            format!(
                "{:?} {:o} {} {}.{} {contents}",
                meta.file_type(),
                meta.permissions().mode(),
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec()
            ),
        );
        if meta.is_dir() {
            walk(base, &path, out);
        }
    }
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Send a four-letter word the way a probe should (4 bytes, half-close, read to EOF) and return
/// what came back, even if the read ends in a reset.
pub fn four_letter(port: u16, word: &str, timeout: Duration) -> std::io::Result<String> {
    let mut stream =
        TcpStream::connect_timeout(&std::net::SocketAddr::from(([127, 0, 0, 1], port)), timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(word.as_bytes())?;
    stream.shutdown(Shutdown::Write)?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if reply.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// Poll `check` every 100 ms until it gives a value or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Wait for `child` to exit, polling every millisecond (exit latency is measured with it);
/// panics after `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "process {} did not exit within {limit:?}", child.id());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A child process that is killed and reaped when the guard goes, also when a test panics.
///
/// Its own children are killed first: for `unshare --pid --fork` that child is the namespace's
/// PID 1, and unshare exits only once the kernel has removed every process of the namespace, so
/// the whole pod is gone when the guard is. (Killing unshare first would leave the namespace's
/// teardown to happen some time later.)
pub struct Reaped(pub Child);

impl Reaped {
    /// End the process tree now; the exit status of the process itself.
    pub fn end(&mut self) -> Option<std::process::ExitStatus> {
        let children = children_of(self.0.id());
        for child in &children {
            // SAFETY: kill has no memory-safety preconditions; these are children of a process
            // this test started and has not reaped, so the PIDs are theirs.
            unsafe { libc::kill(*child as i32, libc::SIGKILL) };
        }
        if !children.is_empty() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = self.0.try_wait() {
                    return Some(status);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let _ = self.0.kill();
        self.0.wait().ok()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        self.end();
    }
}

/// The test suite's child program (examples/pid1_child.rs), which `cargo test` builds next to
/// the test binaries.
pub fn helper() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let path = exe.parent().and_then(Path::parent).expect("target directory").join("examples/pid1_child");
    if !path.is_file() {
        panic!(
            "{} is missing: `cargo test` builds it (a run limited with --test does not); run `cargo build --examples` first",
            path.display()
        );
    }
    path
}

/// `text` as one word for `sh`, whatever it holds (spaces, quotes, `$`): in single quotes, each
/// single quote inside written as `'\''`. For every path put into a shell script.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Words as one command line to paste into a shell: a word of only safe characters as it is,
/// any other quoted by [`shell_quote`]. (The binary has its own for its logs; tests, benches and
/// the demo cannot reach it.)
pub fn command_line<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let safe =
        |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=+,@%".contains(&b));
    words
        .into_iter()
        .map(|w| if safe(w) { w.to_string() } else { shell_quote(w) })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Copy the program `program` to `to` (its directory made if missing, mode 0755), mode 0755.
/// The one way the tests put a program where a process that cannot see the original runs it: a
/// pod whose own /tmp hides a checkout below /tmp, a pod's image directory, a user other than
/// root (see [`reachable_copy`]).
pub fn copy_program(program: &Path, to: &Path) {
    let dir = to.parent().expect("a directory to copy into");
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::copy(program, to).unwrap_or_else(|e| panic!("copy {} to {}: {e}", program.display(), to.display()));
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A copy of a program that every user can reach and run, removed with this value.
///
/// The checkout, and so `target/`, may sit anywhere: below a 0700 home directory (root's), in a
/// path with spaces. A program that zk-entry runs after switching to another user (Debian's
/// `zookeeper`, whatever uid the package manager gave it; 1000; a uid with no entry) cannot
/// execute a file there (exit 126), so such tests run this copy instead.
pub struct Reachable {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Reachable {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path as text, for command lines.
    pub fn text(&self) -> String {
        self.path.display().to_string()
    }
}

/// Copy `program` into a new temporary directory (mode 0755) that every user can traverse to:
/// each directory above it must let others search it, or this panics naming the one that does
/// not (set TMPDIR to a directory that does).
pub fn reachable_copy(program: &Path) -> Reachable {
    let dir = tempfile::Builder::new().prefix("zk-entry-reachable").tempdir().expect("temporary directory");
    let path = dir.path().join(program.file_name().expect("program name"));
    copy_program(program, &path);
    let real = fs::canonicalize(dir.path()).unwrap();
    for ancestor in real.ancestors().skip(1) {
        let mode = fs::metadata(ancestor).unwrap().permissions().mode();
        assert!(
            mode & 0o001 != 0,
            "{} (mode {:04o}) does not let other users through, so they cannot run {}: set TMPDIR to a directory they can reach",
            ancestor.display(),
            mode & 0o7777,
            path.display()
        );
    }
    Reachable { path, _dir: dir }
}

/// zk-entry as PID 1 of a new PID namespace, as a container runtime starts it:
/// `unshare --pid --fork --kill-child --mount-proc zk-entry ARGS`. Killing the returned process
/// (unshare) kills zk-entry and so the whole namespace.
pub fn as_pid1(args: &[&str]) -> Command {
    require_root();
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--kill-child", "--mount-proc", "--", BIN]).args(args);
    scrub(&mut cmd);
    cmd
}

/// The children of process `pid` (as the host sees them), of all its threads: a test runs in a
/// thread of its own, and /proc lists children under the thread that started them.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        let text = fs::read_to_string(task.path().join("children")).unwrap_or_default();
        children.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
    children
}

/// The one child of `pid`, once it exists (e.g. zk-entry under unshare, the program under
/// zk-entry).
pub fn only_child(pid: u32, limit: Duration) -> u32 {
    wait_for(limit, || match children_of(pid).as_slice() {
        [one] => Some(*one),
        _ => None,
    })
    .unwrap_or_else(|| panic!("process {pid} has no single child after {limit:?}: {:?}", children_of(pid)))
}

/// A field of /proc/PID/status (e.g. "State", "PPid"), trimmed.
pub fn proc_status(pid: u32, field: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':').map(|v| v.trim().to_string()))
}

/// Zombies among the children of `pid`.
pub fn zombie_children(pid: u32) -> usize {
    children_of(pid)
        .into_iter()
        .filter(|c| proc_status(*c, "State").is_some_and(|s| s.starts_with('Z')))
        .count()
}

/// Send signal `sig` to `pid`.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions; pid is a process this test started.
    let rc = unsafe { libc::kill(pid as i32, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}): {}", std::io::Error::last_os_error());
}

/// The Debian ZooKeeper package the real-server tests run; `make test` installs it.
pub fn require_zookeeper() {
    if !Path::new("/usr/share/java/zookeeper.jar").is_file() {
        panic!(
            "Debian's zookeeper package is not installed (no /usr/share/java/zookeeper.jar); `make test` installs it with apt-get"
        );
    }
}

/// How long Debian's ZooKeeper may take to serve after `zk-entry start` (a JVM on a busy 2-core
/// machine takes a few seconds).
pub const SERVER_START_LIMIT: Duration = Duration::from_secs(60);
/// How long the raw helper waits for one four-letter exchange with a real server.
pub const RAW_IO_LIMIT: Duration = Duration::from_secs(2);

/// A real standalone ZooKeeper (Debian's package) run by `zk-entry start` as pod zk-0, listening
/// on a free loopback port; killed, with its pod's directories removed, when dropped.
pub struct Server {
    pub port: u16,
    /// ZooKeeper's log (the JVM's stdout).
    pub stdout: PathBuf,
    /// zk-entry's own lines.
    pub stderr: PathBuf,
    pub process: Reaped,
    /// Held for its directories, which go when the server is dropped.
    _pod: Pod,
}

impl Server {
    /// Start with `--heap=256M --purge_interval=12`, clientPortAddress=127.0.0.1 and `extra`
    /// flags; return once `srvr` reports a Mode (imok alone comes before the server serves).
    pub fn start(extra: &[&str]) -> Server {
        Server::start_until(extra, "srvr", |reply| reply.contains("Mode: "))
    }

    /// Like [`Server::start`], but return once the answer to `word` passes `up` (a server that
    /// cannot serve, such as a lone member of an ensemble, still answers `ruok`).
    pub fn start_until(extra: &[&str], word: &str, up: fn(&str) -> bool) -> Server {
        Server::start_with_setup(&[], extra, word, up)
    }

    /// Like [`Server::start_until`], with `setup` run in the pod first, while it still sees the
    /// machine's /usr/share/java: the pod then runs the ZooKeeper of the run's suite
    /// (support/dist.rs), whose jars are bound over the machine's.
    pub fn start_with_setup(setup: &[&str], extra: &[&str], word: &str, up: fn(&str) -> bool) -> Server {
        Server::start_on(dist::current(), setup, extra, word, up)
    }

    /// Like [`Server::start_with_setup`], on `image`'s ZooKeeper rather than the run's.
    pub fn start_on(
        image: std::sync::Arc<dist::Dist>,
        setup: &[&str],
        extra: &[&str],
        word: &str,
        up: fn(&str) -> bool,
    ) -> Server {
        require_zookeeper();
        let mut pod = Pod::new("zk-0", &kubelet_hosts(0));
        pod.network = true;
        pod.private_tmp = true;
        pod.setup.extend(setup.iter().map(|line| line.to_string()));
        pod.setup.extend(image.mounts());
        let port = free_port();
        let stdout = pod.root.path().join("zookeeper.out");
        let stderr = pod.root.path().join("zk-entry.err");
        let port_flag = format!("--client_port={port}");
        let args = [
            "start",
            &port_flag,
            "--heap=256M",
            "--purge_interval=12",
            "--set",
            "clientPortAddress=127.0.0.1",
        ];
        let args: Vec<&str> = args.iter().chain(extra).copied().collect();
        let child = pod
            .command(BIN, &args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).unwrap())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start zk-entry");
        let mut process = Reaped(child);
        let ready = wait_for(SERVER_START_LIMIT, || {
            if let Ok(Some(status)) = process.0.try_wait() {
                panic!("zk-entry ended with {status}: {}", fs::read_to_string(&stderr).unwrap_or_default());
            }
            four_letter(port, word, RAW_IO_LIMIT).ok().filter(|r| up(r))
        });
        assert!(
            ready.is_some(),
            "no expected answer to {word} within {SERVER_START_LIMIT:?}; zk-entry said: {}",
            fs::read_to_string(&stderr).unwrap()
        );
        // The version matrix proves nothing if the bind did not take.
        let mntr = four_letter(port, "mntr", RAW_IO_LIMIT).unwrap_or_default();
        if let Some(served) = mntr.lines().find_map(|l| l.strip_prefix("zk_version\t")) {
            assert!(
                image.is_served_as(served),
                "the server is ZooKeeper {served}, not {}'s {}",
                image.suite,
                image.version
            );
        }
        Server { port, stdout, stderr, process, _pod: pod }
    }

    /// Stop the server (the whole pod: nothing of it is left when this returns) and return
    /// everything it logged.
    pub fn stop(mut self) -> String {
        self.process.end();
        fs::read_to_string(&self.stdout).unwrap()
    }
}

/// promtool's lint findings that come from ZooKeeper's own metric names (`zk_znode_count`,
/// `zk_*_time_ms`): renaming them would break every dashboard built on mntr, so they are
/// accepted. Anything else promtool says fails the check.
const ACCEPTED_LINTS: &[&str] = &[
    "non-histogram and non-summary metrics should not have \"_count\" suffix",
    "non-histogram and non-summary metrics should not have \"_sum\" suffix",
    "metric names should not contain abbreviated units",
];

/// Check Prometheus text exposition with `promtool check metrics` (Debian's prometheus
/// package; `make test` installs it): a parse error, or a lint finding outside
/// [`ACCEPTED_LINTS`], is an error carrying promtool's words.
pub fn promtool_check(text: &str) -> Result<(), String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run promtool ({e}); `make test` installs Debian's prometheus package")
        });
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let unexpected: Vec<&str> = said
        .lines()
        .filter(|l| !l.trim().is_empty() && !ACCEPTED_LINTS.iter().any(|a| l.ends_with(a)))
        .collect();
    // 0: clean; 3: lint findings only (all checked above); anything else: a parse failure.
    match out.status.code() {
        Some(0 | 3) if unexpected.is_empty() => Ok(()),
        _ => Err(format!("promtool check metrics: {}: {}", out.status, unexpected.join(" | "))),
    }
}

// The test kit: one assertion for each shape of outcome the tests expect, so each shape is
// checked the same way everywhere.

/// What a finished program left, as the assertions below read it.
pub trait Finished {
    fn exit_code(&self) -> Option<i32>;
    fn stdout_text(&self) -> String;
    fn stderr_text(&self) -> String;
}

impl Finished for Output {
    fn exit_code(&self) -> Option<i32> {
        self.status.code()
    }
    fn stdout_text(&self) -> String {
        stdout(self)
    }
    fn stderr_text(&self) -> String {
        stderr(self)
    }
}

/// `text` contains every one of `needles`; `what` names the case in the failure.
pub fn assert_contains_all(what: &str, text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{what}: {needle:?} not in {:?}", text.trim_end());
    }
}

/// A refusal as zk-entry writes one: exit status `expected`, and on stderr exactly one line,
/// which starts with `zk-entry: ` and contains every one of `needles`. For outcomes whose stdout
/// is not zk-entry's alone; otherwise [`assert_refused`].
pub fn assert_one_line(what: &str, code: Option<i32>, stderr: &str, expected: i32, needles: &[&str]) {
    assert_eq!(code, Some(expected), "{what}: exit status; stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{what}: not one line on stderr: {stderr:?}");
    assert!(stderr.starts_with("zk-entry: "), "{what}: {stderr:?}");
    assert_contains_all(what, stderr, needles);
}

/// [`assert_one_line`], and nothing on stdout.
pub fn assert_refused(what: &str, run: &impl Finished, expected: i32, needles: &[&str]) {
    assert_one_line(what, run.exit_code(), &run.stderr_text(), expected, needles);
    assert_eq!(run.stdout_text(), "", "{what}: stdout not empty");
}

/// A usage error: exit 2, nothing on stdout, one `zk-entry: ` line on stderr with every needle.
pub fn assert_usage_error(what: &str, run: &impl Finished, needles: &[&str]) {
    assert_refused(what, run, 2, needles);
}

/// A refusal whose whole message is known: exit status `expected`, nothing on stdout, and
/// stderr exactly `line` and a newline (so a mangled message fails, not only a missing word).
pub fn assert_refused_exactly(what: &str, run: &impl Finished, expected: i32, line: &str) {
    let stderr = run.stderr_text();
    assert_eq!(run.exit_code(), Some(expected), "{what}: exit status; stderr: {stderr}");
    assert_eq!(stderr, format!("{line}\n"), "{what}: stderr");
    assert_eq!(run.stdout_text(), "", "{what}: stdout not empty");
}

/// A probe that passed: exit 0, and nothing on stdout or stderr.
pub fn assert_quiet_success(what: &str, run: &impl Finished) {
    assert_eq!(run.exit_code(), Some(0), "{what}: exit status; stderr: {}", run.stderr_text());
    assert_eq!(run.stdout_text(), "", "{what}: a healthy probe prints nothing");
    assert_eq!(run.stderr_text(), "", "{what}: a healthy probe prints nothing");
}
