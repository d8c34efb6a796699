//! TLS from a cert-manager Secret volume (`tls.crt`, `tls.key`, `ca.crt`): the check before
//! ZooKeeper starts, and the key store ZooKeeper's PEM loader can read.
//!
//! Why a check at all: ZooKeeper 3.8 does not stop on a bad key or certificate. It keeps
//! listening and never joins the quorum ("Failed to create key manager"), a silent outage. So
//! zk-entry refuses, in one line naming the file and the problem, a pair where: a file is not
//! PEM; the key does not belong to the certificate; the certificate is expired or not yet valid;
//! its names do not cover this pod's FQDN (quorum host-name verification would fail); its chain
//! does not verify against `ca.crt`; the key is of a kind ZooKeeper cannot read (Ed25519), or
//! one the check cannot sign with (P-521, RSA above 4096 bits; RSA below 2048 is refused as
//! weak), each named with its curve or size.
//!
//! Why a key store of our own: the PEM loader wants the key and the chain in ONE file, and only
//! PKCS#8 keys; cert-manager writes separate files and PKCS#1 (RSA) or SEC1 (EC) keys by
//! default. The key is converted ([`super::der`]) and written with the chain into
//! `<conf_dir>/tls/` (0700, the key store 0600, both ZooKeeper's user's), a directory of its own
//! because ZooKeeper's certificate reload watches the key store's directory for its file name.
//!
//! Crates: PEM parsing is rustls-pki-types', chain, validity and names are checked by
//! rustls-webpki (the verifier rustls uses), and the key/certificate match by signing a message
//! with ring and verifying it with the certificate's public key.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, SignatureVerificationAlgorithm, UnixTime};

use super::der;
use super::plan::{Contents, Contribution, Dir, Entry, File, Group};
use super::settings::{QuorumTls, Tls};
use crate::secrets;

pub(crate) const CERT_FILE: &str = "tls.crt";
pub(crate) const KEY_FILE: &str = "tls.key";
pub(crate) const CA_FILE: &str = "ca.crt";
/// In `<conf_dir>/tls/`: the key and chain, and the CA certificates.
pub(crate) const KEY_STORE: &str = "keystore.pem";
pub(crate) const TRUST_STORE: &str = "truststore.pem";
/// Certificates and keys are a few KiB; a chain of ten is still far below this.
const MAX_PEM_BYTES: u64 = 1 << 20;

/// What a checked Secret gives ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Material {
    /// PKCS#8 key, then the certificate chain from tls.crt.
    pub(crate) key_store: String,
    /// The certificates of ca.crt.
    pub(crate) trust_store: String,
    /// For the log: serial, expiry, key kind.
    pub(crate) summary: String,
}

