/* SSH to a job's guest with libssh2: pinned host key, public-key auth, upload, download, exec.
 *
 * The guest's host key was generated on the host and handed to the guest in its seed, so the
 * key the server presents must equal it byte for byte: nothing is ever trusted on first use. */
#ifndef MX_SSH_H
#define MX_SSH_H

#include "mx_err.h"

#include <libssh2.h>
#include <signal.h>

typedef struct mx_ssh {
    int sock;
    LIBSSH2_SESSION *s;
} mx_ssh;

typedef struct mx_ssh_target {
    int port; /* on 127.0.0.1 */
    const char *user;
    const char *host_pub;   /* OpenSSH .pub file of the expected host key */
    const char *client_key; /* private key file; client_key.pub beside it */
    const char *client_pub;
    /* pause between attempts; 0: 500 ms (a booting guest).  A restored guest's sshd is
     * moments away (its identity is installed), so it is tried more often. */
    int retry_ms;
} mx_ssh_target;

/* Connects, retrying until deadline_ms (CLOCK_MONOTONIC) while the guest boots; stops early
 * when *stop becomes non-zero. */
int mx_ssh_connect(mx_ssh *c, const mx_ssh_target *t, long long deadline_ms,
                   volatile sig_atomic_t *stop, mx_err *err);
/* Copies a local file to remote_path with mode (SCP); fails when the guest takes nothing for
 * two minutes. */
int mx_ssh_upload(mx_ssh *c, const char *local, const char *remote_path, int mode, mx_err *err);
/* Copies remote_path to local over SCP, leaving local (mode 0600) complete or absent.  The guest
 * decides what it sends: a file larger than max bytes (by the size it announces, before any
 * data; nothing written) or not done by deadline_ms (CLOCK_MONOTONIC) fails with MX_JOB_FAILED;
 * two minutes without progress fail with MX_INFRA.  Runs the session in blocking mode: call it
 * only when no non-blocking channel (the agent's session) is open. */
int mx_ssh_download(mx_ssh *c, const char *remote_path, const char *local, long long max,
                    long long deadline_ms, mx_err *err);
/* The same with no deadline but the two minutes without progress. */
int mx_ssh_download_max(mx_ssh *c, const char *remote_path, const char *local, long long max,
                        mx_err *err);
/* Opens a channel running command. */
LIBSSH2_CHANNEL *mx_ssh_exec(mx_ssh *c, const char *command, mx_err *err);
void mx_ssh_close(mx_ssh *c);

/* Decodes the key blob of an OpenSSH public key line ("ssh-ed25519 AAAA... comment"). */
unsigned char *mx_ssh_pub_blob(const char *line, size_t *len);
const char *mx_ssh_error(LIBSSH2_SESSION *s);
long long mx_now_ms(void);

#endif
