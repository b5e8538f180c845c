/* test-lessons.c: runs the failure lessons and queueing scenarios through
 * the library (runner.h) and asserts the effect each one teaches, with the
 * tolerance stated next to each figure. */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "models/runner.h"
#include "sim/cli.h"

typedef struct {
    Scenario *s;     /* owned */
    Runner *r;       /* owned */
    JsonNode *json;  /* results.json, owned */
} Run;

static void run_clear(Run *run)
{
    json_node_unref(run->json);
    runner_free(run->r);
    scenario_free(run->s);
}

static void run_file(Run *run, const char *rel)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(src != NULL ? src : ".", rel, NULL);
    GError *error = NULL;
    run->s = scenario_load(path, &error);
    if (run->s == NULL) {
        fail_msg("%s", error->message);
    }
    run->r = runner_new(run->s, run->s->seed, &error);
    if (run->r == NULL) {
        fail_msg("%s", error->message);
    }
    assert_true(runner_run(run->r, NULL, NULL));
    run->json = results_to_json(runner_world(run->r)->results);
}

static void run_text(Run *run, const char *text)
{
    GError *error = NULL;
    run->s = scenario_load_string("queue.yaml", text, &error);
    if (run->s == NULL) {
        fail_msg("%s", error->message);
    }
    run->r = runner_new(run->s, run->s->seed, &error);
    assert_non_null(run->r);
    assert_true(runner_run(run->r, NULL, NULL));
    run->json = results_to_json(runner_world(run->r)->results);
}

static JsonObject *root(const Run *run)
{
    return json_node_get_object(run->json);
}

static gint64 series_int(const Run *run, guint t, const char *key,
                         const char *sub)
{
    JsonArray *series = json_object_get_array_member(root(run), "series");
    if (t >= json_array_get_length(series)) {
        return 0;
    }
    JsonObject *o = json_array_get_object_element(series, t);
    if (sub != NULL) {
        o = json_object_get_object_member(o, key);
        key = sub;
    }
    return json_object_get_int_member(o, key);
}

static double latency_ms(const Run *run, const char *p)
{
    JsonObject *l = json_object_get_object_member(root(run), "latency_ms");
    return json_object_get_double_member(l, p);
}

static gboolean has_event(const Run *run, const char *prefix)
{
    JsonArray *a = json_object_get_array_member(root(run), "events");
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);
        if (g_str_has_prefix(json_object_get_string_member(o, "event"), prefix)) {
            return TRUE;
        }
    }
    return FALSE;
}

/* Issue 4: failures start at the failure and end when the load balancer
 * has marked the node down: interval (2s) x unhealthyThreshold (3) after
 * it, within one interval. */
static void test_node_down_window_is_lb_detection(void **state)
{
    Run run = { 0 };
    run_file(&run, "scenarios/lessons/node-down.yaml");
    gint first = -1, last = -1;
    for (guint t = 0; t < 60; t++) {
        if (series_int(&run, t, "failures", "timeout") > 0) {
            if (first < 0) {
                first = (gint)t;
            }
            last = (gint)t;
        }
        assert_int_equal(series_int(&run, t, "failures", "refused"), 0);
        assert_int_equal(series_int(&run, t, "failures", "reset"), 0);
    }
    assert_int_equal(first, 20);
    assert_in_range(last, 20 + 6 - 2, 20 + 6 + 2);
    /* Every failure is a step-3 timeout: the SYN into the dead node. */
    Results *res = runner_world(run.r)->results;
    assert_int_equal(results_count_failures(res, 3, FAIL_TIMEOUT),
                     results_n_failures(res));
    /* About a third of the connections in the window (one of three
     * backends): 100/s x ~5s x 1/3 ~ 170, tolerance +-40%. */
    assert_in_range(results_n_failures(res), 100, 240);
    /* S-7: back after 20s, before the 40s grace period: its pods are never
     * marked NotReady. */
    assert_false(has_event(&run, "node worker-3 NotReady"));
    assert_false(has_event(&run, "endpoints: default/counter-2 not ready"));
    run_clear(&run);
}

/* S-7 the other way: a node down for longer than node-monitor-grace-period
 * (40s) has its pods marked NotReady at 20s + 40s, endpoints 1s later. */
static void test_node_grace_period_marks_pods_not_ready(void **state)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(src != NULL ? src : ".",
                                             "scenarios/lessons/node-down.yaml",
                                             NULL);
    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_autoptr(GString) y = g_string_new(text);
    assert_true(g_string_replace(y, "{at: 40s, node-up: worker-3}",
                                 "{at: 70s, node-up: worker-3}", 1) == 1);
    assert_true(g_string_replace(y, "duration: 60s", "duration: 80s", 1) == 1);
    Run run = { 0 };
    GError *error = NULL;
    run.s = scenario_load_string(path, y->str, &error);
    assert_non_null(run.s);
    run.r = runner_new(run.s, 1, &error);
    assert_true(runner_run(run.r, NULL, NULL));
    run.json = results_to_json(runner_world(run.r)->results);
    JsonArray *ev = json_object_get_array_member(root(&run), "events");
    gboolean marked = FALSE, withdrawn = FALSE;
    for (guint i = 0; i < json_array_get_length(ev); i++) {
        JsonObject *o = json_array_get_object_element(ev, i);
        const char *what = json_object_get_string_member(o, "event");
        double at = json_object_get_double_member(o, "at_s");
        if (strcmp(what, "node worker-3 NotReady (node-monitor-grace-period)") == 0) {
            assert_true(fabs(at - 60.0) < 1e-9);
            marked = TRUE;
        }
        if (strcmp(what, "endpoints: default/counter-2 not ready") == 0) {
            assert_true(fabs(at - 61.0) < 1e-9);
            withdrawn = TRUE;
        }
    }
    assert_true(marked && withdrawn);
    run_clear(&run);
}

static gint64 count_status(const Run *run, gint status, const char *origin)
{
    JsonArray *a = json_object_get_array_member(root(run), "responses");
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);
        if (json_object_get_int_member(o, "status") == status &&
            strcmp(json_object_get_string_member(o, "origin"), origin) == 0) {
            return json_object_get_int_member(o, "count");
        }
    }
    return 0;
}

/* Issue 5: with Istio's default retries (connect-failure, another host)
 * the crash costs only the requests the pod was serving: at most its
 * concurrency (8). */
static void test_pod_crash_default_retries_hide_it(void **state)
{
    Run run = { 0 };
    run_file(&run, "scenarios/lessons/pod-crash.yaml");
    Results *res = runner_world(run.r)->results;
    gint64 failed = count_status(&run, 503, "gateway");
    assert_in_range(failed, 0, 8);
    assert_int_equal(results_n_failures(res), 0);
    assert_int_equal(count_status(&run, 200, "app") + failed,
                     (gint64)results_n_sent(res));
    run_clear(&run);
}

/* Issue 5: without retries, the requests Envoy sends to the dead pod
 * before its endpoint is withdrawn (10s..15s) fail with 503 UF: at least a
 * third of them (one of three pods), at most 5/9 (LEAST_REQUEST's two
 * choices prefer the idle dead pod). Measured 0.44 at seed 1. */
