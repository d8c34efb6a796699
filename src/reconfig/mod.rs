//! Dynamic membership, as the commands that change or show it: `members` (the committed
//! membership) and, built on it, the joining, promoting and resizing of docs/design.md,
//! "Dynamic reconfiguration". The protocol lives in [`crate::zk`]; this folder decides what to
//! ask for, and when it is safe.
//!
//! Each command's input is checked here ([`crate::reach`] checks the shared part, where to connect),
//! before any file is read or connection opened, and then the command runs.

pub(crate) mod args;
pub(crate) mod leave;
pub(crate) mod members;
pub(crate) mod resize;

use crate::reach::{AuthorisedArgs, authorised};
use crate::zk::config::MAX_SERVER_ID;
use args::ResizeArgs;

/// Check `zk-entry resize`'s input and run it.
pub(crate) fn resize(input: &ResizeArgs) -> anyhow::Result<()> {
    let size = input.size.number(1, MAX_SERVER_ID)?;
    let observers = input.observers.as_ref().map(|raw| raw.number(0, size - 1)).transpose()?;
    let (target, password) = authorised(&input.authorised)?;
    resize::run(&target, size, observers, &password)
}

/// Check `zk-entry leave`'s input and run it.
pub(crate) fn leave(input: &AuthorisedArgs) -> anyhow::Result<()> {
    let (target, password) = authorised(input)?;
    let hostname = hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    leave::run(&target, &password, &hostname)
}
