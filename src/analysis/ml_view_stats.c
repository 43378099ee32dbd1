// SPDX-License-Identifier: MIT
// Aggregate views of a window: per-function statistics (with the timed
// calls of @microlog.timed), the merged flame graph, and the module/class
// call graph of the design view. All start from vw_range_collect().
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "core/ml_map.h"
#include "ml_anomaly.h"
#include "ml_names.h"
#include "ml_view_int.h"

#define MAX_FUNCTION_ROWS 1000

/* The window of q and its aggregates; both freed by the caller on
 * success, nothing to free on error. */
static int
collect(ml_index *ix, const ml_view_query *q, vw_window *win, vw_range *r)
{
    int err = vw_resolve(ix, q, 0, win);
    if (err == 0 && (err = vw_range_collect(ix, win, r)) < 0) {
        vw_window_free(win);
    }
    return err;
}

/* ---- functions ---------------------------------------------------------- */

typedef struct {
    uint32_t fid;
    uint64_t total, self, running, self_running;
} fn_row;

static int
by_total(const void *a, const void *b)
{
    const fn_row *x = a, *y = b;
    if (x->total != y->total) {
        return x->total > y->total ? -1 : 1;
    }
    if (x->self != y->self) {
        return x->self > y->self ? -1 : 1;
    }
    return (x->fid > y->fid) - (x->fid < y->fid);
}

/* Rows by fid from a range: self from the innermost counts, total from
 * the subtree counts of each function's outermost occurrences. */
static fn_row *
function_rows(const ml_index *ix, vw_range *r, size_t *nrows)
{
    fn_row *rows = calloc(ix->funcs.len, sizeof *rows);
    if (rows == NULL) {
        return NULL;
    }
    for (size_t i = 1; i < ix->fnodes.len; i++) {
        fn_row *row = &rows[ix->fnodes.items[i].fid];
        row->self += r->samples[i];
        row->self_running += r->running[i];
    }
    /* The leaf counts become subtree counts (the range is not used after). */
    vw_inclusive_in_place(ix, r->samples);
    vw_inclusive_in_place(ix, r->running);
    for (size_t i = 1; i < ix->fnodes.len; i++) {
        const ix_fnode *n = &ix->fnodes.items[i];
        if (n->outermost) {
            rows[n->fid].total += r->samples[i];
            rows[n->fid].running += r->running[i];
        }
    }
    size_t k = 0;
    for (size_t f = 1; f < ix->funcs.len; f++) {
        if (rows[f].total > 0 || r->calls[f] > 0) {
            rows[f].fid = (uint32_t)f;
            rows[k++] = rows[f];
        }
    }
    if (k > 1) { /* qsort takes no NULL, even for nothing */
        qsort(rows, k, sizeof *rows, by_total);
    }
    *nrows = k;
    return rows;
}

/* Timed calls (SPAN records) grouped by function. */
typedef struct {
    uint32_t name, file, line;
    uint64_t calls, errors;
    double wall_us, wall_max, cpu_us, mem;
    ML_VEC(double) walls;
} timed_group;

typedef struct {
    const ml_index *ix;
    const timed_group *g;
    const ix_timed *key;
} timed_eq_ctx;

static int
timed_eq(const void *ctx, uint32_t v)
{
    const timed_eq_ctx *c = ctx;
    const timed_group *g = &c->g[v - 1];
    return g->name == c->key->name && g->file == c->key->file
           && g->line == c->key->line;
}

VW_LOWER_BOUND(timed_lower, ix_timed, IX_TIME_OF)

