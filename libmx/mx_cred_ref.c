/* Normalization of image references and credential keys (see mx_cred_ref.h). */
#include "mx_cred_ref.h"
#include "mx_buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int mx_cred_is_docker_hub(const char *host)
{
    return strcmp(host, "docker.io") == 0 || strcmp(host, "index.docker.io") == 0 ||
           strcmp(host, "registry-1.docker.io") == 0;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* host (a new string) lower-cased, with docker.io's aliases folded into "docker.io" */
static char *canonical_host(const char *host, size_t len)
{
    char *h = mx_xstrndup(host, len);
    lower(h);
    if (mx_cred_is_docker_hub(h)) {
        free(h);
        h = mx_xstrdup(MX_DOCKER_HUB);
    }
    return h;
}

/* Drops a ":tag" from the last path component (a ':' before the last '/' is a port). */
static void strip_tag(char *path)
{
    char *slash = strrchr(path, '/');
    char *colon = strrchr(path, ':');
    if (slash && colon && colon > slash) *colon = '\0';
}

/* As docker's reference parser: the first component names a registry only if it looks like a
 * host (has '.' or ':', is "localhost", or has upper case, which repository names cannot). */
static int looks_like_host(const char *s, size_t len)
{
    if (len == 9 && strncmp(s, "localhost", 9) == 0) return 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '.' || s[i] == ':' || isupper((unsigned char)s[i])) return 1;
    return 0;
}

char *mx_cred_image_path(const char *image, mx_err *err)
{
    if (!image || !*image) {
        mx_fail(err, MX_USAGE, "empty image reference");
        return NULL;
    }
    for (const char *p = image; *p; p++) {
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
            mx_fail(err, MX_USAGE, "invalid image reference \"%s\": contains white space", image);
            return NULL;
        }
    }
    char *ref = mx_xstrdup(image);
    char *at = strchr(ref, '@');
    if (at) *at = '\0'; /* digest */
    char *host, *rest;
    char *slash = strchr(ref, '/');
    if (slash && looks_like_host(ref, (size_t)(slash - ref))) {
        host = canonical_host(ref, (size_t)(slash - ref));
        rest = slash + 1;
    } else {
        host = mx_xstrdup(MX_DOCKER_HUB);
        rest = ref;
    }
    strip_tag(rest);
    if (!strchr(rest, '/')) {
        /* a bare name's tag has no '/' before it */
        char *colon = strchr(rest, ':');
        if (colon) *colon = '\0';
    }
    char *out = NULL;
    if (!*rest) {
        mx_fail(err, MX_USAGE, "invalid image reference \"%s\": no repository name", image);
    } else if (strcmp(host, MX_DOCKER_HUB) == 0 && !strchr(rest, '/')) {
        out = mx_xasprintf("%s/library/%s", host, rest); /* official images */
    } else {
        out = mx_xasprintf("%s/%s", host, rest);
    }
    free(host);
    free(ref);
    return out;
}

char *mx_cred_key_path(const char *key)
{
    if (!key || !*key) return NULL;
    size_t skip = 0;
    if (strncasecmp(key, "https://", 8) == 0) skip = 8;
    if (strncasecmp(key, "http://", 7) == 0) skip = 7;
    if (skip) {
        /* legacy form ("https://index.docker.io/v1/"): only the host counts, as in GitLab */
        const char *h = key + skip;
        size_t n = strcspn(h, "/");
        return n ? canonical_host(h, n) : NULL;
    }
    char *path = mx_xstrdup(key);
    size_t len = strlen(path);
    while (len > 0 && path[len - 1] == '/')
        path[--len] = '\0';
    strip_tag(path);
    size_t hl = strcspn(path, "/");
    if (hl == 0) {
        free(path);
        return NULL;
    }
    char *host = canonical_host(path, hl);
    char *out = path[hl] ? mx_xasprintf("%s%s", host, path + hl) : mx_xstrdup(host);
    free(host);
    free(path);
    return out;
}

char *mx_cred_path_host(const char *path)
{
    return mx_xstrndup(path, strcspn(path, "/"));
}
