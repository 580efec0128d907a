/* Scope-bound cleanup (as crun's cleanup_free / libvirt's g_autofree) so that every early
 * return releases what the function owns. */
#ifndef MX_CLEANUP_H
#define MX_CLEANUP_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void mx_freep(void *p)
{
    free(*(void **)p);
}
static inline void mx_closep(int *fd)
{
    if (*fd >= 0) close(*fd);
}
static inline void mx_fclosep(FILE **f)
{
    if (*f) fclose(*f);
}
static inline void mx_json_decrefp(json_t **j)
{
    json_decref(*j);
}

#define mx_autofree __attribute__((cleanup(mx_freep)))
#define mx_autoclose __attribute__((cleanup(mx_closep)))
#define mx_autofclose __attribute__((cleanup(mx_fclosep)))
#define mx_autojson __attribute__((cleanup(mx_json_decrefp)))

/* Hands ownership out of a cleanup-tagged variable. */
#define mx_steal(pp)                                                                               \
    ({                                                                                             \
        __typeof__(*(pp)) mx_tmp_ = *(pp);                                                         \
        *(pp) = NULL;                                                                              \
        mx_tmp_;                                                                                   \
    })

#endif
