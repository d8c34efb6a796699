//! The JVM command line that runs ZooKeeper: which java, which classpath, which flags.
//!
//! The command line is built before anything is written, so a missing java or ZooKeeper install
//! stops the start with nothing changed. zkServer.sh is not involved: it would read its own
//! config location and `-Dzookeeper.root.logger`, which is how the script lost `--conf_dir` and
//! `--log_level`.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::settings::{Java, Paths};
use crate::exit::{self, Exec};

const MAIN_CLASS: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
/// Where the tutorial's image and most others unpack the upstream release.
const DEFAULT_ZK_HOME: &str = "/opt/zookeeper";
/// Debian's zookeeper package keeps its jars with every other Java library.
const DEBIAN_JAVA_DIR: &str = "/usr/share/java";
/// Debian's zookeeper.jar lists its dependencies in its manifest, but not a logging backend:
/// these two give it log4j 1.2 and so our log4j.properties.
const DEBIAN_LOGGING_JARS: [&str; 2] = ["log4j-1.2.jar", "slf4j-log4j12.jar"];
/// What Debian's zookeeper.jar manifest leaves out of Netty, which the TLS path (the Netty
/// connection factory, quorum TLS) needs: without them quorum TLS dies silently and the secure
/// client port throws NoClassDefFoundError.
const DEBIAN_NETTY_JARS: [&str; 3] =
    ["netty-codec.jar", "netty-resolver.jar", "netty-transport-native-unix-common.jar"];
/// What the AdminServer (Jetty 9.4) needs beyond the manifest's Jetty jars: the javax.servlet
/// API. Without it ZooKeeper logs `NoClassDefFoundError: javax/servlet/Servlet` and serves on
/// with no AdminServer (3.8.0 and 3.9.3 alike).
const DEBIAN_ADMIN_JARS: [&str; 1] = ["servlet-api.jar"];

/// The JVM and everything it is started with, ready to exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JvmCommand {
    pub(crate) program: PathBuf,
    /// The flags before `-cp`, every part's ([`super::plan`]); java.env carries the same ones.
    pub(crate) options: Vec<String>,
    classpath: String,
    zoo_cfg: PathBuf,
    /// The ZooKeeper install the classpath was built from; `None` for `--classpath`.
    pub(crate) install: Option<PathBuf>,
    /// Java `@argfile`s read first: options that must not show on a command line (a secret).
    pub(crate) arg_files: Vec<PathBuf>,
}

impl JvmCommand {
    /// The classpath as the JVM gets it (the version is read from it: [`super::version`]).
    pub(crate) fn classpath(&self) -> &str {
        &self.classpath
    }

    /// The arguments after the program: options, classpath, main class, config file.
    pub(crate) fn args(&self) -> Vec<String> {
        let mut args: Vec<String> =
            self.arg_files.iter().map(|f| format!("@{}", f.to_string_lossy())).collect();
        args.extend(self.options.iter().cloned());
        args.push("-cp".into());
        args.push(self.classpath.clone());
        args.push(MAIN_CLASS.into());
        args.push(self.zoo_cfg.to_string_lossy().into_owned());
        args
    }

    /// The command as one shell-quoted line, for logs and `--dry-run`; secret system properties
    /// redacted.
    pub(crate) fn display(&self) -> String {
        let program = self.program.to_string_lossy();
        let args: Vec<String> = self.args().iter().map(|a| crate::secrets::shown_jvm_arg(a)).collect();
        super::render::command_line(std::iter::once(program.as_ref()).chain(args.iter().map(String::as_str)))
    }
}

/// The JVM flags every start gives: fail-fast on OOM, the logging files.
pub(crate) fn fixed_options(paths: &Paths) -> Vec<String> {
    let conf = paths.conf_dir.to_string_lossy();
    vec![
        // A JVM that runs out of heap must die so the pod restarts, not limp on half-broken.
        "-XX:+ExitOnOutOfMemoryError".to_string(),
        format!("-Dzookeeper.log.dir={}", paths.log_dir.to_string_lossy()),
        format!("-Dlog4j.configuration=file:{conf}/log4j.properties"),
        format!("-Dlogback.configurationFile={conf}/logback.xml"),
    ]
}

/// The environment that decides which java runs.
pub(crate) struct JavaEnv {
    java_home: Option<OsString>,
    path: Option<OsString>,
}

