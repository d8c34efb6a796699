//! Talking to ZooKeeper itself, for dynamic membership: the wire encoding ([`jute`]), one short
//! synchronous session ([`session`]) and the membership's text form ([`config`]).
//!
//! Used only by short-lived processes (`zk-entry members`, `resize`, and the joiner that `start`
//! runs beside the JVM), never by the supervising PID 1, whose memory stays as it was.

pub(crate) mod config;
pub(crate) mod jute;
pub(crate) mod session;
