//! `make demo`: the tutorial's three-server ensemble on this machine, every pod built from Linux
//! namespaces with zk-entry as its PID 1 (the same harness as the end-to-end tests,
//! tests/support/ensemble.rs). Shows each pod's role as it comes up, runs the tutorial's sanity
//! test with ZooKeeper's own zkCli.sh, forwards a port on this machine's loopback to the client
//! service (as `kubectl port-forward svc/zk-cs` does), prints the commands to try it, then keeps
//! the ensemble running until Ctrl-C and removes everything.
//!
//! Usage: demo PATH-TO-ZK-ENTRY [--port PORT] (needs root). Without --port: 127.0.0.1:2181, or a
//! free port when 2181 is taken.

// The whole test harness, of which this demo uses a few helpers; the rest is dead code here.
// Unused helpers are caught where the harness is at home: the test binary, tests/it.
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use support::ensemble::{CLIENT_PORT, Ensemble, Launch, pod_ip};

const USAGE: &str = "usage: demo PATH-TO-ZK-ENTRY [--port PORT]";

fn say(text: &str) {
    println!("demo: {text}");
}

fn fail(code: i32, text: &str) -> ! {
    eprintln!("demo: {text}");
    std::process::exit(code);
}

/// The arguments: the binary, and the port asked for (if any).
fn parse(args: &[String]) -> (PathBuf, Option<u16>) {
    let mut bin = None;
    let mut port = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let text = if arg == "--port" {
            rest.next().cloned().unwrap_or_default()
        } else if let Some(text) = arg.strip_prefix("--port=") {
            text.to_string()
        } else if bin.is_none() && !arg.starts_with('-') {
            bin = Some(PathBuf::from(arg));
            continue;
        } else {
            fail(2, &format!("unexpected argument '{arg}'; {USAGE}"));
        };
        port = Some(text.parse::<u16>().ok().filter(|p| *p != 0).unwrap_or_else(|| {
            fail(
                2,
                &format!(
                    "port '{text}' is not a port: give a number from 1 to 65535 (make demo PORT=12181), or none for 2181 (a free port when 2181 is taken)"
                ),
            )
        }));
    }
    (bin.unwrap_or_else(|| fail(2, USAGE)), port)
}

