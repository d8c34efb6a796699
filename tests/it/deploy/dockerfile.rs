//! docker/Dockerfile checked against the binary it ships: its stages, the musl build, the
//! sources it copies (cargo checks them in a copy), its checksum step, user, ports and
//! entrypoint, its links against the binary's multi-call names, its own zk-entry command lines
//! run in the image's layout; and docker/Dockerfile.debian's runtime stage kept the upstream one.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use super::container::Container;
use super::*;

/// One stage of the Dockerfile: `FROM base AS name` and its instructions (keyword, the rest).
#[derive(Debug)]
struct Stage {
    base: String,
    name: String,
    instructions: Vec<(String, String)>,
}

impl Stage {
    fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions.iter().filter(|(k, _)| k == keyword).map(|(_, r)| r.as_str()).collect()
    }

    fn one(&self, keyword: &str) -> &str {
        let all = self.all(keyword);
        assert_eq!(all.len(), 1, "stage {}: one {keyword} expected: {all:?}", self.name);
        all[0]
    }
}

/// docker/Dockerfile as (global ARGs, stages).
fn dockerfile() -> (Vec<String>, Vec<Stage>) {
    parse_dockerfile(&repo_file("docker/Dockerfile"))
}

/// A Dockerfile as (global ARGs, stages): continuation lines joined, comments dropped (also
/// inside a continued instruction, as Docker drops them).
fn parse_dockerfile(text: &str) -> (Vec<String>, Vec<Stage>) {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part.trim());
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    assert!(current.is_empty(), "the Dockerfile ends inside a continued instruction");
    let mut global = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in instructions {
        let (keyword, rest) = instruction.split_once(' ').unwrap_or((&instruction, ""));
        let (keyword, rest) = (keyword.to_ascii_uppercase(), rest.trim().to_string());
        if keyword == "FROM" {
            let words: Vec<&str> = rest.split_whitespace().collect();
            assert!(words.len() == 3 && words[1].eq_ignore_ascii_case("AS"), "FROM without AS name: {rest}");
            stages.push(Stage { base: words[0].into(), name: words[2].into(), instructions: Vec::new() });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push((keyword, rest));
        } else {
            assert_eq!(keyword, "ARG", "only ARG may come before the first FROM");
            global.push(rest);
        }
    }
    (global, stages)
}

/// How docker/Dockerfile.debian's runtime stage may differ from docker/Dockerfile's: where its
/// files come from. Each pair is (upstream instruction, Debian instruction); None is "absent".
const DEBIAN_RUNTIME_DIFFERENCES: &[(Option<&str>, Option<&str>)] = &[
    // Debian's base has the file system (mmdebstrap), so the stage starts by unpacking it.
    (None, Some("ADD base.tar /")),
    // The upstream release comes from its own stage; Debian's packages are in the base.
    (Some("COPY --from=zookeeper /opt/zookeeper /opt/zookeeper"), None),
    // The static zk-entry: built in a stage upstream, `make static`'s in the buildah context.
    (
        Some("COPY --from=build /out/zk-entry /usr/local/bin/zk-entry"),
        Some("COPY zk-entry /usr/local/bin/zk-entry"),
    ),
];

/// Where the Debian recipe's runtime stage drifts from the upstream one, beyond
/// [`DEBIAN_RUNTIME_DIFFERENCES`]: one line per instruction that is missing, extra or changed.
fn debian_runtime_drift(upstream: &str, debian: &str) -> Vec<String> {
    let line = |(k, r): &(String, String)| format!("{k} {r}");
    let (_, up_stages) = parse_dockerfile(upstream);
    let (_, deb_stages) = parse_dockerfile(debian);
    let mut problems = Vec::new();
    let names: Vec<&str> = deb_stages.iter().map(|s| s.name.as_str()).collect();
    if names != ["runtime"] || deb_stages[0].base != "scratch" {
        problems
            .push(format!("Dockerfile.debian: one stage, runtime FROM scratch, expected; found {names:?}"));
        return problems;
    }
    let mut up: Vec<String> = up_stages.last().expect("stages").instructions.iter().map(line).collect();
    let mut deb: Vec<String> = deb_stages[0].instructions.iter().map(line).collect();
    for (from, to) in DEBIAN_RUNTIME_DIFFERENCES {
        match (from, to) {
            (Some(from), Some(to)) => match up.iter().position(|i| i == from) {
                Some(at) => up[at] = to.to_string(),
                None => problems
                    .push(format!("Dockerfile: '{from}' not found (update DEBIAN_RUNTIME_DIFFERENCES)")),
            },
            (Some(from), None) => up.retain(|i| i != from),
            (None, Some(to)) => deb.retain(|i| i != to),
            (None, None) => {}
        }
    }
    let width = up.len().max(deb.len());
    for at in 0..width {
        match (up.get(at), deb.get(at)) {
            (Some(u), Some(d)) if u == d => {}
            (u, d) => {
                problems.push(format!(
                    "runtime instruction {}: Dockerfile has {u:?}, Dockerfile.debian has {d:?}",
                    at + 1
                ));
                break;
            }
        }
    }
    problems
}

