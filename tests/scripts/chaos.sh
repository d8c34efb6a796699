#!/usr/bin/env bash
# make chaos: run examples/chaos once per ensemble kind with one seed, keep the artefacts under
# target/chaos/<seed>/<kind>[-<ZK_SUITE>][.N]/, print each summary, fail if any run found an
# anomaly or did not end as it should (docs/chaos.md).
#   chaos.sh ZK_ENTRY            CHAOS_MINUTES (10, per kind; decimals allowed), CHAOS_SEED
#                                (random when unset), CHAOS_MODES ("static reconfig")
#   chaos.sh --expect-anomaly ZK_ENTRY   the negative control: succeeds only if every run ended
#                                in anomalies (exit 1), never on a clean run or a broken harness
set -euo pipefail
cd "$(dirname "$0")/../.."
expect=0
if [ "${1:-}" = --expect-anomaly ]; then
    expect=1
    shift
fi
bin=${1:?usage: chaos.sh [--expect-anomaly] ZK_ENTRY}
minutes=${CHAOS_MINUTES:-10}
if ! [[ $minutes =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "chaos: CHAOS_MINUTES must be a number of minutes such as 10 or 1.5, not '$minutes'" >&2
    exit 2
fi
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
if [ "$seconds" -lt 60 ]; then
    echo "chaos: CHAOS_MINUTES=$minutes is under the one minute a run needs (faults stop 20 s before the end)" >&2
    exit 2
fi
seed=${CHAOS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
if ! [[ $seed =~ ^[0-9]+$ ]]; then
    echo "chaos: CHAOS_SEED must be a whole number, not '$seed'" >&2
    exit 2
fi
modes=${CHAOS_MODES:-static reconfig}
echo "chaos: seed $seed, $minutes min per kind ($modes); replay with CHAOS_SEED=$seed"
status=0
summaries=()
for mode in $modes; do
    # Another ZooKeeper (ZK_SUITE, tests/support/dist.rs) keeps its artefacts apart.
    out="target/chaos/$seed/$mode${ZK_SUITE:+-$ZK_SUITE}"
    # A replay never overwrites the run it replays: the next free .N beside it.
    if [ -e "$out" ]; then
        n=2
        while [ -e "$out.$n" ]; do n=$((n + 1)); done
        out="$out.$n"
    fi
    rc=0
    target/debug/examples/chaos --bin "$bin" --mode "$mode" --seconds "$seconds" --seed "$seed" --out "$out" || rc=$?
    summaries+=("$(cat "$out/summary.txt" 2>/dev/null || echo "chaos: $mode: no summary (exit $rc)")")
    if [ "$expect" = 1 ]; then
        if [ "$rc" != 1 ] || [ ! -s "$out/anomalies.txt" ]; then
            echo "chaos: negative control: the $mode run with $bin exited $rc without anomalies; it must find them" >&2
            status=1
        fi
    elif [ "$rc" != 0 ]; then
        status=1
    fi
done
printf '%s\n' "${summaries[@]}"
exit "$status"
