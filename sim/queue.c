/* queue.c: the pending events (see queue.h) as a small binary heap of the
 * earliest time window in front of a radix heap of windows: events further
 * ahead wait, unsorted, in buckets by how far ahead their window is. */
#include "sim/queue.h"

#include <string.h>

/* Windows: time >> QUEUE_SHIFT. The front holds every event whose window
 * is at or before the current one, cur, as a binary heap by (time, seq);
 * it is never empty while the queue is not. Every other event is in a
 * bucket named by the highest base-2^QUEUE_RADIX_BITS digit in which its
 * window differs from cur, and the digit's value there: every window in a
 * lower bucket is below every window in a higher one. When the front
 * empties, the lowest non-empty bucket (found through a bitmap) becomes the
 * next front: a level-0 bucket holds one window and is taken whole; a
 * higher one is split, its smallest window to the front and the rest to
 * the buckets below. */
#ifndef QUEUE_SHIFT
#define QUEUE_SHIFT 12
#endif
#ifndef QUEUE_RADIX_BITS
#define QUEUE_RADIX_BITS 8
#endif
#define QUEUE_DIGITS (1u << QUEUE_RADIX_BITS)
#define QUEUE_LEVELS \
    ((64 - QUEUE_SHIFT + QUEUE_RADIX_BITS - 1) / QUEUE_RADIX_BITS)
#define QUEUE_BUCKETS (QUEUE_LEVELS * QUEUE_DIGITS)
#define QUEUE_WORDS ((QUEUE_BUCKETS + 63) / 64)
G_STATIC_ASSERT(QUEUE_WORDS <= 64);
#define QUEUE_MIN_CAPACITY 8
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
    QueueBucket front;             /* heap: every event in a window <= cur */
    guint64 cur;                   /* the front's window */
    gsize len;                     /* events pending, front and buckets */
    guint64 summary;               /* bit w: nonempty[w] != 0 */
    guint64 nonempty[QUEUE_WORDS]; /* bit i: bucket i has events */
    QueueBucket spare;             /* len 0: an emptied big array */
    QueueBucket b[QUEUE_BUCKETS];  /* windows after cur */
};

static inline guint64 window_of(SimTime time)
{
    return (guint64)time >> QUEUE_SHIFT;
}

