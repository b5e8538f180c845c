/* queue.h: the pending-event set of the engine: SimEvents by value, popped
 * in (time, seq) order. Only the engine uses it (sim/engine.c, and the
 * inline schedule of sim/engine.h); it is a header of its own so the
 * structure can change without touching the run loop. */
#pragma once

#include <glib.h>

#include "sim/time.h"

G_BEGIN_DECLS

/* One scheduled event, copied in and out of the queue by value. */
typedef struct {
    SimTime time;  /* when it fires */
    guint64 seq;   /* tie-breaker: unique, increasing in schedule order */
    guint32 kind;  /* handler, from sim_engine_register() */
    guint32 arg;   /* small payload that needs no allocation */
    gpointer data; /* payload, owned by the event (see engine.h) */
} SimEvent;

G_STATIC_ASSERT(sizeof(SimEvent) == 32);

typedef struct _SimQueue SimQueue;

/* Returns: (transfer full) an empty queue; free with sim_queue_free(). */
SimQueue *sim_queue_new(void);
/* Frees the queue; events still in it are dropped without a look at their
 * data (the engine drains it first). NULL is a no-op. */
void sim_queue_free(SimQueue *q);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimQueue, sim_queue_free)

/* Copies *@ev in. The caller sets ev->seq, unique per queue: pops come out
 * by time, and equal times in increasing seq, i.e. insertion order when seq
 * comes from a counter. ev->time >= 0 (checked with g_return_if_fail).
 * Any order of pushes is correct; the costs below hold when, as in an
 * engine, pushes come at or after the last event popped: O(1) amortized,
 * allocating only when a bucket grows. A push before the current time
 * window of the queue (see queue.c) costs O(log n) instead. */
void sim_queue_push(SimQueue *q, const SimEvent *ev);

/* Removes the smallest (time, seq) into *@out and returns TRUE, or returns
 * FALSE if empty. Amortized O(1) plus the sorting of its time window
 * (a few compares per event; O(log n) for events that took the late heap
 * of a busy window): each event moves down at most 7 buckets in its life,
 * in practice one or two. */
gboolean sim_queue_pop(SimQueue *q, SimEvent *out);

/* sim_queue_pop() if the smallest event's time is <= @until, else FALSE
 * (and *@out untouched): the run loop's step, one call instead of a
 * sim_queue_next_time() and a sim_queue_pop(). */
gboolean sim_queue_pop_due(SimQueue *q, SimTime until, SimEvent *out);

/* The smallest (time, seq), or NULL if empty: (transfer none), a copy
 * valid until the next push, pop or peek. O(1). */
const SimEvent *sim_queue_peek(SimQueue *q);

/* Time of the smallest event, or SIM_TIME_MAX if empty. O(1) amortized:
 * like a pop or a peek, it may load the next time window (the queue
 * loads one only when it is needed, not at the pop that empties the one
 * before, so the handler of that pop pushes into the window it ran in). */
SimTime sim_queue_next_time(const SimQueue *q);

/* Events pending. */
gsize sim_queue_len(const SimQueue *q);

/* The width of its time windows now, log2 ns: adapted to the rate of
 * events (queue.c, queue_adapt()). For tests. */
guint sim_queue__window_bits(const SimQueue *q);

G_END_DECLS
