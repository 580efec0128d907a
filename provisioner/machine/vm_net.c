/* The guest network's command line and settings (vm_net.h); vm_net_proc.c runs it. */
#include "vm_net.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_fs.h"

#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The namespace's interface when the host has no default route to copy one from (an offline
 * host, or the tests' loopback-only namespace): addresses that exist only inside it. */
#define OFFLINE_ADDR "10.0.3.15"
#define OFFLINE_GW "10.0.3.2"
#define OFFLINE_MAC "02:00:00:00:03:02"
#define NS_IFNAME "mx0"

typedef struct strv {
    char **v;
    size_t n, cap;
} strv;

static void add(strv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        if (!a->v) mx_oom();
    }
    a->v[a->n++] = mx_xstrdup(s);
    a->v[a->n] = NULL;
}

void mx_net_strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* Runs in the namespace: what the guest must never reach through it, then it holds the
 * namespace.  A prohibit rule answers a connect() with EACCES, which slirp turns into a reset
 * for the guest.  $1 is the ready file. */
static char *rules_script(const mx_net_spec *s)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "set -e\n"
                    "ip -4 rule add to 169.254.0.0/16 prohibit pref 100\n");
    for (size_t i = 0; i < s->nblocked; i++)
        if (!strchr(s->blocked[i], ':'))
            mx_buf_printf(&b, "ip -4 rule add to %s prohibit pref 101\n", s->blocked[i]);
    mx_buf_adds(&b, "if [ -d /proc/sys/net/ipv6 ]; then\n"
                    "  ip -6 rule add to fe80::/10 prohibit pref 100\n");
    for (size_t i = 0; i < s->nblocked; i++)
        if (strchr(s->blocked[i], ':'))
            mx_buf_printf(&b, "  ip -6 rule add to %s prohibit pref 101\n", s->blocked[i]);
    mx_buf_adds(&b, "fi\n"
                    ": >\"$1\"\n"
                    "exec sleep infinity\n");
    return mx_buf_steal(&b);
}

char **mx_net_argv(const mx_net_spec *s)
{
    strv a = {0};
    char tmp[64];
    /* quiet, foreground, errors to stderr (the job's net.log) */
    for (const char *const *o = (const char *const[]){"pasta", "-q", "-f", "-e", "--config-net",
                                                      "-I", NS_IFNAME, NULL};
         *o; o++)
        add(&a, *o);
    if (s->offline)
        for (const char *const *o =
                 (const char *const[]){"-i", "lo", "-a", OFFLINE_ADDR, "-n", "24", "-g", OFFLINE_GW,
                                       "-M", OFFLINE_MAC, NULL};
             *o; o++)
            add(&a, *o);
    /* the namespace's gateway is not the host's loopback; DNS sent to 10.0.2.3 goes to the
     * host's resolver (a loopback one such as systemd-resolved's included) */
    add(&a, "--no-map-gw");
    add(&a, "--dns-forward");
    add(&a, MX_NET_GUEST_DNS);
    /* host loopback SSH_PORT -> the namespace's SSH_PORT, where QEMU forwards it to the guest */
    add(&a, "-t");
    snprintf(tmp, sizeof tmp, "127.0.0.1/%d", s->ssh_port);
    add(&a, tmp);
    add(&a, "-u");
    add(&a, "none");
    /* the listed services: the namespace's loopback port -> the host's, nothing else */
    mx_buf ports;
    mx_buf_init(&ports);
    for (size_t i = 0; i < s->nservices; i++)
        if (s->services[i] != s->ssh_port) /* free on the host: nothing listens there */
            mx_buf_printf(&ports, "%s%d", ports.len ? "," : "", s->services[i]);
    add(&a, "-T");
    add(&a, ports.len ? ports.data : "none");
    mx_buf_free(&ports);
    add(&a, "-U");
    add(&a, "none");
    add(&a, "--");
    char *script = rules_script(s);
    add(&a, "/bin/sh");
    add(&a, "-c");
    add(&a, script);
    free(script);
    add(&a, "mexec-net"); /* $0 of the script */
    add(&a, s->ready);
    return a.v;
}

char *mx_net_ready_path(const char *job_dir)
{
    return mx_path_join(job_dir, "net/ready");
}

