//! The command line as typed: the top-level command, multi-call dispatch on the program name,
//! and clap's own errors folded into one `zk-entry:` line.
//!
//! Each subcommand defines its own arguments beside its code ([`crate::start::args`],
//! [`crate::probe::args`], [`crate::reconfig::args`]); every value arrives there as a [`Raw`]
//! that knows the name it was given under ([`crate::flag`]). The settings of each subcommand
//! check the values without calling back here, so every bad-value message comes from one place
//! and names the right flag or variable.

use std::ffi::OsString;
use std::path::Path;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::exit;
use crate::probe::args::{MetricsArgs, ReadyArgs};
use crate::reconfig::args::{LeaveArgs, MembersArgs, ResizeArgs};
use crate::start::args::JoinArgs;
use crate::start::args::{StartArgs, TlsWatchArgs};

/// Program names under which the binary acts as one subcommand (the tutorial image's scripts),
/// with that subcommand.
const ALIASES: &[(&str, &str)] =
    &[("start-zookeeper", "start"), ("zookeeper-ready", "ready"), ("zookeeper-metrics", "metrics")];

#[derive(Parser)]
#[command(
    name = "zk-entry",
    version,
    about = "Entrypoint, probe and metrics for Apache ZooKeeper in a Kubernetes StatefulSet",
    disable_help_subcommand = true,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Invocation,
}

/// What the user asked for: a subcommand with its arguments, or text to print.
//
// `defer`: a subcommand's arguments are defined only when it runs (or its help is shown), not on
// every call: building all of them, 44 `start` flags among them, was most of what a `ready` probe
// cost (docs/performance.md, "Probes"). The deferred definitions are applied after the variant's
// attributes and would override them, so the `Args` structs carry plain comments, not doc
// comments: a doc comment there would replace the subcommand's about line in its help.
#[derive(Subcommand)]
#[command(defer = true)]
pub(crate) enum Invocation {
    /// Write zoo.cfg, logging configuration and myid for this pod, then run ZooKeeper
    Start(Box<StartArgs>),
    /// Probe: exit 0 when ZooKeeper is alive (ruok, else srvr); with --quorum, only when it serves clients
    Ready(ReadyArgs),
    /// Print the server's mntr metrics: as received (raw), as Prometheus text, or as AdminServer JSON
    Metrics(MetricsArgs),
    /// Internal: started by `start --tls_dir` to keep the key store current
    #[command(name = "tls-watch", hide = true)]
    TlsWatch(TlsWatchArgs),
    /// Print the ensemble's committed membership (from /zookeeper/config): id, host, role, ports
    Members(MembersArgs),
    /// Give a --reconfig ensemble ordinals 0..N-1, the highest K observing, one change at a time; before kubectl scale --replicas=N
    Resize(ResizeArgs),
    /// preStop of a --reconfig pod: leave the membership only if zk-entry resize removed this ordinal
    Leave(LeaveArgs),
    /// Promote this joining server to a voter once it serves (run by start --reconfig)
    #[command(hide = true)]
    Join(JoinArgs),
    /// Hand the leader's role to another member before this server stops (run by start --reconfig's PID 1 on SIGTERM)
    #[command(hide = true)]
    Handoff(JoinArgs),
    /// Help or version text to print on stdout, exit 0.
    #[command(skip)]
    Info(String),
}

