/* kube-proxy.c: compiles Services and their endpoints into one node's nat and
 * filter rules, as one syncProxyRules() of kube-proxy's iptables mode would
 * (step 3; scenario -> models). Printing is kube-proxy-save.c, the packet
 * walk kube-proxy-walk.c; both read the rules built here.
 *
 * Cite: kubernetes pkg/proxy/iptables/proxier.go, syncProxyRules(),
 * writeServiceToEndpointRules(), portProtoHash(); pkg/proxy/topology.go
 * CategorizeEndpoints(); pkg/proxy/endpointslicecache.go addEndpoints(). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/ipv4.h"
#include "models/kube-proxy-private.h"
#include "models/ynode.h"

G_DEFINE_QUARK(kube - proxy - error - quark, kube_proxy_error)

/* proxier.go largeClusterEndpointsThreshold (K-19). */
#define KP_LARGE_CLUSTER_ENDPOINTS 1000

void kube_proxy_config_init_default(KubeProxyConfig *cfg)
{
    g_return_if_fail(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->masquerade_bit = 14;
    cfg->masquerade_all = FALSE;
    cfg->localhost_nodeports = TRUE;
    cfg->cluster_cidr = g_strdup("10.244.0.0/16");
    cfg->min_sync_period = 1 * SIM_S;
    cfg->sync_period = 30 * SIM_S;
    cfg->random_fully = TRUE;
    cfg->nfacct = TRUE;
    cfg->tcp_be_liberal = FALSE;
}

void kube_proxy_config_clear(KubeProxyConfig *cfg)
{
    g_return_if_fail(cfg != NULL);
    g_clear_pointer(&cfg->cluster_cidr, g_free);
}

/* ---- names --------------------------------------------------------------- */

/* RFC 4648 base32 of the first 10 bytes of @digest: exactly 16 characters,
 * the prefix Go's base32.StdEncoding gives before [:16]. */
static void base32_16(const guint8 *digest, char out[17])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    guint64 bits = 0;
    guint nbits = 0;
    guint o = 0;
    for (guint i = 0; i < 10; i++) {
        bits = (bits << 8) | digest[i];
        nbits += 8;
        while (nbits >= 5) {
            out[o++] = alphabet[(bits >> (nbits - 5)) & 31];
            nbits -= 5;
        }
    }
    out[o] = '\0';
}

char *kube_proxy_chain_name(const char *prefix,
                            const char *svc_port_name,
                            const char *proto,
                            const char *endpoint)
{
    g_return_val_if_fail(prefix != NULL, NULL);
    g_return_val_if_fail(svc_port_name != NULL, NULL);
    g_return_val_if_fail(proto != NULL, NULL);
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, (const guchar *)svc_port_name, -1);
    g_checksum_update(sum, (const guchar *)proto, -1);
    if (endpoint != NULL) {
        g_checksum_update(sum, (const guchar *)endpoint, -1);
    }
    guint8 digest[32];
    gsize len = sizeof digest;
    g_checksum_get_digest(sum, digest, &len);
    g_assert(len == 32);
    char enc[17];
    base32_16(digest, enc);
    return g_strconcat(prefix, enc, NULL);
}

gboolean kube_proxy__parse_ipv4(const char *text, guint32 *addr, guint32 *mask)
{
    guint32 a = 0;
    guint len = 32;
    /* A bare address (every packet's two) without ipv4_parse_cidr()'s
     * copy; "/n" goes the long way. */
    if (!ipv4_parse(text, &a) && !ipv4_parse_cidr(text, &a, &len)) {
        return FALSE;
    }
    guint32 m = len == 0 ? 0 : 0xffffffffu << (32 - len);
    if (addr != NULL) {
        *addr = a & m;
    }
    if (mask != NULL) {
        *mask = m;
    }
    return TRUE;
}

gboolean kube_proxy__is_local(const KubeProxyTable *t, guint32 addr)
{
    if ((addr & 0xff000000u) == 0x7f000000u) {
        return TRUE; /* 127.0.0.0/8 is on lo */
    }
    for (guint i = 0; i < t->local_addrs->len; i++) {
        if (g_array_index(t->local_addrs, guint32, i) == addr) {
            return TRUE;
        }
    }
    return FALSE;
}

/* A plain dotted IPv4 address (no "/len"): what Service IPs must be. */
static gboolean is_ipv4_addr(const char *text)
{
    return text != NULL && strchr(text, '/') == NULL &&
           kube_proxy__parse_ipv4(text, NULL, NULL);
}

/* ---- the table ----------------------------------------------------------- */

static void chain_index_free(KpChainIndex *ix)
{
    if (ix == NULL) {
        return;
    }
    g_hash_table_unref(ix->by_dst_port);
    g_hash_table_unref(ix->by_port);
    g_array_unref(ix->any);
    g_free(ix);
}

static void chain_free(gpointer p)
{
    KpChain *c = p;
    for (guint i = 0; i < c->rules->len; i++) {
        g_free(g_array_index(c->rules, KpRule, i).matches);
    }
    g_array_unref(c->rules);
    chain_index_free(c->index);
    g_free(c->name);
    g_free(c);
}

static void health_clear(gpointer p)
{
    KpHealth *h = p;
    g_free(h->service);
}

static KubeProxyTable *table_new(const char *node_name)
{
    KubeProxyTable *t = g_new0(KubeProxyTable, 1);
    static guint64 serials; /* atomically incremented */
    t->refs = 1;
    t->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
    t->node_name = g_strdup(node_name != NULL ? node_name : "");
    t->local_addrs = g_array_new(FALSE, FALSE, sizeof(guint32));
    t->strings = g_string_chunk_new(4096);
    t->chains = g_ptr_array_new_with_free_func(chain_free);
    for (guint i = 0; i < KP_N_TABLES; i++) {
        t->by_name[i] = g_hash_table_new(g_str_hash, g_str_equal);
        t->order[i] = g_array_new(FALSE, FALSE, sizeof(guint));
    }
    t->health = g_array_new(FALSE, TRUE, sizeof(KpHealth));
    g_array_set_clear_func(t->health, health_clear);
    t->recent_names = g_ptr_array_new();
    return t;
}

KubeProxyTable *kube_proxy_table_ref(KubeProxyTable *t)
{
    g_return_val_if_fail(t != NULL, NULL);
    g_return_val_if_fail(t->refs > 0, NULL);
    g_atomic_int_inc(&t->refs);
    return t;
}

void kube_proxy_table_unref(KubeProxyTable *t)
{
    if (t == NULL) {
        return;
    }
    g_return_if_fail(t->refs > 0);
    if (!g_atomic_int_dec_and_test(&t->refs)) {
        return;
    }
    g_free(t->node_name);
    g_array_unref(t->local_addrs);
    g_ptr_array_unref(t->chains);
    for (guint i = 0; i < KP_N_TABLES; i++) {
        g_hash_table_unref(t->by_name[i]);
        g_array_unref(t->order[i]);
    }
    g_array_unref(t->health);
    g_ptr_array_unref(t->recent_names);
    g_string_chunk_free(t->strings);
    g_free(t);
}

const char *kube_proxy_table_node(const KubeProxyTable *t)
{
    g_return_val_if_fail(t != NULL, NULL);
    return t->node_name;
}

const KpChain *
kube_proxy__chain(const KubeProxyTable *t, KpTableId table, const char *name)
{
    gpointer v = g_hash_table_lookup(t->by_name[table], name);
    if (v == NULL) {
        return NULL;
    }
    return g_ptr_array_index(t->chains, GPOINTER_TO_UINT(v) - 1);
}

/* ---- rule builder -------------------------------------------------------- */

/* State of one compile: the table being filled, and the matches of the rule
 * being written (a rule is begun, given matches in kube-proxy's argument
 * order, then ended with its chain and target). */
typedef struct {
    KubeProxyTable *t;          /* the table being built */
    const KubeProxyConfig *cfg; /* flags */
    GArray *m;                  /* KpMatch of the rule being written */
    char mark[16];              /* "0x4000" */
    guint32 mark_value;         /* 1 << masquerade_bit */
    gboolean detector;          /* a cluster-CIDR local detector exists */
    const char *cidr;           /* its CIDR as printed */
    const char *svc;            /* Service port being written, or NULL */
    guint32 node_ip;            /* primary node IP (K-17 allowFromNode) */
    gboolean have_node_ip;      /* node_ip was given */
} KpBuild;

