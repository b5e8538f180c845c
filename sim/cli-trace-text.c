/* cli-trace-text.c: the text of `ingress-sim trace`. By default a narrated
 * account: one paragraph a step of the article's nine, saying what the
 * component decided and the rule that made it decide, when and how long it
 * took; then the outcome, where the time went and, when the request
 * failed, what to change. --explain adds background for newcomers,
 * --verbose lists every recorded decision (kube-proxy rule by rule). It
 * reads the Trace the models recorded (models/trace.h) and decides
 * nothing: the command line layer (DESIGN.md). */
#include "config.h"

#include <string.h>

#include "models/istio.h"
#include "sim/cli.h"

#define WRAP_COLUMNS 78
#define INDENT       "    "

/* The article's nine steps, by number. */
static const char *const step_names[10] = {
    NULL,
    "client",
    "load balancer",
    "node + kube-proxy",
    "ingressgateway Service",
    "gateway pod (Envoy)",
    "Gateway",
    "VirtualService",
    "application Service",
    "application pod",
};

/* --explain: what a newcomer needs to read each step, two or three
 * sentences (the article's own explanations, expanded). */
static const char *const backgrounds[10] = {
    NULL,
    /* 1 */
    "A client (a browser, curl, a database driver) opens a TCP connection "
    "to the address and port it was given: the load balancer's, never a "
    "pod's. For https and tls it puts the host name in the TLS ClientHello "
    "(SNI); that is all the gateway can see of the host before TLS is "
    "terminated.",
    /* 2 */
    "The external load balancer sits outside the cluster. A manually "
    "configured one (as in the article) knows nothing of pods: it forwards "
    "each port to a fixed nodePort on every worker node, and health checks "
    "decide which nodes are in rotation; a dead node is noticed only after "
    "several failed checks.",
    /* 3 */
    "Nothing runs on a nodePort. kube-proxy writes iptables rules on every "
    "node that match the nodePort and rewrite the destination (DNAT) to one "
    "ready pod of the ingressgateway Service, picked at random and possibly "
    "on another node. With externalTrafficPolicy: Local only pods on the "
    "same node qualify, and the client address is kept.",
    /* 4 */
    "A Service is not a process: it is a name, a port mapping (port -> "
    "targetPort, plus the nodePort) and the list of its ready pods "
    "(EndpointSlices). The istio-ingressgateway Service maps 80 to 8080 and "
    "443 to 8443, so Envoy listens on the target ports.",
    /* 5 */
    "The ingressgateway pod runs Envoy, configured by istiod from the "
    "Gateways and VirtualServices. Envoy has one listener per port; on it "
    "a filter chain is chosen by the TLS server name (SNI), and the chain "
    "terminates TLS with its certificate, passes TLS through, or proxies "
    "plain TCP. No listener on a port: the connection is refused.",
    /* 6 */
    "A Gateway is configuration, not a hop: its servers tell istiod which "
    "ports, protocols, hosts and certificates to open on the gateway pods "
    "its selector matches. Don't confuse it with the ingressgateway "
    "Deployment it configures.",
    /* 7 */
    "A VirtualService is configuration too. Bound to a Gateway by its "
    "gateways list, its hosts become Envoy virtual hosts and its http routes "
    "Envoy routes, tried in order; for TCP its tcp routes pick the "
    "destination by port. An authority no virtual host matches, or a path "
    "no route matches, gets 404 NR from Envoy itself.",
    /* 8 */
    "The route's destination is an Envoy cluster named "
    "outbound|PORT|SUBSET|HOST. Envoy does not use the Service's cluster IP "
    "or kube-proxy: istiod sends it the Service's endpoints (EDS) and Envoy "
    "picks a pod itself (LEAST_REQUEST by default), retrying failed "
    "connects on other pods.",
    /* 9 */
    "The application pod serves the request; when all its workers are busy "
    "the request waits in its queue. The answer travels back the way it "
    "came: Envoy, the node, the load balancer, the client.",
};

/* ---- formatting ---- */

/* A duration for people: three significant digits, unit us/ms/s, no
 * trailing zeros ("304us", "2.3ms", "127s"). Returns: (transfer full). */
char *cli_duration_text(SimTime t)
{
    if (t <= 0) {
        return g_strdup("0s");
    }
    if (t < SIM_US) {
        return g_strdup_printf("%" G_GINT64_FORMAT "ns", t);
    }
    double v;
    const char *unit;
    if (t < SIM_MS) {
        v = (double)t / (double)SIM_US;
        unit = "us";
    } else if (t < SIM_S) {
        v = (double)t / (double)SIM_MS;
        unit = "ms";
    } else {
        v = (double)t / (double)SIM_S;
        unit = "s";
    }
    int decimals = v >= 100.0 ? 0 : v >= 10.0 ? 1 : 2;
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf,
                    decimals == 0   ? "%.0f"
                    : decimals == 1 ? "%.1f"
                                    : "%.2f",
                    v);
    if (strchr(buf, '.') != NULL) {
        gsize n = strlen(buf);
        while (n > 0 && buf[n - 1] == '0') {
            buf[--n] = '\0';
        }
        if (n > 0 && buf[n - 1] == '.') {
            buf[--n] = '\0';
        }
    }
    return g_strconcat(buf, unit, NULL);
}

/* Appends @text word-wrapped at WRAP_COLUMNS, every line starting with
 * @indent; words longer than a line stay whole. */
static void append_wrapped(GString *out, const char *indent, const char *text)
{
    gsize col = 0;
    const gsize width = WRAP_COLUMNS;
    const gsize ilen = strlen(indent);
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        const char *end = p;
        while (*end != '\0' && *end != ' ') {
            end++;
        }
        gsize wlen = (gsize)(end - p);
        if (col == 0) {
            g_string_append(out, indent);
            col = ilen;
        } else if (col + 1 + wlen > width) {
            g_string_append_c(out, '\n');
            g_string_append(out, indent);
            col = ilen;
        } else {
            g_string_append_c(out, ' ');
            col++;
        }
        g_string_append_len(out, p, (gssize)wlen);
        col += wlen;
        p = end;
    }
    if (col > 0) {
        g_string_append_c(out, '\n');
    }
}

