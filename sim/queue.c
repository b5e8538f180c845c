/* queue.c: the pending events (see queue.h): the earliest time window
 * (1us to 262us, adapted to the rate of events) as a sorted array, in
 * front of a radix heap of windows where events further ahead wait,
 * unsorted, in buckets by how far ahead they are.
 * The structure and the inline push and pop the engine uses are in
 * queue-private.h; what runs once per window or more rarely is here. */
#include "sim/queue-private.h"

#include <math.h>
#include <string.h>

/* queue_adapt(): the width is looked at, at a load, once this many events
 * went through the front since the last look (or as many as are pending,
 * if more), and set to hold about this many events a window. */
#define QUEUE_ADAPT_EVENTS 16384
#define QUEUE_PER_WINDOW 6

/* Windows: time >> shift (adapted). The front holds every event whose window
 * is at or before the current one, cur: a sorted array (ascending, a pop
 * takes the one at its head and a push at now goes in just before it;
 * ascending because a bucket fills in push order, and events of one time,
 * such as a replay's arrivals of one millisecond, are pushed in seq order,
 * so they need no moves: descending, a window of 20 tied arrivals was the
 * insertion sort's worst case) plus a late min-heap for the rare push
 * that would pass more than QUEUE_SORTED_MAX of the array; the two are
 * never both empty while the queue is not. Every other event is in a
 * bucket named by the highest base-2^QUEUE_RADIX_BITS digit in which its
 * window differs from cur, and the digit's value there: every window in a
 * lower bucket is below every window in a higher one. When the front
 * empties, the lowest non-empty bucket (found through a bitmap) becomes
 * the next front: a level-0 bucket holds one window and is taken whole,
 * arrays swapped; a higher one is split, its smallest window to the front
 * and the rest to the buckets below. A loaded window is sorted once.
 *
 * Why (bench-queue TRACE replays a real run's engine calls; see
 * bench/bench-queue.c): real runs hold hundreds (1M requests) to a few
 * thousand (10M) events, 9% scheduled at now and most 100us-4ms ahead,
 * with 1.6M events per simulated second at most: a few per 4us window.
 * The radix heap this replaced (over full (time, seq) keys, 6-bit digits)
 * moved each event down three or four levels, rescanned a bucket for each
 * new minimum and mispredicted about 1.75 branches per event. Here most
 * events move once (8-bit digits: level 0 spans 1 ms of windows) or twice,
 * and the sorted front costs a few compares per window. CPU ns per event
 * of the replay (engine + queue + a trivial handler; medians, shared
 * machine, +-10%), and hold ops/s (make bench) at 10k / 1M pending:
 *                                  1M run   10M run   hold 10k   hold 1M
 *   radix heap, (time, seq) keys     40       47       27.8 M     12.8 M
 *   windows, binary-heap front       30       38       22.3 M      7.4 M
 *   windows, sorted front (this)     30       35       42 M       11.7 M
 * Callgrind, the 200k run, queue + run loop: 289 -> 232 instructions per
 * event (--enable-lto); at that low rate almost every pop loads a window.
 * Tried and dropped: a binary heap as the front (above: windows of
 * thousands at 1M pending, and ~1.5 mispredicted sift-down branches per
 * pop at 10M); turning the whole front into a heap on the first push that
 * passes too many (at 1M pending nearly every window did); windows of 1,
 * 2 and 8 us (2us wins at 1M requests, 8us at 10M, by a few %, within
 * noise); 6-bit digits on windows (more moves); freeing a drained bucket's
 * array above QUEUE_KEEP as before (at 10M a level-1 bucket regrew to
 * thousands by doubling every 1 ms: 12 instructions per event of memcpy).
 * Later, queue + run loop 228 -> 152 per event (plain -O2, same run):
 * push and pop inline in the engine (queue-private.h), level-1 buckets
 * spread over level 0 in one pass (queue_spread()), a bucket's bits set
 * by its first event only, small windows sorted in the load. Tried then:
 * 9-bit digits (12-bit windows: 0.3% fewer, not kept), 11- and 13-bit
 * windows (more), a window reversed before its insertion sort (more: the
 * buckets are not mostly ascending), the engine writing the event's
 * fields straight into the bucket (more: they are live across the grow
 * call). That last one came back later and stayed
 * (sim_queue__push_fields()): counted in cycles, not instructions, the
 * event built on the stack and read back whole was a store-forwarding
 * stall at every schedule.
 * Later still, the width adapted to the rate of events (queue_adapt()):
 * per request of the article, -8% instructions at 4k requests/s, -4.3% at
 * 20k/s, +0.6% at 200k/s (the shift is a load now, not a constant). */
