/* cluster.c: collects manifest objects into a Cluster and fills in what a
 * real cluster would have done: schedule pods, assign IPs and node ports,
 * and supply Istio's default ingress gateway when the manifests have none. */
#include "config.h"

#include <string.h>

#include "models/cluster.h"
#include "models/ipv4.h"

Cluster *cluster_new(void)
{
    Cluster *c = g_new0(Cluster, 1);
    c->docs = g_ptr_array_new_with_free_func((GDestroyNotify)ynode_free);
    c->net.cluster_cidr = g_strdup("10.244.0.0/16");
    c->net.service_cidr = g_strdup("10.96.0.0/12");
    c->profile = g_strdup("default");
    c->nodes = g_ptr_array_new_with_free_func((GDestroyNotify)k8s_node_free);
    c->services =
        g_ptr_array_new_with_free_func((GDestroyNotify)k8s_service_free);
    c->deployments =
        g_ptr_array_new_with_free_func((GDestroyNotify)k8s_deployment_free);
    c->pods = g_ptr_array_new_with_free_func((GDestroyNotify)k8s_pod_free);
    c->secrets = g_ptr_array_new_with_free_func((GDestroyNotify)k8s_secret_free);
    c->slices =
        g_ptr_array_new_with_free_func((GDestroyNotify)k8s_endpoint_slice_free);
    GDestroyNotify meta_free = (GDestroyNotify)k8s_meta_free_full;
    c->namespaces = g_ptr_array_new_with_free_func(meta_free);
    c->gateways = g_ptr_array_new_with_free_func(meta_free);
    c->virtual_services = g_ptr_array_new_with_free_func(meta_free);
    c->destination_rules = g_ptr_array_new_with_free_func(meta_free);
    c->ingresses = g_ptr_array_new_with_free_func(meta_free);
    c->ingress_classes = g_ptr_array_new_with_free_func(meta_free);
    c->skipped = g_ptr_array_new_with_free_func(g_free);
    return c;
}

void cluster_free(Cluster *c)
{
    if (c == NULL) {
        return;
    }
    if (c->owned_metas != NULL) {
        g_ptr_array_unref(c->owned_metas);
    }
    if (c->owned_secrets != NULL) {
        g_ptr_array_unref(c->owned_secrets);
    }
    /* Objects point into docs: free them first. */
    g_ptr_array_unref(c->nodes);
    g_ptr_array_unref(c->services);
    g_ptr_array_unref(c->deployments);
    g_ptr_array_unref(c->pods);
    g_ptr_array_unref(c->secrets);
    g_ptr_array_unref(c->slices);
    g_ptr_array_unref(c->namespaces);
    g_ptr_array_unref(c->gateways);
    g_ptr_array_unref(c->virtual_services);
    g_ptr_array_unref(c->destination_rules);
    g_ptr_array_unref(c->ingresses);
    g_ptr_array_unref(c->ingress_classes);
    g_ptr_array_unref(c->skipped);
    g_ptr_array_unref(c->docs);
    g_free(c->net.cluster_cidr);
    g_free(c->net.service_cidr);
    g_free(c->profile);
    g_free(c);
}

static guint next_order(Cluster *c)
{
    return c->services->len + c->deployments->len + c->pods->len +
           c->secrets->len + c->slices->len + c->namespaces->len +
           c->gateways->len + c->virtual_services->len +
           c->destination_rules->len + c->ingresses->len +
           c->ingress_classes->len + c->skipped->len;
}

static gboolean api_group_is(const K8sMeta *m, const char *group)
{
    gsize n = strlen(group);
    return strncmp(m->api_version, group, n) == 0 && m->api_version[n] == '/';
}

/* Finds an object of the same kind, namespace and name among @objs, whose
 * elements start with a K8sMeta. */
static const K8sMeta *find_same(GPtrArray *objs, const K8sMeta *m)
{
    for (guint i = 0; i < objs->len; i++) {
        const K8sMeta *o = g_ptr_array_index(objs, i);
        if (strcmp(o->name, m->name) == 0 && strcmp(o->ns, m->ns) == 0) {
            return o;
        }
    }
    return NULL;
}

