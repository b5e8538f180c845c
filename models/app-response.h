/* app-response.h: what the client finally reads: the status, headers and
 * body an application pod answers (Istio's sample apps, nginx, bookinfo's
 * productpage), as Envoy forwards it (server: istio-envoy, HTTP/2 after ALPN
 * h2) or as Envoy answers itself (local replies), and the TLS handshake of a
 * pod that terminates TLS itself behind a PASSTHROUGH server.
 *
 * Place: models, step 9 and the way back. app.c asks app_response_status()
 * on the hot path (no allocation); path.c builds an AppResponse only for a
 * traced request (Request.tr != NULL), so a `run` never pays for bodies. */
#pragma once

#include <glib.h>

#include "models/cluster.h"
#include "models/gateway.h"
#include "models/k8s.h"
#include "models/scenario.h"
#include "models/tls.h"
#include "sim/time.h"

G_BEGIN_DECLS

/* One response as the client receives it. */
typedef struct {
    gint status;              /* HTTP status; 0 for a TCP/TLS stream */
    const char *http_version; /* "1.1" or "2" (static); NULL for a stream */
    KvList *headers;          /* lower-case names in wire order (a name may
                               * repeat); owned; NULL for a stream */
    GString *body;            /* owned; NULL: no body at all (HEAD, 204,
                               * 304, a stream that received nothing) */
} AppResponse;

/* Returns: (transfer full) an empty response (status 0, no headers). */
AppResponse *app_response_new(void);
/* Returns: (transfer full) a deep copy of @r (NULL for NULL). */
AppResponse *app_response_copy(const AppResponse *r);
void app_response_free(AppResponse *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AppResponse, app_response_free)

/* The first value of header @name (any case), or NULL. Borrowed. */
const char *app_response_header(const AppResponse *r, const char *name);

/* The status a sample app answers to @method @path (path with query) and
 * the extra time it takes (/delay/N), with the rule in @why (static text).
 * PRESET_NONE answers 200. Streams are not asked. Cost: a few string
 * compares, no allocation: called for every request of a run. */
gint app_response_status(WorkloadPreset preset,
                         const char *method,
                         const char *path,
                         SimTime *extra,
                         const char **why);

/* The request as the application pod receives it. Strings are borrowed. */
typedef struct {
    const char *method;      /* "GET", "HEAD" ... */
    const char *path;        /* as sent upstream (after rewrites), query kept */
    const char *authority;   /* the Host header the pod sees */
    const char *scheme;      /* what the pod learns of the client's scheme
                              * (x-forwarded-proto, or its own TLS) */
    const KvList *headers;   /* every header the pod receives, lower-case,
                              * names may repeat; nullable */
    const char *remote_addr; /* the TCP peer of the pod (the gateway pod) */
    const char *body;        /* request body or stream payload; nullable */
} AppRequest;

/* The headers Envoy sends upstream for @client (lower-case, nullable) under
 * decision @d, in the order Envoy writes them: the client's headers, Host
 * set to the (rewritten) authority, x-forwarded-for with @downstream_ip
 * appended (use_remote_address: true on Istio gateways),
 * x-forwarded-proto, a new x-request-id (an edge request's id is not
 * trusted), x-envoy-internal when @downstream_ip is an internal address,
 * x-envoy-attempt-count (Istio sets include_request_attempt_count), Istio's
 * route decorator in x-envoy-decorator-operation, then the route's
 * headers.request remove/set/add. x-envoy-* headers the client sent are
 * dropped (an external request is not trusted). The x-request-id is
 * app_request_id(@seed, @request_id).
 * Cite: envoy source/common/http/conn_manager_utility.cc
 * mutateRequestHeaders(); istio pilot/pkg/networking/core/route/route.go
 * (the decorator operation: host, port and a path wildcard;
 * IncludeRequestAttemptCount).
 * Returns: (transfer full) the header list. */
KvList *app_request_headers_via_envoy(const KvList *client,
                                      const GatewayDecision *d,
                                      const char *scheme,
                                      const char *downstream_ip,
                                      guint64 seed,
                                      guint64 request_id,
                                      guint attempt);

/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" with its NUL. */
#define APP_REQUEST_ID_LEN 37

