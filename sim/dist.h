/* dist.h: latency and service-time distributions over SimTime, sampled from
 * a caller's Rng. The scenario's "latency:" fields become these; models
 * draw hop delays and service times from them. */
#pragma once

#include <glib.h>

#include "sim/rng.h"
#include "sim/time.h"

G_BEGIN_DECLS

typedef enum {
    DIST_CONSTANT,
    DIST_UNIFORM,
    DIST_EXPONENTIAL,
    DIST_NORMAL,
    DIST_LOGNORMAL,
} DistKind;

/* A small value; build it with the constructors below, which check the
 * parameters, rather than by hand. Meaning of p1 and p2 per kind, all in ns
 * except the lognormal's:
 *   DIST_CONSTANT     p1 = the value                  p2 unused
 *   DIST_UNIFORM      p1 = min, p2 = max (inclusive)
 *   DIST_EXPONENTIAL  p1 = mean                       p2 unused
 *   DIST_NORMAL       p1 = mean, p2 = standard deviation; negative draws
 *                     are redrawn (up to 16 times), then clamped to 0
 *   DIST_LOGNORMAL    p1 = mu, p2 = sigma of ln(sample in ns) */
typedef struct {
    DistKind kind;  /* which law */
    gboolean fixed; /* made by dist_constant(): every draw is @value */
    double p1;      /* first parameter, see above */
    double p2;      /* second parameter, see above; 0 when unused */
    SimTime value;  /* fixed: what dist_sample() gives (p1 rounded) */
} Dist;

/* Always @v. @v >= 0. */
Dist dist_constant(SimTime v);
/* Uniform on [@min, @max]; 0 <= @min <= @max. */
Dist dist_uniform(SimTime min, SimTime max);
/* Exponential with mean @mean >= 0 (memoryless arrivals, service times). */
Dist dist_exponential(SimTime mean);
/* Normal, @mean >= 0, @stddev >= 0, truncated at 0 as described above. */
Dist dist_normal(SimTime mean, SimTime stddev);
/* Lognormal given by two quantiles, as latencies are usually quoted:
 * mu = ln(@median), sigma = (ln @p99 - ln @median) / z(0.99), z(0.99) =
 * 2.3263478740408408. Needs 0 < @median <= @p99 (@p99 == @median gives a
 * constant @median). */
Dist dist_lognormal(SimTime median, SimTime p99);

/* One draw, rounded to the nearest ns, never negative; saturates at about
 * 9.2e18 ns. Deterministic from *@r alone (no hidden state: each normal
 * draw uses its own pair of uniforms). Cost: a few ns; the normal and
 * lognormal call log, sqrt and cos. */
SimTime dist_sample(const Dist *d, Rng *r);

/* dist_sample() for hot paths: a constant, as most network hops are,
 * costs no call and no rounding, which dist_constant() did once. */
static inline SimTime dist_draw(const Dist *d, Rng *r)
{
    if (d->fixed) {
        return d->value;
    }
    return dist_sample(d, r);
}

/* The analytic mean in ns of the law before rounding. For DIST_NORMAL it is
 * the mean of the untruncated normal, p1: truncation at 0 raises the true
 * mean noticeably only when mean < 3 stddev. */
double dist_mean_ns(const Dist *d);

/* "constant 5ms", "uniform 1ms..3ms", "exponential mean 10ms",
 * "normal mean 5ms sd 1ms", "lognormal median 300us p99 1ms": the
 * parameters as the constructors took them, via sim_time_format().
 * Returns: (transfer full) free with g_free(). */
char *dist_describe(const Dist *d);

G_END_DECLS
