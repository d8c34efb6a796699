//! Talking to ZooKeeper itself, for dynamic membership: the wire encoding ([`jute`]), one short
//! synchronous session ([`session`]) and the membership's text form ([`config`]).
//!
//! Used by short-lived processes (`zk-entry members`, `resize`, `leave`, and the joiner that
//! `start` runs beside the JVM) and by `start` itself while it decides the membership, before
//! the JVM runs; never by the supervising PID 1 once it supervises.

pub(crate) mod config;
/// The session's network steps under a deadline, shared with the probe; reached through here so
/// that tests/support/zk.rs can compile the session with its own copy of the file.
pub(crate) use crate::net;
pub(crate) mod jute;
pub(crate) mod session;
