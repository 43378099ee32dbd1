// SPDX-License-Identifier: MIT
// Similar calls (ml_index_int.h): for each (caller function, function),
// the number of calls, a uniform sample of them (reservoir sampling) and
// the longest ones (a min-heap), in bounded memory whatever the run's
// length. The anomaly rule is fitted on the sample (ml_anomaly.h).
#include <math.h>

#include "core/ml_error.h"
#include "ml_index_int.h"

static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Uniform in (0, 1). */
static double
uniform(uint64_t *s)
{
    return ((double)(rng_next(s) >> 11) + 0.5) * 0x1.0p-53;
}

/* Algorithm L (Li, 1994): instead of a random draw per call, the index of
 * the next call to enter the full sample, so most calls cost a compare. */
static void
schedule_next_pick(ix_pair *p)
{
    p->w *= exp(log(uniform(&p->rng)) / IX_RESERVOIR);
    double skip = floor(log(uniform(&p->rng)) / log1p(-p->w));
    p->next_pick =
        p->count + 1 + (skip < 1e18 ? (uint64_t)skip : UINT64_C(1) << 60);
}

static void heap_settle(ix_call *h, size_t n);

/* Keeps the IX_LONGEST longest calls as a min-heap on duration. */
static void
heap_offer(ix_pair *p, const ix_call *c)
{
    ix_call *h = p->longest.items;
    size_t n = p->longest.len;
    if (n < IX_LONGEST) {
        if (ML_VEC_PUSH(p->longest, *c) < 0) {
            return;
        }
        h = p->longest.items;
        for (size_t i = n; i > 0 && h[(i - 1) / 2].dur_us > h[i].dur_us;) {
            ix_call tmp = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = tmp;
            i = (i - 1) / 2;
        }
        if (n + 1 == IX_LONGEST) {
            p->longest_min = h[0].dur_us;
        }
        return;
    }
    if (c->dur_us <= h[0].dur_us) {
        return;
    }
    h[0] = *c;
    heap_settle(h, n);
    p->longest_min = h[0].dur_us;
}

/* Moves the root of a min-heap of n calls down to its place. */
static void
heap_settle(ix_call *h, size_t n)
{
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && h[l].dur_us < h[m].dur_us) {
            m = l;
        }
        if (l + 1 < n && h[l + 1].dur_us < h[m].dur_us) {
            m = l + 1;
        }
        if (m == i) {
            break;
        }
        ix_call tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

void
ix_pair_note(ix_pair *p, uint32_t thread, const ix_span *s)
{
    uint64_t dur = s->end - s->start;
    ix_call c = {s->start, dur > UINT32_MAX ? UINT32_MAX : (uint32_t)dur,
                 thread};
    p->count++;
    if (p->sample.len < IX_RESERVOIR) {
        (void)ML_VEC_PUSH(p->sample, c);
        if (p->sample.len == IX_RESERVOIR) {
            p->w = 1.0;
            schedule_next_pick(p);
        }
    } else if (p->count == p->next_pick) {
        /* Each call ends up in the sample with probability R / count. */
        p->sample.items[rng_next(&p->rng) % IX_RESERVOIR] = c;
        schedule_next_pick(p);
    }
    /* Once the longest are full, most calls are shorter than all of them:
     * the cached minimum answers without touching the heap. */
    if (p->longest.len < IX_LONGEST || c.dur_us > p->longest_min) {
        heap_offer(p, &c);
    }
}
