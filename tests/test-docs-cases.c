/* test-docs-cases.c: every Istio docs-test case of scope ingress and
 * docs-prose, read in place, sent through gateway_decide; asserts the
 * gateway-level facts its expect/derived entries imply (tests -> gateway). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "models/gateway-private.h"
#include "tests/test-gateway-docs.h"
#include "tests/test-gateway-util.h"

/* The pod port the gateway Service maps LB/Service port @port to (R1.1). */
static gint pod_port(const Cluster *c, gint port)
{
    const K8sService *svc = cluster_gateway_service(c);
    for (guint i = 0; svc != NULL && i < svc->ports->len; i++) {
        const K8sServicePort *sp =
            &g_array_index(svc->ports, K8sServicePort, i);
        if (sp->port == port && sp->target_port > 0) {
            return sp->target_port;
        }
    }
    return port;
}

/* Text of a derived value up to " (" (the cases annotate values). */
static char *plain(const char *v)
{
    const char *p = strstr(v, " (");
    return p != NULL ? g_strndup(v, (gsize)(p - v)) : g_strdup(v);
}

typedef struct {
    GatewayRequest req; /* the request */
    char *authority;    /* owned Host */
    TlsCert *anchors;   /* owned */
    TlsCert *client;    /* owned */
} Built;

static void built_clear(Built *b)
{
    g_free(b->authority);
    tls_cert_free(b->anchors);
    tls_cert_free(b->client);
}

static void
build(const DocsCase *dc, const Cluster *c, const DocsRequest *r, Built *b)
{
    memset(b, 0, sizeof *b);
    gboolean https = strcmp(r->scheme, "https") == 0;
    gboolean tcp = strcmp(r->scheme, "tcp") == 0;
    gint dflt = https ? 443 : 80;
    const char *host = r->host;
    if (host == NULL || strcmp(host, "$INGRESS_HOST") == 0) {
        host = "192.0.2.10"; /* curl sends the IP (with :port if not 80) */
        b->authority = r->port != dflt ? g_strdup_printf("%s:%d", host, r->port)
                                       : g_strdup(host);
    } else {
        b->authority = g_strdup(host);
    }
    GatewayRequest *q = &b->req;
    q->port = pod_port(c, r->port);
    q->tls = https;
    q->sni = https ? r->sni : NULL;
    q->alpn = (const char *const *)r->alpn;
    q->http = !tcp;
    q->scheme = https ? "https" : "http";
    q->method = r->method;
    q->authority = b->authority;
    q->path = r->path;
    q->headers = r->headers;
    q->verify_host = r->sni != NULL ? r->sni : host;
    q->now_unix = (gint64)(g_get_real_time() / G_USEC_PER_SEC);
    if (r->cacert != NULL) {
        b->anchors = docs_case_cert(dc, r->cacert);
        q->client_anchors = b->anchors;
    }
    if (r->client_cert != NULL) {
        b->client = docs_case_cert(dc, r->client_cert);
        q->client_cert = b->client;
    }
}

static void check(const char *id,
                  const char *rid,
                  gboolean ok,
                  const GatewayDecision *d,
                  const char *what)
{
    if (!ok) {
        fail_msg("%s request %s: expected %s; got %s status %d flags %s "
                 "cluster %s vhost %s route %s: %s",
                 id, rid, what, gateway_outcome_name(d->outcome), d->status,
                 d->flags, d->cluster != NULL ? d->cluster->name : "-",
                 d->virtual_host != NULL ? d->virtual_host : "-",
                 d->route != NULL ? d->route : "-",
                 d->reason != NULL ? d->reason : "");
    }
}

