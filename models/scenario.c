/* scenario.c: reads a scenario stream (the Scenario document and ordinary
 * manifests, plus includes) into a Scenario with SCENARIO.md's defaults. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <sys/stat.h>

#include <glib/gstdio.h>

#include "models/ipv4.h"
#include "models/scenario.h"

/* ---- input limits (issue 8) ------------------------------------------------
 * Every duration of the Scenario document is at most the longest run; a
 * distribution's largest possible sample stays far enough below
 * SIM_TIME_MAX that the sums of a request's hops cannot overflow. */
#define SCENARIO_MAX_SAMPLE 1e18 /* ns, about 31 years */
/* Included manifests together, like one file (YLimits.max_file_bytes). */
#define SCENARIO_MAX_INCLUDED_BYTES ((guint64)64 << 20)

/* ynode_to_duration(), at most SCENARIO_MAX_DURATION. */
static gboolean scen_duration(const YNode *n, SimTime *out, GError **error)
{
    if (!ynode_to_duration(n, out, error)) {
        return FALSE;
    }
    if (*out > SCENARIO_MAX_DURATION) {
        ynode_error(error, n, SCENARIO_ERROR_TOO_LARGE,
                    "duration %s exceeds the limit of 720h", ynode_str(n));
        return FALSE;
    }
    return TRUE;
}

/* An optional string: absent or null leaves *out alone; any other
 * non-scalar is an error at the node. */
static gboolean opt_string(const YNode *map, const char *key, const char **out,
                           GError **error)
{
    const YNode *v = ynode_get(map, key);
    if (v == NULL || ynode_is_null(v)) {
        return TRUE;
    }
    return ynode_to_string(v, out, error);
}

/* "a.b.c.d" (or "a.b.c.d/n", n <= @max_prefix, when @cidr). */
static gboolean ipv4_ok(const char *text, gboolean cidr, guint max_prefix)
{
    guint32 a;
    guint n = 0;
    if (!cidr) {
        return ipv4_parse(text, &a);
    }
    return strchr(text, '/') != NULL && ipv4_parse_cidr(text, &a, &n) &&
           n <= max_prefix;
}

/* ---- URLs ---------------------------------------------------------------- */

const char *url_scheme_name(UrlScheme s)
{
    static const char *const names[] = { "http", "https", "tcp", "tls" };
    return names[s];
}

void url_clear(Url *u)
{
    g_free(u->host);
    g_free(u->path);
    g_free(u->authority);
    memset(u, 0, sizeof *u);
}

gboolean url_parse(const char *text, Url *out, char **err_msg)
{
    memset(out, 0, sizeof *out);
    g_autofree char *scheme = NULL, *host = NULL, *path = NULL, *query = NULL;
    gint port = -1;
    if (!g_uri_split(text, G_URI_FLAGS_NON_DNS, &scheme, NULL, &host, &port,
                     &path, &query, NULL, NULL) ||
        scheme == NULL || host == NULL || host[0] == '\0') {
        *err_msg = g_strdup_printf(
            "invalid URL '%s': expected scheme://host[:port][/path], e.g. "
            "http://counter.example.com/",
            text);
        return FALSE;
    }
    g_autofree char *lscheme = g_ascii_strdown(scheme, -1);
    gint dflt = 80;
    if (strcmp(lscheme, "http") == 0) {
        out->scheme = URL_HTTP;
    } else if (strcmp(lscheme, "https") == 0) {
        out->scheme = URL_HTTPS;
        dflt = 443;
    } else if (strcmp(lscheme, "tcp") == 0) {
        out->scheme = URL_TCP;
    } else if (strcmp(lscheme, "tls") == 0) {
        out->scheme = URL_TLS;
        dflt = 443;
    } else {
        *err_msg = g_strdup_printf("invalid URL '%s': scheme must be http, "
                                   "https, tcp or tls",
                                   text);
        return FALSE;
    }
    if ((out->scheme == URL_TCP || out->scheme == URL_TLS) && port <= 0 &&
        out->scheme == URL_TCP) {
        *err_msg = g_strdup_printf("invalid URL '%s': a tcp URL needs a port "
                                   "(tcp://host:3306)",
                                   text);
        return FALSE;
    }
    out->port_given = port > 0;
    out->port = port > 0 ? port : dflt;
    out->host = g_ascii_strdown(host, -1);
    out->path = g_strdup_printf("%s%s%s", path[0] != '\0' ? path : "/",
                                query != NULL ? "?" : "",
                                query != NULL ? query : "");
    /* curl sends the port in Host only when it is not the scheme's own. */
    gboolean std = (out->scheme == URL_HTTP && out->port == 80) ||
                   (out->scheme == URL_HTTPS && out->port == 443);
    out->authority = std ? g_strdup(out->host)
                         : g_strdup_printf("%s:%d", out->host, out->port);
    return TRUE;
}

/* ---- free ---------------------------------------------------------------- */

static void workload_free(WorkloadSpec *w)
{
    if (w == NULL) {
        return;
    }
    g_free(w->ns);
    g_free(w->name);
    if (w->responses != NULL) {
        g_array_unref(w->responses);
    }
    g_free(w);
}

static void response_clear(gpointer p)
{
    g_free(((WorkloadResponse *)p)->path_prefix);
}

static void request_clear(gpointer p)
{
    RequestTemplate *r = p;
    url_clear(&r->url);
    g_free(r->method);
    kv_list_free(r->headers);
}

static void traffic_free(TrafficSpec *t)
{
    if (t == NULL) {
        return;
    }
    g_free(t->name);
    if (t->requests != NULL) {
        g_array_unref(t->requests);
    }
    g_free(t->trace_file);
    g_free(t->trace_format);
    if (t->steps != NULL) {
        g_array_unref(t->steps);
    }
    g_free(t);
}

static void failure_clear(gpointer p)
{
    FailureSpec *f = p;
    g_free(f->target);
    if (f->docs != NULL) {
        g_ptr_array_unref(f->docs);
    }
}

void scenario_free(Scenario *s)
{
    if (s == NULL) {
        return;
    }
    g_free(s->file);
    g_free(s->dir);
    g_free(s->name);
    g_free(s->description);
    if (s->lb.listeners != NULL) {
        g_array_unref(s->lb.listeners);
    }
    if (s->lb.backends != NULL) {
        g_ptr_array_unref(s->lb.backends);
    }
    if (s->workloads != NULL) {
        g_ptr_array_unref(s->workloads);
    }
    if (s->default_workload.responses != NULL) {
        g_array_unref(s->default_workload.responses);
    }
    if (s->traffic != NULL) {
        g_ptr_array_unref(s->traffic);
    }
    if (s->failures != NULL) {
        g_array_unref(s->failures);
    }
    /* Last: everything above may point into the cluster's documents. */
    cluster_free(s->cluster);
    g_free(s);
}

const char *lb_algorithm_name(LbAlgorithm a)
{
    static const char *const names[] = { "round-robin", "least-connections",
                                         "source-hash", "random" };
    return names[a];
}

/* ---- distributions ------------------------------------------------------- */

