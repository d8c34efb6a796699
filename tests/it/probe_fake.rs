//! `zk-entry ready` and `zk-entry metrics` against a scripted fake server on 127.0.0.1: every
//! way a server (or something that is not one) can answer, each with the documented exit code
//! and message, and no call running more than 50 ms past its `--timeout`.
//!
//! The fake also records what each connection sent, so the tests check the request itself:
//! exactly the four command bytes, then a half-close (the tutorial's `echo ruok | nc` sends a
//! fifth byte, the cause of its false failures).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::symlink;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::*;

/// Short, so the suite stays fast; the default (800ms) is exercised against the real server.
const TIMEOUT: Duration = Duration::from_millis(300);
const TIMEOUT_FLAG: &str = "--timeout=300ms";
/// How far past `--timeout` a call may run (the issue's bound): process start and exit.
const SLACK: Duration = Duration::from_millis(50);
/// Bounds on the fake itself, so a broken client cannot hang the suite.
const FAKE_LIMIT: Duration = Duration::from_secs(5);

const IMOK: &[u8] = b"imok";
const NOT_SERVING: &[u8] = b"This ZooKeeper instance is not currently serving requests\n";
const SRVR: &[u8] = b"Zookeeper version: 3.8.0-x, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n";
const MNTR_34: &str = include_str!("../fixtures/mntr-3.4.txt");
const MNTR_38: &str = include_str!("../fixtures/mntr-3.8.txt");

fn not_whitelisted(word: &str) -> Vec<u8> {
    format!("{word} is not executed because it is not in the whitelist.\n").into_bytes()
}

/// What the fake does on one connection, after reading the request.
enum Act {
    /// Send these bytes, then close normally (FIN).
    Reply(Vec<u8>),
    /// Send these bytes, then close with SO_LINGER 0, so the client gets a reset, not EOF.
    ReplyThenReset(Vec<u8>),
    /// Wait, then send and close.
    Late(Duration, Vec<u8>),
    /// Send nothing; keep the connection open past the client's deadline.
    Hang,
}

/// What one connection sent: its bytes, and whether it then half-closed (EOF seen).
#[derive(Debug, PartialEq, Eq)]
struct Request {
    bytes: Vec<u8>,
    half_closed: bool,
}

struct Fake {
    port: u16,
    thread: JoinHandle<Vec<Request>>,
}

impl Fake {
    /// A listener that serves `acts` to successive connections.
    fn start(acts: Vec<Act>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for act in acts {
                let Some(stream) = accept(&listener) else { break };
                requests.push(serve(stream, act));
            }
            requests
        });
        Fake { port, thread }
    }

    /// The requests the fake saw (waits for it to finish its script).
    fn requests(self) -> Vec<Request> {
        self.thread.join().expect("fake server thread")
    }
}

fn accept(listener: &TcpListener) -> Option<TcpStream> {
    let deadline = Instant::now() + FAKE_LIMIT;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return Some(stream);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("accept: {e}"),
        }
    }
    None
}

fn serve(mut stream: TcpStream, act: Act) -> Request {
    // Read what the client sends until it half-closes, or until it has sent more than a request
    // and stopped (the server answers after 4 bytes either way).
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut bytes = Vec::new();
    let mut half_closed = false;
    let mut buf = [0u8; 64];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                half_closed = true;
                break;
            }
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    match act {
        Act::Reply(reply) => {
            let _ = stream.write_all(&reply);
        }
        Act::ReplyThenReset(reply) => {
            let _ = stream.write_all(&reply);
            reset_on_close(&stream);
        }
        Act::Late(delay, reply) => {
            std::thread::sleep(delay);
            let _ = stream.write_all(&reply);
        }
        // The client has half-closed, so reads would return EOF at once: outwait it instead.
        Act::Hang => std::thread::sleep(TIMEOUT + Duration::from_millis(200)),
    }
    Request { bytes, half_closed }
}

