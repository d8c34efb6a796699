//! Who ZooKeeper runs as: `--user` parsed, looked up in the password and group databases, and
//! turned into the credentials the child takes before exec.
//!
//! Rules (docs/design.md, "Dropping privileges and ownership"): an unknown user name is an error, never a silent run as root; root
//! only when asked for by name or id; supplementary groups are decided here on purpose (the
//! user's groups from /etc/group, or only the primary group when the uid has no entry); a
//! process that is not root cannot switch users, so there `--user` must name the current one or
//! be left at its default.

use std::ffi::CString;
use std::path::PathBuf;

use anyhow::Context;
use nix::unistd::{Gid, Group, Uid, User};

use super::signals::Signals;
use crate::exit;
use crate::sys::{ChildSetup, Credentials};

/// The user the JVM runs as when `--user` is not given, as in Debian's package and the upstream
/// images.
const DEFAULT_USER: &str = "zookeeper";
/// When the image has no `zookeeper` user: the tutorial's `runAsUser`/`fsGroup`.
const FALLBACK_ID: u32 = 1000;

/// `--user` as given: a name, a uid, or uid:gid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserSpec {
    Name(String),
    Uid(u32),
    UidGid(u32, u32),
}

impl UserSpec {
    pub(crate) const EXPECTED: &'static str =
        "a user name from /etc/passwd, a uid, or uid:gid (e.g. zookeeper, 1000, 1000:1000)";

    /// Parse the text; `Err` holds what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<UserSpec, &'static str> {
        // u32::MAX is (uid_t)-1, which setuid takes as "no change".
        let id = |t: &str| {
            t.parse::<u32>().ok().filter(|n| *n != u32::MAX && t.bytes().all(|b| b.is_ascii_digit()))
        };
        if let Some((u, g)) = text.split_once(':') {
            return match (id(u), id(g)) {
                (Some(u), Some(g)) => Ok(UserSpec::UidGid(u, g)),
                _ => Err("is not uid:gid with two numbers"),
            };
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return id(text).map(UserSpec::Uid).ok_or("is not a uid below 4294967295");
        }
        // The portable user-name characters (POSIX), which also keeps a typo like "--user=" or
        // a stray space from reaching the password database.
        let portable = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-';
        if text.is_empty() || text.starts_with('-') || !text.bytes().all(portable) {
            return Err("is not a user name, uid or uid:gid");
        }
        Ok(UserSpec::Name(text.to_string()))
    }
}

/// A user to switch to, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) uid: Uid,
    pub(crate) gid: Gid,
    pub(crate) groups: Vec<Gid>,
    pub(crate) home: PathBuf,
    /// The password-database name, when the uid has an entry.
    pub(crate) name: Option<String>,
}

impl Account {
    pub(crate) fn credentials(&self) -> Credentials {
        Credentials { groups: self.groups.clone(), gid: self.gid, uid: self.uid }
    }

    /// `zookeeper (uid 107, gid 111, groups 111)` for log lines and the dry run.
    pub(crate) fn describe(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(|g| g.to_string()).collect();
        let ids = format!("uid {}, gid {}, groups {}", self.uid, self.gid, groups.join(","));
        match &self.name {
            Some(name) => format!("{name} ({ids})"),
            None => ids,
        }
    }
}

/// What `start` does about users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunAs {
    /// The child keeps zk-entry's own credentials, and zk-entry changes no ownership: it is not
    /// root, or it is root and `--user root` said so.
    Current { uid: Uid },
    /// zk-entry is root: it chowns the data directories to this user and starts the child as it.
    Switch(Account),
}

impl RunAs {
    /// `zookeeper (uid 102, gid 105, groups 105)` or `uid 1000`, for log lines and the dry run.
    pub(crate) fn describe(&self) -> String {
        match self {
            RunAs::Switch(account) => account.describe(),
            RunAs::Current { uid } => format!("uid {uid}"),
        }
    }
}

