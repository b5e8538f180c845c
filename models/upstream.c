/* upstream.c: Envoy's load balancer over EDS endpoints (step 8): Istio's
 * default LEAST_REQUEST (spec R4.1), the DestinationRule's policies,
 * subsets, circuit breakers (R4.3) and outlier ejection (R4.4). */
#include "config.h"

#include <string.h>

#include "models/upstream.h"

typedef struct {
    guint32 consecutive;   /* consecutive failed attempts */
    guint32 times;         /* ejections so far (multiplies the time) */
    SimTime ejected_until; /* 0: not ejected */
} HostHealth;

/* A cluster's connection pool as the circuit breakers see it (R4.3), and
 * its round-robin cursor. Kept by cluster name: a config push compiles new
 * GatewayCluster structs, but Envoy keeps the pool (and its counts) of a
 * cluster that is still there, reading the limits from the new config. */
typedef struct {
    guint64 active; /* attempts holding an upstream connection */
    GQueue pending; /* waiters for a connection, oldest first */
    guint rr;       /* ROUND_ROBIN: picks made so far */
} ClusterPool;

/* Entries of each of the Upstream's lookup memos (a power of 2). */
#define UPSTREAM_RECENT 8

/* One Service port's endpoint list as last looked up. */
typedef struct {
    guint64 version;                /* endpoint set version of eps */
    const K8sServicePort *port;     /* the key; NULL: empty entry */
    const GArray *eps;              /* EndpointAddr, borrowed */
    guint *ready;                   /* indices of eps's Ready endpoints */
    guint n_ready, ready_cap;
} UpstreamEps;

struct _Upstream {
    World *w;             /* borrowed */
    gint64 *active;       /* active requests per pod (World.pods index) */
    HostHealth *health;   /* outlier state per pod */
    GHashTable *pools;    /* interned cluster name -> ClusterPool* (owned) */
    /* Pools last looked up, direct-mapped by a hash of the name's
     * address: a request looks its pool up two or three times, and
     * requests to two clusters interleave (one remembered pool missed
     * at every switch). Pools are never removed. */
    struct {
        const char *name;
        ClusterPool *cp;
    } recent_pools[UPSTREAM_RECENT];
    guint *cands;         /* scratch: candidate EndpointAddr indices */
    guint cands_cap;
    /* Endpoint lists last looked up, by set version and Service port,
     * direct-mapped by the port's address, as the pools above. */
    UpstreamEps recent_eps[UPSTREAM_RECENT];
    SimTime ejected_max;  /* latest ejected_until of any host: from then
                           * on none is ejected (0: none ever was) */
};

static void pool_free(gpointer p)
{
    ClusterPool *cp = p;
    g_queue_clear(&cp->pending);
    g_free(cp);
}

Upstream *upstream_new(World *w)
{
    Upstream *u = g_new0(Upstream, 1);
    u->w = w;
    u->active = g_new0(gint64, w->n_pods + 1);
    u->health = g_new0(HostHealth, w->n_pods + 1);
    u->pools =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, pool_free);
    return u;
}

