// SPDX-License-Identifier: MIT
// `microlog dump` (ml_cli_dump.h): reads a recording record by record with
// the one reader (format/ml_reader.h) and prints each as a compact JSON
// object made with jansson. Definitions (strings, frames, stacks) are
// resolved into the records that use them and printed only on request.
#define _GNU_SOURCE
#include "ml_cli_dump.h"
#include "analysis/ml_json.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "format/ml_reader.h"

/* Stacks deeper than this are cut (the reader bounds ids, not depth). */
#define MAX_STACK_DEPTH 100000

static const char *const kind_names[] = {
    [ML_KIND_META] = "meta",       [ML_KIND_STRING] = "string",
    [ML_KIND_FRAME] = "frame",     [ML_KIND_STACK] = "stack",
    [ML_KIND_THREAD] = "thread",   [ML_KIND_THREAD_END] = "thread_end",
    [ML_KIND_SAMPLES] = "samples", [ML_KIND_SERIES] = "series",
    [ML_KIND_VALUE] = "value",     [ML_KIND_LOG] = "log",
    [ML_KIND_SPAN] = "span",       [ML_KIND_REPORT] = "report",
    [ML_KIND_END] = "end",
};
#define NKINDS (sizeof kind_names / sizeof kind_names[0])

static const char *const source_names[ML_LOG_SOURCE_COUNT] = {
    "api", "stdout", "stderr", "logging", "warnings", "exception"};

static const char *const report_names[] = {"?", "open_files", "leaks",
                                           "other"};

typedef struct {
    unsigned char want[NKINDS]; /* 1: print records of this kind */
    const char *path;
} dump_options;

/* What SERIES records said, by series id (ids are dense from 1). */
typedef struct {
    uint32_t *name, *unit;
    uint8_t *cls;
    uint32_t cap;
} series_table;

void
ml_cli_dump_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog dump [--kind K[,K...]] FILE\n\n"
            "Prints every record of the recording FILE as one JSON object "
            "per line\n(JSON Lines), in file order, with ids resolved: "
            "strings become text,\nstacks become lists of \"function "
            "(file:line)\" from the root, values\nname their series.\n\n"
            "  --kind K   print only records of these kinds (comma-separated; "
            "the\n             option may repeat). Kinds: meta, thread, "
            "thread_end, samples,\n             series, value, log, span, "
            "report, end, and the definitions\n             string, frame, "
            "stack; 'all' is every kind. Default: all but\n             the "
            "definitions.\n"
            "  -h, --help show this help\n\n"
            "Every line has \"kind\"; timed kinds have \"time_us\" "
            "(microseconds since\nthe run's start). Fields per kind:\n"
            "  meta       key, value\n"
            "  thread     id, native_id, ident, name\n"
            "  thread_end id\n"
            "  samples    thread, stack, state (bits: 1 running, 2 GIL, 4 "
            "fallback, 8 GIL\n             wait, 16 unknown), cpu (0-15: "
            "15ths of the interval on a CPU;\n             absent when not "
            "recorded), count, span_us\n"
            "  series     id, class (status|metric), name, unit\n"
            "  value      series (its name), series_id, unit, value\n"
            "  log        level, source, thread, text, stack\n"
            "  span       call_id, parent_call, thread, name, file, line, "
            "wall_ns,\n             cpu_ns, mem_delta, args, exception "
            "(null when none)\n"
            "  report     report (open_files|leaks|other), name, body\n"
            "  end        exit_status\n"
            "  string     id, text;  frame  id, name, file, line, firstline;"
            "\n  stack      id, parent, frame\n\n"
            "Exit status: 0 on success (also for a recording whose last "
            "chunk is\ncut off: a warning goes to stderr), 2 when FILE "
            "cannot be read or is\nmalformed (the records before the damage "
            "are printed first).\n");
}

/* ---- arguments --------------------------------------------------------- */

static int
want_kinds(dump_options *o, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    if (copy == NULL) {
        return -1;
    }
    int ok = 1;
    for (char *k = strtok_r(copy, ",", &save); k != NULL;
         k = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (size_t i = 1; i < NKINDS; i++) {
            if (strcmp(k, "all") == 0 || strcmp(k, kind_names[i]) == 0) {
                o->want[i] = 1;
                found = 1;
            }
        }
        if (!found) {
            fprintf(stderr, "microlog dump: unknown kind '%s'\n", k);
            ok = 0;
        }
    }
    free(copy);
    return ok ? 0 : -1;
}

