//! Dynamic membership, as the commands that change or show it: `members` (the committed
//! membership) and, built on it, the joining, promoting and resizing of docs/design.md,
//! "Dynamic reconfiguration". The protocol lives in [`crate::zk`]; this folder decides what to
//! ask for, and when it is safe.

pub(crate) mod join;
pub(crate) mod leave;
pub(crate) mod members;
pub(crate) mod resize;
pub(crate) mod settings;
