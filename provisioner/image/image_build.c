#include "image_build.h"
#include "image_tag.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "signals.h"
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* A waiting process looks at the lock and at mx_stop this often. */
#define NAP_MS 100

/* A notice for the person running mexec (msg is freed). */
static void note(char *msg)
{
    mx_sink_note("%s", msg);
    free(msg);
}

typedef struct strv {
    char **v;
    size_t n;
} strv;

static void strv_add(strv *s, char *owned)
{
    s->v = mx_xrealloc(s->v, (s->n + 2) * sizeof *s->v);
    s->v[s->n++] = owned;
    s->v[s->n] = NULL;
}

static void strv_free(strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* The recipe's environment: ours, plus the host's image mirrors where the environment does not
 * name one already (the user's environment wins over host.yaml), plus what the recipe records
 * in its manifest. */
static void recipe_env(const mx_host_config *hc, const mx_image *img, strv *env)
{
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "MEXEC_RECIPE_HASH=", 18) != 0 && strncmp(*e, "MEXEC_IMAGE_REF=", 16) != 0)
            strv_add(env, mx_xstrdup(*e));
    for (size_t i = 0; i < MX_IMAGE_MIRRORS; i++)
        if (hc->image_mirrors[i] && !getenv(mx_image_mirror_keys[i][1]))
            strv_add(env, mx_xasprintf("%s=%s", mx_image_mirror_keys[i][1], hc->image_mirrors[i]));
    strv_add(env, mx_xasprintf("MEXEC_RECIPE_HASH=%s", img->recipe_hash));
    strv_add(env, mx_xasprintf("MEXEC_IMAGE_REF=%s", img->ref));
}

/* Runs the recipe into outdir, its stdout and stderr both to our stderr (a job's stdout is the
 * job's output).  Passes a stop (signal) on to it as SIGTERM: the recipe cleans up and exits. */
static int run_recipe(const mx_host_config *hc, const mx_image *img, const char *outdir,
                      mx_err *err)
{
    mx_autofree char *script = mx_path_join(img->recipe_dir, "recipe.sh");
    const char *argv[] = {"bash", script, outdir, NULL};
    strv env = {0};
    recipe_env(hc, img, &env);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        strv_free(&env);
        return mx_fail_errno(err, MX_INFRA, "fork");
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(2, 1) < 0) _exit(127);
        if (devnull > 2) close(devnull);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvpe(argv[0], (char *const *)argv, env.v);
        _exit(127);
    }
    strv_free(&env);
    int st, forwarded = 0;
    if (mx_stop) { /* a signal that came before the fork */
        kill(pid, SIGTERM);
        forwarded = 1;
    }
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return mx_fail_errno(err, MX_INFRA, "wait for recipe %s", script);
        if (mx_stop && !forwarded) {
            kill(pid, SIGTERM);
            forwarded = 1;
        }
    }
    if (mx_stop) return mx_fail(err, MX_INFRA, "build of %s interrupted", img->ref);
    int status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
    if (status != 0)
        return mx_fail(err, MX_INFRA,
                       "recipe %s failed with exit status %d (its messages are above)", script,
                       status);
    return 0;
}

/* Builds into a temporary directory beside the final one, then renames it into place. */
static int build(const mx_host_config *hc, mx_image *img, mx_err *err)
{
    if (mx_path_exists(img->dir))
        return mx_fail(err, MX_INFRA,
                       "%s exists but is not a complete build of %s (a file is missing); remove "
                       "it to build the image again",
                       img->dir, img->ref);
    mx_autofree char *store = mx_dirname(img->dir);
    mx_autofree char *tmp = mx_path_join(store, ".build-XXXXXX");
    if (!mkdtemp(tmp)) return mx_fail_errno(err, MX_INFRA, "create %s", tmp);
    note(mx_xasprintf("building %s from images/%s (recipe hash %.12s); the recipe's progress "
                      "follows",
                      img->ref, img->recipe, img->recipe_hash));
    int rc = run_recipe(hc, img, tmp, err);
    if (rc == 0 && chmod(tmp, 0755) < 0) rc = mx_fail_errno(err, MX_INFRA, "chmod %s", tmp);
    if (rc == 0 && rename(tmp, img->dir) < 0)
        rc = mx_fail_errno(err, MX_INFRA, "move the build to %s", img->dir);
    if (rc < 0) {
        mx_rm_rf(tmp, NULL);
        return -1;
    }
    note(mx_xasprintf("%s built: %s", img->ref, img->dir));
    return 0;
}

