//! The super user's password: read from its file (a Kubernetes Secret volume), turned into the
//! digest ZooKeeper's `DigestAuthenticationProvider.superDigest` expects, and never written to
//! a log, a command line or `--dry-run`'s report.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

use crate::start::sasl::SUPER_USER;
use crate::start::secrets;

/// The password, without the trailing newline an editor or `kubectl create secret --from-file`
/// may leave.
pub(crate) struct Password(String);

impl Password {
    /// Read as every secret file is read ([`secrets::read_file`]): a Secret volume's file is a
    /// link into `..data`, followed; one trailing newline trimmed; one line only.
    pub(crate) fn read(path: &Path) -> anyhow::Result<Password> {
        Ok(Password(secrets::read_file("--super_password_file", path)?))
    }

    /// `super:PASSWORD`, what `addauth digest` sends.
    pub(crate) fn credentials(&self) -> String {
        format!("{SUPER_USER}:{}", self.0)
    }
}

#[cfg(test)]
impl Password {
    pub(crate) fn read_test(password: &str) -> Password {
        Password(password.to_string())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A regular file of at most `cap` bytes, opened without following a symbolic link: the files
/// zk-entry reads as root may sit on volumes that ZooKeeper's user can write.
pub(crate) fn read_small_file(path: &Path, cap: u64) -> anyhow::Result<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let bytes = crate::start::files::read_capped(file, cap).map_err(|refusal| match refusal {
        crate::start::files::Capped::Io(e) => {
            anyhow::Error::new(e).context(format!("cannot read {}", path.display()))
        }
        refusal => anyhow::anyhow!("{} {}", path.display(), refusal.describe(cap)),
    })?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_zookeepers() {
        // What ZooKeeper 3.8's own `DigestAuthenticationProvider super:secret` prints.
        let p = Password("secret".into());
        assert_eq!(p.credentials(), "super:secret");
        assert_eq!(crate::start::sasl::digest(SUPER_USER, &p.0), "lK75jTNcA+U9vtVEw5vB51mj/w4=");
        assert_eq!(format!("{p:?}"), "Password(..)");
    }

    #[test]
    fn the_file_is_one_line_regular_and_small() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "s3cret\n").unwrap();
        assert_eq!(Password::read(&file).unwrap().0, "s3cret");
        std::fs::write(&file, "\n").unwrap();
        assert!(format!("{:#}", Password::read(&file).unwrap_err()).contains("is empty"));
        std::fs::write(&file, "a\nb").unwrap();
        assert!(format!("{:#}", Password::read(&file).unwrap_err()).contains("line break"));
        std::fs::write(&file, vec![b'x'; 100_000]).unwrap();
        assert!(Password::read(&file).is_err(), "a file too large for a password was read");
        // A Secret volume's file is a link into its ..data directory: followed.
        std::fs::write(&file, "s3cret\n").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(Password::read(&link).unwrap().0, "s3cret");
        assert!(Password::read(dir.path()).is_err());
    }
}
