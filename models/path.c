/* path.c: the nine steps as events. A request hops client -> load balancer
 * -> node (kube-proxy) -> gateway pod (Envoy: listener, Gateway server,
 * VirtualService route, cluster) -> application pod, and its answer comes
 * back the same way; every decision is made by the step's model, which
 * also tells a traced request why. */
#include "config.h"

#include <string.h>

#include "models/app.h"
#include "models/app-response.h"
#include "models/lb.h"
#include "models/path.h"
#include "models/upstream.h"
#include "sim/arena.h"
#include "sim/zero.h"

/* Linux gives up on a SYN nobody answers after 127 s (tcp_syn_retries 6,
 * spec R3.6); a client that sent into a black hole learns it then. */
#define CLIENT_SYN_TIMEOUT (127 * SIM_S)
/* Linux gives up on data nobody acknowledges after tcp_retries2 (15)
 * retransmissions, about 924.6 s (spec section 7): a request sent on an
 * established connection into a dead node waits that long. */
#define CLIENT_DATA_TIMEOUT ((SimTime)924600 * SIM_MS)
/* Envoy's jittered retry back-off base (router retry policy). */
#define RETRY_BACKOFF_BASE (25 * SIM_MS)
#define RETRY_BACKOFF_MAX (250 * SIM_MS)
/* Requests allocated per slab. */
#define SLAB_SIZE 1024
/* Each request starts on a cache line, so that its first fields, what
 * the end of a request reads (request.h), take as few lines as they can:
 * at a stride of sizeof(Request) (it was 920 bytes) each began at a
 * different offset within its line. */
#define REQUEST_STRIDE ((sizeof(Request) + 63) & ~(gsize)63)
G_STATIC_ASSERT(SLAB_SIZE * REQUEST_STRIDE + 64 <= ARENA_CHUNK);
G_STATIC_ASSERT(REQUEST_HOT_LINES <= SIM_PREFETCH_MAX);
/* A request's next event comes thousands of events later at high rates,
 * and its first lines have left the L2 by then (at the app's answer and
 * the client's, above all). The engine asks for them while the event
 * before runs (sim_engine_set_prefetch(), requests 64-byte aligned):
 * concurrent runs at 200k requests/s, 0.93 (replayed) and 0.90
 * (generated) of the CPU time; at 20k/s 0.98 and 1.02. So only while
 * this many are in flight (request_take(), request_release()): about
 * what, with the rest of a run's data, no longer stays in the 2 MB L2
 * from one event of a request to its next. Below it the prefetches only
 * cost instructions (3.3% of a request's); off again at half, so that a
 * rate near the line does not switch at every request. */
#define PREFETCH_ON_LIVE 1024
#define PREFETCH_OFF_LIVE 512

struct _Path {
    World *w;              /* borrowed */
    Arena *slabs;          /* where Request[SLAB_SIZE] blocks come from:
                            * huge pages (sim/arena.h), for the thousands
                            * in flight at high rates */
    Request *free_list;    /* reusable requests */
    guint64 next_id;       /* last id given */
    guint64 live;          /* requests handed out, not yet freed */
    PathDoneFunc done;     /* nullable hook */
    gpointer done_data;
    Rng lat;               /* "latency": every hop's delay draws */
    guint32 ev_lb, ev_node, ev_gateway, ev_connect_failed, ev_app,
        ev_app_done, ev_client;
    guint32 ev_route_timeout; /* holds no reference: no discard */
    guint32 ev_try_timeout;   /* per-try timeout; no reference either */
};

/* A client's kept-alive connection (path.h). */
struct _PathConn {
    gboolean open;         /* established: its first request was taken by
                            * the gateway (routed or answered) */
    gboolean closed;       /* closed by the server, or after a failure */
    gboolean busy;         /* a request is on it */
    gboolean lb_counted;   /* counted open by the load balancer */
    gboolean tls;          /* its TLS session is established */
    guint requests;        /* requests sent on it */
    SimTime idle_since;    /* when its last request ended */
    guint node;            /* World.nodes index the load balancer chose */
    gint node_port;        /* and its nodePort */
    guint gw_pod;          /* gateway pod of kube-proxy's DNAT */
    guint32 gw_gen;        /* that pod's generation then */
    gint gw_port;          /* the DNAT port (targetPort) */
    const char *src_at_gw; /* node IP when kube-proxy masqueraded, else NULL
                            * (the client's own address) */
};

/* ---- requests ------------------------------------------------------------ */

/* A struct from the free list (slabs), counted live, not yet set up. */
static Request *request_take(Path *p)
{
    if (p->free_list == NULL) {
        /* Not zeroed (a megabyte a slab): path_request_new() zeroes the
         * part read before it is written, orphan_attempt() copies all. */
        char *slab = arena_alloc(p->slabs, SLAB_SIZE * REQUEST_STRIDE + 64);
        slab += -(guintptr)slab & 63; /* arena pieces: 16-byte aligned */
        for (guint i = 0; i < SLAB_SIZE; i++) {
            Request *r = (Request *)(void *)(slab + i * REQUEST_STRIDE);
            r->next = p->free_list;
            p->free_list = r;
        }
    }
    Request *r = p->free_list;
    p->free_list = r->next;
    if (G_UNLIKELY(++p->live == PREFETCH_ON_LIVE)) {
        sim_engine_set_prefetch(p->w->engine, REQUEST_HOT_LINES);
    }
    return r;
}

Request *path_request_new(Path *p)
{
    Request *r = request_take(p);
    sim_zero(r, G_STRUCT_OFFSET(Request, dec_own));
    r->id = ++p->next_id;
    r->app_pod = -1;
    r->out.flags = "-";
    return r;
}

static void request_release(Path *p, Request *r)
{
    /* Before the snapshot: a shared decision is the snapshot's. dec_own
     * is not cleared: it is read only through dec, which
     * path_request_new() zeroes, and gateway_decide_shared() then
     * writes all of it (see request.h). */
    gateway_decision_drop(g_steal_pointer(&r->dec), &r->dec_own);
    gateway_snapshot_unref(r->snap);
    r->snap = NULL;
    /* A replayed request's own strings (models/replay-reader.c). */
    if (r->release_owned != NULL) {
        r->release_owned(r, r->release_data);
        r->release_owned = NULL;
    }
    g_clear_pointer(&r->owned, g_free);
    g_clear_pointer(&r->owned_headers, kv_list_free);
    g_clear_pointer(&r->resp, app_response_free);
    r->next = p->free_list;
    p->free_list = r;
    if (G_UNLIKELY(--p->live == PREFETCH_OFF_LIVE)) {
        sim_engine_set_prefetch(p->w->engine, 0);
    }
}

guint64 path_in_flight(const Path *p)
{
    return p->live;
}

/* ---- keep-alive ---------------------------------------------------------- */

PathConn *path_conn_new(Path *p)
{
    return g_new0(PathConn, 1);
}

gboolean path_conn_busy(const PathConn *c)
{
    return c->busy;
}

gboolean path_conn_reusable(const Path *p,
                            const PathConn *c,
                            SimTime now,
                            SimTime idle_timeout,
                            guint max_requests)
{
    if (c->busy || c->closed || !c->open) {
        return FALSE;
    }
    /* The gateway pod exited or crashed on a live node: its kernel closed
     * the socket and the client saw it. A dead node says nothing. */
    const PodState *gw = &p->w->pods[c->gw_pod];
    if (gw->generation != c->gw_gen && p->w->nodes[gw->node].up) {
        return FALSE;
    }
    if (idle_timeout > 0 && now - c->idle_since >= idle_timeout) {
        return FALSE;
    }
    return max_requests == 0 || c->requests < max_requests;
}

/* The connection is over: the load balancer forgets it. */
static void conn_shut(Path *p, PathConn *c)
{
    if (c->lb_counted) {
        lb_release(p->w->lb, c->node);
        c->lb_counted = FALSE;
    }
    c->closed = TRUE;
}

