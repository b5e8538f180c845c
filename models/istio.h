/* istio.h: the specs of Istio Gateway, VirtualService and DestinationRule
 * and of Kubernetes Ingress/IngressClass, read from their YAML documents
 * (scenario -> models) for the gateway compiler (models/gateway-compile.c). */
#pragma once

#include <glib.h>

#include "models/k8s.h"
#include "models/ynode.h"
#include "sim/time.h"

G_BEGIN_DECLS

/* ---- Gateway --------------------------------------------------------------
 */

/* Server protocols (case-insensitive in manifests).
 * Cite: istio pkg/config/protocol/instance.go, Parse(). R4.1. */
typedef enum {
    ISTIO_PROTO_HTTP,
    ISTIO_PROTO_HTTP2,
    ISTIO_PROTO_GRPC,
    ISTIO_PROTO_GRPC_WEB,
    ISTIO_PROTO_HTTP_PROXY,
    ISTIO_PROTO_HTTPS,
    ISTIO_PROTO_TCP,
    ISTIO_PROTO_TLS,
    ISTIO_PROTO_MONGO,
    ISTIO_PROTO_MYSQL,
    ISTIO_PROTO_REDIS,
    ISTIO_PROTO_UNSUPPORTED, /* anything else: treated as TCP by istiod */
} IstioProtocol;

/* TRUE for HTTP, HTTP2, GRPC, GRPC-WEB, HTTP_PROXY (not HTTPS). */
gboolean istio_protocol_is_http(IstioProtocol p);

/* ServerTLSSettings.TLSmode; PASSTHROUGH is the proto's 0, the default.
 * Cite: istio api networking/v1alpha3/gateway.proto. R11. */
typedef enum {
    ISTIO_TLS_PASSTHROUGH = 0,
    ISTIO_TLS_SIMPLE,
    ISTIO_TLS_MUTUAL,
    ISTIO_TLS_AUTO_PASSTHROUGH,
    ISTIO_TLS_ISTIO_MUTUAL,
    ISTIO_TLS_OPTIONAL_MUTUAL,
} IstioTlsMode;

const char *istio_tls_mode_name(IstioTlsMode m);

typedef struct {
    gboolean present;             /* the server has a `tls` block */
    IstioTlsMode mode;            /* default PASSTHROUGH (proto zero value) */
    gboolean https_redirect;      /* tls.httpsRedirect */
    char *credential_name;        /* Secret in the gateway pod's namespace */
    char *server_certificate;     /* file path (mounted Secret) or NULL */
    char *private_key;            /* file path or NULL */
    char *ca_certificates;        /* file path or NULL */
    GPtrArray *subject_alt_names; /* char*, for MUTUAL client certs */
    const YNode *where;           /* the tls block */
} IstioServerTls;

typedef struct {
    gint number;            /* port.number as written (e.g. 80, 443) */
    char *port_name;        /* port.name ("" when absent) */
    char *protocol_text;    /* port.protocol upper-cased ("HTTP") */
    IstioProtocol protocol; /* parsed protocol */
    char *bind;             /* NULL: 0.0.0.0 */
    GPtrArray *hosts;       /* char*, after sanitizeServerHostNamespace:
                             * "./h" -> "<gwns>/h", "* /h" -> "h",
                             * "* / *" -> "*" (R5.1) */
    IstioServerTls tls;     /* tls settings */
    guint index;            /* position in spec.servers (0-based) */
    const YNode *where;     /* the server entry */
} IstioServer;

typedef struct {
    const K8sMeta *meta; /* borrowed from the Cluster, or synthesized
                          * (then owned_meta holds it) */
    K8sMeta *owned_meta; /* non-NULL for Gateways made from an Ingress */
    char *ref;           /* "namespace/name" (R2.4) */
    KvList *selector;    /* spec.selector; empty: every gateway pod */
    GPtrArray *servers;  /* IstioServer*, spec order */
} IstioGateway;

/* ---- VirtualService -------------------------------------------------------
 */

