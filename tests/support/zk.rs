//! The binary's own ZooKeeper client (src/zk), compiled into the tests from the same files: a
//! native writer that needs no JVM per write, so a test can write without pause and measure the
//! gaps between acknowledged writes.
#![allow(dead_code)]

#[path = "../../src/zk/jute.rs"]
mod jute;
#[path = "../../src/zk/session.rs"]
pub mod session;
