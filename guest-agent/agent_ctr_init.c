/* `mexec-agent --ctr-*`: the agent inside a job's container (agent_ctr.h), where it is mounted
 * read-only and runs as the container's user, needing nothing from the image:
 *
 *   --ctr-init                   PID 1 of a step container: reaps orphans, ends on SIGTERM.
 *   --ctr-step DIR [SHELL...]    one step: the script from stdin ("LEN\n" + bytes) into a
 *                                memory file, SHELL (default: bash -eo pipefail, else
 *                                sh -eo pipefail) on it in DIR (~ is $HOME; created) as a
 *                                process group; the end of stdin cancels it.
 *   --ctr-prep DIR               creates DIR, prints "UID GID ABSOLUTE-DIR".
 *   --ctr-persist ROOT PATH...   a workspace layer of ROOT's matches on stdout (tar).
 * Messages go to stderr, which the host shows as the step's. */
#include "agent_ctr.h"
#include "mx_num.h"
#include "agent_tar.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int init_main(void)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig == SIGCHLD) {
            while (waitpid(-1, NULL, WNOHANG) > 0) {
            }
        } else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
            return 0;
        }
    }
}

static char *home_path(const char *dir)
{
    const char *home = getenv("HOME");
    return mx_agent_expand_home(dir, home && *home ? home : "/");
}

/* Reads "LEN\n" and LEN bytes from fd 0 into a memory file; its fd, or -1 (message printed). */
static int read_script(void)
{
    char head[24];
    size_t n = 0;
    while (n < sizeof head - 1) {
        ssize_t r = read(0, head + n, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (head[n] == '\n') break;
        n++;
    }
    head[n] = '\0';
    long long given;
    if (mx_parse_int(head, 0, MX_CTR_MAX_SCRIPT, &given) < 0) {
        dprintf(2, "mexec-agent: no step script on stdin\n");
        return -1;
    }
    int fd = memfd_create("mexec-step", 0);
    if (fd < 0) {
        dprintf(2, "mexec-agent: memfd_create: %s\n", strerror(errno));
        return -1;
    }
    char buf[65536];
    size_t len = (size_t)given;
    while (len > 0) {
        ssize_t r = read(0, buf, len < sizeof buf ? len : sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || write(fd, buf, (size_t)r) != r) {
            dprintf(2, "mexec-agent: the step script did not arrive whole\n");
            close(fd);
            return -1;
        }
        len -= (size_t)r;
    }
    explicit_bzero(buf, sizeof buf);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static int wait_status(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
}

/* Waits for the shell, watching stdin: its end is the cancel. */
static int supervise(pid_t pid)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int stdin_open = 1, st = 0;
    long long kill_at = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) break;
        struct pollfd p[2] = {{.fd = stdin_open ? 0 : -1, .events = POLLIN},
                              {.fd = pidfd, .events = POLLIN}};
        int ms = pidfd >= 0 ? -1 : 200;
        if (kill_at) {
            long long left = kill_at - mx_agent_now_ms();
            ms = left < 0 ? 0 : (int)(left < 200 ? left : 200);
        }
        poll(p, 2, ms);
        if (stdin_open && p[0].revents) {
            char buf[512];
            ssize_t r = read(0, buf, sizeof buf);
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                stdin_open = 0;
                kill(-pid, SIGTERM);
                kill_at = mx_agent_now_ms() + MX_CTR_KILL_GRACE_MS;
            }
        }
        if (kill_at && mx_agent_now_ms() >= kill_at) kill(-pid, SIGKILL);
    }
    if (pidfd >= 0) close(pidfd);
    /* what the step left running in its group ends with it, as in the VM */
    kill(-pid, SIGKILL);
    return wait_status(st);
}