typedef enum {
    ISTIO_MATCH_NONE,    /* no condition (absent) */
    ISTIO_MATCH_EXACT,   /* exact string */
    ISTIO_MATCH_PREFIX,  /* string prefix */
    ISTIO_MATCH_REGEX,   /* RE2, must match the whole value */
    ISTIO_MATCH_PRESENT, /* header/query present (empty match {}) */
    ISTIO_MATCH_PATH_SEPARATED_PREFIX, /* Ingress Prefix: whole segments */
} IstioMatchKind;

typedef struct {
    IstioMatchKind kind; /* which condition */
    char *value;         /* the string, or NULL for NONE/PRESENT */
    const YNode *where;  /* where it was written */
} IstioStringMatch;

typedef struct {
    char *name;         /* header / query name (headers lower-cased) */
    IstioStringMatch m; /* the value condition */
} IstioKeyMatch;

typedef struct {
    char *name;                 /* match name (route name suffix) */
    IstioStringMatch uri;       /* uri condition */
    IstioStringMatch scheme;    /* :scheme */
    IstioStringMatch method;    /* :method */
    IstioStringMatch authority; /* :authority (raw, port included) */
    GPtrArray *headers;         /* IstioKeyMatch* */
    GPtrArray *without_headers; /* IstioKeyMatch* */
    GPtrArray *query_params;    /* IstioKeyMatch* */
    gint port;                  /* 0: any */
    KvList *source_labels;      /* NULL: none */
    char *source_namespace;     /* NULL: none */
    GPtrArray *gateways;        /* resolved "ns/name" or "mesh"; NULL: none */
    gboolean ignore_uri_case;   /* case-insensitive exact/prefix */
    const YNode *where;         /* the match entry */
} IstioHttpMatch;

typedef struct {
    char *host;          /* as written */
    char *subset;        /* NULL: none */
    gint port;           /* 0: not given */
    char *port_name;     /* Ingress backends only (service port by name) */
    gint weight;         /* 0 when absent */
    gboolean has_weight; /* weight was written */
    const YNode *where;  /* the destination */
} IstioDestination;

typedef struct {
    gboolean present;                 /* retries block given */
    gint attempts;                    /* retries.attempts */
    SimTime per_try_timeout;          /* 0: unset */
    char *retry_on;                   /* comma-separated, NULL: unset */
    gboolean retry_remote_localities; /* ignored */
} IstioRetries;

typedef struct {
    gboolean delay;       /* fault.delay given */
    SimTime fixed_delay;  /* delay.fixedDelay */
    double delay_percent; /* 0..100; unset: 0 (never), as Envoy */
    gboolean abort;       /* fault.abort given */
    gint abort_status;    /* abort.httpStatus (or a gRPC status mapped) */
    char *abort_grpc;     /* abort.grpcStatus as written, or NULL */
    double abort_percent; /* 0..100; unset: 0 (never), as Envoy */
} IstioFault;

typedef struct {
    KvList *set;       /* header -> value */
    KvList *add;       /* header -> value */
    GPtrArray *remove; /* char* */
} IstioHeaderOps;

typedef struct {
    char *name;                    /* http[i].name, NULL when absent */
    guint index;                   /* i */
    GPtrArray *matches;            /* IstioHttpMatch*; empty: match all */
    GPtrArray *route;              /* IstioDestination* */
    gboolean has_redirect;         /* redirect given */
    char *redirect_uri;            /* redirect.uri or NULL */
    char *redirect_authority;      /* redirect.authority or NULL */
    char *redirect_scheme;         /* redirect.scheme or NULL */
    gint redirect_port;            /* redirect.port, 0 none */
    gboolean redirect_derive_port; /* derivePort: FROM_REQUEST_PORT */
    gint redirect_code;            /* default 301 */
    gboolean has_direct;           /* directResponse given */
    gint direct_status;            /* directResponse.status */
    char *direct_body;             /* body string/bytes, or NULL */
    char *rewrite_uri;             /* rewrite.uri or NULL */
    char *rewrite_regex;           /* rewrite.uriRegexRewrite.match */
    char *rewrite_regex_sub;       /* rewrite.uriRegexRewrite.rewrite */
    char *rewrite_authority;       /* rewrite.authority or NULL */
    gboolean has_timeout;          /* timeout given */
    SimTime timeout;               /* 0: disabled */
    IstioRetries retries;          /* retries */
    IstioFault fault;              /* fault injection */
    GPtrArray *mirrors;            /* IstioDestination* (mirror + mirrors[]) */
    GArray *mirror_percents;       /* double per mirror, 0..100 */
    IstioHeaderOps req_headers;    /* headers.request */
    IstioHeaderOps resp_headers;   /* headers.response */
    const YNode *where;            /* the http entry */
} IstioHttpRoute;

