//! The container image for real: docker/Dockerfile.debian built by `make image-debian` (Debian's
//! JRE and ZooKeeper 3.8, the static zk-entry) and run by podman with runc, as the manifests in
//! docker/k8s describe.
//!
//! The converter tests (the StatefulSet turned into Pods for `podman kube play`) run in every
//! `make test`. The podman tests need root and the built image: they are ignored by a plain
//! `cargo test` and run by `make image-test` (which builds the image first, exports the private
//! podman set-up and runs them one at a time), which CI runs on every run.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::support::kube::{PodFile, pods_from_statefulset};
use crate::support::podman::{IMAGE, Podman, listed, podman, podman_ok, poll};
use crate::support::*;
use yaml_rust2::{Yaml, YamlLoader};

/// The first start of a JVM on a busy 2-core CI machine takes a few seconds; this is the ceiling.
const READY_LIMIT: Duration = Duration::from_secs(90);
/// How long the container may take to exit once its JVM is gone or stopped.
const EXIT_LIMIT: Duration = Duration::from_secs(30);
/// The ensemble's network: a /28 of 198.18.0.0/24, the pods from .226.
const SUBNET: &str = "198.18.0.224/28";
const GATEWAY: &str = "198.18.0.225";
const FIRST_POD_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 226);

fn manifest(file: &str) -> String {
    std::fs::read_to_string(format!("{}/docker/k8s/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The command line of the StatefulSet's (one) container in `file`.
fn manifest_command(file: &str) -> Vec<String> {
    let docs = YamlLoader::load_from_str(&manifest(file)).unwrap();
    let set = docs.iter().find(|d| d["kind"].as_str() == Some("StatefulSet")).unwrap();
    let command = &set["spec"]["template"]["spec"]["containers"][0]["command"];
    command.as_vec().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

/// The status a JVM stopped by SIGTERM (143) leaves the container with, as the command's
/// --exit_code_map maps it.
fn mapped_stop_status(command: &[String]) -> i32 {
    command
        .iter()
        .filter_map(|w| w.strip_prefix("--exit_code_map="))
        .flat_map(|m| m.split(','))
        .filter_map(|pair| pair.split_once(':'))
        .find(|(from, _)| *from == "143")
        .map_or(143, |(_, to)| to.parse().unwrap())
}

// ---------------------------------------------------------------------------------------------
// The converter (no podman needed)

fn yaml_of(pod: &PodFile) -> Vec<Yaml> {
    YamlLoader::load_from_str(&pod.yaml).unwrap()
}

#[test]
fn converter_turns_the_ensemble_statefulset_into_one_pod_per_ordinal() {
    let pods =
        pods_from_statefulset(&manifest("zookeeper.yaml"), "t-", "default", "cluster.local", FIRST_POD_IP)
            .unwrap();
    let template_command = manifest_command("zookeeper.yaml");
    assert_eq!(pods.len(), 3);
    for (n, pod) in pods.iter().enumerate() {
        assert_eq!(pod.name, format!("t-zk-{n}"));
        assert_eq!(pod.hostname, format!("zk-{n}"));
        assert_eq!(pod.fqdn, format!("zk-{n}.zk-hs.default.svc.cluster.local"));
        assert_eq!(pod.ip, Ipv4Addr::new(198, 18, 0, 226 + n as u8));
        assert_eq!(
            pod.network_arg("net"),
            format!("net:ip=198.18.0.{},alias=zk-{n}.zk-hs.default.svc.cluster.local", 226 + n)
        );
        let docs = yaml_of(pod);
        assert_eq!(docs.len(), 2, "{}", pod.yaml);
        let (claim, spec) = (&docs[0], &docs[1]["spec"]);
        assert_eq!(claim["kind"].as_str(), Some("PersistentVolumeClaim"));
        assert_eq!(claim["metadata"]["name"].as_str(), Some(format!("t-datadir-zk-{n}").as_str()));
        assert_eq!(docs[1]["kind"].as_str(), Some("Pod"));
        assert_eq!(docs[1]["metadata"]["labels"]["app"].as_str(), Some("zk"));
        assert_eq!(spec["hostname"].as_str(), Some(format!("zk-{n}").as_str()));
        assert_eq!(spec["subdomain"].as_str(), Some("zk-hs"));
        assert_eq!(spec["hostAliases"][0]["ip"].as_str(), Some(format!("198.18.0.{}", 226 + n).as_str()));
        assert_eq!(spec["hostAliases"][0]["hostnames"][0].as_str(), Some(pod.fqdn.as_str()));
        // Everything else of the template is kept: security context, probes, the command.
        assert_eq!(spec["securityContext"]["runAsUser"].as_i64(), Some(1000));
        let container = &spec["containers"][0];
        let command: Vec<&str> =
            container["command"].as_vec().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
        assert_eq!(command, template_command);
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"].as_bool(), Some(true));
        assert!(!container["readinessProbe"].is_badvalue());
        assert!(container["ports"].is_badvalue(), "ports are dropped: {}", pod.yaml);
        // Every mount names a volume of this pod, and every volume is this pod's own.
        let volumes: Vec<&str> =
            spec["volumes"].as_vec().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
        assert_eq!(
            volumes,
            [
                format!("t-zk-{n}-conf"),
                format!("t-zk-{n}-logs"),
                format!("t-zk-{n}-tmp"),
                format!("t-zk-{n}-datadir")
            ]
        );
        for mount in container["volumeMounts"].as_vec().unwrap() {
            assert!(volumes.contains(&mount["name"].as_str().unwrap()), "{}", pod.yaml);
        }
        let data = spec["volumes"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|v| !v["persistentVolumeClaim"].is_badvalue())
            .unwrap();
        assert_eq!(data["persistentVolumeClaim"]["claimName"].as_str(), claim["metadata"]["name"].as_str());
    }
    let standalone =
        pods_from_statefulset(&manifest("zookeeper-standalone.yaml"), "", "ns", "example.org", FIRST_POD_IP)
            .unwrap();
    assert_eq!(standalone.len(), 1);
    assert_eq!(standalone[0].fqdn, "zk-0.zk-hs.ns.svc.example.org");
}

#[test]
fn converter_refuses_a_manifest_it_does_not_understand_naming_the_field() {
    let ensemble = manifest("zookeeper.yaml");
    let cases: Vec<(String, &str)> = vec![
        (ensemble.replace("kind: StatefulSet", "kind: Deployment"), "kind: Deployment is not understood"),
        (ensemble.replace("kind: StatefulSet", "kind: Service"), "kind: no StatefulSet"),
        (
            format!(
                "{ensemble}\n---\n{}",
                ensemble
                    .split("kind: StatefulSet")
                    .nth(1)
                    .map(|rest| format!("apiVersion: apps/v1\nkind: StatefulSet{rest}"))
                    .unwrap()
            ),
            "2 StatefulSets",
        ),
        (
            ensemble.replace("  replicas: 3\n", "  replicas: 3\n  minReadySeconds: 5\n"),
            "StatefulSet spec.minReadySeconds: not understood",
        ),
        (ensemble.replace("  replicas: 3\n", "  replicas: many\n"), "StatefulSet spec.replicas"),
        (
            ensemble.replace("serviceName: zk-hs", "serviceName: zk-cs"),
            "StatefulSet spec.serviceName: zk-cs is not a headless Service",
        ),
        (
            ensemble.replace(
                "        - name: tmp\n          emptyDir:\n",
                "        - name: tmp\n          hostPath:\n            path: /tmp\n          emptyDir:\n",
            ),
            "spec.template.spec.volumes[2] (tmp): only emptyDir",
        ),
        (
            ensemble.replace(
                "            - name: logs\n              mountPath",
                "            - name: log\n              mountPath",
            ),
            "volumeMounts[2].name: log is neither a volume",
        ),
        (
            ensemble.replace(
                "          command:\n            - zk-entry",
                "          args:\n            - zk-entry",
            ),
            "containers[0].command: missing",
        ),
        ("kind: [unclosed".to_string(), "manifest: not YAML"),
    ];
    for (text, needle) in cases {
        let err =
            pods_from_statefulset(&text, "", "default", "cluster.local", FIRST_POD_IP).expect_err(needle);
        assert!(err.contains(needle), "expected '{needle}' in: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// podman (root, the built image: `make image-test`)

/// `podman exec <container> <args...>`
fn exec(container: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["exec", container];
    all.extend_from_slice(args);
    podman(&all)
}

fn exec_ok(container: &str, args: &[&str]) -> String {
    let out = exec(container, args);
    assert!(
        out.status.success(),
        "podman exec {container} {} failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Time until `zk-entry ready --quorum` succeeds inside `container`.
fn wait_ready(container: &str) -> Duration {
    poll(READY_LIMIT, || {
        exec(container, &["zk-entry", "ready", "--quorum", "2181"]).status.success().then_some(())
    })
    .unwrap_or_else(|| panic!("{container}: not ready --quorum within {READY_LIMIT:?}"))
    .1
}

fn state(container: &str) -> (String, i32) {
    let out = podman_ok(&["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container]);
    let (status, code) = out.trim().split_once(' ').unwrap();
    (status.to_string(), code.parse().unwrap())
}

fn wait_exited(container: &str) -> i32 {
    poll(EXIT_LIMIT, || match state(container) {
        (status, code) if status == "exited" || status == "stopped" => Some(code),
        _ => None,
    })
    .unwrap_or_else(|| panic!("{container}: still running {EXIT_LIMIT:?} after its JVM was gone"))
    .0
}

/// `Field:\tvalue` of /proc/<pid>/status inside the container.
fn status_field(container: &str, pid: &str, field: &str) -> String {
    let text = exec_ok(container, &["cat", &format!("/proc/{pid}/status")]);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("/proc/{pid}/status has no {field}: {text}"))
}

/// The pid of the JVM inside the container: the process whose command name is java.
fn jvm_pid(container: &str) -> String {
    let script =
        "for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" = java ] && echo ${p#/proc/}; done; true";
    let pids = exec_ok(container, &["sh", "-c", script]);
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert_eq!(pids.len(), 1, "{container}: expected one java process, found {pids:?}");
    pids[0].to_string()
}

/// A standalone container as zookeeper-standalone.yaml's pod runs it: its command, uid 1000,
/// read-only root, no capabilities, no privilege gain, the four volumes (`data` the claim, the
/// others fresh as emptyDirs are), no network but loopback.
fn run_standalone(guard: &Podman, name: &str, data: &str) -> String {
    let container = guard.name(name);
    let command = manifest_command("zookeeper-standalone.yaml");
    let volume = |vol: &str, path: &str| format!("{}:{path}", guard.name(&format!("{name}-{vol}")));
    let mounts = [
        format!("{}:/var/lib/zookeeper", guard.name(data)),
        volume("conf", "/opt/zookeeper/conf"),
        volume("logs", "/var/log/zookeeper"),
        volume("tmp", "/tmp"),
    ];
    let mut args: Vec<&str> = vec![
        "run",
        "--detach",
        "--name",
        &container,
        "--network",
        "none",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--user",
        "1000:1000",
        "--health-interval",
        "disable",
        "--entrypoint",
        "",
    ];
    for mount in &mounts {
        args.extend(["--volume", mount.as_str()]);
    }
    args.push(IMAGE);
    args.extend(command.iter().map(String::as_str));
    podman_ok(&args);
    container
}

#[test]
#[ignore = "needs root and the image: make image-test"]
fn standalone_container_runs_zookeeper_read_only_without_capabilities_and_stops_cleanly() {
    require_root();
    let guard = Podman::new("standalone");
    let size = podman_ok(&["image", "inspect", "--format", "{{.Size}}", IMAGE]);
    eprintln!("image-test: image {IMAGE}: {} MB", size.trim().parse::<u64>().unwrap() / 1_000_000);

    let started = Instant::now();
    let first = run_standalone(&guard, "first", "data");
    wait_ready(&first);
    eprintln!("image-test: podman run -> ready --quorum: {:.1} s", started.elapsed().as_secs_f64());

    // The image's HEALTHCHECK (zk-entry ready 2181) passes.
    podman_ok(&["healthcheck", "run", &first]);
    // metrics in Prometheus form, as promtool reads it.
    let metrics = exec_ok(&first, &["zk-entry", "metrics", "--format", "prometheus", "2181"]);
    promtool_check(&metrics).unwrap();
    assert!(metrics.contains("zk_znode_count"), "{metrics}");
    // The ZooKeeper that serves is the one the image's label names (the Makefile builds one
    // image per Debian suite: 3.8.0 and 3.9.3), and zk-entry read that version from its jar.
    let label = podman_ok(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"org.opencontainers.image.description\"}}",
        IMAGE,
    ]);
    let version = label.split_whitespace().nth(2).unwrap_or("").to_string();
    assert!(metrics.contains(&format!("zk_version{{version=\"{version}-")), "{label}: {metrics}");
    let logs = String::from_utf8_lossy(&podman(&["logs", &first]).stderr).into_owned();
    assert!(logs.contains(&format!("zk-entry: ZooKeeper {version} (from /usr/share/java/")), "{logs}");
    eprintln!("image-test: {IMAGE} serves ZooKeeper {version}");
    // A real client inside the container.
    exec_ok(&first, &["zkCli.sh", "-server", "127.0.0.1:2181", "create", "/zk-entry-image", "kept"]);
    let read = exec_ok(&first, &["zkCli.sh", "-server", "127.0.0.1:2181", "get", "/zk-entry-image"]);
    assert!(read.lines().any(|l| l == "kept"), "{read}");

    // zk-entry is PID 1, the JVM its child; both uid 1000, no capabilities, no privilege gain.
    assert_eq!(status_field(&first, "1", "Name"), "zk-entry");
    let jvm = jvm_pid(&first);
    assert_eq!(status_field(&first, &jvm, "PPid"), "1");
    for pid in ["1", jvm.as_str()] {
        assert_eq!(status_field(&first, pid, "Uid"), "1000\t1000\t1000\t1000", "pid {pid}");
        assert_eq!(status_field(&first, pid, "Gid"), "1000\t1000\t1000\t1000", "pid {pid}");
        for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            assert_eq!(status_field(&first, pid, cap), "0000000000000000", "pid {pid} {cap}");
        }
        assert_eq!(status_field(&first, pid, "NoNewPrivs"), "1", "pid {pid}");
    }
    // The root file system is read-only even for the paths ZooKeeper knows.
    let write = exec(&first, &["sh", "-c", "echo x > /opt/zookeeper/x"]);
    assert!(
        !write.status.success() && String::from_utf8_lossy(&write.stderr).contains("Read-only file system"),
        "{write:?}"
    );

    // podman stop: SIGTERM to zk-entry, forwarded to the JVM, which ends with 143 (ZooKeeper 3.8
    // itself logs nothing on SIGTERM; zk-entry says what it did); the container's status is the
    // manifest's mapping of 143.
    let stop = Instant::now();
    podman_ok(&["stop", "--time", "30", &first]);
    let stopped_in = stop.elapsed();
    let (status, code) = state(&first);
    let expected = mapped_stop_status(&manifest_command("zookeeper-standalone.yaml"));
    assert_eq!((status.as_str(), code), ("exited", expected));
    let logs = String::from_utf8_lossy(&podman(&["logs", &first]).stderr).into_owned();
    let jvm_exit = format!("ZooKeeper (pid {jvm}) exited with status 143; exiting with {expected}");
    assert_contains_all(
        "the stopped container's log",
        &logs,
        &[&format!("forwarded SIGTERM to ZooKeeper (pid {jvm})"), &jvm_exit],
    );
    eprintln!("image-test: podman stop -> exited {code} in {:.1} s", stopped_in.as_secs_f64());

    // A new container on the same data volume (a pod replaced): the data is there.
    let second = run_standalone(&guard, "second", "data");
    wait_ready(&second);
    let read = exec_ok(&second, &["zkCli.sh", "-server", "127.0.0.1:2181", "get", "/zk-entry-image"]);
    assert!(read.lines().any(|l| l == "kept"), "{read}");

    // The JVM killed inside: zk-entry exits with it, 128 + 9, and the container is gone.
    let jvm = jvm_pid(&second);
    exec_ok(&second, &["sh", "-c", &format!("kill -KILL {jvm}")]);
    assert_eq!(wait_exited(&second), 137);
}

/// `podman events` of kind `died` for `container`: its exit codes, oldest first.
fn died_codes(container: &str) -> Vec<i32> {
    let out = podman_ok(&[
        "events",
        "--stream=false",
        "--filter",
        "event=died",
        "--filter",
        &format!("container={container}"),
        "--format",
        "{{.ContainerExitCode}}",
    ]);
    out.lines().map(|l| l.trim().parse().unwrap()).collect()
}

#[test]
#[ignore = "needs root and the image: make image-test"]
fn ensemble_manifest_plays_as_three_pods_that_find_each_other_by_their_fqdns() {
    require_root();
    let guard = Podman::new("ensemble");
    let network = guard.network("net", SUBNET, GATEWAY);
    let pods = pods_from_statefulset(
        &manifest("zookeeper.yaml"),
        &guard.prefix,
        "default",
        "cluster.local",
        FIRST_POD_IP,
    )
    .unwrap();
    let dir = tempfile_dir(&guard.prefix);
    let started = Instant::now();
    let mut files = Vec::new();
    for pod in &pods {
        let file = format!("{dir}/{}.yaml", pod.hostname);
        std::fs::write(&file, &pod.yaml).unwrap();
        podman_ok(&["kube", "play", "--network", &pod.network_arg(&network), &file]);
        files.push(file);
    }
    let containers: Vec<String> = pods.iter().map(|p| format!("{}-kubernetes-zookeeper", p.name)).collect();
    for container in &containers {
        wait_ready(container);
    }
    eprintln!(
        "image-test: kube play of 3 pods -> all ready --quorum: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // One leader, two followers.
    let mut modes: Vec<String> = containers
        .iter()
        .map(|c| {
            let mntr = exec_ok(c, &["zk-entry", "metrics", "2181"]);
            mntr.lines()
                .find_map(|l| l.strip_prefix("zk_server_state"))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| panic!("{c}: no zk_server_state in {mntr}"))
        })
        .collect();
    modes.sort();
    assert_eq!(modes, ["follower", "follower", "leader"]);

    // The tutorial's sanity test across pods, by the FQDNs: written through zk-0, read through
    // zk-2 from zk-1.
    let server = |n: usize| format!("{}:2181", pods[n].fqdn);
    exec_ok(&containers[0], &["zkCli.sh", "-server", &server(0), "create", "/hello", "world"]);
    let read = exec_ok(&containers[1], &["zkCli.sh", "-server", &server(2), "get", "/hello"]);
    assert!(read.lines().any(|l| l == "world"), "{read}");

    // Every pod stopped as the kubelet stops one (SIGTERM, the grace period, then SIGKILL):
    // each zk container exits with the mapped status. Then kube down removes them. (podman
    // 4.3's kube down alone removes running pods with SIGKILL at once, 137, whatever the
    // grace period says; the kubelet does not.)
    let expected = mapped_stop_status(&manifest_command("zookeeper.yaml"));
    for pod in &pods {
        podman_ok(&["pod", "stop", "--time", "30", &pod.name]);
    }
    for file in &files {
        podman_ok(&["kube", "down", file]);
    }
    for (pod, container) in pods.iter().zip(&containers) {
        assert!(listed("pod", &pod.name).is_empty(), "{} still there after kube down", pod.name);
        assert_eq!(died_codes(container), [expected], "{container}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A directory for the pods' YAML, under target/.
fn tempfile_dir(prefix: &str) -> String {
    let dir = format!("{}/target/image-test/{prefix}", env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A run that fails (a container whose zk-entry refuses its flags, and a test that then panics)
/// leaves nothing behind: the guard's drop removes the containers, volumes and networks, and its
/// report carries the container's own last lines.
#[test]
#[ignore = "needs root and the image: make image-test"]
fn a_failed_run_prints_the_runtime_log_and_leaves_nothing_behind() {
    require_root();
    let prefix = std::sync::Mutex::new(String::new());
    let report = std::sync::Mutex::new(String::new());
    eprintln!("image-test: the panic and report below are this test's deliberate failure");
    let result = std::panic::catch_unwind(|| {
        let guard = Podman::new("failing");
        *prefix.lock().unwrap() = guard.prefix.clone();
        guard.network("net", "198.18.0.240/28", "198.18.0.241");
        podman_ok(&["volume", "create", &guard.name("data")]);
        let container = guard.name("refused");
        podman_ok(&[
            "run",
            "--detach",
            "--name",
            &container,
            "--network",
            "none",
            "--health-interval",
            "disable",
            IMAGE,
            "--servers=0",
        ]);
        let code = wait_exited(&container);
        *report.lock().unwrap() = guard.report();
        assert_eq!(code, 0, "the deliberate failure of this test");
    });
    assert!(result.is_err(), "the run was meant to fail");
    let prefix = prefix.into_inner().unwrap();
    assert!(!prefix.is_empty());
    for kind in ["container", "pod", "volume", "network"] {
        assert_eq!(listed(kind, &prefix), Vec::<String>::new(), "{kind}s left behind by a failed run");
    }
    let report = report.into_inner().unwrap();
    assert_contains_all(
        "the failure report",
        &report,
        &[&format!("{prefix}refused: exit code 2 (podman says "), "zk-entry: --servers"],
    );
}
