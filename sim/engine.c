/* engine.c: the run loop of engine.h: pop the earliest event, set the clock,
 * call its kind's handler; repeat. The only code that advances time. */
#include "sim/engine.h"

#include "sim/queue-private.h"

/* Built with -DSIM_ENGINE_TRACE, the engine writes every schedule, dispatch,
 * sim_run() and clear to the file named by $SIM_ENGINE_TRACE, for
 * `bench-queue TRACE` to replay the real workload against the queue (see
 * bench/bench-queue.c for the format). Never in a normal build. */
#ifdef SIM_ENGINE_TRACE
#include <stdio.h>
#include <stdlib.h>

static void trace_put(gint64 v)
{
    static FILE *f;
    if (f == NULL) {
        const char *path = g_getenv("SIM_ENGINE_TRACE");
        f = fopen(path != NULL ? path : "/dev/null", "wb");
        if (f == NULL) {
            abort();
        }
    }
    fwrite(&v, sizeof v, 1, f);
}
#define TRACE_PUT(v) trace_put(v)
#else
#define TRACE_PUT(v) ((void)0)
#endif

typedef struct {
    char *name;         /* owned copy, for diagnostics */
    SimHandler handle;  /* runs each event of the kind */
    SimHandler discard; /* frees a never-run event's data; nullable */
    gpointer ctx;       /* borrowed, passed to both */
} SimKind;

struct _SimEngine {
    SimEngineClock clock; /* first: sim_now() and sim_schedule() in
                           * engine.h read it; the queue, the seq counter
                           * and the open kinds are there */
    guint64 handled;   /* events handled, all sim_run() calls */
    GArray *kinds;     /* of SimKind; index 0 unused, so kinds start at 1 */
    gboolean running;  /* inside sim_run(): guards re-entry and free */
    gboolean stop;     /* sim_stop() called during this sim_run() */
    gboolean clearing; /* inside sim_engine_clear(): no scheduling */
    guint prefetch;    /* lines of the next event's data asked for */
};

G_STATIC_ASSERT(G_STRUCT_OFFSET(struct _SimEngine, clock) == 0);

static void sim_kind_clear(gpointer p)
{
    SimKind *k = p;
    g_free(k->name);
}

SimEngine *sim_engine_new(void)
{
    SimEngine *e = g_new0(SimEngine, 1);
    e->clock.queue = sim_queue_new();
    e->kinds = g_array_new(FALSE, TRUE, sizeof(SimKind));
    g_array_set_clear_func(e->kinds, sim_kind_clear);
    g_array_set_size(e->kinds, 1);
    return e;
}

void sim_engine_free(SimEngine *e)
{
    if (e == NULL) {
        return;
    }
    g_return_if_fail(!e->running);
    sim_engine_clear(e);
    sim_queue_free(e->clock.queue);
    g_array_unref(e->kinds);
    g_free(e);
}

guint32 sim_engine_register(SimEngine *e,
                            const char *name,
                            SimHandler handle,
                            SimHandler discard,
                            gpointer ctx)
{
    g_return_val_if_fail(e != NULL, 0);
    g_return_val_if_fail(name != NULL && handle != NULL, 0);
    g_return_val_if_fail(e->kinds->len < G_MAXUINT32, 0);
    SimKind k = { g_strdup(name), handle, discard, ctx };
    g_array_append_val(e->kinds, k);
    if (!e->clearing) {
        e->clock.open_kinds = e->kinds->len - 1;
    }
    return e->kinds->len - 1;
}

static inline const SimKind *sim_kind(const SimEngine *e, guint32 kind)
{
    return &g_array_index(e->kinds, SimKind, kind);
}

void sim__schedule_refuse(SimEngine *e, SimTime at, guint32 kind)
{
    g_return_if_fail(e != NULL);
    g_return_if_fail(at >= e->clock.now);
    g_return_if_fail(kind > 0 && kind < e->kinds->len);
    g_return_if_fail(!e->clearing);
}

void sim__schedule_in_refuse(SimEngine *e, SimTime delay)
{
    g_return_if_fail(e != NULL);
    g_return_if_fail(delay >= 0);
}

#ifdef SIM_ENGINE_TRACE
void sim__schedule_traced(
    SimEngine *e, SimTime at, guint32 kind, guint32 arg, gpointer data)
{
    SimEvent ev = { at, e->clock.next_seq++, kind, arg, data };
    TRACE_PUT(at);
    sim_queue__push(e->clock.queue, &ev);
}
#endif

SimTime sim_next_time(const SimEngine *e)
{
    g_return_val_if_fail(e != NULL, SIM_TIME_MAX);
    return sim_queue_next_time(e->clock.queue);
}

