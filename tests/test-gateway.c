/* test-gateway.c: one cmocka test per gateway rule of
 * ../shared/reference/istio-routing-spec.md (R1-R16), each asserting the
 * exact listener, chain, route config, virtual host, route, cluster, status
 * and flags the rule implies (tests -> models/gateway). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "models/gateway-private.h"
#include "tests/test-gateway-util.h"

/* ---- fixtures -------------------------------------------------------------
 */

#define SVC(name, ns, port)                                                    \
    "apiVersion: v1\nkind: Service\nmetadata: {name: " name ", namespace: " ns \
    "}\nspec:\n  selector: {app: " name                                        \
    "}\n  ports:\n  - {name: http, port: " port "}\n---\n"

#define GW_HTTP(name, ns, hosts)                                       \
    "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: "    \
    "{name: " name ", namespace: " ns                                  \
    "}\nspec:\n  selector: {istio: ingressgateway}\n"                  \
    "  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n" \
    "    hosts: " hosts "\n---\n"

#define VS(name, ns, hosts, gws, http)                                     \
    "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: " \
    "{name: " name ", namespace: " ns "}\nspec:\n  hosts: " hosts          \
    "\n  gateways: " gws "\n  http:\n" http "---\n"

#define ROUTE_TO(host) "    route:\n    - destination: {host: " host "}\n"
#define ONLY(host)     "  - route:\n    - destination: {host: " host "}\n"

/* Loads @yaml and fails the test if it does not compile. */
static GwtFixture *load_ok(const char *yaml)
{
    GwtFixture *f = gwt_load(yaml);
    if (f->snap == NULL) {
        fail_msg("compile failed: %s", f->error ? f->error->message : "?");
    }
    return f;
}

static void assert_forward(const GatewayDecision *d, const char *cluster)
{
    if (d->outcome != GATEWAY_FORWARD) {
        fail_msg("expected forward to %s, got %s %d %s: %s", cluster,
                 gateway_outcome_name(d->outcome), d->status, d->flags,
                 d->reason != NULL ? d->reason : "");
    }
    assert_string_equal(d->cluster->name, cluster);
}

static void
assert_reply(const GatewayDecision *d, gint status, const char *flags)
{
    if (d->outcome != GATEWAY_LOCAL_REPLY) {
        fail_msg("expected local reply %d, got %s (%s)", status,
                 gateway_outcome_name(d->outcome),
                 d->reason != NULL ? d->reason : "");
    }
    assert_int_equal(d->status, status);
    assert_string_equal(d->flags, flags);
}

/* The article's setup: Gateway with HTTP 80 "*", VS counter -> counter:80. */
static const char article[] = SVC("counter", "default", "80")
    GW_HTTP("default-gateway", "istio-system", "['*']")
        VS("counter",
           "default",
           "['*']",
           "[default-gateway.istio-system.svc.cluster.local]",
           "  - match:\n    - uri: {prefix: /}\n" ROUTE_TO("counter"));

/* ---- R1, R3: ports and listeners --------------------------------------------
 */

static void test_R3_1_service_port_80_resolves_to_listener_8080(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(article);
    GatewayRequest req = gwt_http(8080, "counter.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||counter.default.svc.cluster.local");
    assert_string_equal(d.listener, "0.0.0.0_8080");
    assert_true(d.server_names == NULL); /* match-all chain */
    assert_string_equal(d.route_config, "http.8080");
    /* R6.4 / surprise 1: vhost named with the server port, not 8080. */
    assert_string_equal(d.virtual_host, "*:80");
    assert_string_equal(d.server, "istio-system/default-gateway servers[0]");
    gateway_decision_clear(&d);
}

static void test_R3_1_server_port_8080_lands_on_same_listener(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("counter", "default",
            "80") "apiVersion: networking.istio.io/v1\nkind: "
                  "Gateway\nmetadata: {name: "
                  "gw, namespace: default}\nspec:\n  selector: {istio: "
                  "ingressgateway}\n"
                  "  servers:\n  - port: {number: 8080, name: http, protocol: "
                  "HTTP}\n"
                  "    hosts: ['*']\n---\n" VS("counter", "default", "['*']",
                                               "[gw]", ONLY("counter")));
    GatewayRequest req = gwt_http(8080, "x", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||counter.default.svc.cluster.local");
    assert_string_equal(d.listener, "0.0.0.0_8080");
    assert_string_equal(d.virtual_host, "*:8080");
    GPtrArray *ports = gateway_listener_ports(f->snap);
    assert_int_equal(ports->len, 1);
    assert_int_equal(GPOINTER_TO_INT(g_ptr_array_index(ports, 0)), 8080);
    g_ptr_array_unref(ports);
    gateway_decision_clear(&d);
}

