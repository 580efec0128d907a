/* A node tree as YAML through libyaml's emitter, so quoting is always right. */
#include "cfg_process.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static int write_buf(void *data, unsigned char *buffer, size_t size)
{
    mx_buf_add(data, buffer, size);
    return 1;
}

/* Would this text, written plain, read back as something other than a string? */
static int reads_as_non_string(const char *s)
{
    static const char *const words[] = {"true", "false", "yes",  "no", "on", "off",
                                        "y",    "n",     "null", "~",  ""};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasecmp(s, words[i]) == 0) return 1;
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    if (!*p) return 0;
    int digits = 0, dots = 0;
    for (; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (*p == '.')
            dots++;
        else
            return 0;
    }
    return digits > 0 && dots <= 1;
}

static int emit(yaml_emitter_t *em, const mx_node *n, int depth)
{
    yaml_event_t ev;
    int ok;
    if (depth > 512) return 0;
    switch (n->kind) {
    case MX_NODE_SCALAR: {
        const char *v = n->value ? n->value : "";
        yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
        if (strchr(v, '\n'))
            style = YAML_LITERAL_SCALAR_STYLE;
        else if (n->quoted && reads_as_non_string(v))
            style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
        ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v), 1, 1,
                                          style);
        return ok && yaml_emitter_emit(em, &ev);
    }
    case MX_NODE_MAP:
        ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!ok || !yaml_emitter_emit(em, &ev)) return 0;
        for (size_t i = 0; i < n->n; i++)
            if (!emit(em, n->keys[i], depth + 1) || !emit(em, n->vals[i], depth + 1)) return 0;
        ok = yaml_mapping_end_event_initialize(&ev);
        return ok && yaml_emitter_emit(em, &ev);
    case MX_NODE_SEQ:
        ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!ok || !yaml_emitter_emit(em, &ev)) return 0;
        for (size_t i = 0; i < n->n; i++)
            if (!emit(em, n->items[i], depth + 1)) return 0;
        ok = yaml_sequence_end_event_initialize(&ev);
        return ok && yaml_emitter_emit(em, &ev);
    }
    return 0;
}

int mx_cfg_emit(const mx_node *n, mx_buf *out, mx_err *err)
{
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em))
        return mx_fail(err, MX_INFRA, "cannot start the YAML emitter");
    yaml_emitter_set_output(&em, write_buf, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, 100);
    yaml_emitter_set_indent(&em, 2);
    yaml_event_t ev;
    int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
             yaml_emitter_emit(&em, &ev) &&
             yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
             yaml_emitter_emit(&em, &ev) && emit(&em, n, 0) &&
             yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
             yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) &&
             yaml_emitter_flush(&em);
    int rc = 0;
    if (!ok)
        rc = mx_fail(err, MX_INFRA, "YAML emitter: %s",
                     em.problem ? em.problem : "cannot write the document");
    yaml_emitter_delete(&em);
    return rc;
}
