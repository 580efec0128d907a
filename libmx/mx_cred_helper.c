/* Running docker-credential-* programs (see mx_cred_helper.h). */
#include "mx_cred_helper.h"
#include "mx_buf.h"
#include "mx_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOT_FOUND_MSG "credentials not found in native keychain"
/* A reply larger than this is not a credential. */
#define MAX_REPLY (1u << 20)

int mx_cred_helper_check_name(const char *name, mx_err *err)
{
    if (!name || !*name) return mx_fail(err, MX_USAGE, "empty credential helper name");
    int only_dots = 1;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (c == '/' || c == '\\')
            return mx_fail(err, MX_USAGE,
                           "credential helper name \"%s\" contains a path separator (path "
                           "traversal is not allowed)",
                           name);
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return mx_fail(err, MX_USAGE,
                           "credential helper name \"%s\" has a character outside "
                           "[A-Za-z0-9._-]",
                           name);
        if (c != '.') only_dots = 0;
    }
    if (only_dots)
        return mx_fail(err, MX_USAGE,
                       "credential helper name \"%s\" is only dots (path traversal is not allowed)",
                       name);
    return 0;
}

int mx_cred_helper_check_allowed(const char *name, const char *const *allowed, mx_err *err)
{
    if (mx_cred_helper_check_name(name, err) < 0) return -1;
    /* helpers are host programs that answer with host secrets: none runs unless allowed */
    for (size_t i = 0; allowed && allowed[i]; i++)
        if (strcmp(allowed[i], name) == 0) return 0;
    return mx_fail(err, MX_USAGE,
                   "credential helper \"%s\" is not allowed on this host (host settings: "
                   "credential_helpers: [%s] allows it)",
                   name, name);
}

/* The helper's full path, or NULL with an error naming it. */
static char *find_helper(const char *name, const char *search_path, mx_err *err)
{
    const char *path = search_path ? search_path : getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = mx_xstrdup(path), *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        if (!*dir) continue;
        char *cand = mx_xasprintf("%s/docker-credential-%s", dir, name);
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
            free(copy);
            return cand;
        }
        free(cand);
    }
    free(copy);
    mx_fail(err, MX_INFRA,
            "credential helper \"%s\" is not installed: no executable docker-credential-%s in "
            "PATH",
            name, name);
    return NULL;
}

/* Runs `PROGRAM verb` with input on stdin.  Returns the exit status (128+signal when killed) or
 * -1.  stdin is a socket, not a pipe, so that writing to a helper that exits without reading
 * gives EPIPE rather than killing mexec with SIGPIPE (send's MSG_NOSIGNAL). */
