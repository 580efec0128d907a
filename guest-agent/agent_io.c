#include "agent.h"
#include "mx_buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void mx_agent_send(const mx_msg *m)
{
    size_t len;
    char *line = mx_msg_encode(m, &len);
    const char *p = line;
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            /* the host closed the channel: nobody is left to report to */
            free(line);
            _exit(3);
        }
        p += n;
        len -= (size_t)n;
    }
    free(line);
}

void mx_agent_vsay(int id, enum mx_stream s, const char *fmt, va_list ap)
{
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    if (n < 0) mx_oom();
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_add(&b, text, (size_t)n);
    mx_buf_add(&b, "\n", 1);
    free(text);
    mx_msg m = {.type = MX_MSG_OUTPUT,
                .id = id,
                .stream = s,
                .data = (unsigned char *)b.data,
                .len = b.len};
    mx_agent_send(&m);
    mx_buf_free(&b);
}

void mx_agent_say(int id, enum mx_stream s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mx_agent_vsay(id, s, fmt, ap);
    va_end(ap);
}

long long mx_agent_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mx_agent_send_error(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    mx_msg m = {.type = MX_MSG_ERROR, .message = text};
    mx_agent_send(&m);
}

void mx_agent_send_end(const mx_msg *step, int status, enum mx_end_reason reason,
                       long long duration_ms, const char *message)
{
    mx_msg m = {.type = MX_MSG_STEP_END,
                .id = step->id,
                .exit_status = status,
                .reason = reason,
                .duration_ms = duration_ms,
                .message = (char *)message};
    mx_agent_send(&m);
}

int mx_agent_in_fill(mx_agent_in *in)
{
    char chunk[65536];
    ssize_t n;
    do {
        n = read(in->fd, chunk, sizeof chunk);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if (n == 0) {
        in->eof = 1;
        return 0;
    }
    mx_err err;
    if (mx_lines_feed(&in->lines, chunk, (size_t)n, &err) < 0) {
        fprintf(stderr, "mexec-agent: %s\n", err.msg);
        return -1;
    }
    return 0;
}

int mx_agent_in_next(mx_agent_in *in, char **line, size_t *len)
{
    return mx_lines_next(&in->deferred, line, len) || mx_lines_next(&in->lines, line, len);
}
