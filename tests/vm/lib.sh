# shellcheck shell=bash
# Shared by the VM tests (sourced).  Each test gets its own state directory so that "nothing
# left behind" is checked on exactly what that test's run created, and fails loudly.
# Runs inside tests/vm/netns-run.sh (network namespace with only lo, private libvirtd).
set -euo pipefail

MEXEC=${MEXEC:?MEXEC must name the mexec binary}
T=$(mktemp -d /tmp/mexec-vmtest.XXXXXX)
# QEMU runs as libvirt-qemu and opens the job's disk below $T/jobs by path
chmod 0711 "$T"
# used by the tests that source this file
# shellcheck disable=SC2034
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MEXEC_HOST_CONFIG=$T/host.yaml
# orbs: no registry (the built-in docker orb) and no cache from outside the test
export XDG_CACHE_HOME=$T/cache
cat >"$MEXEC_HOST_CONFIG" <<YAML
orb_api: none
state_dir: $T/jobs
image_store: ${MEXEC_TEST_IMAGE_STORE:-/var/lib/mexec/images}
resource_classes:
  # small enough for two-core CI machines; the size test uses CircleCI's own medium
  test.small: { vcpus: 1, memory_mib: 1536 }
YAML

# no warm spares (provisioner/machine/spare.h) outliving a test's jobs: warm_spare_test.sh
# turns them on
echo "warm_spares: 0" >>"$MEXEC_HOST_CONFIG"

# MEXEC_TEST_COLD=1: every job boots (instant starts off), e.g. to time the suite both ways
if [[ ${MEXEC_TEST_COLD:-} == 1 ]]; then echo "instant_starts: false" >>"$MEXEC_HOST_CONFIG"; fi

cleanup_t() { rm -rf "$T"; }
trap cleanup_t EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/out "$T"/err; do
        [[ -f $f ]] && { echo "--- ${f##*/}:" >&2; tail -n 40 "$f" >&2; }
    done
    exit 1
}

# run_job CONFIG JOB [ARGS...]: runs mexec, output in $T/out and $T/err, status in $rc.
run_job() {
    local config=$1 job=$2
    shift 2
    rc=0
    "$MEXEC" run -c "$config" --job "$job" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
}

expect_rc() { [[ $rc -eq $1 ]] || fail "exit status $rc, expected $1"; }
expect_out() { grep -qF -- "$1" "$T/out" || fail "stdout lacks: $1"; }
expect_no_out() { ! grep -qF -- "$1" "$T/out" || fail "stdout has: $1"; }
expect_err() { grep -qF -- "$1" "$T/err" || fail "stderr lacks: $1"; }

