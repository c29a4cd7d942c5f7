#!/usr/bin/env bash
# Configures and builds one flavour of hawker with CMake + Ninja + ccache.
#   scripts/build.sh release|asan|tsan [targets...]
# The ccache cache lives outside the checkout (CCACHE_DIR, default
# ~/.cache/ccache) so it survives between runs on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
shift || true
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
# Hash paths relative to the checkout, so a fresh clone in another folder
# (as CI makes) still hits the cache.
export CCACHE_BASEDIR="$PWD"
export CCACHE_NOHASHDIR=1
case "$flavour" in
  release) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DHAWKER_SANITIZE=ON -DHAWKER_BENCH=OFF) ;;
  tsan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAWKER_TSAN=ON -DHAWKER_BENCH=OFF) ;;
  *) echo "build: unknown flavour '$flavour' (release|asan|tsan)" >&2; exit 2 ;;
esac
cmake -S . -B "build/$flavour" -G Ninja -DHAWKER_WERROR=ON "${flags[@]}" > /dev/null
ninja -C "build/$flavour" -j "$(nproc)" "$@"
