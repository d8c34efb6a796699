//! The tutorial's own pods, as people run them before they move to zk-entry: the image
//! `kubernetes-zookeeper:1.0-3.4.10`'s scripts (re-created in tests/tutorial from their documented
//! behaviour, defects kept) on Debian bullseye's ZooKeeper 3.4.13 ([`super::dist`]), started as
//! the tutorial's manifest does: `sh -c "start-zookeeper ..."` as uid 1000 with `fsGroup: 1000`.
//!
//! A pod's image is what its /opt holds and which ZooKeeper is bound into it: [`use_image`] puts
//! either the tutorial's (its scripts, an /opt/zookeeper with bin/ and an empty conf/ that uid
//! 1000 may write, ZooKeeper 3.4) or zk-entry's (the `start-zookeeper` link to zk-entry, an empty
//! /opt/zookeeper/conf, the run's ZooKeeper, [`super::dist::current`]) in place, fresh, as a new
//! container starts from its image. Both images keep /opt/bin/zk-entry: the harness's probes
//! (`wait_serving`, `role`) run it in every pod.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::dist;
use super::ensemble::Ensemble;
use super::zk::session::Acl;
use super::{TUTORIAL_FLAGS, copy_program};

/// The suite whose ZooKeeper the tutorial's image runs here (3.4.13; the image had 3.4.10).
pub const SUITE: &str = "bullseye";
/// `runAsUser` and `fsGroup` of the tutorial's manifest.
pub const UID: u32 = 1000;

/// Which image a pod is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    /// The tutorial's: its scripts on ZooKeeper 3.4.
    Tutorial,
    /// zk-entry on the run's ZooKeeper (3.8.0 unless ZK_SUITE says otherwise).
    ZkEntry,
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tutorial").join(name)
}

/// Make pod `ordinal` (deleted, or not yet started) from `image` when it is next started.
pub fn use_image(e: &mut Ensemble, ordinal: usize, image: Image) {
    let opt = e.pod_dir(ordinal).join("opt");
    let start = opt.join("bin/start-zookeeper");
    let _ = fs::remove_file(&start);
    let _ = fs::remove_file(opt.join("bin/zookeeper-ready"));
    let _ = fs::remove_dir_all(opt.join("zookeeper"));
    fs::create_dir_all(opt.join("zookeeper/conf")).unwrap();
    match image {
        Image::Tutorial => {
            copy_program(&script("start-zookeeper"), &start);
            copy_program(&script("zookeeper-ready"), &opt.join("bin/zookeeper-ready"));
            copy_program(&script("zkServer.sh"), &opt.join("zookeeper/bin/zkServer.sh"));
            give_image_dirs(e, ordinal);
            e.set_zookeeper(ordinal, SUITE);
        }
        Image::ZkEntry => {
            std::os::unix::fs::symlink("zk-entry", &start).unwrap();
            e.set_zookeeper(ordinal, &dist::default_suite());
        }
    }
}

/// The image's conf dir and ZOO_LOG_DIR belong to its user (1000), as the tutorial's Dockerfile
/// made them (and zk-entry's does).
pub fn give_image_dirs(e: &Ensemble, ordinal: usize) {
    chown(&e.pod_dir(ordinal).join("opt/zookeeper/conf"));
    let log_dir = e.pod_dir(ordinal).join("var-log/zookeeper");
    fs::create_dir_all(&log_dir).unwrap();
    chown(&log_dir);
}

fn chown(path: &Path) {
    std::os::unix::fs::chown(path, Some(UID), Some(UID)).unwrap();
}

/// What the kubelet does to a volume for `fsGroup: 1000` before the container starts: the group
/// of everything becomes 1000, group read/write (and search for directories) is added, and
/// directories get the setgid bit so new files keep the group.
pub fn apply_fs_group(volume: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let path = volume.display().to_string();
    run(&["chgrp", "-R", "--no-dereference", &UID.to_string(), &path]);
    run(&["chmod", "-R", "g+rwX", &path]);
    run(&["find", &path, "-type", "d", "-exec", "chmod", "g+s", "{}", "+"]);
    // The volume's root itself is the mount point the kubelet prepares.
    let mode = fs::metadata(volume).unwrap().permissions().mode();
    fs::set_permissions(volume, fs::Permissions::from_mode(mode | 0o2070)).unwrap();
}

/// The tutorial's container command with `flags` in place of the manifest's (the tutorial's own
/// flags when `None`): `sh -c "start-zookeeper ..."` as uid 1000 with group 1000, the image's
/// PATH (its ZooKeeper's bin/ included). PID 1 is the shell.
pub fn command(flags: Option<&[String]>) -> Vec<String> {
    let flags: Vec<String> = match flags {
        Some(f) => f.to_vec(),
        None => TUTORIAL_FLAGS.iter().map(|f| f.to_string()).collect(),
    };
    let mut argv = as_1000();
    argv.push("env".into());
    argv.push("PATH=/opt/bin:/opt/zookeeper/bin:/usr/local/bin:/usr/bin:/bin".into());
    argv.extend(["sh".into(), "-c".into(), format!("start-zookeeper {}", flags.join(" "))]);
    argv
}