SimQueue *sim_queue_new(void)
{
    SimQueue *q = g_new0(SimQueue, 1);
    q->shift = QUEUE_SHIFT;
    q->look_at = QUEUE_ADAPT_EVENTS;
    return q;
}

void sim_queue_free(SimQueue *q)
{
    if (q == NULL) {
        return;
    }
    g_free(q->front.ev);
    g_free(q->late.ev);
    g_free(q->scratch.ev);
    g_free(q->spare.ev);
    for (guint i = 0; i < QUEUE_BUCKETS; i++) {
        g_free(q->b[i].ev);
    }
    g_free(q);
}

void sim_queue__grow(SimQueue *q, QueueBucket *b)
{
    g_return_if_fail(b->cap <= G_MAXUINT32 / 2);
    if (q->spare.cap > b->cap) {
        if (b->len > 0) { /* memcpy() wants an array even for none */
            memcpy(q->spare.ev, b->ev, b->len * sizeof *b->ev);
        }
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
        guint32 m = l + (l + 1 < n && queue_ev_before(&a[l + 1], &a[l]));
        if (!queue_ev_before(&a[m], &v)) {
            break;
        }
        a[i] = a[m];
        i = m;
    }
    a[i] = v;
}

static void heap_push(QueueBucket *f, const SimEvent *ev)
{
    guint32 i = f->len++;
    while (i > 0) {
        guint32 p = (i - 1) / 2;
        if (!queue_ev_before(ev, &f->ev[p])) {
            break;
        }
        f->ev[i] = f->ev[p];
        i = p;
    }
    f->ev[i] = *ev;
}

/* Room for QUEUE_FRONT_ROOM pushes before the front's head, when a push
 * finds none there: the pop before a handler's push frees one slot, so
 * this is for a handler that pushes two or more, or a push after a load
 * by a peek. */
#define QUEUE_FRONT_ROOM 4

static G_GNUC_NO_INLINE void front_make_room(SimQueue *q)
{
    QueueBucket *f = &q->front;
    guint32 h = q->front_head, n = f->len - h;
    while (f->cap < n + QUEUE_FRONT_ROOM) {
        sim_queue__grow(q, f);
    }
    memmove(f->ev + QUEUE_FRONT_ROOM, f->ev + h, n * sizeof *f->ev);
    q->front_head = QUEUE_FRONT_ROOM;
    f->len = QUEUE_FRONT_ROOM + n;
}

/* sim_queue__front_push() of an event that would pass more than
 * QUEUE_SORTED_MAX from the front's small end: from its big end if it
 * passes at most that many there, else into the late heap, so no push
 * costs O(n), even into a window of thousands. From the big end: a
 * replay's arrivals of one millisecond (200 at 200k/s) fill a window,
 * and each pushes its next step a little later, after all of them; the
 * heap cost those pushes and the pops after them (5% of instructions). */
