# zk-entry: the two commands a newcomer needs are `make demo` and `make test`; both install what
# they need (Debian packages through tests/scripts/install-deps.sh, crates through cargo).

CARGO ?= cargo
MUSL := x86_64-unknown-linux-musl
STATIC_BIN := target/$(MUSL)/release/zk-entry
# The tag the manifests in docker/k8s run (tests/it/deploy checks they agree, and that the tag is
# Cargo.toml's version).
IMAGE ?= zk-entry:0.1.0

.PHONY: demo demo-standalone test e2e lint deploy-lint build static image image-debian image-test bench deps

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

## test: unit, CLI, pod, PID-1, probe, real-ZooKeeper and end-to-end tests (root: namespaces)
test: deps
	$(CARGO) test --no-fail-fast

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
	bash -n tests/scripts/*.sh .ci/run
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

## image-debian: the same image, $(IMAGE), from Debian packages with no registry: the base by
## mmdebstrap (cached in target/image), docker/Dockerfile.debian by buildah, into the private podman
## storage under target/podman (root; installs mmdebstrap, buildah, podman, runc when missing)
image-debian: static
	tests/scripts/image-debian.sh '$(IMAGE)' '$(STATIC_BIN)'

## image-test: run image-debian's image with podman and runc (root): the standalone manifest's
## container read-only without capabilities, its probes, metrics, a client, stop, restart and a
## killed JVM; zookeeper.yaml's StatefulSet as three pods by `podman kube play` (CI runs it)
image-test: image-debian
	tests/scripts/image-test.sh

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

## deps: install Debian's zookeeper (with a JRE), logback, unshare, promtool and nc when missing
deps:
	tests/scripts/install-deps.sh
