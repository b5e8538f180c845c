/* test-kube-proxy.c: kube-proxy's compiled rules against proxier_test.go's
 * expected iptables-restore text, and the packet walk against its packet
 * flow tests, the kernel's statistic split and xt_recent affinity.
 * Inputs mirror kubernetes pkg/proxy/iptables/proxier_test.go (cited per
 * test); expected texts are in tests/golden/kube-proxy-*.txt. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "models/kube-proxy-private.h"
#include "models/kube-proxy.h"
#include "models/scenario.h"

/* NewFakeProxier() conventions: pod CIDR 10.0.0.0/8, node "test-node" at
 * 192.168.0.2, masquerade mark 0x4000, no --random-fully. */
#define NODE            "test-node"
#define NODE_IP         "192.168.0.2"
#define EXTERNAL_CLIENT "203.0.113.2"

static const char *const node_ips_extra[] = { "192.168.1.2", NULL };

static void fake_cfg(KubeProxyConfig *cfg, gboolean nfacct)
{
    kube_proxy_config_init_default(cfg);
    g_free(cfg->cluster_cidr);
    cfg->cluster_cidr = g_strdup("10.0.0.0/8");
    cfg->random_fully = FALSE;
    cfg->nfacct = nfacct;
}

static KpServicePortIn svc_port(const char *ns,
                                const char *name,
                                const char *port_name,
                                const char *cluster_ip,
                                gint port)
{
    KpServicePortIn in = { 0 };
    in.ns = ns;
    in.name = name;
    in.type = K8S_SVC_CLUSTER_IP;
    in.port_name = port_name;
    in.protocol = "TCP";
    in.cluster_ip = cluster_ip;
    in.port = port;
    in.affinity_timeout = 10800;
    return in;
}

static EndpointAddr ep_cond(const char *ip,
                            gint port,
                            const char *node,
                            gboolean ready,
                            gboolean serving,
                            gboolean terminating)
{
    EndpointAddr a = { 0 };
    a.ip = ip;
    a.port = port;
    a.node_name = node;
    a.ready = ready;
    a.serving = serving;
    a.terminating = terminating;
    return a;
}

static EndpointAddr ep(const char *ip, gint port, const char *node)
{
    return ep_cond(ip, port, node, TRUE, TRUE, FALSE);
}

static KubeProxyTable *
compile(const KpServicePortIn *in, guint n, gboolean nfacct)
{
    KubeProxyConfig cfg;
    fake_cfg(&cfg, nfacct);
    KubeProxyTable *t =
        kube_proxy__compile(in, n, NODE, NODE_IP, node_ips_extra, &cfg);
    kube_proxy_config_clear(&cfg);
    return t;
}

static char *read_golden(const char *name)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(src != NULL ? src : ".", "tests",
                                             "golden", name, NULL);
    char *text = NULL;
    g_autoptr(GError) err = NULL;
    if (!g_file_get_contents(path, &text, NULL, &err)) {
        fail_msg("%s", err->message);
    }
    return text;
}

/* Line-by-line comparison that names the first differing line. */
static void assert_text(const char *expected, const char *actual)
{
    g_auto(GStrv) e = g_strsplit(expected, "\n", -1);
    g_auto(GStrv) a = g_strsplit(actual, "\n", -1);
    guint ne = g_strv_length(e);
    guint na = g_strv_length(a);
    for (guint i = 0; i < MAX(ne, na); i++) {
        const char *x = i < ne ? e[i] : "<end>";
        const char *y = i < na ? a[i] : "<end>";
        if (strcmp(x, y) != 0) {
            fail_msg("line %u differs\nexpected: %s\nactual:   %s\nfull:\n%s",
                     i + 1, x, y, actual);
        }
    }
}

static void assert_golden(const KubeProxyTable *t, const char *name)
{
    g_autofree char *want = read_golden(name);
    g_autofree char *got = kube_proxy_save(t);
    assert_text(want, got);
}

/* ---- K-5 chain names ----------------------------------------------------- */

