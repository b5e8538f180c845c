/* analyze-compiled.c: messages read from the compiled gateway snapshots, so
 * they say what the gateway compiler decided (one decision path): dropped
 * servers (IST0145, ISM0008), servers without routes (ISM0002, ISM0003),
 * unusable certificates (IST0161, ISM0009), missing clusters (ISM0007). */
#include "config.h"

#include <string.h>

#include "models/analyze-private.h"
#include "models/gateway-private.h"

/* The compiler's notes are its log: "Gateway <ns/name> servers[<i>] ..."
 * (models/gateway-compile.c, note()). The note about @key that starts with
 * @key followed by @after, or NULL. */
static const char *
find_note(const GatewaySnapshot *snap, const char *key, const char *after)
{
    g_autofree char *prefix = g_strdup_printf("Gateway %s%s", key, after);
    const GPtrArray *notes = gateway_notes(snap);
    for (guint i = 0; i < notes->len; i++) {
        const char *n = g_ptr_array_index(notes, i);
        if (g_str_has_prefix(n, prefix)) {
            return n;
        }
    }
    return NULL;
}

static char *server_key(const IstioGateway *gw, const IstioServer *sv)
{
    return g_strdup_printf("%s servers[%u]", gw->ref, sv->index);
}

static gboolean server_is_terminating(const IstioServer *sv)
{
    return sv->tls.present && (sv->tls.mode == ISTIO_TLS_SIMPLE ||
                               sv->tls.mode == ISTIO_TLS_MUTUAL ||
                               sv->tls.mode == ISTIO_TLS_OPTIONAL_MUTUAL);
}

/* HTTP-class servers and HTTPS servers that terminate TLS get a route
 * configuration (R6.4); the others are TCP/TLS proxies (R10). */
static gboolean server_is_http(const IstioServer *sv)
{
    return istio_protocol_is_http(sv->protocol) ||
           (sv->protocol == ISTIO_PROTO_HTTPS && server_is_terminating(sv));
}

static const GwFilterChain *chain_of(const GatewaySnapshot *snap,
                                     const IstioServer *sv)
{
    for (guint i = 0; i < snap->listeners->len; i++) {
        const GwListener *l = g_ptr_array_index(snap->listeners, i);
        for (guint j = 0; j < l->chains->len; j++) {
            const GwFilterChain *ch = g_ptr_array_index(l->chains, j);
            if (ch->server == sv) {
                return ch;
            }
        }
    }
    return NULL;
}

/* Did the compiler put a route of some VirtualService into a virtual host
 * made for server @key (R6.4)? */
static gboolean server_has_routes(const GatewaySnapshot *snap, const char *key)
{
    for (guint i = 0; i < snap->route_configs->len; i++) {
        const GwRouteConfig *rc = g_ptr_array_index(snap->route_configs, i);
        for (guint j = 0; j < rc->vhosts->len; j++) {
            const GwVirtualHost *v = g_ptr_array_index(rc->vhosts, j);
            if (v->routes->len > 0 && g_strcmp0(v->server_ref, key) == 0) {
                return TRUE;
            }
        }
    }
    return FALSE;
}

/* "[h1,h2]" of the server's hosts as written (istioctl's strings.Join). */
static char *hosts_written(const IstioServer *sv)
{
    g_autoptr(GPtrArray) hs = analyze__strings(ynode_get(sv->where, "hosts"));
    g_ptr_array_add(hs, NULL);
    return g_strjoinv(",", (char **)hs->pdata);
}

/* IST0145 from the compiler's R4.4 decision: this server repeats a TLS
 * host an older Gateway claimed on the same port and bind, and is dropped
 * whole. istioctl's analyzer also flags overlapping (not only equal) hosts
 * and plain HTTP servers that istiod merges without conflict (istio#54643,
 * #57396), and flags both Gateways; we report the server that is dropped.
 * Cite: istio pkg/config/analysis/analyzers/gateway/conflictinggateway.go;
 * pilot/pkg/model/gateway.go, mergeGateways(). */
