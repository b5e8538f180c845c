/* client.c: traffic generators (step 1): poisson or constant arrivals and
 * a weighted request mix, each generator with its own random stream. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/client.h"
#include "models/replay.h"

typedef struct {
    const TrafficSpec *ts; /* borrowed from the scenario */
    const char *name;      /* interned */
    Rng rng;               /* "client/<name>" */
    guint64 sent;          /* requests generated so far */
    Replay *replay;        /* ARRIVAL_TRACE: its reader (owned), opened by
                            * client_open_traces(); NULL otherwise */
    guint step;            /* rate steps already in force (ts->steps) */
    guint *origin;         /* per request template: its origin (scheme,
                            * host, port), the key of connection reuse */
    guint n_origins;
    GPtrArray **pools; /* keepAlive: [client * n_origins + origin],
                        * PathConn* most recently used last; slots
                        * made on first use */
} Generator;

/* Distinct client addresses a generator cycles through at most. */
#define CLIENT_ADDRESSES SCENARIO_MAX_CLIENTS

struct _Client {
    char ips[CLIENT_ADDRESSES][16]; /* "198.51.100.1" ... ".250" */
    guint32 addrs[CLIENT_ADDRESSES]; /* the same, parsed */
    World *w;              /* borrowed */
    Path *path;            /* borrowed */
    Generator *gens;       /* one per traffic entry */
    guint n_gens;
    guint32 ev_arrival;    /* arg = generator index */
};

static SimTime next_gap(Generator *g, double rate)
{
    double mean_ns = 1e9 / rate;
    if (g->ts->arrival == ARRIVAL_CONSTANT) {
        SimTime gap = sim_time_llround(mean_ns);
        return gap > 0 ? gap : 1;
    }
    /* Poisson process: exponential gaps. 1 - u keeps log away from 0. */
    double u = rng_double(&g->rng);
    SimTime gap = sim_time_llround(-log(1.0 - u) * mean_ns);
    return gap > 0 ? gap : 1;
}

/* The rate in force at @t (steps are passed in time order) and when it
 * changes next (SIM_TIME_MAX: never). */
static double rate_at(Generator *g, SimTime t, SimTime *until)
{
    const GArray *st = g->ts->steps;
    guint n = st != NULL ? st->len : 0;
    while (g->step < n && g_array_index(st, RateStep, g->step).at <= t) {
        g->step++;
    }
    *until =
        g->step < n ? g_array_index(st, RateStep, g->step).at : SIM_TIME_MAX;
    return g->step == 0 ? g->ts->rate
                        : g_array_index(st, RateStep, g->step - 1).rate;
}

/* The arrival after one at @t, or the first one from @t when @first: a
 * constant generator sends at @t itself, a poisson one one gap later. At
 * a rate step a pending gap is drawn again from the step's time at the
 * new rate: for poisson that is exact (no memory), a constant generator
 * starts its new spacing at the step. FALSE when none comes before the
 * generator's stop. */
static gboolean
next_arrival(Generator *g, SimTime t, gboolean first, SimTime *out)
{
    gboolean fresh = first;
    while (t < g->ts->stop) {
        SimTime until;
        double rate = rate_at(g, t, &until);
        if (rate > 0.0) {
            SimTime at = fresh && g->ts->arrival == ARRIVAL_CONSTANT
                             ? t
                             : t + next_gap(g, rate);
            if (at < until) {
                *out = at;
                return at < g->ts->stop;
            }
        }
        if (until == SIM_TIME_MAX) {
            return FALSE;
        }
        t = until;
        fresh = TRUE;
    }
    return FALSE;
}

void client_fill(Request *r, const TrafficSpec *ts, const RequestTemplate *t)
{
    r->scheme = t->url.scheme;
    r->lb_port = t->url.port;
    r->host = t->url.host;
    r->authority = t->authority;
    r->path = t->url.path;
    r->method = t->method;
    r->headers = t->headers;
    gboolean tls = t->url.scheme == URL_HTTPS || t->url.scheme == URL_TLS;
    r->sni = tls ? t->url.host : NULL;
    (void)ts;
}

static guint pick_template(Generator *g)
{
    const GArray *reqs = g->ts->requests;
    guint32 x = rng_below(&g->rng, (guint32)g->ts->total_weight);
    for (guint i = 0; i < reqs->len; i++) {
        const RequestTemplate *t = &g_array_index(reqs, RequestTemplate, i);
        if (x < (guint32)t->weight) {
            return i;
        }
        x -= (guint32)t->weight;
    }
    g_assert_not_reached();
}

/* Groups the templates by origin: HTTP clients reuse a connection only for
 * the scheme, host and port it was opened to. */
static void index_origins(Generator *g)
{
    const GArray *reqs = g->ts->requests;
    g->origin = g_new0(guint, reqs->len + 1);
    for (guint i = 0; i < reqs->len; i++) {
        const Url *u = &g_array_index(reqs, RequestTemplate, i).url;
        guint o = g->n_origins;
        for (guint j = 0; j < i; j++) {
            const Url *v = &g_array_index(reqs, RequestTemplate, j).url;
            if (u->scheme == v->scheme && u->port == v->port &&
                strcmp(u->host, v->host) == 0) {
                o = g->origin[j];
                break;
            }
        }
        g->origin[i] = o;
        if (o == g->n_origins) {
            g->n_origins++;
        }
    }
}

/* The connection client @client sends its next request to @origin on: the
 * most recently used idle one that may still be used (Go's http.Transport
 * takes the newest), else a new one. Connections the server closed, idle
 * for idleTimeout or done with maxRequestsPerConnection are closed here,
 * when the client next looks (the load balancer counts them until then). */
