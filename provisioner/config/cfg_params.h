/* Parameters of jobs, commands, executors and the pipeline: declarations, binding arguments
 * with type checks and defaults, and << parameters.x >> substitution. */
#ifndef MX_CFG_PARAMS_H
#define MX_CFG_PARAMS_H

#include "cfg_yaml.h"
#include "mx_err.h"

/* Binds `args` (an invocation map, or NULL) to `decls` (a `parameters:` map, or NULL).  Keys
 * listed in `reserved` (NULL-terminated, may be NULL) are not arguments.  `what` names the
 * owner in messages ("job \"build\"").  *out: a map of every declared name to its value. */
int mx_cfg_params_bind(const mx_node *decls, const mx_node *args, const char *const *reserved,
                       const mx_node *at, const char *what, mx_node **out, mx_err *err);

/* What expanding one config may create, counted as it is made.  Commands that invoke other
 * commands twice, 40 levels deep, or a parameter pasted into itself level after level, grow
 * exponentially from a config of a few hundred bytes; the count stops such expansion at the
 * first node over the limit, in milliseconds, instead of when memory runs out.  A node costs
 * ~150 bytes: the limits keep an expansion near 100 MB, far above the largest real configs
 * (a few ten thousand nodes once processed). */
#ifndef MX_CFG_MAX_NODES /* the fuzz build sets smaller limits: more inputs per second */
#define MX_CFG_MAX_NODES 500000
#define MX_CFG_MAX_BYTES (32u * 1024 * 1024) /* of scalar text */
#endif

typedef struct mx_cfg_budget {
    size_t nodes, bytes; /* made so far */
} mx_cfg_budget;

/* Counts nodes and bytes about to be made at `at`; fails (MX_USAGE, naming at) once the
 * config would exceed MX_CFG_MAX_NODES or MX_CFG_MAX_BYTES.  b may be NULL (no limit). */
int mx_cfg_charge(mx_cfg_budget *b, size_t nodes, size_t bytes, const mx_node *at, mx_err *err);
/* Charges a copy of the tree n. */
int mx_cfg_charge_tree(mx_cfg_budget *b, const mx_node *n, const mx_node *at, mx_err *err);

typedef struct mx_cfg_scope {
    const mx_node *params; /* bound parameters, or NULL outside jobs, commands, executors */
    const char *owner;     /* for messages */
    const mx_node *pipeline;
    const mx_node *matrix; /* matrix values, in workflow job invocations only */
    int pipeline_only;     /* substitute << pipeline.x >> only; leave other references as written */
    mx_cfg_budget *budget; /* charged for every node the substitution makes; NULL: none */
} mx_cfg_scope;

/* A copy of `in` with every << parameters.x >>, << pipeline.x >> and << matrix.x >> replaced.
 * A scalar that is exactly one reference becomes the value itself (a list of steps, a map);
 * in a list, a list value is spliced in. */
int mx_cfg_subst(const mx_node *in, const mx_cfg_scope *s, mx_node **out, mx_err *err);

/* Replaces << pipeline.x >> in bound parameter values (a default may name a pipeline value:
 * `default: << pipeline.parameters.image >>`). */
int mx_cfg_subst_pipeline(mx_node **bound, const mx_node *pipeline, mx_err *err);

/* Truthiness of a scalar as CircleCI sees it: false, null, 0 and "" are false. */
int mx_cfg_truthy(const mx_node *n);

#endif
