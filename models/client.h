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
/* Schedules the first arrival of every generator. */
void client_start(Client *c);
/* Fills @r from template @t (strings borrowed from the scenario). */
void client_fill(Request *r, const TrafficSpec *ts, const RequestTemplate *t);

G_END_DECLS
