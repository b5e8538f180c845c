/* test-hist.c: sim/hist.h: percentiles within 1% of the exact sorted-array
 * quantile for several laws, exact min/max/mean, merge, buckets, text. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <glib.h>

#include "sim/dist.h"
#include "sim/hist.h"

#define N_VALUES 1000000

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank definition hist_percentile() documents. */
static gint64 exact_percentile(const gint64 *sorted, gsize n, double p)
{
    gsize rank = (gsize)ceil(p / 100.0 * (double)n);
    return sorted[CLAMP(rank, 1, n) - 1];
}

static void check_law(const Dist *d, const char *name)
{
    Rng r;
    rng_init_named(&r, 77, name);
    g_autofree gint64 *v = g_new(gint64, N_VALUES);
    g_autoptr(Hist) h = hist_new();
    double sum = 0.0;
    for (gsize i = 0; i < N_VALUES; i++) {
        v[i] = dist_sample(d, &r);
        sum += (double)v[i];
        hist_record(h, v[i]);
    }
    qsort(v, N_VALUES, sizeof *v, cmp_i64);
    assert_int_equal(hist_count(h), N_VALUES);
    assert_int_equal(hist_min(h), v[0]);
    assert_int_equal(hist_max(h), v[N_VALUES - 1]);
    assert_true(fabs(hist_mean(h) - sum / N_VALUES) <= 1e-9 * hist_mean(h));

    static const double ps[] = { 50.0, 90.0, 99.0, 99.9 };
    for (gsize i = 0; i < G_N_ELEMENTS(ps); i++) {
        gint64 want = exact_percentile(v, N_VALUES, ps[i]);
        gint64 got = hist_percentile(h, ps[i]);
        double err = fabs((double)(got - want)) / MAX((double)want, 1.0);
        if (err > 0.01) {
            print_error("%s p%g: got %" G_GINT64_FORMAT
                        " want %" G_GINT64_FORMAT "\n",
                        name, ps[i], got, want);
        }
        /* 1% is the contract; the layout promises 0.39%. */
        assert_true(err <= 0.0039);
    }
    assert_int_equal(hist_percentile(h, 0.0), v[0]);
    assert_int_equal(hist_percentile(h, 100.0), v[N_VALUES - 1]);
}

static void test_hist_percentiles_within_1pct_of_exact(void **state)
{
    Dist laws[] = {
        dist_exponential(10 * SIM_MS),
        dist_lognormal(300 * SIM_US, SIM_MS),
        dist_uniform(SIM_US, 2 * SIM_S),
        dist_normal(5 * SIM_MS, SIM_MS),
        dist_uniform(0, 1000), /* small values: exact buckets below 256 */
        dist_lognormal(SIM_MIN, 40 * SIM_MIN), /* up to ~2^42 ns and past */
    };
    for (gsize i = 0; i < G_N_ELEMENTS(laws); i++) {
        g_autofree char *name = dist_describe(&laws[i]);
        check_law(&laws[i], name);
    }
}

static void test_hist_empty(void **state)
{
    g_autoptr(Hist) h = hist_new();
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    assert_true(hist_mean(h) == 0.0);
    assert_int_equal(hist_percentile(h, 50.0), 0);
    assert_int_equal(hist_n_buckets(h), 0);
    assert_false(hist_bucket(h, 0, NULL, NULL, NULL));
}

/* Values below 256 have buckets of their own; negative values count as 0;
 * the largest gint64 lands in the top bucket with no clamping. */
static void test_hist_edges_small_negative_huge(void **state)
{
    g_autoptr(Hist) h = hist_new();
    hist_record(h, -5);
    hist_record(h, 0);
    hist_record(h, 255);
    hist_record(h, G_MAXINT64);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), G_MAXINT64);
    assert_int_equal(hist_percentile(h, 50.0), 0);
    assert_int_equal(hist_percentile(h, 75.0), 255);
    assert_int_equal(hist_n_buckets(h), 3);
    gint64 lo, hi;
    guint64 n;
    assert_true(hist_bucket(h, 0, &lo, &hi, &n));
    assert_true(lo == 0 && hi == 0 && n == 2);
    assert_true(hist_bucket(h, 1, &lo, &hi, &n));
    assert_true(lo == 255 && hi == 255 && n == 1);
    assert_true(hist_bucket(h, 2, &lo, &hi, &n));
    assert_true(hi == G_MAXINT64 && lo <= G_MAXINT64 && n == 1);
    /* Bucket width is 1/128 of its lower bound at most. */
    assert_true((hi - lo + 1) <= lo / 128 + 1);
    /* The exact mean of huge values needs the 128-bit sum. */
    g_autoptr(Hist) big = hist_new();
    hist_record_n(big, G_MAXINT64, 4);
    assert_true(hist_mean(big) == (double)G_MAXINT64);
}

