/* test-replications.c: models/results-state.c (the exact state round-trips,
 * merging equals recording into one), models/replications.h (pooled in
 * order, mean and Student-t interval) and the shard blocks of
 * sim/cli-shard.h. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "models/replications.h"
#include "models/runner.h"
#include "sim/cli-shard.h"
#include "sim/cli.h"

static char *json_text(JsonNode *n)
{
    return cli_json_text(n, TRUE);
}

static char *results_text(const Results *r)
{
    g_autoptr(JsonNode) n = results_to_json(r);
    return json_text(n);
}

static char *state_text(const Results *r)
{
    g_autoptr(JsonNode) n = results_state_to_json(r);
    return json_text(n);
}

/* Through text and back, as a shard file carries it. */
static Results *round_trip(const Results *r)
{
    g_autofree char *text = state_text(r);
    g_autoptr(JsonParser) p = json_parser_new();
    assert_true(json_parser_load_from_data(p, text, -1, NULL));
    GError *error = NULL;
    Results *back = results_state_from_json(json_parser_get_root(p), &error);
    if (back == NULL) {
        fail_msg("%s", error->message);
    }
    return back;
}

/* An outcome of each kind, spread over @n requests from second @t0. */
static void record_mix(Results *r, guint n, guint t0, gint64 lat_scale)
{
    static const char *const routes[] = { "default/a http[0]",
                                          "default/b http[1]" };
    for (guint i = 0; i < n; i++) {
        SimTime at = (SimTime)(t0 + i % 7) * SIM_S + i * SIM_MS;
        results_sent(r, at);
        RequestOutcome o = {
            .route = g_intern_string(routes[i % 2]),
            .cluster = g_intern_string("outbound|80||a.default.svc"),
            .pod = g_intern_string(i % 3 ? "default/a-0" : "default/a-1"),
            .node = g_intern_string(i % 2 ? "worker-1" : "worker-2"),
            .gateway_pod = g_intern_string("istio-system/gw-0"),
            .traffic = g_intern_string("browsers"),
            .sent = at,
            .done = at + (SimTime)(i % 13 + 1) * lat_scale,
            .flags = "-",
        };
        for (guint p = 0; p < PHASE_N; p++) {
            o.phase[p] = (SimTime)(p + 1) * 1000 + i;
        }
        switch (i % 5) {
        case 0:
        case 1:
            o.kind = OUTCOME_RESPONSE;
            o.status = 200;
            break;
        case 2:
            o.kind = OUTCOME_RESPONSE;
            o.status = 503;
            o.from_gateway = TRUE;
            o.flags = i % 2 ? "UF" : "UH";
            break;
        case 3:
            o.kind = OUTCOME_CONNECTION;
            break;
        default:
            o.kind = OUTCOME_FAILURE;
            o.step = 3 + i % 3;
            o.reason = (FailReason)(i % FAIL_N_REASONS);
            o.route = NULL;
            o.pod = NULL;
            break;
        }
        results_record(r, &o);
    }
}

static void test_state_round_trip_is_exact(void **state)
{
    (void)state;
    g_autoptr(Results) r = results_new("mix", 7);
    record_mix(r, 500, 0, SIM_MS);
    /* A gap: second 20 only has a failure, so no latency histogram. */
    results_sent(r, 20 * SIM_S);
    RequestOutcome f = { .kind = OUTCOME_FAILURE, .step = 2,
                         .reason = FAIL_TIMEOUT, .sent = 20 * SIM_S,
                         .done = 21 * SIM_S };
    results_record(r, &f);
    results_sent(r, 22 * SIM_S); /* in flight: the balance says so */
    results_event(r, 2 * SIM_S, "node-down worker-3");
    results_event(r, 3 * SIM_S + 1, "quoted \"text\"\nand a newline");
    for (guint i = 0; i < 25; i++) {
        results_bad_line(r, "trace.log", i + 1);
    }
    g_autoptr(Results) back = round_trip(r);
    g_autofree char *a = results_text(r);
    g_autofree char *b = results_text(back);
    assert_string_equal(a, b);
    g_autofree char *sa = state_text(r);
    g_autofree char *sb = state_text(back);
    assert_string_equal(sa, sb);
    assert_int_equal(results_n_in_flight(back), 1);
    assert_int_equal(results_count_failures(back, 2, FAIL_TIMEOUT), 1);
    assert_int_equal(results_count_status(back, 503),
                     results_count_status(r, 503));
}