typedef struct {
    gint port;            /* 0: any */
    GPtrArray *gateways;  /* resolved; NULL: none */
    GPtrArray *sni_hosts; /* tls only; char* */
    const YNode *where;   /* the match entry */
} IstioL4Match;

typedef struct {
    GPtrArray *matches; /* IstioL4Match*; empty: match all */
    GPtrArray *route;   /* IstioDestination* */
    guint index;        /* position in tcp[] / tls[] */
    const YNode *where; /* the entry */
} IstioL4Route;

typedef struct {
    const K8sMeta *meta;        /* borrowed, or owned_meta */
    K8sMeta *owned_meta;        /* non-NULL for VSs made from an Ingress */
    char *ref;                  /* "namespace/name" */
    GPtrArray *hosts;           /* char*, short names expanded (R5.5) */
    GPtrArray *gateways;        /* resolved refs "ns/name" or "mesh" (R6.1);
                                 * "mesh" alone when the field is absent */
    GPtrArray *http;            /* IstioHttpRoute* */
    GPtrArray *tcp;             /* IstioL4Route* */
    GPtrArray *tls;             /* IstioL4Route* */
    GPtrArray *export_to;       /* char*; empty: public ("*") */
    gboolean ingress_semantics; /* made from a Kubernetes Ingress */
} IstioVirtualService;

/* ---- DestinationRule ------------------------------------------------------
 */

typedef enum {
    ISTIO_LB_UNSET,         /* Istio default: LEAST_REQUEST */
    ISTIO_LB_LEAST_REQUEST, /* LEAST_REQUEST / LEAST_CONN */
    ISTIO_LB_ROUND_ROBIN,
    ISTIO_LB_RANDOM,
    ISTIO_LB_PASSTHROUGH,
    ISTIO_LB_CONSISTENT_HASH, /* consistentHash (ring hash / maglev) */
} IstioLbKind;

typedef enum {
    ISTIO_HASH_NONE,
    ISTIO_HASH_HEADER,      /* httpHeaderName */
    ISTIO_HASH_COOKIE,      /* httpCookie.name */
    ISTIO_HASH_SOURCE_IP,   /* useSourceIp */
    ISTIO_HASH_QUERY_PARAM, /* httpQueryParameterName */
} IstioHashKind;

typedef struct {
    gboolean set;                 /* any field of this policy given */
    IstioLbKind lb;               /* loadBalancer.simple / consistentHash */
    IstioHashKind hash;           /* consistent hash key kind */
    char *hash_key;               /* header/cookie/query name */
    gint64 max_connections;       /* connectionPool.tcp.maxConnections; -1 */
    SimTime connect_timeout;      /* connectionPool.tcp.connectTimeout; -1 */
    gint64 http1_max_pending;     /* http.http1MaxPendingRequests; -1 */
    gint64 http2_max_requests;    /* http.http2MaxRequests; -1 */
    gint64 max_requests_per_conn; /* http.maxRequestsPerConnection; -1 */
    gint64 max_retries;           /* http.maxRetries; -1 */
    gboolean outlier;             /* outlierDetection given */
    gint64 consecutive_5xx;       /* consecutive5xxErrors; -1 */
    gint64 consecutive_gw_errors; /* consecutiveGatewayErrors; -1 */
    SimTime outlier_interval;     /* interval; -1 */
    SimTime base_ejection;        /* baseEjectionTime; -1 */
    gint64 max_ejection_percent;  /* maxEjectionPercent; -1 */
    gint64 min_health_percent;    /* minHealthPercent; -1 */
} IstioTrafficPolicy;

typedef struct {
    char *name;                /* subset name */
    KvList *labels;            /* subset labels */
    IstioTrafficPolicy policy; /* subset trafficPolicy (overrides) */
    const YNode *where;        /* the subset entry */
} IstioSubset;

