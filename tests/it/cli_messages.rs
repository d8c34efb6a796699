//! The whole message of the most common refusals, compared exactly: exit status 2, nothing on
//! stdout, and stderr exactly this one line. cli_errors.rs and probe_fake.rs check every refusal
//! for the words it must contain; this table catches a message that still has them but reads
//! wrong (a lost quote, a doubled prefix, a cut-off hint).
//!
//! Rewording a message means updating its line here, in [`MESSAGES`] and nowhere else.

use std::path::Path;

use crate::support::*;

/// Arguments (after the harmless directory flags that `start` cases get, see [`start_flags`]),
/// and the exact stderr line.
const MESSAGES: &[(&[&str], &str)] = &[
    // Unknown flags, subcommands and none at all: clap's errors in zk-entry's one-line form.
    (
        &["start", "--servres=3"],
        "zk-entry: unexpected argument '--servres' found; did you mean --servers? (see zk-entry start --help)",
    ),
    (
        &["ready", "--quorom", "2181"],
        "zk-entry: unexpected argument '--quorom' found; did you mean --quorum? (see zk-entry ready --help)",
    ),
    (&["frobnicate"], "zk-entry: unrecognized subcommand 'frobnicate' (see zk-entry --help)"),
    (
        &[],
        "zk-entry: no subcommand given; expected one of: start, ready, metrics, members, resize, leave (see zk-entry --help)",
    ),
    // --servers.
    (
        &["start", "--servers=abc"],
        "zk-entry: --servers: 'abc' is not a whole number; expected a whole number from 1 to 255",
    ),
    (
        &["start", "--servers=0"],
        "zk-entry: --servers: '0' is out of range; expected a whole number from 1 to 255",
    ),
    // Ports of start.
    (
        &["start", "--client_port=70000"],
        "zk-entry: --client_port: '70000' is out of range; expected a port number from 1 to 65535",
    ),
    (
        &["start", "--election_port=http"],
        "zk-entry: --election_port: 'http' is not a port number; expected a port number from 1 to 65535",
    ),
    // --log_level and --heap.
    (
        &["start", "--log_level=VERBOSE"],
        "zk-entry: --log_level: 'VERBOSE' is not a log level; expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL",
    ),
    (
        &["start", "--heap=512"],
        "zk-entry: --heap: '512' is not a JVM heap size; expected digits and a unit k, m or g, such as 512M or 2G, or a share of the container's memory limit such as 75%",
    ),
    (
        &["start", "--heap=1k"],
        "zk-entry: --heap: '1k' is below the 32M that ZooKeeper needs to run; expected a size of at least 32M, such as 512M or 2G, or a share of the container's memory limit such as 75%",
    ),
    // Dynamic membership and the membership commands.
    (
        &["start", "--reconfig", "--servers=3"],
        "zk-entry: --reconfig needs --super_password_file=PATH (a Secret volume holding the super user's password): reconfiguration is authorised with it, never by turning ACLs off",
    ),
    (
        &["start", "--servers=3", "--observers=3"],
        "zk-entry: --observers: '3' leaves no voting member of --servers 3; expected a whole number from 0 to 2",
    ),
    (
        &["resize", "0", "--super_password_file=/p"],
        "zk-entry: N: '0' is out of range; expected a whole number from 1 to 255",
    ),
    (
        &["resize", "3", "--observers=3", "--super_password_file=/p"],
        "zk-entry: --observers: '3' is out of range; expected a whole number from 0 to 2",
    ),
    (
        &["start", "--reconfig", "--super_password_file=/p", "--servers=3", "--observers=2"],
        "zk-entry: --observers: '2' leaves only 1 voting member of --servers 3; --reconfig keeps at least 2; expected 0 to 1",
    ),
    (
        &["leave"],
        "zk-entry: leave needs --super_password_file=PATH (file holding the super user's password; or set ZK_SUPER_PASSWORD_FILE) (see zk-entry leave --help)",
    ),
    (
        &["resize"],
        "zk-entry: resize needs N (the number of members to keep: ordinals 0 to N-1 stay) and --super_password_file=PATH (file holding the super user's password; or set ZK_SUPER_PASSWORD_FILE) (see zk-entry resize --help)",
    ),
    (
        &["members", "--server=zk-0"],
        "zk-entry: --server: 'zk-0' has no port; expected HOST:PORT, or several comma-separated, e.g. 127.0.0.1:2181",
    ),
    // The probes.
    (&["ready", "0"], "zk-entry: PORT: '0' is out of range; expected a port number from 1 to 65535"),
    (&["ready", "abc"], "zk-entry: PORT: 'abc' is not a port number; expected a port number from 1 to 65535"),
    (
        &["ready", "--timeout=2m", "2181"],
        "zk-entry: --timeout: '2m' is not a duration; expected milliseconds (800 or 800ms) or seconds (1s, 1.5s), from 1ms to 600s",
    ),
    (
        &["metrics", "--format=xml", "2181"],
        "zk-entry: --format: 'xml' is not an output format; expected raw, prometheus or json",
    ),
];

/// Directory flags into `dir` and /bin/true as java, put before a `start` case's own flag: were a
/// case ever accepted, it would write there and run nothing, never touch the machine's
/// /var/lib/zookeeper or start a JVM.
fn start_flags(dir: &Path) -> Vec<String> {
    let d = dir.display();
    vec![
        format!("--conf_dir={d}/conf"),
        format!("--data_dir={d}/data"),
        format!("--data_log_dir={d}/data/log"),
        format!("--log_dir={d}/log"),
        "--java=/bin/true".to_string(),
    ]
}

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    let mut cmd = zk_entry();
    if let Some((&"start", rest)) = args.split_first() {
        cmd.arg("start").args(start_flags(dir)).args(rest);
    } else {
        cmd.args(args);
    }
    cmd.output().expect("run zk-entry")
}

#[test]
fn the_most_common_refusals_read_exactly_so() {
    for (args, line) in MESSAGES {
        let dir = tempfile::tempdir().unwrap();
        let out = run(args, dir.path());
        assert_refused_exactly(&format!("{args:?}"), &out, 2, line);
        assert!(snapshot(dir.path()).is_empty(), "{args:?}: files were written");
    }
}

/// Negative control: the exact comparison fails on a message that differs by one character
/// anywhere (here: the closing quote dropped), which a words-contained check would pass.
#[test]
fn negative_control_a_mangled_message_fails_the_exact_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["start", "--servers=abc"], dir.path());
    let mangled = "zk-entry: --servers: 'abc is not a whole number; expected a whole number from 1 to 255";
    assert_contains_all("the words are all there", &stderr(&out), &["--servers", "abc", "1 to 255"]);
    let caught = std::panic::catch_unwind(|| assert_refused_exactly("mangled", &out, 2, mangled));
    assert!(caught.is_err(), "a mangled message passed the exact check");
}
