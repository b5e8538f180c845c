/* analyze.c: the message table, the analysis run (parse, analyzers, compile,
 * sort) and istioctl's output formats. The analyzers themselves live in
 * analyze-*.c (models layer, read by the `analyze` subcommand). */
#include "config.h"

#include <string.h>

#include "models/analyze-private.h"

/* ---- the message table (docs/analyze.md mirrors it) ---------------------- */

/* IST codes, names and levels: istio pkg/config/analysis/msg/messages.yaml.
 * ISM codes are ingress-sim's own (docs/analyze.md). Ascending by code. */
static const AnalyzeMessageType message_types[] = {
    { "IST0001", "InternalError", ANALYZE_ERROR,
      "the gateway compiler refused the scenario for a reason no other "
      "message names (a bug in ingress-sim: please report it)" },
    { "IST0101", "ReferencedResourceNotFound", ANALYZE_ERROR,
      "a VirtualService names a Gateway, destination host, host:port or "
      "subset that does not exist; a Gateway selector matches no pod; a "
      "credentialName Secret is missing" },
    { "IST0106", "SchemaValidationError", ANALYZE_ERROR,
      "a Gateway, VirtualService, DestinationRule or Ingress fails Istio's "
      "validation (istiod's webhook would reject it)" },
    { "IST0109", "ConflictingMeshGatewayVirtualServiceHosts", ANALYZE_ERROR,
      "two VirtualServices bound to the mesh gateway define the same host" },
    { "IST0112", "VirtualServiceDestinationPortSelectorRequired", ANALYZE_ERROR,
      "a destination names a Service with several ports and no port" },
    { "IST0128", "NoServerCertificateVerificationDestinationLevel",
      ANALYZE_WARNING,
      "a DestinationRule sets TLS mode SIMPLE or MUTUAL without "
      "caCertificates" },
    { "IST0129", "NoServerCertificateVerificationPortLevel", ANALYZE_WARNING,
      "the same in a DestinationRule's portLevelSettings" },
    { "IST0130", "VirtualServiceUnreachableRule", ANALYZE_WARNING,
      "an http/tcp/tls rule can never match: it follows a rule without "
      "matches, or every match repeats an earlier one" },
    { "IST0131", "VirtualServiceIneffectiveMatch", ANALYZE_INFO,
      "a match repeats, or is covered by the prefix of, an earlier match" },
    { "IST0132", "VirtualServiceHostNotFoundInGateway", ANALYZE_WARNING,
      "no host of a VirtualService matches a host of a Gateway it names" },
    { "IST0133", "SchemaWarning", ANALYZE_WARNING,
      "a gateway reference uses the legacy name.namespace form" },
    { "IST0138", "GatewayDuplicateCertificate", ANALYZE_WARNING,
      "two Gateways for the same workload serve the same certificate "
      "(HTTP/2 connection reuse can then answer 404)" },
    { "IST0140", "IngressRouteRulesNotAffected", ANALYZE_WARNING,
      "a gateway-bound VirtualService routes to a host without subset that "
      "another VirtualService routes by subset" },
    { "IST0145", "ConflictingGateways", ANALYZE_ERROR,
      "a TLS server repeats a host an older Gateway already serves on the "
      "same port: the gateway compiler drops the newer server (R4.4)" },
    { "IST0161", "InvalidGatewayCredential", ANALYZE_ERROR,
      "a credentialName Secret exists but holds no usable certificate and "
      "key" },
    { "IST0162", "GatewayPortNotDefinedOnService", ANALYZE_WARNING,
      "a Gateway port is neither a port nor a targetPort of the Services "
      "selecting the gateway pods" },
    { "IST0173", "DestinationRuleSubsetNotSelectPods", ANALYZE_ERROR,
      "a DestinationRule subset selects no pod (503 UH)" },
    { "IST0174", "UnknownDestinationRuleHost", ANALYZE_WARNING,
      "a DestinationRule host matches no Service" },
    { "ISM0001", "LoadBalancerNodePortNotFound", ANALYZE_ERROR,
      "a load balancer listener forwards to a nodePort that no Service "
      "has: connections are refused on every node" },
    { "ISM0002", "GatewayServerWithoutRoutes", ANALYZE_WARNING,
      "no VirtualService gives a Gateway server a route: HTTP answers 404, "
      "a TCP or TLS port gets no listener at all" },
    { "ISM0003", "VirtualServiceMissesGatewayPort", ANALYZE_ERROR,
      "a VirtualService is bound to a TCP or TLS Gateway server but none of "
      "its tcp/tls routes matches the server's port: no listener" },
    { "ISM0004", "GatewayPortNotOnIngressService", ANALYZE_ERROR,
      "a Gateway port is missing from the ingressgateway Service the load "
      "balancer forwards to (when IST0162 does not already say so)" },
    { "ISM0005", "GatewayPortNotOnLoadBalancer", ANALYZE_ERROR,
      "no load balancer listener reaches a Gateway port: the Service port "
      "has no nodePort, or no listener forwards to it" },
    { "ISM0006", "LoadBalancerPortWithoutGatewayServer", ANALYZE_WARNING,
      "a load balancer listener reaches a gateway pod port on which no "
      "Gateway server listens: connections are refused" },
    { "ISM0007", "RouteToMissingCluster", ANALYZE_ERROR,
      "a compiled route or TCP proxy points at a cluster that does not "
      "exist (503 NC) for a reason no IST message names, e.g. an Ingress "
      "backend port" },
    { "ISM0008", "GatewayServerDropped", ANALYZE_ERROR,
      "the gateway compiler drops a server: its protocol cannot share the "
      "port with an older server's, or its route name repeats (R4.3, "
      "R4.5)" },
    { "ISM0009", "GatewayCertificateUnusable", ANALYZE_ERROR,
      "a TLS server's certificate files cannot be served: not mounted from "
      "a Secret, Secret or key missing, key not matching" },
};

