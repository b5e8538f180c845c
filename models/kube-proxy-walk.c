/* kube-proxy-walk.c: the first packet of a connection through one node's
 * compiled rules (nat PREROUTING/OUTPUT, routing, filter, nat POSTROUTING)
 * and the xt_recent lists behind ClientIP affinity (step 3; models -> sim).
 * Cite: netfilter x_tables traversal (ipt_do_table), xt_statistic.c,
 * xt_recent.c; kubernetes pkg/proxy/iptables/proxier.go for the rules. */
#include "config.h"

#include <string.h>

#include "models/ipv4.h"
#include "models/kube-proxy-private.h"

/* xt_recent.c module parameter ip_list_tot: addresses per list. */
#define KP_RECENT_LIST_TOT 100
/* Deepest chain nesting the walk follows (the rules use 5 at most:
 * hook -> KUBE-SERVICES -> EXT -> SVC -> SEP -> KUBE-MARK-MASQ). */
#define KP_MAX_DEPTH 16

/* ---- xt_recent ----------------------------------------------------------- */

/* One address on a list (a recent_entry). Only the newest stamp matters for
 * --rcheck --seconds without --hitcount, so only it is kept. */
typedef struct {
    guint32 src;   /* source address, host order */
    SimTime stamp; /* last --set */
} KpRecentEntry;

/* A list (a recent_table): entries by address, and in LRU order (head =
 * least recently set), which is what the kernel evicts and reaps. */
typedef struct {
    GHashTable *by_src; /* GUINT_TO_POINTER(src) -> GList* link in lru */
    GQueue lru;         /* KpRecentEntry*, owned */
} KpRecentList;

struct _KubeProxyState {
    GHashTable *lists; /* char* name (owned) -> KpRecentList* (owned) */
};

static void recent_list_free(gpointer p)
{
    KpRecentList *l = p;
    g_hash_table_unref(l->by_src);
    g_queue_clear_full(&l->lru, g_free);
    g_free(l);
}

KubeProxyState *kube_proxy_state_new(void)
{
    KubeProxyState *s = g_new0(KubeProxyState, 1);
    s->lists = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     recent_list_free);
    return s;
}

void kube_proxy_state_free(KubeProxyState *s)
{
    if (s == NULL) {
        return;
    }
    g_hash_table_unref(s->lists);
    g_free(s);
}

guint kube_proxy_state_count(const KubeProxyState *s, const char *name)
{
    g_return_val_if_fail(s != NULL, 0);
    g_return_val_if_fail(name != NULL, 0);
    const KpRecentList *l = g_hash_table_lookup(s->lists, name);
    return l != NULL ? l->lru.length : 0;
}

void kube_proxy_state_prune(KubeProxyState *s, const KubeProxyTable *t)
{
    g_return_if_fail(s != NULL);
    g_return_if_fail(t != NULL);
    GHashTableIter it;
    gpointer key = NULL;
    g_hash_table_iter_init(&it, s->lists);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        gboolean used = FALSE;
        for (guint i = 0; i < t->recent_names->len && !used; i++) {
            used = strcmp(t->recent_names->pdata[i], key) == 0;
        }
        if (!used) {
            g_hash_table_iter_remove(&it);
        }
    }
}

static KpRecentList *
recent_list(KubeProxyState *s, const char *name, gboolean create)
{
    KpRecentList *l = g_hash_table_lookup(s->lists, name);
    if (l == NULL && create) {
        l = g_new0(KpRecentList, 1);
        l->by_src = g_hash_table_new(g_direct_hash, g_direct_equal);
        g_queue_init(&l->lru);
        g_hash_table_insert(s->lists, g_strdup(name), l);
    }
    return l;
}

static void recent_remove(KpRecentList *l, GList *link)
{
    KpRecentEntry *e = link->data;
    g_hash_table_remove(l->by_src, GUINT_TO_POINTER(e->src));
    g_queue_delete_link(&l->lru, link);
    g_free(e);
}