static void test_chain_names(void **state)
{
    (void)state;
    static const struct {
        const char *prefix, *spn, *proto, *ep, *want;
    } v[] = {
        /* ingress-stages-spec.md K-5 vectors */
        { "KUBE-SVC-", "ns1/svc1:p80", "tcp", NULL,
          "KUBE-SVC-XPGD46QRK7WJZT7O" },
        { "KUBE-SEP-", "ns1/svc1:p80", "tcp", "10.180.0.1:80",
          "KUBE-SEP-SXIVWICOYRO3J4NJ" },
        { "KUBE-SVC-", "ns1/svc1", "tcp", NULL, "KUBE-SVC-AQI2S6QIMU7PVVRP" },
        /* more from proxier_test.go expectations */
        { "KUBE-SVL-", "ns1/svc1", "tcp", NULL, "KUBE-SVL-AQI2S6QIMU7PVVRP" },
        { "KUBE-FW-", "ns5/svc5:p80", "tcp", NULL, "KUBE-FW-NUKIZ6OKUXPJNT4C" },
        { "KUBE-EXT-", "ns2/svc2:p80", "tcp", NULL,
          "KUBE-EXT-GNZBNJ2PO5MGZ6GT" },
        { "KUBE-SEP-", "ns1/svc1", "tcp", "10.0.1.1:80",
          "KUBE-SEP-3JOIVZTXZZRGORX4" },
        { "KUBE-SEP-", "ns1/svc1:p80", "tcp", "10.0.0.0:80",
          "KUBE-SEP-DKGQUZGBKLTPAR56" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(v); i++) {
        g_autofree char *n =
            kube_proxy_chain_name(v[i].prefix, v[i].spn, v[i].proto, v[i].ep);
        assert_string_equal(n, v[i].want);
    }
}

/* ---- golden rules -------------------------------------------------------- */

/* The six Services of TestOverallIPTablesRules (modern proxier_test.go):
 * 1 endpoint (ClusterIP), eTP Local without local endpoints, NodePort,
 * externalIP with 2 endpoints, LoadBalancer with source ranges and ClientIP
 * affinity, and no endpoints. */
typedef struct {
    KpServicePortIn in[6];        /* the Service ports */
    EndpointAddr eps[6];          /* their endpoints */
    const char *ext2[2], *lb2[2]; /* ns2 externalIPs, LB IPs */
    const char *ext4[2];          /* ns4 externalIPs */
    const char *lb5[2], *src5[2]; /* ns5 LB IPs, source ranges */
} Overall;

static void overall_init(Overall *o)
{
    memset(o, 0, sizeof *o);
    o->eps[0] = ep("10.180.0.1", 80, NULL);
    o->eps[1] = ep("10.180.0.2", 80, NULL); /* no NodeName: not local */
    o->eps[2] = ep("10.180.0.3", 80, NULL);
    o->eps[3] = ep("10.180.0.4", 80, NULL);
    o->eps[4] = ep("10.180.0.5", 80, NODE);
    o->eps[5] = ep("10.180.0.3", 80, NULL);
    o->ext2[0] = "192.168.99.22";
    o->lb2[0] = "1.2.3.4";
    o->ext4[0] = "192.168.99.33";
    o->lb5[0] = "5.6.7.8";
    o->src5[0] = " 203.0.113.0/25"; /* whitespace kept on purpose */

    o->in[0] = svc_port("ns1", "svc1", "p80", "172.30.0.41", 80);
    o->in[0].endpoints = &o->eps[0];
    o->in[0].n_endpoints = 1;

    o->in[1] = svc_port("ns2", "svc2", "p80", "172.30.0.42", 80);
    o->in[1].type = K8S_SVC_LOAD_BALANCER;
    o->in[1].external_policy = K8S_POLICY_LOCAL;
    o->in[1].node_port = 3001;
    o->in[1].lb_ips = o->lb2;
    o->in[1].external_ips = o->ext2;
    o->in[1].health_check_node_port = 30000;
    o->in[1].endpoints = &o->eps[1];
    o->in[1].n_endpoints = 1;

    o->in[2] = svc_port("ns3", "svc3", "p80", "172.30.0.43", 80);
    o->in[2].type = K8S_SVC_NODE_PORT;
    o->in[2].node_port = 3003;
    o->in[2].endpoints = &o->eps[2];
    o->in[2].n_endpoints = 1;

    o->in[3] = svc_port("ns4", "svc4", "p80", "172.30.0.44", 80);
    o->in[3].type = K8S_SVC_NODE_PORT;
    o->in[3].external_ips = o->ext4;
    o->in[3].endpoints = &o->eps[3];
    o->in[3].n_endpoints = 2;

    o->in[4] = svc_port("ns5", "svc5", "p80", "172.30.0.45", 80);
    o->in[4].type = K8S_SVC_LOAD_BALANCER;
    o->in[4].node_port = 3002;
    o->in[4].lb_ips = o->lb5;
    o->in[4].health_check_node_port = 30000; /* eTP Cluster: unused */
    o->in[4].source_ranges = o->src5;
    o->in[4].affinity_client_ip = TRUE;
    o->in[4].endpoints = &o->eps[5];
    o->in[4].n_endpoints = 1;

    o->in[5] = svc_port("ns6", "svc6", "p80", "172.30.0.46", 80);
}

/* proxier_test.go TestOverallIPTablesRules: the whole restore input. The
 * ports are given in reverse order to show the output does not depend on
 * input order. */
static void test_golden_overall(void **state)
{
    (void)state;
    Overall o;
    overall_init(&o);
    KpServicePortIn rev[6];
    for (guint i = 0; i < 6; i++) {
        rev[i] = o.in[5 - i];
    }
    g_autoptr(KubeProxyTable) t = compile(rev, 6, TRUE);
    assert_golden(t, "kube-proxy-overall.txt");
}

/* proxier_test.go TestSyncProxyRulesRepeated, first sync: two Services with
 * one endpoint each. */
static void test_golden_one_endpoint(void **state)
{
    (void)state;
    EndpointAddr e[2] = { ep("10.0.1.1", 80, NULL),
                          ep("10.0.2.1", 8080, NULL) };
    KpServicePortIn in[2] = {
        svc_port("ns1", "svc1", "p80", "172.30.0.41", 80),
        svc_port("ns2", "svc2", "p8080", "172.30.0.42", 8080),
    };
    in[0].endpoints = &e[0];
    in[0].n_endpoints = 1;
    in[1].endpoints = &e[1];
    in[1].n_endpoints = 1;
    g_autoptr(KubeProxyTable) t = compile(in, 2, TRUE);
    assert_golden(t, "kube-proxy-repeated.txt");
}

/* proxier_test.go TestInternalTrafficPolicyE2E (revision before nfacct, so
 * nfacct off): an unnamed port with 3 endpoints, one local. */
static KubeProxyTable *itp_table(K8sTrafficPolicy itp, gboolean local_ep)
{
    EndpointAddr e[3] = {
        ep("10.0.1.1", 80, local_ep ? NODE : "host0"),
        ep("10.0.1.2", 80, "host1"),
        ep("10.0.1.3", 80, "host2"),
    };
    KpServicePortIn in = svc_port("ns1", "svc1", NULL, "172.30.1.1", 80);
    in.internal_policy = itp;
    in.endpoints = e;
    in.n_endpoints = 3;
    return compile(&in, 1, FALSE);
}

static void test_golden_three_endpoints(void **state)
{
    (void)state;
    g_autoptr(KubeProxyTable) t = itp_table(K8S_POLICY_CLUSTER, TRUE);
    assert_golden(t, "kube-proxy-itp-cluster.txt");
}

static void test_golden_itp_local(void **state)
{
    (void)state;
    g_autoptr(KubeProxyTable) a = itp_table(K8S_POLICY_LOCAL, TRUE);
    assert_golden(a, "kube-proxy-itp-local.txt");
    g_autoptr(KubeProxyTable) b = itp_table(K8S_POLICY_LOCAL, FALSE);
    assert_golden(b, "kube-proxy-itp-local-none.txt");
}

/* proxier_test.go TestExternalTrafficPolicyLocal (revision before nfacct):
 * LoadBalancer, eTP Local, one local and one remote endpoint. */
static const char *const etp_ext[] = { "192.168.99.11", NULL };
static const char *const etp_lb[] = { "1.2.3.4", NULL };

static KubeProxyTable *etp_local_table(gboolean nfacct)
{
    EndpointAddr e[2] = { ep("10.180.0.1", 80, NULL),
                          ep("10.180.2.1", 80, NODE) };
    KpServicePortIn in = svc_port("ns1", "svc1", "p80", "172.30.0.41", 80);
    in.type = K8S_SVC_LOAD_BALANCER;
    in.external_policy = K8S_POLICY_LOCAL;
    in.node_port = 3001;
    in.health_check_node_port = 30000;
    in.external_ips = etp_ext;
    in.lb_ips = etp_lb;
    in.endpoints = e;
    in.n_endpoints = 2;
    return compile(&in, 1, nfacct);
}

static void test_golden_etp_local(void **state)
{
    (void)state;
    g_autoptr(KubeProxyTable) t = etp_local_table(FALSE);
    assert_golden(t, "kube-proxy-etp-local.txt");
}

/* proxier_test.go TestTerminatingEndpointsTrafficPolicyLocal / ...Cluster
 * (revision before nfacct): LoadBalancer 1.2.3.4 without NodePort, ClientIP
 * affinity 10800 s, healthCheckNodePort 30000, endpoints in every
 * ready/serving/terminating combination (K-14). */
static KubeProxyTable *
term_table(K8sTrafficPolicy etp, const EndpointAddr *e, guint n)
{
    KpServicePortIn in = svc_port("ns1", "svc1", NULL, "172.30.1.1", 80);
    in.type = K8S_SVC_LOAD_BALANCER;
    in.external_policy = etp;
    in.health_check_node_port = 30000;
    in.affinity_client_ip = TRUE;
    in.lb_ips = etp_lb;
    in.endpoints = e;
    in.n_endpoints = n;
    return compile(&in, 1, FALSE);
}

static void test_golden_terminating_local(void **state)
{
    (void)state;
    const EndpointAddr ready[] = {
        ep_cond("10.0.1.1", 80, NODE, TRUE, TRUE, FALSE),
        ep_cond("10.0.1.2", 80, NODE, TRUE, TRUE, FALSE),
        ep_cond("10.0.1.3", 80, NODE, FALSE, TRUE, TRUE),
        ep_cond("10.0.1.4", 80, NODE, FALSE, FALSE, TRUE),
        ep_cond("10.0.1.5", 80, "host-1", TRUE, TRUE, FALSE),
    };
    g_autoptr(KubeProxyTable) a = term_table(K8S_POLICY_LOCAL, ready, 5);
    assert_golden(a, "kube-proxy-term-local-ready.txt");

    const EndpointAddr terminating[] = {
        ep_cond("10.0.1.2", 80, NODE, FALSE, TRUE, TRUE),
        ep_cond("10.0.1.3", 80, NODE, FALSE, TRUE, TRUE),
        ep_cond("10.0.1.4", 80, NODE, FALSE, FALSE, TRUE),
        ep_cond("10.0.1.5", 80, "host-1", TRUE, TRUE, FALSE),
    };
    g_autoptr(KubeProxyTable) b = term_table(K8S_POLICY_LOCAL, terminating, 4);
    assert_golden(b, "kube-proxy-term-local-terminating.txt");

    const EndpointAddr remote[] = {
        ep_cond("10.0.1.5", 80, "host-1", FALSE, TRUE, TRUE),
    };
    g_autoptr(KubeProxyTable) c = term_table(K8S_POLICY_LOCAL, remote, 1);
    assert_golden(c, "kube-proxy-term-local-remote.txt");

    const EndpointAddr none[] = {
        ep_cond("10.0.1.5", 80, NODE, FALSE, FALSE, TRUE),
        ep_cond("10.0.1.5", 80, "host-1", FALSE, FALSE, TRUE),
    };
    g_autoptr(KubeProxyTable) d = term_table(K8S_POLICY_LOCAL, none, 2);
    assert_golden(d, "kube-proxy-term-local-none.txt");
}

static void test_golden_terminating_cluster(void **state)
{
    (void)state;
    const EndpointAddr e[] = {
        ep_cond("10.0.1.1", 80, NODE, TRUE, TRUE, FALSE),
        ep_cond("10.0.1.2", 80, NODE, TRUE, TRUE, FALSE),
        ep_cond("10.0.1.3", 80, "another-host", FALSE, TRUE, TRUE),
        ep_cond("10.0.1.4", 80, "another-host", FALSE, FALSE, TRUE),
        ep_cond("10.0.1.5", 80, "another-host", TRUE, TRUE, FALSE),
    };
    g_autoptr(KubeProxyTable) t = term_table(K8S_POLICY_CLUSTER, e, 5);
    assert_golden(t, "kube-proxy-term-cluster-ready.txt");
}

/* Lines of @table/@chain, "\n"-joined, as assertIPTablesChainEqual() sees. */
static char *
chain_text(const KubeProxyTable *t, KpTableId table, const char *chain)
{
    GString *s = g_string_new(NULL);
    const KpChain *c = kube_proxy__chain(t, table, chain);
    for (guint i = 0; c != NULL && i < c->rules->len; i++) {
        kube_proxy__rule_text(t, c, &g_array_index(c->rules, KpRule, i), s);
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}

/* proxier_test.go TestMasqueradeRule, TestDropInvalidRule and the
 * KUBE-FIREWALL / nodeports checks of TestNodePorts. */
static void test_flags(void **state)
{
    (void)state;
    KubeProxyConfig cfg;
    fake_cfg(&cfg, FALSE);
    cfg.random_fully = TRUE;
    cfg.tcp_be_liberal = TRUE;
    cfg.localhost_nodeports = FALSE;
    g_autoptr(KubeProxyTable) t =
        kube_proxy__compile(NULL, 0, NODE, NODE_IP, NULL, &cfg);
    g_autofree char *post = chain_text(t, KP_TABLE_NAT, "KUBE-POSTROUTING");
    assert_string_equal(
        post, "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
              "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n"
              "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service "
              "traffic requiring SNAT\" -j MASQUERADE --random-fully\n");
    g_autofree char *fwd = chain_text(t, KP_TABLE_FILTER, "KUBE-FORWARD");
    assert_string_equal(
        fwd, "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding "
             "rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT\n"
             "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding "
             "conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j "
             "ACCEPT\n");
    g_autofree char *fw = chain_text(t, KP_TABLE_FILTER, "KUBE-FIREWALL");
    assert_string_equal(fw, "");
    g_autofree char *svcs = chain_text(t, KP_TABLE_NAT, "KUBE-SERVICES");
    assert_string_equal(
        svcs, "-A KUBE-SERVICES -m comment --comment \"kubernetes service "
              "nodeports; NOTE: this must be the last rule in this chain\" -m "
              "addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS\n");
    g_autofree char *text = kube_proxy_save(t);
    assert_null(strstr(text, ":KUBE-FIREWALL"));

    /* Masquerade bit 15 and --masquerade-all. */
    cfg.masquerade_bit = 15;
    cfg.masquerade_all = TRUE;
    EndpointAddr e = ep("10.0.1.1", 80, NULL);
    KpServicePortIn in = svc_port("ns1", "svc1", "p80", "172.30.0.41", 80);
    in.endpoints = &e;
    in.n_endpoints = 1;
    g_autoptr(KubeProxyTable) u =
        kube_proxy__compile(&in, 1, NODE, NODE_IP, NULL, &cfg);
    g_autofree char *svc =
        chain_text(u, KP_TABLE_NAT, "KUBE-SVC-XPGD46QRK7WJZT7O");
    assert_non_null(strstr(svc, "--dport 80 -j KUBE-MARK-MASQ\n"));
    g_autofree char *mm = chain_text(u, KP_TABLE_NAT, "KUBE-MARK-MASQ");
    assert_string_equal(mm, "-A KUBE-MARK-MASQ -j MARK --or-mark 0x8000\n");
    kube_proxy_config_clear(&cfg);
}

/* proxier_test.go TestSyncProxyRulesLargeClusterMode: comments vanish from
 * SEP rules above 1000 endpoints (K-19). */
static void test_large_cluster(void **state)
{
    (void)state;
    const guint half = 1000 / 2 - 1;
    g_autoptr(GPtrArray) ips = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) e1 = g_array_new(FALSE, TRUE, sizeof(EndpointAddr));
    g_autoptr(GArray) e2 = g_array_new(FALSE, TRUE, sizeof(EndpointAddr));
    for (guint i = 0; i < half; i++) {
        char *a = g_strdup_printf("10.0.%u.%u", i % 256, i / 256);
        char *b = g_strdup_printf("10.1.%u.%u", i % 256, i / 256);
        g_ptr_array_add(ips, a);
        g_ptr_array_add(ips, b);
        EndpointAddr x = ep(a, 80, NULL);
        EndpointAddr y = ep(b, 8080, NULL);
        g_array_append_val(e1, x);
        g_array_append_val(e2, y);
    }
    EndpointAddr e3[3] = { ep("203.0.113.4", 8081, NULL),
                           ep("203.0.113.8", 8081, NULL),
                           ep("203.0.113.12", 8081, NULL) };
    KpServicePortIn in[3] = {
        svc_port("ns1", "svc1", "p80", "172.30.0.41", 80),
        svc_port("ns2", "svc2", "p8080", "172.30.0.42", 8080),
        svc_port("ns3", "svc3", "p8081", "172.30.0.43", 8081),
    };
    in[0].endpoints = (EndpointAddr *)e1->data;
    in[0].n_endpoints = e1->len;
    in[1].endpoints = (EndpointAddr *)e2->data;
    in[1].n_endpoints = e2->len;
    in[2].endpoints = e3;
    in[2].n_endpoints = 0;
    g_autoptr(KubeProxyTable) small = compile(in, 3, TRUE);
    g_autofree char *s1 =
        chain_text(small, KP_TABLE_NAT, "KUBE-SEP-DKGQUZGBKLTPAR56");
    assert_non_null(strstr(s1,
                           "-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment "
                           "ns1/svc1:p80 -m tcp -p tcp -j DNAT "
                           "--to-destination 10.0.0.0:80\n"));
    in[2].n_endpoints = 3;
    g_autoptr(KubeProxyTable) large = compile(in, 3, TRUE);
    g_autofree char *s2 =
        chain_text(large, KP_TABLE_NAT, "KUBE-SEP-DKGQUZGBKLTPAR56");
    assert_non_null(strstr(s2, "-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j "
                               "DNAT --to-destination 10.0.0.0:80\n"));
    g_autofree char *s3 =
        chain_text(large, KP_TABLE_NAT, "KUBE-SEP-RUVVH7YV3PHQBDOS");
    assert_non_null(strstr(s3, "-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j "
                               "DNAT --to-destination 203.0.113.4:8081\n"));
}

/* Endpoints are sorted byte-wise by the string "ip:port" (byEndpoint, Go
 * string order): "10.0.1.10:80" < "10.0.1.1:80" < "10.0.1.2:80" because
 * '0' < ':'. A duplicate keeps the non-terminating copy. */
static void test_endpoint_order(void **state)
{
    (void)state;
    EndpointAddr e[4] = {
        ep("10.0.1.2", 80, NULL),
        ep("10.0.1.10", 80, NULL),
        ep_cond("10.0.1.2", 80, NULL, FALSE, TRUE, TRUE), /* duplicate */
        ep("10.0.1.1", 80, NULL),
    };
    KpServicePortIn in = svc_port("ns1", "svc1", NULL, "172.30.1.1", 80);
    in.endpoints = e;
    in.n_endpoints = 4;
    g_autoptr(KubeProxyTable) t = compile(&in, 1, TRUE);
    g_autofree char *s =
        chain_text(t, KP_TABLE_NAT, "KUBE-SVC-AQI2S6QIMU7PVVRP");
    const char *a = strstr(s, "-> 10.0.1.10:80\" -m statistic --mode random "
                              "--probability 0.3333333333");
    const char *b = strstr(s, "-> 10.0.1.1:80\" -m statistic --mode random "
                              "--probability 0.5000000000");
    const char *c = strstr(s, "-> 10.0.1.2:80\" -j");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
}

static void test_save_hooks(void **state)
{
    (void)state;
    Overall o;
    overall_init(&o);
    g_autoptr(KubeProxyTable) t = compile(o.in, 6, TRUE);
    g_autofree char *s = kube_proxy_save_full(t, KP_SAVE_HOOKS);
    assert_non_null(strstr(s, ":PREROUTING ACCEPT [0:0]\n"));
    assert_non_null(strstr(s, "-A PREROUTING -m comment --comment \"kubernetes "
                              "service portals\" -j KUBE-SERVICES\n"));
    assert_non_null(
        strstr(s, "-A INPUT -j KUBE-FIREWALL\n-A INPUT -m conntrack "
                  "--ctstate NEW -m comment --comment \"kubernetes "
                  "load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"));
    assert_non_null(strstr(s,
                           "-A POSTROUTING -m comment --comment \"kubernetes "
                           "postrouting rules\" -j KUBE-POSTROUTING\n"));
}

/* ---- walks --------------------------------------------------------------- */

static KpResult walk(const KubeProxyTable *t,
                     KubeProxyState *st,
                     Rng *rng,
                     const char *src,
                     const char *dst,
                     gint port,
                     gboolean src_local,
                     SimTime now)
{
    KpPacket p = { src, dst, port, "tcp", src_local, 0, 0 };
    KpResult r;
    kube_proxy_walk(t, st, &p, rng, now, &r, NULL, NULL);
    return r;
}

/* K-7/K-8: 100,000 new connections to a 3-endpoint Service split evenly.
 * Pearson chi-square with 2 degrees of freedom; 13.816 is the 0.999
 * quantile, so a correct split fails this with probability 0.001 (the seed
 * is fixed: the run is deterministic). */
static void test_walk_chi_square(void **state)
{
    (void)state;
    g_autoptr(KubeProxyTable) t = itp_table(K8S_POLICY_CLUSTER, TRUE);
    Rng rng;
    rng_init(&rng, 42, 54);
    const char *eps[3] = { "10.0.1.1", "10.0.1.2", "10.0.1.3" };
    guint count[3] = { 0, 0, 0 };
    const guint n = 100000;
    for (guint i = 0; i < n; i++) {
        KpResult r =
            walk(t, NULL, &rng, "10.0.0.2", "172.30.1.1", 80, FALSE, 0);
        assert_int_equal(r.verdict, KP_DNAT);
        assert_false(r.masquerade);
        gboolean found = FALSE;
        for (guint k = 0; k < 3; k++) {
            if (strcmp(r.dnat_ip, eps[k]) == 0) {
                count[k]++;
                found = TRUE;
            }
        }
        assert_true(found);
    }
    double chi2 = 0;
    for (guint k = 0; k < 3; k++) {
        double d = count[k] - n / 3.0;
        chi2 += d * d / (n / 3.0);
    }
    print_message("chi2 = %.3f (counts %u %u %u)\n", chi2, count[0], count[1],
                  count[2]);
    if (!(chi2 < 13.816)) {
        fail_msg("chi2 = %f (counts %u %u %u)", chi2, count[0], count[1],
                 count[2]);
    }
}

/* K-15 / proxier_test.go TestNoEndpointsReject: every way in is refused. */
static void test_walk_no_endpoints(void **state)
{
    (void)state;
    static const char *const ext[] = { "192.168.99.11", NULL };
    static const char *const lb[] = { "1.2.3.4", NULL };
    KpServicePortIn in = svc_port("ns1", "svc1", "p80", "172.30.0.41", 80);
    in.type = K8S_SVC_LOAD_BALANCER;
    in.external_ips = ext;
    in.lb_ips = lb;
    in.node_port = 3001;
    g_autoptr(KubeProxyTable) t = compile(&in, 1, TRUE);
    Rng rng;
    rng_init(&rng, 1, 1);
    static const struct {
        const char *src, *dst;
        gint port;
    } cases[] = {
        { "10.0.0.2", "172.30.0.41", 80 },
        { EXTERNAL_CLIENT, "192.168.99.11", 80 },
        { "10.0.0.2", NODE_IP, 3001 },
        { EXTERNAL_CLIENT, NODE_IP, 3001 },
        { "10.0.0.2", "1.2.3.4", 80 },
        { EXTERNAL_CLIENT, "1.2.3.4", 80 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        KpResult r = walk(t, NULL, &rng, cases[i].src, cases[i].dst,
                          cases[i].port, FALSE, 0);
        assert_int_equal(r.verdict, KP_REJECT);
        assert_string_equal(r.rule_comment, "ns1/svc1:p80 has no endpoints");
        assert_string_equal(r.svc_port_name, "ns1/svc1:p80");
    }
    /* A node-originated connection goes through filter OUTPUT. */
    KpResult r = walk(t, NULL, &rng, NODE_IP, "172.30.0.41", 80, TRUE, 0);
    assert_int_equal(r.verdict, KP_REJECT);
}

/* K-13: eTP Local without local endpoints drops external traffic (the
 * client times out) but pods still reach the Service (short-circuit). */
static void test_walk_etp_local_drop(void **state)
{
    (void)state;
    Overall o;
    overall_init(&o);
    g_autoptr(KubeProxyTable) t = compile(o.in, 6, TRUE);
    Rng rng;
    rng_init(&rng, 7, 7);
    KpResult r = walk(t, NULL, &rng, EXTERNAL_CLIENT, NODE_IP, 3001, FALSE, 0);
    assert_int_equal(r.verdict, KP_DROP);
    assert_string_equal(r.rule_comment, "ns2/svc2:p80 has no local endpoints");
    r = walk(t, NULL, &rng, EXTERNAL_CLIENT, "1.2.3.4", 80, FALSE, 0);
    assert_int_equal(r.verdict, KP_DROP);
    r = walk(t, NULL, &rng, EXTERNAL_CLIENT, "192.168.99.22", 80, FALSE, 0);
    assert_int_equal(r.verdict, KP_DROP);
    r = walk(t, NULL, &rng, "10.0.0.2", NODE_IP, 3001, FALSE, 0);
    assert_int_equal(r.verdict, KP_DNAT);
    assert_string_equal(r.dnat_ip, "10.180.0.2");
    assert_false(r.masquerade);
    /* The node itself is masqueraded and routed to the Cluster chain. */
    r = walk(t, NULL, &rng, NODE_IP, NODE_IP, 3001, TRUE, 0);
    assert_int_equal(r.verdict, KP_DNAT);
    assert_true(r.masquerade);
    /* The health check port is accepted on the node (K-18). */
    r = walk(t, NULL, &rng, EXTERNAL_CLIENT, NODE_IP, 30000, FALSE, 0);
    assert_int_equal(r.verdict, KP_ACCEPT_LOCAL);
    /* An unknown port on the node: nothing matches, the host answers. */
    r = walk(t, NULL, &rng, EXTERNAL_CLIENT, NODE_IP, 31999, FALSE, 0);
    assert_int_equal(r.verdict, KP_ACCEPT_LOCAL);
    assert_null(r.rule_comment);
    /* LoadBalancerSourceRanges: blocked client, allowed client. */
    r = walk(t, NULL, &rng, "203.0.113.130", "5.6.7.8", 80, FALSE, 0);
    assert_int_equal(r.verdict, KP_DROP);
    assert_string_equal(r.rule_comment, "ns5/svc5:p80 traffic not accepted by "
                                        "KUBE-FW-NUKIZ6OKUXPJNT4C");
    r = walk(t, NULL, &rng, EXTERNAL_CLIENT, "5.6.7.8", 80, FALSE, 0);
    assert_int_equal(r.verdict, KP_DNAT);
    assert_true(r.masquerade);
}

/* K-12 vs K-13: Cluster policy masquerades external NodePort traffic; Local
 * keeps the client address and only uses the local endpoint. */
static void test_walk_policy_masquerade(void **state)
{
    (void)state;
    Overall o;
    overall_init(&o);
    g_autoptr(KubeProxyTable) t = compile(o.in, 6, TRUE);
    Rng rng;
    rng_init(&rng, 3, 3);
    KpResult r = walk(t, NULL, &rng, EXTERNAL_CLIENT, NODE_IP, 3003, FALSE, 0);
    assert_int_equal(r.verdict, KP_DNAT);
    assert_string_equal(r.dnat_ip, "10.180.0.3");
    assert_int_equal(r.dnat_port, 80);
    assert_true(r.masquerade);
    assert_string_equal(r.rule_comment, "ns3/svc3:p80");
    assert_string_equal(r.endpoint_chain, "KUBE-SEP-OYPFS5VJICHGATKP");

    g_autoptr(KubeProxyTable) l = etp_local_table(TRUE);
    for (guint i = 0; i < 200; i++) {
        r = walk(l, NULL, &rng, EXTERNAL_CLIENT, NODE_IP, 3001, FALSE, 0);
        assert_int_equal(r.verdict, KP_DNAT);
        assert_string_equal(r.dnat_ip, "10.180.2.1");
        assert_false(r.masquerade);
    }
    /* localhost NodePorts (nfacct copy of the rule) are masqueraded. */
    r = walk(l, NULL, &rng, "127.0.0.1", "127.0.0.1", 3001, TRUE, 0);
    assert_int_equal(r.verdict, KP_DNAT);
    assert_true(r.masquerade);
}

/* proxier_test.go TestClusterIPGeneral: hairpin masquerade and ports. */
static void test_walk_cluster_ip(void **state)
{
    (void)state;
    EndpointAddr e = ep("10.180.0.1", 80, NODE);
    KpServicePortIn in = svc_port("ns1", "svc1", "http", "172.30.0.41", 80);
    in.endpoints = &e;
    in.n_endpoints = 1;
    g_autoptr(KubeProxyTable) t = compile(&in, 1, TRUE);
    Rng rng;
    rng_init(&rng, 5, 5);
    KpResult r = walk(t, NULL, &rng, "10.180.0.2", "172.30.0.41", 80, FALSE, 0);
    assert_int_equal(r.verdict, KP_DNAT);
    assert_false(r.masquerade);
    r = walk(t, NULL, &rng, "10.180.0.1", "172.30.0.41", 80, FALSE, 0);
    assert_int_equal(r.verdict, KP_DNAT);
    assert_true(r.masquerade); /* hairpin (K-9) */
    r = walk(t, NULL, &rng, "10.180.0.2", "172.30.0.41", 443, FALSE, 0);
    assert_int_equal(r.verdict, KP_FORWARD);
    KpPacket udp = { "10.180.0.2", "172.30.0.41", 80, "udp", FALSE, 0, 0 };
    kube_proxy_walk(t, NULL, &udp, &rng, 0, &r, NULL, NULL);
    assert_int_equal(r.verdict, KP_FORWARD);
    /* Off-cluster source to the cluster IP is masqueraded (K-6). */
    r = walk(t, NULL, &rng, EXTERNAL_CLIENT, "172.30.0.41", 80, FALSE, 0);
    assert_true(r.masquerade);
}

/* proxier_test.go TestInternalExternalMasquerade, case "base": the same
 * flows, each walked until every allowed endpoint was seen. */
typedef struct {
    const char *name;   /* proxier_test.go flow name */
    const char *src;    /* source */
    const char *dst;    /* destination */
    gint port;          /* destination port */
    const char *output; /* allowed endpoints, ", "-separated */
    gboolean masq;      /* masqueraded */
} Flow;

static void test_walk_internal_external_masquerade(void **state)
{
    (void)state;
    static const char *const lb1[] = { "1.2.3.4", NULL };
    static const char *const lb2[] = { "5.6.7.8", NULL };
    static const char *const lb3[] = { "9.10.11.12", NULL };
    EndpointAddr e[6] = {
        ep("10.180.0.1", 80, NODE), ep("10.180.1.1", 80, "remote"),
        ep("10.180.0.2", 80, NODE), ep("10.180.1.2", 80, "remote"),
        ep("10.180.0.3", 80, NODE), ep("10.180.1.3", 80, "remote"),
    };
    KpServicePortIn in[3] = {
        svc_port("ns1", "svc1", "p80", "172.30.0.41", 80),
        svc_port("ns2", "svc2", "p80", "172.30.0.42", 80),
        svc_port("ns3", "svc3", "p80", "172.30.0.43", 80),
    };
    const char *const *lbs[3] = { lb1, lb2, lb3 };
    for (guint i = 0; i < 3; i++) {
        in[i].type = K8S_SVC_LOAD_BALANCER;
        in[i].node_port = 3001 + (gint)i;
        in[i].health_check_node_port = 30001 + (gint)i;
        in[i].lb_ips = lbs[i];
        in[i].endpoints = &e[2 * i];
        in[i].n_endpoints = 2;
    }
    in[1].external_policy = K8S_POLICY_LOCAL;
    in[2].internal_policy = K8S_POLICY_LOCAL;
    g_autoptr(KubeProxyTable) t = compile(in, 3, TRUE);
    const char *a1 = "10.180.0.1:80, 10.180.1.1:80";
    const char *a2 = "10.180.0.2:80, 10.180.1.2:80";
    const char *a3 = "10.180.0.3:80, 10.180.1.3:80";
    const Flow flows[] = {
        { "pod to ClusterIP", "10.0.0.2", "172.30.0.41", 80, a1, FALSE },
        { "pod to NodePort", "10.0.0.2", NODE_IP, 3001, a1, TRUE },
        { "pod to LB", "10.0.0.2", "1.2.3.4", 80, a1, TRUE },
        { "node to ClusterIP", NODE_IP, "172.30.0.41", 80, a1, TRUE },
        { "node to NodePort", NODE_IP, NODE_IP, 3001, a1, TRUE },
        { "localhost to NodePort", "127.0.0.1", "127.0.0.1", 3001, a1, TRUE },
        { "node to LB", NODE_IP, "1.2.3.4", 80, a1, TRUE },
        { "external to ClusterIP", EXTERNAL_CLIENT, "172.30.0.41", 80, a1,
          TRUE },
        { "external to NodePort", EXTERNAL_CLIENT, NODE_IP, 3001, a1, TRUE },
        { "external to LB", EXTERNAL_CLIENT, "1.2.3.4", 80, a1, TRUE },
        { "pod to ClusterIP with eTP:Local", "10.0.0.2", "172.30.0.42", 80, a2,
          FALSE },
        { "pod to NodePort with eTP:Local", "10.0.0.2", NODE_IP, 3002, a2,
          FALSE },
        { "pod to LB with eTP:Local", "10.0.0.2", "5.6.7.8", 80, a2, FALSE },
        { "node to ClusterIP with eTP:Local", NODE_IP, "172.30.0.42", 80, a2,
          TRUE },
        { "node to NodePort with eTP:Local", NODE_IP, NODE_IP, 3001, a1, TRUE },
        { "localhost to NodePort with eTP:Local", "127.0.0.1", "127.0.0.1",
          3002, a2, TRUE },
        { "node to LB with eTP:Local", NODE_IP, "5.6.7.8", 80, a2, TRUE },
        { "external to ClusterIP with eTP:Local", EXTERNAL_CLIENT,
          "172.30.0.42", 80, a2, TRUE },
        { "external to NodePort with eTP:Local", EXTERNAL_CLIENT, NODE_IP, 3002,
          "10.180.0.2:80", FALSE },
        { "external to LB with eTP:Local", EXTERNAL_CLIENT, "5.6.7.8", 80,
          "10.180.0.2:80", FALSE },
        { "pod to ClusterIP with iTP:Local", "10.0.0.2", "172.30.0.43", 80,
          "10.180.0.3:80", FALSE },
        { "pod to NodePort with iTP:Local", "10.0.0.2", NODE_IP, 3003, a3,
          TRUE },
        { "pod to LB with iTP:Local", "10.0.0.2", "9.10.11.12", 80, a3, TRUE },
        { "node to ClusterIP with iTP:Local", NODE_IP, "172.30.0.43", 80,
          "10.180.0.3:80", TRUE },
        { "node to NodePort with iTP:Local", NODE_IP, NODE_IP, 3003, a3, TRUE },
        { "localhost to NodePort with iTP:Local", "127.0.0.1", "127.0.0.1",
          3003, a3, TRUE },
        { "node to LB with iTP:Local", NODE_IP, "9.10.11.12", 80, a3, TRUE },
        { "external to ClusterIP with iTP:Local", EXTERNAL_CLIENT,
          "172.30.0.43", 80, "10.180.0.3:80", TRUE },
        { "external to NodePort with iTP:Local", EXTERNAL_CLIENT, NODE_IP, 3003,
          a3, TRUE },
        { "external to LB with iTP:Local", EXTERNAL_CLIENT, "9.10.11.12", 80,
          a3, TRUE },
    };
    Rng rng;
    rng_init(&rng, 11, 11);
    for (guint i = 0; i < G_N_ELEMENTS(flows); i++) {
        const Flow *f = &flows[i];
        g_auto(GStrv) allowed = g_strsplit(f->output, ", ", -1);
        guint n = g_strv_length(allowed);
        g_autofree gboolean *seen = g_new0(gboolean, n);
        gboolean local =
            strcmp(f->src, NODE_IP) == 0 || strcmp(f->src, "127.0.0.1") == 0;
        for (guint k = 0; k < 64; k++) {
            KpResult r = walk(t, NULL, &rng, f->src, f->dst, f->port, local, 0);
            g_autofree char *got =
                g_strdup_printf("%s:%d", r.dnat_ip, r.dnat_port);
            if (r.verdict != KP_DNAT || r.masquerade != f->masq) {
                fail_msg("%s: verdict %s masq %d", f->name,
                         kube_proxy_verdict_name(r.verdict), r.masquerade);
            }
            gboolean ok = FALSE;
            for (guint j = 0; j < n; j++) {
                if (strcmp(allowed[j], got) == 0) {
                    seen[j] = ok = TRUE;
                }
            }
            if (!ok) {
                fail_msg("%s: got %s, allowed %s", f->name, got, f->output);
            }
        }
        for (guint j = 0; j < n; j++) {
            if (!seen[j]) {
                fail_msg("%s: never reached %s", f->name, allowed[j]);
            }
        }
    }
}

/* K-10: ClientIP affinity pins a source to its endpoint while new
 * connections keep coming within timeoutSeconds of the last one; the
 * timeout is strict (xt_recent time_after()). No random draw is made while
 * pinned. */
static void test_walk_affinity(void **state)
{
    (void)state;
    const EndpointAddr e[] = {
        ep("10.0.1.1", 80, NODE),
        ep("10.0.1.2", 80, NODE),
        ep("10.0.1.5", 80, "another-host"),
    };
    g_autoptr(KubeProxyTable) t = term_table(K8S_POLICY_CLUSTER, e, 3);
    g_autoptr(KubeProxyState) st = kube_proxy_state_new();
    Rng rng;
    rng_init(&rng, 99, 1);
    SimTime now = 5 * SIM_S;
    KpResult first =
        walk(t, st, &rng, EXTERNAL_CLIENT, "1.2.3.4", 80, FALSE, now);
    assert_int_equal(first.verdict, KP_DNAT);
    assert_int_equal(kube_proxy_state_count(st, first.endpoint_chain), 1);
    for (guint i = 0; i < 20; i++) {
        now += 1000 * SIM_S; /* well inside 10800 s */
        Rng before = rng;
        KpResult r =
            walk(t, st, &rng, EXTERNAL_CLIENT, "1.2.3.4", 80, FALSE, now);
        assert_string_equal(r.dnat_ip, first.dnat_ip);
        assert_memory_equal(&before, &rng, sizeof rng); /* no draw */
    }
    /* Through the cluster IP the same list applies (same SEP chains). */
    KpResult c =
        walk(t, st, &rng, EXTERNAL_CLIENT, "172.30.1.1", 80, FALSE, now);
    assert_string_equal(c.dnat_ip, first.dnat_ip);
    /* One nanosecond before expiry: still pinned. */
    Rng before = rng;
    KpResult r = walk(t, st, &rng, EXTERNAL_CLIENT, "1.2.3.4", 80, FALSE,
                      now + 10800 * SIM_S - 1);
    assert_string_equal(r.dnat_ip, first.dnat_ip);
    assert_memory_equal(&before, &rng, sizeof rng);
    now = now + 10800 * SIM_S - 1;
    /* At exactly 10800 s after the last --set the entry has expired: the
     * statistic rules draw again. */
    before = rng;
    r = walk(t, st, &rng, EXTERNAL_CLIENT, "1.2.3.4", 80, FALSE,
             now + 10800 * SIM_S);
    assert_int_equal(r.verdict, KP_DNAT);
    assert_memory_not_equal(&before, &rng, sizeof rng);
    /* Without state nothing is remembered: every connection draws. */
    before = rng;
    r = walk(t, NULL, &rng, EXTERNAL_CLIENT, "1.2.3.4", 80, FALSE, now);
    assert_memory_not_equal(&before, &rng, sizeof rng);
    /* Different clients spread over the endpoints. */
    g_autoptr(GHashTable) dests =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < 60; i++) {
        g_autofree char *src = g_strdup_printf("203.0.113.%u", 10 + i);
        r = walk(t, st, &rng, src, "1.2.3.4", 80, FALSE, now);
        g_hash_table_add(dests, g_strdup(r.dnat_ip));
    }
    assert_int_equal(g_hash_table_size(dests), 3);
}

/* The walk memo (kube_proxy_walk() with a state and no trace) answers
 * exactly what the full walk answers and draws exactly what it draws:
 * two walkers in lock step on the six Services of the overall test (one
 * with ClientIP affinity, whose walks must never be memoized), one
 * remembering, one traced (a traced walk is always walked in full), over
 * many packets that repeat; then again after the table changes under the
 * same state. */
static void assert_same_result(const KpResult *a, const KpResult *b)
{
    assert_int_equal(a->verdict, b->verdict);
    assert_string_equal(a->dnat_ip, b->dnat_ip);
    assert_int_equal(a->dnat_addr, b->dnat_addr);
    assert_int_equal(a->dnat_port, b->dnat_port);
    assert_int_equal(a->masquerade, b->masquerade);
    assert_ptr_equal(a->rule_comment, b->rule_comment);
    assert_ptr_equal(a->endpoint_chain, b->endpoint_chain);
    assert_ptr_equal(a->svc_port_name, b->svc_port_name);
}

static void lockstep(const KubeProxyTable *t, KubeProxyState *mem,
                     KubeProxyState *full, Rng *ra, Rng *rb, guint rounds)
{
    /* Sources in different classes (kube-proxy-walk.c KP_SRC_TESTS):
     * in the pod range or not, an endpoint itself (hairpin -s tests), the
     * node (src-type LOCAL), and two outside addresses in one class. */
    static const char *const srcs[] = { "10.0.0.2",     EXTERNAL_CLIENT,
                                        "198.51.100.7", "10.180.0.9",
                                        "10.180.0.3",   NODE_IP,
                                        "198.51.100.8" };
    static const struct {
        const char *ip;
        gint port;
    } dsts[] = {
        { "172.30.0.41", 80 }, { "172.30.0.42", 80 }, { "172.30.0.44", 80 },
        { "172.30.0.45", 80 }, { "1.2.3.4", 80 },     { "5.6.7.8", 80 },
        { "192.168.99.33", 80 }, { NODE_IP, 3001 },   { NODE_IP, 3002 },
        { NODE_IP, 3003 },     { NODE_IP, 9999 },     { "10.9.9.9", 80 },
    };
    for (guint i = 0; i < rounds; i++) {
        const char *src = srcs[i % G_N_ELEMENTS(srcs)];
        guint d = (i * 7 + i / 5) % G_N_ELEMENTS(dsts);
        gboolean local = i % 11 == 3;
        SimTime now = (SimTime)i * 50 * SIM_S;
        KpPacket p = { src, dsts[d].ip, dsts[d].port, "tcp", local, 0, 0 };
        if (i % 3 == 1) { /* the path's way: addresses already parsed */
            assert_true(kube_proxy__parse_ipv4(src, &p.src_addr, NULL));
            assert_true(kube_proxy__parse_ipv4(p.dst_ip, &p.dst_addr, NULL));
        }
        KpResult a, b;
        kube_proxy_walk(t, mem, &p, ra, now, &a, NULL, NULL);
        g_autoptr(Trace) tr = trace_new();
        kube_proxy_walk(t, full, &p, rb, now, &b, tr, NULL);
        assert_same_result(&a, &b);
        assert_memory_equal(ra, rb, sizeof *ra);
    }
}

static void test_walk_memo_is_the_walk(void **state)
{
    (void)state;
    Overall o;
    overall_init(&o);
    g_autoptr(KubeProxyTable) t = compile(o.in, 6, TRUE);
    g_autoptr(KubeProxyState) mem = kube_proxy_state_new();
    g_autoptr(KubeProxyState) full = kube_proxy_state_new();
    Rng ra, rb;
    rng_init(&ra, 7, 3);
    rng_init(&rb, 7, 3);
    lockstep(t, mem, full, &ra, &rb, 3000);
    /* A new table (svc4 loses an endpoint) under the same states. */
    o.in[3].n_endpoints = 1;
    g_autoptr(KubeProxyTable) t2 = compile(o.in, 6, TRUE);
    kube_proxy_state_prune(mem, t2);
    kube_proxy_state_prune(full, t2);
    lockstep(t2, mem, full, &ra, &rb, 3000);
    /* And the three-endpoint Service, where every walk draws. */
    g_autoptr(KubeProxyTable) t3 = itp_table(K8S_POLICY_CLUSTER, TRUE);
    for (guint i = 0; i < 3000; i++) {
        KpPacket p = { "10.0.0.2", "172.30.1.1", 80, "tcp", FALSE, 0, 0 };
        KpResult a, b;
        kube_proxy_walk(t3, mem, &p, &ra, 0, &a, NULL, NULL);
        g_autoptr(Trace) tr = trace_new();
        kube_proxy_walk(t3, full, &p, &rb, 0, &b, tr, NULL);
        assert_same_result(&a, &b);
        assert_memory_equal(&ra, &rb, sizeof ra);
    }
}

/* More packets than the memo keeps (KP_MEMO_FLOWS, 16384): it starts
 * over when a new one would not fit, and answers and draws as the walk
 * all along (a walk without a state is never memoized; no Service here
 * has affinity, so it needs none), also for packets it remembered before
 * it started over. */
static void test_walk_memo_starts_over_when_full(void **state)
{
    (void)state;
    g_autoptr(KubeProxyTable) t = itp_table(K8S_POLICY_CLUSTER, TRUE);
    g_autoptr(KubeProxyState) mem = kube_proxy_state_new();
    Rng ra, rb;
    rng_init(&ra, 11, 5);
    rng_init(&rb, 11, 5);
    guint32 src = 0, svc = 0;
    assert_true(kube_proxy__parse_ipv4("10.0.0.2", &src, NULL));
    assert_true(kube_proxy__parse_ipv4("172.30.1.1", &svc, NULL));
    for (guint i = 0; i < 40000; i++) {
        /* Every fourth packet to the Service (three endpoints: draws),
         * the others to 20,000 addresses nobody serves, each its own
         * memo. */
        guint32 dst = i % 4 == 0 ? svc : 0x0b000000u + (i * 7919u) % 20000u;
        KpPacket p = { "", "", 80, "tcp", FALSE, src, dst };
        KpResult a, b;
        kube_proxy_walk(t, mem, &p, &ra, 0, &a, NULL, NULL);
        kube_proxy_walk(t, NULL, &p, &rb, 0, &b, NULL, NULL);
        assert_same_result(&a, &b);
        assert_memory_equal(&ra, &rb, sizeof ra);
    }
}

/* xt_recent keeps at most 100 addresses per list and forgets the least
 * recently set; prune drops lists no rule names any more. */
static void test_recent_limits(void **state)
{
    (void)state;
    EndpointAddr e = ep("10.0.1.1", 80, NULL);
    KpServicePortIn in = svc_port("ns1", "svc1", NULL, "172.30.1.1", 80);
    in.affinity_client_ip = TRUE;
    in.affinity_timeout = 60;
    in.endpoints = &e;
    in.n_endpoints = 1;
    g_autoptr(KubeProxyTable) t = compile(&in, 1, TRUE);
    g_autoptr(KubeProxyState) st = kube_proxy_state_new();
    Rng rng;
    rng_init(&rng, 1, 2);
    const char *list = "KUBE-SEP-3JOIVZTXZZRGORX4";
    for (guint i = 0; i < 150; i++) {
        g_autofree char *src = g_strdup_printf("10.1.%u.%u", i / 200, i % 200);
        KpResult r =
            walk(t, st, &rng, src, "172.30.1.1", 80, FALSE, i * SIM_MS);
        assert_string_equal(r.endpoint_chain, list);
    }
    assert_int_equal(kube_proxy_state_count(st, list), 100);
    /* A table without affinity names no list: prune empties the state. */
    in.affinity_client_ip = FALSE;
    g_autoptr(KubeProxyTable) u = compile(&in, 1, TRUE);
    kube_proxy_state_prune(st, t);
    assert_int_equal(kube_proxy_state_count(st, list), 100);
    kube_proxy_state_prune(st, u);
    assert_int_equal(kube_proxy_state_count(st, list), 0);
}

/* K-18 and proxier_test.go TestHealthCheckNodePortWhenTerminating. */
static void test_health_check(void **state)
{
    (void)state;
    Overall o;
    overall_init(&o);
    g_autoptr(KubeProxyTable) t = compile(o.in, 6, TRUE);
    gint n = -1;
    assert_int_equal(kube_proxy_health_check(t, 30000, &n), 503);
    assert_int_equal(n, 0);
    assert_int_equal(kube_proxy_health_check(t, 30001, &n), 0);

    g_autoptr(KubeProxyTable) l = etp_local_table(TRUE);
    assert_int_equal(kube_proxy_health_check(l, 30000, &n), 200);
    assert_int_equal(n, 1);

    const EndpointAddr ready[] = {
        ep_cond("10.0.1.1", 80, NODE, TRUE, TRUE, FALSE),
        ep_cond("10.0.1.2", 80, NODE, TRUE, TRUE, FALSE),
        ep_cond("10.0.1.3", 80, NODE, TRUE, TRUE, FALSE),
        ep_cond("10.0.1.4", 80, NODE, FALSE, FALSE, FALSE),
    };
    g_autoptr(KubeProxyTable) a = term_table(K8S_POLICY_LOCAL, ready, 4);
    assert_int_equal(kube_proxy_health_check(a, 30000, &n), 200);
    assert_int_equal(n, 3);
    const EndpointAddr term[] = {
        ep_cond("10.0.1.1", 80, NODE, FALSE, TRUE, FALSE),
        ep_cond("10.0.1.2", 80, NODE, FALSE, TRUE, TRUE),
        ep_cond("10.0.1.3", 80, NODE, FALSE, TRUE, TRUE),
        ep_cond("10.0.1.4", 80, NODE, FALSE, FALSE, TRUE),
    };
    g_autoptr(KubeProxyTable) b = term_table(K8S_POLICY_LOCAL, term, 4);
    assert_int_equal(kube_proxy_health_check(b, 30000, &n), 503);
    assert_int_equal(n, 0);
    /* ... while traffic still reaches the serving terminating ones. */
    Rng rng;
    rng_init(&rng, 4, 4);
    KpResult r = walk(b, NULL, &rng, EXTERNAL_CLIENT, "1.2.3.4", 80, FALSE, 0);
    assert_int_equal(r.verdict, KP_DNAT);
    assert_true(strcmp(r.dnat_ip, "10.0.1.2") == 0 ||
                strcmp(r.dnat_ip, "10.0.1.3") == 0);
}

/* The dispatch index lands on exactly the rules a linear scan would: two
 * copies of a 300-Service table, one stripped of its indexes, walk the same
 * packets with the same random streams to the same results. */
static void test_index_matches_linear(void **state)
{
    (void)state;
    const guint nsvc = 300;
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) in = g_array_new(FALSE, TRUE, sizeof(KpServicePortIn));
    EndpointAddr *eps = g_new0(EndpointAddr, nsvc * 2);
    g_ptr_array_add(keep, eps);
    for (guint i = 0; i < nsvc; i++) {
        char *ns = g_strdup_printf("ns%u", i % 7);
        char *name = g_strdup_printf("svc%u", i);
        char *cip = g_strdup_printf("172.30.%u.%u", i / 200, i % 200 + 1);
        char *e1 = g_strdup_printf("10.%u.0.1", i % 250);
        char *e2 = g_strdup_printf("10.%u.1.1", i % 250);
        g_ptr_array_add(keep, ns);
        g_ptr_array_add(keep, name);
        g_ptr_array_add(keep, cip);
        g_ptr_array_add(keep, e1);
        g_ptr_array_add(keep, e2);
        eps[2 * i] = ep(e1, 8080, i % 3 == 0 ? NODE : "other");
        eps[2 * i + 1] = ep(e2, 8080, "other");
        KpServicePortIn p = svc_port(ns, name, "http", cip, 80 + (gint)(i % 3));
        p.type = i % 2 == 0 ? K8S_SVC_NODE_PORT : K8S_SVC_CLUSTER_IP;
        p.node_port = i % 2 == 0 ? 30000 + (gint)i : 0;
        p.external_policy = i % 4 == 0 ? K8S_POLICY_LOCAL : K8S_POLICY_CLUSTER;
        p.endpoints = &eps[2 * i];
        p.n_endpoints = i % 11 == 0 ? 0 : 2;
        g_array_append_val(in, p);
    }
    g_autoptr(KubeProxyTable) a =
        compile((KpServicePortIn *)in->data, in->len, TRUE);
    g_autoptr(KubeProxyTable) b =
        compile((KpServicePortIn *)in->data, in->len, TRUE);
    guint indexed = 0;
    for (guint i = 0; i < b->chains->len; i++) {
        KpChain *c = g_ptr_array_index(b->chains, i);
        if (c->index != NULL) {
            indexed++;
            g_hash_table_unref(c->index->by_dst_port);
            g_hash_table_unref(c->index->by_port);
            g_array_unref(c->index->any);
            g_clear_pointer(&c->index, g_free);
        }
    }
    assert_true(indexed >= 2);
    Rng ra;
    rng_init(&ra, 123, 4);
    Rng rb = ra;
    Rng pick;
    rng_init(&pick, 5, 6);
    for (guint k = 0; k < 4000; k++) {
        guint i = rng_below(&pick, nsvc);
        g_autofree char *dst = NULL;
        gint port;
        const char *src = rng_below(&pick, 2) ? EXTERNAL_CLIENT : "10.0.0.9";
        if (rng_below(&pick, 2)) {
            dst = g_strdup_printf("172.30.%u.%u", i / 200, i % 200 + 1);
            port = 80 + (gint)rng_below(&pick, 3);
        } else {
            dst = g_strdup(NODE_IP);
            port = 30000 + (gint)i;
        }
        KpResult x = walk(a, NULL, &ra, src, dst, port, FALSE, 0);
        KpResult y = walk(b, NULL, &rb, src, dst, port, FALSE, 0);
        assert_int_equal(x.verdict, y.verdict);
        assert_string_equal(x.dnat_ip, y.dnat_ip);
        assert_int_equal(x.masquerade, y.masquerade);
        assert_memory_equal(&ra, &rb, sizeof ra);
    }
}

