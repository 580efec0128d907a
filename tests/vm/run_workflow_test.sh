#!/bin/bash
# A workflow runs its jobs in dependency order, each in its own VM; a failed job blocks what
# requires it, branch filters skip jobs, and a summary says what happened to each.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
rc=0
"$MEXEC" run -c "$HERE/jobs/workflow.yml" --workflow ci --branch feature-x >"$T/out" 2>"$T/err" </dev/null || rc=$?
expect_rc 1
expect_out "first-ran branch=feature-x job=first"
expect_out "breaks-ran"
expect_no_out "must-not-run"
# the order: first, then breaks
[[ $(grep -En -m1 '\| first-ran' "$T/out" | cut -d: -f1) -lt $(grep -En -m1 '\| breaks-ran' "$T/out" | cut -d: -f1) ]] ||
    fail "breaks ran before first"
grep -Eq '^first +success ' "$T/out" || fail "summary: first is not success"
grep -Eq '^breaks +failed ' "$T/out" || fail "summary: breaks is not failed"
grep -Eq '^after-break +blocked .*requires breaks, which ended failed' "$T/out" || fail "summary: after-break is not blocked"
grep -Eq '^release-only +skipped ' "$T/out" || fail "summary: release-only is not skipped"
expect_no_leftovers
echo "PASS run_workflow"
