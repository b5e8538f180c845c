/* endpoints.h: the endpoints of every Service as the EndpointSlice
 * controller would publish them for a given pod state; an immutable,
 * shared snapshot that kube-proxy (step 3) and Envoy's EDS (step 8) read. */
#pragma once

#include <glib.h>

#include "models/cluster.h"

G_BEGIN_DECLS

/* What the control plane believes about one pod. */
typedef struct {
    gboolean ready;       /* Ready condition true (and its node not yet
                           * marked NotReady) */
    gboolean terminating; /* deletionTimestamp set (pod being restarted) */
    gboolean exists;      /* FALSE: no endpoint at all (pod gone) */
} PodCondition;

/* One (address, port) of a Service port, flattened from the slices. */
typedef struct {
    const char *ip;        /* borrowed from the cluster / slice */
    gint port;             /* target port on the pod */
    gboolean ready;        /* EndpointConditions, S-4 */
    gboolean serving;
    gboolean terminating;
    const char *node_name; /* nullable */
    const char *zone;      /* nullable */
    const K8sPod *pod;     /* nullable for manual endpoints */
} EndpointAddr;

typedef struct _EndpointSet EndpointSet;

/* Builds the set for every Service of @c. Services whose manifests carry
 * EndpointSlices or Endpoints use those as given; others derive from the
 * pods their selector matches, with @conds (indexed by K8sPod.index;
 * NULL: every pod as loaded). Returns: (transfer full). */
EndpointSet *endpoint_set_new(const Cluster *c, const PodCondition *conds);
EndpointSet *endpoint_set_ref(EndpointSet *es);
void endpoint_set_unref(EndpointSet *es);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EndpointSet, endpoint_set_unref)

/* The endpoints of Service port @sp of @svc, in slice order (callers sort
 * as their upstream does). Returns: (transfer none) array of EndpointAddr,
 * never NULL (empty when none). Valid while @es lives. */
const GArray *endpoint_set_lookup(const EndpointSet *es, const K8sService *svc,
                                  const K8sServicePort *sp);

/* A counter bumped for each new set, so caches can tell snapshots apart. */
guint64 endpoint_set_version(const EndpointSet *es);

G_END_DECLS
