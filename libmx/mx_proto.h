/* The host <-> guest-agent protocol: one JSON object per line over the SSH channel.
 *
 * This header is the single definition both binaries compile against, so a message added on
 * one side cannot be forgotten on the other.  Output bytes travel base64-encoded because step
 * output is arbitrary bytes and chunk boundaries split UTF-8 sequences.
 *
 *   host  -> agent: hello{version}  step{...}  cancel  bye
 *                   (step kinds: run checkout docker-check docker-pull persist attach
 *                    containers; any but the docker ones may name a container to run in)
 *   agent -> host : hello{version,agent}  output{id,stream,data}  step-end{id,exit,...}
 *                   error{message}
 */
#ifndef MX_PROTO_H
#define MX_PROTO_H

#include "mx_cleanup.h"
#include "mx_err.h"

#include <stddef.h>

#define MX_PROTO_VERSION 1
/* A line longer than this is a protocol violation, not a message. */
#define MX_PROTO_MAX_LINE (8u * 1024 * 1024)

enum mx_msg_type {
    MX_MSG_HELLO,
    MX_MSG_STEP,
    MX_MSG_CANCEL,
    MX_MSG_BYE,
    MX_MSG_OUTPUT,
    MX_MSG_STEP_END,
    MX_MSG_ERROR,
};

enum mx_step_kind {
    MX_STEP_RUN,
    MX_STEP_CHECKOUT,
    MX_STEP_DOCKER_CHECK, /* docker/check: docker login through the guest's Engine API */
    MX_STEP_DOCKER_PULL,  /* docker/pull: image pulls through the guest's Engine API */
    MX_STEP_PERSIST,      /* persist_to_workspace: pack paths under workdir into archive */
    MX_STEP_ATTACH,       /* attach_workspace: unpack archives, in order, into workdir */
    /* job steps (guest-agent/agent_jobsteps.c); paths may be absolute, "~/..." or relative to
     * workdir */
    MX_STEP_CHECKSUM, /* cache keys: SHA-256 of each of paths, and the guest's arch */
    MX_STEP_PACK,     /* save_cache: what paths (globs) match, into archive, names from "/" */
    MX_STEP_COLLECT,  /* store_artifacts/_test_results: paths[0] (a file or a tree) into archive */
    MX_STEP_UNPACK,   /* restore_cache: archive unpacked at workdir, then removed */
    MX_STEP_SSH_KEYS, /* add_ssh_keys: keys written as ~/.ssh/KEY (0600) */
    MX_STEP_CONTAINERS, /* pull images and start a job's containers (docker executor, GitLab
                         * image + services) */
};
enum mx_stream { MX_STREAM_STDOUT = 1, MX_STREAM_STDERR = 2 };

/* How a step ended. */
enum mx_end_reason {
    MX_END_EXITED,     /* exit_status is the shell's exit status */
    MX_END_SIGNALED,   /* exit_status is 128 + signal number */
    MX_END_TIMEOUT,    /* no_output_timeout expired; the process group was killed */
    MX_END_CANCELLED,  /* the host sent cancel */
    MX_END_FAILED,     /* the agent could not start the step; message says why */
    MX_END_BACKGROUND, /* a background step started; its output goes on under its id */
};

typedef struct mx_kv {
    char *key;
    char *value;
} mx_kv;

/* Credentials the host resolved for one registry, for docker-pull's X-Registry-Auth. */
typedef struct mx_docker_auth {
    char *registry; /* as the host names it: "docker.io", "host:port", "host/ns" */
    char *username;
    char *password;
    char *identitytoken; /* OAuth refresh token instead of a password; NULL if none */
} mx_docker_auth;

/* The "docker" object of docker-check and docker-pull steps.  Secrets travel here, never in
 * env or command, so the agent can keep them out of argv, files other than config.json, and
 * output. */
typedef struct mx_docker_args {
    /* docker-check */
    char *registry; /* as the orb takes it: "docker.io" (NULL: docker.io) or host[:port] */
    char *username;
    char *password;
    int credentials_store; /* write credsStore (the orb's use-docker-credentials-store) */
    /* docker-pull */
    char **images; /* already split on commas */
    size_t nimages;
    mx_docker_auth *auths;
    size_t nauths;
    int ignore_errors; /* a failed pull is reported and the next image tried; status 0 */
    /* both */
    int retries;       /* extra attempts after the first, >= 0 */
    int retry_delay_s; /* wait between attempts, >= 0 */
} mx_docker_args;

/* One container of a job's environment (a "containers" step). */
typedef struct mx_container_spec {
    char *name;     /* its name for the Engine API, unique in the VM ([a-zA-Z0-9][a-zA-Z0-9_.-]*) */
    char *image;    /* pulled with the step's docker.auths */
    char **aliases; /* host names the job's other containers reach it by */
    size_t naliases;
    char **entrypoint; /* has_entrypoint: replaces the image's (an empty list clears it) */
    size_t nentrypoint;
    int has_entrypoint;
    char **command; /* has_command: replaces the image's CMD */
    size_t ncommand;
    int has_command;
    char *user; /* NULL: the image's */
    mx_kv *env; /* added to the image's */
    size_t nenv;
    /* "VMDIR:PATH": a directory of the VM (created if missing, "~" is the VM user's home)
     * mounted at PATH (GitLab's builds and cache directories, shared with the VM's stages) */
    char **binds;
    size_t nbinds;
    /* steps run in it: it is kept alive by the mounted agent (`mexec-agent --ctr-init`) instead
     * of its entrypoint and command (CircleCI's primary without command:, GitLab's job image),
     * unless has_command says otherwise */
    int steps;
} mx_container_spec;

