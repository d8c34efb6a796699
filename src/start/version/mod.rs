//! Which ZooKeeper a start runs, and what zk-entry configures differently because of it.
//!
//! The version is read from the name of the server jar on the classpath the JVM will run:
//! upstream releases name it `zookeeper-X.Y.Z.jar` (`lib/` from 3.5, the top before); Debian
//! puts `zookeeper.jar` on the classpath, a link to `zookeeper-X.Y.Z.jar` in its 3.9 packages
//! and the target of a link `zookeeper-X.Y.Z.jar` beside it in 3.8's (bookworm). Neither layout puts the version in the jar's manifest (Debian's 3.8 and 3.9
//! manifests hold only the class path; the version is in compressed entries zk-entry does not
//! unpack), so the name it is. Only names and link targets are read, never a jar's contents.
//! `--zk_version` gives it when it cannot be read (`--classpath` of other names, a
//! `-- COMMAND`), and wins when both are there.
//!
//! A version that is not known is not guessed silently: the start says so, and each rule below
//! takes the side that is right for the newest release (the settings it adds are ignored by
//! older ones).
//!
//! The rules ([`contribution`]; docs/versions.md and the table in docs/design.md):
//! - FIPS mode (`zookeeper.fips-mode`, on by default from 3.9.0) is turned off when the quorum
//!   or the clients authenticate (quorum SASL, client SASL or quorum TLS): from 3.9.4 it refuses
//!   DIGEST-MD5, the quorum's (the ensemble never forms) and the clients' (no client logs in),
//!   and in 3.9.0–3.9.3 it stops checking an inbound peer's certificate against its address, so
//!   any certificate of the CA joins the quorum (measured on 3.9.3; Debian's 3.9.6 refused such
//!   a peer with FIPS mode on). Off on every 3.9 release: the checks are then those of 3.8.
//! - The AdminServer's `snapshot` and `restore` commands (3.9.0+, on by default) are turned off
//!   when the AdminServer is on: they stream out and replace the whole data tree, guarded only
//!   by the root znode's ACL. The operator's `--jvm_flags` come later and can turn one on.

pub(crate) mod number;

use std::path::{Path, PathBuf};

use super::plan::Contribution;
use super::settings::Settings;
pub(crate) use number::Version;

/// The version a start runs, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Known {
    /// Read from a jar's name on the classpath.
    Read { version: Version, jar: PathBuf },
    /// `--zk_version`; `read` is what the classpath said, if anything.
    Given { version: Version, read: Option<Version> },
    /// Neither: `why` says what was looked at.
    Unknown { why: String },
}

impl Known {
    /// From `--zk_version` and the classpath the JVM runs (`None` for a `-- COMMAND`).
    pub(crate) fn decide(flag: Option<&Version>, classpath: Option<&str>) -> Known {
        let read = classpath.map(read_classpath);
        match (flag, read) {
            (Some(version), read) => {
                Known::Given { version: version.clone(), read: read.and_then(|r| r.ok()).map(|(v, _)| v) }
            }
            (None, Some(Ok((version, jar)))) => Known::Read { version, jar },
            (None, Some(Err(why))) => Known::Unknown { why },
            (None, None) => {
                Known::Unknown { why: "a -- COMMAND runs instead of zk-entry's JVM command line".into() }
            }
        }
    }

    pub(crate) fn version(&self) -> Option<&Version> {
        match self {
            Known::Read { version, .. } | Known::Given { version, .. } => Some(version),
            Known::Unknown { .. } => None,
        }
    }

    /// The line for the start's log and `--dry-run`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Known::Read { version, jar } => format!("ZooKeeper {version} (from {})", jar.display()),
            Known::Given { version, read: None } => format!("ZooKeeper {version} (--zk_version)"),
            Known::Given { version, read: Some(read) } if read == version => {
                format!("ZooKeeper {version} (--zk_version; the classpath's jar says the same)")
            }
            Known::Given { version, read: Some(read) } => format!(
                "ZooKeeper {version} (--zk_version; the classpath's jar is named {read}, --zk_version wins)"
            ),
            Known::Unknown { why } => format!(
                "ZooKeeper version unknown ({why}); the settings that depend on it are those of the newest release: pass --zk_version to name it"
            ),
        }
    }

    /// Does the running version have this behaviour, which began in `since`? An unknown
    /// version is taken to be the newest, which has every behaviour.
    fn has(&self, since: (u32, u32, u32)) -> bool {
        self.version().is_none_or(|v| v.at_least(since.0, since.1, since.2))
    }
}