void path_conn_close(Path *p, PathConn *c)
{
    g_return_if_fail(c != NULL);
    /* Busy only when a run is torn down with the request in flight: that
     * request never ends, and nothing counts any more. */
    if (!c->busy) {
        conn_shut(p, c);
    }
    g_free(c);
}

/* @r's request on its kept-alive connection ended. The client drops a
 * connection whose request failed; the server closes one whose gateway
 * pod drains or is gone: Envoy answers with Connection: close while it
 * drains (Istio runs it with --drain-strategy immediate, R4.13). */
static void conn_request_done(Path *p, Request *r)
{
    PathConn *c = r->conn;
    c->busy = FALSE;
    c->idle_since = sim_now(p->w->engine);
    r->conn = NULL;
    if (r->out.kind == OUTCOME_FAILURE || !c->open) {
        conn_shut(p, c);
        return;
    }
    const PodState *gw = &p->w->pods[c->gw_pod];
    if (gw->terminating || gw->generation != c->gw_gen) {
        conn_shut(p, c);
    }
}

void path_set_done(Path *p, PathDoneFunc fn, gpointer user_data)
{
    p->done = fn;
    p->done_data = user_data;
}

static SimTime hop(Path *p, const Dist *d)
{
    return dist_draw(d, &p->lat);
}

static const char *node_name(const Path *p, guint node)
{
    return p->w->nodes[node].node->name;
}

/* ---- endings ------------------------------------------------------------- */

static void attempt_end(Path *p, Request *r);

/* The outcome is decided now; the client sees it after the way back, which
 * retraces the hops the request made up to @step. */
static void finish(Path *p, Request *r, guint step)
{
    World *w = p->w;
    const LatencySpec *lat = &w->s->latency;
    g_assert(!r->answered);
    /* Envoy resets the upstream stream of an attempt still open (route
     * timeout): its connection and its host's count are free at once. */
    attempt_end(p, r);
    r->answered = TRUE;
    SimTime back = hop(p, &lat->client_to_lb);
    r->out.phase[PHASE_CLIENT_LB] += back;
    if (step >= 3) {
        SimTime t = hop(p, &lat->lb_to_node);
        r->out.phase[PHASE_LB_NODE] += t;
        back += t;
    }
    if (step >= 5 && w->pods[r->gw_pod].node != r->node) {
        SimTime t = hop(p, &lat->node_to_node);
        r->out.phase[PHASE_NODE] += t;
        back += t;
    }
    if (step >= 9 && r->app_pod >= 0 &&
        w->pods[r->app_pod].node != w->pods[r->gw_pod].node) {
        SimTime t = hop(p, &lat->node_to_node);
        r->out.phase[PHASE_UPSTREAM] += t;
        back += t;
    }
    r->out.step = step;
    if (step >= 5 && w->pods[r->gw_pod].generation != r->gw_gen &&
        r->out.kind != OUTCOME_FAILURE) {
        /* The gateway pod that held the downstream connection is gone: the
         * client sees the connection reset, whatever the app answered. */
        if (r->tr != NULL) {
            trace_addf(r->tr, 5, "Envoy", node_name(p, w->pods[r->gw_pod].node),
                       sim_now(w->engine),
                       "the proxy exited (drain over or crash) with the "
                       "request in flight",
                       "gateway pod %s is gone: the client's connection is "
                       "reset",
                       w->pods[r->gw_pod].ref);
        }
        r->out.kind = OUTCOME_FAILURE;
        r->out.reason = FAIL_RESET;
        r->out.step = 5;
    }
    sim_schedule_in(w->engine, back, p->ev_client, 0, r);
}

static void fail(Path *p, Request *r, guint step, FailReason why,
                 SimTime after)
{
    r->out.kind = OUTCOME_FAILURE;
    r->out.reason = why;
    if (after > 0) {
        g_assert(!r->answered);
        r->answered = TRUE;
        /* The client learns of a black hole only when it gives up. */
        r->out.step = step;
        sim_schedule_in(p->w->engine, after, p->ev_client, 0, r);
        return;
    }
    finish(p, r, step);
}

static void respond(Path *p, Request *r, guint step, gint status,
                    const char *flags, gboolean from_gateway)
{
    r->out.kind = OUTCOME_RESPONSE;
    r->out.status = status;
    r->out.flags = flags;
    r->out.from_gateway = from_gateway;
    finish(p, r, step);
}

/* What the client reads, built for a traced request only (bodies cost
 * strings; a run never builds them): Envoy's own reply, the app's answer
 * as Envoy forwards it, or what a proxied stream received. The status is
 * the one the run decided; models/app-response.h writes the rest. */
static void trace_response(Path *p, Request *r)
{
    World *w = p->w;
    if (r->out.kind == OUTCOME_FAILURE) {
        return;
    }
    r->resp = app_response_new();
    const char *alpn = r->dec != NULL ? r->dec->alpn : NULL;
    gboolean head = g_strcmp0(r->method, "HEAD") == 0;
    if (r->out.kind == OUTCOME_RESPONSE &&
        (r->out.from_gateway || r->app_pod < 0 || r->dec == NULL)) {
        app_response_local_reply(r->resp, r->out.status, r->out.flags,
                                 r->dec != NULL ? r->dec->location : NULL,
                                 r->dec != NULL ? r->dec->body : NULL, alpn, head);
        return;
    }
    if (r->app_pod < 0 || r->dec == NULL) {
        return;
    }
    const PodState *ap = &w->pods[r->app_pod];
    const PodState *gw = &w->pods[r->gw_pod];
    WorkloadPreset preset =
        ap->app != NULL ? app_pod_preset(ap->app) : PRESET_NONE;
    /* tcp_proxy: the pod reads the client's own bytes (passthrough TLS
     * included); the HTTP router: the request as Envoy rewrote it. */
    gboolean proxied = r->dec->tcp;
    gboolean tls = r->scheme == URL_HTTPS || r->scheme == URL_TLS;
    g_autoptr(KvList) sent = NULL;
    AppRequest ar = {
        .method = r->method,
        .path = r->path,
        .authority = r->authority,
        .scheme = tls ? "https" : "http",
        .headers = request_headers(r),
        .remote_addr = gw->pod->ip,
        .body = r->body,
    };
    if (!proxied) {
        sent = app_request_headers_via_envoy(
            request_headers(r), r->dec,
            r->dec->tls_terminated ? "https" : "http",
            r->src_at_gw != NULL ? r->src_at_gw : r->client_ip, w->seed,
            r->id, r->attempts);
        ar.path = r->dec->path;
        ar.authority = r->dec->authority;
        ar.headers = sent;
    }
    gboolean stream = r->out.kind == OUTCOME_CONNECTION;
    app_response_build(r->resp, preset, ap->pod, &ar, r->out.status, stream);
    if (!proxied && !stream) {
        app_response_via_envoy(r->resp, alpn,
                               r->out.phase[PHASE_UPSTREAM] +
                                   r->out.phase[PHASE_APP_QUEUE] +
                                   r->out.phase[PHASE_APP_SERVICE]);
    }
}

static void on_client(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    Request *r = ev->data;
    if (r->tr != NULL) {
        trace_response(p, r);
    }
    r->out.done = sim_now(e);
    if (r->tr != NULL) {
        const char *what = r->out.kind == OUTCOME_FAILURE ? "fails"
                           : r->out.kind == OUTCOME_CONNECTION
                               ? "connection proxied"
                               : "response received";
        g_autofree char *total = sim_time_format(r->out.done - r->out.sent);
        trace_addf(r->tr, 1, "client", NULL, sim_now(e), NULL,
                   "%s after %s", what, total);
    }
    results_record(p->w->results, &r->out);
    if (r->conn != NULL) {
        conn_request_done(p, r);
    } else if (r->node_port != 0) {
        lb_release(p->w->lb, r->node);
    }
    if (p->done != NULL) {
        request_headers(r); /* the hook's (the access log's) to read */
        p->done(r, p->done_data);
    }
    r->recorded = TRUE;
    /* A request Envoy gave up on (route timeout) may still be on its way
     * to the app pod or sit there; it is released when the pod lets go of
     * it. */
    if (!r->at_app && !r->to_app && !r->connecting) {
        request_release(p, r);
    }
}

