# zk-entry: the two commands a newcomer needs are `make demo` and `make test`; both install what
# they need (Debian packages through tests/scripts/install-deps.sh, crates through cargo).

CARGO ?= cargo
MUSL := x86_64-unknown-linux-musl
STATIC_BIN := target/$(MUSL)/release/zk-entry

.PHONY: demo test lint build static bench deps

## demo: run a standalone ZooKeeper through zk-entry in the foreground until Ctrl-C
demo: deps build
	tests/scripts/demo.sh target/release/zk-entry

## test: unit, CLI, pod (namespaces: needs root) and real-ZooKeeper tests
test: deps
	$(CARGO) test

## lint: formatting and clippy, warnings denied
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	bash -n tests/scripts/*.sh .ci/run

## build: the release binary for this machine
build:
	$(CARGO) build --release

## static: the shipped static binary (x86_64 musl)
static:
	@rustup target list --installed | grep -qx '$(MUSL)' || rustup target add $(MUSL)
	$(CARGO) build --release --target $(MUSL)
	@echo "static binary: $(STATIC_BIN)"

## bench: start-up time; memory and exit latency while supervising; CPU and wall time per ready
## probe against a live ZooKeeper; both builds (needs root: namespaces)
bench: deps static
	ZK_ENTRY_BENCH_STATIC=$(abspath $(STATIC_BIN)) $(CARGO) bench --bench start --bench supervise --bench probe

## deps: install Debian's zookeeper (with a JRE), logback, unshare, promtool and nc when missing
deps:
	tests/scripts/install-deps.sh
