//! Putting files on disk so that a crash, a kill or a full disk never leaves a half-written one
//! and never loses the good file that was there.
//!
//! Every file is staged as a temporary file in its own directory (so the rename cannot cross
//! file systems), written, fsynced, and only when every staged file is complete are they renamed
//! over the old ones; then each directory is fsynced once so the renames themselves are durable.
//! A file whose contents are already right is left alone (no write, no fsync).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};

use super::paths::{self, Guard, OpenDir, io_error};

/// Files are world-readable: zkCli.sh and probes in the same pod may run as another user.
const FILE_MODE: u32 = 0o644;
/// Files that hold a secret: readable by their owner, the user ZooKeeper runs as, only.
const PRIVATE_MODE: u32 = 0o600;

/// The most zk-entry reads of any file (configuration, `myid`, /etc/hosts): far above what they
/// hold, and a bound when one is a link to /dev/zero or a huge file planted in a volume.
pub(crate) const MAX_READ: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    New,
    Replaced,
    Unchanged,
}

impl State {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            State::New => "new",
            State::Replaced => "replaced",
            State::Unchanged => "unchanged",
        }
    }
}

/// A file to be written and what writing it would do.
#[derive(Debug, Clone)]
pub(crate) struct FileChange {
    pub(crate) path: PathBuf,
    pub(crate) contents: String,
    pub(crate) state: State,
    /// Set for a file that holds a secret.
    pub(crate) private: Option<Private>,
}

/// How a file that holds a secret is written and shown: mode 0600, given to `owner` (the user
/// ZooKeeper runs as; `None`: zk-entry's own user) before it is renamed into place, and shown
/// as `shown` (its contents with the secrets redacted) in logs and `--dry-run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Private {
    pub(crate) owner: Option<(Uid, Gid)>,
    pub(crate) shown: String,
}

impl FileChange {
    /// Compare `contents` with what is on disk now. A link in its place is replaced (the rename
    /// replaces the link itself), never read through.
    pub(crate) fn new(path: PathBuf, contents: String, guard: &Guard) -> anyhow::Result<FileChange> {
        FileChange::with_privacy(path, contents, None, guard)
    }

    /// As [`FileChange::new`]; a private file whose mode or owner is not yet right is replaced
    /// even when its contents are (a secret left readable by an older start is closed).
    pub(crate) fn with_privacy(
        path: PathBuf,
        contents: String,
        private: Option<Private>,
        guard: &Guard,
    ) -> anyhow::Result<FileChange> {
        let state = match read_existing(&path, guard)? {
            Existing::Absent => State::New,
            Existing::Link => State::Replaced,
            Existing::Contents(old)
                if old == contents.as_bytes() && private_as_planned(&path, private.as_ref()) =>
            {
                State::Unchanged
            }
            Existing::Contents(_) => State::Replaced,
        };
        Ok(FileChange { path, contents, state, private })
    }

    /// The contents as they may be printed.
    pub(crate) fn shown(&self) -> &str {
        self.private.as_ref().map_or(&self.contents, |p| &p.shown)
    }
}

/// True when the file at `path` has the mode (and owner) `private` asks for. Only decides
/// whether an unchanged file is written again, so a race here costs at most one rewrite.
fn private_as_planned(path: &Path, private: Option<&Private>) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(p) = private else {
        // Public files keep whatever mode an operator gave them.
        return true;
    };
    let Ok(meta) = fs::symlink_metadata(path) else { return false };
    meta.mode() & 0o7777 == PRIVATE_MODE
        && p.owner.is_none_or(|(uid, gid)| meta.uid() == uid.as_raw() && meta.gid() == gid.as_raw())
}

/// What is at a file's place.
enum Existing {
    Absent,
    Link,
    Contents(Vec<u8>),
}

/// The directory a file lives in; paths here are absolute, so there always is one.
fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("/"))
}

fn io_context<T>(result: io::Result<T>, what: &str, path: &Path) -> anyhow::Result<T> {
    result.map_err(|e| {
        let h = paths::hint(&e);
        anyhow::Error::new(e).context(format!("cannot {what} {}{h}", path.display()))
    })
}

/// Create each directory (and its parents) that does not exist yet, through [`paths::open_dir`].
pub(crate) fn create_dirs(dirs: &[PathBuf], guard: &Guard) -> anyhow::Result<()> {
    for dir in dirs {
        paths::open_dir(dir, guard, true)?;
    }
    Ok(())
}

