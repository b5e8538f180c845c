/* test-dist.c: sim/dist.h: each law's sample statistics against its
 * parameters over N = 200000 draws, determinism, and descriptions. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <glib.h>

#include "sim/dist-private.h"

#define N 200000

/* Fixed seeds: every assertion below checks one reproducible sample, and
 * the tolerances are >= 4 standard errors so a change of stream or seed
 * still passes unless the law itself is wrong. */
static SimTime *draw(const Dist *d, const char *stream)
{
    Rng r;
    rng_init_named(&r, 2024, stream);
    SimTime *v = g_new(SimTime, N);
    for (int i = 0; i < N; i++) {
        v[i] = dist_sample(d, &r);
        assert_true(v[i] >= 0);
    }
    return v;
}

static double mean_of(const SimTime *v)
{
    double s = 0.0;
    for (int i = 0; i < N; i++) {
        s += (double)v[i];
    }
    return s / N;
}

static int cmp_simtime(const void *a, const void *b)
{
    SimTime x = *(const SimTime *)a, y = *(const SimTime *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantile of a sorted array. */
static SimTime quantile(const SimTime *sorted, double q)
{
    gsize rank = (gsize)ceil(q * N);
    return sorted[MAX(rank, 1) - 1];
}

static double rel_err(double got, double want)
{
    return fabs(got - want) / want;
}

static void test_dist_constant_is_constant(void **state)
{
    Dist d = dist_constant(5 * SIM_MS);
    Rng r;
    rng_init(&r, 1, 1);
    Rng before = r;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(dist_sample(&d, &r), 5 * SIM_MS);
    }
    /* It draws nothing, so it does not shift the stream. */
    assert_memory_equal(&r, &before, sizeof r);
    assert_true(dist_mean_ns(&d) == 5e6);
    /* The inline dist_draw() gives what dist_sample() gives, from 0 to the
     * saturating end, and for the other laws draws the same stream. */
    static const SimTime vs[] = { 0, 1, 2, 999, 5 * SIM_MS, (SimTime)1 << 52,
                                  ((SimTime)1 << 53) + 1, SIM_TIME_MAX };
    for (guint i = 0; i < G_N_ELEMENTS(vs); i++) {
        Dist c = dist_constant(vs[i]);
        assert_int_equal(dist_draw(&c, &r), dist_sample(&c, &r));
    }
    /* A zeroed Dist (not made by dist_constant()) is the constant 0. */
    Dist z = { 0 };
    assert_int_equal(dist_draw(&z, &r), 0);
    assert_int_equal(dist_sample(&z, &r), 0);
    Dist ln = dist_lognormal(SIM_MS, 5 * SIM_MS);
    Rng a = r, b = r;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(dist_draw(&ln, &a), dist_sample(&ln, &b));
    }
}

static void test_dist_uniform_bounds_and_mean(void **state)
{
    Dist d = dist_uniform(SIM_MS, 3 * SIM_MS);
    g_autofree SimTime *v = draw(&d, "uniform");
    SimTime lo = SIM_TIME_MAX, hi = 0;
    for (int i = 0; i < N; i++) {
        lo = MIN(lo, v[i]);
        hi = MAX(hi, v[i]);
    }
    assert_true(lo >= SIM_MS && hi <= 3 * SIM_MS);
    /* Both ends are reached to within 0.01% of the width. */
    assert_true(lo < SIM_MS + 200 && hi > 3 * SIM_MS - 200);
    /* sd of the mean: 2ms / sqrt(12 N) = 1.3us, i.e. 0.065%. */
    assert_true(rel_err(mean_of(v), dist_mean_ns(&d)) < 0.003);
    assert_true(dist_mean_ns(&d) == 2e6);
}

static void test_dist_exponential_mean_within_1pct(void **state)
{
    Dist d = dist_exponential(10 * SIM_MS);
    g_autofree SimTime *v = draw(&d, "exponential");
    /* sd of the mean: mean / sqrt(N) = 0.22%. */
    assert_true(rel_err(mean_of(v), 1e7) < 0.01);
    /* Median of an exponential is mean * ln 2. */
    qsort(v, N, sizeof *v, cmp_simtime);
    assert_true(rel_err((double)quantile(v, 0.5), 1e7 * G_LN2) < 0.02);
    assert_true(dist_mean_ns(&d) == 1e7);
}

