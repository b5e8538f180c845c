/* analyze-virtualservice.c: istioctl's VirtualService analyzers: gateway
 * references (IST0101, IST0132, IST0133), destinations (IST0101, IST0112),
 * subsets (IST0101, IST0140), mesh host conflicts (IST0109) and unreachable
 * rules (IST0130, IST0131). */
#include "config.h"

#include <string.h>

#include "models/analyze-private.h"
#include "models/host.h"

/* ---- gateway references ------------------------------------------------- */

static const IstioGateway *find_gateway(const AnalyzeCtx *cx, const char *ref)
{
    for (guint i = 0; i < cx->c->gateways->len; i++) {
        const K8sMeta *m = g_ptr_array_index(cx->c->gateways, i);
        g_autofree char *r = k8s_meta_ref(m);
        if (strcmp(r, ref) == 0) {
            return g_ptr_array_index(cx->gateways, i);
        }
    }
    return NULL;
}

static gboolean gateway_exists(const AnalyzeCtx *cx, const char *ref)
{
    for (guint i = 0; i < cx->c->gateways->len; i++) {
        g_autofree char *r =
            k8s_meta_ref(g_ptr_array_index(cx->c->gateways, i));
        if (strcmp(r, ref) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

/* Does some host of @g (sanitized, R5.1), filtered for the VS namespace
 * (R5.2), match (symmetric, R5.3) some VS host as written?
 * Cite: istio pkg/config/analysis/analyzers/virtualservice/gateways.go,
 * vsHostInGateway(); pkg/config/host/names.go, NamesForNamespace(). */
static gboolean vs_host_in_gateway(const IstioGateway *g,
                                   const GPtrArray *vs_hosts,
                                   const char *vs_ns)
{
    for (guint i = 0; g != NULL && i < g->servers->len; i++) {
        const IstioServer *sv = g_ptr_array_index(g->servers, i);
        for (guint j = 0; j < sv->hosts->len; j++) {
            char *hns = NULL;
            const char *h =
                host_split_namespace(g_ptr_array_index(sv->hosts, j), &hns);
            gboolean visible =
                hns == NULL || strcmp(hns, "*") == 0 || strcmp(hns, vs_ns) == 0;
            g_free(hns);
            for (guint k = 0; visible && k < vs_hosts->len; k++) {
                if (host_matches(h, g_ptr_array_index(vs_hosts, k))) {
                    return TRUE;
                }
            }
        }
    }
    return FALSE;
}

/* IST0133 for a legacy "name.namespace[.svc.cluster.local]" reference:
 * istiod accepts it with a warning (R6.1).
 * Cite: istio pkg/config/validation/validation.go, validateGatewayNames(). */
static void
check_legacy_name(AnalyzeCtx *cx, const K8sMeta *meta, const YNode *node)
{
    const char *name = ynode_str(node);
    if (name == NULL || strchr(name, '/') != NULL ||
        strchr(name, '.') == NULL) {
        return;
    }
    g_auto(GStrv) parts = g_strsplit(name, ".", 3);
    g_autofree char *rec = g_strdup_printf("%s/%s", parts[1], parts[0]);
    g_autofree char *qn = analyze__quote(name);
    g_autofree char *qr = analyze__quote(rec);
    analyze__report(cx, "IST0133", meta, node,
                    "Schema validation warning: using legacy gatewayName "
                    "format %s; prefer the <namespace>/<name> format: %s",
                    qn, qr);
}

static void
check_match_gateways(AnalyzeCtx *cx, const K8sMeta *meta, const YNode *spec)
{
    static const char *const kinds[] = { "http", "tcp", "tls" };
    for (guint k = 0; k < G_N_ELEMENTS(kinds); k++) {
        const YNode *rules = ynode_get(spec, kinds[k]);
        for (guint i = 0; i < ynode_len(rules); i++) {
            const YNode *ms = ynode_get(ynode_at(rules, i), "match");
            for (guint j = 0; j < ynode_len(ms); j++) {
                const YNode *gws = ynode_get(ynode_at(ms, j), "gateways");
                for (guint g = 0; g < ynode_len(gws); g++) {
                    check_legacy_name(cx, meta, ynode_at(gws, g));
                }
            }
        }
    }
}

/* IST0101 (gateway), IST0132, IST0133. A reference resolves as istiod
 * resolves it (R6.1: "name", "ns/name", "./name" and the legacy dotted
 * form); istioctl's own analyzer splits on '/' only and so reports the
 * article's "default-gateway.istio-system.svc.cluster.local" as missing
 * although istiod binds it: we follow istiod (one decision path) and say
 * IST0133 instead. As istioctl, a missing Gateway also gets IST0132.
 * Cite: istio pkg/config/analysis/analyzers/virtualservice/gateways.go,
 * GatewayAnalyzer.analyzeVirtualService(). */
static void check_gateways(AnalyzeCtx *cx, const K8sMeta *meta)
{
    const YNode *spec = ynode_get(meta->doc, "spec");
    const YNode *gws = ynode_get(spec, "gateways");
    g_autoptr(GPtrArray) hosts = analyze__strings(ynode_get(spec, "hosts"));
    for (guint i = 0; i < ynode_len(gws); i++) {
        const YNode *n = ynode_at(gws, i);
        const char *name = ynode_str(n);
        if (name == NULL || strcmp(name, "mesh") == 0) {
            continue;
        }
        check_legacy_name(cx, meta, n);
        g_autofree char *ref = istio_resolve_gateway_ref(name, meta->ns);
        if (!gateway_exists(cx, ref)) {
            g_autofree char *q = analyze__quote(name);
            analyze__report(cx, "IST0101", meta, n,
                            "Referenced gateway not found: %s", q);
        }
        if (!vs_host_in_gateway(find_gateway(cx, ref), hosts, meta->ns)) {
            g_autofree char *list = analyze__list(hosts);
            g_autofree char *vsref = k8s_meta_ref(meta);
            analyze__report(cx, "IST0132", meta, n,
                            "one or more host %s defined in VirtualService "
                            "%s not found in Gateway %s.",
                            list, vsref, ref);
        }
    }
    check_match_gateways(cx, meta, spec);
}

/* ---- destinations
 * ------------------------------------------------------------- */

static const YNode *host_where(const IstioDestination *d)
{
    const YNode *h = ynode_get(d->where, "host");
    return h != NULL ? h : d->where;
}

static gboolean subset_exists(const AnalyzeCtx *cx,
                              const char *host,
                              const char *ns,
                              const char *subset)
{
    g_autofree char *fqdn = istio_resolve_short_name(host, ns);
    for (guint i = 0; i < cx->drs->len; i++) {
        const IstioDestinationRule *dr = g_ptr_array_index(cx->drs, i);
        if (dr == NULL || strcmp(dr->host, fqdn) != 0) {
            continue;
        }
        for (guint j = 0; j < dr->subsets->len; j++) {
            const IstioSubset *s = g_ptr_array_index(dr->subsets, j);
            if (strcmp(s->name, subset) == 0) {
                return TRUE;
            }
        }
    }
    return FALSE;
}

/* One destination (@mirror: of http[].mirror/mirrors): the host must be a
 * Service (IST0101 "host"); a given port must be one of its ports (IST0101
 * "host:port"); without a port, a Service of several ports is ambiguous
 * (IST0112, R8.4); a subset must be defined by a DestinationRule for the
 * host (IST0101 "host+subset"). Each reported destination is remembered so
 * that ISM0007 does not say the same again.
 * Cite: istio pkg/config/analysis/analyzers/virtualservice/
 * destinationhosts.go, analyzeVirtualService(), checkServiceEntryPorts();
 * destinationrules.go, checkDestinationSubset(). */
static void check_destination(AnalyzeCtx *cx,
                              const K8sMeta *meta,
                              const IstioDestination *d,
                              gboolean mirror)
{
    const K8sService *svc = analyze__service_for_host(cx, d->host, meta->ns);
    const YNode *where = host_where(d);
    if (svc == NULL) {
        g_autofree char *q = analyze__quote(d->host);
        analyze__report(cx, "IST0101", meta, where,
                        "Referenced %s not found: %s",
                        mirror ? "mirror host" : "host", q);
        g_hash_table_add(cx->explained, (gpointer)d->where);
    } else if (d->port > 0) {
        gboolean found = FALSE;
        for (guint i = 0; i < svc->ports->len && !found; i++) {
            found =
                g_array_index(svc->ports, K8sServicePort, i).port == d->port;
        }
        if (!found) {
            g_autofree char *hp = g_strdup_printf("%s:%d", d->host, d->port);
            g_autofree char *q = analyze__quote(hp);
            analyze__report(cx, "IST0101", meta, where,
                            "Referenced host:port not found: %s", q);
            g_hash_table_add(cx->explained, (gpointer)d->where);
        }
    } else if (svc->ports->len > 1) {
        g_autoptr(GPtrArray) nums = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < svc->ports->len; i++) {
            g_ptr_array_add(
                nums,
                g_strdup_printf(
                    "%d", g_array_index(svc->ports, K8sServicePort, i).port));
        }
        g_autofree char *list = analyze__list(nums);
        g_autofree char *q = analyze__quote(d->host);
        analyze__report(cx, "IST0112", meta, where,
                        "This VirtualService routes to a service %s that "
                        "exposes multiple ports %s. Specifying a port in the "
                        "destination is required to disambiguate.",
                        q, list);
        g_hash_table_add(cx->explained, (gpointer)d->where);
    }
    if (d->subset != NULL && d->subset[0] != '\0' &&
        !subset_exists(cx, d->host, meta->ns, d->subset)) {
        g_autofree char *hs = g_strdup_printf("%s+%s", d->host, d->subset);
        g_autofree char *q = analyze__quote(hs);
        analyze__report(cx, "IST0101", meta, where,
                        "Referenced %s+subset in destinationrule not found: "
                        "%s",
                        mirror ? "mirror" : "host", q);
        g_hash_table_add(cx->explained, (gpointer)d->where);
    }
}

/* Cite: virtualservice/util.go, getRouteDestinations() (tcp, tls, http)
 * and getHTTPMirrorDestinations(). */
static void check_destinations(AnalyzeCtx *cx,
                               const K8sMeta *meta,
                               const IstioVirtualService *vs)
{
    const GPtrArray *l4[] = { vs->tcp, vs->tls };
    for (guint k = 0; k < G_N_ELEMENTS(l4); k++) {
        for (guint i = 0; i < l4[k]->len; i++) {
            const IstioL4Route *r = g_ptr_array_index(l4[k], i);
            for (guint j = 0; j < r->route->len; j++) {
                check_destination(cx, meta, g_ptr_array_index(r->route, j),
                                  FALSE);
            }
        }
    }
    for (guint i = 0; i < vs->http->len; i++) {
        const IstioHttpRoute *r = g_ptr_array_index(vs->http, i);
        for (guint j = 0; j < r->route->len; j++) {
            check_destination(cx, meta, g_ptr_array_index(r->route, j), FALSE);
        }
    }
    for (guint i = 0; i < vs->http->len; i++) {
        const IstioHttpRoute *r = g_ptr_array_index(vs->http, i);
        for (guint j = 0; j < r->mirrors->len; j++) {
            check_destination(cx, meta, g_ptr_array_index(r->mirrors, j), TRUE);
        }
    }
}

/* ---- IST0140
 * --------------------------------------------------------------------- */

/* IST0140: a VirtualService with gateways routes (http) to a host without
 * subset while another VirtualService (any) routes the same host, written
 * the same way and listed in its own hosts, by subset: the subset routing
 * applies to sidecars, not to requests entering through the gateway. Host
 * strings compare as written, as istioctl compares them.
 * Cite: virtualservice/destinationhosts.go, analyzeSubset(),
 * initVirtualServiceDestinations(). */
static void check_subset_rules(AnalyzeCtx *cx, guint vi)
{
    const K8sMeta *meta = g_ptr_array_index(cx->c->virtual_services, vi);
    const IstioVirtualService *vs = g_ptr_array_index(cx->vss, vi);
    if (ynode_len(ynode_path(meta->doc, "spec.gateways")) == 0) {
        return;
    }
    for (guint i = 0; i < vs->http->len; i++) {
        const IstioHttpRoute *r = g_ptr_array_index(vs->http, i);
        for (guint j = 0; j < r->route->len; j++) {
            const IstioDestination *d = g_ptr_array_index(r->route, j);
            if (d->subset != NULL && d->subset[0] != '\0') {
                continue;
            }
            for (guint oi = 0; oi < cx->vss->len; oi++) {
                const K8sMeta *om =
                    g_ptr_array_index(cx->c->virtual_services, oi);
                const IstioVirtualService *o = g_ptr_array_index(cx->vss, oi);
                if (o == NULL) {
                    continue;
                }
                g_autoptr(GPtrArray) ohosts =
                    analyze__strings(ynode_path(om->doc, "spec.hosts"));
                for (guint a = 0; a < o->http->len; a++) {
                    const IstioHttpRoute *orr = g_ptr_array_index(o->http, a);
                    for (guint b = 0; b < orr->route->len; b++) {
                        const IstioDestination *od =
                            g_ptr_array_index(orr->route, b);
                        gboolean own = FALSE;
                        for (guint h = 0; h < ohosts->len && !own; h++) {
                            own = strcmp(g_ptr_array_index(ohosts, h),
                                         od->host) == 0;
                        }
                        if (od->subset == NULL || od->subset[0] == '\0' ||
                            !own || strcmp(od->host, d->host) != 0) {
                            continue;
                        }
                        analyze__report(cx, "IST0140", meta, host_where(d),
                                        "Subset in virtual service %s has no "
                                        "effect on ingress gateway %s "
                                        "requests",
                                        o->ref, vs->ref);
                    }
                }
            }
        }
    }
}

/* ---- IST0130, IST0131
 * --------------------------------------------------------------- */

static gint str_ptr_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A canonical text of a match (map keys sorted, the match's own name left
 * out), standing for istioctl's JSON serialization of the proto.
 * Cite: istio pkg/config/validation/validation.go, asJSON(). */
static void canon(GString *out, const YNode *n, gboolean skip_name)
{
    if (n == NULL) {
        g_string_append(out, "~");
        return;
    }
    if (n->kind == YNODE_SCALAR) {
        g_autofree char *q = analyze__quote(n->scalar);
        g_string_append(out, q);
        return;
    }
    if (n->kind == YNODE_SEQ) {
        g_string_append_c(out, '[');
        for (guint i = 0; i < ynode_len(n); i++) {
            canon(out, ynode_at(n, i), FALSE);
            g_string_append_c(out, ',');
        }
        g_string_append_c(out, ']');
        return;
    }
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    for (guint i = 0; i < ynode_len(n); i++) {
        const char *k = ynode_str(ynode_key_at(n, i));
        if (k != NULL && !(skip_name && strcmp(k, "name") == 0)) {
            g_ptr_array_add(keys, (gpointer)k);
        }
    }
    g_ptr_array_sort(keys, str_ptr_cmp);
    g_string_append_c(out, '{');
    for (guint i = 0; i < keys->len; i++) {
        const char *k = g_ptr_array_index(keys, i);
        g_string_append_printf(out, "%s:", k);
        canon(out, ynode_get(n, k), FALSE);
        g_string_append_c(out, ',');
    }
    g_string_append_c(out, '}');
}

static char *canon_text(const YNode *n)
{
    GString *out = g_string_new(NULL);
    canon(out, n, TRUE);
    return g_string_free(out, FALSE);
}

/* Cite: validation.go, routeName() and requestName(): a quoted name when
 * there is one, else "#<index>". */
static char *rule_name(const char *name, guint index)
{
    if (name != NULL && name[0] != '\0') {
        return analyze__quote(name);
    }
    return g_strdup_printf("#%u", index);
}

/* Cite: validation.go, assignExactOrPrefix(). */
static char *exact_or_prefix(const IstioStringMatch *m)
{
    if (m->kind == ISTIO_MATCH_EXACT) {
        return g_strconcat("exact:", m->value, NULL);
    }
    if (m->kind == ISTIO_MATCH_PREFIX) {
        return g_strconcat("prefix:", m->value, NULL);
    }
    return g_strdup("");
}

/* One http match with a uri prefix, for the overlap check.
 * Cite: validation.go, OverlappingMatchValidationForHTTPRoute,
 * genMatchHTTPRoutes(). */
typedef struct {
    char *route;        /* routeName of its rule */
    char *match;        /* requestName of the match */
    const char *prefix; /* uri.prefix (borrowed) */
    gint port;          /* match.port, 0: none */
    char *method;       /* "exact:GET" when absent */
    char *authority;    /* "exact:x" / "prefix:x" / "" */
    KvList *headers;    /* name -> exact/prefix text */
    KvList *query;      /* query parameters, the same */
    KvList *without;    /* withoutHeaders, the same */
    const YNode *where; /* the match entry */
} PrefixMatch;

static void prefix_match_free(gpointer p)
{
    PrefixMatch *m = p;
    g_free(m->route);
    g_free(m->match);
    g_free(m->method);
    g_free(m->authority);
    kv_list_free(m->headers);
    kv_list_free(m->query);
    kv_list_free(m->without);
    g_free(m);
}

static KvList *key_matches(const GPtrArray *ms)
{
    KvList *kv = kv_list_new();
    for (guint i = 0; ms != NULL && i < ms->len; i++) {
        const IstioKeyMatch *k = g_ptr_array_index(ms, i);
        g_autofree char *v = exact_or_prefix(&k->m);
        kv_list_set(kv, k->name, v);
    }
    return kv;
}

static PrefixMatch *
prefix_match_new(const IstioHttpRoute *r, const IstioHttpMatch *m, guint matchn)
{
    if (m->uri.kind != ISTIO_MATCH_PREFIX || m->uri.value == NULL ||
        m->uri.value[0] == '\0') {
        return NULL;
    }
    PrefixMatch *p = g_new0(PrefixMatch, 1);
    p->route = rule_name(r->name, r->index);
    p->match = rule_name(m->name, matchn);
    p->prefix = m->uri.value;
    p->port = m->port;
    p->method = exact_or_prefix(&m->method);
    if (p->method[0] == '\0') {
        g_free(p->method);
        p->method = g_strdup("exact:GET");
    }
    p->authority = exact_or_prefix(&m->authority);
    p->headers = key_matches(m->headers);
    p->query = key_matches(m->query_params);
    p->without = key_matches(m->without_headers);
    p->where = m->where;
    return p;
}

/* Cite: validation.go, coveredValidation(): the same keys, and each value
 * of @a equal to or starting with @b's. */
static gboolean kv_covered(const KvList *a, const KvList *b)
{
    if (kv_list_len(a) != kv_list_len(b)) {
        return FALSE;
    }
    for (guint i = 0; i < kv_list_len(a); i++) {
        const char *va = g_ptr_array_index(a->values, i);
        const char *vb = kv_list_get(b, g_ptr_array_index(a->keys, i));
        if (vb == NULL || (strcmp(va, vb) != 0 && !g_str_has_prefix(va, vb))) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean str_covered(const char *a, const char *b)
{
    return strcmp(a, b) == 0 || g_str_has_prefix(a, b);
}

/* Does earlier match @a cover later match @b (its prefix a prefix of b's,
 * the other conditions equal or prefixes)? Cite: coveredValidation(). */
static gboolean prefix_covered(const PrefixMatch *a, const PrefixMatch *b)
{
    return g_str_has_prefix(b->prefix, a->prefix) && a->port == b->port &&
           str_covered(a->method, b->method) &&
           str_covered(a->authority, b->authority) &&
           kv_covered(a->headers, b->headers) &&
           kv_covered(a->query, b->query) && kv_covered(a->without, b->without);
}

static void report_unreachable(AnalyzeCtx *cx,
                               const K8sMeta *meta,
                               const YNode *where,
                               const char *rule,
                               const char *reason)
{
    analyze__report(cx, "IST0130", meta, where,
                    "VirtualService rule %s not used (%s).", rule, reason);
}

static void report_ineffective(AnalyzeCtx *cx,
                               const K8sMeta *meta,
                               const YNode *where,
                               const char *rule,
                               const char *match,
                               const char *dup)
{
    analyze__report(cx, "IST0131", meta, where,
                    "VirtualService rule %s match %s is not used "
                    "(duplicate/overlapping match in rule %s).",
                    rule, match, dup);
}

/* IST0130/IST0131 for the http rules: a rule after a rule without matches
 * is unreachable; a match equal to an earlier one is ineffective, and a
 * rule whose matches all are, unreachable; a uri prefix match covered by an
 * earlier prefix match (same other conditions) is ineffective.
 * Cite: istio pkg/config/validation/validation.go,
 * analyzeUnreachableHTTPRules(), coveredValidation(). */
static void check_http_rules(AnalyzeCtx *cx,
                             const K8sMeta *meta,
                             const IstioVirtualService *vs)
{
    g_autoptr(GHashTable) seen =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) prefixes =
        g_ptr_array_new_with_free_func(prefix_match_free);
    gint empty = -1;
    for (guint i = 0; i < vs->http->len; i++) {
        const IstioHttpRoute *r = g_ptr_array_index(vs->http, i);
        g_autofree char *rn = rule_name(r->name, r->index);
        if (r->matches->len == 0) {
            if (empty >= 0) {
                report_unreachable(cx, meta, r->where, rn,
                                   "only the last rule can have no matches");
            }
            empty = (gint)i;
            continue;
        }
        guint dups = 0;
        for (guint j = 0; j < r->matches->len; j++) {
            const IstioHttpMatch *m = g_ptr_array_index(r->matches, j);
            if (empty >= 0) {
                report_unreachable(cx, meta, r->where, rn,
                                   "route without matches defined before");
                continue;
            }
            char *key = canon_text(m->where);
            gpointer prev = NULL;
            if (g_hash_table_lookup_extended(seen, key, NULL, &prev)) {
                const IstioHttpRoute *pr =
                    g_ptr_array_index(vs->http, GPOINTER_TO_UINT(prev));
                g_autofree char *mn = rule_name(m->name, j);
                g_autofree char *pn = rule_name(pr->name, pr->index);
                report_ineffective(cx, meta, m->where, rn, mn, pn);
                dups++;
                g_free(key);
                continue;
            }
            g_hash_table_insert(seen, key, GUINT_TO_POINTER(i));
            PrefixMatch *p = prefix_match_new(r, m, j);
            if (p != NULL) {
                g_ptr_array_add(prefixes, p);
            }
        }
        if (dups == r->matches->len) {
            report_unreachable(cx, meta, r->where, rn,
                               "all matches used by prior rules");
        }
    }
    for (guint i = 0; i < prefixes->len; i++) {
        const PrefixMatch *a = g_ptr_array_index(prefixes, i);
        for (guint j = i + 1; j < prefixes->len; j++) {
            const PrefixMatch *b = g_ptr_array_index(prefixes, j);
            if (strcmp(a->prefix, b->prefix) == 0 || !prefix_covered(a, b)) {
                continue;
            }
            g_autofree char *mb =
                g_strdup_printf("%s of prefix %s", b->match, b->prefix);
            g_autofree char *ma = g_strdup_printf(
                "%s of prefix %s on %s", a->match, a->prefix, a->route);
            report_ineffective(cx, meta, b->where, b->route, mb, ma);
        }
    }
}

/* The same for tcp or tls rules (no names, no prefix check).
 * Cite: validation.go, analyzeUnreachableTCPRules(), ...TLSRules(). */
static void
check_l4_rules(AnalyzeCtx *cx, const K8sMeta *meta, const GPtrArray *rules)
{
    g_autoptr(GHashTable) seen =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    gint empty = -1;
    for (guint i = 0; i < rules->len; i++) {
        const IstioL4Route *r = g_ptr_array_index(rules, i);
        g_autofree char *rn = rule_name(NULL, r->index);
        if (r->matches->len == 0) {
            if (empty >= 0) {
                report_unreachable(cx, meta, r->where, rn,
                                   "only the last rule can have no matches");
            }
            empty = (gint)i;
            continue;
        }
        guint dups = 0;
        for (guint j = 0; j < r->matches->len; j++) {
            const IstioL4Match *m = g_ptr_array_index(r->matches, j);
            if (empty >= 0) {
                report_unreachable(cx, meta, r->where, rn,
                                   "route without matches defined before");
                continue;
            }
            char *key = canon_text(m->where);
            gpointer prev = NULL;
            if (g_hash_table_lookup_extended(seen, key, NULL, &prev)) {
                g_autofree char *mn = rule_name(NULL, j);
                g_autofree char *pn =
                    g_strdup_printf("#%u", GPOINTER_TO_UINT(prev));
                report_ineffective(cx, meta, m->where, rn, mn, pn);
                dups++;
                g_free(key);
                continue;
            }
            g_hash_table_insert(seen, key, GUINT_TO_POINTER(r->index));
        }
        if (dups == r->matches->len) {
            report_unreachable(cx, meta, r->where, rn,
                               "all matches used by prior rules");
        }
    }
}

/* ---- IST0109
 * ------------------------------------------------------------------------- */

/* IST0109: VirtualServices bound to the mesh gateway (no gateways field,
 * or "mesh" listed) that define the same host in an overlapping exportTo
 * scope. Gateway-bound VirtualServices are merged instead (R6.4), so only
 * the mesh counts. Reported on each, at metadata.name.
 * Cite: istio pkg/config/analysis/analyzers/virtualservice/
 * conflictingmeshgatewayhosts.go, initMeshGatewayHosts(). */
static void check_mesh_hosts(AnalyzeCtx *cx)
{
    /* "scope/fqdn" -> GPtrArray of guint indexes, in input order. */
    g_autoptr(GHashTable) groups = g_hash_table_new_full(
        g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    g_autoptr(GPtrArray) order = g_ptr_array_new(); /* keys, first seen */
    g_autoptr(GHashTable) raw = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < cx->vss->len; i++) {
        const IstioVirtualService *vs = g_ptr_array_index(cx->vss, i);
        if (vs == NULL) {
            continue;
        }
        const K8sMeta *meta = g_ptr_array_index(cx->c->virtual_services, i);
        g_autoptr(GPtrArray) gws =
            analyze__strings(ynode_path(meta->doc, "spec.gateways"));
        gboolean mesh = gws->len == 0;
        for (guint j = 0; j < gws->len; j++) {
            mesh = mesh || strcmp(g_ptr_array_index(gws, j), "mesh") == 0;
        }
        if (!mesh) {
            continue;
        }
        g_autoptr(GPtrArray) scopes = g_ptr_array_new_with_free_func(g_free);
        gboolean all = vs->export_to->len == 0;
        for (guint j = 0; j < vs->export_to->len; j++) {
            all = all || strcmp(g_ptr_array_index(vs->export_to, j), "*") == 0;
        }
        if (all) {
            g_ptr_array_add(scopes, g_strdup("*"));
        }
        for (guint j = 0; !all && j < vs->export_to->len; j++) {
            const char *e = g_ptr_array_index(vs->export_to, j);
            const char *ns = strcmp(e, ".") == 0 ? meta->ns : e;
            if (!g_ptr_array_find_with_equal_func(scopes, ns, g_str_equal,
                                                  NULL)) {
                g_ptr_array_add(scopes, g_strdup(ns));
            }
        }
        g_autoptr(GPtrArray) hosts =
            analyze__strings(ynode_path(meta->doc, "spec.hosts"));
        for (guint si = 0; si < scopes->len; si++) {
            for (guint h = 0; h < hosts->len; h++) {
                const char *host = g_ptr_array_index(hosts, h);
                g_autofree char *fqdn =
                    istio_resolve_short_name(host, meta->ns);
                char *key = g_strdup_printf(
                    "%s/%s", (const char *)g_ptr_array_index(scopes, si), fqdn);
                GPtrArray *members = g_hash_table_lookup(groups, key);
                if (members == NULL) {
                    members = g_ptr_array_new();
                    g_hash_table_insert(groups, key, members);
                    g_ptr_array_add(order, key);
                    g_hash_table_insert(raw, key, (gpointer)host);
                } else {
                    g_free(key);
                }
                if (!g_ptr_array_find(members, GUINT_TO_POINTER(i), NULL)) {
                    g_ptr_array_add(members, GUINT_TO_POINTER(i));
                }
            }
        }
    }
    for (guint k = 0; k < order->len; k++) {
        const char *key = g_ptr_array_index(order, k);
        GPtrArray *members = g_hash_table_lookup(groups, key);
        if (members->len < 2) {
            continue;
        }
        GString *names = g_string_new(NULL);
        for (guint j = 0; j < members->len; j++) {
            const IstioVirtualService *vs = g_ptr_array_index(
                cx->vss, GPOINTER_TO_UINT(g_ptr_array_index(members, j)));
            g_string_append_printf(names, "%s%s", j > 0 ? "," : "", vs->ref);
        }
        for (guint j = 0; j < members->len; j++) {
            const K8sMeta *meta = g_ptr_array_index(
                cx->c->virtual_services,
                GPOINTER_TO_UINT(g_ptr_array_index(members, j)));
            analyze__report(
                cx, "IST0109", meta, ynode_path(meta->doc, "metadata.name"),
                "The VirtualServices %s associated with mesh "
                "gateway define the same host %s which can lead "
                "to undefined behavior. This can be fixed by "
                "merging the conflicting VirtualServices into a "
                "single resource.",
                names->str, (const char *)g_hash_table_lookup(raw, key));
        }
        g_string_free(names, TRUE);
    }
}

void analyze__virtual_services(AnalyzeCtx *cx)
{
    for (guint i = 0; i < cx->vss->len; i++) {
        const K8sMeta *meta = g_ptr_array_index(cx->c->virtual_services, i);
        const IstioVirtualService *vs = g_ptr_array_index(cx->vss, i);
        if (vs == NULL) {
            continue;
        }
        check_gateways(cx, meta);
        check_destinations(cx, meta, vs);
        check_subset_rules(cx, i);
        check_http_rules(cx, meta, vs);
        check_l4_rules(cx, meta, vs->tcp);
        check_l4_rules(cx, meta, vs->tls);
    }
    check_mesh_hosts(cx);
}
