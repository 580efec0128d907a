/* Starting and ending a VM's network processes (vm_net.h has the design). */
#include "vm_net.h"
#include "install_dirs.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* pasta creates and configures the namespace: well under a second, more on a loaded host; the
 * bound is for a host where it hangs. */
#define START_TIMEOUT_MS 20000
#define STOP_WAIT_MS 2000
/* a minimal, fixed environment: nothing of mexec's (a job's secrets never are) reaches them */
#define NET_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char *pid_path(const char *dir)
{
    return mx_path_join(dir, "net.pid");
}

static char *log_path(const char *dir)
{
    return mx_path_join(dir, "net.log");
}

static char *find_program(const char *name)
{
    char *copy = mx_xstrdup(NET_PATH), *save = NULL;
    char *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = mx_path_join(d, name);
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

char *mx_net_pasta(void)
{
    return find_program("pasta");
}

/* 1 if pid runs (a zombie does not) and is this job's pasta: its command line names the job's
 * ready file, so a pid reused by another process is never signalled. */
static int is_ours(pid_t pid, const char *ready)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    mx_buf b;
    mx_buf_init(&b);
    int ours = 0;
    if (mx_read_file(path, &b, NULL) == 0)
        for (size_t at = 0; at < b.len && !ours; at += strlen(b.data + at) + 1)
            ours = strcmp(b.data + at, ready) == 0;
    mx_buf_free(&b);
    return ours;
}

/* The first pid in the file at path (a pid file, or /proc's children list), 0 if none. */
static pid_t first_pid_in(const char *path)
{
    mx_buf b;
    mx_buf_init(&b);
    long pid = 0;
    const char *end;
    long long v;
    if (mx_read_file(path, &b, NULL) == 0 && b.len) {
        mx_buf_adds(&b, ""); /* terminated */
        /* a pid file ends in a newline; /proc's children list separates with spaces */
        if (mx_parse_int_prefix(b.data, 0, INT_MAX, &v, &end) == 0 &&
            (!*end || *end == '\n' || *end == ' '))
            pid = (long)v;
    }
    mx_buf_free(&b);
    return pid > 1 ? (pid_t)pid : 0;
}

static pid_t read_pid(const char *dir)
{
    mx_autofree char *path = pid_path(dir);
    return first_pid_in(path);
}

/* Reaps pid if it is our child and has ended; 1 once it no longer runs as this job's pasta. */
static int gone(pid_t pid, const char *ready)
{
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return 1;
    if (r == 0) return 0;
    return !is_ours(pid, ready);
}

void mx_net_stop(const char *job_dir)
{
    pid_t pid = read_pid(job_dir);
    mx_autofree char *pidfile = pid_path(job_dir);
    if (!pid) return;
    mx_autofree char *ready = mx_net_ready_path(job_dir);
    int st;
    /* our own child that ended already: reap it; the holder may linger in its group */
    int reaped = waitpid(pid, &st, WNOHANG) == pid;
    if (reaped || is_ours(pid, ready)) {
        /* pasta leads its own process group (setsid), which the holder is in.  SIGKILL: the
         * holder is the init of pasta's PID namespace, which ignores other signals. */
        kill(-pid, SIGKILL);
        for (int ms = 0; !reaped && ms < STOP_WAIT_MS && !gone(pid, ready); ms += 10)
            nap_ms(10);
    }
    unlink(pidfile);
}

/* The last lines of net.log that explain a failure (the "Failed to send ... to syslog" noise
 * pasta prints where there is no syslog left out). */
static char *log_tail(const char *dir)
{
    mx_autofree char *path = log_path(dir);
    mx_buf b, out;
    mx_buf_init(&b);
    mx_buf_init(&out);
    if (mx_read_file(path, &b, NULL) == 0 && b.len) {
        char *save = NULL;
        for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            if (strstr(l, "to syslog") || !*l) continue;
            if (out.len > 1024) out.len = 0; /* keep the end */
            mx_buf_printf(&out, "%s%s", out.len ? "; " : "", l);
        }
    }
    mx_buf_free(&b);
    char *s = mx_buf_steal(&out);
    if (!*s) {
        free(s);
        s = mx_xstrdup("no message");
    }
    return s;
}

/* JOB_DIR/net: the QEMU user's (the holder marks it ready there), with the resolv.conf
 * mexec-qemu shows QEMU's slirp: its DNS goes to 10.0.2.3, which pasta forwards. */
