/* Tar for the container steps, without a tar program in the container.
 *
 * - The writer (mxt_write_*) packs files from the file system into a POSIX tar stream (ustar
 *   headers, pax extended headers for long names and big sizes): persist_to_workspace in a
 *   container runs the agent there (`mexec-agent --ctr-persist`), which writes the layer to its
 *   stdout.
 * - The owner patcher (mxt_patch) streams an existing archive (GNU, ustar or pax, as GNU tar and
 *   Go's archive/tar write them) with every member's uid and gid set to the container user's:
 *   checkout and attach_workspace send archives to the Engine API's PUT /containers/ID/archive,
 *   which extracts as root and keeps the owners the headers say.  The archive's length does not
 *   change, so it is sent with its file's Content-Length. */
#ifndef MX_AGENT_TAR_H
#define MX_AGENT_TAR_H

#include "mx_buf.h"
#include "mx_err.h"

#include <stddef.h>
#include <sys/types.h>

#define MXT_BLOCK 512
/* A pax extended header longer than this is not one we take (they hold a few records). */
#define MXT_MAX_PAX (1024 * 1024)

/* ---- writer ---- */

/* Appends the members for path (relative name `name` in the archive) to the stream on fd: a
 * directory with everything below it, a file, a symlink.  Sockets, fifos and devices are
 * skipped and counted in *skipped.  Returns 0, or -1 with *err (an unreadable file, a write
 * error). */
int mxt_write_tree(int fd, const char *path, const char *name, long *skipped, mx_err *err);
/* The two zero blocks that end an archive. */
int mxt_write_end(int fd, mx_err *err);

/* ---- owner patcher ---- */

typedef struct mxt_patch {
    int fd; /* the archive being read */
    unsigned uid, gid;
    unsigned long long data_left; /* bytes of member data still to pass unchanged */
    unsigned long long next_size; /* a pax "size" record for the next member; ~0: none */
    int ended;                    /* the end-of-archive blocks were seen */
    mx_buf pending;               /* processed bytes not yet handed out */
    size_t pending_off;
} mxt_patch;

void mxt_patch_init(mxt_patch *p, int fd, unsigned uid, unsigned gid);
void mxt_patch_free(mxt_patch *p);
/* Fills buf with up to cap bytes of the patched archive; *got = 0 at its end.  -1 with *err when
 * the input is not a tar archive this reads (bad checksum, a sparse member, a pax header too
 * long, a truncated member). */
int mxt_patch_read(mxt_patch *p, char *buf, size_t cap, size_t *got, mx_err *err);

/* ---- header fields (exposed for tests) ---- */

/* An octal or base-256 (GNU) numeric field; -1 if malformed. */
long long mxt_parse_number(const unsigned char *f, size_t len);
/* 1 if the block's checksum is right, 0 if not. */
int mxt_checksum_ok(const unsigned char block[MXT_BLOCK]);
/* Recomputes and stores the checksum. */
void mxt_set_checksum(unsigned char block[MXT_BLOCK]);

#endif
