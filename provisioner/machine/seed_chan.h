/* The host's end of the seed channel of instant starts (snapshot.h): a unix socket that QEMU
 * connects the guest's org.mexec.seed virtio-serial port to.
 *
 * The guest's mexec-seed (images/common) speaks lines: it says "mexec-seed ready stage" and
 * "mexec-seed ready identity" when it waits for a bundle, "mexec-seed staged" and
 * "mexec-seed done" when it has applied one.  A bundle is "file NAME SIZE\n" + SIZE bytes per
 * file, then "end\n".  Everything here is bounded by a deadline and ends early on *stop. */
#ifndef MX_SEED_CHAN_H
#define MX_SEED_CHAN_H

#include "mx_err.h"

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct mx_chan_file {
    const char *name; /* [a-z0-9_.]+ */
    const void *data;
    size_t len;
} mx_chan_file;

/* Listens on path (removed first if it exists) for the one connection QEMU makes; the socket is
 * handed to uid:gid (QEMU's user) with mode 0600.  Returns the listening fd. */
int mx_chan_listen(const char *path, uid_t uid, gid_t gid, mx_err *err);
/* Connects to a unix socket such a listener holds (a warm spare's claim.sock, spare.h);
 * returns the fd, or -1 (errno set) when nobody listens there. */
int mx_chan_connect(const char *path);
/* Accepts QEMU's connection; returns the connected fd. */
int mx_chan_accept(int lfd, long long deadline_ms, volatile sig_atomic_t *stop, mx_err *err);
/* Reads one line (at most 255 bytes) and fails unless it is want. */
int mx_chan_expect(int fd, const char *want, long long deadline_ms, volatile sig_atomic_t *stop,
                   mx_err *err);
/* Sends a bundle. */
int mx_chan_send(int fd, const mx_chan_file *files, size_t n, long long deadline_ms,
                 volatile sig_atomic_t *stop, mx_err *err);
/* The bundle as bytes (what mx_chan_send writes); caller frees.  For tests. */
char *mx_chan_encode(const mx_chan_file *files, size_t n, size_t *len);

#endif
