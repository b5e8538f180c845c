/* test-engine.c: sim/engine.h: FIFO ties, the sim_run() boundary and its
 * clock, sim_stop(), discard handlers for never-run events, determinism;
 * sim/zero.h's sim_zero(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "sim/engine.h"
#include "sim/rng.h"
#include "sim/zero.h"

/* What a handler saw, one line per event, so tests compare whole runs. */
typedef struct {
    GString *log;    /* "TIME KIND ARG\n" per handled event */
    guint discarded; /* discard handler calls */
    GString *dlog;   /* "TIME KIND ARG\n" per discarded event */
    guint stop_at;   /* call sim_stop() in the handler for this arg; 0 off */
    guint32 kind_b;  /* a second kind, for handlers that schedule it */
} Seen;

static void seen_init(Seen *s)
{
    *s = (Seen){ g_string_new(NULL), 0, g_string_new(NULL), 0, 0 };
}

static void seen_clear(Seen *s)
{
    g_string_free(s->log, TRUE);
    g_string_free(s->dlog, TRUE);
}

static void record(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Seen *s = ctx;
    assert_int_equal(sim_now(e), ev->time);
    g_string_append_printf(s->log, "%" G_GINT64_FORMAT " %s %u\n", ev->time,
                           sim_engine_kind_name(e, ev->kind), ev->arg);
    if (s->stop_at != 0 && ev->arg == s->stop_at) {
        sim_stop(e);
    }
}

static void discard_record(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Seen *s = ctx;
    s->discarded++;
    g_string_append_printf(s->dlog, "%" G_GINT64_FORMAT " %u\n", ev->time,
                           ev->arg);
    g_free(ev->data);
}

static void record_and_free(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    record(e, ctx, ev);
    g_free(ev->data);
}

/* Schedules two events of kind b at now (delay 0) from inside a handler. */
static void spawn_two_now(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Seen *s = ctx;
    record(e, ctx, ev);
    sim_schedule_in(e, 0, s->kind_b, ev->arg * 10 + 1, NULL);
    sim_schedule_in(e, 0, s->kind_b, ev->arg * 10 + 2, NULL);
}

/* The tie rule: events at equal times run in the order they were
 * scheduled, whatever their kind, and one scheduled at "now" from a handler
 * runs after every event already pending at now. */
static void test_engine_equal_times_run_in_schedule_order(void **state)
{
    Seen s;
    seen_init(&s);
    g_autoptr(SimEngine) e = sim_engine_new();
    guint32 a = sim_engine_register(e, "a", spawn_two_now, NULL, &s);
    s.kind_b = sim_engine_register(e, "b", record, NULL, &s);
    sim_schedule(e, 5, s.kind_b, 1, NULL);
    sim_schedule(e, 5, a, 2, NULL);
    sim_schedule(e, 5, s.kind_b, 3, NULL);
    sim_schedule(e, 4, s.kind_b, 4, NULL);
    sim_schedule(e, 5, a, 5, NULL);
    assert_int_equal(sim_run(e, 5), 9);
    assert_string_equal(s.log->str, "4 b 4\n"
                                    "5 b 1\n"
                                    "5 a 2\n"
                                    "5 b 3\n"
                                    "5 a 5\n"
                                    "5 b 21\n"
                                    "5 b 22\n"
                                    "5 b 51\n"
                                    "5 b 52\n");
    seen_clear(&s);
}

/* An event exactly at @until runs; a later one stays pending; the clock
 * follows the three rules written on sim_run(). */
