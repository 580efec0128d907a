#include "install_dirs.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

/* Set by provisioner/CMakeLists.txt from GNUInstallDirs: the paths from the installed BINDIR to
 * the data and agent directories, and the same directories under the configured prefix. */
#ifndef MX_REL_IMAGES_DIR
#define MX_REL_IMAGES_DIR "../share/mexec/images"
#endif
#ifndef MX_REL_AGENT_DIR
#define MX_REL_AGENT_DIR "../libexec/mexec"
#endif
#ifndef MX_IMAGES_DIR
#define MX_IMAGES_DIR "/usr/local/share/mexec/images"
#endif
#ifndef MX_LIBEXECDIR
#define MX_LIBEXECDIR "/usr/local/libexec/mexec"
#endif

/* The directory of the running executable (symlinks resolved), or NULL. */
static char *exe_dir(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return NULL;
    self[n] = '\0';
    return mx_dirname(self);
}

/* dir/rel (canonical: no "bin/..", for messages) if dir/rel/name passes access(mode), else
 * NULL. */
static char *found(const char *dir, const char *rel, const char *name, int mode)
{
    if (!dir) return NULL;
    mx_autofree char *sub = rel ? mx_path_join(dir, rel) : mx_xstrdup(dir);
    mx_autofree char *p = mx_path_join(sub, name);
    if (access(p, mode) != 0) return NULL;
    char *canon = realpath(sub, NULL);
    return canon ? canon : mx_xstrdup(sub);
}

char *mx_install_images_dir(void)
{
    mx_autofree char *bin = exe_dir();
    char *dir = found(bin, MX_REL_IMAGES_DIR, "catalog.yaml", R_OK);
    return dir ? dir : mx_xstrdup(MX_IMAGES_DIR);
}

char *mx_install_libexec(const char *name, const char *override, mx_err *err)
{
    mx_autofree char *bin = exe_dir();
    mx_autofree char *dir = found(bin, NULL, name, X_OK);
    if (!dir) dir = found(bin, MX_REL_AGENT_DIR, name, X_OK);
    if (!dir) dir = found(MX_LIBEXECDIR, NULL, name, X_OK);
    if (dir) return mx_path_join(dir, name);
    mx_fail(err, MX_INFRA, "cannot find %s beside %s, in %s/%s or in %s (set %s)", name,
            bin ? bin : "mexec", bin ? bin : ".", MX_REL_AGENT_DIR, MX_LIBEXECDIR, override);
    return NULL;
}

char *mx_install_agent(mx_err *err)
{
    return mx_install_libexec("mexec-agent", "MEXEC_AGENT", err);
}
