//! Ownership of the directories ZooKeeper writes: as root, give them (and everything in them) to
//! the user ZooKeeper runs as; as any other user, check that they are writable.
//!
//! Invariants of the walk, which runs as root over directories other people can write to:
//! - no symlink is ever followed below a top directory: every entry is examined with
//!   `fstatat(AT_SYMLINK_NOFOLLOW)`, changed with `fchownat(AT_SYMLINK_NOFOLLOW)` (a link gets
//!   the new owner itself, its target keeps its own), and entered with
//!   `openat(O_NOFOLLOW | O_DIRECTORY)` relative to its parent's descriptor, so a directory
//!   swapped for a link between the check and the open is refused by the kernel, not followed;
//! - only entries whose owner differs are changed (a restart on a large volume writes nothing);
//! - a pending signal stops the walk between two entries ([`Signals::checkpoint`]).

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{Gid, Uid};

use super::paths::{self, Guard};
use crate::pid1::signals::Signals;

/// Deeper than this is not a ZooKeeper data directory (they are three levels deep); the limit
/// bounds the open descriptors, one per level.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Entries looked at, top directories included.
    pub(crate) seen: u64,
    /// Entries whose owner was changed.
    pub(crate) changed: u64,
    /// Entries the kernel would not let root change (EPERM: root-squashed NFS and the like).
    pub(crate) refused: u64,
    /// Mount points below a top directory, left alone (the walk stays on one file system).
    pub(crate) other_fs: u64,
    /// Non-directories with more than one hard link, left alone.
    pub(crate) linked: u64,
    /// Character and block devices, left alone.
    pub(crate) devices: u64,
}

/// Make every directory in `tops` and everything below it owned by `uid:gid`. Directories nested
/// in another of `tops` are walked once.
pub(crate) fn give(
    tops: &[PathBuf],
    uid: Uid,
    gid: Gid,
    signals: &Signals,
    guard: &Guard,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    for top in distinct_tops(tops) {
        tracing::info!("making {} and its contents owned by {uid}:{gid}", top.display());
        Walk { uid, gid, signals, tally: &mut tally, path: top.to_path_buf(), device: 0 }.top(top, guard)?;
    }
    if tally.other_fs > 0 {
        tracing::warn!(
            "{} mount points inside the data directories were left alone with everything in them (another file system: a Secret, a ConfigMap, another volume)",
            tally.other_fs
        );
    }
    if tally.linked > 0 {
        tracing::warn!(
            "{} files with more than one hard link keep their owner: another name of the same file may be outside the data directories; ZooKeeper does not make such links",
            tally.linked
        );
    }
    if tally.devices > 0 {
        tracing::warn!("{} device nodes inside the data directories keep their owner", tally.devices);
    }
    if tally.refused > 0 {
        tracing::warn!(
            "{} entries keep their owner: the file system refused root's chown (EPERM; root-squashed NFS?); if ZooKeeper cannot write them, give the volume to {uid}:{gid} on the server or use securityContext.fsGroup",
            tally.refused
        );
    }
    Ok(tally)
}

/// Close each of `tops` to every user but its owner (mode 0700, special bits kept), through its
/// descriptor. What ZooKeeper creates there is already its user's alone (the JVM's umask), but
/// snapshots and logs written before (by an older start, or under another umask) may still be
/// readable, and they hold the znodes' data and ACLs. Nested ones are reached through the outer.
pub(crate) fn close(tops: &[PathBuf], guard: &Guard) -> anyhow::Result<()> {
    for top in distinct_tops(tops) {
        let Some(open) = paths::open_dir(top, guard, false)? else { continue };
        let st = nix::sys::stat::fstat(&open.fd).with_context(|| format!("cannot stat {}", top.display()))?;
        if st.st_mode & 0o077 != 0 {
            paths::set_mode(&open, st.st_mode & 0o7700, None)?;
        }
    }
    Ok(())
}

