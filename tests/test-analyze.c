/* test-analyze.c: `analyze` through models/analyze.h: one test per message
 * code (code, level, resource, file:line) on a minimal scenario, the
 * article's scenario without errors, and istioctl's output formats. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "models/analyze.h"

/* ---- fixtures ---------------------------------------------------------- */

#define APP                                                 \
    "apiVersion: v1\n"                                      \
    "kind: Service\n"                                       \
    "metadata: {name: counter, namespace: default}\n"       \
    "spec:\n"                                               \
    "  selector: {app: counter}\n"                          \
    "  ports:\n"                                            \
    "  - {name: http, port: 80, targetPort: 8080}\n"        \
    "---\n"                                                 \
    "apiVersion: apps/v1\n"                                 \
    "kind: Deployment\n"                                    \
    "metadata: {name: counter, namespace: default}\n"       \
    "spec:\n"                                               \
    "  selector: {matchLabels: {app: counter}}\n"           \
    "  template:\n"                                         \
    "    metadata: {labels: {app: counter, version: v1}}\n" \
    "    spec:\n"                                           \
    "      containers:\n"                                   \
    "      - {name: counter, image: example/counter}\n"     \
    "---\n"

#define GW                                                 \
    "apiVersion: networking.istio.io/v1\n"                 \
    "kind: Gateway\n"                                      \
    "metadata: {name: gw, namespace: istio-system}\n"      \
    "spec:\n"                                              \
    "  selector: {istio: ingressgateway}\n"                \
    "  servers:\n"                                         \
    "  - port: {number: 80, name: http, protocol: HTTP}\n" \
    "    hosts: [\"*\"]\n"                                 \
    "---\n"

#define VS_HEAD                                       \
    "apiVersion: networking.istio.io/v1\n"            \
    "kind: VirtualService\n"                          \
    "metadata: {name: counter, namespace: default}\n" \
    "spec:\n"

#define VS                                 \
    VS_HEAD                                \
    "  hosts: [\"*\"]\n"                   \
    "  gateways: [istio-system/gw]\n"      \
    "  http:\n"                            \
    "  - route:\n"                         \
    "    - destination: {host: counter}\n" \
    "---\n"

/* The 1-based line of the first line of @text containing @needle. */
static guint line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    if (at == NULL) {
        fail_msg("fixture lacks '%s'", needle);
    }
    guint line = 1;
    for (const char *p = text; p < at; p++) {
        line += *p == '\n';
    }
    return line;
}

static GPtrArray *analyze_text(const char *text)
{
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load_string("t.yaml", text, &error);
    if (s == NULL) {
        fail_msg("scenario does not load: %s", error->message);
    }
    return analyze_scenario(s);
}

static void dump(const GPtrArray *msgs)
{
    for (guint i = 0; i < msgs->len; i++) {
        g_autofree char *l =
            analyze_message_format(g_ptr_array_index(msgs, i), FALSE);
        print_message("  got: %s\n", l);
    }
}

/* Asserts that @msgs holds a message @code at @level about @kind
 * @ns/@name at t.yaml:@line, and returns it. */
static const AnalyzeMessage *expect(const GPtrArray *msgs,
                                    const char *code,
                                    AnalyzeLevel level,
                                    const char *kind,
                                    const char *ns,
                                    const char *name,
                                    guint line)
{
    for (guint i = 0; i < msgs->len; i++) {
        const AnalyzeMessage *m = g_ptr_array_index(msgs, i);
        if (strcmp(m->type->code, code) != 0 || g_strcmp0(m->kind, kind) != 0 ||
            g_strcmp0(m->ns, ns) != 0 || g_strcmp0(m->name, name) != 0 ||
            m->line != line) {
            continue;
        }
        assert_int_equal(m->type->level, level);
        assert_string_equal(m->file, "t.yaml");
        return m;
    }
    dump(msgs);
    fail_msg("no %s about %s %s/%s at t.yaml:%u", code, kind, ns, name, line);
    return NULL;
}

static guint count_code(const GPtrArray *msgs, const char *code)
{
    guint n = 0;
    for (guint i = 0; i < msgs->len; i++) {
        const AnalyzeMessage *m = g_ptr_array_index(msgs, i);
        n += strcmp(m->type->code, code) == 0;
    }
    return n;
}

/* ---- a clean setup, the article, the table ---------------------------------
 */

static void test_clean_manifests_have_no_messages(void **state)
{
    g_autoptr(GPtrArray) msgs = analyze_text(APP GW VS);
    if (msgs->len != 0) {
        dump(msgs);
    }
    assert_int_equal(msgs->len, 0);
}

