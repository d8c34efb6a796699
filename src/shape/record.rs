//! Where the ensemble's shape ([`Shape`]) is kept, and why a reader may believe it.
//!
//! `/` gives everyone every right, so a znode there proves nothing: any client may delete it
//! (deleting a child needs only the parent's DELETE right) and create another in its place, with
//! any ACL and any content. The shape therefore lives in [`SHAPE_ZNODE`], a child of [`PARENT`],
//! both persistent with the ACL `world:anyone:r`: no one but the super user (who passes every
//! check) can then create, change or delete a child of the parent or change either znode's data
//! or ACL, and a parent that has a child cannot be deleted by anyone. Someone may have created
//! the parent first (with any ACL, or as an ephemeral znode): zk-entry, as the super user, puts
//! both right when it writes and checks afterwards that they are as it left them ([`write`]).
//!
//! The ACLs keep the record from being changed once written; what makes a reader trust its
//! content is an HMAC-SHA256 over it keyed by the super password, which only the pods and the
//! operator hold. A record without a valid MAC (written by someone else, before the ACLs were put
//! right, or with another password) is [`Recorded::Untrusted`], and no reader acts on its word.
//! The record of earlier releases, [`OLD_ZNODE`], had neither protection: it is never read, and
//! `resize` deletes it.

use anyhow::{Context, bail};
use base64::Engine as _;

use super::Shape;
use crate::secrets::password::Password;
use crate::zk::session::{Acl, KeeperError, PERMS_READ, Session};

/// Readable by all, changeable by the super user only; it holds the record and nothing else.
pub(crate) const PARENT: &str = "/zk-entry";
/// The record: `size=N observers=K version=HEX mac=BASE64`.
pub(crate) const SHAPE_ZNODE: &str = "/zk-entry/shape";
/// Where releases before the MAC kept the shape, writable by anyone: never read.
pub(crate) const OLD_ZNODE: &str = "/zk-entry-size";
/// What the MAC covers besides the fields, so that no other message keyed by the same password
/// can pass for a record.
const MAC_DOMAIN: &[u8] = b"zk-entry shape v1\n";
/// How often [`write`] starts again when another client changes the znodes under it.
const ATTEMPTS: usize = 3;
/// How much of an unusable record a message quotes.
const QUOTE: usize = 80;

/// What [`SHAPE_ZNODE`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recorded {
    Absent,
    /// Written by a holder of the super password.
    Trusted(Shape),
    /// Present, but no reader may act on it; why.
    Untrusted(String),
}

impl Recorded {
    /// The shape, when a reader may act on it.
    pub(crate) fn trusted(&self) -> Option<Shape> {
        match self {
            Recorded::Trusted(shape) => Some(*shape),
            _ => None,
        }
    }
}

fn fields(shape: Shape) -> String {
    format!("size={} observers={} version={:x}", shape.size, shape.observers, shape.version)
}

/// What the MAC covers: the domain, then the fields.
fn signed(fields: &str) -> Vec<u8> {
    [MAC_DOMAIN, fields.as_bytes()].concat()
}

fn mac(password: &Password, fields: &str) -> ring::hmac::Tag {
    ring::hmac::sign(&password.mac_key(), &signed(fields))
}

/// The record's text for `shape`.
pub(crate) fn text(shape: Shape, password: &Password) -> String {
    let fields = fields(shape);
    let tag = base64::engine::general_purpose::STANDARD.encode(mac(password, &fields));
    format!("{fields} mac={tag}\n")
}

