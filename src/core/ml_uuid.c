// SPDX-License-Identifier: MIT
// UUID versions 7 and 8 and their text form (see ml_uuid.h; RFC 9562).
#include "ml_uuid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "ml_error.h"
#include "ml_hash.h"

static void
set_version(uint8_t id[16], unsigned version)
{
    id[6] = (uint8_t)((id[6] & 0x0f) | (version << 4));
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* the RFC 9562 variant */
}

int
ml_uuid_v7(uint64_t unix_ms, uint8_t out[16])
{
    uint8_t rnd[10];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
        if (n < 0 && errno != EINTR) {
            return ML_EIO;
        }
        got += n > 0 ? (size_t)n : 0;
    }
    for (int i = 0; i < 6; i++) {
        out[i] = (uint8_t)(unix_ms >> (40 - 8 * i));
    }
    memcpy(out + 6, rnd, sizeof rnd);
    set_version(out, 7);
    return ML_OK;
}

void
ml_uuid_from_name(const void *name, size_t len, uint8_t out[16])
{
    /* Two independent 64-bit hashes: ids only need to differ between
     * different runs, not to resist an adversary. */
    uint64_t a = ml_hash_bytes(name, len);
    uint64_t b = ml_hash_mix(a, (uint64_t)len ^ 0x6d6c6f67ULL);
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(b >> (56 - 8 * i));
    }
    set_version(out, 8);
}

void
ml_uuid_format(const uint8_t id[16], char out[ML_UUID_TEXT])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        *p++ = hex[id[i] >> 4];
        *p++ = hex[id[i] & 15];
    }
    *p = '\0';
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int
ml_uuid_parse(const char *text, uint8_t out[16])
{
    if (text == NULL || strlen(text) != 36) {
        return ML_EINVAL;
    }
    const char *p = text;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (*p++ != '-') {
                return ML_EINVAL;
            }
        }
        int hi = hex_value(p[0]), lo = hex_value(p[1]);
        if (hi < 0 || lo < 0) {
            return ML_EINVAL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    return ML_OK;
}
