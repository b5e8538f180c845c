/* world.h: the cluster while it runs: which nodes and pods are up, what the
 * control plane believes (lagging), and the compiled snapshots each node's
 * kube-proxy and each gateway pod currently use. The steps read it; the
 * failure timeline and the control plane change it. */
#pragma once

#include <glib.h>

#include "models/endpoints.h"
#include "models/gateway.h"
#include "models/kube-proxy.h"
#include "models/name-table.h"
#include "models/results.h"
#include "models/scenario.h"
#include "sim/engine.h"
#include "sim/rng.h"

G_BEGIN_DECLS

typedef struct _Lb Lb;
typedef struct _AppPod AppPod;
typedef struct _Upstream Upstream;

typedef struct {
    const K8sNode *node;     /* the manifest node */
    const char *name;        /* node->name, interned once */
    guint32 addr;            /* node->ip, host order (0: not IPv4) */
    gboolean up;             /* answers packets */
    guint32 down_epoch;      /* bumped at each node-down: a grace period
                              * that ends after the node came back does
                              * nothing */
    KubeProxyTable *kp;      /* rules kube-proxy last wrote (owned ref) */
    KubeProxyState *kp_state;/* xt_recent lists (session affinity) */
    Rng rng;                 /* "node/<name>/kube-proxy" */
} NodeState;

typedef struct {
    const K8sPod *pod;       /* the manifest pod */
    const char *ref;         /* "ns/name", interned once */
    gboolean running;        /* process up and its node up */
    gboolean ready;          /* passes readiness (as the kubelet sees it) */
    gboolean terminating;    /* being deleted/restarted (drain) */
    gboolean is_gateway;     /* an ingress gateway pod */
    guint node;              /* index into World.nodes */
    AppPod *app;             /* queueing model; NULL for gateway pods */
    GatewaySnapshot *gw;     /* gateway pods: current config (owned ref) */
    Upstream *up;            /* gateway pods: Envoy's upstream state */
    guint32 generation;      /* bumped at each crash: requests admitted
                              * before it never complete */
    gboolean probe_failing;  /* its readiness probe fails (readiness-fail,
                              * or NotReady in the manifests): the kubelet
                              * marks it NotReady, it keeps running */
    guint32 probe_epoch;     /* bumped at each change of probe_failing: a
                              * verdict due after a newer change is void */
    Rng rng;                 /* "pod/<ns>/<name>" */
    gint accepts_port;       /* world_pod_accepts_port()'s last port, or 0 */
    gboolean accepts;        /* and its answer */
} PodState;

/* k8s_pod_accepts_port() of @ps's pod, remembered for the last port asked:
 * a pod's containers never change, and its upstream connects ask for one
 * port, request after request. */
static inline gboolean world_pod_accepts_port(PodState *ps, gint port)
{
    if (G_UNLIKELY(ps->accepts_port != port || port == 0)) {
        ps->accepts = k8s_pod_accepts_port(ps->pod, port);
        ps->accepts_port = port;
    }
    return ps->accepts;
}

typedef struct _World World;
struct _World {
    const Scenario *s;       /* borrowed; outlives the world */
    const Cluster *c;        /* s->cluster: the manifests as loaded */
    const Cluster *config;   /* the configuration now in force: c, or the
                              * newest view after apply/delete */
    GPtrArray *views;        /* Cluster* views made during the run (owned;
                              * snapshots borrow them) */
    SimEngine *engine;       /* owned */
    Results *results;        /* owned */
    NodeState *nodes;        /* one per cluster node */
    guint n_nodes;
    PodState *pods;          /* one per cluster pod */
    guint n_pods;
    PodCondition *cp;        /* control plane's view, per pod */
    EndpointSet *eps;        /* published endpoints (kube-proxy and EDS) */
    KubeProxyConfig kp_cfg;  /* kube-proxy flags */
    Lb *lb;                  /* the external load balancer */
    /* Pods by IPv4 address (host order), open addressing with linear
     * probes: looked up for every request's DNAT, where a GHashTable's
     * indirect calls cost as much as the rest of the step. */
    guint32 *addr_keys;      /* 0: empty slot */
    PodState **addr_pods;
    guint addr_mask;         /* slots - 1, slots a power of two */
    guint64 seed;            /* the run's seed (scenario or --seed) */
    NameTable *names;        /* replayed lines' methods, hosts and SNI
                              * names, interned for the world's life
                              * (models/name-table.h) */
    NameTable *paths;        /* ... and their paths, apart: a log of a
                              * million distinct paths fills its table,
                              * and must not take the hosts' room */
    gint64 wall_epoch;       /* unix seconds at simulated time 0 (TLS) */
    /* Called when a pod's process dies (crash, node down), after its
     * generation was bumped, so the path can fail what it was serving. */
    void (*crash_hook)(World *w, guint pod, gpointer data);
    gpointer crash_data;
    guint32 ev_cp_update;    /* event kinds owned by world.c */
    guint32 ev_failure;
    guint32 ev_pod_up;
    guint32 ev_pod_stop;
    guint32 ev_push;
    guint32 ev_node_grace;
    guint32 ev_probe;        /* the kubelet's readiness verdict */
    guint32 ev_probe_passes; /* a readiness-flap's end */
};

/* Builds the world at time 0 from a loaded scenario: compiles every
 * gateway pod's snapshot and every node's rules. @error: an Istio object
 * the gateway compiler rejects, with its location. */
World *world_new(const Scenario *s, guint64 seed, GError **error);
void world_free(World *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(World, world_free)

/* Schedules the scenario's failure timeline. */
void world_schedule_failures(World *w);

/* The pod with address @addr (host order, as kube-proxy's walk gives
 * it), or NULL. */
PodState *world_pod_by_addr(const World *w, guint32 addr);
NodeState *world_node(const World *w, const char *name);
/* Is the pod alive and its node up (it can answer a SYN)? */
gboolean world_pod_alive(const World *w, const PodState *p);

/* A pod's readiness changed; the control plane learns it after @lag. */
void world_pod_condition_later(World *w, guint pod, gboolean ready,
                               gboolean terminating, SimTime lag);

G_END_DECLS