static int step_main(int argc, char **argv)
{
    if (argc < 3) {
        dprintf(2, "usage: mexec-agent --ctr-step DIR [SHELL...]\n");
        return 2;
    }
    int script = read_script();
    if (script < 0) return 1;
    mx_autofree char *dir = home_path(argv[2]);
    mx_err err;
    if (mx_mkdir_p(dir, 0755, &err) < 0 || chdir(dir) < 0) {
        dprintf(2, "mexec-agent: cannot enter %s: %s\n", dir,
                err.msg[0] ? err.msg : strerror(errno));
        return 1;
    }
    char *dflt[] = {"/bin/bash", "-eo", "pipefail", NULL};
    if (access(dflt[0], X_OK) < 0) dflt[0] = "/bin/sh";
    char **shell = argc > 3 ? argv + 3 : dflt;
    size_t n = 0;
    while (shell[n])
        n++;
    char **av = mx_xcalloc(n + 2, sizeof *av);
    memcpy(av, shell, n * sizeof *av);
    av[n] = mx_xasprintf("/proc/self/fd/%d", script);
    pid_t pid = fork();
    if (pid < 0) {
        dprintf(2, "mexec-agent: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        execvp(av[0], av);
        dprintf(2, "mexec-agent: cannot run %s: %s\n", av[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(script);
    free(av[n]);
    free(av);
    return supervise(pid);
}

static int prep_main(int argc, char **argv)
{
    if (argc != 3) return 2;
    mx_autofree char *dir = home_path(argv[2]);
    mx_err err;
    char real[PATH_MAX];
    if (mx_mkdir_p(dir, 0755, &err) < 0) {
        dprintf(2, "%s\n", err.msg);
        return 1;
    }
    if (!realpath(dir, real)) {
        dprintf(2, "%s: %s\n", dir, strerror(errno));
        return 1;
    }
    printf("%u %u %s\n", (unsigned)getuid(), (unsigned)getgid(), real);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int persist_main(int argc, char **argv)
{
    if (argc < 4) return 2;
    mx_autofree char *root = home_path(argv[2]);
    struct stat st;
    if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        dprintf(2, "persist_to_workspace: root %s: %s\n", root,
                S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
        return 1;
    }
    dprintf(2, "Persisting to the workspace from %s:\n", root);
    mx_buf list;
    mx_buf_init(&list);
    mx_err err;
    for (int i = 3; i < argc; i++) {
        const char *why = mx_agent_ws_bad_pattern(argv[i]);
        long n = why ? 0 : mx_agent_ws_expand(root, argv[i], &list, &err);
        if (why || n <= 0) {
            if (why)
                dprintf(2, "persist_to_workspace: path \"%s\" %s\n", argv[i], why);
            else if (n < 0)
                dprintf(2, "%s\n", err.msg);
            else
                dprintf(2,
                        "The specified paths did not match any files in %s: \"%s\" matches "
                        "nothing\n",
                        root, argv[i]);
            mx_buf_free(&list);
            return 1;
        }
        dprintf(2, "  %s (%ld match%s)\n", argv[i], n, n == 1 ? "" : "es");
    }
    long skipped = 0;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < list.len; off += strlen(list.data + off) + 1) {
        const char *rel = list.data + off;
        if (strncmp(rel, "./", 2) == 0) rel += 2;
        mx_autofree char *path = mx_path_join(root, rel);
        rc = mxt_write_tree(STDOUT_FILENO, path, rel, &skipped, &err);
    }
    mx_buf_free(&list);
    if (rc == 0) rc = mxt_write_end(STDOUT_FILENO, &err);
    if (rc < 0) {
        dprintf(2, "persist_to_workspace: %s\n", err.msg);
        return 1;
    }
    if (skipped) dprintf(2, "  (%ld sockets, fifos or devices not persisted)\n", skipped);
    return 0;
}

int mx_agent_ctr_main(int argc, char **argv)
{
    if (argc < 2) return -1;
    if (strcmp(argv[1], "--ctr-init") == 0) return init_main();
    if (strcmp(argv[1], "--ctr-step") == 0) return step_main(argc, argv);
    if (strcmp(argv[1], "--ctr-prep") == 0) return prep_main(argc, argv);
    if (strcmp(argv[1], "--ctr-persist") == 0) return persist_main(argc, argv);
    return -1;
}
