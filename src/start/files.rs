//! Putting files on disk so that a crash, a kill or a full disk never leaves a half-written one
//! and never loses the good file that was there.
//!
//! Every file is staged as a temporary file in its own directory (so the rename cannot cross
//! file systems), written, fsynced, and only when every staged file is complete are they renamed
//! over the old ones; then each directory is fsynced once so the renames themselves are durable.
//! A file whose contents are already right is left alone (no write, no fsync).

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use nix::unistd::{Gid, Uid};

/// Files are world-readable: zkCli.sh and probes in the same pod may run as another user.
const FILE_MODE: u32 = 0o644;
/// Files that hold a secret: readable by their owner, the user ZooKeeper runs as, only.
const PRIVATE_MODE: u32 = 0o600;

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
    /// Compare `contents` with what is on disk now.
    pub(crate) fn new(path: PathBuf, contents: String) -> anyhow::Result<FileChange> {
        FileChange::with_privacy(path, contents, None)
    }

    /// As [`FileChange::new`]; a private file whose mode or owner is not yet right is replaced
    /// even when its contents are (a secret left readable by an older start is closed).
    pub(crate) fn with_privacy(
        path: PathBuf,
        contents: String,
        private: Option<Private>,
    ) -> anyhow::Result<FileChange> {
        let state = match fs::read(&path) {
            Ok(old) if old == contents.as_bytes() && private_as_planned(&path, private.as_ref()) => {
                State::Unchanged
            }
            Ok(_) => State::Replaced,
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::New,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(FileChange { path, contents, state, private })
    }

    /// The contents as they may be printed.
    pub(crate) fn shown(&self) -> &str {
        self.private.as_ref().map_or(&self.contents, |p| &p.shown)
    }
}

/// True when the file at `path` has the mode (and owner) `private` asks for.
fn private_as_planned(path: &Path, private: Option<&Private>) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::symlink_metadata(path) else { return false };
    let mode = meta.mode() & 0o7777;
    match private {
        // Public files keep whatever mode an operator gave them, as before.
        None => true,
        Some(p) => {
            mode == PRIVATE_MODE
                && p.owner.is_none_or(|(uid, gid)| meta.uid() == uid.as_raw() && meta.gid() == gid.as_raw())
        }
    }
}

/// The directory a file lives in; paths here are absolute, so there always is one.
fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("/"))
}

/// Why an I/O step failed, with the fix for the usual container causes.
fn hint(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) if !nix::unistd::geteuid().is_root() => {
            " (not running as root: make the directory writable for this user, e.g. with the pod's securityContext.fsGroup)"
        }
        Some(libc::EROFS) => " (read-only file system: mount a writable volume, e.g. an emptyDir, there)",
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => " (the volume is full: free space or grow the volume)",
        _ => "",
    }
}

fn io_context<T>(result: io::Result<T>, what: &str, path: &Path) -> anyhow::Result<T> {
    result.map_err(|e| {
        let h = hint(&e);
        anyhow::Error::new(e).context(format!("cannot {what} {}{h}", path.display()))
    })
}

/// Create each directory (and its parents) that does not exist yet.
pub(crate) fn create_dirs(dirs: &[PathBuf]) -> anyhow::Result<()> {
    for dir in missing_dirs(dirs) {
        io_context(fs::create_dir_all(&dir), "create directory", &dir)?;
    }
    Ok(())
}

/// The directories of `dirs` that do not exist yet, for `--dry-run` and logging.
pub(crate) fn missing_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter().filter(|d| !d.is_dir()).cloned().collect()
}