/* @r left its app pod (served, or the pod died). TRUE when the client was
 * already answered (route timeout): nothing more to do with it. */
static gboolean app_left(Path *p, Request *r)
{
    r->at_app = FALSE;
    if (!r->answered) {
        return FALSE;
    }
    if (r->recorded) {
        request_release(p, r);
    }
    return TRUE;
}

/* ---- step 1: the client sends -------------------------------------------- */

void path_send(Path *p, Request *r)
{
    World *w = p->w;
    SimTime now = sim_now(w->engine);
    r->out.sent = now;
    results_sent(w->results, now);
    if (r->conn != NULL) {
        g_assert(!r->conn->busy);
        r->conn->busy = TRUE;
        r->conn->requests++;
        r->out.reused = r->conn->open;
    }
    SimTime t = hop(p, &w->s->latency.client_to_lb);
    r->out.phase[PHASE_CLIENT_LB] += t;
    if (r->tr != NULL) {
        trace_addf(r->tr, 1, "client", NULL, now, NULL,
                   "%s %s://%s%s%s to load balancer port %d%s%s",
                   r->scheme == URL_HTTP || r->scheme == URL_HTTPS
                       ? r->method
                       : "connect",
                   url_scheme_name(r->scheme), r->authority, r->path,
                   "", r->lb_port, r->sni != NULL ? ", SNI " : ", no SNI",
                   r->sni != NULL ? r->sni : "");
    }
    sim_schedule(w->engine, now + t, p->ev_lb, 0, r);
}

/* ---- step 2: the load balancer ------------------------------------------- */

static void on_lb(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    Request *r = ev->data;
    guint node = 0;
    gint node_port = 0;
    PathConn *c = r->conn;
    if (c != NULL && c->open) {
        /* An established connection: the load balancer forwards on the
         * flow it chose for the connection's first request. */
        r->node = c->node;
        r->node_port = c->node_port;
        r->out.node = p->w->nodes[c->node].name;
        if (r->tr != NULL) {
            trace_addf(r->tr, 2, "load balancer", NULL, sim_now(e),
                       "keep-alive: a connection's packets follow its flow",
                       "established connection: forwarded to %s:%d as "
                       "before (request %u on it)",
                       r->out.node, c->node_port, c->requests);
        }
        SimTime t = hop(p, &p->w->s->latency.lb_to_node);
        r->out.phase[PHASE_LB_NODE] += t;
        sim_schedule_in(e, t, p->ev_node, 0, r);
        return;
    }
    switch (lb_pick(p->w->lb, r->lb_port, r->client_ip, &node, &node_port,
                    r->tr, sim_now(e))) {
    case LB_NO_LISTENER:
        fail(p, r, 2, FAIL_REFUSED, 0);
        return;
    case LB_NO_BACKEND:
        fail(p, r, 2, FAIL_RESET, 0);
        return;
    case LB_FORWARD:
        break;
    }
    r->node = node;
    r->node_port = node_port;
    r->out.node = p->w->nodes[node].name;
    if (c != NULL) {
        c->node = node;
        c->node_port = node_port;
        c->lb_counted = TRUE; /* released when the connection closes */
    }
    SimTime t = hop(p, &p->w->s->latency.lb_to_node);
    r->out.phase[PHASE_LB_NODE] += t;
    sim_schedule_in(e, t, p->ev_node, 0, r);
}

/* ---- steps 3 and 4: node, kube-proxy, ingressgateway Service --------------- */

/* Step 4 as people learn it: the ingressgateway Service port whose
 * nodePort this was, mapped to the targetPort of the chosen pod. */
static void trace_service_step(Path *p, Request *r, const PodState *gw,
                               gint target_port)
{
    const K8sService *svc = cluster_gateway_service(p->w->c);
    const K8sServicePort *sp = NULL;
    for (guint i = 0; svc != NULL && i < svc->ports->len; i++) {
        const K8sServicePort *x = &g_array_index(svc->ports, K8sServicePort, i);
        if (x->node_port == r->node_port) {
            sp = x;
        }
    }
    trace_addf(r->tr, 4, "ingressgateway Service", node_name(p, gw->node),
               sim_now(p->w->engine),
               "the Service's port -> targetPort mapping, endpoints from "
               "ready pods (S-2, S-4)",
               "Service %s/%s port %s%s%d (nodePort %d) -> pod %s/%s port %d "
               "on %s",
               svc != NULL ? svc->meta.ns : "?",
               svc != NULL ? svc->meta.name : "?",
               sp != NULL && sp->name != NULL ? sp->name : "",
               sp != NULL && sp->name != NULL ? " " : "",
               sp != NULL ? sp->port : 0, r->node_port, gw->pod->meta.ns,
               gw->pod->meta.name, target_port, node_name(p, gw->node));
    trace_set(r->tr, "gateway_pod", gw->ref);
}

/* Steps 3 and 4 for a request on an established connection: conntrack
 * keeps the flow's DNAT (K-23), kube-proxy's rules are not walked again,
 * and the gateway pod is the connection's. A dead node or pod on the way
 * says nothing: the client retransmits until tcp_retries2 gives up. */
static void established_at_node(Path *p, Request *r, PathConn *c)
{
    World *w = p->w;
    NodeState *ns = &w->nodes[r->node];
    PodState *gw = &w->pods[c->gw_pod];
    SimTime now = sim_now(w->engine);
    if (!ns->up) {
        if (r->tr != NULL) {
            trace_addf(r->tr, 3, "node", ns->node->name, now,
                       "an established connection into a dead node: the "
                       "client retransmits until tcp_retries2 (~924.6 s)",
                       "%s is down: the request is lost", ns->node->name);
        }
        fail(p, r, 3, FAIL_TIMEOUT, CLIENT_DATA_TIMEOUT);
        return;
    }
    r->gw_pod = c->gw_pod;
    r->gw_gen = c->gw_gen;
    r->gw_port = c->gw_port;
    r->out.gateway_pod = gw->ref;
    r->src_at_gw = c->src_at_gw != NULL ? c->src_at_gw : r->client_ip;
    if (r->tr != NULL) {
        trace_addf(r->tr, 3, "node", ns->node->name, now,
                   "K-23: conntrack keeps an established flow's DNAT; the "
                   "rules are not walked again",
                   "established connection: conntrack sends it to %s port "
                   "%d as before",
                   gw->ref, c->gw_port);
    }
    if (!w->nodes[gw->node].up) {
        if (r->tr != NULL) {
            trace_addf(r->tr, 4, "ingressgateway Service",
                       node_name(p, gw->node), now,
                       "an established connection to a pod on a dead node: "
                       "the client retransmits until tcp_retries2 (~924.6 s)",
                       "%s's node %s is down: the request is lost", gw->ref,
                       node_name(p, gw->node));
        }
        fail(p, r, 4, FAIL_TIMEOUT, CLIENT_DATA_TIMEOUT);
        return;
    }
    if (gw->generation != c->gw_gen) {
        if (r->tr != NULL) {
            trace_addf(
                r->tr, 4, "ingressgateway Service", node_name(p, gw->node), now,
                "the socket went with the process: the node answers "
                "RST",
                "gateway pod %s restarted: the connection is reset", gw->ref);
        }
        fail(p, r, 4, FAIL_RESET, 0);
        return;
    }
    SimTime t = 0;
    if (gw->node != r->node) {
        t = hop(p, &w->s->latency.node_to_node);
    }
    r->out.phase[PHASE_NODE] += t;
    sim_schedule_in(w->engine, t, p->ev_gateway, 0, r);
}

