/* world.c: builds the running cluster from a scenario and changes it along
 * the failure timeline; the control plane's view lags the truth by the
 * scenario's delays, and every change of that view recompiles the
 * endpoint set and each node's kube-proxy rules (DESIGN principle 2). */
#include "config.h"

#include <string.h>

#include "models/app.h"
#include "models/ipv4.h"
#include "models/lb.h"
#include "models/upstream.h"
#include "models/world.h"

/* Control-plane updates carry the new condition in the event's pointer. */
#define CP_READY 1u
#define CP_TERMINATING 2u
#define CP_GONE 4u

static void rebuild_endpoints(World *w)
{
    EndpointSet *es = endpoint_set_new(w->c, w->cp);
    endpoint_set_unref(w->eps);
    w->eps = es;
    for (guint i = 0; i < w->n_nodes; i++) {
        NodeState *ns = &w->nodes[i];
        KubeProxyTable *t = kube_proxy_sync(w->c, w->eps, ns->node, &w->kp_cfg);
        kube_proxy_table_unref(ns->kp);
        ns->kp = t;
        /* The kernel forgets affinity lists of chains that are gone. */
        kube_proxy_state_prune(ns->kp_state, t);
    }
}

static void on_cp_update(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    World *w = ctx;
    guint flags = GPOINTER_TO_UINT(ev->data);
    PodCondition *pc = &w->cp[ev->arg];
    pc->ready = (flags & CP_READY) != 0;
    pc->terminating = (flags & CP_TERMINATING) != 0;
    pc->exists = (flags & CP_GONE) == 0;
    rebuild_endpoints(w);
    const K8sPod *pod = w->pods[ev->arg].pod;
    g_autofree char *what = g_strdup_printf(
        "endpoints: %s/%s %s", pod->meta.ns, pod->meta.name,
        !pc->exists        ? "removed"
        : pc->terminating  ? "terminating"
        : pc->ready        ? "ready"
                           : "not ready");
    results_event(w->results, sim_now(e), what);
}

void world_pod_condition_later(World *w, guint pod, gboolean ready,
                               gboolean terminating, SimTime lag)
{
    guint flags = (ready ? CP_READY : 0) | (terminating ? CP_TERMINATING : 0);
    sim_schedule_in(w->engine, lag, w->ev_cp_update, pod,
                    GUINT_TO_POINTER(flags));
}

static void pod_set_running(World *w, guint i, gboolean running)
{
    PodState *p = &w->pods[i];
    gboolean died = p->running && !running;
    p->running = running;
    p->ready = running;
    if (died) {
        p->generation++;
        if (w->crash_hook != NULL) {
            w->crash_hook(w, i, w->crash_data);
        }
    }
}

static void on_pod_up(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    World *w = ctx;
    PodState *p = &w->pods[ev->arg];
    if (!w->nodes[p->node].up) {
        return; /* the node went down again meanwhile */
    }
    pod_set_running(w, ev->arg, TRUE);
    p->terminating = FALSE;
    if (p->probe_failing) {
        /* A new container starts NotReady and stays so while its
         * readiness probe fails. */
        p->ready = FALSE;
        g_autofree char *what =
            g_strdup_printf("pod %s running, readiness probe failing", p->ref);
        results_event(w->results, sim_now(e), what);
        return;
    }
    g_autofree char *what = g_strdup_printf("pod %s/%s ready", p->pod->meta.ns,
                                            p->pod->meta.name);
    results_event(w->results, sim_now(e), what);
    world_pod_condition_later(w, ev->arg, TRUE, FALSE,
                              w->s->control.endpoint_delay);
}

/* A deleted pod's process exits after its drain; the Deployment's
 * replacement (modelled in the same slot) starts then. */
static void on_pod_stop(SimEngine *e, gpointer ctx, const SimEvent *ev);

static SimTime pod_startup(const World *w, const PodState *p)
{
    if (p->is_gateway) {
        return w->s->default_workload.startup_time;
    }
    return scenario_workload_for(w->s, p->pod)->startup_time;
}

/* S-7: the node lifecycle controller marks a node's pods NotReady only if
 * the node is still silent when node-monitor-grace-period ends; then the
 * endpoints follow after endpointDelay. */
static void on_node_grace(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    World *w = ctx;
    NodeState *ns = &w->nodes[ev->arg];
    if (ns->up || ns->down_epoch != GPOINTER_TO_UINT(ev->data)) {
        return;
    }
    g_autofree char *what = g_strdup_printf(
        "node %s NotReady (node-monitor-grace-period)", ns->node->name);
    results_event(w->results, sim_now(e), what);
    for (guint i = 0; i < w->n_pods; i++) {
        if (w->pods[i].node == ns->node->index) {
            world_pod_condition_later(w, i, FALSE, FALSE,
                                      w->s->control.endpoint_delay);
        }
    }
}

