#!/bin/bash
# SIGTERM to a workflow run while two of its jobs run at the same time: both are stopped, the
# job after them never starts, the exit status is 143, and no VM, job file or workspace is left.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

"$MEXEC" run -c "$HERE/jobs/workflow_sleep.yml" --workflow ci >"$T/out" 2>"$T/err" </dev/null &
pid=$!
wait_for "$T/out" "| step-started-left" 400
wait_for "$T/out" "| step-started-right" 400
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
expect_rc 143
expect_err "interrupted by signal 15"
expect_no_out "must-not-run"
for job in left right after; do
    grep -Eq "^$job +canceled " "$T/out" || fail "summary: $job is not canceled"
done
expect_no_leftovers
echo "PASS run_workflow_signal"
