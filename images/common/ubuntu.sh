# shellcheck shell=bash
# images/common/ubuntu.sh — what the Ubuntu recipes share (sourced; it sources recipe-lib.sh).
#
# The recipe sets RECIPE_NAME, SUITE and KERNEL_PACKAGE and sources this file, which builds
# the image (rl_main with the recipe's arguments, at the end).
# Everything comes from Ubuntu's own archive: main and universe of SUITE, SUITE-updates and
# SUITE-security (docker.io, docker-compose-v2 and docker-buildx are in universe; their
# current versions are in -updates, on all three releases).
#
# Environment (mexec sets these from host.yaml `image_mirrors:`; the user's environment wins):
#   MEXEC_UBUNTU_MIRROR           archive mirror (default http://archive.ubuntu.com/ubuntu)
#   MEXEC_UBUNTU_SECURITY_MIRROR  security mirror (default http://security.ubuntu.com/ubuntu;
#                                 if only MEXEC_UBUNTU_MIRROR is set, that one)
#   MEXEC_UBUNTU_KEYRING          an OpenPGP keyring file to take the archive keys from
#                                 instead of the archive's ubuntu-keyring .deb (still checked
#                                 against the pinned fingerprints below)
#
# Kernels (each checked in its /boot/config: CONFIG_PVH=y, so the extracted vmlinux boots
# directly; virtio-blk, virtio-pci and ext4 built in, so no initramfs is needed: the kernel
# mounts root= itself, one stage less at every boot):
#   20.04, 22.04: linux-image-kvm, Ubuntu's flavour for KVM guests (5.4 lz4, 5.15 zstd).  It
#     also has virtio-rng and iso9660 (the seed) built in, and as modules everything docker
#     needs: overlay, bridge, br_netfilter, veth, nf_nat, nf_tables, xt_MASQUERADE, xt_addrtype,
#     xt_conntrack.  About 500 modules instead of the generic kernel's thousands, and no drivers
#     for hardware a VM does not have, so udev and the kernel probe less at boot.
#   24.04: linux-image-virtual (6.8 generic, zstd): 24.04 has no kvm flavour any more (its
#     linux-image-kvm is a transitional package for linux-image-virtual).  virtio-rng and
#     iso9660 are modules there (loaded by modules-load.d), docker's needs are modules as
#     above; -virtual leaves out linux-modules-extra, and the recipe library prunes the
#     module trees a virtio VM never uses.
#
# Trust: Debian does not package Ubuntu's archive keyring.  The keys are taken from the
# ubuntu-keyring .deb in the archive's pool, which is itself unsigned transport: only keys
# whose full fingerprints are pinned here are exported into the keyring that mmdebstrap's apt
# uses, and the build stops unless every pinned key is there.  apt then verifies the suites'
# InRelease signatures with those keys, and every Packages file and .deb against the hashes
# they sign.  (Pinning the .deb's sha256 as well would add nothing a fingerprint does not
# already fix, and would rule out a site's own copy of the keyring.)

# shellcheck source=images/common/recipe-lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/recipe-lib.sh"

UBUNTU_ARCHIVE_FPRS=(
    790BC7277767219C42C86F933B4FE6ACC0B21F32 # Ubuntu Archive Automatic Signing Key (2012)
    843938DF228D22F7B3742BC0D94AA3F0EFE21092 # Ubuntu CD Image Automatic Signing Key (2012)
    F6ECB3762474EDA9D21B7022871920D1991BC93C # Ubuntu Archive Automatic Signing Key (2018)
)
UBUNTU_KEYRING_DEB=pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb
UBUNTU_KEYRING_IN_DEB=usr/share/keyrings/ubuntu-archive-keyring.gpg
UBUNTU_OFFICIAL=http://archive.ubuntu.com/ubuntu
UBUNTU_OFFICIAL_SECURITY=http://security.ubuntu.com/ubuntu

# What CircleCI's Linux machine images offer a job, from Ubuntu's archive, plus what the VM
# itself runs on.  No agent libraries: mexec-agent is static.
PACKAGES=(
    systemd-sysv udev kmod dbus
    openssh-server openssh-client sudo bash
    git jq curl ca-certificates python3 build-essential unzip zip
    iproute2 iptables procps netbase
    apparmor
    docker.io docker-compose-v2 docker-buildx
    util-linux e2fsprogs
    "$KERNEL_PACKAGE"
)
INITRD=none
# rootwait: no initramfs waits for the root disk, so the kernel does.
CMDLINE="root=/dev/vda rw rootfstype=ext4 rootwait $RL_CMDLINE_SPEED"

# Ubuntu's own units that reach the network or cost boot time.
EXTRA_MASK_UNITS=(
    # base-files' "news" for the login banner: fetched from motd.ubuntu.com
    motd-news.timer motd-news.service
    # resolv.conf is static (slirp's DNS); 20.04/22.04 ship resolved in systemd
    systemd-resolved.service
    # Ubuntu Pro / ESM status checks, in case a dependency brings them
    ua-timer.timer ua-timer.service ua-reboot-cmds.service ubuntu-advantage.service
    esm-cache.service apt-news.service
    # 24.04: TPM measurements and credentials, nothing to measure in a job VM
    systemd-tpm2-setup-early.service systemd-tpm2-setup.service
    systemd-pcrmachine.service systemd-pcrphase.service systemd-pcrphase-sysinit.service
)