static int
parse_args(int argc, char **argv, dump_options *o)
{
    static const struct option longopts[] = {
        {"kind", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    int chosen = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (want_kinds(o, optarg) < 0) {
                return 2;
            }
            chosen = 1;
            break;
        case 'h':
            ml_cli_dump_usage(stdout);
            return 0;
        default:
            fprintf(stderr,
                    "microlog dump: unknown option or missing value: "
                    "'%s'\n",
                    argv[optind - 1]);
            ml_cli_dump_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "microlog dump: expected exactly one FILE\n");
        ml_cli_dump_usage(stderr);
        return 2;
    }
    if (!chosen) {
        for (size_t i = 1; i < NKINDS; i++) {
            o->want[i] = i != ML_KIND_STRING && i != ML_KIND_FRAME
                         && i != ML_KIND_STACK;
        }
    }
    o->path = argv[optind];
    return -1;
}

/* ---- JSON values ------------------------------------------------------- */

/* The text of string id (null for 0 or an unknown id). */
static json_t *
jstring_id(const ml_reader *r, uint32_t id)
{
    ml_bytes b;
    if (id == 0 || ml_reader_string(r, id, &b) != 0) {
        return json_null();
    }
    return ml_json_bytes(b.ptr, b.len);
}

static json_t *
jvalue(const ml_value *v)
{
    switch (v->tag) {
    case ML_TAG_BYTES:
        return ml_json_bytes(v->v.b.ptr, v->v.b.len);
    case ML_TAG_UINT:
        return ml_json_uint(v->v.u);
    case ML_TAG_INT:
        return json_integer((json_int_t)v->v.i);
    case ML_TAG_F64: {
        json_t *j = json_real(v->v.f);
        return j != NULL ? j : json_null(); /* NaN, infinities */
    }
    default:
        return json_null();
    }
}

/* "name (file:line)" of a frame id. */
static json_t *
jframe(const ml_reader *r, uint32_t frame)
{
    uint32_t name, file, line, first;
    ml_bytes n = {(const uint8_t *)"?", 1}, f = {(const uint8_t *)"?", 1};
    if (ml_reader_frame(r, frame, &name, &file, &line, &first) != 0) {
        return json_string("?");
    }
    ml_reader_string(r, name, &n);
    ml_reader_string(r, file, &f);
    char *text = NULL;
    int len =
        asprintf(&text, "%.*s (%.*s:%u)", (int)n.len, (const char *)n.ptr,
                 (int)f.len, (const char *)f.ptr, line);
    if (len < 0) {
        return NULL;
    }
    json_t *j = ml_json_bytes((const uint8_t *)text, (size_t)len);
    free(text);
    return j;
}

/* The frames of stack id, root first ([] for 0). */
static json_t *
jstack(const ml_reader *r, uint32_t stack)
{
    json_t *a = json_array();
    for (int depth = 0; a != NULL && stack != 0 && depth < MAX_STACK_DEPTH;
         depth++) {
        uint32_t parent, frame;
        if (ml_reader_stack(r, stack, &parent, &frame) != 0) {
            break;
        }
        if (json_array_insert_new(a, 0, jframe(r, frame)) < 0) {
            json_decref(a);
            return NULL;
        }
        stack = parent;
    }
    return a;
}

/* ---- records ----------------------------------------------------------- */

static int
series_note(series_table *t, const ml_record *rec)
{
    uint32_t id = rec->u.series.id;
    if (id >= t->cap) {
        uint32_t cap = t->cap ? t->cap : 16;
        while (cap <= id) {
            cap *= 2;
        }
        uint32_t *name = realloc(t->name, cap * sizeof *name);
        if (name != NULL) {
            t->name = name;
        }
        uint32_t *unit = realloc(t->unit, cap * sizeof *unit);
        if (unit != NULL) {
            t->unit = unit;
        }
        uint8_t *cls = realloc(t->cls, cap);
        if (cls != NULL) {
            t->cls = cls;
        }
        if (name == NULL || unit == NULL || cls == NULL) {
            return ML_ENOMEM;
        }
        memset(t->name + t->cap, 0, (cap - t->cap) * sizeof *name);
        memset(t->unit + t->cap, 0, (cap - t->cap) * sizeof *unit);
        memset(t->cls + t->cap, 0, cap - t->cap);
        t->cap = cap;
    }
    t->name[id] = rec->u.series.name;
    t->unit[id] = rec->u.series.unit;
    t->cls[id] = rec->u.series.cls;
    return ML_OK;
}

