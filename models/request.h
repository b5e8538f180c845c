/* request.h: one request (or TCP/TLS connection) on its way through the
 * nine steps: what the client sent, and what each step decided so far.
 * Allocated from the path's free list; no allocation per request. */
#pragma once

#include <glib.h>

#include "models/app-response.h"
#include "models/gateway.h"
#include "models/results.h"
#include "models/scenario.h"
#include "models/trace.h"
#include "models/tls.h"

G_BEGIN_DECLS

/* Envoy's retries never exceed this many attempts here (Istio default 3). */
#define REQUEST_MAX_ATTEMPTS 8

/* Where the current upstream attempt stands with the cluster's circuit
 * breaker (models/upstream.h). */
typedef enum {
    REQUEST_POOL_NONE,    /* no attempt, or it let go of its connection */
    REQUEST_POOL_PENDING, /* waiting for a connection (http1MaxPending...) */
    REQUEST_POOL_ACTIVE,  /* holds one of maxConnections */
} RequestPool;

/* A client's kept-alive connection (models/path.h). */
typedef struct _PathConn PathConn;

/* The cache lines of a request's first group (below), which the engine
 * asks for one event ahead (path.c, sim_engine_set_prefetch()). */
#define REQUEST_HOT_LINES ((G_STRUCT_OFFSET(Request, id) + 63) / 64)

typedef struct _Request Request;
struct _Request {
    /* What the end of a request reads: the app's answer (on_app_done()),
     * finish(), the client's (on_client()), results_record() and
     * request_release(). Kept together, 5 cache lines of a 64-byte
     * aligned struct (path.c lays them out so); spread through it they
     * were 9 or 10, and at 200k requests/s, after the app's service time,
     * most of them had left the 2 MB L2 (cachegrind: ~10 misses a request
     * there). */
    RequestOutcome out;        /* filled as it goes: out.sent and
                                * out.traffic from the start (client),
                                * out.phase, the time spent per phase, at
                                * each step; nothing changes it once the
                                * client is answered, so it needs no copy
                                * at the end */
    const GatewayDecision *dec;/* its decision, once the gateway made
                                * one (NULL: none yet): dec_own, or one
                                * the snapshot shares
                                * (gateway_decide_shared()); let go with
                                * gateway_decision_drop() */
    GatewaySnapshot *snap;     /* config the gateway used (owned ref) */
    PathConn *conn;            /* the kept-alive connection it goes on
                                * (borrowed from the client's pool), or
                                * NULL: a connection of its own */
    Trace *tr;                 /* non-NULL when traced */
    Request *next;             /* free list / app queue link */
    /* Storage behind the strings below when the request owns them (a
     * replayed trace line, models/replay.c); both nullable, freed by
     * request_release() in models/path.c. */
    char *owned;               /* one block: method, host, authority... */
    KvList *owned_headers;     /* what headers points to, or NULL */
    /* When set, request_release() hands owned and owned_headers to this
     * instead of freeing them (it must take both, leaving NULLs): the
     * replay keeps its header lists for the next lines rather than
     * allocating three blocks a line. */
    void (*release_owned)(Request *r, gpointer data);
    gpointer release_data;
    AppResponse *resp;         /* traced only: what the client read
                                * (status line, headers, body), built as
                                * the request ends; owned, freed by
                                * request_release() (models/path.c) */
    SimTime try_deadline;      /* per-try timeout of the current attempt;
                                * 0: none armed */
    gint app_pod;              /* upstream pod index, -1 none */
    guint32 app_gen;           /* that pod's generation when admitted */
    guint gw_pod;              /* gateway pod index (World.pods) */
    guint32 gw_gen;            /* its generation when the request arrived */
    guint node;                /* node the load balancer chose */
    gint node_port;            /* its nodePort */
    gint status;               /* app status once served */
    UrlScheme scheme;          /* http, https, tcp, tls */
    RequestPool pool;          /* the attempt and the circuit breaker */
    guint attempts;            /* upstream attempts made */
    gboolean upstream_open;    /* counted in its host's active requests
                                * (LEAST_REQUEST): upstream_begin() done,
                                * upstream_end() not yet */
    gboolean answered;         /* the outcome is decided (client told) */
    gboolean to_app;           /* on its way to an app pod (event pending) */
    gboolean connecting;       /* an upstream-connect event (the go, a
                                * back-off, a connect failure) is pending
                                * for it: that event releases it if a
                                * timeout answered the client meanwhile */
    gboolean at_app;           /* queued or served by an app pod */
    gboolean recorded;         /* the client saw the outcome */
    gboolean orphan;           /* an attempt Envoy abandoned (per-try
                                * timeout) that an app pod still holds:
                                * answered and recorded, it only keeps the
                                * pod busy until the pod lets go of it */

