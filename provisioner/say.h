/* Progress lines on stderr ("mexec: booting VM ..."): the one helper library code uses to tell
 * the user what it is doing.  Issue 14 moves this behind a sink the CLI implements; until then
 * every progress line goes through here. */
#ifndef MX_SAY_H
#define MX_SAY_H

#include <stdarg.h>

/* "mexec: TOPIC: message\n" on stderr (topic NULL: "mexec: message"). */
void mx_say(const char *topic, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mx_vsay(const char *topic, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
