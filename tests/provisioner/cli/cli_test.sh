#!/bin/bash
# Bad input to `mexec run` fails before any VM exists, with a clear message and the documented
# exit status: 2 for usage/config errors, 3 for infrastructure (docs/exit-codes.md).  Also
# `mexec ps`, `mexec ssh` and `mexec doctor`, against libvirt's in-process test driver.
set -euo pipefail
MEXEC=${MEXEC:?MEXEC must name the mexec binary}
T=$(mktemp -d /tmp/mexec-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
export MEXEC_HOST_CONFIG=$T/host.yaml
# an empty image store: nothing is built, so no test here can boot a VM
printf 'image_store: %s/store\nstate_dir: %s/jobs\n' "$T" "$T" >"$MEXEC_HOST_CONFIG"
failures=0 passed=0

# check NAME EXPECTED-STATUS EXPECTED-TEXT CONFIG-BODY [MEXEC-ARGS...]
check() {
    local name=$1 want=$2 text=$3 body=$4 rc=0
    shift 4
    printf '%s' "$body" >"$T/config.yml"
    "$MEXEC" run -c "$T/config.yml" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    if [[ $rc -ne $want ]] || ! grep -qF -- "$text" "$T/err"; then
        echo "FAIL $name: status $rc (want $want), stderr:" >&2
        sed 's/^/  /' "$T/err" >&2
        failures=$((failures + 1))
    else
        passed=$((passed + 1))
    fi
    [[ -z $(ls -A "$T/jobs" 2>/dev/null) ]] || { echo "FAIL $name: left job files" >&2; failures=$((failures + 1)); }
}

job() { # job RESOURCE_CLASS [IMAGE]
    printf 'version: 2.1\njobs:\n  build:\n    machine:\n      image: %s\n    resource_class: %s\n    steps:\n      - run: echo hi\n' "${2:-debian-12:current}" "$1"
}

check malformed-yaml 2 "config.yml:4:4: did not find expected ','" $'version: 2.1\njobs:\n  a: [b\n  c: d\n' --job a
check unknown-job 2 'no job named "nope" (jobs: build)' "$(job medium)" --job nope
check unknown-image 2 'machine image "ubuntu-9999:current" is not in the catalog' "$(job medium ubuntu-9999:current)" --job build
check unknown-image-lists 2 'available: debian-12:current' "$(job medium ubuntu-9999:current)" --job build
check unknown-class 2 'unknown resource class "huge" (known: medium, large' "$(job huge)" --job build
check arm-class 2 'needs an arm64 host; this host is x86_64' "$(job arm.medium)" --job build
check too-large 2 'pass --fit-to-host' "$(job 2xlarge+)" --job build
# --no-build: an unbuilt image is an error, not a build (tests/provisioner/image/image_build_test.sh
# runs the builds, with a recipe of its own)
check fit-to-host 3 'resource class 2xlarge+ fitted to this host' "$(job 2xlarge+)" --job build --fit-to-host --no-build
check not-built 3 'run: mexec image build debian-12:current' "$(job medium)" --job build --no-build
check not-built-says-why 3 'not building it (--no-build)' "$(job medium)" --job build --no-build
# docker jobs run in a VM of the host's image, sized by CircleCI's docker classes
check docker-arm-class 2 'resource class "arm.medium" needs an arm64 host' $'version: 2.1\njobs:\n  build:\n    docker: [{image: cimg/base:stable}]\n    resource_class: arm.medium\n    steps: [{run: make}]\n' --job build
check docker-vm-image 3 'run: mexec image build debian-12:current' $'version: 2.1\njobs:\n  build:\n    docker: [{image: cimg/base:stable}]\n    resource_class: small\n    steps: [{run: make}]\n' --job build --no-build
check docker-unknown-class 2 'unknown resource class "medium++"' $'version: 2.1\njobs:\n  build:\n    docker: [{image: cimg/base:stable}]\n    resource_class: medium++\n    steps: [{run: make}]\n' --job build
check macos-executor 2 'uses the macos executor: macOS jobs need Apple hardware' $'version: 2.1\njobs:\n  build:\n    macos: {xcode: 15.4.0}\n    steps: [checkout]\n' --job build
check windows-image 2 'config.yml:4:14: job "build" runs on Windows' $'version: 2.1\njobs:\n  build:\n    machine: {image: windows-server-2022-gui:current}\n    steps: [checkout]\n' --job build
check noop-job 2 'job "gate" is a no-op job' $'version: 2.1\njobs:\n  gate: {type: no-op}\n' --job gate
check unknown-step 2 'unknown step "frobnicate"' $'version: 2.1\njobs:\n  build:\n    machine: true\n    steps: [frobnicate]\n' --job build
check no-job-flag 2 'run needs --job NAME' "$(job medium)"
check bad-env-flag 2 '-e takes KEY=VALUE' "$(job medium)" --job build -e =x
check bad-env-name 2 '-e takes KEY=VALUE or KEY' "$(job medium)" --job build -e 'NO SUCH'

# -e KEY takes the value from mexec's environment, so a secret need not be on argv
unset MX_CLI_TEST_UNSET
check env-from-environment-unset 2 "-e MX_CLI_TEST_UNSET: MX_CLI_TEST_UNSET is not set in mexec's environment" \
    "$(job medium)" --job build -e MX_CLI_TEST_UNSET
MX_CLI_TEST_SET=v check env-from-environment 3 'run: mexec image build debian-12:current' "$(job medium)" \
    --job build --no-build -e MX_CLI_TEST_SET
# --env-file: only a file nobody else may read; a bad line is named by number, never quoted
printf '# comment\n\nA=1\n  B=two words\nC=x=y\r\n' >"$T/env"
chmod 644 "$T/env"
check env-file-mode 2 "--env-file $T/env may be read or written by others (mode 0644)" "$(job medium)" \
    --job build --env-file "$T/env"
chmod 600 "$T/env"
check env-file 3 'run: mexec image build debian-12:current' "$(job medium)" --job build --env-file "$T/env" --no-build
printf 'A=1\nsecret-looking line\n' >"$T/env"
check env-file-bad-line 2 "--env-file $T/env:2: not KEY=VALUE or KEY" "$(job medium)" --job build --env-file "$T/env"
if grep -qF 'secret-looking' "$T/err"; then echo "FAIL env-file-bad-line quotes the line" >&2; failures=$((failures + 1)); fi
check env-file-missing 2 "--env-file $T/nope" "$(job medium)" --job build --env-file "$T/nope"

# checkout outside a git work tree ($T is not in one) packs nothing unless the user names the
# directory: -c ~/ci.yml must not pack $HOME
checkout_job=$'version: 2.1\njobs:\n  build:\n    machine: true\n    steps: [checkout]\n'
check checkout-outside-git 2 "checkout: $T is not in a git work tree" "$checkout_job" --job build
check checkout-outside-git-hint 2 "pass --project-dir $T to pack all of it" "$checkout_job" --job build
check checkout-project-dir 3 'run: mexec image build debian-12:current' "$checkout_job" --job build --project-dir "$T" --no-build
check project-dir-missing 2 "--project-dir $T/nope is not a directory" "$checkout_job" --job build --project-dir "$T/nope"
check no-checkout-outside-git 3 'run: mexec image build debian-12:current' "$(job medium)" --job build --no-build

# bytes that are not UTF-8: -e values reach the job exactly (so this gets as far as the image),
# names, --param values and --branch/--tag are refused before anything starts
check env-value-bytes 3 'run: mexec image build debian-12:current' "$(job medium)" --job build --no-build -e $'V=caf\xe9'
check env-name-bytes 2 $'-e name "K\xef\xbf\xbd" is not valid UTF-8' "$(job medium)" --job build -e $'K\xff=v'
check param-bytes 2 $'--param value "\xef\xbf\xbd" is not valid UTF-8' "$(job medium)" --job build --param $'p=\xff'
check branch-bytes 2 $'--branch "r\xef\xbf\xbd" is not valid UTF-8' "$(job medium)" --job build --branch $'r\xe9'
# the same for the branch git says is checked out, unless --branch names one
if git init -q -b $'f\xe9ature' "$T/repo" 2>/dev/null &&
    git -C "$T/repo" -c user.name=t -c user.email=t@t commit -q --allow-empty -m t; then
    mkdir -p "$T/repo/.circleci" && job medium >"$T/repo/.circleci/config.yml"
    rc=0
    (cd "$T/repo" && "$MEXEC" run --job build --no-build >"$T/out" 2>"$T/err") || rc=$?
    if [[ $rc -eq 2 ]] && grep -qF 'the checked-out git branch (give --branch NAME) "f' "$T/err"; then
        passed=$((passed + 1))
    else
        echo "FAIL git-branch-bytes: status $rc" >&2; sed 's/^/  /' "$T/err" >&2; failures=$((failures + 1))
    fi
    rc=0
    (cd "$T/repo" && "$MEXEC" run --job build --branch main --no-build >"$T/out" 2>"$T/err") || rc=$?
    if [[ $rc -eq 3 ]] && grep -qF 'run: mexec image build debian-12:current' "$T/err"; then passed=$((passed + 1)); else
        echo "FAIL git-branch-bytes-overridden: status $rc" >&2; failures=$((failures + 1)); fi
fi
# error messages quote the config: escape sequences in it do not reach the terminal
check error-escapes 2 'no job named "nope' "$(job medium)" --job $'nope\e]52;c;aGk=\a\e[2J'
if grep -qF $'\e' "$T/err"; then echo "FAIL error-escapes: ESC in stderr" >&2; failures=$((failures + 1)); fi

rc=0
"$MEXEC" run -c "$T/does-not-exist.yml" --job build >"$T/out" 2>"$T/err" || rc=$?
if [[ $rc -eq 2 ]] && grep -qF "cannot read $T/does-not-exist.yml" "$T/err"; then passed=$((passed + 1)); else
    echo "FAIL unreadable-config: status $rc" >&2; failures=$((failures + 1)); fi
rc=0
"$MEXEC" frobnicate >"$T/out" 2>"$T/err" || rc=$?
if [[ $rc -eq 2 ]]; then passed=$((passed + 1)); else echo "FAIL unknown-command: $rc" >&2; failures=$((failures + 1)); fi

rc=0
"$MEXEC" ps extra-arg >"$T/out" 2>"$T/err" || rc=$?
if [[ $rc -eq 2 ]] && grep -qF "usage: mexec ps" "$T/err"; then passed=$((passed + 1)); else
    echo "FAIL ps-usage: status $rc" >&2; failures=$((failures + 1)); fi
# libvirt's test driver runs inside the mexec process (no libvirtd): ps end to end, on a node
# with one running mexec domain and one that is not mexec's
cat >"$T/node.xml" <<'XML'
<node>
  <domain type='test'>
    <name>mexec-0123456789abcdef</name>
    <metadata>
      <mexec:job xmlns:mexec='https://mexec.dev/xmlns/job/1'>
        <mexec:id>0123456789abcdef</mexec:id><mexec:name>build &amp; test</mexec:name>
        <mexec:dir>JOBDIR</mexec:dir><mexec:owner-pid>4242</mexec:owner-pid>
        <mexec:ssh-port>40222</mexec:ssh-port><mexec:start>snapshot</mexec:start>
      </mexec:job>
    </metadata>
    <memory unit='MiB'>1536</memory><vcpu>2</vcpu><os><type>hvm</type></os>
  </domain>
  <domain type='test'>
    <name>mexec-fedcba9876543210</name>
    <metadata>
      <mexec:job xmlns:mexec='https://mexec.dev/xmlns/job/1'>
        <mexec:id>fedcba9876543210</mexec:id><mexec:name>(warm spare)</mexec:name>
        <mexec:dir>JOBDIR</mexec:dir><mexec:owner-pid>4343</mexec:owner-pid>
        <mexec:ssh-port>40223</mexec:ssh-port><mexec:start>spare</mexec:start>
      </mexec:job>
    </metadata>
    <memory unit='MiB'>1024</memory><vcpu>1</vcpu><os><type>hvm</type></os>
  </domain>
  <domain type='test'>
    <name>not-ours</name>
    <memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type>hvm</type></os>
  </domain>
</node>
XML
mkdir -p "$T/jobdir" && sed -i "s|JOBDIR|$T/jobdir|" "$T/node.xml"
printf 'libvirt_uri: test://%s/node.xml\nstate_dir: %s/jobs\nimage_store: %s/store\ncapacity: {vcpus: 3, memory_mib: 5000}\n' "$T" "$T" "$T" >"$T/ps.yaml"
rc=0
MEXEC_HOST_CONFIG=$T/ps.yaml "$MEXEC" ps >"$T/out" 2>"$T/err" || rc=$?
if [[ $rc -eq 0 ]] && [[ $(wc -l <"$T/out") -eq 6 ]] &&
    grep -qE '^0123456789abcdef +2 +1536 +4242 +127\.0\.0\.1:40222 +snapshot +build & test$' "$T/out" &&
    grep -qE '^fedcba9876543210 +1 +1024 +4343 +127\.0\.0\.1:40223 +spare +\(warm spare\)$' "$T/out" &&
    grep -qxF "capacity: 3/3 vCPUs, 2560/5000 MiB in use" "$T/out" &&
    grep -qxF "warm spares: 1, holding 1 vCPUs/1024 MiB (paused: no CPU; host.yaml warm_spares)" "$T/out" &&
    grep -qxF "instant-start snapshots: 0, 0 MiB on disk (per image: mexec image list)" "$T/out"; then passed=$((passed + 1)); else
    echo "FAIL ps-test-driver: status $rc" >&2; sed 's/^/  /' "$T/out" "$T/err" >&2; failures=$((failures + 1)); fi


# mexec ssh: finds the VM by id prefix or job name, pins its generated host key in a
# known_hosts of its own and runs OpenSSH with the job's key (a stand-in ssh prints its argv)
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyBlobForTheTest host@guest" >"$T/jobdir/host_key.pub"
mkdir -p "$T/bin" && printf '#!/bin/sh\nprintf "%%s\\n" "$@"\n' >"$T/bin/ssh" && chmod +x "$T/bin/ssh"
# ssh_check NAME WANT-STATUS TEXT ARGS...: TEXT in stdout (status 0) or stderr
ssh_check() {
    local name=$1 want=$2 text=$3 rc=0
    shift 3
    MEXEC_HOST_CONFIG=$T/ps.yaml PATH=$T/bin:$PATH "$MEXEC" ssh "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    if [[ $rc -eq $want ]] && grep -qF -- "$text" "$T/out" "$T/err"; then passed=$((passed + 1)); else
        echo "FAIL ssh-$name: status $rc (want $want)" >&2; sed 's/^/  /' "$T/out" "$T/err" >&2; failures=$((failures + 1)); fi
}
ssh_check by-id 0 "circleci@127.0.0.1" 0123
ssh_check by-name 0 "40222" "build & test"
ssh_check command 0 "$(printf -- '--\ncircleci@127.0.0.1\nls\n-la')" 0123 -- ls -la
ssh_check key 0 "$T/jobdir/client_key" 0123
ssh_check pinned 0 "StrictHostKeyChecking=yes" 0123
# the exact argv: nothing of the user's ssh config, agent, X11 or forwardings reaches the VM
rc=0
MEXEC_HOST_CONFIG=$T/ps.yaml PATH=$T/bin:$PATH "$MEXEC" ssh 0123 -- id >"$T/out" 2>"$T/err" </dev/null || rc=$?
cat >"$T/want" <<ARGV
-F
/dev/null
-i
$T/jobdir/client_key
-p
40222
-o
IdentitiesOnly=yes
-o
IdentityAgent=none
-o
UserKnownHostsFile=$T/jobdir/known_hosts
-o
GlobalKnownHostsFile=/dev/null
-o
StrictHostKeyChecking=yes
-o
UpdateHostKeys=no
-o
ForwardAgent=no
-o
ForwardX11=no
-o
ForwardX11Trusted=no
-o
ClearAllForwardings=yes
-o
PermitLocalCommand=no
-o
ProxyCommand=none
-o
ControlPath=none
-o
LogLevel=ERROR
--
circleci@127.0.0.1
id
ARGV
if [[ $rc -eq 0 ]] && diff -u "$T/want" "$T/out" >&2; then passed=$((passed + 1)); else
    echo "FAIL ssh-argv: status $rc" >&2; failures=$((failures + 1)); fi
ssh_check no-such 2 'no running mexec VM has the id or job name "nope"' nope
ssh_check usage 2 "usage: mexec ssh JOB" 0123 ls
if grep -qxF "[127.0.0.1]:40222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyBlobForTheTest" "$T/jobdir/known_hosts" &&
    [[ $(stat -c %a "$T/jobdir/known_hosts") == 600 ]]; then passed=$((passed + 1)); else
    echo "FAIL ssh-known-hosts: $(cat "$T/jobdir/known_hosts")" >&2; failures=$((failures + 1)); fi

# mexec doctor: each finding on its own line; what stops jobs makes the exit status 3
printf 'libvirt_uri: test:///default\nstate_dir: %s/jobs\nimage_store: %s/empty-store\n' "$T" "$T" >"$T/doctor.yaml"
rc=0
MEXEC_HOST_CONFIG=$T/doctor.yaml "$MEXEC" doctor >"$T/out" 2>"$T/err" || rc=$?
if [[ $rc -eq 3 ]] && grep -qE '^ok +libvirt at test:///default: libvirt [0-9]+\.' "$T/out" &&
    grep -qE "^FAIL +libvirt at test:///default cannot run domain type (qemu|kvm)" "$T/out" &&
    grep -qE '^warn +image debian-12:current: not built \(mexec image build debian-12:current\)' "$T/out" &&
    grep -qE '^FAIL +no machine image is built' "$T/out" &&
    grep -qE '^ok +capacity: 0/[0-9]+ vCPUs' "$T/out" &&
    grep -qE '^ok +guest network: /.*/pasta$' "$T/out" &&
    grep -qE '^ok +QEMU wrapper: /.*/mexec-qemu$' "$T/out" &&
    grep -qE '^jobs cannot run: 2 problems' "$T/out"; then passed=$((passed + 1)); else
    echo "FAIL doctor: status $rc" >&2; sed 's/^/  /' "$T/out" "$T/err" >&2; failures=$((failures + 1)); fi
# the QEMU wrapper the guest network needs is missing: one more problem
rc=0
MEXEC_QEMU_WRAPPER=$T/no-such-wrapper MEXEC_HOST_CONFIG=$T/doctor.yaml "$MEXEC" doctor >"$T/out" 2>"$T/err" || rc=$?
if [[ $rc -eq 3 ]] && grep -qE '^FAIL +MEXEC_QEMU_WRAPPER=.*no-such-wrapper is not an executable' "$T/out" &&
    grep -qE '^jobs cannot run: 3 problems' "$T/out"; then passed=$((passed + 1)); else
    echo "FAIL doctor-no-wrapper: status $rc" >&2; sed 's/^/  /' "$T/out" "$T/err" >&2; failures=$((failures + 1)); fi
printf 'libvirt_uri: qemu+unix:///system?socket=%s/no-such-socket\nstate_dir: %s/jobs\n' "$T" "$T" >"$T/doctor.yaml"
rc=0
MEXEC_HOST_CONFIG=$T/doctor.yaml "$MEXEC" doctor >"$T/out" 2>"$T/err" || rc=$?
if [[ $rc -eq 3 ]] && grep -qE '^FAIL +connect to libvirt at qemu\+unix.*is libvirtd running' "$T/out"; then
    passed=$((passed + 1)); else
    echo "FAIL doctor-no-libvirt: status $rc" >&2; sed 's/^/  /' "$T/out" "$T/err" >&2; failures=$((failures + 1)); fi

echo "$passed passed, $failures failed"
((failures == 0))
