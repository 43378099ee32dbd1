// SPDX-License-Identifier: MIT
// The run summary as JSON: the object `microlog show --json` prints and the
// server's /api/runs/{id}/summary answers (one builder, so both agree).
#ifndef ML_SUMMARY_JSON_H
#define ML_SUMMARY_JSON_H

#include <jansson.h>

#include "ml_summary.h"

/* A new JSON object for s with at most top functions (top < 0: all), or
 * NULL when memory runs out. The caller owns it (json_decref). */
json_t *ml_summary_to_json(const ml_summary *s, long top);

#endif
