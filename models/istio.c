/* istio.c: reads Gateway, VirtualService, DestinationRule, Ingress and
 * IngressClass specs from YNode trees and validates them as istiod's webhook
 * would (scenario -> models); the gateway compiler consumes the result. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "models/host.h"
#include "models/istio.h"

/* ---- small readers ---------------------------------------------------------
 */

/* Optional string at @key of @map: *out stays NULL when absent or null. */
static gboolean
opt_str(const YNode *map, const char *key, char **out, GError **error)
{
    const YNode *n = ynode_get(map, key);
    *out = NULL;
    if (n == NULL || ynode_is_null(n)) {
        return TRUE;
    }
    const char *s = NULL;
    if (!ynode_to_string(n, &s, error)) {
        return FALSE;
    }
    *out = g_strdup(s);
    return TRUE;
}

/* Optional list of strings; *out NULL when absent. */
static gboolean
opt_str_list(const YNode *map, const char *key, GPtrArray **out, GError **error)
{
    const YNode *n = ynode_get(map, key);
    *out = NULL;
    if (n == NULL || ynode_is_null(n)) {
        return TRUE;
    }
    if (!ynode_expect_seq(n, key, error)) {
        return FALSE;
    }
    g_autoptr(GPtrArray) arr = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < ynode_len(n); i++) {
        const char *s = NULL;
        if (!ynode_to_string(ynode_at(n, i), &s, error)) {
            return FALSE;
        }
        g_ptr_array_add(arr, g_strdup(s));
    }
    *out = g_steal_pointer(&arr);
    return TRUE;
}

static gboolean opt_int(const YNode *map,
                        const char *key,
                        gint64 min,
                        gint64 max,
                        gint64 *out,
                        GError **error)
{
    const YNode *n = ynode_get(map, key);
    if (n == NULL || ynode_is_null(n)) {
        return TRUE;
    }
    return ynode_to_int(n, min, max, out, error);
}

static gboolean
opt_duration(const YNode *map, const char *key, SimTime *out, GError **error)
{
    const YNode *n = ynode_get(map, key);
    if (n == NULL || ynode_is_null(n)) {
        return TRUE;
    }
    const char *s = ynode_str(n);
    if (s == NULL || !sim_time_parse(s, out, NULL)) {
        ynode_error(error, n, SCENARIO_ERROR_BAD_VALUE,
                    "%s: expected a duration such as 10s or 0.5s", key);
        return FALSE;
    }
    return TRUE;
}

/* A Percent message {value: x} at @key, or the deprecated integer at
 * @legacy_key; *out keeps its default when neither is given. */
static gboolean opt_percent(const YNode *map,
                            const char *key,
                            const char *legacy_key,
                            double *out,
                            GError **error)
{
    const YNode *n = ynode_get(map, key);
    if (n != NULL && !ynode_is_null(n)) {
        if (!ynode_expect_map(n, key, error)) {
            return FALSE;
        }
        const YNode *v = ynode_get(n, "value");
        if (v == NULL) {
            *out = 0.0;
            return TRUE;
        }
        return ynode_to_double(v, 0.0, 100.0, out, error);
    }
    if (legacy_key != NULL) {
        const YNode *l = ynode_get(map, legacy_key);
        if (l != NULL && !ynode_is_null(l)) {
            gint64 v = 0;
            if (!ynode_to_int(l, 0, 100, &v, error)) {
                return FALSE;
            }
            *out = (double)v;
        }
    }
    return TRUE;
}

static gboolean
opt_map(const YNode *map, const char *key, const YNode **out, GError **error)
{
    const YNode *n = ynode_get(map, key);
    *out = NULL;
    if (n == NULL || ynode_is_null(n)) {
        return TRUE;
    }
    if (!ynode_expect_map(n, key, error)) {
        return FALSE;
    }
    *out = n;
    return TRUE;
}

static gboolean
opt_seq(const YNode *map, const char *key, const YNode **out, GError **error)
{
    const YNode *n = ynode_get(map, key);
    *out = NULL;
    if (n == NULL || ynode_is_null(n)) {
        return TRUE;
    }
    if (!ynode_expect_seq(n, key, error)) {
        return FALSE;
    }
    *out = n;
    return TRUE;
}

static const YNode *spec_of(const K8sMeta *meta, GError **error)
{
    const YNode *spec = ynode_get(meta->doc, "spec");
    if (spec == NULL || ynode_is_null(spec)) {
        ynode_error(error, meta->doc, SCENARIO_ERROR_SYNTAX,
                    "%s %s/%s has no spec", meta->kind, meta->ns, meta->name);
        return NULL;
    }
    if (!ynode_expect_map(spec, "spec", error)) {
        return NULL;
    }
    return spec;
}

/* Checks a regular expression compiles (RE2 syntax is close enough to PCRE
 * for the patterns people write); errors point at @where. */
static gboolean check_regex(const char *re, const YNode *where, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *anchored = g_strdup_printf("^(?:%s)$", re);
    g_autoptr(GRegex) rx = g_regex_new(anchored, G_REGEX_OPTIMIZE, 0, &local);
    if (rx == NULL) {
        ynode_error(error, where, SCENARIO_ERROR_BAD_VALUE,
                    "invalid regular expression '%s': %s", re, local->message);
        return FALSE;
    }
    return TRUE;
}

/* ---- shared helpers --------------------------------------------------------
 */

gboolean istio_protocol_is_http(IstioProtocol p)
{
    return p == ISTIO_PROTO_HTTP || p == ISTIO_PROTO_HTTP2 ||
           p == ISTIO_PROTO_GRPC || p == ISTIO_PROTO_GRPC_WEB ||
           p == ISTIO_PROTO_HTTP_PROXY;
}

const char *istio_tls_mode_name(IstioTlsMode m)
{
    switch (m) {
    case ISTIO_TLS_PASSTHROUGH:
        return "PASSTHROUGH";
    case ISTIO_TLS_SIMPLE:
        return "SIMPLE";
    case ISTIO_TLS_MUTUAL:
        return "MUTUAL";
    case ISTIO_TLS_AUTO_PASSTHROUGH:
        return "AUTO_PASSTHROUGH";
    case ISTIO_TLS_ISTIO_MUTUAL:
        return "ISTIO_MUTUAL";
    case ISTIO_TLS_OPTIONAL_MUTUAL:
        return "OPTIONAL_MUTUAL";
    }
    return "?";
}

/* Cite: istio pkg/config/protocol/instance.go, Parse() (case-insensitive). */
static IstioProtocol protocol_parse(const char *s)
{
    static const struct {
        const char *name;
        IstioProtocol p;
    } table[] = {
        { "HTTP", ISTIO_PROTO_HTTP },
        { "HTTP2", ISTIO_PROTO_HTTP2 },
        { "GRPC", ISTIO_PROTO_GRPC },
        { "GRPC-WEB", ISTIO_PROTO_GRPC_WEB },
        { "HTTP_PROXY", ISTIO_PROTO_HTTP_PROXY },
        { "HTTPS", ISTIO_PROTO_HTTPS },
        { "TCP", ISTIO_PROTO_TCP },
        { "TLS", ISTIO_PROTO_TLS },
        { "MONGO", ISTIO_PROTO_MONGO },
        { "MYSQL", ISTIO_PROTO_MYSQL },
        { "REDIS", ISTIO_PROTO_REDIS },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
        if (g_ascii_strcasecmp(s, table[i].name) == 0) {
            return table[i].p;
        }
    }
    return ISTIO_PROTO_UNSUPPORTED;
}

char *istio_resolve_gateway_ref(const char *ref, const char *vs_ns)
{
    g_return_val_if_fail(ref != NULL && vs_ns != NULL, NULL);
    if (strcmp(ref, "mesh") == 0) {
        return g_strdup(ref);
    }
    const char *slash = strchr(ref, '/');
    if (slash != NULL) {
        if (slash == ref + 1 && ref[0] == '.') {
            return g_strdup_printf("%s/%s", vs_ns, slash + 1);
        }
        return g_strdup(ref);
    }
    const char *dot = strchr(ref, '.');
    if (dot == NULL) {
        return g_strdup_printf("%s/%s", vs_ns, ref);
    }
    /* Legacy name.ns[.svc.cluster.local] -> ns/name. */
    const char *ns = dot + 1;
    const char *end = strchr(ns, '.');
    gsize ns_len = end != NULL ? (gsize)(end - ns) : strlen(ns);
    return g_strdup_printf("%.*s/%.*s", (int)ns_len, ns, (int)(dot - ref), ref);
}

