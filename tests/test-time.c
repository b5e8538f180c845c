/* test-time.c: sim/time.h: the duration table (Go's ParseDuration syntax,
 * exact fractions, overflow, errors), printing, round trips and rates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

#include "sim/rng.h"
#include "sim/time.h"

typedef struct {
    const char *text; /* input */
    SimTime want;     /* expected value */
} ParseCase;

static void test_time_parse_valid_table(void **state)
{
    static const ParseCase cases[] = {
        { "250ms", 250 * SIM_MS },
        { "2s", 2 * SIM_S },
        { "1m", SIM_MIN },
        { "300us", 300 * SIM_US },
        { "300\xc2\xb5s", 300 * SIM_US }, /* micro sign */
        { "300\xce\xbcs", 300 * SIM_US }, /* greek mu */
        { "1.5s", 1500 * SIM_MS },
        { "100ns", 100 },
        { "1h", 60 * SIM_MIN },
        { "2m30s", 150 * SIM_S },
        { "1h2m3.5s", 3723500 * SIM_MS },
        { "0", 0 },
        { "0s", 0 },
        { "+0", 0 },
        { "+5ms", 5 * SIM_MS },
        /* Exact decimal fractions, no binary floating point on the way. */
        { "0.1s", 100000000 },
        { "0.3s", 300000000 },
        { "1.000000001s", 1000000001 },
        { "2.5ms", 2500 * SIM_US },
        { ".5s", 500 * SIM_MS },
        { "5.s", 5 * SIM_S },
        { "1.5h", 90 * SIM_MIN },
        { "0.0000001h", 360000 },
        /* Finer than a ns: nearest, halves up. */
        { "0.4ns", 0 },
        { "0.5ns", 1 },
        { "1.4999ns", 1 },
        { "0.0000000015s", 2 },
        /* 30 fraction digits: digits past the 18th are ignored. */
        { "1.000000000000000000999999999999s", SIM_S },
        /* The largest value, and in another spelling. */
        { "9223372036854775807ns", SIM_TIME_MAX },
        { "2562047h47m16.854775807s", SIM_TIME_MAX },
        { "0009s", 9 * SIM_S },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        SimTime got = -1;
        char *err = NULL;
        gboolean ok = sim_time_parse(cases[i].text, &got, &err);
        if (!ok || got != cases[i].want) {
            print_error("\"%s\": ok=%d got %" G_GINT64_FORMAT
                        " want %" G_GINT64_FORMAT " (%s)\n",
                        cases[i].text, ok, got, cases[i].want,
                        err != NULL ? err : "");
        }
        assert_true(ok);
        assert_null(err);
        assert_int_equal(got, cases[i].want);
    }
}

typedef struct {
    const char *text;  /* input */
    const char *error; /* expected message */
} ErrorCase;