static void on_node(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    World *w = p->w;
    Request *r = ev->data;
    NodeState *ns = &w->nodes[r->node];
    SimTime now = sim_now(e);
    if (r->conn != NULL && r->conn->open) {
        established_at_node(p, r, r->conn);
        return;
    }
    if (!ns->up) {
        if (r->tr != NULL) {
            trace_addf(r->tr, 3, "node", ns->node->name, now,
                       "a down node answers nothing; the client's SYN "
                       "retransmissions give up after 127 s (R3.6)",
                       "%s is down: the SYN to port %d is lost",
                       ns->node->name, r->node_port);
        }
        fail(p, r, 3, FAIL_TIMEOUT, CLIENT_SYN_TIMEOUT);
        return;
    }
    KpPacket pkt = {
        .src_ip = r->client_ip,
        .src_addr = r->client_addr,
        .dst_ip = ns->node->ip,
        .dst_addr = ns->addr,

        .dst_port = r->node_port,
        .proto = "tcp",
    };
    KpResult res;
    kube_proxy_walk(ns->kp, ns->kp_state, &pkt, &ns->rng, now, &res, r->tr,
                    ns->node->name);
    switch (res.verdict) {
    case KP_ACCEPT_LOCAL:
        if (r->tr != NULL) {
            trace_addf(r->tr, 3, "node", ns->node->name, now,
                       "no kube-proxy rule for this port and nothing listens "
                       "on it: the kernel answers RST",
                       "nothing on %s:%d: connection refused", ns->node->ip,
                       r->node_port);
        }
        fail(p, r, 3, FAIL_REFUSED, 0);
        return;
    case KP_REJECT: /* the walk recorded the verdict and its rule */
        fail(p, r, 3, FAIL_REFUSED, 0);
        return;
    case KP_DROP:
    case KP_FORWARD: /* routed on, never answered: not for this node */
        fail(p, r, 3, FAIL_TIMEOUT, CLIENT_SYN_TIMEOUT);
        return;
    case KP_DNAT:
        break;
    }
    r->src_at_gw = res.masquerade ? ns->node->ip : r->client_ip;
    PodState *gw = world_pod_by_addr(w, res.dnat_addr);
    if (gw == NULL || !gw->is_gateway) {
        /* DNAT to an address that is no gateway pod (manual endpoints):
         * nobody answers there. */
        if (r->tr != NULL) {
            trace_addf(r->tr, 4, "ingressgateway Service", ns->node->name,
                       now, NULL,
                       "endpoint %s:%d is not a gateway pod of the scenario",
                       res.dnat_ip, res.dnat_port);
        }
        fail(p, r, 4, FAIL_TIMEOUT, CLIENT_SYN_TIMEOUT);
        return;
    }
    r->gw_pod = gw->pod->index;
    r->gw_gen = gw->generation;
    r->out.gateway_pod = gw->ref;
    r->gw_port = res.dnat_port;
    if (r->conn != NULL) {
        r->conn->gw_pod = gw->pod->index;
        r->conn->gw_gen = gw->generation;
        r->conn->gw_port = res.dnat_port;
        r->conn->src_at_gw = res.masquerade ? ns->node->ip : NULL;
    }
    if (r->tr != NULL) {
        trace_service_step(p, r, gw, res.dnat_port);
    }
    if (!w->nodes[gw->node].up) {
        if (r->tr != NULL) {
            trace_addf(r->tr, 4, "ingressgateway Service",
                       node_name(p, gw->node), now,
                       "kube-proxy still lists the endpoint until the node "
                       "is marked NotReady (S-7); a down node answers "
                       "nothing (R3.6)",
                       "pod %s is on %s, which is down: the SYN is lost",
                       gw->pod->meta.name, node_name(p, gw->node));
        }
        fail(p, r, 4, FAIL_TIMEOUT, CLIENT_SYN_TIMEOUT);
        return;
    }
    if (!gw->running) {
        if (r->tr != NULL) {
            trace_addf(r->tr, 4, "ingressgateway Service",
                       node_name(p, gw->node), now,
                       "conntrack keeps the DNAT; the pod's node answers RST "
                       "(K-23)",
                       "pod %s is not running: connection refused",
                       gw->pod->meta.name);
        }
        fail(p, r, 4, FAIL_REFUSED, 0);
        return;
    }
    SimTime t = 0;
    if (gw->node != r->node) {
        t = hop(p, &w->s->latency.node_to_node);
    }
    r->out.phase[PHASE_NODE] += t;
    sim_schedule_in(e, t, p->ev_gateway, 0, r);
}

/* ---- steps 5 to 8: the gateway pod ---------------------------------------- */

static void attempt_upstream(Path *p, Request *r);

static void on_gateway(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    World *w = p->w;
    Request *r = ev->data;
    PodState *gw = &w->pods[r->gw_pod];
    SimTime now = sim_now(e);
    gboolean tls = r->scheme == URL_HTTPS || r->scheme == URL_TLS;
    gboolean http = r->scheme == URL_HTTP || r->scheme == URL_HTTPS;
    PathConn *c = r->conn;
    gboolean resumed = tls && c != NULL && c->tls;
    r->snap = gateway_snapshot_ref(gw->gw);
    /* Only a route matching on headers reads them: loaded only then, and
     * a replayed line's then rule out a remembered decision, as they
     * live no longer than the line (Request.all_fixed). */
    gboolean reads = gateway_snapshot_reads_headers(r->snap);
    const KvList *headers = reads ? request_headers(r) : NULL;
    gboolean all_fixed = r->all_fixed && !(reads && r->owned_headers != NULL);
    GatewayRequest gr = {
        .port = r->gw_port,
        .tls = tls,
        .sni = r->sni,
        .client_anchors = r->anchors,
        .client_cert = r->client_cert,
        .tls_resumed = resumed,
        .alpn = r->alpn,
        .verify_host = r->host,
        .http = http,
        .scheme = tls ? "https" : "http",
        .method = r->method,
        .authority = r->authority,
        .path = r->path,
        .headers = headers,
        .now_unix = w->wall_epoch + now / SIM_S,
        .names_fixed = r->names_fixed,
        .all_fixed = all_fixed,
    };
    r->dec = gateway_decide_shared(r->snap, &gr, &gw->rng, &r->dec_own,
                                   r->tr, now, node_name(p, gw->node));
    if (r->tr != NULL && r->anchors != NULL && r->dec->tls_terminated) {
        /* The client checked the gateway's chain and went on. */
        trace_set(r->tr, "tls_verify", "ok");
    }
    SimTime proc = hop(p, &w->s->latency.gateway);
    if (tls && !resumed && r->dec->outcome != GATEWAY_REFUSED) {
        proc += hop(p, &w->s->latency.tls_handshake);
    }
    if (c != NULL && (r->dec->outcome == GATEWAY_FORWARD ||
                      r->dec->outcome == GATEWAY_LOCAL_REPLY)) {
        c->open = TRUE;
        c->tls = c->tls || r->dec->tls_terminated;
    }
    r->out.phase[PHASE_GATEWAY] += proc;
    switch (r->dec->outcome) {
    case GATEWAY_REFUSED:
        fail(p, r, 5, FAIL_REFUSED, 0);
        return;
    case GATEWAY_RESET:
        fail(p, r, 5, FAIL_RESET, 0);
        return;
    case GATEWAY_TLS_FAILED:
        fail(p, r, 5, FAIL_TLS_HANDSHAKE, 0);
        return;
    case GATEWAY_LOCAL_REPLY:
        /* Route and cluster names are interned by the compiler. */
        r->out.route = r->dec->route;
        r->out.cluster = r->dec->cluster_name;
        respond(p, r, r->dec->step, r->dec->status, r->dec->flags,
                TRUE);
        return;
    case GATEWAY_FORWARD:
        break;
    }
    r->out.route = r->dec->route;
    r->out.cluster = r->dec->cluster->name;
    GatewayHashKind hk = r->dec->cluster->hash;
    r->hash_input = upstream_hash_input(r->dec->cluster,
                                        hk == GATEWAY_HASH_HEADER ||
                                                hk == GATEWAY_HASH_COOKIE
                                            ? request_headers(r)
                                            : r->headers,
                                        r->path,
                                        r->src_at_gw, r->hash_buf,
                                        sizeof r->hash_buf);
    r->out.phase[PHASE_GATEWAY] += r->dec->fault_delay;
    r->mark = now + proc + r->dec->fault_delay;
    r->forwarded = r->mark;
    if (r->dec->timeout > 0) {
        sim_schedule(e, r->forwarded + r->dec->timeout, p->ev_route_timeout,
                     (guint32)r->id, r);
    }
    r->connecting = TRUE;
    sim_schedule(e, r->mark, p->ev_connect_failed, 1, r); /* arg 1: go */
}

