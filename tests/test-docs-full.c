/* test-docs-full.c: every Istio docs-test case of scope ingress and
 * docs-prose (../shared/reference/istio-docs-tests, read in place) sent
 * through the whole simulation with cli_trace_one(), and checked against
 * what the docs test asserts: status, HTTP version, headers, body, TLS
 * verification, lines of a TCP echo, pods seen (tests -> sim/cli, models).
 * test-docs-cases.c checks the same cases at the gateway alone. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "models/app-response.h"
#include "sim/cli.h"
#include "tests/test-gateway-docs.h"

/* $INGRESS_HOST: the load balancer's address (TEST-NET-1). curl sends it
 * as Host when the docs give no -HHost. */
#define INGRESS_IP "192.0.2.10"

/* What a tcp request sends: the docs pipe `date` into nc, one line. */
#define TCP_PAYLOAD "Thu Jan  1 00:00:00 UTC 2026\n"

/* Expectations a case's own manifests make impossible, keyed on what the
 * answering app is and the text expected, never on a case, host or path.
 * The test prints a note for each hit and checks what the app does answer
 * instead; the note names the upstream source. */
static const struct {
    const char *expected; /* body_contains text of the case */
    const char *image;    /* substring of the answering pod's image */
    const char *instead;  /* what that image answers */
    const char *why;
} unreachable_bodies[] = {
    { "-=[ teapot ]=-", "go-httpbin", "I'm a teapot!",
      "the case's manifest runs mccutchen/go-httpbin, whose /status/418 body "
      "is \"I'm a teapot!\" (httpbin/handlers.go createSpecialCases, every "
      "version); the ASCII art is the Python httpbin's (helpers.py "
      "ASCII_ART), Istio's sample before go-httpbin: the docs' expected "
      "output predates the image change" },
};

/* One case's verdict, for the summary printed at the end. */
typedef struct {
    char *path;     /* the case file */
    char *id;       /* its id */
    GString *notes; /* expectations reported as not satisfiable */
    gboolean done;  /* reached the end of its checks */
} CaseRun;

static GPtrArray *runs; /* CaseRun* */

static void case_run_free(gpointer p)
{
    CaseRun *cr = p;
    g_free(cr->path);
    g_free(cr->id);
    g_string_free(cr->notes, TRUE);
    g_free(cr);
}