static void test_time_parse_errors_name_the_problem(void **state)
{
    static const ErrorCase cases[] = {
        { "", "invalid duration \"\": expected a number with a unit (ns, "
              "us, ms, s, m, h), e.g. 250ms" },
        { "abc", "invalid duration \"abc\": expected a number with a unit "
                 "(ns, us, ms, s, m, h), e.g. 250ms" },
        { "5", "invalid duration \"5\": missing unit; expected a number "
               "with a unit (ns, us, ms, s, m, h), e.g. 250ms" },
        { "1s5", "invalid duration \"1s5\": missing unit; expected a number "
                 "with a unit (ns, us, ms, s, m, h), e.g. 250ms" },
        { "5sec", "invalid duration \"5sec\": unknown unit \"sec\"; expected "
                  "a number with a unit (ns, us, ms, s, m, h), e.g. 250ms" },
        { "-1s", "invalid duration \"-1s\": must not be negative" },
        { "-0", "invalid duration \"-0\": must not be negative" },
        { "9223372036854775808ns", "invalid duration "
                                   "\"9223372036854775808ns\": too large (at "
                                   "most 2562047h47m16.854775807s)" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        SimTime got = 42;
        g_autofree char *err = NULL;
        assert_false(sim_time_parse(cases[i].text, &got, &err));
        assert_int_equal(got, 42); /* untouched on failure */
        assert_non_null(err);
        assert_string_equal(err, cases[i].error);
    }
}

static void test_time_parse_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "s",
        ".s",
        ".",
        "1..5s",
        "1.2.3s",
        " 5s",
        "5s ",
        "5 s",
        "1e3s",
        "0x10s",
        "+",
        "++1s",
        "1S",
        "1MS",
        "5m-3s",
        "0.5",
        "00",
        /* Overflow in each place it can happen. */
        "2562048h",
        "2562047h47m16.854775808s",
        "99999999999999999999ns",
        "9223372036854775807ns1ns",
        "5124095576030431h",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        SimTime got = 42;
        char *err = NULL;
        gboolean ok = sim_time_parse(bad[i], &got, &err);
        if (ok) {
            print_error("accepted \"%s\" as %" G_GINT64_FORMAT "\n", bad[i],
                        got);
        }
        assert_false(ok);
        assert_non_null(err);
        assert_non_null(g_strstr_len(err, -1, "invalid duration \""));
        g_free(err);
    }
    /* err_msg may be NULL. */
    SimTime got;
    assert_false(sim_time_parse("bad", &got, NULL));
}