typedef struct mx_msg {
    enum mx_msg_type type;
    int version; /* hello */
    char *agent; /* hello from the agent: its name and version */

    /* step */
    int id; /* also output, step-end */
    enum mx_step_kind kind;
    char *name;
    char *command;
    char *shell;   /* NULL: the agent's default */
    char *workdir; /* may start with "~"; persist: the root; attach: where to unpack */
    char *archive; /* checkout: tar file already uploaded to the guest; persist: tar to write */
    char **paths;  /* persist: globs relative to workdir */
    size_t npaths;
    char **archives; /* attach: tar files already uploaded to the guest, in unpacking order */
    size_t narchives;
    /* ssh-keys: file name under ~/.ssh -> private key (secret); "config" is appended to
     * ~/.ssh/config instead */
    mx_kv *keys;
    size_t nkeys;
    mx_kv *env;
    size_t nenv;
    int no_output_timeout_s; /* 0: none */
    int background;          /* run: start it, report at once, let later steps run */
    mx_docker_args docker;   /* docker-check, docker-pull; containers: images and auths */
    /* containers: the first one is the primary */
    mx_container_spec *containers;
    size_t ncontainers;
    /* containers: NULL: every container shares the primary's network namespace (CircleCI, so
     * services answer on localhost); else the name of a per-job network on which each container
     * is reachable by its aliases (GitLab services) */
    char *network;
    int docker_socket; /* containers: the VM's Engine API socket is mounted into step containers */
    /* run, checkout, persist, attach: the container the step runs in (NULL: the VM itself) */
    char *container;
    char *user; /* with container: the user it runs as (NULL: the container's) */

    /* output */
    enum mx_stream stream;
    unsigned char *data;
    size_t len;

    /* step-end */
    int exit_status;
    enum mx_end_reason reason;
    long long duration_ms;
    /* step-end of checksum: per path "sha256:BASE64" or "error:WHY"; of pack and collect:
     * "empty" when nothing matched (no archive was written) */
    char **values;
    size_t nvalues;
    char *arch; /* step-end of checksum: "linux-amd64-6_85" (CircleCI's {{ arch }}) */

    char *message; /* error, and step-end with MX_END_FAILED */
} mx_msg;

const char *mx_msg_type_name(enum mx_msg_type t);
const char *mx_end_reason_name(enum mx_end_reason r);

/* Encodes m as one JSON line including the trailing '\n'; caller frees.  Never fails on what
 * the strings hold: environment values that are not UTF-8 travel base64-encoded ("env_b64")
 * and arrive exactly; any other string that is not UTF-8 has its stray bytes replaced by
 * U+FFFD (right for human text: names, messages; see mx_msg_check for the rest). */
char *mx_msg_encode(const mx_msg *m, size_t *len);
/* Refuses (MX_USAGE, naming the step and the field) a step whose command, shell, paths,
 * environment names or registry credentials are not valid UTF-8: those must arrive exactly or
 * not at all.  0 for every other message. */
int mx_msg_check(const mx_msg *m, mx_err *err);
/* Decodes one line (without '\n').  On success *m owns its strings: mx_msg_clear() them. */
int mx_msg_decode(const char *line, size_t len, mx_msg *m, mx_err *err);
/* Output messages, nearly all the traffic, are written and read by fast paths that skip
 * jansson; these are the general forms (jansson for every message), which must agree with the
 * fast ones on everything (the proto fuzzer compares them). */
char *mx_msg_encode_generic(const mx_msg *m, size_t *len);
int mx_msg_decode_generic(const char *line, size_t len, mx_msg *m, mx_err *err);
void mx_msg_clear(mx_msg *m);
MX_DEFINE_AUTO(mx_msg, mx_msg_clear)

/* Accumulates bytes from a stream and hands out complete lines.  Lines are handed out from an
 * offset and the buffer compacted once per feed, so a read holding many lines costs one pass
 * over its bytes (moving the rest down after every line made it quadratic). */
typedef struct mx_lines {
    char *data;
    size_t len, cap;
    size_t off;  /* the first byte not handed out yet */
    size_t scan; /* data[off..scan) holds no '\n': not searched twice */
} mx_lines;

void mx_lines_init(mx_lines *l);
void mx_lines_free(mx_lines *l);
int mx_lines_feed(mx_lines *l, const void *data, size_t len, mx_err *err);
/* Returns 1 and a line (no '\n', NUL-terminated, caller frees) if one is complete, else 0. */
int mx_lines_next(mx_lines *l, char **line, size_t *len);
/* Like mx_lines_next without a copy: *line points into l (its '\n' replaced by a NUL) and stays
 * valid until the next call of any mx_lines function on l. */
int mx_lines_view(mx_lines *l, const char **line, size_t *len);

#endif
