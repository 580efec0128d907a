#!/bin/bash
# After SIGKILL nothing runs on (libvirt auto-destroys the domain) and `mexec gc` removes the
# files and ends the guest network's processes; gc also destroys a running mexec domain whose
# owner is gone.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

"$MEXEC" run -c "$HERE/jobs/sleep.yml" --job build >"$T/out" 2>"$T/err" </dev/null &
pid=$!
wait_for "$T/out" step-started 300
# gc leaves a running job alone: its domain and its files
virsh -q -c qemu:///system list --name | grep -q '^mexec-' || fail "the job's domain is not running"
"$MEXEC" gc >"$T/gc-live" 2>&1 || fail "gc failed: $(cat "$T/gc-live")"
grep -q "removed" "$T/gc-live" && fail "gc removed parts of a running job: $(cat "$T/gc-live")"
virsh -q -c qemu:///system list --name | grep -q '^mexec-' || fail "gc destroyed a running job's VM"
kill -0 "$pid" || fail "the job died when gc ran"
kill -KILL "$pid"
wait "$pid" || true
for ((i = 0; i < 100; i++)); do
    virsh -q -c qemu:///system list --name | grep -q '^mexec-' || break
    sleep 0.2
done
[[ -n $(ls -A "$T/jobs") ]] || fail "expected the killed run's job directory to remain for gc"
"$MEXEC" gc >"$T/out" 2>"$T/err" || fail "gc failed"
expect_out "removed job files"
expect_no_leftovers

# A domain with mexec metadata whose owner is dead (its job directory's lock is free).  Like
# mexec's own domains it relabels nothing: the image's kernel may be in use by other VMs, and
# libvirt refuses to give a file in use another owner.
jobdir=$T/jobs/deadbeef00000000
mkdir -p "$jobdir" && : >"$jobdir/lock"
kernel=$(find "${MEXEC_TEST_IMAGE_STORE:-/var/lib/mexec/images}"/debian-12/ -name vmlinux -print -quit)
cat >"$T/orphan.xml" <<XML
<domain type='qemu'>
  <name>mexec-deadbeef00000000</name>
  <metadata>
    <mexec:job xmlns:mexec='https://mexec.dev/xmlns/job/1'>
      <mexec:id>deadbeef00000000</mexec:id><mexec:name>orphan</mexec:name>
      <mexec:dir>$jobdir</mexec:dir><mexec:owner-pid>1</mexec:owner-pid>
    </mexec:job>
  </metadata>
  <memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>$kernel</kernel><cmdline>panic=-1</cmdline></os>
  <devices><memballoon model='none'/></devices>
  <seclabel type='static' model='dac' relabel='no'><label>+$(id -u libvirt-qemu):+$(id -g libvirt-qemu)</label></seclabel>
</domain>
XML
virsh -q -c qemu:///system create "$T/orphan.xml" >/dev/null || fail "could not create the orphan domain"
"$MEXEC" gc >"$T/out" 2>"$T/err" || fail "gc failed"
expect_out "removed VM mexec-deadbeef00000000"
expect_out "removed job files $jobdir"
expect_no_leftovers
# A guest network left behind by a killed owner: gc ends it.  A shell whose command line names
# the job's ready file stands in for pasta.
netjob=$T/jobs/feedface00000000
mkdir -p "$netjob/net" && : >"$netjob/lock"
setsid sh -c 'sleep 600 & wait' sh "$netjob/net/ready" &
net_pid=$!
echo "$net_pid" >"$netjob/net.pid"
"$MEXEC" gc >"$T/out" 2>"$T/err" || fail "gc failed"
expect_out "removed job files $netjob"
rc=0
wait "$net_pid" || rc=$?
[[ $rc -eq 137 ]] || fail "the orphaned guest network was not ended by SIGKILL (status $rc)"
expect_no_leftovers
# A job saved to outlive its owner (GitLab stages: vm.json) is not an orphan between stages,
# unless it is older than any job runs.
young=$T/jobs/gitlab-young && old=$T/jobs/gitlab-old
mkdir -p "$young" "$old"
for d in "$young" "$old"; do : >"$d/lock" && echo '{}' >"$d/vm.json"; done
touch -d '2 days ago' "$old/vm.json"
"$MEXEC" gc >"$T/out" 2>"$T/err" || fail "gc failed"
expect_out "removed job files $old"
expect_no_out "$young"
[[ -d $young ]] || fail "gc removed a saved job between its stages"
rm -rf "$young"
expect_no_leftovers
# A workflow run's workspace: kept while its run holds the lock, removed once the run is gone.
dead=$T/workspaces/ws-dead && live=$T/workspaces/ws-live
mkdir -p "$dead/000-build" "$live"
: >"$dead/lock" && : >"$dead/000-build/000.tar" && : >"$live/lock"
exec {holder}>"$live/lock"
flock -n "$holder" || fail "could not lock $live/lock"
"$MEXEC" gc >"$T/out" 2>"$T/err" || fail "gc failed"
expect_out "removed workspace $dead"
expect_no_out "$live"
[[ -d $live ]] || fail "gc removed the workspace of a running workflow"
exec {holder}>&-
"$MEXEC" gc >"$T/out" 2>"$T/err" || fail "gc failed"
expect_out "removed workspace $live"
expect_no_leftovers
echo "PASS gc"
