/* The process's sink (sink.h): the calls library code makes, forwarded to what is installed. */
#include "sink.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const mx_sink *sink;

void mx_sink_set(const mx_sink *s)
{
    sink = s;
}

void mx_sink_step_started(size_t index, size_t total, const char *name)
{
    if (sink && sink->step_started) sink->step_started(sink->ud, index, total, name);
}

void mx_sink_step_ended(const mx_sink_step_end *end)
{
    if (sink && sink->step_ended) sink->step_ended(sink->ud, end);
}

void mx_sink_output(int stream, const char *bytes, size_t len)
{
    if (sink && sink->output && len > 0) sink->output(sink->ud, stream, bytes, len);
}

void mx_sink_output_end(void)
{
    if (sink && sink->output_end) sink->output_end(sink->ud);
}

/* vasprintf, or NULL when out of memory (the text is dropped, never half-shown). */
static char *format(const char *fmt, va_list ap)
{
    char *text = NULL;
    return vasprintf(&text, fmt, ap) < 0 ? NULL : text;
}

void mx_sink_log(const char *fmt, ...)
{
    if (!sink || !sink->log) return;
    va_list ap;
    va_start(ap, fmt);
    char *text = format(fmt, ap);
    va_end(ap);
    if (text) sink->log(sink->ud, text);
    free(text);
}

void mx_sink_note(const char *fmt, ...)
{
    if (!sink || !sink->note) return;
    va_list ap;
    va_start(ap, fmt);
    char *text = format(fmt, ap);
    va_end(ap);
    if (text) sink->note(sink->ud, text);
    free(text);
}

void mx_sink_agent(const char *bytes, size_t len)
{
    if (sink && sink->agent && len > 0) sink->agent(sink->ud, bytes, len);
}

void mx_sink_job_started(const char *job)
{
    if (sink && sink->job_started) sink->job_started(sink->ud, job);
}

void mx_sink_job_ended(const char *job, const char *status, double seconds)
{
    if (sink && sink->job_ended) sink->job_ended(sink->ud, job, status, seconds);
}

void mx_sink_workflow_ended(const mx_sink_wf_row *rows, size_t n)
{
    if (sink && sink->workflow_ended) sink->workflow_ended(sink->ud, rows, n);
}

int mx_sink_approve(const char *job)
{
    return sink && sink->approve ? sink->approve(sink->ud, job) != 0 : 0;
}
