#!/bin/bash
# netns-run.sh CMD [ARGS...] — run CMD with a private, network-isolated libvirt.
#
# Why this exists: a guest with user-mode networking can reach any address its
# QEMU process can, so every test that boots a VM must run in a network
# namespace with only 'lo' up (the project's network rule, docs/testing.md). And
# libvirtd's socket is the fixed path /var/run/libvirt/libvirt-sock, so a test
# run must not share (or depend on) a system libvirtd. This wrapper creates a
# fresh netns (only 'lo', no bridges, no other addresses) plus a private mount
# namespace with tmpfs over libvirt's state/run/cache/log/config dirs, starts a
# private virtlogd + libvirtd there, runs CMD, and always tears everything down.
#
# - CMD's exit status is returned (128+N if it died of signal N).
# - Environment and stdin pass through to CMD; works with stdin closed (CI).
# - SIGINT/SIGTERM/SIGHUP are forwarded to CMD (another one 2 s or more later
#   sends it SIGKILL). On every exit path, leftover domains are destroyed
#   (reported on stderr as leaks), the daemons stopped, stray processes in the
#   netns killed (reported too) and the netns deleted.
# - /var/lib/mexec (image cache, job state) stays the real, shared directory.
# - MEXEC_NETNS_LOGDIR=DIR: copy the private libvirt logs there on exit.
# Needs root and scripts/setup-host.sh (--no-daemons is enough) run once.
# Functions below are called from traps, which shellcheck 0.9 cannot see:
# shellcheck disable=SC2317
set -euo pipefail

readonly INNER_MARK=__mexec_netns_inner__
readonly NS_PREFIX=mexec-test-
readonly URI=qemu:///system
readonly START_TIMEOUT=60
# Directories libvirtd/virtlogd write to; each gets a private tmpfs.
readonly PRIVATE_DIRS=(/var/run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt)
readonly STATE=/var/run/libvirt/mexec-netns # pidfiles (inside the tmpfs)
# libvirtd probes QEMU for ~4 s at every start unless its capabilities cache is
# warm; keep our own copy of that cache (libvirt re-probes if it is stale).
readonly CAPS_CACHE=/var/cache/mexec/libvirt-qemu-capabilities
readonly CAPS_DIR=/var/cache/libvirt/qemu/capabilities

log() { printf 'netns-run: %s\n' "$*" >&2; }
die() { printf 'netns-run: error: %s\n' "$*" >&2; exit 125; }