static const char *kp_str(KpBuild *b, const char *s)
{
    return g_string_chunk_insert_const(b->t->strings, s);
}

static guint
chain_get(KpBuild *b, KpTableId table, const char *name, gboolean declare)
{
    KubeProxyTable *t = b->t;
    gpointer v = g_hash_table_lookup(t->by_name[table], name);
    guint i;
    if (v != NULL) {
        i = GPOINTER_TO_UINT(v) - 1;
    } else {
        KpChain *c = g_new0(KpChain, 1);
        c->name = g_strdup(name);
        c->table = table;
        c->rules = g_array_new(FALSE, TRUE, sizeof(KpRule));
        g_ptr_array_add(t->chains, c);
        i = t->chains->len - 1;
        g_hash_table_insert(t->by_name[table], c->name,
                            GUINT_TO_POINTER(i + 1));
    }
    if (declare) {
        KpChain *c = g_ptr_array_index(t->chains, i);
        c->declared = TRUE;
    }
    return i;
}

static guint chain_builtin(KpBuild *b, KpTableId table, const char *name)
{
    guint i = chain_get(b, table, name, FALSE);
    KpChain *c = g_ptr_array_index(b->t->chains, i);
    c->builtin = TRUE;
    return i;
}

static void rb_begin(KpBuild *b)
{
    g_array_set_size(b->m, 0);
}

static KpMatch *rb_add(KpBuild *b, KpMatchKind kind)
{
    KpMatch m = { 0 };
    m.kind = kind;
    g_array_append_val(b->m, m);
    return &g_array_index(b->m, KpMatch, b->m->len - 1);
}

/* A comment exactly as kube-proxy passes it: @quoted when its format string
 * carries the quotes (`"%s cluster IP"`), bare for svcPortNameString. */
static void rb_comment(KpBuild *b, const char *text, gboolean quoted)
{
    KpMatch *m = rb_add(b, KP_M_COMMENT);
    m->text = kp_str(b, text);
    m->quoted = quoted;
}

/* proxier.go appendServiceCommentLocked(): no comment in large clusters. */
static void rb_svc_comment(KpBuild *b, const char *text, gboolean quoted)
{
    if (!b->t->large_cluster) {
        rb_comment(b, text, quoted);
    }
}

static gint proto_number(const char *p)
{
    if (strcmp(p, "udp") == 0) {
        return 17;
    }
    if (strcmp(p, "sctp") == 0) {
        return 132;
    }
    return 6;
}

static void rb_proto(KpBuild *b, const char *proto)
{
    KpMatch *m = rb_add(b, KP_M_PROTO);
    m->text = kp_str(b, proto);
    m->num = proto_number(proto);
}

static void
rb_addr(KpBuild *b, KpMatchKind kind, const char *text, gboolean negate)
{
    guint32 a = 0;
    guint32 mask = 0;
    gboolean ok = kube_proxy__parse_ipv4(text, &a, &mask);
    g_assert(ok); /* callers pass addresses they parsed already */
    KpMatch *m = rb_add(b, kind);
    m->text = kp_str(b, text);
    m->addr = a;
    m->mask = mask;
    m->negate = negate;
}

static void rb_src(KpBuild *b, const char *text, gboolean negate)
{
    rb_addr(b, KP_M_SRC, text, negate);
}

static void rb_dst(KpBuild *b, const char *text, gboolean negate)
{
    rb_addr(b, KP_M_DST, text, negate);
}

static void rb_dport(KpBuild *b, gint port)
{
    rb_add(b, KP_M_DPORT)->num = port;
}

/* proxier.go computeProbability(): fmt.Sprintf("%0.10f", 1.0/n); the kernel
 * keeps lround(p * 2^31) of the value iptables-restore parses back from that
 * text (libxt_statistic.c statistic_parse(), K-8). */
static void rb_statistic(KpBuild *b, guint n)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, "%0.10f", 1.0 / (double)n);
    KpMatch *m = rb_add(b, KP_M_STATISTIC);
    m->text = kp_str(b, buf);
    double p = g_ascii_strtod(buf, NULL);
    m->value = (guint32)lround(p * 2147483648.0);
}

static void rb_recent_rcheck(KpBuild *b, const char *name, gint seconds)
{
    KpMatch *m = rb_add(b, KP_M_RECENT_RCHECK);
    m->text = kp_str(b, name);
    m->num = seconds;
}

static void rb_recent_set(KpBuild *b, const char *name)
{
    KpMatch *m = rb_add(b, KP_M_RECENT_SET);
    m->text = kp_str(b, name);
    g_ptr_array_add(b->t->recent_names, (gpointer)m->text);
}

static void rb_mark(KpBuild *b, gboolean negate)
{
    KpMatch *m = rb_add(b, KP_M_MARK);
    m->value = b->mark_value;
    m->negate = negate;
}

static void rb_ctstate(KpBuild *b, guint states, gboolean negate)
{
    KpMatch *m = rb_add(b, KP_M_CTSTATE);
    m->value = states;
    m->negate = negate;
}

static void rb_nfacct(KpBuild *b, const char *name)
{
    rb_add(b, KP_M_NFACCT)->text = kp_str(b, name);
}

/* Ends the rule being written: appends it to @chain with target @r
 * (matches and comment are filled in here). */
static void rb_end(KpBuild *b, KpTableId table, const char *chain, KpRule r)
{
    guint ci = chain_get(b, table, chain, FALSE);
    KpChain *c = g_ptr_array_index(b->t->chains, ci);
    r.n_matches = b->m->len;
    r.matches = g_memdup2(b->m->data, sizeof(KpMatch) * b->m->len);
    r.svc_port = b->svc != NULL ? kp_str(b, b->svc) : NULL;
    for (guint i = 0; i < r.n_matches; i++) {
        if (r.matches[i].kind == KP_M_COMMENT) {
            r.comment = r.matches[i].text;
            break;
        }
    }
    g_array_append_val(c->rules, r);
}

static void
rb_jump(KpBuild *b, KpTableId table, const char *chain, const char *to)
{
    KpRule r = { 0 };
    r.target = KP_T_JUMP;
    r.jump = chain_get(b, table, to, FALSE);
    rb_end(b, table, chain, r);
}

static void
rb_verdict(KpBuild *b, KpTableId table, const char *chain, KpTargetKind target)
{
    KpRule r = { 0 };
    r.target = target;
    rb_end(b, table, chain, r);
}

static void
rb_dnat(KpBuild *b, const char *chain, guint32 ip, gint port, const char *text)
{
    KpRule r = { 0 };
    r.target = KP_T_DNAT;
    r.value = ip;
    r.port = port;
    r.dnat_text = kp_str(b, text);
    rb_end(b, KP_TABLE_NAT, chain, r);
}

static void rb_markop(KpBuild *b, const char *chain, KpTargetKind kind)
{
    KpRule r = { 0 };
    r.target = kind;
    r.value = b->mark_value;
    rb_end(b, KP_TABLE_NAT, chain, r);
}

/* ---- endpoints ----------------------------------------------------------- */

/* One endpoint of a Service port after de-duplication (an endpointInfo). */
typedef struct {
    const EndpointAddr *ea; /* as published */
    char *ipport;           /* "ip:port", the sort key and hash input */
    guint32 ip;             /* parsed address */
    gboolean local;         /* on this node */
    char *chain;            /* KUBE-SEP-* */
} KpEp;

static void kp_ep_clear(gpointer p)
{
    KpEp *e = p;
    g_free(e->ipport);
    g_free(e->chain);
}

static gint kp_ep_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(((const KpEp *)a)->ipport, ((const KpEp *)b)->ipport);
}

/* The endpointsMap entry of one Service port: valid endpoints, de-duplicated
 * by "ip:port" (a later duplicate replaces an earlier one unless it is
 * terminating: endpointslicecache.go addEndpoints()), sorted by that string
 * (byEndpoint). Returns: (transfer full) GArray of KpEp. */
