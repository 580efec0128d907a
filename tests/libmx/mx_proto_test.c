/* mx_proto: every message survives encode -> decode, malformed lines are refused with a reason,
 * and mx_lines reassembles lines whatever the chunking. */
#include "test_util.h"

#include "mx_proto.h"

/* Encodes m, checks the framing (one line, one trailing '\n'), decodes it into *out. */
static void round_trip(const mx_msg *m, mx_msg *out)
{
    size_t len = 0;
    char *line = mx_msg_encode(m, &len);
    assert_non_null(line);
    assert_int_equal(len, strlen(line));
    assert_true(len >= 2);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1));
    mx_err err = {0};
    if (mx_msg_decode(line, len - 1, out, &err) < 0) fail_msg("decode %s: %s", line, err.msg);
    assert_int_equal(out->type, m->type);
    free(line);
}

/* The wire names are part of the protocol: m's encoded line must contain text... */
static void wire_has(const mx_msg *m, const char *text)
{
    char *line = mx_msg_encode(m, NULL);
    tu_assert_contains(line, text);
    free(line);
}

/* ...or must not. */
static void wire_lacks(const mx_msg *m, const char *text)
{
    char *line = mx_msg_encode(m, NULL);
    tu_assert_not_contains(line, text);
    free(line);
}

/* A hand-written line that must be accepted. */
static void decode_ok(const char *line, mx_msg *out)
{
    mx_err err = {0};
    if (mx_msg_decode(line, strlen(line), out, &err) < 0) fail_msg("refused %s: %s", line, err.msg);
}

/* The line must be refused, with a message containing `why`, and leave nothing allocated. */
static void reject(const char *line, const char *why)
{
    mx_msg m;
    mx_err err = {0};
    if (mx_msg_decode(line, strlen(line), &m, &err) == 0) {
        mx_msg_clear(&m);
        fail_msg("accepted: %s", line);
    }
    assert_int_equal(err.status, MX_INFRA);
    tu_assert_contains(err.msg, why);
    /* a refused message owns nothing */
    assert_null(m.env);
    assert_null(m.data);
    assert_null(m.agent);
    assert_null(m.command);
    assert_null(m.docker.images);
    assert_null(m.docker.auths);
    assert_null(m.docker.password);
    assert_null(m.paths);
    assert_null(m.archives);
}

static void assert_str_or_null(const char *a, const char *b)
{
    if (!a || !b) {
        assert_ptr_equal(a, b);
        return;
    }
    assert_string_equal(a, b);
}

static void test_hello(void **state)
{
    (void)state;
    mx_msg m = {.type = MX_MSG_HELLO, .version = MX_PROTO_VERSION};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.version, MX_PROTO_VERSION);
    assert_null(d.agent);
    mx_msg_clear(&d);

    mx_msg a = {.type = MX_MSG_HELLO, .version = 7, .agent = "mexec-agent 1.2.3"};
    round_trip(&a, &d);
    assert_int_equal(d.version, 7);
    assert_string_equal(d.agent, "mexec-agent 1.2.3");
    mx_msg_clear(&d);
}

static void test_step_run(void **state)
{
    (void)state;
    mx_kv env[] = {{"FOO", "bar"},
                   {"EMPTY", ""},
                   {"WITH_EQ", "a=b=c"},
                   {"UNICODE", "h\xc3\xa9llo \xe2\x82\xac"},
                   {"QUOTES", "\"quoted\" \\ back\nnewline\ttab"}};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 42,
                .kind = MX_STEP_RUN,
                .name = "Run tests",
                .command = "set -x\nmake test 2>&1 | tee log\n",
                .shell = "/bin/sh -e",
                .workdir = "~/project/sub dir",
                .env = env,
                .nenv = sizeof env / sizeof *env,
                .no_output_timeout_s = 1800};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.id, 42);
    assert_int_equal(d.kind, MX_STEP_RUN);
    assert_string_equal(d.name, m.name);
    assert_string_equal(d.command, m.command);
    assert_string_equal(d.shell, m.shell);
    assert_string_equal(d.workdir, m.workdir);
    assert_null(d.archive);
    assert_int_equal(d.no_output_timeout_s, 1800);
    assert_int_equal(d.nenv, m.nenv);
    for (size_t i = 0; i < m.nenv; i++) {
        assert_string_equal(d.env[i].key, env[i].key);
        assert_string_equal(d.env[i].value, env[i].value);
    }
    mx_msg_clear(&d);
    /* clear leaves a reusable, empty message */
    assert_null(d.env);
    assert_int_equal(d.nenv, 0);
    assert_null(d.command);
}

static void test_step_minimal_defaults(void **state)
{
    (void)state;
    /* no shell, no workdir, no env, no timeout: all come back absent */
    mx_msg m = {.type = MX_MSG_STEP, .id = 1, .kind = MX_STEP_RUN, .command = "true"};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.id, 1);
    assert_null(d.shell);
    assert_null(d.workdir);
    assert_null(d.name);
    assert_int_equal(d.nenv, 0);
    assert_int_equal(d.no_output_timeout_s, 0);
    mx_msg_clear(&d);
}

static void test_step_background(void **state)
{
    (void)state;
    mx_msg m = {
        .type = MX_MSG_STEP, .id = 3, .kind = MX_STEP_RUN, .command = "srv &", .background = 1};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.background, 1);
    mx_msg_clear(&d);
    m.background = 0;
    wire_lacks(&m, "background"); /* absent means a foreground step */
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"background\":\"yes\"}",
           "\"background\" is not a boolean");
}

static void test_step_checkout(void **state)
{
    (void)state;
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 3,
                .kind = MX_STEP_CHECKOUT,
                .name = "Checkout code",
                .workdir = "/home/circleci/project",
                .archive = "/tmp/mexec-checkout.tar",
                .no_output_timeout_s = 1};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.kind, MX_STEP_CHECKOUT);
    assert_string_equal(d.archive, m.archive);
    assert_string_equal(d.workdir, m.workdir);
    assert_string_equal(d.name, m.name);
    assert_null(d.command);
    assert_int_equal(d.no_output_timeout_s, 1);
    mx_msg_clear(&d);
}

static void test_step_persist(void **state)
{
    (void)state;
    char *paths[] = {"dist", "logs/*.txt", "with space/\xc3\xa9", ".hidden"};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 4,
                .kind = MX_STEP_PERSIST,
                .name = "Persisting to Workspace",
                .workdir = "~/project",
                .archive = "/tmp/mexec-persist-j-3.tar",
                .paths = paths,
                .npaths = 4,
                .no_output_timeout_s = 600};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.kind, MX_STEP_PERSIST);
    assert_string_equal(d.workdir, m.workdir);
    assert_string_equal(d.archive, m.archive);
    assert_int_equal(d.npaths, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(d.paths[i], paths[i]);
    assert_null(d.archives);
    mx_msg_clear(&d);
    assert_null(d.paths);
    assert_int_equal(d.npaths, 0);

    wire_has(&m, "\"kind\":\"persist\"");
    wire_has(&m, "\"paths\":[\"dist\",\"logs/*.txt\"");
    wire_lacks(&m, "\"archives\"");

    /* an empty list travels as one, so the agent can tell it from a missing one */
    mx_msg none = {.type = MX_MSG_STEP, .id = 5, .kind = MX_STEP_PERSIST, .workdir = "/r"};
    wire_has(&none, "\"paths\":[]");
    round_trip(&none, &d);
    assert_int_equal(d.npaths, 0);
    mx_msg_clear(&d);
}