static void test_article_has_no_errors(void **state)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(src != NULL ? src : ".",
                                             "scenarios", "article.yaml", NULL);
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load(path, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    g_autoptr(GPtrArray) msgs = analyze_scenario(s);
    if (analyze_found_issues(msgs, ANALYZE_ERROR)) {
        dump(msgs);
        fail_msg("the article's scenario has errors");
    }
    /* Only the legacy gateway name form of its two VirtualServices. */
    assert_int_equal(count_code(msgs, "IST0133"), 2);
    assert_int_equal(msgs->len, 2);
}

static void test_table_codes_levels_ascending(void **state)
{
    guint n = 0;
    const AnalyzeMessageType *t = analyze_message_types(&n);
    assert_true(n >= 27);
    /* istioctl's codes, then ours, each ascending. */
    for (guint i = 1; i < n; i++) {
        gboolean same = strncmp(t[i - 1].code, t[i].code, 3) == 0;
        assert_true(!same || strcmp(t[i - 1].code, t[i].code) < 0);
        assert_true(same || strcmp(t[i].code, "ISM0001") == 0);
    }
    /* Levels as in istio's messages.yaml for the codes istioctl has. */
    assert_int_equal(analyze_message_type("IST0001")->level, ANALYZE_ERROR);
    assert_int_equal(analyze_message_type("IST0131")->level, ANALYZE_INFO);
    assert_int_equal(analyze_message_type("IST0162")->level, ANALYZE_WARNING);
    assert_null(analyze_message_type("IST9999"));
}

/* ---- IST codes
 * ------------------------------------------------------------------ */

static void test_ist0101_gateway_not_found(void **state)
{
    const char *t = APP GW VS_HEAD "  hosts: [\"*\"]\n"
                                   "  gateways:\n"
                                   "  - istio-system/nope\n"
                                   "  http:\n"
                                   "  - route:\n"
                                   "    - destination: {host: counter}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0101", ANALYZE_ERROR, "VirtualService", "default",
               "counter", line_of(t, "- istio-system/nope"));
    assert_string_equal(m->text,
                        "Referenced gateway not found: \"istio-system/nope\"");
    /* istioctl also says the hosts are not in that (missing) Gateway. */
    expect(msgs, "IST0132", ANALYZE_WARNING, "VirtualService", "default",
           "counter", line_of(t, "- istio-system/nope"));
}

static void test_ist0101_selector_not_found(void **state)
{
    const char *t = APP "apiVersion: networking.istio.io/v1\n"
                        "kind: Gateway\n"
                        "metadata: {name: gw, namespace: istio-system}\n"
                        "spec:\n"
                        "  selector:\n"
                        "    istio: nothing\n"
                        "  servers:\n"
                        "  - port: {number: 80, name: http, protocol: HTTP}\n"
                        "    hosts: [\"*\"]\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0101", ANALYZE_ERROR, "Gateway", "istio-system", "gw",
               line_of(t, "istio: nothing"));
    assert_string_equal(m->text,
                        "Referenced selector not found: \"istio=nothing\"");
}

static void test_ist0101_host_not_found(void **state)
{
    const char *t = APP GW VS_HEAD "  hosts: [\"*\"]\n"
                                   "  gateways: [istio-system/gw]\n"
                                   "  http:\n"
                                   "  - route:\n"
                                   "    - destination:\n"
                                   "        host: counter.default\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    /* "counter.default" has a dot: not expanded, no such Service (R8.1). */
    const AnalyzeMessage *m =
        expect(msgs, "IST0101", ANALYZE_ERROR, "VirtualService", "default",
               "counter", line_of(t, "host: counter.default"));
    assert_string_equal(m->text,
                        "Referenced host not found: \"counter.default\"");
    assert_int_equal(count_code(msgs, "ISM0007"), 0);
}

static void test_ist0101_host_port_not_found(void **state)
{
    const char *t = APP GW VS_HEAD "  hosts: [\"*\"]\n"
                                   "  gateways: [istio-system/gw]\n"
                                   "  http:\n"
                                   "  - route:\n"
                                   "    - destination:\n"
                                   "        host: counter\n"
                                   "        port: {number: 8080}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0101", ANALYZE_ERROR, "VirtualService", "default",
               "counter", line_of(t, "host: counter\n"));
    assert_string_equal(m->text,
                        "Referenced host:port not found: \"counter:8080\"");
    /* One cause, one message: no ISM0007 for the same destination. */
    assert_int_equal(count_code(msgs, "ISM0007"), 0);
}

static void test_ist0101_subset_not_found(void **state)
{
    const char *t = APP GW VS_HEAD "  hosts: [\"*\"]\n"
                                   "  gateways: [istio-system/gw]\n"
                                   "  http:\n"
                                   "  - route:\n"
                                   "    - destination:\n"
                                   "        host: counter\n"
                                   "        subset: v9\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0101", ANALYZE_ERROR, "VirtualService", "default",
               "counter", line_of(t, "host: counter\n"));
    assert_string_equal(m->text, "Referenced host+subset in destinationrule "
                                 "not found: \"counter+v9\"");
}

