/* SIGINT/SIGTERM/SIGHUP only record themselves; every wait loop checks mx_stop and unwinds
 * through the normal teardown, so an interrupted job leaves nothing behind. */
#ifndef MX_SIGNALS_H
#define MX_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t mx_stop; /* the signal number received, or 0 */

void mx_signals_install(void);

#endif
