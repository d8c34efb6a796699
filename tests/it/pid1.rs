//! zk-entry as a pod's PID 1 (`unshare --pid --fork --mount-proc`, as a container runtime starts
//! it) and as a child subreaper, with the test suite's own child program (examples/pid1_child.rs)
//! run through `-- COMMAND`: signal forwarding and the child's signal state, exit statuses,
//! reaping of orphans, a signal during preparation, users and ownership.
//!
//! Needs root (namespaces, chown, setuid), as CI runs it.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const LIMIT: Duration = Duration::from_secs(20);

/// Directories for one start: data, data log, log and conf dirs, and a scratch dir the child
/// writes to (world-writable, so that a child running as another user can); and the helper
/// program, copied where that user can run it (the checkout may be out of its reach).
struct Dirs {
    root: tempfile::TempDir,
    helper: Reachable,
}

impl Dirs {
    fn new() -> Dirs {
        let root = tempfile::tempdir().unwrap();
        let scratch = root.path().join("scratch");
        fs::create_dir(&scratch).unwrap();
        fs::set_permissions(&scratch, fs::Permissions::from_mode(0o777)).unwrap();
        // tempdir is 0700: let other users reach what is inside.
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        Dirs { root, helper: reachable_copy(&helper()) }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn scratch(&self, name: &str) -> String {
        self.path("scratch").join(name).display().to_string()
    }

    /// `start` flags that keep every file in this temporary tree.
    fn start_args(&self, extra: &[&str], command: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec!["start".into()];
        for (flag, dir) in
            [("data_dir", "data"), ("data_log_dir", "data/log"), ("log_dir", "log"), ("conf_dir", "conf")]
        {
            args.push(format!("--{flag}={}", self.path(dir).display()));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("--".into());
        args.push(self.helper.text());
        args.extend(command.iter().map(|s| s.to_string()));
        args
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// zk-entry as PID 1, supervising the helper in `command`; stdout and stderr captured.
fn pid1(dirs: &Dirs, extra: &[&str], command: &[&str]) -> Reaped {
    let args = dirs.start_args(extra, command);
    let child = as_pid1(&strs(&args))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Reaped(child)
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut text);
    }
    text
}

/// Run to completion as PID 1 and give the exit code and stderr.
fn pid1_result(dirs: &Dirs, extra: &[&str], command: &[&str]) -> (Option<i32>, String) {
    let args = dirs.start_args(extra, command);
    let out = as_pid1(&strs(&args)).stdin(Stdio::null()).output().unwrap();
    (out.status.code(), stderr(&out))
}

fn wait_file(path: &Path) {
    assert!(wait_for(LIMIT, || path.exists().then_some(())).is_some(), "{} never appeared", path.display());
}

#[test]
fn forwarded_signals_reach_the_child_with_a_clean_signal_state() {
    let dirs = Dirs::new();
    let out = dirs.path("scratch");
    let out_text = out.display().to_string();
    let mut zk = pid1(&dirs, &["--user=root"], &["signals", &out_text]);
    let zk_entry = only_child(zk.0.id(), LIMIT);
    wait_file(&out.join("ready"));

    let status = fs::read_to_string(out.join("status")).unwrap();
    assert!(status.contains("SigBlk:\t0000000000000000"), "{status}");
    // Nothing ignored at all: not TERM, INT, HUP or PIPE (which Rust itself ignores), nor any other.
    assert!(status.contains("SigIgn:\t0000000000000000"), "{status}");

    let rt_min = libc::SIGRTMIN();
    let forwarded = [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGWINCH,
        libc::SIGCONT,
        libc::SIGURG,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGXCPU,
        libc::SIGPWR,
        // Regression: 32 and 33 (left out of glibc's sigfillset) and 34 (musl's) were neither
        // blocked nor forwarded; not as PID 1, `kill -34` killed zk-entry and the JVM with it.
        32,
        33,
        34,
        rt_min,
        rt_min + 5,
        libc::SIGRTMAX(),
    ];
    let received = out.join("received");
    for sig in forwarded {
        signal(zk_entry, sig);
        let seen = wait_for(LIMIT, || {
            fs::read_to_string(&received)
                .unwrap_or_default()
                .lines()
                .any(|l| l == sig.to_string())
                .then_some(())
        });
        assert!(seen.is_some(), "signal {sig} did not reach the child: {}", stderr_of(&mut zk.0));
    }
    signal(zk_entry, libc::SIGTERM);
    let status = wait_exit(&mut zk.0, LIMIT);
    assert_eq!(status.code(), Some(0), "the helper exits 0 after SIGTERM: {}", stderr_of(&mut zk.0));
    let log = stderr_of(&mut zk.0);
    assert!(log.contains("forwarded SIGTERM to"), "{log}");
    assert!(log.contains(&format!("forwarded {} to", signal_name(rt_min + 5))), "{log}");
    assert!(log.contains("forwarded signal 32 to"), "{log}");
}

#[test]
fn exit_statuses_pass_through() {
    let dirs = Dirs::new();
    for code in [0, 1, 2, 127, 255] {
        let (got, err) = pid1_result(&dirs, &["--user=root"], &["exit", &code.to_string()]);
        assert_eq!(got, Some(code), "exit {code}: {err}");
    }
    for sig in [libc::SIGTERM, libc::SIGKILL, libc::SIGUSR1] {
        let (got, err) = pid1_result(&dirs, &["--user=root"], &["raise", &sig.to_string()]);
        assert_eq!(got, Some(128 + sig), "raise {sig}: {err}");
        assert!(err.contains("was killed by SIG"), "{err}");
    }
}

/// Regression: with stderr on a device that refuses every write, zk-entry's own log lines (the
/// start-up lines, "started ...", "... exited with status 3") failed and tracing reported each
/// failure with eprintln!, which panicked: PID 1 exited 101 instead of the child's status.
#[test]
fn a_stderr_that_refuses_writes_does_not_change_the_exit_status() {
    let dirs = Dirs::new();
    for (command, expected) in [(vec!["exit", "3"], 3), (vec!["exit", "0"], 0)] {
        let args = dirs.start_args(&["--user=root"], &command);
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let status = as_pid1(&strs(&args)).stdin(Stdio::null()).stderr(full).status().unwrap();
        assert_eq!(status.code(), Some(expected), "{command:?} with stderr on /dev/full");
    }
}

#[test]
fn exit_code_map_remaps_only_the_listed_statuses() {
    let dirs = Dirs::new();
    let map = ["--user=root", "--exit_code_map=143:0", "--exit_code_map=3:7"];
    let (got, err) = pid1_result(&dirs, &map, &["raise", &libc::SIGTERM.to_string()]);
    assert_eq!(got, Some(0), "{err}");
    assert!(err.contains("--exit_code_map 143:0"), "{err}");
    assert_eq!(pid1_result(&dirs, &map, &["exit", "3"]).0, Some(7));
    assert_eq!(pid1_result(&dirs, &map, &["exit", "1"]).0, Some(1));
}

#[test]
fn sigkill_of_the_child_ends_zk_entry_within_100_ms() {
    let dirs = Dirs::new();
    let mut zk = pid1(&dirs, &["--user=root"], &["sleep"]);
    let zk_entry = only_child(zk.0.id(), LIMIT);
    let child = only_child(zk_entry, LIMIT);
    let killed = Instant::now();
    signal(child, libc::SIGKILL);
    let status = wait_exit(&mut zk.0, LIMIT);
    let took = killed.elapsed();
    assert_eq!(status.code(), Some(137));
    assert!(took < Duration::from_millis(100), "zk-entry took {took:?} to follow its child");
}

/// Start the `orphans` helper under zk-entry (pid `reaper`), check the 100 grandchildren were
/// handed to zk-entry, release them at once, and check nothing is left.
fn orphans_are_reaped(reaper: u32) {
    // The helper itself, told apart from its orphans by its command line (they may already be
    // there by the time this looks).
    let is_helper = |pid: &u32| {
        fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.windows(7).any(|w| w == b"orphans"))
    };
    let child = wait_for(LIMIT, || children_of(reaper).into_iter().find(is_helper))
        .expect("the helper never started");
    let adopted = wait_for(LIMIT, || (children_of(reaper).len() == 101).then_some(()));
    assert!(
        adopted.is_some(),
        "the orphans were not handed to zk-entry: {} children",
        children_of(reaper).len()
    );
    signal(reaper, libc::SIGUSR1); // forwarded: the helper closes the pipe, all 100 exit now
    let clean = wait_for(LIMIT, || {
        (children_of(reaper) == vec![child] && zombie_children(reaper) == 0).then_some(())
    });
    assert!(
        clean.is_some(),
        "left behind: {} children, {} zombies",
        children_of(reaper).len(),
        zombie_children(reaper)
    );
}

#[test]
fn a_hundred_orphans_exiting_at_once_leave_no_zombie() {
    let dirs = Dirs::new();
    let mut zk = pid1(&dirs, &["--user=root"], &["orphans", "100"]);
    let zk_entry = only_child(zk.0.id(), LIMIT);
    orphans_are_reaped(zk_entry);
    signal(zk_entry, libc::SIGTERM);
    assert_eq!(wait_exit(&mut zk.0, LIMIT).code(), Some(143));
}

#[test]
fn negative_control_the_zombie_check_sees_unreaped_children() {
    // The same check on a parent that never reaps: it must see the zombies, or the test above
    // could pass without anything having been reaped.
    let mut parent = Reaped(Command::new(helper()).args(["zombies", "100"]).spawn().unwrap());
    let seen = wait_for(LIMIT, || (zombie_children(parent.0.id()) == 100).then_some(()));
    assert!(seen.is_some(), "saw {} zombies", zombie_children(parent.0.id()));
    let _ = parent.0.kill();
}

#[test]
fn not_pid1_it_is_a_subreaper_that_reaps_and_forwards() {
    let dirs = Dirs::new();
    let args = dirs.start_args(&["--user=root"], &["orphans", "100"]);
    let mut cmd = zk_entry();
    cmd.args(&args).stdin(Stdio::null()).stderr(Stdio::piped());
    let mut zk = Reaped(cmd.spawn().unwrap());
    orphans_are_reaped(zk.0.id());
    signal(zk.0.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut zk.0, LIMIT).code(), Some(143));
    let log = stderr_of(&mut zk.0);
    assert!(log.contains("child subreaper"), "{log}");
}

