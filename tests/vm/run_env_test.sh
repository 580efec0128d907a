#!/bin/bash
# Environment precedence, working directories, checkout (--project-dir), a background step
# running beside the next one, -e KEY and --env-file values masked, and the VM's size matching
# the class.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
config=$(make_project "$HERE/jobs/env.yml")
secret="s3cr3t-$RANDOM-$RANDOM"
# -e KEY and --env-file: values that never touch argv, masked in the output
from_env=envS3cret-1234567 from_file=fileS3cret-7654321
printf 'FILE_SECRET=%s\n' "$from_file" >"$T/env"
chmod 600 "$T/env"
# the project is not a git work tree: named with --project-dir, it is packed whole
MX_FROM_ENV=$from_env run_job "$config" build --project-dir "$T/proj" -e CLI_ONLY=from-cli \
    -e JOB_OVER=from-cli -e "SECRET_VALUE=$secret" -e MX_FROM_ENV --env-file "$T/env"
expect_rc 0
expect_out "from-env=******** from-file=********"
expect_out "lengths=${#from_env},${#from_file}"
for s in "$from_env" "$from_file"; do
    if grep -qF -- "$s" "$T/out" "$T/err"; then fail "a value from -e KEY or --env-file was printed"; fi
done
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
