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

/* Per-type cleanups (libvirt's G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC, systemd's _cleanup_(foo_freep)).
 * A type's header says once how its values are released:
 *   MX_DEFINE_AUTO(mx_buf, mx_buf_free)       a value, released with mx_buf_free(&v)
 *   MX_DEFINE_AUTOPTR(mx_node, mx_node_free)  a pointer, released with mx_node_free(p) if set
 * and a variable declared with the type's attribute is released on every way out of its scope:
 *   MX_AUTO(mx_buf) b = {0};
 *   MX_AUTOPTR(mx_node) root = NULL;
 * The value must start in a state its release accepts (zeroed, for mexec's types); hand it out
 * with mx_steal (pointers) or by moving the fields and zeroing it (values). */
/* T is a type name: it cannot take the parentheses a macro argument usually gets */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define MX_DEFINE_AUTO(T, release)                                                                 \
    static inline void T##_auto_release_(T *v)                                                     \
    {                                                                                              \
        release(v);                                                                                \
    }
#define MX_DEFINE_AUTOPTR(T, release)                                                              \
    static inline void T##_autoptr_release_(T **p)                                                 \
    {                                                                                              \
        if (*p) release(*p);                                                                       \
    }
#define MX_AUTO(T) __attribute__((cleanup(T##_auto_release_))) T
#define MX_AUTOPTR(T) __attribute__((cleanup(T##_autoptr_release_))) T *
// NOLINTEND(bugprone-macro-parentheses)

/* Hands ownership out of a cleanup-tagged variable. */
#define mx_steal(pp)                                                                               \
    ({                                                                                             \
        __typeof__(*(pp)) mx_tmp_ = *(pp);                                                         \
        *(pp) = NULL;                                                                              \
        mx_tmp_;                                                                                   \
    })

#endif
