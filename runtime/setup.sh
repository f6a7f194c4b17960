#!/bin/sh
# runtime/setup.sh: turns a Debian base into coco's base image (node, npm, python3, pipx, git, mise).
# Runs as root inside the install-phase sandbox (`coco rebuild`) and in the Containerfile
# (podman/docker backend), so both backends give tools the same environment.
# Package hosts come from the image's own apt sources and npm configuration.
set -eu

# mise ships its binary in this npm package; bump deliberately (and note it in the log).
MISE_VERSION="${MISE_VERSION:-2026.9.15}"

export DEBIAN_FRONTEND=noninteractive
# coco mounts the host's CA bundle here (TLS-intercepting proxies); node ignores it unless told.
export NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"

# With the single id mapping (no /etc/subuid range) apt cannot drop to _apt: let it stay root.
if [ "$(wc -l < /proc/self/uid_map)" -eq 1 ] && awk '{exit !($3 == 1)}' /proc/self/uid_map; then
  echo 'APT::Sandbox::User "root";' > /etc/apt/apt.conf.d/00coco-sandbox
fi

apt-get update
apt-get install -y --no-install-recommends \
  ca-certificates git curl nodejs npm python3 python3-venv pipx
apt-get clean
rm -rf /var/lib/apt/lists/*

npm install --global --no-fund --no-audit --no-update-notifier "@jdxcode/mise@${MISE_VERSION}"
npm cache clean --force >/dev/null 2>&1 || true

mkdir -p /etc/coco
{
  echo "mise=${MISE_VERSION}"
  echo "node=$(node --version)"
  echo "npm=$(npm --version)"
  echo "python3=$(python3 --version | cut -d' ' -f2)"
} > /etc/coco/runtime-versions

mise --version
cat /etc/coco/runtime-versions