static void note(CaseRun *cr, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void note(CaseRun *cr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    print_message("NOTE %s: %s\n", cr->id, text);
    g_string_append_printf(cr->notes, "%s%s", cr->notes->len > 0 ? "; " : "",
                           text);
}

/* Text of a derived value up to " (" (the cases annotate values). */
static char *plain(const char *v)
{
    const char *p = strstr(v, " (");
    return p != NULL ? g_strndup(v, (gsize)(p - v)) : g_strdup(v);
}

/* ---- one request as curl sends it -------------------------------------- */

typedef struct {
    TraceRequest tq;  /* what cli_trace_one() gets */
    char *url;        /* owned */
    KvList *headers;  /* owned */
    TlsCert *anchors; /* owned */
    TlsCert *client;  /* owned */
} Built;

static void built_clear(Built *b)
{
    g_free(b->url);
    kv_list_free(b->headers);
    tls_cert_free(b->anchors);
    tls_cert_free(b->client);
}

/* The curl command of a request: with --resolve the URL names the host (and
 * SNI follows it); with -HHost only, the URL names the ingress address. */
static void build(const DocsCase *dc, const DocsRequest *r, Built *b)
{
    static const char *const curl_alpn[] = { "h2", "http/1.1", NULL };
    memset(b, 0, sizeof *b);
    gboolean https = strcmp(r->scheme, "https") == 0;
    gboolean tcp = strcmp(r->scheme, "tcp") == 0;
    const char *host = r->host;
    if (host != NULL && strcmp(host, "$INGRESS_HOST") == 0) {
        host = NULL; /* curl sends the address it connects to */
    }
    const char *url_host = https && r->sni != NULL ? r->sni : INGRESS_IP;
    b->url = g_strdup_printf("%s://%s:%d%s", r->scheme, url_host, r->port,
                             tcp ? "/" : r->path);
    b->headers = kv_list_new();
    for (guint i = 0; r->headers != NULL && i < kv_list_len(r->headers); i++) {
        kv_list_set(b->headers, g_ptr_array_index(r->headers->keys, i),
                    g_ptr_array_index(r->headers->values, i));
    }
    if (host != NULL && strcmp(host, url_host) != 0) {
        kv_list_set(b->headers, "host", host);
    }
    TraceRequest *q = &b->tq;
    q->url = b->url;
    q->method = r->method;
    q->headers = b->headers;
    q->sni = https ? r->sni : NULL;
    q->no_sni = https && r->sni == NULL;
    q->at = 0;
    q->seed = -1;
    q->alpn = r->alpn != NULL ? (const char *const *)r->alpn : curl_alpn;
    q->body = tcp ? TCP_PAYLOAD : NULL;
    if (r->cacert != NULL) {
        b->anchors = docs_case_cert(dc, r->cacert);
        assert_non_null(b->anchors);
        q->anchors = b->anchors;
    }
    if (r->client_cert != NULL) {
        b->client = docs_case_cert(dc, r->client_cert);
        assert_non_null(b->client);
        q->client_cert = b->client;
    }
}

/* ---- what the client saw ----------------------------------------------- */

static const char *kind_name(OutcomeKind k)
{
    static const char *const names[] = { "response", "connection", "failure" };
    return names[k];
}

/* One line describing @t, for failure messages. */
static char *describe(const TraceResult *t)
{
    const RequestOutcome *o = &t->out;
    const AppResponse *resp = t->response;
    g_autofree char *body = NULL;
    if (resp != NULL && resp->body != NULL) {
        body = g_strndup(resp->body->str, MIN(resp->body->len, 160));
    }
    return g_strdup_printf(
        "%s status %d flags %s step %u%s%s pod %s cluster %s http %s body "
        "\"%s\"",
        kind_name(o->kind), o->status, o->flags != NULL ? o->flags : "-",
        o->step, o->kind == OUTCOME_FAILURE ? " reason " : "",
        o->kind == OUTCOME_FAILURE ? fail_reason_name(o->reason) : "",
        trace_get(t->tr, "upstream_pod"), trace_get(t->tr, "cluster"),
        resp != NULL && resp->http_version != NULL ? resp->http_version : "-",
        body != NULL ? body : "");
}

#define CHECK(cond, cr, rid, t, ...)                                        \
    do {                                                                    \
        if (!(cond)) {                                                      \
            g_autofree char *what_ = g_strdup_printf(__VA_ARGS__);          \
            g_autofree char *got_ = describe(t);                            \
            fail_msg("%s request %s: expected %s; got %s", (cr)->id, (rid), \
                     what_, got_);                                          \
        }                                                                   \
    } while (0)

static const char *body_of(const TraceResult *t)
{
    return t->response != NULL && t->response->body != NULL
               ? t->response->body->str
               : NULL;
}

/* The answering pod's manifest, from the trace's upstream pod. */
static const K8sPod *answering_pod(const Scenario *s, const TraceResult *t)
{
    const char *ref = trace_get(t->tr, "upstream_pod");
    if (ref == NULL || strchr(ref, '/') == NULL) {
        return NULL;
    }
    g_autofree char *ns = g_strndup(ref, (gsize)(strchr(ref, '/') - ref));
    return cluster_find_pod(s->cluster, ns, strchr(ref, '/') + 1);
}

/* The Deployment that made the answering pod, or the pod's name. */
static char *answering_workload(const Scenario *s, const TraceResult *t)
{
    const K8sPod *pod = answering_pod(s, t);
    if (pod == NULL) {
        return NULL;
    }
    const char *owner = pod->owner != NULL ? pod->owner : pod->meta.name;
    const char *slash = strchr(owner, '/');
    return g_strdup(slash != NULL ? slash + 1 : owner);
}

/* jq's .a["b"][0] on @json; the string there, or NULL. (transfer full) */
static char *json_path_string(const char *json, const char *path)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    if (json == NULL || !json_parser_load_from_data(parser, json, -1, NULL)) {
        return NULL;
    }
    JsonNode *n = json_parser_get_root(parser);
    const char *p = path;
    while (n != NULL && *p != '\0') {
        if (*p == '.' && p[1] != '[') {
            gsize len = strcspn(p + 1, ".[");
            g_autofree char *key = g_strndup(p + 1, len);
            n = JSON_NODE_HOLDS_OBJECT(n)
                    ? json_object_get_member(json_node_get_object(n), key)
                    : NULL;
            p += 1 + len;
        } else if (*p == '.') {
            p++;
        } else if (p[0] == '[' && p[1] == '"') {
            const char *end = strstr(p + 2, "\"]");
            if (end == NULL) {
                return NULL;
            }
            g_autofree char *key = g_strndup(p + 2, (gsize)(end - p - 2));
            n = JSON_NODE_HOLDS_OBJECT(n)
                    ? json_object_get_member(json_node_get_object(n), key)
                    : NULL;
            p = end + 2;
        } else if (p[0] == '[') {
            char *end = NULL;
            guint64 i = g_ascii_strtoull(p + 1, &end, 10);
            if (end == NULL || *end != ']' || !JSON_NODE_HOLDS_ARRAY(n) ||
                i >= json_array_get_length(json_node_get_array(n))) {
                return NULL;
            }
            n = json_array_get_element(json_node_get_array(n), (guint)i);
            p = end + 1;
        } else {
            return NULL;
        }
    }
    return n != NULL && JSON_NODE_HOLDS_VALUE(n) &&
                   json_node_get_value_type(n) == G_TYPE_STRING
               ? g_strdup(json_node_get_string(n))
               : NULL;
}

