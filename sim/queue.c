/* queue.c: a binary (d-ary, d = SIM_QUEUE_ARITY) min-heap over one growable
 * array of SimEvent (see queue.h). Children of i are D*i+1 .. D*i+D. */
#include "sim/queue.h"

/* Arity. bench/bench-queue.c (hold model, gcc -O2, 3 interleaved rounds)
 * found no difference beyond noise between 2 and 4 at 100, 10k and 1M
 * pending (about 55 ns, 115 ns and 350 ns per pop+push), nor from aligning
 * each node's children to a cache line, nor from bottom-up pops. Binary
 * stays: simplest. Override with -DSIM_QUEUE_ARITY=N to measure again. */
#ifndef SIM_QUEUE_ARITY
#define SIM_QUEUE_ARITY 2
#endif
#define D SIM_QUEUE_ARITY
G_STATIC_ASSERT(D >= 2);

#define QUEUE_MIN_CAPACITY 64

struct _SimQueue {
    SimEvent *heap; /* heap[0..len) satisfies the heap property */
    gsize len;      /* events pending */
    gsize cap;      /* slots allocated in heap */
};

static inline gboolean queue_before(const SimEvent *a, const SimEvent *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

SimQueue *sim_queue_new(void)
{
    return g_new0(SimQueue, 1);
}

void sim_queue_free(SimQueue *q)
{
    if (q == NULL) {
        return;
    }
    g_free(q->heap);
    g_free(q);
}

void sim_queue_push(SimQueue *q, const SimEvent *ev)
{
    g_return_if_fail(q != NULL && ev != NULL);
    if (q->len == q->cap) {
        q->cap = MAX(QUEUE_MIN_CAPACITY, q->cap * 2);
        q->heap = g_renew(SimEvent, q->heap, q->cap);
    }
    /* Sift up by moving parents down into the hole, then write once. */
    SimEvent *heap = q->heap;
    gsize i = q->len++;
    while (i > 0) {
        gsize parent = (i - 1) / D;
        if (!queue_before(ev, &heap[parent])) {
            break;
        }
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = *ev;
}

gboolean sim_queue_pop(SimQueue *q, SimEvent *out)
{
    g_return_val_if_fail(q != NULL && out != NULL, FALSE);
    if (q->len == 0) {
        return FALSE;
    }
    SimEvent *heap = q->heap;
    *out = heap[0];
    gsize n = --q->len;
    if (n == 0) {
        return TRUE;
    }
    /* Sift the last event down from the root, moving the smallest child up
     * into the hole at each level. */
    const SimEvent last = heap[n];
    gsize i = 0;
    for (;;) {
        gsize first = D * i + 1;
        if (first >= n) {
            break;
        }
        gsize end = MIN(first + D, n);
        gsize best = first;
        for (gsize c = first + 1; c < end; c++) {
            if (queue_before(&heap[c], &heap[best])) {
                best = c;
            }
        }
        if (!queue_before(&heap[best], &last)) {
            break;
        }
        heap[i] = heap[best];
        i = best;
    }
    heap[i] = last;
    return TRUE;
}

const SimEvent *sim_queue_peek(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, NULL);
    return q->len > 0 ? &q->heap[0] : NULL;
}

gsize sim_queue_len(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, 0);
    return q->len;
}
