//! Production security, black-box: secret values never leak (start log, `--dry-run`, refusals,
//! files other than their 0600 destination), `--heap=N%` from a real cgroup memory limit, and the
//! election port's bind failure passed through.
//!
//! Root: the secret files are given to another user, and the heap test makes a memory cgroup.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support;
use crate::support::pki::*;
use crate::support::*;

/// Values planted where a secret may come from; none may show up anywhere but in its file.
const PLANTED: [&str; 6] = [
    "Pl4nted-ks-pass",
    "Pl4nted-from-file",
    "Pl4nted-set-pass",
    "Pl4nted-jvm-pass",
    "Pl4nted-sasl-user",
    "Pl4nted-quorum",
];

/// A start's directories in one temporary tree, and the secret files it reads.
struct Layout {
    root: tempfile::TempDir,
}

impl Layout {
    fn new() -> Layout {
        let layout = Layout { root: tempfile::tempdir().unwrap() };
        // Secret volumes as the kubelet writes them: root-owned, reached through ..data.
        let secrets = layout.path("secrets");
        fs::create_dir_all(secrets.join("..2026_11_28")).unwrap();
        fs::write(secrets.join("..2026_11_28/ks-password"), format!("{}\n", PLANTED[0])).unwrap();
        fs::write(secrets.join("..2026_11_28/token"), PLANTED[1]).unwrap();
        std::os::unix::fs::symlink("..2026_11_28", secrets.join("..data")).unwrap();
        for name in ["ks-password", "token"] {
            std::os::unix::fs::symlink(format!("..data/{name}"), secrets.join(name)).unwrap();
        }
        secret_volume(&layout.path("users"), &[("app", PLANTED[4])]);
        secret_volume(&layout.path("quorum"), &[("password", PLANTED[5])]);
        layout
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// `zk-entry start` with every directory here, the planted secrets and `extra`.
    fn start(&self, extra: &[&str]) -> Output {
        let mut args: Vec<String> = vec!["start".into()];
        for (flag, dir) in
            [("data_dir", "data"), ("data_log_dir", "datalog"), ("log_dir", "log"), ("conf_dir", "conf")]
        {
            args.push(format!("--{flag}={}", self.path(dir).display()));
        }
        args.push(format!("--set_file=ssl.keyStore.password={}", self.path("secrets/ks-password").display()));
        args.push(format!("--set_file=my.token={}", self.path("secrets/token").display()));
        args.push(format!("--set=ssl.quorum.keyStore.password={}", PLANTED[2]));
        args.push(format!("--jvm_flags=-Dzookeeper.ssl.trustStore.password={} -Da=b", PLANTED[3]));
        args.push(format!("--client_sasl_users_dir={}", self.path("users").display()));
        args.push(format!("--quorum_password_file={}", self.path("quorum/password").display()));
        args.push("--java=/bin/true".into());
        args.push("--classpath=/nonexistent.jar".into());
        args.extend(extra.iter().map(|s| s.to_string()));
        zk_entry().args(&args).output().unwrap()
    }
}

/// No planted value in the output.
fn assert_no_secret_in(what: &str, out: &Output) {
    for text in [stdout(out), stderr(out)] {
        for planted in PLANTED {
            assert!(!text.contains(planted), "{what}: {planted} leaked: {text}");
        }
    }
}

/// Every file under `dir` that holds a planted value, with its mode and owner.
fn files_holding_secrets(dir: &Path) -> Vec<(PathBuf, u32, u32)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                let text = fs::read_to_string(entry.path()).unwrap_or_default();
                if PLANTED.iter().any(|p| text.contains(p)) {
                    found.push((entry.path(), meta.mode() & 0o7777, meta.uid()));
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn secrets_are_redacted_in_the_log_and_written_0600_for_zookeepers_user() {
    require_root();
    let layout = Layout::new();
    let out = layout.start(&["--user=4242:4242"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_no_secret_in("start", &out);
    let log = stderr(&out);
    assert_contains_all(
        "start log",
        &log,
        &[
            "zk-entry: zoo.cfg: ssl.quorum.keyStore.password=<redacted>\n",
            "zk-entry: zoo.cfg: my.token=<redacted>\n",
            &format!(
                "zk-entry: zoo.cfg: ssl.keyStore.passwordPath={}\n",
                layout.path("conf/secret.ssl.keyStore.password").display()
            ),
            "-Dzookeeper.ssl.trustStore.password=<redacted>",
            "zk-entry: warning: --set ssl.quorum.keyStore.password: a secret on the command line can be read by every process of the pod (/proc/PID/cmdline); use --set_file ssl.quorum.keyStore.password=PATH\n",
        ],
    );
    // The secrets live in their destinations only, each 0600 and owned by ZooKeeper's user.
    let conf = layout.path("conf");
    let secret_files: Vec<(PathBuf, u32, u32)> = files_holding_secrets(&conf);
    assert_eq!(
        secret_files,
        vec![
            (conf.join("jaas.conf"), 0o600, 4242),
            (conf.join("java.env"), 0o600, 4242),
            (conf.join("secret.ssl.keyStore.password"), 0o600, 4242),
            (conf.join("zoo.cfg"), 0o600, 4242),
        ]
    );
    assert_eq!(
        fs::read_to_string(conf.join("secret.ssl.keyStore.password")).unwrap(),
        PLANTED[0],
        "one newline trimmed"
    );
    let zoo_cfg = fs::read_to_string(conf.join("zoo.cfg")).unwrap();
    assert_contains_all(
        "zoo.cfg",
        &zoo_cfg,
        &[&format!("my.token={}\n", PLANTED[1]), &format!("ssl.quorum.keyStore.password={}\n", PLANTED[2])],
    );
    // Files without a secret stay readable for tools that run as another user.
    assert_eq!(fs::metadata(conf.join("log4j.properties")).unwrap().permissions().mode() & 0o777, 0o644);

    // A second start finds everything in place.
    let again = layout.start(&["--user=4242:4242"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stderr(&again).contains("zoo.cfg (unchanged)"), "{}", stderr(&again));
}

#[test]
fn dry_run_shows_no_secret_and_writes_nothing() {
    let layout = Layout::new();
    let out = layout.start(&["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_no_secret_in("--dry-run", &out);
    let plan = stdout(&out);
    assert_contains_all(
        "--dry-run",
        &plan,
        &[
            "ssl.quorum.keyStore.password=<redacted>\n",
            "my.token=<redacted>\n",
            "secret.ssl.keyStore.password (new) <==\n<redacted>\n",
            "jaas.conf (new) <==\n<redacted>\n",
        ],
    );
    assert!(!layout.path("conf").exists(), "--dry-run wrote the conf dir");
}

#[test]
fn refusals_show_no_secret() {
    let layout = Layout::new();
    let two_lines = layout.path("secrets/two-lines");
    fs::write(&two_lines, format!("{}\n{}\n", PLANTED[0], PLANTED[1])).unwrap();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "a control character in a secret --set".into(),
            vec![format!("--set=ssl.keyStore.secret={}\t", PLANTED[2])],
        ),
        (
            "a secret file of two lines".into(),
            vec![format!("--set_file=other.password={}", two_lines.display())],
        ),
        (
            "a secret file that is a directory".into(),
            vec![format!("--set_file=other.password={}", layout.path("secrets").display())],
        ),
        (
            "a line break in a secret --set".into(),
            vec![format!("--set=ssl.keyStore.secret=first-half\n{}", PLANTED[2])],
        ),
        ("a later step refuses (myid of another server)".into(), vec![]),
    ];
    fs::create_dir_all(layout.path("data")).unwrap();
    for (what, extra) in cases {
        let myid_case = extra.is_empty();
        if myid_case {
            fs::write(layout.path("data/myid"), "7\n").unwrap();
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let out = layout.start(&extra);
        assert_ne!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{what}: {}", stderr(&out));
        assert_no_secret_in(&what, &out);
        assert!(!layout.path("conf").exists(), "{what}: a refused start wrote the conf dir");
        if myid_case {
            fs::remove_file(layout.path("data/myid")).unwrap();
        }
    }
    // A quorum password the JVM's JAAS parser would expand: refused naming the file.
    let quorum = layout.path("quorum/..2026_11_28_20_00_00.1/password");
    fs::write(&quorum, format!("{}${{user.home}}\n", PLANTED[5])).unwrap();
    let out = layout.start(&[]);
    assert_refused(
        "'${' in the quorum password",
        &out,
        1,
        &[&format!(
            "zk-entry: --quorum_password_file: {}: holds '${{', which the JVM's JAAS parser would replace with a system property",
            layout.path("quorum/password").display()
        )],
    );
    assert_no_secret_in("'${' in the quorum password", &out);
    assert!(!layout.path("conf").exists(), "a refused start wrote the conf dir");
}

/// A memory cgroup (v1, as on this machine) below the test's own, removed on drop.
struct MemoryCgroup {
    dir: PathBuf,
}

impl MemoryCgroup {
    /// A new cgroup; `limit` in bytes, or none (the kernel's "unlimited").
    fn new(name: &str, limit: Option<u64>) -> MemoryCgroup {
        let own = fs::read_to_string("/proc/self/cgroup").unwrap();
        let path = own
            .lines()
            .find_map(|l| l.splitn(3, ':').nth(2).filter(|_| l.split(':').nth(1) == Some("memory")))
            .expect("this test needs a cgroup v1 memory controller (as on the CI machine)");
        let dir = Path::new("/sys/fs/cgroup/memory")
            .join(path.trim_start_matches('/'))
            .join(format!("{name}-{}", std::process::id()));
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("cannot create the cgroup {}: {e}", dir.display()));
        let cgroup = MemoryCgroup { dir };
        if let Some(bytes) = limit {
            fs::write(cgroup.dir.join("memory.limit_in_bytes"), bytes.to_string()).unwrap();
        }
        cgroup
    }

    /// zk-entry with these arguments, started inside the cgroup (a shell moves itself in, then
    /// execs zk-entry).
    fn run(&self, args: &[&str]) -> Output {
        let line = format!(
            "echo $$ > {} && exec {}",
            shell_quote(&self.dir.join("cgroup.procs").to_string_lossy()),
            command_line(std::iter::once(BIN).chain(args.iter().copied()))
        );
        let mut cmd = std::process::Command::new("sh");
        scrub(&mut cmd);
        cmd.args(["-c", &line]).output().unwrap()
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        // Its processes have exited by now (Output waits); a cgroup without tasks can be removed.
        let _ = fs::remove_dir(&self.dir);
    }
}

#[test]
fn heap_percent_follows_a_real_cgroup_memory_limit() {
    require_root();
    require_zookeeper();
    let layout = tempfile::tempdir().unwrap();
    let conf = format!("--conf_dir={}", layout.path().join("conf").display());
    let data = format!("--data_dir={}", layout.path().join("data").display());
    let logs = format!("--log_dir={}", layout.path().join("log").display());
    let cgroup = MemoryCgroup::new("zk-entry-heap", Some(1 << 30));
    // The real JVM under the limit: -XX:+PrintFlagsFinal -version prints its heap and exits.
    let out = cgroup.run(&[
        "start",
        "--heap=75%",
        &conf,
        &data,
        &logs,
        "--java=/usr/bin/java",
        "--jvm_flags=-XX:+PrintFlagsFinal -version",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let heap = stdout(&out)
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("MaxHeapSize"))
        .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
        .expect("the JVM printed MaxHeapSize");
    assert_eq!(heap, (768u64 << 20).to_string(), "75% of 1 GiB");
    assert_contains_all(
        "start log",
        &stderr(&out),
        &[
            "zk-entry: memory limit 1 GiB (",
            "memory.limit_in_bytes); heap 75% of it: 768 MiB (-XX:MaxRAMPercentage=75)\n",
        ],
    );
    let java_env = fs::read_to_string(layout.path().join("conf/java.env")).unwrap();
    assert!(java_env.contains("-XX:InitialRAMPercentage=75 -XX:MaxRAMPercentage=75"), "{java_env}");

    // --heap=2G is unchanged: -Xms/-Xmx, no limit needed.
    let fixed = cgroup.run(&["start", "--heap=2G", &conf, &data, &logs, "--dry-run"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", stderr(&fixed));
    assert!(stdout(&fixed).contains("-Xms2G -Xmx2G"), "{}", stdout(&fixed));
    assert!(!stdout(&fixed).contains("memory limit"));
}

#[test]
fn heap_percent_without_a_limit_is_refused_and_writes_nothing() {
    require_root();
    let layout = tempfile::tempdir().unwrap();
    let conf = format!("--conf_dir={}", layout.path().join("conf").display());
    let unlimited = MemoryCgroup::new("zk-entry-nolimit", None);
    let out = unlimited.run(&["start", "--heap=75%", &conf, "--java=/bin/true"]);
    assert_refused(
        "no memory limit",
        &out,
        2,
        &[
            "--heap: 75% needs a container memory limit, and there is none (",
            "memory.limit_in_bytes: 9223372036854771712)",
            "set resources.limits.memory",
        ],
    );
    assert!(!layout.path().join("conf").exists(), "a refused start wrote files");
    let bad = zk_entry().args(["start", "--heap=95%", &conf, "--java=/bin/true"]).output().unwrap();
    assert_usage_error(
        "95%",
        &bad,
        &["--heap: '95%' is not a heap percentage; expected a whole percentage from 1 to 90"],
    );
}

#[test]
fn an_election_port_that_cannot_be_bound_ends_the_start_with_14_and_says_so() {
    require_zookeeper();
    // The pod's own address (198.18.0.10 in the kubelet's /etc/hosts) is on no interface here:
    // the election listener's bind fails as it does when another process holds the port.
    let mut pod = Pod::new("zk-0", &kubelet_hosts(0));
    pod.private_tmp = true;
    pod.setup.push("ip link set lo up".into());
    let out = pod.run(&["start", "--servers=3", "--heap=128M", "--exit_code_map=143:0"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(14), "{log}");
    assert!(
        log.contains(
            "exited with status 14 (ZooKeeper could not bind its election port 3888 on zk-0.zk-hs.default.svc.cluster.local: another process holds the port, or zk-0.zk-hs.default.svc.cluster.local is not an address of this pod; see ZooKeeper's log above); exiting with 14\n"
        ),
        "{log}"
    );
    assert!(stdout(&out).contains("3888"), "ZooKeeper's own log names the port: {}", stdout(&out));
}

const SERVE_LIMIT: std::time::Duration = std::time::Duration::from_secs(90);

/// zkCli.sh in the client sandbox with `stdin` as its commands and `jaas` (a JAAS file on the
/// host) for SASL; everything it printed.
fn zkcli_session(
    client: &support::ensemble::Client,
    jaas: Option<&Path>,
    servers: &str,
    stdin: &str,
) -> String {
    let flags = jaas.map(|jaas| format!("-Djava.security.auth.login.config={}", jaas.display()));
    let env: Vec<(&str, &str)> = flags.iter().map(|f| ("CLIENT_JVMFLAGS", f.as_str())).collect();
    zkcli_session_env(client, &env, servers, stdin)
}

/// zkCli.sh in the client sandbox with `stdin` as its commands and `env` set; all it printed.
fn zkcli_session_env(
    client: &support::ensemble::Client,
    env: &[(&str, &str)],
    servers: &str,
    stdin: &str,
) -> String {
    use std::io::Write;
    let netns = format!("--net={}", client.netns().display());
    let mut cmd = std::process::Command::new("nsenter");
    cmd.args([
        &netns,
        "--",
        "timeout",
        "-s",
        "KILL",
        "30",
        "/usr/share/zookeeper/bin/zkCli.sh",
        "-server",
        servers,
    ]);
    scrub(&mut cmd);
    cmd.envs(env.iter().copied());
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    format!("{}{}", stdout(&out), stderr(&out))
}

/// zk-0's or zk-1's ZooKeeper log shows zk-2 refused (one of `signs`), within [`SERVE_LIMIT`].
/// One log is enough: which server sees zk-2's attempts depends on who dials whom in the
/// election and on its back-off (a CI run saw only zk-0 log a TLS refusal in 90 s).
fn assert_zk2_refused(e: &support::ensemble::Ensemble, signs: &[&str]) {
    let zookeeper_log =
        |o: usize| fs::read_to_string(e.pod_dir(o).join("logs/container.out")).unwrap_or_default();
    let refused = wait_for(SERVE_LIMIT, || {
        (0..2).any(|o| signs.iter().any(|sign| zookeeper_log(o).contains(sign))).then_some(())
    });
    assert!(
        refused.is_some(),
        "no server's log shows zk-2 refused:\n{}\n{}",
        zookeeper_log(0),
        zookeeper_log(1)
    );
}

#[test]
fn sasl_quorum_refuses_a_wrong_password_while_the_ensemble_serves_and_clients_must_authenticate() {
    use support::ensemble::{Ensemble, Launch, pod_ip};
    require_zookeeper();
    const QUORUM: &str = "Pl4nted-quorum-pw";
    const WRONG: &str = "Pl4nted-wrong-pw";
    const APP: &str = "Pl4nted-app-pw";
    const OPS: &str = "Pl4nted-ops-pw";
    const SUPER: &str = "Pl4nted-super-pw";
    let mut e = Ensemble::new(Path::new(BIN), 3);
    for ordinal in 0..3 {
        let secrets = e.pod_dir(ordinal).join("opt/secrets");
        let quorum = if ordinal == 2 { WRONG } else { QUORUM };
        secret_volume(&secrets.join("quorum"), &[("password", &format!("{quorum}\n"))]);
        secret_volume(&secrets.join("users"), &[("app", APP), ("ops", OPS)]);
        secret_volume(&secrets.join("super"), &[("password", SUPER)]);
    }
    let mut argv = e.command_line(Launch::ZkEntry);
    argv.extend(
        [
            "--quorum_password_file=/opt/secrets/quorum/password",
            "--client_sasl_users_dir=/opt/secrets/users",
            "--super_password_file=/opt/secrets/super/password",
        ]
        .map(String::from),
    );
    for ordinal in 0..3 {
        e.start_with(ordinal, &argv);
    }
    // zk-0 and zk-1 (the same password) are a quorum and serve; zk-2 is refused.
    e.wait_serving(&[0, 1], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    // Only the words: the class's line number and the spacing differ between versions (3.9.6:
    // `SaslQuorumAuthServer@137]  - Failed ...`).
    assert_zk2_refused(&e, &["Failed to authenticate using SASL"]);
    assert!(!e.ready(2, true), "zk-2 with the wrong password serves: {}", e.log(2));
    assert!(e.exited(2).is_none(), "zk-2 keeps running, as ZooKeeper does");

    // Clients: a SASL user writes; a client without credentials is refused.
    let client = e.client();
    let jaas_dir = tempfile::tempdir().unwrap();
    let jaas = |user: &str, password: &str| {
        let path = jaas_dir.path().join(format!("{user}.jaas"));
        fs::write(
            &path,
            format!("Client {{\n org.apache.zookeeper.server.auth.DigestLoginModule required\n username=\"{user}\"\n password=\"{password}\";\n}};\n"),
        )
        .unwrap();
        path
    };
    let servers = format!("{}:2181", pod_ip(0));
    let app = jaas("app", APP);
    let created = zkcli_session(
        &client,
        Some(&app),
        &servers,
        "create /secured data sasl:app:cdrwa\nget /secured\nquit\n",
    );
    assert!(created.contains("Created /secured") && created.contains("\ndata\n"), "{created}");
    let anonymous = zkcli_session(&client, None, &servers, "ls /\nquit\n");
    assert!(
        !anonymous.contains("[secured, zookeeper]") && !anonymous.contains("[zookeeper, secured]"),
        "{anonymous}"
    );
    // Another SASL user cannot read the node, until it authenticates as the digest super user.
    let ops = jaas("ops", OPS);
    let denied = zkcli_session(&client, Some(&ops), &servers, "get /secured\nquit\n");
    assert!(denied.contains("Insufficient permission") || denied.contains("NoAuth"), "{denied}");
    let as_super = zkcli_session(
        &client,
        Some(&ops),
        &servers,
        &format!("addauth digest super:{SUPER}\nget /secured\nquit\n"),
    );
    assert!(as_super.contains("\ndata\n"), "{as_super}");

    // Probes still work from inside the pod.
    assert!(e.ready(0, true));
    assert!(e.role(0).is_some());

    // The secrets: in no zk-entry line; in the pod only in 0600 files of ZooKeeper's user.
    for ordinal in 0..3 {
        let log = fs::read_to_string(e.pod_dir(ordinal).join("logs/container.err")).unwrap();
        for planted in [QUORUM, WRONG, APP, OPS, SUPER] {
            assert!(!log.contains(planted), "zk-{ordinal} logged {planted}: {log}");
        }
        let conf = e.pod_dir(ordinal).join("opt/zookeeper/conf");
        let jaas = fs::metadata(conf.join("jaas.conf")).unwrap();
        assert_eq!(jaas.mode() & 0o777, 0o600);
        let zookeeper_uid =
            fs::metadata(e.pod_dir(ordinal).join("var-lib/zookeeper/data/myid")).unwrap().uid();
        assert_eq!(jaas.uid(), zookeeper_uid, "jaas.conf belongs to ZooKeeper's user");
        // The super digest reaches the JVM through a 0600 argument file, never through zoo.cfg
        // (which ZooKeeper rewrites with its own mode after a reconfiguration).
        let args = fs::metadata(conf.join("zk-entry-super.jvmargs")).unwrap();
        assert_eq!((args.mode() & 0o777, args.uid()), (0o600, zookeeper_uid), "the super digest's file");
        let zoo_cfg = fs::read_to_string(conf.join("zoo.cfg")).unwrap();
        assert!(!zoo_cfg.contains("superDigest"), "zoo.cfg holds the super digest: {zoo_cfg}");
    }

    // The refusal was the password: with the right one, zk-2 joins.
    e.kill(2);
    let secrets = e.pod_dir(2).join("opt/secrets/quorum");
    fs::remove_dir_all(&secrets).unwrap();
    secret_volume(&secrets, &[("password", QUORUM)]);
    e.start_with(2, &argv);
    e.wait_serving(&[2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
}

const POD_FQDN: &str = "zk-0.zk-hs.default.svc.cluster.local";

/// `zk-entry start` in pod zk-0 of a 3-server ensemble with the Secret `secret` at /opt/tls.
fn start_with_tls(secret: &Path, extra: &[&str]) -> (Pod, Output) {
    let pod = Pod::new("zk-0", &kubelet_hosts(0));
    let tls = pod.host_path("/opt/tls");
    fs::create_dir_all(&tls).unwrap();
    for f in ["tls.crt", "tls.key", "ca.crt"] {
        fs::copy(secret.join(f), tls.join(f)).unwrap();
    }
    let before = pod.snapshot();
    let mut args = vec!["start", "--servers=3", "--tls_dir=/opt/tls", "--java=/bin/true"];
    args.extend_from_slice(extra);
    let out = pod.run(&args);
    if out.status.code() != Some(0) {
        assert_eq!(pod.snapshot(), before, "a refused TLS start changed the pod's files");
    }
    (pod, out)
}

#[test]
fn tls_keys_of_every_cert_manager_encoding_are_checked_and_written_as_pkcs8() {
    let pki = Pki::new("zk-test-ca");
    for (name, kind, converted) in [
        ("pkcs1", KeyKind::RsaPkcs1, Some("(converted from PKCS#1 to PKCS#8)")),
        ("sec1", KeyKind::EcSec1, Some("(converted from SEC1 to PKCS#8)")),
        ("pkcs8", KeyKind::RsaPkcs8, None),
    ] {
        let secret = pki.issue(name, &["*.zk-hs.default.svc.cluster.local"], kind, 30, BOTH_USAGES);
        let (pod, out) = start_with_tls(&secret, &[]);
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{name}: {log}");
        assert!(log.contains("zk-entry: certificate serial ") && log.contains(POD_FQDN), "{name}: {log}");
        match converted {
            Some(text) => assert!(log.contains(text), "{name}: {log}"),
            None => assert!(!log.contains("converted"), "{name}: {log}"),
        }
        assert_contains_all(
            name,
            &log,
            &[
                "zoo.cfg: secureClientPort=2281\n",
                "zoo.cfg: clientPortAddress=127.0.0.1\n",
                "zoo.cfg: sslQuorum=true\n",
                "zoo.cfg: ssl.quorum.keyStore.type=PEM\n",
                "zoo.cfg: serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n",
            ],
        );
        let store = pod.host_path("/opt/zookeeper/conf/tls");
        assert_eq!(fs::metadata(&store).unwrap().mode() & 0o777, 0o700, "{name}");
        let key_store = store.join("keystore.pem");
        assert_eq!(fs::metadata(&key_store).unwrap().mode() & 0o777, 0o600, "{name}");
        let text = fs::read_to_string(&key_store).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{name}: {text}");
        assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 1, "{name}");
        // openssl reads the converted key and finds it the certificate's.
        let modulus = |args: &[&str]| {
            let out = std::process::Command::new("openssl").args(args).output().unwrap();
            assert!(out.status.success(), "{name}: openssl {args:?}: {}", stderr(&out));
            stdout(&out)
        };
        let key_path = key_store.display().to_string();
        let public_of_key = modulus(&["pkey", "-in", &key_path, "-pubout"]);
        let public_of_cert =
            modulus(&["x509", "-in", &secret.join("tls.crt").display().to_string(), "-noout", "-pubkey"]);
        assert_eq!(public_of_key, public_of_cert, "{name}");
        assert!(!log.contains("BEGIN"), "{name}: key material in the log");
    }
}

#[test]
fn tls_pairs_that_would_fail_are_refused_naming_the_problem_and_nothing_is_written() {
    let pki = Pki::new("zk-test-ca");
    let other = Pki::new("another-ca");
    let good_names = ["*.zk-hs.default.svc.cluster.local"];
    let wrong_san =
        pki.issue("wrong-san", &["zk-0.other.svc.cluster.local"], KeyKind::RsaPkcs1, 30, BOTH_USAGES);
    let expired = pki.issue("expired", &good_names, KeyKind::EcSec1, 0, BOTH_USAGES);
    let foreign = other.issue("foreign", &good_names, KeyKind::RsaPkcs1, 30, BOTH_USAGES);
    fs::copy(pki.dir.path().join("ca.crt"), foreign.join("ca.crt")).unwrap();
    let mismatch = pki.issue("mismatch", &good_names, KeyKind::RsaPkcs1, 30, BOTH_USAGES);
    let spare = pki.issue("spare", &good_names, KeyKind::RsaPkcs1, 30, BOTH_USAGES);
    fs::copy(spare.join("tls.key"), mismatch.join("tls.key")).unwrap();
    let server_only = pki.issue("server-only", &good_names, KeyKind::RsaPkcs1, 30, "serverAuth");
    let ed25519 = pki.issue("ed25519", &good_names, KeyKind::Ed25519, 30, BOTH_USAGES);
    let p521 = pki.issue("p521", &good_names, KeyKind::EcP521, 30, BOTH_USAGES);
    let rsa1024 = pki.issue("rsa1024", &good_names, KeyKind::Rsa1024, 30, BOTH_USAGES);
    // A copy cut short in its middle, as an interrupted write leaves it.
    let truncated = pki.issue("truncated", &good_names, KeyKind::RsaPkcs1, 30, BOTH_USAGES);
    let crt = fs::read(truncated.join("tls.crt")).unwrap();
    fs::write(truncated.join("tls.crt"), &crt[..crt.len() / 2]).unwrap();
    let not_pem = pki.issue("not-pem", &good_names, KeyKind::RsaPkcs1, 30, BOTH_USAGES);
    fs::write(
        not_pem.join("tls.key"),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    // notAfter is the second of issue: one second later it is in the past.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let cases = [
        (
            &wrong_san,
            "/opt/tls/tls.crt: the certificate names zk-0.other.svc.cluster.local, not this pod's zk-0.zk-hs.default.svc.cluster.local; add it (or *.zk-hs.default.svc.cluster.local) to the Certificate's dnsNames",
        ),
        (&expired, "/opt/tls/tls.crt: the certificate expired on "),
        (&foreign, "/opt/tls/tls.crt: the certificate was not issued by a CA in /opt/tls/ca.crt"),
        (&mismatch, "/opt/tls/tls.key: does not belong to the certificate in tls.crt (a RSA 2048-bit key"),
        (&server_only, "does not allow both server auth and client auth"),
        (&ed25519, "/opt/tls/tls.key: is an Ed25519 key, which ZooKeeper's PEM loader cannot read"),
        (&not_pem, "/opt/tls/tls.key: holds no private key (an encrypted key is not read"),
        (
            &p521,
            "/opt/tls/tls.key: is an EC key on curve P-521, which ZooKeeper could use but zk-entry cannot check against the certificate (its TLS library signs with P-256 and P-384 only); expected an RSA key of 2048 to 4096 bits or an EC key on P-256 or P-384",
        ),
        (
            &rsa1024,
            "/opt/tls/tls.key: is an RSA key of 1024 bits, which zk-entry refuses as too weak (Java would still take it); expected an RSA key of 2048 to 4096 bits or an EC key on P-256 or P-384",
        ),
        (
            &truncated,
            "/opt/tls/tls.crt: ends inside a CERTIFICATE block (no -----END CERTIFICATE----- line: is the file cut short?); expected PEM certificates",
        ),
    ];
    for (secret, needle) in cases {
        let (_pod, out) = start_with_tls(secret, &[]);
        assert_refused(&secret.display().to_string(), &out, 1, &["zk-entry: --tls_dir: ", needle]);
    }
    // --dry-run checks the same way.
    let (_pod, out) = start_with_tls(&wrong_san, &["--dry-run"]);
    assert_refused("--dry-run", &out, 1, &["the certificate names zk-0.other.svc.cluster.local"]);
}

/// `openssl s_client` from the client sandbox to `address` with the client certificate of
/// `client` (quorum and secure client ports require one), sending `input`; all it printed.
fn s_client(netns: &Path, address: &str, client: &Path, input: &str) -> String {
    use std::io::Write;
    let f = |n: &str| client.join(n).display().to_string();
    let net = format!("--net={}", netns.display());
    let mut child = std::process::Command::new("nsenter")
        .args([
            &net,
            "--",
            "timeout",
            "10",
            "openssl",
            "s_client",
            "-connect",
            address,
            "-CAfile",
            &f("ca.crt"),
            "-cert",
            &f("tls.crt"),
            "-key",
            &f("tls.key"),
            "-quiet",
            "-verify_return_error",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    // Keep stdin open briefly: s_client -quiet ends at EOF, before the reply arrives.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    format!("{}{}", stdout(&out), stderr(&out))
}

/// The serial of the certificate a TLS server at `address` presents.
fn served_serial(netns: &Path, address: &str, client: &Path) -> Option<String> {
    let f = |n: &str| client.join(n).display().to_string();
    let net = format!("--net={}", netns.display());
    let out = std::process::Command::new("sh")
        .args(["-c", "nsenter \"$1\" -- timeout 10 openssl s_client -connect \"$2\" -CAfile \"$3\" -cert \"$4\" -key \"$5\" </dev/null 2>/dev/null | openssl x509 -noout -serial", "sh", &net, address, &f("ca.crt"), &f("tls.crt"), &f("tls.key")])
        .output()
        .unwrap();
    stdout(&out).trim().strip_prefix("serial=").map(str::to_string)
}

/// Update the Secret volume at `dir` to the files of `secret` as the kubelet does: a new
/// timestamped directory, a `..data_tmp` symlink to it renamed over `..data`, the old one removed.
fn kubelet_update(dir: &Path, secret: &Path, stamp: &str) {
    kubelet_swap(dir, stamp, |data| {
        for f in ["tls.crt", "tls.key", "ca.crt"] {
            fs::copy(secret.join(f), data.join(f)).unwrap();
            // The kubelet's defaultMode (ZooKeeper's user reads the Secret to reload it).
            fs::set_permissions(data.join(f), fs::Permissions::from_mode(0o644)).unwrap();
        }
    });
}

/// The kubelet's swap of the Secret volume at `dir` to a new directory `stamp` that `fill` fills.
fn kubelet_swap(dir: &Path, stamp: &str, fill: impl FnOnce(&Path)) {
    let old = fs::read_link(dir.join("..data")).unwrap();
    let data = dir.join(stamp);
    fs::create_dir(&data).unwrap();
    fill(&data);
    std::os::unix::fs::symlink(stamp, dir.join("..data_tmp")).unwrap();
    fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    fs::remove_dir_all(dir.join(old)).unwrap();
}

/// Whether process `pid` has an inotify descriptor with a watch on it (`inotify wd:` in its
/// fdinfo): the TLS watcher is then waiting for the Secret to change.
fn watching(pid: u32) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fdinfo")) else { return false };
    fds.flatten().any(|fd| fs::read_to_string(fd.path()).is_ok_and(|info| info.contains("inotify wd:")))
}

/// Regression: the TLS watcher read the Secret with a plain, blocking, unbounded read. A FIFO
/// in the Secret blocked it for ever (the next good rotation never loaded), and `tls.crt ->
/// /dev/zero` grew it to the memory limit at every look. Now it refuses both, keeps running and
/// loads the next good pair. The watcher runs under a 512 MiB address-space limit, so that an
/// unbounded read stops at it instead of filling the machine's memory.
#[test]
fn the_tls_watcher_refuses_a_fifo_and_dev_zero_and_loads_the_next_good_rotation() {
    let pki = Pki::new("zk-test-ca");
    let issue = |name: &str| pki.issue(name, &[POD_FQDN], KeyKind::RsaPkcs1, 30, BOTH_USAGES);
    let (first, second, third) = (issue("first"), issue("second"), issue("third"));
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("tls");
    mount_tls_secret(&first, &secret);
    let store = dir.path().join("store");
    fs::create_dir(&store).unwrap();
    let log = dir.path().join("watcher.err");
    let mut watcher = support::Reaped(
        std::process::Command::new("prlimit")
            .arg("--as=536870912")
            .args(["--", BIN, "tls-watch", "--tls_dir"])
            .arg(&secret)
            .arg("--store")
            .arg(&store)
            .args(["--fqdn", POD_FQDN])
            .stdin(std::process::Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let pid = watcher.0.id();
    assert!(wait_for(SERVE_LIMIT, || watching(pid).then_some(())).is_some(), "the watcher never watched");
    let text = || fs::read_to_string(&log).unwrap();
    let refused =
        "zk-entry: error: refused the changed TLS Secret, keeping the current key store: --tls_dir: ";
    let keep = |data: &Path| {
        for f in ["tls.key", "ca.crt"] {
            fs::copy(first.join(f), data.join(f)).unwrap();
        }
    };
    let loaded = |watcher: &mut support::Reaped, secret: &Path, what: &str| {
        let line =
            format!("zk-entry: TLS Secret changed: certificate serial {} for {POD_FQDN}", serial_of(secret));
        let seen = wait_for(SERVE_LIMIT, || text().contains(&line).then_some(()));
        assert!(seen.is_some(), "{what}: the next good pair was not loaded: {}", text());
        assert!(watcher.0.try_wait().unwrap().is_none(), "{what}: the watcher exited: {}", text());
        let key_store = fs::read_to_string(store.join("keystore.pem")).unwrap();
        let cert = fs::read_to_string(secret.join("tls.crt")).unwrap();
        assert!(key_store.contains(cert.trim()), "{what}: the key store holds another certificate");
    };

    // Refused, the `nth` time, without being read: the most the watcher ever held stays far
    // below what an unbounded read of /dev/zero takes before the limit stops it (a capped read
    // holds at most 1 MiB a file).
    let not_regular = format!("{refused}{}: is not a regular file", secret.join("tls.crt").display());
    let refused_unread = |nth: usize, what: &str| {
        let seen = wait_for(SERVE_LIMIT, || (text().matches(&not_regular).count() == nth).then_some(()));
        assert!(seen.is_some(), "{what} in the Secret was not refused: {}", text());
        let peak_kib: u64 = support::proc_status(pid, "VmHWM")
            .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
            .expect("VmHWM of the watcher");
        assert!(peak_kib < 128 * 1024, "{what}: the watcher read it: it held {peak_kib} KiB at its peak");
    };

    // A FIFO as tls.crt: a blocking read would wait for a writer for ever.
    kubelet_swap(&secret, "..2026_12_01_10_00_00.2", |data| {
        nix::unistd::mkfifo(&data.join("tls.crt"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        keep(data);
    });
    refused_unread(1, "a FIFO");
    kubelet_update(&secret, &second, "..2026_12_01_10_05_00.3");
    loaded(&mut watcher, &second, "after a FIFO");

    // tls.crt a link to /dev/zero: an unbounded read would grow without end.
    kubelet_swap(&secret, "..2026_12_01_10_10_00.4", |data| {
        std::os::unix::fs::symlink("/dev/zero", data.join("tls.crt")).unwrap();
        keep(data);
    });
    refused_unread(2, "a link to /dev/zero");
    kubelet_update(&secret, &third, "..2026_12_01_10_15_00.5");
    loaded(&mut watcher, &third, "after /dev/zero");
}

fn serial_of(secret: &Path) -> String {
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(secret.join("tls.crt"))
        .output()
        .unwrap();
    stdout(&out).trim().strip_prefix("serial=").unwrap().to_string()
}

#[test]
fn tls_quorum_and_secure_client_port_on_three_pods() {
    use support::ensemble::{Ensemble, Launch, pod_ip};
    require_zookeeper();
    let pki = Pki::new("zk-test-ca");
    let foreign = Pki::new("foreign-ca");
    let mut e = Ensemble::new(Path::new(BIN), 3);
    let kinds = [KeyKind::RsaPkcs1, KeyKind::EcSec1, KeyKind::RsaPkcs8];
    let mut secrets = Vec::new();
    for (ordinal, kind) in kinds.into_iter().enumerate() {
        let fqdn = format!("zk-{ordinal}.zk-hs.default.svc.cluster.local");
        // zk-2's certificate comes from another CA (and it trusts only that one).
        let ca = if ordinal == 2 { &foreign } else { &pki };
        // The address too: the test's client dials pods by address (a real one dials a name).
        let ip = format!("IP:{}", pod_ip(ordinal));
        let secret = ca.issue(&format!("zk-{ordinal}"), &[&fqdn, &ip], kind, 30, BOTH_USAGES);
        mount_tls_secret(&secret, &e.pod_dir(ordinal).join("opt/tls"));
        secrets.push(secret);
    }
    let client_cert = pki.issue("client", &["client.zk-test"], KeyKind::RsaPkcs8, 30, BOTH_USAGES);
    let mut argv = e.command_line(Launch::ZkEntry);
    argv.push("--tls_dir=/opt/tls".into());
    for ordinal in 0..3 {
        e.start_with(ordinal, &argv);
    }
    // zk-0 and zk-1 form a quorum over TLS; zk-2 (foreign CA) is refused and stays out.
    e.wait_serving(&[0, 1], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    assert_zk2_refused(&e, &["PKIX path building failed", "certificate_unknown"]);
    assert!(!e.ready(2, true), "zk-2 with a foreign CA serves");

    // The quorum ports speak TLS with the pod's own certificate.
    let netns = e.client().netns();
    let election = format!("{}:3888", pod_ip(0));
    assert_eq!(
        served_serial(&netns, &election, &client_cert).as_deref(),
        Some(serial_of(&secrets[0]).as_str())
    );
    // The secure client port: four-letter words over TLS; the plaintext port only on loopback.
    let secure = format!("{}:2281", pod_ip(0));
    let reply = s_client(&netns, &secure, &client_cert, "ruok");
    assert!(reply.contains("imok"), "{reply}");
    // A client without a certificate of the CA gets no answer (ZooKeeper's ssl.clientAuth).
    let stranger = foreign.issue("stranger", &["client.zk-test"], KeyKind::RsaPkcs8, 30, BOTH_USAGES);
    fs::copy(pki.dir.path().join("ca.crt"), stranger.join("ca.crt")).unwrap();
    let refused_client = s_client(&netns, &secure, &stranger, "ruok");
    assert!(!refused_client.contains("imok"), "{refused_client}");
    // ZooKeeper's own client over TLS (Netty; its key store is key and certificate in one PEM).
    let client_store = client_cert.join("client.pem");
    let pem = |f: &str| fs::read_to_string(client_cert.join(f)).unwrap();
    fs::write(&client_store, format!("{}{}", pem("tls.key"), pem("tls.crt"))).unwrap();
    let netty: Vec<String> = [
        "netty-buffer",
        "netty-codec",
        "netty-common",
        "netty-handler",
        "netty-resolver",
        "netty-transport",
        "netty-transport-native-unix-common",
        "netty-transport-native-epoll",
    ]
    .iter()
    .map(|j| format!("/usr/share/java/{j}.jar"))
    .collect();
    let flags = format!(
        "-cp /usr/share/java/zookeeper.jar:{} -Dzookeeper.client.secure=true -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty -Dzookeeper.ssl.keyStore.location={} -Dzookeeper.ssl.keyStore.type=PEM -Dzookeeper.ssl.trustStore.location={} -Dzookeeper.ssl.trustStore.type=PEM",
        netty.join(":"),
        client_store.display(),
        client_cert.join("ca.crt").display()
    );
    let over_tls = zkcli_session_env(
        &e.client(),
        &[("CLIENT_JVMFLAGS", &flags)],
        &secure,
        "create /over-tls yes\nget /over-tls\nquit\n",
    );
    assert!(over_tls.contains("Created /over-tls") && over_tls.contains("\nyes\n"), "{over_tls}");
    let plain = std::process::Command::new("nsenter")
        .args([
            &format!("--net={}", netns.display()),
            "--",
            "timeout",
            "5",
            "bash",
            "-c",
            &format!("exec 3<>/dev/tcp/{}/2181", pod_ip(0)),
        ])
        .output()
        .unwrap();
    assert!(!plain.status.success(), "the plaintext client port is reachable from another pod");
    assert!(e.ready(0, true) && e.role(0).is_some(), "probes in the pod use the loopback port");

    // Rotation as the kubelet does it: the quorum port serves the new certificate, no restart.
    let pid1 = e.pid1(0);
    let renewed = pki.issue(
        "zk-0-renewed",
        &["zk-0.zk-hs.default.svc.cluster.local"],
        KeyKind::RsaPkcs1,
        30,
        BOTH_USAGES,
    );
    kubelet_update(&e.pod_dir(0).join("opt/tls"), &renewed, "..2026_11_28_21_00_00.2");
    let new_serial = serial_of(&renewed);
    let served = wait_for(SERVE_LIMIT, || {
        (served_serial(&netns, &election, &client_cert).as_deref() == Some(new_serial.as_str())).then_some(())
    });
    let log0 = |e: &Ensemble| fs::read_to_string(e.pod_dir(0).join("logs/container.err")).unwrap();
    assert!(served.is_some(), "zk-0 still serves the old certificate: {}", log0(&e));
    assert_eq!(e.pid1(0), pid1, "zk-0 was restarted");
    assert!(log0(&e).contains(&format!("zk-entry: TLS Secret changed: certificate serial {new_serial} for zk-0.zk-hs.default.svc.cluster.local")), "{}", log0(&e));
    // The secure client port by version (docs/versions.md): 3.9 serves the renewed certificate
    // to new connections without a restart; 3.8.0 keeps the old one until the pod restarts.
    let image = e.zookeeper(0);
    let on_secure = || served_serial(&netns, &secure, &client_cert);
    if image.at_least(3, 9) {
        let renewed =
            wait_for(SERVE_LIMIT, || (on_secure().as_deref() == Some(new_serial.as_str())).then_some(()));
        assert!(
            renewed.is_some(),
            "{}: the secure client port still serves {:?}",
            image.version,
            on_secure()
        );
        assert_eq!(e.pid1(0), pid1, "zk-0 was restarted");
    } else {
        std::thread::sleep(std::time::Duration::from_secs(2));
        assert_eq!(
            on_secure(),
            Some(serial_of(&secrets[0])),
            "{}: the secure client port reloaded",
            image.version
        );
    }
    // A broken new pair (the key of another certificate) is refused; the good one stays.
    let broken = pki.issue(
        "zk-0-broken",
        &["zk-0.zk-hs.default.svc.cluster.local"],
        KeyKind::RsaPkcs1,
        30,
        BOTH_USAGES,
    );
    fs::copy(secrets[0].join("tls.key"), broken.join("tls.key")).unwrap();
    kubelet_update(&e.pod_dir(0).join("opt/tls"), &broken, "..2026_11_28_22_00_00.3");
    let logged = wait_for(SERVE_LIMIT, || {
        log0(&e).contains("zk-entry: error: refused the changed TLS Secret, keeping the current key store: --tls_dir: /opt/tls/tls.key: does not belong to the certificate").then_some(())
    });
    assert!(logged.is_some(), "{}", log0(&e));
    assert_eq!(
        served_serial(&netns, &election, &client_cert),
        Some(new_serial.clone()),
        "the refused pair replaced the good one"
    );
    assert!(e.ready(0, true));

    // With a certificate of the right CA, zk-2 joins.
    e.kill(2);
    let tls = e.pod_dir(2).join("opt/tls");
    fs::remove_dir_all(&tls).unwrap();
    let fixed =
        pki.issue("zk-2-fixed", &["zk-2.zk-hs.default.svc.cluster.local"], KeyKind::EcSec1, 30, BOTH_USAGES);
    mount_tls_secret(&fixed, &tls);
    // Started with the plaintext client port off, it serves clients on the secure port only.
    let mut secure_only = argv.clone();
    secure_only.push("--client_plaintext=off".into());
    e.start_with(2, &secure_only);
    let secure2 = format!("{}:2281", pod_ip(2));
    let serving = wait_for(SERVE_LIMIT, || {
        let reply = s_client(&netns, &secure2, &client_cert, "srvr");
        (reply.contains("Mode: follower") || reply.contains("Mode: leader")).then_some(())
    });
    assert!(serving.is_some(), "zk-2 does not serve on its secure port: {}", e.log(2));
    let zoo_cfg = fs::read_to_string(e.pod_dir(2).join("opt/zookeeper/conf/zoo.cfg")).unwrap();
    assert!(!zoo_cfg.contains("\nclientPort="), "{zoo_cfg}");
    assert!(!e.ready(2, false), "the plaintext client port answers with --client_plaintext=off");
}

/// Turning quorum TLS on in a running plaintext ensemble without losing it: ZooKeeper's three
/// rolling restarts, as `--quorum_tls=accept` (plaintext out, both in), `both` (TLS out, both in)
/// and `on`. A single roll straight to TLS does not work: a TLS member cannot reach the plaintext
/// ones (tried: it never joins).
#[test]
fn tls_rolls_onto_a_running_plaintext_ensemble_in_three_steps() {
    use support::ensemble::{Ensemble, Launch, pod_ip};
    require_zookeeper();
    let pki = Pki::new("zk-test-ca");
    let mut e = Ensemble::new(Path::new(BIN), 3);
    let mut secrets = Vec::new();
    for ordinal in 0..3 {
        let fqdn = format!("zk-{ordinal}.zk-hs.default.svc.cluster.local");
        let secret = pki.issue(&format!("zk-{ordinal}"), &[&fqdn], KeyKind::RsaPkcs1, 30, BOTH_USAGES);
        mount_tls_secret(&secret, &e.pod_dir(ordinal).join("opt/tls"));
        secrets.push(secret);
    }
    let client_cert = pki.issue("client", &["client.zk-test"], KeyKind::RsaPkcs8, 30, BOTH_USAGES);
    let plaintext = e.command_line(Launch::ZkEntry);
    for ordinal in 0..3 {
        e.start_with(ordinal, &plaintext);
    }
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    let client = e.client();
    let step = |mode: &str| {
        let mut argv = plaintext.clone();
        argv.extend(["--tls_dir=/opt/tls".to_string(), format!("--quorum_tls={mode}")]);
        argv
    };
    let (accept, both, on) = (step("accept"), step("both"), step("on"));
    // A StatefulSet rolls from the highest ordinal down; after each pod, the ensemble must take a
    // write and the restarted pod must serve.
    for (round, argv) in [("accept", &accept), ("both", &both), ("on", &on)] {
        for ordinal in [2, 1, 0] {
            let (status, _) = e.signal_pid1(ordinal, libc::SIGTERM, std::time::Duration::from_secs(30));
            assert!(status.code().is_some(), "zk-{ordinal}: {status}");
            e.start_with(ordinal, argv);
            e.wait_serving(&[ordinal], SERVE_LIMIT)
                .unwrap_or_else(|why| panic!("{round}, zk-{ordinal}: {why}"));
            // Through the restarted server, on its loopback port (with --tls_dir the only
            // plaintext one): the write needs a quorum that includes it.
            let path = format!("/roll-{round}-{ordinal}");
            let zkcli =
                ["/usr/share/zookeeper/bin/zkCli.sh", "-server", "127.0.0.1:2181", "create", &path, "x"];
            let wrote = wait_for(SERVE_LIMIT, || {
                let out = e.exec(ordinal, &zkcli);
                let text = format!("{}{}", stdout(&out), stderr(&out));
                text.contains(&format!("Created {path}")).then_some(())
            });
            assert!(wrote.is_some(), "{round}, zk-{ordinal}: no write accepted: {}", e.log(ordinal));
        }
    }
    // Every election port now speaks TLS with its pod's certificate.
    let netns = client.netns();
    for (ordinal, secret) in secrets.iter().enumerate() {
        let address = format!("{}:3888", pod_ip(ordinal));
        assert_eq!(served_serial(&netns, &address, &client_cert), Some(serial_of(secret)), "zk-{ordinal}");
    }
}

/// A user of the pod who is neither root nor ZooKeeper's: `nobody`.
const OTHER_USER: &str = "65534";

/// The files below `roots` in pod `ordinal` that hold one of `needles` and that `grep`, run in
/// the pod as `user` (`None`: root), can read.
fn grep_in_pod(
    e: &mut support::ensemble::Ensemble,
    ordinal: usize,
    user: Option<&str>,
    roots: &[&str],
    needles: &[&str],
) -> Vec<String> {
    let mut argv: Vec<String> = Vec::new();
    if let Some(uid) = user {
        argv.extend(["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", "--"].map(String::from));
    }
    // -r follows no link below the roots; -s: unreadable files and directories are skipped.
    argv.extend(["grep", "-rlsF"].map(String::from));
    for needle in needles {
        argv.extend(["-e".to_string(), needle.to_string()]);
    }
    argv.push("--".into());
    argv.extend(roots.iter().map(|r| r.to_string()));
    let out = e.exec(ordinal, &argv.iter().map(String::as_str).collect::<Vec<_>>());
    // 0: found, 1: nothing found, 2: something could not be read (and nothing found).
    assert!(matches!(out.status.code(), Some(0..=2)), "grep in zk-{ordinal}: {}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

/// Each of `needles` is in some file below `roots` that root can read in pod `ordinal` (so the
/// search looks where the secrets are), and in none that [`OTHER_USER`] can read.
fn assert_secrets_private(
    e: &mut support::ensemble::Ensemble,
    ordinal: usize,
    roots: &[&str],
    needles: &[(&str, &str)],
    when: &str,
) {
    for (what, needle) in needles {
        let found = grep_in_pod(e, ordinal, None, roots, &[needle]);
        assert!(!found.is_empty(), "{when}: zk-{ordinal}: the {what} is nowhere below {roots:?}");
    }
    let all: Vec<&str> = needles.iter().map(|(_, n)| *n).collect();
    let readable = grep_in_pod(e, ordinal, Some(OTHER_USER), roots, &all);
    if !readable.is_empty() {
        let listing = e.exec(
            ordinal,
            &["sh", "-c", "ls -la \"$@\"", "ls"]
                .iter()
                .copied()
                .chain(readable.iter().map(String::as_str))
                .collect::<Vec<_>>(),
        );
        panic!(
            "{when}: zk-{ordinal}: uid {OTHER_USER} can read secrets in {readable:?}:\n{}",
            stdout(&listing)
        );
    }
}

/// Regression: with `--reconfig`, ZooKeeper rewrites zoo.cfg itself (at the first epoch and after
/// every reconfiguration) with the JVM's umask, and a `--set_file` secret in it became
/// `-rw-r--r--`. Secrets planted in every place they reach (a `--set_file` value, the quorum SASL
/// password, the super user's digest, a znode's data and its ACL's digest, which ZooKeeper keeps in
/// its transaction log) are searched for in every file of the conf, data and log directories and
/// /tmp, as root (they are there) and as another user of the pod (they are not readable), after
/// the start of a dynamic ensemble and after a fourth pod joined it (two reconfigurations).
#[test]
fn no_secret_is_readable_by_another_user_of_the_pod_in_dynamic_mode() {
    use base64::Engine as _;
    use support::dynamic::{DYNAMIC, PASSWORD, give_secret, only, wait_voters};
    use support::ensemble::Ensemble;
    require_zookeeper();
    const TOKEN: &str = "Pl4nted-set-file-token";
    const QUORUM: &str = "Pl4nted-quorum-pass";
    const DATA: &str = "Pl4nted-znode-data";
    let digest = |text: &str| {
        base64::engine::general_purpose::STANDARD.encode(sha1_smol::Sha1::from(text).digest().bytes())
    };
    let super_digest = digest(&format!("super:{PASSWORD}"));
    let acl_digest = digest("app:Pl4nted-acl-pass");
    let needles = [
        ("--set_file value", TOKEN),
        ("quorum password", QUORUM),
        ("super user's digest", super_digest.as_str()),
        ("znode's data", DATA),
        ("ACL's digest", acl_digest.as_str()),
    ];
    let roots = ["/var/lib/zookeeper", "/var/log", "/tmp", "/opt/zookeeper"];
    let mut e = Ensemble::new(Path::new(BIN), 4);
    give_secret(&e);
    for ordinal in 0..4 {
        let dir = e.pod_dir(ordinal).join("opt/secret");
        fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
        fs::write(dir.join("quorum"), QUORUM).unwrap();
        fs::create_dir_all(e.pod_dir(ordinal).join("opt/zookeeper")).unwrap();
    }
    let mut flags: Vec<&str> = DYNAMIC.to_vec();
    flags.extend(["--set_file=my.token=/opt/secret/token", "--quorum_password_file=/opt/secret/quorum"]);
    for ordinal in 0..3 {
        e.start_flags(ordinal, &flags);
    }
    e.wait_serving(&[0, 1, 2], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    wait_voters(&mut e, 0, &[1, 2, 3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    // What ZooKeeper creates is its user's alone.
    let java = e.java(0);
    assert_eq!(support::proc_status(java, "Umask").as_deref(), Some("0077"), "the JVM's umask");
    let acl = format!("digest:app:{acl_digest}:cdrwa");
    let client = e.client();
    let wrote = wait_for(SERVE_LIMIT, || client.write(&only(0), &["create", "/secret", DATA, &acl]).ok());
    assert!(wrote.is_some(), "no znode written: {}", e.log(0));
    // ZooKeeper's own rewrite of zoo.cfg at the first epoch: the dynamic file it names is its own
    // (zk-entry names one with the version it read).
    let rewritten = |e: &Ensemble, ordinal: usize| {
        let conf = fs::read_to_string(e.pod_dir(ordinal).join("var-lib/zookeeper/conf/zoo.cfg")).unwrap();
        conf.contains(TOKEN)
            && conf.lines().any(|l| l.starts_with("dynamicConfigFile=") && l.contains(".dynamic.1"))
    };
    for ordinal in 0..3 {
        let seen = wait_for(SERVE_LIMIT, || rewritten(&e, ordinal).then_some(()));
        assert!(seen.is_some(), "zk-{ordinal}: ZooKeeper never rewrote zoo.cfg: {}", e.log(ordinal));
        assert_secrets_private(&mut e, ordinal, &roots, &needles, "after the start");
    }

    // A fourth pod joins: added as an observer, then promoted.
    e.start_flags(3, &flags);
    wait_voters(&mut e, 0, &[1, 2, 3, 4], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}{}", e.log(3)));
    e.wait_serving(&[3], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    for ordinal in 0..4 {
        let members = |e: &Ensemble| {
            let conf = fs::read_to_string(e.pod_dir(ordinal).join("var-lib/zookeeper/conf/zoo.cfg")).unwrap();
            let name = conf.lines().find_map(|l| l.strip_prefix("dynamicConfigFile=")).map(str::to_string)?;
            let dynamic = e.pod_dir(ordinal).join("var-lib").join(name.trim_start_matches("/var/lib/"));
            fs::read_to_string(dynamic).ok().filter(|d| d.contains("server.4=") && d.contains(":participant"))
        };
        let seen = wait_for(SERVE_LIMIT, || members(&e).filter(|d| d.matches(":participant").count() == 4));
        assert!(seen.is_some(), "zk-{ordinal}: zoo.cfg never named the new membership: {}", e.log(ordinal));
        assert_secrets_private(&mut e, ordinal, &roots, &needles, "after the reconfigurations");
    }
}

/// The first base64 line of the private key in the key store at `path`.
fn key_line(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines().skip_while(|l| *l != "-----BEGIN PRIVATE KEY-----");
    lines.nth(1).expect("a private key in the key store").to_string()
}

/// As [`no_secret_is_readable_by_another_user_of_the_pod_in_dynamic_mode`], in static mode with
/// TLS: the key store zk-entry writes, the one its watcher writes after a rotation, a
/// `--set_file` value and a znode's data are readable by root and by nobody else of the pod.
#[test]
fn no_secret_is_readable_by_another_user_of_the_pod_with_tls() {
    use support::ensemble::Ensemble;
    require_zookeeper();
    const TOKEN: &str = "Pl4nted-static-token";
    const DATA: &str = "Pl4nted-static-data";
    let pki = Pki::new("zk-test-ca");
    let names = ["zk-0", POD_FQDN];
    let first = pki.issue("first", &names, KeyKind::RsaPkcs1, 30, BOTH_USAGES);
    let renewed = pki.issue("renewed", &names, KeyKind::EcSec1, 30, BOTH_USAGES);
    let mut e = Ensemble::new(Path::new(BIN), 1);
    mount_tls_secret(&first, &e.pod_dir(0).join("opt/tls"));
    fs::create_dir_all(e.pod_dir(0).join("opt/secret")).unwrap();
    fs::write(e.pod_dir(0).join("opt/secret/token"), TOKEN).unwrap();
    e.start_flags(0, &["--servers=1", "--tls_dir=/opt/tls", "--set_file=my.token=/opt/secret/token"]);
    e.wait_serving(&[0], SERVE_LIMIT).unwrap_or_else(|why| panic!("{why}"));
    let local = ["/usr/share/zookeeper/bin/zkCli.sh", "-server", "127.0.0.1:2181", "create", "/secret", DATA];
    let wrote = wait_for(SERVE_LIMIT, || {
        let out = e.exec(0, &local);
        format!("{}{}", stdout(&out), stderr(&out)).contains("Created /secret").then_some(())
    });
    assert!(wrote.is_some(), "no znode written: {}", e.log(0));
    let roots = ["/opt/zookeeper", "/var/lib/zookeeper", "/var/log", "/tmp"];
    let key_store = e.pod_dir(0).join("opt/zookeeper/conf/tls/keystore.pem");
    let key = key_line(&key_store);
    let needles = [("key store's key", key.as_str()), ("--set_file value", TOKEN), ("znode's data", DATA)];
    assert_secrets_private(&mut e, 0, &roots, &needles, "after the start");

    // The watcher's key store after a rotation.
    kubelet_update(&e.pod_dir(0).join("opt/tls"), &renewed, "..2026_12_02_09_00_00.2");
    let serial = serial_of(&renewed);
    let rotated = wait_for(SERVE_LIMIT, || {
        e.log(0).contains(&format!("TLS Secret changed: certificate serial {serial}")).then_some(())
    });
    assert!(rotated.is_some(), "the rotation was not loaded: {}", e.log(0));
    let new_key = key_line(&key_store);
    assert_ne!(new_key, key);
    let needles =
        [("rotated key store's key", new_key.as_str()), ("--set_file value", TOKEN), ("znode's data", DATA)];
    assert_secrets_private(&mut e, 0, &roots, &needles, "after the rotation");
}
