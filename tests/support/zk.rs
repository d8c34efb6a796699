//! The binary's own ZooKeeper client (src/zk), compiled into the tests from the same files: a
//! native writer that needs no JVM per write, so a test can write without pause and measure the
//! gaps between acknowledged writes.

// Their unit tests come along; in a bench (no test harness) their imports go unused.
#[path = "../../src/zk/jute.rs"]
#[allow(unused_imports)]
pub mod jute;
#[path = "../../src/net.rs"]
#[allow(unused_imports)]
mod net;
// The binary's file as it is: the tests write, read and set ACLs but leave `reconfig` to
// zk-entry's own commands, so part of it goes unused here.
#[path = "../../src/zk/session.rs"]
#[allow(unused_imports, dead_code)]
pub mod session;
