/* test-scenario.c: the scenario loader through its header: YAML marks,
 * limits, every default SCENARIO.md promises, and located errors. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "models/endpoints.h"
#include "models/scenario.h"

static Scenario *load(const char *text)
{
    GError *error = NULL;
    Scenario *s = scenario_load_string("t.yaml", text, &error);
    if (s == NULL) {
        fail_msg("unexpected error: %s", error->message);
    }
    return s;
}

/* Loads @text expecting an error whose message starts with @prefix and
 * contains @needle. */
static void expect_error(const char *text, const char *prefix,
                         const char *needle)
{
    GError *error = NULL;
    Scenario *s = scenario_load_string("t.yaml", text, &error);
    assert_null(s);
    assert_non_null(error);
    if (!g_str_has_prefix(error->message, prefix) ||
        strstr(error->message, needle) == NULL) {
        fail_msg("message '%s' lacks prefix '%s' or '%s'", error->message,
                 prefix, needle);
    }
    g_error_free(error);
}

static void test_ynode_marks_are_one_based(void **state)
{
    GError *error = NULL;
    g_autoptr(GPtrArray) docs =
        ynode_load_string("m.yaml", "a: 1\nb:\n  c: x\n", 15, NULL, &error);
    assert_non_null(docs);
    const YNode *c = ynode_path(g_ptr_array_index(docs, 0), "b.c");
    assert_non_null(c);
    assert_int_equal(c->line, 3);
    assert_int_equal(c->col, 6);
    assert_string_equal(c->scalar, "x");
}

static void test_ynode_duplicate_key_is_an_error(void **state)
{
    GError *error = NULL;
    GPtrArray *docs =
        ynode_load_string("d.yaml", "a: 1\na: 2\n", 10, NULL, &error);
    assert_null(docs);
    assert_string_equal(error->message, "d.yaml:2:1: error: duplicate key 'a'");
    g_error_free(error);
}

