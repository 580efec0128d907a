/* The guest's half of an instant start's identity (guest-agent/agent_identity.h): bundles as the
 * host's seed channel encodes them (provisioner/machine/seed_chan.h) read back field by field,
 * every malformed or incomplete bundle refused with its reason, and the files written through
 * into a scratch root, owners' modes kept.  The kernel's part (clock, RNG, hostname) changes
 * the machine the test runs on: the VM tests (tests/vm/instant_start_test.sh) check it in a
 * guest. */
#include "test_util.h"

#include "agent_identity.h"
#include "seed_chan.h"

#include <fcntl.h>
#include <sys/wait.h>

#define HOST_KEY "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
#define HOST_PUB "ssh-ed25519 AAAAhost mexec\n"
#define AUTH "ssh-ed25519 AAAAclient job\n"
#define CLOCK "1764576000.123456789"
#define RANDOM64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* Reads back what a writer puts on a pipe: the bundle bytes, possibly cut short. */
static int read_bytes_as(int refresh, const char *bytes, size_t len, mx_identity *id, mx_err *err)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        /* in pieces, as a virtio port delivers them */
        for (size_t at = 0; at < len; at += 7) {
            size_t n = len - at < 7 ? len - at : 7;
            if (write(p[1], bytes + at, n) != (ssize_t)n) _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    int rc = mx_identity_read(p[0], refresh, id, err);
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return rc;
}

static int read_bytes(const char *bytes, size_t len, mx_identity *id, mx_err *err)
{
    return read_bytes_as(0, bytes, len, id, err);
}

static int read_files(const mx_chan_file *f, size_t n, mx_identity *id, mx_err *err)
{
    size_t len;
    char *b = mx_chan_encode(f, n, &len);
    int rc = read_bytes(b, len, id, err);
    free(b);
    return rc;
}

/* The six files the host sends (vm_restore.c), with one replaced or left out. */
static int read_with(const char *name, const char *value, mx_identity *id, mx_err *err)
{
    mx_chan_file all[] = {{"ssh_host_ed25519_key", HOST_KEY, 0},
                          {"ssh_host_ed25519_key_pub", HOST_PUB, 0},
                          {"authorized_keys", AUTH, 0},
                          {"hostname", "mexec-0123abcd\n", 0},
                          {"clock", CLOCK, 0},
                          {"random", RANDOM64, 0}};
    mx_chan_file f[6];
    size_t n = 0;
    for (size_t i = 0; i < 6; i++) {
        if (name && strcmp(all[i].name, name) == 0) {
            if (!value) continue;
            all[i].data = value;
        }
        all[i].len = strlen(all[i].data);
        f[n++] = all[i];
    }
    return read_files(f, n, id, err);
}

static void test_reads_what_the_host_sends(void **state)
{
    (void)state;
    mx_identity id;
    mx_err err;
    assert_int_equal(read_with(NULL, NULL, &id, &err), 0);
    assert_int_equal(id.host_key.len, strlen(HOST_KEY));
    assert_memory_equal(id.host_key.data, HOST_KEY, strlen(HOST_KEY));
    assert_memory_equal(id.host_key_pub.data, HOST_PUB, strlen(HOST_PUB));
    assert_memory_equal(id.authorized_keys.data, AUTH, strlen(AUTH));
    assert_string_equal(id.hostname, "mexec-0123abcd");
    assert_int_equal(id.clock.tv_sec, 1764576000);
    assert_int_equal(id.clock.tv_nsec, 123456789);
    assert_int_equal(id.random_len, 32);
    assert_int_equal(id.random[0], 0x00);
    assert_int_equal(id.random[1], 0x11);
    assert_int_equal(id.random[15], 0xff);
    mx_identity_free(&id);
}

