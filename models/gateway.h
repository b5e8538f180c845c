/* gateway.h: the istio-ingressgateway pod as istiod configures it and Envoy
 * runs it: compile a Cluster's Gateways/VirtualServices/DestinationRules/
 * Ingresses into an immutable snapshot, then decide steps 5-7 per request. */
#pragma once

#include <glib.h>

#include "models/cluster.h"
#include "models/tls.h"
#include "models/trace.h"
#include "sim/rng.h"
#include "sim/time.h"

G_BEGIN_DECLS

/* Compiled listeners -> filter chains -> route configs -> virtual hosts ->
 * routes -> clusters for one gateway pod. Immutable and ref-counted: a
 * configuration change makes a new snapshot; requests in flight keep theirs.
 * A snapshot borrows the Cluster it was compiled from (Services, Pods,
 * Secrets): the Cluster must outlive it. */
typedef struct _GatewaySnapshot GatewaySnapshot;

/* Envoy cluster load-balancing policy (R4.1 of ingress-stages-spec). */
typedef enum {
    GATEWAY_LB_LEAST_REQUEST, /* Istio default since 1.14: power of 2 */
    GATEWAY_LB_ROUND_ROBIN,
    GATEWAY_LB_RANDOM,
    GATEWAY_LB_RING_HASH,   /* DestinationRule consistentHash */
    GATEWAY_LB_PASSTHROUGH, /* ORIGINAL_DST */
} GatewayLbPolicy;

/* What a consistent-hash policy hashes. */
typedef enum {
    GATEWAY_HASH_NONE,
    GATEWAY_HASH_HEADER,      /* hash_key names a lower-case header */
    GATEWAY_HASH_COOKIE,      /* hash_key names a cookie */
    GATEWAY_HASH_SOURCE_IP,   /* downstream address */
    GATEWAY_HASH_QUERY_PARAM, /* hash_key names a query parameter */
} GatewayHashKind;

/* One upstream cluster as step 8 reads it (Envoy LB over EDS endpoints). */
typedef struct {
    char *name; /* "outbound|80||counter.default.svc.cluster.local",
                 * or "outbound_.80_._.<fqdn>" (SNI-DNAT, R10.3) */
    char *host; /* FQDN of the Service */
    const K8sService *service;           /* never NULL for clusters that
                                          * exist (routes to a missing
                                          * cluster answer 503 NC instead) */
    const K8sServicePort *service_port;  /* the Service port, never NULL */
    gint port;                           /* Service port number */
    char *subset;                        /* DestinationRule subset or NULL */
    const KvList *subset_labels;         /* the subset's labels, nullable:
                                          * endpoints must carry them */
    guint8 *subset_pods;                 /* with subset_labels: per pod of
                                          * the cluster (K8sPod.index), 1
                                          * when its labels carry them;
                                          * worked out once, as pods'
                                          * labels do not change in a run */
    guint n_subset_pods;                 /* entries of subset_pods */
    gboolean sni_dnat;                   /* AUTO_PASSTHROUGH cluster */
    GatewayLbPolicy lb;                  /* load-balancing policy */
    GatewayHashKind hash;                /* consistent-hash key kind */
    const char *hash_key;                /* header/cookie/query name */
    SimTime connect_timeout;             /* 10 s (meshConfig) unless DR */
    guint32 max_connections;             /* circuit breakers: Istio sets */
    guint32 max_pending_requests;        /* 2^32-1 for all four unless a */
    guint32 max_requests;                /* DestinationRule connectionPool */
    guint32 max_retries;                 /* sets them (R4.3) */
    guint32 max_requests_per_connection; /* 0: unlimited */
    gboolean outlier_detection;          /* off unless DR (R4.4) */
    guint32 consecutive_5xx;             /* Envoy default 5 */
    guint32 consecutive_gateway_errors;  /* 0: not enforced */
    SimTime outlier_interval;            /* default 10 s */
    SimTime base_ejection_time;          /* default 30 s */
    SimTime max_ejection_time;           /* default 300 s */
    guint32 max_ejection_percent;        /* default 10 */
    guint32 healthy_panic_threshold;     /* percent; 50 Envoy default, DR
                                          * minHealthPercent (0) with
                                          * outlier detection */
    const char *destination_rule;        /* "ns/name" applied, or NULL */
    guint index;                         /* position in the snapshot's
                                          * cluster list: key for per-cluster
                                          * state kept by step 8 */
} GatewayCluster;