static gboolean check_unique(GPtrArray *objs, const K8sMeta *m,
                             GError **error)
{
    const K8sMeta *o = find_same(objs, m);
    if (o != NULL) {
        g_autofree char *first = ynode_where(o->doc);
        ynode_error(error, m->doc, SCENARIO_ERROR_BAD_VALUE,
                    "duplicate %s %s/%s (first defined at %s)", m->kind, m->ns,
                    m->name, first);
        return FALSE;
    }
    return TRUE;
}

static gboolean keep_meta(GPtrArray *into, K8sMeta *m, GError **error)
{
    if (!check_unique(into, m, error)) {
        k8s_meta_clear(m); /* kept on success, so freed here on failure */
        return FALSE;
    }
    K8sMeta *copy = g_new(K8sMeta, 1);
    *copy = *m;
    memset(m, 0, sizeof *m);
    g_ptr_array_add(into, copy);
    return TRUE;
}

gboolean cluster_add_document(Cluster *c, const YNode *doc, GError **error)
{
    K8sMeta m;
    if (!k8s_meta_parse(&m, doc, "default", next_order(c), error)) {
        k8s_meta_clear(&m);
        return FALSE;
    }
    const char *kind = m.kind;
    gboolean ok = TRUE;
    if (strcmp(kind, "List") == 0) {
        const YNode *items = ynode_get(doc, "items");
        k8s_meta_clear(&m);
        if (items == NULL || ynode_is_null(items)) {
            return TRUE;
        }
        if (!ynode_expect_seq(items, "List items", error)) {
            return FALSE;
        }
        for (guint i = 0; i < ynode_len(items); i++) {
            if (!cluster_add_document(c, ynode_at(items, i), error)) {
                return FALSE;
            }
        }
        return TRUE;
    }
    if (strcmp(kind, "Namespace") == 0 && strcmp(m.api_version, "v1") == 0) {
        /* A Namespace is cluster-scoped: its name is the namespace. */
        g_free(m.ns);
        m.ns = g_strdup("");
        return keep_meta(c->namespaces, &m, error);
    }
    if (strcmp(m.api_version, "v1") == 0 || strcmp(m.api_version, "apps/v1") == 0 ||
        api_group_is(&m, "discovery.k8s.io")) {
        if (strcmp(kind, "Service") == 0) {
            if (!check_unique(c->services, &m, error)) {
                k8s_meta_clear(&m);
                return FALSE;
            }
            K8sService *s = k8s_service_parse(&m, error);
            ok = s != NULL;
            if (ok) {
                g_ptr_array_add(c->services, s);
            }
        } else if (strcmp(kind, "Pod") == 0) {
            if (!check_unique(c->pods, &m, error)) {
                k8s_meta_clear(&m);
                return FALSE;
            }
            K8sPod *p = k8s_pod_parse(&m, error);
            ok = p != NULL;
            if (ok) {
                g_ptr_array_add(c->pods, p);
            }
        } else if (strcmp(kind, "Deployment") == 0) {
            if (!check_unique(c->deployments, &m, error)) {
                k8s_meta_clear(&m);
                return FALSE;
            }
            K8sDeployment *d = k8s_deployment_parse(&m, error);
            ok = d != NULL;
            if (ok) {
                g_ptr_array_add(c->deployments, d);
            }
        } else if (strcmp(kind, "Secret") == 0) {
            if (!check_unique(c->secrets, &m, error)) {
                k8s_meta_clear(&m);
                return FALSE;
            }
            K8sSecret *s = k8s_secret_parse(&m, error);
            ok = s != NULL;
            if (ok) {
                g_ptr_array_add(c->secrets, s);
            }
        } else if (strcmp(kind, "Node") == 0) {
            /* Node manifests add to the scenario's nodes (cluster_finish). */
            K8sNode *n = k8s_node_parse(&m, error);
            ok = n != NULL;
            if (ok) {
                g_ptr_array_add(c->nodes, n);
            }
        } else if (strcmp(kind, "EndpointSlice") == 0) {
            K8sEndpointSlice *s = k8s_endpoint_slice_parse(&m, error);
            ok = s != NULL;
            if (ok) {
                g_ptr_array_add(c->slices, s);
            }
        } else if (strcmp(kind, "Endpoints") == 0) {
            GPtrArray *sl = k8s_endpoints_parse(&m, error);
            ok = sl != NULL;
            for (guint i = 0; ok && i < sl->len; i++) {
                g_ptr_array_add(c->slices, g_ptr_array_steal_index(sl, i--));
            }
            if (sl != NULL) {
                g_ptr_array_unref(sl);
            }
        } else {
            goto skip;
        }
        k8s_meta_clear(&m);
        return ok;
    }
    if (api_group_is(&m, "networking.istio.io")) {
        if (strcmp(kind, "Gateway") == 0) {
            return keep_meta(c->gateways, &m, error);
        }
        if (strcmp(kind, "VirtualService") == 0) {
            return keep_meta(c->virtual_services, &m, error);
        }
        if (strcmp(kind, "DestinationRule") == 0) {
            return keep_meta(c->destination_rules, &m, error);
        }
    }
    if (api_group_is(&m, "networking.k8s.io")) {
        if (strcmp(kind, "Ingress") == 0) {
            return keep_meta(c->ingresses, &m, error);
        }
        if (strcmp(kind, "IngressClass") == 0) {
            g_free(m.ns);
            m.ns = g_strdup("");
            return keep_meta(c->ingress_classes, &m, error);
        }
    }
skip : {
    g_autofree char *where = ynode_where(doc);
    g_ptr_array_add(c->skipped,
                    g_strdup_printf("%s: note: skipping %s %s (%s is not "
                                    "modelled)",
                                    where, kind, m.name ? m.name : "",
                                    m.api_version));
    k8s_meta_clear(&m);
    return TRUE;
}
}

