/* lb.c: the external load balancer (step 2): HAProxy-like L4 forwarding
 * with round-robin, least-connections, source-hash or random, and active
 * health checks with rise/fall thresholds (spec L-1, L-5). */
#include "config.h"

#include <string.h>

#include "models/lb.h"

typedef struct {
    guint node;         /* World.nodes index */
    gboolean in_rotation;
    gint fails;         /* consecutive failed checks */
    gint passes;        /* consecutive passed checks */
    gint64 active;      /* open connections (least-connections) */
} Backend;

struct _Lb {
    World *w;              /* borrowed */
    const LbSpec *spec;    /* the scenario's */
    Backend *backends;     /* in spec order */
    guint n_backends;
    guint rr;              /* round-robin cursor */
    Rng rng;               /* "lb": random choices and check draws */
    guint32 ev_check;      /* event kind: arg = backend index */
    guint *up;             /* backends in rotation (indices, in spec
                            * order), kept by rotation_update() */
    guint n_up;
};

/* Lists the backends in rotation, for lb_pick(): at the start and when a
 * health check moves one in or out, not on every connection. */
static void rotation_update(Lb *lb)
{
    lb->n_up = 0;
    for (guint i = 0; i < lb->n_backends; i++) {
        if (lb->backends[i].in_rotation) {
            lb->up[lb->n_up++] = i;
        }
    }
}

/* A TCP check on nodePort succeeds when the node is up and its kube-proxy
 * forwards that port to a pod that answers; an HTTP check on kube-proxy's
 * healthCheckNodePort succeeds on 200 (K-18). */
static gboolean check_passes(Lb *lb, const Backend *b)
{
    NodeState *ns = &lb->w->nodes[b->node];
    const LbHealthCheck *h = &lb->spec->health;
    if (!ns->up) {
        return FALSE;
    }
    if (h->http) {
        gint local = 0;
        return kube_proxy_health_check(ns->kp, h->node_port, &local) == 200;
    }
    KpPacket pkt = {
        .src_ip = "203.0.113.1",
        .dst_ip = ns->node->ip,
        .dst_port = h->node_port,
        .proto = "tcp",
    };
    KpResult res;
    kube_proxy_walk(ns->kp, NULL, &pkt, &lb->rng, sim_now(lb->w->engine), &res,
                    NULL, NULL);
    if (res.verdict != KP_DNAT) {
        return FALSE;
    }
    const PodState *p = world_pod_by_addr(lb->w, res.dnat_addr);
    return p == NULL || world_pod_alive(lb->w, p);
}

static void on_check(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Lb *lb = ctx;
    Backend *b = &lb->backends[ev->arg];
    const LbHealthCheck *h = &lb->spec->health;
    const char *name = lb->w->nodes[b->node].node->name;
    if (check_passes(lb, b)) {
        b->fails = 0;
        b->passes++;
        if (!b->in_rotation && b->passes >= h->healthy_threshold) {
            b->in_rotation = TRUE;
            rotation_update(lb);
            g_autofree char *what =
                g_strdup_printf("load balancer: %s back in rotation", name);
            results_event(lb->w->results, sim_now(e), what);
        }
    } else {
        b->passes = 0;
        b->fails++;
        if (b->in_rotation && b->fails >= h->unhealthy_threshold) {
            b->in_rotation = FALSE;
            rotation_update(lb);
            g_autofree char *what =
                g_strdup_printf("load balancer: %s out of rotation", name);
            results_event(lb->w->results, sim_now(e), what);
        }
    }
    sim_schedule_in(e, h->interval, lb->ev_check, ev->arg, NULL);
}

Lb *lb_new(World *w)
{
    Lb *lb = g_new0(Lb, 1);
    lb->w = w;
    lb->spec = &w->s->lb;
    lb->n_backends = lb->spec->backends->len;
    lb->backends = g_new0(Backend, lb->n_backends);
    lb->up = g_new0(guint, lb->n_backends + 1);
    for (guint i = 0; i < lb->n_backends; i++) {
        NodeState *ns = world_node(w, g_ptr_array_index(lb->spec->backends, i));
        lb->backends[i].node = ns->node->index;
        lb->backends[i].in_rotation = TRUE;
    }
    rotation_update(lb);
    rng_init_named(&lb->rng, w->seed, "lb");
    lb->ev_check = sim_engine_register(w->engine, "lb-health-check", on_check,
                                      NULL, lb);
    return lb;
}

