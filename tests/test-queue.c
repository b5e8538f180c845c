/* test-queue.c: sim/queue.h: pops come out in (time, seq) order, so equal
 * times come out in insertion order, under random and adversarial loads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <glib.h>

#include "sim/queue.h"
#include "sim/rng.h"

static void test_queue_empty(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    SimEvent ev = { 0 };
    assert_int_equal(sim_queue_len(q), 0);
    assert_null(sim_queue_peek(q));
    assert_false(sim_queue_pop(q, &ev));
}

/* 1e5 random pushes, times drawn from a small range so that many are
 * equal: pops are nondecreasing in (time, seq), i.e. equal times pop in
 * the order pushed, and every field comes back intact. */
static void test_queue_random_pushes_pop_in_time_seq_order(void **state)
{
    const guint n = 100000;
    g_autoptr(SimQueue) q = sim_queue_new();
    Rng r;
    rng_init_named(&r, 1, "test-queue/random");
    for (guint i = 0; i < n; i++) {
        SimEvent ev = {
            .time = rng_below(&r, 5000),
            .seq = i,
            .kind = i % 7,
            .arg = ~i,
            .data = GUINT_TO_POINTER(i),
        };
        sim_queue_push(q, &ev);
    }
    assert_int_equal(sim_queue_len(q), n);
    SimEvent prev = { .time = -1 };
    g_autofree gboolean *seen = g_new0(gboolean, n);
    for (guint i = 0; i < n; i++) {
        const SimEvent *top = sim_queue_peek(q);
        assert_non_null(top);
        SimEvent ev;
        SimEvent peeked = *top;
        assert_true(sim_queue_pop(q, &ev));
        assert_memory_equal(&ev, &peeked, sizeof ev);
        assert_true(ev.time > prev.time ||
                    (ev.time == prev.time && ev.seq > prev.seq));
        guint id = (guint)ev.seq;
        assert_false(seen[id]);
        seen[id] = TRUE;
        assert_int_equal(ev.kind, id % 7);
        assert_int_equal(ev.arg, ~id);
        assert_ptr_equal(ev.data, GUINT_TO_POINTER(id));
        prev = ev;
    }
    assert_int_equal(sim_queue_len(q), 0);
}

/* The tie rule: all at one time, pushed in seq order, pop in seq order. */
static void test_queue_equal_times_pop_in_insertion_order(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    for (guint64 i = 0; i < 1000; i++) {
        SimEvent ev = { .time = 42, .seq = i };
        sim_queue_push(q, &ev);
    }
    for (guint64 i = 0; i < 1000; i++) {
        SimEvent ev;
        assert_true(sim_queue_pop(q, &ev));
        assert_int_equal(ev.seq, i);
    }
}

/* Times pushed in decreasing order with ties: each push sifts to the top. */
static void test_queue_reverse_order_pushes(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    guint64 seq = 0;
    for (SimTime t = 999; t >= 0; t--) {
        for (int k = 0; k < 3; k++) {
            SimEvent ev = { .time = t, .seq = seq++ };
            sim_queue_push(q, &ev);
        }
    }
    SimEvent prev = { .time = -1 };
    SimEvent ev;
    while (sim_queue_pop(q, &ev)) {
        assert_true(ev.time > prev.time ||
                    (ev.time == prev.time && ev.seq > prev.seq));
        prev = ev;
    }
    assert_int_equal(prev.time, 999);
}

/* The hold model the engine produces: pop one, push one no earlier; the
 * popped sequence stays in (time, seq) order throughout. */
static void test_queue_interleaved_hold_model(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    Rng r;
    rng_init_named(&r, 2, "test-queue/hold");
    guint64 seq = 0;
    for (int i = 0; i < 1000; i++) {
        SimEvent ev = { .time = rng_below(&r, 100), .seq = seq++ };
        sim_queue_push(q, &ev);
    }
    SimEvent prev = { .time = -1 };
    for (int i = 0; i < 200000; i++) {
        SimEvent ev;
        assert_true(sim_queue_pop(q, &ev));
        assert_true(ev.time > prev.time ||
                    (ev.time == prev.time && ev.seq > prev.seq));
        prev = ev;
        /* Delay 0 included: a new event at "now" runs after older ones. */
        SimEvent next = { .time = ev.time + rng_below(&r, 50), .seq = seq++ };
        sim_queue_push(q, &next);
    }
    assert_int_equal(sim_queue_len(q), 1000);
}

