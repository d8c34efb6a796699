//! The integration tests: one test binary, one module per area, the harness (tests/support)
//! compiled once into it. A module is selected by its path: `cargo test --test it -- e2e::`.
//!
//! Every test of every module runs in this one process, in parallel threads. What must not
//! overlap takes a turn in the harness (`support::turn::Turn`): every real ensemble holds
//! one, so two never share the machine's cores, and so do the tests that count this process's
//! own threads or child processes, which an ensemble adds to.

#[path = "../support/mod.rs"]
mod support;

mod cli_errors;
mod cli_messages;
mod combinations;
mod deploy;
mod e2e;
mod forward;
mod image;
mod migration;
mod pid1;
mod pod_start;
mod probe_fake;
mod probe_real;
mod real_zookeeper;
mod rolling;
mod scaling;
mod security;
mod slow_peers;
mod versions;
