/* kube-proxy.h: step 3 of the path, kube-proxy in iptables mode on one node:
 * Services + endpoints compiled into the nat and filter rules exactly as
 * syncProxyRules() writes them, printed as iptables-save text and walked by
 * the first packet of each connection (scenario -> models -> sim).
 *
 * Cite: kubernetes pkg/proxy/iptables/proxier.go (v1.30+ revision with
 * nfacct counters and KUBE-PROXY-FIREWALL), spec rules K-1..K-24. */
#pragma once

#include <glib.h>

#include "models/cluster.h"
#include "models/endpoints.h"
#include "models/ipv4.h"
#include "models/k8s.h"
#include "models/trace.h"
#include "sim/rng.h"
#include "sim/time.h"

G_BEGIN_DECLS

/* User errors of this module (the `iptables` subcommand). */
#define KUBE_PROXY_ERROR (kube_proxy_error_quark())
GQuark kube_proxy_error_quark(void);

typedef enum {
    KUBE_PROXY_ERROR_UNKNOWN_NODE, /* --node names no node of the scenario */
    KUBE_PROXY_ERROR_FAILED,       /* anything else */
} KubeProxyError;

/* kube-proxy's flags that change the rules it writes. Defaults are those of
 * a v1.30+ kube-proxy on a current distribution
 * (pkg/proxy/apis/config/v1alpha1/defaults.go; K-2, K-20). Embedded by the
 * caller: _init_default() then _clear(). */
typedef struct {
    guint32 masquerade_bit;       /* --iptables-masquerade-bit, 14 -> 0x4000 */
    gboolean masquerade_all;      /* --masquerade-all, FALSE */
    gboolean localhost_nodeports; /* --iptables-localhost-nodeports, TRUE */
    char *cluster_cidr;           /* owned; CIDR local detector ("-s CIDR");
                                   * NULL or "": no detector (no pod-traffic
                                   * rules, no "! -s" masquerade rule) */
    SimTime min_sync_period;      /* --iptables-min-sync-period, 1s (K-20) */
    SimTime sync_period;          /* --iptables-sync-period, 30s (K-20) */
    gboolean random_fully;        /* iptables supports MASQUERADE
                                   * --random-fully (TRUE on iptables >=
                                   * 1.6.2; proxier_test.go's fake: FALSE) */
    gboolean nfacct;              /* nfacct counters could be created (TRUE
                                   * on current kernels): adds the
                                   * localhost_nps_accepted_pkts and
                                   * ct_state_invalid_dropped_pkts matches */
    gboolean tcp_be_liberal;      /* sysctl nf_conntrack_tcp_be_liberal != 0:
                                   * no INVALID DROP rule (K-3); FALSE */
} KubeProxyConfig;

/* Fills the defaults above; cluster_cidr becomes "10.244.0.0/16". */
void kube_proxy_config_init_default(KubeProxyConfig *cfg);
/* Frees what the config owns (cluster_cidr); the struct can be reused. */
void kube_proxy_config_clear(KubeProxyConfig *cfg);

/* The immutable compiled rules of one node (both tables), ref-counted so a
 * walk in flight keeps the snapshot it started with (DESIGN principle 2). */
typedef struct _KubeProxyTable KubeProxyTable;

/* One syncProxyRules() for @node: every Service port of @c with a cluster IP
 * (headless and ExternalName Services are skipped, as kube-proxy does), its
 * endpoints from @es, categorized per K-14. @cfg may be NULL: defaults, with
 * the cluster CIDR taken from c->net. Nothing is kept from @c, @es, @node or
 * @cfg. LoadBalancer ingress IPs, externalIPs and loadBalancerSourceRanges
 * are read from the Service's manifest document (status.loadBalancer.
 * ingress[].ip, spec.externalIPs, spec.loadBalancerSourceRanges) when it has
 * them. IPv4 only (ipFamily IPv4). Cost: O(endpoints log endpoints).
 * Returns: (transfer full) free with kube_proxy_table_unref(). */
KubeProxyTable *kube_proxy_sync(const Cluster *c,
                                const EndpointSet *es,
                                const K8sNode *node,
                                const KubeProxyConfig *cfg);
KubeProxyTable *kube_proxy_table_ref(KubeProxyTable *t);
void kube_proxy_table_unref(KubeProxyTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KubeProxyTable, kube_proxy_table_unref)

/* Name of the node the table was compiled for (borrowed). */
const char *kube_proxy_table_node(const KubeProxyTable *t);