static gboolean is_ip_address(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

char *istio_resolve_short_name(const char *host, const char *ns)
{
    g_return_val_if_fail(host != NULL && ns != NULL, NULL);
    if (host[0] == '\0' || strcmp(host, "*") == 0 || strchr(host, '.') ||
        is_ip_address(host)) {
        return g_strdup(host);
    }
    return g_strdup_printf("%s.%s.svc.cluster.local", host, ns);
}

gboolean istio_exported_to(const GPtrArray *export_to,
                           const char *obj_ns,
                           const char *proxy_ns)
{
    if (export_to == NULL || export_to->len == 0) {
        return TRUE;
    }
    for (guint i = 0; i < export_to->len; i++) {
        const char *e = g_ptr_array_index(export_to, i);
        if (strcmp(e, "*") == 0 || strcmp(e, proxy_ns) == 0) {
            return TRUE;
        }
        if (strcmp(e, ".") == 0 && strcmp(obj_ns, proxy_ns) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- Gateway ----------------------------------------------------------------
 */

void istio_server_free(gpointer p)
{
    IstioServer *s = p;
    if (s == NULL) {
        return;
    }
    g_free(s->port_name);
    g_free(s->protocol_text);
    g_free(s->bind);
    if (s->hosts != NULL) {
        g_ptr_array_unref(s->hosts);
    }
    g_free(s->tls.credential_name);
    g_free(s->tls.server_certificate);
    g_free(s->tls.private_key);
    g_free(s->tls.ca_certificates);
    if (s->tls.subject_alt_names != NULL) {
        g_ptr_array_unref(s->tls.subject_alt_names);
    }
    g_free(s);
}

void istio_gateway_free(IstioGateway *g)
{
    if (g == NULL) {
        return;
    }
    g_free(g->ref);
    kv_list_free(g->selector);
    if (g->servers != NULL) {
        g_ptr_array_unref(g->servers);
    }
    if (g->owned_meta != NULL) {
        k8s_meta_clear(g->owned_meta);
        g_free(g->owned_meta);
    }
    g_free(g);
}

static gboolean
tls_mode_parse(const YNode *n, IstioTlsMode *out, GError **error)
{
    static const char *const names[] = {
        "PASSTHROUGH",  "SIMPLE",          "MUTUAL", "AUTO_PASSTHROUGH",
        "ISTIO_MUTUAL", "OPTIONAL_MUTUAL", NULL
    };
    const char *s = ynode_str(n);
    for (guint i = 0; s != NULL && names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (IstioTlsMode)i;
            return TRUE;
        }
    }
    const char *hint = s != NULL ? ynode_suggest(s, names) : NULL;
    ynode_error(error, n, SCENARIO_ERROR_BAD_VALUE,
                "unknown TLS mode '%s'%s%s%s", s != NULL ? s : "?",
                hint != NULL ? " (did you mean '" : "",
                hint != NULL ? hint : "", hint != NULL ? "'?)" : "");
    return FALSE;
}

/* R5.1: validates "[ns/]dnsName" where dnsName may start with "*". */
static gboolean
check_server_host(const char *h, const YNode *where, GError **error)
{
    const char *slash = strchr(h, '/');
    const char *name = slash != NULL ? slash + 1 : h;
    if (slash != NULL && (slash == h || strchr(name, '/') != NULL)) {
        ynode_error(error, where, SCENARIO_ERROR_BAD_VALUE,
                    "server host '%s' must be [namespace/]dnsName", h);
        return FALSE;
    }
    if (name[0] == '\0' || strchr(name + 1, '*') != NULL ||
        (name[0] == '*' && name[1] != '\0' && name[1] != '.')) {
        ynode_error(error, where, SCENARIO_ERROR_BAD_VALUE,
                    "server host '%s': a wildcard may only be the whole "
                    "left-most label ('*.example.com' or '*')",
                    h);
        return FALSE;
    }
    return TRUE;
}

static IstioServer *
server_parse(const YNode *sn, guint index, const K8sMeta *meta, GError **error)
{
    g_autoptr(GPtrArray) holder =
        g_ptr_array_new_with_free_func(istio_server_free);
    IstioServer *s = g_new0(IstioServer, 1);
    g_ptr_array_add(holder, s);
    s->index = index;
    s->where = sn;
    if (!ynode_expect_map(sn, "a Gateway server", error)) {
        return NULL;
    }
    const YNode *port = NULL;
    if (!opt_map(sn, "port", &port, error)) {
        return NULL;
    }
    if (port == NULL) {
        ynode_error(error, sn, SCENARIO_ERROR_SYNTAX,
                    "Gateway server has no port");
        return NULL;
    }
    const YNode *num = ynode_get(port, "number");
    if (num == NULL) {
        ynode_error(error, port, SCENARIO_ERROR_SYNTAX,
                    "server port has no number");
        return NULL;
    }
    if (!ynode_to_port(num, &s->number, error)) {
        return NULL;
    }
    char *pname = NULL;
    char *proto = NULL;
    if (!opt_str(port, "name", &pname, error) ||
        !opt_str(port, "protocol", &proto, error)) {
        g_free(pname);
        return NULL;
    }
    s->port_name = pname != NULL ? pname : g_strdup("");
    if (proto == NULL) {
        ynode_error(error, port, SCENARIO_ERROR_SYNTAX,
                    "server port has no protocol");
        return NULL;
    }
    s->protocol_text = g_ascii_strup(proto, -1);
    g_free(proto);
    s->protocol = protocol_parse(s->protocol_text);
    if (!opt_str(sn, "bind", &s->bind, error)) {
        return NULL;
    }
    GPtrArray *hosts = NULL;
    if (!opt_str_list(sn, "hosts", &hosts, error)) {
        return NULL;
    }
    if (hosts == NULL || hosts->len == 0) {
        if (hosts != NULL) {
            g_ptr_array_unref(hosts);
        }
        ynode_error(error, sn, SCENARIO_ERROR_BAD_VALUE,
                    "Gateway server must have at least one host");
        return NULL;
    }
    const YNode *hn = ynode_get(sn, "hosts");
    /* R5.1 sanitizeServerHostNamespace. Cite: istio pilot/pkg/model/
     * gateway.go, sanitizeServerHostNamespace(). */
    s->hosts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < hosts->len; i++) {
        const char *h = g_ptr_array_index(hosts, i);
        if (!check_server_host(h, ynode_at(hn, i), error)) {
            g_ptr_array_unref(hosts);
            return NULL;
        }
        if (g_str_has_prefix(h, "./")) {
            g_ptr_array_add(s->hosts,
                            g_strdup_printf("%s/%s", meta->ns, h + 2));
        } else if (strcmp(h, "*/*") == 0) {
            g_ptr_array_set_size(s->hosts, 0);
            g_ptr_array_add(s->hosts, g_strdup("*"));
            break;
        } else if (g_str_has_prefix(h, "*/")) {
            g_ptr_array_add(s->hosts, g_strdup(h + 2));
        } else {
            g_ptr_array_add(s->hosts, g_strdup(h));
        }
    }
    g_ptr_array_unref(hosts);

    const YNode *tls = NULL;
    if (!opt_map(sn, "tls", &tls, error)) {
        return NULL;
    }
    if (tls != NULL) {
        s->tls.present = TRUE;
        s->tls.where = tls;
        const YNode *mode = ynode_get(tls, "mode");
        if (mode != NULL && !ynode_is_null(mode) &&
            !tls_mode_parse(mode, &s->tls.mode, error)) {
            return NULL;
        }
        const YNode *redir = ynode_get(tls, "httpsRedirect");
        if (redir != NULL && !ynode_is_null(redir) &&
            !ynode_to_bool(redir, &s->tls.https_redirect, error)) {
            return NULL;
        }
        if (!opt_str(tls, "credentialName", &s->tls.credential_name, error) ||
            !opt_str(tls, "serverCertificate", &s->tls.server_certificate,
                     error) ||
            !opt_str(tls, "privateKey", &s->tls.private_key, error) ||
            !opt_str(tls, "caCertificates", &s->tls.ca_certificates, error) ||
            !opt_str_list(tls, "subjectAltNames", &s->tls.subject_alt_names,
                          error)) {
            return NULL;
        }
    }
    /* Validation. Cite: istio pkg/config/validation/validation.go,
     * validateServer(), validateServerPort(), validateTLSOptions(). R11. */
    gboolean is_http = istio_protocol_is_http(s->protocol);
    if ((s->protocol == ISTIO_PROTO_HTTPS || s->protocol == ISTIO_PROTO_TLS) &&
        !s->tls.present) {
        ynode_error(error, port, SCENARIO_ERROR_BAD_VALUE,
                    "server config must contain tls settings for HTTPS/TLS "
                    "servers");
        return NULL;
    }
    if (is_http && s->tls.present &&
        (s->tls.mode != ISTIO_TLS_PASSTHROUGH ||
         s->tls.credential_name != NULL || s->tls.server_certificate != NULL)) {
        ynode_error(error, tls, SCENARIO_ERROR_BAD_VALUE,
                    "server on plain-text port %d (%s) can only set "
                    "tls.httpsRedirect",
                    s->number, s->protocol_text);
        return NULL;
    }
    gboolean terminating =
        s->tls.present && !is_http &&
        (s->tls.mode == ISTIO_TLS_SIMPLE || s->tls.mode == ISTIO_TLS_MUTUAL ||
         s->tls.mode == ISTIO_TLS_OPTIONAL_MUTUAL);
    if (terminating && s->tls.credential_name == NULL &&
        (s->tls.server_certificate == NULL || s->tls.private_key == NULL)) {
        ynode_error(error, tls, SCENARIO_ERROR_BAD_VALUE,
                    "TLS mode %s requires credentialName, or "
                    "serverCertificate and privateKey",
                    istio_tls_mode_name(s->tls.mode));
        return NULL;
    }
    if (terminating && s->tls.mode != ISTIO_TLS_SIMPLE &&
        s->tls.credential_name == NULL && s->tls.ca_certificates == NULL) {
        ynode_error(error, tls, SCENARIO_ERROR_BAD_VALUE,
                    "TLS mode %s with file certificates requires "
                    "caCertificates",
                    istio_tls_mode_name(s->tls.mode));
        return NULL;
    }
    if (s->tls.present && s->tls.mode == ISTIO_TLS_ISTIO_MUTUAL &&
        (s->tls.credential_name != NULL || s->tls.server_certificate != NULL)) {
        ynode_error(error, tls, SCENARIO_ERROR_BAD_VALUE,
                    "ISTIO_MUTUAL TLS mode must not name certificates");
        return NULL;
    }
    return g_ptr_array_steal_index(holder, 0);
}

IstioGateway *istio_gateway_parse(const K8sMeta *meta, GError **error)
{
    g_return_val_if_fail(meta != NULL, NULL);
    g_autoptr(IstioGateway) g = g_new0(IstioGateway, 1);
    g->meta = meta;
    g->ref = k8s_meta_ref(meta);
    g->selector = kv_list_new();
    g->servers = g_ptr_array_new_with_free_func(istio_server_free);
    const YNode *spec = spec_of(meta, error);
    if (spec == NULL) {
        return NULL;
    }
    if (!kv_list_parse(g->selector, ynode_get(spec, "selector"),
                       "Gateway selector", error)) {
        return NULL;
    }
    const YNode *servers = NULL;
    if (!opt_seq(spec, "servers", &servers, error)) {
        return NULL;
    }
    if (servers == NULL || ynode_len(servers) == 0) {
        ynode_error(error, spec, SCENARIO_ERROR_BAD_VALUE,
                    "Gateway %s must have at least one server", g->ref);
        return NULL;
    }
    for (guint i = 0; i < ynode_len(servers); i++) {
        IstioServer *s = server_parse(ynode_at(servers, i), i, meta, error);
        if (s == NULL) {
            return NULL;
        }
        /* Port names must be unique within a Gateway (they name the HTTPS
         * route configs, R4.3). */
        for (guint j = 0; j < g->servers->len; j++) {
            const IstioServer *o = g_ptr_array_index(g->servers, j);
            if (s->port_name[0] != '\0' &&
                strcmp(o->port_name, s->port_name) == 0 &&
                (o->number != s->number ||
                 strcmp(o->protocol_text, s->protocol_text) != 0)) {
                ynode_error(error, ynode_get(s->where, "port"),
                            SCENARIO_ERROR_BAD_VALUE,
                            "port names in servers must be unique: '%s'",
                            s->port_name);
                istio_server_free(s);
                return NULL;
            }
        }
        g_ptr_array_add(g->servers, s);
    }
    return g_steal_pointer(&g);
}

/* ---- VirtualService ---------------------------------------------------------
 */

static void string_match_clear(IstioStringMatch *m)
{
    g_free(m->value);
    memset(m, 0, sizeof *m);
}

static void key_match_free(gpointer p)
{
    IstioKeyMatch *k = p;
    g_free(k->name);
    string_match_clear(&k->m);
    g_free(k);
}

void istio_http_match_free(gpointer p)
{
    IstioHttpMatch *m = p;
    if (m == NULL) {
        return;
    }
    g_free(m->name);
    string_match_clear(&m->uri);
    string_match_clear(&m->scheme);
    string_match_clear(&m->method);
    string_match_clear(&m->authority);
    if (m->headers != NULL) {
        g_ptr_array_unref(m->headers);
    }
    if (m->without_headers != NULL) {
        g_ptr_array_unref(m->without_headers);
    }
    if (m->query_params != NULL) {
        g_ptr_array_unref(m->query_params);
    }
    kv_list_free(m->source_labels);
    g_free(m->source_namespace);
    if (m->gateways != NULL) {
        g_ptr_array_unref(m->gateways);
    }
    g_free(m);
}

void istio_destination_free(gpointer p)
{
    IstioDestination *d = p;
    if (d == NULL) {
        return;
    }
    g_free(d->host);
    g_free(d->subset);
    g_free(d->port_name);
    g_free(d);
}

static void header_ops_clear(IstioHeaderOps *o)
{
    kv_list_free(o->set);
    kv_list_free(o->add);
    if (o->remove != NULL) {
        g_ptr_array_unref(o->remove);
    }
    memset(o, 0, sizeof *o);
}

void istio_http_route_free(gpointer p)
{
    IstioHttpRoute *r = p;
    if (r == NULL) {
        return;
    }
    g_free(r->name);
    if (r->matches != NULL) {
        g_ptr_array_unref(r->matches);
    }
    if (r->route != NULL) {
        g_ptr_array_unref(r->route);
    }
    g_free(r->redirect_uri);
    g_free(r->redirect_authority);
    g_free(r->redirect_scheme);
    g_free(r->direct_body);
    g_free(r->rewrite_uri);
    g_free(r->rewrite_regex);
    g_free(r->rewrite_regex_sub);
    g_free(r->rewrite_authority);
    g_free(r->retries.retry_on);
    g_free(r->fault.abort_grpc);
    if (r->mirrors != NULL) {
        g_ptr_array_unref(r->mirrors);
    }
    if (r->mirror_percents != NULL) {
        g_array_unref(r->mirror_percents);
    }
    header_ops_clear(&r->req_headers);
    header_ops_clear(&r->resp_headers);
    g_free(r);
}

static void l4_match_free(gpointer p)
{
    IstioL4Match *m = p;
    if (m->gateways != NULL) {
        g_ptr_array_unref(m->gateways);
    }
    if (m->sni_hosts != NULL) {
        g_ptr_array_unref(m->sni_hosts);
    }
    g_free(m);
}

static void l4_route_free(gpointer p)
{
    IstioL4Route *r = p;
    g_ptr_array_unref(r->matches);
    if (r->route != NULL) { /* NULL when parsing stopped before it */
        g_ptr_array_unref(r->route);
    }
    g_free(r);
}

IstioVirtualService *istio_virtual_service_new(void)
{
    IstioVirtualService *vs = g_new0(IstioVirtualService, 1);
    vs->hosts = g_ptr_array_new_with_free_func(g_free);
    vs->gateways = g_ptr_array_new_with_free_func(g_free);
    vs->http = g_ptr_array_new_with_free_func(istio_http_route_free);
    vs->tcp = g_ptr_array_new_with_free_func(l4_route_free);
    vs->tls = g_ptr_array_new_with_free_func(l4_route_free);
    vs->export_to = g_ptr_array_new_with_free_func(g_free);
    return vs;
}

void istio_virtual_service_free(IstioVirtualService *vs)
{
    if (vs == NULL) {
        return;
    }
    g_free(vs->ref);
    g_ptr_array_unref(vs->hosts);
    g_ptr_array_unref(vs->gateways);
    g_ptr_array_unref(vs->http);
    g_ptr_array_unref(vs->tcp);
    g_ptr_array_unref(vs->tls);
    g_ptr_array_unref(vs->export_to);
    if (vs->owned_meta != NULL) {
        k8s_meta_clear(vs->owned_meta);
        g_free(vs->owned_meta);
    }
    g_free(vs);
}

/* StringMatch {exact|prefix|regex}; an empty map is "present" when
 * @allow_present (headers, query params). */
static gboolean string_match_parse(const YNode *n,
                                   gboolean allow_present,
                                   IstioStringMatch *out,
                                   GError **error)
{
    memset(out, 0, sizeof *out);
    out->where = n;
    if (n == NULL || ynode_is_null(n)) {
        if (allow_present) {
            out->kind = ISTIO_MATCH_PRESENT;
        }
        return TRUE;
    }
    if (!ynode_expect_map(n, "a string match", error)) {
        return FALSE;
    }
    static const struct {
        const char *key;
        IstioMatchKind kind;
    } kinds[] = { { "exact", ISTIO_MATCH_EXACT },
                  { "prefix", ISTIO_MATCH_PREFIX },
                  { "regex", ISTIO_MATCH_REGEX } };
    guint found = 0;
    for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
        const YNode *v = ynode_get(n, kinds[i].key);
        if (v == NULL) {
            continue;
        }
        const char *s = NULL;
        if (ynode_is_null(v)) {
            s = "";
        } else if (!ynode_to_string(v, &s, error)) {
            return FALSE;
        }
        found++;
        out->kind = kinds[i].kind;
        g_free(out->value);
        out->value = g_strdup(s);
    }
    if (found > 1) {
        ynode_error(error, n, SCENARIO_ERROR_BAD_VALUE,
                    "a string match takes one of exact, prefix, regex");
        return FALSE;
    }
    if (found == 0) {
        if (!allow_present) {
            ynode_error(error, n, SCENARIO_ERROR_BAD_VALUE,
                        "a string match needs exact, prefix or regex");
            return FALSE;
        }
        out->kind = ISTIO_MATCH_PRESENT;
        return TRUE;
    }
    if (out->kind == ISTIO_MATCH_REGEX) {
        /* R7.4: regex "*" for a header means "present". */
        if (allow_present && strcmp(out->value, "*") == 0) {
            out->kind = ISTIO_MATCH_PRESENT;
            g_clear_pointer(&out->value, g_free);
            return TRUE;
        }
        return check_regex(out->value, n, error);
    }
    return TRUE;
}

static gboolean key_matches_parse(const YNode *map,
                                  const char *key,
                                  gboolean lower,
                                  GPtrArray **out,
                                  GError **error)
{
    const YNode *n = NULL;
    *out = NULL;
    if (!opt_map(map, key, &n, error)) {
        return FALSE;
    }
    if (n == NULL) {
        return TRUE;
    }
    g_autoptr(GPtrArray) arr = g_ptr_array_new_with_free_func(key_match_free);
    for (guint i = 0; i < ynode_len(n); i++) {
        const YNode *k = ynode_key_at(n, i);
        IstioKeyMatch *km = g_new0(IstioKeyMatch, 1);
        g_ptr_array_add(arr, km);
        km->name = lower ? g_ascii_strdown(ynode_str_or(k, ""), -1)
                         : g_strdup(ynode_str_or(k, ""));
        if (!string_match_parse(ynode_value_at(n, i), TRUE, &km->m, error)) {
            return FALSE;
        }
    }
    *out = g_steal_pointer(&arr);
    return TRUE;
}

static gboolean gateways_parse(const YNode *map,
                               const char *ns,
                               GPtrArray **out,
                               GError **error)
{
    GPtrArray *raw = NULL;
    *out = NULL;
    if (!opt_str_list(map, "gateways", &raw, error)) {
        return FALSE;
    }
    if (raw == NULL) {
        return TRUE;
    }
    GPtrArray *res = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < raw->len; i++) {
        g_ptr_array_add(
            res, istio_resolve_gateway_ref(g_ptr_array_index(raw, i), ns));
    }
    g_ptr_array_unref(raw);
    *out = res;
    return TRUE;
}