#[test]
fn sigterm_during_a_slow_chown_stops_with_143_and_starts_nothing() {
    let dirs = Dirs::new();
    // Not in version-2 and not named as ZooKeeper's: the start reads the names there (a 3.4
    // volume's adoption, src/start/adopt.rs) and would refuse 100,000 logs without a snapshot.
    let snapshots = dirs.path("data/bulk");
    fs::create_dir_all(&snapshots).unwrap();
    const FILES: usize = 100_000;
    for i in 0..FILES {
        fs::File::create(snapshots.join(format!("f.{i:x}"))).unwrap();
    }
    let marker = dirs.scratch("started");
    let args = dirs.start_args(&["--user=zookeeper"], &["marker", &marker]);
    let mut zk = Reaped(as_pid1(&strs(&args)).stdin(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap());
    let zk_entry = only_child(zk.0.id(), LIMIT);
    let mut lines = BufReader::new(zk.0.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("owned by") {
            break;
        }
    }
    let sent = Instant::now();
    signal(zk_entry, libc::SIGTERM);
    let status = wait_exit(&mut zk.0, LIMIT);
    let took = sent.elapsed();
    seen.extend(lines.map_while(Result::ok));
    let log = seen.join("\n");
    assert_eq!(status.code(), Some(143), "{log}");
    assert!(log.contains("received SIGTERM while preparing; stopped before starting ZooKeeper"), "{log}");
    assert!(took < Duration::from_millis(500), "took {took:?} to stop");
    assert!(!Path::new(&marker).exists(), "the child was started");
    // It stopped part-way: some files still have their old owner.
    let root_owned = fs::read_dir(&snapshots)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().metadata().unwrap().uid() == 0)
        .count();
    assert!(root_owned > 0, "the walk finished before the signal; the test proves nothing");
}

