#include "say.h"

#include <stdio.h>

void mx_vsay(const char *topic, const char *fmt, va_list ap)
{
    fprintf(stderr, "mexec: %s%s", topic ? topic : "", topic ? ": " : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void mx_say(const char *topic, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mx_vsay(topic, fmt, ap);
    va_end(ap);
}
