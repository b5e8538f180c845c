/* bench-viz.c: how long each chart and the path diagram take to draw for a
 * 1M-request run (10 minutes, 8 routes, failures, 30 events; 10 nodes and
 * 50 pods). A number to read, not a test (target: < 200 ms each).
 *
 * Build in a configured build tree (not part of any .mk):
 *   cc -O2 -I. -I$SRC $(pkg-config --cflags glib-2.0 cairo pangocairo \
 *      json-glib-1.0 yaml-0.1) $SRC/bench/bench-viz.c libingress.a \
 *      $(pkg-config --libs glib-2.0 cairo pangocairo json-glib-1.0 \
 *      yaml-0.1 gnutls) -lm -o bench-viz && ./bench-viz */
#include "config.h"

#include <stdio.h>

#include <glib.h>

#include "models/results.h"
#include "models/scenario.h"
#include "viz/chart.h"
#include "viz/diagram.h"
#include "viz/draw.h"

#define N_REQUESTS 1000000
#define SECONDS    600

static const struct {
    const char *name; /* Deployment and Service */
    guint replicas;   /* pods */
} apps[] = { { "istio-ingressgateway", 4 },
             { "checkout", 12 },
             { "cart", 8 },
             { "catalog", 6 },
             { "payments", 5 },
             { "search", 5 },
             { "recommendations", 4 },
             { "ads", 3 },
             { "frontend", 3 } };

static char *scenario_text(void)
{
    GString *y = g_string_new("apiVersion: ingress-sim/v1\nkind: Scenario\n"
                              "metadata: {name: bench}\nspec:\n  nodes:\n");
    for (guint i = 0; i < 10; i++) {
        g_string_append_printf(y, "  - {name: worker-%u, zone: z%u}\n", i,
                               i % 3);
    }
    for (guint i = 0; i < G_N_ELEMENTS(apps); i++) {
        gboolean gw = i == 0;
        g_string_append_printf(
            y,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s, "
            "namespace: %s}\nspec:\n  replicas: %u\n  selector: {matchLabels: "
            "{app: %s}}\n  template:\n    metadata: {labels: {app: %s%s}}\n"
            "    spec: {containers: [{name: c, image: x}]}\n",
            apps[i].name, gw ? "istio-system" : "shop", apps[i].replicas,
            apps[i].name, apps[i].name, gw ? ", istio: ingressgateway" : "");
        if (!gw) {
            g_string_append_printf(
                y,
                "---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, "
                "namespace: shop}\nspec:\n  selector: {app: %s}\n  ports: "
                "[{port: 80, targetPort: 8080}]\n",
                apps[i].name, apps[i].name);
        }
    }
    return g_string_free(y, FALSE);
}

/* 1M requests over 10 minutes through 8 routes, with gateway replies and
 * kernel failures, folded the way a run folds them. */
