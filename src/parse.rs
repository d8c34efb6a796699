//! Checking values typed by a user, shared by `start` and the probes.
//!
//! Every value arrives as a [`Raw`] ([`crate::flag`] makes it from clap's definition): the text
//! and the name it was given under (`--servers`, `ZK_SERVERS (environment)`, `PORT`). The checks here turn a `Raw` into a typed
//! value or into one [`Usage`] error (exit 2) of one shape:
//! `<name>: '<text>' <problem>; expected <what would be accepted>`. So a port, a host or a
//! duration is checked by the same rule, with the same words, wherever it is typed.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::exit::Usage;

/// Where a value came from; messages name the flag or the variable accordingly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    CommandLine,
    Environment,
    /// The flag's default: the user typed nothing.
    Default,
}

/// One value as typed, with the name to use for it in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Raw {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) source: Source,
}

impl Raw {
    pub(crate) fn new(name: impl Into<String>, text: impl Into<String>, source: Source) -> Raw {
        Raw { name: name.into(), text: text.into(), source }
    }

    /// True unless the value is the flag's default.
    pub(crate) fn is_given(&self) -> bool {
        self.source != Source::Default
    }

    /// A usage error: `<name>: '<text>' <problem>; expected <expected>`.
    pub(crate) fn reject(&self, problem: &str, expected: &str) -> anyhow::Error {
        self.reject_part(&self.text, problem, expected)
    }

    /// As [`Raw::reject`], quoting only the offending `part` of a list.
    pub(crate) fn reject_part(&self, part: &str, problem: &str, expected: &str) -> anyhow::Error {
        let mut msg = format!("{}: '{}' {problem}; expected {expected}", self.name, part.escape_debug());
        // Kubernetes injects <SERVICE>_PORT=tcp://... for every service; a service named
        // zk-client collides with ZK_CLIENT_PORT.
        if self.source == Source::Environment
            && (self.text.starts_with("tcp://") || self.text.starts_with("udp://"))
        {
            msg.push_str(" (this looks like a Kubernetes service link variable: set enableServiceLinks: false or rename the service)");
        }
        Usage(msg).into()
    }

