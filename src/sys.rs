//! Calls into libc that have no safe wrapper in std or nix (or whose nix wrapper cannot take
//! real-time signals), and the kernel's signal numbers as zk-entry counts and names them. Every
//! `unsafe` block of the crate lives here, each with the invariant that makes it sound.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::ptr;
use std::time::Duration;

use nix::unistd::{Gid, Pid, Uid};

/// The resolver's canonical name for `host` (what `hostname -f` prints), or `None` when the
/// name does not resolve. Uses getaddrinfo with `AI_CANONNAME`, so /etc/nsswitch.conf (glibc)
/// or /etc/hosts then DNS (musl) are consulted as for any other lookup.
pub(crate) fn canonical_name(host: &str) -> Option<String> {
    let c_host = CString::new(host).ok()?;
    // SAFETY: addrinfo is a plain C struct of integers and pointers; all-zero is its documented
    // "no hints" value, on which we then set flags.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut list: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: c_host is a NUL-terminated string that outlives the call, the service is null (allowed
    // when a node is given), hints is initialised, and list is a valid out-pointer.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), ptr::null(), &hints, &mut list) };
    if rc != 0 || list.is_null() {
        return None;
    }
    // SAFETY: getaddrinfo succeeded, so list points to a valid first entry whose ai_canonname is
    // null or a NUL-terminated string owned by the list; we copy it out before freeing the list,
    // and free it exactly once.
    unsafe {
        let name = (*list).ai_canonname;
        let owned = (!name.is_null()).then(|| CStr::from_ptr(name).to_string_lossy().into_owned());
        libc::freeaddrinfo(list);
        owned
    }
}

/// The highest signal number the kernel delivers on the architectures zk-entry is built for
/// (x86_64 and aarch64: `_NSIG` is 64). Not libc's SIGRTMAX and not its sigfillset: both C
/// libraries leave out the numbers they keep for their own threads (glibc 32 and 33, musl 32 to
/// 34), and 34 is the SIGRTMIN of bash, kill, Python and the JVM.
pub(crate) const MAX_SIGNAL: i32 = 64;

/// SIGRTMIN as user programs see it (bash, kill, the JVM on glibc): the base `kill -l` counts from.
const USER_RTMIN: i32 = 34;

/// A signal's name for log lines, as `kill -l` gives it: `SIGTERM`, `SIGRTMIN+6` (40),
/// `SIGRTMAX-3` (61), or `signal 32` for the two numbers below SIGRTMIN that have no name.
pub(crate) fn signal_name(sig: i32) -> String {
    let rt_max = MAX_SIGNAL;
    // bash's kill -l names the lower half from SIGRTMIN and the upper half from SIGRTMAX.
    let middle = USER_RTMIN + (rt_max - USER_RTMIN) / 2;
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) if sig == USER_RTMIN => "SIGRTMIN".to_string(),
        Err(_) if sig == rt_max => "SIGRTMAX".to_string(),
        Err(_) if (USER_RTMIN..=middle).contains(&sig) => format!("SIGRTMIN+{}", sig - USER_RTMIN),
        Err(_) if (middle + 1..rt_max).contains(&sig) => format!("SIGRTMAX-{}", rt_max - sig),
        Err(_) => format!("signal {sig}"),
    }
}

/// A kernel signal set, one bit per signal (bit n - 1 for signal n), as the `rt_sig*` system
/// calls take it. Used instead of `sigset_t` so that no C library can leave a number out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mask(pub(crate) u64);

impl Mask {
    /// Every signal from 1 to [`MAX_SIGNAL`] but `except`.
    pub(crate) fn all_except(except: &[i32]) -> Mask {
        let mut mask = Mask(u64::MAX);
        for &sig in except {
            mask.0 &= !Mask::bit(sig);
        }
        mask
    }

    fn bit(sig: i32) -> u64 {
        if (1..=MAX_SIGNAL).contains(&sig) { 1 << (sig - 1) } else { 0 }
    }

    pub(crate) fn contains(self, sig: i32) -> bool {
        self.0 & Mask::bit(sig) != 0
    }
}

/// The size of a kernel signal set, the last argument of every `rt_sig*` call.
const MASK_BYTES: usize = std::mem::size_of::<u64>();