static void test_dist_normal_mean_sd_and_never_negative(void **state)
{
    Dist d = dist_normal(5 * SIM_MS, SIM_MS);
    g_autofree SimTime *v = draw(&d, "normal");
    double m = mean_of(v);
    double ss = 0.0;
    for (int i = 0; i < N; i++) {
        ss += ((double)v[i] - m) * ((double)v[i] - m);
    }
    /* sd of the mean: 1ms / sqrt(N) = 2.2us, 0.045% of 5ms. */
    assert_true(rel_err(m, 5e6) < 0.005);
    assert_true(rel_err(sqrt(ss / (N - 1)), 1e6) < 0.01);
}

/* Mean 0 is the worst case for truncation: half the raw draws are
 * negative. Samples are redrawn, never negative, and the result is the
 * half-normal, whose mean is sd * sqrt(2 / pi). */
static void test_dist_normal_truncated_at_zero_by_redrawing(void **state)
{
    Dist d = dist_normal(0, SIM_MS);
    g_autofree SimTime *v = draw(&d, "half-normal");
    int zeros = 0;
    for (int i = 0; i < N; i++) {
        zeros += v[i] == 0;
    }
    /* Only clamped samples (2^-16) and draws within 0.5ns of 0 are 0. */
    assert_true(zeros < 20);
    assert_true(rel_err(mean_of(v), 1e6 * sqrt(2.0 / G_PI)) < 0.01);
}

static void test_dist_lognormal_median_and_p99_within_2pct(void **state)
{
    Dist d = dist_lognormal(300 * SIM_US, SIM_MS);
    g_autofree SimTime *v = draw(&d, "lognormal");
    double m = mean_of(v);
    qsort(v, N, sizeof *v, cmp_simtime);
    /* sd of the sample p99 here is about 0.43%, of the median 0.15%. */
    assert_true(rel_err((double)quantile(v, 0.5), 3e5) < 0.02);
    assert_true(rel_err((double)quantile(v, 0.99), 1e6) < 0.02);
    /* Analytic mean exp(mu + sigma^2 / 2). */
    double sigma = log(1e6 / 3e5) / 2.3263478740408408;
    assert_true(rel_err(dist_mean_ns(&d), 3e5 * exp(sigma * sigma / 2)) <
                1e-12);
    assert_true(rel_err(m, dist_mean_ns(&d)) < 0.01);
}

/* The samplers' shape, not just their moments: the empirical CDF at points
 * spanning the body, the wedges and both tails (the normal's tail starts
 * at 3.44 sd, the exponential's at 7.7 means: the ziggurat's slow paths)
 * against the law's CDF, within 5 standard errors of a proportion plus
 * the 0.5ns rounding. 10^6 draws. */
#define CDF_N 1000000

static void cdf_check(const Dist *d, const char *stream, const double *at,
                      const double *want, guint n)
{
    Rng r;
    rng_init_named(&r, 2024, stream);
    g_autofree guint64 *below = g_new0(guint64, n);
    for (int k = 0; k < CDF_N; k++) {
        double x = (double)dist_sample(d, &r);
        for (guint i = 0; i < n; i++) {
            below[i] += x <= at[i];
        }
    }
    for (guint i = 0; i < n; i++) {
        double got = (double)below[i] / CDF_N;
        double se = sqrt(want[i] * (1.0 - want[i]) / CDF_N);
        if (fabs(got - want[i]) > 5.0 * se + 2e-6) {
            fail_msg("%s: P(X <= %.0f) = %.6f, want %.6f", stream, at[i], got,
                     want[i]);
        }
    }
}

static void test_dist_normal_cdf_matches_phi_into_the_tails(void **state)
{
    /* Mean 20s, sd 1s: truncation at 0 never happens. */
    Dist d = dist_normal(20 * SIM_S, SIM_S);
    static const double z[] = { -4.5, -3.6, -3.44, -3.0, -2.0, -1.0, -0.3,
                                0.0,  0.3,  1.0,   2.0,  3.0,  3.44, 3.6,
                                4.5 };
    double at[G_N_ELEMENTS(z)], want[G_N_ELEMENTS(z)];
    for (guint i = 0; i < G_N_ELEMENTS(z); i++) {
        at[i] = 20e9 + z[i] * 1e9;
        want[i] = 0.5 * erfc(-z[i] / G_SQRT2);
    }
    cdf_check(&d, "cdf-normal", at, want, G_N_ELEMENTS(z));
}

