#!/usr/bin/env bash
# images/debian-12/recipe.sh OUTDIR — build the mexec "debian-12" machine image.
#
# Produces, in OUTDIR:
#   base.qcow2     ext4 root filesystem (no partition table, root=/dev/vda), 16G virtual
#   vmlinux        uncompressed kernel with a PVH entry note (boots ~2x faster under
#                  TCG than the bzImage), taken from the image's own kernel package
#   initrd.img     the image's initramfs (small: MODULES=list, virtio + ext4 only)
#   cmdline        the kernel command line to boot it with
#   manifest.json  sha256 and size of the artifacts, kernel version, build date
#
# How: mmdebstrap (bookworm, minbase) into a temporary directory, customised
# by hooks (this script re-invoked with --customize ROOT), then
# `mkfs.ext4 -d` into a sparse raw file and `qemu-img convert` to qcow2.
# No loop mounts.  Needs root (mmdebstrap's root mode chroots into the tree and
# installs packages as root so that ownership in the image is right).
#
# Host tools: mmdebstrap, mkfs.ext4 (e2fsprogs >= 1.43), qemu-img, xz, readelf
# (binutils), sha256sum.
#
# Environment:
#   MEXEC_DEBIAN_MIRROR  mmdebstrap MIRROR argument(s), space separated (URL,
#                        "deb ..." line or sources file).  Default: the host's
#                        own apt sources for bookworm, else deb.debian.org.
#   MEXEC_DISK_SIZE      virtual size of the root disk (default 16G)
#   MEXEC_KEEP_WORK=1    keep the temporary tree (for debugging)
set -euo pipefail

SUITE=bookworm
HOSTNAME_DEFAULT=mexec
JOB_USER=circleci

SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
COMMON=$(readlink -f "$HERE/../common")

# Packages on top of minbase.  Recommends are not installed (mmdebstrap's
# default), which keeps the image lean; everything needed is listed here.
PACKAGES=(
    systemd-sysv udev kmod dbus
    openssh-server sudo bash
    git jq curl ca-certificates python3
    iproute2 iptables procps netbase
    apparmor
    docker.io docker-compose
    libjansson4 libcurl4 libssl3
    util-linux e2fsprogs
    linux-image-amd64 initramfs-tools zstd
)

# Units that reach the network or only cost boot time in a throw-away job VM.
MASK_UNITS=(
    apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
    systemd-timesyncd.service
    e2scrub_all.timer e2scrub_all.service e2scrub_reap.service
    fstrim.timer fstrim.service
    man-db.timer man-db.service
    dpkg-db-backup.timer dpkg-db-backup.service
    logrotate.timer
    getty@tty1.service serial-getty@ttyS0.service console-getty.service
    systemd-networkd-wait-online.service
    # The image is immutable and these already ran at build time; with a
    # fresh overlay per job they would otherwise re-run on every boot
    # (ConditionNeedsUpdate= / ConditionFirstBoot=).
    systemd-hwdb-update.service ldconfig.service
    systemd-journal-catalog-update.service systemd-update-done.service
    systemd-journal-flush.service
    systemd-firstboot.service first-boot-complete.target
    systemd-pstore.service systemd-sysusers.service
    # Per-job VMs get their entropy from virtio-rng (+ random.trust_cpu); a
    # seed file baked into the image would be the same in every clone.
    systemd-random-seed.service
    # Only parses ip= from the kernel command line; networkd has a static config.
    systemd-network-generator.service
    # Loaded on demand anyway; at boot they only compete for the 2 vCPUs.
    modprobe@loop.service modprobe@fuse.service modprobe@dm_mod.service
    modprobe@drm.service modprobe@configfs.service modprobe@efi_pstore.service
    dev-hugepages.mount sys-kernel-debug.mount sys-kernel-tracing.mount
    sys-fs-fuse-connections.mount sys-kernel-config.mount
    # Loads the apparmor package's own profiles (lsb_release, nvidia_modprobe)
    # and sits before sysinit.target: ~3.5 s on every boot's critical path
    # under TCG.  AppArmor itself stays enabled in the kernel, and dockerd
    # loads its docker-default profile for containers by itself.
    apparmor.service
)