fn sigprocmask(how: libc::c_int, set: Option<&Mask>) -> io::Result<Mask> {
    let mut old = Mask(0);
    let set_ptr = set.map_or(ptr::null(), |m| &m.0 as *const u64);
    // SAFETY: the kernel reads MASK_BYTES from set_ptr (null: only query) and writes MASK_BYTES
    // into old, a u64 that lives for the whole call. The raw call, not pthread_sigmask: glibc's
    // wrapper silently removes 32 and 33 from the set.
    let rc =
        unsafe { libc::syscall(libc::SYS_rt_sigprocmask, how, set_ptr, &mut old.0 as *mut u64, MASK_BYTES) };
    if rc == 0 { Ok(old) } else { Err(io::Error::last_os_error()) }
}

/// Block the signals of `set` for this thread; the mask before is returned.
pub(crate) fn block_signals(set: &Mask) -> io::Result<Mask> {
    sigprocmask(libc::SIG_BLOCK, Some(set))
}

/// Make `set` this thread's signal mask.
pub(crate) fn set_signal_mask(set: &Mask) -> io::Result<()> {
    sigprocmask(libc::SIG_SETMASK, Some(set)).map(drop)
}

/// This thread's signal mask.
#[cfg(test)]
pub(crate) fn signal_mask() -> io::Result<Mask> {
    sigprocmask(libc::SIG_BLOCK, None)
}

/// Wait until one of the signals in `set` (which must be blocked) is pending, take it and return
/// its number. The raw `rt_sigtimedwait`: nix's `SigSet::wait` cannot return a real-time signal,
/// and a `sigset_t` could not hold all of them.
pub(crate) fn wait_signal(set: &Mask) -> io::Result<i32> {
    // SAFETY: the kernel reads MASK_BYTES from the caller's set, which outlives the call; null
    // siginfo and timeout pointers are allowed and mean "not wanted" and "wait forever".
    let sig = unsafe {
        libc::syscall(
            libc::SYS_rt_sigtimedwait,
            &set.0 as *const u64,
            ptr::null_mut::<libc::siginfo_t>(),
            ptr::null::<libc::timespec>(),
            MASK_BYTES,
        )
    };
    if sig < 0 { Err(io::Error::last_os_error()) } else { Ok(sig as i32) }
}

/// [`wait_signal`] for at most `limit`: `None` when no signal of `set` came within it. PID 1
/// waits so while a hand-off runs before it forwards SIGTERM (crate::pid1::handoff).
pub(crate) fn wait_signal_for(set: &Mask, limit: Duration) -> io::Result<Option<i32>> {
    let timeout = libc::timespec {
        tv_sec: limit.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: limit.subsec_nanos() as libc::c_long,
    };
    // SAFETY: the kernel reads MASK_BYTES from the caller's set and one timespec from `timeout`,
    // both of which outlive the call; a null siginfo pointer means "not wanted".
    let sig = unsafe {
        libc::syscall(
            libc::SYS_rt_sigtimedwait,
            &set.0 as *const u64,
            ptr::null_mut::<libc::siginfo_t>(),
            &timeout as *const libc::timespec,
            MASK_BYTES,
        )
    };
    if sig >= 0 {
        return Ok(Some(sig as i32));
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EAGAIN) { Ok(None) } else { Err(err) }
}

/// The first of `candidates` that is pending for this thread or process (blocked, not yet taken).
pub(crate) fn first_pending(candidates: &[i32]) -> io::Result<Option<i32>> {
    let mut pending = Mask(0);
    // SAFETY: the kernel writes MASK_BYTES into pending, a u64 that lives for the whole call.
    let rc = unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut pending.0 as *mut u64, MASK_BYTES) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(candidates.iter().copied().find(|&sig| pending.contains(sig)))
}

/// Whether a write to stderr would not block now: `poll` for POLLOUT with a zero timeout. On a
/// pipe this means room for at least one page, so a write of at most PIPE_BUF bytes goes through
/// whole and at once; a regular file or /dev/full is always ready (and may still fail the write).
pub(crate) fn stderr_has_room() -> bool {
    let mut fds = libc::pollfd { fd: libc::STDERR_FILENO, events: libc::POLLOUT, revents: 0 };
    // SAFETY: fds is one valid pollfd for the whole call; a zero timeout never blocks.
    let rc = unsafe { libc::poll(&mut fds, 1, 0) };
    rc == 1 && fds.revents & libc::POLLOUT != 0 && fds.revents & (libc::POLLERR | libc::POLLNVAL) == 0
}

