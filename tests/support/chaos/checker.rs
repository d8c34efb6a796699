//! The chaos run's checker: what ZooKeeper promises, checked on a recorded history
//! ([`super::history`]) and on what every member lists at the end.
//!
//! - **Linearizability of each register** (compare-and-sets by version, and reads after a
//!   `sync`): the
//!   Wing–Gong search, as Knossos and porcupine run it. A register is checked on its own
//!   (linearizability is compositional), from its initial state `(0, version 0)`. The search
//!   linearizes, one at a time, an operation that was invoked before every pending operation's
//!   completion, if the model allows it from the current state, and backtracks otherwise; states
//!   already visited (which operations are linearized, and the register's value and version) are
//!   remembered and never searched twice. An ok operation must be linearized; an unknown
//!   compare-and-set may be, at any time after its invocation, or never; a compare-and-set
//!   answered BadVersion is linearized where the version differed and changes nothing. Versions
//!   only grow, so an unknown compare-and-set whose expected version has passed can never take
//!   effect any more and leaves the search (what keeps the search small under many timeouts).
//! - **Plain reads** (no `sync`): ZooKeeper serves them from the server the session is on, which
//!   may lag, so they are not linearizable and not checked as such (the first chaos run showed a
//!   follower answering a value 28 ms after a newer one was acknowledged: docs/chaos.md). What
//!   they must be: a value some compare-and-set that may have taken effect wrote with that
//!   version, invoked before the read completed (no value from nowhere or from the future), and
//!   never older than what their session saw (below).
//! - **Creates**: every acknowledged sequential create present exactly once on every member, by
//!   the name the server returned; none that failed definitely present; an unknown one at most
//!   once; every member listing the same names.
//! - **Sessions**: a session's reads never older than what it already saw: the reply header's
//!   zxid never goes back, and a register's mzxid and version never go back from what the
//!   session read or wrote.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::history::{BAD_VERSION, Kind, Op, Outcome};

/// The search gives up beyond this many visited states of one register: the history is then
/// reported as undecided, which fails the run as an anomaly would (never taken for a pass).
pub const SEARCH_LIMIT: usize = 2_000_000;

/// A register: its value and version.
type State = (u64, i32);

#[derive(Debug, Clone, Copy)]
enum Effect {
    Read(State),
    Write { expected: i32, value: u64 },
    Mismatch { expected: i32 },
}

struct Entry {
    invoke: u64,
    /// `u64::MAX` for an operation that may take effect at any time after its invocation.
    complete: u64,
    /// An ok or definitely failed operation must be linearized; an unknown one may be.
    required: bool,
    effect: Effect,
    /// Where it is in the history, for messages.
    index: usize,
}

fn step(state: State, effect: Effect) -> Option<State> {
    match effect {
        Effect::Read(seen) => (seen == state).then_some(state),
        Effect::Write { expected, value } => (state.1 == expected).then_some((value, expected + 1)),
        Effect::Mismatch { expected } => (state.1 != expected).then_some(state),
    }
}

/// An unknown compare-and-set whose version has passed: it can never take effect now.
fn dead(e: &Entry, state: State) -> bool {
    matches!(e.effect, Effect::Write { expected, .. } if !e.required && expected < state.1)
}

/// The operations of `register` that constrain it, in invocation order.
fn entries(history: &[Op], register: u32) -> Vec<Entry> {
    let mut out: Vec<Entry> = history
        .iter()
        .enumerate()
        .filter(|(_, op)| op.register == register && op.kind != Kind::Create)
        .filter_map(|(index, op)| {
            let (effect, required) = match (op.kind, op.outcome) {
                (Kind::SyncRead, Outcome::Ok) => (Effect::Read((op.value, op.version)), true),
                (Kind::Cas, Outcome::Ok) => (Effect::Write { expected: op.expected, value: op.value }, true),
                (Kind::Cas, Outcome::Unknown) => {
                    (Effect::Write { expected: op.expected, value: op.value }, false)
                }
                (Kind::Cas, Outcome::Fail(BAD_VERSION)) => (Effect::Mismatch { expected: op.expected }, true),
                // A read without an answer, or any other definite failure, constrains nothing.
                _ => return None,
            };
            let complete = if required { op.complete } else { u64::MAX };
            Some(Entry { invoke: op.invoke, complete, required, effect, index })
        })
        .collect();
    out.sort_by_key(|e| (e.invoke, e.index));
    out
}