static void fail_node(World *w, NodeState *ns, gboolean down)
{
    ns->up = !down;
    SimTime now = sim_now(w->engine);
    if (down) {
        ns->down_epoch++;
        sim_schedule(w->engine, now + w->s->control.node_grace,
                     w->ev_node_grace, ns->node->index,
                     GUINT_TO_POINTER(ns->down_epoch));
    }
    for (guint i = 0; i < w->n_pods; i++) {
        PodState *p = &w->pods[i];
        if (p->node != ns->node->index) {
            continue;
        }
        if (down) {
            pod_set_running(w, i, FALSE);
        } else {
            sim_schedule(w->engine, now + pod_startup(w, p), w->ev_pod_up, i,
                         NULL);
        }
    }
}

static void on_pod_stop(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    World *w = ctx;
    PodState *p = &w->pods[ev->arg];
    if (!p->running) {
        return;
    }
    pod_set_running(w, ev->arg, FALSE);
    p->terminating = TRUE;
    g_autofree char *what = g_strdup_printf("pod %s exited after its drain",
                                            p->ref);
    results_event(w->results, sim_now(e), what);
    sim_schedule_in(e, pod_startup(w, p), w->ev_pod_up, ev->arg, NULL);
}

/* ---- readiness probes ---------------------------------------------------- */

/* The readiness probe's timing: the first container of the pod that
 * declares one, else Kubernetes' defaults (S-5: period 10 s, failure
 * threshold 3, success threshold 1). What it checks is not modelled: a
 * failing probe is a scenario event. */
static void
probe_timing(const PodState *p, SimTime *period, gint *fails, gint *passes)
{
    *period = 10 * SIM_S;
    *fails = 3;
    *passes = 1;
    const GPtrArray *cs = p->pod->spec.containers;
    for (guint i = 0; cs != NULL && i < cs->len; i++) {
        const K8sContainer *c = g_ptr_array_index(cs, i);
        if (c->has_readiness_probe) {
            *period = c->probe_period * SIM_S;
            *fails = c->probe_failure_threshold;
            *passes = c->probe_success_threshold;
            return;
        }
    }
}

/* The kubelet's verdict, due now: the pod turns NotReady (or Ready) and
 * the control plane publishes it after endpointDelay. Data: the probe
 * epoch it was computed for, shifted, and the verdict in bit 0. */
static void on_probe(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    World *w = ctx;
    PodState *p = &w->pods[ev->arg];
    guint data = GPOINTER_TO_UINT(ev->data);
    gboolean ready = (data & 1u) != 0;
    if ((data >> 1) != p->probe_epoch || !p->running || p->ready == ready) {
        return;
    }
    SimTime period;
    gint fails, passes;
    probe_timing(p, &period, &fails, &passes);
    p->ready = ready;
    g_autofree char *what =
        ready ? g_strdup_printf("pod %s Ready (readiness probe passed %d "
                                "time%s)",
                                p->ref, passes, passes == 1 ? "" : "s")
              : g_strdup_printf("pod %s NotReady (readiness probe failed %d "
                                "time%s)",
                                p->ref, fails, fails == 1 ? "" : "s");
    results_event(w->results, sim_now(e), what);
    world_pod_condition_later(w, ev->arg, ready, p->terminating,
                              w->s->control.endpoint_delay);
}

/* The pod's readiness probe starts failing (@failing) or passes again,
 * now. The kubelet probes at every multiple of periodSeconds of simulated
 * time (a real pod's phase depends on when it started; this one is
 * stated and reproducible) and changes its verdict after failureThreshold
 * failed probes in a row, or successThreshold passed ones (S-5). A flap
 * shorter than that is never seen. The pod keeps running and answering
 * whatever its readiness. */
static void readiness_change(World *w, guint i, gboolean failing)
{
    PodState *p = &w->pods[i];
    if (p->probe_failing == failing) {
        return;
    }
    p->probe_failing = failing;
    p->probe_epoch++;
    if (!p->running || p->ready == !failing) {
        /* Not running: the restart decides (on_pod_up). Already as it
         * should be: a failing streak ends before it counted. */
        return;
    }
    SimTime period;
    gint fails, passes;
    probe_timing(p, &period, &fails, &passes);
    SimTime now = sim_now(w->engine);
    SimTime first = ((now + period - 1) / period) * period;
    SimTime at = first + (SimTime)((failing ? fails : passes) - 1) * period;
    sim_schedule(w->engine, at, w->ev_probe, i,
                 GUINT_TO_POINTER((p->probe_epoch << 1) | (failing ? 0u : 1u)));
}

