# shellcheck shell=bash
# images/common/recipe-lib.sh — what every mexec machine-image recipe does (sourced).
#
# A recipe (images/NAME/recipe.sh) states only its release's specifics, sources this file and
# calls `rl_main "$@"`.  It sets, before rl_main:
#   RECIPE_NAME        the image name (log prefix, manifest)
#   SUITE              the archive suite (bookworm, jammy, ...)
#   PACKAGES=(...)     installed on top of mmdebstrap's minbase, kernel included
#   CMDLINE            the kernel command line (RL_CMDLINE_SPEED holds the shared speed options)
#   INITRD             "image": the image's own /boot/initrd.img-KVER;
#                      "none":  an empty initramfs (the kernel has virtio-blk and ext4 built in,
#                               finds no /init and mounts root= itself: no initramfs stage)
# and may set or define:
#   EXTRA_MASK_UNITS=(...)   units masked on top of RL_MASK_UNITS
#   MMDEBSTRAP_OPTS=(...)    extra mmdebstrap options (set by recipe_mirrors, e.g. --keyring)
#   recipe_mirrors           sets MIRRORS=(...) (mmdebstrap MIRROR arguments); may use $WORK
#   recipe_essential ROOT    mmdebstrap essential hook (before the non-essential packages)
#   recipe_customize ROOT    runs after the shared customization
#
# rl_main OUTDIR builds, in OUTDIR:
#   base.qcow2     ext4 root filesystem (no partition table, root=/dev/vda), 16G virtual
#   vmlinux        uncompressed kernel with a PVH entry note (boots ~2x faster under TCG than
#                  the bzImage), extracted from the image's own kernel package
#   initrd.img     see INITRD above
#   cmdline        the kernel command line to boot it with
#   packages.tsv   every installed package and its version
#   manifest.json  sha256 and size of the artifacts, kernel version, build date, the versions
#                  of the tools a job uses (docs/images.md is generated from it)
# How: mmdebstrap (minbase) into a temporary directory, customised by hooks (the recipe
# re-invoked with --essential/--customize ROOT), then `mkfs.ext4 -d` into a sparse raw file
# and `qemu-img convert` to qcow2.  No loop mounts.  Needs root (mmdebstrap's root mode
# chroots into the tree and installs packages as root so that ownership is right).
#
# Shared environment: MEXEC_DISK_SIZE (virtual size of the root disk, default 16G),
# MEXEC_KEEP_WORK=1 (keep the temporary tree, for debugging).

JOB_USER=circleci
HOSTNAME_DEFAULT=mexec
RL_LIB_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
RL_SELF=$(readlink -f "$0")
EXTRA_MASK_UNITS=()
MMDEBSTRAP_OPTS=()
MIRRORS=()