#[test]
fn debian_dockerfile_runtime_stage_is_the_upstream_one() {
    let upstream = repo_file("docker/Dockerfile");
    let debian = repo_file("docker/Dockerfile.debian");
    assert_eq!(debian_runtime_drift(&upstream, &debian), Vec::<String>::new());
    // Negative controls: a changed user, a missing health check, an extra instruction.
    for (from, to) in [
        ("USER 1000", "USER 1001"),
        ("HEALTHCHECK --interval=10s", "# HEALTHCHECK --interval=10s"),
        ("EXPOSE 2181 2888 3888", "EXPOSE 2181 2888 3888\nVOLUME /data"),
    ] {
        assert!(debian.contains(from), "{from}");
        let changed = debian.replacen(from, to, 1);
        let problems = debian_runtime_drift(&upstream, &changed);
        assert_eq!(problems.len(), 1, "{to}: {problems:?}");
    }
}

/// An exec-form (JSON array) instruction's strings; None for the shell form.
fn exec_form(rest: &str) -> Option<Vec<String>> {
    let inner = rest.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.next() {
            None => return Some(items),
            Some('"') => {}
            Some(_) => return None,
        }
        let mut item = String::new();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => item.push(chars.next()?),
                c => item.push(c),
            }
        }
        items.push(item);
    }
}