static gboolean parse_dist(const YNode *n, Dist *out, GError **error)
{
    if (n != NULL && n->kind == YNODE_SCALAR) {
        SimTime v = 0;
        if (!scen_duration(n, &v, error)) {
            return FALSE;
        }
        *out = dist_constant(v);
        return TRUE;
    }
    static const char *const kinds[] = { "exponential", "uniform", "normal",
                                         "lognormal", "constant", NULL };
    if (!ynode_expect_map(n, "a distribution", error)) {
        return FALSE;
    }
    if (ynode_len(n) != 1) {
        ynode_error(error, n, SCENARIO_ERROR_BAD_VALUE,
                    "a distribution is a duration or one of {exponential: "
                    "{mean}}, {uniform: {min, max}}, {normal: {mean, "
                    "stddev}}, {lognormal: {median, p99}}");
        return FALSE;
    }
    if (!ynode_check_keys(n, "a distribution", kinds, error)) {
        return FALSE;
    }
    const char *kind = ynode_key_at(n, 0)->scalar;
    const YNode *p = ynode_value_at(n, 0);
    SimTime a = 0, b = 0;
    if (strcmp(kind, "constant") == 0) {
        if (!scen_duration(p, &a, error)) {
            return FALSE;
        }
        *out = dist_constant(a);
        return TRUE;
    }
    static const char *const exp_keys[] = { "mean", NULL };
    static const char *const uni_keys[] = { "min", "max", NULL };
    static const char *const norm_keys[] = { "mean", "stddev", NULL };
    static const char *const logn_keys[] = { "median", "p99", NULL };
    const char *const *keys = strcmp(kind, "exponential") == 0 ? exp_keys
                              : strcmp(kind, "uniform") == 0   ? uni_keys
                              : strcmp(kind, "normal") == 0    ? norm_keys
                                                               : logn_keys;
    if (!ynode_check_keys(p, kind, keys, error)) {
        return FALSE;
    }
    for (guint i = 0; keys[i] != NULL; i++) {
        const YNode *v = ynode_get(p, keys[i]);
        if (v == NULL) {
            ynode_error(error, p, SCENARIO_ERROR_BAD_VALUE,
                        "%s needs '%s'", kind, keys[i]);
            return FALSE;
        }
        if (!scen_duration(v, i == 0 ? &a : &b, error)) {
            return FALSE;
        }
    }
    if (strcmp(kind, "exponential") == 0) {
        if (a <= 0) {
            ynode_error(error, p, SCENARIO_ERROR_BAD_VALUE,
                        "exponential mean must be greater than 0");
            return FALSE;
        }
        *out = dist_exponential(a);
    } else if (strcmp(kind, "uniform") == 0) {
        if (b < a) {
            ynode_error(error, p, SCENARIO_ERROR_BAD_VALUE,
                        "uniform max must not be below min");
            return FALSE;
        }
        *out = dist_uniform(a, b);
    } else if (strcmp(kind, "normal") == 0) {
        *out = dist_normal(a, b);
    } else {
        if (a <= 0 || b < a) {
            ynode_error(error, p, SCENARIO_ERROR_BAD_VALUE,
                        "lognormal needs 0 < median <= p99");
            return FALSE;
        }
        /* The largest sample dist_sample() can draw: Box-Muller's z is at
         * most sqrt(-2 ln 2^-53) = 8.572; p99 is z = 2.326. */
        double la = log((double)a), lb = log((double)b);
        if (la + (lb - la) * (8.572 / 2.3263478740408408) >
            log(SCENARIO_MAX_SAMPLE)) {
            ynode_error(error, p, SCENARIO_ERROR_TOO_LARGE,
                        "lognormal tail too long: p99/median is so large "
                        "that samples could exceed the limit of 1e18 ns; "
                        "lower p99 or raise median");
            return FALSE;
        }
        *out = dist_lognormal(a, b);
    }
    return TRUE;
}

/* ---- sections ------------------------------------------------------------ */

