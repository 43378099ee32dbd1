// SPDX-License-Identifier: MIT
// View parameters from text (see ml_view_params.h).
#include "ml_view_params.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/ml_error.h"

/* A decimal integer in [0, max]: 0, or -1 (and *why set) when malformed. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s == '\0' || strlen(s) > 20) {
        return -1;
    }
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (max - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int
parse_threads(const char *s, ml_view_params *p)
{
    size_t n = 0;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char num[24];
        uint64_t v;
        if (len == 0 || len >= sizeof num || n == ML_VIEW_MAX_THREADS) {
            return -1;
        }
        memcpy(num, s, len);
        num[len] = '\0';
        if (parse_u64(num, UINT32_MAX, &v) < 0 || v == 0) {
            return -1;
        }
        p->threads[n++] = (uint32_t)v;
        s += len + (comma != NULL);
        if (comma && *s == '\0') {
            return -1;
        }
    }
    p->q.threads = p->threads;
    p->q.nthreads = n;
    return n > 0 ? 0 : -1;
}

int
ml_view_params_parse(ml_view_params *p, ml_view_param_fn get, void *ctx)
{
    static const struct {
        const char *key;
        uint64_t max;
        size_t off;
    } nums[] = {
        {"from", UINT64_C(1) << 62, offsetof(ml_view_query, from)},
        {"to", UINT64_C(1) << 62, offsetof(ml_view_query, to)},
        {"offset", UINT64_C(1) << 40, offsetof(ml_view_query, offset)},
        {"limit", 10000, offsetof(ml_view_query, limit)},
        {"at", UINT64_C(1) << 62, offsetof(ml_view_query, at)},
        {"since", UINT64_C(1) << 62, offsetof(ml_view_query, since)},
    };
    memset(p, 0, sizeof *p);
    ml_view_query_init(&p->q);
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        const char *v = get(ctx, nums[i].key);
        if (v
            && parse_u64(v, nums[i].max,
                         (uint64_t *)((char *)&p->q + nums[i].off))
                   < 0) {
            snprintf(p->why, sizeof p->why,
                     "%s must be an integer from 0 to %llu", nums[i].key,
                     (unsigned long long)nums[i].max);
            return ML_EINVAL;
        }
    }
    const char *v;
    uint64_t x;
    if ((v = get(ctx, "width")) != NULL) {
        if (parse_u64(v, ML_VIEW_MAX_WIDTH, &x) < 0 || x == 0) {
            snprintf(p->why, sizeof p->why,
                     "width must be an integer from 1 to %d",
                     ML_VIEW_MAX_WIDTH);
            return ML_EINVAL;
        }
        p->q.width = (uint32_t)x;
    }
    if ((v = get(ctx, "depth")) != NULL) {
        if (parse_u64(v, 65535, &x) < 0) {
            snprintf(p->why, sizeof p->why, "depth must be 0 to 65535");
            return ML_EINVAL;
        }
        p->q.depth = (uint32_t)x;
    }
    if ((v = get(ctx, "level")) != NULL) {
        if (parse_u64(v, 1000, &x) < 0) {
            snprintf(p->why, sizeof p->why, "level must be 0 to 1000");
            return ML_EINVAL;
        }
        p->q.min_level = (uint32_t)x;
    }
    if ((v = get(ctx, "thread")) != NULL && v[0] != '\0'
        && parse_threads(v, p) < 0) {
        snprintf(p->why, sizeof p->why,
                 "thread must be a comma-separated list of up to %d thread "
                 "ids",
                 ML_VIEW_MAX_THREADS);
        return ML_EINVAL;
    }
    if (p->q.to != UINT64_MAX && get(ctx, "to") && p->q.to <= p->q.from) {
        snprintf(p->why, sizeof p->why, "to must be greater than from");
        return ML_EINVAL;
    }
    if ((v = get(ctx, "q")) != NULL && v[0] != '\0') {
        int err = ml_regex_new(v, &p->re, p->why, sizeof p->why);
        if (err < 0) {
            return err == ML_ENOMEM ? ML_ENOMEM : ML_ELIMIT;
        }
        p->q.re = p->re;
    }
    return ML_OK;
}

void
ml_view_params_free(ml_view_params *p)
{
    ml_regex_free(p->re);
    p->re = NULL;
}
