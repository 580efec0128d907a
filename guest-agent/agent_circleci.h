/* The `circleci` command in the guest: mexec-agent answering when invoked by that name (a
 * symlink in a directory the agent puts first on the steps' PATH), with the `tests` commands
 * CircleCI's images have: glob, split, run.  Anything else goes to the next `circleci` on PATH
 * (an image's own CLI), or fails saying what this one can do. */
#ifndef MX_AGENT_CIRCLECI_H
#define MX_AGENT_CIRCLECI_H

/* The environment variable naming the timings file (JSON array of {file, classname, name,
 * time}) the host uploads: the test results earlier runs of the job stored on this host. */
#define MX_TIMINGS_ENV "MEXEC_TEST_TIMINGS"
/* What a split reads from stdin at most. */
#define MX_SPLIT_MAX_INPUT (16u * 1024 * 1024)

/* main() of `circleci ...`; returns the exit status. */
int mx_agent_circleci_main(int argc, char **argv);

/* Makes a private directory holding a `circleci` symlink to this executable and puts it first
 * on PATH (for every step the agent starts); best effort, errors on stderr.  Returns the
 * directory for removal at exit (caller frees), or NULL. */
char *mx_agent_circleci_install(void);

#endif