static void test_step_attach(void **state)
{
    (void)state;
    char *archives[] = {"/tmp/mexec-ws-j-2-000.tar", "/tmp/mexec-ws-j-2-001.tar"};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 2,
                .kind = MX_STEP_ATTACH,
                .name = "Attaching Workspace",
                .workdir = "/tmp/ws",
                .archives = archives,
                .narchives = 2};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.kind, MX_STEP_ATTACH);
    assert_string_equal(d.workdir, "/tmp/ws");
    assert_int_equal(d.narchives, 2);
    assert_string_equal(d.archives[0], archives[0]);
    assert_string_equal(d.archives[1], archives[1]);
    assert_null(d.archive);
    assert_null(d.paths);
    mx_msg_clear(&d);
    wire_has(&m, "\"kind\":\"attach\"");
    wire_has(&m, "\"archives\":[\"/tmp/mexec-ws-j-2-000.tar\"");
    wire_lacks(&m, "\"paths\"");

    /* an empty workspace: no archives at all */
    mx_msg empty = {.type = MX_MSG_STEP, .id = 3, .kind = MX_STEP_ATTACH, .workdir = "/w"};
    round_trip(&empty, &d);
    assert_int_equal(d.narchives, 0);
    mx_msg_clear(&d);

    /* lists of another kind are not decoded */
    decode_ok(
        "{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"paths\":[\"a\"],\"archives\":[\"b\"]}", &d);
    assert_null(d.paths);
    assert_null(d.archives);
    mx_msg_clear(&d);
}

static void test_cancel_bye(void **state)
{
    (void)state;
    mx_msg d;
    mx_msg c = {.type = MX_MSG_CANCEL};
    round_trip(&c, &d);
    mx_msg_clear(&d);
    mx_msg b = {.type = MX_MSG_BYE};
    round_trip(&b, &d);
    mx_msg_clear(&d);
    /* the wire names are part of the protocol */
    char *line = mx_msg_encode(&c, NULL);
    assert_string_equal(line, "{\"type\":\"cancel\"}\n");
    free(line);
    line = mx_msg_encode(&b, NULL);
    assert_string_equal(line, "{\"type\":\"bye\"}\n");
    free(line);
}

static void test_output_binary(void **state)
{
    (void)state;
    unsigned char bytes[256 + 8];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i; /* NUL, controls, every high byte */
    /* invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong NUL */
    const unsigned char bad[8] = {0x80, 0xc3, 0x00, 0xe2, 0x82, 0xc0, 0x80, 0xff};
    memcpy(bytes + 256, bad, sizeof bad);
    for (int stream = MX_STREAM_STDOUT; stream <= MX_STREAM_STDERR; stream++) {
        /* every length 0..3 mod 3 exercises each base64 padding case */
        for (size_t len = 0; len <= sizeof bytes; len += (len < 8 ? 1 : 37)) {
            mx_msg m = {.type = MX_MSG_OUTPUT,
                        .id = 9,
                        .stream = (enum mx_stream)stream,
                        .data = len ? bytes + sizeof bytes - len : NULL,
                        .len = len};
            mx_msg d;
            round_trip(&m, &d);
            assert_int_equal(d.id, 9);
            assert_int_equal(d.stream, stream);
            assert_int_equal(d.len, len);
            assert_non_null(d.data);
            if (len) assert_memory_equal(d.data, m.data, len);
            mx_msg_clear(&d);
        }
    }
    mx_msg all = {.type = MX_MSG_OUTPUT,
                  .id = 1,
                  .stream = MX_STREAM_STDOUT,
                  .data = bytes,
                  .len = sizeof bytes};
    mx_msg d;
    round_trip(&all, &d);
    assert_int_equal(d.len, sizeof bytes);
    assert_memory_equal(d.data, bytes, sizeof bytes);
    mx_msg_clear(&d);
}

static void test_step_end_every_reason(void **state)
{
    (void)state;
    const enum mx_end_reason reasons[] = {MX_END_EXITED,    MX_END_SIGNALED, MX_END_TIMEOUT,
                                          MX_END_CANCELLED, MX_END_FAILED,   MX_END_BACKGROUND};
    const char *names[] = {"exited", "signaled", "timeout", "cancelled", "failed", "background"};
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++) {
        assert_string_equal(mx_end_reason_name(reasons[i]), names[i]);
        mx_msg m = {.type = MX_MSG_STEP_END,
                    .id = (int)i + 100,
                    .exit_status = (int)i * 50,
                    .reason = reasons[i],
                    .duration_ms = 5000000000LL + (long long)i, /* beyond 32 bits */
                    .message =
                        reasons[i] == MX_END_FAILED ? "cannot enter /x: Permission denied" : NULL};
        mx_msg d;
        round_trip(&m, &d);
        assert_int_equal(d.id, m.id);
        assert_int_equal(d.exit_status, m.exit_status);
        assert_int_equal(d.reason, reasons[i]);
        assert_true(d.duration_ms == m.duration_ms);
        assert_str_or_null(d.message, m.message);
        char want[64];
        snprintf(want, sizeof want, "\"reason\":\"%s\"", names[i]);
        wire_has(&m, want);
        mx_msg_clear(&d);
    }
}

static void test_error(void **state)
{
    (void)state;
    mx_msg m = {.type = MX_MSG_ERROR, .message = "protocol version 9 not supported"};
    mx_msg d;
    round_trip(&m, &d);
    assert_string_equal(d.message, m.message);
    mx_msg_clear(&d);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(mx_msg_type_name(MX_MSG_HELLO), "hello");
    assert_string_equal(mx_msg_type_name(MX_MSG_STEP), "step");
    assert_string_equal(mx_msg_type_name(MX_MSG_CANCEL), "cancel");
    assert_string_equal(mx_msg_type_name(MX_MSG_BYE), "bye");
    assert_string_equal(mx_msg_type_name(MX_MSG_OUTPUT), "output");
    assert_string_equal(mx_msg_type_name(MX_MSG_STEP_END), "step-end");
    assert_string_equal(mx_msg_type_name(MX_MSG_ERROR), "error");
    assert_string_equal(mx_msg_type_name((enum mx_msg_type)99), "?");
    assert_string_equal(mx_end_reason_name((enum mx_end_reason)99), "?");
}

