//! Every kind of bad input to `zk-entry start`, on the real binary: exit status 2, one line on
//! stderr naming the flag (or variable), the value and what is accepted, and the directories it
//! points at left exactly as they were.

use std::fs;
use std::path::Path;

use crate::support::*;

struct Case {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    needles: &'static [&'static str],
}

const fn case(args: &'static [&'static str], needles: &'static [&'static str]) -> Case {
    Case { args, env: &[], needles }
}

const CASES: &[Case] = &[
    case(&["--servers=abc"], &["--servers", "'abc'", "whole number", "1 to 255"]),
    case(&["--servers=0"], &["--servers", "'0'", "1 to 255"]),
    case(&["--servers=256"], &["--servers", "'256'"]),
    case(&["--client_port=0"], &["--client_port", "'0'", "1 to 65535"]),
    case(&["--client_port=70000"], &["--client_port", "'70000'", "1 to 65535"]),
    case(&["--election_port=http"], &["--election_port", "'http'"]),
    case(&["--server_port=3888"], &["--server_port", "--election_port", "3888", "different"]),
    case(&["--client_port=2888"], &["--client_port", "--server_port", "2888"]),
    case(&["--tick_time=2s"], &["--tick_time", "'2s'"]),
    case(&["--init_limit=-1"], &["--init_limit", "'-1'"]),
    case(&["--sync_limit=0"], &["--sync_limit", "'0'", "1 to"]),
    case(&["--max_client_cnxns=lots"], &["--max_client_cnxns", "'lots'"]),
    case(&["--purge_interval=1.5"], &["--purge_interval", "'1.5'"]),
    case(&["--heap=512"], &["--heap", "'512'", "512M or 2G"]),
    case(&["--heap=2GB"], &["--heap", "'2GB'"]),
    case(&["--heap=1k"], &["--heap", "'1k'", "below the 32M", "at least 32M"]),
    case(&["--log_level=VERBOSE"], &["--log_level", "'VERBOSE'", "TRACE, DEBUG, INFO, WARN, ERROR or FATAL"]),
    case(
        &["--min_session_timeout=50000", "--max_session_timeout=40000"],
        &["--min_session_timeout", "50000", "--max_session_timeout", "40000"],
    ),
    case(&["--snap_retain_count=2"], &["--snap_retain_count", "'2'", "3 to"]),
    case(&["--data_dir=data"], &["--data_dir", "'data'", "absolute path"]),
    case(&["--data_log_dir=./log"], &["--data_log_dir", "absolute path"]),
    case(&["--conf_dir=conf"], &["--conf_dir", "absolute path"]),
    case(&["--log_dir=logs"], &["--log_dir", "absolute path"]),
    case(&["--4lw_whitelist=ruok,rouk"], &["--4lw_whitelist", "'rouk'", "ruok"]),
    case(&["--admin_server_address=0.0.0.0"], &["--admin_server_address", "--admin_server_port"]),
    case(&["--admin_server_port=2181"], &["--client_port", "--admin_server_port", "2181"]),
    case(&["--min_server_id=250", "--servers=7"], &["--min_server_id", "256", "255"]),
    case(&["--set", "clientPort=2182"], &["--set", "clientPort", "--client_port"]),
    case(&["--set", "server.1=a:1:2"], &["--set", "--servers"]),
    case(&["--set", "justakey"], &["--set", "'justakey'", "KEY=VALUE"]),
    case(&["--domain=bad_domain"], &["--domain", "'bad_domain'"]),
    case(&["--java=java"], &["--java", "absolute path"]),
    case(&["--servers=3", "--servers=5"], &["--servers", "multiple times"]),
    case(&["--servres=3"], &["--servres", "--servers"]),
    case(&["--verbose"], &["--verbose"]),
    case(&["foo", "--servers=5"], &["'foo'"]),
    case(&["--user=zoo keeper"], &["--user", "'zoo keeper'", "uid:gid"]),
    case(&["--user=1000:zk"], &["--user", "'1000:zk'", "uid:gid"]),
    case(&["--user=no-such-zk-user"], &["--user", "no-such-zk-user"]),
    case(&["--exit_code_map=143"], &["--exit_code_map", "'143'", "FROM:TO"]),
    case(&["--exit_code_map=143:256"], &["--exit_code_map", "'143:256'", "0 to 255"]),
    case(&["--", ""], &["command after --", "empty"]),
    Case {
        args: &[],
        env: &[("ZK_EXIT_CODE_MAP", "143:0,1")],
        needles: &["ZK_EXIT_CODE_MAP (environment)", "'1'"],
    },
    Case { args: &[], env: &[("ZK_SERVERS", "three")], needles: &["ZK_SERVERS (environment)", "'three'"] },
    Case {
        args: &[],
        env: &[("ZK_HEAP", "16m")],
        needles: &["ZK_HEAP (environment)", "'16m'", "at least 32M"],
    },
    Case {
        args: &[],
        env: &[("ZK_CLIENT_PORT", "tcp://10.96.0.12:2181")],
        needles: &["ZK_CLIENT_PORT (environment)", "service link", "enableServiceLinks"],
    },
    Case {
        args: &[],
        env: &[("ZK_DRY_RUN", "maybe")],
        needles: &["ZK_DRY_RUN (environment)", "'maybe'", "true or false"],
    },
    Case {
        args: &["--jvm_flags=-Xss1m"],
        env: &[("JVMFLAGS", "-Dx=\u{1}")],
        needles: &["JVMFLAGS", "control character"],
    },
];

