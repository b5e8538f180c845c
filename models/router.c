/* router.c: step 7 at request time (models): Envoy's virtual host by
 * authority, the first matching route, and its action (route, redirect,
 * direct response, rewrite, fault, mirror, timeout, retries). */
#include "config.h"

#include <string.h>

#include "models/gateway-private.h"

/* Length of @path before '?' or '#'. */
static gsize path_len_no_query(const char *path)
{
    return strcspn(path, "?#");
}

static gboolean ascii_prefix(const char *s,
                             gsize slen,
                             const char *prefix,
                             gsize plen,
                             gboolean caseless)
{
    if (slen < plen) {
        return FALSE;
    }
    return caseless ? g_ascii_strncasecmp(s, prefix, plen) == 0
                    : memcmp(s, prefix, plen) == 0;
}

/* Cite: envoy source/common/router/config_impl.cc, PrefixRouteEntryImpl,
 * PathRouteEntryImpl, RegexRouteEntryImpl,
 * PathSeparatedPrefixRouteEntryImpl::matches(). R7.4. */
/* ascii_prefix(s, strlen(s), prefix, plen, caseless) without measuring
 * @s: a shorter @s differs from @prefix at its NUL (@prefix has none in
 * its first @plen bytes), as g_ascii_strncasecmp() stops there too. The
 * usual route is a prefix "/", and strlen() and memcmp() calls were most
 * of matching it. */
