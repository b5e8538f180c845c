/* bench-queue.c: hold-model benchmark of sim/queue (pop the earliest, push
 * it back at now + exponential delay) and a sim_run() throughput figure;
 * or, given a trace, a replay of a real run's engine calls.
 * Not a test: it prints numbers. Built by `make bench`, or by hand, e.g.
 *   gcc -std=gnu11 -O2 -I. $(pkg-config --cflags glib-2.0) \
 *       bench/bench-queue.c sim/queue.c sim/engine.c sim/rng.c sim/dist.c \
 *       sim/time.c -o /tmp/bench-queue $(pkg-config --libs glib-2.0) -lm
 * and add -DQUEUE_SHIFT_MIN=N -DQUEUE_SHIFT_MAX=N (windows fixed at 2^N
 * ns instead of adapted to the rate) or -DQUEUE_RADIX_BITS=N (digit
 * width) to compare layouts (sim/queue.c).
 *
 * `bench-queue TRACE [stats]` replays a trace: build ingress-sim with
 * CFLAGS="-O2 -DSIM_ENGINE_TRACE" (see sim/engine.c), run a scenario with
 * SIM_ENGINE_TRACE=FILE in the environment, then give FILE here. The
 * replay makes the same sim_schedule() / sim_run() / sim_engine_clear()
 * calls with handlers that only read the trace, so the time per event is
 * the engine's and the queue's on exactly the real pattern. The trace is
 * host-endian gint64s: a time >= 0 is a sim_schedule() at it (seq is the
 * engine's counter); -1 - seq is the dispatch (or discard) of that event;
 * G_MININT64, UNTIL is a sim_run(UNTIL); G_MININT64 + 1 a clear. "stats"
 * prints the shape of the workload instead: delays and pending counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "sim/dist.h"
#include "sim/engine.h"
#include "sim/queue.h"

#define RUNS 5

/* Delays are drawn before timing starts (a ring of 2^16), so the figures
 * are the queue's cost, not log()'s. */
#define N_DELAYS (1u << 16)

static SimTime delays[N_DELAYS];

static void delays_init(void)
{
    Rng r;
    rng_init_named(&r, 1, "bench/delays");
    Dist d = dist_exponential(SIM_MS);
    for (guint i = 0; i < N_DELAYS; i++) {
        delays[i] = dist_sample(&d, &r);
    }
}

/* CPU time of this process in seconds: the machine is shared (two cores,
 * other builds), and wall time swung by 2x between runs under load. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, gsize n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* One hold run: @pending events, then @ops pops each followed by a push.
 * Returns operations (pop + push pairs) per second; *@bits, the width of
 * the queue's windows at the end (log2 ns). */
static double hold_once(gsize pending, guint64 ops, guint *bits)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    guint64 seq = 0;
    guint k = 0;
    for (gsize i = 0; i < pending; i++) {
        SimEvent ev = { delays[k++ % N_DELAYS], seq++, 1, 0, NULL };
        sim_queue_push(q, &ev);
    }
    double t0 = cpu_seconds();
    SimEvent ev;
    for (guint64 i = 0; i < ops; i++) {
        sim_queue_pop(q, &ev);
        ev.time += delays[k++ % N_DELAYS];
        ev.seq = seq++;
        sim_queue_push(q, &ev);
    }
    double t1 = cpu_seconds();
    *bits = sim_queue__window_bits(q);
    return (double)ops / (t1 - t0);
}

typedef struct {
    guint64 left; /* events still to handle before sim_stop() */
    guint32 kind; /* the one kind */
    guint k;      /* index into delays */
} Loop;

static void loop_handle(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Loop *l = ctx;
    sim_schedule_in(e, delays[l->k++ % N_DELAYS], l->kind, ev->arg, NULL);
    if (--l->left == 0) {
        sim_stop(e);
    }
}