fn stage(change: &FileChange) -> anyhow::Result<tempfile::NamedTempFile> {
    let dir = parent(&change.path);
    let name = change.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = io_context(
        tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".zk-entry.tmp").tempfile_in(dir),
        "create a temporary file in",
        dir,
    )?;
    // Through the File itself: NamedTempFile's own Write wraps errors and hides the OS code.
    io_context(tmp.as_file_mut().write_all(change.contents.as_bytes()), "write", &change.path)?;
    // The temporary file is created 0600, so a secret is never readable by others, not even
    // for a moment; it is given to its owner before it gets its name.
    let mode = if change.private.is_some() { PRIVATE_MODE } else { FILE_MODE };
    io_context(
        tmp.as_file().set_permissions(fs::Permissions::from_mode(mode)),
        "set permissions of",
        &change.path,
    )?;
    if let Some((uid, gid)) = change.private.as_ref().and_then(|p| p.owner) {
        io_context(
            nix::unistd::fchown(tmp.as_file(), Some(uid), Some(gid)).map_err(io::Error::from),
            "give the secret file to its user:",
            &change.path,
        )?;
    }
    io_context(tmp.as_file().sync_all(), "flush", &change.path)?;
    Ok(tmp)
}

/// Write every changed file; all of them are staged before any is replaced.
pub(crate) fn write_files(changes: &[FileChange]) -> anyhow::Result<()> {
    let pending: Vec<&FileChange> = changes.iter().filter(|c| c.state != State::Unchanged).collect();
    let mut staged = Vec::with_capacity(pending.len());
    for change in &pending {
        // On error the temporary files staged so far are removed when `staged` is dropped.
        staged.push(stage(change)?);
    }
    let mut dirs = BTreeSet::new();
    for (tmp, change) in staged.into_iter().zip(&pending) {
        io_context(tmp.persist(&change.path).map_err(|e| e.error), "replace", &change.path)?;
        dirs.insert(parent(&change.path).to_path_buf());
    }
    for dir in dirs {
        let handle = io_context(fs::File::open(&dir), "open directory", &dir)?;
        io_context(handle.sync_all(), "flush directory", &dir)?;
    }
    Ok(())
}

/// The contents of a file that may not exist.
pub(crate) fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => io_context(Err(e), "read", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zoo.cfg");
        let first = FileChange::new(path.clone(), "a=1\n".into()).unwrap();
        assert_eq!(first.state, State::New);
        write_files(&[first]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a=1\n");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, FILE_MODE);
        assert_eq!(FileChange::new(path.clone(), "a=1\n".into()).unwrap().state, State::Unchanged);
        let second = FileChange::new(path.clone(), "a=2\n".into()).unwrap();
        assert_eq!(second.state, State::Replaced);
        write_files(&[second]).unwrap();
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
            FileChange::new(good.clone(), "new\n".into()).unwrap(),
            FileChange {
                path: dir.path().join("missing-dir/java.env"),
                contents: "x".into(),
                state: State::New,
                private: None,
            },
        ];
        let err = write_files(&changes).unwrap_err();
        assert!(format!("{err:#}").contains("missing-dir"), "{err:#}");
        assert_eq!(fs::read_to_string(&good).unwrap(), "old\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn private_files_are_0600_and_a_readable_one_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jaas.conf");
        let private = || Some(Private { owner: None, shown: "<redacted>".into() });
        fs::write(&path, "secret\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let change = FileChange::with_privacy(path.clone(), "secret\n".into(), private()).unwrap();
        assert_eq!(change.state, State::Replaced, "same contents, but readable by others");
        assert_eq!(change.shown(), "<redacted>");
        write_files(&[change]).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, PRIVATE_MODE);
        let again = FileChange::with_privacy(path.clone(), "secret\n".into(), private()).unwrap();
        assert_eq!(again.state, State::Unchanged);
        let mine = (nix::unistd::getuid(), nix::unistd::getgid());
        let owned = Some(Private { owner: Some(mine), shown: String::new() });
        assert_eq!(
            FileChange::with_privacy(path.clone(), "secret\n".into(), owned).unwrap().state,
            State::Unchanged
        );
    }

    #[test]
    fn read_optional_distinguishes_absent() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_optional(&dir.path().join("myid")).unwrap(), None);
        fs::write(dir.path().join("myid"), "2\n").unwrap();
        assert_eq!(read_optional(&dir.path().join("myid")).unwrap().as_deref(), Some("2\n"));
    }
}