    /* What the client sends and the steps up to the gateway read, while
     * the request is young (strings borrowed: templates or trace CLI). */
    guint64 id;                /* sequence number, from 1 */
    gint lb_port;              /* load balancer port */
    const char *host;          /* URL host */
    const char *authority;     /* Host header as sent */
    const char *path;          /* path with query */
    const char *method;        /* GET */
    const KvList *headers;     /* lower-case names; nullable */
    const char *sni;           /* nullable: none sent */
    const TlsCert *anchors;    /* trace --cacert; nullable */
    const TlsCert *client_cert;/* trace --cert; nullable */
    const char *const *alpn;   /* ALPN offer (curl: h2, http/1.1); nullable */
    const char *body;          /* request body, or the bytes a tcp/tls
                                * stream sends (tcp-echo); nullable */
    gboolean names_fixed;      /* host, authority and sni are a traffic
                                * template's (client.c), whose bytes never
                                * change in a run: the gateway remembers
                                * its lookups by their addresses
                                * (GatewayRequest.names_fixed). FALSE:
                                * strings that may change or be freed */
    gboolean all_fixed;        /* names_fixed, and method, path and alpn
                                * never change in a run either (a
                                * template's, or a replayed line's names
                                * all interned), nor do the headers
                                * unless headers_load or owned_headers
                                * says they are a replayed line's: the
                                * gateway may remember its whole decision
                                * (GatewayRequest.all_fixed) */
    char client_ip[16];        /* source address */
    guint32 client_addr;       /* the same parsed (host order), or 0:
                                * whoever reads it parses client_ip */
    /* Set while the headers are still where the request came from (a
     * replayed line's block): request_headers() loads them into headers
     * (and owned_headers) the first time anyone asks. Most runs never
     * ask: nothing but header matchers, a hash on a header or cookie, the
     * access log and traces reads them. NULL: headers is all there is. */
    void (*headers_load)(Request *r);
    /* Progress. */
    SimTime mark;              /* start of the current phase */
    SimTime forwarded;         /* gateway sent it upstream (route timeout) */
    SimTime back;              /* one-way return latency to add at the end */
    gint gw_port;              /* port on the gateway pod (targetPort) */
    gint up_port;              /* and port */
    SimTime try_queue0;        /* phase[APP_QUEUE] and phase[APP_SERVICE] */
    SimTime try_service0;      /* before the current attempt */
    const char *src_at_gw;     /* source address Envoy sees (node IP when
                                * kube-proxy masqueraded, K-12) */
    const char *hash_input;    /* consistent-hash key, or NULL */
    gint tried[REQUEST_MAX_ATTEMPTS]; /* pods tried (previous_hosts) */
    /* Not zeroed by path_request_new(): each is written before it is read
     * (dec_own by gateway_decide_shared(), read only through dec; up_ip
     * where the attempt's endpoint is chosen; hash_buf through
     * hash_input). A third of the struct, which a new request need not
     * write out. Keep them last: the zeroing stops at dec_own. */
    GatewayDecision dec_own;   /* storage for a decision not shared */
    char up_ip[46];            /* the current attempt's endpoint address */
    char hash_buf[64];         /* storage for a cookie/query hash key */
};

/* @r's headers, loaded first if they are not yet (headers_load). Read
 * a request's headers through this, never r->headers directly, unless
 * the request is known to be no replayed one. */
static inline const KvList *request_headers(Request *r)
{
    if (G_UNLIKELY(r->headers_load != NULL)) {
        void (*load)(Request *) = r->headers_load;
        r->headers_load = NULL;
        load(r);
    }
    return r->headers;
}

G_END_DECLS
