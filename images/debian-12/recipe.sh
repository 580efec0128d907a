#!/usr/bin/env bash
# images/debian-12/recipe.sh OUTDIR — build the mexec "debian-12" machine image.
#
# Debian 12 (bookworm) from Debian's archive; what every recipe does (hooks, unit masking,
# seed, job user, kernel extraction, mkfs, qcow2, manifest) is in images/common/recipe-lib.sh,
# which also lists the artifacts written to OUTDIR.  Specific to this image: Debian's generic
# kernel (linux-image-amd64, xz-compressed), which loads virtio-blk as a module and so boots
# through its own small initramfs (MODULES=list: virtio + ext4 only).
#
# Host tools: mmdebstrap, mkfs.ext4 (e2fsprogs >= 1.43), qemu-img, xz, readelf
# (binutils), sha256sum, dpkg-query.
#
# Environment:
#   MEXEC_DEBIAN_MIRROR  mmdebstrap MIRROR argument(s), space separated (URL,
#                        "deb ..." line or sources file).  Default: the host's
#                        own apt sources for bookworm, else deb.debian.org.
#                        mexec sets it from host.yaml `image_mirrors: debian:`.
#   MEXEC_DISK_SIZE      virtual size of the root disk (default 16G)
#   MEXEC_KEEP_WORK=1    keep the temporary tree (for debugging)
set -euo pipefail

RECIPE_NAME=debian-12
SUITE=bookworm
# shellcheck source=images/common/recipe-lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../common/recipe-lib.sh"

PACKAGES=(
    systemd-sysv udev kmod dbus
    openssh-server sudo bash
    git jq curl ca-certificates python3
    iproute2 iptables procps netbase
    apparmor
    docker.io docker-compose
    util-linux e2fsprogs
    linux-image-amd64 initramfs-tools zstd
)
INITRD=image
CMDLINE="root=/dev/vda rw rootfstype=ext4 $RL_CMDLINE_SPEED"

recipe_mirrors() {
    if [ -n "${MEXEC_DEBIAN_MIRROR:-}" ]; then
        read -r -a MIRRORS <<<"$MEXEC_DEBIAN_MIRROR"
        return
    fi
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # Only Debian sources for this suite (not e.g. "cloud-sdk-bookworm").
        if grep -Eq "^[[:space:]]*(deb[[:space:]].*[[:space:]]|Suites:([[:space:]].*)?[[:space:]])$SUITE([[:space:]]|$)" "$f"; then
            MIRRORS+=("$f")
        fi
    done
    [ "${#MIRRORS[@]}" -gt 0 ] || MIRRORS=(http://deb.debian.org/debian)
}

# Runs before the non-essential packages (and the kernel) are installed, so
# that the initramfs is generated once, small, on the first try.
recipe_essential() {
    local root=$1
    mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/usr/share/initramfs-tools/modules.d"
    cat >"$root/etc/initramfs-tools/conf.d/mexec.conf" <<'EOF'
# mexec: the VM's hardware is known (virtio); MODULES=dep cannot work in a
# chroot and MODULES=most makes a 30+ MB initrd that is slow to unpack.
MODULES=list
COMPRESS=zstd
RESUME=none
EOF
    cat >"$root/usr/share/initramfs-tools/modules.d/mexec.conf" <<'EOF'
# mexec: modules needed to mount the root filesystem in a virtio VM.
virtio_pci
virtio_blk
ext4
crc32c_generic
crc32c_intel
virtio_rng
EOF
}

rl_main "$@"
