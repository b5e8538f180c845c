/* scenario.h: a scenario file (SCENARIO.md) loaded: the Scenario document's
 * nodes, load balancer, latencies, workloads, traffic, failures and control
 * delays, with every default filled in, plus the Cluster of its manifests. */
#pragma once

#include <glib.h>

#include "models/cluster.h"
#include "models/k8s.h"
#include "sim/dist.h"
#include "sim/time.h"

G_BEGIN_DECLS

/* The longest duration a scenario (or --duration) may ask for: a month of
 * simulated time. Memory grows with it (a per-second series). */
#define SCENARIO_MAX_DURATION ((SimTime)720 * 3600 * SIM_S)

/* ---- URLs of requests ---------------------------------------------------- */

typedef enum {
    URL_HTTP,
    URL_HTTPS,
    URL_TCP,
    URL_TLS,
} UrlScheme;

typedef struct {
    UrlScheme scheme;
    char *host;      /* as written, lower-cased; Host header and SNI */
    gint port;       /* explicit, else 80 (http/tcp) or 443 (https/tls) */
    gboolean port_given; /* the URL named a port (Host then carries it) */
    char *path;      /* path with query, "/" when empty */
    char *authority; /* Host header value as curl sends it: host[:port] */
} Url;

gboolean url_parse(const char *text, Url *out, char **err_msg);
void url_clear(Url *u);
const char *url_scheme_name(UrlScheme s);

/* ---- the Scenario document ---------------------------------------------- */

/* Distinct client addresses a generator can have (198.51.100.1-250). */
#define SCENARIO_MAX_CLIENTS 250

typedef enum {
    LB_ROUND_ROBIN,
    LB_LEAST_CONNECTIONS,
    LB_SOURCE_HASH,
    LB_RANDOM,
} LbAlgorithm;

typedef struct {
    gint port;          /* the load balancer's port */
    gint node_port;     /* where it forwards on each node */
    const YNode *where; /* nullable: defaulted */
} LbListener;

typedef struct {
    gint node_port;          /* port checked on each node (TCP connect) */
    gboolean http;           /* HTTP GET expecting 200 (healthCheckNodePort) */
    SimTime interval;        /* HAProxy inter 2s (L-1) */
    SimTime timeout;         /* bounded by interval when unset (L-1) */
    gint healthy_threshold;  /* rise 2 */
    gint unhealthy_threshold;/* fall 3 */
    gboolean enabled;        /* FALSE: no checks, every backend in rotation */
} LbHealthCheck;

typedef struct {
    LbAlgorithm algorithm; /* round-robin (HAProxy default) */
    GArray *listeners;     /* LbListener */
    GPtrArray *backends;   /* char* node names; default all nodes */
    LbHealthCheck health;
} LbSpec;

typedef struct {
    Dist client_to_lb;   /* one-way client -> load balancer */
    Dist lb_to_node;     /* load balancer -> node */
    Dist node_to_node;   /* any pod-network hop between two nodes */
    Dist gateway;        /* Envoy's own processing per request */
    Dist tls_handshake;  /* extra for a TLS handshake at the gateway */
} LatencySpec;

typedef struct {
    char *path_prefix;   /* request path prefix this entry answers */
    gint status;         /* 0: keep the app's status */
    Dist delay;          /* extra service time */
    gboolean has_delay;
} WorkloadResponse;

typedef enum {
    PRESET_NONE,
    PRESET_HTTPBIN,    /* /status/N answers N, /delay/N waits N s */
    PRESET_HELLOWORLD, /* /hello answers 200 */
    PRESET_TCP_ECHO,   /* echoes, "<prefix> <line>" */
    /* Detected by image only (app_preset_for); models/app-response.c: */
    PRESET_NGINX,       /* nginx's default site, TLS with a mounted cert */
    PRESET_PRODUCTPAGE, /* bookinfo productpage (the ingress part) */
} WorkloadPreset;

typedef struct {
    char *ns;            /* namespace of the Deployment */
    char *name;          /* Deployment name */
    Dist service_time;   /* per request */
    gint concurrency;    /* requests served at once by one pod */
    gint queue_limit;    /* waiting requests beyond this get 503 */
    SimTime startup_time;/* crash -> ready again */
    GArray *responses;   /* WorkloadResponse, first match wins */
    WorkloadPreset preset;
    const YNode *where;  /* nullable for defaults */
} WorkloadSpec;

