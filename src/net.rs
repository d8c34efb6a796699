//! Network steps under one deadline, shared by the four-letter-word probe
//! ([`crate::probe::fourlw`]) and the ZooKeeper session ([`crate::zk::session`]): the name lookup,
//! the connect and every read and write end by the deadline whatever the peer or the resolver
//! does, and, given a stop check, as soon as it says so (docs/design.md, "Talking to ZooKeeper").
//!
//! Why each step is written this way:
//! - a socket timeout bounds one system call, not a step: a peer that sends one byte per timeout
//!   keeps a `read_exact` going for ever. Every read and write here sets the timeout to what is
//!   left just before the call and looks at the clock after it.
//! - `getaddrinfo` has no deadline (the resolver's timeout is per query, times attempts, times
//!   search domains): a lookup runs on a helper thread and the caller stops waiting at the
//!   deadline. The thread is left behind and ends with the resolver's own timeout.
//! - a start blocks its signals (PID 1, [`crate::pid1::signals`]), so a SIGTERM interrupts no
//!   call: with a stop check, every wait runs in slices of at most [`SLICE`] and looks at it
//!   between two. Connecting then runs on a helper thread too, because a connect cut short and
//!   started again never completes with a peer slower than a slice.
//!
//! Only std: tests/support compiles the ZooKeeper session, and with it this file, into the tests.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest a wait with a stop check goes without looking at it.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// True once the waits should end early (for a start: a signal that ends it is pending).
pub(crate) type Stop = Rc<dyn Fn() -> bool>;

/// When every step must be over, and what else may end them sooner.
#[derive(Clone)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    stop: Option<Stop>,
}

impl Deadline {
    pub(crate) fn new(at: Instant) -> Deadline {
        Deadline { at, stop: None }
    }

    /// The same deadline, also ended by `stop`.
    pub(crate) fn with_stop(self, stop: Option<Stop>) -> Deadline {
        Deadline { stop, ..self }
    }

    /// Time left, or `None` once the deadline has passed (socket timeouts refuse zero).
    pub(crate) fn left(&self) -> Option<Duration> {
        self.at.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }

    /// How long the next blocking call may wait: what is left, cut to a [`SLICE`] when there is
    /// a stop check to look at between calls.
    fn slice(&self) -> Result<Duration, Ended> {
        if let Some(stop) = &self.stop
            && stop()
        {
            return Err(Ended::Stopped);
        }
        let left = self.left().ok_or(Ended::TimedOut)?;
        Ok(if self.stop.is_some() { left.min(SLICE) } else { left })
    }
}

/// Why a step did not complete.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The deadline passed first.
    TimedOut,
    /// The stop check said so.
    Stopped,
    /// The system, the peer or the resolver said no.
    Failed(io::Error),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::TimedOut => f.write_str("out of time"),
            Ended::Stopped => f.write_str("stopped by a signal"),
            Ended::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Ended {}

/// The addresses of `host` (a name, or an address literal, bracketed or not).
pub(crate) fn resolve(host: &str, port: u16, deadline: &Deadline) -> Result<Vec<SocketAddr>, Ended> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let query = (host.to_string(), port);
    match off_thread("resolve", deadline, move || query.to_socket_addrs().map(Vec::from_iter))? {
        Ok(addrs) if !addrs.is_empty() => Ok(addrs),
        Ok(_) => Err(Ended::Failed(io::Error::other("no addresses"))),
        Err(e) => Err(Ended::Failed(e)),
    }
}

/// A connection to `addr`.
pub(crate) fn connect(addr: SocketAddr, deadline: &Deadline) -> Result<TcpStream, Ended> {
    let wait = deadline.slice()?;
    let connected = match deadline.stop {
        // Nothing to look at meanwhile: wait in this thread (the probe's case, every 10 s).
        None => TcpStream::connect_timeout(&addr, wait),
        Some(_) => {
            let left = deadline.left().ok_or(Ended::TimedOut)?;
            off_thread("connect", deadline, move || TcpStream::connect_timeout(&addr, left))?
        }
    };
    connected.map_err(|e| if is_timeout(&e) { Ended::TimedOut } else { Ended::Failed(e) })
}

/// One read of up to `buf.len()` bytes; 0 at the end of the stream.
pub(crate) fn read(stream: &mut TcpStream, buf: &mut [u8], deadline: &Deadline) -> Result<usize, Ended> {
    loop {
        stream.set_read_timeout(Some(deadline.slice()?)).map_err(Ended::Failed)?;
        match stream.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted || is_timeout(&e) => {}
            Err(e) => return Err(Ended::Failed(e)),
        }
    }
}

