#!/bin/bash
# prepare SIGKILLed while its VM boots (the domain exists, no auto-destroy): cleanup still
# destroys the domain and removes the job's files.
# shellcheck source=tests/gitlab/lib.sh
source "$(dirname "$0")/lib.sh"

spec=$(gl_spec 401 '["true"]' '[]')
gl_job "$spec" --kill-prepare-when-booting
expect_rc 2
expect_out "exists: SIGKILL to the prepare stage"
# the half-started domain is either destroyed by cleanup or already failed and gone
expect_no_out "cleanup of gitlab-r1-j401 was incomplete"
expect_no_leftovers
echo "PASS gitlab_crash"
