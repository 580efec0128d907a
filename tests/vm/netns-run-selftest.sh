#!/bin/bash
# netns-run-selftest.sh — prove that tests/vm/netns-run.sh keeps its promises.
#
# Why this exists: every VM test relies on netns-run.sh for the hard network
# rule (only 'lo' in the test netns) and for a private libvirtd that neither
# touches nor depends on a system libvirtd. Those are easy to break silently,
# so this boots a tiny real domain (direct kernel boot of the host's /boot
# kernel, no disk, slirp hostfwd on 127.0.0.1) through the wrapper, with the
# system libvirtd running and not running, and checks: hostfwd listens inside
# the netns only, the system libvirtd does not see the domain, env/stdin and
# /var/lib/mexec pass through, exit status is kept, leaked domains are
# destroyed and reported, and after a normal exit, SIGTERM or SIGINT no qemu,
# no private daemon and no netns remain.
#
# Needs root and scripts/setup-host.sh. The system libvirtd is left as found:
# if it was running, the "not running" phase is skipped unless
# MEXEC_SELFTEST_STOP_SYSTEM_LIBVIRTD=1 (it is then stopped and restarted).
set -euo pipefail

here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
repo=$(cd "$here/../.." && pwd)
wrapper=$here/netns-run.sh
setup=$repo/scripts/setup-host.sh
URI=qemu:///system

failures=0
checks=0
ok() { checks=$((checks + 1)); printf 'ok   %s\n' "$*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); printf 'FAIL %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
die() { printf 'selftest: error: %s\n' "$*" >&2; exit 2; }

[[ $EUID -eq 0 ]] || die "must run as root"
[[ -x $wrapper ]] || die "$wrapper not executable"

kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
[[ -n $kernel ]] || die "no /boot/vmlinuz-* (install linux-image-amd64)"
initrd=/boot/initrd.img-${kernel#/boot/vmlinuz-}
[[ -r $initrd ]] || die "no $initrd"

work=$(mktemp -d /tmp/mexec-netns-selftest.XXXXXX)
created_mexec_dir=0
started_system=0
wrapper_pid=

sys_running() { timeout 10 virsh -c "$URI" version >/dev/null 2>&1; }

start_system() { "$setup" >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; die "setup-host.sh failed"; }; }

stop_system() {
    if [[ -d /run/systemd/system ]]; then
        systemctl stop libvirtd.service libvirtd.socket libvirtd-ro.socket \
            libvirtd-admin.socket virtlogd.service virtlogd.socket virtlogd-admin.socket 2>/dev/null || true
        return
    fi
    local f pid i
    for f in /run/libvirtd.pid /run/virtlogd.pid; do
        [[ -r $f ]] || continue
        pid=$(<"$f")
        kill -TERM "$pid" 2>/dev/null || continue
        for ((i = 0; i < 200; i++)); do
            [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z) == Z ]] && break
            sleep 0.05
        done
    done
}

cleanup() {
    local rc=$?
    trap '' INT TERM HUP
    if [[ -n $wrapper_pid ]] && kill -0 "$wrapper_pid" 2>/dev/null; then
        kill -TERM "$wrapper_pid" 2>/dev/null || true
        wait "$wrapper_pid" 2>/dev/null || true
    fi
    ((started_system)) && stop_system
    ((created_mexec_dir)) && rmdir /var/lib/mexec 2>/dev/null
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -d /var/lib/mexec ]]; then
    mkdir -p /var/lib/mexec
    created_mexec_dir=1
fi
mexec_dir_id=$(stat -c %d:%i /var/lib/mexec)

# The command run inside the wrapper: boots the domain, records what it sees.
cat >"$work/cmd.sh" <<'EOF'
#!/bin/bash
set -euo pipefail
mode=$1 work=$2 port=$3 dom=$4
virsh -q -c qemu:///system create "$work/$dom.xml" >/dev/null
{
    echo "libvirtd $(cat /var/run/libvirt/mexec-netns/libvirtd.pid)"
    echo "virtlogd $(cat /var/run/libvirt/mexec-netns/virtlogd.pid)"
    echo "qemu $(cat "/var/run/libvirt/qemu/$dom.pid")"
} >"$work/$dom.pids"
for ((i = 0; i < 100; i++)); do
    ss -ltn | grep -q "127.0.0.1:$port " && break
    sleep 0.1
done
ss -ltn >"$work/$dom.ss-inside"
ip -o link show >"$work/$dom.links"
virsh -q -c qemu:///system domstate "$dom" >"$work/$dom.state"
echo "${MEXEC_SELFTEST_ENV:-unset}" >"$work/$dom.env"
cat >"$work/$dom.stdin"
stat -c %d:%i /var/lib/mexec >"$work/$dom.mexecdir"
touch "$work/$dom.ready"
case $mode in
    normal | leak)
        for ((i = 0; i < 600; i++)); do
            [[ -e $work/$dom.go ]] && break
            sleep 0.1
        done
        if [[ $mode == normal ]]; then
            virsh -q -c qemu:///system destroy "$dom" >/dev/null
            exit 0
        fi
        exit 7 # leak: leave the domain running
        ;;
    hang)
        sleep 1000 & # also leaks a process into the netns
        wait
        ;;
    stubborn) # ignores SIGTERM: the wrapper must SIGKILL it on a 2nd signal
        trap '' TERM
        sleep 1000 &
        wait
        ;;
esac
EOF
chmod +x "$work/cmd.sh"

write_domain() { # write_domain NAME PORT
    cat >"$work/$1.xml" <<EOF
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$kernel</kernel>
    <initrd>$initrd</initrd>
    <cmdline>console=ttyS0 panic=1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'>
      <source path='$work/$1.console.log'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='user,id=net0,hostfwd=tcp:127.0.0.1:$2-:22'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=net0,bus=pcie.0,addr=0x0a'/>
  </qemu:commandline>
</domain>
EOF
}