/* Scalar or sequence of strings -> each string. */
static GPtrArray *strings_of(const YNode *n)
{
    GPtrArray *out = g_ptr_array_new();
    if (n == NULL) {
        return out;
    }
    if (n->kind == YNODE_SEQ) {
        for (guint i = 0; i < ynode_len(n); i++) {
            const char *s = ynode_str(ynode_at(n, i));
            if (s != NULL) {
                g_ptr_array_add(out, (gpointer)s);
            }
        }
    } else if (ynode_str(n) != NULL) {
        g_ptr_array_add(out, (gpointer)ynode_str(n));
    }
    return out;
}

/* "CN=a; O=b" (curl) and "CN=a,O=b" (GnuTLS) compare equal. */
static char *subject_key(const char *s)
{
    g_autoptr(GString) out = g_string_new(NULL);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == ';' || *p == ',') {
            g_string_append_c(out, ',');
            while (p[1] == ' ') {
                p++;
            }
        } else {
            g_string_append_c(out, *p);
        }
    }
    return g_strdup(out->str);
}

/* The case's status expectation against a 503 NC: a page rendered in prose
 * may route to a Service its manifests leave out. Returns TRUE (and notes
 * it) when that is what happened. */
static gboolean missing_destination(CaseRun *cr,
                                    const DocsCase *dc,
                                    const char *rid,
                                    gint64 status,
                                    const TraceResult *t)
{
    const RequestOutcome *o = &t->out;
    if (strcmp(dc->scope, "docs-prose") != 0 || o->kind != OUTCOME_RESPONSE ||
        !o->from_gateway || o->status != 503 ||
        g_strcmp0(o->flags, "NC") != 0) {
        return FALSE;
    }
    note(cr,
         "request %s expects %" G_GINT64_FORMAT " but routes to %s, a "
         "Service the case's manifests do not define: Envoy answers 503 NC "
         "(checked); the expectation cannot hold with these manifests",
         rid, status, trace_get(t->tr, "cluster"));
    return TRUE;
}

/* A body expectation the answering image cannot meet (unreachable_bodies):
 * notes it and checks the image's own answer instead. */
static gboolean unreachable_body(CaseRun *cr,
                                 const Scenario *s,
                                 const char *rid,
                                 const char *want,
                                 const TraceResult *t)
{
    const K8sPod *pod = answering_pod(s, t);
    const char *body = body_of(t);
    for (guint i = 0; pod != NULL && i < G_N_ELEMENTS(unreachable_bodies);
         i++) {
        if (strcmp(want, unreachable_bodies[i].expected) != 0 ||
            strstr(k8s_pod_image(pod), unreachable_bodies[i].image) == NULL) {
            continue;
        }
        CHECK(body != NULL && strstr(body, unreachable_bodies[i].instead), cr,
              rid, t, "what %s answers instead: \"%s\"",
              unreachable_bodies[i].image, unreachable_bodies[i].instead);
        note(cr,
             "request %s expects the body to contain \"%s\": %s; the "
             "simulated %s answers \"%s\" (checked)",
             rid, want, unreachable_bodies[i].why, k8s_pod_image(pod),
             unreachable_bodies[i].instead);
        return TRUE;
    }
    return FALSE;
}