static void test_reject_not_json(void **state)
{
    (void)state;
    reject("", "bad protocol line");
    reject("hello", "bad protocol line");
    reject("{\"type\":\"bye\"", "bad protocol line");
    reject("{\"type\":\"bye\"} trailing", "bad protocol line");
    reject("{'type':'bye'}", "bad protocol line");
    /* a string holding NUL (\u0000) is refused by the JSON layer */
    reject("{\"type\":\"error\",\"message\":\"a\\u0000b\"}", "bad protocol line");
}

static void test_reject_not_object(void **state)
{
    (void)state;
    reject("[1,2,3]", "not an object");
    reject("[{\"type\":\"bye\"}]", "not an object");
    /* bare scalars are refused by the JSON layer already */
    reject("\"hello\"", "bad protocol line");
    reject("42", "bad protocol line");
    reject("null", "bad protocol line");
}

static void test_reject_missing_or_unknown_type(void **state)
{
    (void)state;
    reject("{}", "lacks \"type\"");
    reject("{\"version\":1}", "lacks \"type\"");
    reject("{\"type\":1}", "lacks \"type\"");
    reject("{\"type\":null}", "lacks \"type\"");
    reject("{\"type\":\"launch\"}", "unknown message type \"launch\"");
    reject("{\"type\":\"HELLO\",\"version\":1}", "unknown message type");
}

static void test_reject_wrong_field_types(void **state)
{
    (void)state;
    reject("{\"type\":\"hello\"}", "hello message: message lacks \"version\"");
    reject("{\"type\":\"hello\",\"version\":\"1\"}", "\"version\" is not an integer");
    reject("{\"type\":\"hello\",\"version\":1.5}", "\"version\" is not an integer");
    reject("{\"type\":\"hello\",\"version\":1,\"agent\":3}", "\"agent\" is not a string");
    reject("{\"type\":\"step\",\"id\":\"1\",\"kind\":\"run\"}", "\"id\" is not an integer");
    reject("{\"type\":\"step\",\"kind\":\"run\"}", "lacks \"id\"");
    reject("{\"type\":\"step\",\"id\":1}", "lacks \"kind\"");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"deploy\"}", "unknown step kind \"deploy\"");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"command\":[\"ls\"]}",
           "\"command\" is not a string");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"no_output_timeout\":\"10m\"}",
           "\"no_output_timeout\" is not an integer");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"env\":[\"A=1\"]}",
           "\"env\" is not an object");
    /* the first env entries are fine: what was decoded so far must be released */
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"command\":\"x\","
           "\"env\":{\"A\":\"1\",\"B\":\"2\",\"C\":3}}",
           "env \"C\" is not a string");
    reject("{\"type\":\"output\",\"id\":1,\"stream\":\"stdout\",\"data\":5}",
           "\"data\" is not a string");
    reject("{\"type\":\"output\",\"id\":1,\"stream\":\"stdlog\",\"data\":\"\"}",
           "unknown stream \"stdlog\"");
    reject("{\"type\":\"output\",\"id\":1,\"data\":\"\"}", "lacks \"stream\"");
    reject("{\"type\":\"step-end\",\"id\":1,\"exit\":\"0\",\"reason\":\"exited\"}",
           "\"exit\" is not an integer");
    reject("{\"type\":\"step-end\",\"id\":1,\"exit\":0}", "lacks \"reason\"");
    reject("{\"type\":\"step-end\",\"id\":1,\"exit\":0,\"reason\":\"crashed\"}",
           "unknown end reason \"crashed\"");
    reject("{\"type\":\"step-end\",\"id\":1,\"exit\":0,\"reason\":\"exited\",\"duration_ms\":true}",
           "\"duration_ms\" is not an integer");
    reject("{\"type\":\"step-end\",\"id\":1,\"exit\":0,\"reason\":\"failed\",\"message\":{}}",
           "\"message\" is not a string");
    reject("{\"type\":\"error\"}", "error message: message lacks \"message\"");
}

static void test_reject_workspace_fields(void **state)
{
    (void)state;
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"persist\",\"paths\":\"dist\"}",
           "\"paths\" is not an array");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"persist\",\"paths\":{\"a\":\"b\"}}",
           "\"paths\" is not an array");
    /* the first entries were decoded: they must be released (ASan checks) */
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"persist\",\"paths\":[\"a\",\"b\",null]}",
           "paths[2] is not a string");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"attach\",\"archives\":\"/tmp/a.tar\"}",
           "\"archives\" is not an array");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"attach\",\"archives\":[\"/a\",[\"/b\"]]}",
           "archives[1] is not a string");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"attach\",\"archives\":[],\"workdir\":7}",
           "\"workdir\" is not a string");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"Persist\"}", "unknown step kind \"Persist\"");
}

/* The job steps' kinds and step-end values (guest-agent/agent_jobsteps.c). */
static void test_job_step_kinds(void **state)
{
    (void)state;
    char *paths[] = {"package-lock.json", "~/x"};
    mx_msg c = {
        .type = MX_MSG_STEP, .id = 3, .kind = MX_STEP_CHECKSUM, .paths = paths, .npaths = 2};
    wire_has(&c, "\"kind\":\"checksum\"");
    mx_msg out;
    round_trip(&c, &out);
    assert_int_equal(out.kind, MX_STEP_CHECKSUM);
    assert_int_equal(out.npaths, 2);
    assert_string_equal(out.paths[1], "~/x");
    mx_msg_clear(&out);
    mx_kv keys[] = {{"id_rsa_deploy", "secret\n"}, {"config", "Host h\n"}};
    mx_msg k = {.type = MX_MSG_STEP, .id = 4, .kind = MX_STEP_SSH_KEYS, .keys = keys, .nkeys = 2};
    wire_has(&k, "\"kind\":\"ssh-keys\"");
    round_trip(&k, &out);
    assert_int_equal(out.nkeys, 2);
    assert_string_equal(out.keys[0].key, "id_rsa_deploy");
    assert_string_equal(out.keys[0].value, "secret\n");
    mx_msg_clear(&out);
    const char *kinds[] = {"pack", "collect", "unpack"};
    enum mx_step_kind want[] = {MX_STEP_PACK, MX_STEP_COLLECT, MX_STEP_UNPACK};
    for (int i = 0; i < 3; i++) {
        mx_msg m = {.type = MX_MSG_STEP, .id = 1, .kind = want[i], .archive = "/tmp/a.tar"};
        wire_has(&m, kinds[i]);
        round_trip(&m, &out);
        assert_int_equal(out.kind, want[i]);
        mx_msg_clear(&out);
    }
    char *values[] = {"sha256:abc=", "error:gone"};
    mx_msg e = {.type = MX_MSG_STEP_END,
                .id = 3,
                .values = values,
                .nvalues = 2,
                .arch = "linux-amd64-6_85"};
    round_trip(&e, &out);
    assert_int_equal(out.nvalues, 2);
    assert_string_equal(out.values[1], "error:gone");
    assert_string_equal(out.arch, "linux-amd64-6_85");
    mx_msg_clear(&out);
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"ssh-keys\",\"keys\":[\"a\"]}",
           "\"keys\" is not an object");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"ssh-keys\",\"keys\":{\"a\":1}}",
           "keys \"a\" is not a string");
    reject("{\"type\":\"step-end\",\"id\":1,\"exit\":0,\"reason\":\"exited\",\"values\":[1]}",
           "values[0] is not a string");
    reject("{\"type\":\"step-end\",\"id\":1,\"exit\":0,\"reason\":\"exited\",\"arch\":7}",
           "\"arch\" is not a string");
}

