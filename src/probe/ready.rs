//! `zk-entry ready`: the probe. Exit 0 and print nothing when the server is healthy; otherwise
//! one line on stderr saying why, exit 1.
//!
//! Two meanings, chosen by the manifest (docs/design.md, "Kubernetes probes"):
//! - plain `ready` asks "is the process alive?": `ruok` answers `imok`; where `ruok` is not in
//!   `4lw.commands.whitelist` (the 3.5.3+ default enables only `srvr`), any ZooKeeper answer to
//!   `srvr` proves the same. Safe for liveness, startup, and readiness while the headless
//!   Service publishes only Ready pods: a quorum cannot form before the pods' names resolve.
//! - `ready --quorum` asks "does it serve clients?": `srvr` reports `Mode:` leader, follower,
//!   observer or standalone (read-only only with `--allow_read_only`). Readiness only, and only
//!   with `publishNotReadyAddresses: true`; as liveness it would restart pods during elections.
//!
//! The judging of replies is pure ([`after_ruok`], [`alive_after_srvr`], [`serving_after_srvr`]);
//! [`run`] does the talking.

use std::time::Instant;

use anyhow::anyhow;

use super::fourlw::{self, Answer, Reply, Word};
use super::settings::Ready;

/// What a probe step concluded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Healthy,
    /// Ask this word next.
    Then(Word),
}

/// `Mode:` values of a server that serves clients, as `srvr` prints them.
const SERVING_MODES: [&str; 4] = ["leader", "follower", "observer", "standalone"];
const READ_ONLY: &str = "read-only";

pub(crate) fn run(ready: &Ready) -> anyhow::Result<()> {
    let start = Instant::now();
    let probe = &ready.probe;
    let name = if ready.quorum { "ready --quorum" } else { "ready" };
    let ask = |word| {
        fourlw::ask(&probe.target, word, start, probe.timeout).map_err(|failure| format!("{word}: {failure}"))
    };
    let outcome = if ready.quorum {
        ask(Word::Srvr).and_then(|reply| {
            serving_after_srvr(&reply, ready.allow_read_only)?;
            let joining = std::path::Path::new(crate::shape::JOINING_NOTE).exists();
            serving_as_meant(mode(&reply), joining)
        })
    } else {
        ask(Word::Ruok).and_then(|reply| match after_ruok(&reply)? {
            Step::Healthy => Ok(()),
            Step::Then(word) => ask(word).and_then(|reply| alive_after_srvr(&reply)),
        })
    };
    outcome.map_err(|why| anyhow!("{name}: {}: {why}", probe.target))
}

/// `imok` is healthy; a whitelist refusal sends the probe on to `srvr`.
pub(crate) fn after_ruok(reply: &Reply) -> Result<Step, String> {
    match reply.answer() {
        Answer::Text(b"imok") => Ok(Step::Healthy),
        Answer::NotWhitelisted("ruok") => Ok(Step::Then(Word::Srvr)),
        other => Err(fourlw::unexpected(Word::Ruok, reply, other, "\"imok\"")),
    }
}

/// After `ruok` was refused: any ZooKeeper answer to `srvr` shows the process alive, including
/// "not serving" (alive, no quorum) and a whitelist refusal (3.4 with a whitelist without it).
pub(crate) fn alive_after_srvr(reply: &Reply) -> Result<(), String> {
    match reply.answer() {
        Answer::NotServing | Answer::NotWhitelisted(_) => Ok(()),
        Answer::Text(_) if mode(reply).is_some() => Ok(()),
        other => Err(fourlw::unexpected(Word::Srvr, reply, other, "srvr's report with a Mode: line")),
    }
}

/// `--quorum`: only a serving mode passes.
pub(crate) fn serving_after_srvr(reply: &Reply, allow_read_only: bool) -> Result<(), String> {
    match (reply.answer(), mode(reply)) {
        (Answer::Text(_), Some(mode)) if SERVING_MODES.contains(&mode) => Ok(()),
        (Answer::Text(_), Some(READ_ONLY)) if allow_read_only => Ok(()),
        (Answer::Text(_), Some(READ_ONLY)) => Err(
            "Mode: read-only (partitioned from the quorum; serving reads only); add --allow_read_only to count that as ready"
                .into(),
        ),
        (Answer::Text(_), Some(mode)) => Err(format!("srvr reports Mode: {mode}, which is not a serving mode")),
        (answer, _) => Err(fourlw::unexpected(Word::Srvr, reply, answer, "srvr's report with a Mode: line")),
    }
}

