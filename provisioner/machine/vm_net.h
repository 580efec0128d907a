/* The guest's network: user-mode, in a network namespace of its own, reaching no host service
 * that host.yaml does not list.
 *
 * QEMU's user networking (slirp) maps the guest's 10.0.2.2 to 127.0.0.1 of the network
 * namespace QEMU runs in, every port, and cannot block link-local addresses (cloud metadata at
 * 169.254.169.254).  Run in the host's namespace, any job could reach every loopback service
 * of the host (a registry with push rights, a database, another job's SSH port).  So each VM's
 * QEMU runs in a namespace of its own:
 *
 *   pasta   in the host's network namespace, as the QEMU user (never root): creates a user and
 *           network namespace and connects it to the host by re-making its connections from
 *           host sockets (no bridge, no veth, nothing on the host's interfaces).  It forwards
 *           host 127.0.0.1:SSH_PORT into the namespace, and the namespace's loopback ports of
 *           the listed services to the same host loopback ports (-T); nothing else of the
 *           host's loopback is reachable (--no-map-gw).  DNS sent to 10.0.2.3 goes to the
 *           host's resolver (--dns-forward).
 *   └ sh    in the namespace: `ip rule`s prohibit link-local (169.254.0.0/16, fe80::/10) and
 *           the host's own addresses, then it holds the namespace (sleep) until ended.
 *   QEMU    started by libvirt through mexec-qemu (the domain's <emulator>), which enters that
 *           namespace (and binds a resolv.conf naming 10.0.2.3) before it execs QEMU with no
 *           capabilities.  Its slirp gives the guest what it always had: 10.0.2.15/24, gateway
 *           10.0.2.2 (now the namespace's loopback: the listed services only), DNS 10.0.2.3,
 *           and forwards the namespace's 127.0.0.1:SSH_PORT to the guest's port 22.
 *
 * Why not passt, made for this: Debian 12's libvirt has it compiled out, and Debian 12's passt
 * (2023-03) cannot expose only some host loopback ports, learns the guest's MAC only from a
 * frame the guest sends, completes a host-to-guest connection only once the client has sent
 * data, and with QEMU 7.2's stream netdev a guest's transmit queue stalled now and then under
 * load (all seen here); slirp inside the namespace has none of that.
 *
 * pasta and the holder live until mx_net_stop, kept in JOB_DIR/net.pid (root's): teardown,
 * GitLab's cleanup and, after a SIGKILLed mexec, `mexec gc` end them. */
#ifndef MX_VM_NET_H
#define MX_VM_NET_H

#include "host_config.h"
#include "mx_err.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define MX_NET_GUEST_GW "10.0.2.2" /* where the guest finds the listed host services */
#define MX_NET_GUEST_DNS "10.0.2.3"
#define MX_NET_MAX_BLOCKED 64

typedef struct mx_net_spec {
    const char *ready;   /* JOB_DIR/net/ready: the namespace is set up (and names the job) */
    int ssh_port;        /* host 127.0.0.1:ssh_port -> the namespace's, where QEMU forwards it */
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
 * registry mirrors it names at 10.0.2.2 or whose name it resolves to 10.0.2.2 for the guest
 * (address:), which the guest's dockerd is told to use.  Sorted, without duplicates; caller
 * frees. */
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

/* Starts the VM's network (uid:gid: the QEMU user, never root), waits until its namespace is
 * set up, writes JOB_DIR/net/resolv.conf and sets *holder to the pid of the process holding
 * the namespace (what mexec-qemu enters).  Sets *port_taken when the SSH port was taken
 * meanwhile (pick another).  Returns 0, or -1 with *err set (the processes then gone). */
int mx_net_start(const char *job_dir, const mx_net_spec *s, uid_t uid, gid_t gid, pid_t *holder,
                 int *port_taken, mx_err *err);
/* Ends the VM's network processes, if any: the process group recorded in JOB_DIR/net.pid,
 * after checking that its leader is still this job's pasta (pid reuse).  Safe when none runs. */
void mx_net_stop(const char *job_dir);

/* JOB_DIR/net/ready and JOB_DIR/net/resolv.conf; caller frees. */
char *mx_net_ready_path(const char *job_dir);
char *mx_net_resolv_path(const char *job_dir);

/* pasta's full path (caller frees), or NULL when it is not installed. */
char *mx_net_pasta(void);
/* NULL when this host lets an unprivileged user create user namespaces (pasta, run as the
 * QEMU user, needs one per VM), else what forbids it. */
const char *mx_net_userns_problem(void);

/* The emulator libvirt runs for mexec's domains: $MEXEC_QEMU_WRAPPER, else mexec-qemu where
 * mexec finds its agent (install_dirs.h); NULL with *err set when there is none. */
char *mx_net_wrapper(mx_err *err);

#endif