static void test_ist0101_credential_not_found(void **state)
{
    const char *t = APP "apiVersion: networking.istio.io/v1\n"
                        "kind: Gateway\n"
                        "metadata: {name: gw, namespace: istio-system}\n"
                        "spec:\n"
                        "  selector: {istio: ingressgateway}\n"
                        "  servers:\n"
                        "  - port: {number: 443, name: https, protocol: "
                        "HTTPS}\n"
                        "    hosts: [\"*\"]\n"
                        "    tls:\n"
                        "      mode: SIMPLE\n"
                        "      credentialName: missing-cert\n"
                        "---\n" VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0101", ANALYZE_ERROR, "Gateway", "istio-system", "gw",
               line_of(t, "credentialName: missing-cert"));
    assert_string_equal(m->text, "Referenced credentialName not found: "
                                 "\"missing-cert\"");
    /* A missing Secret is IST0101, not IST0161. */
    assert_int_equal(count_code(msgs, "IST0161"), 0);
}

static void test_ist0106_invalid_object(void **state)
{
    const char *t = APP GW VS_HEAD "  hosts: []\n"
                                   "  gateways: [istio-system/gw]\n"
                                   "  http:\n"
                                   "  - route:\n"
                                   "    - destination: {host: counter}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0106", ANALYZE_ERROR, "VirtualService", "default",
               "counter", line_of(t, "hosts: []"));
    assert_true(g_str_has_prefix(m->text, "Schema validation error: "));
    /* The located error travels with it: the command line exits 1. */
    g_autofree char *where =
        g_strdup_printf("t.yaml:%u:", line_of(t, "hosts: []"));
    assert_true(g_str_has_prefix(m->error, where));
    assert_ptr_equal(analyze_input_error(msgs), m);
}

static void test_ist0109_mesh_hosts_conflict(void **state)
{
    const char *t = APP VS_HEAD "  hosts: [counter]\n"
                                "  http:\n"
                                "  - route:\n"
                                "    - destination: {host: counter}\n"
                                "---\n"
                                "apiVersion: networking.istio.io/v1\n"
                                "kind: VirtualService\n"
                                "metadata:\n"
                                "  name: counter-2\n"
                                "  namespace: default\n"
                                "spec:\n"
                                "  hosts: [counter.default.svc.cluster.local]\n"
                                "  http:\n"
                                "  - route:\n"
                                "    - destination: {host: counter}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0109", ANALYZE_ERROR, "VirtualService", "default",
               "counter-2", line_of(t, "name: counter-2"));
    assert_non_null(strstr(m->text, "default/counter,default/counter-2"));
    expect(msgs, "IST0109", ANALYZE_ERROR, "VirtualService", "default",
           "counter",
           line_of(t, "metadata: {name: counter, namespace: "
                      "default}\nspec:\n  hosts: [counter]"));
}

static void test_ist0112_port_selector_required(void **state)
{
    const char *t = "apiVersion: v1\n"
                    "kind: Service\n"
                    "metadata: {name: counter, namespace: default}\n"
                    "spec:\n"
                    "  selector: {app: counter}\n"
                    "  ports:\n"
                    "  - {name: http, port: 80, targetPort: 8080}\n"
                    "  - {name: admin, port: 9000, targetPort: 9000}\n"
                    "---\n" GW VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0112", ANALYZE_ERROR, "VirtualService", "default",
               "counter", line_of(t, "destination: {host: counter}"));
    assert_string_equal(m->text,
                        "This VirtualService routes to a service \"counter\" "
                        "that exposes multiple ports [80 9000]. Specifying a "
                        "port in the destination is required to "
                        "disambiguate.");
}

#define DR_HEAD                                       \
    "apiVersion: networking.istio.io/v1\n"            \
    "kind: DestinationRule\n"                         \
    "metadata: {name: counter, namespace: default}\n" \
    "spec:\n"

static void test_ist0128_dr_tls_without_ca(void **state)
{
    const char *t = APP GW VS DR_HEAD "  host: counter\n"
                                      "  trafficPolicy:\n"
                                      "    tls:\n"
                                      "      mode: SIMPLE\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0128", ANALYZE_WARNING, "DestinationRule", "default",
               "counter", line_of(t, "mode: SIMPLE"));
    assert_string_equal(m->text,
                        "DestinationRule default/counter in namespace default "
                        "has TLS mode set to SIMPLE but no caCertificates are "
                        "set to validate server identity for host: counter");
}

static void test_ist0129_dr_port_tls_without_ca(void **state)
{
    const char *t = APP GW VS DR_HEAD "  host: counter\n"
                                      "  trafficPolicy:\n"
                                      "    portLevelSettings:\n"
                                      "    - port: {number: 80}\n"
                                      "      tls:\n"
                                      "        mode: MUTUAL\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0129", ANALYZE_WARNING, "DestinationRule", "default",
               "counter", line_of(t, "mode: MUTUAL"));
    assert_non_null(strstr(m->text, "for host: counter at port number:80"));
}

