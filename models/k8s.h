/* k8s.h: the Kubernetes objects ingress-sim reads from manifests (Service,
 * Pod, Deployment, Node, Secret, EndpointSlice/Endpoints), as plain structs.
 * Parsed once at load (scenario -> models); read-only afterwards. */
#pragma once

#include <glib.h>

#include "models/ynode.h"

G_BEGIN_DECLS

/* An ordered list of key=value pairs (labels, selectors, annotations,
 * Secret data). Order is the manifest's, so output never depends on hashing. */
typedef struct {
    GPtrArray *keys;   /* char*, owned */
    GPtrArray *values; /* char*, owned; same length as keys */
} KvList;

KvList *kv_list_new(void);
void kv_list_free(KvList *kv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvList, kv_list_free)
void kv_list_set(KvList *kv, const char *key, const char *value);
const char *kv_list_get(const KvList *kv, const char *key); /* NULL: absent */
guint kv_list_len(const KvList *kv);
/* TRUE when every pair of @selector is in @labels (an empty or NULL selector
 * matches everything: callers that need "no selector selects nothing" check
 * for NULL themselves). */
gboolean kv_list_subset(const KvList *selector, const KvList *labels);
/* Reads a map of string values (labels, selectors) into @kv. */
gboolean kv_list_parse(KvList *kv, const YNode *map, const char *what,
                       GError **error);

/* What every object has. */
typedef struct {
    char *kind;        /* "Service", "Gateway", ... */
    char *api_version; /* "v1", "networking.istio.io/v1", ... */
    char *ns;          /* namespace, defaulted to "default" for namespaced */
    char *name;        /* metadata.name */
    KvList *labels;
    KvList *annotations;
    gint64 created;    /* creationTimestamp, unix seconds; objects without
                        * one are "created" in input order, one second apart
                        * from a fixed epoch, as kubectl apply would */
    guint order;       /* position in the input (0-based), tie-breaker */
    const YNode *doc;  /* the whole document (borrowed from Cluster) */
} K8sMeta;

/* Reads kind/apiVersion/metadata; @default_ns for objects without one. */
gboolean k8s_meta_parse(K8sMeta *meta, const YNode *doc, const char *default_ns,
                        guint order, GError **error);
void k8s_meta_clear(K8sMeta *meta);
/* Clears and frees a heap K8sMeta (Istio objects are kept as these). */
void k8s_meta_free_full(K8sMeta *meta);
/* "namespace/name" (transfer full). */
char *k8s_meta_ref(const K8sMeta *meta);
/* Istio's config order: creation time, then name, then namespace
 * (pilot/pkg/model/config.go configCompareByCreationTime). qsort-style. */
int k8s_meta_compare_created(const K8sMeta *a, const K8sMeta *b);

/* ---- Service ----------------------------------------------------------- */

typedef enum {
    K8S_SVC_CLUSTER_IP,
    K8S_SVC_NODE_PORT,
    K8S_SVC_LOAD_BALANCER,
    K8S_SVC_EXTERNAL_NAME,
} K8sServiceType;

typedef enum {
    K8S_POLICY_CLUSTER,
    K8S_POLICY_LOCAL,
} K8sTrafficPolicy;

typedef struct {
    char *name;             /* port name; NULL when unnamed */
    gint port;              /* Service (ClusterIP) port */
    gint target_port;       /* numeric targetPort; 0 when named */
    char *target_port_name; /* named targetPort, resolved per pod; or NULL */
    gint node_port;         /* 0 when none */
    char *protocol;         /* "TCP" (default), "UDP", "SCTP" */
    char *app_protocol;     /* appProtocol or NULL */
    const YNode *where;     /* the port's manifest entry */
} K8sServicePort;

typedef struct {
    K8sMeta meta;
    K8sServiceType type;
    char *cluster_ip;             /* given or allocated from serviceCIDR */
    KvList *selector;             /* NULL: no selector (manual endpoints) */
    GArray *ports;                /* K8sServicePort, manifest order */
    K8sTrafficPolicy external_policy; /* externalTrafficPolicy */
    K8sTrafficPolicy internal_policy; /* internalTrafficPolicy */
    gboolean affinity_client_ip;  /* sessionAffinity: ClientIP */
    gint affinity_timeout;        /* seconds, default 10800 */
    gint health_check_node_port;  /* LoadBalancer + Local only; else 0 */
    char *external_name;          /* ExternalName services */
    char *fqdn;                   /* name.ns.svc.cluster.local */
} K8sService;

/* ---- Pods and Deployments ----------------------------------------------- */

typedef struct {
    char *name;     /* nullable */
    gint port;      /* containerPort */
    char *protocol; /* "TCP" */
} K8sContainerPort;

typedef struct {
    char *name;       /* volume name */
    char *mount_path; /* e.g. /etc/istio/ingressgateway-certs */
} K8sVolumeMount;

