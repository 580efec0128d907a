/* When and how long to wait before retrying a registry request.
 *
 * Why separate from the transfer code: the policy (which failures are transient, how Retry-After
 * is read, how the wait grows) is pure arithmetic that unit tests check without a server and
 * without sleeping. */
#ifndef MX_REG_RETRY_H
#define MX_REG_RETRY_H

#include <curl/curl.h>
#include <time.h>

typedef struct mx_reg_backoff {
    int max_retries;         /* retries after the first attempt */
    long base_ms;            /* first wait; doubles on each retry */
    long max_ms;             /* cap on the computed wait */
    long retry_after_max_ms; /* cap on what a server may ask for with Retry-After */
} mx_reg_backoff;

/* 4 retries, 250 ms doubling to at most 8 s; Retry-After honoured up to 60 s. */
extern const mx_reg_backoff mx_reg_backoff_default;

/* 429 and the 5xx statuses that mean "try again later" (not 501 or 505: those never heal). */
int mx_reg_retryable_http(long status);
/* Connection-level failures worth another try (refused, reset, timed out, empty reply). */
int mx_reg_retryable_curl(CURLcode rc);
/* Retry-After as milliseconds from now: delta-seconds or an HTTP-date (RFC 9110 10.2.3).
 * Returns -1 when value is NULL or unparsable; a date in the past gives 0. */
long mx_reg_retry_after_ms(const char *value, time_t now);
/* The wait before retry number `retry` (0 for the first retry).  A server's Retry-After
 * (>= 0) wins over the computed wait, capped by retry_after_max_ms.  jitter01 in [0,1)
 * spreads the computed wait over [50%, 100%] so clients that failed together do not retry
 * together. */
long mx_reg_backoff_ms(const mx_reg_backoff *b, int retry, long retry_after_ms, double jitter01);

#endif
