#!/usr/bin/env bash
# Installs what hawker needs from Debian 12 packages, skipping what is present.
# Idempotent; run as root (or with sudo available). Prints what it installs.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates procps
  libboost1.81-dev libboost-json1.81-dev librocksdb-dev libsqlite3-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  wrk nginx-light python3
  ffmpeg libnginx-mod-rtmp fonts-dejavu-core
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
