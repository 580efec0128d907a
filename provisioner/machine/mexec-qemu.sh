#!/bin/sh
# mexec-qemu: the emulator libvirt starts for mexec's domains (provisioner/machine/vm_net.h).
#
# libvirt runs it as the QEMU user (libvirt-qemu), with what the domain's <qemu:env> sets:
#   MEXEC_QEMU        the QEMU binary (from libvirt's capabilities)
#   MEXEC_NET_PID     the process holding the job's user and network namespace (pasta's child)
#   MEXEC_NET_RESOLV  a resolv.conf naming 10.0.2.3, the address pasta forwards to the host's
#                     resolver
# Without MEXEC_NET_PID (libvirt probing what the emulator can do) it is plain QEMU.  With it,
# QEMU runs in the job's namespace, so the 10.0.2.2 of its user networking is that namespace's
# loopback, where only the host services host.yaml lists are forwarded; in a mount namespace of
# its own whose /etc/resolv.conf (where there is one) is MEXEC_NET_RESOLV; and with no
# capabilities at all (entering
# the user namespace gives it all of them there, which would let it undo the namespace's rules).
set -eu
qemu=${MEXEC_QEMU:-/usr/bin/qemu-system-x86_64}
case $qemu in
/*) ;;
*) echo "mexec-qemu: MEXEC_QEMU must be a full path" >&2 && exit 1 ;;
esac
pid=${MEXEC_NET_PID:-}
[ -n "$pid" ] || exec "$qemu" "$@"
case $pid in
*[!0-9]*) echo "mexec-qemu: MEXEC_NET_PID must be a pid" >&2 && exit 1 ;;
esac
resolv=${MEXEC_NET_RESOLV:?mexec-qemu: MEXEC_NET_RESOLV must name the guest network resolv.conf}
ns=/proc/$pid/ns
# shellcheck disable=SC2016 # $1 and $@ belong to the inner shell
exec /usr/bin/nsenter --preserve-credentials --user="$ns/user" --net="$ns/net" -- \
    /usr/bin/unshare --mount --propagation private -- \
    /bin/sh -c '{ [ ! -e /etc/resolv.conf ] || mount --bind "$1" /etc/resolv.conf; } && shift &&
        exec /usr/bin/setpriv --bounding-set=-all --inh-caps=-all -- "$@"' \
    mexec-qemu "$resolv" "$qemu" "$@"