# Units that reach the network or only cost boot time in a throw-away job VM.  Masking a unit a
# release does not have is harmless (the /dev/null link just stays unused).
RL_MASK_UNITS=(
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
RL_MASK_GENERATORS=(
    systemd-cryptsetup-generator systemd-integritysetup-generator
    systemd-veritysetup-generator systemd-gpt-auto-generator
    systemd-hibernate-resume-generator systemd-sysv-generator
    systemd-rc-local-generator systemd-run-generator
    systemd-system-update-generator systemd-getty-generator
)

# Modules udev would load for QEMU's q35 board that a job never uses.  kvm is
# left alone: on a KVM host nested virtualization may be wanted by jobs.
RL_BLACKLIST_MODULES=(
    pcspkr parport parport_pc ppdev floppy joydev serio_raw
    iTCO_wdt iTCO_vendor_support intel_pmc_bxt lpc_ich i2c_i801 i2c_smbus
)

# Kernel module trees that a virtio-only VM never needs (saves ~200 MB with a
# distribution's generic kernel).  Netfilter, bridge, overlay, veth, virtio,
# block, fs stay.
RL_PRUNE_MODULE_DIRS=(
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

# Kernel command line options shared by every image.  Everything here is about
# boot speed under TCG; apparmor stays on (docker needs it).
#   quiet                      serial output is slow under emulation
#   mitigations=off            no speculative-execution workarounds (ephemeral VM)
#   cryptomgr.notests          skip crypto self-tests (seconds under TCG)
#   init_on_alloc=0            distributions zero every allocation by default
#   random.trust_cpu=on        with virtio-rng: entropy is never waited for
#   fsck.mode=skip             root is a fresh overlay of a clean image
#   noresume, rootfstype=ext4  skip resume and fstype probing
#   8250.nr_uarts=1, i8042.*   don't probe hardware that is not there
RL_CMDLINE_SPEED="console=ttyS0 quiet loglevel=3 mitigations=off cryptomgr.notests init_on_alloc=0 random.trust_cpu=on fsck.mode=skip noresume 8250.nr_uarts=1 i8042.noaux i8042.nokbd i8042.nopnp nowatchdog"

# Packages whose versions the manifest lists (what a job uses; docs/images.md).
RL_MANIFEST_PACKAGES=(
    docker.io containerd runc docker-compose-v2 docker-compose docker-buildx
    git jq curl python3 gcc make openssh-client openssh-server sudo unzip zip ca-certificates
    systemd libc6 apparmor iptables
)

log() { printf 'recipe(%s): %s\n' "$RECIPE_NAME" "$*" >&2; }
die() { printf 'recipe(%s): error: %s\n' "$RECIPE_NAME" "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Hooks, run by mmdebstrap with the chroot directory as $1.
# ---------------------------------------------------------------------------

rl_customize() {
    local root=$1
    [ -d "$root/etc" ] || die "customize: $root is not a root filesystem"
    local in_root=(chroot "$root")

    # --- mexec seeding (shared with other recipes) ---
    install -D -m 0755 "$RL_LIB_DIR/mexec-seed" "$root/usr/local/sbin/mexec-seed"
    install -D -m 0644 "$RL_LIB_DIR/mexec-seed.service" "$root/etc/systemd/system/mexec-seed.service"
    install -D -m 0644 "$RL_LIB_DIR/50-mexec-sshd.conf" "$root/etc/ssh/sshd_config.d/50-mexec.conf"
    install -D -m 0644 "$RL_LIB_DIR/50-mexec-slirp.network" "$root/etc/systemd/network/50-mexec-slirp.network"
    install -D -m 0644 "$RL_LIB_DIR/50-mexec-journald.conf" "$root/etc/systemd/journald.conf.d/50-mexec.conf"

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
        for m in "${RL_BLACKLIST_MODULES[@]}"; do printf 'blacklist %s\n' "$m"; done
    } >"$root/etc/modprobe.d/mexec-blacklist.conf"

    # --- units ---
    "${in_root[@]}" systemctl enable systemd-networkd.service mexec-seed.service \
        ssh.service docker.service containerd.service
    local u
    for u in "${RL_MASK_UNITS[@]}" "${EXTRA_MASK_UNITS[@]}"; do
        "${in_root[@]}" systemctl mask "$u" >/dev/null 2>&1 || die "cannot mask $u"
    done
    mkdir -p "$root/etc/systemd/system-generators"
    for u in "${RL_MASK_GENERATORS[@]}"; do
        ln -sfn /dev/null "$root/etc/systemd/system-generators/$u"
    done
    # ssh must not wait for docker: make sure nothing orders it after docker.
    if grep -rqs 'docker' "$root/lib/systemd/system/ssh.service" "$root/etc/systemd/system/ssh.service.d"; then
        die "ssh.service is ordered after docker"
    fi

    rl_containerd_lean "$root/etc/containerd/config.toml"
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
        [ -d "$kver" ] || continue
        for d in "${RL_PRUNE_MODULE_DIRS[@]}"; do
            rm -rf "${kver:?}/kernel/$d"
        done
        "${in_root[@]}" depmod -a "$(basename "$kver")"
    done

    if declare -F recipe_customize >/dev/null; then recipe_customize "$root"; fi

    # --- leftovers ---
    rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
        "$root"/var/lib/dpkg/*-old "$root"/var/log/apt/eipp.log.xz
    find "$root/var/log" -type f -name '*.log' -exec truncate -s 0 {} +
}

# containerd: docker uses it only as runtime; skip CRI (Kubernetes) and the
# snapshotters that probe for btrfs/zfs/devmapper/aufs at every start.  The
# CRI plugin's IDs of containerd 1.x and 2.x are both listed: an ID that a
# version does not have is ignored.  Debian's package ships a config.toml (the
# line goes on top); Ubuntu's ships none, so one is written (format version 2:
# containerd 1.7 reads it, 2.x migrates it when it loads it).
rl_containerd_lean() {
    local ctd=$1
    grep -qs '^disabled_plugins' "$ctd" && return 0
    [ -d "$(dirname "$ctd")" ] || mkdir -p "$(dirname "$ctd")"
    {
        printf '# mexec: plugins docker does not use (faster containerd start)\n'
        [ -f "$ctd" ] || printf 'version = 2\n'
        printf 'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]\n\n'
        [ ! -f "$ctd" ] || cat "$ctd"
    } >"$ctd.new"
    mv "$ctd.new" "$ctd"
}

# ---------------------------------------------------------------------------
# Kernel: the vmlinux inside the bzImage.
# ---------------------------------------------------------------------------

# le32 FILE OFFSET / u8 FILE OFFSET: little-endian integers from a file.
le32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' \n'; }
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n'; }

# rl_extract_vmlinux BZIMAGE OUT: writes the ELF kernel that the bzImage carries to OUT.
# The x86 boot header says where the compressed payload is (payload_offset at 0x248 and
# payload_length at 0x24c, from the start of the protected-mode code, which follows
# setup_sects+1 sectors); the payload's last 4 bytes are the uncompressed size.  The format
# is read from the payload's magic: Debian compresses with xz, Ubuntu with lz4 (20.04) or
# zstd (22.04, 24.04); gzip is what a kernel built with defaults uses.
rl_extract_vmlinux() {
    local bz=$1 out=$2
    [ "$(dd if="$bz" bs=1 skip=$((0x202)) count=4 status=none)" = HdrS ] || die "$bz is not a bzImage (no HdrS boot header)"
    local setup off len want magic dec
    setup=$(u8 "$bz" $((0x1f1)))
    [ "$setup" -ne 0 ] || setup=4
    off=$(((setup + 1) * 512 + $(le32 "$bz" $((0x248)))))
    len=$(le32 "$bz" $((0x24c)))
    [ "$len" -gt 4 ] && [ $((off + len)) -le "$(stat -c %s "$bz")" ] || die "$bz: payload $off+$len is outside the file"
    want=$(le32 "$bz" $((off + len - 4)))
    magic=$(od -An -tx1 -j "$off" -N4 "$bz" | tr -d ' \n')
    case $magic in
    fd377a58) dec=(xz -dc --single-stream) ;;
    02214c18) dec=(lz4 -dc) ;;
    28b52ffd) dec=(zstd -dcq) ;;
    1f8b08*) dec=(gzip -dc) ;;
    *) die "$bz: unknown kernel compression (payload magic $magic)" ;;
    esac
    command -v "${dec[0]}" >/dev/null || die "missing host tool ${dec[0]} (to unpack this ${dec[0]}-compressed kernel)"
    # dd, not tail|head: under pipefail a tail cut short by head would fail the pipeline
    dd if="$bz" bs=4M iflag=skip_bytes,count_bytes skip="$off" count=$((len - 4)) status=none |
        "${dec[@]}" >"$out" ||
        die "$bz: ${dec[0]} could not decompress the kernel payload"
    [ "$(stat -c %s "$out")" = "$want" ] || die "$bz: unpacked $(stat -c %s "$out") bytes, the header says $want"
    [ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || die "$bz: the payload is not an ELF kernel"
    # XEN_ELFNOTE_PHYS32_ENTRY is note type 18; binutils 2.40 prints it as
    # "Xen ... Unknown note type: (0x00000012)", newer ones as "...PHYS32_ENTRY".
    if ! readelf -n "$out" | grep -Eq '^[[:space:]]*Xen[[:space:]].*(PHYS32_ENTRY|\(0x00000012\))'; then
        die "vmlinux has no Xen PHYS32_ENTRY (PVH) note; it would not boot with -kernel"
    fi
    RL_KERNEL_FORMAT=${dec[0]}
}

# An initramfs holding nothing (a newc cpio trailer): the kernel unpacks it, finds no /init and
# mounts root= itself.  Boot code and tools all expect an initrd.img, so INITRD=none images ship
# this instead of none at all.
rl_empty_initrd() {
    local name='TRAILER!!!'
    {
        printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
            0 0 0 0 1 0 0 0 0 0 0 $((${#name} + 1)) 0
        printf '%s\0\0\0\0' "$name"
    } >"$1"
    truncate -s 512 "$1"
}

# ---------------------------------------------------------------------------
# Main build.
# ---------------------------------------------------------------------------

rl_usage() {
    sed -n '2,/^set -euo/p' "$RL_SELF" | sed '$d; s/^# \{0,1\}//' >&2
}

T_START=0
T_PHASE=0
TIMINGS=()
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
phase_done() {
    local now
    now=$(date +%s.%N)
    TIMINGS+=("$(printf '%-12s %6s s' "$1" "$(elapsed "$T_PHASE" "$now")")")
    log "phase $1: $(elapsed "$T_PHASE" "$now") s"
    T_PHASE=$now
}

rl_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
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

# Long steps run in the background so that a signal is handled at once: it
# is passed on to the step, and cleanup runs once the step has exited.  Each
# step is a process group of its own (setsid) and the signal goes to the whole
# group: mmdebstrap's main process alone only waits for its setup process to
# finish the whole installation, while the setup process, signalled too, stops
# and unmounts what it mounted in the chroot.
CHILD=""
rl_on_signal() {
    if [ -n "$CHILD" ]; then
        log "signal $1: stopping $CHILD and cleaning up"
        kill -"$1" -- -"$CHILD" 2>/dev/null || kill -"$1" "$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
    fi
    exit "$2"
}
run() {
    setsid "$@" &
    CHILD=$!
    local rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

rl_main() {
    case "${1:-}" in
    --essential)
        if declare -F recipe_essential >/dev/null; then recipe_essential "$2"; fi
        exit 0
        ;;
    --customize) rl_customize "$2"; exit 0 ;;
    -h | --help) rl_usage; exit 0 ;;
    "") rl_usage; exit 2 ;;
    esac
    [ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap root mode, file ownership in the image)"
    local t
    for t in mmdebstrap mkfs.ext4 qemu-img readelf sha256sum dpkg-query; do
        command -v "$t" >/dev/null || die "missing host tool: $t"
    done
    [ -f "$RL_LIB_DIR/mexec-seed" ] || die "missing $RL_LIB_DIR/mexec-seed"

    OUTDIR=$1
    mkdir -p "$OUTDIR"
    OUTDIR=$(readlink -f "$OUTDIR")
    local disk_size=${MEXEC_DISK_SIZE:-16G}
    # The work directory lives next to the output so that the big files are
    # renamed, not copied, into place.
    WORK=$(mktemp -d "$OUTDIR/.work.XXXXXX")
    local root=$WORK/rootfs
    trap rl_cleanup EXIT
    trap 'rl_on_signal INT 130' INT
    trap 'rl_on_signal TERM 143' TERM
    T_START=$(date +%s.%N)
    T_PHASE=$T_START

    declare -F recipe_mirrors >/dev/null || die "the recipe defines no recipe_mirrors"
    recipe_mirrors
    [ "${#MIRRORS[@]}" -gt 0 ] || die "recipe_mirrors set no MIRRORS"
    log "mirrors: ${MIRRORS[*]}"

    # --- phase 1: root filesystem ----------------------------------------------
    local include
    include=$(IFS=,; echo "${PACKAGES[*]}")
    log "mmdebstrap $SUITE (minbase + ${#PACKAGES[@]} packages) into $root"
    # Recommends are not installed (mmdebstrap's default), which keeps the
    # image lean; everything needed is listed in PACKAGES.  The setup hook keeps
    # the man1 directory that the man-page exclusion would drop: 20.04's dash
    # links sh.1.gz there in its postinst and fails without it.
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
        "${MMDEBSTRAP_OPTS[@]}" \
        --include="$include" \
        --setup-hook='mkdir -p "$1/usr/share/man/man1"' \
        --essential-hook="\"$RL_SELF\" --essential \"\$1\"" \
        --customize-hook="\"$RL_SELF\" --customize \"\$1\"" \
        "$SUITE" "$root" "${MIRRORS[@]}"
    phase_done mmdebstrap

    # --- phase 2: kernel, initrd, cmdline ------------------------------------------
    shopt -s nullglob
    local vmlinuz=("$root"/boot/vmlinuz-*)
    shopt -u nullglob
    [ "${#vmlinuz[@]}" -eq 1 ] || die "expected exactly one /boot/vmlinuz-* in the image, found ${#vmlinuz[@]}"
    KVER=${vmlinuz[0]##*/vmlinuz-}
    rl_extract_vmlinux "${vmlinuz[0]}" "$WORK/vmlinux"
    case $INITRD in
    image)
        [ -s "$root/boot/initrd.img-$KVER" ] || die "no /boot/initrd.img-$KVER in the image"
        cp "$root/boot/initrd.img-$KVER" "$WORK/initrd.img"
        ;;
    none) rl_empty_initrd "$WORK/initrd.img" ;;
    *) die "INITRD must be image or none, not '$INITRD'" ;;
    esac
    printf '%s\n' "$CMDLINE" >"$WORK/cmdline"
    log "kernel $KVER: vmlinux $(stat -c %s "$WORK/vmlinux") bytes ($RL_KERNEL_FORMAT), initrd $(stat -c %s "$WORK/initrd.img") bytes ($INITRD)"
    dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\n' |
        awk -F'\t' '$1 ~ /^ii/ { print $2 "\t" $3 }' | sort >"$WORK/packages.tsv"
    phase_done kernel

    # --- phase 3: ext4 filesystem (no loop mount) ----------------------------------
    truncate -s "$disk_size" "$WORK/root.raw"
    # -d copies the tree with its owners, modes (setuid), xattrs and hard links;
    # root_owner makes / itself root:root whoever runs this.
    run mkfs.ext4 -q -F -L mexec-root -E root_owner=0:0 -d "$root" "$WORK/root.raw"
    phase_done mkfs.ext4

    # --- phase 4: qcow2 ----------------------------------------------------------------
    run qemu-img convert -f raw -O qcow2 "$WORK/root.raw" "$WORK/base.qcow2"
    rm -f "$WORK/root.raw"
    phase_done qemu-img

    # --- phase 5: manifest, install ------------------------------------------------------
    rl_manifest >"$WORK/manifest.json"
    local f
    for f in base.qcow2 vmlinux initrd.img cmdline packages.tsv manifest.json; do
        mv -f "$WORK/$f" "$OUTDIR/$f"
    done
    phase_done manifest

    log "done in $(elapsed "$T_START" "$(date +%s.%N)") s: $OUTDIR"
    for t in "${TIMINGS[@]}"; do log "  $t"; done
}

