#!/bin/bash
# images/common/kernel.sh: the PVH vmlinux out of a bzImage, whatever its compression.  The
# host's Debian kernel (xz) is unpacked as is; then its payload is repacked as lz4 (Ubuntu
# 20.04's kernels), zstd (22.04, 24.04) and gzip into bzImages with the same boot header, and
# each must give back the same vmlinux.  A payload cut short, an unknown compression, a kernel
# without the PVH note and a file that is no bzImage are refused.  No root, no network.
set -euo pipefail
T=$(mktemp -d /tmp/mexec-kernel.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
die() { echo "die: $*" >&2; exit 1; }
log() { :; }
# shellcheck source=images/common/kernel.sh
source "$(dirname "$0")/../../images/common/kernel.sh"

shopt -s nullglob
kernels=(/boot/vmlinuz-*-amd64)
[[ ${#kernels[@]} -gt 0 ]] || fail "no /boot/vmlinuz-*-amd64 (package linux-image-amd64, scripts/setup-host.sh)"
bz=${kernels[0]}

# extract NAME BZIMAGE: rl_extract_vmlinux in a subshell (die exits it); status in $rc
extract() {
    rc=0
    (rl_extract_vmlinux "$2" "$T/$1.vmlinux" && echo "$RL_KERNEL_FORMAT" >"$T/$1.format") \
        2>"$T/$1.err" || rc=$?
}

extract host "$bz"
[[ $rc -eq 0 ]] || fail "the host's kernel: $(cat "$T/host.err")"
[[ $(cat "$T/host.format") == xz ]] || fail "the host's kernel is not xz: $(cat "$T/host.format")"

# repack BZIMAGE OUT PAYLOAD SIZE: the same boot header and setup code, another payload and
# the uncompressed size after it
le32_bytes() { # N: four bytes, little-endian
    local esc
    esc=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)))
    printf '%b' "$esc"
}
repack() {
    local setup off len
    setup=$(u8 "$1" $((0x1f1)))
    [[ $setup -ne 0 ]] || setup=4
    off=$(((setup + 1) * 512 + $(le32 "$1" $((0x248)))))
    len=$(($(stat -c %s "$3") + 4))
    { head -c "$off" "$1"; cat "$3"; le32_bytes "$4"; } >"$2"
    le32_bytes "$len" | dd of="$2" bs=1 seek=$((0x24c)) conv=notrunc status=none
}
for fmt in lz4 zstd gzip; do
    case $fmt in
    lz4) lz4 -l -1 -q -c "$T/host.vmlinux" >"$T/payload" ;;
    zstd) zstd -1 -q -c "$T/host.vmlinux" >"$T/payload" ;;
    gzip) gzip -1 -c "$T/host.vmlinux" >"$T/payload" ;;
    esac
    repack "$bz" "$T/$fmt.bz" "$T/payload" "$(stat -c %s "$T/host.vmlinux")"
    extract "$fmt" "$T/$fmt.bz"
    [[ $rc -eq 0 ]] || fail "$fmt: $(cat "$T/$fmt.err")"
    [[ $(cat "$T/$fmt.format") == "$fmt" ]] || fail "$fmt read as $(cat "$T/$fmt.format")"
    cmp -s "$T/host.vmlinux" "$T/$fmt.vmlinux" || fail "$fmt: another vmlinux came out"
done

# refusals
refused() { # NAME FILE TEXT
    extract "$1" "$2"
    [[ $rc -ne 0 ]] || fail "$1: accepted"
    grep -qF -- "$3" "$T/$1.err" || fail "$1: wrong error: $(cat "$T/$1.err")"
}
head -c $(($(stat -c %s "$T/payload") / 2)) "$T/payload" >"$T/half"
repack "$bz" "$T/half.bz" "$T/half" "$(stat -c %s "$T/host.vmlinux")"
refused truncated "$T/half.bz" "could not decompress"
printf 'not a known compression at all' >"$T/odd"
repack "$bz" "$T/odd.bz" "$T/odd" 100
refused unknown "$T/odd.bz" "unknown kernel compression (payload magic 6e6f7420)"
# an ELF without the PVH note: the kernel's own ELF header, the rest zeros
{ head -c 4096 "$T/host.vmlinux"; head -c 4096 /dev/zero; } >"$T/nopvh"
zstd -q -c "$T/nopvh" >"$T/payload"
repack "$bz" "$T/nopvh.bz" "$T/payload" 8192
refused nopvh "$T/nopvh.bz" "no Xen PHYS32_ENTRY (PVH) note"
head -c 4096 /dev/zero >"$T/zeros"
refused notbz "$T/zeros" "is not a bzImage"
echo "PASS kernel"
