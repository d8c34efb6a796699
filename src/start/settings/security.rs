//! Secrets handed to ZooKeeper through files (`--set_file KEY=PATH`) and SASL (quorum, clients,
//! super user; [`crate::start::sasl`]). Owns the rules between `--set_file` and `--set`: each
//! zoo.cfg key is given once across both, never one that zk-entry writes from a flag, and never
//! one that the SASL flags write.
//!
//! Only the paths are checked here; the files are read when the start is planned
//! ([`crate::secrets::read_file`]), like every other file.

use std::path::PathBuf;

use super::Ports;
use super::server::{check_unmanaged, is_key};
use crate::exit;
use crate::parse::{Raw, Source};
use crate::start::args::StartArgs;

/// zoo.cfg keys whose value ZooKeeper 3.8 can read from a file itself (`<key>Path`): for these
/// the secret goes into a file of its own, so zoo.cfg holds no secret and stays readable.
pub(crate) const PASSWORD_PATH_KEYS: [&str; 4] = [
    "ssl.keyStore.password",
    "ssl.trustStore.password",
    "ssl.quorum.keyStore.password",
    "ssl.quorum.trustStore.password",
];

/// One `--set_file KEY=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SecretFile {
    /// How the user gave it (`--set_file`, `ZK_SET_FILE (environment)`), for messages.
    pub(crate) name: String,
    pub(crate) key: String,
    pub(crate) path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Security {
    pub(crate) set_file: Vec<SecretFile>,
    pub(crate) quorum_password_file: Option<PathBuf>,
    pub(crate) client_sasl_users_dir: Option<PathBuf>,
    pub(crate) super_password_file: Option<PathBuf>,
    pub(crate) tls: Option<Tls>,
}

/// `--tls_dir` and the port it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tls {
    pub(crate) dir: PathBuf,
    pub(crate) secure_client_port: u16,
    pub(crate) quorum: QuorumTls,
    /// `--client_plaintext`: false keeps the plaintext client port on 127.0.0.1 (the default),
    /// true leaves it out of zoo.cfg altogether.
    pub(crate) plaintext_off: bool,
}

/// `--quorum_tls`: ZooKeeper's three steps from a plaintext quorum to a TLS one, each a rolling
/// restart, as `sslQuorum` and `portUnification`. A server accepting both (portUnification) is
/// what lets the two kinds of member keep a quorum during each roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuorumTls {
    /// TLS only: `sslQuorum=true`.
    On,
    /// Step 1: connects in plaintext, accepts both.
    Accept,
    /// Step 2: connects with TLS, accepts both.
    Both,
}

impl QuorumTls {
    /// (`sslQuorum`, `portUnification`).
    pub(crate) fn keys(self) -> (bool, bool) {
        match self {
            QuorumTls::On => (true, false),
            QuorumTls::Accept => (false, true),
            QuorumTls::Both => (true, true),
        }
    }
}

/// zoo.cfg keys (lower case) `--tls_dir` writes: whole names, then prefixes.
const TLS_KEYS: &[&str] = &[
    "servercnxnfactory",
    "secureclientport",
    "clientportaddress",
    "sslquorum",
    "sslquorumreloadcertfiles",
    "ssl.hostnameverification",
    "ssl.quorum.hostnameverification",
    "portunification",
];
const TLS_KEY_PREFIXES: &[&str] =
    &["ssl.keystore.", "ssl.truststore.", "ssl.quorum.keystore.", "ssl.quorum.truststore."];

/// zoo.cfg keys (lower case) the SASL flags write, with the flag.
const SASL_KEYS: &[(&str, &str)] = &[
    ("quorum.auth.", "--quorum_password_file"),
    ("authprovider.", "--client_sasl_users_dir"),
    ("enforce.auth.", "--client_sasl_users_dir"),
    ("digestauthenticationprovider.superdigest", "--super_password_file"),
];

/// The JAAS file's name in the conf dir.
pub(crate) const JAAS_FILE: &str = "jaas.conf";