static void test_hostname_is_cut_to_safe_characters(void **state)
{
    (void)state;
    mx_identity id;
    mx_err err;
    assert_int_equal(read_with("hostname", "a b;c/../$(x)\n", &id, &err), 0);
    assert_string_equal(id.hostname, "abc..x");
    mx_identity_free(&id);
    char longname[200];
    memset(longname, 'h', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(read_with("hostname", longname, &id, &err), 0);
    assert_int_equal(strlen(id.hostname), 63);
    mx_identity_free(&id);
    /* no hostname at all is fine: the image's stays */
    assert_int_equal(read_with("hostname", NULL, &id, &err), 0);
    assert_string_equal(id.hostname, "");
    mx_identity_free(&id);
}

static void test_names_it_does_not_know_are_skipped(void **state)
{
    (void)state;
    mx_chan_file f[] = {{"from_a_newer_host", "whatever\nwith lines", 19},
                        {"ssh_host_ed25519_key", HOST_KEY, strlen(HOST_KEY)},
                        {"ssh_host_ed25519_key_pub", HOST_PUB, strlen(HOST_PUB)},
                        {"authorized_keys", AUTH, strlen(AUTH)},
                        {"clock", CLOCK, strlen(CLOCK)},
                        {"random", RANDOM64, strlen(RANDOM64)}};
    mx_identity id;
    mx_err err;
    assert_int_equal(read_files(f, 6, &id, &err), 0);
    assert_memory_equal(id.authorized_keys.data, AUTH, strlen(AUTH));
    mx_identity_free(&id);
}

static void expect_refused(const char *name, const char *value, const char *why)
{
    mx_identity id;
    mx_err err;
    assert_int_equal(read_with(name, value, &id, &err), -1);
    tu_assert_contains(err.msg, why);
}

static void test_incomplete_or_malformed_identities_are_refused(void **state)
{
    (void)state;
    expect_refused("ssh_host_ed25519_key", NULL, "lacks the SSH host key");
    expect_refused("ssh_host_ed25519_key_pub", "", "lacks the SSH host key");
    expect_refused("authorized_keys", NULL, "lacks authorized_keys");
    expect_refused("clock", NULL, "lacks the clock");
    expect_refused("random", NULL, "lacks the random seed");
    expect_refused("clock", "1764576000", "SECONDS.NANOSECONDS");
    expect_refused("clock", "1764576000.12345", "SECONDS.NANOSECONDS");
    expect_refused("clock", "-1.123456789", "SECONDS.NANOSECONDS");
    expect_refused("clock", "17645760001234567890.123456789", "SECONDS.NANOSECONDS");
    expect_refused("random", "0011", "32-128 bytes of hex");
    expect_refused("random", RANDOM64 "0", "32-128 bytes of hex");
    expect_refused("random", "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                   "32-128 bytes of hex");
}

static void expect_bytes_refused(const char *bytes, size_t len, const char *why)
{
    mx_identity id;
    mx_err err;
    assert_int_equal(read_bytes(bytes, len, &id, &err), -1);
    tu_assert_contains(err.msg, why);
}

static void test_broken_bundles_are_refused(void **state)
{
    (void)state;
    const char *s;
    s = "hello\n";
    expect_bytes_refused(s, strlen(s), "unexpected line on the seed channel: hello");
    s = "file Bad_Name 3\nabc";
    expect_bytes_refused(s, strlen(s), "bad file header");
    s = "file clock -3\n";
    expect_bytes_refused(s, strlen(s), "bad file header");
    s = "file clock 3x\n";
    expect_bytes_refused(s, strlen(s), "bad file header");
    s = "file clock 999999\n";
    expect_bytes_refused(s, strlen(s), "too large");
    s = "file clock 20\n123"; /* the host went away mid-file */
    expect_bytes_refused(s, strlen(s), "the seed channel closed");
    s = ""; /* and before anything */
    expect_bytes_refused(s, 0, "the seed channel closed");
    /* a line longer than any header */
    char line[400];
    memset(line, 'f', sizeof line);
    expect_bytes_refused(line, sizeof line, "too long");
    /* more files than any identity has */
    mx_buf b;
    mx_buf_init(&b);
    for (int i = 0; i < MX_IDENTITY_MAX_FILES + 1; i++)
        mx_buf_printf(&b, "file extra%d 1\nx", i);
    mx_buf_adds(&b, "end\n");
    expect_bytes_refused(b.data, b.len, "too many files");
    mx_buf_free(&b);
}

/* A scratch root as mexec-seed's stage leaves it: the key files and authorized_keys exist with
 * their modes. */
static char *stage_root(const char *hosts)
{
    char *root = tu_mkdtemp();
    tu_write_free(root, "etc/ssh/ssh_host_ed25519_key", "placeholder private\n");
    tu_write_free(root, "etc/ssh/ssh_host_ed25519_key.pub", "placeholder public\n");
    tu_write_free(root, "etc/hostname", "image\n");
    tu_write_free(root, "etc/hosts", hosts);
    tu_write_free(root, "home/circleci/.ssh/authorized_keys", "");
    char *p = mx_path_join(root, "etc/ssh/ssh_host_ed25519_key");
    assert_int_equal(chmod(p, 0600), 0);
    free(p);
    p = mx_path_join(root, "home/circleci/.ssh/authorized_keys");
    assert_int_equal(chmod(p, 0600), 0);
    free(p);
    return root;
}

static void write_identity(const char *root, int with_hostname, int want_rc)
{
    mx_identity id;
    mx_err err;
    assert_int_equal(read_with(with_hostname ? NULL : "hostname", NULL, &id, &err), 0);
    char *auth = mx_path_join(root, "home/circleci/.ssh/authorized_keys");
    int rc = mx_identity_write_files(&id, root, auth, &err);
    if (rc != want_rc) fail_msg("write_files returned %d: %s", rc, err.msg);
    free(auth);
    mx_identity_free(&id);
}

/* a warm spare's refresh: clock and random only; keys all or none; the host closing the
 * channel between bundles is no error */
static void test_refreshes_and_the_end(void **state)
{
    (void)state;
    mx_identity id;
    mx_err err;
    mx_chan_file f[] = {{"clock", CLOCK, strlen(CLOCK)}, {"random", RANDOM64, strlen(RANDOM64)}};
    size_t len;
    char *b = mx_chan_encode(f, 2, &len);
    assert_int_equal(read_bytes_as(1, b, len, &id, &err), 0);
    assert_int_equal(id.clock.tv_sec, 1764576000);
    assert_int_equal(id.random_len, 32);
    assert_int_equal(id.host_key.len, 0);
    mx_identity_free(&id);
    /* the first bundle needs the keys */
    assert_int_equal(read_bytes_as(0, b, len, &id, &err), -1);
    tu_assert_contains(err.msg, "lacks the SSH host key");
    free(b);
    mx_chan_file half[] = {{"authorized_keys", AUTH, strlen(AUTH)},
                           {"clock", CLOCK, strlen(CLOCK)},
                           {"random", RANDOM64, strlen(RANDOM64)}};
    b = mx_chan_encode(half, 3, &len);
    assert_int_equal(read_bytes_as(1, b, len, &id, &err), -1);
    tu_assert_contains(err.msg, "lacks the SSH host key");
    free(b);
    assert_int_equal(read_bytes_as(1, "", 0, &id, &err), 1);
    assert_int_equal(read_bytes_as(1, "file clock 3\n12", 15, &id, &err), -1);
    tu_assert_contains(err.msg, "closed");
}

static void test_files_are_written_through_keeping_modes(void **state)
{
    (void)state;
    char *root =
        stage_root("127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost\n");
    write_identity(root, 1, 0);
    tu_assert_file(root, "etc/ssh/ssh_host_ed25519_key", HOST_KEY);
    tu_assert_file(root, "etc/ssh/ssh_host_ed25519_key.pub", HOST_PUB);
    tu_assert_file(root, "home/circleci/.ssh/authorized_keys", AUTH);
    tu_assert_file(root, "etc/hostname", "mexec-0123abcd\n");
    tu_assert_file(
        root, "etc/hosts",
        "127.0.0.1\tlocalhost\n127.0.1.1\tmexec-0123abcd\n::1\tlocalhost ip6-localhost\n");
    char *p = mx_path_join(root, "etc/ssh/ssh_host_ed25519_key");
    assert_int_equal(tu_mode(p), 0600);
    free(p);
    p = mx_path_join(root, "home/circleci/.ssh/authorized_keys");
    assert_int_equal(tu_mode(p), 0600);
    free(p);
    tu_rmdir(root);
}

static void test_hosts_without_the_line_gets_it(void **state)
{
    (void)state;
    char *root = stage_root("127.0.0.1 localhost\n127.0.1.10 other");
    write_identity(root, 1, 0);
    tu_assert_file(root, "etc/hosts",
                   "127.0.0.1 localhost\n127.0.1.10 other\n127.0.1.1\tmexec-0123abcd\n");
    tu_rmdir(root);
    /* without a hostname neither file changes */
    root = stage_root("127.0.1.1 debian\n");
    write_identity(root, 0, 0);
    tu_assert_file(root, "etc/hosts", "127.0.1.1 debian\n");
    tu_assert_file(root, "etc/hostname", "image\n");
    tu_rmdir(root);
}

static void test_missing_or_symlinked_files_are_refused(void **state)
{
    (void)state;
    char *root = stage_root("");
    char *key = mx_path_join(root, "etc/ssh/ssh_host_ed25519_key");
    char *elsewhere = tu_write(root, "elsewhere", "keep me\n");
    assert_int_equal(unlink(key), 0);
    write_identity(root, 1, -1); /* stage did not run: nothing is created */
    assert_int_equal(access(key, F_OK), -1);
    assert_int_equal(symlink(elsewhere, key), 0);
    write_identity(root, 1, -1);
    tu_assert_file(root, "elsewhere", "keep me\n");
    free(key);
    free(elsewhere);
    tu_rmdir(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_what_the_host_sends),
        cmocka_unit_test(test_hostname_is_cut_to_safe_characters),
        cmocka_unit_test(test_names_it_does_not_know_are_skipped),
        cmocka_unit_test(test_incomplete_or_malformed_identities_are_refused),
        cmocka_unit_test(test_broken_bundles_are_refused),
        cmocka_unit_test(test_refreshes_and_the_end),
        cmocka_unit_test(test_files_are_written_through_keeping_modes),
        cmocka_unit_test(test_hosts_without_the_line_gets_it),
        cmocka_unit_test(test_missing_or_symlinked_files_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
