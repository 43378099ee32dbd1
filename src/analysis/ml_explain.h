// SPDX-License-Identifier: MIT
// What a language model is told about a run, and the run's tips, both
// from the recording alone (docs/EXPLAIN.md):
//  - the prompt: the module/class call graph with time shares, the top
//    functions by total and self time, threads with their running,
//    waiting and GIL-waiting shares, status extremes, errors and warnings
//    with their stacks (file and function names only), timed calls and the
//    end-of-run reports. Never argument values, never source text, never
//    the command line (it can hold secrets);
//  - tips: for the modules the program spent time in, links to their
//    documentation and to searches for advice; and microlog's own
//    observations (GIL contention, slow imports, anomalous calls, leaked
//    files, growing objects, errors).
#ifndef ML_EXPLAIN_H
#define ML_EXPLAIN_H

#include "core/ml_buf.h"
#include "ml_index.h"
#include "ml_jsonw.h"

/* Appends the prompt (Markdown text) to out. 0 or ML_ENOMEM. */
int ml_explain_prompt(ml_index *ix, ml_buf *out);

/* The tips as JSON: {"modules": [...], "observations": [...]}
 * (docs/EXPLAIN.md), or the same as text. 0 or ML_ENOMEM. */
int ml_explain_tips(ml_index *ix, ml_jsonw *w);
int ml_explain_tips_text(ml_index *ix, ml_buf *out);

#endif
