//! How the commands that talk to a running ensemble reach it: `--server`, `--timeout` and the
//! super user's `--super_password_file`, as typed ([`EnsembleArgs`], [`AuthorisedArgs`]) and
//! checked ([`Target`], [`authorised`]). Shared by the membership commands (`crate::reconfig`)
//! and the `join` that `start --reconfig` runs beside an observer (`crate::start::join`), so it
//! lives below both.
//!
//! The structs carry plain comments, not doc comments: their definitions are deferred until the
//! subcommand runs (crate::cli), and a doc comment would then replace the subcommand's about line.

use std::time::Duration;

use clap::Args;

use crate::flag;
use crate::parse::Raw;
use crate::secrets::password::Password;

// Where the membership commands reach the ensemble, and how long they may take.
#[derive(Debug, Clone, Args)]
pub(crate) struct EnsembleArgs {
    /// Servers to ask, tried in order: HOST:PORT, comma-separated
    // A variable named apart, not by the rule: ZK_SERVER is one letter from start's ZK_SERVERS.
    #[arg(
        long = "server",
        env = "ZK_ENTRY_SERVER",
        default_value = "127.0.0.1:2181",
        value_name = "HOST:PORT,..."
    )]
    pub(crate) server: Raw,

    /// Deadline for the whole command: 800ms, 5s, 90s
    #[arg(long = "timeout", default_value = "30s", value_name = "DURATION")]
    pub(crate) timeout: Raw,
}

// The commands that change the membership: where they reach it, and the super user's secret
// (also from its variable, ZK_SUPER_PASSWORD_FILE, as for start).
#[derive(Debug, Clone, Args)]
#[command(mut_arg("super_password_file", flag::aliased_with_variable))]
pub(crate) struct AuthorisedArgs {
    #[command(flatten)]
    pub(crate) ensemble: EnsembleArgs,

    /// File holding the super user's password
    #[arg(long = "super_password_file", value_name = "PATH")]
    pub(crate) super_password_file: Raw,
}

/// A membership command's whole budget: one request is milliseconds, a resize waits for syncs.
const MIN_TIMEOUT: Duration = Duration::from_millis(100);
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `host:port`, tried in order.
    pub(crate) servers: Vec<String>,
    pub(crate) timeout: Duration,
}

impl Target {
    pub(crate) fn from_input(input: &EnsembleArgs) -> anyhow::Result<Target> {
        Ok(Target {
            servers: servers(&input.server)?,
            timeout: input.timeout.duration(MIN_TIMEOUT, MAX_TIMEOUT)?,
        })
    }
}

/// The target, then the password (flags are checked before any file is read).
pub(crate) fn authorised(input: &AuthorisedArgs) -> anyhow::Result<(Target, Password)> {
    let target = Target::from_input(&input.ensemble)?;
    let file = input.super_password_file.absolute_path()?;
    Ok((target, Password::read(&file)?))
}

/// `HOST:PORT,HOST:PORT`: each host checked as a host, each port as a port.
pub(crate) fn servers(raw: &Raw) -> anyhow::Result<Vec<String>> {
    let expected = "HOST:PORT, or several comma-separated, e.g. 127.0.0.1:2181";
    let mut out = Vec::new();
    for part in raw.text.split(',').map(str::trim) {
        let Some((host, port)) = part.rsplit_once(':') else {
            return Err(raw.reject_part(part, "has no port", expected));
        };
        let host = Raw::new(raw.name.clone(), host, raw.source).host()?;
        let port = Raw::new(raw.name.clone(), port, raw.source).port()?;
        out.push(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Source;
    use crate::parse::tests::refusal;

    fn raw(text: &str) -> Raw {
        Raw::new("--server", text, Source::CommandLine)
    }

    #[test]
    fn servers_are_host_port_lists() {
        assert_eq!(servers(&raw("127.0.0.1:2181")).unwrap(), ["127.0.0.1:2181"]);
        assert_eq!(servers(&raw("zk-0.zk-hs:2181, [::1]:2182")).unwrap(), ["zk-0.zk-hs:2181", "[::1]:2182"]);
        assert!(
            refusal(servers(&raw("zk-0"))).starts_with("--server: 'zk-0' has no port; expected HOST:PORT")
        );
        assert!(refusal(servers(&raw("zk-0:99999"))).contains("--server: '99999' is out of range"));
        assert!(refusal(servers(&raw(":2181"))).contains("--server: ''"));
    }
}
