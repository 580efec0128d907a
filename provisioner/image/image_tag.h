/* Machine-image tags as CircleCI names them, and the records that freeze dated tags.
 *
 * `current` and `edge` follow the recipe: their build is the one of the recipe's hash today.
 * A dated tag (CircleCI's two formats, `2024.01.1` = YYYY.MM.N and `202201-02` = YYYYMM-NN)
 * is frozen: the first time it is built (or used, when its recipe's build already exists) the
 * store records which build it is, in IMAGE_STORE/RECIPE/tags/TAG.json, and from then on the
 * tag means that build even when the recipe changes.  The record holds the recipe hash that
 * names the build's directory and the sha256 of its artifacts (from the build's manifest). */
#ifndef MX_IMAGE_TAG_H
#define MX_IMAGE_TAG_H

#include "mx_err.h"

#include <stddef.h>

typedef enum mx_tag_kind {
    MX_TAG_OTHER,   /* any other tag (e.g. "1.0"): follows the recipe */
    MX_TAG_CURRENT, /* follows the recipe */
    MX_TAG_EDGE,    /* follows the recipe too (CircleCI's "newest, may change") */
    MX_TAG_DATED,   /* YYYY.MM.N or YYYYMM-NN: frozen at its first build */
} mx_tag_kind;

mx_tag_kind mx_tag_kind_of(const char *tag);

/* The TAG of "NAME:TAG" (after the last ':'), or "" if there is none. */
const char *mx_ref_tag(const char *ref);
/* Whether "NAME:TAG" has this NAME. */
int mx_ref_has_name(const char *ref, const char *name, size_t name_len);

/* IMAGE_STORE/RECIPE/tags/TAG.json; caller frees. */
char *mx_tag_record_path(const char *image_store, const char *recipe, const char *tag);

/* Reads a record: 1 and the frozen build's recipe hash in hash[65], 0 if there is no record,
 * -1 with *err set if it cannot be read or is not a record (a file that names no valid hash). */
int mx_tag_record_read(const char *path, char hash[65], mx_err *err);

/* Creates the record for ref, frozen to the build of recipe_hash whose manifest is at manifest
 * (its "artifacts" are copied in), unless a record exists: then nothing is written and
 * *existing is set to 1.  The record appears whole or not at all (written aside, then linked). */
int mx_tag_record_create(const char *path, const char *ref, const char *recipe,
                         const char *recipe_hash, const char *manifest, int *existing, mx_err *err);

#endif