static void on_probe_passes(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    World *w = ctx;
    g_autofree char *what = g_strdup_printf(
        "readiness-pass %s (end of the flap)", w->pods[ev->arg].ref);
    results_event(w->results, sim_now(e), what);
    readiness_change(w, ev->arg, FALSE);
}

/* istiod pushes the new configuration to every gateway pod at once, after
 * its debounce and push time (control.pushDelay, R4.12). */
static void on_push(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    World *w = ctx;
    GPtrArray *snaps = ev->data;
    for (guint i = 0; i < w->n_pods; i++) {
        GatewaySnapshot *s = g_ptr_array_index(snaps, i);
        if (s != NULL) {
            gateway_snapshot_unref(w->pods[i].gw);
            w->pods[i].gw = gateway_snapshot_ref(s);
        }
    }
    g_ptr_array_unref(snaps);
    results_event(w->results, sim_now(e),
                  "configuration pushed to the gateway pods");
}

static void discard_push(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    g_ptr_array_unref(ev->data);
}

/* kubectl apply/delete of Istio configuration or a Secret: a new immutable
 * view of the cluster and new snapshots for every gateway pod; requests in
 * flight keep the snapshot they started with (DESIGN principle 2). What
 * istiod's validation would refuse leaves the configuration unchanged. */
static void change_config(World *w, const FailureSpec *f)
{
    SimTime now = sim_now(w->engine);
    GError *error = NULL;
    const char *del = f->kind == FAILURE_DELETE ? f->target : NULL;
    /* After every object of the manifests (see k8s.c's epoch). */
    gint64 created = G_GINT64_CONSTANT(1704067200) + 1000000 + now / SIM_S;
    Cluster *view = cluster_derive(w->config, f->docs, del, created, &error);
    GPtrArray *snaps = NULL;
    if (view != NULL) {
        snaps = g_ptr_array_new_full(w->n_pods,
                                     (GDestroyNotify)gateway_snapshot_unref);
        for (guint i = 0; i < w->n_pods && error == NULL; i++) {
            GatewaySnapshot *s =
                w->pods[i].is_gateway
                    ? gateway_compile(view, w->pods[i].pod, &error)
                    : NULL;
            g_ptr_array_add(snaps, s);
        }
    }
    if (error != NULL) {
        g_autofree char *what = g_strdup_printf(
            "%s %s rejected: %s", f->kind == FAILURE_APPLY ? "apply" : "delete",
            f->target, error->message);
        results_event(w->results, now, what);
        g_error_free(error);
        if (snaps != NULL) {
            g_ptr_array_unref(snaps);
        }
        cluster_free(view);
        return;
    }
    g_ptr_array_add(w->views, view);
    w->config = view;
    sim_schedule_in(w->engine, w->s->control.push_delay, w->ev_push, 0, snaps);
}

