//! Keeping the TLS key store current when the Secret volume changes, in a helper process.
//!
//! ZooKeeper reloads quorum certificates (`sslQuorumReloadCertFiles`) only on events for the key
//! store's own file name in its directory; the kubelet updates a Secret volume by swapping the
//! `..data` symlink, which ZooKeeper never sees, and a Secret's PKCS#1 key or split files would
//! not load anyway. So a watcher turns each change of `--tls_dir` into a checked key store
//! renamed into `<conf_dir>/tls/`, which ZooKeeper does see.
//!
//! Why a helper process and not PID 1: PID 1's loop stays one `sigwaitinfo` with nothing else
//! in it (see `crate::pid1::supervise`), and its memory stays what it was (the TLS check and its
//! allocations live in the helper). The helper is `zk-entry tls-watch` (hidden), started by
//! `start` with ZooKeeper's credentials (it can read the Secret, which the kubelet mounts
//! world-readable by default, and write the key store, which ZooKeeper's user owns), a clean
//! signal state and SIGKILL as its parent-death signal. PID 1 reaps it like any orphan; if it
//! dies, ZooKeeper keeps running on its current certificate.
//!
//! The loop: wait for inotify events on `--tls_dir` (or at most [`RECHECK`], in case an event
//! was missed), let the kubelet finish its swap ([`SETTLE`]), and when the three files' bytes
//! differ from the last ones seen, check them as `start` does. Every read is the start's: opened
//! non-blocking, regular files only, at most 1 MiB each, so nothing planted in the Secret's
//! directory (a FIFO, a link to /dev/zero) can stop or grow the watcher. A good pair replaces the key
//! store (staged, fsynced, renamed) and is logged with its serial; a bad one is logged and
//! refused, and the old key store stays.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

// What the helper is told, defined with its arguments.
pub(crate) use super::args::Watch;
use super::identity::Identity;
use super::plan::Contribution;
use super::settings::Tls;
use super::tls;
use crate::fs::files::{self, FileChange, Private};
use crate::fs::paths::Guard;
use crate::pid1::signals::Signals;
use crate::pid1::user::{self, Privileges, RunAs};

/// The longest wait between two looks at the Secret.
const RECHECK: Duration = Duration::from_secs(60);
/// How long a burst of events has to stop before the files are read.
const SETTLE: Duration = Duration::from_millis(500);

/// `zk-entry tls-watch` for `watch`, with `--check` for the one-off check.
fn command(watch: &Watch, check: bool) -> Command {
    let mut cmd = Command::new("/proc/self/exe");
    cmd.args(watch.argv(check)).stdin(std::process::Stdio::null());
    cmd
}

/// For `start --tls_dir`: check the Secret for this pod ([`check_in_child`]) and say what TLS
/// adds to the start ([`tls::contribution`]) and what the watcher is to keep current.
pub(crate) fn prepare(
    t: &Tls,
    conf_dir: &Path,
    hostname: &str,
    identity: &Identity,
    signals: &Signals,
) -> anyhow::Result<(Contribution, Watch)> {
    let short = hostname.split('.').next().unwrap_or(hostname);
    let fqdn = match &identity.domain {
        Some(domain) => format!("{short}.{domain}"),
        None => hostname.to_string(),
    };
    let watch = Watch { tls_dir: t.dir.clone(), store: tls::store_dir(conf_dir), fqdn };
    let material = check_in_child(&watch, signals)?;
    Ok((tls::contribution(t, &watch.store, material), watch))
}

/// Start the helper as `run_as`; a failure is logged, not fatal (ZooKeeper runs on the current
/// certificate, and the next start checks the Secret again).
pub(crate) fn spawn(watch: &Watch, run_as: &RunAs, privileges: Privileges, signals: &Signals) {
    let mut cmd = command(watch, false);
    // The watcher runs as ZooKeeper does, and can gain no more than it.
    match signals.spawn(&mut cmd, user::setup_as(run_as, privileges, signals)) {
        // Reaped by the supervision loop, which collects every child.
        Ok(child) => tracing::info!(
            "started the TLS watcher (pid {}) as {}: a changed {} is checked and, if good, reloaded by ZooKeeper",
            child.id(),
            run_as.describe(),
            watch.tls_dir.display()
        ),
        Err(e) => tracing::error!(
            "cannot start the TLS watcher ({e}); certificates in {} will not be reloaded until the next start",
            watch.tls_dir.display()
        ),
    }
}

/// Separates the parts of what `tls-watch --check` prints.
const KEY_STORE_MARK: &str = "--- zk-entry key store ---\n";
const TRUST_STORE_MARK: &str = "--- zk-entry trust store ---\n";

/// `zk-entry tls-watch --check`: the check `start` needs, as text for [`check_in_child`].
pub(crate) fn check_once(watch: &Watch) -> anyhow::Result<String> {
    let m = tls::check(&watch.tls_dir, &watch.fqdn, SystemTime::now())?;
    Ok(format!("{}\n{KEY_STORE_MARK}{}{TRUST_STORE_MARK}{}", m.summary, m.key_store, m.trust_store))
}

