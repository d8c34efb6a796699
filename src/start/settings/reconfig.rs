//! Dynamic membership (`--reconfig`) and the super user's secret that reconfiguration needs.
//! Owns the rules that the two come together, that a dynamic ensemble's first formation keeps
//! enough voters beside its `--observers`, and that `--set` does not contradict either (only
//! when they are used: a static start keeps every `--set` it accepted before).

use std::path::PathBuf;

use super::Ensemble;
use crate::exit;
use crate::shape::MIN_VOTERS;
use crate::start::args::StartArgs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reconfig {
    /// Where the super user's password is read from; `Some` exactly with `--reconfig`.
    pub(crate) super_password_file: Option<PathBuf>,
}

impl Reconfig {
    pub(super) fn from_input(a: &StartArgs, ensemble: &Ensemble) -> anyhow::Result<Reconfig> {
        let file = a.super_password_file.as_ref().map(|raw| raw.absolute_path()).transpose()?;
        let reconfig = a.reconfig.as_ref().map(|r| r.name.as_str()).unwrap_or("--reconfig");
        match (ensemble.reconfig, &file) {
            (true, None) => exit::usage(format!(
                "{reconfig} needs --super_password_file=PATH (a Secret volume holding the super user's password): reconfiguration is authorised with it, never by turning ACLs off"
            )),
            // Static mode: the super user is only for administration (see the security group).
            (false, _) => {
                refuse_contradicting_sets(a, ensemble)?;
                Ok(Reconfig { super_password_file: None })
            }
            (true, Some(_)) if ensemble.servers < MIN_VOTERS => Err(a.servers.reject(
                "is too few for --reconfig: a joiner becomes a voter only through a quorum that includes other voters, so a one-member dynamic ensemble could never grow",
                &format!("{MIN_VOTERS} or more (3 is usual)"),
            )),
            (true, Some(_)) if ensemble.servers - ensemble.observers < MIN_VOTERS => Err(a.observers.reject(
                &format!(
                    "leaves only {} voting member of --servers {}; {reconfig} keeps at least {MIN_VOTERS}",
                    ensemble.servers - ensemble.observers,
                    ensemble.servers
                ),
                &format!("0 to {}", ensemble.servers - MIN_VOTERS),
            )),
            _ => {
                refuse_contradicting_sets(a, ensemble)?;
                Ok(Reconfig { super_password_file: file })
            }
        }
    }
}

/// zoo.cfg keys that `--reconfig` and `--observers` decide; `skipACL` would turn off the very
/// ACLs that keep the membership safe.
const DYNAMIC_KEYS: &[&str] = &["reconfigenabled", "standaloneenabled", "dynamicconfigfile", "skipacl"];
const OBSERVER_KEYS: &[&str] = &["peertype"];

fn refuse_contradicting_sets(a: &StartArgs, ensemble: &Ensemble) -> anyhow::Result<()> {
    for raw in &a.set {
        let key = raw.text.split('=').next().unwrap_or("").trim().to_ascii_lowercase();
        let owner = match () {
            _ if ensemble.reconfig && DYNAMIC_KEYS.contains(&key.as_str()) => "--reconfig",
            _ if ensemble.observers > 0 && OBSERVER_KEYS.contains(&key.as_str()) => "--observers",
            _ => continue,
        };
        return Err(raw.reject(
            &format!("contradicts {owner}, which decides it"),
            &format!("no such key with {owner}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::start::settings::tests::{rejects, settings};

    #[test]
    fn reconfig_comes_with_a_password_file() {
        let s = settings(&["--reconfig", "--super_password_file=/etc/zk-secret/password", "--servers=3"])
            .unwrap();
        assert!(s.ensemble.reconfig && s.ensemble.is_ensemble());
        assert_eq!(s.reconfig.super_password_file.unwrap().to_str(), Some("/etc/zk-secret/password"));
        rejects(&["--reconfig"], &["--reconfig needs --super_password_file"]);
        // Without --reconfig the super user is for administration only: accepted, no membership.
        assert_eq!(settings(&["--super_password_file=/p"]).unwrap().reconfig.super_password_file, None);
        rejects(&["--reconfig", "--super_password_file=p"], &["--super_password_file", "absolute"]);
        rejects(
            &["--reconfig", "--super_password_file=/p"],
            &["--servers: '1' is too few for --reconfig", "2 or more"],
        );
        let observed = settings(&["--reconfig", "--super_password_file=/p", "--servers=3", "--observers=1"]);
        assert_eq!(observed.unwrap().ensemble.observers, 1);
        rejects(
            &["--reconfig", "--super_password_file=/p", "--servers=3", "--observers=2"],
            &["--observers: '2' leaves only 1 voting member of --servers 3; --reconfig keeps", "0 to 1"],
        );
        assert_eq!(settings(&[]).unwrap().reconfig.super_password_file, None);
        let dynamic = ["--reconfig", "--super_password_file=/p", "--servers=3"];
        rejects(
            &[&dynamic[..], &["--set=skipACL=yes"]].concat(),
            &["--set: 'skipACL=yes' contradicts --reconfig"],
        );
        rejects(&[&dynamic[..], &["--set=reconfigEnabled=false"]].concat(), &["contradicts --reconfig"]);
        rejects(
            &["--servers=3", "--observers=1", "--set=peerType=participant"],
            &["contradicts --observers"],
        );
        // A static start keeps what it accepted before.
        assert!(settings(&["--set=reconfigEnabled=true", "--set=peerType=observer"]).is_ok());
    }
}
