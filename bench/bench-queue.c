/* bench-queue.c: hold-model benchmark of sim/queue (pop the earliest, push
 * it back at now + exponential delay) and a sim_run() throughput figure.
 * Not a test: it prints numbers. Build by hand, e.g.
 *   gcc -std=gnu11 -O2 -I. $(pkg-config --cflags glib-2.0) \
 *       bench/bench-queue.c sim/queue.c sim/engine.c sim/rng.c sim/dist.c \
 *       sim/time.c -o /tmp/bench-queue $(pkg-config --libs glib-2.0) -lm
 * and add -DQUEUE_RADIX_BITS=N to compare digit widths (sim/queue.c). */
#include <stdio.h>
#include <stdlib.h>
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
 * Returns operations (pop + push pairs) per second. */
static double hold_once(gsize pending, guint64 ops)
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

int main(void)
{
    static const struct {
        gsize pending; /* queue size held constant */
        guint64 ops;   /* hold operations per run */
    } sizes[] = {
        { 100, 10000000 },
        { 10000, 5000000 },
        { 1000000, 2000000 },
    };
    delays_init();
#ifdef QUEUE_RADIX_BITS
    printf("radix digits of %d bits (-DQUEUE_RADIX_BITS)\n", QUEUE_RADIX_BITS);
#endif
    for (gsize s = 0; s < G_N_ELEMENTS(sizes); s++) {
        double v[RUNS];
        for (int i = 0; i < RUNS; i++) {
            v[i] = hold_once(sizes[s].pending, sizes[s].ops);
        }
        printf("hold  %8" G_GSIZE_FORMAT " pending: %6.1f M ops/s "
               "(%.1f ns/op, median of %d)\n",
               sizes[s].pending, median(v, RUNS) / 1e6, 1e9 / median(v, RUNS),
               RUNS);
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