/// SO_LINGER with a zero timeout: close() then sends RST instead of FIN.
fn reset_on_close(stream: &TcpStream) {
    let linger = nix::libc::linger { l_onoff: 1, l_linger: 0 };
    nix::sys::socket::setsockopt(stream, nix::sys::socket::sockopt::Linger, &linger).expect("SO_LINGER");
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Run zk-entry with `args` and check it ended within `TIMEOUT` + `SLACK`.
fn run(args: &[&str]) -> Run {
    run_within(args, TIMEOUT)
}

/// [`run`] for a call given `--timeout` `limit`.
fn run_within(args: &[&str], limit: Duration) -> Run {
    let started = Instant::now();
    let out = zk_entry().args(args).output().expect("run zk-entry");
    let run = Run {
        code: out.status.code(),
        stdout: stdout(&out),
        stderr: stderr(&out),
        elapsed: started.elapsed(),
    };
    assert!(
        run.elapsed <= limit + SLACK,
        "{args:?} took {:?}, more than --timeout {limit:?} + {SLACK:?}",
        run.elapsed
    );
    run
}

fn ready(fake: &Fake, extra: &[&str]) -> Run {
    let port = fake.port.to_string();
    let mut args = vec!["ready", TIMEOUT_FLAG, &port];
    args.extend(extra);
    run(&args)
}

fn metrics(fake: &Fake, format: &str) -> Run {
    let port = fake.port.to_string();
    run(&["metrics", TIMEOUT_FLAG, "--format", format, &port])
}

impl Finished for Run {
    fn exit_code(&self) -> Option<i32> {
        self.code
    }
    fn stdout_text(&self) -> String {
        self.stdout.clone()
    }
    fn stderr_text(&self) -> String {
        self.stderr.clone()
    }
}

/// Exit 1, one `zk-entry:` line on stderr containing every needle (a failed `metrics` still
/// prints on stdout: `zk_up 0`, or the JSON error).
fn assert_fails(run: &Run, needles: &[&str]) {
    assert_one_line("probe", run.code, &run.stderr, 1, needles);
}

fn assert_healthy(run: &Run) {
    assert_quiet_success("probe", run);
}

fn request(word: &str) -> Request {
    Request { bytes: word.as_bytes().to_vec(), half_closed: true }
}

#[test]
fn imok_is_healthy_and_the_request_is_four_bytes_then_half_close() {
    let fake = Fake::start(vec![Act::Reply(IMOK.to_vec())]);
    assert_healthy(&ready(&fake, &[]));
    assert_eq!(fake.requests(), vec![request("ruok")]);
}

/// A host name goes through the resolver (here /etc/hosts: localhost), within the deadline too.
#[test]
fn a_host_name_is_resolved() {
    let fake = Fake::start(vec![Act::Reply(IMOK.to_vec())]);
    assert_healthy(&ready(&fake, &["--host", "localhost"]));
    assert_eq!(fake.requests(), vec![request("ruok")]);
}

#[test]
fn imok_followed_by_a_reset_is_still_healthy() {
    let fake = Fake::start(vec![Act::ReplyThenReset(IMOK.to_vec())]);
    assert_healthy(&ready(&fake, &[]));
    assert_eq!(fake.requests(), vec![request("ruok")]);
}

/// Negative control for the test above: the fake's reset is real. A client reading after the
/// reply sees ECONNRESET, not EOF, so a probe that gave up on a reset would have failed there.
#[test]
fn the_reset_script_really_resets() {
    let fake = Fake::start(vec![Act::ReplyThenReset(IMOK.to_vec())]);
    let mut stream = TcpStream::connect(("127.0.0.1", fake.port)).unwrap();
    stream.set_read_timeout(Some(FAKE_LIMIT)).unwrap();
    stream.write_all(b"ruok").unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let _ = fake.requests();
    let mut got = Vec::new();
    let mut buf = [0u8; 16];
    let end = loop {
        match stream.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break Some(e.kind()),
        }
    };
    assert_eq!(end, Some(ErrorKind::ConnectionReset), "received {got:?}");
}

