/* agent_static: the agent as uploaded needs nothing from the guest.  Its ELF file asks for no
 * program interpreter and no shared library, is stripped (its debug info stays on the host,
 * named by .gnu_debuglink); and it speaks the protocol from inside an empty root directory that
 * holds nothing but the agent: no libc, no loader, no /etc, no /proc, no docker socket. */
#include "agent_harness.h"

#include <dirent.h>
#include <elf.h>
#include <sched.h>
#include <sys/stat.h>

typedef struct elf_facts {
    int interp;      /* a PT_INTERP program header */
    size_t needed;   /* DT_NEEDED entries */
    int symtab;      /* a .symtab section (not stripped) */
    char *debuglink; /* the file named by .gnu_debuglink, or NULL */
} elf_facts;

/* What the ELF file at path needs at run time.  Fails the test on anything but a well-formed
 * 64-bit ELF file. */
static void elf_inspect(const char *path, elf_facts *f)
{
    memset(f, 0, sizeof *f);
    mx_buf b;
    mx_buf_init(&b);
    mx_err err;
    if (mx_read_file(path, &b, &err) < 0) fail_msg("%s", err.msg);
    const unsigned char *d = (const unsigned char *)b.data;
    size_t n = b.len;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)d;
    if (n < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
        eh->e_phoff > n || eh->e_phnum > (n - eh->e_phoff) / sizeof(Elf64_Phdr))
        fail_msg("%s: not a 64-bit ELF file", path);
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(d + eh->e_phoff);
    for (size_t i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_INTERP) f->interp = 1;
        if (ph[i].p_type != PT_DYNAMIC) continue;
        if (ph[i].p_offset > n || ph[i].p_filesz > n - ph[i].p_offset)
            fail_msg("%s: PT_DYNAMIC outside the file", path);
        const Elf64_Dyn *dyn = (const Elf64_Dyn *)(d + ph[i].p_offset);
        for (size_t k = 0; k < ph[i].p_filesz / sizeof *dyn && dyn[k].d_tag != DT_NULL; k++)
            if (dyn[k].d_tag == DT_NEEDED) f->needed++;
    }
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > n ||
        eh->e_shnum > (n - eh->e_shoff) / sizeof(Elf64_Shdr) || eh->e_shstrndx >= eh->e_shnum)
        fail_msg("%s: bad section headers", path);
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(d + eh->e_shoff);
    const Elf64_Shdr *names = &sh[eh->e_shstrndx];
    if (names->sh_offset > n || names->sh_size > n - names->sh_offset)
        fail_msg("%s: section names outside the file", path);
    for (size_t i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_name >= names->sh_size) fail_msg("%s: bad section name", path);
        const char *name = (const char *)d + names->sh_offset + sh[i].sh_name;
        if (!memchr(name, '\0', names->sh_size - sh[i].sh_name))
            fail_msg("%s: unterminated section name", path);
        if (strcmp(name, ".symtab") == 0) f->symtab = 1;
        if (strcmp(name, ".gnu_debuglink") == 0 && sh[i].sh_offset < n && sh[i].sh_size > 0 &&
            sh[i].sh_size <= n - sh[i].sh_offset)
            f->debuglink = mx_xstrndup((const char *)d + sh[i].sh_offset, sh[i].sh_size);
    }
    mx_buf_free(&b);
}

static void test_no_loader_no_libraries(void **state)
{
    (void)state;
    elf_facts f;
    elf_inspect(MX_AGENT_PATH, &f);
    if (f.interp) fail_msg("%s asks for a program interpreter", MX_AGENT_PATH);
    if (f.needed) fail_msg("%s needs %zu shared libraries", MX_AGENT_PATH, f.needed);
    /* what is uploaded is stripped; the debug info is beside it on the host */
    assert_false(f.symtab);
    assert_non_null(f.debuglink);
    assert_string_equal(f.debuglink, "mexec-agent.debug");
    char *dir = mx_dirname(MX_AGENT_PATH);
    char *debug = mx_path_join(dir, f.debuglink);
    elf_facts g;
    elf_inspect(debug, &g);
    assert_true(g.symtab);
    free(g.debuglink);
    free(debug);
    free(dir);
    free(f.debuglink);

    /* the same inspection sees both in a dynamic executable (this test itself) */
    elf_inspect("/proc/self/exe", &f);
    assert_true(f.interp);
    assert_true(f.needed > 0);
    free(f.debuglink);
}

static void write_proc(const char *file, const char *text)
{
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        dprintf(2, "%s: %s\n", file, strerror(errno));
        _exit(125);
    }
    close(fd);
}

/* In the agent's child: the empty directory becomes its root (in a user namespace of its own
 * when the test does not run as root), and it inherits no environment. */
static void enter_root(void *arg)
{
    const char *root = arg;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (uid != 0) {
        if (unshare(CLONE_NEWUSER) < 0) {
            dprintf(2, "unshare(CLONE_NEWUSER): %s\n", strerror(errno));
            _exit(125);
        }
        char map[64];
        write_proc("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
        write_proc("/proc/self/uid_map", map);
        snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
        write_proc("/proc/self/gid_map", map);
    }
    if (chroot(root) < 0 || chdir("/") < 0) {
        dprintf(2, "chroot %s: %s\n", root, strerror(errno));
        _exit(125);
    }
    clearenv();
}

static void test_protocol_in_empty_root(void **state)
{
    (void)state;
    agent a;
    agent_init(&a);
    char *root = mx_path_join(a.dir, "root");
    tu_mkdir(root, 0755);
    char *copy = mx_path_join(root, "mexec-agent");
    mx_buf bin;
    mx_buf_init(&bin);
    mx_err err;
    if (mx_read_file(MX_AGENT_PATH, &bin, &err) < 0 ||
        mx_write_file(copy, bin.data, bin.len, 0755, &err) < 0)
        fail_msg("%s", err.msg);
    mx_buf_free(&bin);
    /* the only file there */
    DIR *dir = opendir(root);
    assert_non_null(dir);
    size_t entries = 0;
    for (struct dirent *e; (e = readdir(dir));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) entries++;
    closedir(dir);
    assert_int_equal(entries, 1);

    mx_kv env[] = {{"HOME", "/"}, {"MEXEC_DOCKER_WAIT_S", "0"}};
    agent_start_at(&a, "/mexec-agent", env, 2, enter_root, root);
    agent_hello(&a);

    /* no docker socket: the step fails with docker's own words, and the agent carries on */
    agent_result r;
    mx_msg check = {.type = MX_MSG_STEP,
                    .id = 1,
                    .kind = MX_STEP_DOCKER_CHECK,
                    .docker = {.username = "user", .password = "pw"}};
    agent_run(&a, &check, &r);
    assert_int_equal(r.end.exit_status, 1);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    tu_assert_contains(r.end.message,
                       "Cannot connect to the Docker daemon at unix:///var/run/docker.sock");
    tu_assert_contains(r.err.data, "Cannot connect to the Docker daemon");
    agent_result_free(&r);

    /* no shell, no /tmp: a run step cannot start, and says so */
    mx_msg run = {.type = MX_MSG_STEP, .id = 2, .kind = MX_STEP_RUN, .command = "true"};
    agent_run(&a, &run, &r);
    assert_int_not_equal(r.end.exit_status, 0);
    assert_int_equal(r.end.reason, MX_END_FAILED);
    assert_non_null(r.end.message);
    agent_result_free(&r);

    agent_bye(&a);
    agent_cleanup(&a);
    free(copy);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_loader_no_libraries),
        cmocka_unit_test(test_protocol_in_empty_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