static G_GNUC_NO_INLINE void front_push_far(SimQueue *q, const SimEvent *ev)
{
    QueueBucket *f = &q->front;
    guint32 n = f->len; /* > front_head + QUEUE_SORTED_MAX */
    if (!queue_ev_before(ev, &f->ev[n - 1 - QUEUE_SORTED_MAX])) {
        if (G_UNLIKELY(n == f->cap)) {
            sim_queue__grow(q, f);
        }
        guint32 i = n;
        while (queue_ev_before(ev, &f->ev[i - 1])) {
            f->ev[i] = f->ev[i - 1];
            i--;
        }
        f->ev[i] = *ev;
        f->len = n + 1;
        return;
    }
    QueueBucket *l = &q->late;
    if (G_UNLIKELY(l->len == l->cap)) {
        sim_queue__grow(q, l);
    }
    heap_push(l, ev);
}

void sim_queue__front_push(SimQueue *q, const SimEvent *ev)
{
    QueueBucket *f = &q->front;
    q->front_pushed++;
    if (q->len == 1) {
        /* Into an empty queue: the front is its window alone, as after
         * a load, not every window up to a cur left from before. */
        q->cur = queue_window_of(q, ev->time);
    }
    /* Insertion from the small end: an event at now (the common case)
     * passes only the few at now. */
    guint32 h = q->front_head;
    guint32 stop = f->len - h > QUEUE_SORTED_MAX ? h + QUEUE_SORTED_MAX
                                                  : f->len;
    if (G_UNLIKELY(stop < f->len && queue_ev_before(&f->ev[stop], ev))) {
        front_push_far(q, ev);
        return;
    }
    if (G_UNLIKELY(h == 0)) {
        front_make_room(q);
        h = QUEUE_FRONT_ROOM;
        stop += QUEUE_FRONT_ROOM;
    }
    /* The events it passes move down one, into the slot before the
     * head. */
    guint32 i = h;
    while (i < stop && queue_ev_before(&f->ev[i], ev)) {
        f->ev[i - 1] = f->ev[i];
        i++;
    }
    f->ev[i - 1] = *ev;
    q->front_head = h - 1;
}

