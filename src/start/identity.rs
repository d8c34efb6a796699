//! Who this pod is in the ensemble: the StatefulSet name and ordinal from the host name, the
//! server id (myid) derived from them, and the DNS domain that makes the peers' FQDNs.
//!
//! The rules are start-zookeeper's, made strict: the short host name matches `(.*)-([0-9]+)$`
//! greedily (`my-zk-12` is `my-zk`, ordinal 12), myid = ordinal + `--min_server_id`, and the
//! domain is what `hostname -d` reports. Where the script wrote a broken config (no ordinal, an
//! empty domain, an ordinal beyond `--servers`), this module refuses with a usage error instead.

use super::settings::{Ensemble, Ports};
use crate::exit;
use crate::parse::{is_dns_name, ordinal_value, split_ordinal};

/// The kubelet writes the pod's FQDN here (`<ip> <host>.<subdomain>.<ns>.svc.<zone> <host>`).
pub(crate) const HOSTS_FILE: &str = "/etc/hosts";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The StatefulSet name (`zk` for `zk-0`); empty for a standalone host without ordinal.
    pub(crate) name: String,
    /// The pod's ordinal, when the host name carries one.
    pub(crate) ordinal: Option<u64>,
    /// The server id written to `myid`.
    pub(crate) myid: u64,
    /// The pods' DNS domain; only looked up for an ensemble.
    pub(crate) domain: Option<String>,
}

/// Kubernetes' random-name alphabet (no vowels, no 0, 1, 3), in which a Deployment writes the
/// pod-template hash and the 5-character suffix of each pod's name.
const RANDOM_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Whether a short host name has a Deployment pod's shape, `<name>-<template hash>-<5 random>`:
/// its suffix can be all digits (`24567`), which a standalone server must not take for an
/// ordinal. A StatefulSet ordinal of that size would need more replicas than an ensemble can have.
fn deployment_style(short: &str) -> bool {
    let random = |part: &str| part.bytes().all(|b| RANDOM_ALPHABET.contains(&b));
    let mut parts = short.rsplitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(suffix), Some(hash), Some(name)) => {
            !name.is_empty()
                && suffix.len() == 5
                && random(suffix)
                && (6..=10).contains(&hash.len())
                && random(hash)
        }
        _ => false,
    }
}

/// Where the domain can come from, in order; separated out so tests can supply fixtures.
pub(crate) struct DomainSources<'a> {
    /// Contents of /etc/hosts, if readable.
    pub(crate) hosts: Option<&'a str>,
    /// The resolver's canonical name for the host (getaddrinfo with AI_CANONNAME).
    pub(crate) resolver: &'a dyn Fn(&str) -> Option<String>,
}

