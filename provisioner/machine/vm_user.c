#include "vm_user.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <limits.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "+UID:+GID" (libvirt writes numbers with a leading '+'); 0 if well formed. */
static int parse_ids(const char *s, const char *end, mx_qemu_user *u)
{
    char text[64];
    size_t len = (size_t)(end - s);
    if (len == 0 || len >= sizeof text) return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    const char *p = text, *e;
    if (*p == '+') p++;
    long long uid, gid;
    if (mx_parse_int_prefix(p, 0, UINT_MAX - 1, &uid, &e) < 0 || *e != ':') return -1;
    p = e + 1;
    if (*p == '+') p++;
    if (mx_parse_int(p, 0, UINT_MAX - 1, &gid) < 0) return -1;
    u->uid = (uid_t)uid;
    u->gid = (gid_t)gid;
    return 0;
}

int mx_qemu_user_parse(const char *caps, const char *domain_type, mx_qemu_user *u)
{
    /* <secmodel><model>dac</model><doi>0</doi><baselabel type='kvm'>+64055:+64055</baselabel>
     * <baselabel type='qemu'>...</baselabel></secmodel> */
    for (const char *m = strstr(caps, "<secmodel>"); m; m = strstr(m + 1, "<secmodel>")) {
        const char *end = strstr(m, "</secmodel>");
        if (!end) return -1;
        const char *model = strstr(m, "<model>dac</model>");
        if (!model || model > end) continue;
        char open_tag[64];
        snprintf(open_tag, sizeof open_tag, "<baselabel type='%s'>", domain_type);
        const char *b = strstr(m, open_tag);
        if (!b || b > end) return -1;
        b += strlen(open_tag);
        const char *z = strstr(b, "</baselabel>");
        if (!z || z > end) return -1;
        return parse_ids(b, z, u);
    }
    return -1;
}

int mx_qemu_emulator_parse(const char *caps, mx_qemu_user *u)
{
    const char *arch = strstr(caps, "<arch name='x86_64'>");
    if (!arch) return -1;
    const char *end = strstr(arch, "</arch>");
    const char *e = strstr(arch, "<emulator>");
    if (!end || !e || e > end) return -1;
    e += strlen("<emulator>");
    const char *z = strstr(e, "</emulator>");
    size_t len = z ? (size_t)(z - e) : 0;
    /* a plain absolute path: it goes into the domain's XML and mexec-qemu's environment */
    if (!z || len == 0 || len >= sizeof u->emulator || *e != '/') return -1;
    for (const char *p = e; p < z; p++)
        if (*p == '&' || *p == '<' || *p == '\'' || *p == '"') return -1;
    memcpy(u->emulator, e, len);
    u->emulator[len] = '\0';
    return 0;
}

int mx_qemu_user_get(virConnectPtr conn, const char *domain_type, mx_qemu_user *u, mx_err *err)
{
    char *caps = virConnectGetCapabilities(conn);
    if (!caps) return mx_fail(err, MX_INFRA, "read libvirt's capabilities");
    int rc = mx_qemu_user_parse(caps, domain_type, u);
    int emu = rc == 0 ? mx_qemu_emulator_parse(caps, u) : 0;
    free(caps);
    if (rc < 0)
        return mx_fail(err, MX_INFRA,
                       "libvirt reports no DAC label for %s domains: is this libvirtd "
                       "privileged (qemu:///system)?",
                       domain_type);
    if (emu < 0) return mx_fail(err, MX_INFRA, "libvirt reports no x86_64 QEMU emulator");
    return 0;
}

int mx_qemu_net_user(const mx_qemu_user *q, mx_qemu_user *net, mx_err *err)
{
    if (q->uid != 0) {
        *net = *q;
        return 0;
    }
    struct passwd *pw = getpwnam("nobody");
    if (!pw || pw->pw_uid == 0)
        return mx_fail(err, MX_INFRA,
                       "QEMU runs as root and there is no user nobody to run the "
                       "guest network as (scripts/setup-host.sh sets qemu.conf "
                       "user = \"libvirt-qemu\")");
    net->uid = pw->pw_uid;
    net->gid = pw->pw_gid;
    return 0;
}

int mx_qemu_user_own(const char *path, const mx_qemu_user *u, mode_t mode, mx_err *err)
{
    if (chown(path, u->uid, u->gid) < 0 || chmod(path, mode) < 0)
        return mx_fail_errno(err, MX_INFRA, "hand %s to uid %ld", path, (long)u->uid);
    return 0;
}

static int add_mode(const char *path, mode_t bits, mx_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0) return mx_fail_errno(err, MX_INFRA, "stat %s", path);
    if ((st.st_mode & bits) == bits) return 0;
    if (chmod(path, (st.st_mode & 07777) | bits) < 0)
        return mx_fail_errno(err, MX_INFRA, "chmod %s", path);
    return 0;
}

int mx_qemu_user_pass(const char *dir, mx_err *err)
{
    return add_mode(dir, 0111, err);
}

int mx_qemu_user_share(const char *store, const char *file, mx_err *err)
{
    size_t sl = strlen(store);
    while (sl > 1 && store[sl - 1] == '/')
        sl--;
    if (strncmp(file, store, sl) != 0 || file[sl] != '/' || strstr(file, "/../"))
        return mx_fail(err, MX_INFRA, "%s is not in the image store %s", file, store);
    if (add_mode(file, 0444, err) < 0) return -1;
    mx_autofree char *dir = mx_dirname(file);
    while (strlen(dir) >= sl) {
        if (add_mode(dir, 0111, err) < 0) return -1;
        if (strlen(dir) == sl) break;
        char *up = mx_dirname(dir);
        free(dir);
        dir = up;
    }
    return 0;
}