static void test_pod_crash_no_retries_fails_a_third(void **state)
{
    Run run = { 0 };
    run_file(&run, "scenarios/lessons/pod-crash-no-retries.yaml");
    gint64 sent = 0, failed = 0;
    for (guint t = 10; t < 15; t++) {
        sent += series_int(&run, t, "sent", NULL);
        failed += series_int(&run, t, "5xx", NULL);
    }
    double share = (double)failed / (double)sent;
    if (share < 0.30 || share > 0.60) {
        fail_msg("share of 503 in the window: %.3f (%" G_GINT64_FORMAT
                 "/%" G_GINT64_FORMAT ")",
                 share, failed, sent);
    }
    JsonObject *flags = json_object_get_object_member(root(&run), "response_flags");
    assert_true(json_object_has_member(flags, "UF"));
    /* Nothing fails outside the window but what the pod was serving when
     * it died (sent in second 9: at most its concurrency, 503 UC). */
    for (guint t = 0; t < 30; t++) {
        if (t < 9 || t > 16) {
            assert_int_equal(series_int(&run, t, "5xx", NULL), 0);
        }
    }
    assert_in_range(series_int(&run, 9, "5xx", NULL), 0, 8);
    run_clear(&run);
}

/* Outlier detection (R4.4): without it p90 sits at Envoy's 10s connect
 * timeout (LEAST_REQUEST keeps choosing the dead, idle pod); with
 * consecutive5xxErrors 2 the pod is ejected and p90 drops below 100 ms. */
static void test_outlier_detection_ends_black_hole(void **state)
{
    Run plain = { 0 }, outlier = { 0 };
    run_file(&plain, "scenarios/lessons/node-down.yaml");
    run_file(&outlier, "scenarios/lessons/node-down-outlier.yaml");
    assert_true(latency_ms(&plain, "p90") > 9000.0);
    assert_true(latency_ms(&outlier, "p90") < 100.0);
    assert_true(has_event(&outlier, "outlier detection: default/counter-2 "
                                    "ejected"));
    assert_false(has_event(&plain, "outlier detection"));
    run_clear(&plain);
    run_clear(&outlier);
}

/* Circuit breaker (R4.3): beyond maxConnections + http1MaxPendingRequests
 * requests in flight Envoy answers 503 UO itself; the rest reach the app. */
static void test_circuit_breaker_overflows_with_uo(void **state)
{
    Run run = { 0 };
    run_file(&run, "scenarios/lessons/circuit-breaker.yaml");
    JsonObject *flags = json_object_get_object_member(root(&run), "response_flags");
    assert_true(json_object_has_member(flags, "UO"));
    gint64 uo = json_object_get_int_member(flags, "UO");
    assert_int_equal(uo, count_status(&run, 503, "gateway"));
    assert_true(uo > 20);
    assert_true(count_status(&run, 200, "app") > 500);
    run_clear(&run);
}

/* Issue 5: a gateway pod restart loses no request that started before the
 * drain: Envoy drains 5s, kube-proxy stops choosing the pod after 1s. */
static void test_gateway_restart_loses_nothing(void **state)
{
    Run run = { 0 };
    run_file(&run, "scenarios/lessons/gateway-restart.yaml");
    Results *res = runner_world(run.r)->results;
    assert_true(results_n_sent(res) > 5000);
    assert_int_equal(results_n_failures(res), 0);
    assert_int_equal(results_count_status(res, 200), results_n_sent(res));
    assert_true(has_event(&run, "endpoints: istio-system/"
                                "istio-ingressgateway-0 terminating"));
    assert_true(has_event(&run, "pod istio-system/istio-ingressgateway-0 "
                                "exited after its drain"));
    run_clear(&run);
}

/* With a 0.5s drain and a 2s endpoint update, connections DNATed to the
 * exited pod between 10.5s and 12s are refused at step 4, and only then:
 * about half of 200/s x 1.5s (two gateway pods), +-35%. */
static void test_gateway_restart_short_drain_refuses(void **state)
{
    Run run = { 0 };
    run_file(&run, "scenarios/lessons/gateway-restart-short-drain.yaml");
    Results *res = runner_world(run.r)->results;
    assert_int_equal(results_count_failures(res, 4, FAIL_REFUSED),
                     results_n_failures(res));
    assert_in_range(results_n_failures(res), 100, 200);
    for (guint t = 0; t < 30; t++) {
        if (t != 10 && t != 11) {
            assert_int_equal(series_int(&run, t, "failures", "refused"), 0);
        }
    }
    run_clear(&run);
}

/* apply/delete during a run (issue 5): the delete reaches the gateway
 * after pushDelay (100ms) and every request then gets 404 NR until the
 * re-apply is pushed at 20.1s. Seconds 10 and 20 are mixed. */
static void test_config_change_pushed_after_delay(void **state)
{
    Run run = { 0 };
    run_file(&run, "scenarios/lessons/config-change.yaml");
    for (guint t = 0; t < 30; t++) {
        gint64 sent = series_int(&run, t, "sent", NULL);
        gint64 nf = series_int(&run, t, "4xx", NULL);
        if (t < 10 || t > 20) {
            assert_int_equal(nf, 0);
        } else if (t > 10 && t < 20) {
            assert_int_equal(nf, sent);
        } else {
            assert_true(nf > 0 && nf < sent);
        }
    }
    JsonObject *flags = json_object_get_object_member(root(&run), "response_flags");
    assert_int_equal(json_object_get_int_member(flags, "NR"),
                     count_status(&run, 404, "gateway"));
    assert_true(has_event(&run, "configuration pushed to the gateway pods"));
    run_clear(&run);
}

/* Removing the credentialName Secret (R16): after the push every TLS
 * handshake fails at step 5; HTTP is untouched. */
static void test_secret_removed_fails_handshakes(void **state)
{
    Run run = { 0 };
    run_file(&run, "scenarios/lessons/secret-removed.yaml");
    Results *res = runner_world(run.r)->results;
    assert_int_equal(results_count_failures(res, 5, FAIL_TLS_HANDSHAKE),
                     results_n_failures(res));
    for (guint t = 0; t < 20; t++) {
        gint64 tls = series_int(&run, t, "failures", "tls-handshake");
        if (t < 10) {
            assert_int_equal(tls, 0);
        } else if (t > 10) {
            /* Half the requests are https: 50/s, +-40%. */
            assert_in_range(tls, 30, 70);
        }
        assert_true(series_int(&run, t, "2xx", NULL) > 30);
    }
    run_clear(&run);
}

/* The time of the first event that starts with @prefix, or -1. */
static double event_at(const Run *run, const char *prefix)
{
    JsonArray *a = json_object_get_array_member(root(run), "events");
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);
        if (g_str_has_prefix(json_object_get_string_member(o, "event"),
                             prefix)) {
            return json_object_get_double_member(o, "at_s");
        }
    }
    return -1.0;
}

static double pod_count(const Run *run, const char *pod)
{
    JsonObject *pods = json_object_get_object_member(root(run), "pods");
    return (double)json_object_get_int_member(
        json_object_get_object_member(pods, pod), "count");
}

