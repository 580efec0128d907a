/* The few lines a warm spare's holder and a claimer exchange on claim.sock (spare.h), with
 * descriptors passed as SCM_RIGHTS.
 *   claimer: "claim\n"    holder: "spare PORT\n" + [seed channel, directory lock]
 *   claimer: "ok\n"       (the claimer owns the VM now; the holder exits without ending it)
 *   claimer: "end\n"      holder: "ended\n" once the VM is destroyed and its files removed */
#ifndef MX_SPARE_PROTO_H
#define MX_SPARE_PROTO_H

#include "mx_err.h"

#include <stddef.h>

#define MX_SPARE_MAX_FDS 2

/* Sends line (with its newline) and nfds descriptors (0..MX_SPARE_MAX_FDS) on a unix stream
 * socket. */
int mx_spare_send(int sock, const char *line, const int *fds, int nfds, mx_err *err);
/* Receives one line (newline stripped, at most cap - 1 bytes) and the descriptors sent with it
 * (close-on-exec; *nfds of them, more than MX_SPARE_MAX_FDS are refused and closed), waiting
 * until deadline_ms (mx_now_ms).  The peer closing first, a longer line or a timeout fail. */
int mx_spare_recv(int sock, char *line, size_t cap, int fds[MX_SPARE_MAX_FDS], int *nfds,
                  long long deadline_ms, mx_err *err);

#endif
