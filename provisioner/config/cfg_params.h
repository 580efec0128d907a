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

typedef struct mx_cfg_scope {
    const mx_node *params; /* bound parameters, or NULL outside jobs, commands, executors */
    const char *owner;     /* for messages */
    const mx_node *pipeline;
    const mx_node *matrix; /* matrix values, in workflow job invocations only */
    int pipeline_only;     /* substitute << pipeline.x >> only; leave other references as written */
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
