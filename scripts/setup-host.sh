#!/bin/bash
# setup-host.sh — turn a fresh Debian 12 machine into a mexec build/run host.
#
# Why this exists: mexec needs a compiler toolchain, its C libraries, QEMU and a
# libvirtd that runs QEMU as the unprivileged libvirt-qemu user. Debian's
# libvirt 9.0 does not work out of the box on hosts without systemd or /dev/kvm
# (it dies on a missing 'libvirt-qemu' user before reading qemu.conf, and needs
# /var/log/libvirt and /var/run/libvirt). This script does all of that,
# idempotently and non-interactively, so every machine is prepared the same way
# (docs/host-setup.md gives the facts measured behind each step).
#
# Usage: scripts/setup-host.sh [--no-daemons] [--no-packages]
#   --no-daemons   install and prepare only; do not start virtlogd/libvirtd.
#   --no-packages  install no package: prepare libvirt and start it only.  The post-install
#                  step of the mexec .deb (installed as /usr/share/mexec/setup-host.sh), whose
#                  Depends brought the packages mexec runs with; PACKAGES below are those to
#                  build and test it too.
set -euo pipefail

# Debian packages needed to build, test and run mexec. Extend here.
PACKAGES=(
    build-essential cmake pkg-config gcc clang
    libvirt-dev libssh2-1-dev libcurl4-openssl-dev libyaml-dev libjansson-dev
    libssl-dev libcmocka-dev
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
    qemu-system-x86 qemu-utils
    mmdebstrap genisoimage openssh-client iproute2 util-linux git xz-utils
    binutils libclang-rt-14-dev valgrind e2fsprogs
    shellcheck clang-format bc
    python3-botocore # SigV4 reference signer for the credential tests (tests/credentials)
    docker-registry skopeo apache2-utils python3-jwt python3-cryptography openssl # registry tests
    busybox-static # tests/registry/make_image.py: the runnable test image's one binary
    curl # tests/registry/with-registries.sh waits for the registries with it
    linux-image-amd64 # guest kernel + initrd in /boot (direct kernel boot)
    passt # its pasta connects each VM's own network namespace (provisioner/machine/vm_net.h)
    fdisk # sfdisk: the partition table of the cloud-style test image (tests/vm/make_cloud_image.sh)
    libarchive-dev # store_artifacts/store_test_results: guest tars read on the host (provisioner/job/tar_extract.c); workspace layers listed as plain tar (provisioner/job/workspace_tar.c)
    libxml2-dev # store_test_results: JUnit XML parsed on the host (provisioner/job/junit.c)
    lz4 zstd gpg # Ubuntu image recipes: unpack lz4/zstd kernels, check the archive keys (images/common)
    clang-tidy cppcheck # scripts/check-src.sh: clang-tidy (and run-clang-tidy), cppcheck
    file # cpack -G DEB (tests/scripts/install_test.sh): CPack picks the ELF files for dpkg-shlibdeps with it
)

QEMU_CONF=/etc/libvirt/qemu.conf
LIBVIRT_URI=qemu:///system
WAIT_SECONDS=60

log() { printf 'setup-host: %s\n' "$*" >&2; }
die() { printf 'setup-host: error: %s\n' "$*" >&2; exit 1; }

usage() {
    echo "usage: $0 [--no-daemons] [--no-packages]" >&2
    exit "${1:-2}"
}

start_daemons=1 packages=1
while (($#)); do
    case $1 in
        --no-daemons) start_daemons=0 ;;
        --no-packages) packages=0 ;;
        -h | --help) usage 0 ;;
        *) log "unknown argument: $1"; usage 2 ;;
    esac
    shift
done

[[ $EUID -eq 0 ]] || die "must run as root"
export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------- packages
is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]
}

has_candidate() {
    local cand
    cand=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
    [[ -n $cand && $cand != "(none)" ]]
}

