#!/bin/bash
# SIGINT while a step runs and SIGTERM while the VM boots: exit 128+N, nothing left behind.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

"$MEXEC" run -c "$HERE/jobs/sleep.yml" --job build >"$T/out" 2>"$T/err" </dev/null &
pid=$!
wait_for "$T/out" step-started 300
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
expect_rc 130
expect_err "interrupted by signal 2"
expect_no_leftovers

# (--cold: a boot to interrupt; instant_start_test.sh interrupts a restored job)
"$MEXEC" run -c "$HERE/jobs/sleep.yml" --job build --cold >"$T/out" 2>"$T/err" </dev/null &
pid=$!
wait_for "$T/err" "booting" 60
sleep 2
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
expect_rc 143
expect_no_leftovers
echo "PASS run_signal"
