/* config-dump.c: a gateway snapshot as Envoy's admin /config_dump (v3)
 * JSON, for `ingress-sim config-dump` (models -> the command line). Key
 * order is fixed, so the same snapshot always prints the same bytes. */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "models/gateway-private.h"

#define TYPE_PREFIX "type.googleapis.com/"

/* Protobuf JSON duration: "10s", "0.500s". */
static char *duration_text(SimTime t)
{
    gint64 sec = t / SIM_S;
    gint64 ns = t % SIM_S;
    if (ns == 0) {
        return g_strdup_printf("%" G_GINT64_FORMAT "s", sec);
    }
    if (ns % 1000000 == 0) {
        return g_strdup_printf("%" G_GINT64_FORMAT ".%03" G_GINT64_FORMAT "s",
                               sec, ns / 1000000);
    }
    if (ns % 1000 == 0) {
        return g_strdup_printf("%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT "s",
                               sec, ns / 1000);
    }
    return g_strdup_printf("%" G_GINT64_FORMAT ".%09" G_GINT64_FORMAT "s", sec,
                           ns);
}

static void add_str(JsonBuilder *b, const char *key, const char *v)
{
    json_builder_set_member_name(b, key);
    json_builder_add_string_value(b, v);
}

static void add_int(JsonBuilder *b, const char *key, gint64 v)
{
    json_builder_set_member_name(b, key);
    json_builder_add_int_value(b, v);
}

static void add_bool(JsonBuilder *b, const char *key, gboolean v)
{
    json_builder_set_member_name(b, key);
    json_builder_add_boolean_value(b, v);
}

static void add_duration(JsonBuilder *b, const char *key, SimTime t)
{
    g_autofree char *d = duration_text(t);
    add_str(b, key, d);
}