void k8s_meta_free_full(K8sMeta *m)
{
    if (m != NULL) {
        k8s_meta_clear(m);
        g_free(m);
    }
}

/* ---- views: configuration changes during a run ----------------------------- */

static GPtrArray *borrow(const GPtrArray *from)
{
    GPtrArray *a = g_ptr_array_sized_new(from->len);
    for (guint i = 0; i < from->len; i++) {
        g_ptr_array_add(a, g_ptr_array_index(from, i));
    }
    return a;
}

/* Index in @objs (each starting with a K8sMeta) of kind/ns/name, or -1. */
static gint find_index(const GPtrArray *objs, const char *ns, const char *name)
{
    for (guint i = 0; i < objs->len; i++) {
        const K8sMeta *m = g_ptr_array_index(objs, i);
        if (strcmp(m->name, name) == 0 && strcmp(m->ns, ns) == 0) {
            return (gint)i;
        }
    }
    return -1;
}

static GPtrArray *istio_array(Cluster *v, const char *kind)
{
    if (strcmp(kind, "Gateway") == 0) {
        return v->gateways;
    }
    if (strcmp(kind, "VirtualService") == 0) {
        return v->virtual_services;
    }
    if (strcmp(kind, "DestinationRule") == 0) {
        return v->destination_rules;
    }
    return strcmp(kind, "Secret") == 0 ? v->secrets : NULL;
}

static gboolean view_apply(Cluster *v, const YNode *doc, gint64 created,
                           GError **error)
{
    K8sMeta m;
    if (!k8s_meta_parse(&m, doc, "default", G_MAXUINT / 2, error)) {
        k8s_meta_clear(&m);
        return FALSE;
    }
    GPtrArray *into = istio_array(v, m.kind);
    g_assert(into != NULL); /* scenario.c admits only these kinds */
    gint old = find_index(into, m.ns, m.name);
    m.created = old >= 0 ? ((const K8sMeta *)g_ptr_array_index(into, old))->created
                         : created;
    gpointer obj;
    if (strcmp(m.kind, "Secret") == 0) {
        K8sSecret *sec = k8s_secret_parse(&m, error);
        if (sec == NULL) {
            return FALSE;
        }
        g_ptr_array_add(v->owned_secrets, sec);
        obj = sec;
    } else {
        K8sMeta *copy = g_new(K8sMeta, 1);
        *copy = m;
        g_ptr_array_add(v->owned_metas, copy);
        obj = copy;
    }
    if (old >= 0) {
        g_ptr_array_index(into, old) = obj;
    } else {
        g_ptr_array_add(into, obj);
    }
    return TRUE;
}