static void test_engine_run_until_boundary_and_clock(void **state)
{
    Seen s;
    seen_init(&s);
    g_autoptr(SimEngine) e = sim_engine_new();
    guint32 k = sim_engine_register(e, "k", record, NULL, &s);
    sim_schedule(e, 10, k, 1, NULL);
    sim_schedule(e, 20, k, 2, NULL);
    sim_schedule(e, 21, k, 3, NULL);
    assert_int_equal(sim_next_time(e), 10);

    assert_int_equal(sim_run(e, 20), 2);
    assert_string_equal(s.log->str, "10 k 1\n20 k 2\n");
    assert_int_equal(sim_pending(e), 1);
    assert_int_equal(sim_next_time(e), 21);
    assert_int_equal(sim_now(e), 20);
    assert_int_equal(sim_run(e, 20), 0);
    assert_int_equal(sim_run(e, 15), 0); /* until < now: nothing moves */
    assert_int_equal(sim_now(e), 20);

    /* Rule 3: SIM_TIME_MAX runs everything and leaves now at the last
     * event, not at the end of time. */
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 1);
    assert_int_equal(sim_now(e), 21);
    assert_int_equal(sim_pending(e), 0);
    assert_int_equal(sim_next_time(e), SIM_TIME_MAX);
    assert_int_equal(sim_events_handled(e), 3);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 0);
    assert_int_equal(sim_now(e), 21);

    /* Rule 2: a finite until moves now there, with a later event pending
     * or with nothing pending at all; scheduling at now is then allowed. */
    sim_schedule(e, 150, k, 4, NULL);
    assert_int_equal(sim_run(e, 100), 0);
    assert_int_equal(sim_now(e), 100);
    sim_schedule(e, sim_now(e), k, 5, NULL);
    assert_int_equal(sim_run(e, 150), 2);
    assert_int_equal(sim_now(e), 150);
    assert_int_equal(sim_run(e, 500), 0);
    assert_int_equal(sim_now(e), 500);
    assert_string_equal(s.log->str,
                        "10 k 1\n20 k 2\n21 k 3\n100 k 5\n150 k 4\n");
    seen_clear(&s);
}

static void test_engine_stop_returns_after_current_event(void **state)
{
    Seen s;
    seen_init(&s);
    s.stop_at = 2;
    g_autoptr(SimEngine) e = sim_engine_new();
    guint32 k = sim_engine_register(e, "k", record, NULL, &s);
    for (guint i = 1; i <= 4; i++) {
        sim_schedule(e, i * 100, k, i, NULL);
    }
    /* Rule 1: now = the time of the event that asked to stop, not until. */
    assert_int_equal(sim_run(e, 1000), 2);
    assert_int_equal(sim_now(e), 200);
    assert_int_equal(sim_pending(e), 2);
    /* The stop does not carry over; neither does one asked outside. */
    sim_stop(e);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 2);
    assert_string_equal(s.log->str, "100 k 1\n200 k 2\n300 k 3\n400 k 4\n");
    seen_clear(&s);
}

/* Every event still pending at free goes to its kind's discard handler, in
 * (time, seq) order, which frees its payload (ASan checks no leak). */
static void test_engine_free_discards_pending_events(void **state)
{
    Seen s;
    seen_init(&s);
    SimEngine *e = sim_engine_new();
    guint32 k =
        sim_engine_register(e, "k", record_and_free, discard_record, &s);
    guint32 bare = sim_engine_register(e, "bare", record, NULL, &s);
    sim_schedule(e, 30, k, 3, g_strdup("three"));
    sim_schedule(e, 10, k, 1, g_strdup("one"));
    sim_schedule(e, 20, k, 2, g_strdup("two"));
    sim_schedule(e, 20, bare, 9, NULL); /* no discard: dropped unseen */
    sim_schedule(e, 40, k, 4, g_strdup("four"));
    assert_int_equal(sim_run(e, 15), 1); /* the handler frees "one" */
    assert_int_equal(s.discarded, 0);
    sim_engine_free(e);
    assert_int_equal(s.discarded, 3);
    assert_string_equal(s.dlog->str, "20 2\n30 3\n40 4\n");
    assert_string_equal(s.log->str, "10 k 1\n");
    seen_clear(&s);
}