/* One `expect` (or `derived`) map against one result. */
static void check_fact(CaseRun *cr,
                       const DocsCase *dc,
                       const Scenario *s,
                       const char *rid,
                       const YNode *m,
                       const TraceResult *t,
                       gboolean derived)
{
    const RequestOutcome *o = &t->out;
    const YNode *sn = ynode_get(m, "status");
    if (sn != NULL) {
        gint64 status = 0;
        assert_true(ynode_to_int(sn, 0, 999, &status, NULL));
        if (missing_destination(cr, dc, rid, status, t)) {
            return;
        }
        CHECK(o->kind == OUTCOME_RESPONSE && o->status == status, cr, rid, t,
              "HTTP status %" G_GINT64_FORMAT, status);
        CHECK(t->response != NULL && t->response->status == status, cr, rid, t,
              "a response object with status %" G_GINT64_FORMAT, status);
    }
    const char *version = ynode_str(ynode_get(m, "http_version"));
    if (version != NULL) {
        CHECK(t->response != NULL &&
                  g_strcmp0(t->response->http_version, version) == 0,
              cr, rid, t, "HTTP/%s", version);
    }
    const YNode *hs = ynode_get(m, "headers");
    for (guint i = 0; hs != NULL && hs->kind == YNODE_MAP && i < ynode_len(hs);
         i++) {
        const char *name = ynode_key_at(hs, i)->scalar;
        const char *want = ynode_str(ynode_value_at(hs, i));
        const char *got =
            t->response != NULL ? app_response_header(t->response, name) : NULL;
        CHECK(g_strcmp0(got, want) == 0, cr, rid, t, "header %s: %s (got %s)",
              name, want, got != NULL ? got : "none");
    }
    g_autoptr(GPtrArray) contains = strings_of(ynode_get(m, "body_contains"));
    for (guint i = 0; i < contains->len; i++) {
        const char *want = g_ptr_array_index(contains, i);
        const char *body = body_of(t);
        if ((body == NULL || strstr(body, want) == NULL) &&
            unreachable_body(cr, s, rid, want, t)) {
            continue;
        }
        CHECK(body != NULL && strstr(body, want) != NULL, cr, rid, t,
              "%sa body containing \"%s\"", derived ? "(derived) " : "", want);
    }
    g_autoptr(GPtrArray) lacks = strings_of(ynode_get(m, "body_not_contains"));
    for (guint i = 0; i < lacks->len; i++) {
        const char *body = body_of(t);
        CHECK(body == NULL || strstr(body, g_ptr_array_index(lacks, i)) == NULL,
              cr, rid, t, "a body without \"%s\"",
              (const char *)g_ptr_array_index(lacks, i));
    }
    const char *jpath = ynode_str(ynode_get(m, "body_json_path"));
    if (jpath != NULL) {
        const char *want = ynode_str(ynode_get(m, "equals"));
        g_autofree char *got = json_path_string(body_of(t), jpath);
        CHECK(want != NULL && g_strcmp0(got, want) == 0, cr, rid, t,
              "%s == \"%s\" (got %s)", jpath, want != NULL ? want : "?",
              got != NULL ? got : "nothing");
    }
    const char *outcome = ynode_str(ynode_get(m, "outcome"));
    if (g_strcmp0(outcome, "client_error") == 0 ||
        ynode_get(m, "curl_exit_nonzero") != NULL ||
        g_strcmp0(ynode_str(ynode_get(m, "http_response")), "none") == 0) {
        CHECK(o->kind == OUTCOME_FAILURE && t->response == NULL, cr, rid, t,
              "curl to fail with no HTTP response");
    }
    if (g_strcmp0(outcome, "tls_handshake_failed") == 0) {
        /* A server that closes the connection on the ClientHello fails the
         * handshake as much as an alert does (curl exits 35). */
        CHECK(o->kind == OUTCOME_FAILURE &&
                  (o->reason == FAIL_TLS_HANDSHAKE || o->reason == FAIL_RESET),
              cr, rid, t, "the TLS handshake to fail");
    }
    if (g_strcmp0(outcome, "not_routed") == 0) {
        CHECK(o->kind == OUTCOME_FAILURE ||
                  (o->kind == OUTCOME_RESPONSE && o->from_gateway),
              cr, rid, t, "no route to an application");
    }
    if (ynode_get(m, "tls_verify_ok") != NULL) {
        /* curl -v prints "SSL certificate verify ok." once the chain it
         * was given checks out, then the exchange goes on. */
        CHECK(g_strcmp0(t->tls_verify, "ok") == 0 && o->kind != OUTCOME_FAILURE,
              cr, rid, t, "the client to verify the server certificate");
    }
    const char *subject = ynode_str(ynode_get(m, "served_cert_subject"));
    if (subject != NULL) {
        g_autofree char *want = subject_key(subject);
        g_autofree char *got =
            t->tls_subject != NULL ? subject_key(t->tls_subject) : NULL;
        CHECK(g_strcmp0(want, got) == 0, cr, rid, t,
              "a served certificate with subject %s (got %s)", subject,
              t->tls_subject != NULL ? t->tls_subject : "none");
    }
    /* The derived trace facts the same run recorded. */
    const char *cluster = ynode_str(ynode_get(m, "cluster"));
    if (cluster != NULL) {
        g_autofree char *want = plain(cluster);
        CHECK(g_strcmp0(trace_get(t->tr, "cluster"), want) == 0, cr, rid, t,
              "cluster %s", want);
    }
    const char *rc = ynode_str(ynode_get(m, "route_config"));
    if (rc != NULL) {
        g_autofree char *want = plain(rc);
        CHECK(g_strcmp0(trace_get(t->tr, "route_config"), want) == 0, cr, rid,
              t, "route config %s", want);
    }
    const char *flags = ynode_str(ynode_get(m, "response_flags"));
    if (flags != NULL && o->kind == OUTCOME_RESPONSE) {
        CHECK(g_strcmp0(o->flags, flags) == 0, cr, rid, t, "flags %s", flags);
    }
    const char *lp = ynode_str(ynode_get(m, "listener_port"));
    if (lp != NULL) {
        g_autofree char *want = g_strdup_printf("0.0.0.0_%s", lp);
        CHECK(g_strcmp0(trace_get(t->tr, "listener"), want) == 0, cr, rid, t,
              "listener %s", want);
    }
}