Cluster *cluster_derive(const Cluster *base, const GPtrArray *apply,
                        const char *delete_ref, gint64 created,
                        GError **error)
{
    g_autoptr(Cluster) v = g_new0(Cluster, 1);
    v->is_view = TRUE;
    v->docs = g_ptr_array_new();
    v->net.cluster_cidr = g_strdup(base->net.cluster_cidr);
    v->net.service_cidr = g_strdup(base->net.service_cidr);
    v->profile = g_strdup(base->profile);
    v->nodes = borrow(base->nodes);
    v->services = borrow(base->services);
    v->deployments = borrow(base->deployments);
    v->pods = borrow(base->pods);
    v->secrets = borrow(base->secrets);
    v->slices = borrow(base->slices);
    v->namespaces = borrow(base->namespaces);
    v->gateways = borrow(base->gateways);
    v->virtual_services = borrow(base->virtual_services);
    v->destination_rules = borrow(base->destination_rules);
    v->ingresses = borrow(base->ingresses);
    v->ingress_classes = borrow(base->ingress_classes);
    v->skipped = g_ptr_array_new_with_free_func(g_free);
    v->synthesized_gateway = base->synthesized_gateway;
    v->owned_metas = g_ptr_array_new_with_free_func((GDestroyNotify)k8s_meta_free_full);
    v->owned_secrets = g_ptr_array_new_with_free_func((GDestroyNotify)k8s_secret_free);
    for (guint i = 0; apply != NULL && i < apply->len; i++) {
        if (!view_apply(v, g_ptr_array_index(apply, i), created, error)) {
            return NULL;
        }
    }
    if (delete_ref != NULL) {
        g_auto(GStrv) p = g_strsplit(delete_ref, "/", 3);
        GPtrArray *from = p[0] != NULL ? istio_array(v, p[0]) : NULL;
        gint i = from != NULL && p[1] != NULL && p[2] != NULL
                     ? find_index(from, p[1], p[2])
                     : -1;
        if (i < 0) {
            g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_BAD_REFERENCE,
                        "%s not found", delete_ref);
            return NULL;
        }
        g_ptr_array_remove_index(from, (guint)i); /* keeps the order */
    }
    return g_steal_pointer(&v);
}

/* ---- lookups ------------------------------------------------------------- */

K8sService *cluster_find_service(const Cluster *c, const char *ns,
                                 const char *name)
{
    for (guint i = 0; i < c->services->len; i++) {
        K8sService *s = g_ptr_array_index(c->services, i);
        if (strcmp(s->meta.name, name) == 0 && strcmp(s->meta.ns, ns) == 0) {
            return s;
        }
    }
    return NULL;
}

K8sService *cluster_find_service_fqdn(const Cluster *c, const char *fqdn)
{
    for (guint i = 0; i < c->services->len; i++) {
        K8sService *s = g_ptr_array_index(c->services, i);
        if (strcmp(s->fqdn, fqdn) == 0) {
            return s;
        }
    }
    return NULL;
}

K8sPod *cluster_find_pod(const Cluster *c, const char *ns, const char *name)
{
    for (guint i = 0; i < c->pods->len; i++) {
        K8sPod *p = g_ptr_array_index(c->pods, i);
        if (strcmp(p->meta.name, name) == 0 && strcmp(p->meta.ns, ns) == 0) {
            return p;
        }
    }
    return NULL;
}

K8sNode *cluster_find_node(const Cluster *c, const char *name)
{
    for (guint i = 0; i < c->nodes->len; i++) {
        K8sNode *n = g_ptr_array_index(c->nodes, i);
        if (strcmp(n->name, name) == 0) {
            return n;
        }
    }
    return NULL;
}

K8sSecret *cluster_find_secret(const Cluster *c, const char *ns,
                               const char *name)
{
    for (guint i = 0; i < c->secrets->len; i++) {
        K8sSecret *s = g_ptr_array_index(c->secrets, i);
        if (strcmp(s->meta.name, name) == 0 && strcmp(s->meta.ns, ns) == 0) {
            return s;
        }
    }
    return NULL;
}

K8sDeployment *cluster_find_deployment(const Cluster *c, const char *ns,
                                       const char *name)
{
    for (guint i = 0; i < c->deployments->len; i++) {
        K8sDeployment *d = g_ptr_array_index(c->deployments, i);
        if (strcmp(d->meta.name, name) == 0 && strcmp(d->meta.ns, ns) == 0) {
            return d;
        }
    }
    return NULL;
}

GPtrArray *cluster_select_pods(const Cluster *c, const char *ns,
                               const KvList *selector)
{
    GPtrArray *out = g_ptr_array_new();
    if (selector == NULL) {
        return out;
    }
    for (guint i = 0; i < c->pods->len; i++) {
        K8sPod *p = g_ptr_array_index(c->pods, i);
        if (strcmp(p->meta.ns, ns) == 0 &&
            kv_list_subset(selector, p->spec.labels)) {
            g_ptr_array_add(out, p);
        }
    }
    return out;
}

