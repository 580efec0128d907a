/* add_ssh_keys on the host: the keys come from host settings only (ssh_keys in host.yaml),
 * never from a path the job names; each is written into the guest as ~/.ssh/id_rsa_NAME (0600)
 * as CircleCI names them, and masked in all output. */
#include "job_steps.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "sink.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A private key file is small; anything larger is not one. */
#define MAX_KEY_BYTES 65536

/* "b7:35:a6" and "B735A6" name the same MD5 fingerprint. */
static int same_name(const char *a, const char *b)
{
    for (;;) {
        while (*a == ':')
            a++;
        while (*b == ':')
            b++;
        if (!*a || !*b) return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
        a++, b++;
    }
}

const mx_host_key *mx_job_steps_find_key(const mx_host_steps *hs, const char *name)
{
    for (size_t i = 0; i < hs->nssh_keys; i++)
        if (strcmp(hs->ssh_keys[i].name, name) == 0) return &hs->ssh_keys[i];
    for (size_t i = 0; i < hs->nssh_keys; i++)
        if (same_name(hs->ssh_keys[i].name, name)) return &hs->ssh_keys[i];
    return NULL;
}

char *mx_job_steps_key_file(const char *name)
{
    /* CircleCI: id_rsa_ and the MD5 fingerprint without colons; a "SHA256:" one or a name is
     * kept to the characters a file name can carry */
    const char *n = strncmp(name, "SHA256:", 7) == 0 ? name + 7 : name;
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "id_rsa_");
    for (; *n; n++) {
        if (*n == ':') continue;
        char c = isalnum((unsigned char)*n) || *n == '-' || *n == '_' || *n == '.' ? *n : '_';
        mx_buf_add(&b, &c, 1);
    }
    return mx_buf_steal(&b);
}

/* The key file's text: a regular file of at most MAX_KEY_BYTES; NULL with *why. */
static char *read_key(const mx_host_key *k, char **why)
{
    int fd = open(k->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        *why = mx_xasprintf("%s: %s", k->path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > MAX_KEY_BYTES) {
        close(fd);
        *why = mx_xasprintf("%s is not a key file", k->path);
        return NULL;
    }
    char *text = mx_xcalloc((size_t)st.st_size + 1, 1);
    ssize_t n = read(fd, text, (size_t)st.st_size);
    close(fd);
    if (n != st.st_size) {
        free(text);
        *why = mx_xasprintf("%s: could not be read", k->path);
        return NULL;
    }
    return text;
}

/* The keys the step names (all host keys when it names none): 0, or 1 after saying which one
 * is missing. */
static int select_keys(const mx_host_steps *hs, const mx_step *st, const mx_host_key ***out,
                       size_t *n)
{
    size_t want = st->nkeys ? st->nkeys : hs->nssh_keys;
    *out = mx_xcalloc(want + 1, sizeof **out);
    *n = 0;
    for (size_t i = 0; i < want; i++) {
        const mx_host_key *k =
            st->nkeys ? mx_job_steps_find_key(hs, st->keys[i]) : &hs->ssh_keys[i];
        if (!k) {
            mx_buf known;
            mx_buf_init(&known);
            for (size_t j = 0; hs->ssh_keys && j < hs->nssh_keys; j++)
                mx_buf_printf(&known, "%s%s", j ? ", " : "", hs->ssh_keys[j].name);
            mx_sink_log(
                "add_ssh_keys: no key \"%s\" in this host's settings (ssh_keys in host.yaml; "
                "%s%s)",
                st->keys[i], known.len ? "it has: " : "it has none", known.len ? known.data : "");
            mx_buf_free(&known);
            return 1;
        }
        (*out)[(*n)++] = k;
    }
    return 0;
}

int mx_job_steps_ssh_keys(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err)
{
    const mx_step *st = &js->c.job->steps[i];
    const mx_host_steps *hs = &js->c.hc->steps;
    const mx_host_key **sel = NULL;
    size_t n = 0;
    if (select_keys(hs, st, &sel, &n) != 0) {
        free(sel);
        return 1;
    }
    if (n == 0) {
        mx_job_steps_say(
            js, "This host's settings name no SSH keys (ssh_keys in host.yaml): none added");
        free(sel);
        return 0;
    }
    mx_kv *keys = mx_xcalloc(n + 1, sizeof *keys);
    size_t nk = 0;
    mx_buf config;
    mx_buf_init(&config);
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        char *why = NULL;
        char *text = read_key(sel[k], &why);
        if (!text) {
            mx_job_steps_say(js, "add_ssh_keys: key %s: %s", sel[k]->name, why);
            free(why);
            rc = 1;
            break;
        }
        /* masked without its final newline, so that a masked key does not eat a line break */
        size_t len = strlen(text);
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
            len--;
        char *body = mx_xstrndup(text, len);
        mx_secrets_add(js->c.secrets, body);
        /* and each line of its body, so that a part of it printed is masked too */
        for (char *line = body; *line;) {
            size_t n = strcspn(line, "\r\n");
            if (n >= 16 && strncmp(line, "-----", 5) != 0) {
                char *one = mx_xstrndup(line, n);
                mx_secrets_add(js->c.secrets, one);
                explicit_bzero(one, n);
                free(one);
            }
            line += n + strspn(line + n, "\r\n");
        }
        explicit_bzero(body, len);
        free(body);
        keys[nk].key = mx_job_steps_key_file(sel[k]->name);
        keys[nk++].value = text;
        if (sel[k]->hostname)
            mx_buf_printf(&config, "Host %s\n  IdentityFile ~/.ssh/%s\n", sel[k]->hostname,
                          keys[nk - 1].key);
    }
    if (rc == 0 && config.len) {
        mx_buf_adds(&config, "");
        keys[nk].key = mx_xstrdup("config");
        keys[nk++].value = mx_buf_steal(&config);
    }
    if (rc == 0) {
        mx_msg m = {.type = MX_MSG_STEP,
                    .id = (int)i + 1,
                    .kind = MX_STEP_SSH_KEYS,
                    .name = st->name,
                    .keys = keys,
                    .nkeys = nk,
                    .env = env->v,
                    .nenv = env->n};
        mx_msg end;
        rc = mx_job_steps_exchange(js, &m, &end, err);
        if (rc == 0) {
            rc = mx_job_steps_status(js, &end);
            mx_msg_clear(&end);
        }
    }
    for (size_t k = 0; k < nk; k++) {
        free(keys[k].key);
        /* the key's text: wiped before it is freed */
        explicit_bzero(keys[k].value, strlen(keys[k].value));
        free(keys[k].value);
    }
    free(keys);
    mx_buf_free(&config);
    free(sel);
    return rc;
}
