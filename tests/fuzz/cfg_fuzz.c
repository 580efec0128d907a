/* libFuzzer: the config loader and the whole 2.1 expander (process, every job model, every
 * workflow plan) on arbitrary bytes.  Anything but a clean error is a bug; ASan/UBSan (built
 * with -DMEXEC_SANITIZE=ON) catch the memory ones. */
#include "cfg_process.h"
#include "cfg_yaml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* no orb files from the machine running the fuzzer */
    setenv("MEXEC_ORB_DIR", "/nonexistent", 1);
    mx_node *root = NULL;
    mx_err err;
    if (mx_yaml_load_string("fuzz.yml", (const char *)data, size, &root, &err) < 0) return 0;
    mx_envlist params = {0};
    mx_envlist_set(&params, "p", "1");
    mx_cfg_opts o = {.branch = "main"};
    mx_node *doc = NULL;
    if (mx_cfg_process(root, &o, &doc, &err) == 0) {
        mx_buf out;
        mx_buf_init(&out);
        if (mx_cfg_emit(doc, &out, &err) < 0) abort(); /* emitting our own tree cannot fail */
        mx_buf_free(&out);
        const mx_node *jobs = mx_node_get(doc, "jobs");
        for (size_t i = 0; jobs && i < jobs->n; i++) {
            mx_job job;
            mx_cfg_job_load_opts(root, jobs->keys[i]->value, NULL, &job, &err);
            mx_job_free(&job);
        }
    }
    mx_node_free(doc);
    mx_cfg_validate(root, NULL, &err);
    mx_plan plan;
    mx_cfg_opts main_branch = {.branch = "main"};
    if (mx_cfg_plan_opts(root, NULL, &main_branch, &plan, &err) == 0) mx_plan_free(&plan);
    o.params = &params;
    o.tag = "v1";
    if (mx_cfg_plan_opts(root, NULL, &o, &plan, &err) == 0) mx_plan_free(&plan);
    mx_envlist_free(&params);
    mx_node_free(root);
    return 0;
}