/* The trace records every rule that matched, as iptables-save prints it. */
static void test_walk_trace(void **state)
{
    (void)state;
    g_autoptr(KubeProxyTable) t = etp_local_table(TRUE);
    g_autoptr(Trace) tr = trace_new();
    Rng rng;
    rng_init(&rng, 8, 8);
    KpPacket p = { EXTERNAL_CLIENT, NODE_IP, 3001, "tcp", FALSE, 0, 0 };
    KpResult r;
    kube_proxy_walk(t, NULL, &p, &rng, 7 * SIM_S, &r, tr, "node-a");
    assert_int_equal(r.verdict, KP_DNAT);
    gboolean saw_dnat = FALSE;
    for (guint i = 0; i < trace_len(tr); i++) {
        const TraceStep *s = trace_step(tr, i);
        assert_int_equal(s->step, 3);
        assert_string_equal(s->node, "node-a");
        assert_true(s->at == 7 * SIM_S);
        if (s->reason != NULL &&
            strcmp(s->reason,
                   "-A KUBE-SEP-ZX7GRIZKSNUQ3LAJ -m comment --comment "
                   "ns1/svc1:p80 -m tcp -p tcp -j DNAT "
                   "--to-destination 10.180.2.1:80") == 0) {
            saw_dnat = TRUE;
        }
    }
    assert_true(saw_dnat);
    assert_string_equal(trace_get(tr, "kube_proxy.verdict"), "DNAT");
    assert_string_equal(trace_get(tr, "kube_proxy.dnat"), "10.180.2.1:80");
}

