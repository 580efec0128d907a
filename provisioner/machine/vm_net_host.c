/* What the guest network needs to know about this host (vm_net.h): whether it has a default
 * route to copy, its own addresses, which guests must not reach, and whether it allows the
 * unprivileged user namespaces pasta creates. */
#include "vm_net.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_fs.h"

#include <limits.h>
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

/* A sysctl's value as a number; -1 when it cannot be read (absent on this kernel). */
static long sysctl_value(const char *path)
{
    mx_buf b;
    mx_buf_init(&b);
    long v = -1;
    long long n;
    if (mx_read_file(path, &b, NULL) == 0 && b.len) {
        mx_buf_adds(&b, ""); /* terminated; the number leads ("1\n", "0\t2147483647\n") */
        if (mx_parse_int_prefix(b.data, LONG_MIN, LONG_MAX, &n, NULL) == 0) v = (long)n;
    }
    mx_buf_free(&b);
    return v;
}

const char *mx_net_userns_problem(void)
{
    /* Debian's own switch (absent upstream), then the per-user-namespace limit */
    if (sysctl_value("/proc/sys/kernel/unprivileged_userns_clone") == 0)
        return "sysctl kernel.unprivileged_userns_clone is 0";
    if (sysctl_value("/proc/sys/user/max_user_namespaces") == 0)
        return "sysctl user.max_user_namespaces is 0";
    return NULL;
}
