//! The container image recipe (`docker/Dockerfile`) and the Kubernetes manifests
//! (`docker/k8s/*.yaml`) checked against the binary they ship, so that neither can drift from the
//! CLI. Neither is built nor applied here (no Docker engine, no cluster); instead:
//!
//! - every zk-entry command line in the manifests (the container's command, every probe) runs
//!   on the real binary in a simulated container: a "pod" (tests/support's `Pod`: host name
//!   `zk-N`, the kubelet's /etc/hosts, no network) laid out as the image is (zk-entry and its
//!   links in /usr/local/bin), as uid 1000 with gid 1000 and no new privileges, where only the
//!   manifest's volumes are writable (everything else is root's, as a read-only root file system
//!   would be). `start` must prepare everything and run its child (`/bin/true` stands in for
//!   java); `ready` and `metrics` must fail for the reason a probe without a server fails (exit
//!   1, their own message), never with a usage error (exit 2);
//! - the facts the manifests share must agree: ports, `--servers` and replicas, probe modes and
//!   timeouts, the security context, volumes for every directory zk-entry writes, the heap rule,
//!   anti-affinity per variant, the image tag;
//! - the Dockerfile's stages, its musl build, the sources it copies (cargo checks them in a copy),
//!   its checksum step, user, ports and entrypoint, and its links against the binary's multi-call
//!   names (from `ALIASES` in src/cli.rs, and from how the binary behaves under each name).
//!
//! And zookeeper-standalone.yaml runs for real: Debian's ZooKeeper started by its command as uid
//! 1000 on that read-only layout, its probes passing, SIGTERM ending it with exit 0.
//!
//! Negative controls show the checks fail on a misspelled flag, a shell, a missing volume, or an
//! unknown link name.
//! The pod tests need root (CI runs as root); without it they fail and say so.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;
use yaml_rust2::{Yaml, YamlLoader};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The user and group the image and the manifests run ZooKeeper as.
const UID: i64 = 1000;

/// What the container runtime needs at least, within an exec probe's `timeoutSeconds`, besides
/// zk-entry's own `--timeout` (README, "Probe settings").
const PROBE_START_MARGIN_MS: u64 = 200;

