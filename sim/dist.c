/* dist.c: sampling, means and descriptions of the laws in dist.h. Only
 * the stream passed in feeds randomness, so samples are reproducible by
 * seed. */
#include "sim/dist-private.h"

#include <math.h>
#include <string.h>

/* z such that P(Z <= z) = 0.99 for a standard normal. */
#define Z_P99 2.3263478740408408

/* Redraws allowed for a negative normal sample before clamping to 0: with
 * mean >= 0 each draw is non-negative with probability >= 1/2, so 16 tries
 * clamp at most 1 sample in 65536 even in the worst case (mean 0). */
#define NORMAL_REDRAWS 16

/* Doubles at or above this are past the last SimTime a double can name
 * without rounding beyond G_MAXINT64. */
#define SIMTIME_DOUBLE_LIMIT 9.2e18

static SimTime dist_round(double x);

Dist dist_constant(SimTime v)
{
    g_return_val_if_fail(v >= 0, dist_constant(0));
    Dist d = { .kind = DIST_CONSTANT, .fixed = TRUE, .p1 = (double)v };
    d.value = dist_round(d.p1);
    return d;
}

Dist dist_uniform(SimTime min, SimTime max)
{
    g_return_val_if_fail(min >= 0 && min <= max, dist_constant(0));
    return (Dist){ .kind = DIST_UNIFORM, .p1 = (double)min, .p2 = (double)max };
}

Dist dist_exponential(SimTime mean)
{
    g_return_val_if_fail(mean >= 0, dist_constant(0));
    return (Dist){ .kind = DIST_EXPONENTIAL, .p1 = (double)mean };
}

Dist dist_normal(SimTime mean, SimTime stddev)
{
    g_return_val_if_fail(mean >= 0 && stddev >= 0, dist_constant(0));
    return (Dist){ .kind = DIST_NORMAL,
                   .p1 = (double)mean,
                   .p2 = (double)stddev };
}

