/* docker-check: `docker login` as the orb runs it — POST /auth (the daemon asks the registry),
 * retried, then ~/.docker/config.json written as the docker CLI writes it. */
#include "agent_docker.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_dockercfg.h"
#include "mx_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The helper the orb's configure-docker-credentials-store picks on Linux. */
#define MXD_CREDS_STORE "pass"

static char *auth_body(const char *user, const char *pass, const char *server)
{
    mx_autojson json_t *o = json_object();
    if (!o || json_object_set_new(o, "username", json_string(user)) != 0 ||
        json_object_set_new(o, "password", json_string(pass)) != 0 ||
        json_object_set_new(o, "serveraddress", json_string(server)) != 0)
        mx_oom();
    char *s = json_dumps(o, JSON_COMPACT);
    if (!s) mx_oom();
    /* the password's copy inside the JSON tree */
    json_t *p = json_object_get(o, "password");
    OPENSSL_cleanse((char *)json_string_value(p), strlen(json_string_value(p)));
    return s;
}

static void wipe_free(char *s)
{
    if (s) OPENSSL_cleanse(s, strlen(s));
    free(s);
}

/* `docker-credential-pass store` with {"ServerURL","Username","Secret"} on stdin, as the docker
 * CLI does when credsStore is set: the secret goes through a pipe, never argv. */
static int helper_store(const char *helper, const char *server, const char *user,
                        const char *secret, mx_err *err)
{
    mx_autofree char *prog = mx_xasprintf("docker-credential-%s", helper);
    mx_autojson json_t *o = json_object();
    if (!o || json_object_set_new(o, "ServerURL", json_string(server)) != 0 ||
        json_object_set_new(o, "Username", json_string(user)) != 0 ||
        json_object_set_new(o, "Secret", json_string(secret)) != 0)
        mx_oom();
    char *payload = json_dumps(o, JSON_COMPACT);
    if (!payload) mx_oom();
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        wipe_free(payload);
        return mx_fail_errno(err, MX_INFRA, "pipe");
    }
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]), close(in[1]);
        wipe_free(payload);
        return mx_fail_errno(err, MX_INFRA, "pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        wipe_free(payload);
        return mx_fail_errno(err, MX_INFRA, "fork");
    }
    if (pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0) _exit(126);
        signal(SIGPIPE, SIG_DFL);
        execlp(prog, prog, "store", (char *)NULL);
        dprintf(1, "exec: \"%s\": executable file not found in $PATH", prog);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    size_t len = strlen(payload), off = 0;
    while (off < len) {
        ssize_t n = write(in[1], payload + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break; /* the helper quit early: its status says why */
        off += (size_t)n;
    }
    close(in[1]);
    wipe_free(payload);
    mx_buf said;
    mx_buf_init(&said);
    char chunk[4096];
    for (;;) {
        ssize_t n = read(out[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (said.len < 4096) mx_buf_add(&said, chunk, (size_t)n);
    }
    close(out[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok) {
        size_t n = said.len;
        while (n > 0 && (said.data[n - 1] == '\n' || said.data[n - 1] == ' '))
            n--;
        /* the docker CLI's wording, so users find it when they search */
        mx_fail(err, MX_JOB_FAILED, "error storing credentials - err: %.*s", (int)n,
                said.data ? said.data : "");
    }
    mx_buf_free(&said);
    return ok ? 0 : -1;
}

static int save_config(mxd_ctx *c, const char *server, const char *user, const char *pass,
                       const char *token, mx_err *err)
{
    const mx_docker_args *d = &c->step->docker;
    mx_autofree char *path = mxd_config_path();
    mx_dockercfg cfg;
    int found = 0;
    if (mx_dockercfg_load(&cfg, path, &found, err) < 0) return -1;
    int rc = 0;
    if (d->credentials_store) {
        if (helper_store(MXD_CREDS_STORE, server, token ? "<token>" : user, token ? token : pass,
                         err) < 0) {
            mx_dockercfg_free(&cfg);
            return -1;
        }
        mx_dockercfg_set_creds_store(&cfg, MXD_CREDS_STORE);
        mx_dockercfg_set_placeholder(&cfg, server);
    } else {
        mx_dockercfg_set_auth(&cfg, server, user, token ? NULL : pass, token);
        mxd_say(c, MX_STREAM_STDERR,
                "WARNING! Your password will be stored unencrypted in %s.\n"
                "Configure a credential helper to remove this warning. See\n"
                "https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n",
                path);
    }
    rc = mx_dockercfg_save(&cfg, path, err);
    mx_dockercfg_free(&cfg);
    return rc;
}

/* One POST /auth.  Returns 0 on success (*status_text, *token filled), -1 with *err. */
static int login_once(mxd_ctx *c, const char *body, long *status, char **status_text, char **token,
                      mx_err *err)
{
    mx_buf resp;
    mx_buf_init(&resp);
    mxd_request rq = {.method = "POST", .path = "/auth", .body = body, .timeout_ms = 120000};
    if (mxd_http(c, &rq, status, &resp, err) < 0) {
        mxd_buf_wipe(&resp);
        return -1;
    }
    if (*status != 200) {
        mxd_daemon_error(*status, &resp, err);
        mxd_buf_wipe(&resp);
        return -1;
    }
    json_error_t je;
    mx_autojson json_t *o = resp.len ? json_loadb(resp.data, resp.len, 0, &je) : NULL;
    const char *st = json_string_value(json_object_get(o, "Status"));
    const char *tok = json_string_value(json_object_get(o, "IdentityToken"));
    *status_text = mx_xstrdup(st && *st ? st : "Login Succeeded");
    *token = tok && *tok ? mx_xstrdup(tok) : NULL;
    if (tok) OPENSSL_cleanse((char *)tok, strlen(tok));
    mxd_buf_wipe(&resp);
    return 0;
}

int mxd_check(mxd_ctx *c, mx_err *err)
{
    const mx_docker_args *d = &c->step->docker;
    if (!d->username || !*d->username)
        return mx_fail(err, MX_JOB_FAILED, "docker-check: no username given");
    if (!d->password || !*d->password)
        return mx_fail(err, MX_JOB_FAILED, "docker-check: no password given");
    mx_autofree char *server = mxd_server_address(d->registry);
    char *body = auth_body(d->username, d->password, server);
    int attempts = d->retries + 1, rc = -1;
    char *status_text = NULL, *token = NULL;
    for (int i = 1; i <= attempts; i++) {
        if (attempts > 1) mxd_say(c, MX_STREAM_STDOUT, "Attempt %d/%d: docker login", i, attempts);
        long status = 0;
        rc = login_once(c, body, &status, &status_text, &token, err);
        if (rc == 0 || c->cancelled || c->host_gone) break;
        /* a refused password stays refused: retrying only risks locking the account */
        if (status != 0 && !mxd_retryable(status)) break;
        if (i < attempts) {
            mxd_say(c, MX_STREAM_STDOUT, "%s", err->msg);
            mxd_say(c, MX_STREAM_STDOUT, "Retrying in %d second(s)...", d->retry_delay_s);
            if (mxd_sleep(c, d->retry_delay_s * 1000L) < 0) break;
        }
    }
    wipe_free(body);
    if (rc == 0) rc = save_config(c, server, d->username, d->password, token, err);
    if (rc == 0) mxd_say(c, MX_STREAM_STDOUT, "%s", status_text);
    free(status_text);
    wipe_free(token);
    return rc;
}