/// `runAsUser: 1000` with the group 1000: the words that run a container command so.
pub fn as_1000() -> Vec<String> {
    let id = UID.to_string();
    ["setpriv", "--reuid", &id, "--regid", &id, "--groups", &id, "--"].map(String::from).into()
}

/// Start pod `ordinal` from the tutorial's image with `flags` (the manifest's when `None`).
pub fn start(e: &mut Ensemble, ordinal: usize, flags: Option<&[String]>) {
    apply_fs_group(&e.pod_dir(ordinal).join("var-lib/zookeeper"));
    let argv = command(flags);
    e.start_with(ordinal, &argv);
}

/// The names in the volume's `<dir>/version-2` (pod path, e.g. `/var/lib/zookeeper/data`),
/// sorted: which snapshots and logs a member holds.
pub fn files_in(e: &Ensemble, ordinal: usize, dir: &str) -> Vec<String> {
    let rel = dir.strip_prefix("/var/lib/").expect("a path on the volume");
    let path = e.pod_dir(ordinal).join("var-lib").join(rel).join("version-2");
    let mut names: Vec<String> = fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.retain(|n| n.starts_with("snapshot.") || n.starts_with("log."));
    names.sort();
    names
}

/// How the pod's container ended when it was deleted.
#[derive(Debug, Clone, Copy)]
pub struct Ended {
    /// It exited by itself after SIGTERM (false: killed when the grace period ran out).
    pub by_itself: bool,
    /// From SIGTERM to the end.
    pub took: Duration,
}

/// `kubectl delete pod zk-N` (what a rolling update does to each pod): SIGTERM to PID 1, the
/// container killed when `grace` runs out (the tutorial's `sh -c` PID 1 ignores SIGTERM, so its
/// pods always wait that long), then the sandbox removed; the volume stays.
pub fn delete(e: &mut Ensemble, ordinal: usize, grace: Duration) -> Ended {
    let sent = Instant::now();
    super::signal(e.pid1(ordinal), libc::SIGTERM);
    let mut by_itself = false;
    while sent.elapsed() < grace {
        if e.exited(ordinal).is_some() {
            by_itself = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    e.delete(ordinal);
    Ended { by_itself, took: sent.elapsed() }
}

/// Start all of `e`'s pods from the tutorial's image and wait until they serve.
pub fn start_ensemble(e: &mut Ensemble) -> Result<Duration, String> {
    for ordinal in 0..e.size() {
        use_image(e, ordinal, Image::Tutorial);
        start(e, ordinal, None);
    }
    let pods: Vec<usize> = (0..e.size()).collect();
    e.wait_serving(&pods, super::dynamic::SERVE_LIMIT)
}

/// Write `znodes` znodes under /data through zk-0, and make /w for a [`super::dynamic::Writer`],
/// both open to everyone. Plain `create` (opcode 1), which 3.4 knows: one 3.5+ operation
/// (`create2`) in the log and 3.4 no longer loads the volume, which ends the way back.
pub fn write_data(e: &Ensemble, znodes: u32) {
    use super::zk::session::KeeperError;
    // A just-formed 3.4 ensemble may still move its leader once and drop the session: go on
    // from where it stopped in a new one (a few times at most); a znode already there is done.
    let mut next: i64 = -2;
    for _attempt in 0..10 {
        next = super::dynamic::with_session_tried(&e.client(), &super::dynamic::only(0), move |s| {
            let open = [Acl { perms: 31, scheme: "world".into(), id: "anyone".into() }];
            let mut n = next;
            while n < znodes as i64 {
                let result = match n {
                    -2 => s.create_with("/data", b"", &open),
                    -1 => s.create_with("/w", b"", &open),
                    _ => s.create(&format!("/data/{n:05}"), b"tutorial"),
                };
                match result {
                    Ok(()) => n += 1,
                    Err(e) if KeeperError::of(&e) == Some(KeeperError::NODE_EXISTS) => n += 1,
                    Err(_) => break,
                }
            }
            n
        })
        .unwrap_or(next);
        if next == znodes as i64 {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("wrote only {next} of {znodes} znodes through zk-0 in 10 sessions");
}

/// Every acknowledged write (`/w/N` for N in `acknowledged`) and the `znodes` of /data on every
/// member of `e`, each asked on its own.
pub fn check_everywhere(e: &Ensemble, acknowledged: &[u32], znodes: u32) -> Result<(), String> {
    for ordinal in 0..e.size() {
        let lost = super::dynamic::lacking(&e.client(), ordinal, acknowledged);
        if !lost.is_empty() {
            return Err(format!(
                "zk-{ordinal} lacks {} acknowledged writes: {:?}",
                lost.len(),
                &lost[..lost.len().min(10)]
            ));
        }
        let data = e.client().children(&super::dynamic::only(ordinal), "/data")?;
        if data.len() != znodes as usize {
            return Err(format!("zk-{ordinal} holds {} znodes of /data, not {znodes}", data.len()));
        }
    }
    Ok(())
}