/// Exactly `buf.len()` bytes; an end of stream before them is an `UnexpectedEof` failure.
pub(crate) fn read_exact(stream: &mut TcpStream, buf: &mut [u8], deadline: &Deadline) -> Result<(), Ended> {
    let mut filled = 0;
    while filled < buf.len() {
        match read(stream, &mut buf[filled..], deadline)? {
            0 => return Err(Ended::Failed(ErrorKind::UnexpectedEof.into())),
            n => filled += n,
        }
    }
    Ok(())
}

/// All of `bytes`.
pub(crate) fn write_all(stream: &mut TcpStream, bytes: &[u8], deadline: &Deadline) -> Result<(), Ended> {
    let mut sent = 0;
    while sent < bytes.len() {
        stream.set_write_timeout(Some(deadline.slice()?)).map_err(Ended::Failed)?;
        match stream.write(&bytes[sent..]) {
            Ok(0) => return Err(Ended::Failed(ErrorKind::WriteZero.into())),
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::Interrupted || is_timeout(&e) => {}
            Err(e) => return Err(Ended::Failed(e)),
        }
    }
    Ok(())
}

/// Run `work` on a helper thread and wait for its result until the deadline (or the stop); the
/// thread is left behind when the wait ends first.
fn off_thread<T: Send + 'static>(
    name: &str,
    deadline: &Deadline,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Ended> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
        let _ = tx.send(work());
    });
    if let Err(e) = spawned {
        return Err(Ended::Failed(io::Error::new(e.kind(), format!("cannot start a {name} thread: {e}"))));
    }
    loop {
        match rx.recv_timeout(deadline.slice()?) {
            Ok(result) => return Ok(result),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Ended::Failed(io::Error::other(format!(
                    "the {name} thread ended without an answer"
                ))));
            }
        }
    }
}

/// Socket timeouts surface as `WouldBlock` (EAGAIN) on Linux, `TimedOut` elsewhere.
fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::net::TcpListener;

    /// A peer that sends one byte per 20 ms never completes a read of 1,000 bytes in 200 ms:
    /// the deadline holds across the many reads that each get a byte in time.
    #[test]
    fn a_dripping_peer_is_cut_off_at_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let dripper = std::thread::spawn(move || {
            let (mut peer, _) = listener.accept().unwrap();
            for _ in 0..50 {
                if peer.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let started = Instant::now();
        let deadline = Deadline::new(started + Duration::from_millis(200));
        let mut stream = connect(addr, &deadline).unwrap();
        let mut buf = [0u8; 1000];
        let result = read_exact(&mut stream, &mut buf, &deadline);
        assert!(matches!(result, Err(Ended::TimedOut)), "{result:?}");
        assert!(started.elapsed() < Duration::from_millis(900), "{:?}", started.elapsed());
        drop(stream);
        dripper.join().unwrap();
    }

    /// A stop check ends a wait within a slice, long before the deadline.
    #[test]
    fn a_stop_ends_the_wait_early() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let started = Instant::now();
        let asked = Rc::new(Cell::new(0));
        let counter = asked.clone();
        let stop: Stop = Rc::new(move || {
            counter.set(counter.get() + 1);
            started.elapsed() > Duration::from_millis(100)
        });
        let deadline = Deadline::new(started + Duration::from_secs(30)).with_stop(Some(stop));
        let mut stream = connect(addr, &deadline).unwrap();
        let result = read(&mut stream, &mut [0u8; 8], &deadline);
        assert!(matches!(result, Err(Ended::Stopped)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(asked.get() >= 2, "the stop was looked at {} time(s)", asked.get());
    }

    #[test]
    fn address_literals_need_no_lookup() {
        let deadline = Deadline::new(Instant::now() + Duration::from_secs(1));
        assert_eq!(resolve("[::1]", 2181, &deadline).unwrap(), ["[::1]:2181".parse().unwrap()]);
        assert_eq!(resolve("127.0.0.1", 1, &deadline).unwrap(), ["127.0.0.1:1".parse().unwrap()]);
        let passed = Deadline::new(Instant::now());
        assert!(matches!(resolve("localhost", 1, &passed), Err(Ended::TimedOut)));
    }
}
