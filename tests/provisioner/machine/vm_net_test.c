/* vm_net: what the guest may reach is decided by the command line mexec generates (pasta's
 * forwards, the namespace's prohibit rules), so it is checked here item by item; the rules
 * script runs for real against a recording `ip`.  Also: which host ports are listed, which
 * host addresses are blocked, default-route detection, and that mx_net_stop ends exactly the
 * job's process group. */
#include "test_util.h"

#include "mx_proc.h"
#include "vm_net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static int find(char **v, int from, const char *s)
{
    for (int i = from; v[i]; i++)
        if (strcmp(v[i], s) == 0) return i;
    return -1;
}

/* v has "opt value" between [from, to). */
static void assert_pair(char **v, int from, int to, const char *opt, const char *value)
{
    for (int i = from; i + 1 < to; i++)
        if (strcmp(v[i], opt) == 0 && strcmp(v[i + 1], value) == 0) return;
    fail_msg("no \"%s %s\" in arguments %d..%d", opt, value, from, to);
}

static void assert_absent(char **v, int from, int to, const char *opt)
{
    for (int i = from; i < to; i++)
        if (strcmp(v[i], opt) == 0) fail_msg("unexpected %s at %d", opt, i);
}

static char *blocked4 = "192.0.2.7/32", *blocked6 = "2001:db8::7/128";

static mx_net_spec spec(void)
{
    static const int services[] = {5000, 8080};
    static char *blocked[3];
    blocked[0] = blocked4;
    blocked[1] = blocked6;
    return (mx_net_spec){.ready = "/var/lib/mexec/jobs/ab/net/ready",
                         .ssh_port = 40222,
                         .services = services,
                         .nservices = 2,
                         .blocked = blocked,
                         .nblocked = 2};
}

static void test_pasta_forwards_only_listed(void **state)
{
    (void)state;
    mx_net_spec s = spec();
    char **v = mx_net_argv(&s);
    assert_string_equal(v[0], "pasta");
    int sep = find(v, 0, "--");
    assert_true(sep > 0);
    /* the namespace reaches the host's loopback only at the listed ports */
    assert_true(find(v, 0, "--no-map-gw") > 0 && find(v, 0, "--no-map-gw") < sep);
    assert_pair(v, 0, sep, "-T", "5000,8080");
    assert_pair(v, 0, sep, "-U", "none");
    /* the host reaches the namespace only at the SSH port, on its loopback */
    assert_pair(v, 0, sep, "-t", "127.0.0.1/40222");
    assert_pair(v, 0, sep, "-u", "none");
    assert_pair(v, 0, sep, "--dns-forward", MX_NET_GUEST_DNS);
    assert_true(find(v, 0, "--config-net") > 0);
    /* not offline: pasta copies the host's interface */
    assert_absent(v, 0, sep, "-i");
    assert_absent(v, 0, sep, "-a");
    /* then the rules script, which marks the job's ready file and holds the namespace */
    assert_string_equal(v[sep + 1], "/bin/sh");
    assert_string_equal(v[sep + 2], "-c");
    tu_assert_contains(v[sep + 3], "exec sleep infinity");
    assert_string_equal(v[sep + 4], "mexec-net");
    assert_string_equal(v[sep + 5], s.ready);
    assert_null(v[sep + 6]);
    mx_net_strv_free(v);
    /* the SSH port is never also a listed service: nothing listens there on the host */
    s.ssh_port = 8080;
    v = mx_net_argv(&s);
    assert_pair(v, 0, find(v, 0, "--"), "-T", "5000");
    mx_net_strv_free(v);
}

static void test_no_services_and_offline(void **state)
{
    (void)state;
    mx_net_spec s = spec();
    s.nservices = 0;
    s.offline = 1;
    char **v = mx_net_argv(&s);
    int sep = find(v, 0, "--");
    /* not pasta's default (auto: every port bound on the host) */
    assert_pair(v, 0, sep, "-T", "none");
    /* no interface to copy: the namespace gets addresses of its own */
    assert_pair(v, 0, sep, "-i", "lo");
    assert_pair(v, 0, sep, "-a", "10.0.3.15");
    assert_pair(v, 0, sep, "-g", "10.0.3.2");
    assert_true(find(v, 0, "-M") > 0 && find(v, 0, "-M") < sep);
    mx_net_strv_free(v);
}

