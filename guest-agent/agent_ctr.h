/* Container steps: a job's containers in its VM, driven through the guest dockerd's Engine API.
 *
 * The "containers" step pulls every image (X-Registry-Auth, as docker-pull) and starts the
 * containers: CircleCI's secondaries share the primary's network namespace (services answer on
 * localhost; a secondary's `name:` resolves to 127.0.0.1 through the primary's /etc/hosts),
 * GitLab's services sit on a per-job network where each answers to its aliases.  The agent's
 * own static executable is bind-mounted read-only into the containers steps run in, at
 * MX_CTR_AGENT: it keeps a primary alive as its PID 1 (`--ctr-init`, reaping orphans) and wraps
 * each step there (`--ctr-step`), so no tool has to be in the image.
 *
 * A step in a container (msg.container) runs as an exec whose process is the wrapper: it reads
 * the script from the exec's stdin (a length line, then the bytes; nothing lands in the
 * container's files or argv), runs the shell on it as a process group of its own in the step's
 * directory, and takes the end of its stdin as the cancel: SIGTERM to the group, SIGKILL
 * MX_CTR_KILL_GRACE_MS later.  On the VM side a forked relay (agent_ctr_exec.c) holds the exec's
 * hijacked stream, writes the demultiplexed stdout/stderr to its pipes and exits with the exec's
 * exit code, so the machine steps' supervision (output, no_output_timeout, cancel, background)
 * applies unchanged: a SIGTERM to the relay closes the exec's stdin.
 *
 * checkout and attach_workspace send their archives with PUT /containers/ID/archive, the
 * members' owners set to the step's user (agent_tar.h), into a directory the wrapper created
 * as that user (`--ctr-prep`); persist_to_workspace runs `--ctr-persist` in the container,
 * which writes the layer to its stdout, which the relay writes to the layer file. */
#ifndef MX_AGENT_CTR_H
#define MX_AGENT_CTR_H

#include "agent.h"
#include "agent_docker.h"

/* Where the agent is mounted in step containers. */
#define MX_CTR_AGENT "/.mexec/mexec-agent"
/* The wrapper's SIGTERM-to-SIGKILL grace: inside the host agent's, so the wrapper ends the
 * group itself before the relay is killed. */
#define MX_CTR_KILL_GRACE_MS 4000
/* A script longer than a protocol line cannot have arrived. */
#define MX_CTR_MAX_SCRIPT (8u * 1024 * 1024)

/* Runs a containers step, or a step in a container; sends its step-end.  -1 when the host went
 * away, else 0. */
int mx_agent_run_ctr_step(const mx_msg *step, mx_agent_in *in);

/* `mexec-agent --ctr-*` inside a container (agent_ctr_init.c): the exit status, or -1 when
 * argv names no container mode. */
int mx_agent_ctr_main(int argc, char **argv);

/* ---- Engine API calls (agent_ctr_api.c) ---- */

/* The agent's own executable as the VM sees it, made readable and executable for the container
 * users it is mounted for.  Caller frees. */
char *mxc_self_path(mx_err *err);

/* POST PATH with a JSON body; 0 with the answer's body in *out (may be NULL) when the status is
 * 2xx, else -1 with the daemon's message. */
int mxc_post_json(mxd_ctx *c, const char *path, const char *json, mx_buf *out, mx_err *err);

/* An exec in container `name` as `user` (NULL: the container's) of argv with env ("K=V",
 * n of them) in workdir (NULL: the container's).  stdin: attach it.  The exec's id, or NULL
 * with *err.  Caller frees. */
char *mxc_exec_create(mxd_ctx *c, const char *name, const char *user, char *const *argv,
                      char *const *env, size_t nenv, int stdin_too, mx_err *err);
/* The exec's exit code once it has ended (waits briefly for the daemon to see it), or -1. */
int mxc_exec_exit_code(mxd_ctx *c, const char *exec_id, mx_err *err);

/* Runs argv in the container to its end and collects its stdout (bounded, 64 KiB) and stderr;
 * 0 with *code, or -1 with *err. */
int mxc_exec_capture(mxd_ctx *c, const char *name, const char *user, char *const *argv, mx_buf *out,
                     mx_buf *errtext, int *code, mx_err *err);

/* An 8-byte frame header of the Engine API's multiplexed stream, and its demultiplexer: fed
 * any split of the stream, it hands out each frame's payload with its stream (1 stdout,
 * 2 stderr; 0 stdin is taken as stdout). */
typedef struct mxc_demux {
    unsigned char head[8];
    size_t nhead;
    unsigned long left; /* payload bytes of the current frame still due */
    int stream;
} mxc_demux;
typedef int (*mxc_frame_fn)(void *ctx, int stream, const char *data, size_t len, mx_err *err);
int mxc_demux_feed(mxc_demux *d, const char *data, size_t len, mxc_frame_fn fn, void *ctx,
                   mx_err *err);

/* ---- the relay (agent_ctr_exec.c) ---- */

typedef struct mxc_relay {
    const char *sock;
    const char *container;
    const char *user;
    char *const *argv; /* what the exec runs */
    char **env;        /* "K=V", NULL-terminated */
    size_t nenv;
    const char *script; /* written to the exec's stdin as "LEN\n" + bytes; NULL: no stdin */
    size_t script_len;
    const char *out_file; /* stdout goes here (created 0600) instead of to the relay's stdout */
} mxc_relay;

/* The forked child's body (mx_agent_child_fn): the exec's exit status, 125 when it could not
 * be started (the reason on stderr). */
int mxc_relay_main(void *relay);

/* ---- checkout, attach (agent_ctr_files.c) ---- */

int mxc_put_archives(mxd_ctx *c, const char *dir, char *const *archives, size_t n, mx_err *err);

#endif