/// The ids file of the helper: (uid line, gid line, groups line, HOME).
fn ids_of(dirs: &Dirs, user: &str) -> (String, String) {
    let file = dirs.scratch(&format!("ids-{}", user.replace(':', "-")));
    let (code, err) = pid1_result(dirs, &[&format!("--user={user}")], &["ids", &file]);
    assert_eq!(code, Some(0), "--user {user}: {err}");
    (fs::read_to_string(&file).unwrap(), err)
}

/// What the helper should report for uid, gid and groups, from the databases.
fn expected_ids(uid: u32, gid: u32, groups: &[u32], home: &str) -> String {
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    format!(
        "Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\nGroups:\t{} \nHOME:\t{home}\n",
        groups.join(" ")
    )
}

fn database_groups(name: &str, gid: u32) -> Vec<u32> {
    let c = std::ffi::CString::new(name).unwrap();
    let mut groups: Vec<u32> = nix::unistd::getgrouplist(&c, nix::unistd::Gid::from_raw(gid))
        .unwrap()
        .into_iter()
        .map(|g| g.as_raw())
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

#[test]
fn the_child_runs_as_the_user_asked_for() {
    let dirs = Dirs::new();
    let zk = nix::unistd::User::from_name("zookeeper").unwrap().expect("Debian's zookeeper user");
    let (ids, _) = ids_of(&dirs, "zookeeper");
    let groups = database_groups("zookeeper", zk.gid.as_raw());
    assert_eq!(ids, expected_ids(zk.uid.as_raw(), zk.gid.as_raw(), &groups, &zk.dir.display().to_string()));

    // 1000 may or may not be in this machine's /etc/passwd: expect what the database says.
    let expect_1000 = |gid: u32| match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(1000)).unwrap()
    {
        Some(u) => expected_ids(1000, gid, &database_groups(&u.name, gid), &u.dir.display().to_string()),
        None => expected_ids(1000, gid, &[gid], "/"),
    };
    let primary_1000 = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(1000))
        .unwrap()
        .map_or(1000, |u| u.gid.as_raw());
    assert_eq!(ids_of(&dirs, "1000").0, expect_1000(primary_1000));
    assert_eq!(ids_of(&dirs, "1000:1000").0, expect_1000(1000));
    // A uid with no entry: its own number as gid, never root's group.
    assert_eq!(ids_of(&dirs, "54321").0, expected_ids(54321, 54321, &[54321], "/"));
}

