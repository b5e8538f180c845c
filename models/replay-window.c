/* replay-window.c: the reorder window of a replayed trace: a ring of
 * one-millisecond buckets of lines, and a heap for the lines that fall
 * outside the ring's 131 seconds. */
#include "config.h"

#include <string.h>

#include "models/replay-window.h"
#include "sim/arena.h"

/* Why a ring of buckets: a log is written in end order, so at high rates
 * a line comes hundreds or thousands of lines behind the newest. A sorted
 * run with a heap for stragglers, then the engine's event queue, cost
 * about 500 instructions a line for that; here a line is appended to its
 * bucket and taken from its head, a few dozen. A bucket is one ms, the
 * resolution of Envoy's %START_TIME%: the lines of a bucket then share
 * their start time and come in line order, so a bucket is sorted as it
 * fills. Finer times are sorted when their bucket comes first. */
#define RING_BITS 17
#define RING (1u << RING_BITS)
#define RING_MASK (RING - 1)
#define BUCKET_NS 1000000
#define WORDS (RING / 64)
#define NONE G_MAXUINT32

typedef struct {
    ReplayItem it;
    guint32 next; /* the next line of its bucket, NONE: the last */
} Node;

struct _ReplayWindow {
    Node *nodes;        /* cap of them: lines of the ring, and free ones */
    guint32 cap;        /* slots in nodes */
    guint32 used;       /* nodes ever handed out (the rest never were) */
    guint32 free_node;  /* a free node linked through next, NONE: none */
    guint32 *head;      /* RING: each bucket's first node, NONE: empty */
    guint32 *tail;      /* RING: each bucket's last node */
    guint64 *full;      /* WORDS bits: the bucket has a line */
    guint64 *unsorted;  /* WORDS bits: a line came after a later one */
    guint64 summary[WORDS / 64]; /* bits: the word of full has a bit */
    guint64 cur;        /* the ring's first bucket (absolute number) */
    guint ring_len;     /* lines in the ring */
    GArray *heap;       /* ReplayItem: min-heap of the lines outside */
    ReplayItem min;     /* replay_window_min()'s answer */
    guint min_at;       /* where min is, as earliest() returns it, while
                         * nothing came out and nothing went in before
                         * it; 0: not known */
};

static gboolean item_less(const ReplayItem *a, const ReplayItem *b)
{
    return a->t_ns < b->t_ns || (a->t_ns == b->t_ns && a->line < b->line);
}

/* The absolute bucket of @t_ns: monotonic over all of gint64 (the sign
 * bit flipped makes the order unsigned). */
static guint64 bucket_of(gint64 t_ns)
{
    return ((guint64)t_ns ^ G_GUINT64_CONSTANT(0x8000000000000000)) /
           BUCKET_NS;
}

ReplayWindow *replay_window_new(void)
{
    ReplayWindow *w = g_new0(ReplayWindow, 1);
    w->free_node = NONE;
    w->heap = g_array_new(FALSE, FALSE, sizeof(ReplayItem));
    return w;
}

