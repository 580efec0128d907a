#include "agent.h"
#include "mx_buf.h"

#include <stdlib.h>
#include <string.h>

char *mx_agent_expand_home(const char *path, const char *home)
{
    if (!path || !*path) return mx_xstrdup(home);
    if (path[0] == '~' && (path[1] == '\0' || path[1] == '/'))
        return mx_xasprintf("%s%s", home, path + 1);
    return mx_xstrdup(path);
}

size_t mx_agent_split_shell(const char *shell, char ***argv)
{
    size_t n = 0, cap = 4;
    char **v = mx_xcalloc(cap, sizeof *v);
    const char *p = shell;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (n + 2 >= cap) {
            cap *= 2;
            v = mx_xrealloc(v, cap * sizeof *v);
        }
        v[n++] = mx_xstrndup(start, (size_t)(p - start));
    }
    v[n] = NULL;
    v[n + 1] = NULL;
    *argv = v;
    return n;
}

static int same_key(const char *entry, const char *key)
{
    size_t kl = strlen(key);
    return strncmp(entry, key, kl) == 0 && entry[kl] == '=';
}

char **mx_agent_build_env(char *const *base, const mx_kv *env, size_t nenv)
{
    size_t nbase = 0;
    while (base && base[nbase])
        nbase++;
    char **out = mx_xcalloc(nbase + nenv + 1, sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < nbase; i++) {
        int overridden = 0;
        for (size_t k = 0; k < nenv && !overridden; k++)
            overridden = same_key(base[i], env[k].key);
        if (!overridden) out[n++] = mx_xstrdup(base[i]);
    }
    for (size_t k = 0; k < nenv; k++) {
        int later = 0; /* a key given twice: the last one wins */
        for (size_t j = k + 1; j < nenv && !later; j++)
            later = strcmp(env[j].key, env[k].key) == 0;
        if (!later) out[n++] = mx_xasprintf("%s=%s", env[k].key, env[k].value);
    }
    out[n] = NULL;
    return out;
}

void mx_agent_free_strv(char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}
