#!/bin/bash
# A failing build_script: the runner gets BUILD_FAILURE_EXIT_CODE and the script's own code in
# BUILD_EXIT_CODE_FILE, after_script and the on_failure stages still run in the same VM.
# shellcheck source=tests/gitlab/lib.sh
source "$(dirname "$0")/lib.sh"

# this one boots (MEXEC_COLD); pass_test.sh restores the image's snapshot
GL_VARS=', {"key": "MEXEC_COLD", "value": "1"}'
spec=$(gl_spec 201 '["echo before-failure > state.txt", "exit 3", "echo not-reached"]' \
  '["echo after-script-ran", "cat state.txt"]')
gl_job "$spec"
expect_rc 1
expect_out "[runner] build_script failed: BUILD_EXIT_CODE_FILE says 3"
expect_no_out "not-reached"
expect_out "after-script-ran"
[[ $(grep -c '^before-failure$' "$T/out") -eq 1 ]] || fail "after_script did not see the build's files"
expect_out "[runner] run archive_cache_on_failure"
expect_out "[runner] run upload_artifacts_on_failure"
expect_out "ERROR: Job failed: exit code 3"
expect_out "booting mexec-gitlab-r1-j201"
expect_no_leftovers
echo "PASS gitlab_fail"