static void test_R1_3_no_listener_refused(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(article);
    GatewayRequest req = gwt_http(8443, "counter.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_REFUSED);
    assert_int_equal(d.step, 5);
    gateway_decision_clear(&d);
}

static void test_R3_2_bind_listener_name(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(SVC(
        "counter", "default",
        "80") "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: "
              "{name: "
              "gw, namespace: default}\nspec:\n  selector: {istio: "
              "ingressgateway}\n"
              "  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
              "    bind: 10.0.0.1\n    hosts: ['*']\n---\n" VS(
                  "counter", "default", "['*']", "[gw]", ONLY("counter")));
    const GwListener *l = g_ptr_array_index(f->snap->listeners, 0);
    assert_string_equal(l->name, "10.0.0.1_8080");
    assert_false(l->any_addr);
    const GwFilterChain *ch = g_ptr_array_index(l->chains, 0);
    assert_string_equal(ch->route_config->name, "http.8080.10.0.0.1");
    /* Bound to an address that is not the pod's: nothing listens. */
    assert_string_not_equal(f->snap->pod->ip, "10.0.0.1");
    GatewayRequest req = gwt_http(8080, "x", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_REFUSED);
    gateway_decision_clear(&d);

    /* Bound to the pod's own address: it accepts, as 0.0.0.0 would. */
    g_autofree char *yaml = g_strdup_printf(
        SVC("counter", "default", "80") "apiVersion: networking.istio.io/v1\n"
        "kind: Gateway\nmetadata: {name: gw, namespace: default}\nspec:\n"
        "  selector: {istio: ingressgateway}\n"
        "  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
        "    bind: %s\n    hosts: ['*']\n---\n" VS(
            "counter", "default", "['*']", "[gw]", ONLY("counter")),
        f->snap->pod->ip);
    g_autoptr(GwtFixture) own = load_ok(yaml);
    l = g_ptr_array_index(own->snap->listeners, 0);
    assert_false(l->any_addr);
    gwt_decide(own, &req, &d);
    assert_forward(&d, "outbound|80||counter.default.svc.cluster.local");
    gateway_decision_clear(&d);

    /* No bind: 0.0.0.0. */
    g_autoptr(GwtFixture) any = load_ok(article);
    l = g_ptr_array_index(any->snap->listeners, 0);
    assert_true(l->any_addr);
}

/* ---- R2: which Gateways apply -------------------------------------------- */

static void test_R2_1_selector_must_match_pod_labels(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(SVC(
        "counter", "default",
        "80") "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: "
              "{name: "
              "gw, namespace: default}\nspec:\n  selector: {istio: other}\n"
              "  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
              "    hosts: ['*']\n---\n" VS("counter", "default", "['*']",
                                           "[gw]", ONLY("counter")));
    GatewayRequest req = gwt_http(8080, "x", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_REFUSED);
    gateway_decision_clear(&d);
}

static void test_R2_1_no_selector_applies_to_all(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(SVC(
        "counter", "default",
        "80") "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: "
              "{name: "
              "gw, namespace: default}\nspec:\n"
              "  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
              "    hosts: ['*']\n---\n" VS("counter", "default", "['*']",
                                           "[gw]", ONLY("counter")));
    GatewayRequest req = gwt_http(8080, "x", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||counter.default.svc.cluster.local");
    gateway_decision_clear(&d);
}

/* R2.2: a Gateway in another namespace than the pod still applies. */
static void test_R2_2_gateway_from_any_namespace(void **state)
{
    g_autoptr(GwtFixture) f =
        load_ok(SVC("counter", "foo", "80") GW_HTTP("gw", "foo", "['*']")
                    VS("counter", "foo", "['*']", "[gw]", ONLY("counter")));
    GatewayRequest req = gwt_http(8080, "x", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||counter.foo.svc.cluster.local");
    gateway_decision_clear(&d);
}

/* ---- R4: merging servers ----------------------------------------------------
 */

static void test_R4_1_protocol_case_insensitive(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(SVC(
        "counter", "default",
        "80") "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: "
              "{name: "
              "gw, namespace: default}\nspec:\n  selector: {istio: "
              "ingressgateway}\n"
              "  servers:\n  - port: {number: 80, name: http, protocol: http}\n"
              "    hosts: ['*']\n---\n" VS("counter", "default", "['*']",
                                           "[gw]", ONLY("counter")));
    GatewayRequest req = gwt_http(8080, "x", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||counter.default.svc.cluster.local");
    gateway_decision_clear(&d);
}

static void
test_R4_2_http_servers_of_two_gateways_share_route_config(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") SVC("b", "default", "80")
            GW_HTTP("gwa", "default", "[a.example.com]")
                GW_HTTP("gwb", "default", "[b.example.com]") VS(
                    "a", "default", "[a.example.com]", "[gwa]", ONLY("a"))
                    VS("b", "default", "[b.example.com]", "[gwb]", ONLY("b")));
    assert_int_equal(f->snap->route_configs->len, 1);
    GatewayRequest req = gwt_http(8080, "b.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||b.default.svc.cluster.local");
    assert_string_equal(d.route_config, "http.8080");
    assert_string_equal(d.virtual_host, "b.example.com:80");
    gateway_decision_clear(&d);
}

static const char two_https[] = SVC("a", "default", "80") SVC(
    "b",
    "default",
    "80") "apiVersion: v1\nkind: Secret\nmetadata: {name: cert, namespace: "
          "istio-system}\ntype: kubernetes.io/tls\nstringData: {tls.crt: x, "
          "tls.key: y}\n---\n"
          "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: "
          "gw1, "
          "namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n"
          "  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n"
          "    tls: {mode: SIMPLE, credentialName: cert}\n"
          "    hosts: [a.example.com]\n---\n"
          "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: "
          "gw2, "
          "namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n"
          "  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n"
          "    tls: {mode: SIMPLE, credentialName: cert}\n"
          "    hosts: [b.example.com, '*.b.example.com']\n---\n" VS(
              "a", "default", "[a.example.com]", "[gw1]", ONLY("a"))
              VS("b", "default", "[b.example.com]", "[gw2]", ONLY("b"));

/* R4.3: one chain and one route config per HTTPS server. */
static void test_R4_3_https_servers_get_own_chain_and_route_config(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(two_https);
    const GwListener *l = g_ptr_array_index(f->snap->listeners, 0);
    assert_string_equal(l->name, "0.0.0.0_8443");
    assert_int_equal(l->chains->len, 2);
    const GwFilterChain *c1 = g_ptr_array_index(l->chains, 0);
    const GwFilterChain *c2 = g_ptr_array_index(l->chains, 1);
    assert_string_equal(c1->route_config->name, "https.443.https.gw1.default");
    assert_string_equal(c2->route_config->name, "https.443.https.gw2.default");
    /* R9.4: sorted server names. */
    assert_string_equal(c2->server_names[0], "*.b.example.com");
    assert_string_equal(c2->server_names[1], "b.example.com");
}

static const char dup_tls[] = SVC(
    "a",
    "default",
    "80") "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: "
          "new, "
          "namespace: default, creationTimestamp: "
          "'2024-02-01T00:00:00Z'}\nspec:\n"
          "  selector: {istio: ingressgateway}\n"
          "  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n"
          "    tls: {mode: SIMPLE, credentialName: cert}\n"
          "    hosts: [a.example.com]\n---\n"
          "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: "
          "old, "
          "namespace: default, creationTimestamp: "
          "'2024-01-01T00:00:00Z'}\nspec:\n"
          "  selector: {istio: ingressgateway}\n"
          "  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n"
          "    tls: {mode: SIMPLE, credentialName: cert}\n"
          "    hosts: [a.example.com]\n---\n" VS(
              "a", "default", "[a.example.com]", "[new]", ONLY("a"));

/* R4.4 + R2.3: the older Gateway keeps the host; the newer server is
 * skipped whole, so a VS bound only to it gets 404 (surprise 9). */
static void test_R4_4_duplicate_tls_host_older_gateway_wins(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(dup_tls);
    const GwListener *l = g_ptr_array_index(f->snap->listeners, 0);
    assert_int_equal(l->chains->len, 1);
    const GwFilterChain *ch = g_ptr_array_index(l->chains, 0);
    assert_string_equal(ch->server_ref, "default/old servers[0]");
    assert_string_equal(ch->route_config->name, "https.443.https.old.default");
    /* The old Gateway has no VS: blackhole. */
    const GwVirtualHost *v = g_ptr_array_index(ch->route_config->vhosts, 0);
    assert_string_equal(v->name, "blackhole:443");
    assert_true(f->snap->notes->len >= 1);
}

/* R4.5: a TCP server after an HTTP server on the same port is skipped. */
static void test_R4_5_protocol_conflict_later_server_skipped(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(SVC(
        "counter", "default",
        "80") "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: "
              "{name: "
              "gw, namespace: default}\nspec:\n  selector: {istio: "
              "ingressgateway}\n"
              "  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
              "    hosts: ['*']\n"
              "  - port: {number: 80, name: tcp, protocol: TCP}\n"
              "    hosts: ['*']\n---\n" VS(
                  "counter", "default", "['*']", "[gw]",
                  ONLY("counter") "  tcp:\n  - route:\n    - destination: "
                                  "{host: counter}\n"));
    const GwListener *l = g_ptr_array_index(f->snap->listeners, 0);
    assert_int_equal(l->chains->len, 1);
    assert_int_equal(((GwFilterChain *)g_ptr_array_index(l->chains, 0))->kind,
                     GW_CHAIN_HTTP);
}

/* R4.6 / surprise 2: HTTP server without VS answers 404 (blackhole); a TCP
 * server without VS has no listener at all. */
static void test_R4_6_tcp_without_route_no_listener_http_blackhole(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: "
        "gw, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n"
        "  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
        "    hosts: ['*']\n"
        "  - port: {number: 3306, name: mysql, protocol: TCP}\n"
        "    hosts: ['*']\n---\n");
    GatewayRequest req = gwt_http(8080, "anything", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_reply(&d, 404, "NR");
    assert_string_equal(d.virtual_host, "blackhole:80");
    gateway_decision_clear(&d);
    req = gwt_stream(3306, FALSE, NULL);
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_REFUSED);
    gateway_decision_clear(&d);
}

/* ---- R5: hosts
 * ---------------------------------------------------------------- */

static void test_R5_1_dot_namespace_prefix(void **state)
{
    g_autoptr(GwtFixture) f =
        load_ok(SVC("counter", "default", "80")
                    GW_HTTP("gw", "default", "[./counter.example.com]")
                        VS("counter", "default", "[counter.example.com]",
                           "[gw]", ONLY("counter")));
    GatewayRequest req = gwt_http(8080, "counter.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||counter.default.svc.cluster.local");
    gateway_decision_clear(&d);
}

/* R5.2: a server host "foo/h" ignores VSs of other namespaces. */
static void test_R5_2_namespace_filter(void **state)
{
    g_autoptr(GwtFixture) f =
        load_ok(SVC("counter", "default", "80")
                    GW_HTTP("gw", "default", "[foo/counter.example.com]")
                        VS("counter", "default", "[counter.example.com]",
                           "[gw]", ONLY("counter")));
    GatewayRequest req = gwt_http(8080, "counter.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_reply(&d, 404, "NR");
    assert_string_equal(d.virtual_host, "blackhole:80");
    gateway_decision_clear(&d);
}

/* R5.3 / surprise 3: *.example.com covers a.b.example.com, not
 * example.com. */
static void test_R5_3_wildcard_covers_labels_not_apex(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("counter", "default", "80")
            GW_HTTP("gw", "default", "['*.example.com']")
                VS("counter", "default", "['*']", "[gw]", ONLY("counter")));
    GatewayRequest req = gwt_http(8080, "a.b.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||counter.default.svc.cluster.local");
    /* R5.4: server *.example.com + VS * -> *.example.com. */
    assert_string_equal(d.virtual_host, "*.example.com:80");
    gateway_decision_clear(&d);
    req = gwt_http(8080, "example.com", "/");
    gwt_decide(f, &req, &d);
    assert_reply(&d, 404, "NR");
    gateway_decision_clear(&d);
}

/* R5.4: the more specific of each (server, VS) host pair is the domain. */
static void test_R5_4_intersection_more_specific_host(void **state)
{
    g_autoptr(GwtFixture) f =
        load_ok(SVC("counter", "default", "80")
                    GW_HTTP("gw", "default", "[a.example.com]")
                        VS("counter", "default", "['*.example.com']", "[gw]",
                           ONLY("counter")));
    GatewayRequest req = gwt_http(8080, "a.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_string_equal(d.virtual_host, "a.example.com:80");
    gateway_decision_clear(&d);
    req = gwt_http(8080, "b.example.com", "/");
    gwt_decide(f, &req, &d);
    assert_reply(&d, 404, "NR");
    gateway_decision_clear(&d);
}

/* R5.5: overlapping hosts in one VS are rejected with a location. */
static void test_R5_5_overlapping_vs_hosts_rejected(void **state)
{
    g_autoptr(GwtFixture) f = gwt_load(GW_HTTP("gw", "default", "['*']") VS(
        "counter", "default", "['*.example.com', a.example.com]", "[gw]",
        ONLY("counter")));
    assert_null(f->snap);
    assert_non_null(f->error);
    assert_true(
        g_error_matches(f->error, SCENARIO_ERROR, SCENARIO_ERROR_BAD_VALUE));
    assert_non_null(strstr(f->error->message, "test.yaml:"));
    assert_non_null(strstr(f->error->message, "duplicate hosts"));
}

/* ---- R6: binding and route configuration
 * --------------------------------------- */

static void test_R6_1_gateway_reference_forms(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") SVC("b", "default", "80") SVC("c", "default",
                                                                "80")
            SVC("d", "default", "80") GW_HTTP("gw", "istio-system", "['*']")
                VS("a", "default", "[a.example.com]", "[istio-system/gw]",
                   ONLY("a")) VS("b", "default", "[b.example.com]",
                                 "[gw.istio-system]", ONLY("b"))
                    VS("c", "default", "[c.example.com]", "[gw]",
                       ONLY("c")) "apiVersion: networking.istio.io/v1\nkind: "
                                  "VirtualService\nmetadata: "
                                  "{name: d, namespace: default}\nspec:\n  "
                                  "hosts: [d.example.com]\n"
                                  "  http:\n" ONLY("d") "---\n");
    const char *hosts[] = { "a.example.com", "b.example.com", "c.example.com",
                            "d.example.com" };
    gboolean bound[] = { TRUE, TRUE, FALSE, FALSE };
    for (guint i = 0; i < 4; i++) {
        GatewayRequest req = gwt_http(8080, hosts[i], "/");
        GatewayDecision d;
        gwt_decide(f, &req, &d);
        /* "gw" is default/gw (VS namespace): no such Gateway; no gateways
         * field: mesh only. */
        assert_int_equal(d.outcome,
                         bound[i] ? GATEWAY_FORWARD : GATEWAY_LOCAL_REPLY);
        gateway_decision_clear(&d);
    }
}

static void test_R6_2_export_to_dot_invisible_to_gateway_namespace(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(SVC("counter", "default", "80") GW_HTTP(
        "gw", "istio-system",
        "['*']") "apiVersion: networking.istio.io/v1\nkind: "
                 "VirtualService\nmetadata: "
                 "{name: c, namespace: default}\nspec:\n  hosts: ['*']\n"
                 "  exportTo: ['.']\n  gateways: [istio-system/gw]\n  "
                 "http:\n" ONLY("counter") "---\n");
    GatewayRequest req = gwt_http(8080, "x", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_reply(&d, 404, "NR");
    assert_string_equal(d.virtual_host, "blackhole:80");
    gateway_decision_clear(&d);
}

/* R6.3 + R7.3 / surprise 8: two VSs on one host merge in creation order,
 * the older VS's catch-all moves behind the newer VS's /b route. */
static void test_R7_3_merged_vs_catch_all_last(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") SVC("b", "default", "80")
            GW_HTTP("gw", "default", "['*']")
                VS("first", "default", "[x.example.com]", "[gw]", ONLY("a"))
                    VS("second", "default", "[x.example.com]", "[gw]",
                       "  - match:\n    - uri: {prefix: /b}\n" ROUTE_TO("b")));
    GatewayRequest req = gwt_http(8080, "x.example.com", "/b/1");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||b.default.svc.cluster.local");
    assert_string_equal(d.virtual_host, "x.example.com:80");
    gateway_decision_clear(&d);
    req = gwt_http(8080, "x.example.com", "/c");
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||a.default.svc.cluster.local");
    gateway_decision_clear(&d);
}

/* R6.4: identical route lists collapse into one virtual host. */
static void test_R6_4_collapse_identical_virtual_hosts(void **state)
{
    g_autoptr(GwtFixture) f =
        load_ok(SVC("a", "default", "80") GW_HTTP("gw", "default", "['*']")
                    VS("a", "default", "[b.example.com, a.example.com]", "[gw]",
                       ONLY("a")));
    const GwRouteConfig *rc = g_ptr_array_index(f->snap->route_configs, 0);
    assert_int_equal(rc->vhosts->len, 1);
    const GwVirtualHost *v = g_ptr_array_index(rc->vhosts, 0);
    assert_string_equal(v->name, "a.example.com:80");
    assert_int_equal(v->domains->len, 2);
}

/* R6.5: the route table is chosen by SNI at handshake time. */
static void test_R6_5_https_authority_of_other_server_404(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(two_https);
    /* The fake Secret has no real certificate: look only at routing by
     * bypassing TLS checks through the chain's route config directly. */
    const GwListener *l = g_ptr_array_index(f->snap->listeners, 0);
    const GwFilterChain *c1 =
        host_sni_table_lookup(l->sni, "a.example.com", NULL);
    assert_string_equal(c1->route_config->name, "https.443.https.gw1.default");
    GatewayRequest req = gwt_https(8443, "a.example.com", "b.example.com", "/");
    GatewayDecision d = { 0 };
    d.flags = "-";
    router__decide(f->snap, c1->route_config, &req, NULL, &d, NULL, 0, NULL);
    assert_reply(&d, 404, "NR");
    gateway_decision_clear(&d);
}

/* ---- R7: routes
 * ------------------------------------------------------------------- */

static void test_R7_1_match_port_and_gateways_filters(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") SVC("b", "default",
                                      "80") GW_HTTP("gw", "default", "['*']")
            VS("a", "default", "['*']", "[gw]",
               "  - name: other-port\n    match:\n    - {port: "
               "8080}\n" ROUTE_TO("b") "  - name: other-gw\n    match:\n    - "
                                       "gateways: [default/x]\n" ROUTE_TO(
                                           "b") "  - name: main\n    match:\n  "
                                                "  - {port: 80, name: "
                                                "p80}\n" ROUTE_TO("a")));
    GatewayRequest req = gwt_http(8080, "x", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||a.default.svc.cluster.local");
    assert_string_equal(d.route, "main.p80");
    gateway_decision_clear(&d);
}