ubuntu_fetch() {
    local url=$1 out=$2
    curl -fsS --connect-timeout 20 --max-time 300 --retry 2 -o "$out" "$url" ||
        die "cannot reach the Ubuntu archive: fetching $url failed (set MEXEC_UBUNTU_MIRROR, or image_mirrors: ubuntu: in host.yaml, to a mirror this host can reach)"
}

# ubuntu_keyring OUT: the pinned archive keys, and only those, as a keyring file.
ubuntu_keyring() {
    local out=$1 src gnupg=$WORK/gnupg fpr got
    if [ -n "${MEXEC_UBUNTU_KEYRING:-}" ]; then
        src=$MEXEC_UBUNTU_KEYRING
        [ -f "$src" ] || die "MEXEC_UBUNTU_KEYRING=$src is not a file"
    else
        ubuntu_fetch "$UBUNTU_MIRROR/$UBUNTU_KEYRING_DEB" "$WORK/ubuntu-keyring.deb"
        dpkg-deb -x "$WORK/ubuntu-keyring.deb" "$WORK/ubuntu-keyring" ||
            die "$UBUNTU_MIRROR/$UBUNTU_KEYRING_DEB is not a Debian package"
        src=$WORK/ubuntu-keyring/$UBUNTU_KEYRING_IN_DEB
        [ -f "$src" ] || die "$UBUNTU_KEYRING_DEB holds no $UBUNTU_KEYRING_IN_DEB"
    fi
    mkdir -m 0700 "$gnupg"
    gpg --homedir "$gnupg" --batch --quiet --import "$src" 2>/dev/null ||
        die "cannot read the OpenPGP keys in $src"
    gpg --homedir "$gnupg" --batch --export "${UBUNTU_ARCHIVE_FPRS[@]}" >"$out"
    got=$(gpg --homedir "$gnupg" --batch --with-colons --show-keys "$out" 2>/dev/null |
        awk -F: '$1 == "pub" { want = 1 } $1 == "fpr" && want { print $10; want = 0 }' | sort)
    for fpr in "${UBUNTU_ARCHIVE_FPRS[@]}"; do
        grep -qx "$fpr" <<<"$got" || die "the Ubuntu keyring from $src lacks the pinned key $fpr"
    done
    [ "$(wc -l <<<"$got")" -eq "${#UBUNTU_ARCHIVE_FPRS[@]}" ] || die "unexpected keys exported: $got"
    log "archive keys verified against ${#UBUNTU_ARCHIVE_FPRS[@]} pinned fingerprints"
}

recipe_mirrors() {
    command -v gpg >/dev/null || die "missing host tool: gpg"
    command -v curl >/dev/null || die "missing host tool: curl"
    UBUNTU_MIRROR=${MEXEC_UBUNTU_MIRROR:-$UBUNTU_OFFICIAL}
    UBUNTU_MIRROR=${UBUNTU_MIRROR%/}
    local security=${MEXEC_UBUNTU_SECURITY_MIRROR:-}
    if [ -z "$security" ]; then
        if [ -n "${MEXEC_UBUNTU_MIRROR:-}" ]; then security=$UBUNTU_MIRROR; else security=$UBUNTU_OFFICIAL_SECURITY; fi
    fi
    ubuntu_keyring "$WORK/ubuntu-archive.gpg"
    MMDEBSTRAP_OPTS+=("--keyring=$WORK/ubuntu-archive.gpg")
    MIRRORS=(
        "deb $UBUNTU_MIRROR $SUITE main universe"
        "deb $UBUNTU_MIRROR $SUITE-updates main universe"
        "deb ${security%/} $SUITE-security main universe"
    )
}

recipe_customize() {
    local root=$1
    # The image's apt sources name Ubuntu's own archive, whichever mirror built it: a site's
    # mirror is a build-time setting (not part of the recipe hash) and is not baked in.
    cat >"$root/etc/apt/sources.list" <<EOF
deb $UBUNTU_OFFICIAL $SUITE main universe
deb $UBUNTU_OFFICIAL $SUITE-updates main universe
deb $UBUNTU_OFFICIAL_SECURITY $SUITE-security main universe
EOF
    rm -f "$root/etc/apt/sources.list.d/"*
    # No motd news fetch at login either, and no update-motd scripts at all: pam_motd runs
    # them at every SSH session (00-header starts python3 for lsb_release: seconds under TCG).
    printf 'ENABLED=0\n' >"$root/etc/default/motd-news"
    rm -f "$root"/etc/update-motd.d/*
    # sshd runs as a service from boot (24.04 would start it per connection from
    # ssh.socket: the host's first connection would pay sshd's start-up).
    rm -f "$root/etc/systemd/system/sockets.target.wants/ssh.socket"
    chroot "$root" systemctl mask ssh.socket >/dev/null 2>&1 || die "cannot mask ssh.socket"
    rm -f "$root/etc/systemd/system/ssh.service.requires/ssh.socket"
}

rl_main "$@"