#[test]
fn an_unknown_user_is_refused_and_nothing_starts() {
    let dirs = Dirs::new();
    let marker = dirs.scratch("started");
    let (code, err) = pid1_result(&dirs, &["--user=no-such-zk-user"], &["marker", &marker]);
    assert_one_line(
        "--user=no-such-zk-user",
        code,
        &err,
        2,
        &["--user no-such-zk-user: no such user in /etc/passwd"],
    );
    assert_nothing_started_or_written(&dirs, &marker);
}

/// A refused start: the child never ran and no configuration was written.
fn assert_nothing_started_or_written(dirs: &Dirs, marker: &str) {
    assert!(!Path::new(marker).exists(), "the child was started");
    assert!(!dirs.path("conf/zoo.cfg").exists(), "files were written before the check");
}

#[test]
fn ownership_is_fixed_below_the_data_dir_without_following_symlinks() {
    let dirs = Dirs::new();
    let data = dirs.path("data");
    fs::create_dir_all(data.join("version-2/deeper")).unwrap();
    fs::write(data.join("version-2/snapshot.100"), "snap").unwrap();
    fs::write(data.join("version-2/deeper/log.1"), "log").unwrap();
    // Root's files outside the data dir, and links to them planted inside.
    let outside = dirs.path("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("secret"), "root's").unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), data.join("version-2/link-to-file")).unwrap();
    std::os::unix::fs::symlink(&outside, data.join("link-to-dir")).unwrap();

    let (code, err) = pid1_result(&dirs, &["--user=zookeeper"], &["exit", "0"]);
    assert_eq!(code, Some(0), "{err}");
    let zk = nix::unistd::User::from_name("zookeeper").unwrap().unwrap();
    let owner = (zk.uid.as_raw(), zk.gid.as_raw());
    let mut inside = 0;
    for entry in walk_no_follow(&data) {
        let meta = fs::symlink_metadata(&entry).unwrap();
        assert_eq!((meta.uid(), meta.gid()), owner, "{} keeps its owner", entry.display());
        inside += 1;
    }
    assert!(inside >= 8, "walked {inside} entries"); // data, log, myid, version-2, 2 files, deeper, 2 links
    for path in [outside.join("secret"), outside.clone()] {
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "{} was given away through a link", path.display());
    }
    assert!(err.contains("entries changed to"), "{err}");

    // A second start finds nothing to change.
    let (code, err) = pid1_result(&dirs, &["--user=zookeeper"], &["exit", "0"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("ownership: 0 of "), "{err}");
}

fn walk_no_follow(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            out.extend(walk_no_follow(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn as_a_non_root_user_an_unwritable_data_dir_is_an_error_naming_the_fix() {
    let dirs = Dirs::new();
    fs::create_dir_all(dirs.path("data")).unwrap(); // root's, 0755
    fs::set_permissions(dirs.path("data"), fs::Permissions::from_mode(0o755)).unwrap();
    for dir in ["conf", "log"] {
        fs::create_dir_all(dirs.path(dir)).unwrap();
        nix::unistd::chown(&dirs.path(dir), Some(nix::unistd::Uid::from_raw(1000)), None).unwrap();
    }
    let marker = dirs.scratch("started");
    let args = dirs.start_args(&[], &["marker", &marker]);
    // uid 1000 runs zk-entry itself: a copy it can reach, wherever the checkout is.
    let bin = reachable_copy(Path::new(BIN));
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=1000", "--regid=1000", "--clear-groups", "--"]).arg(bin.path()).args(&args);
    scrub(&mut cmd);
    let out = cmd.output().unwrap();
    let data = dirs.path("data").display().to_string();
    let needles = [&data as &str, "not writable by uid 1000", "owned by 0:0", "mode 0755", "fsGroup"];
    assert_refused("uid 1000, a data dir of root's", &out, 1, &needles);
    assert_nothing_started_or_written(&dirs, &marker);
}

#[test]
fn a_command_that_cannot_run_exits_127_or_126_before_anything_is_written() {
    let dirs = Dirs::new();
    let not_executable = dirs.scratch("not-executable");
    fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&not_executable, fs::Permissions::from_mode(0o644)).unwrap();
    // Regression: a missing command was found only after the files were written and chowned.
    for (program, code, needle) in [
        ("/nonexistent/zkServer.sh", 127, "No such file"),
        ("no-such-program-zk", 127, "not found in PATH"),
        (not_executable.as_str(), 126, "not an executable file"),
    ] {
        let mut args = dirs.start_args(&["--user=root"], &[]);
        args.truncate(args.len() - 1); // the helper
        args.push(program.to_string());
        let out = zk_entry().args(&args).stdin(Stdio::null()).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{err}");
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(&format!("zk-entry: cannot run {program}: ")) && last.contains(needle),
            "{err}"
        );
        assert!(!dirs.path("conf/zoo.cfg").exists(), "files were written before the check");
    }
}

/// The name bash's `kill -l` gives signal `sig`, with the SIG prefix zk-entry's log lines use.
fn signal_name(sig: i32) -> String {
    let out = Command::new("bash").args(["-c", &format!("kill -l {sig}")]).output().unwrap();
    format!("SIG{}", String::from_utf8_lossy(&out.stdout).trim())
}

/// Regression: zk-entry wrote its log lines with blocking writes. With stderr a pipe nobody
/// reads (a stuck log collector), the first line blocked PID 1 for good: the child was never
/// started, and later a SIGTERM would never have been forwarded. Lines that do not fit are now
/// dropped.
#[test]
fn a_full_stderr_pipe_never_blocks_pid1() {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let dirs = Dirs::new();
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    fcntl(&write_end, FcntlArg::F_SETPIPE_SZ(4096)).unwrap();
    // Fill it without blocking the test, then hand over a blocking descriptor again (the flag
    // lives on the shared open file description, which zk-entry gets).
    fcntl(&write_end, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    let mut filled = 0;
    while let Ok(n) = nix::unistd::write(&write_end, &[b'.'; 512]) {
        filled += n;
    }
    fcntl(&write_end, FcntlArg::F_SETFL(OFlag::empty())).unwrap();
    assert!(filled >= 4096, "the pipe took {filled} bytes");

    let out = dirs.path("scratch");
    let args = dirs.start_args(&["--user=root"], &["signals", &out.display().to_string()]);
    let mut zk =
        Reaped(as_pid1(&strs(&args)).stdin(Stdio::null()).stderr(Stdio::from(write_end)).spawn().unwrap());
    let zk_entry = only_child(zk.0.id(), LIMIT);
    wait_file(&out.join("ready"));
    signal(zk_entry, libc::SIGTERM);
    let status = wait_exit(&mut zk.0, LIMIT);
    assert_eq!(status.code(), Some(0), "the child got SIGTERM and exited 0");
    let received = fs::read_to_string(out.join("received")).unwrap();
    assert!(received.lines().any(|l| l == libc::SIGTERM.to_string()), "{received}");
    drop(read_end);
}

/// Run a start as PID 1 with these arguments; stderr is collected on a thread so that a start
/// that hangs (a FIFO) ends the test after LIMIT instead of blocking it.
fn bounded_start(args: &[String]) -> (Option<i32>, String) {
    let mut zk = Reaped(
        as_pid1(&strs(args))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = zk.0.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut text);
        text
    });
    let status = wait_exit(&mut zk.0, LIMIT);
    (status.code(), reader.join().unwrap())
}

/// `start` flags for a data directory at `data` and the rest in `dirs`, running `marker`.
fn start_with_data_dir(dirs: &Dirs, data: &Path, marker: &str) -> Vec<String> {
    let mut args: Vec<String> = vec!["start".into(), "--user=zookeeper".into()];
    args.push(format!("--data_dir={}", data.display()));
    args.push(format!("--data_log_dir={}", data.join("log").display()));
    args.push(format!("--log_dir={}", dirs.path("log").display()));
    args.push(format!("--conf_dir={}", dirs.path("conf").display()));
    args.extend(["--".into(), dirs.helper.text(), "marker".into(), marker.to_string()]);
    args
}

fn owner(path: &Path) -> (u32, u32) {
    let meta = fs::symlink_metadata(path).unwrap();
    (meta.uid(), meta.gid())
}

/// Regression: after a first start the data directory belongs to ZooKeeper's user, which could
/// plant `myid -> /etc/shadow`: the next start, as root, read it and quoted all of it in the
/// error line. A FIFO as myid blocked the start for good, deaf to SIGTERM.
#[test]
fn a_planted_myid_is_never_read_through_quoted_or_waited_on() {
    let dirs = Dirs::new();
    let data = dirs.path("data");
    fs::create_dir_all(&data).unwrap();
    let secret = dirs.path("shadow");
    fs::write(&secret, "root:$6$never-in-a-log:19000:0:99999:7:::\n").unwrap();
    std::os::unix::fs::symlink(&secret, data.join("myid")).unwrap();
    let marker = dirs.scratch("started");
    let (code, err) = bounded_start(&start_with_data_dir(&dirs, &data, &marker));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("myid: it is a symbolic link"), "{err}");
    assert!(!err.contains("never-in-a-log"), "the secret reached the log: {err}");
    assert_eq!(owner(&secret), (0, 0));
    assert_nothing_started_or_written(&dirs, &marker);

    fs::remove_file(data.join("myid")).unwrap();
    nix::unistd::mkfifo(&data.join("myid"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (code, err) = bounded_start(&start_with_data_dir(&dirs, &data, &marker));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("myid: it is a FIFO, not a regular file"), "{err}");
    assert_nothing_started_or_written(&dirs, &marker);
}

/// Regression: where ZooKeeper's user can write the parent of the data directory (a 0777 PV
/// root, fsGroup), it could replace the directory with a link; the next start, as root, chowned
/// the link's target and everything in it and wrote myid there.
#[test]
fn a_data_dir_replaced_by_a_link_the_user_could_plant_is_refused() {
    let dirs = Dirs::new();
    let pv = dirs.path("pv");
    fs::create_dir(&pv).unwrap();
    fs::set_permissions(&pv, fs::Permissions::from_mode(0o777)).unwrap();
    let target = dirs.path("elsewhere");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("root-file"), "root's").unwrap();
    std::os::unix::fs::symlink(&target, pv.join("data")).unwrap();
    let marker = dirs.scratch("started");
    let (code, err) = bounded_start(&start_with_data_dir(&dirs, &pv.join("data"), &marker));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is a symbolic link"), "{err}");
    assert!(err.contains("which the user ZooKeeper runs as can write"), "{err}");
    assert_eq!(owner(&target), (0, 0));
    assert_eq!(owner(&target.join("root-file")), (0, 0));
    assert!(!target.join("myid").exists(), "myid written through the link");
    assert_nothing_started_or_written(&dirs, &marker);

    // The same link in a directory only root can write is the operator's: it is followed.
    fs::set_permissions(&pv, fs::Permissions::from_mode(0o755)).unwrap();
    let (code, err) = bounded_start(&start_with_data_dir(&dirs, &pv.join("data"), &marker));
    assert_eq!(code, Some(0), "{err}");
    assert!(target.join("myid").exists(), "{err}");
}