/* What kube_proxy_save_full() prints besides kube-proxy's own data. */
typedef enum {
    KP_SAVE_RESTORE = 0, /* exactly kube-proxy's iptables-restore input */
    KP_SAVE_HOOKS = 1,   /* also the built-in chains (PREROUTING, INPUT...)
                          * with the jump rules kube-proxy prepends to them
                          * (K-1), in the order a fresh start leaves them */
} KpSaveFlags;

/* The table as iptables-save text: "*filter" ... "COMMIT" then "*nat" ...
 * "COMMIT", chain declarations ":KUBE-SERVICES - [0:0]" then the rules, one
 * "-A CHAIN ..." line each, every argument in the order kube-proxy writes it.
 * Chains are grouped and ordered as proxier_test.go's sortIPTablesRules()
 * orders kube-proxy's output (KUBE-NODEPORTS, KUBE-SERVICES, then the other
 * KUBE-* chains by name); rules keep their order within a chain, Services
 * are visited by "namespace/name" (kube-proxy visits them in Go map order, so
 * this is one of its orders, made deterministic).
 * Returns: (transfer full) free with g_free(). */
char *kube_proxy_save(const KubeProxyTable *t);
char *kube_proxy_save_full(const KubeProxyTable *t, KpSaveFlags flags);

/* The mutable per-node state the rules consult: the xt_recent lists behind
 * sessionAffinity ClientIP (K-10), keyed by list name (the KUBE-SEP chain)
 * then source IP, each entry stamped with the SimTime of its last --set.
 * Like the kernel, a list holds at most 100 addresses (ip_list_tot) and
 * forgets the least recently set one when full. */
typedef struct _KubeProxyState KubeProxyState;

KubeProxyState *kube_proxy_state_new(void);
void kube_proxy_state_free(KubeProxyState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KubeProxyState, kube_proxy_state_free)
/* Call after installing a new table: drops the lists no rule of @t names,
 * as xt_recent frees a table when the last rule using it is removed. */
void kube_proxy_state_prune(KubeProxyState *s, const KubeProxyTable *t);
/* Number of addresses on list @name (0 when there is no such list). */
guint kube_proxy_state_count(const KubeProxyState *s, const char *name);

/* The first packet of a connection, as it reaches this node. */
typedef struct {
    const char *src_ip; /* dotted IPv4, source as seen on arrival */
    const char *dst_ip; /* dotted IPv4 */
    gint dst_port;
    const char *proto;  /* "tcp", "udp" or "sctp" */
    gboolean src_local; /* sent by the node itself (nat OUTPUT path);
                         * the source is then also src-type LOCAL */
    guint32 src_addr;   /* nonzero: src_ip already parsed (host order) */
    guint32 dst_addr;   /* nonzero: dst_ip already parsed */
} KpPacket;

typedef enum {
    KP_ACCEPT_LOCAL, /* nothing translated it and it is for this node: the
                      * host stack gets it; for a NodePort nobody listens
                      * on, that is a RST (connection refused) */
    KP_DNAT,         /* translated to an endpoint (dnat_ip:dnat_port) */
    KP_REJECT,       /* -j REJECT (icmp-port-unreachable): refused (K-15) */
    KP_DROP,         /* -j DROP: silently lost, client times out (K-13,
                      * K-16, KUBE-PROXY-FIREWALL) */
    KP_FORWARD,      /* nothing translated it and it is not for this node:
                      * routed on unchanged (e.g. straight to a pod IP) */
} KpVerdict;

typedef struct {
    KpVerdict verdict;
    char dnat_ip[IPV4_TEXT_MAX];  /* KP_DNAT: endpoint IP; else "" */
    guint32 dnat_addr;          /* KP_DNAT: the same, host order; else 0 */
    gint dnat_port;             /* KP_DNAT: endpoint port; else 0 */
    gboolean masquerade;        /* reached MASQUERADE in nat POSTROUTING:
                                 * the endpoint sees the node's IP */
    const char *rule_comment;   /* comment of the deciding rule (the DNAT,
                                 * REJECT or DROP rule), borrowed from the
                                 * table; NULL when none decided */
    const char *endpoint_chain; /* KP_DNAT: the KUBE-SEP-* chain, borrowed */
    const char *svc_port_name;  /* "ns/name[:port]" of the Service port
                                 * whose rule decided, borrowed; or NULL */
} KpResult;