static GArray *endpoints_collect(const KpServicePortIn *in,
                                 const char *node_name,
                                 const char *spn,
                                 const char *proto)
{
    GArray *eps = g_array_new(FALSE, TRUE, sizeof(KpEp));
    g_array_set_clear_func(eps, kp_ep_clear);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < in->n_endpoints; i++) {
        const EndpointAddr *ea = &in->endpoints[i];
        guint32 ip = 0;
        if (ea->port <= 0 || !is_ipv4_addr(ea->ip) ||
            !kube_proxy__parse_ipv4(ea->ip, &ip, NULL)) {
            continue; /* not an IPv4 endpoint of this family */
        }
        g_autofree char *ipport = g_strdup_printf("%s:%d", ea->ip, ea->port);
        gpointer slot = g_hash_table_lookup(seen, ipport);
        if (slot != NULL && ea->terminating) {
            continue;
        }
        KpEp e = { 0 };
        e.ea = ea;
        e.ip = ip;
        e.local = ea->node_name != NULL && node_name != NULL &&
                  node_name[0] != '\0' && strcmp(ea->node_name, node_name) == 0;
        e.chain = kube_proxy_chain_name("KUBE-SEP-", spn, proto, ipport);
        e.ipport = g_steal_pointer(&ipport);
        if (slot != NULL) {
            KpEp *old = &g_array_index(eps, KpEp, GPOINTER_TO_UINT(slot) - 1);
            kp_ep_clear(old);
            *old = e;
        } else {
            g_array_append_val(eps, e);
            g_hash_table_insert(seen, e.ipport, GUINT_TO_POINTER(eps->len));
        }
    }
    g_array_sort(eps, kp_ep_cmp);
    return eps;
}

/* The endpoints a Service port uses (K-14). Pointers into the KpEp array.
 * Topology hints are not modelled (EndpointAddr carries none), so
 * useTopology is always false here.
 * Cite: pkg/proxy/topology.go CategorizeEndpoints(). */
typedef struct {
    GPtrArray *cluster;   /* Cluster-policy endpoints */
    GPtrArray *local;     /* Local-policy endpoints */
    GPtrArray *reachable; /* union, in endpoint order: SEP chains */
    gboolean has_any;     /* a usable endpoint exists on some node */
} KpCategories;

static void categorize(GArray *eps,
                       gboolean uses_cluster,
                       gboolean uses_local,
                       KpCategories *out)
{
    out->cluster = g_ptr_array_new();
    out->local = g_ptr_array_new();
    out->reachable = g_ptr_array_new();
    out->has_any = FALSE;
    if (uses_cluster) {
        for (guint i = 0; i < eps->len; i++) {
            KpEp *e = &g_array_index(eps, KpEp, i);
            if (e->ea->ready) {
                g_ptr_array_add(out->cluster, e);
            }
        }
        if (out->cluster->len == 0) {
            /* Fallback to serving terminating endpoints (K-14). */
            for (guint i = 0; i < eps->len; i++) {
                KpEp *e = &g_array_index(eps, KpEp, i);
                if (e->ea->serving && e->ea->terminating) {
                    g_ptr_array_add(out->cluster, e);
                }
            }
        }
        out->has_any = out->cluster->len > 0;
    }
    if (!uses_local) {
        for (guint i = 0; i < out->cluster->len; i++) {
            g_ptr_array_add(out->reachable, out->cluster->pdata[i]);
        }
        return;
    }
    gboolean local_ready = FALSE;
    gboolean local_st = FALSE;
    for (guint i = 0; i < eps->len; i++) {
        KpEp *e = &g_array_index(eps, KpEp, i);
        if (e->ea->ready) {
            out->has_any = TRUE;
            local_ready = local_ready || e->local;
        } else if (e->ea->serving && e->ea->terminating) {
            out->has_any = TRUE;
            local_st = local_st || e->local;
        }
    }
    for (guint i = 0; i < eps->len; i++) {
        KpEp *e = &g_array_index(eps, KpEp, i);
        if (!e->local) {
            continue;
        }
        if (local_ready ? e->ea->ready
                        : (local_st && e->ea->serving && e->ea->terminating)) {
            g_ptr_array_add(out->local, e);
        }
    }
    /* Without topology, clusterEndpoints holds every Ready endpoint and so
     * includes the local ones, unless Local fell back to terminating ones. */
    const gboolean use_st = !local_ready && local_st;
    if (!uses_cluster || !use_st) {
        GPtrArray *src = uses_cluster ? out->cluster : out->local;
        for (guint i = 0; i < src->len; i++) {
            g_ptr_array_add(out->reachable, src->pdata[i]);
        }
        return;
    }
    /* Union of both, kept in endpoint (sorted) order: O(endpoints). */
    g_autofree gboolean *in = g_new0(gboolean, eps->len);
    const KpEp *base = (const KpEp *)eps->data;
    for (guint j = 0; j < out->cluster->len; j++) {
        in[(const KpEp *)out->cluster->pdata[j] - base] = TRUE;
    }
    for (guint j = 0; j < out->local->len; j++) {
        in[(const KpEp *)out->local->pdata[j] - base] = TRUE;
    }
    for (guint i = 0; i < eps->len; i++) {
        if (in[i]) {
            g_ptr_array_add(out->reachable, &g_array_index(eps, KpEp, i));
        }
    }
}

static void categories_clear(KpCategories *c)
{
    g_ptr_array_unref(c->cluster);
    g_ptr_array_unref(c->local);
    g_ptr_array_unref(c->reachable);
}

/* ---- per Service port ---------------------------------------------------- */

static guint strv_len0(const char *const *v)
{
    return v == NULL ? 0 : g_strv_length((char **)v);
}

/* writeServiceToEndpointRules(): affinity checks first, then the random
 * choice with probabilities 1/n, 1/(n-1), ..., and an unconditional last
 * rule (K-7, K-10). */
static void write_endpoint_rules(KpBuild *b,
                                 const char *spn,
                                 const KpServicePortIn *in,
                                 const char *chain,
                                 GPtrArray *eps)
{
    if (in->affinity_client_ip) {
        for (guint i = 0; i < eps->len; i++) {
            const KpEp *e = eps->pdata[i];
            g_autofree char *c = g_strdup_printf("%s -> %s", spn, e->ipport);
            rb_begin(b);
            rb_svc_comment(b, c, TRUE);
            rb_recent_rcheck(b, e->chain, in->affinity_timeout);
            rb_jump(b, KP_TABLE_NAT, chain, e->chain);
        }
    }
    for (guint i = 0; i < eps->len; i++) {
        const KpEp *e = eps->pdata[i];
        g_autofree char *c = g_strdup_printf("%s -> %s", spn, e->ipport);
        rb_begin(b);
        rb_svc_comment(b, c, TRUE);
        if (i + 1 < eps->len) {
            rb_statistic(b, eps->len - i);
        }
        rb_jump(b, KP_TABLE_NAT, chain, e->chain);
    }
}

/* TRUE for a Service type kube-proxy treats as externally accessible
 * (apiservice.ExternallyAccessible()). */
static gboolean service_external(const KpServicePortIn *in)
{
    return in->type == K8S_SVC_LOAD_BALANCER || in->type == K8S_SVC_NODE_PORT ||
           (in->type == K8S_SVC_CLUSTER_IP && strv_len0(in->external_ips) > 0);
}

/* One iteration of syncProxyRules()' per-Service-port loop. @eps is the
 * port's endpointsMap entry. The order of writes follows proxier.go; only
 * the order within each chain is visible (and it is kube-proxy's). */
