#!/bin/bash
# A passing job through every sub-stage, the job's variables in the guest, a masked variable
# printed as [MASKED]; an unknown image is a system failure naming the images there are.
# shellcheck source=tests/gitlab/lib.sh
source "$(dirname "$0")/lib.sh"

GL_VARS=', {"key": "GREETING", "value": "hello"},
           {"key": "API_KEY", "value": "s3cr3t-api-key-1", "masked": true}'
# the job's script text: its $VARIABLES expand in the guest, not here
# shellcheck disable=SC2016
spec=$(gl_spec 101 '["cat README", "echo \"greeting=$GREETING\"", "echo \"key=$API_KEY\"",
  "test \"$(whoami)\" = circleci", "echo \"job=$CI_JOB_ID dir=$PWD\""]' '["echo after-ran"]' \
  '"files": {"README": "readme-from-the-repo\n"}')
gl_job "$spec"
expect_rc 0
expect_out "Using Custom executor with driver mexec"
expect_out "Running on mexec-gitlab-r1-j101 via mexec"
# an instant start (snapshot.h); the agent is the snapshot's in every stage
expect_out "restoring mexec-gitlab-r1-j101"
expect_out "readme-from-the-repo"
expect_out "greeting=hello"
expect_out "key=[MASKED]"
expect_no_out "s3cr3t-api-key-1"
expect_out "job=101 dir=/home/circleci/builds/group/project"
expect_out "after-ran"
for s in prepare_script get_sources restore_cache download_artifacts build_script after_script \
    archive_cache upload_artifacts_on_success cleanup_file_variables; do
    expect_out "[runner] run $s"
done
expect_out "Job succeeded"
expect_no_leftovers

spec=$(GL_IMAGE=debian-12:no-such-tag gl_spec 102 '["true"]' '[]')
gl_job "$spec"
expect_rc 2
expect_out "debian-12:no-such-tag"
expect_out "debian-12:current"
expect_no_leftovers
echo "PASS gitlab_pass"