/* @s as a sentence: a first word of plain lower-case letters gets a
 * capital when @capital (not names such as "istio-system/gw"), and a final
 * period unless it ends with punctuation already. Returns: (transfer full). */
static char *sentence_end(const char *s, gboolean capital)
{
    gsize n = strlen(s);
    char *out = n > 0 && strchr(".!?", s[n - 1]) != NULL
                    ? g_strdup(s)
                    : g_strconcat(s, ".", NULL);
    gsize w = 0;
    while (capital && g_ascii_islower(out[w])) {
        w++;
    }
    if (w > 0 && (out[w] == ' ' || out[w] == '\0')) {
        out[0] = g_ascii_toupper(out[0]);
    }
    return out;
}

/* ---- reading iptables rule lines ---- */

/* The --comment of an iptables-save rule line, quoted or not, or NULL.
 * Returns: (transfer full). */
static char *rule_comment(const char *line)
{
    const char *p = line != NULL ? strstr(line, "--comment ") : NULL;
    if (p == NULL) {
        return NULL;
    }
    p += strlen("--comment ");
    if (*p == '"') {
        const char *e = strchr(p + 1, '"');
        return e != NULL ? g_strndup(p + 1, (gsize)(e - p - 1)) : NULL;
    }
    const char *e = strchr(p, ' ');
    return e != NULL ? g_strndup(p, (gsize)(e - p)) : g_strdup(p);
}

/* The number after "--dport " in a rule line, or 0. */
static gint rule_dport(const char *line)
{
    const char *p = line != NULL ? strstr(line, "--dport ") : NULL;
    if (p == NULL) {
        return 0;
    }
    return (gint)g_ascii_strtoll(p + strlen("--dport "), NULL, 10);
}

/* ---- narration ---- */

static void narrated_step_clear(gpointer p)
{
    NarratedStep *n = p;
    g_free(n->where);
    g_free(n->sentence);
    g_free(n->rule);
}

void narration_free(Narration *n)
{
    if (n == NULL) {
        return;
    }
    g_array_unref(n->steps);
    g_free(n->outcome);
    g_free(n->timing);
    g_free(n->hint);
    g_free(n);
}

/* Step 3 as one sentence: kube-proxy's walk records one step per rule;
 * what a reader needs is the NodePort rule that matched, the chains it
 * led through and the verdict. */
static void
narrate_node(const Trace *tr, guint first, guint n, NarratedStep *ns)
{
    const TraceStep *summary = NULL;  /* kube-proxy's verdict record */
    const TraceStep *node_rec = NULL; /* the node's own word, if any */
    const TraceStep *deciding = NULL; /* last rule before the verdict */
    const TraceStep *nodeport = NULL; /* the KUBE-NODEPORTS jump */
    guint rules = 0;
    g_autoptr(GString) path = g_string_new(NULL);
    for (guint i = first; i < first + n; i++) {
        const TraceStep *s = trace_step(tr, i);
        if (strcmp(s->component, "kube-proxy") != 0) {
            node_rec = s;
            continue;
        }
        /* Rule records read "TABLE CHAIN: what"; the verdict does not. */
        gboolean is_rule = g_str_has_prefix(s->decision, "nat ") ||
                           g_str_has_prefix(s->decision, "filter ") ||
                           g_str_has_prefix(s->decision, "mangle ") ||
                           g_str_has_prefix(s->decision, "raw ");
        if (!is_rule) {
            summary = s;
            continue;
        }
        rules++;
        deciding = s;
        const char *jump = strstr(s->decision, ": jump to ");
        if (jump == NULL || !g_str_has_prefix(s->decision, "nat ")) {
            continue;
        }
        const char *target = jump + strlen(": jump to ");
        if (g_str_has_prefix(s->decision, "nat KUBE-NODEPORTS: ")) {
            nodeport = s;
            g_string_append_printf(path, "KUBE-NODEPORTS -> %s", target);
        } else if (nodeport != NULL &&
                   !g_str_has_prefix(target, "KUBE-MARK-MASQ") &&
                   !g_str_has_prefix(target, "KUBE-POSTROUTING")) {
            g_string_append_printf(path, " -> %s", target);
        }
    }

    g_autoptr(GString) sent = g_string_new(NULL);
    g_autoptr(GString) rule = g_string_new(NULL);
    if (nodeport != NULL) {
        g_autofree char *comment = rule_comment(nodeport->reason);
        gint dport = rule_dport(nodeport->reason);
        g_string_append_printf(sent, "the NodePort rule for %s",
                               comment != NULL ? comment : "a Service");
        if (dport > 0) {
            g_string_append_printf(sent, " (tcp --dport %d)", dport);
        }
        g_string_append(sent, " matched; ");
    }
    const TraceStep *verdict = node_rec != NULL ? node_rec : summary;
    if (verdict == NULL) {
        g_string_append(sent, "no verdict recorded");
    } else if (verdict == summary && strcmp(summary->decision, "DROP") == 0) {
        g_string_append(sent, "kube-proxy's rules drop the packet: no RST, "
                              "no answer, the client waits");
    } else if (verdict == summary && strcmp(summary->decision, "REJECT") == 0) {
        g_string_append(sent, "kube-proxy's rules reject the connection "
                              "(ICMP port unreachable)");
    } else {
        g_string_append(sent, verdict->decision);
    }
    if (verdict != NULL && verdict->reason != NULL) {
        g_string_append(rule, verdict->reason);
    }
    if (verdict == summary && deciding != NULL && deciding->reason != NULL &&
        summary != NULL && strcmp(summary->decision, "DNAT") != 0 &&
        !g_str_has_prefix(summary->decision, "DNAT ")) {
        g_string_append_printf(rule, "%s%s", rule->len > 0 ? "; rule: " : "",
                               deciding->reason);
    }
    if (rules > 0) {
        g_string_append_printf(rule, "%s%u iptables rules walked",
                               rule->len > 0 ? "; " : "", rules);
        if (path->len > 0) {
            g_string_append_printf(rule, " (%s)", path->str);
        }
        g_string_append(rule, ", --verbose lists each");
    }
    ns->sentence = sentence_end(sent->str, TRUE);
    ns->rule = rule->len > 0 ? sentence_end(rule->str, FALSE) : NULL;
}