/// Check the Secret in `dir` for the pod named `fqdn` at time `now`.
pub(crate) fn check(dir: &Path, fqdn: &str, now: SystemTime) -> anyhow::Result<Material> {
    let fail =
        |file: &str, problem: String| anyhow::anyhow!("--tls_dir: {}: {problem}", dir.join(file).display());
    let read = |file: &str| read_file(dir, file);
    let (cert_pem, key_pem, ca_pem) = (read(CERT_FILE)?, read(KEY_FILE)?, read(CA_FILE)?);

    let chain = certificates(&cert_pem).map_err(|p| fail(CERT_FILE, p))?;
    let cas = certificates(&ca_pem).map_err(|p| fail(CA_FILE, p))?;
    let (pkcs8, converted) = pkcs8_key(&key_pem).map_err(|p| fail(KEY_FILE, p))?;

    let leaf = webpki::EndEntityCert::try_from(&chain[0])
        .map_err(|e| fail(CERT_FILE, format!("the first certificate cannot be parsed ({e})")))?;
    let kind = key_matches(&pkcs8, &leaf).map_err(|p| fail(KEY_FILE, p))?;

    let anchors = cas
        .iter()
        .map(|ca| webpki::anchor_from_trusted_cert(ca).map(|a| a.to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(CA_FILE, format!("a certificate cannot be used as a trust anchor ({e})")))?;
    let since_epoch = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let time = UnixTime::since_unix_epoch(since_epoch);
    // Quorum peers are both TLS servers and TLS clients of each other.
    for usage in [webpki::KeyUsage::server_auth(), webpki::KeyUsage::client_auth()] {
        leaf.verify_for_usage(ALGORITHMS, &anchors, &chain[1..], time, usage, None, None)
            .map_err(|e| fail(CERT_FILE, chain_problem(&e, &dir.join(CA_FILE))))?;
    }
    let name = ServerName::try_from(fqdn.to_string())
        .map_err(|_| anyhow::anyhow!("--tls_dir: this pod's name '{fqdn}' is not a DNS name"))?;
    leaf.verify_is_valid_for_subject_name(&name).map_err(|e| fail(CERT_FILE, name_problem(&e, fqdn)))?;

    let (serial, not_after) = der::serial_and_not_after(&chain[0]).unwrap_or(("?".into(), "?".into()));
    let mut key_store = pem("PRIVATE KEY", &pkcs8);
    for cert in &chain {
        key_store.push_str(&pem("CERTIFICATE", cert));
    }
    let trust_store: String = cas.iter().map(|ca| pem("CERTIFICATE", ca)).collect();
    let summary = format!(
        "certificate serial {serial} for {fqdn}, valid until {not_after}, {kind} key{}, chain verified against {}",
        if converted.is_empty() { String::new() } else { format!(" (converted from {converted} to PKCS#8)") },
        dir.join(CA_FILE).display()
    );
    Ok(Material { key_store, trust_store, summary })
}

/// The bytes of `file` in the Secret `dir`: the one read behind the check and the watcher
/// ([`secrets::read_bounded`]: links followed as a Secret volume needs, then a regular file of at
/// most [`MAX_PEM_BYTES`], opened non-blocking).
pub(crate) fn read_file(dir: &Path, file: &str) -> anyhow::Result<Vec<u8>> {
    secrets::read_bounded("--tls_dir", &dir.join(file), MAX_PEM_BYTES)
}

/// The key store's directory: `<conf_dir>/tls`.
pub(crate) fn store_dir(conf_dir: &Path) -> PathBuf {
    conf_dir.join(STORE_DIR)
}

/// The key store's directory's name in the conf dir.
const STORE_DIR: &str = "tls";

/// The zoo.cfg entries for TLS with the key store in `store`: the Netty factory and the secure
/// client port, the plaintext port on loopback only (probes, metrics and tools in the pod keep
/// it), quorum TLS with certificate reload, host-name verification on both.
pub(crate) fn zoo_cfg(
    store: &Path,
    secure_client_port: u16,
    quorum: QuorumTls,
    plaintext_off: bool,
) -> Vec<(String, String)> {
    let (ssl_quorum, port_unification) = quorum.keys();
    let key_store = store.join(KEY_STORE).display().to_string();
    let trust_store = store.join(TRUST_STORE).display().to_string();
    let mut entries: Vec<(String, String)> = [
        ("serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory".to_string()),
        ("secureClientPort", secure_client_port.to_string()),
        ("sslQuorum", ssl_quorum.to_string()),
        ("portUnification", port_unification.to_string()),
        ("sslQuorumReloadCertFiles", "true".into()),
        ("ssl.hostnameVerification", "true".into()),
        ("ssl.quorum.hostnameVerification", "true".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if !plaintext_off {
        // The plaintext port stays for the probes, metrics and tools inside the pod only.
        entries.insert(2, ("clientPortAddress".into(), "127.0.0.1".into()));
    }
    for prefix in ["ssl", "ssl.quorum"] {
        entries.push((format!("{prefix}.keyStore.location"), key_store.clone()));
        entries.push((format!("{prefix}.keyStore.type"), "PEM".into()));
        entries.push((format!("{prefix}.trustStore.location"), trust_store.clone()));
        entries.push((format!("{prefix}.trustStore.type"), "PEM".into()));
    }
    entries
}

/// What TLS adds to a start, from the checked `material`, with the key store in `store`: the
/// zoo.cfg keys, the key store and trust store (both private to ZooKeeper's user, in their own
/// 0700 directory), and what the check found.
pub(crate) fn contribution(t: &Tls, store: &Path, material: Material) -> Contribution {
    let file = |name: &str, text: String, shown: String| File {
        path: store.join(name),
        group: Group::Credentials,
        contents: Contents::Private { text, shown },
    };
    let trust_shown = format!("(the CA certificates of {})", t.dir.join(CA_FILE).display());
    Contribution {
        zoo_cfg: zoo_cfg(store, t.secure_client_port, t.quorum, t.plaintext_off)
            .into_iter()
            .map(|(k, v)| Entry::new(k, v))
            .collect(),
        files: vec![
            file(KEY_STORE, material.key_store, secrets::REDACTED.into()),
            file(TRUST_STORE, material.trust_store, trust_shown),
        ],
        dirs: vec![Dir::private(store.to_path_buf())],
        notes: vec![material.summary],
        ..Contribution::default()
    }
}

/// Signature algorithms accepted in the chain: all that webpki implements with ring.
static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// Every certificate of a PEM file, in order; at least one.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}; expected PEM certificates", pem_problem(&e)))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// The key as PKCS#8 DER, and the encoding it was converted from ("" when it was PKCS#8).
fn pkcs8_key(pem: &[u8]) -> Result<(Vec<u8>, &'static str), String> {
    let expected = "expected an unencrypted PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)";
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(PrivateKeyDer::Pkcs8(key)) => Ok((key.secret_pkcs8_der().to_vec(), "")),
        Ok(PrivateKeyDer::Pkcs1(key)) => Ok((der::pkcs8_from_pkcs1(key.secret_pkcs1_der()), "PKCS#1")),
        Ok(PrivateKeyDer::Sec1(key)) => {
            der::pkcs8_from_sec1(key.secret_sec1_der()).map(|k| (k, "SEC1")).ok_or_else(|| {
                "is an EC key that does not name its curve; expected a SEC1 key with its curve, or PKCS#8"
                    .into()
            })
        }
        Ok(_) => Err(format!("holds a key of an unknown kind; {expected}")),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => Err(format!(
            "holds no private key (an encrypted key is not read: ZooKeeper needs it unencrypted); {expected}"
        )),
        Err(e) => Err(format!("{}; {expected}", pem_problem(&e))),
    }
}

/// The key's kind ("RSA 2048-bit", "EC P-256") when it belongs to the certificate.
fn key_matches(pkcs8: &[u8], leaf: &webpki::EndEntityCert<'_>) -> Result<String, String> {
    const MESSAGE: &[u8] = b"zk-entry: does this key belong to this certificate?";
    let rng = SystemRandom::new();
    let rsa = RsaKeyPair::from_pkcs8(pkcs8);
    let (kind, signature, verifier): (String, Vec<u8>, &dyn SignatureVerificationAlgorithm) = if let Ok(rsa) =
        &rsa
    {
        let mut sig = vec![0; rsa.public().modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, MESSAGE, &mut sig)
            .map_err(|_| "cannot sign with the RSA key".to_string())?;
        (format!("RSA {}-bit", rsa.public().modulus_len() * 8), sig, webpki::ring::RSA_PKCS1_2048_8192_SHA256)
    } else if let Ok(ec) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng) {
        let sig = ec.sign(&rng, MESSAGE).map_err(|_| "cannot sign with the EC key".to_string())?;
        ("EC P-256".into(), sig.as_ref().to_vec(), webpki::ring::ECDSA_P256_SHA256)
    } else if let Ok(ec) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8, &rng) {
        let sig = ec.sign(&rng, MESSAGE).map_err(|_| "cannot sign with the EC key".to_string())?;
        ("EC P-384".into(), sig.as_ref().to_vec(), webpki::ring::ECDSA_P384_SHA384)
    } else if signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).is_ok() {
        return Err("is an Ed25519 key, which ZooKeeper's PEM loader cannot read; expected an RSA or EC (P-256, P-384) key".into());
    } else {
        return Err(unusable_key(pkcs8, rsa.err()));
    };
    leaf.verify_signature(verifier, MESSAGE, &signature).map_err(|_| {
        format!("does not belong to the certificate in {CERT_FILE} (a {kind} key whose public key is not the certificate's); mount the matching pair")
    })?;
    Ok(kind)
}