static void test_ist0130_rule_after_catch_all(void **state)
{
    const char *t = APP GW VS_HEAD "  hosts: [\"*\"]\n"
                                   "  gateways: [istio-system/gw]\n"
                                   "  http:\n"
                                   "  - route:\n"
                                   "    - destination: {host: counter}\n"
                                   "  - match:\n"
                                   "    - uri: {prefix: /api}\n"
                                   "    route:\n"
                                   "    - destination: {host: counter}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0130", ANALYZE_WARNING, "VirtualService", "default",
               "counter", line_of(t, "- match:"));
    assert_string_equal(m->text, "VirtualService rule #1 not used (route "
                                 "without matches defined before).");
}

static void test_ist0131_duplicate_match(void **state)
{
    const char *t = APP GW VS_HEAD "  hosts: [\"*\"]\n"
                                   "  gateways: [istio-system/gw]\n"
                                   "  http:\n"
                                   "  - name: first\n"
                                   "    match:\n"
                                   "    - uri: {prefix: /api}\n"
                                   "    route:\n"
                                   "    - destination: {host: counter}\n"
                                   "  - name: second\n"
                                   "    match:\n"
                                   "    - uri: {prefix: /api}\n"
                                   "      name: again\n"
                                   "    - uri: {prefix: /api/v2}\n"
                                   "    route:\n"
                                   "    - destination: {host: counter}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    expect(msgs, "IST0131", ANALYZE_INFO, "VirtualService", "default",
           "counter", line_of(t, "- uri: {prefix: /api}\n      name: again"));
    /* The duplicate (names do not count) and the covered prefix. */
    assert_int_equal(count_code(msgs, "IST0131"), 2);
    gboolean dup = FALSE;
    gboolean covered = FALSE;
    for (guint i = 0; i < msgs->len; i++) {
        const AnalyzeMessage *x = g_ptr_array_index(msgs, i);
        dup = dup || strcmp(x->text, "VirtualService rule \"second\" match "
                                     "\"again\" is not used (duplicate/"
                                     "overlapping match in rule "
                                     "\"first\").") == 0;
        covered = covered ||
                  strcmp(x->text, "VirtualService rule \"second\" match #1 of "
                                  "prefix /api/v2 is not used (duplicate/"
                                  "overlapping match in rule #0 of prefix "
                                  "/api on \"first\").") == 0;
    }
    if (!dup || !covered) {
        dump(msgs);
    }
    assert_true(dup);
    assert_true(covered);
}

static void test_ist0132_host_not_in_gateway(void **state)
{
    const char *t = APP "apiVersion: networking.istio.io/v1\n"
                        "kind: Gateway\n"
                        "metadata: {name: gw, namespace: istio-system}\n"
                        "spec:\n"
                        "  selector: {istio: ingressgateway}\n"
                        "  servers:\n"
                        "  - port: {number: 80, name: http, protocol: HTTP}\n"
                        "    hosts: [b.example.com]\n"
                        "---\n" VS_HEAD "  hosts: [a.example.com]\n"
                        "  gateways:\n"
                        "  - istio-system/gw\n"
                        "  http:\n"
                        "  - route:\n"
                        "    - destination: {host: counter}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0132", ANALYZE_WARNING, "VirtualService", "default",
               "counter", line_of(t, "- istio-system/gw"));
    assert_string_equal(m->text,
                        "one or more host [a.example.com] defined in "
                        "VirtualService default/counter not found in Gateway "
                        "istio-system/gw.");
    /* The compiler agrees: the server gets no route (ISM0002). */
    expect(msgs, "ISM0002", ANALYZE_WARNING, "Gateway", "istio-system", "gw",
           line_of(t, "- port: {number: 80"));
}

static void test_ist0133_legacy_gateway_name(void **state)
{
    const char *t = APP GW VS_HEAD "  hosts: [\"*\"]\n"
                                   "  gateways:\n"
                                   "  - gw.istio-system.svc.cluster.local\n"
                                   "  http:\n"
                                   "  - route:\n"
                                   "    - destination: {host: counter}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0133", ANALYZE_WARNING, "VirtualService", "default",
               "counter", line_of(t, "- gw.istio-system"));
    assert_string_equal(m->text,
                        "Schema validation warning: using legacy gatewayName "
                        "format \"gw.istio-system.svc.cluster.local\"; prefer "
                        "the <namespace>/<name> format: \"istio-system/gw\"");
    /* istiod binds it (R6.1): no IST0101, and the route exists. */
    assert_int_equal(msgs->len, 1);
}