/* Any other step: its decisions in order, then the rules behind them. */
static void
narrate_generic(const Trace *tr, guint first, guint n, NarratedStep *ns)
{
    g_autoptr(GString) sent = g_string_new(NULL);
    g_autoptr(GPtrArray) rules = g_ptr_array_new();
    for (guint i = first; i < first + n; i++) {
        const TraceStep *s = trace_step(tr, i);
        /* "cluster X" followed by "cluster X: endpoint ...": say it once
         * (its rule still counts). */
        if (i + 1 == first + n ||
            !g_str_has_prefix(trace_step(tr, i + 1)->decision, s->decision)) {
            g_string_append_printf(sent, "%s%s", sent->len > 0 ? "; " : "",
                                   s->decision);
        }
        gboolean seen = s->reason == NULL;
        for (guint k = 0; k < rules->len && !seen; k++) {
            seen = strcmp(g_ptr_array_index(rules, k), s->reason) == 0;
        }
        if (!seen) {
            g_ptr_array_add(rules, s->reason);
        }
    }
    ns->sentence = sentence_end(sent->str, TRUE);
    if (rules->len > 0) {
        g_autoptr(GString) r = g_string_new(NULL);
        for (guint k = 0; k < rules->len; k++) {
            g_string_append_printf(r, "%s%s", k > 0 ? "; " : "",
                                   (const char *)g_ptr_array_index(rules, k));
        }
        ns->rule = sentence_end(r->str, FALSE);
    }
}

static const char *fail_reason_text(FailReason r)
{
    switch (r) {
    case FAIL_REFUSED:
        return "connection refused";
    case FAIL_RESET:
        return "connection reset";
    case FAIL_TIMEOUT:
        return "no answer at all (the connect timed out)";
    case FAIL_TLS_HANDSHAKE:
        return "TLS handshake failed";
    case FAIL_N_REASONS:
        break;
    }
    return "failed";
}

static char *outcome_sentence(const TraceResult *t)
{
    const RequestOutcome *o = &t->out;
    const char *step_name =
        o->step >= 1 && o->step <= 9 ? step_names[o->step] : "?";
    g_autofree char *total = cli_duration_text(o->done - o->sent);
    const char *pod = trace_get(t->tr, "upstream_pod");
    switch (o->kind) {
    case OUTCOME_RESPONSE:
        if (o->from_gateway) {
            return g_strdup_printf(
                "HTTP %d%s%s generated by Envoy, decided at step %u (%s)%s%s; "
                "the client had it %s after sending.",
                o->status, strcmp(o->flags, "-") != 0 ? " " : "",
                strcmp(o->flags, "-") != 0 ? o->flags : "", o->step, step_name,
                t->location != NULL ? ", Location: " : "",
                t->location != NULL ? t->location : "", total);
        }
        return g_strdup_printf("HTTP %d from the application%s%s; the client "
                               "had it %s after sending.",
                               o->status, pod != NULL ? " pod " : "",
                               pod != NULL ? pod : "", total);
    case OUTCOME_CONNECTION:
        return g_strdup_printf("the connection was proxied to pod %s; it was "
                               "set up and used for %s.",
                               pod != NULL ? pod : "?", total);
    case OUTCOME_FAILURE:
        return g_strdup_printf("%s at step %u (%s); the client knew %s after "
                               "sending.",
                               fail_reason_text(o->reason), o->step, step_name,
                               total);
    }
    return g_strdup("?");
}

/* Where the time went, from the request's phases (results.json
 * breakdown_ms). Returns: (transfer full). */
static char *timing_sentence(const TraceResult *t)
{
    static const char *const labels[PHASE_N] = {
        "client <-> load balancer",  "load balancer <-> node",
        "node -> gateway pod",       "in Envoy (TLS, retries included)",
        "Envoy -> application pod",  "waiting in the application's queue",
        "served by the application",
    };
    const RequestOutcome *o = &t->out;
    g_autoptr(GString) s = g_string_new(NULL);
    SimTime sum = 0;
    for (guint p = 0; p < PHASE_N; p++) {
        if (o->phase[p] <= 0) {
            continue;
        }
        sum += o->phase[p];
        g_autofree char *d = cli_duration_text(o->phase[p]);
        g_string_append_printf(s, "%s%s %s", s->len > 0 ? ", " : "", labels[p],
                               d);
    }
    SimTime total = o->done - o->sent;
    if (total - sum > SIM_US) {
        g_autofree char *d = cli_duration_text(total - sum);
        g_string_append_printf(s, "%s%s %s", s->len > 0 ? ", " : "",
                               o->kind == OUTCOME_FAILURE
                                   ? "waiting for an answer that never came"
                                   : "overlapping or waiting",
                               d);
    }
    g_autofree char *tot = cli_duration_text(total);
    g_string_append_printf(s, "%stotal %s", s->len > 0 ? "; " : "", tot);
    return sentence_end(s->str, FALSE);
}

/* ---- what to change ---- */