GPtrArray *cluster_services_for_pod(const Cluster *c, const K8sPod *pod)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < c->services->len; i++) {
        K8sService *s = g_ptr_array_index(c->services, i);
        if (s->selector != NULL && strcmp(s->meta.ns, pod->meta.ns) == 0 &&
            kv_list_subset(s->selector, pod->spec.labels)) {
            g_ptr_array_add(out, s);
        }
    }
    return out;
}

static gboolean is_gateway_labels(const KvList *labels)
{
    return g_strcmp0(kv_list_get(labels, "istio"), "ingressgateway") == 0 ||
           g_strcmp0(kv_list_get(labels, "app"), "istio-ingressgateway") == 0;
}

GPtrArray *cluster_gateway_pods(const Cluster *c)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < c->pods->len; i++) {
        K8sPod *p = g_ptr_array_index(c->pods, i);
        if (is_gateway_labels(p->spec.labels)) {
            g_ptr_array_add(out, p);
        }
    }
    return out;
}

K8sService *cluster_gateway_service(const Cluster *c)
{
    K8sService *s =
        cluster_find_service(c, "istio-system", "istio-ingressgateway");
    if (s != NULL) {
        return s;
    }
    for (guint i = 0; i < c->services->len; i++) {
        s = g_ptr_array_index(c->services, i);
        if (s->selector != NULL && is_gateway_labels(s->selector)) {
            return s;
        }
    }
    return NULL;
}

/* ---- finish: defaults and scheduling ------------------------------------- */

/* Istio's default profile (manifests/charts/gateways/istio-ingress,
 * values.yaml); demo adds tcp 31400 and tls 15443. */
static const char default_gateway_service[] =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata:\n"
    "  name: istio-ingressgateway\n"
    "  namespace: istio-system\n"
    "  labels: {app: istio-ingressgateway, istio: ingressgateway}\n"
    "spec:\n"
    "  type: LoadBalancer\n"
    "  selector: {app: istio-ingressgateway, istio: ingressgateway}\n"
    "  ports:\n"
    "  - {name: status-port, port: 15021, targetPort: 15021}\n"
    "  - {name: http2, port: 80, targetPort: 8080}\n"
    "  - {name: https, port: 443, targetPort: 8443}\n";
static const char demo_gateway_ports[] =
    "  - {name: tcp, port: 31400, targetPort: 31400}\n"
    "  - {name: tls, port: 15443, targetPort: 15443}\n";