typedef struct {
    const K8sMeta *meta;       /* borrowed */
    char *ref;                 /* "namespace/name" */
    char *host;                /* FQDN after short-name expansion */
    IstioTrafficPolicy policy; /* top-level trafficPolicy */
    GPtrArray *subsets;        /* IstioSubset* */
    GPtrArray *export_to;      /* char* */
} IstioDestinationRule;

/* ---- Kubernetes Ingress ----------------------------------------------------
 */

typedef enum {
    INGRESS_PATH_PREFIX,
    INGRESS_PATH_EXACT,
    INGRESS_PATH_IMPLEMENTATION_SPECIFIC,
} IngressPathType;

typedef struct {
    char *path;           /* "" when absent */
    IngressPathType type; /* pathType */
    char *service;        /* backend.service.name (NULL: resource backend) */
    gint port;            /* backend.service.port.number, 0 when named */
    char *port_name;      /* backend.service.port.name or NULL */
    const YNode *where;   /* the path entry */
} IngressPath;

typedef struct {
    char *host;         /* NULL: any */
    GPtrArray *paths;   /* IngressPath*; NULL when `http` is absent */
    const YNode *where; /* the rule */
} IngressRule;

typedef struct {
    GPtrArray *hosts;  /* char* */
    char *secret_name; /* NULL when absent */
} IngressTls;

typedef struct {
    const K8sMeta *meta;          /* borrowed */
    char *class_name;             /* spec.ingressClassName or NULL */
    GPtrArray *rules;             /* IngressRule* */
    GPtrArray *tls;               /* IngressTls* */
    gboolean has_default_backend; /* spec.defaultBackend (ignored by Istio) */
} IstioIngress;

/* ---- parsing --------------------------------------------------------------
 */

IstioGateway *istio_gateway_parse(const K8sMeta *meta, GError **error);
void istio_gateway_free(IstioGateway *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IstioGateway, istio_gateway_free)

/* Parses and validates (as istiod's admission webhook would) a
 * VirtualService. Short host names are expanded in the VS namespace. */
IstioVirtualService *istio_virtual_service_parse(const K8sMeta *meta,
                                                 GError **error);
IstioVirtualService *istio_virtual_service_new(void);
void istio_virtual_service_free(IstioVirtualService *vs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IstioVirtualService, istio_virtual_service_free)

IstioDestinationRule *istio_destination_rule_parse(const K8sMeta *meta,
                                                   GError **error);
void istio_destination_rule_free(IstioDestinationRule *dr);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IstioDestinationRule, istio_destination_rule_free)

IstioIngress *istio_ingress_parse(const K8sMeta *meta, GError **error);
void istio_ingress_free(IstioIngress *in);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IstioIngress, istio_ingress_free)

/* Frees one IstioHttpRoute / IstioDestination / IstioServer (for builders
 * that synthesize them, as the Ingress conversion does). */
void istio_http_route_free(gpointer p);
void istio_destination_free(gpointer p);
void istio_server_free(gpointer p);
void istio_http_match_free(gpointer p);

/* The controller named by IngressClass @meta (spec.controller), or NULL. */
const char *istio_ingress_class_controller(const K8sMeta *meta);

/* Gateway reference resolution: "mesh" stays "mesh"; "name" and "./name"
 * -> "<ns>/name"; "ns/name" as is; dotted "name.ns[.svc.cluster.local]" ->
 * "ns/name". Returns: (transfer full).
 * Cite: istio pilot/pkg/model/config.go, resolveGatewayName(). R6.1. */
char *istio_resolve_gateway_ref(const char *ref, const char *vs_ns);

/* Destination/VS host short-name expansion: no dot -> "<h>.<ns>.svc.cluster.
 * local"; "*", dotted names and IP addresses unchanged. Returns: (transfer
 * full). Cite: istio pilot/pkg/model/config.go, ResolveShortnameToFQDN().
 * R8.1. */
char *istio_resolve_short_name(const char *host, const char *ns);

/* TRUE when @vs is visible to a proxy whose config namespace is @proxy_ns
 * (exportTo: "*", ".", or namespaces). Cite: istio push_context.go,
 * initVirtualServices(). R6.2. */
gboolean istio_exported_to(const GPtrArray *export_to,
                           const char *obj_ns,
                           const char *proxy_ns);

G_END_DECLS
