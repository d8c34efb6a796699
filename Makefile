# zk-entry: the two commands a newcomer needs are `make demo` and `make test`; both install what
# they need (Debian packages through tests/scripts/install-deps.sh, crates through cargo).

CARGO ?= cargo
MUSL := x86_64-unknown-linux-musl
STATIC_BIN := target/$(MUSL)/release/zk-entry
# The tag the manifests in docker/k8s run (tests/it/deploy checks they agree, and that the tag is
# Cargo.toml's version).
IMAGE ?= zk-entry:0.1.0

.PHONY: demo demo-standalone migrate-demo test zk-dist e2e lint deploy-lint build static image image-debian image-test bench deps chaos chaos-control

## demo: the tutorial's three-pod ensemble in Linux namespaces, zk-entry as each pod's PID 1,
## the sanity test, the client service forwarded to 127.0.0.1:2181 (a free port when 2181 is
## taken; PORT=N for another), then running until Ctrl-C (needs root)
demo:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make demo: the three-pod demo needs root, to build each pod from Linux namespaces; run 'sudo make demo', or 'make demo-standalone' for one ZooKeeper server through zk-entry without namespaces" >&2; \
	  exit 1; \
	fi
	$(MAKE) deps build
	$(CARGO) run --release --example demo -- target/release/zk-entry $(if $(PORT),--port='$(PORT)')

## demo-standalone: one ZooKeeper server through zk-entry in the foreground until Ctrl-C
demo-standalone: deps build
	tests/scripts/demo.sh target/release/zk-entry

## migrate-demo: the tutorial's 3.4 ensemble (its scripts re-created, ZooKeeper 3.4.13 from
## Debian bullseye) with data, rolled to zk-entry in place with a writer, then to --reconfig;
## each step as kubectl shows it and the write gaps measured (needs root; docs/migration.md)
migrate-demo:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make migrate-demo: needs root, to build each pod from Linux namespaces; run 'sudo make migrate-demo'" >&2; \
	  exit 1; \
	fi
	$(MAKE) deps build
	$(CARGO) run --release --example migrate_demo -- target/release/zk-entry

# The version matrix (docs/versions.md): the modules that start real ZooKeeper servers run once
# more per Debian suite of ZK_SUITES besides the machine's own (bookworm, 3.8.0), with that
# suite's ZooKeeper bound into every pod (tests/support/dist.rs); versions:: (the rules that
# depend on the version) runs on every suite of ZK_VERSION_SUITES, which adds trixie (3.9.3:
# FIPS mode there skips the inbound quorum peer check). sid is the newest 3.9 (3.9.6).
ZK_SUITES ?= bookworm sid
ZK_VERSION_SUITES ?= bookworm trixie sid
REAL_SERVER_MODULES := real_zookeeper:: probe_real:: e2e:: security:: scaling:: combinations:: versions::

## test: unit, CLI, pod, PID-1, probe, real-ZooKeeper and end-to-end tests (root: namespaces);
## then the real-server modules on each other suite of ZK_SUITES, and versions:: on the rest
## of ZK_VERSION_SUITES
test: deps zk-dist
	@status=0; \
	$(CARGO) test --no-fail-fast || status=1; \
	for suite in $(filter-out bookworm,$(ZK_SUITES)); do \
	  echo "make test: the real-server modules on $$suite's ZooKeeper"; \
	  ZK_SUITE=$$suite $(CARGO) test --no-fail-fast --test it -- $(REAL_SERVER_MODULES) || status=1; \
	done; \
	for suite in $(filter-out bookworm $(ZK_SUITES),$(ZK_VERSION_SUITES)); do \
	  echo "make test: versions:: on $$suite's ZooKeeper"; \
	  ZK_SUITE=$$suite $(CARGO) test --no-fail-fast --test it -- versions:: || status=1; \
	done; \
	exit $$status

## zk-dist: fetch (once, cached under target/zk-dist) the ZooKeeper of every suite the tests run
## besides the machine's (and bullseye's 3.4.13 for the migration tests), through a private apt
## configuration (tests/scripts/zk-dist.sh; root)
zk-dist:
	@suites='$(sort bullseye $(filter-out bookworm,$(ZK_SUITES) $(ZK_VERSION_SUITES)))'; \
	if [ -n "$$suites" ]; then tests/scripts/zk-dist.sh $$suites; fi

## e2e: only the three-pod scenarios of the tutorial (root); the tests are one binary, `it`,
## and a module path selects an area (docs/testing.md)
e2e: deps
	$(CARGO) test --test it -- e2e::