char *mx_net_resolv_path(const char *job_dir)
{
    return mx_path_join(job_dir, "net/resolv.conf");
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The port of "10.0.2.2[:PORT]" (a registry's key), 0 if it is not at the guest's gateway. */
static int gw_port(const char *hostport, int default_port)
{
    size_t gl = strlen(MX_NET_GUEST_GW);
    if (strncmp(hostport, MX_NET_GUEST_GW, gl) != 0) return 0;
    const char *p = hostport + gl;
    if (*p == '\0' || *p == '/') return default_port;
    if (*p != ':') return 0;
    const char *end;
    long long port;
    if (mx_parse_int_prefix(p + 1, 1, 65535, &port, &end) < 0 || (*end && *end != '/')) return 0;
    return (int)port;
}

/* The port of a registry key "NAME[:PORT]" whose name the guest resolves to 10.0.2.2
 * (host.yaml address:), 0 when the port is not a valid one. */
static int named_port(const char *hostport)
{
    const char *colon = strrchr(hostport, ':');
    if (!colon) return 443;
    long long port;
    if (mx_parse_int(colon + 1, 1, 65535, &port) < 0) return 0;
    return (int)port;
}

/* A mirror URL's port when its host is the guest's gateway. */
static int mirror_port(const char *url)
{
    if (strncmp(url, "http://", 7) == 0) return gw_port(url + 7, 80);
    if (strncmp(url, "https://", 8) == 0) return gw_port(url + 8, 443);
    return 0;
}

int *mx_net_services(const mx_host_config *hc, size_t *n)
{
    size_t cap = hc->nguest_services + hc->nregistries + hc->nmirrors + 1;
    int *p = calloc(cap, sizeof *p);
    if (!p) mx_oom();
    size_t k = 0;
    for (size_t i = 0; i < hc->nguest_services; i++)
        p[k++] = hc->guest_services[i];
    /* docker's default for a registry without a port is HTTPS */
    for (size_t i = 0; i < hc->nregistries; i++) {
        const mx_registry_cfg *r = &hc->registries[i];
        if (r->address && strcmp(r->address, MX_NET_GUEST_GW) == 0)
            p[k] = named_port(r->host); /* the guest's /etc/hosts sends NAME to 10.0.2.2 */
        else
            p[k] = gw_port(r->host, 443);
        if (p[k]) k++;
    }
    for (size_t i = 0; i < hc->nmirrors; i++)
        if ((p[k] = mirror_port(hc->mirrors[i]))) k++;
    qsort(p, k, sizeof *p, cmp_int);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || p[u - 1] != p[i]) p[u++] = p[i];
    *n = u;
    return p;
}

int mx_net_block_addr(const struct sockaddr *sa, char out[64])
{
    char text[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct in_addr *a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        uint32_t h = ntohl(a->s_addr);
        if ((h >> 24) == 127 || (h >> 16) == 0xa9fe || h == 0) return 0;
        if (!inet_ntop(AF_INET, a, text, sizeof text)) return 0;
        snprintf(out, 64, "%s/32", text);
        return 1;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
            IN6_IS_ADDR_V4MAPPED(a))
            return 0;
        if (!inet_ntop(AF_INET6, a, text, sizeof text)) return 0;
        snprintf(out, 64, "%s/128", text);
        return 1;
    }
    return 0;
}

/* Each line of text (after the first when header) split on blanks into at most max fields;
 * calls fn until it returns non-zero. */
static int each_row(const char *text, int header, int (*fn)(char **f, int n))
{
    if (!text) return 0;
    char *copy = mx_xstrdup(text), *save = NULL;
    int found = 0, first = 1;
    for (char *line = strtok_r(copy, "\n", &save); line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        if (first && header) {
            first = 0;
            continue;
        }
        char *f[12], *fs = NULL;
        int n = 0;
        for (char *t = strtok_r(line, " \t", &fs); t && n < 12; t = strtok_r(NULL, " \t", &fs))
            f[n++] = t;
        found = fn(f, n);
    }
    free(copy);
    return found;
}

/* /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ... (hex) */
static int default4(char **f, int n)
{
    return n >= 8 && strcmp(f[0], "lo") != 0 && strcmp(f[1], "00000000") == 0 &&
           strcmp(f[7], "00000000") == 0;
}

/* /proc/net/ipv6_route: dest plen src splen nexthop metric refcnt use flags iface */
static int default6(char **f, int n)
{
    static const char zero[] = "00000000000000000000000000000000";
    if (n < 10 || strcmp(f[9], "lo") == 0 || strcmp(f[0], zero) != 0 || strcmp(f[1], "00") != 0)
        return 0;
    unsigned long long flags = 0;
    if (mx_parse_hex(f[8], &flags) < 0) return 0;
    return !(flags & 0x0200); /* RTF_REJECT: an unreachable default is no way out */
}

int mx_net_default_route(const char *route4, const char *route6)
{
    return each_row(route4, 1, default4) || each_row(route6, 0, default6);
}
