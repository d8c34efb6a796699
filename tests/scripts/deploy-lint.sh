#!/usr/bin/env bash
# `make lint`'s check of docker/: the Kubernetes manifests (docker/k8s) with yamllint (the
# repository's .yamllint, strict: warnings fail too) and kubernetes-validate in strict mode
# (unknown fields fail) against the API schemas of each Kubernetes version below; the
# cert-manager examples (docker/k8s/cert-manager) with yamllint only; docker/Dockerfile and
# docker/Dockerfile.debian with hadolint, which runs ShellCheck on their RUN scripts (CI builds
# and runs only the Debian one, `make image-test`; tests/it/deploy keeps the two runtime stages
# the same). Any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The oldest Kubernetes the manifests promise to work on (every field they use is GA there), and
# the newest the pinned kubernetes-validate knows.
KUBERNETES_VERSIONS=(1.30.0 1.37.0)

bin=$(tests/scripts/deploy-lint-tools.sh)
manifests=(docker/k8s/*.yaml)
[ -e "${manifests[0]}" ] || { echo "deploy-lint: no manifests in docker/k8s" >&2; exit 1; }

# cert-manager's Certificate is a custom resource without a schema here: yamllint only (its
# contents are checked by tests/it/deploy).
extras=(docker/k8s/cert-manager/*.yaml)
"$bin/yamllint" --strict --config-file .yamllint "${manifests[@]}" "${extras[@]}"
echo "deploy-lint: yamllint: ${#manifests[@]} manifests and ${#extras[@]} cert-manager files clean"
for version in "${KUBERNETES_VERSIONS[@]}"; do
    "$bin/kubernetes-validate" --strict --quiet --kubernetes-version "$version" "${manifests[@]}"
    echo "deploy-lint: kubernetes-validate --strict: ${#manifests[@]} manifests valid for Kubernetes $version"
done
"$bin/hadolint" --no-color docker/Dockerfile docker/Dockerfile.debian
echo "deploy-lint: hadolint: docker/Dockerfile and docker/Dockerfile.debian clean"