static void report_conflict(AnalyzeCtx *cx,
                            const GatewaySnapshot *snap,
                            const IstioGateway *gw,
                            const IstioServer *sv,
                            const char *note)
{
    const char *q1 = strchr(note, '\'');
    const char *q2 = q1 != NULL ? strchr(q1 + 1, '\'') : NULL;
    g_autofree char *dup =
        q2 != NULL ? g_strndup(q1 + 1, (gsize)(q2 - q1 - 1)) : g_strdup("");
    GString *others = g_string_new(NULL);
    for (guint i = 0; i < snap->gateways->len; i++) {
        const IstioGateway *o = g_ptr_array_index(snap->gateways, i);
        if (o == gw) {
            break; /* creation order: only older Gateways win */
        }
        gboolean claims = FALSE;
        for (guint j = 0; j < o->servers->len && !claims; j++) {
            const IstioServer *os = g_ptr_array_index(o->servers, j);
            for (guint h = 0; os->tls.present && h < os->hosts->len; h++) {
                claims = claims ||
                         (g_strcmp0(os->bind, sv->bind) == 0 &&
                          strcmp(g_ptr_array_index(os->hosts, h), dup) == 0);
            }
        }
        if (claims) {
            g_string_append_printf(others, "%s%s", others->len ? "," : "",
                                   o->ref);
        }
    }
    g_autofree char *sel = analyze__selector_string(gw->selector);
    g_autofree char *hosts = hosts_written(sv);
    analyze__report(cx, "IST0145", gw->meta, sv->where,
                    "Conflict with gateways %s (workload selector %s, port "
                    "%d, hosts %s).",
                    others->str, sel, sv->number, hosts);
    g_string_free(others, TRUE);
}

/* Does some host of @vs match (R5.3) a host of @sv visible to the VS's
 * namespace (R5.2)? Explains which VirtualService was meant for a server;
 * the verdict (no route) is the compiler's. */
static gboolean vs_meant_for(const IstioVirtualService *vs,
                             const IstioServer *sv)
{
    for (guint i = 0; i < sv->hosts->len; i++) {
        char *hns = NULL;
        const char *h =
            host_split_namespace(g_ptr_array_index(sv->hosts, i), &hns);
        gboolean visible = hns == NULL || strcmp(hns, "*") == 0 ||
                           strcmp(hns, vs->meta->ns) == 0;
        g_free(hns);
        for (guint j = 0; visible && j < vs->hosts->len; j++) {
            if (host_matches(h, g_ptr_array_index(vs->hosts, j))) {
                return TRUE;
            }
        }
    }
    return FALSE;
}

static const IstioVirtualService *bound_virtual_service(
    const GatewaySnapshot *snap, const IstioGateway *gw, const IstioServer *sv)
{
    for (guint i = 0; i < snap->vss->len; i++) {
        const IstioVirtualService *vs = g_ptr_array_index(snap->vss, i);
        gboolean bound = FALSE;
        for (guint j = 0; j < vs->gateways->len && !bound; j++) {
            bound = strcmp(g_ptr_array_index(vs->gateways, j), gw->ref) == 0;
        }
        if (bound && vs_meant_for(vs, sv)) {
            return vs;
        }
    }
    return NULL;
}

/* ISM0002/ISM0003: the article: "If you only add a Gateway nothing will
 * show up in the Envoy configuration"; "if it's a TCP service also add the
 * port to the VirtualService". An HTTP server without routes answers 404
 * NR (blackhole, R6.4); a TCP/TLS server without a matching route gets no
 * filter chain, and a port without chains no listener (R4.6, R10.4). */