/// Regression: the walk chowned a hard link to a file outside the volume (changing that file)
/// and device nodes; both now keep their owner, with a warning.
#[test]
fn the_walk_leaves_hard_links_and_device_nodes_alone() {
    let dirs = Dirs::new();
    let data = dirs.path("data");
    fs::create_dir_all(&data).unwrap();
    let outside = dirs.path("outside-file");
    fs::write(&outside, "root's").unwrap();
    fs::hard_link(&outside, data.join("hard-link")).unwrap();
    let null = data.join("null");
    nix::sys::stat::mknod(
        &null,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    let marker = dirs.scratch("started");
    let (code, err) = bounded_start(&start_with_data_dir(&dirs, &data, &marker));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(owner(&outside), (0, 0), "a file outside was given away through a hard link");
    assert_eq!(owner(&null), (0, 0));
    assert!(err.contains("1 files with more than one hard link keep their owner"), "{err}");
    assert!(err.contains("1 device nodes"), "{err}");
    let zk = nix::unistd::User::from_name("zookeeper").unwrap().unwrap();
    assert_eq!(owner(&data.join("myid")), (zk.uid.as_raw(), zk.gid.as_raw()));
}

/// The child's `NoNewPrivs` and `CapBnd` values, as the helper saw them.
fn child_privileges(dirs: &Dirs, extra: &[&str]) -> (String, String) {
    let file = dirs.scratch("privileges");
    let _ = fs::remove_file(&file);
    let (code, err) = pid1_result(dirs, extra, &["privileges", &file]);
    assert_eq!(code, Some(0), "{err}");
    let text = fs::read_to_string(&file).unwrap();
    let field = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string()).unwrap_or_default()
    };
    (field("NoNewPrivs:"), field("CapBnd:"))
}

