//! The size `zk-entry resize` recorded, so a removed pod that restarts before `kubectl scale`
//! deletes it does not join again, while a pod that scaling up creates later does.
//!
//! The two are told apart by the pod's own age, not by its volume (a StatefulSet keeps the
//! volumes of removed ordinals, so a new zk-3 may find the old zk-3's data): at its first start a
//! pod notes in [`POD_MARKER`], on its pod-lifetime `/tmp` (an emptyDir, which survives container
//! restarts but not the pod), the membership version it first saw. A pod whose ordinal is at or
//! beyond the recorded size and whose note predates the resize is one that the resize removed.
//! The note is a convenience, not a lock: a forged one can only make a pod join through the
//! quorum, which is safe.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, bail};

use super::secret::read_small_file;
use crate::zk::session::{KeeperError, Session};

/// Where the recorded size lives in the ensemble (readable by all, changed by the super user).
pub(crate) const SIZE_ZNODE: &str = "/zk-entry-size";
/// The pod-lifetime note of the membership version this pod first saw.
pub(crate) const POD_MARKER: &str = "/tmp/zk-entry.pod";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fence {
    /// Ordinals from this one up were removed.
    pub(crate) size: u64,
    /// The membership version the resize ended at.
    pub(crate) version: u64,
}

impl Fence {
    fn text(self) -> String {
        format!("size={} version={:x}\n", self.size, self.version)
    }

    fn parse(text: &str) -> anyhow::Result<Fence> {
        let field = |key: &str| text.split_whitespace().find_map(|w| w.strip_prefix(key));
        let size = field("size=").and_then(|v| v.parse().ok());
        let version = field("version=").and_then(|v| u64::from_str_radix(v, 16).ok());
        match (size, version) {
            (Some(size), Some(version)) => Ok(Fence { size, version }),
            _ => bail!("{SIZE_ZNODE} holds '{}', not size=N and version=HEX", text.escape_debug()),
        }
    }

    /// The recorded size, if a resize ever ran.
    pub(crate) fn read(session: &mut Session) -> anyhow::Result<Option<Fence>> {
        match session.get_data(SIZE_ZNODE) {
            Ok(data) => Fence::parse(&String::from_utf8_lossy(&data.bytes)).map(Some),
            Err(e) if KeeperError::of(&e) == Some(KeeperError::NO_NODE) => Ok(None),
            Err(e) => Err(e).context(format!("cannot read {SIZE_ZNODE}")),
        }
    }

    /// Record it (the session must be the super user's).
    pub(crate) fn write(self, session: &mut Session) -> anyhow::Result<()> {
        let text = self.text();
        match session.create(SIZE_ZNODE, text.as_bytes()) {
            Err(e) if KeeperError::of(&e) == Some(KeeperError::NODE_EXISTS) => {
                session.set_data(SIZE_ZNODE, text.as_bytes())
            }
            other => other,
        }
        .with_context(|| format!("cannot record the size in {SIZE_ZNODE}"))
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
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(marker)
        .with_context(|| format!("cannot create {}", marker.display()))?;
    file.write_all(format!("{now:x}\n").as_bytes())
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_and_refuses_garbage() {
        let f = Fence { size: 3, version: 0x1_0000_0010 };
        assert_eq!(f.text(), "size=3 version=100000010\n");
        assert_eq!(Fence::parse("size=3\nversion=100000010").unwrap(), f);
        assert_eq!(Fence::parse(&f.text()).unwrap(), f);
        assert!(Fence::parse("size=x\nversion=1").is_err());
        assert!(Fence::parse("").is_err());
    }

    #[test]
    fn only_older_pods_at_or_beyond_the_size_are_removed() {
        let f = Fence { size: 3, version: 0x20 };
        assert!(f.removes(3, 0x10), "zk-3 that started before the resize");
        assert!(f.removes(4, 0x10));
        assert!(!f.removes(3, 0x20), "zk-3 created by a later scale-up");
        assert!(!f.removes(2, 0x10), "zk-2 stays a member");
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
