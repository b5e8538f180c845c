/* gateway-private.h: the compiled structures behind GatewaySnapshot, shared
 * by gateway-compile.c (istiod), gateway-listener.c (step 5), router.c
 * (step 7), config-dump.c and the gateway tests. Not for other modules. */
#pragma once

#include <glib.h>

#include "models/gateway.h"
#include "models/host.h"
#include "models/istio.h"

G_BEGIN_DECLS

/* What a filter chain does with the connection. */
typedef enum {
    GW_CHAIN_HTTP,             /* plain-text HCM (merged HTTP servers) */
    GW_CHAIN_HTTPS,            /* TLS termination + HCM */
    GW_CHAIN_TCP,              /* plain tcp_proxy */
    GW_CHAIN_TLS_TCP,          /* TLS termination + tcp_proxy (R10.1) */
    GW_CHAIN_PASSTHROUGH,      /* tcp_proxy chosen by SNI (R10.2) */
    GW_CHAIN_AUTO_PASSTHROUGH, /* SNI-DNAT tcp_proxy (R10.3) */
} GwChainKind;

/* One weighted target of a route or tcp_proxy. */
typedef struct {
    char *name;                    /* cluster name, also when missing */
    const GatewayCluster *cluster; /* NULL: no such cluster (503 NC) */
    guint weight;                  /* > 0 when several; 0 for a single one */
} GwTarget;

/* The upstream side of a route or tcp_proxy: one cluster, or weighted. */
typedef struct {
    GPtrArray *targets; /* GwTarget*, listed order, zero weights dropped */
    guint total_weight; /* sum of weights (0 for a single target) */
} GwDestinations;

typedef struct _GwRouteConfig GwRouteConfig;

typedef struct {
    GwChainKind kind;            /* what the chain does */
    guint index;                 /* position in the listener's chains */
    char **server_names;         /* NULL-terminated, sorted; NULL: match-all */
    char *server_ref;            /* "ns/gw servers[i]" (the first server for
                                  * the merged HTTP chain) */
    const IstioServer *server;   /* the server (first one for merged HTTP) */
    IstioTlsMode mode;           /* TLS mode for terminating/passthrough */
    GwRouteConfig *route_config; /* HTTP kinds; borrowed from snapshot */
    GwDestinations tcp;          /* TCP kinds: tcp_proxy targets */
    char *tcp_source;            /* "VirtualService ns/name tcp[i]" */
    char *certificate;           /* "ns/secret" or the file path, or NULL */
    TlsCert *server_cert;        /* served chain; NULL: none usable (R16) */
    TlsCert *ca;                 /* MUTUAL/OPTIONAL_MUTUAL client CA, or NULL */
    char *cert_problem;          /* why server_cert/ca is missing, or NULL */
    gboolean alpn_h2;            /* terminating HTTPS: ALPN h2,http/1.1 */
} GwFilterChain;

typedef struct {
    char *name;        /* "0.0.0.0_8080" */
    char *bind;        /* "0.0.0.0" or the server's bind */
    gboolean any_addr; /* bind is "0.0.0.0": no address to compare with
                        * the pod's, per request */
    gint port;         /* resolved (target) port */
    GPtrArray *chains; /* GwFilterChain*, owned, build order */
    HostSniTable *sni; /* server_names -> chain; match-all entry */
} GwListener;

/* How a route matches the path. */
typedef enum {
    GW_PATH_PREFIX,           /* plain string prefix (R7.4) */
    GW_PATH_EXACT,            /* whole path, query ignored */
    GW_PATH_REGEX,            /* RE2 full match, query ignored */
    GW_PATH_SEPARATED_PREFIX, /* Ingress Prefix: whole segments */
} GwPathKind;

/* A header, pseudo-header or query-parameter condition. */
typedef struct {
    char *name;          /* lower-case header name (":authority" ...) or
                          * query parameter name */
    IstioMatchKind kind; /* EXACT, PREFIX, REGEX, PRESENT */
    char *value;         /* string to compare, or NULL */
    GRegex *re;          /* compiled, anchored, for REGEX */
    gboolean invert;     /* withoutHeaders */
} GwMatcher;

typedef enum {
    GW_ACTION_ROUTE,    /* forward to clusters */
    GW_ACTION_REDIRECT, /* 301/302... with Location */
    GW_ACTION_DIRECT,   /* fixed response */
} GwActionKind;