/* Issue 5, readiness flaps (S-5): the probe fails from 10 s to 35 s; with
 * Kubernetes' defaults (period 10 s, 3 failures, 1 success, probes at
 * multiples of 10 s) the pod is NotReady at 30 s, its endpoint withdrawn
 * at 31 s, Ready at 40 s, back at 41 s. Nothing fails; counter-0 gets no
 * request for 10 s of 60: its share is (50/3)/60 = 0.278 (+-0.03). A flap
 * of 15 s (counter-1) is never seen. */
static void test_readiness_flap_moves_load(void **state)
{
    Run run = { 0 };
    run_file(&run, "scenarios/lessons/readiness-flap.yaml");
    Results *res = runner_world(run.r)->results;
    assert_int_equal(results_n_failures(res), 0);
    assert_int_equal(results_count_status(res, 200), results_n_sent(res));
    assert_true(event_at(&run, "pod default/counter-0 NotReady") == 30.0);
    assert_true(event_at(&run, "endpoints: default/counter-0 not ready") ==
                31.0);
    assert_true(event_at(&run, "pod default/counter-0 Ready") == 40.0);
    assert_true(event_at(&run, "endpoints: default/counter-0 ready") == 41.0);
    assert_true(event_at(&run, "readiness-flap default/counter-1") == 40.0);
    assert_false(has_event(&run, "pod default/counter-1 NotReady"));
    assert_false(has_event(&run, "endpoints: default/counter-1"));
    double share =
        pod_count(&run, "default/counter-0") / (double)results_n_sent(res);
    if (fabs(share - 50.0 / 3.0 / 60.0) > 0.03) {
        fail_msg("counter-0's share %.3f, expected 0.278", share);
    }
    run_clear(&run);
}

/* Documents the small scenarios below share: a catch-all HTTP Gateway on
 * port 80, and Service q (port 80 to 8080) with a VirtualService sending
 * every host there. */
#define GATEWAY_ALL_HTTP                                                     \
    "---\napiVersion: networking.istio.io/v1\nkind: Gateway\n"               \
    "metadata: {name: gw, namespace: istio-system}\n"                        \
    "spec:\n  selector: {istio: ingressgateway}\n  servers:\n"                \
    "  - port: {number: 80, name: http, protocol: HTTP}\n"                   \
    "    hosts: ['*']\n"
#define VIRTUAL_SERVICE_ALL_TO_Q                                             \
    "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"        \
    "metadata: {name: q}\nspec:\n  hosts: ['*']\n"                           \
    "  gateways: [istio-system/gw]\n"                                        \
    "  http: [{route: [{destination: {host: q}}]}]\n"
#define SERVICE_Q                                                            \
    "---\napiVersion: v1\nkind: Service\nmetadata: {name: q}\n"              \
    "spec: {selector: {app: q}, ports: [{port: 80, targetPort: 8080}]}\n"

/* The probe's timing comes from the container's readinessProbe: period
 * 2 s, failureThreshold 1, successThreshold 2. Fails at 3 s: the probe at
 * 4 s fails, NotReady at 4 s. The pod crashes at 5 s and restarts at 6 s
 * (startupTime 1 s) still NotReady, since its probe still fails. Passes at
 * 7 s: probes at 8 s and 10 s pass, Ready at 10 s, endpoint at 11 s. */
static void test_readiness_probe_timing_from_manifest(void **state)
{
    const char *y =
        "apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
        "  duration: 15s\n"
        "  workloads:\n    default/q: {startupTime: 1s}\n"
        "  traffic:\n  - arrival: {constant: {rate: 10/s}}\n"
        "    requests: [{url: 'http://q.example.com/'}]\n"
        "  failures:\n"
        "  - {at: 3s, readiness-fail: default/q-0}\n"
        "  - {at: 5s, pod-crash: default/q-0}\n"
        "  - {at: 7s, readiness-pass: default/q-0}\n"
        GATEWAY_ALL_HTTP
        VIRTUAL_SERVICE_ALL_TO_Q
        SERVICE_Q
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: q}\n"
        "spec:\n  replicas: 2\n  selector: {matchLabels: {app: q}}\n"
        "  template:\n    metadata: {labels: {app: q}}\n"
        "    spec:\n      containers:\n      - name: q\n        image: q\n"
        "        readinessProbe: {httpGet: {path: /ready, port: 8080},\n"
        "          periodSeconds: 2, failureThreshold: 1,\n"
        "          successThreshold: 2}\n";
    Run run = { 0 };
    run_text(&run, y);
    assert_true(event_at(&run, "pod default/q-0 NotReady") == 4.0);
    assert_true(event_at(&run, "endpoints: default/q-0 not ready") == 5.0);
    assert_true(event_at(&run, "pod default/q-0 running, readiness probe "
                               "failing") == 6.0);
    assert_false(has_event(&run, "pod default/q-0 ready"));
    assert_true(event_at(&run, "pod default/q-0 Ready (readiness probe "
                               "passed 2 times)") == 10.0);
    assert_true(event_at(&run, "endpoints: default/q-0 ready") == 11.0);
    /* NotReady, not dead: nothing fails but what the crash held. */
    Results *res = runner_world(run.r)->results;
    assert_int_equal(results_n_failures(res), 0);
    run_clear(&run);
}

/* A single pod behind a gateway that adds no time: an M/M/c station. */
static char *queue_scenario(guint pods, double rate, guint seconds)
{
    return g_strdup_printf(
        "apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
        "  seed: 7\n  duration: %us\n"
        "  latency: {clientToLoadBalancer: 0s, loadBalancerToNode: 0s,\n"
        "            nodeToNode: 0s, gateway: 0s, tlsHandshake: 0s}\n"
        "  workloads:\n    default/q:\n"
        "      serviceTime: {exponential: {mean: 10ms}}\n"
        "      concurrency: 1\n      queueLimit: 1000000\n"
        "  traffic:\n  - arrival: {poisson: {rate: %g/s}}\n"
        "    requests: [{url: 'http://q.example.com/'}]\n"
        GATEWAY_ALL_HTTP
        VIRTUAL_SERVICE_ALL_TO_Q
        SERVICE_Q
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: q}\n"
        "spec:\n  replicas: %u\n  selector: {matchLabels: {app: q}}\n"
        "  template:\n    metadata: {labels: {app: q}}\n"
        "    spec: {containers: [{name: q, image: q}]}\n",
        seconds, rate, pods);
}

/* M/M/1 at load 0.8 (lambda 80/s, mu 100/s): response time is exponential
 * with rate mu - lambda = 20/s: mean 50 ms, p99 ln(100)/20 = 230.3 ms.
 * Tolerance: mean +-6%, p99 +-10% (2000 s, 160k requests). */
static void test_mm1_mean_and_p99(void **state)
{
    g_autofree char *y = queue_scenario(1, 80, 2000);
    Run run = { 0 };
    run_text(&run, y);
    const Hist *h = results_latency(runner_world(run.r)->results);
    double mean_ms = hist_mean(h) / 1e6;
    double p99_ms = (double)hist_percentile(h, 99) / 1e6;
    if (fabs(mean_ms - 50.0) > 3.0 || fabs(p99_ms - 230.3) > 23.0) {
        fail_msg("M/M/1: mean %.2f ms (expect 50), p99 %.1f ms (expect 230.3)",
                 mean_ms, p99_ms);
    }
    run_clear(&run);
}