static gboolean http_match_parse(const YNode *n,
                                 const char *ns,
                                 IstioHttpMatch **out,
                                 GError **error)
{
    g_autoptr(GPtrArray) holder =
        g_ptr_array_new_with_free_func(istio_http_match_free);
    IstioHttpMatch *m = g_new0(IstioHttpMatch, 1);
    g_ptr_array_add(holder, m);
    m->where = n;
    if (!ynode_expect_map(n, "an HTTP match", error)) {
        return FALSE;
    }
    if (!opt_str(n, "name", &m->name, error) ||
        !string_match_parse(ynode_get(n, "uri"), FALSE, &m->uri, error) ||
        !string_match_parse(ynode_get(n, "scheme"), FALSE, &m->scheme, error) ||
        !string_match_parse(ynode_get(n, "method"), FALSE, &m->method, error) ||
        !string_match_parse(ynode_get(n, "authority"), FALSE, &m->authority,
                            error) ||
        !key_matches_parse(n, "headers", TRUE, &m->headers, error) ||
        !key_matches_parse(n, "withoutHeaders", TRUE, &m->without_headers,
                           error) ||
        !key_matches_parse(n, "queryParams", FALSE, &m->query_params, error) ||
        !opt_str(n, "sourceNamespace", &m->source_namespace, error) ||
        !gateways_parse(n, ns, &m->gateways, error)) {
        return FALSE;
    }
    const YNode *port = ynode_get(n, "port");
    if (port != NULL && !ynode_is_null(port) &&
        !ynode_to_port(port, &m->port, error)) {
        return FALSE;
    }
    const YNode *sl = ynode_get(n, "sourceLabels");
    if (sl != NULL && !ynode_is_null(sl)) {
        m->source_labels = kv_list_new();
        if (!kv_list_parse(m->source_labels, sl, "sourceLabels", error)) {
            return FALSE;
        }
    }
    const YNode *ic = ynode_get(n, "ignoreUriCase");
    if (ic != NULL && !ynode_is_null(ic) &&
        !ynode_to_bool(ic, &m->ignore_uri_case, error)) {
        return FALSE;
    }
    *out = g_ptr_array_steal_index(holder, 0);
    return TRUE;
}