/// The shape `bytes` record, or why no reader may trust them.
pub(crate) fn parse(bytes: &[u8], password: &Password) -> Result<Shape, String> {
    let unusable = || {
        let quoted = String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTE)]).escape_debug().to_string();
        let more = if bytes.len() > QUOTE { "..." } else { "" };
        format!("{SHAPE_ZNODE} holds '{quoted}{more}', not size=N observers=K version=HEX mac=MAC")
    };
    let text = std::str::from_utf8(bytes).map_err(|_| unusable())?;
    let (given, tag) = text.strip_suffix('\n').and_then(|t| t.rsplit_once(" mac=")).ok_or_else(unusable)?;
    let tag = base64::engine::general_purpose::STANDARD.decode(tag).map_err(|_| unusable())?;
    ring::hmac::verify(&password.mac_key(), &signed(given), &tag).map_err(|_| {
        format!(
            "{SHAPE_ZNODE}'s MAC does not match the super password: someone without it wrote it, or it was written with another password"
        )
    })?;
    // Authenticated, so written by zk-entry; read strictly all the same.
    let mut words = given.split(' ');
    let mut next = |key: &str| words.next().and_then(|w| w.strip_prefix(key));
    let size = next("size=").and_then(|v| v.parse().ok());
    let observers = next("observers=").and_then(|v| v.parse().ok());
    let version = next("version=").and_then(|v| u64::from_str_radix(v, 16).ok());
    match (size, observers, version) {
        (Some(size), Some(observers), Some(version)) if observers < size => {
            let shape = Shape { size, observers, version };
            if fields(shape) == given { Ok(shape) } else { Err(unusable()) }
        }
        _ => Err(unusable()),
    }
}

/// What the ensemble records (readable without logging in).
pub(crate) fn read(session: &mut Session, password: &Password) -> anyhow::Result<Recorded> {
    match session.get_data(SHAPE_ZNODE) {
        Ok(data) => Ok(match parse(&data.bytes, password) {
            Ok(shape) => Recorded::Trusted(shape),
            Err(why) => Recorded::Untrusted(why),
        }),
        Err(e) if KeeperError::of(&e) == Some(KeeperError::NO_NODE) => Ok(Recorded::Absent),
        Err(e) => Err(e).context(format!("cannot read {SHAPE_ZNODE}")),
    }
}

/// Record `shape`, replacing what is there. The session must be the super user's, proven
/// ([`Password::log_in`]).
pub(crate) fn write(shape: Shape, session: &mut Session, password: &Password) -> anyhow::Result<()> {
    settle(shape, session, password, true).map(|_| ())
}

/// Record `shape` unless a trusted shape is recorded already (an untrusted one is replaced);
/// the shape recorded afterwards. The session must be the super user's, proven.
pub(crate) fn create(shape: Shape, session: &mut Session, password: &Password) -> anyhow::Result<Shape> {
    settle(shape, session, password, false)
}

/// Remove the record, leaving the ensemble without one (the super user's session).
pub(crate) fn remove(session: &mut Session) -> anyhow::Result<()> {
    delete_if_there(session, SHAPE_ZNODE)
}

/// Delete the unprotected record of earlier releases, if there is one (the super user's
/// session): nothing reads it, and an operator should not take it for the shape.
pub(crate) fn remove_old(session: &mut Session) -> anyhow::Result<()> {
    delete_if_there(session, OLD_ZNODE)
}

fn delete_if_there(session: &mut Session, path: &str) -> anyhow::Result<()> {
    match session.delete(path) {
        Err(e) if KeeperError::of(&e) != Some(KeeperError::NO_NODE) => {
            Err(e).with_context(|| format!("cannot delete {path}"))
        }
        _ => Ok(()),
    }
}

