/* What the guest network needs to know about this host (vm_net.h): whether it has a default
 * route to copy, and its own addresses, which guests must not reach. */
#include "vm_net.h"
#include "mx_buf.h"
#include "mx_fs.h"

#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

int mx_net_host_online(void)
{
    mx_buf r4, r6;
    mx_buf_init(&r4);
    mx_buf_init(&r6);
    /* unreadable: as if absent (an IPv6-less kernel has no ipv6_route) */
    mx_read_file("/proc/net/route", &r4, NULL);
    mx_read_file("/proc/net/ipv6_route", &r6, NULL);
    int online = mx_net_default_route(r4.data, r6.data);
    mx_buf_free(&r4);
    mx_buf_free(&r6);
    return online;
}

char **mx_net_host_blocked(size_t *n)
{
    char **v = mx_xcalloc(MX_NET_MAX_BLOCKED + 1, sizeof *v);
    *n = 0;
    struct ifaddrs *all = NULL;
    /* no list: nothing beyond link-local to block, which the rules always do */
    if (getifaddrs(&all) < 0) return v;
    for (struct ifaddrs *i = all; i && *n < MX_NET_MAX_BLOCKED; i = i->ifa_next) {
        char text[64];
        if (!i->ifa_addr || !mx_net_block_addr(i->ifa_addr, text)) continue;
        int dup = 0;
        for (size_t k = 0; k < *n && !dup; k++)
            dup = strcmp(v[k], text) == 0;
        if (!dup) v[(*n)++] = mx_xstrdup(text);
    }
    freeifaddrs(all);
    return v;
}
