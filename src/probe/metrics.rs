//! `zk-entry metrics`: the server's `mntr` reply, checked, then printed as received (`raw`, what
//! `echo mntr | nc` gave existing collectors), as Prometheus text exposition, or in the shape of
//! the AdminServer's `/commands/monitor` JSON.
//!
//! Parsing and both conversions are pure functions of the reply ([`parse`], [`prometheus`],
//! [`json`]); [`run`] does the talking and printing. Only `mntr` is ever sent: never `srst` or
//! `crst`, which would reset the counters other collectors read (a known exporter bug).
//!
//! Prometheus rules, and why:
//! - names are sanitised to `[a-zA-Z_:][a-zA-Z0-9_:]*` (3.6+ per-namespace keys carry the
//!   namespace, which may hold `.` or `-`); a `{labels}` part (the Prometheus provider's keys,
//!   `zk_jvm_threads_state{state="RUNNABLE"}`) is kept, its label values re-escaped;
//! - a value that is not a number becomes an info series labelled with it, value 1:
//!   `zk_version{version="..."}`, `zk_server_state{state="..."}`, `zk_peer_state{state="..."}`,
//!   any other key `{value="..."}`; `NaN` stays `NaN`, Java's `Infinity` becomes `+Inf`;
//! - every family is a gauge (mntr does not say which values are counters), except the
//!   provider's summaries (`name{quantile=...}` with `name_count` and `name_sum`), which are
//!   declared as such; each has one HELP and one TYPE line and all its samples together, so a
//!   labelled and an unlabelled key of one name make one family; families are sorted by name,
//!   samples by labels, `zk_up` first;
//! - a key that cannot be expressed (its labels do not parse, or it collides with an earlier key
//!   after sanitising) is left out with a warning on stderr naming it, never silently;
//! - nothing is invented: leader-only keys appear when the server sends them, `zk_followers`
//!   (3.4/3.5) and `zk_learners` (3.6+) both pass through under their own names.
//!
//! When no mntr reply can be had, `raw` prints nothing, `prometheus` prints `zk_up 0` and `json`
//! prints `{"command": "monitor", "error": "<why>"}`; all three exit 1 with the reason on stderr.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use anyhow::anyhow;

use super::fourlw::{self, Answer, Word};
use super::settings::{Format, Metrics};

/// One `zk_<key>\t<value>` line of a `mntr` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: &'a str,
}

pub(crate) fn run(metrics: &Metrics) -> anyhow::Result<()> {
    let start = Instant::now();
    let probe = &metrics.probe;
    let failed = |why: String| anyhow!("metrics: {}: {why}", probe.target);
    let reply = fourlw::ask(&probe.target, Word::Mntr, start, probe.timeout)
        .map_err(|failure| format!("mntr: {failure}"))
        .and_then(|reply| match reply.answer() {
            Answer::Text(_) => Ok(reply),
            other => Err(fourlw::unexpected(Word::Mntr, &reply, other, "mntr lines")),
        });
    // Checked as text with any invalid byte replaced; `raw` still prints the bytes received, as
    // `echo mntr | nc` did.
    let text = reply.as_ref().ok().map(|reply| String::from_utf8_lossy(&reply.bytes));
    let parsed = match (&reply, &text) {
        (Ok(reply), Some(text)) => parse(text, reply.reset),
        (Err(why), _) => Err(why.clone()),
        (Ok(_), None) => Err("no reply".into()),
    };
    let entries = match parsed {
        Ok(ok) => ok,
        Err(why) => {
            let err = failed(why);
            match metrics.format {
                Format::Raw => {}
                Format::Prometheus => crate::output::write_stdout(&prometheus_down())?,
                Format::Json => crate::output::write_stdout(&json_error(&format!("{err:#}")))?,
            }
            return Err(err);
        }
    };
    let (output, skipped) = match metrics.format {
        Format::Raw => {
            let bytes = reply.as_ref().map(|reply| reply.bytes.as_slice()).unwrap_or_default();
            return crate::output::write_stdout_bytes(bytes);
        }
        Format::Prometheus => prometheus(&entries),
        Format::Json => json(&entries),
    };
    for why in skipped {
        tracing::warn!("metrics: {why}");
    }
    crate::output::write_stdout(&output)
}

