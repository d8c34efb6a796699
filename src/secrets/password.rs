//! The super user's password: read from its file (a Kubernetes Secret volume), turned into the
//! digest ZooKeeper's `DigestAuthenticationProvider.superDigest` expects, proven to the server
//! before zk-entry changes anything ([`Password::log_in`]), used as the key that authenticates
//! the recorded shape ([`crate::shape::record`]), and never written to a log, a command line or
//! `--dry-run`'s report.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;

use crate::secrets;
use crate::zk::config::CONFIG_ZNODE;
use crate::zk::session::{Acl, KeeperError, PERMS_ADMIN, Session};

/// The super user's name for `addauth digest super:PASSWORD`.
pub(crate) const SUPER_USER: &str = "super";

/// ZooKeeper's digest of `user:password`: base64 of its SHA-1.
pub(crate) fn digest(user: &str, password: &str) -> String {
    let hash = sha1_smol::Sha1::from(format!("{user}:{password}")).digest().bytes();
    base64::engine::general_purpose::STANDARD.encode(hash)
}

/// The password, without the trailing newline an editor or `kubectl create secret --from-file`
/// may leave, and the file it came from (for messages).
pub(crate) struct Password {
    text: String,
    file: PathBuf,
}

impl Password {
    /// Read as every secret file is read ([`secrets::read_file`]): a Secret volume's file is a
    /// link into `..data`, followed; one trailing newline trimmed; one line only.
    pub(crate) fn read(path: &Path) -> anyhow::Result<Password> {
        Ok(Password { text: secrets::read_file("--super_password_file", path)?, file: path.to_path_buf() })
    }

    /// `super:PASSWORD`, what `addauth digest` sends.
    pub(crate) fn credentials(&self) -> String {
        format!("{SUPER_USER}:{}", self.text)
    }

    /// The key of the shape's MAC: only the pods and the operator hold the password.
    pub(crate) fn mac_key(&self) -> ring::hmac::Key {
        ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.text.as_bytes())
    }

    /// `addauth digest super:PASSWORD`, then proof that the server took it. ZooKeeper answers
    /// `addauth` with success whatever the password, so zk-entry asks for something only the
    /// super user may do and that changes nothing: a setACL of `/zookeeper/config` (its ACL
    /// as it is, readable by all and changeable by no one else, kept so by the server) on an
    /// ACL version it does not have. The server checks the rights first: the super user is
    /// told the version is wrong (-103), anyone else is not authorised (-102). Nothing is
    /// written either way.
    pub(crate) fn log_in(&self, session: &mut Session) -> anyhow::Result<()> {
        session.add_digest_auth(&self.credentials())?;
        let (acl, stat) = session
            .get_acl(CONFIG_ZNODE)
            .with_context(|| format!("cannot read the ACL of {CONFIG_ZNODE}"))?;
        let anyone = Acl::anyone(0);
        if acl
            .iter()
            .any(|a| (&a.scheme, &a.id) == (&anyone.scheme, &anyone.id) && a.perms & PERMS_ADMIN != 0)
        {
            bail!(
                "cannot check the super password in {}: {CONFIG_ZNODE} lets anyone change its ACL; nothing changed",
                self.file.display()
            );
        }
        let never = if stat.aversion == i32::MAX { 0 } else { stat.aversion + 1 };
        match session.set_acl(CONFIG_ZNODE, &acl, never) {
            Err(e) if KeeperError::of(&e) == Some(KeeperError::BAD_VERSION) => Ok(()),
            Err(e) if KeeperError::of(&e) == Some(KeeperError::NO_AUTH) => bail!(
                "the super password in {} is wrong: {} refused the super user's rights; nothing changed",
                self.file.display(),
                session.server
            ),
            Err(e) => Err(e).context(format!("checking the super password on {CONFIG_ZNODE}")),
            // The version matched after all: the ACL was set to itself.
            Ok(()) => Ok(()),
        }
    }
}

#[cfg(test)]
impl Password {
    pub(crate) fn read_test(password: &str) -> Password {
        Password { text: password.to_string(), file: PathBuf::from("/test/password") }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_zookeepers() {
        // What ZooKeeper 3.8's own `DigestAuthenticationProvider super:secret` prints.
        let p = Password::read_test("secret");
        assert_eq!(p.credentials(), "super:secret");
        assert_eq!(digest(SUPER_USER, &p.text), "lK75jTNcA+U9vtVEw5vB51mj/w4=");
        assert_eq!(format!("{p:?}"), "Password(..)");
    }

    #[test]
    fn digest_of_super_admin_is_zookeepers() {
        // DigestAuthenticationProvider.generateDigest("super:admin") from ZooKeeper 3.8.
        assert_eq!(digest("super", "admin"), "xQJmxLMiHGwaqBvst5y6rkB6HQs=");
    }

    #[test]
    fn the_file_is_one_line_regular_and_small() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "s3cret\n").unwrap();
        assert_eq!(Password::read(&file).unwrap().text, "s3cret");
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
        assert_eq!(Password::read(&link).unwrap().text, "s3cret");
        assert!(Password::read(dir.path()).is_err());
    }
}