/// The process environment, as [`parse`] reads it.
pub(crate) fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// Parse the process arguments. `args[0]` selects the subcommand when the binary runs under a
/// script's name (a symlink), so `start-zookeeper --servers=3` is `zk-entry start --servers=3`.
/// `env` gives the variables read outside clap ([`StartArgs::with_environment`]; clap reads the
/// `ZK_<FLAG>` ones itself).
pub(crate) fn parse(
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<Invocation> {
    let mut args = args;
    let program = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let alias = ALIASES.iter().find(|(alias, _)| *alias == program);
    if let Some((_, subcommand)) = alias {
        args.insert(1, OsString::from(subcommand));
    }
    let mut command = Cli::command();
    if let Some((alias, _)) = alias {
        command = command.bin_name(*alias);
    }
    let matches = match command.try_get_matches_from_mut(&args) {
        Ok(m) => m,
        Err(err) => {
            // Point at the help of what was typed: `start-zookeeper --help`, `zk-entry ready --help`.
            let typed = args.get(1).and_then(|a| a.to_str()).and_then(|a| command.find_subcommand(a));
            let help = match (alias, typed) {
                (Some((alias, _)), _) => format!("{alias} --help"),
                (None, Some(sub)) => format!("zk-entry {} --help", sub.get_name()),
                (None, None) => "zk-entry --help".to_string(),
            };
            if err.kind() == ErrorKind::MissingRequiredArgument
                && let Some(line) = typed.and_then(|sub| missing(&err, sub))
            {
                return exit::usage(format!("{line} (see {help})"));
            }
            if err.kind() == ErrorKind::InvalidUtf8
                && let Some(var) = non_utf8_variable(&mut command, env)
            {
                return exit::usage(format!(
                    "{var} (environment) is not valid UTF-8; set it to text, or unset it (see {help})"
                ));
            }
            let outcome = clap_outcome(err, &help)?;
            return Ok(match (outcome, alias) {
                // `start-zookeeper --help` must show usage that works as typed: clap writes the
                // subcommand after the program name, which the script's name already stands for.
                (Invocation::Info(text), Some((alias, sub))) => Invocation::Info(
                    text.replace(&format!("Usage: {alias} {sub}"), &format!("Usage: {alias}")),
                ),
                (outcome, _) => outcome,
            });
        }
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|e| exit::Usage(clap_line(&e, "zk-entry --help")))?;
    Ok(match cli.command {
        Invocation::Start(args) => Invocation::Start(Box::new(args.with_environment(env)?)),
        other => other,
    })
}

/// The first `ZK_*` variable of any subcommand whose value is not UTF-8: clap refuses it without
/// saying which one.
fn non_utf8_variable(command: &mut clap::Command, env: &dyn Fn(&str) -> Option<OsString>) -> Option<String> {
    // Every subcommand's variables, as before the definitions were deferred: only the one that
    // ran has been built.
    command.build();
    command
        .get_subcommands()
        .flat_map(|sub| sub.get_arguments())
        .chain(command.get_arguments())
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .find(|name| env(name).is_some_and(|value| value.to_str().is_none()))
}

/// Help and version requests are successes; everything else clap rejects is a usage error.
fn clap_outcome(err: clap::Error, help: &str) -> anyhow::Result<Invocation> {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(Invocation::Info(err.render().to_string())),
        _ => exit::usage(clap_line(&err, help)),
    }
}

