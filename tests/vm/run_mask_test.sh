#!/bin/bash
# Context values reach the step and never appear in anything mexec prints, even when a value
# is written in pieces; an unknown context fails before any VM is made.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
secret="tok-$RANDOM$RANDOM-secret"
export MEXEC_CONTEXTS_DIR=$T/contexts
mkdir -p "$MEXEC_CONTEXTS_DIR"
printf 'DEPLOY_TOKEN: %s\nSHORT_VALUE: abc\n' "$secret" >"$MEXEC_CONTEXTS_DIR/deploy.yaml"
printf 'AWS_REGION: eu-west-1\n' >"$MEXEC_CONTEXTS_DIR/aws.yaml"

run_job "$HERE/jobs/mask.yml" build --context nope
expect_rc 2
expect_err "unknown context \"nope\": no nope.yaml in $MEXEC_CONTEXTS_DIR"

run_job "$HERE/jobs/mask.yml" build --context deploy --context aws
expect_rc 0
expect_out "split: ********"
expect_out "whole: ********"
expect_err "on stderr: ********"
expect_out "short values stay: abc"
expect_out "region: ********"
if grep -qF -- "$secret" "$T/out" "$T/err"; then fail "the context value was printed"; fi
if grep -qF -- "${secret:5}" "$T/out" "$T/err"; then fail "part of the context value was printed"; fi
expect_no_leftovers
echo "PASS run_mask"
