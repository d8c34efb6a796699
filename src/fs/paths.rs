//! Reaching the configured directories as root without being led elsewhere by a link that the
//! user ZooKeeper runs as could have planted (docs/design.md, "Threat model").
//!
//! After the first start the data directories belong to that user, and on some volumes (a 0777
//! PV root, fsGroup) so does their parent: the user can put a link where a directory was, and the
//! next start, as root, would chown and write through it. So a configured directory is opened one
//! component at a time from `/`, each with `O_NOFOLLOW`, relative to the descriptor of its parent;
//! a component that is a symbolic link is followed only when the directory holding it is one the
//! run-as user cannot write (the image's own links, such as `/opt/zookeeper -> zookeeper-3.8`,
//! keep working), and refused otherwise. Mount points are not links, so a PV or an emptyDir
//! mounted at the path is reached as usual. The result is a descriptor: every later step (reading,
//! staging, renaming, chowning) works relative to it, so swapping a directory for a link after the
//! check changes nothing.
//!
//! `openat2(RESOLVE_NO_SYMLINKS)` would refuse every link, including the image's own; the walk
//! below is the same idea with the one exception the usual images need.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::{Gid, Uid};

/// Linux's own limit on links met while resolving one path.
const MAX_LINKS: usize = 40;

/// Who, besides root, could have written the directories on the way: the user the JVM runs as,
/// when zk-entry is root and switches to it. Without one (zk-entry not root, or `--user root`)
/// there is no one to guard against: links are followed as any program would.
#[derive(Debug, Clone, Default)]
pub(crate) struct Guard {
    user: Option<(Uid, Vec<Gid>)>,
}

impl Guard {
    pub(crate) fn against(uid: Uid, groups: Vec<Gid>) -> Guard {
        Guard { user: Some((uid, groups)) }
    }

    pub(crate) fn none() -> Guard {
        Guard { user: None }
    }

    /// Whether the guarded user could have created or replaced an entry in the directory `st`
    /// describes: it owns it (and could chmod it), or a write bit applies to it. In a sticky
    /// directory (/tmp) only the owner of an entry can replace it, so an entry root owns there
    /// is safe.
    fn could_plant(&self, dir: &FileStat, entry_owner: u32) -> bool {
        let Some((uid, groups)) = &self.user else { return false };
        let writable = dir.st_uid == uid.as_raw()
            || (dir.st_mode & 0o020 != 0 && groups.iter().any(|g| g.as_raw() == dir.st_gid))
            || dir.st_mode & 0o002 != 0;
        let sticky_and_not_theirs = dir.st_mode & 0o1000 != 0 && entry_owner == 0;
        writable && !sticky_and_not_theirs
    }
}

/// A configured directory, opened.
#[derive(Debug)]
pub(crate) struct OpenDir {
    /// The path as configured, for messages.
    pub(crate) path: PathBuf,
    /// Where it really is, links resolved.
    pub(crate) real: PathBuf,
    /// Opened for reading (listing, fsync) and as the base of every `*at` call.
    pub(crate) fd: OwnedFd,
}

