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
# The parts: customize.sh (the image tree: user, seed, units), kernel.sh (vmlinux from the
# bzImage), manifest.sh (manifest.json); this file runs the build and handles signals.
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

log() { printf 'recipe(%s): %s\n' "$RECIPE_NAME" "$*" >&2; }
die() { printf 'recipe(%s): error: %s\n' "$RECIPE_NAME" "$*" >&2; exit 1; }

# The parts, one job each.
# shellcheck source=images/common/customize.sh
source "$RL_LIB_DIR/customize.sh"
# shellcheck source=images/common/kernel.sh
source "$RL_LIB_DIR/kernel.sh"
# shellcheck source=images/common/manifest.sh
source "$RL_LIB_DIR/manifest.sh"

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
