/* analyze-path.c: what only the whole path shows, istioctl never sees the
 * load balancer: the article's four places to add a port (Gateway server,
 * VirtualService for TCP, ingressgateway Service, load balancer) checked
 * from both ends (ISM0001, ISM0004, ISM0005, ISM0006). */
#include "config.h"

#include <string.h>

#include "models/analyze-private.h"
#include "models/gateway-private.h"

/* Snapshots of the pods behind Service @gs. (transfer container) */
static GPtrArray *service_snapshots(const AnalyzeCtx *cx, const K8sService *gs)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < cx->snapshots->len; i++) {
        const GatewaySnapshot *snap = g_ptr_array_index(cx->snapshots, i);
        if (gs->selector != NULL && kv_list_len(gs->selector) > 0 &&
            strcmp(snap->pod->meta.ns, gs->meta.ns) == 0 &&
            kv_list_subset(gs->selector, snap->pod->spec.labels)) {
            g_ptr_array_add(out, (gpointer)snap);
        }
    }
    return out;
}

/* Does a Gateway server resolve to pod port @port on some snapshot: a
 * listener, or a listener the compiler omitted for want of chains (then
 * ISM0002/ISM0003 already say why)? */
static gboolean port_has_server(const GPtrArray *snaps, gint port)
{
    g_autofree char *omitted_suffix = g_strdup_printf("_%d omitted", port);
    for (guint i = 0; i < snaps->len; i++) {
        const GatewaySnapshot *snap = g_ptr_array_index(snaps, i);
        for (guint j = 0; j < snap->listeners->len; j++) {
            if (((const GwListener *)g_ptr_array_index(snap->listeners, j))
                    ->port == port) {
                return TRUE;
            }
        }
        const GPtrArray *notes = gateway_notes(snap);
        for (guint j = 0; j < notes->len; j++) {
            const char *n = g_ptr_array_index(notes, j);
            if (g_str_has_prefix(n, "listener ") &&
                strstr(n, omitted_suffix) != NULL) {
                return TRUE;
            }
        }
    }
    return FALSE;
}

static const K8sServicePort *port_with_node_port(const K8sService *svc,
                                                 gint node_port)
{
    for (guint i = 0; svc != NULL && i < svc->ports->len; i++) {
        const K8sServicePort *sp =
            &g_array_index(svc->ports, K8sServicePort, i);
        if (sp->node_port == node_port) {
            return sp;
        }
    }
    return NULL;
}

/* ISM0001: a listener's nodePort must be some Service's: kube-proxy
 * installs NodePort rules only for Service node ports, so elsewhere every
 * node refuses the connection (R1.3, step 3). The article's own Service
 * has nodePort 30000 behind a load balancer forwarding to 30080. */
static void check_listener_node_ports(AnalyzeCtx *cx, const K8sService *gs)
{
    const GArray *ls = cx->s->lb.listeners;
    for (guint i = 0; ls != NULL && i < ls->len; i++) {
        const LbListener *l = &g_array_index(ls, LbListener, i);
        gboolean found = FALSE;
        for (guint j = 0; j < cx->c->services->len && !found; j++) {
            found = port_with_node_port(g_ptr_array_index(cx->c->services, j),
                                        l->node_port) != NULL;
        }
        if (found) {
            continue;
        }
        g_autofree char *hint = NULL;
        for (guint j = 0; gs != NULL && j < gs->ports->len; j++) {
            const K8sServicePort *sp =
                &g_array_index(gs->ports, K8sServicePort, j);
            if (sp->port == l->port && sp->node_port > 0) {
                hint = g_strdup_printf(" (Service %s/%s port %d has nodePort "
                                       "%d)",
                                       gs->meta.ns, gs->meta.name, sp->port,
                                       sp->node_port);
            }
        }
        analyze__report_scenario(cx, "ISM0001", l->where,
                                 "Load balancer port %d forwards to nodePort "
                                 "%d, but no Service has that nodePort: every "
                                 "node refuses these connections%s.",
                                 l->port, l->node_port,
                                 hint != NULL ? hint : "");
    }
}

/* ISM0006: a listener written in the Scenario reaches the gateway pods on
 * a port where no Gateway server resolves (R3.1): the pod's kernel answers
 * RST (R1.3). The status port 15021 is pilot-agent's readiness endpoint,
 * not a Gateway listener (manifests/charts/gateways/istio-ingress,
 * values.yaml). Defaulted listeners mirror the Service and are skipped. */
static void check_listener_servers(AnalyzeCtx *cx,
                                   const K8sService *gs,
                                   const GPtrArray *snaps)
{
    const GArray *ls = cx->s->lb.listeners;
    for (guint i = 0; ls != NULL && i < ls->len; i++) {
        const LbListener *l = &g_array_index(ls, LbListener, i);
        const K8sServicePort *sp = port_with_node_port(gs, l->node_port);
        if (l->where == NULL || sp == NULL || snaps->len == 0) {
            continue;
        }
        const GatewaySnapshot *first = g_ptr_array_index(snaps, 0);
        gint target = k8s_service_port_target(sp, first->pod);
        if (target == 15021 || port_has_server(snaps, target)) {
            continue;
        }
        analyze__report_scenario(cx, "ISM0006", l->where,
                                 "Load balancer port %d reaches the gateway "
                                 "pods on port %d (nodePort %d, Service %s/%s "
                                 "port %d), but no Gateway server listens "
                                 "there: the pods refuse these connections. "
                                 "Add a server for port %d to a Gateway.",
                                 l->port, target, l->node_port, gs->meta.ns,
                                 gs->meta.name, sp->port, sp->port);
    }
}

