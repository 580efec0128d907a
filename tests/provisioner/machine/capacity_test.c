/* capacity: the admission arithmetic, usage summed from libvirt's test driver (in-process, no
 * daemon), and the admission lock and wait, driven through the on_wait hook rather than by
 * timing. */
#include "test_util.h"

#include "capacity.h"
#include "mx_buf.h"
#include "sink.h"
#include "vm.h"
#include "vm_xml.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>

/* ---- pure logic ---- */

static void test_total_defaults_follow_host(void **state)
{
    (void)state;
    mx_host_config hc = {0};
    mx_host_caps caps = {.cpus = 8, .memory_mib = 16384, .arch = "x86_64"};
    mx_cap t = mx_capacity_total(&hc, &caps);
    assert_int_equal(t.vcpus, 8);
    assert_int_equal(t.memory_mib, 16384 - 1024);
    /* a small host keeps a floor rather than a useless (or negative) capacity */
    caps.memory_mib = 1200;
    t = mx_capacity_total(&hc, &caps);
    assert_int_equal(t.memory_mib, 512);
    caps.memory_mib = 0; /* sysinfo failed */
    t = mx_capacity_total(&hc, &caps);
    assert_int_equal(t.memory_mib, 512);
}

static void test_total_explicit_values_win(void **state)
{
    (void)state;
    mx_host_caps caps = {.cpus = 2, .memory_mib = 4096, .arch = "x86_64"};
    /* above the host: a deliberate overcommit, taken as given */
    mx_host_config hc = {.capacity_vcpus = 16, .capacity_memory_mib = 65536};
    mx_cap t = mx_capacity_total(&hc, &caps);
    assert_int_equal(t.vcpus, 16);
    assert_int_equal(t.memory_mib, 65536);
    /* one set, the other defaulted */
    hc = (mx_host_config){.capacity_memory_mib = 1000};
    t = mx_capacity_total(&hc, &caps);
    assert_int_equal(t.vcpus, 2);
    assert_int_equal(t.memory_mib, 1000);
    hc = (mx_host_config){.capacity_vcpus = 1};
    t = mx_capacity_total(&hc, &caps);
    assert_int_equal(t.vcpus, 1);
    assert_int_equal(t.memory_mib, 3072);
}

static void test_fits(void **state)
{
    (void)state;
    mx_cap total = {4, 8192};
    assert_true(mx_capacity_fits((mx_cap){2, 4096}, (mx_cap){0, 0}, total));
    assert_true(mx_capacity_fits((mx_cap){2, 4096}, (mx_cap){2, 4096}, total)); /* exactly full */
    assert_false(mx_capacity_fits((mx_cap){2, 4096}, (mx_cap){3, 0}, total));
    assert_false(mx_capacity_fits((mx_cap){2, 4096}, (mx_cap){0, 4097}, total));
    assert_false(mx_capacity_fits((mx_cap){1, 1}, (mx_cap){5, 9000}, total)); /* overcommitted */
}