static void write_service_port(KpBuild *b,
                               const KpServicePortIn *in,
                               GArray *eps,
                               const char *spn,
                               const char *proto)
{
    const guint n_ext = strv_len0(in->external_ips);
    const guint n_lb = strv_len0(in->lb_ips);
    g_autofree char *svc_chain =
        kube_proxy_chain_name("KUBE-SVC-", spn, proto, NULL);
    g_autofree char *svl_chain =
        kube_proxy_chain_name("KUBE-SVL-", spn, proto, NULL);
    g_autofree char *ext_chain =
        kube_proxy_chain_name("KUBE-EXT-", spn, proto, NULL);
    g_autofree char *fw_chain =
        kube_proxy_chain_name("KUBE-FW-", spn, proto, NULL);

    /* servicePortInfo flags (pkg/proxy/serviceport.go). */
    const gboolean ext_local =
        service_external(in) && in->external_policy == K8S_POLICY_LOCAL;
    const gboolean int_local = in->internal_policy == K8S_POLICY_LOCAL;
    const gboolean ext_access = in->node_port != 0 || n_lb > 0 || n_ext > 0;
    const gboolean uses_cluster = !int_local || (ext_access && !ext_local);
    const gboolean uses_local = int_local || (ext_access && ext_local);
    const gint hc_port = (in->type == K8S_SVC_LOAD_BALANCER && ext_local)
                             ? in->health_check_node_port
                             : 0;

    KpCategories cat;
    categorize(eps, uses_cluster, uses_local, &cat);
    const gboolean has_eps = cat.has_any;
    const gboolean uses_svc = cat.cluster->len > 0 && uses_cluster;
    const gboolean uses_svl = cat.local->len > 0 && uses_local;
    const char *internal_chain = int_local ? svl_chain : svc_chain;
    const gboolean has_internal =
        has_eps && !(int_local && cat.local->len == 0);
    const char *external_policy_chain = ext_local ? svl_chain : svc_chain;
    const gboolean has_external =
        has_eps && !(ext_local && cat.local->len == 0);
    const gboolean uses_ext = has_eps && ext_access;
    g_autoptr(GPtrArray) ranges = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < strv_len0(in->source_ranges); i++) {
        g_autofree char *s = g_strstrip(g_strdup(in->source_ranges[i]));
        guint32 a = 0;
        guint len = 32;
        if (!ipv4_parse_cidr(s, &a, &len)) {
            continue; /* kube-proxy drops unparsable ranges */
        }
        char net[IPV4_TEXT_MAX];
        ipv4_format(len == 0 ? 0 : a & (0xffffffffu << (32 - len)), net);
        g_ptr_array_add(ranges, g_strdup_printf("%s/%u", net, len));
    }
    const gboolean uses_fw = has_eps && n_lb > 0 && ranges->len > 0;
    const char *lb_chain = uses_fw ? fw_chain : ext_chain;

    const char *int_comment_fmt = NULL;
    const char *ext_comment_fmt = NULL;
    KpTargetKind int_verdict = KP_T_REJECT;
    KpTargetKind ext_verdict = KP_T_REJECT;
    if (!has_eps) {
        int_comment_fmt = ext_comment_fmt = "%s has no endpoints";
    } else {
        if (!has_internal) {
            int_verdict = KP_T_DROP;
            int_comment_fmt = "%s has no local endpoints";
        }
        if (!has_external) {
            ext_verdict = KP_T_DROP;
            ext_comment_fmt = "%s has no local endpoints";
        }
    }

    /* Capture the clusterIP (K-6, K-15, K-16). */
    if (has_internal) {
        g_autofree char *c = g_strdup_printf("%s cluster IP", spn);
        rb_begin(b);
        rb_comment(b, c, TRUE);
        rb_proto(b, proto);
        rb_dst(b, in->cluster_ip, FALSE);
        rb_dport(b, in->port);
        rb_jump(b, KP_TABLE_NAT, "KUBE-SERVICES", internal_chain);
    } else {
        g_autofree char *c = g_strdup_printf(int_comment_fmt, spn);
        rb_begin(b);
        rb_comment(b, c, TRUE);
        rb_proto(b, proto);
        rb_dst(b, in->cluster_ip, FALSE);
        rb_dport(b, in->port);
        rb_verdict(b, KP_TABLE_FILTER, "KUBE-SERVICES", int_verdict);
    }

    /* Capture externalIPs. */
    for (guint i = 0; i < n_ext; i++) {
        if (!is_ipv4_addr(in->external_ips[i])) {
            continue;
        }
        if (has_eps) {
            g_autofree char *c = g_strdup_printf("%s external IP", spn);
            rb_begin(b);
            rb_comment(b, c, TRUE);
            rb_proto(b, proto);
            rb_dst(b, in->external_ips[i], FALSE);
            rb_dport(b, in->port);
            rb_jump(b, KP_TABLE_NAT, "KUBE-SERVICES", ext_chain);
        }
        if (!has_external) {
            g_autofree char *c = g_strdup_printf(ext_comment_fmt, spn);
            rb_begin(b);
            rb_comment(b, c, TRUE);
            rb_proto(b, proto);
            rb_dst(b, in->external_ips[i], FALSE);
            rb_dport(b, in->port);
            rb_verdict(b, KP_TABLE_FILTER, "KUBE-EXTERNAL-SERVICES",
                       ext_verdict);
        }
    }

    /* Capture load-balancer ingress (K-17). */
    for (guint i = 0; i < n_lb; i++) {
        if (!is_ipv4_addr(in->lb_ips[i])) {
            continue;
        }
        if (has_eps) {
            g_autofree char *c = g_strdup_printf("%s loadbalancer IP", spn);
            rb_begin(b);
            rb_comment(b, c, TRUE);
            rb_proto(b, proto);
            rb_dst(b, in->lb_ips[i], FALSE);
            rb_dport(b, in->port);
            rb_jump(b, KP_TABLE_NAT, "KUBE-SERVICES", lb_chain);
        }
        if (uses_fw) {
            g_autofree char *c =
                g_strdup_printf("%s traffic not accepted by %s", spn, fw_chain);
            rb_begin(b);
            rb_comment(b, c, TRUE);
            rb_proto(b, proto);
            rb_dst(b, in->lb_ips[i], FALSE);
            rb_dport(b, in->port);
            rb_verdict(b, KP_TABLE_FILTER, "KUBE-PROXY-FIREWALL", KP_T_DROP);
        }
    }
    if (!has_external) {
        for (guint i = 0; i < n_lb; i++) {
            if (!is_ipv4_addr(in->lb_ips[i])) {
                continue;
            }
            g_autofree char *c = g_strdup_printf(ext_comment_fmt, spn);
            rb_begin(b);
            rb_comment(b, c, TRUE);
            rb_proto(b, proto);
            rb_dst(b, in->lb_ips[i], FALSE);
            rb_dport(b, in->port);
            rb_verdict(b, KP_TABLE_FILTER, "KUBE-EXTERNAL-SERVICES",
                       ext_verdict);
        }
    }

    /* Capture nodeports (K-11); NodePorts ignore loadBalancerSourceRanges. */
    if (in->node_port != 0) {
        if (has_eps) {
            if (b->cfg->localhost_nodeports && b->cfg->nfacct) {
                rb_begin(b);
                rb_comment(b, spn, FALSE);
                rb_proto(b, proto);
                rb_dst(b, "127.0.0.0/8", FALSE);
                rb_dport(b, in->node_port);
                rb_nfacct(b, "localhost_nps_accepted_pkts");
                rb_jump(b, KP_TABLE_NAT, "KUBE-NODEPORTS", ext_chain);
            }
            rb_begin(b);
            rb_comment(b, spn, FALSE);
            rb_proto(b, proto);
            rb_dport(b, in->node_port);
            rb_jump(b, KP_TABLE_NAT, "KUBE-NODEPORTS", ext_chain);
        }
        if (!has_external) {
            g_autofree char *c = g_strdup_printf(ext_comment_fmt, spn);
            rb_begin(b);
            rb_comment(b, c, TRUE);
            rb_add(b, KP_M_DST_TYPE_LOCAL);
            rb_proto(b, proto);
            rb_dport(b, in->node_port);
            rb_verdict(b, KP_TABLE_FILTER, "KUBE-EXTERNAL-SERVICES",
                       ext_verdict);
        }
    }

    /* Capture healthCheckNodePorts (K-18). */
    if (hc_port != 0) {
        g_autofree char *c = g_strdup_printf("%s health check node port", spn);
        rb_begin(b);
        rb_comment(b, c, TRUE);
        rb_proto(b, "tcp");
        rb_dport(b, hc_port);
        rb_verdict(b, KP_TABLE_FILTER, "KUBE-NODEPORTS", KP_T_ACCEPT);
    }

    /* Internal traffic: masquerade off-cluster sources (K-6). */
    if (has_internal && (b->cfg->masquerade_all || b->detector)) {
        g_autofree char *c = g_strdup_printf("%s cluster IP", spn);
        rb_begin(b);
        rb_comment(b, c, TRUE);
        rb_proto(b, proto);
        rb_dst(b, in->cluster_ip, FALSE);
        rb_dport(b, in->port);
        if (!b->cfg->masquerade_all) {
            rb_src(b, b->cidr, TRUE);
        }
        rb_jump(b, KP_TABLE_NAT, internal_chain, "KUBE-MARK-MASQ");
    }

    /* The EXT chain (K-12, K-13). */
    if (uses_ext) {
        chain_get(b, KP_TABLE_NAT, ext_chain, TRUE);
        if (!ext_local) {
            g_autofree char *c = g_strdup_printf(
                "masquerade traffic for %s external destinations", spn);
            rb_begin(b);
            rb_comment(b, c, TRUE);
            rb_jump(b, KP_TABLE_NAT, ext_chain, "KUBE-MARK-MASQ");
        } else {
            if (b->detector) {
                g_autofree char *c = g_strdup_printf(
                    "pod traffic for %s external destinations", spn);
                rb_begin(b);
                rb_comment(b, c, TRUE);
                rb_src(b, b->cidr, FALSE);
                rb_jump(b, KP_TABLE_NAT, ext_chain, svc_chain);
            }
            g_autofree char *c1 = g_strdup_printf(
                "masquerade LOCAL traffic for %s external destinations", spn);
            rb_begin(b);
            rb_comment(b, c1, TRUE);
            rb_add(b, KP_M_SRC_TYPE_LOCAL);
            rb_jump(b, KP_TABLE_NAT, ext_chain, "KUBE-MARK-MASQ");
            g_autofree char *c2 = g_strdup_printf(
                "route LOCAL traffic for %s external destinations", spn);
            rb_begin(b);
            rb_comment(b, c2, TRUE);
            rb_add(b, KP_M_SRC_TYPE_LOCAL);
            rb_jump(b, KP_TABLE_NAT, ext_chain, svc_chain);
        }
        if (has_external) {
            rb_begin(b);
            rb_jump(b, KP_TABLE_NAT, ext_chain, external_policy_chain);
        }
    }

    /* The firewall chain for loadBalancerSourceRanges (K-17). */
    if (uses_fw) {
        chain_get(b, KP_TABLE_NAT, fw_chain, TRUE);
        g_autofree char *c = g_strdup_printf("%s loadbalancer IP", spn);
        gboolean allow_node = FALSE;
        for (guint i = 0; i < ranges->len; i++) {
            const char *r = ranges->pdata[i];
            rb_begin(b);
            rb_comment(b, c, TRUE);
            rb_src(b, r, FALSE);
            rb_jump(b, KP_TABLE_NAT, fw_chain, ext_chain);
            guint32 a = 0;
            guint32 m = 0;
            kube_proxy__parse_ipv4(r, &a, &m);
            allow_node =
                allow_node || (b->have_node_ip && (b->node_ip & m) == a);
        }
        if (allow_node) {
            for (guint i = 0; i < n_lb; i++) {
                if (!is_ipv4_addr(in->lb_ips[i])) {
                    continue;
                }
                rb_begin(b);
                rb_comment(b, c, TRUE);
                rb_src(b, in->lb_ips[i], FALSE);
                rb_jump(b, KP_TABLE_NAT, fw_chain, ext_chain);
            }
        }
        g_autofree char *tail = g_strdup_printf(
            "other traffic to %s will be dropped by KUBE-PROXY-FIREWALL", spn);
        rb_begin(b);
        rb_comment(b, tail, TRUE);
        rb_verdict(b, KP_TABLE_NAT, fw_chain, KP_T_NONE);
    }

    /* Policy chains (K-7, K-10). */
    if (uses_svc) {
        chain_get(b, KP_TABLE_NAT, svc_chain, TRUE);
        write_endpoint_rules(b, spn, in, svc_chain, cat.cluster);
    }
    if (uses_svl) {
        chain_get(b, KP_TABLE_NAT, svl_chain, TRUE);
        write_endpoint_rules(b, spn, in, svl_chain, cat.local);
    }

    /* Endpoint chains (K-9). */
    for (guint i = 0; i < cat.reachable->len; i++) {
        const KpEp *e = cat.reachable->pdata[i];
        chain_get(b, KP_TABLE_NAT, e->chain, TRUE);
        rb_begin(b);
        rb_svc_comment(b, spn, FALSE);
        rb_src(b, e->ea->ip, FALSE);
        rb_jump(b, KP_TABLE_NAT, e->chain, "KUBE-MARK-MASQ");
        rb_begin(b);
        rb_svc_comment(b, spn, FALSE);
        if (in->affinity_client_ip) {
            rb_recent_set(b, e->chain);
        }
        rb_proto(b, proto);
        rb_dnat(b, e->chain, e->ip, e->ea->port, e->ipport);
    }
    categories_clear(&cat);
}

