#!/bin/bash
# tests/vm/make_cloud_image.sh [--path] — a cloud-style disk image for the import test
# (tests/vm/image_import_test.sh), built here from Debian packages because stock cloud images
# cannot be downloaded on the test machines.
#
# The image is what `mexec image import` is for: a compressed qcow2 holding a whole disk (MBR
# partition table, GRUB in the MBR and the gap after it, one ext4 root partition), Debian 12
# with the cloud kernel, cloud-init (NoCloud), cloud-guest-utils (growpart), openssh-server
# without host keys, sudo, curl and git (as Ubuntu's cloud images have them), an empty
# machine-id, and no docker or jq: import has to install them.  Like Debian's and Ubuntu's own
# cloud images it has no user with a password.
#
# Built without loop devices (root without loop devices is the rule on these machines):
# mmdebstrap into a directory; `mkfs.ext4 -d` into a file; `sfdisk` writes the partition table
# into the disk file and the filesystem goes in at the partition's offset (`dd conv=notrunc`);
# GRUB's core.img (grub-mkimage in the image's own tree, with an embedded config that finds
# the root filesystem by UUID) goes into the sectors after the MBR, and boot.img into the MBR
# with the fields grub-bios-setup would set (see install_grub below).
#
# Cached by the hash of this script under IMAGE_STORE/test-cloud/HASH/ (IMAGE_STORE is
# $MEXEC_TEST_IMAGE_STORE or /var/lib/mexec/images): cloud.qcow2, cloud.qcow2.sha256 and
# probe/ (what images/import/probe.sh reports in the image, its dpkg status and archive
# keyring).  Every run (not --path) then fills the host's .deb cache for importing this image
# (images/import/fetch-debs.sh with probe/), which needs the network: run it outside the test
# namespace, as scripts/test.sh does, before the VM tests.
#
#   --path   print the cached image's directory, or fail if it is not built (no network used)
#
# Environment: MEXEC_DEBIAN_MIRROR as for images/debian-12/recipe.sh; MEXEC_DEB_CACHE the
# .deb cache (default: /var/lib/mexec/cache/debs, what mexec uses for the default image store).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
IMPORT_DIR=$(readlink -f "$HERE/../../images/import")
SUITE=bookworm
DISK_GIB=2 # the root filesystem; import grows the disk and growpart the partition
PACKAGES=(
    systemd-sysv udev kmod dbus procps iproute2 netbase ifupdown isc-dhcp-client
    linux-image-cloud-amd64 grub-pc-bin
    cloud-init cloud-guest-utils openssh-server sudo apparmor ca-certificates curl git
)
# What Debian's cloud images pass the kernel (serial console for the cloud's log).
CMDLINE="ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0"

log() { printf 'make_cloud_image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- customize hook: runs with the mmdebstrap tree as $2, $3 the root UUID ----------------
customize() {
    local root=$1 uuid=$2
    printf 'UUID=%s / ext4 rw,discard,errors=remount-ro 0 1\n' "$uuid" >"$root/etc/fstab"
    printf 'debian\n' >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n' >"$root/etc/hosts"
    # ifupdown reads what cloud-init renders (eni) from interfaces.d
    printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' \
        >"$root/etc/network/interfaces"
    # as cloud images ship: no host keys (made at first boot), machine-id empty
    rm -f "$root"/etc/ssh/ssh_host_*
    : >"$root/etc/machine-id"
    rm -f "$root/var/lib/dbus/machine-id"
    local kver
    kver=$(basename "$(ls -d "$root"/lib/modules/*)")
    mkdir -p "$root/boot/grub/i386-pc"
    cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"
    cat >"$root/boot/grub/grub.cfg" <<EOF
set timeout=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry 'Debian GNU/Linux' {
    search --no-floppy --fs-uuid --set=root $uuid
    linux /boot/vmlinuz-$kver root=UUID=$uuid $CMDLINE
    initrd /boot/initrd.img-$kver
}
EOF
    # core.img: GRUB's kernel with what it needs to find and read grub.cfg (grub-mkimage adds
    # the modules these depend on); its embedded config finds the root by UUID
    # shellcheck disable=SC2016 # $root is GRUB's variable
    printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)/boot/grub\n' \
        "$uuid" >"$root/tmp/early.cfg"
    chroot "$root" grub-mkimage -O i386-pc -o /boot/grub/i386-pc/core.img -c /tmp/early.cfg -p /boot/grub \
        biosdisk part_msdos ext2 search search_fs_uuid normal configfile linux serial terminal \
        echo test
    rm -f "$root/tmp/early.cfg"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
}

