/* libvirt's QEMU save image, rewritten per restore.
 *
 * A save image (virDomainSave) is a 92-byte header ("LibvirtQemudSave", version 2, data_len,
 * was_running, compressed, cookieOffset, 14 unused words), data_len bytes holding the domain
 * XML (NUL-terminated) and libvirt's cookie at cookieOffset, then QEMU's migration stream.
 * virDomainRestoreFlags' dxml may change paths but not the domain's name or uuid ("Target
 * domain name ... does not match source"), and two domains cannot share a uuid, so one saved
 * image could start one domain at a time.  Each instant start therefore restores its own copy
 * with its own XML: the header and XML are ours, the cookie and QEMU's stream are the saved
 * image's, fed through a FIFO by a child process (splice; a copy on disk would write ~300 MB
 * per job, ~0.1 s from the page cache and more under load).  libvirt then has no source XML
 * to compare with: the XML must describe the same devices, which holds because both come from
 * mx_vm_domain_xml with the same inputs but paths, names and ids (snapshot.c keys on them). */
#ifndef MX_SAVE_IMAGE_H
#define MX_SAVE_IMAGE_H

#include "mx_err.h"

#include <sys/types.h>

#define MX_SAVE_HEADER_LEN 92
#define MX_SAVE_MAX_DATA (16u << 20)

/* Reads the XML of save image path; caller frees. */
char *mx_save_image_xml(const char *path, mx_err *err);
/* Makes the FIFO fifo (mode 0600) and forks a child that writes src into it with its XML
 * replaced by xml and marked to resume running: libvirt reads the FIFO as the save image, so
 * the ~300 MB of memory are never copied to disk per job.  *pid gets the child. */
int mx_save_image_feed(const char *src, const char *fifo, const char *xml, pid_t *pid, mx_err *err);
/* After the restore (ok: it succeeded): ends and reaps the child; 0 when it wrote everything. */
int mx_save_image_fed(pid_t pid, int ok);

#endif