# run_child CMD...: run CMD in the background with our stdin, wait for it while
# forwarding INT/TERM/HUP to it; sets $child_rc. The outer part forwards every
# signal to the inner part. The inner part forwards the first to CMD, takes a
# repeat within 2 s as the same event (a terminal's Ctrl-C reaches every
# process of the group, and the outer part forwards it too) and answers a
# later one with SIGKILL to CMD, so its own cleanup still runs.
escalate=0
run_child() {
    local sig
    child_sig_time=
    # A non-interactive bash starts background commands with SIGINT/SIGQUIT
    # ignored (and bash cannot trap a signal ignored at entry): reset them.
    env --default-signal=INT,QUIT "$@" <&0 &
    child_pid=$!
    for sig in INT TERM HUP; do
        # shellcheck disable=SC2064 # expand $sig now
        trap "forward_signal $sig" "$sig"
    done
    # (2>/dev/null: no "Killed" job notice from bash; the status says it all)
    while kill -0 "$child_pid" 2>/dev/null; do
        wait "$child_pid" 2>/dev/null || true
    done
    child_rc=0
    wait "$child_pid" 2>/dev/null || child_rc=$?
    child_pid=
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

forward_signal() {
    local sig=$1 now=$SECONDS
    [[ -n ${child_pid:-} ]] || return 0
    if ((!escalate)); then
        kill -s "$sig" "$child_pid" 2>/dev/null || true
        return 0
    fi
    if [[ -n $child_sig_time ]]; then
        ((now - child_sig_time >= 2)) || return 0
        log "got SIG$sig again: sending SIGKILL to pid $child_pid"
        sig=KILL
    else
        log "got SIG$sig: forwarding it to pid $child_pid"
        child_sig_time=$now
    fi
    kill -s "$sig" "$child_pid" 2>/dev/null || true
}

# alive PID: true while PID runs. A zombie counts as gone: a daemonized
# process is reparented to PID 1, which may be slow to reap it (e.g. in a container).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# stop_pidfile FILE NAME: TERM the daemon in FILE, KILL it after 10 s.
stop_pidfile() {
    local file=$1 name=$2 pid i
    [[ -r $file ]] || return 0
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do
        alive "$pid" || return 0
        sleep 0.05
    done
    log "$name (pid $pid) ignored SIGTERM: killing"
    kill -KILL "$pid" 2>/dev/null || true
}

# ============================================================== inner part
# Runs inside the netns and a private mount namespace.

inner_cleanup() {
    local rc=$? dom doms
    trap '' INT TERM HUP # finish cleaning up (every step is bounded)
    trap - EXIT
    set +e
    if [[ -S /var/run/libvirt/libvirt-sock ]]; then
        doms=$(timeout 20 virsh -q -c "$URI" list --name 2>/dev/null || true)
        for dom in $doms; do
            log "LEAK: domain '$dom' still running after CMD; destroying it"
            timeout 30 virsh -q -c "$URI" destroy "$dom" >/dev/null 2>&1 ||
                log "could not destroy domain '$dom'"
        done
    fi
    stop_pidfile "$STATE/libvirtd.pid" libvirtd
    stop_pidfile "$STATE/virtlogd.pid" virtlogd
    save_caps_cache
    if [[ -n ${MEXEC_NETNS_LOGDIR:-} ]]; then
        if ! { mkdir -p "$MEXEC_NETNS_LOGDIR" &&
            cp -a /var/log/libvirt/. "$MEXEC_NETNS_LOGDIR/"; }; then
            log "could not copy logs to $MEXEC_NETNS_LOGDIR"
        fi
    fi
    exit "$rc"
}

save_caps_cache() {
    local f
    compgen -G "$CAPS_DIR/*.xml" >/dev/null || return 0
    mkdir -p "$CAPS_CACHE" || return 0
    for f in "$CAPS_DIR"/*.xml; do
        cmp -s "$f" "$CAPS_CACHE/${f##*/}" && continue
        # tmp + rename: concurrent runs never see a half-written file
        if cp "$f" "$CAPS_CACHE/.${f##*/}.$$"; then
            mv -f "$CAPS_CACHE/.${f##*/}.$$" "$CAPS_CACHE/${f##*/}" || true
        fi
    done
}

# Make FILE contain exactly one active 'KEY = VALUE' line.
force_conf_key() {
    local file=$1 key=$2 value=$3 tmp
    tmp=$(grep -vE "^[[:space:]]*${key}[[:space:]]*=" "$file" || true)
    printf '%s\n%s = %s\n' "$tmp" "$key" "$value" >"$file"
}

