#!/usr/bin/env bash
# The whole test suite: setup, release build + every test, ASan+UBSan build +
# every test, ThreadSanitizer build + the concurrency tests. Ends with one line
# "N passed, N failed" summing all runs.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh || exit 1

passed=0
failed=0
run_ctest() {  # flavour, extra ctest args...
  local flavour="$1"
  shift
  local log="build/$flavour/ctest.log"
  (cd "build/$flavour" && ctest --output-on-failure --timeout 900 "$@") 2>&1 | tee "$log"
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "test: ctest for $flavour printed no summary" >&2
    failed=$((failed + 1))
    return
  fi
  local total fail
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
  fail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed.*/\1/')
  passed=$((passed + total - fail))
  failed=$((failed + fail))
}

echo "== release build"
if bash scripts/build.sh release; then run_ctest release -j2; else failed=$((failed + 1)); fi
echo "== ASan+UBSan build"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if bash scripts/build.sh asan; then run_ctest asan -j2; else failed=$((failed + 1)); fi
echo "== ThreadSanitizer build (concurrency tests)"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
if bash scripts/build.sh tsan store_tests bus_tests checkout_tests live_tests; then
  run_ctest tsan -j2 -R "Contract|Concurren|Lease|Simulation|Router|Engine|Intake|Worker|Hub|Channel"
else
  failed=$((failed + 1))
fi

echo "test: wall time $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