const AnalyzeMessageType *analyze_message_types(guint *n_out)
{
    if (n_out != NULL) {
        *n_out = G_N_ELEMENTS(message_types);
    }
    return message_types;
}

const AnalyzeMessageType *analyze_message_type(const char *code)
{
    for (guint i = 0; i < G_N_ELEMENTS(message_types); i++) {
        if (g_strcmp0(message_types[i].code, code) == 0) {
            return &message_types[i];
        }
    }
    return NULL;
}

const char *analyze_level_name(AnalyzeLevel level)
{
    switch (level) {
    case ANALYZE_ERROR:
        return "Error";
    case ANALYZE_WARNING:
        return "Warning";
    case ANALYZE_INFO:
        return "Info";
    }
    return "Error";
}

gboolean analyze_level_parse(const char *text, AnalyzeLevel *out)
{
    static const AnalyzeLevel all[] = { ANALYZE_ERROR, ANALYZE_WARNING,
                                        ANALYZE_INFO };
    for (guint i = 0; i < G_N_ELEMENTS(all); i++) {
        if (text != NULL &&
            g_ascii_strcasecmp(text, analyze_level_name(all[i])) == 0) {
            *out = all[i];
            return TRUE;
        }
    }
    return FALSE;
}

void analyze_message_free(AnalyzeMessage *m)
{
    if (m == NULL) {
        return;
    }
    g_free(m->text);
    g_free(m->kind);
    g_free(m->ns);
    g_free(m->name);
    g_free(m->file);
    g_free(m->error);
    g_free(m);
}

/* ---- reporting -------------------------------------------------------------
 */

static AnalyzeMessage *
message_new(const char *code, const char *fmt, va_list ap) G_GNUC_PRINTF(2, 0);
static AnalyzeMessage *
message_new(const char *code, const char *fmt, va_list ap)
{
    const AnalyzeMessageType *t = analyze_message_type(code);
    g_assert(t != NULL);
    AnalyzeMessage *m = g_new0(AnalyzeMessage, 1);
    m->type = t;
    m->text = g_strdup_vprintf(fmt, ap);
    return m;
}

static void message_set_where(AnalyzeMessage *m, const YNode *where)
{
    if (where != NULL && where->file != NULL) {
        m->file = g_strdup(where->file);
        m->line = where->line;
    }
}

void analyze__report(AnalyzeCtx *cx,
                     const char *code,
                     const K8sMeta *origin,
                     const YNode *where,
                     const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    AnalyzeMessage *m = message_new(code, fmt, ap);
    va_end(ap);
    if (origin != NULL) {
        m->kind = g_strdup(origin->kind);
        m->ns = g_strdup(origin->ns);
        m->name = g_strdup(origin->name);
        message_set_where(m, where != NULL ? where : origin->doc);
    } else {
        message_set_where(m, where);
    }
    g_ptr_array_add(cx->out, m);
}