guint replay_window_len(const ReplayWindow *w)
{
    return w->ring_len + w->heap->len;
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

/* ---- the ring ------------------------------------------------------------ */

/* The ring's arrays, one allocation in huge pages (sim/arena.h): head,
 * tail, then the bitmaps. Read for every line, all over their 1 MB. */
static void ring_alloc(ReplayWindow *w)
{
    gsize ends = RING * sizeof(guint32);
    gsize bits = WORDS * sizeof(guint64);
    char *a = arena_array_new0(2 * ends + 2 * bits);
    w->head = (guint32 *)(void *)a;
    memset(w->head, 0xff, ends); /* NONE */
    w->tail = (guint32 *)(void *)(a + ends);
    w->full = (guint64 *)(void *)(a + 2 * ends);
    w->unsorted = (guint64 *)(void *)(a + 2 * ends + bits);
}

/* Doubles the nodes. They are taken out ~65k lines after they went in,
 * a few thousand pages apart: in huge pages, not each a TLB miss (a
 * third of the reader's pop in perf was the read of the next node). */
static void nodes_grow(ReplayWindow *w)
{
    guint32 cap = MAX(2 * w->cap, 1024);
    Node *nodes = arena_array_new0((gsize)cap * sizeof(Node));
    if (w->used > 0) {
        memcpy(nodes, w->nodes, (gsize)w->used * sizeof(Node));
    }
    arena_array_free(w->nodes);
    w->nodes = nodes;
    w->cap = cap;
}

static guint32 node_new(ReplayWindow *w, const ReplayItem *it)
{
    guint32 n = w->free_node;
    if (n != NONE) {
        w->free_node = w->nodes[n].next;
    } else {
        if (w->used == w->cap) {
            nodes_grow(w);
        }
        n = w->used++;
    }
    w->nodes[n].it = *it;
    w->nodes[n].next = NONE;
    return n;
}

static void set_full(ReplayWindow *w, guint slot, gboolean on)
{
    guint64 bit = G_GUINT64_CONSTANT(1) << (slot % 64);
    if (on) {
        w->full[slot / 64] |= bit;
        w->summary[slot / 4096] |= G_GUINT64_CONSTANT(1) << (slot / 64 % 64);
    } else {
        w->full[slot / 64] &= ~bit;
        if (w->full[slot / 64] == 0) {
            w->summary[slot / 4096] &=
                ~(G_GUINT64_CONSTANT(1) << (slot / 64 % 64));
        }
    }
}

/* The first bucket with a line in [@from, @to), NONE: none. */
static guint first_full_in(const ReplayWindow *w, guint from, guint to)
{
    guint word = from / 64;
    guint64 bits = w->full[word] & (~G_GUINT64_CONSTANT(0) << (from % 64));
    guint found = NONE;
    if (bits != 0) {
        found = word * 64 + (guint)__builtin_ctzll(bits);
    } else {
        /* The words after it, found by the summary. */
        for (guint s = (word + 1) / 64; s < G_N_ELEMENTS(w->summary); s++) {
            guint64 sb = w->summary[s];
            if (s == (word + 1) / 64) {
                sb &= ~G_GUINT64_CONSTANT(0) << ((word + 1) % 64);
            }
            if (sb != 0) {
                guint wd = s * 64 + (guint)__builtin_ctzll(sb);
                found = wd * 64 + (guint)__builtin_ctzll(w->full[wd]);
                break;
            }
        }
    }
    return found < to ? found : NONE;
}

/* Sorts bucket @slot by (start, line): it holds times finer than a ms
 * that came out of order. Insertion sort: near-linear on a nearly sorted
 * bucket, which one filled in end order is. */
static void bucket_sort(ReplayWindow *w, guint slot)
{
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint32 n = w->head[slot]; n != NONE; n = w->nodes[n].next) {
        g_array_append_val(a, n);
    }
    guint32 *x = (guint32 *)(void *)a->data;
    for (guint i = 1; i < a->len; i++) {
        guint32 v = x[i];
        guint j = i;
        while (j > 0 && item_less(&w->nodes[v].it, &w->nodes[x[j - 1]].it)) {
            x[j] = x[j - 1];
            j--;
        }
        x[j] = v;
    }
    for (guint i = 0; i + 1 < a->len; i++) {
        w->nodes[x[i]].next = x[i + 1];
    }
    w->nodes[x[a->len - 1]].next = NONE;
    w->head[slot] = x[0];
    w->tail[slot] = x[a->len - 1];
    w->unsorted[slot / 64] &= ~(G_GUINT64_CONSTANT(1) << (slot % 64));
}

/* The ring's earliest line, the cursor moved to its bucket and the bucket
 * sorted; NULL when the ring is empty. */
static const ReplayItem *ring_front(ReplayWindow *w)
{
    if (w->ring_len == 0) {
        return NULL;
    }
    guint slot = (guint)(w->cur & RING_MASK);
    if (w->head[slot] == NONE) {
        guint next = first_full_in(w, slot, RING);
        if (next == NONE) {
            next = first_full_in(w, 0, slot);
        }
        w->cur += (next - slot) & RING_MASK;
        slot = next;
    }
    if (w->unsorted[slot / 64] & (G_GUINT64_CONSTANT(1) << (slot % 64))) {
        bucket_sort(w, slot);
    }
    return &w->nodes[w->head[slot]].it;
}

