/* Instant starts: the snapshot key (snapshot.c), the per-restore copy of a libvirt save image
 * (save_image.c) and the seed channel's bundles (seed_chan.c). */
#include "test_util.h"

#include "mx_fs.h"
#include "save_image.h"
#include "seed_chan.h"
#include "snapshot.h"
#include "ssh.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const mx_snapshot_inputs base_inputs = {
    .image_dir = "/var/lib/mexec/images/debian-12/abc",
    .image_id = "sha-of-base",
    .agent_sha256 = "sha-of-agent",
    .domain_xml = "<domain>...</domain>",
    .qemu_id = "/usr/bin/qemu-system-x86_64 123 456.0",
    .files_sha256 = "",
};

static void key_of(const mx_snapshot_inputs *in, char out[65])
{
    mx_err err;
    if (mx_snapshot_key(in, out, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(strlen(out), 64);
    assert_int_equal(strspn(out, "0123456789abcdef"), 64);
}

/* Every input changes the key; the same inputs give the same key; moving bytes from one input
 * to the next does not collide. */
static void test_key(void **state)
{
    (void)state;
    char k0[65], k1[65], k[65];
    key_of(&base_inputs, k0);
    key_of(&base_inputs, k1);
    assert_string_equal(k0, k1);
    for (int i = 0; i < 6; i++) {
        mx_snapshot_inputs in = base_inputs;
        const char **f[] = {&in.image_dir,  &in.image_id, &in.agent_sha256,
                            &in.domain_xml, &in.qemu_id,  &in.files_sha256};
        *f[i] = "changed";
        key_of(&in, k);
        if (strcmp(k, k0) == 0) fail_msg("input %d does not change the key", i);
    }
    mx_snapshot_inputs a = base_inputs, b = base_inputs;
    a.image_id = "ab";
    a.agent_sha256 = "c";
    b.image_id = "a";
    b.agent_sha256 = "bc";
    key_of(&a, k0);
    key_of(&b, k1);
    assert_string_not_equal(k0, k1);
}

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* A save image as libvirt writes one: header, XML + cookie + padding, then the stream. */
static char *fake_save(const char *dir, const char *xml, const char *cookie, size_t pad,
                       const char *stream)
{
    size_t xl = strlen(xml) + 1, cl = cookie ? strlen(cookie) + 1 : 0;
    unsigned char head[MX_SAVE_HEADER_LEN] = {0};
    memcpy(head, "LibvirtQemudSave", 16); // NOLINT(bugprone-not-null-terminated-result)
    put32(head + 16, 2);
    put32(head + 20, (uint32_t)(xl + cl + pad));
    put32(head + 24, 0);
    put32(head + 28, 0);
    put32(head + 32, cookie ? (uint32_t)xl : 0);
    char *path = mx_path_join(dir, "src.save");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(mx_write_all(fd, head, sizeof head), 0);
    assert_int_equal(mx_write_all(fd, xml, xl), 0);
    if (cookie) assert_int_equal(mx_write_all(fd, cookie, cl), 0);
    char *zeros = calloc(1, pad + 1);
    assert_int_equal(mx_write_all(fd, zeros, pad), 0);
    free(zeros);
    assert_int_equal(mx_write_all(fd, stream, strlen(stream)), 0);
    close(fd);
    return path;
}

/* What libvirt reads from the FIFO: the job's header and XML, src's cookie, src's stream. */
static mx_buf read_fed(const char *src, const char *xml, mx_err *err, int *rc)
{
    char *dir = mx_dirname(src);
    char *fifo = mx_path_join(dir, "job.save");
    pid_t pid;
    mx_buf b;
    mx_buf_init(&b);
    *rc = mx_save_image_feed(src, fifo, xml, &pid, err);
    if (*rc == 0) {
        assert_int_equal(tu_mode(fifo) & 0777, 0600);
        struct stat st;
        assert_int_equal(lstat(fifo, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
        assert_int_equal(mx_read_file(fifo, &b, err), 0);
        assert_int_equal(mx_save_image_fed(pid, 1), 0);
        unlink(fifo);
    }
    free(fifo);
    free(dir);
    return b;
}

static void test_feed(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    const char *stream = "QEVM\x01\x02 the migration stream, copied byte for byte";
    const char *cookie = "<cookie>\n  <slirpHelper/>\n</cookie>\n";
    char *src = fake_save(dir, "<domain><name>snap</name></domain>\n", cookie, 4096, stream);
    mx_err err;
    char *xml = mx_save_image_xml(src, &err);
    assert_non_null(xml);
    assert_string_equal(xml, "<domain><name>snap</name></domain>\n");
    free(xml);
    const char *job_xml = "<domain><name>mexec-job</name><uuid>u</uuid> a longer XML </domain>";
    int rc;
    mx_buf b = read_fed(src, job_xml, &err, &rc);
    if (rc < 0) fail_msg("%s", err.msg);
    /* header: running, data = XML + cookie; then the cookie; then the stream unchanged */
    assert_true(b.len > MX_SAVE_HEADER_LEN);
    assert_memory_equal(b.data, "LibvirtQemudSave", 16);
    uint32_t v[5];
    memcpy(v, b.data + 16, sizeof v);
    size_t xl = strlen(job_xml) + 1;
    assert_int_equal(v[0], 2);
    assert_int_equal(v[1], xl + strlen(cookie) + 1);
    assert_int_equal(v[2], 1);
    assert_int_equal(v[3], 0);
    assert_int_equal(v[4], xl);
    assert_string_equal(b.data + MX_SAVE_HEADER_LEN, job_xml);
    assert_string_equal(b.data + MX_SAVE_HEADER_LEN + xl, cookie);
    size_t at = MX_SAVE_HEADER_LEN + v[1];
    assert_int_equal(b.len - at, strlen(stream));
    assert_memory_equal(b.data + at, stream, strlen(stream));
    mx_buf_free(&b);
    /* a reader that never comes (libvirt failed first): the feeder is ended, not left waiting */
    char *fifo = mx_path_join(dir, "never.save");
    pid_t pid;
    assert_int_equal(mx_save_image_feed(src, fifo, job_xml, &pid, &err), 0);
    assert_int_equal(mx_save_image_fed(pid, 0), -1);
    /* the FIFO exists: never replaced */
    assert_int_equal(mx_save_image_feed(src, fifo, job_xml, &pid, &err), -1);
    free(fifo);
    free(src);
    tu_rmdir(dir);
}

static void test_feed_refuses(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_err err;
    int rc;
    char *junk = tu_write(dir, "junk.save",
                          "not a save image at all, but long enough to read a "
                          "whole header from it if one tried: 92 bytes.......");
    mx_buf b = read_fed(junk, "<domain/>", &err, &rc);
    assert_int_equal(rc, -1);
    tu_assert_contains(err.msg, "is not a libvirt QEMU save image");
    mx_buf_free(&b);
    /* compressed images (virsh save with a compression format) are not ours */
    char *src = fake_save(dir, "<domain/>", NULL, 0, "stream");
    int fd = open(src, O_WRONLY);
    unsigned char one[4];
    put32(one, 1);
    assert_int_equal(pwrite(fd, one, 4, 28), 4);
    close(fd);
    b = read_fed(src, "<domain/>", &err, &rc);
    assert_int_equal(rc, -1);
    tu_assert_contains(err.msg, "unsupported save image");
    /* data_len beyond any XML libvirt writes */
    fd = open(src, O_WRONLY);
    put32(one, 0);
    assert_int_equal(pwrite(fd, one, 4, 28), 4);
    put32(one, 0x7fffffff);
    assert_int_equal(pwrite(fd, one, 4, 20), 4);
    close(fd);
    b = read_fed(src, "<domain/>", &err, &rc);
    assert_int_equal(rc, -1);
    tu_assert_contains(err.msg, "unsupported save image");
    char *fifo = mx_path_join(dir, "job.save");
    assert_false(mx_path_exists(fifo));
    free(fifo);
    free(src);
    free(junk);
    tu_rmdir(dir);
}

static void test_bundle(void **state)
{
    (void)state;
    mx_chan_file f[] = {{"hostname", "mexec-1\n", 8}, {"empty", "", 0}, {"bin", "a\nb\0c", 5}};
    size_t len;
    char *b = mx_chan_encode(f, 3, &len);
    const char want[] = "file hostname 8\nmexec-1\nfile empty 0\nfile bin 5\na\nb\0cend\n";
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(b, want, len);
    free(b);
}

/* The host's end over a socketpair standing in for QEMU's connection. */
static void test_channel_lines(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[1], "mexec-seed ready stage\nmexec-seed staged\nbogus\n", 48), 48);
    mx_err err;
    volatile sig_atomic_t stop = 0;
    long long deadline = mx_now_ms() + 5000;
    assert_int_equal(mx_chan_expect(sv[0], "mexec-seed ready stage", deadline, &stop, &err), 0);
    assert_int_equal(mx_chan_expect(sv[0], "mexec-seed staged", deadline, &stop, &err), 0);
    assert_int_equal(mx_chan_expect(sv[0], "mexec-seed done", deadline, &stop, &err), -1);
    tu_assert_contains(err.msg, "the guest said \"bogus\"");
    /* nothing more: the deadline ends the wait */
    assert_int_equal(mx_chan_expect(sv[0], "x", mx_now_ms() + 300, &stop, &err), -1);
    tu_assert_contains(err.msg, "timed out");
    /* the guest going away */
    close(sv[1]);
    assert_int_equal(mx_chan_expect(sv[0], "x", mx_now_ms() + 1000, &stop, &err), -1);
    tu_assert_contains(err.msg, "closed");
    close(sv[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key),           cmocka_unit_test(test_feed),
        cmocka_unit_test(test_feed_refuses),  cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_channel_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
