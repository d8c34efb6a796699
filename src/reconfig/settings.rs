//! The checked input of the membership commands: which servers to ask and the deadline.

use std::time::Duration;

use crate::cli::{AuthorisedInput, EnsembleInput, JoinInput, ResizeInput};
use crate::parse::Raw;
use crate::secrets::password::Password;
use crate::shape::Shape;
use crate::zk::config::MAX_SERVER_ID;

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
    pub(crate) fn from_input(input: &EnsembleInput) -> anyhow::Result<Target> {
        Ok(Target {
            servers: servers(&input.server)?,
            timeout: input.timeout.duration(MIN_TIMEOUT, MAX_TIMEOUT)?,
        })
    }
}

/// Check `zk-entry join`'s input and run it.
pub(crate) fn join(input: &JoinInput) -> anyhow::Result<()> {
    let (target, password) = authorised(&input.authorised)?;
    let me = super::join::parse_line(&input.line.text).map_err(|e| {
        input.line.reject(
            &format!("is not a server line ({e:#})"),
            "server.N=HOST:QUORUM:ELECTION:participant;CLIENT",
        )
    })?;
    let size = input.size.number(1, MAX_SERVER_ID)?;
    let observers = input.observers.number(0, size - 1)?;
    let shape = Shape { size, observers, version: 0 };
    super::join::run(&target, &me, shape, &password)
}

/// Check `zk-entry resize`'s input and run it.
pub(crate) fn resize(input: &ResizeInput) -> anyhow::Result<()> {
    let size = input.size.number(1, MAX_SERVER_ID)?;
    let observers = input.observers.as_ref().map(|raw| raw.number(0, size - 1)).transpose()?;
    let (target, password) = authorised(&input.authorised)?;
    super::resize::run(&target, size, observers, &password)
}

/// Check `zk-entry leave`'s input and run it.
pub(crate) fn leave(input: &AuthorisedInput) -> anyhow::Result<()> {
    let (target, password) = authorised(input)?;
    let hostname = hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    super::leave::run(&target, &password, &hostname)
}

/// The target, then the password (flags are checked before any file is read).
fn authorised(input: &AuthorisedInput) -> anyhow::Result<(Target, Password)> {
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