/* sim_run() with a handler that only reschedules itself: the engine's
 * overhead per event on top of the queue. Returns events per second. */
static double run_once(gsize pending, guint64 events)
{
    g_autoptr(SimEngine) e = sim_engine_new();
    Loop l = { events, 0, 0 };
    l.kind = sim_engine_register(e, "loop", loop_handle, NULL, &l);
    for (gsize i = 0; i < pending; i++) {
        sim_schedule(e, delays[l.k++ % N_DELAYS], l.kind, 0, NULL);
    }
    double t0 = cpu_seconds();
    guint64 n = sim_run(e, SIM_TIME_MAX);
    double t1 = cpu_seconds();
    return (double)n / (t1 - t0);
}

#define TRACE_RUN G_MININT64
#define TRACE_CLEAR (G_MININT64 + 1)

typedef struct {
    const gint64 *v; /* the trace */
    gsize n;         /* its length */
    gsize at;        /* the next record to replay */
    guint32 kind;    /* the one kind every replayed event has */
    guint64 wrong;   /* dispatches not in the trace's order */
} Replay;

/* Checks that @ev is the event the trace dispatched next, then makes the
 * schedules its handler made. */
static void replay_handle(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Replay *r = ctx;
    if (r->at >= r->n || r->v[r->at] != -1 - (gint64)ev->seq) {
        r->wrong++;
    }
    r->at++;
    while (r->at < r->n && r->v[r->at] >= 0) {
        sim_schedule(e, r->v[r->at++], r->kind, 0, NULL);
    }
}

/* Discards follow the trace's order when it has them; a trace cut short
 * (head -c at a sim_run() record) has none, and the rest go unchecked. */
static void replay_discard(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Replay *r = ctx;
    if (r->at < r->n && r->v[r->at] == -1 - (gint64)ev->seq) {
        r->at++;
    }
}

/* One replay of the whole trace. Returns CPU seconds; sets *@events to
 * the events dispatched and discarded. */
static double replay_once(Replay *r, guint64 *events)
{
    g_autoptr(SimEngine) e = sim_engine_new();
    r->kind = sim_engine_register(e, "replay", replay_handle, replay_discard,
                                  r);
    r->at = 0;
    r->wrong = 0;
    *events = 0;
    double t0 = cpu_seconds();
    while (r->at < r->n) {
        gint64 v = r->v[r->at];
        if (v >= 0) {
            sim_schedule(e, v, r->kind, 0, NULL);
            r->at++;
        } else if (v == TRACE_RUN && r->at + 1 < r->n) {
            r->at += 2;
            *events += sim_run(e, r->v[r->at - 1]);
        } else if (v == TRACE_CLEAR) {
            r->at++;
            *events += sim_pending(e);
            sim_engine_clear(e);
        } else {
            r->wrong++; /* a dispatch the engine did not make */
            r->at++;
        }
    }
    double t1 = cpu_seconds();
    return t1 - t0;
}

/* log2 histogram of @x into @h (64 slots), 0 in slot 0. */
static void hist_add(guint64 *h, guint64 x)
{
    h[x == 0 ? 0 : 64 - __builtin_clzll(x)]++;
}

static void hist_print(const char *what, const guint64 *h)
{
    guint64 total = 0;
    for (int i = 0; i < 64; i++) {
        total += h[i];
    }
    printf("%s (%" G_GUINT64_FORMAT "):\n", what, total);
    for (int i = 0; i < 64; i++) {
        if (h[i] > 0) {
            printf("  < 2^%-2d %12" G_GUINT64_FORMAT "  %5.2f%%\n", i, h[i],
                   100.0 * (double)h[i] / (double)total);
        }
    }
}

/* The shape of the trace's workload: delays scheduled (time minus the
 * clock), pending counts at each schedule, and how many schedules come
 * before everything pending (what a one-event fast path would take). */