#[test]
fn a_reply_after_the_deadline_times_out() {
    let fake = Fake::start(vec![Act::Late(TIMEOUT * 2, IMOK.to_vec())]);
    let run = ready(&fake, &[]);
    assert_fails(&run, &["ready: 127.0.0.1:", "ruok: timed out after 300ms while reading the reply"]);
    assert!(run.elapsed >= TIMEOUT, "gave up early: {:?}", run.elapsed);
    drop(fake.requests());
}

#[test]
fn accept_and_hang_times_out() {
    let fake = Fake::start(vec![Act::Hang, Act::Hang]);
    let run = ready(&fake, &[]);
    assert_fails(&run, &["ruok: timed out after 300ms while reading the reply"]);
    assert!(run.elapsed >= TIMEOUT, "gave up early: {:?}", run.elapsed);
    let run = metrics(&fake, "raw");
    assert_fails(&run, &["metrics: 127.0.0.1:", "mntr: timed out after 300ms"]);
    assert_eq!(run.stdout, "");
    assert_eq!(fake.requests(), vec![request("ruok"), request("mntr")]);
}

#[test]
fn connection_refused() {
    let port = free_port().to_string();
    let run = run(&["ready", TIMEOUT_FLAG, &port]);
    assert_fails(
        &run,
        &[&format!("ready: 127.0.0.1:{port}: ruok: connection refused"), "nothing listens there"],
    );
    let run = run_metrics_on(&port, "raw");
    assert_fails(&run, &["metrics:", "mntr: connection refused"]);
}

fn run_metrics_on(port: &str, format: &str) -> Run {
    run(&["metrics", TIMEOUT_FLAG, "--format", format, port])
}

#[test]
fn garbage_is_quoted_escaped_and_cut() {
    let mut garbage = b"\x15\x03\x01HTTP/1.1 400 Bad Request\r\n\"quoted\"\n".to_vec();
    garbage.extend(std::iter::repeat_n(b'x', 500));
    let fake = Fake::start(vec![Act::Reply(garbage.clone()), Act::Reply(garbage)]);
    let run = ready(&fake, &[]);
    assert_fails(
        &run,
        &[
            r#"ruok answered "\u0015\u0003\u0001HTTP/1.1 400 Bad Request\r\n\"quoted\"\nxxx"#,
            "(538 bytes in all)",
            "expected \"imok\"",
        ],
    );
    let run = metrics(&fake, "raw");
    assert_fails(&run, &["the reply is not mntr: line 1 is", "not zk_<key><TAB><value>"]);
    drop(fake.requests());
}

#[test]
fn ruok_not_whitelisted_falls_back_to_srvr() {
    let fake = Fake::start(vec![Act::Reply(not_whitelisted("ruok")), Act::Reply(SRVR.to_vec())]);
    assert_healthy(&ready(&fake, &[]));
    assert_eq!(fake.requests(), vec![request("ruok"), request("srvr")]);

    // srvr's not-serving answer still proves the process alive.
    let fake = Fake::start(vec![Act::Reply(not_whitelisted("ruok")), Act::Reply(NOT_SERVING.to_vec())]);
    assert_healthy(&ready(&fake, &[]));
    drop(fake.requests());

    // Negative control: the fallback is not "anything goes".
    let fake = Fake::start(vec![Act::Reply(not_whitelisted("ruok")), Act::Reply(b"hello".to_vec())]);
    assert_fails(&ready(&fake, &[]), &["srvr answered \"hello\""]);
    drop(fake.requests());
}

#[test]
fn whitelist_refusals_name_the_key_to_set() {
    let fake = Fake::start(vec![Act::Reply(not_whitelisted("srvr"))]);
    assert_fails(
        &ready(&fake, &["--quorum"]),
        &[
            "ready --quorum: 127.0.0.1:",
            "answered \"srvr is not executed because it is not in the whitelist.\"",
            "add srvr to 4lw.commands.whitelist (zk-entry start --4lw_whitelist)",
        ],
    );
    assert_eq!(fake.requests(), vec![request("srvr")]);

    let fake = Fake::start(vec![Act::Reply(not_whitelisted("mntr")), Act::Reply(not_whitelisted("mntr"))]);
    assert_fails(&metrics(&fake, "raw"), &["add mntr to 4lw.commands.whitelist"]);
    let run = metrics(&fake, "prometheus");
    assert_fails(&run, &["add mntr to 4lw.commands.whitelist"]);
    assert!(run.stdout.ends_with("zk_up 0\n"), "{}", run.stdout);
    drop(fake.requests());
}