static void
put_span(json_t *o, const ml_reader *r, const ml_span *s, int *failed)
{
    ml_json_put(o, "call_id", ml_json_uint(s->call_id), failed);
    ml_json_put(o, "parent_call", ml_json_uint(s->parent_call), failed);
    ml_json_put(o, "thread", ml_json_uint(s->thread), failed);
    ml_json_put(o, "name", jstring_id(r, s->name), failed);
    ml_json_put(o, "file", jstring_id(r, s->file), failed);
    ml_json_put(o, "line", ml_json_uint(s->line), failed);
    ml_json_put(o, "wall_ns", ml_json_uint(s->wall_ns), failed);
    ml_json_put(o, "cpu_ns", ml_json_uint(s->cpu_ns), failed);
    ml_json_put(o, "mem_delta", json_integer((json_int_t)s->mem_delta),
                failed);
    ml_json_put(o, "args", ml_json_bytes(s->args.ptr, s->args.len), failed);
    ml_json_put(o, "exception",
                s->exception.len
                    ? ml_json_bytes(s->exception.ptr, s->exception.len)
                    : json_null(),
                failed);
}

static void
put_log(json_t *o, const ml_reader *r, const ml_log *l, int *failed)
{
    ml_json_put(o, "level", ml_json_uint(l->level), failed);
    ml_json_put(o, "source",
                l->source < ML_LOG_SOURCE_COUNT
                    ? json_string(source_names[l->source])
                    : ml_json_uint(l->source),
                failed);
    ml_json_put(o, "thread", ml_json_uint(l->thread), failed);
    ml_json_put(o, "text", ml_json_bytes(l->text.ptr, l->text.len), failed);
    ml_json_put(o, "stack", jstack(r, l->stack), failed);
}

static void
put_value(json_t *o, const ml_reader *r, const series_table *t,
          const ml_record *rec, int *failed)
{
    uint32_t id = rec->u.value.series;
    int known = id < t->cap && t->name[id] != 0;
    ml_json_put(o, "series", known ? jstring_id(r, t->name[id]) : json_null(),
                failed);
    ml_json_put(o, "series_id", ml_json_uint(id), failed);
    ml_json_put(o, "unit", known ? jstring_id(r, t->unit[id]) : json_null(),
                failed);
    ml_json_put(o, "value", jvalue(&rec->u.value.value), failed);
}

/* The fields of one record after "kind" (and "time_us"). */
static void
put_fields(json_t *o, const ml_reader *r, const series_table *t,
           const ml_record *rec, int *failed)
{
    switch (rec->kind) {
    case ML_KIND_META:
        ml_json_put(o, "key",
                    ml_json_bytes(rec->u.meta.key.ptr, rec->u.meta.key.len),
                    failed);
        ml_json_put(o, "value", jvalue(&rec->u.meta.value), failed);
        break;
    case ML_KIND_STRING:
        ml_json_put(o, "id", ml_json_uint(rec->u.string.id), failed);
        ml_json_put(
            o, "text",
            ml_json_bytes(rec->u.string.text.ptr, rec->u.string.text.len),
            failed);
        break;
    case ML_KIND_FRAME:
        ml_json_put(o, "id", ml_json_uint(rec->u.frame.id), failed);
        ml_json_put(o, "name", jstring_id(r, rec->u.frame.name), failed);
        ml_json_put(o, "file", jstring_id(r, rec->u.frame.file), failed);
        ml_json_put(o, "line", ml_json_uint(rec->u.frame.line), failed);
        ml_json_put(o, "firstline", ml_json_uint(rec->u.frame.firstline),
                    failed);
        break;
    case ML_KIND_STACK:
        ml_json_put(o, "id", ml_json_uint(rec->u.stack.id), failed);
        ml_json_put(o, "parent", ml_json_uint(rec->u.stack.parent), failed);
        ml_json_put(o, "frame", jframe(r, rec->u.stack.frame), failed);
        break;
    case ML_KIND_THREAD:
        ml_json_put(o, "id", ml_json_uint(rec->u.thread.id), failed);
        ml_json_put(o, "native_id", ml_json_uint(rec->u.thread.native_id),
                    failed);
        ml_json_put(o, "ident", ml_json_uint(rec->u.thread.ident), failed);
        ml_json_put(o, "name", jstring_id(r, rec->u.thread.name), failed);
        break;
    case ML_KIND_THREAD_END:
        ml_json_put(o, "id", ml_json_uint(rec->u.thread_end.id), failed);
        break;
    case ML_KIND_SAMPLES:
        ml_json_put(o, "thread", ml_json_uint(rec->u.samples.thread), failed);
        ml_json_put(o, "stack", jstack(r, rec->u.samples.stack), failed);
        ml_json_put(o, "state", ml_json_uint(rec->u.samples.state), failed);
        if (rec->u.samples.cpu <= ML_CPU_FULL) {
            /* 2.0 recordings: 15ths of the interval spent on a CPU */
            ml_json_put(o, "cpu", ml_json_uint(rec->u.samples.cpu), failed);
        }
        ml_json_put(o, "count", ml_json_uint(rec->u.samples.count), failed);
        ml_json_put(o, "span_us", ml_json_uint(rec->u.samples.span_us),
                    failed);
        break;
    case ML_KIND_SERIES:
        ml_json_put(o, "id", ml_json_uint(rec->u.series.id), failed);
        ml_json_put(o, "class",
                    json_string(rec->u.series.cls == ML_SERIES_METRIC
                                    ? "metric"
                                    : "status"),
                    failed);
        ml_json_put(o, "name", jstring_id(r, rec->u.series.name), failed);
        ml_json_put(o, "unit", jstring_id(r, rec->u.series.unit), failed);
        break;
    case ML_KIND_VALUE:
        put_value(o, r, t, rec, failed);
        break;
    case ML_KIND_LOG:
        put_log(o, r, &rec->u.log, failed);
        break;
    case ML_KIND_SPAN:
        put_span(o, r, &rec->u.span, failed);
        break;
    case ML_KIND_REPORT:
        ml_json_put(o, "report",
                    json_string(rec->u.report.kind < 4
                                    ? report_names[rec->u.report.kind]
                                    : "?"),
                    failed);
        ml_json_put(o, "name", jstring_id(r, rec->u.report.name), failed);
        ml_json_put(
            o, "body",
            ml_json_bytes(rec->u.report.body.ptr, rec->u.report.body.len),
            failed);
        break;
    case ML_KIND_END:
        ml_json_put(o, "exit_status",
                    json_integer((json_int_t)rec->u.end.exit_status), failed);
        break;
    default:
        break;
    }
}

