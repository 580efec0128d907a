#!/bin/bash
# What an untrusted job can try, in real VMs: a workspace layer that would write through an
# earlier layer's symbolic link (d -> /home/circleci, then d/.bashrc) is refused on the host and
# the attaching job's ~/.bashrc stays untouched; a layer over host.yaml's layer_max_mib fails its
# job; a -e value that is not UTF-8 reaches the step exactly (it aborted mexec before); escape
# sequences and a \r in the output do not reach our stdout.  Nothing is left behind.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
echo "workspace: { layer_max_mib: 1 }" >>"$MEXEC_HOST_CONFIG"

rc=0
"$MEXEC" run -c "$HERE/jobs/limits.yml" --workflow ci -e $'RAW=caf\xe9' \
    >"$T/out" 2>"$T/err" </dev/null || rc=$?
expect_rc 1
grep -Eq '^link +\|  63 61 66 e9$' "$T/out" || fail "the -e value did not arrive byte for byte"
grep -Eq '^link +\| clipboard$' "$T/out" || fail "the OSC sequences were not dropped"
grep -Eq '^link +\| link \| FAKE success$' "$T/out" || fail "the \\r did not become a new line"
! grep -qF -e $'\e]' -e $'\e[2K' -e $'\r' "$T/out" || fail "stdout holds an OSC, an erase or a \\r"
expect_out '"d/.bashrc" in workspace layer 000.tar of job "write" would be written through the symbolic link "d" that layer 000.tar of job "link" made'
grep -Eq '^deploy +\| bashrc untouched$' "$T/out" || fail "deploy's ~/.bashrc was written through the link"
expect_err "workspace layer not kept: /tmp/"
expect_err "more than the 1048576 this host takes (host.yaml workspace layer_max_mib"
for job in link write; do
    grep -Eq "^$job +success " "$T/out" || fail "summary: $job is not success"
done
grep -Eq '^deploy +failed ' "$T/out" || fail "summary: deploy is not failed"
grep -Eq '^big +failed ' "$T/out" || fail "summary: big is not failed"
expect_no_leftovers
echo "PASS run_limits"
