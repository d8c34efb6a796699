//! Validated settings of `ready` and `metrics`: the one conversion from their raw flags
//! ([`crate::cli::ReadyArgs`], [`crate::cli::MetricsArgs`]) to typed values.
//!
//! As in [`crate::settings`] for `start`, every check on a probe's input happens here, before a
//! connection is opened, and every failure is a [`crate::exit::Usage`] error (exit 2) naming the
//! flag, the value given and what would be accepted. A probe misconfigured in a manifest thus
//! says so in the pod's events instead of passing for a server failure (exit 1).

use std::net::IpAddr;
use std::time::Duration;

use crate::cli::{MetricsArgs, ReadyArgs, TargetArgs};
use crate::exit;
use crate::fourlw::Target;

/// The longest `--timeout` accepted. Kubernetes lets `timeoutSeconds` be longer, but a probe
/// that waits minutes for a reply has stopped being a probe.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Where a probe connects and its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub target: Target,
    pub timeout: Duration,
}

/// `zk-entry ready`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub probe: Probe,
    pub quorum: bool,
    pub allow_read_only: bool,
}

/// The output formats of `zk-entry metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Raw,
    Prometheus,
    Json,
}

/// `zk-entry metrics`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    pub probe: Probe,
    pub format: Format,
}

impl Ready {
    pub fn from_args(args: &ReadyArgs) -> anyhow::Result<Ready> {
        if args.allow_read_only && !args.quorum {
            // Plain `ready` accepts any mode already; the flag alone suggests a misread manifest.
            return exit::usage(
                "--allow_read_only: only applies with --quorum (plain ready does not look at the mode)",
            );
        }
        Ok(Ready { probe: probe(&args.target)?, quorum: args.quorum, allow_read_only: args.allow_read_only })
    }
}

impl Metrics {
    pub fn from_args(args: &MetricsArgs) -> anyhow::Result<Metrics> {
        let probe = probe(&args.target)?;
        let format = match args.format.to_ascii_lowercase().as_str() {
            "raw" => Format::Raw,
            "prometheus" => Format::Prometheus,
            "json" => Format::Json,
            _ => {
                return exit::usage(format!(
                    "--format: '{}' is not an output format; expected raw, prometheus or json",
                    args.format
                ));
            }
        };
        Ok(Metrics { probe, format })
    }
}

fn probe(args: &TargetArgs) -> anyhow::Result<Probe> {
    let host = host(&args.host)?;
    let port = port(&args.port)?;
    let timeout = parse_timeout(&args.timeout).ok_or_else(|| {
        exit::Usage(format!(
            "--timeout: '{}' is not a timeout; expected milliseconds (800 or 800ms) or seconds (1s, 1.5s), from 1ms to {}s",
            args.timeout,
            MAX_TIMEOUT.as_secs()
        ))
    })?;
    Ok(Probe { target: Target { host, port }, timeout })
}

fn port(text: &str) -> anyhow::Result<u16> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ if text.contains(':') => exit::usage(format!(
            "PORT: '{text}' is not a port; give the host with --host and the port alone, e.g. --host=10.0.0.5 2181"
        )),
        _ => exit::usage(format!("PORT: '{text}' is not a port; expected a whole number from 1 to 65535")),
    }
}

/// An IP address (IPv6 with or without brackets) or a DNS name.
fn host(text: &str) -> anyhow::Result<String> {
    let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(bare.to_string());
    }
    let name_like = !bare.is_empty()
        && bare.len() <= 253
        && bare.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if name_like {
        return Ok(bare.to_string());
    }
    let hint = if bare.contains(':') && !bare.contains("::") {
        "; give the port as the PORT argument, not in --host"
    } else {
        ""
    };
    exit::usage(format!("--host: '{text}' is not a host; expected an IP address or a DNS name{hint}"))
}

/// `800`, `800ms`, `1s` or `1.5s`: plain numbers are milliseconds, as the scripts' users think
/// of probe budgets, and Kubernetes' `timeoutSeconds` reads naturally as `1s`.
pub fn parse_timeout(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, scale_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    // Digits with at most one decimal point: no sign, exponent, inf or nan.
    let well_formed = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().filter(|&b| b == b'.').count() <= 1
        && number != ".";
    if !well_formed {
        return None;
    }
    let ms: f64 = number.parse().ok()?;
    let timeout = Duration::try_from_secs_f64(ms * scale_ms / 1000.0).ok()?;
    (timeout >= Duration::from_millis(1) && timeout <= MAX_TIMEOUT).then_some(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(port: &str, host: &str, timeout: &str) -> TargetArgs {
        TargetArgs { port: port.into(), host: host.into(), timeout: timeout.into() }
    }

    fn usage_line(result: anyhow::Result<Probe>) -> String {
        let err = result.expect_err("must be refused");
        assert_eq!(exit::code_of(&err), exit::USAGE);
        exit::one_line(&err)
    }

    #[test]
    fn timeouts_in_milliseconds_or_seconds() {
        assert_eq!(parse_timeout("800"), Some(Duration::from_millis(800)));
        assert_eq!(parse_timeout("800ms"), Some(Duration::from_millis(800)));
        assert_eq!(parse_timeout("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_timeout("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("600s"), Some(MAX_TIMEOUT));
        for bad in
            ["", "0", "0ms", "0.1ms", "-5", "2m", "1e3", "inf", "nan", "1.2.3s", ".s", "601s", "s", "ms"]
        {
            assert_eq!(parse_timeout(bad), None, "{bad:?} accepted");
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
        let line = usage_line(probe(&target("0", "127.0.0.1", "1s")));
        assert!(line.contains("PORT: '0'") && line.contains("1 to 65535"), "{line}");
        let line = usage_line(probe(&target("127.0.0.1:2181", "127.0.0.1", "1s")));
        assert!(line.contains("--host"), "{line}");
        let line = usage_line(probe(&target("2181", "127.0.0.1:2181", "1s")));
        assert!(line.contains("--host: '127.0.0.1:2181'") && line.contains("PORT argument"), "{line}");
        let line = usage_line(probe(&target("2181", "", "1s")));
        assert!(line.contains("--host: ''"), "{line}");
        let line = usage_line(probe(&target("2181", "127.0.0.1", "2m")));
        assert!(line.contains("--timeout: '2m'") && line.contains("800ms") && line.contains("1s"), "{line}");
    }

    #[test]
    fn allow_read_only_needs_quorum() {
        let args =
            |quorum| ReadyArgs { target: target("2181", "127.0.0.1", "1s"), quorum, allow_read_only: true };
        assert!(Ready::from_args(&args(true)).unwrap().allow_read_only);
        let err = Ready::from_args(&args(false)).unwrap_err();
        assert_eq!(exit::code_of(&err), exit::USAGE);
        assert!(exit::one_line(&err).contains("--quorum"));
    }

    #[test]
    fn formats() {
        let args = |f: &str| MetricsArgs { target: target("2181", "127.0.0.1", "1s"), format: f.into() };
        assert_eq!(Metrics::from_args(&args("raw")).unwrap().format, Format::Raw);
        assert_eq!(Metrics::from_args(&args("Prometheus")).unwrap().format, Format::Prometheus);
        assert_eq!(Metrics::from_args(&args("json")).unwrap().format, Format::Json);
        let err = Metrics::from_args(&args("xml")).unwrap_err();
        assert_eq!(exit::code_of(&err), exit::USAGE);
        assert!(exit::one_line(&err).contains("raw, prometheus or json"));
    }
}