/* __builtin_prefetch() of the first @n (1..SIM_PREFETCH_MAX) lines at
 * address @a, unrolled: a loop was six instructions a line. The sums are
 * on the integer: an event's data is the model's and may be no address
 * at all, and pointer arithmetic past an object is undefined (UBSan).
 * Always inline: as a function of prefetches only, gcc's pure-const pass
 * would take it for one without effects and drop its calls
 * (docs/performance.md). */
#define PREFETCH_LINE(a, k) __builtin_prefetch((const void *)((a) + (k) * 64))
G_ALWAYS_INLINE static inline void prefetch_lines(guintptr a, guint n)
{
    G_STATIC_ASSERT(SIM_PREFETCH_MAX == 8);
    switch (n) {
    case 8: PREFETCH_LINE(a, 7); G_GNUC_FALLTHROUGH;
    case 7: PREFETCH_LINE(a, 6); G_GNUC_FALLTHROUGH;
    case 6: PREFETCH_LINE(a, 5); G_GNUC_FALLTHROUGH;
    case 5: PREFETCH_LINE(a, 4); G_GNUC_FALLTHROUGH;
    case 4: PREFETCH_LINE(a, 3); G_GNUC_FALLTHROUGH;
    case 3: PREFETCH_LINE(a, 2); G_GNUC_FALLTHROUGH;
    case 2: PREFETCH_LINE(a, 1); G_GNUC_FALLTHROUGH;
    default: PREFETCH_LINE(a, 0);
    }
}
#undef PREFETCH_LINE

guint64 sim_run(SimEngine *e, SimTime until)
{
    g_return_val_if_fail(e != NULL, 0);
    g_return_val_if_fail(!e->running, 0);
    if (until < e->clock.now) {
        return 0;
    }
    TRACE_PUT(G_MININT64);
    TRACE_PUT(until);
    /* The count is the engine's, less what it was: one counter per
     * event, not two; and the queue is looked up once (it is the
     * engine's for its life), not after every handler. */
    guint64 handled0 = e->handled;
    SimQueue *q = e->clock.queue;
    e->running = TRUE;
    e->stop = FALSE;
    SimEvent ev;
    while (!e->stop && sim_queue__pop_due(q, until, &ev)) {
        e->clock.now = ev.time;
        /* Count before the call, so a handler reading the counter sees
         * itself included. */
        e->handled++;
        TRACE_PUT(-1 - (gint64)ev.seq);
        const SimKind *k = sim_kind(e, ev.kind);
        /* The next event's data, while this one's handler runs. */
        if (e->prefetch > 0) {
            guintptr d = (guintptr)sim_queue__front_next_data(q);
            if (d != 0) {
                prefetch_lines(d, e->prefetch);
            }
        }
        k->handle(e, k->ctx, &ev);
    }
    /* Rules 2 and 3 of engine.h: idle up to a finite @until. */
    if (!e->stop && until != SIM_TIME_MAX) {
        e->clock.now = until;
    }
    e->running = FALSE;
    return e->handled - handled0;
}

void sim_engine_set_prefetch(SimEngine *e, guint lines)
{
    g_return_if_fail(e != NULL && lines <= SIM_PREFETCH_MAX);
    e->prefetch = lines;
}

void sim_stop(SimEngine *e)
{
    g_return_if_fail(e != NULL);
    e->stop = TRUE;
}

guint64 sim_events_handled(const SimEngine *e)
{
    g_return_val_if_fail(e != NULL, 0);
    return e->handled;
}

gsize sim_pending(const SimEngine *e)
{
    g_return_val_if_fail(e != NULL, 0);
    return sim_queue_len(e->clock.queue);
}

const char *sim_engine_kind_name(const SimEngine *e, guint32 kind)
{
    g_return_val_if_fail(e != NULL, NULL);
    g_return_val_if_fail(kind > 0 && kind < e->kinds->len, NULL);
    return sim_kind(e, kind)->name;
}

void sim_engine_clear(SimEngine *e)
{
    g_return_if_fail(e != NULL);
    g_return_if_fail(!e->clearing);
    e->clearing = TRUE;
    e->clock.open_kinds = 0;
    TRACE_PUT(G_MININT64 + 1);
    SimEvent ev;
    while (sim_queue_pop(e->clock.queue, &ev)) {
        TRACE_PUT(-1 - (gint64)ev.seq);
        const SimKind *k = sim_kind(e, ev.kind);
        if (k->discard != NULL) {
            k->discard(e, k->ctx, &ev);
        }
    }
    e->clearing = FALSE;
    e->clock.open_kinds = e->kinds->len - 1;
}