static void on_failure(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    World *w = ctx;
    const FailureSpec *f = &g_array_index(w->s->failures, FailureSpec, ev->arg);
    static const char *const verbs[] = { "node-down",      "node-up",
                                         "pod-crash",      "pod-restart",
                                         "apply",          "delete",
                                         "readiness-fail", "readiness-pass",
                                         "readiness-flap" };
    G_STATIC_ASSERT(G_N_ELEMENTS(verbs) == FAILURE_READINESS_FLAP + 1);
    g_autofree char *len =
        f->kind == FAILURE_READINESS_FLAP ? sim_time_format(f->length) : NULL;
    g_autofree char *what =
        g_strdup_printf("%s %s%s%s", verbs[f->kind], f->target,
                        len ? " for " : "", len ? len : "");
    results_event(w->results, sim_now(e), what);
    switch (f->kind) {
    case FAILURE_NODE_DOWN:
    case FAILURE_NODE_UP:
        fail_node(w, world_node(w, f->target), f->kind == FAILURE_NODE_DOWN);
        break;
    case FAILURE_POD_CRASH: {
        g_auto(GStrv) parts = g_strsplit(f->target, "/", 2);
        const K8sPod *pod = cluster_find_pod(w->c, parts[0], parts[1]);
        PodState *p = &w->pods[pod->index];
        pod_set_running(w, pod->index, FALSE);
        world_pod_condition_later(w, pod->index, FALSE, FALSE,
                                  w->s->control.endpoint_delay);
        sim_schedule_in(e, pod_startup(w, p), w->ev_pod_up, pod->index, NULL);
        break;
    }
    case FAILURE_POD_RESTART: {
        /* kubectl delete pod: deletionTimestamp now, so the endpoint turns
         * terminating (ready false, serving true: S-4, S-6) once the
         * control plane publishes it; the proxy drains gracefully, still
         * accepting connections, and exits after the drain (R4.13). */
        g_auto(GStrv) parts = g_strsplit(f->target, "/", 2);
        const K8sPod *pod = cluster_find_pod(w->c, parts[0], parts[1]);
        PodState *p = &w->pods[pod->index];
        if (!p->running || p->terminating) {
            break;
        }
        p->terminating = TRUE;
        world_pod_condition_later(w, pod->index, TRUE, TRUE,
                                  w->s->control.endpoint_delay);
        sim_schedule_in(e, w->s->control.drain, w->ev_pod_stop, pod->index,
                        NULL);
        break;
    }
    case FAILURE_APPLY:
    case FAILURE_DELETE:
        change_config(w, f);
        break;
    case FAILURE_READINESS_FAIL:
    case FAILURE_READINESS_PASS:
    case FAILURE_READINESS_FLAP: {
        g_auto(GStrv) parts = g_strsplit(f->target, "/", 2);
        const K8sPod *pod = cluster_find_pod(w->c, parts[0], parts[1]);
        readiness_change(w, pod->index, f->kind != FAILURE_READINESS_PASS);
        if (f->kind == FAILURE_READINESS_FLAP) {
            sim_schedule_in(e, f->length, w->ev_probe_passes, pod->index, NULL);
        }
        break;
    }
    }
}

void world_schedule_failures(World *w)
{
    for (guint i = 0; i < w->s->failures->len; i++) {
        const FailureSpec *f = &g_array_index(w->s->failures, FailureSpec, i);
        sim_schedule(w->engine, f->at, w->ev_failure, i, NULL);
    }
}

static guint addr_slot(const World *w, guint32 addr)
{
    return (guint)((addr * 0x9E3779B1u) >> 7) & w->addr_mask;
}

PodState *world_pod_by_addr(const World *w, guint32 addr)
{
    if (addr == 0) {
        return NULL;
    }
    for (guint i = addr_slot(w, addr);; i = (i + 1) & w->addr_mask) {
        if (w->addr_keys[i] == addr) {
            return w->addr_pods[i];
        }
        if (w->addr_keys[i] == 0) {
            return NULL;
        }
    }
}

/* A later pod with the same address replaces the earlier one. */
static void pod_addr_insert(World *w, guint32 addr, PodState *p)
{
    guint i = addr_slot(w, addr);
    while (w->addr_keys[i] != 0 && w->addr_keys[i] != addr) {
        i = (i + 1) & w->addr_mask;
    }
    w->addr_keys[i] = addr;
    w->addr_pods[i] = p;
}

NodeState *world_node(const World *w, const char *name)
{
    for (guint i = 0; i < w->n_nodes; i++) {
        if (strcmp(w->nodes[i].node->name, name) == 0) {
            return &w->nodes[i];
        }
    }
    return NULL;
}

gboolean world_pod_alive(const World *w, const PodState *p)
{
    return p->running && w->nodes[p->node].up;
}

