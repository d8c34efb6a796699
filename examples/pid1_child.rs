//! Test helper, not part of zk-entry: the child that the PID-1 tests run through
//! `zk-entry start ... -- pid1_child MODE ...`. A real program rather than `sh -c`, because a
//! shell resets its own signal state and would hide the state zk-entry handed over.
//!
//! Modes:
//! - `signals DIR`: write its /proc/self/status signal lines to DIR/status, then record every
//!   signal it receives, one number per line, in DIR/received; exit 0 after SIGTERM;
//! - `exit N`: exit with status N;
//! - `raise SIG`: die of signal number SIG;
//! - `sleep`: sleep (at most 120 s);
//! - `ids FILE`: write its uid, gid, groups and HOME to FILE;
//! - `privileges FILE`: write its NoNewPrivs and CapBnd lines to FILE;
//! - `marker FILE`: create FILE and exit 0 (proves that a child was started);
//! - `orphans N`: leave N grandchildren orphaned (their parent exits), then on SIGUSR1 make them
//!   all exit at once; then sleep until killed;
//! - `zombies N`: start N children that exit at once and never reap them (negative control).
//!
//! Every wait is bounded so that a failed test cannot leave it running for long.
//!
//! `no_main`: Rust's own start-up code ignores SIGPIPE and installs SEGV/BUS handlers before
//! `main`, which would spoil the signal state this program is there to report.
#![no_main]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    run();
    0
}

fn run() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| panic!("pid1_child: argument {i} missing"));
    match arg(1).as_str() {
        "signals" => signals(&arg(2)),
        "exit" => std::process::exit(arg(2).parse().expect("exit status")),
        "raise" => {
            let sig: i32 = arg(2).parse().expect("signal number");
            // SAFETY: restoring the default action and raising a signal touch no Rust state.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
                libc::raise(sig);
            }
            std::process::exit(100);
        }
        "sleep" => std::thread::sleep(LIMIT),
        "ids" => std::fs::write(arg(2), ids()).expect("write ids"),
        "privileges" => {
            std::fs::write(arg(2), status_lines(&["NoNewPrivs:", "CapBnd:"])).expect("write privileges")
        }
        "marker" => std::fs::write(arg(2), "started\n").expect("write marker"),
        "orphans" => orphans(arg(2).parse().expect("count")),
        "spawn-orphans" => spawn_orphans(arg(2).parse().expect("count")),
        "wait-eof" => {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        }
        "zombies" => {
            for _ in 0..arg(2).parse::<usize>().expect("count") {
                let child = Command::new("/bin/true").spawn().expect("spawn /bin/true");
                std::mem::forget(child);
            }
            std::thread::sleep(LIMIT);
        }
        other => panic!("pid1_child: unknown mode {other}"),
    }
}

fn status_lines(prefixes: &[&str]) -> String {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status.lines().filter(|l| prefixes.iter().any(|p| l.starts_with(p))).map(|l| format!("{l}\n")).collect()
}

fn ids() -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    format!("{}HOME:\t{home}\n", status_lines(&["Uid:", "Gid:", "Groups:"]))
}

fn signals(dir: &str) {
    // Recorded before anything changes: this is the state zk-entry handed over.
    std::fs::write(format!("{dir}/status"), status_lines(&["SigBlk:", "SigIgn:", "SigCgt:"])).unwrap();
    // Every number from 1 to 64 taken synchronously with the raw system calls: the C library's
    // sigaction and sigset_t refuse 32 and 33 (glibc) or 32 to 34 (musl), which zk-entry must
    // forward too.
    let all: u64 = u64::MAX;
    // SAFETY: the kernel reads 8 bytes from `all`, which outlives the call; no old mask wanted.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            &all as *const u64,
            std::ptr::null_mut::<u64>(),
            8usize,
        )
    };
    assert_eq!(rc, 0, "rt_sigprocmask");
    std::fs::write(format!("{dir}/ready"), "").unwrap();
    let mut log =
        std::fs::OpenOptions::new().create(true).append(true).open(format!("{dir}/received")).unwrap();
    let start = Instant::now();
    let tick = libc::timespec { tv_sec: 0, tv_nsec: 100_000_000 };
    while start.elapsed() < LIMIT {
        // SAFETY: the kernel reads the set and the timeout, both alive for the call; no siginfo.
        let sig = unsafe {
            libc::syscall(
                libc::SYS_rt_sigtimedwait,
                &all as *const u64,
                std::ptr::null_mut::<libc::siginfo_t>(),
                &tick as *const libc::timespec,
                8usize,
            )
        };
        if sig <= 0 {
            continue;
        }
        writeln!(log, "{sig}").unwrap();
        if sig as i32 == libc::SIGTERM {
            std::process::exit(0);
        }
    }
}

/// Orphans: an intermediate child starts the grandchildren, all reading one pipe, and exits;
/// the kernel hands them to the nearest reaper. SIGUSR1 closes the pipe: they all see EOF and
/// exit together.
fn orphans(count: usize) {
    let mut usr1 = nix::sys::signal::SigSet::empty();
    usr1.add(nix::sys::signal::Signal::SIGUSR1);
    usr1.thread_block().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    let mut middle = Command::new(std::env::current_exe().unwrap())
        .args(["spawn-orphans", &count.to_string()])
        .stdin(Stdio::from(reader))
        .spawn()
        .unwrap();
    assert!(middle.wait().unwrap().success(), "spawn-orphans failed");
    usr1.wait().unwrap();
    drop(writer);
    std::thread::sleep(LIMIT);
}

fn spawn_orphans(count: usize) {
    for _ in 0..count {
        let child = Command::new(std::env::current_exe().unwrap()).arg("wait-eof").spawn().unwrap();
        std::mem::forget(child);
    }
}
