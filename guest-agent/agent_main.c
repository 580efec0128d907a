/* mexec-agent entry point: answers hello, runs steps in order, leaves on bye or end of input. */
#include "agent.h"
#include "agent_ctr.h"
#include "agent_circleci.h"
#include "agent_identity.h"
#include "mx_fs.h"
#include "mx_mask.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MX_VERSION
#define MX_VERSION "dev"
#endif

static int handle(const mx_msg *m, mx_agent_in *in, int *done)
{
    switch (m->type) {
    case MX_MSG_HELLO: {
        if (m->version != MX_PROTO_VERSION) {
            mx_agent_send_error("protocol version %d not supported (agent speaks %d)", m->version,
                                MX_PROTO_VERSION);
            *done = 1;
            return 3;
        }
        mx_msg reply = {
            .type = MX_MSG_HELLO, .version = MX_PROTO_VERSION, .agent = "mexec-agent " MX_VERSION};
        mx_agent_send(&reply);
        return 0;
    }
    case MX_MSG_STEP:
        if (mx_agent_run_step(m, in) < 0) {
            *done = 1;
            return 3;
        }
        return 0;
    case MX_MSG_BYE:
        *done = 1;
        return 0;
    case MX_MSG_CANCEL:
        return 0; /* nothing runs between steps */
    default:
        mx_agent_send_error("unexpected %s message", mx_msg_type_name(m->type));
        return 0;
    }
}

int main(int argc, char **argv)
{
    /* the guest's `circleci` command is this executable under that name (agent_circleci.h) */
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
    if (argc > 0 && strcmp(base ? base + 1 : argv[0], "circleci") == 0)
        return mx_agent_circleci_main(argc, argv);
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        puts("mexec-agent " MX_VERSION);
        return 0;
    }
    /* registry passwords and scripts pass through us (in a container too): no core file, no
     * ptrace by the steps we run */
    mx_err perr;
    if (mx_secrets_protect_process(&perr) < 0) fprintf(stderr, "mexec-agent: %s\n", perr.msg);
    /* an instant start's identity step, before sshd lets the host in (agent_identity.h) */
    if (argc > 1 && strcmp(argv[1], "--identity") == 0) return mx_agent_identity_main(argc, argv);
    /* inside a job's container, where it is mounted (agent_ctr.h) */
    int ctr = mx_agent_ctr_main(argc, argv);
    if (ctr >= 0) return ctr;
    /* a vanished host must show up as a write error, not kill us mid-cleanup */
    signal(SIGPIPE, SIG_IGN);
    mx_agent_in in = {.fd = STDIN_FILENO};
    mx_lines_init(&in.lines);
    mx_lines_init(&in.deferred);
    char *bindir = mx_agent_circleci_install();
    int done = 0, status = 0;
    while (!done) {
        char *line;
        size_t len;
        while (!done && mx_agent_in_next(&in, &line, &len)) {
            mx_msg m;
            mx_err err;
            if (mx_msg_decode(line, len, &m, &err) < 0) {
                mx_agent_send_error("%s", err.msg);
            } else {
                status = handle(&m, &in, &done);
                mx_msg_clear(&m);
            }
            free(line);
        }
        if (done) break;
        if (in.eof) break;
        if (mx_agent_wait_input(in.fd) < 0 || mx_agent_in_fill(&in) < 0) {
            status = 3;
            break;
        }
    }
    mx_agent_stop_background();
    if (bindir) mx_rm_rf(bindir, NULL);
    free(bindir);
    mx_lines_free(&in.lines);
    mx_lines_free(&in.deferred);
    return status;
}