static void check_routes(AnalyzeCtx *cx,
                         const GatewaySnapshot *snap,
                         const IstioGateway *gw,
                         const IstioServer *sv,
                         const char *key)
{
    if (server_is_http(sv)) {
        if (sv->tls.https_redirect || server_has_routes(snap, key)) {
            return;
        }
        g_autofree char *hosts = hosts_written(sv);
        analyze__report(cx, "ISM0002", gw->meta, sv->where,
                        "No VirtualService bound to Gateway %s routes server "
                        "%u (%s %d, hosts %s): every request to it answers "
                        "404 (NR). Adding only a Gateway shows up nowhere in "
                        "the Envoy configuration.",
                        gw->ref, sv->index, sv->protocol_text, sv->number,
                        hosts);
        return;
    }
    if (sv->tls.present && sv->tls.mode == ISTIO_TLS_AUTO_PASSTHROUGH) {
        return; /* routes by SNI to every Service, no VS needed (R10.3) */
    }
    if (chain_of(snap, sv) != NULL) {
        return;
    }
    gboolean passthrough =
        sv->tls.present && sv->tls.mode == ISTIO_TLS_PASSTHROUGH;
    const char *kind = passthrough ? "tls" : "tcp";
    const IstioVirtualService *vs = bound_virtual_service(snap, gw, sv);
    if (vs == NULL) {
        g_autofree char *hosts = hosts_written(sv);
        analyze__report(cx, "ISM0002", gw->meta, sv->where,
                        "No VirtualService bound to Gateway %s has a %s "
                        "route for server %u (%s %d, hosts %s): the gateway "
                        "opens no listener for it and refuses connections on "
                        "port %d.",
                        gw->ref, kind, sv->index, sv->protocol_text, sv->number,
                        hosts, sv->number);
        return;
    }
    const YNode *w = ynode_get_key(ynode_get(vs->meta->doc, "spec"), kind);
    analyze__report(cx, "ISM0003", vs->meta,
                    w != NULL ? w : ynode_get(vs->meta->doc, "spec"),
                    "VirtualService %s is bound to Gateway %s, but none of "
                    "its %s routes matches the port %d of server %u (%s): "
                    "the gateway opens no listener for it and refuses "
                    "connections. A %s service needs the port in the "
                    "VirtualService's %s match.",
                    vs->ref, gw->ref, kind, sv->number, sv->index,
                    sv->protocol_text, passthrough ? "TLS" : "TCP", kind);
}

/* IST0161 (credentialName Secret present but unusable) or ISM0009 (the
 * article's file certificates not served: no Secret volume mounted at the
 * path, Secret or key missing, key not matching), from the compiler's
 * verdict on the chain (R11, R16). A missing credentialName Secret is
 * IST0101 (analyze-gateway.c). Cite: istio pkg/config/analysis/analyzers/
 * gateway/secret.go, isValidSecret(). */
static void check_certificate(AnalyzeCtx *cx,
                              const GatewaySnapshot *snap,
                              const IstioGateway *gw,
                              const IstioServer *sv)
{
    if (!server_is_terminating(sv)) {
        return;
    }
    const GwFilterChain *ch = chain_of(snap, sv);
    if (ch == NULL || ch->cert_problem == NULL) {
        return;
    }
    const char *cn = sv->tls.credential_name;
    const char *pod_ns = snap->pod->meta.ns;
    if (cn != NULL) {
        if (cluster_find_secret(cx->c, pod_ns, cn) == NULL) {
            return;
        }
        const YNode *w = ynode_path(sv->where, "tls.credentialName");
        analyze__report(cx, "IST0161", gw->meta, w,
                        "The credential referenced by the Gateway %s in "
                        "namespace %s is invalid, which can cause the traffic "
                        "not to work as expected.",
                        gw->meta->name, pod_ns);
        return;
    }
    analyze__report(cx, "ISM0009", gw->meta,
                    sv->tls.where != NULL ? sv->tls.where : sv->where,
                    "The certificate of server %u (%s %d) cannot be served "
                    "by pod %s: %s. TLS handshakes on this server fail; "
                    "add the TLS Secret, mount it in the ingressgateway and "
                    "point the Gateway at the mounted files.",
                    sv->index, sv->protocol_text, sv->number,
                    gateway_pod_ref(snap), ch->cert_problem);
}

