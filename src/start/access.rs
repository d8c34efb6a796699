//! Whether the user ZooKeeper runs as can reach what its JVM needs, judged as root before
//! anything is written (docs/design.md, "Threat model"). Without it, a data directory below a
//! 0700 parent fails inside the JVM, with a Java stack trace, after zk-entry has chowned and
//! written everything (and, with `--reconfig`, joined the ensemble).
//!
//! Judged by the mode bits as the kernel judges them for that account: the owner's bits when it
//! owns the entry, else the group's when the entry's group is one of its groups, else the
//! others'. The directories the start gives to that user (the data, data-log and log
//! directories, and the configuration directory with `--reconfig`) are judged as owned by it,
//! with everything below them on their file system; a directory that does not exist yet is
//! created by root with mode 0755. An entry with a POSIX ACL is left to the kernel: its group
//! bits are the ACL's mask, not a group's rights, so they prove nothing either way.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::fs::paths::{self, Guard};
use crate::pid1::user::Account;

/// A directory the JVM uses.
pub(crate) struct Need<'a> {
    /// The flag that names it, for the message.
    pub(crate) flag: &'static str,
    pub(crate) dir: &'a Path,
    /// ZooKeeper lists and writes it (data, logs); otherwise it only opens files in it by name.
    pub(crate) write: bool,
}

/// Search (x), read (r) and write (w) bits, as in the others' triplet.
const SEARCH: u32 = 0o1;
const WRITE: u32 = 0o2;
const READ: u32 = 0o4;

/// The start's view: who runs the JVM, and which directories it will own by then.
pub(crate) struct Judge<'a> {
    account: &'a Account,
    /// The given directories' real paths (links resolved), with their file system.
    given: Vec<(PathBuf, u64)>,
    guard: &'a Guard,
}

impl<'a> Judge<'a> {
    /// `owned`: the directories the start chowns to `account` (those that exist; a missing one
    /// is created, and everything in it is new).
    pub(crate) fn new(
        account: &'a Account,
        owned: &[PathBuf],
        guard: &'a Guard,
    ) -> anyhow::Result<Judge<'a>> {
        let mut given = Vec::new();
        for dir in owned {
            if let Some(open) = paths::open_dir(dir, guard, false)? {
                let st =
                    nix::sys::stat::fstat(&open.fd).map_err(|e| paths::io_error(e, "examine", &open.real))?;
                given.push((open.real, st.st_dev));
            }
        }
        Ok(Judge { account, given, guard })
    }

    /// Each directory in `needs` must be reachable (search permission on it and every directory
    /// above it) and, where `write`, listable and writable.
    pub(crate) fn directories(&self, needs: &[Need]) -> anyhow::Result<()> {
        for need in needs {
            // The deepest part that exists; what is missing below it is created 0755 by root.
            let mut existing = need.dir;
            let open = loop {
                if let Some(open) = paths::open_dir(existing, self.guard, false)? {
                    break open;
                }
                match existing.parent() {
                    Some(parent) => existing = parent,
                    None => return Ok(()),
                }
            };
            let whole = existing == need.dir;
            let mut ancestors: Vec<&Path> = open.real.ancestors().collect();
            ancestors.reverse();
            for dir in ancestors {
                let last = whole && dir == open.real;
                let want = if last && need.write { SEARCH | READ | WRITE } else { SEARCH };
                self.require(dir, want, || {
                    let what = match (last, need.write) {
                        (true, true) => "read and write".to_string(),
                        (true, false) => "enter".to_string(),
                        (false, _) => format!("pass through {} to reach", dir.display()),
                    };
                    format!("{} {}: {} cannot {what} it", need.flag, need.dir.display(), self.who())
                })?;
            }
        }
        Ok(())
    }

    /// A file the start keeps as it is (its contents are already right) must be readable: a
    /// file zk-entry writes gets a mode and owner that let ZooKeeper's user read it.
    pub(crate) fn kept_file(&self, path: &Path) -> anyhow::Result<()> {
        let Some(dir) = path.parent() else { return Ok(()) };
        let Some(open) = paths::open_dir(dir, self.guard, false)? else { return Ok(()) };
        let real = open.real.join(paths::name_of(path)?);
        self.require(&real, READ, || {
            format!("{} is kept as it is, and {} cannot read it", path.display(), self.who())
        })
    }

    /// `dir` (a real path) grants `want` to the account, or the refusal: `said` and the fix.
    fn require(&self, real: &Path, want: u32, said: impl FnOnce() -> String) -> anyhow::Result<()> {
        let meta = std::fs::symlink_metadata(real)
            .map_err(|e| anyhow::anyhow!("cannot examine {}: {e}", real.display()))?;
        if crate::sys::has_access_acl(real) {
            return Ok(());
        }
        let (uid, gid) = self.owner_at_start(real, &meta);
        let bits = if uid == self.account.uid.as_raw() {
            meta.mode() >> 6
        } else if self.account.groups.iter().any(|g| g.as_raw() == gid) {
            meta.mode() >> 3
        } else {
            meta.mode()
        } & 0o7;
        if bits & want == want {
            return Ok(());
        }
        let to_add: String = [(READ, 'r'), (WRITE, 'w'), (SEARCH, 'x')]
            .iter()
            .filter(|(b, _)| want & b != 0)
            .map(|(_, c)| *c)
            .collect();
        let given = self.given_at(real, &meta);
        let fix = if given || uid == self.account.uid.as_raw() {
            format!("chmod u+{to_add} {}", real.display())
        } else {
            format!(
                "chmod o+{to_add} {} (or give it to a group of that user), or use a path that user can reach",
                real.display()
            )
        };
        let owner = if given { " once zk-entry gives it to that user" } else { "" };
        anyhow::bail!(
            "{}: {} is owned by {}:{} with mode {:04o}{owner}, so the JVM would fail; {fix}",
            said(),
            real.display(),
            meta.uid(),
            meta.gid(),
            meta.mode() & 0o7777,
        )
    }

    /// The owner an entry will have when the JVM starts: the account's, inside a directory the
    /// start gives to it (on that directory's file system: the walk leaves mounts alone).
    fn owner_at_start(&self, real: &Path, meta: &std::fs::Metadata) -> (u32, u32) {
        match self.given_at(real, meta) {
            true => (self.account.uid.as_raw(), self.account.gid.as_raw()),
            false => (meta.uid(), meta.gid()),
        }
    }

    /// True inside a directory the start gives to the account, on that directory's file system.
    fn given_at(&self, real: &Path, meta: &std::fs::Metadata) -> bool {
        self.given.iter().any(|(top, dev)| real.starts_with(top) && meta.dev() == *dev)
    }

    fn who(&self) -> String {
        format!("the user ZooKeeper runs as, {}", self.account.describe())
    }
}

