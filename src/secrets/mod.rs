//! Secret values: which ones are secret, how they are shown, and how one is read from a file.
//!
//! A value is secret when its key says so (it ends in `password`, `secret` or `digest`, which
//! covers `superDigest`), or when it was read from a file (`--set_file`): whoever mounts a
//! Secret volume means it. A secret never reaches the start log, `--dry-run` or an error line:
//! each shows [`REDACTED`] in its place. Files that hold one are written 0600, owned by the user
//! ZooKeeper runs as ([`crate::fs::files::Private`]).
//!
//! A secret file is read as Kubernetes mounts it: a Secret volume's entries are symlinks into
//! `..data/`, so links are followed (the volume is the kubelet's, not the pod's); what is
//! opened must then be a regular file of at most [`MAX_SECRET_BYTES`], opened non-blocking so a
//! FIFO planted in its place cannot hang the start.
//!
//! The super user's password, which `start --reconfig` and the membership commands prove to the
//! server and key the recorded shape with, is one such secret: [`password`].

pub(crate) mod password;

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::fs::files;

/// What a secret value shows as wherever zk-entry prints it.
pub(crate) const REDACTED: &str = "<redacted>";

/// A password, a digest or a JAAS file is far smaller; a larger file is the wrong file.
pub(crate) const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Key endings (lower case) that mark a value as secret.
const SECRET_ENDINGS: [&str; 3] = ["password", "secret", "digest"];

/// True when a zoo.cfg key or Java system property holds a secret by its name.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_ENDINGS.iter().any(|end| lower.ends_with(end))
}

/// A JVM argument as it may be printed: `-Dkey=<redacted>` for a secret system property.
pub(crate) fn shown_jvm_arg(arg: &str) -> String {
    match arg.strip_prefix("-D").and_then(|prop| prop.split_once('=')) {
        Some((key, _)) if is_secret_key(key) => format!("-D{key}={REDACTED}"),
        _ => arg.to_string(),
    }
}

/// True when a JVM argument carries a secret system property.
pub(crate) fn is_secret_jvm_arg(arg: &str) -> bool {
    shown_jvm_arg(arg) != arg
}

/// The secret held by the file at `path`, without one trailing newline (`echo` and most editors
/// add one; kubectl's `--from-file` keeps it). `what` names the flag for messages, which never
/// quote the contents.
pub(crate) fn read_file(what: &str, path: &Path) -> anyhow::Result<String> {
    let fail = |problem: &str| anyhow::anyhow!("{what}: {}: {problem}", path.display());
    let bytes = read_bounded(what, path, MAX_SECRET_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|_| fail("is not UTF-8 text"))?;
    let value = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    if value.is_empty() {
        return Err(fail("is empty; expected the secret on one line"));
    }
    if value.chars().any(char::is_control) {
        return Err(fail(
            "holds a line break or another control character (one trailing newline is allowed); expected the secret on one line",
        ));
    }
    Ok(value.to_string())
}

/// The bytes of the regular file at `path` (symlinks followed, as a Secret volume needs), at
/// most `max` of them.
pub(crate) fn read_bounded(what: &str, path: &Path, max: u64) -> anyhow::Result<Vec<u8>> {
    let fail = |problem: String| anyhow::anyhow!("{what}: {}: {problem}", path.display());
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => fail(format!(
                "cannot open: {e} (running as uid {}); give the Secret volume a defaultMode and fsGroup that let this user read it",
                nix::unistd::geteuid()
            )),
            _ => fail(format!("cannot open: {e}; mount the Secret there or fix the path")),
        })?;
    files::read_capped(file, max).map_err(|refusal| match refusal {
        files::Capped::NotRegular(_) => {
            fail("is not a regular file; expected a file holding the secret".into())
        }
        files::Capped::TooLarge(Some(size)) => fail(format!("is {size} bytes; expected at most {max}")),
        files::Capped::TooLarge(None) => fail(format!("holds more than {max} bytes")),
        files::Capped::Io(e) => fail(format!("cannot read: {e}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_by_their_endings_any_case() {
        for key in [
            "ssl.keyStore.password",
            "ssl.quorum.trustStore.password",
            "zookeeper.DigestAuthenticationProvider.superDigest",
            "my.client.Secret",
            "quorum.digest",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["ssl.keyStore.passwordPath", "ssl.keyStore.location", "tickTime", "digestAlg"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn jvm_properties_are_redacted_by_key() {
        assert_eq!(
            shown_jvm_arg("-Dzookeeper.ssl.keyStore.password=hunter2"),
            "-Dzookeeper.ssl.keyStore.password=<redacted>"
        );
        assert_eq!(shown_jvm_arg("-Dzookeeper.log.dir=/x"), "-Dzookeeper.log.dir=/x");
        assert_eq!(shown_jvm_arg("-Xmx2G"), "-Xmx2G");
        assert!(is_secret_jvm_arg("-Dfoo.secret=x"));
        assert!(!is_secret_jvm_arg("-Dfoo.secretPath=x"));
    }

    fn read(contents: &[u8]) -> anyhow::Result<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, contents).unwrap();
        read_file("--set_file", &path)
    }

    #[test]
    fn one_trailing_newline_is_trimmed() {
        assert_eq!(read(b"hunter2\n").unwrap(), "hunter2");
        assert_eq!(read(b"hunter2\r\n").unwrap(), "hunter2");
        assert_eq!(read(b"hunter2").unwrap(), "hunter2");
        assert!(read(b"hunter2\n\n").is_err(), "only one newline");
    }

    #[test]
    fn refusals_never_quote_the_contents() {
        for bad in [&b"two\nlines\n"[..], b"", b"\n", b"\xff\xfe", b"tab\there"] {
            let line = crate::exit::one_line(&read(bad).unwrap_err());
            assert!(line.starts_with("--set_file: "), "{line}");
            assert!(!line.contains("two") && !line.contains("lines") && !line.contains("tab"), "{line}");
        }
        let big = vec![b'a'; MAX_SECRET_BYTES as usize + 1];
        assert!(crate::exit::one_line(&read(&big).unwrap_err()).contains("expected at most 65536"));
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let line = crate::exit::one_line(&read_file("--set_file", dir.path()).unwrap_err());
        assert!(line.contains("not a regular file"), "{line}");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let line = crate::exit::one_line(&read_file("--set_file", &fifo).unwrap_err());
        assert!(line.contains("not a regular file"), "a FIFO must not block: {line}");
        let missing = crate::exit::one_line(&read_file("--set_file", &dir.path().join("nope")).unwrap_err());
        assert!(missing.contains("cannot open"), "{missing}");
    }

    #[test]
    fn kubelet_symlinks_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("..2026_01_01")).unwrap();
        std::fs::write(dir.path().join("..2026_01_01/password"), "s3cret\n").unwrap();
        std::os::unix::fs::symlink("..2026_01_01", dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/password", dir.path().join("password")).unwrap();
        assert_eq!(read_file("--set_file", &dir.path().join("password")).unwrap(), "s3cret");
    }
}