static void
check_expect(const DocsCase *dc, const DocsFact *e, const GatewayDecision *d)
{
    const YNode *m = e->map;
    const char *rid = e->request;
    gint64 status = 0;
    const YNode *sn = ynode_get(m, "status");
    if (sn != NULL) {
        assert_true(ynode_to_int(sn, 0, 999, &status, NULL));
    }
    const char *outcome = ynode_str(ynode_get(m, "outcome"));
    if (status == 404) {
        check(dc->id, rid,
              d->outcome == GATEWAY_LOCAL_REPLY && d->status == 404 &&
                  strcmp(d->flags, "NR") == 0,
              d, "a local 404 NR");
    } else if (status > 0) {
        if (d->outcome == GATEWAY_LOCAL_REPLY && strcmp(d->flags, "NC") == 0 &&
            strcmp(dc->scope, "docs-prose") == 0) {
            /* A page rendered in prose may leave out the destination
             * Service: the gateway routes, the cluster does not exist. */
            print_message("%s request %s: routed to %s, a Service the "
                          "case's manifests do not define: expectation "
                          "%" G_GINT64_FORMAT " not checkable here\n",
                          dc->id, rid, d->cluster_name, status);
            return;
        }
        check(dc->id, rid, d->outcome == GATEWAY_FORWARD && !d->tcp, d,
              "an HTTP forward to an upstream cluster");
        if (g_strcmp0(ynode_str(ynode_get(m, "http_version")), "2") == 0) {
            check(dc->id, rid, g_strcmp0(d->alpn, "h2") == 0, d, "ALPN h2");
        }
    }
    if (g_strcmp0(outcome, "client_error") == 0 ||
        g_strcmp0(outcome, "tls_handshake_failed") == 0 ||
        g_strcmp0(ynode_str(ynode_get(m, "http_response")), "none") == 0) {
        check(dc->id, rid,
              d->outcome == GATEWAY_TLS_FAILED || d->outcome == GATEWAY_RESET ||
                  d->outcome == GATEWAY_REFUSED,
              d, "no HTTP response (handshake failure or reset)");
    }
    if (g_strcmp0(outcome, "not_routed") == 0) {
        check(dc->id, rid, d->outcome != GATEWAY_FORWARD, d, "not routed");
    }
    if (ynode_get(m, "tls_verify_ok") != NULL ||
        ynode_get(m, "lines_contain") != NULL) {
        check(dc->id, rid, d->outcome == GATEWAY_FORWARD && d->tcp, d,
              "a TCP/TLS stream proxied upstream");
    }
}

static void
check_derived(const DocsCase *dc, const DocsFact *f, const GatewayDecision *d)
{
    const YNode *m = f->map;
    const char *rid = f->request;
    const char *cluster = ynode_str(ynode_get(m, "cluster"));
    if (cluster != NULL) {
        g_autofree char *want = plain(cluster);
        check(dc->id, rid,
              d->cluster != NULL && strcmp(d->cluster->name, want) == 0, d,
              want);
    }
    const char *rc = ynode_str(ynode_get(m, "route_config"));
    if (rc != NULL) {
        g_autofree char *want = plain(rc);
        check(dc->id, rid, g_strcmp0(d->route_config, want) == 0, d, want);
    }
    const char *flags = ynode_str(ynode_get(m, "response_flags"));
    if (flags != NULL) {
        check(dc->id, rid, strcmp(d->flags, flags) == 0, d, flags);
    }
    const char *lp = ynode_str(ynode_get(m, "listener_port"));
    if (lp != NULL) {
        g_autofree char *want = g_strdup_printf("0.0.0.0_%s", lp);
        check(dc->id, rid, g_strcmp0(d->listener, want) == 0, d, want);
    }
    const char *sni = ynode_str(ynode_get(m, "filter_chain_sni"));
    if (sni != NULL) {
        gboolean ok = FALSE;
        for (guint i = 0; d->server_names != NULL && d->server_names[i]; i++) {
            ok = ok || strcmp(d->server_names[i], sni) == 0;
        }
        check(dc->id, rid, ok, d, sni);
    }
    const char *dom = ynode_str(ynode_get(m, "vhost_domain"));
    if (dom != NULL) {
        g_autofree char *prefix = g_strdup_printf("%s:", dom);
        check(dc->id, rid,
              d->virtual_host != NULL &&
                  g_str_has_prefix(d->virtual_host, prefix),
              d, dom);
    }
}

/* derived.fraction over subsets (e.g. {v1: 0.8, v2: 0.2}) for repeated
 * requests: the share of each subset within +-0.25. Keys that name no
 * subset of the chosen clusters (pod names: step 8) are skipped. */
static void check_fraction(const DocsCase *dc,
                           const DocsFact *f,
                           GHashTable *counts,
                           guint n)
{
    const YNode *fr = ynode_get(f->map, "fraction");
    if (fr == NULL || fr->kind != YNODE_MAP || n < 2) {
        return;
    }
    for (guint i = 0; i < ynode_len(fr); i++) {
        const char *key = ynode_key_at(fr, i)->scalar;
        double want = 0;
        assert_true(ynode_to_double(ynode_value_at(fr, i), 0, 1, &want, NULL));
        if (!g_hash_table_contains(counts, key) && want > 0 &&
            g_hash_table_size(counts) == 0) {
            continue;
        }
        double got =
            GPOINTER_TO_UINT(g_hash_table_lookup(counts, key)) / (double)n;
        if (g_hash_table_size(counts) > 0 &&
            (got < want - 0.25 || got > want + 0.25)) {
            fail_msg("%s: subset %s share %.2f, expected about %.2f", dc->id,
                     key, got, want);
        }
    }
}

