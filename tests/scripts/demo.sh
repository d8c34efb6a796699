#!/usr/bin/env bash
# make demo-standalone: run a standalone ZooKeeper through `zk-entry start` in the foreground until Ctrl-C,
# then remove everything it wrote. As root it runs as pod zk-0 (its own UTS namespace), so the
# machine's host name does not matter; otherwise it runs as this host.
#
# Usage: tests/scripts/demo.sh PATH-TO-ZK-ENTRY [PORT]
set -euo pipefail

bin=$(realpath "$1")
port=${2:-${DEMO_PORT:-2181}}
work=$(mktemp -d "${TMPDIR:-/tmp}/zk-entry-demo.XXXXXX")
# mktemp makes it 0700; as root, zk-entry runs ZooKeeper as the zookeeper user, which must reach it.
chmod 755 "$work"
checker=""

cleanup() {
    [ -n "$checker" ] && kill "$checker" 2>/dev/null || true
    rm -rf "$work"
    echo "demo: stopped; removed $work" >&2
}
# A handled (not ignored) INT is reset to default in the child, so Ctrl-C still reaches the JVM.
trap cleanup EXIT
trap 'exit 130' INT TERM

srvr() {
    # The four-letter word as a probe should send it: 4 bytes, then read to EOF (bounded).
    timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"' && printf srvr >&3 && cat <&3' 2>/dev/null || true
}

# In the background: wait until the server serves, then show it working with ZooKeeper's client.
(
    for _ in $(seq 1 120); do
        mode=$(srvr | sed -n 's/^Mode: //p')
        [ -n "$mode" ] && break
        sleep 0.5
    done
    if [ -z "${mode:-}" ]; then
        echo "demo: ZooKeeper did not start serving on port $port within 60 s" >&2
        exit 1
    fi
    {
        echo
        echo "demo: ZooKeeper serves on 127.0.0.1:$port, Mode: $mode"
        cli=/usr/share/zookeeper/bin/zkCli.sh
        # zkCli.sh prints connection chatter around the answer; keep only the answer.
        quiet() { grep -v -E '^$|^Connecting to|^WATCHER::|^WatchedEvent' || true; }
        echo "demo: zkCli.sh -server 127.0.0.1:$port create /hello world"
        "$cli" -server "127.0.0.1:$port" create /hello world 2>/dev/null | quiet
        echo "demo: zkCli.sh -server 127.0.0.1:$port get /hello"
        value=$("$cli" -server "127.0.0.1:$port" get /hello 2>/dev/null | quiet)
        echo "demo: /hello = ${value:-<nothing: the sanity check failed>}"
        echo "demo: the files zk-entry wrote are in $work; press Ctrl-C to stop"
        echo
    } >&2
) &
checker=$!

args=(start
    "--client_port=$port"
    "--data_dir=$work/data"
    "--data_log_dir=$work/data/log"
    "--conf_dir=$work/conf"
    "--log_dir=$work/log"
    --heap=256M
    --purge_interval=12
    --set clientPortAddress=127.0.0.1)

if [ "$(id -u)" = 0 ]; then
    unshare --uts -- sh -c 'hostname zk-0 && exec "$@"' sh "$bin" "${args[@]}"
else
    "$bin" "${args[@]}"
fi
