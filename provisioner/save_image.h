/* libvirt's QEMU save image, rewritten per restore.
 *
 * A save image (virDomainSave) is a 92-byte header ("LibvirtQemudSave", version 2, data_len,
 * was_running, compressed, cookieOffset, 14 unused words), data_len bytes holding the domain
 * XML (NUL-terminated) and libvirt's cookie at cookieOffset, then QEMU's migration stream.
 * virDomainRestoreFlags' dxml may change paths but not the domain's name or uuid ("Target
 * domain name ... does not match source"), and two domains cannot share a uuid, so one saved
 * image could start one domain at a time.  Each instant start therefore writes its own copy
 * with its own XML: the header and XML are ours, the cookie and the stream are copied as they
 * are (copy_file_range, ~0.1 s for 140 MB from the page cache).  libvirt then has no source XML
 * to compare with: the XML must describe the same devices, which holds because both come from
 * mx_vm_domain_xml with the same inputs but paths, names and ids (snapshot.c keys on them). */
#ifndef MX_SAVE_IMAGE_H
#define MX_SAVE_IMAGE_H

#include "mx_err.h"

#define MX_SAVE_HEADER_LEN 92
#define MX_SAVE_MAX_DATA (16u << 20)

/* Reads the XML of save image path; caller frees. */
char *mx_save_image_xml(const char *path, mx_err *err);
/* Writes dst (mode 0600): src with its XML replaced by xml, marked to resume running. */
int mx_save_image_rewrite(const char *src, const char *dst, const char *xml, mx_err *err);

#endif