/// Open `path` (absolute) as described in the module doc; `Ok(None)` when a component is
/// missing and `create` is false. With `create`, missing components are made (mode 0755, as
/// `mkdir -p` under the usual umask).
pub(crate) fn open_dir(path: &Path, guard: &Guard, create: bool) -> anyhow::Result<Option<OpenDir>> {
    let root_flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let root = nix::fcntl::open("/", root_flags, Mode::empty()).context("cannot open /")?;
    let mut stack: Vec<(OwnedFd, PathBuf)> = vec![(root, PathBuf::from("/"))];
    let mut todo: VecDeque<OsString> = components(path);
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let (dir, real) = stack.last().expect("the root stays on the stack");
        let here = real.join(&name);
        let st = match nix::sys::stat::fstatat(dir.as_fd(), name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::ENOENT) if create => {
                match nix::sys::stat::mkdirat(dir.as_fd(), name.as_os_str(), Mode::from_bits_truncate(0o755))
                {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(io_error(e, "create directory", &here)),
                }
                todo.push_front(name);
                continue;
            }
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(io_error(e, "examine", &here)),
        };
        match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFLNK => {
                let parent = nix::sys::stat::fstat(dir)
                    .with_context(|| format!("cannot examine {}", real.display()))?;
                let target = nix::fcntl::readlinkat(dir.as_fd(), name.as_os_str())
                    .map_err(|e| io_error(e, "read the link", &here))?;
                if guard.could_plant(&parent, st.st_uid) {
                    anyhow::bail!(
                        "refusing to use {}: {} is a symbolic link (to {}) in {}, which the user ZooKeeper runs as can write, so it may have planted it to make zk-entry, as root, write and chown elsewhere; give {} the real directory, or make {} writable by root only",
                        path.display(),
                        here.display(),
                        Path::new(&target).display(),
                        real.display(),
                        path.display(),
                        real.display(),
                    );
                }
                links += 1;
                if links > MAX_LINKS {
                    anyhow::bail!(
                        "cannot open {}: more than {MAX_LINKS} symbolic links on the way",
                        path.display()
                    );
                }
                let target = PathBuf::from(target);
                if target.is_absolute() {
                    stack.truncate(1);
                }
                for part in components(&target).into_iter().rev() {
                    todo.push_front(part);
                }
            }
            SFlag::S_IFDIR => {
                let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                match nix::fcntl::openat(dir.as_fd(), name.as_os_str(), flags, Mode::empty()) {
                    Ok(fd) => stack.push((fd, here)),
                    // Swapped for a link or a file since fstatat: look again, a bounded number of
                    // times (counted as links) so that a racing swapper cannot keep us here.
                    Err(Errno::ELOOP | Errno::ENOTDIR | Errno::ENOENT) if links < MAX_LINKS => {
                        links += 1;
                        todo.push_front(name);
                    }
                    Err(e) => return Err(io_error(e, "open", &here)),
                }
            }
            _ => anyhow::bail!("cannot use {}: {} is not a directory", path.display(), here.display()),
        }
    }
    let (dir, real) = stack.pop().expect("the root stays on the stack");
    let fd = nix::fcntl::openat(
        dir.as_fd(),
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_error(e, "open", &real))?;
    Ok(Some(OpenDir { path: path.to_path_buf(), real, fd }))
}

/// The directory `name` inside `parent`, opened without following a link: a link, a file or
/// nothing in its place is refused, never followed.
pub(crate) fn open_child(parent: &OpenDir, name: &OsStr) -> anyhow::Result<OpenDir> {
    let path = parent.path.join(name);
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match nix::fcntl::openat(parent.fd.as_fd(), name, flags, Mode::empty()) {
        Ok(fd) => Ok(OpenDir { real: parent.real.join(name), path, fd }),
        Err(Errno::ELOOP | Errno::ENOTDIR) => anyhow::bail!(
            "refusing to use {}: it is not a directory (a symbolic link or a file is in its place); delete it so that zk-entry can make the directory",
            path.display()
        ),
        Err(e) => Err(io_error(e, "open", &path)),
    }
}

/// The names in the opened directory `dir` (not `.` and `..`), at most `max` of them: more is
/// refused, as no ZooKeeper directory holds that many and a planted one must not hold up a start.
/// Through its descriptor, so nothing on the way is followed again.
pub(crate) fn names(dir: &OpenDir, max: usize) -> anyhow::Result<Vec<OsString>> {
    let listing = dir.fd.try_clone().context("cannot duplicate a directory descriptor")?;
    let mut stream =
        nix::dir::Dir::from_fd(listing).with_context(|| format!("cannot list {}", dir.path.display()))?;
    let mut found = Vec::new();
    for entry in stream.iter() {
        let entry = entry.with_context(|| format!("cannot list {}", dir.path.display()))?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        if found.len() == max {
            anyhow::bail!(
                "refusing to use {}: it holds more than {max} entries, which no ZooKeeper directory does",
                dir.path.display()
            );
        }
        found.push(OsStr::from_bytes(name).to_os_string());
    }
    Ok(found)
}

/// Give the opened directory `dir` the mode `mode` and, when given, the owner. Through its
/// descriptor: whatever has taken the directory's name since it was opened is not touched.
pub(crate) fn set_mode(dir: &OpenDir, mode: u32, owner: Option<(Uid, Gid)>) -> anyhow::Result<()> {
    if let Some((uid, gid)) = owner {
        nix::unistd::fchown(dir.fd.as_fd(), Some(uid), Some(gid))
            .map_err(|e| io_error(e, &format!("give {uid}:{gid} the directory"), &dir.path))?;
    }
    nix::sys::stat::fchmod(dir.fd.as_fd(), Mode::from_bits_truncate(mode))
        .map_err(|e| io_error(e, "set permissions of", &dir.path))
}

/// The named components of `path`, `..` kept (resolved against the directories actually
/// reached, not the text), `.` and the root dropped.
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// An OS error on `path`, with the fix for the usual container causes.
pub(crate) fn io_error(err: Errno, what: &str, path: &Path) -> anyhow::Error {
    let err = std::io::Error::from(err);
    let hint = hint(&err);
    anyhow::Error::new(err).context(format!("cannot {what} {}{hint}", path.display()))
}

