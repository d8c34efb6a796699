//! Who leads, seen from outside: `srvr` asked of every pod in turn every [`PERIOD`], from the
//! client sandbox's network, each reply's `Mode:` kept with the time of the round. From the rounds:
//! leader changes and periods with no leader (rounds in which no pod said `leader`). Beside
//! [`super::writer`], for the rolling-restart test and benchmark and whatever else watches an
//! ensemble through a planned or unplanned operation.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ensemble::{Background, CLIENT_PORT, Client, pod_ip};

pub const PERIOD: Duration = Duration::from_millis(100);
/// One pod's answer within this, or it counts as not answering in that round.
const ASK_LIMIT: Duration = Duration::from_millis(150);
/// A bound on the run, should a caller forget to stop it.
const MAX_ROUNDS: usize = 200_000;

/// One round: when it began and each pod's `Mode:` (None: no answer or not serving).
#[derive(Debug, Clone)]
pub struct Round {
    pub at: Instant,
    pub modes: Vec<Option<String>>,
}

impl Round {
    /// The pods that said `leader`.
    pub fn leaders(&self) -> Vec<usize> {
        (0..self.modes.len()).filter(|&o| self.modes[o].as_deref() == Some("leader")).collect()
    }
}

/// What the rounds within a span say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leadership {
    /// Times the pod that leads changed (a round with another leader than the last one seen).
    pub changes: usize,
    /// Runs of consecutive rounds with no leader.
    pub leaderless: usize,
    /// The longest such run, first round to the round after it.
    pub longest_leaderless: Duration,
    pub rounds: usize,
}

pub struct Monitor {
    rounds: Arc<Mutex<Vec<Round>>>,
    work: Background,
}

impl Monitor {
    /// Watch pods `0..size` of the ensemble.
    pub fn start(client: Client, size: usize) -> Monitor {
        let rounds = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&rounds);
        let work = client.background(move |stop| {
            let pods: Vec<SocketAddr> =
                (0..size).map(|o| format!("{}:{CLIENT_PORT}", pod_ip(o)).parse().unwrap()).collect();
            for _ in 0..MAX_ROUNDS {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let at = Instant::now();
                let modes = pods.iter().map(|p| mode(*p)).collect();
                shared.lock().unwrap().push(Round { at, modes });
                std::thread::sleep(PERIOD.saturating_sub(at.elapsed()));
            }
        });
        Monitor { rounds, work }
    }

    pub fn rounds(&self) -> Vec<Round> {
        self.rounds.lock().unwrap().clone()
    }

    /// Wait until a round shows a leader (or `limit` passes); which pod.
    pub fn wait_leader(&self, limit: Duration) -> Option<usize> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(leader) = self.rounds().last().and_then(|r| r.leaders().first().copied()) {
                return Some(leader);
            }
            std::thread::sleep(PERIOD);
        }
        None
    }

    pub fn stop(mut self) -> Vec<Round> {
        self.work.stop();
        self.rounds()
    }
}

/// What the rounds that began within `from..to` say about who led.
pub fn leadership(rounds: &[Round], from: Instant, to: Instant) -> Leadership {
    let mut out = Leadership::default();
    let mut last_leader: Option<usize> = None;
    let mut without: Option<Instant> = None;
    for round in rounds.iter().filter(|r| r.at >= from && r.at < to) {
        out.rounds += 1;
        match round.leaders().first() {
            Some(&leader) => {
                if last_leader.is_some_and(|l| l != leader) {
                    out.changes += 1;
                }
                last_leader = Some(leader);
                if let Some(began) = without.take() {
                    out.longest_leaderless = out.longest_leaderless.max(round.at - began);
                }
            }
            None if without.is_none() => {
                out.leaderless += 1;
                without = Some(round.at);
            }
            None => {}
        }
    }
    if let Some(began) = without {
        out.longest_leaderless = out.longest_leaderless.max(to.saturating_duration_since(began));
    }
    out
}

/// The rounds from `from` on, one line each time what the pods say changes: for the reader of a
/// failure.
pub fn timeline(rounds: &[Round], from: Instant) -> String {
    let mut out = String::new();
    let mut last = None;
    for r in rounds.iter().filter(|r| r.at >= from) {
        if last.as_ref() != Some(&r.modes) {
            let modes: Vec<&str> = r.modes.iter().map(|m| m.as_deref().unwrap_or("-")).collect();
            out.push_str(&format!("{:>8.3} s  {}\n", (r.at - from).as_secs_f64(), modes.join(" ")));
            last = Some(r.modes.clone());
        }
    }
    out
}

/// `srvr`'s `Mode:` of one pod: four bytes, the write side closed, the reply read to its end.
fn mode(pod: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&pod, ASK_LIMIT).ok()?;
    stream.set_read_timeout(Some(ASK_LIMIT)).ok()?;
    stream.set_write_timeout(Some(ASK_LIMIT)).ok()?;
    stream.write_all(b"srvr").ok()?;
    let _ = stream.shutdown(Shutdown::Write);
    let mut reply = Vec::new();
    let _ = stream.take(64 << 10).read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply);
    text.lines().find_map(|l| l.strip_prefix("Mode: ")).map(|m| m.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounds(leaders: &[Option<usize>]) -> (Vec<Round>, Instant) {
        let t0 = Instant::now();
        let rounds = leaders
            .iter()
            .enumerate()
            .map(|(i, l)| Round {
                at: t0 + PERIOD * i as u32,
                modes: (0..3).map(|o| (Some(o) == *l).then(|| "leader".to_string())).collect(),
            })
            .collect();
        (rounds, t0)
    }

    #[test]
    fn changes_and_leaderless_runs_are_counted() {
        let (r, t0) = rounds(&[Some(2), Some(2), None, None, Some(1), Some(1), None, Some(1), Some(0)]);
        let l = leadership(&r, t0, t0 + PERIOD * 9);
        assert_eq!((l.changes, l.leaderless, l.rounds), (2, 2, 9));
        assert_eq!(l.longest_leaderless, PERIOD * 2);
        let (r, t0) = rounds(&[Some(0); 5]);
        assert_eq!(leadership(&r, t0, t0 + PERIOD * 5).leaderless, 0);
    }
}