/* --set: recent_entry_init() (evicting the LRU head when the list is full)
 * or recent_entry_update() (stamp, move to the LRU tail). */
static void
recent_set(KubeProxyState *s, const char *name, guint32 src, SimTime now)
{
    KpRecentList *l = recent_list(s, name, TRUE);
    GList *link = g_hash_table_lookup(l->by_src, GUINT_TO_POINTER(src));
    if (link != NULL) {
        KpRecentEntry *e = link->data;
        e->stamp = now;
        g_queue_unlink(&l->lru, link);
        g_queue_push_tail_link(&l->lru, link);
        return;
    }
    if (l->lru.length >= KP_RECENT_LIST_TOT) {
        recent_remove(l, l->lru.head);
    }
    KpRecentEntry *e = g_new0(KpRecentEntry, 1);
    e->src = src;
    e->stamp = now;
    g_queue_push_tail(&l->lru, e);
    g_hash_table_insert(l->by_src, GUINT_TO_POINTER(src), l->lru.tail);
}

/* --rcheck --seconds S --reap: matches when @src was set less than S
 * seconds ago (time_after(stamp, now - S)); --reap then drops the list's
 * least recently set entry if it is that old and not the one checked
 * (recent_entry_reap()). A miss on an absent address changes nothing. */
static gboolean recent_rcheck(
    KubeProxyState *s, const char *name, guint32 src, gint seconds, SimTime now)
{
    KpRecentList *l = recent_list(s, name, FALSE);
    if (l == NULL) {
        return FALSE;
    }
    GList *link = g_hash_table_lookup(l->by_src, GUINT_TO_POINTER(src));
    if (link == NULL) {
        return FALSE;
    }
    const SimTime horizon = now - (SimTime)seconds * SIM_S;
    GList *head = l->lru.head;
    if (head != link && ((KpRecentEntry *)head->data)->stamp <= horizon) {
        recent_remove(l, head);
    }
    return ((KpRecentEntry *)link->data)->stamp > horizon;
}

/* ---- traversal ----------------------------------------------------------- */

typedef enum {
    KP_W_CONTINUE, /* fell off the chain or RETURN */
    KP_W_ACCEPT,   /* ACCEPT */
    KP_W_DROP,     /* DROP */
    KP_W_REJECT,   /* REJECT */
    KP_W_DNAT,     /* DNAT (nat: the packet is translated and accepted) */
    KP_W_MASQ,     /* MASQUERADE (nat POSTROUTING) */
} KpWalkResult;

/* One packet's journey; the packet fields change as NAT applies. */
typedef struct {
    const KubeProxyTable *t;      /* rules */
    KubeProxyState *state;        /* nullable */
    Rng *rng;                     /* statistic draws */
    SimTime now;                  /* for recent */
    Trace *tr;                    /* nullable */
    const char *node;             /* for the trace */
    guint32 src;                  /* source address */
    guint32 dst;                  /* destination address (after DNAT) */
    gint dport;                   /* destination port (after DNAT) */
    gint proto;                   /* IP protocol number */
    const char *proto_name;       /* "tcp" */
    gboolean src_local;           /* src-type LOCAL */
    guint32 mark;                 /* skb mark */
    guint32 ct;                   /* KP_CT_* of the connection */
    gboolean dnat;                /* translated */
    const KpRule *decider;        /* rule that gave the final verdict */
    const KpChain *decider_chain; /* its chain */
} KpWalk;

static const char *table_name(KpTableId t)
{
    return t == KP_TABLE_FILTER ? "filter" : "nat";
}

