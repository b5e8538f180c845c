/* path.h: a request's journey through the nine steps as simulation events.
 * Each step calls its model's decision function (one decision path: the
 * same calls whether a run or `trace` drives them) and schedules the next
 * hop after the hop's latency. Owns the request free list. */
#pragma once

#include <glib.h>

#include "models/request.h"
#include "models/world.h"

G_BEGIN_DECLS

typedef struct _Path Path;

/* Called when a request has ended and its outcome is recorded. */
typedef void (*PathDoneFunc)(const Request *r, gpointer user_data);

Path *path_new(World *w);
/* Clears the engine's pending events (their requests belong to the path)
 * before freeing. */
void path_free(Path *p);

/* A zeroed request from the free list, id assigned. */
Request *path_request_new(Path *p);
/* The client sends @r now (step 1); the path owns it from here. */
void path_send(Path *p, Request *r);
void path_set_done(Path *p, PathDoneFunc fn, gpointer user_data);

/* Requests allocated but not yet ended. */
guint64 path_in_flight(const Path *p);

/* ---- keep-alive ---------------------------------------------------------- */

/* A client's HTTP/1.1 connection kept alive between requests: one request
 * at a time; the load balancer's choice, kube-proxy's DNAT (conntrack),
 * the gateway pod and the TLS session are made by its first request and
 * kept (K-23, K-24). A request goes on it when the client sets r->conn
 * before path_send(). The server closes it when the gateway pod drains or
 * exits (Connection: close, FIN) and after a failure. */
PathConn *path_conn_new(Path *p);
/* May the client send its next request on @c at @now? FALSE when it is
 * busy, closed by the server, idle for @idle_timeout or more (0: never
 * too long), or has carried @max_requests (0: no limit). A connection
 * whose gateway pod died with its node up was closed (the client saw the
 * FIN); one whose node died looks alive. */
gboolean path_conn_reusable(const Path *p,
                            const PathConn *c,
                            SimTime now,
                            SimTime idle_timeout,
                            guint max_requests);
gboolean path_conn_busy(const PathConn *c);
/* The client closes @c and frees it. A busy one only at teardown (its
 * request never ends). */
void path_conn_close(Path *p, PathConn *c);

G_END_DECLS