/* One generator against the q pods of queue_scenario()'s manifests (three,
 * concurrency 100), with @arrival as its arrival block, no hop latency. */
static char *steps_scenario(const char *arrival, guint seconds)
{
    g_autofree char *base = queue_scenario(3, 1, seconds);
    g_autoptr(GString) y = g_string_new(base);
    g_assert(g_string_replace(y, "  - arrival: {poisson: {rate: 1/s}}\n",
                              arrival, 1) == 1);
    /* Room for 1000/s: the queue is not what these tests are about. */
    g_assert(g_string_replace(y, "concurrency: 1\n", "concurrency: 100\n", 1) ==
             1);
    return g_string_free(g_steal_pointer(&y), FALSE);
}

/* Rate steps (issue 5): constant 100/s, 500/s from 5 s, a pause from 10 s,
 * 100/s again from 15 s. A constant generator starts its spacing at each
 * step, so every second sends exactly its rate: 100, 500, 0, 100. */
static void test_rate_steps_constant_exact(void **state)
{
    g_autofree char *y = steps_scenario(
        "  - arrival:\n      constant:\n        rate: 100/s\n"
        "        steps:\n        - {at: 5s, rate: 500/s}\n"
        "        - {at: 10s, rate: 0}\n        - {at: 15s, rate: 100/s}\n",
        20);
    Run run = { 0 };
    run_text(&run, y);
    for (guint t = 0; t < 20; t++) {
        gint64 want = t < 5 ? 100 : t < 10 ? 500 : t < 15 ? 0 : 100;
        gint64 got = series_int(&run, t, "sent", NULL);
        if (got != want) {
            fail_msg("second %u: %" G_GINT64_FORMAT
                     " sent, expected %" G_GINT64_FORMAT,
                     t, got, want);
        }
    }
    assert_int_equal(results_n_sent(runner_world(run.r)->results), 3500);
    run_clear(&run);
}

/* Poisson with a step from 100/s to 1000/s at 10 s, back at 20 s: each
 * window's count is within 4 standard deviations of rate x 10 s (1000 +-
 * 127, 10000 +- 400, 1000 +- 127). */
static void test_rate_steps_poisson_windows(void **state)
{
    g_autofree char *y = steps_scenario(
        "  - arrival:\n      poisson:\n        rate: 100/s\n"
        "        steps: [{at: 10s, rate: 1000/s}, {at: 20s, rate: 100/s}]\n",
        30);
    Run run = { 0 };
    run_text(&run, y);
    gint64 w[3] = { 0, 0, 0 };
    for (guint t = 0; t < 30; t++) {
        w[t / 10] += series_int(&run, t, "sent", NULL);
    }
    if (labs((long)(w[0] - 1000)) > 127 || labs((long)(w[1] - 10000)) > 400 ||
        labs((long)(w[2] - 1000)) > 127) {
        fail_msg("windows sent %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT,
                 w[0], w[1], w[2]);
    }
    run_clear(&run);
}

static gint64 gateway_pod_count(const Run *run, const char *pod)
{
    JsonObject *g = json_object_get_object_member(root(run), "gateway_pods");
    if (!json_object_has_member(g, pod)) {
        return 0;
    }
    return json_object_get_int_member(json_object_get_object_member(g, pod),
                                      "count");
}

/* Keep-alive (issue 5, K-24): clients keep the connection, and so the
 * gateway pod, they opened. After istio-ingressgateway-0 restarts at 10 s
 * its clients reconnect to -1 during the drain and stay there: -0 serves
 * about its half of the first 10 s (1000 of 12000, +-20%) and nothing
 * after; without keep-alive it gets its half of every second it is up.
 * Nothing is lost either way (Envoy's drain closes connections cleanly). */
static void test_keepalive_clients_stay_after_gateway_restart(void **state)
{
    Run ka = { 0 };
    run_file(&ka, "scenarios/lessons/keepalive-gateway-restart.yaml");
    Results *res = runner_world(ka.r)->results;
    assert_int_equal(results_n_failures(res), 0);
    gint64 g0 = gateway_pod_count(&ka, "istio-system/istio-ingressgateway-0");
    assert_in_range(g0, 800, 1200);
    /* 50 clients, each one connection most of the time. */
    assert_true(results_n_reused(res) > results_n_sent(res) * 98 / 100);

    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(
        src != NULL ? src : ".",
        "scenarios/lessons/keepalive-gateway-restart.yaml", NULL);
    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_autoptr(GString) y = g_string_new(text);
    assert_true(g_string_replace(y, "    keepAlive: true\n",
                                 "    keepAlive: false\n", 1) == 1);
    Run plain = { 0 };
    GError *error = NULL;
    plain.s = scenario_load_string(path, y->str, &error);
    assert_non_null(plain.s);
    plain.r = runner_new(plain.s, 1, &error);
    assert_true(runner_run(plain.r, NULL, NULL));
    plain.json = results_to_json(runner_world(plain.r)->results);
    gint64 p0 =
        gateway_pod_count(&plain, "istio-system/istio-ingressgateway-0");
    /* Up but for 11 s..21 s (terminating, then restarting): ~ 49/60 of
     * its half. */
    assert_in_range(p0, 4400, 5600);
    assert_int_equal(results_n_reused(runner_world(plain.r)->results), 0);
    run_clear(&ka);
    run_clear(&plain);
}

/* One client, a request every 100 ms for 10 s (100): with
 * maxRequestsPerConnection 5 it opens 20 connections, 80 requests reuse
 * one; with idleTimeout 50 ms no connection is ever reused; with 1 s all
 * but the first are. */
static void test_keepalive_connection_limits(void **state)
{
    const char *limits[] = { "{maxRequestsPerConnection: 5}",
                             "{idleTimeout: 50ms}", "{idleTimeout: 1s}" };
    const guint64 reused[] = { 80, 0, 99 };
    for (guint i = 0; i < G_N_ELEMENTS(limits); i++) {
        g_autofree char *arrival =
            g_strdup_printf("  - clients: 1\n    keepAlive: %s\n"
                            "    arrival: {constant: {rate: 10/s}}\n",
                            limits[i]);
        g_autofree char *base = queue_scenario(1, 1, 10);
        g_autoptr(GString) y = g_string_new(base);
        assert_true(g_string_replace(y, "  - arrival: {poisson: {rate: 1/s}}\n",
                                     arrival, 1) == 1);
        /* A constant 1 ms answer: the idle gaps are exactly 99 ms. */
        assert_true(
            g_string_replace(y, "{exponential: {mean: 10ms}}", "1ms", 1) == 1);
        Run run = { 0 };
        run_text(&run, y->str);
        Results *res = runner_world(run.r)->results;
        assert_int_equal(results_n_sent(res), 100);
        if (results_n_reused(res) != reused[i]) {
            fail_msg("keepAlive %s: %" G_GUINT64_FORMAT
                     " reused, expected %" G_GUINT64_FORMAT,
                     limits[i], results_n_reused(res), reused[i]);
        }
        run_clear(&run);
    }
}

