/* The human view: how the CLI shows what library code reports through the sink (sink.h).
 * These formats are what mexec has always printed (the VM tests and users' scripts read
 * them): a job's log on stdout, in CircleCI's shape; mexec's own notes on stderr. */
#include "cli.h"
#include "mx_fs.h"
#include "signals.h"
#include "sink.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void step_started(void *ud, size_t index, size_t total, const char *name)
{
    (void)ud;
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
    case MX_SINK_END_FAILED:
        printf("mexec-agent could not run the step: %s\n", end->message ? end->message : "?");
        break;
    case MX_SINK_END_EXIT:
        break;
    }
    if (end->status != 0) printf("\nExited with code exit status %d\n", end->status);
    fflush(stdout);
}

static void output(void *ud, int stream, const char *bytes, size_t len)
{
    (void)ud;
    /* straight to the descriptor, as it arrives; our own stdout gone: nothing better to do
     * than go on */
    (void)mx_write_all(stream == 0 ? STDOUT_FILENO : STDERR_FILENO, bytes, len);
}

static void log_line(void *ud, const char *text)
{
    (void)ud;
    printf("%s\n", text);
    fflush(stdout);
}

static void note(void *ud, const char *text)
{
    (void)ud;
    fprintf(stderr, "mexec: %s\n", text);
}

static void agent(void *ud, const char *bytes, size_t len)
{
    (void)ud;
    fputs("mexec-agent: ", stderr);
    fwrite(bytes, 1, len, stderr);
}

static void job_started(void *ud, const char *job)
{
    (void)ud;
    printf("-------- %s: started\n", job);
    fflush(stdout);
}

static void job_ended(void *ud, const char *job, const char *status, double seconds)
{
    (void)ud;
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
        printf("%-32s %-9s %9s  %s\n", rows[i].job, rows[i].status, dur,
               rows[i].note ? rows[i].note : "");
    }
    fflush(stdout);
}

/* "approve NAME? [y/N]" on the terminal: 1 yes, 0 no (or no answer before a signal). */
static int approve(void *ud, const char *job)
{
    (void)ud;
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
                              .log = log_line,
                              .note = note,
                              .agent = agent,
                              .job_started = job_started,
                              .job_ended = job_ended,
                              .workflow_ended = workflow_ended,
                              .approve = approve};

void mx_cli_sink_install(void)
{
    mx_sink_set(&human);
}