impl JavaEnv {
    pub(crate) fn from_process() -> JavaEnv {
        JavaEnv { java_home: std::env::var_os("JAVA_HOME"), path: std::env::var_os("PATH") }
    }
}

fn is_executable(meta: &fs::Metadata) -> bool {
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

fn is_executable_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| is_executable(&m))
}

/// `--java`, else `$JAVA_HOME/bin/java`, else `java` on PATH. A set JAVA_HOME that holds no java
/// is an error rather than a quiet fall-through to some other java.
fn find_java(java: Option<&Path>, env: &JavaEnv) -> anyhow::Result<PathBuf> {
    let not_found = |message: String| -> anyhow::Error { Exec { code: exit::NOT_FOUND, message }.into() };
    if let Some(java) = java {
        return match fs::metadata(java) {
            Err(_) => Err(not_found(format!(
                "--java {}: no such file; give the path of a java binary",
                java.display()
            ))),
            Ok(m) if !is_executable(&m) => Err(Exec {
                code: exit::NOT_EXECUTABLE,
                message: format!(
                    "--java {}: not an executable file; give the path of a java binary",
                    java.display()
                ),
            }
            .into()),
            Ok(_) => Ok(java.to_path_buf()),
        };
    }
    if let Some(home) = env.java_home.as_ref().filter(|h| !h.is_empty()) {
        let java = Path::new(home).join("bin/java");
        if !java.exists() {
            return Err(not_found(format!(
                "JAVA_HOME is {} but {} does not exist; fix JAVA_HOME or pass --java",
                Path::new(home).display(),
                java.display()
            )));
        }
        return Ok(java);
    }
    let path = env.path.clone().unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("java"))
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(|| {
            not_found(format!(
                "java not found: JAVA_HOME is not set and no directory of PATH ({}) holds java; install a JRE or pass --java",
                Path::new(&path).display()
            ))
        })
}

/// Check the `-- COMMAND` program before anything is written, as exec will look for it: a path
/// with a `/` as it is, a bare name in each absolute directory of PATH. The same codes as a
/// failed exec (127 missing, 126 not executable), but with the disk still untouched.
pub(crate) fn check_command(program: &Path, env: &JavaEnv) -> anyhow::Result<()> {
    let fail = |code: u8, why: String| -> anyhow::Result<()> {
        Err(Exec { code, message: format!("cannot run {}: {why}", program.display()) }.into())
    };
    if program.as_os_str().as_encoded_bytes().contains(&b'/') {
        return match fs::metadata(program) {
            Err(e) => fail(exit::NOT_FOUND, format!("{e}; nothing was written")),
            Ok(m) if !is_executable(&m) => {
                fail(exit::NOT_EXECUTABLE, "not an executable file; nothing was written".into())
            }
            Ok(_) => Ok(()),
        };
    }
    let path = env.path.clone().unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| dir.is_absolute() && is_executable_file(&dir.join(program))) {
        return Ok(());
    }
    fail(exit::NOT_FOUND, format!("not found in PATH ({}); nothing was written", Path::new(&path).display()))
}

/// Jars in `dir` whose names satisfy `keep`, sorted so the classpath is the same at every start.
fn jars(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jar"))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    found.sort();
    found
}