static void trace_rule(KpWalk *w, const KpChain *c, const KpRule *r)
{
    if (w->tr == NULL) {
        return;
    }
    g_autoptr(GString) line = g_string_new(NULL);
    kube_proxy__rule_text(w->t, c, r, line);
    g_autofree char *what = NULL;
    switch (r->target) {
    case KP_T_JUMP: {
        const KpChain *to = g_ptr_array_index(w->t->chains, r->jump);
        what = g_strdup_printf("jump to %s", to->name);
        break;
    }
    case KP_T_DNAT:
        what = g_strdup_printf("DNAT to %s", r->dnat_text);
        break;
    case KP_T_MARK_OR:
        what = g_strdup("mark for masquerade");
        break;
    case KP_T_MARK_XOR:
        what = g_strdup("clear the masquerade mark");
        break;
    case KP_T_MASQUERADE:
        what = g_strdup("masquerade (SNAT to the node's address)");
        break;
    case KP_T_RETURN:
        what = g_strdup("return");
        break;
    case KP_T_ACCEPT:
        what = g_strdup("accept");
        break;
    case KP_T_DROP:
        what = g_strdup("drop");
        break;
    case KP_T_REJECT:
        what = g_strdup("reject (icmp-port-unreachable)");
        break;
    case KP_T_NONE:
        what = g_strdup("no target (falls through)");
        break;
    }
    trace_addf(w->tr, 3, "kube-proxy", w->node, w->now, line->str, "%s %s: %s",
               table_name(c->table), c->name, what);
}

static gboolean addr_match(const KpMatch *m, guint32 a)
{
    return ((a & m->mask) == m->addr) != m->negate;
}

/* A rule's matches, in the kernel's order: the IP header part (-s, -d, -p)
 * first, then the extensions in rule order, so statistic draws and recent
 * updates happen only for packets that got that far. */
static gboolean rule_matches(KpWalk *w, const KpRule *r)
{
    for (guint i = 0; i < r->n_matches; i++) {
        const KpMatch *m = &r->matches[i];
        if ((m->kind == KP_M_SRC && !addr_match(m, w->src)) ||
            (m->kind == KP_M_DST && !addr_match(m, w->dst)) ||
            (m->kind == KP_M_PROTO && m->num != w->proto)) {
            return FALSE;
        }
    }
    for (guint i = 0; i < r->n_matches; i++) {
        const KpMatch *m = &r->matches[i];
        gboolean ok = TRUE;
        switch (m->kind) {
        case KP_M_COMMENT:
        case KP_M_NFACCT:
        case KP_M_SRC:
        case KP_M_DST:
        case KP_M_PROTO:
            break;
        case KP_M_DPORT:
            ok = w->dport == m->num;
            break;
        case KP_M_SRC_TYPE_LOCAL:
            ok = w->src_local || kube_proxy__is_local(w->t, w->src);
            break;
        case KP_M_DST_TYPE_LOCAL:
            ok = kube_proxy__is_local(w->t, w->dst);
            break;
        case KP_M_STATISTIC:
            /* xt_statistic: (get_random_u32() & 0x7FFFFFFF) < prob */
            ok = (rng_u32(w->rng) & 0x7fffffffu) < m->value;
            break;
        case KP_M_RECENT_RCHECK:
            ok = w->state != NULL &&
                 recent_rcheck(w->state, m->text, w->src, m->num, w->now);
            break;
        case KP_M_RECENT_SET:
            if (w->state != NULL) {
                recent_set(w->state, m->text, w->src, w->now);
            }
            break;
        case KP_M_MARK:
            ok = ((w->mark & m->value) == m->value) != m->negate;
            break;
        case KP_M_CTSTATE:
            ok = ((w->ct & m->value) != 0) != m->negate;
            break;
        }
        if (!ok) {
            return FALSE;
        }
    }
    return TRUE;
}

/* Evaluates one rule that matched; returns what it means for the chain. */
static KpWalkResult
apply(KpWalk *w, const KpChain *c, const KpRule *r, guint depth);

