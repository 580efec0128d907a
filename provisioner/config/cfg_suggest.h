/* "Did you mean" for config keys and names: a typo should cost the user one glance, not a
 * trip to the CircleCI reference. */
#ifndef MX_CFG_SUGGEST_H
#define MX_CFG_SUGGEST_H

#include "cfg_yaml.h"
#include "mx_buf.h"
#include "mx_err.h"

#include <stddef.h>

/* Levenshtein distance, capped: anything above `cap` is returned as cap + 1. */
size_t mx_cfg_edit_distance(const char *a, const char *b, size_t cap);
/* The candidate closest to word if it is close enough to be a likely typo, else NULL. */
const char *mx_cfg_suggest(const char *word, const char *const *cands, size_t n);
/* Appends "; did you mean \"X\"?" when there is a likely candidate. */
void mx_cfg_suggest_add(mx_buf *b, const char *word, const char *const *cands, size_t n);
/* Same, candidates being the keys of a map node. */
void mx_cfg_suggest_keys(mx_buf *b, const char *word, const mx_node *map);

/* Keys a map may have (NULL-terminated); anything else is an error naming the key, a likely
 * intended key and what is allowed. */
int mx_cfg_check_keys(const mx_node *map, const char *what, const char *const *allowed,
                      mx_err *err);

#endif
