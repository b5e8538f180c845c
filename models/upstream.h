/* upstream.h: step 8, Envoy at a gateway pod choosing an application pod
 * for a cluster from its EDS view (the EndpointSlices, lagging Kubernetes):
 * LEAST_REQUEST with two choices by default, ROUND_ROBIN, RANDOM. Not
 * kube-proxy: Envoy connects to the pod IP itself (spec R0.1). */
#pragma once

#include <glib.h>

#include "models/gateway.h"
#include "models/world.h"

G_BEGIN_DECLS

/* Envoy's upstream state of gateway pod @gw_pod (active requests per host,
 * round-robin cursors). */
Upstream *upstream_new(World *w);
void upstream_free(Upstream *u);

typedef struct {
    gint pod;        /* World.pods index, or -1 for a manual endpoint */
    const char *ip;  /* endpoint address (borrowed from the endpoint set) */
    gint port;       /* endpoint port */
} UpstreamHost;

/* Picks a healthy endpoint of @gc, avoiding the pods in @avoid (Envoy's
 * previous_hosts retry predicate). FALSE: no healthy upstream (503 UH). */
gboolean upstream_pick(Upstream *u, const GatewayCluster *gc, Rng *rng,
                       const gint *avoid, guint n_avoid, UpstreamHost *out,
                       Trace *tr, SimTime at, const char *node);
/* A request to @pod started / ended (LEAST_REQUEST counts). */
void upstream_begin(Upstream *u, gint pod);
void upstream_end(Upstream *u, gint pod);

G_END_DECLS
