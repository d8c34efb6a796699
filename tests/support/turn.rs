//! Turns on the machine: one real ensemble at a time in this process, first come, first served.
//!
//! Every integration test runs in one process, in parallel threads. Three to seven JVMs keep
//! this machine's two cores busy, and elections slow down when starved, so two ensembles must
//! never overlap: [`Ensemble::new`](super::ensemble::Ensemble::new) takes a turn and the ensemble
//! holds it until it is dropped. A test that starts ensembles another way (the demo as a child
//! process), or counts what an ensemble would add to this process (its threads, its child
//! processes), takes a turn itself with [`Turn::take`] and starts no `Ensemble` while holding it.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

/// Longer than any one test holds a turn (the longest scaling test takes a few minutes), short
/// enough that a turn never given back fails the run well within CI's 90 minutes.
const WAIT_LIMIT: Duration = Duration::from_secs(30 * 60);

struct Queue {
    /// The ticket the next caller gets.
    next: u64,
    /// The ticket whose turn it is.
    serving: u64,
    /// Tickets whose callers stopped waiting: skipped when their turn comes.
    abandoned: BTreeSet<u64>,
    /// The thread holding the turn, to refuse a second turn to it (it would wait for itself).
    holder: Option<ThreadId>,
}

static QUEUE: Mutex<Queue> =
    Mutex::new(Queue { next: 0, serving: 0, abandoned: BTreeSet::new(), holder: None });
static TURN_ENDED: Condvar = Condvar::new();

/// This thread's turn; the next caller's begins when it is dropped (also on a panic).
pub struct Turn(());

impl Turn {
    /// Wait for a turn, at most [`WAIT_LIMIT`].
    pub fn take() -> Turn {
        let me = std::thread::current().id();
        let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.holder == Some(me) {
            drop(queue);
            panic!(
                "this thread already holds the ensemble turn (an Ensemble still alive?): it would wait for itself"
            );
        }
        let ticket = queue.next;
        queue.next += 1;
        let (mut queue, waited) = TURN_ENDED
            .wait_timeout_while(queue, WAIT_LIMIT, |q| q.serving != ticket)
            .unwrap_or_else(PoisonError::into_inner);
        if waited.timed_out() {
            queue.abandoned.insert(ticket);
            drop(queue);
            panic!("no ensemble turn within {WAIT_LIMIT:?}: a test has held it since");
        }
        queue.holder = Some(me);
        Turn(())
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut guard = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = &mut *guard;
        queue.holder = None;
        queue.serving += 1;
        while queue.abandoned.remove(&queue.serving) {
            queue.serving += 1;
        }
        TURN_ENDED.notify_all();
    }
}

// No `use` at this module's level: a bench includes this file too, compiled as a test but without
// libtest, which leaves the test out and would leave such an import unused.
#[cfg(test)]
mod tests {
    /// Turns taken from several threads never overlap, and a thread holding one is refused a
    /// second at once instead of waiting for itself. (It waits, like an ensemble, while one runs.)
    #[test]
    fn turns_do_not_overlap_and_a_second_turn_on_one_thread_is_refused() {
        use std::sync::atomic::Ordering::SeqCst;
        static INSIDE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        static MOST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..3 {
                        let _turn = super::Turn::take();
                        MOST.fetch_max(INSIDE.fetch_add(1, SeqCst) + 1, SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        INSIDE.fetch_sub(1, SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(MOST.load(SeqCst), 1, "two turns overlapped");

        let _turn = super::Turn::take();
        let again = std::panic::catch_unwind(super::Turn::take)
            .err()
            .expect("a second turn on the same thread was given");
        let why =
            again.downcast_ref::<String>().map(String::as_str).or(again.downcast_ref::<&str>().copied());
        assert!(why.is_some_and(|w| w.contains("already holds the ensemble turn")), "{why:?}");
    }
}