/* Walks @pkt through @t as the kernel would: nat PREROUTING (or OUTPUT when
 * src_local), the routing decision, filter INPUT/FORWARD/OUTPUT (conntrack
 * state NEW, plus DNAT when translated), nat POSTROUTING. It evaluates the
 * very rules kube_proxy_save() prints, chain by chain and in order; a
 * statistic rule draws 31 bits from @rng and matches when they are below
 * lround(p * 2^31) (K-8, xt_statistic); a recent rule reads and writes
 * @state at @now. Large chains (KUBE-SERVICES, KUBE-NODEPORTS) are entered
 * through an index built at sync time that yields exactly the rules that
 * can match the packet's destination, in chain order, so the walk is O(rules
 * of the Service) rather than O(Services). @state may be NULL (no
 * affinity memory: every --rcheck misses, --set is forgotten). @tr may be
 * NULL; otherwise every matching rule is recorded (step 3, component
 * "kube-proxy", the rule's iptables-save line as the reason) and the facts
 * "kube_proxy.verdict" and (on DNAT) "kube_proxy.dnat" are set. @node_name
 * is for the trace (NULL: the table's node). Draws nothing when no
 * statistic rule is reached. With @state and no @tr, walks already made
 * for the same packet and table are remembered in @state (as the tree of
 * their statistic draws), so a repeat costs a lookup and the draws; the
 * draws and the result are exactly those of the full walk. */
void kube_proxy_walk(const KubeProxyTable *t,
                     KubeProxyState *state,
                     const KpPacket *pkt,
                     Rng *rng,
                     SimTime now,
                     KpResult *out,
                     Trace *tr,
                     const char *node_name);

/* "ACCEPT_LOCAL", "DNAT", "REJECT", "DROP", "FORWARD". */
const char *kube_proxy_verdict_name(KpVerdict v);

/* kube-proxy's healthCheckNodePort server on this node (K-18,
 * pkg/proxy/healthcheck/service_health.go): the HTTP status an LB's check of
 * @port gets, 200 when the Service has >= 1 local Ready endpoint (distinct
 * IPs over all its ports; terminating ones do not count), else 503; 0 when
 * no Service of type LoadBalancer with externalTrafficPolicy Local has that
 * healthCheckNodePort (nothing listens: connection refused).
 * @local_endpoints (nullable) gets the count the JSON body reports. */
gint kube_proxy_health_check(const KubeProxyTable *t,
                             gint port,
                             gint *local_endpoints);

/* K-5 chain names: @prefix (e.g. "KUBE-SVC-", "KUBE-SEP-", copied as is)
 * plus the first 16 characters of RFC 4648 base32 of SHA-256 over
 * svc_port_name + proto [+ endpoint "ip:port"].
 * Cite: proxier.go portProtoHash(), servicePortEndpointChainName().
 * Returns: (transfer full) free with g_free(). */
char *kube_proxy_chain_name(const char *prefix,
                            const char *svc_port_name,
                            const char *proto,
                            const char *endpoint);

/* K-20: when a sync asked for by a Service/EndpointSlice change at @now
 * runs. kube-proxy drives syncProxyRules() through
 * async.BoundedFrequencyRunner(minSyncPeriod, burstRuns 2): a token bucket
 * refilled one token per min_sync_period, holding at most two; a request
 * runs at once when a token is there, otherwise at last run +
 * min_sync_period; requests made while a run is pending join it
 * (pkg/util/async/bounded_frequency_runner.go tryRun()). Integer time, so
 * deterministic. Embedded by the caller: _init() once per node. */
typedef struct {
    SimTime credit;   /* bucket content in ns at @at (a token is
                       * min_sync_period ns; at most two tokens) */
    SimTime at;       /* when @credit was last brought up to date */
    SimTime last_run; /* time of the last run (or far in the past) */
    SimTime pending;  /* time of the run already scheduled, or -1 */
} KubeProxySyncLimiter;

void kube_proxy_sync_limiter_init(KubeProxySyncLimiter *l,
                                  const KubeProxyConfig *cfg);
/* Returns the time (>= @now) at which the sync serving a change at @now
 * runs; the rules it installs take effect then (callers add their own
 * restore and watch latencies, K-22). @now must not decrease between calls. */
SimTime kube_proxy_sync_limiter_request(KubeProxySyncLimiter *l,
                                        const KubeProxyConfig *cfg,
                                        SimTime now);

/* The `ingress-sim iptables SCENARIO --node N` command: prints @node_name's
 * (NULL: the first node's) tables, kube_proxy_save() form, to stdout, with
 * default kube-proxy flags and c->net.cluster_cidr. An unknown node is a
 * KUBE_PROXY_ERROR_UNKNOWN_NODE error listing the nodes. Returns 0, or 1
 * with @error set. */
int kube_proxy_cli_print(const Cluster *c,
                         const EndpointSet *es,
                         const char *node_name,
                         GError **error);

G_END_DECLS
