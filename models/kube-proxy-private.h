/* kube-proxy-private.h: the rule data kube-proxy.c compiles and
 * kube-proxy-walk.c / kube-proxy-save.c read; for models/kube-proxy*.c and
 * tests/test-kube-proxy.c only (the module's contract is kube-proxy.h).
 *
 * A rule is data: an ordered list of matches (each printed as kube-proxy
 * writes its arguments) and one target. The printer and the packet walk read
 * the same KpRule, so what is shown is what is evaluated. */
#pragma once

#include <glib.h>

#include "models/endpoints.h"
#include "models/k8s.h"
#include "models/kube-proxy.h"

G_BEGIN_DECLS

typedef enum {
    KP_TABLE_FILTER = 0,
    KP_TABLE_NAT = 1,
} KpTableId;
#define KP_N_TABLES 2

/* conntrack states for -m conntrack --ctstate (xt_conntrack). DNAT is the
 * virtual state "original destination differs from the reply source". */
#define KP_CT_NEW         (1u << 0)
#define KP_CT_INVALID     (1u << 1)
#define KP_CT_ESTABLISHED (1u << 2)
#define KP_CT_RELATED     (1u << 3)
#define KP_CT_DNAT        (1u << 4)

typedef enum {
    KP_M_COMMENT,        /* -m comment --comment TEXT (never fails) */
    KP_M_PROTO,          /* -m P -p P */
    KP_M_SRC,            /* [!] -s ADDR[/LEN] */
    KP_M_DST,            /* [!] -d ADDR[/LEN] */
    KP_M_DPORT,          /* --dport N */
    KP_M_SRC_TYPE_LOCAL, /* -m addrtype --src-type LOCAL */
    KP_M_DST_TYPE_LOCAL, /* -m addrtype --dst-type LOCAL */
    KP_M_STATISTIC,      /* -m statistic --mode random --probability P */
    KP_M_RECENT_RCHECK,  /* -m recent --name N --rcheck --seconds S --reap */
    KP_M_RECENT_SET,     /* -m recent --name N --set (always matches) */
    KP_M_MARK,           /* -m mark [!] --mark V/V */
    KP_M_CTSTATE,        /* -m conntrack [!] --ctstate S,S */
    KP_M_NFACCT,         /* -m nfacct --nfacct-name N (always matches) */
} KpMatchKind;

typedef struct {
    KpMatchKind kind; /* which match */
    gboolean negate;  /* printed "!" (SRC, DST, MARK, CTSTATE) */
    guint32 addr;     /* SRC/DST: network, host byte order */
    guint32 mask;     /* SRC/DST: netmask, host byte order */
    guint32 value;    /* MARK: mark and mask; STATISTIC: threshold
                       * lround(p * 2^31); CTSTATE: KP_CT_* bits */
    gint num;         /* DPORT: port; PROTO: IP protocol number;
                       * RECENT_RCHECK: --seconds */
    const char *text; /* as printed: COMMENT text (unquoted), PROTO name,
                       * SRC/DST address, STATISTIC probability, RECENT
                       * list name, NFACCT counter name; in the table's
                       * string chunk */
    gboolean quoted;  /* COMMENT: printed in double quotes */
} KpMatch;

typedef enum {
    KP_T_NONE,       /* no -j: a comment-only rule (KUBE-FW tail) */
    KP_T_JUMP,       /* -j CHAIN */
    KP_T_RETURN,     /* -j RETURN */
    KP_T_ACCEPT,     /* -j ACCEPT */
    KP_T_DROP,       /* -j DROP */
    KP_T_REJECT,     /* -j REJECT */
    KP_T_DNAT,       /* -j DNAT --to-destination IP:PORT */
    KP_T_MARK_OR,    /* -j MARK --or-mark V */
    KP_T_MARK_XOR,   /* -j MARK --xor-mark V */
    KP_T_MASQUERADE, /* -j MASQUERADE [--random-fully] */
} KpTargetKind;

#define KP_HDR_SRC 0x01
#define KP_HDR_SRC_NEG 0x02
#define KP_HDR_DST 0x04
#define KP_HDR_DST_NEG 0x08
#define KP_HDR_PROTO 0x10
/* Matches of one rule beyond the IP header; kube-proxy's longest rules
 * (affinity, firewall) have four. */
#define KP_MAX_EXT 8

typedef struct {
    KpMatch *matches;      /* n_matches entries, owned by the table */
    guint n_matches;       /* match count */
    KpTargetKind target;   /* what -j does */
    guint jump;            /* KP_T_JUMP: index into table->chains */
    guint32 value;         /* DNAT: IP (host order); MARK_*: the mark */
    gint port;             /* DNAT: port */
    const char *dnat_text; /* DNAT: "ip:port" as printed */
    gboolean random_fully; /* MASQUERADE: --random-fully */
    const char *comment;   /* the COMMENT match's text or NULL */
    const char *svc_port;  /* Service port that wrote the rule, or NULL */
    /* The same matches laid out for the walk by table_finish(): the IP
     * header part (at most one -s, -d, -p each, as kube-proxy writes
     * them) in fields, and the rest that can fail or act, in rule order
     * (comments and nfacct counters never fail: left out). */
    guint32 hdr_src, hdr_src_mask; /* with KP_HDR_SRC */
    guint32 hdr_dst, hdr_dst_mask; /* with KP_HDR_DST */
    guint8 hdr;                    /* KP_HDR_* bits */
    guint8 n_ext;                  /* entries of ext */
    guint8 ext[KP_MAX_EXT];        /* indexes into matches */
    gint hdr_proto;                /* with KP_HDR_PROTO */
} KpRule;

