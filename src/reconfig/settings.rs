//! The checked input of the membership commands: which servers to ask and the deadline.

use std::time::Duration;

use crate::cli::EnsembleInput;
use crate::parse::Raw;

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