/* Runs the generated rules script with a recording `ip`; returns the script's exit status. */
static int run_script(const char *dir, const char *script, int ip_status, mx_buf *out)
{
    char *fake = mx_xasprintf("#!/bin/sh\necho \"ip $*\" >>%s/ip.log\nexit %d\n", dir, ip_status);
    char *ip = tu_write(dir, "bin/ip", fake);
    assert_int_equal(chmod(ip, 0755), 0);
    /* the holder's sleep: says it ran instead of holding */
    char *sleep = tu_write(dir, "bin/sleep", "#!/bin/sh\necho \"holding: $*\"\n");
    assert_int_equal(chmod(sleep, 0755), 0);
    free(sleep);
    char *path = mx_xasprintf("%s/bin:/usr/bin:/bin", dir);
    char *old = mx_xstrdup(getenv("PATH"));
    setenv("PATH", path, 1);
    char *ready = mx_path_join(dir, "ready");
    const char *argv[] = {"/bin/sh", "-c", script, "mexec-net", ready, NULL};
    mx_err err = {0};
    int rc = mx_proc_run(argv, NULL, out, &err);
    setenv("PATH", old, 1);
    free(ready);
    free(old);
    free(path);
    free(ip);
    free(fake);
    return rc;
}

static void test_rules_script(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_net_spec s = spec();
    char **v = mx_net_argv(&s);
    int sep = find(v, 0, "--");
    const char *script = v[sep + 3];
    mx_buf out;
    mx_buf_init(&out);
    assert_int_equal(run_script(dir, script, 0, &out), 0);
    /* the rules are in place before the namespace is marked ready and held */
    assert_string_equal(out.data, "holding: infinity\n");
    char *ready = mx_path_join(dir, "ready");
    assert_true(mx_path_exists(ready));
    char *log = mx_path_join(dir, "ip.log");
    char *got = tu_read(log);
    const char *want4 = "ip -4 rule add to 169.254.0.0/16 prohibit pref 100\n"
                        "ip -4 rule add to 192.0.2.7/32 prohibit pref 101\n";
    const char *want6 = "ip -6 rule add to fe80::/10 prohibit pref 100\n"
                        "ip -6 rule add to 2001:db8::7/128 prohibit pref 101\n";
    char *want = mx_xasprintf("%s%s", want4, access("/proc/sys/net/ipv6", F_OK) == 0 ? want6 : "");
    assert_string_equal(got, want);
    free(want);
    free(got);
    /* a rule that cannot be set stops the start: never a guest without them */
    unlink(log);
    unlink(ready);
    mx_buf_free(&out);
    mx_buf_init(&out);
    assert_int_not_equal(run_script(dir, script, 1, &out), 0);
    assert_int_equal(out.len, 0);
    assert_false(mx_path_exists(ready));
    free(ready);
    mx_buf_free(&out);
    free(log);
    mx_net_strv_free(v);
    tu_rmdir(dir);
}

static void test_services(void **state)
{
    (void)state;
    int listed[] = {8080, 5000};
    mx_registry_cfg regs[] = {{.host = "10.0.2.2:5000"},
                              {.host = "10.0.2.2"},
                              {.host = "r.example:5002"},
                              {.host = "10.0.2.20:6000"},
                              {.host = "10.0.2.2:70000"},
                              {.host = "10.0.2.2:x"},
                              /* a name the guest resolves to 10.0.2.2 (address:) */
                              {.host = "1.dkr.ecr.us-east-1.amazonaws.com", .address = "10.0.2.2"},
                              {.host = "ecr.internal:6443", .address = "10.0.2.2"},
                              {.host = "ecr.internal:bad", .address = "10.0.2.2"},
                              {.host = "elsewhere.example:7000", .address = "192.0.2.1"}};
    char *mirrors[] = {"http://10.0.2.2:5001", "https://10.0.2.2/v2", "http://10.0.2.2",
                       "http://mirror.example:5003", "ftp://10.0.2.2:21"};
    mx_host_config hc = {.guest_services = listed,
                         .nguest_services = 2,
                         .registries = regs,
                         .nregistries = 10,
                         .mirrors = mirrors,
                         .nmirrors = 5};
    size_t n;
    int *p = mx_net_services(&hc, &n);
    int want[] = {80, 443, 5000, 5001, 6443, 8080};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p[i], want[i]);
    free(p);
    mx_host_config none = {0};
    p = mx_net_services(&none, &n);
    assert_int_equal(n, 0);
    free(p);
}

static int blocks(int family, const char *text, char out[64])
{
    struct sockaddr_storage ss = {0};
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    } else {
        ss.ss_family = (sa_family_t)family;
    }
    return mx_net_block_addr((struct sockaddr *)&ss, out);
}

static void test_block_addr(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(blocks(AF_INET, "192.0.2.2", out), 1);
    assert_string_equal(out, "192.0.2.2/32");
    assert_int_equal(blocks(AF_INET, "172.17.0.1", out), 1);
    assert_string_equal(out, "172.17.0.1/32");
    assert_int_equal(blocks(AF_INET6, "2001:db8::2", out), 1);
    assert_string_equal(out, "2001:db8::2/128");
    /* loopback: not reachable from the namespace at all; link-local: always prohibited */
    assert_int_equal(blocks(AF_INET, "127.0.0.1", out), 0);
    assert_int_equal(blocks(AF_INET, "127.1.2.3", out), 0);
    assert_int_equal(blocks(AF_INET, "169.254.169.254", out), 0);
    assert_int_equal(blocks(AF_INET6, "::1", out), 0);
    assert_int_equal(blocks(AF_INET6, "fe80::1", out), 0);
    assert_int_equal(blocks(AF_UNIX, NULL, out), 0);
}

