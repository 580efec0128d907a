#!/bin/bash
# The README's example job passes in a real VM and leaves nothing behind.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
run_job "$HERE/../../examples/hello/.circleci/config.yml" build
expect_rc 0
expect_out "hello from a machine job"
expect_out "user=circleci nproc=2"
expect_out "pwd=/home/circleci/project CI=true CIRCLE_JOB=build"
expect_out "A minimal CircleCI machine job"
expect_out "docker server"
expect_err "job build succeeded"
expect_no_leftovers
echo "PASS run_pass"