static void check_servers(AnalyzeCtx *cx, const GatewaySnapshot *snap)
{
    for (guint gi = 0; gi < snap->gateways->len; gi++) {
        const IstioGateway *gw = g_ptr_array_index(snap->gateways, gi);
        if (gw->owned_meta != NULL) {
            continue; /* made from an Ingress: nothing to point at */
        }
        for (guint si = 0; si < gw->servers->len; si++) {
            const IstioServer *sv = g_ptr_array_index(gw->servers, si);
            g_autofree char *key = server_key(gw, sv);
            const char *skipped = find_note(snap, key, " skipped: ");
            if (skipped != NULL) {
                const char *why =
                    strstr(skipped, " skipped: ") + strlen(" skipped: ");
                if (g_str_has_prefix(why, "duplicate host")) {
                    report_conflict(cx, snap, gw, sv, why);
                } else {
                    analyze__report(cx, "ISM0008", gw->meta, sv->where,
                                    "The gateway pod drops server %u (%s "
                                    "%d): %s.",
                                    sv->index, sv->protocol_text, sv->number,
                                    why);
                }
                continue;
            }
            check_routes(cx, snap, gw, sv, key);
            check_certificate(cx, snap, gw, sv);
        }
    }
}

/* ---- ISM0007 ---------------------------------------------------------------
 */

static const IstioVirtualService *find_vs(const GatewaySnapshot *snap,
                                          const char *ref)
{
    for (guint i = 0; i < snap->vss->len; i++) {
        const IstioVirtualService *vs = g_ptr_array_index(snap->vss, i);
        if (strcmp(vs->ref, ref) == 0) {
            return vs;
        }
    }
    return NULL;
}

/* The destination behind target @k: targets follow the destinations in
 * order, zero weights dropped when there are several (R8.6). */
static const IstioDestination *target_destination(const GPtrArray *dests,
                                                  guint k)
{
    guint t = 0;
    for (guint i = 0; dests != NULL && i < dests->len; i++) {
        const IstioDestination *d = g_ptr_array_index(dests, i);
        if (dests->len > 1 && d->weight == 0) {
            continue;
        }
        if (t++ == k) {
            return d;
        }
    }
    return NULL;
}

static const K8sMeta *ingress_of(const AnalyzeCtx *cx,
                                 const IstioVirtualService *vs)
{
    for (guint i = 0; i < cx->c->ingresses->len; i++) {
        const K8sMeta *m = g_ptr_array_index(cx->c->ingresses, i);
        if (m->doc == vs->meta->doc) {
            return m;
        }
    }
    return NULL;
}

/* Reports target @t of a route or proxy of @vs if its cluster is missing
 * and no IST message explains the destination. @what names the rule. */
static void check_target(AnalyzeCtx *cx,
                         const IstioVirtualService *vs,
                         const GwTarget *t,
                         const IstioDestination *d,
                         const YNode *rule_where,
                         const char *what,
                         gboolean tcp)
{
    if (t->cluster != NULL || vs == NULL) {
        return;
    }
    const char *effect =
        tcp ? "connections are closed at once" : "requests answer 503 (NC)";
    if (vs->ingress_semantics) {
        const K8sMeta *in = ingress_of(cx, vs);
        if (in != NULL) {
            analyze__report(cx, "ISM0007", in,
                            d != NULL ? d->where : rule_where,
                            "The backend of this Ingress path becomes "
                            "cluster %s, which does not exist (no such "
                            "Service or Service port): %s.",
                            t->name, effect);
        }
        return;
    }
    if (d != NULL && g_hash_table_contains(cx->explained, d->where)) {
        return;
    }
    const YNode *w = d != NULL ? ynode_get(d->where, "host") : NULL;
    analyze__report(cx, "ISM0007", vs->meta,
                    w != NULL ? w : (d != NULL ? d->where : rule_where),
                    "%s of VirtualService %s sends traffic to cluster %s, "
                    "which does not exist: %s.",
                    what, vs->ref, t->name, effect);
}