/* A Gateway with one HTTPS server (SIMPLE, credentialName @cred). */
#define TLS_GW_ON(name, port, host, cred)                          \
    "apiVersion: networking.istio.io/v1\n"                         \
    "kind: Gateway\n"                                              \
    "metadata: {name: " name ", namespace: istio-system}\n"        \
    "spec:\n"                                                      \
    "  selector: {istio: ingressgateway}\n"                        \
    "  servers:\n"                                                 \
    "  - port: {number: " port ", name: https, protocol: HTTPS}\n" \
    "    hosts: [" host "]\n"                                      \
    "    tls: {mode: SIMPLE, credentialName: " cred "}\n"          \
    "---\n"
#define TLS_GW(name, cred) TLS_GW_ON(name, "443", "a.example.com", cred)

static void test_ist0138_duplicate_certificate(void **state)
{
    const char *t = APP TLS_GW("gw1", "shared")
        TLS_GW_ON("gw2", "8443", "b.example.com", "shared");
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0138", ANALYZE_WARNING, "Gateway", "istio-system",
               "gw1", line_of(t, "name: gw1"));
    assert_string_equal(m->text, "Duplicate certificate in multiple gateways "
                                 "[istio-system/gw1 istio-system/gw2] may "
                                 "cause 404s if clients re-use HTTP2 "
                                 "connections.");
    expect(msgs, "IST0138", ANALYZE_WARNING, "Gateway", "istio-system", "gw2",
           line_of(t, "name: gw2"));
}

static void test_ist0140_subset_rules_not_for_ingress(void **state)
{
    const char *t = APP GW VS "apiVersion: networking.istio.io/v1\n"
                              "kind: VirtualService\n"
                              "metadata: {name: canary, namespace: default}\n"
                              "spec:\n"
                              "  hosts: [counter]\n"
                              "  http:\n"
                              "  - route:\n"
                              "    - destination: {host: counter, subset: "
                              "v1}\n"
                              "---\n" DR_HEAD "  host: counter\n"
                              "  subsets:\n"
                              "  - {name: v1, labels: {version: v1}}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0140", ANALYZE_WARNING, "VirtualService", "default",
               "counter", line_of(t, "- destination: {host: counter}\n"));
    assert_string_equal(m->text, "Subset in virtual service default/canary "
                                 "has no effect on ingress gateway "
                                 "default/counter requests");
}

static void test_ist0145_conflicting_gateways(void **state)
{
    const char *t = APP TLS_GW("gw1", "cert1") TLS_GW("gw2", "cert2") VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    /* The newer Gateway's server is the one the compiler drops (R4.4). */
    guint gw2 = line_of(t, "name: gw2");
    const AnalyzeMessage *m = expect(msgs, "IST0145", ANALYZE_ERROR, "Gateway",
                                     "istio-system", "gw2", gw2 + 4);
    assert_string_equal(m->text, "Conflict with gateways istio-system/gw1 "
                                 "(workload selector istio=ingressgateway, "
                                 "port 443, hosts a.example.com).");
    assert_int_equal(count_code(msgs, "IST0145"), 1);
}

static void test_ist0161_invalid_credential(void **state)
{
    const char *t = APP "apiVersion: v1\n"
                        "kind: Secret\n"
                        "metadata: {name: cert1, namespace: istio-system}\n"
                        "type: kubernetes.io/tls\n"
                        "stringData: {tls.crt: not-a-certificate, tls.key: "
                        "nope}\n"
                        "---\n" TLS_GW("gw1", "cert1") VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0161", ANALYZE_ERROR, "Gateway", "istio-system", "gw1",
               line_of(t, "credentialName: cert1"));
    assert_string_equal(m->text, "The credential referenced by the Gateway "
                                 "gw1 in namespace istio-system is invalid, "
                                 "which can cause the traffic not to work as "
                                 "expected.");
}

static void test_ist0162_port_not_on_service(void **state)
{
    const char *t = APP "apiVersion: networking.istio.io/v1\n"
                        "kind: Gateway\n"
                        "metadata: {name: gw, namespace: istio-system}\n"
                        "spec:\n"
                        "  selector: {istio: ingressgateway}\n"
                        "  servers:\n"
                        "  - port:\n"
                        "      number: 8004\n"
                        "      name: http\n"
                        "      protocol: HTTP\n"
                        "    hosts: [\"*\"]\n"
                        "---\n" VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0162", ANALYZE_WARNING, "Gateway", "istio-system",
               "gw", line_of(t, "number: 8004"));
    assert_string_equal(m->text,
                        "The gateway is listening on a target port (port "
                        "8004) that is not defined in the Service associated "
                        "with its workload instances (Pod selector "
                        "istio=ingressgateway). If you need to access the "
                        "gateway port through the gateway Service, it will "
                        "not be available.");
    /* IST0162 already names the missing Service port: no ISM0004. */
    assert_int_equal(count_code(msgs, "ISM0004"), 0);
}