static void add_targets(JsonBuilder *b, const GwDestinations *d)
{
    if (d->targets->len == 1) {
        add_str(b, "cluster",
                ((const GwTarget *)g_ptr_array_index(d->targets, 0))->name);
        return;
    }
    json_builder_set_member_name(b, "weighted_clusters");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "clusters");
    json_builder_begin_array(b);
    for (guint i = 0; i < d->targets->len; i++) {
        const GwTarget *t = g_ptr_array_index(d->targets, i);
        json_builder_begin_object(b);
        add_str(b, "name", t->name);
        add_int(b, "weight", t->weight);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

/* ---- listeners -------------------------------------------------------------
 */

static void
dump_chain(JsonBuilder *b, const GwListener *l, const GwFilterChain *ch)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "filter_chain_match");
    json_builder_begin_object(b);
    if (ch->server_names != NULL) {
        json_builder_set_member_name(b, "server_names");
        json_builder_begin_array(b);
        for (guint i = 0; ch->server_names[i] != NULL; i++) {
            json_builder_add_string_value(b, ch->server_names[i]);
        }
        json_builder_end_array(b);
    }
    if (ch->kind == GW_CHAIN_AUTO_PASSTHROUGH) {
        json_builder_set_member_name(b, "application_protocols");
        json_builder_begin_array(b);
        static const char *const alpns[] = { "istio", "istio-peer-exchange",
                                             "istio-http/1.0", "istio-http/1.1",
                                             "istio-h2" };
        for (gsize i = 0; i < G_N_ELEMENTS(alpns); i++) {
            json_builder_add_string_value(b, alpns[i]);
        }
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "filters");
    json_builder_begin_array(b);
    json_builder_begin_object(b);
    if (ch->kind == GW_CHAIN_HTTP || ch->kind == GW_CHAIN_HTTPS) {
        add_str(b, "name", "envoy.filters.network.http_connection_manager");
        json_builder_set_member_name(b, "typed_config");
        json_builder_begin_object(b);
        add_str(b, "@type",
                TYPE_PREFIX "envoy.extensions.filters.network."
                            "http_connection_manager.v3.HttpConnectionManager");
        g_autofree char *sp = g_strdup_printf("outbound_%s", l->name);
        add_str(b, "stat_prefix", sp);
        json_builder_set_member_name(b, "rds");
        json_builder_begin_object(b);
        add_str(b, "route_config_name", ch->route_config->name);
        json_builder_end_object(b);
        add_bool(b, "normalize_path", TRUE);
        add_duration(b, "stream_idle_timeout", 0);
        json_builder_end_object(b);
    } else {
        add_str(b, "name", "envoy.filters.network.tcp_proxy");
        json_builder_set_member_name(b, "typed_config");
        json_builder_begin_object(b);
        add_str(b, "@type",
                TYPE_PREFIX "envoy.extensions.filters.network."
                            "tcp_proxy.v3.TcpProxy");
        const GwTarget *t0 = g_ptr_array_index(ch->tcp.targets, 0);
        add_str(b, "stat_prefix", t0->name);
        add_targets(b, &ch->tcp);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_builder_end_array(b);
    if (ch->kind == GW_CHAIN_HTTPS || ch->kind == GW_CHAIN_TLS_TCP) {
        json_builder_set_member_name(b, "transport_socket");
        json_builder_begin_object(b);
        add_str(b, "name", "envoy.transport_sockets.tls");
        json_builder_set_member_name(b, "typed_config");
        json_builder_begin_object(b);
        add_str(b, "@type",
                TYPE_PREFIX "envoy.extensions.transport_sockets."
                            "tls.v3.DownstreamTlsContext");
        json_builder_set_member_name(b, "common_tls_context");
        json_builder_begin_object(b);
        if (ch->alpn_h2) {
            json_builder_set_member_name(b, "alpn_protocols");
            json_builder_begin_array(b);
            json_builder_add_string_value(b, "h2");
            json_builder_add_string_value(b, "http/1.1");
            json_builder_end_array(b);
        }
        json_builder_set_member_name(b, "tls_certificate_sds_secret_configs");
        json_builder_begin_array(b);
        json_builder_begin_object(b);
        g_autofree char *sds = g_strdup_printf(
            "kubernetes://%s", ch->certificate != NULL ? ch->certificate : "");
        add_str(b, "name", sds);
        json_builder_end_object(b);
        json_builder_end_array(b);
        json_builder_end_object(b);
        add_bool(b, "require_client_certificate",
                 ch->mode == ISTIO_TLS_MUTUAL ||
                     ch->mode == ISTIO_TLS_ISTIO_MUTUAL);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    add_str(b, "name", ch->server_ref);
    json_builder_end_object(b);
}

static void dump_listeners(JsonBuilder *b, const GatewaySnapshot *s)
{
    json_builder_begin_object(b);
    add_str(b, "@type", TYPE_PREFIX "envoy.admin.v3.ListenersConfigDump");
    json_builder_set_member_name(b, "dynamic_listeners");
    json_builder_begin_array(b);
    for (guint i = 0; i < s->listeners->len; i++) {
        const GwListener *l = g_ptr_array_index(s->listeners, i);
        json_builder_begin_object(b);
        add_str(b, "name", l->name);
        json_builder_set_member_name(b, "active_state");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "listener");
        json_builder_begin_object(b);
        add_str(b, "@type", TYPE_PREFIX "envoy.config.listener.v3.Listener");
        add_str(b, "name", l->name);
        json_builder_set_member_name(b, "address");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "socket_address");
        json_builder_begin_object(b);
        add_str(b, "address", l->bind);
        add_int(b, "port_value", l->port);
        json_builder_end_object(b);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "filter_chains");
        json_builder_begin_array(b);
        for (guint j = 0; j < l->chains->len; j++) {
            dump_chain(b, l, g_ptr_array_index(l->chains, j));
        }
        json_builder_end_array(b);
        json_builder_set_member_name(b, "listener_filters");
        json_builder_begin_array(b);
        json_builder_begin_object(b);
        add_str(b, "name", "envoy.filters.listener.tls_inspector");
        json_builder_end_object(b);
        json_builder_end_array(b);
        json_builder_end_object(b);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

/* ---- routes ----------------------------------------------------------------
 */

static const char *kind_key(IstioMatchKind k)
{
    switch (k) {
    case ISTIO_MATCH_EXACT:
        return "exact";
    case ISTIO_MATCH_PREFIX:
        return "prefix";
    default:
        return NULL;
    }
}

static void dump_matcher(JsonBuilder *b, const GwMatcher *m)
{
    json_builder_begin_object(b);
    add_str(b, "name", m->name);
    if (m->kind == ISTIO_MATCH_PRESENT) {
        add_bool(b, "present_match", TRUE);
    } else {
        json_builder_set_member_name(b, "string_match");
        json_builder_begin_object(b);
        if (m->kind == ISTIO_MATCH_REGEX) {
            json_builder_set_member_name(b, "safe_regex");
            json_builder_begin_object(b);
            add_str(b, "regex", m->value);
            json_builder_end_object(b);
        } else {
            add_str(b, kind_key(m->kind), m->value);
        }
        json_builder_end_object(b);
    }
    if (m->invert) {
        add_bool(b, "invert_match", TRUE);
    }
    json_builder_end_object(b);
}

