#include "agent_circleci.h"
#include "mx_num.h"
#include "agent_split.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A walk for `tests glob` stops this deep and after this many entries: a symlink loop or a
 * huge tree must not hang the step. */
#define GLOB_MAX_DEPTH 64
#define GLOB_MAX_ENTRIES 2000000
#define GLOB_MAX_PATTERNS 1024

static const char usage[] =
    "usage: circleci tests glob PATTERN...\n"
    "       circleci tests split [--split-by=name|filesize|timings]\n"
    "                            [--timings-type=filename|classname|testname|autodetect]\n"
    "                            [--total=N] [--index=I] [FILE]\n"
    "       circleci tests run --command=CMD [split options]\n"
    "(mexec's stand-in for the CircleCI CLI in the job's VM)\n";

/* ---- tests glob ---- */

typedef struct walk {
    char **pats;
    int npats;
    mx_buf out;
    long entries;
} walk;

static int is_dot(const char *n)
{
    return strcmp(n, ".") == 0 || strcmp(n, "..") == 0;
}

static void visit(walk *w, const char *dir, int depth)
{
    if (depth > GLOB_MAX_DEPTH) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && w->entries < GLOB_MAX_ENTRIES) {
        if (is_dot(e->d_name)) continue;
        w->entries++;
        char *path =
            strcmp(dir, ".") == 0
                ? mx_xstrdup(e->d_name)
                : mx_xasprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        for (int i = 0; i < w->npats; i++) {
            if (mx_glob_match(w->pats[i], path)) {
                mx_buf_adds(&w->out, path);
                mx_buf_add(&w->out, "", 1);
                break;
            }
        }
        struct stat st;
        /* lstat: a symlink to a directory is listed, not entered (no loops) */
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) visit(w, path, depth + 1);
        free(path);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the NUL-separated names in buf sorted, one per line, each once. */
static void print_sorted(const mx_buf *buf)
{
    size_t n = 0;
    for (size_t i = 0; i < buf->len; i++)
        n += buf->data[i] == '\0';
    char **v = mx_xcalloc(n ? n : 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < buf->len; i += strlen(buf->data + i) + 1)
        v[k++] = buf->data + i;
    qsort(v, k, sizeof *v, cmp_str);
    for (size_t i = 0; i < k; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0) printf("%s\n", v[i]);
    free(v);
}

static int tests_glob(int argc, char **argv)
{
    if (argc < 1) {
        fputs(usage, stderr);
        return 2;
    }
    walk w = {.pats = mx_xcalloc(GLOB_MAX_PATTERNS, sizeof(char *))};
    mx_buf_init(&w.out);
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        int before = w.npats;
        int k = mx_glob_braces(argv[i], w.pats + w.npats, GLOB_MAX_PATTERNS - w.npats);
        if (k < 0) {
            fprintf(stderr, "circleci tests glob: too many alternatives in %s\n", argv[i]);
            rc = 2;
            break;
        }
        w.npats += k;
        /* one walk per pattern's base; the patterns of one argument share it */
        for (int j = before; j < w.npats; j++) {
            char **save = w.pats;
            int nsave = w.npats;
            w.pats = save + j;
            w.npats = 1;
            mx_autofree char *base = mx_glob_base(*w.pats);
            struct stat st;
            if (lstat(*w.pats, &st) == 0 && !strpbrk(*w.pats, "*?[")) {
                mx_buf_adds(&w.out, *w.pats); /* a plain name that exists */
                mx_buf_add(&w.out, "", 1);
            } else {
                visit(&w, base, 0);
            }
            w.pats = save;
            w.npats = nsave;
        }
    }
    if (rc == 0) print_sorted(&w.out);
    for (int i = 0; i < w.npats; i++)
        free(w.pats[i]);
    free(w.pats);
    mx_buf_free(&w.out);
    return rc;
}

/* ---- tests split ---- */

enum split_by { BY_NAME, BY_FILESIZE, BY_TIMINGS };
enum timings_type { T_AUTO, T_FILENAME, T_CLASSNAME, T_TESTNAME };

typedef struct split_opts {
    enum split_by by;
    enum timings_type ttype;
    int total, index;
    const char *input;   /* NULL: stdin */
    const char *command; /* tests run */
} split_opts;

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    long long n;
    return mx_parse_int(v, 0, 100000, &n) == 0 ? (int)n : dflt;
}

