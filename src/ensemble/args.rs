//! The flags of the membership commands (`members`, `resize`, `leave`, the hidden `join`), each
//! defined once, and the arguments `start --reconfig` runs `join` with;
//! [`crate::ensemble::settings`] checks them.
//!
//! The structs carry plain comments, not doc comments: their definitions are deferred until the
//! subcommand runs (crate::cli), and a doc comment would then replace the subcommand's about line.

use std::ffi::OsString;
use std::path::Path;

use clap::Args;

use crate::flag;
use crate::parse::Raw;

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

// Flags of `zk-entry members`.
#[derive(Debug, Clone, Args)]
#[command(mut_args = flag::aliased)]
pub(crate) struct MembersArgs {
    #[command(flatten)]
    pub(crate) ensemble: EnsembleArgs,
}

// Flags of `zk-entry resize`.
#[derive(Debug, Clone, Args)]
#[command(mut_args = flag::aliased)]
pub(crate) struct ResizeArgs {
    /// The number of members to keep: ordinals 0 to N-1 stay
    #[arg(value_name = "N")]
    pub(crate) size: Raw,

    /// How many of them, the highest ordinals, are observers [default: the number recorded, else 0]
    #[arg(long = "observers", value_name = "K")]
    pub(crate) observers: Option<Raw>,

    #[command(flatten)]
    pub(crate) authorised: AuthorisedArgs,
}

// Flags of `zk-entry leave`.
#[derive(Debug, Clone, Args)]
#[command(mut_args = flag::aliased)]
pub(crate) struct LeaveArgs {
    #[command(flatten)]
    pub(crate) authorised: AuthorisedArgs,
}

// Flags of the hidden `zk-entry join`, given by `start --reconfig` only ([`JoinArgs::argv`]).
#[derive(Debug, Clone, Args)]
#[command(mut_args = flag::aliased)]
pub(crate) struct JoinArgs {
    #[command(flatten)]
    pub(crate) authorised: AuthorisedArgs,

    /// This server's participant line, server.N=HOST:QUORUM:ELECTION:participant;CLIENT
    #[arg(long = "line", value_name = "LINE")]
    pub(crate) line: Raw,

    /// The shape to record when the ensemble has none: start's --servers
    #[arg(long = "size", value_name = "N")]
    pub(crate) size: Raw,

    /// The observers of that shape: start's --observers
    #[arg(long = "observers", value_name = "K")]
    pub(crate) observers: Raw,
}

/// How long `join` may wait for its server to serve and be promoted: a joiner syncs the
/// ensemble's data first.
const JOIN_TIMEOUT: &str = "600s";

impl JoinArgs {
    /// `zk-entry join` (after the program) as `start --reconfig` runs it beside an observer's
    /// JVM: through the server's own client port, with this server's participant `line`, the
    /// shape of `--servers` and `--observers`, and the super user's password file.
    pub(crate) fn argv(
        client_port: u16,
        line: &str,
        size: u64,
        observers: u64,
        password_file: &Path,
    ) -> Vec<OsString> {
        let mut argv: Vec<OsString> = [
            "join".to_string(),
            format!("--timeout={JOIN_TIMEOUT}"),
            "--server".to_string(),
            format!("127.0.0.1:{client_port}"),
            format!("--line={line}"),
            format!("--size={size}"),
            format!("--observers={observers}"),
            "--super_password_file".to_string(),
        ]
        .map(OsString::from)
        .into();
        argv.push(password_file.into());
        argv
    }
}
