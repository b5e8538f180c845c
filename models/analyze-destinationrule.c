/* analyze-destinationrule.c: istioctl's DestinationRule analyzers: unknown
 * hosts (IST0174), subsets that select no pod (IST0173) and client TLS
 * without caCertificates (IST0128, IST0129). */
#include "config.h"

#include <string.h>

#include "models/analyze-private.h"

/* Node labels Istio adds to a pod's labels for its endpoints: region,
 * zone, subzone and hostname. Cite: istio pkg/config/analysis/analyzers/
 * destinationrule/subset.go, augmentPodLabelsWithNodeTopology(). */
static KvList *pod_labels(const Cluster *c, const K8sPod *p)
{
    static const char *const topology[] = {
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
        "topology.istio.io/subzone",
    };
    KvList *kv = kv_list_new();
    for (guint i = 0; i < kv_list_len(p->spec.labels); i++) {
        kv_list_set(kv, g_ptr_array_index(p->spec.labels->keys, i),
                    g_ptr_array_index(p->spec.labels->values, i));
    }
    const K8sNode *n =
        p->node_name != NULL ? cluster_find_node(c, p->node_name) : NULL;
    if (n == NULL) {
        return kv;
    }
    for (guint i = 0; i < G_N_ELEMENTS(topology); i++) {
        const char *v = kv_list_get(n->labels, topology[i]);
        if (v != NULL) {
            kv_list_set(kv, topology[i], v);
        }
    }
    kv_list_set(kv, "kubernetes.io/hostname", n->name);
    return kv;
}

/* IST0174 when the host is no Service; else IST0173 for each subset whose
 * labels select no pod (of any namespace: a Service converted to a
 * ServiceEntry carries no workload selector to narrow them).
 * Cite: istio pkg/config/analysis/analyzers/destinationrule/subset.go,
 * PodNotSelectedAnalyzer.Analyze(). */
static void check_subsets(AnalyzeCtx *cx,
                          const K8sMeta *meta,
                          const IstioDestinationRule *dr,
                          const GPtrArray *labels)
{
    const YNode *hn = ynode_path(meta->doc, "spec.host");
    const char *host = ynode_str_or(hn, dr->host);
    if (analyze__service_for_host(cx, host, meta->ns) == NULL) {
        analyze__report(cx, "IST0174", meta, hn,
                        "The host %s defined in the DestinationRule does not "
                        "match any services in the mesh.",
                        host);
        return;
    }
    for (guint i = 0; i < dr->subsets->len; i++) {
        const IstioSubset *sub = g_ptr_array_index(dr->subsets, i);
        gboolean matched = FALSE;
        for (guint j = 0; j < labels->len && !matched; j++) {
            matched = kv_list_subset(sub->labels, g_ptr_array_index(labels, j));
        }
        if (!matched) {
            analyze__report(cx, "IST0173", meta, sub->where,
                            "The Subset %s defined in the DestinationRule "
                            "does not select any pods. Which may lead to 503 "
                            "UH (NoHealthyUpstream).",
                            sub->name);
        }
    }
}

static gboolean verifies_nothing(const YNode *tls, const char **mode_out)
{
    const char *mode = ynode_str(ynode_get(tls, "mode"));
    const char *ca = ynode_str(ynode_get(tls, "caCertificates"));
    *mode_out = mode;
    return mode != NULL &&
           (strcmp(mode, "SIMPLE") == 0 || strcmp(mode, "MUTUAL") == 0) &&
           (ca == NULL || ca[0] == '\0');
}

/* IST0128/IST0129: client TLS SIMPLE or MUTUAL without caCertificates: the
 * upstream's certificate is not verified. Read from the document: the
 * parsed DestinationRule (models/istio.h) keeps no client TLS settings.
 * Cite: istio pkg/config/analysis/analyzers/destinationrule/
 * ca-certificates.go, CaCertificateAnalyzer.analyzeDestinationRule(). */
static void check_tls(AnalyzeCtx *cx, const K8sMeta *meta)
{
    const YNode *tp = ynode_path(meta->doc, "spec.trafficPolicy");
    const char *host = ynode_str_or(ynode_path(meta->doc, "spec.host"), "");
    g_autofree char *ref = k8s_meta_ref(meta);
    const char *mode = NULL;
    const YNode *tls = ynode_get(tp, "tls");
    if (tls != NULL && verifies_nothing(tls, &mode)) {
        analyze__report(cx, "IST0128", meta, tls,
                        "DestinationRule %s in namespace %s has TLS mode set "
                        "to %s but no caCertificates are set to validate "
                        "server identity for host: %s",
                        ref, meta->ns, mode, host);
    }
    const YNode *pls = ynode_get(tp, "portLevelSettings");
    for (guint i = 0; i < ynode_len(pls); i++) {
        const YNode *ps = ynode_at(pls, i);
        const YNode *ptls = ynode_get(ps, "tls");
        if (ptls == NULL || !verifies_nothing(ptls, &mode)) {
            continue;
        }
        /* The port is printed as its proto text, as istioctl does. */
        const char *num = ynode_str_or(ynode_path(ps, "port.number"), "0");
        analyze__report(cx, "IST0129", meta, ptls,
                        "DestinationRule %s in namespace %s has TLS mode set "
                        "to %s but no caCertificates are set to validate "
                        "server identity for host: %s at port number:%s",
                        ref, meta->ns, mode, host, num);
    }
}

void analyze__destination_rules(AnalyzeCtx *cx)
{
    /* Each pod's labels with its node's topology, computed once. */
    g_autoptr(GPtrArray) labels =
        g_ptr_array_new_with_free_func((GDestroyNotify)kv_list_free);
    for (guint i = 0; i < cx->c->pods->len; i++) {
        g_ptr_array_add(labels,
                        pod_labels(cx->c, g_ptr_array_index(cx->c->pods, i)));
    }
    for (guint i = 0; i < cx->drs->len; i++) {
        const K8sMeta *meta = g_ptr_array_index(cx->c->destination_rules, i);
        const IstioDestinationRule *dr = g_ptr_array_index(cx->drs, i);
        if (dr == NULL) {
            continue;
        }
        check_subsets(cx, meta, dr, labels);
        check_tls(cx, meta);
    }
}
