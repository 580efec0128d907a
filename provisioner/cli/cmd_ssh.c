/* mexec ssh JOB [-- COMMAND...]: a shell, or one command, in a running job's VM, through the
 * OpenSSH client (a real terminal) with the job's own client key and its generated host key
 * pinned: nothing is trusted on first use here either.  The guest is the job's, so nothing of
 * the user's goes along: no ssh config, agent, X11 or port forwarding (issue 11, item 8).
 *
 * JOB is a job id as `mexec ps` prints it (or a unique prefix of one), or a job name that only
 * one running VM has.  Works for any running job: one kept by --keep-on-failure, one still
 * running its steps, or a GitLab job between stages. */
#include "cli.h"
#include "host_config.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "vm.h"
#include "vm_list.h"
#include "vm_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_line[] = "usage: mexec ssh JOB [-- COMMAND...]   (JOB: id or name, see "
                                 "mexec ps)\n";

typedef struct found {
    const char *want;
    int matches;
    char *id, *dir, *port;
    mx_buf names; /* what matched, for an ambiguity message */
} found;

static int match(const mx_vm_entry *e, void *ud, mx_err *err)
{
    (void)err;
    found *f = ud;
    mx_autofree char *id = mx_vm_metadata_field(e->meta, "id");
    mx_autofree char *name = mx_vm_metadata_field(e->meta, "name");
    if (!id) return 0;
    int hit = strncmp(id, f->want, strlen(f->want)) == 0 || (name && strcmp(name, f->want) == 0);
    if (!hit) return 0;
    mx_buf_printf(&f->names, "%s%s (%s)", f->matches ? ", " : "", id, name ? name : "?");
    if (f->matches++ == 0) {
        f->id = mx_steal(&id);
        f->dir = mx_vm_metadata_field(e->meta, "dir");
        f->port = mx_vm_metadata_field(e->meta, "ssh-port");
    }
    return 0;
}

static int find_job(const mx_host_config *hc, found *f, mx_err *err)
{
    virConnectPtr conn = mx_virt_connect(hc->libvirt_uri, err);
    if (!conn) return -1;
    int rc = mx_vm_list_each(conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE, match, f, err);
    virConnectClose(conn);
    if (rc < 0) return -1;
    if (f->matches == 0)
        return mx_fail(err, MX_USAGE,
                       "no running mexec VM has the id or job name \"%s\" (see mexec ps)", f->want);
    if (f->matches > 1)
        return mx_fail(err, MX_USAGE, "\"%s\" matches %d VMs: %s; give more of the id", f->want,
                       f->matches, f->names.data);
    if (!f->dir || !f->port)
        return mx_fail(err, MX_INFRA, "VM %s lacks its job directory or SSH port in its metadata",
                       f->id);
    return 0;
}

/* The pinned host key as OpenSSH's known_hosts wants it for a non-default port. */
static int write_known_hosts(const found *f, const char *path, mx_err *err)
{
    mx_autofree char *host_pub = mx_path_join(f->dir, "host_key.pub");
    mx_buf key;
    mx_buf_init(&key);
    if (mx_read_file(host_pub, &key, err) < 0) return -1;
    /* "TYPE BASE64 [comment]": the comment is not part of the key */
    char *sp = strchr(key.data, ' ');
    size_t keep =
        sp ? (size_t)(sp - key.data) + 1 + strcspn(sp + 1, " \n") : strcspn(key.data, "\n");
    mx_autofree char *line = mx_xasprintf("[127.0.0.1]:%s %.*s\n", f->port, (int)keep, key.data);
    mx_buf_free(&key);
    mx_autofree char *tmp = mx_xasprintf("%s.%ld", path, (long)getpid());
    if (mx_write_file(tmp, line, strlen(line), 0600, err) < 0) return -1;
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        return mx_fail_errno(err, MX_INFRA, "rename %s", tmp);
    }
    return 0;
}

int mx_cmd_ssh(int argc, char **argv)
{
    int cmd = 2; /* where COMMAND starts, after "--" */
    if (argc < 2 || argv[1][0] == '-' || (argc > 2 && strcmp(argv[2], "--") != 0)) {
        fputs(usage_line, stderr);
        return MX_USAGE;
    }
    if (argc > 2) cmd = 3;
    mx_host_config hc;
    mx_err err;
    found f = {.want = argv[1]};
    mx_buf_init(&f.names);
    int rc = mx_host_config_load(&hc, &err);
    if (rc == 0) rc = find_job(&hc, &f, &err);
    mx_autofree char *known = f.dir ? mx_path_join(f.dir, "known_hosts") : NULL;
    mx_autofree char *key = f.dir ? mx_path_join(f.dir, "client_key") : NULL;
    if (rc == 0) rc = write_known_hosts(&f, known, &err);
    if (rc == 0) {
        mx_autofree char *kh = mx_xasprintf("UserKnownHostsFile=%s", known);
        size_t n = 0;
        const char **av = mx_xcalloc((size_t)argc + 48, sizeof *av);
        /* only what is given here: the user's ~/.ssh/config (and the system's) is not read,
         * so nothing there can add a forwarding, a ProxyCommand or a LocalCommand to a job's
         * VM, whose guest is untrusted; and every forwarding is refused explicitly too */
        const char *fixed[] = {"ssh",
                               "-F",
                               "/dev/null",
                               "-i",
                               key,
                               "-p",
                               f.port,
                               "-o",
                               "IdentitiesOnly=yes",
                               "-o",
                               "IdentityAgent=none",
                               "-o",
                               kh,
                               "-o",
                               "GlobalKnownHostsFile=/dev/null",
                               "-o",
                               "StrictHostKeyChecking=yes",
                               "-o",
                               "UpdateHostKeys=no",
                               "-o",
                               "ForwardAgent=no",
                               "-o",
                               "ForwardX11=no",
                               "-o",
                               "ForwardX11Trusted=no",
                               "-o",
                               "ClearAllForwardings=yes",
                               "-o",
                               "PermitLocalCommand=no",
                               "-o",
                               "ProxyCommand=none",
                               "-o",
                               "ControlPath=none",
                               "-o",
                               "LogLevel=ERROR",
                               "--",
                               "circleci@127.0.0.1"};
        for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
            av[n++] = fixed[i];
        for (int i = cmd; i < argc; i++)
            av[n++] = argv[i];
        av[n] = NULL;
        fflush(NULL);
        execvp("ssh", (char *const *)av);
        mx_fail_errno(&err, MX_INFRA, "run ssh (install openssh-client)");
        free(av);
        rc = -1;
    }
    free(f.id);
    free(f.dir);
    free(f.port);
    mx_buf_free(&f.names);
    mx_host_config_free(&hc);
    return rc < 0 ? mx_cli_report(&err) : MX_OK;
}