/* Dispatch index of a big chain (>= KP_INDEX_MIN rules). A rule is filed
 * under (dst, proto, dport) when it has a non-negated /32 -d, a -p and a
 * --dport; under (proto, dport) when it has -p and --dport otherwise; else
 * under "any". A packet can only match rules from its two keys and "any",
 * so merging those three ascending lists visits, in chain order, a superset
 * of the rules that match, and every rule it skips cannot match. */
#define KP_INDEX_MIN 8
typedef struct {
    GHashTable *by_dst_port; /* guint64 key -> GArray of guint rule index */
    GHashTable *by_port;     /* guint64 key -> GArray of guint rule index */
    GArray *any;             /* guint rule indexes, ascending */
} KpChainIndex;

typedef struct {
    char *name;          /* "KUBE-SERVICES", "KUBE-SVC-...", "PREROUTING" */
    KpTableId table;     /* filter or nat */
    gboolean builtin;    /* a kernel hook chain (policy ACCEPT); printed only
                          * with KP_SAVE_HOOKS */
    gboolean declared;   /* kube-proxy writes ":NAME - [0:0]" for it in its
                          * restore input (KUBE-FIREWALL is not declared
                          * when localhost NodePorts are off) */
    GArray *rules;       /* KpRule, chain order */
    KpChainIndex *index; /* nullable: see KpChainIndex */
} KpChain;

/* Per Service with a healthCheckNodePort (K-18). */
typedef struct {
    gint port;        /* healthCheckNodePort */
    char *service;    /* "ns/name" */
    gint local_ready; /* distinct IPs of local Ready endpoints */
} KpHealth;

struct _KubeProxyTable {
    gint refs;             /* reference count */
    guint64 serial;        /* unique per table made in this process: what
                            * a walk memo (kube-proxy-walk.c) was built
                            * from, without holding a reference */
    char *node_name;       /* the node it was compiled for */
    GArray *local_addrs;   /* guint32: the node's addresses (LOCAL for
                            * -m addrtype); 127.0.0.0/8 is LOCAL too */
    GStringChunk *strings; /* every const char* of rules and chains */
    GPtrArray *chains;     /* KpChain*, owned; indexes are stable */
    GHashTable *by_name[KP_N_TABLES]; /* name -> GUINT_TO_POINTER(i + 1) */
    GArray *order[KP_N_TABLES];       /* guint chain indexes in print order */
    guint hook_nat_prerouting;        /* built-in chain indexes */
    guint hook_nat_output;
    guint hook_nat_postrouting;
    guint hook_filter_input;
    guint hook_filter_forward;
    guint hook_filter_output;
    GArray *health;             /* KpHealth, by Service name */
    GPtrArray *recent_names;    /* const char*: every recent list named by a
                                 * rule (for kube_proxy_state_prune) */
    gboolean large_cluster;     /* > 1000 endpoints: comments dropped (K-19) */
    guint n_rules[KP_N_TABLES]; /* rules kube-proxy writes, per table */
};

/* One Service port as syncProxyRules() sees it (a servicePortInfo plus its
 * endpointsMap entry). Everything is borrowed for the compile call. */
typedef struct {
    const char *ns;                   /* namespace */
    const char *name;                 /* Service name */
    K8sServiceType type;              /* ClusterIP, NodePort, LoadBalancer */
    const char *port_name;            /* nullable: unnamed port */
    const char *protocol;             /* "TCP", "UDP", "SCTP" (any case) */
    const char *cluster_ip;           /* dotted IPv4 */
    gint port;                        /* Service port */
    gint node_port;                   /* 0: none */
    gint health_check_node_port;      /* spec value; used only for type
                                       * LoadBalancer with eTP Local */
    K8sTrafficPolicy external_policy; /* spec.externalTrafficPolicy */
    K8sTrafficPolicy internal_policy; /* spec.internalTrafficPolicy */
    gboolean affinity_client_ip;      /* sessionAffinity ClientIP */
    gint affinity_timeout;            /* seconds */
    const char *const *external_ips;  /* NULL-terminated; nullable */
    const char *const *lb_ips;        /* status.loadBalancer.ingress IPs */
    const char *const *source_ranges; /* loadBalancerSourceRanges */
    const EndpointAddr *endpoints;    /* as published, any order */
    guint n_endpoints;                /* count */
} KpServicePortIn;

/* The compile core behind kube_proxy_sync(): @ports in any order (visited
 * sorted by "ns/name", stable). @node_ip is the primary node IP (used for
 * loadBalancerSourceRanges "allow from node", K-17); @node_ip and
 * @extra_local (NULL-terminated, nullable) are the node's LOCAL addresses.
 * Returns: (transfer full). */
KubeProxyTable *kube_proxy__compile(const KpServicePortIn *ports,
                                    guint n_ports,
                                    const char *node_name,
                                    const char *node_ip,
                                    const char *const *extra_local,
                                    const KubeProxyConfig *cfg);

/* Chain lookup by table and name; NULL when absent. */
const KpChain *
kube_proxy__chain(const KubeProxyTable *t, KpTableId table, const char *name);
/* Appends @r as "-A CHAIN ..." (no newline) to @out. */
void kube_proxy__rule_text(const KubeProxyTable *t,
                           const KpChain *c,
                           const KpRule *r,
                           GString *out);
/* Parses dotted IPv4 "a.b.c.d" or "a.b.c.d/len" (host byte order).
 * Returns FALSE on anything else. */
gboolean kube_proxy__parse_ipv4(const char *text, guint32 *addr, guint32 *mask);
/* TRUE when @addr is one of the table's LOCAL addresses or in 127/8. */
gboolean kube_proxy__is_local(const KubeProxyTable *t, guint32 addr);

G_END_DECLS