static void test_ist0173_subset_selects_no_pod(void **state)
{
    const char *t = APP GW VS DR_HEAD "  host: counter\n"
                                      "  subsets:\n"
                                      "  - name: v1\n"
                                      "    labels: {version: v1}\n"
                                      "  - name: v9\n"
                                      "    labels: {version: v9}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0173", ANALYZE_ERROR, "DestinationRule", "default",
               "counter", line_of(t, "- name: v9"));
    assert_string_equal(m->text, "The Subset v9 defined in the "
                                 "DestinationRule does not select any pods. "
                                 "Which may lead to 503 UH "
                                 "(NoHealthyUpstream).");
    assert_int_equal(count_code(msgs, "IST0173"), 1);
}

static void test_ist0174_unknown_dr_host(void **state)
{
    const char *t = APP GW VS DR_HEAD "  host: nothere\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "IST0174", ANALYZE_WARNING, "DestinationRule", "default",
               "counter", line_of(t, "host: nothere"));
    assert_string_equal(m->text, "The host nothere defined in the "
                                 "DestinationRule does not match any services "
                                 "in the mesh.");
}

/* ---- ISM codes
 * -------------------------------------------------------------------- */

#define SCENARIO_LB(listeners)     \
    "apiVersion: ingress-sim/v1\n" \
    "kind: Scenario\n"             \
    "metadata: {name: t}\n"        \
    "spec:\n"                      \
    "  loadBalancer:\n"            \
    "    listeners:\n" listeners "---\n"

#define GW_SERVICE(type, ports)                                        \
    "apiVersion: v1\n"                                                 \
    "kind: Service\n"                                                  \
    "metadata:\n"                                                      \
    "  name: istio-ingressgateway\n"                                   \
    "  namespace: istio-system\n"                                      \
    "spec:\n"                                                          \
    "  type: " type "\n"                                               \
    "  selector: {app: istio-ingressgateway, istio: ingressgateway}\n" \
    "  ports:\n" ports "---\n"

static void test_ism0001_listener_without_node_port(void **state)
{
    const char *t = SCENARIO_LB("    - {port: 80, nodePort: 30080}\n")
        GW_SERVICE("NodePort", "  - {name: http2, port: 80, targetPort: "
                               "8080, nodePort: 30000}\n") APP GW VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m = expect(msgs, "ISM0001", ANALYZE_ERROR, "Scenario",
                                     NULL, "t", line_of(t, "nodePort: 30080"));
    assert_string_equal(m->text,
                        "Load balancer port 80 forwards to nodePort 30080, "
                        "but no Service has that nodePort: every node refuses "
                        "these connections (Service "
                        "istio-system/istio-ingressgateway port 80 has "
                        "nodePort 30000).");
    /* The other end of the same mismatch: place 4 for port 80. */
    expect(msgs, "ISM0005", ANALYZE_ERROR, "Scenario", NULL, "t",
           line_of(t, "    listeners:"));
}

static void test_ism0002_gateway_without_virtual_service(void **state)
{
    const char *t = APP GW;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "ISM0002", ANALYZE_WARNING, "Gateway", "istio-system",
               "gw", line_of(t, "- port: {number: 80"));
    assert_non_null(strstr(m->text, "answers 404 (NR)"));
    assert_int_equal(msgs->len, 1);
}

static void test_ism0003_tcp_route_without_port(void **state)
{
    const char *t =
        APP "apiVersion: networking.istio.io/v1\n"
            "kind: Gateway\n"
            "metadata: {name: gw, namespace: istio-system}\n"
            "spec:\n"
            "  selector: {istio: ingressgateway}\n"
            "  servers:\n"
            "  - port: {number: 443, name: tcp, protocol: TCP}\n"
            "    hosts: [\"*\"]\n"
            "---\n" VS_HEAD "  hosts: [\"*\"]\n"
            "  gateways: [istio-system/gw]\n"
            "  tcp:\n"
            "  - match:\n"
            "    - port: 3306\n"
            "    route:\n"
            "    - destination: {host: counter, port: {number: 80}}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "ISM0003", ANALYZE_ERROR, "VirtualService", "default",
               "counter", line_of(t, "  tcp:"));
    assert_non_null(strstr(m->text, "matches the port 443"));
    assert_int_equal(count_code(msgs, "ISM0002"), 0);
}

/* A second Service selecting the gateway pods, with port 9000. */
#define ADMIN_SERVICE                                    \
    "apiVersion: v1\n"                                   \
    "kind: Service\n"                                    \
    "metadata: {name: admin, namespace: istio-system}\n" \
    "spec:\n"                                            \
    "  selector: {istio: ingressgateway}\n"              \
    "  ports:\n"                                         \
    "  - {name: admin, port: 9000}\n"                    \
    "---\n"

