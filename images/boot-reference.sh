#!/usr/bin/env bash
# images/boot-reference.sh [options] IMAGEDIR [-- REMOTE-COMMAND...]
#
# Reference boot for benchmarks: boots an image built by images/*/recipe.sh
# (IMAGEDIR holds vmlinux, initrd.img, cmdline, base.qcow2) with plain
# qemu-system-x86_64 -- no libvirt, no mexec -- and measures the seconds from
# starting qemu to the first successful SSH command.  Prints that number on
# stdout (with --docker, a second line: seconds until `docker info` works).
#
# It does what mexec does per job, by hand: a qcow2 overlay on base.qcow2, a
# fresh SSH host key and client key, a NoCloud seed ISO (label cidata) with
# mexec/ssh_host_ed25519_key(.pub) and mexec/authorized_keys, and SSH with the
# host key pinned (StrictHostKeyChecking=yes).
#
# Network rule: qemu and ssh run inside a network namespace created here with
# only `lo` up; the guest's user-mode network cannot leave the machine.
# Everything (namespace, qemu, overlay, keys, seed) is removed on every exit.
#
# Options:
#   --docker          also wait until `docker info` works in the guest
#   --console FILE    keep the serial console output in FILE
#   --timeout SEC     give up after SEC seconds (default 300)
#   --smp N / --mem MiB   guest size (default 2 / 2048)
#   -- CMD...         run CMD over SSH once the guest is up (output to stderr)
# Needs root (ip netns), qemu-system-x86_64, qemu-img, genisoimage, ssh, ssh-keygen.
set -euo pipefail
export LC_ALL=C   # EPOCHREALTIME with a '.' radix

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }
die() { printf 'boot-reference: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'boot-reference: %s\n' "$*" >&2; }

WAIT_DOCKER=0
CONSOLE_OUT=""
TIMEOUT=300
SMP=2
MEM=2048
IMAGEDIR=""
REMOTE_CMD=()
while [ $# -gt 0 ]; do
    case "$1" in
    --docker) WAIT_DOCKER=1 ;;
    --console) CONSOLE_OUT=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --smp) SMP=$2; shift ;;
    --mem) MEM=$2; shift ;;
    -h | --help) usage 0 ;;
    --) shift; REMOTE_CMD=("$@"); break ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$IMAGEDIR" ] || die "only one IMAGEDIR"; IMAGEDIR=$1 ;;
    esac
    shift
done
[ -n "$IMAGEDIR" ] || usage
[ "$(id -u)" -eq 0 ] || die "must run as root (ip netns)"
for f in vmlinux initrd.img cmdline base.qcow2; do
    [ -f "$IMAGEDIR/$f" ] || die "$IMAGEDIR/$f missing"
done
for t in qemu-system-x86_64 qemu-img genisoimage ssh ssh-keygen ip timeout; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done
IMAGEDIR=$(readlink -f "$IMAGEDIR")

NS=mximg$$
PORT=2222            # the namespace is ours alone: any port is free
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mexec-bootref.XXXXXX")
QEMU_PID=""
NS_CREATED=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    kill_attempts 2>/dev/null || true
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill -TERM "$QEMU_PID" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$QEMU_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    if [ -n "$CONSOLE_OUT" ] && [ -f "$TMP/console.log" ]; then
        cp "$TMP/console.log" "$CONSOLE_OUT" || true
    fi
    [ "$NS_CREATED" = 1 ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- per-boot material: overlay, keys, seed -------------------------------------
qemu-img create -q -f qcow2 -b "$IMAGEDIR/base.qcow2" -F qcow2 "$TMP/overlay.qcow2"
ssh-keygen -q -t ed25519 -N '' -C mexec-bootref-host -f "$TMP/hostkey"
ssh-keygen -q -t ed25519 -N '' -C mexec-bootref-client -f "$TMP/clientkey"
mkdir -p "$TMP/seed/mexec"
printf 'instance-id: mexec-bootref-%s\n' "$$" >"$TMP/seed/meta-data"
printf '#cloud-config\n' >"$TMP/seed/user-data"
cp "$TMP/hostkey" "$TMP/seed/mexec/ssh_host_ed25519_key"
cp "$TMP/hostkey.pub" "$TMP/seed/mexec/ssh_host_ed25519_key.pub"
cp "$TMP/clientkey.pub" "$TMP/seed/mexec/authorized_keys"
genisoimage -quiet -output "$TMP/seed.iso" -volid cidata -joliet -rock "$TMP/seed"
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1-2 "$TMP/hostkey.pub")" >"$TMP/known_hosts"

# --- namespace with only lo ------------------------------------------------------------
ip netns add "$NS"
NS_CREATED=1
ip netns exec "$NS" ip link set lo up

SSH=(ip netns exec "$NS" ssh -F /dev/null
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$TMP/known_hosts"
    -o GlobalKnownHostsFile=/dev/null -o HostKeyAlgorithms=ssh-ed25519
    -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=2
    -i "$TMP/clientkey" -p "$PORT" circleci@127.0.0.1)