static void test_dist_exponential_cdf_matches_into_the_tail(void **state)
{
    Dist d = dist_exponential(SIM_S);
    static const double t[] = { 0.01, 0.1, 0.5, 1.0, 2.0, 4.0, 7.0, 7.7,
                                8.0,  9.0, 11.0 };
    double at[G_N_ELEMENTS(t)], want[G_N_ELEMENTS(t)];
    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        at[i] = t[i] * 1e9;
        want[i] = -expm1(-t[i]);
    }
    cdf_check(&d, "cdf-exponential", at, want, G_N_ELEMENTS(t));
}

static void test_dist_lognormal_p99_equal_median_is_constant(void **state)
{
    Dist d = dist_lognormal(7 * SIM_MS, 7 * SIM_MS);
    Rng r;
    rng_init(&r, 1, 2);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(dist_sample(&d, &r), 7 * SIM_MS);
    }
}

static void test_dist_sample_is_deterministic_per_stream(void **state)
{
    Dist laws[] = {
        dist_uniform(0, SIM_S),
        dist_exponential(SIM_MS),
        dist_normal(SIM_MS, SIM_MS),
        dist_lognormal(SIM_MS, 9 * SIM_MS),
    };
    for (gsize k = 0; k < G_N_ELEMENTS(laws); k++) {
        Rng a, b;
        rng_init_named(&a, 11, "det");
        rng_init_named(&b, 11, "det");
        for (int i = 0; i < 10000; i++) {
            assert_int_equal(dist_sample(&laws[k], &a),
                             dist_sample(&laws[k], &b));
        }
    }
}

/* The exact draws of a normal and a lognormal, pinned: the ziggurat's
 * rectangle test is inline and the wedge and tail are a function apart,
 * and results must reproduce across such changes. 100k draws take the
 * tail (|z| > R = 3.44) some 60 times and the wedges about 1,000. */
static void test_dist_normal_draws_are_pinned(void **state)
{
    Rng r;
    rng_init_named(&r, 3, "test-dist/pinned");
    Dist n = dist_normal(1000000000, 100000000);
    Dist ln = dist_lognormal(300 * SIM_US, SIM_MS);
    guint64 h = G_GUINT64_CONSTANT(0xcbf29ce484222325);
    guint tail = 0;
    for (guint i = 0; i < 100000; i++) {
        SimTime v = dist_sample(&n, &r);
        if (v > 1344261986 || v < 655738014) {
            tail++;
        }
        h = (h ^ (guint64)v) * G_GUINT64_CONSTANT(0x100000001b3);
        h = (h ^ (guint64)dist_sample(&ln, &r)) *
            G_GUINT64_CONSTANT(0x100000001b3);
    }
    assert_int_equal(tail, 61);
    assert_true(h == G_GUINT64_CONSTANT(0x4d36bd821b6ce872));
}

/* The same for the exponential: 100k draws pinned (the same before and
 * after its rectangle test went inline), 61 of them past R. */
static void test_dist_exponential_draws_are_pinned(void **state)
{
    Rng r;
    rng_init_named(&r, 5, "test-dist/pinned-exp");
    Dist d = dist_exponential(10 * SIM_MS);
    guint64 h = G_GUINT64_CONSTANT(0xcbf29ce484222325);
    guint far = 0;
    for (guint i = 0; i < 100000; i++) {
        SimTime v = dist_sample(&d, &r);
        far += v > 77 * SIM_MS; /* past R = 7.7 means */
        h = (h ^ (guint64)v) * G_GUINT64_CONSTANT(0x100000001b3);
    }
    assert_int_equal(far, 61);
    assert_true(h == G_GUINT64_CONSTANT(0xb8cc2af4fd9ff4b0));
}

/* The lognormal's inline exp(), rounded, is exp() rounded, everywhere:
 * on a million random exponents over its range and past it, and on the
 * rounding boundaries themselves (ln(n - 1/2) and its neighbours a few
 * ulps away), where glibc's exp() has to decide. */