World *world_new(const Scenario *s, guint64 seed, GError **error)
{
    g_autoptr(World) w = g_new0(World, 1);
    w->s = s;
    w->c = s->cluster;
    w->config = w->c;
    w->views = g_ptr_array_new();
    w->seed = seed;
    /* A log's hosts are few, its paths may be many. */
    w->names = name_table_new(16 * 1024, 1024 * 1024);
    w->paths = name_table_new(64 * 1024, 4 * 1024 * 1024);
    w->engine = sim_engine_new();
    w->results = results_new(s->name, seed);
    w->wall_epoch = g_get_real_time() / G_USEC_PER_SEC;
    w->n_nodes = w->c->nodes->len;
    w->nodes = g_new0(NodeState, w->n_nodes);
    w->n_pods = w->c->pods->len;
    w->pods = g_new0(PodState, w->n_pods + 1);
    w->cp = g_new0(PodCondition, w->n_pods + 1);
    guint slots = 16;
    while (slots < 2 * w->n_pods) {
        slots *= 2;
    }
    w->addr_keys = g_new0(guint32, slots);
    w->addr_pods = g_new0(PodState *, slots);
    w->addr_mask = slots - 1;
    kube_proxy_config_init_default(&w->kp_cfg);
    g_free(w->kp_cfg.cluster_cidr);
    w->kp_cfg.cluster_cidr = g_strdup(w->c->net.cluster_cidr);
    for (guint i = 0; i < w->n_nodes; i++) {
        NodeState *ns = &w->nodes[i];
        ns->node = g_ptr_array_index(w->c->nodes, i);
        ns->name = g_intern_string(ns->node->name);
        if (!ipv4_parse(ns->node->ip, &ns->addr)) {
            ns->addr = 0;
        }
        ns->up = TRUE;
        ns->kp_state = kube_proxy_state_new();
        g_autofree char *name =
            g_strdup_printf("node/%s/kube-proxy", ns->node->name);
        rng_init_named(&ns->rng, seed, name);
    }
    g_autoptr(GPtrArray) gws = cluster_gateway_pods(w->c);
    for (guint i = 0; i < w->n_pods; i++) {
        PodState *p = &w->pods[i];
        p->pod = g_ptr_array_index(w->c->pods, i);
        {
            g_autofree char *ref = k8s_meta_ref(&p->pod->meta);
            p->ref = g_intern_string(ref);
        }
        p->running = TRUE;
        p->ready = p->pod->ready;
        /* A pod the manifests give as NotReady fails its probe until a
         * readiness-pass. */
        p->probe_failing = !p->pod->ready;
        p->node = cluster_find_node(w->c, p->pod->node_name)->index;
        p->is_gateway = g_ptr_array_find(gws, p->pod, NULL);
        w->cp[i] = (PodCondition){ .ready = p->pod->ready, .exists = TRUE };
        g_autofree char *name =
            g_strdup_printf("pod/%s/%s", p->pod->meta.ns, p->pod->meta.name);
        rng_init_named(&p->rng, seed, name);
        guint32 addr;
        if (ipv4_parse(p->pod->ip, &addr) && addr != 0) {
            pod_addr_insert(w, addr, p);
        }
        if (p->is_gateway) {
            p->gw = gateway_compile(w->c, p->pod, error);
            if (p->gw == NULL) {
                return NULL;
            }
            p->up = upstream_new(w);
        } else {
            const WorkloadSpec *ws = scenario_workload_for(s, p->pod);
            p->app = app_pod_new(ws, app_preset_for(ws, p->pod));
        }
    }
    rebuild_endpoints(w);
    w->lb = lb_new(w);
    w->ev_cp_update = sim_engine_register(w->engine, "control-plane",
                                          on_cp_update, NULL, w);
    w->ev_failure = sim_engine_register(w->engine, "failure", on_failure,
                                        NULL, w);
    w->ev_pod_up = sim_engine_register(w->engine, "pod-up", on_pod_up, NULL, w);
    w->ev_pod_stop = sim_engine_register(w->engine, "pod-stop", on_pod_stop,
                                         NULL, w);
    w->ev_push = sim_engine_register(w->engine, "config-push", on_push,
                                     discard_push, w);
    w->ev_node_grace = sim_engine_register(w->engine, "node-grace",
                                           on_node_grace, NULL, w);
    w->ev_probe =
        sim_engine_register(w->engine, "readiness-probe", on_probe, NULL, w);
    w->ev_probe_passes = sim_engine_register(w->engine, "readiness-passes",
                                             on_probe_passes, NULL, w);
    return g_steal_pointer(&w);
}

void world_free(World *w)
{
    if (w == NULL) {
        return;
    }
    /* Pending events may point at requests the path owns: the path clears
     * the engine before the world goes. */
    sim_engine_free(w->engine);
    lb_free(w->lb);
    for (guint i = 0; w->nodes != NULL && i < w->n_nodes; i++) {
        kube_proxy_table_unref(w->nodes[i].kp);
        kube_proxy_state_free(w->nodes[i].kp_state);
    }
    for (guint i = 0; w->pods != NULL && i < w->n_pods; i++) {
        gateway_snapshot_unref(w->pods[i].gw);
        upstream_free(w->pods[i].up);
        app_pod_free(w->pods[i].app);
    }
    /* Snapshots borrow the views: newest view last. */
    for (guint i = w->views != NULL ? w->views->len : 0; i > 0; i--) {
        cluster_free(g_ptr_array_index(w->views, i - 1));
    }
    if (w->views != NULL) {
        g_ptr_array_unref(w->views);
    }
    g_free(w->nodes);
    g_free(w->pods);
    g_free(w->cp);
    endpoint_set_unref(w->eps);
    kube_proxy_config_clear(&w->kp_cfg);
    g_free(w->addr_keys);
    g_free(w->addr_pods);
    results_free(w->results);
    name_table_free(w->names);
    name_table_free(w->paths);
    g_free(w);
}
