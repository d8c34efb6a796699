//! The probes a manifest runs in the pod: `zk-entry ready` (liveness and readiness) and
//! `zk-entry metrics` (mntr as raw text, Prometheus text or JSON). Both take the flags of
//! [`args`] and check them in [`settings`] before any connection is opened, then ask the server one four-letter word each
//! through [`fourlw`].

pub(crate) mod args;
pub(crate) mod fourlw;
pub(crate) mod metrics;
pub(crate) mod ready;
pub(crate) mod settings;
