// SPDX-License-Identifier: MIT
// JSON values for the CLI (see ml_cli_json.h).
#include "ml_cli_json.h"

#include <stdlib.h>
#include <string.h>

json_t *
ml_json_bytes(const uint8_t *p, size_t len)
{
    if (len == 0) {
        return json_string("");
    }
    json_t *j = json_stringn((const char *)p, len);
    if (j != NULL) {
        return j;
    }
    char *copy = malloc(len);
    if (copy == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        copy[i] = p[i] >= 0x80 || p[i] == 0 ? '?' : (char)p[i];
    }
    j = json_stringn(copy, len);
    free(copy);
    return j;
}

json_t *
ml_json_text(const char *s)
{
    if (s == NULL) {
        return json_null();
    }
    return ml_json_bytes((const uint8_t *)s, strlen(s));
}

json_t *
ml_json_uint(uint64_t v)
{
    if (v > (uint64_t)INT64_MAX) {
        return json_real((double)v);
    }
    return json_integer((json_int_t)v);
}