/// The keys the check can use: what ring signs with.
const USABLE_KEYS: &str = "an RSA key of 2048 to 4096 bits or an EC key on P-256 or P-384";

/// Why a key that ring would not load cannot be used, as exactly as the key itself tells:
/// ZooKeeper's PEM loader (Java 17) reads a 1024- or 8192-bit RSA key and a P-521 key, but
/// zk-entry can only check a pair whose key ring signs with.
fn unusable_key(pkcs8: &[u8], rsa: Option<ring::error::KeyRejected>) -> String {
    let problem = match der::key_algorithm(pkcs8) {
        Some(der::KeyAlgorithm::Rsa { bits }) if bits < 2048 => {
            format!(
                "is an RSA key of {bits} bits, which zk-entry refuses as too weak (Java would still take it)"
            )
        }
        Some(der::KeyAlgorithm::Rsa { bits }) if bits > 4096 => format!(
            "is an RSA key of {bits} bits, which ZooKeeper could use but zk-entry cannot check against the certificate (its TLS library signs with RSA keys of at most 4096 bits)"
        ),
        Some(der::KeyAlgorithm::Rsa { bits }) => format!(
            "is an RSA key of {bits} bits that cannot be used ({})",
            rsa.map_or_else(|| "rejected".to_string(), |e| e.to_string())
        ),
        Some(der::KeyAlgorithm::Ec { curve }) if curve == "P-256" || curve == "P-384" => {
            format!("is an EC key on {curve} whose parts do not fit together")
        }
        Some(der::KeyAlgorithm::Ec { curve }) => format!(
            "is an EC key on curve {curve}, which ZooKeeper could use but zk-entry cannot check against the certificate (its TLS library signs with P-256 and P-384 only)"
        ),
        Some(der::KeyAlgorithm::Other(oid)) => format!("is a key of algorithm {oid}, neither RSA nor EC"),
        None => "cannot be read as a PKCS#8 private key".into(),
    };
    format!("{problem}; expected {USABLE_KEYS}")
}

