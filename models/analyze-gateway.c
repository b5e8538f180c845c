/* analyze-gateway.c: istioctl's Gateway analyzers: selector without pods
 * (IST0101), ports missing from the workload's Services (IST0162), missing
 * credentialName Secrets (IST0101), duplicate certificates (IST0138). */
#include "config.h"

#include <string.h>

#include "models/analyze-private.h"
#include "models/host.h"

/* The line istioctl points at for a selector problem: the selector's first
 * label (sorted). Cite: istio pkg/config/analysis/analyzers/util/
 * find_errorline_utils.go, GatewaySelector. */
static const YNode *selector_where(const K8sMeta *meta, const KvList *sel)
{
    const YNode *map = ynode_path(meta->doc, "spec.selector");
    g_autofree char *s = analyze__selector_string(sel);
    g_auto(GStrv) first = g_strsplit(s, "=", 2);
    const YNode *key = first[0] != NULL ? ynode_get_key(map, first[0]) : NULL;
    return key != NULL ? key : map;
}

static const YNode *server_port_where(const IstioServer *sv)
{
    const YNode *n = ynode_path(sv->where, "port.number");
    return n != NULL ? n : sv->where;
}

/* Pods whose labels include the Gateway's selector (an empty selector
 * selects every pod, as labels.SelectorFromSet({}) does). (transfer
 * container) */
static GPtrArray *selected_pods(const Cluster *c, const IstioGateway *g)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < c->pods->len; i++) {
        const K8sPod *p = g_ptr_array_index(c->pods, i);
        if (kv_list_subset(g->selector, p->spec.labels)) {
            g_ptr_array_add(out, (gpointer)p);
        }
    }
    return out;
}

/* IST0162: every server port must be a port or a numeric targetPort of a
 * TCP port of some Service selecting a pod the Gateway selects. The Service
 * port itself counts since istio#51278 (fixing the false positive of
 * istio#51257: port 80 of the stock 80->8080 Service); the spec (R14) says
 * "neither a Service port nor a targetPort".
 * Cite: istio pkg/config/analysis/analyzers/gateway/gateway.go,
 * IngressGatewayPortAnalyzer.analyzeGateway(). */
static void check_ports(AnalyzeCtx *cx,
                        const K8sMeta *meta,
                        const IstioGateway *g,
                        const GPtrArray *pods)
{
    g_autoptr(GHashTable) ports =
        g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < pods->len; i++) {
        g_autoptr(GPtrArray) svcs =
            cluster_services_for_pod(cx->c, g_ptr_array_index(pods, i));
        for (guint j = 0; j < svcs->len; j++) {
            const K8sService *svc = g_ptr_array_index(svcs, j);
            for (guint k = 0; k < svc->ports->len; k++) {
                const K8sServicePort *sp =
                    &g_array_index(svc->ports, K8sServicePort, k);
                if (g_ascii_strcasecmp(sp->protocol, "TCP") != 0) {
                    continue;
                }
                g_hash_table_add(ports, GINT_TO_POINTER(sp->port));
                if (sp->target_port > 0) {
                    g_hash_table_add(ports, GINT_TO_POINTER(sp->target_port));
                }
            }
        }
    }
    g_autofree char *sel = analyze__selector_string(g->selector);
    for (guint i = 0; i < g->servers->len; i++) {
        const IstioServer *sv = g_ptr_array_index(g->servers, i);
        if (g_hash_table_contains(ports, GINT_TO_POINTER(sv->number))) {
            continue;
        }
        analyze__report(cx, "IST0162", meta, server_port_where(sv),
                        "The gateway is listening on a target port (port %d) "
                        "that is not defined in the Service associated with "
                        "its workload instances (Pod selector %s). If you "
                        "need to access the gateway port through the gateway "
                        "Service, it will not be available.",
                        sv->number, sel);
        g_hash_table_add(cx->port_missing, (gpointer)sv->where);
    }
}

/* IST0101 credentialName: the Secret must exist in the namespace of the
 * gateway workload (the first selected pod's), not the Gateway's. Whether
 * it holds a usable certificate is IST0161 (analyze-compiled.c).
 * Cite: istio pkg/config/analysis/analyzers/gateway/secret.go,
 * SecretAnalyzer.Analyze(), getGatewayNamespace(). */