static int make_net_dir(const char *job_dir, uid_t uid, gid_t gid, mx_err *err)
{
    mx_autofree char *d = mx_path_join(job_dir, "net");
    mx_autofree char *ready = mx_net_ready_path(job_dir);
    mx_autofree char *resolv = mx_net_resolv_path(job_dir);
    if (mkdir(d, 0700) < 0 && errno != EEXIST) return mx_fail_errno(err, MX_INFRA, "mkdir %s", d);
    if (chown(d, uid, gid) < 0 || chmod(d, 0700) < 0)
        return mx_fail_errno(err, MX_INFRA, "hand %s to uid %ld", d, (long)uid);
    if (unlink(ready) < 0 && errno != ENOENT) return mx_fail_errno(err, MX_INFRA, "rm %s", ready);
    const char *text = "nameserver " MX_NET_GUEST_DNS "\n";
    return mx_write_file(resolv, text, strlen(text), 0644, err);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void exec_child(const char *prog, char **argv, int devnull, int logfd, uid_t uid, gid_t gid)
{
    static char *const envp[] = {"PATH=" NET_PATH, "LC_ALL=C", NULL};
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    /* mexec ignores SIGPIPE and catches the stop signals: none of that is pasta's */
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* its own session: a terminal's Ctrl-C reaches mexec, which then ends the VM in order */
    if (setsid() < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
        _exit(126);
    /* the job lock and libvirt's socket stay with mexec */
    if (close_range(3, ~0U, 0) < 0)
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        _exit(126);
    umask(077);
    execve(prog, argv, envp);
    _exit(127);
}

/* The process pasta runs in the namespace: its only child. */
static pid_t holder_of(pid_t pasta)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pasta, (long)pasta);
    return first_pid_in(path);
}

static int wait_ready(const char *job_dir, pid_t pid, const char *ready, pid_t *holder,
                      int *port_taken, mx_err *err)
{
    for (int ms = 0; ms < START_TIMEOUT_MS; ms += 10) {
        if (mx_path_exists(ready) && (*holder = holder_of(pid)) > 0) return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            mx_autofree char *tail = log_tail(job_dir);
            *port_taken = strstr(tail, "Failed to bind any port for '-t") != NULL;
            return mx_fail(err, MX_INFRA, "pasta exited with status %d: %s",
                           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), tail);
        }
        if (mx_stop) return mx_fail(err, MX_INFRA, "interrupted by signal %d", (int)mx_stop);
        nap_ms(10);
    }
    mx_autofree char *tail = log_tail(job_dir);
    return mx_fail(err, MX_INFRA, "its namespace was not ready after %d s: %s",
                   START_TIMEOUT_MS / 1000, tail);
}

int mx_net_start(const char *job_dir, const mx_net_spec *s, uid_t uid, gid_t gid, pid_t *holder,
                 int *port_taken, mx_err *err)
{
    *port_taken = 0;
    *holder = 0;
    if (uid == 0) return mx_fail(err, MX_INFRA, "the guest network never runs as root");
    mx_net_stop(job_dir); /* an earlier attempt's */
    mx_autofree char *prog = mx_net_pasta();
    if (!prog)
        return mx_fail(err, MX_INFRA,
                       "pasta not found in %s: install Debian's passt (scripts/setup-host.sh)",
                       NET_PATH);
    if (make_net_dir(job_dir, uid, gid, err) < 0) return -1;
    mx_autofree char *logp = log_path(job_dir);
    mx_autofree char *pidp = pid_path(job_dir);
    int logfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (logfd < 0) return mx_fail_errno(err, MX_INFRA, "create %s", logp);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        close(logfd);
        return mx_fail_errno(err, MX_INFRA, "open /dev/null");
    }
    char **argv = mx_net_argv(s);
    pid_t pid = fork();
    if (pid == 0) exec_child(prog, argv, devnull, logfd, uid, gid);
    int fork_errno = errno;
    mx_net_strv_free(argv);
    close(logfd);
    close(devnull);
    if (pid < 0) {
        errno = fork_errno;
        return mx_fail_errno(err, MX_INFRA, "fork");
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)pid);
    int rc = mx_write_file(pidp, text, (size_t)n, 0600, err);
    if (rc == 0) rc = wait_ready(job_dir, pid, s->ready, holder, port_taken, err);
    if (rc < 0) {
        /* pasta's group (the holder too); just reaped or still ours, so not a reused pid */
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        unlink(pidp);
        return mx_wrap(err, "start the guest network");
    }
    return 0;
}

char *mx_net_wrapper(mx_err *err)
{
    const char *env = getenv("MEXEC_QEMU_WRAPPER");
    if (env && *env) {
        if (env[0] == '/' && access(env, X_OK) == 0) return mx_xstrdup(env);
        mx_fail(err, MX_INFRA, "MEXEC_QEMU_WRAPPER=%s is not an executable file's full path", env);
        return NULL;
    }
    /* where the agent is: beside mexec in a build tree, libexec/mexec when installed */
    return mx_install_libexec("mexec-qemu", "MEXEC_QEMU_WRAPPER", err);
}
