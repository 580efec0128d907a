/* CircleCI's cache key templates (save_cache key:, restore_cache key:/keys:), rendered as
 * CircleCI's Go templates render them:
 *
 *   {{ .Branch }}            the branch being built ("" for a tag build)
 *   {{ .Revision }}          the commit SHA-1
 *   {{ .Environment.NAME }}  the job's variable NAME, "<no value>" when unset
 *   {{ checksum "FILE" }}    base64 (standard, padded) SHA-256 of FILE's contents in the guest
 *   {{ epoch }}              seconds since 1970 when the step runs
 *   {{ arch }}               the guest's OS, CPU architecture, family and model, e.g.
 *                            "linux-amd64-6_85"
 *   {{ .BuildNum }}          CIRCLE_BUILD_NUM
 *
 * Spaces inside the braces are free ({{.Branch}} works).  Anything else inside braces is an
 * error naming it.  Checksums and arch come from the guest (the agent reads the files), so a
 * template is rendered in two passes: mx_cache_key_needs says what to ask the agent for. */
#ifndef MX_CACHE_KEY_H
#define MX_CACHE_KEY_H

#include "cfg_job.h"
#include "mx_err.h"

/* A rendered key longer than this is refused (keys name host files by their hash, but travel
 * in messages and logs). */
#define MX_CACHE_KEY_MAX 4096

typedef struct mx_key_facts {
    const char *branch;   /* NULL: "" */
    const char *revision; /* NULL: "" */
    const mx_envlist *env;
    long long epoch;
    const char *arch; /* NULL: {{ arch }} is an error */
    /* the checksums the agent computed, by file name as written in the template */
    const char *const *files;
    const char *const *sums; /* NULL entry: the file could not be read (why in sum_errors) */
    const char *const *sum_errors;
    size_t nfiles;
} mx_key_facts;

/* Adds every file that tmpl checksums to *files (each once over all calls; caller frees), and
 * sets *arch when it uses {{ arch }}.  -1 with *err on a template error. */
int mx_cache_key_needs(const char *tmpl, char ***files, size_t *nfiles, int *arch, mx_err *err);

/* Renders tmpl.  Returns 0 with *out (caller frees), or -1 with *err: a template error, a file
 * that could not be checksummed, a key too long. */
int mx_cache_key_render(const char *tmpl, const mx_key_facts *f, char **out, mx_err *err);

#endif
