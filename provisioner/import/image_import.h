/* Stock cloud images imported into the image store: `mexec image import NAME:TAG FILE`.
 *
 * An imported image is a whole disk (partition table, bootloader, cloud-init) that boots
 * through the firmware, not from a kernel we hand QEMU.  It lives in
 * IMAGE_STORE/imported/NAME/TAG/ (base.qcow2 + manifest.json) and resolves like a catalog image
 * (catalog.c asks mx_imported_resolve for a NAME:TAG the catalog does not have).
 *
 * Import, in order (docs/images.md says the same for users):
 *   1. file (image_import_file.c, image_import_sniff.c): copy FILE into a private work
 *      directory while hashing it and compare with --sha256 before any tool reads it; tell
 *      qcow2 from raw by magic, read the qcow2 header ourselves (no backing file, no external
 *      data file, no encryption) and refuse every other container format; `qemu-img info -f
 *      FORMAT` (never auto-probed) under time and memory limits must agree; convert to a
 *      standalone qcow2, grow it to the disk size; the MBR must hold boot code (SeaBIOS boots
 *      it).
 *   2. guest (image_import_guest.c): boot it once with the usual per-job seed, SSH in with the
 *      pinned host key, wait for cloud-init, run images/import/probe.sh; the host downloads what
 *      is missing (images/import/fetch-debs.sh) and the guest installs it from uploaded .debs;
 *      then images/import/finish.sh cleans per-instance state and powers off; the disk is
 *      flattened into the new base.
 *   3. store (image/image_import_store.c): manifest, then one rename makes the image appear.
 *
 * Importing boots a VM, so it sits above machine/; what the store holds (image_import_store.h)
 * sits in image/, below it, where the catalog resolves imported images. */
#ifndef MX_IMAGE_IMPORT_H
#define MX_IMAGE_IMPORT_H

#include "catalog.h"
#include "host_config.h"
#include "image_import_store.h"
#include "mx_buf.h"
#include "mx_err.h"

#include <signal.h>

/* What a file may be, and how long looking at it may take. */
typedef struct mx_import_limits {
    unsigned long long max_file_bytes;    /* the file as given */
    unsigned long long max_virtual_bytes; /* the disk it describes */
    int info_timeout_s;                   /* one `qemu-img info` */
    int convert_timeout_s;                /* one `qemu-img convert` */
} mx_import_limits;

extern const mx_import_limits mx_import_default_limits;

/* ---- the file ------------------------------------------------------------------------- */

typedef struct mx_import_file {
    char sha256[65];          /* of the file as given */
    const char *format;       /* "qcow2" or "raw" (static) */
    unsigned long long size;  /* of the file */
    unsigned long long vsize; /* virtual disk size */
} mx_import_file;

/* Copies src to dst (0600, created) hashing it; when want_sha256 is set the copy is removed
 * and an error returned unless the digests are equal (hex, either case).  Fails on files larger
 * than lim->max_file_bytes and when *stop becomes non-zero. */
int mx_import_copy_verified(const char *src, const char *dst, const char *want_sha256,
                            const mx_import_limits *lim, volatile sig_atomic_t *stop,
                            mx_import_file *f, mx_err *err);
/* The format from the first bytes of a disk image (head: at least 512 bytes, or the whole
 * file): "qcow2" or "raw" (static strings); every other container or compressed format is an
 * error naming it, and so is a raw image without a partition table (no 0x55AA signature).
 * A qcow2 header must not name a backing file, an external data file or encryption. */
int mx_import_sniff(const unsigned char *head, size_t len, const char **format, mx_err *err);
/* Reads the head of path and sniffs it; then `qemu-img info -f FORMAT` must agree (format,
 * no backing file, no data file, not encrypted, not corrupt) and the virtual size be within
 * the limits.  Fills f->format and f->vsize. */
int mx_import_probe(const char *path, const mx_import_limits *lim, mx_import_file *f, mx_err *err);
/* Parses `qemu-img info --output=json` output for format (as asked) and fills *vsize. */
int mx_import_check_info(const char *json, const char *format, unsigned long long max_vsize,
                         unsigned long long *vsize, mx_err *err);
/* Converts src (of the probed format) into a standalone qcow2 dst and grows it to min_vsize
 * when smaller. */
int mx_import_convert(const char *src, const mx_import_file *f, const char *dst,
                      unsigned long long min_vsize, const mx_import_limits *lim,
                      volatile sig_atomic_t *stop, mx_err *err);
/* Fails unless the disk's first sector holds BIOS boot code and the 0x55AA signature. */
int mx_import_check_bootable(const char *qcow2, const char *workdir, mx_err *err);

/* ---- the guest ------------------------------------------------------------------------ */

typedef struct mx_import_report {
    mx_buf facts;     /* probe.sh's output */
    char **installed; /* package file names installed into the image */
    size_t ninstalled;
    double boot_s; /* first boot to SSH */
} mx_import_report;

void mx_import_report_free(mx_import_report *r);
/* Boots base (firmware boot), completes it and leaves the result in out_qcow2.  With
 * fetch_only, stops once the packages are in the host's cache (out_qcow2 not written). */
int mx_import_guest(const mx_host_config *hc, const char *ref, const char *base,
                    const char *workdir, const char *out_qcow2, int fetch_only,
                    mx_import_report *rep, volatile sig_atomic_t *stop, mx_err *err);
/* The host's .deb cache for imports: $MEXEC_DEB_CACHE, else cache/debs beside the image store
 * (caller frees). */
char *mx_import_deb_cache(const mx_host_config *hc);

/* ---- the whole ------------------------------------------------------------------------ */

typedef struct mx_import_opts {
    const char *ref, *file, *sha256;
    unsigned long long disk_bytes; /* grow the disk to this (never shrinks) */
    int fetch_only;
} mx_import_opts;

/* Imports o->file as o->ref; reports progress as notes (sink.h). */
int mx_image_import(const mx_host_config *hc, const mx_catalog *cat, const mx_import_opts *o,
                    volatile sig_atomic_t *stop, mx_err *err);

#endif
