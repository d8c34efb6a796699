//! From clap's definition of a flag to the value the settings check: one value parser turns
//! every value into a [`Raw`] that knows the name it came under, and one rule gives each long
//! name its other spelling and its `ZK_` variable.
//!
//! The subcommands' argument files (`start/args.rs`, `probe/args.rs`, `ensemble/args.rs`) define
//! each flag once, as a field of type [`Raw`] (or `Option<Raw>`, `Vec<Raw>`); clap calls
//! [`RawParser`] with the source of each value, so the name is right however it was given:
//! `--servers` typed or defaulted, `ZK_SERVERS (environment)` from the variable, `PORT` for a
//! positional argument. Nothing names a value after the fact.

use std::ffi::OsStr;

use clap::builder::{StringValueParser, TypedValueParser, ValueParserFactory};
use clap::parser::ValueSource;
use clap::{Arg, Command};

use crate::parse::{Raw, Source};

/// The value parser of every [`Raw`] field (clap's derive finds it through
/// [`ValueParserFactory`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawParser;

impl ValueParserFactory for Raw {
    type Parser = RawParser;

    fn value_parser() -> RawParser {
        RawParser
    }
}

impl TypedValueParser for RawParser {
    type Value = Raw;

    /// clap calls [`RawParser::parse_ref_`], with the source; this form is for external
    /// subcommands, which zk-entry has none of.
    fn parse_ref(&self, cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<Raw, clap::Error> {
        self.parse_ref_(cmd, arg, value, ValueSource::CommandLine)
    }

    fn parse_ref_(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
        source: ValueSource,
    ) -> Result<Raw, clap::Error> {
        // clap's own refusal of a value that is not UTF-8, which crate::cli turns into one line
        // naming the variable.
        let text = StringValueParser::new().parse_ref(cmd, arg, value)?;
        let source = match source {
            ValueSource::EnvVariable => Source::Environment,
            ValueSource::CommandLine => Source::CommandLine,
            _ => Source::Default,
        };
        Ok(Raw::new(name(arg, source), text, source))
    }
}

/// `--servers`, `ZK_SERVERS (environment)` when the value came from the variable, or the value
/// name (`PORT`) of a positional argument.
fn name(arg: Option<&Arg>, source: Source) -> String {
    let Some(arg) = arg else { return String::new() };
    match (arg.get_env(), arg.get_long()) {
        (Some(var), _) if source == Source::Environment => variable(&var.to_string_lossy()),
        (_, Some(long)) => format!("--{long}"),
        _ => arg
            .get_value_names()
            .and_then(|names| names.first())
            .map_or_else(|| arg.get_id().to_string(), |name| name.to_string()),
    }
}

/// How a value read from the variable `var` is named in messages.
pub(crate) fn variable(var: &str) -> String {
    format!("{var} (environment)")
}

/// The variable of the flag `--<long>`: `ZK_DATA_DIR` for `--data_dir`, `ZK_DRY_RUN` for
/// `--dry-run`.
pub(crate) fn variable_of(long: &str) -> String {
    format!("ZK_{}", long.replace('-', "_").to_ascii_uppercase())
}

/// A flag with its other spelling as an alias: `--data-dir` for `--data_dir` (start-zookeeper's
/// spellings are the names, kebab-case is accepted too), `--dry_run` for `--dry-run`. Applied to
/// every argument of a subcommand (`#[command(mut_args = flag::aliased)]`).
pub(crate) fn aliased(arg: Arg) -> Arg {
    // Most names have one spelling only (`--servers`, `--host`): nothing to build for them.
    let Some(long) = arg.get_long().filter(|long| long.contains(['_', '-'])) else { return arg };
    let other: String = long
        .chars()
        .map(|c| match c {
            '_' => '-',
            '-' => '_',
            c => c,
        })
        .collect();
    arg.alias(other)
}

/// [`aliased`], and a flag that takes a value also read from its variable ([`variable_of`])
/// unless it names one of its own. A switch (a flag without a value) gets none: clap would
/// accept only `true` or `false` there, so its variable is read apart (`start/args.rs`).
pub(crate) fn aliased_with_variable(arg: Arg) -> Arg {
    let arg = aliased(arg);
    match arg.get_long() {
        Some(long) if arg.get_env().is_none() && arg.get_action().takes_values() => {
            let var = variable_of(long);
            arg.env(var)
        }
        _ => arg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_named_after_the_long_name() {
        assert_eq!(variable_of("data_dir"), "ZK_DATA_DIR");
        assert_eq!(variable_of("4lw_whitelist"), "ZK_4LW_WHITELIST");
        assert_eq!(variable_of("dry-run"), "ZK_DRY_RUN");
    }

    #[test]
    fn each_long_name_gets_its_other_spelling_once() {
        let aliases = |arg: Arg| -> Vec<String> {
            let arg = aliased_with_variable(arg);
            arg.get_all_aliases().unwrap_or_default().into_iter().map(str::to_string).collect()
        };
        assert_eq!(aliases(Arg::new("a").long("data_dir")), ["data-dir"]);
        assert_eq!(aliases(Arg::new("a").long("dry-run")), ["dry_run"]);
        assert!(aliases(Arg::new("a").long("servers")).is_empty());
    }

    #[test]
    fn only_flags_with_values_get_a_variable() {
        let env = |arg: Arg| aliased_with_variable(arg).get_env().map(|v| v.to_string_lossy().into_owned());
        assert_eq!(env(Arg::new("a").long("tick_time")).as_deref(), Some("ZK_TICK_TIME"));
        assert_eq!(
            env(Arg::new("a").long("server").env("ZK_ENTRY_SERVER")).as_deref(),
            Some("ZK_ENTRY_SERVER")
        );
        assert_eq!(env(Arg::new("a").long("reconfig").action(clap::ArgAction::SetTrue)), None);
        assert_eq!(env(Arg::new("a").value_name("PORT")), None);
    }
}
