/* YAML documents as a tree of nodes that remember where they came from.
 *
 * Why not libyaml's document API: every config error must name file:line:col, anchors are
 * resolved into copies (so later expansion can edit a subtree without aliasing surprises), and
 * "<<" merge keys — common in CircleCI configs — are applied here once. */
#ifndef MX_CFG_YAML_H
#define MX_CFG_YAML_H

#include "mx_cleanup.h"
#include "mx_err.h"

#include <stddef.h>

/* Limits on one loaded file.  A YAML anchor is copied at every alias (so expansion may edit a
 * subtree freely), which turns a few hundred bytes of nested aliases into billions of nodes
 * ("billion laughs").  Every node the loader makes — parsed, anchor copy, alias copy, merged
 * entry — is counted, and the load stops at the first one over the limit, naming the alias.
 * A node costs ~150 bytes, so the limit keeps a load near 40 MB; the largest real configs
 * seen have a few ten thousand nodes. */
#ifndef MX_YAML_MAX_NODES /* the fuzz build sets smaller limits: more inputs per second */
#define MX_YAML_MAX_NODES 250000
#endif
/* Bytes of one file: larger is no config (CircleCI refuses configs over a few MB) and is not
 * read into memory. */
#define MX_YAML_MAX_FILE_BYTES (4u * 1024 * 1024)

typedef enum { MX_NODE_SCALAR, MX_NODE_MAP, MX_NODE_SEQ } mx_node_kind;

typedef struct mx_node {
    mx_node_kind kind;
    char *value;                   /* scalar text */
    int quoted;                    /* scalar was quoted or a block scalar: never a bool/int/null */
    struct mx_node **keys, **vals; /* map: scalar keys and their values */
    struct mx_node **items;        /* seq */
    size_t n;
    size_t cap; /* of keys/vals or items: grown by doubling (a list of 250 000 is no quadratic) */
    char *file;
    int line, col; /* 1-based */
} mx_node;

/* Loads path (at most MX_YAML_MAX_FILE_BYTES) into a tree of at most MX_YAML_MAX_NODES. */
int mx_yaml_load_file(const char *path, mx_node **root, mx_err *err);
int mx_yaml_load_string(const char *name, const char *text, size_t len, mx_node **root,
                        mx_err *err);
void mx_node_free(mx_node *n);
MX_DEFINE_AUTOPTR(mx_node, mx_node_free)
mx_node *mx_node_copy(const mx_node *n);
/* The number of nodes in the tree n (keys included), counting no further than `stop` (a
 * limit the caller checks against: the walk of a huge tree ends early). */
size_t mx_node_count(const mx_node *n, size_t stop);

/* Map lookup; NULL if n is not a map or lacks the key. */
mx_node *mx_node_get(const mx_node *n, const char *key);
/* Plain scalar helpers: null is "", "~", "null" (unquoted); bool as YAML 1.1 true/false/yes/no. */
int mx_node_is_null(const mx_node *n);
int mx_node_bool(const mx_node *n, int *out);
const char *mx_node_kind_name(const mx_node *n);

/* Builders for trees made by expansion; each new node takes its location from `at`. */
mx_node *mx_node_new(mx_node_kind kind, const mx_node *at);
mx_node *mx_node_new_scalar(const char *value, const mx_node *at);
/* Appends; the map or sequence takes ownership of k and v. */
void mx_node_map_add(mx_node *m, mx_node *k, mx_node *v);
void mx_node_map_put(mx_node *m, const char *key, mx_node *v);
void mx_node_seq_add(mx_node *s, mx_node *v);
/* Removes and frees the entry for key, if present. */
void mx_node_map_del(mx_node *m, const char *key);

/* Fails with "file:line:col: message". */
int mx_node_fail(mx_err *e, const mx_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
