//! The ports a server listens on. Owns the rules that no two of them are the same and that an
//! AdminServer address needs an AdminServer port.

use crate::exit;
use crate::parse::Raw;
use crate::start::args::StartArgs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdminServer {
    pub(crate) port: u16,
    pub(crate) address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ports {
    pub(crate) client: u16,
    /// The quorum port followers talk to the leader on.
    pub(crate) server: u16,
    pub(crate) election: u16,
    /// `None`: the AdminServer is off.
    pub(crate) admin: Option<AdminServer>,
    /// `--secure_client_port`, which only exists with `--tls_dir`.
    pub(crate) secure_client: Option<u16>,
}

impl Ports {
    pub(super) fn from_input(a: &StartArgs) -> anyhow::Result<Ports> {
        let admin = match (&a.admin_server_port, &a.admin_server_address) {
            (Some(port), address) => Some(AdminServer {
                port: port.port()?,
                address: match address {
                    Some(addr) => addr.host()?,
                    None => "127.0.0.1".to_string(),
                },
            }),
            (None, Some(address)) => {
                return exit::usage(format!(
                    "{} is set but the AdminServer is off; also pass --admin_server_port to enable it",
                    address.name
                ));
            }
            (None, None) => None,
        };
        let ports = Ports {
            client: a.client_port.port()?,
            server: a.server_port.port()?,
            election: a.election_port.port()?,
            admin,
            secure_client: a.tls_dir.as_ref().map(|_| a.secure_client_port.port()).transpose()?,
        };
        let mut named: Vec<(&Raw, u16)> = vec![
            (&a.client_port, ports.client),
            (&a.server_port, ports.server),
            (&a.election_port, ports.election),
        ];
        if let (Some(raw), Some(admin)) = (&a.admin_server_port, &ports.admin) {
            named.push((raw, admin.port));
        }
        if let Some(port) = ports.secure_client {
            named.push((&a.secure_client_port, port));
        }
        for (i, (raw_a, port)) in named.iter().enumerate() {
            if let Some((raw_b, _)) = named[i + 1..].iter().find(|(_, other)| other == port) {
                return exit::usage(format!(
                    "{} and {} are both {port}; each port must be different",
                    raw_a.name, raw_b.name
                ));
            }
        }
        Ok(ports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::start::settings::tests::{rejects, settings};

    #[test]
    fn ports_in_range_and_distinct() {
        rejects(&["--client_port=0"], &["--client_port", "1 to 65535"]);
        rejects(&["--client_port=65536"], &["--client_port"]);
        rejects(&["--server_port=3888"], &["--server_port", "--election_port", "3888"]);
        rejects(&["--admin_server_port=2181"], &["--client_port", "--admin_server_port"]);
    }

    #[test]
    fn admin_server_defaults_to_localhost() {
        let s = settings(&["--admin_server_port=8080"]).unwrap();
        assert_eq!(s.ports.admin, Some(AdminServer { port: 8080, address: "127.0.0.1".into() }));
        let s = settings(&["--admin_server_port=8080", "--admin_server_address=0.0.0.0"]).unwrap();
        assert_eq!(s.ports.admin.unwrap().address, "0.0.0.0");
        rejects(&["--admin_server_address=0.0.0.0"], &["--admin_server_address", "--admin_server_port"]);
        rejects(
            &["--admin_server_port=8080", "--admin_server_address=not an address"],
            &["--admin_server_address"],
        );
    }
}
