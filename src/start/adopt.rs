//! Volumes that the tutorial's ZooKeeper 3.4 left, taken over in place (docs/migration.md).
//!
//! Two things stop a 3.5+ server on such a volume, and the start settles both before anything
//! is written:
//! - **No snapshot yet.** 3.4 writes its first snapshot only after `snapCount` transactions, so
//!   a member (always the leader) often holds only `log.<epoch>00000001`. 3.5+ refuses a volume
//!   with logs and no snapshot unless `zookeeper.snapshot.trust.empty` is set. That is safe
//!   exactly when the oldest log starts an epoch (its first zxid has counter 1): the logs then
//!   hold the whole history, and the server replays them as 3.4 did and writes a snapshot on the
//!   way. So the start sets it, once, and says why; once a snapshot exists it never does. A log
//!   that starts mid-epoch means history is missing: refused, never papered over (a member with
//!   a hole stays silently divergent).
//! - **The script's default log directory.** `start-zookeeper`'s `--data_log_dir` default is
//!   `/var/lib/zookeeper/log`, zk-entry's `/var/lib/zookeeper/data/log`. A start without
//!   `--data_log_dir` that finds logs at the script's default uses that directory (and says so)
//!   instead of starting beside it with an empty log; logs in both is refused.
//!
//! A layout it does not know (logs in the snapshot directory or snapshots in the log directory
//! when the two differ: the old server had other `--data_dir`/`--data_log_dir`) is refused with
//! what was found and the flag to give. Every directory is read through [`crate::fs::paths`]:
//! opened without following a link the ZooKeeper user could have planted, listed through its
//! descriptor, bounded. Only names are read, never a file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::plan::Contribution;
use super::settings::Settings;
use crate::exit;
use crate::fs::paths::{self, Guard};

/// `start-zookeeper`'s default `--data_log_dir`.
pub(crate) const SCRIPT_DATA_LOG_DIR: &str = "/var/lib/zookeeper/log";
/// The system property that lets 3.5+ load logs without a snapshot (ZOOKEEPER-3056).
pub(crate) const TRUST_EMPTY: &str = "-Dzookeeper.snapshot.trust.empty=true";
/// Where ZooKeeper keeps its files below the data and log directories.
const VERSION_DIR: &str = "version-2";
/// More entries than any ZooKeeper directory holds (purged or not, a few thousand at most).
const MAX_ENTRIES: usize = 100_000;

/// The snapshots and logs one `version-2` directory holds, by zxid.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Files {
    pub(crate) snapshots: Vec<u64>,
    pub(crate) logs: Vec<u64>,
}

impl Files {
    /// Sort the names of a `version-2` directory: `snapshot.<hex>[.<ext>]` and `log.<hex>`, as
    /// ZooKeeper names them; anything else is not ZooKeeper's to load and is left out.
    pub(crate) fn of(names: &[OsString]) -> Files {
        let zxid = |name: &str, prefix: &str| {
            let rest = name.strip_prefix(prefix)?;
            let hex = rest.split('.').next()?;
            u64::from_str_radix(hex, 16).ok().filter(|_| !hex.is_empty() && !hex.starts_with('+'))
        };
        let mut files = Files::default();
        for name in names.iter().filter_map(|n| n.to_str()) {
            if let Some(z) = zxid(name, "snapshot.") {
                files.snapshots.push(z);
            } else if let Some(z) = zxid(name, "log.") {
                files.logs.push(z);
            }
        }
        files.snapshots.sort_unstable();
        files.logs.sort_unstable();
        files
    }
}

/// What the snapshot directory (`--data_dir`) and the log directory (`--data_log_dir`) hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) data_dir: PathBuf,
    pub(crate) data_log_dir: PathBuf,
    pub(crate) snap: Files,
    /// `None` when the log directory is the data directory (one `version-2` holds both).
    pub(crate) log: Option<Files>,
}

