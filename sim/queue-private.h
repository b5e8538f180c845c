/* queue-private.h: the inside of the event queue (queue.c), for queue.c,
 * the run loop in engine.c and the inline schedule in engine.h only. The
 * push and the pop are inline here so that sim_schedule() and sim_run()
 * do them without a call: at eight events per request the calls, their
 * argument checks (which the engine has made already) and the copies of
 * the event between frames were about 30 instructions per event. Models
 * see this through engine.h but never use it. The rest of queue.h stays
 * behind calls, and the cold paths below are functions in queue.c. */
#pragma once

#include "sim/queue.h"

G_BEGIN_DECLS

/* Windows are 2^shift ns, shift adapted to the rate of events between
 * these bounds (queue.c, queue_adapt()), starting at QUEUE_SHIFT. A build
 * with -DQUEUE_SHIFT_MIN=N -DQUEUE_SHIFT_MAX=N fixes it (bench-queue). */
#ifndef QUEUE_SHIFT
#define QUEUE_SHIFT 12
#endif
#ifndef QUEUE_SHIFT_MIN
#define QUEUE_SHIFT_MIN 10
#endif
#ifndef QUEUE_SHIFT_MAX
#define QUEUE_SHIFT_MAX 18
#endif
G_STATIC_ASSERT(QUEUE_SHIFT_MIN <= QUEUE_SHIFT &&
                QUEUE_SHIFT <= QUEUE_SHIFT_MAX && QUEUE_SHIFT_MAX <= 20);
#ifndef QUEUE_RADIX_BITS
#define QUEUE_RADIX_BITS 8
#endif
#define QUEUE_DIGITS (1u << QUEUE_RADIX_BITS)
/* Enough levels for the narrowest windows, the most of them. */
#define QUEUE_LEVELS \
    ((64 - QUEUE_SHIFT_MIN + QUEUE_RADIX_BITS - 1) / QUEUE_RADIX_BITS)
#define QUEUE_BUCKETS (QUEUE_LEVELS * QUEUE_DIGITS)
#define QUEUE_WORDS ((QUEUE_BUCKETS + 63) / 64)
G_STATIC_ASSERT(QUEUE_WORDS <= 64);
#define QUEUE_MIN_CAPACITY 8
/* A push into the front passes at most this many of its events (else it
 * goes to the late heap); loads bigger than this are radix-sorted. */
#define QUEUE_SORTED_MAX 32
/* An emptied bucket keeps its array only up to this many events, so what
 * the queue holds on to beyond the events pending is bounded (buckets x
 * this x 32 bytes, under 8 MB, plus one spare) rather than growing with
 * every bucket's largest size ever. A larger array becomes the spare,
 * which the next bucket to grow past this takes: at high rates a level-1
 * bucket holds thousands of events each time round, and regrowing it by
 * doubling cost more than the rest of its moves. */
#define QUEUE_KEEP 128

typedef struct {
    SimEvent *ev;
    guint32 len;
    guint32 cap;
} QueueBucket;

struct _SimQueue {
    QueueBucket front;             /* sorted ascending from front_head:
                                      ev[front_head..len) are pending */
    guint32 front_head;            /* the front's smallest; == len: empty */
    QueueBucket late;              /* min-heap: pushed into the front's
                                      windows too far from its small end */
    QueueBucket scratch;           /* len 0: room for sorting big loads */
    guint64 cur;                   /* the front's window */
    gsize len;                     /* events pending, front and buckets */
    guint64 summary;               /* bit w: nonempty[w] != 0 */
    guint64 nonempty[QUEUE_WORDS]; /* bit i: bucket i has events (set
                                      exactly while b[i].len > 0) */
    QueueBucket spare;             /* len 0: an emptied big array */
    guint shift;                   /* windows of 2^shift ns */
    guint64 loaded;                /* events loaded since the last look
                                    * at the width (queue_adapt()) */
    guint64 front_pushed;          /* events pushed into the front since */
    guint64 look_at;               /* the next look when the two add up
                                    * to this */
    SimTime look_time;             /* the time of that look */
    QueueBucket b[QUEUE_BUCKETS];  /* windows after cur */
};

static inline guint64 queue_window_of(const SimQueue *q, SimTime time)
{
    return (guint64)time >> q->shift;
}

