/* k8s.c: reads Kubernetes manifests (Service, Pod, Deployment, Node, Secret,
 * EndpointSlice, Endpoints) from YNode trees into the structs of k8s.h. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "models/ipv4.h"
#include "models/k8s.h"

/* The simulated network is IPv4: addresses the manifests give must be. */
static gboolean is_ipv4(const char *s)
{
    guint32 a;
    return ipv4_parse(s, &a);
}

/* An optional IPv4 address at @key of @map into *out (NULL when absent);
 * anything else is an error at the value. */
static gboolean opt_ipv4(const YNode *map, const char *key, char **out,
                         GError **error)
{
    const YNode *v = ynode_get(map, key);
    const char *s = NULL;
    if (v == NULL || ynode_is_null(v)) {
        return TRUE;
    }
    if (!ynode_to_string(v, &s, error)) {
        return FALSE;
    }
    if (!is_ipv4(s)) {
        ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE,
                    "%s '%s' is not an IPv4 address", key, s);
        return FALSE;
    }
    g_free(*out);
    *out = g_strdup(s);
    return TRUE;
}

/* ---- KvList -------------------------------------------------------------- */

KvList *kv_list_new(void)
{
    KvList *kv = g_new0(KvList, 1);
    kv->keys = g_ptr_array_new_with_free_func(g_free);
    kv->values = g_ptr_array_new_with_free_func(g_free);
    return kv;
}

void kv_list_free(KvList *kv)
{
    if (kv == NULL) {
        return;
    }
    g_ptr_array_unref(kv->keys);
    g_ptr_array_unref(kv->values);
    g_free(kv);
}

void kv_list_set(KvList *kv, const char *key, const char *value)
{
    for (guint i = 0; i < kv->keys->len; i++) {
        if (strcmp(g_ptr_array_index(kv->keys, i), key) == 0) {
            g_free(g_ptr_array_index(kv->values, i));
            g_ptr_array_index(kv->values, i) = g_strdup(value);
            return;
        }
    }
    g_ptr_array_add(kv->keys, g_strdup(key));
    g_ptr_array_add(kv->values, g_strdup(value));
}

const char *kv_list_get(const KvList *kv, const char *key)
{
    if (kv == NULL) {
        return NULL;
    }
    for (guint i = 0; i < kv->keys->len; i++) {
        if (strcmp(g_ptr_array_index(kv->keys, i), key) == 0) {
            return g_ptr_array_index(kv->values, i);
        }
    }
    return NULL;
}

guint kv_list_len(const KvList *kv)
{
    return kv != NULL ? kv->keys->len : 0;
}

gboolean kv_list_subset(const KvList *selector, const KvList *labels)
{
    for (guint i = 0; i < kv_list_len(selector); i++) {
        const char *want = g_ptr_array_index(selector->values, i);
        const char *have =
            kv_list_get(labels, g_ptr_array_index(selector->keys, i));
        if (have == NULL || strcmp(have, want) != 0) {
            return FALSE;
        }
    }
    return TRUE;
}

gboolean kv_list_parse(KvList *kv, const YNode *map, const char *what,
                       GError **error)
{
    if (ynode_is_null(map)) {
        return TRUE;
    }
    if (!ynode_expect_map(map, what, error)) {
        return FALSE;
    }
    for (guint i = 0; i < ynode_len(map); i++) {
        const YNode *v = ynode_value_at(map, i);
        /* Label values are strings; YAML may type "true" or 1, which
         * Kubernetes would refuse, but the text is what matters here. */
        if (v->kind != YNODE_SCALAR) {
            ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE,
                        "%s values must be strings", what);
            return FALSE;
        }
        kv_list_set(kv, ynode_key_at(map, i)->scalar, v->scalar);
    }
    return TRUE;
}

/* ---- metadata ------------------------------------------------------------ */

/* 2024-01-01T00:00:00Z: objects without a creationTimestamp are "applied"
 * one second apart from here, in input order. */
#define K8S_EPOCH_BASE G_GINT64_CONSTANT(1704067200)