static void test_engine_clear_discards_and_keeps_clock(void **state)
{
    Seen s;
    seen_init(&s);
    g_autoptr(SimEngine) e = sim_engine_new();
    guint32 k = sim_engine_register(e, "k", record, discard_record, &s);
    sim_schedule(e, 10, k, 1, NULL);
    sim_schedule(e, 20, k, 2, g_strdup("x"));
    sim_schedule(e, 30, k, 3, g_strdup("y"));
    assert_int_equal(sim_run(e, 10), 1);
    sim_engine_clear(e);
    assert_int_equal(s.discarded, 2);
    assert_int_equal(sim_pending(e), 0);
    assert_int_equal(sim_now(e), 10);
    assert_int_equal(sim_events_handled(e), 1);
    /* The engine is usable after a clear. */
    sim_schedule(e, 11, k, 4, NULL);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 1);
    seen_clear(&s);
}

static void test_engine_kinds_start_at_1_and_keep_names(void **state)
{
    Seen s;
    seen_init(&s);
    g_autoptr(SimEngine) e = sim_engine_new();
    char name[] = "lb/arrive";
    guint32 a = sim_engine_register(e, name, record, NULL, &s);
    guint32 b = sim_engine_register(e, "pod/done", record, NULL, &s);
    name[0] = 'X'; /* the engine kept its own copy */
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    assert_string_equal(sim_engine_kind_name(e, a), "lb/arrive");
    assert_string_equal(sim_engine_kind_name(e, b), "pod/done");
    seen_clear(&s);
}

static void test_engine_schedule_in_clamps_at_end_of_time(void **state)
{
    Seen s;
    seen_init(&s);
    g_autoptr(SimEngine) e = sim_engine_new();
    guint32 k = sim_engine_register(e, "k", record, NULL, &s);
    sim_schedule(e, 1000, k, 1, NULL);
    sim_run(e, SIM_TIME_MAX);
    sim_schedule_in(e, SIM_TIME_MAX, k, 2, NULL);
    assert_int_equal(sim_next_time(e), SIM_TIME_MAX);
    sim_schedule_in(e, 5, k, 3, NULL);
    assert_int_equal(sim_next_time(e), 1005);
    seen_clear(&s);
}

/* Collects criticals instead of aborting (the test environment sets
 * G_DEBUG=fatal-criticals), for the tests of refused calls. */
typedef struct {
    guint count;          /* criticals seen */
    GLogLevelFlags fatal; /* the always-fatal mask to restore */
    GLogFunc old_func;    /* the default handler to restore (GLib's own
                             takes no data, so none is saved) */
} Criticals;

static void count_critical(const gchar *domain,
                           GLogLevelFlags level,
                           const gchar *message,
                           gpointer data)
{
    Criticals *c = data;
    if (level & G_LOG_LEVEL_CRITICAL) {
        c->count++;
    }
}

static void criticals_catch(Criticals *c)
{
    c->count = 0;
    c->fatal = g_log_set_always_fatal(G_LOG_FATAL_MASK);
    c->old_func = g_log_set_default_handler(count_critical, c);
}

static void criticals_release(Criticals *c)
{
    g_log_set_default_handler(c->old_func, NULL);
    g_log_set_always_fatal(c->fatal);
}

/* Prefetching the next event's data never reads it: data that is no
 * address (a small integer, NULL, a pointer to a few bytes) runs the same
 * events in the same order, and the limit is checked. */
