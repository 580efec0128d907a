#!/bin/bash
# warm_spare_test.sh: warm spares (provisioner/machine/spare.h).  `mexec image prepare` leaves a
# spare; a job claims it (no restore of its own) and leaves the next one when it ends; two jobs
# started from spares each get their own SSH host key, client key, randomness, hostname, fresh
# disk and the host's clock; a SIGKILLed holder's watchdog destroys its VM and gc removes the
# files; `mexec gc` ends the spares host.yaml no longer wants.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
require_image debian-12:current
sed -i 's/^warm_spares: 0$/warm_spares: 1/' "$MEXEC_HOST_CONFIG"
JOBS=$HERE/jobs/instant.yml

# ready_spares: how many spares `mexec ps` shows (restored, answering claims or about to)
ready_spares() { "$MEXEC" ps | sed -n 's/^warm spares: \([0-9]*\),.*/\1/p'; }
# wait_spare: until a spare is ready for claims (its holder listens)
wait_spare() {
    local i
    for ((i = 0; i < 600; i++)); do
        compgen -G "$T/jobs/*/claim.sock" >/dev/null && return 0
        sleep 0.2
    done
    fail "no warm spare ready within 120 s: $(tail -n 5 "$T/spares.log" 2>/dev/null)"
}

"$MEXEC" image prepare debian-12:current test.small >"$T/out" 2>"$T/err" || fail "image prepare failed"
expect_out "1 warm spare ready"
[[ $(ready_spares) == 1 ]] || fail "mexec ps shows no warm spare: $("$MEXEC" ps)"
"$MEXEC" ps | grep -q ' spare ' || fail "mexec ps has no spare row"

for n in 1 2; do
    wait_spare
    run_identity "$n" "a warm spare of debian-12:current" --no-build
    grep -q "restoring" "$T/err" && fail "job $n restored although a spare was ready"
done
expect_own_identities

# The spare job 2 left: its holder SIGKILLed, the VM goes with it (its watchdog), gc the files
wait_spare
sock=$(compgen -G "$T/jobs/*/claim.sock" | head -n 1)
holder=$(head -n 1 "${sock%/claim.sock}/lock")
kill -KILL "$holder"
expect_watchdog_then_gc holder

# No spare ready: the job restores, and leaves one; warm_spares: 0 and gc end it
run_job "$JOBS" identity --no-build
expect_rc 0
expect_err "restoring"
wait_spare
sed -i 's/^warm_spares: 1$/warm_spares: 0/' "$MEXEC_HOST_CONFIG"
"$MEXEC" gc >"$T/out" 2>"$T/err" || fail "gc failed"
expect_out "ended 1 warm spare"
expect_no_leftovers
echo "PASS warm_spare"
