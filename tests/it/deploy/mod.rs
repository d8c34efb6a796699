//! The container image recipe (`docker/Dockerfile`) and the Kubernetes manifests
//! (`docker/k8s/*.yaml`) checked against the binary they ship, so that neither can drift from the
//! CLI. Neither is built nor applied here (no Docker engine, no cluster); instead:
//!
//! - every zk-entry command line in the manifests (the container's command, every probe) runs
//!   on the real binary in a simulated container: a "pod" (tests/support's `Pod`: host name
//!   `zk-N`, the kubelet's /etc/hosts, no network) laid out as the image is (zk-entry and its
//!   links in /usr/local/bin), as uid 1000 with gid 1000 and no new privileges, where only the
//!   manifest's volumes are writable (everything else is root's, as a read-only root file system
//!   would be). `start` must prepare everything and run its child (`/bin/true` stands in for
//!   java); `ready` and `metrics` must fail for the reason a probe without a server fails (exit
//!   1, their own message), never with a usage error (exit 2);
//! - the facts the manifests share must agree: ports, `--servers` and replicas, probe modes and
//!   timeouts, the security context, volumes for every directory zk-entry writes, the heap rule,
//!   anti-affinity per variant, the image tag;
//! - the Dockerfile's stages, its musl build, the sources it copies (cargo checks them in a copy),
//!   its checksum step, user, ports and entrypoint, and its links against the binary's multi-call
//!   names (from `ALIASES` in src/cli.rs, and from how the binary behaves under each name).
//!
//! And zookeeper-standalone.yaml runs for real: Debian's ZooKeeper started by its command as uid
//! 1000 on that read-only layout, its probes passing, SIGTERM ending it with exit 0.
//!
//! Negative controls show the checks fail on a misspelled flag, a shell, a missing volume, or an
//! unknown link name.
//! The pod tests need root (CI runs as root); without it they fail and say so.
//!
//! This module reads what the binary says about itself (its subcommands, flags, defaults and
//! multi-call names) and takes command lines apart; `container` runs one in a simulated
//! container; `manifests` and `dockerfile` hold the checks of each.

mod container;
mod dockerfile;
mod manifests;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The user and group the image and the manifests run ZooKeeper as.
const UID: i64 = 1000;