static void test_engine_prefetch_reads_nothing(void **state)
{
    Seen s;
    seen_init(&s);
    g_autoptr(SimEngine) e = sim_engine_new();
    sim_engine_set_prefetch(e, SIM_PREFETCH_MAX);
    s.kind_b = sim_engine_register(e, "b", record, NULL, &s);
    char small = 0;
    sim_schedule(e, 1, s.kind_b, 1, GINT_TO_POINTER(5));
    sim_schedule(e, 2, s.kind_b, 2, NULL);
    sim_schedule(e, 3, s.kind_b, 3, &small);
    sim_schedule(e, 4, s.kind_b, 4, GSIZE_TO_POINTER(G_MAXSIZE - 64));
    sim_schedule(e, 5, s.kind_b, 5, NULL);
    assert_int_equal(sim_run(e, 10), 5);
    assert_string_equal(s.log->str, "1 b 1\n"
                                    "2 b 2\n"
                                    "3 b 3\n"
                                    "4 b 4\n"
                                    "5 b 5\n");
    Criticals c;
    criticals_catch(&c);
    sim_engine_set_prefetch(e, SIM_PREFETCH_MAX + 1);
    criticals_release(&c);
    assert_int_equal(c.count, 1);
    seen_clear(&s);
}

/* libuv's rule (DESIGN.md): a refused schedule is loud, queues nothing,
 * and its handler never runs. */
static void test_engine_refused_schedule_never_runs(void **state)
{
    Seen s;
    seen_init(&s);
    g_autoptr(SimEngine) e = sim_engine_new();
    guint32 k = sim_engine_register(e, "k", record, NULL, &s);
    sim_schedule(e, 100, k, 1, NULL);
    sim_run(e, SIM_TIME_MAX);

    Criticals c;
    criticals_catch(&c);
    sim_schedule(e, 99, k, 2, NULL);      /* in the past */
    sim_schedule_in(e, -1, k, 3, NULL);   /* negative delay */
    sim_schedule(e, 200, 0, 4, NULL);     /* kind 0 is never valid */
    sim_schedule(e, 200, k + 1, 5, NULL); /* not registered */
    criticals_release(&c);

    assert_int_equal(c.count, 4);
    assert_int_equal(sim_pending(e), 0);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 0);
    assert_string_equal(s.log->str, "100 k 1\n");
    seen_clear(&s);
}

/* A discard handler that tries to schedule (engine.h forbids it). */
static void discard_and_schedule(SimEngine *e, gpointer ctx,
                                 const SimEvent *ev)
{
    Seen *s = ctx;
    discard_record(e, ctx, ev);
    if (ev->arg < 100) { /* were it accepted, no endless chain */
        sim_schedule(e, ev->time, s->kind_b, ev->arg + 100, NULL);
    }
}

/* Scheduling is refused while the engine clears (one compare checks that
 * and the kind), and accepted again afterwards, for a kind registered
 * before the clear and one registered after it. */
static void test_engine_no_schedule_while_clearing(void **state)
{
    Seen s;
    seen_init(&s);
    g_autoptr(SimEngine) e = sim_engine_new();
    guint32 k = sim_engine_register(e, "k", record, discard_and_schedule, &s);
    s.kind_b = k;
    sim_schedule(e, 10, k, 1, NULL);
    sim_schedule(e, 20, k, 2, NULL);

    Criticals c;
    criticals_catch(&c);
    sim_engine_clear(e);
    criticals_release(&c);
    assert_int_equal(c.count, 2);
    assert_int_equal(s.discarded, 2);
    assert_string_equal(s.dlog->str, "10 1\n20 2\n");
    assert_int_equal(sim_pending(e), 0);

    guint32 k2 = sim_engine_register(e, "k2", record, NULL, &s);
    sim_schedule(e, 30, k, 3, NULL);
    sim_schedule(e, 40, k2, 4, NULL);
    assert_int_equal(sim_pending(e), 2);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 2);
    assert_string_equal(s.log->str, "30 k 3\n40 k2 4\n");
    seen_clear(&s);
}

/* A small closed model: 100 jobs each draw a delay from the model's stream
 * and now and then spawn a one-shot child (arg >= 1000) at the same time;
 * enough to notice any nondeterminism in the order of equal times. */
typedef struct {
    Rng rng;      /* the model's stream */
    GString *log; /* handled events */
    guint32 kind; /* this model's event kind */
} Model;

