/* spare_proto: the lines and descriptors a warm spare's holder and its claimer exchange. */
#include "test_util.h"

#include "spare_proto.h"
#include "ssh.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* a line with two descriptors arrives whole; they are open, close-on-exec, and the same files */
static void test_line_with_descriptors(void **state)
{
    (void)state;
    int sv[2], p[2];
    pair(sv);
    assert_int_equal(pipe(p), 0);
    int give[2] = {p[0], p[1]};
    mx_err err = {0};
    assert_int_equal(mx_spare_send(sv[0], "spare 40222\n", give, 2, &err), 0);
    char line[32];
    int fds[MX_SPARE_MAX_FDS], n = -1;
    if (mx_spare_recv(sv[1], line, sizeof line, fds, &n, mx_now_ms() + 5000, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(line, "spare 40222");
    assert_int_equal(n, 2);
    assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(fds[1], "x", 1), 1); /* the received write end feeds our read end */
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'x');
    for (int i = 0; i < 2; i++) {
        close(fds[i]);
        close(p[i]);
        close(sv[i]);
    }
}

/* the next message stays for the next call */
static void test_two_lines_in_one_write(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    assert_int_equal(write(sv[0], "claim\nend\n", 10), 10);
    char line[16];
    int fds[MX_SPARE_MAX_FDS], n;
    mx_err err = {0};
    assert_int_equal(mx_spare_recv(sv[1], line, sizeof line, fds, &n, mx_now_ms() + 5000, &err), 0);
    assert_string_equal(line, "claim");
    assert_int_equal(n, 0);
    assert_int_equal(mx_spare_recv(sv[1], line, sizeof line, fds, &n, mx_now_ms() + 5000, &err), 0);
    assert_string_equal(line, "end");
    close(sv[0]);
    close(sv[1]);
}

/* a peer that closes mid-line, talks too long, or says nothing in time: an error, no fds */
static void test_refusals(void **state)
{
    (void)state;
    int sv[2], fds[MX_SPARE_MAX_FDS], n;
    char line[8];
    mx_err err = {0};
    pair(sv);
    int p[2];
    assert_int_equal(pipe(p), 0);
    int give[1] = {p[0]};
    assert_int_equal(mx_spare_send(sv[0], "half", give, 1, &err), 0);
    close(sv[0]);
    close(p[0]);
    assert_int_equal(mx_spare_recv(sv[1], line, sizeof line, fds, &n, mx_now_ms() + 5000, &err),
                     -1);
    tu_assert_contains(err.msg, "closed before a whole line");
    assert_int_equal(n, 0); /* the descriptor that came with it was closed */
    close(sv[1]);

    pair(sv);
    assert_int_equal(write(sv[0], "far too long a line\n", 20), 20);
    assert_int_equal(mx_spare_recv(sv[1], line, sizeof line, fds, &n, mx_now_ms() + 5000, &err),
                     -1);
    tu_assert_contains(err.msg, "line too long");
    close(sv[0]);
    close(sv[1]);

    pair(sv);

    assert_int_equal(mx_spare_recv(sv[1], line, sizeof line, fds, &n, mx_now_ms() + 300, &err), -1);
    tu_assert_contains(err.msg, "no answer in time");
    assert_int_equal(mx_spare_send(sv[0], "x\n", give, 3, &err), -1);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_with_descriptors),
        cmocka_unit_test(test_two_lines_in_one_write),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