/// Decide who the child runs as, `spec` (`--user`) being asked for by a process of `euid`.
/// `explicit` is false when `--user` was left at its default; `flag` is how the user named it.
pub(crate) fn decide(spec: &UserSpec, explicit: bool, flag: &str, euid: Uid) -> anyhow::Result<RunAs> {
    let account = resolve(spec)?;
    if !euid.is_root() {
        return match account {
            _ if !explicit => Ok(RunAs::Current { uid: euid }),
            Some(a)
                if a.uid == euid
                    && (!matches!(spec, UserSpec::UidGid(..)) || a.gid == nix::unistd::getegid()) =>
            {
                Ok(RunAs::Current { uid: euid })
            }
            _ => exit::usage(format!(
                "{flag} {}: zk-entry runs as uid {euid}, not root, so it cannot switch users; drop {flag} (the pod's securityContext.runAsUser already chose the user) or start zk-entry as root",
                describe_spec(spec)
            )),
        };
    }
    match account {
        Some(a) if a.uid.is_root() && !explicit => exit::usage(format!(
            "{flag} defaults to {DEFAULT_USER}, which has uid 0 in /etc/passwd; pass {flag} root to run ZooKeeper as root deliberately"
        )),
        // Root keeps zk-entry's own credentials: a gid given with uid 0 would be ignored.
        Some(a)
            if a.uid.is_root()
                && matches!(spec, UserSpec::UidGid(_, g) if *g != nix::unistd::getegid().as_raw()) =>
        {
            exit::usage(format!(
                "{flag} {}: with uid 0 ZooKeeper keeps zk-entry's own credentials (gid {}), so the gid would be ignored; pass {flag} root, or a non-root uid with that gid",
                describe_spec(spec),
                nix::unistd::getegid()
            ))
        }
        Some(a) if a.uid.is_root() => Ok(RunAs::Current { uid: euid }),
        Some(a) => Ok(RunAs::Switch(a)),
        None if !explicit => {
            let id = FALLBACK_ID;
            tracing::warn!(
                "no user {DEFAULT_USER} in /etc/passwd; running ZooKeeper as uid {id}, gid {id} (set {flag} to choose)"
            );
            Ok(RunAs::Switch(Account {
                uid: Uid::from_raw(id),
                gid: Gid::from_raw(id),
                groups: vec![Gid::from_raw(id)],
                home: PathBuf::from("/"),
                name: None,
            }))
        }
        None => exit::usage(format!(
            "{flag} {}: no such user in /etc/passwd; expected {}",
            describe_spec(spec),
            UserSpec::EXPECTED
        )),
    }
}

/// What the child may not gain back after exec (docs/design.md, "Threat model"). Both off with
/// `--keep_privileges`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Privileges {
    pub(crate) no_new_privs: bool,
    pub(crate) drop_bounding_set: bool,
}

/// Capability numbers (linux/capability.h).
const CAP_CHOWN: u32 = 0;
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_SETPCAP: u32 = 8;

/// The umask of every process zk-entry starts: what they create themselves is their user's
/// alone. ZooKeeper writes files that hold secrets with the mode its umask gives: with
/// `--reconfig` it rewrites zoo.cfg (a `--set_file` value included) at the first epoch and after
/// every reconfiguration, and its snapshots and transaction logs hold the znodes' data and ACLs
/// (digests of passwords). Nothing another user of the pod runs needs them: the probes ask over
/// the network, and `kubectl exec` runs as root or as ZooKeeper's user (docs/design.md, "Threat
/// model").
const CHILD_UMASK: u32 = 0o077;

/// How a child that runs as ZooKeeper does starts (the JVM, the TLS watcher): the signal mask
/// zk-entry inherited, the user's credentials, and no way back to more privileges.
pub(crate) fn setup_as(run_as: &RunAs, privileges: Privileges, signals: &Signals) -> ChildSetup {
    ChildSetup {
        mask: signals.original,
        credentials: match run_as {
            RunAs::Switch(account) => Some(account.credentials()),
            RunAs::Current { .. } => None,
        },
        drop_bounding_set: privileges.drop_bounding_set,
        no_new_privs: privileges.no_new_privs,
        umask: CHILD_UMASK,
    }
}

/// How one of zk-entry's own short-lived helpers starts (the TLS check, `zk-entry join`): with
/// zk-entry's credentials, which it needs to read root-only secrets, the inherited signal mask
/// (so a signal can end it), and no privilege it could gain by exec.
pub(crate) fn setup_helper(signals: &Signals) -> ChildSetup {
    ChildSetup {
        mask: signals.original,
        credentials: None,
        drop_bounding_set: false,
        no_new_privs: true,
        umask: CHILD_UMASK,
    }
}

/// Check, before anything is written, that zk-entry holds the capabilities a switch needs, and
/// decide what the child keeps. Root without CAP_CHOWN, CAP_SETUID or CAP_SETGID (a
/// securityContext that drops them) would otherwise write every file and fail only at the switch.
pub(crate) fn privileges(run_as: &RunAs, keep: bool) -> anyhow::Result<Privileges> {
    let RunAs::Switch(account) = run_as else {
        return Ok(Privileges { no_new_privs: !keep, drop_bounding_set: false });
    };
    let effective = effective_capabilities()?;
    let missing: Vec<&str> = [(CAP_CHOWN, "CHOWN"), (CAP_SETUID, "SETUID"), (CAP_SETGID, "SETGID")]
        .into_iter()
        .filter(|(cap, _)| effective & (1 << cap) == 0)
        .map(|(_, name)| name)
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "zk-entry runs as root without the capabilities {} (effective set {effective:#x}), which it needs to give the data directories to {} and start ZooKeeper as that user; add them to the container's securityContext.capabilities.add, or run the pod as that user (securityContext.runAsUser and fsGroup) so that no switch is needed",
            missing.join(", "),
            account.describe()
        );
    }
    // Emptying the bounding set takes CAP_SETPCAP; no_new_privs alone already keeps setuid
    // programs from raising privileges.
    let setpcap = effective & (1 << CAP_SETPCAP) != 0;
    if !keep && !setpcap {
        tracing::info!("the capability bounding set stays as it is (no CAP_SETPCAP); no_new_privs is set");
    }
    Ok(Privileges { no_new_privs: !keep, drop_bounding_set: !keep && setpcap })
}