impl Security {
    /// `set_keys`: the keys `--set` gave, which `--set_file` must not repeat.
    pub(super) fn from_input(a: &StartArgs, set_keys: &[&str], ports: &Ports) -> anyhow::Result<Security> {
        refuse_with_reconfig(a)?;
        let mut set_file: Vec<SecretFile> = Vec::with_capacity(a.set_file.len());
        for raw in &a.set_file {
            let entry = secret_file(raw)?;
            let earlier = set_keys
                .iter()
                .map(|k| (*k, "--set"))
                .chain(set_file.iter().map(|f| (f.key.as_str(), "--set_file")))
                .find(|(k, _)| k.eq_ignore_ascii_case(&entry.key));
            if let Some((key, flag)) = earlier {
                return exit::usage(format!(
                    "{}: key '{}' is given twice (also as '{key}' in {flag}); give each zoo.cfg key once",
                    raw.name, entry.key
                ));
            }
            set_file.push(entry);
        }
        let path = |raw: &Option<Raw>| raw.as_ref().map(Raw::absolute_path).transpose();
        let security = Security {
            quorum_password_file: path(&a.quorum_password_file)?,
            client_sasl_users_dir: path(&a.client_sasl_users_dir)?,
            super_password_file: path(&a.super_password_file)?,
            // The secure port exists exactly with --tls_dir; Ports parsed it and checked it
            // differs from the others (the ports' group owns that rule).
            tls: a
                .tls_dir
                .as_ref()
                .zip(ports.secure_client)
                .map(|(dir, port)| tls(dir, a, port))
                .transpose()?,
            set_file,
        };
        let given = set_keys
            .iter()
            .map(|k| (*k, "--set"))
            .chain(security.set_file.iter().map(|f| (f.key.as_str(), "--set_file")));
        for (key, flag) in given {
            let lower = key.to_ascii_lowercase();
            if let Some((_, owner)) = SASL_KEYS.iter().find(|(prefix, _)| lower.starts_with(prefix)) {
                return exit::usage(format!("{flag}: '{key}' is managed by zk-entry; use {owner} instead"));
            }
            let tls_key =
                TLS_KEYS.contains(&lower.as_str()) || TLS_KEY_PREFIXES.iter().any(|p| lower.starts_with(p));
            if security.tls.is_some() && tls_key {
                let instead = match lower.as_str() {
                    "sslquorum" | "portunification" => "use --quorum_tls instead".to_string(),
                    _ => format!("remove it from {flag}"),
                };
                return exit::usage(format!(
                    "{flag}: '{key}' is written by zk-entry when --tls_dir is given; {instead}"
                ));
            }
        }
        for raw in [&a.quorum_tls, &a.client_plaintext].into_iter().flatten() {
            if security.tls.is_none() {
                return exit::usage(format!("{} is set but TLS is off; also pass --tls_dir", raw.name));
            }
        }
        Ok(security)
    }
}

/// The security flags `--reconfig` cannot work with yet (docs/design.md, "Combinations of
/// flags"), refused before anything is looked at.
fn refuse_with_reconfig(a: &StartArgs) -> anyhow::Result<()> {
    let dynamic = a.reconfig.as_ref().map(|r| r.switch().map(|on| on.then_some(r))).transpose()?.flatten();
    let Some(reconfig) = dynamic else { return Ok(()) };
    let unsupported = [
        // The dynamic file's lines give each member's client address, which ZooKeeper stops on
        // when it differs from the loopback address TLS gives the plaintext port.
        (
            &a.tls_dir,
            "a dynamic membership names each member's plaintext client port, which TLS confines to loopback, and zk-entry asks peers for the membership there",
        ),
        // ZooKeeper closes every session that has not logged in with SASL (error -124).
        (
            &a.client_sasl_users_dir,
            "ZooKeeper then closes every session not logged in with SASL, and zk-entry's membership steps (joining, members, resize, leave) log in as the digest super user",
        ),
    ];
    match unsupported.into_iter().find_map(|(raw, why)| raw.as_ref().map(|raw| (raw, why))) {
        Some((raw, why)) => exit::usage(format!(
            "{} with {} is not supported: {why}; use {} with a fixed --servers, or {} without it",
            raw.name, reconfig.name, raw.name, reconfig.name
        )),
        None => Ok(()),
    }
}