static gboolean destination_parse(const YNode *dn,
                                  const char *what,
                                  IstioDestination **out,
                                  GError **error)
{
    g_autoptr(GPtrArray) holder =
        g_ptr_array_new_with_free_func(istio_destination_free);
    IstioDestination *d = g_new0(IstioDestination, 1);
    g_ptr_array_add(holder, d);
    d->where = dn;
    if (!ynode_expect_map(dn, what, error)) {
        return FALSE;
    }
    if (!opt_str(dn, "host", &d->host, error) ||
        !opt_str(dn, "subset", &d->subset, error)) {
        return FALSE;
    }
    if (d->host == NULL || d->host[0] == '\0') {
        ynode_error(error, dn, SCENARIO_ERROR_BAD_VALUE, "%s has no host",
                    what);
        return FALSE;
    }
    const YNode *port = NULL;
    if (!opt_map(dn, "port", &port, error)) {
        return FALSE;
    }
    if (port != NULL) {
        const YNode *num = ynode_get(port, "number");
        if (num != NULL && !ynode_to_port(num, &d->port, error)) {
            return FALSE;
        }
    }
    *out = g_ptr_array_steal_index(holder, 0);
    return TRUE;
}

/* route: [{destination, weight}] */
static gboolean
route_dests_parse(const YNode *seq, GPtrArray **out, GError **error)
{
    g_autoptr(GPtrArray) arr =
        g_ptr_array_new_with_free_func(istio_destination_free);
    for (guint i = 0; i < ynode_len(seq); i++) {
        const YNode *rn = ynode_at(seq, i);
        if (!ynode_expect_map(rn, "a route destination", error)) {
            return FALSE;
        }
        const YNode *dn = ynode_get(rn, "destination");
        if (dn == NULL) {
            ynode_error(error, rn, SCENARIO_ERROR_SYNTAX,
                        "route entry has no destination");
            return FALSE;
        }
        IstioDestination *d = NULL;
        if (!destination_parse(dn, "destination", &d, error)) {
            return FALSE;
        }
        g_ptr_array_add(arr, d);
        const YNode *w = ynode_get(rn, "weight");
        if (w != NULL && !ynode_is_null(w)) {
            gint64 v = 0;
            if (!ynode_to_int(w, 0, G_MAXINT32, &v, error)) {
                return FALSE;
            }
            d->weight = (gint)v;
            d->has_weight = TRUE;
        }
    }
    /* Cite: istio validation.go, validateHTTPRouteDestinations(),
     * validateTCPRouteDestinations(): several destinations need a non-zero
     * total weight. R8.6. */
    if (arr->len > 1) {
        gint64 total = 0;
        for (guint i = 0; i < arr->len; i++) {
            total += ((IstioDestination *)g_ptr_array_index(arr, i))->weight;
        }
        if (total == 0) {
            ynode_error(error, seq, SCENARIO_ERROR_BAD_VALUE,
                        "total destination weight is 0");
            return FALSE;
        }
    }
    *out = g_steal_pointer(&arr);
    return TRUE;
}