static int
has_time(uint8_t kind)
{
    return kind == ML_KIND_THREAD || kind == ML_KIND_THREAD_END
           || kind == ML_KIND_SAMPLES || kind == ML_KIND_VALUE
           || kind == ML_KIND_LOG || kind == ML_KIND_SPAN
           || kind == ML_KIND_END;
}

/* Prints one record as a line; 0, or 1 when memory or output fails. */
static int
print_record(const ml_reader *r, const series_table *t, const ml_record *rec)
{
    int failed = 0;
    json_t *o = json_object();
    if (o == NULL) {
        return 1;
    }
    ml_json_put(o, "kind", json_string(kind_names[rec->kind]), &failed);
    if (has_time(rec->kind)) {
        ml_json_put(o, "time_us", ml_json_uint(rec->time_us), &failed);
    }
    put_fields(o, r, t, rec, &failed);
    if (!failed) {
        failed = json_dumpf(o, stdout,
                            JSON_COMPACT | JSON_PRESERVE_ORDER
                                | JSON_REAL_PRECISION(17))
                 < 0;
        failed |= putchar('\n') == EOF;
    }
    json_decref(o);
    return failed;
}

/* ---- entry ------------------------------------------------------------- */

static void
report_error(const char *path, const ml_reader *r, int err)
{
    if (err == ML_ENOMEM) {
        fprintf(stderr, "microlog: %s: out of memory\n", path);
        return;
    }
    const char *msg = ml_reader_message(r);
    fprintf(stderr, "microlog: %s: byte %llu: %s\n", path,
            (unsigned long long)ml_reader_error_offset(r),
            msg[0] ? msg : ml_strerror(err));
}

int
ml_cli_dump(int argc, char **argv)
{
    dump_options o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) {
        return status;
    }
    ml_reader *r = NULL;
    series_table series = {0};
    int err = ml_reader_open(o.path, &r);
    if (r == NULL) {
        const char *why = err == ML_EIO ? strerror(errno) : ml_strerror(err);
        fprintf(stderr, "microlog: %s: %s\n", o.path, why);
        return 2;
    }
    ml_record rec;
    status = 0;
    while (err == 0 && (err = ml_reader_next(r, &rec)) > 0) {
        err = 0;
        if (rec.kind == ML_KIND_SERIES && series_note(&series, &rec) < 0) {
            err = ML_ENOMEM;
            break;
        }
        if (rec.kind < NKINDS && o.want[rec.kind]
            && print_record(r, &series, &rec) != 0) {
            status = 1;
            break;
        }
    }
    if (status == 0 && err == ML_ETRUNC) {
        ml_reader_stats st;
        ml_reader_get_stats(r, &st);
        fprintf(stderr,
                "microlog: %s: warning: recording ends inside a chunk at "
                "byte %llu (the process was probably killed); printed the "
                "%u complete chunk%s\n",
                o.path, (unsigned long long)st.bytes_read, st.chunks,
                st.chunks == 1 ? "" : "s");
    } else if (status == 0 && err < 0) {
        report_error(o.path, r, err);
        status = err == ML_ENOMEM ? 1 : 2;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "microlog: cannot write the output: %s\n",
                strerror(errno));
        status = 1;
    }
    free(series.name);
    free(series.unit);
    free(series.cls);
    ml_reader_free(r);
    return status;
}
