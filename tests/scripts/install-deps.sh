#!/usr/bin/env bash
# Install what `make demo` and `make test` need when it is missing: Debian's zookeeper package
# (ZooKeeper 3.8 with zkCli.sh, log4j 1.2 and a JRE through its dependencies), logback, and
# unshare (util-linux). Runs apt-get only when something is missing, so repeated runs cost nothing.
set -euo pipefail

missing=()
[ -f /usr/share/java/zookeeper.jar ] && [ -x /usr/share/zookeeper/bin/zkCli.sh ] || missing+=(zookeeper)
# Upstream ZooKeeper 3.8+ logs through logback; the tests check our logback.xml with Debian's.
[ -f /usr/share/java/logback-classic.jar ] || missing+=(liblogback-java)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing Debian packages: ${missing[*]}; run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" </dev/null >/dev/null
