// SPDX-License-Identifier: MIT
// Log entries and spans from Python threads (see ml_events.h).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ml_events.h"

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "ml_pystack.h"

/* The running recording and its stack interner. Protected by the GIL. */
static ml_recorder *current;
static ml_pystack *stacks;
/* A forked child's copy of the parent's interner: it holds references to
 * Python objects, which the fork handler must not release; freed at the
 * next attach or detach, with the GIL. */
static ml_pystack *orphan;
/* Set while ml_pystack_gather runs: a finalizer it runs could stop the
 * recording, whose interner must then outlive the gathering. */
static int gathering;

static void
free_orphan(void)
{
    if (!gathering) {
        ml_pystack_free(orphan);
        orphan = NULL;
    }
}

void
ml_events_attach(ml_recorder *r)
{
    free_orphan();
    current = r;
    if (stacks == NULL && ml_pystack_new(&stacks) < 0) {
        stacks = NULL; /* events then carry no stacks */
    }
}

void
ml_events_detach(void)
{
    free_orphan();
    current = NULL;
    if (gathering && orphan == NULL) {
        orphan = stacks;
    } else {
        ml_pystack_free(stacks);
    }
    stacks = NULL;
}

void
ml_events_forget_fork(void)
{
    current = NULL;
    if (stacks != NULL) {
        orphan = stacks;
        stacks = NULL;
    }
}

int
ml_events_main_interp(void)
{
    return PyInterpreterState_Get() == PyInterpreterState_Main();
}

/* The running recording as the calling interpreter sees it: none in a
 * subinterpreter, whose frames and code objects would outlive it in the
 * interner (and, from 3.12, be freed by another interpreter's allocator). */
static ml_recorder *
recording(void)
{
    return current != NULL && ml_events_main_interp() ? current : NULL;
}

int
ml_events_active(void)
{
    return recording() != NULL;
}

ml_recorder *
ml_events_recorder(void)
{
    return recording();
}

uint64_t
ml_events_now_us(void)
{
    ml_recorder *r = recording();
    if (r == NULL) {
        return 0;
    }
    return ml_sink_time_us(ml_recorder_sink(r), ml_clock_mono_ns());
}

/* Thread and stack of the caller; call with the sink lock held. */
static int
where(int with_stack, uint32_t *thread, uint32_t *stack)
{
    *thread = 0;
    *stack = 0;
    if (stacks == NULL) {
        return ML_OK;
    }
    int err = ml_pystack_thread(stacks, current, thread);
    if (err == 0 && with_stack) {
        err = ml_pystack_stack(stacks, current, stack);
    }
    return err;
}

int
ml_events_log(uint32_t level, uint8_t source, const char *text, size_t len,
              PyFrameObject *frame)
{
    if (recording() == NULL || ml_recorder_sink(current)->failed) {
        return ML_OK;
    }
    ml_sink *sink = ml_recorder_sink(current);
    ml_log log = {.level = level, .source = source};
    log.text.ptr = (const uint8_t *)text;
    log.text.len = (uint32_t)(len > ML_TEXT_MAX ? ML_TEXT_MAX : len);
    log.time_us = ml_sink_time_us(sink, ml_clock_mono_ns());
    /* Every Python call before the lock (lock order, ml_sink.h). */
    ml_recorder *r = current;
    int with_stack = 0;
    /* A log made by a finalizer during another log's gathering goes
     * without a stack (the interner's scratch is the outer one's). */
    if (stacks != NULL && frame != (PyFrameObject *)Py_None && !gathering) {
        gathering++;
        ml_pystack_trim(stacks, ml_recorder_cache_entries(r));
        with_stack = ml_pystack_gather(stacks, frame) == 0;
        gathering--;
    }
    if (current != r) {
        return ML_OK; /* a finalizer run by the gathering stopped it */
    }
    ml_sink_lock(sink);
    int err = where(with_stack, &log.thread, &log.stack);
    if (err == 0) {
        err = ml_writer_log(sink->writer, &log);
    }
    ml_sink_check(sink, err);
    ml_sink_unlock(sink);
    return err;
}

int
ml_events_span(PyCodeObject *code, ml_span *span)
{
    if (recording() == NULL || ml_recorder_sink(current)->failed) {
        return ML_OK;
    }
    ml_sink *sink = ml_recorder_sink(current);
    if (code != NULL) {
        ml_pystack_prepare_code(code); /* before the lock: it is Python */
    }
    if (stacks != NULL && !gathering) {
        ml_recorder *r = current;
        gathering++; /* it may run finalizers: before the lock */
        ml_pystack_trim(stacks, ml_recorder_cache_entries(r));
        gathering--;
        if (current != r) {
            return ML_OK; /* one of them stopped the recording */
        }
    }
    ml_sink_lock(sink);
    uint32_t first = 0;
    int err =
        stacks ? ml_pystack_thread(stacks, current, &span->thread) : ML_OK;
    if (err == 0 && stacks != NULL && code != NULL) {
        err = ml_pystack_code(stacks, current, code, &span->name, &span->file,
                              &first);
    }
    span->line = first;
    if (err == 0) {
        err = ml_writer_span(sink->writer, span);
    }
    ml_sink_check(sink, err);
    ml_sink_unlock(sink);
    return err;
}