/* Every integer in [0, 2^20) and a sample of larger ones land in a bucket
 * whose bounds contain them, and buckets are contiguous. */
static void test_hist_buckets_contain_their_values(void **state)
{
    g_autoptr(Hist) h = hist_new();
    for (gint64 v = 0; v < (1 << 20); v++) {
        hist_record(h, v);
    }
    gsize nb = hist_n_buckets(h);
    gint64 expect_lo = 0;
    guint64 total = 0;
    for (gsize i = 0; i < nb; i++) {
        gint64 lo, hi;
        guint64 n;
        assert_true(hist_bucket(h, i, &lo, &hi, &n));
        assert_int_equal(lo, expect_lo);
        assert_int_equal((guint64)(hi - lo + 1), n); /* one each */
        assert_true(hi - lo + 1 <= MAX(1, lo / 128));
        expect_lo = hi + 1;
        total += n;
    }
    assert_int_equal(expect_lo, 1 << 20);
    assert_int_equal(total, 1 << 20);
    assert_false(hist_bucket(h, nb, NULL, NULL, NULL));
}

static void test_hist_merge_equals_recording_all_into_one(void **state)
{
    Rng r;
    rng_init_named(&r, 5, "merge");
    Dist a = dist_lognormal(SIM_MS, 20 * SIM_MS);
    Dist b = dist_exponential(50 * SIM_US);
    g_autoptr(Hist) ha = hist_new();
    g_autoptr(Hist) hb = hist_new();
    g_autoptr(Hist) all = hist_new();
    for (int i = 0; i < 100000; i++) {
        SimTime x = dist_sample(&a, &r);
        SimTime y = dist_sample(&b, &r);
        hist_record(ha, x);
        hist_record(all, x);
        hist_record_n(hb, y, 3);
        hist_record_n(all, y, 3);
    }
    hist_merge(ha, hb);
    g_autofree char *merged = hist_serialize(ha);
    g_autofree char *direct = hist_serialize(all);
    assert_string_equal(merged, direct);
    for (double p = 0.0; p <= 100.0; p += 0.5) {
        assert_int_equal(hist_percentile(ha, p), hist_percentile(all, p));
    }
    assert_true(hist_mean(ha) == hist_mean(all));
    assert_int_equal(hist_n_buckets(ha), hist_n_buckets(all));

    /* Merging an empty one changes nothing; into an empty one copies. */
    g_autoptr(Hist) empty = hist_new();
    hist_merge(ha, empty);
    g_autofree char *after = hist_serialize(ha);
    assert_string_equal(after, direct);
    hist_merge(empty, all);
    g_autofree char *copy = hist_serialize(empty);
    assert_string_equal(copy, direct);
}

static void test_hist_reset_empties(void **state)
{
    g_autoptr(Hist) h = hist_new();
    for (int i = 0; i < 1000; i++) {
        hist_record(h, i * 1000);
    }
    hist_reset(h);
    g_autoptr(Hist) fresh = hist_new();
    g_autofree char *a = hist_serialize(h);
    g_autofree char *b = hist_serialize(fresh);
    assert_string_equal(a, b);
    assert_int_equal(hist_n_buckets(h), 0);
    hist_record(h, 7);
    assert_int_equal(hist_min(h), 7);
    assert_int_equal(hist_max(h), 7);
}

static void test_hist_serialize_round_trip_is_exact(void **state)
{
    Rng r;
    rng_init_named(&r, 9, "serialize");
    Dist d = dist_lognormal(2 * SIM_MS, 200 * SIM_MS);
    g_autoptr(Hist) h = hist_new();
    for (int i = 0; i < 50000; i++) {
        hist_record(h, dist_sample(&d, &r));
    }
    hist_record_n(h, G_MAXINT64, 3); /* sum beyond 64 bits */
    g_autofree char *text = hist_serialize(h);
    g_autoptr(GError) error = NULL;
    g_autoptr(Hist) back = hist_deserialize(text, &error);
    assert_null(error);
    assert_non_null(back);
    g_autofree char *again = hist_serialize(back);
    assert_string_equal(again, text);
    assert_int_equal(hist_count(back), hist_count(h));
    assert_int_equal(hist_min(back), hist_min(h));
    assert_int_equal(hist_max(back), hist_max(h));
    assert_true(hist_mean(back) == hist_mean(h));
    assert_int_equal(hist_n_buckets(back), hist_n_buckets(h));
    for (double p = 0.0; p <= 100.0; p += 0.1) {
        assert_int_equal(hist_percentile(back, p), hist_percentile(h, p));
    }

    g_autoptr(Hist) empty = hist_new();
    g_autofree char *etext = hist_serialize(empty);
    assert_string_equal(etext, "v1 0 0 0 0");
    g_autoptr(Hist) eback = hist_deserialize(etext, NULL);
    assert_non_null(eback);
    assert_int_equal(hist_count(eback), 0);

    g_autoptr(Hist) small = hist_new();
    hist_record(small, 3);
    hist_record(small, 3);
    hist_record(small, 1000);
    g_autofree char *stext = hist_serialize(small);
    /* 1000 = 0b1111101000: row 3, sub 1000 >> 2 - 128 = 122. */
    assert_string_equal(stext, "v1 3 1000 1006 3 3:2,506:1");
}