/// The lines of a `mntr` reply. Every line must be `zk_<key>`, a tab, and a value (which may hold
/// spaces); anything else means the reply is something other than mntr. A reply ended by a reset
/// in the middle of a line was cut short and is refused rather than half-reported.
pub(crate) fn parse(text: &str, reset: bool) -> Result<Vec<Entry<'_>>, String> {
    if reset && !text.ends_with('\n') {
        return Err(format!("the mntr reply was cut short by a connection reset after {} bytes", text.len()));
    }
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let entry = line.split_once('\t').map(|(key, value)| Entry { key, value });
        match entry {
            Some(entry) if entry.key.len() > 3 && entry.key.starts_with("zk_") => entries.push(entry),
            _ => {
                return Err(format!(
                    "the reply is not mntr: line {} is {}, not zk_<key><TAB><value>",
                    number + 1,
                    fourlw::quote(line.as_bytes())
                ));
            }
        }
    }
    if entries.is_empty() {
        return Err("the mntr reply holds no lines".into());
    }
    Ok(entries)
}

// ---- Prometheus ----------------------------------------------------------------------------

struct Family {
    help: String,
    /// Rendered label set → (sample value, the mntr key it came from).
    samples: BTreeMap<String, (String, String)>,
    /// How many samples carry a `quantile` label.
    quantiles: usize,
}

impl Family {
    /// The Prometheus provider's summaries reach mntr as `name{quantile="..."}`, `name_count`
    /// and `name_sum`: declared as a summary, they make one valid family instead of a gauge
    /// that promtool rightly flags for its quantile label.
    fn is_summary(name: &str, families: &BTreeMap<String, Family>) -> bool {
        families.get(name).is_some_and(|f| f.quantiles > 0 && f.quantiles == f.samples.len())
            && families.contains_key(&format!("{name}_count"))
            && families.contains_key(&format!("{name}_sum"))
    }
}

const UP_HELP: &str = "1 when ZooKeeper answered mntr, 0 when it did not (zk-entry says why on stderr)";

/// The exposition for a server that gave no mntr reply.
pub(crate) fn prometheus_down() -> String {
    format!("# HELP zk_up {UP_HELP}\n# TYPE zk_up gauge\nzk_up 0\n")
}

/// Text exposition of the entries, and one message per key left out.
pub(crate) fn prometheus(entries: &[Entry<'_>]) -> (String, Vec<String>) {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut skipped = Vec::new();
    for entry in entries {
        let (name, mut labels) = match split_key(entry.key) {
            Ok(split) => split,
            Err(why) => {
                skipped.push(format!("left out mntr key '{}': {why}", entry.key));
                continue;
            }
        };
        if name == "zk_up" {
            skipped.push(format!("left out mntr key '{}': zk_up is zk-entry's own series", entry.key));
            continue;
        }
        // The family's HELP names the key as mntr spells it, without the first sample's labels.
        let unlabelled = entry.key.split('{').next().unwrap_or(entry.key);
        let (value, help) = match prometheus_value(entry.value) {
            Some(number) => (number, format!("ZooKeeper mntr {unlabelled}")),
            None => {
                let label = info_label(&name);
                if labels.iter().any(|(l, _)| l == label) {
                    skipped.push(format!(
                        "left out mntr key '{}': its text value needs the label '{label}', which the key already has",
                        entry.key
                    ));
                    continue;
                }
                labels.push((label.to_string(), entry.value.to_string()));
                ("1".to_string(), format!("ZooKeeper mntr {unlabelled} as the label {label}; always 1"))
            }
        };
        let rendered = render_labels(&labels);
        let family = families.entry(name.clone()).or_insert_with(|| Family {
            help,
            samples: BTreeMap::new(),
            quantiles: 0,
        });
        if let Some((_, first)) = family.samples.get(&rendered) {
            skipped.push(format!(
                "left out mntr key '{}': it gives the same series as '{first}' ({name}{rendered})",
                entry.key
            ));
            continue;
        }
        family.quantiles += usize::from(labels.iter().any(|(l, _)| l == "quantile"));
        family.samples.insert(rendered, (value, entry.key.to_string()));
    }

    let summaries: Vec<&String> =
        families.keys().filter(|name| Family::is_summary(name, &families)).collect();
    let part_of_summary = |name: &str| {
        summaries
            .iter()
            .any(|s| name.strip_prefix(s.as_str()).is_some_and(|rest| rest == "_count" || rest == "_sum"))
    };

    let mut out = String::new();
    out.push_str(&format!("# HELP zk_up {UP_HELP}\n# TYPE zk_up gauge\nzk_up 1\n"));
    for (name, family) in &families {
        if part_of_summary(name) {
            continue;
        }
        let summary = summaries.contains(&name);
        let _ = writeln!(out, "# HELP {name} {}", escape_help(&family.help));
        let _ = writeln!(out, "# TYPE {name} {}", if summary { "summary" } else { "gauge" });
        let mut members = vec![(name.clone(), family)];
        if summary {
            for suffix in ["_sum", "_count"] {
                let member = format!("{name}{suffix}");
                members.extend(families.get(&member).map(|f| (member, f)));
            }
        }
        for (sample_name, member) in members {
            for (labels, (value, _)) in &member.samples {
                let _ = writeln!(out, "{sample_name}{labels} {value}");
            }
        }
    }
    (out, skipped)
}

/// The label that carries a text value: what the key names.
fn info_label(name: &str) -> &'static str {
    if name == "zk_version" {
        "version"
    } else if name.ends_with("_state") {
        "state"
    } else {
        "value"
    }
}