/// What the start does about the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing to do: an empty volume, or one with a snapshot.
    AsItIs,
    /// Logs whose oldest starts an epoch, no snapshot: start once with [`TRUST_EMPTY`].
    Adopt { oldest: u64 },
}

impl Layout {
    fn logs(&self) -> &[u64] {
        self.log.as_ref().map_or(&self.snap.logs, |l| &l.logs)
    }

    fn version_dir(dir: &Path) -> PathBuf {
        dir.join(VERSION_DIR)
    }

    /// Decide; a refusal is one line saying what was found and what to do.
    pub(crate) fn judge(&self) -> anyhow::Result<Verdict> {
        let snap_dir = Layout::version_dir(&self.data_dir);
        let log_dir = Layout::version_dir(&self.data_log_dir);
        if let Some(log) = &self.log {
            if let Some(&z) = self.snap.logs.first() {
                return exit::usage(format!(
                    "refusing to start: {} holds transaction logs (log.{z:x}) but --data_log_dir is {}; ZooKeeper 3.5+ refuses such a volume: pass the --data_log_dir these logs were written with (--data_log_dir={} if the old server had the logs beside its snapshots)",
                    snap_dir.display(),
                    self.data_log_dir.display(),
                    self.data_dir.display()
                ));
            }
            if let Some(&z) = log.snapshots.first() {
                return exit::usage(format!(
                    "refusing to start: {} holds snapshots (snapshot.{z:x}) but --data_dir is {}; ZooKeeper 3.5+ refuses such a volume: pass the --data_dir these snapshots were written with (--data_dir={} if the old server kept them beside its logs)",
                    log_dir.display(),
                    self.data_dir.display(),
                    self.data_log_dir.display()
                ));
            }
        }
        let Some(&oldest) = self.logs().first() else { return Ok(Verdict::AsItIs) };
        if !self.snap.snapshots.is_empty() {
            return Ok(Verdict::AsItIs);
        }
        if oldest & 0xffff_ffff == 1 {
            return Ok(Verdict::Adopt { oldest });
        }
        exit::usage(format!(
            "refusing to start: {} holds no snapshot and its oldest transaction log, log.{oldest:x}, starts in the middle of epoch {:x}: the history before it is missing, so ZooKeeper would serve part of the tree; restore the volume's snapshot.* files, or, while the other members serve, delete {} and {} so this server copies the whole tree from the ensemble",
            snap_dir.display(),
            oldest >> 32,
            snap_dir.display(),
            log_dir.display()
        ))
    }
}

/// The files of `dir`'s `version-2`, none when it does not exist.
fn scan(dir: &Path, guard: &Guard) -> anyhow::Result<Files> {
    match paths::open_dir(&Layout::version_dir(dir), guard, false)? {
        Some(open) => Ok(Files::of(&paths::names(&open, MAX_ENTRIES)?)),
        None => Ok(Files::default()),
    }
}

/// Read the layout of `data_dir` and `data_log_dir`.
pub(crate) fn inspect(data_dir: &Path, data_log_dir: &Path, guard: &Guard) -> anyhow::Result<Layout> {
    let snap = scan(data_dir, guard)?;
    let log = match data_dir == data_log_dir {
        true => None,
        false => Some(scan(data_log_dir, guard)?),
    };
    Ok(Layout { data_dir: data_dir.to_path_buf(), data_log_dir: data_log_dir.to_path_buf(), snap, log })
}

/// The log directory a start uses: `--data_log_dir` when given; otherwise zk-entry's default,
/// unless the script's default holds this server's logs (a note says so). Both holding logs is
/// refused: which is this server's history is the operator's to say.
pub(crate) fn data_log_dir(
    configured: &Path,
    given: bool,
    guard: &Guard,
) -> anyhow::Result<(PathBuf, Option<String>)> {
    choose_log_dir(configured, given, Path::new(SCRIPT_DATA_LOG_DIR), guard)
}