static void test_hist_deserialize_rejects_inconsistent_text(void **state)
{
    static const char *const bad[] = {
        "",
        "v1",
        "v2 0 0 0 0",
        "v1 0 0 0 1",               /* count without buckets */
        "v1 3 3 3 1 3:2",           /* counts do not add up */
        "v1 3 3 3 1 4:1",           /* min not in the first bucket */
        "v1 3 5 8 2 3:1,3:1",       /* indexes not increasing */
        "v1 3 5 8 2 5:1,3:1",       /* indexes not increasing */
        "v1 3 5 99 2 3:1,5:1",      /* sum above max * count */
        "v1 3 5 8 2 3:1,5:0",       /* empty bucket listed */
        "v1 3 5 8 2 3:1,5",         /* no colon */
        "v1 3 5 8 2 3:1,99999:1",   /* index out of range */
        "v1 -3 5 8 2 3:1,5:1",      /* negative */
        "v1 3 5 8 2 3:1,5:1 extra", /* trailing field */
        "v1 3 5 8 2 ",              /* trailing space, no buckets */
        "v1 3 5 8 2 3:1,,5:1",      /* empty cell */
        "v1 3 5 8x 2 3:1,5:1",      /* junk in a number */
        "v1 0 0 340282366920938463463374607431768211456 0", /* > 2^128 */
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(Hist) h = hist_deserialize(bad[i], &error);
        if (h != NULL) {
            print_error("accepted \"%s\"\n", bad[i]);
        }
        assert_null(h);
        assert_true(g_error_matches(error, HIST_ERROR, HIST_ERROR_PARSE));
        assert_non_null(g_strstr_len(error->message, -1, "invalid histogram"));
    }
    /* A valid one for contrast. */
    g_autoptr(Hist) ok = hist_deserialize("v1 3 5 8 2 3:1,5:1", NULL);
    assert_non_null(ok);
    assert_int_equal(hist_percentile(ok, 50.0), 3);
}

/* hist_record_each() leaves each histogram as hist_record() into each
 * would, value by value (serialized: every bucket, count, sum, min, max). */
static void test_hist_record_each_is_record_into_each(void **state)
{
    (void)state;
    Hist *each[3] = { hist_new(), hist_new(), hist_new() };
    Hist *one[3] = { hist_new(), hist_new(), hist_new() };
    Rng r;
    rng_init(&r, 3, 9);
    for (guint i = 0; i < 20000; i++) {
        gint64 v = (gint64)(rng_u32(&r) >> (rng_u32(&r) % 32)) - 5;
        guint n = 1 + i % 3; /* into the first one, two or three */
        hist_record_each(each, n, v);
        for (guint k = 0; k < n; k++) {
            hist_record(one[k], v);
        }
    }
    for (guint k = 0; k < 3; k++) {
        g_autofree char *a = hist_serialize(each[k]);
        g_autofree char *b = hist_serialize(one[k]);
        assert_string_equal(a, b);
        assert_true(hist_count(each[k]) > 0);
        hist_free(each[k]);
        hist_free(one[k]);
    }
    hist_record_each(NULL, 0, 7); /* nothing to record into */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_percentiles_within_1pct_of_exact),
        cmocka_unit_test(test_hist_empty),
        cmocka_unit_test(test_hist_record_each_is_record_into_each),
        cmocka_unit_test(test_hist_edges_small_negative_huge),
        cmocka_unit_test(test_hist_buckets_contain_their_values),
        cmocka_unit_test(test_hist_merge_equals_recording_all_into_one),
        cmocka_unit_test(test_hist_reset_empties),
        cmocka_unit_test(test_hist_serialize_round_trip_is_exact),
        cmocka_unit_test(test_hist_deserialize_rejects_inconsistent_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
