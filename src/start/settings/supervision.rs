//! What runs once the files are in place, as whom, and how its exit status is passed on.

use std::ffi::OsString;

use crate::exit;
use crate::parse::Raw;
use crate::pid1::user::UserSpec;
use crate::start::args::StartArgs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Supervision {
    pub(crate) user: UserSpec,
    /// False when `--user` was left at its default (which may fall back to 1000:1000).
    pub(crate) user_explicit: bool,
    /// How the user named `--user` (flag or variable), for the messages that decide on it later.
    pub(crate) user_name: String,
    /// `--exit_code_map`: (child's status, zk-entry's exit code).
    pub(crate) exit_code_map: Vec<(u8, u8)>,
    /// `--keep_privileges`: no no_new_privs and a full bounding set for the child.
    pub(crate) keep_privileges: bool,
    /// `-- COMMAND [ARGS...]`; empty for the JVM command line.
    pub(crate) command: Vec<OsString>,
}

impl Supervision {
    pub(super) fn from_input(a: &StartArgs) -> anyhow::Result<Supervision> {
        let user =
            UserSpec::parse(&a.user.text).map_err(|problem| a.user.reject(problem, UserSpec::EXPECTED))?;
        let mut exit_code_map: Vec<(u8, u8)> = Vec::with_capacity(a.exit_code_map.len());
        for raw in &a.exit_code_map {
            let (from, to) = exit_code_pair(raw)?;
            if exit_code_map.iter().any(|(f, _)| *f == from) {
                return exit::usage(format!(
                    "{}: status {from} is mapped twice; give each status once",
                    raw.name
                ));
            }
            exit_code_map.push((from, to));
        }
        if a.command.first().is_some_and(|program| program.is_empty()) {
            return exit::usage(
                "the command after -- is empty; give a program, e.g. -- zkServer.sh start-foreground",
            );
        }
        Ok(Supervision {
            user,
            user_explicit: a.user.is_given(),
            user_name: a.user.name.clone(),
            exit_code_map,
            keep_privileges: a.keep_privileges.as_ref().map(|raw| raw.switch()).transpose()?.unwrap_or(false),
            command: a.command.clone(),
        })
    }
}

/// `FROM:TO`, two exit statuses from 0 to 255.
fn exit_code_pair(raw: &Raw) -> anyhow::Result<(u8, u8)> {
    let expected = "FROM:TO with two exit statuses from 0 to 255, e.g. 143:0";
    let status = |t: &str| t.parse::<u8>().ok().filter(|_| t.bytes().all(|b| b.is_ascii_digit()));
    match raw.text.split_once(':') {
        Some((from, to)) => match (status(from), status(to)) {
            (Some(from), Some(to)) => Ok((from, to)),
            _ => Err(raw.reject("is not two exit statuses from 0 to 255", expected)),
        },
        None => Err(raw.reject("has no ':'", expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::start::settings::tests::{rejects, settings};

    #[test]
    fn user_and_exit_code_map() {
        let s = settings(&[]).unwrap().supervision;
        assert_eq!((s.user, s.user_explicit), (UserSpec::Name("zookeeper".into()), false));
        let s = settings(&["--user=1000:1000", "--exit_code_map=143:0", "--exit_code_map", "1:3,2:4"])
            .unwrap()
            .supervision;
        assert_eq!((s.user, s.user_explicit), (UserSpec::UidGid(1000, 1000), true));
        assert_eq!(s.exit_code_map, vec![(143, 0), (1, 3), (2, 4)]);
        rejects(&["--user=a b"], &["--user", "'a b'", "uid:gid"]);
        rejects(&["--exit_code_map=143"], &["--exit_code_map", "'143'", "FROM:TO"]);
        rejects(&["--exit_code_map=256:0"], &["0 to 255"]);
        rejects(&["--exit_code_map=1:0", "--exit_code_map=1:2"], &["status 1 is mapped twice"]);
    }

    #[test]
    fn empty_command_refused() {
        rejects(&["--", ""], &["the command after -- is empty"]);
    }
}
