/* The per-job NoCloud seed: an ISO9660 volume labelled "cidata".
 *
 * It carries meta-data and user-data for cloud-init images, and the same material as plain files
 * under mexec/ for images built by our recipes (images/common/mexec-seed), so both kinds of
 * image get the job's SSH host key (generated on the host, so it can be pinned) and the
 * ephemeral authorized key the same way. */
#ifndef MX_VM_SEED_H
#define MX_VM_SEED_H

#include "mx_buf.h"
#include "mx_err.h"

#include <stddef.h>

struct mx_host_config;

/* Where a job's seed comes from and goes (the paths of its mx_vm; the seed does not need the
 * rest of it). */
typedef struct mx_seed_paths {
    const char *dir;        /* the job directory: staging happens under it */
    const char *name;       /* the domain name: instance id and hostname */
    const char *client_pub; /* the job's authorized key */
    const char *host_pub;   /* public half of the generated host key (dir/host_key) */
    const char *seed;       /* the ISO to write */
} mx_seed_paths;

/* Writes the seed image; the guest's dockerd settings (registry CAs, insecure registries,
 * mirrors) from the host config travel as mexec/files.tar. */
int mx_vm_seed_create(const mx_seed_paths *p, const struct mx_host_config *hc, mx_err *err);
/* The guest's docker settings alone, as files.tar in *tar (left empty when host.yaml sets
 * none) with the SHA-256 of the files they hold in sha256 ("" when none); work is a scratch
 * directory.  Instant starts install them in the snapshot and key it by that hash. */
int mx_vm_seed_files_tar(const struct mx_host_config *hc, const char *hostname, const char *work,
                         mx_buf *tar, char sha256[65], mx_err *err);
/* /etc/docker/daemon.json for the guest, or NULL when the host config sets nothing. */
char *mx_vm_seed_daemon_json(const struct mx_host_config *hc);
/* The guest's /etc/hosts when registries in the host config have an address: (the whole file,
 * with localhost and hostname), or NULL when none has. */
char *mx_vm_seed_hosts(const struct mx_host_config *hc, const char *hostname);
/* A file cloud-init writes (write_files) before the image's services start: what mexec-seed
 * takes from mexec/files.tar in our own images. */
typedef struct mx_seed_file {
    char *path; /* absolute, in the guest */
    char *data;
    size_t len;
} mx_seed_file;
/* The cloud-config document (JSON is YAML), with files to write (cloud images have no
 * mexec-seed; none: nfiles 0); caller frees.  NULL when a key or a path is not UTF-8. */
char *mx_vm_seed_cloud_config(const char *authorized_key, const char *host_key,
                              const char *host_pub, const mx_seed_file *files, size_t nfiles);

#endif
