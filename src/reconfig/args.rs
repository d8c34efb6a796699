//! The flags of the membership commands (`members`, `resize`, `leave`, the hidden `join`), each
//! defined once, and the arguments `start --reconfig` runs `join` with;
//! this folder's mod.rs checks them; `join`'s are in [`crate::start::args`] (start runs it).
//!
//! The structs carry plain comments, not doc comments: their definitions are deferred until the
//! subcommand runs (crate::cli), and a doc comment would then replace the subcommand's about line.

use clap::Args;

use crate::flag;
use crate::parse::Raw;
use crate::reach::{AuthorisedArgs, EnsembleArgs};

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
