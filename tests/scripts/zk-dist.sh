#!/usr/bin/env bash
# Fetch Debian's ZooKeeper of another suite (bullseye: 3.4.13, trixie: 3.9.3, sid: 3.9.6) with the
# Java libraries it depends on, and extract them under target/zk-dist/<suite>/root, so a test pod
# can bind that root's usr/share/java and usr/share/zookeeper over its own and run that version
# (the jars' manifests name their dependencies by absolute path under /usr/share/java, so a
# classpath alone would mix in the machine's jars).
#
# The machine's apt sources and package state are never touched: a private sources list, lists
# and cache under target/zk-dist/<suite>/apt, and `apt-get download` + `dpkg-deb -x` (no dpkg
# install, no maintainer scripts), against an empty package state. Only the Java libraries are taken (packages named *-java, plus
# zookeeper): the JRE is the machine's own.
#
# Usage: zk-dist.sh SUITE...   prints, per suite, "<suite> <zookeeper version> <root>".
# A suite already extracted is not fetched again (its root holds a VERSION file once complete).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
base="${CARGO_TARGET_DIR:-$here/target}/zk-dist"
mirror=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

[ $# -gt 0 ] || { echo "zk-dist: no suite given; accepted: bullseye, trixie, sid" >&2; exit 2; }
for suite in "$@"; do
    case "$suite" in
        bullseye | trixie | sid) ;;
        *) echo "zk-dist: unknown suite '$suite'; accepted: bullseye, trixie, sid" >&2; exit 2 ;;
    esac
done

fetch() {
    local suite=$1 dir="$base/$1"
    local root="$dir/root" apt="$dir/apt"
    if [ -f "$root/VERSION" ]; then
        echo "$suite $(cat "$root/VERSION") $root"
        return
    fi
    [ "$(id -u)" = 0 ] || { echo "zk-dist: fetching $suite's ZooKeeper needs root (apt-get download); run as root once, it is cached in $dir" >&2; exit 1; }
    rm -rf "$dir"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$dir/debs" "$root"
    echo "deb [signed-by=$keyring] $mirror $suite main" >"$apt/sources.list"
    # An empty package state: the machine's installed versions must not be taken as candidates.
    : >"$apt/status"
    local opts=(-q -o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Dir::State::status=$apt/status"
        -o APT::Architecture=amd64)
    echo "zk-dist: $suite: reading the package lists" >&2
    apt-get "${opts[@]}" update >"$dir/update.log" 2>&1 || {
        echo "zk-dist: apt-get update of $suite failed; see $dir/update.log" >&2
        exit 1
    }
    local version
    version=$(apt-cache "${opts[@]}" show --no-all-versions zookeeper | sed -n 's/^Version: //p' | head -n1)
    [ -n "$version" ] || { echo "zk-dist: $suite has no zookeeper package" >&2; exit 1; }
    # The dependency closure, Java libraries only; a virtual package (<name>) has no file.
    local packages
    packages=$(apt-cache "${opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances zookeeper |
        grep -v '^ ' | grep -v '^<' | grep -E '^(zookeeper|.*-java)$' | grep -vx ca-certificates-java | sort -u)
    echo "zk-dist: $suite: downloading zookeeper $version and $(($(wc -l <<<"$packages") - 1)) Java libraries" >&2
    (cd "$dir/debs" && apt-get "${opts[@]}" download $packages >"$dir/download.log" 2>&1) || {
        echo "zk-dist: apt-get download from $suite failed; see $dir/download.log" >&2
        exit 1
    }
    for deb in "$dir/debs"/*.deb; do
        dpkg-deb -x "$deb" "$root"
    done
    [ -f "$root/usr/share/java/zookeeper.jar" ] && [ -x "$root/usr/share/zookeeper/bin/zkCli.sh" ] || {
        echo "zk-dist: $suite's packages hold no /usr/share/java/zookeeper.jar or zkCli.sh; see $dir/debs" >&2
        exit 1
    }
    # The upstream version (3.9.3-1+deb13u1 -> 3.9.3), written last: the mark of a complete root.
    local upstream=${version#*:}
    echo "${upstream%%[-+~]*}" >"$root/VERSION"
    echo "$suite $(cat "$root/VERSION") $root"
}

for suite in "$@"; do
    fetch "$suite"
done