void upstream_free(Upstream *u)
{
    if (u == NULL) {
        return;
    }
    g_free(u->active);
    g_free(u->health);
    g_hash_table_unref(u->pools);
    g_free(u->cands);
    for (guint i = 0; i < UPSTREAM_RECENT; i++) {
        g_free(u->recent_eps[i].ready);
    }
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

/* ---- circuit breakers ------------------------------------------------------ */

/* The slot of @key in a memo of UPSTREAM_RECENT: the top bits of its
 * address times 2^64 / phi. Interned names lie a few bytes apart, so the
 * low bits of the address alone would put neighbours together. */
static inline guint recent_slot(gconstpointer key)
{
    G_STATIC_ASSERT((UPSTREAM_RECENT & (UPSTREAM_RECENT - 1)) == 0);
    guint64 h = (guint64)GPOINTER_TO_SIZE(key) *
                G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
    return (guint)(h >> (64 - __builtin_ctz(UPSTREAM_RECENT)));
}

/* Pools are never removed, so a remembered one stays valid. Names are
 * interned (gateway-compile.c): the pointer is the key. Inline: two or
 * three calls per request, each a few instructions on a hit. */
static inline ClusterPool *pool_find(Upstream *u, const GatewayCluster *gc)
{
    guint slot = recent_slot(gc->name);
    if (u->recent_pools[slot].name == gc->name && gc->name != NULL) {
        return u->recent_pools[slot].cp;
    }
    ClusterPool *cp = g_hash_table_lookup(u->pools, gc->name);
    if (cp != NULL) {
        u->recent_pools[slot].name = gc->name;
        u->recent_pools[slot].cp = cp;
    }
    return cp;
}

static ClusterPool *pool_of(Upstream *u, const GatewayCluster *gc)
{
    ClusterPool *cp = pool_find(u, gc);
    if (cp == NULL) {
        cp = g_new0(ClusterPool, 1);
        g_queue_init(&cp->pending);
        g_hash_table_insert(u->pools, (gpointer)gc->name, cp);
    }
    return cp;
}

/* HTTP/1.1 to the app: one request per upstream connection. An attempt
 * gets a connection while fewer than max_connections are busy (an idle
 * keep-alive one or a new one), else it waits as a pending request, and
 * beyond max_pending_requests it overflows. max_requests bounds the
 * attempts on connections. Cite: envoy source/common/conn_pool/
 * conn_pool_base.cc, ConnPoolImplBase::newStreamImpl (pendingRequests()
 * .canCreate(), else Overflow) and attachStreamToClient (requests()
 * .canCreate()). Envoy keeps a pool per host and the limits per cluster;
 * here the waiters of a cluster share one FIFO: a connection freed on any
 * host serves the oldest waiter (documented approximation). */
UpstreamAdmit upstream_admit(Upstream *u,
                             const GatewayCluster *gc,
                             gpointer waiter,
                             Trace *tr,
                             SimTime at,
                             const char *node)
{
    ClusterPool *cp = pool_of(u, gc);
    guint64 pending = cp->pending.length;
    if (cp->active < gc->max_connections) {
        if (cp->active >= gc->max_requests) {
            if (tr != NULL) {
                trace_addf(tr, 8, "Envoy upstream", node, at,
                           "circuit breaker overflow, 503 UO (R4.3): "
                           "http2MaxRequests from the DestinationRule's "
                           "connectionPool",
                           "cluster %s has %" G_GUINT64_FORMAT
                           " requests in flight (http2MaxRequests %u)",
                           gc->name, cp->active, gc->max_requests);
            }
            return UPSTREAM_OVERFLOW;
        }
        cp->active++;
        return UPSTREAM_GO;
    }
    if (pending >= gc->max_pending_requests) {
        if (tr != NULL) {
            trace_addf(
                tr, 8, "Envoy upstream", node, at,
                "circuit breaker overflow, 503 UO (R4.3): limits from "
                "the DestinationRule's connectionPool",
                "cluster %s has %" G_GUINT64_FORMAT
                " connections busy (maxConnections %u) and %" G_GUINT64_FORMAT
                " requests pending (http1MaxPendingRequests %u)",
                gc->name, cp->active, gc->max_connections, pending,
                gc->max_pending_requests);
        }
        return UPSTREAM_OVERFLOW;
    }
    g_queue_push_tail(&cp->pending, waiter);
    if (tr != NULL) {
        trace_addf(
            tr, 8, "Envoy upstream", node, at,
            "every connection the circuit breaker allows is busy: the "
            "request waits in the connection pool (R4.3)",
            "cluster %s has %" G_GUINT64_FORMAT
            " connections busy (maxConnections %u): pending, %" G_GUINT64_FORMAT
            " ahead of it",
            gc->name, cp->active, gc->max_connections, pending);
    }
    return UPSTREAM_WAIT;
}

gpointer upstream_release(Upstream *u, const GatewayCluster *gc)
{
    ClusterPool *cp = pool_find(u, gc);
    g_return_val_if_fail(cp != NULL && cp->active > 0, NULL);
    /* The freed connection goes to the oldest waiter, if any: the count of
     * busy connections stays. */
    /* Nearly always none: the test inline, not a call into GLib. */
    gpointer next =
        cp->pending.length > 0 ? g_queue_pop_head(&cp->pending) : NULL;
    if (next == NULL) {
        cp->active--;
    }
    return next;
}

void upstream_cancel_pending(Upstream *u,
                             const GatewayCluster *gc,
                             gpointer waiter)
{
    ClusterPool *cp = pool_find(u, gc);
    g_return_if_fail(cp != NULL);
    gboolean found = g_queue_remove(&cp->pending, waiter);
    g_return_if_fail(found);
}

void upstream_drain_pending(Upstream *u, GFunc fn, gpointer data)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, u->pools);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        ClusterPool *cp = v;
        gpointer w;
        while ((w = g_queue_pop_head(&cp->pending)) != NULL) {
            fn(w, data);
        }
    }
}