static gboolean parse_nodes(const YNode *list, GPtrArray *out, GError **error)
{
    if (!ynode_expect_seq(list, "nodes", error)) {
        return FALSE;
    }
    static const char *const keys[] = { "name", "zone", "ip", "podCIDR",
                                        "labels", NULL };
    for (guint i = 0; i < ynode_len(list); i++) {
        const YNode *n = ynode_at(list, i);
        if (!ynode_check_keys(n, "a node", keys, error)) {
            return FALSE;
        }
        const char *name = NULL, *zone = NULL, *ip = NULL, *cidr = NULL;
        if (ynode_get(n, "name") == NULL) {
            ynode_error(error, n, SCENARIO_ERROR_BAD_VALUE,
                        "a node needs a 'name'");
            return FALSE;
        }
        if (!ynode_to_string(ynode_get(n, "name"), &name, error) ||
            !opt_string(n, "zone", &zone, error) ||
            !opt_string(n, "ip", &ip, error) ||
            !opt_string(n, "podCIDR", &cidr, error)) {
            return FALSE;
        }
        if (ip != NULL && !ipv4_ok(ip, FALSE, 0)) {
            ynode_error(error, ynode_get(n, "ip"), SCENARIO_ERROR_BAD_VALUE,
                        "node ip '%s' is not an IPv4 address", ip);
            return FALSE;
        }
        if (cidr != NULL && !ipv4_ok(cidr, TRUE, 24)) {
            ynode_error(error, ynode_get(n, "podCIDR"),
                        SCENARIO_ERROR_BAD_VALUE,
                        "podCIDR '%s' must be an IPv4 CIDR of /24 or wider",
                        cidr);
            return FALSE;
        }
        for (guint j = 0; j < out->len; j++) {
            const K8sNode *o = g_ptr_array_index(out, j);
            if (strcmp(o->name, name) == 0) {
                g_autofree char *first = ynode_where(o->where);
                ynode_error(error, ynode_get(n, "name"),
                            SCENARIO_ERROR_BAD_VALUE,
                            "duplicate node '%s' (first at %s)", name, first);
                return FALSE;
            }
        }
        K8sNode *node = g_new0(K8sNode, 1);
        g_ptr_array_add(out, node);
        node->name = g_strdup(name);
        node->zone = g_strdup(zone);
        node->ip = g_strdup(ip);
        node->pod_cidr = g_strdup(cidr);
        node->labels = kv_list_new();
        node->where = n;
        if (!kv_list_parse(node->labels, ynode_get(n, "labels"), "labels",
                           error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean parse_lb(Scenario *s, const YNode *lb, GError **error)
{
    static const char *const keys[] = { "algorithm", "listeners", "backends",
                                        "healthCheck", NULL };
    if (!ynode_check_keys(lb, "loadBalancer", keys, error)) {
        return FALSE;
    }
    const YNode *alg = ynode_get(lb, "algorithm");
    if (alg != NULL) {
        static const char *const algs[] = { "round-robin", "least-connections",
                                            "source-hash", "random", NULL };
        const char *a = NULL;
        if (!ynode_to_string(alg, &a, error)) {
            return FALSE;
        }
        guint i = 0;
        while (algs[i] != NULL && strcmp(algs[i], a) != 0) {
            i++;
        }
        if (algs[i] == NULL) {
            const char *hint = ynode_suggest(a, algs);
            ynode_error(error, alg, SCENARIO_ERROR_BAD_VALUE,
                        "unknown algorithm '%s'%s%s%s (round-robin, "
                        "least-connections, source-hash, random)",
                        a, hint ? "; did you mean '" : "", hint ? hint : "",
                        hint ? "'?" : "");
            return FALSE;
        }
        s->lb.algorithm = (LbAlgorithm)i;
    }
    const YNode *ls = ynode_get(lb, "listeners");
    if (ls != NULL) {
        if (!ynode_expect_seq(ls, "listeners", error)) {
            return FALSE;
        }
        s->lb.listeners = g_array_new(FALSE, TRUE, sizeof(LbListener));
        static const char *const lkeys[] = { "port", "nodePort", NULL };
        for (guint i = 0; i < ynode_len(ls); i++) {
            const YNode *l = ynode_at(ls, i);
            LbListener li = { .where = l };
            if (!ynode_check_keys(l, "a listener", lkeys, error)) {
                return FALSE;
            }
            if (ynode_get(l, "port") == NULL ||
                ynode_get(l, "nodePort") == NULL) {
                ynode_error(error, l, SCENARIO_ERROR_BAD_VALUE,
                            "a listener needs 'port' and 'nodePort'");
                return FALSE;
            }
            if (!ynode_to_port(ynode_get(l, "port"), &li.port, error) ||
                !ynode_to_port(ynode_get(l, "nodePort"), &li.node_port,
                               error)) {
                return FALSE;
            }
            for (guint j = 0; j < s->lb.listeners->len; j++) {
                if (g_array_index(s->lb.listeners, LbListener, j).port ==
                    li.port) {
                    ynode_error(error, l, SCENARIO_ERROR_BAD_VALUE,
                                "duplicate load balancer port %d", li.port);
                    return FALSE;
                }
            }
            g_array_append_val(s->lb.listeners, li);
        }
    }
    const YNode *be = ynode_get(lb, "backends");
    if (be != NULL) {
        if (!ynode_expect_seq(be, "backends", error)) {
            return FALSE;
        }
        s->lb.backends = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < ynode_len(be); i++) {
            const char *n = NULL;
            if (!ynode_to_string(ynode_at(be, i), &n, error)) {
                return FALSE;
            }
            for (guint j = 0; j < s->lb.backends->len; j++) {
                if (strcmp(g_ptr_array_index(s->lb.backends, j), n) == 0) {
                    ynode_error(error, ynode_at(be, i),
                                SCENARIO_ERROR_BAD_VALUE,
                                "duplicate backend '%s'", n);
                    return FALSE;
                }
            }
            g_ptr_array_add(s->lb.backends, g_strdup(n));
        }
    }
    const YNode *hc = ynode_get(lb, "healthCheck");
    if (hc != NULL) {
        static const char *const hkeys[] = {
            "nodePort", "interval", "timeout", "healthyThreshold",
            "unhealthyThreshold", "enabled", NULL
        };
        if (!ynode_check_keys(hc, "healthCheck", hkeys, error)) {
            return FALSE;
        }
        LbHealthCheck *h = &s->lb.health;
        const YNode *v;
        gint64 iv = 0;
        if ((v = ynode_get(hc, "nodePort")) != NULL &&
            !ynode_to_port(v, &h->node_port, error)) {
            return FALSE;
        }
        if ((v = ynode_get(hc, "interval")) != NULL) {
            if (!scen_duration(v, &h->interval, error)) {
                return FALSE;
            }
            if (h->interval <= 0) {
                ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE,
                            "interval must be greater than 0");
                return FALSE;
            }
        }
        if ((v = ynode_get(hc, "timeout")) != NULL &&
            !scen_duration(v, &h->timeout, error)) {
            return FALSE;
        }
        if ((v = ynode_get(hc, "healthyThreshold")) != NULL) {
            if (!ynode_to_int(v, 1, 100, &iv, error)) {
                return FALSE;
            }
            h->healthy_threshold = (gint)iv;
        }
        if ((v = ynode_get(hc, "unhealthyThreshold")) != NULL) {
            if (!ynode_to_int(v, 1, 100, &iv, error)) {
                return FALSE;
            }
            h->unhealthy_threshold = (gint)iv;
        }
        if ((v = ynode_get(hc, "enabled")) != NULL &&
            !ynode_to_bool(v, &h->enabled, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean parse_latency(Scenario *s, const YNode *lat, GError **error)
{
    static const char *const keys[] = { "clientToLoadBalancer",
                                        "loadBalancerToNode", "nodeToNode",
                                        "gateway", "tlsHandshake", NULL };
    Dist *slots[] = { &s->latency.client_to_lb, &s->latency.lb_to_node,
                      &s->latency.node_to_node, &s->latency.gateway,
                      &s->latency.tls_handshake };
    if (!ynode_check_keys(lat, "latency", keys, error)) {
        return FALSE;
    }
    for (guint i = 0; keys[i] != NULL; i++) {
        const YNode *v = ynode_get(lat, keys[i]);
        if (v != NULL && !parse_dist(v, slots[i], error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static void workload_defaults(WorkloadSpec *w)
{
    w->service_time = dist_constant(1 * SIM_MS);
    w->concurrency = 16;
    w->queue_limit = 1000;
    w->startup_time = 5 * SIM_S;
    w->responses = g_array_new(FALSE, TRUE, sizeof(WorkloadResponse));
    g_array_set_clear_func(w->responses, response_clear);
}

static gboolean parse_preset(const YNode *v, WorkloadPreset *out,
                             GError **error)
{
    static const char *const names[] = { "none", "httpbin", "helloworld",
                                         "tcp-echo", NULL };
    const char *p = NULL;
    if (!ynode_to_string(v, &p, error)) {
        return FALSE;
    }
    for (guint i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], p) == 0) {
            *out = (WorkloadPreset)i;
            return TRUE;
        }
    }
    ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE,
                "unknown preset '%s' (httpbin, helloworld, tcp-echo)", p);
    return FALSE;
}

static gboolean parse_workload(const YNode *key, const YNode *w,
                               WorkloadSpec *out, GError **error)
{
    static const char *const keys[] = { "serviceTime", "concurrency",
                                        "queueLimit", "startupTime",
                                        "responses", "preset", NULL };
    g_auto(GStrv) parts = g_strsplit(key->scalar, "/", 2);
    if (parts[0] == NULL || parts[1] == NULL || parts[0][0] == '\0' ||
        parts[1][0] == '\0') {
        ynode_error(error, key, SCENARIO_ERROR_BAD_VALUE,
                    "workload key must be namespace/deployment, not '%s'",
                    key->scalar);
        return FALSE;
    }
    out->ns = g_strdup(parts[0]);
    out->name = g_strdup(parts[1]);
    out->where = key;
    if (!ynode_check_keys(w, "a workload", keys, error)) {
        return FALSE;
    }
    const YNode *v;
    gint64 iv = 0;
    if ((v = ynode_get(w, "serviceTime")) != NULL &&
        !parse_dist(v, &out->service_time, error)) {
        return FALSE;
    }
    if ((v = ynode_get(w, "concurrency")) != NULL) {
        if (!ynode_to_int(v, 1, 100000, &iv, error)) {
            return FALSE;
        }
        out->concurrency = (gint)iv;
    }
    if ((v = ynode_get(w, "queueLimit")) != NULL) {
        if (!ynode_to_int(v, 0, 10000000, &iv, error)) {
            return FALSE;
        }
        out->queue_limit = (gint)iv;
    }
    if ((v = ynode_get(w, "startupTime")) != NULL &&
        !scen_duration(v, &out->startup_time, error)) {
        return FALSE;
    }
    if ((v = ynode_get(w, "preset")) != NULL &&
        !parse_preset(v, &out->preset, error)) {
        return FALSE;
    }
    const YNode *rl = ynode_get(w, "responses");
    if (rl != NULL) {
        if (!ynode_expect_seq(rl, "responses", error)) {
            return FALSE;
        }
        static const char *const rkeys[] = { "pathPrefix", "status", "delay",
                                             NULL };
        for (guint i = 0; i < ynode_len(rl); i++) {
            const YNode *r = ynode_at(rl, i);
            WorkloadResponse wr = { 0 };
            if (!ynode_check_keys(r, "a response", rkeys, error)) {
                return FALSE;
            }
            const char *pp = "/";
            if ((v = ynode_get(r, "pathPrefix")) != NULL &&
                !ynode_to_string(v, &pp, error)) {
                return FALSE;
            }
            if ((v = ynode_get(r, "status")) != NULL) {
                if (!ynode_to_int(v, 100, 599, &iv, error)) {
                    return FALSE;
                }
                wr.status = (gint)iv;
            }
            if ((v = ynode_get(r, "delay")) != NULL) {
                if (!parse_dist(v, &wr.delay, error)) {
                    return FALSE;
                }
                wr.has_delay = TRUE;
            }
            wr.path_prefix = g_strdup(pp);
            g_array_append_val(out->responses, wr);
        }
    }
    return TRUE;
}

static gboolean parse_rate(const YNode *v, double *rate, GError **error)
{
    const char *t = ynode_str(v);
    g_autofree char *msg = NULL;
    if (t == NULL || !sim_rate_parse(t, rate, &msg)) {
        ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE, "%s",
                    msg != NULL ? msg
                                : "expected a rate such as 200/s or 10/m");
        return FALSE;
    }
    /* A rate beyond this is a typo (issue 8: absurd sizes). */
    if (*rate > 1e8) {
        ynode_error(error, v, SCENARIO_ERROR_TOO_LARGE,
                    "rate %s exceeds the limit of 100000000/s", t);
        return FALSE;
    }
    return TRUE;
}

/* keepAlive: true | false | {idleTimeout, maxRequestsPerConnection}. */
static gboolean parse_keep_alive(const YNode *v, TrafficSpec *t, GError **error)
{
    if (v->kind == YNODE_SCALAR) {
        return ynode_to_bool(v, &t->keep_alive, error);
    }
    static const char *const keys[] = { "idleTimeout",
                                        "maxRequestsPerConnection", NULL };
    if (!ynode_check_keys(v, "keepAlive", keys, error)) {
        return FALSE;
    }
    t->keep_alive = TRUE;
    const YNode *x;
    if ((x = ynode_get(v, "idleTimeout")) != NULL) {
        if (!scen_duration(x, &t->idle_timeout, error)) {
            return FALSE;
        }
        if (t->idle_timeout <= 0) {
            ynode_error(error, x, SCENARIO_ERROR_BAD_VALUE,
                        "idleTimeout must be longer than 0s");
            return FALSE;
        }
    }
    if ((x = ynode_get(v, "maxRequestsPerConnection")) != NULL) {
        gint64 iv = 0;
        if (!ynode_to_int(x, 0, G_MAXINT32, &iv, error)) {
            return FALSE;
        }
        t->max_requests_per_connection = (guint)iv;
    }
    return TRUE;
}

/* A step's rate: a rate, or 0 (also "0/s") for a pause. */
static gboolean parse_step_rate(const YNode *v, double *rate, GError **error)
{
    const char *t = ynode_str(v);
    if (t != NULL) {
        gsize n = strspn(t, "0.");
        if (n > 0 && strspn(t, "0") > 0 &&
            (t[n] == '\0' || strcmp(t + n, "/s") == 0 ||
             strcmp(t + n, "/m") == 0 || strcmp(t + n, "/h") == 0) &&
            strchr(t, '.') == strrchr(t, '.')) {
            *rate = 0.0;
            return TRUE;
        }
        if (t[0] == '-') {
            ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE,
                        "invalid rate \"%s\": a step's rate is 0 (a pause) "
                        "or more",
                        t);
            return FALSE;
        }
    }
    return parse_rate(v, rate, error);
}

/* arrival.<kind>.steps: [{at, rate}...], strictly later one after the
 * other. The generator switches rate at each `at`. */
static gboolean parse_steps(const YNode *sl, TrafficSpec *t, GError **error)
{
    if (!ynode_expect_seq(sl, "steps", error)) {
        return FALSE;
    }
    if (ynode_len(sl) > 10000) {
        ynode_error(error, sl, SCENARIO_ERROR_TOO_LARGE,
                    "more than 10000 rate steps");
        return FALSE;
    }
    t->steps = g_array_new(FALSE, TRUE, sizeof(RateStep));
    static const char *const keys[] = { "at", "rate", NULL };
    for (guint i = 0; i < ynode_len(sl); i++) {
        const YNode *st = ynode_at(sl, i);
        if (!ynode_check_keys(st, "a rate step", keys, error)) {
            return FALSE;
        }
        RateStep rs = { .where = st };
        if (ynode_get(st, "at") == NULL || ynode_get(st, "rate") == NULL) {
            ynode_error(error, st, SCENARIO_ERROR_BAD_VALUE,
                        "a rate step needs 'at' and 'rate'");
            return FALSE;
        }
        if (!scen_duration(ynode_get(st, "at"), &rs.at, error) ||
            !parse_step_rate(ynode_get(st, "rate"), &rs.rate, error)) {
            return FALSE;
        }
        if (i > 0 && rs.at <= g_array_index(t->steps, RateStep, i - 1).at) {
            ynode_error(error, ynode_get(st, "at"), SCENARIO_ERROR_BAD_VALUE,
                        "rate steps must come in order of time, each later "
                        "than the one before");
            return FALSE;
        }
        t->max_rate = MAX(t->max_rate, rs.rate);
        g_array_append_val(t->steps, rs);
    }
    return TRUE;
}

static gboolean parse_requests(const YNode *rl, TrafficSpec *t, GError **error)
{
    if (!ynode_expect_seq(rl, "requests", error)) {
        return FALSE;
    }
    static const char *const keys[] = { "weight", "url", "method", "headers",
                                        NULL };
    for (guint i = 0; i < ynode_len(rl); i++) {
        const YNode *r = ynode_at(rl, i);
        if (!ynode_check_keys(r, "a request", keys, error)) {
            return FALSE;
        }
        RequestTemplate rt = { .weight = 1 };
        const YNode *v;
        gint64 iv = 0;
        if ((v = ynode_get(r, "weight")) != NULL) {
            if (!ynode_to_int(v, 0, 1000000, &iv, error)) {
                return FALSE;
            }
            rt.weight = (gint)iv;
        }
        const char *url = NULL;
        if (!ynode_to_string(ynode_get(r, "url"), &url, error)) {
            if (ynode_get(r, "url") == NULL) {
                g_clear_error(error);
                ynode_error(error, r, SCENARIO_ERROR_BAD_VALUE,
                            "a request needs a 'url'");
            }
            return FALSE;
        }
        g_autofree char *msg = NULL;
        if (!url_parse(url, &rt.url, &msg)) {
            ynode_error(error, ynode_get(r, "url"), SCENARIO_ERROR_BAD_VALUE,
                        "%s", msg);
            return FALSE;
        }
        const char *method = "GET";
        if (!opt_string(r, "method", &method, error)) {
            url_clear(&rt.url);
            return FALSE;
        }
        rt.method = g_strdup(method);
        rt.headers = kv_list_new();
        const YNode *h = ynode_get(r, "headers");
        if (h != NULL) {
            g_autoptr(KvList) raw = kv_list_new();
            if (!kv_list_parse(raw, h, "headers", error)) {
                request_clear(&rt);
                return FALSE;
            }
            for (guint k = 0; k < kv_list_len(raw); k++) {
                g_autofree char *lk =
                    g_ascii_strdown(g_ptr_array_index(raw->keys, k), -1);
                kv_list_set(rt.headers, lk, g_ptr_array_index(raw->values, k));
            }
        }
        const char *host = kv_list_get(rt.headers, "host");
        rt.authority = host != NULL ? host : rt.url.authority;
        t->total_weight += rt.weight;
        g_array_append_val(t->requests, rt);
    }
    if (t->total_weight <= 0) {
        ynode_error(error, rl, SCENARIO_ERROR_BAD_VALUE,
                    "requests need at least one entry with weight > 0");
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_traffic_one(Scenario *s, const YNode *n, guint idx,
                                  TrafficSpec *t, GError **error)
{
    static const char *const keys[] = { "name",    "arrival",   "requests",
                                        "trace",   "start",     "stop",
                                        "clients", "keepAlive", NULL };
    if (!ynode_check_keys(n, "a traffic entry", keys, error)) {
        return FALSE;
    }
    t->where = n;
    const char *tname = NULL;
    if (!opt_string(n, "name", &tname, error)) {
        return FALSE;
    }
    for (guint j = 0; tname != NULL && j < s->traffic->len; j++) {
        const TrafficSpec *o = g_ptr_array_index(s->traffic, j);
        if (o != t && g_strcmp0(o->name, tname) == 0) {
            ynode_error(error, ynode_get(n, "name"), SCENARIO_ERROR_BAD_VALUE,
                        "duplicate traffic name '%s'", tname);
            return FALSE;
        }
    }
    t->name = tname != NULL ? g_strdup(tname)
                            : g_strdup_printf("traffic-%u", idx + 1);
    t->speed = 1.0;
    t->stop = -1;
    t->clients = SCENARIO_MAX_CLIENTS;
    t->idle_timeout = 90 * SIM_S;
    const YNode *v;
    if (ynode_get(n, "trace") != NULL &&
        ((v = ynode_get(n, "clients")) != NULL ||
         (v = ynode_get(n, "keepAlive")) != NULL)) {
        ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE,
                    "clients and keepAlive go with generated traffic "
                    "(arrival); a replayed trace brings its own clients");
        return FALSE;
    }
    if ((v = ynode_get(n, "clients")) != NULL) {
        gint64 iv = 0;
        if (!ynode_to_int(v, 1, SCENARIO_MAX_CLIENTS, &iv, error)) {
            return FALSE;
        }
        t->clients = (guint)iv;
    }
    if ((v = ynode_get(n, "keepAlive")) != NULL &&
        !parse_keep_alive(v, t, error)) {
        return FALSE;
    }
    if ((v = ynode_get(n, "start")) != NULL &&
        !scen_duration(v, &t->start, error)) {
        return FALSE;
    }
    if ((v = ynode_get(n, "stop")) != NULL) {
        if (!scen_duration(v, &t->stop, error)) {
            return FALSE;
        }
        if (t->stop <= t->start) {
            ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE,
                        "stop must be later than start");
            return FALSE;
        }
    }
    const YNode *tr = ynode_get(n, "trace");
    const YNode *arr = ynode_get(n, "arrival");
    if (tr != NULL) {
        static const char *const tkeys[] = { "file", "format", "speed", NULL };
        if (!ynode_check_keys(tr, "trace", tkeys, error)) {
            return FALSE;
        }
        const char *f = NULL;
        if (ynode_get(tr, "file") == NULL) {
            ynode_error(error, tr, SCENARIO_ERROR_BAD_VALUE,
                        "trace needs a 'file'");
            return FALSE;
        }
        if (!ynode_to_string(ynode_get(tr, "file"), &f, error)) {
            return FALSE;
        }
        static const char *const formats[] = { "istio-json", "istio-text",
                                               "csv", NULL };
        const char *fmt = "istio-json";
        if (!opt_string(tr, "format", &fmt, error)) {
            return FALSE;
        }
        if (!g_strv_contains(formats, fmt)) {
            const char *hint = ynode_suggest(fmt, formats);
            ynode_error(error, ynode_get(tr, "format"),
                        SCENARIO_ERROR_BAD_VALUE,
                        "unknown trace format '%s'%s%s%s (istio-json, "
                        "istio-text, csv)",
                        fmt, hint ? "; did you mean '" : "", hint ? hint : "",
                        hint ? "'?" : "");
            return FALSE;
        }
        t->arrival = ARRIVAL_TRACE;
        t->trace_file = g_path_is_absolute(f) ? g_strdup(f)
                                              : g_build_filename(s->dir, f, NULL);
        t->trace_format = g_strdup(fmt);
        if ((v = ynode_get(tr, "speed")) != NULL &&
            !ynode_to_double(v, 1e-6, 1e6, &t->speed, error)) {
            return FALSE;
        }
        return TRUE;
    }
    if (arr == NULL) {
        ynode_error(error, n, SCENARIO_ERROR_BAD_VALUE,
                    "traffic '%s' needs 'arrival' (and 'requests') or "
                    "'trace'",
                    t->name);
        return FALSE;
    }
    static const char *const akeys[] = { "poisson", "constant", NULL };
    if (!ynode_check_keys(arr, "arrival", akeys, error)) {
        return FALSE;
    }
    if (ynode_len(arr) != 1) {
        ynode_error(error, arr, SCENARIO_ERROR_BAD_VALUE,
                    "arrival is one of {poisson: {rate}} or {constant: "
                    "{rate}}");
        return FALSE;
    }
    const char *kind = ynode_key_at(arr, 0)->scalar;
    t->arrival = strcmp(kind, "poisson") == 0 ? ARRIVAL_POISSON
                                              : ARRIVAL_CONSTANT;
    const YNode *ap = ynode_value_at(arr, 0);
    static const char *const rkeys[] = { "rate", "steps", NULL };
    if (!ynode_check_keys(ap, kind, rkeys, error)) {
        return FALSE;
    }
    if (ynode_get(ap, "rate") == NULL) {
        ynode_error(error, ap, SCENARIO_ERROR_BAD_VALUE, "%s needs 'rate'",
                    kind);
        return FALSE;
    }
    if (!parse_rate(ynode_get(ap, "rate"), &t->rate, error)) {
        return FALSE;
    }
    t->max_rate = t->rate;
    if (ynode_get(ap, "steps") != NULL &&
        !parse_steps(ynode_get(ap, "steps"), t, error)) {
        return FALSE;
    }
    const YNode *rl = ynode_get(n, "requests");
    if (rl == NULL) {
        ynode_error(error, n, SCENARIO_ERROR_BAD_VALUE,
                    "traffic '%s' needs 'requests'", t->name);
        return FALSE;
    }
    return parse_requests(rl, t, error);
}

static gboolean parse_failures(Scenario *s, const YNode *list, GError **error)
{
    if (!ynode_expect_seq(list, "failures", error)) {
        return FALSE;
    }
    /* Kinds in FailureKind order after "at"; "for" goes with
     * readiness-flap only. */
    static const char *const keys[] = { "at",
                                        "node-down",
                                        "node-up",
                                        "pod-crash",
                                        "pod-restart",
                                        "apply",
                                        "delete",
                                        "readiness-fail",
                                        "readiness-pass",
                                        "readiness-flap",
                                        "for",
                                        NULL };
    const guint n_kinds = G_N_ELEMENTS(keys) - 3;
    for (guint i = 0; i < ynode_len(list); i++) {
        const YNode *f = ynode_at(list, i);
        if (!ynode_check_keys(f, "a failure", keys, error)) {
            return FALSE;
        }
        FailureSpec fs = { .where = f };
        const YNode *at = ynode_get(f, "at");
        if (at == NULL) {
            ynode_error(error, f, SCENARIO_ERROR_BAD_VALUE,
                        "a failure needs 'at'");
            return FALSE;
        }
        if (!scen_duration(at, &fs.at, error)) {
            return FALSE;
        }
        guint found = 0;
        for (guint k = 1; k <= n_kinds; k++) {
            const YNode *v = ynode_get(f, keys[k]);
            if (v == NULL) {
                continue;
            }
            const char *target = NULL;
            if (!ynode_to_string(v, &target, error)) {
                return FALSE;
            }
            fs.kind = (FailureKind)(k - 1);
            g_free(fs.target);
            fs.target = g_strdup(target);
            found++;
        }
        if (found != 1) {
            g_free(fs.target);
            ynode_error(error, f, SCENARIO_ERROR_BAD_VALUE,
                        "a failure names exactly one of node-down, node-up, "
                        "pod-crash, pod-restart, apply, delete, "
                        "readiness-fail, readiness-pass, readiness-flap");
            return FALSE;
        }
        const YNode *len = ynode_get(f, "for");
        if ((fs.kind == FAILURE_READINESS_FLAP) != (len != NULL)) {
            g_free(fs.target);
            ynode_error(error, len != NULL ? len : f, SCENARIO_ERROR_BAD_VALUE,
                        len != NULL ? "'for' goes with readiness-flap only"
                                    : "readiness-flap needs 'for': how long "
                                      "the readiness probe fails");
            return FALSE;
        }
        if (len != NULL) {
            if (!scen_duration(len, &fs.length, error)) {
                g_free(fs.target);
                return FALSE;
            }
            if (fs.length <= 0) {
                g_free(fs.target);
                ynode_error(error, len, SCENARIO_ERROR_BAD_VALUE,
                            "'for' must be longer than 0s");
                return FALSE;
            }
        }
        g_array_append_val(s->failures, fs);
    }
    return TRUE;
}

static gboolean parse_control(Scenario *s, const YNode *c, GError **error)
{
    static const char *const keys[] = { "pushDelay", "endpointDelay",
                                        "nodeMonitorGracePeriod",
                                        "terminationDrainDuration", NULL };
    if (!ynode_check_keys(c, "control", keys, error)) {
        return FALSE;
    }
    const YNode *v;
    if ((v = ynode_get(c, "pushDelay")) != NULL &&
        !scen_duration(v, &s->control.push_delay, error)) {
        return FALSE;
    }
    if ((v = ynode_get(c, "endpointDelay")) != NULL &&
        !scen_duration(v, &s->control.endpoint_delay, error)) {
        return FALSE;
    }
    if ((v = ynode_get(c, "nodeMonitorGracePeriod")) != NULL &&
        !scen_duration(v, &s->control.node_grace, error)) {
        return FALSE;
    }
    if ((v = ynode_get(c, "terminationDrainDuration")) != NULL &&
        !scen_duration(v, &s->control.drain, error)) {
        return FALSE;
    }
    return TRUE;
}

/* ---- the stream ---------------------------------------------------------- */

typedef struct {
    Scenario *s;
    GPtrArray *nodes;     /* K8sNode* from spec.nodes, or NULL */
    guint depth;          /* include nesting */
    guint64 included;     /* bytes of included files so far */
} LoadCtx;

static gboolean load_file_into(LoadCtx *ctx, const char *path,
                               const YNode *from, GError **error);

static gint compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static gboolean add_include(LoadCtx *ctx, const YNode *item, GError **error)
{
    const char *rel = NULL;
    if (!ynode_to_string(item, &rel, error)) {
        return FALSE;
    }
    g_autofree char *path = g_path_is_absolute(rel)
                                ? g_strdup(rel)
                                : g_build_filename(ctx->s->dir, rel, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *n;
        while (dir != NULL && (n = g_dir_read_name(dir)) != NULL) {
            if (g_str_has_suffix(n, ".yaml") || g_str_has_suffix(n, ".yml")) {
                g_ptr_array_add(names, g_build_filename(path, n, NULL));
            }
        }
        /* Sorted, so the order (and creation order) never depends on the
         * file system. */
        g_ptr_array_sort(names, compare_strings);
        for (guint i = 0; i < names->len; i++) {
            if (!load_file_into(ctx, g_ptr_array_index(names, i), item,
                                error)) {
                return FALSE;
            }
        }
        return TRUE;
    }
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        ynode_error(error, item, SCENARIO_ERROR_BAD_REFERENCE,
                    "include '%s': no such file or folder", rel);
        return FALSE;
    }
    return load_file_into(ctx, path, item, error);
}

static gboolean parse_scenario_doc(LoadCtx *ctx, const YNode *doc,
                                   GError **error)
{
    Scenario *s = ctx->s;
    static const char *const top[] = { "apiVersion", "kind", "metadata",
                                       "spec", NULL };
    if (!ynode_check_keys(doc, "the Scenario document", top, error)) {
        return FALSE;
    }
    if (s->doc != NULL) {
        g_autofree char *first = ynode_where(s->doc);
        ynode_error(error, doc, SCENARIO_ERROR_BAD_VALUE,
                    "a second Scenario document (the first is at %s)", first);
        return FALSE;
    }
    const char *api = ynode_str(ynode_get(doc, "apiVersion"));
    if (g_strcmp0(api, "ingress-sim/v1") != 0) {
        ynode_error(error, ynode_get(doc, "apiVersion") ? ynode_get(doc, "apiVersion") : doc,
                    SCENARIO_ERROR_BAD_VALUE,
                    "the Scenario needs apiVersion: ingress-sim/v1");
        return FALSE;
    }
    s->doc = doc;
    const YNode *md = ynode_get(doc, "metadata");
    if (md != NULL) {
        static const char *const mkeys[] = { "name", "description", NULL };
        if (!ynode_check_keys(md, "metadata", mkeys, error)) {
            return FALSE;
        }
        const char *name = NULL, *descr = NULL;
        if (!opt_string(md, "name", &name, error) ||
            !opt_string(md, "description", &descr, error)) {
            return FALSE;
        }
        if (name != NULL) {
            g_free(s->name);
            s->name = g_strdup(name);
        }
        s->description = g_strdup(descr);
    }
    const YNode *spec = ynode_get(doc, "spec");
    if (spec == NULL) {
        return TRUE;
    }
    static const char *const keys[] = {
        "seed",    "duration",  "include",   "nodes",    "cluster",
        "loadBalancer", "latency", "workloads", "traffic", "failures",
        "control", "istio",     NULL
    };
    if (!ynode_check_keys(spec, "spec", keys, error)) {
        return FALSE;
    }
    const YNode *v;
    if ((v = ynode_get(spec, "seed")) != NULL) {
        gint64 seed = 0;
        if (!ynode_to_int(v, 0, G_MAXINT64, &seed, error)) {
            return FALSE;
        }
        s->seed = (guint64)seed;
    }
    if ((v = ynode_get(spec, "duration")) != NULL) {
        if (!ynode_to_duration(v, &s->duration, error)) {
            return FALSE;
        }
        if (s->duration <= 0 || s->duration > 30 * 24 * 3600 * SIM_S) {
            ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE,
                        "duration must be greater than 0 and at most 720h");
            return FALSE;
        }
        s->duration_set = TRUE;
    }
    if ((v = ynode_get(spec, "nodes")) != NULL) {
        ctx->nodes = g_ptr_array_new_with_free_func((GDestroyNotify)k8s_node_free);
        if (!parse_nodes(v, ctx->nodes, error)) {
            return FALSE;
        }
        if (ctx->nodes->len > 1000) {
            ynode_error(error, v, SCENARIO_ERROR_TOO_LARGE,
                        "more than 1000 nodes");
            return FALSE;
        }
    }
    if ((v = ynode_get(spec, "cluster")) != NULL) {
        static const char *const ckeys[] = { "clusterCIDR", "serviceCIDR",
                                             NULL };
        if (!ynode_check_keys(v, "cluster", ckeys, error)) {
            return FALSE;
        }
        char **slots[] = { &s->cluster->net.cluster_cidr,
                           &s->cluster->net.service_cidr };
        for (guint k = 0; k < G_N_ELEMENTS(slots); k++) {
            const char *cidr = NULL;
            if (!opt_string(v, ckeys[k], &cidr, error)) {
                return FALSE;
            }
            if (cidr == NULL) {
                continue;
            }
            /* cluster.c gives each node a /24 and services .10 upward. */
            if (!ipv4_ok(cidr, TRUE, 24)) {
                ynode_error(error, ynode_get(v, ckeys[k]),
                            SCENARIO_ERROR_BAD_VALUE,
                            "%s '%s' must be an IPv4 CIDR of /24 or wider",
                            ckeys[k], cidr);
                return FALSE;
            }
            g_free(*slots[k]);
            *slots[k] = g_strdup(cidr);
        }
    }
    if ((v = ynode_get(spec, "istio")) != NULL) {
        static const char *const ikeys[] = { "profile", NULL };
        if (!ynode_check_keys(v, "istio", ikeys, error)) {
            return FALSE;
        }
        const char *p = "default";
        if (!opt_string(v, "profile", &p, error)) {
            return FALSE;
        }
        if (strcmp(p, "default") != 0 && strcmp(p, "demo") != 0) {
            ynode_error(error, ynode_get(v, "profile"),
                        SCENARIO_ERROR_BAD_VALUE,
                        "istio.profile must be default or demo");
            return FALSE;
        }
        g_free(s->cluster->profile);
        s->cluster->profile = g_strdup(p);
    }
    if ((v = ynode_get(spec, "loadBalancer")) != NULL &&
        !parse_lb(s, v, error)) {
        return FALSE;
    }
    if ((v = ynode_get(spec, "latency")) != NULL &&
        !parse_latency(s, v, error)) {
        return FALSE;
    }
    if ((v = ynode_get(spec, "workloads")) != NULL) {
        if (!ynode_expect_map(v, "workloads", error)) {
            return FALSE;
        }
        for (guint i = 0; i < ynode_len(v); i++) {
            WorkloadSpec *w = g_new0(WorkloadSpec, 1);
            workload_defaults(w);
            g_ptr_array_add(s->workloads, w);
            if (!parse_workload(ynode_key_at(v, i), ynode_value_at(v, i), w,
                                error)) {
                return FALSE;
            }
        }
    }
    if ((v = ynode_get(spec, "traffic")) != NULL) {
        if (!ynode_expect_seq(v, "traffic", error)) {
            return FALSE;
        }
        for (guint i = 0; i < ynode_len(v); i++) {
            TrafficSpec *t = g_new0(TrafficSpec, 1);
            t->requests = g_array_new(FALSE, TRUE, sizeof(RequestTemplate));
            g_array_set_clear_func(t->requests, request_clear);
            g_ptr_array_add(s->traffic, t);
            if (!parse_traffic_one(s, ynode_at(v, i), i, t, error)) {
                return FALSE;
            }
        }
    }
    if ((v = ynode_get(spec, "failures")) != NULL &&
        !parse_failures(s, v, error)) {
        return FALSE;
    }
    if ((v = ynode_get(spec, "control")) != NULL &&
        !parse_control(s, v, error)) {
        return FALSE;
    }
    if ((v = ynode_get(spec, "include")) != NULL) {
        if (v->kind == YNODE_SCALAR) {
            return add_include(ctx, v, error);
        }
        if (!ynode_expect_seq(v, "include", error)) {
            return FALSE;
        }
        for (guint i = 0; i < ynode_len(v); i++) {
            if (!add_include(ctx, ynode_at(v, i), error)) {
                return FALSE;
            }
        }
    }
    return TRUE;
}

static gboolean is_scenario_doc(const YNode *doc)
{
    return g_strcmp0(ynode_str(ynode_get(doc, "kind")), "Scenario") == 0;
}

static gboolean load_docs(LoadCtx *ctx, GPtrArray *docs, gboolean top,
                          GError **error)
{
    guint first = ctx->s->cluster->docs->len;
    /* The cluster keeps the documents; objects point into them. */
    while (docs->len > 0) {
        g_ptr_array_add(ctx->s->cluster->docs, g_ptr_array_steal_index(docs, 0));
    }
    guint last = ctx->s->cluster->docs->len;
    for (guint i = first; i < last; i++) {
        const YNode *d = g_ptr_array_index(ctx->s->cluster->docs, i);
        /* The per-file limit, over the scenario and all its includes. */
        if (i >= ylimits_default()->max_documents) {
            ynode_error(error, d, SCENARIO_ERROR_TOO_LARGE,
                        "more documents than the limit of %u (the scenario "
                        "and its includes together)",
                        ylimits_default()->max_documents);
            return FALSE;
        }
        if (d->kind != YNODE_MAP) {
            ynode_error(error, d, SCENARIO_ERROR_SYNTAX,
                        "a document must be a mapping (a manifest or the "
                        "Scenario)");
            return FALSE;
        }
        if (is_scenario_doc(d)) {
            if (!top) {
                ynode_error(error, d, SCENARIO_ERROR_BAD_VALUE,
                            "a Scenario document in an included file; "
                            "only the scenario file itself may have one");
                return FALSE;
            }
            if (!parse_scenario_doc(ctx, d, error)) {
                return FALSE;
            }
        } else if (!cluster_add_document(ctx->s->cluster, d, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean load_file_into(LoadCtx *ctx, const char *path,
                               const YNode *from, GError **error)
{
    if (ctx->depth > 8) {
        ynode_error(error, from, SCENARIO_ERROR_TOO_LARGE,
                    "includes nested deeper than 8 levels (a cycle?)");
        return FALSE;
    }
    GStatBuf st;
    if (g_stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        ctx->included += (guint64)st.st_size;
        if (ctx->included > SCENARIO_MAX_INCLUDED_BYTES) {
            ynode_error(error, from, SCENARIO_ERROR_TOO_LARGE,
                        "included files add up to more than the limit of "
                        "%" G_GUINT64_FORMAT " bytes",
                        SCENARIO_MAX_INCLUDED_BYTES);
            return FALSE;
        }
    }
    g_autoptr(GPtrArray) docs = ynode_load_file(path, NULL, error);
    if (docs == NULL) {
        return FALSE;
    }
    ctx->depth++;
    gboolean ok = load_docs(ctx, docs, FALSE, error);
    ctx->depth--;
    return ok;
}

static Scenario *scenario_alloc(const char *path)
{
    Scenario *s = g_new0(Scenario, 1);
    s->file = g_strdup(path);
    s->dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base) {
        *dot = '\0';
    }
    s->name = g_strdup(base);
    s->seed = 1;
    s->duration = 10 * SIM_S;
    s->cluster = cluster_new();
    s->lb.algorithm = LB_ROUND_ROBIN;
    s->lb.health = (LbHealthCheck){
        .interval = 2 * SIM_S, /* HAProxy inter (L-1) */
        .healthy_threshold = 2,
        .unhealthy_threshold = 3,
        .enabled = TRUE,
    };
    s->latency.client_to_lb = dist_constant(1 * SIM_MS);
    s->latency.lb_to_node = dist_constant(200 * SIM_US);
    s->latency.node_to_node = dist_constant(200 * SIM_US);
    /* About half of Istio's published proxy-pair figure (P-1). */
    s->latency.gateway = dist_lognormal(500 * SIM_US, 2 * SIM_MS);
    s->latency.tls_handshake = dist_constant(1 * SIM_MS);
    s->workloads = g_ptr_array_new_with_free_func((GDestroyNotify)workload_free);
    workload_defaults(&s->default_workload);
    s->traffic = g_ptr_array_new_with_free_func((GDestroyNotify)traffic_free);
    s->failures = g_array_new(FALSE, TRUE, sizeof(FailureSpec));
    g_array_set_clear_func(s->failures, failure_clear);
    s->control.push_delay = 100 * SIM_MS;
    s->control.endpoint_delay = 1 * SIM_S;
    s->control.node_grace = 40 * SIM_S;
    s->control.drain = 5 * SIM_S; /* pkg/config/mesh/mesh.go (R4.13) */
    return s;
}

static gint failure_cmp(gconstpointer a, gconstpointer b)
{
    const FailureSpec *fa = a, *fb = b;
    return fa->at < fb->at ? -1 : (fa->at > fb->at ? 1 : 0);
}

/* What a configuration change during a run may touch: what istiod pushes
 * to the gateways (Istio objects) and what SDS serves (Secrets). */
static gboolean runtime_kind(const char *kind, const char *api)
{
    if (strcmp(kind, "Secret") == 0) {
        return strcmp(api, "v1") == 0;
    }
    return g_str_has_prefix(api, "networking.istio.io/") &&
           (strcmp(kind, "Gateway") == 0 ||
            strcmp(kind, "VirtualService") == 0 ||
            strcmp(kind, "DestinationRule") == 0);
}

/* apply: FILE: read now, so a bad file is an error before the run; the
 * documents stay in the cluster's store (not in the cluster itself) until
 * the world applies them at their time. */
static gboolean load_apply(Scenario *s, FailureSpec *f, GError **error)
{
    g_autofree char *path = g_path_is_absolute(f->target)
                                ? g_strdup(f->target)
                                : g_build_filename(s->dir, f->target, NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        ynode_error(error, f->where, SCENARIO_ERROR_BAD_REFERENCE,
                    "apply '%s': no such file", f->target);
        return FALSE;
    }
    g_autoptr(GPtrArray) docs = ynode_load_file(path, NULL, error);
    if (docs == NULL) {
        return FALSE;
    }
    f->docs = g_ptr_array_new();
    while (docs->len > 0) {
        YNode *d = g_ptr_array_steal_index(docs, 0);
        g_ptr_array_add(s->cluster->docs, d);
        const char *kind = ynode_str(ynode_get(d, "kind"));
        const char *api = ynode_str_or(ynode_get(d, "apiVersion"), "");
        if (kind == NULL || !runtime_kind(kind, api)) {
            ynode_error(error, d, SCENARIO_ERROR_BAD_VALUE,
                        "%s %s cannot be applied during a run: only "
                        "Gateway, VirtualService, DestinationRule (Istio "
                        "configuration) and Secret changes are supported",
                        kind != NULL ? kind : "a document without kind",
                        api);
            return FALSE;
        }
        g_ptr_array_add(f->docs, d);
    }
    return TRUE;
}

/* delete: Kind/namespace/name of a kind runtime_kind() accepts. */
static gboolean check_delete(const FailureSpec *f, GError **error)
{
    g_auto(GStrv) p = g_strsplit(f->target, "/", 4);
    if (g_strv_length(p) != 3 || p[1][0] == '\0' || p[2][0] == '\0') {
        ynode_error(error, f->where, SCENARIO_ERROR_BAD_VALUE,
                    "delete names Kind/namespace/name, e.g. "
                    "VirtualService/default/counter; not '%s'",
                    f->target);
        return FALSE;
    }
    const char *api = strcmp(p[0], "Secret") == 0 ? "v1"
                                                   : "networking.istio.io/v1";
    if (!runtime_kind(p[0], api)) {
        ynode_error(error, f->where, SCENARIO_ERROR_BAD_VALUE,
                    "delete of a %s during a run is not supported (Gateway, "
                    "VirtualService, DestinationRule, Secret)",
                    p[0]);
        return FALSE;
    }
    return TRUE;
}

/* After the cluster is complete: references and the defaults that depend
 * on the manifests (listeners from the gateway Service, backends). */
static gboolean scenario_finish(LoadCtx *ctx, GError **error)
{
    Scenario *s = ctx->s;
    if (!cluster_finish(s->cluster, ctx->nodes, error)) {
        return FALSE;
    }
    Cluster *c = s->cluster;
    K8sService *gw = cluster_gateway_service(c);
    if (s->lb.listeners == NULL) {
        s->lb.listeners = g_array_new(FALSE, TRUE, sizeof(LbListener));
        for (guint i = 0; gw != NULL && i < gw->ports->len; i++) {
            const K8sServicePort *sp = &g_array_index(gw->ports, K8sServicePort, i);
            if (sp->node_port == 0) {
                continue;
            }
            LbListener l = { .port = sp->port, .node_port = sp->node_port };
            g_array_append_val(s->lb.listeners, l);
        }
    }
    if (s->lb.backends == NULL) {
        s->lb.backends = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < c->nodes->len; i++) {
            K8sNode *n = g_ptr_array_index(c->nodes, i);
            g_ptr_array_add(s->lb.backends, g_strdup(n->name));
        }
    } else {
        for (guint i = 0; i < s->lb.backends->len; i++) {
            const char *n = g_ptr_array_index(s->lb.backends, i);
            if (cluster_find_node(c, n) == NULL) {
                const YNode *be = ynode_path(s->doc, "spec.loadBalancer.backends");
                ynode_error(error, be != NULL ? ynode_at(be, i) : NULL,
                            SCENARIO_ERROR_BAD_REFERENCE,
                            "backend '%s' is not a node of the scenario", n);
                return FALSE;
            }
        }
    }
    LbHealthCheck *h = &s->lb.health;
    if (h->node_port == 0) {
        /* L-5: with externalTrafficPolicy Local, check the
         * healthCheckNodePort; else the first listener's nodePort. */
        if (gw != NULL && gw->health_check_node_port != 0) {
            h->node_port = gw->health_check_node_port;
            h->http = TRUE;
        } else if (s->lb.listeners->len > 0) {
            h->node_port = g_array_index(s->lb.listeners, LbListener, 0).node_port;
        }
    } else if (gw != NULL && h->node_port == gw->health_check_node_port) {
        h->http = TRUE;
    }
    if (h->timeout <= 0 || h->timeout > h->interval) {
        h->timeout = h->interval; /* "bounded by inter" (L-1) */
    }
    for (guint i = 0; i < s->workloads->len; i++) {
        WorkloadSpec *w = g_ptr_array_index(s->workloads, i);
        if (cluster_find_deployment(c, w->ns, w->name) == NULL &&
            cluster_find_pod(c, w->ns, w->name) == NULL) {
            ynode_error(error, w->where, SCENARIO_ERROR_BAD_REFERENCE,
                        "workload '%s/%s' names no Deployment or Pod of the "
                        "manifests",
                        w->ns, w->name);
            return FALSE;
        }
    }
    for (guint i = 0; i < s->traffic->len; i++) {
        TrafficSpec *t = g_ptr_array_index(s->traffic, i);
        t->stop_given = t->stop >= 0;
        if (t->stop < 0) {
            t->stop = s->duration;
        }
    }
    for (guint i = 0; i < s->failures->len; i++) {
        FailureSpec *f = &g_array_index(s->failures, FailureSpec, i);
        gboolean ok = TRUE;
        if (f->kind == FAILURE_APPLY && !load_apply(s, f, error)) {
            return FALSE;
        }
        if (f->kind == FAILURE_DELETE && !check_delete(f, error)) {
            return FALSE;
        }
        if (f->kind == FAILURE_NODE_DOWN || f->kind == FAILURE_NODE_UP) {
            ok = cluster_find_node(c, f->target) != NULL;
        } else if (f->kind == FAILURE_POD_CRASH ||
                   f->kind == FAILURE_POD_RESTART ||
                   f->kind == FAILURE_READINESS_FAIL ||
                   f->kind == FAILURE_READINESS_PASS ||
                   f->kind == FAILURE_READINESS_FLAP) {
            g_auto(GStrv) p = g_strsplit(f->target, "/", 2);
            ok = p[1] != NULL && cluster_find_pod(c, p[0], p[1]) != NULL;
        }
        if (!ok) {
            ynode_error(error, f->where, SCENARIO_ERROR_BAD_REFERENCE,
                        "failure target '%s' does not exist (nodes by name, "
                        "pods as namespace/pod)",
                        f->target);
            return FALSE;
        }
    }
    g_array_sort(s->failures, failure_cmp); /* glib's sort is stable */
    return TRUE;
}

static Scenario *load_common(const char *path, GPtrArray *docs, GError **error)
{
    g_autoptr(Scenario) s = scenario_alloc(path);
    LoadCtx ctx = { .s = s };
    gboolean ok = load_docs(&ctx, docs, TRUE, error) &&
                  scenario_finish(&ctx, error);
    if (ctx.nodes != NULL) {
        g_ptr_array_unref(ctx.nodes);
    }
    return ok ? g_steal_pointer(&s) : NULL;
}

Scenario *scenario_load(const char *path, GError **error)
{
    g_autoptr(GPtrArray) docs = ynode_load_file(path, NULL, error);
    if (docs == NULL) {
        return NULL;
    }
    return load_common(path, docs, error);
}

Scenario *scenario_load_string(const char *name, const char *text,
                               GError **error)
{
    g_autoptr(GPtrArray) docs =
        ynode_load_string(name, text, strlen(text), NULL, error);
    if (docs == NULL) {
        return NULL;
    }
    return load_common(name, docs, error);
}

const WorkloadSpec *scenario_workload_for(const Scenario *s, const K8sPod *pod)
{
    for (guint i = 0; i < s->workloads->len; i++) {
        const WorkloadSpec *w = g_ptr_array_index(s->workloads, i);
        if (strcmp(w->ns, pod->meta.ns) != 0) {
            continue;
        }
        if (pod->owner != NULL) {
            g_autofree char *ref = g_strdup_printf("%s/%s", w->ns, w->name);
            if (strcmp(ref, pod->owner) == 0) {
                return w;
            }
        } else if (strcmp(w->name, pod->meta.name) == 0) {
            return w;
        }
    }
    return &s->default_workload;
}