void sim_queue_push(SimQueue *q, const SimEvent *ev)
{
    g_return_if_fail(q != NULL && ev != NULL);
    g_return_if_fail(ev->time >= 0);
    sim_queue__push(q, ev);
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

/* Sorts @a of @n ascending, fast when it is nearly so. */
static inline void sort_insertion(SimEvent *a, guint32 n)
{
    for (guint32 i = 1; i < n; i++) {
        if (!queue_ev_before(&a[i], &a[i - 1])) {
            continue;
        }
        SimEvent v = a[i];
        guint32 j = i;
        while (j > 0 && queue_ev_before(&v, &a[j - 1])) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

/* A window's time bits are sorted in two passes of this many bits. */
#define QUEUE_SORT_BITS_MAX ((QUEUE_SHIFT_MAX + 1) / 2)

/* One stable counting pass of @n from @from to @to by the @bits-bit digit
 * of time at @shift. */
static void sort_pass(const SimEvent *from, SimEvent *to, guint32 n,
                      guint shift, guint bits)
{
    guint32 count[(1u << QUEUE_SORT_BITS_MAX) + 1];
    const guint64 mask = (G_GUINT64_CONSTANT(1) << bits) - 1;
    memset(count, 0, ((1u << bits) + 1) * sizeof *count);
    for (guint32 i = 0; i < n; i++) {
        count[((guint64)from[i].time >> shift & mask) + 1]++;
    }
    for (guint d = 1; d <= mask + 1; d++) {
        count[d] += count[d - 1];
    }
    for (guint32 i = 0; i < n; i++) {
        guint32 at = count[(guint64)from[i].time >> shift & mask]++;
        to[at] = from[i];
    }
}

/* A big window with at most this many ascending runs is merged rather
 * than radix-sorted: up to three merge passes. */
#define QUEUE_MERGE_RUNS 8

/* Merges the ascending runs @a of @na and @b of @nb into @out. */
static void merge_two(const SimEvent *a, guint32 na, const SimEvent *b,
                      guint32 nb, SimEvent *out)
{
    const SimEvent *ae = a + na, *be = b + nb;
    while (a < ae && b < be) {
        /* Ties cannot be: (time, seq) keys are unique. */
        if (queue_ev_before(b, a)) {
            *out++ = *b++;
        } else {
            *out++ = *a++;
        }
    }
    memcpy(out, a, (gsize)(ae - a) * sizeof *a);
    memcpy(out + (ae - a), b, (gsize)(be - b) * sizeof *b);
}

/* Sorts @f, of @nrun ascending runs starting at @at (@at[@nrun] = len),
 * by merging pairs of runs between it and @t until one is left; the
 * arrays of @f and @t are swapped if it ends in @t. */
static void sort_merge_runs(QueueBucket *f, QueueBucket *t, guint32 *at,
                            guint nrun)
{
    SimEvent *from = f->ev, *to = t->ev;
    while (nrun > 1) {
        guint k = 0;
        for (guint r = 0; r < nrun; r += 2, k++) {
            guint32 lo = at[r], mid = at[MIN(r + 1, nrun)];
            guint32 hi = at[MIN(r + 2, nrun)];
            merge_two(from + lo, mid - lo, from + mid, hi - mid, to + lo);
            at[k] = lo;
        }
        at[k] = at[nrun];
        nrun = k;
        SimEvent *x = from;
        from = to;
        to = x;
    }
    if (from != f->ev) {
        t->ev = f->ev;
        f->ev = from;
        guint32 cap = t->cap;
        t->cap = f->cap;
        f->cap = cap;
    }
}

/* Orders a freshly loaded front, one window, ascending. Small loads by
 * insertion. Big ones (thousands at 1M pending, or a replay's arrivals
 * of one millisecond) by merging, if they are a few ascending runs, which
 * a replay's are: a bucket fills in push order, the arrivals of one time
 * in seq order, and the few pushed into the window from earlier times
 * make a run or two. Else by two counting passes over the time bits
 * within the window. The passes are stable and a bucket is filled in push
 * order, i.e. seq order when seq comes from a counter, so equal times end
 * in seq order; the insertion pass after them makes sure of it for any
 * seqs. */
static void front_order(SimQueue *q)
{
    QueueBucket *f = &q->front;
    if (f->len <= QUEUE_SORTED_MAX) {
        sort_insertion(f->ev, f->len);
        return;
    }
    QueueBucket *t = &q->scratch;
    if (t->cap < f->len) {
        t->cap = f->len;
        g_free(t->ev);
        t->ev = g_new(SimEvent, t->cap);
    }
    guint32 at[QUEUE_MERGE_RUNS + 1];
    guint nrun = 1;
    at[0] = 0;
    for (guint32 i = 1; i < f->len && nrun <= QUEUE_MERGE_RUNS; i++) {
        if (queue_ev_before(&f->ev[i], &f->ev[i - 1])) {
            if (nrun < QUEUE_MERGE_RUNS) {
                at[nrun] = i;
            }
            nrun++;
        }
    }
    if (nrun <= QUEUE_MERGE_RUNS) {
        at[nrun] = f->len;
        sort_merge_runs(f, t, at, nrun);
        return;
    }
    guint bits = (q->shift + 1) / 2;
    sort_pass(f->ev, t->ev, f->len, 0, bits);
    sort_pass(t->ev, f->ev, f->len, bits, bits);
    sort_insertion(f->ev, f->len);
}

/* Files the @n events at @ev, none in a window before cur: cur's to the
 * front, which it then orders, the others to their buckets. */
static void queue_file(SimQueue *q, const SimEvent *ev, gsize n)
{
    QueueBucket *f = &q->front;
    for (gsize i = 0; i < n; i++) {
        guint64 w = queue_window_of(q, ev[i].time);
        if (w == q->cur) {
            if (G_UNLIKELY(f->len == f->cap)) {
                sim_queue__grow(q, f);
            }
            f->ev[f->len++] = ev[i];
        } else {
            queue_bucket_append(q, queue_bucket_of(q, w), &ev[i]);
        }
    }
    front_order(q);
}

/* Splits bucket @bi (above level 0, just marked empty): its smallest
 * window to the front, the rest to the buckets below. */
static G_GNUC_NO_INLINE void queue_split(SimQueue *q, guint bi)
{
    QueueBucket *b = &q->b[bi];
    guint64 min = G_MAXUINT64;
    for (guint32 i = 0; i < b->len; i++) {
        min = MIN(min, queue_window_of(q, b->ev[i].time));
    }
    /* Buckets above keep their index: the new cur agrees with the old one
     * above this bucket's digit. */
    q->cur = min;
    queue_file(q, b->ev, b->len);
    b->len = 0;
    bucket_trim(q, b);
}

/* Spreads level-1 bucket @bi, the lowest non-empty one, over the level-0
 * buckets (all empty, being lower), each event by its window's lowest
 * digit, and moves cur into it: the load that follows takes the first
 * window. Most events pass through a level-1 bucket (level 0 spans 1 ms,
 * most hops and service times are longer), and queue_split() paid for
 * each a pass to find the smallest window and the general bucket_of();
 * here it is one pass with the digit at hand, the bucket's order kept. */
static G_GNUC_NO_INLINE void queue_spread(SimQueue *q, guint bi)
{
    bucket_mark_empty(q, bi);
    QueueBucket *b = &q->b[bi];
    /* Read once: the stores below may alias them, for all the compiler
     * knows, and it reloaded them at every event. */
    const guint shift = q->shift;
    const SimEvent *ev = b->ev, *end = b->ev + b->len;
    for (; ev < end; ev++) {
        guint d = (guint)((guint64)ev->time >> shift) & (QUEUE_DIGITS - 1);
        QueueBucket *to = &q->b[d];
        if (G_UNLIKELY(to->len == to->cap)) {
            sim_queue__grow(q, to);
        }
        to->ev[to->len++] = *ev;
    }
    /* The level-0 bits after the moves (all were empty before), not at
     * each bucket's first one: that test, at every event moved, went
     * either way by the data and was mispredicted ~190k times in the
     * s200k-hi run (cachegrind), most of the spread's; a look at each of
     * the 256 buckets is about as many instructions as those tests at
     * 20k requests/s (~100 events a spread), fewer at 200k/s (~1,000). */
    for (guint w = 0; w < (QUEUE_DIGITS + 63) / 64; w++) {
        guint64 word = 0;
        for (guint i = 0; i < MIN(64, QUEUE_DIGITS); i++) {
            word |= (guint64)(q->b[w * 64 + i].len != 0) << i;
        }
        q->nonempty[w] |= word;
        q->summary |= (guint64)(q->nonempty[w] != 0) << w;
    }
    /* Level 1 takes the bucket's digit; level 0 is set by the load. */
    guint64 low = (G_GUINT64_CONSTANT(1) << (2 * QUEUE_RADIX_BITS)) - 1;
    q->cur = (q->cur & ~low) | ((guint64)(bi - QUEUE_DIGITS)
                                << QUEUE_RADIX_BITS);
    b->len = 0;
    bucket_trim(q, b);
}

/* Files every pending event again, in windows of 2^@shift ns: all are in
 * buckets (the front and the late heap are empty, as at a load), and the
 * earliest window is loaded as a load does. Rare (queue_adapt()). */
static G_GNUC_NO_INLINE void queue_rewindow(SimQueue *q, guint shift)
{
    gsize n = q->len, k = 0;
    g_autofree SimEvent *all = g_new(SimEvent, n);
    SimTime first = SIM_TIME_MAX;
    for (guint bi = 0; bi < QUEUE_BUCKETS; bi++) {
        QueueBucket *b = &q->b[bi];
        for (guint32 i = 0; i < b->len; i++, k++) {
            all[k] = b->ev[i];
            first = MIN(first, all[k].time);
        }
        b->len = 0;
        bucket_trim(q, b);
    }
    g_assert(k == n && q->front.len == 0 && q->late.len == 0);
    g_assert(q->front_head == 0);
    memset(q->nonempty, 0, sizeof q->nonempty);
    q->summary = 0;
    q->shift = shift;
    /* The earliest event's window is the front, every other one after. */
    q->cur = queue_window_of(q, first);
    queue_file(q, all, n);
}

/* Widens or narrows the windows to the rate of events, and returns TRUE if
 * it did (the front is loaded then). Finding a window costs more than
 * sorting a few events in it, and an event further ahead than level 0's
 * 256 windows is moved twice; but a wide window makes each push at now
 * pass more events. Callgrind, instructions per request of the article
 * (all nine steps) with fixed widths: at 4k requests/s 2^12 ns 4,730,
 * 2^16 4,410; at 20k/s 2^12 4,540, 2^13 4,470, 2^14 4,360, 2^15 4,340,
 * 2^16 4,370; at 200k/s 2^11 4,480, 2^12 4,420, 2^13 4,480, 2^14 4,630.
 * Each best at about QUEUE_PER_WINDOW events a window on average (20k/s
 * is ~200k events/s): one width fits no rate. The rate is measured over
 * the events that went through the front since the last look, and the
 * look waits until they are as many as are pending, so that filing them
 * all again costs at most one move per event that went through. The width never changes the
 * order of the events popped, only the cost. */
static gboolean queue_adapt(SimQueue *q)
{
    guint64 events = q->loaded + q->front_pushed;
    if (events < q->len) {
        q->look_at = q->len;
        return FALSE;
    }
    q->look_at = MAX(QUEUE_ADAPT_EVENTS, q->len);
    SimTime now = (SimTime)(q->cur << q->shift);
    SimTime span = now - q->look_time;
    q->loaded = 0;
    q->front_pushed = 0;
    q->look_time = now;
    if (events == 0 || span <= 0) {
        return FALSE;
    }
    /* log2 of the width that holds QUEUE_PER_WINDOW events; moved only
     * when it is 3/4 of a step away, so that a rate near a boundary does
     * not flip it at every look. */
    double x = log2((double)QUEUE_PER_WINDOW * (double)span / (double)events);
    if (fabs(x - (double)q->shift) <= 0.75) {
        return FALSE;
    }
    guint shift = (guint)CLAMP(lround(x), QUEUE_SHIFT_MIN, QUEUE_SHIFT_MAX);
    if (shift == q->shift) {
        return FALSE;
    }
    queue_rewindow(q, shift);
    return TRUE;
}

/* The common case, a level-0 bucket of one or a few events, stays short:
 * at low rates it happens at almost every pop. */
static inline void queue_load_window(SimQueue *q)
{
    guint bi = lowest_nonempty(q);
    if (G_UNLIKELY(bi >= QUEUE_DIGITS)) {
        if (bi >= 2 * QUEUE_DIGITS) {
            bucket_mark_empty(q, bi);
            queue_split(q, bi);
            return;
        }
        queue_spread(q, bi);
        bi = lowest_nonempty(q);
    }
    bucket_mark_empty(q, bi);
    /* One window: it becomes the front as it is, arrays swapped. */
    QueueBucket *b = &q->b[bi];
    q->cur = (q->cur & ~(guint64)(QUEUE_DIGITS - 1)) | bi;
    QueueBucket t = q->front; /* emptied by sim_queue__load() */
    q->front = *b;
    *b = t;
    if (G_UNLIKELY(b->cap > QUEUE_KEEP)) {
        bucket_trim(q, b);
    }
    if (G_LIKELY(q->front.len <= QUEUE_SORTED_MAX)) {
        /* front_order()'s small case, without the call: nearly every
         * load at the rates of a run. */
        sort_insertion(q->front.ev, q->front.len);
    } else {
        front_order(q);
    }
}

void sim_queue__load(SimQueue *q)
{
    /* What the pops left behind the head goes; the late heap is empty. */
    q->front.len = 0;
    q->front_head = 0;
    if (G_UNLIKELY(q->loaded + q->front_pushed >= q->look_at) &&
        queue_adapt(q)) {
        return;
    }
    queue_load_window(q);
    q->loaded += q->front.len;
}

static inline gboolean front_empty(const SimQueue *q)
{
    return q->front_head == q->front.len;
}

/* The smallest event (len > 0): the front's first, unless the late heap
 * has a smaller one. */
static inline const SimEvent *front_top(const SimQueue *q)
{
    const QueueBucket *h = &q->late;
    if (G_LIKELY(h->len == 0)) {
        return &q->front.ev[q->front_head];
    }
    if (front_empty(q) ||
        queue_ev_before(&h->ev[0], &q->front.ev[q->front_head])) {
        return &h->ev[0];
    }
    return &q->front.ev[q->front_head];
}

static void late_pop(SimQueue *q, SimEvent *out)
{
    QueueBucket *h = &q->late;
    *out = h->ev[0];
    guint32 n = --h->len;
    if (n > 0) {
        heap_sift_down(h->ev, n, 0, &h->ev[n]);
    }
}

/* Pops the smallest into *@out (len > 0). */
static inline void queue_take(SimQueue *q, SimEvent *out)
{
    if (G_LIKELY(q->late.len == 0) || front_top(q) != &q->late.ev[0]) {
        *out = q->front.ev[q->front_head++];
    } else {
        late_pop(q, out);
    }
    q->len--;
}

/* Loads the next window when the front is used up (len > 0). Not at the
 * pop that empties it: the handler of that event has yet to push, mostly
 * at or just after now, and with the front already moved to the next
 * pending window (a timer 0.6 s away at the start of a run) every such
 * push would land behind it, in the front, passing all the others. */
static inline void front_ready(SimQueue *q)
{
    if (front_empty(q) && q->late.len == 0) {
        sim_queue__load(q);
    }
}

gboolean sim_queue_pop(SimQueue *q, SimEvent *out)
{
    g_return_val_if_fail(q != NULL && out != NULL, FALSE);
    if (q->len == 0) {
        return FALSE;
    }
    front_ready(q);
    queue_take(q, out);
    return TRUE;
}

gboolean sim_queue__pop_due_late(SimQueue *q, SimTime until, SimEvent *out)
{
    if (q->len == 0) {
        return FALSE;
    }
    front_ready(q);
    if (front_top(q)->time > until) {
        return FALSE;
    }
    queue_take(q, out);
    return TRUE;
}

gboolean sim_queue_pop_due(SimQueue *q, SimTime until, SimEvent *out)
{
    g_return_val_if_fail(q != NULL && out != NULL, FALSE);
    return sim_queue__pop_due(q, until, out);
}

const SimEvent *sim_queue_peek(SimQueue *q)
{
    g_return_val_if_fail(q != NULL, NULL);
    if (q->len == 0) {
        return NULL;
    }
    front_ready(q);
    return front_top(q);
}

SimTime sim_queue_next_time(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, SIM_TIME_MAX);
    if (q->len == 0) {
        return SIM_TIME_MAX;
    }
    /* Loading the next window changes no answer of the queue's: the
     * const is the caller's view. */
    front_ready((SimQueue *)q);
    return front_top(q)->time;
}

gsize sim_queue_len(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, 0);
    return q->len;
}

guint sim_queue__window_bits(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, 0);
    return q->shift;
}