#[test]
fn not_serving_fails_quorum_and_metrics_but_not_plain_ready() {
    let fake = Fake::start(vec![
        Act::Reply(NOT_SERVING.to_vec()),
        Act::Reply(NOT_SERVING.to_vec()),
        Act::Reply(NOT_SERVING.to_vec()),
        Act::Reply(NOT_SERVING.to_vec()),
    ]);
    assert_fails(
        &ready(&fake, &["--quorum"]),
        &["ready --quorum: 127.0.0.1:", "not serving requests", "no quorum yet"],
    );
    assert_fails(&metrics(&fake, "raw"), &["metrics: 127.0.0.1:", "not serving requests"]);

    let run = metrics(&fake, "prometheus");
    assert_fails(&run, &["not serving requests"]);
    assert_eq!(run.stdout.lines().last(), Some("zk_up 0"));
    promtool_check(&run.stdout).unwrap();

    let run = metrics(&fake, "json");
    assert_fails(&run, &["not serving requests"]);
    assert!(
        run.stdout.contains("\"command\": \"monitor\",\n  \"error\": \"metrics: 127.0.0.1:"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("not serving requests"), "{}", run.stdout);
    assert_eq!(fake.requests().len(), 4);

    // Alive without a quorum: plain ready only asks ruok.
    let fake = Fake::start(vec![Act::Reply(IMOK.to_vec())]);
    assert_healthy(&ready(&fake, &[]));
    drop(fake.requests());
}

#[test]
fn quorum_modes() {
    let read_only = String::from_utf8_lossy(SRVR).replace("standalone", "read-only").into_bytes();
    let fake =
        Fake::start(vec![Act::Reply(SRVR.to_vec()), Act::Reply(read_only.clone()), Act::Reply(read_only)]);
    assert_healthy(&ready(&fake, &["--quorum"]));
    assert_fails(&ready(&fake, &["--quorum"]), &["Mode: read-only", "--allow_read_only"]);
    assert_healthy(&ready(&fake, &["--quorum", "--allow_read_only"]));
    assert_eq!(fake.requests(), vec![request("srvr"), request("srvr"), request("srvr")]);
}

#[test]
fn a_reply_larger_than_the_cap_is_refused() {
    // Just past the cap (64 MiB, sized from a real server's mntr in tests/it/real_zookeeper.rs).
    let huge = vec![b'x'; (64 << 20) + 1];
    let fake = Fake::start(vec![Act::Reply(huge.clone()), Act::Reply(huge)]);
    // The cap is under test here, not the deadline (the other cases check that one): 64 MiB
    // took up to 0.5 s to cross loopback on the loaded 2-core CI machine, past 300 ms.
    let port = fake.port.to_string();
    let limit = Duration::from_secs(20);
    let metrics = run_within(&["metrics", "--timeout=20s", "--format", "raw", &port], limit);
    assert_fails(&metrics, &["mntr: reply larger than 64 MiB"]);
    assert_fails(&run_within(&["ready", "--timeout=20s", &port], limit), &["ruok: reply larger than 64 MiB"]);
    drop(fake.requests());
}

#[test]
fn an_empty_reply_or_a_bare_reset_fails() {
    let fake = Fake::start(vec![Act::Reply(Vec::new()), Act::ReplyThenReset(Vec::new())]);
    assert_fails(&ready(&fake, &[]), &["ruok: the connection was closed without a reply"]);
    assert_fails(&ready(&fake, &[]), &["ruok: the connection was reset before any reply"]);
    drop(fake.requests());
}

#[test]
fn mntr_cut_short_by_a_reset_is_refused() {
    let cut = MNTR_38[..MNTR_38.len() / 2].trim_end_matches('\n').as_bytes().to_vec();
    let fake = Fake::start(vec![Act::ReplyThenReset(cut)]);
    assert_fails(&metrics(&fake, "raw"), &["cut short by a connection reset"]);
    drop(fake.requests());
}

/// Serve `mntr` once per format and return (raw, prometheus, json) runs.
fn scrape(fixture: &str) -> [Run; 3] {
    let fake = Fake::start((0..3).map(|_| Act::Reply(fixture.as_bytes().to_vec())).collect());
    let runs = [metrics(&fake, "raw"), metrics(&fake, "prometheus"), metrics(&fake, "json")];
    // Only mntr is ever sent, never a reset command (srst, crst).
    assert_eq!(fake.requests(), vec![request("mntr"), request("mntr"), request("mntr")]);
    for run in &runs {
        assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
        assert_eq!(run.stderr, "", "nothing left out, nothing to say");
    }
    runs
}

/// Every one of `lines` is a whole line of `text`.
fn assert_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.lines().any(|l| l == *line), "{line:?} missing:\n{text}");
    }
}