/// Send signal number `sig` (real-time ones included) to process `pid`.
pub(crate) fn send_signal(pid: Pid, sig: i32) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions; pid is a child this process has not reaped
    // (the caller's invariant), so it cannot name a recycled process.
    if unsafe { libc::kill(pid.as_raw(), sig) } == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Reap one exited child of this process without blocking: `Some((pid, raw wait status))`, or
/// `None` when no child has exited. ECHILD (no children at all) is also `None`. The raw status is
/// kept because nix's `WaitStatus` cannot express a death by a real-time signal.
pub(crate) fn reap_one() -> io::Result<Option<(Pid, i32)>> {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out-pointer; -1 and WNOHANG ask for any child, no blocking.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match pid {
            0 => return Ok(None),
            p if p > 0 => return Ok(Some((Pid::from_raw(p), status))),
            _ => {
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::ECHILD) => return Ok(None),
                    _ => return Err(err),
                }
            }
        }
    }
}

/// The exit code a shell would report for a raw wait status: the exit status, or 128 + signal.
pub(crate) fn status_code(raw: i32) -> u8 {
    if libc::WIFSIGNALED(raw) {
        (128 + libc::WTERMSIG(raw)).clamp(0, 255) as u8
    } else {
        libc::WEXITSTATUS(raw) as u8
    }
}

/// The signal that killed the process, if it was killed.
pub(crate) fn killed_by(raw: i32) -> Option<i32> {
    libc::WIFSIGNALED(raw).then(|| libc::WTERMSIG(raw))
}

/// Credentials the child takes before exec: supplementary groups, then gid, then uid.
pub(crate) struct Credentials {
    pub(crate) groups: Vec<Gid>,
    pub(crate) gid: Gid,
    pub(crate) uid: Uid,
}

/// How the child of [`install_child_setup`] starts: the signal mask zk-entry inherited, and optionally
/// other credentials.
pub(crate) struct ChildSetup {
    pub(crate) mask: Mask,
    pub(crate) credentials: Option<Credentials>,
    /// Empty the capability bounding set before the switch (needs CAP_SETPCAP): after exec,
    /// nothing the child runs, a setuid-root program included, can hold a capability.
    pub(crate) drop_bounding_set: bool,
    /// Set no_new_privs: exec can no longer raise privileges (setuid bits, file capabilities).
    pub(crate) no_new_privs: bool,
    /// The file mode creation mask the child starts with (inherited across exec, so it also
    /// decides the modes of every file the program creates without choosing one).
    pub(crate) umask: u32,
}