static void test_R7_2_routes_after_catch_all_dropped(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") SVC("b", "default",
                                      "80") GW_HTTP("gw", "default", "['*']")
            VS("a", "default", "['*']", "[gw]",
               "  - match:\n    - uri: {prefix: /}\n" ROUTE_TO(
                   "a") "  - match:\n    - uri: {prefix: /b}\n" ROUTE_TO("b")));
    const GwRouteConfig *rc = g_ptr_array_index(f->snap->route_configs, 0);
    const GwVirtualHost *v = g_ptr_array_index(rc->vhosts, 0);
    assert_int_equal(v->routes->len, 1);
}

static const char matchers[] =
    SVC("a", "default", "80") GW_HTTP("gw", "default", "['*']") VS(
        "a",
        "default",
        "['*']",
        "[gw]",
        "  - name: exact\n    match:\n    - uri: {exact: /e}\n" ROUTE_TO("a") "  - name: prefix\n    match:\n    - uri: {prefix: /api}\n" ROUTE_TO(
            "a") "  - name: regex\n    match:\n    - uri: {regex: "
                 "'/r/[0-9]+'}\n" ROUTE_TO("a") "  - name: icase\n    match:\n "
                                                "   - uri: {exact: /CaSe}\n"
                                                "      ignoreUriCase: "
                                                "true\n" ROUTE_TO(
                                                    "a") "  - name: header\n   "
                                                         " match:\n    - "
                                                         "headers: {x-user: "
                                                         "{exact: "
                                                         "alice}}\n      uri: "
                                                         "{prefix: "
                                                         "/h}\n" ROUTE_TO(
                                                             "a") "  - name: "
                                                                  "without\n   "
                                                                  " match:\n   "
                                                                  " - "
                                                                  "withoutHeade"
                                                                  "rs: "
                                                                  "{x-user: "
                                                                  "{}}\n"
                                                                  "      uri: "
                                                                  "{prefix: "
                                                                  "/w}"
                                                                  "\n" ROUTE_TO("a") "  - name: method\n    match:\n    - method: {exact: POST}\n" ROUTE_TO(
                                                                      "a") "  "
                                                                           "- "
                                                                           "nam"
                                                                           "e: "
                                                                           "aut"
                                                                           "hor"
                                                                           "ity"
                                                                           "\n "
                                                                           "   "
                                                                           "mat"
                                                                           "ch:"
                                                                           "\n "
                                                                           "   "
                                                                           "- "
                                                                           "aut"
                                                                           "hor"
                                                                           "ity"
                                                                           ": "
                                                                           "{ex"
                                                                           "act"
                                                                           ": "
                                                                           "aut"
                                                                           "h."
                                                                           "exa"
                                                                           "mpl"
                                                                           "e."
                                                                           "com"
                                                                           "}"
                                                                           "\n" ROUTE_TO("a") "  - name: query\n    match:\n    - queryParams: {v: {exact: '2'}}\n" ROUTE_TO(
                                                                               "a"));

