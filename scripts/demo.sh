#!/usr/bin/env bash
# The demo: install what is missing, build, and run `hawker demo` (the server
# on the embedded default with a seeded catalog). Extra arguments go to hawker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release hawker
exec ./build/release/hawker demo --data "${HAWKER_DATA:-hawker-demo-data}" --listen "${HAWKER_LISTEN:-127.0.0.1:8080}" "$@"
