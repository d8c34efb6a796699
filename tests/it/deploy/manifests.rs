//! The Kubernetes manifests (`docker/k8s/*.yaml`) against the binary and each other: every
//! zk-entry command line they hold run in the container it describes, the facts they share,
//! zookeeper-standalone.yaml run for real, and the cert-manager Certificate beside them.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::container::Container;
use super::*;
use yaml_rust2::{Yaml, YamlLoader};

/// What the container runtime needs at least, within an exec probe's `timeoutSeconds`, besides
/// zk-entry's own `--timeout` (README, "Probe settings").
const PROBE_START_MARGIN_MS: u64 = 200;

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

/// as the test machine has them) as uid 1000 with only the manifest's volumes writable, so the
/// read-only root file system and the /tmp volume are tried by the JVM itself. Its three probes
/// must then pass, `zk-entry metrics` must answer, and the kubelet's SIGTERM must end the pod
/// with exit 0 (the manifest's --exit_code_map=143:0). A shell drives the steps in the pod, so
/// zk-entry is not PID 1 here (tests/it/pid1.rs covers that): it becomes a subreaper instead.
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
