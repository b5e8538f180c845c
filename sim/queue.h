/* queue.h: the pending-event set of the engine, a min-heap of SimEvent by
 * value ordered by (time, seq). Only sim/engine.c uses it; it is a header
 * of its own so the structure can change without touching the run loop. */
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
 * comes from a counter. O(log n); allocates only when the array doubles. */
void sim_queue_push(SimQueue *q, const SimEvent *ev);

/* Removes the smallest (time, seq) into *@out and returns TRUE, or returns
 * FALSE if empty. O(log n). */
gboolean sim_queue_pop(SimQueue *q, SimEvent *out);

/* The smallest (time, seq), or NULL if empty: (transfer none), valid until
 * the next push or pop. O(1). */
const SimEvent *sim_queue_peek(const SimQueue *q);

/* Events pending. */
gsize sim_queue_len(const SimQueue *q);

G_END_DECLS