void analyze__report_scenario(
    AnalyzeCtx *cx, const char *code, const YNode *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    AnalyzeMessage *m = message_new(code, fmt, ap);
    va_end(ap);
    m->kind = g_strdup("Scenario");
    m->name = g_strdup(cx->s->name);
    message_set_where(m, where != NULL ? where : cx->s->doc);
    g_ptr_array_add(cx->out, m);
}

/* A GError of the models, "FILE:LINE:COL: error: text", as a message at
 * that place; the message keeps the error for the command line. */
static void report_gerror(AnalyzeCtx *cx,
                          const char *code,
                          const K8sMeta *origin,
                          const char *prefix,
                          const GError *error)
{
    const char *msg = error->message;
    const char *sep = strstr(msg, ": error: ");
    const char *text = sep != NULL ? sep + strlen(": error: ") : msg;
    if (origin != NULL) {
        analyze__report(cx, code, origin, NULL, "%s%s", prefix, text);
    } else {
        AnalyzeMessage *nm = g_new0(AnalyzeMessage, 1);
        nm->type = analyze_message_type(code);
        nm->text = g_strdup_printf("%s%s", prefix, text);
        g_ptr_array_add(cx->out, nm);
    }
    AnalyzeMessage *m = g_ptr_array_index(cx->out, cx->out->len - 1);
    m->error = g_strdup(msg);
    if (sep == NULL) {
        return;
    }
    /* "FILE:LINE:COL" before the separator; FILE may hold ':'. */
    g_autofree char *loc = g_strndup(msg, (gsize)(sep - msg));
    char *col = strrchr(loc, ':');
    if (col == NULL) {
        return;
    }
    *col = '\0';
    char *line = strrchr(loc, ':');
    if (line == NULL) {
        return;
    }
    *line = '\0';
    guint64 n = 0;
    if (g_ascii_string_to_unsigned(line + 1, 10, 1, G_MAXUINT, &n, NULL)) {
        g_free(m->file);
        m->file = g_strdup(loc);
        m->line = (guint)n;
    }
}

/* ---- helpers shared by the analyzers
 * ------------------------------------------- */

char *analyze__quote(const char *s)
{
    GString *out = g_string_new("\"");
    for (const char *p = s != NULL ? s : ""; *p != '\0'; p++) {
        guchar ch = (guchar)*p;
        if (ch == '"' || ch == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)ch);
        } else if (ch == '\n') {
            g_string_append(out, "\\n");
        } else if (ch == '\t') {
            g_string_append(out, "\\t");
        } else if (ch < 0x20 || ch == 0x7f) {
            g_string_append_printf(out, "\\x%02x", ch);
        } else {
            g_string_append_c(out, (char)ch);
        }
    }
    g_string_append_c(out, '"');
    return g_string_free(out, FALSE);
}

char *analyze__list(const GPtrArray *items)
{
    GString *out = g_string_new("[");
    for (guint i = 0; items != NULL && i < items->len; i++) {
        if (i > 0) {
            g_string_append_c(out, ' ');
        }
        g_string_append(out, g_ptr_array_index(items, i));
    }
    g_string_append_c(out, ']');
    return g_string_free(out, FALSE);
}

static gint str_ptr_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *analyze__selector_string(const KvList *sel)
{
    if (sel == NULL || kv_list_len(sel) == 0) {
        return g_strdup("");
    }
    g_autoptr(GPtrArray) pairs = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < kv_list_len(sel); i++) {
        g_ptr_array_add(
            pairs, g_strdup_printf(
                       "%s=%s", (const char *)g_ptr_array_index(sel->keys, i),
                       (const char *)g_ptr_array_index(sel->values, i)));
    }
    g_ptr_array_sort(pairs, str_ptr_cmp);
    g_ptr_array_add(pairs, NULL);
    return g_strjoinv(",", (char **)pairs->pdata);
}

GPtrArray *analyze__strings(const YNode *seq)
{
    GPtrArray *out = g_ptr_array_new();
    if (seq == NULL || seq->kind != YNODE_SEQ) {
        return out;
    }
    for (guint i = 0; i < ynode_len(seq); i++) {
        const char *v = ynode_str(ynode_at(seq, i));
        if (v != NULL) {
            g_ptr_array_add(out, (gpointer)v);
        }
    }
    return out;
}