impl Identity {
    /// Derive the identity of host `hostname` (as the kernel reports it) in `ensemble`.
    pub(crate) fn derive(
        ensemble: &Ensemble,
        hostname: &str,
        sources: &DomainSources,
    ) -> anyhow::Result<Identity> {
        let (short, host_domain) = match hostname.split_once('.') {
            Some((s, d)) => (s, Some(d)),
            None => (hostname, None),
        };
        if short.is_empty() {
            return exit::usage(format!(
                "host name '{}' is empty; run zk-entry in a pod of a StatefulSet",
                hostname.escape_debug()
            ));
        }
        let servers = ensemble.servers;
        // A Deployment's pod (`zk-7d9c5b8f6-24567`) may end in digits that are no ordinal.
        let parsed = split_ordinal(short).filter(|_| ensemble.is_ensemble() || !deployment_style(short));

        let Some((name, digits)) = parsed else {
            if ensemble.is_ensemble() {
                return exit::usage(format!(
                    "host name '{short}' does not end in -<ordinal> (as zk-0 does), so its server id is unknown; run it as a StatefulSet pod, or pass --servers=1 for a standalone server"
                ));
            }
            return Ok(Identity {
                name: String::new(),
                ordinal: None,
                myid: ensemble.min_server_id,
                domain: None,
            });
        };

        if digits.len() > 1 && digits.starts_with('0') {
            return exit::usage(format!(
                "host name '{short}' has ordinal '{digits}' with a leading zero; StatefulSet ordinals have none, and the server lines would not name this host"
            ));
        }
        // A dynamic ensemble grows with the StatefulSet: an ordinal beyond the first formation's
        // size is a joiner; only the id space bounds it.
        let ordinal = ordinal_value(digits)
            .filter(|o| *o < servers || (ensemble.reconfig && o + ensemble.min_server_id <= 255));
        let Some(ordinal) = ordinal else {
            return exit::usage(format!(
                "host name '{short}' has ordinal {digits}, not below --servers={servers}; raise --servers to the StatefulSet's replicas or lower the replicas"
            ));
        };
        let myid = ordinal + ensemble.min_server_id;

        if !ensemble.is_ensemble() {
            return Ok(Identity { name: name.to_string(), ordinal: Some(ordinal), myid, domain: None });
        }
        if !is_dns_name(name) {
            return exit::usage(format!(
                "host name '{short}' gives StatefulSet name '{name}', which cannot start a DNS name; name the StatefulSet with letters, digits and '-'"
            ));
        }
        let domain = match &ensemble.domain {
            Some(d) => d.clone(),
            None => discover_domain(short, host_domain, sources).ok_or_else(|| {
                exit::Usage(format!(
                    "cannot find the domain of host '{short}': the host name has none, {HOSTS_FILE} lists no {short}.<domain> and the resolver gave none; pass --domain=<service>.<namespace>.svc.cluster.local or set the StatefulSet's serviceName"
                ))
            })?,
        };
        Ok(Identity { name: name.to_string(), ordinal: Some(ordinal), myid, domain: Some(domain) })
    }

    /// The `server.N=` value for every member, N from `min_server_id`; observers' end in
    /// `:observer` (participants' carry no role, as the tutorial's did).
    pub(crate) fn server_lines(&self, ensemble: &Ensemble, ports: &Ports) -> Vec<(u64, String)> {
        let Some(domain) = &self.domain else { return Vec::new() };
        (0..ensemble.servers)
            .map(|ordinal| {
                let id = ordinal + ensemble.min_server_id;
                let role = if ensemble.is_observer(ordinal) { ":observer" } else { "" };
                (id, format!("{}-{ordinal}.{domain}:{}:{}{role}", self.name, ports.server, ports.election))
            })
            .collect()
    }

    /// True when this pod is one of the ensemble's observers.
    pub(crate) fn is_observer(&self, ensemble: &Ensemble) -> bool {
        ensemble.is_ensemble() && self.ordinal.is_some_and(|o| ensemble.is_observer(o))
    }
}

/// `hostname -d`: the kernel host name's own domain part (Kubernetes' setHostnameAsFQDN), else
/// the FQDN that /etc/hosts gives the host, else the resolver's canonical name.
fn discover_domain(short: &str, host_domain: Option<&str>, sources: &DomainSources) -> Option<String> {
    let from_host = host_domain.filter(|d| is_dns_name(d)).map(str::to_string);
    from_host
        .or_else(|| sources.hosts.and_then(|h| domain_from_hosts(h, short)))
        .or_else(|| (sources.resolver)(short).and_then(|fqdn| domain_of(&fqdn, short)))
        .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
}

/// The domain part of `fqdn` when it names `short`.
fn domain_of(fqdn: &str, short: &str) -> Option<String> {
    let (head, domain) = fqdn.split_once('.')?;
    (head.eq_ignore_ascii_case(short) && is_dns_name(domain)).then(|| domain.to_string())
}

