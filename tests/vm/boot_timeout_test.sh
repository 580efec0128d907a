#!/bin/bash
# A guest that does not come up in time is an infrastructure failure (3), cleaned up.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
echo "boot_timeout: 5" >>"$MEXEC_HOST_CONFIG"
# --cold: a restore may well be up within 5 s
run_job "$HERE/jobs/fail.yml" build --cold
expect_rc 3
expect_err "did not accept SSH before the boot timeout"
expect_no_leftovers
echo "PASS boot_timeout"
