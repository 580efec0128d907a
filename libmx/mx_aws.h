/* AWS for registry logins: SigV4-signed calls (libcurl's CURLOPT_AWS_SIGV4), STS
 * AssumeRoleWithWebIdentity (OIDC), ECR GetAuthorizationToken, and an on-disk token cache.
 *
 * Why ECR needs all this: an ECR registry has no static password; a password is minted by
 * GetAuthorizationToken, valid 12 hours, for an IAM identity given either as keys
 * (`aws_auth`-style: access key id, secret, optional session token) or as an OIDC role
 * (`oidc_role_arn` + a web-identity token from CircleCI/GitLab, exchanged at STS for keys).
 *
 * Secrets (secret key, session token, web-identity token, ECR password) never appear in an
 * mx_err message, on argv, or in a URL. */
#ifndef MX_AWS_H
#define MX_AWS_H

#include "mx_buf.h"
#include "mx_err.h"

#include <time.h>

typedef struct mx_aws_keys {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL for long-term keys */
} mx_aws_keys;

/* Transport settings shared by every call. */
typedef struct mx_aws_http {
    const char *ca_file;    /* NULL: the system's CA store */
    const char *connect_to; /* CURLOPT_CONNECT_TO entry "HOST:PORT:ADDR:PORT" (tests) */
    const char *amz_date;   /* fixed signing time "YYYYMMDDTHHMMSSZ" (tests); NULL: now */
    long timeout_s;         /* whole-call limit; 0: 60 s */
} mx_aws_http;

typedef struct mx_aws_request {
    const char *method; /* "GET" or "POST" */
    const char *url;
    const char *region;
    const char *service;        /* SigV4 service name: "ecr", "sts" */
    const char *const *headers; /* "Name: value", NULL-terminated; all are signed */
    const char *body;           /* POST body (may be NULL) */
    size_t body_len;
} mx_aws_request;

typedef struct mx_aws_response {
    long status;
    mx_buf body;
} mx_aws_response;

void mx_aws_response_free(mx_aws_response *r);

/* Sends rq, signed with keys (NULL: unsigned), and returns the HTTP status and body.  Only a
 * transport failure is an error here (naming the method and URL); callers judge the status. */
int mx_aws_send(const mx_aws_request *rq, const mx_aws_keys *keys, const mx_aws_http *http,
                mx_aws_response *resp, mx_err *err);

/* --- endpoints (mx_aws_endpoint.c) --- */

/* 0 if region is an AWS region name of the standard, China or GovCloud partition
 * ("us-east-1", "cn-north-1", "us-gov-west-1"); else an error (MX_USAGE) saying so.  Every
 * region that becomes part of a URL passes this first. */
int mx_aws_region_check(const char *region, mx_err *err);
/* An ECR registry host "ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]" with a valid region
 * on its partition's domain: returns 1 and the parts (caller frees), 0 if host is not ECR. */
int mx_aws_ecr_host(const char *host, char **account, char **region);
/* The DNS suffix of region's partition: "amazonaws.com.cn" for cn-*, else "amazonaws.com". */
const char *mx_aws_dns_suffix(const char *region);
/* Default endpoint URLs ("https://api.ecr.REGION.SUFFIX", "https://sts.REGION.SUFFIX"); NULL
 * when region fails mx_aws_region_check. */
char *mx_aws_ecr_endpoint(const char *region);
char *mx_aws_sts_endpoint(const char *region);

/* --- STS (mx_aws_sts.c) --- */

typedef struct mx_aws_temp_keys {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    time_t expiration;
} mx_aws_temp_keys;

void mx_aws_temp_keys_free(mx_aws_temp_keys *k);

/* AssumeRoleWithWebIdentity (an unsigned call: the web-identity token is the credential). */
int mx_aws_sts_assume_role_web_identity(const char *sts_url, const char *region,
                                        const char *role_arn, const char *session_name,
                                        const char *web_identity_token, const mx_aws_http *http,
                                        mx_aws_temp_keys *out, mx_err *err);

/* --- ECR (mx_aws_ecr.c) --- */

typedef struct mx_ecr_token {
    char *username; /* "AWS" */
    char *password;
    time_t expires_at;
    time_t obtained_at;
    char *proxy_endpoint; /* "https://ACCOUNT.dkr.ecr.REGION.amazonaws.com" */
} mx_ecr_token;

void mx_ecr_token_free(mx_ecr_token *t);

/* One identity for ECR: keys, or an OIDC role (then keys are ignored).
 *
 * Trust: region may come from a job (it is checked); web_identity_token_file, ecr_url and
 * sts_url are read or contacted as given, so callers take them only from the host's own
 * settings or mexec's own environment, never from a job. */
typedef struct mx_aws_auth {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
    const char *region; /* STS region; NULL: the registry host's region */
    const char *role_arn;
    const char *web_identity_token;      /* the token itself, or */
    const char *web_identity_token_file; /* a file holding it (host-side) */
    const char *role_session_name;       /* NULL: "mexec" */
    const char *ecr_url;                 /* NULL: mx_aws_ecr_endpoint(region) */
    const char *sts_url;                 /* NULL: mx_aws_sts_endpoint(region) */
} mx_aws_auth;

/* GetAuthorizationToken signed with keys: the decoded "AWS:password" and its expiry. */
int mx_aws_ecr_get_token(const char *ecr_url, const char *region, const mx_aws_keys *keys,
                         const mx_aws_http *http, mx_ecr_token *out, mx_err *err);

typedef struct mx_aws_cache_opts {
    const char *dir; /* NULL: no cache */
    time_t now;      /* 0: time(NULL) (tests set it) */
    long margin_s;   /* refresh this long before expiry; 0: MX_ECR_REFRESH_MARGIN */
} mx_aws_cache_opts;

/* ECR tokens live 12 h; mexec takes a new one when less than this remains, so a token never
 * runs out in the middle of a job's pulls. */
#define MX_ECR_MAX_LIFETIME (12 * 3600)
#define MX_ECR_REFRESH_MARGIN (3600)

/* The whole login for registry_host: a fresh cached token of the same identity, else (STS if
 * OIDC, then) ECR, stored in the cache under that identity. */
int mx_aws_ecr_login(const mx_aws_auth *auth, const char *registry_host,
                     const mx_aws_cache_opts *cache, const mx_aws_http *http, mx_ecr_token *out,
                     mx_err *err);

/* --- token cache (mx_aws_cache.c) --- */

/* The cache key of an identity: hex SHA-256 over the access key id, secret and session token,
 * or over the role ARN and the web-identity token (wit) when a role is assumed.  Why: a token
 * may only be handed to a caller that proved the same credentials; account and region alone
 * would give one job the token another job's keys fetched.  NULL when there is no identity. */
char *mx_aws_identity_key(const mx_aws_auth *a, const char *wit);
/* 1 if t is usable at now with margin_s to spare (before expiresAt and before 12 h from when it
 * was obtained, whichever is first). */
int mx_ecr_token_fresh(const mx_ecr_token *t, time_t now, long margin_s);
/* Returns 1 with a fresh token, 0 on a miss (absent, stale, unreadable), -1 on error. */
int mx_aws_cache_load(const char *dir, const char *account, const char *region,
                      const char *identity, time_t now, long margin_s, mx_ecr_token *out,
                      mx_err *err);
/* Stores t in dir (created 0700) as a 0600 file named by account, region and identity key. */
int mx_aws_cache_store(const char *dir, const char *account, const char *region,
                       const char *identity, const mx_ecr_token *t, mx_err *err);

#endif