static const char default_gateway_deployment[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: istio-ingressgateway\n"
    "  namespace: istio-system\n"
    "spec:\n"
    "  replicas: 1\n"
    "  selector:\n"
    "    matchLabels: {app: istio-ingressgateway, istio: ingressgateway}\n"
    "  template:\n"
    "    metadata:\n"
    "      labels: {app: istio-ingressgateway, istio: ingressgateway}\n"
    "    spec:\n"
    "      containers:\n"
    "      - name: istio-proxy\n"
    "        image: docker.io/istio/proxyv2\n";

static gboolean add_builtin(Cluster *c, const char *name, const char *text,
                            GError **error)
{
    g_autoptr(GPtrArray) docs =
        ynode_load_string(name, text, strlen(text), NULL, error);
    if (docs == NULL) {
        return FALSE;
    }
    for (guint i = 0; i < docs->len; i++) {
        YNode *d = g_ptr_array_index(docs, i);
        if (!cluster_add_document(c, d, error)) {
            return FALSE;
        }
    }
    while (docs->len > 0) {
        g_ptr_array_add(c->docs, g_ptr_array_steal_index(docs, 0));
    }
    return TRUE;
}

static gboolean has_gateway_workload(const Cluster *c)
{
    for (guint i = 0; i < c->deployments->len; i++) {
        K8sDeployment *d = g_ptr_array_index(c->deployments, i);
        if (is_gateway_labels(d->tmpl.labels)) {
            return TRUE;
        }
    }
    for (guint i = 0; i < c->pods->len; i++) {
        if (is_gateway_labels(((K8sPod *)g_ptr_array_index(c->pods, i))->spec.labels)) {
            return TRUE;
        }
    }
    return FALSE;
}

static char *format_ipv4(guint32 a)
{
    char buf[IPV4_TEXT_MAX];
    return g_strdup(ipv4_format(a, buf));
}

static gboolean finish_nodes(Cluster *c, GPtrArray *nodes, GError **error)
{
    if (nodes != NULL) {
        /* Scenario nodes come first; Node manifests already in c->nodes
         * follow unless they repeat a name. */
        for (guint i = 0; i < nodes->len; i++) {
            K8sNode *n = g_ptr_array_index(nodes, i);
            if (cluster_find_node(c, n->name) != NULL) {
                continue;
            }
            g_ptr_array_insert(c->nodes, (gint)i, n);
            g_ptr_array_index(nodes, i) = NULL;
        }
    }
    if (c->nodes->len == 0) {
        const char *names[] = { "worker-1", "worker-2", "worker-3" };
        for (guint i = 0; i < 3; i++) {
            K8sNode *n = g_new0(K8sNode, 1);
            n->name = g_strdup(names[i]);
            n->labels = kv_list_new();
            g_ptr_array_add(c->nodes, n);
        }
    }
    guint32 cbase = 0;
    guint cprefix = 0;
    if (!ipv4_parse_cidr(c->net.cluster_cidr, &cbase, &cprefix) || cprefix > 24) {
        ynode_error(error, NULL, SCENARIO_ERROR_BAD_VALUE,
                    "clusterCIDR '%s' must be an IPv4 CIDR of /24 or wider",
                    c->net.cluster_cidr);
        return FALSE;
    }
    for (guint i = 0; i < c->nodes->len; i++) {
        K8sNode *n = g_ptr_array_index(c->nodes, i);
        n->index = i;
        if (n->zone == NULL) {
            n->zone = g_strdup("a");
        }
        if (n->ip == NULL) {
            n->ip = format_ipv4((192u << 24) | (168u << 16) | (11 + i));
        }
        if (n->pod_cidr == NULL) {
            g_autofree char *base = format_ipv4(cbase + (i << 8));
            n->pod_cidr = g_strdup_printf("%s/24", base);
        }
        if (n->labels == NULL) {
            n->labels = kv_list_new();
        }
        kv_list_set(n->labels, "kubernetes.io/hostname", n->name);
        kv_list_set(n->labels, "topology.kubernetes.io/zone", n->zone);
        for (guint j = 0; j < i; j++) {
            K8sNode *o = g_ptr_array_index(c->nodes, j);
            if (strcmp(o->name, n->name) == 0) {
                ynode_error(error, n->where, SCENARIO_ERROR_BAD_VALUE,
                            "duplicate node '%s'", n->name);
                return FALSE;
            }
        }
    }
    return TRUE;
}

static K8sPod *pod_from_template(const K8sDeployment *d, guint ordinal)
{
    K8sPod *p = g_new0(K8sPod, 1);
    p->meta.kind = g_strdup("Pod");
    p->meta.api_version = g_strdup("v1");
    p->meta.ns = g_strdup(d->meta.ns);
    p->meta.name = g_strdup_printf("%s-%u", d->meta.name, ordinal);
    p->meta.labels = kv_list_new();
    p->meta.annotations = kv_list_new();
    p->meta.created = d->meta.created;
    p->meta.order = d->meta.order;
    p->meta.doc = d->meta.doc;
    /* The pod shares its Deployment's template; copy what it may change. */
    p->spec.labels = kv_list_new();
    for (guint i = 0; i < kv_list_len(d->tmpl.labels); i++) {
        kv_list_set(p->spec.labels, g_ptr_array_index(d->tmpl.labels->keys, i),
                    g_ptr_array_index(d->tmpl.labels->values, i));
        kv_list_set(p->meta.labels, g_ptr_array_index(d->tmpl.labels->keys, i),
                    g_ptr_array_index(d->tmpl.labels->values, i));
    }
    p->spec.containers = g_ptr_array_ref(d->tmpl.containers);
    p->spec.volumes = g_array_ref(d->tmpl.volumes);
    p->spec.node_name = g_strdup(d->tmpl.node_name);
    p->ready = TRUE;
    p->owner = k8s_meta_ref(&d->meta);
    return p;
}

/* Nodes a pod may run on: its nodeName, or the nodes whose labels include
 * its nodeSelector, or all. */
static GPtrArray *eligible_nodes(const Cluster *c, const K8sPod *p,
                                 const KvList *node_selector)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < c->nodes->len; i++) {
        K8sNode *n = g_ptr_array_index(c->nodes, i);
        if (p->spec.node_name != NULL) {
            if (strcmp(n->name, p->spec.node_name) == 0) {
                g_ptr_array_add(out, n);
            }
        } else if (kv_list_subset(node_selector, n->labels)) {
            g_ptr_array_add(out, n);
        }
    }
    return out;
}

