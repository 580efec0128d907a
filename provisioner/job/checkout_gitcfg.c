/* The .git/config a checkout carries into the guest, without the host's credentials (see
 * checkout.h).
 *
 * Why rewrite rather than copy: a developer's .git/config often holds a token
 * (`https://user:TOKEN@host/repo`, `[http "https://host/"] extraheader = AUTHORIZATION: ...`,
 * `[credential] helper = store`), and the job's steps can read every file of the checkout.
 * git itself reads the file (`git config --list`: its own parser, quoting and all); mexec
 * writes back what may go, in git's documented format. */
#include "checkout.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "scheme://" at the start: the length of "scheme://", else 0. */
static size_t scheme_len(const char *s)
{
    size_t n = 0;
    if (!isalpha((unsigned char)s[0])) return 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
        n++;
    return strncmp(s + n, "://", 3) == 0 ? n + 3 : 0;
}

char *mx_git_url_without_credentials(const char *url)
{
    size_t sl = scheme_len(url);
    if (!sl) return mx_xstrdup(url); /* scp-like "git@host:path": a user name, no secret */
    const char *auth = url + sl;
    size_t alen = strcspn(auth, "/?#");
    /* the last '@' of the authority ends the user info (a password may contain '@') */
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@') at = p;
    if (!at) return mx_xstrdup(url);
    /* over http(s) and ftp the user name itself is often the token (TOKEN@github.com); for ssh
     * it is an account ("git"), and only a password goes */
    int ssh = strncasecmp(url, "ssh://", 6) == 0 || strncasecmp(url, "git+ssh://", 10) == 0 ||
              strncasecmp(url, "ssh+git://", 10) == 0;
    const char *colon = ssh ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (ssh && !colon) return mx_xstrdup(url);
    size_t keep = ssh ? (size_t)(colon - url) : sl;
    return mx_xasprintf("%.*s%s%s", (int)keep, url, ssh ? "@" : "", at + 1);
}

/* One entry of `git config --list --null`: "section[.subsection].name", value (NULL: none). */
typedef struct entry {
    char *section, *subsection, *name, *value;
} entry;

static void entry_free(entry *e)
{
    free(e->section);
    free(e->subsection);
    free(e->name);
    free(e->value);
}

/* Splits "key" (as git lists it) into its parts; 0, or -1 if it is not a config key. */
static int split_key(const char *key, entry *e)
{
    const char *first = strchr(key, '.'), *last = strrchr(key, '.');
    if (!first || first == key || !last[1]) return -1;
    e->section = mx_xstrndup(key, (size_t)(first - key));
    e->subsection = last > first ? mx_xstrndup(first + 1, (size_t)(last - first - 1)) : NULL;
    e->name = mx_xstrdup(last + 1);
    return 0;
}

/* What may not go into the guest at all: credential settings, extra HTTP headers (tokens) and
 * includes (they name host files). */
static int dropped(const entry *e)
{
    return strcasecmp(e->section, "credential") == 0 || strcasecmp(e->section, "include") == 0 ||
           strcasecmp(e->section, "includeif") == 0 ||
           (strcasecmp(e->section, "http") == 0 && strcasecmp(e->name, "extraheader") == 0);
}

static void strip_url(char **s)
{
    if (!*s || !scheme_len(*s)) return;
    char *clean = mx_git_url_without_credentials(*s);
    free(*s);
    *s = clean;
}

/* git's quoting: a value in double quotes with \\ \" \n \t \b escaped. */
static void add_quoted(mx_buf *b, const char *s, int value)
{
    mx_buf_add(b, "\"", 1);
    for (; *s; s++) {
        const char *esc = NULL;
        if (*s == '\\') esc = "\\\\";
        if (*s == '"') esc = "\\\"";
        if (value && *s == '\n') esc = "\\n";
        if (value && *s == '\t') esc = "\\t";
        if (value && *s == '\b') esc = "\\b";
        if (esc)
            mx_buf_adds(b, esc);
        else
            mx_buf_add(b, s, 1);
    }
    mx_buf_add(b, "\"", 1);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Appends e to the file text, with a section header when the section changes. */
static void emit(mx_buf *out, const entry *e, const entry *prev)
{
    if (!prev || strcmp(prev->section, e->section) != 0 || !same(prev->subsection, e->subsection)) {
        mx_buf_printf(out, "[%s", e->section);
        if (e->subsection) {
            mx_buf_add(out, " ", 1);
            add_quoted(out, e->subsection, 0);
        }
        mx_buf_adds(out, "]\n");
    }
    mx_buf_printf(out, "\t%s", e->name);
    if (e->value) {
        mx_buf_adds(out, " = ");
        add_quoted(out, e->value, 1);
    }
    mx_buf_add(out, "\n", 1);
}

int mx_checkout_clean_git_config(const char *src, const char *dst, mx_err *err)
{
    const char *argv[] = {"git",           "config", "--file", src,
                          "--no-includes", "--list", "--null", NULL};
    mx_buf list;
    mx_buf_init(&list);
    if (mx_proc_check(argv, NULL, &list, err) < 0) {
        mx_buf_free(&list);
        return mx_wrap(err, "read %s", src);
    }
    mx_buf out;
    mx_buf_init(&out);
    entry prev = {0};
    int have_prev = 0;
    for (size_t at = 0; at < list.len;) {
        const char *item = list.data + at;
        size_t len = strlen(item);
        at += len + 1;
        const char *nl = strchr(item, '\n'); /* "key\nvalue"; a key alone is an implicit true */
        mx_autofree char *key = nl ? mx_xstrndup(item, (size_t)(nl - item)) : mx_xstrdup(item);
        entry e = {0};
        if (split_key(key, &e) < 0 || (e.subsection && strchr(e.subsection, '\n')) || dropped(&e)) {
            entry_free(&e);
            continue;
        }
        e.value = nl ? mx_xstrdup(nl + 1) : NULL;
        /* [url "https://user:token@host/"] insteadOf = ..., remote.*.url, http.proxy, ... */
        strip_url(&e.subsection);
        strip_url(&e.value);
        emit(&out, &e, have_prev ? &prev : NULL);
        entry_free(&prev);
        prev = e;
        have_prev = 1;
    }
    entry_free(&prev);
    mx_buf_free(&list);
    int rc = mx_write_file(dst, out.data ? out.data : "", out.len, 0644, err);
    mx_buf_free(&out);
    return rc;
}
