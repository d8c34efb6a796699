//! What zk-entry does as the pod's PID 1: the signal state set up first thing in `main`
//! ([`signals`]), who a child runs as and with which privileges ([`user`]: the credentials and
//! the limits it takes before exec), and the loop that runs the JVM as a child, forwards signals
//! and reaps ([`supervise`]), with the helper that may run before a SIGTERM is forwarded
//! ([`handoff`]).

pub(crate) mod handoff;
pub(crate) mod signals;
pub(crate) mod supervise;
pub(crate) mod user;
