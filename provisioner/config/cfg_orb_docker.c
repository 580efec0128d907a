/* The CircleCI docker orb, built in so configs that use it work when its source cannot be had
 * from CircleCI's registry (offline, nothing cached): when the registry answers, the real orb
 * is used instead (cfg_orbs.c).
 *
 * check (docker login) and pull run natively: they become steps of their own, whose
 * credentials the host resolves and masks.  build, push and install_docker_credential_helper
 * and the machine and docker executors are an orb written here in the real orb's shape (same
 * parameters and defaults; the scripts are mexec's own), expanded like any orb.
 *
 * The orb renamed its parameters and commands from hyphens (v2: docker-username,
 * install-docker-credential-helper) to snake_case (v3: docker_username); both are accepted. */
#include "cfg_process_int.h"
#include "cfg_params.h"
#include "cfg_suggest.h"

#include <stdlib.h>
#include <string.h>

/* The orb's declarations, as in its check.yml and pull.yml. */
static const char check_decls[] =
    "registry: {type: string, default: docker.io}\n"
    "docker_username: {type: env_var_name, default: DOCKER_LOGIN}\n"
    "docker_password: {type: env_var_name, default: DOCKER_PASSWORD}\n"
    "use_docker_credentials_store: {type: boolean, default: false}\n";
static const char pull_decls[] = "images: {type: string, default: \"\"}\n"
                                 "ignore_docker_pull_error: {type: boolean, default: false}\n";

/* The rest of the orb.  Image names and tags go through `eval echo` as in the real orb, so
 * $CIRCLE_SHA1 and other variables in them expand in the job. */