static inline gboolean queue_ev_before(const SimEvent *a, const SimEvent *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* The bucket of window @w > cur. */
static inline guint queue_bucket_of(const SimQueue *q, guint64 w)
{
    guint level = (63 - (guint)__builtin_clzll(w ^ q->cur)) / QUEUE_RADIX_BITS;
    guint digit = (guint)(w >> (level * QUEUE_RADIX_BITS)) & (QUEUE_DIGITS - 1);
    return level * QUEUE_DIGITS + digit;
}

/* Makes room for one more in @b, full: the spare if it is bigger. */
void sim_queue__grow(SimQueue *q, QueueBucket *b);

/* Refills the empty front and late heap from the lowest non-empty bucket
 * (q->len > 0): afterwards the front has at least one event. */
void sim_queue__load(SimQueue *q);

/* sim_queue__push() of an event at or before the front's window, q->len
 * counting it already. Into an empty queue, it makes its window the
 * front's. The push inline leaves cur alone when the queue is empty: an
 * event after cur goes to its bucket, right whatever cur is when nothing
 * else is pending, so only this path (3% of pushes) looks at len. */
void sim_queue__front_push(SimQueue *q, const SimEvent *ev);

/* sim_queue__pop_due() while the late heap is not empty. */
gboolean sim_queue__pop_due_late(SimQueue *q, SimTime until, SimEvent *out);

/* The slot of a new event at the end of bucket @bi (for the caller to
 * fill). */
static inline SimEvent *queue_bucket_slot(SimQueue *q, guint bi)
{
    QueueBucket *b = &q->b[bi];
    if (G_UNLIKELY(b->len == b->cap)) {
        sim_queue__grow(q, b);
    }
    /* A bucket's bit is set exactly while it has events, so only the
     * first event needs to set it: most appends go to a bucket that
     * already has some, and the two read-modify-writes were a third of
     * an append. */
    if (b->len == 0) {
        q->nonempty[bi / 64] |= G_GUINT64_CONSTANT(1) << (bi % 64);
        q->summary |= G_GUINT64_CONSTANT(1) << (bi / 64);
    }
    return &b->ev[b->len++];
}

static inline void queue_bucket_append(SimQueue *q, guint bi,
                                       const SimEvent *ev)
{
    *queue_bucket_slot(q, bi) = *ev;
}

/* sim_queue__push() of the event (@time, @seq, @kind, @arg, @data),
 * its fields stored straight into the bucket. Built on the stack and
 * copied, the event was written by five scalar stores and read back by
 * two 16-byte loads, which the store buffer cannot forward: the loads
 * waited for the stores to reach the cache, the hottest instruction of
 * the schedule (perf annotate, 10M-line replay). */
static inline void sim_queue__push_fields(SimQueue *q, SimTime time,
                                          guint64 seq, guint32 kind,
                                          guint32 arg, gpointer data)
{
    guint64 w = queue_window_of(q, time);
    q->len++;
    if (w <= q->cur) {
        SimEvent ev = { time, seq, kind, arg, data };
        sim_queue__front_push(q, &ev);
        return;
    }
    SimEvent *e = queue_bucket_slot(q, queue_bucket_of(q, w));
    e->time = time;
    e->seq = seq;
    e->kind = kind;
    e->arg = arg;
    e->data = data;
}

/* sim_queue_push() without its checks: @ev->time >= 0, which the engine
 * knows from time >= now >= 0. */
static inline void sim_queue__push(SimQueue *q, const SimEvent *ev)
{
    guint64 w = queue_window_of(q, ev->time);
    q->len++;
    if (w <= q->cur) {
        sim_queue__front_push(q, ev);
    } else {
        queue_bucket_append(q, queue_bucket_of(q, w), ev);
    }
}

/* sim_queue_pop_due() without its checks. The common case, no late heap,
 * is a look at the front's first event. */
static inline gboolean sim_queue__pop_due(SimQueue *q, SimTime until,
                                          SimEvent *out)
{
    if (G_UNLIKELY(q->late.len != 0)) {
        return sim_queue__pop_due_late(q, until, out);
    }
    QueueBucket *f = &q->front;
    if (G_UNLIKELY(q->front_head == f->len)) {
        /* Loaded only now, not at the pop that emptied it: see
         * front_ready() in queue.c. A load leaves the late heap empty. */
        if (q->len == 0) {
            return FALSE;
        }
        sim_queue__load(q);
    }
    const SimEvent *top = &f->ev[q->front_head];
    if (top->time > until) {
        return FALSE;
    }
    *out = *top;
    q->front_head++;
    q->len--;
    return TRUE;
}

/* The data of the event the front pops next, NULL when the front is
 * empty (the late heap is not looked at): what the engine prefetches
 * while the current event's handler runs (sim_engine_set_prefetch()). */
static inline gpointer sim_queue__front_next_data(const SimQueue *q)
{
    return q->front_head < q->front.len ? q->front.ev[q->front_head].data
                                        : NULL;
}

G_END_DECLS
