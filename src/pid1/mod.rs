//! What zk-entry does as the pod's PID 1: the signal state set up first thing in `main`
//! ([`signals`]) and the loop that runs the JVM as a child, forwards signals and reaps
//! ([`supervise`]).

pub(crate) mod signals;
pub(crate) mod supervise;