static void test_reject_bad_base64(void **state)
{
    (void)state;
    const char *bad[] = {"QQ",       /* not a multiple of 4 */
                         "Q!==",     /* outside the alphabet */
                         "QUJD\n",   /* whitespace */
                         "QU JD",    /* whitespace */
                         " QUJ",     /* leading whitespace */
                         "QUJ ",     /* trailing whitespace */
                         "====",     /* padding only */
                         "Q===",     /* too much padding */
                         "QQ=A",     /* padding inside */
                         "QQ==QUJD", /* padding before more data */
                         "=QUJ"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *line = mx_xasprintf("{\"type\":\"output\",\"id\":1,\"stream\":\"stderr\","
                                  "\"data\":\"%s\"}",
                                  bad[i][strlen(bad[i]) - 1] == '\n' ? "QUJD\\n" : bad[i]);
        reject(line, "output data is not base64");
        free(line);
    }
}

static void test_reject_duplicate_keys(void **state)
{
    (void)state;
    reject("{\"type\":\"hello\",\"version\":1,\"version\":2}", "bad protocol line");
    reject("{\"type\":\"bye\",\"type\":\"cancel\"}", "bad protocol line");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"env\":{\"A\":\"1\",\"A\":\"2\"}}",
           "bad protocol line");
}

static void test_step_docker_check(void **state)
{
    (void)state;
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 3,
                .kind = MX_STEP_DOCKER_CHECK,
                .name = "docker/check",
                .docker = {.registry = "registry.example.com:5000",
                           .username = "robot",
                           .password = "p\"a\\ss w\xc3\xb6rd",
                           .credentials_store = 1,
                           .retries = 3,
                           .retry_delay_s = 2}};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.kind, MX_STEP_DOCKER_CHECK);
    assert_string_equal(d.docker.registry, "registry.example.com:5000");
    assert_string_equal(d.docker.username, "robot");
    assert_string_equal(d.docker.password, "p\"a\\ss w\xc3\xb6rd");
    assert_int_equal(d.docker.credentials_store, 1);
    assert_int_equal(d.docker.retries, 3);
    assert_int_equal(d.docker.retry_delay_s, 2);
    assert_null(d.docker.images);
    assert_int_equal(d.docker.nauths, 0);
    mx_msg_clear(&d);

    /* defaults: no registry (docker.io), no store, no retries */
    mx_msg min = {.type = MX_MSG_STEP, .id = 4, .kind = MX_STEP_DOCKER_CHECK};
    round_trip(&min, &d);
    assert_null(d.docker.registry);
    assert_null(d.docker.password);
    assert_int_equal(d.docker.credentials_store, 0);
    assert_int_equal(d.docker.retries, 0);
    mx_msg_clear(&d);
}

static void test_step_docker_pull(void **state)
{
    (void)state;
    char *images[] = {
        "acme/private-db:1.2.3", "quay.io/project/image:tag",
        "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
    mx_docker_auth auths[] = {
        {.registry = "docker.io", .username = "hub", .password = "hub-pw"},
        {.registry = "quay.io", .username = "<token>", .identitytoken = "refresh-tok"},
    };
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 5,
                .kind = MX_STEP_DOCKER_PULL,
                .docker = {.images = images,
                           .nimages = 3,
                           .auths = auths,
                           .nauths = 2,
                           .ignore_errors = 1,
                           .retries = 2,
                           .retry_delay_s = 0}};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.kind, MX_STEP_DOCKER_PULL);
    assert_int_equal(d.docker.nimages, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(d.docker.images[i], images[i]);
    assert_int_equal(d.docker.nauths, 2);
    assert_string_equal(d.docker.auths[0].registry, "docker.io");
    assert_string_equal(d.docker.auths[0].username, "hub");
    assert_string_equal(d.docker.auths[0].password, "hub-pw");
    assert_null(d.docker.auths[0].identitytoken);
    assert_string_equal(d.docker.auths[1].username, "<token>");
    assert_null(d.docker.auths[1].password);
    assert_string_equal(d.docker.auths[1].identitytoken, "refresh-tok");
    assert_int_equal(d.docker.ignore_errors, 1);
    assert_int_equal(d.docker.retries, 2);
    assert_null(d.docker.registry);
    mx_msg_clear(&d);

    /* empty lists survive as empty */
    mx_msg empty = {.type = MX_MSG_STEP, .id = 6, .kind = MX_STEP_DOCKER_PULL};
    round_trip(&empty, &d);
    assert_int_equal(d.docker.nimages, 0);
    assert_int_equal(d.docker.nauths, 0);
    assert_int_equal(d.docker.ignore_errors, 0);
    mx_msg_clear(&d);

    /* a run step carries no docker object, and one sent anyway is ignored */
    mx_msg run = {.type = MX_MSG_STEP, .id = 7, .kind = MX_STEP_RUN, .command = "true"};
    wire_lacks(&run, "docker");
    decode_ok("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"docker\":{\"images\":[\"x\"]}}", &d);
    assert_int_equal(d.docker.nimages, 0);
    mx_msg_clear(&d);
}

