/* libFuzzer: the agent protocol reader, which both binaries run on what the other side (or a
 * compromised guest) sends.  Any line either decodes or is refused with an error; a decoded
 * message must encode again and decode to the same line (the reader and writer agree); and the
 * fast paths for output lines must agree with the general (jansson) reader and writer. */
#include "mx_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fast and the general decoder accept the same lines, with the same result. */
static void same_decoding(const char *line, size_t len)
{
    mx_msg a, b;
    mx_err err;
    int ra = mx_msg_decode(line, len, &a, &err);
    int rb = mx_msg_decode_generic(line, len, &b, &err);
    if (ra != rb) abort();
    if (ra == 0) {
        if (a.type != b.type || a.id != b.id || a.stream != b.stream || a.len != b.len ||
            (a.len && memcmp(a.data, b.data, a.len) != 0))
            abort();
        mx_msg_clear(&a);
        mx_msg_clear(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* through the line splitter too, as the session and the agent read */
    mx_lines lines;
    mx_lines_init(&lines);
    mx_err err;
    if (mx_lines_feed(&lines, data, size, &err) == 0) {
        char *line;
        size_t len;
        while (mx_lines_next(&lines, &line, &len)) {
            same_decoding(line, len);
            mx_msg m;
            if (mx_msg_decode(line, len, &m, &err) == 0) {
                size_t n1 = 0, n2 = 0, n3 = 0;
                char *once = mx_msg_encode(&m, &n1);
                mx_msg again;
                if (mx_msg_decode(once, n1 - 1, &again, &err) < 0) abort();
                char *twice = mx_msg_encode(&again, &n2);
                if (n1 != n2 || memcmp(once, twice, n1) != 0) abort();
                /* the fast writer writes what jansson would */
                char *generic = mx_msg_encode_generic(&m, &n3);
                if (n1 != n3 || memcmp(once, generic, n1) != 0) abort();
                free(once);
                free(twice);
                free(generic);
                mx_msg_clear(&again);
                mx_msg_clear(&m);
            }
            free(line);
        }
    }
    mx_lines_free(&lines);
    return 0;
}
