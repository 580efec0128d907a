#!/bin/bash
# --keep-on-failure: a failed job's VM stays up; `mexec ssh` reaches it (with the host key
# pinned) and finds what the job left there, its background service still running; Ctrl-C then
# ends the run with the job's own status (1) and leaves nothing behind.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

"$MEXEC" run -c "$HERE/jobs/keep.yml" --job build --keep-on-failure >"$T/out" 2>"$T/err" </dev/null &
pid=$!
wait_for "$T/err" "    mexec ssh " 400
id=$(sed -n 's/.*    mexec ssh \([0-9a-f]*\)$/\1/p' "$T/err")
[[ -n $id ]] || fail "no job id in the keep message"
"$MEXEC" ps >"$T/ps" 2>&1 || fail "ps failed: $(cat "$T/ps")"
grep -q "^$id " "$T/ps" || fail "ps does not list the kept VM: $(cat "$T/ps")"

got=$("$MEXEC" ssh "$id" -- cat /tmp/evidence </dev/null 2>"$T/ssh-err") || fail "mexec ssh failed: $(cat "$T/ssh-err")"
[[ $got == "left for debugging" ]] || fail "mexec ssh by id: got \"$got\""
# by job name, and the background step's service still answers inside the guest
got=$("$MEXEC" ssh build -- curl -fsS -o /dev/null -w '%{http_code}' http://127.0.0.1:8123/ </dev/null 2>"$T/ssh-err") ||
    fail "mexec ssh by name failed: $(cat "$T/ssh-err")"
[[ $got == 200 ]] || fail "the background service did not answer: $got"
kill -0 "$pid" || fail "mexec did not wait with the VM kept"

kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
expect_rc 1
expect_no_leftovers
rc=0
"$MEXEC" ssh "$id" -- true >"$T/out" 2>"$T/err" </dev/null || rc=$?
expect_rc 2
expect_err "no running mexec VM has the id or job name"
echo "PASS run_keep"