inner_main() {
    local dir
    # Until CMD runs, INT/TERM just abort startup (the EXIT trap cleans up).
    trap inner_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    # unshare --propagation private already made every mount private; be sure.
    mount --make-rprivate /

    for dir in "${PRIVATE_DIRS[@]}"; do
        mkdir -p "$dir"
        mount -t tmpfs -o mode=0755 mexec-netns "$dir"
    done
    mkdir -p "$STATE/etc" "$CAPS_DIR"
    if compgen -G "$CAPS_CACHE/*.xml" >/dev/null; then
        cp "$CAPS_CACHE"/*.xml "$CAPS_DIR/"
        chmod 0600 "$CAPS_DIR"/*.xml
    fi

    # Private config: a copy of the host's top-level *.conf files only, so no
    # persistent domains, networks (e.g. an autostarted bridge) or pools.
    if compgen -G '/etc/libvirt/*.conf' >/dev/null; then
        cp -p /etc/libvirt/*.conf "$STATE/etc/"
    fi
    mkdir -p /etc/libvirt
    mount -t tmpfs -o mode=0755 mexec-netns /etc/libvirt
    cp -a "$STATE/etc/." /etc/libvirt/
    rm -rf "${STATE:?}/etc"
    [[ -e /etc/libvirt/qemu.conf ]] || install -m 0600 /dev/null /etc/libvirt/qemu.conf
    # as scripts/setup-host.sh sets them: QEMU unprivileged, seccomp, private /dev
    force_conf_key /etc/libvirt/qemu.conf user '"libvirt-qemu"'
    force_conf_key /etc/libvirt/qemu.conf group '"libvirt-qemu"'
    force_conf_key /etc/libvirt/qemu.conf security_driver '"none"'
    force_conf_key /etc/libvirt/qemu.conf seccomp_sandbox 1
    force_conf_key /etc/libvirt/qemu.conf namespaces '[ "mount" ]'

    virtlogd -d -p "$STATE/virtlogd.pid"
    libvirtd -d -p "$STATE/libvirtd.pid"

    local deadline=$((SECONDS + START_TIMEOUT)) err=""
    until err=$(timeout 10 virsh -c "$URI" version 2>&1 >/dev/null); do
        if ((SECONDS >= deadline)); then
            log "last virsh error: $err"
            log "tail of the private libvirtd.log:"
            tail -n 20 /var/log/libvirt/libvirtd.log >&2 2>/dev/null || true
            die "private libvirtd did not answer within ${START_TIMEOUT}s"
        fi
        sleep 0.2
    done

    # The hard network rule: nothing but loopback in here, ever.
    local links addrs
    links=$(ip -o link show | awk -F': ' '$2 != "lo" {print $2}')
    addrs=$(ip -o addr show | awk '$4 !~ /^(127\.|::1\/)/ {print $2, $4}')
    [[ -z $links && -z $addrs ]] ||
        die "non-loopback network in the test netns: links='$links' addrs='$addrs'"

    escalate=1
    run_child "$@"
    exit "$child_rc"
}

# ============================================================== outer part

outer_cleanup() {
    local rc=$? pids=() i
    trap '' INT TERM HUP # finish cleaning up (every step is bounded)
    trap - EXIT
    set +e
    if [[ -n ${ns:-} ]] && ip netns list | awk -v n="$ns" '$1 == n {f=1} END {exit !f}'; then
        # Anything still in the netns (a qemu whose libvirtd died, a daemon
        # that survived, a background process of CMD) is a leak: kill it.
        mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
        if ((${#pids[@]})); then
            log "LEAK: processes still in netns $ns:" \
                "$(ps -o pid=,args= -p "$(IFS=,; echo "${pids[*]}")" | tr -s ' \n' ' ')"
            kill -TERM "${pids[@]}" 2>/dev/null
            for ((i = 0; i < 50; i++)); do
                [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break
                sleep 0.1
            done
            mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
            ((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null
        fi
        ip netns delete "$ns" || log "could not delete netns $ns"
    fi
    exit "$rc"
}

# Delete netns left by earlier runs that were SIGKILLed (owner pid is gone).
reap_stale_netns() {
    local name owner pids
    for name in $(ip netns list | awk '{print $1}'); do
        [[ $name == "$NS_PREFIX"* ]] || continue
        owner=${name#"$NS_PREFIX"}
        [[ $owner =~ ^[0-9]+$ ]] || continue
        kill -0 "$owner" 2>/dev/null && continue
        log "removing stale netns $name (owner pid $owner is gone)"
        pids=$(ip netns pids "$name" 2>/dev/null || true)
        # shellcheck disable=SC2086
        [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
        ip netns delete "$name" || true
    done
}

outer_main() {
    (($# > 0)) || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
    [[ $EUID -eq 0 ]] || die "must run as root (ip netns, mount)"
    local tool
    for tool in ip unshare mount virsh libvirtd virtlogd timeout; do
        command -v "$tool" >/dev/null || die "'$tool' not found; run scripts/setup-host.sh"
    done
    getent passwd libvirt-qemu >/dev/null ||
        die "user libvirt-qemu missing (libvirtd dies without it); run scripts/setup-host.sh --no-daemons"
    # Background jobs of a non-interactive shell get /dev/null as stdin unless
    # redirected explicitly; we pass '<&0', which needs fd 0 to be open.
    [[ -e /dev/fd/0 ]] || exec </dev/null

    local self
    self=$(readlink -f "${BASH_SOURCE[0]}")
    reap_stale_netns

    ns="$NS_PREFIX$$"
    trap outer_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    ip netns add "$ns" || { ns=; die "could not create netns $NS_PREFIX$$"; }
    ip netns exec "$ns" ip link set lo up

    # 'ip netns exec' and 'unshare' exec (no fork), so child_pid is the inner bash.
    run_child ip netns exec "$ns" \
        unshare --mount --propagation private -- "$BASH" "$self" "$INNER_MARK" "$@"
    exit "$child_rc"
}

if [[ ${1:-} == "$INNER_MARK" ]]; then
    shift
    inner_main "$@"
else
    outer_main "$@"
fi
