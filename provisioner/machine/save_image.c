#include "save_image.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAGIC "LibvirtQemudSave"
#define MAGIC_LEN 16

typedef struct header {
    uint32_t version, data_len, was_running, compressed, cookie_off;
} header;

static int read_exact(int fd, void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t r = read(fd, (char *)buf + off, len - off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        off += (size_t)r;
    }
    return 0;
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* host order, as libvirt writes it */
    return v;
}

/* Reads and checks the header and the data area (*data: data_len bytes, caller frees). */
static int read_head(int fd, const char *path, header *h, char **data, mx_err *err)
{
    unsigned char raw[MX_SAVE_HEADER_LEN];
    if (read_exact(fd, raw, sizeof raw) < 0 || memcmp(raw, MAGIC, MAGIC_LEN) != 0)
        return mx_fail(err, MX_INFRA, "%s is not a libvirt QEMU save image", path);
    h->version = get32(raw + 16);
    h->data_len = get32(raw + 20);
    h->was_running = get32(raw + 24);
    h->compressed = get32(raw + 28);
    h->cookie_off = get32(raw + 32);
    if (h->version != 2 || h->compressed != 0 || h->data_len == 0 ||
        h->data_len > MX_SAVE_MAX_DATA || h->cookie_off > h->data_len)
        return mx_fail(err, MX_INFRA,
                       "%s: unsupported save image (version %u, compressed %u, %u bytes of XML)",
                       path, h->version, h->compressed, h->data_len);
    *data = mx_xmalloc((size_t)h->data_len + 1);
    (*data)[h->data_len] = '\0';
    if (read_exact(fd, *data, h->data_len) < 0) {
        free(*data);
        *data = NULL;
        return mx_fail(err, MX_INFRA, "%s: truncated save image", path);
    }
    return 0;
}

// cppcheck-suppress unusedFunction ; snapshot_test reads saved images back with it
char *mx_save_image_xml(const char *path, mx_err *err)
{
    mx_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path), NULL;
    header h;
    char *data = NULL;
    if (read_head(fd, path, &h, &data, err) < 0) return NULL;
    return data; /* NUL-terminated XML first */
}

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* The new head: libvirt's header, xml, and the cookie of src; in is left at QEMU's stream. */
static char *new_head(int in, const char *src, const char *xml, size_t *len, mx_err *err)
{
    header h = {0};
    mx_autofree char *data = NULL;
    if (read_head(in, src, &h, &data, err) < 0 || !data) return NULL;
    /* the cookie: NUL-terminated text at cookie_off (0: none) */
    const char *cookie = h.cookie_off ? data + h.cookie_off : "";
    size_t xml_len = strlen(xml) + 1, cookie_len = h.cookie_off ? strlen(cookie) + 1 : 0;
    if (xml_len + cookie_len > MX_SAVE_MAX_DATA)
        return mx_fail(err, MX_INFRA, "domain XML too large for a save image"), NULL;
    unsigned char head[MX_SAVE_HEADER_LEN] = {0};
    memcpy(head, MAGIC, MAGIC_LEN); // NOLINT(bugprone-not-null-terminated-result): fixed-width
    put32(head + 16, 2);
    put32(head + 20, (uint32_t)(xml_len + cookie_len));
    put32(head + 24, 1); /* was running: resume it */
    put32(head + 28, 0);
    put32(head + 32, cookie_len ? (uint32_t)xml_len : 0);
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_add(&b, head, sizeof head);
    mx_buf_add(&b, xml, xml_len);
    mx_buf_add(&b, cookie, cookie_len);
    *len = b.len;
    return mx_buf_steal(&b);
}

/* The feeding child: async-signal-safe calls only (it is forked from a process that may run
 * libvirt's threads).  Exits 0 once all of it is written. */
static void feed(const char *fifo, const char *head, size_t len, int in)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the job's process */
    int out = open(fifo, O_WRONLY | O_CLOEXEC);
    if (out < 0 || mx_write_all(out, head, len) < 0) _exit(1);
    for (;;) {
        ssize_t n = splice(in, NULL, out, NULL, 1 << 20, SPLICE_F_MOVE);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) _exit(2);
        if (n == 0) _exit(0);
    }
}

int mx_save_image_feed(const char *src, const char *fifo, const char *xml, pid_t *pid, mx_err *err)
{
    *pid = -1;
    mx_autoclose int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return mx_fail_errno(err, MX_INFRA, "open %s", src);
    size_t len;
    mx_autofree char *head = new_head(in, src, xml, &len, err);
    if (!head) return -1;
    if (mkfifo(fifo, 0600) < 0) return mx_fail_errno(err, MX_INFRA, "mkfifo %s", fifo);
    pid_t child = fork();
    if (child < 0) return mx_fail_errno(err, MX_INFRA, "fork");
    if (child == 0) feed(fifo, head, len, in);
    *pid = child;
    return 0;
}

int mx_save_image_fed(pid_t pid, int ok)
{
    if (pid <= 0) return -1;
    /* libvirt gave up before reading all of it: the feeder may wait on the FIFO forever */
    if (!ok) kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