/// The directories of `dirs` that do not exist yet, for `--dry-run` and logging.
pub(crate) fn missing_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter().filter(|d| !d.is_dir()).cloned().collect()
}

/// Open `name` in `dir` for reading without following a link and without blocking on a FIFO,
/// and read it if it is a regular file of at most [`MAX_READ`] bytes. Anything else is refused
/// with the fix; the contents are never part of a message.
fn read_in(dir: &OpenDir, name: &OsStr) -> anyhow::Result<Existing> {
    let path = dir.path.join(name);
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let fd = match nix::fcntl::openat(dir.fd.as_fd(), name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(Existing::Absent),
        Err(Errno::ELOOP) => return Ok(Existing::Link),
        Err(e) => return Err(io_error(e, "read", &path)),
    };
    match read_capped(fs::File::from(fd), MAX_READ) {
        Ok(bytes) => Ok(Existing::Contents(bytes)),
        Err(Capped::Io(e)) => io_context(Err(e), "read", &path),
        Err(refusal) => anyhow::bail!(
            "refusing to read {}: it {}; delete it (zk-entry writes the file itself)",
            path.display(),
            refusal.describe(MAX_READ)
        ),
    }
}

/// Why [`read_capped`] read nothing.
#[derive(Debug)]
pub(crate) enum Capped {
    /// Not a regular file: what it is instead (`a FIFO`, `a directory`...).
    NotRegular(&'static str),
    /// More bytes than allowed: its size, or `None` when it grew while being read.
    TooLarge(Option<u64>),
    Io(io::Error),
}

impl Capped {
    /// `is a FIFO, not a regular file`, `holds 5000 bytes, more than the 4096 allowed`: to follow
    /// "it" in a caller's message.
    pub(crate) fn describe(&self, max: u64) -> String {
        match self {
            Capped::NotRegular(kind) => format!("is {kind}, not a regular file"),
            Capped::TooLarge(Some(size)) => format!("holds {size} bytes, more than the {max} zk-entry reads"),
            Capped::TooLarge(None) => format!("grows beyond the {max} bytes zk-entry reads"),
            Capped::Io(e) => format!("cannot be read: {e}"),
        }
    }
}

/// The bytes of an opened file that must be a regular file of at most `max` bytes. The one
/// check behind every file zk-entry reads from a volume (configuration, `myid`, secrets,
/// certificates, the dynamic membership): opened by the caller as its place demands (relative to
/// a directory, with or without following a link, always non-blocking so a FIFO cannot hang
/// the start), checked here, and never read past `max`.
pub(crate) fn read_capped(file: fs::File, max: u64) -> Result<Vec<u8>, Capped> {
    use std::os::unix::fs::FileTypeExt;
    let meta = file.metadata().map_err(Capped::Io)?;
    let kind = meta.file_type();
    if !kind.is_file() {
        return Err(Capped::NotRegular(match () {
            _ if kind.is_dir() => "a directory",
            _ if kind.is_fifo() => "a FIFO",
            _ if kind.is_char_device() => "a character device",
            _ if kind.is_block_device() => "a block device",
            _ if kind.is_socket() => "a socket",
            _ => "a special file",
        }));
    }
    if meta.len() > max {
        return Err(Capped::TooLarge(Some(meta.len())));
    }
    let mut bytes = Vec::new();
    // take(): the size may grow between the stat and the read.
    file.take(max + 1).read_to_end(&mut bytes).map_err(Capped::Io)?;
    if bytes.len() as u64 > max {
        return Err(Capped::TooLarge(None));
    }
    Ok(bytes)
}

/// A regular file of at most `cap` bytes, opened without following a symbolic link: the files
/// zk-entry reads as root may sit on volumes that ZooKeeper's user can write.
pub(crate) fn read_small_file(path: &Path, cap: u64) -> anyhow::Result<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let bytes = read_capped(file, cap).map_err(|refusal| match refusal {
        Capped::Io(e) => anyhow::Error::new(e).context(format!("cannot read {}", path.display())),
        refusal => anyhow::anyhow!("{} {}", path.display(), refusal.describe(cap)),
    })?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
}

fn read_existing(path: &Path, guard: &Guard) -> anyhow::Result<Existing> {
    match paths::open_dir(parent(path), guard, false)? {
        Some(dir) => read_in(&dir, paths::name_of(path)?),
        None => Ok(Existing::Absent),
    }
}

