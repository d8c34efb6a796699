//! What `make chaos` records and how it is judged (docs/chaos.md): the history of the workload's
//! operations and the checker of linearizability, creates and sessions. The runner itself (the
//! workload, the nemesis, the plot) is examples/chaos; these two live here so that the checker's
//! unit tests, negative controls included, run with every `make test`.

// In a bench or an example (no test harness) their unit tests' imports go unused.
#[allow(unused_imports)]
pub mod checker;
#[allow(unused_imports)]
pub mod history;
