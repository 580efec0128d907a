/* The user QEMU runs as, and handing a job's files to it.
 *
 * libvirt runs QEMU as the user and group of qemu.conf (scripts/setup-host.sh sets
 * libvirt-qemu).  mexec's domains carry a static DAC label of that same user with
 * relabel='no': libvirt's dynamic ownership would otherwise chown the kernel, the initrd and the
 * whole backing chain to that user, which would leave the base images every job boots from
 * writable by any job's QEMU.  So mexec itself gives the QEMU user exactly what it needs: the
 * job's overlay, seed and console (its own, mode 0600), the job and state directories to pass
 * through (0711), the image's base, kernel and initrd to read (0644; nothing in an image is
 * secret). */
#ifndef MX_VM_USER_H
#define MX_VM_USER_H

#include "mx_err.h"

#include <libvirt/libvirt.h>
#include <sys/types.h>

typedef struct mx_qemu_user {
    uid_t uid;
    gid_t gid;
    char emulator[256]; /* the x86_64 QEMU binary libvirt would run (capabilities) */
} mx_qemu_user;

/* Reads the DAC base label for domain_type ("kvm"/"qemu") from libvirt's capabilities XML
 * ("+64055:+64055").  Returns 0, or -1 when there is none. */
int mx_qemu_user_parse(const char *caps_xml, const char *domain_type, mx_qemu_user *u);
/* Reads libvirt's x86_64 emulator from the capabilities XML into u->emulator.  0, or -1. */
int mx_qemu_emulator_parse(const char *caps_xml, mx_qemu_user *u);
/* Both from a live connection; err says what to check when libvirt has no DAC label. */
int mx_qemu_user_get(virConnectPtr conn, const char *domain_type, mx_qemu_user *u, mx_err *err);

/* The user the guest network runs as: QEMU's, or nobody's when QEMU runs as root (an old
 * qemu.conf): never root. */
int mx_qemu_net_user(const mx_qemu_user *q, mx_qemu_user *net, mx_err *err);

/* chown path to u with mode (a job's own file). */
int mx_qemu_user_own(const char *path, const mx_qemu_user *u, mode_t mode, mx_err *err);
/* Adds search permission for all (o+x) to dir. */
int mx_qemu_user_pass(const char *dir, mx_err *err);
/* Makes file readable by all and every directory from store down to it searchable; file must
 * lie under store (the image store). */
int mx_qemu_user_share(const char *store, const char *file, mx_err *err);

#endif
