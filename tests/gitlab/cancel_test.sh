#!/bin/bash
# A cancelled job: SIGTERM to `run` while build_script sleeps; the driver cancels the step in
# the guest and exits (SIGKILL comes only after the grace period), cleanup leaves nothing.
# shellcheck source=tests/gitlab/lib.sh
source "$(dirname "$0")/lib.sh"

spec=$(gl_spec 301 '["echo step-started", "sleep 600", "echo must-not-appear"]' '[]')
gl_job "$spec" --cancel-when step-started --grace 120
expect_rc 3
expect_out "[runner] job cancelled: SIGTERM to the driver"
expect_out "interrupted by signal 15, step cancelled"
expect_out "[runner] build_script ended after SIGTERM"
expect_no_out "must-not-appear"
expect_out "destroyed VM mexec-gitlab-r1-j301"
expect_no_leftovers
echo "PASS gitlab_cancel"