/* Takes the ring's earliest line out; ring_front() found it. */
static ReplayItem ring_pop(ReplayWindow *w)
{
    guint slot = (guint)(w->cur & RING_MASK);
    guint32 n = w->head[slot];
    ReplayItem it = w->nodes[n].it;
    guint32 next = w->nodes[n].next;
    w->head[slot] = next;
    if (next == NONE) {
        set_full(w, slot, FALSE);
    } else {
        /* The next line's block was written ~65k lines ago and is out of
         * the caches by now; its request reads its head at the next
         * arrival (the reader's LineHead, 80 bytes; the strings it
         * points to are interned, or read later). Ask for it now, two
         * lines wherever it starts, and for the node after it. Six
         * lines a pop, a whole block, kept the core's fill buffers so
         * busy that the prefetches themselves stalled. */
        const Node *nx = &w->nodes[next];
        __builtin_prefetch(nx->it.block);
        __builtin_prefetch(nx->it.block + 64);
        if (nx->next != NONE) {
            __builtin_prefetch(&w->nodes[nx->next]);
        }
    }
    w->nodes[n].next = w->free_node;
    w->free_node = n;
    w->ring_len--;
    return it;
}

/* ---- the window ---------------------------------------------------------- */

void replay_window_push(ReplayWindow *w, const ReplayItem *it)
{
    guint64 b = bucket_of(it->t_ns);
    if (w->head == NULL) {
        ring_alloc(w);
    }
    if (w->ring_len == 0) {
        w->cur = b; /* the ring starts over where the lines are */
    }
    if (b < w->cur || b - w->cur >= RING) {
        heap_push(w->heap, it);
        w->min_at = 0;
        return;
    }
    if (b == w->cur) {
        w->min_at = 0; /* the front bucket: its head may change */
    }
    guint slot = (guint)(b & RING_MASK);
    guint32 n = node_new(w, it);
    if (w->head[slot] == NONE) {
        w->head[slot] = n;
        set_full(w, slot, TRUE);
    } else {
        guint32 t = w->tail[slot];
        if (item_less(it, &w->nodes[t].it)) {
            w->unsorted[slot / 64] |= G_GUINT64_CONSTANT(1) << (slot % 64);
        }
        w->nodes[t].next = n;
    }
    w->tail[slot] = n;
    w->ring_len++;
}

/* Where the earliest line is: 1 the ring, 2 the heap, 0 neither. */
static guint earliest(ReplayWindow *w, ReplayItem *out)
{
    const ReplayItem *r = ring_front(w);
    if (w->heap->len > 0) {
        const ReplayItem *h = &g_array_index(w->heap, ReplayItem, 0);
        if (r == NULL || item_less(h, r)) {
            *out = *h;
            return 2;
        }
    }
    if (r == NULL) {
        return 0;
    }
    *out = *r;
    return 1;
}

const ReplayItem *replay_window_min(ReplayWindow *w)
{
    w->min_at = earliest(w, &w->min);
    return w->min_at != 0 ? &w->min : NULL;
}

ReplayItem replay_window_pop(ReplayWindow *w)
{
    ReplayItem it = { 0, 0, NULL };
    /* The reader asks for the min, reads a line (mostly into a later
     * bucket), then pops: the min it was told is still the one. */
    guint at = w->min_at != 0 ? w->min_at : earliest(w, &it);
    w->min_at = 0;
    switch (at) {
    case 1:
        return ring_pop(w);
    case 2:
        return heap_pop(w->heap);
    default:
        g_assert_not_reached();
    }
}

void replay_window_clear(ReplayWindow *w)
{
    while (replay_window_len(w) > 0) {
        g_free(replay_window_pop(w).block);
    }
}

void replay_window_free(ReplayWindow *w)
{
    if (w == NULL) {
        return;
    }
    replay_window_clear(w);
    g_array_unref(w->heap);
    arena_array_free(w->nodes);
    arena_array_free(w->head); /* with tail and the bitmaps */
    g_free(w);
}