/// [`data_log_dir`] with the script's default as `script`.
fn choose_log_dir(
    configured: &Path,
    given: bool,
    script: &Path,
    guard: &Guard,
) -> anyhow::Result<(PathBuf, Option<String>)> {
    if given || configured == script {
        return Ok((configured.to_path_buf(), None));
    }
    let Some(&oldest) = scan(script, guard)?.logs.first() else {
        return Ok((configured.to_path_buf(), None));
    };
    if let Some(&theirs) = scan(configured, guard)?.logs.first() {
        return exit::usage(format!(
            "refusing to start: --data_log_dir is not given and both {}/{VERSION_DIR} (start-zookeeper's default, log.{oldest:x}) and {}/{VERSION_DIR} (zk-entry's default, log.{theirs:x}) hold transaction logs; pass --data_log_dir with the one that holds this server's history",
            script.display(),
            configured.display()
        ));
    }
    let note = format!(
        "--data_log_dir not given: using {}, start-zookeeper's default, which holds this volume's transaction logs (oldest log.{oldest:x}), instead of zk-entry's default {}; pass --data_log_dir={} to say so",
        script.display(),
        configured.display(),
        script.display()
    );
    Ok((script.to_path_buf(), Some(note)))
}

/// Settle the layout: `settings` with the log directory to use, and what the start adds (the
/// one-time [`TRUST_EMPTY`] and the notes saying why).
pub(crate) fn settle(
    mut settings: Settings,
    log_dir_given: bool,
    guard: &Guard,
) -> anyhow::Result<(Settings, Contribution)> {
    let mut part = Contribution::default();
    let (dir, note) = data_log_dir(&settings.paths.data_log_dir, log_dir_given, guard)?;
    settings.paths.data_log_dir = dir;
    part.notes.extend(note);
    let layout = inspect(&settings.paths.data_dir, &settings.paths.data_log_dir, guard)?;
    if let Verdict::Adopt { oldest } = layout.judge()? {
        part.notes.push(format!(
            "{} holds no snapshot and the oldest transaction log, log.{oldest:x}, starts epoch {:x} (a volume of ZooKeeper 3.4, which takes its first snapshot late): the logs hold the whole history, so this start adds {TRUST_EMPTY} to load them; ZooKeeper writes a snapshot on the way, and later starts need nothing",
            Layout::version_dir(&settings.paths.data_dir).display(),
            oldest >> 32
        ));
        part.jvm_args.push(TRUST_EMPTY.to_string());
    }
    Ok((settings, part))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn layout(snap: &[&str], log: &[&str]) -> Layout {
        Layout {
            data_dir: "/v/data".into(),
            data_log_dir: "/v/data/log".into(),
            snap: Files::of(&names(snap)),
            log: Some(Files::of(&names(log))),
        }
    }

    #[test]
    fn zookeepers_names_are_read_and_others_left_out() {
        let files = Files::of(&names(&[
            "snapshot.100000000",
            "snapshot.2a.snappy",
            "log.200000001",
            "log.100000001",
            "acceptedEpoch",
            "currentEpoch.tmp",
            "log.",
            "log.xyz",
            "snapshot.+1",
            "lost+found",
        ]));
        assert_eq!(files.snapshots, [0x2a, 0x1_0000_0000]);
        assert_eq!(files.logs, [0x1_0000_0001, 0x2_0000_0001]);
    }

    #[test]
    fn an_empty_volume_or_one_with_a_snapshot_is_left_as_it_is() {
        assert_eq!(layout(&[], &[]).judge().unwrap(), Verdict::AsItIs);
        let with_snapshot = layout(&["snapshot.100000000"], &["log.100000001"]);
        assert_eq!(with_snapshot.judge().unwrap(), Verdict::AsItIs);
        // Once a snapshot exists, even a mid-epoch oldest log is ZooKeeper's to judge.
        assert_eq!(layout(&["snapshot.10000abcd"], &["log.10000abce"]).judge().unwrap(), Verdict::AsItIs);
    }

    #[test]
    fn logs_from_the_start_of_an_epoch_without_a_snapshot_are_adopted() {
        let l = layout(&["acceptedEpoch", "currentEpoch"], &["log.100000001", "log.100000f3a"]);
        assert_eq!(l.judge().unwrap(), Verdict::Adopt { oldest: 0x1_0000_0001 });
        // One directory for both (no separate --data_log_dir).
        let one = Layout { log: None, snap: Files::of(&names(&["log.200000001"])), ..l };
        assert_eq!(one.judge().unwrap(), Verdict::Adopt { oldest: 0x2_0000_0001 });
    }

    #[test]
    fn a_log_that_starts_mid_epoch_is_refused_saying_what_to_do() {
        let err = layout(&[], &["log.100000005", "log.100000010"]).judge().unwrap_err();
        let line = crate::exit::one_line(&err);
        assert!(line.starts_with("refusing to start: /v/data/version-2 holds no snapshot"), "{line}");
        assert!(line.contains("log.100000005, starts in the middle of epoch 1"), "{line}");
        assert!(line.contains("restore the volume's snapshot.* files"), "{line}");
        assert!(line.contains("delete /v/data/version-2 and /v/data/log/version-2"), "{line}");
        assert!(err.downcast_ref::<crate::exit::Usage>().is_some());
    }

    #[test]
    fn files_in_the_wrong_directory_are_refused_naming_the_flag() {
        let line = crate::exit::one_line(&layout(&["log.100000001"], &[]).judge().unwrap_err());
        assert!(line.contains("/v/data/version-2 holds transaction logs (log.100000001)"), "{line}");
        assert!(line.contains("--data_log_dir=/v/data if"), "{line}");
        let line = crate::exit::one_line(&layout(&[], &["snapshot.0"]).judge().unwrap_err());
        assert!(line.contains("/v/data/log/version-2 holds snapshots (snapshot.0)"), "{line}");
        assert!(line.contains("--data_dir=/v/data/log if"), "{line}");
    }

    fn touch(dir: &Path, names: &[&str]) {
        std::fs::create_dir_all(dir).unwrap();
        for name in names {
            std::fs::write(dir.join(name), "").unwrap();
        }
    }

    #[test]
    fn inspect_reads_both_directories_and_a_missing_one_is_empty() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        touch(&data.join("version-2"), &["snapshot.100000000", "currentEpoch"]);
        let l = inspect(&data, &root.path().join("nowhere"), &Guard::none()).unwrap();
        assert_eq!((l.snap.snapshots.len(), l.log), (1, Some(Files::default())));
    }

    /// The script's default log directory is taken only when the flag is not given, it holds
    /// logs, and zk-entry's own default does not.
    #[test]
    fn the_scripts_log_directory_is_used_or_refused_never_left_beside() {
        let root = tempfile::tempdir().unwrap();
        let guard = Guard::none();
        let ours = root.path().join("data/log");
        let script = root.path().join("log");
        let choose = |given| choose_log_dir(&ours, given, &script, &guard);
        // Nothing at the script's default (absent, then empty): zk-entry's own.
        assert_eq!(choose(false).unwrap(), (ours.clone(), None));
        touch(&script.join("version-2"), &["acceptedEpoch"]);
        assert_eq!(choose(false).unwrap(), (ours.clone(), None));
        // The script's layout: used, and said.
        touch(&script.join("version-2"), &["log.100000001"]);
        let (dir, note) = choose(false).unwrap();
        assert_eq!(dir, script);
        let note = note.unwrap();
        assert!(
            note.contains(
                "start-zookeeper's default, which holds this volume's transaction logs (oldest log.100000001)"
            ),
            "{note}"
        );
        // Given, it is the operator's word.
        assert_eq!(choose(true).unwrap(), (ours.clone(), None));
        // Logs in both: refused.
        touch(&ours.join("version-2"), &["log.200000001"]);
        let line = crate::exit::one_line(&choose(false).unwrap_err());
        assert!(
            line.contains("both") && line.contains("log.100000001") && line.contains("log.200000001"),
            "{line}"
        );
        assert!(line.contains("pass --data_log_dir with the one that holds this server's history"), "{line}");
    }
}