static void
write_timed(ml_index *ix, const vw_window *win, ml_jsonw *w)
{
    ML_VEC(timed_group) groups = {NULL, 0, 0};
    ml_map map;
    ml_map_init(&map);
    const ix_timed *a = ix->timed.items;
    for (size_t i = timed_lower(a, ix->timed.len, win->from);
         i < ix->timed.len && a[i].t < win->to; i++) {
        if (!vw_wants(win, a[i].thread) && a[i].thread != 0) {
            continue;
        }
        uint64_t h = ml_hash_mix(
            ml_hash_mix(ml_hash_mix(9, a[i].name), a[i].file), a[i].line);
        timed_eq_ctx c = {ix, groups.items, &a[i]};
        uint32_t id = ml_map_find(&map, h, timed_eq, &c);
        if (id == 0) {
            timed_group g;
            memset(&g, 0, sizeof g);
            g.name = a[i].name;
            g.file = a[i].file;
            g.line = a[i].line;
            if (ML_VEC_PUSH(groups, g) < 0
                || ml_map_insert(&map, h, (uint32_t)groups.len) < 0) {
                break;
            }
            id = (uint32_t)groups.len;
        }
        timed_group *g = &groups.items[id - 1];
        double wall = (double)a[i].wall_ns / 1e3;
        g->calls++;
        g->errors += a[i].error;
        g->wall_us += wall;
        g->wall_max = wall > g->wall_max ? wall : g->wall_max;
        g->cpu_us += (double)a[i].cpu_ns / 1e3;
        g->mem += (double)a[i].mem_delta;
        (void)ML_VEC_PUSH(g->walls, wall);
    }
    double interval = vw_interval(ix);
    ml_jsonw_key(w, "timed");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < groups.len; i++) {
        timed_group *g = &groups.items[i];
        ml_anomaly_rule rule;
        ml_anomaly_fit(g->walls.items, g->walls.len, interval, &rule);
        uint64_t anomalies = 0;
        for (size_t k = 0; k < g->walls.len; k++) {
            anomalies += ml_anomaly_is(&rule, g->walls.items[k]);
        }
        uint32_t len;
        const char *s;
        ml_jsonw_obj(w);
        s = ix_string(ix, g->name, &len);
        ml_jsonw_key(w, "name");
        ml_jsonw_strn(w, s, len);
        s = ix_string(ix, g->file, &len);
        ml_jsonw_key(w, "file");
        ml_jsonw_strn(w, s, len);
        ml_jsonw_ku64(w, "line", g->line);
        ml_jsonw_ku64(w, "calls", g->calls);
        ml_jsonw_kf64(w, "wall_us_total", g->wall_us);
        ml_jsonw_kf64(w, "wall_us_mean", g->wall_us / (double)g->calls);
        ml_jsonw_kf64(w, "wall_us_max", g->wall_max);
        ml_jsonw_kf64(w, "wall_us_median", rule.median);
        ml_jsonw_kf64(w, "cpu_us_mean", g->cpu_us / (double)g->calls);
        ml_jsonw_kf64(w, "mem_delta_mean", g->mem / (double)g->calls);
        ml_jsonw_ku64(w, "errors", g->errors);
        ml_jsonw_ku64(w, "anomalies", anomalies);
        ml_jsonw_obj_end(w);
        free(g->walls.items);
    }
    ml_jsonw_arr_end(w);
    free(groups.items);
    ml_map_free(&map);
}