/// Why an I/O step failed, with the fix for the usual container causes.
pub(crate) fn hint(err: &std::io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) if !nix::unistd::geteuid().is_root() => {
            " (not running as root: make the directory writable for this user, e.g. with the pod's securityContext.fsGroup)"
        }
        Some(libc::EROFS) => " (read-only file system: mount a writable volume, e.g. an emptyDir, there)",
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => " (the volume is full: free space or grow the volume)",
        _ => "",
    }
}

/// System directories that a data, data-log or log directory must never be, or (for the
/// second list) be inside: zk-entry would give them and everything in them to ZooKeeper's user.
const SYSTEM_DIRS: [&str; 27] = [
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/spool",
    "/var/tmp",
];
const SYSTEM_TREES: [&str; 11] =
    ["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr"];

/// The system directory `real` is or lies in, if any.
pub(crate) fn system_dir(real: &Path) -> Option<&'static str> {
    SYSTEM_DIRS
        .iter()
        .find(|d| real == Path::new(d))
        .or_else(|| SYSTEM_TREES.iter().find(|d| real.starts_with(d)))
        .copied()
}

/// A name inside a directory, as a C-style path component.
pub(crate) fn name_of(path: &Path) -> anyhow::Result<&OsStr> {
    match path.file_name() {
        Some(name) if !name.as_bytes().contains(&b'/') => Ok(name),
        _ => anyhow::bail!("{} names no file", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn links_are_followed_without_a_guard_and_resolved_to_the_real_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("real/data")).unwrap();
        symlink("real", dir.path().join("link")).unwrap();
        let open = open_dir(&dir.path().join("link/data"), &Guard::none(), false).unwrap().unwrap();
        assert_eq!(open.real, dir.path().canonicalize().unwrap().join("real/data"));
        assert!(open_dir(&dir.path().join("missing/x"), &Guard::none(), false).unwrap().is_none());
        let made = open_dir(&dir.path().join("link/new/deeper"), &Guard::none(), true).unwrap().unwrap();
        assert!(made.real.ends_with("real/new/deeper"), "{}", made.real.display());
        std::fs::write(dir.path().join("file"), "").unwrap();
        let err = open_dir(&dir.path().join("file/x"), &Guard::none(), false).unwrap_err();
        assert!(format!("{err:#}").contains("is not a directory"), "{err:#}");
    }

    #[test]
    fn a_link_in_a_directory_the_guarded_user_can_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pv/elsewhere")).unwrap();
        std::fs::set_permissions(dir.path().join("pv"), std::fs::Permissions::from_mode(0o777)).unwrap();
        symlink("elsewhere", dir.path().join("pv/data")).unwrap();
        let guard = Guard::against(Uid::from_raw(54321), vec![Gid::from_raw(54321)]);
        let err = open_dir(&dir.path().join("pv/data"), &guard, false).unwrap_err();
        let line = crate::exit::one_line(&err);
        assert!(line.contains("is a symbolic link (to elsewhere)"), "{line}");
        // Not writable by that user: the same link is the operator's and is followed.
        std::fs::set_permissions(dir.path().join("pv"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(open_dir(&dir.path().join("pv/data"), &guard, false).unwrap().is_some());
    }

    #[test]
    fn names_are_listed_through_the_descriptor_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["log.100000001", "snapshot.0", "sub"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let open = open_dir(dir.path(), &Guard::none(), false).unwrap().unwrap();
        let mut listed = names(&open, 3).unwrap();
        listed.sort();
        assert_eq!(listed, ["log.100000001", "snapshot.0", "sub"]);
        let line = crate::exit::one_line(&names(&open, 2).unwrap_err());
        assert!(line.contains("holds more than 2 entries"), "{line}");
    }

    #[test]
    fn system_directories_are_recognised() {
        assert_eq!(system_dir(Path::new("/")), Some("/"));
        assert_eq!(system_dir(Path::new("/etc")), Some("/etc"));
        assert_eq!(system_dir(Path::new("/etc/zookeeper")), Some("/etc"));
        assert_eq!(system_dir(Path::new("/usr/share/zookeeper")), Some("/usr"));
        assert_eq!(system_dir(Path::new("/var/lib")), Some("/var/lib"));
        assert_eq!(system_dir(Path::new("/var/lib/zookeeper/data")), None);
        assert_eq!(system_dir(Path::new("/tmp/x")), None);
        assert_eq!(system_dir(Path::new("/etcetera")), None);
    }
}
