/* lb.h: step 2, the external load balancer: a listener per port forwarding
 * to a nodePort on the backend nodes, an algorithm, and health checks that
 * take a node out of rotation only after the unhealthy threshold. */
#pragma once

#include <glib.h>

#include "models/trace.h"
#include "models/world.h"

G_BEGIN_DECLS

typedef enum {
    LB_FORWARD,     /* forwarded to a node */
    LB_NO_LISTENER, /* nothing on that port: connection refused */
    LB_NO_BACKEND,  /* every backend out of rotation: accepted, closed */
} LbVerdict;

/* Builds the load balancer of @w's scenario; health checks start with
 * lb_start(). Every backend starts in rotation. */
Lb *lb_new(World *w);
void lb_free(Lb *lb);
/* Schedules the health checks (staggered over one interval). */
void lb_start(Lb *lb);

/* Picks a backend for a new connection on @port from @client_ip.
 * On LB_FORWARD sets *node (World.nodes index) and *node_port. */
LbVerdict lb_pick(Lb *lb, gint port, const char *client_ip, guint *node,
                  gint *node_port, Trace *tr, SimTime at);
/* A connection through @node ended (least-connections bookkeeping). */
void lb_release(Lb *lb, guint node);
/* Is @node in rotation now? */
gboolean lb_in_rotation(const Lb *lb, guint node);

G_END_DECLS