/* What repeated requests saw, for lines_contain, pods_seen, fraction. */
typedef struct {
    GString *lines;        /* every body, concatenated */
    GHashTable *workloads; /* char* deployment -> count */
    guint n;               /* requests sent */
} Seen;

static void check_seen(CaseRun *cr,
                       const char *rid,
                       const YNode *m,
                       const Seen *seen,
                       const TraceResult *last)
{
    g_auto(GStrv) lines = g_strsplit(seen->lines->str, "\n", -1);
    g_autoptr(GPtrArray) has = strings_of(ynode_get(m, "lines_contain"));
    for (guint i = 0; i < has->len; i++) {
        const char *want = g_ptr_array_index(has, i);
        gboolean found = FALSE;
        for (guint j = 0; lines[j] != NULL && !found; j++) {
            found = strstr(lines[j], want) != NULL;
        }
        CHECK(found, cr, rid, last, "a line with \"%s\" in %u exchanges", want,
              seen->n);
    }
    g_autoptr(GPtrArray) lacks = strings_of(ynode_get(m, "lines_not_contain"));
    for (guint i = 0; i < lacks->len; i++) {
        const char *bad = g_ptr_array_index(lacks, i);
        for (guint j = 0; lines[j] != NULL; j++) {
            CHECK(strstr(lines[j], bad) == NULL, cr, rid, last,
                  "no line with \"%s\" (line \"%s\")", bad, lines[j]);
        }
    }
    g_autoptr(GPtrArray) pods = strings_of(ynode_get(m, "pods_seen"));
    if (pods->len > 0) {
        for (guint i = 0; i < pods->len; i++) {
            CHECK(g_hash_table_contains(seen->workloads,
                                        g_ptr_array_index(pods, i)),
                  cr, rid, last, "%s among the pods that answered",
                  (const char *)g_ptr_array_index(pods, i));
        }
        CHECK(g_hash_table_size(seen->workloads) == pods->len, cr, rid, last,
              "only the pods of %u workloads to answer (%u did)", pods->len,
              g_hash_table_size(seen->workloads));
    }
    const YNode *fr = ynode_get(m, "fraction");
    for (guint i = 0; fr != NULL && fr->kind == YNODE_MAP && i < ynode_len(fr);
         i++) {
        const char *key = ynode_key_at(fr, i)->scalar;
        double want = 0;
        assert_true(ynode_to_double(ynode_value_at(fr, i), 0, 1, &want, NULL));
        double got =
            GPOINTER_TO_UINT(g_hash_table_lookup(seen->workloads, key)) /
            (double)MAX(seen->n, 1);
        CHECK(got >= want - 0.15 && got <= want + 0.15, cr, rid, last,
              "%s to answer about %.2f of %u requests (%.2f did)", key, want,
              seen->n, got);
    }
}

