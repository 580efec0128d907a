/* Grammar from github.com/distribution/reference (regexp.go, normalize.go):
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain '/'] path-component ['/' path-component]*
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | "__" | "-"+
 *   tag       := [\w][\w.-]{0,127}
 * The first component is a domain only if it contains '.' or ':', is "localhost", or has an
 * upper-case letter; otherwise the image is on Docker Hub, where one-component names live
 * under "library/". */
#include "mx_reg_ref.h"

#include "mx_buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 255

static int is_lower_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int path_component_valid(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum((unsigned char)s[0])) return 0;
    size_t i = 0;
    for (;;) {
        while (i < n && is_lower_alnum((unsigned char)s[i]))
            i++;
        if (i == n) return 1;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-')
                i++;
        } else {
            return 0;
        }
        /* a separator is always followed by an alphanumeric */
        if (i == n || !is_lower_alnum((unsigned char)s[i])) return 0;
    }
}

/* domain := host [":" port]; host := dns-name | "[" ipv6 "]" */
static int domain_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0) return 0;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) return 0;
        for (const char *p = s + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.') return 0;
        i = (size_t)(close - s) + 1;
    } else {
        size_t start = 0;
        for (; i < n && s[i] != ':'; i++) {
            char c = s[i];
            if (c == '.') {
                if (i == start || s[i - 1] == '-') return 0;
                start = i + 1;
            } else if (c == '-') {
                if (i == start) return 0;
            } else if (!isalnum((unsigned char)c)) {
                return 0;
            }
        }
        if (i == start || s[i - 1] == '-') return 0;
    }
    if (i == n) return 1;
    if (s[i] != ':' || i + 1 == n) return 0;
    for (i++; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

static int tag_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128) return 0;
    if (!isalnum((unsigned char)s[0]) && s[0] != '_') return 0;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i])) return 0;
    return 1;
}

int mx_reg_digest_valid(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64) return 0;
    for (const char *p = d + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

void mx_reg_ref_free(mx_reg_ref *r)
{
    free(r->domain);
    free(r->host);
    free(r->path);
    free(r->tag);
    free(r->digest);
    *r = (mx_reg_ref){0};
}

static int split_domain(const char *name, mx_reg_ref *r)
{
    const char *slash = strchr(name, '/');
    if (slash) {
        size_t n = (size_t)(slash - name);
        int is_domain = memchr(name, '.', n) || memchr(name, ':', n) ||
                        (n == 9 && strncmp(name, "localhost", 9) == 0);
        for (size_t i = 0; i < n && !is_domain; i++)
            if (isupper((unsigned char)name[i])) is_domain = 1;
        if (is_domain) {
            r->domain = mx_xstrndup(name, n);
            r->path = mx_xstrdup(slash + 1);
            return 0;
        }
    }
    r->domain = mx_xstrdup(MX_REG_DOCKER_HUB);
    r->path = mx_xstrdup(name);
    return 0;
}

int mx_reg_ref_parse(const char *s, mx_reg_ref *r, mx_err *err)
{
    *r = (mx_reg_ref){0};
    if (!s || !*s) return mx_fail(err, MX_USAGE, "image reference is empty");
    char *name = mx_xstrdup(s);
    char *at = strchr(name, '@');
    if (at) {
        *at = '\0';
        if (!mx_reg_digest_valid(at + 1)) {
            mx_fail(err, MX_USAGE,
                    "image reference \"%s\": digest must be sha256: and 64 lower-case hex digits",
                    s);
            goto fail;
        }
        r->digest = mx_xstrdup(at + 1);
    }
    /* a tag is after the last ':' that follows the last '/' (a ':' before it is a port) */
    char *last_slash = strrchr(name, '/');
    char *colon = strrchr(last_slash ? last_slash : name, ':');
    if (colon) {
        *colon = '\0';
        if (!tag_valid(colon + 1)) {
            mx_fail(err, MX_USAGE, "image reference \"%s\": invalid tag \"%s\"", s, colon + 1);
            goto fail;
        }
        r->tag = mx_xstrdup(colon + 1);
    }
    split_domain(name, r);
    if (!domain_valid(r->domain, strlen(r->domain))) {
        mx_fail(err, MX_USAGE, "image reference \"%s\": invalid registry \"%s\"", s, r->domain);
        goto fail;
    }
    if (strcmp(r->domain, "index.docker.io") == 0) {
        free(r->domain);
        r->domain = mx_xstrdup(MX_REG_DOCKER_HUB);
    }
    for (const char *p = r->path;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!path_component_valid(p, n)) {
            int upper = 0;
            for (size_t i = 0; i < n; i++)
                upper |= isupper((unsigned char)p[i]);
            mx_fail(err, MX_USAGE, "image reference \"%s\": %s", s,
                    upper ? "repository name must be lowercase" : "invalid repository name");
            goto fail;
        }
        if (!e) break;
        p = e + 1;
    }
    int hub = strcmp(r->domain, MX_REG_DOCKER_HUB) == 0;
    if (hub && !strchr(r->path, '/')) {
        char *p = mx_xasprintf("library/%s", r->path);
        free(r->path);
        r->path = p;
    }
    if (strlen(r->domain) + 1 + strlen(r->path) > NAME_MAX_LEN) {
        mx_fail(err, MX_USAGE, "image reference \"%s\": name longer than %d characters", s,
                NAME_MAX_LEN);
        goto fail;
    }
    r->host = mx_xstrdup(hub ? MX_REG_DOCKER_HUB_HOST : r->domain);
    if (!r->tag && !r->digest) r->tag = mx_xstrdup("latest");
    free(name);
    return 0;
fail:
    free(name);
    mx_reg_ref_free(r);
    return -1;
}

// cppcheck-suppress unusedFunction ; mx_reg_ref_test checks normalization with it
char *mx_reg_ref_string(const mx_reg_ref *r)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_printf(&b, "%s/%s", r->host, r->path);
    if (r->tag) mx_buf_printf(&b, ":%s", r->tag);
    if (r->digest) mx_buf_printf(&b, "@%s", r->digest);
    return mx_buf_steal(&b);
}