/* K-20: bursts of two syncs, then one per minSyncPeriod (1 s); changes
 * while a sync is pending join it. */
static void test_sync_limiter(void **state)
{
    (void)state;
    KubeProxyConfig cfg;
    kube_proxy_config_init_default(&cfg);
    KubeProxySyncLimiter l;
    kube_proxy_sync_limiter_init(&l, &cfg);
    const SimTime t0 = 10 * SIM_S;
    assert_true(kube_proxy_sync_limiter_request(&l, &cfg, t0) == t0);
    const SimTime t1 = t0 + 100 * SIM_MS;
    assert_true(kube_proxy_sync_limiter_request(&l, &cfg, t1) == t1);
    /* Bucket empty: the third waits for last run + 1 s. */
    const SimTime t2 = t0 + 200 * SIM_MS;
    assert_true(kube_proxy_sync_limiter_request(&l, &cfg, t2) == t1 + SIM_S);
    /* A change before that run joins it. */
    assert_true(kube_proxy_sync_limiter_request(&l, &cfg, t0 + 900 * SIM_MS) ==
                t1 + SIM_S);
    /* After a quiet minute the burst is available again. */
    const SimTime q = t0 + 60 * SIM_S;
    assert_true(kube_proxy_sync_limiter_request(&l, &cfg, q) == q);
    assert_true(kube_proxy_sync_limiter_request(&l, &cfg, q + 1) == q + 1);
    assert_true(kube_proxy_sync_limiter_request(&l, &cfg, q + 2) ==
                q + 1 + SIM_S);
    kube_proxy_config_clear(&cfg);
}