int
ml_view_functions(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    vw_window win;
    vw_range r;
    int err = collect(ix, q, &win, &r);
    if (err < 0) {
        return err;
    }
    size_t n = 0;
    fn_row *rows = function_rows(ix, &r, &n);
    if (rows == NULL) {
        vw_range_free(&r);
        vw_window_free(&win);
        return ML_ENOMEM;
    }
    double iv = vw_interval(ix);
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "from", r.from);
    ml_jsonw_ku64(w, "to", r.to);
    ml_jsonw_kbool(w, "exact", r.exact);
    ml_jsonw_kf64(w, "interval_us", iv);
    ml_jsonw_ku64(w, "samples", r.total_samples);
    ml_jsonw_ku64(w, "rows", n);
    ml_jsonw_key(w, "functions");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < n && i < MAX_FUNCTION_ROWS; i++) {
        const fn_row *row = &rows[i];
        uint64_t calls = r.calls[row->fid];
        ml_jsonw_obj(w);
        vw_func_fields(ix, w, row->fid);
        ml_jsonw_ku64(w, "calls", calls);
        ml_jsonw_kf64(w, "total_us", (double)row->total * iv);
        ml_jsonw_kf64(w, "self_us", (double)row->self * iv);
        ml_jsonw_kf64(w, "mean_us",
                      calls ? (double)r.calls_us[row->fid] / (double)calls
                            : 0.0);
        ml_jsonw_ku64(w, "max_us", r.calls_max[row->fid]);
        ml_jsonw_kf64(w, "running",
                      row->total ? (double)row->running / (double)row->total
                                 : 0.0);
        ml_jsonw_ku64(w, "total_samples", row->total);
        ml_jsonw_ku64(w, "self_samples", row->self);
        ml_jsonw_ku64(w, "running_samples", row->running);
        ml_jsonw_ku64(w, "self_running_samples", row->self_running);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
    win.from = r.from;
    win.to = r.to;
    write_timed(ix, &win, w);
    ml_jsonw_obj_end(w);
    free(rows);
    vw_range_free(&r);
    vw_window_free(&win);
    return ml_jsonw_error(w);
}

/* ---- flame graph -------------------------------------------------------- */

typedef struct {
    uint32_t first_child, next_sibling;
} tree_link;

int
ml_view_flamegraph(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    vw_window win;
    vw_range r;
    int err = collect(ix, q, &win, &r);
    if (err < 0) {
        return err;
    }
    size_t nn = ix->fnodes.len;
    uint32_t *inc = r.samples, *incr = r.running;
    vw_inclusive_in_place(ix, inc);
    vw_inclusive_in_place(ix, incr);
    tree_link *links = calloc(nn, sizeof *links);
    uint32_t *stack = malloc(nn * sizeof *stack);
    int32_t *out_index = malloc(nn * sizeof *out_index);
    vw_funcs funcs = {NULL, 0};
    if (!links || !stack || !out_index || vw_funcs_init(&funcs, ix) < 0) {
        err = ML_ENOMEM;
        goto done;
    }
    /* Nodes under 1/5000 of the samples fold into their parent. */
    uint64_t min = r.total_samples / 5000;
    uint64_t merged = 0;
    for (size_t i = nn; i-- > 1;) {
        uint32_t p = ix->fnodes.items[i].parent;
        if (inc[i] == 0) {
            continue;
        }
        if (inc[i] <= min && min > 0) {
            merged++;
            continue;
        }
        links[i].next_sibling = links[p].first_child;
        links[p].first_child = (uint32_t)i;
    }
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "from", r.from);
    ml_jsonw_ku64(w, "to", r.to);
    ml_jsonw_ku64(w, "samples", r.total_samples);
    ml_jsonw_ku64(w, "merged", merged);
    ml_jsonw_key(w, "nodes");
    ml_jsonw_arr(w);
    /* Depth first, children in creation order; self = own samples plus
     * those of folded children (inclusive minus kept children). */
    size_t sp = 0;
    int32_t next = 0;
    for (uint32_t c = links[0].first_child; c; c = links[c].next_sibling) {
        stack[sp++] = c;
    }
    while (sp > 0) {
        uint32_t i = stack[--sp];
        uint32_t p = ix->fnodes.items[i].parent;
        out_index[i] = next++;
        uint64_t kept = 0;
        for (uint32_t c = links[i].first_child; c; c = links[c].next_sibling) {
            kept += inc[c];
            stack[sp++] = c;
        }
        uint32_t fid = ix->fnodes.items[i].fid;
        vw_funcs_mark(&funcs, fid);
        ml_jsonw_arr(w);
        ml_jsonw_i64(w, p ? out_index[p] : -1);
        ml_jsonw_u64(w, fid);
        ml_jsonw_u64(w, inc[i]);
        ml_jsonw_u64(w, inc[i] - kept);
        ml_jsonw_u64(w, incr[i]);
        ml_jsonw_arr_end(w);
    }
    ml_jsonw_arr_end(w);
    vw_funcs_write(ix, w, &funcs);
    ml_jsonw_obj_end(w);
    err = ml_jsonw_error(w);
