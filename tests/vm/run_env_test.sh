#!/bin/bash
# Environment precedence, working directories, checkout, a background step running beside the
# next one, and the VM's size matching the class.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
config=$(make_project "$HERE/jobs/env.yml")
secret="s3cr3t-$RANDOM-$RANDOM"
run_job "$config" build -e CLI_ONLY=from-cli -e JOB_OVER=from-cli -e "SECRET_VALUE=$secret"
expect_rc 0
expect_out "pwd=/home/circleci/work/sub/dir"
expect_out "cli=from-cli job=from-job step=from-step circle_job=build ci=true"
expect_out "user=circleci home=/home/circleci"
expect_out "project file"
expect_out "secret-on-argv=no"
expect_out "(running in the background)"
expect_out "bg-started"
expect_out "bg-saw-go"
expect_out "fg-after-bg"
grep -q '^shellopts=.*e' "$T/out" || fail "step shell is not running with -e"
expect_out "nproc=2"
mem=$(sed -n 's/^memtotal_kib=//p' "$T/out")
# medium is 7680 MiB; the guest kernel keeps a little for itself
((mem > 7680 * 1024 * 9 / 10 && mem <= 7680 * 1024)) || fail "MemTotal $mem KiB does not match 7680 MiB"
expect_no_leftovers
echo "PASS run_env"