/// A search node: every entry before `prefix` is linearized (or dead), and so are those in
/// `extra`; the register's state.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Node {
    prefix: usize,
    extra: Vec<usize>,
    state: State,
}

impl Node {
    fn done(&self, i: usize) -> bool {
        i < self.prefix || self.extra.binary_search(&i).is_ok()
    }

    /// Advance the prefix over what is linearized or dead, so equal states have one form.
    fn normalize(mut self, entries: &[Entry]) -> Node {
        while self.prefix < entries.len()
            && (self.extra.binary_search(&self.prefix).is_ok() || dead(&entries[self.prefix], self.state))
        {
            self.prefix += 1;
        }
        let prefix = self.prefix;
        self.extra.retain(|&i| i >= prefix);
        self
    }
}

/// Whether the history of `register` is linearizable; if not, why, naming the operation
/// the search could not place (history line numbers start at 1 after the header).
pub fn linearizable(history: &[Op], register: u32) -> Result<(), String> {
    let entries = entries(history, register);
    let start = Node { prefix: 0, extra: Vec::new(), state: (0, 0) }.normalize(&entries);
    let mut visited: HashSet<Node> = HashSet::new();
    visited.insert(start.clone());
    let mut stack = vec![start];
    // The deepest node reached, by how many required entries it had placed, for the message.
    let mut deepest: Option<(usize, Node)> = None;
    while let Some(node) = stack.pop() {
        // The pending entries invoked before the earliest completion of a pending required one.
        let mut first_return = u64::MAX;
        let mut candidates = Vec::new();
        for (i, e) in entries.iter().enumerate().skip(node.prefix) {
            if e.invoke > first_return {
                break;
            }
            if node.done(i) || dead(e, node.state) {
                continue;
            }
            if e.required {
                first_return = first_return.min(e.complete);
            }
            candidates.push(i);
        }
        if !candidates.iter().any(|&i| entries[i].required) {
            return Ok(());
        }
        let placed = node.prefix + node.extra.len();
        if deepest.as_ref().is_none_or(|(n, _)| placed > *n) {
            deepest = Some((placed, node.clone()));
        }
        for &i in candidates.iter().filter(|&&i| entries[i].invoke <= first_return) {
            let Some(state) = step(node.state, entries[i].effect) else { continue };
            let mut extra = node.extra.clone();
            let at = extra.binary_search(&i).unwrap_err();
            extra.insert(at, i);
            let next = Node { prefix: node.prefix, extra, state }.normalize(&entries);
            if visited.insert(next.clone()) {
                stack.push(next);
            }
        }
        if visited.len() > SEARCH_LIMIT {
            return Err(format!(
                "register {register}: undecided, the search visited more than {SEARCH_LIMIT} states"
            ));
        }
    }
    let (_, node) = deepest.expect("a required entry exists when the search fails");
    let stuck = entries
        .iter()
        .enumerate()
        .skip(node.prefix)
        .find(|(i, e)| e.required && !node.done(*i))
        .map(|(_, e)| e);
    let what = stuck.map_or_else(String::new, |e| {
        let op = &history[e.index];
        format!(
            ": no order places history line {} (client {} {} {:?} at {:.3}-{:.3} s) from state value {} version {}",
            e.index + 1,
            op.client,
            op.outcome,
            e.effect,
            op.invoke as f64 / 1e9,
            op.complete as f64 / 1e9,
            node.state.0,
            node.state.1
        )
    });
    Err(format!("register {register}: not linearizable{what}"))
}

/// Every anomaly of the registers `0..registers`: linearizability, and plain reads of values
/// nobody wrote.
pub fn registers(history: &[Op], registers: u32) -> Vec<String> {
    let mut anomalies: Vec<String> = (0..registers).filter_map(|r| linearizable(history, r).err()).collect();
    anomalies.extend(plain_reads(history));
    anomalies
}

/// Plain reads whose value and version no compare-and-set that may have taken effect wrote
/// before the read completed (the initial state, 0 at version 0, is always there).
pub fn plain_reads(history: &[Op]) -> Vec<String> {
    let mut written: HashMap<(u32, u64, i32), u64> = HashMap::new();
    for op in history.iter().filter(|op| op.kind == Kind::Cas && !matches!(op.outcome, Outcome::Fail(_))) {
        let first = written.entry((op.register, op.value, op.expected + 1)).or_insert(op.invoke);
        *first = (*first).min(op.invoke);
    }
    history
        .iter()
        .enumerate()
        .filter(|(_, op)| op.kind == Kind::Read && op.ok() && (op.value, op.version) != (0, 0))
        .filter(|(_, op)| written.get(&(op.register, op.value, op.version)).is_none_or(|&t| t > op.complete))
        .map(|(i, op)| {
            format!(
                "register {}: history line {} (client {} at {:.3} s) read value {} version {}, which no write before it set",
                op.register,
                i + 1,
                op.client,
                op.invoke as f64 / 1e9,
                op.value,
                op.version
            )
        })
        .collect()
}