Dist dist_lognormal(SimTime median, SimTime p99)
{
    g_return_val_if_fail(median > 0 && p99 >= median, dist_constant(median));
    double mu = log((double)median);
    return (Dist){ .kind = DIST_LOGNORMAL,
                   .p1 = mu,
                   .p2 = (log((double)p99) - mu) / Z_P99 };
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
/* ---- ziggurat ------------------------------------------------------------
 * G. Marsaglia and W. W. Tsang, "The Ziggurat Method for Generating Random
 * Variables", J. Stat. Softw. 5(8), 2000, in J. A. Doornik's form ("An
 * Improved Ziggurat Method to Generate Normal Random Samples", 2005): a
 * layer index and a 53-bit uniform from independent bits of one 64-bit
 * draw, so index and value are not correlated. Why not Box-Muller and
 * -log(U): every hop of every request draws a latency, and log, cos and
 * exp were a tenth of a run; here about 99% of draws take one multiply and
 * one compare. Exact laws: the rare slow paths (wedges, tail) sample the
 * density itself. */

#define ZIG_NORMAL_LAYERS 128
#define ZIG_NORMAL_R 3.442619855899        /* start of the tail */
#define ZIG_NORMAL_V 9.91256303526217e-3   /* area of each layer */
#define ZIG_EXP_LAYERS 256
#define ZIG_EXP_R 7.69711747013104972
#define ZIG_EXP_V 3.949659822581572e-3
#define EXP_NEAR_N 128 /* exp_near()'s table: 2^(j/128), 1 KiB */

/* What a draw's rectangle test reads of layer i, side by side: one cache
 * line holds four layers, where two arrays (ratios, edges) cost two
 * lines a draw (cachegrind: dist_sample missed the 48 KB L1 3.4 times a
 * request). The ratios are kept here only. */
typedef struct {
    double ratio; /* x[i+1] / x[i]: the rectangle's share of the layer */
    double x;     /* nx[i] / ex[i] */
} ZigLayer;

typedef struct {
    ZigLayer nlayer[ZIG_NORMAL_LAYERS];
    ZigLayer elayer[ZIG_EXP_LAYERS];
    double nx[ZIG_NORMAL_LAYERS + 1]; /* layer edges, nx[0] the base's width */
    double nf[ZIG_NORMAL_LAYERS + 1]; /* exp(-x^2/2) at the edges */
    double ex[ZIG_EXP_LAYERS + 1];
    double ef[ZIG_EXP_LAYERS + 1];    /* exp(-x) at the edges */
    double exp2_frac[EXP_NEAR_N];     /* 2^(j / 128), for exp_near() */
} ZigTables;

static ZigTables zig __attribute__((aligned(64))); /* layers in lines */

static void zig_init(void)
{
    static gsize done = 0;
    if (!g_once_init_enter(&done)) {
        return;
    }
    double f = exp(-0.5 * ZIG_NORMAL_R * ZIG_NORMAL_R);
    zig.nx[0] = ZIG_NORMAL_V / f;
    zig.nx[1] = ZIG_NORMAL_R;
    zig.nx[ZIG_NORMAL_LAYERS] = 0.0;
    for (int i = 2; i < ZIG_NORMAL_LAYERS; i++) {
        zig.nx[i] = sqrt(-2.0 * log(ZIG_NORMAL_V / zig.nx[i - 1] + f));
        f = exp(-0.5 * zig.nx[i] * zig.nx[i]);
    }
    for (int i = 0; i <= ZIG_NORMAL_LAYERS; i++) {
        zig.nf[i] = exp(-0.5 * zig.nx[i] * zig.nx[i]);
    }
    for (int i = 0; i < ZIG_NORMAL_LAYERS; i++) {
        zig.nlayer[i] = (ZigLayer){ zig.nx[i + 1] / zig.nx[i], zig.nx[i] };
    }
    f = exp(-ZIG_EXP_R);
    zig.ex[0] = ZIG_EXP_V / f;
    zig.ex[1] = ZIG_EXP_R;
    zig.ex[ZIG_EXP_LAYERS] = 0.0;
    for (int i = 2; i < ZIG_EXP_LAYERS; i++) {
        zig.ex[i] = -log(ZIG_EXP_V / zig.ex[i - 1] + f);
        f = exp(-zig.ex[i]);
    }
    for (int i = 0; i <= ZIG_EXP_LAYERS; i++) {
        zig.ef[i] = exp(-zig.ex[i]);
    }
    for (int i = 0; i < ZIG_EXP_LAYERS; i++) {
        zig.elayer[i] = (ZigLayer){ zig.ex[i + 1] / zig.ex[i], zig.ex[i] };
    }
    for (int j = 0; j < EXP_NEAR_N; j++) {
        zig.exp2_frac[j] = exp2((double)j / EXP_NEAR_N);
    }
    g_once_init_leave(&done, 1);
}

/* 64 random bits: the top 53 make a uniform, the low 11 an index. */
static inline guint64 zig_bits(Rng *r)
{
    return ((guint64)rng_u32(r) << 32) | rng_u32(r);
}

static inline double zig_unit(guint64 bits)
{
    return (double)(bits >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

static double std_normal_rest(Rng *r, double u, guint i);

/* A standard normal draw. The layer's rectangle, taken about 99% of the
 * time, is inline; the rest of that draw (and any redraws) is
 * std_normal_rest(), out of line: a call per lognormal hop cost about as
 * much as the rectangle itself. */
static inline double dist_std_normal(Rng *r)
{
    guint64 bits = zig_bits(r);
    double u = 2.0 * zig_unit(bits) - 1.0; /* [-1, 1) */
    guint i = (guint)(bits & (ZIG_NORMAL_LAYERS - 1));
    const ZigLayer *l = &zig.nlayer[i];
    if (G_LIKELY(fabs(u) < l->ratio)) {
        return u * l->x;
    }
    return std_normal_rest(r, u, i);
}

/* dist_std_normal() past its rectangle test: @u and @i of the draw that
 * failed it, then as many draws as it takes. */
static G_GNUC_NO_INLINE double std_normal_rest(Rng *r, double u, guint i)
{
    for (;;) {
        if (i == 0) {
            /* The tail beyond R (Marsaglia 1964). */
            double x, y;
            do {
                x = log(1.0 - rng_double(r)) / ZIG_NORMAL_R;
                y = log(1.0 - rng_double(r));
            } while (-2.0 * y < x * x);
            return u < 0.0 ? x - ZIG_NORMAL_R : ZIG_NORMAL_R - x;
        }
        /* The wedge between the layer's rectangle and the curve. */
        double x = u * zig.nx[i];
        double y = zig.nf[i] + rng_double(r) * (zig.nf[i + 1] - zig.nf[i]);
        if (y < exp(-0.5 * x * x)) {
            return x;
        }
        guint64 bits = zig_bits(r);
        u = 2.0 * zig_unit(bits) - 1.0;
        i = (guint)(bits & (ZIG_NORMAL_LAYERS - 1));
        if (fabs(u) < zig.nlayer[i].ratio) {
            return u * zig.nx[i];
        }
    }
}

static double std_exponential_rest(Rng *r, double u, guint i);

/* A standard exponential draw, split as dist_std_normal(): the
 * rectangle inline, the rest out of line. */
static inline double dist_std_exponential(Rng *r)
{
    guint64 bits = zig_bits(r);
    double u = zig_unit(bits);
    guint i = (guint)(bits & (ZIG_EXP_LAYERS - 1));
    const ZigLayer *l = &zig.elayer[i];
    if (G_LIKELY(u < l->ratio)) {
        return u * l->x;
    }
    return std_exponential_rest(r, u, i);
}

/* dist_std_exponential() past its rectangle test, as std_normal_rest(). */
static G_GNUC_NO_INLINE double std_exponential_rest(Rng *r, double u, guint i)
{
    for (;;) {
        if (i == 0) {
            /* Memoryless: the tail is R plus another exponential. */
            return ZIG_EXP_R - log(1.0 - rng_double(r));
        }
        double x = u * zig.ex[i];
        double y = zig.ef[i] + rng_double(r) * (zig.ef[i + 1] - zig.ef[i]);
        if (y < exp(-x)) {
            return x;
        }
        guint64 bits = zig_bits(r);
        u = zig_unit(bits);
        i = (guint)(bits & (ZIG_EXP_LAYERS - 1));
        if (u < zig.elayer[i].ratio) {
            return u * zig.ex[i];
        }
    }
}

/* ---- lognormal: exp() rounded to the ns -----------------------------------
 * Why: glibc's exp() was a sixth of a generated request's instructions
 * (three lognormal hops each), a call of some 50. A draw is exp(x)
 * rounded to the nearest ns, so an exp() good to 2^-38 of its value,
 * inline, gives the very same integer unless exp(x) + 1/2 lies within
 * 2^-35 of its value from an integer: then, a few times in 10^5 draws,
 * glibc's exp() decides, as it always did. Any exp() within 2^-37 of the
 * true value (glibc's is within an ulp, 2^-52) rounds like ours outside
 * that band, so samples are those of exp() itself, bit for bit. */

/* e^@x for -2 < @x < 33, within 2^-38 of it: x = k ln2/128 + r with
 * |r| <= ln2/256, e^x = 2^(k/128) e^r, 2^(k/128) a table entry scaled by
 * a power of two, e^r a degree-3 Taylor polynomial (its error r^4/24 <
 * 2^-38.7). ln2/128 is split in two, the first with 40 significant bits,
 * so k * hi is exact for |k| < 2^13. */
static inline double exp_near(double x)
{
    const double shift = 0x1.8p52; /* adding it rounds to an integer */
    const double inv = 0x1.71547652b82fep+7;  /* 128 / ln2 */
    const double hi = 0x1.62e42fefa4000p-8;   /* ln2 / 128, 40 bits */
    const double lo = -0x1.8432a1b0e2634p-50; /* ln2 / 128 - hi */
    double kd = (x * inv + shift) - shift;
    gint64 k = (gint64)kd;
    double r = (x - kd * hi) - kd * lo;
    guint64 bits;
    memcpy(&bits, &zig.exp2_frac[k & (EXP_NEAR_N - 1)], sizeof bits);
    bits += (guint64)(k >> 7) << 52; /* k >> 7: floor(k / 128) */
    double t;
    memcpy(&t, &bits, sizeof t);
    double p = r + r * r * (0.5 + r * (1.0 / 6.0));
    return t + t * p;
}

/* dist_round(exp(@x)), the same integer every time (see above). */
static inline SimTime round_exp(double x)
{
    if (G_LIKELY(x > -2.0 && x < 33.0)) {
        double y = exp_near(x); /* < 2^48: y + 0.5 is exact */
        double t = y + 0.5;
        SimTime n = (SimTime)t;
        double f = t - (double)n; /* exact: n <= t < n + 1 */
        double band = y * 0x1p-35;
        if (G_LIKELY(f > band && f < 1.0 - band)) {
            return n;
        }
    }
    return dist_round(exp(x));
}

SimTime dist__round_exp(double x)
{
    zig_init();
    return round_exp(x);
}

/* dist_sample() of the laws it does not take itself. */
static G_GNUC_NO_INLINE SimTime sample_other(const Dist *d, Rng *r)
{
    if (d->kind != DIST_CONSTANT) {
        zig_init();
    }
    switch (d->kind) {
    case DIST_CONSTANT:
        return dist_round(d->p1);
    case DIST_UNIFORM:
        return dist_round(d->p1 + (d->p2 - d->p1) * rng_double(r));
    case DIST_EXPONENTIAL:
        return dist_round(d->p1 * dist_std_exponential(r));
    case DIST_NORMAL:
        for (int i = 0; i < NORMAL_REDRAWS; i++) {
            double x = d->p1 + d->p2 * dist_std_normal(r);
            if (x >= 0.0) {
                return dist_round(x);
            }
        }
        return 0;
    case DIST_LOGNORMAL:
        return round_exp(d->p1 + d->p2 * dist_std_normal(r));
    }
    g_return_val_if_reached(0);
}

SimTime dist_sample(const Dist *d, Rng *r)
{
    g_return_val_if_fail(d != NULL && r != NULL, 0);
    /* Most hops that are not constant are lognormal, most service times
     * exponential: those two here, with no frame to set up for the
     * others' loops. */
    if (G_LIKELY(d->kind == DIST_LOGNORMAL)) {
        zig_init();
        return round_exp(d->p1 + d->p2 * dist_std_normal(r));
    }
    if (d->kind == DIST_EXPONENTIAL) { /* most service times */
        zig_init();
        return dist_round(d->p1 * dist_std_exponential(r));
    }
    return sample_other(d, r);
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