/// A number as Prometheus writes it, or `None` for text. Java prints doubles as `0.0`, `1.0E7`,
/// `NaN`, `Infinity`; Go's parser takes all but the last, which becomes `+Inf`.
fn prometheus_value(text: &str) -> Option<String> {
    let number: f64 = text.parse().ok()?;
    Some(if number.is_nan() {
        "NaN".into()
    } else if number.is_infinite() {
        if number > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) {
        text.to_string()
    } else {
        number.to_string()
    })
}

/// `name` in the metric-name grammar (`[a-zA-Z_:][a-zA-Z0-9_:]*`; label names take no colon):
/// every other character becomes `_`, and a leading digit gets a `_` in front.
fn sanitise(name: &str, colon: bool) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    for c in name.chars() {
        let ok = c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':');
        out.push(if ok { c } else { '_' });
    }
    out
}

/// `name{a="x",b="y"}` → the sanitised name and the labels (names sanitised, values unescaped).
fn split_key(key: &str) -> Result<(String, Vec<(String, String)>), String> {
    let Some((name, rest)) = key.split_once('{') else {
        return Ok((sanitise(key, true), Vec::new()));
    };
    let body = rest.strip_suffix('}').ok_or("its labels do not end with '}'")?;
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let label: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        let label = sanitise(label.trim(), false);
        if label.is_empty() || label == "__name__" {
            return Err(format!("label name '{label}' is empty or reserved"));
        }
        if chars.next() != Some('=') || chars.next() != Some('"') {
            return Err(format!("label '{label}' is not followed by =\"value\""));
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                None => return Err(format!("the value of label '{label}' has no closing quote")),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of label '{label}' ends in a backslash")),
                },
                Some(c) => value.push(c),
            }
        }
        if labels.iter().any(|(l, _)| *l == label) {
            return Err(format!("label '{label}' appears twice"));
        }
        labels.push((label, value));
        match chars.peek() {
            None | Some(',') => {}
            Some(_) => return Err("labels are not separated by commas".into()),
        }
    }
    Ok((sanitise(name, true), labels))
}

fn render_labels(labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<_> = labels.iter().collect();
    sorted.sort();
    let pairs: Vec<String> = sorted.iter().map(|(l, v)| format!("{l}=\"{}\"", escape_label(v))).collect();
    format!("{{{}}}", pairs.join(","))
}

fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

// ---- JSON ----------------------------------------------------------------------------------