/* Retry-on conditions (Envoy x-envoy-retry-on values). */
typedef enum {
    GATEWAY_RETRY_CONNECT_FAILURE = 1 << 0,
    GATEWAY_RETRY_REFUSED_STREAM = 1 << 1,
    GATEWAY_RETRY_UNAVAILABLE = 1 << 2, /* gRPC */
    GATEWAY_RETRY_CANCELLED = 1 << 3,   /* gRPC */
    GATEWAY_RETRY_RETRIABLE_STATUS_CODES = 1 << 4,
    GATEWAY_RETRY_5XX = 1 << 5,
    GATEWAY_RETRY_GATEWAY_ERROR = 1 << 6, /* 502, 503, 504 */
    GATEWAY_RETRY_RESET = 1 << 7,
    GATEWAY_RETRY_RETRIABLE_4XX = 1 << 8,       /* 409 */
    GATEWAY_RETRY_DEADLINE_EXCEEDED = 1 << 9,   /* gRPC */
    GATEWAY_RETRY_RESOURCE_EXHAUSTED = 1 << 10, /* gRPC */
    GATEWAY_RETRY_INTERNAL = 1 << 11,           /* gRPC */
} GatewayRetryOn;

/* A route's retry policy (R13). */
typedef struct {
    guint32 num_retries;                 /* default 2: up to 3 attempts */
    guint retry_on;                      /* GatewayRetryOn bits */
    SimTime per_try_timeout;             /* 0: none */
    const gint *retriable_status_codes;  /* numbers from retryOn */
    guint n_retriable_status_codes;      /* length of the above; 0 by default */
    gboolean previous_hosts;             /* retry to another endpoint (omitted
                                          * for consistent-hash clusters) */
    guint32 host_selection_max_attempts; /* 5 */
} GatewayRetryPolicy;

/* One request (or connection) as it reaches the gateway pod. All strings
 * are borrowed for the duration of gateway_decide(). */
typedef struct {
    gint port;               /* destination port on the pod (targetPort
                              * after kube-proxy DNAT, e.g. 8080) */
    gboolean tls;            /* the connection starts with a ClientHello */
    const char *sni;         /* nullable: no SNI */
    const char *const *alpn; /* NULL-terminated ALPN offer, nullable */
    const TlsCert *client_anchors; /* nullable: client does not verify (curl
                                    * -k); else chain + hostname checked */
    const TlsCert *client_cert;    /* nullable: client certificate (MUTUAL) */
    gboolean tls_resumed;          /* the handshake was made earlier on this
                                    * (kept-alive) connection: the chain is
                                    * found again, nothing is checked */
    const char *verify_host;       /* host name the client checks (URL host) */
    gboolean http;                 /* an HTTP request follows (http/https
                                    * URLs); FALSE for tcp/tls streams */
    const char *scheme;            /* "http" / "https" (x-forwarded-proto) */
    const char *method;            /* "GET" ... */
    const char *authority;         /* raw Host incl. port */
    const char *path;              /* path with query */
    const KvList *headers;         /* lower-case names; nullable */
    gint64 now_unix;               /* wall clock for certificate validity */
    gboolean names_fixed;          /* sni and authority never change while
                                    * the snapshot lives: their lookups
                                    * are remembered by address
                                    * (host_*_lookup_fixed()) */
    gboolean all_fixed;            /* names_fixed, and so are method, path,
                                    * scheme, alpn and headers (a traffic
                                    * template's, for the whole run): the
                                    * whole decision may be remembered by
                                    * these addresses (gateway_decide()) */
} GatewayRequest;

typedef enum {
    GATEWAY_REFUSED,     /* no listener on the port: pod RST (R1.3, R4.6) */
    GATEWAY_RESET,       /* accepted, closed with nothing sent: no filter
                          * chain (R9.3), TCP proxy to a missing cluster,
                          * plain text on a TLS chain */
    GATEWAY_TLS_FAILED,  /* handshake failed: no usable certificate (R16),
                          * certificate required (MUTUAL), client rejects
                          * the server certificate */
    GATEWAY_LOCAL_REPLY, /* Envoy answered: 404 NR, 301 redirect, direct
                          * response, fault abort FI, 503 NC */
    GATEWAY_FORWARD,     /* HTTP route or tcp_proxy to a cluster */
} GatewayOutcome;