done:
    free(links);
    free(stack);
    free(out_index);
    vw_funcs_free(&funcs);
    vw_range_free(&r);
    vw_window_free(&win);
    return err;
}

/* ---- call graph --------------------------------------------------------- */

#define GRAPH_MAX_NODES 60
#define EDGE_MAX_NAMES 5

typedef struct {
    char key[520]; /* module, or module.class */
    char module[256];
    char cls[256];
    uint64_t total, self;
} cg_node;

typedef struct {
    uint32_t from, to;
    uint64_t samples;
    uint32_t names[EDGE_MAX_NAMES]; /* callee fids */
    uint32_t nnames;
} cg_edge;

typedef struct {
    ML_VEC(cg_node) nodes;
    ML_VEC(cg_edge) edges;
    ml_map node_map, edge_map;
} cg_graph;

typedef struct {
    const cg_graph *g;
    const char *key;
    uint32_t from, to;
} cg_eq;

static int
node_eq(const void *ctx, uint32_t v)
{
    const cg_eq *c = ctx;
    return strcmp(c->g->nodes.items[v - 1].key, c->key) == 0;
}

static int
edge_eq(const void *ctx, uint32_t v)
{
    const cg_eq *c = ctx;
    const cg_edge *e = &c->g->edges.items[v - 1];
    return e->from == c->from && e->to == c->to;
}

/* The graph node of fid: its module and (unless folded) class. */
static uint32_t
node_of(cg_graph *g, const ml_index *ix, uint32_t fid, int fold)
{
    const ix_func *f = &ix->funcs.items[fid];
    uint32_t nlen, flen;
    const char *name = ix_string(ix, f->name, &nlen);
    const char *file = ix_string(ix, f->file, &flen);
    cg_node n;
    memset(&n, 0, sizeof n);
    ml_module_of(file, flen, n.module, sizeof n.module);
    if (!fold) {
        ml_class_of(name, nlen, n.cls, sizeof n.cls);
    }
    snprintf(n.key, sizeof n.key, "%s%s%s", n.module, n.cls[0] ? "." : "",
             n.cls);
    uint64_t h = ml_hash_bytes(n.key, strlen(n.key));
    cg_eq c = {g, n.key, 0, 0};
    uint32_t id = ml_map_find(&g->node_map, h, node_eq, &c);
    if (id == 0 && ML_VEC_PUSH(g->nodes, n) == 0
        && ml_map_insert(&g->node_map, h, (uint32_t)g->nodes.len) == 0) {
        id = (uint32_t)g->nodes.len;
    }
    return id;
}

static void
add_edge(cg_graph *g, uint32_t from, uint32_t to, uint64_t samples,
         uint32_t fid)
{
    uint64_t h = ml_hash_mix(ml_hash_mix(5, from), to);
    cg_eq c = {g, NULL, from, to};
    uint32_t id = ml_map_find(&g->edge_map, h, edge_eq, &c);
    if (id == 0) {
        cg_edge e;
        memset(&e, 0, sizeof e);
        e.from = from;
        e.to = to;
        if (ML_VEC_PUSH(g->edges, e) < 0
            || ml_map_insert(&g->edge_map, h, (uint32_t)g->edges.len) < 0) {
            return;
        }
        id = (uint32_t)g->edges.len;
    }
    cg_edge *e = &g->edges.items[id - 1];
    e->samples += samples;
    for (uint32_t i = 0; i < e->nnames; i++) {
        if (e->names[i] == fid) {
            return;
        }
    }
    if (e->nnames < EDGE_MAX_NAMES) {
        e->names[e->nnames++] = fid;
    }
}