/// Every session whose reads went back in time.
pub fn sessions(history: &[Op]) -> Vec<String> {
    let mut by_session: BTreeMap<i64, Vec<&Op>> = BTreeMap::new();
    for op in history.iter().filter(|op| op.session != 0 && op.ok()) {
        by_session.entry(op.session).or_default().push(op);
    }
    let mut anomalies = Vec::new();
    for (session, mut ops) in by_session {
        ops.sort_by_key(|op| op.invoke);
        let mut zxid = 0i64;
        let mut seen: HashMap<u32, (i64, i32)> = HashMap::new();
        for op in ops {
            if op.zxid != 0 && op.zxid < zxid {
                anomalies.push(format!(
                    "session {session:x}: a reply at {:.3} s carries zxid {:x} after the session saw {zxid:x}",
                    op.invoke as f64 / 1e9,
                    op.zxid
                ));
            }
            zxid = zxid.max(op.zxid);
            if op.kind == Kind::Create {
                continue;
            }
            let last = seen.entry(op.register).or_insert((0, 0));
            if matches!(op.kind, Kind::Read | Kind::SyncRead) && (op.mzxid < last.0 || op.version < last.1) {
                anomalies.push(format!(
                    "session {session:x}: read register {} at {:.3} s as of mzxid {:x} version {}, older than the mzxid {:x} version {} it had seen",
                    op.register,
                    op.invoke as f64 / 1e9,
                    op.mzxid,
                    op.version,
                    last.0,
                    last.1
                ));
            }
            *last = (last.0.max(op.mzxid), last.1.max(op.version));
        }
    }
    anomalies
}

/// The created name's id prefix (`c3-17-`) of a sequential znode `c3-17-0000000042`.
fn id_of(name: &str) -> &str {
    name.rfind('-').map_or(name, |at| &name[..=at])
}

/// What one member listed at the end: its name, and the names or why it gave none.
pub type Listing = (String, Result<Vec<String>, String>);

