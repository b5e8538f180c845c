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

G_END_DECLS
