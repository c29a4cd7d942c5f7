#!/usr/bin/env bash
# Runs every figure of docs/BENCHMARKS.md on this machine and prints them.
#   bash bench/run_all.sh [build/release]
# Build first: bash scripts/build.sh release
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build/release}"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== decision benchmark (one core)"
taskset -c 0 "$BUILD/decision_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== projection benchmark"
"$BUILD/projection_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== durable ingest vs nginx"
bash bench/ingest.sh "$BUILD"
echo "== 20,000 buyers, 256 connections, 100 units"
bash bench/buyers.sh "$BUILD"
echo "== hawker beside nginx, PostgreSQL and Redis (issue #6; run bench/compare.sh alone to record it)"
bash bench/compare.sh "$BUILD" --no-append
echo "== the flash crowd: 50,000 buyers within 1 s, 1,000 units, 2,000 viewers (issue #6)"
bash bench/spike.sh "$BUILD"