static int run_helper(const char *prog, const char *verb, const char *input, mx_buf *out,
                      mx_buf *errtext, mx_err *err)
{
    int in[2], op[2], ep[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
        return mx_fail_errno(err, MX_INFRA, "socketpair");
    if (pipe2(op, O_CLOEXEC) < 0) {
        close(in[0]), close(in[1]);
        return mx_fail_errno(err, MX_INFRA, "pipe");
    }
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(in[0]), close(in[1]), close(op[0]), close(op[1]);
        return mx_fail_errno(err, MX_INFRA, "pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]), close(in[1]), close(op[0]), close(op[1]), close(ep[0]), close(ep[1]);
        return mx_fail_errno(err, MX_INFRA, "fork");
    }
    if (pid == 0) {
        /* child: async-signal-safe calls only until exec */
        if (dup2(in[1], 0) < 0 || dup2(op[1], 1) < 0 || dup2(ep[1], 2) < 0) _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        char *const argv[] = {(char *)prog, (char *)verb, NULL};
        execv(prog, argv);
        _exit(127);
    }
    close(in[1]);
    close(op[1]);
    close(ep[1]);
    size_t len = strlen(input), off = 0;
    while (off < len) {
        ssize_t n = send(in[0], input + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break; /* the helper stopped reading: its exit status tells the rest */
        off += (size_t)n;
    }
    close(in[0]);
    int fds[2] = {op[0], ep[0]};
    mx_proc_drain(fds, out, errtext, MAX_REPLY, MAX_REPLY);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return mx_fail_errno(err, MX_INFRA, "waitpid %s", prog);
    }
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* First line of the helper's own complaint, for an error message. */
static char *complaint(const mx_buf *out, const mx_buf *errtext)
{
    const mx_buf *b = out->len ? out : errtext;
    const char *s = b->len ? b->data : "";
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
        s++;
    size_t n = strcspn(s, "\r\n");
    if (n > 200) n = 200;
    return mx_xstrndup(s, n);
}

static void wipe(mx_buf *b)
{
    if (b->data) OPENSSL_cleanse(b->data, b->len);
    mx_buf_free(b);
}

/* Runs the helper; on success *reply holds its parsed JSON output. */
static int call(const char *name, const char *verb, const char *input, const char *search_path,
                const char *what, json_t **reply, int *not_found, mx_err *err)
{
    *reply = NULL;
    *not_found = 0;
    char *prog = find_helper(name, search_path, err);
    if (!prog) return -1;
    mx_buf out, errtext;
    mx_buf_init(&out);
    mx_buf_init(&errtext);
    int rc = -1;
    int st = run_helper(prog, verb, input, &out, &errtext, err);
    if (st < 0) goto done;
    if (st != 0) {
        char *why = complaint(&out, &errtext);
        if (strstr(why, NOT_FOUND_MSG)) {
            *not_found = 1;
            rc = 0;
        } else {
            mx_fail(err, MX_INFRA,
                    "credential helper docker-credential-%s %s%s failed (exit %d)%s%s", name, verb,
                    what, st, *why ? ": " : "", why);
        }
        free(why);
        goto done;
    }
    json_error_t je;
    *reply = json_loadb(out.data ? out.data : "", out.len, 0, &je);
    if (!*reply || !json_is_object(*reply)) {
        json_decref(*reply);
        *reply = NULL;
        /* never quote the reply: it may hold the secret */
        mx_fail(err, MX_INFRA,
                "credential helper docker-credential-%s %s%s: reply is not a JSON "
                "object",
                name, verb, what);
        goto done;
    }
    rc = 0;
done:
    wipe(&out);
    wipe(&errtext);
    free(prog);
    return rc;
}

int mx_cred_helper_get(const char *name, const char *server, const char *search_path, mx_cred *out,
                       mx_err *err)
{
    memset(out, 0, sizeof *out);
    if (mx_cred_helper_check_name(name, err) < 0) return -1;
    char *what = mx_xasprintf(" for %s", server);
    json_t *reply;
    int not_found;
    int rc = call(name, "get", server, search_path, what, &reply, &not_found, err);
    if (rc < 0 || not_found) goto done;
    json_t *u = json_object_get(reply, "Username"), *s = json_object_get(reply, "Secret");
    if ((u && !json_is_string(u)) || (s && !json_is_string(s))) {
        rc = mx_fail(err, MX_INFRA,
                     "credential helper docker-credential-%s get%s: Username and Secret must be "
                     "strings",
                     name, what);
        goto done;
    }
    const char *user = u ? json_string_value(u) : "", *secret = s ? json_string_value(s) : "";
    if (!*user && !*secret) goto done; /* nothing stored */
    if (strcmp(user, "<token>") == 0) {
        out->identity_token = mx_xstrdup(secret);
    } else {
        out->username = mx_xstrdup(user);
        out->password = mx_xstrdup(secret);
    }
    out->server = mx_xstrdup(server);
    out->source = mx_xasprintf("docker-credential-%s", name);
    rc = 1;
done:
    if (reply) {
        /* the Secret lives in jansson's copy too */
        json_t *s2 = json_object_get(reply, "Secret");
        if (json_is_string(s2))
            OPENSSL_cleanse((char *)json_string_value(s2), json_string_length(s2));
    }
    json_decref(reply);
    free(what);
    return rc;
}

int mx_cred_helper_list(const char *name, const char *search_path, json_t **out, mx_err *err)
{
    *out = NULL;
    if (mx_cred_helper_check_name(name, err) < 0) return -1;
    int not_found;
    if (call(name, "list", "unused", search_path, "", out, &not_found, err) < 0) return -1;
    if (!*out) *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(*out, k, v)
    {
        if (!json_is_string(v)) {
            json_decref(*out);
            *out = NULL;
            return mx_fail(err, MX_INFRA,
                           "credential helper docker-credential-%s list: values must be strings",
                           name);
        }
    }
    return 0;
}