static void dump_route(JsonBuilder *b, const GwRoute *r)
{
    json_builder_begin_object(b);
    if (r->name != NULL) {
        add_str(b, "name", r->name);
    }
    json_builder_set_member_name(b, "match");
    json_builder_begin_object(b);
    switch (r->path_kind) {
    case GW_PATH_PREFIX:
        add_str(b, "prefix", r->path);
        break;
    case GW_PATH_EXACT:
        add_str(b, "path", r->path);
        break;
    case GW_PATH_SEPARATED_PREFIX:
        add_str(b, "path_separated_prefix", r->path);
        break;
    case GW_PATH_REGEX:
        json_builder_set_member_name(b, "safe_regex");
        json_builder_begin_object(b);
        add_str(b, "regex", r->path);
        json_builder_end_object(b);
        break;
    }
    if (r->ignore_case) {
        add_bool(b, "case_sensitive", FALSE);
    }
    if (r->headers != NULL) {
        json_builder_set_member_name(b, "headers");
        json_builder_begin_array(b);
        for (guint i = 0; i < r->headers->len; i++) {
            dump_matcher(b, g_ptr_array_index(r->headers, i));
        }
        json_builder_end_array(b);
    }
    if (r->query != NULL) {
        json_builder_set_member_name(b, "query_parameters");
        json_builder_begin_array(b);
        for (guint i = 0; i < r->query->len; i++) {
            dump_matcher(b, g_ptr_array_index(r->query, i));
        }
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
    switch (r->action) {
    case GW_ACTION_REDIRECT:
        json_builder_set_member_name(b, "redirect");
        json_builder_begin_object(b);
        if (r->redirect_path != NULL) {
            add_str(b, "path_redirect", r->redirect_path);
        }
        if (r->redirect_host != NULL) {
            add_str(b, "host_redirect", r->redirect_host);
        }
        if (r->redirect_scheme != NULL) {
            add_str(b, "scheme_redirect", r->redirect_scheme);
        }
        if (r->redirect_port > 0) {
            add_int(b, "port_redirect", r->redirect_port);
        }
        add_str(b, "response_code",
                r->redirect_code == 302   ? "FOUND"
                : r->redirect_code == 303 ? "SEE_OTHER"
                : r->redirect_code == 307 ? "TEMPORARY_REDIRECT"
                : r->redirect_code == 308 ? "PERMANENT_REDIRECT"
                                          : "MOVED_PERMANENTLY");
        json_builder_end_object(b);
        break;
    case GW_ACTION_DIRECT:
        json_builder_set_member_name(b, "direct_response");
        json_builder_begin_object(b);
        add_int(b, "status", r->direct_status);
        if (r->direct_body != NULL) {
            json_builder_set_member_name(b, "body");
            json_builder_begin_object(b);
            add_str(b, "inline_string", r->direct_body);
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
        break;
    case GW_ACTION_ROUTE:
        json_builder_set_member_name(b, "route");
        json_builder_begin_object(b);
        add_targets(b, &r->dests);
        add_duration(b, "timeout", r->timeout);
        if (r->prefix_rewrite != NULL) {
            add_str(b, "prefix_rewrite", r->prefix_rewrite);
        }
        if (r->host_rewrite != NULL) {
            add_str(b, "host_rewrite_literal", r->host_rewrite);
        }
        if (r->has_retry) {
            json_builder_set_member_name(b, "retry_policy");
            json_builder_begin_object(b);
            add_int(b, "num_retries", r->retry.num_retries);
            if (r->retry.per_try_timeout > 0) {
                add_duration(b, "per_try_timeout", r->retry.per_try_timeout);
            }
            if (r->retry.n_retriable_status_codes > 0) {
                json_builder_set_member_name(b, "retriable_status_codes");
                json_builder_begin_array(b);
                for (guint i = 0; i < r->retry.n_retriable_status_codes; i++) {
                    json_builder_add_int_value(
                        b, r->retry.retriable_status_codes[i]);
                }
                json_builder_end_array(b);
            }
            add_int(b, "host_selection_retry_max_attempts",
                    r->retry.host_selection_max_attempts);
            json_builder_end_object(b);
        }
        if (r->mirrors.targets->len > 0) {
            json_builder_set_member_name(b, "request_mirror_policies");
            json_builder_begin_array(b);
            for (guint i = 0; i < r->mirrors.targets->len; i++) {
                const GwTarget *t = g_ptr_array_index(r->mirrors.targets, i);
                json_builder_begin_object(b);
                add_str(b, "cluster", t->name);
                json_builder_set_member_name(b, "runtime_fraction");
                json_builder_begin_object(b);
                json_builder_set_member_name(b, "default_value");
                json_builder_begin_object(b);
                add_int(b, "numerator",
                        g_array_index(r->mirror_ppm, guint32, i));
                add_str(b, "denominator", "MILLION");
                json_builder_end_object(b);
                json_builder_end_object(b);
                json_builder_end_object(b);
            }
            json_builder_end_array(b);
        }
        json_builder_end_object(b);
        break;
    }
    json_builder_end_object(b);
}

static void dump_routes(JsonBuilder *b, const GatewaySnapshot *s)
{
    json_builder_begin_object(b);
    add_str(b, "@type", TYPE_PREFIX "envoy.admin.v3.RoutesConfigDump");
    json_builder_set_member_name(b, "dynamic_route_configs");
    json_builder_begin_array(b);
    for (guint i = 0; i < s->route_configs->len; i++) {
        const GwRouteConfig *rc = g_ptr_array_index(s->route_configs, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "route_config");
        json_builder_begin_object(b);
        add_str(b, "@type",
                TYPE_PREFIX "envoy.config.route.v3.RouteConfiguration");
        add_str(b, "name", rc->name);
        json_builder_set_member_name(b, "virtual_hosts");
        json_builder_begin_array(b);
        for (guint j = 0; j < rc->vhosts->len; j++) {
            const GwVirtualHost *v = g_ptr_array_index(rc->vhosts, j);
            json_builder_begin_object(b);
            add_str(b, "name", v->name);
            json_builder_set_member_name(b, "domains");
            json_builder_begin_array(b);
            for (guint k = 0; k < v->domains->len; k++) {
                json_builder_add_string_value(b,
                                              g_ptr_array_index(v->domains, k));
            }
            json_builder_end_array(b);
            json_builder_set_member_name(b, "routes");
            json_builder_begin_array(b);
            for (guint k = 0; k < v->routes->len; k++) {
                dump_route(b, g_ptr_array_index(v->routes, k));
            }
            json_builder_end_array(b);
            if (v->require_tls) {
                add_str(b, "require_tls", "ALL");
            }
            add_bool(b, "include_request_attempt_count", TRUE);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        add_bool(b, "validate_clusters", FALSE);
        add_bool(b, "ignore_port_in_host_matching", TRUE);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

/* ---- clusters --------------------------------------------------------------
 */

static const char *lb_name(GatewayLbPolicy p)
{
    switch (p) {
    case GATEWAY_LB_LEAST_REQUEST:
        return "LEAST_REQUEST";
    case GATEWAY_LB_ROUND_ROBIN:
        return "ROUND_ROBIN";
    case GATEWAY_LB_RANDOM:
        return "RANDOM";
    case GATEWAY_LB_RING_HASH:
        return "RING_HASH";
    case GATEWAY_LB_PASSTHROUGH:
        return "CLUSTER_PROVIDED";
    }
    return "?";
}

static void dump_clusters(JsonBuilder *b, const GatewaySnapshot *s)
{
    json_builder_begin_object(b);
    add_str(b, "@type", TYPE_PREFIX "envoy.admin.v3.ClustersConfigDump");
    json_builder_set_member_name(b, "dynamic_active_clusters");
    json_builder_begin_array(b);
    for (guint i = 0; i < s->clusters->len; i++) {
        const GatewayCluster *gc = g_ptr_array_index(s->clusters, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "cluster");
        json_builder_begin_object(b);
        add_str(b, "@type", TYPE_PREFIX "envoy.config.cluster.v3.Cluster");
        add_str(b, "name", gc->name);
        add_str(b, "type", "EDS");
        json_builder_set_member_name(b, "eds_cluster_config");
        json_builder_begin_object(b);
        add_str(b, "service_name", gc->name);
        json_builder_end_object(b);
        add_duration(b, "connect_timeout", gc->connect_timeout);
        add_str(b, "lb_policy", lb_name(gc->lb));
        json_builder_set_member_name(b, "circuit_breakers");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "thresholds");
        json_builder_begin_array(b);
        json_builder_begin_object(b);
        add_int(b, "max_connections", gc->max_connections);
        add_int(b, "max_pending_requests", gc->max_pending_requests);
        add_int(b, "max_requests", gc->max_requests);
        add_int(b, "max_retries", gc->max_retries);
        json_builder_end_object(b);
        json_builder_end_array(b);
        json_builder_end_object(b);
        if (gc->outlier_detection) {
            json_builder_set_member_name(b, "outlier_detection");
            json_builder_begin_object(b);
            add_int(b, "consecutive_5xx", gc->consecutive_5xx);
            add_duration(b, "interval", gc->outlier_interval);
            add_duration(b, "base_ejection_time", gc->base_ejection_time);
            add_int(b, "max_ejection_percent", gc->max_ejection_percent);
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

char *gateway_config_dump(const GatewaySnapshot *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "configs");
    json_builder_begin_array(b);
    dump_listeners(b, s);
    dump_routes(b, s);
    dump_clusters(b, s);
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 2);
    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}
