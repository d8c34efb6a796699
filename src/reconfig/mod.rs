//! Dynamic membership, as the commands that change or show it: `members` (the committed
//! membership) and, built on it, the joining, promoting and resizing of docs/design.md,
//! "Dynamic reconfiguration". The protocol lives in [`crate::zk`]; this folder decides what to
//! ask for, and when it is safe.
//!
//! Each command's input is checked here ([`settings`] checks the shared part, where to connect),
//! before any file is read or connection opened, and then the command runs.

pub(crate) mod join;
pub(crate) mod leave;
pub(crate) mod members;
pub(crate) mod resize;
pub(crate) mod settings;

use crate::cli::{AuthorisedInput, JoinInput, ResizeInput};
use crate::secrets::password::Password;
use crate::shape::Shape;
use crate::zk::config::MAX_SERVER_ID;
use settings::Target;

/// Check `zk-entry join`'s input and run it.
pub(crate) fn join(input: &JoinInput) -> anyhow::Result<()> {
    let (target, password) = authorised(&input.authorised)?;
    let me = join::parse_line(&input.line.text).map_err(|e| {
        input.line.reject(
            &format!("is not a server line ({e:#})"),
            "server.N=HOST:QUORUM:ELECTION:participant;CLIENT",
        )
    })?;
    let size = input.size.number(1, MAX_SERVER_ID)?;
    let observers = input.observers.number(0, size - 1)?;
    let shape = Shape { size, observers, version: 0 };
    join::run(&target, &me, shape, &password)
}

/// Check `zk-entry resize`'s input and run it.
pub(crate) fn resize(input: &ResizeInput) -> anyhow::Result<()> {
    let size = input.size.number(1, MAX_SERVER_ID)?;
    let observers = input.observers.as_ref().map(|raw| raw.number(0, size - 1)).transpose()?;
    let (target, password) = authorised(&input.authorised)?;
    resize::run(&target, size, observers, &password)
}

/// Check `zk-entry leave`'s input and run it.
pub(crate) fn leave(input: &AuthorisedInput) -> anyhow::Result<()> {
    let (target, password) = authorised(input)?;
    let hostname = hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    leave::run(&target, &password, &hostname)
}

/// The target, then the password (flags are checked before any file is read).
fn authorised(input: &AuthorisedInput) -> anyhow::Result<(Target, Password)> {
    let target = Target::from_input(&input.ensemble)?;
    let file = input.super_password_file.absolute_path()?;
    Ok((target, Password::read(&file)?))
}