gboolean k8s_meta_parse(K8sMeta *meta, const YNode *doc, const char *default_ns,
                        guint order, GError **error)
{
    memset(meta, 0, sizeof *meta);
    meta->doc = doc;
    meta->order = order;
    const char *kind = NULL;
    if (!ynode_expect_map(doc, "a manifest", error)) {
        return FALSE;
    }
    const YNode *kn = ynode_get(doc, "kind");
    if (kn == NULL) {
        ynode_error(error, doc, SCENARIO_ERROR_SYNTAX,
                    "manifest has no 'kind'");
        return FALSE;
    }
    if (!ynode_to_string(kn, &kind, error)) {
        return FALSE;
    }
    meta->kind = g_strdup(kind);
    meta->api_version = g_strdup(ynode_str_or(ynode_get(doc, "apiVersion"), ""));
    meta->labels = kv_list_new();
    meta->annotations = kv_list_new();
    const YNode *md = ynode_get(doc, "metadata");
    if (md != NULL && !ynode_expect_map(md, "metadata", error)) {
        return FALSE;
    }
    const YNode *name = ynode_get(md, "name");
    if (strcmp(kind, "List") != 0) {
        if (name == NULL) {
            ynode_error(error, md != NULL ? md : doc, SCENARIO_ERROR_SYNTAX,
                        "%s has no metadata.name", kind);
            return FALSE;
        }
        const char *n = NULL;
        if (!ynode_to_string(name, &n, error)) {
            return FALSE;
        }
        meta->name = g_strdup(n);
    }
    const YNode *ns = ynode_get(md, "namespace");
    const char *nss = default_ns;
    if (ns != NULL && !ynode_is_null(ns) && !ynode_to_string(ns, &nss, error)) {
        return FALSE;
    }
    meta->ns = g_strdup(nss);
    if (!kv_list_parse(meta->labels, ynode_get(md, "labels"), "labels",
                       error) ||
        !kv_list_parse(meta->annotations, ynode_get(md, "annotations"),
                       "annotations", error)) {
        return FALSE;
    }
    meta->created = K8S_EPOCH_BASE + order;
    const char *ts = ynode_str(ynode_get(md, "creationTimestamp"));
    if (ts != NULL) {
        g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(ts, NULL);
        if (dt == NULL) {
            ynode_error(error, ynode_get(md, "creationTimestamp"),
                        SCENARIO_ERROR_BAD_VALUE,
                        "creationTimestamp '%s' is not RFC 3339", ts);
            return FALSE;
        }
        meta->created = g_date_time_to_unix(dt);
    }
    return TRUE;
}

void k8s_meta_clear(K8sMeta *meta)
{
    g_free(meta->kind);
    g_free(meta->api_version);
    g_free(meta->ns);
    g_free(meta->name);
    kv_list_free(meta->labels);
    kv_list_free(meta->annotations);
    memset(meta, 0, sizeof *meta);
}

char *k8s_meta_ref(const K8sMeta *meta)
{
    return g_strdup_printf("%s/%s", meta->ns, meta->name);
}