    /// A whole number from `min` to `max`, digits only (no sign, no spaces).
    pub(crate) fn number(&self, min: u64, max: u64) -> anyhow::Result<u64> {
        let expected = format!("a whole number from {min} to {max}");
        if !is_digits(&self.text) {
            return Err(self.reject("is not a whole number", &expected));
        }
        match self.text.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(self.reject("is out of range", &expected)),
        }
    }

    /// A TCP port, 1 to 65535.
    pub(crate) fn port(&self) -> anyhow::Result<u16> {
        let expected = "a port number from 1 to 65535";
        if !is_digits(&self.text) {
            return Err(self.reject("is not a port number", expected));
        }
        match self.text.parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(self.reject("is out of range", expected)),
        }
    }

    /// An IP address (IPv6 with or without brackets) or a DNS name; returned without brackets
    /// and without a DNS name's trailing dot.
    pub(crate) fn host(&self) -> anyhow::Result<String> {
        let bare = self.text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(&self.text);
        if bare.parse::<IpAddr>().is_ok() {
            return Ok(bare.to_string());
        }
        if is_dns_name(bare) {
            return Ok(bare.strip_suffix('.').unwrap_or(bare).to_string());
        }
        Err(self.reject("is not a host", "an IP address such as 127.0.0.1 or a DNS name such as zk-0.zk-hs"))
    }

    /// A DNS name, lower-cased and without a trailing dot.
    pub(crate) fn dns_name(&self, expected: &str) -> anyhow::Result<String> {
        if !is_dns_name(&self.text) {
            return Err(self.reject("is not a DNS name", expected));
        }
        Ok(self.text.strip_suffix('.').unwrap_or(&self.text).to_ascii_lowercase())
    }

    /// An absolute path on one line.
    pub(crate) fn absolute_path(&self) -> anyhow::Result<PathBuf> {
        let expected = "an absolute path such as /var/lib/zookeeper/data";
        self.single_line(expected)?;
        if !self.text.starts_with('/') {
            return Err(self.reject("is not an absolute path", expected));
        }
        Ok(PathBuf::from(&self.text))
    }

    /// The text, refused when it holds a control character: in zoo.cfg or java.env a newline
    /// would split one setting into two.
    pub(crate) fn single_line(&self, expected: &str) -> anyhow::Result<&str> {
        if self.text.chars().any(char::is_control) {
            return Err(self.reject("contains a control character", expected));
        }
        Ok(&self.text)
    }

    /// A switch's value from the environment: true/false, 1/0, yes/no, on/off, any case.
    pub(crate) fn switch(&self) -> anyhow::Result<bool> {
        self.choice(
            "is not a switch value",
            "true or false (also 1/0, yes/no, on/off)",
            &[
                ("true", true),
                ("1", true),
                ("yes", true),
                ("on", true),
                ("false", false),
                ("0", false),
                ("no", false),
                ("off", false),
            ],
        )
    }

    /// One of `choices`, compared without regard to case.
    pub(crate) fn choice<T: Copy>(
        &self,
        problem: &str,
        expected: &str,
        choices: &[(&str, T)],
    ) -> anyhow::Result<T> {
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&self.text))
            .map(|(_, value)| *value)
            .ok_or_else(|| self.reject(problem, expected))
    }

    /// A duration from `min` to `max`: `800` and `800ms` are milliseconds, `1s` and `1.5s`
    /// seconds (a probe budget reads naturally in milliseconds, Kubernetes' `timeoutSeconds` as
    /// `1s`).
    pub(crate) fn duration(&self, min: Duration, max: Duration) -> anyhow::Result<Duration> {
        let expected = format!(
            "milliseconds (800 or 800ms) or seconds (1s, 1.5s), from {}ms to {}s",
            min.as_millis(),
            max.as_secs()
        );
        match parse_duration(&self.text) {
            Some(d) if d >= min && d <= max => Ok(d),
            Some(_) => Err(self.reject("is out of range", &expected)),
            None => Err(self.reject("is not a duration", &expected)),
        }
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `800`, `800ms`, `1s`, `1.5s`: digits with at most one decimal point, no sign, exponent, inf
/// or nan.
fn parse_duration(text: &str) -> Option<Duration> {
    let (number, scale_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    let well_formed = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().filter(|&b| b == b'.').count() <= 1
        && number != ".";
    if !well_formed {
        return None;
    }
    let ms: f64 = number.parse().ok()?;
    Duration::try_from_secs_f64(ms * scale_ms / 1000.0).ok()
}

/// A StatefulSet pod's short host name as its set's name and its ordinal's digits, split as the
/// greedy `(.*)-([0-9]+)$` would: `my-zk-12` is `("my-zk", "12")`. Digits are ASCII digits only
/// (`zk-+3` has no ordinal), so the last `-` is the split point.
pub(crate) fn split_ordinal(short: &str) -> Option<(&str, &str)> {
    let (name, digits) = short.rsplit_once('-')?;
    is_digits(digits).then_some((name, digits))
}

/// The number that ordinal digits from [`split_ordinal`] stand for: none with a leading zero (a
/// StatefulSet writes none, and `zk-03` is not the pod `zk-3`) or beyond a u64.
pub(crate) fn ordinal_value(digits: &str) -> Option<u64> {
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// The ordinal of a pod's host name, short or fully qualified (`zk-3.zk-hs.default.svc` is 3),
/// read by the same strict rule wherever zk-entry reads one: the host's own (`start`, `leave`),
/// a server line (`join`) or a member of the live membership (`resize`, `leave`, a start's
/// peers).
pub(crate) fn ordinal(host: &str) -> Option<u64> {
    let short = host.split('.').next()?;
    split_ordinal(short).and_then(|(_, digits)| ordinal_value(digits))
}

/// A DNS name: dot-separated labels of letters, digits and inner hyphens. One trailing dot (the
/// fully-qualified spelling) is allowed.
pub(crate) fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::exit;

    pub(crate) fn flag(text: &str) -> Raw {
        Raw::new("--flag", text, Source::CommandLine)
    }

    /// The one line a refused value gives.
    pub(crate) fn refusal<T: std::fmt::Debug>(result: anyhow::Result<T>) -> String {
        let err = result.expect_err("must be refused");
        assert_eq!(exit::code_of(&err), exit::USAGE, "{err:#}");
        exit::one_line(&err)
    }

    #[test]
    fn greedy_split() {
        assert_eq!(split_ordinal("my-zk-12"), Some(("my-zk", "12")));
        assert_eq!(split_ordinal("zk-0"), Some(("zk", "0")));
        assert_eq!(split_ordinal("zk"), None);
        assert_eq!(split_ordinal("zk-"), None);
        assert_eq!(split_ordinal("zk-1a"), None);
        assert_eq!(split_ordinal("-3"), Some(("", "3")));
        assert_eq!(split_ordinal("zk-01"), Some(("zk", "01")));
    }

    #[test]
    fn ordinals_are_digits_only_without_sign_or_leading_zero() {
        assert_eq!(ordinal("zk-3"), Some(3));
        assert_eq!(ordinal("zk-0.zk-hs.default.svc.cluster.local"), Some(0));
        assert_eq!(ordinal("my-zk-12.d"), Some(12));
        for bad in [
            "zk-+3", "zk-+3.d", "zk- 3", "zk-3 ", "zk-03", "zk-00.d", "zk-3a.d", "zk-٣", "zk", "zk-", "zk.3",
            "",
        ] {
            assert_eq!(ordinal(bad), None, "{bad:?}");
        }
        assert_eq!(ordinal("zk-99999999999999999999999"), None, "beyond a u64");
        assert_eq!(ordinal("zk-18446744073709551615"), Some(u64::MAX));
    }

    #[test]
    fn numbers_are_digits_in_range() {
        assert_eq!(flag("42").number(1, 100).unwrap(), 42);
        for bad in ["", "+5", "-5", " 5", "1.5", "0x10"] {
            assert!(refusal(flag(bad).number(1, 100)).contains("is not a whole number"), "{bad:?}");
        }
        assert_eq!(
            refusal(flag("101").number(1, 100)),
            "--flag: '101' is out of range; expected a whole number from 1 to 100"
        );
        assert!(refusal(flag("99999999999999999999999").number(1, 100)).contains("out of range"));
    }

    #[test]
    fn ports_are_one_rule_everywhere() {
        assert_eq!(flag("2181").port().unwrap(), 2181);
        assert_eq!(
            refusal(flag("0").port()),
            "--flag: '0' is out of range; expected a port number from 1 to 65535"
        );
        for bad in ["65536", "+2181", "2181 ", "", "127.0.0.1:2181"] {
            assert!(refusal(flag(bad).port()).contains("1 to 65535"), "{bad:?}");
        }
    }

    #[test]
    fn hosts_are_addresses_or_dns_names() {
        assert_eq!(flag("[::1]").host().unwrap(), "::1");
        assert_eq!(flag("10.0.0.5").host().unwrap(), "10.0.0.5");
        assert_eq!(flag("zk-0.zk-hs.default.svc.").host().unwrap(), "zk-0.zk-hs.default.svc");
        for bad in ["", "a b", "zk_0", "127.0.0.1:2181", "-x", "a..b"] {
            assert!(refusal(flag(bad).host()).contains("is not a host"), "{bad:?}");
        }
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_name("a-b.c"));
        assert!(is_dns_name("a-b.c."));
        assert!(!is_dns_name("-a.c"));
        assert!(!is_dns_name(""));
        assert!(!is_dns_name("a..c"));
        assert_eq!(flag("ZK-HS.Local.").dns_name("x").unwrap(), "zk-hs.local");
    }

    #[test]
    fn durations_in_milliseconds_or_seconds() {
        let (min, max) = (Duration::from_millis(1), Duration::from_secs(600));
        let d = |t: &str| flag(t).duration(min, max);
        assert_eq!(d("800").unwrap(), Duration::from_millis(800));
        assert_eq!(d("800ms").unwrap(), Duration::from_millis(800));
        assert_eq!(d("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(d("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(d("600s").unwrap(), max);
        for bad in
            ["", "0", "0ms", "0.1ms", "-5", "2m", "1e3", "inf", "nan", "1.2.3s", ".s", "601s", "s", "ms"]
        {
            assert!(d(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn switches_and_choices() {
        assert!(flag("YES").switch().unwrap());
        assert!(!flag("off").switch().unwrap());
        assert_eq!(
            refusal(flag("maybe").switch()),
            "--flag: 'maybe' is not a switch value; expected true or false (also 1/0, yes/no, on/off)"
        );
    }

    #[test]
    fn paths_absolute_single_line() {
        assert_eq!(flag("/d").absolute_path().unwrap(), PathBuf::from("/d"));
        assert!(refusal(flag("d").absolute_path()).contains("is not an absolute path"));
        assert!(refusal(flag("/d\nx").absolute_path()).contains("control character"));
    }

    #[test]
    fn service_link_variables_are_recognised() {
        let raw = Raw::new("ZK_CLIENT_PORT (environment)", "tcp://10.0.0.1:2181", Source::Environment);
        assert!(refusal(raw.port()).contains("enableServiceLinks: false"));
        assert!(!refusal(flag("tcp://10.0.0.1:2181").port()).contains("enableServiceLinks"));
    }
}