/// Like the files backend of the resolver: the first line naming the host decides; its
/// `<short>.<domain>` name gives the domain.
fn domain_from_hosts(hosts: &str, short: &str) -> Option<String> {
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        if fields.next().is_none() {
            continue;
        }
        let names: Vec<&str> = fields.collect();
        let names_host = names.iter().any(|n| {
            n.eq_ignore_ascii_case(short)
                || n.split_once('.').is_some_and(|(h, _)| h.eq_ignore_ascii_case(short))
        });
        if names_host {
            return names.iter().find_map(|n| domain_of(n, short));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::start::settings::Settings;

    const KUBELET_HOSTS: &str = "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n10.244.1.7\tzk-1.zk-hs.default.svc.cluster.local\tzk-1\n";

    fn settings(flags: &[&str]) -> Settings {
        crate::start::settings::tests::settings(flags).unwrap()
    }

    fn no_resolver(_: &str) -> Option<String> {
        None
    }

    fn derive(flags: &[&str], host: &str, hosts: Option<&str>) -> anyhow::Result<Identity> {
        let sources = DomainSources { hosts, resolver: &no_resolver };
        Identity::derive(&settings(flags).ensemble, host, &sources)
    }

    fn usage_error(flags: &[&str], host: &str, needles: &[&str]) {
        let err = derive(flags, host, Some(KUBELET_HOSTS)).expect_err("must fail");
        assert_eq!(exit::code_of(&err), exit::USAGE);
        let line = exit::one_line(&err);
        for n in needles {
            assert!(line.contains(n), "'{line}' lacks '{n}'");
        }
    }

    #[test]
    fn ensemble_member_from_kubelet_hosts() {
        let id = derive(&["--servers=3"], "zk-1", Some(KUBELET_HOSTS)).unwrap();
        assert_eq!(
            id,
            Identity {
                name: "zk".into(),
                ordinal: Some(1),
                myid: 2,
                domain: Some("zk-hs.default.svc.cluster.local".into())
            }
        );
        let s = settings(&["--servers=3"]);
        let lines = id.server_lines(&s.ensemble, &s.ports);
        assert_eq!(lines[2], (3, "zk-2.zk-hs.default.svc.cluster.local:2888:3888".to_string()));
    }

    #[test]
    fn min_server_id_shifts_ids_not_names() {
        let s = settings(&["--servers=3", "--min_server_id=11", "--domain=d.local"]);
        let sources = DomainSources { hosts: None, resolver: &no_resolver };
        let id = Identity::derive(&s.ensemble, "my-zk-2", &sources).unwrap();
        assert_eq!(id.myid, 13);
        let lines = id.server_lines(&s.ensemble, &s.ports);
        assert_eq!(lines.first().unwrap(), &(11, "my-zk-0.d.local:2888:3888".to_string()));
        assert_eq!(lines.last().unwrap(), &(13, "my-zk-2.d.local:2888:3888".to_string()));
    }

    #[test]
    fn observers_lines_carry_the_role() {
        let s = settings(&["--servers=4", "--observers=1", "--domain=d.local"]);
        let sources = DomainSources { hosts: None, resolver: &no_resolver };
        let id = Identity::derive(&s.ensemble, "zk-3", &sources).unwrap();
        assert!(id.is_observer(&s.ensemble));
        let lines = id.server_lines(&s.ensemble, &s.ports);
        assert_eq!(lines[2], (3, "zk-2.d.local:2888:3888".to_string()));
        assert_eq!(lines[3], (4, "zk-3.d.local:2888:3888:observer".to_string()));
        let voter = Identity::derive(&s.ensemble, "zk-2", &sources).unwrap();
        assert!(!voter.is_observer(&s.ensemble));
    }

    #[test]
    fn standalone_without_ordinal_is_myid_1() {
        let id = derive(&[], "zk", None).unwrap();
        assert_eq!((id.ordinal, id.myid, id.domain.clone()), (None, 1, None));
        let s = settings(&[]);
        assert!(id.server_lines(&s.ensemble, &s.ports).is_empty());
        assert_eq!(derive(&[], "zk-", None).unwrap().myid, 1);
    }

    /// Regression: a Deployment's pod name whose random suffix is all digits was refused in
    /// standalone as "ordinal 24567, not below --servers=1".
    #[test]
    fn a_deployment_pod_name_is_no_ordinal_in_standalone() {
        let id = derive(&[], "zk-7d9c5b8f6-24567", None).unwrap();
        assert_eq!((id.ordinal, id.myid), (None, 1));
        assert!(deployment_style("zk-7d9c5b8f6-x2b4z"));
        // A StatefulSet's names keep their ordinal, and the check for replicas beyond --servers.
        assert!(!deployment_style("zk-1") && !deployment_style("my-zk-12"));
        usage_error(&[], "zk-1", &["ordinal 1", "--servers=1"]);
        usage_error(&["--servers=3"], "zk-7d9c5b8f6-24567", &["ordinal 24567"]);
    }

    #[test]
    fn ensemble_needs_an_ordinal() {
        usage_error(&["--servers=3"], "zk", &["'zk'", "ordinal", "--servers=1"]);
        usage_error(&["--servers=3"], "zk-", &["'zk-'"]);
    }

    #[test]
    fn ordinal_must_be_below_servers() {
        usage_error(&["--servers=3"], "zk-3", &["ordinal 3", "--servers=3", "raise --servers"]);
        usage_error(&[], "zk-1", &["ordinal 1", "--servers=1"]);
        usage_error(
            &["--servers=3"],
            "zk-99999999999999999999999999",
            &["99999999999999999999999999", "--servers=3"],
        );
    }

    #[test]
    fn leading_zero_ordinal_refused() {
        usage_error(&["--servers=3"], "zk-01", &["'01'", "leading zero"]);
    }

    #[test]
    fn empty_statefulset_name_refused() {
        usage_error(&["--servers=3"], "-0", &["StatefulSet name"]);
    }

    #[test]
    fn empty_domain_is_an_error_not_a_trailing_dot() {
        let hosts = "127.0.0.1 localhost\n10.0.0.1 zk-0\n";
        let err = derive(&["--servers=3"], "zk-0", Some(hosts)).unwrap_err();
        assert_eq!(exit::code_of(&err), exit::USAGE);
        assert!(exit::one_line(&err).contains("--domain"));
    }

    #[test]
    fn domain_flag_wins_over_discovery() {
        let id = derive(&["--servers=3", "--domain=other.local"], "zk-0", Some(KUBELET_HOSTS)).unwrap();
        assert_eq!(id.domain.as_deref(), Some("other.local"));
    }

    #[test]
    fn fqdn_host_name_gives_its_domain() {
        let id = derive(&["--servers=3"], "zk-2.zk-hs.ns.svc.cluster.local", None).unwrap();
        assert_eq!((id.myid, id.domain.as_deref()), (3, Some("zk-hs.ns.svc.cluster.local")));
    }

    #[test]
    fn resolver_is_the_last_resort() {
        let s = settings(&["--servers=3"]);
        let resolver = |h: &str| Some(format!("{h}.from-dns.local"));
        let sources = DomainSources { hosts: Some("127.0.0.1 localhost\n"), resolver: &resolver };
        assert_eq!(
            Identity::derive(&s.ensemble, "zk-0", &sources).unwrap().domain.as_deref(),
            Some("from-dns.local")
        );
    }

    #[test]
    fn hosts_parsing() {
        assert_eq!(
            domain_from_hosts(KUBELET_HOSTS, "zk-1").as_deref(),
            Some("zk-hs.default.svc.cluster.local")
        );
        assert_eq!(domain_from_hosts(KUBELET_HOSTS, "zk-2"), None);
        // The alias order does not matter, comments do not count, the first naming line decides.
        let hosts = "#10.0.0.9 zk-0.commented.local zk-0\n10.0.0.1 zk-0 zk-0.a.local # x\n10.0.0.2 zk-0.b.local zk-0\n";
        assert_eq!(domain_from_hosts(hosts, "zk-0").as_deref(), Some("a.local"));
        // zk-1 must not match zk-10.
        assert_eq!(domain_from_hosts("10.0.0.1 zk-10.x.local zk-10\n", "zk-1"), None);
    }
}