/* Takes IMAGE_STORE/RECIPE/HASH.lock; waits (saying so once) while another process holds it.
 * Returns the descriptor holding the lock, or -1. */
static int lock_build(const mx_image *img, mx_err *err)
{
    mx_autofree char *store = mx_dirname(img->dir);
    if (mx_mkdir_p(store, 0755, err) < 0) return mx_wrap(err, "image store");
    mx_autofree char *path = mx_xasprintf("%s.lock", img->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    int announced = 0;
    /* LOCK_NB and naps rather than a blocking flock: a signal must end the wait */
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || mx_stop) {
            int e = errno;
            close(fd);
            if (mx_stop)
                return mx_fail(err, MX_INFRA, "interrupted waiting for the build of %s", img->ref);
            errno = e;
            return mx_fail_errno(err, MX_INFRA, "lock %s", path);
        }
        if (!announced)
            note(mx_xasprintf("waiting for another mexec to finish building %s", img->ref));
        announced = 1;
        struct timespec ts = {0, NAP_MS * 1000000L};
        (void)nanosleep(&ts, NULL);
    }
    return fd;
}

/* A dated tag's first build: record it, so that the tag keeps meaning this build. */
static int freeze(mx_image *img, mx_err *err)
{
    if (!img->dated || img->frozen) return 0;
    int existing = 0;
    if (mx_tag_record_create(img->tag_record, img->ref, img->recipe, img->recipe_hash,
                             img->manifest, &existing, err) < 0)
        return mx_wrap(err, "freeze %s", img->ref);
    if (existing) {
        /* another process froze it first: fine if to this very build */
        char hash[65];
        if (mx_tag_record_read(img->tag_record, hash, err) < 0) return -1;
        if (strcmp(hash, img->recipe_hash) != 0)
            return mx_fail(err, MX_INFRA,
                           "%s was frozen meanwhile to another build (%.12s, see %s); run again",
                           img->ref, hash, img->tag_record);
    } else {
        note(mx_xasprintf("%s frozen to the build %.12s (%s)", img->ref, img->recipe_hash,
                          img->tag_record));
    }
    img->frozen = 1;
    return 0;
}

int mx_image_ensure(const mx_host_config *hc, mx_image *img, int no_build, mx_err *err)
{
    if (!img->built && !img->frozen && !no_build) {
        mx_autoclose int fd = lock_build(img, err);
        if (fd < 0) return -1;
        mx_image_refresh(img); /* built by whoever held the lock before us? */
        if (!img->built && build(hc, img, err) < 0) return -1;
        mx_image_refresh(img);
    }
    if (mx_image_require_built(img, err) < 0) {
        if (no_build && !img->built && !img->frozen)
            return mx_wrap(err, "not building it (--no-build)");
        return -1;
    }
    return freeze(img, err);
}

int mx_image_ready(const mx_host_config *hc, const char *ref, int no_build, mx_image *img,
                   mx_err *err)
{
    mx_catalog cat;
    int rc = mx_catalog_load(hc->images_dir, &cat, err);
    if (rc == 0) rc = mx_catalog_resolve(&cat, hc, ref, img, err);
    mx_catalog_free(&cat);
    if (rc < 0) return -1;
    return mx_image_ensure(hc, img, no_build, err);
}