typedef struct {
    gint weight;       /* relative share */
    Url url;
    char *method;      /* default GET */
    KvList *headers;   /* lower-cased names */
    const char *authority; /* what the client sends as Host: the "host"
                            * header, else the URL's (borrowed from them) */
} RequestTemplate;

typedef enum {
    ARRIVAL_POISSON,
    ARRIVAL_CONSTANT,
    ARRIVAL_TRACE,
} ArrivalKind;

/* From @at on, a generator sends at @rate (arrival.<kind>.steps). */
typedef struct {
    SimTime at;  /* simulated time the rate changes */
    double rate; /* requests per second; 0: a pause */
    const YNode *where;
} RateStep;

typedef struct {
    char *name;
    ArrivalKind arrival;
    double rate;         /* requests per second (before the first step) */
    GArray *steps;       /* RateStep, strictly ascending at; NULL: none */
    double max_rate;     /* the highest rate of rate and steps */
    SimTime start;       /* first arrival not before */
    SimTime stop;        /* no arrival at or after; default: duration */
    gboolean stop_given; /* `stop` was written (else it follows duration,
                          * also when --duration changes it) */
    GArray *requests;    /* RequestTemplate */
    gint total_weight;
    guint clients;        /* distinct client addresses it cycles through
                           * (1..250, default 250) */
    gboolean keep_alive;  /* http/https requests reuse connections */
    SimTime idle_timeout; /* the client closes a connection idle this long
                           * (default 90s, Go's http.Transport) */
    guint max_requests_per_connection; /* the client closes a connection
                                        * after so many; 0: no limit */
    char *trace_file;    /* ARRIVAL_TRACE: resolved path */
    char *trace_format;  /* istio-json | istio-text | csv */
    double speed;        /* replay speed factor, default 1 */
    const YNode *where;
} TrafficSpec;

typedef enum {
    FAILURE_NODE_DOWN,
    FAILURE_NODE_UP,
    FAILURE_POD_CRASH,
    FAILURE_POD_RESTART,
    FAILURE_APPLY,
    FAILURE_DELETE,
    FAILURE_READINESS_FAIL, /* the pod's readiness probe starts failing */
    FAILURE_READINESS_PASS, /* ... and passes again */
    FAILURE_READINESS_FLAP, /* fails at `at`, passes `for` later */
} FailureKind;

typedef struct {
    SimTime at;
    FailureKind kind;
    SimTime length;      /* FAILURE_READINESS_FLAP: `for` */
    char *target;        /* node name, ns/pod, file path, Kind/ns/name */
    const YNode *where;
    GPtrArray *docs;     /* FAILURE_APPLY: the file's documents (borrowed
                          * YNode*, kept alive by the cluster's docs) */
} FailureSpec;

typedef struct {
    SimTime push_delay;       /* istiod -> gateway, default 100ms */
    SimTime endpoint_delay;   /* readiness -> EndpointSlice/kube-proxy/EDS,
                               * default 1s */
    SimTime node_grace;       /* node-monitor-grace-period, default 40s */
    SimTime drain;            /* terminationDrainDuration: a deleted pod's
                               * proxy drains this long before it exits
                               * (mesh default 5s, R4.13) */
} ControlSpec;

typedef struct {
    char *file;          /* the scenario path as given */
    char *dir;           /* its directory, for includes and traces */
    char *name;          /* metadata.name, or the file's base name */
    char *description;
    guint64 seed;
    SimTime duration;
    gboolean duration_set;
    Cluster *cluster;
    LbSpec lb;
    LatencySpec latency;
    GPtrArray *workloads; /* WorkloadSpec*, explicit ones */
    WorkloadSpec default_workload; /* for Deployments without an entry */
    GPtrArray *traffic;   /* TrafficSpec* */
    GArray *failures;     /* FailureSpec, sorted by time (stable) */
    ControlSpec control;
    const YNode *doc;     /* the Scenario document, NULL when absent */
} Scenario;

/* Loads a scenario file (or bare manifests). Returns: (transfer full). */
Scenario *scenario_load(const char *path, GError **error);
/* The same from text, for tests; @name stands for the file name. */
Scenario *scenario_load_string(const char *name, const char *text,
                               GError **error);
void scenario_free(Scenario *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Scenario, scenario_free)

/* The workload spec that applies to @pod (by its owning Deployment), never
 * NULL: explicit entry, else a sample preset by image, else the default. */
const WorkloadSpec *scenario_workload_for(const Scenario *s,
                                          const K8sPod *pod);

const char *lb_algorithm_name(LbAlgorithm a);

G_END_DECLS