/// A PEM file's problem as a sentence: rustls-pki-types' own messages quote the marker as a byte
/// array (`missing section end marker: [67, 69, ...]`).
fn pem_problem(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => {
            let label = crate::quote::escaped(&String::from_utf8_lossy(end_marker));
            format!("ends inside a {label} block (no -----END {label}----- line: is the file cut short?)")
        }
        Error::IllegalSectionStart { .. } => "has a malformed -----BEGIN line".into(),
        Error::Base64Decode(_) => "holds a PEM block whose body is not valid base64".into(),
        Error::SectionTooLarge => "holds a PEM block larger than any certificate or key".into(),
        Error::NoItemsFound => "holds no PEM block".into(),
        other => format!("cannot be read as PEM ({})", crate::quote::escaped(&other.to_string())),
    }
}

fn chain_problem(e: &webpki::Error, ca: &Path) -> String {
    use webpki::Error::*;
    let date = |t: &UnixTime| {
        let secs = t.as_secs();
        let (days, rest) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(days as i64);
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rest / 3600, rest % 3600 / 60, rest % 60)
    };
    match e {
        CertExpired { not_after, .. } => {
            format!("the certificate expired on {}; renew it (cert-manager: check the Certificate's status)", date(not_after))
        }
        CertNotValidYet { not_before, .. } => {
            format!("the certificate is not valid before {} (is this machine's clock right?)", date(not_before))
        }
        UnknownIssuer => format!("the certificate was not issued by a CA in {}; mount the CA that signed it", ca.display()),
        RequiredEkuNotFoundContext(_) => {
            "the certificate's extended key usage does not allow both server auth and client auth, which quorum TLS needs; add both usages to the Certificate".into()
        }
        other => format!("the chain does not verify against {} ({other:?})", ca.display()),
    }
}

fn name_problem(e: &webpki::Error, fqdn: &str) -> String {
    match e {
        webpki::Error::CertNotValidForName(context) => format!(
            "the certificate names {}, not this pod's {fqdn}; add it (or *.{}) to the Certificate's dnsNames",
            if context.presented.is_empty() { "nothing".into() } else { presented(&context.presented) },
            fqdn.split_once('.').map(|(_, d)| d).unwrap_or(fqdn)
        ),
        other => format!("the certificate's names cannot be checked ({other:?})"),
    }
}

