//! The demo's port-forward (tests/support/forward.rs) on loopback alone, without ZooKeeper:
//! a backend that refuses is skipped, a half-close reaches the other side and the reply comes
//! back, connections beyond the cap are closed at once, and stop() ends every connection and
//! thread while connections are open. The "pods' network" is this process's own (entering it
//! with setns needs root, as the demo does); tests/it/e2e.rs forwards to real pods.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use crate::support::forward::{MAX_CONNECTIONS, PortForward};
use crate::support::turn::Turn;
use crate::support::{free_port, require_root, wait_for};

const IO_LIMIT: Duration = Duration::from_secs(5);

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    stream
}

fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("read until the other side closes");
    all
}

/// The process's threads whose names start with `fwd-`.
fn forward_threads() -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).unwrap_or_default().starts_with("fwd-"))
        .count()
}

/// The backend accepts one connection forwarded to it (bounded in time).
fn accept_one(backend: &TcpListener) -> TcpStream {
    let stream = wait_for(IO_LIMIT, || backend.accept().ok().map(|(s, _)| s)).expect("nothing forwarded");
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    stream
}

#[test]
fn forwards_skips_a_refusing_backend_caps_connections_and_stops_cleanly() {
    require_root();
    // It counts this process's fwd- threads, and an ensemble's port-forward (in e2e) has some.
    let _turn = Turn::take();
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    backend.set_nonblocking(true).unwrap();
    let refusing: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let backends =
        vec![("refusing".to_string(), refusing), ("backend".to_string(), backend.local_addr().unwrap())];
    let forward = PortForward::start(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        Path::new("/proc/self/ns/net"),
        backends,
        |line| eprintln!("{line}"),
    )
    .unwrap();
    let port = forward.port();

    // A four-letter-word exchange, twice (round-robin starts once at each backend): the word
    // and the half-close arrive, the reply and the close come back.
    for _ in 0..2 {
        let mut client = connect(port);
        client.write_all(b"ruok").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut server = accept_one(&backend);
        assert_eq!(read_to_end(&mut server), b"ruok");
        server.write_all(b"imok").unwrap();
        drop(server);
        assert_eq!(read_to_end(&mut client), b"imok");
    }
    assert!(
        wait_for(IO_LIMIT, || (forward_threads() == 1).then_some(())).is_some(),
        "copy threads outlived their connections: {} fwd- threads",
        forward_threads()
    );

    // The cap: MAX_CONNECTIONS held open, the next one is closed at once.
    let mut held = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        let client = connect(port);
        held.push((client, accept_one(&backend)));
    }
    let mut over = connect(port);
    assert_eq!(read_to_end(&mut over), b"", "a connection beyond the cap was served");

    // stop() with every connection open: prompt, every client sees its end, no thread stays,
    // the port is closed.
    let stopping = std::thread::spawn(move || forward.stop());
    let stopped = wait_for(Duration::from_secs(3), || stopping.is_finished().then_some(()));
    assert!(stopped.is_some(), "stop() did not return within 3 s with connections open");
    for (client, _) in &mut held {
        assert_eq!(read_to_end(client), b"");
    }
    assert_eq!(forward_threads(), 0);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the port is still open");
}