static int parse_split(int argc, char **argv, split_opts *o, int want_command)
{
    static const struct option opts[] = {
        {"split-by", required_argument, 0, 's'}, {"timings-type", required_argument, 0, 't'},
        {"total", required_argument, 0, 'n'},    {"index", required_argument, 0, 'i'},
        {"command", required_argument, 0, 'c'},  {"show-counts", no_argument, 0, 'S'},
        {"verbose", no_argument, 0, 'v'},        {0, 0, 0, 0},
    };
    o->total = env_int("CIRCLE_NODE_TOTAL", 1);
    o->index = env_int("CIRCLE_NODE_INDEX", 0);
    int c;
    long long num;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (strcmp(optarg, "name") == 0)
                o->by = BY_NAME;
            else if (strcmp(optarg, "filesize") == 0)
                o->by = BY_FILESIZE;
            else if (strcmp(optarg, "timings") == 0)
                o->by = BY_TIMINGS;
            else
                return fprintf(stderr, "circleci: --split-by %s: name, filesize or timings\n",
                               optarg),
                       -1;
            break;
        case 't':
            if (strcmp(optarg, "filename") == 0 || strcmp(optarg, "file") == 0)
                o->ttype = T_FILENAME;
            else if (strcmp(optarg, "classname") == 0)
                o->ttype = T_CLASSNAME;
            else if (strcmp(optarg, "testname") == 0)
                o->ttype = T_TESTNAME;
            else if (strcmp(optarg, "autodetect") == 0)
                o->ttype = T_AUTO;
            else
                return fprintf(stderr,
                               "circleci: --timings-type %s: filename, classname, testname or "
                               "autodetect\n",
                               optarg),
                       -1;
            break;
        case 'n':
            o->total = mx_parse_int(optarg, 1, 100000, &num) == 0 ? (int)num : -1;
            break;
        case 'i':
            o->index = mx_parse_int(optarg, 0, 100000, &num) == 0 ? (int)num : -1;
            break;
        case 'c':
            o->command = optarg;
            break;
        case 'S':
        case 'v':
            break;
        default:
            return -1;
        }
    }
    if (optind < argc) o->input = argv[optind++];
    if (optind < argc || o->total < 1 || o->index < 0 || o->index >= o->total ||
        (want_command && !o->command)) {
        fputs(usage, stderr);
        return -1;
    }
    return 0;
}

/* The names to split: whitespace-separated words of the input. */
static int read_names(const char *input, char ***names, size_t *n)
{
    FILE *f = input ? fopen(input, "r") : stdin;
    if (!f) return fprintf(stderr, "circleci: %s: %s\n", input, strerror(errno)), -1;
    mx_buf b;
    mx_buf_init(&b);
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MX_SPLIT_MAX_INPUT)
        mx_buf_add(&b, chunk, r);
    if (input) fclose(f);
    if (b.len > MX_SPLIT_MAX_INPUT) {
        mx_buf_free(&b);
        return fprintf(stderr, "circleci: more than %u bytes of names\n", MX_SPLIT_MAX_INPUT), -1;
    }
    mx_buf_add(&b, "", 1);
    *n = 0;
    size_t cap = 64;
    *names = mx_xcalloc(cap, sizeof **names);
    for (char *p = b.data; *p;) {
        p += strspn(p, " \t\r\n");
        size_t len = strcspn(p, " \t\r\n");
        if (!len) break;
        if (*n == cap) *names = mx_xrealloc(*names, (cap *= 2) * sizeof **names);
        (*names)[(*n)++] = mx_xstrndup(p, len);
        p += len;
    }
    mx_buf_free(&b);
    return 0;
}

static const char *strip_dot(const char *s)
{
    while (s[0] == '.' && s[1] == '/')
        s += 2;
    return s;
}

/* Sums the stored test times by key kind; weights[i] < 0 where nothing matched.  Returns how
 * many names matched. */
static size_t timing_weights(json_t *t, enum timings_type type, char **names, size_t n, double *w)
{
    static const char *const field[] = {
        [T_FILENAME] = "file", [T_CLASSNAME] = "classname", [T_TESTNAME] = "name"};
    size_t matched = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = -1;
        size_t k;
        json_t *e;
        json_array_foreach(t, k, e)
        {
            const char *v = json_string_value(json_object_get(e, field[type]));
            json_t *time = json_object_get(e, "time");
            if (!v || !json_is_number(time)) continue;
            if (strcmp(strip_dot(v), strip_dot(names[i])) != 0) continue;
            w[i] = (w[i] < 0 ? 0 : w[i]) + json_number_value(time);
        }
        matched += w[i] >= 0;
    }
    return matched;
}

/* Weights by stored timings; a name split (all equal) when there are none. */
static void weigh_timings(const split_opts *o, char **names, size_t n, double *w)
{
    const char *file = getenv(MX_TIMINGS_ENV);
    json_error_t jerr;
    mx_autojson json_t *t = file && *file ? json_load_file(file, 0, &jerr) : NULL;
    size_t matched = 0;
    if (json_is_array(t)) {
        if (o->ttype != T_AUTO) {
            matched = timing_weights(t, o->ttype, names, n, w);
        } else {
            static const enum timings_type order[] = {T_FILENAME, T_CLASSNAME, T_TESTNAME};
            for (size_t k = 0; k < 3 && matched == 0; k++)
                matched = timing_weights(t, order[k], names, n, w);
        }
    }
    if (matched == 0) {
        fprintf(stderr, "circleci: no timing data for these tests (store_test_results of an "
                        "earlier run of this job stores it); splitting by name\n");
        for (size_t i = 0; i < n; i++)
            w[i] = 1;
    } else if (matched < n) {
        fprintf(stderr, "circleci: no timing data for %zu of %zu names; they count as the mean\n",
                n - matched, n);
    }
}