static KpWalkResult run_chain(KpWalk *w, guint ci, guint depth)
{
    const KpChain *c = g_ptr_array_index(w->t->chains, ci);
    g_assert(depth < KP_MAX_DEPTH);
    if (c->index == NULL) {
        for (guint i = 0; i < c->rules->len; i++) {
            const KpRule *r = &g_array_index(c->rules, KpRule, i);
            if (rule_matches(w, r)) {
                KpWalkResult v = apply(w, c, r, depth);
                if (v != KP_W_CONTINUE || r->target == KP_T_RETURN) {
                    return v;
                }
            }
        }
        return KP_W_CONTINUE;
    }
    /* Indexed: merge the rule lists filed under the packet's keys. */
    const KpChainIndex *ix = c->index;
    gint64 k1 =
        (gint64)(((guint64)w->dst << 32) | ((guint64)(w->proto & 0xff) << 16) |
                 (guint64)(w->dport & 0xffff));
    gint64 k2 =
        (gint64)(((guint64)1 << 40) | ((guint64)(w->proto & 0xff) << 16) |
                 (guint64)(w->dport & 0xffff));
    const GArray *lists[3] = { g_hash_table_lookup(ix->by_dst_port, &k1),
                               g_hash_table_lookup(ix->by_port, &k2), ix->any };
    guint pos[3] = { 0, 0, 0 };
    for (;;) {
        guint best = G_MAXUINT;
        guint which = 0;
        for (guint l = 0; l < 3; l++) {
            if (lists[l] != NULL && pos[l] < lists[l]->len) {
                guint ri = g_array_index(lists[l], guint, pos[l]);
                if (ri < best) {
                    best = ri;
                    which = l;
                }
            }
        }
        if (best == G_MAXUINT) {
            return KP_W_CONTINUE;
        }
        pos[which]++;
        const KpRule *r = &g_array_index(c->rules, KpRule, best);
        if (rule_matches(w, r)) {
            KpWalkResult v = apply(w, c, r, depth);
            if (v != KP_W_CONTINUE || r->target == KP_T_RETURN) {
                return v;
            }
        }
    }
}

static KpWalkResult
apply(KpWalk *w, const KpChain *c, const KpRule *r, guint depth)
{
    trace_rule(w, c, r);
    switch (r->target) {
    case KP_T_NONE:
        return KP_W_CONTINUE;
    case KP_T_JUMP:
        return run_chain(w, r->jump, depth + 1);
    case KP_T_RETURN:
        return KP_W_CONTINUE;
    case KP_T_MARK_OR:
        w->mark |= r->value;
        return KP_W_CONTINUE;
    case KP_T_MARK_XOR:
        w->mark ^= r->value;
        return KP_W_CONTINUE;
    case KP_T_ACCEPT:
        return KP_W_ACCEPT;
    case KP_T_DROP:
        w->decider = r;
        w->decider_chain = c;
        return KP_W_DROP;
    case KP_T_REJECT:
        w->decider = r;
        w->decider_chain = c;
        return KP_W_REJECT;
    case KP_T_DNAT:
        w->decider = r;
        w->decider_chain = c;
        w->dnat = TRUE;
        w->dst = r->value;
        w->dport = r->port;
        w->ct |= KP_CT_DNAT;
        return KP_W_DNAT;
    case KP_T_MASQUERADE:
        return KP_W_MASQ;
    }
    g_assert_not_reached();
}

/* ---- the walk ------------------------------------------------------------ */

const char *kube_proxy_verdict_name(KpVerdict v)
{
    switch (v) {
    case KP_ACCEPT_LOCAL:
        return "ACCEPT_LOCAL";
    case KP_DNAT:
        return "DNAT";
    case KP_REJECT:
        return "REJECT";
    case KP_DROP:
        return "DROP";
    case KP_FORWARD:
        return "FORWARD";
    }
    return "?";
}

static gint proto_of(const char *p, const char **name)
{
    static const struct {
        const char *name;
        gint num;
    } protos[] = { { "tcp", 6 }, { "udp", 17 }, { "sctp", 132 } };
    for (guint i = 0; i < G_N_ELEMENTS(protos); i++) {
        if (g_ascii_strcasecmp(p, protos[i].name) == 0) {
            *name = protos[i].name;
            return protos[i].num;
        }
    }
    return -1;
}

