//! `kubectl port-forward svc/zk-cs`: a listener on this machine's loopback whose connections are
//! carried to the ensemble's client service, so a shell on the host can use the pods.
//!
//! The listener lives in the network namespace of the thread that calls [`PortForward::start`]
//! (the host's). Each accepted connection gets a thread that joins the pods' network
//! (`setns` into a namespace on the bridge, e.g. the client sandbox's) and connects from there:
//! a socket keeps the namespace it was made in, so the two ends of the copy belong to different
//! networks. Backends are tried round-robin, and one that refuses or does not answer within
//! [`CONNECT_LIMIT`] is skipped (a Service sends only to endpoints that serve).
//!
//! Bounded: at most [`MAX_CONNECTIONS`] at once (more are closed at once); each connection's two
//! copy threads end when either side closes (the close is passed on; the other direction gets
//! [`LINGER`] to finish, then both sockets are shut); [`PortForward::stop`] (or drop) shuts the
//! listener and every connection and joins every thread.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub const MAX_CONNECTIONS: usize = 32;
pub const CONNECT_LIMIT: Duration = Duration::from_secs(1);
/// How long one direction may go on after the other has closed.
pub const LINGER: Duration = Duration::from_secs(10);

/// A backend: the pod's name (for messages) and its client address.
pub type Backend = (String, SocketAddr);

struct Shared {
    /// The pods' network, entered by each connection's thread.
    netns: File,
    backends: Vec<Backend>,
    /// Round-robin position.
    next: AtomicU64,
    /// Connection numbers.
    ids: AtomicU64,
    stopping: AtomicBool,
    /// Open connections by number: clones of both sockets, to shut them on stop.
    live: Mutex<HashMap<u64, [TcpStream; 2]>>,
    note: fn(&str),
}

pub struct PortForward {
    port: u16,
    /// The listening socket (a duplicate of the acceptor's): shut to wake the acceptor.
    listener: TcpListener,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl PortForward {
    /// Forward connections to `listener` to `backends`, connecting from the network namespace
    /// `netns` (e.g. `/proc/PID/ns/net`). `note` gets one line per connection and per refusal.
    pub fn start(
        listener: TcpListener,
        netns: &Path,
        backends: Vec<Backend>,
        note: fn(&str),
    ) -> io::Result<PortForward> {
        assert!(!backends.is_empty(), "nothing to forward to");
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            netns: File::open(netns)?,
            backends,
            next: AtomicU64::new(0),
            ids: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            live: Mutex::new(HashMap::new()),
            note,
        });
        let accepting = listener.try_clone()?;
        let for_acceptor = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name("fwd-accept".into())
            .spawn(move || accept_loop(accepting, for_acceptor))?;
        Ok(PortForward { port, listener, shared, acceptor: Some(acceptor) })
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Close the listener and every connection; returns once every thread has ended.
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        let Some(acceptor) = self.acceptor.take() else { return };
        self.shared.stopping.store(true, Ordering::SeqCst);
        // A blocked accept() returns (EINVAL) once its listening socket is shut down.
        // SAFETY: shutdown has no memory-safety preconditions; the descriptor is ours and open.
        unsafe { libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR) };
        for pair in lock(&self.shared.live).values() {
            shut_both(pair);
        }
        let _ = acceptor.join();
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        self.shut();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn shut_both([a, b]: &[TcpStream; 2]) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut handlers: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stopping.load(Ordering::SeqCst) {
        let (client, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(_) if shared.stopping.load(Ordering::SeqCst) => break,
            Err(e) => {
                // E.g. out of descriptors: wait a little rather than spin.
                (shared.note)(&format!("port-forward: accept failed: {e}"));
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        handlers.retain(|h| !h.is_finished());
        if handlers.len() >= MAX_CONNECTIONS {
            (shared.note)(&format!(
                "port-forward: {peer} closed at once: {MAX_CONNECTIONS} connections are open already"
            ));
            continue;
        }
        let for_handler = Arc::clone(&shared);
        match std::thread::Builder::new().name("fwd-conn".into()).spawn(move || {
            if let Err(why) = serve(client, peer, &for_handler) {
                (for_handler.note)(&format!("port-forward: {peer}: {why}"));
            }
        }) {
            Ok(handler) => handlers.push(handler),
            Err(e) => (shared.note)(&format!("port-forward: {peer}: no thread: {e}")),
        }
    }
    for handler in handlers {
        let _ = handler.join();
    }
}

/// Connect to a backend that accepts, round-robin, from the pods' network.
fn dial(shared: &Shared) -> Result<(TcpStream, &str), String> {
    nix::sched::setns(&shared.netns, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("cannot enter the pods' network: {e}"))?;
    let count = shared.backends.len();
    let first = shared.next.fetch_add(1, Ordering::SeqCst) as usize;
    let mut refused = Vec::new();
    for i in 0..count {
        let (name, addr) = &shared.backends[(first + i) % count];
        match TcpStream::connect_timeout(addr, CONNECT_LIMIT) {
            Ok(stream) => return Ok((stream, name)),
            Err(e) => refused.push(format!("{name} ({addr}): {e}")),
        }
    }
    Err(format!("no pod accepted: {}", refused.join("; ")))
}

fn serve(client: TcpStream, peer: SocketAddr, shared: &Shared) -> Result<(), String> {
    let (server, name) = dial(shared)?;
    let backend = server.peer_addr().map_err(|e| e.to_string())?;
    let clone = |stream: &TcpStream| stream.try_clone().map_err(|e| e.to_string());
    let directions = [(clone(&client)?, clone(&server)?), (clone(&server)?, clone(&client)?)];
    let pair = [clone(&client)?, clone(&server)?];
    let id = shared.ids.fetch_add(1, Ordering::SeqCst);
    {
        let mut live = lock(&shared.live);
        // Checked under the lock: stop() shuts every connection registered before it looked.
        if shared.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        live.insert(id, pair);
    }
    (shared.note)(&format!("port-forward: {peer} -> {name} ({backend})"));
    let (done, finished) = mpsc::channel();
    let mut copiers = Vec::new();
    for (from, to) in directions {
        let done = done.clone();
        let copier = std::thread::Builder::new().name("fwd-copy".into()).spawn(move || {
            copy(from, to);
            let _ = done.send(());
        });
        match copier {
            Ok(copier) => copiers.push(copier),
            Err(e) => {
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
                (shared.note)(&format!("port-forward: {peer}: no thread: {e}"));
            }
        }
    }
    drop(done);
    // One direction has ended (a side closed, or an error): the other gets LINGER, then both
    // sockets are shut, which ends its read.
    if finished.recv().is_ok() && finished.recv_timeout(LINGER).is_err() {
        shut_both(&[client, server]);
    }
    for copier in copiers {
        let _ = copier.join();
    }
    lock(&shared.live).remove(&id);
    Ok(())
}

/// Copy `from` to `to` until `from` ends; an end is passed on as a half-close, an error as a
/// shutdown of both sockets.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    shut_both(&[from, to]);
}
