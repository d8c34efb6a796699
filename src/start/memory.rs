//! The heap (`--heap`): its JVM arguments, and for `--heap=N%` the container's memory limit.
//!
//! The JVM sizes the heap itself (`-XX:MaxRAMPercentage`, which Java 17 computes from the cgroup
//! limit); zk-entry reads the same limit first so that a pod without one is refused (the JVM
//! would take N% of the node's memory instead) and so that the start log says what the heap
//! will be.
//!
//! Where the limit is: `/proc/self/cgroup` names this process's cgroup. With cgroup v1 the line
//! that lists the `memory` controller gives the path below `/sys/fs/cgroup/memory`
//! (`memory.limit_in_bytes`); with cgroup v2 the `0::` line gives it below `/sys/fs/cgroup`
//! (`memory.max`). In a container the cgroup file system is usually mounted at the container's
//! own cgroup (or the path is `/` in a cgroup namespace), so when the named path does not exist
//! below the mount, the mount's own file is the container's.

use std::fs;
use std::path::{Path, PathBuf};

use super::plan::Contribution;
use super::settings::{Heap, Java, MIN_HEAP, MIN_HEAP_BYTES};
use crate::exit;

const PROC_SELF_CGROUP: &str = "/proc/self/cgroup";
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// cgroup v1 writes "no limit" as the largest page-aligned i64; anything this large is no limit.
const UNLIMITED_FROM: u64 = 1 << 62;

/// A memory limit and the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Limit {
    pub(crate) bytes: u64,
    pub(crate) file: PathBuf,
}

/// What the heap adds to a start: the JVM's heap arguments (initial and maximum alike, so the
/// heap never pauses to grow) and, for a share of the memory limit, the heap it gives.
pub(crate) fn contribution(java: &Java) -> anyhow::Result<Contribution> {
    let (jvm_args, notes) = match &java.heap {
        Heap::Size(size) => (vec![format!("-Xms{size}"), format!("-Xmx{size}")], Vec::new()),
        Heap::Percent { percent, flag } => (
            vec![format!("-XX:InitialRAMPercentage={percent}"), format!("-XX:MaxRAMPercentage={percent}")],
            vec![heap_note(flag, *percent, Path::new(PROC_SELF_CGROUP), Path::new(CGROUP_ROOT))?],
        ),
    };
    Ok(Contribution { jvm_args, notes, ..Contribution::default() })
}

/// The heap `--heap=N%` gives, as a line for the start log and `--dry-run`; refused (usage
/// error) when the container has no memory limit.
pub(crate) fn heap_note(flag: &str, percent: u64, proc_cgroup: &Path, root: &Path) -> anyhow::Result<String> {
    let cgroup = fs::read_to_string(proc_cgroup).unwrap_or_default();
    let (limit, looked) = limit(&cgroup, root);
    let Some(limit) = limit else {
        return exit::usage(format!(
            "{flag}: {percent}% needs a container memory limit, and there is none ({looked}); set resources.limits.memory on the container, or give a size such as 2G"
        ));
    };
    let heap = limit.bytes / 100 * percent + limit.bytes % 100 * percent / 100;
    if heap < MIN_HEAP_BYTES {
        return exit::usage(format!(
            "{flag}: {percent}% of the memory limit {} ({}) is {}, below the {MIN_HEAP} that ZooKeeper needs to run; raise resources.limits.memory, or give a size of at least {MIN_HEAP}",
            size(limit.bytes),
            limit.file.display(),
            size(heap)
        ));
    }
    Ok(format!(
        "memory limit {} ({}); heap {percent}% of it: {} (-XX:MaxRAMPercentage={percent})",
        size(limit.bytes),
        limit.file.display(),
        size(heap)
    ))
}

/// The limit for this `/proc/self/cgroup` text under `root`, or what was looked at.
fn limit(cgroup: &str, root: &Path) -> (Option<Limit>, String) {
    let mut looked = Vec::new();
    for (dir, file, path) in candidates(cgroup) {
        let base = root.join(dir);
        for candidate in [base.join(path.trim_start_matches('/')).join(file), base.join(file)] {
            let Ok(text) = fs::read_to_string(&candidate) else { continue };
            let value = text.trim();
            match value.parse::<u64>() {
                Ok(bytes) if bytes < UNLIMITED_FROM => {
                    return (Some(Limit { bytes, file: candidate }), String::new());
                }
                _ => looked.push(format!("{}: {value}", candidate.display())),
            }
            break;
        }
    }
    if looked.is_empty() {
        looked.push(format!("no memory cgroup file found under {}", root.display()));
    }
    (None, looked.join(", "))
}