/* TLS on a kept-alive connection: one handshake per connection (the 1 ms
 * tlsHandshake is paid by 10 of 100 requests: mean gateway phase 0.1 ms
 * with no other gateway time), and an established session survives the
 * removal of its Secret (R16 breaks only new handshakes): 5 clients keep
 * their connections, so after the push at 10 s nothing fails. */
static void test_keepalive_tls_once_and_past_secret_removal(void **state)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(
        src != NULL ? src : ".", "scenarios/lessons/secret-removed.yaml", NULL);
    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_autoptr(GString) y = g_string_new(text);
    assert_true(
        g_string_replace(
            y,
            "  - name: browsers\n    arrival: {poisson: {rate: 100/s}}\n"
            "    requests:\n    - {url: \"https://counter.example.com/\"}\n"
            "    - {url: \"http://counter.example.com/\"}\n",
            "  - name: browsers\n    clients: 5\n    keepAlive: true\n"
            "    arrival: {constant: {rate: 50/s}}\n"
            "    requests:\n    - {url: \"https://counter.example.com/\"}\n",
            1) == 1);
    assert_true(g_string_replace(y, "  include:",
                                 "  latency: {gateway: 0s, tlsHandshake: 1ms}\n"
                                 "  include:",
                                 1) == 1);
    Run run = { 0 };
    GError *error = NULL;
    run.s = scenario_load_string(path, y->str, &error);
    if (run.s == NULL) {
        fail_msg("%s", error->message);
    }
    run.r = runner_new(run.s, 1, &error);
    assert_true(runner_run(run.r, NULL, NULL));
    run.json = results_to_json(runner_world(run.r)->results);
    Results *res = runner_world(run.r)->results;
    assert_int_equal(results_n_sent(res), 1000);
    assert_int_equal(results_n_failures(res), 0);
    assert_int_equal(results_n_reused(res), 995);
    JsonObject *b = json_object_get_object_member(root(&run), "breakdown_ms");
    double gw = json_object_get_double_member(b, "gateway");
    if (fabs(gw - 0.005) > 1e-6) {
        fail_msg("gateway phase %.6f ms, expected 5 handshakes of 1 ms in "
                 "1000 requests",
                 gw);
    }
    run_clear(&run);
}

/* Erlang C: mean response time of M/M/c. */
static double mmc_mean(double lambda, double mu, guint c)
{
    double a = lambda / mu, rho = a / c, sum = 0, term = 1;
    for (guint k = 0; k < c; k++) {
        sum += term;
        term *= a / (k + 1);
    }
    double last = term / (1 - rho); /* a^c / c! / (1 - rho) */
    double pq = last / (sum + last);
    return pq / (c * mu - lambda) + 1 / mu;
}

/* c = 3 pods behind LEAST_REQUEST at load 0.8: between one shared queue
 * (M/M/3, 22.4 ms) and three independent random queues (M/M/1 each,
 * 50 ms); tolerance 5% on both bounds. */
static void test_mmc_least_request_between_bounds(void **state)
{
    g_autofree char *y = queue_scenario(3, 240, 1000);
    Run run = { 0 };
    run_text(&run, y);
    const Hist *h = results_latency(runner_world(run.r)->results);
    double mean_ms = hist_mean(h) / 1e6;
    double lo = mmc_mean(240, 100, 3) * 1e3, hi = 50.0;
    if (mean_ms < lo * 0.95 || mean_ms > hi * 1.05) {
        fail_msg("LEAST_REQUEST x3: mean %.2f ms, expected in [%.1f, %.1f]",
                 mean_ms, lo, hi);
    }
    run_clear(&run);
}

/* An app whose /flaky answers 503 and /slow takes 3s, behind one VS;
 * @spec_extra goes into the Scenario's spec, @route_extra under the
 * VirtualService's http route. */
static char *router_scenario_spec(const char *spec_extra,
                                  const char *route_extra)
{
    return g_strdup_printf(
        "apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
        "  workloads:\n    default/a:\n"
        "      responses:\n      - {pathPrefix: /flaky, status: 503}\n"
        "      - {pathPrefix: /slow, delay: 3s}\n"
        "%s"
        GATEWAY_ALL_HTTP
        "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        "metadata: {name: a}\nspec:\n  hosts: ['*']\n"
        "  gateways: [istio-system/gw]\n"
        "  http:\n  - route: [{destination: {host: a}}]\n%s"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
        "spec: {selector: {app: a}, ports: [{port: 80, targetPort: 8080}]}\n"
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n"
        "spec:\n  replicas: 3\n  selector: {matchLabels: {app: a}}\n"
        "  template:\n    metadata: {labels: {app: a}}\n"
        "    spec: {containers: [{name: a, image: a}]}\n",
        spec_extra, route_extra);
}

static char *router_scenario(const char *route_extra)
{
    return router_scenario_spec("", route_extra);
}

