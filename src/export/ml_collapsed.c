// SPDX-License-Identifier: MIT
// Folded stacks (Brendan Gregg's flamegraph.pl input, py-spy's "raw"
// output): one line per distinct stack, "root;...;leaf count", each frame
// "function (file:line)" with the line being executed. Running samples
// only, unless --idle asks for the waiting ones too.
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_export_int.h"

/* Writes s with the two characters that would break a line (';' between
 * frames, newline between stacks) replaced. */
static void
put_name(xrun *x, const char *s)
{
    for (const char *p = s; *p; p++) {
        char c = *p == ';' ? ':' : (*p == '\n' || *p == '\r') ? ' ' : *p;
        xrun_write(x, &c, 1);
    }
}

int
ml_export_collapsed(xrun *x)
{
    xagg a;
    ml_record rec;
    int rc;
    xagg_init(&a);
    while ((rc = xrun_next(x, &rec)) > 0) {
        xsamples sm;
        if (!xrun_samples(x, &rec, &sm) || rec.u.samples.stack == 0
            || (!x->o->idle && xstate_of(rec.u.samples.state) != XS_RUNNING)) {
            continue;
        }
        if ((rc = xagg_add(&a, rec.u.samples.stack, 0, 0, sm.n)) < 0) {
            break;
        }
    }
    uint32_t *funcs = malloc(XMAX_DEPTH * sizeof *funcs);
    uint32_t *lines = malloc(XMAX_DEPTH * sizeof *lines);
    if (funcs == NULL || lines == NULL) {
        rc = ML_ENOMEM;
    }
    for (uint32_t i = 0; rc == 0 && i < a.n; i++) {
        int depth = xrun_path(x, a.rows[i].stack, funcs, lines, NULL);
        if (depth < 0) {
            rc = depth;
            break;
        }
        for (int d = 0; d < depth; d++) {
            const xfunc *f = &x->funcs[funcs[d]];
            char tail[32];
            if (d > 0) {
                xrun_write(x, ";", 1);
            }
            put_name(x, f->name);
            xrun_write(x, " (", 2);
            put_name(x, f->file);
            int k = snprintf(tail, sizeof tail, ":%u)", lines[d]);
            xrun_write(x, tail, (size_t)k);
        }
        char count[32];
        int k = snprintf(count, sizeof count, " %llu\n",
                         (unsigned long long)a.rows[i].count);
        xrun_write(x, count, (size_t)k);
        x->res->items += a.rows[i].count;
    }
    free(funcs);
    free(lines);
    xagg_free(&a);
    return rc;
}
