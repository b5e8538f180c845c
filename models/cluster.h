/* cluster.h: every object of a scenario's manifests in one store, with the
 * defaults SCENARIO.md promises (nodes, the istio-ingressgateway Service and
 * Deployment, pods from Deployments, IPs) filled in. Immutable after load. */
#pragma once

#include <glib.h>

#include "models/k8s.h"

G_BEGIN_DECLS

typedef struct {
    char *cluster_cidr; /* default 10.244.0.0/16 */
    char *service_cidr; /* default 10.96.0.0/12 */
} ClusterNet;

typedef struct _Cluster Cluster;
struct _Cluster {
    GPtrArray *docs;          /* YNode* documents, owned; everything else
                               * points into these */
    ClusterNet net;
    char *profile;            /* "default" or "demo" (spec.istio.profile) */
    GPtrArray *nodes;         /* K8sNode*, scenario order */
    GPtrArray *services;      /* K8sService*, input order */
    GPtrArray *deployments;   /* K8sDeployment* */
    GPtrArray *pods;          /* K8sPod*: bare Pods, then generated ones in
                               * Deployment order, ordinal order */
    GPtrArray *secrets;       /* K8sSecret* */
    GPtrArray *slices;        /* K8sEndpointSlice* given in the manifests */
    GPtrArray *namespaces;    /* K8sMeta* of Namespace objects */
    /* Istio and Ingress objects are kept as parsed metadata plus their
     * document; the gateway module reads the specs (models/istio.h). */
    GPtrArray *gateways;          /* K8sMeta* kind Gateway */
    GPtrArray *virtual_services;  /* K8sMeta* kind VirtualService */
    GPtrArray *destination_rules; /* K8sMeta* kind DestinationRule */
    GPtrArray *ingresses;         /* K8sMeta* networking.k8s.io Ingress */
    GPtrArray *ingress_classes;   /* K8sMeta* IngressClass */
    GPtrArray *skipped;           /* char* notes: "FILE:L:C: note: ..." on
                                   * kinds we do not model */
    gboolean synthesized_gateway; /* the default ingressgateway was added */
    gboolean is_view;             /* made by cluster_derive(): the object
                                   * arrays borrow from another Cluster,
                                   * except what owned_* hold */
    GPtrArray *owned_metas;       /* views: K8sMeta* added by them */
    GPtrArray *owned_secrets;     /* views: K8sSecret* added by them */
};

Cluster *cluster_new(void);
void cluster_free(Cluster *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Cluster, cluster_free)

/* Adds one manifest document (also each item of a kind: List). Unknown kinds
 * are noted in c->skipped, not errors. @doc must outlive @c: it is moved into
 * c->docs by the caller or already there. */
gboolean cluster_add_document(Cluster *c, const YNode *doc, GError **error);

/* After all documents: default nodes if none, the istio-ingressgateway
 * Service/Deployment when none exists, pods from Deployments scheduled over
 * nodes, pod IPs, cluster IPs and nodePorts. @nodes: the Scenario's nodes
 * (K8sNode*, taken over) or NULL for the default three. */
gboolean cluster_finish(Cluster *c, GPtrArray *nodes, GError **error);

/* A configuration change during a run: a view of @base whose Istio
 * objects (Gateway, VirtualService, DestinationRule) and Secrets are
 * @base's with the documents @apply (YNode*, nullable) applied (same kind,
 * namespace and name: replaced, keeping its creation time, as kubectl
 * apply updates) and the object @delete_ref ("Kind/ns/name", nullable)
 * removed. Everything else is borrowed: @base and @apply's documents must
 * outlive the view. @created: creationTimestamp (unix s) for new objects.
 * FALSE/@error when a document does not parse, or @delete_ref names
 * nothing (kubectl's NotFound). Returns: (transfer full). */
Cluster *cluster_derive(const Cluster *base, const GPtrArray *apply,
                        const char *delete_ref, gint64 created,
                        GError **error);

/* Lookups (borrowed results). */
K8sService *cluster_find_service(const Cluster *c, const char *ns,
                                 const char *name);
/* Service by FQDN "name.ns.svc.cluster.local". */
K8sService *cluster_find_service_fqdn(const Cluster *c, const char *fqdn);
K8sPod *cluster_find_pod(const Cluster *c, const char *ns, const char *name);
K8sNode *cluster_find_node(const Cluster *c, const char *name);
K8sSecret *cluster_find_secret(const Cluster *c, const char *ns,
                               const char *name);
K8sDeployment *cluster_find_deployment(const Cluster *c, const char *ns,
                                       const char *name);
/* Pods in @ns whose labels include @selector (a NULL selector selects none),
 * in Cluster.pods order. Returns: (transfer container). */
GPtrArray *cluster_select_pods(const Cluster *c, const char *ns,
                               const KvList *selector);
/* The Services whose selector matches @pod (its namespace only).
 * Returns: (transfer container). */
GPtrArray *cluster_services_for_pod(const Cluster *c, const K8sPod *pod);

/* The ingress gateway pods: pods labelled istio=ingressgateway (or
 * app=istio-ingressgateway), in Cluster.pods order. (transfer container) */
GPtrArray *cluster_gateway_pods(const Cluster *c);
/* The Service that fronts the gateway pods: istio-system/istio-ingressgateway
 * if present, else the first Service selecting a gateway pod. */
K8sService *cluster_gateway_service(const Cluster *c);

G_END_DECLS