pid_gone() { # zombies (not yet reaped by PID 1) count as gone
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [[ -z $state || $state == Z ]]
}

free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        ss -ltnH "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}

# scenario PHASE MODE: MODE is normal (CMD destroys its domain, exits 0),
# leak (CMD exits 7 leaving the domain), term / int (wrapper gets the signal),
# kill (CMD ignores SIGTERM; a second SIGTERM 3 s later makes it SIGKILL).
scenario() {
    local phase=$1 mode=$2 dom port ns rc=0 cmd_mode what
    dom=mexec-selftest-$$-$phase-$mode
    port=$(free_port)
    write_domain "$dom" "$port"
    what="[$phase/$mode]"
    cmd_mode=$mode
    [[ $mode == term || $mode == int ]] && cmd_mode=hang
    [[ $mode == kill ]] && cmd_mode=stubborn

    # env --default-signal: background jobs of a script start with SIGINT ignored.
    MEXEC_SELFTEST_ENV=passed-through env --default-signal=INT \
        "$wrapper" "$work/cmd.sh" "$cmd_mode" "$work" "$port" "$dom" \
        <<<"stdin-passed" >"$work/$dom.out" 2>"$work/$dom.err" &
    wrapper_pid=$!
    ns=mexec-test-$wrapper_pid

    local i
    for ((i = 0; i < 1200; i++)); do
        [[ -e $work/$dom.ready ]] && break
        kill -0 "$wrapper_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ ! -e $work/$dom.ready ]]; then
        bad "$what domain started inside the wrapper"
        sed 's/^/    /' "$work/$dom.err"
        kill -TERM "$wrapper_pid" 2>/dev/null || true
        wait "$wrapper_pid" || true
        wrapper_pid=
        return
    fi
    ok "$what domain started inside the wrapper ($(cat "$work/$dom.state"))"

    check "$what netns $ns exists while running" \
        bash -c "ip netns list | awk '{print \$1}' | grep -qx '$ns'"
    check "$what only 'lo' in the netns" \
        bash -c "[[ \$(awk -F': ' '{print \$2}' '$work/$dom.links') == lo ]]"
    check "$what hostfwd 127.0.0.1:$port listens inside the netns (ss from CMD)" \
        grep -q "127.0.0.1:$port " "$work/$dom.ss-inside"
    check "$what hostfwd 127.0.0.1:$port listens inside the netns (ip netns exec ss)" \
        bash -c "ip netns exec '$ns' ss -ltn | grep -q '127.0.0.1:$port '"
    check "$what port $port not listening in the root netns" \
        bash -c "! ss -ltn | grep -q ':$port '"
    if sys_running; then
        check "$what system libvirtd does not see the domain" \
            bash -c "! virsh -q -c '$URI' list --all --name | grep -qx '$dom'"
    fi
    check "$what environment passes through" grep -qx passed-through "$work/$dom.env"
    check "$what stdin passes through" grep -qx stdin-passed "$work/$dom.stdin"
    check "$what /var/lib/mexec is the real directory" grep -qx "$mexec_dir_id" "$work/$dom.mexecdir"

    case $mode in
        term) kill -TERM "$wrapper_pid" ;;
        int) kill -INT "$wrapper_pid" ;;
        kill) kill -TERM "$wrapper_pid"; sleep 3; kill -TERM "$wrapper_pid" ;;
        *) touch "$work/$dom.go" ;;
    esac
    wait "$wrapper_pid" || rc=$?
    wrapper_pid=

    local want_rc
    case $mode in normal) want_rc=0 ;; leak) want_rc=7 ;; term) want_rc=143 ;; int) want_rc=130 ;; kill) want_rc=137 ;; esac
    check "$what wrapper exit status $rc == $want_rc" test "$rc" -eq "$want_rc"
    if [[ $mode == normal ]]; then
        check "$what no leak reported" bash -c "! grep -q LEAK '$work/$dom.err'"
    else
        check "$what leaked domain reported and destroyed" \
            grep -q "LEAK: domain '$dom'" "$work/$dom.err"
    fi
    if [[ $mode == term || $mode == int || $mode == kill ]]; then
        check "$what leaked 'sleep' in the netns reported" \
            grep -q "LEAK: processes still in netns" "$work/$dom.err"
    fi

    local name pid
    while read -r name pid; do
        check "$what $name (pid $pid) gone" pid_gone "$pid"
    done <"$work/$dom.pids"
    check "$what no qemu process for the domain" bash -c "! pgrep -af 'gues[t]=$dom' >/dev/null"
    check "$what netns $ns deleted" bash -c "! ip netns list | awk '{print \$1}' | grep -qx '$ns'"
    if ((failures)); then
        echo "---- wrapper stderr $what"
        sed 's/^/    /' "$work/$dom.err"
    fi
}

phase() { # phase NAME
    local mode
    echo "== phase: system libvirtd $1"
    for mode in normal leak term int kill; do
        scenario "$1" "$mode"
    done
}

if sys_running; then
    phase running
    if [[ ${MEXEC_SELFTEST_STOP_SYSTEM_LIBVIRTD:-0} == 1 ]]; then
        stop_system
        sys_running && die "could not stop the system libvirtd"
        phase stopped
        start_system
    else
        echo "SKIP phase 'system libvirtd stopped' (set MEXEC_SELFTEST_STOP_SYSTEM_LIBVIRTD=1)"
    fi
else
    phase stopped
    start_system
    started_system=1
    sys_running || die "system libvirtd did not start"
    phase running
fi

echo "== $((checks - failures))/$checks checks passed"
((failures == 0))