static void test_check_size(void **state)
{
    (void)state;
    mx_cap total = {2, 3072};
    mx_err err = {0};
    assert_int_equal(mx_capacity_check_size("small", (mx_cap){2, 3072}, total, &err), 0);
    assert_int_equal(mx_capacity_check_size("large", (mx_cap){4, 2048}, total, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    tu_assert_contains(err.msg, "resource class large (4 vCPUs, 2048 MiB) is larger than this "
                                "host's capacity (2 vCPUs, 3072 MiB)");
    tu_assert_contains(err.msg, "capacity: {vcpus: N, memory_mib: M} in host.yaml");
    mx_err_clear(&err);
    assert_int_equal(mx_capacity_check_size("medium", (mx_cap){2, 7680}, total, &err), -1);
    tu_assert_contains(err.msg, "resource class medium (2 vCPUs, 7680 MiB)");
}

static void test_wait_message(void **state)
{
    (void)state;
    char *m =
        mx_capacity_wait_message("build", (mx_cap){2, 7680}, (mx_cap){1, 1024}, (mx_cap){2, 8192});
    assert_string_equal(m, "job build: waiting for capacity: needs 2 vCPUs/7680 MiB, in "
                           "use 1 vCPUs/1024 MiB of 2 vCPUs/8192 MiB");
    free(m);
}

/* ---- against libvirt's test driver ---- */

typedef struct fixture {
    char *dir;
    mx_host_config hc;
    virConnectPtr conn;
} fixture;

static int setup(void **state)
{
    fixture *f = mx_xcalloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->hc.state_dir = mx_path_join(f->dir, "jobs");
    mx_virt_quiet();
    f->conn = virConnectOpen("test:///default");
    assert_non_null(f->conn);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    /* test:///default is shared by the process's connections: leave nothing for the next test */
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(f->conn, &doms, 0);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        if (strncmp(virDomainGetName(doms[i]), "mx-", 3) == 0) {
            if (virDomainIsActive(doms[i]) == 1) virDomainDestroy(doms[i]);
            if (virDomainIsPersistent(doms[i]) == 1) virDomainUndefine(doms[i]);
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    virConnectClose(f->conn);
    free(f->hc.state_dir);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Defines a domain of the given size, tagged as mexec's unless tagged is 0, and starts it
 * unless start is 0. */
static virDomainPtr add_domain(fixture *f, const char *name, int vcpus, int mib, int tagged,
                               int start)
{
    mx_vm_spec s = {.job_id = name,
                    .job_name = "job",
                    .job_dir = "/nonexistent",
                    .owner_pid = 1,
                    .ssh_port = 2222};
    char *meta = tagged ? mx_vm_metadata_xml(&s) : mx_xstrdup("");
    char *xml = mx_xasprintf("<domain type='test'><name>%s</name><metadata>%s</metadata>"
                             "<memory unit='MiB'>%d</memory><vcpu>%d</vcpu>"
                             "<os><type>hvm</type></os></domain>",
                             name, meta, mib, vcpus);
    virDomainPtr d = virDomainDefineXML(f->conn, xml);
    if (!d) fail_msg("define %s: %s", name, mx_virt_error());
    if (start && virDomainCreate(d) < 0) fail_msg("start %s: %s", name, mx_virt_error());
    free(xml);
    free(meta);
    return d;
}

static int count_all(const mx_vm_entry *e, void *n, mx_err *err)
{
    (void)e, (void)err;
    (*(int *)n)++;
    return 0;
}

typedef struct seen {
    char *id, *pid, *port;
} seen;

static int read_fields(const mx_vm_entry *e, void *ud, mx_err *err)
{
    (void)err;
    seen *s = ud;
    assert_null(s->id); /* one domain only */
    s->id = mx_vm_metadata_field(e->meta, "id");
    s->pid = mx_vm_metadata_field(e->meta, "owner-pid");
    s->port = mx_vm_metadata_field(e->meta, "ssh-port");
    return 0;
}

/* gc and ps read our fields from what libvirt returns, which is not the XML we gave it */
static void test_walk_reads_metadata_back(void **state)
{
    fixture *f = *state;
    virDomainFree(add_domain(f, "mx-fields", 1, 256, 1, 1));
    seen s = {0};
    mx_err err = {0};
    if (mx_vm_list_each(f->conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE, read_fields, &s, &err) < 0)
        fail_msg("%s", err.msg);
    assert_non_null(s.id);
    assert_string_equal(s.id, "mx-fields");
    assert_non_null(s.pid);
    assert_string_equal(s.pid, "1");
    assert_non_null(s.port);
    assert_string_equal(s.port, "2222");
    free(s.id);
    free(s.pid);
    free(s.port);
}

static void test_usage_counts_running_mexec_domains(void **state)
{
    fixture *f = *state;
    mx_err err = {0};
    mx_cap used = {-1, -1};
    /* the driver's own running "test" domain carries no mexec metadata */
    if (mx_capacity_usage(f->conn, &used, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(used.vcpus, 0);
    assert_int_equal(used.memory_mib, 0);

    virDomainFree(add_domain(f, "mx-a", 2, 1024, 1, 1));
    virDomainFree(add_domain(f, "mx-b", 1, 3000, 1, 1));
    virDomainFree(add_domain(f, "mx-stopped", 8, 8192, 1, 0));
    virDomainFree(add_domain(f, "mx-foreign", 4, 4096, 0, 1));
    if (mx_capacity_usage(f->conn, &used, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(used.vcpus, 3);
    assert_int_equal(used.memory_mib, 4024);

    /* the walk itself (gc's view) also sees the stopped one, never the foreign one */
    int n = 0;
    if (mx_vm_list_each(f->conn, 0, count_all, &n, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(n, 3);
}

static char *lock_path(const fixture *f)
{
    return mx_path_join(f->dir, "capacity.lock");
}

/* 1 if another open file description can take the admission lock right now. */
static int lock_free(const fixture *f)
{
    char *path = lock_path(f);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    free(path);
    assert_true(fd >= 0);
    int ok = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return ok;
}

typedef struct hook {
    volatile sig_atomic_t stop;
    int calls;
    int stop_at; /* set stop on this call (0: never) */
    int free_at; /* destroy `blocker` on this call (0: never) */
    virDomainPtr blocker;
    const fixture *f; /* set: record whether the lock is free while admission waits */
    int lock_was_free;
} hook;

static void on_wait(void *ud)
{
    hook *h = ud;
    h->calls++;
    if (h->f) h->lock_was_free = lock_free(h->f);
    if (h->calls == h->stop_at) h->stop = 1;
    if (h->calls == h->free_at && virDomainDestroy(h->blocker) < 0)
        fail_msg("destroy blocker: %s", mx_virt_error());
}

static int admit(fixture *f, hook *h, int vcpus, int mib, int *fd, mx_err *err)
{
    mx_cap_wait w = {.stop = &h->stop, .on_wait = on_wait, .ud = h};
    return mx_capacity_admit(f->conn, &f->hc, "build", "test.small", (mx_cap){vcpus, mib}, &w, fd,
                             err);
}

static void test_admit_waits_while_another_process_holds_the_lock(void **state)
{
    fixture *f = *state;
    f->hc.capacity_vcpus = 4;
    f->hc.capacity_memory_mib = 4096;
    int ready[2], release[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(release), 0);
    char *path = lock_path(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(release[1]); /* else the read below never sees the parent's end close */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(ready[1], "x", 1) != 1) _exit(1);
        char c;
        (void)read(release[0], &c, 1); /* until the parent closes its end */
        _exit(0);
    }
    free(path);
    close(ready[1]);
    close(release[0]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);

    /* room enough: only the lock holds it back; the hook runs only if admission waits */
    hook h = {.stop_at = 1};
    int fd = -1;
    mx_err err = {0};
    assert_int_equal(admit(f, &h, 1, 512, &fd, &err), -1);
    assert_int_equal(h.calls, 1);
    assert_int_equal(fd, -1);
    assert_int_equal(err.status, MX_INFRA);
    assert_string_equal(err.msg, "interrupted while waiting for capacity");

    close(release[1]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* the holder gone, admission takes the lock at once and keeps it until released */
    h = (hook){.stop_at = 1};
    if (admit(f, &h, 1, 512, &fd, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(h.calls, 0);
    assert_true(fd >= 0);
    assert_false(lock_free(f));
    mx_capacity_release(&fd);
    assert_int_equal(fd, -1);
    assert_true(lock_free(f));
    mx_capacity_release(&fd); /* twice is harmless */
}

/* The notes admission sends to the sink (sink.h), one per line. */
static void note_to_buf(void *ud, const char *text)
{
    mx_buf_adds(ud, text);
    mx_buf_adds(ud, "\n");
}

/* Runs admission with a sink that keeps its notes; returns what it said. */
static char *admit_capturing_notes(fixture *f, hook *h, int vcpus, int mib, int *rc, int *fd,
                                   mx_err *err)
{
    mx_buf notes;
    mx_buf_init(&notes);
    mx_sink sink = {.ud = &notes, .note = note_to_buf};
    mx_sink_set(&sink);
    *rc = admit(f, h, vcpus, mib, fd, err);
    mx_sink_set(NULL);
    char *text = mx_xstrdup(notes.data ? notes.data : "");
    mx_buf_free(&notes);
    return text;
}

static int occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_admit_waits_for_room(void **state)
{
    fixture *f = *state;
    f->hc.capacity_vcpus = 2;
    f->hc.capacity_memory_mib = 4096;
    hook h = {.stop_at = 1, .f = f};
    h.blocker = add_domain(f, "mx-busy", 2, 1024, 1, 1);
    const char *want = "job build: waiting for capacity: needs 1 vCPUs/512 MiB, in use "
                       "2 vCPUs/1024 MiB of 2 vCPUs/4096 MiB\n";

    /* full: it waits, says so, and gives up when stopped */
    int rc, fd = -1;
    mx_err err = {0};
    char *text = admit_capturing_notes(f, &h, 1, 512, &rc, &fd, &err);
    assert_int_equal(rc, -1);
    assert_string_equal(err.msg, "interrupted while waiting for capacity");
    assert_string_equal(text, want);
    free(text);
    assert_true(h.lock_was_free); /* a waiting process does not sit on the lock */

    /* it keeps retrying, saying so only once, and is admitted when the busy VM goes away */
    h = (hook){.free_at = 2, .stop_at = 10, .blocker = h.blocker};
    text = admit_capturing_notes(f, &h, 1, 512, &rc, &fd, &err);
    if (rc < 0) fail_msg("%s", err.msg);
    assert_int_equal(h.calls, 2);
    assert_int_equal(occurrences(text, "waiting for capacity"), 1);
    assert_string_equal(text, want);
    free(text);
    mx_capacity_release(&fd);
    virDomainFree(h.blocker);
}

static int free_blocker(const void *ud)
{
    hook *h = (hook *)ud;
    h->calls++;
    if (virDomainDestroy(h->blocker) < 0) fail_msg("destroy blocker: %s", mx_virt_error());
    return 1;
}

/* idle warm spares (spare.h) give way: make_room runs before any wait, and admission looks
 * again at once */
static void test_admit_makes_room_before_waiting(void **state)
{
    fixture *f = *state;
    f->hc.capacity_vcpus = 2;
    f->hc.capacity_memory_mib = 4096;
    hook h = {.stop_at = 1};
    h.blocker = add_domain(f, "mx-spare", 2, 1024, 1, 1);
    hook room = {.blocker = h.blocker};
    mx_cap_wait w = {
        .stop = &h.stop, .on_wait = on_wait, .ud = &h, .make_room = free_blocker, .room_ud = &room};
    int fd = -1;
    mx_err err = {0};
    if (mx_capacity_admit(f->conn, &f->hc, "build", "test.small", (mx_cap){1, 512}, &w, &fd, &err) <
        0)
        fail_msg("%s", err.msg);
    assert_int_equal(room.calls, 1);
    assert_int_equal(h.calls, 0); /* never waited */
    mx_capacity_release(&fd);
    virDomainFree(h.blocker);
}

/* a warm spare is made only in idle room: no wait, no note */
static void test_admit_no_wait_fails_when_full(void **state)
{
    fixture *f = *state;
    f->hc.capacity_vcpus = 2;
    f->hc.capacity_memory_mib = 4096;
    hook h = {.stop_at = 5};
    virDomainPtr busy = add_domain(f, "mx-busy", 2, 1024, 1, 1);
    mx_cap_wait w = {.stop = &h.stop, .on_wait = on_wait, .ud = &h, .no_wait = 1};
    int fd = -1;
    mx_err err = {0};
    assert_int_equal(
        mx_capacity_admit(f->conn, &f->hc, "spare", "test.small", (mx_cap){1, 512}, &w, &fd, &err),
        -1);
    assert_int_equal(h.calls, 0);
    assert_int_equal(fd, -1);
    tu_assert_contains(err.msg, "no room: 2 vCPUs/1024 MiB in use of 2/4096");
    virDomainFree(busy);
}

static void test_admit_refuses_what_never_fits(void **state)
{
    fixture *f = *state;
    f->hc.capacity_vcpus = 2;
    f->hc.capacity_memory_mib = 4096;
    hook h = {.stop_at = 1};
    int fd = -1;
    mx_err err = {0};
    assert_int_equal(admit(f, &h, 4, 512, &fd, &err), -1);
    assert_int_equal(h.calls, 0); /* failed at once, no waiting */
    assert_int_equal(fd, -1);
    assert_int_equal(err.status, MX_INFRA);
    tu_assert_contains(err.msg, "resource class test.small (4 vCPUs, 512 MiB) is larger than this "
                                "host's capacity (2 vCPUs, 4096 MiB)");
}

static void test_admit_stopped_before_it_starts(void **state)
{
    fixture *f = *state;
    f->hc.capacity_vcpus = 2;
    f->hc.capacity_memory_mib = 4096;
    hook h = {.stop = 1};
    int fd = -1;
    mx_err err = {0};
    assert_int_equal(admit(f, &h, 1, 512, &fd, &err), -1);
    assert_string_equal(err.msg, "interrupted while waiting for capacity");
    assert_int_equal(fd, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_defaults_follow_host),
        cmocka_unit_test(test_total_explicit_values_win),
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_check_size),
        cmocka_unit_test(test_wait_message),
        cmocka_unit_test_setup_teardown(test_usage_counts_running_mexec_domains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_reads_metadata_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admit_waits_while_another_process_holds_the_lock,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_admit_waits_for_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admit_refuses_what_never_fits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admit_makes_room_before_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admit_no_wait_fails_when_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admit_stopped_before_it_starts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
