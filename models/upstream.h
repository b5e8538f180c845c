/* upstream.h: step 8, Envoy at a gateway pod choosing an application pod
 * for a cluster from its EDS view (the EndpointSlices, lagging Kubernetes):
 * LEAST_REQUEST with two choices by default, ROUND_ROBIN, RANDOM or a
 * consistent hash; circuit breakers (503 UO) and outlier ejection as a
 * DestinationRule sets them. Not kube-proxy: Envoy connects to the pod IP
 * itself (spec R0.1). */
#pragma once

#include <glib.h>

#include "models/gateway.h"
#include "models/world.h"

G_BEGIN_DECLS

/* Envoy's upstream state in one gateway pod: active requests per host and
 * per cluster, round-robin cursors, outlier detection per host. */
Upstream *upstream_new(World *w);
void upstream_free(Upstream *u);

typedef struct {
    gint pod;        /* World.pods index, or -1 for a manual endpoint */
    const char *ip;  /* endpoint address (borrowed from the endpoint set) */
    gint port;       /* endpoint port */
} UpstreamHost;

typedef enum {
    UPSTREAM_GO,       /* a connection is free: the attempt connects now */
    UPSTREAM_WAIT,     /* every allowed connection is busy: queued */
    UPSTREAM_OVERFLOW, /* circuit breaker tripped: 503 UO */
} UpstreamAdmit;

/* Circuit breakers (R4.3) for one attempt on @gc: GO counts it on a
 * connection; WAIT queues @waiter (opaque, borrowed) as a pending request
 * until a connection of @gc is released; OVERFLOW counts nothing. */
UpstreamAdmit upstream_admit(Upstream *u,
                             const GatewayCluster *gc,
                             gpointer waiter,
                             Trace *tr,
                             SimTime at,
                             const char *node);
/* An attempt counted by GO (or handed over by this function) let go of its
 * connection. Returns the oldest pending waiter, which now holds that
 * connection (it is counted: release it in turn), or NULL. */
gpointer upstream_release(Upstream *u, const GatewayCluster *gc);
/* A pending @waiter gave up (route timeout): no longer queued. */
void upstream_cancel_pending(Upstream *u,
                             const GatewayCluster *gc,
                             gpointer waiter);
/* Hands every pending waiter to @fn and empties the queues (teardown). */
void upstream_drain_pending(Upstream *u, GFunc fn, gpointer data);

/* The value a consistent-hash cluster hashes for this request (header,
 * cookie, query parameter or the source address Envoy sees), or NULL
 * (then Envoy picks at random). @src_ip: the downstream address at the
 * gateway (the node's when kube-proxy masqueraded). */
const char *upstream_hash_input(const GatewayCluster *gc,
                                const KvList *headers, const char *path,
                                const char *src_ip, char *buf, gsize len);

/* Picks a healthy endpoint of @gc, avoiding the pods in @avoid (Envoy's
 * previous_hosts retry predicate) and hosts outlier detection ejected.
 * FALSE: no healthy upstream (503 UH). */
gboolean upstream_pick(Upstream *u, const GatewayCluster *gc, Rng *rng,
                       const char *hash_input, const gint *avoid,
                       guint n_avoid, UpstreamHost *out, Trace *tr,
                       SimTime at, const char *node);
/* A request to @pod started (connected) / ended: LEAST_REQUEST counts. */
void upstream_begin(Upstream *u, gint pod);
void upstream_end(Upstream *u, gint pod);
/* How an attempt on @pod ended, for outlier detection: @failed for a 5xx,
 * a connect failure or a reset (locally originated errors count as 5xx:
 * Istio leaves split_external_local_origin_errors off). */
void upstream_report(Upstream *u, const GatewayCluster *gc, gint pod,
                     gboolean failed, SimTime now, Trace *tr,
                     const char *node);
/* Is @pod ejected from @gc's load balancing at @now? */
gboolean upstream_ejected(const Upstream *u, gint pod, SimTime now);

G_END_DECLS