fn assert_one_type_line_per_family(text: &str) {
    let mut names: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).collect();
    let all = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all, "a family has two TYPE lines:\n{text}");
}

#[test]
fn mntr_3_4_in_three_formats() {
    let [raw, prom, json] = scrape(MNTR_34);
    assert_eq!(raw.stdout, MNTR_34, "raw must be the reply's exact bytes");

    promtool_check(&prom.stdout).unwrap();
    assert_one_type_line_per_family(&prom.stdout);
    assert_lines(
        &prom.stdout,
        &[
            "zk_up 1",
            "zk_version{version=\"3.4.10-39d3a4f269333c922ed3db283be479f9deacaa0f, built on 03/23/2017 10:13 GMT\"} 1",
            "zk_server_state{state=\"leader\"} 1",
            "zk_followers 2",
            "zk_synced_followers 2",
            "zk_pending_syncs 0",
            "zk_max_file_descriptor_count 1048576",
        ],
    );
    assert!(!prom.stdout.contains("zk_learners"), "nothing invented");

    assert!(json.stdout.starts_with("{\n  \"version\": \"3.4.10-"), "{}", json.stdout);
    assert!(json.stdout.contains("\n  \"followers\": 2,\n"), "{}", json.stdout);
    assert!(json.stdout.ends_with("\"command\": \"monitor\",\n  \"error\": null\n}\n"), "{}", json.stdout);
}

#[test]
fn mntr_3_8_in_three_formats() {
    let [raw, prom, json] = scrape(MNTR_38);
    assert_eq!(raw.stdout, MNTR_38, "raw must be the reply's exact bytes");

    promtool_check(&prom.stdout).unwrap();
    assert_one_type_line_per_family(&prom.stdout);
    assert!(prom.stdout.starts_with("# HELP zk_up "), "zk_up comes first");
    assert_lines(
        &prom.stdout,
        &[
            "zk_up 1",
            "zk_version{version=\"3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\"} 1",
            "zk_server_state{state=\"leader\"} 1",
            "zk_peer_state{state=\"leading - broadcast\"} 1",
            "zk_learners 2",
            "zk_quorum_size 3",
            "zk_avg_latency 0.0",
            "zk_avg_my_app_v1_write_per_namespace 107.5",
            "zk_readlatency{quantile=\"0.5\"} NaN",
            "zk_jvm_memory_bytes_used{area=\"heap\"} 2.3068672E7",
            "zk_jvm_info{runtime=\"OpenJDK Runtime Environment\",vendor=\"Debian\",version=\"17.0.13+11-Debian-2deb12u1\"} 1.0",
        ],
    );
    // A name with and without labels is one family: one TYPE line, its samples together.
    assert!(
        prom.stdout.contains(
            "# TYPE zk_jvm_threads_state gauge\nzk_jvm_threads_state 23.0\nzk_jvm_threads_state{state=\"RUNNABLE\"} 9.0\nzk_jvm_threads_state{state=\"TIMED_WAITING\"} 11.0\n"
        ),
        "{}",
        prom.stdout
    );
    // Stable order: a second scrape of the same reply gives the same bytes.
    let [_, again, _] = scrape(MNTR_38);
    assert_eq!(again.stdout, prom.stdout);

    assert_lines(
        &json.stdout,
        &[
            "  \"version\": \"3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\",",
            "  \"server_state\": \"leader\",",
            "  \"peer_state\": \"leading - broadcast\",",
            "  \"avg_latency\": 0.0,",
            "  \"avg_my-app.v1_write_per_namespace\": 107.5,",
            "  \"readlatency{quantile=\\\"0.5\\\"}\": \"NaN\",",
            "  \"jvm_memory_bytes_used{area=\\\"heap\\\"}\": 2.3068672E7,",
        ],
    );
    assert!(json.stdout.ends_with("\"command\": \"monitor\",\n  \"error\": null\n}\n"));
}