/// The creates against what each member lists at the end: `(member, names)`, or why the member
/// gave no listing (itself an anomaly: every fault is healed before the end).
pub fn creates(history: &[Op], listings: &[Listing]) -> Vec<String> {
    let mut anomalies = Vec::new();
    let creates: Vec<&Op> = history.iter().filter(|op| op.kind == Kind::Create).collect();
    let mut first: Option<(&str, Vec<String>)> = None;
    for (member, listing) in listings {
        let names = match listing {
            Ok(names) => names,
            Err(why) => {
                anomalies.push(format!("{member}: no listing at the end: {why}"));
                continue;
            }
        };
        let mut count: HashMap<&str, Vec<&str>> = HashMap::new();
        for name in names {
            count.entry(id_of(name)).or_default().push(name);
        }
        for op in &creates {
            let present = count.get(op.name.as_str()).or_else(|| count.get(id_of(&op.name)));
            let present: &[&str] = present.map_or(&[], Vec::as_slice);
            match op.outcome {
                Outcome::Ok if present != [op.name.as_str()] => anomalies
                    .push(format!("{member}: acknowledged create {} is present as {present:?}", op.name)),
                Outcome::Fail(code) if !present.is_empty() => anomalies.push(format!(
                    "{member}: create {} failed with code {code} but is present as {present:?}",
                    op.name
                )),
                Outcome::Unknown if present.len() > 1 => anomalies.push(format!(
                    "{member}: create {} (outcome unknown) is present {} times",
                    op.name,
                    present.len()
                )),
                _ => {}
            }
        }
        let mut sorted = names.clone();
        sorted.sort();
        match &first {
            None => first = Some((member, sorted)),
            Some((other, theirs)) if *theirs != sorted => {
                let only_here = sorted.iter().filter(|n| theirs.binary_search(n).is_err()).count();
                let only_there = theirs.iter().filter(|n| sorted.binary_search(n).is_err()).count();
                anomalies.push(format!(
                    "{member} and {other} list different znodes ({only_here} only on {member}, {only_there} only on {other})"
                ));
            }
            Some(_) => {}
        }
    }
    anomalies
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An operation on register 0 from `client`, between `invoke` and `complete` (seconds).
    fn op(client: u32, kind: Kind, outcome: Outcome, invoke: u64, complete: u64) -> Op {
        Op { complete, outcome, ..Op::invoked(client, i64::from(client) + 1, kind, 0, invoke) }
    }

    /// A read after a sync, which must be linearizable.
    fn read(client: u32, value: u64, version: i32, t: (u64, u64)) -> Op {
        Op { value, version, ..op(client, Kind::SyncRead, Outcome::Ok, t.0, t.1) }
    }

    fn cas(client: u32, expected: i32, value: u64, outcome: Outcome, t: (u64, u64)) -> Op {
        Op { expected, value, version: expected + 1, ..op(client, Kind::Cas, outcome, t.0, t.1) }
    }

    #[test]
    fn sequential_and_overlapping_histories_are_linearizable() {
        let h = vec![
            cas(0, 0, 7, Outcome::Ok, (0, 10)),
            read(1, 7, 1, (11, 12)),
            // Overlapping: the read may be placed before the second write.
            cas(0, 1, 8, Outcome::Ok, (20, 30)),
            read(1, 7, 1, (21, 22)),
            read(2, 8, 2, (25, 40)),
            cas(2, 1, 9, Outcome::Fail(BAD_VERSION), (41, 42)),
        ];
        assert_eq!(linearizable(&h, 0), Ok(()));
    }

    #[test]
    fn a_stale_read_after_a_completed_write_is_not_linearizable() {
        // Negative control: the write completed before the read began, yet the read saw the
        // old value (what a member of a split brain's other half answers).
        let h = vec![cas(0, 0, 7, Outcome::Ok, (0, 10)), read(1, 0, 0, (11, 12))];
        let err = linearizable(&h, 0).unwrap_err();
        assert!(err.contains("not linearizable") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn two_writes_from_the_same_version_cannot_both_succeed() {
        // The lost update of a split brain: both halves accepted a write on version 0.
        let h = vec![cas(0, 0, 7, Outcome::Ok, (0, 10)), cas(1, 0, 8, Outcome::Ok, (5, 15))];
        assert!(linearizable(&h, 0).is_err());
        // A BadVersion answered while the version was still 0 is not possible either.
        let h = vec![cas(0, 0, 7, Outcome::Fail(BAD_VERSION), (0, 10))];
        assert!(linearizable(&h, 0).is_err());
    }

    #[test]
    fn reads_must_not_flip_back_and_forth() {
        // Two reads overlapping one write: new then old, the second starting after the first
        // completed, cannot be ordered.
        let h = vec![cas(0, 0, 7, Outcome::Ok, (0, 100)), read(1, 7, 1, (10, 20)), read(2, 0, 0, (30, 40))];
        assert!(linearizable(&h, 0).is_err());
    }

    #[test]
    fn an_unknown_write_may_take_effect_late_or_never() {
        // Seen long after it timed out: allowed.
        let late =
            vec![cas(0, 0, 7, Outcome::Unknown, (0, 10)), read(1, 0, 0, (20, 21)), read(1, 7, 1, (30, 31))];
        assert_eq!(linearizable(&late, 0), Ok(()));
        // Never seen: allowed.
        let never = vec![cas(0, 0, 7, Outcome::Unknown, (0, 10)), read(1, 0, 0, (20, 21))];
        assert_eq!(linearizable(&never, 0), Ok(()));
        // But not before it was invoked.
        let early = vec![read(1, 7, 1, (0, 1)), cas(0, 0, 7, Outcome::Unknown, (5, 10))];
        assert!(linearizable(&early, 0).is_err());
        // Nor once its version has passed.
        let passed = vec![
            cas(0, 0, 7, Outcome::Unknown, (0, 10)),
            cas(1, 0, 8, Outcome::Ok, (20, 21)),
            read(1, 7, 2, (30, 31)),
        ];
        assert!(linearizable(&passed, 0).is_err());
    }

    #[test]
    fn many_concurrent_timeouts_stay_within_the_search_limit() {
        // 2,000 operations by 8 clients, each write timing out and taking effect later: the
        // memoized search decides at once.
        let mut h = Vec::new();
        for (version, round) in (0..250u64).enumerate() {
            let version = version as i32;
            let t = round * 100;
            for c in 0..6u32 {
                h.push(cas(c, version, round * 10 + u64::from(c) + 1, Outcome::Unknown, (t, t + 50)));
            }
            let value = round * 10 + 1;
            h.push(read(6, value, version + 1, (t + 60, t + 70)));
            h.push(read(7, value, version + 1, (t + 61, t + 90)));
        }
        assert_eq!(linearizable(&h, 0), Ok(()));
        // The same with one read changed to an impossible value fails.
        h[1000] = read(6, 999_999, h[1000].version, (h[1000].invoke, h[1000].complete));
        assert!(linearizable(&h, 0).is_err());
    }

    #[test]
    fn plain_reads_may_be_stale_but_never_invented() {
        // Stale (a lagging follower): ZooKeeper's documented behaviour, accepted.
        let stale = Op { kind: Kind::Read, ..read(1, 0, 0, (11, 12)) };
        let h = vec![cas(0, 0, 7, Outcome::Ok, (0, 10)), stale];
        assert!(registers(&h, 1).is_empty());
        // A value nobody wrote, or one whose write began only after the read ended.
        let invented = Op { kind: Kind::Read, ..read(1, 8, 1, (11, 12)) };
        let early = Op { kind: Kind::Read, ..read(1, 7, 1, (0, 1)) };
        let h = vec![cas(0, 0, 7, Outcome::Unknown, (5, 10)), invented, early];
        assert_eq!(registers(&h, 1).len(), 2, "{:?}", registers(&h, 1));
        // A definitely failed write's value is never there.
        let h = vec![
            cas(0, 0, 7, Outcome::Fail(BAD_VERSION), (0, 1)),
            Op { kind: Kind::Read, ..read(1, 7, 1, (5, 6)) },
        ];
        assert_eq!(plain_reads(&h).len(), 1);
    }

    #[test]
    fn a_session_reading_back_in_time_is_reported() {
        let mut newer = read(0, 7, 3, (10, 11));
        newer.mzxid = 0x30;
        newer.zxid = 0x40;
        let mut older = read(0, 5, 2, (20, 21));
        older.mzxid = 0x20;
        older.zxid = 0x41;
        assert_eq!(sessions(&[newer.clone(), older.clone()]).len(), 1);
        older.zxid = 0x39;
        assert_eq!(sessions(&[newer.clone(), older.clone()]).len(), 2);
        // The other order is fine; so is another session.
        let (mut first, mut then) = (older.clone(), newer.clone());
        (first.invoke, then.invoke) = (10, 20);
        assert!(sessions(&[first, then]).is_empty());
        older.session = 99;
        assert!(sessions(&[newer, older]).is_empty());
    }

    fn create(client: u32, name: &str, outcome: Outcome) -> Op {
        Op { name: name.into(), ..op(client, Kind::Create, outcome, 0, 1) }
    }

    #[test]
    fn creates_are_present_exactly_once_and_failures_never() {
        let h = vec![
            create(0, "c0-1-0000000001", Outcome::Ok),
            create(0, "c0-2-", Outcome::Unknown),
            create(1, "c1-1-", Outcome::Fail(-4)),
        ];
        let good = vec!["c0-1-0000000001".to_string(), "c0-2-0000000002".to_string()];
        let listed = |names: Vec<String>| {
            vec![("zk-0".to_string(), Ok(good.clone())), ("zk-1".to_string(), Ok(names))]
        };
        assert!(creates(&h, &listed(good.clone())).is_empty());
        // Lost on one member, and the members differ.
        assert_eq!(creates(&h, &listed(vec!["c0-2-0000000002".into()])).len(), 2);
        // A failed create present.
        let mut failed = good.clone();
        failed.push("c1-1-0000000003".into());
        assert!(creates(&h, &listed(failed)).iter().any(|a| a.contains("failed with code -4")));
        // An unknown one twice, an acknowledged one under another sequence number.
        let mut twice = good.clone();
        twice.push("c0-2-0000000005".into());
        assert!(creates(&h, &listed(twice)).iter().any(|a| a.contains("present 2 times")));
        let renamed = vec!["c0-1-0000000009".to_string(), "c0-2-0000000002".to_string()];
        assert!(creates(&h, &listed(renamed)).iter().any(|a| a.contains("acknowledged create c0-1-")));
        // A member that gave no listing.
        let none = vec![("zk-4".to_string(), Err("no quorum".to_string()))];
        assert_eq!(creates(&h, &none).len(), 1);
    }
}