/// [`tls::check`] in a child process (`tls-watch --check`), so that PID 1 never maps or touches
/// the TLS code and its allocations: its resident memory while supervising stays what it is
/// without TLS. The child's refusal becomes this start's refusal, word for word.
pub(crate) fn check_in_child(watch: &Watch, signals: &Signals) -> anyhow::Result<tls::Material> {
    let mut cmd = command(watch, true);
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let out = signals
        .spawn(&mut cmd, user::setup_helper(signals))
        .and_then(|child| child.wait_with_output())
        .map_err(|e| anyhow::anyhow!("cannot run the TLS check (/proc/self/exe): {e}"))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let line = text.lines().last().unwrap_or("the TLS check failed");
        anyhow::bail!("{}", line.strip_prefix("zk-entry: ").unwrap_or(line));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| anyhow::anyhow!("the TLS check printed no text"))?;
    let parts = text.split_once('\n').and_then(|(summary, rest)| {
        let rest = rest.strip_prefix(KEY_STORE_MARK)?;
        let (key_store, trust_store) = rest.split_once(TRUST_STORE_MARK)?;
        Some((summary, key_store, trust_store))
    });
    let Some((summary, key_store, trust_store)) = parts else {
        anyhow::bail!("the TLS check printed something unexpected");
    };
    Ok(tls::Material {
        key_store: key_store.into(),
        trust_store: trust_store.into(),
        summary: summary.into(),
    })
}

/// `zk-entry tls-watch`: runs until killed (its parent's death kills it).
pub(crate) fn run(watch: &Watch) -> anyhow::Result<()> {
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
    let events = AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_DELETE;
    inotify
        .add_watch(&watch.tls_dir, events)
        .map_err(|e| anyhow::anyhow!("tls-watch: cannot watch {}: {e}", watch.tls_dir.display()))?;
    let mut last_seen = secret_bytes(&watch.tls_dir);
    // The service loop of a long-lived helper: each turn is bounded by RECHECK.
    loop {
        if wait_readable(&inotify, RECHECK)? {
            // Let the kubelet's burst (new directory, files, symlink swap, clean-up) end.
            loop {
                drain(&inotify);
                if !wait_readable(&inotify, SETTLE)? {
                    break;
                }
            }
        }
        let now = secret_bytes(&watch.tls_dir);
        if now == last_seen {
            continue;
        }
        last_seen = now;
        refresh(watch);
    }
}

/// What the three files hold now, each as the start's check reads it ([`tls::read_file`]:
/// non-blocking, capped, regular files only), or why it cannot be read. The watcher looks at
/// every change of a volume that others may fill: a FIFO there must not stop it, and a link to
/// /dev/zero must not grow it.
fn secret_bytes(dir: &Path) -> Vec<Result<Vec<u8>, String>> {
    [tls::CERT_FILE, tls::KEY_FILE, tls::CA_FILE]
        .iter()
        .map(|f| tls::read_file(dir, f).map_err(|e| crate::exit::one_line(&e)))
        .collect()
}

/// Check the Secret and replace the key store with it, or log why not.
fn refresh(watch: &Watch) {
    let material = match tls::check(&watch.tls_dir, &watch.fqdn, SystemTime::now()) {
        Ok(material) => material,
        Err(e) => {
            tracing::error!(
                "refused the changed TLS Secret, keeping the current key store: {}",
                crate::exit::one_line(&e)
            );
            return;
        }
    };
    let private = |shown: &str| Some(Private { owner: None, shown: shown.to_string() });
    let changes = [
        FileChange::with_privacy(
            watch.store.join(tls::TRUST_STORE),
            material.trust_store,
            private(""),
            &Guard::none(),
        ),
        FileChange::with_privacy(
            watch.store.join(tls::KEY_STORE),
            material.key_store,
            private(""),
            &Guard::none(),
        ),
    ];
    let changes: Vec<FileChange> = match changes.into_iter().collect::<anyhow::Result<_>>() {
        Ok(changes) => changes,
        Err(e) => {
            tracing::error!("cannot read the current key store: {}", crate::exit::one_line(&e));
            return;
        }
    };
    if changes.iter().all(|c| c.state == files::State::Unchanged) {
        return;
    }
    match files::write_files(&changes, &Guard::none()) {
        Ok(()) => tracing::info!(
            "TLS Secret changed: {}; key store replaced for ZooKeeper to reload",
            material.summary
        ),
        Err(e) => tracing::error!("cannot replace the key store: {}", crate::exit::one_line(&e)),
    }
}

/// Wait until the inotify descriptor has events, at most `limit`.
fn wait_readable(inotify: &Inotify, limit: Duration) -> anyhow::Result<bool> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut fds = [PollFd::new(std::os::fd::AsFd::as_fd(inotify), PollFlags::POLLIN)];
    let timeout = PollTimeout::try_from(limit).unwrap_or(PollTimeout::MAX);
    match poll(&mut fds, timeout) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(anyhow::anyhow!("tls-watch: cannot wait for events: {e}")),
    }
}

/// Read and drop every pending event (their contents do not matter: the files are compared).
fn drain(inotify: &Inotify) {
    while inotify.read_events().is_ok_and(|events| !events.is_empty()) {}
}
