//! How the JVM is started: heap, which java, which ZooKeeper install or classpath, extra flags.

use crate::cli::StartInput;
use crate::parse::Raw;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Java {
    /// As for -Xmx: digits and a unit.
    pub(crate) heap: String,
    pub(crate) java: Option<PathBuf>,
    pub(crate) zk_home: Option<PathBuf>,
    pub(crate) classpath: Option<String>,
    /// `--jvm_flags`, then `$JVMFLAGS`, split on white space.
    pub(crate) jvm_flags: Vec<String>,
}

impl Java {
    pub(super) fn from_input(a: &StartInput) -> anyhow::Result<Java> {
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
            jvm_flags,
        })
    }
}

/// The JVM's -Xmx form, with a unit: a bare number means bytes and is almost always a mistake.
fn heap(raw: &Raw) -> anyhow::Result<String> {
    let expected = "digits and a unit k, m or g, such as 512M or 2G";
    let v = raw.text.as_str();
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
        Some(0) => Err(raw.reject("is zero", expected)),
        Some(_) => Ok(v.to_string()),
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
    use crate::start::settings::tests::{rejects, settings, settings_with_env};

    #[test]
    fn heap_needs_jvm_form() {
        for ok in ["512M", "2G", "1024k", "4g"] {
            assert_eq!(settings(&["--heap", ok]).unwrap().java.heap, ok);
        }
        for bad in ["512", "2GB", "G", "1.5G", "-1G", "0M", "99999999999999999999G"] {
            rejects(&[&format!("--heap={bad}")], &["--heap", "512M or 2G"]);
        }
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