/// Install the `pre_exec` hook that gives `cmd`'s child a clean signal state and the given
/// credentials (it spawns nothing). In the
/// child, between fork and exec, in this order:
/// 1. every signal disposition back to default: ignored ones survive exec, and a JVM that starts
///    with SIGTERM or SIGINT ignored never installs its shutdown hook (Rust itself ignores SIGPIPE,
///    and whoever started zk-entry may have ignored others);
/// 2. the umask;
/// 3. the capability bounding set emptied, if asked (before setuid, which takes CAP_SETPCAP);
///    then supplementary groups, gid, uid (groups first: after setuid there is no right left to
///    drop them); then no_new_privs, if asked;
/// 4. SIGKILL as the parent-death signal, so the JVM cannot outlive zk-entry where zk-entry is not
///    PID 1 of its own PID namespace; set after setuid, which clears it;
/// 5. the original signal mask: std passes the parent's blocked mask on to the child.
pub(crate) fn install_child_setup(cmd: &mut Command, setup: ChildSetup) {
    let parent = nix::unistd::getpid();
    let child_setup = move || -> io::Result<()> {
        for sig in 1..=MAX_SIGNAL {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                // The raw system call, not libc's sigaction: glibc refuses the numbers it keeps
                // for itself (32, 33), and an ignored one would survive exec all the same.
                // SAFETY: the kernel reads a struct sigaction of at most 32 bytes from `action`;
                // all zero is SIG_DFL with no flags and an empty mask on every architecture.
                // rt_sigaction is a plain system call, async-signal-safe; errors are ignored
                // (none is possible for these numbers).
                unsafe {
                    let action = [0u64; 4];
                    libc::syscall(
                        libc::SYS_rt_sigaction,
                        sig,
                        action.as_ptr(),
                        ptr::null_mut::<u64>(),
                        8usize,
                    );
                }
            }
        }
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(setup.umask));
        if setup.drop_bounding_set {
            // Every number a kernel may define; EINVAL marks the ones this kernel does not have.
            for cap in 0..64 {
                // SAFETY: prctl with PR_CAPBSET_DROP takes integers only; a plain system call.
                let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
                if rc != 0 {
                    let err = io::Error::last_os_error();
                    if err.raw_os_error() != Some(libc::EINVAL) {
                        return Err(err);
                    }
                }
            }
        }
        if let Some(c) = &setup.credentials {
            nix::unistd::setgroups(&c.groups)?;
            nix::unistd::setgid(c.gid)?;
            nix::unistd::setuid(c.uid)?;
        }
        if setup.no_new_privs {
            nix::sys::prctl::set_no_new_privs()?;
        }
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
        // The parent may have died before the line above; then nobody would deliver it.
        if nix::unistd::getppid() != parent {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        set_signal_mask(&setup.mask)?;
        Ok(())
    };
    // SAFETY: the closure runs in the forked child, which has only the forking thread (zk-entry
    // may have a helper thread then: a name lookup that outlived its deadline, see net.rs), and
    // calls only async-signal-safe functions (rt_sigaction, umask, prctl, setgroups, setgid, setuid,
    // getppid, rt_sigprocmask); it allocates nothing (the groups vector was built before fork
    // and is only read) and takes no locks, so no lock another thread held at fork can block it.
    // Errors are built from raw errno values, which allocate nothing.
    unsafe {
        cmd.pre_exec(child_setup);
    }
}

/// True when `path` (not followed if a link) carries a POSIX access ACL: then its mode's group
/// bits are the ACL's mask, and only the kernel can say who may use it.
pub(crate) fn has_access_acl(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: both strings are NUL-terminated and outlive the call; a null buffer of size 0 asks
    // only for the value's size, so nothing is written.
    let size =
        unsafe { libc::lgetxattr(c_path.as_ptr(), c"system.posix_acl_access".as_ptr(), ptr::null_mut(), 0) };
    size > 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_codes_follow_the_shell() {
        // Raw wait statuses as the kernel encodes them: exit code in bits 8-15, signal in 0-6.
        assert_eq!(super::status_code(3 << 8), 3);
        assert_eq!(super::status_code(0), 0);
        assert_eq!(super::status_code(libc::SIGTERM), 143);
        assert_eq!(super::status_code(libc::SIGKILL), 137);
        assert_eq!(super::killed_by(libc::SIGKILL), Some(libc::SIGKILL));
        assert_eq!(super::killed_by(255 << 8), None);
        assert_eq!(super::status_code(255 << 8), 255);
    }

    #[test]
    fn signal_names_cover_standard_and_realtime_signals() {
        // As bash's `kill -l` prints them.
        assert_eq!(super::signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(super::signal_name(34), "SIGRTMIN");
        assert_eq!(super::signal_name(40), "SIGRTMIN+6");
        assert_eq!(super::signal_name(49), "SIGRTMIN+15");
        assert_eq!(super::signal_name(50), "SIGRTMAX-14");
        assert_eq!(super::signal_name(63), "SIGRTMAX-1");
        assert_eq!(super::signal_name(64), "SIGRTMAX");
        assert_eq!(super::signal_name(32), "signal 32");
        assert_eq!(super::signal_name(0), "signal 0");
    }

    #[test]
    fn localhost_resolves_without_the_network() {
        // /etc/hosts maps localhost on every machine this runs on; no DNS query is needed.
        assert!(super::canonical_name("localhost").is_some());
        assert_eq!(super::canonical_name("bad\0name"), None);
    }
}
