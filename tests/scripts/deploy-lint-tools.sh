#!/usr/bin/env bash
# Make sure the tools that check docker/ (yamllint, kubernetes-validate, hadolint) are installed,
# at the versions pinned in tests/scripts/deploy-lint-tools.txt, in a venv under target/ (never
# the system Python). Prints the venv's bin directory. Reinstalls only when the pin list changes,
# so repeated runs cost nothing; needs no standard input.
set -euo pipefail
cd "$(dirname "$0")/../.."

requirements=tests/scripts/deploy-lint-tools.txt
venv=target/deploy-lint-tools
stamp="$venv/requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "$PWD/$venv/bin"
    exit 0
fi

rm -rf "$venv"
mkdir -p target
if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 makes venvs only with python3-venv installed.
    rm -rf "$venv"
    if [ "$(id -u)" != 0 ]; then
        echo "deploy-lint-tools: python3 cannot create a venv; run as root, or: sudo apt-get install -y python3-venv" >&2
        exit 1
    fi
    echo "deploy-lint-tools: installing python3-venv with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-venv </dev/null >/dev/null
    python3 -m venv "$venv"
fi
echo "deploy-lint-tools: installing $(grep -c '^[^#]' "$requirements") pinned packages into $venv" >&2
# --no-deps: the list is complete, so pip resolves nothing on its own and installs no surprise.
"$venv/bin/pip" install --quiet --no-input --disable-pip-version-check --no-deps \
    --requirement "$requirements" </dev/null >&2
"$venv/bin/pip" check >&2
echo "$want" >"$stamp"
echo "$PWD/$venv/bin"
