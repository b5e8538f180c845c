/* client.h: step 1, the clients: each traffic entry of the scenario is a
 * generator (poisson or constant arrivals between start and stop) drawing
 * requests from its weighted mix and handing them to the path. */
#pragma once

#include <glib.h>

#include "models/path.h"
#include "models/world.h"

G_BEGIN_DECLS

typedef struct _Client Client;

Client *client_new(World *w, Path *p);
void client_free(Client *c);
/* Opens the trace of every replayed traffic entry (models/replay.h), before
 * client_start(); without it those entries send nothing. FALSE with a
 * located error (SCENARIO_ERROR_IO: the file named at trace.file). */
gboolean client_open_traces(Client *c, GError **error);
/* Schedules the first arrival of every generator and opened trace. */
void client_start(Client *c);
/* Does a replayed trace still have arrivals to come? (A trace runs to its
 * last line unless the scenario sets a duration, so the run goes on.) */
gboolean client_pending(const Client *c);
/* Fills @r from template @t (strings borrowed from the scenario). */
void client_fill(Request *r, const TrafficSpec *ts, const RequestTemplate *t);

/* A client without an address of its own (generated traffic, a trace line
 * that names none) is the @k-th of 198.51.100.0/24 (TEST-NET-2), 1 <= @k <=
 * SCENARIO_MAX_CLIENTS: written into @ip (16 bytes), returned in host
 * order. */
guint32 client_test_net_addr(guint k, char *ip);

G_END_DECLS