/* ---- outlier detection ----------------------------------------------------- */

gboolean upstream_ejected(const Upstream *u, gint pod, SimTime now)
{
    return pod >= 0 && u->health[pod].ejected_until > now;
}

/* Envoy unejects on its interval timer, so a host comes back at the first
 * tick after its ejection time has passed. */
static SimTime next_tick(SimTime t, SimTime interval)
{
    if (interval <= 0) {
        return t;
    }
    return ((t + interval - 1) / interval) * interval;
}

void upstream_report(Upstream *u, const GatewayCluster *gc, gint pod,
                     gboolean failed, SimTime now, Trace *tr,
                     const char *node)
{
    if (!gc->outlier_detection || pod < 0) {
        return;
    }
    HostHealth *h = &u->health[pod];
    if (!failed) {
        h->consecutive = 0;
        return;
    }
    h->consecutive++;
    if (h->consecutive < gc->consecutive_5xx || h->ejected_until > now) {
        return;
    }
    /* max_ejection_percent of the cluster's hosts, at least one. */
    const GArray *eps =
        endpoint_set_lookup(u->w->eps, gc->service, gc->service_port);
    guint hosts = 0, ejected = 0;
    for (guint i = 0; i < eps->len; i++) {
        const EndpointAddr *e = &g_array_index(eps, EndpointAddr, i);
        if (e->pod == NULL) {
            continue;
        }
        hosts++;
        ejected += upstream_ejected(u, (gint)e->pod->index, now);
    }
    guint allowed = MAX(1u, hosts * gc->max_ejection_percent / 100);
    if (ejected >= allowed) {
        return;
    }
    h->times++;
    SimTime dur = gc->base_ejection_time * h->times;
    dur = MIN(dur, MAX(gc->base_ejection_time, gc->max_ejection_time));
    h->ejected_until = next_tick(now + dur, gc->outlier_interval);
    u->ejected_max = MAX(u->ejected_max, h->ejected_until);
    h->consecutive = 0;
    if (tr != NULL) {
        g_autofree char *d = sim_time_format(h->ejected_until - now);
        trace_addf(tr, 8, "Envoy upstream", node, now,
                   "outlier detection: consecutive 5xx (R4.4)",
                   "pod %s ejected from cluster %s for %s (ejection %u)",
                   u->w->pods[pod].ref, gc->name, d, h->times);
    }
    g_autofree char *what = g_strdup_printf(
        "outlier detection: %s ejected from %s", u->w->pods[pod].ref, gc->name);
    results_event(u->w->results, now, what);
}

/* ---- picking a host -------------------------------------------------------- */

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

static gboolean in_subset(const GatewayCluster *gc, const EndpointAddr *e)
{
    return gc->subset_labels == NULL ||
           (e->pod != NULL && e->pod->index < gc->n_subset_pods &&
            gc->subset_pods[e->pod->index]);
}