static void test_time_format_shortest_exact(void **state)
{
    static const struct {
        SimTime t;        /* input */
        const char *want; /* expected text */
    } cases[] = {
        { 0, "0s" },
        { 1, "1ns" },
        { 999, "999ns" },
        { 1000, "1us" },
        { 1500, "1.5us" },
        { 300000, "300us" },
        { 1001000, "1.001ms" },
        { 250000000, "250ms" },
        { 1500000000, "1.5s" },
        { 1000000001, "1.000000001s" },
        { 60 * SIM_S, "60s" },
        { 3600 * SIM_S, "3600s" },
        { -1500000, "-1.5ms" },
        { -1, "-1ns" },
        { SIM_TIME_MAX, "9223372036.854775807s" },
        { G_MININT64, "-9223372036.854775808s" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = sim_time_format(cases[i].t);
        assert_string_equal(got, cases[i].want);
    }
}

/* Every non-negative SimTime prints as text that parses back to itself. */
static void test_time_format_parse_round_trip(void **state)
{
    Rng r;
    rng_init_named(&r, 1, "test-time/round-trip");
    for (int i = 0; i < 100000; i++) {
        /* Mix magnitudes: a random number of random low bits. */
        guint bits = rng_below(&r, 64);
        guint64 raw = ((guint64)rng_u32(&r) << 32) | rng_u32(&r);
        SimTime t = (SimTime)(bits == 0 ? 0 : (raw >> (64 - bits)) >> 1);
        g_autofree char *text = sim_time_format(t);
        SimTime back = -1;
        assert_true(sim_time_parse(text, &back, NULL));
        assert_int_equal(back, t);
    }
}

static void test_time_to_ms(void **state)
{
    assert_true(sim_time_to_ms(250 * SIM_MS) == 250.0);
    assert_true(sim_time_to_ms(1500) == 0.0015);
    assert_true(sim_time_to_ms(0) == 0.0);
}

static void test_rate_parse_table(void **state)
{
    static const struct {
        const char *text; /* input */
        double want;      /* per second */
    } cases[] = {
        { "200/s", 200.0 }, { "10/m", 10.0 / 60.0 },
        { "0.5/s", 0.5 },   { "1000/h", 1000.0 / 3600.0 },
        { "1.25/s", 1.25 }, { ".5/s", 0.5 },
        { "007/s", 7.0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        double got = -1.0;
        char *err = NULL;
        assert_true(sim_rate_parse(cases[i].text, &got, &err));
        assert_null(err);
        assert_true(got == cases[i].want);
    }
}

static void test_rate_parse_errors(void **state)
{
    static const ErrorCase cases[] = {
        { "0/s", "invalid rate \"0/s\": must be greater than zero" },
        { "0.0/m", "invalid rate \"0.0/m\": must be greater than zero" },
        { "-1/s", "invalid rate \"-1/s\": must be greater than zero" },
        { "200", "invalid rate \"200\": expected NUMBER/UNIT with unit s, m "
                 "or h, e.g. 200/s" },
        { "200/x", "invalid rate \"200/x\": unknown unit \"x\"; expected "
                   "NUMBER/UNIT with unit s, m or h, e.g. 200/s" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        double got = 42.0;
        g_autofree char *err = NULL;
        assert_false(sim_rate_parse(cases[i].text, &got, &err));
        assert_true(got == 42.0);
        assert_string_equal(err, cases[i].error);
    }
    static const char *const bad[] = {
        "/s", "abc/s", "inf/s", "nan/s", "1e3/s", "0x10/s", "1.2.3/s",
        "1/", "1/ s",  " 1/s",  "1/s/s", "1/sec", ".",      "./s",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        double got;
        char *err = NULL;
        assert_false(sim_rate_parse(bad[i], &got, &err));
        assert_non_null(err);
        g_free(err);
    }
}

/* sim_time_llround() is llround(): halves away from zero, the largest
 * double below a half (which x + 0.5 would round up), exact integers,
 * the edges of its fast range and beyond, and a million drawn gaps. */
static void test_time_llround_is_llround(void **state)
{
    static const double xs[] = {
        0.0, -0.0, 0.25, 0.5, 0.49999999999999994, 1.5, 2.5,
        2.4999999999999996, 3.0, 1e9 / 3.0, 4503599627370495.5,
        4503599627370496.0, 9007199254740993.0, 0x1p62 - 1024.0, 0x1p62,
        0x1p62 + 2048.0, -0.5, -1.5, -2.4, -1e12,
    };
    static const gint64 want[] = {
        0, 0, 0, 1, 0, 2, 3, 2, 3, 333333333, G_GINT64_CONSTANT(4503599627370496),
        G_GINT64_CONSTANT(4503599627370496), G_GINT64_CONSTANT(9007199254740992),
        (G_GINT64_CONSTANT(1) << 62) - 1024, G_GINT64_CONSTANT(1) << 62,
        (G_GINT64_CONSTANT(1) << 62) + 2048, -1, -2, -2,
        G_GINT64_CONSTANT(-1000000000000),
    };
    G_STATIC_ASSERT(G_N_ELEMENTS(xs) == G_N_ELEMENTS(want));
    for (guint i = 0; i < G_N_ELEMENTS(xs); i++) {
        assert_int_equal(sim_time_llround(xs[i]), want[i]);
        assert_int_equal(sim_time_llround(xs[i]), llround(xs[i]));
    }
    Rng r;
    rng_init(&r, 7, 11);
    for (guint i = 0; i < 1000000; i++) {
        double u = rng_double(&r);
        double x = -log(1.0 - u) * (i % 2 ? 5555.555 : 1e9 / 180000.0);
        double y = (double)(i % 1000) + (i % 3 ? 0.5 : u);
        assert_int_equal(sim_time_llround(x), llround(x));
        assert_int_equal(sim_time_llround(y), llround(y));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse_valid_table),
        cmocka_unit_test(test_time_parse_errors_name_the_problem),
        cmocka_unit_test(test_time_parse_rejects_malformed),
        cmocka_unit_test(test_time_format_shortest_exact),
        cmocka_unit_test(test_time_format_parse_round_trip),
        cmocka_unit_test(test_time_to_ms),
        cmocka_unit_test(test_rate_parse_table),
        cmocka_unit_test(test_rate_parse_errors),
        cmocka_unit_test(test_time_llround_is_llround),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