/* Step 8: Envoy picks a pod of the cluster, gets a connection from the
 * cluster's pool (circuit breakers, R4.3) and connects to it. */
static void upstream_connect(Path *p, Request *r);

static void attempt_upstream(Path *p, Request *r)
{
    World *w = p->w;
    PodState *gw = &w->pods[r->gw_pod];
    SimTime now = sim_now(w->engine);
    const char *node = node_name(p, gw->node);
    UpstreamHost h;
    if (!upstream_pick(gw->up, r->dec->cluster, &gw->rng, r->hash_input,
                       r->tried, r->attempts, &h, r->tr, now, node)) {
        respond(p, r, 8, 503, r->attempts > 0 ? "UH,URX" : "UH", TRUE);
        return;
    }
    r->tried[r->attempts++] = h.pod;
    r->app_pod = h.pod;
    if (r->tr != NULL) { /* only the trace names the address */
        g_strlcpy(r->up_ip, h.ip, sizeof r->up_ip);
    }
    r->up_port = h.port;
    if (r->tr != NULL) {
        trace_set_int(r->tr, "attempts", r->attempts);
        if (h.pod >= 0) {
            const PodState *ap = &w->pods[h.pod];
            trace_set(r->tr, "upstream_pod", ap->ref);
            trace_set(r->tr, "upstream_node", node_name(p, ap->node));
        }
    }
    /* The host first, then a stream from its pool: the request waits
     * there when every connection the circuit breaker allows is busy. */
    r->mark = now;
    switch (upstream_admit(gw->up, r->dec->cluster, r, r->tr, now, node)) {
    case UPSTREAM_OVERFLOW:
        respond(p, r, 8, 503, "UO", TRUE);
        return;
    case UPSTREAM_WAIT:
        r->pool = REQUEST_POOL_PENDING;
        return;
    case UPSTREAM_GO:
        r->pool = REQUEST_POOL_ACTIVE;
        break;
    }
    upstream_connect(p, r);
}

/* The per-try timeout that applies to an attempt, or 0. Envoy ignores one
 * that is not shorter than the route timeout. Cite: envoy
 * source/common/router/router.cc, FilterUtility::finalTimeout() ("If it's
 * >= global we just ignore it"). */
static SimTime per_try_timeout(const Request *r)
{
    const GatewayRetryPolicy *rp = r->dec->retry;
    if (rp == NULL || rp->per_try_timeout <= 0 || r->dec->tcp) {
        return 0;
    }
    if (r->dec->timeout > 0 && rp->per_try_timeout >= r->dec->timeout) {
        return 0;
    }
    return rp->per_try_timeout;
}

/* The attempt holds a connection of the pool now: connect to the host
 * chosen in attempt_upstream(). Only schedules, so it may run for a
 * waiter from inside another request's handler. */
static void upstream_connect(Path *p, Request *r)
{
    World *w = p->w;
    PodState *gw = &w->pods[r->gw_pod];
    SimTime now = sim_now(w->engine);
    const char *node = node_name(p, gw->node);
    /* The wait for a connection is spent in Envoy. */
    r->out.phase[PHASE_GATEWAY] += now - r->mark;
    r->mark = now;
    PodState *ap = r->app_pod >= 0 ? &w->pods[r->app_pod] : NULL;
    SimTime t = 0;
    if (ap != NULL && ap->node != gw->node) {
        t = hop(p, &w->s->latency.node_to_node);
    }
    if (ap == NULL || !w->nodes[ap->node].up) {
        /* SYNs into a dead node: Envoy waits its connect timeout. */
        if (r->tr != NULL) {
            g_autofree char *ct = sim_time_format(r->dec->cluster->connect_timeout);
            trace_addf(r->tr, 8, "Envoy upstream", node, now,
                       "the node is down; connect_timeout (Istio 10s, R4.2)",
                       "connect to %s:%d times out after %s", r->up_ip,
                       r->up_port, ct);
        }
        r->connecting = TRUE;
        sim_schedule_in(w->engine, r->dec->cluster->connect_timeout,
                        p->ev_connect_failed, 0, r);
        return;
    }
    if (!ap->running || !world_pod_accepts_port(ap, r->up_port)) {
        if (r->tr != NULL) {
            trace_addf(r->tr, 8, "Envoy upstream", node, now,
                       "the pod's node answers RST (R4.9)",
                       "connect to %s:%d refused (%s)", r->up_ip, r->up_port,
                       !ap->running ? "pod not running"
                                    : "no container listens on that port");
        }
        r->connecting = TRUE;
        sim_schedule_in(w->engine, 2 * t + 1, p->ev_connect_failed, 0, r);
        return;
    }
    upstream_begin(gw->up, r->app_pod);
    r->upstream_open = TRUE;
    /* Envoy arms the per-try timer when the pool hands the stream a
     * connection, not before: a connect timeout is not bounded by it.
     * Cite: envoy source/common/router/upstream_request.cc,
     * UpstreamRequest::onPoolReady() -> setupPerTryTimeout(). */
    SimTime ptt = per_try_timeout(r);
    if (ptt == 0 && r->tr != NULL && r->dec->retry != NULL &&
        r->dec->retry->per_try_timeout > 0 && !r->dec->tcp) {
        g_autofree char *pt = sim_time_format(r->dec->retry->per_try_timeout);
        g_autofree char *rt = sim_time_format(r->dec->timeout);
        trace_addf(r->tr, 8, "Envoy upstream", node, now,
                   "Envoy's router ignores a per-try timeout that is not "
                   "shorter than the route timeout (router.cc finalTimeout)",
                   "perTryTimeout %s not armed: the route timeout is %s", pt,
                   rt);
    }
    if (ptt > 0) {
        r->try_deadline = now + ptt;
        r->try_queue0 = r->out.phase[PHASE_APP_QUEUE];
        r->try_service0 = r->out.phase[PHASE_APP_SERVICE];
        sim_schedule(w->engine, r->try_deadline, p->ev_try_timeout,
                     (guint32)r->id, r);
    }
    r->out.phase[PHASE_UPSTREAM] += t;
    r->mark = now + t;
    r->to_app = TRUE;
    sim_schedule_in(w->engine, t, p->ev_app, 0, r);
}

/* The current attempt is over (answered, failed, reset or abandoned): its
 * host's active count drops, its connection goes back to the pool (to the
 * oldest pending request of the cluster, which connects now), and its
 * per-try timer is disarmed. Idempotent. */
static void attempt_end(Path *p, Request *r)
{
    r->try_deadline = 0;
    if (r->pool == REQUEST_POOL_NONE && !r->upstream_open) {
        return;
    }
    Upstream *up = p->w->pods[r->gw_pod].up;
    if (r->upstream_open) {
        upstream_end(up, r->app_pod);
        r->upstream_open = FALSE;
    }
    if (r->pool == REQUEST_POOL_PENDING) {
        /* A route timeout while it waited: the wait was spent in Envoy. */
        r->out.phase[PHASE_GATEWAY] += sim_now(p->w->engine) - r->mark;
        upstream_cancel_pending(up, r->dec->cluster, r);
    } else if (r->pool == REQUEST_POOL_ACTIVE) {
        Request *next = upstream_release(up, r->dec->cluster);
        if (next != NULL) {
            g_assert(next->pool == REQUEST_POOL_PENDING);
            next->pool = REQUEST_POOL_ACTIVE;
            if (next->tr != NULL) {
                trace_addf(next->tr, 8, "Envoy upstream",
                           node_name(p, p->w->pods[next->gw_pod].node),
                           sim_now(p->w->engine),
                           "a connection of the pool was released (R4.3)",
                           "a connection of cluster %s is free: the pending "
                           "request goes on",
                           next->dec->cluster->name);
            }
            upstream_connect(p, next);
        }
    }
    r->pool = REQUEST_POOL_NONE;
}

