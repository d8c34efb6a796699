#!/usr/bin/env bash
# Install what `make demo`, `make test` and `make bench` need when it is missing: Debian's
# zookeeper package (ZooKeeper 3.8 with zkCli.sh, log4j 1.2 and a JRE through its dependencies),
# logback, unshare (util-linux), promtool (prometheus: the metrics tests check our exposition
# with it), nc (netcat-openbsd: the probe bench recreates the tutorial's `echo ruok | nc`),
# openssl (the TLS tests) and musl-gcc (musl-tools: `make static`).
# With the argument `image`, also what `make image-debian` and `make image-test` need: mmdebstrap
# (the image's base from Debian packages), buildah (the build), podman with runc (the runtime;
# crun refuses this machine's hybrid cgroup layout), catatonit (a pod's infra container) and
# netavark with aardvark-dns and iptables (a podman network whose containers find each other by
# name; the tests make theirs --internal, so netavark adds no NAT towards the outside).
# Runs apt-get only when something is missing, so repeated runs cost nothing.
set -euo pipefail

case "${1-}" in
    '') image=false ;;
    image) image=true ;;
    *)
        echo "install-deps: unknown argument '$1'; accepted: none (test tools) or 'image' (also the container tools)" >&2
        exit 2
        ;;
esac

missing=()
[ -f /usr/share/java/zookeeper.jar ] && [ -x /usr/share/zookeeper/bin/zkCli.sh ] || missing+=(zookeeper)
# Upstream ZooKeeper 3.8+ logs through logback; the tests check our logback.xml with Debian's.
[ -f /usr/share/java/logback-classic.jar ] || missing+=(liblogback-java)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v nc >/dev/null 2>&1 || missing+=(netcat-openbsd)
# The security tests make CAs and certificates, and talk TLS, with openssl.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# make static: ring (the TLS checks) compiles C for the musl target with musl-gcc.
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
# Debian's Netty jars that zookeeper.jar's manifest leaves out (TLS); libnetty-java is a
# dependency of the zookeeper package, checked here in case of a slimmed install.
[ -f /usr/share/java/netty-codec.jar ] || missing+=(libnetty-java)
if $image; then
    command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
    command -v buildah >/dev/null 2>&1 || missing+=(buildah)
    command -v podman >/dev/null 2>&1 || missing+=(podman)
    command -v runc >/dev/null 2>&1 || missing+=(runc)
    [ -x /usr/libexec/podman/catatonit ] || command -v catatonit >/dev/null 2>&1 || missing+=(catatonit)
    [ -x /usr/lib/podman/netavark ] || command -v netavark >/dev/null 2>&1 || missing+=(netavark)
    [ -x /usr/lib/podman/aardvark-dns ] || command -v aardvark-dns >/dev/null 2>&1 || missing+=(aardvark-dns)
    command -v iptables >/dev/null 2>&1 || missing+=(iptables)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing Debian packages: ${missing[*]}; run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# Packages such as prometheus and zookeeper ship a service; only their programs are wanted here.
# Without a policy-rc.d, invoke-rc.d would start the daemons on a machine without systemd, so one
# that forbids it (exit 101, see /usr/share/doc/init-system-helpers/README.policy-rc.d) is put in
# place for the install and removed afterwards. An existing one is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
install() {
    apt-get update -qq </dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
}
# A mirror or lock hiccup should not fail a run: one more try after a pause. Then name what is
# still not installed (apt-get's own messages are above), in one line.
if ! install; then
    echo "install-deps: apt-get failed; trying once more in 5 s" >&2
    sleep 5
    if ! install; then
        failed=()
        for package in "${missing[@]}"; do
            dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q ' installed$' || failed+=("$package")
        done
        [ ${#failed[@]} -gt 0 ] || failed=("${missing[@]}")
        echo "install-deps: apt-get failed twice; not installed: ${failed[*]}" >&2
        exit 1
    fi
fi