/// `tops` without the ones inside another (the default data_log_dir sits in data_dir).
fn distinct_tops(tops: &[PathBuf]) -> Vec<&Path> {
    let mut out: Vec<&Path> = Vec::new();
    for top in tops {
        let inside_other = tops.iter().any(|other| other != top && top.starts_with(other));
        if !inside_other && !out.contains(&top.as_path()) {
            out.push(top);
        }
    }
    out
}

struct Walk<'a> {
    uid: Uid,
    gid: Gid,
    signals: &'a Signals,
    tally: &'a mut Tally,
    /// The path of the entry being handled, for messages only: every system call goes through
    /// descriptors.
    path: PathBuf,
    /// The file system of the top directory; the walk does not leave it.
    device: u64,
}

impl Walk<'_> {
    /// The top directory is the operator's configuration: it is reached as [`paths::open_dir`]
    /// allows (no link the run-as user could have planted).
    fn top(&mut self, top: &Path, guard: &Guard) -> anyhow::Result<()> {
        let Some(open) = paths::open_dir(top, guard, false)? else {
            anyhow::bail!("cannot change the owner of {}: it does not exist", top.display());
        };
        let fd = open.fd;
        let st = nix::sys::stat::fstat(&fd).with_context(|| format!("cannot stat {}", top.display()))?;
        self.device = st.st_dev;
        self.tally.seen += 1;
        if st.st_uid != self.uid.as_raw() || st.st_gid != self.gid.as_raw() {
            self.changed(nix::unistd::fchown(&fd, Some(self.uid), Some(self.gid)))?;
        }
        self.directory(fd, 1)
    }

    fn directory(&mut self, fd: OwnedFd, depth: usize) -> anyhow::Result<()> {
        if depth > MAX_DEPTH {
            anyhow::bail!(
                "cannot change the owner of {}: more than {MAX_DEPTH} directory levels; this is not a ZooKeeper data directory",
                self.path.display()
            );
        }
        let listing = fd.try_clone().context("cannot duplicate a directory descriptor")?;
        let mut dir =
            Dir::from_fd(listing).with_context(|| format!("cannot list {}", self.path.display()))?;
        for entry in dir.iter() {
            self.signals.checkpoint()?;
            let entry = entry.with_context(|| format!("cannot list {}", self.path.display()))?;
            let name = entry.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            self.path.push(OsStr::from_bytes(name.to_bytes()));
            let result = self.entry(&fd, name, depth);
            self.path.pop();
            result?;
        }
        Ok(())
    }

    fn entry(&mut self, parent: &OwnedFd, name: &CStr, depth: usize) -> anyhow::Result<()> {
        let st = match nix::sys::stat::fstatat(parent.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            // Deleted since it was listed (ZooKeeper is not running yet, but an operator might be).
            Err(Errno::ENOENT) => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("cannot stat {}", self.path.display())),
        };
        self.tally.seen += 1;
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        if st.st_dev != self.device {
            // A mount point: another file system (a read-only Secret would fail with EROFS), and
            // not part of the volume the operator named.
            self.tally.other_fs += 1;
            return Ok(());
        }
        if kind == SFlag::S_IFCHR || kind == SFlag::S_IFBLK {
            self.tally.devices += 1;
            return Ok(());
        }
        if kind != SFlag::S_IFDIR && st.st_nlink > 1 {
            // Another name of this file may be anywhere on the file system (/etc/shadow, if the
            // volume shares it): changing the owner here would change it there.
            self.tally.linked += 1;
            return Ok(());
        }
        if st.st_uid != self.uid.as_raw() || st.st_gid != self.gid.as_raw() {
            let result = nix::unistd::fchownat(
                parent.as_fd(),
                name,
                Some(self.uid),
                Some(self.gid),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            );
            self.changed(result)?;
        }
        if kind != SFlag::S_IFDIR {
            return Ok(());
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match nix::fcntl::openat(parent.as_fd(), name, flags, Mode::empty()) {
            Ok(fd) => self.directory(fd, depth + 1),
            // Replaced by a link or a file after fstatat: not ours to enter.
            Err(Errno::ELOOP | Errno::ENOTDIR | Errno::ENOENT) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot open {}", self.path.display())),
        }
    }

    fn changed(&mut self, result: nix::Result<()>) -> anyhow::Result<()> {
        match result {
            Ok(()) => {
                self.tally.changed += 1;
                Ok(())
            }
            Err(Errno::EPERM) => {
                self.tally.refused += 1;
                Ok(())
            }
            Err(e) => Err(e).with_context(|| {
                format!("cannot change the owner of {} to {}:{}", self.path.display(), self.uid, self.gid)
            }),
        }
    }
}