typedef struct {
    char *name;
    char *image;
    GArray *ports;     /* K8sContainerPort */
    GArray *mounts;    /* K8sVolumeMount */
    gboolean has_readiness_probe; /* readinessProbe declared */
    gint probe_period;            /* its periodSeconds (default 10) */
    gint probe_failure_threshold; /* failureThreshold (default 3) */
    gint probe_success_threshold; /* successThreshold (default 1) */
} K8sContainer;

typedef struct {
    char *name;        /* volume name */
    char *secret_name; /* secret.secretName; NULL for other volume kinds */
} K8sVolume;

typedef struct {
    KvList *labels;        /* template labels */
    GPtrArray *containers; /* K8sContainer*, owned */
    GArray *volumes;       /* K8sVolume */
    char *node_name;       /* spec.nodeName or NULL */
    KvList *node_selector; /* spec.nodeSelector or NULL */
} K8sPodSpec;

typedef struct {
    K8sMeta meta;
    K8sPodSpec spec;       /* for generated pods: a copy of the template */
    char *node_name;       /* scheduled node (never NULL after load) */
    char *ip;              /* pod IP (given, or from the node's podCIDR) */
    gboolean ready;        /* readiness at time 0 (status or true) */
    char *owner;           /* "ns/deployment" or NULL for bare Pods */
    guint index;           /* position in Cluster.pods */
} K8sPod;

typedef struct {
    K8sMeta meta;
    gint replicas;      /* default 1 */
    KvList *selector;   /* spec.selector.matchLabels */
    K8sPodSpec tmpl;    /* spec.template */
} K8sDeployment;

/* ---- Nodes, Secrets ------------------------------------------------------ */

typedef struct {
    char *name;
    char *zone;       /* default "a" */
    char *ip;         /* default 192.168.0.(11+i) */
    char *pod_cidr;   /* default 10.244.<i>.0/24 */
    KvList *labels;   /* includes topology.kubernetes.io/zone */
    guint index;      /* position in Cluster.nodes */
    const YNode *where; /* scenario or manifest entry; may be NULL */
} K8sNode;

typedef struct {
    K8sMeta meta;
    char *type;    /* "kubernetes.io/tls", "Opaque", ... */
    KvList *data;  /* decoded values (data is base64-decoded; stringData
                    * taken as is); PEM stays text */
} K8sSecret;

/* ---- EndpointSlices ------------------------------------------------------ */

typedef struct {
    char *name;     /* nullable: matches the Service port name */
    gint port;
    char *protocol;
} K8sEndpointPort;

typedef struct {
    char *ip;
    gboolean ready;       /* nil means true (endpointslicecache.go) */
    gboolean serving;     /* nil means ready's value */
    gboolean terminating; /* nil means false */
    char *node_name;      /* nullable */
    char *zone;           /* nullable */
    const K8sPod *pod;    /* targetRef resolved, nullable */
} K8sEndpoint;

typedef struct {
    K8sMeta meta;
    char *service;  /* kubernetes.io/service-name label, or Endpoints name */
    GArray *ports;  /* K8sEndpointPort */
    GArray *endpoints; /* K8sEndpoint */
} K8sEndpointSlice;

void k8s_service_free(K8sService *s);
void k8s_pod_free(K8sPod *p);
void k8s_deployment_free(K8sDeployment *d);
void k8s_node_free(K8sNode *n);
void k8s_secret_free(K8sSecret *s);
void k8s_endpoint_slice_free(K8sEndpointSlice *s);

/* Parsers: each reads one manifest document (its K8sMeta already parsed
 * into @meta, which they take over) and reports located errors. */
K8sService *k8s_service_parse(K8sMeta *meta, GError **error);
K8sPod *k8s_pod_parse(K8sMeta *meta, GError **error);
K8sDeployment *k8s_deployment_parse(K8sMeta *meta, GError **error);
K8sSecret *k8s_secret_parse(K8sMeta *meta, GError **error);
K8sNode *k8s_node_parse(K8sMeta *meta, GError **error);
K8sEndpointSlice *k8s_endpoint_slice_parse(K8sMeta *meta, GError **error);
/* v1 Endpoints become one slice per subset, as the mirroring controller
 * does; returns (transfer full) an array of K8sEndpointSlice*. */
GPtrArray *k8s_endpoints_parse(K8sMeta *meta, GError **error);

/* The container port of @pod named @name, or 0. */
gint k8s_pod_named_port(const K8sPod *pod, const char *name);
/* The port @pod sees for Service port @sp: a numeric targetPort, a named
 * one resolved on @pod (nullable), else the Service port itself
 * (Kubernetes' default when the name resolves to nothing). */
gint k8s_service_port_target(const K8sServicePort *sp, const K8sPod *pod);
/* TRUE when the pod declares containerPort @port, or declares none at all
 * (a container accepts connections only on declared ports when it declares
 * any: SCENARIO.md). */
gboolean k8s_pod_accepts_port(const K8sPod *pod, gint port);
/* The image of the first container, or "". */
const char *k8s_pod_image(const K8sPod *pod);

/* "name.ns.svc.cluster.local" */
char *k8s_service_fqdn(const char *name, const char *ns);

G_END_DECLS