static void run_case(void **state)
{
    CaseRun *cr = *state;
    GError *err = NULL;
    g_autoptr(DocsCase) dc = docs_case_load(cr->path, &err);
    if (dc == NULL) {
        fail_msg("%s", err->message);
    }
    g_autofree char *yaml = docs_case_scenario(dc, &err);
    if (yaml == NULL) {
        fail_msg("%s: %s", dc->id, err->message);
    }
    g_autoptr(Scenario) s = scenario_load_string(dc->id, yaml, &err);
    if (s == NULL) {
        fail_msg("%s: %s", dc->id, err->message);
    }
    for (guint i = 0; i < dc->requests->len; i++) {
        const DocsRequest *r = g_ptr_array_index(dc->requests, i);
        Built b;
        build(dc, r, &b);
        Seen seen = { .lines = g_string_new(NULL),
                      .workloads = g_hash_table_new_full(
                          g_str_hash, g_str_equal, g_free, NULL) };
        guint n = (guint)MAX(r->repeat, 1);
        TraceResult last = { 0 };
        for (guint k = 0; k < n; k++) {
            /* A repeated request: a new connection each time, and new
             * random draws (weights, load balancing). */
            b.tq.seed = n > 1 ? (gint64)k + 1 : -1;
            trace_result_clear(&last);
            if (!cli_trace_one(s, &b.tq, &last, &err)) {
                fail_msg("%s request %s: %s", dc->id, r->id, err->message);
            }
            CHECK(last.ended, cr, r->id, &last, "the request to end");
            seen.n++;
            if (body_of(&last) != NULL) {
                g_string_append(seen.lines, body_of(&last));
            }
            char *w = answering_workload(s, &last);
            if (w != NULL) {
                guint c =
                    GPOINTER_TO_UINT(g_hash_table_lookup(seen.workloads, w));
                g_hash_table_replace(seen.workloads, w,
                                     GUINT_TO_POINTER(c + 1));
            }
            for (guint j = 0; j < dc->expect->len; j++) {
                const DocsFact *e = g_ptr_array_index(dc->expect, j);
                if (g_strcmp0(e->request, r->id) == 0) {
                    check_fact(cr, dc, s, r->id, e->map, &last, FALSE);
                }
            }
            for (guint j = 0; j < dc->derived->len; j++) {
                const DocsFact *e = g_ptr_array_index(dc->derived, j);
                if (g_strcmp0(e->request, r->id) == 0) {
                    check_fact(cr, dc, s, r->id, e->map, &last, TRUE);
                }
            }
        }
        for (guint j = 0; j < dc->expect->len; j++) {
            const DocsFact *e = g_ptr_array_index(dc->expect, j);
            if (g_strcmp0(e->request, r->id) == 0) {
                check_seen(cr, r->id, e->map, &seen, &last);
            }
        }
        trace_result_clear(&last);
        g_string_free(seen.lines, TRUE);
        g_hash_table_unref(seen.workloads);
        built_clear(&b);
    }
    cr->done = TRUE;
}

/* ---- the response model on its own ------------------------------------- */

/* The sample before go-httpbin (Python httpbin on port 80) answers 418
 * with the teapot, and /headers with one string per header. */
