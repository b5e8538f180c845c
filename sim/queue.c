/* queue.c: the pending events as a radix heap over (time, seq) keys (see
 * queue.h): buckets by the highest base-64 digit in which a key differs
 * from the last one popped. It needs what simulated time gives: keys
 * never below the last one popped. */
#include "sim/queue.h"

#include <string.h>

/* Why a radix heap (Ahuja, Mehlhorn, Orlin, Tarjan 1990, the monotone
 * priority queue of Dijkstra codes): an engine only schedules at or after
 * the event being handled, and seq only grows, so every key pushed is above
 * the last key popped. A push is then an append to the bucket named by the
 * highest digit in which it differs from that key, and a pop takes the
 * smallest of the lowest non-empty bucket and spreads the rest of that
 * bucket over the buckets below: sequential scans and copies where a binary
 * heap's sift-down mispredicts a branch per level. bench/bench-queue.c
 * (hold model, exponential delays; ns per pop+push at 100 / 10k / 1M
 * pending, medians of 5):
 *   binary heap of 32-byte events       54 / 111 / 370
 *   this, 6-bit digits (make bench)     37 /  50 / 106
 * Tried and dropped: a 4-ary heap of 16-byte keys apart from the payloads
 * (no better than binary); this with 16-byte items and payloads in slots
 * (worse at 1M: the slots are read at random); 1-bit digits (about twice
 * the moves per event); 4- and 5-bit digits (a little slower); 8-bit
 * digits (the bitmap outgrows one summary word).
 *
 * Buckets: 0 holds keys equal to the last popped (only before the first
 * pop); then per level (digit position) and digit value, first for keys
 * whose times agree with the last key and whose seqs differ, then for keys
 * whose times differ. A key's digit at its highest differing level is above
 * the last key's, and every key in a lower bucket is smaller than every key
 * in a higher one, so the minimum is in the lowest non-empty bucket, found
 * through two levels of bitmaps. */
#ifndef QUEUE_RADIX_BITS
#define QUEUE_RADIX_BITS 6
#endif
#define QUEUE_DIGITS (1u << QUEUE_RADIX_BITS)
#define QUEUE_LEVELS ((64 + QUEUE_RADIX_BITS - 1) / QUEUE_RADIX_BITS)
#define QUEUE_BUCKETS (1 + 2 * QUEUE_LEVELS * QUEUE_DIGITS)
#define QUEUE_WORDS ((QUEUE_BUCKETS + 63) / 64)
G_STATIC_ASSERT(QUEUE_WORDS <= 64);
#define QUEUE_MIN_CAPACITY 16
/* An emptied bucket keeps its array only up to this many events, so what
 * the queue holds on to beyond the events pending is bounded (buckets x
 * this x 32 bytes at worst, under 6 MB) rather than growing with every
 * bucket's largest size ever. */
#define QUEUE_KEEP 128

typedef struct {
    SimEvent *ev;
    guint32 len;
    guint32 cap;
} QueueBucket;

struct _SimQueue {
    QueueBucket b[QUEUE_BUCKETS];
    guint64 nonempty[QUEUE_WORDS]; /* bit i: bucket i has events */
    guint64 summary;               /* bit w: nonempty[w] != 0 */
    SimTime last_time;             /* the key last popped */
    guint64 last_seq;
    gsize len;      /* events pending */
    guint min_b;    /* when len > 0: bucket of the smallest event */
    guint32 min_i;  /* and its index there */
};

