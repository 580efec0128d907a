/* Imported images in the image store (IMAGE_STORE/imported/NAME/TAG/): what the store holds,
 * apart from how an image gets there (import/image_import.h boots a VM for that).  The catalog
 * resolves a NAME:TAG it does not have through mx_imported_resolve. */
#ifndef MX_IMAGE_IMPORT_STORE_H
#define MX_IMAGE_IMPORT_STORE_H

#include "host_config.h"
#include "image.h" /* not catalog.h: catalog.c includes this header */
#include "mx_err.h"

#define MX_IMPORTED_DIR "imported"

/* Splits "NAME:TAG" (each [a-z0-9][a-z0-9._-]*, at most 64 characters) into *name and *tag
 * (caller frees); an error says what a reference looks like. */
int mx_imported_parse_ref(const char *ref, char **name, char **tag, mx_err *err);
/* IMAGE_STORE/imported (caller frees). */
char *mx_imported_root(const mx_host_config *hc);
/* Where unfinished imports work, one locked directory each (mexec gc removes those whose
 * import died); caller frees. */
char *mx_imported_work_root(const mx_host_config *hc);
/* 1 and *img filled when ref is an imported image, 0 when it is not (img untouched), -1 on a
 * broken one. */
int mx_imported_resolve(const mx_host_config *hc, const char *ref, mx_image *img, mx_err *err);
/* Calls fn for every imported image (sorted by reference). */
typedef int (*mx_imported_fn)(const mx_image *img, void *ud, mx_err *err);
int mx_imported_each(const mx_host_config *hc, mx_imported_fn fn, void *ud, mx_err *err);
/* Removes an imported image; 0 when there was none is an error (MX_USAGE). */
int mx_imported_remove(const mx_host_config *hc, const char *ref, mx_err *err);

#endif