/* Lamping and Veach's jump consistent hash: a key keeps its bucket while
 * the host set is stable, and only 1/n of the keys move when a host goes.
 * Envoy's ring hash maps keys differently but has the same property. */
static guint jump_hash(guint64 key, guint buckets)
{
    gint64 b = -1, j = 0;
    while (j < (gint64)buckets) {
        b = j;
        key = key * G_GUINT64_CONSTANT(2862933555777941757) + 1;
        j = (gint64)((double)(b + 1) *
                     ((double)(G_GINT64_CONSTANT(1) << 31) /
                      (double)((key >> 33) + 1)));
    }
    return (guint)b;
}

static const char *cookie_value(const char *cookies, const char *name,
                                char *buf, gsize len)
{
    gsize n = strlen(name);
    for (const char *p = cookies; p != NULL && *p != '\0';) {
        while (*p == ' ' || *p == ';') {
            p++;
        }
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            const char *v = p + n + 1;
            gsize l = strcspn(v, ";");
            g_strlcpy(buf, v, MIN(len, l + 1));
            return buf;
        }
        p = strchr(p, ';');
    }
    return NULL;
}

/* The value of query parameter @name, copied into @buf (@len bytes). */
static const char *query_value(const char *path, const char *name, char *buf,
                               gsize len)
{
    const char *v;
    gsize n;
    if (!gateway_query_param(path, name, &v, &n)) {
        return NULL;
    }
    g_strlcpy(buf, v, MIN(len, n + 1));
    return buf;
}

const char *upstream_hash_input(const GatewayCluster *gc,
                                const KvList *headers, const char *path,
                                const char *src_ip, char *buf, gsize len)
{
    if (gc->lb != GATEWAY_LB_RING_HASH) {
        return NULL;
    }
    switch (gc->hash) {
    case GATEWAY_HASH_HEADER:
        return kv_list_get(headers, gc->hash_key);
    case GATEWAY_HASH_COOKIE:
        return cookie_value(kv_list_get(headers, "cookie"), gc->hash_key, buf,
                            len);
    case GATEWAY_HASH_QUERY_PARAM:
        return path != NULL ? query_value(path, gc->hash_key, buf, len) : NULL;
    case GATEWAY_HASH_SOURCE_IP:
        return src_ip;
    case GATEWAY_HASH_NONE:
        break;
    }
    return NULL;
}

/* @gc's endpoints as published now (EndpointSets are immutable: a new
 * version is a new list), with their Ready ones. */
static const UpstreamEps *cluster_endpoints(Upstream *u,
                                            const GatewayCluster *gc)
{
    guint64 v = endpoint_set_version(u->w->eps);
    UpstreamEps *m = &u->recent_eps[recent_slot(gc->service_port)];
    if (m->port != gc->service_port || m->version != v) {
        m->eps = endpoint_set_lookup(u->w->eps, gc->service, gc->service_port);
        m->version = v;
        m->port = gc->service_port;
        if (m->ready_cap < m->eps->len) {
            m->ready_cap = m->eps->len;
            m->ready = g_renew(guint, m->ready, m->ready_cap);
        }
        m->n_ready = 0;
        for (guint i = 0; i < m->eps->len; i++) {
            if (g_array_index(m->eps, EndpointAddr, i).ready) {
                m->ready[m->n_ready++] = i;
            }
        }
    }
    return m;
}