/// Regression: after the switch the child had NoNewPrivs 0 and a full bounding set, so a setuid
/// program in the image was a way back to root. `--keep_privileges` restores that for images
/// that need setuid helpers.
#[test]
fn the_child_cannot_gain_privileges_back_unless_asked() {
    let dirs = Dirs::new();
    let (nnp, bounding) = child_privileges(&dirs, &["--user=zookeeper"]);
    assert_eq!((nnp.as_str(), bounding.as_str()), ("1", "0000000000000000"));
    let (nnp, bounding) = child_privileges(&dirs, &["--user=zookeeper", "--keep_privileges"]);
    assert_eq!(nnp, "0");
    assert_ne!(bounding, "0000000000000000");
    // As root by request: no_new_privs, but root keeps its capabilities.
    let (nnp, bounding) = child_privileges(&dirs, &["--user=root"]);
    assert_eq!(nnp, "1");
    assert_ne!(bounding, "0000000000000000");
}

/// Regression: `--user=0:5` ran ZooKeeper with gid 0, silently.
#[test]
fn uid_0_with_another_gid_is_refused() {
    let dirs = Dirs::new();
    let marker = dirs.scratch("started");
    let (code, err) = pid1_result(&dirs, &["--user=0:5"], &["marker", &marker]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--user 0:5: with uid 0 ZooKeeper keeps zk-entry's own credentials"), "{err}");
    assert_nothing_started_or_written(&dirs, &marker);
}

/// Regression: root without CAP_CHOWN, CAP_SETUID and CAP_SETGID (a securityContext that drops
/// them) wrote every file, blamed the chown failures on "root-squashed NFS?" and failed only at
/// the switch (exit 126). The check now comes before anything is written.
#[test]
fn root_without_the_capabilities_to_switch_is_refused_before_writing() {
    let dirs = Dirs::new();
    let marker = dirs.scratch("started");
    let args = dirs.start_args(&["--user=zookeeper"], &["marker", &marker]);
    let mut cmd = Command::new("setpriv");
    cmd.args(["--bounding-set=-chown,-setuid,-setgid", "--", BIN]).args(&args).stdin(Stdio::null());
    scrub(&mut cmd);
    let out = cmd.output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("without the capabilities CHOWN, SETUID, SETGID"), "{err}");
    assert!(err.contains("securityContext.capabilities.add"), "{err}");
    assert_nothing_started_or_written(&dirs, &marker);
}