static void test_default_route(void **state)
{
    (void)state;
    const char *h4 = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow"
                     "\tIRTT\n";
    char *with = mx_xasprintf("%seth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
                              "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
                              h4);
    char *subnet_only =
        mx_xasprintf("%seth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n", h4);
    const char *z = "00000000000000000000000000000000";
    char *v6 = mx_xasprintf("%s 00 %s 00 fd000000000000000000000000000001 00000400 00000001 "
                            "00000000 00000003     eth0\n",
                            z, z);
    char *v6_reject =
        mx_xasprintf("%s 00 %s 00 %s ffffffff 00000001 00000000 00200200 lo\n", z, z, z);
    char *v6_reject_eth =
        mx_xasprintf("%s 00 %s 00 %s ffffffff 00000001 00000000 00200200 eth0\n", z, z, z);
    assert_true(mx_net_default_route(with, NULL));
    assert_false(mx_net_default_route(subnet_only, NULL));
    assert_false(mx_net_default_route(h4, ""));
    assert_false(mx_net_default_route(NULL, NULL));
    assert_true(mx_net_default_route(h4, v6));
    assert_false(mx_net_default_route(h4, v6_reject));
    assert_false(mx_net_default_route(h4, v6_reject_eth));
    free(with);
    free(subnet_only);
    free(v6);
    free(v6_reject);
    free(v6_reject_eth);
}

static int running(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    mx_buf b;
    mx_buf_init(&b);
    int alive = 0;
    if (mx_read_file(path, &b, NULL) == 0) {
        const char *paren = strrchr(b.data, ')');
        alive = paren && paren[1] == ' ' && paren[2] != 'Z';
    }
    mx_buf_free(&b);
    return alive;
}

/* A process group led by a shell whose command line names sock, with a child; returns the
 * leader's pid and the child's in *child. */
static pid_t start_group(const char *dir, const char *sock, pid_t *child)
{
    char *pidfile = mx_path_join(dir, "child.pid");
    char *cmd =
        mx_xasprintf("sleep 300 & echo $! >%s.tmp; mv %s.tmp %s; wait", pidfile, pidfile, pidfile);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        execl("/bin/sh", "sh", "-c", cmd, "sh", sock, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !mx_path_exists(pidfile); i++)
        usleep(10000);
    char *text = tu_read(pidfile);
    *child = (pid_t)strtol(text, NULL, 10);
    free(text);
    free(cmd);
    free(pidfile);
    return pid;
}

static void write_pid(const char *dir, pid_t pid)
{
    char *text = mx_xasprintf("%ld\n", (long)pid);
    tu_write_free(dir, "net.pid", text);
    free(text);
}

static void test_stop_ends_the_group(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *sock = mx_net_ready_path(dir);
    pid_t child;
    pid_t pid = start_group(dir, sock, &child);
    write_pid(dir, pid);
    assert_true(running(pid) && running(child));
    mx_net_stop(dir);
    /* the leader was our child: reaped; its group's other member got the signal too */
    assert_int_equal(kill(pid, 0), -1);
    for (int i = 0; i < 200 && running(child); i++)
        usleep(10000);
    assert_false(running(child));
    char *pidfile = mx_path_join(dir, "net.pid");
    assert_false(mx_path_exists(pidfile));
    /* nothing recorded: nothing to do */
    mx_net_stop(dir);
    free(pidfile);
    free(sock);
    tu_rmdir(dir);
}

static void test_stop_spares_a_reused_pid(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *sock = mx_net_ready_path(dir);
    char *other = mx_xasprintf("%s-another-job", sock);
    pid_t child;
    /* net.pid names a process that is not this job's pasta (its pid was reused) */
    pid_t pid = start_group(dir, other, &child);
    write_pid(dir, pid);
    mx_net_stop(dir);
    assert_true(running(pid) && running(child));
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    free(other);
    free(sock);
    tu_rmdir(dir);
}

static void test_start_refusals(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_net_spec s = spec();
    int taken = 1;
    pid_t holder = 1;
    mx_err err = {0};
    /* never as root */
    assert_int_equal(mx_net_start(dir, &s, 0, 0, &holder, &taken, &err), -1);
    tu_assert_contains(err.msg, "never runs as root");
    assert_int_equal(taken, 0);
    assert_int_equal(holder, 0);
    char *pidfile = mx_path_join(dir, "net.pid");
    assert_false(mx_path_exists(pidfile));
    free(pidfile);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pasta_forwards_only_listed),
        cmocka_unit_test(test_no_services_and_offline),
        cmocka_unit_test(test_rules_script),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_block_addr),
        cmocka_unit_test(test_default_route),
        cmocka_unit_test(test_stop_ends_the_group),
        cmocka_unit_test(test_stop_spares_a_reused_pid),
        cmocka_unit_test(test_start_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