static void replay_stats(const Replay *r)
{
    g_autoptr(SimQueue) q = sim_queue_new();
    guint64 delay[64] = { 0 }, pending[64] = { 0 };
    guint64 first = 0, pushes = 0, seq = 0;
    SimTime now = 0;
    for (gsize i = 0; i < r->n; i++) {
        gint64 v = r->v[i];
        if (v >= 0) {
            const SimEvent *top = sim_queue_peek(q);
            SimEvent ev = { v, seq++, 1, 0, NULL };
            first += top == NULL || v < top->time;
            hist_add(delay, (guint64)(v - now));
            hist_add(pending, sim_queue_len(q));
            sim_queue_push(q, &ev);
            pushes++;
        } else if (v == TRACE_RUN) {
            i++;
        } else if (v != TRACE_CLEAR) {
            SimEvent ev;
            sim_queue_pop(q, &ev);
            now = ev.time;
        }
    }
    hist_print("delay ns", delay);
    hist_print("pending at schedule", pending);
    printf("scheduled before all pending: %.2f%%\n",
           100.0 * (double)first / (double)MAX(pushes, 1));
}

static int replay_main(const char *path, gboolean stats)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GMappedFile) m = g_mapped_file_new(path, FALSE, &err);
    if (m == NULL) {
        fprintf(stderr, "bench-queue: %s\n", err->message);
        return 1;
    }
    Replay r = { (const gint64 *)(gpointer)g_mapped_file_get_contents(m),
                 g_mapped_file_get_length(m) / sizeof(gint64), 0, 0, 0 };
    if (stats) {
        replay_stats(&r);
        return 0;
    }
    double v[RUNS];
    guint64 events = 0;
    for (int i = 0; i < RUNS; i++) {
        v[i] = replay_once(&r, &events);
        if (r.wrong > 0) {
            fprintf(stderr, "bench-queue: %s: %" G_GUINT64_FORMAT
                    " events out of the trace's order\n", path, r.wrong);
            return 1;
        }
    }
    double t = median(v, RUNS);
    printf("replay %s: %" G_GUINT64_FORMAT " events, %.1f ns/event "
           "(CPU, median of %d)\n", path, events, t * 1e9 / (double)events,
           RUNS);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        return replay_main(argv[1], argc > 2 && strcmp(argv[2], "stats") == 0);
    }
    static const struct {
        gsize pending; /* queue size held constant */
        guint64 ops;   /* hold operations per run */
    } sizes[] = {
        { 100, 10000000 },
        { 10000, 5000000 },
        { 1000000, 2000000 },
    };
    delays_init();
    printf("windows of 2^%d to 2^%d ns, adapted to the rate "
           "(-DQUEUE_SHIFT_MIN, -DQUEUE_SHIFT_MAX)\n",
           QUEUE_SHIFT_MIN, QUEUE_SHIFT_MAX);
#ifdef QUEUE_RADIX_BITS
    printf("radix digits of %d bits (-DQUEUE_RADIX_BITS)\n", QUEUE_RADIX_BITS);
#endif
    for (gsize s = 0; s < G_N_ELEMENTS(sizes); s++) {
        double v[RUNS];
        guint bits = 0;
        for (int i = 0; i < RUNS; i++) {
            v[i] = hold_once(sizes[s].pending, sizes[s].ops, &bits);
        }
        printf("hold  %8" G_GSIZE_FORMAT " pending: %6.1f M ops/s "
               "(%.1f ns/op, median of %d; windows 2^%u ns)\n",
               sizes[s].pending, median(v, RUNS) / 1e6, 1e9 / median(v, RUNS),
               RUNS, bits);
    }
    double v[RUNS];
    for (int i = 0; i < RUNS; i++) {
        v[i] = run_once(1000, 10000000);
    }
    printf("sim_run   %5d pending: %6.1f M events/s "
           "(trivial handler, median of %d)\n",
           1000, median(v, RUNS) / 1e6, RUNS);
    return 0;
}