# --- GRUB without grub-install: what grub-bios-setup does for an MBR disk -----------------
# boot.img (one sector) goes into the MBR before the partition table; it loads the first sector
# of core.img (diskboot) from the sector its KERNEL_SECTOR field names, and diskboot reads the
# rest from the blocklist at the end of that sector.  Offsets from GRUB's
# include/grub/i386/pc/boot.h and grub-bios-setup (util/setup.c).
le() { # le VALUE BYTES: VALUE as BYTES little-endian bytes, as printf escapes
    local v=$1 n=$2 i out=""
    for ((i = 0; i < n; i++)); do
        out+=$(printf '\\x%02x' $((v & 0xff)))
        v=$((v >> 8))
    done
    printf '%s' "$out"
}
patch() { # patch FILE OFFSET ESCAPED-BYTES
    # shellcheck disable=SC2059 # the bytes are printf escapes by design
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
install_grub() {
    local disk=$1 boot_img=$2 core_img=$3 sectors
    sectors=$((($(stat -c %s "$core_img") + 511) / 512))
    ((sectors < 2047)) || die "core.img ($sectors sectors) does not fit before the partition"
    cp "$core_img" "$WORK/core.patched"
    # diskboot's blocklist (start u64, len u16, segment u16) at 0x1f4: the rest of core.img
    # from sector 2, loaded at segment 0x820
    patch "$WORK/core.patched" $((0x1f4)) "$(le 2 8)$(le $((sectors - 1)) 2)$(le $((0x820)) 2)"
    dd if="$WORK/core.patched" of="$disk" bs=512 seek=1 conv=notrunc status=none
    # boot.img: code up to the disk signature (0x1b8), keeping the partition table
    cp "$boot_img" "$WORK/boot.patched"
    patch "$WORK/boot.patched" $((0x5c)) "$(le 1 8)"   # KERNEL_SECTOR: core.img at sector 1
    patch "$WORK/boot.patched" $((0x64)) '\xff'        # BOOT_DRIVE: the drive BIOS booted
    patch "$WORK/boot.patched" $((0x66)) '\x90\x90'    # DRIVE_CHECK: nop, as for hard disks
    dd if="$WORK/boot.patched" of="$disk" bs=1 count=$((0x1b8)) conv=notrunc status=none
}

case "${1:-}" in
--customize) customize "$2" "$3"; exit 0 ;;
--path | "") ;;
*) die "usage: $0 [--path]" ;;
esac

HASH=$(sha256sum "$SELF" | cut -c1-64)
STORE=${MEXEC_TEST_IMAGE_STORE:-/var/lib/mexec/images}/test-cloud
OUT=$STORE/$HASH
if [[ ${1:-} == --path ]]; then
    [[ -s $OUT/cloud.qcow2 ]] ||
        die "the cloud-style test image is not built; run $0 (outside the test namespace)"
    echo "$OUT"
    exit 0
fi
[[ $EUID -eq 0 ]] || die "must run as root (mmdebstrap root mode)"
for t in mmdebstrap mkfs.ext4 sfdisk qemu-img sha256sum; do
    command -v "$t" >/dev/null || die "missing host tool: $t (scripts/setup-host.sh)"
done

