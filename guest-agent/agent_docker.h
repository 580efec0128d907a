/* docker-check and docker-pull steps: the orb's `docker login` and `docker pull`, done through
 * the guest dockerd's Engine API over its unix socket (agent_http.h) instead of the docker CLI.
 *
 * Why not the CLI: the password would have to reach `docker login` through a pipe we control
 * anyway, the CLI's output and exit codes would have to be parsed, and the CLI is an optional
 * package on some images.  The Engine API is what the CLI itself calls, so the daemon verifies the
 * credentials and pulls exactly as `docker login` / `docker pull` would.
 *
 * Secrets (passwords, identity tokens, the X-Registry-Auth header) never go to argv, to output
 * messages or to the step-end message; buffers that held them are wiped. */
#ifndef MX_AGENT_DOCKER_H
#define MX_AGENT_DOCKER_H

#include "agent.h"
#include "mx_buf.h"
#include "mx_err.h"

#define MX_DOCKER_DEFAULT_SOCK "/var/run/docker.sock"
/* dockerd starts some seconds after sshd under TCG: the first docker step waits this long. */
#define MX_DOCKER_DEFAULT_WAIT_S 120
/* The key and serveraddress the docker CLI uses for Docker Hub. */
#define MX_DOCKER_HUB_SERVER "https://index.docker.io/v1/"

typedef struct mxd_ctx {
    const mx_msg *step;
    mx_agent_in *in; /* NULL in a relay child: no host channel to watch */
    char *sock;      /* the Engine API socket */
    int cancelled;   /* the host sent cancel */
    int host_gone;   /* the host's channel closed: nobody to report to */
} mxd_ctx;

/* Runs a docker-check or docker-pull step and sends its step-end.  Returns -1 when the host went
 * away (the agent should exit), else 0. */
int mx_agent_run_docker_step(const mx_msg *step, mx_agent_in *in);

/* ---- shared by agent_docker_*.c ---- */

/* Sends text as step output (a line; "\n" is appended). */
void mxd_say(mxd_ctx *c, enum mx_stream s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Waits ms while watching the host channel; -1 if cancelled or the host left. */
int mxd_sleep(mxd_ctx *c, long ms);
/* Waits (bounded by MEXEC_DOCKER_WAIT_S, default MX_DOCKER_DEFAULT_WAIT_S) for GET /_ping. */
int mxd_wait_daemon(mxd_ctx *c, mx_err *err);

/* Ends a step that ran through the daemon (rc and err its outcome, t0 its start): -1 if the host
 * went away (nobody to tell), else sends the step-end (cancelled, infrastructure failure, failed
 * with err on stderr, or passed) and returns 0.  exited_msg: a failure's step-end carries
 * err->msg too. */
int mxd_end_step(mxd_ctx *c, int rc, const mx_err *err, long long t0, int exited_msg);

/* Called with each complete line of a 2xx streamed response body. */
typedef void (*mxd_line_fn)(void *ctx, const char *line, size_t len);

typedef struct mxd_request {
    const char *method; /* "GET", "POST" */
    const char *path;   /* "/auth", "/images/create?..." */
    const char *body;   /* JSON, or NULL */
    const char *header; /* one extra header ("X-Registry-Auth: ..."), or NULL */
    long timeout_ms;    /* 0: none (pulls run as long as they stream) */
    mxd_line_fn on_line;
    void *line_ctx;
    /* a 2xx body as raw bytes instead (an exec's multiplexed output); returns -1 to stop */
    int (*on_data)(void *ctx, const char *data, size_t len, mx_err *err);
    void *data_ctx;
    const char *content_type; /* NULL: application/json */
    /* a streamed body (mxh_request.body_src) instead of body */
    int (*body_src)(void *ctx, char *buf, size_t cap, size_t *got, mx_err *err);
    void *body_src_ctx;
    unsigned long long body_src_len;
} mxd_request;

/* Performs one request.  Returns 0 with the HTTP status in *status and, unless the body was
 * streamed to on_line, the body in *body (wiped by mxd_buf_wipe); -1 with *err when the daemon
 * could not be reached or the transfer broke, or when the host cancelled (c->cancelled). */
int mxd_http(mxd_ctx *c, const mxd_request *rq, long *status, mx_buf *body, mx_err *err);
/* "Error response from daemon: MESSAGE" from an error response's {"message": ...}. */
void mxd_daemon_error(long status, const mx_buf *body, mx_err *err);
/* Retryable: anything but the daemon's definitive 4xx answers (bad credentials, no such
 * image, bad reference), which another attempt cannot change. */
int mxd_retryable(long status);
/* The serveraddress / config.json key the docker CLI uses for a registry given as the orb
 * takes it ("docker.io" and its aliases -> MX_DOCKER_HUB_SERVER; "https://host:5000/" ->
 * "host:5000").  Caller frees. */
char *mxd_server_address(const char *registry);
/* $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json (as the docker CLI).  Caller frees. */
char *mxd_config_path(void);
void mxd_buf_wipe(mx_buf *b);
/* Base64 with the URL alphabet, padded (Go's base64.URLEncoding, what the CLI sends). */
char *mxd_b64url(const char *s);

int mxd_check(mxd_ctx *c, mx_err *err);
int mxd_pull(mxd_ctx *c, mx_err *err);
/* One `docker pull IMAGE` with the step's docker.auths (or config.json), with its retries. */
int mxd_pull_image(mxd_ctx *c, const char *image, mx_err *err);

#endif