/* A real run (failures, retries, events) round-trips too. */
static void test_state_round_trip_of_a_run(void **state)
{
    (void)state;
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(
        src != NULL ? src : ".", "scenarios/lessons/pod-crash-no-retries.yaml",
        NULL);
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load(path, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    g_autoptr(Runner) run = runner_new(s, 3, &error);
    assert_non_null(run);
    assert_true(runner_run(run, NULL, NULL));
    const Results *r = runner_world(run)->results;
    assert_true(results_count_status(r, 503) > 0);
    g_autoptr(Results) back = round_trip(r);
    g_autofree char *a = results_text(r);
    g_autofree char *b = results_text(back);
    assert_string_equal(a, b);
}

static JsonObject *obj(JsonNode *n)
{
    return json_node_get_object(n);
}

/* Recording goes on after a merge: the second results_record() found
 * last (a memo into the seconds) must not outlive the merge that grows
 * them, nor a load that replaces them. */
static void test_record_after_merge_or_load(void **state)
{
    (void)state;
    g_autoptr(Results) a = results_new("mix", 1);
    g_autoptr(Results) b = results_new("mix", 2);
    g_autoptr(Results) all = results_new("mix", 1);
    record_mix(a, 300, 0, SIM_MS);
    record_mix(all, 300, 0, SIM_MS);
    results_sent(a, 5 * SIM_S); /* the memo: second 5 */
    results_sent(all, 5 * SIM_S);
    record_mix(b, 400, 4000, SIM_MS); /* a's seconds grow, and move */
    record_mix(all, 400, 4000, SIM_MS);
    results_merge(a, b);
    results_sent(a, 5 * SIM_S + 1); /* second 5 again */
    results_sent(all, 5 * SIM_S + 1);
    g_autoptr(Results) back = round_trip(a);
    results_sent(back, 5 * SIM_S + 2);
    results_sent(all, 5 * SIM_S + 2);
    record_mix(back, 100, 3, SIM_MS);
    record_mix(all, 100, 3, SIM_MS);
    g_autofree char *got = results_text(back);
    g_autofree char *want = results_text(all);
    assert_string_equal(got, want);
}

static void test_merge_equals_recording_into_one(void **state)
{
    (void)state;
    g_autoptr(Results) a = results_new("mix", 1);
    g_autoptr(Results) b = results_new("mix", 2);
    g_autoptr(Results) all = results_new("mix", 1);
    /* b runs longer (its series has more seconds) and slower. */
    record_mix(a, 300, 0, SIM_MS);
    record_mix(b, 400, 5, 3 * SIM_MS);
    record_mix(all, 300, 0, SIM_MS);
    record_mix(all, 400, 5, 3 * SIM_MS);
    /* The timeline: the failure both saw once, each one's own in order. */
    results_event(a, 1 * SIM_S, "node-down worker-3");
    results_event(a, 5 * SIM_S, "only in a");
    results_event(b, 1 * SIM_S, "node-down worker-3");
    results_event(b, 3 * SIM_S, "only in b");
    results_event(all, 1 * SIM_S, "node-down worker-3");
    results_event(all, 3 * SIM_S, "only in b");
    results_event(all, 5 * SIM_S, "only in a");
    results_bad_line(a, "t.log", 1);
    results_bad_line(a, "t.log", 2);
    results_bad_line(b, "t.log", 2);
    results_bad_line(b, "t.log", 3);

    g_autoptr(Results) a2 = round_trip(a);
    g_autoptr(Results) b2 = round_trip(b);
    results_merge(a2, b2);
    g_autoptr(JsonNode) got = results_to_json(a2);
    g_autoptr(JsonNode) want = results_to_json(all);
    /* Skipped lines: counts add up, examples are the union. */
    JsonObject *sk = json_object_get_object_member(obj(got),
                                                   "trace_lines_skipped");
    assert_int_equal(json_object_get_int_member(sk, "count"), 4);
    JsonArray *ex = json_object_get_array_member(sk, "examples");
    assert_int_equal(json_array_get_length(ex), 3);
    assert_string_equal(json_array_get_string_element(ex, 2), "t.log:3");
    json_object_remove_member(obj(got), "trace_lines_skipped");
    json_object_remove_member(obj(want), "trace_lines_skipped");
    g_autofree char *gt = json_text(got);
    g_autofree char *wt = json_text(want);
    assert_string_equal(gt, wt);
    assert_int_equal(hist_count(results_latency(a2)),
                     hist_count(results_latency(all)));
}

/* The latency of all outcomes is made from the seconds' histograms when
 * asked (results__latency()): asked between batches of outcomes, after
 * none, and through merges of stale and fresh results, it equals a
 * histogram that recorded every timed outcome itself. */
static void expect_latency(const Results *r, const Hist *want)
{
    g_autofree char *got_text = hist_serialize(results_latency(r));
    g_autofree char *want_text = hist_serialize(want);
    assert_string_equal(got_text, want_text);
}

static void record_timed(Results *r, Hist *want, SimTime at, SimTime lat,
                         OutcomeKind kind)
{
    results_sent(r, at);
    RequestOutcome o = { .kind = kind, .status = 200, .flags = "-",
                         .traffic = g_intern_string("browsers"),
                         .sent = at, .done = at + lat, .step = 4 };
    results_record(r, &o);
    if (kind != OUTCOME_FAILURE) {
        hist_record(want, lat);
    }
}

static void test_latency_made_from_the_seconds(void **state)
{
    (void)state;
    g_autoptr(Hist) want = hist_new();
    g_autoptr(Results) r = results_new("lat", 1);
    expect_latency(r, want);
    assert_int_equal(hist_count(results_latency(r)), 0);
    record_timed(r, want, 0, 5 * SIM_MS, OUTCOME_RESPONSE);
    record_timed(r, want, 3 * SIM_S + 7, 2 * SIM_MS, OUTCOME_CONNECTION);
    record_timed(r, want, SIM_S, 9 * SIM_S, OUTCOME_FAILURE);
    expect_latency(r, want);
    assert_int_equal(hist_count(results_latency(r)), 2);
    assert_int_equal(hist_min(results_latency(r)), 2 * SIM_MS);
    /* Asked again with nothing new; then more, one in an earlier
     * second than the last. */
    expect_latency(r, want);
    record_timed(r, want, 2 * SIM_S, 1, OUTCOME_RESPONSE);
    record_timed(r, want, 9 * SIM_S, 40 * SIM_S, OUTCOME_RESPONSE);
    expect_latency(r, want);
    assert_int_equal(hist_max(results_latency(r)), 40 * SIM_S);
    assert_int_equal(hist_min(results_latency(r)), 1);
    /* The summary and results.json read it too. */
    g_autofree char *sum = results_summary(r);
    assert_non_null(strstr(sum, "latency (ms): p50"));

    /* Merges: a stale destination, a stale source, a fresh one. */
    g_autoptr(Hist) want_b = hist_new();
    g_autoptr(Results) b = results_new("lat", 1);
    record_timed(b, want_b, 4 * SIM_S, 3 * SIM_MS, OUTCOME_RESPONSE);
    record_timed(r, want, 5 * SIM_S, 7 * SIM_MS, OUTCOME_RESPONSE);
    results_merge(r, b); /* both stale */
    hist_merge(want, want_b);
    expect_latency(r, want);
    expect_latency(b, want_b);
    record_timed(b, want_b, 6 * SIM_S, 11 * SIM_MS, OUTCOME_CONNECTION);
    hist_merge(want, want_b);
    results_merge(r, b); /* fresh destination, stale source */
    expect_latency(r, want);
    /* Through a state and back, then recording on. */
    g_autoptr(Results) back = round_trip(r);
    expect_latency(back, want);
    record_timed(back, want, 7 * SIM_S, 13 * SIM_MS, OUTCOME_RESPONSE);
    expect_latency(back, want);
}

static Results *state_from_text(const char *text, GError **error)
{
    g_autoptr(JsonParser) p = json_parser_new();
    assert_true(json_parser_load_from_data(p, text, -1, NULL));
    return results_state_from_json(json_parser_get_root(p), error);
}

static void test_state_rejects_what_it_did_not_write(void **state)
{
    (void)state;
    g_autoptr(Results) r = results_new("mix", 1);
    record_mix(r, 50, 0, SIM_MS);
    g_autofree char *good = state_text(r);
    static const struct {
        const char *from, *to, *says;
    } cases[] = {
        { "\"state\" : 1", "\"state\" : 2", "version 2" },
        { "\"totals\" : [\n    50,", "\"totals\" : [\n    -50,", "totals[0]" },
        { "\"totals\" : [\n    50,", "\"totals\" : [\n    5,",
          "responses + connections + failures <= sent" },
        { "\"latency\" : \"v1 ", "\"latency\" : \"v2 ", "latency: invalid" },
        { "\"seconds\" : [", "\"secondz\" : [", "seconds: expected an array" },
        { "\"timeout\"", "\"slow\"", "failures[" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *at = strstr(good, cases[i].from);
        assert_non_null(at);
        g_autofree char *bad = g_strdup_printf(
            "%.*s%s%s", (int)(at - good), good, cases[i].to,
            at + strlen(cases[i].from));
        GError *error = NULL;
        g_autoptr(Results) back = state_from_text(bad, &error);
        assert_null(back);
        assert_non_null(error);
        if (strstr(error->message, cases[i].says) == NULL) {
            fail_msg("case %u: '%s' does not say '%s'", i, error->message,
                     cases[i].says);
        }
        g_error_free(error);
    }
}

static Results *with_sent(guint64 sent, guint64 failures)
{
    Results *r = results_new("set", 1);
    for (guint64 i = 0; i < sent; i++) {
        results_sent(r, 0);
        RequestOutcome o = { .kind = i < failures ? OUTCOME_FAILURE
                                                  : OUTCOME_RESPONSE,
                             .status = 200, .step = 3,
                             .reason = FAIL_TIMEOUT, .done = SIM_MS };
        results_record(r, &o);
    }
    return r;
}

static void test_replications_mean_and_interval(void **state)
{
    (void)state;
    g_autoptr(Replications) set = replications_new("set", 1);
    const guint64 sent[] = { 10, 20, 30 };
    for (guint i = 0; i < 3; i++) {
        g_autoptr(Results) r = with_sent(sent[i], i);
        replications_add(set, i, 1 + i, r);
    }
    assert_int_equal(results_n_sent(replications_pooled(set)), 60);
    g_autoptr(JsonNode) j = replications_to_json(set);
    JsonArray *reps = json_object_get_array_member(obj(j), "replications");
    assert_int_equal(json_array_get_length(reps), 3);
    JsonObject *r2 = json_array_get_object_element(reps, 2);
    assert_int_equal(json_object_get_int_member(r2, "seed"), 3);
    assert_int_equal(json_object_get_int_member(r2, "failures"), 2);
    JsonObject *across =
        json_object_get_object_member(obj(j), "across_replications");
    assert_int_equal(json_object_get_int_member(across, "n"), 3);
    JsonObject *s = json_object_get_object_member(across, "sent");
    assert_true(json_object_get_double_member(s, "mean") == 20.0);
    assert_true(json_object_get_double_member(s, "stddev") == 10.0);
    JsonArray *ci = json_object_get_array_member(s, "ci95");
    double half = 4.302652730 * 10.0 / sqrt(3.0);
    assert_true(fabs(json_array_get_double_element(ci, 0) - (20 - half)) < 1e-9);
    assert_true(fabs(json_array_get_double_element(ci, 1) - (20 + half)) < 1e-9);
    JsonObject *ratio = json_object_get_object_member(across, "failure_ratio");
    /* 0/10, 1/20, 2/30 */
    double want = (0.0 + 0.05 + 2.0 / 30.0) / 3.0;
    assert_true(fabs(json_object_get_double_member(ratio, "mean") - want) <
                1e-12);
}

/* One replication is a plain run's document, nothing added. */
static void test_one_replication_is_a_plain_run(void **state)
{
    (void)state;
    g_autoptr(Results) r = results_new("set", 5);
    record_mix(r, 100, 0, SIM_MS);
    results_event(r, SIM_S, "e");
    g_autoptr(Replications) set = replications_new("set", 5);
    replications_add(set, 0, 5, r);
    g_autoptr(JsonNode) j = replications_to_json(set);
    g_autofree char *got = json_text(j);
    g_autofree char *want = results_text(r);
    assert_string_equal(got, want);
}

static void test_t975_table_and_interpolation(void **state)
{
    (void)state;
    assert_true(replications_t975(1) == 12.706204736);
    assert_true(replications_t975(30) == 2.042272456);
    assert_true(fabs(replications_t975(40) - 2.021075390) < 1e-12);
    assert_true(fabs(replications_t975(120) - 1.979930405) < 1e-12);
    /* t(0.975, 50) = 2.008559112, t(0.975, 1000) = 1.962339081 */
    assert_true(fabs(replications_t975(50) / 2.008559112 - 1) < 3e-5);
    assert_true(fabs(replications_t975(1000) / 1.962339081 - 1) < 3e-5);
    for (guint df = 1; df < 5000; df++) {
        assert_true(replications_t975(df + 1) < replications_t975(df));
    }
}

static void test_shard_blocks_cover_each_replication_once(void **state)
{
    (void)state;
    for (guint r = 1; r <= 40; r++) {
        for (guint n = 1; n <= r; n++) {
            guint next = 0;
            for (guint k = 1; k <= n; k++) {
                guint first, count;
                shard_block(k, n, r, &first, &count);
                assert_int_equal(first, next);
                assert_true(count == r / n || count == r / n + 1);
                next = first + count;
            }
            assert_int_equal(next, r);
        }
    }
    guint first, count;
    shard_block(3, 8, 32, &first, &count);
    assert_int_equal(first, 8);
    assert_int_equal(count, 4);
}

static void test_shard_spec_parsing(void **state)
{
    (void)state;
    guint k, n;
    char *msg = NULL;
    assert_true(shard_parse_spec("3/8", &k, &n, &msg));
    assert_int_equal(k, 3);
    assert_int_equal(n, 8);
    static const char *const bad[] = { "0/2", "3/2", "1/0", "1", "1/2/3",
                                       "-1/2", "+1/2", "a/b", "",
                                       "1/99999999999" };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        assert_false(shard_parse_spec(bad[i], &k, &n, &msg));
        assert_non_null(msg);
        g_clear_pointer(&msg, g_free);
    }
}

/* results_record() remembers recent tallies per table by key address: a
 * run over more pods than it has slots (so entries are evicted and looked
 * up again) and back and forth between two adjacent interned names (which
 * once shared a slot) still counts every outcome to its own pod. */
static void test_record_counts_each_pod_through_the_memo(void **state)
{
    (void)state;
    g_autoptr(Results) r = results_new("memo", 1);
    enum { N_PODS = 200, ROUNDS = 3 };
    char name[32];
    for (guint round = 0; round < ROUNDS; round++) {
        for (guint i = 0; i < N_PODS; i++) {
            g_snprintf(name, sizeof name, "default/memo-%u", i);
            /* Pod i gets i % 4 + 1 outcomes per round, each followed by
             * one for "memo-a" or "memo-b" in turn. */
            for (guint k = 0; k <= i % 4; k++) {
                RequestOutcome o = {
                    .kind = OUTCOME_CONNECTION,
                    .pod = g_intern_string(name),
                    .sent = 0,
                    .done = 1000,
                };
                results_sent(r, 0);
                results_record(r, &o);
                o.pod = g_intern_string(k % 2 ? "default/memo-b"
                                              : "default/memo-a");
                results_sent(r, 0);
                results_record(r, &o);
            }
        }
    }
    guint64 total = 0;
    for (guint i = 0; i < N_PODS; i++) {
        g_snprintf(name, sizeof name, "default/memo-%u", i);
        assert_int_equal(results_count_pod(r, name), ROUNDS * (i % 4 + 1));
        total += ROUNDS * (i % 4 + 1);
    }
    /* k = 0, 2 go to a and k = 1, 3 to b: of i % 4 + 1 = 1, 2, 3, 4
     * outcomes, a gets 1, 1, 2, 2 and b 0, 1, 1, 2. */
    assert_int_equal(results_count_pod(r, "default/memo-a"),
                     ROUNDS * (N_PODS / 4) * (1 + 1 + 2 + 2));
    assert_int_equal(results_count_pod(r, "default/memo-b"),
                     ROUNDS * (N_PODS / 4) * (0 + 1 + 1 + 2));
    assert_int_equal(results_n_connections(r), 2 * total);
    assert_int_equal(hist_count(results_latency(r)), 2 * total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_round_trip_is_exact),
        cmocka_unit_test(test_record_counts_each_pod_through_the_memo),
        cmocka_unit_test(test_state_round_trip_of_a_run),
        cmocka_unit_test(test_merge_equals_recording_into_one),
        cmocka_unit_test(test_record_after_merge_or_load),
        cmocka_unit_test(test_latency_made_from_the_seconds),
        cmocka_unit_test(test_state_rejects_what_it_did_not_write),
        cmocka_unit_test(test_replications_mean_and_interval),
        cmocka_unit_test(test_one_replication_is_a_plain_run),
        cmocka_unit_test(test_t975_table_and_interpolation),
        cmocka_unit_test(test_shard_blocks_cover_each_replication_once),
        cmocka_unit_test(test_shard_spec_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