if [[ ! -s $OUT/cloud.qcow2 ]]; then
    mkdir -p "$STORE"
    WORK=$(mktemp -d "$STORE/.build-XXXXXX")
    # shellcheck disable=SC2317 # runs from the trap
    cleanup() {
        local m
        # never rm -rf through a mount an interrupted mmdebstrap left behind
        while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
            awk -v w="$WORK" 'index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
        rm -rf --one-file-system "$WORK"
    }
    trap cleanup EXIT
    MIRRORS=()
    if [[ -n ${MEXEC_DEBIAN_MIRROR:-} ]]; then
        read -r -a MIRRORS <<<"$MEXEC_DEBIAN_MIRROR"
    else
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
            [[ -f $f ]] || continue
            if grep -Eq "^[[:space:]]*(deb[[:space:]].*[[:space:]]|Suites:([[:space:]].*)?[[:space:]])$SUITE([[:space:]]|$)" "$f"; then
                MIRRORS+=("$f")
            fi
        done
        ((${#MIRRORS[@]})) || MIRRORS=(http://deb.debian.org/debian)
    fi
    uuid=$(cat /proc/sys/kernel/random/uuid)
    ROOT=$WORK/rootfs
    log "mmdebstrap $SUITE into $ROOT"
    mmdebstrap --mode=root --variant=minbase --format=directory \
        --aptopt='APT::Install-Recommends "false"' --aptopt='Acquire::Languages "none"' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --include="$(IFS=,; echo "${PACKAGES[*]}")" \
        --customize-hook="\"$SELF\" --customize \"\$1\" $uuid" \
        "$SUITE" "$ROOT" "${MIRRORS[@]}"

    # what import's probe would find in this image, for filling the .deb cache
    mkdir -p "$WORK/probe"
    cp "$IMPORT_DIR/probe.sh" "$ROOT/tmp/probe.sh"
    chroot "$ROOT" sh /tmp/probe.sh >"$WORK/probe/facts"
    rm -f "$ROOT/tmp/probe.sh"
    cp "$ROOT/var/lib/dpkg/status" "$WORK/probe/status"
    cp "$ROOT/usr/share/keyrings/debian-archive-keyring.gpg" "$WORK/probe/keyring.gpg"

    log "root filesystem, partition table, GRUB"
    cp "$ROOT/boot/grub/i386-pc/core.img" "$WORK/core.img"
    truncate -s "${DISK_GIB}G" "$WORK/root.ext4"
    mkfs.ext4 -q -F -L cloudimg-rootfs -U "$uuid" -E root_owner=0:0 -d "$ROOT" "$WORK/root.ext4"
    truncate -s $((DISK_GIB * 1024 * 1024 * 1024 + 1024 * 1024)) "$WORK/disk.raw"
    printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$WORK/disk.raw"
    dd if="$WORK/root.ext4" of="$WORK/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
    rm -f "$WORK/root.ext4"
    install_grub "$WORK/disk.raw" "$ROOT/usr/lib/grub/i386-pc/boot.img" "$WORK/core.img"

    log "compressed qcow2 (as cloud images are published)"
    qemu-img convert -c -f raw -O qcow2 "$WORK/disk.raw" "$WORK/cloud.qcow2"
    sha256sum "$WORK/cloud.qcow2" | cut -c1-64 >"$WORK/cloud.qcow2.sha256"
    mkdir -p "$WORK/out"
    mv "$WORK/cloud.qcow2" "$WORK/cloud.qcow2.sha256" "$WORK/probe" "$WORK/out/"
    chmod -R go+rX "$WORK/out"
    mv -T "$WORK/out" "$OUT" 2>/dev/null || [[ -s $OUT/cloud.qcow2 ]] || die "cannot store $OUT"
    log "built $OUT"
    # builds of earlier versions of this script are of no further use
    for old in "$STORE"/*; do
        [[ $old != "$OUT" && ${old##*/} =~ ^[0-9a-f]{64}$ ]] || continue
        log "removing $old (an earlier version of this script)"
        rm -rf --one-file-system "$old"
    done
fi

# The .deb cache: what import would download for this image, fetched now (with network).
"$IMPORT_DIR/fetch-debs.sh" --cache "${MEXEC_DEB_CACHE:-/var/lib/mexec/cache/debs}" \
    --facts "$OUT/probe/facts" --status "$OUT/probe/status" --keyring "$OUT/probe/keyring.gpg" \
    --list /dev/null
echo "$OUT"
