/* `circleci tests split` and `circleci tests glob`: the parts that decide, free of I/O so that
 * they can be tested alone (agent_circleci.c reads stdin, stats files and prints).
 *
 * Every node of a parallel job runs the split over the same input and gets the same whole
 * assignment, of which it prints its own share: the shares are disjoint and together cover the
 * input, whatever node runs it. */
#ifndef MX_AGENT_SPLIT_H
#define MX_AGENT_SPLIT_H

#include <stddef.h>

typedef struct mx_split_item {
    const char *name;
    double weight; /* < 0: unknown (no timing for it); every weight equal: a split by name */
} mx_split_item;

/* Assigns every item to one of total nodes: node[i] for items[i].  Items are taken heaviest
 * first (ties by name, bytewise), each to the node with the least weight so far (ties: the
 * lowest index): longest-processing-time scheduling, which for equal weights is a round robin
 * over the names in order.  Unknown weights count as the mean of the known ones (1 when none
 * is known).  Names must be distinct (mx_split_dedup). */
void mx_split_assign(const mx_split_item *items, size_t n, int total, int *node);

/* Drops repeated names in place, keeping the first of each; returns the new count. */
size_t mx_split_dedup(char **names, size_t n);

/* Whether path matches pattern as CircleCI's `tests glob` matches: segments split on "/",
 * "**" as a whole segment matches any number of segments (none too), "*", "?" and "[...]"
 * within one segment, names starting with "." matched like any other.  Braces are expanded
 * first (mx_glob_braces). */
int mx_glob_match(const char *pattern, const char *path);

/* Expands "{a,b}" alternatives (nested too) into up to max patterns; returns how many were
 * written to out (caller frees each), or -1 when there would be more than max. */
int mx_glob_braces(const char *pattern, char **out, int max);

/* The directory a walk for pattern starts in: its leading segments without wildcards ("." if
 * none; "/" for an absolute pattern whose first segment has one).  Caller frees. */
char *mx_glob_base(const char *pattern);

#endif