static PathConn *
take_conn(Client *c, Generator *g, guint client, guint origin, SimTime now)
{
    GPtrArray **slot = &g->pools[client * g->n_origins + origin];
    if (*slot == NULL) {
        *slot = g_ptr_array_new();
    }
    GPtrArray *pool = *slot;
    PathConn *pick = NULL;
    guint at = 0;
    for (guint i = pool->len; i > 0; i--) {
        PathConn *pc = g_ptr_array_index(pool, i - 1);
        if (path_conn_busy(pc)) {
            continue;
        }
        if (path_conn_reusable(c->path, pc, now, g->ts->idle_timeout,
                               g->ts->max_requests_per_connection)) {
            if (pick == NULL) {
                pick = pc;
                at = i - 1;
            }
            continue;
        }
        g_ptr_array_remove_index(pool, i - 1);
        if (pick != NULL) {
            at--;
        }
        path_conn_close(c->path, pc);
    }
    if (pick == NULL) {
        pick = path_conn_new(c->path);
    } else {
        g_ptr_array_remove_index(pool, at);
    }
    g_ptr_array_add(pool, pick);
    return pick;
}

static void on_arrival(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Client *c = ctx;
    Generator *g = &c->gens[ev->arg];
    Request *r = path_request_new(c->path);
    guint ti = pick_template(g);
    client_fill(r, g->ts, &g_array_index(g->ts->requests, RequestTemplate, ti));
    /* The template's strings and header list, for the whole run. */
    r->names_fixed = TRUE;
    r->all_fixed = TRUE;
    r->out.traffic = g->name;
    /* Clients from 198.51.100.0/24 (TEST-NET-2), many of them; the
     * addresses are formatted once, not per request. */
    guint client = (guint)(g->sent % g->ts->clients);
    memcpy(r->client_ip, c->ips[client], sizeof r->client_ip);
    r->client_addr = c->addrs[client];
    g->sent++;
    if (g->pools != NULL && (r->scheme == URL_HTTP || r->scheme == URL_HTTPS)) {
        r->conn = take_conn(c, g, client, g->origin[ti], sim_now(e));
    }
    path_send(c->path, r);
    SimTime next;
    if (next_arrival(g, sim_now(e), FALSE, &next)) {
        sim_schedule(e, next, c->ev_arrival, ev->arg, NULL);
    }
}

guint32 client_test_net_addr(guint k, char *ip)
{
    g_return_val_if_fail(k >= 1 && k <= 254, 0);
    g_snprintf(ip, 16, "198.51.100.%u", k);
    return (198u << 24) | (51u << 16) | (100u << 8) | k;
}

Client *client_new(World *w, Path *p)
{
    Client *c = g_new0(Client, 1);
    for (guint i = 0; i < CLIENT_ADDRESSES; i++) {
        c->addrs[i] = client_test_net_addr(i + 1, c->ips[i]);
    }
    c->w = w;
    c->path = p;
    c->n_gens = w->s->traffic->len;
    c->gens = g_new0(Generator, c->n_gens + 1);
    for (guint i = 0; i < c->n_gens; i++) {
        Generator *g = &c->gens[i];
        g->ts = g_ptr_array_index(w->s->traffic, i);
        g->name = g_intern_string(g->ts->name);
        g_autofree char *stream = g_strdup_printf("client/%s", g->name);
        rng_init_named(&g->rng, w->seed, stream);
        if (g->ts->arrival != ARRIVAL_TRACE && g->ts->keep_alive) {
            index_origins(g);
            g->pools =
                g_new0(GPtrArray *, (gsize)g->ts->clients * g->n_origins + 1);
        }
    }
    c->ev_arrival = sim_engine_register(w->engine, "client-arrival",
                                        on_arrival, NULL, c);
    return c;
}

void client_free(Client *c)
{
    if (c == NULL) {
        return;
    }
    for (guint i = 0; i < c->n_gens; i++) {
        Generator *g = &c->gens[i];
        replay_free(g->replay);
        for (gsize k = 0;
             g->pools != NULL && k < (gsize)g->ts->clients * g->n_origins;
             k++) {
            for (guint j = 0; g->pools[k] != NULL && j < g->pools[k]->len;
                 j++) {
                path_conn_close(c->path, g_ptr_array_index(g->pools[k], j));
            }
            if (g->pools[k] != NULL) {
                g_ptr_array_unref(g->pools[k]);
            }
        }
        g_free(g->pools);
        g_free(g->origin);
    }
    g_free(c->gens);
    g_free(c);
}

void client_start(Client *c)
{
    for (guint i = 0; i < c->n_gens; i++) {
        Generator *g = &c->gens[i];
        if (g->ts->arrival == ARRIVAL_TRACE) {
            if (g->replay != NULL) {
                replay_start(g->replay); /* models/replay.c */
            }
            continue;
        }
        SimTime first;
        if (next_arrival(g, g->ts->start, TRUE, &first)) {
            sim_schedule(c->w->engine, first, c->ev_arrival, i, NULL);
        }
    }
}

gboolean client_open_traces(Client *c, GError **error)
{
    for (guint i = 0; i < c->n_gens; i++) {
        Generator *g = &c->gens[i];
        if (g->ts->arrival != ARRIVAL_TRACE || g->replay != NULL) {
            continue;
        }
        g->replay = replay_open(c->w, c->path, g->ts, error);
        if (g->replay == NULL) {
            return FALSE;
        }
    }
    return TRUE;
}

gboolean client_pending(const Client *c)
{
    for (guint i = 0; i < c->n_gens; i++) {
        if (c->gens[i].replay != NULL && replay_pending(c->gens[i].replay)) {
            return TRUE;
        }
    }
    return FALSE;
}