/* The last recorded step of @component, or NULL. */
static const TraceStep *last_of(const Trace *tr, const char *component)
{
    for (guint i = trace_len(tr); i > 0; i--) {
        const TraceStep *s = trace_step(tr, i - 1);
        if (strcmp(s->component, component) == 0) {
            return s;
        }
    }
    return NULL;
}

/* The first recorded step whose decision or reason contains @needle. */
static const TraceStep *find_text(const Trace *tr, const char *needle)
{
    for (guint i = 0; i < trace_len(tr); i++) {
        const TraceStep *s = trace_step(tr, i);
        if (strstr(s->decision, needle) != NULL ||
            (s->reason != NULL && strstr(s->reason, needle) != NULL)) {
            return s;
        }
    }
    return NULL;
}

/* The text between @after and the next @until in @s, or NULL.
 * Returns: (transfer full). */
static char *text_between(const char *s, const char *after, const char *until)
{
    const char *p = s != NULL ? strstr(s, after) : NULL;
    if (p == NULL) {
        return NULL;
    }
    p += strlen(after);
    const char *e = strstr(p, until);
    return e != NULL ? g_strndup(p, (gsize)(e - p)) : g_strdup(p);
}

typedef struct {
    const Scenario *s;        /* nullable */
    const TraceResult *t;     /* the traced request */
    gint lb_port;             /* the load balancer port used */
    gint node_port;           /* its listener's nodePort, 0: none */
    const K8sService *svc;    /* the ingressgateway Service, nullable */
    const K8sServicePort *sp; /* its port behind node_port, nullable */
    const char *node;         /* node the load balancer chose, nullable */
} HintCtx;

static void hint_ctx_init(HintCtx *h, const Scenario *s, const TraceResult *t)
{
    memset(h, 0, sizeof *h);
    h->s = s;
    h->t = t;
    h->lb_port = t->url.port;
    h->node = trace_get(t->tr, "lb_node");
    if (s == NULL) {
        return;
    }
    for (guint i = 0; s->lb.listeners != NULL && i < s->lb.listeners->len;
         i++) {
        const LbListener *l = &g_array_index(s->lb.listeners, LbListener, i);
        if (l->port == h->lb_port) {
            h->node_port = l->node_port;
        }
    }
    h->svc = cluster_gateway_service(s->cluster);
    for (guint i = 0; h->svc != NULL && i < h->svc->ports->len; i++) {
        const K8sServicePort *p =
            &g_array_index(h->svc->ports, K8sServicePort, i);
        if (h->node_port != 0 && p->node_port == h->node_port) {
            h->sp = p;
        }
    }
}

