/* The second half of an instant start, in the guest (images/common/mexec-seed, the host's side
 * is provisioner/machine/vm_restore.c): the VM was saved while `mexec-agent --identity PORT
 * AUTHORIZED_KEYS` waited on the seed channel; each restored copy receives here its own identity
 * bundle (SSH host key, authorized key, hostname, the host's wall clock, RNG seed bytes) and
 * applies it before the host's first SSH connection.
 *
 * Why in the agent and not in the shell script that does the rest of the seed: under TCG every
 * piece of guest code that runs after a restore is translated again, and this runs on the
 * critical path of every instant start.  One small static process with a few system calls costs
 * a fraction of bash reading the bundle and starting perl for clock_settime and the RNG ioctls.
 *
 * The bundle is the seed channel's format (provisioner/machine/seed_chan.h): "file NAME SIZE\n"
 * + SIZE bytes per file, then "end\n". */
#ifndef MX_AGENT_IDENTITY_H
#define MX_AGENT_IDENTITY_H

#include "mx_buf.h"
#include "mx_err.h"

#include <stddef.h>
#include <time.h>

#define MX_IDENTITY_MAX_FILES 16
#define MX_IDENTITY_MAX_FILE 65536 /* an ed25519 key is ~400 bytes */
#define MX_IDENTITY_MAX_RANDOM 128

typedef struct mx_identity {
    mx_buf host_key, host_key_pub, authorized_keys;
    char hostname[64]; /* sanitized: [A-Za-z0-9.-], possibly empty */
    struct timespec clock;
    unsigned char random[MX_IDENTITY_MAX_RANDOM];
    size_t random_len;
} mx_identity;

/* Reads one bundle from fd and checks it: both halves of the host key, the authorized key,
 * the clock ("SECONDS.NANOSECONDS", nine digits) and 32..128 random bytes (hex) are
 * required, the keys only all or none in a refresh (a warm spare's second bundle); unknown
 * names are ignored (a newer host may send more).  Returns 0, or (refresh only) 1 when fd
 * closed before a bundle began (the host is done), or -1. */
int mx_identity_read(int fd, int refresh, mx_identity *id, mx_err *err);
void mx_identity_free(mx_identity *id);

/* Writes the files: root + /etc/ssh/ssh_host_ed25519_key(.pub), authorized_keys (an absolute
 * path, not under root), and with a hostname root + /etc/hostname and the 127.0.1.1 line of
 * root + /etc/hosts.  Each file must exist already (mexec-seed made them at stage time with
 * their owners and modes; writing through them keeps both) and must not be a symlink. */
int mx_identity_write_files(const mx_identity *id, const char *root, const char *authorized_keys,
                            mx_err *err);

/* The kernel's part: the wall clock, the RNG (mix the bytes in, reseed now: every copy of the
 * snapshot starts from the same RNG state) and the hostname.  Needs root. */
int mx_identity_apply_kernel(const mx_identity *id, mx_err *err);

/* `mexec-agent --identity PORT AUTHORIZED_KEYS`: says "mexec-seed ready identity" on PORT,
 * applies the bundle, says "mexec-seed done" (or "mexec-seed failed: WHY"), and so on for each
 * refresh until the host closes the port.  Returns the exit status. */
int mx_agent_identity_main(int argc, char **argv);

#endif