static void check_http_clusters(AnalyzeCtx *cx, const GatewaySnapshot *snap)
{
    g_autoptr(GHashTable) seen =
        g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < snap->route_configs->len; i++) {
        const GwRouteConfig *rc = g_ptr_array_index(snap->route_configs, i);
        for (guint j = 0; j < rc->vhosts->len; j++) {
            const GwVirtualHost *v = g_ptr_array_index(rc->vhosts, j);
            for (guint k = 0; k < v->routes->len; k++) {
                const GwRoute *r = g_ptr_array_index(v->routes, k);
                if (g_hash_table_contains(seen, r) || r->src == NULL) {
                    continue;
                }
                g_hash_table_add(seen, (gpointer)r);
                const IstioVirtualService *vs = find_vs(snap, r->vs_ref);
                g_autofree char *what =
                    g_strdup_printf("http[%u]", r->http_index);
                for (guint t = 0;
                     r->action == GW_ACTION_ROUTE && r->dests.targets != NULL &&
                     t < r->dests.targets->len;
                     t++) {
                    check_target(cx, vs, g_ptr_array_index(r->dests.targets, t),
                                 target_destination(r->src->route, t),
                                 r->src->where, what, FALSE);
                }
                for (guint t = 0;
                     r->mirrors.targets != NULL && t < r->mirrors.targets->len;
                     t++) {
                    const IstioDestination *d =
                        t < r->src->mirrors->len
                            ? g_ptr_array_index(r->src->mirrors, t)
                            : NULL;
                    g_autofree char *mw = g_strdup_printf("%s mirror", what);
                    check_target(cx, vs,
                                 g_ptr_array_index(r->mirrors.targets, t), d,
                                 r->src->where, mw, FALSE);
                }
            }
        }
    }
}

/* tcp_source is "VirtualService <ns/name> tcp[<i>]" or "... tls[<i>]
 * match[<k>]" (gateway-compile.c): the rule behind a TCP proxy. */
static void check_tcp_clusters(AnalyzeCtx *cx, const GatewaySnapshot *snap)
{
    for (guint i = 0; i < snap->listeners->len; i++) {
        const GwListener *l = g_ptr_array_index(snap->listeners, i);
        for (guint j = 0; j < l->chains->len; j++) {
            const GwFilterChain *ch = g_ptr_array_index(l->chains, j);
            if (ch->tcp.targets == NULL || ch->tcp_source == NULL ||
                !g_str_has_prefix(ch->tcp_source, "VirtualService ")) {
                continue;
            }
            g_auto(GStrv) words = g_strsplit(ch->tcp_source, " ", 4);
            if (words[1] == NULL || words[2] == NULL) {
                continue;
            }
            const IstioVirtualService *vs = find_vs(snap, words[1]);
            gboolean tls = g_str_has_prefix(words[2], "tls[");
            guint64 idx = 0;
            const char *num = strchr(words[2], '[');
            g_autofree char *digits =
                num != NULL ? g_strndup(num + 1, strcspn(num + 1, "]")) : NULL;
            const IstioL4Route *rule = NULL;
            if (vs != NULL && digits != NULL &&
                g_ascii_string_to_unsigned(digits, 10, 0, G_MAXUINT, &idx,
                                           NULL)) {
                const GPtrArray *rules = tls ? vs->tls : vs->tcp;
                rule = idx < rules->len ? g_ptr_array_index(rules, idx) : NULL;
            }
            for (guint t = 0; t < ch->tcp.targets->len; t++) {
                check_target(cx, vs, g_ptr_array_index(ch->tcp.targets, t),
                             rule != NULL ? target_destination(rule->route, t)
                                          : NULL,
                             rule != NULL ? rule->where : NULL, words[2], TRUE);
            }
        }
    }
}

void analyze__compiled(AnalyzeCtx *cx)
{
    for (guint i = 0; i < cx->snapshots->len; i++) {
        const GatewaySnapshot *snap = g_ptr_array_index(cx->snapshots, i);
        check_servers(cx, snap);
        check_http_clusters(cx, snap);
        check_tcp_clusters(cx, snap);
    }
}
