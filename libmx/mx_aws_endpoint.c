/* AWS partitions, default endpoints and ECR registry host names (see mx_aws.h). */
#include "mx_aws.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const char *mx_aws_dns_suffix(const char *region)
{
    return strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

char *mx_aws_ecr_endpoint(const char *region)
{
    return mx_xasprintf("https://api.ecr.%s.%s", region, mx_aws_dns_suffix(region));
}

char *mx_aws_sts_endpoint(const char *region)
{
    return mx_xasprintf("https://sts.%s.%s", region, mx_aws_dns_suffix(region));
}

static size_t span(const char *s, int (*ok)(int))
{
    size_t n = 0;
    while (s[n] && ok((unsigned char)s[n]))
        n++;
    return n;
}

static int region_char(int c)
{
    return islower(c) || isdigit(c) || c == '-';
}

int mx_aws_ecr_host(const char *host, char **account, char **region)
{
    /* ACCOUNT(12 digits).dkr.ecr[-fips].REGION.amazonaws.com[.cn] */
    size_t na = span(host, isdigit);
    if (na != 12 || host[na] != '.') return 0;
    const char *p = host + na + 1;
    if (strncmp(p, "dkr.ecr.", 8) == 0)
        p += 8;
    else if (strncmp(p, "dkr.ecr-fips.", 13) == 0)
        p += 13;
    else
        return 0;
    size_t nr = span(p, region_char);
    if (nr == 0 || p[nr] != '.') return 0;
    const char *suffix = p + nr + 1;
    if (strcmp(suffix, "amazonaws.com") != 0 && strcmp(suffix, "amazonaws.com.cn") != 0) return 0;
    *account = mx_xstrndup(host, na);
    *region = mx_xstrndup(p, nr);
    return 1;
}