static void test_step_containers(void **state)
{
    (void)state;
    char *ep[] = {"/bin/sh", "-c"}, *cmd[] = {"redis-server", "--port", "6380"};
    char *aliases[] = {"cache", "redis"};
    mx_kv env[] = {{"POSTGRES_PASSWORD", "pw"}};
    char *binds[] = {"~/builds:/home/circleci/builds"};
    mx_container_spec cs[] = {
        {.name = "mexec-j1-0",
         .image = "10.0.2.2:5001/private/app:run",
         .steps = 1,
         .user = "circleci",
         .binds = binds,
         .nbinds = 1},
        {.name = "mexec-j1-1",
         .image = "redis:7",
         .aliases = aliases,
         .naliases = 2,
         .entrypoint = ep,
         .nentrypoint = 0,
         .has_entrypoint = 1,
         .command = cmd,
         .ncommand = 3,
         .has_command = 1,
         .env = env,
         .nenv = 1},
    };
    char *images[] = {"10.0.2.2:5001/private/app:run", "redis:7"};
    mx_docker_auth auths[] = {{.registry = "10.0.2.2:5001", .username = "u", .password = "p"}};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 1,
                .kind = MX_STEP_CONTAINERS,
                .containers = cs,
                .ncontainers = 2,
                .network = "mexec-gitlab-r1-j2",
                .docker_socket = 1,
                .docker = {.images = images, .nimages = 2, .auths = auths, .nauths = 1}};
    mx_msg d;
    round_trip(&m, &d);
    assert_int_equal(d.kind, MX_STEP_CONTAINERS);
    assert_int_equal(d.ncontainers, 2);
    assert_string_equal(d.network, "mexec-gitlab-r1-j2");
    assert_int_equal(d.docker_socket, 1);
    assert_int_equal(d.docker.nimages, 2);
    assert_string_equal(d.docker.auths[0].password, "p");
    assert_string_equal(d.containers[0].name, "mexec-j1-0");
    assert_int_equal(d.containers[0].steps, 1);
    assert_string_equal(d.containers[0].user, "circleci");
    assert_int_equal(d.containers[0].has_entrypoint, 0);
    assert_int_equal(d.containers[0].has_command, 0);
    assert_int_equal(d.containers[0].nbinds, 1);
    assert_string_equal(d.containers[0].binds[0], "~/builds:/home/circleci/builds");
    assert_int_equal(d.containers[1].steps, 0);
    /* an empty entrypoint is an override (it clears the image's), not an absent one */
    assert_int_equal(d.containers[1].has_entrypoint, 1);
    assert_int_equal(d.containers[1].nentrypoint, 0);
    assert_int_equal(d.containers[1].ncommand, 3);
    assert_string_equal(d.containers[1].command[2], "6380");
    assert_int_equal(d.containers[1].naliases, 2);
    assert_string_equal(d.containers[1].aliases[1], "redis");
    assert_int_equal(d.containers[1].nenv, 1);
    assert_string_equal(d.containers[1].env[0].value, "pw");
    mx_msg_clear(&d);

    /* other steps name the container they run in and its user */
    mx_msg run = {.type = MX_MSG_STEP,
                  .id = 2,
                  .kind = MX_STEP_RUN,
                  .command = "true",
                  .container = "mexec-j1-0",
                  .user = "1000:1000"};
    round_trip(&run, &d);
    assert_string_equal(d.container, "mexec-j1-0");
    assert_string_equal(d.user, "1000:1000");
    assert_int_equal(d.ncontainers, 0);
    mx_msg_clear(&d);
    /* and a VM step names none */
    mx_msg vm = {.type = MX_MSG_STEP, .id = 3, .kind = MX_STEP_RUN, .command = "true"};
    wire_lacks(&vm, "container");
    wire_lacks(&vm, "user");
}

#define STEP_C(rest) "{\"type\":\"step\",\"id\":1,\"kind\":\"containers\"" rest "}"

static void test_reject_container_fields(void **state)
{
    (void)state;
    reject(STEP_C(""), "\"containers\" is not a list of containers");
    reject(STEP_C(",\"containers\":[]"), "\"containers\" is not a list of containers");
    reject(STEP_C(",\"containers\":[5]"), "containers[0]: not an object");
    reject(STEP_C(",\"containers\":[{\"image\":\"x\"}]"), "message lacks \"name\"");
    reject(STEP_C(",\"containers\":[{\"name\":\"a\"}]"), "containers[0]: no image");
    /* names travel in URL paths: nothing that could leave a path segment */
    reject(STEP_C(",\"containers\":[{\"name\":\"../x\",\"image\":\"x\"}]"),
           "\"name\" is not a container name");
    reject(STEP_C(",\"containers\":[{\"name\":\"a?b\",\"image\":\"x\"}]"),
           "\"name\" is not a container name");
    reject(STEP_C(",\"containers\":[{\"name\":\"-a\",\"image\":\"x\"}]"),
           "\"name\" is not a container name");
    reject(STEP_C(",\"network\":\"a/b\",\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]"),
           "\"network\" is not a container name");
    reject(STEP_C(",\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"steps\":1}]"),
           "\"steps\" is not a boolean");
    reject(STEP_C(",\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"command\":\"ls\"}]"),
           "\"command\" is not an array");
    reject(STEP_C(",\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"env\":{\"A\":1}}]"),
           "env \"A\" is not a string");
    reject(STEP_C(",\"docker_socket\":\"yes\",\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]"),
           "\"docker_socket\" is not a boolean");
    reject(STEP_C(",\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"binds\":[\"/x\"]}]"),
           "binds[0] is not VMDIR:/PATH");
    reject(STEP_C(",\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"binds\":[\"~/a:/b:rw\"]}]"),
           "binds[0] is not VMDIR:/PATH");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"container\":\"a b\"}",
           "\"container\" is not a container name");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"user\":0}", "\"user\" is not a string");
    /* more containers than a job can mean */
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "{\"type\":\"step\",\"id\":1,\"kind\":\"containers\",\"containers\":[");
    for (int i = 0; i < 65; i++)
        mx_buf_printf(&b, "%s{\"name\":\"c%d\",\"image\":\"x\"}", i ? "," : "", i);
    mx_buf_adds(&b, "]}");
    reject(b.data, "more than 64 containers");
    mx_buf_free(&b);
}

#define STEP_D(kind, docker)                                                                       \
    "{\"type\":\"step\",\"id\":1,\"kind\":\"" kind "\",\"docker\":" docker "}"

static void test_reject_docker_fields(void **state)
{
    (void)state;
    reject(STEP_D("docker-check", "[]"), "\"docker\" is not an object");
    reject(STEP_D("docker-check", "{\"registry\":5}"), "\"registry\" is not a string");
    reject(STEP_D("docker-check", "{\"username\":null}"), "\"username\" is not a string");
    reject(STEP_D("docker-check", "{\"password\":[\"x\"]}"), "\"password\" is not a string");
    reject(STEP_D("docker-check", "{\"credentials_store\":\"true\"}"),
           "\"credentials_store\" is not a boolean");
    reject(STEP_D("docker-check", "{\"credentials_store\":1}"),
           "\"credentials_store\" is not a boolean");
    reject(STEP_D("docker-check", "{\"retries\":\"3\"}"), "\"retries\" is not an integer");
    reject(STEP_D("docker-check", "{\"retries\":-1}"), "\"retries\" is out of range");
    reject(STEP_D("docker-check", "{\"retry_delay_s\":1.5}"),
           "\"retry_delay_s\" is not an integer");
    reject(STEP_D("docker-pull", "{\"images\":\"a,b\"}"), "\"images\" is not an array");
    /* the first entries were decoded: they must be released (ASan checks) */
    reject(STEP_D("docker-pull", "{\"images\":[\"a\",\"b\",3]}"), "images[2] is not a string");
    reject(STEP_D("docker-pull", "{\"images\":[],\"auths\":{}}"), "\"auths\" is not an array");
    reject(STEP_D("docker-pull", "{\"auths\":[\"docker.io\"]}"), "auths[0] is not an object");
    reject(STEP_D("docker-pull", "{\"auths\":[{\"registry\":\"a\",\"password\":\"pw\"},"
                                 "{\"username\":\"u\",\"password\":\"pw\"}]}"),
           "auths[1]: message lacks \"registry\"");
    reject(STEP_D("docker-pull", "{\"auths\":[{\"registry\":\"a\",\"password\":7}]}"),
           "\"password\" is not a string");
    reject(STEP_D("docker-pull", "{\"auths\":[{\"registry\":\"a\",\"identitytoken\":false}]}"),
           "\"identitytoken\" is not a string");
    reject(STEP_D("docker-pull", "{\"ignore_errors\":0}"), "\"ignore_errors\" is not a boolean");
}

