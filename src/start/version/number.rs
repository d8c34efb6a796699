//! A ZooKeeper version number, as a jar's name and `--zk_version` give it. Apart from the
//! rules that use it ([`super`]) so the settings can check `--zk_version` without importing
//! the plan.

use std::fmt;

use crate::parse::Raw;

/// A ZooKeeper release: `major.minor.patch`, and what followed it in the name (`-SNAPSHOT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) numbers: (u32, u32, u32),
    suffix: String,
}

impl Version {
    /// `3.9.4`, `3.9.4-SNAPSHOT`: three numbers, then nothing or a `-` and letters, digits,
    /// dots or dashes.
    pub(crate) fn parse(text: &str) -> Option<Version> {
        let (numbers, suffix) = match text.find('-') {
            Some(at) => text.split_at(at),
            None => (text, ""),
        };
        let parts: Vec<&str> = numbers.split('.').collect();
        let number = |p: &str| {
            (!p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())?
        };
        let [a, b, c] = parts.as_slice() else { return None };
        let suffix_ok = suffix.is_empty()
            || (suffix.len() > 1
                && suffix.len() <= 32
                && suffix[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
        if !suffix_ok {
            return None;
        }
        Some(Version { numbers: (number(a)?, number(b)?, number(c)?), suffix: suffix.to_string() })
    }

    pub(crate) fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.numbers >= (major, minor, patch)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.numbers;
        write!(f, "{a}.{b}.{c}{}", self.suffix)
    }
}

/// `--zk_version`, checked.
pub(crate) fn from_flag(raw: &Raw) -> anyhow::Result<Version> {
    Version::parse(raw.text.trim()).ok_or_else(|| {
        raw.reject(
            "is not a ZooKeeper version",
            "a release such as 3.8.4 or 3.9.4 (three numbers, optionally -SUFFIX)",
        )
    })
}
