/* The guest's network: user-mode, in a network namespace of its own, reaching no host service
 * that host.yaml does not list.
 *
 * Why not QEMU's own user networking (slirp): it maps 10.0.2.2 to the host's 127.0.0.1, every
 * port, so any job could reach every loopback service of the host (a registry with push
 * rights, a database, another job's SSH port), and it cannot block link-local addresses (cloud
 * metadata at 169.254.169.254).  Debian 12's libvirt has passt support compiled out and its
 * passt (2023-03) cannot limit host loopback access to listed ports, so each VM gets:
 *
 *   pasta   in the host's network namespace, as the QEMU user (never root): creates a user and
 *           network namespace and connects it to the host by re-making its connections from
 *           host sockets (no bridge, no veth, nothing on the host's interfaces).  It forwards
 *           host 127.0.0.1:SSH_PORT to the namespace's port 22, and the namespace's loopback
 *           ports of the listed services to the same host loopback ports (-T); nothing else of
 *           the host's loopback is reachable (--no-map-gw).
 *   └ sh    in the namespace: `ip rule` prohibits link-local (169.254.0.0/16, fe80::/10) and
 *           the host's own addresses, then execs
 *     └ passt  the guest's network stack, on a UNIX socket QEMU connects to (-netdev stream).
 *              The guest sees what slirp gave it: 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3.
 *              10.0.2.2 maps to the namespace's loopback, where only the listed services are.
 *
 * passt quits when QEMU disconnects (--one-off) and pasta when passt does, so the processes die
 * with the domain (auto-destroy after a SIGKILLed mexec included; GitLab VMs keep theirs between
 * stages).  pasta's pid is kept in JOB_DIR/net.pid (root's file) for teardown and `mexec gc`. */
#ifndef MX_VM_NET_H
#define MX_VM_NET_H

#include "host_config.h"
#include "mx_err.h"

#include <libvirt/libvirt.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define MX_NET_GUEST_ADDR "10.0.2.15"
#define MX_NET_GUEST_GW "10.0.2.2" /* where the guest finds the listed host services */
#define MX_NET_GUEST_DNS "10.0.2.3"
#define MX_NET_MAX_BLOCKED 64

typedef struct mx_net_spec {
    const char *sock;    /* passt's UNIX socket, which QEMU connects to */
    int ssh_port;        /* host 127.0.0.1:ssh_port -> the guest's port 22 */
    const int *services; /* host loopback TCP ports the guest reaches at 10.0.2.2 */
    size_t nservices;
    char *const *blocked; /* host addresses ("ADDR/LEN") besides link-local the guest must not
                           * reach */
    size_t nblocked;
    int offline; /* no default route on the host: pasta has no interface to copy */
} mx_net_spec;

/* pasta's command line, which runs the rest (NULL-terminated; free with mx_net_strv_free). */
char **mx_net_argv(const mx_net_spec *s);
void mx_net_strv_free(char **v);

/* The host loopback ports guests may reach: host.yaml guest_services, plus the registries and
 * registry mirrors it names at 10.0.2.2 (the guest's dockerd is told to use them).  Sorted,
 * without duplicates; caller frees. */
int *mx_net_services(const mx_host_config *hc, size_t *n);

/* Whether a host address is one guests must not reach by its address (a host service bound to
 * all addresses would answer there): writes "ADDR/32" or "ADDR/128" to out and returns 1;
 * returns 0 for loopback (unreachable from the namespace anyway), link-local (always
 * prohibited) and other families. */
int mx_net_block_addr(const struct sockaddr *sa, char out[64]);
/* 1 if /proc/net/route or /proc/net/ipv6_route (their text) has a default route through an
 * interface other than lo. */
int mx_net_default_route(const char *route4, const char *route6);

/* The same, read from this host's /proc. */
int mx_net_host_online(void);
/* This host's addresses that mx_net_block_addr blocks, at most MX_NET_MAX_BLOCKED
 * (NULL-terminated; free with mx_net_strv_free). */
char **mx_net_host_blocked(size_t *n);

/* Starts the VM's network (uid:gid: the QEMU user, never root) and waits until passt's socket
 * exists.  Sets *port_taken when the SSH port was taken meanwhile (pick another).  Returns 0 or
 * -1 with *err set (the processes then gone). */
int mx_net_start(const char *job_dir, const mx_net_spec *s, uid_t uid, gid_t gid, int *port_taken,
                 mx_err *err);
/* Ends the VM's network processes, if any: those recorded in JOB_DIR/net.pid, after checking
 * that the process is still this job's (pid reuse).  Safe when none runs. */
void mx_net_stop(const char *job_dir);

/* Makes QEMU send one frame from the guest's NIC (QMP announce-self: a RARP with the NIC's
 * MAC).  passt learns the guest's MAC only from a frame the guest sends, and until then
 * addresses it at the broadcast MAC, which a guest's TCP ignores: a guest with a static address
 * (our images: no DHCP) sends nothing by itself, so SSH to it would never connect. */
int mx_net_announce(virDomainPtr dom, mx_err *err);

/* JOB_DIR/net/passt.sock; caller frees. */
char *mx_net_socket_path(const char *job_dir);

#endif