fn settle(shape: Shape, session: &mut Session, password: &Password, replace: bool) -> anyhow::Result<Shape> {
    let ours = text(shape, password);
    let failed = || format!("cannot record the shape in {SHAPE_ZNODE}");
    for _ in 0..ATTEMPTS {
        match session.create(PARENT, b"") {
            Err(e) if KeeperError::of(&e) != Some(KeeperError::NODE_EXISTS) => {
                return Err(e).with_context(failed);
            }
            _ => {}
        }
        if !lock(session, PARENT).with_context(failed)? {
            continue;
        }
        let in_force = match session.create(SHAPE_ZNODE, ours.as_bytes()) {
            Ok(()) => shape,
            Err(e) if KeeperError::of(&e) == Some(KeeperError::NODE_EXISTS) => {
                if !lock(session, SHAPE_ZNODE).with_context(failed)? {
                    continue;
                }
                let there = session.get_data(SHAPE_ZNODE).with_context(failed)?;
                match parse(&there.bytes, password) {
                    Ok(kept) if !replace => kept,
                    _ => {
                        session.set_data(SHAPE_ZNODE, ours.as_bytes()).with_context(failed)?;
                        shape
                    }
                }
            }
            // The parent went meanwhile (anyone may delete an empty one), or was swapped for an
            // ephemeral one: start again.
            Err(e)
                if matches!(
                    KeeperError::of(&e),
                    Some(KeeperError::NO_NODE | KeeperError::NO_CHILDREN_FOR_EPHEMERALS)
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e).with_context(failed),
        };
        if settled(session, &text(in_force, password)).with_context(failed)? {
            return Ok(in_force);
        }
    }
    bail!("{}: {PARENT} kept changing while zk-entry wrote it (another client is changing it)", failed())
}

/// The only ACL the two znodes may have.
fn read_only() -> [Acl; 1] {
    [Acl::anyone(PERMS_READ)]
}

/// Make `path` readable by all and changeable by the super user only. False when it vanished,
/// or was ephemeral (it would vanish with its owner's session) and has been deleted: the caller
/// starts again.
fn lock(session: &mut Session, path: &str) -> anyhow::Result<bool> {
    let (acl, stat) = match session.get_acl(path) {
        Ok(found) => found,
        Err(e) if KeeperError::of(&e) == Some(KeeperError::NO_NODE) => return Ok(false),
        Err(e) => return Err(e),
    };
    if stat.ephemeral_owner != 0 {
        tracing::warn!("{path} was an ephemeral znode (session {:x}): deleting it", stat.ephemeral_owner);
        delete_if_there(session, path)?;
        return Ok(false);
    }
    if acl != read_only() {
        tracing::warn!("{path} had the ACL {}, not world:anyone:r: setting it back", describe(&acl));
        session.set_acl(path, &read_only(), -1)?;
    }
    Ok(true)
}