gboolean upstream_pick(Upstream *u, const GatewayCluster *gc, Rng *rng,
                       const char *hash_input, const gint *avoid,
                       guint n_avoid, UpstreamHost *out, Trace *tr,
                       SimTime at, const char *node)
{
    if (gc->service == NULL || gc->service_port == NULL) {
        return FALSE;
    }
    const UpstreamEps *ce = cluster_endpoints(u, gc);
    const GArray *eps = ce->eps;
    if (u->cands_cap < eps->len) {
        u->cands_cap = MAX(eps->len, 2 * u->cands_cap);
        u->cands = g_renew(guint, u->cands, u->cands_cap);
    }
    guint n = 0;
    guint healthy = 0, ejected = 0;
    const guint *cands = u->cands;
    if (n_avoid == 0 && gc->subset_labels == NULL && at >= u->ejected_max) {
        /* What the passes below find when no host is ejected now, none
         * is to be avoided and no subset narrows the cluster: the Ready
         * endpoints, worked out once per endpoint list. (Not only until
         * the first ejection ever: once every ejection has run out, the
         * passes would find the same again.) */
        cands = ce->ready;
        n = healthy = ce->n_ready;
    }
    for (guint pass = 0; pass < 3 && n == 0 && cands == u->cands; pass++) {
        /* Pass 0: ready, in the subset, not ejected, not tried before.
         * Pass 1: previous_hosts is a preference: with every host tried,
         * any healthy one will do (host_selection_retry_max_attempts).
         * Pass 2: panic: when too few hosts are left after ejection Envoy
         * balances over all of them (R4.4; Istio's threshold is the DR's
         * minHealthPercent, 0 by default: never). */
        if (pass == 2 &&
            (healthy == 0 || 100 * (guint64)(healthy - ejected) >=
                                 (guint64)healthy * gc->healthy_panic_threshold)) {
            break;
        }
        for (guint i = 0; i < eps->len; i++) {
            const EndpointAddr *e = &g_array_index(eps, EndpointAddr, i);
            /* R4.7: Envoy balances over endpoints istiod marks HEALTHY
             * (Ready); no fallback to terminating ones. */
            if (!e->ready || !in_subset(gc, e)) {
                continue;
            }
            gint pod = e->pod != NULL ? (gint)e->pod->index : -1;
            gboolean ej = upstream_ejected(u, pod, at);
            if (pass == 0) {
                healthy++;
                ejected += ej;
            }
            if (pass < 2 && ej) {
                continue;
            }
            if (pass == 0 && avoided(pod, avoid, n_avoid)) {
                continue;
            }
            u->cands[n++] = i;
        }
    }
    if (n == 0) {
        if (tr != NULL) {
            trace_addf(tr, 8, "Envoy upstream", node, at,
                       "R4.7: no healthy endpoint -> 503 UH",
                       "cluster %s has no ready endpoint (%u known, %u "
                       "ejected)",
                       gc->name, eps->len, ejected);
        }
        return FALSE;
    }
    guint pick = 0;
    const char *why = NULL;
    switch (gc->lb) {
    case GATEWAY_LB_ROUND_ROBIN: {
        pick = cands[pool_of(u, gc)->rr++ % n];
        why = "ROUND_ROBIN (DestinationRule)";
        break;
    }
    case GATEWAY_LB_RANDOM:
        pick = cands[rng_below(rng, n)];
        why = "RANDOM (DestinationRule)";
        break;
    case GATEWAY_LB_RING_HASH:
        if (hash_input != NULL) {
            pick = cands[jump_hash(rng_hash(hash_input), n)];
            why = "consistent hash of the request's key (DestinationRule "
                  "consistentHash): the same key, the same pod";
        } else {
            pick = cands[rng_below(rng, n)];
            why = "consistent hash without its key in the request: random";
        }
        break;
    default: {
        /* Power of two choices: two random hosts, the less loaded wins
         * (Envoy least_request, choice_count 2; Istio default since 1.14).
         * A dead host that refuses at once never counts a request, so it
         * wins against any busy host: the known black-hole effect that
         * outlier detection exists for. */
        guint a = cands[rng_below(rng, n)];
        guint b = cands[rng_below(rng, n)];
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
        trace_addf(tr, 8, "Envoy upstream", node, at, why,
                   "cluster %s: endpoint %s:%d (pod %s on %s), %u healthy",
                   gc->name, e->ip, e->port,
                   e->pod != NULL ? u->w->pods[e->pod->index].ref : e->ip,
                   e->node_name != NULL ? e->node_name : "?", n);
    }
    return TRUE;
}