/* ---- from a scenario ----------------------------------------------------- */

static const char scenario_yaml[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata: {name: web, namespace: shop}\n"
    "spec:\n"
    "  replicas: 3\n"
    "  selector: {matchLabels: {app: web}}\n"
    "  template:\n"
    "    metadata: {labels: {app: web}}\n"
    "    spec:\n"
    "      containers:\n"
    "      - name: web\n"
    "        image: nginx\n"
    "        ports: [{containerPort: 8080}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: web, namespace: shop}\n"
    "spec:\n"
    "  type: LoadBalancer\n"
    "  externalTrafficPolicy: Local\n"
    "  selector: {app: web}\n"
    "  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]\n"
    "status:\n"
    "  loadBalancer: {ingress: [{ip: 198.51.100.7}]}\n";

static void test_from_scenario(void **state)
{
    (void)state;
    g_autoptr(GError) err = NULL;
    g_autoptr(Scenario) sc =
        scenario_load_string("kp.yaml", scenario_yaml, &err);
    if (sc == NULL) {
        fail_msg("%s", err->message);
    }
    const Cluster *c = sc->cluster;
    g_autoptr(EndpointSet) es = endpoint_set_new(c, NULL);
    const K8sService *svc = cluster_find_service(c, "shop", "web");
    assert_non_null(svc);
    g_autofree char *svc_chain =
        kube_proxy_chain_name("KUBE-SVC-", "shop/web:http", "tcp", NULL);
    guint with_local = 0;
    for (guint i = 0; i < c->nodes->len; i++) {
        const K8sNode *node = g_ptr_array_index(c->nodes, i);
        g_autoptr(KubeProxyTable) t = kube_proxy_sync(c, es, node, NULL);
        g_autofree char *text = kube_proxy_save(t);
        assert_non_null(strstr(text,
                               "-A KUBE-NODEPORTS -m comment --comment "
                               "shop/web:http -m tcp -p tcp --dport 30080"));
        assert_non_null(strstr(text, "loadbalancer IP\" -m tcp -p tcp -d "
                                     "198.51.100.7 --dport 80"));
        g_autofree char *svcs = chain_text(t, KP_TABLE_NAT, svc_chain);
        assert_non_null(strstr(svcs, "--probability 0.3333333333"));
        gint local = 0;
        gint code =
            kube_proxy_health_check(t, svc->health_check_node_port, &local);
        Rng rng;
        rng_init(&rng, 1, i);
        KpResult r =
            walk(t, NULL, &rng, EXTERNAL_CLIENT, node->ip, 30080, FALSE, 0);
        if (local > 0) {
            with_local++;
            assert_int_equal(code, 200);
            assert_int_equal(r.verdict, KP_DNAT);
            assert_false(r.masquerade);
        } else {
            assert_int_equal(code, 503);
            assert_int_equal(r.verdict, KP_DROP);
        }
    }
    assert_true(with_local >= 1);
    /* The CLI glue: an unknown node is an error naming the nodes. */
    g_autoptr(GError) e2 = NULL;
    assert_int_equal(kube_proxy_cli_print(c, es, "no-such-node", &e2), 1);
    assert_true(
        g_error_matches(e2, KUBE_PROXY_ERROR, KUBE_PROXY_ERROR_UNKNOWN_NODE));
    const K8sNode *n0 = g_ptr_array_index(c->nodes, 0);
    assert_non_null(strstr(e2->message, n0->name));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_names),
        cmocka_unit_test(test_golden_overall),
        cmocka_unit_test(test_golden_one_endpoint),
        cmocka_unit_test(test_golden_three_endpoints),
        cmocka_unit_test(test_golden_itp_local),
        cmocka_unit_test(test_golden_etp_local),
        cmocka_unit_test(test_golden_terminating_local),
        cmocka_unit_test(test_golden_terminating_cluster),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_large_cluster),
        cmocka_unit_test(test_endpoint_order),
        cmocka_unit_test(test_save_hooks),
        cmocka_unit_test(test_walk_chi_square),
        cmocka_unit_test(test_walk_no_endpoints),
        cmocka_unit_test(test_walk_etp_local_drop),
        cmocka_unit_test(test_walk_policy_masquerade),
        cmocka_unit_test(test_walk_cluster_ip),
        cmocka_unit_test(test_walk_internal_external_masquerade),
        cmocka_unit_test(test_walk_affinity),
        cmocka_unit_test(test_walk_memo_is_the_walk),
        cmocka_unit_test(test_walk_memo_starts_over_when_full),
        cmocka_unit_test(test_recent_limits),
        cmocka_unit_test(test_health_check),
        cmocka_unit_test(test_index_matches_linear),
        cmocka_unit_test(test_walk_trace),
        cmocka_unit_test(test_sync_limiter),
        cmocka_unit_test(test_from_scenario),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