static const char *route_for(const GwtFixture *f, GatewayRequest *req)
{
    static char buf[64];
    GatewayDecision d;
    gwt_decide(f, req, &d);
    g_strlcpy(buf, d.route != NULL ? d.route : "404", sizeof buf);
    gateway_decision_clear(&d);
    return buf;
}

/* R7.4 / surprise 4, 5: every HTTPMatchRequest field. */
static void test_R7_4_match_fields(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(matchers);
    GatewayRequest req = gwt_http(8080, "x", "/e?q=1");
    assert_string_equal(route_for(f, &req), "exact");
    req.path = "/apix";
    assert_string_equal(route_for(f, &req), "prefix");
    req.path = "/ap"; /* shorter than the prefix */
    assert_string_equal(route_for(f, &req), "404");
    req.path = "/API"; /* case counts without ignoreUriCase */
    assert_string_equal(route_for(f, &req), "404");
    req.path = "/r/12?x=y";
    assert_string_equal(route_for(f, &req), "regex");
    req.path = "/r/12a";
    assert_string_equal(route_for(f, &req), "404");
    req.path = "/case";
    assert_string_equal(route_for(f, &req), "icase");
    g_autoptr(KvList) h = kv_list_new();
    kv_list_set(h, "x-user", "alice");
    req.path = "/h";
    assert_string_equal(route_for(f, &req), "404");
    req.headers = h;
    assert_string_equal(route_for(f, &req), "header");
    req.path = "/w";
    assert_string_equal(route_for(f, &req), "404");
    req.headers = NULL;
    assert_string_equal(route_for(f, &req), "without");
    req.path = "/m";
    req.method = "POST";
    assert_string_equal(route_for(f, &req), "method");
    req.method = "GET";
    req.authority = "auth.example.com:80";
    assert_string_equal(route_for(f, &req), "404");
    req.authority = "auth.example.com";
    assert_string_equal(route_for(f, &req), "authority");
    req.authority = "x";
    req.path = "/q?a=1&v=2";
    assert_string_equal(route_for(f, &req), "query");
}

/* A prefix with ignoreUriCase: any case of the prefix, then anything;
 * a path that ends inside the prefix or differs in a letter does not. */
static void test_R7_4_prefix_ignore_case(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") GW_HTTP("gw", "default", "['*']") VS(
            "a", "default", "['*']", "[gw]",
            "  - name: ci\n    match:\n    - uri: {prefix: /Ci/}\n"
            "      ignoreUriCase: true\n" ROUTE_TO("a")));
    GatewayRequest req = gwt_http(8080, "x", "/ci/x?q=1");
    assert_string_equal(route_for(f, &req), "ci");
    req.path = "/CI/";
    assert_string_equal(route_for(f, &req), "ci");
    req.path = "/cI";
    assert_string_equal(route_for(f, &req), "404");
    req.path = "/cj/";
    assert_string_equal(route_for(f, &req), "404");
    req.path = "";
    assert_string_equal(route_for(f, &req), "404");
}

/* ---- R8: destinations
 * ----------------------------------------------------------- */

static void test_R8_1_short_names_and_dotted_names(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("counter", "default", "80") GW_HTTP("gw", "default", "['*']")
            VS("a", "default", "[a.example.com]", "[gw]", ONLY("counter"))
                VS("b", "default", "[b.example.com]", "[gw]",
                   ONLY("counter.default")));
    GatewayRequest req = gwt_http(8080, "a.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||counter.default.svc.cluster.local");
    gateway_decision_clear(&d);
    /* surprise 6: counter.default is not expanded -> 503 NC. */
    req.authority = "b.example.com";
    gwt_decide(f, &req, &d);
    assert_reply(&d, 503, "NC");
    assert_string_equal(d.cluster_name, "outbound|80||counter.default");
    gateway_decision_clear(&d);
}

static void test_R8_4_port_inference(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("one", "default",
            "9000") "apiVersion: v1\nkind: Service\nmetadata: {name: two, "
                    "namespace: "
                    "default}\nspec:\n  selector: {app: two}\n  ports:\n"
                    "  - {name: a, port: 9000}\n  - {name: b, port: "
                    "9001}\n---\n" GW_HTTP("gw", "default", "['*']")
                        VS("a", "default", "[a.example.com]", "[gw]",
                           ONLY("one")) VS("b", "default", "[b.example.com]",
                                           "[gw]", ONLY("two")));
    GatewayRequest req = gwt_http(8080, "a.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|9000||one.default.svc.cluster.local");
    gateway_decision_clear(&d);
    /* multi-port: the server port (80) -> no such port -> NC. */
    req.authority = "b.example.com";
    gwt_decide(f, &req, &d);
    assert_reply(&d, 503, "NC");
    assert_string_equal(d.cluster_name,
                        "outbound|80||two.default.svc.cluster.local");
    gateway_decision_clear(&d);
}

static void test_R8_5_subset_from_destination_rule(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(SVC("counter", "default", "80") GW_HTTP(
        "gw", "default",
        "['*']") "apiVersion: networking.istio.io/v1\nkind: "
                 "DestinationRule\nmetadata: "
                 "{name: counter, namespace: default}\nspec:\n  host: counter\n"
                 "  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n"
                 "  subsets:\n  - name: v1\n    labels: {version: "
                 "v1}\n---\n" VS(
                     "a", "default", "[a.example.com]", "[gw]",
                     "  - route:\n    - destination: {host: counter, subset: "
                     "v1}\n") VS("b", "default", "[b.example.com]", "[gw]",
                                 "  - route:\n    - destination: {host: "
                                 "counter, subset: v2}\n"));
    GatewayRequest req = gwt_http(8080, "a.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80|v1|counter.default.svc.cluster.local");
    assert_string_equal(kv_list_get(d.cluster->subset_labels, "version"), "v1");
    assert_int_equal(d.cluster->lb, GATEWAY_LB_ROUND_ROBIN);
    gateway_decision_clear(&d);
    req.authority = "b.example.com";
    gwt_decide(f, &req, &d);
    assert_reply(&d, 503, "NC");
    gateway_decision_clear(&d);
}

