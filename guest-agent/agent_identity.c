#include "agent_identity.h"
#include "mx_fs.h"
#include "mx_num.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* What the host sends is small; one buffer of reads from the port. */
typedef struct chan_reader {
    int fd;
    char buf[4096];
    size_t off, len;
    int eof;   /* the host closed its end */
    int begun; /* a byte of the bundle has arrived */
} chan_reader;

static int fill(chan_reader *r, mx_err *err)
{
    ssize_t n;
    while ((n = read(r->fd, r->buf, sizeof r->buf)) < 0 && errno == EINTR)
        ;
    if (n < 0) return mx_fail_errno(err, MX_INFRA, "read the seed channel");
    if (n == 0) {
        r->eof = 1;
        return mx_fail(err, MX_INFRA, "the seed channel closed");
    }
    r->off = 0;
    r->len = (size_t)n;
    r->begun = 1;
    return 0;
}

/* One line without its "\n", at most cap - 1 bytes. */
static int read_line(chan_reader *r, char *line, size_t cap, mx_err *err)
{
    size_t n = 0;
    for (;;) {
        if (r->off == r->len && fill(r, err) < 0) return -1;
        char c = r->buf[r->off++];
        if (c == '\n') break;
        if (n + 1 >= cap) return mx_fail(err, MX_INFRA, "a line on the seed channel is too long");
        line[n++] = c;
    }
    line[n] = '\0';
    return 0;
}

static int read_exact(chan_reader *r, mx_buf *out, size_t size, mx_err *err)
{
    while (size > 0) {
        if (r->off == r->len && fill(r, err) < 0) return -1;
        size_t take = r->len - r->off < size ? r->len - r->off : size;
        mx_buf_add(out, r->buf + r->off, take);
        r->off += take;
        size -= take;
    }
    return 0;
}

/* "file NAME SIZE" with NAME [a-z0-9_]+ and SIZE a decimal within the file limit: NAME (inside
 * line), or NULL after setting err. */
static const char *parse_header(char *line, size_t *size, mx_err *err)
{
    char *sp1 = strncmp(line, "file ", 5) == 0 ? line + 4 : NULL;
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp2) {
        mx_fail(err, MX_INFRA, "unexpected line on the seed channel: %.40s", line);
        return NULL;
    }
    *sp2 = '\0';
    const char *name = sp1 + 1;
    size_t nlen = strlen(name);
    long long n = 0;
    if (nlen == 0 || nlen > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != nlen ||
        mx_parse_int(sp2 + 1, 0, 999999, &n) < 0) {
        mx_fail(err, MX_INFRA, "bad file header on the seed channel");
        return NULL;
    }
    if ((size_t)n > MX_IDENTITY_MAX_FILE) {
        mx_fail(err, MX_INFRA, "%s on the seed channel is too large (%lld bytes)", name, n);
        return NULL;
    }
    *size = (size_t)n;
    return name;
}

