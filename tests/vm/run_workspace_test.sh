#!/bin/bash
# A workflow's workspace: layers persisted by a job reach the jobs downstream of it, in order
# (a later layer overwrites an earlier one); independent jobs run at the same time (each waits
# at a rendezvous for the other); and when two such jobs persisted the same file, attaching
# both is an error, as on CircleCI.  No VM, layer or workspace directory is left behind.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
python3 "$HERE/rendezvous.py" >"$T/port" &
server=$!
cleanup_server() { kill "$server" 2>/dev/null || true; cleanup_t; }
trap cleanup_server EXIT
wait_for "$T/port" "" 10
port=$(cat "$T/port")
[[ -n $port ]] || fail "rendezvous server did not start"
# the guests reach it at 10.0.2.2 because host.yaml lists it
echo "guest_services: [$port]" >>"$MEXEC_HOST_CONFIG"

rc=0
"$MEXEC" run -c "$HERE/jobs/workspace.yml" --workflow ci -e RENDEZVOUS_PORT="$port" \
    >"$T/out" 2>"$T/err" </dev/null || rc=$?
expect_rc 1
# a line the command printed, not the step's title (which shows the command)
expect_line() { grep -Eq "^$1 +\| $2\$" "$T/out" || fail "stdout lacks $1's line: $2"; }
expect_line test-a test-a-saw-build
expect_line test-b test-b-saw-build
expect_line deploy "deploy-saw version=2 shared=from-a"
expect_no_out "must-not-run"
grep -Eq 'report +\| .*(test-a|test-b).*(test-b|test-a).*shared\.txt|shared\.txt.*(test-a|test-b).*(test-b|test-a)' "$T/out" ||
    fail "report's attach did not name the conflict on shared.txt between test-a and test-b"
for job in build test-a test-b deploy; do
    grep -Eq "^$job +success " "$T/out" || fail "summary: $job is not success"
done
grep -Eq '^report +failed ' "$T/out" || fail "summary: report is not failed"
expect_no_leftovers
echo "PASS run_workspace"
