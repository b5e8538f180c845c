/* gateway-compile.c: istiod's translation for one gateway pod (models):
 * Gateways -> merged servers -> listeners/filter chains, VirtualServices ->
 * route configs, Services + DestinationRules -> clusters (R2-R10). */
#include "config.h"

#include <string.h>

#include "models/gateway-private.h"

/* Envoy/Istio constants (ingress-stages-spec R4.2-R4.4). */
#define GW_DEFAULT_CONNECT_TIMEOUT (10 * SIM_S)
#define GW_CB_MAX                  G_MAXUINT32
#define GW_TLS_CERT_LIMIT          (1024 * 1024)

/* Ingress conversion (gateway-ingress.c). */
gboolean gateway__ingress_convert(const Cluster *c,
                                  GPtrArray *gateways,
                                  GPtrArray *vss,
                                  GError **error);

/* ---- freeing --------------------------------------------------------------
 */

void gateway__destinations_clear(GwDestinations *d)
{
    if (d->targets != NULL) {
        g_ptr_array_unref(d->targets);
    }
    memset(d, 0, sizeof *d);
}


/* Names that results are keyed by (route, cluster) are interned once at
 * compile time: the per-request path then compares pointers, and equal
 * names from two snapshots (before and after a configuration change) are
 * the same key. Interned strings live for the process. */
static char *intern_take(char *s)
{
    const char *i = g_intern_string(s);
    g_free(s);
    return (char *)i;
}

static void target_free(gpointer p)
{
    GwTarget *t = p;
    /* t->name is interned (intern_take) */
    g_free(t);
}

static void chain_free(gpointer p)
{
    GwFilterChain *ch = p;
    g_strfreev(ch->server_names);
    g_free(ch->server_ref);
    gateway__destinations_clear(&ch->tcp);
    /* ch->tcp_source is interned */
    g_free(ch->certificate);
    tls_cert_free(ch->server_cert);
    tls_cert_free(ch->ca);
    g_free(ch->cert_problem);
    g_free(ch);
}

void gateway__listener_free(gpointer p)
{
    GwListener *l = p;
    g_free(l->name);
    g_free(l->bind);
    g_ptr_array_unref(l->chains);
    host_sni_table_free(l->sni);
    g_free(l);
}

static void matcher_free(gpointer p)
{
    GwMatcher *m = p;
    g_free(m->name);
    g_free(m->value);
    if (m->re != NULL) {
        g_regex_unref(m->re);
    }
    g_free(m);
}

void gateway__route_free(gpointer p)
{
    GwRoute *r = p;
    g_free(r->name);
    /* r->display is interned */
    g_free(r->vs_ref);
    g_free(r->path);
    if (r->path_re != NULL) {
        g_regex_unref(r->path_re);
    }
    if (r->headers != NULL) {
        g_ptr_array_unref(r->headers);
    }
    if (r->query != NULL) {
        g_ptr_array_unref(r->query);
    }
    g_free(r->match_text);
    gateway__destinations_clear(&r->dests);
    g_free(r->prefix_rewrite);
    if (r->regex_rewrite != NULL) {
        g_regex_unref(r->regex_rewrite);
    }
    g_free(r->regex_sub);
    g_free(r->host_rewrite);
    g_free(r->redirect_path);
    g_free(r->redirect_host);
    g_free(r->redirect_scheme);
    g_free(r->direct_body);
    if (r->retry_codes != NULL) {
        g_array_unref(r->retry_codes);
    }
    gateway__destinations_clear(&r->mirrors);
    if (r->mirror_ppm != NULL) {
        g_array_unref(r->mirror_ppm);
    }
    g_free(r);
}

static void vhost_free(gpointer p)
{
    GwVirtualHost *v = p;
    g_free(v->name);
    g_ptr_array_unref(v->domains);
    g_ptr_array_unref(v->routes);
    g_free(v->server_ref);
    g_free(v);
}

void gateway__route_config_free(gpointer p)
{
    GwRouteConfig *rc = p;
    g_free(rc->name);
    g_ptr_array_unref(rc->vhosts);
    host_domain_table_free(rc->table);
    g_free(rc);
}

void gateway__cluster_free(gpointer p)
{
    GatewayCluster *gc = p;
    /* gc->name is interned */
    g_free(gc->host);
    g_free(gc->subset);
    g_free(gc->subset_pods);
    g_free(gc);
}

static void gateway_free_void(gpointer p)
{
    istio_gateway_free(p);
}

static void vs_free_void(gpointer p)
{
    istio_virtual_service_free(p);
}

static void dr_free_void(gpointer p)
{
    istio_destination_rule_free(p);
}

static GatewaySnapshot *snapshot_new(const Cluster *c, const K8sPod *pod)
{
    GatewaySnapshot *s = g_new0(GatewaySnapshot, 1);
    s->ref = 1;
    s->cluster = c;
    s->pod = pod;
    s->pod_ref = k8s_meta_ref(&pod->meta);
    s->gateways = g_ptr_array_new();
    s->all_gateways = g_ptr_array_new_with_free_func(gateway_free_void);
    s->vss = g_ptr_array_new_with_free_func(vs_free_void);
    s->drs = g_ptr_array_new_with_free_func(dr_free_void);
    s->listeners = g_ptr_array_new_with_free_func(gateway__listener_free);
    s->route_configs =
        g_ptr_array_new_with_free_func(gateway__route_config_free);
    s->routes = g_ptr_array_new_with_free_func(gateway__route_free);
    s->clusters = g_ptr_array_new_with_free_func(gateway__cluster_free);
    s->cluster_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    s->notes = g_ptr_array_new_with_free_func(g_free);
    return s;
}

GatewaySnapshot *gateway_snapshot_ref(GatewaySnapshot *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    s->ref++;
    return s;
}

void gateway_snapshot_unref(GatewaySnapshot *s)
{
    if (s == NULL || --s->ref > 0) {
        return;
    }
    /* Listeners and route configs point at routes and clusters: free them
     * first, then what they borrowed. */
    g_ptr_array_unref(s->listeners);
    g_ptr_array_unref(s->route_configs);
    g_ptr_array_unref(s->routes);
    g_hash_table_unref(s->cluster_by_name);
    g_ptr_array_unref(s->clusters);
    g_ptr_array_unref(s->gateways);
    g_ptr_array_unref(s->vss);
    g_ptr_array_unref(s->drs);
    g_ptr_array_unref(s->all_gateways);
    g_ptr_array_unref(s->notes);
    gateway__decision_memo_free(s->decisions);
    g_free(s->pod_ref);
    g_free(s);
}

const GPtrArray *gateway_clusters(const GatewaySnapshot *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    return s->clusters;
}

const GatewayCluster *gateway_find_cluster(const GatewaySnapshot *s,
                                           const char *name)
{
    g_return_val_if_fail(s != NULL && name != NULL, NULL);
    return g_hash_table_lookup(s->cluster_by_name, name);
}

const GPtrArray *gateway_notes(const GatewaySnapshot *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    return s->notes;
}

const char *gateway_pod_ref(const GatewaySnapshot *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    return s->pod_ref;
}

GPtrArray *gateway_listener_ports(const GatewaySnapshot *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < s->listeners->len; i++) {
        const GwListener *l = g_ptr_array_index(s->listeners, i);
        gboolean dup = FALSE;
        for (guint j = 0; j < out->len; j++) {
            dup = dup || GPOINTER_TO_INT(g_ptr_array_index(out, j)) == l->port;
        }
        if (!dup) {
            g_ptr_array_add(out, GINT_TO_POINTER(l->port));
        }
    }
    return out;
}

