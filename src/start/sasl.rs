//! SASL for ZooKeeper, from secret files: the JAAS file (quorum DIGEST-MD5 between servers,
//! DIGEST-MD5 client users), the zoo.cfg keys that turn both on, and a digest super user.
//!
//! The passwords come from files only (never from flags, which any process in the pod can read
//! in `/proc/PID/cmdline`), and end up in two places: the JAAS file and, for the super user, a
//! digest in a java argument file. Both are written 0600 for ZooKeeper's user
//! ([`crate::fs::files::Private`]). Every value in the JAAS file is either zk-entry's own (module and
//! section names, the quorum user), a user name of letters, digits, `_` and `-`, or a password
//! without `${`, which the JAAS parser would expand.
//!
//! Quorum SASL: every server is both a `QuorumServer` (it checks learners against its
//! `user_<name>` entry) and a `QuorumLearner` (it logs in with that name and password), so one
//! shared password file serves the whole StatefulSet. Client SASL: each file of
//! `--client_sasl_users_dir` (a Secret volume: one key per user) is a user, its contents the
//! password; `enforce.auth.enabled` then refuses clients that do not authenticate.
//!
//! The super user is ZooKeeper's system property
//! `zookeeper.DigestAuthenticationProvider.superDigest`, given in a java argument file (`@FILE`),
//! so it stays off the command line and out of zoo.cfg, which ZooKeeper itself rewrites with
//! `--reconfig`. The digest is ZooKeeper's own: base64 of SHA-1 over `user:password`.

use std::fs;
use std::path::Path;

use super::plan::{Contents, Contribution, Entry, File, Group};
use super::settings::{JAAS_FILE, Security};
use crate::secrets::{self, password::SUPER_USER, password::digest};

/// The name servers log in to each other with.
const QUORUM_USER: &str = "zookeeper-quorum";
/// A users directory with more entries than this is the wrong directory.
const MAX_USERS: usize = 256;
const DIGEST_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";

/// What the SASL flags ask for: zoo.cfg entries and the JAAS file's text.
#[derive(Debug, Default)]
struct SaslPlan {
    zoo_cfg: Vec<Entry>,
    jaas: Option<String>,
    /// `super:DIGEST` for `--super_password_file`: handed to the JVM in a 0600 argument file
    /// ([`SUPER_ARG_FILE`]), never in zoo.cfg, which ZooKeeper itself rewrites after a
    /// reconfiguration with its own (readable) file mode.
    super_digest: Option<String>,
}

/// The JVM argument file (`java @FILE`) that carries the super digest, in the conf dir.
const SUPER_ARG_FILE: &str = "zk-entry-super.jvmargs";

/// Its contents: ZooKeeper reads the digest from this system property.
fn super_arg_file(super_digest: &str) -> String {
    format!("-Dzookeeper.DigestAuthenticationProvider.superDigest={super_digest}\n")
}

/// What SASL adds to a start: its zoo.cfg keys, the JAAS file and the super user's argument
/// file (both private to ZooKeeper's user, in `conf_dir`), which the JVM reads first.
pub(crate) fn contribution(security: &Security, conf_dir: &Path) -> anyhow::Result<Contribution> {
    let sasl = plan(security)?;
    let mut out = Contribution { zoo_cfg: sasl.zoo_cfg, ..Contribution::default() };
    let private = |name: &str, text: String, shown: String| File {
        path: conf_dir.join(name),
        group: Group::Credentials,
        contents: Contents::Private { text, shown },
    };
    if let Some(digest) = &sasl.super_digest {
        let shown = format!("(the super user's digest, {})", secrets::REDACTED);
        out.files.push(private(SUPER_ARG_FILE, super_arg_file(digest), shown));
        out.arg_files.push(conf_dir.join(SUPER_ARG_FILE));
    }
    if let Some(jaas) = sasl.jaas {
        out.files.push(private(JAAS_FILE, jaas, secrets::REDACTED.into()));
        // Before the operator's flags (a later part), which the JVM lets win.
        let jaas_file = conf_dir.join(JAAS_FILE);
        out.jvm_args.push(format!("-Djava.security.auth.login.config={}", jaas_file.display()));
    }
    Ok(out)
}

