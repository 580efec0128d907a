/* Instant starts: a memory snapshot of a VM booted to "agent ready", restored per job.
 *
 * A snapshot lives beside the image build it was made from,
 * IMAGE_STORE/RECIPE/HASH/snapshots/KEY/:
 *   disk.qcow2  the disk as it was when the VM was saved (an overlay on the image's base),
 *               frozen: each job gets its own overlay on top of it
 *   state.save  libvirt's save image of the VM (memory and devices), stopped while the guest's
 *               mexec-identity unit waits for the job's identity on the seed channel
 *   info.json   resource class, size, when made
 * KEY is the SHA-256 of everything the saved state depends on (mx_snapshot_key): the image
 * build, the agent binary (it is installed in the snapshot), the domain definition (the XML
 * mexec would write, with the class's size, kernel, command line, machine and emulator), the
 * QEMU binary, and the guest's docker settings from host.yaml (files.tar, also installed in the
 * snapshot).  When any of them changes the key changes: the next start makes a new snapshot
 * and removes the old one of the same class.  Made under an flock on snapshots/KEY.lock, in a
 * temporary directory renamed into place, so concurrent jobs make it once. */
#ifndef MX_SNAPSHOT_H
#define MX_SNAPSHOT_H

#include "catalog.h"
#include "host_config.h"
#include "mx_buf.h"
#include "mx_err.h"
#include "resource_class.h"

/* Where the snapshot holds the agent in the guest. */
#define MX_SNAPSHOT_AGENT "/usr/local/libexec/mexec-agent"

typedef struct mx_snapshot_inputs {
    const char *image_dir;    /* the build's directory */
    const char *image_id;     /* base.qcow2: its sha256 (manifest) or size and mtime */
    const char *agent_sha256; /* of the binary installed in the guest */
    const char *domain_xml;   /* mx_vm_domain_xml with placeholder paths and ids */
    const char *qemu_id;      /* emulator path, size and mtime */
    const char *files_sha256; /* the guest's docker settings (vm_seed.h), "" when none */
} mx_snapshot_inputs;

/* The key (64 hex digits) of a snapshot made from these inputs. */
int mx_snapshot_key(const mx_snapshot_inputs *in, char out[65], mx_err *err);

typedef struct mx_snapshot {
    char key[65];
    char *dir, *disk, *state;
} mx_snapshot;

/* The snapshot of img for rc with this agent: found, or made now when make is set (booting a
 * VM to "agent ready" and saving it, ~20 s under TCG; progress lines through say).  Returns 1
 * ready, 0 none (make unset), -1 error. */
int mx_snapshot_get(const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                    const char *agent, int make, mx_snapshot *snap, mx_err *err);
void mx_snapshot_free(mx_snapshot *snap);

/* Bytes used by img's snapshots (all classes), and how many there are. */
long long mx_snapshot_usage(const char *image_dir, int *count);
/* The same over every image build in the store (mexec ps). */
long long mx_snapshot_store_usage(const char *image_store, int *count);
/* Removes every snapshot of an image build (mexec image rm). */
int mx_snapshot_rm_all(const char *image_dir, mx_err *err);
/* Removes img's snapshots of class rc_name other than keep_key (stale ones). */
void mx_snapshot_rm_stale(const char *image_dir, const char *rc_name, const char *keep_key);

/* Removes what snapshot makers that died left in the store (KEY.tmp whose lock is free,
 * scratch directories of dead processes); calls removed for each.  Returns how many. */
int mx_snapshot_gc(const char *image_store, void (*removed)(const char *path, void *ud), void *ud);

#endif
