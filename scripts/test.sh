#!/usr/bin/env bash
# The whole test suite: setup, release build + every test, ASan+UBSan build +
# every test, ThreadSanitizer build + the concurrency tests. Ends with one line
# "N passed, N failed" summing all runs.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh --test || exit 1

passed=0
failed=0
# Adds one runner's counts to the totals; a runner that printed no summary
# counts as one failure.
tally() {  # what, passed (empty: no summary), failed
  if [ -z "$2" ]; then
    echo "test: $1 printed no summary" >&2
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + $2))
  failed=$((failed + $3))
}

run_ctest() {  # flavour, extra ctest args...
  local flavour="$1"
  shift
  local log="build/$flavour/ctest.log"
  (cd "build/$flavour" && ctest --output-on-failure --timeout 900 "$@") 2>&1 | tee "$log"
  local line total="" fail=""
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
  if [ -n "$line" ]; then
    total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
    fail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed.*/\1/')
  fi
  tally "ctest ($flavour)" "${total:+$((total - fail))}" "$fail"
}

# The browser tests print "N passed, N failed" as their last line.
run_web() {
  local log="build/release/web-tests.log"
  HAWKER_BINARY="$PWD/build/release/hawker" HAWKER_SCREENSHOTS="$PWD/build/release/screenshots" \
    node web/tests/run.mjs 2>&1 | tee "$log"
  local line
  line=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$log" | tail -1)
  tally "the web tests" "$(echo "$line" | cut -s -d' ' -f1)" "$(echo "$line" | cut -s -d' ' -f3)"
}

echo "== release build"
if bash scripts/build.sh release; then
  run_ctest release -j2
  echo "== web pages in Chromium (release build)"
  run_web
else
  failed=$((failed + 1))
fi
echo "== ASan+UBSan build"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if bash scripts/build.sh asan; then run_ctest asan -j2; else failed=$((failed + 1)); fi
echo "== ThreadSanitizer build (concurrency tests)"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
# The integration suites named here run the HTTP server's network threads with
# WebSocket viewers, broadcasts and buy clicks in this process.
if bash scripts/build.sh tsan store_tests bus_tests checkout_tests http_tests live_tests integration_tests; then
  run_ctest tsan -j2 -R "Contract|Concurren|Lease|Simulation|Router|Engine|Intake|Worker|Hub|Channel|Relay|EventLog|Outbox|LiveTest|LiveModerationTest|ShowsTest|ApiTest|HttpServer"
else
  failed=$((failed + 1))
fi

echo "test: wall time $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
