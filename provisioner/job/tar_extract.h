/* Unpacking a tar that came from a guest (store_artifacts, store_test_results) into a host
 * directory, trusting nothing in it: libarchive reads the archive, and this code writes each
 * member itself under the destination with openat(2) and O_NOFOLLOW at every level, so that
 * only plain directories and regular files appear, nowhere else.  Symlinks, hard links,
 * devices and fifos are skipped and counted; absolute names and ".." are refused; modes are
 * 0755/0644 whatever the member says (no setuid); totals are capped. */
#ifndef MX_TAR_EXTRACT_H
#define MX_TAR_EXTRACT_H

#include "mx_err.h"

#include <stddef.h>

typedef struct mx_tar_file {
    char *path; /* relative to the destination */
    long long size;
} mx_tar_file;

typedef struct mx_tar_result {
    mx_tar_file *files; /* regular files written, in archive order */
    size_t nfiles;
    size_t skipped; /* members that are not directories or regular files */
    long long bytes;
} mx_tar_result;

typedef struct mx_tar_limits {
    long long max_bytes; /* all files together */
    size_t max_files;
} mx_tar_limits;

/* Unpacks tar into dest (created, 0755, if missing) under prefix (a relative path, may be ""
 * or NULL).  -1 with *err on a bad archive or a limit passed (what was written stays, and is
 * listed in *res). */
int mx_tar_extract(const char *tar, const char *dest, const char *prefix, const mx_tar_limits *lim,
                   mx_tar_result *res, mx_err *err);
void mx_tar_result_free(mx_tar_result *r);

#endif