void lb_free(Lb *lb)
{
    if (lb == NULL) {
        return;
    }
    g_free(lb->backends);
    g_free(lb->up);
    g_free(lb);
}

void lb_start(Lb *lb)
{
    const LbHealthCheck *h = &lb->spec->health;
    if (!h->enabled || h->node_port == 0) {
        return;
    }
    /* Spread the checks over one interval, as HAProxy's spread-checks. */
    for (guint i = 0; i < lb->n_backends; i++) {
        SimTime off = h->interval * (SimTime)i / (SimTime)lb->n_backends;
        sim_schedule(lb->w->engine, sim_now(lb->w->engine) + off, lb->ev_check,
                     i, NULL);
    }
}

gboolean lb_in_rotation(const Lb *lb, guint node)
{
    for (guint i = 0; i < lb->n_backends; i++) {
        if (lb->backends[i].node == node) {
            return lb->backends[i].in_rotation;
        }
    }
    return FALSE;
}

LbVerdict lb_pick(Lb *lb, gint port, const char *client_ip, guint *node,
                  gint *node_port, Trace *tr, SimTime at)
{
    const LbListener *li = NULL;
    for (guint i = 0; i < lb->spec->listeners->len; i++) {
        const LbListener *l = &g_array_index(lb->spec->listeners, LbListener, i);
        if (l->port == port) {
            li = l;
            break;
        }
    }
    if (li == NULL) {
        if (tr != NULL) {
            trace_addf(tr, 2, "load balancer", NULL, at,
                       "R1.3: a port the load balancer does not listen on "
                       "refuses the connection",
                       "no listener on port %d: connection refused", port);
        }
        return LB_NO_LISTENER;
    }
    const guint *up = lb->up;
    guint n = lb->n_up;
    if (n == 0) {
        if (tr != NULL) {
            trace_addf(tr, 2, "load balancer", NULL, at,
                       "HAProxy closes a connection when no server is UP",
                       "port %d: every backend is out of rotation", port);
        }
        return LB_NO_BACKEND;
    }
    guint pick = 0;
    const char *why = NULL;
    switch (lb->spec->algorithm) {
    case LB_ROUND_ROBIN:
        pick = up[lb->rr++ % n];
        why = "round-robin over the backends in rotation";
        break;
    case LB_RANDOM:
        pick = up[rng_below(&lb->rng, n)];
        why = "random backend among those in rotation";
        break;
    case LB_SOURCE_HASH:
        pick = up[rng_hash(client_ip) % n];
        why = "hash of the client address (balance source)";
        break;
    case LB_LEAST_CONNECTIONS:
        pick = up[0];
        for (guint i = 1; i < n; i++) {
            if (lb->backends[up[i]].active < lb->backends[pick].active) {
                pick = up[i];
            }
        }
        why = "fewest open connections (leastconn); ties to the first";
        break;
    }
    Backend *b = &lb->backends[pick];
    b->active++;
    *node = b->node;
    *node_port = li->node_port;
    if (tr != NULL) {
        trace_addf(tr, 2, "load balancer", NULL, at, why,
                   "port %d -> %s:%d (%s, %u of %u backends in rotation)",
                   port, lb->w->nodes[b->node].node->name, li->node_port,
                   lb_algorithm_name(lb->spec->algorithm), n, lb->n_backends);
        trace_set(tr, "lb_node", lb->w->nodes[b->node].node->name);
    }
    return LB_FORWARD;
}

void lb_release(Lb *lb, guint node)
{
    for (guint i = 0; i < lb->n_backends; i++) {
        if (lb->backends[i].node == node && lb->backends[i].active > 0) {
            lb->backends[i].active--;
            return;
        }
    }
}