static gboolean
header_ops_parse(const YNode *n, IstioHeaderOps *o, GError **error)
{
    if (n == NULL || ynode_is_null(n)) {
        return TRUE;
    }
    if (!ynode_expect_map(n, "header operations", error)) {
        return FALSE;
    }
    const YNode *set = ynode_get(n, "set");
    const YNode *add = ynode_get(n, "add");
    if (set != NULL) {
        o->set = kv_list_new();
        if (!kv_list_parse(o->set, set, "headers set", error)) {
            return FALSE;
        }
    }
    if (add != NULL) {
        o->add = kv_list_new();
        if (!kv_list_parse(o->add, add, "headers add", error)) {
            return FALSE;
        }
    }
    return opt_str_list(n, "remove", &o->remove, error);
}

static gboolean http_route_parse(const YNode *rn,
                                 guint index,
                                 const char *ns,
                                 IstioHttpRoute **out,
                                 GError **error)
{
    g_autoptr(GPtrArray) holder =
        g_ptr_array_new_with_free_func(istio_http_route_free);
    IstioHttpRoute *r = g_new0(IstioHttpRoute, 1);
    g_ptr_array_add(holder, r);
    r->index = index;
    r->where = rn;
    r->matches = g_ptr_array_new_with_free_func(istio_http_match_free);
    r->mirrors = g_ptr_array_new_with_free_func(istio_destination_free);
    r->mirror_percents = g_array_new(FALSE, FALSE, sizeof(double));
    r->redirect_code = 301;
    if (!ynode_expect_map(rn, "an http route", error) ||
        !opt_str(rn, "name", &r->name, error)) {
        return FALSE;
    }
    const YNode *seq = NULL;
    if (!opt_seq(rn, "match", &seq, error)) {
        return FALSE;
    }
    for (guint i = 0; i < ynode_len(seq); i++) {
        IstioHttpMatch *m = NULL;
        if (!http_match_parse(ynode_at(seq, i), ns, &m, error)) {
            return FALSE;
        }
        g_ptr_array_add(r->matches, m);
    }
    if (!opt_seq(rn, "route", &seq, error)) {
        return FALSE;
    }
    if (seq != NULL) {
        if (!route_dests_parse(seq, &r->route, error)) {
            return FALSE;
        }
    } else {
        r->route = g_ptr_array_new_with_free_func(istio_destination_free);
    }
    const YNode *m = NULL;
    if (!opt_map(rn, "redirect", &m, error)) {
        return FALSE;
    }
    if (m != NULL) {
        r->has_redirect = TRUE;
        gint64 code = 301;
        gint64 port = 0;
        if (!opt_str(m, "uri", &r->redirect_uri, error) ||
            !opt_str(m, "authority", &r->redirect_authority, error) ||
            !opt_str(m, "scheme", &r->redirect_scheme, error) ||
            !opt_int(m, "redirectCode", 0, 999, &code, error) ||
            !opt_int(m, "port", 0, 65535, &port, error)) {
            return FALSE;
        }
        r->redirect_code = code == 0 ? 301 : (gint)code;
        r->redirect_port = (gint)port;
        const char *dp = ynode_str(ynode_get(m, "derivePort"));
        r->redirect_derive_port =
            dp != NULL && strcmp(dp, "FROM_REQUEST_PORT") == 0;
    }
    if (!opt_map(rn, "directResponse", &m, error)) {
        return FALSE;
    }
    if (m != NULL) {
        r->has_direct = TRUE;
        gint64 status = 0;
        if (!opt_int(m, "status", 100, 599, &status, error)) {
            return FALSE;
        }
        if (status == 0) {
            ynode_error(error, m, SCENARIO_ERROR_BAD_VALUE,
                        "directResponse needs a status");
            return FALSE;
        }
        r->direct_status = (gint)status;
        const YNode *body = NULL;
        if (!opt_map(m, "body", &body, error)) {
            return FALSE;
        }
        if (body != NULL) {
            const char *s = ynode_str(ynode_get(body, "string"));
            const char *b = ynode_str(ynode_get(body, "bytes"));
            if (s != NULL) {
                r->direct_body = g_strdup(s);
            } else if (b != NULL) {
                gsize len = 0;
                g_autofree guchar *raw = g_base64_decode(b, &len);
                r->direct_body = g_strndup((const char *)raw, len);
            }
        }
    }
    if (!opt_map(rn, "rewrite", &m, error)) {
        return FALSE;
    }
    if (m != NULL) {
        const YNode *rr = NULL;
        if (!opt_str(m, "uri", &r->rewrite_uri, error) ||
            !opt_str(m, "authority", &r->rewrite_authority, error) ||
            !opt_map(m, "uriRegexRewrite", &rr, error)) {
            return FALSE;
        }
        if (rr != NULL) {
            if (!opt_str(rr, "match", &r->rewrite_regex, error) ||
                !opt_str(rr, "rewrite", &r->rewrite_regex_sub, error)) {
                return FALSE;
            }
            if (r->rewrite_regex == NULL ||
                !check_regex(r->rewrite_regex, rr, error)) {
                if (r->rewrite_regex == NULL) {
                    ynode_error(error, rr, SCENARIO_ERROR_BAD_VALUE,
                                "uriRegexRewrite needs match");
                }
                return FALSE;
            }
            if (r->rewrite_uri != NULL) {
                ynode_error(error, rr, SCENARIO_ERROR_BAD_VALUE,
                            "rewrite may not set both uri and "
                            "uriRegexRewrite");
                return FALSE;
            }
        }
    }
    const YNode *t = ynode_get(rn, "timeout");
    if (t != NULL && !ynode_is_null(t)) {
        r->has_timeout = TRUE;
        if (!opt_duration(rn, "timeout", &r->timeout, error)) {
            return FALSE;
        }
    }
    if (!opt_map(rn, "retries", &m, error)) {
        return FALSE;
    }
    if (m != NULL) {
        gint64 attempts = 0;
        r->retries.present = TRUE;
        if (!opt_int(m, "attempts", 0, G_MAXINT32, &attempts, error) ||
            !opt_duration(m, "perTryTimeout", &r->retries.per_try_timeout,
                          error) ||
            !opt_str(m, "retryOn", &r->retries.retry_on, error)) {
            return FALSE;
        }
        r->retries.attempts = (gint)attempts;
    }
    if (!opt_map(rn, "fault", &m, error)) {
        return FALSE;
    }
    if (m != NULL) {
        const YNode *d = NULL;
        const YNode *a = NULL;
        if (!opt_map(m, "delay", &d, error) ||
            !opt_map(m, "abort", &a, error)) {
            return FALSE;
        }
        if (d != NULL) {
            /* An unset percentage stays 0: istiod copies `percentage`
             * only when given (the deprecated integer `percent` is
             * ignored) and Envoy reads an unset FractionalPercent as 0.
             * Cite: istio pilot/pkg/networking/core/route/route.go,
             * TranslateFault(); envoy source/extensions/filters/common/
             * fault/fault_config.cc, FaultAbortConfig(). */
            r->fault.delay = TRUE;
            r->fault.delay_percent = 0.0;
            if (!opt_duration(d, "fixedDelay", &r->fault.fixed_delay, error) ||
                !opt_percent(d, "percentage", NULL, &r->fault.delay_percent,
                             error)) {
                return FALSE;
            }
        }
        if (a != NULL) {
            gint64 st = 0;
            r->fault.abort = TRUE;
            r->fault.abort_percent = 0.0;
            if (!opt_int(a, "httpStatus", 0, 599, &st, error) ||
                !opt_str(a, "grpcStatus", &r->fault.abort_grpc, error) ||
                !opt_percent(a, "percentage", NULL, &r->fault.abort_percent,
                             error)) {
                return FALSE;
            }
            /* A gRPC abort is answered with HTTP 200 and grpc-status. */
            r->fault.abort_status = st != 0 ? (gint)st : 200;
            if (st == 0 && r->fault.abort_grpc == NULL) {
                ynode_error(error, a, SCENARIO_ERROR_BAD_VALUE,
                            "fault abort needs httpStatus or grpcStatus");
                return FALSE;
            }
        }
    }
    const YNode *mirror = ynode_get(rn, "mirror");
    if (mirror != NULL && !ynode_is_null(mirror)) {
        IstioDestination *d = NULL;
        double pct = 100.0;
        if (!destination_parse(mirror, "mirror", &d, error)) {
            return FALSE;
        }
        g_ptr_array_add(r->mirrors, d);
        if (!opt_percent(rn, "mirrorPercentage", "mirrorPercent", &pct,
                         error)) {
            return FALSE;
        }
        g_array_append_val(r->mirror_percents, pct);
    }
    if (!opt_seq(rn, "mirrors", &seq, error)) {
        return FALSE;
    }
    for (guint i = 0; i < ynode_len(seq); i++) {
        const YNode *mp = ynode_at(seq, i);
        IstioDestination *d = NULL;
        double pct = 100.0;
        if (!ynode_expect_map(mp, "a mirror policy", error) ||
            !destination_parse(ynode_get(mp, "destination"), "mirror", &d,
                               error)) {
            return FALSE;
        }
        g_ptr_array_add(r->mirrors, d);
        if (!opt_percent(mp, "percentage", NULL, &pct, error)) {
            return FALSE;
        }
        g_array_append_val(r->mirror_percents, pct);
    }
    const YNode *hd = NULL;
    if (!opt_map(rn, "headers", &hd, error)) {
        return FALSE;
    }
    if (hd != NULL &&
        (!header_ops_parse(ynode_get(hd, "request"), &r->req_headers, error) ||
         !header_ops_parse(ynode_get(hd, "response"), &r->resp_headers,
                           error))) {
        return FALSE;
    }
    /* Cite: istio validation.go, validateHTTPRoute(): exactly one of
     * route, redirect, directResponse (delegate is not modelled). */
    guint actions = (r->route->len > 0) + r->has_redirect + r->has_direct;
    if (actions == 0) {
        ynode_error(error, rn, SCENARIO_ERROR_BAD_VALUE,
                    "http route needs one of route, redirect or "
                    "directResponse");
        return FALSE;
    }
    if (actions > 1 && !(r->has_redirect && r->has_direct)) {
        ynode_error(error, rn, SCENARIO_ERROR_BAD_VALUE,
                    "http route may have only one of route, redirect, "
                    "directResponse");
        return FALSE;
    }
    if (r->has_redirect && r->has_direct) {
        ynode_error(error, rn, SCENARIO_ERROR_BAD_VALUE,
                    "http route may not have both redirect and "
                    "directResponse");
        return FALSE;
    }
    *out = g_ptr_array_steal_index(holder, 0);
    return TRUE;
}

