/* The machine-image catalog: NAME:TAG -> recipe, and where its build lives in the image store.
 *
 * images/catalog.yaml maps references to recipes (images/RECIPE/recipe.sh).  A build is stored
 * under IMAGE_STORE/RECIPE/HASH/, HASH being the SHA-256 of the recipe's files (and of
 * images/common), so editing a recipe makes a new image and an unchanged recipe is never
 * rebuilt.  Tags `current`, `edge` and any other follow the recipe; dated tags (image_tag.h)
 * are frozen to their first build.  Building is image_build.h's job; this file only resolves
 * and reads what the store holds, and never writes. */
#ifndef MX_CATALOG_H
#define MX_CATALOG_H

#include "cfg_yaml.h"
#include "host_config.h"
#include "image.h"
#include "mx_err.h"

typedef struct mx_catalog {
    char *path;
    mx_node *root;
    const mx_node *images; /* map of NAME:TAG -> entry */
    char *default_ref;
} mx_catalog;

int mx_catalog_load(const char *images_dir, mx_catalog *cat, mx_err *err);
void mx_catalog_free(mx_catalog *cat);
/* "a:current, b:edge" */
char *mx_catalog_refs(const mx_catalog *cat);

/* Resolves ref (NULL: the host's or catalog's default) to an image: the catalog's, else an
 * imported one (`mexec image import`); an unknown ref is an error (MX_USAGE) listing what the
 * catalog has, or for an unknown dated tag of a known image, that image's dated tags.  A frozen
 * tag whose record cannot be read is an MX_INFRA error. */
int mx_catalog_resolve(const mx_catalog *cat, const mx_host_config *hc, const char *ref,
                       mx_image *img, mx_err *err);
/* Like resolve, and fails if the image is not built yet (telling how to build it). */
int mx_catalog_resolve_built(const mx_catalog *cat, const mx_host_config *hc, const char *ref,
                             mx_image *img, mx_err *err);
/* Fails (telling how to build it) unless the image is built; also if the catalog pins a
 * sha256 that the build's manifest does not record. */
int mx_image_require_built(const mx_image *img, mx_err *err);
/* Looks at the store again (another process may have built it meanwhile): built, cmdline,
 * sha256. */
void mx_image_refresh(mx_image *img);

/* SHA-256 (hex) over every file below each directory: relative name and contents, sorted. */
int mx_hash_dirs(const char *const dirs[], size_t ndirs, char out[65], mx_err *err);

#endif