static void model_handle(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Model *m = ctx;
    g_string_append_printf(m->log, "%" G_GINT64_FORMAT ":%u ", ev->time,
                           ev->arg);
    if (ev->arg >= 1000) {
        return;
    }
    /* Coarse delays (multiples of 1us) make equal times common. */
    SimTime d = (SimTime)rng_below(&m->rng, 20) * SIM_US;
    sim_schedule_in(e, d, m->kind, ev->arg, NULL);
    if (rng_below(&m->rng, 50) == 0) {
        sim_schedule_in(e, d, m->kind, ev->arg + 1000, NULL);
    }
}

static char *model_trace(guint64 seed)
{
    Model m = { { 0 }, g_string_new(NULL), 0 };
    rng_init_named(&m.rng, seed, "test-engine/model");
    g_autoptr(SimEngine) e = sim_engine_new();
    m.kind = sim_engine_register(e, "job", model_handle, NULL, &m);
    for (guint i = 0; i < 100; i++) {
        sim_schedule(e, 0, m.kind, i, NULL);
    }
    sim_run(e, 5 * SIM_MS);
    g_string_append_printf(
        m.log, "| handled %" G_GUINT64_FORMAT " pending %" G_GSIZE_FORMAT,
        sim_events_handled(e), sim_pending(e));
    return g_string_free(m.log, FALSE);
}

static void test_engine_same_schedule_gives_same_trace(void **state)
{
    g_autofree char *a = model_trace(7);
    g_autofree char *b = model_trace(7);
    g_autofree char *c = model_trace(8);
    assert_true(strlen(a) > 100000);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

/* sim_zero() clears exactly its bytes, at any alignment, for sizes with
 * and without a last 8-byte half (600: path_request_new(); 248:
 * gateway_decide()), and matches memset() byte for byte. */
static void check_zero(gsize off, gsize n, void (*zero)(void *p))
{
    guint8 buf[1024];
    guint8 want[1024];
    memset(buf, 0xa5, sizeof buf);
    memset(want, 0xa5, sizeof want);
    memset(want + off, 0, n);
    zero(buf + off);
    assert_memory_equal(buf, want, sizeof buf);
}

#define ZERO_FN(N)                                                        \
    static void zero_##N(void *p)                                         \
    {                                                                     \
        sim_zero(p, N);                                                   \
    }
ZERO_FN(8)
ZERO_FN(16)
ZERO_FN(24)
ZERO_FN(248)
ZERO_FN(600)

static void test_zero_exact_bytes(void **state)
{
    static const struct {
        gsize n;
        void (*fn)(void *p);
    } c[] = { { 8, zero_8 },     { 16, zero_16 },   { 24, zero_24 },
              { 248, zero_248 }, { 600, zero_600 } };
    for (guint i = 0; i < G_N_ELEMENTS(c); i++) {
        for (gsize off = 1; off < 18; off += 3) {
            check_zero(off, c[i].n, c[i].fn);
        }
        check_zero(0, c[i].n, c[i].fn);
        check_zero(1024 - c[i].n, c[i].n, c[i].fn);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_equal_times_run_in_schedule_order),
        cmocka_unit_test(test_engine_run_until_boundary_and_clock),
        cmocka_unit_test(test_engine_stop_returns_after_current_event),
        cmocka_unit_test(test_engine_free_discards_pending_events),
        cmocka_unit_test(test_engine_clear_discards_and_keeps_clock),
        cmocka_unit_test(test_engine_kinds_start_at_1_and_keep_names),
        cmocka_unit_test(test_engine_schedule_in_clamps_at_end_of_time),
        cmocka_unit_test(test_engine_refused_schedule_never_runs),
        cmocka_unit_test(test_engine_no_schedule_while_clearing),
        cmocka_unit_test(test_engine_same_schedule_gives_same_trace),
        cmocka_unit_test(test_zero_exact_bytes),
        cmocka_unit_test(test_engine_prefetch_reads_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