/* This node's share of the names, in input order. */
static size_t share(const split_opts *o, char **names, size_t n, char ***mine)
{
    double *w = mx_xcalloc(n ? n : 1, sizeof *w);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (o->by == BY_FILESIZE)
            w[i] = stat(names[i], &st) == 0 ? (double)st.st_size : 0;
        else
            w[i] = 1;
    }
    if (o->by == BY_TIMINGS) weigh_timings(o, names, n, w);
    mx_split_item *items = mx_xcalloc(n ? n : 1, sizeof *items);
    int *node = mx_xcalloc(n ? n : 1, sizeof *node);
    for (size_t i = 0; i < n; i++)
        items[i] = (mx_split_item){names[i], w[i]};
    mx_split_assign(items, n, o->total, node);
    *mine = mx_xcalloc(n ? n : 1, sizeof **mine);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (node[i] == o->index) (*mine)[k++] = names[i];
    free(node);
    free(items);
    free(w);
    return k;
}

/* Runs the job's shell command (`sh -c COMMAND`, as CircleCI does) with lines on its stdin, one
 * a line; its exit status (128+N for a signal), or 1 when it cannot be started. */
static int run_fed(const char *command, char **lines, size_t n)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        fprintf(stderr, "circleci: pipe: %s\n", strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "circleci: cannot run %s: %s\n", command, strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        if (dup2(fds[0], STDIN_FILENO) < 0) _exit(127);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    FILE *p = fdopen(fds[1], "w");
    if (!p) {
        close(fds[1]);
    } else {
        for (size_t i = 0; i < n && fprintf(p, "%s\n", lines[i]) >= 0; i++)
            ;
        fclose(p);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int tests_split(int argc, char **argv, int run)
{
    split_opts o = {0};
    if (parse_split(argc, argv, &o, run) < 0) return 2;
    char **names = NULL;
    size_t n = 0;
    if (read_names(o.input, &names, &n) < 0) return 1;
    n = mx_split_dedup(names, n);
    char **mine;
    size_t k = share(&o, names, n, &mine);
    int rc = 0;
    if (!run) {
        for (size_t i = 0; i < k; i++)
            printf("%s\n", mine[i]);
    } else {
        /* the share on the command's stdin, as CircleCI's `tests run` hands it over */
        fflush(stdout);
        rc = run_fed(o.command, mine, k);
    }
    free(mine);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ---- dispatch ---- */

/* Runs the next `circleci` on PATH after our own directory; returns only on failure. */
static void exec_next(char **argv)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    const char *path = getenv("PATH");
    mx_autofree char *copy = mx_xstrdup(path ? path : "");
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        mx_autofree char *cand = mx_path_join(dir, "circleci");
        char real[PATH_MAX];
        if (access(cand, X_OK) != 0 || !realpath(cand, real) || strcmp(real, self) == 0) continue;
        execv(cand, argv);
    }
}

int mx_agent_circleci_main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "tests") == 0) {
        if (strcmp(argv[2], "glob") == 0) return tests_glob(argc - 3, argv + 3);
        if (strcmp(argv[2], "split") == 0) return tests_split(argc - 2, argv + 2, 0);
        if (strcmp(argv[2], "run") == 0) return tests_split(argc - 2, argv + 2, 1);
    }
    exec_next(argv);
    fputs(usage, stderr);
    return 2;
}

char *mx_agent_circleci_install(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return NULL;
    self[n] = '\0';
    char tmpl[] = "/tmp/mexec-bin-XXXXXX";
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "mexec-agent: no circleci command: mkdtemp: %s\n", strerror(errno));
        return NULL;
    }
    /* a job's steps may run as other users (sudo -u): the command is for all of them */
    chmod(tmpl, 0755);
    mx_autofree char *link = mx_path_join(tmpl, "circleci");
    if (symlink(self, link) < 0) {
        fprintf(stderr, "mexec-agent: no circleci command: symlink: %s\n", strerror(errno));
        rmdir(tmpl);
        return NULL;
    }
    const char *path = getenv("PATH");
    mx_autofree char *np = mx_xasprintf("%s:%s", tmpl, path && *path ? path : "/usr/bin:/bin");
    setenv("PATH", np, 1);
    return mx_xstrdup(tmpl);
}
