/* A machine image as a job boots it: a catalog build (catalog.h) or an imported image
 * (image_import_store.h).  Its own header so that those two need not include each other. */
#ifndef MX_IMAGE_H
#define MX_IMAGE_H

#include "mx_cleanup.h"

typedef struct mx_image {
    char *ref;    /* NAME:TAG as asked */
    char *recipe; /* directory under images_dir */
    char *pin;    /* optional sha256 of base.qcow2 the catalog insists on */
    char *recipe_dir;
    char *recipe_hash; /* names the build: today's recipe's, or a frozen tag's recorded one */
    char *dir;         /* the build's directory in the store: IMAGE_STORE/RECIPE/recipe_hash */
    char *base, *kernel, *initrd, *manifest;
    char *cmdline; /* kernel command line (read from the build), NULL until built */
    char *sha256;  /* base.qcow2's sha256 as the build's manifest.json records it, or NULL */
    /* NULL: direct kernel boot (recipe builds); "bios": an imported disk that boots through
     * the firmware (image_import.h), with no kernel, initrd or cmdline of ours */
    char *firmware;
    int built;
    int dated;        /* the tag is dated (YYYY.MM.N, YYYYMM-NN): frozen at its first build */
    int frozen;       /* a dated tag with a record: dir is the build it was frozen to */
    char *tag_record; /* dated tags: IMAGE_STORE/RECIPE/tags/TAG.json, else NULL */
} mx_image;

void mx_image_free(mx_image *img);
MX_DEFINE_AUTO(mx_image, mx_image_free)

#endif