static gboolean retry_allowed(Path *p, Request *r, const char *why);

/* Does the route's retry_on cover an attempt that was reset (upstream
 * reset, per-try timeout) or, with @connect, whose connect failed? Envoy
 * retries a reset under reset, 5xx and gateway-error, and a connect
 * failure also under connect-failure. Cite: envoy
 * source/common/router/retry_state_impl.cc,
 * RetryStateImpl::wouldRetryFromReset(). */
static gboolean retry_covers_reset(const Request *r, gboolean connect)
{
    const GatewayRetryPolicy *rp = r->dec->retry;
    guint on =
        GATEWAY_RETRY_RESET | GATEWAY_RETRY_5XX | GATEWAY_RETRY_GATEWAY_ERROR;
    if (connect) {
        on |= GATEWAY_RETRY_CONNECT_FAILURE;
    }
    return rp != NULL && (rp->retry_on & on) != 0;
}

/* Does retry_on cover the status an attempt was answered with: 5xx,
 * gateway-error (502/503/504), retriable-4xx (409), or the codes listed
 * under retriable-status-codes (Istio's default lists none, R13)? */
static gboolean status_covered(const Request *r)
{
    const GatewayRetryPolicy *rp = r->dec->retry;
    if (rp == NULL || r->status < 400) {
        return FALSE;
    }
    guint on = rp->retry_on;
    gboolean hit = ((on & GATEWAY_RETRY_5XX) && r->status >= 500) ||
                   ((on & GATEWAY_RETRY_GATEWAY_ERROR) &&
                    (r->status == 502 || r->status == 503 ||
                     r->status == 504)) ||
                   ((on & GATEWAY_RETRY_RETRIABLE_4XX) && r->status == 409);
    for (guint i = 0; !hit && (on & GATEWAY_RETRY_RETRIABLE_STATUS_CODES) &&
                      i < rp->n_retriable_status_codes;
         i++) {
        hit = rp->retriable_status_codes[i] == r->status;
    }
    return hit;
}

/* The app answered the attempt with r->status (served, or its queue was
 * full): Envoy retries it when retry_on covers the status and attempts
 * remain; when none remain the client gets the answer flagged URX. Cite:
 * envoy router.cc onUpstreamHeaders (RetryStatus::NoRetryLimitExceeded
 * sets UpstreamRetryLimitExceeded). */
static void answered_by_app(Path *p, Request *r)
{
    gboolean covered = status_covered(r);
    if (covered &&
        retry_allowed(p, r,
                      "retry_on covers the answer's status (5xx, "
                      "gateway-error, retriable-4xx or a listed code)")) {
        return;
    }
    if (!covered && r->tr != NULL && r->dec->retry != NULL &&
        r->status >= 500) {
        const PodState *gw = &p->w->pods[r->gw_pod];
        trace_addf(r->tr, 8, "Envoy upstream", node_name(p, gw->node),
                   sim_now(p->w->engine),
                   "retry_on does not cover this status: the answer goes "
                   "back as it is (R13)",
                   "%d not retried", r->status);
    }
    respond(p, r, 9, r->status, covered ? "URX" : "-", FALSE);
}

/* Schedules another attempt when attempts remain (num_retries), after
 * Envoy's fully jittered exponential back-off: uniform in
 * [0, (2^n - 1) * 25ms), capped at 250ms. FALSE: retries exhausted (the
 * caller adds URX when retry_on covered the failure). */
static gboolean retry_allowed(Path *p, Request *r, const char *why)
{
    const GatewayRetryPolicy *rp = r->dec->retry;
    PodState *gw = &p->w->pods[r->gw_pod];
    if (rp == NULL) {
        return FALSE;
    }
    if (r->attempts > rp->num_retries || r->attempts >= REQUEST_MAX_ATTEMPTS) {
        if (r->tr != NULL) {
            trace_addf(r->tr, 8, "Envoy upstream", node_name(p, gw->node),
                       sim_now(p->w->engine),
                       "retry_on covers it, but the route's attempts are "
                       "used up: no retry, URX (R13)",
                       "retries exhausted after %u attempts (num_retries "
                       "%u)",
                       r->attempts, rp->num_retries);
        }
        return FALSE;
    }
    SimTime cap = RETRY_BACKOFF_BASE * ((1 << r->attempts) - 1);
    cap = MIN(cap, RETRY_BACKOFF_MAX);
    SimTime wait = (SimTime)(rng_double(&gw->rng) * (double)cap);
    r->out.phase[PHASE_GATEWAY] += wait;
    if (r->tr != NULL) {
        g_autofree char *ws = sim_time_format(wait);
        trace_addf(r->tr, 8, "Envoy upstream", node_name(p, gw->node),
                   sim_now(p->w->engine), why,
                   "retry %u of %u after %s, to another host "
                   "(previous_hosts)",
                   r->attempts, rp->num_retries, ws);
    }
    r->connecting = TRUE;
    sim_schedule_in(p->w->engine, wait, p->ev_connect_failed, 1, r);
    return TRUE;
}

/* Arg 1: the next attempt (after fault delay or back-off); arg 0: the
 * connect of the current one failed (refused, or timed out), retried as
 * the route's policy allows (R4.5, R4.9). */
static void on_connect_failed(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    Request *r = ev->data;
    r->connecting = FALSE;
    if (r->answered) {
        /* The route timeout answered during the wait: this event was the
         * last to hold the request once the client has seen it. */
        if (r->recorded && !r->at_app && !r->to_app) {
            request_release(p, r);
        }
        return;
    }
    if (ev->arg == 1) {
        attempt_upstream(p, r);
        return;
    }
    /* The connect attempt's time is on the way to the app. */
    r->out.phase[PHASE_UPSTREAM] += sim_now(e) - r->mark;
    attempt_end(p, r);
    PodState *gwp = &p->w->pods[r->gw_pod];
    upstream_report(gwp->up, r->dec->cluster, r->app_pod, TRUE, sim_now(e),
                    r->tr, node_name(p, gwp->node));
    gboolean covered = retry_covers_reset(r, TRUE);
    if (covered &&
        retry_allowed(p, r, "retry_on connect-failure (Istio default, R13)")) {
        return;
    }
    respond(p, r, 8, 503, covered ? "UF,URX" : "UF", TRUE);
}

/* ---- step 9: the application pod ------------------------------------------ */

static void serve(Path *p, Request *r)
{
    World *w = p->w;
    PodState *ap = &w->pods[r->app_pod];
    SimTime now = sim_now(w->engine);
    if (!r->answered) { /* an abandoned request's account is closed */
        r->out.phase[PHASE_APP_QUEUE] += now - r->mark;
    }
    SimTime t = app_pod_serve(ap->app, r, &ap->rng, &r->status, now, ap->ref,
                              node_name(p, ap->node));
    if (!r->answered) {
        r->out.phase[PHASE_APP_SERVICE] += t;
    }
    sim_schedule_in(w->engine, t, p->ev_app_done, 0, r);
}

/* The pod died with @r admitted (serving or queued): Envoy sees the
 * upstream connection reset after the request was sent, 503 UC, which
 * Istio's default retry_on does not cover (R4.9); reset, 5xx or
 * gateway-error in a VirtualService's retryOn do. */
static void reset_by_crash(Path *p, Request *r, const PodState *ap)
{
    PodState *gw = &p->w->pods[r->gw_pod];
    attempt_end(p, r);
    upstream_report(gw->up, r->dec->cluster, r->app_pod, TRUE,
                    sim_now(p->w->engine), r->tr, node_name(p, gw->node));
    gboolean covered = retry_covers_reset(r, FALSE);
    if (r->tr != NULL) {
        trace_addf(r->tr, 9, "application pod", node_name(p, ap->node),
                   sim_now(p->w->engine),
                   covered ? "an upstream reset: retry_on reset, 5xx or "
                             "gateway-error covers it (R4.9)"
                           : "an upstream reset after the request was sent "
                             "is not in Istio's default retry_on (R4.9)",
                   "pod %s died while holding the request%s",
                   ap->pod->meta.name, covered ? "" : ": 503 UC");
    }
    if (covered && retry_allowed(p, r, "retry_on covers an upstream reset")) {
        return;
    }
    respond(p, r, 9, 503, covered ? "UC,URX" : "UC", TRUE);
}

