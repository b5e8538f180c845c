/* bench-router.c: route lookups per second against 10, 100 and 1,000
 * VirtualServices (issue 3): how the gateway's per-request decision cost
 * grows with the configuration. A figure, never a pass/fail test. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "models/gateway.h"
#include "models/scenario.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* N VirtualServices on one wildcard Gateway, each its own host with four
 * routes (exact, two prefixes, a header match) to its own Service. */
static char *config(guint n)
{
    GString *y = g_string_new(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
        "metadata: {name: gw, namespace: istio-system}\n"
        "spec:\n  selector: {istio: ingressgateway}\n  servers:\n"
        "  - port: {number: 80, name: http, protocol: HTTP}\n"
        "    hosts: ['*']\n");
    for (guint i = 0; i < n; i++) {
        g_string_append_printf(
            y,
            "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
            "metadata: {name: vs%u}\nspec:\n  hosts: [app%u.example.com]\n"
            "  gateways: [istio-system/gw]\n  http:\n"
            "  - match: [{uri: {exact: /health}}]\n"
            "    route: [{destination: {host: app%u}}]\n"
            "  - match: [{uri: {prefix: /api/v2}, headers: {x-canary: "
            "{exact: 'yes'}}}]\n"
            "    route: [{destination: {host: app%u}}]\n"
            "  - match: [{uri: {prefix: /api}}]\n"
            "    route: [{destination: {host: app%u}}]\n"
            "  - route: [{destination: {host: app%u}}]\n"
            "---\napiVersion: v1\nkind: Service\nmetadata: {name: app%u}\n"
            "spec: {selector: {app: app%u}, ports: [{port: 80}]}\n",
            i, i, i, i, i, i, i, i);
    }
    return g_string_free(y, FALSE);
}

static void bench(guint n)
{
    g_autofree char *y = config(n);
    GError *error = NULL;
    double t0 = now_s();
    g_autoptr(Scenario) s = scenario_load_string("bench.yaml", y, &error);
    if (s == NULL) {
        g_printerr("%s\n", error->message);
        return;
    }
    g_autoptr(GPtrArray) pods = cluster_gateway_pods(s->cluster);
    g_autoptr(GatewaySnapshot) snap =
        gateway_compile(s->cluster, g_ptr_array_index(pods, 0), &error);
    double compile = now_s() - t0;
    if (snap == NULL) {
        g_printerr("%s\n", error->message);
        return;
    }
    /* Requests spread over every host and route, prepared up front. */
    enum { N_REQ = 4096 };
    static const char *const paths[] = { "/health", "/api/v2/x", "/api/users",
                                         "/index.html" };
    char **hosts = g_new0(char *, N_REQ);
    Rng rng;
    rng_init(&rng, 1, 1);
    g_autoptr(KvList) headers = kv_list_new();
    kv_list_set(headers, "x-canary", "yes");
    for (guint i = 0; i < N_REQ; i++) {
        hosts[i] = g_strdup_printf("app%u.example.com", rng_below(&rng, n));
    }
    const guint iters = 2000000;
    double best = 1e9;
    for (guint round = 0; round < 5; round++) {
        double t = now_s();
        for (guint i = 0; i < iters; i++) {
            GatewayRequest req = {
                .port = 8080,
                .http = TRUE,
                .scheme = "http",
                .method = "GET",
                .authority = hosts[i % N_REQ],
                .path = paths[i & 3],
                .headers = headers,
            };
            GatewayDecision d;
            gateway_decide(snap, &req, &rng, &d, NULL, 0, NULL);
            gateway_decision_clear(&d);
        }
        double el = now_s() - t;
        best = MIN(best, el);
    }
    printf("%5u VirtualServices (%5u routes): %6.2f M lookups/s, %5.0f ns "
           "each (best of 5); compile %.1f ms\n",
           n, 4 * n, iters / best / 1e6, best / iters * 1e9, compile * 1e3);
    for (guint i = 0; i < N_REQ; i++) {
        g_free(hosts[i]);
    }
    g_free(hosts);
}

int main(void)
{
    const guint sizes[] = { 10, 100, 1000 };
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        bench(sizes[i]);
    }
    return 0;
}