/* ---- the fixed rules ----------------------------------------------------- */

/* The jump rules kube-proxy prepends to the built-in chains, in the order a
 * fresh start leaves them (each EnsureRule(Prepend) puts its rule first, so
 * the last of iptablesJumpChains + iptablesKubeletJumpChains for a chain
 * ends up first). Cite: proxier.go iptablesJumpChains,
 * iptablesKubeletJumpChains. */
static void write_hooks(KpBuild *b)
{
    KubeProxyTable *t = b->t;
    static const char ext[] = "kubernetes externally-visible service portals";
    static const char hc[] = "kubernetes health check service ports";
    static const char svc[] = "kubernetes service portals";
    static const char fwd[] = "kubernetes forwarding rules";
    static const char lbfw[] = "kubernetes load balancer firewall";
    static const char post[] = "kubernetes postrouting rules";
    /* Per built-in chain in the order the rules end up: the jump, its
     * comment (NULL: none) and whether it matches only NEW connections. */
    static const struct {
        KpTableId table;
        const char *from, *to, *comment;
        gboolean ct_new;
    } jumps[] = {
        { KP_TABLE_FILTER, "INPUT", "KUBE-FIREWALL", NULL, FALSE },
        { KP_TABLE_FILTER, "INPUT", "KUBE-PROXY-FIREWALL", lbfw, TRUE },
        { KP_TABLE_FILTER, "INPUT", "KUBE-NODEPORTS", hc, FALSE },
        { KP_TABLE_FILTER, "INPUT", "KUBE-EXTERNAL-SERVICES", ext, TRUE },
        { KP_TABLE_FILTER, "FORWARD", "KUBE-PROXY-FIREWALL", lbfw, TRUE },
        { KP_TABLE_FILTER, "FORWARD", "KUBE-FORWARD", fwd, FALSE },
        { KP_TABLE_FILTER, "FORWARD", "KUBE-SERVICES", svc, TRUE },
        { KP_TABLE_FILTER, "FORWARD", "KUBE-EXTERNAL-SERVICES", ext, TRUE },
        { KP_TABLE_FILTER, "OUTPUT", "KUBE-FIREWALL", NULL, FALSE },
        { KP_TABLE_FILTER, "OUTPUT", "KUBE-PROXY-FIREWALL", lbfw, TRUE },
        { KP_TABLE_FILTER, "OUTPUT", "KUBE-SERVICES", svc, TRUE },
        { KP_TABLE_NAT, "PREROUTING", "KUBE-SERVICES", svc, FALSE },
        { KP_TABLE_NAT, "OUTPUT", "KUBE-SERVICES", svc, FALSE },
        { KP_TABLE_NAT, "POSTROUTING", "KUBE-POSTROUTING", post, FALSE },
    };
    const char *prev = b->svc;
    b->svc = NULL;

    t->hook_filter_input = chain_builtin(b, KP_TABLE_FILTER, "INPUT");
    t->hook_filter_forward = chain_builtin(b, KP_TABLE_FILTER, "FORWARD");
    t->hook_filter_output = chain_builtin(b, KP_TABLE_FILTER, "OUTPUT");
    t->hook_nat_prerouting = chain_builtin(b, KP_TABLE_NAT, "PREROUTING");
    t->hook_nat_output = chain_builtin(b, KP_TABLE_NAT, "OUTPUT");
    t->hook_nat_postrouting = chain_builtin(b, KP_TABLE_NAT, "POSTROUTING");
    for (guint i = 0; i < G_N_ELEMENTS(jumps); i++) {
        rb_begin(b);
        if (jumps[i].ct_new) {
            rb_ctstate(b, KP_CT_NEW, FALSE);
        }
        if (jumps[i].comment != NULL) {
            rb_comment(b, jumps[i].comment, TRUE);
        }
        rb_jump(b, jumps[i].table, jumps[i].from, jumps[i].to);
    }
    b->svc = prev;
}

