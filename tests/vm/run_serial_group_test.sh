#!/bin/bash
# Jobs of one serial-group run one at a time even when nothing orders them (each would see the
# other at the rendezvous server if they overlapped), in plan order.
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
"$MEXEC" run -c "$HERE/jobs/serial.yml" --workflow ci --branch main -e RENDEZVOUS_PORT="$port" \
    >"$T/out" 2>"$T/err" </dev/null || rc=$?
expect_rc 0
grep -Eq '^staging +\| staging ran alone$' "$T/out" || fail "staging did not run alone"
grep -Eq '^production +\| production ran alone$' "$T/out" || fail "production did not run alone"
# plan order: staging ends before production starts
[[ $(grep -n -m1 -- '-------- staging: success' "$T/out" | cut -d: -f1) -lt \
    $(grep -n -m1 -- '-------- production: started' "$T/out" | cut -d: -f1) ]] ||
    fail "production started before staging ended"
expect_no_leftovers
echo "PASS run_serial_group"