/* "SECONDS.NANOSECONDS" with exactly nine digits after the dot. */
static int parse_clock(const mx_buf *b, struct timespec *ts)
{
    char text[32];
    if (b->len == 0 || b->len >= sizeof text) return -1;
    memcpy(text, b->data, b->len);
    text[b->len] = '\0';
    char *dot = strchr(text, '.');
    if (!dot || strlen(dot + 1) != 9 || strspn(dot + 1, "0123456789") != 9) return -1;
    *dot = '\0';
    long long sec = 0, nsec = 0;
    if (mx_parse_int(text, 0, 999999999999999999LL, &sec) < 0 ||
        mx_parse_int(dot + 1, 0, 999999999, &nsec) < 0)
        return -1;
    ts->tv_sec = (time_t)sec;
    ts->tv_nsec = (long)nsec;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int parse_random(const mx_buf *b, mx_identity *id)
{
    if (b->len < 64 || b->len > 2 * MX_IDENTITY_MAX_RANDOM || b->len % 2) return -1;
    for (size_t i = 0; i < b->len; i += 2) {
        int hi = hex_value(b->data[i]), lo = hex_value(b->data[i + 1]);
        if (hi < 0 || lo < 0) return -1;
        id->random[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    id->random_len = b->len / 2;
    return 0;
}

/* The hostname as mexec-seed has always cut it: [A-Za-z0-9.-] kept, at most 63 bytes. */
static void keep_hostname(const mx_buf *b, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len && n + 1 < cap; i++) {
        char c = b->data[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-')
            out[n++] = c;
    }
    out[n] = '\0';
}

/* Takes one received file into id; names it does not know are dropped. */
static int take_file(mx_identity *id, const char *name, mx_buf *data, int *seen, mx_err *err)
{
    mx_buf *dest = NULL;
    if (strcmp(name, "ssh_host_ed25519_key") == 0)
        dest = &id->host_key;
    else if (strcmp(name, "ssh_host_ed25519_key_pub") == 0)
        dest = &id->host_key_pub;
    else if (strcmp(name, "authorized_keys") == 0)
        dest = &id->authorized_keys;
    if (dest) {
        mx_buf_free(dest);
        *dest = *data;
        mx_buf_init(data);
        return 0;
    }
    if (strcmp(name, "hostname") == 0) {
        keep_hostname(data, id->hostname, sizeof id->hostname);
    } else if (strcmp(name, "clock") == 0) {
        if (parse_clock(data, &id->clock) < 0)
            return mx_fail(err, MX_INFRA, "the identity's clock is not SECONDS.NANOSECONDS");
        *seen |= 1;
    } else if (strcmp(name, "random") == 0) {
        if (parse_random(data, id) < 0)
            return mx_fail(err, MX_INFRA, "the identity's random seed is not 32-128 bytes of hex");
        *seen |= 2;
    }
    return 0;
}

int mx_identity_read(int fd, int refresh, mx_identity *id, mx_err *err)
{
    memset(id, 0, sizeof *id);
    mx_buf_init(&id->host_key);
    mx_buf_init(&id->host_key_pub);
    mx_buf_init(&id->authorized_keys);
    chan_reader *r = mx_xcalloc(1, sizeof *r);
    r->fd = fd;
    mx_buf data;
    mx_buf_init(&data);
    int seen = 0, rc = 0;
    for (int n = 0;; n++) {
        char line[256];
        const char *name = NULL;
        size_t size = 0;
        if (read_line(r, line, sizeof line, err) < 0) {
            /* closed between bundles: the host is done with us */
            rc = refresh && r->eof && !r->begun ? 1 : -1;
            break;
        }
        if (strcmp(line, "end") == 0) break;
        if (n == MX_IDENTITY_MAX_FILES) {
            rc = mx_fail(err, MX_INFRA, "too many files on the seed channel");
            break;
        }
        data.len = 0;
        if (!(name = parse_header(line, &size, err)) || read_exact(r, &data, size, err) < 0 ||
            take_file(id, name, &data, &seen, err) < 0) {
            rc = -1;
            break;
        }
    }
    if (data.data) explicit_bzero(data.data, data.cap);
    mx_buf_free(&data);
    explicit_bzero(r, sizeof *r);
    free(r);
    /* a refresh may leave the keys as they are, but not half of them */
    int keys = id->host_key.len || id->host_key_pub.len || id->authorized_keys.len;
    if (rc == 0 && (!refresh || keys) && (!id->host_key.len || !id->host_key_pub.len))
        rc = mx_fail(err, MX_INFRA, "the identity lacks the SSH host key");
    else if (rc == 0 && (!refresh || keys) && !id->authorized_keys.len)
        rc = mx_fail(err, MX_INFRA, "the identity lacks authorized_keys");
    else if (rc == 0 && !(seen & 1))
        rc = mx_fail(err, MX_INFRA, "the identity lacks the clock");
    else if (rc == 0 && !(seen & 2))
        rc = mx_fail(err, MX_INFRA, "the identity lacks the random seed");
    if (rc != 0) mx_identity_free(id);
    return rc;
}

void mx_identity_free(mx_identity *id)
{
    if (id->host_key.data) explicit_bzero(id->host_key.data, id->host_key.cap);
    mx_buf_free(&id->host_key);
    mx_buf_free(&id->host_key_pub);
    mx_buf_free(&id->authorized_keys);
    explicit_bzero(id->random, sizeof id->random);
    id->random_len = 0;
}

/* Replaces the contents of an existing regular file, keeping its owner and mode. */
static int write_through(const char *path, const void *data, size_t len, mx_err *err)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    int rc = 0;
    if (mx_write_all(fd, data, len) < 0) rc = mx_fail_errno(err, MX_INFRA, "write %s", path);
    if (close(fd) < 0 && rc == 0) rc = mx_fail_errno(err, MX_INFRA, "close %s", path);
    return rc;
}

/* /etc/hosts with its 127.0.1.1 line naming name (appended when there is none), so the name
 * resolves without DNS: sudo looks it up and the job's network may have no resolver. */
static int write_hosts(const char *path, const char *name, mx_err *err)
{
    mx_buf old, out;
    mx_buf_init(&old);
    mx_buf_init(&out);
    int rc = mx_read_file_max(path, 1 << 20, &old, err);
    int found = 0;
    for (size_t at = 0; rc == 0 && at < old.len;) {
        const char *line = old.data + at, *nl = memchr(line, '\n', old.len - at);
        size_t len = nl ? (size_t)(nl - line) : old.len - at;
        if (len > 9 && memcmp(line, "127.0.1.1", 9) == 0 && (line[9] == ' ' || line[9] == '\t')) {
            mx_buf_printf(&out, "127.0.1.1\t%s\n", name);
            found = 1;
        } else {
            mx_buf_add(&out, line, len);
            mx_buf_add(&out, "\n", 1);
        }
        at += len + 1;
    }
    if (rc == 0 && !found) mx_buf_printf(&out, "127.0.1.1\t%s\n", name);
    if (rc == 0) rc = write_through(path, out.data, out.len, err);
    mx_buf_free(&old);
    mx_buf_free(&out);
    return rc;
}

int mx_identity_write_files(const mx_identity *id, const char *root, const char *authorized_keys,
                            mx_err *err)
{
    char key[4096], pub[4096], hostname[4096], hosts[4096];
    snprintf(key, sizeof key, "%s/etc/ssh/ssh_host_ed25519_key", root);
    snprintf(pub, sizeof pub, "%s/etc/ssh/ssh_host_ed25519_key.pub", root);
    snprintf(hostname, sizeof hostname, "%s/etc/hostname", root);
    snprintf(hosts, sizeof hosts, "%s/etc/hosts", root);
    if (write_through(key, id->host_key.data, id->host_key.len, err) < 0 ||
        write_through(pub, id->host_key_pub.data, id->host_key_pub.len, err) < 0 ||
        write_through(authorized_keys, id->authorized_keys.data, id->authorized_keys.len, err) < 0)
        return -1;
    if (!id->hostname[0]) return 0;
    char line[sizeof id->hostname + 1];
    int n = snprintf(line, sizeof line, "%s\n", id->hostname);
    if (write_through(hostname, line, (size_t)n, err) < 0) return -1;
    return write_hosts(hosts, id->hostname, err);
}

int mx_identity_apply_kernel(const mx_identity *id, mx_err *err)
{
    /* first the clock: what is written after it carries the right times */
    if (clock_settime(CLOCK_REALTIME, &id->clock) < 0)
        return mx_fail_errno(err, MX_INFRA, "set the clock");
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open /dev/urandom");
    /* rand_pool_info ends in a flexible array: the bytes follow it in one aligned buffer */
    _Alignas(struct rand_pool_info) unsigned char
        pool[sizeof(struct rand_pool_info) + MX_IDENTITY_MAX_RANDOM];
    struct rand_pool_info *info = (struct rand_pool_info *)pool;
    info->entropy_count = (int)(8 * id->random_len);
    info->buf_size = (int)id->random_len;
    memcpy(pool + sizeof *info, id->random, id->random_len);
    /* kernels >= 5.18 also reseed by themselves when the VM generation id changes (mexec
     * gives every restore a new one); older ones (Ubuntu 20.04's 5.4) need the explicit
     * reseed */
    int rc = 0;
    if (ioctl(fd, RNDADDENTROPY, info) < 0)
        rc = mx_fail_errno(err, MX_INFRA, "add the job's random bytes to the kernel's pool");
    else if (ioctl(fd, RNDRESEEDCRNG) < 0)
        rc = mx_fail_errno(err, MX_INFRA, "reseed the kernel's RNG");
    explicit_bzero(pool, sizeof pool);
    if (close(fd) < 0 && rc == 0) rc = mx_fail_errno(err, MX_INFRA, "close /dev/urandom");
    if (rc == 0 && id->hostname[0] && sethostname(id->hostname, strlen(id->hostname)) < 0)
        rc = mx_fail_errno(err, MX_INFRA, "set the hostname");
    return rc;
}

static void say(int fd, const char *line)
{
    (void)mx_write_all(fd, line, strlen(line));
}

int mx_agent_identity_main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mexec-agent --identity PORT AUTHORIZED_KEYS\n");
        return 2;
    }
    int fd = open(argv[2], O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "mexec-seed: FATAL: open the seed channel %s: %s\n", argv[2],
                strerror(errno));
        return 1;
    }
    mx_identity id;
    mx_err err;
    say(fd, "mexec-seed ready identity\n");
    /* the first bundle is the whole identity (the snapshot is taken while this waits); a warm
     * spare (provisioner/machine/spare.h) gets a refresh later, when a job claims it: the
     * clock and fresh random bytes.  The host closing the channel ends the loop. */
    int rc, n;
    for (n = 0; (rc = mx_identity_read(fd, n > 0, &id, &err)) == 0; n++) {
        rc = mx_identity_apply_kernel(&id, &err);
        if (rc == 0 && id.host_key.len) rc = mx_identity_write_files(&id, "", argv[3], &err);
        mx_identity_free(&id);
        if (rc < 0) break;
        say(fd, "mexec-seed done\n");
        if (n == 0) printf("mexec-seed: identity applied; ssh accepts the host\n");
    }
    if (rc < 0) {
        /* the unit's output goes to the console, whose tail the host shows */
        fprintf(stderr, "mexec-seed: FATAL: %s\n", err.msg);
        char line[256];
        snprintf(line, sizeof line, "mexec-seed failed: %.200s\n", err.msg);
        say(fd, line);
    }
    close(fd);
    return rc < 0 ? 1 : 0;
}
