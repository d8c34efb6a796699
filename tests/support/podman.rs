//! podman for the image tests (tests/it/image.rs): every container, pod, volume and network a test
//! creates goes through a [`Podman`] guard, which removes them all when it is dropped, also when
//! the test fails (a panic unwinds through the drop), and first prints the last lines each
//! container logged, so a failure shows the runtime's side too.
//!
//! podman runs with the private set-up of tests/scripts/podman-env.sh (`make image-test`
//! exports it); each podman call is bounded by coreutils' `timeout`.

use std::cell::RefCell;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The tag the manifests run and `make image-debian` builds.
pub const IMAGE: &str = "zk-entry:0.1.0";
/// Any single podman call; kube play of one pod and a container stop are the slowest, a few
/// seconds each.
const CALL_LIMIT: &str = "120";
/// How much of each container's log a failure prints.
pub const LOG_TAIL: usize = 20;
/// netavark turns IPv4 forwarding on for a bridge network; the guard puts it back.
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Run podman with `args`, bounded in time.
pub fn podman(args: &[&str]) -> Output {
    assert!(
        std::env::var_os("CONTAINERS_CONF").is_some()
            && std::env::var_os("CONTAINERS_STORAGE_CONF").is_some(),
        "CONTAINERS_CONF and CONTAINERS_STORAGE_CONF are not set: run the image tests with `make image-test` (tests/scripts/podman-env.sh)"
    );
    Command::new("timeout")
        .arg(CALL_LIMIT)
        .arg("podman")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run podman ({e}); `make image-test` installs it"))
}

/// podman's stdout; panics with its stderr when it fails.
pub fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Names of the objects of one kind that podman lists and that start with `prefix`.
pub fn listed(kind: &str, prefix: &str) -> Vec<String> {
    let args: Vec<&str> = match kind {
        "container" => vec!["ps", "--all", "--format", "{{.Names}}"],
        "pod" => vec!["pod", "ps", "--format", "{{.Name}}"],
        "volume" => vec!["volume", "ls", "--format", "{{.Name}}"],
        "network" => vec!["network", "ls", "--format", "{{.Name}}"],
        other => panic!("unknown podman object kind {other}"),
    };
    podman_ok(&args).lines().filter(|n| n.starts_with(prefix)).map(str::to_string).collect()
}

/// The containers, pods, volumes and networks one test created, all named `<prefix>...`.
pub struct Podman {
    pub prefix: String,
    ip_forward: RefCell<Option<String>>,
}

impl Podman {
    /// A guard whose objects are named `zkimg-<test>-<pid>-...`; anything left under that prefix
    /// by an earlier run of the same process id is removed first.
    pub fn new(test: &str) -> Podman {
        let guard = Podman {
            prefix: format!("zkimg-{test}-{}-", std::process::id()),
            ip_forward: RefCell::new(None),
        };
        guard.remove_all();
        guard
    }

    /// `<prefix><name>`
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// An internal podman network (no NAT towards the outside) on `subnet`, which must be inside
    /// 198.18.0.0/24, with DNS between its containers.
    pub fn network(&self, name: &str, subnet: &str, gateway: &str) -> String {
        assert!(
            subnet.starts_with("198.18.0.") && gateway.starts_with("198.18.0."),
            "test networks stay in 198.18.0.0/24"
        );
        let mut saved = self.ip_forward.borrow_mut();
        if saved.is_none() {
            *saved = std::fs::read_to_string(IP_FORWARD).ok();
        }
        let name = self.name(name);
        podman_ok(&["network", "create", "--internal", "--subnet", subnet, "--gateway", gateway, &name]);
        name
    }

    /// The last [`LOG_TAIL`] lines of every container of this guard, headed by its name and state.
    pub fn report(&self) -> String {
        let mut text = String::new();
        for container in listed("container", &self.prefix) {
            let state = podman(&[
                "inspect",
                "--format",
                "exit code {{.State.ExitCode}} (podman says {{.State.Status}})",
                &container,
            ]);
            let logs = podman(&["logs", "--tail", &LOG_TAIL.to_string(), &container]);
            text.push_str(&format!(
                "--- {container}: {}--- last {LOG_TAIL} lines of its log:\n{}{}",
                String::from_utf8_lossy(&state.stdout),
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            ));
        }
        text
    }

    /// Remove every object under the prefix: containers (stopped at once), pods, volumes,
    /// networks; IPv4 forwarding as it was.
    fn remove_all(&self) {
        for container in listed("container", &self.prefix) {
            podman(&["rm", "--force", "--time", "0", "--volumes", &container]);
        }
        for pod in listed("pod", &self.prefix) {
            podman(&["pod", "rm", "--force", "--time", "0", &pod]);
        }
        for volume in listed("volume", &self.prefix) {
            podman(&["volume", "rm", "--force", &volume]);
        }
        for network in listed("network", &self.prefix) {
            podman(&["network", "rm", "--force", &network]);
        }
        if let Some(before) = self.ip_forward.borrow_mut().take() {
            let _ = std::fs::write(IP_FORWARD, before);
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.report());
        }
        self.remove_all();
    }
}

/// Poll `check` every 100 ms until it gives a value or `limit` passes; the elapsed time too.
pub fn poll<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<(T, Duration)> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Some((v, start.elapsed()));
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
