// SPDX-License-Identifier: MIT
// SIGTERM ends a child's recording, then kills it (see ml_term.h). The
// handler does only async-signal-safe work: it wakes this file's thread,
// which writes with the locks any other thread of the recorder takes.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ml_term.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_wake.h"

/* Who ends the recording once SIGTERM came: the thread (ENDING) or the
 * stop in progress (STOPPING), decided by one compare-and-swap. */
enum {
    ARMED,
    ENDING,
    STOPPING
};

/* armed, r, old and thread change only with the GIL, in the thread that
 * starts and stops recordings (or in a forked child before Python runs);
 * the thread reads r after the handler woke it. signum is set by the
 * handler, state and stop by either side. */
static struct {
    int armed;
    ml_recorder *r;
    struct sigaction old; /* SIGTERM's action before ours: the default */
    pthread_t thread;
    sem_t wake;
    atomic_int signum;
    atomic_int state;
    atomic_int stop;
} term;

static void
on_term(int sig)
{
    int saved = errno;
    int none = 0;
    if (atomic_compare_exchange_strong(&term.signum, &none, sig)) {
        sem_post(&term.wake);
    }
    errno = saved;
}

static void
die(int sig)
{
    ml_recorder_terminate(term.r, -(int64_t)sig);
    sigaction(sig, &term.old, NULL);
    /* Blocked in this thread, so another one takes it: the default action
     * ends the process as if microlog had not been there. */
    kill(getpid(), sig);
    for (;;) {
        pause();
    }
}

static void *
run(void *arg)
{
    (void)arg;
    ml_wake_block_signals();
    for (;;) {
        if (sem_wait(&term.wake) != 0) {
            continue; /* EINTR */
        }
        int sig = atomic_load(&term.signum);
        int armed = ARMED;
        if (sig != 0
            && atomic_compare_exchange_strong(&term.state, &armed, ENDING)) {
            die(sig);
        }
        if (atomic_load(&term.stop)) {
            return NULL;
        }
    }
}

static int
is_ours(const struct sigaction *a)
{
    return !(a->sa_flags & SA_SIGINFO) && a->sa_handler == on_term;
}

/* Puts SIGTERM's action back (unless the program has set one since) and
 * ends the thread. */
static void
disarm(void)
{
    struct sigaction now;
    if (sigaction(SIGTERM, NULL, &now) == 0 && is_ours(&now)) {
        sigaction(SIGTERM, &term.old, NULL);
    }
    atomic_store(&term.stop, 1);
    sem_post(&term.wake);
    Py_BEGIN_ALLOW_THREADS pthread_join(term.thread, NULL);
    Py_END_ALLOW_THREADS sem_destroy(&term.wake);
    term.armed = 0;
    term.r = NULL;
}

int
ml_term_arm(ml_recorder *r)
{
    if (term.armed) {
        return 1;
    }
    struct sigaction now;
    if (sigaction(SIGTERM, NULL, &now) != 0 || (now.sa_flags & SA_SIGINFO)
        || now.sa_handler != SIG_DFL) {
        return 0; /* the program's own handler, or SIG_IGN, decides */
    }
    if (sem_init(&term.wake, 0, 0) != 0) {
        return 0;
    }
    atomic_store(&term.signum, 0);
    atomic_store(&term.state, ARMED);
    atomic_store(&term.stop, 0);
    term.r = r;
    if (pthread_create(&term.thread, NULL, run, NULL) != 0) {
        sem_destroy(&term.wake);
        return 0;
    }
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_term;
    sigemptyset(&act.sa_mask);
    /* Interrupted calls go on as if nothing happened (SA_RESTART); on the
     * alternate stack when one is set, as CPython's own handlers. */
    act.sa_flags = SA_RESTART | SA_ONSTACK;
    term.armed = 1;
    if (sigaction(SIGTERM, &act, &term.old) != 0) {
        disarm();
        return 0;
    }
    return 1;
}

void
ml_term_begin_stop(void)
{
    int armed = ARMED;
    if (term.armed
        && !atomic_compare_exchange_strong(&term.state, &armed, STOPPING)) {
        /* The thread is ending the recording: the process dies with it. */
        Py_BEGIN_ALLOW_THREADS pthread_join(term.thread, NULL);
        Py_END_ALLOW_THREADS
    }
}

void
ml_term_end_stop(void)
{
    if (!term.armed) {
        return;
    }
    disarm();
    int sig = atomic_load(&term.signum);
    if (sig != 0) {
        kill(getpid(), sig); /* the one that came while stopping */
    }
}

int
ml_term_armed(void)
{
    return term.armed;
}

void
ml_term_forget_fork(void)
{
    if (!term.armed) {
        return;
    }
    struct sigaction now;
    if (sigaction(SIGTERM, NULL, &now) == 0 && is_ours(&now)) {
        sigaction(SIGTERM, &term.old, NULL);
    }
    sem_destroy(&term.wake); /* nobody waits on it here */
    term.armed = 0;
    term.r = NULL;
}