/// Negative control for the promtool checks above: promtool does reject a family declared twice
/// (what a naive converter writes for a labelled and an unlabelled key of one name).
#[test]
fn promtool_rejects_a_repeated_family() {
    let bad = "# HELP a x\n# TYPE a gauge\na 1\n# TYPE a gauge\na{b=\"c\"} 2\n";
    let err = promtool_check(bad).unwrap_err();
    assert!(err.contains("second TYPE line"), "{err}");
}

#[test]
fn usage_errors_exit_2_without_connecting() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["ready", "--timeout=2m"], &["--timeout: '2m'", "800ms", "1s"]),
        (&["ready", "--timeout=0"], &["--timeout: '0'"]),
        (&["ready", "0"], &["PORT: '0'", "1 to 65535"]),
        (&["ready", "2181", "2182"], &["'2182'"]),
        (&["ready", "--host=127.0.0.1:2181"], &["--host: '127.0.0.1:2181'", "PORT argument"]),
        (&["ready", "--allow_read_only"], &["--allow_read_only", "--quorum"]),
        (&["ready", "--quorom"], &["--quorom", "--quorum"]),
        (&["metrics", "--format=xml"], &["--format: 'xml'", "raw, prometheus or json"]),
        (&[], &["no subcommand given; expected one of: start, ready, metrics, members, resize, leave"]),
    ];
    for (args, needles) in cases {
        assert_usage_error(&format!("{args:?}"), &run(args), needles);
    }
}

/// The tutorial's manifests call `zookeeper-ready 2181` and `zookeeper-metrics`: a link with that
/// name is the subcommand.
#[test]
fn script_names_work_as_links() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::start(vec![Act::Reply(IMOK.to_vec()), Act::Reply(MNTR_34.as_bytes().to_vec())]);
    let port = fake.port.to_string();
    for name in ["zookeeper-ready", "zookeeper-metrics"] {
        symlink(BIN, dir.path().join(name)).unwrap();
    }
    let ready = std::process::Command::new(dir.path().join("zookeeper-ready")).arg(&port).output().unwrap();
    assert_eq!(ready.status.code(), Some(0), "{}", stderr(&ready));
    assert_eq!(ready.stdout, b"");
    let metrics =
        std::process::Command::new(dir.path().join("zookeeper-metrics")).arg(&port).output().unwrap();
    assert_eq!(metrics.status.code(), Some(0), "{}", stderr(&metrics));
    assert_eq!(stdout(&metrics), MNTR_34);
    assert_eq!(fake.requests(), vec![request("ruok"), request("mntr")]);
}

/// Regression: one byte that is not UTF-8 in mntr (say, in a value) failed `--format=raw`,
/// which promises the bytes received, as `echo mntr | nc` gave them.
#[test]
fn raw_passes_bytes_that_are_not_utf8() {
    let mut reply = MNTR_34.as_bytes().to_vec();
    reply.extend_from_slice(b"zk_odd\tvalue\xff\n");
    let fake = Fake::start(vec![Act::Reply(reply.clone())]);
    let port = fake.port.to_string();
    let out = zk_entry().args(["metrics", TIMEOUT_FLAG, "--format", "raw", &port]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, reply, "raw must be the reply's exact bytes");
    drop(fake.requests());
}
