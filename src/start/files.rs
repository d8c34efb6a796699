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

/// Files are world-readable: zkCli.sh and probes in the same pod may run as another user.
const FILE_MODE: u32 = 0o644;

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
}

impl FileChange {
    /// Compare `contents` with what is on disk now.
    pub(crate) fn new(path: PathBuf, contents: String) -> anyhow::Result<FileChange> {
        let state = match fs::read(&path) {
            Ok(old) if old == contents.as_bytes() => State::Unchanged,
            Ok(_) => State::Replaced,
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::New,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(FileChange { path, contents, state })
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
    io_context(
        tmp.as_file().set_permissions(fs::Permissions::from_mode(FILE_MODE)),
        "set permissions of",
        &change.path,
    )?;
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
            },
        ];
        let err = write_files(&changes).unwrap_err();
        assert!(format!("{err:#}").contains("missing-dir"), "{err:#}");
        assert_eq!(fs::read_to_string(&good).unwrap(), "old\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn read_optional_distinguishes_absent() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_optional(&dir.path().join("myid")).unwrap(), None);
        fs::write(dir.path().join("myid"), "2\n").unwrap();
        assert_eq!(read_optional(&dir.path().join("myid")).unwrap().as_deref(), Some("2\n"));
    }
}