/// What `sub` still needs, named with what each takes: `resize needs N (...) and
/// --super_password_file=PATH (...; or set ZK_SUPER_PASSWORD_FILE)`. clap lists the missing
/// arguments on lines of their own, which the one-line form would cut off.
fn missing(err: &clap::Error, sub: &clap::Command) -> Option<String> {
    let Some(ContextValue::Strings(shown)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    // clap shows an option as `--long <VALUE>`, a positional as `<VALUE>`.
    let value_name = |arg: &clap::Arg| {
        arg.get_value_names()
            .and_then(|v| v.first())
            .map_or_else(|| arg.get_id().to_string(), |n| n.to_string())
    };
    let named = |text: &str| {
        sub.get_arguments().find(|arg| match arg.get_long() {
            Some(long) => text.strip_prefix("--").and_then(|t| t.split(' ').next()) == Some(long),
            None => text == format!("<{}>", value_name(arg)),
        })
    };
    // Positionals first, as the usage line writes them.
    let mut shown: Vec<&String> = shown.iter().collect();
    shown.sort_by_key(|text| text.starts_with("--"));
    let described: Vec<String> = shown
        .into_iter()
        .map(|text| {
            let Some(arg) = named(text) else { return text.clone() };
            let mut out = match arg.get_long() {
                Some(long) => format!("--{long}={}", value_name(arg)),
                None => value_name(arg),
            };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            let mut what: Vec<String> = Vec::new();
            let mut chars = help.trim().chars();
            if let Some(first) = chars.next() {
                what.push(first.to_lowercase().chain(chars).collect());
            }
            if let Some(var) = arg.get_env() {
                what.push(format!("or set {}", var.to_string_lossy()));
            }
            if !what.is_empty() {
                out.push_str(&format!(" ({})", what.join("; ")));
            }
            out
        })
        .collect();
    let (last, rest) = described.split_last()?;
    let list = if rest.is_empty() { last.clone() } else { format!("{} and {last}", rest.join(", ")) };
    Some(format!("{} needs {list}", sub.get_name()))
}

/// clap's error reduced to its first line, plus the suggestion clap found, if any.
fn clap_line(err: &clap::Error, help: &str) -> String {
    let rendered = err.render().to_string();
    let first = rendered.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut line = first.to_string();
    match err.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => line.push_str(&format!("; did you mean {s}?")),
        Some(ContextValue::Strings(list)) if !list.is_empty() => {
            line.push_str(&format!("; did you mean {}?", list.join(" or ")));
        }
        _ => {}
    }
    if err.kind() == ErrorKind::MissingSubcommand
        || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    {
        line =
            "no subcommand given; expected one of: start, ready, metrics, members, resize, leave".to_string();
    }
    line.push_str(&format!(" (see {help})"));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Raw, Source};

    /// Parse `args` with these variables as the environment read outside clap.
    fn parse_with_env(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Invocation> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| OsString::from(v));
        parse(args.iter().map(OsString::from).collect(), &lookup)
    }

    fn parse_strs(args: &[&str]) -> anyhow::Result<Invocation> {
        parse_with_env(args, &[])
    }

    /// `zk-entry start FLAGS...` as typed.
    fn start_input(flags: &[&str], env: &[(&str, &str)]) -> anyhow::Result<StartArgs> {
        let mut args = vec!["zk-entry", "start"];
        args.extend_from_slice(flags);
        match parse_with_env(&args, env)? {
            Invocation::Start(s) => Ok(*s),
            _ => panic!("not start"),
        }
    }

    fn start(args: &[&str]) -> StartArgs {
        match parse_strs(args) {
            Ok(Invocation::Start(s)) => *s,
            Ok(_) => panic!("not start"),
            Err(e) => panic!("parse failed: {e:#}"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The probe's cost: a call defines only the arguments of the subcommand it runs.
    #[test]
    fn only_the_subcommand_that_runs_is_built() {
        let mut command = Cli::command();
        command.try_get_matches_from_mut(["zk-entry", "ready", "2181"]).expect("ready parses");
        let count = |command: &clap::Command, name: &str| {
            command.find_subcommand(name).map(|sub| sub.get_arguments().count()).unwrap_or_default()
        };
        assert!(count(&command, "ready") > 0);
        for other in ["start", "metrics", "members", "resize", "leave", "join", "handoff", "tls-watch"] {
            assert_eq!(count(&command, other), 0, "{other} was built for a ready call");
        }
    }

    /// Deferred definitions are applied last: a doc comment on an `Args` struct would replace
    /// the subcommand's about line once it is built.
    #[test]
    fn building_a_subcommand_keeps_its_about_line() {
        let listed: Vec<_> = Cli::command()
            .get_subcommands()
            .map(|sub| (sub.get_name().to_string(), sub.get_about().map(|a| a.to_string())))
            .collect();
        let mut command = Cli::command();
        command.build();
        for (name, about) in listed {
            let built = command.find_subcommand(&name).and_then(|sub| sub.get_about()).map(|a| a.to_string());
            assert_eq!(built, about, "{name}");
        }
    }

    #[test]
    fn equals_space_and_kebab_spellings_agree() {
        let a = start(&["zk-entry", "start", "--data_dir=/d", "--tick_time", "3000"]);
        let b = start(&["zk-entry", "start", "--data-dir", "/d", "--tick-time=3000"]);
        assert_eq!(a.data_dir.text, "/d");
        assert_eq!(b.data_dir.text, "/d");
        assert_eq!(a.tick_time.text, "3000");
        assert_eq!(b.tick_time.text, "3000");
    }

    #[test]
    fn values_know_their_names_and_sources() {
        let s = start(&["/usr/local/bin/start-zookeeper", "--servers=3"]);
        assert_eq!(s.servers, Raw::new("--servers", "3", Source::CommandLine));
        assert_eq!(s.heap, Raw::new("--heap", "2G", Source::Default));
        assert_eq!(s.user, Raw::new("--user", "zookeeper", Source::Default));
        assert_eq!(s.min_session_timeout.name, "--min_session_timeout");
        assert!(!s.min_session_timeout.is_given());
        let s = start_input(&[], &[("ZK_DRY_RUN", "yes"), ("JVMFLAGS", "-Da=1")]).unwrap();
        assert_eq!(s.dry_run, Some(Raw::new("ZK_DRY_RUN (environment)", "yes", Source::Environment)));
        assert_eq!(s.jvmflags_env.unwrap().name, "JVMFLAGS (environment)");
        let s = start_input(&["--dry-run"], &[("ZK_DRY_RUN", "no")]).unwrap();
        assert_eq!(s.dry_run.unwrap().text, "true", "the flag wins over its variable");
    }

    #[test]
    fn unknown_flag_is_one_line_usage_error_with_suggestion() {
        let err = parse_strs(&["zk-entry", "start", "--servres=3"]).err().expect("must fail");
        assert_eq!(exit::code_of(&err), exit::USAGE);
        let line = exit::one_line(&err);
        assert!(line.contains("--servres"), "{line}");
        assert!(line.contains("--servers"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn errors_point_at_the_help_of_what_was_typed() {
        let line = |args: &[&str]| exit::one_line(&parse_strs(args).err().expect("must fail"));
        assert!(line(&["start-zookeeper", "--servres=3"]).ends_with("(see start-zookeeper --help)"));
        assert!(line(&["zk-entry", "metrics", "--fromat=raw"]).ends_with("(see zk-entry metrics --help)"));
        assert!(line(&["zk-entry", "--bogus"]).ends_with("(see zk-entry --help)"));
    }

    /// clap lists what is missing on lines of their own, which the one-line form cut off:
    /// "the following required arguments were not provided:" and nothing after it.
    #[test]
    fn a_missing_required_flag_is_named_with_what_it_takes() {
        let line = |args: &[&str]| exit::one_line(&parse_strs(args).err().expect("must fail"));
        let leave = line(&["zk-entry", "leave"]);
        assert_eq!(
            leave,
            "leave needs --super_password_file=PATH (file holding the super user's password; or set ZK_SUPER_PASSWORD_FILE) (see zk-entry leave --help)"
        );
        let resize = line(&["zk-entry", "resize", "--observers=1"]);
        assert!(resize.starts_with("resize needs N (the number of members to keep: ordinals 0 to N-1 stay) and --super_password_file=PATH ("), "{resize}");
        let join = line(&["zk-entry", "join", "--super_password_file=/p", "--size=3"]);
        assert!(join.starts_with("join needs --line=LINE (this server's participant line, "), "{join}");
        assert!(join.contains(" and --observers=K ("), "{join}");
        assert!(join.ends_with("(see zk-entry join --help)"), "{join}");
        let watch = line(&["zk-entry", "tls-watch", "--tls_dir=/t", "--fqdn=a"]);
        assert_eq!(watch, "tls-watch needs --store=STORE (see zk-entry tls-watch --help)");
    }

    #[test]
    fn stray_positional_is_rejected() {
        let err = parse_strs(&["start-zookeeper", "foo", "--servers=5"]).err().expect("must fail");
        assert_eq!(exit::code_of(&err), exit::USAGE);
        assert!(exit::one_line(&err).contains("foo"));
    }

    #[test]
    fn help_is_not_an_error() {
        assert!(matches!(parse_strs(&["zk-entry", "start", "--help"]), Ok(Invocation::Info(_))));
    }

    #[test]
    fn script_names_show_usage_that_works_as_typed() {
        let Ok(Invocation::Info(help)) = parse_strs(&["/usr/local/bin/start-zookeeper", "--help"]) else {
            panic!("no help")
        };
        assert!(help.contains("Usage: start-zookeeper [OPTIONS]"), "{help}");
        assert!(!help.contains("start-zookeeper start"), "{help}");
    }

    #[test]
    fn command_after_double_dash_keeps_its_own_flags() {
        let s = start(&["zk-entry", "start", "--servers=1", "--", "/bin/zkServer.sh", "--servers=9", "-x"]);
        assert_eq!(s.servers.text, "1");
        assert_eq!(s.command, vec!["/bin/zkServer.sh", "--servers=9", "-x"]);
        assert!(start(&["zk-entry", "start"]).command.is_empty());
    }

    #[test]
    fn script_names_select_the_probes() {
        match parse_strs(&["/usr/local/bin/zookeeper-ready", "2181"]) {
            Ok(Invocation::Ready(r)) => {
                assert_eq!(r.target.port, Raw::new("PORT", "2181", Source::CommandLine));
                assert_eq!(r.target.host, Raw::new("--host", "127.0.0.1", Source::Default));
                assert_eq!(r.target.timeout.text, "800ms");
                assert!(!r.quorum);
            }
            _ => panic!("zookeeper-ready is not ready"),
        }
        match parse_strs(&["zookeeper-metrics"]) {
            Ok(Invocation::Metrics(m)) => {
                assert_eq!(m.target.port.text, "2181");
                assert_eq!(m.format, Raw::new("--format", "raw", Source::Default));
            }
            _ => panic!("zookeeper-metrics is not metrics"),
        }
    }

    #[test]
    fn allow_read_only_has_a_kebab_spelling() {
        assert!(matches!(
            parse_strs(&["zk-entry", "ready", "--quorum", "--allow-read-only"]),
            Ok(Invocation::Ready(r)) if r.allow_read_only
        ));
    }

    #[test]
    fn non_utf8_variables_are_named() {
        use std::os::unix::ffi::OsStringExt;
        let lookup = |name: &str| (name == "JVMFLAGS").then(|| OsString::from_vec(vec![0xff]));
        let err = parse(vec!["zk-entry".into(), "start".into()], &lookup).err().expect("must fail");
        assert_eq!(exit::one_line(&err), "JVMFLAGS (environment) is not valid UTF-8; fix the variable");
    }

    /// Regression: clap split a flag's value at its newline, and the second half of a secret
    /// was quoted as an entry of its own.
    #[test]
    fn only_the_variables_are_split_into_lines() {
        let s = start(&["zk-entry", "start", "--set", "a.password=x\ny", "--set_file=k=/a\n/b"]);
        let texts = |raws: &[Raw]| raws.iter().map(|r| r.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&s.set), ["a.password=x\ny"]);
        assert_eq!(texts(&s.set_file), ["k=/a\n/b"]);
        // The variables (clap reads them from the process) are split: tests/pod_start.rs.
    }

    #[test]
    fn set_is_repeatable() {
        let s = start(&["zk-entry", "start", "--set", "a=1", "--set=b=2"]);
        let texts: Vec<&str> = s.set.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["a=1", "b=2"]);
    }

    /// The argv `start` builds for a hidden helper, parsed as the helper parses it.
    fn helper(argv: Vec<OsString>) -> Invocation {
        let args = std::iter::once(OsString::from("/proc/self/exe")).chain(argv).collect();
        parse(args, &|_| None).unwrap_or_else(|e| panic!("the helper's argv is refused: {e:#}"))
    }

    #[test]
    fn the_tls_helper_reads_the_argv_start_gives_it() {
        let watch = crate::start::args::Watch {
            tls_dir: "/etc/zk-tls".into(),
            store: "/opt/zookeeper/conf/tls/keystore.p12".into(),
            fqdn: "zk-0.zk-hs.default.svc.cluster.local".into(),
        };
        for check in [false, true] {
            let Invocation::TlsWatch(args) = helper(watch.argv(check)) else { panic!("not tls-watch") };
            assert_eq!(args.watch, watch);
            assert_eq!(args.check, check);
        }
    }

    #[test]
    fn join_reads_the_argv_start_gives_it() {
        let line = "server.4=zk-3.zk-hs:2888:3888:participant;0.0.0.0:2181";
        let argv = JoinArgs::argv(
            crate::start::args::Helper::Join,
            2181,
            line,
            5,
            2,
            Path::new("/etc/zk-super/password"),
        );
        let Invocation::Join(args) = helper(argv) else { panic!("not join") };
        assert_eq!(args.line, Raw::new("--line", line, Source::CommandLine));
        assert_eq!((args.size.text.as_str(), args.observers.text.as_str()), ("5", "2"));
        let authorised = &args.authorised;
        assert_eq!(authorised.super_password_file.text, "/etc/zk-super/password");
        assert_eq!(authorised.ensemble.server.text, "127.0.0.1:2181");
        assert_eq!(authorised.ensemble.timeout.text, "600s");
        let argv = JoinArgs::argv(
            crate::start::args::Helper::Handoff,
            2181,
            line,
            5,
            2,
            Path::new("/etc/zk-super/password"),
        );
        let Invocation::Handoff(args) = helper(argv) else { panic!("not handoff") };
        assert_eq!(args.line, Raw::new("--line", line, Source::CommandLine));
        assert_eq!((args.size.text.as_str(), args.observers.text.as_str()), ("5", "2"));
        assert_eq!(args.authorised.ensemble.server.text, "127.0.0.1:2181");
        assert_eq!(args.authorised.ensemble.timeout.text, "4s");
    }
}