static SimTime round_of_exp(double x)
{
    double v = exp(x);
    if (!(v >= 0.5)) {
        return 0;
    }
    return v >= 9.2e18 ? G_MAXINT64 : (SimTime)(v + 0.5);
}

static void test_dist_lognormal_exp_rounds_as_exp(void **state)
{
    Rng r;
    rng_init_named(&r, 9, "test-dist/round-exp");
    for (guint i = 0; i < 1000000; i++) {
        double x = -4.0 + 50.0 * rng_double(&r);
        assert_int_equal(dist__round_exp(x), round_of_exp(x));
    }
    guint checked = 0;
    for (double n = 1.0; n < 1e14; n = n * 1.37 + 1.0) {
        double x = log(floor(n) - 0.5);
        for (gint k = 0; k < 8; k++) {
            double y = nextafter(x, G_MAXDOUBLE);
            assert_int_equal(dist__round_exp(x), round_of_exp(x));
            assert_int_equal(dist__round_exp(y), round_of_exp(y));
            x = nextafter(x, -G_MAXDOUBLE);
            checked += 2;
        }
    }
    assert_true(checked > 1000);
    const double odd[] = { -750.0, -2.0,  33.0,     43.66,
                           43.68,  710.0, INFINITY, -INFINITY };
    for (guint i = 0; i < G_N_ELEMENTS(odd); i++) {
        assert_int_equal(dist__round_exp(odd[i]), round_of_exp(odd[i]));
    }
    assert_int_equal(dist__round_exp(NAN), 0);
}

static void test_dist_describe(void **state)
{
    Dist laws[] = {
        dist_constant(5 * SIM_MS),
        dist_exponential(10 * SIM_MS),
        dist_lognormal(300 * SIM_US, SIM_MS),
        dist_uniform(SIM_MS, 3 * SIM_MS),
        dist_normal(5 * SIM_MS, SIM_MS),
    };
    static const char *const want[] = {
        "constant 5ms",
        "exponential mean 10ms",
        "lognormal median 300us p99 1ms",
        "uniform 1ms..3ms",
        "normal mean 5ms sd 1ms",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(laws); i++) {
        g_autofree char *got = dist_describe(&laws[i]);
        assert_string_equal(got, want[i]);
    }
}

/* The lognormal's median and p99 come back out of (mu, sigma) exactly for
 * many integer inputs, not just round ones. */
static void test_dist_lognormal_describe_recovers_parameters(void **state)
{
    Rng r;
    rng_init_named(&r, 1, "describe");
    for (int i = 0; i < 10000; i++) {
        SimTime median = 1 + (SimTime)rng_below(&r, 1000000000);
        SimTime p99 = median + (SimTime)rng_below(&r, 1000000000);
        Dist d = dist_lognormal(median, p99);
        g_autofree char *m = sim_time_format(median);
        g_autofree char *p = sim_time_format(p99);
        g_autofree char *want =
            g_strdup_printf("lognormal median %s p99 %s", m, p);
        g_autofree char *got = dist_describe(&d);
        assert_string_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dist_constant_is_constant),
        cmocka_unit_test(test_dist_uniform_bounds_and_mean),
        cmocka_unit_test(test_dist_exponential_mean_within_1pct),
        cmocka_unit_test(test_dist_normal_mean_sd_and_never_negative),
        cmocka_unit_test(test_dist_normal_truncated_at_zero_by_redrawing),
        cmocka_unit_test(test_dist_lognormal_median_and_p99_within_2pct),
        cmocka_unit_test(test_dist_lognormal_p99_equal_median_is_constant),
        cmocka_unit_test(test_dist_normal_cdf_matches_phi_into_the_tails),
        cmocka_unit_test(test_dist_exponential_cdf_matches_into_the_tail),
        cmocka_unit_test(test_dist_sample_is_deterministic_per_stream),
        cmocka_unit_test(test_dist_normal_draws_are_pinned),
        cmocka_unit_test(test_dist_exponential_draws_are_pinned),
        cmocka_unit_test(test_dist_lognormal_exp_rounds_as_exp),
        cmocka_unit_test(test_dist_describe),
        cmocka_unit_test(test_dist_lognormal_describe_recovers_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
