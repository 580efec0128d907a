#!/bin/bash
# The guest network (provisioner/machine/vm_net.h): from inside a job, a host loopback service that
# host.yaml lists answers at 10.0.2.2; one that is not listed does not, though it listens;
# 169.254.169.254 does not, though a server listens there on this namespace's loopback (so
# only mexec's rules stand between the guest and it); another running job's SSH port does
# not; DNS at 10.0.2.3 reaches the host's resolver, here one on loopback (127.0.0.53, as
# systemd-resolved's is).  QEMU runs as libvirt-qemu in a network namespace of its own, with its seccomp sandbox
# and no capabilities, pasta as libvirt-qemu; none of them is left afterwards.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
servers=()
serve() { # DIR ADDR PORT TEXT
    mkdir -p "$1" && echo "$4" >"$1/marker.txt"
    python3 -m http.server --directory "$1" --bind "$2" "$3" >/dev/null 2>&1 &
    servers+=($!)
}
cleanup() {
    local p
    for p in "${servers[@]}" ${other:-}; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip addr del 169.254.169.254/32 dev lo 2>/dev/null || true
    umount /etc/resolv.conf 2>/dev/null || true
    cleanup_t
}
trap cleanup EXIT
# this changes the network namespace and /etc/resolv.conf: only in netns-run.sh's namespaces
[[ $(readlink /proc/self/ns/mnt) != "$(readlink /proc/1/ns/mnt)" ]] ||
    fail "run inside tests/vm/netns-run.sh (it changes /etc/resolv.conf in its mount namespace)"

listed=$(free_port) unlisted=$(free_port)
serve "$T/listed" 127.0.0.1 "$listed" listed-service-answered
serve "$T/unlisted" 127.0.0.1 "$unlisted" unlisted-service-answered
# a metadata endpoint as clouds have it, here on this namespace's loopback
ip addr add 169.254.169.254/32 dev lo
serve "$T/metadata" 169.254.169.254 80 metadata-answered
# the host's resolver on loopback, as systemd-resolved's
python3 "$HERE/dns_answer.py" 127.0.0.53 192.0.2.99 &
servers+=($!)
printf 'nameserver 127.0.0.53\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
for url in "127.0.0.1:$listed" "127.0.0.1:$unlisted" "169.254.169.254:80"; do
    for ((i = 0; i < 50; i++)); do
        curl -fsS --max-time 2 "http://$url/marker.txt" >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -fsS --max-time 2 "http://$url/marker.txt" >/dev/null || fail "test server $url did not start"
done
echo "guest_services: [$listed]" >>"$MEXEC_HOST_CONFIG"

# another job, running: its SSH port must be out of reach of the first
"$MEXEC" run -c "$HERE/jobs/sleep.yml" --job build >"$T/other.out" 2>"$T/other.err" </dev/null &
other=$!
wait_for "$T/other.out" step-started 600
other_ssh=$("$MEXEC" ps | awk 'NR > 1 && $5 ~ /^127\.0\.0\.1:/ {sub(/.*:/, "", $5); print $5; exit}')
[[ -n $other_ssh ]] || fail "no SSH port for the running job in mexec ps"

# its processes: QEMU as libvirt-qemu, sandboxed, without capabilities, in a network namespace
# of its own (not this one, where the host's loopback services are); pasta as libvirt-qemu
dom=$(virsh -q -c qemu:///system list --name | grep '^mexec-' | head -1)
qemu_pid=$(pgrep -f -- "guest=$dom," | head -1)
[[ -n $qemu_pid ]] || fail "no QEMU process for $dom"
[[ $(ps -o user:32= -p "$qemu_pid") == libvirt-qemu ]] || fail "QEMU runs as $(ps -o user:32= -p "$qemu_pid")"
tr '\0' ' ' <"/proc/$qemu_pid/cmdline" | grep -q -- '-sandbox on' || fail "QEMU runs without its seccomp sandbox"
grep -q '^CapEff:[[:space:]]*0*$' "/proc/$qemu_pid/status" || fail "QEMU has capabilities: $(grep Cap "/proc/$qemu_pid/status")"
[[ $(readlink "/proc/$qemu_pid/ns/net") != "$(readlink /proc/self/ns/net)" ]] ||
    fail "QEMU runs in the host's network namespace"
pasta=$(pgrep -f -- "$T/jobs/.*/net/ready" | head -1)
[[ -n $pasta ]] || fail "no pasta for the running job"
[[ $(ps -o user:32= -p "$pasta") == libvirt-qemu ]] || fail "pasta runs as $(ps -o user:32= -p "$pasta")"

run_job "$HERE/jobs/guest_net.yml" build -e LISTED="$listed" -e UNLISTED="$unlisted" -e OTHER_SSH="$other_ssh"
expect_rc 0
expect_out "listed-service-answered"
expect_out "unlisted=blocked"
expect_out "metadata=blocked"
expect_out "other-ssh=blocked"
expect_out "dns-answer=192.0.2.99"
expect_no_out "REACHED"

kill -INT "$other"
rc=0
wait "$other" || rc=$?
other=
[[ $rc -eq 130 ]] || fail "the other job exited $rc after SIGINT, expected 130"
# the servers were up all along: what the guest could not reach was refused by the network
curl -fsS --max-time 2 "http://127.0.0.1:$unlisted/marker.txt" >/dev/null || fail "unlisted server died"
curl -fsS --max-time 2 "http://169.254.169.254/marker.txt" >/dev/null || fail "metadata server died"
expect_no_leftovers
echo "PASS guest_net"