static void test_ynode_billion_laughs_stops_at_limit(void **state)
{
    GString *y = g_string_new("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    char prev = 'a';
    for (char n = 'b'; n <= 'j'; n++) {
        g_string_append_printf(y, "%c: &%c [", n, n);
        for (int i = 0; i < 10; i++) {
            g_string_append_printf(y, "%s*%c", i ? ", " : "", prev);
        }
        g_string_append(y, "]\n");
        prev = n;
    }
    GError *error = NULL;
    GPtrArray *docs =
        ynode_load_string("bomb.yaml", y->str, y->len, NULL, &error);
    assert_null(docs);
    assert_true(g_error_matches(error, SCENARIO_ERROR, SCENARIO_ERROR_TOO_LARGE));
    assert_non_null(strstr(error->message, "billion laughs"));
    g_error_free(error);
    g_string_free(y, TRUE);
}

static void test_ynode_syntax_error_located(void **state)
{
    GError *error = NULL;
    const char *bad = "a: [1, 2\nb: 3\n";
    GPtrArray *docs = ynode_load_string("s.yaml", bad, strlen(bad), NULL, &error);
    assert_null(docs);
    assert_true(g_str_has_prefix(error->message, "s.yaml:"));
    assert_non_null(strstr(error->message, "error: invalid YAML"));
    g_error_free(error);
}

/* SCENARIO.md: a file with no Scenario document is valid: three nodes, the
 * default istio-ingressgateway Service and Deployment, an LB forwarding
 * each of the Service's ports to its nodePort. */
static void test_defaults_for_bare_manifests(void **state)
{
    g_autoptr(Scenario) s = load("apiVersion: v1\nkind: Service\n"
                                 "metadata: {name: web}\n"
                                 "spec: {selector: {app: web}, ports: "
                                 "[{port: 80}]}\n");
    Cluster *c = s->cluster;
    assert_int_equal(c->nodes->len, 3);
    assert_string_equal(((K8sNode *)g_ptr_array_index(c->nodes, 0))->name,
                        "worker-1");
    assert_true(c->synthesized_gateway);
    K8sService *gw = cluster_gateway_service(c);
    assert_non_null(gw);
    assert_string_equal(gw->meta.ns, "istio-system");
    assert_int_equal(gw->type, K8S_SVC_LOAD_BALANCER);
    assert_int_equal(gw->ports->len, 3);
    const K8sServicePort *http2 = &g_array_index(gw->ports, K8sServicePort, 1);
    assert_string_equal(http2->name, "http2");
    assert_int_equal(http2->port, 80);
    assert_int_equal(http2->target_port, 8080);
    assert_true(http2->node_port >= 30000 && http2->node_port <= 32767);
    g_autoptr(GPtrArray) gws = cluster_gateway_pods(c);
    assert_int_equal(gws->len, 1);
    K8sPod *gp = g_ptr_array_index(gws, 0);
    assert_string_equal(gp->meta.name, "istio-ingressgateway-0");
    assert_string_equal(gp->node_name, "worker-1");
    assert_int_equal(s->lb.listeners->len, 3);
    assert_int_equal(g_array_index(s->lb.listeners, LbListener, 1).node_port,
                     http2->node_port);
    assert_int_equal(s->lb.backends->len, 3);
    assert_int_equal(s->seed, 1);
    assert_int_equal(s->duration, 10 * SIM_S);
    /* HAProxy defaults (L-1). */
    assert_int_equal(s->lb.health.interval, 2 * SIM_S);
    assert_int_equal(s->lb.health.unhealthy_threshold, 3);
    assert_int_equal(s->lb.health.healthy_threshold, 2);
    assert_int_equal(s->control.push_delay, 100 * SIM_MS);
    assert_int_equal(s->control.endpoint_delay, 1 * SIM_S);
}

static void test_demo_profile_adds_tcp_and_tls_ports(void **state)
{
    g_autoptr(Scenario) s = load("apiVersion: ingress-sim/v1\nkind: Scenario\n"
                                 "spec: {istio: {profile: demo}}\n");
    K8sService *gw = cluster_gateway_service(s->cluster);
    assert_int_equal(gw->ports->len, 5);
    assert_int_equal(g_array_index(gw->ports, K8sServicePort, 3).port, 31400);
    assert_int_equal(g_array_index(gw->ports, K8sServicePort, 4).target_port,
                     15443);
}

/* Pods of a Deployment are <deployment>-<ordinal>, spread over the nodes
 * in order; IPs from each node's podCIDR. */
static void test_deployment_pods_spread_in_order(void **state)
{
    g_autoptr(Scenario) s = load(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\n"
        "spec:\n  replicas: 4\n  selector: {matchLabels: {app: a}}\n"
        "  template:\n    metadata: {labels: {app: a}}\n"
        "    spec: {containers: [{name: c, image: x}]}\n");
    K8sPod *p3 = cluster_find_pod(s->cluster, "default", "app-3");
    assert_non_null(p3);
    assert_string_equal(p3->node_name, "worker-1");
    K8sPod *p1 = cluster_find_pod(s->cluster, "default", "app-1");
    assert_string_equal(p1->node_name, "worker-2");
    assert_string_equal(p1->ip, "10.244.1.2");
    assert_string_equal(p1->owner, "default/app");
}

static void test_zone_node_selector(void **state)
{
    g_autoptr(Scenario) s = load(
        "apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n  nodes:\n"
        "  - {name: n1, zone: a}\n  - {name: n2, zone: b}\n"
        "  - {name: n3, zone: b}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: z}\n"
        "spec:\n  replicas: 3\n  selector: {matchLabels: {app: z}}\n"
        "  template:\n    metadata: {labels: {app: z}}\n    spec:\n"
        "      nodeSelector: {topology.kubernetes.io/zone: b}\n"
        "      containers: [{name: c, image: x}]\n");
    assert_string_equal(cluster_find_pod(s->cluster, "default", "z-0")->node_name, "n2");
    assert_string_equal(cluster_find_pod(s->cluster, "default", "z-1")->node_name, "n3");
    assert_string_equal(cluster_find_pod(s->cluster, "default", "z-2")->node_name, "n2");
}

static void test_endpoints_follow_pods_and_named_ports(void **state)
{
    g_autoptr(Scenario) s = load(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec: {selector: {app: web}, ports: [{name: http, port: 80, "
        "targetPort: web}]}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n"
        "    spec: {containers: [{name: c, image: x, ports: "
        "[{name: web, containerPort: 9090}]}]}\n");
    K8sService *svc = cluster_find_service(s->cluster, "default", "web");
    const K8sServicePort *sp = &g_array_index(svc->ports, K8sServicePort, 0);
    g_autofree PodCondition *conds =
        g_new0(PodCondition, s->cluster->pods->len);
    for (guint i = 0; i < s->cluster->pods->len; i++) {
        conds[i] = (PodCondition){ .ready = TRUE, .exists = TRUE };
    }
    K8sPod *w1 = cluster_find_pod(s->cluster, "default", "web-1");
    conds[w1->index].ready = FALSE;
    g_autoptr(EndpointSet) es = endpoint_set_new(s->cluster, conds);
    const GArray *eps = endpoint_set_lookup(es, svc, sp);
    assert_int_equal(eps->len, 2);
    const EndpointAddr *a0 = &g_array_index(eps, EndpointAddr, 0);
    const EndpointAddr *a1 = &g_array_index(eps, EndpointAddr, 1);
    assert_int_equal(a0->port, 9090);
    assert_true(a0->ready);
    assert_false(a1->ready);
    assert_false(a1->serving);
}

static void test_unknown_field_did_you_mean(void **state)
{
    expect_error("apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
                 "  durration: 5s\n",
                 "t.yaml:4:3: error: unknown field 'durration'",
                 "did you mean 'duration'?");
}

static void test_bad_duration_located(void **state)
{
    expect_error("apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
                 "  duration: soon\n",
                 "t.yaml:4:13: error:", "invalid duration");
}

static void test_zero_rate_refused(void **state)
{
    expect_error("apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
                 "  traffic:\n  - arrival: {poisson: {rate: 0/s}}\n"
                 "    requests: [{url: 'http://a/'}]\n",
                 "t.yaml:5:31: error:", "must be greater than zero");
}

static void test_unknown_algorithm_hint(void **state)
{
    expect_error("apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
                 "  loadBalancer: {algorithm: round-robbin}\n",
                 "t.yaml:4:29: error: unknown algorithm 'round-robbin'",
                 "did you mean 'round-robin'?");
}

static void test_failure_target_must_exist(void **state)
{
    expect_error("apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
                 "  failures:\n  - {at: 1s, node-down: worker-9}\n",
                 "t.yaml:5:5: error: failure target 'worker-9'",
                 "does not exist");
}

static void test_delete_needs_kind_ns_name(void **state)
{
    expect_error("apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
                 "  failures:\n  - {at: 1s, delete: counter}\n",
                 "t.yaml:5:5: error: delete names Kind/namespace/name",
                 "VirtualService/default/counter");
    expect_error("apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
                 "  failures:\n  - {at: 1s, delete: Service/default/x}\n",
                 "t.yaml:5:5: error: delete of a Service", "not supported");
}

static void test_absurd_replicas_refused(void **state)
{
    expect_error("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
                 "spec:\n  replicas: 1000000000000\n"
                 "  selector: {matchLabels: {app: x}}\n"
                 "  template: {metadata: {labels: {app: x}}}\n",
                 "t.yaml:5:13: error: replicas must be", "10000");
}

static void test_nodeport_outside_range(void **state)
{
    expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                 "spec:\n  type: NodePort\n  ports:\n"
                 "  - {port: 80, nodePort: 80}\n",
                 "t.yaml:7:5: error: nodePort 80 is outside", "30000-32767");
}

static void test_duplicate_object(void **state)
{
    expect_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                 "spec: {ports: [{port: 1}]}\n---\n"
                 "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                 "spec: {ports: [{port: 2}]}\n",
                 "t.yaml:6:1: error: duplicate Service default/s",
                 "first defined at t.yaml:1:1");
}

static void test_unmodelled_kind_is_a_note(void **state)
{
    g_autoptr(Scenario) s = load("apiVersion: v1\nkind: ServiceAccount\n"
                                 "metadata: {name: sa}\n");
    assert_int_equal(s->cluster->skipped->len, 1);
    assert_non_null(strstr(g_ptr_array_index(s->cluster->skipped, 0),
                           "t.yaml:1:1: note: skipping ServiceAccount sa"));
}

static void test_url_parse(void **state)
{
    Url u;
    char *msg = NULL;
    assert_true(url_parse("https://Counter.Example.com/api?x=1", &u, &msg));
    assert_int_equal(u.scheme, URL_HTTPS);
    assert_int_equal(u.port, 443);
    assert_string_equal(u.host, "counter.example.com");
    assert_string_equal(u.path, "/api?x=1");
    assert_string_equal(u.authority, "counter.example.com");
    url_clear(&u);
    assert_true(url_parse("http://a.example.com:8080", &u, &msg));
    assert_string_equal(u.authority, "a.example.com:8080");
    assert_string_equal(u.path, "/");
    url_clear(&u);
    assert_false(url_parse("tcp://db.example.com", &u, &msg));
    assert_non_null(strstr(msg, "needs a port"));
    g_free(msg);
}

static void test_article_scenario_loads(void **state)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path =
        g_build_filename(src != NULL ? src : ".", "scenarios/article.yaml", NULL);
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load(path, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    assert_string_equal(s->name, "article-setup");
    assert_int_equal(s->lb.listeners->len, 3);
    assert_false(s->cluster->synthesized_gateway);
    assert_int_equal(s->cluster->gateways->len, 1);
    assert_int_equal(s->cluster->virtual_services->len, 2);
    assert_non_null(cluster_find_pod(s->cluster, "default", "counter-2"));
    assert_int_equal(s->traffic->len, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ynode_marks_are_one_based),
        cmocka_unit_test(test_ynode_duplicate_key_is_an_error),
        cmocka_unit_test(test_ynode_billion_laughs_stops_at_limit),
        cmocka_unit_test(test_ynode_syntax_error_located),
        cmocka_unit_test(test_defaults_for_bare_manifests),
        cmocka_unit_test(test_demo_profile_adds_tcp_and_tls_ports),
        cmocka_unit_test(test_deployment_pods_spread_in_order),
        cmocka_unit_test(test_zone_node_selector),
        cmocka_unit_test(test_endpoints_follow_pods_and_named_ports),
        cmocka_unit_test(test_unknown_field_did_you_mean),
        cmocka_unit_test(test_bad_duration_located),
        cmocka_unit_test(test_zero_rate_refused),
        cmocka_unit_test(test_unknown_algorithm_hint),
        cmocka_unit_test(test_failure_target_must_exist),
        cmocka_unit_test(test_delete_needs_kind_ns_name),
        cmocka_unit_test(test_absurd_replicas_refused),
        cmocka_unit_test(test_nodeport_outside_range),
        cmocka_unit_test(test_duplicate_object),
        cmocka_unit_test(test_unmodelled_kind_is_a_note),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_article_scenario_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