static inline gboolean ev_before(const SimEvent *a, const SimEvent *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* The bucket of window @w > cur. */
static inline guint bucket_of(const SimQueue *q, guint64 w)
{
    guint level = (63 - (guint)__builtin_clzll(w ^ q->cur)) / QUEUE_RADIX_BITS;
    guint digit = (guint)(w >> (level * QUEUE_RADIX_BITS)) & (QUEUE_DIGITS - 1);
    return level * QUEUE_DIGITS + digit;
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
    g_free(q->front.ev);
    g_free(q->spare.ev);
    for (guint i = 0; i < QUEUE_BUCKETS; i++) {
        g_free(q->b[i].ev);
    }
    g_free(q);
}

/* Makes room for one more in @b, full: the spare if it is bigger. */
static void bucket_grow(SimQueue *q, QueueBucket *b)
{
    g_return_if_fail(b->cap <= G_MAXUINT32 / 2);
    if (q->spare.cap > b->cap) {
        memcpy(q->spare.ev, b->ev, b->len * sizeof *b->ev);
        q->spare.len = b->len;
        QueueBucket t = *b;
        *b = q->spare;
        q->spare = t;
        q->spare.len = 0;
        return;
    }
    b->cap = MAX(QUEUE_MIN_CAPACITY, b->cap * 2);
    b->ev = g_renew(SimEvent, b->ev, b->cap);
}

/* @b has just been emptied: a big array goes to the spare slot, or is
 * freed if the spare is at least as big. */
static void bucket_trim(SimQueue *q, QueueBucket *b)
{
    if (b->cap <= QUEUE_KEEP) {
        return;
    }
    if (b->cap > q->spare.cap) {
        QueueBucket t = q->spare;
        q->spare = *b;
        *b = t;
    }
    g_clear_pointer(&b->ev, g_free);
    b->cap = 0;
}

static inline void bucket_append(SimQueue *q, guint bi, const SimEvent *ev)
{
    QueueBucket *b = &q->b[bi];
    if (G_UNLIKELY(b->len == b->cap)) {
        bucket_grow(q, b);
    }
    b->ev[b->len++] = *ev;
    q->nonempty[bi / 64] |= G_GUINT64_CONSTANT(1) << (bi % 64);
    q->summary |= G_GUINT64_CONSTANT(1) << (bi / 64);
}

/* Moves the hole at @i down the heap @a of @n to where @x fits, and puts
 * @x there. */
static inline void heap_sift_down(SimEvent *a, guint32 n, guint32 i,
                                  const SimEvent *x)
{
    SimEvent v = *x;
    for (;;) {
        guint32 l = 2 * i + 1;
        if (l >= n) {
            break;
        }
        guint32 m = l + (l + 1 < n && ev_before(&a[l + 1], &a[l]));
        if (!ev_before(&a[m], &v)) {
            break;
        }
        a[i] = a[m];
        i = m;
    }
    a[i] = v;
}

static inline void front_push(SimQueue *q, const SimEvent *ev)
{
    QueueBucket *f = &q->front;
    if (G_UNLIKELY(f->len == f->cap)) {
        bucket_grow(q, f);
    }
    guint32 i = f->len++;
    while (i > 0) {
        guint32 p = (i - 1) / 2;
        if (!ev_before(ev, &f->ev[p])) {
            break;
        }
        f->ev[i] = f->ev[p];
        i = p;
    }
    f->ev[i] = *ev;
}

void sim_queue_push(SimQueue *q, const SimEvent *ev)
{
    g_return_if_fail(q != NULL && ev != NULL);
    g_return_if_fail(ev->time >= 0);
    guint64 w = window_of(ev->time);
    if (q->len++ == 0) {
        q->cur = w;
    }
    if (w <= q->cur) {
        front_push(q, ev);
    } else {
        bucket_append(q, bucket_of(q, w), ev);
    }
}

static inline guint lowest_nonempty(const SimQueue *q)
{
    guint w = (guint)__builtin_ctzll(q->summary);
    return w * 64 + (guint)__builtin_ctzll(q->nonempty[w]);
}

static inline void bucket_mark_empty(SimQueue *q, guint bi)
{
    guint64 word = q->nonempty[bi / 64] & ~(G_GUINT64_CONSTANT(1) << (bi % 64));
    q->nonempty[bi / 64] = word;
    /* Without a branch: whether the word emptied is a coin toss. */
    q->summary &= ~((guint64)(word == 0) << (bi / 64));
}

/* Refills the empty front from the lowest non-empty bucket (len > 0). */
static void queue_load(SimQueue *q)
{
    guint bi = lowest_nonempty(q);
    QueueBucket *b = &q->b[bi];
    bucket_mark_empty(q, bi);
    if (bi < QUEUE_DIGITS) {
        /* One window: it becomes the front as it is, arrays swapped. */
        q->cur = (q->cur & ~(guint64)(QUEUE_DIGITS - 1)) | bi;
        QueueBucket t = q->front;
        q->front = *b;
        *b = t;
    } else {
        guint64 min = G_MAXUINT64;
        for (guint32 i = 0; i < b->len; i++) {
            min = MIN(min, window_of(b->ev[i].time));
        }
        /* Buckets above keep their index: the new cur agrees with the
         * old one above this bucket's digit. */
        q->cur = min;
        for (guint32 i = 0; i < b->len; i++) {
            const SimEvent *ev = &b->ev[i];
            guint64 w = window_of(ev->time);
            if (w == min) {
                QueueBucket *f = &q->front;
                if (G_UNLIKELY(f->len == f->cap)) {
                    bucket_grow(q, f);
                }
                f->ev[f->len++] = *ev;
            } else {
                bucket_append(q, bucket_of(q, w), ev);
            }
        }
        b->len = 0;
    }
    bucket_trim(q, b);
    QueueBucket *f = &q->front;
    for (guint32 i = f->len / 2; i-- > 0;) {
        heap_sift_down(f->ev, f->len, i, &f->ev[i]);
    }
}

/* Pops the smallest into *@out (len > 0). */
static inline void queue_take(SimQueue *q, SimEvent *out)
{
    QueueBucket *f = &q->front;
    *out = f->ev[0];
    guint32 n = --f->len;
    if (n > 0) {
        heap_sift_down(f->ev, n, 0, &f->ev[n]);
    } else if (--q->len > 0) {
        queue_load(q);
        return;
    } else {
        return;
    }
    q->len--;
}

gboolean sim_queue_pop(SimQueue *q, SimEvent *out)
{
    g_return_val_if_fail(q != NULL && out != NULL, FALSE);
    if (q->len == 0) {
        return FALSE;
    }
    queue_take(q, out);
    return TRUE;
}

gboolean sim_queue_pop_due(SimQueue *q, SimTime until, SimEvent *out)
{
    g_return_val_if_fail(q != NULL && out != NULL, FALSE);
    if (q->len == 0 || q->front.ev[0].time > until) {
        return FALSE;
    }
    queue_take(q, out);
    return TRUE;
}

const SimEvent *sim_queue_peek(SimQueue *q)
{
    g_return_val_if_fail(q != NULL, NULL);
    return q->len > 0 ? &q->front.ev[0] : NULL;
}

SimTime sim_queue_next_time(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, SIM_TIME_MAX);
    return q->len > 0 ? q->front.ev[0].time : SIM_TIME_MAX;
}

gsize sim_queue_len(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, 0);
    return q->len;
}