/// The contents of a file that may not exist, read as [`read_in`] does; a link in its place is
/// refused.
pub(crate) fn read_optional(path: &Path, guard: &Guard) -> anyhow::Result<Option<String>> {
    match read_existing(path, guard)? {
        Existing::Absent => Ok(None),
        Existing::Link => anyhow::bail!(
            "refusing to read {}: it is a symbolic link, which zk-entry does not follow there; delete it (zk-entry writes the file itself)",
            path.display()
        ),
        Existing::Contents(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
    }
}

/// Temporary files staged so far; removed on drop unless they were all renamed into place.
struct Staged<'a> {
    files: Vec<(&'a OpenDir, OsString, &'a FileChange)>,
    renamed: bool,
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if !self.renamed {
            for (dir, tmp, _) in &self.files {
                let _ = nix::unistd::unlinkat(
                    dir.fd.as_fd(),
                    tmp.as_os_str(),
                    nix::unistd::UnlinkatFlags::NoRemoveDir,
                );
            }
        }
    }
}

/// Create, write and fsync the temporary file for `change` in `dir`; its name.
fn stage(dir: &OpenDir, change: &FileChange) -> anyhow::Result<OsString> {
    let name = paths::name_of(&change.path)?.to_string_lossy().into_owned();
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    // A secret's file is 0600 from its creation, never readable by others even for a moment, and
    // is given to its owner before it gets its name.
    let mode = Mode::from_bits_truncate(if change.private.is_some() { PRIVATE_MODE } else { FILE_MODE });
    let pid = std::process::id();
    // O_EXCL: a name that exists (a leftover, or a planted link) is never opened; try the next.
    let (tmp, fd): (OsString, OwnedFd) = (0..100)
        .find_map(|n| {
            let tmp = OsString::from(format!(".{name}.{pid}-{n}.zk-entry.tmp"));
            match nix::fcntl::openat(dir.fd.as_fd(), tmp.as_os_str(), flags, mode) {
                Ok(fd) => Some(Ok((tmp, fd))),
                Err(Errno::EEXIST) => None,
                Err(e) => Some(Err(io_error(e, "create a temporary file in", &dir.path))),
            }
        })
        .unwrap_or_else(|| {
            anyhow::bail!("cannot create a temporary file in {}: 100 names taken", dir.path.display())
        })?;
    let mut file = fs::File::from(fd);
    let written = (|| {
        io_context(file.write_all(change.contents.as_bytes()), "write", &change.path)?;
        // fchmod: the mode given to open is cut by the umask.
        io_context(
            nix::sys::stat::fchmod(file.as_fd(), mode).map_err(io::Error::from),
            "set permissions of",
            &change.path,
        )?;
        if let Some((uid, gid)) = change.private.as_ref().and_then(|p| p.owner) {
            io_context(
                nix::unistd::fchown(file.as_fd(), Some(uid), Some(gid)).map_err(io::Error::from),
                "give the secret file to its user:",
                &change.path,
            )?;
        }
        io_context(file.sync_all(), "flush", &change.path)
    })();
    if let Err(e) = written {
        let _ =
            nix::unistd::unlinkat(dir.fd.as_fd(), tmp.as_os_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
        return Err(e);
    }
    Ok(tmp)
}

/// Write every changed file; all of them are staged before any is replaced. Each file's
/// directory is opened through [`paths::open_dir`] and everything happens relative to it.
pub(crate) fn write_files(changes: &[FileChange], guard: &Guard) -> anyhow::Result<()> {
    let pending: Vec<&FileChange> = changes.iter().filter(|c| c.state != State::Unchanged).collect();
    let mut dirs: BTreeMap<PathBuf, OpenDir> = BTreeMap::new();
    for change in &pending {
        let dir = parent(&change.path);
        if !dirs.contains_key(dir) {
            let open = paths::open_dir(dir, guard, false)?.ok_or_else(|| {
                anyhow::Error::new(io::Error::from(io::ErrorKind::NotFound))
                    .context(format!("cannot create a temporary file in {}", dir.display()))
            })?;
            dirs.insert(dir.to_path_buf(), open);
        }
    }
    let mut staged = Staged { files: Vec::with_capacity(pending.len()), renamed: false };
    for change in &pending {
        let dir = &dirs[parent(&change.path)];
        let tmp = stage(dir, change)?;
        staged.files.push((dir, tmp, change));
    }
    for (dir, tmp, change) in &staged.files {
        let name = paths::name_of(&change.path)?;
        nix::fcntl::renameat(dir.fd.as_fd(), tmp.as_os_str(), dir.fd.as_fd(), name)
            .map_err(|e| io_error(e, "replace", &change.path))?;
    }
    staged.renamed = true;
    for dir in dirs.values() {
        nix::unistd::fsync(dir.fd.as_fd()).map_err(|e| io_error(e, "flush directory", &dir.path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Regression: myid or zoo.cfg as a link to a secret was read through and quoted, a FIFO
    /// blocked the start for good, a link to /dev/zero was read without limit.
    #[test]
    fn only_bounded_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        fs::write(&secret, "root:$6$hash\n").unwrap();
        std::os::unix::fs::symlink(&secret, dir.path().join("myid")).unwrap();
        let err = read_optional(&dir.path().join("myid"), &Guard::none()).unwrap_err();
        let line = crate::exit::one_line(&err);
        assert!(line.contains("is a symbolic link") && !line.contains("hash"), "{line}");
        // A config file that is a link is replaced (the link itself), not read.
        let change = FileChange::new(dir.path().join("myid"), "1\n".into(), &Guard::none()).unwrap();
        assert_eq!(change.state, State::Replaced);

        nix::unistd::mkfifo(&dir.path().join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        let err = read_optional(&dir.path().join("fifo"), &Guard::none()).unwrap_err();
        assert!(crate::exit::one_line(&err).contains("it is a FIFO, not a regular file"), "{err:#}");

        fs::write(dir.path().join("big"), vec![b'1'; MAX_READ as usize + 1]).unwrap();
        let err = read_optional(&dir.path().join("big"), &Guard::none()).unwrap_err();
        assert!(crate::exit::one_line(&err).contains("more than the 1048576 zk-entry reads"), "{err:#}");
    }

    #[test]
    fn states_and_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zoo.cfg");
        let first = FileChange::new(path.clone(), "a=1\n".into(), &Guard::none()).unwrap();
        assert_eq!(first.state, State::New);
        write_files(&[first], &Guard::none()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a=1\n");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, FILE_MODE);
        assert_eq!(
            FileChange::new(path.clone(), "a=1\n".into(), &Guard::none()).unwrap().state,
            State::Unchanged
        );
        let second = FileChange::new(path.clone(), "a=2\n".into(), &Guard::none()).unwrap();
        assert_eq!(second.state, State::Replaced);
        write_files(&[second], &Guard::none()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a=2\n");
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers.len(), 1, "temporary files left behind: {leftovers:?}");
    }

    #[test]
    fn a_failing_stage_replaces_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("zoo.cfg");
        fs::write(&good, "old\n").unwrap();
        let changes = vec![
            FileChange::new(good.clone(), "new\n".into(), &Guard::none()).unwrap(),
            FileChange {
                path: dir.path().join("missing-dir/java.env"),
                contents: "x".into(),
                state: State::New,
                private: None,
            },
        ];
        let err = write_files(&changes, &Guard::none()).unwrap_err();
        assert!(format!("{err:#}").contains("missing-dir"), "{err:#}");
        assert_eq!(fs::read_to_string(&good).unwrap(), "old\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn private_files_are_0600_and_a_readable_one_is_closed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jaas.conf");
        let private = || Some(Private { owner: None, shown: "<redacted>".into() });
        let guard = Guard::none();
        fs::write(&path, "secret\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let change = FileChange::with_privacy(path.clone(), "secret\n".into(), private(), &guard).unwrap();
        assert_eq!(change.state, State::Replaced, "same contents, but readable by others");
        assert_eq!(change.shown(), "<redacted>");
        write_files(&[change], &guard).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, PRIVATE_MODE);
        let again = FileChange::with_privacy(path.clone(), "secret\n".into(), private(), &guard).unwrap();
        assert_eq!(again.state, State::Unchanged);
        let mine = (nix::unistd::getuid(), nix::unistd::getgid());
        let owned = Some(Private { owner: Some(mine), shown: String::new() });
        assert_eq!(
            FileChange::with_privacy(path.clone(), "secret\n".into(), owned, &guard).unwrap().state,
            State::Unchanged
        );
    }

    #[test]
    fn read_optional_distinguishes_absent() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_optional(&dir.path().join("myid"), &Guard::none()).unwrap(), None);
        fs::write(dir.path().join("myid"), "2\n").unwrap();
        assert_eq!(read_optional(&dir.path().join("myid"), &Guard::none()).unwrap().as_deref(), Some("2\n"));
    }
}
