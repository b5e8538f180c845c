/* dist.c: sampling, means and descriptions of the laws in dist.h. Only
 * rng_double() feeds randomness in, so samples are reproducible by seed. */
#include "sim/dist.h"

#include <math.h>

/* z such that P(Z <= z) = 0.99 for a standard normal. */
#define Z_P99 2.3263478740408408

/* Redraws allowed for a negative normal sample before clamping to 0: with
 * mean >= 0 each draw is non-negative with probability >= 1/2, so 16 tries
 * clamp at most 1 sample in 65536 even in the worst case (mean 0). */
#define NORMAL_REDRAWS 16

/* Doubles at or above this are past the last SimTime a double can name
 * without rounding beyond G_MAXINT64. */
#define SIMTIME_DOUBLE_LIMIT 9.2e18

Dist dist_constant(SimTime v)
{
    g_return_val_if_fail(v >= 0, dist_constant(0));
    return (Dist){ DIST_CONSTANT, (double)v, 0.0 };
}

Dist dist_uniform(SimTime min, SimTime max)
{
    g_return_val_if_fail(min >= 0 && min <= max, dist_constant(0));
    return (Dist){ DIST_UNIFORM, (double)min, (double)max };
}

Dist dist_exponential(SimTime mean)
{
    g_return_val_if_fail(mean >= 0, dist_constant(0));
    return (Dist){ DIST_EXPONENTIAL, (double)mean, 0.0 };
}

Dist dist_normal(SimTime mean, SimTime stddev)
{
    g_return_val_if_fail(mean >= 0 && stddev >= 0, dist_constant(0));
    return (Dist){ DIST_NORMAL, (double)mean, (double)stddev };
}

Dist dist_lognormal(SimTime median, SimTime p99)
{
    g_return_val_if_fail(median > 0 && p99 >= median, dist_constant(median));
    double mu = log((double)median);
    return (Dist){ DIST_LOGNORMAL, mu, (log((double)p99) - mu) / Z_P99 };
}

static SimTime dist_round(double x)
{
    if (!(x >= 0.5)) { /* also NaN */
        return 0;
    }
    if (x >= SIMTIME_DOUBLE_LIMIT) {
        return SIM_TIME_MAX;
    }
    return (SimTime)(x + 0.5);
}

/* Box-Muller, cosine branch only: the sine half would have to be kept
 * between calls, which is hidden state (see dist_sample). 1 - u keeps the
 * log argument in (0, 1]. */
static double dist_std_normal(Rng *r)
{
    double u1 = 1.0 - rng_double(r);
    double u2 = rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * G_PI * u2);
}

SimTime dist_sample(const Dist *d, Rng *r)
{
    g_return_val_if_fail(d != NULL && r != NULL, 0);
    switch (d->kind) {
    case DIST_CONSTANT:
        return dist_round(d->p1);
    case DIST_UNIFORM:
        return dist_round(d->p1 + (d->p2 - d->p1) * rng_double(r));
    case DIST_EXPONENTIAL:
        return dist_round(-d->p1 * log(1.0 - rng_double(r)));
    case DIST_NORMAL:
        for (int i = 0; i < NORMAL_REDRAWS; i++) {
            double x = d->p1 + d->p2 * dist_std_normal(r);
            if (x >= 0.0) {
                return dist_round(x);
            }
        }
        return 0;
    case DIST_LOGNORMAL:
        return dist_round(exp(d->p1 + d->p2 * dist_std_normal(r)));
    }
    g_return_val_if_reached(0);
}

double dist_mean_ns(const Dist *d)
{
    g_return_val_if_fail(d != NULL, 0.0);
    switch (d->kind) {
    case DIST_CONSTANT:
    case DIST_EXPONENTIAL:
    case DIST_NORMAL:
        return d->p1;
    case DIST_UNIFORM:
        return (d->p1 + d->p2) / 2.0;
    case DIST_LOGNORMAL:
        return exp(d->p1 + d->p2 * d->p2 / 2.0);
    }
    g_return_val_if_reached(0.0);
}

char *dist_describe(const Dist *d)
{
    g_return_val_if_fail(d != NULL, NULL);
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;
    switch (d->kind) {
    case DIST_CONSTANT:
        a = sim_time_format(dist_round(d->p1));
        return g_strdup_printf("constant %s", a);
    case DIST_UNIFORM:
        a = sim_time_format(dist_round(d->p1));
        b = sim_time_format(dist_round(d->p2));
        return g_strdup_printf("uniform %s..%s", a, b);
    case DIST_EXPONENTIAL:
        a = sim_time_format(dist_round(d->p1));
        return g_strdup_printf("exponential mean %s", a);
    case DIST_NORMAL:
        a = sim_time_format(dist_round(d->p1));
        b = sim_time_format(dist_round(d->p2));
        return g_strdup_printf("normal mean %s sd %s", a, b);
    case DIST_LOGNORMAL:
        /* exp(log(x)) is within an ulp or two of x, so rounding to the
         * nearest ns gives back the constructor's integers. */
        a = sim_time_format(dist_round(exp(d->p1)));
        b = sim_time_format(dist_round(exp(d->p1 + Z_P99 * d->p2)));
        return g_strdup_printf("lognormal median %s p99 %s", a, b);
    }
    g_return_val_if_reached(NULL);
}