static void run_case(void **state)
{
    const char *path = *state;
    GError *err = NULL;
    g_autoptr(DocsCase) dc = docs_case_load(path, &err);
    if (dc == NULL) {
        fail_msg("%s", err->message);
    }
    g_autofree char *yaml = docs_case_scenario(dc, &err);
    if (yaml == NULL) {
        fail_msg("%s: %s", dc->id, err->message);
    }
    g_autoptr(GwtFixture) fx = gwt_load(yaml);
    if (fx->snap == NULL) {
        fail_msg("%s: %s", dc->id, fx->error->message);
    }
    const Cluster *c = fx->sc->cluster;
    for (guint i = 0; i < dc->requests->len; i++) {
        const DocsRequest *r = g_ptr_array_index(dc->requests, i);
        Built b;
        build(dc, c, r, &b);
        Rng rng;
        rng_init_named(&rng, 1, dc->id);
        g_autoptr(GHashTable) counts =
            g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        GatewayDecision d;
        guint n = (guint)MAX(r->repeat, 1);
        for (guint k = 0; k < n; k++) {
            gateway_decide(fx->snap, &b.req, &rng, &d, NULL, 0, NULL);
            if (d.cluster != NULL && d.cluster->subset != NULL) {
                guint v = GPOINTER_TO_UINT(
                    g_hash_table_lookup(counts, d.cluster->subset));
                g_hash_table_replace(counts, g_strdup(d.cluster->subset),
                                     GUINT_TO_POINTER(v + 1));
            }
            if (k + 1 < n) {
                gateway_decision_clear(&d);
            }
        }
        for (guint j = 0; j < dc->expect->len; j++) {
            const DocsFact *e = g_ptr_array_index(dc->expect, j);
            if (g_strcmp0(e->request, r->id) == 0) {
                check_expect(dc, e, &d);
            }
        }
        for (guint j = 0; j < dc->derived->len; j++) {
            const DocsFact *e = g_ptr_array_index(dc->derived, j);
            if (g_strcmp0(e->request, r->id) == 0) {
                check_derived(dc, e, &d);
                check_fraction(dc, e, counts, n);
            }
        }
        gateway_decision_clear(&d);
        built_clear(&b);
    }
}

int main(void)
{
    g_autofree char *dir = docs_cases_dir();
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d == NULL) {
        fprintf(stderr, "no docs cases at %s: skipped\n", dir);
        return 77;
    }
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL) {
        if (g_str_has_suffix(n, ".yaml")) {
            g_ptr_array_add(paths, g_build_filename(dir, n, NULL));
        }
    }
    g_dir_close(d);
    g_ptr_array_sort(paths, (GCompareFunc)g_strcmp0);
    /* g_ptr_array_sort passes pointers to elements. */
    for (guint i = 1; i < paths->len; i++) {
        for (guint j = i; j > 0 && strcmp(g_ptr_array_index(paths, j - 1),
                                          g_ptr_array_index(paths, j)) > 0;
             j--) {
            gpointer t = paths->pdata[j - 1];
            paths->pdata[j - 1] = paths->pdata[j];
            paths->pdata[j] = t;
        }
    }
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    struct CMUnitTest *tests = g_new0(struct CMUnitTest, paths->len);
    guint count = 0;
    for (guint i = 0; i < paths->len; i++) {
        const char *p = g_ptr_array_index(paths, i);
        g_autoptr(DocsCase) dc = docs_case_load(p, NULL);
        if (dc == NULL || (strcmp(dc->scope, "ingress") != 0 &&
                           strcmp(dc->scope, "docs-prose") != 0)) {
            continue;
        }
        char *name = g_path_get_basename(p);
        g_ptr_array_add(names, name);
        tests[count].name = name;
        tests[count].test_func = run_case;
        tests[count].initial_state = (void *)p;
        count++;
    }
    int rc = _cmocka_run_group_tests("docs-cases", tests, count, NULL, NULL);
    g_free(tests);
    return rc;
}