/// As a user other than root: each existing directory must be writable by this process, or the
/// start stops here, before anything is written, with what to change. Missing directories are
/// created by the start itself (or fail there with their own message).
pub(crate) fn check_writable(dirs: &[PathBuf], euid: Uid) -> anyhow::Result<()> {
    for dir in dirs {
        let Ok(meta) = std::fs::metadata(dir) else { continue };
        let access = nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK;
        if nix::unistd::faccessat(nix::fcntl::AT_FDCWD, dir, access, AtFlags::AT_EACCESS).is_ok() {
            continue;
        }
        let owner_group = crate::pid1::user::group_name(Gid::from_raw(meta.gid()))
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        anyhow::bail!(
            "{} is not writable by uid {euid} (gid {}): it is owned by {}:{}{owner_group} with mode {:04o}; set the pod's securityContext.fsGroup (e.g. fsGroup: 1000) so Kubernetes gives the volume to that group, or start zk-entry as root so it can chown the directory",
            dir.display(),
            nix::unistd::getegid(),
            meta.uid(),
            meta.gid(),
            meta.permissions().mode() & 0o7777
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_tops_are_walked_once() {
        let tops = [
            PathBuf::from("/var/lib/zookeeper/data"),
            PathBuf::from("/var/lib/zookeeper/data/log"),
            PathBuf::from("/var/log/zookeeper"),
            PathBuf::from("/var/lib/zookeeper/data"),
        ];
        assert_eq!(
            distinct_tops(&tops),
            vec![Path::new("/var/lib/zookeeper/data"), Path::new("/var/log/zookeeper")]
        );
        // A sibling with a common string prefix is not inside.
        let tops = [PathBuf::from("/data"), PathBuf::from("/data2")];
        assert_eq!(distinct_tops(&tops).len(), 2);
    }

    #[test]
    fn walking_to_the_current_owner_changes_nothing() {
        // Runs as any user: giving files to their own owner needs no privilege.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("version-2/sub")).unwrap();
        std::fs::write(dir.path().join("version-2/snapshot.0"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("version-2/link")).unwrap();
        let signals = test_signals();
        let me = (nix::unistd::geteuid(), nix::unistd::getegid());
        let tally = give(&[dir.path().to_path_buf()], me.0, me.1, &signals, &Guard::none()).unwrap();
        assert_eq!(tally, Tally { seen: 5, ..Tally::default() });
    }

    #[test]
    fn closing_keeps_the_owners_bits_and_reaches_nested_ones_through_the_outer() {
        let dir = tempfile::tempdir().unwrap();
        let (data, log) = (dir.path().join("data"), dir.path().join("data/log"));
        std::fs::create_dir_all(&log).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o2775)).unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o755)).unwrap();
        close(&[data.clone(), log.clone()], &Guard::none()).unwrap();
        assert_eq!((mode(&data), mode(&log)), (0o2700, 0o755));
    }

    fn test_signals() -> Signals {
        // Blocking in a test thread would leak into the harness; a never-blocked set is enough
        // for checkpoints that find nothing pending.
        Signals::unblocked_for_tests()
    }
}
