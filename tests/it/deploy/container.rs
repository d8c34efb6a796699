//! The simulated container: a pod (tests/support's `Pod`) laid out as the image is, running one
//! command line as the image's user where only the volumes are writable, and the judgement of how
//! a zk-entry command line must end there.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::dockerfile::dockerfile_links;
use super::{UID, static_problems, zk_command};
use crate::support::*;

pub(super) struct Container {
    pub(super) hostname: String,
    pub(super) hosts: String,
    /// Absolute paths that are volumes: writable by gid 1000 (fsGroup), as an emptyDir or a
    /// PersistentVolumeClaim is. Everything else the pod sees is root's.
    pub(super) volumes: Vec<String>,
    /// The multi-call names linked to zk-entry in /usr/local/bin (the Dockerfile's links).
    pub(super) links: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    /// Files a Secret volume puts into the pod: path, contents (mode 0440, group 1000).
    pub(super) secret_files: Vec<(String, String)>,
    /// Bring the pod's loopback up (for a real server and its probes); otherwise the pod has no
    /// working network at all.
    pub(super) loopback: bool,
    /// What stands in for java; None runs the real one.
    pub(super) java: Option<String>,
    /// Secret volumes: where the pod sees each, and the host directory with its files.
    pub(super) secrets: Vec<(String, tempfile::TempDir)>,
    /// How long the command may run before the test fails.
    pub(super) limit: Duration,
}

/// How a command line ended in the container.
pub(super) struct Ran {
    pub(super) code: Option<i32>,
    pub(super) stderr: String,
}

/// Directories of a pod's view that are private to it (see tests/support's `Pod`), where a
/// volume can be mounted without touching the host.
fn mountable(path: &str) -> bool {
    let private = path == "/tmp" || ["/var/lib/", "/var/log/", "/opt/"].iter().any(|p| path.starts_with(p));
    private && !path.contains('\'') && !path.contains("..")
}

impl Container {
    /// The pod `<statefulset>-<ordinal>` of a StatefulSet whose governing Service is `service`, in
    /// namespace default: its host name and the /etc/hosts the kubelet writes for it.
    pub(super) fn pod(statefulset: &str, service: &str, ordinal: u32) -> Container {
        let name = format!("{statefulset}-{ordinal}");
        let hosts = format!(
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n198.18.0.{}\t{name}.{service}.default.svc.cluster.local\t{name}\n",
            10 + ordinal
        );
        Container {
            hostname: name,
            hosts,
            volumes: Vec::new(),
            links: dockerfile_links(),
            env: Vec::new(),
            secret_files: Vec::new(),
            loopback: false,
            java: Some("/bin/true".into()),
            secrets: Vec::new(),
            limit: Duration::from_secs(60),
        }
    }

