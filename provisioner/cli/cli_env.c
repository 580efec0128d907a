/* -e and --env-file for `mexec run` (see cli_env.h). */
#include "cli_env.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_utf8.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An env file larger than this is not a list of variables. */
#define MAX_ENV_FILE (1u << 20)

void mx_cli_secret_keys_free(mx_cli_secret_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
    memset(k, 0, sizeof *k);
}

static void add_secret_key(mx_cli_secret_keys *k, const char *key)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->v[i], key) == 0) return;
    k->v = mx_xrealloc(k->v, (k->n + 1) * sizeof *k->v);
    k->v[k->n++] = mx_xstrdup(key);
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return 0;
    return 1;
}

/* KEY alone: its value from mexec's own environment. */
static int from_environment(const char *key, const char *where, mx_envlist *env,
                            mx_cli_secret_keys *secret, mx_err *err)
{
    const char *v = getenv(key);
    if (!v) return mx_fail(err, MX_USAGE, "%s: %s is not set in mexec's environment", where, key);
    mx_envlist_set(env, key, v);
    add_secret_key(secret, key);
    return 0;
}

int mx_cli_env_arg(const char *arg, mx_envlist *env, mx_cli_secret_keys *secret, mx_err *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq) {
        if (!name_ok(arg, strlen(arg)))
            return mx_fail(err, MX_USAGE,
                           "-e takes KEY=VALUE or KEY (a variable of mexec's environment), not "
                           "\"%s\"",
                           arg);
        mx_autofree char *where = mx_xasprintf("-e %s", arg);
        return from_environment(arg, where, env, secret, err);
    }
    if (eq == arg) return mx_fail(err, MX_USAGE, "-e takes KEY=VALUE, not \"%s\"", arg);
    mx_autofree char *k = mx_xstrndup(arg, (size_t)(eq - arg));
    /* values are bytes and reach the job exactly (the protocol's env_b64); names cannot */
    if (mx_utf8_require(k, "-e name", err) < 0) return -1;
    mx_envlist_set(env, k, eq + 1);
    return 0;
}

/* Reads the file through one descriptor, checked after opening (no race with a rename). */
static int read_private(const char *path, mx_buf *out, mx_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return mx_fail_errno(err, MX_USAGE, "--env-file %s", path);
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) < 0) {
        mx_fail_errno(err, MX_USAGE, "--env-file %s", path);
    } else if (!S_ISREG(st.st_mode)) {
        mx_fail(err, MX_USAGE, "--env-file %s is not a regular file", path);
    } else if (st.st_mode & 077) {
        mx_fail(err, MX_USAGE,
                "--env-file %s may be read or written by others (mode %04o): it holds secrets, "
                "so mexec refuses it, as ssh refuses such a private key; chmod 600 %s",
                path, (unsigned)(st.st_mode & 07777), path);
    } else if ((size_t)st.st_size > MAX_ENV_FILE) {
        mx_fail(err, MX_USAGE, "--env-file %s is larger than %u bytes", path, MAX_ENV_FILE);
    } else {
        char chunk[4096];
        ssize_t n;
        rc = 0;
        while ((n = read(fd, chunk, sizeof chunk)) != 0) {
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 || out->len + (size_t)n > MAX_ENV_FILE) {
                rc = n < 0 ? mx_fail_errno(err, MX_USAGE, "--env-file %s", path)
                           : mx_fail(err, MX_USAGE, "--env-file %s is too large", path);
                break;
            }
            mx_buf_add(out, chunk, (size_t)n);
        }
    }
    close(fd);
    return rc;
}

int mx_cli_env_file(const char *path, mx_envlist *env, mx_cli_secret_keys *secret, mx_err *err)
{
    mx_buf text;
    mx_buf_init(&text);
    int rc = read_private(path, &text, err);
    size_t lineno = 0;
    for (size_t at = 0; rc == 0 && at < text.len;) {
        const char *line = text.data + at;
        size_t len = strcspn(line, "\n");
        at += len + 1;
        lineno++;
        if (len && line[len - 1] == '\r') len--;
        size_t lead = 0;
        while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
            lead++;
        if (lead == len || line[lead] == '#') continue;
        line += lead;
        len -= lead;
        if (memchr(line, '\0', len)) {
            rc = mx_fail(err, MX_USAGE, "--env-file %s:%zu: a NUL byte", path, lineno);
            break;
        }
        const char *eq = memchr(line, '=', len);
        size_t klen = eq ? (size_t)(eq - line) : len;
        if (!name_ok(line, klen)) {
            /* the line may be a secret: say where, never what */
            rc = mx_fail(err, MX_USAGE,
                         "--env-file %s:%zu: not KEY=VALUE or KEY (a key is letters, digits "
                         "and _)",
                         path, lineno);
            break;
        }
        mx_autofree char *key = mx_xstrndup(line, klen);
        if (!eq) {
            mx_autofree char *where = mx_xasprintf("--env-file %s:%zu", path, lineno);
            rc = from_environment(key, where, env, secret, err);
            continue;
        }
        mx_autofree char *value = mx_xstrndup(eq + 1, len - klen - 1);
        mx_envlist_set(env, key, value);
        add_secret_key(secret, key);
        explicit_bzero(value, strlen(value));
    }
    if (text.data) explicit_bzero(text.data, text.len);
    mx_buf_free(&text);
    return rc;
}