/// The client address on this machine's loopback: the port asked for, else 2181, else (taken)
/// any free port; and what to say about it.
fn listen(asked: Option<u16>) -> (TcpListener, Option<String>) {
    let bind = |port: u16| TcpListener::bind(("127.0.0.1", port));
    match (asked, bind(asked.unwrap_or(CLIENT_PORT))) {
        (_, Ok(listener)) => (listener, None),
        (Some(port), Err(e)) => fail(
            1,
            &format!(
                "port {port}: cannot listen on 127.0.0.1:{port} ({e}); pick another PORT, or none for 2181 (a free port when 2181 is taken)"
            ),
        ),
        (None, Err(e)) if e.kind() == ErrorKind::AddrInUse => match bind(0) {
            Ok(listener) => {
                let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
                (
                    listener,
                    Some(format!("port {CLIENT_PORT} is taken on this machine ({e}): using {port} instead")),
                )
            }
            Err(e) => fail(1, &format!("cannot listen on 127.0.0.1: {e}")),
        },
        (None, Err(e)) => fail(1, &format!("cannot listen on 127.0.0.1:{CLIENT_PORT}: {e}")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (bin, asked) = parse(&args);
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "demo: the three-pod demo needs root: it builds each pod from Linux namespaces (network, host name, mounts, PID). Run `sudo make demo`, or `make demo-standalone` for one ZooKeeper server through zk-entry without namespaces."
        );
        std::process::exit(1);
    }
    // Taken synchronously below, so Ctrl-C ends in an orderly teardown.
    let mut stop = SigSet::empty();
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        stop.add(sig);
    }
    stop.thread_block().expect("block signals");
    // Before any pod exists: a port that cannot be had ends the demo with nothing to remove.
    let (listener, port_note) = listen(asked);

    let bin = std::fs::canonicalize(&bin).expect("zk-entry binary");
    let mut e = Ensemble::new(&bin, 3);
    say(&format!(
        "StatefulSet zk, headless service zk-hs: pods zk-0, zk-1, zk-2 at {}, {}, {} on a bridge in a network namespace of their own; volumes under {}",
        pod_ip(0),
        pod_ip(1),
        pod_ip(2),
        e.root.path().display()
    ));
    say(&format!("each pod's PID 1: {}", e.command_line(Launch::ZkEntry).join(" ")));
    let started = Instant::now();
    for ordinal in 0..3 {
        e.start(ordinal, Launch::ZkEntry);
    }
    let mut roles: Vec<Option<String>> = vec![None; 3];
    while roles.iter().any(Option::is_none) {
        if started.elapsed() > Duration::from_secs(120) {
            say("the ensemble did not form within 120 s; zk-0's log follows");
            eprintln!("{}", e.log(0));
            return;
        }
        for (ordinal, known) in roles.iter_mut().enumerate() {
            if known.is_none()
                && let Some(role) = e.role(ordinal)
            {
                say(&format!(
                    "zk-{ordinal} is {role} ({:.1} s after start)",
                    started.elapsed().as_secs_f64()
                ));
                *known = Some(role);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    let client = e.client();
    let zk0 = format!("{}:2181", pod_ip(0));
    say(&format!("zkCli.sh -server {zk0} create /hello world   (through zk-0)"));
    match client.write(&zk0, &["create", "/hello", "world"]) {
        Ok(()) => say("  Created /hello"),
        Err(why) => say(&format!("  failed: {why}")),
    }
    for ordinal in [1, 2] {
        let server = format!("{}:2181", pod_ip(ordinal));
        say(&format!("zkCli.sh -server {server} get /hello   (through zk-{ordinal})"));
        say(&format!(
            "  {}",
            client.get(&server, "/hello").unwrap_or_else(|| "<nothing: the sanity check failed>".into())
        ));
    }
    let forward = e.port_forward(listener, say).expect("port forward");
    let port = forward.port();
    if let Some(note) = port_note {
        say(&note);
    }
    say(&format!(
        "port-forward svc/zk-cs: 127.0.0.1:{port} on this machine -> {} (a pod that accepts, in turn)",
        (0..3).map(|o| format!("{}:{CLIENT_PORT}", pod_ip(o))).collect::<Vec<_>>().join(", ")
    ));
    let through = std::process::Command::new(&bin)
        .args(["ready", "--quorum", &port.to_string()])
        .env_remove("ZK_CLIENT_PORT")
        .output();
    say(&format!(
        "zk-entry ready --quorum {port}   (from this machine, through the forward): {}",
        match through {
            Ok(out) if out.status.success() => "serving".to_string(),
            Ok(out) => format!("failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
            Err(e) => format!("failed: {e}"),
        }
    ));
    say("try it from this machine, in another terminal:");
    say(&format!("  /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:{port}"));
    say("kubectl exec zk-0 -- zk-entry metrics (or ready --quorum) is, as root:");
    let exec = |argv: &[&str]| support::command_line(e.exec_command(0, argv).iter().map(String::as_str));
    say(&format!("  {}", exec(&["/opt/bin/zk-entry", "metrics"])));
    say(&format!("  {} && echo ready", exec(&["/opt/bin/zk-entry", "ready", "--quorum"])));
    for ordinal in 0..3 {
        say(&format!(
            "zk-{ordinal}: zk-entry's own lines in {}",
            e.pod_dir(ordinal).join("logs/container.err").display()
        ));
    }
    say("press Ctrl-C to stop and remove everything");
    let _ = stop.wait();
    forward.stop();
    say(&format!("stopped the port-forward (127.0.0.1:{port} closed)"));
    say("stopping: SIGTERM to each pod's PID 1");
    for ordinal in 0..3 {
        if let Some(status) = e.exited(ordinal) {
            say(&format!("zk-{ordinal} had stopped already ({status})"));
            e.kill(ordinal);
            continue;
        }
        let (status, took) = e.signal_pid1(ordinal, libc::SIGTERM, Duration::from_secs(10));
        say(&format!("zk-{ordinal} stopped in {:.2} s ({status})", took.as_secs_f64()));
    }
    drop(e);
    say("removed the pods, their namespaces, the bridge and the volumes");
}