const K8sService *analyze__service_for_host(const AnalyzeCtx *cx,
                                            const char *host,
                                            const char *ns)
{
    g_autofree char *fqdn = istio_resolve_short_name(host, ns);
    return cluster_find_service_fqdn(cx->c, fqdn);
}

/* ---- the run
 * ---------------------------------------------------------------------- */

/* Parses every Istio object (and Ingress) on its own, so that one invalid
 * object is one IST0106 message and the others are still analyzed.
 * Cite: istio pkg/config/analysis/analyzers/schema/validation.go (istioctl
 * runs istiod's validation as an analyzer). */
static void parse_objects(AnalyzeCtx *cx)
{
    const Cluster *c = cx->c;
    const char *prefix = "Schema validation error: ";
    for (guint i = 0; i < c->gateways->len; i++) {
        const K8sMeta *m = g_ptr_array_index(c->gateways, i);
        g_autoptr(GError) err = NULL;
        IstioGateway *g = istio_gateway_parse(m, &err);
        if (g == NULL) {
            report_gerror(cx, "IST0106", m, prefix, err);
            cx->invalid = TRUE;
        }
        g_ptr_array_add(cx->gateways, g);
    }
    for (guint i = 0; i < c->virtual_services->len; i++) {
        const K8sMeta *m = g_ptr_array_index(c->virtual_services, i);
        g_autoptr(GError) err = NULL;
        IstioVirtualService *vs = istio_virtual_service_parse(m, &err);
        if (vs == NULL) {
            report_gerror(cx, "IST0106", m, prefix, err);
            cx->invalid = TRUE;
        }
        g_ptr_array_add(cx->vss, vs);
    }
    for (guint i = 0; i < c->destination_rules->len; i++) {
        const K8sMeta *m = g_ptr_array_index(c->destination_rules, i);
        g_autoptr(GError) err = NULL;
        IstioDestinationRule *dr = istio_destination_rule_parse(m, &err);
        if (dr == NULL) {
            report_gerror(cx, "IST0106", m, prefix, err);
            cx->invalid = TRUE;
        }
        g_ptr_array_add(cx->drs, dr);
    }
    for (guint i = 0; i < c->ingresses->len; i++) {
        const K8sMeta *m = g_ptr_array_index(c->ingresses, i);
        g_autoptr(GError) err = NULL;
        g_autoptr(IstioIngress) in = istio_ingress_parse(m, &err);
        if (in == NULL) {
            report_gerror(cx, "IST0106", m, prefix, err);
            cx->invalid = TRUE;
        }
    }
}

/* The pods to compile for: the ingress gateway pods and every pod a
 * Gateway selector names, one per workload (a Deployment's replicas get
 * the same configuration). Returns: (transfer container). */
static GPtrArray *workload_pods(const AnalyzeCtx *cx)
{
    const Cluster *c = cx->c;
    g_autoptr(GPtrArray) gw_pods = cluster_gateway_pods(c);
    GPtrArray *out = g_ptr_array_new();
    g_autoptr(GHashTable) seen =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < c->pods->len; i++) {
        const K8sPod *p = g_ptr_array_index(c->pods, i);
        gboolean want = g_ptr_array_find(gw_pods, p, NULL);
        for (guint j = 0; !want && j < cx->gateways->len; j++) {
            const IstioGateway *g = g_ptr_array_index(cx->gateways, j);
            want = g != NULL && kv_list_len(g->selector) > 0 &&
                   kv_list_subset(g->selector, p->spec.labels);
        }
        char *key = p->owner != NULL
                        ? g_strdup(p->owner)
                        : g_strdup_printf("%s/%s", p->meta.ns, p->meta.name);
        if (!want || g_hash_table_contains(seen, key)) {
            g_free(key);
            continue;
        }
        g_hash_table_add(seen, key);
        g_ptr_array_add(out, (gpointer)p);
    }
    return out;
}

static void compile_snapshots(AnalyzeCtx *cx)
{
    g_autoptr(GPtrArray) pods = workload_pods(cx);
    for (guint i = 0; i < pods->len; i++) {
        g_autoptr(GError) err = NULL;
        GatewaySnapshot *snap =
            gateway_compile(cx->c, g_ptr_array_index(pods, i), &err);
        if (snap == NULL) {
            /* The objects parsed one by one above; what the compiler still
             * refuses is located input (IST0106) or a bug (IST0001). */
            gboolean located = strstr(err->message, ": error: ") != NULL;
            report_gerror(cx, located ? "IST0106" : "IST0001", NULL,
                          located ? "Schema validation error: "
                                  : "Internal error: ",
                          err);
            g_ptr_array_set_size(cx->snapshots, 0);
            return;
        }
        g_ptr_array_add(cx->snapshots, snap);
    }
}