#define GW_9000                                       \
    "apiVersion: networking.istio.io/v1\n"            \
    "kind: Gateway\n"                                 \
    "metadata: {name: gw, namespace: istio-system}\n" \
    "spec:\n"                                         \
    "  selector: {istio: ingressgateway}\n"           \
    "  servers:\n"                                    \
    "  - port:\n"                                     \
    "      number: 9000\n"                            \
    "      name: http\n"                              \
    "      protocol: HTTP\n"                          \
    "    hosts: [\"*\"]\n"                            \
    "---\n"

static void test_ism0004_port_not_on_ingress_service(void **state)
{
    /* Another Service selecting the gateway pods has 9000 (so IST0162 is
     * silent), but not the ingressgateway Service the LB forwards to. */
    const char *t = GW_SERVICE("LoadBalancer", "  - {name: http2, port: 80, "
                                               "targetPort: 8080}\n")
        ADMIN_SERVICE APP GW_9000 VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "ISM0004", ANALYZE_ERROR, "Gateway", "istio-system", "gw",
               line_of(t, "number: 9000"));
    assert_non_null(
        strstr(m->text, "not a port of Service istio-system/istio-ingress"));
    assert_int_equal(count_code(msgs, "IST0162"), 0);
}

static void test_ism0005_service_port_without_node_port(void **state)
{
    const char *t =
        GW_SERVICE("ClusterIP", "  - {name: http2, port: 80, targetPort: "
                                "8080}\n") APP GW VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "ISM0005", ANALYZE_ERROR, "Service", "istio-system",
               "istio-ingressgateway", line_of(t, "- {name: http2, port: 80"));
    assert_non_null(strstr(m->text, "has no nodePort"));
}

static void test_ism0006_listener_without_gateway_server(void **state)
{
    const char *t = SCENARIO_LB("    - {port: 80, nodePort: 30080}\n"
                                "    - {port: 6379, nodePort: 30379}\n")
        GW_SERVICE("NodePort", "  - {name: http2, port: 80, targetPort: "
                               "8080, nodePort: 30080}\n"
                               "  - {name: redis, port: 6379, "
                               "nodePort: 30379}\n") APP GW VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "ISM0006", ANALYZE_WARNING, "Scenario", NULL, "t",
               line_of(t, "{port: 6379, nodePort: 30379}"));
    assert_string_equal(m->text,
                        "Load balancer port 6379 reaches the gateway pods on "
                        "port 6379 (nodePort 30379, Service "
                        "istio-system/istio-ingressgateway port 6379), but no "
                        "Gateway server listens there: the pods refuse these "
                        "connections. Add a server for port 6379 to a "
                        "Gateway.");
    assert_int_equal(msgs->len, 1);
}

static void test_ism0007_ingress_backend_port_missing(void **state)
{
    const char *t = APP "apiVersion: networking.k8s.io/v1\n"
                        "kind: Ingress\n"
                        "metadata:\n"
                        "  name: counter\n"
                        "  namespace: default\n"
                        "  annotations: {kubernetes.io/ingress.class: "
                        "istio}\n"
                        "spec:\n"
                        "  rules:\n"
                        "  - host: counter.example.com\n"
                        "    http:\n"
                        "      paths:\n"
                        "      - path: /\n"
                        "        pathType: Prefix\n"
                        "        backend:\n"
                        "          service: {name: counter, port: {number: "
                        "8080}}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "ISM0007", ANALYZE_ERROR, "Ingress", "default", "counter",
               line_of(t, "- path: /"));
    assert_non_null(
        strstr(m->text, "outbound|8080||counter.default.svc.cluster.local"));
}

static void test_ism0008_protocol_conflict_drops_server(void **state)
{
    const char *t = APP GW "apiVersion: networking.istio.io/v1\n"
                           "kind: Gateway\n"
                           "metadata: {name: gw-tcp, namespace: "
                           "istio-system}\n"
                           "spec:\n"
                           "  selector: {istio: ingressgateway}\n"
                           "  servers:\n"
                           "  - port: {number: 80, name: tcp, protocol: TCP}\n"
                           "    hosts: [\"*\"]\n"
                           "---\n" VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "ISM0008", ANALYZE_ERROR, "Gateway", "istio-system",
               "gw-tcp", line_of(t, "- port: {number: 80, name: tcp"));
    assert_non_null(strstr(m->text, "conflicts with istio-system/gw"));
}

static void test_ism0009_certificate_files_not_mounted(void **state)
{
    const char *t =
        APP "apiVersion: networking.istio.io/v1\n"
            "kind: Gateway\n"
            "metadata: {name: gw, namespace: istio-system}\n"
            "spec:\n"
            "  selector: {istio: ingressgateway}\n"
            "  servers:\n"
            "  - port: {number: 443, name: https, protocol: HTTPS}\n"
            "    hosts: [\"*\"]\n"
            "    tls:\n"
            "      mode: SIMPLE\n"
            "      serverCertificate: /etc/istio/ingressgateway-certs/tls.crt\n"
            "      privateKey: /etc/istio/ingressgateway-certs/tls.key\n"
            "---\n" VS;
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    const AnalyzeMessage *m =
        expect(msgs, "ISM0009", ANALYZE_ERROR, "Gateway", "istio-system", "gw",
               line_of(t, "mode: SIMPLE"));
    assert_non_null(strstr(m->text, "not readable in the gateway pod"));
}