void kube_proxy_walk(const KubeProxyTable *t,
                     KubeProxyState *state,
                     const KpPacket *pkt,
                     Rng *rng,
                     SimTime now,
                     KpResult *out,
                     Trace *tr,
                     const char *node_name)
{
    g_return_if_fail(out != NULL);
    memset(out, 0, sizeof *out);
    out->verdict = KP_ACCEPT_LOCAL;
    g_return_if_fail(t != NULL);
    g_return_if_fail(pkt != NULL && pkt->proto != NULL);
    g_return_if_fail(rng != NULL);
    KpWalk w = { 0 };
    w.t = t;
    w.state = state;
    w.rng = rng;
    w.now = now;
    w.tr = tr;
    w.node = node_name != NULL ? node_name : t->node_name;
    w.dport = pkt->dst_port;
    w.proto = proto_of(pkt->proto, &w.proto_name);
    w.src_local = pkt->src_local;
    w.ct = KP_CT_NEW;
    /* Parse outside the checks: G_DISABLE_CHECKS removes them. */
    const gboolean src_ok = kube_proxy__parse_ipv4(pkt->src_ip, &w.src, NULL);
    const gboolean dst_ok = kube_proxy__parse_ipv4(pkt->dst_ip, &w.dst, NULL);
    g_return_if_fail(w.proto > 0);
    g_return_if_fail(src_ok && dst_ok);

    /* nat PREROUTING (arriving) or OUTPUT (sent by the node). */
    KpWalkResult v = run_chain(
        &w, pkt->src_local ? t->hook_nat_output : t->hook_nat_prerouting, 0);
    g_assert(v == KP_W_CONTINUE || v == KP_W_DNAT || v == KP_W_ACCEPT);

    /* Routing decision on the (translated) destination, then filter. */
    const gboolean local = kube_proxy__is_local(t, w.dst);
    guint filter = pkt->src_local ? t->hook_filter_output
                                  : (local ? t->hook_filter_input
                                           : t->hook_filter_forward);
    v = run_chain(&w, filter, 0);
    if (v == KP_W_DROP || v == KP_W_REJECT) {
        out->verdict = v == KP_W_DROP ? KP_DROP : KP_REJECT;
    } else {
        /* nat POSTROUTING for packets that leave the host stack. */
        if (!local || pkt->src_local) {
            out->masquerade =
                run_chain(&w, t->hook_nat_postrouting, 0) == KP_W_MASQ;
        }
        out->verdict =
            w.dnat ? KP_DNAT : (local ? KP_ACCEPT_LOCAL : KP_FORWARD);
    }
    if (w.dnat && out->verdict == KP_DNAT) {
        out->dnat_addr = w.dst;
        ipv4_format(w.dst, out->dnat_ip);
        out->dnat_port = w.dport;
    }
    if (w.decider != NULL) {
        out->rule_comment = w.decider->comment;
        out->svc_port_name = w.decider->svc_port;
        if (w.decider->target == KP_T_DNAT && out->verdict == KP_DNAT) {
            out->endpoint_chain = w.decider_chain->name;
        }
    }
    if (tr != NULL) {
        const char *vn = kube_proxy_verdict_name(out->verdict);
        if (out->verdict == KP_DNAT) {
            g_autofree char *to =
                g_strdup_printf("%s:%d", out->dnat_ip, out->dnat_port);
            trace_addf(tr, 3, "kube-proxy", w.node, now,
                       out->masquerade ? "KUBE-MARK-MASQ set the mark; "
                                         "KUBE-POSTROUTING masquerades"
                                       : "no masquerade mark: the client "
                                         "address is kept",
                       "DNAT to %s%s", to,
                       out->masquerade ? ", source NATed to the node" : "");
            trace_set(tr, "kube_proxy.dnat", to);
        } else {
            trace_addf(tr, 3, "kube-proxy", w.node, now,
                       out->rule_comment != NULL ? out->rule_comment : NULL,
                       "%s", vn);
        }
        trace_set(tr, "kube_proxy.verdict", vn);
    }
}
