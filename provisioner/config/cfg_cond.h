/* Logic statements of `when`/`unless` steps and workflows: a literal, or equal, and, or, not,
 * matches — evaluated after substitution, so offline and once. */
#ifndef MX_CFG_COND_H
#define MX_CFG_COND_H

#include "cfg_yaml.h"
#include "mx_err.h"

int mx_cfg_cond_eval(const mx_node *cond, int *out, mx_err *err);

#endif
