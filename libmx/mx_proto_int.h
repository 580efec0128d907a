/* Shared by mx_proto.c and mx_proto_ctr.c only: the JSON side of the container parts of a step
 * (the containers step's list, and the container/user a step runs in). */
#ifndef MX_PROTO_INT_H
#define MX_PROTO_INT_H

#include "mx_proto.h"

#include <jansson.h>

/* Adds the container fields of step m to the JSON object o. */
void mx_proto_encode_ctr(json_t *o, const mx_msg *m);
/* Reads them back; -1 with *err when a field has the wrong type or a name is unusable. */
int mx_proto_decode_ctr(json_t *o, mx_msg *m, mx_err *err);
void mx_proto_clear_ctr(mx_msg *m);
/* NULL, or what container field of step m is not valid UTF-8 (mx_msg_check). */
const char *mx_proto_check_ctr(const mx_msg *m);

/* A JSON string of s, repaired when it is not UTF-8; never NULL (out of memory aborts). */
json_t *mx_proto_text(const char *s);
/* json_object_set_new that never fails on input: a key that is not UTF-8 is repaired. */
void mx_proto_set(json_t *o, const char *k, json_t *v);

#endif
