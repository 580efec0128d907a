#!/bin/bash
# A failing step fails the job (exit 1) with the step's status; later steps do not run unless
# their `when` says so (on_fail, always).
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
run_job "$HERE/jobs/fail.yml" build
expect_rc 1
expect_out "before-the-failure"
expect_out "Exited with code exit status 3"
expect_no_out "this-must-not-run"
expect_out "on-fail-ran"
expect_out "always-ran"
expect_out "Too long with no output (exceeded 2s)"
expect_no_out "never-printed"
expect_err "about to fail"
expect_err "job build failed"
expect_no_leftovers
echo "PASS run_fail"
