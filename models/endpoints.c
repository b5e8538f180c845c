/* endpoints.c: derives each Service port's endpoints from pod state (or
 * takes the manifests' EndpointSlices as given), as the EndpointSlice
 * controller would publish them. */
#include "config.h"

#include <string.h>

#include "models/endpoints.h"

struct _EndpointSet {
    gint refs;          /* reference count */
    guint64 version;    /* from a process-wide counter */
    GHashTable *by_port; /* const K8sServicePort* -> GArray of EndpointAddr */
    GArray *empty;      /* returned for unknown ports */
};

static guint64 endpoint_set_counter;

static gboolean slices_for(const Cluster *c, const K8sService *svc)
{
    for (guint i = 0; i < c->slices->len; i++) {
        const K8sEndpointSlice *s = g_ptr_array_index(c->slices, i);
        if (strcmp(s->service, svc->meta.name) == 0 &&
            strcmp(s->meta.ns, svc->meta.ns) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static const K8sPod *pod_by_ip(const Cluster *c, const char *ns,
                               const char *ip)
{
    for (guint i = 0; i < c->pods->len; i++) {
        const K8sPod *p = g_ptr_array_index(c->pods, i);
        if (strcmp(p->ip, ip) == 0 && strcmp(p->meta.ns, ns) == 0) {
            return p;
        }
    }
    return NULL;
}

/* Manifest slices: conditions as written; the Service port matches a slice
 * port by name (both unnamed counts as a match). */
static void add_from_slices(const Cluster *c, const K8sService *svc,
                            const K8sServicePort *sp, GArray *out)
{
    for (guint i = 0; i < c->slices->len; i++) {
        const K8sEndpointSlice *s = g_ptr_array_index(c->slices, i);
        if (strcmp(s->service, svc->meta.name) != 0 ||
            strcmp(s->meta.ns, svc->meta.ns) != 0) {
            continue;
        }
        for (guint j = 0; j < s->ports->len; j++) {
            const K8sEndpointPort *ep =
                &g_array_index(s->ports, K8sEndpointPort, j);
            if (g_strcmp0(ep->name, sp->name) != 0) {
                continue;
            }
            for (guint k = 0; k < s->endpoints->len; k++) {
                const K8sEndpoint *e =
                    &g_array_index(s->endpoints, K8sEndpoint, k);
                EndpointAddr a = {
                    .ip = e->ip,
                    .port = ep->port,
                    .ready = e->ready,
                    .serving = e->serving,
                    .terminating = e->terminating,
                    .node_name = e->node_name,
                    .zone = e->zone,
                    .pod = pod_by_ip(c, svc->meta.ns, e->ip),
                };
                if (a.node_name == NULL && a.pod != NULL) {
                    a.node_name = a.pod->node_name;
                }
                g_array_append_val(out, a);
            }
        }
    }
}

static void add_from_pods(const Cluster *c, const K8sService *svc,
                          const K8sServicePort *sp, const PodCondition *conds,
                          GArray *out)
{
    g_autoptr(GPtrArray) pods =
        cluster_select_pods(c, svc->meta.ns, svc->selector);
    for (guint i = 0; i < pods->len; i++) {
        const K8sPod *p = g_ptr_array_index(pods, i);
        PodCondition pc = { .ready = p->ready, .exists = TRUE };
        if (conds != NULL) {
            pc = conds[p->index];
        }
        if (!pc.exists) {
            continue;
        }
        /* A named targetPort resolves per pod; a pod without that port is
         * left out, as the EndpointSlice controller does. */
        gint port = sp->target_port_name != NULL
                        ? k8s_pod_named_port(p, sp->target_port_name)
                        : sp->target_port;
        if (port == 0) {
            continue;
        }
        const K8sNode *n = cluster_find_node(c, p->node_name);
        /* S-4: ready = Ready and not terminating; serving = Ready. */
        EndpointAddr a = {
            .ip = p->ip,
            .port = port,
            .ready = pc.ready && !pc.terminating,
            .serving = pc.ready,
            .terminating = pc.terminating,
            .node_name = p->node_name,
            .zone = n != NULL ? n->zone : NULL,
            .pod = p,
        };
        g_array_append_val(out, a);
    }
}

EndpointSet *endpoint_set_new(const Cluster *c, const PodCondition *conds)
{
    EndpointSet *es = g_new0(EndpointSet, 1);
    es->refs = 1;
    es->version = ++endpoint_set_counter;
    es->by_port = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                        (GDestroyNotify)g_array_unref);
    es->empty = g_array_new(FALSE, TRUE, sizeof(EndpointAddr));
    for (guint i = 0; i < c->services->len; i++) {
        const K8sService *svc = g_ptr_array_index(c->services, i);
        gboolean given = slices_for(c, svc);
        for (guint j = 0; j < svc->ports->len; j++) {
            const K8sServicePort *sp =
                &g_array_index(svc->ports, K8sServicePort, j);
            GArray *out = g_array_new(FALSE, TRUE, sizeof(EndpointAddr));
            if (given) {
                add_from_slices(c, svc, sp, out);
            } else if (svc->selector != NULL) {
                add_from_pods(c, svc, sp, conds, out);
            }
            g_hash_table_insert(es->by_port, (gpointer)sp, out);
        }
    }
    return es;
}

EndpointSet *endpoint_set_ref(EndpointSet *es)
{
    g_return_val_if_fail(es != NULL, NULL);
    g_atomic_int_inc(&es->refs);
    return es;
}

void endpoint_set_unref(EndpointSet *es)
{
    if (es == NULL || !g_atomic_int_dec_and_test(&es->refs)) {
        return;
    }
    g_hash_table_unref(es->by_port);
    g_array_unref(es->empty);
    g_free(es);
}

const GArray *endpoint_set_lookup(const EndpointSet *es, const K8sService *svc,
                                  const K8sServicePort *sp)
{
    g_return_val_if_fail(es != NULL && svc != NULL, NULL);
    const GArray *a = g_hash_table_lookup(es->by_port, sp);
    return a != NULL ? a : es->empty;
}

guint64 endpoint_set_version(const EndpointSet *es)
{
    return es->version;
}