/* The extremes of the time range order like any other times. */
static void test_queue_extreme_times(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    const SimTime times[] = { SIM_TIME_MAX, 0, 1, 5, SIM_TIME_MAX };
    for (guint i = 0; i < G_N_ELEMENTS(times); i++) {
        SimEvent ev = { .time = times[i], .seq = i };
        sim_queue_push(q, &ev);
    }
    const guint64 want_seq[] = { 1, 2, 3, 0, 4 };
    for (guint i = 0; i < G_N_ELEMENTS(want_seq); i++) {
        SimEvent ev;
        assert_true(sim_queue_pop(q, &ev));
        assert_int_equal(ev.seq, want_seq[i]);
    }
}

static int cmp_key(const void *pa, const void *pb)
{
    const SimEvent *a = pa, *b = pb;
    if (a->time != b->time) {
        return a->time < b->time ? -1 : 1;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Pops what is left of @q onto @popped, then checks that @popped is @all
 * (every event pushed) in (time, seq) order. */
static void drain_against_sorted(SimQueue *q, GArray *all, GArray *popped)
{
    SimEvent ev;
    while (sim_queue_pop(q, &ev)) {
        g_array_append_val(popped, ev);
    }
    g_array_sort(all, cmp_key);
    assert_int_equal(popped->len, all->len);
    for (guint i = 0; i < all->len; i++) {
        const SimEvent *a = &g_array_index(all, SimEvent, i);
        const SimEvent *b = &g_array_index(popped, SimEvent, i);
        assert_int_equal(a->time, b->time);
        assert_int_equal(a->seq, b->seq);
    }
}

/* Pops everything, checking against @want (sorted with cmp_key). */
static void drain_matches(SimQueue *q, const SimEvent *want, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        SimEvent ev;
        assert_true(sim_queue_pop(q, &ev));
        assert_int_equal(ev.time, want[i].time);
        assert_int_equal(ev.seq, want[i].seq);
    }
    assert_int_equal(sim_queue_len(q), 0);
}

/* Thousands in one 4us window (what 1M pending gives), with equal times:
 * the big load is sorted by counting passes and must keep seq order. */
static void test_queue_big_window_keeps_ties(void **state)
{
    const gsize n = 20000;
    g_autoptr(SimQueue) q = sim_queue_new();
    g_autofree SimEvent *want = g_new(SimEvent, n);
    Rng r;
    rng_init_named(&r, 3, "test-queue/window");
    for (gsize i = 0; i < n; i++) {
        /* The first event sets the window; the rest a window or two on. */
        SimEvent ev = { .time = i == 0 ? 0 : 5000 + rng_below(&r, 3000),
                        .seq = i };
        sim_queue_push(q, &ev);
        want[i] = ev;
    }
    qsort(want, n, sizeof *want, cmp_key);
    drain_matches(q, want, n);
}

/* A big window made of a few ascending runs (a replay's arrivals of one
 * time, and the events pushed into the window around them) is merged,
 * not radix-sorted: from 1 to 10 runs of 5 to 60 events, times in a
 * 64 ns range (ties within and across runs) and seqs in random order,
 * each run pushed sorted; the pops match a reference sort. */
static void test_queue_big_window_of_runs(void **state)
{
    Rng r;
    rng_init_named(&r, 6, "test-queue/runs");
    for (int round = 0; round < 200; round++) {
        g_autoptr(SimQueue) q = sim_queue_new();
        GArray *all = g_array_new(FALSE, FALSE, sizeof(SimEvent));
        guint64 count = 0;
        /* The first sets the front's window; the runs are 8 us on. */
        SimEvent first = { .time = 0, .seq = count++ };
        sim_queue_push(q, &first);
        g_array_append_val(all, first);
        guint nrun = 1 + (guint)rng_below(&r, 10);
        for (guint k = 0; k < nrun; k++) {
            guint m = 5 + (guint)rng_below(&r, 56);
            g_autofree SimEvent *run = g_new(SimEvent, m);
            for (guint i = 0; i < m; i++) {
                run[i] = (SimEvent){
                    .time = 8192 + rng_below(&r, 64),
                    .seq = (guint64)rng_below(&r, 1u << 20) << 32 | count++,
                };
            }
            qsort(run, m, sizeof *run, cmp_key);
            for (guint i = 0; i < m; i++) {
                sim_queue_push(q, &run[i]);
                g_array_append_val(all, run[i]);
            }
        }
        g_array_sort(all, cmp_key);
        drain_matches(q, (const SimEvent *)(gpointer)all->data, all->len);
        g_array_unref(all);
    }
}

/* Pushes into the current window that must pass many events there (a
 * burst at one time, then more at that time and just after it, as
 * handlers do at "now"): those at the burst's time take the late heap,
 * those after it go in from the front's big end, all in order. */
static void test_queue_pushes_into_a_busy_window(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    GArray *want = g_array_new(FALSE, FALSE, sizeof(SimEvent));
    guint64 seq = 0;
    for (int i = 0; i < 5000; i++) {
        SimEvent ev = { .time = 100, .seq = seq++ };
        sim_queue_push(q, &ev);
    }
    SimEvent first;
    assert_true(sim_queue_pop(q, &first));
    assert_int_equal(first.seq, 0);
    for (int i = 0; i < 5000; i++) {
        SimEvent ev = { .time = 100 + i % 3, .seq = seq++ };
        sim_queue_push(q, &ev);
    }
    /* What is left, sorted: everything but the first. */
    gsize n = sim_queue_len(q);
    for (guint64 s = 1; s < 5000; s++) {
        SimEvent ev = { .time = 100, .seq = s };
        g_array_append_val(want, ev);
    }
    for (int i = 0; i < 5000; i++) {
        SimEvent ev = { .time = 100 + i % 3, .seq = 5000 + (guint64)i };
        g_array_append_val(want, ev);
    }
    g_array_sort(want, cmp_key);
    assert_int_equal(want->len, n);
    drain_matches(q, (const SimEvent *)(gpointer)want->data, n);
    g_array_unref(want);
}

/* An engine's pattern at scale: 1M pending, each pop followed by pushes at
 * now (ties), just after, a few ms on and now and then seconds on, checked
 * against a reference sort of everything pushed. */
static void test_queue_interleaved_1m_against_sort(void **state)
{
    const gsize pending = 1000000, ops = 1000000;
    g_autoptr(SimQueue) q = sim_queue_new();
    GArray *all = g_array_new(FALSE, FALSE, sizeof(SimEvent));
    Rng r;
    rng_init_named(&r, 4, "test-queue/1m");
    guint64 seq = 0;
    for (gsize i = 0; i < pending; i++) {
        SimEvent ev = { .time = rng_below(&r, 20 * 1000000), .seq = seq++ };
        sim_queue_push(q, &ev);
        g_array_append_val(all, ev);
    }
    GArray *popped = g_array_new(FALSE, FALSE, sizeof(SimEvent));
    for (gsize i = 0; i < ops; i++) {
        SimEvent ev;
        assert_true(sim_queue_pop(q, &ev));
        g_array_append_val(popped, ev);
        guint64 kind = rng_below(&r, 100);
        SimTime d = kind < 10   ? 0
                    : kind < 20 ? rng_below(&r, 5000)
                    : kind < 99 ? rng_below(&r, 4000000)
                                : rng_below(&r, 15) * 1000000000;
        SimEvent next = { .time = ev.time + d, .seq = seq++ };
        sim_queue_push(q, &next);
        g_array_append_val(all, next);
    }
    drain_against_sorted(q, all, popped);
    g_array_unref(all);
    g_array_unref(popped);
}

/* The smallest (time, seq) of the @n at @a, by a scan. */
static gsize min_index(const SimEvent *a, gsize n)
{
    gsize m = 0;
    for (gsize i = 1; i < n; i++) {
        if (cmp_key(&a[i], &a[m]) < 0) {
            m = i;
        }
    }
    return m;
}

/* Against a scan of everything pending, every pop and peek, under a mix
 * the engine makes and some it does not: pops, peeks, pushes at now (one
 * to three per pop, or after a peek, so the front has no room before its
 * head), bursts of 40 at one time (the late heap), pushes 0-4 ms on and
 * now and then far ahead, with seqs in random order, so that equal times
 * are in buckets out of seq order. About 400 pending. */
static void test_queue_mixed_ops_against_scan(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    GArray *ref = g_array_new(FALSE, FALSE, sizeof(SimEvent));
    Rng r;
    rng_init_named(&r, 5, "test-queue/mixed");
    guint64 count = 0;
    SimTime now = 0;
    for (int op = 0; op < 300000; op++) {
        guint64 what = rng_below(&r, 100);
        SimEvent ev;
        if ((what < 45 || ref->len > 400) && ref->len > 0) {
            gsize m = min_index((const SimEvent *)(gpointer)ref->data,
                                ref->len);
            SimEvent want = g_array_index(ref, SimEvent, m);
            if (what < 5) {
                const SimEvent *top = sim_queue_peek(q);
                assert_non_null(top);
                assert_int_equal(top->time, want.time);
                assert_int_equal(top->seq, want.seq);
                continue;
            }
            assert_true(sim_queue_pop(q, &ev));
            assert_int_equal(ev.time, want.time);
            assert_int_equal(ev.seq, want.seq);
            g_array_remove_index_fast(ref, m);
            now = ev.time;
            continue;
        }
        guint k = what < 47 ? 40 : 1 + (guint)rng_below(&r, 3);
        for (guint i = 0; i < k; i++) {
            guint64 how = rng_below(&r, 100);
            SimTime d = how < 40   ? 0
                        : how < 60 ? rng_below(&r, 5000)
                        : how < 99 ? rng_below(&r, 4000000)
                                   : rng_below(&r, 3) * 1000000000;
            /* Unique, in random order: a counter under random bits. */
            ev = (SimEvent){ .time = now + d,
                             .seq = (guint64)rng_below(&r, 1u << 20) << 32 |
                                    count++ };
            sim_queue_push(q, &ev);
            g_array_append_val(ref, ev);
        }
    }
    assert_int_equal(sim_queue_len(q), ref->len);
    while (ref->len > 0) {
        gsize m = min_index((const SimEvent *)(gpointer)ref->data, ref->len);
        SimEvent ev;
        assert_true(sim_queue_pop(q, &ev));
        assert_int_equal(ev.time, g_array_index(ref, SimEvent, m).time);
        assert_int_equal(ev.seq, g_array_index(ref, SimEvent, m).seq);
        g_array_remove_index_fast(ref, m);
    }
    assert_false(sim_queue_pop(q, &(SimEvent){ 0 }));
    g_array_unref(ref);
}

/* Emptied, the queue takes any time again, earlier ones included. */
static void test_queue_reuse_after_empty(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    SimEvent ev = { .time = 5 * SIM_S, .seq = 0 };
    sim_queue_push(q, &ev);
    SimEvent far = { .time = 9 * SIM_S, .seq = 1 };
    sim_queue_push(q, &far);
    assert_true(sim_queue_pop(q, &ev));
    assert_true(sim_queue_pop(q, &ev));
    assert_int_equal(ev.seq, 1);
    for (guint64 i = 0; i < 3; i++) {
        SimEvent e2 = { .time = (SimTime)(3 - i), .seq = 10 + i };
        sim_queue_push(q, &e2);
    }
    assert_int_equal(sim_queue_next_time(q), 1);
    const guint64 want[] = { 12, 11, 10 };
    for (guint i = 0; i < 3; i++) {
        assert_true(sim_queue_pop_due(q, SIM_TIME_MAX, &ev));
        assert_int_equal(ev.seq, want[i]);
    }
    assert_false(sim_queue_pop_due(q, SIM_TIME_MAX, &ev));
}

/* Emptied, and filled again around a time before or after the last one
 * popped, the first push landing on either side of the windows the queue
 * was in: every round drains in (time, seq) order. */
static void test_queue_refill_after_empty_either_side(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    Rng r;
    rng_init_named(&r, 7, "test-queue/refill");
    guint64 seq = 0;
    SimTime base = 1000000000;
    for (int round = 0; round < 300; round++) {
        GArray *all = g_array_new(FALSE, FALSE, sizeof(SimEvent));
        /* Up to 40 ms back or on; now and then seconds on. */
        base += (SimTime)rng_below(&r, 80000000) - 40000000 +
                (rng_below(&r, 10) == 0 ? 3 * SIM_S : 0);
        guint n = 1 + (guint)rng_below(&r, 200);
        for (guint i = 0; i < n; i++) {
            SimEvent ev = { .time = base + (SimTime)rng_below(&r, 3000000) -
                                    (i == 0 ? 0 : 1000000),
                            .seq = seq++ };
            sim_queue_push(q, &ev);
            g_array_append_val(all, ev);
        }
        g_array_sort(all, cmp_key);
        drain_matches(q, (const SimEvent *)(gpointer)all->data, all->len);
        assert_int_equal(sim_queue_len(q), 0);
        g_array_unref(all);
    }
}

/* The pop that empties the front leaves the next window unloaded until it
 * is needed: events pushed then, before a far timer, still come first and
 * in order, whether the next call is a pop, a peek or next_time. */
static void test_queue_far_timer_then_near_pushes(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    SimEvent a = { .time = 0, .seq = 0 }, far = { .time = SIM_S, .seq = 1 };
    sim_queue_push(q, &a);
    sim_queue_push(q, &far);
    SimEvent ev;
    assert_true(sim_queue_pop(q, &ev));
    assert_int_equal(ev.seq, 0);
    guint64 seq = 2;
    for (guint i = 0; i < 300; i++) { /* what a handler at 0 schedules */
        SimEvent e = { .time = (SimTime)(i % 7) * SIM_MS, .seq = seq++ };
        sim_queue_push(q, &e);
    }
    assert_int_equal(sim_queue_next_time(q), 0);
    assert_int_equal(sim_queue_peek(q)->time, 0);
    SimTime last = 0;
    guint64 last_seq = 0;
    guint popped = 0;
    while (sim_queue_len(q) > 1) {
        assert_true(sim_queue_pop(q, &ev));
        assert_true(ev.time > last || (ev.time == last && ev.seq > last_seq));
        assert_true(ev.time < SIM_S);
        last = ev.time;
        last_seq = ev.seq;
        if (++popped % 50 == 0) { /* and a push at now as a handler runs */
            SimEvent e = { .time = last, .seq = seq++ };
            sim_queue_push(q, &e);
        }
    }
    assert_int_equal(popped, 306);
    assert_true(sim_queue_pop(q, &ev));
    assert_int_equal(ev.seq, 1); /* the timer, last */
}

/* sim_queue_pop_due() takes the smallest only if due by @until. */
static void test_queue_pop_due_boundary(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    SimEvent a = { .time = 10, .seq = 0 }, b = { .time = 20, .seq = 1 };
    sim_queue_push(q, &b);
    sim_queue_push(q, &a);
    SimEvent ev = { .seq = 99 };
    assert_false(sim_queue_pop_due(q, 9, &ev));
    assert_int_equal(ev.seq, 99);
    assert_true(sim_queue_pop_due(q, 10, &ev));
    assert_int_equal(ev.seq, 0);
    assert_false(sim_queue_pop_due(q, 19, &ev));
    assert_true(sim_queue_pop_due(q, 20, &ev));
    assert_int_equal(sim_queue_len(q), 0);
}

/* Events 1-4 ms ahead sit in level-1 buckets (1 ms each) and are spread
 * over level 0 when their millisecond comes; events 300 ms and 70 s ahead
 * sit higher and are split the general way; events 100 and 700 us ahead
 * go to level 0 or 1 depending on where the spreads left the front. Each
 * kind is pushed from several "nows" with ties, and the drain must match
 * a reference sort: the bucket each window lands in and the front's
 * window (cur) both follow from these moves. */
static void test_queue_spread_and_split_keep_order(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    GArray *want = g_array_new(FALSE, FALSE, sizeof(SimEvent));
    guint64 seq = 0;
    static const SimTime ahead[] = { 100 * SIM_US, 700 * SIM_US,
                                     1500 * SIM_US, 2 * SIM_MS,
                                     3999 * SIM_US, 300 * SIM_MS,
                                     70 * SIM_S };
    SimTime now = 0;
    for (guint round = 0; round < 4; round++) {
        for (guint i = 0; i < G_N_ELEMENTS(ahead); i++) {
            for (guint k = 0; k < 3; k++) { /* a tie and two neighbours */
                SimEvent ev = { .time = now + ahead[i] + (k == 2 ? 4096 : 0),
                                .seq = seq++ };
                sim_queue_push(q, &ev);
                g_array_append_val(want, ev);
            }
        }
        /* Pop what is due at the next "now", 1.2 ms on, as an engine. */
        now += 1200 * SIM_US;
        g_array_sort(want, cmp_key);
        SimEvent ev;
        while (sim_queue_peek(q)->time <= now) {
            assert_true(sim_queue_pop(q, &ev));
            const SimEvent *w = &g_array_index(want, SimEvent, 0);
            assert_int_equal(ev.time, w->time);
            assert_int_equal(ev.seq, w->seq);
            g_array_remove_index(want, 0);
        }
    }
    /* Due by 4.8 ms: the 100 and 700 us ones of every round, and from
     * rounds 0 (1.5, 2 and 4 ms), 1 (2.7, 3.2) and 2 (3.9, 4.4), three
     * events each; the 300 ms and 70 s ones are left. */
    assert_int_equal(want->len, sim_queue_len(q));
    assert_int_equal(sim_queue_len(q), 4 * 21 - 15 * 3);
    drain_matches(q, (const SimEvent *)(gpointer)want->data, want->len);
    g_array_unref(want);
}

/* sim_queue_pop_due() while the late heap holds events (the engine's
 * inline pop hands that case to a function of its own): an event due
 * or not, in the front or in the late heap, and the front emptied while
 * the late heap is not. */
static void test_queue_pop_due_with_late_heap(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    guint64 seq = 0;
    for (int i = 0; i < 100; i++) {
        SimEvent ev = { .time = 100, .seq = seq++ };
        sim_queue_push(q, &ev);
    }
    SimEvent ev = { .seq = 999 };
    assert_true(sim_queue_pop_due(q, 100, &ev)); /* loads the front */
    assert_int_equal(ev.seq, 0);
    /* Later than all 99 left in the front: each would pass more than
     * QUEUE_SORTED_MAX of them, so they go to the late heap. */
    for (int i = 0; i < 3; i++) {
        SimEvent late = { .time = 101, .seq = seq++ };
        sim_queue_push(q, &late);
    }
    ev.seq = 999;
    assert_false(sim_queue_pop_due(q, 99, &ev));
    assert_int_equal(ev.seq, 999);
    for (guint64 s = 1; s < 100; s++) {
        assert_true(sim_queue_pop_due(q, 100, &ev));
        assert_int_equal(ev.seq, s);
        assert_int_equal(ev.time, 100);
    }
    /* The front is empty now; only the late heap is left, not yet due. */
    assert_int_equal(sim_queue_len(q), 3);
    assert_false(sim_queue_pop_due(q, 100, &ev));
    assert_int_equal(ev.seq, 99);
    for (guint64 s = 100; s < 103; s++) {
        assert_true(sim_queue_pop_due(q, 101, &ev));
        assert_int_equal(ev.seq, s);
        assert_int_equal(ev.time, 101);
    }
    assert_false(sim_queue_pop_due(q, SIM_TIME_MAX, &ev));
    assert_int_equal(sim_queue_len(q), 0);
}

/* Holds @pending events through @ops pops, each followed by a push
 * @max_delay ns or less after it (a quarter of them on a whole us, for
 * ties), appending what it pushes to @all and pops to @popped. */
static void hold_phase(SimQueue *q, Rng *r, guint64 *seq, gsize ops,
                       SimTime max_delay, GArray *all, GArray *popped)
{
    for (gsize i = 0; i < ops; i++) {
        SimEvent ev;
        assert_true(sim_queue_pop(q, &ev));
        g_array_append_val(popped, ev);
        SimTime d = (SimTime)rng_below(r, (guint32)max_delay);
        if (rng_below(r, 4) == 0) {
            d -= d % 1000;
        }
        SimEvent next = { .time = ev.time + d, .seq = (*seq)++ };
        sim_queue_push(q, &next);
        g_array_append_val(all, next);
    }
}

/* The windows widen when events are sparse and narrow when they are dense,
 * filing every pending event again each time, and the events still come
 * out in (time, seq) order across every change. */
static void test_queue_window_follows_the_rate(void **state)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(SimEvent));
    g_autoptr(GArray) popped = g_array_new(FALSE, FALSE, sizeof(SimEvent));
    Rng r;
    rng_init_named(&r, 9, "test-queue/adapt");
    guint64 seq = 0;
    guint start = sim_queue__window_bits(q);
    for (gsize i = 0; i < 2000; i++) {
        SimEvent ev = { .time = rng_below(&r, 10000000), .seq = seq++ };
        sim_queue_push(q, &ev);
        g_array_append_val(all, ev);
    }
    /* 2,000 pending over 10 ms: an event every 5 us, a few per 2^15 ns. */
    hold_phase(q, &r, &seq, 200000, 10000000, all, popped);
    guint sparse = sim_queue__window_bits(q);
    assert_true(sparse > start);
    /* The same 2,000 over 10 us: 200 an us, the narrowest windows. */
    hold_phase(q, &r, &seq, 400000, 10000, all, popped);
    guint dense = sim_queue__window_bits(q);
    assert_true(dense < start);
    hold_phase(q, &r, &seq, 200000, 10000000, all, popped);
    assert_int_equal(sim_queue__window_bits(q), sparse);
    drain_against_sorted(q, all, popped);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_empty),
        cmocka_unit_test(test_queue_random_pushes_pop_in_time_seq_order),
        cmocka_unit_test(test_queue_equal_times_pop_in_insertion_order),
        cmocka_unit_test(test_queue_reverse_order_pushes),
        cmocka_unit_test(test_queue_interleaved_hold_model),
        cmocka_unit_test(test_queue_extreme_times),
        cmocka_unit_test(test_queue_big_window_keeps_ties),
        cmocka_unit_test(test_queue_big_window_of_runs),
        cmocka_unit_test(test_queue_pushes_into_a_busy_window),
        cmocka_unit_test(test_queue_interleaved_1m_against_sort),
        cmocka_unit_test(test_queue_mixed_ops_against_scan),
        cmocka_unit_test(test_queue_reuse_after_empty),
        cmocka_unit_test(test_queue_refill_after_empty_either_side),
        cmocka_unit_test(test_queue_far_timer_then_near_pushes),
        cmocka_unit_test(test_queue_pop_due_boundary),
        cmocka_unit_test(test_queue_pop_due_with_late_heap),
        cmocka_unit_test(test_queue_spread_and_split_keep_order),
        cmocka_unit_test(test_queue_window_follows_the_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