# systemd generators that have nothing to generate in a job VM (no LUKS,
# dm-verity/integrity, GPT auto-mounts, hibernation, SysV-only services,
# rc.local, getty on a masked console); each is a process at every boot.
MASK_GENERATORS=(
    systemd-cryptsetup-generator systemd-integritysetup-generator
    systemd-veritysetup-generator systemd-gpt-auto-generator
    systemd-hibernate-resume-generator systemd-sysv-generator
    systemd-rc-local-generator systemd-run-generator
    systemd-system-update-generator systemd-getty-generator
)

# Modules udev would load for QEMU's q35 board that a job never uses.  kvm is
# left alone: on a KVM host nested virtualization may be wanted by jobs.
BLACKLIST_MODULES=(
    pcspkr parport parport_pc ppdev floppy joydev serio_raw
    iTCO_wdt iTCO_vendor_support intel_pmc_bxt lpc_ich i2c_i801 i2c_smbus
)

# Kernel module trees that a virtio-only VM never needs (saves ~200 MB).
# Netfilter, bridge, overlay, veth, virtio, block, fs stay.
PRUNE_MODULE_DIRS=(
    sound
    drivers/gpu drivers/media drivers/infiniband drivers/staging
    drivers/net/wireless drivers/bluetooth drivers/isdn drivers/iio
    drivers/net/ethernet drivers/net/can drivers/net/usb drivers/usb/gadget
    drivers/scsi/qla2xxx drivers/scsi/lpfc drivers/scsi/mpt3sas drivers/scsi/bfa
    drivers/scsi/be2iscsi drivers/scsi/bnx2fc drivers/scsi/qedf drivers/scsi/qedi
    drivers/scsi/megaraid drivers/scsi/aacraid drivers/scsi/aic7xxx drivers/scsi/smartpqi
    drivers/net/hamradio drivers/net/wan drivers/net/ieee802154 drivers/comedi
    drivers/input/touchscreen drivers/input/joystick drivers/hwmon
    drivers/thunderbolt drivers/mtd drivers/w1 drivers/nfc drivers/platform/chrome
    net/wireless net/mac80211 net/bluetooth net/nfc net/ieee802154
)

# Kernel command line.  Everything here is about boot speed under TCG;
# apparmor stays on (docker needs it).
#   quiet                      serial output is slow under emulation
#   mitigations=off            no speculative-execution workarounds (ephemeral VM)
#   cryptomgr.notests          skip crypto self-tests (seconds under TCG)
#   init_on_alloc=0            Debian zeroes every allocation by default
#   random.trust_cpu=on        with virtio-rng: entropy is never waited for
#   fsck.mode=skip             root is a fresh overlay of a clean image
#   noresume, rootfstype=ext4  skip the initramfs' resume and fstype probing
#   8250.nr_uarts=1, i8042.*   don't probe hardware that is not there
CMDLINE="root=/dev/vda rw rootfstype=ext4 console=ttyS0 quiet loglevel=3 mitigations=off cryptomgr.notests init_on_alloc=0 random.trust_cpu=on fsck.mode=skip noresume 8250.nr_uarts=1 i8042.noaux i8042.nokbd i8042.nopnp nowatchdog"

