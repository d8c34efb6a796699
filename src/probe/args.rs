//! The flags of `zk-entry ready` and `zk-entry metrics` (and of `zookeeper-ready` and
//! `zookeeper-metrics`), each defined once; [`crate::probe::settings`] checks them.
//!
//! The structs carry plain comments, not doc comments: their definitions are deferred until the
//! subcommand runs (crate::cli), and a doc comment would then replace the subcommand's about line.

use clap::Args;

use crate::flag;
use crate::parse::Raw;

// Where `ready` and `metrics` connect, and how long they may take.
#[derive(Debug, Clone, Args)]
pub(crate) struct TargetArgs {
    /// ZooKeeper's client port
    #[arg(value_name = "PORT", default_value = "2181")]
    pub(crate) port: Raw,

    /// Host name or address of the server
    #[arg(long = "host", default_value = "127.0.0.1", value_name = "HOST")]
    pub(crate) host: Raw,

    /// Deadline for the whole exchange (connect, send, read): 800, 800ms, 1s or 1.5s
    #[arg(long = "timeout", default_value = "800ms", value_name = "DURATION")]
    pub(crate) timeout: Raw,
}

// Flags of `zk-entry ready`.
#[derive(Debug, Clone, Args)]
#[command(mut_args = flag::aliased)]
pub(crate) struct ReadyArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,

    /// Succeed only when srvr reports Mode: leader, follower, observer or standalone (readiness
    /// for a Service with publishNotReadyAddresses: true; never for liveness)
    #[arg(long = "quorum")]
    pub(crate) quorum: bool,

    /// With --quorum, also accept Mode: read-only
    #[arg(long = "allow_read_only")]
    pub(crate) allow_read_only: bool,
}

// Flags of `zk-entry metrics`.
#[derive(Debug, Clone, Args)]
#[command(mut_args = flag::aliased)]
pub(crate) struct MetricsArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,

    /// Output: raw (mntr's bytes), prometheus (text exposition) or json (AdminServer's /commands/monitor)
    #[arg(long = "format", default_value = "raw", value_name = "FORMAT")]
    pub(crate) format: Raw,
}
