// SPDX-License-Identifier: MIT
// JSON values and building helpers (see ml_json.h).
#include "ml_json.h"

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

json_t *
ml_json_real(double v)
{
    json_t *j = json_real(v);
    return j != NULL ? j : json_null(); /* NaN and infinities */
}

void
ml_json_put(json_t *obj, const char *key, json_t *v, int *failed)
{
    if (v == NULL || obj == NULL || json_object_set_new(obj, key, v) < 0) {
        *failed = 1;
    }
}

void
ml_json_append(json_t *arr, json_t *v, int *failed)
{
    if (v == NULL || arr == NULL || json_array_append_new(arr, v) < 0) {
        *failed = 1;
    }
}