/// `--tls_dir`, its secure client port, the quorum mode, the plaintext port's fate.
fn tls(dir: &Raw, a: &StartArgs, secure_client_port: u16) -> anyhow::Result<Tls> {
    let modes = [("on", QuorumTls::On), ("accept", QuorumTls::Accept), ("both", QuorumTls::Both)];
    let quorum = match &a.quorum_tls {
        Some(raw) => raw.choice("is not a quorum TLS mode", "on, accept or both", &modes)?,
        None => QuorumTls::On,
    };
    let plaintext_off = match &a.client_plaintext {
        Some(raw) => raw.choice(
            "is not a plaintext client port mode",
            "loopback or off",
            &[("loopback", false), ("off", true)],
        )?,
        None => false,
    };
    Ok(Tls { dir: dir.absolute_path()?, secure_client_port, quorum, plaintext_off })
}

/// `KEY=PATH` with a zoo.cfg key zk-entry does not manage and an absolute path.
fn secret_file(raw: &Raw) -> anyhow::Result<SecretFile> {
    let expected = "KEY=PATH with a zoo.cfg key and the absolute path of a file holding its value";
    raw.single_line(expected)?;
    let Some((key, path)) = raw.text.split_once('=') else {
        return Err(raw.reject("has no '='", expected));
    };
    if !is_key(key) {
        return Err(raw.reject("does not start with a valid key", expected));
    }
    check_unmanaged(&raw.name, key)?;
    let path = Raw::new(format!("{} {key}", raw.name), path, Source::CommandLine).absolute_path()?;
    Ok(SecretFile { name: raw.name.clone(), key: key.to_string(), path })
}

#[cfg(test)]
mod tests {
    use crate::start::settings::tests::{rejects, settings};
    use std::path::PathBuf;

    #[test]
    fn set_file_takes_key_and_absolute_path() {
        let s = settings(&["--set_file", "ssl.keyStore.password=/etc/zk/ks-password"]).unwrap();
        let f = &s.security.set_file[0];
        assert_eq!(
            (f.key.as_str(), f.path.clone()),
            ("ssl.keyStore.password", PathBuf::from("/etc/zk/ks-password"))
        );
        assert_eq!(f.name, "--set_file");
    }

    #[test]
    fn set_file_refusals() {
        rejects(&["--set_file", "a.secret"], &["--set_file", "'a.secret'", "KEY=PATH"]);
        rejects(&["--set_file", "a.secret=relative"], &["--set_file a.secret", "absolute"]);
        rejects(&["--set_file", "clientPort=/x"], &["--set_file", "--client_port"]);
        rejects(&["--set_file", "server.1=/x"], &["remove it from --set_file"]);
        rejects(&["--set", "a.secret=1", "--set_file", "A.secret=/x"], &["twice", "in --set"]);
        rejects(&["--set_file", "a.secret=/x", "--set_file", "a.secret=/y"], &["twice", "in --set_file"]);
    }

    #[test]
    fn sasl_flags_own_their_keys_and_need_absolute_paths() {
        let s = settings(&["--quorum_password_file=/s/q", "--conf_dir=/c"]).unwrap();
        // The JAAS file's flag is SASL's contribution (start/sasl.rs), not the operator's.
        assert!(s.java.jvm_flags.is_empty(), "{:?}", s.java.jvm_flags);
        let s = settings(&["--super_password_file=/s/super", "--jvm_flags=-Da=1"]).unwrap();
        assert_eq!(s.java.jvm_flags, ["-Da=1"]);
        rejects(
            &["--set", "quorum.auth.enableSasl=false"],
            &["--set: 'quorum.auth.enableSasl' is managed by zk-entry; use --quorum_password_file"],
        );
        rejects(&["--set_file", "enforce.auth.schemes=/x"], &["--set_file", "--client_sasl_users_dir"]);
        rejects(&["--client_sasl_users_dir=users"], &["--client_sasl_users_dir", "absolute"]);
    }