/* The top-level chains and the rules every sync writes (K-2, K-3, K-4). */
static void write_fixed_head(KpBuild *b)
{
    static const char *const filter_top[] = {
        "KUBE-SERVICES",  "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD",
        "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL",
    };
    static const char *const nat_top[] = {
        "KUBE-SERVICES",
        "KUBE-NODEPORTS",
        "KUBE-POSTROUTING",
        "KUBE-MARK-MASQ",
    };
    for (guint i = 0; i < G_N_ELEMENTS(filter_top); i++) {
        chain_get(b, KP_TABLE_FILTER, filter_top[i], TRUE);
    }
    for (guint i = 0; i < G_N_ELEMENTS(nat_top); i++) {
        chain_get(b, KP_TABLE_NAT, nat_top[i], TRUE);
    }
    /* KUBE-FIREWALL always exists (kubelet and kube-proxy EnsureChain it);
     * kube-proxy fills it only for localhost NodePorts. */
    chain_get(b, KP_TABLE_FILTER, "KUBE-FIREWALL", FALSE);

    rb_begin(b);
    rb_mark(b, TRUE);
    rb_verdict(b, KP_TABLE_NAT, "KUBE-POSTROUTING", KP_T_RETURN);
    rb_begin(b);
    rb_markop(b, "KUBE-POSTROUTING", KP_T_MARK_XOR);
    rb_begin(b);
    rb_comment(b, "kubernetes service traffic requiring SNAT", TRUE);
    {
        KpRule r = { 0 };
        r.target = KP_T_MASQUERADE;
        r.random_fully = b->cfg->random_fully;
        rb_end(b, KP_TABLE_NAT, "KUBE-POSTROUTING", r);
    }
    rb_begin(b);
    rb_markop(b, "KUBE-MARK-MASQ", KP_T_MARK_OR);

    if (b->cfg->localhost_nodeports) {
        chain_get(b, KP_TABLE_FILTER, "KUBE-FIREWALL", TRUE);
        rb_begin(b);
        rb_comment(b, "block incoming localnet connections", TRUE);
        rb_dst(b, "127.0.0.0/8", FALSE);
        rb_src(b, "127.0.0.0/8", TRUE);
        rb_ctstate(b, KP_CT_RELATED | KP_CT_ESTABLISHED | KP_CT_DNAT, TRUE);
        rb_verdict(b, KP_TABLE_FILTER, "KUBE-FIREWALL", KP_T_DROP);
    }
}

static void write_fixed_tail(KpBuild *b)
{
    /* K-4: the NodePort catch-all must be the last rule of KUBE-SERVICES
     * (nodePortAddresses unset: match all local addresses). */
    rb_begin(b);
    rb_comment(b,
               "kubernetes service nodeports; NOTE: this must be the "
               "last rule in this chain",
               TRUE);
    rb_add(b, KP_M_DST_TYPE_LOCAL);
    if (!b->cfg->localhost_nodeports) {
        rb_dst(b, "127.0.0.0/8", TRUE);
    }
    rb_jump(b, KP_TABLE_NAT, "KUBE-SERVICES", "KUBE-NODEPORTS");

    /* K-3 */
    if (!b->cfg->tcp_be_liberal) {
        rb_begin(b);
        rb_ctstate(b, KP_CT_INVALID, FALSE);
        if (b->cfg->nfacct) {
            rb_nfacct(b, "ct_state_invalid_dropped_pkts");
        }
        rb_verdict(b, KP_TABLE_FILTER, "KUBE-FORWARD", KP_T_DROP);
    }
    rb_begin(b);
    rb_comment(b, "kubernetes forwarding rules", TRUE);
    rb_mark(b, FALSE);
    rb_verdict(b, KP_TABLE_FILTER, "KUBE-FORWARD", KP_T_ACCEPT);
    rb_begin(b);
    rb_comment(b, "kubernetes forwarding conntrack rule", TRUE);
    rb_ctstate(b, KP_CT_RELATED | KP_CT_ESTABLISHED, FALSE);
    rb_verdict(b, KP_TABLE_FILTER, "KUBE-FORWARD", KP_T_ACCEPT);
}

/* ---- finishing ----------------------------------------------------------- */

/* sortIPTablesRules() order of proxier_test.go: KUBE-NODEPORTS,
 * KUBE-SERVICES, other KUBE-* by name, then the rest by name. */
static int chain_rank(const char *n)
{
    if (strcmp(n, "KUBE-NODEPORTS") == 0) {
        return 0;
    }
    if (strcmp(n, "KUBE-SERVICES") == 0) {
        return 1;
    }
    return g_str_has_prefix(n, "KUBE-") ? 2 : 3;
}

static gint chain_order_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
    const KubeProxyTable *t = data;
    const KpChain *x = g_ptr_array_index(t->chains, *(const guint *)a);
    const KpChain *y = g_ptr_array_index(t->chains, *(const guint *)b);
    int rx = chain_rank(x->name);
    int ry = chain_rank(y->name);
    if (rx != ry) {
        return rx < ry ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

static guint64 key_dst_port(guint32 dst, gint proto, gint port)
{
    return ((guint64)dst << 32) | ((guint64)(proto & 0xff) << 16) |
           (guint64)(port & 0xffff);
}

static guint64 key_port(gint proto, gint port)
{
    return ((guint64)1 << 40) | ((guint64)(proto & 0xff) << 16) |
           (guint64)(port & 0xffff);
}

static void index_add(GHashTable *h, guint64 key, guint rule)
{
    GArray *a = g_hash_table_lookup(h, &key);
    if (a == NULL) {
        gint64 *k = g_new(gint64, 1);
        *k = (gint64)key;
        a = g_array_new(FALSE, FALSE, sizeof(guint));
        g_hash_table_insert(h, k, a);
    }
    g_array_append_val(a, rule);
}

/* See KpChainIndex. */
static KpChainIndex *chain_index_build(const KpChain *c)
{
    KpChainIndex *ix = g_new0(KpChainIndex, 1);
    ix->by_dst_port = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                            (GDestroyNotify)g_array_unref);
    ix->by_port = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                        (GDestroyNotify)g_array_unref);
    ix->any = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < c->rules->len; i++) {
        const KpRule *r = &g_array_index(c->rules, KpRule, i);
        const KpMatch *dst = NULL;
        gint proto = -1;
        gint port = -1;
        for (guint j = 0; j < r->n_matches; j++) {
            const KpMatch *m = &r->matches[j];
            if (m->kind == KP_M_DST) {
                dst = m;
            } else if (m->kind == KP_M_PROTO) {
                proto = m->num;
            } else if (m->kind == KP_M_DPORT) {
                port = m->num;
            }
        }
        if (proto >= 0 && port >= 0 && dst != NULL && !dst->negate &&
            dst->mask == 0xffffffffu) {
            index_add(ix->by_dst_port, key_dst_port(dst->addr, proto, port), i);
        } else if (proto >= 0 && port >= 0) {
            index_add(ix->by_port, key_port(proto, port), i);
        } else {
            g_array_append_val(ix->any, i);
        }
    }
    return ix;
}

