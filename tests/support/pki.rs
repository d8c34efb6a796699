//! Secrets as Kubernetes mounts them, and certificates made with `openssl` at test time, as
//! cert-manager would issue them: shared by the TLS and SASL tests (tests/it/security.rs) and the
//! table of flag combinations (tests/it/combinations.rs).

use std::fs;
use std::path::{Path, PathBuf};

use super::stderr;

/// Both extended key usages: ZooKeeper's quorum dials out (client) and accepts (server).
pub const BOTH_USAGES: &str = "serverAuth,clientAuth";

/// A Secret volume at `dir` as the kubelet writes it: files in a timestamped directory, reached
/// through the `..data` symlink.
pub fn secret_volume(dir: &Path, files: &[(&str, &str)]) {
    let data = dir.join("..2026_11_28_20_00_00.1");
    fs::create_dir_all(&data).unwrap();
    for (name, text) in files {
        fs::write(data.join(name), text).unwrap();
        std::os::unix::fs::symlink(format!("..data/{name}"), dir.join(name)).unwrap();
    }
    std::os::unix::fs::symlink(data.file_name().unwrap(), dir.join("..data")).unwrap();
}

/// Certificates made with `openssl` at test time, in a directory of their own.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

/// How a leaf's key is encoded, as cert-manager can write it.
#[derive(Clone, Copy)]
pub enum KeyKind {
    /// `RSA PRIVATE KEY` (cert-manager's default encoding).
    RsaPkcs1,
    /// `PRIVATE KEY` (cert-manager's `encoding: PKCS8`).
    RsaPkcs8,
    /// `EC PRIVATE KEY`.
    EcSec1,
    Ed25519,
    /// `EC PRIVATE KEY` on P-521, which Java takes and zk-entry's check cannot sign with.
    EcP521,
    /// A 1024-bit RSA key, which Java takes and zk-entry refuses as too weak.
    Rsa1024,
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out =
        std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
}

impl Pki {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Pki {
        let pki = Pki { dir: tempfile::tempdir().unwrap() };
        let subject = format!("/CN={name}");
        openssl(
            pki.dir.path(),
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                "-days", "30", "-subj", &subject,
            ],
        );
        pki
    }

    /// A cert-manager style Secret directory `name` (tls.crt, tls.key, ca.crt) for `dns`,
    /// issued by this CA (or with the key of `other_key`, to make a mismatch).
    pub fn issue(&self, name: &str, dns: &[&str], key: KeyKind, days: u32, usages: &str) -> PathBuf {
        let out = self.dir.path().join(name);
        fs::create_dir(&out).unwrap();
        let d = |f: &str| out.join(f).display().to_string();
        match key {
            KeyKind::RsaPkcs1 => openssl(&out, &["genrsa", "-traditional", "-out", "tls.key", "2048"]),
            KeyKind::RsaPkcs8 => openssl(
                &out,
                &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "tls.key"],
            ),
            KeyKind::EcSec1 => {
                openssl(&out, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "tls.key"])
            }
            KeyKind::Ed25519 => openssl(&out, &["genpkey", "-algorithm", "ed25519", "-out", "tls.key"]),
            KeyKind::EcP521 => {
                openssl(&out, &["ecparam", "-name", "secp521r1", "-genkey", "-noout", "-out", "tls.key"])
            }
            KeyKind::Rsa1024 => openssl(&out, &["genrsa", "-traditional", "-out", "tls.key", "1024"]),
        }
        // "IP:..." entries are address names; the rest DNS names.
        let sans: Vec<String> = dns
            .iter()
            .map(|n| if n.starts_with("IP:") { n.to_string() } else { format!("DNS:{n}") })
            .collect();
        fs::write(
            out.join("ext"),
            format!(
                "subjectAltName={}\nextendedKeyUsage={usages}\nbasicConstraints=CA:FALSE\n",
                sans.join(",")
            ),
        )
        .unwrap();
        openssl(
            &out,
            &["req", "-new", "-key", "tls.key", "-subj", &format!("/CN={}", dns[0]), "-out", "tls.csr"],
        );
        let ca = self.dir.path();
        openssl(
            &out,
            &[
                "x509",
                "-req",
                "-in",
                "tls.csr",
                "-CA",
                &ca.join("ca.crt").display().to_string(),
                "-CAkey",
                &ca.join("ca.key").display().to_string(),
                "-CAcreateserial",
                "-days",
                &days.to_string(),
                "-out",
                "tls.crt",
                "-extfile",
                "ext",
            ],
        );
        fs::copy(ca.join("ca.crt"), d("ca.crt")).unwrap();
        for f in ["ext", "tls.csr"] {
            fs::remove_file(out.join(f)).unwrap();
        }
        out
    }
}

/// The Secret of `secret` (tls.crt, tls.key, ca.crt) mounted as the kubelet does at `dir`.
pub fn mount_tls_secret(secret: &Path, dir: &Path) {
    let read = |f: &str| fs::read_to_string(secret.join(f)).unwrap();
    let (crt, key, ca) = (read("tls.crt"), read("tls.key"), read("ca.crt"));
    secret_volume(dir, &[("tls.crt", &crt), ("tls.key", &key), ("ca.crt", &ca)]);
}
