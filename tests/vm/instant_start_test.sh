#!/bin/bash
# instant_start_test.sh [IMAGE]: instant starts (provisioner/snapshot.h): two consecutive
# starts of the same image + class from its snapshot each get their own SSH host key (pinned:
# the job's SSH login proves it), client key, disk, randomness (kernel uuid and urandom output),
# hostname and the right wall clock.  On debian-12 (the default) also: --cold still boots;
# SIGTERM during a restored job and SIGKILL + `mexec gc` leave nothing.  Another IMAGE (the
# Ubuntu ones: other kernels, systemd and OpenSSH) gets the identity checks only.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
image=${1:-debian-12:current}
require_image "$image"
JOBS=$T/instant.yml
sed "s/debian-12:current/$image/" "$HERE/jobs/instant.yml" >"$JOBS"

# The first start makes the snapshot if this image + class has none, then restores it too.
for n in 1 2; do
    run_identity "$n" restoring --no-build
    expect_no_leftovers
done
expect_own_identities
if [[ $image != debian-12:current ]]; then
    echo "PASS instant_start $image"
    exit 0
fi

# --cold boots from scratch, as before
run_job "$JOBS" identity --cold
expect_rc 0
expect_err "booting"
grep -q "restoring" "$T/err" && fail "--cold restored a snapshot"
[[ $(identity_field disk "$T/out") == fresh ]] || fail "the cold job found a file of an earlier job"
expect_no_leftovers

# SIGTERM while a restored job's step runs
"$MEXEC" run -c "$JOBS" --job sleep >"$T/out" 2>"$T/err" </dev/null &
pid=$!
wait_for "$T/out" sleeping 300
grep -q "restoring" "$T/err" || fail "the sleep job was not restored"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
expect_rc 143
expect_no_leftovers

# SIGKILL: the owner's watchdog destroys the restored domain (no auto-destroy for restores);
# `mexec gc` removes the files
"$MEXEC" run -c "$JOBS" --job sleep >"$T/out" 2>"$T/err" </dev/null &
pid=$!
wait_for "$T/out" sleeping 300
kill -KILL "$pid"
wait "$pid" || true
expect_watchdog_then_gc run
# A snapshot whose maker died half-way (no one holds its lock): gc removes it
snaps=$("$MEXEC" image path debian-12:current)/snapshots
key=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
mkdir -p "$snaps/$key.tmp" && : >"$snaps/$key.tmp/disk.qcow2"
"$MEXEC" gc >"$T/out" 2>"$T/err" || fail "gc failed"
expect_out "removed unfinished instant-start snapshot $snaps/$key.tmp"
[[ -e $snaps/$key.tmp ]] && fail "gc left the unfinished snapshot"
rm -f "$snaps/$key.lock"
echo "PASS instant_start"
