#!/usr/bin/env bash
# `make image-test`: tests/it/image.rs against the image `make image-debian` built, with the private
# podman set-up (tests/scripts/podman-env.sh), one test at a time (they share the machine's two
# cores with nothing else of ours, and podman's storage with each other). Every test removes what
# it created, also when it fails; anything a killed run left (names zkimg-*) is removed first.
# Needs root.
# Usage: image-test.sh [IMAGE SUITE...]: with them, the tests run once per suite on the image
# IMAGE-SUITE, tagged IMAGE for its run (the manifests' tag); the first suite's keeps the tag.
# Without them, on IMAGE as it is.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" != 0 ]; then
    echo "image-test: needs root (rootful podman, runc); run 'sudo make image-test'" >&2
    exit 1
fi
tests/scripts/install-deps.sh image
. tests/scripts/podman-env.sh
# Leftovers of a run that was killed before its guards could clean up (only our own prefix).
for kind in container pod volume network; do
    case $kind in
        container) names=$(podman ps --all --format '{{.Names}}') ;;
        pod) names=$(podman pod ps --format '{{.Name}}') ;;
        volume) names=$(podman volume ls --format '{{.Name}}') ;;
        network) names=$(podman network ls --format '{{.Name}}') ;;
    esac
    for name in $names; do
        case $name in
            zkimg-*)
                echo "image-test: removing $kind $name left by an earlier run" >&2
                case $kind in
                    container) podman rm --force --time 0 "$name" >/dev/null ;;
                    pod) podman pod rm --force --time 0 "$name" >/dev/null ;;
                    *) podman "$kind" rm --force "$name" >/dev/null ;;
                esac
                ;;
        esac
    done
done
run_tests() {
    local started=$SECONDS status
    # podman logs an error for each healthcheck timer it cannot ask systemd for (there is none
    # here); the tests run the health check themselves, so those lines are only noise.
    set +e
    cargo test --test it -- image:: --include-ignored --test-threads=1 --nocapture 2>&1 |
        grep -v 'unable to get systemd connection'
    status=${PIPESTATUS[0]}
    set -e
    echo "image-test: tests/it/image.rs on $1 in $((SECONDS - started)) s (status $status)"
    return "$status"
}
overall=0
if [ $# -ge 2 ]; then
    image=$1
    shift
    for suite in "$@"; do
        podman tag "$image-$suite" "$image"
        run_tests "$image-$suite" || overall=$?
    done
    podman tag "$image-$1" "$image"
else
    run_tests "the image" || overall=$?
fi
exit "$overall"