/* Fills the walk's layout of @r's matches (see KpRule). */
static void rule_lay_out(KpRule *r)
{
    r->hdr = 0;
    r->n_ext = 0;
    for (guint j = 0; j < r->n_matches; j++) {
        const KpMatch *m = &r->matches[j];
        switch (m->kind) {
        case KP_M_SRC:
            g_assert(!(r->hdr & KP_HDR_SRC));
            r->hdr |= KP_HDR_SRC | (m->negate ? KP_HDR_SRC_NEG : 0);
            r->hdr_src = m->addr;
            r->hdr_src_mask = m->mask;
            break;
        case KP_M_DST:
            g_assert(!(r->hdr & KP_HDR_DST));
            r->hdr |= KP_HDR_DST | (m->negate ? KP_HDR_DST_NEG : 0);
            r->hdr_dst = m->addr;
            r->hdr_dst_mask = m->mask;
            break;
        case KP_M_PROTO:
            g_assert(!(r->hdr & KP_HDR_PROTO));
            r->hdr |= KP_HDR_PROTO;
            r->hdr_proto = m->num;
            break;
        case KP_M_COMMENT:
        case KP_M_NFACCT:
            break;
        default:
            g_assert(r->n_ext < KP_MAX_EXT);
            r->ext[r->n_ext++] = (guint8)j;
            break;
        }
    }
}

static void table_finish(KpBuild *b)
{
    KubeProxyTable *t = b->t;
    for (guint i = 0; i < t->chains->len; i++) {
        KpChain *c = g_ptr_array_index(t->chains, i);
        for (guint j = 0; j < c->rules->len; j++) {
            rule_lay_out(&g_array_index(c->rules, KpRule, j));
        }
        if (!c->builtin) {
            g_array_append_val(t->order[c->table], i);
        }
        if (c->declared) {
            t->n_rules[c->table] += c->rules->len;
        }
        if (c->rules->len >= KP_INDEX_MIN) {
            c->index = chain_index_build(c);
        }
    }
    for (guint i = 0; i < KP_N_TABLES; i++) {
        g_array_sort_with_data(t->order[i], chain_order_cmp, t);
    }
}

/* Stable sort of Service ports by "namespace/name" (see kube_proxy_save()). */
static gint port_in_cmp(gconstpointer a, gconstpointer b)
{
    const KpServicePortIn *x = *(const KpServicePortIn *const *)a;
    const KpServicePortIn *y = *(const KpServicePortIn *const *)b;
    int c = strcmp(x->ns, y->ns);
    if (c != 0) {
        /* Compare "ns/name" byte-wise: '/' sorts before letters. */
        g_autofree char *sx = g_strconcat(x->ns, "/", x->name, NULL);
        g_autofree char *sy = g_strconcat(y->ns, "/", y->name, NULL);
        return strcmp(sx, sy);
    }
    return strcmp(x->name, y->name);
}

static char *service_port_name(const KpServicePortIn *in)
{
    if (in->port_name != NULL && in->port_name[0] != '\0') {
        return g_strdup_printf("%s/%s:%s", in->ns, in->name, in->port_name);
    }
    return g_strdup_printf("%s/%s", in->ns, in->name);
}

/* K-18: remembers a LoadBalancer Service with eTP Local and counts its
 * local Ready endpoints by distinct IP over all its ports (endpointsmap.go
 * LocalReadyEndpoints(); terminating endpoints are not Ready). @seen holds
 * "ns/name|ip" strings already counted. */
static void health_add(KubeProxyTable *t,
                       GHashTable *seen,
                       const KpServicePortIn *in,
                       GArray *eps)
{
    const gboolean ext_local =
        service_external(in) && in->external_policy == K8S_POLICY_LOCAL;
    if (in->type != K8S_SVC_LOAD_BALANCER || !ext_local ||
        in->health_check_node_port == 0) {
        return;
    }
    g_autofree char *svc = g_strdup_printf("%s/%s", in->ns, in->name);
    KpHealth *h = NULL;
    for (guint i = 0; i < t->health->len && h == NULL; i++) {
        KpHealth *x = &g_array_index(t->health, KpHealth, i);
        if (strcmp(x->service, svc) == 0) {
            h = x;
        }
    }
    if (h == NULL) {
        KpHealth nh = { 0 };
        nh.port = in->health_check_node_port;
        nh.service = g_strdup(svc);
        g_array_append_val(t->health, nh);
        h = &g_array_index(t->health, KpHealth, t->health->len - 1);
    }
    for (guint i = 0; i < eps->len; i++) {
        const KpEp *e = &g_array_index(eps, KpEp, i);
        if (!e->local || !e->ea->ready) {
            continue;
        }
        char *key = g_strdup_printf("%s|%s", svc, e->ea->ip);
        if (g_hash_table_add(seen, key)) {
            h->local_ready++;
        }
    }
}

KubeProxyTable *kube_proxy__compile(const KpServicePortIn *ports,
                                    guint n_ports,
                                    const char *node_name,
                                    const char *node_ip,
                                    const char *const *extra_local,
                                    const KubeProxyConfig *cfg)
{
    g_return_val_if_fail(ports != NULL || n_ports == 0, NULL);
    g_return_val_if_fail(cfg != NULL, NULL);
    g_return_val_if_fail(cfg->masquerade_bit < 32, NULL);

    KpBuild b = { 0 };
    b.t = table_new(node_name);
    b.cfg = cfg;
    b.m = g_array_new(FALSE, TRUE, sizeof(KpMatch));
    b.mark_value = 1u << cfg->masquerade_bit;
    g_snprintf(b.mark, sizeof b.mark, "0x%x", b.mark_value);
    if (cfg->cluster_cidr != NULL && cfg->cluster_cidr[0] != '\0' &&
        kube_proxy__parse_ipv4(cfg->cluster_cidr, NULL, NULL)) {
        b.detector = TRUE;
        b.cidr = kp_str(&b, cfg->cluster_cidr);
    }
    guint32 a = 0;
    if (kube_proxy__parse_ipv4(node_ip, &a, NULL)) {
        g_array_append_val(b.t->local_addrs, a);
        b.node_ip = a;
        b.have_node_ip = TRUE;
    }
    for (guint i = 0; extra_local != NULL && extra_local[i] != NULL; i++) {
        if (kube_proxy__parse_ipv4(extra_local[i], &a, NULL)) {
            g_array_append_val(b.t->local_addrs, a);
        }
    }

    /* Visit order and the endpointsMap of every proxied Service port. */
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();
    for (guint i = 0; i < n_ports; i++) {
        const KpServicePortIn *in = &ports[i];
        if (!is_ipv4_addr(in->cluster_ip) || in->port <= 0) {
            continue; /* headless, ExternalName or not IPv4 */
        }
        g_ptr_array_add(sorted, (gpointer)in);
    }
    g_ptr_array_sort(sorted, port_in_cmp); /* GLib: merge sort, stable */
    g_autoptr(GPtrArray) all_eps =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) protos = g_ptr_array_new_with_free_func(g_free);
    guint total = 0;
    for (guint i = 0; i < sorted->len; i++) {
        const KpServicePortIn *in = sorted->pdata[i];
        char *spn = service_port_name(in);
        char *proto =
            g_ascii_strdown(in->protocol != NULL ? in->protocol : "TCP", -1);
        GArray *eps = endpoints_collect(in, node_name, spn, proto);
        total += eps->len;
        g_ptr_array_add(names, spn);
        g_ptr_array_add(protos, proto);
        g_ptr_array_add(all_eps, eps);
    }
    b.t->large_cluster = total > KP_LARGE_CLUSTER_ENDPOINTS;
    g_autoptr(GHashTable) hc_seen =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    write_hooks(&b);
    write_fixed_head(&b);
    for (guint i = 0; i < sorted->len; i++) {
        const KpServicePortIn *in = sorted->pdata[i];
        b.svc = names->pdata[i];
        write_service_port(&b, in, all_eps->pdata[i], names->pdata[i],
                           protos->pdata[i]);
        health_add(b.t, hc_seen, in, all_eps->pdata[i]);
    }
    b.svc = NULL;
    write_fixed_tail(&b);
    table_finish(&b);
    g_array_unref(b.m);
    return b.t;
}