    /// Run `argv` as the image's user, with PATH finding zk-entry where the image has it and
    /// /bin/true standing in for java (a `--java` in `argv` still wins, as flags do).
    pub(super) fn run(&self, argv: &[String]) -> Result<Ran, String> {
        let mut pod = Pod::new(&self.hostname, &self.hosts);
        // The image's /usr/local/bin: zk-entry (this build, bind-mounted) and its links.
        pod.setup.push("mount -t tmpfs -o size=1m,mode=0755 tmpfs /usr/local/bin".into());
        pod.setup.push("touch /usr/local/bin/zk-entry".into());
        // A bind mount: uid 1000 reaches it through /usr/local/bin, wherever the checkout is.
        pod.setup.push(format!("mount --bind {} /usr/local/bin/zk-entry", shell_quote(BIN)));
        for link in &self.links {
            pod.setup.push(format!("ln -s zk-entry '/usr/local/bin/{link}'"));
        }
        // Volumes, parents first. Without a volume on /tmp, /tmp is read-only like the rest.
        let mut volumes = self.volumes.clone();
        volumes.sort_by_key(|v| v.len());
        for volume in &volumes {
            if !mountable(volume) {
                return Err(format!(
                    "volume {volume} is outside what the test pod can mount (/tmp, /var/lib, /var/log, /opt)"
                ));
            }
            pod.setup.push(format!(
                "mkdir -p '{volume}' && mount -t tmpfs -o size=64m,mode=2775,gid={UID} tmpfs '{volume}'"
            ));
        }
        // Secret volumes: their files, in the pod's private directories (the source may be under
        // /tmp, which a /tmp volume would hide from a mount made inside the pod).
        for (path, host) in &self.secrets {
            if !mountable(path) || path == "/tmp" || path.starts_with("/tmp/") {
                return Err(format!("secret volume {path} is outside what the test pod can hold"));
            }
            let into = pod.host_path(path);
            fs::create_dir_all(&into).unwrap();
            for entry in fs::read_dir(host.path()).unwrap().flatten() {
                // As the kubelet writes a Secret for `defaultMode: 0440` and fsGroup 1000.
                let file = into.join(entry.file_name());
                fs::copy(entry.path(), &file).unwrap();
                std::os::unix::fs::chown(&file, Some(0), Some(UID as u32)).unwrap();
                fs::set_permissions(&file, fs::Permissions::from_mode(0o440)).unwrap();
            }
        }
        for (path, contents) in &self.secret_files {
            pod.setup.push(format!(
                "printf '%s\\n' {} > {p} && chgrp {UID} {p} && chmod 0440 {p}",
                shell_quote(contents),
                p = shell_quote(path)
            ));
        }
        if !volumes.iter().any(|v| v == "/tmp") {
            pod.setup.push("mount -t tmpfs -o size=1m,mode=0755 tmpfs /tmp".into());
        }
        if self.loopback {
            pod.setup.push("ip link set lo up".into());
        }
        let uid = format!("--reuid={UID}");
        let gid = format!("--regid={UID}");
        let groups = format!("--groups={UID}");
        let mut args = vec![uid.as_str(), gid.as_str(), groups.as_str(), "--no-new-privs", "--"];
        args.extend(argv.iter().map(String::as_str));
        let dir = tempfile::tempdir().unwrap();
        let err_path = dir.path().join("stderr");
        let mut cmd: Command = pod.command("setpriv", &args);
        cmd.env("PATH", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        if let Some(java) = &self.java {
            cmd.env("ZK_JAVA", java);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&err_path).unwrap());
        // Bounded: a hung command fails the test, and the guard kills the whole pod.
        let mut child = Reaped(cmd.spawn().expect("run unshare"));
        let status = wait_exit(&mut child.0, self.limit);
        Ok(Ran { code: status.code(), stderr: fs::read_to_string(err_path).unwrap_or_default() })
    }

    /// Run a zk-entry command line and judge the outcome: `start` must succeed (its child is
    /// /bin/true); a probe must fail as a probe without a server does (exit 1 and its own
    /// message), which proves that every flag was accepted: a usage error exits 2.
    pub(super) fn check(&self, argv: &[String]) -> Result<Ran, String> {
        let problems = static_problems(argv);
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let cmd = zk_command(argv).expect("checked above");
        let ran = self.run(argv)?;
        let said =
            || format!("{argv:?} as pod {}: exit {:?}: {}", self.hostname, ran.code, ran.stderr.trim_end());
        match cmd.subcommand.as_str() {
            "start" if ran.code == Some(0) => Ok(ran),
            // The preStop hook: without a server it has nothing to do, and says so.
            "leave" if ran.code == Some(0) && ran.stderr.contains("nothing to do") => Ok(ran),
            "ready" | "metrics" if ran.code == Some(1) => {
                let own = format!("zk-entry: {}", cmd.subcommand);
                if ran.stderr.lines().any(|l| l.starts_with(&own)) {
                    Ok(ran)
                } else {
                    Err(format!("{}; expected a line starting with {own:?}", said()))
                }
            }
            _ => Err(said()),
        }
    }
}