/// The version named by the first ZooKeeper server jar of `classpath` (the one the JVM loads),
/// with that jar; or why none was found.
fn read_classpath(classpath: &str) -> Result<(Version, PathBuf), String> {
    for entry in std::env::split_paths(classpath) {
        let Some(name) = entry.file_name().and_then(|n| n.to_str()) else { continue };
        if let Some(version) = versioned_name(name) {
            return Ok((version, entry));
        }
        if name == "zookeeper.jar"
            && let Some(found) = versioned_target(&entry).or_else(|| versioned_link(&entry))
        {
            return Ok(found);
        }
    }
    Err("no zookeeper-X.Y.Z.jar on the classpath, nor a versioned link beside its zookeeper.jar".into())
}

/// `zookeeper-3.9.4.jar` → 3.9.4; not `zookeeper-jute-3.9.4.jar` nor other parts.
fn versioned_name(name: &str) -> Option<Version> {
    let middle = name.strip_prefix("zookeeper-")?.strip_suffix(".jar")?;
    middle.starts_with(|c: char| c.is_ascii_digit()).then(|| Version::parse(middle))?
}

/// Debian's layout from 3.9: `jar` (…/zookeeper.jar) is a link to the versioned jar.
fn versioned_target(jar: &Path) -> Option<(Version, PathBuf)> {
    let real = std::fs::canonicalize(jar).ok()?;
    let version = versioned_name(real.file_name()?.to_str()?)?;
    Some((version, real))
}

/// Debian's layout up to 3.8: beside `jar` (…/zookeeper.jar), a link `zookeeper-X.Y.Z.jar` that leads to
/// it. Several such links (none in Debian's packages) take the highest version, sorted.
fn versioned_link(jar: &Path) -> Option<(Version, PathBuf)> {
    let dir = jar.parent()?;
    let mut found: Vec<(Version, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = versioned_name(&name)?;
            let target = std::fs::read_link(e.path()).ok()?;
            let leads_to_jar = target == Path::new("zookeeper.jar") || target == jar;
            leads_to_jar.then(|| (version, e.path()))
        })
        .collect();
    found.sort_by_key(|a| a.0.numbers);
    found.pop()
}

/// FIPS mode's first release: on by default from here (`zookeeper.fips-mode`).
const FIPS_MODE_SINCE: (u32, u32, u32) = (3, 9, 0);

/// What the version adds to a start: the line that names it, and the settings its behaviour
/// calls for (this module's doc lists them).
pub(crate) fn contribution(known: &Known, settings: &Settings) -> Contribution {
    let security = &settings.security;
    let mut notes = vec![known.describe()];
    let mut jvm_args = Vec::new();
    let quorum_sasl = security.quorum_password_file.is_some();
    // Every --quorum_tls mode accepts TLS peers, whose certificates must be checked.
    let quorum_tls = security.tls.is_some();
    // The server's SASL for clients refuses DIGEST-MD5 in FIPS mode too (3.9.6: "SaslServer
    // failed to initialize (FIPS mode may have blocked DIGEST-MD5). Cannot authenticate client").
    let client_sasl = security.client_sasl_users_dir.is_some();
    let authenticated: Vec<&str> = [
        (quorum_sasl, "quorum SASL (DIGEST-MD5)"),
        (client_sasl, "client SASL (DIGEST-MD5)"),
        (quorum_tls, "quorum TLS"),
    ]
    .into_iter()
    .filter_map(|(on, what)| on.then_some(what))
    .collect();
    if !authenticated.is_empty() && known.has(FIPS_MODE_SINCE) {
        jvm_args.push("-Dzookeeper.fips-mode=false".to_string());
        notes.push(format!(
            "FIPS mode off (-Dzookeeper.fips-mode=false) for {}: FIPS mode skips the check of an inbound quorum peer's certificate against its address (3.9.0-3.9.3), and refuses DIGEST-MD5 for the quorum and for clients from 3.9.4 (docs/versions.md)",
            authenticated.join(" and ")
        ));
    }
    if settings.ports.admin.is_some() && known.has(ADMIN_SNAPSHOT_SINCE) {
        jvm_args.extend(ADMIN_DATA_COMMANDS_OFF.map(String::from));
        notes.push(
            "AdminServer: its snapshot and restore commands off (-Dzookeeper.admin.snapshot.enabled=false -Dzookeeper.admin.restore.enabled=false): they read out and replace the whole data tree, guarded only by the root znode's ACL; --jvm_flags=-Dzookeeper.admin.snapshot.enabled=true turns one on".into(),
        );
    }
    Contribution { jvm_args, notes, ..Contribution::default() }
}