static void test_decode_ignores_unknown_fields(void **state)
{
    (void)state;
    /* a newer peer may add fields: they are ignored, not fatal */
    mx_msg m;
    decode_ok("{\"type\":\"hello\",\"version\":1,\"features\":[\"x\"],\"agent\":\"a\"}", &m);
    assert_int_equal(m.type, MX_MSG_HELLO);
    assert_string_equal(m.agent, "a");
    mx_msg_clear(&m);
    /* decode uses len, not the NUL: what follows the given length is not part of the line */
    const char *two = "{\"type\":\"bye\"}{\"type\":\"cancel\"}";
    mx_err err;
    assert_int_equal(mx_msg_decode(two, 14, &m, &err), 0);
    assert_int_equal(m.type, MX_MSG_BYE);
    mx_msg_clear(&m);
}

/* ---- mx_lines ---- */

typedef struct collected {
    char **v;
    size_t *lens;
    size_t n;
} collected;

static void drain_lines(mx_lines *l, collected *c)
{
    char *line;
    size_t len;
    while (mx_lines_next(l, &line, &len)) {
        assert_int_equal(line[len], '\0');
        c->v = mx_xrealloc(c->v, (c->n + 1) * sizeof *c->v);
        c->lens = mx_xrealloc(c->lens, (c->n + 1) * sizeof *c->lens);
        c->v[c->n] = line;
        c->lens[c->n] = len;
        c->n++;
    }
}

static void collected_free(collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i]);
    free(c->v);
    free(c->lens);
    memset(c, 0, sizeof *c);
}

static void test_lines_basic(void **state)
{
    (void)state;
    mx_lines l;
    mx_lines_init(&l);
    mx_err err;
    char *line = NULL;
    size_t len = 0;
    assert_int_equal(mx_lines_next(&l, &line, &len), 0);
    assert_int_equal(mx_lines_feed(&l, "abc", 3, &err), 0);
    assert_int_equal(mx_lines_next(&l, &line, &len), 0); /* incomplete */
    assert_int_equal(mx_lines_feed(&l, "\n\nx\0y\nrest", 11, &err), 0);
    assert_int_equal(mx_lines_next(&l, &line, &len), 1);
    assert_int_equal(len, 3);
    assert_string_equal(line, "abc");
    free(line);
    assert_int_equal(mx_lines_next(&l, &line, &len), 1); /* empty line */
    assert_int_equal(len, 0);
    assert_string_equal(line, "");
    free(line);
    assert_int_equal(mx_lines_next(&l, &line, &len), 1); /* NUL inside a line is kept */
    assert_int_equal(len, 3);
    assert_memory_equal(line, "x\0y", 3);
    free(line);
    assert_int_equal(mx_lines_next(&l, &line, &len), 0); /* "rest" waits for its newline */
    assert_int_equal(mx_lines_feed(&l, "", 0, &err), 0);
    assert_int_equal(mx_lines_next(&l, &line, &len), 0);
    assert_int_equal(mx_lines_feed(&l, "\n", 1, &err), 0);
    assert_int_equal(mx_lines_next(&l, &line, &len), 1);
    assert_string_equal(line, "rest");
    free(line);
    mx_lines_free(&l);
    /* an empty accumulator frees cleanly too */
    mx_lines_init(&l);
    mx_lines_free(&l);
}

/* A stream of real protocol messages, cut into chunks at every boundary. */
static char *message_stream(size_t *len, size_t *nmsgs)
{
    unsigned char bin[] = {0, 1, 2, '\n', 0xff, 0xfe, '\r', 0x80};
    mx_kv env[] = {{"A", "1"}, {"NL", "x\ny"}};
    mx_msg msgs[] = {
        {.type = MX_MSG_HELLO, .version = 1, .agent = "mexec-agent test"},
        {.type = MX_MSG_STEP,
         .id = 1,
         .kind = MX_STEP_RUN,
         .command = "echo \"a\nb\"",
         .env = env,
         .nenv = 2},
        {.type = MX_MSG_OUTPUT,
         .id = 1,
         .stream = MX_STREAM_STDOUT,
         .data = bin,
         .len = sizeof bin},
        {.type = MX_MSG_CANCEL},
        {.type = MX_MSG_STEP_END, .id = 1, .exit_status = 143, .reason = MX_END_CANCELLED},
        {.type = MX_MSG_BYE},
    };
    mx_buf b;
    mx_buf_init(&b);
    for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++) {
        size_t n;
        char *line = mx_msg_encode(&msgs[i], &n);
        mx_buf_add(&b, line, n);
        free(line);
    }
    *len = b.len;
    *nmsgs = sizeof msgs / sizeof *msgs;
    return mx_buf_steal(&b);
}

static void check_stream_lines(const collected *c, size_t nmsgs)
{
    const enum mx_msg_type want[] = {MX_MSG_HELLO,  MX_MSG_STEP,     MX_MSG_OUTPUT,
                                     MX_MSG_CANCEL, MX_MSG_STEP_END, MX_MSG_BYE};
    assert_int_equal(c->n, nmsgs);
    for (size_t i = 0; i < c->n; i++) {
        mx_msg m;
        mx_err err;
        if (mx_msg_decode(c->v[i], c->lens[i], &m, &err) < 0) fail_msg("%s", err.msg);
        assert_int_equal(m.type, want[i]);
        if (m.type == MX_MSG_OUTPUT) {
            assert_int_equal(m.len, 8);
            assert_memory_equal(m.data, "\0\1\2\n\xff\xfe\r\x80", 8);
        }
        if (m.type == MX_MSG_STEP) assert_string_equal(m.env[1].value, "x\ny");
        mx_msg_clear(&m);
    }
}

