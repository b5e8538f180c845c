/* diagram.h: the path diagram: the nine steps as the article draws them
 * (client, load balancer, nodes with kube-proxy and pods, ingressgateway
 * Service and pods configured by Gateways and VirtualServices, application
 * Services and pods), with a run's traffic or traced requests drawn on it. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "models/results.h"
#include "models/scenario.h"
#include "models/trace.h"
#include "viz/draw.h"

G_BEGIN_DECLS

/* One traced request to draw (what `diagram --url` passes). */
typedef struct {
    const char *url;           /* as typed, for its callout */
    const Trace *trace;        /* its steps and facts (lb_node, gateway_pod,
                                * cluster, route, server, upstream_pod);
                                * borrowed */
    const RequestOutcome *out; /* how it ended (kind, step, reason,
                                * status, flags); borrowed */
} DiagramPath;

typedef struct {
    const Scenario *scenario; /* the topology (borrowed) */
    guint64 seed;             /* shown in the title */
    JsonNode *results;        /* nullable: results.json of a run; edge
                               * widths and counts show the traffic and
                               * the failures at each hop */
    const DiagramPath *paths; /* nullable: requests drawn on top */
    guint n_paths;            /* how many */
} DiagramInput;

/* The diagram is CHART-wide (1280 px) and at least 720 px tall; it grows
 * downwards with nodes and pods. */
#define DIAGRAM_WIDTH 1280

/* Lays out and draws @in as @fmt. @width/@height (nullable) get the
 * picture's size, @items (nullable) the record of every box and string
 * (transfer full, VizItem*): no two of them overlap unless one contains
 * the other. Returns: (transfer full) the file's bytes. */
GBytes *diagram_render(const DiagramInput *in,
                       VizFormat fmt,
                       GPtrArray **items,
                       double *width,
                       double *height,
                       GError **error);

/* diagram_render() into @path (format from its extension), atomically. */
gboolean diagram_write(const DiagramInput *in,
                       const char *path,
                       GPtrArray **items,
                       GError **error);

/* diagram_write() into each of @paths (@n of them), the diagram laid out
 * once for all: the layout measures every string, a third of a picture's
 * cost. Stops at the first error; @written (nullable) gets a copy of each
 * path written. */
gboolean diagram_write_each(const DiagramInput *in,
                            const char *const *paths,
                            guint n,
                            GPtrArray *written,
                            GError **error);

G_END_DECLS