int k8s_meta_compare_created(const K8sMeta *a, const K8sMeta *b)
{
    if (a->created != b->created) {
        return a->created < b->created ? -1 : 1;
    }
    int r = g_strcmp0(a->name, b->name);
    if (r != 0) {
        return r;
    }
    r = g_strcmp0(a->ns, b->ns);
    if (r != 0) {
        return r;
    }
    return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

char *k8s_service_fqdn(const char *name, const char *ns)
{
    return g_strdup_printf("%s.%s.svc.cluster.local", name, ns);
}

/* ---- Service ------------------------------------------------------------- */

static void service_port_clear(gpointer p)
{
    K8sServicePort *sp = p;
    g_free(sp->name);
    g_free(sp->target_port_name);
    g_free(sp->protocol);
    g_free(sp->app_protocol);
}

void k8s_service_free(K8sService *s)
{
    if (s == NULL) {
        return;
    }
    k8s_meta_clear(&s->meta);
    g_free(s->cluster_ip);
    kv_list_free(s->selector);
    if (s->ports != NULL) {
        g_array_unref(s->ports);
    }
    g_free(s->external_name);
    g_free(s->fqdn);
    g_free(s);
}

static gboolean parse_policy(const YNode *n, K8sTrafficPolicy *out,
                             GError **error)
{
    const char *s = ynode_str(n);
    if (s == NULL) {
        *out = K8S_POLICY_CLUSTER;
        return TRUE;
    }
    if (strcmp(s, "Cluster") == 0) {
        *out = K8S_POLICY_CLUSTER;
    } else if (strcmp(s, "Local") == 0) {
        *out = K8S_POLICY_LOCAL;
    } else {
        ynode_error(error, n, SCENARIO_ERROR_BAD_VALUE,
                    "traffic policy must be Cluster or Local, not '%s'", s);
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_service_port(const YNode *pn, K8sServicePort *sp,
                                   GError **error)
{
    if (!ynode_expect_map(pn, "a Service port", error)) {
        return FALSE;
    }
    sp->where = pn;
    const YNode *port = ynode_get(pn, "port");
    if (port == NULL) {
        ynode_error(error, pn, SCENARIO_ERROR_SYNTAX,
                    "Service port has no 'port'");
        return FALSE;
    }
    if (!ynode_to_port(port, &sp->port, error)) {
        return FALSE;
    }
    sp->name = g_strdup(ynode_str(ynode_get(pn, "name")));
    sp->protocol = g_strdup(ynode_str_or(ynode_get(pn, "protocol"), "TCP"));
    sp->app_protocol = g_strdup(ynode_str(ynode_get(pn, "appProtocol")));
    const YNode *tp = ynode_get(pn, "targetPort");
    if (tp == NULL || ynode_is_null(tp)) {
        sp->target_port = sp->port; /* Kubernetes defaults it to port */
    } else {
        gint64 v = 0;
        if (ynode_to_int(tp, 1, 65535, &v, NULL)) {
            sp->target_port = (gint)v;
        } else if (tp->kind == YNODE_SCALAR && tp->scalar[0] != '\0' &&
                   !g_ascii_isdigit(tp->scalar[0])) {
            sp->target_port_name = g_strdup(tp->scalar);
        } else {
            ynode_error(error, tp, SCENARIO_ERROR_BAD_VALUE,
                        "targetPort must be a port number 1..65535 or a "
                        "port name, not '%s'",
                        ynode_str_or(tp, "?"));
            return FALSE;
        }
    }
    const YNode *np = ynode_get(pn, "nodePort");
    if (np != NULL && !ynode_is_null(np)) {
        gint64 v = 0;
        if (!ynode_to_int(np, 1, 65535, &v, error)) {
            return FALSE;
        }
        sp->node_port = (gint)v;
    }
    return TRUE;
}

K8sService *k8s_service_parse(K8sMeta *meta, GError **error)
{
    g_autoptr(GArray) ports = g_array_new(FALSE, TRUE, sizeof(K8sServicePort));
    g_array_set_clear_func(ports, service_port_clear);
    K8sService *s = g_new0(K8sService, 1);
    s->meta = *meta;
    memset(meta, 0, sizeof *meta);
    s->affinity_timeout = 10800; /* v1.DefaultClientIPServiceAffinitySeconds */
    s->fqdn = k8s_service_fqdn(s->meta.name, s->meta.ns);
    const YNode *spec = ynode_get(s->meta.doc, "spec");
    if (spec == NULL) {
        ynode_error(error, s->meta.doc, SCENARIO_ERROR_SYNTAX,
                    "Service %s/%s has no spec", s->meta.ns, s->meta.name);
        goto fail;
    }
    if (!ynode_expect_map(spec, "Service spec", error)) {
        goto fail;
    }
    const YNode *type = ynode_get(spec, "type");
    const char *t = ynode_str_or(type, "ClusterIP");
    if (strcmp(t, "ClusterIP") == 0) {
        s->type = K8S_SVC_CLUSTER_IP;
    } else if (strcmp(t, "NodePort") == 0) {
        s->type = K8S_SVC_NODE_PORT;
    } else if (strcmp(t, "LoadBalancer") == 0) {
        s->type = K8S_SVC_LOAD_BALANCER;
    } else if (strcmp(t, "ExternalName") == 0) {
        s->type = K8S_SVC_EXTERNAL_NAME;
    } else {
        ynode_error(error, type, SCENARIO_ERROR_BAD_VALUE,
                    "Service type must be ClusterIP, NodePort, LoadBalancer "
                    "or ExternalName, not '%s'",
                    t);
        goto fail;
    }
    const char *cip = ynode_str(ynode_get(spec, "clusterIP"));
    if (cip != NULL && strcmp(cip, "") != 0) {
        struct in6_addr a6;
        if (strcmp(cip, "None") != 0 && !is_ipv4(cip) &&
            inet_pton(AF_INET6, cip, &a6) != 1) {
            ynode_error(error, ynode_get(spec, "clusterIP"),
                        SCENARIO_ERROR_BAD_VALUE,
                        "clusterIP '%s' is not an IP address or None", cip);
            goto fail;
        }
        s->cluster_ip = g_strdup(cip);
    }
    s->external_name = g_strdup(ynode_str(ynode_get(spec, "externalName")));
    const YNode *sel = ynode_get(spec, "selector");
    if (sel != NULL && !ynode_is_null(sel)) {
        s->selector = kv_list_new();
        if (!kv_list_parse(s->selector, sel, "selector", error)) {
            goto fail;
        }
    }
    const YNode *pl = ynode_get(spec, "ports");
    if (pl != NULL && !ynode_is_null(pl)) {
        if (!ynode_expect_seq(pl, "Service ports", error)) {
            goto fail;
        }
        for (guint i = 0; i < ynode_len(pl); i++) {
            K8sServicePort sp = { 0 };
            gboolean ok = parse_service_port(ynode_at(pl, i), &sp, error);
            g_array_append_val(ports, sp);
            if (!ok) {
                goto fail;
            }
            for (guint j = 0; j + 1 < ports->len; j++) {
                K8sServicePort *o = &g_array_index(ports, K8sServicePort, j);
                if (o->port == sp.port && g_strcmp0(o->protocol, sp.protocol) == 0) {
                    ynode_error(error, ynode_at(pl, i),
                                SCENARIO_ERROR_BAD_VALUE,
                                "duplicate Service port %d/%s", sp.port,
                                sp.protocol);
                    goto fail;
                }
                if (sp.name != NULL && g_strcmp0(o->name, sp.name) == 0) {
                    ynode_error(error, ynode_at(pl, i),
                                SCENARIO_ERROR_BAD_VALUE,
                                "duplicate Service port name '%s'", sp.name);
                    goto fail;
                }
            }
        }
    }
    if (!parse_policy(ynode_get(spec, "externalTrafficPolicy"),
                      &s->external_policy, error) ||
        !parse_policy(ynode_get(spec, "internalTrafficPolicy"),
                      &s->internal_policy, error)) {
        goto fail;
    }
    const char *aff = ynode_str(ynode_get(spec, "sessionAffinity"));
    if (aff != NULL && strcmp(aff, "ClientIP") == 0) {
        s->affinity_client_ip = TRUE;
        const YNode *to =
            ynode_path(spec, "sessionAffinityConfig.clientIP.timeoutSeconds");
        if (to != NULL) {
            gint64 v = 0;
            if (!ynode_to_int(to, 1, 86400, &v, error)) {
                goto fail;
            }
            s->affinity_timeout = (gint)v;
        }
    } else if (aff != NULL && strcmp(aff, "None") != 0) {
        ynode_error(error, ynode_get(spec, "sessionAffinity"),
                    SCENARIO_ERROR_BAD_VALUE,
                    "sessionAffinity must be None or ClientIP, not '%s'", aff);
        goto fail;
    }
    const YNode *hc = ynode_get(spec, "healthCheckNodePort");
    if (hc != NULL && !ynode_is_null(hc)) {
        gint64 v = 0;
        if (!ynode_to_int(hc, 1, 65535, &v, error)) {
            goto fail;
        }
        s->health_check_node_port = (gint)v;
    }
    s->ports = g_steal_pointer(&ports);
    return s;
fail:
    k8s_service_free(s);
    return NULL;
}

/* ---- Pod spec ------------------------------------------------------------ */

static void container_free(gpointer p)
{
    K8sContainer *c = p;
    g_free(c->name);
    g_free(c->image);
    if (c->ports != NULL) {
        g_array_unref(c->ports);
    }
    if (c->mounts != NULL) {
        g_array_unref(c->mounts);
    }
    g_free(c);
}

static void container_port_clear(gpointer p)
{
    K8sContainerPort *cp = p;
    g_free(cp->name);
    g_free(cp->protocol);
}

static void mount_clear(gpointer p)
{
    K8sVolumeMount *m = p;
    g_free(m->name);
    g_free(m->mount_path);
}

static void volume_clear(gpointer p)
{
    K8sVolume *v = p;
    g_free(v->name);
    g_free(v->secret_name);
}

static void pod_spec_init(K8sPodSpec *ps)
{
    ps->labels = kv_list_new();
    ps->containers = g_ptr_array_new_with_free_func(container_free);
    ps->volumes = g_array_new(FALSE, TRUE, sizeof(K8sVolume));
    g_array_set_clear_func(ps->volumes, volume_clear);
}

static void pod_spec_clear(K8sPodSpec *ps)
{
    kv_list_free(ps->labels);
    if (ps->containers != NULL) {
        g_ptr_array_unref(ps->containers);
    }
    if (ps->volumes != NULL) {
        g_array_unref(ps->volumes);
    }
    g_free(ps->node_name);
    kv_list_free(ps->node_selector);
    memset(ps, 0, sizeof *ps);
}

static K8sContainer *container_parse(const YNode *cn, GError **error)
{
    if (!ynode_expect_map(cn, "a container", error)) {
        return NULL;
    }
    K8sContainer *c = g_new0(K8sContainer, 1);
    c->name = g_strdup(ynode_str_or(ynode_get(cn, "name"), ""));
    c->image = g_strdup(ynode_str_or(ynode_get(cn, "image"), ""));
    c->ports = g_array_new(FALSE, TRUE, sizeof(K8sContainerPort));
    g_array_set_clear_func(c->ports, container_port_clear);
    c->mounts = g_array_new(FALSE, TRUE, sizeof(K8sVolumeMount));
    g_array_set_clear_func(c->mounts, mount_clear);
    const YNode *pl = ynode_get(cn, "ports");
    if (pl != NULL && !ynode_is_null(pl)) {
        if (!ynode_expect_seq(pl, "container ports", error)) {
            goto fail;
        }
        for (guint i = 0; i < ynode_len(pl); i++) {
            const YNode *p = ynode_at(pl, i);
            K8sContainerPort cp = { 0 };
            const YNode *num = ynode_get(p, "containerPort");
            if (num == NULL) {
                ynode_error(error, p, SCENARIO_ERROR_SYNTAX,
                            "container port has no 'containerPort'");
                goto fail;
            }
            if (!ynode_to_port(num, &cp.port, error)) {
                goto fail;
            }
            cp.name = g_strdup(ynode_str(ynode_get(p, "name")));
            cp.protocol = g_strdup(ynode_str_or(ynode_get(p, "protocol"), "TCP"));
            g_array_append_val(c->ports, cp);
        }
    }
    /* S-5: the probe's timing (what it checks is not modelled: a
     * readiness failure is a scenario event). Defaults also when absent. */
    c->probe_period = 10;
    c->probe_failure_threshold = 3;
    c->probe_success_threshold = 1;
    const YNode *rp = ynode_get(cn, "readinessProbe");
    if (rp != NULL && !ynode_is_null(rp)) {
        if (!ynode_expect_map(rp, "readinessProbe", error)) {
            goto fail;
        }
        c->has_readiness_probe = TRUE;
        static const char *const pk[] = { "periodSeconds", "failureThreshold",
                                          "successThreshold" };
        gint *slot[] = { &c->probe_period, &c->probe_failure_threshold,
                         &c->probe_success_threshold };
        for (guint k = 0; k < G_N_ELEMENTS(pk); k++) {
            const YNode *v = ynode_get(rp, pk[k]);
            gint64 iv = 0;
            if (v == NULL) {
                continue;
            }
            if (!ynode_to_int(v, 1, 3600, &iv, error)) {
                goto fail;
            }
            *slot[k] = (gint)iv;
        }
    }
    const YNode *ml = ynode_get(cn, "volumeMounts");
    for (guint i = 0; ml != NULL && ml->kind == YNODE_SEQ && i < ynode_len(ml);
         i++) {
        const YNode *m = ynode_at(ml, i);
        K8sVolumeMount vm = { 0 };
        vm.name = g_strdup(ynode_str_or(ynode_get(m, "name"), ""));
        vm.mount_path = g_strdup(ynode_str_or(ynode_get(m, "mountPath"), ""));
        g_array_append_val(c->mounts, vm);
    }
    return c;
fail:
    container_free(c);
    return NULL;
}

/* Reads a PodSpec (spec of a Pod, spec.template.spec of a Deployment). */
static gboolean pod_spec_parse(K8sPodSpec *ps, const YNode *labels,
                               const YNode *spec, GError **error)
{
    pod_spec_init(ps);
    if (!kv_list_parse(ps->labels, labels, "labels", error)) {
        return FALSE;
    }
    if (spec == NULL || ynode_is_null(spec)) {
        return TRUE;
    }
    if (!ynode_expect_map(spec, "pod spec", error)) {
        return FALSE;
    }
    const YNode *cl = ynode_get(spec, "containers");
    if (cl != NULL && !ynode_is_null(cl)) {
        if (!ynode_expect_seq(cl, "containers", error)) {
            return FALSE;
        }
        for (guint i = 0; i < ynode_len(cl); i++) {
            K8sContainer *c = container_parse(ynode_at(cl, i), error);
            if (c == NULL) {
                return FALSE;
            }
            g_ptr_array_add(ps->containers, c);
        }
    }
    const YNode *vl = ynode_get(spec, "volumes");
    for (guint i = 0; vl != NULL && vl->kind == YNODE_SEQ && i < ynode_len(vl);
         i++) {
        const YNode *v = ynode_at(vl, i);
        K8sVolume vol = { 0 };
        vol.name = g_strdup(ynode_str_or(ynode_get(v, "name"), ""));
        vol.secret_name = g_strdup(ynode_str(ynode_path(v, "secret.secretName")));
        g_array_append_val(ps->volumes, vol);
    }
    ps->node_name = g_strdup(ynode_str(ynode_get(spec, "nodeName")));
    const YNode *nsel = ynode_get(spec, "nodeSelector");
    if (nsel != NULL && !ynode_is_null(nsel)) {
        ps->node_selector = kv_list_new();
        if (!kv_list_parse(ps->node_selector, nsel, "nodeSelector", error)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* ---- Pod ----------------------------------------------------------------- */

void k8s_pod_free(K8sPod *p)
{
    if (p == NULL) {
        return;
    }
    k8s_meta_clear(&p->meta);
    pod_spec_clear(&p->spec);
    g_free(p->node_name);
    g_free(p->ip);
    g_free(p->owner);
    g_free(p);
}

K8sPod *k8s_pod_parse(K8sMeta *meta, GError **error)
{
    K8sPod *p = g_new0(K8sPod, 1);
    p->meta = *meta;
    memset(meta, 0, sizeof *meta);
    p->ready = TRUE;
    const YNode *md = ynode_get(p->meta.doc, "metadata");
    if (!pod_spec_parse(&p->spec, ynode_get(md, "labels"),
                        ynode_get(p->meta.doc, "spec"), error)) {
        k8s_pod_free(p);
        return NULL;
    }
    p->node_name = g_strdup(p->spec.node_name);
    if (!opt_ipv4(ynode_get(p->meta.doc, "status"), "podIP", &p->ip, error)) {
        k8s_pod_free(p);
        return NULL;
    }
    const YNode *conds = ynode_path(p->meta.doc, "status.conditions");
    for (guint i = 0; conds != NULL && conds->kind == YNODE_SEQ &&
                      i < ynode_len(conds);
         i++) {
        const YNode *c = ynode_at(conds, i);
        if (g_strcmp0(ynode_str(ynode_get(c, "type")), "Ready") == 0) {
            p->ready = g_strcmp0(ynode_str(ynode_get(c, "status")), "True") == 0;
        }
    }
    return p;
}

gint k8s_pod_named_port(const K8sPod *pod, const char *name)
{
    for (guint i = 0; i < pod->spec.containers->len; i++) {
        const K8sContainer *c = g_ptr_array_index(pod->spec.containers, i);
        for (guint j = 0; j < c->ports->len; j++) {
            const K8sContainerPort *cp =
                &g_array_index(c->ports, K8sContainerPort, j);
            if (g_strcmp0(cp->name, name) == 0) {
                return cp->port;
            }
        }
    }
    return 0;
}

gint k8s_service_port_target(const K8sServicePort *sp, const K8sPod *pod)
{
    if (sp->target_port > 0) {
        return sp->target_port;
    }
    if (sp->target_port_name != NULL && pod != NULL) {
        gint p = k8s_pod_named_port(pod, sp->target_port_name);
        return p > 0 ? p : sp->port;
    }
    return sp->port;
}

gboolean k8s_pod_accepts_port(const K8sPod *pod, gint port)
{
    gboolean declared = FALSE;
    for (guint i = 0; i < pod->spec.containers->len; i++) {
        const K8sContainer *c = g_ptr_array_index(pod->spec.containers, i);
        for (guint j = 0; j < c->ports->len; j++) {
            declared = TRUE;
            if (g_array_index(c->ports, K8sContainerPort, j).port == port) {
                return TRUE;
            }
        }
    }
    return !declared;
}

const char *k8s_pod_image(const K8sPod *pod)
{
    if (pod->spec.containers->len == 0) {
        return "";
    }
    const K8sContainer *c = g_ptr_array_index(pod->spec.containers, 0);
    return c->image;
}

/* ---- Deployment ---------------------------------------------------------- */

void k8s_deployment_free(K8sDeployment *d)
{
    if (d == NULL) {
        return;
    }
    k8s_meta_clear(&d->meta);
    kv_list_free(d->selector);
    pod_spec_clear(&d->tmpl);
    g_free(d);
}

/* More replicas than this is a typo, not a cluster (issue: absurd sizes). */
#define K8S_MAX_REPLICAS 10000

K8sDeployment *k8s_deployment_parse(K8sMeta *meta, GError **error)
{
    K8sDeployment *d = g_new0(K8sDeployment, 1);
    d->meta = *meta;
    memset(meta, 0, sizeof *meta);
    d->replicas = 1;
    d->selector = kv_list_new();
    const YNode *spec = ynode_get(d->meta.doc, "spec");
    if (spec == NULL) {
        ynode_error(error, d->meta.doc, SCENARIO_ERROR_SYNTAX,
                    "Deployment %s/%s has no spec", d->meta.ns, d->meta.name);
        goto fail;
    }
    if (!ynode_expect_map(spec, "Deployment spec", error)) {
        goto fail;
    }
    const YNode *rep = ynode_get(spec, "replicas");
    if (rep != NULL && !ynode_is_null(rep)) {
        gint64 v = 0;
        if (!ynode_to_int(rep, 0, K8S_MAX_REPLICAS, &v, NULL)) {
            ynode_error(error, rep, SCENARIO_ERROR_TOO_LARGE,
                        "replicas must be 0..%d, found '%s'", K8S_MAX_REPLICAS,
                        ynode_str_or(rep, "?"));
            goto fail;
        }
        d->replicas = (gint)v;
    }
    if (!kv_list_parse(d->selector, ynode_path(spec, "selector.matchLabels"),
                       "selector.matchLabels", error)) {
        goto fail;
    }
    const YNode *tmpl = ynode_get(spec, "template");
    if (!pod_spec_parse(&d->tmpl, ynode_path(tmpl, "metadata.labels"),
                        ynode_get(tmpl, "spec"), error)) {
        goto fail;
    }
    if (!kv_list_subset(d->selector, d->tmpl.labels)) {
        ynode_error(error, ynode_get(spec, "selector"),
                    SCENARIO_ERROR_BAD_VALUE,
                    "Deployment %s/%s: selector does not match the template "
                    "labels (Kubernetes rejects this)",
                    d->meta.ns, d->meta.name);
        goto fail;
    }
    return d;
fail:
    k8s_deployment_free(d);
    return NULL;
}

/* ---- Node ---------------------------------------------------------------- */

void k8s_node_free(K8sNode *n)
{
    if (n == NULL) {
        return;
    }
    g_free(n->name);
    g_free(n->zone);
    g_free(n->ip);
    g_free(n->pod_cidr);
    kv_list_free(n->labels);
    g_free(n);
}

K8sNode *k8s_node_parse(K8sMeta *meta, GError **error)
{
    K8sNode *n = g_new0(K8sNode, 1);
    n->name = g_strdup(meta->name);
    n->labels = kv_list_new();
    for (guint i = 0; i < kv_list_len(meta->labels); i++) {
        kv_list_set(n->labels, g_ptr_array_index(meta->labels->keys, i),
                    g_ptr_array_index(meta->labels->values, i));
    }
    n->zone = g_strdup(kv_list_get(n->labels, "topology.kubernetes.io/zone"));
    n->pod_cidr = g_strdup(ynode_str(ynode_path(meta->doc, "spec.podCIDR")));
    const YNode *addrs = ynode_path(meta->doc, "status.addresses");
    for (guint i = 0; addrs != NULL && addrs->kind == YNODE_SEQ &&
                      i < ynode_len(addrs);
         i++) {
        const YNode *a = ynode_at(addrs, i);
        if (g_strcmp0(ynode_str(ynode_get(a, "type")), "InternalIP") == 0 &&
            !opt_ipv4(a, "address", &n->ip, error)) {
            k8s_node_free(n);
            return NULL;
        }
    }
    n->where = meta->doc;
    k8s_meta_clear(meta);
    return n;
}

/* ---- Secret -------------------------------------------------------------- */

void k8s_secret_free(K8sSecret *s)
{
    if (s == NULL) {
        return;
    }
    k8s_meta_clear(&s->meta);
    g_free(s->type);
    kv_list_free(s->data);
    g_free(s);
}

static gboolean base64_valid(const char *s)
{
    gsize n = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (g_ascii_isalnum(*p) || *p == '+' || *p == '/' || *p == '=') {
            n++;
        } else if (!g_ascii_isspace(*p)) {
            return FALSE;
        }
    }
    return n % 4 == 0;
}

K8sSecret *k8s_secret_parse(K8sMeta *meta, GError **error)
{
    K8sSecret *s = g_new0(K8sSecret, 1);
    s->meta = *meta;
    memset(meta, 0, sizeof *meta);
    s->type = g_strdup(ynode_str_or(ynode_get(s->meta.doc, "type"), "Opaque"));
    s->data = kv_list_new();
    const YNode *data = ynode_get(s->meta.doc, "data");
    if (data != NULL && !ynode_is_null(data)) {
        if (!ynode_expect_map(data, "Secret data", error)) {
            goto fail;
        }
        for (guint i = 0; i < ynode_len(data); i++) {
            const YNode *v = ynode_value_at(data, i);
            const char *text = "";
            if (!ynode_is_null(v) && !ynode_to_string(v, &text, error)) {
                goto fail;
            }
            if (!base64_valid(text)) {
                ynode_error(error, v, SCENARIO_ERROR_BAD_VALUE,
                            "Secret data '%s' is not valid base64 (use "
                            "stringData for plain text)",
                            ynode_key_at(data, i)->scalar);
                goto fail;
            }
            gsize len = 0;
            g_autofree guchar *raw = g_base64_decode(text, &len);
            g_autofree char *str = g_strndup((const char *)raw, len);
            kv_list_set(s->data, ynode_key_at(data, i)->scalar, str);
        }
    }
    const YNode *sd = ynode_get(s->meta.doc, "stringData");
    if (sd != NULL && !kv_list_parse(s->data, sd, "stringData", error)) {
        goto fail;
    }
    return s;
fail:
    k8s_secret_free(s);
    return NULL;
}

/* ---- EndpointSlice / Endpoints ------------------------------------------- */

static void ep_port_clear(gpointer p)
{
    K8sEndpointPort *ep = p;
    g_free(ep->name);
    g_free(ep->protocol);
}

static void endpoint_clear(gpointer p)
{
    K8sEndpoint *e = p;
    g_free(e->ip);
    g_free(e->node_name);
    g_free(e->zone);
}

static K8sEndpointSlice *slice_alloc(void)
{
    K8sEndpointSlice *s = g_new0(K8sEndpointSlice, 1);
    s->ports = g_array_new(FALSE, TRUE, sizeof(K8sEndpointPort));
    g_array_set_clear_func(s->ports, ep_port_clear);
    s->endpoints = g_array_new(FALSE, TRUE, sizeof(K8sEndpoint));
    g_array_set_clear_func(s->endpoints, endpoint_clear);
    return s;
}

void k8s_endpoint_slice_free(K8sEndpointSlice *s)
{
    if (s == NULL) {
        return;
    }
    k8s_meta_clear(&s->meta);
    g_free(s->service);
    g_array_unref(s->ports);
    g_array_unref(s->endpoints);
    g_free(s);
}

static gboolean parse_ep_ports(K8sEndpointSlice *s, const YNode *pl,
                               GError **error)
{
    if (pl == NULL || ynode_is_null(pl)) {
        return TRUE;
    }
    if (!ynode_expect_seq(pl, "endpoint ports", error)) {
        return FALSE;
    }
    for (guint i = 0; i < ynode_len(pl); i++) {
        const YNode *p = ynode_at(pl, i);
        K8sEndpointPort ep = { 0 };
        if (!ynode_expect_map(p, "an endpoint port", error)) {
            return FALSE;
        }
        if (ynode_get(p, "port") == NULL) {
            ynode_error(error, p, SCENARIO_ERROR_BAD_VALUE,
                        "endpoint port has no 'port'");
            return FALSE;
        }
        if (!ynode_to_port(ynode_get(p, "port"), &ep.port, error)) {
            return FALSE;
        }
        ep.name = g_strdup(ynode_str(ynode_get(p, "name")));
        ep.protocol = g_strdup(ynode_str_or(ynode_get(p, "protocol"), "TCP"));
        g_array_append_val(s->ports, ep);
    }
    return TRUE;
}

/* A nil condition has a meaning of its own (endpointslicecache.go): ready
 * nil = true, serving nil = ready, terminating nil = false. */
static gboolean parse_cond(const YNode *conds, const char *key,
                           gboolean dflt, gboolean *out, GError **error)
{
    const YNode *v = ynode_get(conds, key);
    if (v == NULL || ynode_is_null(v)) {
        *out = dflt;
        return TRUE;
    }
    return ynode_to_bool(v, out, error);
}

K8sEndpointSlice *k8s_endpoint_slice_parse(K8sMeta *meta, GError **error)
{
    K8sEndpointSlice *s = slice_alloc();
    s->meta = *meta;
    memset(meta, 0, sizeof *meta);
    s->service =
        g_strdup(kv_list_get(s->meta.labels, "kubernetes.io/service-name"));
    if (s->service == NULL) {
        ynode_error(error, s->meta.doc, SCENARIO_ERROR_BAD_REFERENCE,
                    "EndpointSlice %s/%s has no kubernetes.io/service-name "
                    "label",
                    s->meta.ns, s->meta.name);
        goto fail;
    }
    const YNode *pl = ynode_get(s->meta.doc, "ports");
    if (pl != NULL && !ynode_is_null(pl) &&
        (!ynode_expect_seq(pl, "EndpointSlice ports", error) ||
         !parse_ep_ports(s, pl, error))) {
        goto fail;
    }
    const YNode *el = ynode_get(s->meta.doc, "endpoints");
    /* addressType IPv6 and FQDN slices are kept as given (kube-proxy in
     * IPv4 mode skips them); IPv4 ones must hold IPv4 addresses. */
    gboolean ipv4_slice = g_strcmp0(ynode_str(ynode_get(s->meta.doc,
                                                        "addressType")),
                                    "IPv4") == 0;
    if (el != NULL && !ynode_is_null(el) &&
        !ynode_expect_seq(el, "EndpointSlice endpoints", error)) {
        goto fail;
    }
    for (guint i = 0; el != NULL && i < ynode_len(el); i++) {
        const YNode *e = ynode_at(el, i);
        if (!ynode_expect_map(e, "an endpoint", error)) {
            goto fail;
        }
        const YNode *addrs = ynode_get(e, "addresses");
        if (addrs == NULL) {
            ynode_error(error, e, SCENARIO_ERROR_BAD_VALUE,
                        "endpoint has no 'addresses'");
            goto fail;
        }
        if (!ynode_expect_seq(addrs, "endpoint addresses", error)) {
            goto fail;
        }
        for (guint j = 0; j < ynode_len(addrs); j++) {
            const YNode *a = ynode_at(addrs, j);
            const char *ip = NULL;
            if (!ynode_to_string(a, &ip, error)) {
                goto fail;
            }
            if (ipv4_slice && !is_ipv4(ip)) {
                ynode_error(error, a, SCENARIO_ERROR_BAD_VALUE,
                            "endpoint address '%s' is not an IPv4 address",
                            ip);
                goto fail;
            }
        }
        const YNode *conds = ynode_get(e, "conditions");
        gboolean ready = TRUE, serving = TRUE, term = FALSE;
        if (!parse_cond(conds, "ready", TRUE, &ready, error) ||
            !parse_cond(conds, "serving", ready, &serving, error) ||
            !parse_cond(conds, "terminating", FALSE, &term, error)) {
            goto fail;
        }
        /* Kubernetes publishes one address per endpoint; read them all. */
        for (guint j = 0; j < ynode_len(addrs); j++) {
            K8sEndpoint ep = { 0 };
            ep.ip = g_strdup(ynode_str_or(ynode_at(addrs, j), ""));
            ep.ready = ready;
            ep.serving = serving;
            ep.terminating = term;
            ep.node_name = g_strdup(ynode_str(ynode_get(e, "nodeName")));
            ep.zone = g_strdup(ynode_str(ynode_get(e, "zone")));
            g_array_append_val(s->endpoints, ep);
        }
    }
    return s;
fail:
    k8s_endpoint_slice_free(s);
    return NULL;
}

GPtrArray *k8s_endpoints_parse(K8sMeta *meta, GError **error)
{
    g_autoptr(GPtrArray) out =
        g_ptr_array_new_with_free_func((GDestroyNotify)k8s_endpoint_slice_free);
    const YNode *subsets = ynode_get(meta->doc, "subsets");
    for (guint i = 0; subsets != NULL && subsets->kind == YNODE_SEQ &&
                      i < ynode_len(subsets);
         i++) {
        const YNode *sub = ynode_at(subsets, i);
        K8sEndpointSlice *s = slice_alloc();
        g_ptr_array_add(out, s);
        s->meta.kind = g_strdup("Endpoints");
        s->meta.api_version = g_strdup("v1");
        s->meta.ns = g_strdup(meta->ns);
        s->meta.name = g_strdup_printf("%s-%u", meta->name, i);
        s->meta.labels = kv_list_new();
        s->meta.annotations = kv_list_new();
        s->meta.doc = meta->doc;
        s->meta.order = meta->order;
        s->service = g_strdup(meta->name);
        if (!parse_ep_ports(s, ynode_get(sub, "ports"), error)) {
            k8s_meta_clear(meta);
            return NULL;
        }
        const char *lists[] = { "addresses", "notReadyAddresses" };
        for (guint l = 0; l < 2; l++) {
            const YNode *al = ynode_get(sub, lists[l]);
            for (guint j = 0; al != NULL && al->kind == YNODE_SEQ &&
                              j < ynode_len(al);
                 j++) {
                const YNode *a = ynode_at(al, j);
                K8sEndpoint ep = { 0 };
                if (!ynode_expect_map(a, "an Endpoints address", error) ||
                    !opt_ipv4(a, "ip", &ep.ip, error)) {
                    k8s_meta_clear(meta);
                    return NULL;
                }
                if (ep.ip == NULL) {
                    ynode_error(error, a, SCENARIO_ERROR_BAD_VALUE,
                                "Endpoints address has no 'ip'");
                    k8s_meta_clear(meta);
                    return NULL;
                }
                ep.ready = l == 0;
                ep.serving = l == 0;
                ep.node_name = g_strdup(ynode_str(ynode_get(a, "nodeName")));
                g_array_append_val(s->endpoints, ep);
            }
        }
    }
    k8s_meta_clear(meta);
    return g_steal_pointer(&out);
}
