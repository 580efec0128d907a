#include "signals.h"

#include <string.h>

volatile sig_atomic_t mx_stop = 0;

static void on_signal(int sig)
{
    if (!mx_stop) mx_stop = sig;
}

void mx_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a blocking poll/read must return EINTR so the loop sees mx_stop */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