static void
graph_free(cg_graph *g)
{
    free(g->nodes.items);
    free(g->edges.items);
    ml_map_free(&g->node_map);
    ml_map_free(&g->edge_map);
    memset(g, 0, sizeof *g);
}

/* Builds the graph from whole-run counts; fold: modules only. */
static int
build_graph(cg_graph *g, const ml_index *ix, const uint32_t *inc, int fold)
{
    memset(g, 0, sizeof *g);
    ml_map_init(&g->node_map);
    ml_map_init(&g->edge_map);
    size_t nn = ix->fnodes.len;
    uint32_t *node = calloc(nn, sizeof *node);
    if (node == NULL) {
        return ML_ENOMEM;
    }
    for (size_t i = 1; i < nn; i++) {
        const ix_fnode *n = &ix->fnodes.items[i];
        node[i] = node_of(g, ix, n->fid, fold);
        if (node[i] == 0) {
            free(node);
            return ML_ENOMEM;
        }
        cg_node *gn = &g->nodes.items[node[i] - 1];
        gn->self += ix->fnode_samples.items[i];
        if (n->parent == 0 || node[n->parent] != node[i]) {
            gn->total += inc[i]; /* time entering this node */
        }
        if (n->parent != 0 && node[n->parent] != node[i] && inc[i] > 0) {
            add_edge(g, node[n->parent], node[i], inc[i], n->fid);
        }
    }
    free(node);
    return ML_OK;
}

int
ml_view_callgraph(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    (void)q;
    uint32_t *inc = vw_inclusive(ix, ix->fnode_samples.items);
    if (inc == NULL) {
        return ML_ENOMEM;
    }
    cg_graph g;
    int fold = 0;
    int err = build_graph(&g, ix, inc, 0);
    if (err == 0 && g.nodes.len > GRAPH_MAX_NODES) {
        graph_free(&g);
        fold = 1;
        err = build_graph(&g, ix, inc, 1);
    }
    free(inc);
    if (err < 0) {
        graph_free(&g);
        return err;
    }
    double iv = vw_interval(ix);
    uint64_t min_edge = ix->samples / 1000; /* edges under 0.1% are noise */
    ml_jsonw_obj(w);
    ml_jsonw_kbool(w, "folded", fold);
    ml_jsonw_kf64(w, "total_us", (double)ix->samples * iv);
    ml_jsonw_key(w, "nodes");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < g.nodes.len; i++) {
        const cg_node *n = &g.nodes.items[i];
        ml_jsonw_obj(w);
        ml_jsonw_kstr(w, "id", n->key);
        ml_jsonw_kstr(w, "module", n->module);
        ml_jsonw_kstr(w, "class", n->cls[0] ? n->cls : NULL);
        ml_jsonw_kf64(w, "total_us", (double)n->total * iv);
        ml_jsonw_kf64(w, "self_us", (double)n->self * iv);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_key(w, "edges");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < g.edges.len; i++) {
        const cg_edge *e = &g.edges.items[i];
        if (e->samples < min_edge) {
            continue;
        }
        ml_jsonw_obj(w);
        ml_jsonw_kstr(w, "from", g.nodes.items[e->from - 1].key);
        ml_jsonw_kstr(w, "to", g.nodes.items[e->to - 1].key);
        ml_jsonw_kf64(w, "time_us", (double)e->samples * iv);
        ml_jsonw_key(w, "functions");
        ml_jsonw_arr(w);
        for (uint32_t k = 0; k < e->nnames; k++) {
            uint32_t len;
            const char *s =
                ix_string(ix, ix->funcs.items[e->names[k]].name, &len);
            ml_jsonw_strn(w, s, len);
        }
        ml_jsonw_arr_end(w);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_obj_end(w);
    graph_free(&g);
    return ml_jsonw_error(w);
}
