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

struct _Runner {
    World *w;      /* owned */
    Path *path;    /* owned */
    Client *client;/* owned */
};

Runner *runner_new(const Scenario *s, guint64 seed, GError **error)
{
    World *w = world_new(s, seed, error);
    if (w == NULL) {
        return NULL;
    }
    Runner *r = g_new0(Runner, 1);
    r->w = w;
    r->path = path_new(w);
    r->client = client_new(w, r->path);
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

gboolean runner_run(Runner *r, RunnerProgressFunc progress, gpointer data)
{
    World *w = r->w;
    SimTime end = w->s->duration;
    SimTime step = MAX(end / 100, SIM_S / 10);
    SimTime t = 0;
    while (t < end) {
        t = MIN(t + step, end);
        sim_run(w->engine, t);
        if (progress != NULL) {
            progress(w, t, end, data);
        }
    }
    /* Requests sent before the end may finish; health checks keep running
     * meanwhile, as they would. */
    while (path_in_flight(r->path) > 0 && t < end + DRAIN_LIMIT) {
        t += SIM_S;
        sim_run(w->engine, t);
    }
    return path_in_flight(r->path) == 0 && results_n_in_flight(w->results) == 0;
}
