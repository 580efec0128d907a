#include "contexts.h"
#include "cfg_yaml.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <stdlib.h>
#include <string.h>

char *mx_contexts_dir(const mx_host_config *hc)
{
    const char *env = getenv("MEXEC_CONTEXTS_DIR");
    if (env && *env) return mx_xstrdup(env);
    if (hc->contexts_dir) return mx_xstrdup(hc->contexts_dir);
    const char *home = getenv("HOME");
    return mx_xasprintf("%s/.config/mexec/contexts", home && *home ? home : "/root");
}

static int name_ok(const char *name)
{
    /* a context name becomes a file name: no path tricks */
    return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int load_one(const char *dir, const char *name, mx_envlist *env, mx_secrets *secrets,
                    mx_err *err)
{
    if (!name_ok(name)) return mx_fail(err, MX_USAGE, "\"%s\" is not a context name", name);
    mx_autofree char *file = mx_xasprintf("%s/%s.yaml", dir, name);
    if (!mx_path_exists(file)) {
        mx_autofree char *alt = mx_xasprintf("%s/%s.yml", dir, name);
        if (!mx_path_exists(alt))
            return mx_fail(err, MX_USAGE, "unknown context \"%s\": no %s.yaml in %s", name, name,
                           dir);
        free(file);
        file = mx_steal(&alt);
    }
    mx_node *root = NULL;
    if (mx_yaml_load_file(file, &root, err) < 0) return mx_wrap(err, "context %s", name);
    mx_envlist vals = {0};
    int rc = mx_cfg_env_parse(root, &vals, err);
    if (rc < 0) mx_wrap(err, "context %s", name);
    for (size_t i = 0; rc == 0 && i < vals.n; i++) {
        mx_envlist_set(env, vals.v[i].key, vals.v[i].value);
        mx_secrets_add(secrets, vals.v[i].value);
    }
    mx_envlist_free(&vals);
    mx_node_free(root);
    return rc;
}

int mx_contexts_load(const char *dir, const char *const *names, size_t n, mx_envlist *env,
                     mx_secrets *secrets, mx_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (load_one(dir, names[i], env, secrets, err) < 0) return -1;
    return 0;
}