/* "30080 (http2), 30443 (https)": the Service's nodePorts. */
static char *service_node_ports(const K8sService *svc)
{
    g_autoptr(GString) s = g_string_new(NULL);
    for (guint i = 0; svc != NULL && i < svc->ports->len; i++) {
        const K8sServicePort *p = &g_array_index(svc->ports, K8sServicePort, i);
        if (p->node_port == 0) {
            continue;
        }
        g_string_append_printf(s, "%s%d", s->len > 0 ? ", " : "", p->node_port);
        if (p->name != NULL) {
            g_string_append_printf(s, " (%s)", p->name);
        }
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static char *hint_lb(const HintCtx *h)
{
    const Scenario *s = h->s;
    if (h->t->out.reason == FAIL_REFUSED) {
        const K8sServicePort *by_port = NULL;
        for (guint i = 0; h->svc != NULL && i < h->svc->ports->len; i++) {
            const K8sServicePort *p =
                &g_array_index(h->svc->ports, K8sServicePort, i);
            if (p->port == h->lb_port && p->node_port != 0) {
                by_port = p;
            }
        }
        if (by_port != NULL) {
            return g_strdup_printf(
                "The load balancer has no listener on port %d. Open port %d "
                "on the load balancer and forward it to nodePort %d (the "
                "ingressgateway Service's port %d) on every worker node; in "
                "a scenario, add {port: %d, nodePort: %d} to "
                "spec.loadBalancer.listeners.",
                h->lb_port, h->lb_port, by_port->node_port, h->lb_port,
                h->lb_port, by_port->node_port);
        }
        return g_strdup_printf(
            "The load balancer has no listener on port %d. Open port %d on "
            "the load balancer and forward it to a nodePort of the "
            "ingressgateway Service on every worker node (add the port to "
            "the Service first if it has none; in a scenario, "
            "spec.loadBalancer.listeners).",
            h->lb_port, h->lb_port);
    }
    if (s != NULL && !s->lb.health.enabled) {
        return g_strdup("Every backend of the load balancer is out of "
                        "rotation. Check spec.loadBalancer.backends.");
    }
    gint hc = h->svc != NULL ? h->svc->health_check_node_port : 0;
    g_autofree char *iv =
        s != NULL ? cli_duration_text(s->lb.health.interval) : g_strdup("?");
    g_autofree char *local =
        hc != 0 ? g_strdup_printf(" (with externalTrafficPolicy: Local, the "
                                  "Service's healthCheckNodePort %d, over "
                                  "HTTP)",
                                  hc)
                : g_strdup("");
    return g_strdup_printf(
        "Every backend of the load balancer is out of rotation: its health "
        "check on nodePort %d (every %s) fails on every node. Check that "
        "the nodes are up and that the check asks a port every healthy node "
        "answers%s.",
        s != NULL ? s->lb.health.node_port : 0, iv, local);
}

static char *hint_node(const HintCtx *h)
{
    const Trace *tr = h->t->tr;
    const char *node = h->node != NULL ? h->node : "?";
    const Scenario *s = h->s;
    if (h->t->out.reason == FAIL_REFUSED) {
        if (h->svc != NULL && h->sp == NULL) {
            g_autofree char *ports = service_node_ports(h->svc);
            return g_strdup_printf(
                "Nothing listens on nodePort %d on node %s: the load balancer "
                "forwards port %d to nodePort %d, but the ingressgateway "
                "Service %s/%s does not expose it (its nodePorts: %s). Make "
                "them agree: give the Service's port %d nodePort %d, or "
                "forward the load balancer's port %d to the nodePort the "
                "Service has. `ingress-sim iptables SCENARIO --node %s | grep "
                "KUBE-NODEPORTS` lists what the node answers.",
                h->node_port, node, h->lb_port, h->node_port, h->svc->meta.ns,
                h->svc->meta.name, ports[0] != '\0' ? ports : "none",
                h->lb_port, h->node_port, h->lb_port, node);
        }
        return g_strdup_printf(
            "kube-proxy on %s rejects the connection: the ingressgateway "
            "Service has no ready endpoint for nodePort %d. Check that its "
            "gateway pods exist, are ready, and match the Service's "
            "selector.",
            node, h->node_port);
    }
    const TraceStep *down = find_text(tr, " is down: ");
    if (down != NULL) {
        const char *dn = down->node != NULL ? down->node : node;
        if (s != NULL && !s->lb.health.enabled) {
            return g_strdup_printf(
                "Node %s is down and the load balancer, which does no health "
                "checks, keeps sending it new connections. Enable health "
                "checks (spec.loadBalancer.healthCheck) so it takes a dead "
                "node out of rotation.",
                dn);
        }
        SimTime gap =
            s != NULL ? s->lb.health.interval * s->lb.health.unhealthy_threshold
                      : 0;
        g_autofree char *iv =
            cli_duration_text(s != NULL ? s->lb.health.interval : 0);
        g_autofree char *gs = cli_duration_text(gap);
        return g_strdup_printf(
            "Node %s is down, and the load balancer keeps sending it new "
            "connections until its health check has failed %d times in a row "
            "(one check every %s: up to %s). A shorter interval or a lower "
            "unhealthyThreshold (spec.loadBalancer.healthCheck) shortens "
            "that window; clients that retry on a new connection hide it.",
            dn, s != NULL ? s->lb.health.unhealthy_threshold : 0, iv, gs);
    }
    if (find_text(tr, "has no local endpoints") != NULL) {
        gint hc = h->svc != NULL ? h->svc->health_check_node_port : 0;
        g_autofree char *fix =
            hc != 0 ? g_strdup_printf(
                          "Let the load balancer check the Service's "
                          "healthCheckNodePort %d over HTTP "
                          "(spec.loadBalancer.healthCheck.nodePort: %d): "
                          "kube-proxy answers 503 there on nodes without a "
                          "ready gateway pod, so the load balancer skips "
                          "them",
                          hc, hc)
                    : g_strdup("Make the Service type LoadBalancer, so "
                               "Kubernetes gives it a healthCheckNodePort, "
                               "and let the load balancer check that port "
                               "over HTTP: kube-proxy answers 503 there on "
                               "nodes without a ready gateway pod");
        return g_strdup_printf(
            "Node %s runs no ready gateway pod, and the ingressgateway "
            "Service has externalTrafficPolicy: Local, so kube-proxy drops "
            "the connection there without a word. %s. Or run a gateway pod "
            "on every node behind the load balancer, or go back to "
            "externalTrafficPolicy: Cluster (the client address is then "
            "lost).",
            node, fix);
    }
    return g_strdup_printf("The connection died on node %s (see step 3's "
                           "rule). `ingress-sim iptables SCENARIO --node %s` "
                           "shows the rules it walked.",
                           node, node);
}

/* The Gateways with a server on Service port @port (comma-separated
 * "ns/name (PROTOCOL)") and whether any of them is TCP-like. */
static char *
gateways_on_port(const Cluster *c, gint port, gboolean *l4, char **first_ref)
{
    g_autoptr(GString) s = g_string_new(NULL);
    *l4 = FALSE;
    *first_ref = NULL;
    for (guint i = 0; c != NULL && i < c->gateways->len; i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(IstioGateway) g =
            istio_gateway_parse(g_ptr_array_index(c->gateways, i), &err);
        for (guint k = 0; g != NULL && k < g->servers->len; k++) {
            const IstioServer *sv = g_ptr_array_index(g->servers, k);
            if (sv->number != port) {
                continue;
            }
            gboolean tcp = !istio_protocol_is_http(sv->protocol) &&
                           sv->protocol != ISTIO_PROTO_HTTPS;
            *l4 = *l4 || tcp;
            if (*first_ref == NULL) {
                *first_ref = g_strdup(g->ref);
            }
            g_string_append_printf(s, "%s%s (%s)", s->len > 0 ? ", " : "",
                                   g->ref, sv->protocol_text);
        }
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static char *hint_gateway_pod(const HintCtx *h)
{
    const Trace *tr = h->t->tr;
    const FailReason why = h->t->out.reason;
    const TraceStep *tls = last_of(tr, "Envoy TLS");
    if (why == FAIL_REFUSED) {
        const TraceStep *l = last_of(tr, "Envoy listener");
        g_autofree char *tport =
            l != NULL ? text_between(l->decision, "on port ", " of ") : NULL;
        gint port = h->sp != NULL ? h->sp->port : h->lb_port;
        gboolean l4 = FALSE;
        g_autofree char *first = NULL;
        g_autofree char *gws = gateways_on_port(
            h->s != NULL ? h->s->cluster : NULL, port, &l4, &first);
        g_autofree char *head = g_strdup_printf(
            "Nothing listens on port %s of the gateway pod: istiod opens a "
            "listener on a target port only for a Gateway server on the "
            "Service port behind it (%d), and for a TCP or TLS server only "
            "when a VirtualService binds a route to it (R4.6).",
            tport != NULL ? tport : "?", port);
        if (gws[0] == '\0') {
            return g_strdup_printf(
                "%s No Gateway has a server on port %d: add one to a Gateway "
                "that selects the ingressgateway pods (the article: \"Add the "
                "port to an existing Gateway or configure a new\"). "
                "`ingress-sim config-dump SCENARIO` lists the listeners.",
                head, port);
        }
        if (l4) {
            return g_strdup_printf(
                "%s Port %d has a server in %s, so the VirtualService is what "
                "is missing: add one with gateways: [%s] and a tcp route "
                "matching port %d (the article: \"If it's a TCP service also "
                "add the port to the VirtualService\").",
                head, port, gws, first, port);
        }
        return g_strdup_printf(
            "%s Port %d has a server in %s: check that the Gateway's selector "
            "matches this gateway pod and that the Service's targetPort is "
            "the port Envoy uses (`ingress-sim config-dump SCENARIO`).",
            head, port, gws);
    }
    if (why == FAIL_RESET) {
        const TraceStep *fc = last_of(tr, "Envoy filter chain");
        if (fc != NULL && strstr(fc->decision, "no filter chain") != NULL) {
            const char *sni = h->t->sni;
            if (sni == NULL) {
                return g_strdup(
                    "The client sent no SNI and every filter chain on this "
                    "port requires a server name: connect with the host name "
                    "(not an IP address), or add a server whose hosts are "
                    "'*'.");
            }
            return g_strdup_printf(
                "No filter chain on this port accepts SNI %s: the TLS servers "
                "of the Gateways on this port name other hosts. Add %s (or a "
                "wildcard covering it) to the hosts of a server on this port, "
                "or connect with a server name it serves (--sni).",
                sni, sni);
        }
        if (tls != NULL && strstr(tls->decision, "no ClientHello") != NULL) {
            return g_strdup("Plain text reached a port whose server "
                            "terminates TLS: use https:// (or tls://), or "
                            "serve plain HTTP on another port.");
        }
    }
    if (why == FAIL_TLS_HANDSHAKE && tls != NULL) {
        const char *r = tls->reason != NULL ? tls->reason : tls->decision;
        if (strstr(r, "not found") != NULL) {
            g_autofree char *sec = text_between(r, "Secret ", " not found");
            g_auto(GStrv) parts = sec != NULL ? g_strsplit(sec, "/", 2) : NULL;
            gboolean two =
                parts != NULL && parts[0] != NULL && parts[1] != NULL;
            const char *ns = two ? parts[0] : "istio-system";
            const char *name = two ? parts[1] : "NAME";
            return g_strdup_printf(
                "The Secret %s/%s that the Gateway server names in "
                "credentialName does not exist, so istiod has no certificate "
                "for this filter chain%s%s%s and every handshake on it fails "
                "(R16). Create it in the gateway pod's namespace (kubectl -n "
                "%s create secret tls %s --cert=tls.crt --key=tls.key), or "
                "correct credentialName.",
                ns, name, h->t->sni != NULL ? " (SNI " : "",
                h->t->sni != NULL ? h->t->sni : "",
                h->t->sni != NULL ? ")" : "", ns, name);
        }
        if (strstr(r, "not readable in the gateway pod") != NULL) {
            return g_strdup_printf(
                "%s Mount the Secret holding it at that directory in the "
                "ingressgateway Deployment (the article's volumeMounts), "
                "make sure the Secret exists (the mount is optional, so a "
                "missing Secret goes unnoticed), or switch the server to "
                "credentialName.",
                r);
        }
        if (strstr(r, "the client rejects") != NULL) {
            return g_strdup_printf(
                "The client does not trust the gateway's certificate (%s). "
                "Serve a certificate for this host name signed by a CA the "
                "client trusts, or give the client that CA (--cacert).",
                r);
        }
        if (strstr(r, "client certificate") != NULL) {
            return g_strdup_printf("%s This server is MUTUAL: send a client "
                                   "certificate signed by its CA (--cert "
                                   "FILE --key FILE).",
                                   r);
        }
        if (strstr(r, "plain-text HTTP") != NULL) {
            return g_strdup("TLS reached a port that serves plain HTTP: use "
                            "http://, or make the Gateway server HTTPS.");
        }
        return g_strdup_printf("The TLS handshake failed: %s", r);
    }
    return NULL;
}

/* "istio-system/default-gateway servers[0]" -> "istio-system/default-gateway".
 */
static char *gateway_of_server(const char *server)
{
    if (server == NULL) {
        return g_strdup("NAMESPACE/GATEWAY");
    }
    const char *sp = strchr(server, ' ');
    return sp != NULL ? g_strndup(server, (gsize)(sp - server))
                      : g_strdup(server);
}

static char *hint_gateway_response(const HintCtx *h)
{
    const Trace *tr = h->t->tr;
    const RequestOutcome *o = &h->t->out;
    const char *flags = o->flags != NULL ? o->flags : "-";
    const char *cluster = trace_get(tr, "cluster");
    g_autofree char *gw = gateway_of_server(trace_get(tr, "server"));
    const char *authority = h->t->url.host;
    if (strcmp(flags, "NR") == 0) {
        const char *vh = trace_get(tr, "virtual_host");
        if (vh != NULL && g_str_has_prefix(vh, "blackhole")) {
            return g_strdup_printf(
                "No VirtualService is bound to the Gateway %s, so istiod gave "
                "its server only the 404 blackhole (the article: \"If you "
                "only add a Gateway nothing will show up in the Envoy "
                "configuration\"). Add a VirtualService with gateways: [%s] "
                "whose hosts include %s.",
                gw, gw, authority);
        }
        const TraceStep *nv = find_text(tr, "has no virtual host for");
        if (nv != NULL) {
            g_autofree char *host =
                text_between(nv->decision, "has no virtual host for '", "'");
            const char *hn = host != NULL ? host : authority;
            const char *dot = strchr(hn, '.');
            /* Suggest "*.example.com" for "a.example.com", not "*.org". */
            g_autofree char *wild =
                dot != NULL && strchr(dot + 1, '.') != NULL
                    ? g_strdup_printf(" (or a wildcard such as '*%s')", dot)
                    : g_strdup("");
            return g_strdup_printf(
                "No VirtualService bound to the Gateway %s names the host "
                "'%s' (the request's authority): an exact host beats a "
                "wildcard, and a host nobody names gets 404. Add '%s'%s to "
                "the hosts of a VirtualService with gateways: [%s], and make "
                "sure the Gateway server's hosts admit it.",
                gw, hn, hn, wild, gw);
        }
        return g_strdup_printf(
            "No route of the virtual host %s matches %s %s: add a route for "
            "it (a last route with prefix / catches everything).",
            vh != NULL ? vh : "?", "the request", h->t->url.path);
    }
    if (strstr(flags, "NC") != NULL) {
        return g_strdup_printf(
            "The route's destination (%s) is no cluster Envoy knows: the "
            "destination host is not a Service, or its subset is not "
            "defined by a DestinationRule for that host. Fix the "
            "VirtualService destination or add the subset.",
            cluster != NULL ? cluster : "?");
    }
    if (strstr(flags, "UH") != NULL) {
        return g_strdup_printf(
            "Cluster %s has no healthy endpoint: the application Service "
            "selects no ready pod (check its selector, the pods' readiness "
            "and the targetPort), or outlier detection ejected them all.",
            cluster != NULL ? cluster : "?");
    }
    if (strstr(flags, "UF") != NULL) {
        gint64 attempts = 0;
        trace_get_int(tr, "attempts", &attempts);
        return g_strdup_printf(
            "Envoy could not connect to the application pod (%" G_GINT64_FORMAT
            " attempt%s): the pod is gone or listens on no such port, and "
            "Envoy's endpoints have not caught up yet. Istio retries a "
            "failed connect on another pod (2 retries by default: keep "
            "them); more replicas and readiness probes shorten the window.",
            attempts, attempts == 1 ? "" : "s");
    }
    if (strstr(flags, "UO") != NULL) {
        return g_strdup_printf(
            "The circuit breaker of %s overflowed (the DestinationRule's "
            "connectionPool limits): raise maxConnections or "
            "http1MaxPendingRequests, or add application capacity.",
            cluster != NULL ? cluster : "the cluster");
    }
    if (strstr(flags, "UC") != NULL) {
        return g_strdup(
            "The application pod died while holding the request. Istio does "
            "not retry a connection reset after the request was sent: add "
            "retries with retryOn: reset for idempotent requests, and let "
            "pods drain before they stop.");
    }
    if (strstr(flags, "UT") != NULL &&
        find_text(tr, "route timeout ") == NULL &&
        find_text(tr, "per-try timeout ") != NULL) {
        const TraceStep *pt = find_text(tr, "per-try timeout ");
        g_autofree char *to =
            text_between(pt->decision, "per-try timeout ", " ");
        return g_strdup_printf(
            "The per-try timeout (%s) expired on %s before the application "
            "answered. Envoy arms it once an attempt has a connection, and "
            "retries a timed-out attempt only when retryOn lists 5xx, "
            "gateway-error or reset; the abandoned attempt still keeps its "
            "pod busy. Make perTryTimeout longer than the application's "
            "normal time, or make the application answer sooner.",
            to != NULL ? to : "perTryTimeout",
            strstr(flags, "URX") != NULL ? "every attempt" : "the attempt");
    }
    if (strstr(flags, "UT") != NULL) {
        const TraceStep *ut = find_text(tr, "route timeout ");
        g_autofree char *to =
            ut != NULL ? text_between(ut->decision, "route timeout ", " ")
                       : NULL;
        return g_strdup_printf(
            "The route's timeout (%s) expired before the application "
            "answered. Raise the timeout of this VirtualService route, or "
            "make the application answer sooner; retries with perTryTimeout "
            "do not help a request that is slow on every pod.",
            to != NULL ? to : "timeout");
    }
    if (strstr(flags, "FI") != NULL) {
        return g_strdup("A fault injection of the VirtualService "
                        "(http[].fault.abort) answered this request: "
                        "remove it when the experiment is over.");
    }
    if (strstr(flags, "DPE") != NULL) {
        return g_strdup("Bytes that are not HTTP reached an HTTP server: "
                        "send HTTP, or give the Gateway server protocol TCP "
                        "and route it with a tcp route.");
    }
    if (o->status >= 400) {
        return g_strdup_printf("Envoy answered %d (flags %s): see the rule "
                               "of step %u.",
                               o->status, flags, o->step);
    }
    return NULL;
}

char *cli_trace_hint(const Scenario *s, const TraceResult *t)
{
    g_return_val_if_fail(t != NULL && t->tr != NULL, NULL);
    HintCtx h;
    hint_ctx_init(&h, s, t);
    const RequestOutcome *o = &t->out;
    switch (o->kind) {
    case OUTCOME_CONNECTION:
        return NULL;
    case OUTCOME_FAILURE:
        switch (o->step) {
        case 2:
            return hint_lb(&h);
        case 3:
            return hint_node(&h);
        case 4:
            return g_strdup_printf(
                "The gateway pod %s is not running (or its node is down), "
                "but kube-proxy still sends it connections: endpoint updates "
                "lag behind. Run more than one gateway replica on different "
                "nodes, and let Envoy drain (terminationDrainDuration) "
                "longer than the endpoint update takes.",
                trace_get(t->tr, "gateway_pod") != NULL
                    ? trace_get(t->tr, "gateway_pod")
                    : "?");
        case 5:
            return hint_gateway_pod(&h);
        default:
            return g_strdup_printf("The request failed at step %u: see its "
                                   "rule.",
                                   o->step);
        }
    case OUTCOME_RESPONSE:
        if (o->from_gateway) {
            return hint_gateway_response(&h);
        }
        if (o->status == 503 && find_text(t->tr, "queue full") != NULL) {
            return g_strdup("The application pod's queue is full "
                            "(queueLimit): add replicas, raise concurrency, "
                            "or make each request cheaper.");
        }
        if (o->status >= 400) {
            return g_strdup_printf("The application itself answered %d: the "
                                   "way in worked; look at the application.",
                                   o->status);
        }
        return NULL;
    }
    return NULL;
}

Narration *cli_trace_narrate(const Scenario *s, const TraceResult *t)
{
    g_return_val_if_fail(t != NULL && t->tr != NULL, NULL);
    const Trace *tr = t->tr;
    Narration *n = g_new0(Narration, 1);
    n->steps = g_array_new(FALSE, TRUE, sizeof(NarratedStep));
    g_array_set_clear_func(n->steps, narrated_step_clear);
    guint len = trace_len(tr);
    guint i = 0;
    while (i < len) {
        const TraceStep *head = trace_step(tr, i);
        guint k = i + 1;
        /* A group: consecutive records of one step; the client's last
         * word (the answer) always stands alone. */
        while (k < len && trace_step(tr, k)->step == head->step &&
               !(strcmp(trace_step(tr, k)->component, "client") == 0)) {
            k++;
        }
        NarratedStep ns = { 0 };
        ns.step = head->step;
        ns.name = head->step >= 1 && head->step <= 9 ? step_names[head->step]
                                                     : head->component;
        for (guint j = i; j < k && ns.where == NULL; j++) {
            if (trace_step(tr, j)->node != NULL) {
                ns.where = g_strdup(trace_step(tr, j)->node);
            }
        }
        ns.at = head->at;
        ns.took = -1;
        if (k < len && trace_step(tr, k)->at >= head->at) {
            ns.took = trace_step(tr, k)->at - head->at;
        }
        /* The client's last word gets no background: step 1 had it. */
        ns.background =
            head->step >= 1 && head->step <= 9 && !(head->step == 1 && i > 0)
                ? backgrounds[head->step]
                : NULL;
        if (head->step == 3) {
            narrate_node(tr, i, k - i, &ns);
        } else {
            narrate_generic(tr, i, k - i, &ns);
        }
        g_array_append_val(n->steps, ns);
        i = k;
    }
    n->outcome = outcome_sentence(t);
    n->timing = timing_sentence(t);
    n->hint = cli_trace_hint(s, t);
    return n;
}

/* ---- printing ---- */

/* Every recorded decision, as the models recorded them (--verbose). */
static void text_verbose(GString *out, const TraceResult *t)
{
    const Trace *tr = t->tr;
    for (guint i = 0; i < trace_len(tr); i++) {
        const TraceStep *s = trace_step(tr, i);
        g_autofree char *at = sim_time_format(s->at);
        g_string_append_printf(out, "%2u. [step %u, %s] %s%s%s: %s\n", i + 1,
                               s->step, at, s->component,
                               s->node != NULL ? " on " : "",
                               s->node != NULL ? s->node : "", s->decision);
        if (s->reason != NULL) {
            g_string_append_printf(out, "      why: %s\n", s->reason);
        }
    }
}

char *cli_trace_text(const Scenario *s,
                     const TraceResult *t,
                     const TraceTextOptions *opt)
{
    g_return_val_if_fail(t != NULL && t->tr != NULL, NULL);
    TraceTextOptions none = { 0 };
    if (opt == NULL) {
        opt = &none;
    }
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(Narration) n = cli_trace_narrate(s, t);
    if (opt->verbose) {
        text_verbose(out, t);
    } else {
        for (guint i = 0; i < n->steps->len; i++) {
            const NarratedStep *ns = &g_array_index(n->steps, NarratedStep, i);
            /* Times from the moment the client sent (--at shifts them). */
            const NarratedStep *n0 = &g_array_index(n->steps, NarratedStep, 0);
            g_autofree char *rel = cli_duration_text(ns->at - n0->at);
            g_autofree char *abs_at =
                i == 0 && ns->at > 0 ? sim_time_format(ns->at) : NULL;
            g_autofree char *at =
                abs_at != NULL
                    ? g_strdup_printf("%s (simulated time %s)", rel, abs_at)
                    : g_strdup_printf("%s%s", i > 0 ? "+" : "", rel);
            g_autofree char *took =
                ns->took >= 0 ? cli_duration_text(ns->took) : NULL;
            gboolean last = i + 1 == n->steps->len;
            g_autofree char *num = last && ns->step == 1 && i > 0
                                       ? g_strdup("<-")
                                       : g_strdup_printf("%u.", ns->step);
            g_string_append_printf(out, "%s %s%s%s, at %s%s%s\n", num, ns->name,
                                   ns->where != NULL ? " on " : "",
                                   ns->where != NULL ? ns->where : "", at,
                                   took != NULL ? ", took " : "",
                                   took != NULL ? took : "");
            append_wrapped(out, INDENT, ns->sentence);
            if (ns->rule != NULL) {
                g_autofree char *r = g_strconcat("Rule: ", ns->rule, NULL);
                append_wrapped(out, INDENT, r);
            }
            if (opt->explain && ns->background != NULL && !last) {
                g_autofree char *b =
                    g_strconcat("Background: ", ns->background, NULL);
                append_wrapped(out, INDENT "| ", b);
            }
        }
    }
    g_autofree char *o = g_strconcat("Outcome: ", n->outcome, NULL);
    append_wrapped(out, "", o);
    g_autofree char *tm = g_strconcat("Where the time went: ", n->timing, NULL);
    append_wrapped(out, "", tm);
    if (n->hint != NULL) {
        g_autofree char *h = g_strconcat("What to change: ", n->hint, NULL);
        append_wrapped(out, "", h);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}
