/* replay-window.c: the reorder window of a replayed trace: the engine's
 * own event queue (sim/queue.c) keyed by start time and line number, and
 * a heap for lines too far from the first to have a queue time. */
#include "config.h"

#include "models/replay-window.h"
#include "sim/queue.h"

/* Queue times are ns from WINDOW_BEFORE before the first line pushed, up
 * to G_MAXINT64: 146 years either side of it. A line outside that goes to
 * the heap (a log of a real day never does).
 *
 * Why the queue: a log is written in end order, so at high rates a line
 * comes hundreds or thousands of lines behind the newest; a sorted run
 * with a heap for stragglers (what this was) cost ~550 instructions a
 * line, the queue's time windows and radix buckets a third of that. */
#define WINDOW_BEFORE (G_GINT64_CONSTANT(1) << 62)

struct _ReplayWindow {
    SimQueue *q;        /* SimEvent: time from the start time, seq the
                         * line number, data the block, kind:arg the start
                         * time itself (high:low 32 bits) */
    gboolean has_base;  /* base is set (a line was pushed) */
    gint64 base;        /* queue time 0: the first line's - WINDOW_BEFORE */
    GArray *heap;       /* ReplayItem: min-heap of the lines outside */
    ReplayItem min;     /* replay_window_min()'s answer */
};

static gboolean item_less(const ReplayItem *a, const ReplayItem *b)
{
    return a->t_ns < b->t_ns || (a->t_ns == b->t_ns && a->line < b->line);
}

ReplayWindow *replay_window_new(void)
{
    ReplayWindow *w = g_new0(ReplayWindow, 1);
    w->q = sim_queue_new();
    w->heap = g_array_new(FALSE, FALSE, sizeof(ReplayItem));
    return w;
}

void replay_window_clear(ReplayWindow *w)
{
    SimEvent ev;
    while (sim_queue_pop(w->q, &ev)) {
        g_free(ev.data);
    }
    for (guint i = 0; i < w->heap->len; i++) {
        g_free(g_array_index(w->heap, ReplayItem, i).block);
    }
    g_array_set_size(w->heap, 0);
}

void replay_window_free(ReplayWindow *w)
{
    if (w == NULL) {
        return;
    }
    replay_window_clear(w);
    sim_queue_free(w->q);
    g_array_unref(w->heap);
    g_free(w);
}

guint replay_window_len(const ReplayWindow *w)
{
    return (guint)sim_queue_len(w->q) + w->heap->len;
}

/* ---- the heap ------------------------------------------------------------ */

/* O(log n) push: parents move down into the hole, the item is written
 * once. */
static void heap_push(GArray *h, const ReplayItem *it)
{
    g_array_set_size(h, h->len + 1);
    ReplayItem *a = (ReplayItem *)(void *)h->data;
    guint i = h->len - 1;
    while (i > 0) {
        guint parent = (i - 1) / 2;
        if (!item_less(it, &a[parent])) {
            break;
        }
        a[i] = a[parent];
        i = parent;
    }
    a[i] = *it;
}

/* O(log n) pop of the earliest; the heap must not be empty. The last item
 * sinks from the root through a hole, as in heap_push(). */
static ReplayItem heap_pop(GArray *h)
{
    ReplayItem *a = (ReplayItem *)(void *)h->data;
    ReplayItem top = a[0];
    const ReplayItem last = a[h->len - 1];
    guint n = h->len - 1, i = 0;
    for (;;) {
        guint l = 2 * i + 1;
        if (l >= n) {
            break;
        }
        guint m = l + 1 < n && item_less(&a[l + 1], &a[l]) ? l + 1 : l;
        if (!item_less(&a[m], &last)) {
            break;
        }
        a[i] = a[m];
        i = m;
    }
    a[i] = last;
    g_array_set_size(h, n);
    return top;
}

/* ---- the window ---------------------------------------------------------- */

/* Does @t_ns have a queue time (*@out)? Exact: t_ns - base computed in
 * unsigned, which cannot overflow, and compared before it is a SimTime. */
static gboolean queue_time(const ReplayWindow *w, gint64 t_ns, SimTime *out)
{
    if (t_ns < w->base) {
        return FALSE;
    }
    guint64 d = (guint64)t_ns - (guint64)w->base;
    if (d > (guint64)G_MAXINT64) {
        return FALSE;
    }
    *out = (SimTime)d;
    return TRUE;
}

static ReplayItem item_of(const SimEvent *ev)
{
    guint64 t = (guint64)ev->kind << 32 | ev->arg;
    ReplayItem it = { (gint64)t, ev->seq, ev->data };
    return it;
}

void replay_window_push(ReplayWindow *w, const ReplayItem *it)
{
    if (!w->has_base) {
        w->has_base = TRUE;
        /* In unsigned: wraps instead of overflowing before 1824. */
        w->base = (gint64)((guint64)it->t_ns - (guint64)WINDOW_BEFORE);
        if (w->base > it->t_ns) {
            w->base = G_MININT64;
        }
    }
    SimTime at = 0;
    if (!queue_time(w, it->t_ns, &at)) {
        heap_push(w->heap, it);
        return;
    }
    SimEvent ev = {
        .time = at,
        .seq = it->line,
        .kind = (guint32)((guint64)it->t_ns >> 32),
        .arg = (guint32)(guint64)it->t_ns,
        .data = it->block,
    };
    sim_queue_push(w->q, &ev);
}

/* Where the earliest line is: 1 the queue, 2 the heap, 0 neither. */
static guint earliest(ReplayWindow *w, ReplayItem *out)
{
    const SimEvent *top = sim_queue_peek(w->q);
    if (w->heap->len > 0) {
        const ReplayItem *h = &g_array_index(w->heap, ReplayItem, 0);
        if (top == NULL) {
            *out = *h;
            return 2;
        }
        ReplayItem q = item_of(top);
        if (item_less(h, &q)) {
            *out = *h;
            return 2;
        }
        *out = q;
        return 1;
    }
    if (top == NULL) {
        return 0;
    }
    *out = item_of(top);
    return 1;
}

const ReplayItem *replay_window_min(ReplayWindow *w)
{
    return earliest(w, &w->min) != 0 ? &w->min : NULL;
}

ReplayItem replay_window_pop(ReplayWindow *w)
{
    ReplayItem it = { 0, 0, NULL };
    switch (earliest(w, &it)) {
    case 1: {
        SimEvent ev;
        sim_queue_pop(w->q, &ev);
        return it;
    }
    case 2:
        return heap_pop(w->heap);
    default:
        g_assert_not_reached();
    }
}