const char *gateway_outcome_name(GatewayOutcome o);

/* The gateway's decision for one request. Filled by gateway_decide(); free
 * what it owns with gateway_decision_clear(). One gateway_decide_shared()
 * hands out may be the snapshot's, shared: read it, never clear it, and
 * let go of it with gateway_decision_drop(). Borrowed pointers stay valid
 * while the snapshot lives. */
typedef struct {
    GatewayOutcome outcome; /* what happened */
    guint step;             /* step (5, 6 or 7) that decided it */
    gint status;            /* LOCAL_REPLY: HTTP status; else 0 */
    const char *flags;      /* %RESPONSE_FLAGS%: "-", "NR", "NC", "FI",
                             * "DI", "DI,FI" (static strings) */
    const char *reason;     /* why (for the trace and failures); static
                             * text or reason_buf; NULL on FORWARD */
    char *reason_buf;       /* owned storage behind reason, or NULL */
    char *location;         /* owned: Location of a redirect, or NULL */
    const char *body;       /* direct response body (borrowed), or NULL */
    const GatewayCluster *cluster;   /* FORWARD: the chosen cluster */
    const char *cluster_name;        /* cluster named by the route, also when it
                                      * does not exist (NC); NULL otherwise */
    gboolean tcp;                    /* FORWARD by tcp_proxy (no HTTP) */
    gboolean tls_terminated;         /* the gateway terminated TLS */
    const char *alpn;                /* negotiated ALPN ("h2", "http/1.1") or
                                      * NULL (static string) */
    const char *path;                /* path sent upstream: the request's own
                                      * string when not rewritten, else path_buf */
    const char *authority;           /* Host sent upstream: the request's, or
                                      * authority_buf / the route's literal */
    char *path_buf;                  /* owned rewrite result, or NULL */
    char *authority_buf;             /* owned, or NULL */
    const KvList *headers_set;       /* headers.request.set of the route */
    const KvList *headers_add;       /* headers.request.add */
    const GPtrArray *headers_remove; /* headers.request.remove (char*) */
    SimTime timeout;                 /* route timeout; 0: none (R13); 504 UT is
                                      * decided downstream */
    const GatewayRetryPolicy *retry; /* NULL: no retries (attempts: 0) */
    SimTime fault_delay;             /* injected delay (flag DI), 0: none */
    const GatewayCluster *mirror;    /* mirror target chosen for this
                                      * request, or NULL */
    double mirror_fraction;          /* configured mirror percentage / 100 */
    /* Names for `trace --json` (borrowed from the snapshot, nullable): */
    const char *listener;            /* "0.0.0.0_8443" */
    const char *const *server_names; /* chain's server_names; NULL:
                                      * match-all */
    gboolean chain_matched;          /* a filter chain was selected */
    const char *certificate;         /* "istio-system/counter-cert" */
    const char *server;              /* "istio-system/public-gw servers[1]" */
    const char *route_config; /* "https.443.https.public-gw.istio-system" */
    const char *virtual_host; /* "counter.example.com:443" */
    const char *route;        /* route name, or "ns/vs http[i]" */
} GatewayDecision;

/* Compiles what istiod would push to @gw_pod (R2-R10): Gateways whose
 * selector matches the pod, merged per resolved port; VirtualServices bound
 * to them; DestinationRule subsets and policies; Kubernetes Ingresses of
 * class istio. Invalid Istio objects give a located GError (SCENARIO_ERROR,
 * "FILE:LINE:COL: error: ..."). Cost: O(servers x VSs x hosts) once.
 * Returns: (transfer full) free with gateway_snapshot_unref(). @c and
 * @gw_pod are borrowed and must outlive the snapshot. */
GatewaySnapshot *
gateway_compile(const Cluster *c, const K8sPod *gw_pod, GError **error);
/* References are counted without atomics: a snapshot and its references
 * stay on the thread that runs its world. */
GatewaySnapshot *gateway_snapshot_ref(GatewaySnapshot *s);
void gateway_snapshot_unref(GatewaySnapshot *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GatewaySnapshot, gateway_snapshot_unref)
/* Does gateway_decide() on @s ever read GatewayRequest.headers (a route
 * of it matches on headers)? FALSE: headers may be left NULL. */
gboolean gateway_snapshot_reads_headers(const GatewaySnapshot *s);