static const char orb_source[] =
    "executors:\n"
    "  machine:\n"
    "    parameters:\n"
    "      image: {type: string, default: \"ubuntu-2204:current\"}\n"
    "      dlc: {type: boolean, default: false}\n"
    "      resource_class:\n"
    "        type: enum\n"
    "        enum: [medium, large, xlarge, 2xlarge, arm.medium, arm.large, arm.xlarge, "
    "arm.2xlarge]\n"
    "        default: medium\n"
    "    machine:\n"
    "      image: << parameters.image >>\n"
    "      docker_layer_caching: << parameters.dlc >>\n"
    "    resource_class: << parameters.resource_class >>\n"
    "  docker:\n"
    "    parameters:\n"
    "      image: {type: string, default: cimg/python}\n"
    "      tag: {type: string, default: \"3.13\"}\n"
    "    docker:\n"
    "      - image: << parameters.image >>:<< parameters.tag >>\n"
    "commands:\n"
    "  build:\n"
    "    parameters:\n"
    "      step_name: {type: string, default: Docker build}\n"
    "      dockerfile: {type: string, default: Dockerfile}\n"
    "      path: {type: string, default: .}\n"
    "      lint_dockerfile: {type: boolean, default: false}\n"
    "      treat_warnings_as_errors: {type: boolean, default: false}\n"
    "      registry: {type: string, default: docker.io}\n"
    "      image: {type: string}\n"
    "      tag: {type: string, default: $CIRCLE_SHA1}\n"
    "      extra_build_args: {type: string, default: \"\"}\n"
    "      cache_from: {type: string, default: \"\"}\n"
    "      cache_to: {type: string, default: \"\"}\n"
    "      attach_at: {type: string, default: \"\"}\n"
    "      docker_context: {type: string, default: .}\n"
    "      no_output_timeout: {type: string, default: 10m}\n"
    "      use_buildkit: {type: boolean, default: false}\n"
    "    steps:\n"
    "      - when:\n"
    "          condition: << parameters.attach_at >>\n"
    "          steps: [{attach_workspace: {at: << parameters.attach_at >>}}]\n"
    "      - when:\n"
    "          condition: << parameters.lint_dockerfile >>\n"
    "          steps:\n"
    "            - run:\n"
    "                name: Lint Dockerfile\n"
    "                environment:\n"
    "                  PARAM_DOCKERFILE: << parameters.path >>/<< parameters.dockerfile >>\n"
    "                  PARAM_STRICT: << parameters.treat_warnings_as_errors >>\n"
    "                command: |\n"
    "                  threshold=error\n"
    "                  if [ \"$PARAM_STRICT\" = true ]; then threshold=warning; fi\n"
    "                  docker run --rm -i hadolint/hadolint hadolint "
    "--failure-threshold \"$threshold\" - < \"$PARAM_DOCKERFILE\"\n"
    "      - run:\n"
    "          name: << parameters.step_name >>\n"
    "          no_output_timeout: << parameters.no_output_timeout >>\n"
    "          environment:\n"
    "            PARAM_REGISTRY: << parameters.registry >>\n"
    "            PARAM_IMAGE: << parameters.image >>\n"
    "            PARAM_TAG: << parameters.tag >>\n"
    "            PARAM_DOCKERFILE: << parameters.path >>/<< parameters.dockerfile >>\n"
    "            PARAM_CONTEXT: << parameters.docker_context >>\n"
    "            PARAM_EXTRA_ARGS: << parameters.extra_build_args >>\n"
    "            PARAM_CACHE_FROM: << parameters.cache_from >>\n"
    "            PARAM_CACHE_TO: << parameters.cache_to >>\n"
    "            PARAM_BUILDKIT: << parameters.use_buildkit >>\n"
    "          command: |\n"
    "            image=\"$PARAM_REGISTRY/$(eval echo \"$PARAM_IMAGE\")\"\n"
    "            set --\n"
    "            for tag in $(eval echo \"$PARAM_TAG\" | tr , ' '); do set -- \"$@\" --tag "
    "\"$image:$tag\"; done\n"
    "            for c in $PARAM_CACHE_FROM; do set -- \"$@\" --cache-from \"$c\"; done\n"
    "            for c in $PARAM_CACHE_TO; do set -- \"$@\" --cache-to \"$c\"; done\n"
    "            if [ \"$PARAM_BUILDKIT\" = true ]; then export DOCKER_BUILDKIT=1; fi\n"
    "            # the extra arguments are words, as the orb takes them\n"
    "            docker build $(eval echo \"$PARAM_EXTRA_ARGS\") --file \"$PARAM_DOCKERFILE\" "
    "\"$@\" \"$PARAM_CONTEXT\"\n"
    "  push:\n"
    "    parameters:\n"
    "      step_name: {type: string, default: Docker push}\n"
    "      registry: {type: string, default: docker.io}\n"
    "      image: {type: string}\n"
    "      tag: {type: string, default: $CIRCLE_SHA1}\n"
    "      digest_path: {type: string, default: \"\"}\n"
    "    steps:\n"
    "      - run:\n"
    "          name: << parameters.step_name >>\n"
    "          environment:\n"
    "            PARAM_REGISTRY: << parameters.registry >>\n"
    "            PARAM_IMAGE: << parameters.image >>\n"
    "            PARAM_TAG: << parameters.tag >>\n"
    "            PARAM_DIGEST_PATH: << parameters.digest_path >>\n"
    "          command: |\n"
    "            image=\"$PARAM_REGISTRY/$(eval echo \"$PARAM_IMAGE\")\"\n"
    "            for tag in $(eval echo \"$PARAM_TAG\" | tr , ' '); do\n"
    "              docker push \"$image:$tag\"\n"
    "              last=\"$image:$tag\"\n"
    "            done\n"
    "            if [ -n \"$PARAM_DIGEST_PATH\" ]; then\n"
    "              mkdir -p \"$(dirname \"$PARAM_DIGEST_PATH\")\"\n"
    "              docker image inspect --format '{{index .RepoDigests 0}}' \"$last\" > "
    "\"$PARAM_DIGEST_PATH\"\n"
    "            fi\n"
    "  install_docker_credential_helper:\n"
    "    parameters:\n"
    "      helper_name: {type: enum, enum: [\"\", pass, osxkeychain], default: \"\"}\n"
    "      release_tag: {type: string, default: \"\"}\n"
    "      arch: {type: enum, enum: [amd64, arm64], default: amd64}\n"
    "    steps:\n"
    "      - run:\n"
    "          name: Install Docker credential helper\n"
    "          environment:\n"
    "            PARAM_HELPER: << parameters.helper_name >>\n"
    "            PARAM_TAG: << parameters.release_tag >>\n"
    "            PARAM_ARCH: << parameters.arch >>\n"
    "          command: |\n"
    "            os=linux helper=${PARAM_HELPER:-pass}\n"
    "            if [ \"$(uname -s)\" = Darwin ]; then os=darwin "
    "helper=${PARAM_HELPER:-osxkeychain}; fi\n"
    "            if command -v \"docker-credential-$helper\" >/dev/null; then\n"
    "              echo \"docker-credential-$helper is installed\"; exit 0\n"
    "            fi\n"
    "            repo=https://github.com/docker/docker-credential-helpers\n"
    "            tag=$PARAM_TAG\n"
    "            if [ -z \"$tag\" ]; then\n"
    "              tag=$(curl -fsSLI -o /dev/null -w '%{url_effective}' "
    "\"$repo/releases/latest\")\n"
    "              tag=${tag##*/}\n"
    "            fi\n"
    "            curl -fsSL -o /tmp/docker-credential-helper "
    "\"$repo/releases/download/$tag/docker-credential-$helper-$tag.$os-$PARAM_ARCH\"\n"
    "            sudo=; [ \"$(id -u)\" = 0 ] || sudo=sudo\n"
    "            $sudo install -m 0755 /tmp/docker-credential-helper "
    "\"/usr/local/bin/docker-credential-$helper\"\n";

