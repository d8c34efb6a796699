//! Who the members are: how many, their ids, which of them are observers, their DNS domain, and
//! whether they listen on every address. Owns the rules that every member's id fits ZooKeeper's
//! id space and that at least one member votes.

use crate::exit;
use crate::start::args::StartArgs;
use crate::zk::config::MAX_SERVER_ID;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ensemble {
    pub(crate) servers: u64,
    /// The server id of ordinal 0.
    pub(crate) min_server_id: u64,
    /// How many of the highest ordinals are observers (`--observers`).
    pub(crate) observers: u64,
    /// `--domain`; discovered from the host when `None`.
    pub(crate) domain: Option<String>,
    pub(crate) quorum_listen_on_all_ips: bool,
    /// `--reconfig`: the membership is dynamic; `servers` only shapes the very first formation.
    pub(crate) reconfig: bool,
}

impl Ensemble {
    pub(super) fn from_input(a: &StartArgs) -> anyhow::Result<Ensemble> {
        let servers = a.servers.number(1, MAX_SERVER_ID)?;
        let min_server_id = a.min_server_id.number(1, MAX_SERVER_ID)?;
        let highest = min_server_id + servers - 1;
        if highest > MAX_SERVER_ID {
            return exit::usage(format!(
                "{} {min_server_id} with {} {servers} gives server ids up to {highest}; ZooKeeper server ids go from 1 to {MAX_SERVER_ID}",
                a.min_server_id.name, a.servers.name,
            ));
        }
        let observers = a.observers.number(0, MAX_SERVER_ID)?;
        if observers >= servers {
            return Err(a.observers.reject(
                &format!("leaves no voting member of {} {servers}", a.servers.name),
                &format!("a whole number from 0 to {}", servers - 1),
            ));
        }
        let domain = match &a.domain {
            Some(raw) => Some(raw.dns_name("a name such as zk-hs.default.svc.cluster.local")?),
            None => None,
        };
        let quorum_listen_on_all_ips =
            a.quorum_listen_on_all_ips.as_ref().map(|raw| raw.switch()).transpose()?.unwrap_or(false);
        let reconfig = a.reconfig.as_ref().map(|raw| raw.switch()).transpose()?.unwrap_or(false);
        Ok(Ensemble { servers, min_server_id, observers, domain, quorum_listen_on_all_ips, reconfig })
    }

    /// True when this pod is one server of several (server.N lines, ordinal required); a dynamic
    /// ensemble is one even while it has a single member, since it can grow.
    pub(crate) fn is_ensemble(&self) -> bool {
        self.servers > 1 || self.reconfig
    }

    /// True when the member at `ordinal` is an observer: the highest `observers` ordinals of
    /// `--servers` are.
    pub(crate) fn is_observer(&self, ordinal: u64) -> bool {
        ordinal < self.servers && ordinal >= self.servers - self.observers
    }
}

#[cfg(test)]
mod tests {
    use crate::start::settings::tests::{rejects, settings, settings_with_env};

    #[test]
    fn id_space_stays_within_255() {
        let s = settings(&["--servers=5", "--min_server_id=100"]).unwrap();
        assert_eq!(s.ensemble.min_server_id, 100);
        rejects(&["--servers=5", "--min_server_id=252"], &["--min_server_id", "256", "255"]);
        rejects(&["--min_server_id=0"], &["--min_server_id"]);
    }

    #[test]
    fn observers_are_the_highest_ordinals_and_leave_a_voter() {
        let e = settings(&["--servers=5", "--observers=2"]).unwrap().ensemble;
        let roles: Vec<bool> = (0..5).map(|o| e.is_observer(o)).collect();
        assert_eq!(roles, [false, false, false, true, true]);
        assert!(!settings(&["--servers=3"]).unwrap().ensemble.is_observer(2));
        rejects(&["--servers=3", "--observers=3"], &["--observers", "'3'", "no voting member", "0 to 2"]);
        rejects(&["--observers=1"], &["--observers", "--servers 1", "0 to 0"]);
        rejects(&["--servers=3", "--observers=x"], &["--observers", "not a whole number"]);
    }

    #[test]
    fn domain_checked_and_trailing_dot_dropped() {
        assert_eq!(
            settings(&["--domain=zk-hs.default.svc.cluster.local."]).unwrap().ensemble.domain.as_deref(),
            Some("zk-hs.default.svc.cluster.local")
        );
        rejects(&["--domain=zk_hs..local"], &["--domain"]);
    }

    #[test]
    fn listen_on_all_ips_from_flag_or_variable() {
        assert!(settings(&["--quorum_listen_on_all_ips"]).unwrap().ensemble.quorum_listen_on_all_ips);
        let s = settings_with_env(&[], &[("ZK_QUORUM_LISTEN_ON_ALL_IPS", "on")]).unwrap();
        assert!(s.ensemble.quorum_listen_on_all_ips);
        assert!(!settings(&[]).unwrap().ensemble.quorum_listen_on_all_ips);
    }
}
