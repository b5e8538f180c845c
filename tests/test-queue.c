/* test-queue.c: sim/queue.h: pops come out in (time, seq) order, so equal
 * times come out in insertion order, under random and adversarial loads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_empty),
        cmocka_unit_test(test_queue_random_pushes_pop_in_time_seq_order),
        cmocka_unit_test(test_queue_equal_times_pop_in_insertion_order),
        cmocka_unit_test(test_queue_reverse_order_pushes),
        cmocka_unit_test(test_queue_interleaved_hold_model),
        cmocka_unit_test(test_queue_extreme_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