static void trace_url(const char *yaml, const char *url, TraceResult *res)
{
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load_string("router.yaml", yaml, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    TraceRequest req = { .url = url, .seed = -1 };
    assert_true(cli_trace_one(s, &req, res, &error));
    assert_true(res->ended);
}

/* R13: Istio's default retry_on has no status codes: an app 503 goes back
 * to the client after one attempt. retryOn 5xx retries it twice (three
 * attempts, each on another pod), and the client still gets the app's 503. */
static void test_retry_on_status_only_when_asked(void **state)
{
    TraceResult res;
    g_autofree char *plain = router_scenario("");
    trace_url(plain, "http://a.example.com/flaky", &res);
    gint64 attempts = 0;
    assert_int_equal(res.out.status, 503);
    assert_false(res.out.from_gateway);
    assert_true(trace_get_int(res.tr, "attempts", &attempts));
    assert_int_equal(attempts, 1);
    trace_result_clear(&res);

    g_autofree char *retry =
        router_scenario("    retries: {attempts: 2, retryOn: 5xx}\n");
    trace_url(retry, "http://a.example.com/flaky", &res);
    assert_int_equal(res.out.status, 503);
    assert_true(trace_get_int(res.tr, "attempts", &attempts));
    assert_int_equal(attempts, 3);
    /* The app's answer, flagged URX: the retries ran out (router.cc
     * onUpstreamHeaders, NoRetryLimitExceeded). */
    assert_false(res.out.from_gateway);
    assert_string_equal(res.out.flags, "URX");
    trace_result_clear(&res);
}

/* What the client saw, request by request. */
typedef struct {
    guint n;            /* outcomes seen */
    guint n_504;        /* 504 from the gateway */
    guint n_200;
    guint bad_flags;    /* a 504 whose flags were not @want_flags */
    SimTime min_504;    /* shortest and longest 504 */
    SimTime max_504;
    const char *want_flags;
} SeenTimeouts;

static void on_done_timeouts(const Request *r, gpointer data)
{
    SeenTimeouts *s = data;
    const RequestOutcome *o = &r->out;
    s->n++;
    if (o->kind == OUTCOME_RESPONSE && o->status == 200) {
        s->n_200++;
    }
    if (o->kind != OUTCOME_RESPONSE || o->status != 504) {
        return;
    }
    SimTime took = o->done - o->sent;
    s->min_504 = s->n_504 == 0 ? took : MIN(s->min_504, took);
    s->max_504 = MAX(s->max_504, took);
    s->n_504++;
    if (!o->from_gateway || strcmp(o->flags, s->want_flags) != 0) {
        s->bad_flags++;
    }
}

/* Runs @yaml to its end with @seen collecting outcomes; every request
 * must have ended (runner_run's balance). */
static Runner *run_yaml_seen(const char *yaml, Scenario **s_out, SeenTimeouts *seen)
{
    GError *error = NULL;
    Scenario *s = scenario_load_string("timeouts.yaml", yaml, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    Runner *run = runner_new(s, s->seed, &error);
    assert_non_null(run);
    path_set_done(runner_path(run), on_done_timeouts, seen);
    assert_true(runner_run(run, NULL, NULL));
    *s_out = s;
    return run;
}

/* The route timeout (1s) fires while Envoy still waits for a connect to a
 * pod on a dead node (connect_timeout 10s, R4.2): the client gets 504 UT
 * at 1s; the pending connect attempt, which still points at the request,
 * must find it alive and let it go. Traffic runs 15s, past the 10s
 * connect timeout, so that such a stale event would meet a recycled
 * struct (it used to retry it and free it twice, then crash). Every
 * request ends: 200 from a live pod or 504 UT after 1s (+ at most 20ms of
 * hops). */
static void test_route_timeout_while_connecting(void **state)
{
    g_autofree char *y = router_scenario_spec(
        "  seed: 3\n  duration: 15s\n"
        "  loadBalancer: {backends: [worker-1]}\n"
        "  traffic:\n  - arrival: {poisson: {rate: 20/s}}\n"
        "    requests: [{url: 'http://a.example.com/'}]\n"
        "  failures: [{at: 1s, node-down: worker-3}]\n",
        "    timeout: 1s\n");
    SeenTimeouts seen = { .want_flags = "UT" };
    Scenario *s = NULL;
    Runner *run = run_yaml_seen(y, &s, &seen);
    const Results *res = runner_world(run)->results;
    assert_int_equal(seen.n, results_n_sent(res));
    assert_true(seen.n_504 > 0);
    assert_int_equal(seen.n_200 + seen.n_504, seen.n);
    assert_int_equal(seen.bad_flags, 0);
    assert_true(seen.min_504 >= SIM_S);
    assert_true(seen.max_504 < SIM_S + 20 * SIM_MS);
    runner_free(run);
    scenario_free(s);
}

/* R13: a route timeout of 1s answers 504 UT at the deadline, not when the
 * app (3s) is done: the client sees it after about 1s. */
static void test_route_timeout_answers_at_deadline(void **state)
{
    TraceResult res;
    g_autofree char *y = router_scenario("    timeout: 1s\n");
    trace_url(y, "http://a.example.com/slow", &res);
    assert_int_equal(res.out.status, 504);
    assert_string_equal(res.out.flags, "UT");
    assert_true(res.out.from_gateway);
    SimTime took = res.out.done - res.out.sent;
    assert_true(took >= 1 * SIM_S && took < 1 * SIM_S + 20 * SIM_MS);
    trace_result_clear(&res);
    /* A per-try timeout not shorter than the route's is not armed, and
     * the trace says so (one decision path: every decision its reason). */
    g_autofree char *y2 = router_scenario(
        "    timeout: 1s\n    retries: {attempts: 2, perTryTimeout: 2s}\n");
    trace_url(y2, "http://a.example.com/slow", &res);
    assert_int_equal(res.out.status, 504);
    gboolean said = FALSE;
    for (guint i = 0; i < trace_len(res.tr); i++) {
        const TraceStep *st = trace_step(res.tr, i);
        said = said || (st->decision != NULL &&
                        strstr(st->decision, "perTryTimeout 2s not armed") != NULL);
    }
    assert_true(said);
    trace_result_clear(&res);
}

/* A route timeout during the hop to the app pod (12 s between nodes,
 * timeout 10 s) counts only the part of the hop the client waited for:
 * the phases add up to what the client saw, for every pod it may pick. */
static void test_route_timeout_mid_hop_breakdown(void **state)
{
    g_autofree char *y = router_scenario_spec(
        "  latency: {nodeToNode: 12s}\n", "    timeout: 10s\n");
    guint n_504 = 0;
    for (guint seed = 1; seed <= 12; seed++) {
        GError *error = NULL;
        g_autoptr(Scenario) s = scenario_load_string("hop.yaml", y, &error);
        assert_non_null(s);
        TraceRequest req = { .url = "http://a.example.com/", .seed = seed };
        TraceResult res;
        assert_true(cli_trace_one(s, &req, &res, &error));
        /* 200: the pod it picked shares the gateway's node (no hop). */
        n_504 += res.out.status == 504;
        SimTime sum = 0;
        for (guint i = 0; i < PHASE_N; i++) {
            sum += res.out.phase[i];
        }
        assert_int_equal(sum, res.out.done - res.out.sent);
        trace_result_clear(&res);
    }
    assert_true(n_504 > 0);
}

/* R13, Envoy's per-try timeout with Istio's default retry_on (retries set
 * without retryOn): the timed-out attempt is reset and not retried, since
 * the default retry_on has no 5xx, gateway-error or reset: 504 UT after
 * perTryTimeout, one attempt. */
static void test_per_try_timeout_default_retry_on(void **state)
{
    TraceResult res;
    g_autofree char *y =
        router_scenario("    retries: {attempts: 2, perTryTimeout: 500ms}\n");
    trace_url(y, "http://a.example.com/slow", &res);
    assert_int_equal(res.out.status, 504);
    assert_string_equal(res.out.flags, "UT");
    assert_true(res.out.from_gateway);
    gint64 attempts = 0;
    assert_true(trace_get_int(res.tr, "attempts", &attempts));
    assert_int_equal(attempts, 1);
    SimTime took = res.out.done - res.out.sent;
    assert_true(took >= 500 * SIM_MS && took < 520 * SIM_MS);
    trace_result_clear(&res);
}

/* retryOn gateway-error covers a reset attempt: each timed-out attempt is
 * retried on another pod; after the third Envoy gives up with UT,URX.
 * Three attempts of 500 ms plus two jittered back-offs (< 25 and < 75 ms)
 * and the hops (< 20 ms). */
static void test_per_try_timeout_retried_then_urx(void **state)
{
    TraceResult res;
    g_autofree char *y =
        router_scenario("    retries: {attempts: 2, perTryTimeout: 500ms, "
                        "retryOn: gateway-error}\n");
    trace_url(y, "http://a.example.com/slow", &res);
    assert_int_equal(res.out.status, 504);
    assert_string_equal(res.out.flags, "UT,URX");
    gint64 attempts = 0;
    assert_true(trace_get_int(res.tr, "attempts", &attempts));
    assert_int_equal(attempts, 3);
    SimTime took = res.out.done - res.out.sent;
    if (took < 1500 * SIM_MS || took >= 1620 * SIM_MS) {
        fail_msg("took %" G_GINT64_FORMAT " ms", took / SIM_MS);
    }
    trace_result_clear(&res);
    /* A fast answer is not touched by the per-try timer. */
    trace_url(y, "http://a.example.com/", &res);
    assert_int_equal(res.out.status, 200);
    assert_true(trace_get_int(res.tr, "attempts", &attempts));
    assert_int_equal(attempts, 1);
    trace_result_clear(&res);
}

/* The route timeout bounds all attempts (1 s: the third 400 ms attempt
 * never ends), and a per-try timeout not shorter than the route timeout
 * is ignored (router.cc finalTimeout): one attempt, 504 UT at 1 s. */
static void test_route_timeout_bounds_per_try(void **state)
{
    TraceResult res;
    g_autofree char *y = router_scenario(
        "    timeout: 1s\n"
        "    retries: {attempts: 2, perTryTimeout: 400ms, retryOn: 5xx}\n");
    trace_url(y, "http://a.example.com/slow", &res);
    assert_int_equal(res.out.status, 504);
    assert_string_equal(res.out.flags, "UT");
    gint64 attempts = 0;
    assert_true(trace_get_int(res.tr, "attempts", &attempts));
    assert_int_equal(attempts, 3);
    SimTime took = res.out.done - res.out.sent;
    assert_true(took >= 1 * SIM_S && took < 1 * SIM_S + 20 * SIM_MS);
    trace_result_clear(&res);

    g_autofree char *longer = router_scenario(
        "    timeout: 1s\n"
        "    retries: {attempts: 2, perTryTimeout: 2s, retryOn: 5xx}\n");
    trace_url(longer, "http://a.example.com/slow", &res);
    assert_int_equal(res.out.status, 504);
    assert_string_equal(res.out.flags, "UT");
    assert_true(trace_get_int(res.tr, "attempts", &attempts));
    assert_int_equal(attempts, 1);
    took = res.out.done - res.out.sent;
    assert_true(took >= 1 * SIM_S && took < 1 * SIM_S + 20 * SIM_MS);
    trace_result_clear(&res);
}

/* retryOn 5xx also covers a failed connect (wouldRetryFromReset): a
 * VirtualService that lists only 5xx still retries around a crashed pod.
 * The crash at 1 s leaves pod a-0 refusing until endpointDelay (5 s)
 * withdraws it; with three attempts on distinct pods nothing fails. */
static void test_retry_on_5xx_covers_connect_failure(void **state)
{
    g_autofree char *vs =
        router_scenario("    retries: {attempts: 2, retryOn: 5xx}\n");
    g_autoptr(GString) y = g_string_new(vs);
    assert_true(
        g_string_replace(y, "spec:\n  workloads:",
                         "spec:\n  duration: 4s\n"
                         "  control: {endpointDelay: 5s}\n"
                         "  failures: [{at: 1s, pod-crash: default/a-0}]\n"
                         "  traffic:\n  - arrival: {poisson: {rate: 100/s}}\n"
                         "    requests: [{url: 'http://a.example.com/'}]\n"
                         "  workloads:",
                         1) == 1);
    Run run = { 0 };
    run_text(&run, y->str);
    Results *res = runner_world(run.r)->results;
    assert_true(results_n_sent(res) > 300);
    /* Only what a-0 held when it died (its concurrency, 16) may fail. */
    assert_in_range(count_status(&run, 503, "gateway"), 0, 16);
    JsonObject *flags =
        json_object_get_object_member(root(&run), "response_flags");
    assert_false(json_object_has_member(flags, "UF"));
    run_clear(&run);
}

/* A scenario for the connection-pool tests: one pod answering after a
 * constant 150 ms, constant arrivals 10/s for 2 s, no hop latency, and a
 * DestinationRule with one connection and @pending pending requests. */
static char *pool_scenario(guint pending)
{
    return g_strdup_printf(
        "apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
        "  duration: 2s\n"
        "  latency: {clientToLoadBalancer: 0s, loadBalancerToNode: 0s,\n"
        "            nodeToNode: 0s, gateway: 0s, tlsHandshake: 0s}\n"
        "  workloads:\n    default/q:\n"
        "      serviceTime: 150ms\n      concurrency: 10\n"
        "  traffic:\n  - arrival: {constant: {rate: 10/s}}\n"
        "    requests: [{url: 'http://q.example.com/'}]\n"
        GATEWAY_ALL_HTTP
        VIRTUAL_SERVICE_ALL_TO_Q
        "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        "metadata: {name: q}\nspec:\n  host: q\n  trafficPolicy:\n"
        "    connectionPool:\n      tcp: {maxConnections: 1}\n"
        "      http: {http1MaxPendingRequests: %u}\n"
        SERVICE_Q
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: q}\n"
        "spec:\n  replicas: 1\n  selector: {matchLabels: {app: q}}\n"
        "  template:\n    metadata: {labels: {app: q}}\n"
        "    spec: {containers: [{name: q, image: q}]}\n",
        pending);
}

/* R4.3: beyond maxConnections a request waits in Envoy's connection pool
 * for a free connection. One connection, a 150 ms answer, an arrival
 * every 100 ms: request k (from 0) starts at 150k ms, so its latency is
 * 150 + 50k ms; the mean of 20 is 625 ms, all of the wait in the gateway
 * phase (475 ms). Exact but for the 1 ns hops. */
static void test_pending_requests_wait_for_a_connection(void **state)
{
    g_autofree char *y = pool_scenario(1000);
    Run run = { 0 };
    run_text(&run, y);
    Results *res = runner_world(run.r)->results;
    assert_int_equal(results_n_sent(res), 20);
    assert_int_equal(results_count_status(res, 200), 20);
    double mean_ms = hist_mean(results_latency(res)) / 1e6;
    if (fabs(mean_ms - 625.0) > 0.5) {
        fail_msg("mean %.3f ms, expected 625", mean_ms);
    }
    JsonObject *b = json_object_get_object_member(root(&run), "breakdown_ms");
    double gw = json_object_get_double_member(b, "gateway");
    if (fabs(gw - 475.0) > 0.5) {
        fail_msg("gateway phase %.3f ms, expected 475", gw);
    }
    run_clear(&run);
}

/* The same with room for 2 pending requests: the queue grows by one every
 * 300 ms, so later arrivals overflow with 503 UO; every request is a 200
 * or a UO, and the pool never holds more than 1 + 2 (latency <= 450 ms
 * plus the 150 ms answer). */
static void test_pending_limit_overflows(void **state)
{
    g_autofree char *y = pool_scenario(2);
    Run run = { 0 };
    run_text(&run, y);
    Results *res = runner_world(run.r)->results;
    gint64 uo = count_status(&run, 503, "gateway");
    assert_true(uo > 0);
    assert_int_equal(uo + count_status(&run, 200, "app"), 20);
    JsonObject *flags =
        json_object_get_object_member(root(&run), "response_flags");
    assert_int_equal(json_object_get_int_member(flags, "UO"), uo);
    assert_true(hist_percentile(results_latency(res), 100) <=
                450 * SIM_MS + 1000);
    run_clear(&run);
}

/* A config push does not empty the circuit breaker: Envoy keeps the pool
 * of a cluster that is still there (upstream.c keys pools by cluster
 * name). Re-applying the unchanged VirtualService every 100 ms leaves
 * every count as in the run without pushes. */
static void test_config_push_keeps_the_pool(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("lessons-XXXXXX", NULL);
    assert_non_null(dir);
    g_autofree char *vs = g_build_filename(dir, "vs.yaml", NULL);
    assert_true(g_file_set_contents(vs, VIRTUAL_SERVICE_ALL_TO_Q + 4, -1,
                                    NULL)); /* without its "---\n" */
    g_autoptr(GString) failures = g_string_new("  failures:\n");
    for (guint i = 1; i < 20; i++) {
        g_string_append_printf(failures, "  - {at: %ums, apply: '%s'}\n",
                               i * 100, vs);
    }
    g_autofree char *plain = pool_scenario(2);
    const char *at = "    requests: [{url: 'http://q.example.com/'}]\n";
    char *cut = strstr(plain, at);
    assert_non_null(cut);
    cut += strlen(at);
    g_autofree char *pushed = g_strdup_printf(
        "%.*s%s%s", (int)(cut - plain), plain, failures->str, cut);
    Run a = { 0 }, b = { 0 };
    run_text(&a, plain);
    run_text(&b, pushed);
    gint64 uo = count_status(&a, 503, "gateway");
    assert_true(uo > 0);
    assert_int_equal(count_status(&b, 503, "gateway"), uo);
    assert_int_equal(count_status(&b, 200, "app"), count_status(&a, 200, "app"));
    assert_true(has_event(&b, "config"));
    run_clear(&a);
    run_clear(&b);
    g_remove(vs);
    g_rmdir(dir);
}

static void note_max_id(const Request *r, gpointer data)
{
    guint64 *max = data;
    *max = MAX(*max, r->id);
}

/* A timed-out attempt keeps its pod busy to the end (Envoy reset the
 * stream; the app never hears of it), and every struct goes back: the run
 * balances with nothing in flight. Requests come from a replayed CSV, so
 * the orphaned attempts also own copies of the replayed strings (ASan
 * checks them). Pods: 3, concurrency 1; /slow takes 3 s; perTryTimeout
 * 500 ms with retryOn gateway-error: every /slow request makes three
 * attempts and ends 504 UT,URX, and the fast requests queue behind the
 * orphans. */
static void test_orphaned_attempts_keep_pods_busy(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("lessons-XXXXXX", NULL);
    assert_non_null(dir);
    g_autofree char *csv = g_build_filename(dir, "r.csv", NULL);
    g_autoptr(GString) lines = g_string_new("timestamp,method,url,headers\n");
    for (guint i = 0; i < 10; i++) {
        g_string_append_printf(lines,
                               "2024-05-01T12:00:0%u.000Z,GET,"
                               "http://a.example.com/slow,\n"
                               "2024-05-01T12:00:0%u.500Z,GET,"
                               "http://a.example.com/,\n",
                               i, i);
    }
    assert_true(g_file_set_contents(csv, lines->str, -1, NULL));
    g_autofree char *vs =
        router_scenario("    retries: {attempts: 2, perTryTimeout: 500ms, "
                        "retryOn: gateway-error}\n");
    g_autoptr(GString) y = g_string_new(vs);
    g_autofree char *traffic = g_strdup_printf(
        "spec:\n  traffic:\n  - trace: {file: '%s', format: csv}\n"
        "  workloads:\n    default/a:\n      concurrency: 1\n",
        csv);
    assert_true(g_string_replace(y, "spec:\n  workloads:\n    default/a:\n",
                                 traffic, 1) == 1);
    Run run = { 0 };
    GError *error = NULL;
    run.s = scenario_load_string("orphans.yaml", y->str, &error);
    assert_non_null(run.s);
    run.r = runner_new(run.s, run.s->seed, &error);
    assert_non_null(run.r);
    guint64 max_id = 0;
    path_set_done(runner_path(run.r), note_max_id, &max_id);
    assert_true(runner_run(run.r, NULL, NULL));
    run.json = results_to_json(runner_world(run.r)->results);
    Results *res = runner_world(run.r)->results;
    assert_int_equal(results_n_sent(res), 20);
    /* The continuing copy of an abandoned attempt takes no id: the 20
     * requests are 1..20, whatever the orphans. */
    assert_int_equal(max_id, 20);
    assert_int_equal(results_n_in_flight(res), 0);
    assert_int_equal(path_in_flight(runner_path(run.r)), 0);
    JsonObject *flags =
        json_object_get_object_member(root(&run), "response_flags");
    /* Every request is a 200 or 504 UT,URX; all 10 /slow ones time out,
     * and so do fast ones that queue behind orphaned attempts (each holds
     * a pod for 3 s at concurrency 1): the retry storm a per-try timeout
     * shorter than the app's time makes. Without the orphans they would
     * all be 200. */
    gint64 urx = json_object_get_int_member(flags, "UT,URX");
    assert_int_equal(urx + count_status(&run, 200, "app"), 20);
    assert_true(urx > 10);
    g_remove(csv);
    g_rmdir(dir);
    run_clear(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_down_window_is_lb_detection),
        cmocka_unit_test(test_node_grace_period_marks_pods_not_ready),
        cmocka_unit_test(test_pod_crash_default_retries_hide_it),
        cmocka_unit_test(test_pod_crash_no_retries_fails_a_third),
        cmocka_unit_test(test_outlier_detection_ends_black_hole),
        cmocka_unit_test(test_circuit_breaker_overflows_with_uo),
        cmocka_unit_test(test_gateway_restart_loses_nothing),
        cmocka_unit_test(test_gateway_restart_short_drain_refuses),
        cmocka_unit_test(test_config_change_pushed_after_delay),
        cmocka_unit_test(test_secret_removed_fails_handshakes),
        cmocka_unit_test(test_readiness_flap_moves_load),
        cmocka_unit_test(test_readiness_probe_timing_from_manifest),
        cmocka_unit_test(test_retry_on_status_only_when_asked),
        cmocka_unit_test(test_route_timeout_answers_at_deadline),
        cmocka_unit_test(test_route_timeout_mid_hop_breakdown),
        cmocka_unit_test(test_route_timeout_while_connecting),
        cmocka_unit_test(test_per_try_timeout_default_retry_on),
        cmocka_unit_test(test_per_try_timeout_retried_then_urx),
        cmocka_unit_test(test_route_timeout_bounds_per_try),
        cmocka_unit_test(test_retry_on_5xx_covers_connect_failure),
        cmocka_unit_test(test_pending_requests_wait_for_a_connection),
        cmocka_unit_test(test_pending_limit_overflows),
        cmocka_unit_test(test_config_push_keeps_the_pool),
        cmocka_unit_test(test_orphaned_attempts_keep_pods_busy),
        cmocka_unit_test(test_rate_steps_constant_exact),
        cmocka_unit_test(test_rate_steps_poisson_windows),
        cmocka_unit_test(test_keepalive_clients_stay_after_gateway_restart),
        cmocka_unit_test(test_keepalive_connection_limits),
        cmocka_unit_test(test_keepalive_tls_once_and_past_secret_removal),
        cmocka_unit_test(test_mm1_mean_and_p99),
        cmocka_unit_test(test_mmc_least_request_between_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
