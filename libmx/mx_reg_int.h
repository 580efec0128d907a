/* Internals shared by the mx_reg_*.c files (not for users of mx_reg.h). */
#ifndef MX_REG_INT_H
#define MX_REG_INT_H

#include "mx_buf.h"
#include "mx_reg.h"
#include "mx_www_auth.h"

#include <curl/curl.h>
#include <time.h>

/* Every curl_easy_setopt is checked: a libcurl built without a feature says so here.  Returns
 * -1 from the calling function, with its `mx_err *err` set. */
#define MX_REG_SETOPT(e, opt, val)                                                                 \
    do {                                                                                           \
        CURLcode rc_ = curl_easy_setopt((e), (opt), (val));                                        \
        if (rc_ != CURLE_OK)                                                                       \
            return mx_fail(err, MX_INFRA, "curl_easy_setopt(%s): %s", #opt,                        \
                           curl_easy_strerror(rc_));                                               \
    } while (0)

typedef struct mx_reg_token {
    char *scope; /* "" for a login token */
    char *token;
    time_t expires; /* CLOCK_MONOTONIC seconds */
} mx_reg_token;

struct mx_reg_client {
    char *registry; /* as named by the user, for messages */
    char *base;     /* "https://host:port" */
    char *username, *password;
    char *ca_file;
    mx_reg_backoff backoff;
    void (*sleep_ms)(void *arg, long ms);
    void *sleep_arg;
    int parallel;
    int use_basic; /* the registry asked for Basic: send it up front from now on */
    char *realm, *service;
    mx_reg_token *tokens;
    size_t ntokens;
    CURL *easy; /* reused for serial requests so the connection stays open */
};

/* One response: status, the headers mexec uses, and the body when no sink took it. */
typedef struct mx_reg_resp {
    long status;
    mx_buf body;
    char *content_type;
    char *docker_digest;
    char *retry_after;
    mx_www_auth auth;
    char *auth_error; /* why a WWW-Authenticate header did not parse */
    /* set by the transfer: where 2xx bodies go (NULL: into body, up to body_limit, 0: 64 KiB) */
    const mx_reg_sink *sink;
    size_t body_limit;
    int sink_failed;
    size_t delivered; /* bytes handed to sink */
    CURL *easy;
} mx_reg_resp;

void mx_reg_resp_init(mx_reg_resp *r);
void mx_reg_resp_free(mx_reg_resp *r);
/* Clears what a previous attempt left (headers, body) but keeps sink and limit. */
void mx_reg_resp_reset(mx_reg_resp *r);

/* Options every handle gets: CA, protocols, timeouts, user agent, redirects. */
int mx_reg_easy_setup(mx_reg_client *c, CURL *e, mx_err *err);
/* Installs the header and write callbacks that fill r. */
int mx_reg_easy_capture(CURL *e, mx_reg_resp *r, mx_err *err);

/* "Authorization: ..." for a request needing scope ("" for none), or NULL if anonymous;
 * caller frees. */
char *mx_reg_auth_header(mx_reg_client *c, const char *scope);
/* 1 if Basic credentials for the registry at base ("http(s)://host[:port]") may go to the
 * token realm URL a challenge named: over https to any host (Docker Hub's realm is
 * auth.docker.io); over plain http only on the registry's own host, and only when the registry
 * itself is spoken to over plain http (the user allowed that).  Docker sends them to any
 * realm; a registry (or whoever answers for it over plain http) could then collect them. */
int mx_reg_realm_gets_credentials(const char *base, const char *realm);
/* Answers the challenges in r for scope: fetches a Bearer token or switches to Basic. */
int mx_reg_authenticate(mx_reg_client *c, const mx_reg_resp *r, const char *scope, mx_err *err);
void mx_reg_tokens_free(mx_reg_client *c);

/* Performs e (set up by the caller, capturing into r), retrying transient failures with
 * backoff.  what names the request in errors ("GET /v2/"). */
int mx_reg_perform(mx_reg_client *c, CURL *e, mx_reg_resp *r, const char *what, mx_err *err);
/* GET/HEAD base+path with auth, retries and backoff.  accept may be NULL.  Returns 0 with the
 * final response in *r (any HTTP status), -1 on transport failure. */
int mx_reg_request(mx_reg_client *c, const char *method, const char *path, const char *scope,
                   const char *accept, mx_reg_resp *r, mx_err *err);
/* Fills *err with "registry R: METHOD PATH: HTTP 401 Unauthorized: <registry's message>". */
int mx_reg_http_error(mx_reg_client *c, const char *method, const char *path, const mx_reg_resp *r,
                      mx_err *err);
const char *mx_reg_reason(long status);
void mx_reg_sleep(mx_reg_client *c, long ms);
/* "repository:NAME:pull"; caller frees. */
char *mx_reg_pull_scope(const char *repo);

#endif
