#include "mx_reg_retry.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

const mx_reg_backoff mx_reg_backoff_default = {
    .max_retries = 4,
    .base_ms = 250,
    .max_ms = 8000,
    .retry_after_max_ms = 60000,
};

int mx_reg_retryable_http(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

int mx_reg_retryable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

long mx_reg_retry_after_ms(const char *value, time_t now)
{
    if (!value) return -1;
    while (isspace((unsigned char)*value))
        value++;
    if (isdigit((unsigned char)*value)) {
        errno = 0;
        char *end;
        unsigned long long s = strtoull(value, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end != '\0') return -1;
        /* saturate instead of overflowing: the caller caps it anyway */
        if (errno == ERANGE || s > (unsigned long long)(LONG_MAX / 1000)) return LONG_MAX;
        return (long)s * 1000;
    }
    time_t t = curl_getdate(value, NULL);
    if (t == -1) return -1;
    return t <= now ? 0 : (long)(t - now) * 1000;
}

long mx_reg_backoff_ms(const mx_reg_backoff *b, int retry, long retry_after_ms, double jitter01)
{
    if (retry_after_ms >= 0)
        return retry_after_ms < b->retry_after_max_ms ? retry_after_ms : b->retry_after_max_ms;
    long d = b->base_ms;
    for (int i = 0; i < retry && d < b->max_ms; i++)
        d *= 2;
    if (d > b->max_ms) d = b->max_ms;
    if (jitter01 < 0) jitter01 = 0;
    if (jitter01 >= 1) jitter01 = 0.999999;
    return (long)((double)d * (0.5 + 0.5 * jitter01));
}