/// The AdminServer's `/commands/monitor` shape: the keys without `zk_`, in mntr's order, numbers
/// as numbers, text as strings (Jackson writes NaN and infinities as strings too), then
/// `"command": "monitor"` and `"error": null`. A repeated key is left out with a message.
pub(crate) fn json(entries: &[Entry<'_>]) -> (String, Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    let mut skipped = Vec::new();
    let mut out = String::from("{\n");
    for entry in entries {
        let key = entry.key.strip_prefix("zk_").unwrap_or(entry.key);
        if !seen.insert(key) {
            skipped
                .push(format!("left out the second mntr key '{}': JSON object keys are unique", entry.key));
            continue;
        }
        let _ = writeln!(out, "  {}: {},", json_string(key), json_value(entry.value));
    }
    out.push_str("  \"command\": \"monitor\",\n  \"error\": null\n}\n");
    (out, skipped)
}

/// The JSON for a failed scrape, as the AdminServer answers when it cannot run the command.
pub(crate) fn json_error(message: &str) -> String {
    format!("{{\n  \"command\": \"monitor\",\n  \"error\": {}\n}}\n", json_string(message))
}

fn json_value(text: &str) -> String {
    if is_json_number(text) {
        return text.to_string();
    }
    match text.parse::<f64>() {
        Ok(n) if n.is_nan() => json_string("NaN"),
        Ok(n) if n.is_infinite() => json_string(if n > 0.0 { "Infinity" } else { "-Infinity" }),
        // Finite but spelled in a way JSON does not allow (`+5`, `.5`, `05`).
        Ok(n) if text.trim() == text && !text.is_empty() => n.to_string(),
        _ => json_string(text),
    }
}

/// RFC 8259 number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - from
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    crate::quote::push_escaped(&mut out, text);
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<Entry<'_>> {
        parse(text, false).expect("parses")
    }

    #[test]
    fn parse_keeps_values_with_spaces_and_refuses_other_text() {
        let e = entries("zk_version\t3.8.0, built on x\nzk_peer_state\tfollowing - broadcast\n");
        assert_eq!(e[1], Entry { key: "zk_peer_state", value: "following - broadcast" });
        assert!(parse("imok", false).unwrap_err().contains("line 1 is \"imok\""));
        assert!(parse("zk_a\t1\nno tab here\n", false).unwrap_err().contains("line 2"));
        assert!(parse("", false).unwrap_err().contains("no lines"));
        assert!(parse("zk_a\t1\nzk_b\t", true).unwrap_err().contains("cut short"));
        assert_eq!(parse("zk_a\t1\n", true).unwrap().len(), 1);
    }

    #[test]
    fn names_are_sanitised_and_labels_kept() {
        assert_eq!(
            split_key("zk_p99_my-app.v1_write_per_namespace").unwrap().0,
            "zk_p99_my_app_v1_write_per_namespace"
        );
        assert_eq!(sanitise("9lives", true), "_9lives");
        let (name, labels) = split_key(r#"zk_jvm_threads_state{state="RUNNABLE",pool="a\"b"}"#).unwrap();
        assert_eq!(name, "zk_jvm_threads_state");
        assert_eq!(labels, vec![("state".into(), "RUNNABLE".into()), ("pool".into(), "a\"b".into())]);
        assert_eq!(split_key("zk_x{}").unwrap(), ("zk_x".into(), vec![]));
        for bad in
            ["zk_x{a=\"1\"", "zk_x{a=1}", "zk_x{a=\"1\"b=\"2\"}", "zk_x{a=\"1\",a=\"2\"}", "zk_x{=\"1\"}"]
        {
            assert!(split_key(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn values_become_numbers_or_info_series() {
        assert_eq!(prometheus_value("0.0").as_deref(), Some("0.0"));
        assert_eq!(prometheus_value("1.0E7").as_deref(), Some("1.0E7"));
        assert_eq!(prometheus_value("-1").as_deref(), Some("-1"));
        assert_eq!(prometheus_value("NaN").as_deref(), Some("NaN"));
        assert_eq!(prometheus_value("Infinity").as_deref(), Some("+Inf"));
        assert_eq!(prometheus_value("-Infinity").as_deref(), Some("-Inf"));
        assert_eq!(prometheus_value("standalone"), None);
        assert_eq!(prometheus_value("1,5"), None);
    }

    #[test]
    fn exposition_groups_families_and_never_repeats_a_type() {
        let text = "zk_version\t3.8.0-x, built on \"today\"\nzk_server_state\tleader\nzk_q{quantile=\"0.5\"}\tNaN\nzk_q\t3\nzk_a.b\t1\nzk_a_b\t2\nzk_followers\t2\nzk_learners\t2\n";
        let (out, skipped) = prometheus(&entries(text));
        assert!(out.starts_with("# HELP zk_up "), "{out}");
        assert!(out.contains("zk_up 1\n"));
        assert!(out.contains("zk_version{version=\"3.8.0-x, built on \\\"today\\\"\"} 1\n"), "{out}");
        assert!(out.contains("zk_server_state{state=\"leader\"} 1\n"));
        assert!(out.contains("# TYPE zk_q gauge\nzk_q 3\nzk_q{quantile=\"0.5\"} NaN\n"), "{out}");
        assert!(out.contains("zk_followers 2\n") && out.contains("zk_learners 2\n"));
        assert_eq!(out.matches("# TYPE zk_q ").count(), 1);
        // zk_a.b sanitises to zk_a_b, which then collides with the real zk_a_b: said, not hidden.
        assert!(out.contains("zk_a_b 1\n") && !out.contains("zk_a_b 2"), "{out}");
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(skipped[0].contains("'zk_a_b'") && skipped[0].contains("'zk_a.b'"), "{skipped:?}");
        // Same input, same bytes.
        assert_eq!(prometheus(&entries(text)).0, out);
    }

    #[test]
    fn provider_summaries_become_one_summary_family() {
        let text = "zk_rl{quantile=\"0.5\"}\tNaN\nzk_rl_count\t0.0\nzk_rl_sum\t0.0\nzk_zz_count\t3\n";
        let (out, _) = prometheus(&entries(text));
        assert!(
            out.contains("# TYPE zk_rl summary\nzk_rl{quantile=\"0.5\"} NaN\nzk_rl_sum 0.0\nzk_rl_count 0.0\n# HELP zk_zz_count"),
            "{out}"
        );
        assert!(!out.contains("# TYPE zk_rl_count"), "{out}");
        // Without its _sum, a quantile family stays a gauge and its _count stays its own.
        let (out, _) = prometheus(&entries("zk_rl{quantile=\"0.5\"}\t1\nzk_rl_count\t1\n"));
        assert!(out.contains("# TYPE zk_rl gauge\n") && out.contains("# TYPE zk_rl_count gauge\n"), "{out}");
    }

    #[test]
    fn down_is_zk_up_zero() {
        assert!(prometheus_down().ends_with("zk_up 0\n"));
    }

    #[test]
    fn json_has_the_monitor_shape() {
        let text =
            "zk_version\t3.8.0\nzk_avg_latency\t0.0\nzk_q{quantile=\"0.5\"}\tNaN\nzk_n\t+5\nzk_big\t1.0E7\n";
        let (out, skipped) = json(&entries(text));
        assert!(skipped.is_empty());
        assert_eq!(
            out,
            "{\n  \"version\": \"3.8.0\",\n  \"avg_latency\": 0.0,\n  \"q{quantile=\\\"0.5\\\"}\": \"NaN\",\n  \"n\": 5,\n  \"big\": 1.0E7,\n  \"command\": \"monitor\",\n  \"error\": null\n}\n"
        );
        assert_eq!(json_error("x\"y"), "{\n  \"command\": \"monitor\",\n  \"error\": \"x\\\"y\"\n}\n");
    }

    #[test]
    fn json_numbers_follow_the_grammar() {
        for good in ["0", "-1", "0.0", "1.5E-4", "12e3", "-0.5"] {
            assert!(is_json_number(good), "{good}");
        }
        for bad in ["", "-", "01", ".5", "5.", "+5", "1e", "NaN", "0x10", "1 "] {
            assert!(!is_json_number(bad), "{bad}");
        }
        assert_eq!(json_string("a\u{1}\t"), "\"a\\u0001\\t\"");
    }
}
