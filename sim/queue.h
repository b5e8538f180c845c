/* queue.h: the pending-event set of the engine: SimEvents by value, popped
 * in (time, seq) order. Only sim/engine.c uses it; it is a header of its
 * own so the structure can change without touching the run loop. */
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
 * comes from a counter. The queue is monotone, as simulated time is:
 * ev->time >= 0 and (ev->time, ev->seq) not before the last event popped
 * unless the queue has been empty since (checked with g_return_if_fail).
 * O(1); allocates only when a bucket grows. */
void sim_queue_push(SimQueue *q, const SimEvent *ev);

/* Removes the smallest (time, seq) into *@out and returns TRUE, or returns
 * FALSE if empty. Amortized O(log of the time span pending): each event
 * moves down at most 128 buckets in its life, in practice a few. */
gboolean sim_queue_pop(SimQueue *q, SimEvent *out);

/* The smallest (time, seq), or NULL if empty: (transfer none), a copy
 * valid until the next push, pop or peek. O(1). */
const SimEvent *sim_queue_peek(SimQueue *q);

/* Time of the smallest event, or SIM_TIME_MAX if empty. O(1). */
SimTime sim_queue_next_time(const SimQueue *q);

/* Events pending. */
gsize sim_queue_len(const SimQueue *q);

G_END_DECLS