/* The Service port through which traffic reaches server port @number: a
 * port equal to it (R3.1), else one whose targetPort is it. */
static const K8sServicePort *
service_port_for(const K8sService *gs, gint number, const K8sPod *pod)
{
    for (guint i = 0; i < gs->ports->len; i++) {
        const K8sServicePort *sp = &g_array_index(gs->ports, K8sServicePort, i);
        if (sp->port == number) {
            return sp;
        }
    }
    for (guint i = 0; i < gs->ports->len; i++) {
        const K8sServicePort *sp = &g_array_index(gs->ports, K8sServicePort, i);
        if (k8s_service_port_target(sp, pod) == number) {
            return sp;
        }
    }
    return NULL;
}

static gboolean listener_to(const GArray *ls, gint node_port)
{
    for (guint i = 0; ls != NULL && i < ls->len; i++) {
        if (g_array_index(ls, LbListener, i).node_port == node_port) {
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean lb_written(const GArray *ls)
{
    for (guint i = 0; ls != NULL && i < ls->len; i++) {
        if (g_array_index(ls, LbListener, i).where != NULL) {
            return TRUE;
        }
    }
    return FALSE;
}

/* Places 3 and 4 for one server of a Gateway on the ingressgateway pods:
 * the Service must have the port (ISM0004, unless IST0162 said it), and a
 * load balancer listener must forward to its nodePort (ISM0005). With the
 * default load balancer (no listeners written) place 4 follows the Service,
 * as the article says of type LoadBalancer. */
static void check_server_places(AnalyzeCtx *cx,
                                const K8sService *gs,
                                const GatewaySnapshot *snap,
                                const IstioGateway *gw,
                                const IstioServer *sv)
{
    const GArray *ls = cx->s->lb.listeners;
    const YNode *lsw =
        ynode_get_key(ynode_path(cx->s->doc, "spec.loadBalancer"), "listeners");
    const YNode *pw = ynode_path(sv->where, "port.number");
    const K8sServicePort *sp = service_port_for(gs, sv->number, snap->pod);
    if (sp == NULL) {
        if (!g_hash_table_contains(cx->port_missing, sv->where)) {
            analyze__report(cx, "ISM0004", gw->meta,
                            pw != NULL ? pw : sv->where,
                            "Port %d of this Gateway is not a port of "
                            "Service %s/%s, the ingressgateway Service the "
                            "load balancer forwards to: add the port to the "
                            "Service.",
                            sv->number, gs->meta.ns, gs->meta.name);
        }
        if (lb_written(ls)) {
            analyze__report_scenario(
                cx, "ISM0005", lsw,
                "No load balancer listener reaches port %d of Gateway %s: "
                "Service %s/%s has no port for it, so there is no nodePort "
                "to forward to. Add the port to the Service, then open it "
                "in the load balancer.",
                sv->number, gw->ref, gs->meta.ns, gs->meta.name);
        }
        return;
    }
    if (sp->node_port == 0) {
        analyze__report(cx, "ISM0005", &gs->meta, sp->where,
                        "Service port %d has no nodePort (the Service is not "
                        "of type NodePort or LoadBalancer): the load balancer "
                        "cannot reach port %d of Gateway %s.",
                        sp->port, sv->number, gw->ref);
        return;
    }
    if (!listener_to(ls, sp->node_port)) {
        analyze__report_scenario(
            cx, "ISM0005", lsw,
            "No load balancer listener forwards to nodePort %d (Service "
            "%s/%s port %d), so port %d of Gateway %s cannot be reached from "
            "outside: open the port in the load balancer and forward it to "
            "all worker nodes.",
            sp->node_port, gs->meta.ns, gs->meta.name, sp->port, sv->number,
            gw->ref);
    }
}

static void check_gateway_ports(AnalyzeCtx *cx,
                                const K8sService *gs,
                                const GPtrArray *snaps)
{
    for (guint i = 0; i < snaps->len; i++) {
        const GatewaySnapshot *snap = g_ptr_array_index(snaps, i);
        for (guint gi = 0; gi < snap->gateways->len; gi++) {
            const IstioGateway *gw = g_ptr_array_index(snap->gateways, gi);
            if (gw->owned_meta != NULL) {
                continue;
            }
            for (guint si = 0; si < gw->servers->len; si++) {
                const IstioServer *sv = g_ptr_array_index(gw->servers, si);
                g_autofree char *skipped = g_strdup_printf(
                    "Gateway %s servers[%u] skipped: ", gw->ref, sv->index);
                gboolean dropped = FALSE;
                const GPtrArray *notes = gateway_notes(snap);
                for (guint n = 0; n < notes->len && !dropped; n++) {
                    dropped =
                        g_str_has_prefix(g_ptr_array_index(notes, n), skipped);
                }
                if (!dropped) {
                    check_server_places(cx, gs, snap, gw, sv);
                }
            }
        }
    }
}

void analyze__path(AnalyzeCtx *cx)
{
    const K8sService *gs = cluster_gateway_service(cx->c);
    check_listener_node_ports(cx, gs);
    if (gs == NULL) {
        return;
    }
    g_autoptr(GPtrArray) snaps = service_snapshots(cx, gs);
    check_listener_servers(cx, gs, snaps);
    check_gateway_ports(cx, gs, snaps);
}
