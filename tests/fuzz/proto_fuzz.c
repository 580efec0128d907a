/* libFuzzer: the agent protocol reader, which both binaries run on what the other side (or a
 * compromised guest) sends.  Any line either decodes or is refused with an error; a decoded
 * message must encode again and decode to the same line (the reader and writer agree). */
#include "mx_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
            mx_msg m;
            if (mx_msg_decode(line, len, &m, &err) == 0) {
                size_t n1 = 0, n2 = 0;
                char *once = mx_msg_encode(&m, &n1);
                mx_msg again;
                if (mx_msg_decode(once, n1 - 1, &again, &err) < 0) abort();
                char *twice = mx_msg_encode(&again, &n2);
                if (n1 != n2 || memcmp(once, twice, n1) != 0) abort();
                free(once);
                free(twice);
                mx_msg_clear(&again);
                mx_msg_clear(&m);
            }
            free(line);
        }
    }
    mx_lines_free(&lines);
    return 0;
}