/// The effective capability set from /proc/self/status (`CapEff:`, hexadecimal).
fn effective_capabilities() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("cannot read /proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .context("cannot find the effective capabilities (CapEff) in /proc/self/status")
}

fn describe_spec(spec: &UserSpec) -> String {
    match spec {
        UserSpec::Name(n) => n.clone(),
        UserSpec::Uid(u) => u.to_string(),
        UserSpec::UidGid(u, g) => format!("{u}:{g}"),
    }
}

/// Look the user up; `None` only for a name with no password entry. A bare uid without an entry
/// gets gid = uid (not gid 0, which a container runtime would give) and HOME=/.
fn resolve(spec: &UserSpec) -> anyhow::Result<Option<Account>> {
    let entry = match spec {
        UserSpec::Name(name) => match lookup(User::from_name(name), name)? {
            Some(user) => user,
            None => return Ok(None),
        },
        UserSpec::Uid(uid) | UserSpec::UidGid(uid, _) => {
            match lookup(User::from_uid(Uid::from_raw(*uid)), &uid.to_string())? {
                Some(user) => user,
                None => {
                    let gid = match spec {
                        UserSpec::UidGid(_, gid) => *gid,
                        _ => *uid,
                    };
                    let gid = Gid::from_raw(gid);
                    return Ok(Some(Account {
                        uid: Uid::from_raw(*uid),
                        gid,
                        groups: vec![gid],
                        home: PathBuf::from("/"),
                        name: None,
                    }));
                }
            }
        }
    };
    let gid = match spec {
        UserSpec::UidGid(_, gid) => Gid::from_raw(*gid),
        _ => entry.gid,
    };
    let groups = user_groups(&entry.name, gid)?;
    Ok(Some(Account { uid: entry.uid, gid, groups, home: entry.dir, name: Some(entry.name) }))
}

fn lookup(result: nix::Result<Option<User>>, what: &str) -> anyhow::Result<Option<User>> {
    result.with_context(|| format!("cannot look up user {what} in the password database"))
}

/// The user's groups as /etc/group lists them, with `gid` first (initgroups' rule).
fn user_groups(name: &str, gid: Gid) -> anyhow::Result<Vec<Gid>> {
    let c_name = CString::new(name).context("user name holds a NUL byte")?;
    let mut groups = nix::unistd::getgrouplist(&c_name, gid)
        .with_context(|| format!("cannot read the groups of user {name} from the group database"))?;
    groups.retain(|g| *g != gid);
    groups.insert(0, gid);
    Ok(groups)
}

/// A group's name for messages, when it has one.
pub(crate) fn group_name(gid: Gid) -> Option<String> {
    Group::from_gid(gid).ok().flatten().map(|g| g.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_forms() {
        assert_eq!(UserSpec::parse("zookeeper"), Ok(UserSpec::Name("zookeeper".into())));
        assert_eq!(UserSpec::parse("1000"), Ok(UserSpec::Uid(1000)));
        assert_eq!(UserSpec::parse("1000:1001"), Ok(UserSpec::UidGid(1000, 1001)));
        for bad in
            ["", "-x", "a b", "1000:", ":1000", "1000:x", "+5", "99999999999", "4294967295", "zk:zk", "é"]
        {
            assert!(UserSpec::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn root_by_name_is_current_and_unknown_name_is_usage_error() {
        let root = Uid::from_raw(0);
        let flag = "--user";
        assert_eq!(
            decide(&UserSpec::Name("root".into()), true, flag, root).unwrap(),
            RunAs::Current { uid: root }
        );
        let err = decide(&UserSpec::Name("no-such-user-zk".into()), true, flag, root).unwrap_err();
        assert_eq!(exit::code_of(&err), exit::USAGE);
        assert!(exit::one_line(&err).contains("no-such-user-zk: no such user"), "{err:#}");
    }

    #[test]
    fn uid_without_entry_gets_its_own_gid_never_zero() {
        let a = resolve(&UserSpec::Uid(54321)).unwrap().unwrap();
        assert_eq!(
            (a.uid.as_raw(), a.gid.as_raw(), a.groups.clone()),
            (54321, 54321, vec![Gid::from_raw(54321)])
        );
        assert_eq!(a.home, PathBuf::from("/"));
        let a = resolve(&UserSpec::UidGid(54321, 7)).unwrap().unwrap();
        assert_eq!((a.gid.as_raw(), a.groups), (7, vec![Gid::from_raw(7)]));
    }

    #[test]
    fn non_root_keeps_itself_and_cannot_switch() {
        let me = Uid::from_raw(54321);
        let flag = "--user";
        let spec = UserSpec::Name(DEFAULT_USER.into());
        assert_eq!(decide(&spec, false, flag, me).unwrap(), RunAs::Current { uid: me });
        let err = decide(&UserSpec::Uid(0), true, flag, me).unwrap_err();
        assert!(exit::one_line(&err).contains("cannot switch users"), "{err:#}");
        assert_eq!(decide(&UserSpec::Uid(54321), true, flag, me).unwrap(), RunAs::Current { uid: me });
    }
}