/// The AdminServer's `snapshot` and `restore` commands: from 3.9.0, on by default.
const ADMIN_SNAPSHOT_SINCE: (u32, u32, u32) = (3, 9, 0);
const ADMIN_DATA_COMMANDS_OFF: [&str; 2] =
    ["-Dzookeeper.admin.snapshot.enabled=false", "-Dzookeeper.admin.restore.enabled=false"];

/// ZooKeeper's own exit statuses 1 and 2 (QuorumPeerMain and ZooKeeperServerMain, 3.5 to 3.9:
/// `UNEXPECTED_ERROR`, `INVALID_INVOCATION`), which would otherwise read as zk-entry's: 2 is
/// zk-entry's "bad input, nothing touched", 1 its general error.
pub(crate) fn zookeeper_exit_meanings() -> Vec<(u8, String)> {
    vec![
        (
            1,
            "ZooKeeper's own status for an unexpected error at start or while serving ('Unexpected exception, exiting abnormally' and the stack trace in ZooKeeper's log above); not zk-entry's".into(),
        ),
        (
            2,
            "ZooKeeper's own status for a configuration it refused ('Invalid config, exiting abnormally' in ZooKeeper's log above names the file and the cause, often a --set or --set_file value); zk-entry had accepted its input and written the files".into(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::start::settings::tests::{rejects, settings};
    use std::os::unix::fs::symlink;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn versions_parse_as_three_numbers_and_a_suffix() {
        assert_eq!(v("3.9.4").numbers, (3, 9, 4));
        assert_eq!(v("3.9.4-SNAPSHOT").to_string(), "3.9.4-SNAPSHOT");
        assert_eq!(v("3.10.0").numbers, (3, 10, 0));
        for bad in
            ["", "3", "3.9", "3.9.4.1", "3.9.x", "v3.9.4", "3.9.4-", "3..4", "+3.9.4", "3.9.4 ", "3.9.4-a b"]
        {
            assert_eq!(Version::parse(bad), None, "{bad:?}");
        }
        assert!(
            v("3.9.0").at_least(3, 9, 0) && !v("3.8.4").at_least(3, 9, 0) && v("3.10.1").at_least(3, 9, 4)
        );
    }

    #[test]
    fn zk_version_is_checked() {
        assert_eq!(settings(&["--zk_version=3.9.6"]).unwrap().java.zk_version, Some(v("3.9.6")));
        assert_eq!(settings(&[]).unwrap().java.zk_version, None);
        for bad in ["3.9", "latest", "3.9.6.1", "", "3.9.6\n3.8.0"] {
            rejects(
                &[&format!("--zk_version={bad}")],
                &["--zk_version", "is not a ZooKeeper version", "expected a release such as 3.8.4"],
            );
        }
    }

    #[test]
    fn the_version_is_read_from_the_upstream_jar_name() {
        let cp = "/conf:/opt/zookeeper/lib/zookeeper-jute-3.9.4.jar:/opt/zookeeper/lib/zookeeper-3.9.4.jar:/opt/zookeeper/lib/zookeeper-prometheus-metrics-3.9.4.jar";
        assert_eq!(
            read_classpath(cp),
            Ok((v("3.9.4"), PathBuf::from("/opt/zookeeper/lib/zookeeper-3.9.4.jar")))
        );
        // The first server jar is the one the JVM loads.
        let two = "/a/zookeeper-3.8.4.jar:/b/zookeeper-3.9.4.jar";
        assert_eq!(read_classpath(two).unwrap().0, v("3.8.4"));
        assert!(read_classpath("/conf:/x/zk.jar").is_err());
        assert_eq!(versioned_name("zookeeper-3.4.10.jar"), Some(v("3.4.10")));
        assert_eq!(versioned_name("zookeeper-it-3.9.4.jar"), None);
        assert_eq!(versioned_name("zookeeper-3.9.jar"), None);
    }

    #[test]
    fn debians_versioned_link_names_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("zookeeper.jar"), b"").unwrap();
        std::fs::write(d.join("zookeeper-jute.jar"), b"").unwrap();
        symlink("zookeeper-jute.jar", d.join("zookeeper-jute-3.9.6.jar")).unwrap();
        let cp = format!("/conf:{}", d.join("zookeeper.jar").display());
        assert!(read_classpath(&cp).is_err(), "no link to zookeeper.jar yet");
        // A plain file of that name is not Debian's link and says nothing.
        std::fs::write(d.join("zookeeper-3.7.0.jar"), b"").unwrap();
        assert!(read_classpath(&cp).is_err());
        symlink("zookeeper.jar", d.join("zookeeper-3.9.6.jar")).unwrap();
        assert_eq!(read_classpath(&cp), Ok((v("3.9.6"), d.join("zookeeper-3.9.6.jar"))));
        // 3.9's packages: zookeeper.jar is the link.
        let new = tempfile::tempdir().unwrap();
        let n = std::fs::canonicalize(new.path()).unwrap();
        std::fs::write(n.join("zookeeper-3.9.3.jar"), b"").unwrap();
        symlink("zookeeper-3.9.3.jar", n.join("zookeeper.jar")).unwrap();
        let cp = format!("/conf:{}", n.join("zookeeper.jar").display());
        assert_eq!(read_classpath(&cp), Ok((v("3.9.3"), n.join("zookeeper-3.9.3.jar"))));
    }

    /// The machine's own Debian install (3.8.0 here), when there is one.
    #[test]
    fn the_machines_debian_jar_is_read() {
        let jar = Path::new("/usr/share/java/zookeeper.jar");
        if let Some((version, _)) = jar.is_file().then(|| versioned_link(jar)).flatten() {
            assert!(version.at_least(3, 4, 0), "{version}");
        }
    }

    #[test]
    fn the_flag_wins_and_unknown_is_said() {
        let cp = "/x/zookeeper-3.8.0.jar";
        let read = Known::decide(None, Some(cp));
        assert_eq!(read.describe(), "ZooKeeper 3.8.0 (from /x/zookeeper-3.8.0.jar)");
        let given = Known::decide(Some(&v("3.9.6")), Some(cp));
        assert_eq!(given.version(), Some(&v("3.9.6")));
        assert!(given.describe().contains("is named 3.8.0, --zk_version wins"), "{}", given.describe());
        assert_eq!(Known::decide(Some(&v("3.8.0")), None).describe(), "ZooKeeper 3.8.0 (--zk_version)");
        let unknown = Known::decide(None, Some("/x/zk.jar"));
        assert_eq!(unknown.version(), None);
        assert!(unknown.describe().starts_with("ZooKeeper version unknown (no zookeeper-X.Y.Z.jar"));
        assert!(Known::decide(None, None).describe().contains("-- COMMAND"));
    }

    fn version_args(flags: &[&str], known: &Known) -> Vec<String> {
        contribution(known, &settings(flags).unwrap()).jvm_args
    }

    #[test]
    fn fips_mode_is_off_on_3_9_when_the_quorum_authenticates() {
        let off = vec!["-Dzookeeper.fips-mode=false".to_string()];
        let at = |text: &str| Known::Given { version: v(text), read: None };
        let sasl = ["--servers=3", "--quorum_password_file=/s/p"];
        let tls = ["--servers=3", "--tls_dir=/t"];
        let clients = ["--servers=3", "--client_sasl_users_dir=/s/users"];
        for quorum in [&sasl[..], &tls[..], &clients[..]] {
            assert_eq!(version_args(quorum, &at("3.9.0")), off, "{quorum:?}");
            assert_eq!(version_args(quorum, &at("3.9.6")), off);
            assert_eq!(version_args(quorum, &Known::Unknown { why: "x".into() }), off);
            // 3.8 has no FIPS mode: nothing to turn off.
            assert!(version_args(quorum, &at("3.8.4")).is_empty());
        }
        // Nothing authenticates the quorum: FIPS mode stays as the operator left it.
        assert!(version_args(&["--servers=3"], &at("3.9.6")).is_empty());
        let notes = contribution(&at("3.9.6"), &settings(&sasl).unwrap()).notes;
        assert_eq!(notes[0], "ZooKeeper 3.9.6 (--zk_version)");
        assert!(
            notes[1]
                .starts_with("FIPS mode off (-Dzookeeper.fips-mode=false) for quorum SASL (DIGEST-MD5): ")
        );
    }

    #[test]
    fn the_admin_servers_snapshot_and_restore_are_off_on_3_9() {
        let off = ADMIN_DATA_COMMANDS_OFF.map(String::from).to_vec();
        let at = |text: &str| Known::Given { version: v(text), read: None };
        assert_eq!(version_args(&["--admin_server_port=8080"], &at("3.9.0")), off);
        assert_eq!(version_args(&["--admin_server_port=8080"], &Known::Unknown { why: "x".into() }), off);
        assert!(version_args(&["--admin_server_port=8080"], &at("3.8.4")).is_empty());
        assert!(version_args(&[], &at("3.9.6")).is_empty());
    }
}