# No mexec domain left in libvirt, no job files or workspace left in this test's state, and no
# process of a job's guest network (pasta names the job's directory) still running.
expect_no_leftovers() {
    local doms i
    doms=$(virsh -q -c qemu:///system list --all --name | grep '^mexec-' || true)
    [[ -z $doms ]] || fail "domains left behind: $doms"
    # mexec ends them after the domain; give a killed run's a moment
    for ((i = 0; i < 50; i++)); do
        pgrep -f -- "$T/jobs/" >/dev/null || break
        sleep 0.1
    done
    if pgrep -f -- "$T/jobs/" >/dev/null; then
        fail "processes left behind: $(pgrep -af -- "$T/jobs/")"
    fi
    if [[ -d $T/jobs ]] && [[ -n $(ls -A "$T/jobs") ]]; then
        fail "job files left behind: $(ls -A "$T/jobs")"
    fi
    if [[ -d $T/workspaces ]] && [[ -n $(ls -A "$T/workspaces") ]]; then
        fail "workspace left behind: $(ls -A "$T/workspaces")"
    fi
}

# Instant starts (jobs/instant.yml's identity job): identity_field NAME FILE is the value of
# its "NAME=..." line.
identity_field() { sed -n "s/^$1=//p" "$2" | head -n 1; }

# run_identity N HOW [ARGS]: runs the identity job (in $JOBS) as start N, expecting HOW on
# stderr ("restoring", "a warm spare of"); keeps its output in $T/outN, and checks that the
# guest's clock is the host's (a snapshot's lags behind) and that its disk is fresh.
run_identity() {
    local n=$1 how=$2 before after clock
    shift 2
    before=$(date +%s)
    run_job "$JOBS" identity "$@"
    after=$(date +%s)
    expect_rc 0
    expect_err "$how"
    expect_out "first-step-output"
    cp "$T/out" "$T/out$n"
    clock=$(identity_field clock "$T/out$n")
    ((clock >= before - 2 && clock <= after + 2)) ||
        fail "job $n: guest clock $clock outside the host's [$before, $after] (+-2 s)"
    [[ $(identity_field disk "$T/out$n") == fresh ]] || fail "job $n found a file of an earlier job"
}

# expect_own_identities: starts 1 and 2 share no host key, client key, uuid, randomness or
# hostname.
expect_own_identities() {
    local f a b
    for f in hostkey clientkey uuid urandom hostname; do
        a=$(identity_field "$f" "$T/out1") b=$(identity_field "$f" "$T/out2")
        [[ -n $a && -n $b ]] || fail "no $f in the output"
        [[ $a != "$b" ]] || fail "two instant starts share their $f ($a)"
    done
}

# expect_watchdog_then_gc WHO: after a SIGKILL of a restored VM's owner (WHO, for the
# message), its watchdog destroys the VM within 30 s; then `mexec gc` removes the files and
# nothing is left.
expect_watchdog_then_gc() {
    local i
    for ((i = 0; i < 150; i++)); do
        virsh -q -c qemu:///system list --name | grep -q '^mexec-' || break
        sleep 0.2
    done
    virsh -q -c qemu:///system list --name | grep -q '^mexec-' && fail "the killed $1's VM runs on"
    "$MEXEC" gc >"$T/out" 2>"$T/err" || fail "gc failed"
    expect_out "removed job files"
    expect_no_leftovers
}

# wait_for FILE TEXT SECONDS: waits until FILE contains TEXT.
wait_for() {
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "\"$2\" did not appear in ${1##*/} within $3 s"
}

# A project directory with CONFIG as its .circleci/config.yml.
make_project() {
    mkdir -p "$T/proj/.circleci"
    cp "$1" "$T/proj/.circleci/config.yml"
    echo "project file" >"$T/proj/hello.txt"
    echo "$T/proj/.circleci/config.yml"
}

# require_image REF: fails the test unless REF is built in the store the tests use.  VM tests
# run in a namespace without the network, where no image can be built: scripts/test.sh builds
# the images before (outside it), and mexec runs with --no-build here.
require_image() {
    local err
    if ! err=$("$MEXEC" image path "$1" 2>&1 >/dev/null); then
        fail "machine image $1 is not built ($err); build it outside the network namespace first: $MEXEC image build $1 (scripts/test.sh does)"
    fi
}

# use_test_registries: host.yaml for the registries tests/registry/with-registries.sh started
# (the TLS one with its CA, the token one, its token server as a guest service); sets $tls and
# $token to their ports.  registries: is the file's last key, so a caller may append entries.
use_test_registries() {
    tls=${MX_REG_TLS##*:} token=${MX_REG_TOKEN##*:}
    cat >>"$MEXEC_HOST_CONFIG" <<YAML
# per-run registry settings would key a new instant-start snapshot every run: boot
instant_starts: false
# the registries are reachable from the guest because they are listed here; the token
# server (the token registry's realm) is a service of its own
guest_services: [${MX_REG_AUTH##*:}]
registries:
  10.0.2.2:$tls: { ca: $MX_REG_TLS_CA }
  10.0.2.2:$token: { insecure: true }
YAML
}

# use_tls_registry CONTEXT USER_VAR PASS_VAR: for tests run through with-registries.sh: the
# htpasswd-over-HTTPS registry as the guest reaches it in $reg, its CA given to the guest's
# dockerd (host.yaml registries:), and a context CONTEXT holding its user and password under
# the names USER_VAR and PASS_VAR.
use_tls_registry() {
    reg=10.0.2.2:${MX_REG_TLS##*:}
    printf 'registries:\n  %s: { ca: %s }\n' "$reg" "$MX_REG_TLS_CA" >>"$MEXEC_HOST_CONFIG"
    # a fresh CA every run would key a new instant-start snapshot every run (the guest's docker
    # settings are in it): booting is cheaper
    echo "instant_starts: false" >>"$MEXEC_HOST_CONFIG"
    export MEXEC_CONTEXTS_DIR=$T/contexts
    mkdir -p "$MEXEC_CONTEXTS_DIR"
    printf '%s: alice\n%s: secret\n' "$2" "$3" >"$MEXEC_CONTEXTS_DIR/$1.yaml"
}
