//! ZooKeeper versions besides the machine's: Debian's packages of other suites (bullseye 3.4.13,
//! trixie 3.9.3, sid 3.9.6), fetched and extracted under target/zk-dist by
//! tests/scripts/zk-dist.sh. A pod of such a version gets the extracted /usr/share/java and
//! /usr/share/zookeeper bound over its own, as an image built on that suite would hold them: the
//! jars' manifests name their dependencies by absolute path, so a classpath alone would mix in
//! the machine's jars.
//!
//! `bookworm` is the machine's own install (ZooKeeper 3.8.0, tests/scripts/install-deps.sh):
//! nothing is bound. The suite a run's ensembles start on by default is `ZK_SUITE`
//! (bookworm when unset); the Makefile runs the real-server suites once per suite of its list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};

/// The suite whose ZooKeeper is the machine's own.
pub const MACHINE: &str = "bookworm";

/// One fetched version.
#[derive(Debug)]
pub struct Dist {
    pub suite: String,
    /// Upstream version, e.g. `3.9.3`.
    pub version: String,
    /// The extracted root: `usr/share/java` and `usr/share/zookeeper` below it. `None` for the
    /// machine's own install.
    pub root: Option<PathBuf>,
}

impl Dist {
    /// The (major, minor, patch) of [`Dist::version`].
    pub fn numbers(&self) -> (u32, u32, u32) {
        let mut parts = self.version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// At least `major.minor`?
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        let (a, b, _) = self.numbers();
        (a, b) >= (major, minor)
    }

    /// The shell lines that bind [`Dist::binds`] in a pod's mount namespace (none for the
    /// machine's own).
    pub fn mounts(&self) -> Vec<String> {
        self.binds()
            .iter()
            .map(|(from, to)| {
                format!("mount --bind {} {to}", super::shell_quote(&from.display().to_string()))
            })
            .collect()
    }

    /// Does mntr's `zk_version` (`3.9.6-<commit>, built on ...`) name this release?
    pub fn is_served_as(&self, zk_version: &str) -> bool {
        let v = &self.version;
        zk_version.starts_with(&format!("{v}-")) || zk_version.starts_with(&format!("{v},"))
    }

    /// The host directories a pod binds, as (source, target) pairs.
    pub fn binds(&self) -> Vec<(PathBuf, &'static str)> {
        match &self.root {
            None => Vec::new(),
            Some(root) => vec![
                (root.join("usr/share/java"), "/usr/share/java"),
                (root.join("usr/share/zookeeper"), "/usr/share/zookeeper"),
            ],
        }
    }
}

static FETCHED: Mutex<BTreeMap<String, Arc<Dist>>> = Mutex::new(BTreeMap::new());

/// The run's default suite: `ZK_SUITE`, else the machine's.
pub fn default_suite() -> String {
    std::env::var("ZK_SUITE").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| MACHINE.to_string())
}

/// The run's default version.
pub fn current() -> Arc<Dist> {
    of(&default_suite())
}

/// The version of `suite`, fetched once per process (and cached on disk across runs).
pub fn of(suite: &str) -> Arc<Dist> {
    let mut fetched = FETCHED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(dist) = fetched.get(suite) {
        return dist.clone();
    }
    let dist = Arc::new(if suite == MACHINE { machine() } else { fetch(suite) });
    fetched.insert(suite.to_string(), dist.clone());
    dist
}

fn machine() -> Dist {
    let jar = std::fs::read_link("/usr/share/java/zookeeper.jar").unwrap_or_default();
    let name = jar.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let version = name.strip_prefix("zookeeper-").and_then(|n| n.strip_suffix(".jar")).unwrap_or("3.8.0");
    Dist { suite: MACHINE.to_string(), version: version.to_string(), root: None }
}

fn fetch(suite: &str) -> Dist {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/zk-dist.sh");
    let out = Command::new("bash").arg(&script).arg(suite).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "zk-dist.sh {suite} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let line = text.lines().last().unwrap_or("");
    let fields: Vec<&str> = line.splitn(3, ' ').collect();
    assert!(fields.len() == 3 && fields[0] == suite, "zk-dist.sh {suite} printed {line:?}");
    Dist { suite: suite.to_string(), version: fields[1].to_string(), root: Some(PathBuf::from(fields[2])) }
}