/* istioctl's Origin.Comparator(): kind/name/namespace. */
static char *comparator(const AnalyzeMessage *m)
{
    return g_strdup_printf("%s/%s/%s", m->kind, m->name,
                           m->ns != NULL ? m->ns : "");
}

/* Cite: istio pkg/config/analysis/diag/messages.go, Sort(): level, code,
 * messages without a resource first, origin comparator, then the text. */
static gint message_cmp(gconstpointer pa, gconstpointer pb)
{
    const AnalyzeMessage *a = *(const AnalyzeMessage *const *)pa;
    const AnalyzeMessage *b = *(const AnalyzeMessage *const *)pb;
    if (a->type->level != b->type->level) {
        return a->type->level < b->type->level ? -1 : 1;
    }
    int c = strcmp(a->type->code, b->type->code);
    if (c != 0) {
        return c;
    }
    if ((a->kind == NULL) != (b->kind == NULL)) {
        return a->kind == NULL ? -1 : 1;
    }
    if (a->kind != NULL) {
        g_autofree char *ca = comparator(a);
        g_autofree char *cb = comparator(b);
        c = strcmp(ca, cb);
        if (c != 0) {
            return c;
        }
    }
    g_autofree char *la = analyze_message_format(a, FALSE);
    g_autofree char *lb = analyze_message_format(b, FALSE);
    return strcmp(la, lb);
}

static void destroy_gateway(gpointer p)
{
    istio_gateway_free(p);
}

static void destroy_vs(gpointer p)
{
    istio_virtual_service_free(p);
}

static void destroy_dr(gpointer p)
{
    istio_destination_rule_free(p);
}

static void destroy_snapshot(gpointer p)
{
    gateway_snapshot_unref(p);
}

static void destroy_message(gpointer p)
{
    analyze_message_free(p);
}

GPtrArray *analyze_scenario(const Scenario *s)
{
    g_return_val_if_fail(s != NULL && s->cluster != NULL, NULL);
    AnalyzeCtx cx = { 0 };
    cx.s = s;
    cx.c = s->cluster;
    cx.gateways = g_ptr_array_new_with_free_func(destroy_gateway);
    cx.vss = g_ptr_array_new_with_free_func(destroy_vs);
    cx.drs = g_ptr_array_new_with_free_func(destroy_dr);
    cx.snapshots = g_ptr_array_new_with_free_func(destroy_snapshot);
    cx.explained = g_hash_table_new(g_direct_hash, g_direct_equal);
    cx.port_missing = g_hash_table_new(g_direct_hash, g_direct_equal);
    cx.out = g_ptr_array_new_with_free_func(destroy_message);

    parse_objects(&cx);
    analyze__gateways(&cx);
    analyze__virtual_services(&cx);
    analyze__destination_rules(&cx);
    if (!cx.invalid) {
        compile_snapshots(&cx);
        analyze__compiled(&cx);
    }
    analyze__path(&cx);

    g_ptr_array_unref(cx.gateways);
    g_ptr_array_unref(cx.vss);
    g_ptr_array_unref(cx.drs);
    g_ptr_array_unref(cx.snapshots);
    g_hash_table_unref(cx.explained);
    g_hash_table_unref(cx.port_missing);

    /* Sorted, then duplicates (the same line twice, e.g. from two gateway
     * workloads) dropped. Cite: diag/messages.go, SortedDedupedCopy(). */
    g_ptr_array_sort(cx.out, message_cmp);
    GPtrArray *out = g_ptr_array_new_with_free_func(destroy_message);
    g_autofree char *prev = NULL;
    for (guint i = 0; i < cx.out->len; i++) {
        AnalyzeMessage *m = g_ptr_array_index(cx.out, i);
        char *line = analyze_message_format(m, FALSE);
        if (prev != NULL && strcmp(prev, line) == 0) {
            g_free(line);
            continue;
        }
        g_free(prev);
        prev = line;
        g_ptr_array_add(out, m);
        cx.out->pdata[i] = NULL;
    }
    g_ptr_array_unref(cx.out);
    return out;
}

