// SPDX-License-Identifier: MIT
// Object keys of the store (see ml_objkeys.h).
#include "ml_objkeys.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *
sep(const char *prefix)
{
    return prefix[0] ? "/" : "";
}

static struct tm
utc(int64_t unix_us)
{
    time_t t = (time_t)(unix_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm;
}

void
ml_objkey_run(const char *prefix, const char *run_id, int64_t start_unix_us,
              char *out, size_t n)
{
    struct tm tm = utc(start_unix_us);
    snprintf(out, n, "%s%srun/%04d/%02d/%02d/%s.mlog", prefix, sep(prefix),
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, run_id);
}

void
ml_objkey_direct_hour(const char *prefix, int64_t unix_us, char *out, size_t n)
{
    struct tm tm = utc(unix_us);
    snprintf(out, n, "%s%sdirect/%04d/%02d/%02d/%02d/", prefix, sep(prefix),
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
}

void
ml_objkey_direct(const char *prefix, const char *run_id, int64_t end_unix_us,
                 char *out, size_t n)
{
    char folder[512];
    ml_objkey_direct_hour(prefix, end_unix_us, folder, sizeof folder);
    snprintf(out, n, "%s%s.mlog", folder, run_id);
}

void
ml_objkey_direct_all(const char *prefix, char *out, size_t n)
{
    snprintf(out, n, "%s%sdirect/", prefix, sep(prefix));
}

void
ml_objkey_parts(const char *prefix, const char *run_id, char *out, size_t n)
{
    snprintf(out, n, "%s%sdirect/parts/%s/", prefix, sep(prefix), run_id);
}

void
ml_objkey_part(const char *prefix, const char *run_id, uint64_t off, char *out,
               size_t n)
{
    snprintf(out, n, "%s%sdirect/parts/%s/%016llx.part", prefix, sep(prefix),
             run_id, (unsigned long long)off);
}

void
ml_objkey_direct_run_id(const char *key, char *out, size_t n)
{
    out[0] = '\0';
    size_t len = strlen(key);
    const char *slash = strrchr(key, '/');
    const char *name = slash ? slash + 1 : key;
    size_t ext = strlen(".mlog");
    if (strstr(key, "direct/") == NULL || strstr(key, "/parts/") != NULL
        || len < ext || strcmp(key + len - ext, ".mlog") != 0) {
        return;
    }
    size_t idlen = strlen(name) - ext;
    if (idlen == 36 && idlen < n) {
        memcpy(out, name, idlen);
        out[idlen] = '\0';
    }
}
