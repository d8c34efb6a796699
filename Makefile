# zk-entry: the two commands a newcomer needs are `make demo` and `make test`; both install what
# they need (Debian packages through tests/scripts/install-deps.sh, crates through cargo).

CARGO ?= cargo
MUSL := x86_64-unknown-linux-musl
STATIC_BIN := target/$(MUSL)/release/zk-entry
# The tag the manifests in docker/k8s run (tests/deploy.rs checks they agree, and that the tag is
# Cargo.toml's version).
IMAGE ?= zk-entry:0.1.0

.PHONY: demo test lint deploy-lint build static image bench deps

## demo: run a standalone ZooKeeper through zk-entry in the foreground until Ctrl-C
demo: deps build
	tests/scripts/demo.sh target/release/zk-entry

## test: unit, CLI, pod (namespaces: needs root) and real-ZooKeeper tests
test: deps
	$(CARGO) test

## lint: formatting and clippy, warnings denied; shell syntax; docker/ (deploy-lint)
lint: deploy-lint
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	bash -n tests/scripts/*.sh .ci/run

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
	$(CARGO) build --release --target $(MUSL)
	@echo "static binary: $(STATIC_BIN)"

## image: the container image $(IMAGE) from docker/Dockerfile (needs a Docker engine with BuildKit
## and network access; not part of CI, which has no Docker engine: tests/deploy.rs checks the recipe)
image:
	docker build -f docker/Dockerfile -t $(IMAGE) .

## bench: start-up time; memory and exit latency while supervising; CPU and wall time per ready
## probe against a live ZooKeeper; both builds (needs root: namespaces)
bench: deps static
	ZK_ENTRY_BENCH_STATIC=$(abspath $(STATIC_BIN)) $(CARGO) bench --bench start --bench supervise --bench probe

## deps: install Debian's zookeeper (with a JRE), logback, unshare, promtool and nc when missing
deps:
	tests/scripts/install-deps.sh