log() { printf 'recipe(debian-12): %s\n' "$*" >&2; }
die() { printf 'recipe(debian-12): error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Hooks, run by mmdebstrap with the chroot directory as $1.
# ---------------------------------------------------------------------------

# Essential hook: runs before the non-essential packages (and the kernel) are
# installed, so that the initramfs is generated once, small, on the first try.
essential_hook() {
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

customize_hook() {
    local root=$1
    [ -d "$root/etc" ] || die "customize: $root is not a root filesystem"
    local in_root=(chroot "$root")

    # --- mexec seeding (shared with other recipes) ---
    install -D -m 0755 "$COMMON/mexec-seed" "$root/usr/local/sbin/mexec-seed"
    install -D -m 0644 "$COMMON/mexec-seed.service" "$root/etc/systemd/system/mexec-seed.service"
    install -D -m 0644 "$COMMON/50-mexec-sshd.conf" "$root/etc/ssh/sshd_config.d/50-mexec.conf"
    install -D -m 0644 "$COMMON/50-mexec-slirp.network" "$root/etc/systemd/network/50-mexec-slirp.network"
    install -D -m 0644 "$COMMON/50-mexec-journald.conf" "$root/etc/systemd/journald.conf.d/50-mexec.conf"

    # --- job user: like CircleCI's machine images ---
    "${in_root[@]}" useradd --create-home --home-dir "/home/$JOB_USER" --shell /bin/bash \
        --groups docker,sudo --user-group "$JOB_USER"
    # No password at all ('*'): only SSH public-key login is possible.
    "${in_root[@]}" usermod --password '*' "$JOB_USER"
    printf '%s ALL=(ALL:ALL) NOPASSWD:ALL\n' "$JOB_USER" >"$root/etc/sudoers.d/$JOB_USER"
    chmod 0440 "$root/etc/sudoers.d/$JOB_USER"
    "${in_root[@]}" visudo -c -q -f "/etc/sudoers.d/$JOB_USER"
    # ~/.ssh exists already (mexec-seed only installs authorized_keys);
    # /home/circleci/project is deliberately not created (checkout creates it).
    install -d -m 0700 "$root/home/$JOB_USER/.ssh"
    "${in_root[@]}" chown "$JOB_USER:$JOB_USER" "/home/$JOB_USER/.ssh"

    # --- identity, filesystems, name resolution ---
    printf '%s\n' "$HOSTNAME_DEFAULT" >"$root/etc/hostname"
    cat >"$root/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$HOSTNAME_DEFAULT
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
    printf '/dev/vda / ext4 defaults 0 1\n' >"$root/etc/fstab"
    # No systemd-resolved: slirp's DNS forwarder is fixed, write it directly.
    rm -f "$root/etc/resolv.conf"
    printf 'nameserver 10.0.2.3\n' >"$root/etc/resolv.conf"
    # Every VM must get its own machine id: empty file = generate at boot
    # without "first boot" semantics; dbus must not keep a baked copy.
    : >"$root/etc/machine-id"
    rm -f "$root/var/lib/dbus/machine-id"
    ln -s /etc/machine-id "$root/var/lib/dbus/machine-id"

    # --- SSH: no baked host keys (each job gets its own, via the seed) ---
    rm -f "$root"/etc/ssh/ssh_host_*

    # --- entropy: virtio-rng (also in the initramfs; this is belt and braces) ---
    # isofs: the seed filesystem; loaded by systemd-modules-load in parallel
    # with early boot instead of on demand on mexec-seed's critical path.
    printf 'virtio_rng\nisofs\n' >"$root/etc/modules-load.d/mexec.conf"

    # --- hardware a job never uses: not loaded at boot ---
    local m
    {
        printf '# mexec: QEMU q35 devices that a CI job does not use.\n'
        for m in "${BLACKLIST_MODULES[@]}"; do printf 'blacklist %s\n' "$m"; done
    } >"$root/etc/modprobe.d/mexec-blacklist.conf"

    # --- units ---
    "${in_root[@]}" systemctl enable systemd-networkd.service mexec-seed.service \
        ssh.service docker.service containerd.service
    local u
    for u in "${MASK_UNITS[@]}"; do
        "${in_root[@]}" systemctl mask "$u" >/dev/null 2>&1 || die "cannot mask $u"
    done
    mkdir -p "$root/etc/systemd/system-generators"
    for u in "${MASK_GENERATORS[@]}"; do
        ln -sfn /dev/null "$root/etc/systemd/system-generators/$u"
    done
    # ssh must not wait for docker: make sure nothing orders it after docker.
    if grep -rqs 'docker' "$root/lib/systemd/system/ssh.service" "$root/etc/systemd/system/ssh.service.d"; then
        die "ssh.service is ordered after docker"
    fi

    # --- containerd: docker uses it only as runtime; skip CRI (Kubernetes)
    # and snapshotters that probe for btrfs/zfs/devmapper/aufs at every start.
    local ctd=$root/etc/containerd/config.toml
    if [ -f "$ctd" ] && ! grep -q '^disabled_plugins' "$ctd"; then
        {
            printf '# mexec: plugins docker does not use (faster containerd start)\n'
            printf 'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]\n\n'
            cat "$ctd"
        } >"$ctd.new"
        mv "$ctd.new" "$ctd"
    fi
    # While the VM boots, sshd (the host is waiting for it) gets the CPU before
    # containerd/dockerd; StartupCPUWeight= only applies until boot finished.
    for u in containerd.service docker.service; do
        mkdir -p "$root/etc/systemd/system/$u.d"
        printf '[Service]\nStartupCPUWeight=10\n' >"$root/etc/systemd/system/$u.d/50-mexec.conf"
    done
    # No per-login run-parts of /etc/update-motd.d (uname) under emulation.
    rm -f "$root/etc/update-motd.d/10-uname"

    # --- kernel modules: drop hardware a virtio VM never has ---
    local kver d
    for kver in "$root"/lib/modules/*; do
        for d in "${PRUNE_MODULE_DIRS[@]}"; do
            rm -rf "${kver:?}/kernel/$d"
        done
        "${in_root[@]}" depmod -a "$(basename "$kver")"
    done

    # --- leftovers ---
    rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
        "$root"/var/lib/dpkg/*-old "$root"/var/log/apt/eipp.log.xz
    find "$root/var/log" -type f -name '*.log' -exec truncate -s 0 {} +
}

case "${1:-}" in
--essential) essential_hook "$2"; exit 0 ;;
--customize) customize_hook "$2"; exit 0 ;;
-h | --help | "")
    sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2
    [ -n "${1:-}" ] && exit 0
    exit 2
    ;;
esac

# ---------------------------------------------------------------------------
# Main build.
# ---------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap root mode, file ownership in the image)"
for t in mmdebstrap mkfs.ext4 qemu-img xz readelf sha256sum; do
    command -v "$t" >/dev/null || die "missing host tool: $t"
done
[ -f "$COMMON/mexec-seed" ] || die "missing $COMMON/mexec-seed"

OUTDIR=$1
mkdir -p "$OUTDIR"
OUTDIR=$(readlink -f "$OUTDIR")
DISK_SIZE=${MEXEC_DISK_SIZE:-16G}

# The work directory lives next to the output so that the big files are
# renamed, not copied, into place.
WORK=$(mktemp -d "$OUTDIR/.work.XXXXXX")
ROOT=$WORK/rootfs

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -d "$WORK" ]; then
        # Never rm -rf through a mount that mmdebstrap left behind (an
        # interrupted run can leave /dev, /proc or /sys bound inside).
        local m
        while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done < <(awk -v w="$WORK" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
        if [ "${MEXEC_KEEP_WORK:-0}" = 1 ]; then
            log "keeping $WORK"
        else
            rm -rf --one-file-system "$WORK"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
# Long steps run in the background so that a signal is handled at once: it
# is passed on to the step (mmdebstrap then unmounts what it mounted in the
# chroot), and cleanup runs once the step has exited.
CHILD=""
on_signal() {
    if [ -n "$CHILD" ]; then
        log "signal $1: stopping $CHILD and cleaning up"
        kill -"$1" "$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
    fi
    exit "$2"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
run() {
    "$@" &
    CHILD=$!
    local rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

T_START=$(date +%s.%N)
T_PHASE=$T_START
declare -a TIMINGS=()
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
phase_done() {
    local now
    now=$(date +%s.%N)
    TIMINGS+=("$(printf '%-12s %6s s' "$1" "$(elapsed "$T_PHASE" "$now")")")
    log "phase $1: $(elapsed "$T_PHASE" "$now") s"
    T_PHASE=$now
}

# --- mirrors: the host's apt sources for this suite --------------------------
MIRRORS=()
if [ -n "${MEXEC_DEBIAN_MIRROR:-}" ]; then
    read -r -a MIRRORS <<<"$MEXEC_DEBIAN_MIRROR"
else
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # Only Debian sources for this suite (not e.g. "cloud-sdk-bookworm").
        if grep -Eq "^[[:space:]]*(deb[[:space:]].*[[:space:]]|Suites:([[:space:]].*)?[[:space:]])$SUITE([[:space:]]|$)" "$f"; then
            MIRRORS+=("$f")
        fi
    done
    [ "${#MIRRORS[@]}" -gt 0 ] || MIRRORS=(http://deb.debian.org/debian)
fi
log "mirrors: ${MIRRORS[*]}"

# --- phase 1: root filesystem --------------------------------------------------
INCLUDE=$(IFS=,; echo "${PACKAGES[*]}")
log "mmdebstrap $SUITE (minbase + ${#PACKAGES[@]} packages) into $ROOT"
run mmdebstrap --mode=root --variant=minbase --format=directory \
    --aptopt='APT::Install-Recommends "false"' \
    --aptopt='APT::Install-Suggests "false"' \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --include="$INCLUDE" \
    --essential-hook="\"$SELF\" --essential \"\$1\"" \
    --customize-hook="\"$SELF\" --customize \"\$1\"" \
    "$SUITE" "$ROOT" "${MIRRORS[@]}"
phase_done mmdebstrap

# --- phase 2: kernel, initrd, cmdline -------------------------------------------
shopt -s nullglob
vmlinuz=("$ROOT"/boot/vmlinuz-*)
shopt -u nullglob
[ "${#vmlinuz[@]}" -eq 1 ] || die "expected exactly one /boot/vmlinuz-* in the image, found ${#vmlinuz[@]}"
KVER=${vmlinuz[0]##*/vmlinuz-}
[ -s "$ROOT/boot/initrd.img-$KVER" ] || die "no /boot/initrd.img-$KVER in the image"

# The bzImage carries the real kernel (an ELF with a PVH entry note) as an xz
# stream.  Try each occurrence of the xz magic until one decompresses to ELF.
found=""
while read -r off; do
    tail -c +"$((off + 1))" "${vmlinuz[0]}" | xz -dc --single-stream >"$WORK/vmlinux" 2>/dev/null || true
    if [ "$(head -c 4 "$WORK/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
        found=$off
        break
    fi
done < <(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "${vmlinuz[0]}" | cut -d: -f1)
[ -n "$found" ] || die "no xz-compressed ELF kernel found in ${vmlinuz[0]} (not CONFIG_KERNEL_XZ?)"
# XEN_ELFNOTE_PHYS32_ENTRY is note type 18; binutils 2.40 prints it as
# "Xen ... Unknown note type: (0x00000012)", newer ones as "...PHYS32_ENTRY".
if ! readelf -n "$WORK/vmlinux" | grep -Eq '^[[:space:]]*Xen[[:space:]].*(PHYS32_ENTRY|\(0x00000012\))'; then
    die "vmlinux has no Xen PHYS32_ENTRY (PVH) note; it would not boot with -kernel"
fi
cp "$ROOT/boot/initrd.img-$KVER" "$WORK/initrd.img"
printf '%s\n' "$CMDLINE" >"$WORK/cmdline"
log "kernel $KVER: vmlinux $(stat -c %s "$WORK/vmlinux") bytes (xz stream at offset $found), initrd $(stat -c %s "$WORK/initrd.img") bytes"
phase_done kernel

# --- phase 3: ext4 filesystem (no loop mount) -------------------------------------
truncate -s "$DISK_SIZE" "$WORK/root.raw"
# -d copies the tree with its owners, modes (setuid), xattrs and hard links;
# root_owner makes / itself root:root whoever runs this.
run mkfs.ext4 -q -F -L mexec-root -E root_owner=0:0 -d "$ROOT" "$WORK/root.raw"
phase_done mkfs.ext4

# --- phase 4: qcow2 ----------------------------------------------------------------
run qemu-img convert -f raw -O qcow2 "$WORK/root.raw" "$WORK/base.qcow2"
rm -f "$WORK/root.raw"
phase_done qemu-img

# --- phase 5: manifest, install -------------------------------------------------------
art_json() {
    local f=$1
    printf '"%s": {"sha256": "%s", "size": %s}' "$f" \
        "$(sha256sum "$WORK/$f" | cut -d' ' -f1)" "$(stat -c %s "$WORK/$f")"
}
vsize=$(qemu-img info --output=json "$WORK/base.qcow2" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' | head -n1)
{
    printf '{\n'
    printf '  "name": "debian-12",\n'
    printf '  "suite": "%s",\n' "$SUITE"
    printf '  "build_date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "kernel_version": "%s",\n' "$KVER"
    printf '  "cmdline": "%s",\n' "$CMDLINE"
    printf '  "virtual_size": %s,\n' "${vsize:-0}"
    printf '  "artifacts": {\n'
    printf '    %s,\n' "$(art_json base.qcow2)"
    printf '    %s,\n' "$(art_json vmlinux)"
    printf '    %s\n' "$(art_json initrd.img)"
    printf '  }\n'
    printf '}\n'
} >"$WORK/manifest.json"
for f in base.qcow2 vmlinux initrd.img cmdline manifest.json; do
    mv -f "$WORK/$f" "$OUTDIR/$f"
done
phase_done manifest

log "done in $(elapsed "$T_START" "$(date +%s.%N)") s: $OUTDIR"
for t in "${TIMINGS[@]}"; do log "  $t"; done