/// In a pod of a dynamic ensemble whose server is a joiner meant to vote (`start --reconfig`
/// left its joining note in the pod's /tmp until `zk-entry join` promotes it), serving as an
/// observer is not yet serving as meant.
pub(crate) fn serving_as_meant(mode: Option<&str>, joining: bool) -> Result<(), String> {
    match mode {
        Some("observer") if joining => Err(
            "Mode: observer, but this server joins a dynamic ensemble (start --reconfig) as a voter: still joining, not promoted yet".into(),
        ),
        _ => Ok(()),
    }
}

/// The `Mode:` line of a `srvr` reply.
pub(crate) fn mode(reply: &Reply) -> Option<&str> {
    let text = std::str::from_utf8(&reply.bytes).ok()?;
    text.lines().find_map(|line| line.strip_prefix("Mode: ")).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_observer_is_ready_unless_it_is_a_joiner_meant_to_vote() {
        assert_eq!(serving_as_meant(Some("observer"), false), Ok(()));
        assert!(serving_as_meant(Some("observer"), true).unwrap_err().contains("still joining"));
        assert_eq!(serving_as_meant(Some("follower"), true), Ok(()));
    }

    fn reply(text: &str) -> Reply {
        Reply { bytes: text.as_bytes().to_vec(), reset: false }
    }

    const SRVR: &str = "Zookeeper version: 3.8.0-x, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n";
    const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

    #[test]
    fn imok_is_healthy_even_after_a_reset() {
        assert_eq!(after_ruok(&reply("imok")), Ok(Step::Healthy));
        assert_eq!(after_ruok(&Reply { bytes: b"imok".to_vec(), reset: true }), Ok(Step::Healthy));
    }

    #[test]
    fn ruok_not_whitelisted_falls_back_to_srvr() {
        let refused = reply("ruok is not executed because it is not in the whitelist.\n");
        assert_eq!(after_ruok(&refused), Ok(Step::Then(Word::Srvr)));
        assert_eq!(alive_after_srvr(&reply(SRVR)), Ok(()));
        assert_eq!(alive_after_srvr(&reply(NOT_SERVING)), Ok(()));
        let err = alive_after_srvr(&reply("")).unwrap_err();
        assert!(err.contains("closed without a reply"), "{err}");
        let err = alive_after_srvr(&reply("garbage")).unwrap_err();
        assert!(err.contains("srvr answered \"garbage\""), "{err}");
    }

    #[test]
    fn other_ruok_replies_fail_and_say_what_came() {
        let err = after_ruok(&reply("imno")).unwrap_err();
        assert_eq!(err, "ruok answered \"imno\", expected \"imok\"");
        let err = after_ruok(&Reply { bytes: Vec::new(), reset: true }).unwrap_err();
        assert!(err.contains("reset before any reply"), "{err}");
        // Another word's refusal names that word in the fix.
        let err =
            after_ruok(&reply("srvr is not executed because it is not in the whitelist.\n")).unwrap_err();
        assert!(err.contains("add srvr to 4lw.commands.whitelist"), "{err}");
    }

    #[test]
    fn quorum_needs_a_serving_mode() {
        assert_eq!(serving_after_srvr(&reply(SRVR), false), Ok(()));
        for mode in ["leader", "follower", "observer"] {
            assert_eq!(serving_after_srvr(&reply(&SRVR.replace("standalone", mode)), false), Ok(()));
        }
        let ro = reply(&SRVR.replace("standalone", "read-only"));
        assert!(serving_after_srvr(&ro, false).unwrap_err().contains("--allow_read_only"));
        assert_eq!(serving_after_srvr(&ro, true), Ok(()));
        let err = serving_after_srvr(&reply(NOT_SERVING), true).unwrap_err();
        assert!(err.starts_with("not serving requests"), "{err}");
        let err = serving_after_srvr(&reply(&SRVR.replace("standalone", "looking")), true).unwrap_err();
        assert!(err.contains("Mode: looking"), "{err}");
        let err = serving_after_srvr(&reply("imok"), false).unwrap_err();
        assert!(err.contains("expected srvr's report"), "{err}");
    }
}
