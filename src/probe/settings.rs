//! The high layer of the probes' input: `ready` and `metrics` flags ([`ReadyArgs`],
//! [`MetricsArgs`]) checked and typed.
//!
//! As for `start` ([`crate::start::settings`]), every check on a probe's input happens here,
//! before a connection is opened, and every failure is a [`crate::exit::Usage`] error (exit 2)
//! naming the flag, the value given and what would be accepted, by the shared rules of
//! [`crate::parse`]. A probe misconfigured in a manifest thus says so in the pod's events instead
//! of passing for a server failure (exit 1).

use std::time::Duration;

use super::args::{MetricsArgs, ReadyArgs, TargetArgs};
use super::fourlw::Target;
use crate::exit;

/// The longest `--timeout` accepted. Kubernetes lets `timeoutSeconds` be longer, but a probe
/// that waits minutes for a reply has stopped being a probe.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// Where a probe connects and its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    pub(crate) target: Target,
    pub(crate) timeout: Duration,
}

/// `zk-entry ready`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ready {
    pub(crate) probe: Probe,
    pub(crate) quorum: bool,
    pub(crate) allow_read_only: bool,
}

/// The output formats of `zk-entry metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Raw,
    Prometheus,
    Json,
}

/// `zk-entry metrics`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Metrics {
    pub(crate) probe: Probe,
    pub(crate) format: Format,
}

impl Ready {
    pub(crate) fn from_input(input: &ReadyArgs) -> anyhow::Result<Ready> {
        if input.allow_read_only && !input.quorum {
            // Plain `ready` accepts any mode already; the flag alone suggests a misread manifest.
            return exit::usage(
                "--allow_read_only: only applies with --quorum (plain ready does not look at the mode)",
            );
        }
        Ok(Ready {
            probe: probe(&input.target)?,
            quorum: input.quorum,
            allow_read_only: input.allow_read_only,
        })
    }
}

impl Metrics {
    pub(crate) fn from_input(input: &MetricsArgs) -> anyhow::Result<Metrics> {
        let probe = probe(&input.target)?;
        let format = input.format.choice(
            "is not an output format",
            "raw, prometheus or json",
            &[("raw", Format::Raw), ("prometheus", Format::Prometheus), ("json", Format::Json)],
        )?;
        Ok(Metrics { probe, format })
    }
}

fn probe(input: &TargetArgs) -> anyhow::Result<Probe> {
    let host = input.host.host().map_err(|err| {
        if input.host.text.contains(':') && !input.host.text.contains("::") {
            return input.host.reject("is not a host", "a host alone; give the port as the PORT argument");
        }
        err
    })?;
    if input.port.text.contains(':') {
        // `ready 10.0.0.5:2181`: the scripts' users write addresses this way.
        return Err(input
            .port
            .reject("is not a port", "the port alone, with the host in --host, e.g. --host=10.0.0.5 2181"));
    }
    let port = input.port.port()?;
    let timeout = input.timeout.duration(MIN_TIMEOUT, MAX_TIMEOUT)?;
    Ok(Probe { target: Target { host, port }, timeout })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::tests::refusal;
    use crate::parse::{Raw, Source};

    fn target(port: &str, host: &str, timeout: &str) -> TargetArgs {
        TargetArgs {
            port: Raw::new("PORT", port, Source::CommandLine),
            host: Raw::new("--host", host, Source::CommandLine),
            timeout: Raw::new("--timeout", timeout, Source::CommandLine),
        }
    }

    #[test]
    fn defaults_are_the_tutorial_probe() {
        let p = probe(&target("2181", "127.0.0.1", "800ms")).unwrap();
        assert_eq!(p.target, Target { host: "127.0.0.1".into(), port: 2181 });
        assert_eq!(p.timeout, Duration::from_millis(800));
    }

    #[test]
    fn hosts_accept_addresses_and_names() {
        assert_eq!(probe(&target("1", "[::1]", "1s")).unwrap().target.host, "::1");
        assert_eq!(
            probe(&target("1", "zk-0.zk-hs.default.svc", "1s")).unwrap().target.host,
            "zk-0.zk-hs.default.svc"
        );
    }

    #[test]
    fn bad_values_name_the_flag_and_what_is_accepted() {
        assert_eq!(
            refusal(probe(&target("0", "127.0.0.1", "1s"))),
            "PORT: '0' is out of range; expected a port number from 1 to 65535"
        );
        assert_eq!(
            refusal(probe(&target("+21011", "127.0.0.1", "1s"))),
            "PORT: '+21011' is not a port number; expected a port number from 1 to 65535"
        );
        let line = refusal(probe(&target("127.0.0.1:2181", "127.0.0.1", "1s")));
        assert!(line.contains("--host"), "{line}");
        let line = refusal(probe(&target("2181", "127.0.0.1:2181", "1s")));
        assert!(line.contains("--host: '127.0.0.1:2181'") && line.contains("PORT argument"), "{line}");
        let line = refusal(probe(&target("2181", "", "1s")));
        assert!(line.contains("--host: ''"), "{line}");
        let line = refusal(probe(&target("2181", "127.0.0.1", "2m")));
        assert!(line.contains("--timeout: '2m'") && line.contains("800ms") && line.contains("1s"), "{line}");
        assert!(refusal(probe(&target("2181", "127.0.0.1", "601s"))).contains("out of range"));
    }

    #[test]
    fn allow_read_only_needs_quorum() {
        let input =
            |quorum| ReadyArgs { target: target("2181", "127.0.0.1", "1s"), quorum, allow_read_only: true };
        assert!(Ready::from_input(&input(true)).unwrap().allow_read_only);
        assert!(refusal(Ready::from_input(&input(false))).contains("--quorum"));
    }

    #[test]
    fn formats() {
        let input = |f: &str| MetricsArgs {
            target: target("2181", "127.0.0.1", "1s"),
            format: Raw::new("--format", f, Source::CommandLine),
        };
        assert_eq!(Metrics::from_input(&input("raw")).unwrap().format, Format::Raw);
        assert_eq!(Metrics::from_input(&input("Prometheus")).unwrap().format, Format::Prometheus);
        assert_eq!(Metrics::from_input(&input("json")).unwrap().format, Format::Json);
        assert_eq!(
            refusal(Metrics::from_input(&input("xml"))),
            "--format: 'xml' is not an output format; expected raw, prometheus or json"
        );
    }
}