rl_art_json() {
    local f=$1
    printf '"%s": {"sha256": "%s", "size": %s}' "$f" \
        "$(sha256sum "$WORK/$f" | cut -d' ' -f1)" "$(stat -c %s "$WORK/$f")"
}

# The manifest (JSON by hand: every value is a version, date, hash or number; none can hold
# a quote or a backslash, which the checks below make sure of).
rl_manifest() {
    local vsize p v sep=""
    vsize=$(qemu-img info --output=json "$WORK/base.qcow2" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' | head -n1)
    printf '{\n'
    printf '  "name": "%s",\n' "$RECIPE_NAME"
    # set by mexec (image_build.c); absent when the recipe is run by hand
    case ${MEXEC_RECIPE_HASH:-} in
    "") ;;
    *[!0-9a-f]*) die "MEXEC_RECIPE_HASH is not a hash: $MEXEC_RECIPE_HASH" ;;
    *) printf '  "recipe_hash": "%s",\n' "$MEXEC_RECIPE_HASH" ;;
    esac
    printf '  "suite": "%s",\n' "$SUITE"
    printf '  "build_date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "kernel_version": "%s",\n' "$KVER"
    printf '  "cmdline": "%s",\n' "$CMDLINE"
    printf '  "virtual_size": %s,\n' "${vsize:-0}"
    printf '  "package_count": %s,\n' "$(wc -l <"$WORK/packages.tsv")"
    printf '  "packages": {'
    for p in "${RL_MANIFEST_PACKAGES[@]}"; do
        v=$(awk -F'\t' -v p="$p" '$1 == p { print $2 }' "$WORK/packages.tsv")
        [ -n "$v" ] || continue
        case $v in *[\"\\]*) die "package $p has an unexpected version: $v" ;; esac
        printf '%s\n    "%s": "%s"' "$sep" "$p" "$v"
        sep=,
    done
    printf '\n  },\n'
    printf '  "artifacts": {\n'
    printf '    %s,\n' "$(rl_art_json base.qcow2)"
    printf '    %s,\n' "$(rl_art_json vmlinux)"
    printf '    %s,\n' "$(rl_art_json initrd.img)"
    printf '    %s\n' "$(rl_art_json packages.tsv)"
    printf '  }\n'
    printf '}\n'
}
