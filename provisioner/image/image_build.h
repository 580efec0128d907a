/* Building machine images from their recipes: `mexec image build`, and `mexec run` (also
 * workflows and GitLab prepare) building the image a job needs before it boots.
 *
 * A build runs images/RECIPE/recipe.sh into a temporary directory in the store, then renames
 * it to IMAGE_STORE/RECIPE/HASH.  One build per image at a time across processes: the builder
 * holds an flock on IMAGE_STORE/RECIPE/HASH.lock, and whoever waited on it looks at the store
 * again and finds the build there.  The recipe's output (its progress) goes to stderr (the child's
 * own descriptors); the notices here ("building ...", "waiting for ...") are notes to the sink
 * (sink.h), for the person running mexec, like the capacity wait notice. */
#ifndef MX_IMAGE_BUILD_H
#define MX_IMAGE_BUILD_H

#include "catalog.h"
#include "host_config.h"
#include "mx_err.h"

/* Makes sure img is built: builds it if it is not (unless no_build: then an MX_INFRA error
 * that says how to build it), and freezes a dated tag to its build the first time.  On return
 * img describes the build (built, cmdline, sha256).  -1 with *err set on failure or when
 * interrupted (mx_stop); the temporary build directory is gone then. */
int mx_image_ensure(const mx_host_config *hc, mx_image *img, int no_build, mx_err *err);

/* Loads the catalog, resolves ref (NULL: the default) and ensures it, as a job needs it. */
int mx_image_ready(const mx_host_config *hc, const char *ref, int no_build, mx_image *img,
                   mx_err *err);

#endif
