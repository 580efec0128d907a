#include "job_proc.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A line this long without a newline (a progress bar drawn with \r) is relayed as it is. */
#define MAX_PARTIAL 65536

static void emit(const mx_job_proc *p, int stream, const char *line, size_t len)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, p->prefix);
    mx_buf_add(&b, line, len);
    /* a colour left on would paint the next job's prefix */
    if (memchr(line, 0x1b, len)) mx_buf_adds(&b, "\x1b[0m");
    mx_buf_add(&b, "\n", 1);
    mx_sink_output(stream, b.data, b.len);
    mx_buf_free(&b);
}

static void emit_lines(mx_job_proc *p, int stream, int final)
{
    mx_buf *b = &p->part[stream];
    if (b->len == 0) return; /* data may still be NULL: no pointer arithmetic on it */
    size_t at = 0;
    for (;;) {
        const char *nl = memchr(b->data + at, '\n', b->len - at);
        if (!nl) break;
        emit(p, stream, b->data + at, (size_t)(nl - (b->data + at)));
        at = (size_t)(nl - b->data) + 1;
    }
    if ((final || b->len - at >= MAX_PARTIAL) && b->len > at) {
        emit(p, stream, b->data + at, b->len - at);
        at = b->len;
    }
    mx_buf_consume(b, at);
}

/* What the filter held back, then the last line.  No reset at the end: every line with a
 * colour in it got its own. */
static void end_stream(mx_job_proc *p, int s)
{
    p->term[s].sgr = 0;
    mx_term_end(&p->term[s], &p->part[s]);
    emit_lines(p, s, 1);
}

/* Reads what is there on stream s; closes it at end of file.  Returns 1 if it read bytes. */
static int pump(mx_job_proc *p, int s)
{
    char buf[16384];
    ssize_t n = read(p->fds[s], buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
    if (n <= 0) {
        close(p->fds[s]);
        p->fds[s] = -1;
        end_stream(p, s);
        return 0;
    }
    mx_term_feed(&p->term[s], buf, (size_t)n, &p->part[s]);
    emit_lines(p, s, 0);
    return 1;
}

int mx_job_proc_start(mx_job_proc *p, const char *prefix, mx_job_proc_fn fn, void *arg, mx_err *err)
{
    memset(p, 0, sizeof *p);
    p->fds[0] = p->fds[1] = p->status_fd = -1;
    int sp[2];
    if (pipe2(sp, O_CLOEXEC) < 0) return mx_fail_errno(err, MX_INFRA, "pipe");
    pid_t pid = mx_proc_fork_piped(&p->fds[0], &p->fds[1], err);
    if (pid < 0) {
        close(sp[0]);
        close(sp[1]);
        return -1;
    }
    if (pid == 0) {
        close(sp[0]);
        mx_err jerr;
        mx_err_clear(&jerr);
        int r = fn(arg, &jerr);
        fflush(NULL);
        char verdict[sizeof jerr.msg + 16];
        int code = r >= 0 ? r : jerr.status;
        int n = snprintf(verdict, sizeof verdict, "%d\t%s", code, r >= 0 ? "" : jerr.msg);
        /* shorter than a pipe's buffer: the write cannot block on a parent not reading yet */
        (void)mx_write_all(sp[1], verdict, n > 0 ? (size_t)n : 0);
        _exit(code == MX_OK || code == MX_JOB_FAILED ? code : 100 + code);
    }
    close(sp[1]);
    /* non-blocking: a grandchild that kept the pipe open must not hang the relay */
    for (int s = 0; s < 2; s++) {
        int fl = fcntl(p->fds[s], F_GETFL);
        if (fl >= 0) fcntl(p->fds[s], F_SETFL, fl | O_NONBLOCK);
    }
    p->status_fd = sp[0];
    p->pid = pid;
    /* job names come from the config: made safe like what follows them */
    p->prefix = mx_term_text(prefix);
    mx_buf_init(&p->part[0]);
    mx_buf_init(&p->part[1]);
    mx_term_init(&p->term[0]);
    mx_term_init(&p->term[1]);
    return 0;
}

void mx_job_proc_relay(mx_job_proc *const *procs, size_t n, int timeout_ms)
{
    struct pollfd *pf = mx_xcalloc(2 * n + 1, sizeof *pf);
    size_t *who = mx_xcalloc(2 * n + 1, sizeof *who);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < 2; s++)
            if (procs[i]->pid > 0 && procs[i]->fds[s] >= 0) {
                pf[k] = (struct pollfd){.fd = procs[i]->fds[s], .events = POLLIN};
                who[k++] = i * 2 + (size_t)s;
            }
    /* nothing to read (children closed their output): still wait, for the exits */
    int r = poll(pf, k, timeout_ms);
    for (size_t j = 0; r > 0 && j < k; j++)
        if (pf[j].revents) pump(procs[who[j] / 2], (int)(who[j] % 2));
    free(pf);
    free(who);
}

static void close_all(mx_job_proc *p)
{
    for (int s = 0; s < 2; s++) {
        if (p->fds[s] >= 0) close(p->fds[s]);
        p->fds[s] = -1;
        mx_buf_free(&p->part[s]);
    }
    if (p->status_fd >= 0) close(p->status_fd);
    p->status_fd = -1;
    free(p->prefix);
    p->prefix = NULL;
    p->pid = 0;
}

static int verdict(mx_job_proc *p, int wstatus, int *result, mx_err *err)
{
    char buf[sizeof err->msg + 16];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(p->status_fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || (len += (size_t)n) == sizeof buf - 1) break;
    }
    buf[len] = '\0';
    char *tab = strchr(buf, '\t');
    if (!tab) {
        /* it died before saying anything: a crash, or SIGKILL from outside */
        if (WIFSIGNALED(wstatus))
            mx_fail(err, MX_INFRA, "the job's process died of signal %d", WTERMSIG(wstatus));
        else
            mx_fail(err, MX_INFRA, "the job's process exited with %d without a verdict",
                    WEXITSTATUS(wstatus));
        return *result = -1;
    }
    *tab = '\0';
    long long code = -1;
    mx_parse_int(buf, INT_MIN, INT_MAX, &code); /* not a number: -1, an infrastructure error */
    if (code == MX_OK || code == MX_JOB_FAILED) return *result = (int)code;
    mx_fail(err, code == MX_USAGE ? MX_USAGE : MX_INFRA, "%s", tab + 1);
    return *result = -1;
}

int mx_job_proc_reap(mx_job_proc *p, int *result, mx_err *err)
{
    if (p->pid <= 0) return 0;
    int wstatus;
    pid_t r = waitpid(p->pid, &wstatus, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) return 0;
    if (r < 0) {
        mx_fail_errno(err, MX_INFRA, "waitpid");
        *result = -1;
        close_all(p);
        return 1;
    }
    /* the child is gone: what its pipes hold now is all it wrote */
    for (int s = 0; s < 2; s++) {
        while (p->fds[s] >= 0 && pump(p, s))
            ;
        if (p->fds[s] >= 0) end_stream(p, s);
    }
    verdict(p, wstatus, result, err);
    close_all(p);
    return 1;
}

void mx_job_proc_signal(mx_job_proc *p, int sig)
{
    if (p->pid > 0) kill(p->pid, sig);
}