static void test_lines_every_split(void **state)
{
    (void)state;
    size_t len, nmsgs;
    char *s = message_stream(&len, &nmsgs);
    mx_err err;
    /* two chunks, cut at every position */
    for (size_t cut = 0; cut <= len; cut++) {
        mx_lines l;
        mx_lines_init(&l);
        collected c = {0};
        assert_int_equal(mx_lines_feed(&l, s, cut, &err), 0);
        drain_lines(&l, &c);
        assert_int_equal(mx_lines_feed(&l, s + cut, len - cut, &err), 0);
        drain_lines(&l, &c);
        check_stream_lines(&c, nmsgs);
        assert_int_equal(l.len, 0);
        collected_free(&c);
        mx_lines_free(&l);
    }
    /* three chunks at every pair of positions, draining only at the end */
    for (size_t a = 0; a <= len; a += 7) {
        for (size_t b = a; b <= len; b += 5) {
            mx_lines l;
            mx_lines_init(&l);
            collected c = {0};
            assert_int_equal(mx_lines_feed(&l, s, a, &err), 0);
            assert_int_equal(mx_lines_feed(&l, s + a, b - a, &err), 0);
            drain_lines(&l, &c);
            assert_int_equal(mx_lines_feed(&l, s + b, len - b, &err), 0);
            drain_lines(&l, &c);
            check_stream_lines(&c, nmsgs);
            collected_free(&c);
            mx_lines_free(&l);
        }
    }
    /* one byte at a time, and pseudo-random chunk sizes */
    for (unsigned seed = 0; seed < 20; seed++) {
        mx_lines l;
        mx_lines_init(&l);
        collected c = {0};
        unsigned x = seed * 2654435761u + 1;
        for (size_t at = 0; at < len;) {
            x = x * 1103515245u + 12345u;
            size_t n = seed == 0 ? 1 : 1 + (x >> 16) % 97;
            if (n > len - at) n = len - at;
            assert_int_equal(mx_lines_feed(&l, s + at, n, &err), 0);
            at += n;
            if (x & 0x100) drain_lines(&l, &c);
        }
        drain_lines(&l, &c);
        check_stream_lines(&c, nmsgs);
        collected_free(&c);
        mx_lines_free(&l);
    }
    free(s);
}

static void test_lines_max_line(void **state)
{
    (void)state;
    const size_t max = MX_PROTO_MAX_LINE;
    const size_t chunk = 1024 * 1024;
    char *big = mx_xmalloc(max + 2);
    memset(big, 'x', max + 2);
    mx_err err = {0};
    char *line;
    size_t len;

    /* exactly the limit, then its newline: accepted */
    mx_lines l;
    mx_lines_init(&l);
    for (size_t at = 0; at < max; at += chunk)
        assert_int_equal(mx_lines_feed(&l, big + at, max - at < chunk ? max - at : chunk, &err), 0);
    assert_int_equal(mx_lines_feed(&l, "\nnext", 5, &err), 0);
    assert_int_equal(mx_lines_next(&l, &line, &len), 1);
    assert_int_equal(len, max);
    assert_int_equal(line[max - 1], 'x');
    free(line);
    mx_lines_free(&l);

    /* the limit plus a byte, in pieces: refused when the line outgrows the limit */
    mx_lines_init(&l);
    for (size_t at = 0; at < max; at += chunk)
        assert_int_equal(mx_lines_feed(&l, big + at, chunk, &err), 0);
    assert_int_equal(mx_lines_feed(&l, "x", 1, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    tu_assert_contains(err.msg, "protocol line longer than 8388608 bytes");
    mx_lines_free(&l);

    /* one chunk of limit+1 bytes and its newline: still too long */
    mx_lines_init(&l);
    big[max + 1] = '\n';
    assert_int_equal(mx_lines_feed(&l, big, max + 2, &err), -1);
    tu_assert_contains(err.msg, "protocol line longer");
    mx_lines_free(&l);

    /* a short complete line first does not excuse an overlong one after it */
    mx_lines_init(&l);
    assert_int_equal(mx_lines_feed(&l, "{}\n", 3, &err), 0);
    big[max + 1] = 'x';
    assert_int_equal(mx_lines_feed(&l, big, max + 1, &err), -1);
    mx_lines_free(&l);

    /* many lines that together exceed the limit are fine */
    mx_lines_init(&l);
    for (size_t i = 0; i < max + 2; i += 1000)
        big[i] = '\n';
    assert_int_equal(mx_lines_feed(&l, big, max + 2, &err), 0);
    size_t nlines = 0;
    while (mx_lines_next(&l, &line, &len)) {
        assert_true(len < 1000);
        free(line);
        nlines++;
    }
    assert_int_equal(nlines, (max + 2 + 999) / 1000);
    mx_lines_free(&l);
    free(big);
}

/* Bytes that are not UTF-8 never abort: env values arrive exactly (env_b64), human text is
 * repaired, and fields that must be exact are refused by mx_msg_check naming the field. */
static void test_not_utf8(void **state)
{
    (void)state;
    mx_kv env[] = {{"BRANCH", "f\xe9"
                              "ature"},
                   {"PLAIN", "caf\xc3\xa9"},
                   {"DIR", "/p/\xff\xfe"}};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 1,
                .kind = MX_STEP_RUN,
                .name = "build \xff",
                .command = "echo hi",
                .env = env,
                .nenv = 3};
    mx_err err = {0};
    assert_int_equal(mx_msg_check(&m, &err), 0); /* a name is text; values are carried */
    wire_has(&m, "\"env_b64\":{");
    wire_has(&m, "\"PLAIN\":\"caf\xc3\xa9\""); /* valid ones stay readable */
    wire_has(&m, "\"name\":\"build \xef\xbf\xbd\"");
    mx_msg out;
    round_trip(&m, &out);
    assert_int_equal(out.nenv, 3);
    for (size_t i = 0; i < 3; i++) {
        int found = 0;
        for (size_t j = 0; j < out.nenv; j++)
            if (strcmp(out.env[j].key, env[i].key) == 0) {
                assert_string_equal(out.env[j].value, env[i].value); /* byte for byte */
                found = 1;
            }
        assert_true(found);
    }
    mx_msg_clear(&out);
    /* exact fields: refused before anything is sent, naming the step and the field */
    static const char *const fields[] = {"command", "workdir", "shell", "key", "password"};
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
        mx_msg bad = m;
        mx_kv badenv[] = {{"K\xff", "v"}};
        if (f == 0) bad.command = "echo \xff";
        if (f == 1) bad.workdir = "/home/\xe9";
        if (f == 2) bad.shell = "/bin/\xff";
        if (f == 3) bad.env = badenv, bad.nenv = 1;
        if (f == 4) {
            bad.kind = MX_STEP_DOCKER_CHECK;
            bad.docker.registry = "r.example";
            bad.docker.password = "pa\xffss";
        }
        assert_int_equal(mx_msg_check(&bad, &err), -1);
        assert_int_equal(err.status, MX_USAGE);
        tu_assert_contains(err.msg, "step \"build \xef\xbf\xbd\": ");
        tu_assert_contains(err.msg, "is not valid UTF-8");
        /* and even unchecked, encoding does not abort */
        char *line = mx_msg_encode(&bad, NULL);
        assert_non_null(line);
        free(line);
    }
    /* what the agent says: a guest file name in a message */
    mx_msg end = {.type = MX_MSG_STEP_END,
                  .id = 2,
                  .reason = MX_END_FAILED,
                  .message = "cannot open /tmp/\xff\xfe"};
    round_trip(&end, &out);
    assert_string_equal(out.message, "cannot open /tmp/\xef\xbf\xbd\xef\xbf\xbd");
    mx_msg_clear(&out);
    mx_msg e = {.type = MX_MSG_ERROR, .message = "\xc3"};
    round_trip(&e, &out);
    assert_string_equal(out.message, "\xef\xbf\xbd");
    mx_msg_clear(&out);
    assert_int_equal(mx_msg_check(&e, &err), 0);
}