/// A directory tree with a good zoo.cfg and myid, which no refused start may touch.
fn prepared() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["conf", "data", "log", "logs"] {
        fs::create_dir(dir.path().join(sub)).unwrap();
    }
    fs::write(dir.path().join("conf/zoo.cfg"), "clientPort=2181\n").unwrap();
    fs::write(dir.path().join("data/myid"), "1\n").unwrap();
    dir
}

fn dir_flags(dir: &Path) -> Vec<String> {
    let d = dir.display();
    // Missing subdirectories prove nothing is created either.
    vec![
        format!("--conf_dir={d}/conf"),
        format!("--data_dir={d}/data"),
        format!("--data_log_dir={d}/log/new"),
        format!("--log_dir={d}/logs/new"),
    ]
}

#[test]
fn each_bad_input_exits_2_with_one_named_line_and_changes_nothing() {
    for c in CASES {
        let dir = prepared();
        let before = snapshot(dir.path());
        // A case that sets a directory flag replaces the harmless one (clap refuses repeats).
        let mut cmd = zk_entry();
        let own = |flag: &String| c.args.iter().any(|a| a.starts_with(flag.split('=').next().unwrap()));
        cmd.arg("start").args(dir_flags(dir.path()).iter().filter(|f| !own(f))).args(c.args);
        for (k, v) in c.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_usage_error(&format!("{:?} {:?}", c.args, c.env), &out, c.needles);
        assert_eq!(snapshot(dir.path()), before, "{:?}: the directory changed", c.args);
    }
}

#[test]
fn start_zookeeper_name_takes_the_same_flags() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("start-zookeeper");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let mut cmd = std::process::Command::new(&link);
    scrub(&mut cmd);
    let out = cmd.arg("--heap=lots").output().unwrap();
    assert_usage_error("start-zookeeper --heap=lots", &out, &["--heap: 'lots'"]);
}

#[test]
fn help_and_version_exit_0() {
    let out = zk_entry().args(["start", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for flag in ["--servers", "--data_dir", "--4lw_whitelist", "--set", "--dry-run", "ZK_HEAP"] {
        assert!(help.contains(flag), "help lacks {flag}");
    }
    let out = zk_entry().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("zk-entry "));
}

#[test]
fn no_subcommand_is_a_usage_error() {
    let out = zk_entry().output().unwrap();
    assert_usage_error("no subcommand", &out, &[]);
}

/// Regression: the one error line went out with eprintln!, which panics when the write fails, so
/// a stderr on a full device gave exit 101 instead of the documented code.
#[test]
fn a_stderr_that_refuses_writes_keeps_the_documented_exit_code() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cases: [(&[&str], i32); 3] = [
        (&["start", "--servers=x"], 2),
        (&["ready", "--timeout=300ms", "PORT"], 1),
        (&["metrics", "PORT"], 1),
    ];
    for (args, expected) in cases {
        let args: Vec<String> = args.iter().map(|a| a.replace("PORT", &port.to_string())).collect();
        let full = fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let status = std::process::Command::new(BIN).args(&args).stderr(full).status().unwrap();
        assert_eq!(status.code(), Some(expected), "{args:?} with stderr on /dev/full");
    }
}

/// Regression: a `ZK_*` variable that is not UTF-8 gave clap's "invalid UTF-8 was detected in
/// one or more arguments", which names nothing.
#[test]
fn a_variable_that_is_not_utf8_is_named() {
    use std::os::unix::ffi::OsStringExt;
    let dir = prepared();
    let before = snapshot(dir.path());
    let out = zk_entry()
        .arg("start")
        .args(dir_flags(dir.path()))
        .env("ZK_SERVERS", std::ffi::OsString::from_vec(vec![b'3', 0xff]))
        .output()
        .unwrap();
    assert_usage_error("ZK_SERVERS=3\\xff", &out, &["ZK_SERVERS (environment) is not valid UTF-8"]);
    assert_eq!(snapshot(dir.path()), before);
}