    #[test]
    fn the_plaintext_client_port_is_loopback_or_off_with_tls_only() {
        let off = |flags: &[&str]| settings(flags).unwrap().security.tls.unwrap().plaintext_off;
        assert!(!off(&["--tls_dir=/t"]));
        assert!(!off(&["--tls_dir=/t", "--client_plaintext=loopback"]));
        assert!(off(&["--tls_dir=/t", "--client_plaintext=OFF"]));
        rejects(
            &["--client_plaintext=off"],
            &["--client_plaintext is set but TLS is off; also pass --tls_dir"],
        );
        rejects(
            &["--tls_dir=/t", "--client_plaintext=none"],
            &["--client_plaintext: 'none' is not a plaintext client port mode; expected loopback or off"],
        );
    }

    #[test]
    fn tls_dir_or_client_sasl_with_reconfig_is_refused_naming_both() {
        let dynamic = ["--reconfig", "--super_password_file=/p", "--servers=3"];
        rejects(
            &[&dynamic[..], &["--tls_dir=/t"]].concat(),
            &["--tls_dir with --reconfig is not supported", "loopback", "a fixed --servers"],
        );
        rejects(
            &[&dynamic[..], &["--client_sasl_users_dir=/u"]].concat(),
            &["--client_sasl_users_dir with --reconfig is not supported", "digest super user"],
        );
        rejects(
            &[&dynamic[..], &["--tls_dir=/t", "--client_plaintext=off"]].concat(),
            &["--tls_dir with --reconfig"],
        );
        let named = crate::parse::tests::refusal(crate::start::settings::tests::settings_with_env(
            &["--super_password_file=/p", "--servers=3", "--tls_dir=/t"],
            &[("ZK_RECONFIG", "true")],
        ));
        assert!(named.contains("--tls_dir with ZK_RECONFIG (environment) is not supported"), "{named}");
        let off =
            crate::start::settings::tests::settings_with_env(&["--tls_dir=/t"], &[("ZK_RECONFIG", "false")]);
        assert!(off.is_ok(), "{off:?}");
    }

    #[test]
    fn tls_dir_owns_the_tls_keys_and_its_port() {
        let s = settings(&["--tls_dir=/etc/zk-tls"]).unwrap();
        let tls = s.security.tls.unwrap();
        assert_eq!((tls.dir, tls.secure_client_port), (PathBuf::from("/etc/zk-tls"), 2281));
        assert!(s.java.netty_jars);
        assert!(!settings(&[]).unwrap().java.netty_jars);
        rejects(
            &["--tls_dir=/t", "--set=clientPortAddress=0.0.0.0"],
            &["--set: 'clientPortAddress' is written by zk-entry when --tls_dir is given"],
        );
        rejects(&["--tls_dir=/t", "--set=ssl.quorum.keyStore.location=/x"], &["--tls_dir"]);
        assert!(
            settings(&["--set=clientPortAddress=127.0.0.1"]).is_ok(),
            "without TLS the key is the user's"
        );
        rejects(
            &["--tls_dir=/t", "--secure_client_port=2181"],
            &["--client_port and --secure_client_port are both 2181"],
        );
        rejects(&["--tls_dir=t"], &["--tls_dir", "absolute"]);
        let mode = |flags: &[&str]| settings(flags).unwrap().security.tls.unwrap().quorum;
        assert_eq!(mode(&["--tls_dir=/t", "--quorum_tls=ACCEPT"]), super::QuorumTls::Accept);
        assert_eq!(mode(&["--tls_dir=/t", "--quorum_tls=both"]).keys(), (true, true));
        rejects(
            &["--tls_dir=/t", "--quorum_tls=maybe"],
            &["--quorum_tls: 'maybe' is not a quorum TLS mode; expected on, accept or both"],
        );
        rejects(&["--quorum_tls=on"], &["--quorum_tls is set but TLS is off; also pass --tls_dir"]);
        rejects(&["--tls_dir=/t", "--set=portUnification=true"], &["--quorum_tls", "--tls_dir"]);
    }
}
