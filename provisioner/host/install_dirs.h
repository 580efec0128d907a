/* Where mexec finds the files it ships: the image catalog and recipes, and the guest agent.
 *
 * They are looked up relative to the running executable (/proc/self/exe), so one build works
 * from every place it is installed to (`cmake --install --prefix P`, the .deb under /usr, a
 * tree copied elsewhere) and from its build tree, whose layout around bin/ is the installed
 * one (CMake links BUILD/share/mexec/images to the checkout's images/).  An installed mexec
 * therefore never reads the checkout it was built from.  Host settings (MEXEC_IMAGES_DIR,
 * host.yaml images_dir, MEXEC_AGENT) override what is found here. */
#ifndef MX_INSTALL_DIRS_H
#define MX_INSTALL_DIRS_H

#include "mx_err.h"

/* The catalog and recipes: BINDIR/../share/mexec/images beside this executable when it holds
 * catalog.yaml, else the configured prefix's.  Never NULL; caller frees. */
char *mx_install_images_dir(void);

/* The executable mexec-agent: beside this executable (the build tree), else in
 * libexec/mexec relative to it, else in the configured prefix's.  NULL with err naming the
 * places looked in when none is executable; caller frees. */
char *mx_install_agent(mx_err *err);
/* The same for any program mexec ships in libexec/mexec (mexec-qemu); override names what
 * overrides it, for the error message. */
char *mx_install_libexec(const char *name, const char *override, mx_err *err);

#endif
