//! Ticks and session timeouts. Owns the rules that the derived default session timeouts fit a
//! Java int and that the minimum does not exceed the maximum.

use super::server::JAVA_INT_MAX;
use crate::exit;
use crate::start::args::StartArgs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Timing {
    pub(crate) tick_time: u64,
    pub(crate) init_limit: u64,
    pub(crate) sync_limit: u64,
    pub(crate) min_session_timeout: u64,
    pub(crate) max_session_timeout: u64,
}

impl Timing {
    pub(super) fn from_input(a: &StartArgs) -> anyhow::Result<Timing> {
        let tick_time = a.tick_time.number(1, JAVA_INT_MAX)?;
        // The script's defaults are multiples of the tick; they must still fit an int.
        let session_timeout = |raw: &crate::parse::Raw, factor: u64| -> anyhow::Result<u64> {
            if raw.is_given() {
                return raw.number(1, JAVA_INT_MAX);
            }
            let value = tick_time * factor;
            if value > JAVA_INT_MAX {
                return exit::usage(format!(
                    "{} {tick_time} makes the default session timeout {factor} x {tick_time} = {value} ms, above ZooKeeper's limit {JAVA_INT_MAX}; lower the tick time or set the session timeouts",
                    a.tick_time.name
                ));
            }
            Ok(value)
        };
        let min_session_timeout = session_timeout(&a.min_session_timeout, 2)?;
        let max_session_timeout = session_timeout(&a.max_session_timeout, 20)?;
        if min_session_timeout > max_session_timeout {
            return exit::usage(format!(
                "{} {min_session_timeout} is above {} {max_session_timeout}; the minimum session timeout must not exceed the maximum",
                a.min_session_timeout.name, a.max_session_timeout.name,
            ));
        }
        Ok(Timing {
            tick_time,
            init_limit: a.init_limit.number(1, JAVA_INT_MAX)?,
            sync_limit: a.sync_limit.number(1, JAVA_INT_MAX)?,
            min_session_timeout,
            max_session_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::start::settings::tests::{rejects, settings};

    #[test]
    fn session_timeouts_follow_tick_time() {
        let s = settings(&["--tick_time=3000"]).unwrap();
        assert_eq!((s.timing.min_session_timeout, s.timing.max_session_timeout), (6000, 60000));
    }

    #[test]
    fn session_timeout_order_and_limits() {
        rejects(
            &["--min_session_timeout=50000", "--max_session_timeout=40000"],
            &["--min_session_timeout", "--max_session_timeout"],
        );
        rejects(&["--tick_time=200000000"], &["--tick_time", "session timeout"]);
        rejects(
            &["--min_session_timeout=50000"],
            &["--min_session_timeout 50000 is above --max_session_timeout 40000"],
        );
    }
}