/* ---- formats
 * -------------------------------------------------------------------------- */

static void test_log_line_and_json_shape(void **state)
{
    const char *t = APP GW VS_HEAD "  hosts: [\"*\"]\n"
                                   "  gateways:\n"
                                   "  - istio-system/nope\n"
                                   "  http:\n"
                                   "  - route:\n"
                                   "    - destination: {host: counter}\n";
    g_autoptr(GPtrArray) msgs = analyze_text(t);
    /* Errors sort first (istioctl's order). */
    const AnalyzeMessage *first = g_ptr_array_index(msgs, 0);
    assert_string_equal(first->type->code, "IST0101");
    g_autofree char *line = analyze_message_format(first, FALSE);
    g_autofree char *want = g_strdup_printf(
        "Error [IST0101] (VirtualService default/counter t.yaml:%u) "
        "Referenced gateway not found: \"istio-system/nope\"",
        line_of(t, "- istio-system/nope"));
    assert_string_equal(line, want);
    g_autofree char *colored = analyze_message_format(first, TRUE);
    assert_true(g_str_has_prefix(colored, "\033[1;31mError\033[0m [IST0101]"));

    g_autoptr(JsonNode) root = analyze_messages_to_json(msgs);
    JsonArray *arr = json_node_get_array(root);
    assert_int_equal(json_array_get_length(arr), msgs->len);
    JsonObject *o = json_array_get_object_element(arr, 0);
    assert_string_equal(json_object_get_string_member(o, "code"), "IST0101");
    assert_string_equal(json_object_get_string_member(o, "level"), "Error");
    assert_string_equal(json_object_get_string_member(o, "origin"),
                        "VirtualService default/counter");
    g_autofree char *ref =
        g_strdup_printf("t.yaml:%u", line_of(t, "- istio-system/nope"));
    assert_string_equal(json_object_get_string_member(o, "reference"), ref);
    assert_string_equal(json_object_get_string_member(o, "documentationUrl"),
                        "https://istio.io/latest/docs/reference/config/"
                        "analysis/ist0101/?ref=istioctl-analyze");
    assert_true(analyze_found_issues(msgs, ANALYZE_ERROR));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_manifests_have_no_messages),
        cmocka_unit_test(test_article_has_no_errors),
        cmocka_unit_test(test_table_codes_levels_ascending),
        cmocka_unit_test(test_ist0101_gateway_not_found),
        cmocka_unit_test(test_ist0101_selector_not_found),
        cmocka_unit_test(test_ist0101_host_not_found),
        cmocka_unit_test(test_ist0101_host_port_not_found),
        cmocka_unit_test(test_ist0101_subset_not_found),
        cmocka_unit_test(test_ist0101_credential_not_found),
        cmocka_unit_test(test_ist0106_invalid_object),
        cmocka_unit_test(test_ist0109_mesh_hosts_conflict),
        cmocka_unit_test(test_ist0112_port_selector_required),
        cmocka_unit_test(test_ist0128_dr_tls_without_ca),
        cmocka_unit_test(test_ist0129_dr_port_tls_without_ca),
        cmocka_unit_test(test_ist0130_rule_after_catch_all),
        cmocka_unit_test(test_ist0131_duplicate_match),
        cmocka_unit_test(test_ist0132_host_not_in_gateway),
        cmocka_unit_test(test_ist0133_legacy_gateway_name),
        cmocka_unit_test(test_ist0138_duplicate_certificate),
        cmocka_unit_test(test_ist0140_subset_rules_not_for_ingress),
        cmocka_unit_test(test_ist0145_conflicting_gateways),
        cmocka_unit_test(test_ist0161_invalid_credential),
        cmocka_unit_test(test_ist0162_port_not_on_service),
        cmocka_unit_test(test_ist0173_subset_selects_no_pod),
        cmocka_unit_test(test_ist0174_unknown_dr_host),
        cmocka_unit_test(test_ism0001_listener_without_node_port),
        cmocka_unit_test(test_ism0002_gateway_without_virtual_service),
        cmocka_unit_test(test_ism0003_tcp_route_without_port),
        cmocka_unit_test(test_ism0004_port_not_on_ingress_service),
        cmocka_unit_test(test_ism0005_service_port_without_node_port),
        cmocka_unit_test(test_ism0006_listener_without_gateway_server),
        cmocka_unit_test(test_ism0007_ingress_backend_port_missing),
        cmocka_unit_test(test_ism0008_protocol_conflict_drops_server),
        cmocka_unit_test(test_ism0009_certificate_files_not_mounted),
        cmocka_unit_test(test_log_line_and_json_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