/// webpki gives the certificate's names in Debug form (`DnsName("a.b")`): the names alone.
fn presented(names: &[String]) -> String {
    let bare = |n: &String| {
        n.strip_prefix("DnsName(\"")
            .and_then(|n| n.strip_suffix("\")"))
            .map(str::to_string)
            .unwrap_or_else(|| n.clone())
    };
    names.iter().map(bare).collect::<Vec<_>>().join(", ")
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm), for log lines.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// DER as PEM with 64-column lines.
fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_plaintext_port_stays_on_loopback_unless_off() {
        let keys = |off| zoo_cfg(Path::new("/c/tls"), 2281, QuorumTls::On, off);
        let find = |entries: &[(String, String)], k: &str| {
            entries.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
        };
        assert_eq!(find(&keys(false), "clientPortAddress").as_deref(), Some("127.0.0.1"));
        assert_eq!(find(&keys(true), "clientPortAddress"), None);
        assert_eq!(find(&keys(true), "secureClientPort").as_deref(), Some("2281"));
    }
    use super::*;

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn names_without_their_debug_wrapping() {
        let names = vec!["DnsName(\"a.example\")".to_string(), "IpAddress(10.0.0.1)".to_string()];
        assert_eq!(presented(&names), "a.example, IpAddress(10.0.0.1)");
    }

    #[test]
    fn keys_the_check_cannot_sign_with_are_named_by_size_or_curve() {
        let rsa = |bits: usize| {
            let mut modulus = vec![0u8, 0x80];
            modulus.extend(vec![0xff; bits / 8 - 1]);
            let mut key = der::write(der::INTEGER, &[0]);
            key.extend(der::write(der::INTEGER, &modulus));
            der::pkcs8_from_pkcs1(&der::write(der::SEQUENCE, &key))
        };
        let large = unusable_key(&rsa(8192), None);
        assert!(large.starts_with("is an RSA key of 8192 bits, which ZooKeeper could use but"), "{large}");
        assert!(large.ends_with("; expected an RSA key of 2048 to 4096 bits or an EC key on P-256 or P-384"));
        let small = unusable_key(&rsa(512), None);
        assert!(
            small.starts_with("is an RSA key of 512 bits, which zk-entry refuses as too weak"),
            "{small}"
        );
        assert!(unusable_key(b"junk", None).starts_with("cannot be read as a PKCS#8 private key; expected"));
    }

    #[test]
    fn a_truncated_pem_is_a_sentence_naming_the_block_not_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let pem = pem("CERTIFICATE", &[7u8; 300]);
        std::fs::write(dir.path().join(CERT_FILE), &pem[..pem.len() / 2]).unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "-----BEGIN PRIVATE KEY-----\nAAAA\n").unwrap();
        std::fs::write(dir.path().join(CA_FILE), &pem).unwrap();
        let line = crate::exit::one_line(&check(dir.path(), "zk-0.zk-hs", SystemTime::now()).unwrap_err());
        assert!(line.ends_with("tls.crt: ends inside a CERTIFICATE block (no -----END CERTIFICATE----- line: is the file cut short?); expected PEM certificates"), "{line}");
        assert_eq!(
            pkcs8_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n").unwrap_err(),
            "ends inside a PRIVATE KEY block (no -----END PRIVATE KEY----- line: is the file cut short?); expected an unencrypted PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)"
        );
        assert!(!line.contains('['), "{line}");
    }

    #[test]
    fn pem_lines_are_64_columns() {
        let text = pem("CERTIFICATE", &[0u8; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
    }

    #[test]
    fn files_without_pem_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for f in [CERT_FILE, KEY_FILE, CA_FILE] {
            std::fs::write(dir.path().join(f), "not pem\n").unwrap();
        }
        let line = crate::exit::one_line(&check(dir.path(), "zk-0.zk-hs", SystemTime::now()).unwrap_err());
        assert!(line.contains("tls.crt: holds no PEM certificate"), "{line}");
        std::fs::remove_file(dir.path().join(CA_FILE)).unwrap();
        let line = crate::exit::one_line(&check(dir.path(), "zk-0.zk-hs", SystemTime::now()).unwrap_err());
        assert!(line.contains("ca.crt: cannot open"), "{line}");
    }
}
