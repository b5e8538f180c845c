/* runner.c: assembles a run (world, path, clients, failures, checks) and
 * drives the engine in slices so progress can be shown and the drain after
 * the traffic ends is bounded. */
#include "config.h"

#include "models/client.h"
#include "models/lb.h"
#include "models/runner.h"

/* After the generators stop, in-flight requests may still take this long
 * (SYN timeouts of 127 s, slow apps) before the run gives up on them. */
#define DRAIN_LIMIT (3600 * SIM_S)

/* Arrivals per slice at most (about): slices are also where the pending
 * bound and cancellation are checked, so they must come often enough. */
#define SLICE_ARRIVALS 100000.0

struct _Runner {
    World *w;      /* owned */
    Path *path;    /* owned */
    Client *client;/* owned */
    gsize max_pending; /* RUNNER_MAX_PENDING_DEFAULT unless set */
    gboolean cancel;   /* runner_cancel() was called */
    GError *error;     /* why the run stopped early, or NULL (owned) */
};

Runner *runner_new(const Scenario *s, guint64 seed, GError **error)
{
    World *w = world_new(s, seed, error);
    if (w == NULL) {
        return NULL;
    }
    Runner *r = g_new0(Runner, 1);
    r->w = w;
    r->max_pending = RUNNER_MAX_PENDING_DEFAULT;
    r->path = path_new(w);
    r->client = client_new(w, r->path);
    /* Replayed traces (models/replay.c): a missing file is a located
     * error at the scenario's trace.file. */
    if (!client_open_traces(r->client, error)) {
        runner_free(r);
        return NULL;
    }
    lb_start(w->lb);
    world_schedule_failures(w);
    client_start(r->client);
    return r;
}

void runner_free(Runner *r)
{
    if (r == NULL) {
        return;
    }
    client_free(r->client);
    path_free(r->path);
    world_free(r->w);
    g_clear_error(&r->error);
    g_free(r);
}

World *runner_world(Runner *r)
{
    return r->w;
}

Path *runner_path(Runner *r)
{
    return r->path;
}

void runner_set_max_pending(Runner *r, gsize max)
{
    g_return_if_fail(r != NULL && max > 0);
    r->max_pending = max;
}

void runner_cancel(Runner *r)
{
    g_return_if_fail(r != NULL);
    r->cancel = TRUE;
}

gboolean runner_cancelled(const Runner *r)
{
    g_return_val_if_fail(r != NULL, FALSE);
    return r->cancel;
}

const GError *runner_error(const Runner *r)
{
    g_return_val_if_fail(r != NULL, NULL);
    return r->error;
}

/* The pending bound, exceeded at @now: located at the generator with the
 * highest rate (the likely cause), else the Scenario document. */
static void pending_error(Runner *r, SimTime now)
{
    const Scenario *s = r->w->s;
    const TrafficSpec *top = NULL;
    for (guint i = 0; i < s->traffic->len; i++) {
        const TrafficSpec *t = g_ptr_array_index(s->traffic, i);
        if (top == NULL || t->max_rate > top->max_rate) {
            top = t;
        }
    }
    g_autofree char *at = sim_time_format(now);
    g_autofree char *msg = g_strdup_printf(
        "more than %zu events pending or requests in flight at %s of "
        "simulated time (the limit, which keeps memory bounded; raise it "
        "with run --max-pending N): requests arrive faster than they end",
        r->max_pending, at);
    const YNode *where = top != NULL && top->where != NULL ? top->where
                                                           : s->doc;
    if (where != NULL) {
        ynode_error(&r->error, where, SCENARIO_ERROR_TOO_LARGE, "%s", msg);
    } else {
        g_set_error(&r->error, SCENARIO_ERROR, SCENARIO_ERROR_TOO_LARGE,
                    "%s:1:1: error: %s", s->file, msg);
    }
}

/* Runs one slice up to @until, shows progress, then checks the pending
 * bound and cancellation: FALSE when the run must stop. */
static gboolean run_slice(Runner *r, SimTime until, SimTime end,
                          RunnerProgressFunc progress, gpointer data)
{
    sim_run(r->w->engine, until);
    if (progress != NULL) {
        progress(r->w, until, end, data);
    }
    /* Requests queued at a pod are in flight without an event: count
     * both, memory grows with either. */
    if (sim_pending(r->w->engine) > r->max_pending ||
        path_in_flight(r->path) > r->max_pending) {
        pending_error(r, until);
        return FALSE;
    }
    return !r->cancel;
}

gboolean runner_run(Runner *r, RunnerProgressFunc progress, gpointer data)
{
    World *w = r->w;
    SimTime end = w->s->duration;
    SimTime step = MAX(end / 100, SIM_S / 10);
    /* Slices short enough for about SLICE_ARRIVALS arrivals each. */
    double rate = 0.0;
    for (guint i = 0; i < w->s->traffic->len; i++) {
        rate += ((const TrafficSpec *)g_ptr_array_index(w->s->traffic, i))
                    ->max_rate;
    }
    if (rate > 0.0 && SLICE_ARRIVALS / rate * (double)SIM_S < (double)step) {
        step = MAX((SimTime)(SLICE_ARRIVALS / rate * (double)SIM_S), SIM_MS);
    }
    SimTime t = 0;
    gboolean go = TRUE;
    while (go && t < end) {
        t = MIN(t + step, end);
        go = run_slice(r, t, end, progress, data);
    }
    /* A replayed trace runs to its last line unless a duration was set. */
    while (go && client_pending(r->client)) {
        t += step;
        go = run_slice(r, t, end, progress, data);
    }
    SimTime traffic_end = t;
    /* Requests sent before the end may finish; health checks keep running
     * meanwhile, as they would. */
    while (go && path_in_flight(r->path) > 0 &&
           t < traffic_end + DRAIN_LIMIT) {
        t += SIM_S;
        go = run_slice(r, t, end, progress, data);
    }
    return go && path_in_flight(r->path) == 0 &&
           results_n_in_flight(w->results) == 0;
}