/* ---- output
 * ----------------------------------------------------------------------- */

char *analyze_message_origin(const AnalyzeMessage *m)
{
    if (m->kind == NULL) {
        return NULL;
    }
    /* Cite: istio pkg/config/legacy/source/kube/origin.go, FriendlyName():
     * "<kind> <namespace>/<name>", or "<kind> <name>" without namespace. */
    if (m->ns != NULL) {
        return g_strdup_printf("%s %s/%s", m->kind, m->ns, m->name);
    }
    return g_strdup_printf("%s %s", m->kind, m->name);
}

char *analyze_message_reference(const AnalyzeMessage *m)
{
    if (m->file == NULL || m->line == 0) {
        return NULL;
    }
    /* Cite: origin.go, Position.String(): "file:line". */
    return g_strdup_printf("%s:%u", m->file, m->line);
}

char *analyze_message_format(const AnalyzeMessage *m, gboolean color)
{
    g_autofree char *origin = analyze_message_origin(m);
    g_autofree char *ref = analyze_message_reference(m);
    GString *out = g_string_new(NULL);
    if (color && m->type->level == ANALYZE_ERROR) {
        g_string_append(out, "\033[1;31m");
    } else if (color && m->type->level == ANALYZE_WARNING) {
        g_string_append(out, "\033[33m");
    }
    g_string_append(out, analyze_level_name(m->type->level));
    if (color) {
        g_string_append(out, "\033[0m");
    }
    g_string_append_printf(out, " [%s]", m->type->code);
    if (origin != NULL) {
        g_string_append_printf(out, " (%s%s%s)", origin, ref != NULL ? " " : "",
                               ref != NULL ? ref : "");
    }
    g_string_append_printf(out, " %s", m->text);
    return g_string_free(out, FALSE);
}

/* Where each code is explained: istio.io for IST codes (with istioctl's
 * ?ref=istioctl-analyze), our docs for ISM codes. Cite: diag/message.go,
 * Unstructured(); istio pkg/url (ConfigAnalysis). */
static char *documentation_url(const AnalyzeMessageType *t)
{
    g_autofree char *lower = g_ascii_strdown(t->code, -1);
    if (g_str_has_prefix(t->code, "IST")) {
        return g_strdup_printf("https://istio.io/latest/docs/reference/config/"
                               "analysis/%s/?ref=istioctl-analyze",
                               lower);
    }
    return g_strdup_printf("docs/analyze.md#%s", lower);
}

JsonNode *analyze_messages_to_json(const GPtrArray *msgs)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_array(b);
    for (guint i = 0; msgs != NULL && i < msgs->len; i++) {
        const AnalyzeMessage *m = g_ptr_array_index(msgs, i);
        g_autofree char *url = documentation_url(m->type);
        g_autofree char *origin = analyze_message_origin(m);
        g_autofree char *ref = analyze_message_reference(m);
        /* Keys in the order Go's encoding/json writes a map: sorted. */
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "code");
        json_builder_add_string_value(b, m->type->code);
        json_builder_set_member_name(b, "documentationUrl");
        json_builder_add_string_value(b, url);
        json_builder_set_member_name(b, "level");
        json_builder_add_string_value(b, analyze_level_name(m->type->level));
        json_builder_set_member_name(b, "message");
        json_builder_add_string_value(b, m->text);
        if (origin != NULL) {
            json_builder_set_member_name(b, "origin");
            json_builder_add_string_value(b, origin);
            if (ref != NULL) {
                json_builder_set_member_name(b, "reference");
                json_builder_add_string_value(b, ref);
            }
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

const AnalyzeMessage *analyze_input_error(const GPtrArray *msgs)
{
    for (guint i = 0; msgs != NULL && i < msgs->len; i++) {
        const AnalyzeMessage *m = g_ptr_array_index(msgs, i);
        if (m->error != NULL) {
            return m;
        }
    }
    return NULL;
}

gboolean analyze_found_issues(const GPtrArray *msgs, AnalyzeLevel threshold)
{
    for (guint i = 0; msgs != NULL && i < msgs->len; i++) {
        const AnalyzeMessage *m = g_ptr_array_index(msgs, i);
        if (m->type->level <= threshold) {
            return TRUE;
        }
    }
    return FALSE;
}
