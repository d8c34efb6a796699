//! Dynamic membership (`--reconfig`) and the super user's secret that reconfiguration needs.
//! Owns the rules that the two come together and that `--observers` stays with the static mode
//! for now.

use std::path::PathBuf;

use super::Ensemble;
use crate::cli::StartInput;
use crate::exit;

/// The fewest voters a dynamic ensemble forms with or shrinks to (docs/design.md, "Dynamic
/// reconfiguration"): ZooKeeper 3.8 commits a new voter only with the acknowledgement of a
/// quorum of the new membership, and a joining observer never acknowledges; with one voter the
/// joiner's own would be needed.
pub(crate) const MIN_VOTERS: u64 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    /// Where the super user's password is read from; `Some` exactly in dynamic mode.
    pub(crate) super_password_file: Option<PathBuf>,
}

impl Membership {
    pub(super) fn from_input(a: &StartInput, ensemble: &Ensemble) -> anyhow::Result<Membership> {
        let file = a.super_password_file.as_ref().map(|raw| raw.absolute_path()).transpose()?;
        let reconfig = a.reconfig.as_ref().map(|r| r.name.as_str()).unwrap_or("--reconfig");
        match (ensemble.dynamic, &file, &a.super_password_file) {
            (true, None, _) => exit::usage(format!(
                "{reconfig} needs --super_password_file=PATH (a Secret volume holding the super user's password): reconfiguration is authorised with it, never by turning ACLs off"
            )),
            (false, Some(_), Some(raw)) => {
                exit::usage(format!("{} is only used with --reconfig; add --reconfig or drop it", raw.name))
            }
            (true, Some(_), _) if ensemble.servers < MIN_VOTERS => Err(a.servers.reject(
                "is too few for --reconfig: a joiner becomes a voter only through a quorum that includes other voters, so a one-member dynamic ensemble could never grow",
                &format!("{MIN_VOTERS} or more (3 is usual)"),
            )),
            (true, Some(_), _) if ensemble.observers > 0 => exit::usage(format!(
                "{} with {reconfig} is not supported yet; use observers with the static membership",
                a.observers.name
            )),
            _ => Ok(Membership { super_password_file: file }),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::start::settings::tests::{rejects, settings};

    #[test]
    fn reconfig_comes_with_a_password_file() {
        let s = settings(&["--reconfig", "--super_password_file=/etc/zk-secret/password", "--servers=3"])
            .unwrap();
        assert!(s.ensemble.dynamic && s.ensemble.is_ensemble());
        assert_eq!(s.membership.super_password_file.unwrap().to_str(), Some("/etc/zk-secret/password"));
        rejects(&["--reconfig"], &["--reconfig needs --super_password_file"]);
        rejects(&["--super_password_file=/p"], &["--super_password_file is only used with --reconfig"]);
        rejects(&["--reconfig", "--super_password_file=p"], &["--super_password_file", "absolute"]);
        rejects(
            &["--reconfig", "--super_password_file=/p"],
            &["--servers: '1' is too few for --reconfig", "2 or more"],
        );
        rejects(
            &["--reconfig", "--super_password_file=/p", "--servers=3", "--observers=1"],
            &["--observers with --reconfig"],
        );
        assert_eq!(settings(&[]).unwrap().membership.super_password_file, None);
    }
}