/* The x-request-id Envoy generates for request @id of the run with @seed
 * (a UUID v4 in form; a function of both, so runs repeat): what the app
 * receives and what the access log prints. Envoy replaces an external
 * client's id (preserve_external_request_id false, Istio's default). Cite:
 * envoy conn_manager_utility.cc mutateRequestHeaders. */
void app_request_id(guint64 seed, guint64 id, char buf[APP_REQUEST_ID_LEN]);

/* Fills @out (emptied first) with what @pod, running @preset, answers to
 * @req, given the @status the app model decided for it (app.c: the preset's
 * status, or the workload's `responses` table). The body is the preset's
 * when @status is the preset's own answer for that path, else empty (an
 * override says nothing about bodies). @stream: a TCP/TLS stream, not HTTP
 * (tcp-echo answers "<prefix> <line>" per line of @req->body).
 * HEAD gets the headers of GET and no body. http_version "1.1".
 * Presets, each cited in app-response.c: go-httpbin (mccutchen, the sample
 * since istio 1.24) and Python httpbin (kennethreitz/kong), told apart by
 * the image; helloworld; tcp-echo (prefix from the container's args);
 * nginx (default site); bookinfo productpage. Cost: builds strings; call
 * only for traced requests. */
void app_response_build(AppResponse *out,
                        WorkloadPreset preset,
                        const K8sPod *pod,
                        const AppRequest *req,
                        gint status,
                        gboolean stream);

/* The app's answer as Envoy's HTTP connection manager forwards it to the
 * client: `server` overwritten with "istio-envoy" (Istio sets server_name,
 * server_header_transformation OVERWRITE), x-envoy-upstream-service-time
 * added (ms), and HTTP/2 when the downstream negotiated ALPN "h2" (@alpn,
 * nullable), else HTTP/1.1. */
void app_response_via_envoy(AppResponse *r,
                            const char *alpn,
                            SimTime upstream_time);

/* A response Envoy generates itself (@from the decision or the upstream
 * step): 404 NR and 503 NC with no body, 503 UH "no healthy upstream",
 * UF/UC/UO "upstream connect error or disconnect/reset before headers...",
 * 504 UT "upstream request timeout", FI "fault filter abort", a redirect
 * with @location, a direct response with @body (nullable). Headers:
 * content-length, content-type text/plain when there is a body, location,
 * server: istio-envoy. @head: HEAD, no body. Cite: envoy
 * source/common/router/router.cc (sendLocalReply calls) and
 * source/common/http/utility.cc (resetReasonToString). */
void app_response_local_reply(AppResponse *out,
                              gint status,
                              const char *flags,
                              const char *location,
                              const char *body,
                              const char *alpn,
                              gboolean head);

/* A TLS handshake the client makes with the pod itself (PASSTHROUGH: the
 * gateway only routed the stream by SNI). */
typedef enum {
    APP_TLS_OK,        /* handshake done; verified when anchors were given */
    APP_TLS_PLAINTEXT, /* the app does not speak TLS: the client reads
                        * plain bytes ("wrong version number") */
    APP_TLS_REJECTED,  /* the client rejects the pod's certificate */
} AppTlsResult;

/* Whether @pod terminates TLS and, when the client verifies (@anchors
 * non-NULL, as curl --cacert), whether its certificate passes for
 * @verify_host at @now_unix. A pod serves the `tls.crt` of a Secret it
 * mounts (its own namespace, looked up in @c): nginx's ssl_certificate
 * from a Secret volume, as the sni-passthrough task configures it. A known
 * plain-text sample (httpbin, helloworld, tcp-echo, productpage, nginx
 * without a certificate) does not speak TLS. A workload of no preset with
 * no mounted certificate is assumed to speak TLS with a certificate the
 * manifests do not show: accepted when the client does not verify,
 * rejected (not verifiable) when it does.
 * @detail: (out) (optional) (transfer full): one line saying why.
 * @subject: (out) (optional) (transfer full): the served certificate's
 * subject (tls_cert_subject()), or NULL when none is known.
 * Cost: a scan of the pod's volumes and a Secret lookup; a PEM parse and a
 * chain check only when @anchors is given (trace --cacert). */
AppTlsResult app_tls_handshake(const Cluster *c,
                               const K8sPod *pod,
                               WorkloadPreset preset,
                               const TlsCert *anchors,
                               const char *verify_host,
                               gint64 now_unix,
                               char **detail,
                               char **subject);

G_END_DECLS