/// The names the runtime stage links to zk-entry in /usr/local/bin.
pub(super) fn dockerfile_links() -> Vec<String> {
    let (_, stages) = dockerfile();
    let runtime = stages.last().expect("stages");
    let needle = "ln -s zk-entry /usr/local/bin/";
    runtime
        .all("RUN")
        .iter()
        .flat_map(|run| run.match_indices(needle).map(|(i, _)| &run[i + needle.len()..]).collect::<Vec<_>>())
        .map(|rest| rest.split([';', ' ', '&']).next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn dockerfile_builds_the_static_binary_and_ships_it_with_zookeeper_as_uid_1000() {
    let (global, stages) = dockerfile();
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["build", "zookeeper", "runtime"]);
    let (build, zookeeper, runtime) = (&stages[0], &stages[1], &stages[2]);

    // build: the Makefile's musl target, with the release profile, locked.
    let musl = makefile_var("MUSL");
    assert!(build.base.starts_with("rust:"), "{}", build.base);
    let runs = build.all("RUN").join("\n");
    assert!(runs.contains(&format!("rustup target add {musl}")), "{runs}");
    assert!(runs.contains(&format!("cargo build --release --locked --target {musl}")), "{runs}");
    assert!(runs.contains(&format!("target/{musl}/release/zk-entry /out/zk-entry")), "{runs}");
    // The musl target's link settings live in .cargo/config.toml: the image's binary needs them.
    let config = repo_file(".cargo/config.toml");
    assert!(config.contains(&format!("[target.{musl}]")), "{config}");
    assert!(build.all("COPY").contains(&".cargo ./.cargo"), "the build stage must copy .cargo");
    let cargo_toml = repo_file("Cargo.toml");
    let profile = cargo_toml.split("[profile.release]").nth(1).expect("[profile.release]");
    let profile = profile.split("\n[").next().unwrap();
    for setting in ["lto = true", "codegen-units = 1", "strip = true"] {
        assert!(profile.contains(setting), "[profile.release] lacks {setting}");
    }
    // panic=abort stays off: it would turn a panic's exit 101 into a signal (see the Dockerfile).
    assert!(!profile.lines().any(|l| l.trim_start().starts_with("panic")), "{profile}");

    // zookeeper: the upstream release of ZK_VERSION (3.8.x or 3.9.x), checked before unpacking.
    let version =
        global.iter().find_map(|a| a.strip_prefix("ZK_VERSION=")).expect("a global ARG ZK_VERSION=default");
    let parts: Vec<&str> = version.split('.').collect();
    assert!(
        parts.len() == 3
            && parts[0] == "3"
            && ["8", "9"].contains(&parts[1])
            && parts[2].parse::<u32>().is_ok(),
        "ZK_VERSION={version}"
    );
    assert!(zookeeper.all("ARG").contains(&"ZK_VERSION"));
    let fetch = zookeeper.all("RUN").into_iter().find(|r| r.contains("sha512")).expect("a download");
    let needles = [
        "https://archive.apache.org/dist/zookeeper/zookeeper-${ZK_VERSION}",
        "apache-zookeeper-${ZK_VERSION}-bin.tar.gz",
        "${tarball}.sha512",
    ];
    assert_contains_all("the download", fetch, &needles);
    let verify = fetch.find("sha512sum -c").expect("sha512sum -c");
    let unpack = fetch.find("tar -x").expect("tar -x");
    assert!(verify < unpack, "the checksum must be verified before unpacking");
    assert!(fetch.starts_with("set -eu;"), "a failed step must fail the build: {fetch}");

    // runtime: both products, the user, the writable directories, ports, entrypoint.
    let copies = runtime.all("COPY");
    assert!(copies.contains(&"--from=zookeeper /opt/zookeeper /opt/zookeeper"), "{copies:?}");
    assert!(copies.contains(&"--from=build /out/zk-entry /usr/local/bin/zk-entry"), "{copies:?}");
    let start_help = help_flags("start");
    let zk_home = start_help.get("zk_home").and_then(|f| f.default.clone()).unwrap_or_default();
    assert!(zk_home.starts_with("/opt/zookeeper,"), "zk-entry looks for /opt/zookeeper first: {zk_home}");
    assert_eq!(runtime.one("USER"), UID.to_string());
    assert_eq!(exec_form(runtime.one("ENTRYPOINT")), Some(vec!["zk-entry".to_string(), "start".to_string()]));
    let exposed: BTreeSet<String> = runtime.one("EXPOSE").split_whitespace().map(String::from).collect();
    let ports: BTreeSet<String> =
        ["client_port", "server_port", "election_port"].iter().map(|p| default_of(&start_help, p)).collect();
    assert_eq!(exposed, ports, "EXPOSE and zk-entry's default ports");
    let runs = runtime.all("RUN").join("\n");
    assert!(runs.contains(&format!("groupadd --gid {UID} zookeeper")), "{runs}");
    assert!(runs.contains(&format!("useradd --uid {UID} --gid {UID}")), "{runs}");
    let chown = runs.split(&format!("chown {UID}:{UID} ")).nth(1).expect("a chown to the zookeeper user");
    let owned: Vec<&str> = chown.split([';', '\n']).next().unwrap().split_whitespace().collect();
    for dir_flag in ["conf_dir", "log_dir", "data_dir", "data_log_dir"] {
        let dir = default_of(&start_help, dir_flag);
        assert!(
            owned.iter().any(|o| under(&dir, o)),
            "--{dir_flag}={dir} is not the zookeeper user's: {owned:?}"
        );
    }

    // Nothing needs a shell at run time: the entrypoint and the health check are exec forms,
    // and no nc.
    let healthcheck = runtime.one("HEALTHCHECK");
    let cmd = healthcheck.split(" CMD ").nth(1).expect("HEALTHCHECK ... CMD [...]");
    assert!(exec_form(cmd).is_some(), "HEALTHCHECK must be an exec form: {healthcheck}");
    assert!(runtime.all("CMD").is_empty());
    let everything = runtime.instructions.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("\n");
    assert!(!everything.contains(" nc ") && !everything.contains("netcat"), "{everything}");
}

/// The links are exactly the binary's multi-call names, and under each the binary acts as the
/// subcommand that name selects (its help's usage line names it); together they cover every
/// subcommand. The negative control: under a name that is not one of them, the binary acts as
/// no subcommand, so this check can fail.
#[test]
fn dockerfile_links_are_the_binary_multi_call_names() {
    let links: BTreeSet<String> = dockerfile_links().into_iter().collect();
    let names = multi_call_names();
    assert_eq!(links, names.keys().cloned().collect::<BTreeSet<_>>());

    let dir = tempfile::tempdir().unwrap();
    let help = |cmd: &mut Command| {
        scrub(cmd);
        stdout(&cmd.arg("--help").output().unwrap())
    };
    // What each subcommand's help says with the program named as the link would name it: the
    // usage line of a link shows only the link's name, which stands for the subcommand.
    let subcommand_helps: Vec<(String, String)> = subcommands()
        .into_iter()
        .map(|sub| {
            let text = help(zk_entry().arg(&sub));
            (sub.clone(), text)
        })
        .collect();
    let acts_as = |name: &str| -> Option<String> {
        let link = dir.path().join(name);
        std::os::unix::fs::symlink(BIN, &link).unwrap();
        let text = help(&mut Command::new(&link));
        let usage = text.lines().find(|l| l.starts_with("Usage: ")).unwrap_or("");
        assert!(!usage.contains(&format!("{name} {name}")), "under {name}: {usage}");
        subcommand_helps
            .iter()
            .find(|(sub, sub_help)| {
                sub_help.replace(&format!("Usage: zk-entry {sub}"), &format!("Usage: {name}")) == text
            })
            .map(|(sub, _)| {
                assert!(usage.starts_with(&format!("Usage: {name} [")), "the usage works as typed: {usage}");
                sub.clone()
            })
    };
    let mut covered = BTreeSet::new();
    for link in &links {
        let acted = acts_as(link);
        assert_eq!(acted.as_ref(), names.get(link), "under the name {link}");
        covered.extend(acted);
    }
    // Every subcommand with a script name has its link; the membership commands (members,
    // resize) are new and have none.
    let scripted: BTreeSet<String> = names.values().cloned().collect();
    assert_eq!(covered, scripted);
    assert!(scripted.is_subset(&subcommands()), "{scripted:?} vs {:?}", subcommands());
    assert_eq!(acts_as("zookeeper-readiness"), None, "negative control: an unknown name");
}

/// The build stage copies enough for cargo: the copied paths, in a fresh directory, pass `cargo
/// check --locked` (offline: the crates are the ones this build already has). And the
/// .dockerignore keeps target/ out of the build context without hiding a copied path.
#[test]
fn dockerfile_build_stage_sources_are_enough_for_cargo() {
    let (_, stages) = dockerfile();
    let build = &stages[0];
    let ignored: Vec<String> = repo_file(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    for needed in ["target", ".git"] {
        assert!(ignored.iter().any(|i| i == needed), ".dockerignore lacks {needed}");
    }
    let copy = tempfile::tempdir().unwrap();
    let mut copied = Vec::new();
    for rest in build.all("COPY") {
        assert!(!rest.starts_with("--from"), "the build stage copies from the context only: {rest}");
        let words: Vec<&str> = rest.split_whitespace().collect();
        let (sources, dest) = words.split_at(words.len() - 1);
        for source in sources {
            assert!(!ignored.iter().any(|i| under(source, i)), "{source} is in .dockerignore");
            let to =
                if dest[0].ends_with('/') { copy.path().join(source) } else { copy.path().join(dest[0]) };
            let status =
                Command::new("cp").args(["-r", &format!("{ROOT}/{source}")]).arg(&to).status().unwrap();
            assert!(status.success(), "cp {source}");
            copied.push(source.to_string());
        }
    }
    assert!(copied.contains(&"Cargo.lock".to_string()), "--locked needs Cargo.lock: {copied:?}");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["check", "--offline", "--locked", "--quiet", "--bin", "zk-entry"])
        .current_dir(copy.path())
        .env("CARGO_TARGET_DIR", format!("{ROOT}/target/dockerfile-context"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo check on the build stage's copy: {}", stderr(&out));
}

/// The Dockerfile's own zk-entry command lines (the build-time dry run, the health check) run
/// in the container the Dockerfile describes: uid 1000, writable where it chowns, a host name
/// with no ordinal (a build container's, or `docker run`'s).
#[test]
fn dockerfile_zk_entry_command_lines_run_in_the_image_layout() {
    let (_, stages) = dockerfile();
    let runtime = stages.last().unwrap();
    let runs = runtime.all("RUN").join("\n");
    let chown = runs.split(&format!("chown {UID}:{UID} ")).nth(1).expect("chown");
    let owned: Vec<String> =
        chown.split([';', '\n']).next().unwrap().split_whitespace().map(String::from).collect();
    let mut lines = Vec::new();
    for (keyword, rest) in &runtime.instructions {
        let form = match keyword.as_str() {
            "RUN" | "ENTRYPOINT" => exec_form(rest),
            "HEALTHCHECK" => rest.split(" CMD ").nth(1).and_then(exec_form),
            _ => None,
        };
        if let Some(argv) = form.filter(|a| zk_command(a).is_some()) {
            lines.push((keyword.clone(), argv));
        }
    }
    let kinds: Vec<&str> = lines.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["RUN", "HEALTHCHECK", "ENTRYPOINT"]);
    let mut container = Container::pod("unused", "unused", 0);
    container.hostname = "buildkitsandbox".into();
    container.hosts = "127.0.0.1\tlocalhost\n".into();
    container.volumes = owned;
    for (keyword, argv) in lines {
        if keyword == "ENTRYPOINT" {
            continue; // no flags of its own: the manifests' commands and RUN cover start
        }
        container.check(&argv).unwrap_or_else(|e| panic!("{keyword}: {e}"));
    }
}
