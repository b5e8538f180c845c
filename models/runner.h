/* runner.h: one simulation run of a scenario, assembled: the world, the
 * request path, the client generators, the failure timeline and the load
 * balancer's checks, run until the traffic stops and every request ended.
 * What `run` and the scenario tests share. */
#pragma once

#include <glib.h>

#include "models/path.h"
#include "models/world.h"

G_BEGIN_DECLS

typedef struct _Runner Runner;

/* Builds everything at time 0 (no event has run). FALSE/@error when the
 * gateway compiler rejects the scenario's Istio objects. */
Runner *runner_new(const Scenario *s, guint64 seed, GError **error);
void runner_free(Runner *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Runner, runner_free)

World *runner_world(Runner *r);
Path *runner_path(Runner *r);

/* Callback for progress (simulated now, end of traffic); nullable. */
typedef void (*RunnerProgressFunc)(const World *w, SimTime now, SimTime end,
                                   gpointer data);

/* Runs until the generators stop (spec.duration, or the replayed trace's
 * end) and then until every request has ended (at most an hour more of
 * simulated time). Returns TRUE when the balance holds. */
gboolean runner_run(Runner *r, RunnerProgressFunc progress, gpointer data);

G_END_DECLS
