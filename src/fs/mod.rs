//! The file system as zk-entry touches it as root, below the subcommands: every configured
//! directory opened relative to a descriptor without following a planted link ([`paths`]),
//! bounded reads and atomic writes in such directories ([`files`]), and the ownership walk that
//! gives the data directories to ZooKeeper's user ([`ownership`]). What a path in a volume may
//! be is decided here once (docs/design.md, "Threat model", "Writing files").

pub(crate) mod files;
pub(crate) mod ownership;
pub(crate) mod paths;