static void test_R8_6_weights_and_zero_weight_dropped(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") SVC("b", "default", "80")
            SVC("c", "default", "80") GW_HTTP("gw", "default", "['*']") VS(
                "a", "default", "['*']", "[gw]",
                "  - route:\n    - destination: {host: a}\n      weight: 80\n"
                "    - destination: {host: b}\n      weight: 20\n"
                "    - destination: {host: c}\n      weight: 0\n"));
    Rng rng;
    rng_init_named(&rng, 7, "weights");
    guint na = 0;
    guint nb = 0;
    GatewayRequest req = gwt_http(8080, "x", "/");
    for (guint i = 0; i < 10000; i++) {
        GatewayDecision d;
        gateway_decide(f->snap, &req, &rng, &d, NULL, 0, NULL);
        assert_int_equal(d.outcome, GATEWAY_FORWARD);
        if (strstr(d.cluster->name, "|a.") != NULL) {
            na++;
        } else if (strstr(d.cluster->name, "|b.") != NULL) {
            nb++;
        } else {
            fail_msg("zero-weight cluster chosen");
        }
        gateway_decision_clear(&d);
    }
    assert_true(na > 7700 && na < 8300);
    assert_int_equal(na + nb, 10000);
}

/* ---- R9: request-time selection
 * ------------------------------------------------- */

static void test_R9_2_sni_exact_beats_wildcard(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(two_https);
    const GwListener *l = g_ptr_array_index(f->snap->listeners, 0);
    const char *m = NULL;
    const GwFilterChain *ch =
        host_sni_table_lookup(l->sni, "x.y.b.example.com", &m);
    assert_string_equal(m, "*.b.example.com");
    assert_string_equal(ch->server_ref, "default/gw2 servers[0]");
    ch = host_sni_table_lookup(l->sni, "B.example.com", &m);
    assert_string_equal(m, "b.example.com");
}

static void test_R9_3_no_matching_sni_reset(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(two_https);
    GatewayRequest req = gwt_https(8443, "c.example.com", "c.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_RESET);
    assert_string_equal(d.flags, "NR");
    gateway_decision_clear(&d);
    req.sni = NULL; /* no SNI: only match-all chains */
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_RESET);
    gateway_decision_clear(&d);
}

static void test_R9_5_exact_domain_beats_wildcard(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") SVC("b", "default", "80")
            SVC("c", "default", "80") GW_HTTP("gw", "default", "['*']") VS(
                "a", "default", "[a.example.com]", "[gw]", ONLY("a"))
                VS("b", "default", "['*.example.com']", "[gw]", ONLY("b")) VS(
                    "c", "default", "['*']", "[gw]",
                    "  - match:\n    - uri: {prefix: /only}\n" ROUTE_TO("c")));
    GatewayRequest req = gwt_http(8080, "A.Example.com:80", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||a.default.svc.cluster.local");
    assert_string_equal(d.virtual_host, "a.example.com:80");
    gateway_decision_clear(&d);
    req.authority = "z.example.com";
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||b.default.svc.cluster.local");
    gateway_decision_clear(&d);
    /* "*" vhost only routes /only: no fallback for other paths. */
    req.authority = "other.org";
    gwt_decide(f, &req, &d);
    assert_reply(&d, 404, "NR");
    assert_string_equal(d.virtual_host, "*:80");
    gateway_decision_clear(&d);
}

/* R9.6 + R11.1: httpsRedirect 301 even without a VS; other hosts 404. */
static void test_R11_1_https_redirect_without_vs(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: "
        "gw, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n"
        "  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
        "    tls: {httpsRedirect: true}\n    hosts: [a.example.com]\n---\n");
    GatewayRequest req = gwt_http(8080, "a.example.com", "/x?y=1");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_reply(&d, 301, "-");
    assert_string_equal(d.location, "https://a.example.com/x?y=1");
    gateway_decision_clear(&d);
    req.authority = "b.example.com";
    gwt_decide(f, &req, &d);
    assert_reply(&d, 404, "NR");
    gateway_decision_clear(&d);
}

/* ---- R10: TCP and TLS
 * ------------------------------------------------------------- */

static const char tcp_cfg[] = SVC("mysql", "default", "3306")
    SVC("other",
        "default",
        "3306") "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: "
                "{name: gw, "
                "namespace: istio-system}\nspec:\n  selector: {istio: "
                "ingressgateway}\n"
                "  servers:\n  - port: {number: 3306, name: mysql, protocol: "
                "MONGO}\n"
                "    hosts: ['*']\n---\n"
                "apiVersion: networking.istio.io/v1\nkind: "
                "VirtualService\nmetadata: "
                "{name: mysql, namespace: default}\nspec:\n  hosts: ['*']\n"
                "  gateways: [istio-system/gw]\n  tcp:\n  - match:\n    - "
                "port: 3306\n"
                "      destinationSubnets: [1.2.3.4/32]\n"
                "    route:\n    - destination: {host: mysql}\n---\n"
                "apiVersion: networking.istio.io/v1\nkind: "
                "VirtualService\nmetadata: "
                "{name: other, namespace: default}\nspec:\n  hosts: ['*']\n"
                "  gateways: [istio-system/gw]\n  tcp:\n"
                "  - route:\n    - destination: {host: other}\n---\n";

/* R10.1 / surprise 11: the first VS wins the server; destinationSubnets
 * is not evaluated; MONGO is opaque TCP. */
static void test_R10_1_tcp_first_vs_wins(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(tcp_cfg);
    GatewayRequest req = gwt_stream(3306, FALSE, NULL);
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|3306||mysql.default.svc.cluster.local");
    assert_true(d.tcp);
    assert_string_equal(d.listener, "0.0.0.0_3306");
    gateway_decision_clear(&d);
}

static const char passthrough_cfg[] = SVC(
    "nginx",
    "default",
    "443") "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: "
           "{name: gw, "
           "namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n"
           "  servers:\n  - port: {number: 443, name: tls, protocol: TLS}\n"
           "    tls: {}\n    hosts: ['*.example.com']\n---\n"
           "apiVersion: networking.istio.io/v1\nkind: "
           "VirtualService\nmetadata: "
           "{name: nginx, namespace: default}\nspec:\n  hosts: "
           "[nginx.example.com]\n"
           "  gateways: [gw]\n  tls:\n  - match:\n    - port: 443\n"
           "      sniHosts: [nginx.example.com]\n"
           "    route:\n    - destination: {host: nginx}\n---\n";

/* R10.2 / surprise 10: `tls: {}` is PASSTHROUGH; chain per sniHosts. */
static void test_R10_2_passthrough_by_sni(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(passthrough_cfg);
    GatewayRequest req = gwt_stream(8443, TRUE, "nginx.example.com");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|443||nginx.default.svc.cluster.local");
    assert_true(d.tcp);
    assert_false(d.tls_terminated);
    assert_string_equal(d.server_names[0], "nginx.example.com");
    gateway_decision_clear(&d);
    req.sni = "other.example.com";
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_RESET);
    gateway_decision_clear(&d);
}

static void test_R10_3_auto_passthrough_sni_dnat_cluster(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(SVC(
        "counter", "default", "80") "apiVersion: networking.istio.io/v1\nkind: "
                                    "Gateway\nmetadata: {name: "
                                    "gw, namespace: default}\nspec:\n  "
                                    "selector: {istio: ingressgateway}\n"
                                    "  servers:\n  - port: {number: 15443, "
                                    "name: tls, protocol: TLS}\n"
                                    "    tls: {mode: AUTO_PASSTHROUGH}\n    "
                                    "hosts: ['*.local']\n---\n");
    static const char *const alpn[] = { "istio", NULL };
    GatewayRequest req = gwt_stream(
        15443, TRUE, "outbound_.80_._.counter.default.svc.cluster.local");
    req.alpn = alpn;
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound_.80_._.counter.default.svc.cluster.local");
    gateway_decision_clear(&d);
    req.alpn = NULL;
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_RESET);
    gateway_decision_clear(&d);
}

/* ---- R11, R16: TLS modes
 * ------------------------------------------------------------ */

/* R16: a missing credentialName Secret: the chain exists, handshakes fail. */
static void test_R16_missing_secret_handshake_fails(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default",
            "80") "apiVersion: networking.istio.io/v1\nkind: "
                  "Gateway\nmetadata: {name: "
                  "gw, namespace: default}\nspec:\n  selector: {istio: "
                  "ingressgateway}\n"
                  "  servers:\n  - port: {number: 443, name: https, protocol: "
                  "HTTPS}\n"
                  "    tls: {mode: SIMPLE, credentialName: nope}\n"
                  "    hosts: [a.example.com]\n---\n" VS(
                      "a", "default", "[a.example.com]", "[gw]", ONLY("a")));
    GatewayRequest req = gwt_https(8443, "a.example.com", "a.example.com", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_TLS_FAILED);
    assert_string_equal(d.certificate, "istio-system/nope");
    assert_string_equal(d.listener, "0.0.0.0_8443");
    gateway_decision_clear(&d);
}

