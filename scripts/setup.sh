#!/usr/bin/env bash
# Installs what hawker needs from Debian 12 packages, skipping what is present,
# and the web pages' npm packages (hls.js; playwright-core for the tests).
#   scripts/setup.sh          what the server and the demo need
#   scripts/setup.sh --test   also what the tests need (Chromium, PostgreSQL, nats-server)
# Idempotent; run as root (or with sudo available). Prints what it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates procps
  libboost1.81-dev libboost-json1.81-dev librocksdb-dev libsqlite3-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  libpq-dev libnats-dev
  wrk nginx-light python3
  ffmpeg libnginx-mod-rtmp fonts-dejavu-core
)
# The browser tests drive Debian's Chromium (through playwright-core); the
# cluster adapters' contract tests start a real PostgreSQL and nats-server.
TEST_PACKAGES=(chromium postgresql-15 nats-server)
if [ "${1:-}" = "--test" ]; then PACKAGES+=("${TEST_PACKAGES[@]}"); fi
# Node.js and npm come with the machine; Debian's are the fallback.
if ! command -v npm > /dev/null; then PACKAGES+=(nodejs npm); fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages of the web pages, exactly as locked; again only when the lock
# changed since the last install.
if [ -f web/package-lock.json ]; then
  if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    echo "setup: npm ci in web/"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    touch web/node_modules/.package-lock.json
  else
    echo "setup: web/node_modules up to date"
  fi
fi
echo "setup: done"