/* Steps 5-7 for one request: listener by port, filter chain by SNI, TLS,
 * the Gateway server, virtual host by authority, first matching route and
 * its action (R9). @rng (nullable: then the first/highest choice) draws
 * weighted clusters and fault/mirror percentages. @tr (nullable) gets one
 * entry per step and the trace --json keys. @out is overwritten (call
 * gateway_decision_clear() before reusing it). No allocation when nothing
 * is rewritten and @tr is NULL. For an untraced @req with all_fixed and
 * no certificates, a decision that drew nothing from @rng and owns
 * nothing is remembered in @s and handed out again for the same request:
 * a copy of about 250 bytes instead of the steps. */
void gateway_decide(const GatewaySnapshot *s,
                    const GatewayRequest *req,
                    Rng *rng,
                    GatewayDecision *out,
                    Trace *tr,
                    SimTime at,
                    const char *node);
/* gateway_decide() without that copy: returns @own, filled as
 * gateway_decide() fills @out, or a decision @s remembers, shared and
 * read-only (it owns nothing), valid until gateway_decision_drop() and
 * while @s lives. A request in flight reads its decision where it is:
 * 250 bytes fewer written per request, and what later steps read of it
 * (cluster, retries, timeout) is in lines every request shares, not in
 * its own cold ones (cachegrind, 2 MB last level: a 200k-line replay at
 * 200k lines/s missed ~4 lines a request there). Each call must be
 * matched by gateway_decision_drop() before @s's last reference goes. */
const GatewayDecision *gateway_decide_shared(const GatewaySnapshot *s,
                                             const GatewayRequest *req,
                                             Rng *rng,
                                             GatewayDecision *own,
                                             Trace *tr,
                                             SimTime at,
                                             const char *node);
void gateway_decision_clear(GatewayDecision *d);

/* Frees what @d owns and sets those pointers to NULL, leaving the other
 * fields as they were: for a decision read again only after the next
 * gateway_decide(), which overwrites all of it (a request going back to
 * its pool). Zeroing the 248 bytes as gateway_decision_clear() does was,
 * with the zeroing in gateway_decide(), twice per request. Fields that
 * pointed into the freed buffers (reason, path, authority) dangle until
 * then. NULL is a no-op. */
void gateway__decision_free_owned(GatewayDecision *d);
static inline void gateway_decision_release(GatewayDecision *d)
{
    /* Most decisions own nothing (no rewrite, no trace): four tests
     * inline, once per request, and a call only for the others. */
    if (d != NULL && (d->reason_buf != NULL || d->location != NULL ||
                      d->path_buf != NULL || d->authority_buf != NULL)) {
        gateway__decision_free_owned(d);
    }
}

/* Lets go of @d, what gateway_decide_shared() returned for @own:
 * gateway_decision_release() of @own when it is @own, else the shared
 * decision's reference. NULL @d is a no-op. */
void gateway_decision_drop(const GatewayDecision *d, GatewayDecision *own);

/* The clusters of the snapshot, sorted by name (GatewayCluster*,
 * transfer none), and a lookup by name (NULL when absent). */
const GPtrArray *gateway_clusters(const GatewaySnapshot *s);
const GatewayCluster *gateway_find_cluster(const GatewaySnapshot *s,
                                           const char *name);

/* Ports with a listener, ascending. Returns: (transfer container) array of
 * GINT_TO_POINTER(port). */
GPtrArray *gateway_listener_ports(const GatewaySnapshot *s);

/* What istiod logged while compiling (skipped servers, duplicate hosts,
 * ignored routes): "Gateway istio-system/gw2 server[0] skipped: ...".
 * (transfer none) char* array, compile order. */
const GPtrArray *gateway_notes(const GatewaySnapshot *s);

/* The gateway pod, "namespace/name". */
const char *gateway_pod_ref(const GatewaySnapshot *s);

/* Envoy admin /config_dump (v3) of the snapshot: configs[] with
 * ListenersConfigDump, RoutesConfigDump, ClustersConfigDump; deterministic
 * key order. Returns: (transfer full) pretty-printed JSON. */
char *gateway_config_dump(const GatewaySnapshot *s);

/* Finds query parameter @name in @path ("...?a=1&b=2", up to any '#'), no
 * decoding: *@val points at its value in @path, *@len bytes ("" for a
 * bare "?name"). The route matcher's and the consistent hash's reading. */
gboolean gateway_query_param(const char *path,
                             const char *name,
                             const char **val,
                             gsize *len);

G_END_DECLS