/* R11: SIMPLE with a real certificate (ALPN h2), MUTUAL without and with a
 * client certificate, and a client that rejects another CA. */
static void test_R11_tls_modes_with_certificates(void **state)
{
    g_autofree char *pki = gwt_pki_new();
    if (pki == NULL) {
        skip();
    }
    g_autofree char *crt =
        gwt_read(pki, "example_certs1/httpbin.example.com.crt");
    g_autofree char *key =
        gwt_read(pki, "example_certs1/httpbin.example.com.key");
    g_autofree char *ca = gwt_read(pki, "example_certs1/example.com.crt");
    g_autofree char *icrt = gwt_indent(crt, 4);
    g_autofree char *ikey = gwt_indent(key, 4);
    g_autofree char *ica = gwt_indent(ca, 4);
    g_autofree char *yaml = g_strdup_printf(
        SVC("httpbin", "default",
            "8000") "apiVersion: v1\nkind: Secret\nmetadata: {name: cred, "
                    "namespace: "
                    "istio-system}\nstringData:\n  tls.crt: |\n%s  tls.key: "
                    "|\n%s"
                    "  ca.crt: |\n%s---\n"
                    "apiVersion: networking.istio.io/v1\nkind: "
                    "Gateway\nmetadata: {name: "
                    "gw, namespace: default}\nspec:\n  selector: {istio: "
                    "ingressgateway}\n"
                    "  servers:\n  - port: {number: 443, name: https, "
                    "protocol: HTTPS}\n"
                    "    tls: {mode: %s, credentialName: cred}\n"
                    "    hosts: [httpbin.example.com]\n---\n" VS(
                        "h", "default", "[httpbin.example.com]", "[gw]",
                        ONLY("httpbin")),
        icrt, ikey, ica, "MUTUAL");
    g_autoptr(GwtFixture) f = load_ok(yaml);
    GError *err = NULL;
    g_autoptr(TlsCert) anchors = tls_cert_parse(ca, strlen(ca), "ca", &err);
    g_autofree char *ccrt =
        gwt_read(pki, "example_certs1/client.example.com.crt");
    g_autoptr(TlsCert) client = tls_cert_parse(ccrt, strlen(ccrt), "c", &err);
    g_autofree char *ca2 = gwt_read(pki, "example_certs2/example.com.crt");
    g_autoptr(TlsCert) other = tls_cert_parse(ca2, strlen(ca2), "ca2", &err);
    GatewayRequest req = gwt_https(8443, "httpbin.example.com",
                                   "httpbin.example.com", "/status/418");
    req.client_anchors = anchors;
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_TLS_FAILED); /* no client cert */
    gateway_decision_clear(&d);
    req.client_cert = client;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|8000||httpbin.default.svc.cluster.local");
    assert_string_equal(d.alpn, "h2");
    assert_string_equal(d.certificate, "istio-system/cred");
    assert_string_equal(d.route_config, "https.443.https.gw.default");
    gateway_decision_clear(&d);
    req.client_anchors = other;
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_TLS_FAILED); /* wrong CA */
    gateway_decision_clear(&d);
    gwt_rm_tree(pki);
}

/* ---- R12, R13: actions and defaults
 * --------------------------------------------------- */

static void test_R12_rewrite_redirect_direct_fault(void **state)
{
    g_autoptr(GwtFixture) f =
        load_ok(SVC("a", "default", "80") GW_HTTP("gw", "default", "['*']") VS(
            "a", "default", "['*']", "[gw]",
            "  - name: rw\n    match:\n    - uri: {prefix: /api/}\n"
            "    rewrite: {uri: /, authority: backend.local}\n" ROUTE_TO(
                "a") "  - name: redir\n    match:\n    - uri: {exact: /old}\n"
                     "    redirect: {uri: /new, authority: n.example.com}\n"
                     "  - name: direct\n    match:\n    - uri: {exact: /dr}\n"
                     "    directResponse: {status: 418, body: {string: "
                     "teapot}}\n"
                     "  - name: abort\n    match:\n    - uri: {exact: /abort}\n"
                     "    fault: {abort: {httpStatus: 500, percentage: {value: "
                     "100}}}\n" ROUTE_TO(
                         "a") "  - name: delay\n    match:\n    - uri: {exact: "
                              "/delay}\n"
                              "    timeout: 2s\n"
                              "    fault: {delay: {fixedDelay: 7s, percentage: "
                              "{value: 100}}}\n" ROUTE_TO(
                                  "a") "  - name: nopct\n    match:\n    - "
                                       "uri: {exact: /nopct}\n"
                                       "    fault: {abort: {httpStatus: "
                                       "500}}\n" ROUTE_TO("a")));
    GatewayRequest req = gwt_http(8080, "x", "/api/users?id=1");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||a.default.svc.cluster.local");
    assert_string_equal(d.path, "/users?id=1");
    assert_string_equal(d.authority, "backend.local");
    gateway_decision_clear(&d);
    req.path = "/old?k=v";
    gwt_decide(f, &req, &d);
    assert_reply(&d, 301, "-");
    assert_string_equal(d.location, "http://n.example.com/new?k=v");
    gateway_decision_clear(&d);
    req.path = "/dr";
    gwt_decide(f, &req, &d);
    assert_reply(&d, 418, "-");
    assert_string_equal(d.body, "teapot");
    gateway_decision_clear(&d);
    req.path = "/abort";
    gwt_decide(f, &req, &d);
    assert_reply(&d, 500, "FI");
    gateway_decision_clear(&d);
    req.path = "/delay";
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||a.default.svc.cluster.local");
    assert_string_equal(d.flags, "DI");
    assert_int_equal(d.fault_delay, 7 * SIM_S);
    assert_int_equal(d.timeout, 2 * SIM_S);
    gateway_decision_clear(&d);
    /* Envoy reads an unset percentage as 0 %: never aborts. */
    req.path = "/nopct";
    gwt_decide(f, &req, &d);
    assert_int_equal(d.outcome, GATEWAY_FORWARD);
    gateway_decision_clear(&d);
}

/* gateway_decision_release() frees what a decision owns (a rewritten
 * path, a redirect's Location) and nothing else: the decision
 * can be decided again into, as a pooled request's is, and ASan sees no
 * leak or double free. gateway_decision_clear() zeroes the rest too. */
static void test_decision_release_frees_only_what_it_owns(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") GW_HTTP("gw", "default", "['*']") VS(
            "a", "default", "['*']", "[gw]",
            "  - name: rw\n    match:\n    - uri: {prefix: /api/}\n"
            "    rewrite: {uri: /, authority: backend.local}\n" ROUTE_TO(
                "a") "  - name: redir\n    match:\n    - uri: {exact: /old}\n"
                     "    redirect: {uri: /new}\n"));
    GatewayRequest req = gwt_http(8080, "x", "/api/users");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|80||a.default.svc.cluster.local");
    assert_non_null(d.path_buf);
    assert_string_equal(d.path, "/users");
    gateway_decision_release(&d);
    assert_null(d.path_buf);
    /* The rest is left as it was. */
    assert_int_equal(d.outcome, GATEWAY_FORWARD);
    assert_string_equal(d.route, "rw");

    req.path = "/old";
    gwt_decide(f, &req, &d); /* overwrites all of it */
    assert_reply(&d, 301, "-");
    assert_null(d.path_buf);
    assert_string_equal(d.location, "http://x/new");
    gateway_decision_release(&d);
    assert_null(d.location);
    assert_int_equal(d.status, 301);
    gateway_decision_release(&d); /* owns nothing now: a no-op */
    gateway_decision_release(NULL);
    /* Each of the four buffers alone is freed (the inline test in
     * gateway.h looks at all four). */
    for (guint i = 0; i < 4; i++) {
        GatewayDecision o = { .status = 7 };
        char **buf[] = { &o.reason_buf, &o.location, &o.path_buf,
                         &o.authority_buf };
        *buf[i] = g_strdup("owned");
        gateway_decision_release(&o);
        for (guint j = 0; j < 4; j++) {
            assert_null(*buf[j]);
        }
        assert_int_equal(o.status, 7);
    }

    gwt_decide(f, &req, &d);
    gateway_decision_clear(&d);
    assert_null(d.location);
    assert_int_equal(d.status, 0);
    assert_null(d.route);
}