static void on_crash(World *w, guint pod, gpointer data)
{
    Path *p = data;
    AppPod *a = w->pods[pod].app;
    if (a == NULL) {
        return;
    }
    for (Request *r = app_pod_drain(a); r != NULL;) {
        Request *next = r->next;
        r->next = NULL;
        if (!app_left(p, r)) {
            reset_by_crash(p, r, &w->pods[pod]);
        }
        r = next;
    }
}

/* PASSTHROUGH (and any tcp_proxy of a TLS stream the gateway did not
 * terminate): Envoy only routed the stream by SNI, so the client's TLS
 * handshake is with the pod, which serves its own certificate; the client
 * checks that one (curl --cacert), never the gateway's. */
static gboolean pod_tls_handshake(Path *p, Request *r, const PodState *ap)
{
    World *w = p->w;
    SimTime now = sim_now(w->engine);
    g_autofree char *detail = NULL;
    g_autofree char *subject = NULL;
    gboolean traced = r->tr != NULL;
    AppTlsResult res = app_tls_handshake(
        w->c, ap->pod, ap->app != NULL ? app_pod_preset(ap->app) : PRESET_NONE,
        r->anchors, r->host, w->wall_epoch + now / SIM_S,
        traced ? &detail : NULL, traced ? &subject : NULL);
    if (traced) {
        trace_addf(r->tr, 9, "application pod", node_name(p, ap->node), now,
                   "TLS passthrough: the gateway routed the stream by SNI "
                   "without terminating it; the client's handshake is with "
                   "the pod",
                   "%s", detail);
        if (subject != NULL) {
            trace_set(r->tr, "tls_subject", subject);
        }
        if (r->anchors != NULL) {
            trace_set(r->tr, "tls_verify", res == APP_TLS_OK ? "ok" : "failed");
        }
    }
    return res == APP_TLS_OK;
}

/* A request Envoy gave up on (route timeout, or an orphaned attempt after
 * a per-try timeout) reaches its pod anyway: the pod serves it, and the
 * answer is lost; Envoy no longer counts it. */
static void abandoned_at_app(Path *p, Request *r, PodState *ap)
{
    if (world_pod_alive(p->w, ap)) {
        switch (app_pod_admit(ap->app, r)) {
        case APP_START:
            r->at_app = TRUE;
            serve(p, r);
            return;
        case APP_QUEUED:
            r->at_app = TRUE;
            return;
        case APP_REJECTED:
            break;
        }
    }
    if (r->recorded) {
        request_release(p, r);
    }
}

static void on_app(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    Request *r = ev->data;
    PodState *ap = &p->w->pods[r->app_pod];
    r->to_app = FALSE;
    r->app_gen = ap->generation;
    if (r->answered) {
        abandoned_at_app(p, r, ap);
        return;
    }
    r->out.pod = ap->ref;
    if (!world_pod_alive(p->w, ap)) {
        if (r->tr != NULL) {
            trace_addf(r->tr, 8, "Envoy upstream",
                       node_name(p, p->w->pods[r->gw_pod].node), sim_now(e),
                       "the pod died while the connection was on its way: "
                       "a connect failure (R4.9)",
                       "pod %s is gone: connect failed", ap->pod->meta.name);
        }
        /* Its pool connection stays with it until the connect failure is
         * handled; its host no longer counts it. */
        upstream_end(p->w->pods[r->gw_pod].up, r->app_pod);
        r->upstream_open = FALSE;
        r->try_deadline = 0;
        r->connecting = TRUE;
        sim_schedule_in(e, 1, p->ev_connect_failed, 0, r);
        return;
    }
    /* Not AUTO_PASSTHROUGH: there the pod's sidecar ends Istio mTLS. */
    if (r->dec != NULL && r->dec->tcp && !r->dec->tls_terminated &&
        !r->dec->cluster->sni_dnat &&
        (r->scheme == URL_HTTPS || r->scheme == URL_TLS) &&
        !pod_tls_handshake(p, r, ap)) {
        attempt_end(p, r);
        fail(p, r, 9, FAIL_TLS_HANDSHAKE, 0);
        return;
    }
    switch (app_pod_admit(ap->app, r)) {
    case APP_START:
        r->at_app = TRUE;
        serve(p, r);
        break;
    case APP_QUEUED:
        r->at_app = TRUE;
        if (r->tr != NULL) {
            trace_addf(r->tr, 9, "application pod", node_name(p, ap->node),
                       sim_now(e), "FIFO queue in front of `concurrency`",
                       "pod %s busy: queued behind %u", ap->pod->meta.name,
                       app_pod_queued(ap->app) - 1);
        }
        break;
    case APP_REJECTED:
        attempt_end(p, r);
        upstream_report(p->w->pods[r->gw_pod].up, r->dec->cluster, r->app_pod,
                        TRUE, sim_now(e), r->tr,
                        node_name(p, p->w->pods[r->gw_pod].node));
        if (r->tr != NULL) {
            trace_addf(r->tr, 9, "application pod", node_name(p, ap->node),
                       sim_now(e), "the workload's queueLimit",
                       "pod %s queue full: answers 503", ap->pod->meta.name);
        }
        r->status = 503;
        answered_by_app(p, r);
        break;
    }
}

static void on_app_done(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    World *w = p->w;
    Request *r = ev->data;
    PodState *ap = &w->pods[r->app_pod];
    if (r->app_gen != ap->generation) {
        /* Its server slot went with the crash (app_pod_drain). */
        if (!app_left(p, r)) {
            reset_by_crash(p, r, ap);
        }
        return;
    }
    Request *next = app_pod_finish(ap->app);
    if (next != NULL) {
        serve(p, next);
    }
    if (app_left(p, r)) {
        /* Envoy answered 504 UT already, or abandoned this attempt: the
         * late answer is lost. */
        return;
    }
    PodState *gw = &w->pods[r->gw_pod];
    attempt_end(p, r);
    gboolean stream = r->scheme == URL_TCP || r->scheme == URL_TLS;
    upstream_report(gw->up, r->dec->cluster, r->app_pod, r->status >= 500,
                    sim_now(e), r->tr, node_name(p, gw->node));
    if (stream) {
        r->out.kind = OUTCOME_CONNECTION;
        finish(p, r, 9);
        return;
    }
    answered_by_app(p, r);
}

/* A timeout at @now, before the hop to the app pod ends (r->mark): the
 * breakdown counts the part of the hop the client waited for, not the
 * whole hop upstream_connect() added. Shared by both timeouts. */
static void hop_cut_short(Request *r, SimTime now)
{
    if (r->to_app && now < r->mark) {
        r->out.phase[PHASE_UPSTREAM] -= r->mark - now;
    }
}

/* R13: the route timeout fires while the request is upstream: Envoy
 * answers 504 UT and resets the upstream request; the app's late answer
 * is discarded. arg: the request's id (low 32 bits), so a timer that
 * outlives its request (recycled struct) does nothing. */
static void on_route_timeout(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    Request *r = ev->data;
    if ((guint32)r->id != ev->arg || r->answered) {
        return;
    }
    if (r->tr != NULL) {
        g_autofree char *ts = sim_time_format(r->dec->timeout);
        trace_addf(r->tr, 7, "Envoy router",
                   node_name(p, p->w->pods[r->gw_pod].node), sim_now(e),
                   "VirtualService timeout (R13)",
                   "route timeout %s expired: 504 UT", ts);
    }
    PodState *gw = &p->w->pods[r->gw_pod];
    gboolean upstream = r->pool == REQUEST_POOL_ACTIVE;
    attempt_end(p, r);
    if (upstream) {
        upstream_report(gw->up, r->dec->cluster, r->app_pod, TRUE, sim_now(e),
                        r->tr, node_name(p, gw->node));
    }
    /* The breakdown counts what the client waited for: the app's part
     * ends at the deadline, queueing first, the rest service. */
    hop_cut_short(r, sim_now(e));
    SimTime waited = sim_now(e) - r->out.sent;
    for (guint i = 0; i < PHASE_N; i++) {
        if (i != PHASE_APP_QUEUE && i != PHASE_APP_SERVICE) {
            waited -= r->out.phase[i];
        }
    }
    waited = MAX(waited, 0);
    gboolean served = r->out.phase[PHASE_APP_SERVICE] > 0;
    r->out.phase[PHASE_APP_QUEUE] =
        served ? MIN(r->out.phase[PHASE_APP_QUEUE], waited) : waited;
    r->out.phase[PHASE_APP_SERVICE] = waited - r->out.phase[PHASE_APP_QUEUE];
    respond(p, r, 7, 504, "UT", TRUE);
}