# Time in microseconds from bash itself: the waiting loop must not fork much,
# the host's cores belong to qemu's vCPU threads.
now_us() { printf '%s\n' "${EPOCHREALTIME/./}"; }
secs() { printf '%d.%d' "$(($1 / 1000000))" "$((($1 % 1000000) / 100000))"; }

# --- boot ---------------------------------------------------------------------------------
ACCEL=tcg
CPU=max
# The same rule as mexec's (provisioner/host/accel.h): a /dev/kvm on a CPU without vmx/svm is a
# software KVM that cannot run a stock kernel.
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; CPU=host; fi
T0=${EPOCHREALTIME/./}
ip netns exec "$NS" qemu-system-x86_64 \
    -machine q35 -accel "$ACCEL" -cpu "$CPU" -smp "$SMP" -m "$MEM" -nographic \
    -kernel "$IMAGEDIR/vmlinux" -initrd "$IMAGEDIR/initrd.img" \
    -append "$(cat "$IMAGEDIR/cmdline")" \
    -drive file="$TMP/overlay.qcow2",if=virtio,format=qcow2 \
    -drive file="$TMP/seed.iso",if=virtio,format=raw,readonly=on \
    -netdev user,id=net0,hostfwd=tcp:127.0.0.1:"$PORT"-:22 \
    -device virtio-net-pci,netdev=net0,bus=pcie.0,addr=0x0a \
    -device virtio-rng-pci \
    </dev/null >"$TMP/console.log" 2>&1 &
QEMU_PID=$!

# Slirp accepts the TCP connection at once, whatever the guest is doing, so an
# attempt cannot tell "guest network not up yet" (nothing will ever answer
# this connection: give up after ConnectTimeout, which covers the banner
# exchange) from "sshd is up but slow to send its banner under emulation"
# (cutting that attempt short leaves a half-done sshd child eating the
# guest's CPU, and retries pile up into sshd's MaxStartups throttling).  So
# attempts overlap: a new one starts every second (at once after a quick
# failure such as a reset), at most 3 in flight, each allowed to finish.
ATTEMPTS=()
attempt() {
    if timeout 60 "${SSH[@]}" "$@" >/dev/null 2>&1; then
        now_us >"$TMP/t.$BASHPID" && mv "$TMP/t.$BASHPID" "$TMP/ok.$BASHPID"
    fi
}
reap_attempts() {
    local p alive=()
    for p in "${ATTEMPTS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then alive+=("$p"); fi
    done
    ATTEMPTS=("${alive[@]}")
}
kill_attempts() {
    local p
    for p in "${ATTEMPTS[@]}"; do
        pkill -TERM -P "$p" 2>/dev/null || true
        kill -TERM "$p" 2>/dev/null || true
    done
    ATTEMPTS=()
}
first_ok() {   # sets T_OK to the earliest success recorded, or ""
    local f t
    T_OK=""
    for f in "$TMP"/ok.*; do
        [ -s "$f" ] || continue
        read -r t <"$f"
        if [ -z "$T_OK" ] || [ "$t" -lt "$T_OK" ]; then T_OK=$t; fi
    done
}
wait_for() {   # wait_for CMD... — until CMD succeeds over SSH; sets T_OK to when it did
    local last=0 t
    rm -f "$TMP"/ok.*
    T_OK=""
    while [ -z "$T_OK" ]; do
        kill -0 "$QEMU_PID" 2>/dev/null || { tail -n 30 "$TMP/console.log" >&2; die "qemu exited"; }
        t=${EPOCHREALTIME/./}
        if [ $((t - T0)) -ge $((TIMEOUT * 1000000)) ]; then
            tail -n 30 "$TMP/console.log" >&2
            die "no success of '$*' over SSH after $TIMEOUT s"
        fi
        reap_attempts
        if [ "${#ATTEMPTS[@]}" -eq 0 ] || { [ "${#ATTEMPTS[@]}" -lt 3 ] && [ $((t - last)) -ge 1000000 ]; }; then
            attempt "$@" &
            ATTEMPTS+=("$!")
            disown "$!"   # no "Terminated" notice when it is cut short
            last=$t
        fi
        sleep 0.2
        first_ok
    done
    kill_attempts
}

# CPU time qemu used so far: unlike wall time, barely affected by other load
# on the host, so it is the better number to compare two images with.
qemu_cpu() {
    local st
    read -r -a st <"/proc/$QEMU_PID/stat" || return 0
    secs $(((st[13] + st[14]) * 1000000 / CLK_TCK))
}
CLK_TCK=$(getconf CLK_TCK)

wait_for true
T_SSH=$(secs $((T_OK - T0)))
log "first successful SSH command after $T_SSH s (qemu CPU time $(qemu_cpu) s)"
echo "$T_SSH"

if [ "$WAIT_DOCKER" = 1 ]; then
    wait_for docker info --format '{{.ServerVersion}}'
    T_DOCKER=$(secs $((T_OK - T0)))
    log "docker info works after $T_DOCKER s (qemu CPU time $(qemu_cpu) s)"
    echo "$T_DOCKER"
fi

if [ "${#REMOTE_CMD[@]}" -gt 0 ]; then
    timeout "$TIMEOUT" "${SSH[@]}" "${REMOTE_CMD[@]}" >&2 || log "remote command exited with $?"
fi