static gboolean l4_route_parse(const YNode *rn,
                               guint index,
                               const char *ns,
                               gboolean tls,
                               IstioL4Route **out,
                               GError **error)
{
    g_autoptr(GPtrArray) holder = g_ptr_array_new_with_free_func(l4_route_free);
    IstioL4Route *r = g_new0(IstioL4Route, 1);
    r->matches = g_ptr_array_new_with_free_func(l4_match_free);
    r->index = index;
    r->where = rn;
    g_ptr_array_add(holder, r);
    if (!ynode_expect_map(rn, tls ? "a tls route" : "a tcp route", error)) {
        return FALSE;
    }
    const YNode *seq = NULL;
    if (!opt_seq(rn, "match", &seq, error)) {
        return FALSE;
    }
    for (guint i = 0; i < ynode_len(seq); i++) {
        const YNode *mn = ynode_at(seq, i);
        if (!ynode_expect_map(mn, "a match", error)) {
            return FALSE;
        }
        IstioL4Match *m = g_new0(IstioL4Match, 1);
        m->where = mn;
        g_ptr_array_add(r->matches, m);
        const YNode *port = ynode_get(mn, "port");
        if (port != NULL && !ynode_is_null(port) &&
            !ynode_to_port(port, &m->port, error)) {
            return FALSE;
        }
        if (!gateways_parse(mn, ns, &m->gateways, error) ||
            !opt_str_list(mn, "sniHosts", &m->sni_hosts, error)) {
            return FALSE;
        }
        if (tls && (m->sni_hosts == NULL || m->sni_hosts->len == 0)) {
            ynode_error(error, mn, SCENARIO_ERROR_BAD_VALUE,
                        "tls match must have at least one SNI host");
            return FALSE;
        }
    }
    if (tls && r->matches->len == 0) {
        ynode_error(error, rn, SCENARIO_ERROR_BAD_VALUE,
                    "TLS route must have at least one match condition");
        return FALSE;
    }
    if (!opt_seq(rn, "route", &seq, error)) {
        return FALSE;
    }
    if (seq == NULL || ynode_len(seq) == 0) {
        ynode_error(error, rn, SCENARIO_ERROR_BAD_VALUE,
                    "%s route has no destination", tls ? "tls" : "tcp");
        return FALSE;
    }
    if (!route_dests_parse(seq, &r->route, error)) {
        return FALSE;
    }
    *out = g_ptr_array_steal_index(holder, 0);
    return TRUE;
}

IstioVirtualService *istio_virtual_service_parse(const K8sMeta *meta,
                                                 GError **error)
{
    g_return_val_if_fail(meta != NULL, NULL);
    g_autoptr(IstioVirtualService) vs = istio_virtual_service_new();
    vs->meta = meta;
    vs->ref = k8s_meta_ref(meta);
    const YNode *spec = spec_of(meta, error);
    if (spec == NULL) {
        return NULL;
    }
    GPtrArray *raw = NULL;
    if (!opt_str_list(spec, "hosts", &raw, error)) {
        return NULL;
    }
    const YNode *hn = ynode_get(spec, "hosts");
    if (raw == NULL || raw->len == 0) {
        if (raw != NULL) {
            g_ptr_array_unref(raw);
        }
        ynode_error(error, hn != NULL ? hn : spec, SCENARIO_ERROR_BAD_VALUE,
                    "VirtualService %s must have at least one host", vs->ref);
        return NULL;
    }
    for (guint i = 0; i < raw->len; i++) {
        g_ptr_array_add(vs->hosts, istio_resolve_short_name(
                                       g_ptr_array_index(raw, i), meta->ns));
    }
    g_ptr_array_unref(raw);
    GPtrArray *gws = NULL;
    if (!gateways_parse(spec, meta->ns, &gws, error)) {
        return NULL;
    }
    if (gws == NULL || gws->len == 0) {
        /* R6.1: no gateways field binds the VS to the mesh only. */
        g_ptr_array_add(vs->gateways, g_strdup("mesh"));
        if (gws != NULL) {
            g_ptr_array_unref(gws);
        }
    } else {
        g_ptr_array_extend_and_steal(vs->gateways, gws);
    }
    gboolean to_gateway = FALSE;
    for (guint i = 0; i < vs->gateways->len; i++) {
        if (strcmp(g_ptr_array_index(vs->gateways, i), "mesh") != 0) {
            to_gateway = TRUE;
        }
    }
    /* R5.5. Cite: istio validation.go, ValidateVirtualService(). */
    for (guint i = 0; i < vs->hosts->len; i++) {
        const char *h = g_ptr_array_index(vs->hosts, i);
        if (strcmp(h, "*") == 0 && !to_gateway) {
            ynode_error(error, ynode_at(hn, i), SCENARIO_ERROR_BAD_VALUE,
                        "wildcard host * is not allowed for virtual "
                        "services bound to the mesh gateway");
            return NULL;
        }
        if (strchr(h + 1, '*') != NULL ||
            (h[0] == '*' && h[1] != '\0' && h[1] != '.')) {
            ynode_error(error, ynode_at(hn, i), SCENARIO_ERROR_BAD_VALUE,
                        "host '%s': a wildcard may only be the whole "
                        "left-most label",
                        h);
            return NULL;
        }
        for (guint j = i + 1; j < vs->hosts->len; j++) {
            const char *o = g_ptr_array_index(vs->hosts, j);
            if (host_matches(h, o)) {
                ynode_error(error, ynode_at(hn, j), SCENARIO_ERROR_BAD_VALUE,
                            "duplicate hosts in virtual service: %s & %s", h,
                            o);
                return NULL;
            }
        }
    }
    GPtrArray *exp = NULL;
    if (!opt_str_list(spec, "exportTo", &exp, error)) {
        return NULL;
    }
    if (exp != NULL) {
        g_ptr_array_extend_and_steal(vs->export_to, exp);
    }
    const YNode *seq = NULL;
    if (!opt_seq(spec, "http", &seq, error)) {
        return NULL;
    }
    for (guint i = 0; i < ynode_len(seq); i++) {
        IstioHttpRoute *r = NULL;
        if (!http_route_parse(ynode_at(seq, i), i, meta->ns, &r, error)) {
            return NULL;
        }
        g_ptr_array_add(vs->http, r);
    }
    for (guint pass = 0; pass < 2; pass++) {
        gboolean tls = pass == 1;
        if (!opt_seq(spec, tls ? "tls" : "tcp", &seq, error)) {
            return NULL;
        }
        for (guint i = 0; i < ynode_len(seq); i++) {
            IstioL4Route *r = NULL;
            if (!l4_route_parse(ynode_at(seq, i), i, meta->ns, tls, &r,
                                error)) {
                return NULL;
            }
            g_ptr_array_add(tls ? vs->tls : vs->tcp, r);
        }
    }
    /* R10.2: each sniHost must be covered by a VS host.
     * Cite: istio validation.go, validateSniHost(). */
    for (guint i = 0; i < vs->tls->len; i++) {
        const IstioL4Route *r = g_ptr_array_index(vs->tls, i);
        for (guint j = 0; j < r->matches->len; j++) {
            const IstioL4Match *m = g_ptr_array_index(r->matches, j);
            for (guint k = 0; k < m->sni_hosts->len; k++) {
                const char *sni = g_ptr_array_index(m->sni_hosts, k);
                gboolean ok = FALSE;
                for (guint h = 0; h < vs->hosts->len && !ok; h++) {
                    ok = host_subset_of(sni, g_ptr_array_index(vs->hosts, h));
                }
                if (!ok) {
                    ynode_error(error, m->where, SCENARIO_ERROR_BAD_VALUE,
                                "SNI host %s is not a compatible subset of "
                                "any of the virtual service hosts",
                                sni);
                    return NULL;
                }
            }
        }
    }
    if (vs->http->len + vs->tcp->len + vs->tls->len == 0) {
        ynode_error(error, spec, SCENARIO_ERROR_BAD_VALUE,
                    "VirtualService %s needs at least one http, tcp or tls "
                    "route",
                    vs->ref);
        return NULL;
    }
    return g_steal_pointer(&vs);
}

