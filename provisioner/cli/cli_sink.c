/* The human view: how the CLI shows what library code reports through the sink (sink.h).
 * These formats are what mexec has always printed (the VM tests and users' scripts read
 * them): a job's log on stdout, in CircleCI's shape; mexec's own notes on stderr.
 *
 * Everything shown passes the terminal filter (mx_term.h): the guest's output as a stream per
 * step, and every text (names, log lines, notes, the agent's lines and messages), since they
 * quote the config or the guest.  Always, also when stdout is not a terminal: CI logs are read
 * in terminals and browsers (docs/security.md). */
#include "cli.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_term.h"
#include "signals.h"
#include "sink.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The filter's state for the job's stdout and stderr, and the bytes on their way out. */
static mx_term term[2];
static mx_buf out_buf;

/* A text made safe for the terminal (caller frees). */
static char *safe(const char *text)
{
    return mx_term_text(text ? text : "");
}

static void step_started(void *ud, size_t index, size_t total, const char *raw)
{
    (void)ud;
    mx_autofree char *name = safe(raw);
    if (total == 0)
        printf("\n==> %s\n", name);
    else
        printf("\n==> [%zu/%zu] %s\n", index, total, name);
    fflush(stdout);
}

static void step_ended(void *ud, const mx_sink_step_end *end)
{
    (void)ud;
    switch (end->how) {
    case MX_SINK_END_BACKGROUND:
        printf("(running in the background)\n");
        break;
    case MX_SINK_END_TIMEOUT:
        if (end->timeout_s > 0)
            printf("Too long with no output (exceeded %ds)\n", end->timeout_s);
        else
            printf("Too long with no output\n");
        break;
    case MX_SINK_END_FAILED: {
        mx_autofree char *why = safe(end->message ? end->message : "?");
        printf("mexec-agent could not run the step: %s\n", why);
        break;
    }
    case MX_SINK_END_EXIT:
        break;
    }
    if (end->status != 0) printf("\nExited with code exit status %d\n", end->status);
    fflush(stdout);
}

/* One write per call, straight to the descriptor; our own stdout gone: nothing better to do
 * than go on. */
static void write_out(int stream)
{
    if (out_buf.len)
        (void)mx_write_all(stream == 0 ? STDOUT_FILENO : STDERR_FILENO, out_buf.data, out_buf.len);
    out_buf.len = 0;
}

static void output(void *ud, int stream, const char *bytes, size_t len)
{
    (void)ud;
    stream = stream == 0 ? 0 : 1;
    mx_term_feed(&term[stream], bytes, len, &out_buf);
    write_out(stream);
}

static void output_end(void *ud)
{
    (void)ud;
    for (int s = 0; s < 2; s++) {
        mx_term_end(&term[s], &out_buf);
        write_out(s);
    }
}

static void log_line(void *ud, const char *raw)
{
    (void)ud;
    mx_autofree char *text = safe(raw);
    printf("%s\n", text);
    fflush(stdout);
}

static void note(void *ud, const char *raw)
{
    (void)ud;
    mx_autofree char *text = safe(raw);
    fprintf(stderr, "mexec: %s\n", text);
}

static void agent(void *ud, const char *bytes, size_t len)
{
    (void)ud;
    mx_autofree char *line = mx_xstrndup(bytes, len);
    mx_autofree char *text = safe(line);
    fprintf(stderr, "mexec-agent: %s\n", text);
}

static void job_started(void *ud, const char *raw)
{
    (void)ud;
    mx_autofree char *job = safe(raw);
    printf("-------- %s: started\n", job);
    fflush(stdout);
}

static void job_ended(void *ud, const char *raw, const char *status, double seconds)
{
    (void)ud;
    mx_autofree char *job = safe(raw);
    if (seconds < 0)
        printf("-------- %s: %s\n", job, status);
    else
        printf("-------- %s: %s in %.1f s\n", job, status, seconds);
    fflush(stdout);
}

static void workflow_ended(void *ud, const mx_sink_wf_row *rows, size_t n)
{
    (void)ud;
    printf("\n%-32s %-9s %9s  %s\n", "JOB", "STATUS", "DURATION", "NOTE");
    for (size_t i = 0; i < n; i++) {
        char dur[32] = "-";
        if (rows[i].seconds > 0) snprintf(dur, sizeof dur, "%.1f s", rows[i].seconds);
        mx_autofree char *job = safe(rows[i].job), *note = safe(rows[i].note);
        printf("%-32s %-9s %9s  %s\n", job, rows[i].status, dur, note);
    }
    fflush(stdout);
}

/* "approve NAME? [y/N]" on the terminal: 1 yes, 0 no (or no answer before a signal). */
static int approve(void *ud, const char *raw)
{
    (void)ud;
    mx_autofree char *job = safe(raw);
    printf("approve %s? [y/N] ", job);
    fflush(stdout);
    char line[64];
    size_t len = 0;
    while (!mx_stop) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int r = poll(&p, 1, 200);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        char c;
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n <= 0 || c == '\n') break;
        if (len + 1 < sizeof line) line[len++] = c;
    }
    line[len] = '\0';
    if (mx_stop) printf("\n");
    return !mx_stop &&
           (strcmp(line, "y") == 0 || strcmp(line, "Y") == 0 || strcmp(line, "yes") == 0);
}

static const mx_sink human = {.step_started = step_started,
                              .step_ended = step_ended,
                              .output = output,
                              .output_end = output_end,
                              .log = log_line,
                              .note = note,
                              .agent = agent,
                              .job_started = job_started,
                              .job_ended = job_ended,
                              .workflow_ended = workflow_ended,
                              .approve = approve};

void mx_cli_sink_install(void)
{
    mx_term_init(&term[0]);
    mx_term_init(&term[1]);
    mx_buf_init(&out_buf);
    mx_sink_set(&human);
}
