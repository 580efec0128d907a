#include "image.h"

#include <stdlib.h>
#include <string.h>

void mx_image_free(mx_image *img)
{
    free(img->ref);
    free(img->recipe);
    free(img->pin);
    free(img->recipe_dir);
    free(img->recipe_hash);
    free(img->dir);
    free(img->base);
    free(img->kernel);
    free(img->initrd);
    free(img->manifest);
    free(img->cmdline);
    free(img->sha256);
    free(img->tag_record);
    free(img->firmware);
    memset(img, 0, sizeof *img);
}