install_packages() {
    local pkg missing=() unknown=()
    for pkg in "${PACKAGES[@]}"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        log "all ${#PACKAGES[@]} packages already installed"
        return
    fi
    log "missing packages: ${missing[*]}"

    for pkg in "${missing[@]}"; do
        has_candidate "$pkg" || unknown+=("$pkg")
    done
    if ((${#unknown[@]} > 0)); then
        log "no install candidate for: ${unknown[*]}; running apt-get update"
        apt-get update -q
        local still=()
        for pkg in "${unknown[@]}"; do
            has_candidate "$pkg" || still+=("$pkg")
        done
        ((${#still[@]} == 0)) || die "packages not available from apt sources: ${still[*]}"
    fi

    if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        # Package lists may be stale (404 on a superseded version): refresh once.
        log "apt-get install failed; retrying after apt-get update"
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

# ---------------------------------------------------------------- libvirt prep
conf_changed=0

# set_conf_key FILE KEY VALUE: make FILE contain exactly one active 'KEY = VALUE'
# line, keeping every other line (comments included) untouched.
set_conf_key() {
    local file=$1 key=$2 value=$3 want
    want="$key = $value"
    if [[ $(grep -cE "^[[:space:]]*${key}[[:space:]]*=" "$file" || true) == 1 ]] &&
        grep -qxF "$want" "$file"; then
        return 0
    fi
    local tmp
    tmp=$(mktemp "$file.XXXXXX")
    # Drop existing active settings of KEY, then append the wanted one.
    grep -vE "^[[:space:]]*${key}[[:space:]]*=" "$file" >"$tmp" || true
    printf '%s\n' "$want" >>"$tmp"
    chmod --reference="$file" "$tmp"
    chown --reference="$file" "$tmp"
    mv -f "$tmp" "$file"
    conf_changed=1
    log "set '$want' in $file"
}

prepare_libvirt() {
    mkdir -p /var/log/libvirt /var/run/libvirt

    # libvirtd 9.0 (Debian) resolves its built-in default user before it reads
    # qemu.conf and dies with "Failed to parse user 'libvirt-qemu'" without it.
    if ! getent group libvirt-qemu >/dev/null; then
        groupadd --system libvirt-qemu
        log "created group libvirt-qemu"
    fi
    if ! getent passwd libvirt-qemu >/dev/null; then
        useradd --system --gid libvirt-qemu --no-create-home \
            --home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu
        log "created user libvirt-qemu"
    fi

    mkdir -p "$(dirname "$QEMU_CONF")"
    if [[ ! -e $QEMU_CONF ]]; then
        install -m 0600 /dev/null "$QEMU_CONF"
        log "created $QEMU_CONF"
    fi
    # QEMU runs unprivileged (docs/security.md): as libvirt-qemu, under libvirt's DAC driver
    # (mexec's domains carry that user as a static label and libvirt chowns nothing; mexec
    # hands each job's files to it), with QEMU's seccomp sandbox and a private /dev (mount
    # namespace). No MAC driver: AppArmor and SELinux are not set up on these hosts.
    set_conf_key "$QEMU_CONF" user '"libvirt-qemu"'
    set_conf_key "$QEMU_CONF" group '"libvirt-qemu"'
    set_conf_key "$QEMU_CONF" security_driver '"none"'
    set_conf_key "$QEMU_CONF" seccomp_sandbox 1
    set_conf_key "$QEMU_CONF" namespaces '[ "mount" ]'
    # /dev/kvm is root:kvm 0660: QEMU needs the group where KVM exists
    if getent group kvm >/dev/null && ! id -nG libvirt-qemu | tr ' ' '\n' | grep -qx kvm; then
        usermod -a -G kvm libvirt-qemu
        conf_changed=1
        log "added libvirt-qemu to group kvm"
    fi
    # QEMU opens the job's overlay and the image's files by path, as libvirt-qemu: the state
    # root must be searchable (mexec opens up the job and image directories below it itself)
    install -d -m 0711 /var/lib/mexec
    chmod o+x /var/lib/mexec
}

# ---------------------------------------------------------------- daemons
have_systemd() { [[ -d /run/systemd/system ]]; }

# running_here NAME PIDFILE: prints the pid of daemon NAME if one runs in this
# mount namespace (a private libvirtd started by tests/vm/netns-run.sh lives in
# another mount namespace and has its own socket, so it must not count).
running_here() {
    local name=$1 pidfile=$2 pid self_mnt
    self_mnt=$(readlink /proc/self/ns/mnt)
    if [[ -r $pidfile ]]; then
        pid=$(<"$pidfile")
        if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]; then
            echo "$pid"
            return 0
        fi
    fi
    for pid in $(pgrep -x "$name" || true); do
        if [[ $(readlink "/proc/$pid/ns/mnt" 2>/dev/null) == "$self_mnt" ]]; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

# alive PID: true while PID runs. A zombie counts as gone: a daemonized
# process is reparented to PID 1, which may be slow to reap it (e.g. in a container).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do
        alive "$pid" || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# The unit files come with libvirt-daemon-system, which we do not install: it
# also pulls libvirt-daemon-config-network, whose autostarted 'default' NAT
# network puts a bridge (virbr0) on the host. Provide minimal units instead.
ensure_systemd_units() {
    local reload=0
    if ! systemctl cat virtlogd.service >/dev/null 2>&1; then
        cat >/etc/systemd/system/virtlogd.service <<'EOF'
# Written by mexec scripts/setup-host.sh (libvirt-daemon-system not installed).
[Unit]
Description=libvirt logging daemon (mexec)

[Service]
Type=simple
ExecStart=/usr/sbin/virtlogd
ExecReload=/bin/kill -USR1 $MAINPID
Restart=on-failure

[Install]
WantedBy=multi-user.target
EOF
        reload=1
        log "wrote /etc/systemd/system/virtlogd.service"
    fi
    if ! systemctl cat libvirtd.service >/dev/null 2>&1; then
        cat >/etc/systemd/system/libvirtd.service <<'EOF'
# Written by mexec scripts/setup-host.sh (libvirt-daemon-system not installed).
[Unit]
Description=libvirt daemon (mexec)
Requires=virtlogd.service
After=virtlogd.service

[Service]
Type=simple
ExecStart=/usr/sbin/libvirtd
# Restarting libvirtd must not kill running QEMU processes.
KillMode=process
Restart=on-failure

[Install]
WantedBy=multi-user.target
EOF
        reload=1
        log "wrote /etc/systemd/system/libvirtd.service"
    fi
    ((reload == 0)) || systemctl daemon-reload
}

start_daemons_now() {
    if have_systemd; then
        log "systemd detected: enabling virtlogd and libvirtd"
        ensure_systemd_units
        systemctl enable --now virtlogd.service libvirtd.service
        if ((conf_changed)); then
            systemctl restart libvirtd.service
        fi
        return
    fi

    local pid
    if ! running_here virtlogd /run/virtlogd.pid >/dev/null; then
        log "starting virtlogd"
        virtlogd -d
    fi
    if pid=$(running_here libvirtd /run/libvirtd.pid); then
        if ((conf_changed)); then
            log "restarting libvirtd (pid $pid) to apply $QEMU_CONF"
            stop_pid "$pid"
            libvirtd -d
        fi
    else
        log "starting libvirtd"
        libvirtd -d
    fi
}

wait_for_libvirt() {
    local deadline=$((SECONDS + WAIT_SECONDS)) err=""
    while ((SECONDS < deadline)); do
        if err=$(timeout 10 virsh -c "$LIBVIRT_URI" version 2>&1 >/dev/null); then
            log "libvirtd answers on $LIBVIRT_URI"
            return 0
        fi
        sleep 0.5
    done
    log "last virsh error: $err"
    if [[ -r /var/log/libvirt/libvirtd.log ]]; then
        log "tail of /var/log/libvirt/libvirtd.log:"
        tail -n 20 /var/log/libvirt/libvirtd.log >&2
    fi
    die "libvirtd did not answer 'virsh -c $LIBVIRT_URI version' within ${WAIT_SECONDS}s"
}

if ((packages)); then
    install_packages
else
    log "--no-packages: not installing packages"
fi
prepare_libvirt
if ((start_daemons)); then
    start_daemons_now
    wait_for_libvirt
else
    log "--no-daemons: not starting virtlogd/libvirtd"
fi
log "done"