/* ---- sync pacing (K-20) -------------------------------------------------- */

#define KP_SYNC_BURST 2 /* proxier.go NewProxier(): burstSyncs := 2 */

void kube_proxy_sync_limiter_init(KubeProxySyncLimiter *l,
                                  const KubeProxyConfig *cfg)
{
    g_return_if_fail(l != NULL && cfg != NULL);
    l->credit = KP_SYNC_BURST * cfg->min_sync_period;
    l->at = 0;
    l->last_run = G_MININT64 / 2;
    l->pending = -1;
}

/* Refills the bucket up to @t (flowcontrol token bucket, qps = 1/min). */
static void limiter_refill(KubeProxySyncLimiter *l, SimTime cap, SimTime t)
{
    if (t > l->at) {
        l->credit = MIN(cap, l->credit + (t - l->at));
        l->at = t;
    }
}

SimTime kube_proxy_sync_limiter_request(KubeProxySyncLimiter *l,
                                        const KubeProxyConfig *cfg,
                                        SimTime now)
{
    g_return_val_if_fail(l != NULL && cfg != NULL, now);
    const SimTime period = cfg->min_sync_period;
    const SimTime cap = KP_SYNC_BURST * period;
    if (l->pending >= now) {
        return l->pending; /* joins the run already scheduled */
    }
    limiter_refill(l, cap, now);
    if (l->credit >= period) { /* TryAccept() succeeds: run now */
        l->credit -= period;
        l->last_run = now;
        l->pending = now;
        return now;
    }
    /* tryRun(): retry at lastRun + minInterval; the bucket has refilled a
     * whole token since lastRun by then, so that try succeeds. */
    const SimTime t = l->last_run + period;
    limiter_refill(l, cap, t);
    g_assert(l->credit >= period);
    l->credit -= period;
    l->last_run = t;
    l->pending = t;
    return t;
}

/* ---- from a Cluster ------------------------------------------------------ */

/* Scalars of a sequence at @path of @doc (@field: a key inside each item, or
 * NULL for the items themselves) into @out, NULL-terminated by the caller. */
static void doc_strings(const YNode *doc,
                        const char *path,
                        const char *field,
                        GPtrArray *out)
{
    const YNode *seq = ynode_path(doc, path);
    for (guint i = 0; i < ynode_len(seq) && seq->kind == YNODE_SEQ; i++) {
        const YNode *item = ynode_at(seq, i);
        const char *s =
            ynode_str(field != NULL ? ynode_get(item, field) : item);
        if (s != NULL) {
            g_ptr_array_add(out, (gpointer)s);
        }
    }
}

KubeProxyTable *kube_proxy_sync(const Cluster *c,
                                const EndpointSet *es,
                                const K8sNode *node,
                                const KubeProxyConfig *cfg)
{
    g_return_val_if_fail(c != NULL, NULL);
    g_return_val_if_fail(node != NULL, NULL);
    KubeProxyConfig defaults;
    kube_proxy_config_init_default(&defaults);
    if (cfg == NULL) {
        g_free(defaults.cluster_cidr);
        defaults.cluster_cidr = g_strdup(c->net.cluster_cidr);
        cfg = &defaults;
    }
    g_autoptr(GArray) ins = g_array_new(FALSE, TRUE, sizeof(KpServicePortIn));
    g_autoptr(GPtrArray) keep =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    for (guint i = 0; i < c->services->len; i++) {
        const K8sService *s = g_ptr_array_index(c->services, i);
        if (s->type == K8S_SVC_EXTERNAL_NAME || s->cluster_ip == NULL ||
            g_ascii_strcasecmp(s->cluster_ip, "None") == 0) {
            continue; /* not proxied (serviceport.go / IsServiceIPSet) */
        }
        GPtrArray *ext = g_ptr_array_new();
        GPtrArray *lb = g_ptr_array_new();
        GPtrArray *ranges = g_ptr_array_new();
        doc_strings(s->meta.doc, "spec.externalIPs", NULL, ext);
        doc_strings(s->meta.doc, "spec.loadBalancerSourceRanges", NULL, ranges);
        if (s->type == K8S_SVC_LOAD_BALANCER) {
            doc_strings(s->meta.doc, "status.loadBalancer.ingress", "ip", lb);
        }
        g_ptr_array_add(ext, NULL);
        g_ptr_array_add(lb, NULL);
        g_ptr_array_add(ranges, NULL);
        g_ptr_array_add(keep, ext);
        g_ptr_array_add(keep, lb);
        g_ptr_array_add(keep, ranges);
        for (guint j = 0; j < s->ports->len; j++) {
            const K8sServicePort *sp =
                &g_array_index(s->ports, K8sServicePort, j);
            const GArray *eps =
                es != NULL ? endpoint_set_lookup(es, s, sp) : NULL;
            KpServicePortIn in = { 0 };
            in.ns = s->meta.ns;
            in.name = s->meta.name;
            in.type = s->type;
            in.port_name = sp->name;
            in.protocol = sp->protocol;
            in.cluster_ip = s->cluster_ip;
            in.port = sp->port;
            in.node_port = sp->node_port;
            in.health_check_node_port = s->health_check_node_port;
            in.external_policy = s->external_policy;
            in.internal_policy = s->internal_policy;
            in.affinity_client_ip = s->affinity_client_ip;
            in.affinity_timeout = s->affinity_timeout;
            in.external_ips = (const char *const *)ext->pdata;
            in.lb_ips = (const char *const *)lb->pdata;
            in.source_ranges = (const char *const *)ranges->pdata;
            in.endpoints = eps != NULL ? (const EndpointAddr *)eps->data : NULL;
            in.n_endpoints = eps != NULL ? eps->len : 0;
            g_array_append_val(ins, in);
        }
    }
    KubeProxyTable *t =
        kube_proxy__compile((const KpServicePortIn *)ins->data, ins->len,
                            node->name, node->ip, NULL, cfg);
    kube_proxy_config_clear(&defaults);
    return t;
}

gint kube_proxy_health_check(const KubeProxyTable *t,
                             gint port,
                             gint *local_endpoints)
{
    g_return_val_if_fail(t != NULL, 0);
    if (local_endpoints != NULL) {
        *local_endpoints = 0;
    }
    for (guint i = 0; i < t->health->len; i++) {
        const KpHealth *h = &g_array_index(t->health, KpHealth, i);
        if (h->port == port) {
            if (local_endpoints != NULL) {
                *local_endpoints = h->local_ready;
            }
            /* service_health.go: 200 iff localEndpoints != 0 (and
             * kube-proxy healthy, which a running node's is here). */
            return h->local_ready > 0 ? 200 : 503;
        }
    }
    return 0;
}

int kube_proxy_cli_print(const Cluster *c,
                         const EndpointSet *es,
                         const char *node_name,
                         GError **error)
{
    g_return_val_if_fail(c != NULL, 1);
    g_return_val_if_fail(error == NULL || *error == NULL, 1);
    const K8sNode *node = NULL;
    if (node_name == NULL) {
        node = c->nodes->len > 0 ? g_ptr_array_index(c->nodes, 0) : NULL;
    } else {
        node = cluster_find_node(c, node_name);
    }
    if (node == NULL) {
        g_autoptr(GString) list = g_string_new(NULL);
        for (guint i = 0; i < c->nodes->len; i++) {
            const K8sNode *n = g_ptr_array_index(c->nodes, i);
            g_string_append_printf(list, "%s%s", i > 0 ? ", " : "", n->name);
        }
        g_set_error(error, KUBE_PROXY_ERROR, KUBE_PROXY_ERROR_UNKNOWN_NODE,
                    "error: unknown node '%s' (nodes: %s)",
                    node_name != NULL ? node_name : "",
                    list->len > 0 ? list->str : "none");
        return 1;
    }
    g_autoptr(KubeProxyTable) t = kube_proxy_sync(c, es, node, NULL);
    g_autofree char *text = kube_proxy_save(t);
    fputs(text, stdout);
    fflush(stdout);
    return 0;
}
