#!/usr/bin/env bash
# `make image-debian`: the image IMAGE (zk-entry:<version>-<suite>; the Makefile tags one of them
# zk-entry:<version>, the tag the manifests run) from
# docker/Dockerfile.debian, in the private podman storage of tests/scripts/podman-env.sh.
#   1. the base: Debian SUITE (minbase) with Debian's JRE and ZooKeeper, by mmdebstrap,
#      kept as target/image/base-<key>.tar, where the key is a hash of everything that shapes it
#      (this script and the package list), so a second run reuses it;
#   2. a build context of base.tar and the static zk-entry (`make static` builds it first);
#   3. buildah bud, in docker format (OCI images have no HEALTHCHECK), its RUN steps without a
#      network (they need none).
# Needs root (mmdebstrap's chroot mode, rootful podman storage). A failed step exits non-zero
# with the tool's last lines on stderr.
# Usage: image-debian.sh IMAGE STATIC_BINARY [SUITE [ALSO_TAG]]
# SUITE is the Debian suite of the base: bookworm (ZooKeeper 3.8.0, Java 17; the default) or
# trixie (ZooKeeper 3.9.3, Java 21); docs/versions.md. ALSO_TAG: a second tag for the image.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
    echo "image-debian: usage: image-debian.sh IMAGE STATIC_BINARY [SUITE [ALSO_TAG]]" >&2
    exit 2
fi
image=$1
binary=$2
suite=${3:-bookworm}
also=${4:-}
case "$suite" in
    bookworm | trixie) ;;
    *) echo "image-debian: unknown suite '$suite'; accepted: bookworm, trixie" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
    echo "image-debian: needs root (mmdebstrap builds the base in a chroot; podman's storage is root's); run 'sudo make image-debian'" >&2
    exit 1
fi
[ -x "$binary" ] || { echo "image-debian: no static zk-entry at $binary; run 'make static'" >&2; exit 1; }
tests/scripts/install-deps.sh image
. tests/scripts/podman-env.sh

# Debian's JRE (headless) and ZooKeeper's jars (libzookeeper-java); passwd has the useradd and
# userdel of the runtime stage.
packages=default-jre-headless,libzookeeper-java,passwd
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security

# Docs, man pages and translations are not needed in the image (about 40 MB).
nodoc='path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/info/*'
# Before the packages: the JRE's postinst links its man pages into /usr/share/man/man1 and fails
# when the directory is missing (excluded above).
essential_hook='mkdir -p "$1/usr/share/man/man1"'
# After:
# - zkCli.sh (the client the image tests write and read with, and the tutorial's `kubectl exec
#   zk-0 -- zkCli.sh`) with the settings it sources, taken from Debian's zookeeper package
#   without installing it: the package depends on a full JRE, whose X11 and Mesa libraries would
#   add about 300 MB, and its postinst adds a system user "zookeeper" that the runtime stage's
#   uid 1000 could not then take;
# - the upstream image's paths (see docker/Dockerfile.debian);
# - no apt lists or caches.
customize_hook='set -e
chroot "$1" sh -ec "cd /tmp && apt-get download -q zookeeper && dpkg-deb -x zookeeper_*.deb /tmp/zk && rm zookeeper_*.deb"
mkdir -p "$1/usr/share/zookeeper" "$1/etc/zookeeper" "$1/opt/zookeeper/conf"
mv "$1/tmp/zk/usr/share/zookeeper/bin" "$1/usr/share/zookeeper/bin"
mv "$1/tmp/zk/etc/zookeeper/conf_example" "$1/etc/zookeeper/conf_example"
ln -s conf_example "$1/etc/zookeeper/conf"
rm -rf "$1/tmp/zk"
ln -s /usr/share/zookeeper/bin "$1/opt/zookeeper/bin"
rm -rf "$1/var/lib/apt/lists/"* "$1/var/cache/apt/"* "$1/var/cache/debconf/"*-old "$1/var/log/"*.log'

mkdir -p target/image
key=$(printf '%s\n' "$suite" "$packages" "$mirror" "$security" "$nodoc" "$essential_hook" "$customize_hook" | sha256sum | cut -c1-16)
base="target/image/base-$suite-$key.tar"
if [ -f "$base" ]; then
    echo "image-debian: base $base (cached)"
else
    echo "image-debian: building the base $base with mmdebstrap ($packages)"
    started=$SECONDS
    log=target/image/mmdebstrap-$suite.log
    if ! mmdebstrap --variant=minbase --mode=root --format=tar \
        --include="$packages" \
        --dpkgopt="$nodoc" \
        --essential-hook="$essential_hook" \
        --customize-hook="$customize_hook" \
        "$suite" "$base.partial" \
        "deb $mirror $suite main" \
        "deb $mirror $suite-updates main" \
        "deb $security $suite-security main" >"$log" 2>&1; then
        rm -f "$base.partial"
        echo "image-debian: mmdebstrap failed; the last lines of $log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    mv "$base.partial" "$base"
    # Older bases of this suite are only taking space now.
    find target/image -maxdepth 1 -name "base-$suite-*.tar" ! -path "$base" -delete
    echo "image-debian: base built in $((SECONDS - started)) s"
fi

# The ZooKeeper version for the image's label, from the base's own package database. awk reads
# to the end: leaving early would end tar with SIGPIPE, which pipefail turns into a failure.
zk_version=$(tar -xOf "$base" ./var/lib/dpkg/status |
    awk '/^Package: / { p = $2 } /^Version: / && p == "libzookeeper-java" && v == "" { v = $2 } END { print v }')
zk_version=${zk_version%%-*}
[ -n "$zk_version" ] || { echo "image-debian: libzookeeper-java's version not found in $base" >&2; exit 1; }

context=target/image/context
rm -rf "$context"
mkdir -p "$context"
ln "$base" "$context/base.tar" 2>/dev/null || cp "$base" "$context/base.tar"
cp "$binary" "$context/zk-entry"
log=target/image/buildah.log
echo "image-debian: buildah bud -f docker/Dockerfile.debian -t $image (ZooKeeper $zk_version)"
if ! buildah bud --format docker --isolation oci --runtime runc --layers=false --network none \
    --build-arg "ZK_VERSION=$zk_version" \
    -f docker/Dockerfile.debian -t "$image" ${also:+-t "$also"} "$context" >"$log" 2>&1; then
    echo "image-debian: buildah failed; the last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
fi
rm -rf "$context"
# Older builds of the same tag are left without a name; remove them (the tag's own image stays).
podman image prune --force >/dev/null
echo "image-debian: built $image${also:+ (also $also)} ($(podman image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