static void test_python_httpbin(void **state)
{
    static const char yaml[] =
        "apiVersion: v1\nkind: Service\nmetadata: {name: httpbin}\n"
        "spec:\n  selector: {app: httpbin}\n  ports:\n  - {name: http, port: "
        "8000, targetPort: 80}\n---\napiVersion: apps/v1\nkind: Deployment\n"
        "metadata: {name: httpbin}\nspec:\n  selector:\n    matchLabels: "
        "{app: httpbin}\n  template:\n    metadata:\n      labels: {app: "
        "httpbin}\n    spec:\n      containers:\n      - name: httpbin\n"
        "        image: docker.io/kennethreitz/httpbin\n        ports:\n"
        "        - containerPort: 80\n---\napiVersion: "
        "networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n"
        "  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: "
        "80, name: http, protocol: HTTP}\n    hosts: ['*']\n---\napiVersion: "
        "networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\n"
        "spec:\n  hosts: ['*']\n  gateways: [gw]\n  http:\n  - route:\n    - "
        "destination: {host: httpbin, port: {number: 8000}}\n";
    GError *err = NULL;
    g_autoptr(Scenario) s = scenario_load_string("python-httpbin", yaml, &err);
    if (s == NULL) {
        fail_msg("%s", err->message);
    }
    g_autoptr(KvList) h = kv_list_new();
    kv_list_set(h, "x-custom-thing", "a");
    TraceRequest q = { .url = "http://" INGRESS_IP "/status/418",
                       .seed = -1,
                       .headers = h };
    TraceResult t;
    assert_true(cli_trace_one(s, &q, &t, &err));
    assert_int_equal(t.out.status, 418);
    assert_non_null(t.response);
    assert_non_null(strstr(body_of(&t), "-=[ teapot ]=-"));
    assert_int_equal(t.response->body->len, 135);
    assert_string_equal(app_response_header(t.response, "server"),
                        "istio-envoy");
    assert_string_equal(t.response->http_version, "1.1");
    trace_result_clear(&t);
    q.url = "http://" INGRESS_IP "/headers";
    assert_true(cli_trace_one(s, &q, &t, &err));
    g_autofree char *v =
        json_path_string(body_of(&t), ".headers.X-Custom-Thing");
    assert_string_equal(v, "a");
    g_autofree char *host = json_path_string(body_of(&t), ".headers.Host");
    assert_string_equal(host, INGRESS_IP);
    trace_result_clear(&t);
}

/* Envoy's own replies carry its text and server: istio-envoy. */
static void test_local_replies(void **state)
{
    g_autoptr(AppResponse) r = app_response_new();
    app_response_local_reply(r, 503, "UH", NULL, NULL, "h2", FALSE);
    assert_string_equal(r->body->str, "no healthy upstream");
    assert_string_equal(r->http_version, "2");
    assert_string_equal(app_response_header(r, "content-length"), "19");
    assert_string_equal(app_response_header(r, "server"), "istio-envoy");
    app_response_local_reply(r, 404, "NR", NULL, NULL, NULL, FALSE);
    assert_null(r->body);
    assert_string_equal(app_response_header(r, "content-length"), "0");
    assert_string_equal(r->http_version, "1.1");
    app_response_local_reply(r, 301, "-", "https://a.example.com/", NULL, NULL,
                             FALSE);
    assert_string_equal(app_response_header(r, "location"),
                        "https://a.example.com/");
    app_response_local_reply(r, 504, "UT", NULL, NULL, NULL, TRUE);
    assert_null(r->body); /* HEAD */
    assert_string_equal(app_response_header(r, "content-length"), "24");
}

/* Envoy's upstream headers: the client's, XFF appended, x-envoy-* from
 * outside dropped, the route's set/remove applied. */
static void test_upstream_headers(void **state)
{
    g_autoptr(KvList) client = kv_list_new();
    kv_list_set(client, "foo", "bar");
    kv_list_set(client, "x-forwarded-for", "198.51.100.7");
    kv_list_set(client, "x-envoy-retry-on", "5xx");
    kv_list_set(client, "drop-me", "1");
    g_autoptr(KvList) set = kv_list_new();
    kv_list_set(set, "x-set", "yes");
    g_autoptr(GPtrArray) rm = g_ptr_array_new();
    g_ptr_array_add(rm, (gpointer) "drop-me");
    GatewayDecision d = { .authority = "a.example.com",
                          .headers_set = set,
                          .headers_remove = rm };
    g_autoptr(KvList) h =
        app_request_headers_via_envoy(client, &d, "https", "10.0.0.5", 1, 7, 1);
    assert_string_equal(kv_list_get(h, "host"), "a.example.com");
    assert_string_equal(kv_list_get(h, "foo"), "bar");
    assert_string_equal(kv_list_get(h, "x-forwarded-for"),
                        "198.51.100.7,10.0.0.5");
    assert_string_equal(kv_list_get(h, "x-forwarded-proto"), "https");
    assert_string_equal(kv_list_get(h, "x-envoy-internal"), "true");
    assert_string_equal(kv_list_get(h, "x-envoy-attempt-count"), "1");
    assert_string_equal(kv_list_get(h, "x-set"), "yes");
    assert_null(kv_list_get(h, "x-envoy-retry-on"));
    assert_null(kv_list_get(h, "drop-me"));
    assert_int_equal(strlen(kv_list_get(h, "x-request-id")), 36);
    /* The same id the access log prints for that request. */
    char rid[APP_REQUEST_ID_LEN];
    app_request_id(1, 7, rid);
    assert_string_equal(kv_list_get(h, "x-request-id"), rid);
}