typedef struct {
    char *name;            /* Envoy route name (http[i].name[.match
                            * name]), or NULL */
    char *display;         /* name for the trace: name, else
                            * "ns/vs http[i]" (+ " match[j]") */
    char *vs_ref;          /* "ns/name" of the VirtualService */
    guint http_index;      /* i */
    gint match_index;      /* j, -1 when the route has no match */
    GwPathKind path_kind;  /* how the path matches */
    char *path;            /* prefix / exact path / regex text */
    gsize path_len;        /* strlen(path) */
    GRegex *path_re;       /* REGEX: compiled, anchored */
    gboolean ignore_case;  /* ignoreUriCase (exact, prefix) */
    GPtrArray *headers;    /* GwMatcher* (:method, :authority, :scheme,
                            * headers, withoutHeaders), nullable */
    GPtrArray *query;      /* GwMatcher* query parameters, nullable */
    gboolean catch_all;    /* prefix "/" (or regex ".*"/"*") and no
                            * header/query matcher (R7.2) */
    char *match_text;      /* "prefix /api" for trace sentences */
    GwActionKind action;   /* what a match does */
    GwDestinations dests;  /* ROUTE */
    char *prefix_rewrite;  /* rewrite.uri, or NULL */
    GRegex *regex_rewrite; /* rewrite.uriRegexRewrite.match, or NULL */
    char *regex_sub;       /* its substitution (\1 style) */
    char *host_rewrite;    /* rewrite.authority / set :authority, or NULL */
    char *redirect_path;   /* redirect.uri or NULL */
    char *redirect_host;   /* redirect.authority or NULL */
    char *redirect_scheme; /* redirect.scheme or NULL */
    gint redirect_port;    /* 0: none */
    gboolean redirect_derive_port; /* FROM_REQUEST_PORT */
    gint redirect_code;            /* 301, 302, 303, 307, 308 */
    gint direct_status;            /* DIRECT */
    char *direct_body;             /* DIRECT body or NULL */
    SimTime timeout;               /* 0: disabled */
    gboolean has_retry;            /* retry policy present */
    GatewayRetryPolicy retry;      /* the policy */
    GArray *retry_codes;           /* gint storage behind retry.retriable_... */
    gboolean fault_delay;          /* delay configured */
    SimTime delay;                 /* fixedDelay */
    guint32 delay_ppm;             /* per million */
    gboolean fault_abort;          /* abort configured */
    gint abort_status;             /* HTTP status */
    guint32 abort_ppm;             /* per million */
    GwDestinations mirrors;        /* mirror targets (first is used) */
    GArray *mirror_ppm;            /* guint32 per mirror */
    const IstioHttpRoute *src;     /* the VS rule (header ops) */
} GwRoute;

typedef struct {
    char *name;           /* "counter.example.com:80", "blackhole:80" */
    GPtrArray *domains;   /* char*, lower-cased */
    GPtrArray *routes;    /* GwRoute* borrowed from the snapshot */
    gboolean require_tls; /* httpsRedirect: require_tls ALL */
    char *server_ref;     /* the Gateway server that made it */
} GwVirtualHost;

struct _GwRouteConfig {
    char *name;             /* "http.8080", "https.443.https.gw.ns" */
    GPtrArray *vhosts;      /* GwVirtualHost*, owned, output order */
    HostDomainTable *table; /* domains -> vhost */
};

/* Decisions remembered by the addresses of a fixed request's strings
 * (GatewayRequest.all_fixed); private to gateway-listener.c. A snapshot
 * never changes once compiled, and a configuration push makes a new one,
 * so what it remembers can never go stale. */
typedef struct _GwDecisionMemo GwDecisionMemo;

struct _GatewaySnapshot {
    gint ref;                    /* reference count; plain, not atomic: a
                                  * snapshot is its world's, and one thread
                                  * runs a world (replications are forked
                                  * processes). Every request takes a
                                  * reference at the gateway, and each
                                  * lock-prefixed add waited for the
                                  * store buffer to drain (perf annotate:
                                  * a third of on_gateway()'s samples). */
    const Cluster *cluster;      /* borrowed: must outlive the snapshot */
    const K8sPod *pod;           /* the gateway pod */
    char *pod_ref;               /* "ns/name" */
    GPtrArray *gateways;         /* IstioGateway* applying to the pod, owned,
                                  * creation order */
    GPtrArray *all_gateways;     /* IstioGateway* every parsed Gateway */
    GPtrArray *vss;              /* IstioVirtualService*, owned */
    GPtrArray *drs;              /* IstioDestinationRule*, owned */
    GPtrArray *listeners;        /* GwListener*, owned, by port */
    GPtrArray *route_configs;    /* GwRouteConfig*, owned, by name */
    GPtrArray *routes;           /* GwRoute*, owned */
    GPtrArray *clusters;         /* GatewayCluster*, owned, by name */
    GHashTable *cluster_by_name; /* name -> GatewayCluster* */
    GPtrArray *notes;            /* char*: istiod-style log lines */
    gboolean reads_headers;      /* a route matches on request headers:
                                  * gateway_decide() reads them */
    GwDecisionMemo *decisions;   /* gateway_decide_shared()'s remembered
                                  * answers (gateway-listener.c): keys in
                                  * sets of two, each pointing to a
                                  * decision requests may share; made at
                                  * the first, NULL until then */
};

/* Shared internals (module__verb). */
/* Frees a snapshot's memo and the decisions in its slots (NULL: no-op). */
void gateway__decision_memo_free(GwDecisionMemo *m);
void gateway__listener_free(gpointer p);
void gateway__route_config_free(gpointer p);
void gateway__route_free(gpointer p);
void gateway__cluster_free(gpointer p);
void gateway__destinations_clear(GwDestinations *d);

/* Picks one target of @d (weighted by @rng, or the first when @rng is NULL
 * or there is a single target). */
const GwTarget *gateway__pick_target(const GwDestinations *d, Rng *rng);

/* Step 7 on an HTTP chain (router.c): virtual host by authority, first
 * matching route, action. Fills @out. */
void router__decide(const GatewaySnapshot *s,
                    const GwRouteConfig *rc,
                    const GatewayRequest *req,
                    Rng *rng,
                    GatewayDecision *out,
                    Trace *tr,
                    SimTime at,
                    const char *node);

/* Does @r match @req (path, headers, query)? For tests and analyze. */
gboolean router__route_matches(const GwRoute *r, const GatewayRequest *req);

G_END_DECLS
