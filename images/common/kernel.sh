# shellcheck shell=bash
# images/common/kernel.sh — the direct-boot kernel of an image (sourced by recipe-lib.sh).

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