/// Read the secret files the flags name and build the plan.
fn plan(security: &Security) -> anyhow::Result<SaslPlan> {
    let mut out = SaslPlan::default();
    let quorum = match &security.quorum_password_file {
        Some(path) => Some(read_jaas_value("--quorum_password_file", path)?),
        None => None,
    };
    let users = match &security.client_sasl_users_dir {
        Some(dir) => read_users("--client_sasl_users_dir", dir)?,
        None => Vec::new(),
    };
    let entry = Entry::new;
    if quorum.is_some() {
        out.zoo_cfg.extend([
            entry("quorum.auth.enableSasl", "true"),
            entry("quorum.auth.learnerRequireSasl", "true"),
            entry("quorum.auth.serverRequireSasl", "true"),
        ]);
    }
    if !users.is_empty() {
        out.zoo_cfg.extend([
            entry("authProvider.sasl", "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"),
            entry("enforce.auth.enabled", "true"),
            entry("enforce.auth.schemes", "sasl"),
        ]);
    }
    if let Some(path) = &security.super_password_file {
        let password = secrets::read_file("--super_password_file", path)?;
        out.super_digest = Some(format!("{SUPER_USER}:{}", digest(SUPER_USER, &password)));
    }
    if quorum.is_some() || !users.is_empty() {
        out.jaas = Some(jaas(quorum.as_deref(), &users));
    }
    Ok(out)
}

/// A secret file's value that goes into the JAAS file. The JVM's JAAS parser replaces
/// `${NAME}` in every value with the system property NAME (`pw${user.home}` would log in as
/// `pw/var/lib/zookeeper`, and an undefined one stops ZooKeeper), and no quoting turns that off,
/// so such a value is refused, naming the file and never quoting it.
fn read_jaas_value(what: &str, path: &Path) -> anyhow::Result<String> {
    let value = secrets::read_file(what, path)?;
    if value.contains("${") {
        anyhow::bail!(
            "{what}: {}: holds '${{', which the JVM's JAAS parser would replace with a system property; expected a password without '${{' (choose another)",
            path.display()
        );
    }
    Ok(value)
}

/// A JAAS quoted string: the parser (java.io.StreamTokenizer) reads backslash escapes there.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The JAAS file: `QuorumServer` and `QuorumLearner` for the quorum, `Server` for clients.
fn jaas(quorum: Option<&str>, users: &[(String, String)]) -> String {
    let mut text = String::from("// Written by zk-entry at every start; changes here are lost.\n");
    if let Some(password) = quorum {
        let password = quoted(password);
        text.push_str(&format!(
            "QuorumServer {{\n    {DIGEST_MODULE} required\n    user_{QUORUM_USER}={password};\n}};\n\
             QuorumLearner {{\n    {DIGEST_MODULE} required\n    username=\"{QUORUM_USER}\"\n    password={password};\n}};\n"
        ));
    }
    if !users.is_empty() {
        text.push_str(&format!("Server {{\n    {DIGEST_MODULE} required"));
        for (name, password) in users {
            text.push_str(&format!("\n    user_{name}={}", quoted(password)));
        }
        text.push_str(";\n};\n");
    }
    text
}

/// A user name as it can stand in a JAAS option name (`user_NAME`).
fn is_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
}