/// True when both znodes are persistent with [`read_only`] and the record holds `text`: from
/// then on only the super user can change either.
fn settled(session: &mut Session, text: &str) -> anyhow::Result<bool> {
    for path in [PARENT, SHAPE_ZNODE] {
        match session.get_acl(path) {
            Ok((acl, stat)) if acl == read_only() && stat.ephemeral_owner == 0 => {}
            Err(e) if KeeperError::of(&e) != Some(KeeperError::NO_NODE) => return Err(e),
            _ => return Ok(false),
        }
    }
    match session.get_data(SHAPE_ZNODE) {
        Ok(data) => Ok(data.bytes == text.as_bytes()),
        Err(e) if KeeperError::of(&e) == Some(KeeperError::NO_NODE) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `world:anyone:cdrwa, digest:u:cd` as zkCli shows ACLs.
fn describe(acl: &[Acl]) -> String {
    let perms = |p: i32| -> String {
        [(4, 'c'), (8, 'd'), (1, 'r'), (2, 'w'), (16, 'a')]
            .iter()
            .filter(|(bit, _)| p & bit != 0)
            .map(|(_, c)| *c)
            .collect()
    };
    let shown: Vec<String> = acl
        .iter()
        .map(|a| format!("{}:{}:{}", a.scheme.escape_debug(), a.id.escape_debug(), perms(a.perms)))
        .collect();
    if shown.is_empty() { "(none)".into() } else { shown.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape { size: 3, observers: 1, version: 0x1_0000_0010 }
    }

    #[test]
    fn the_record_round_trips_under_its_mac() {
        let pw = Password::read_test("s3cret");
        let text = text(shape(), &pw);
        assert!(text.starts_with("size=3 observers=1 version=100000010 mac="), "{text}");
        assert!(text.ends_with("=\n") && text.lines().count() == 1, "{text}");
        assert_eq!(parse(text.as_bytes(), &pw), Ok(shape()));
        // HMAC-SHA256 of the domain and the fields, as any implementation computes it.
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret"),
            b"zk-entry shape v1\nsize=3 observers=1 version=100000010",
        );
        assert!(text.contains(&base64::engine::general_purpose::STANDARD.encode(tag)));
    }

    #[test]
    fn a_record_without_the_passwords_mac_is_untrusted() {
        let pw = Password::read_test("s3cret");
        let why = parse(text(shape(), &Password::read_test("other")).as_bytes(), &pw).unwrap_err();
        assert!(why.contains("MAC does not match the super password"), "{why}");
        // The forgery, with and without a MAC of some other key.
        for forged in [
            "size=1 observers=0 version=ffffffffffffffff".to_string(),
            "size=1 observers=0 version=ffffffffffffffff\n".to_string(),
            text(Shape { size: 1, observers: 0, version: u64::MAX }, &Password::read_test("guess")),
        ] {
            assert!(parse(forged.as_bytes(), &pw).is_err(), "{forged}");
        }
        // A field changed under a valid MAC.
        let good = text(shape(), &pw);
        let tampered = good.replace("size=3", "size=1");
        assert!(parse(tampered.as_bytes(), &pw).unwrap_err().contains("MAC does not match"));
        // The old release's record, and garbage of every sort, quoted briefly.
        assert!(parse(b"size=3 observers=0 version=10", &pw).unwrap_err().contains("not size=N"));
        assert!(parse(b"", &pw).is_err());
        assert!(parse(&[0xff, 0xfe], &pw).is_err());
        let long = parse(&vec![b'x'; 10_000], &pw).unwrap_err();
        assert!(long.len() < 300 && long.contains("x..."), "{long}");
        assert!(parse(b"size=3 mac=\x1b[2J\n", &pw).unwrap_err().contains("\\u{1b}"));
    }

    #[test]
    fn authenticated_fields_are_still_read_strictly() {
        let pw = Password::read_test("s3cret");
        let signed = |fields: &str| {
            let tag = base64::engine::general_purpose::STANDARD.encode(mac(&pw, fields));
            format!("{fields} mac={tag}\n")
        };
        assert!(parse(signed("size=3 observers=1 version=100000010").as_bytes(), &pw).is_ok());
        for bad in [
            "size=3 observers=3 version=1",
            "size=3 observers=-1 version=1",
            "size=+3 observers=1 version=1",
            "size=3 observers=1 version=01",
            "size=3 observers=1 version=1 extra=1",
            "observers=1 size=3 version=1",
            "size=3  observers=1 version=1",
        ] {
            assert!(parse(signed(bad).as_bytes(), &pw).unwrap_err().contains("not size=N"), "{bad}");
        }
    }

    #[test]
    fn only_a_trusted_record_gives_a_shape() {
        assert_eq!(Recorded::Trusted(shape()).trusted(), Some(shape()));
        assert_eq!(Recorded::Untrusted("x".into()).trusted(), None);
        assert_eq!(Recorded::Absent.trusted(), None);
    }

    #[test]
    fn acls_read_as_zkcli_shows_them() {
        assert_eq!(describe(&[Acl::anyone(31)]), "world:anyone:cdrwa");
        assert_eq!(
            describe(&[Acl::anyone(1), Acl { perms: 12, scheme: "ip".into(), id: "1.2.3.4".into() }]),
            "world:anyone:r, ip:1.2.3.4:cd"
        );
        assert_eq!(describe(&[]), "(none)");
    }
}