static Results *synthetic_run(void)
{
    Results *r = results_new("bench", 42);
    const char *routes[G_N_ELEMENTS(apps)];
    const char *clusters[G_N_ELEMENTS(apps)];
    GPtrArray *pods[G_N_ELEMENTS(apps)];
    for (guint a = 1; a < G_N_ELEMENTS(apps); a++) {
        g_autofree char *rt = g_strdup_printf("shop/%s http[0]", apps[a].name);
        g_autofree char *cl = g_strdup_printf(
            "outbound|80||%s.shop.svc.cluster.local", apps[a].name);
        routes[a] = g_intern_string(rt);
        clusters[a] = g_intern_string(cl);
        pods[a] = g_ptr_array_new();
        for (guint p = 0; p < apps[a].replicas; p++) {
            g_autofree char *pod =
                g_strdup_printf("shop/%s-%u", apps[a].name, p);
            g_ptr_array_add(pods[a], (gpointer)g_intern_string(pod));
        }
    }
    const char *traffic = g_intern_static_string("load");
    guint32 x = 2463534242u; /* xorshift32: a fixed, cheap sequence */
    for (guint i = 0; i < N_REQUESTS; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        SimTime at = (SimTime)i * (SECONDS * SIM_S / N_REQUESTS);
        results_sent(r, at);
        guint a = 1 + x % (G_N_ELEMENTS(apps) - 1);
        RequestOutcome o = { .sent = at, .traffic = traffic, .flags = "-" };
        gboolean outage = at > 200 * SIM_S && at < 230 * SIM_S;
        if (x % 100 < (outage ? 20u : 1u)) {
            o.kind = OUTCOME_FAILURE;
            o.step = 3 + x % 7;
            o.reason = (FailReason)(x % FAIL_N_REASONS);
            o.done = at + SIM_S;
        } else if (x % 1000 < 7) {
            o.kind = OUTCOME_RESPONSE;
            o.status = x % 2 ? 503 : 404;
            o.flags = x % 2 ? "UH" : "NR";
            o.from_gateway = TRUE;
            o.step = x % 2 ? 8 : 7;
            o.route = x % 2 ? routes[a] : NULL;
            o.done = at + SIM_MS;
        } else {
            o.kind = OUTCOME_RESPONSE;
            o.status = 200;
            o.step = 9;
            o.route = routes[a];
            o.cluster = clusters[a];
            o.pod = g_ptr_array_index(pods[a], x % pods[a]->len);
            SimTime lat = 2 * SIM_MS + (SimTime)(x % 40000) * SIM_US / (a + 1);
            if (x % 997 == 0) {
                lat += 3 * SIM_S; /* a slow tail */
            }
            o.done = at + lat;
            for (guint p = 0; p < PHASE_N; p++) {
                o.phase[p] = lat / PHASE_N;
            }
        }
        results_record(r, &o);
    }
    for (guint e = 0; e < 30; e++) {
        g_autofree char *what =
            e % 3 == 0 ? g_strdup_printf("node-down worker-%u", e % 10)
            : e % 3 == 1
                ? g_strdup_printf("load balancer: worker-%u out of rotation",
                                  e % 10)
                : g_strdup_printf("endpoints: shop/cart-%u not ready", e % 8);
        results_event(r, (SimTime)(20 + e * 19) * SIM_S, what);
    }
    for (guint a = 1; a < G_N_ELEMENTS(apps); a++) {
        g_ptr_array_unref(pods[a]);
    }
    return r;
}

static double since_ms(gint64 t0)
{
    return (double)(g_get_monotonic_time() - t0) / 1000.0;
}

int main(void)
{
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(Results) r = synthetic_run();
    printf("fold %d requests into Results:   %8.1f ms\n", N_REQUESTS,
           since_ms(t0));
    t0 = g_get_monotonic_time();
    g_autoptr(JsonNode) json = results_to_json(r);
    printf("results_to_json (with cdf_ms):    %8.1f ms\n", since_ms(t0));
    t0 = g_get_monotonic_time();
    g_autoptr(ChartInput) in = chart_input_new(json, NULL);
    printf("chart_input_new:                  %8.1f ms\n\n", since_ms(t0));

    printf("%-14s %10s %10s %10s %10s\n", "picture", "PNG ms", "SVG ms",
           "PNG KiB", "SVG KiB");
    for (guint k = 0; k < CHART_N; k++) {
        double best[2] = { 1e9, 1e9 };
        gsize size[2] = { 0, 0 };
        for (guint f = 0; f < 2; f++) {
            for (guint rep = 0; rep < 3; rep++) {
                t0 = g_get_monotonic_time();
                g_autoptr(GBytes) b = chart_render(in, k, f, NULL, NULL);
                best[f] = MIN(best[f], since_ms(t0));
                size[f] = g_bytes_get_size(b);
            }
        }
        printf("%-14s %10.1f %10.1f %10zu %10zu\n", chart_stem(k), best[0],
               best[1], size[0] / 1024, size[1] / 1024);
    }
    g_autofree char *yaml = scenario_text();
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load_string("bench.yaml", yaml, &error);
    if (s == NULL) {
        fprintf(stderr, "bench: %s\n", error->message);
        return 1;
    }
    DiagramInput di = { .scenario = s, .seed = 42, .results = json };
    double best[2] = { 1e9, 1e9 };
    gsize size[2] = { 0, 0 };
    double h = 0;
    for (guint f = 0; f < 2; f++) {
        for (guint rep = 0; rep < 3; rep++) {
            t0 = g_get_monotonic_time();
            g_autoptr(GBytes) b = diagram_render(&di, f, NULL, NULL, &h, NULL);
            best[f] = MIN(best[f], since_ms(t0));
            size[f] = g_bytes_get_size(b);
        }
    }
    printf("%-14s %10.1f %10.1f %10zu %10zu   (%u nodes, %u pods, 1280x%.0f)\n",
           "diagram", best[0], best[1], size[0] / 1024, size[1] / 1024,
           s->cluster->nodes->len, s->cluster->pods->len, h);
    return 0;
}