fn repo_file(rel: &str) -> String {
    fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// What the binary says about itself

/// The multi-call names and the subcommand each selects, from `ALIASES` in src/cli.rs: the one
/// list the binary dispatches on.
fn multi_call_names() -> BTreeMap<String, String> {
    let src = repo_file("src/cli.rs");
    let at = src.find("const ALIASES").expect("const ALIASES in src/cli.rs");
    let body = &src[at..];
    let body = &body[..body.find("];").expect("end of ALIASES")];
    let quoted: Vec<&str> = body.split('"').skip(1).step_by(2).collect();
    assert!(!quoted.is_empty() && quoted.len().is_multiple_of(2), "ALIASES not understood: {body}");
    quoted.chunks(2).map(|pair| (pair[0].to_string(), pair[1].to_string())).collect()
}

/// The subcommands `zk-entry --help` lists.
fn subcommands() -> BTreeSet<String> {
    let out = zk_entry().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let section = text.split("Commands:").nth(1).expect("a Commands: section");
    section
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// One option of a subcommand, as its `--help` describes it.
#[derive(Debug, Clone)]
struct FlagHelp {
    takes_value: bool,
    default: Option<String>,
}

/// Options (`--name`, without dashes) and positional arguments (`[NAME]`) of `zk-entry SUB`,
/// read from its `--help`, so that defaults are the binary's, not a copy.
fn help_flags(sub: &str) -> BTreeMap<String, FlagHelp> {
    let out = zk_entry().args([sub, "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut flags = BTreeMap::new();
    for line in stdout(&out).lines() {
        let t = line.trim_start();
        let t = t.strip_prefix("-h, ").or_else(|| t.strip_prefix("-V, ")).unwrap_or(t);
        let default = line
            .rfind("[default: ")
            .map(|i| line[i + "[default: ".len()..].split(']').next().unwrap_or("").to_string());
        if let Some(rest) = t.strip_prefix("--") {
            let name = rest.split_whitespace().next().unwrap_or("").to_string();
            let takes_value = rest[name.len()..].trim_start().starts_with('<');
            flags.insert(name, FlagHelp { takes_value, default });
        } else if let Some(rest) = t.strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or("").trim_end_matches("...").to_string();
            flags.insert(name, FlagHelp { takes_value: true, default });
        }
    }
    assert!(flags.len() > 3, "no options found in `zk-entry {sub} --help`");
    flags
}

fn default_of(flags: &BTreeMap<String, FlagHelp>, name: &str) -> String {
    flags
        .get(name)
        .and_then(|f| f.default.clone())
        .unwrap_or_else(|| panic!("--help gives no default for {name}"))
}

// ---------------------------------------------------------------------------------------------
// Command lines: what a manifest or the Dockerfile passes to zk-entry

/// A command line that runs zk-entry (directly or through a multi-call name), taken apart.
#[derive(Debug, Clone)]
struct ZkCommand {
    subcommand: String,
    /// `--name=value` (or `--name` for a switch, value ""), by name without dashes.
    flags: BTreeMap<String, String>,
    positional: Vec<String>,
}

/// The basename of a command line's program.
fn program(argv: &[String]) -> &str {
    argv.first().map(|p| p.rsplit('/').next().unwrap_or(p)).unwrap_or("")
}

/// Take `argv` apart if it runs zk-entry; None if it runs something else.
fn zk_command(argv: &[String]) -> Option<ZkCommand> {
    let names = multi_call_names();
    let (subcommand, rest) = match program(argv) {
        "zk-entry" => (argv.get(1)?.clone(), &argv[2..]),
        other => (names.get(other)?.clone(), &argv[1..]),
    };
    let mut flags = BTreeMap::new();
    let mut positional = Vec::new();
    for arg in rest {
        match arg.strip_prefix("--") {
            Some(flag) => {
                let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
                flags.insert(name.to_string(), value.to_string());
            }
            None => positional.push(arg.clone()),
        }
    }
    Some(ZkCommand { subcommand, flags, positional })
}

/// Statically checkable mistakes of a command line: a shell, a flag the subcommand does not
/// have, a value flag without `=value` (the one spelling the manifests use, so that this reader
/// stays simple), a switch with a value.
fn static_problems(argv: &[String]) -> Vec<String> {
    if ["sh", "bash", "dash", "ash"].contains(&program(argv)) {
        return vec![format!("{argv:?} runs a shell; run zk-entry directly (no sh -c)")];
    }
    let Some(cmd) = zk_command(argv) else {
        return vec![format!("{argv:?} does not run zk-entry")];
    };
    if !subcommands().contains(&cmd.subcommand) {
        return vec![format!("{argv:?}: zk-entry has no subcommand {:?}", cmd.subcommand)];
    }
    let help = help_flags(&cmd.subcommand);
    let mut problems = Vec::new();
    for (name, value) in &cmd.flags {
        match help.get(name) {
            None => problems.push(format!("{argv:?}: zk-entry {} has no --{name}", cmd.subcommand)),
            Some(f) if f.takes_value && value.is_empty() => {
                problems.push(format!("{argv:?}: write --{name}=VALUE"))
            }
            Some(f) if !f.takes_value && !value.is_empty() => {
                problems.push(format!("{argv:?}: --{name} is a switch and takes no value"))
            }
            Some(_) => {}
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// The simulated container

/// A container as the image and a manifest make it, for running one command line.
struct Container {
    hostname: String,
    hosts: String,
    /// Absolute paths that are volumes: writable by gid 1000 (fsGroup), as an emptyDir or a
    /// PersistentVolumeClaim is. Everything else the pod sees is root's.
    volumes: Vec<String>,
    /// The multi-call names linked to zk-entry in /usr/local/bin (the Dockerfile's links).
    links: Vec<String>,
    env: Vec<(String, String)>,
    /// Files a Secret volume puts into the pod: path, contents (mode 0440, group 1000).
    secret_files: Vec<(String, String)>,
    /// Bring the pod's loopback up (for a real server and its probes); otherwise the pod has no
    /// working network at all.
    loopback: bool,
    /// What stands in for java; None runs the real one.
    java: Option<String>,
    /// Secret volumes: where the pod sees each, and the host directory with its files.
    secrets: Vec<(String, tempfile::TempDir)>,
    /// How long the command may run before the test fails.
    limit: Duration,
}

/// How a command line ended in the container.
struct Ran {
    code: Option<i32>,
    stderr: String,
}

/// Directories of a pod's view that are private to it (see tests/support's `Pod`), where a
/// volume can be mounted without touching the host.
fn mountable(path: &str) -> bool {
    let private = path == "/tmp" || ["/var/lib/", "/var/log/", "/opt/"].iter().any(|p| path.starts_with(p));
    private && !path.contains('\'') && !path.contains("..")
}

impl Container {
    /// The pod `<statefulset>-<ordinal>` of a StatefulSet whose governing Service is `service`, in
    /// namespace default: its host name and the /etc/hosts the kubelet writes for it.
    fn pod(statefulset: &str, service: &str, ordinal: u32) -> Container {
        let name = format!("{statefulset}-{ordinal}");
        let hosts = format!(
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n198.18.0.{}\t{name}.{service}.default.svc.cluster.local\t{name}\n",
            10 + ordinal
        );
        Container {
            hostname: name,
            hosts,
            volumes: Vec::new(),
            links: dockerfile_links(),
            env: Vec::new(),
            secret_files: Vec::new(),
            loopback: false,
            java: Some("/bin/true".into()),
            secrets: Vec::new(),
            limit: Duration::from_secs(60),
        }
    }

    /// Run `argv` as the image's user, with PATH finding zk-entry where the image has it and
    /// /bin/true standing in for java (a `--java` in `argv` still wins, as flags do).
    fn run(&self, argv: &[String]) -> Result<Ran, String> {
        let mut pod = Pod::new(&self.hostname, &self.hosts);
        // The image's /usr/local/bin: zk-entry (this build, bind-mounted) and its links.
        pod.setup.push("mount -t tmpfs -o size=1m,mode=0755 tmpfs /usr/local/bin".into());
        pod.setup.push("touch /usr/local/bin/zk-entry".into());
        // A bind mount: uid 1000 reaches it through /usr/local/bin, wherever the checkout is.
        pod.setup.push(format!("mount --bind {} /usr/local/bin/zk-entry", shell_quote(BIN)));
        for link in &self.links {
            pod.setup.push(format!("ln -s zk-entry '/usr/local/bin/{link}'"));
        }
        // Volumes, parents first. Without a volume on /tmp, /tmp is read-only like the rest.
        let mut volumes = self.volumes.clone();
        volumes.sort_by_key(|v| v.len());
        for volume in &volumes {
            if !mountable(volume) {
                return Err(format!(
                    "volume {volume} is outside what the test pod can mount (/tmp, /var/lib, /var/log, /opt)"
                ));
            }
            pod.setup.push(format!(
                "mkdir -p '{volume}' && mount -t tmpfs -o size=64m,mode=2775,gid={UID} tmpfs '{volume}'"
            ));
        }
        // Secret volumes: their files, in the pod's private directories (the source may be under
        // /tmp, which a /tmp volume would hide from a mount made inside the pod).
        for (path, host) in &self.secrets {
            if !mountable(path) || path == "/tmp" || path.starts_with("/tmp/") {
                return Err(format!("secret volume {path} is outside what the test pod can hold"));
            }
            let into = pod.host_path(path);
            fs::create_dir_all(&into).unwrap();
            for entry in fs::read_dir(host.path()).unwrap().flatten() {
                // As the kubelet writes a Secret for `defaultMode: 0440` and fsGroup 1000.
                let file = into.join(entry.file_name());
                fs::copy(entry.path(), &file).unwrap();
                std::os::unix::fs::chown(&file, Some(0), Some(UID as u32)).unwrap();
                fs::set_permissions(&file, fs::Permissions::from_mode(0o440)).unwrap();
            }
        }
        for (path, contents) in &self.secret_files {
            pod.setup.push(format!(
                "printf '%s\\n' {} > {p} && chgrp {UID} {p} && chmod 0440 {p}",
                shell_quote(contents),
                p = shell_quote(path)
            ));
        }
        if !volumes.iter().any(|v| v == "/tmp") {
            pod.setup.push("mount -t tmpfs -o size=1m,mode=0755 tmpfs /tmp".into());
        }
        if self.loopback {
            pod.setup.push("ip link set lo up".into());
        }
        let uid = format!("--reuid={UID}");
        let gid = format!("--regid={UID}");
        let groups = format!("--groups={UID}");
        let mut args = vec![uid.as_str(), gid.as_str(), groups.as_str(), "--no-new-privs", "--"];
        args.extend(argv.iter().map(String::as_str));
        let dir = tempfile::tempdir().unwrap();
        let err_path = dir.path().join("stderr");
        let mut cmd: Command = pod.command("setpriv", &args);
        cmd.env("PATH", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        if let Some(java) = &self.java {
            cmd.env("ZK_JAVA", java);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&err_path).unwrap());
        // Bounded: a hung command fails the test, and the guard kills the whole pod.
        let mut child = Reaped(cmd.spawn().expect("run unshare"));
        let status = wait_exit(&mut child.0, self.limit);
        Ok(Ran { code: status.code(), stderr: fs::read_to_string(err_path).unwrap_or_default() })
    }

    /// Run a zk-entry command line and judge the outcome: `start` must succeed (its child is
    /// /bin/true); a probe must fail as a probe without a server does (exit 1 and its own
    /// message), which proves that every flag was accepted: a usage error exits 2.
    fn check(&self, argv: &[String]) -> Result<Ran, String> {
        let problems = static_problems(argv);
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let cmd = zk_command(argv).expect("checked above");
        let ran = self.run(argv)?;
        let said =
            || format!("{argv:?} as pod {}: exit {:?}: {}", self.hostname, ran.code, ran.stderr.trim_end());
        match cmd.subcommand.as_str() {
            "start" if ran.code == Some(0) => Ok(ran),
            // The preStop hook: without a server it has nothing to do, and says so.
            "leave" if ran.code == Some(0) && ran.stderr.contains("nothing to do") => Ok(ran),
            "ready" | "metrics" if ran.code == Some(1) => {
                let own = format!("zk-entry: {}", cmd.subcommand);
                if ran.stderr.lines().any(|l| l.starts_with(&own)) {
                    Ok(ran)
                } else {
                    Err(format!("{}; expected a line starting with {own:?}", said()))
                }
            }
            _ => Err(said()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The manifests

struct Manifest {
    file: String,
    docs: Vec<Yaml>,
}

impl Manifest {
    fn all() -> Vec<Manifest> {
        let dir = Path::new(ROOT).join("docker/k8s");
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        let all: Vec<Manifest> = files
            .iter()
            .map(|path| {
                let text = fs::read_to_string(path).unwrap();
                let docs = YamlLoader::load_from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
                let docs = docs.into_iter().filter(|d| !d.is_null()).collect();
                Manifest { file: path.file_name().unwrap().to_string_lossy().into_owned(), docs }
            })
            .collect();
        let names: Vec<&str> = all.iter().map(|m| m.file.as_str()).collect();
        assert_eq!(
            names,
            [
                "zookeeper-dev.yaml",
                "zookeeper-scalable.yaml",
                "zookeeper-standalone.yaml",
                "zookeeper-tls.yaml",
                "zookeeper.yaml"
            ]
        );
        all
    }

    fn of_kind(&self, kind: &str) -> Vec<&Yaml> {
        self.docs.iter().filter(|d| d["kind"].as_str() == Some(kind)).collect()
    }

    fn statefulset(&self) -> &Yaml {
        let all = self.of_kind("StatefulSet");
        assert_eq!(all.len(), 1, "{}: one StatefulSet expected", self.file);
        all[0]
    }

    fn pod_spec(&self) -> &Yaml {
        &self.statefulset()["spec"]["template"]["spec"]
    }

    fn container(&self) -> &Yaml {
        let containers = self.pod_spec()["containers"].as_vec().expect("containers");
        assert_eq!(containers.len(), 1, "{}: one container expected", self.file);
        &containers[0]
    }

    fn replicas(&self) -> i64 {
        self.statefulset()["spec"]["replicas"].as_i64().expect("replicas")
    }

    fn service(&self, name: &str) -> Option<&Yaml> {
        self.of_kind("Service").into_iter().find(|s| s["metadata"]["name"].as_str() == Some(name))
    }

    /// The container's command line: `command` holds all of it (no `args`), as in the tutorial.
    fn start_argv(&self) -> Vec<String> {
        strings(&self.container()["command"]).unwrap_or_else(|| panic!("{}: command", self.file))
    }

    /// The mount paths of Secret volumes, read-only.
    fn secret_mount_paths(&self) -> Vec<String> {
        let secrets: BTreeSet<&str> = self.pod_spec()["volumes"]
            .as_vec()
            .map(|v| {
                v.iter().filter(|v| !v["secret"].is_badvalue()).filter_map(|v| v["name"].as_str()).collect()
            })
            .unwrap_or_default();
        self.container()["volumeMounts"]
            .as_vec()
            .map(|v| {
                v.iter()
                    .filter(|m| secrets.contains(m["name"].as_str().unwrap_or("")))
                    .filter(|m| m["readOnly"].as_bool() == Some(true))
                    .filter_map(|m| m["mountPath"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// True for a manifest of dynamic membership (`start --reconfig`).
    fn is_dynamic(&self) -> bool {
        self.start_argv().iter().any(|a| a == "--reconfig")
    }

    /// Where each volume is mounted, and whether it is a volumeClaimTemplate (persistent).
    fn mounts(&self) -> Vec<(String, bool)> {
        let claims: BTreeSet<&str> = self.statefulset()["spec"]["volumeClaimTemplates"]
            .as_vec()
            .map(|v| v.iter().filter_map(|c| c["metadata"]["name"].as_str()).collect())
            .unwrap_or_default();
        self.container()["volumeMounts"]
            .as_vec()
            .map(|v| {
                v.iter()
                    .map(|m| {
                        let path = m["mountPath"].as_str().expect("mountPath").to_string();
                        (path, claims.contains(m["name"].as_str().unwrap_or("")))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The mounts of Secret volumes: (mountPath, secretName).
    fn secret_mounts(&self) -> Vec<(String, String)> {
        let volumes = self.pod_spec()["volumes"].as_vec().cloned().unwrap_or_default();
        let mounts = self.container()["volumeMounts"].as_vec().cloned().unwrap_or_default();
        mounts
            .iter()
            .filter_map(|m| {
                let volume = volumes.iter().find(|v| v["name"] == m["name"])?;
                let secret = volume["secret"]["secretName"].as_str()?;
                Some((m["mountPath"].as_str()?.to_string(), secret.to_string()))
            })
            .collect()
    }

    /// The simulated container for pod `ordinal`, with this manifest's volumes and env.
    fn container_for(&self, ordinal: u32) -> Container {
        let sts = self.statefulset();
        let name = sts["metadata"]["name"].as_str().expect("StatefulSet name");
        let service = sts["spec"]["serviceName"].as_str().expect("serviceName");
        let mut c = Container::pod(name, service, ordinal);
        // The Secret volume --tls_dir names holds what cert-manager writes for this StatefulSet's
        // pods; any other Secret holds one key, `password` (the manifests' super user).
        let tls_dir = self.start_argv().iter().find_map(|a| a.strip_prefix("--tls_dir=").map(str::to_string));
        let (tls, others): (Vec<_>, Vec<_>) =
            self.secret_mounts().into_iter().partition(|(path, _)| Some(path) == tls_dir.as_ref());
        c.volumes =
            self.mounts().into_iter().map(|(p, _)| p).filter(|p| !tls.iter().any(|(s, _)| s == p)).collect();
        c.secrets = tls.into_iter().map(|(path, _)| (path, test_tls_secret(service))).collect();
        if let Some(env) = self.container()["env"].as_vec() {
            for var in env {
                let name = var["name"].as_str().expect("env name").to_string();
                let value = var["value"].as_str().expect("only env values are supported").to_string();
                c.env.push((name, value));
            }
        }
        for (mount, _) in others {
            c.secret_files.push((format!("{mount}/password"), "test password".into()));
        }
        c
    }
}

/// A YAML sequence of strings.
fn strings(node: &Yaml) -> Option<Vec<String>> {
    node.as_vec()?.iter().map(|s| s.as_str().map(str::to_string)).collect()
}

/// Every command line anywhere in `node` (a sequence of strings whose program is zk-entry, one
/// of its multi-call names, or a shell), with its path in the document.
fn command_lines(node: &Yaml, path: &str, out: &mut Vec<(String, Vec<String>)>) {
    let names = multi_call_names();
    match node {
        Yaml::Array(items) => {
            if let Some(argv) = strings(node) {
                let p = program(&argv);
                if p == "zk-entry" || names.contains_key(p) || ["sh", "bash", "dash", "ash"].contains(&p) {
                    out.push((path.to_string(), argv));
                    return;
                }
            }
            for (i, item) in items.iter().enumerate() {
                command_lines(item, &format!("{path}[{i}]"), out);
            }
        }
        Yaml::Hash(map) => {
            for (k, v) in map {
                command_lines(v, &format!("{path}.{}", k.as_str().unwrap_or("?")), out);
            }
        }
        _ => {}
    }
}

fn manifest_command_lines(m: &Manifest) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (i, doc) in m.docs.iter().enumerate() {
        command_lines(doc, &format!("{}#{i}", m.file), &mut out);
    }
    out
}

/// Milliseconds of a `--timeout` value: `800`, `800ms`, `1s`, `1.5s`.
fn millis(text: &str) -> u64 {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().unwrap_or_else(|_| panic!("duration {text}"));
    }
    if let Some(s) = text.strip_suffix('s') {
        let s: f64 = s.parse().unwrap_or_else(|_| panic!("duration {text}"));
        return (s * 1000.0).round() as u64;
    }
    text.parse().unwrap_or_else(|_| panic!("duration {text}"))
}

/// Bytes of a JVM size (`512M`, `2G`: binary units, as -Xmx reads them).
fn heap_bytes(text: &str) -> u64 {
    let (digits, unit) = text.split_at(text.len() - 1);
    let n: u64 = digits.parse().unwrap_or_else(|_| panic!("heap {text}"));
    n * match unit {
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => panic!("heap {text}"),
    }
}

/// Bytes of a Kubernetes memory quantity (`1Gi`, `1536Mi`, `2G`).
fn quantity_bytes(text: &str) -> u64 {
    let units: [(&str, u64); 6] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("k", 1000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
    ];
    for (suffix, factor) in units {
        if let Some(n) = text.strip_suffix(suffix) {
            return n.parse::<u64>().unwrap_or_else(|_| panic!("quantity {text}")) * factor;
        }
    }
    text.parse().unwrap_or_else(|_| panic!("quantity {text}"))
}

/// The port number a container port of this name has.
fn container_port(c: &Yaml, name: &str) -> Option<i64> {
    c["ports"].as_vec()?.iter().find(|p| p["name"].as_str() == Some(name))?["containerPort"].as_i64()
}

fn service_port(s: &Yaml, name: &str) -> Option<i64> {
    s["spec"]["ports"].as_vec()?.iter().find(|p| p["name"].as_str() == Some(name))?["port"].as_i64()
}

/// `path` is `dir` or below it.
fn under(path: &str, dir: &str) -> bool {
    path == dir || path.starts_with(&format!("{}/", dir.trim_end_matches('/')))
}

/// Everything one manifest must get right on its own and in agreement with zookeeper.yaml.
fn manifest_problems(m: &Manifest, reference: &Manifest) -> Vec<String> {
    let mut p = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            p.push(format!("{}: {what}", m.file));
        }
    };
    let start_help = help_flags("start");
    let ready_help = help_flags("ready");
    let sts = m.statefulset();
    let spec = &sts["spec"];
    let pod = m.pod_spec();
    let c = m.container();
    let replicas = m.replicas();

    // The command: zk-entry start, whole, with flags it has.
    let argv = m.start_argv();
    for problem in static_problems(&argv) {
        check(false, problem);
    }
    check(c["args"].is_badvalue(), "the whole command line belongs in command (no args)".into());
    let start = zk_command(&argv).expect("the container runs zk-entry");
    check(start.subcommand == "start", format!("the container runs zk-entry {}", start.subcommand));
    let flag = |name: &str| start.flags.get(name).cloned().unwrap_or_else(|| default_of(&start_help, name));
    // With TLS the client Service and port are the secure one; the plaintext port is loopback.
    let tls = start.flags.contains_key("tls_dir");
    let client_flag = if tls { "secure_client_port" } else { "client_port" };
    check(
        flag("servers") == replicas.to_string(),
        format!("--servers={} but replicas: {replicas}", flag("servers")),
    );
    check(!start.flags.contains_key("user"), "--user: a non-root zk-entry cannot switch users".into());
    check(!start.flags.contains_key("dry-run"), "--dry-run would start nothing".into());

    // Services, ports, StatefulSet wiring.
    let headless = spec["serviceName"].as_str().and_then(|n| m.service(n));
    check(headless.is_some(), "serviceName names no Service in the file".into());
    let client = m.service("zk-cs");
    check(client.is_some(), "no client Service zk-cs".into());
    for (port_flag, name) in
        [(client_flag, "client"), ("server_port", "server"), ("election_port", "leader-election")]
    {
        let want: i64 = flag(port_flag).parse().unwrap();
        check(
            container_port(c, name) == Some(want),
            format!("containerPort {name} is not --{port_flag}={want}"),
        );
        let svc = if name == "client" { client } else { headless };
        if let Some(svc) = svc {
            check(
                service_port(svc, name) == Some(want),
                format!("Service port {name} is not --{port_flag}={want}"),
            );
        }
    }
    if let Some(hs) = headless {
        check(
            hs["spec"]["clusterIP"].as_str() == Some("None"),
            "the governing Service is not headless".into(),
        );
        check(
            hs["spec"]["publishNotReadyAddresses"].as_bool() == Some(true),
            "the headless Service lacks publishNotReadyAddresses: true (ready --quorum would deadlock)"
                .into(),
        );
    }
    check(
        spec["podManagementPolicy"].as_str() == Some("Parallel"),
        "podManagementPolicy is not Parallel (OrderedReady + ready --quorum deadlocks)".into(),
    );
    let pdbs = m.of_kind("PodDisruptionBudget");
    if replicas > 1 {
        check(
            pdbs.len() == 1 && pdbs[0]["spec"]["maxUnavailable"].as_i64() == Some(1),
            "an ensemble needs one PodDisruptionBudget with maxUnavailable: 1".into(),
        );
    } else {
        check(pdbs.is_empty(), "a PodDisruptionBudget for one server protects nothing".into());
    }

    // Probes: liveness and startup never ask for a quorum, readiness does; each ends (by
    // zk-entry's --timeout) well within the kubelet's timeoutSeconds; the port is the client port.
    let client_port = flag("client_port");
    for (probe, quorum) in [("startupProbe", false), ("livenessProbe", false), ("readinessProbe", true)] {
        let node = &c[probe];
        let Some(argv) = strings(&node["exec"]["command"]) else {
            check(false, format!("no exec {probe}"));
            continue;
        };
        for problem in static_problems(&argv) {
            check(false, format!("{probe}: {problem}"));
        }
        let Some(cmd) = zk_command(&argv) else { continue };
        check(cmd.subcommand == "ready", format!("{probe} runs zk-entry {}", cmd.subcommand));
        check(cmd.flags.contains_key("quorum") == quorum, format!("{probe}: --quorum must be {quorum}"));
        let port = cmd.positional.first().cloned().unwrap_or_else(|| default_of(&ready_help, "PORT"));
        check(port == client_port, format!("{probe} probes port {port}, not --client_port={client_port}"));
        let timeout =
            millis(&cmd.flags.get("timeout").cloned().unwrap_or_else(|| default_of(&ready_help, "timeout")));
        let seconds = node["timeoutSeconds"].as_i64().unwrap_or(1) as u64;
        check(
            timeout + PROBE_START_MARGIN_MS <= seconds * 1000,
            format!(
                "{probe}: --timeout {timeout} ms leaves under {PROBE_START_MARGIN_MS} ms of timeoutSeconds: {seconds}"
            ),
        );
    }
    let startup = &c["startupProbe"];
    let budget =
        startup["periodSeconds"].as_i64().unwrap_or(10) * startup["failureThreshold"].as_i64().unwrap_or(3);
    check(budget >= 300, format!("the startupProbe allows {budget} s to load the data; give at least 300"));

    // Security: the non-root path of zk-entry, restricted Pod Security.
    let psc = &pod["securityContext"];
    for key in ["runAsUser", "runAsGroup", "fsGroup"] {
        check(psc[key].as_i64() == Some(UID), format!("securityContext.{key} is not {UID}"));
    }
    check(psc["runAsNonRoot"].as_bool() == Some(true), "runAsNonRoot is not true".into());
    check(
        psc["seccompProfile"]["type"].as_str() == Some("RuntimeDefault"),
        "seccompProfile is not RuntimeDefault".into(),
    );
    let csc = &c["securityContext"];
    check(
        csc["allowPrivilegeEscalation"].as_bool() == Some(false),
        "allowPrivilegeEscalation is not false".into(),
    );
    check(csc["readOnlyRootFilesystem"].as_bool() == Some(true), "readOnlyRootFilesystem is not true".into());
    check(
        strings(&csc["capabilities"]["drop"]) == Some(vec!["ALL".into()]),
        "capabilities.drop is not [ALL]".into(),
    );
    check(pod["enableServiceLinks"].as_bool() == Some(false), "enableServiceLinks is not false".into());
    check(
        pod["terminationGracePeriodSeconds"].as_i64().is_some_and(|s| s > 0),
        "no terminationGracePeriodSeconds".into(),
    );

    // Every directory zk-entry (and the JVM) writes is on a volume; the data on a persistent one.
    let mounts = m.mounts();
    let on_volume =
        |dir: &str| mounts.iter().filter(|(p, _)| under(dir, p)).max_by_key(|(p, _)| p.len()).cloned();
    for dir_flag in ["conf_dir", "log_dir", "data_dir", "data_log_dir"] {
        let dir = flag(dir_flag);
        match on_volume(&dir) {
            None => check(false, format!("--{dir_flag}={dir} is on the read-only root file system")),
            Some((_, persistent)) if dir_flag.starts_with("data") => check(
                persistent,
                format!("--{dir_flag}={dir} is not on a volumeClaimTemplate: data would be lost"),
            ),
            Some(_) => {}
        }
    }
    check(
        on_volume("/tmp").is_some(),
        "no volume on /tmp: jcmd/jstack attach and java.io.tmpdir need one (see the manifest)".into(),
    );

    // Memory: at least 1.5 x heap everywhere, the production rule max(2 GiB, 1.5 x heap) in
    // zookeeper.yaml; the limit is the request.
    let heap = heap_bytes(&flag("heap"));
    let request = quantity_bytes(c["resources"]["requests"]["memory"].as_str().unwrap_or("0"));
    let limit = quantity_bytes(c["resources"]["limits"]["memory"].as_str().unwrap_or("0"));
    check(request * 2 >= heap * 3, format!("memory request {request} is under 1.5 x the heap {heap}"));
    check(limit == request, format!("memory limit {limit} is not the request {request}"));
    let required = &pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    let preferred = &pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
    match m.file.as_str() {
        "zookeeper.yaml" | "zookeeper-tls.yaml" | "zookeeper-scalable.yaml" => {
            check(
                request >= (heap * 3 / 2).max(2 << 30),
                "production: request < max(2 GiB, 1.5 x heap)".into(),
            );
            check(!required.is_badvalue(), "production: anti-affinity must be required (hard)".into());
        }
        "zookeeper-dev.yaml" => {
            check(heap == 512 << 20 && request == 1 << 30, "dev: --heap=512M and 1Gi expected".into());
            check(
                required.is_badvalue() && !preferred.is_badvalue(),
                "dev: anti-affinity must be preferred".into(),
            );
        }
        _ => check(replicas == 1, "standalone: one replica".into()),
    }

    // Dynamic membership: the membership and zoo.cfg on the persistent volume, the password in a
    // read-only Secret volume, named by the variable that `kubectl exec ... zk-entry resize` sees.
    if m.is_dynamic() {
        check(
            on_volume(&flag("conf_dir")).is_some_and(|(_, persistent)| persistent),
            "--reconfig: --conf_dir must be on the volumeClaimTemplate (ZooKeeper rewrites the membership there)".into(),
        );
        let env_file = m.container_for(0).env.into_iter().find(|(k, _)| k == "ZK_SUPER_PASSWORD_FILE");
        check(
            env_file.is_some_and(|(_, v)| m.secret_mount_paths().iter().any(|s| under(&v, s))),
            "--reconfig: ZK_SUPER_PASSWORD_FILE must name a file in a read-only Secret volume".into(),
        );
    }

    // The image `make image` builds, usable once loaded into kind or minikube.
    let image = format!("zk-entry:{}", cargo_version());
    check(c["image"].as_str() == Some(image.as_str()), format!("image is not {image}"));
    check(makefile_var("IMAGE") == image, format!("the Makefile's IMAGE is not {image}"));
    check(
        c["imagePullPolicy"].as_str() == Some("IfNotPresent"),
        "imagePullPolicy is not IfNotPresent".into(),
    );

    // What the three share is the same: flags other than size, probes, security, volumes, ports.
    if !std::ptr::eq(m, reference) {
        let rc = reference.container();
        let rstart = zk_command(&reference.start_argv()).expect("reference command");
        // Size, the security flags of the TLS variant, and dynamic membership (which moves the
        // configuration onto the data volume).
        let sized = ["servers", "heap", "tls_dir", "secure_client_port", "reconfig", "conf_dir"];
        let mine: BTreeMap<_, _> = start.flags.iter().filter(|(k, _)| !sized.contains(&k.as_str())).collect();
        let theirs: BTreeMap<_, _> =
            rstart.flags.iter().filter(|(k, _)| !sized.contains(&k.as_str())).collect();
        check(mine == theirs, format!("flags differ from {}: {mine:?} vs {theirs:?}", reference.file));
        for key in ["startupProbe", "livenessProbe", "readinessProbe", "securityContext", "image"] {
            check(c[key] == rc[key], format!("{key} differs from {}", reference.file));
        }
        for key in ["securityContext", "terminationGracePeriodSeconds", "enableServiceLinks"] {
            check(
                pod[key] == reference.pod_spec()[key],
                format!("pod {key} differs from {}", reference.file),
            );
        }
        // The TLS variant adds its Secret volume and swaps the client port; the rest is the same.
        let without_secrets = |items: &Yaml| -> Vec<Yaml> {
            let secret_names: Vec<&Yaml> = pod["volumes"]
                .as_vec()
                .into_iter()
                .flatten()
                .filter(|v| !v["secret"].is_badvalue())
                .map(|v| &v["name"])
                .collect();
            items
                .as_vec()
                .into_iter()
                .flatten()
                .filter(|i| !secret_names.contains(&&i["name"]))
                .cloned()
                .collect()
        };
        // A dynamic manifest also swaps the conf emptyDir for the data volume (checked apart).
        check(
            m.is_dynamic() || without_secrets(&c["volumeMounts"]) == without_secrets(&rc["volumeMounts"]),
            format!("volumeMounts differ from {} beyond the Secret volumes", reference.file),
        );
        check(
            m.is_dynamic()
                || without_secrets(&pod["volumes"]) == without_secrets(&reference.pod_spec()["volumes"]),
            format!("volumes differ from {} beyond the Secret volumes", reference.file),
        );
        check(tls || c["ports"] == rc["ports"], format!("ports differ from {}", reference.file));
        if tls {
            let mount =
                m.secret_mounts().into_iter().find(|(path, _)| Some(path) == start.flags.get("tls_dir"));
            check(mount.is_some(), "--tls_dir is not a Secret volume's mountPath".into());
            let read_only = c["volumeMounts"].as_vec().into_iter().flatten().any(|v| {
                v["mountPath"].as_str() == start.flags.get("tls_dir").map(String::as_str)
                    && v["readOnly"].as_bool() == Some(true)
            });
            check(read_only, "the TLS Secret is not mounted readOnly".into());
        }
    }
    p
}

fn cargo_version() -> String {
    let toml = repo_file("Cargo.toml");
    let line = toml.lines().find(|l| l.starts_with("version = ")).expect("version in Cargo.toml");
    line.trim_start_matches("version = ").trim_matches('"').to_string()
}

/// `NAME ?= value` or `NAME := value` in the Makefile.
fn makefile_var(name: &str) -> String {
    let makefile = repo_file("Makefile");
    makefile
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(['?', ':']).filter(|(_, v)| v.starts_with('='))?;
            (k.trim() == name).then(|| v[1..].trim().to_string())
        })
        .unwrap_or_else(|| panic!("{name} in the Makefile"))
}

#[test]
fn manifests_agree_with_the_binary_and_each_other() {
    let all = Manifest::all();
    let reference = all.iter().find(|m| m.file == "zookeeper.yaml").unwrap();
    let problems: Vec<String> = all.iter().flat_map(|m| manifest_problems(m, reference)).collect();
    assert!(problems.is_empty(), "manifest problems:\n{}", problems.join("\n"));
}

#[test]
fn no_manifest_runs_a_shell_and_every_command_line_is_found() {
    for m in Manifest::all() {
        let lines = manifest_command_lines(&m);
        // The container's command and its three probes (and the preStop hook of a dynamic
        // membership); nothing else runs zk-entry unnoticed.
        let want = if m.is_dynamic() { 5 } else { 4 };
        assert_eq!(lines.len(), want, "{}: {lines:?}", m.file);
        for (path, argv) in &lines {
            assert_ne!(zk_command(argv).map(|c| c.subcommand), None, "{path}: {argv:?}");
        }
        let text = repo_file(&format!("docker/k8s/{}", m.file));
        assert!(!text.contains("sh -c") && !text.contains("- -c"), "{}: a shell", m.file);
    }
}

/// The heart of it: each command line of each manifest, run as the pod would run it. The
/// container's command runs in the first and the last pod of the StatefulSet (so --servers and
/// replicas agree at run time too); the probes in the first.
#[test]
fn every_manifest_command_line_runs_in_the_container_it_describes() {
    for m in Manifest::all() {
        let last = u32::try_from(m.replicas() - 1).unwrap();
        for (path, argv) in manifest_command_lines(&m) {
            let is_start = zk_command(&argv).is_some_and(|c| c.subcommand == "start");
            let ordinals = if is_start { vec![0, last] } else { vec![0] };
            for ordinal in ordinals {
                let ran = m.container_for(ordinal).check(&argv).unwrap_or_else(|e| panic!("{path}: {e}"));
                if is_start {
                    // zk-entry logs the zoo.cfg it wrote (into the conf volume), one key a line.
                    let servers =
                        ran.stderr.lines().filter(|l| l.starts_with("zk-entry: zoo.cfg: server.")).count();
                    // A dynamic membership lives in its own file, named in zoo.cfg.
                    let want = if m.replicas() > 1 && !m.is_dynamic() { m.replicas() as usize } else { 0 };
                    assert_eq!(servers, want, "{path} as zk-{ordinal}: {}", ran.stderr);
                    assert_eq!(
                        ran.stderr.contains("zk-entry: zoo.cfg: dynamicConfigFile="),
                        m.is_dynamic(),
                        "{path} as zk-{ordinal}: {}",
                        ran.stderr
                    );
                    assert!(
                        ran.stderr.contains("zk-entry: zoo.cfg: autopurge.purgeInterval=12\n"),
                        "{}",
                        ran.stderr
                    );
                }
            }
        }
    }
}

/// The same check fails on what it must catch: a misspelled flag of start or of a probe (exit
/// 2, found both by the run and by the static reader), a volume missing for the conf dir (exit 1:
/// not writable), and a shell.
#[test]
fn negative_controls_misspelled_flags_a_missing_volume_and_a_shell_fail_the_check() {
    let all = Manifest::all();
    let m = all.iter().find(|m| m.file == "zookeeper.yaml").unwrap();
    let container = m.container_for(0);
    let misspell = |argv: &[String], from: &str, to: &str| -> Vec<String> {
        assert!(argv.iter().any(|a| a.starts_with(from)), "{from} not in {argv:?}");
        argv.iter().map(|a| a.replacen(from, to, 1)).collect()
    };

    let start = m.start_argv();
    let bad = misspell(&start, "--heap=", "--haep=");
    let err = container.check(&bad).err().expect("a misspelled start flag must fail");
    assert!(err.contains("--haep"), "{err}");
    let ran = container.run(&bad).unwrap();
    // The binary itself refuses it, as a usage error (stdout is not captured in the pod).
    assert_one_line("--haep=", ran.code, &ran.stderr, 2, &["--haep"]);

    let readiness = strings(&m.container()["readinessProbe"]["exec"]["command"]).unwrap();
    let bad = misspell(&readiness, "--quorum", "--quorom");
    let err = container.check(&bad).err().expect("a misspelled probe flag must fail");
    assert!(err.contains("--quorom"), "{err}");
    let ran = container.run(&bad).unwrap();
    assert_one_line("--quorom", ran.code, &ran.stderr, 2, &["--quorom"]);

    let mut no_conf_volume = m.container_for(0);
    no_conf_volume.volumes.retain(|v| v != "/opt/zookeeper/conf");
    let err = no_conf_volume.check(&start).err().expect("an unwritable conf dir must fail");
    assert!(err.contains("exit Some(1)") && err.contains("/opt/zookeeper"), "{err}");

    let shell: Vec<String> = ["sh", "-c", "zk-entry ready 2181"].map(String::from).to_vec();
    let err = container.check(&shell).err().expect("a shell must fail");
    assert!(err.contains("shell"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile

/// One stage of the Dockerfile: `FROM base AS name` and its instructions (keyword, the rest).
#[derive(Debug)]
struct Stage {
    base: String,
    name: String,
    instructions: Vec<(String, String)>,
}

impl Stage {
    fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions.iter().filter(|(k, _)| k == keyword).map(|(_, r)| r.as_str()).collect()
    }

    fn one(&self, keyword: &str) -> &str {
        let all = self.all(keyword);
        assert_eq!(all.len(), 1, "stage {}: one {keyword} expected: {all:?}", self.name);
        all[0]
    }
}

/// docker/Dockerfile as (global ARGs, stages).
fn dockerfile() -> (Vec<String>, Vec<Stage>) {
    parse_dockerfile(&repo_file("docker/Dockerfile"))
}

/// A Dockerfile as (global ARGs, stages): continuation lines joined, comments dropped (also
/// inside a continued instruction, as Docker drops them).
fn parse_dockerfile(text: &str) -> (Vec<String>, Vec<Stage>) {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part.trim());
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    assert!(current.is_empty(), "the Dockerfile ends inside a continued instruction");
    let mut global = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in instructions {
        let (keyword, rest) = instruction.split_once(' ').unwrap_or((&instruction, ""));
        let (keyword, rest) = (keyword.to_ascii_uppercase(), rest.trim().to_string());
        if keyword == "FROM" {
            let words: Vec<&str> = rest.split_whitespace().collect();
            assert!(words.len() == 3 && words[1].eq_ignore_ascii_case("AS"), "FROM without AS name: {rest}");
            stages.push(Stage { base: words[0].into(), name: words[2].into(), instructions: Vec::new() });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push((keyword, rest));
        } else {
            assert_eq!(keyword, "ARG", "only ARG may come before the first FROM");
            global.push(rest);
        }
    }
    (global, stages)
}

/// How docker/Dockerfile.debian's runtime stage may differ from docker/Dockerfile's: where its
/// files come from. Each pair is (upstream instruction, Debian instruction); None is "absent".
const DEBIAN_RUNTIME_DIFFERENCES: &[(Option<&str>, Option<&str>)] = &[
    // Debian's base has the file system (mmdebstrap), so the stage starts by unpacking it.
    (None, Some("ADD base.tar /")),
    // The upstream release comes from its own stage; Debian's packages are in the base.
    (Some("COPY --from=zookeeper /opt/zookeeper /opt/zookeeper"), None),
    // The static zk-entry: built in a stage upstream, `make static`'s in the buildah context.
    (
        Some("COPY --from=build /out/zk-entry /usr/local/bin/zk-entry"),
        Some("COPY zk-entry /usr/local/bin/zk-entry"),
    ),
];

/// Where the Debian recipe's runtime stage drifts from the upstream one, beyond
/// [`DEBIAN_RUNTIME_DIFFERENCES`]: one line per instruction that is missing, extra or changed.
fn debian_runtime_drift(upstream: &str, debian: &str) -> Vec<String> {
    let line = |(k, r): &(String, String)| format!("{k} {r}");
    let (_, up_stages) = parse_dockerfile(upstream);
    let (_, deb_stages) = parse_dockerfile(debian);
    let mut problems = Vec::new();
    let names: Vec<&str> = deb_stages.iter().map(|s| s.name.as_str()).collect();
    if names != ["runtime"] || deb_stages[0].base != "scratch" {
        problems
            .push(format!("Dockerfile.debian: one stage, runtime FROM scratch, expected; found {names:?}"));
        return problems;
    }
    let mut up: Vec<String> = up_stages.last().expect("stages").instructions.iter().map(line).collect();
    let mut deb: Vec<String> = deb_stages[0].instructions.iter().map(line).collect();
    for (from, to) in DEBIAN_RUNTIME_DIFFERENCES {
        match (from, to) {
            (Some(from), Some(to)) => match up.iter().position(|i| i == from) {
                Some(at) => up[at] = to.to_string(),
                None => problems
                    .push(format!("Dockerfile: '{from}' not found (update DEBIAN_RUNTIME_DIFFERENCES)")),
            },
            (Some(from), None) => up.retain(|i| i != from),
            (None, Some(to)) => deb.retain(|i| i != to),
            (None, None) => {}
        }
    }
    let width = up.len().max(deb.len());
    for at in 0..width {
        match (up.get(at), deb.get(at)) {
            (Some(u), Some(d)) if u == d => {}
            (u, d) => {
                problems.push(format!(
                    "runtime instruction {}: Dockerfile has {u:?}, Dockerfile.debian has {d:?}",
                    at + 1
                ));
                break;
            }
        }
    }
    problems
}

#[test]
fn debian_dockerfile_runtime_stage_is_the_upstream_one() {
    let upstream = repo_file("docker/Dockerfile");
    let debian = repo_file("docker/Dockerfile.debian");
    assert_eq!(debian_runtime_drift(&upstream, &debian), Vec::<String>::new());
    // Negative controls: a changed user, a missing health check, an extra instruction.
    for (from, to) in [
        ("USER 1000", "USER 1001"),
        ("HEALTHCHECK --interval=10s", "# HEALTHCHECK --interval=10s"),
        ("EXPOSE 2181 2888 3888", "EXPOSE 2181 2888 3888\nVOLUME /data"),
    ] {
        assert!(debian.contains(from), "{from}");
        let changed = debian.replacen(from, to, 1);
        let problems = debian_runtime_drift(&upstream, &changed);
        assert_eq!(problems.len(), 1, "{to}: {problems:?}");
    }
}

/// An exec-form (JSON array) instruction's strings; None for the shell form.
fn exec_form(rest: &str) -> Option<Vec<String>> {
    let inner = rest.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.next() {
            None => return Some(items),
            Some('"') => {}
            Some(_) => return None,
        }
        let mut item = String::new();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => item.push(chars.next()?),
                c => item.push(c),
            }
        }
        items.push(item);
    }
}

/// The names the runtime stage links to zk-entry in /usr/local/bin.
fn dockerfile_links() -> Vec<String> {
    let (_, stages) = dockerfile();
    let runtime = stages.last().expect("stages");
    let needle = "ln -s zk-entry /usr/local/bin/";
    runtime
        .all("RUN")
        .iter()
        .flat_map(|run| run.match_indices(needle).map(|(i, _)| &run[i + needle.len()..]).collect::<Vec<_>>())
        .map(|rest| rest.split([';', ' ', '&']).next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn dockerfile_builds_the_static_binary_and_ships_it_with_zookeeper_as_uid_1000() {
    let (global, stages) = dockerfile();
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["build", "zookeeper", "runtime"]);
    let (build, zookeeper, runtime) = (&stages[0], &stages[1], &stages[2]);

    // build: the Makefile's musl target, with the release profile, locked.
    let musl = makefile_var("MUSL");
    assert!(build.base.starts_with("rust:"), "{}", build.base);
    let runs = build.all("RUN").join("\n");
    assert!(runs.contains(&format!("rustup target add {musl}")), "{runs}");
    assert!(runs.contains(&format!("cargo build --release --locked --target {musl}")), "{runs}");
    assert!(runs.contains(&format!("target/{musl}/release/zk-entry /out/zk-entry")), "{runs}");
    // The musl target's link settings live in .cargo/config.toml: the image's binary needs them.
    let config = repo_file(".cargo/config.toml");
    assert!(config.contains(&format!("[target.{musl}]")), "{config}");
    assert!(build.all("COPY").contains(&".cargo ./.cargo"), "the build stage must copy .cargo");
    let cargo_toml = repo_file("Cargo.toml");
    let profile = cargo_toml.split("[profile.release]").nth(1).expect("[profile.release]");
    let profile = profile.split("\n[").next().unwrap();
    for setting in ["lto = true", "codegen-units = 1", "strip = true"] {
        assert!(profile.contains(setting), "[profile.release] lacks {setting}");
    }
    // panic=abort stays off: it would turn a panic's exit 101 into a signal (see the Dockerfile).
    assert!(!profile.lines().any(|l| l.trim_start().starts_with("panic")), "{profile}");

    // zookeeper: the upstream release of ZK_VERSION (3.8.x or 3.9.x), checked before unpacking.
    let version =
        global.iter().find_map(|a| a.strip_prefix("ZK_VERSION=")).expect("a global ARG ZK_VERSION=default");
    let parts: Vec<&str> = version.split('.').collect();
    assert!(
        parts.len() == 3
            && parts[0] == "3"
            && ["8", "9"].contains(&parts[1])
            && parts[2].parse::<u32>().is_ok(),
        "ZK_VERSION={version}"
    );
    assert!(zookeeper.all("ARG").contains(&"ZK_VERSION"));
    let fetch = zookeeper.all("RUN").into_iter().find(|r| r.contains("sha512")).expect("a download");
    let needles = [
        "https://archive.apache.org/dist/zookeeper/zookeeper-${ZK_VERSION}",
        "apache-zookeeper-${ZK_VERSION}-bin.tar.gz",
        "${tarball}.sha512",
    ];
    assert_contains_all("the download", fetch, &needles);
    let verify = fetch.find("sha512sum -c").expect("sha512sum -c");
    let unpack = fetch.find("tar -x").expect("tar -x");
    assert!(verify < unpack, "the checksum must be verified before unpacking");
    assert!(fetch.starts_with("set -eu;"), "a failed step must fail the build: {fetch}");

    // runtime: both products, the user, the writable directories, ports, entrypoint.
    let copies = runtime.all("COPY");
    assert!(copies.contains(&"--from=zookeeper /opt/zookeeper /opt/zookeeper"), "{copies:?}");
    assert!(copies.contains(&"--from=build /out/zk-entry /usr/local/bin/zk-entry"), "{copies:?}");
    let start_help = help_flags("start");
    let zk_home = start_help.get("zk_home").and_then(|f| f.default.clone()).unwrap_or_default();
    assert!(zk_home.starts_with("/opt/zookeeper,"), "zk-entry looks for /opt/zookeeper first: {zk_home}");
    assert_eq!(runtime.one("USER"), UID.to_string());
    assert_eq!(exec_form(runtime.one("ENTRYPOINT")), Some(vec!["zk-entry".to_string(), "start".to_string()]));
    let exposed: BTreeSet<String> = runtime.one("EXPOSE").split_whitespace().map(String::from).collect();
    let ports: BTreeSet<String> =
        ["client_port", "server_port", "election_port"].iter().map(|p| default_of(&start_help, p)).collect();
    assert_eq!(exposed, ports, "EXPOSE and zk-entry's default ports");
    let runs = runtime.all("RUN").join("\n");
    assert!(runs.contains(&format!("groupadd --gid {UID} zookeeper")), "{runs}");
    assert!(runs.contains(&format!("useradd --uid {UID} --gid {UID}")), "{runs}");
    let chown = runs.split(&format!("chown {UID}:{UID} ")).nth(1).expect("a chown to the zookeeper user");
    let owned: Vec<&str> = chown.split([';', '\n']).next().unwrap().split_whitespace().collect();
    for dir_flag in ["conf_dir", "log_dir", "data_dir", "data_log_dir"] {
        let dir = default_of(&start_help, dir_flag);
        assert!(
            owned.iter().any(|o| under(&dir, o)),
            "--{dir_flag}={dir} is not the zookeeper user's: {owned:?}"
        );
    }

    // Nothing needs a shell at run time: the entrypoint and the health check are exec forms,
    // and no nc.
    let healthcheck = runtime.one("HEALTHCHECK");
    let cmd = healthcheck.split(" CMD ").nth(1).expect("HEALTHCHECK ... CMD [...]");
    assert!(exec_form(cmd).is_some(), "HEALTHCHECK must be an exec form: {healthcheck}");
    assert!(runtime.all("CMD").is_empty());
    let everything = runtime.instructions.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("\n");
    assert!(!everything.contains(" nc ") && !everything.contains("netcat"), "{everything}");
}

/// The links are exactly the binary's multi-call names, and under each the binary acts as the
/// subcommand that name selects (its help's usage line names it); together they cover every
/// subcommand. The negative control: under a name that is not one of them, the binary acts as
/// no subcommand, so this check can fail.
#[test]
fn dockerfile_links_are_the_binary_multi_call_names() {
    let links: BTreeSet<String> = dockerfile_links().into_iter().collect();
    let names = multi_call_names();
    assert_eq!(links, names.keys().cloned().collect::<BTreeSet<_>>());

    let dir = tempfile::tempdir().unwrap();
    let help = |cmd: &mut Command| {
        scrub(cmd);
        stdout(&cmd.arg("--help").output().unwrap())
    };
    // What each subcommand's help says with the program named as the link would name it: the
    // usage line of a link shows only the link's name, which stands for the subcommand.
    let subcommand_helps: Vec<(String, String)> = subcommands()
        .into_iter()
        .map(|sub| {
            let text = help(zk_entry().arg(&sub));
            (sub.clone(), text)
        })
        .collect();
    let acts_as = |name: &str| -> Option<String> {
        let link = dir.path().join(name);
        std::os::unix::fs::symlink(BIN, &link).unwrap();
        let text = help(&mut Command::new(&link));
        let usage = text.lines().find(|l| l.starts_with("Usage: ")).unwrap_or("");
        assert!(!usage.contains(&format!("{name} {name}")), "under {name}: {usage}");
        subcommand_helps
            .iter()
            .find(|(sub, sub_help)| {
                sub_help.replace(&format!("Usage: zk-entry {sub}"), &format!("Usage: {name}")) == text
            })
            .map(|(sub, _)| {
                assert!(usage.starts_with(&format!("Usage: {name} [")), "the usage works as typed: {usage}");
                sub.clone()
            })
    };
    let mut covered = BTreeSet::new();
    for link in &links {
        let acted = acts_as(link);
        assert_eq!(acted.as_ref(), names.get(link), "under the name {link}");
        covered.extend(acted);
    }
    // Every subcommand with a script name has its link; the membership commands (members,
    // resize) are new and have none.
    let scripted: BTreeSet<String> = names.values().cloned().collect();
    assert_eq!(covered, scripted);
    assert!(scripted.is_subset(&subcommands()), "{scripted:?} vs {:?}", subcommands());
    assert_eq!(acts_as("zookeeper-readiness"), None, "negative control: an unknown name");
}

/// The build stage copies enough for cargo: the copied paths, in a fresh directory, pass `cargo
/// check --locked` (offline: the crates are the ones this build already has). And the
/// .dockerignore keeps target/ out of the build context without hiding a copied path.
#[test]
fn dockerfile_build_stage_sources_are_enough_for_cargo() {
    let (_, stages) = dockerfile();
    let build = &stages[0];
    let ignored: Vec<String> = repo_file(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    for needed in ["target", ".git"] {
        assert!(ignored.iter().any(|i| i == needed), ".dockerignore lacks {needed}");
    }
    let copy = tempfile::tempdir().unwrap();
    let mut copied = Vec::new();
    for rest in build.all("COPY") {
        assert!(!rest.starts_with("--from"), "the build stage copies from the context only: {rest}");
        let words: Vec<&str> = rest.split_whitespace().collect();
        let (sources, dest) = words.split_at(words.len() - 1);
        for source in sources {
            assert!(!ignored.iter().any(|i| under(source, i)), "{source} is in .dockerignore");
            let to =
                if dest[0].ends_with('/') { copy.path().join(source) } else { copy.path().join(dest[0]) };
            let status =
                Command::new("cp").args(["-r", &format!("{ROOT}/{source}")]).arg(&to).status().unwrap();
            assert!(status.success(), "cp {source}");
            copied.push(source.to_string());
        }
    }
    assert!(copied.contains(&"Cargo.lock".to_string()), "--locked needs Cargo.lock: {copied:?}");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["check", "--offline", "--locked", "--quiet", "--bin", "zk-entry"])
        .current_dir(copy.path())
        .env("CARGO_TARGET_DIR", format!("{ROOT}/target/dockerfile-context"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo check on the build stage's copy: {}", stderr(&out));
}

/// The Dockerfile's own zk-entry command lines (the build-time dry run, the health check) run
/// in the container the Dockerfile describes: uid 1000, writable where it chowns, a host name
/// with no ordinal (a build container's, or `docker run`'s).
#[test]
fn dockerfile_zk_entry_command_lines_run_in_the_image_layout() {
    let (_, stages) = dockerfile();
    let runtime = stages.last().unwrap();
    let runs = runtime.all("RUN").join("\n");
    let chown = runs.split(&format!("chown {UID}:{UID} ")).nth(1).expect("chown");
    let owned: Vec<String> =
        chown.split([';', '\n']).next().unwrap().split_whitespace().map(String::from).collect();
    let mut lines = Vec::new();
    for (keyword, rest) in &runtime.instructions {
        let form = match keyword.as_str() {
            "RUN" | "ENTRYPOINT" => exec_form(rest),
            "HEALTHCHECK" => rest.split(" CMD ").nth(1).and_then(exec_form),
            _ => None,
        };
        if let Some(argv) = form.filter(|a| zk_command(a).is_some()) {
            lines.push((keyword.clone(), argv));
        }
    }
    let kinds: Vec<&str> = lines.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["RUN", "HEALTHCHECK", "ENTRYPOINT"]);
    let mut container = Container::pod("unused", "unused", 0);
    container.hostname = "buildkitsandbox".into();
    container.hosts = "127.0.0.1\tlocalhost\n".into();
    container.volumes = owned;
    for (keyword, argv) in lines {
        if keyword == "ENTRYPOINT" {
            continue; // no flags of its own: the manifests' commands and RUN cover start
        }
        container.check(&argv).unwrap_or_else(|e| panic!("{keyword}: {e}"));
    }
}

/// zookeeper-standalone.yaml for real: its command starts Debian's ZooKeeper (java and the jars
/// as the test machine has them) as uid 1000 with only the manifest's volumes writable, so the
/// read-only root file system and the /tmp volume are tried by the JVM itself. Its three probes
/// must then pass, `zk-entry metrics` must answer, and the kubelet's SIGTERM must end the pod
/// with exit 0 (the manifest's --exit_code_map=143:0). A shell drives the steps in the pod, so
/// zk-entry is not PID 1 here (tests/pid1.rs covers that): it becomes a subreaper instead.
#[test]
fn standalone_manifest_runs_zookeeper_as_uid_1000_on_a_read_only_root() {
    require_zookeeper();
    let all = Manifest::all();
    let m = all.iter().find(|m| m.file == "zookeeper-standalone.yaml").unwrap();
    let quote = |argv: &[String]| -> String {
        argv.iter()
            .map(|a| {
                assert!(!a.contains('\''), "{a}");
                format!("'{a}'")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let probe = |name: &str| quote(&strings(&m.container()[name]["exec"]["command"]).unwrap());
    let client_port = zk_command(&m.start_argv()).unwrap().flags["client_port"].clone();
    // Each step is bounded: 600 tries of the startup probe 0.1 s apart, then one of each other.
    let script = format!(
        r#"{start} &
pid=$!
tries=0
until {startup} 2>/dev/null; do
    tries=$((tries + 1)); [ $tries -lt 600 ] || {{ echo >&2 "step: startup probe never passed"; kill -KILL $pid; exit 90; }}
    sleep 0.1
done
{liveness} || {{ echo >&2 "step: liveness"; exit 91; }}
tries=0
until {readiness} 2>/dev/null; do
    tries=$((tries + 1)); [ $tries -lt 100 ] || {{ echo >&2 "step: readiness"; kill -KILL $pid; exit 92; }}
    sleep 0.1
done
zk-entry metrics {client_port} | grep -q '^zk_server_state	standalone$' || {{ echo >&2 "step: metrics"; exit 93; }}
kill -TERM $pid
wait $pid
echo >&2 "step: exit $?"
"#,
        start = quote(&m.start_argv()),
        startup = probe("startupProbe"),
        liveness = probe("livenessProbe"),
        readiness = probe("readinessProbe"),
    );
    let mut container = m.container_for(0);
    container.loopback = true;
    container.java = None;
    container.limit = SERVER_START_LIMIT + Duration::from_secs(30);
    let argv: Vec<String> = ["sh", "-c", &script].map(String::from).to_vec();
    let ran = container.run(&argv).unwrap();
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stderr.contains("step: exit 0\n"), "{}", ran.stderr);
    assert!(ran.stderr.contains("exited with status 143; exiting with 0"), "{}", ran.stderr);
}

/// A cert-manager Secret (tls.crt, tls.key in cert-manager's default PKCS#1, ca.crt) for the pods
/// behind `service` in namespace default, made with openssl; removed when dropped.
fn test_tls_secret(service: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("zk-tls-secret").tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=deploy-test-ca",
    ]);
    run(&["genrsa", "-traditional", "-out", "tls.key", "2048"]);
    run(&["req", "-new", "-key", "tls.key", "-subj", "/CN=zk", "-out", "tls.csr"]);
    let ext = format!(
        "subjectAltName=DNS:*.{service}.default.svc.cluster.local\nextendedKeyUsage=serverAuth,clientAuth\n"
    );
    fs::write(dir.path().join("ext"), ext).unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "tls.crt",
        "-extfile",
        "ext",
    ]);
    for f in ["ca.key", "tls.csr", "ext", "ca.srl"] {
        let _ = fs::remove_file(dir.path().join(f));
    }
    dir
}

/// The cert-manager Certificate beside the manifests makes the Secret zookeeper-tls.yaml mounts,
/// with what zk-entry's check needs: every pod's FQDN, both usages, a key ZooKeeper can read.
#[test]
fn the_certificate_example_covers_every_pod_of_the_tls_manifest() {
    let text = repo_file("docker/k8s/cert-manager/zookeeper-certificate.yaml");
    let docs = YamlLoader::load_from_str(&text).expect("YAML");
    let cert = docs.iter().find(|d| d["kind"].as_str() == Some("Certificate")).expect("a Certificate");
    let spec = &cert["spec"];
    let all = Manifest::all();
    let m = all.iter().find(|m| m.file == "zookeeper-tls.yaml").unwrap();
    let secret = m.secret_mounts().into_iter().map(|(_, s)| s).next().expect("a Secret volume");
    assert_eq!(spec["secretName"].as_str(), Some(secret.as_str()));
    let names = strings(&spec["dnsNames"]).expect("dnsNames");
    let sts = m.statefulset();
    let service = sts["spec"]["serviceName"].as_str().unwrap();
    let set = sts["metadata"]["name"].as_str().unwrap();
    for ordinal in 0..m.replicas() {
        let fqdn = format!("{set}-{ordinal}.{service}.default.svc.cluster.local");
        let covered = names.iter().any(|n| {
            n == &fqdn
                || n.strip_prefix("*.")
                    .is_some_and(|d| fqdn.split_once('.').is_some_and(|(_, rest)| rest == d))
        });
        assert!(covered, "{fqdn} is not in the Certificate's dnsNames {names:?}");
    }
    let usages = strings(&spec["usages"]).expect("usages");
    for usage in ["server auth", "client auth"] {
        assert!(usages.iter().any(|u| u == usage), "usages lack {usage}: {usages:?}");
    }
    let algorithm = spec["privateKey"]["algorithm"].as_str().unwrap_or("RSA");
    assert!(["RSA", "ECDSA"].contains(&algorithm), "ZooKeeper cannot read {algorithm} keys");
}
