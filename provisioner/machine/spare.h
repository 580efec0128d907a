/* Warm spares: VMs restored from an instant-start snapshot (snapshot.h) before a job asks.
 *
 * A restore costs seconds under TCG (QEMU loading ~300 MB of saved memory); a job that finds a
 * spare ready skips it and only resumes the VM and refreshes its clock and RNG.  A spare is a
 * job directory like any other (STATE_DIR/ID, vm.h) with two more files:
 *   spare       "KEY\nSNAPSHOT_DIR\n": the snapshot it was restored from
 *   claim.sock  where its holder answers, once the domain is restored, named and paused
 * The holder (`mexec __spare`, started detached by mx_spare_spawn after a job, or by `mexec
 * image prepare`) holds the directory's lock and the VM's watchdog pipe like a job's owner, so
 * gc and SIGKILL behave as for a job.  It gives the VM to the first process that claims it
 * (mx_spare_claim: the seed channel and the directory's lock pass over the socket, the claimer
 * becomes the owner in the domain's metadata and starts its own watchdog), or ends it when told
 * to (mx_spare_end: a job needs the room, `mexec image rm`, `mexec gc`), when its snapshot is
 * gone (rebuilt or removed), after host.yaml warm_spare_timeout, or on SIGTERM.
 *
 * The holder restores the snapshot as a job would, applies the identity with the spare's own
 * keys (made for it, never another's) and pauses the VM; the claimer resumes it and sends a
 * refresh (wall clock, random bytes) on the seed channel.  A spare has never run a job: its
 * disk is a fresh overlay on the snapshot's, its uuid and VM generation id are new.  What it
 * costs: its class's vCPUs and memory in the capacity sum (paused: no CPU), shown by
 * `mexec ps`. */
#ifndef MX_SPARE_H
#define MX_SPARE_H

#include "catalog.h"
#include "host_config.h"
#include "mx_err.h"
#include "resource_class.h"
#include "vm.h"

struct mx_snapshot;

/* What a spare's directory says of it (mx_spare_end's filter sees it). */
typedef struct mx_spare_info {
    const char *dir;
    const char *key;      /* the snapshot key */
    const char *snap_dir; /* the snapshot's directory */
    int ready;            /* its holder answers claims */
} mx_spare_info;

/* Spares of key that live (their holder holds their lock), ready or still being restored; of
 * them, *ready (may be NULL) answer claims. */
int mx_spare_count(const mx_host_config *hc, const char *key, int *ready);

/* The holder's life (`mexec __spare`): unless host.yaml's warm_spares of this snapshot live
 * already, restores it as a spare and serves claims until one takes it or it ends.
 * Returns 0 (claimed, ended, or not needed) or -1 (err set; the spare is gone). */
int mx_spare_hold(const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                  const struct mx_snapshot *snap, mx_err *err);

/* Takes a ready spare of snapshot key for vm (prepared by mx_vm_prepare, not started): on
 * success vm is the spare's VM (mx_vm_adopt) with this process its owner and the job's id and
 * name in its metadata, and *chan_fd is its seed channel for mx_vm_start_claimed.  Returns 1
 * claimed, 0 none ready (vm untouched), -1 error (vm untouched, err set). */
int mx_spare_claim(mx_vm *vm, const mx_host_config *hc, const char *key, int *chan_fd, mx_err *err);

/* Ends the ready spares for which end_it says 1 (NULL: all), each once its holder destroyed
 * it; returns how many. */
int mx_spare_end(const mx_host_config *hc, int (*end_it)(const mx_spare_info *s, void *ud),
                 void *ud);
/* Ends the spares host.yaml no longer wants (`mexec gc`): all when warm_spares is 0 or instant
 * starts are off, else those beyond warm_spares of one snapshot.  Returns how many. */
int mx_spare_end_unwanted(const mx_host_config *hc);
/* Ends the spares of the snapshots under image_dir (`mexec image rm`).  Returns how many. */
int mx_spare_end_image(const mx_host_config *hc, const char *image_dir);
/* mx_vm.make_room for jobs: ends every spare (room_ud: the mx_host_config). */
int mx_spare_make_room(const void *room_ud);

/* Starts a holder for image_ref at rc's size in the background, detached, unless warm_spares
 * of key live already.  Its output goes to STATE_DIR/../spares.log.  Returns 1 started, 0 not
 * needed, -1 error. */
int mx_spare_spawn(const mx_host_config *hc, const char *key, const char *image_ref,
                   const mx_rclass *rc, mx_err *err);

#endif
