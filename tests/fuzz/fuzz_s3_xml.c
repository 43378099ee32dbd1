// SPDX-License-Identifier: MIT
// Fuzz target: the S3 client's readers of server answers (ml_s3_xml): a
// list page, the error body's code and message, and unescaping. Whatever
// the bytes, every read stays inside them, results are 0/1 or an ML_E*
// code, and every key handed out is NUL-terminated and fits the bound.
// Replayed over tests/fuzz/corpus/s3_xml/.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "net/ml_s3_xml.h"

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_s3_xml: %s:%d: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

static int
entry(void *ctx, const char *key, uint64_t size)
{
    (void)size;
    unsigned *n = ctx;
    CHECK(strlen(key) < ML_S3_XML_MAX_TEXT);
    return ++*n > 100000 ? 1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    unsigned n = 0;
    int truncated = -1;
    char token[256], text[128];
    int r = ml_s3_xml_list_page(xml, size, entry, &n, &truncated, token,
                                sizeof token);
    CHECK(r == 0 || r == 1 || r == ML_ECORRUPT || r == ML_ELIMIT);
    CHECK(r != 0 || strlen(token) < sizeof token);
    static const char *tags[] = {"Code", "Message", "Key"};
    for (size_t i = 0; i < 3; i++) {
        r = ml_s3_xml_text(xml, size, tags[i], text, sizeof text);
        CHECK(r == 0 || r == 1 || r == ML_ECORRUPT || r == ML_ELIMIT);
        CHECK(r != 1 || strlen(text) < sizeof text);
    }
    char *out = malloc(size + 1);
    if (out != NULL) {
        r = ml_s3_xml_unescape(xml, size, out, size + 1);
        /* Unescaping never grows the text: it always fits. */
        CHECK(r == ML_ECORRUPT || (r >= 0 && (size_t)r <= size));
        free(out);
    }
    return 0;
}
