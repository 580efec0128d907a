/* AWS regions, partitions, default endpoints and ECR registry host names (see mx_aws.h).
 *
 * Why so strict: a region comes from the job (AWS_REGION, the registry host a config names)
 * and becomes part of an endpoint's host name; "us-east-1@evil.example/" would turn the STS
 * URL into another host that then receives the web-identity token.  So a region is checked
 * against AWS's own region syntax before any URL is built from it, and endpoints are only
 * ever on AWS's domains. */
#include "mx_aws.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Longest region name we accept; the longest real one today is 14 characters. */
#define MAX_REGION_LEN 32

static size_t span(const char *s, int (*ok)(int))
{
    size_t n = 0;
    while (s[n] && ok((unsigned char)s[n]))
        n++;
    return n;
}

int mx_aws_region_check(const char *region, mx_err *err)
{
    /* AREA(2 letters)[-gov]-DIRECTION-NUMBER: us-east-1, cn-northwest-1, us-gov-west-1 */
    const char *p = region ? region : "";
    size_t len = strlen(p);
    if (len == 0 || len > MAX_REGION_LEN) goto bad;
    if (span(p, islower) != 2 || p[2] != '-') goto bad;
    p += 3;
    if (strncmp(p, "iso", 3) == 0 && span(p, islower) <= 4 && p[span(p, islower)] == '-')
        return mx_fail(err, MX_USAGE,
                       "AWS region \"%s\" is in an isolated (ISO) partition, which mexec does not "
                       "support",
                       region);
    if (strncmp(p, "gov-", 4) == 0) p += 4;
    size_t dir = span(p, islower);
    if (dir < 2 || dir > 16 || p[dir] != '-') goto bad;
    p += dir + 1;
    size_t num = span(p, isdigit);
    if (num < 1 || num > 2 || p[num]) goto bad;
    return 0;
bad:
    /* quoted with %.40s: the value is the job's and could be long */
    return mx_fail(err, MX_USAGE,
                   "\"%.40s\" is not an AWS region (like us-east-1, cn-north-1, us-gov-west-1)",
                   region ? region : "");
}

const char *mx_aws_dns_suffix(const char *region)
{
    return strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

char *mx_aws_ecr_endpoint(const char *region)
{
    if (mx_aws_region_check(region, NULL) < 0) return NULL;
    return mx_xasprintf("https://api.ecr.%s.%s", region, mx_aws_dns_suffix(region));
}

char *mx_aws_sts_endpoint(const char *region)
{
    if (mx_aws_region_check(region, NULL) < 0) return NULL;
    return mx_xasprintf("https://sts.%s.%s", region, mx_aws_dns_suffix(region));
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
    char *r = mx_xstrndup(p, nr);
    /* the partition's domain must be the region's: no cn- region on amazonaws.com */
    if (mx_aws_region_check(r, NULL) < 0 || strcmp(suffix, mx_aws_dns_suffix(r)) != 0) {
        free(r);
        return 0;
    }
    *account = mx_xstrndup(host, na);
    *region = r;
    return 1;
}