static inline gboolean ev_before(const SimEvent *a, const SimEvent *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static inline guint bucket_of(const SimQueue *q, SimTime time, guint64 seq)
{
    guint64 t = (guint64)time ^ (guint64)q->last_time;
    guint base = 1 + QUEUE_LEVELS * QUEUE_DIGITS;
    guint64 key = (guint64)time;
    if (t == 0) {
        t = seq ^ q->last_seq;
        if (t == 0) {
            return 0;
        }
        base = 1;
        key = seq;
    }
    guint level = (63 - (guint)__builtin_clzll(t)) / QUEUE_RADIX_BITS;
    guint digit = (guint)(key >> (level * QUEUE_RADIX_BITS)) & (QUEUE_DIGITS - 1);
    return base + level * QUEUE_DIGITS + digit;
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
    for (guint i = 0; i < QUEUE_BUCKETS; i++) {
        g_free(q->b[i].ev);
    }
    g_free(q);
}

static inline guint32 bucket_append(SimQueue *q, guint bi, const SimEvent *ev)
{
    QueueBucket *b = &q->b[bi];
    if (b->len == b->cap) {
        g_return_val_if_fail(b->cap <= G_MAXUINT32 / 2, b->len);
        b->cap = MAX(QUEUE_MIN_CAPACITY, b->cap * 2);
        b->ev = g_renew(SimEvent, b->ev, b->cap);
    }
    b->ev[b->len] = *ev;
    q->nonempty[bi / 64] |= G_GUINT64_CONSTANT(1) << (bi % 64);
    q->summary |= G_GUINT64_CONSTANT(1) << (bi / 64);
    return b->len++;
}

void sim_queue_push(SimQueue *q, const SimEvent *ev)
{
    g_return_if_fail(q != NULL && ev != NULL);
    /* Monotone: never before the last key popped. */
    g_return_if_fail(ev->time > q->last_time ||
                     (ev->time == q->last_time && ev->seq >= q->last_seq));
    guint bi = bucket_of(q, ev->time, ev->seq);
    guint32 i = bucket_append(q, bi, ev);
    if (q->len++ == 0 || ev_before(ev, &q->b[q->min_b].ev[q->min_i])) {
        q->min_b = bi;
        q->min_i = i;
    }
}

static inline guint lowest_nonempty(const SimQueue *q)
{
    guint w = (guint)__builtin_ctzll(q->summary);
    return w * 64 + (guint)__builtin_ctzll(q->nonempty[w]);
}

/* Points min_b/min_i at the smallest event (len > 0). */
static void find_min(SimQueue *q)
{
    guint bi = lowest_nonempty(q);
    const QueueBucket *b = &q->b[bi];
    guint32 best = 0;
    for (guint32 i = 1; i < b->len; i++) {
        if (ev_before(&b->ev[i], &b->ev[best])) {
            best = i;
        }
    }
    q->min_b = bi;
    q->min_i = best;
}

gboolean sim_queue_pop(SimQueue *q, SimEvent *out)
{
    g_return_val_if_fail(q != NULL && out != NULL, FALSE);
    if (q->len == 0) {
        return FALSE;
    }
    guint bi = q->min_b;
    QueueBucket *b = &q->b[bi];
    *out = b->ev[q->min_i];
    b->ev[q->min_i] = b->ev[--b->len];
    q->len--;
    /* An empty queue takes any key again (sim_engine_clear() pops events
     * later than the clock it keeps). */
    q->last_time = q->len > 0 ? out->time : 0;
    q->last_seq = q->len > 0 ? out->seq : 0;
    /* The rest of this bucket now differs from the new last key lower
     * down: spread it over the buckets below. Higher buckets keep their
     * index (the new last key agrees with the old one above bit bi). */
    if (b->len > 0 && bi > 0) {
        /* Buckets below bi were empty, so the smallest of what moves is
         * the new minimum: track it on the way. */
        const SimEvent *min = NULL;
        for (guint32 i = 0; i < b->len; i++) {
            const SimEvent *ev = &b->ev[i];
            guint to = bucket_of(q, ev->time, ev->seq);
            guint32 at = bucket_append(q, to, ev);
            if (min == NULL || ev_before(ev, min)) {
                min = ev;
                q->min_b = to;
                q->min_i = at;
            }
        }
        b->len = 0;
    } else if (b->len > 0) {
        find_min(q);
    }
    if (b->len == 0) {
        q->nonempty[bi / 64] &= ~(G_GUINT64_CONSTANT(1) << (bi % 64));
        if (q->nonempty[bi / 64] == 0) {
            q->summary &= ~(G_GUINT64_CONSTANT(1) << (bi / 64));
        }
        if (b->cap > QUEUE_KEEP) {
            g_clear_pointer(&b->ev, g_free);
            b->cap = 0;
        }
        if (q->len > 0 && bi == q->min_b) {
            find_min(q); /* nothing moved: the next bucket up has it */
        }
    }
    return TRUE;
}

const SimEvent *sim_queue_peek(SimQueue *q)
{
    g_return_val_if_fail(q != NULL, NULL);
    return q->len > 0 ? &q->b[q->min_b].ev[q->min_i] : NULL;
}

SimTime sim_queue_next_time(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, SIM_TIME_MAX);
    return q->len > 0 ? q->b[q->min_b].ev[q->min_i].time : SIM_TIME_MAX;
}

gsize sim_queue_len(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, 0);
    return q->len;
}
