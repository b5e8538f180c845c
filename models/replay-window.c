/* replay-window.c: the reorder window of a replayed trace: a sorted run
 * that takes lines in (or nearly in) start order, and a heap for the few
 * that come far behind. */
#include "config.h"

#include <string.h>

#include "models/replay-window.h"

/* How far back from the newest line of the run a line may be inserted
 * (a move of at most this many items); a line further behind goes to the
 * heap. Envoy writes a line when its request ends, so a line is behind by
 * the lines that started after it and ended before: a few dozen at the
 * article's rates. */
#define RUN_REACH 128

struct _ReplayWindow {
    ReplayItem *run; /* [head, tail) sorted by item_less(); cap slots */
    guint cap;       /* slots in run */
    guint head;      /* the earliest line of the run */
    guint tail;      /* one past the latest */
    GArray *heap;    /* ReplayItem: min-heap of the lines far behind */
};

static gboolean item_less(const ReplayItem *a, const ReplayItem *b)
{
    return a->t_ns < b->t_ns || (a->t_ns == b->t_ns && a->line < b->line);
}

ReplayWindow *replay_window_new(void)
{
    ReplayWindow *w = g_new0(ReplayWindow, 1);
    w->heap = g_array_new(FALSE, FALSE, sizeof(ReplayItem));
    return w;
}

void replay_window_clear(ReplayWindow *w)
{
    for (guint i = w->head; i < w->tail; i++) {
        g_free(w->run[i].block);
    }
    w->head = w->tail = 0;
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
    g_array_unref(w->heap);
    g_free(w->run);
    g_free(w);
}

guint replay_window_len(const ReplayWindow *w)
{
    return w->tail - w->head + w->heap->len;
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

/* ---- the run ------------------------------------------------------------- */

/* A free slot after the tail: the run slides back to the start of its
 * array when at most half full, else the array doubles. Each slide moves
 * no more items than were pushed since the last one. */
static void run_make_room(ReplayWindow *w)
{
    if (w->tail < w->cap) {
        return;
    }
    guint len = w->tail - w->head;
    if (w->cap == 0 || len > w->cap / 2) {
        w->cap = MAX(2 * w->cap, 256);
        w->run = g_renew(ReplayItem, w->run, w->cap);
    }
    memmove(w->run, w->run + w->head, len * sizeof *w->run);
    w->head = 0;
    w->tail = len;
}

/* Inserts @it into the run if its place is within RUN_REACH of the tail.
 * FALSE: it belongs further back. */
static gboolean run_insert(ReplayWindow *w, const ReplayItem *it)
{
    run_make_room(w);
    ReplayItem *r = w->run;
    if (w->tail == w->head || !item_less(it, &r[w->tail - 1])) {
        r[w->tail++] = *it;
        return TRUE;
    }
    guint lo = w->tail - w->head > RUN_REACH ? w->tail - RUN_REACH : w->head;
    if (lo > w->head && item_less(it, &r[lo])) {
        return FALSE;
    }
    /* The first item after @it in [lo, tail - 1]. */
    guint hi = w->tail - 1;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (item_less(it, &r[mid])) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    memmove(&r[lo + 1], &r[lo], (w->tail - lo) * sizeof *r);
    r[lo] = *it;
    w->tail++;
    return TRUE;
}

/* ---- the window ---------------------------------------------------------- */

void replay_window_push(ReplayWindow *w, const ReplayItem *it)
{
    if (!run_insert(w, it)) {
        heap_push(w->heap, it);
    }
}

/* Is the heap's top earlier than the run's head? (Either may be empty.) */
static gboolean heap_first(const ReplayWindow *w)
{
    if (w->heap->len == 0) {
        return FALSE;
    }
    return w->head == w->tail ||
           item_less(&g_array_index(w->heap, ReplayItem, 0), &w->run[w->head]);
}

const ReplayItem *replay_window_min(const ReplayWindow *w)
{
    if (heap_first(w)) {
        return &g_array_index(w->heap, ReplayItem, 0);
    }
    return w->head < w->tail ? &w->run[w->head] : NULL;
}

ReplayItem replay_window_pop(ReplayWindow *w)
{
    g_assert(replay_window_len(w) > 0);
    if (heap_first(w)) {
        return heap_pop(w->heap);
    }
    ReplayItem it = w->run[w->head++];
    if (w->head == w->tail) {
        w->head = w->tail = 0; /* empty: start over, nothing to slide */
    }
    return it;
}