static gboolean schedule_pod(Cluster *c, K8sPod *p, const KvList *selector,
                             guint ordinal, const YNode *where,
                             GError **error)
{
    if (p->node_name != NULL) {
        if (cluster_find_node(c, p->node_name) == NULL) {
            ynode_error(error, where, SCENARIO_ERROR_BAD_REFERENCE,
                        "pod %s/%s names node '%s', which is not in the "
                        "scenario",
                        p->meta.ns, p->meta.name, p->node_name);
            return FALSE;
        }
        return TRUE;
    }
    g_autoptr(GPtrArray) nodes = eligible_nodes(c, p, selector);
    if (nodes->len == 0) {
        ynode_error(error, where, SCENARIO_ERROR_BAD_REFERENCE,
                    "pod %s/%s fits no node (nodeName/nodeSelector)",
                    p->meta.ns, p->meta.name);
        return FALSE;
    }
    /* Spread in order: ordinal k on the k-th eligible node (SCENARIO.md). */
    K8sNode *n = g_ptr_array_index(nodes, ordinal % nodes->len);
    p->node_name = g_strdup(n->name);
    return TRUE;
}

static gboolean finish_pods(Cluster *c, GError **error)
{
    guint bare = c->pods->len;
    for (guint i = 0; i < bare; i++) {
        K8sPod *p = g_ptr_array_index(c->pods, i);
        if (!schedule_pod(c, p, p->spec.node_selector, i, p->meta.doc, error)) {
            return FALSE;
        }
    }
    for (guint i = 0; i < c->deployments->len; i++) {
        K8sDeployment *d = g_ptr_array_index(c->deployments, i);
        for (gint k = 0; k < d->replicas; k++) {
            K8sPod *p = pod_from_template(d, (guint)k);
            g_ptr_array_add(c->pods, p);
            if (!schedule_pod(c, p, d->tmpl.node_selector, (guint)k,
                              d->meta.doc, error)) {
                return FALSE;
            }
        }
    }
    /* IPs: the node's podCIDR, .2 upward, in pod order. */
    g_autofree guint *next = g_new0(guint, c->nodes->len);
    for (guint i = 0; i < c->pods->len; i++) {
        K8sPod *p = g_ptr_array_index(c->pods, i);
        p->index = i;
        if (p->ip != NULL) {
            continue;
        }
        K8sNode *n = cluster_find_node(c, p->node_name);
        guint32 base = 0;
        if (!ipv4_parse_cidr(n->pod_cidr, &base, NULL)) {
            ynode_error(error, n->where, SCENARIO_ERROR_BAD_VALUE,
                        "node %s: podCIDR '%s' is not an IPv4 CIDR", n->name,
                        n->pod_cidr);
            return FALSE;
        }
        if (next[n->index] >= 250) {
            /* Point at the replicas that asked for it, when they did. */
            const YNode *rep = ynode_path(p->meta.doc, "spec.replicas");
            ynode_error(error,
                        p->owner != NULL && rep != NULL ? rep : p->meta.doc,
                        SCENARIO_ERROR_TOO_LARGE,
                        "node %s has more than 250 pods (its /24 podCIDR is "
                        "full)",
                        n->name);
            return FALSE;
        }
        p->ip = format_ipv4(base + 2 + next[n->index]++);
    }
    return TRUE;
}

/* kube-apiserver --service-node-port-range default (S-1). */
#define NODE_PORT_MIN 30000
#define NODE_PORT_MAX 32767

static gboolean node_port_used(const Cluster *c, gint port)
{
    for (guint i = 0; i < c->services->len; i++) {
        K8sService *s = g_ptr_array_index(c->services, i);
        if (s->health_check_node_port == port) {
            return TRUE;
        }
        for (guint j = 0; j < s->ports->len; j++) {
            if (g_array_index(s->ports, K8sServicePort, j).node_port == port) {
                return TRUE;
            }
        }
    }
    return FALSE;
}

