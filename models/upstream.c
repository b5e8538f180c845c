/* upstream.c: Envoy's load balancer over EDS endpoints (step 8), with
 * Istio's default LEAST_REQUEST (spec R4.1) and the subset filter of a
 * DestinationRule. */
#include "config.h"

#include <string.h>

#include "models/upstream.h"

struct _Upstream {
    World *w;             /* borrowed */
    gint64 *active;       /* active requests per pod (World.pods index) */
    GHashTable *rr;       /* const GatewayCluster* -> cursor (guint) */
    GArray *cands;        /* scratch: candidate EndpointAddr indices */
};

Upstream *upstream_new(World *w)
{
    Upstream *u = g_new0(Upstream, 1);
    u->w = w;
    u->active = g_new0(gint64, w->n_pods + 1);
    u->rr = g_hash_table_new(g_direct_hash, g_direct_equal);
    u->cands = g_array_new(FALSE, FALSE, sizeof(guint));
    return u;
}

void upstream_free(Upstream *u)
{
    if (u == NULL) {
        return;
    }
    g_free(u->active);
    g_hash_table_unref(u->rr);
    g_array_unref(u->cands);
    g_free(u);
}

void upstream_begin(Upstream *u, gint pod)
{
    if (pod >= 0) {
        u->active[pod]++;
    }
}

void upstream_end(Upstream *u, gint pod)
{
    if (pod >= 0 && u->active[pod] > 0) {
        u->active[pod]--;
    }
}

static gboolean avoided(gint pod, const gint *avoid, guint n)
{
    for (guint i = 0; i < n; i++) {
        if (avoid[i] == pod && pod >= 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static gint64 load_of(const Upstream *u, const EndpointAddr *e)
{
    return e->pod != NULL ? u->active[e->pod->index] : 0;
}

gboolean upstream_pick(Upstream *u, const GatewayCluster *gc, Rng *rng,
                       const gint *avoid, guint n_avoid, UpstreamHost *out,
                       Trace *tr, SimTime at, const char *node)
{
    if (gc->service == NULL || gc->service_port == NULL) {
        return FALSE;
    }
    const GArray *eps =
        endpoint_set_lookup(u->w->eps, gc->service, gc->service_port);
    g_array_set_size(u->cands, 0);
    guint healthy = 0;
    for (guint i = 0; i < eps->len; i++) {
        const EndpointAddr *e = &g_array_index(eps, EndpointAddr, i);
        /* R4.7: Envoy balances over endpoints istiod marks HEALTHY (Ready);
         * no fallback to terminating ones. */
        if (!e->ready) {
            continue;
        }
        if (gc->subset_labels != NULL &&
            (e->pod == NULL ||
             !kv_list_subset(gc->subset_labels, e->pod->spec.labels))) {
            continue;
        }
        healthy++;
        if (avoided(e->pod != NULL ? (gint)e->pod->index : -1, avoid,
                    n_avoid)) {
            continue;
        }
        g_array_append_val(u->cands, i);
    }
    /* previous_hosts is a preference: with every host tried, any will do
     * (host_selection_retry_max_attempts runs out). */
    if (u->cands->len == 0 && healthy > 0) {
        for (guint i = 0; i < eps->len; i++) {
            const EndpointAddr *e = &g_array_index(eps, EndpointAddr, i);
            if (e->ready && (gc->subset_labels == NULL ||
                             (e->pod != NULL &&
                              kv_list_subset(gc->subset_labels,
                                             e->pod->spec.labels)))) {
                g_array_append_val(u->cands, i);
            }
        }
    }
    guint n = u->cands->len;
    if (n == 0) {
        if (tr != NULL) {
            trace_addf(tr, 8, "Envoy upstream", node, at,
                       "R4.7: no healthy endpoint -> 503 UH",
                       "cluster %s has no ready endpoint (%u known)",
                       gc->name, eps->len);
        }
        return FALSE;
    }
    guint pick = 0;
    const char *why = NULL;
    switch (gc->lb) {
    case GATEWAY_LB_ROUND_ROBIN: {
        guint cur = GPOINTER_TO_UINT(g_hash_table_lookup(u->rr, gc));
        pick = g_array_index(u->cands, guint, cur % n);
        g_hash_table_insert(u->rr, (gpointer)gc, GUINT_TO_POINTER(cur + 1));
        why = "ROUND_ROBIN (DestinationRule)";
        break;
    }
    case GATEWAY_LB_RANDOM:
        pick = g_array_index(u->cands, guint, rng_below(rng, n));
        why = "RANDOM (DestinationRule)";
        break;
    default: {
        /* Power of two choices: two random hosts, the less loaded wins
         * (Envoy least_request, choice_count 2; Istio default since 1.14). */
        guint a = g_array_index(u->cands, guint, rng_below(rng, n));
        guint b = g_array_index(u->cands, guint, rng_below(rng, n));
        const EndpointAddr *ea = &g_array_index(eps, EndpointAddr, a);
        const EndpointAddr *eb = &g_array_index(eps, EndpointAddr, b);
        pick = load_of(u, eb) < load_of(u, ea) ? b : a;
        why = "LEAST_REQUEST, two random choices, fewer active requests "
              "wins (Istio default, R4.1)";
        break;
    }
    }
    const EndpointAddr *e = &g_array_index(eps, EndpointAddr, pick);
    out->pod = e->pod != NULL ? (gint)e->pod->index : -1;
    out->ip = e->ip;
    out->port = e->port;
    if (tr != NULL) {
        g_autofree char *pod =
            e->pod != NULL ? k8s_meta_ref(&e->pod->meta) : g_strdup(e->ip);
        trace_addf(tr, 8, "Envoy upstream", node, at, why,
                   "cluster %s: endpoint %s:%d (pod %s on %s), %u healthy",
                   gc->name, e->ip, e->port, pod,
                   e->node_name != NULL ? e->node_name : "?", n);
    }
    return TRUE;
}
