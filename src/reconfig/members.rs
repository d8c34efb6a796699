//! `zk-entry members`: the committed membership as the ensemble reports it in
//! `/zookeeper/config` (readable without authentication), one member a line, for
//! `kubectl exec zk-0 -- zk-entry members`.

use std::fmt::Write as _;

use anyhow::Context;

use crate::quote;
use crate::reach::Target;
use crate::zk::config::{CONFIG_ZNODE, Config};
use crate::zk::session::Session;

pub(crate) fn run(target: &Target) -> anyhow::Result<()> {
    let config = read(target)?;
    crate::output::write_stdout(&table(&config))
}

/// The committed membership, read through the first server of `target` that answers.
pub(crate) fn read(target: &Target) -> anyhow::Result<Config> {
    let mut session = Session::connect(&target.servers, target.timeout)?;
    let data = session.get_data(CONFIG_ZNODE).with_context(|| format!("cannot read {CONFIG_ZNODE}"))?;
    let server = session.server.clone();
    session.close();
    let text = String::from_utf8_lossy(&data.bytes);
    Config::parse(&text).with_context(|| format!("{CONFIG_ZNODE} from {server}"))
}

/// Aligned columns: id, host, role, quorum, election and client ports; then the version.
/// The host and client parts are the znode's text, printed through [`quote::escaped`].
pub(crate) fn table(config: &Config) -> String {
    let rows: Vec<(String, String)> = config
        .members
        .iter()
        .map(|m| (quote::escaped(&m.host), m.client.as_deref().map_or_else(|| "-".into(), quote::escaped)))
        .collect();
    let width = rows.iter().map(|(host, _)| host.chars().count()).max().unwrap_or(4).max(4);
    let mut out =
        format!("{:<4} {:<width$}  {:<12} {:<6} {:<8} CLIENT\n", "ID", "HOST", "ROLE", "QUORUM", "ELECTION");
    for (m, (host, client)) in config.members.iter().zip(&rows) {
        let _ = writeln!(
            out,
            "{:<4} {host:<width$}  {:<12} {:<6} {:<8} {client}",
            m.id,
            m.role.as_str(),
            m.quorum_port,
            m.election_port
        );
    }
    let _ = writeln!(out, "version {:x}", config.version);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_member_a_line_then_the_version() {
        let c = Config::parse("server.1=zk-0.d:2888:3888:participant;0.0.0.0:2181\nserver.12=zk-11.d:2888:3888:observer\nversion=10000000a").unwrap();
        assert_eq!(
            table(&c),
            "ID   HOST     ROLE         QUORUM ELECTION CLIENT\n\
             1    zk-0.d   participant  2888   3888     0.0.0.0:2181\n\
             12   zk-11.d  observer     2888   3888     -\n\
             version 10000000a\n"
        );
    }

    /// The client part after `;` is free text in ZooKeeper's own parser: whoever may reconfigure
    /// can put a terminal's escape sequences there.
    #[test]
    fn control_characters_from_the_znode_are_printed_escaped() {
        let c = Config::parse(
            "server.1=zk-0.d:2888:3888:participant;\u{1b}[2J\u{1b}]0;owned\u{7}:2181\nversion=1",
        )
        .unwrap();
        let out = table(&c);
        assert!(!out.chars().any(|ch| ch.is_control() && ch != '\n'), "{out:?}");
        assert!(out.contains(r"\u001b[2J\u001b]0;owned\u0007:2181"), "{out}");
    }
}