/// The users of a Secret volume: each entry not starting with '.' (the kubelet's `..data` and
/// timestamped directories do) is a user, its file the password. Sorted, so the JAAS file is
/// the same at every start.
fn read_users(flag: &str, dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let fail = |problem: String| anyhow::anyhow!("{flag}: {}: {problem}", dir.display());
    let entries = fs::read_dir(dir).map_err(|e| fail(format!("cannot read the directory: {e}")))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| fail(format!("cannot read the directory: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if !is_user_name(&name) {
            return Err(fail(format!(
                "'{}' is not a user name; expected files named with letters, digits, '_' or '-', one per user",
                name.escape_debug()
            )));
        }
        names.push(name);
        if names.len() > MAX_USERS {
            return Err(fail(format!("holds more than {MAX_USERS} users")));
        }
    }
    if names.is_empty() {
        return Err(fail("holds no user; expected one file per user, holding its password".into()));
    }
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let password = read_jaas_value(&format!("{flag} user {name}"), &dir.join(&name))?;
            Ok((name, password))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaas_sections_and_quoting() {
        let text = jaas(Some("q\"p\\w"), &[("app".into(), "pw1".into()), ("ops".into(), "pw2".into())]);
        assert!(text.contains("QuorumServer {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n    user_zookeeper-quorum=\"q\\\"p\\\\w\";\n};\n"), "{text}");
        assert!(text.contains("QuorumLearner {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n    username=\"zookeeper-quorum\"\n    password=\"q\\\"p\\\\w\";\n};\n"), "{text}");
        assert!(text.ends_with("Server {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n    user_app=\"pw1\"\n    user_ops=\"pw2\";\n};\n"), "{text}");
        assert!(!jaas(None, &[("a".into(), "b".into())]).contains("Quorum"));
    }

    /// Regression: `pw${user.home}` logged in as `pw/var/lib/zookeeper`, and an undefined
    /// property stopped ZooKeeper at start.
    #[test]
    fn values_the_jaas_parser_would_expand_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let quorum = dir.path().join("quorum");
        fs::write(&quorum, "pw${user.home}\n").unwrap();
        let users = dir.path().join("users");
        fs::create_dir(&users).unwrap();
        fs::write(users.join("app"), "a${undefined.property}b").unwrap();
        let refusal = |security: &Security| crate::exit::one_line(&plan(security).unwrap_err());
        let security = Security { quorum_password_file: Some(quorum.clone()), ..Security::default() };
        assert_eq!(
            refusal(&security),
            format!(
                "--quorum_password_file: {}: holds '${{', which the JVM's JAAS parser would replace with a system property; expected a password without '${{' (choose another)",
                quorum.display()
            )
        );
        let security = Security { client_sasl_users_dir: Some(users.clone()), ..Security::default() };
        let line = refusal(&security);
        assert!(
            line.starts_with(&format!(
                "--client_sasl_users_dir user app: {}: holds '${{'",
                users.join("app").display()
            )),
            "{line}"
        );
        assert!(!line.contains("undefined") && !line.contains("user.home"), "{line}");
        // A lone '$' or '{' is not expanded.
        fs::write(&quorum, "p$w{x}").unwrap();
        let security = Security { quorum_password_file: Some(quorum), ..Security::default() };
        assert!(plan(&security).unwrap().jaas.unwrap().contains("password=\"p$w{x}\";"));
    }

    #[test]
    fn the_jaas_file_reaches_the_jvm_only_when_written() {
        let dir = tempfile::tempdir().unwrap();
        let quorum = dir.path().join("quorum");
        fs::write(&quorum, "pw").unwrap();
        let conf = Path::new("/c");
        let security = Security { quorum_password_file: Some(quorum), ..Security::default() };
        let part = contribution(&security, conf).unwrap();
        assert_eq!(part.jvm_args, ["-Djava.security.auth.login.config=/c/jaas.conf"]);
        assert!(contribution(&Security::default(), conf).unwrap().jvm_args.is_empty());
    }

    #[test]
    fn users_from_a_secret_volume() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("..2026_11_28");
        fs::create_dir(&data).unwrap();
        fs::write(data.join("ops"), "pw2\n").unwrap();
        fs::write(data.join("app"), "pw1").unwrap();
        std::os::unix::fs::symlink("..2026_11_28", dir.path().join("..data")).unwrap();
        for user in ["ops", "app"] {
            std::os::unix::fs::symlink(format!("..data/{user}"), dir.path().join(user)).unwrap();
        }
        let users = read_users("--client_sasl_users_dir", dir.path()).unwrap();
        assert_eq!(users, [("app".to_string(), "pw1".to_string()), ("ops".to_string(), "pw2".to_string())]);
        fs::write(dir.path().join("bad name"), "x").unwrap();
        let line = crate::exit::one_line(&read_users("--client_sasl_users_dir", dir.path()).unwrap_err());
        assert!(line.contains("'bad name' is not a user name"), "{line}");
        let empty = tempfile::tempdir().unwrap();
        let line = crate::exit::one_line(&read_users("--client_sasl_users_dir", empty.path()).unwrap_err());
        assert!(line.contains("holds no user"), "{line}");
    }
}