/* Routes of the presets, the hot-path rule app.c shares. */
static void test_preset_statuses(void **state)
{
    SimTime extra = 0;
    const char *why = NULL;
    assert_int_equal(app_response_status(PRESET_HTTPBIN, "GET",
                                         "/status/418?x=1", &extra, &why),
                     418);
    assert_int_equal(
        app_response_status(PRESET_HTTPBIN, "GET", "/status/abc", &extra, &why),
        400);
    assert_int_equal(
        app_response_status(PRESET_HTTPBIN, "GET", "/delay/30", &extra, &why),
        200);
    assert_true(extra == 10 * SIM_S);
    assert_int_equal(
        app_response_status(PRESET_HELLOWORLD, "GET", "/hello", &extra, &why),
        200);
    assert_int_equal(
        app_response_status(PRESET_HELLOWORLD, "GET", "/hello/x", &extra, &why),
        404);
    assert_int_equal(
        app_response_status(PRESET_NGINX, "POST", "/", &extra, &why), 405);
    assert_int_equal(app_response_status(PRESET_PRODUCTPAGE, "GET",
                                         "/productpage", &extra, &why),
                     200);
    assert_int_equal(
        app_response_status(PRESET_PRODUCTPAGE, "GET", "/login", &extra, &why),
        405);
}

/* ---- registration ------------------------------------------------------ */

/* g_ptr_array_sort passes pointers to the elements. */
static gint path_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int summary(void **state)
{
    guint full = 0;
    print_message("docs cases through the whole path:\n");
    for (guint i = 0; i < runs->len; i++) {
        const CaseRun *cr = g_ptr_array_index(runs, i);
        const char *verdict = !cr->done            ? "FAIL"
                              : cr->notes->len > 0 ? "PASS, with notes"
                                                   : "PASS";
        full += cr->done && cr->notes->len == 0;
        print_message("  %-55s %s\n", cr->id, verdict);
    }
    print_message("%u of %u cases pass every expectation; the notes above "
                  "name expectations the cases' own manifests cannot meet\n",
                  full, runs->len);
    return 0;
}

int main(void)
{
    g_autofree char *dir = docs_cases_dir();
    GDir *d = g_dir_open(dir, 0, NULL);
    gboolean have_cases = d != NULL;
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    if (d == NULL) {
        /* A tree without ../shared (make distcheck): the response model's
         * own tests still run; the result is a skip. */
        fprintf(stderr, "no docs cases at %s: cases skipped\n", dir);
    }
    const char *n;
    while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
        if (g_str_has_suffix(n, ".yaml")) {
            g_ptr_array_add(paths, g_build_filename(dir, n, NULL));
        }
    }
    if (d != NULL) {
        g_dir_close(d);
    }
    /* Directory order is the file system's: sort by name. */
    g_ptr_array_sort(paths, path_cmp);
    runs = g_ptr_array_new_with_free_func(case_run_free);
    static const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_preset_statuses),
        cmocka_unit_test(test_local_replies),
        cmocka_unit_test(test_upstream_headers),
        cmocka_unit_test(test_python_httpbin),
    };
    struct CMUnitTest *tests =
        g_new0(struct CMUnitTest, paths->len + G_N_ELEMENTS(unit));
    guint count = 0;
    for (guint i = 0; i < G_N_ELEMENTS(unit); i++) {
        tests[count++] = unit[i];
    }
    for (guint i = 0; i < paths->len; i++) {
        const char *p = g_ptr_array_index(paths, i);
        g_autoptr(DocsCase) dc = docs_case_load(p, NULL);
        if (dc == NULL || (strcmp(dc->scope, "ingress") != 0 &&
                           strcmp(dc->scope, "docs-prose") != 0)) {
            continue;
        }
        CaseRun *cr = g_new0(CaseRun, 1);
        cr->path = g_strdup(p);
        cr->id = g_strdup(dc->id);
        cr->notes = g_string_new(NULL);
        g_ptr_array_add(runs, cr);
        tests[count].name = cr->id;
        tests[count].test_func = run_case;
        tests[count].initial_state = cr;
        count++;
    }
    int rc = _cmocka_run_group_tests("docs-full", tests, count, NULL, summary);
    g_free(tests);
    g_ptr_array_unref(runs);
    return rc == 0 && !have_cases ? 77 : rc;
}