/* The decision memo (GatewayRequest.all_fixed) hands out exactly what
 * the steps decide, remembers only what drew nothing and owns nothing,
 * and lives in its snapshot: a recompiled configuration (a push) starts
 * with nothing remembered and decides anew. */
static gboolean decision_same(const GatewayDecision *a,
                              const GatewayDecision *b)
{
    return a->outcome == b->outcome && a->step == b->step &&
           a->status == b->status && g_strcmp0(a->flags, b->flags) == 0 &&
           a->cluster == b->cluster && a->route == b->route &&
           a->virtual_host == b->virtual_host && a->listener == b->listener &&
           g_strcmp0(a->path, b->path) == 0 && a->authority == b->authority &&
           a->retry == b->retry && a->timeout == b->timeout &&
           a->fault_delay == b->fault_delay;
}

static void test_decision_memo_answers_as_the_steps(void **state)
{
    const char *vs =
        "  - name: rw\n    match:\n    - uri: {prefix: /api/}\n"
        "    rewrite: {uri: /}\n" ROUTE_TO("a")
        "  - name: split\n    match:\n    - uri: {prefix: /split}\n"
        "    route:\n    - destination: {host: a}\n      weight: 50\n"
        "    - destination: {host: b}\n      weight: 50\n"
        "  - name: half\n    match:\n    - uri: {prefix: /half}\n"
        "    fault: {abort: {httpStatus: 500, percentage: {value: 50}}}\n"
        ROUTE_TO("a") "  - name: plain\n" ROUTE_TO("a");
    g_autofree char *yaml = g_strconcat(
        SVC("a", "default", "80") SVC("b", "default", "80"),
        GW_HTTP("gw", "default", "['*']"), "apiVersion: networking.istio.io/v1\n"
        "kind: VirtualService\nmetadata: {name: a, namespace: default}\n"
        "spec:\n  hosts: ['*']\n  gateways: [gw]\n  http:\n", vs, "---\n",
        NULL);
    g_autoptr(GwtFixture) f = load_ok(yaml);
    const char *paths[] = { "/", "/api/x", "/split", "/half", "/nowhere" };
    Rng fixed_rng, steps_rng;
    rng_init_named(&fixed_rng, 7, "memo");
    rng_init_named(&steps_rng, 7, "memo");
    for (guint round = 0; round < 200; round++) {
        for (guint i = 0; i < G_N_ELEMENTS(paths); i++) {
            GatewayRequest req = gwt_http(8080, "x", paths[i]);
            GatewayDecision steps, fixed;
            gateway_decide(f->snap, &req, &steps_rng, &steps, NULL, 0, NULL);
            req.all_fixed = TRUE;
            gateway_decide(f->snap, &req, &fixed_rng, &fixed, NULL, 0, NULL);
            assert_true(decision_same(&steps, &fixed));
            /* The same draws, in the same order. */
            assert_true(fixed_rng.state == steps_rng.state);
            if (steps.path_buf != NULL) {
                /* Each rewrite owns its own buffer. */
                assert_ptr_not_equal(fixed.path_buf, steps.path_buf);
                assert_string_equal(fixed.path, "/x");
            }
            gateway_decision_release(&steps);
            gateway_decision_release(&fixed);
        }
    }
    /* Only the plain route is remembered; the 404 has a static reason. */
    assert_non_null(f->snap->decisions);

    /* A new snapshot (what a push installs) remembers nothing yet. */
    g_autoptr(GwtFixture) g = load_ok(
        SVC("a", "default", "80") SVC("b", "default", "80")
            GW_HTTP("gw", "default", "['*']")
                VS("a", "default", "['*']", "[gw]", ONLY("b")));
    assert_null(g->snap->decisions);
    GatewayRequest req = gwt_http(8080, "x", "/");
    req.all_fixed = TRUE;
    GatewayDecision d;
    gwt_decide(g, &req, &d);
    assert_forward(&d, "outbound|80||b.default.svc.cluster.local");
    gwt_decide(g, &req, &d); /* remembered now */
    assert_forward(&d, "outbound|80||b.default.svc.cluster.local");
    gwt_decide(f, &req, &d); /* the old snapshot keeps its own answer */
    assert_forward(&d, "outbound|80||a.default.svc.cluster.local");
    gateway_decision_clear(&d);
}

/* gateway_decide_shared() hands out the memo's own decision; one a
 * request still holds outlives its slot when another key takes the slot,
 * reads the same, and goes with its last reference (LeakSanitizer in the
 * sanitizer build sees the rest). */
static void test_decision_shared_outlives_its_slot(void **state)
{
    /* /p0 goes to a, every other path to b: a decision overwritten in
     * place would say b. */
    g_autoptr(GwtFixture) f = load_ok(
        SVC("a", "default", "80") SVC("b", "default", "80")
            GW_HTTP("gw", "default", "['*']")
                VS("a", "default", "['*']", "[gw]",
                   "  - match:\n    - uri: {exact: /p0}\n" ROUTE_TO("a")
                       ONLY("b")));
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    /* Enough that p0's set of two (of 32) gets two others many times
     * over, wherever the addresses hash. */
    for (guint i = 0; i < 512; i++) {
        g_ptr_array_add(paths, g_strdup_printf("/p%u", i));
    }
    Rng rng;
    rng_init_named(&rng, 7, "shared");
    GatewayRequest req0 = gwt_http(8080, "x", paths->pdata[0]);
    req0.all_fixed = TRUE;
    GatewayDecision own;
    /* First: decided into @own and remembered; then shared. */
    const GatewayDecision *d =
        gateway_decide_shared(f->snap, &req0, &rng, &own, NULL, 0, NULL);
    assert_ptr_equal(d, &own);
    gateway_decision_drop(d, &own);
    const GatewayDecision *held =
        gateway_decide_shared(f->snap, &req0, &rng, &own, NULL, 0, NULL);
    assert_ptr_not_equal(held, &own);
    assert_forward(held, "outbound|80||a.default.svc.cluster.local");
    /* The others, remembered in turn, take every slot many times. */
    gboolean replaced = FALSE;
    for (guint round = 0; round < 4 && !replaced; round++) {
        for (guint i = 1; i < paths->len; i++) {
            GatewayRequest req = gwt_http(8080, "x", paths->pdata[i]);
            req.all_fixed = TRUE;
            GatewayDecision o;
            gateway_decision_drop(gateway_decide_shared(f->snap, &req, &rng,
                                                        &o, NULL, 0, NULL),
                                  &o);
        }
        d = gateway_decide_shared(f->snap, &req0, &rng, &own, NULL, 0, NULL);
        replaced = d == &own; /* decided anew: its slot had gone */
        gateway_decision_drop(d, &own);
    }
    assert_true(replaced);
    /* The held one is no longer the slot's, and still reads the same. */
    d = gateway_decide_shared(f->snap, &req0, &rng, &own, NULL, 0, NULL);
    assert_ptr_not_equal(d, held);
    assert_true(decision_same(d, held));
    assert_forward(held, "outbound|80||a.default.svc.cluster.local");
    gateway_decision_drop(d, &own);
    gateway_decision_drop(held, &own);
    /* gateway_decide() copies: nothing is held after it. */
    GatewayDecision copy;
    gateway_decide(f->snap, &req0, &rng, &copy, NULL, 0, NULL);
    assert_forward(&copy, "outbound|80||a.default.svc.cluster.local");
    gateway_decision_clear(&copy);
}

