/* engine.h: the discrete-event run loop: a clock, the pending events and a
 * table of handlers. Models register their event kinds and schedule; the
 * command line calls sim_run(). Includes nothing of models/ or viz/. */
#pragma once

#include <glib.h>

#include "sim/queue-private.h"
#include "sim/time.h"

G_BEGIN_DECLS

typedef struct _SimEngine SimEngine;

/* Called with the event's kind's @ctx (borrowed) and the event (borrowed,
 * valid during the call). A handler receives ownership of ev->data; a
 * discard handler receives it too, to free it. */
typedef void (*SimHandler)(SimEngine *e, gpointer ctx, const SimEvent *ev);

/* Returns: (transfer full) an engine at time 0 with nothing pending; free
 * with sim_engine_free(). */
SimEngine *sim_engine_new(void);

/* Discards what is still pending (as sim_engine_clear()), then frees. Not
 * from inside a handler. NULL is a no-op. */
void sim_engine_free(SimEngine *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimEngine, sim_engine_free)

/* Adds an event kind and returns its number (kinds start at 1, so a zeroed
 * SimEvent is never a valid one). @name is copied, for sim_engine_kind_name()
 * and diagnostics. @handle runs each event of this kind. @discard
 * (nullable) runs instead for each event still pending when the engine is
 * cleared or freed, so that payloads never leak; without one, the data of
 * such events is dropped unseen. @ctx is borrowed and must outlive the
 * engine's use of the kind. */
guint32 sim_engine_register(SimEngine *e,
                            const char *name,
                            SimHandler handle,
                            SimHandler discard,
                            gpointer ctx);

/* While a handler runs, the first @lines cache lines (at most
 * SIM_PREFETCH_MAX) of the next event's data are asked for (data taken
 * as an address; NULL data is skipped). For models whose events carry a
 * big struct that has left the cache by its next event: at 200k
 * requests/s a request's next event comes milliseconds later, thousands
 * of events on. Default 0: none. */
#define SIM_PREFETCH_MAX 8
void sim_engine_set_prefetch(SimEngine *e, guint lines);

/* Queues an event of @kind at time @at, with @arg and @data (transfer full:
 * the event owns @data, then its handler or discard handler does). Events
 * at equal times run in the order they were scheduled (seq from one engine
 * counter). Preconditions, checked with g_return_if_fail: @at >= now,
 * @kind registered, not inside sim_engine_clear(). A refused event is not
 * queued, no handler ever sees it, and @data stays the caller's. */
static inline void sim_schedule(
    SimEngine *e, SimTime at, guint32 kind, guint32 arg, gpointer data);

/* sim_schedule(e, now + @delay, ...); @delay >= 0; a sum past SIM_TIME_MAX
 * is clamped to it. */
static inline void sim_schedule_in(
    SimEngine *e, SimTime delay, guint32 kind, guint32 arg, gpointer data);

/* What handlers read and schedule through inline: the first member of
 * every engine (the rest is engine.c's). A handler asks the time several
 * times per event, and schedules once or twice: a call each for those was
 * about 40 instructions a request (argument checks the handler's own
 * arithmetic already made, and the event copied between frames). Use it
 * through sim_now() and sim_schedule*() only. */
typedef struct {
    SimTime now;         /* never decreases */
    SimQueue *queue;     /* pending events */
    guint64 next_seq;    /* next tie-breaker; one counter for all kinds */
    guint32 open_kinds;  /* kinds sim_schedule() accepts, 1..open_kinds:
                          * the kinds registered, or 0 while clearing, so
                          * that one compare checks both */
} SimEngineClock;

/* The clock: the time of the event being handled, or see sim_run().
 * @e must not be NULL (not checked: it is inline for the hot paths). */
static inline SimTime sim_now(const SimEngine *e)
{
    return ((const SimEngineClock *)(const void *)e)->now;
}

/* Time of the next pending event, or SIM_TIME_MAX if none. */
SimTime sim_next_time(const SimEngine *e);

/* Handles pending events with time <= @until, one at a time in (time, seq)
 * order, setting now to each event's time before its handler runs;
 * handlers may schedule more, which run in this call if due by @until.
 * Events later than @until stay pending. Returns the number handled by this
 * call. Afterwards the clock is:
 *   1. if a handler called sim_stop(): that event's time (events due by
 *      @until may still be pending);
 *   2. otherwise @until, whether or not later events are pending: the
 *      simulation has idled up to @until, so "run to T, then schedule at
 *      sim_now()" schedules at T;
 *   3. except that @until == SIM_TIME_MAX means "until nothing is
 *      pending": now stays at the last event handled (unchanged if none)
 *      instead of jumping to the end of time.
 * @until < now handles nothing and leaves now alone. Not re-entrant: a
 * handler must not call sim_run(). */
guint64 sim_run(SimEngine *e, SimTime until);

/* Asks the sim_run() in progress to return after the current handler. A
 * stop asked for outside sim_run() is forgotten when the next one starts. */
void sim_stop(SimEngine *e);

/* Events handled since the engine was made, over all sim_run() calls. */
guint64 sim_events_handled(const SimEngine *e);

/* Events pending. */
gsize sim_pending(const SimEngine *e);

/* The name @kind was registered with: (transfer none), valid as long as the
 * engine; NULL (with a critical) for an unknown kind. */
const char *sim_engine_kind_name(const SimEngine *e, guint32 kind);

/* Removes every pending event, in (time, seq) order, passing each to its
 * kind's discard handler. Discard handlers must not schedule. now and
 * sim_events_handled() are unchanged. */
void sim_engine_clear(SimEngine *e);

/* ---- the inline schedule (engine.c has the rest) ------------------------ */

/* The refusals of sim_schedule() and sim_schedule_in() (g_return_if_fail
 * messages), out of their hot path. */
void sim__schedule_refuse(SimEngine *e, SimTime at, guint32 kind);
void sim__schedule_in_refuse(SimEngine *e, SimTime delay);
#ifdef SIM_ENGINE_TRACE
/* A trace build (sim/engine.c) records each schedule: out of line. */
void sim__schedule_traced(
    SimEngine *e, SimTime at, guint32 kind, guint32 arg, gpointer data);
#endif

static inline G_ALWAYS_INLINE void sim_schedule(
    SimEngine *e, SimTime at, guint32 kind, guint32 arg, gpointer data)
{
    SimEngineClock *c = (SimEngineClock *)(void *)e;
    /* One well-predicted test for the four preconditions; kind - 1 wraps
     * for kind 0, and open_kinds is 0 while clearing. */
    if (G_UNLIKELY(e == NULL || at < c->now || kind - 1 >= c->open_kinds)) {
        sim__schedule_refuse(e, at, kind);
        return;
    }
#ifdef SIM_ENGINE_TRACE
    sim__schedule_traced(e, at, kind, arg, data);
#else
    sim_queue__push_fields(c->queue, at, c->next_seq++, kind, arg, data);
#endif
}

static inline G_ALWAYS_INLINE void sim_schedule_in(
    SimEngine *e, SimTime delay, guint32 kind, guint32 arg, gpointer data)
{
    if (G_UNLIKELY(e == NULL || delay < 0)) {
        sim__schedule_in_refuse(e, delay);
        return;
    }
    SimTime now = sim_now(e);
    SimTime at = delay > SIM_TIME_MAX - now ? SIM_TIME_MAX : now + delay;
    sim_schedule(e, at, kind, arg, data);
}

G_END_DECLS
