/* Which disk image format a file is, from its first bytes, decided by mexec and not by
 * qemu-img's probing (which takes a raw disk whose first sector looks like a qcow2 header for a
 * qcow2).  A qcow2 header is read here field by field: an image that names a backing file, an
 * external data file or encryption is refused before QEMU opens it (a backing file of
 * /etc/shadow would put a host file into the guest).  Layout: QEMU's docs/interop/qcow2.txt. */
#include "image_import.h"

#include <stdint.h>
#include <string.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* qcow2 header extension types (QEMU's docs/interop/qcow2.txt) that make an image depend on
 * something outside it. */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u
/* incompatible feature bits: dirty, corrupt, external data file, compression type, extended L2 */
#define QCOW2_INCOMPAT_DIRTY (1u << 0)
#define QCOW2_INCOMPAT_CORRUPT (1u << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1u << 2)
#define QCOW2_INCOMPAT_KNOWN 0x1fu

static int check_qcow2(const unsigned char *h, size_t len, mx_err *err)
{
    if (len < 104) return mx_fail(err, MX_USAGE, "truncated qcow2 header");
    uint32_t version = be32(h + 4);
    if (version != 2 && version != 3)
        return mx_fail(err, MX_USAGE, "qcow2 version %u is not supported (2 or 3)", version);
    if (be64(h + 8) != 0 || be32(h + 16) != 0)
        return mx_fail(err, MX_USAGE,
                       "the qcow2 image names a backing file: import takes standalone images "
                       "only (qemu-img convert -O qcow2 it into one first)");
    uint32_t cluster_bits = be32(h + 20);
    if (cluster_bits < 9 || cluster_bits > 21)
        return mx_fail(err, MX_USAGE, "bad qcow2 cluster size (2^%u)", cluster_bits);
    if (be32(h + 32) != 0)
        return mx_fail(err, MX_USAGE, "the qcow2 image is encrypted: import takes plain images");
    size_t ext = 72;
    if (version == 3) {
        uint64_t incompat = be64(h + 72);
        if (incompat & QCOW2_INCOMPAT_DATA_FILE)
            return mx_fail(err, MX_USAGE,
                           "the qcow2 image keeps its data in an external file: import takes "
                           "standalone images only");
        if (incompat & QCOW2_INCOMPAT_CORRUPT)
            return mx_fail(err, MX_USAGE, "the qcow2 image is marked corrupt");
        if (incompat & QCOW2_INCOMPAT_DIRTY)
            return mx_fail(err, MX_USAGE,
                           "the qcow2 image was not closed cleanly (dirty): repair a copy with "
                           "qemu-img check -r all first");
        if (incompat & ~(uint64_t)QCOW2_INCOMPAT_KNOWN)
            return mx_fail(err, MX_USAGE, "the qcow2 image uses unknown features (0x%llx)",
                           (unsigned long long)incompat);
        ext = be32(h + 100);
        if (ext < 104 || ext > len) return mx_fail(err, MX_USAGE, "bad qcow2 header length");
    }
    /* header extensions: type, length, data padded to 8 bytes, up to an end marker */
    for (;;) {
        if (ext + 8 > len)
            return mx_fail(err, MX_USAGE, "qcow2 header extensions beyond the first %zu bytes",
                           len);
        uint32_t type = be32(h + ext), elen = be32(h + ext + 4);
        if (type == QCOW2_EXT_END) return 0;
        if (type == QCOW2_EXT_DATA_FILE)
            return mx_fail(err, MX_USAGE,
                           "the qcow2 image names an external data file: import "
                           "takes standalone images only");
        if (type == QCOW2_EXT_CRYPTO)
            return mx_fail(err, MX_USAGE,
                           "the qcow2 image is encrypted: import takes plain images");
        if (type == QCOW2_EXT_BACKING_FORMAT)
            return mx_fail(err, MX_USAGE,
                           "the qcow2 image names a backing file format: import "
                           "takes standalone images only");
        size_t step = 8 + (((size_t)elen + 7) & ~(size_t)7);
        if (elen > len || step > len - ext)
            return mx_fail(err, MX_USAGE, "qcow2 header extension beyond the first %zu bytes", len);
        ext += step;
    }
}

static int has(const unsigned char *h, size_t len, size_t off, const char *magic, size_t n)
{
    return len >= off + n && memcmp(h + off, magic, n) == 0;
}

int mx_import_sniff(const unsigned char *head, size_t len, const char **format, mx_err *err)
{
    static const struct {
        size_t off;
        const char *magic;
        size_t n;
        const char *what;
    } refused[] = {
        {0, "KDMV", 4, "a VMDK image"},
        {0, "# Disk DescriptorFile", 21, "a VMDK descriptor (it names other files)"},
        {64, "\x7f\x10\xda\xbe", 4, "a VirtualBox VDI image"},
        {0, "vhdxfile", 8, "a VHDX image"},
        {0, "conectix", 8, "a VHD image"},
        {0, "QED\0", 4, "a QED image"},
        {0, "LUKS\xba\xbe", 6, "a LUKS-encrypted image"},
        {0,
         "\xfd"
         "7zXZ\0",
         6, "xz-compressed: decompress it first"},
        {0, "\x1f\x8b", 2, "gzip-compressed: decompress it first"},
        {0, "\x28\xb5\x2f\xfd", 4, "zstd-compressed: decompress it first"},
        {0, "BZh", 3, "bzip2-compressed: decompress it first"},
        {257, "ustar", 5, "a tar archive: extract the disk image from it first"},
    };
    if (len < 512) return mx_fail(err, MX_USAGE, "%zu bytes is too small for a disk image", len);
    if (has(head, len, 0, "QFI\xfb", 4)) {
        if (check_qcow2(head, len, err) < 0) return -1;
        *format = "qcow2";
        return 0;
    }
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (has(head, len, refused[i].off, refused[i].magic, refused[i].n))
            return mx_fail(err, MX_USAGE, "the file is %s; import takes qcow2 or raw disk images",
                           refused[i].what);
    if (head[510] != 0x55 || head[511] != 0xaa)
        return mx_fail(err, MX_USAGE,
                       "the file is neither qcow2 nor a raw disk with a partition table (no "
                       "boot signature in its first sector); import takes whole-disk cloud "
                       "images");
    *format = "raw";
    return 0;
}
