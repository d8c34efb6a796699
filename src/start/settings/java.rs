//! How the JVM is started: heap, which java, which ZooKeeper install or classpath, extra flags.

use crate::parse::Raw;
use crate::start::args::StartArgs;
use crate::start::version::number::{self, Version};
use std::path::PathBuf;

/// `--heap`: a size as for -Xmx, or a share of the container's memory limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Heap {
    /// Digits and a unit, as given (`2G`).
    Size(String),
    /// `75%`: the JVM takes this share of the cgroup memory limit (`-XX:MaxRAMPercentage`).
    Percent { percent: u64, flag: String },
}

/// The smallest heap accepted, in bytes, and as written in messages. Measured with Debian's
/// OpenJDK 17 and ZooKeeper 3.8: the JVM does not start below 4M ("Too small maximum heap";
/// at 2M "GC triggered before VM initialization completed"), and a standalone ZooKeeper died of
/// OutOfMemoryError at 6M and served at 8M. An ensemble member also holds requests of up to
/// jute.maxbuffer (1 MiB) and loads snapshots: 32M leaves it four times the measured need, and
/// is still far below any heap a real deployment gives (the dev manifest's is 512M).
pub(crate) const MIN_HEAP_BYTES: u64 = 32 << 20;
pub(crate) const MIN_HEAP: &str = "32M";

/// The JVM needs memory beyond its heap (metaspace, threads, direct buffers): a heap of all the
/// limit would get the container OOM-killed.
const MAX_HEAP_PERCENT: u64 = 90;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Java {
    pub(crate) heap: Heap,
    pub(crate) java: Option<PathBuf>,
    pub(crate) zk_home: Option<PathBuf>,
    pub(crate) classpath: Option<String>,
    /// `--zk_version`: the version that runs, when the classpath does not say or says wrong.
    pub(crate) zk_version: Option<Version>,
    /// `--jvm_flags`, then `$JVMFLAGS`, split on white space.
    pub(crate) jvm_flags: Vec<String>,
    /// Debian's install needs the Netty jars its manifest leaves out (TLS: the Netty factory).
    pub(crate) netty_jars: bool,
    /// Debian's install needs the servlet API for the AdminServer (`--admin_server_port`).
    pub(crate) admin_jars: bool,
}

impl Java {
    pub(super) fn from_input(a: &StartArgs) -> anyhow::Result<Java> {
        let mut jvm_flags = Vec::new();
        for raw in [&a.jvm_flags, &a.jvmflags_env].into_iter().flatten() {
            jvm_flags.extend(
                raw.single_line("JVM flags separated by spaces")?.split_whitespace().map(str::to_string),
            );
        }
        Ok(Java {
            heap: heap(&a.heap)?,
            java: a.java.as_ref().map(Raw::absolute_path).transpose()?,
            zk_home: a.zk_home.as_ref().map(Raw::absolute_path).transpose()?,
            classpath: a.classpath.as_ref().map(classpath).transpose()?,
            zk_version: a.zk_version.as_ref().map(number::from_flag).transpose()?,
            jvm_flags,
            netty_jars: false,
            admin_jars: false,
        })
    }
}

/// The JVM's -Xmx form, with a unit: a bare number means bytes and is almost always a mistake.
/// Or a percentage of the memory limit.
fn heap(raw: &Raw) -> anyhow::Result<Heap> {
    let expected = "digits and a unit k, m or g, such as 512M or 2G, or a share of the container's memory limit such as 75%";
    let v = raw.text.as_str();
    if let Some(digits) = v.strip_suffix('%') {
        let expected = format!(
            "a whole percentage from 1 to {MAX_HEAP_PERCENT} such as 75% (the JVM needs memory beyond its heap), or a size such as 2G"
        );
        return match digits.parse::<u64>() {
            Ok(percent)
                if digits.bytes().all(|b| b.is_ascii_digit())
                    && (1..=MAX_HEAP_PERCENT).contains(&percent) =>
            {
                Ok(Heap::Percent { percent, flag: raw.name.clone() })
            }
            _ => Err(raw.reject("is not a heap percentage", &expected)),
        };
    }
    let (digits, unit) = v.split_at(v.len().saturating_sub(1));
    let unit_factor: u64 = match unit {
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return Err(raw.reject("is not a JVM heap size", expected)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(raw.reject("is not a JVM heap size", expected));
    }
    match digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit_factor)) {
        Some(bytes) if bytes < MIN_HEAP_BYTES => Err(raw.reject(
            &format!("is below the {MIN_HEAP} that ZooKeeper needs to run"),
            &format!("a size of at least {MIN_HEAP}, such as 512M or 2G, or a share of the container's memory limit such as 75%"),
        )),
        Some(_) => Ok(Heap::Size(v.to_string())),
        None => Err(raw.reject("is too large", expected)),
    }
}

fn classpath(raw: &Raw) -> anyhow::Result<String> {
    let expected = "':'-separated jars and directories";
    let text = raw.single_line(expected)?;
    if text.trim().is_empty() {
        return Err(raw.reject("is empty", expected));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::Heap;
    use crate::start::settings::tests::{rejects, settings, settings_with_env};

    #[test]
    fn heap_needs_jvm_form() {
        for ok in ["512M", "2G", "1048576k", "4g"] {
            assert_eq!(settings(&["--heap", ok]).unwrap().java.heap, Heap::Size(ok.into()));
        }
        for bad in ["512", "2GB", "G", "1.5G", "-1G", "99999999999999999999G"] {
            rejects(&[&format!("--heap={bad}")], &["--heap", "512M or 2G", "such as 75%"]);
        }
        let percent = settings(&["--heap=75%"]).unwrap().java.heap;
        assert_eq!(percent, Heap::Percent { percent: 75, flag: "--heap".into() });
        for bad in ["0%", "91%", "100%", "7.5%", "-5%", "%", "75 %", "+75%"] {
            rejects(&[&format!("--heap={bad}")], &["--heap", "is not a heap percentage", "from 1 to 90"]);
        }
    }

    /// `--heap=1k` was accepted and the JVM then died ("Too small maximum heap").
    #[test]
    fn heaps_below_what_zookeeper_runs_with_are_refused() {
        for ok in ["32M", "32m", "32768k", "1G"] {
            assert_eq!(settings(&["--heap", ok]).unwrap().java.heap, Heap::Size(ok.into()));
        }
        for small in ["0M", "1k", "1024k", "31M", "32767k"] {
            rejects(
                &[&format!("--heap={small}")],
                &["--heap", &format!("'{small}'"), "below the 32M", "expected a size of at least 32M"],
            );
        }
        let env = crate::parse::Raw::new("ZK_HEAP (environment)", "8m", crate::parse::Source::Environment);
        let line = crate::exit::one_line(&super::heap(&env).unwrap_err());
        assert!(line.starts_with("ZK_HEAP (environment): '8m' is below the 32M"), "{line}");
    }

    #[test]
    fn jvm_flags_split_and_jvmflags_appended() {
        let s = settings_with_env(&["--jvm_flags=-Da=1  -XX:+UseG1GC"], &[("JVMFLAGS", "-Dzk=2")]).unwrap();
        assert_eq!(s.java.jvm_flags, vec!["-Da=1", "-XX:+UseG1GC", "-Dzk=2"]);
    }

    #[test]
    fn relative_java_rejected() {
        rejects(&["--java=java"], &["--java", "absolute"]);
        rejects(&["--classpath= "], &["--classpath", "is empty"]);
    }
}