/// The jars of an install at `home`, in the first layout that matches: Debian's (`zookeeper.jar`
/// with log4j 1.2 beside it), or the upstream release (`zookeeper-*.jar` at the top as in 3.4,
/// or in `lib/` as in 3.5+, with `lib/*.jar`).
fn install_jars(home: &Path, netty: bool, admin: bool) -> anyhow::Result<Option<Vec<PathBuf>>> {
    // Debian first: /usr/share/java also holds versioned zookeeper-3.8.0.jar links, which would
    // otherwise pass for an upstream release and pull every jar of the directory in.
    let debian = home.join("zookeeper.jar");
    if debian.is_file() {
        let mut found = vec![debian];
        for name in DEBIAN_LOGGING_JARS {
            let jar = home.join(name);
            if !jar.is_file() {
                anyhow::bail!(
                    "{} has zookeeper.jar but not {name}, which ZooKeeper needs to log; install Debian's liblog4j1.2-java and libslf4j-java",
                    home.display()
                );
            }
            found.push(jar);
        }
        let extras: [(&[&str], bool, &str); 2] = [
            (
                &DEBIAN_NETTY_JARS,
                netty,
                "which ZooKeeper's TLS needs (--tls_dir); install Debian's libnetty-java",
            ),
            (
                &DEBIAN_ADMIN_JARS,
                admin,
                "which ZooKeeper's AdminServer needs (--admin_server_port); install Debian's libservlet-api-java",
            ),
        ];
        for (names, wanted, why) in extras {
            for name in names.iter().filter(|_| wanted) {
                let jar = home.join(name);
                if !jar.is_file() {
                    anyhow::bail!("{} has zookeeper.jar but not {name}, {why}", home.display());
                }
                found.push(jar);
            }
        }
        return Ok(Some(found));
    }
    let is_zk = |name: &str| name.starts_with("zookeeper-");
    let top = jars(home, is_zk);
    let lib = jars(&home.join("lib"), |_| true);
    if !top.is_empty() || lib.iter().any(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(is_zk)) {
        return Ok(Some(top.into_iter().chain(lib).collect()));
    }
    Ok(None)
}

/// `--classpath` as given, else the conf dir (where log4j and logback look for their files) and
/// the jars of the install under `--zk_home`, or of the first default install found.
fn find_classpath(java: &Java, conf_dir: &Path) -> anyhow::Result<(String, Option<PathBuf>)> {
    if let Some(cp) = &java.classpath {
        return Ok((cp.clone(), None));
    }
    let candidates: Vec<PathBuf> = match &java.zk_home {
        Some(home) => vec![home.clone()],
        None => vec![PathBuf::from(DEFAULT_ZK_HOME), PathBuf::from(DEBIAN_JAVA_DIR)],
    };
    for home in &candidates {
        if let Some(jars) = install_jars(home, java.netty_jars, java.admin_jars)? {
            let mut entries = vec![conf_dir.to_path_buf()];
            entries.extend(jars);
            let joined = std::env::join_paths(&entries).context("a ZooKeeper jar path contains ':'")?;
            return Ok((joined.to_string_lossy().into_owned(), Some(home.clone())));
        }
    }
    let searched: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    anyhow::bail!(
        "no ZooKeeper install found in {} (looked for zookeeper-*.jar, lib/zookeeper-*.jar, zookeeper.jar); pass --zk_home=<dir> or --classpath",
        searched.join(" or ")
    )
}

