#!/usr/bin/env bash
# Install the pinned k3d, kind and kubectl that the real targets drive, each checked against its published
# SHA-256 before it is made executable: a tampered or truncated download stops here, not halfway through a
# bring-up. One place for the pins, used by ci/github/nightly.yml, ci/gitlab/nightly.yml and docs/nightly.md.
#
#   ci/install-tools.sh BIN_DIR [k3d|kind|kubectl ...]     (default: all three)
#
# Pins and where each checksum comes from (linux/amd64 only: the nightly runners are x86_64):
# - k3d v5.8.3: k3d-io/k3d release v5.8.3, checksums.txt (k3d-linux-amd64); k3d v5 runs the K3s image the
#   installer and the guide use, rancher/k3s:v1.21.14-k3s1.
# - kind v0.20.0: kubernetes-sigs/kind release v0.20.0, kind-linux-amd64.sha256sum. v0.20.0 is the newest
#   kind whose release notes list a Kubernetes 1.21 node image (kindest/node:v1.21.14@sha256:8a4e9bb3...);
#   kind v0.21.0 and later list none older than 1.23.
# - kubectl v1.21.14: dl.k8s.io/release/v1.21.14/bin/linux/amd64/kubectl.sha256 (the client matching the
#   K3s/kind server version, inside kubectl's supported skew).
set -euo pipefail

K3D_VERSION=v5.8.3
K3D_SHA256=dbaa79a76ace7f4ca230a1ff41dc7d8a5036a8ad0309e9c54f9bf3836dbe853e
KIND_VERSION=v0.20.0
KIND_SHA256=513a7213d6d3332dd9ef27c24dab35e5ef10a04fa27274fe1c14d8a246493ded
KUBECTL_VERSION=v1.21.14
KUBECTL_SHA256=0c1682493c2abd7bc5fe4ddcdb0b6e5d417aa7e067994ffeca964163a988c6ee

usage() {
    echo "usage: $0 BIN_DIR [k3d|kind|kubectl ...]" >&2
    exit 2
}

[ $# -ge 1 ] || usage
bin_dir=$1
shift
tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(k3d kind kubectl)

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "$0: only linux/amd64 binaries are pinned here, this is $(uname -s)-$(uname -m)" >&2
    exit 1
fi

# Every name is checked before anything is downloaded.
for tool in "${tools[@]}"; do
    case "$tool" in
    k3d | kind | kubectl) ;;
    *)
        echo "$0: unknown tool '$tool' (k3d, kind, kubectl)" >&2
        exit 2
        ;;
    esac
done

# install_checked NAME URL SHA256: download beside the target, verify, only then make it executable and
# move it into place, so a failed check leaves nothing behind.
install_checked() {
    local name=$1 url=$2 sha256=$3
    local target="$bin_dir/$name"
    local part="$target.part"
    rm -f "$part"
    curl --fail --silent --show-error --location --retry 3 --output "$part" "$url"
    if ! echo "$sha256  $part" | sha256sum --check --status; then
        echo "$0: $name from $url does not match its pinned SHA-256 $sha256; not installed" >&2
        rm -f "$part"
        exit 1
    fi
    chmod 0755 "$part"
    mv "$part" "$target"
    echo "installed $name -> $target"
}

mkdir -p "$bin_dir"
for tool in "${tools[@]}"; do
    case "$tool" in
    k3d)
        install_checked k3d \
            "https://github.com/k3d-io/k3d/releases/download/$K3D_VERSION/k3d-linux-amd64" "$K3D_SHA256"
        ;;
    kind)
        install_checked kind \
            "https://github.com/kubernetes-sigs/kind/releases/download/$KIND_VERSION/kind-linux-amd64" \
            "$KIND_SHA256"
        ;;
    kubectl)
        install_checked kubectl \
            "https://dl.k8s.io/release/$KUBECTL_VERSION/bin/linux/amd64/kubectl" "$KUBECTL_SHA256"
        ;;
    esac
done