/// (controller directory, limit file, cgroup path) for each hierarchy in the text, v1 first.
fn candidates(cgroup: &str) -> Vec<(&'static str, &'static str, &str)> {
    let mut found = Vec::new();
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if controllers.split(',').any(|c| c == "memory") {
            found.insert(0, ("memory", "memory.limit_in_bytes", path));
        } else if controllers.is_empty() {
            found.push(("", "memory.max", path));
        }
    }
    found
}

/// Bytes in the largest binary unit that keeps one decimal exact enough for a log line.
fn size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, factor) in UNITS {
        if bytes >= factor {
            let whole = bytes / factor;
            let tenth = (bytes % factor) * 10 / factor;
            return if tenth == 0 { format!("{whole} {unit}") } else { format!("{whole}.{tenth} {unit}") };
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    const V1: &str = "9:name=systemd:/\n4:memory:/kubepods/pod1/c1\n1:cpu:/\n0::/\n";

    #[test]
    fn v1_limit_of_the_named_cgroup_else_of_the_mount() {
        let root = tree(&[("memory/kubepods/pod1/c1/memory.limit_in_bytes", "1073741824\n")]);
        let (found, _) = limit(V1, root.path());
        assert_eq!(found.unwrap().bytes, 1 << 30);
        // Mounted at the container's own cgroup: the named path does not exist below it.
        let root = tree(&[("memory/memory.limit_in_bytes", "536870912\n")]);
        let (found, _) = limit(V1, root.path());
        assert_eq!(found.unwrap().file, root.path().join("memory/memory.limit_in_bytes"));
    }

    #[test]
    fn v2_limit_and_no_limit() {
        let root = tree(&[("memory.max", "2147483648\n")]);
        assert_eq!(limit("0::/\n", root.path()).0.unwrap().bytes, 2 << 30);
        let root = tree(&[("memory.max", "max\n")]);
        let (found, looked) = limit("0::/\n", root.path());
        assert_eq!(found, None);
        assert!(looked.ends_with("memory.max: max"), "{looked}");
        let root = tree(&[("memory/kubepods/pod1/c1/memory.limit_in_bytes", "9223372036854771712\n")]);
        assert_eq!(limit(V1, root.path()).0, None);
        assert!(limit("", root.path()).1.starts_with("no memory cgroup file found"));
    }

    #[test]
    fn heap_note_names_limit_and_heap_or_refuses() {
        let root = tree(&[("memory.max", "1073741824\n")]);
        let cgroup = tree(&[("cgroup", "0::/\n")]);
        let note = heap_note("--heap", 75, &cgroup.path().join("cgroup"), root.path()).unwrap();
        assert!(note.starts_with("memory limit 1 GiB ("), "{note}");
        assert!(note.ends_with("; heap 75% of it: 768 MiB (-XX:MaxRAMPercentage=75)"), "{note}");
        let none = tree(&[("memory.max", "max\n")]);
        let err = heap_note("--heap", 75, &cgroup.path().join("cgroup"), none.path()).unwrap_err();
        assert_eq!(exit::code_of(&err), exit::USAGE);
        assert!(exit::one_line(&err).contains("needs a container memory limit, and there is none"));
    }

    #[test]
    fn a_share_of_a_small_limit_below_the_heap_floor_is_refused() {
        let root = tree(&[("memory.max", "33554432\n")]);
        let cgroup = tree(&[("cgroup", "0::/\n")]);
        let err = heap_note("--heap", 75, &cgroup.path().join("cgroup"), root.path()).unwrap_err();
        assert_eq!(exit::code_of(&err), exit::USAGE);
        let line = exit::one_line(&err);
        assert!(line.starts_with("--heap: 75% of the memory limit 32 MiB ("), "{line}");
        assert!(line.contains("is 24 MiB, below the 32M"), "{line}");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(805306368), "768 MiB");
        assert_eq!(size(3 << 29), "1.5 GiB");
        assert_eq!(size(512), "512 bytes");
    }
}