fn repo_file(rel: &str) -> String {
    fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// What the binary says about itself

/// The multi-call names and the subcommand each selects, from `ALIASES` in src/cli.rs: the one
/// list the binary dispatches on.
fn multi_call_names() -> BTreeMap<String, String> {
    let src = repo_file("src/cli.rs");
    let at = src.find("const ALIASES").expect("const ALIASES in src/cli.rs");
    let body = &src[at..];
    let body = &body[..body.find("];").expect("end of ALIASES")];
    let quoted: Vec<&str> = body.split('"').skip(1).step_by(2).collect();
    assert!(!quoted.is_empty() && quoted.len().is_multiple_of(2), "ALIASES not understood: {body}");
    quoted.chunks(2).map(|pair| (pair[0].to_string(), pair[1].to_string())).collect()
}

/// The subcommands `zk-entry --help` lists.
fn subcommands() -> BTreeSet<String> {
    let out = zk_entry().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let section = text.split("Commands:").nth(1).expect("a Commands: section");
    section
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// One option of a subcommand, as its `--help` describes it.
#[derive(Debug, Clone)]
struct FlagHelp {
    takes_value: bool,
    default: Option<String>,
}

/// Options (`--name`, without dashes) and positional arguments (`[NAME]`) of `zk-entry SUB`,
/// read from its `--help`, so that defaults are the binary's, not a copy.
fn help_flags(sub: &str) -> BTreeMap<String, FlagHelp> {
    let out = zk_entry().args([sub, "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut flags = BTreeMap::new();
    for line in stdout(&out).lines() {
        let t = line.trim_start();
        let t = t.strip_prefix("-h, ").or_else(|| t.strip_prefix("-V, ")).unwrap_or(t);
        let default = line
            .rfind("[default: ")
            .map(|i| line[i + "[default: ".len()..].split(']').next().unwrap_or("").to_string());
        if let Some(rest) = t.strip_prefix("--") {
            let name = rest.split_whitespace().next().unwrap_or("").to_string();
            let takes_value = rest[name.len()..].trim_start().starts_with('<');
            flags.insert(name, FlagHelp { takes_value, default });
        } else if let Some(rest) = t.strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or("").trim_end_matches("...").to_string();
            flags.insert(name, FlagHelp { takes_value: true, default });
        }
    }
    assert!(flags.len() > 3, "no options found in `zk-entry {sub} --help`");
    flags
}

fn default_of(flags: &BTreeMap<String, FlagHelp>, name: &str) -> String {
    flags
        .get(name)
        .and_then(|f| f.default.clone())
        .unwrap_or_else(|| panic!("--help gives no default for {name}"))
}

// ---------------------------------------------------------------------------------------------
// Command lines: what a manifest or the Dockerfile passes to zk-entry

/// A command line that runs zk-entry (directly or through a multi-call name), taken apart.
#[derive(Debug, Clone)]
struct ZkCommand {
    subcommand: String,
    /// `--name=value` (or `--name` for a switch, value ""), by name without dashes.
    flags: BTreeMap<String, String>,
    positional: Vec<String>,
}

/// The basename of a command line's program.
fn program(argv: &[String]) -> &str {
    argv.first().map(|p| p.rsplit('/').next().unwrap_or(p)).unwrap_or("")
}

/// Take `argv` apart if it runs zk-entry; None if it runs something else.
fn zk_command(argv: &[String]) -> Option<ZkCommand> {
    let names = multi_call_names();
    let (subcommand, rest) = match program(argv) {
        "zk-entry" => (argv.get(1)?.clone(), &argv[2..]),
        other => (names.get(other)?.clone(), &argv[1..]),
    };
    let mut flags = BTreeMap::new();
    let mut positional = Vec::new();
    for arg in rest {
        match arg.strip_prefix("--") {
            Some(flag) => {
                let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
                flags.insert(name.to_string(), value.to_string());
            }
            None => positional.push(arg.clone()),
        }
    }
    Some(ZkCommand { subcommand, flags, positional })
}

/// Statically checkable mistakes of a command line: a shell, a flag the subcommand does not
/// have, a value flag without `=value` (the one spelling the manifests use, so that this reader
/// stays simple), a switch with a value.
fn static_problems(argv: &[String]) -> Vec<String> {
    if ["sh", "bash", "dash", "ash"].contains(&program(argv)) {
        return vec![format!("{argv:?} runs a shell; run zk-entry directly (no sh -c)")];
    }
    let Some(cmd) = zk_command(argv) else {
        return vec![format!("{argv:?} does not run zk-entry")];
    };
    if !subcommands().contains(&cmd.subcommand) {
        return vec![format!("{argv:?}: zk-entry has no subcommand {:?}", cmd.subcommand)];
    }
    let help = help_flags(&cmd.subcommand);
    let mut problems = Vec::new();
    for (name, value) in &cmd.flags {
        match help.get(name) {
            None => problems.push(format!("{argv:?}: zk-entry {} has no --{name}", cmd.subcommand)),
            Some(f) if f.takes_value && value.is_empty() => {
                problems.push(format!("{argv:?}: write --{name}=VALUE"))
            }
            Some(f) if !f.takes_value && !value.is_empty() => {
                problems.push(format!("{argv:?}: --{name} is a switch and takes no value"))
            }
            Some(_) => {}
        }
    }
    problems
}

/// `path` is `dir` or below it.
fn under(path: &str, dir: &str) -> bool {
    path == dir || path.starts_with(&format!("{}/", dir.trim_end_matches('/')))
}

/// `NAME ?= value` or `NAME := value` in the Makefile.
fn makefile_var(name: &str) -> String {
    let makefile = repo_file("Makefile");
    makefile
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(['?', ':']).filter(|(_, v)| v.starts_with('='))?;
            (k.trim() == name).then(|| v[1..].trim().to_string())
        })
        .unwrap_or_else(|| panic!("{name} in the Makefile"))
}