/// An account for tests: `uid`, primary group `gid`, no other groups.
#[cfg(test)]
pub(crate) fn account(uid: u32, gid: u32) -> Account {
    use nix::unistd::{Gid, Uid};
    Account {
        uid: Uid::from_raw(uid),
        gid: Gid::from_raw(gid),
        groups: vec![Gid::from_raw(gid)],
        home: PathBuf::from("/"),
        name: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A tree every user can reach down to `root`, whatever the temporary directory's parents.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        mode(dir.path(), 0o755);
        let open = dir.path().ancestors().all(|a| std::fs::metadata(a).unwrap().mode() & 0o001 != 0);
        assert!(open, "the temporary directory must let others through: set TMPDIR to one that does");
        dir
    }

    fn judged(dir: &Path, write: bool, owned: &[PathBuf]) -> anyhow::Result<()> {
        let someone = account(54321, 54321);
        let guard = Guard::none();
        Judge::new(&someone, owned, &guard)?.directories(&[Need { flag: "--data_dir", dir, write }])
    }

    #[test]
    fn a_closed_parent_is_refused_naming_it_and_the_fix() {
        let t = tree();
        let data = t.path().join("closed/data");
        std::fs::create_dir_all(&data).unwrap();
        mode(&t.path().join("closed"), 0o700);
        let line = crate::exit::one_line(&judged(&data, true, std::slice::from_ref(&data)).unwrap_err());
        let closed = t.path().join("closed").display().to_string();
        assert!(
            line.starts_with(&format!(
                "--data_dir {}: the user ZooKeeper runs as, uid 54321",
                data.display()
            )),
            "{line}"
        );
        assert!(line.contains(&format!("cannot pass through {closed} to reach it")), "{line}");
        assert!(line.contains("mode 0700") && line.contains(&format!("chmod o+x {closed}")), "{line}");
        // Missing below the closed parent: still unreachable.
        let missing = t.path().join("closed/new/data");
        assert!(judged(&missing, true, &[]).is_err());
        mode(&t.path().join("closed"), 0o711);
        judged(&data, true, std::slice::from_ref(&data)).unwrap();
        judged(&missing, true, &[]).unwrap();
    }

    #[test]
    fn a_given_directory_counts_as_the_users_and_needs_its_owner_bits() {
        let t = tree();
        let data = t.path().join("data");
        std::fs::create_dir_all(data.join("version-2")).unwrap();
        // root's and 0700: given to the user by the start, so its owner bits decide.
        mode(&data, 0o700);
        judged(&data, true, std::slice::from_ref(&data)).unwrap();
        // Not given (a conf dir in static mode): the others' bits decide, search only.
        let line = crate::exit::one_line(&judged(&data, false, &[]).unwrap_err());
        assert!(line.contains("cannot enter it") && line.contains("chmod o+x"), "{line}");
        mode(&data, 0o300);
        let line = crate::exit::one_line(&judged(&data, true, std::slice::from_ref(&data)).unwrap_err());
        assert!(
            line.contains("cannot read and write it") && line.contains("once zk-entry gives it"),
            "{line}"
        );
        assert!(line.contains(&format!("chmod u+rwx {}", data.display())), "{line}");
    }

    #[test]
    fn a_kept_file_must_be_readable() {
        let t = tree();
        let file = t.path().join("zoo.cfg");
        std::fs::write(&file, "x").unwrap();
        mode(&file, 0o600);
        let someone = account(54321, 54321);
        let guard = Guard::none();
        let judge = Judge::new(&someone, &[], &guard).unwrap();
        let line = crate::exit::one_line(&judge.kept_file(&file).unwrap_err());
        assert!(line.contains("is kept as it is") && line.contains("chmod o+r"), "{line}");
        mode(&file, 0o644);
        judge.kept_file(&file).unwrap();
    }
}