static void test_R13_default_timeout_and_retries(void **state)
{
    g_autoptr(GwtFixture) f =
        load_ok(SVC("a", "default", "80") GW_HTTP("gw", "default", "['*']")
                    VS("a", "default", "['*']", "[gw]",
                       "  - match:\n    - uri: {prefix: /none}\n"
                       "    retries: {attempts: 0}\n" ROUTE_TO(
                           "a") "  - match:\n    - uri: {prefix: /custom}\n"
                                "    retries: {attempts: 5, retryOn: "
                                "'503,reset', perTryTimeout: "
                                "1s}\n" ROUTE_TO("a") ONLY("a")));
    GatewayRequest req = gwt_http(8080, "x", "/");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_int_equal(d.timeout, 0);
    assert_non_null(d.retry);
    assert_int_equal(d.retry->num_retries, 2);
    assert_int_equal(d.retry->retry_on,
                     GATEWAY_RETRY_CONNECT_FAILURE |
                         GATEWAY_RETRY_REFUSED_STREAM |
                         GATEWAY_RETRY_UNAVAILABLE | GATEWAY_RETRY_CANCELLED |
                         GATEWAY_RETRY_RETRIABLE_STATUS_CODES);
    assert_int_equal(d.retry->n_retriable_status_codes, 0);
    assert_true(d.retry->previous_hosts);
    assert_int_equal(d.cluster->connect_timeout, 10 * SIM_S);
    assert_int_equal(d.cluster->lb, GATEWAY_LB_LEAST_REQUEST);
    assert_int_equal(d.cluster->max_connections, G_MAXUINT32);
    gateway_decision_clear(&d);
    req.path = "/none";
    gwt_decide(f, &req, &d);
    assert_null(d.retry);
    gateway_decision_clear(&d);
    req.path = "/custom";
    gwt_decide(f, &req, &d);
    assert_int_equal(d.retry->num_retries, 5);
    assert_int_equal(d.retry->n_retriable_status_codes, 1);
    assert_int_equal(d.retry->retriable_status_codes[0], 503);
    assert_true(d.retry->retry_on & GATEWAY_RETRY_RESET);
    assert_int_equal(d.retry->per_try_timeout, SIM_S);
    gateway_decision_clear(&d);
}

/* ---- Kubernetes Ingress
 * ------------------------------------------------------------------ */

static void test_ingress_class_annotation_prefix_path(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(SVC(
        "httpbin", "default",
        "8000") "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n"
                "  name: ing\n  namespace: default\n  annotations: "
                "{kubernetes.io/ingress.class: istio}\nspec:\n  rules:\n"
                "  - host: httpbin.example.com\n    http:\n      paths:\n"
                "      - path: /status\n        pathType: Prefix\n        "
                "backend:\n"
                "          service: {name: httpbin, port: {number: "
                "8000}}\n---\n"
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n"
                "  name: other\n  namespace: default\nspec:\n  rules:\n"
                "  - host: other.example.com\n    http:\n      paths:\n"
                "      - path: /\n        pathType: Prefix\n        backend:\n"
                "          service: {name: httpbin, port: {number: "
                "8000}}\n---\n");
    GatewayRequest req = gwt_http(8080, "httpbin.example.com", "/status/200");
    GatewayDecision d;
    gwt_decide(f, &req, &d);
    assert_forward(&d, "outbound|8000||httpbin.default.svc.cluster.local");
    gateway_decision_clear(&d);
    req.path = "/statusx"; /* path_separated_prefix */
    gwt_decide(f, &req, &d);
    assert_reply(&d, 404, "NR");
    gateway_decision_clear(&d);
    req.authority = "other.example.com"; /* no class: not istio's */
    req.path = "/";
    gwt_decide(f, &req, &d);
    assert_reply(&d, 404, "NR");
    gateway_decision_clear(&d);
}

/* ---- config dump and trace
 * -------------------------------------------------------------- */

static void test_config_dump_shape(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(article);
    g_autofree char *json = gateway_config_dump(f->snap);
    assert_non_null(strstr(json, "envoy.admin.v3.RoutesConfigDump"));
    assert_non_null(strstr(json, "\"name\" : \"http.8080\""));
    assert_non_null(strstr(json, "\"name\" : \"*:80\""));
    assert_non_null(strstr(json,
                           "\"cluster\" : \"outbound|80||counter.default.svc."
                           "cluster.local\""));
    assert_non_null(strstr(json, "\"port_value\" : 8080"));
    g_autofree char *again = gateway_config_dump(f->snap);
    assert_string_equal(json, again);
}

static void test_trace_keys(void **state)
{
    g_autoptr(GwtFixture) f = load_ok(article);
    g_autoptr(Trace) tr = trace_new();
    GatewayRequest req = gwt_http(8080, "counter.example.com", "/");
    GatewayDecision d;
    gateway_decide(f->snap, &req, NULL, &d, tr, 0, "worker-1");
    assert_string_equal(trace_get(tr, "listener"), "0.0.0.0_8080");
    assert_string_equal(trace_get(tr, "route_config"), "http.8080");
    assert_string_equal(trace_get(tr, "virtual_host"), "*:80");
    assert_string_equal(trace_get(tr, "cluster"),
                        "outbound|80||counter.default.svc.cluster.local");
    assert_string_equal(trace_get(tr, "filter_chain"), "match-all");
    assert_true(trace_len(tr) >= 5);
    gateway_decision_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R3_1_service_port_80_resolves_to_listener_8080),
        cmocka_unit_test(test_R3_1_server_port_8080_lands_on_same_listener),
        cmocka_unit_test(test_R1_3_no_listener_refused),
        cmocka_unit_test(test_R3_2_bind_listener_name),
        cmocka_unit_test(test_R2_1_selector_must_match_pod_labels),
        cmocka_unit_test(test_R2_1_no_selector_applies_to_all),
        cmocka_unit_test(test_R2_2_gateway_from_any_namespace),
        cmocka_unit_test(test_R4_1_protocol_case_insensitive),
        cmocka_unit_test(
            test_R4_2_http_servers_of_two_gateways_share_route_config),
        cmocka_unit_test(
            test_R4_3_https_servers_get_own_chain_and_route_config),
        cmocka_unit_test(test_R4_4_duplicate_tls_host_older_gateway_wins),
        cmocka_unit_test(test_R4_5_protocol_conflict_later_server_skipped),
        cmocka_unit_test(
            test_R4_6_tcp_without_route_no_listener_http_blackhole),
        cmocka_unit_test(test_R5_1_dot_namespace_prefix),
        cmocka_unit_test(test_R5_2_namespace_filter),
        cmocka_unit_test(test_R5_3_wildcard_covers_labels_not_apex),
        cmocka_unit_test(test_R5_4_intersection_more_specific_host),
        cmocka_unit_test(test_R5_5_overlapping_vs_hosts_rejected),
        cmocka_unit_test(test_R6_1_gateway_reference_forms),
        cmocka_unit_test(
            test_R6_2_export_to_dot_invisible_to_gateway_namespace),
        cmocka_unit_test(test_R7_3_merged_vs_catch_all_last),
        cmocka_unit_test(test_R6_4_collapse_identical_virtual_hosts),
        cmocka_unit_test(test_R6_5_https_authority_of_other_server_404),
        cmocka_unit_test(test_R7_1_match_port_and_gateways_filters),
        cmocka_unit_test(test_R7_2_routes_after_catch_all_dropped),
        cmocka_unit_test(test_R7_4_match_fields),
        cmocka_unit_test(test_R7_4_prefix_ignore_case),
        cmocka_unit_test(test_R8_1_short_names_and_dotted_names),
        cmocka_unit_test(test_R8_4_port_inference),
        cmocka_unit_test(test_R8_5_subset_from_destination_rule),
        cmocka_unit_test(test_R8_6_weights_and_zero_weight_dropped),
        cmocka_unit_test(test_R9_2_sni_exact_beats_wildcard),
        cmocka_unit_test(test_R9_3_no_matching_sni_reset),
        cmocka_unit_test(test_R9_5_exact_domain_beats_wildcard),
        cmocka_unit_test(test_R11_1_https_redirect_without_vs),
        cmocka_unit_test(test_R10_1_tcp_first_vs_wins),
        cmocka_unit_test(test_R10_2_passthrough_by_sni),
        cmocka_unit_test(test_R10_3_auto_passthrough_sni_dnat_cluster),
        cmocka_unit_test(test_R16_missing_secret_handshake_fails),
        cmocka_unit_test(test_R11_tls_modes_with_certificates),
        cmocka_unit_test(test_R12_rewrite_redirect_direct_fault),
        cmocka_unit_test(test_decision_release_frees_only_what_it_owns),
        cmocka_unit_test(test_decision_memo_answers_as_the_steps),
        cmocka_unit_test(test_decision_shared_outlives_its_slot),
        cmocka_unit_test(test_R13_default_timeout_and_retries),
        cmocka_unit_test(test_ingress_class_annotation_prefix_path),
        cmocka_unit_test(test_config_dump_shape),
        cmocka_unit_test(test_trace_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