## lint: formatting and clippy, warnings denied; shell syntax; the imports between src/'s folders
## (tests/scripts/imports.py: no subcommand folder reaches into another, no circle); docker/
## (deploy-lint)
lint: deploy-lint
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	bash -n tests/scripts/*.sh .ci/run tests/tutorial/start-zookeeper tests/tutorial/zookeeper-ready tests/tutorial/zkServer.sh
	python3 tests/scripts/imports.py src

## deploy-lint: the manifests in docker/k8s (yamllint; kubernetes-validate, strict, pinned
## Kubernetes versions) and docker/Dockerfile (hadolint); installs the pinned tools into a venv
## under target/ on first use
deploy-lint:
	tests/scripts/deploy-lint.sh

## build: the release binary for this machine
build:
	$(CARGO) build --release

## static: the shipped static binary (x86_64 musl)
static:
	@rustup target list --installed | grep -qx '$(MUSL)' || rustup target add $(MUSL)
	@command -v musl-gcc >/dev/null || { echo "make static: ring (the TLS checks) compiles C for musl and needs musl-gcc; run tests/scripts/install-deps.sh as root, or apt-get install musl-tools" >&2; exit 1; }
	$(CARGO) build --release --target $(MUSL)
	@echo "static binary: $(STATIC_BIN)"

## image: the container image $(IMAGE) from docker/Dockerfile (needs a Docker engine with BuildKit
## and network access; not part of CI, which has no Docker engine: tests/it/deploy checks the recipe)
image:
	docker build -f docker/Dockerfile -t $(IMAGE) .

# The Debian suites image-debian builds an image on, each tagged $(IMAGE)-<suite>, the first
# also $(IMAGE): bookworm (ZooKeeper 3.8.0) and trixie (3.9.3); image-test runs its checks on
# each, as $(IMAGE).
IMAGE_SUITES ?= bookworm trixie

## image-debian: the same image from Debian packages with no registry, once per suite of
## IMAGE_SUITES as $(IMAGE)-<suite>: the base by mmdebstrap (cached in target/image),
## docker/Dockerfile.debian by buildah, into the private podman storage under target/podman
## (root; installs mmdebstrap, buildah, podman, runc when missing)
image-debian: static
	@also='$(IMAGE)'; for suite in $(IMAGE_SUITES); do \
	  tests/scripts/image-debian.sh '$(IMAGE)'-"$$suite" '$(STATIC_BIN)' "$$suite" "$$also" || exit 1; \
	  also=; \
	done

## image-test: run image-debian's images with podman and runc (root), each in turn tagged
## $(IMAGE), the tag the manifests run: the standalone manifest's
## container read-only without capabilities, its probes, metrics, a client, stop, restart and a
## killed JVM; zookeeper.yaml's StatefulSet as three pods by `podman kube play` (CI runs it)
image-test: image-debian
	tests/scripts/image-test.sh '$(IMAGE)' $(IMAGE_SUITES)

# Paths in recipes are relative or quoted: the checkout may be anywhere, spaces included (make's
# own path functions such as $(abspath) split words on spaces).

## bench: start-up time; memory and exit latency while supervising; CPU, page faults and wall
## time per ready and metrics call against a live ZooKeeper, beside a static C client
## (benches/fourlw.c, built with musl-gcc); the ensemble's start, stop and zk-entry's share of a
## pod's start; dynamic membership: joins, resizes and the write gaps they cause; what planned
## operations (rolls, deletions, drains, scaling) cost a writer (ZK_ENTRY_BENCH_ROLLING=all: 5
## members and the tutorial's sh -c too) (needs root)
bench: deps static
	ZK_ENTRY_BENCH_STATIC='$(CURDIR)/$(STATIC_BIN)' $(CARGO) bench --bench start --bench supervise --bench probe --bench ensemble --bench scaling --bench rolling

## chaos: faults under a recorded workload, checked as Jepsen checks databases (docs/chaos.md):
## five pods, static and --reconfig, CHAOS_MINUTES each (default 10), seed CHAOS_SEED (printed;
## random when unset), CHAOS_MODES to run one kind; artefacts in target/chaos/<seed>/ (root)
chaos: deps
	$(CARGO) build --bin zk-entry --example chaos
	tests/scripts/chaos.sh target/debug/zk-entry

## chaos-control: the negative control: the same runs with a variant built apart whose start takes
## the template's membership when no peer serves (--features chaos-broken-formation); succeeds
## only if chaos finds anomalies (root)
chaos-control: deps
	$(CARGO) build --bin zk-entry --features chaos-broken-formation --target-dir target/chaos-broken
	$(CARGO) build --example chaos
	CHAOS_MODES="$${CHAOS_MODES:-reconfig}" tests/scripts/chaos.sh --expect-anomaly target/chaos-broken/debug/zk-entry

## deps: install Debian's zookeeper (with a JRE), logback, unshare, promtool and nc when missing
deps:
	tests/scripts/install-deps.sh