/* The request continues in a new struct while @r stays behind as the
 * orphan its app pod (or the hop to it) still holds. Envoy reset that
 * attempt; the pod does not know and serves it anyway. Returns the
 * continuing request: same id, trace, decision and owned strings. */
static Request *orphan_attempt(Path *p, Request *r)
{
    /* Not path_request_new(): the continuing request keeps @r's id, and
     * no id is used up (later requests' x-request-id follow from theirs). */
    Request *c = request_take(p);
    *c = *r;
    c->next = NULL;
    c->to_app = FALSE;
    c->at_app = FALSE;
    /* Pointers into the struct itself follow the copy. */
    if (r->hash_input == r->hash_buf) {
        c->hash_input = c->hash_buf;
    }
    if (r->src_at_gw == r->client_ip) {
        c->src_at_gw = c->client_ip;
    }
    if (r->dec == &r->dec_own) {
        c->dec = &c->dec_own;
    }
    /* The orphan keeps only what the app reads (app_pod_serve(): scheme,
     * method, path); the rest now belongs to the continuing request. */
    r->orphan = TRUE;
    r->answered = TRUE;
    r->recorded = TRUE;
    r->conn = NULL;
    r->tr = NULL;
    r->snap = NULL;
    r->dec = NULL;
    r->resp = NULL;
    r->owned_headers = NULL;
    r->release_owned = NULL; /* the continuing request hands them back */
    r->headers_load = NULL;  /* ... and loads them */
    r->headers = NULL;
    r->host = r->authority = r->sni = NULL;
    r->pool = REQUEST_POOL_NONE;
    r->upstream_open = FALSE;
    r->try_deadline = 0;
    r->owned = NULL;
    if (c->owned != NULL) {
        /* Replayed strings live in the continuing request's block. */
        const char *path = c->path != NULL ? c->path : "";
        const char *method = c->method != NULL ? c->method : "";
        gsize lp = strlen(path) + 1;
        gsize lm = strlen(method) + 1;
        r->owned = g_malloc(lp + lm);
        memcpy(r->owned, path, lp);
        memcpy(r->owned + lp, method, lm);
        r->path = c->path != NULL ? r->owned : NULL;
        r->method = c->method != NULL ? r->owned + lp : NULL;
    }
    return c;
}

/* R13: the per-try timeout fired while the attempt is upstream. Envoy
 * resets the attempt (outlier detection sees a local-origin timeout) and
 * retries it when retry_on covers a reset (5xx, gateway-error, reset);
 * Istio's default retry_on does not, so the client gets 504 UT. Cite:
 * envoy source/common/router/router.cc, Filter::onPerTryTimeoutCommon().
 * The route timeout still bounds everything. */
static void on_try_timeout(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    Request *r = ev->data;
    SimTime now = sim_now(e);
    if ((guint32)r->id != ev->arg || r->answered || r->orphan ||
        r->try_deadline != now) {
        return;
    }
    PodState *gw = &p->w->pods[r->gw_pod];
    const char *node = node_name(p, gw->node);
    gboolean covered = retry_covers_reset(r, FALSE);
    if (r->tr != NULL) {
        g_autofree char *ts = sim_time_format(r->dec->retry->per_try_timeout);
        trace_addf(r->tr, 7, "Envoy router", node, now,
                   covered ? "VirtualService retries.perTryTimeout (R13); "
                             "retry_on 5xx, gateway-error or reset retries "
                             "a reset attempt"
                           : "VirtualService retries.perTryTimeout (R13); "
                             "Istio's default retry_on does not retry a "
                             "timed-out attempt",
                   "per-try timeout %s expired on attempt %u: Envoy resets "
                   "it",
                   ts, r->attempts);
    }
    /* What the client waited for at the app on this attempt ends now:
     * queueing first, then service; a hop not yet made is not counted. */
    hop_cut_short(r, now);
    SimTime at_app = MAX(now - r->mark, 0);
    gboolean served = r->out.phase[PHASE_APP_SERVICE] > r->try_service0;
    SimTime queued =
        served ? r->out.phase[PHASE_APP_QUEUE] - r->try_queue0 : at_app;
    queued = MIN(queued, at_app);
    r->out.phase[PHASE_APP_QUEUE] = r->try_queue0 + queued;
    r->out.phase[PHASE_APP_SERVICE] = r->try_service0 + (at_app - queued);
    upstream_report(gw->up, r->dec->cluster, r->app_pod, TRUE, now, r->tr, node);
    if (r->to_app || r->at_app) {
        r = orphan_attempt(p, r);
        /* The route timer points at the orphan, which ignores it. */
        if (r->dec->timeout > 0) {
            sim_schedule(e, MAX(now, r->forwarded + r->dec->timeout),
                         p->ev_route_timeout, (guint32)r->id, r);
        }
    }
    attempt_end(p, r);
    if (covered && retry_allowed(p, r,
                                 "per-try timeout; retry_on covers a "
                                 "reset attempt (R13)")) {
        return;
    }
    respond(p, r, 7, 504, covered ? "UT,URX" : "UT", TRUE);
}

/* ---- life cycle ------------------------------------------------------------ */

static void discard_request(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Path *p = ctx;
    if (ev->data != NULL) {
        request_release(p, ev->data);
    }
}

static void release_waiter(gpointer r, gpointer p)
{
    request_release(p, r);
}

Path *path_new(World *w)
{
    Path *p = g_new0(Path, 1);
    p->w = w;
    p->slabs = arena_new();
    rng_init_named(&p->lat, w->seed, "latency");
    w->crash_hook = on_crash;
    w->crash_data = p;
    SimEngine *e = w->engine;
    p->ev_lb = sim_engine_register(e, "at-load-balancer", on_lb,
                                   discard_request, p);
    p->ev_node = sim_engine_register(e, "at-node", on_node, discard_request, p);
    p->ev_gateway = sim_engine_register(e, "at-gateway", on_gateway,
                                        discard_request, p);
    p->ev_connect_failed = sim_engine_register(e, "upstream-connect",
                                               on_connect_failed,
                                               discard_request, p);
    p->ev_app = sim_engine_register(e, "at-app", on_app, discard_request, p);
    p->ev_app_done = sim_engine_register(e, "app-done", on_app_done,
                                         discard_request, p);
    p->ev_client = sim_engine_register(e, "at-client", on_client,
                                       discard_request, p);
    p->ev_route_timeout = sim_engine_register(e, "route-timeout",
                                              on_route_timeout, NULL, p);
    p->ev_try_timeout =
        sim_engine_register(e, "per-try-timeout", on_try_timeout, NULL, p);
    return p;
}

void path_free(Path *p)
{
    if (p == NULL) {
        return;
    }
    p->w->crash_hook = NULL;
    /* Requests still queued in app pods, or pending in a gateway's
     * connection pool, are reachable only from there. */
    for (guint i = 0; i < p->w->n_pods; i++) {
        if (p->w->pods[i].up != NULL) {
            upstream_drain_pending(p->w->pods[i].up, release_waiter, p);
        }
        AppPod *a = p->w->pods[i].app;
        for (Request *r = a != NULL ? app_pod_drain(a) : NULL; r != NULL;) {
            Request *n = r->next;
            request_release(p, r);
            r = n;
        }
    }
    sim_engine_clear(p->w->engine);
    arena_free(p->slabs);
    g_free(p);
}