/// The command line for these settings, without its options and argument files: the plan adds
/// them ([`super::plan::Plan::new`]).
pub(crate) fn command(java: &Java, paths: &Paths, env: &JavaEnv) -> anyhow::Result<JvmCommand> {
    let program = find_java(java.java.as_deref(), env)?;
    let (classpath, install) = find_classpath(java, &paths.conf_dir)?;
    Ok(JvmCommand {
        program,
        options: Vec::new(),
        classpath,
        zoo_cfg: paths.conf_dir.join("zoo.cfg"),
        install,
        arg_files: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn touch(path: &Path, mode: u32) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn java_order_flag_then_java_home_then_path() {
        let dir = tempfile::tempdir().unwrap();
        let home_java = dir.path().join("jdk/bin/java");
        let path_java = dir.path().join("bin/java");
        touch(&home_java, 0o755);
        touch(&path_java, 0o755);
        let env = JavaEnv {
            java_home: Some(dir.path().join("jdk").into()),
            path: Some(dir.path().join("bin").into()),
        };
        assert_eq!(find_java(Some(&path_java), &env).unwrap(), path_java);
        let not_exec = dir.path().join("notes.txt");
        touch(&not_exec, 0o644);
        assert_eq!(exit::code_of(&find_java(Some(&not_exec), &env).unwrap_err()), exit::NOT_EXECUTABLE);
        assert_eq!(
            exit::code_of(&find_java(Some(&dir.path().join("nope")), &env).unwrap_err()),
            exit::NOT_FOUND
        );
        assert_eq!(find_java(None, &env).unwrap(), home_java);
        let env = JavaEnv { java_home: None, path: Some(dir.path().join("bin").into()) };
        assert_eq!(find_java(None, &env).unwrap(), path_java);
    }

    #[test]
    fn broken_java_home_is_an_error_not_a_fallback() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("bin/java"), 0o755);
        let env = JavaEnv {
            java_home: Some(dir.path().join("nojdk").into()),
            path: Some(dir.path().join("bin").into()),
        };
        let err = find_java(None, &env).unwrap_err();
        assert_eq!(exit::code_of(&err), exit::NOT_FOUND);
        assert!(exit::one_line(&err).contains("JAVA_HOME"));
    }

    #[test]
    fn path_skips_non_executable_and_relative_entries() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("a/java"), 0o644);
        touch(&dir.path().join("b/java"), 0o755);
        let path = std::env::join_paths(["rel".into(), dir.path().join("a"), dir.path().join("b")]).unwrap();
        let env = JavaEnv { java_home: None, path: Some(path) };
        assert_eq!(find_java(None, &env).unwrap(), dir.path().join("b/java"));
        let env = JavaEnv { java_home: None, path: Some(dir.path().join("a").into()) };
        assert_eq!(exit::code_of(&find_java(None, &env).unwrap_err()), exit::NOT_FOUND);
    }

    #[test]
    fn upstream_layouts() {
        let home = tempfile::tempdir().unwrap();
        // 3.5+: everything in lib/.
        touch(&home.path().join("lib/zookeeper-3.8.4.jar"), 0o644);
        touch(&home.path().join("lib/zookeeper-jute-3.8.4.jar"), 0o644);
        touch(&home.path().join("lib/logback-classic-1.2.13.jar"), 0o644);
        touch(&home.path().join("lib/README.txt"), 0o644);
        let jars = install_jars(home.path(), false, false).unwrap().unwrap();
        let names: Vec<_> =
            jars.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_string()).collect();
        assert_eq!(names, ["logback-classic-1.2.13.jar", "zookeeper-3.8.4.jar", "zookeeper-jute-3.8.4.jar"]);
        // 3.4: the server jar at the top, first.
        let old = tempfile::tempdir().unwrap();
        touch(&old.path().join("zookeeper-3.4.10.jar"), 0o644);
        touch(&old.path().join("lib/log4j-1.2.16.jar"), 0o644);
        let jars = install_jars(old.path(), false, false).unwrap().unwrap();
        assert_eq!(jars, [old.path().join("zookeeper-3.4.10.jar"), old.path().join("lib/log4j-1.2.16.jar")]);
    }

    #[test]
    fn debian_layout_needs_its_logging_jars() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("zookeeper.jar"), 0o644);
        touch(&dir.path().join("log4j-1.2.jar"), 0o644);
        let err = install_jars(dir.path(), false, false).unwrap_err();
        assert!(format!("{err}").contains("slf4j-log4j12.jar"));
        touch(&dir.path().join("slf4j-log4j12.jar"), 0o644);
        // Debian's versioned links must not turn it into an upstream layout.
        touch(&dir.path().join("zookeeper-3.8.0.jar"), 0o644);
        touch(&dir.path().join("zookeeper-it-3.8.0.jar"), 0o644);
        let jars = install_jars(dir.path(), false, false).unwrap().unwrap();
        let names: Vec<_> = jars.iter().map(|p| p.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(names, ["zookeeper.jar", "log4j-1.2.jar", "slf4j-log4j12.jar"]);
        assert_eq!(install_jars(&dir.path().join("nothing"), false, false).unwrap(), None);
        // TLS: the Netty jars the manifest leaves out, named when missing.
        let line = install_jars(dir.path(), true, false).unwrap_err().to_string();
        assert!(line.contains("not netty-codec.jar, which ZooKeeper's TLS needs"), "{line}");
        for jar in DEBIAN_NETTY_JARS {
            touch(&dir.path().join(jar), 0o644);
        }
        assert_eq!(install_jars(dir.path(), true, false).unwrap().unwrap().len(), 6);
        // The AdminServer: the servlet API, named when missing.
        let line = install_jars(dir.path(), false, true).unwrap_err().to_string();
        assert!(line.contains("not servlet-api.jar, which ZooKeeper's AdminServer needs"), "{line}");
        touch(&dir.path().join("servlet-api.jar"), 0o644);
        let jars = install_jars(dir.path(), false, true).unwrap().unwrap();
        assert_eq!(jars.last(), Some(&dir.path().join("servlet-api.jar")));
    }
}