static void check_credentials(AnalyzeCtx *cx,
                              const K8sMeta *meta,
                              const IstioGateway *g,
                              const GPtrArray *pods)
{
    const K8sPod *first = g_ptr_array_index(pods, 0);
    for (guint i = 0; i < g->servers->len; i++) {
        const IstioServer *sv = g_ptr_array_index(g->servers, i);
        const char *cn = sv->tls.credential_name;
        if (!sv->tls.present || cn == NULL || cn[0] == '\0') {
            continue;
        }
        g_auto(GStrv) parts = g_strsplit(cn, "/", 2);
        const K8sSecret *sec =
            parts[1] != NULL ? cluster_find_secret(cx->c, parts[0], parts[1])
                             : cluster_find_secret(cx->c, first->meta.ns, cn);
        if (sec != NULL) {
            continue;
        }
        g_autofree char *q = analyze__quote(cn);
        const YNode *w = ynode_path(sv->where, "tls.credentialName");
        analyze__report(cx, "IST0101", meta, w != NULL ? w : sv->where,
                        "Referenced credentialName not found: %s", q);
    }
}

/* Cite: certificate.go, haveSameCertificate(): the same credentialName, or
 * the same serverCertificate and privateKey files. */
static gboolean same_certificate(const IstioServerTls *a,
                                 const IstioServerTls *b)
{
    if (a->credential_name != NULL && b->credential_name != NULL) {
        return strcmp(a->credential_name, b->credential_name) == 0;
    }
    if (a->credential_name == NULL && b->credential_name == NULL &&
        a->server_certificate != NULL && b->server_certificate != NULL &&
        strcmp(a->server_certificate, b->server_certificate) == 0) {
        return a->private_key != NULL && b->private_key != NULL &&
               strcmp(a->private_key, b->private_key) == 0;
    }
    return FALSE;
}

/* Cite: certificate.go, selectorSubset(): every pair of @x is in @y. */
static gboolean selector_subset(const KvList *x, const KvList *y)
{
    return kv_list_subset(x, y);
}

/* IST0138: another Gateway whose selector includes this one's serves a TLS
 * server with the same certificate. Reported on each Gateway of the pair,
 * at metadata.name (as istioctl). With PILOT_SCOPE_GATEWAY_TO_NAMESPACE
 * off (the default) Gateways of every namespace count.
 * Cite: istio pkg/config/analysis/analyzers/gateway/certificate.go,
 * CertificateAnalyzer.analyzeDuplicateCertificate(). */
static void check_certificates(AnalyzeCtx *cx, guint gi)
{
    const K8sMeta *meta = g_ptr_array_index(cx->c->gateways, gi);
    const IstioGateway *g = g_ptr_array_index(cx->gateways, gi);
    for (guint oi = 0; oi < cx->gateways->len; oi++) {
        const IstioGateway *o = g_ptr_array_index(cx->gateways, oi);
        if (oi == gi || o == NULL) {
            continue;
        }
        if (kv_list_len(g->selector) > 0 &&
            !selector_subset(g->selector, o->selector)) {
            continue;
        }
        for (guint i = 0; i < g->servers->len; i++) {
            const IstioServer *a = g_ptr_array_index(g->servers, i);
            for (guint j = 0; j < o->servers->len; j++) {
                const IstioServer *b = g_ptr_array_index(o->servers, j);
                if (!a->tls.present || !b->tls.present ||
                    !same_certificate(&a->tls, &b->tls)) {
                    continue;
                }
                const YNode *w = ynode_path(meta->doc, "metadata.name");
                analyze__report(cx, "IST0138", meta, w,
                                "Duplicate certificate in multiple gateways "
                                "[%s %s] may cause 404s if clients re-use "
                                "HTTP2 connections.",
                                g->ref, o->ref);
            }
        }
    }
}

void analyze__gateways(AnalyzeCtx *cx)
{
    for (guint gi = 0; gi < cx->gateways->len; gi++) {
        const K8sMeta *meta = g_ptr_array_index(cx->c->gateways, gi);
        const IstioGateway *g = g_ptr_array_index(cx->gateways, gi);
        if (g == NULL) {
            continue;
        }
        g_autoptr(GPtrArray) pods = selected_pods(cx->c, g);
        if (pods->len == 0) {
            /* Cite: gateway.go and secret.go: "Referenced selector not
             * found", at the selector's first label. */
            g_autofree char *sel = analyze__selector_string(g->selector);
            g_autofree char *q = analyze__quote(sel);
            analyze__report(cx, "IST0101", meta,
                            selector_where(meta, g->selector),
                            "Referenced selector not found: %s", q);
        } else {
            check_ports(cx, meta, g, pods);
            check_credentials(cx, meta, g, pods);
        }
        check_certificates(cx, gi);
    }
}
