#include "mx_cred_value.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static void secret_free(char *s)
{
    if (s) OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void mx_cred_clear(mx_cred *c)
{
    if (!c) return;
    secret_free(c->username);
    secret_free(c->password);
    secret_free(c->identity_token);
    free(c->server);
    free(c->source);
    memset(c, 0, sizeof *c);
}