static void test_reject_env_b64(void **state)
{
    (void)state;
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"env_b64\":[]}",
           "\"env_b64\" is not an object");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"env_b64\":{\"K\":1}}",
           "env_b64 \"K\" is not a string");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"env_b64\":{\"K\":\"*\"}}",
           "env_b64 \"K\" is not base64");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"env_b64\":{\"K\":\"YQBi\"}}",
           "env_b64 \"K\" holds a NUL byte");
    reject("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"env\":{\"K\":\"a\"},"
           "\"env_b64\":{\"K\":\"/w==\"}}",
           "\"K\" is in both env and env_b64");
    mx_msg m;
    decode_ok("{\"type\":\"step\",\"id\":1,\"kind\":\"run\",\"env_b64\":{\"K\":\"/w==\"}}", &m);
    assert_int_equal(m.nenv, 1);
    assert_string_equal(m.env[0].value, "\xff");
    mx_msg_clear(&m);
}

/* Output lines are written and read without jansson; both ways agree with jansson's. */
static void test_output_fast_path(void **state)
{
    (void)state;
    unsigned char bytes[300];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 7);
    for (size_t n = 0; n < sizeof bytes; n += 37) {
        mx_msg m = {.type = MX_MSG_OUTPUT,
                    .id = (int)n - 100,
                    .stream = n % 2 ? MX_STREAM_STDERR : MX_STREAM_STDOUT,
                    .data = bytes,
                    .len = n};
        size_t a, b;
        char *fast = mx_msg_encode(&m, &a), *slow = mx_msg_encode_generic(&m, &b);
        assert_int_equal(a, b);
        assert_memory_equal(fast, slow, a);
        mx_msg x, y;
        mx_err err;
        assert_int_equal(mx_msg_decode(fast, a - 1, &x, &err), 0);
        assert_int_equal(mx_msg_decode_generic(fast, a - 1, &y, &err), 0);
        assert_int_equal(x.id, m.id);
        assert_int_equal(x.stream, m.stream);
        assert_int_equal(x.len, n);
        assert_int_equal(y.len, n);
        if (n) assert_memory_equal(x.data, bytes, n);
        mx_msg_clear(&x);
        mx_msg_clear(&y);
        free(fast);
        free(slow);
    }
    /* other spellings of the same message go the general way, to the same result */
    mx_msg m;
    decode_ok("{\"type\":\"output\",\"stream\":\"stdout\",\"id\":4,\"data\":\"aGk=\"}", &m);
    assert_int_equal(m.id, 4);
    assert_int_equal(m.len, 2);
    mx_msg_clear(&m);
    decode_ok("{\"type\":\"output\",\"id\":4,\"stream\":\"stdout\",\"data\":\"a\\/8=\"}", &m);
    assert_int_equal(m.len, 2);
    mx_msg_clear(&m);
    reject("{\"type\":\"output\",\"id\":04,\"stream\":\"stdout\",\"data\":\"aGk=\"}",
           "bad protocol line");
    reject("{\"type\":\"output\",\"id\":4,\"stream\":\"stdout\",\"data\":\"a*k=\"}",
           "output message: output data is not base64");
}

/* mx_lines_view hands out lines in place; many lines in one feed are each handed out once. */
static void test_lines_view(void **state)
{
    (void)state;
    mx_lines l;
    mx_lines_init(&l);
    mx_err err;
    mx_buf many;
    mx_buf_init(&many);
    for (int i = 0; i < 5000; i++)
        mx_buf_printf(&many, "line %d\n", i);
    mx_buf_adds(&many, "tail");
    assert_int_equal(mx_lines_feed(&l, many.data, many.len, &err), 0);
    const char *line;
    size_t len;
    for (int i = 0; i < 5000; i++) {
        char want[32];
        snprintf(want, sizeof want, "line %d", i);
        assert_int_equal(mx_lines_view(&l, &line, &len), 1);
        assert_int_equal(len, strlen(want));
        assert_string_equal(line, want);
    }
    assert_int_equal(mx_lines_view(&l, &line, &len), 0);
    assert_int_equal(mx_lines_feed(&l, "!\n", 2, &err), 0);
    assert_int_equal(mx_lines_view(&l, &line, &len), 1);
    assert_string_equal(line, "tail!");
    assert_int_equal(mx_lines_view(&l, &line, &len), 0);
    mx_buf_free(&many);
    mx_lines_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_step_run),
        cmocka_unit_test(test_step_minimal_defaults),
        cmocka_unit_test(test_step_checkout),
        cmocka_unit_test(test_step_persist),
        cmocka_unit_test(test_step_attach),
        cmocka_unit_test(test_reject_workspace_fields),
        cmocka_unit_test(test_job_step_kinds),
        cmocka_unit_test(test_step_docker_check),
        cmocka_unit_test(test_step_docker_pull),
        cmocka_unit_test(test_reject_docker_fields),
        cmocka_unit_test(test_step_containers),
        cmocka_unit_test(test_reject_container_fields),
        cmocka_unit_test(test_cancel_bye),
        cmocka_unit_test(test_output_binary),
        cmocka_unit_test(test_step_end_every_reason),
        cmocka_unit_test(test_step_background),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_reject_not_json),
        cmocka_unit_test(test_reject_not_object),
        cmocka_unit_test(test_reject_missing_or_unknown_type),
        cmocka_unit_test(test_reject_wrong_field_types),
        cmocka_unit_test(test_reject_bad_base64),
        cmocka_unit_test(test_reject_duplicate_keys),
        cmocka_unit_test(test_decode_ignores_unknown_fields),
        cmocka_unit_test(test_lines_basic),
        cmocka_unit_test(test_lines_every_split),
        cmocka_unit_test(test_lines_max_line),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_reject_env_b64),
        cmocka_unit_test(test_lines_view),
        cmocka_unit_test(test_output_fast_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
