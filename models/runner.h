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
 * simulated time), in slices of about 100,000 arrivals or 1% of the run;
 * @progress is called after each. Returns TRUE when the balance holds;
 * FALSE also when the run stopped early: cancelled, or runner_error(). */
gboolean runner_run(Runner *r, RunnerProgressFunc progress, gpointer data);

/* Events pending (timers, hops), or requests in flight (also those queued
 * at a pod, which have no event), above which runner_run() stops with a
 * located SCENARIO_ERROR_TOO_LARGE instead of exhausting memory: a request
 * and its events take several hundred bytes, so the default bounds a run
 * to a few GB. */
#define RUNNER_MAX_PENDING_DEFAULT ((gsize)10000000)
void runner_set_max_pending(Runner *r, gsize max);

/* Asks runner_run() to stop after the current slice, e.g. from the
 * progress callback on SIGINT; results then cover the run so far. */
void runner_cancel(Runner *r);
gboolean runner_cancelled(const Runner *r);

/* Why runner_run() stopped early (the pending bound), or NULL.
 * (transfer none) */
const GError *runner_error(const Runner *r);

G_END_DECLS