int mx_cfg_docker_orb_load(mx_node **def, mx_err *err)
{
    return mx_yaml_load_string("built-in docker orb", orb_source, strlen(orb_source), def, err);
}

char *mx_cfg_docker_name(const char *name)
{
    char *s = mx_xstrdup(name);
    for (char *p = s; *p; p++)
        if (*p == '-') *p = '_';
    return s;
}

int mx_cfg_docker_is_step(const char *key)
{
    return strcmp(key, "docker/check") == 0 || strcmp(key, "docker/pull") == 0;
}

int mx_cfg_docker_is_native(const char *cmd)
{
    return strcmp(cmd, "check") == 0 || strcmp(cmd, "pull") == 0;
}

int mx_cfg_docker_args(const mx_node *args, const mx_node *decls, mx_node **out, mx_err *err)
{
    mx_node *n = mx_node_new(MX_NODE_MAP, args);
    for (size_t i = 0; args && i < args->n; i++) {
        const mx_node *k = args->keys[i];
        char *s = mx_xstrdup(k->value);
        for (char *p = s; *p; p++)
            if (*p == '-') *p = '_';
        /* only the orb's own names are respelled, so a typo is reported as written */
        const char *name = mx_node_get(decls, s) ? s : k->value;
        if (mx_node_get(n, name)) {
            mx_node_fail(err, k, "\"%s\" is given twice (as %s and in the other spelling)", name,
                         k->value);
            free(s);
            mx_node_free(n);
            return -1;
        }
        mx_node *nk = mx_node_new_scalar(name, k);
        mx_node_map_add(n, nk, mx_node_copy(args->vals[i]));
        free(s);
    }
    *out = n;
    return 0;
}

int mx_cfg_docker_step(mx_cfg *c, const char *cmd, const mx_node *args, const mx_node *at,
                       mx_node *out_steps, mx_err *err)
{
    (void)c;
    const char *text = strcmp(cmd, "check") == 0 ? check_decls : pull_decls;
    if (args && mx_node_is_null(args)) args = NULL;
    if (args && args->kind != MX_NODE_MAP)
        return mx_node_fail(err, args, "docker/%s takes a map of arguments", cmd);
    mx_node *decls = NULL, *sargs = NULL, *bound = NULL;
    if (mx_yaml_load_string("docker-orb", text, strlen(text), &decls, err) < 0) return -1;
    char *what = mx_xasprintf("docker/%s", cmd);
    int rc = mx_cfg_docker_args(args, decls, &sargs, err);
    if (rc == 0) rc = mx_cfg_params_bind(decls, sargs, NULL, at, what, &bound, err);
    if (rc == 0 && strcmp(cmd, "pull") == 0 && !*mx_node_get(bound, "images")->value) {
        /* the orb's pull is `when: << parameters.images >>`: nothing to pull, no step */
    } else if (rc == 0) {
        mx_node *step = mx_node_new(MX_NODE_MAP, at);
        mx_node_map_put(step, what, bound);
        bound = NULL;
        mx_node_seq_add(out_steps, step);
    }
    free(what);
    mx_node_free(bound);
    mx_node_free(sargs);
    mx_node_free(decls);
    return rc;
}
