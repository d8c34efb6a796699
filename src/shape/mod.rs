//! The ensemble's recorded shape: the size `zk-entry resize` asked for, so a removed pod that
//! restarts before `kubectl scale` deletes it does not join again while a pod that scaling up
//! creates later does; and how many of the highest ordinals below that size are observers, so
//! every member knows the role it is meant to have ([`Shape::role`]). The first observer to
//! serve records the shape of its start flags; only `resize` changes it. How it is stored, and
//! why only the super user's record is believed: [`record`].
//!
//! The two are told apart by the pod's own age, not by its volume (a StatefulSet keeps the
//! volumes of removed ordinals, so a new zk-3 may find the old zk-3's data): at its first start a
//! pod notes in [`POD_MARKER`], on its pod-lifetime `/tmp` (an emptyDir, which survives container
//! restarts but not the pod), the membership version it first saw. A pod whose ordinal is at or
//! beyond the recorded size and whose note predates the resize is one that the resize removed.
//! The note is a convenience, not a lock: a forged one can only make a pod join through the
//! quorum, which is safe.

pub(crate) mod record;

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

use crate::fs::files::read_small_file;
use crate::zk::config::Role;

/// The fewest voters a dynamic ensemble forms with or shrinks to (docs/design.md, "Dynamic
/// reconfiguration"): ZooKeeper 3.8 commits a new voter only with the acknowledgement of a
/// quorum of the new membership, and a joining observer never acknowledges; with one voter the
/// joiner's own would be needed.
pub(crate) const MIN_VOTERS: u64 = 2;

/// The pod-lifetime note of the membership version this pod first saw.
pub(crate) const POD_MARKER: &str = "/tmp/zk-entry.pod";
/// Present while this pod's server is a joiner not yet promoted: `start` leaves it, `join`
/// takes it away, `ready --quorum` fails an observer while it is there. Like the other note, a
/// convenience: forging or removing it changes only what readiness reports.
pub(crate) const JOINING_NOTE: &str = "/tmp/zk-entry.joining";

/// The ensemble's shape: how many ordinals are members and how many of the highest of them
/// observe, as `resize` (or, before any resize, the start flags) decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Ordinals from this one up were removed.
    pub(crate) size: u64,
    /// The highest this many ordinals below `size` are observers.
    pub(crate) observers: u64,
    /// The membership version the resize ended at (or, while its steps run, the first version
    /// after the one it started from): a pod that first saw an older one was there before.
    pub(crate) version: u64,
}

impl Shape {
    /// The role the member at `ordinal` is meant to have. Ordinals beyond the recorded size
    /// (pods a scale-up added without a resize) vote, as they do in an ensemble without
    /// observers: growing needs no extra step.
    pub(crate) fn role(self, ordinal: u64) -> Role {
        let first_observer = self.size.saturating_sub(self.observers);
        if (first_observer..self.size).contains(&ordinal) { Role::Observer } else { Role::Participant }
    }

    /// True when a pod of `ordinal` that first saw membership `first_seen` was removed by it.
    pub(crate) fn removes(self, ordinal: u64, first_seen: u64) -> bool {
        ordinal >= self.size && first_seen < self.version
    }
}

/// The version this pod noted at its first start, if it did (read only).
pub(crate) fn noted(marker: &Path) -> Option<u64> {
    let text = read_small_file(marker, 64).ok()?;
    u64::from_str_radix(text.trim(), 16).ok()
}

/// The version this pod first saw: read from `marker`, or noted there now as `now`.
pub(crate) fn first_seen(marker: &Path, now: u64) -> anyhow::Result<u64> {
    match read_small_file(marker, 64) {
        Ok(text) => {
            return u64::from_str_radix(text.trim(), 16).with_context(|| {
                format!("{} holds '{}', not a version", marker.display(), text.trim().escape_debug())
            });
        }
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
            }) => {}
        Err(e) => return Err(e),
    }
    create_note(marker, &format!("{now:x}\n"))?;
    Ok(now)
}

/// Create a pod note holding `text`: a new file, never through a link (the pod's /tmp is
/// writable by ZooKeeper's user), readable by all.
fn create_note(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Leave the joining note (`joining`) or take it away. Whatever is at the path goes first
/// (unlinking a planted link removes only the link); the note is then created anew, never
/// through a link.
pub(crate) fn note_joining(note: &Path, joining: bool) -> anyhow::Result<()> {
    match std::fs::remove_file(note) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot remove {}", note.display()));
        }
        _ => {}
    }
    if joining { create_note(note, "joining\n") } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_ordinals_below_the_size_observe_and_later_ones_vote() {
        let f = Shape { size: 5, observers: 2, version: 0 };
        let roles: Vec<Role> = (0..7).map(|o| f.role(o)).collect();
        use Role::{Observer as O, Participant as P};
        assert_eq!(roles, [P, P, P, O, O, P, P]);
        assert!((0..9).all(|o| Shape { observers: 0, ..f }.role(o) == P));
    }

    #[test]
    fn only_older_pods_at_or_beyond_the_size_are_removed() {
        let f = Shape { size: 3, observers: 0, version: 0x20 };
        assert!(f.removes(3, 0x10), "zk-3 that started before the resize");
        assert!(f.removes(4, 0x10));
        assert!(!f.removes(3, 0x20), "zk-3 created by a later scale-up");
        assert!(!f.removes(2, 0x10), "zk-2 stays a member");
    }

    #[test]
    fn the_joining_note_comes_and_goes_and_replaces_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let note = dir.path().join("zk-entry.joining");
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, &note).unwrap();
        note_joining(&note, true).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep", "written through a link");
        assert_eq!(std::fs::read_to_string(&note).unwrap(), "joining\n");
        note_joining(&note, false).unwrap();
        assert!(!note.exists());
        note_joining(&note, false).unwrap();
    }

    #[test]
    fn the_pod_note_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("zk-entry.pod");
        assert_eq!(first_seen(&marker, 0x10).unwrap(), 0x10);
        assert_eq!(first_seen(&marker, 0x30).unwrap(), 0x10, "a container restart keeps the pod's note");
        assert_eq!(noted(&marker), Some(0x10));
        assert_eq!(noted(&dir.path().join("absent")), None);
        std::fs::write(&marker, "zz").unwrap();
        assert!(first_seen(&marker, 1).is_err());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
        assert!(first_seen(&link, 1).is_err(), "a symbolic link was followed");
    }
}
