// SPDX-License-Identifier: MIT
// Run identity from META records (see ml_runmeta.h).
#include "ml_runmeta.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_error.h"
#include "ml_format.h"
#include "ml_reader.h"

#define FILE_PREFIX_MAX (4u << 20)
/* META records come first; past this many other records there are none. */
#define RECORDS_AFTER_META 64

static void
copy_text(char *dst, size_t n, const ml_value *v)
{
    if (v->tag == ML_TAG_BYTES) {
        size_t len = v->v.b.len < n - 1 ? v->v.b.len : n - 1;
        memcpy(dst, v->v.b.ptr, len);
        dst[len] = '\0';
    }
}

static int64_t
int_value(const ml_value *v)
{
    if (v->tag == ML_TAG_UINT) {
        return (int64_t)v->v.u;
    }
    return v->tag == ML_TAG_INT ? v->v.i : 0;
}

static int
key_is(const ml_bytes *k, const char *name)
{
    return k->len == strlen(name) && memcmp(k->ptr, name, k->len) == 0;
}

static void
take_meta(ml_runmeta *m, const ml_bytes *k, const ml_value *v)
{
    if (key_is(k, "run_id")) {
        copy_text(m->run_id, sizeof m->run_id, v);
    } else if (key_is(k, "name")) {
        copy_text(m->name, sizeof m->name, v);
    } else if (key_is(k, "label")) {
        copy_text(m->label, sizeof m->label, v);
    } else if (key_is(k, "host")) {
        copy_text(m->host, sizeof m->host, v);
    } else if (key_is(k, "start_unix_ns")) {
        m->start_unix_us = int_value(v) / 1000;
    } else if (key_is(k, "pid")) {
        m->pid = int_value(v);
    }
}

int
ml_runmeta_read(const uint8_t *data, size_t len, ml_runmeta *out)
{
    memset(out, 0, sizeof *out);
    ml_reader *r;
    int rc = ml_reader_open_mem(data, len, &r);
    if (rc != ML_OK) {
        ml_reader_free(r);
        return rc;
    }
    ml_record rec;
    int others = 0;
    while (others < RECORDS_AFTER_META && ml_reader_next(r, &rec) > 0) {
        if (rec.kind == ML_KIND_META) {
            take_meta(out, &rec.u.meta.key, &rec.u.meta.value);
        } else if (rec.kind != ML_KIND_STRING) {
            others++;
        }
    }
    ml_reader_free(r);
    return ML_OK;
}

#define MAX_NAME_PART 128

int
ml_runmeta_part_valid(const char *s, size_t n)
{
    if (n == 0 || n > MAX_NAME_PART || s[0] == '.') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

int
ml_runmeta_name_valid(const char *name)
{
    const char *slash = strchr(name, '/');
    return slash != NULL && ml_runmeta_part_valid(name, (size_t)(slash - name))
           && ml_runmeta_part_valid(slash + 1, strlen(slash + 1));
}

int
ml_runmeta_read_file(const char *path, ml_runmeta *out)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ML_EIO;
    }
    uint8_t *buf = malloc(FILE_PREFIX_MAX);
    ssize_t n = buf ? pread(fd, buf, FILE_PREFIX_MAX, 0) : -1;
    close(fd);
    int rc = n < 0 ? ML_EIO : ml_runmeta_read(buf, (size_t)n, out);
    free(buf);
    return rc;
}