static void note(GatewaySnapshot *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void note(GatewaySnapshot *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(s->notes, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* ---- clusters (R8.3, R8.5) --------------------------------------------------
 */

/* The DestinationRule that applies to @fqdn for this gateway: an exact host
 * beats a wildcard, a longer wildcard a shorter one; then the gateway's own
 * namespace, the Service's namespace, others; then creation order.
 * Cite: istio pilot/pkg/model/push_context.go, destinationRule(),
 * MostSpecificHostMatch(). */
static const IstioDestinationRule *
dr_for_host(const GatewaySnapshot *s, const char *fqdn, const char *svc_ns)
{
    const IstioDestinationRule *best = NULL;
    gint best_score = G_MININT;
    for (guint i = 0; i < s->drs->len; i++) {
        const IstioDestinationRule *dr = g_ptr_array_index(s->drs, i);
        if (!istio_exported_to(dr->export_to, dr->meta->ns, s->pod->meta.ns)) {
            continue;
        }
        if (!host_subset_of(fqdn, dr->host)) {
            continue;
        }
        gint score = strcmp(fqdn, dr->host) == 0 ? 1000000 : 0;
        score += (gint)strlen(dr->host) * 10;
        if (strcmp(dr->meta->ns, s->pod->meta.ns) == 0) {
            score += 2;
        } else if (strcmp(dr->meta->ns, svc_ns) == 0) {
            score += 1;
        }
        if (score > best_score) {
            best = dr;
            best_score = score;
        }
    }
    return best;
}

static guint32 limit_or(gint64 v, guint32 dflt)
{
    return v >= 0 ? (guint32)MIN(v, (gint64)G_MAXUINT32) : dflt;
}

/* Applies @p (top level, then @sub overriding) to @gc.
 * Cite: istio pilot/pkg/networking/core/cluster_traffic_policy.go,
 * applyTrafficPolicy(), applyConnectionPool(), applyOutlierDetection(),
 * applyLoadBalancer(); networking/util MergeTrafficPolicy(). */
static void apply_policy(GatewayCluster *gc, const IstioTrafficPolicy *p)
{
    if (p == NULL || !p->set) {
        return;
    }
    switch (p->lb) {
    case ISTIO_LB_UNSET:
        break;
    case ISTIO_LB_LEAST_REQUEST:
        gc->lb = GATEWAY_LB_LEAST_REQUEST;
        break;
    case ISTIO_LB_ROUND_ROBIN:
        gc->lb = GATEWAY_LB_ROUND_ROBIN;
        break;
    case ISTIO_LB_RANDOM:
        gc->lb = GATEWAY_LB_RANDOM;
        break;
    case ISTIO_LB_PASSTHROUGH:
        gc->lb = GATEWAY_LB_PASSTHROUGH;
        break;
    case ISTIO_LB_CONSISTENT_HASH:
        gc->lb = GATEWAY_LB_RING_HASH;
        gc->hash = (GatewayHashKind)p->hash;
        gc->hash_key = p->hash_key;
        break;
    }
    if (p->connect_timeout >= 0) {
        gc->connect_timeout = p->connect_timeout;
    }
    gc->max_connections = limit_or(p->max_connections, gc->max_connections);
    gc->max_pending_requests =
        limit_or(p->http1_max_pending, gc->max_pending_requests);
    gc->max_requests = limit_or(p->http2_max_requests, gc->max_requests);
    gc->max_retries = limit_or(p->max_retries, gc->max_retries);
    gc->max_requests_per_connection =
        limit_or(p->max_requests_per_conn, gc->max_requests_per_connection);
    if (p->outlier) {
        gc->outlier_detection = TRUE;
        gc->consecutive_5xx = limit_or(p->consecutive_5xx, gc->consecutive_5xx);
        gc->consecutive_gateway_errors =
            limit_or(p->consecutive_gw_errors, gc->consecutive_gateway_errors);
        if (p->outlier_interval >= 0) {
            gc->outlier_interval = p->outlier_interval;
        }
        if (p->base_ejection >= 0) {
            gc->base_ejection_time = p->base_ejection;
        }
        gc->max_ejection_percent =
            limit_or(p->max_ejection_percent, gc->max_ejection_percent);
        gc->healthy_panic_threshold = limit_or(p->min_health_percent, 0);
    }
}

static GatewayCluster *gw_cluster_new(const K8sService *svc,
                                      const K8sServicePort *sp,
                                      const char *subset)
{
    GatewayCluster *gc = g_new0(GatewayCluster, 1);
    gc->service = svc;
    gc->service_port = sp;
    gc->port = sp->port;
    gc->host = g_strdup(svc->fqdn);
    gc->subset = g_strdup(subset);
    gc->name = intern_take(g_strdup_printf(
        "outbound|%d|%s|%s", sp->port, subset != NULL ? subset : "", svc->fqdn));
    gc->lb = GATEWAY_LB_LEAST_REQUEST;
    gc->connect_timeout = GW_DEFAULT_CONNECT_TIMEOUT;
    gc->max_connections = GW_CB_MAX;
    gc->max_pending_requests = GW_CB_MAX;
    gc->max_requests = GW_CB_MAX;
    gc->max_retries = GW_CB_MAX;
    gc->consecutive_5xx = 5;
    gc->outlier_interval = 10 * SIM_S;
    gc->base_ejection_time = 30 * SIM_S;
    gc->max_ejection_time = 300 * SIM_S;
    gc->max_ejection_percent = 10;
    gc->healthy_panic_threshold = 50;
    return gc;
}

static gint cluster_cmp(gconstpointer a, gconstpointer b)
{
    const GatewayCluster *x = *(const GatewayCluster *const *)a;
    const GatewayCluster *y = *(const GatewayCluster *const *)b;
    return strcmp(x->name, y->name);
}

/* Makes @gc the cluster of the subset with @labels (nullable: none). */
static void set_subset(const GatewaySnapshot *s, GatewayCluster *gc,
                       const KvList *labels)
{
    gc->subset_labels = labels;
    if (labels == NULL) {
        return;
    }
    const GPtrArray *pods = s->cluster->pods;
    gc->subset_pods = g_new0(guint8, pods->len + 1);
    gc->n_subset_pods = pods->len;
    for (guint i = 0; i < pods->len; i++) {
        const K8sPod *pod = g_ptr_array_index(pods, i);
        gc->subset_pods[i] = kv_list_subset(labels, pod->spec.labels);
    }
}

static void add_cluster(GatewaySnapshot *s, GatewayCluster *gc)
{
    if (g_hash_table_contains(s->cluster_by_name, gc->name)) {
        gateway__cluster_free(gc);
        return;
    }
    g_ptr_array_add(s->clusters, gc);
    g_hash_table_insert(s->cluster_by_name, gc->name, gc);
}

/* Every Service port and every DestinationRule subset of it becomes a
 * cluster (PILOT_FILTER_GATEWAY_CLUSTER_CONFIG=false). UDP ports are not
 * proxied. Cite: istio pilot/pkg/networking/core/cluster.go,
 * buildOutboundClusters(). */
static void build_clusters(GatewaySnapshot *s)
{
    const Cluster *c = s->cluster;
    for (guint i = 0; i < c->services->len; i++) {
        const K8sService *svc = g_ptr_array_index(c->services, i);
        const IstioDestinationRule *dr =
            dr_for_host(s, svc->fqdn, svc->meta.ns);
        for (guint j = 0; j < svc->ports->len; j++) {
            const K8sServicePort *sp =
                &g_array_index(svc->ports, K8sServicePort, j);
            if (sp->protocol != NULL && strcmp(sp->protocol, "UDP") == 0) {
                continue;
            }
            GatewayCluster *gc = gw_cluster_new(svc, sp, NULL);
            if (dr != NULL) {
                gc->destination_rule = dr->ref;
                apply_policy(gc, &dr->policy);
            }
            add_cluster(s, gc);
            for (guint k = 0; dr != NULL && k < dr->subsets->len; k++) {
                const IstioSubset *sub = g_ptr_array_index(dr->subsets, k);
                gc = gw_cluster_new(svc, sp, sub->name);
                set_subset(s, gc, sub->labels);
                gc->destination_rule = dr->ref;
                apply_policy(gc, &dr->policy);
                apply_policy(gc, &sub->policy);
                add_cluster(s, gc);
            }
        }
    }
}

static void finish_clusters(GatewaySnapshot *s)
{
    g_ptr_array_sort(s->clusters, cluster_cmp);
    for (guint i = 0; i < s->clusters->len; i++) {
        ((GatewayCluster *)g_ptr_array_index(s->clusters, i))->index = i;
    }
}

/* ---- destinations (R8.1-R8.6) -----------------------------------------------
 */

/* The Service for a destination host: the one in the VS namespace if
 * visible, else any. Cite: istio gateway.go,
 * buildNameToServiceMapForHTTPRoutes(). R8.2. */
static const K8sService *service_for_host(const GatewaySnapshot *s,
                                          const char *host)
{
    return cluster_find_service_fqdn(s->cluster, host);
}

/* Cluster name for @d: port given, else the single Service port, else the
 * gateway server's port. Cite: istio route.go, GetDestinationCluster().
 * R8.3, R8.4. */
static char *destination_cluster_name(const GatewaySnapshot *s,
                                      const IstioDestination *d,
                                      const char *vs_ns,
                                      gint server_port)
{
    g_autofree char *host = istio_resolve_short_name(d->host, vs_ns);
    const K8sService *svc = service_for_host(s, host);
    gint port = server_port;
    if (d->port > 0) {
        port = d->port;
    } else if (d->port_name != NULL && svc != NULL) {
        for (guint i = 0; i < svc->ports->len; i++) {
            const K8sServicePort *sp =
                &g_array_index(svc->ports, K8sServicePort, i);
            if (g_strcmp0(sp->name, d->port_name) == 0) {
                port = sp->port;
            }
        }
    } else if (svc != NULL && svc->ports->len == 1) {
        port = g_array_index(svc->ports, K8sServicePort, 0).port;
    }
    return g_strdup_printf("outbound|%d|%s|%s", port,
                           d->subset != NULL ? d->subset : "", host);
}

/* Weighted destinations: one -> plain cluster (weight ignored); several ->
 * weighted in listed order, zero weights dropped. R8.6. */
static void build_destinations(const GatewaySnapshot *s,
                               GwDestinations *out,
                               const GPtrArray *dests,
                               const char *vs_ns,
                               gint server_port)
{
    out->targets = g_ptr_array_new_with_free_func(target_free);
    out->total_weight = 0;
    for (guint i = 0; i < dests->len; i++) {
        const IstioDestination *d = g_ptr_array_index(dests, i);
        if (dests->len > 1 && d->weight == 0) {
            continue;
        }
        GwTarget *t = g_new0(GwTarget, 1);
        t->name = intern_take(destination_cluster_name(s, d, vs_ns, server_port));
        t->cluster = g_hash_table_lookup(s->cluster_by_name, t->name);
        t->weight = dests->len > 1 ? (guint)d->weight : 0;
        out->total_weight += t->weight;
        g_ptr_array_add(out->targets, t);
    }
}

/* ---- gateways for the pod (R2, R3.1) ----------------------------------------
 */

static gint meta_cmp(gconstpointer a, gconstpointer b)
{
    const IstioGateway *x = *(const IstioGateway *const *)a;
    const IstioGateway *y = *(const IstioGateway *const *)b;
    return k8s_meta_compare_created(x->meta, y->meta);
}

static gint vs_cmp(gconstpointer a, gconstpointer b)
{
    const IstioVirtualService *x = *(const IstioVirtualService *const *)a;
    const IstioVirtualService *y = *(const IstioVirtualService *const *)b;
    return k8s_meta_compare_created(x->meta, y->meta);
}

/* R3.1: a server port equal to a Service port of the gateway pod binds
 * that port's targetPort (first match); otherwise the number as written.
 * Cite: istio pilot/pkg/model/gateway.go, resolvePorts(). */
static gint
resolve_port(const GatewaySnapshot *s, const GPtrArray *svcs, gint number)
{
    for (guint i = 0; i < svcs->len; i++) {
        const K8sService *svc = g_ptr_array_index(svcs, i);
        for (guint j = 0; j < svc->ports->len; j++) {
            const K8sServicePort *sp =
                &g_array_index(svc->ports, K8sServicePort, j);
            if (sp->port != number) {
                continue;
            }
            return k8s_service_port_target(sp, s->pod);
        }
    }
    return number;
}

/* One accepted server on a resolved port. */
typedef struct {
    const IstioServer *server; /* the server */
    const IstioGateway *gw;    /* its Gateway */
    char *route_name;          /* HTTP / HTTPS-terminating: RDS name */
    gboolean tls_server;       /* IsTLSServer: tls block, not HTTP-class */
} MServer;

/* The servers of one (resolved port, bind). */
typedef struct {
    gint port;            /* resolved port */
    char *bind;           /* NULL: 0.0.0.0 */
    GPtrArray *servers;   /* MServer*, accepted order */
    const MServer *plain; /* the plain-text server that opened it */
} MPort;

static void mserver_free(gpointer p)
{
    MServer *m = p;
    g_free(m->route_name);
    g_free(m);
}

static void mport_free(gpointer p)
{
    MPort *m = p;
    g_free(m->bind);
    g_ptr_array_unref(m->servers);
    g_free(m);
}

static gint mport_cmp(gconstpointer a, gconstpointer b)
{
    const MPort *x = *(const MPort *const *)a;
    const MPort *y = *(const MPort *const *)b;
    if (x->port != y->port) {
        return x->port < y->port ? -1 : 1;
    }
    return g_strcmp0(x->bind, y->bind);
}

static gboolean server_is_tls(const IstioServer *sv)
{
    return sv->tls.present && !istio_protocol_is_http(sv->protocol);
}

static gboolean server_is_passthrough(const IstioServer *sv)
{
    return sv->tls.present && (sv->tls.mode == ISTIO_TLS_PASSTHROUGH ||
                               sv->tls.mode == ISTIO_TLS_AUTO_PASSTHROUGH);
}

/* IsHTTPServer: HTTP-class, or HTTPS terminating. */
static gboolean server_is_http(const IstioServer *sv)
{
    return istio_protocol_is_http(sv->protocol) ||
           (sv->protocol == ISTIO_PROTO_HTTPS && sv->tls.present &&
            !server_is_passthrough(sv));
}

/* Cite: istio pilot/pkg/model/gateway.go, gatewayRDSRouteName(). R4.2,
 * R4.3. */
static char *
rds_route_name(const IstioServer *sv, const IstioGateway *gw, gint resolved)
{
    if (istio_protocol_is_http(sv->protocol)) {
        if (sv->bind != NULL) {
            return g_strdup_printf("http.%d.%s", resolved, sv->bind);
        }
        return g_strdup_printf("http.%d", resolved);
    }
    if (server_is_http(sv)) {
        if (sv->bind != NULL) {
            return g_strdup_printf("https.%d.%s.%s.%s.%s", sv->number,
                                   sv->port_name, gw->meta->name, gw->meta->ns,
                                   sv->bind);
        }
        return g_strdup_printf("https.%d.%s.%s.%s", sv->number, sv->port_name,
                               gw->meta->name, gw->meta->ns);
    }
    return NULL;
}

/* canMergeProtocols: Cite: istio pilot/pkg/model/gateway.go. R4.5. */
static gboolean can_merge(IstioProtocol current, IstioProtocol p)
{
    return (istio_protocol_is_http(current) || current == p) &&
           istio_protocol_is_http(p);
}

/* R4.4: the whole server is skipped when one of its hosts is already
 * claimed by a TLS server on the port. Cite: istio model/gateway.go,
 * CheckDuplicates(). */
static gboolean claim_tls_hosts(GHashTable *claimed,
                                const IstioServer *sv,
                                const char **dup_out)
{
    for (guint i = 0; i < sv->hosts->len; i++) {
        const char *h = g_ptr_array_index(sv->hosts, i);
        if (g_hash_table_contains(claimed, h)) {
            *dup_out = h;
            return FALSE;
        }
    }
    for (guint i = 0; i < sv->hosts->len; i++) {
        g_hash_table_add(claimed, g_ptr_array_index(sv->hosts, i));
    }
    return TRUE;
}

static GPtrArray *merge_servers(GatewaySnapshot *s)
{
    GPtrArray *ports = g_ptr_array_new_with_free_func(mport_free);
    g_autoptr(GPtrArray) svcs = cluster_services_for_pod(s->cluster, s->pod);
    if (svcs->len == 0) {
        K8sService *gs = cluster_gateway_service(s->cluster);
        if (gs != NULL) {
            g_ptr_array_add(svcs, gs);
        }
    }
    /* port*65536 keyed sets of claimed TLS hosts (host strings borrowed
     * from the servers); bind is folded in via the MPort. */
    g_autoptr(GHashTable) claimed_by_port =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                              (GDestroyNotify)g_hash_table_unref);
    for (guint gi = 0; gi < s->gateways->len; gi++) {
        const IstioGateway *gw = g_ptr_array_index(s->gateways, gi);
        for (guint si = 0; si < gw->servers->len; si++) {
            const IstioServer *sv = g_ptr_array_index(gw->servers, si);
            gint resolved = resolve_port(s, svcs, sv->number);
            MPort *mp = NULL;
            for (guint i = 0; i < ports->len && mp == NULL; i++) {
                MPort *x = g_ptr_array_index(ports, i);
                if (x->port == resolved && g_strcmp0(x->bind, sv->bind) == 0) {
                    mp = x;
                }
            }
            if (sv->tls.present) {
                GHashTable *claimed = g_hash_table_lookup(
                    claimed_by_port, GINT_TO_POINTER(resolved));
                if (claimed == NULL) {
                    claimed = g_hash_table_new(g_str_hash, g_str_equal);
                    g_hash_table_insert(claimed_by_port,
                                        GINT_TO_POINTER(resolved), claimed);
                }
                const char *dup = NULL;
                if (!claim_tls_hosts(claimed, sv, &dup)) {
                    note(s,
                         "Gateway %s servers[%u] skipped: duplicate host "
                         "'%s' already claimed on port %d by an older "
                         "Gateway (R4.4, IST0145)",
                         gw->ref, sv->index, dup, resolved);
                    continue;
                }
            }
            gboolean tls_server = server_is_tls(sv);
            if (mp == NULL) {
                mp = g_new0(MPort, 1);
                mp->port = resolved;
                mp->bind = g_strdup(sv->bind);
                mp->servers = g_ptr_array_new_with_free_func(mserver_free);
                g_ptr_array_add(ports, mp);
            } else if (mp->plain != NULL) {
                if (!can_merge(mp->plain->server->protocol, sv->protocol)) {
                    note(s,
                         "Gateway %s servers[%u] skipped: port %d protocol "
                         "%s conflicts with %s servers[%u] (%s) (R4.5)",
                         gw->ref, sv->index, resolved, sv->protocol_text,
                         mp->plain->gw->ref, mp->plain->server->index,
                         mp->plain->server->protocol_text);
                    continue;
                }
            } else if (server_is_http(sv) && tls_server) {
                g_autofree char *rn = rds_route_name(sv, gw, resolved);
                gboolean dup = FALSE;
                for (guint i = 0; i < mp->servers->len; i++) {
                    const MServer *o = g_ptr_array_index(mp->servers, i);
                    dup = dup || g_strcmp0(o->route_name, rn) == 0;
                }
                if (dup) {
                    note(s,
                         "Gateway %s servers[%u] skipped: route name %s "
                         "not unique (R4.3)",
                         gw->ref, sv->index, rn);
                    continue;
                }
            }
            MServer *ms = g_new0(MServer, 1);
            ms->server = sv;
            ms->gw = gw;
            ms->tls_server = tls_server;
            ms->route_name = rds_route_name(sv, gw, resolved);
            g_ptr_array_add(mp->servers, ms);
            if (!tls_server && mp->plain == NULL) {
                mp->plain = ms;
            }
        }
    }
    g_ptr_array_sort(ports, mport_cmp);
    return ports;
}

/* ---- VirtualServices for a gateway (R6.1-R6.3) ------------------------------
 */

static gboolean vs_binds(const IstioVirtualService *vs, const char *gw_ref)
{
    for (guint i = 0; i < vs->gateways->len; i++) {
        if (strcmp(g_ptr_array_index(vs->gateways, i), gw_ref) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

/* VSs bound to @gw_ref visible to the pod: exported-to-"." in the pod's
 * namespace, then exported explicitly to it, then public; each group in
 * creation order (s->vss is sorted). Cite: istio push_context.go,
 * VirtualServicesForGateway(), initVirtualServices(). (transfer container) */
static GPtrArray *vss_for_gateway(const GatewaySnapshot *s, const char *gw_ref)
{
    const char *pns = s->pod->meta.ns;
    GPtrArray *out = g_ptr_array_new();
    for (guint group = 0; group < 3; group++) {
        for (guint i = 0; i < s->vss->len; i++) {
            const IstioVirtualService *vs = g_ptr_array_index(s->vss, i);
            if (!vs_binds(vs, gw_ref)) {
                continue;
            }
            const GPtrArray *e = vs->export_to;
            gboolean priv = FALSE;
            gboolean expl = FALSE;
            gboolean pub = e->len == 0;
            for (guint j = 0; j < e->len; j++) {
                const char *x = g_ptr_array_index(e, j);
                pub = pub || strcmp(x, "*") == 0;
                priv = priv ||
                       (strcmp(x, ".") == 0 && strcmp(vs->meta->ns, pns) == 0);
                expl = expl || strcmp(x, pns) == 0;
            }
            gboolean take = group == 0   ? priv
                            : group == 1 ? (!priv && expl)
                                         : (!priv && !expl && pub);
            if (take) {
                g_ptr_array_add(out, (gpointer)vs);
            }
        }
    }
    return out;
}

/* R5.2: server hosts for a VS in namespace @ns: "ns/h" kept (stripped) when
 * ns matches or is "*", plain hosts kept. (transfer full) of char*.
 * Cite: istio pkg/config/host/names.go, NamesForNamespace(). */
static GPtrArray *hosts_for_namespace(const GPtrArray *hosts, const char *ns)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < hosts->len; i++) {
        char *hns = NULL;
        const char *name =
            host_split_namespace(g_ptr_array_index(hosts, i), &hns);
        if (hns == NULL || strcmp(hns, "*") == 0 || strcmp(hns, ns) == 0) {
            g_ptr_array_add(out, g_strdup(name));
        }
        g_free(hns);
    }
    return out;
}

/* ---- HTTP routes (R7, R12, R13)
 * ---------------------------------------------- */

static GRegex *regex_full(const char *re, gboolean caseless)
{
    g_autofree char *anchored = g_strdup_printf("^(?:%s)$", re);
    GRegexCompileFlags f = G_REGEX_OPTIMIZE | (caseless ? G_REGEX_CASELESS : 0);
    GRegex *rx = g_regex_new(anchored, f, 0, NULL);
    g_assert(rx != NULL); /* validated when parsed */
    return rx;
}

static GwMatcher *
matcher_new(const char *name, const IstioStringMatch *m, gboolean invert)
{
    GwMatcher *gm = g_new0(GwMatcher, 1);
    gm->name = g_strdup(name);
    gm->kind = m->kind;
    gm->value = g_strdup(m->value);
    gm->invert = invert;
    if (m->kind == ISTIO_MATCH_REGEX) {
        gm->re = regex_full(m->value, FALSE);
    }
    return gm;
}

static const char *match_kind_name(IstioMatchKind k)
{
    switch (k) {
    case ISTIO_MATCH_EXACT:
        return "exact";
    case ISTIO_MATCH_PREFIX:
        return "prefix";
    case ISTIO_MATCH_REGEX:
        return "regex";
    case ISTIO_MATCH_PRESENT:
        return "present";
    case ISTIO_MATCH_PATH_SEPARATED_PREFIX:
        return "path-separated prefix";
    case ISTIO_MATCH_NONE:
        break;
    }
    return "any";
}

/* Istio retryOn -> Envoy bits and status codes.
 * Cite: istio pilot/pkg/networking/core/route/retry/retry.go,
 * parseRetryOn(). */
static guint parse_retry_on(const char *s, GArray *codes)
{
    static const struct {
        const char *name;
        guint bit;
    } names[] = {
        { "connect-failure", GATEWAY_RETRY_CONNECT_FAILURE },
        { "refused-stream", GATEWAY_RETRY_REFUSED_STREAM },
        { "unavailable", GATEWAY_RETRY_UNAVAILABLE },
        { "cancelled", GATEWAY_RETRY_CANCELLED },
        { "retriable-status-codes", GATEWAY_RETRY_RETRIABLE_STATUS_CODES },
        { "5xx", GATEWAY_RETRY_5XX },
        { "gateway-error", GATEWAY_RETRY_GATEWAY_ERROR },
        { "reset", GATEWAY_RETRY_RESET },
        { "retriable-4xx", GATEWAY_RETRY_RETRIABLE_4XX },
        { "deadline-exceeded", GATEWAY_RETRY_DEADLINE_EXCEEDED },
        { "resource-exhausted", GATEWAY_RETRY_RESOURCE_EXHAUSTED },
        { "internal", GATEWAY_RETRY_INTERNAL },
    };
    guint bits = 0;
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);
    for (guint i = 0; parts[i] != NULL; i++) {
        const char *p = g_strstrip(parts[i]);
        gint64 code = 0;
        if (g_ascii_string_to_signed(p, 10, 100, 599, &code, NULL)) {
            gint c = (gint)code;
            g_array_append_val(codes, c);
            bits |= GATEWAY_RETRY_RETRIABLE_STATUS_CODES;
            continue;
        }
        for (gsize j = 0; j < G_N_ELEMENTS(names); j++) {
            if (strcmp(p, names[j].name) == 0) {
                bits |= names[j].bit;
            }
        }
    }
    return bits;
}

static guint32 percent_to_ppm(double pct)
{
    double v = pct * 10000.0;
    if (v <= 0) {
        return 0;
    }
    return v >= 1e6 ? 1000000u : (guint32)(v + 0.5);
}

static gboolean dests_consistent_hash(const GwDestinations *d)
{
    for (guint i = 0; i < d->targets->len; i++) {
        const GwTarget *t = g_ptr_array_index(d->targets, i);
        if (t->cluster != NULL && t->cluster->lb == GATEWAY_LB_RING_HASH) {
            return TRUE;
        }
    }
    return FALSE;
}

/* One Envoy route from http[i] and match[j] (@m nullable). Returns NULL
 * when a build-time filter drops it (R7.1). Cite: istio route.go,
 * TranslateRoute(), TranslateRouteMatch(), sourceMatchHTTP(). */
static GwRoute *translate_route(GatewaySnapshot *s,
                                const IstioVirtualService *vs,
                                const IstioHttpRoute *hr,
                                const IstioHttpMatch *m,
                                gint match_index,
                                gint server_port,
                                const char *gw_ref)
{
    if (m != NULL && m->port != 0 && m->port != server_port) {
        return NULL;
    }
    if (m != NULL) {
        if (m->gateways != NULL && m->gateways->len > 0) {
            gboolean ok = FALSE;
            for (guint i = 0; i < m->gateways->len; i++) {
                ok = ok ||
                     strcmp(g_ptr_array_index(m->gateways, i), gw_ref) == 0;
            }
            if (!ok) {
                return NULL;
            }
        } else if (!kv_list_subset(m->source_labels, s->pod->spec.labels) ||
                   (m->source_namespace != NULL &&
                    strcmp(m->source_namespace, s->pod->meta.ns) != 0)) {
            return NULL;
        }
    }
    const char *ns = vs->meta->ns;
    GwRoute *r = g_new0(GwRoute, 1);
    r->src = hr;
    r->vs_ref = g_strdup(vs->ref);
    r->http_index = hr->index;
    r->match_index = match_index;
    if (hr->name != NULL || (m != NULL && m->name != NULL)) {
        r->name = g_strdup_printf("%s%s%s", hr->name != NULL ? hr->name : "",
                                  m != NULL && m->name != NULL ? "." : "",
                                  m != NULL && m->name != NULL ? m->name : "");
    }
    if (r->name != NULL) {
        r->display = intern_take(g_strdup(r->name));
    } else if (match_index >= 0 && hr->matches->len > 1) {
        r->display = intern_take(g_strdup_printf(
            "%s http[%u] match[%d]", vs->ref, hr->index, match_index));
    } else {
        r->display = intern_take(
            g_strdup_printf("%s http[%u]", vs->ref, hr->index));
    }

    /* Path (R7.4). */
    const IstioStringMatch *uri = m != NULL ? &m->uri : NULL;
    IstioMatchKind uk = uri != NULL ? uri->kind : ISTIO_MATCH_NONE;
    switch (uk) {
    case ISTIO_MATCH_EXACT:
        r->path_kind = GW_PATH_EXACT;
        r->path = g_strdup(uri->value);
        break;
    case ISTIO_MATCH_REGEX:
        r->path_kind = GW_PATH_REGEX;
        r->path = g_strdup(uri->value);
        r->path_re = regex_full(uri->value, FALSE);
        break;
    case ISTIO_MATCH_PREFIX:
        r->path_kind = GW_PATH_PREFIX;
        r->path = g_strdup(uri->value);
        break;
    case ISTIO_MATCH_PATH_SEPARATED_PREFIX:
        /* Cite: istio route.go, translateRouteMatch() with ingress
         * semantics: prefix "/" stays a prefix, else trailing '/'
         * trimmed into path_separated_prefix. */
        if (strcmp(uri->value, "/") == 0 || uri->value[0] == '\0') {
            r->path_kind = GW_PATH_PREFIX;
            r->path = g_strdup("/");
        } else {
            r->path_kind = GW_PATH_SEPARATED_PREFIX;
            r->path = g_strdup(uri->value);
            gsize l = strlen(r->path);
            while (l > 1 && r->path[l - 1] == '/') {
                r->path[--l] = '\0';
            }
        }
        break;
    default:
        r->path_kind = GW_PATH_PREFIX;
        r->path = g_strdup("/");
        break;
    }
    r->path_len = strlen(r->path);
    r->ignore_case = m != NULL && m->ignore_uri_case;
    r->match_text = g_strdup_printf("%s %s",
                                    r->path_kind == GW_PATH_EXACT   ? "exact"
                                    : r->path_kind == GW_PATH_REGEX ? "regex"
                                    : r->path_kind == GW_PATH_PREFIX
                                        ? "prefix"
                                        : "path-separated prefix",
                                    r->path);

    /* Headers and pseudo-headers (R7.4). */
    if (m != NULL) {
        r->headers = g_ptr_array_new_with_free_func(matcher_free);
        if (m->method.kind != ISTIO_MATCH_NONE) {
            g_ptr_array_add(r->headers,
                            matcher_new(":method", &m->method, FALSE));
        }
        if (m->authority.kind != ISTIO_MATCH_NONE) {
            g_ptr_array_add(r->headers,
                            matcher_new(":authority", &m->authority, FALSE));
        }
        if (m->scheme.kind != ISTIO_MATCH_NONE) {
            g_ptr_array_add(r->headers,
                            matcher_new(":scheme", &m->scheme, FALSE));
        }
        for (guint i = 0; m->headers != NULL && i < m->headers->len; i++) {
            const IstioKeyMatch *k = g_ptr_array_index(m->headers, i);
            if (g_str_has_prefix(k->name, "@request.auth.claims")) {
                continue; /* JWT metadata matchers: not modelled */
            }
            g_ptr_array_add(r->headers, matcher_new(k->name, &k->m, FALSE));
        }
        for (guint i = 0;
             m->without_headers != NULL && i < m->without_headers->len; i++) {
            const IstioKeyMatch *k = g_ptr_array_index(m->without_headers, i);
            g_ptr_array_add(r->headers, matcher_new(k->name, &k->m, TRUE));
        }
        if (m->query_params != NULL && m->query_params->len > 0) {
            r->query = g_ptr_array_new_with_free_func(matcher_free);
            for (guint i = 0; i < m->query_params->len; i++) {
                const IstioKeyMatch *k = g_ptr_array_index(m->query_params, i);
                g_ptr_array_add(r->query, matcher_new(k->name, &k->m, FALSE));
            }
        }
        if (r->headers->len == 0) {
            g_clear_pointer(&r->headers, g_ptr_array_unref);
        }
        for (guint i = 0; r->headers != NULL && i < r->headers->len; i++) {
            const GwMatcher *gm = g_ptr_array_index(r->headers, i);
            g_autofree char *old = r->match_text;
            r->match_text = g_strdup_printf(
                "%s, %s%s %s%s%s", old, gm->invert ? "without " : "", gm->name,
                match_kind_name(gm->kind), gm->value != NULL ? " " : "",
                gm->value != NULL ? gm->value : "");
        }
    }
    /* Cite: istio route.go, isCatchAllRoute(). R7.2. */
    gboolean catch_path =
        (r->path_kind == GW_PATH_PREFIX && strcmp(r->path, "/") == 0) ||
        (r->path_kind == GW_PATH_REGEX &&
         (strcmp(r->path, "*") == 0 || strcmp(r->path, ".*") == 0));
    r->catch_all = catch_path && r->headers == NULL && r->query == NULL;

    /* Action (R12). */
    if (hr->has_redirect) {
        r->action = GW_ACTION_REDIRECT;
        r->redirect_path = g_strdup(hr->redirect_uri);
        r->redirect_host = g_strdup(hr->redirect_authority);
        r->redirect_scheme = g_strdup(hr->redirect_scheme);
        r->redirect_port = hr->redirect_port;
        r->redirect_derive_port = hr->redirect_derive_port;
        r->redirect_code = hr->redirect_code;
    } else if (hr->has_direct) {
        r->action = GW_ACTION_DIRECT;
        r->direct_status = hr->direct_status;
        r->direct_body = g_strdup(hr->direct_body);
    } else {
        r->action = GW_ACTION_ROUTE;
        build_destinations(s, &r->dests, hr->route, ns, server_port);
    }
    r->prefix_rewrite = g_strdup(hr->rewrite_uri);
    if (hr->rewrite_regex != NULL) {
        g_autofree char *sub = NULL;
        r->regex_rewrite =
            g_regex_new(hr->rewrite_regex, G_REGEX_OPTIMIZE, 0, NULL);
        g_assert(r->regex_rewrite != NULL);
        r->regex_sub = g_strdup(
            hr->rewrite_regex_sub != NULL ? hr->rewrite_regex_sub : "");
    }
    r->host_rewrite = g_strdup(hr->rewrite_authority);
    const char *set_auth = kv_list_get(hr->req_headers.set, ":authority");
    if (set_auth == NULL) {
        set_auth = kv_list_get(hr->req_headers.set, "host");
    }
    if (set_auth != NULL && r->host_rewrite == NULL) {
        r->host_rewrite = g_strdup(set_auth);
    }
    r->timeout = hr->has_timeout ? hr->timeout : 0;

    /* Retries (R13). Cite: istio retry.go, ConvertPolicy(). */
    r->retry_codes = g_array_new(FALSE, FALSE, sizeof(gint));
    if (!hr->retries.present || hr->retries.attempts > 0) {
        r->has_retry = TRUE;
        r->retry.num_retries =
            hr->retries.present ? (guint32)hr->retries.attempts : 2;
        r->retry.retry_on =
            GATEWAY_RETRY_CONNECT_FAILURE | GATEWAY_RETRY_REFUSED_STREAM |
            GATEWAY_RETRY_UNAVAILABLE | GATEWAY_RETRY_CANCELLED |
            GATEWAY_RETRY_RETRIABLE_STATUS_CODES;
        if (hr->retries.present && hr->retries.retry_on != NULL) {
            r->retry.retry_on =
                parse_retry_on(hr->retries.retry_on, r->retry_codes);
        }
        if (hr->retries.present) {
            r->retry.per_try_timeout = hr->retries.per_try_timeout;
        }
        r->retry.retriable_status_codes = (const gint *)r->retry_codes->data;
        r->retry.n_retriable_status_codes = r->retry_codes->len;
        r->retry.previous_hosts =
            r->action != GW_ACTION_ROUTE || !dests_consistent_hash(&r->dests);
        r->retry.host_selection_max_attempts = 5;
    }
    /* Fault (R12). */
    if (hr->fault.delay) {
        r->fault_delay = TRUE;
        r->delay = hr->fault.fixed_delay;
        r->delay_ppm = percent_to_ppm(hr->fault.delay_percent);
    }
    if (hr->fault.abort) {
        r->fault_abort = TRUE;
        r->abort_status = hr->fault.abort_status;
        r->abort_ppm = percent_to_ppm(hr->fault.abort_percent);
    }
    /* Mirrors (R12): each is its own cluster, percentage per mirror. */
    r->mirror_ppm = g_array_new(FALSE, FALSE, sizeof(guint32));
    r->mirrors.targets = g_ptr_array_new_with_free_func(target_free);
    for (guint i = 0; i < hr->mirrors->len; i++) {
        const IstioDestination *d = g_ptr_array_index(hr->mirrors, i);
        GwTarget *t = g_new0(GwTarget, 1);
        t->name = intern_take(destination_cluster_name(s, d, ns, server_port));
        t->cluster = g_hash_table_lookup(s->cluster_by_name, t->name);
        g_ptr_array_add(r->mirrors.targets, t);
        guint32 ppm =
            percent_to_ppm(g_array_index(hr->mirror_percents, double, i));
        g_array_append_val(r->mirror_ppm, ppm);
    }
    g_ptr_array_add(s->routes, r);
    return r;
}

/* All routes of @vs for a server port, with the catch-all truncation.
 * Cite: istio route.go, BuildHTTPRoutesForVirtualService(). R7.1, R7.2.
 * Returns: (transfer container) GwRoute* owned by the snapshot. */
static GPtrArray *build_vs_routes(GatewaySnapshot *s,
                                  const IstioVirtualService *vs,
                                  gint server_port,
                                  const char *gw_ref)
{
    GPtrArray *out = g_ptr_array_new();
    gboolean catch_all = FALSE;
    for (guint i = 0; i < vs->http->len && !catch_all; i++) {
        const IstioHttpRoute *hr = g_ptr_array_index(vs->http, i);
        if (hr->matches->len == 0) {
            GwRoute *r =
                translate_route(s, vs, hr, NULL, -1, server_port, gw_ref);
            if (r != NULL) {
                g_ptr_array_add(out, r);
            }
            catch_all = TRUE;
            continue;
        }
        for (guint j = 0; j < hr->matches->len; j++) {
            GwRoute *r =
                translate_route(s, vs, hr, g_ptr_array_index(hr->matches, j),
                                (gint)j, server_port, gw_ref);
            if (r != NULL) {
                g_ptr_array_add(out, r);
                if (r->catch_all) {
                    catch_all = TRUE;
                    break;
                }
            }
        }
    }
    return out;
}

/* ---- route configs (R6.4)
 * ---------------------------------------------------- */

static GwVirtualHost *
vhost_new(const char *domain, gint port, const char *server_ref)
{
    GwVirtualHost *v = g_new0(GwVirtualHost, 1);
    v->name = g_strdup_printf("%s:%d", domain, port);
    v->domains = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(v->domains, g_strdup(domain));
    v->routes = g_ptr_array_new();
    v->server_ref = g_strdup(server_ref);
    return v;
}

static char *server_ref(const IstioGateway *gw, const IstioServer *sv)
{
    return g_strdup_printf("%s servers[%u]", gw->ref, sv->index);
}

/* Cite: istio route.go, SortVHostRoutes(): catch-alls after the rest,
 * stable. R7.3. */
static void sort_catch_all_last(GPtrArray *routes)
{
    g_autoptr(GPtrArray) tail = g_ptr_array_new();
    guint w = 0;
    for (guint i = 0; i < routes->len; i++) {
        GwRoute *r = g_ptr_array_index(routes, i);
        if (r->catch_all) {
            g_ptr_array_add(tail, r);
        } else {
            routes->pdata[w++] = r;
        }
    }
    for (guint i = 0; i < tail->len; i++) {
        routes->pdata[w++] = g_ptr_array_index(tail, i);
    }
}

static gboolean same_routes(const GwVirtualHost *a, const GwVirtualHost *b)
{
    if (a->routes->len != b->routes->len || a->require_tls != b->require_tls) {
        return FALSE;
    }
    for (guint i = 0; i < a->routes->len; i++) {
        if (g_ptr_array_index(a->routes, i) !=
            g_ptr_array_index(b->routes, i)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* Cite: istio gateway.go, collapseDuplicateRoutes() (route collapse
 * optimization, on by default): virtual hosts with identical routes become
 * one, domains concatenated, named after the first host alphabetically. */
static void collapse_vhosts(GPtrArray *vhosts)
{
    for (guint i = 0; i < vhosts->len; i++) {
        GwVirtualHost *a = g_ptr_array_index(vhosts, i);
        if (a->routes->len == 0) {
            continue;
        }
        for (guint j = i + 1; j < vhosts->len;) {
            GwVirtualHost *b = g_ptr_array_index(vhosts, j);
            if (!same_routes(a, b)) {
                j++;
                continue;
            }
            for (guint k = 0; k < b->domains->len; k++) {
                g_ptr_array_add(a->domains,
                                g_strdup(g_ptr_array_index(b->domains, k)));
            }
            if (strcmp(b->name, a->name) < 0) {
                g_free(a->name);
                a->name = g_strdup(b->name);
            }
            g_ptr_array_remove_index(vhosts, j);
        }
    }
}

static GwRouteConfig *build_route_config(GatewaySnapshot *s,
                                         const char *name,
                                         const GPtrArray *servers,
                                         gint resolved)
{
    GwRouteConfig *rc = g_new0(GwRouteConfig, 1);
    rc->name = g_strdup(name);
    rc->vhosts = g_ptr_array_new_with_free_func(vhost_free);
    g_autoptr(GHashTable) dedup = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint si = 0; si < servers->len; si++) {
        const MServer *ms = g_ptr_array_index(servers, si);
        const IstioServer *sv = ms->server;
        g_autofree char *sref = server_ref(ms->gw, sv);
        g_autoptr(GPtrArray) vss = vss_for_gateway(s, ms->gw->ref);
        for (guint vi = 0; vi < vss->len; vi++) {
            const IstioVirtualService *vs = g_ptr_array_index(vss, vi);
            g_autoptr(GPtrArray) shosts =
                hosts_for_namespace(sv->hosts, vs->meta->ns);
            g_autoptr(GPtrArray) inter = host_intersection(shosts, vs->hosts);
            if (inter->len == 0) {
                continue; /* IST0132, silently */
            }
            g_autoptr(GPtrArray) routes =
                build_vs_routes(s, vs, sv->number, ms->gw->ref);
            if (routes->len == 0) {
                continue;
            }
            for (guint di = 0; di < inter->len; di++) {
                g_autofree char *dom =
                    g_ascii_strdown(g_ptr_array_index(inter, di), -1);
                GwVirtualHost *v = g_hash_table_lookup(dedup, dom);
                if (v == NULL) {
                    v = vhost_new(dom, sv->number, sref);
                    g_ptr_array_add(rc->vhosts, v);
                    g_hash_table_insert(dedup, g_ptr_array_index(v->domains, 0),
                                        v);
                }
                for (guint ri = 0; ri < routes->len; ri++) {
                    g_ptr_array_add(v->routes, g_ptr_array_index(routes, ri));
                }
                if (sv->tls.https_redirect) {
                    v->require_tls = TRUE;
                }
            }
        }
        if (sv->tls.https_redirect) {
            for (guint hi = 0; hi < sv->hosts->len; hi++) {
                char *hns = NULL;
                const char *h = host_split_namespace(
                    g_ptr_array_index(sv->hosts, hi), &hns);
                g_free(hns);
                g_autofree char *dom = g_ascii_strdown(h, -1);
                GwVirtualHost *v = g_hash_table_lookup(dedup, dom);
                if (v == NULL) {
                    v = vhost_new(dom, sv->number, sref);
                    g_ptr_array_add(rc->vhosts, v);
                    g_hash_table_insert(dedup, g_ptr_array_index(v->domains, 0),
                                        v);
                }
                v->require_tls = TRUE;
            }
        }
    }
    if (rc->vhosts->len == 0) {
        gint bport = servers->len > 0
                         ? ((const MServer *)g_ptr_array_index(servers, 0))
                               ->server->number
                         : resolved;
        g_autofree char *bname = g_strdup_printf("blackhole:%d", bport);
        GwVirtualHost *v = g_new0(GwVirtualHost, 1);
        v->name = g_steal_pointer(&bname);
        v->domains = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(v->domains, g_strdup("*"));
        v->routes = g_ptr_array_new();
        if (servers->len > 0) {
            const MServer *ms = g_ptr_array_index(servers, 0);
            v->server_ref = server_ref(ms->gw, ms->server);
        }
        g_ptr_array_add(rc->vhosts, v);
    } else {
        for (guint i = 0; i < rc->vhosts->len; i++) {
            sort_catch_all_last(
                ((GwVirtualHost *)g_ptr_array_index(rc->vhosts, i))->routes);
        }
        collapse_vhosts(rc->vhosts);
    }
    rc->table = host_domain_table_new();
    for (guint i = 0; i < rc->vhosts->len; i++) {
        GwVirtualHost *v = g_ptr_array_index(rc->vhosts, i);
        for (guint j = 0; j < v->domains->len; j++) {
            host_domain_table_add(rc->table, g_ptr_array_index(v->domains, j),
                                  v);
        }
    }
    host_domain_table_finish(rc->table);
    g_ptr_array_add(s->route_configs, rc);
    return rc;
}

/* ---- certificates (R11, R16)
 * --------------------------------------------------- */

static const char *
secret_get2(const K8sSecret *sec, const char *a, const char *b)
{
    const char *v = kv_list_get(sec->data, a);
    return v != NULL ? v : kv_list_get(sec->data, b);
}

/* Loads the served chain (and key check) into @ch; on any problem sets
 * ch->cert_problem instead, which makes handshakes fail. */
static void load_server_cert(GwFilterChain *ch,
                             const char *what,
                             const char *crt,
                             const char *key)
{
    if (crt == NULL || key == NULL) {
        ch->cert_problem = g_strdup_printf("%s has no %s", what,
                                           crt == NULL ? "tls.crt (or cert)"
                                                       : "tls.key (or key)");
        return;
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *label = g_strdup_printf("%s tls.crt", what);
    TlsCert *cert = tls_cert_parse(crt, strlen(crt), label, &err);
    if (cert == NULL) {
        ch->cert_problem = g_strdup(err->message);
        return;
    }
    if (!tls_key_matches_cert(key, strlen(key), cert, &err)) {
        ch->cert_problem = g_strdup_printf("%s: %s", what, err->message);
        tls_cert_free(cert);
        return;
    }
    ch->server_cert = cert;
}

static void load_ca(GwFilterChain *ch, const char *what, const char *pem)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *label = g_strdup_printf("%s ca.crt", what);
    ch->ca = tls_cert_parse(pem, strlen(pem), label, &err);
    if (ch->ca == NULL && ch->cert_problem == NULL) {
        ch->cert_problem = g_strdup(err->message);
    }
}

/* A file path of serverCertificate/privateKey/caCertificates: find the
 * pod's volume mount whose mountPath is the file's directory, its Secret
 * volume, and the key named by the file's basename. */
static const char *
file_from_mount(const GatewaySnapshot *s, const char *path, char **where_out)
{
    const K8sPodSpec *ps = &s->pod->spec;
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    for (guint i = 0; ps->containers != NULL && i < ps->containers->len; i++) {
        const K8sContainer *ct = g_ptr_array_index(ps->containers, i);
        for (guint j = 0; ct->mounts != NULL && j < ct->mounts->len; j++) {
            const K8sVolumeMount *vm =
                &g_array_index(ct->mounts, K8sVolumeMount, j);
            g_autofree char *mp = g_strdup(vm->mount_path);
            gsize l = strlen(mp);
            while (l > 1 && mp[l - 1] == '/') {
                mp[--l] = '\0';
            }
            if (strcmp(mp, dir) != 0) {
                continue;
            }
            for (guint k = 0; ps->volumes != NULL && k < ps->volumes->len;
                 k++) {
                const K8sVolume *v = &g_array_index(ps->volumes, K8sVolume, k);
                if (strcmp(v->name, vm->name) != 0 || v->secret_name == NULL) {
                    continue;
                }
                const K8sSecret *sec = cluster_find_secret(
                    s->cluster, s->pod->meta.ns, v->secret_name);
                *where_out =
                    g_strdup_printf("%s/%s", s->pod->meta.ns, v->secret_name);
                if (sec == NULL) {
                    return NULL;
                }
                return kv_list_get(sec->data, base);
            }
        }
    }
    *where_out = NULL;
    return NULL;
}

static void
load_chain_certs(GatewaySnapshot *s, GwFilterChain *ch, const IstioServer *sv)
{
    const IstioServerTls *t = &sv->tls;
    gboolean want_ca =
        t->mode == ISTIO_TLS_MUTUAL || t->mode == ISTIO_TLS_OPTIONAL_MUTUAL;
    if (t->mode == ISTIO_TLS_ISTIO_MUTUAL) {
        ch->certificate = g_strdup("istio workload certificate (SDS default)");
        ch->cert_problem = g_strdup(
            "ISTIO_MUTUAL requires a client certificate from the mesh CA");
        return;
    }
    if (t->credential_name != NULL) {
        /* Cite: istio pilot/pkg/model/credentials (SDS "kubernetes://"
         * resources): the Secret lives in the gateway pod's namespace; a
         * generic Secret may carry ca.crt, else "<name>-cacert". R11. */
        const char *ns = s->pod->meta.ns;
        ch->certificate = g_strdup_printf("%s/%s", ns, t->credential_name);
        const K8sSecret *sec =
            cluster_find_secret(s->cluster, ns, t->credential_name);
        g_autofree char *what = g_strdup_printf("secret %s", ch->certificate);
        if (sec == NULL) {
            ch->cert_problem = g_strdup_printf(
                "Secret %s not found: istiod pushes no certificate, the "
                "handshake fails (R16, IST0161)",
                ch->certificate);
            return;
        }
        load_server_cert(ch, what, secret_get2(sec, "tls.crt", "cert"),
                         secret_get2(sec, "tls.key", "key"));
        if (want_ca) {
            const char *ca = secret_get2(sec, "ca.crt", "cacert");
            g_autofree char *caname =
                g_strdup_printf("%s-cacert", t->credential_name);
            const K8sSecret *cas =
                ca == NULL ? cluster_find_secret(s->cluster, ns, caname) : NULL;
            if (cas != NULL) {
                ca = secret_get2(cas, "ca.crt", "cacert");
            }
            if (ca == NULL) {
                if (ch->cert_problem == NULL) {
                    ch->cert_problem = g_strdup_printf(
                        "%s mode needs a CA: no ca.crt in %s nor Secret "
                        "%s/%s",
                        istio_tls_mode_name(t->mode), ch->certificate, ns,
                        caname);
                }
                return;
            }
            load_ca(ch, what, ca);
        }
        return;
    }
    /* File certificates mounted from Secrets (the article's setup). */
    g_autofree char *src = NULL;
    g_autofree char *ksrc = NULL;
    const char *crt = file_from_mount(s, t->server_certificate, &src);
    const char *key = file_from_mount(s, t->private_key, &ksrc);
    ch->certificate = g_strdup(src != NULL ? src : t->server_certificate);
    if (crt == NULL || key == NULL) {
        ch->cert_problem = g_strdup_printf(
            "%s is not readable in the gateway pod (no volume mount of a "
            "Secret with key %s)",
            crt == NULL ? t->server_certificate : t->private_key,
            crt == NULL ? t->server_certificate : t->private_key);
        return;
    }
    load_server_cert(ch, ch->certificate, crt, key);
    if (want_ca && t->ca_certificates != NULL) {
        g_autofree char *csrc = NULL;
        const char *ca = file_from_mount(s, t->ca_certificates, &csrc);
        if (ca == NULL) {
            if (ch->cert_problem == NULL) {
                ch->cert_problem =
                    g_strdup_printf("%s is not readable in the gateway pod",
                                    t->ca_certificates);
            }
            return;
        }
        load_ca(ch, ch->certificate, ca);
    }
}

/* ---- filter chains (R9.4, R10)
 * ------------------------------------------------ */

static gint str_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* GetSNIHostsForServer: hosts without namespace, sorted, unique; none at
 * all when one is "*". Cite: istio model/gateway.go, GetSNIHostsForServer();
 * listener.go, buildGatewayListener(). R9.4. */
static char **sni_hosts_for_server(const IstioServer *sv)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < sv->hosts->len; i++) {
        char *hns = NULL;
        const char *h =
            host_split_namespace(g_ptr_array_index(sv->hosts, i), &hns);
        g_free(hns);
        if (strcmp(h, "*") == 0) {
            return NULL;
        }
        gboolean dup = FALSE;
        for (guint j = 0; j < names->len; j++) {
            dup = dup || strcmp(g_ptr_array_index(names, j), h) == 0;
        }
        if (!dup) {
            g_ptr_array_add(names, g_strdup(h));
        }
    }
    g_ptr_array_sort(names, str_cmp);
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static GwFilterChain *chain_new(GwChainKind kind, const MServer *ms)
{
    GwFilterChain *ch = g_new0(GwFilterChain, 1);
    ch->kind = kind;
    ch->server = ms->server;
    ch->server_ref = server_ref(ms->gw, ms->server);
    ch->mode = ms->server->tls.mode;
    return ch;
}

/* pickMatchingGatewayHosts: does some server host (namespace-filtered)
 * match (symmetric) some VS host? Cite: istio gateway.go. R5.2, R10.1. */
static gboolean vs_matches_server(const IstioVirtualService *vs,
                                  const IstioServer *sv)
{
    g_autoptr(GPtrArray) shosts = hosts_for_namespace(sv->hosts, vs->meta->ns);
    for (guint i = 0; i < shosts->len; i++) {
        for (guint j = 0; j < vs->hosts->len; j++) {
            if (host_matches(g_ptr_array_index(shosts, i),
                             g_ptr_array_index(vs->hosts, j))) {
                return TRUE;
            }
        }
    }
    return FALSE;
}

/* l4SingleMatch: port (== server port) and gateways. */
static gboolean
l4_match(const IstioL4Match *m, const IstioServer *sv, const char *gw_ref)
{
    if (m->port != 0 && m->port != sv->number) {
        return FALSE;
    }
    if (m->gateways != NULL && m->gateways->len > 0) {
        for (guint i = 0; i < m->gateways->len; i++) {
            if (strcmp(g_ptr_array_index(m->gateways, i), gw_ref) == 0) {
                return TRUE;
            }
        }
        return FALSE;
    }
    return TRUE;
}

/* R10.1: the first VS (and its first matching tcp route) wins the server.
 * Cite: istio gateway.go, buildGatewayNetworkFiltersFromTCPRoutes(). */
static gboolean
tcp_chain_routes(GatewaySnapshot *s, GwFilterChain *ch, const MServer *ms)
{
    g_autoptr(GPtrArray) vss = vss_for_gateway(s, ms->gw->ref);
    for (guint i = 0; i < vss->len; i++) {
        const IstioVirtualService *vs = g_ptr_array_index(vss, i);
        if (!vs_matches_server(vs, ms->server)) {
            continue;
        }
        for (guint j = 0; j < vs->tcp->len; j++) {
            const IstioL4Route *r = g_ptr_array_index(vs->tcp, j);
            gboolean ok = r->matches->len == 0;
            for (guint k = 0; k < r->matches->len && !ok; k++) {
                ok = l4_match(g_ptr_array_index(r->matches, k), ms->server,
                              ms->gw->ref);
            }
            if (ok) {
                build_destinations(s, &ch->tcp, r->route, vs->meta->ns,
                                   ms->server->number);
                ch->tcp_source = intern_take(
                    g_strdup_printf("%s tcp[%u]", vs->ref, r->index));
                return TRUE;
            }
        }
    }
    return FALSE;
}

/* R10.2: one chain per matching tls route match entry, server_names =
 * sniHosts; a repeated SNI host on the listener is skipped.
 * Cite: istio gateway.go, buildGatewayNetworkFiltersFromTLSRoutes(). */
static void passthrough_chains(GatewaySnapshot *s,
                               GPtrArray *chains,
                               GHashTable *used_sni,
                               const MServer *ms)
{
    g_autoptr(GPtrArray) vss = vss_for_gateway(s, ms->gw->ref);
    for (guint i = 0; i < vss->len; i++) {
        const IstioVirtualService *vs = g_ptr_array_index(vss, i);
        if (!vs_matches_server(vs, ms->server)) {
            continue;
        }
        for (guint j = 0; j < vs->tls->len; j++) {
            const IstioL4Route *r = g_ptr_array_index(vs->tls, j);
            for (guint k = 0; k < r->matches->len; k++) {
                const IstioL4Match *m = g_ptr_array_index(r->matches, k);
                if (!l4_match(m, ms->server, ms->gw->ref)) {
                    continue;
                }
                const char *dup = NULL;
                for (guint h = 0; h < m->sni_hosts->len && dup == NULL; h++) {
                    if (g_hash_table_contains(
                            used_sni, g_ptr_array_index(m->sni_hosts, h))) {
                        dup = g_ptr_array_index(m->sni_hosts, h);
                    }
                }
                if (dup != NULL) {
                    note(s,
                         "VirtualService %s tls[%u] match[%u] skipped: SNI "
                         "host %s already used on this port (R10.2)",
                         vs->ref, r->index, k, dup);
                    continue;
                }
                GwFilterChain *ch = chain_new(GW_CHAIN_PASSTHROUGH, ms);
                GPtrArray *names = g_ptr_array_new();
                for (guint h = 0; h < m->sni_hosts->len; h++) {
                    const char *n = g_ptr_array_index(m->sni_hosts, h);
                    g_hash_table_add(used_sni, (gpointer)n);
                    g_ptr_array_add(names, g_strdup(n));
                }
                g_ptr_array_add(names, NULL);
                ch->server_names = (char **)g_ptr_array_free(names, FALSE);
                build_destinations(s, &ch->tcp, r->route, vs->meta->ns,
                                   ms->server->number);
                ch->tcp_source = intern_take(g_strdup_printf(
                    "%s tls[%u] match[%u]", vs->ref, r->index, k));
                g_ptr_array_add(chains, ch);
            }
        }
    }
}

/* R10.3: one chain per (Service, port[, subset]) covered by a server host;
 * the tcp_proxy goes to the SNI-DNAT cluster of the same name.
 * Cite: istio gateway.go, builtAutoPassthroughFilterChains(); cluster.go,
 * buildOutboundSniDnatClusters(); model/service.go, BuildDNSSrvSubsetKey(). */
static void auto_passthrough_chains(GatewaySnapshot *s,
                                    GPtrArray *chains,
                                    const MServer *ms)
{
    const Cluster *c = s->cluster;
    for (guint i = 0; i < c->services->len; i++) {
        const K8sService *svc = g_ptr_array_index(c->services, i);
        gboolean covered = FALSE;
        for (guint h = 0; h < ms->server->hosts->len && !covered; h++) {
            char *hns = NULL;
            const char *hn = host_split_namespace(
                g_ptr_array_index(ms->server->hosts, h), &hns);
            covered = (hns == NULL || strcmp(hns, "*") == 0 ||
                       strcmp(hns, svc->meta.ns) == 0) &&
                      host_matches(hn, svc->fqdn);
            g_free(hns);
        }
        if (!covered) {
            continue;
        }
        const IstioDestinationRule *dr =
            dr_for_host(s, svc->fqdn, svc->meta.ns);
        for (guint j = 0; j < svc->ports->len; j++) {
            const K8sServicePort *sp =
                &g_array_index(svc->ports, K8sServicePort, j);
            guint nsub = dr != NULL ? dr->subsets->len : 0;
            for (guint k = 0; k <= nsub; k++) {
                const IstioSubset *sub =
                    k > 0 ? g_ptr_array_index(dr->subsets, k - 1) : NULL;
                GatewayCluster *gc =
                    gw_cluster_new(svc, sp, sub != NULL ? sub->name : NULL);
                gc->name = intern_take(
                    g_strdup_printf("outbound_.%d_.%s_.%s", sp->port,
                                    sub != NULL ? sub->name : "", svc->fqdn));
                gc->sni_dnat = TRUE;
                set_subset(s, gc, sub != NULL ? sub->labels : NULL);
                if (dr != NULL) {
                    gc->destination_rule = dr->ref;
                    apply_policy(gc, &dr->policy);
                    if (sub != NULL) {
                        apply_policy(gc, &sub->policy);
                    }
                }
                GwFilterChain *ch = chain_new(GW_CHAIN_AUTO_PASSTHROUGH, ms);
                ch->server_names = g_new0(char *, 2);
                ch->server_names[0] = g_strdup(gc->name);
                ch->tcp.targets = g_ptr_array_new_with_free_func(target_free);
                GwTarget *t = g_new0(GwTarget, 1);
                t->name = gc->name;
                g_ptr_array_add(ch->tcp.targets, t);
                ch->tcp_source = (char *)g_intern_static_string(
                    "AUTO_PASSTHROUGH (SNI-DNAT)");
                add_cluster(s, gc);
                g_ptr_array_add(chains, ch);
            }
        }
    }
}

static void build_listener(GatewaySnapshot *s, const MPort *mp)
{
    g_autoptr(GPtrArray) chains = g_ptr_array_new_with_free_func(chain_free);
    g_autoptr(GHashTable) used_sni = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) http_servers = g_ptr_array_new();
    GwFilterChain *http_chain = NULL;
    for (guint i = 0; i < mp->servers->len; i++) {
        const MServer *ms = g_ptr_array_index(mp->servers, i);
        const IstioServer *sv = ms->server;
        if (istio_protocol_is_http(sv->protocol)) {
            /* R4.2: all plain HTTP servers share one chain. */
            g_ptr_array_add(http_servers, (gpointer)ms);
            if (http_chain == NULL) {
                http_chain = chain_new(GW_CHAIN_HTTP, ms);
                g_ptr_array_add(chains, http_chain);
            }
            continue;
        }
        if (!sv->tls.present) {
            /* Opaque TCP (TCP, MONGO, MYSQL, REDIS, unsupported). */
            GwFilterChain *ch = chain_new(GW_CHAIN_TCP, ms);
            if (tcp_chain_routes(s, ch, ms)) {
                g_ptr_array_add(chains, ch);
            } else {
                note(s,
                     "Gateway %s servers[%u] (%s %d): no VirtualService tcp "
                     "route matches: no filter chain (R4.6, R10.4)",
                     ms->gw->ref, sv->index, sv->protocol_text, sv->number);
                chain_free(ch);
            }
            continue;
        }
        if (sv->tls.mode == ISTIO_TLS_PASSTHROUGH) {
            guint before = chains->len;
            passthrough_chains(s, chains, used_sni, ms);
            if (chains->len == before) {
                note(s,
                     "Gateway %s servers[%u] (PASSTHROUGH %d): no "
                     "VirtualService tls route matches: no filter chain "
                     "(R4.6, R10.2)",
                     ms->gw->ref, sv->index, sv->number);
            }
            continue;
        }
        if (sv->tls.mode == ISTIO_TLS_AUTO_PASSTHROUGH) {
            auto_passthrough_chains(s, chains, ms);
            continue;
        }
        /* Terminating TLS. */
        gboolean https = sv->protocol == ISTIO_PROTO_HTTPS;
        GwFilterChain *ch =
            chain_new(https ? GW_CHAIN_HTTPS : GW_CHAIN_TLS_TCP, ms);
        ch->server_names = sni_hosts_for_server(sv);
        load_chain_certs(s, ch, sv);
        if (https) {
            ch->alpn_h2 = TRUE;
            g_autoptr(GPtrArray) one = g_ptr_array_new();
            g_ptr_array_add(one, (gpointer)ms);
            ch->route_config =
                build_route_config(s, ms->route_name, one, mp->port);
            g_ptr_array_add(chains, ch);
        } else if (tcp_chain_routes(s, ch, ms)) {
            g_ptr_array_add(chains, ch);
        } else {
            note(s,
                 "Gateway %s servers[%u] (%s %d, TLS %s): no VirtualService "
                 "tcp route matches: no filter chain (R4.6, R10.1)",
                 ms->gw->ref, sv->index, sv->protocol_text, sv->number,
                 istio_tls_mode_name(sv->tls.mode));
            chain_free(ch);
        }
    }
    if (http_chain != NULL) {
        const MServer *first = g_ptr_array_index(http_servers, 0);
        http_chain->route_config =
            build_route_config(s, first->route_name, http_servers, mp->port);
    }
    g_autofree char *lname = g_strdup_printf(
        "%s_%d", mp->bind != NULL ? mp->bind : "0.0.0.0", mp->port);
    if (chains->len == 0) {
        note(s, "listener %s omitted: it has no filter chain (R4.6)", lname);
        return;
    }
    GwListener *l = g_new0(GwListener, 1);
    l->name = g_steal_pointer(&lname);
    l->bind = g_strdup(mp->bind != NULL ? mp->bind : "0.0.0.0");
    l->any_addr = strcmp(l->bind, "0.0.0.0") == 0;
    l->port = mp->port;
    l->chains = g_steal_pointer(&chains);
    l->sni = host_sni_table_new();
    for (guint i = 0; i < l->chains->len; i++) {
        GwFilterChain *ch = g_ptr_array_index(l->chains, i);
        ch->index = i;
        if (ch->server_names == NULL) {
            host_sni_table_set_match_all(l->sni, ch);
            continue;
        }
        for (guint j = 0; ch->server_names[j] != NULL; j++) {
            if (!host_sni_table_add(l->sni, ch->server_names[j], ch)) {
                note(s,
                     "listener %s: server name %s repeated; the first "
                     "filter chain keeps it",
                     l->name, ch->server_names[j]);
            }
        }
    }
    g_ptr_array_add(s->listeners, l);
}

static gint rc_cmp(gconstpointer a, gconstpointer b)
{
    const GwRouteConfig *x = *(const GwRouteConfig *const *)a;
    const GwRouteConfig *y = *(const GwRouteConfig *const *)b;
    return strcmp(x->name, y->name);
}

/* ---- the entry point
 * ------------------------------------------------------------ */

GatewaySnapshot *
gateway_compile(const Cluster *c, const K8sPod *gw_pod, GError **error)
{
    g_return_val_if_fail(c != NULL && gw_pod != NULL, NULL);
    g_autoptr(GatewaySnapshot) s = snapshot_new(c, gw_pod);

    /* Parse (and validate) everything, so an invalid object is reported
     * whatever pod is compiled. */
    for (guint i = 0; i < c->gateways->len; i++) {
        IstioGateway *g =
            istio_gateway_parse(g_ptr_array_index(c->gateways, i), error);
        if (g == NULL) {
            return NULL;
        }
        g_ptr_array_add(s->all_gateways, g);
    }
    for (guint i = 0; i < c->virtual_services->len; i++) {
        IstioVirtualService *vs = istio_virtual_service_parse(
            g_ptr_array_index(c->virtual_services, i), error);
        if (vs == NULL) {
            return NULL;
        }
        g_ptr_array_add(s->vss, vs);
    }
    for (guint i = 0; i < c->destination_rules->len; i++) {
        IstioDestinationRule *dr = istio_destination_rule_parse(
            g_ptr_array_index(c->destination_rules, i), error);
        if (dr == NULL) {
            return NULL;
        }
        g_ptr_array_add(s->drs, dr);
    }
    if (!gateway__ingress_convert(c, s->all_gateways, s->vss, error)) {
        return NULL;
    }
    g_ptr_array_sort(s->vss, vs_cmp);

    /* R2.1-R2.3: Gateways selecting the pod, oldest first. */
    for (guint i = 0; i < s->all_gateways->len; i++) {
        IstioGateway *g = g_ptr_array_index(s->all_gateways, i);
        if (kv_list_subset(g->selector, gw_pod->spec.labels)) {
            g_ptr_array_add(s->gateways, g);
        }
    }
    g_ptr_array_sort(s->gateways, meta_cmp);

    build_clusters(s);
    /* Clusters first so routes can point at them; AUTO_PASSTHROUGH adds
     * SNI-DNAT clusters while listeners are built. */
    finish_clusters(s);
    g_autoptr(GPtrArray) ports = merge_servers(s);
    for (guint i = 0; i < ports->len; i++) {
        build_listener(s, g_ptr_array_index(ports, i));
    }
    finish_clusters(s);
    /* AUTO_PASSTHROUGH targets resolve after their clusters exist. */
    for (guint i = 0; i < s->listeners->len; i++) {
        GwListener *l = g_ptr_array_index(s->listeners, i);
        for (guint j = 0; j < l->chains->len; j++) {
            GwFilterChain *ch = g_ptr_array_index(l->chains, j);
            for (guint k = 0;
                 ch->tcp.targets != NULL && k < ch->tcp.targets->len; k++) {
                GwTarget *t = g_ptr_array_index(ch->tcp.targets, k);
                t->cluster = g_hash_table_lookup(s->cluster_by_name, t->name);
            }
        }
    }
    g_ptr_array_sort(s->route_configs, rc_cmp);
    for (guint i = 0; i < s->routes->len; i++) {
        const GwRoute *r = g_ptr_array_index(s->routes, i);
        s->reads_headers = s->reads_headers || r->headers != NULL;
    }
    return g_steal_pointer(&s);
}

gboolean gateway_snapshot_reads_headers(const GatewaySnapshot *s)
{
    g_return_val_if_fail(s != NULL, TRUE);
    return s->reads_headers;
}