/* ---- DestinationRule --------------------------------------------------------
 */

static void policy_init(IstioTrafficPolicy *p)
{
    memset(p, 0, sizeof *p);
    p->max_connections = -1;
    p->connect_timeout = -1;
    p->http1_max_pending = -1;
    p->http2_max_requests = -1;
    p->max_requests_per_conn = -1;
    p->max_retries = -1;
    p->consecutive_5xx = -1;
    p->consecutive_gw_errors = -1;
    p->outlier_interval = -1;
    p->base_ejection = -1;
    p->max_ejection_percent = -1;
    p->min_health_percent = -1;
}

static void policy_clear(IstioTrafficPolicy *p)
{
    g_free(p->hash_key);
    policy_init(p);
}

static gboolean
policy_parse(const YNode *n, IstioTrafficPolicy *p, GError **error)
{
    policy_init(p);
    if (n == NULL || ynode_is_null(n)) {
        return TRUE;
    }
    if (!ynode_expect_map(n, "trafficPolicy", error)) {
        return FALSE;
    }
    p->set = TRUE;
    const YNode *lb = NULL;
    const YNode *cp = NULL;
    const YNode *od = NULL;
    if (!opt_map(n, "loadBalancer", &lb, error) ||
        !opt_map(n, "connectionPool", &cp, error) ||
        !opt_map(n, "outlierDetection", &od, error)) {
        return FALSE;
    }
    if (lb != NULL) {
        const YNode *simple = ynode_get(lb, "simple");
        const YNode *ch = NULL;
        if (!opt_map(lb, "consistentHash", &ch, error)) {
            return FALSE;
        }
        if (simple != NULL) {
            static const char *const names[] = {
                "LEAST_REQUEST", "LEAST_CONN",  "ROUND_ROBIN", "RANDOM",
                "PASSTHROUGH",   "UNSPECIFIED", NULL
            };
            static const IstioLbKind kinds[] = {
                ISTIO_LB_LEAST_REQUEST, ISTIO_LB_LEAST_REQUEST,
                ISTIO_LB_ROUND_ROBIN,   ISTIO_LB_RANDOM,
                ISTIO_LB_PASSTHROUGH,   ISTIO_LB_UNSET
            };
            const char *s = ynode_str(simple);
            gboolean ok = FALSE;
            for (guint i = 0; s != NULL && names[i] != NULL; i++) {
                if (strcmp(s, names[i]) == 0) {
                    p->lb = kinds[i];
                    ok = TRUE;
                }
            }
            if (!ok) {
                ynode_error(error, simple, SCENARIO_ERROR_BAD_VALUE,
                            "unknown load balancer '%s'", s != NULL ? s : "?");
                return FALSE;
            }
        } else if (ch != NULL) {
            p->lb = ISTIO_LB_CONSISTENT_HASH;
            const YNode *cookie = NULL;
            if (!opt_map(ch, "httpCookie", &cookie, error)) {
                return FALSE;
            }
            const char *hdr = ynode_str(ynode_get(ch, "httpHeaderName"));
            const char *qp = ynode_str(ynode_get(ch, "httpQueryParameterName"));
            const char *src = ynode_str(ynode_get(ch, "useSourceIp"));
            if (hdr != NULL) {
                p->hash = ISTIO_HASH_HEADER;
                p->hash_key = g_ascii_strdown(hdr, -1);
            } else if (cookie != NULL) {
                p->hash = ISTIO_HASH_COOKIE;
                p->hash_key =
                    g_strdup(ynode_str_or(ynode_get(cookie, "name"), ""));
            } else if (qp != NULL) {
                p->hash = ISTIO_HASH_QUERY_PARAM;
                p->hash_key = g_strdup(qp);
            } else if (src != NULL && strcmp(src, "true") == 0) {
                p->hash = ISTIO_HASH_SOURCE_IP;
            }
        }
    }
    if (cp != NULL) {
        const YNode *tcp = NULL;
        const YNode *http = NULL;
        if (!opt_map(cp, "tcp", &tcp, error) ||
            !opt_map(cp, "http", &http, error) ||
            !opt_int(tcp, "maxConnections", 1, G_MAXINT32, &p->max_connections,
                     error) ||
            !opt_duration(tcp, "connectTimeout", &p->connect_timeout, error) ||
            !opt_int(http, "http1MaxPendingRequests", 1, G_MAXINT32,
                     &p->http1_max_pending, error) ||
            !opt_int(http, "http2MaxRequests", 1, G_MAXINT32,
                     &p->http2_max_requests, error) ||
            !opt_int(http, "maxRequestsPerConnection", 0, G_MAXINT32,
                     &p->max_requests_per_conn, error) ||
            !opt_int(http, "maxRetries", 0, G_MAXINT32, &p->max_retries,
                     error)) {
            return FALSE;
        }
    }
    if (od != NULL) {
        p->outlier = TRUE;
        if (!opt_int(od, "consecutive5xxErrors", 0, G_MAXINT32,
                     &p->consecutive_5xx, error) ||
            !opt_int(od, "consecutiveGatewayErrors", 0, G_MAXINT32,
                     &p->consecutive_gw_errors, error) ||
            !opt_duration(od, "interval", &p->outlier_interval, error) ||
            !opt_duration(od, "baseEjectionTime", &p->base_ejection, error) ||
            !opt_int(od, "maxEjectionPercent", 0, 100, &p->max_ejection_percent,
                     error) ||
            !opt_int(od, "minHealthPercent", 0, 100, &p->min_health_percent,
                     error)) {
            return FALSE;
        }
        if (p->consecutive_5xx < 0 &&
            !opt_int(od, "consecutiveErrors", 0, G_MAXINT32,
                     &p->consecutive_5xx, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static void subset_free(gpointer p)
{
    IstioSubset *s = p;
    g_free(s->name);
    kv_list_free(s->labels);
    policy_clear(&s->policy);
    g_free(s);
}

void istio_destination_rule_free(IstioDestinationRule *dr)
{
    if (dr == NULL) {
        return;
    }
    g_free(dr->ref);
    g_free(dr->host);
    policy_clear(&dr->policy);
    if (dr->subsets != NULL) {
        g_ptr_array_unref(dr->subsets);
    }
    if (dr->export_to != NULL) {
        g_ptr_array_unref(dr->export_to);
    }
    g_free(dr);
}

IstioDestinationRule *istio_destination_rule_parse(const K8sMeta *meta,
                                                   GError **error)
{
    g_return_val_if_fail(meta != NULL, NULL);
    g_autoptr(IstioDestinationRule) dr = g_new0(IstioDestinationRule, 1);
    dr->meta = meta;
    dr->ref = k8s_meta_ref(meta);
    dr->subsets = g_ptr_array_new_with_free_func(subset_free);
    policy_init(&dr->policy);
    const YNode *spec = spec_of(meta, error);
    if (spec == NULL) {
        return NULL;
    }
    char *host = NULL;
    if (!opt_str(spec, "host", &host, error)) {
        return NULL;
    }
    if (host == NULL || host[0] == '\0') {
        g_free(host);
        ynode_error(error, spec, SCENARIO_ERROR_BAD_VALUE,
                    "DestinationRule %s has no host", dr->ref);
        return NULL;
    }
    dr->host = istio_resolve_short_name(host, meta->ns);
    g_free(host);
    if (!policy_parse(ynode_get(spec, "trafficPolicy"), &dr->policy, error) ||
        !opt_str_list(spec, "exportTo", &dr->export_to, error)) {
        return NULL;
    }
    const YNode *seq = NULL;
    if (!opt_seq(spec, "subsets", &seq, error)) {
        return NULL;
    }
    for (guint i = 0; i < ynode_len(seq); i++) {
        const YNode *sn = ynode_at(seq, i);
        if (!ynode_expect_map(sn, "a subset", error)) {
            return NULL;
        }
        IstioSubset *s = g_new0(IstioSubset, 1);
        s->where = sn;
        s->labels = kv_list_new();
        policy_init(&s->policy);
        g_ptr_array_add(dr->subsets, s);
        if (!opt_str(sn, "name", &s->name, error) ||
            !kv_list_parse(s->labels, ynode_get(sn, "labels"), "subset labels",
                           error) ||
            !policy_parse(ynode_get(sn, "trafficPolicy"), &s->policy, error)) {
            return NULL;
        }
        if (s->name == NULL || s->name[0] == '\0') {
            ynode_error(error, sn, SCENARIO_ERROR_BAD_VALUE,
                        "subset has no name");
            return NULL;
        }
        for (guint j = 0; j + 1 < dr->subsets->len; j++) {
            const IstioSubset *o = g_ptr_array_index(dr->subsets, j);
            if (strcmp(o->name, s->name) == 0) {
                ynode_error(error, sn, SCENARIO_ERROR_BAD_VALUE,
                            "duplicate subset name '%s'", s->name);
                return NULL;
            }
        }
    }
    return g_steal_pointer(&dr);
}

/* ---- Ingress ----------------------------------------------------------------
 */

static void ingress_path_free(gpointer p)
{
    IngressPath *ip = p;
    g_free(ip->path);
    g_free(ip->service);
    g_free(ip->port_name);
    g_free(ip);
}

static void ingress_rule_free(gpointer p)
{
    IngressRule *r = p;
    g_free(r->host);
    if (r->paths != NULL) {
        g_ptr_array_unref(r->paths);
    }
    g_free(r);
}

static void ingress_tls_free(gpointer p)
{
    IngressTls *t = p;
    if (t->hosts != NULL) {
        g_ptr_array_unref(t->hosts);
    }
    g_free(t->secret_name);
    g_free(t);
}

void istio_ingress_free(IstioIngress *in)
{
    if (in == NULL) {
        return;
    }
    g_free(in->class_name);
    if (in->rules != NULL) {
        g_ptr_array_unref(in->rules);
    }
    if (in->tls != NULL) {
        g_ptr_array_unref(in->tls);
    }
    g_free(in);
}

/* networking.k8s.io/v1 backend {service: {name, port: {number|name}}}, or
 * the v1beta1 shape {serviceName, servicePort}. */
static gboolean
ingress_backend_parse(const YNode *bn, IngressPath *p, GError **error)
{
    if (!ynode_expect_map(bn, "an Ingress backend", error)) {
        return FALSE;
    }
    const YNode *svc = ynode_get(bn, "service");
    if (svc != NULL) {
        const YNode *port = ynode_get(svc, "port");
        if (!opt_str(svc, "name", &p->service, error) ||
            !opt_str(port, "name", &p->port_name, error)) {
            return FALSE;
        }
        const YNode *num = ynode_get(port, "number");
        if (num != NULL && !ynode_to_port(num, &p->port, error)) {
            return FALSE;
        }
        return TRUE;
    }
    if (ynode_get(bn, "serviceName") != NULL) {
        if (!opt_str(bn, "serviceName", &p->service, error)) {
            return FALSE;
        }
        const YNode *sp = ynode_get(bn, "servicePort");
        gint64 v = 0;
        if (sp != NULL && ynode_to_int(sp, 1, 65535, &v, NULL)) {
            p->port = (gint)v;
        } else if (sp != NULL) {
            p->port_name = g_strdup(ynode_str(sp));
        }
    }
    return TRUE;
}

IstioIngress *istio_ingress_parse(const K8sMeta *meta, GError **error)
{
    g_return_val_if_fail(meta != NULL, NULL);
    g_autoptr(IstioIngress) in = g_new0(IstioIngress, 1);
    in->meta = meta;
    in->rules = g_ptr_array_new_with_free_func(ingress_rule_free);
    in->tls = g_ptr_array_new_with_free_func(ingress_tls_free);
    const YNode *spec = spec_of(meta, error);
    if (spec == NULL) {
        return NULL;
    }
    if (!opt_str(spec, "ingressClassName", &in->class_name, error)) {
        return NULL;
    }
    in->has_default_backend = ynode_get(spec, "defaultBackend") != NULL ||
                              ynode_get(spec, "backend") != NULL;
    const YNode *seq = NULL;
    if (!opt_seq(spec, "rules", &seq, error)) {
        return NULL;
    }
    for (guint i = 0; i < ynode_len(seq); i++) {
        const YNode *rn = ynode_at(seq, i);
        if (!ynode_expect_map(rn, "an Ingress rule", error)) {
            return NULL;
        }
        IngressRule *r = g_new0(IngressRule, 1);
        r->where = rn;
        g_ptr_array_add(in->rules, r);
        const YNode *http = NULL;
        const YNode *paths = NULL;
        if (!opt_str(rn, "host", &r->host, error) ||
            !opt_map(rn, "http", &http, error) ||
            !opt_seq(http, "paths", &paths, error)) {
            return NULL;
        }
        if (http == NULL) {
            continue;
        }
        r->paths = g_ptr_array_new_with_free_func(ingress_path_free);
        for (guint j = 0; j < ynode_len(paths); j++) {
            const YNode *pn = ynode_at(paths, j);
            if (!ynode_expect_map(pn, "an Ingress path", error)) {
                return NULL;
            }
            IngressPath *p = g_new0(IngressPath, 1);
            p->where = pn;
            g_ptr_array_add(r->paths, p);
            if (!opt_str(pn, "path", &p->path, error)) {
                return NULL;
            }
            if (p->path == NULL) {
                p->path = g_strdup("");
            }
            const char *pt = ynode_str(ynode_get(pn, "pathType"));
            if (pt == NULL || strcmp(pt, "ImplementationSpecific") == 0) {
                p->type = INGRESS_PATH_IMPLEMENTATION_SPECIFIC;
            } else if (strcmp(pt, "Prefix") == 0) {
                p->type = INGRESS_PATH_PREFIX;
            } else if (strcmp(pt, "Exact") == 0) {
                p->type = INGRESS_PATH_EXACT;
            } else {
                ynode_error(error, ynode_get(pn, "pathType"),
                            SCENARIO_ERROR_BAD_VALUE,
                            "unknown pathType '%s' (Exact, Prefix or "
                            "ImplementationSpecific)",
                            pt);
                return NULL;
            }
            const YNode *bn = ynode_get(pn, "backend");
            if (bn == NULL) {
                ynode_error(error, pn, SCENARIO_ERROR_SYNTAX,
                            "Ingress path has no backend");
                return NULL;
            }
            if (!ingress_backend_parse(bn, p, error)) {
                return NULL;
            }
        }
    }
    if (!opt_seq(spec, "tls", &seq, error)) {
        return NULL;
    }
    for (guint i = 0; i < ynode_len(seq); i++) {
        const YNode *tn = ynode_at(seq, i);
        if (!ynode_expect_map(tn, "an Ingress tls entry", error)) {
            return NULL;
        }
        IngressTls *t = g_new0(IngressTls, 1);
        g_ptr_array_add(in->tls, t);
        if (!opt_str_list(tn, "hosts", &t->hosts, error) ||
            !opt_str(tn, "secretName", &t->secret_name, error)) {
            return NULL;
        }
    }
    return g_steal_pointer(&in);
}

const char *istio_ingress_class_controller(const K8sMeta *meta)
{
    g_return_val_if_fail(meta != NULL, NULL);
    return ynode_str(ynode_path(meta->doc, "spec.controller"));
}