static gboolean str_has_prefix(const char *s,
                               const char *prefix,
                               gsize plen,
                               gboolean caseless)
{
    for (gsize i = 0; i < plen; i++) {
        if (s[i] != prefix[i] &&
            (!caseless ||
             g_ascii_tolower(s[i]) != g_ascii_tolower(prefix[i]))) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean path_matches(const GwRoute *r, const char *path)
{
    /* The query is cut only where it matters: not for a prefix. */
    gsize nq;
    switch (r->path_kind) {
    case GW_PATH_PREFIX:
        return str_has_prefix(path, r->path, r->path_len, r->ignore_case);
    case GW_PATH_EXACT:
        nq = path_len_no_query(path);
        return nq == r->path_len &&
               ascii_prefix(path, nq, r->path, r->path_len, r->ignore_case);
    case GW_PATH_REGEX:
        nq = path_len_no_query(path);
        /* GRegex reads past the end of invalid UTF-8 (a replayed log line
         * may hold any bytes): such a path matches no regex. */
        return g_utf8_validate(path, (gssize)nq, NULL) &&
               g_regex_match_full(r->path_re, path, (gssize)nq, 0, 0, NULL,
                                  NULL);
    case GW_PATH_SEPARATED_PREFIX:
        nq = path_len_no_query(path);
        return ascii_prefix(path, nq, r->path, r->path_len, FALSE) &&
               (nq == r->path_len || path[r->path_len] == '/');
    }
    return FALSE;
}

static gboolean value_matches(const GwMatcher *m, const char *v, gsize len)
{
    switch (m->kind) {
    case ISTIO_MATCH_EXACT:
        return strlen(m->value) == len && memcmp(v, m->value, len) == 0;
    case ISTIO_MATCH_PREFIX:
        return ascii_prefix(v, len, m->value, strlen(m->value), FALSE);
    case ISTIO_MATCH_REGEX:
        return g_utf8_validate(v, (gssize)len, NULL) && /* see path_matches */
               g_regex_match_full(m->re, v, (gssize)len, 0, 0, NULL, NULL);
    case ISTIO_MATCH_PRESENT:
        return TRUE;
    case ISTIO_MATCH_NONE:
    case ISTIO_MATCH_PATH_SEPARATED_PREFIX:
        break;
    }
    return FALSE;
}

static const char *header_value(const GatewayRequest *req, const char *name)
{
    if (name[0] == ':') {
        if (strcmp(name, ":method") == 0) {
            return req->method;
        }
        if (strcmp(name, ":authority") == 0) {
            return req->authority;
        }
        if (strcmp(name, ":scheme") == 0) {
            return req->scheme;
        }
        if (strcmp(name, ":path") == 0) {
            return req->path;
        }
        return NULL;
    }
    if (strcmp(name, "host") == 0) {
        return req->authority;
    }
    return kv_list_get(req->headers, name);
}

/* Cite: envoy source/common/http/header_utility.cc, matchHeaders(): a
 * missing header fails a value matcher; with invert_match the result is
 * negated, and a missing header counts as "" for value matchers (so it
 * satisfies withoutHeaders). R7.4. */
static gboolean header_matches(const GwMatcher *m, const GatewayRequest *req)
{
    const char *v = header_value(req, m->name);
    gboolean res;
    if (v == NULL) {
        if (!m->invert) {
            return FALSE;
        }
        res = m->kind == ISTIO_MATCH_PRESENT ? FALSE : value_matches(m, "", 0);
    } else {
        res = value_matches(m, v, strlen(v));
    }
    return m->invert ? !res : res;
}

gboolean gateway_query_param(const char *path,
                             const char *name,
                             const char **val,
                             gsize *len)
{
    const char *q = strchr(path, '?');
    if (q == NULL) {
        return FALSE;
    }
    gsize nl = strlen(name);
    const char *p = q + 1;
    while (*p != '\0' && *p != '#') {
        gsize seg = strcspn(p, "&#");
        gsize klen = strcspn(p, "=&#");
        if (klen == nl && memcmp(p, name, nl) == 0) {
            if (klen < seg) {
                *val = p + klen + 1;
                *len = seg - klen - 1;
            } else {
                *val = p + klen;
                *len = 0;
            }
            return TRUE;
        }
        p += seg;
        if (*p == '&') {
            p++;
        }
    }
    return FALSE;
}

gboolean router__route_matches(const GwRoute *r, const GatewayRequest *req)
{
    const char *path = req->path != NULL ? req->path : "/";
    if (!path_matches(r, path)) {
        return FALSE;
    }
    for (guint i = 0; r->headers != NULL && i < r->headers->len; i++) {
        if (!header_matches(g_ptr_array_index(r->headers, i), req)) {
            return FALSE;
        }
    }
    for (guint i = 0; r->query != NULL && i < r->query->len; i++) {
        const GwMatcher *m = g_ptr_array_index(r->query, i);
        const char *v = NULL;
        gsize len = 0;
        if (!gateway_query_param(path, m->name, &v, &len) ||
            !value_matches(m, v, len)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* Percentage draw as Envoy's runtime featureEnabled(): random % 1e6 <
 * numerator. No draw at 0 % or 100 %; without @rng only 100 % fires. */
static gboolean draw_ppm(Rng *rng, guint32 ppm)
{
    if (ppm == 0) {
        return FALSE;
    }
    if (ppm >= 1000000u) {
        return TRUE;
    }
    return rng != NULL && rng_below(rng, 1000000u) < ppm;
}

static void
reply(GatewayDecision *out, gint status, const char *flags, const char *reason)
{
    out->outcome = GATEWAY_LOCAL_REPLY;
    out->step = 7;
    out->status = status;
    out->flags = flags;
    out->reason = reason;
}

/* Location of a VirtualService redirect. Cite: envoy config_impl.cc,
 * RouteEntryImplBase::newUri(); istio route.go, ApplyRedirect(). R12. */
static char *redirect_location(const GwRoute *r, const GatewayRequest *req)
{
    const char *auth = req->authority != NULL ? req->authority : "";
    const char *path = req->path != NULL ? req->path : "/";
    const char *scheme = r->redirect_scheme != NULL
                             ? r->redirect_scheme
                             : (req->scheme != NULL ? req->scheme : "http");
    GString *loc = g_string_new(scheme);
    g_string_append(loc, "://");
    if (r->redirect_host != NULL) {
        g_string_append(loc, r->redirect_host);
    } else if (r->redirect_port > 0 || r->redirect_derive_port) {
        g_string_append_len(loc, auth, (gssize)host_authority_len(auth));
    } else {
        g_string_append(loc, auth);
    }
    if (r->redirect_port > 0) {
        g_string_append_printf(loc, ":%d", r->redirect_port);
    } else if (r->redirect_derive_port) {
        gsize hl = host_authority_len(auth);
        if (auth[hl] == ':') {
            g_string_append(loc, auth + hl);
        }
    }
    if (r->redirect_path != NULL) {
        g_string_append(loc, r->redirect_path);
        const char *q = strchr(path, '?');
        if (strchr(r->redirect_path, '?') == NULL && q != NULL) {
            g_string_append(loc, q);
        }
    } else {
        g_string_append(loc, path);
    }
    return g_string_free(loc, FALSE);
}

/* Path after rewrite.uri (prefix_rewrite) or uriRegexRewrite; NULL when
 * unchanged. Cite: envoy config_impl.cc, finalizePathHeader(). R12. */
static char *rewrite_path(const GwRoute *r, const char *path)
{
    gsize nq = path_len_no_query(path);
    if (r->regex_rewrite != NULL) {
        if (!g_utf8_validate(path, (gssize)nq, NULL)) {
            return NULL; /* GRegex needs UTF-8: see path_matches() */
        }
        g_autofree char *head = g_strndup(path, nq);
        g_autofree char *res = g_regex_replace(r->regex_rewrite, head, -1, 0,
                                               r->regex_sub, 0, NULL);
        if (res == NULL) {
            return NULL;
        }
        return g_strconcat(res, path + nq, NULL);
    }
    if (r->prefix_rewrite == NULL) {
        return NULL;
    }
    gsize matched = r->path_len;
    if (r->path_kind == GW_PATH_EXACT || r->path_kind == GW_PATH_REGEX) {
        matched = nq;
    }
    return g_strconcat(r->prefix_rewrite, path + matched, NULL);
}

void router__decide(const GatewaySnapshot *s,
                    const GwRouteConfig *rc,
                    const GatewayRequest *req,
                    Rng *rng,
                    GatewayDecision *out,
                    Trace *tr,
                    SimTime at,
                    const char *node)
{
    (void)s;
    out->route_config = rc->name;
    if (tr != NULL) {
        trace_set(tr, "route_config", rc->name);
    }
    HostMatchKind kind = HOST_MATCH_NONE;
    const char *dom = NULL;
    const GwVirtualHost *vh =
        req->names_fixed ? host_domain_table_lookup_fixed(
                               rc->table, req->authority, &kind, &dom)
                         : host_domain_table_lookup(rc->table, req->authority,
                                                    &kind, &dom);
    if (vh == NULL) {
        reply(out, 404, "NR",
              "R9.5: no virtual host domain matches the authority (exact, "
              "wildcards, then '*'; no fallback): 404 NR");
        if (tr != NULL) {
            trace_addf(tr, 7, "VirtualService", node, at, out->reason,
                       "route config %s has no virtual host for '%s'", rc->name,
                       req->authority != NULL ? req->authority : "");
        }
        return;
    }
    out->virtual_host = vh->name;
    if (tr != NULL) {
        static const char *const why[] = {
            "", "R9.5: exact domain beats wildcards",
            "R9.5: longest suffix wildcard", "R9.5: longest prefix wildcard",
            "R9.5: the '*' domain catches any authority"
        };
        trace_set(tr, "virtual_host", vh->name);
        trace_addf(tr, 7, "VirtualService", node, at, why[kind],
                   "route config %s, virtual host %s (domain %s) for "
                   "authority '%s'",
                   rc->name, vh->name, dom, req->authority);
    }
    if (vh->require_tls && g_strcmp0(req->scheme, "https") != 0) {
        /* Cite: envoy config_impl.cc, getRouteFromEntries() and
         * http/utility.cc, createSslRedirectPath(). R9.6, R11.1. */
        out->location = g_strdup_printf(
            "https://%s%s", req->authority != NULL ? req->authority : "",
            req->path != NULL ? req->path : "/");
        reply(out, 301, "-",
              "R11.1: httpsRedirect (require_tls ALL): 301 to https before "
              "any route is considered");
        if (tr != NULL) {
            trace_addf(tr, 7, "VirtualService", node, at, out->reason,
                       "301 redirect to %s", out->location);
        }
        return;
    }
    const GwRoute *r = NULL;
    guint ri = 0;
    for (; ri < vh->routes->len; ri++) {
        const GwRoute *x = g_ptr_array_index(vh->routes, ri);
        if (router__route_matches(x, req)) {
            r = x;
            break;
        }
    }
    if (r == NULL) {
        reply(out, 404, "NR",
              vh->routes->len == 0
                  ? "R6.4: the virtual host has no routes (blackhole or "
                    "httpsRedirect only): 404 NR"
                  : "R9.6: no route of the virtual host matches (first match "
                    "wins; no fallback to another virtual host): 404 NR");
        if (tr != NULL) {
            trace_addf(tr, 7, "VirtualService", node, at, out->reason,
                       "no route of %s matches %s %s", vh->name,
                       req->method != NULL ? req->method : "GET",
                       req->path != NULL ? req->path : "/");
        }
        return;
    }
    out->route = r->display;
    if (tr != NULL) {
        trace_set(tr, "route", r->display);
        trace_addf(tr, 7, "VirtualService", node, at,
                   "R9.6: routes are tried in order, the first match wins "
                   "(R7.3: catch-alls last)",
                   "VirtualService %s, route %u (%s): %s matched", r->vs_ref,
                   ri + 1, r->display, r->match_text);
    }
    switch (r->action) {
    case GW_ACTION_REDIRECT:
        out->location = redirect_location(r, req);
        reply(out, r->redirect_code, "-", "R12: VirtualService redirect");
        TRACE(tr, 7, "VirtualService", node, at, out->location,
              "R12: redirect %d", r->redirect_code);
        return;
    case GW_ACTION_DIRECT:
        out->body = r->direct_body;
        reply(out, r->direct_status, "-", "R12: VirtualService directResponse");
        if (tr != NULL) {
            trace_addf(tr, 7, "VirtualService", node, at, out->reason,
                       "direct response %d", r->direct_status);
        }
        return;
    case GW_ACTION_ROUTE:
        break;
    }
    gboolean delayed = r->fault_delay && draw_ppm(rng, r->delay_ppm);
    if (delayed) {
        out->fault_delay = r->delay;
        out->flags = "DI";
        if (tr != NULL) {
            g_autofree char *d = sim_time_format(r->delay);
            trace_addf(tr, 7, "Envoy fault", node, at, "R12: fault delay (DI)",
                       "request delayed by %s", d);
        }
    }
    if (r->fault_abort && draw_ppm(rng, r->abort_ppm)) {
        reply(out, r->abort_status, delayed ? "DI,FI" : "FI",
              "R12: fault injection abort (FI)");
        if (tr != NULL) {
            trace_addf(tr, 7, "Envoy fault", node, at, out->reason,
                       "request aborted with %d", r->abort_status);
        }
        return;
    }
    const GwTarget *t = gateway__pick_target(&r->dests, rng);
    g_assert(t != NULL);
    out->cluster_name = t->name;
    if (tr != NULL) {
        trace_set(tr, "cluster", t->name);
    }
    if (t->cluster == NULL) {
        reply(out, 503, delayed ? "DI,NC" : "NC",
              "R8.5: the route's cluster does not exist (unknown host, port "
              "or subset): 503 NC");
        out->step = 8; /* it fails at the application Service */
        if (tr != NULL) {
            trace_addf(tr, 8, "Envoy router", node, at, out->reason,
                       "cluster %s not found", t->name);
        }
        return;
    }
    out->outcome = GATEWAY_FORWARD;
    out->step = 8;
    out->cluster = t->cluster;
    out->timeout = r->timeout;
    out->retry = r->has_retry ? &r->retry : NULL;
    if (r->src != NULL) {
        out->headers_set = r->src->req_headers.set;
        out->headers_add = r->src->req_headers.add;
        out->headers_remove = r->src->req_headers.remove;
    }
    if (r->prefix_rewrite != NULL || r->regex_rewrite != NULL) {
        out->path_buf = rewrite_path(r, req->path != NULL ? req->path : "/");
        if (out->path_buf != NULL) {
            out->path = out->path_buf;
        }
    }
    if (r->host_rewrite != NULL) {
        out->authority = r->host_rewrite;
    }
    if (r->mirrors.targets != NULL && r->mirrors.targets->len > 0) {
        const GwTarget *mt = g_ptr_array_index(r->mirrors.targets, 0);
        guint32 ppm = g_array_index(r->mirror_ppm, guint32, 0);
        out->mirror_fraction = ppm / 1e6;
        if (mt->cluster != NULL && draw_ppm(rng, ppm)) {
            out->mirror = mt->cluster;
        }
    }
    if (tr != NULL) {
        if (r->dests.total_weight > 0) {
            trace_addf(tr, 8, "Envoy router", node, at,
                       "R8.6: weighted clusters, w/sum(w) per request",
                       "cluster %s chosen (weight %u of %u)", t->name,
                       t->weight, r->dests.total_weight);
        } else {
            trace_addf(tr, 8, "Envoy router", node, at,
                       "R8.3: outbound|port|subset|host", "cluster %s",
                       t->name);
        }
        if (out->path_buf != NULL || r->host_rewrite != NULL) {
            trace_addf(tr, 7, "VirtualService", node, at,
                       "R12: rewrite (prefix_rewrite / host_rewrite_literal)",
                       "rewritten to %s%s", out->authority, out->path);
        }
        if (out->mirror != NULL) {
            trace_addf(tr, 7, "VirtualService", node, at,
                       "R12: mirror (fire and forget)", "mirrored to %s",
                       out->mirror->name);
        }
    }
}