static gint allocate_node_port(const Cluster *c)
{
    for (gint p = NODE_PORT_MIN; p <= NODE_PORT_MAX; p++) {
        if (!node_port_used(c, p)) {
            return p;
        }
    }
    return 0;
}

static gboolean finish_services(Cluster *c, GError **error)
{
    guint32 sbase = 0;
    guint sprefix = 0;
    if (!ipv4_parse_cidr(c->net.service_cidr, &sbase, &sprefix) || sprefix > 24) {
        ynode_error(error, NULL, SCENARIO_ERROR_BAD_VALUE,
                    "serviceCIDR '%s' must be an IPv4 CIDR of /24 or wider",
                    c->net.service_cidr);
        return FALSE;
    }
    /* Check given node ports first, so allocation never takes one. */
    for (guint i = 0; i < c->services->len; i++) {
        K8sService *s = g_ptr_array_index(c->services, i);
        for (guint j = 0; j < s->ports->len; j++) {
            K8sServicePort *sp = &g_array_index(s->ports, K8sServicePort, j);
            if (sp->node_port == 0) {
                continue;
            }
            if (s->type != K8S_SVC_NODE_PORT &&
                s->type != K8S_SVC_LOAD_BALANCER) {
                ynode_error(error, sp->where, SCENARIO_ERROR_BAD_VALUE,
                            "nodePort %d on a Service of type ClusterIP "
                            "(Kubernetes rejects it; use NodePort or "
                            "LoadBalancer)",
                            sp->node_port);
                return FALSE;
            }
            if (sp->node_port < NODE_PORT_MIN || sp->node_port > NODE_PORT_MAX) {
                ynode_error(error, sp->where, SCENARIO_ERROR_BAD_VALUE,
                            "nodePort %d is outside the NodePort range "
                            "%d-%d",
                            sp->node_port, NODE_PORT_MIN, NODE_PORT_MAX);
                return FALSE;
            }
            sp->node_port = -sp->node_port; /* hide from node_port_used */
            gboolean dup = node_port_used(c, -sp->node_port);
            sp->node_port = -sp->node_port;
            if (dup) {
                ynode_error(error, sp->where, SCENARIO_ERROR_BAD_VALUE,
                            "nodePort %d is already allocated to another "
                            "Service port",
                            sp->node_port);
                return FALSE;
            }
        }
    }
    guint next_ip = 10;
    for (guint i = 0; i < c->services->len; i++) {
        K8sService *s = g_ptr_array_index(c->services, i);
        if (s->cluster_ip == NULL && s->type != K8S_SVC_EXTERNAL_NAME) {
            s->cluster_ip = format_ipv4(sbase + next_ip++);
        }
        if (s->type != K8S_SVC_NODE_PORT && s->type != K8S_SVC_LOAD_BALANCER) {
            continue;
        }
        for (guint j = 0; j < s->ports->len; j++) {
            K8sServicePort *sp = &g_array_index(s->ports, K8sServicePort, j);
            if (sp->node_port == 0) {
                sp->node_port = allocate_node_port(c);
            }
        }
        if (s->type == K8S_SVC_LOAD_BALANCER &&
            s->external_policy == K8S_POLICY_LOCAL &&
            s->health_check_node_port == 0) {
            s->health_check_node_port = allocate_node_port(c);
        }
    }
    return TRUE;
}

gboolean cluster_finish(Cluster *c, GPtrArray *nodes, GError **error)
{
    if (!finish_nodes(c, nodes, error)) {
        return FALSE;
    }
    if (cluster_gateway_service(c) == NULL) {
        g_autofree char *svc = g_strconcat(
            default_gateway_service,
            strcmp(c->profile, "demo") == 0 ? demo_gateway_ports : "", NULL);
        if (!add_builtin(c, "<default istio-ingressgateway Service>", svc,
                         error)) {
            return FALSE;
        }
        c->synthesized_gateway = TRUE;
    }
    if (!has_gateway_workload(c)) {
        if (!add_builtin(c, "<default istio-ingressgateway Deployment>",
                         default_gateway_deployment, error)) {
            return FALSE;
        }
        c->synthesized_gateway = TRUE;
    }
    return finish_pods(c, error) && finish_services(c, error);
}
