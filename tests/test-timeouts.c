/* test-timeouts.c: the lifetime of a request that a timeout answered
 * while the upstream side (a pending connect or back-off) still holds it. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "models/path.h"
#include "models/runner.h"
#include "sim/cli.h"

/* Three pods of app `a` (a-0..a-2 on worker-1..3) behind one Gateway and
 * VirtualService; @spec_extra goes into the Scenario's spec, @route_extra
 * under the VirtualService's http route. /slow takes 1s, /flaky answers
 * 503. */
static char *scenario_text(const char *spec_extra, const char *route_extra)
{
    return g_strdup_printf(
        "apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
        "  workloads:\n    default/a:\n"
        "      serviceTime: 5ms\n"
        "      responses:\n      - {pathPrefix: /slow, delay: 1s}\n"
        "      - {pathPrefix: /flaky, status: 503}\n"
        "%s"
        "---\napiVersion: networking.istio.io/v1\nkind: Gateway\n"
        "metadata: {name: gw, namespace: istio-system}\n"
        "spec:\n  selector: {istio: ingressgateway}\n  servers:\n"
        "  - port: {number: 80, name: http, protocol: HTTP}\n"
        "    hosts: ['*']\n"
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

/* What the client saw, request by request. */
typedef struct {
    guint n;            /* outcomes seen */
    guint n_504;        /* 504 from the gateway */
    guint n_200;
    guint bad_flags;    /* a 504 whose flags were not @want_flags */
    SimTime min_504;    /* shortest and longest 504 */
    SimTime max_504;
    const char *want_flags;
} Seen;

static void on_done(const Request *r, gpointer data)
{
    Seen *s = data;
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
static Runner *run_yaml(const char *yaml, Scenario **s_out, Seen *seen)
{
    GError *error = NULL;
    Scenario *s = scenario_load_string("timeouts.yaml", yaml, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    Runner *run = runner_new(s, s->seed, &error);
    assert_non_null(run);
    path_set_done(runner_path(run), on_done, seen);
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
    g_autofree char *y = scenario_text(
        "  seed: 3\n  duration: 15s\n"
        "  loadBalancer: {backends: [worker-1]}\n"
        "  traffic:\n  - arrival: {poisson: {rate: 20/s}}\n"
        "    requests: [{url: 'http://a.example.com/'}]\n"
        "  failures: [{at: 1s, node-down: worker-3}]\n",
        "    timeout: 1s\n");
    Seen seen = { .want_flags = "UT" };
    Scenario *s = NULL;
    Runner *run = run_yaml(y, &s, &seen);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_timeout_while_connecting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
