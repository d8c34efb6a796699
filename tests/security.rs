//! Production security, black-box: secret values never leak (start log, `--dry-run`, refusals,
//! files other than their 0600 destination), `--heap=N%` from a real cgroup memory limit, and the
//! election port's bind failure passed through.
//!
//! Root: the secret files are given to another user, and the heap test makes a memory cgroup.

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use support::*;

/// Values planted where a secret may come from; none may show up anywhere but in its file.
const PLANTED: [&str; 4] = ["Pl4nted-ks-pass", "Pl4nted-from-file", "Pl4nted-set-pass", "Pl4nted-jvm-pass"];

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
        ],
    );
    // The secrets live in their destinations only, each 0600 and owned by ZooKeeper's user.
    let conf = layout.path("conf");
    let secret_files: Vec<(PathBuf, u32, u32)> = files_holding_secrets(&conf);
    assert_eq!(
        secret_files,
        vec![
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
}
