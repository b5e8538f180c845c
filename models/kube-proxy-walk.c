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

/* ---- the walk memo -------------------------------------------------------
 * Why: a walk visits some 25 rules (3,400 instructions, a third of a
 * simulated request), yet for one packet (source, destination, port,
 * protocol) on one table the only thing that can differ from one walk to
 * the next is the statistic draws (K-8). So the memo keeps, per packet, the
 * tree of those draws: each node one statistic rule's threshold, each leaf
 * the result the walk reached. Following it draws exactly the values the
 * walk would draw, in the same order, and ends where the walk would end;
 * an unexplored branch puts the stream back where the memo found it and
 * runs the real walk once, which draws the same values again, and files
 * what it found. A walk that touched the recent lists
 * (ClientIP affinity: state, not just the packet) is never memoized, nor a
 * traced one (the trace wants every rule). */
#define KP_MEMO_DEPTH 64      /* statistic rules one memoized walk may pass */
#define KP_MEMO_FLOWS 16384   /* packets remembered before starting over */
/* The source address enters a walk only through -s tests and
 * --src-type LOCAL (recent lists make a walk uncacheable anyway), so
 * sources that pass and fail the same tests walk alike: the memo keys on
 * that class, not on the address. Thousands of clients then share a few
 * memos that stay in cache, where keying on the address made one per
 * client, each cold and each walked for real first. Beyond this many
 * distinct -s tests (one per endpoint, from the hairpin rules, so big
 * clusters) the class would not fit a word: the address is the key. */
#define KP_SRC_TESTS 62
/* Memos found lately, by key hash: most lookups end here. */
#define KP_MEMO_HOT_BITS 6
#define KP_MEMO_HOT (1u << KP_MEMO_HOT_BITS)
/* Source classes worked out lately, by address (clients are many, but a
 * run's are few thousand at most). */
#define KP_SRC_HOT_BITS 10
#define KP_SRC_HOT (1u << KP_SRC_HOT_BITS)
#define KP_SRC_CLASS (G_GUINT64_CONSTANT(1) << 63) /* key.src is a class */

typedef struct {
    guint64 src; /* KP_SRC_CLASS | test bits, or the address itself */
    guint32 dst;
    gint dport, proto;
    gboolean src_local;
} KpFlowKey;

typedef struct {
    guint32 threshold; /* the statistic rule's lround(p * 2^31) */
    gint32 next[2];    /* [no match, match]: >= 0 a node, <= -2 leaf
                        * -(i + 2), -1 not walked yet */
} KpMemoNode;

typedef struct {
    KpFlowKey key;
    gboolean uncacheable; /* it touched the recent lists */
    gint32 root;          /* as KpMemoNode.next */
    GArray *nodes;        /* KpMemoNode */
    GArray *leaves;       /* KpResult */
} KpMemo;

struct _KubeProxyState {
    GHashTable *lists; /* char* name (owned) -> KpRecentList* (owned) */
    guint64 memo_serial; /* table the memos describe (0: none) */
    GHashTable *memos;   /* KpFlowKey* (in the KpMemo) -> KpMemo*, owned */
    KpMemo *hot[KP_MEMO_HOT]; /* borrowed from memos, by memo_for()'s
                               * hash (not flow_hash(): see there) */
    /* The table's distinct -s tests (mask, address), for the class. */
    guint n_src_tests;
    gboolean src_by_class; /* FALSE: more than KP_SRC_TESTS of them */
    guint32 src_mask[KP_SRC_TESTS], src_addr[KP_SRC_TESTS];
    struct {
        guint32 src;   /* 0: empty */
        guint64 key;   /* its src_key() */
    } src_hot[KP_SRC_HOT]; /* for the table memo_serial names */
};

static guint flow_hash(gconstpointer p)
{
    const KpFlowKey *k = p;
    guint64 h = (k->src * 0x9E3779B97F4A7C15ull) ^
                ((guint64)k->dst * 0xC2B2AE3D27D4EB4Full) ^
                ((guint64)(guint)k->dport << 17) ^ ((guint64)(guint)k->proto << 3) ^
                (guint64)(k->src_local != 0);
    return (guint)(h ^ (h >> 32));
}

static gboolean flow_equal(gconstpointer a, gconstpointer b)
{
    const KpFlowKey *x = a, *y = b;
    return x->src == y->src && x->dst == y->dst && x->dport == y->dport &&
           x->proto == y->proto && !x->src_local == !y->src_local;
}

static void memo_free(gpointer p)
{
    KpMemo *m = p;
    if (m->nodes != NULL) {
        g_array_unref(m->nodes);
    }
    if (m->leaves != NULL) {
        g_array_unref(m->leaves);
    }
    g_free(m);
}

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
    s->memos = g_hash_table_new_full(flow_hash, flow_equal, NULL, memo_free);
    return s;
}

void kube_proxy_state_free(KubeProxyState *s)
{
    if (s == NULL) {
        return;
    }
    g_hash_table_unref(s->lists);
    g_hash_table_unref(s->memos);
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
    /* Statistic draws, for the memo: the first KP_MEMO_DEPTH are
     * recorded. */
    guint n_draws;
    guint32 *thresholds;          /* [KP_MEMO_DEPTH], not zeroed: */
    guint32 *draws;               /* only the first n_draws are read */
    gboolean touched_state;       /* a recent match ran */
} KpWalk;

/* xt_statistic: (get_random_u32() & 0x7FFFFFFF) < prob */
static guint32 walk_draw(KpWalk *w, guint32 threshold)
{
    guint32 v = rng_u32(w->rng) & 0x7fffffffu;
    if (w->n_draws < KP_MEMO_DEPTH) {
        w->thresholds[w->n_draws] = threshold;
        w->draws[w->n_draws] = v;
    }
    w->n_draws++;
    return v;
}

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

/* A rule's matches, in the kernel's order: the IP header part (-s, -d, -p)
 * first, then the extensions in rule order, so statistic draws and recent
 * updates happen only for packets that got that far. */
static gboolean rule_matches(KpWalk *w, const KpRule *r)
{
    const guint h = r->hdr;
    if (((h & KP_HDR_SRC) &&
         ((w->src & r->hdr_src_mask) == r->hdr_src) == !!(h & KP_HDR_SRC_NEG)) ||
        ((h & KP_HDR_DST) &&
         ((w->dst & r->hdr_dst_mask) == r->hdr_dst) == !!(h & KP_HDR_DST_NEG)) ||
        ((h & KP_HDR_PROTO) && r->hdr_proto != w->proto)) {
        return FALSE;
    }
    for (guint i = 0; i < r->n_ext; i++) {
        const KpMatch *m = &r->matches[r->ext[i]];
        gboolean ok = TRUE;
        switch (m->kind) {
        case KP_M_COMMENT:
        case KP_M_NFACCT:
        case KP_M_SRC:
        case KP_M_DST:
        case KP_M_PROTO:
            g_assert_not_reached(); /* not in ext (rule_lay_out) */
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
            ok = walk_draw(w, m->value) < m->value;
            break;
        case KP_M_RECENT_RCHECK:
            w->touched_state = TRUE;
            ok = w->state != NULL &&
                 recent_rcheck(w->state, m->text, w->src, m->num, w->now);
            break;
        case KP_M_RECENT_SET:
            w->touched_state = TRUE;
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
        /* As the path writes it: the same literal, which the linker
         * usually merges with ours, so the pointers mostly match. */
        if (p == protos[i].name || strcmp(p, protos[i].name) == 0) {
            *name = protos[i].name;
            return protos[i].num;
        }
    }
    for (guint i = 0; i < G_N_ELEMENTS(protos); i++) {
        if (g_ascii_strcasecmp(p, protos[i].name) == 0) {
            *name = protos[i].name;
            return protos[i].num;
        }
    }
    return -1;
}

/* proto_of() of "tcp", as the path writes every packet, without a call:
 * byte by byte, so a shorter string stops at its NUL. */
static inline gint proto_of_usual(const char *p, const char **name)
{
    if (p[0] == 't' && p[1] == 'c' && p[2] == 'p' && p[3] == '\0') {
        *name = "tcp";
        return 6;
    }
    return proto_of(p, name);
}

/* The walk itself, @w set up for the packet; fills @out (zeroed). */
static void walk_packet(KpWalk *w, KpResult *out)
{
    /* nat PREROUTING (arriving) or OUTPUT (sent by the node). */
    KpWalkResult v = run_chain(
        w, w->src_local ? w->t->hook_nat_output : w->t->hook_nat_prerouting, 0);
    g_assert(v == KP_W_CONTINUE || v == KP_W_DNAT || v == KP_W_ACCEPT);

    /* Routing decision on the (translated) destination, then filter. */
    const gboolean local = kube_proxy__is_local(w->t, w->dst);
    guint filter = w->src_local ? w->t->hook_filter_output
                                  : (local ? w->t->hook_filter_input
                                           : w->t->hook_filter_forward);
    v = run_chain(w, filter, 0);
    if (v == KP_W_DROP || v == KP_W_REJECT) {
        out->verdict = v == KP_W_DROP ? KP_DROP : KP_REJECT;
    } else {
        /* nat POSTROUTING for packets that leave the host stack. */
        if (!local || w->src_local) {
            out->masquerade =
                run_chain(w, w->t->hook_nat_postrouting, 0) == KP_W_MASQ;
        }
        out->verdict =
            w->dnat ? KP_DNAT : (local ? KP_ACCEPT_LOCAL : KP_FORWARD);
    }
    if (w->dnat && out->verdict == KP_DNAT) {
        out->dnat_addr = w->dst;
        ipv4_format(w->dst, out->dnat_ip);
        out->dnat_port = w->dport;
    }
    if (w->decider != NULL) {
        out->rule_comment = w->decider->comment;
        out->svc_port_name = w->decider->svc_port;
        if (w->decider->target == KP_T_DNAT && out->verdict == KP_DNAT) {
            out->endpoint_chain = w->decider_chain->name;
        }
    }
    if (w->tr != NULL) {
        const char *vn = kube_proxy_verdict_name(out->verdict);
        if (out->verdict == KP_DNAT) {
            g_autofree char *to =
                g_strdup_printf("%s:%d", out->dnat_ip, out->dnat_port);
            trace_addf(w->tr, 3, "kube-proxy", w->node, w->now,
                       out->masquerade ? "KUBE-MARK-MASQ set the mark; "
                                         "KUBE-POSTROUTING masquerades"
                                       : "no masquerade mark: the client "
                                         "address is kept",
                       "DNAT to %s%s", to,
                       out->masquerade ? ", source NATed to the node" : "");
            trace_set(w->tr, "kube_proxy.dnat", to);
        } else {
            trace_addf(w->tr, 3, "kube-proxy", w->node, w->now,
                       out->rule_comment != NULL ? out->rule_comment : NULL,
                       "%s", vn);
        }
        trace_set(w->tr, "kube_proxy.verdict", vn);
    }
}

/* Gathers @t's distinct -s tests into @s, for src_key(). */
static void src_tests_collect(KubeProxyState *s, const KubeProxyTable *t)
{
    s->n_src_tests = 0;
    s->src_by_class = TRUE;
    for (guint ci = 0; ci < t->chains->len && s->src_by_class; ci++) {
        const KpChain *c = g_ptr_array_index(t->chains, ci);
        for (guint i = 0; i < c->rules->len; i++) {
            const KpRule *r = &g_array_index(c->rules, KpRule, i);
            if (!(r->hdr & KP_HDR_SRC)) {
                continue;
            }
            guint k = 0;
            while (k < s->n_src_tests && (s->src_mask[k] != r->hdr_src_mask ||
                                          s->src_addr[k] != r->hdr_src)) {
                k++;
            }
            if (k < s->n_src_tests) {
                continue;
            }
            if (k == KP_SRC_TESTS) {
                s->src_by_class = FALSE;
                break;
            }
            s->src_mask[k] = r->hdr_src_mask;
            s->src_addr[k] = r->hdr_src;
            s->n_src_tests++;
        }
    }
}

/* src_key() of an address not in its hot slot @hot. */
static G_NO_INLINE guint64 src_key_miss(KubeProxyState *s,
                                        const KubeProxyTable *t,
                                        guint32 src,
                                        guint hot)
{
    guint64 k = KP_SRC_CLASS;
    for (guint i = 0; i < s->n_src_tests; i++) {
        k |= (guint64)((src & s->src_mask[i]) == s->src_addr[i]) << i;
    }
    k |= (guint64)kube_proxy__is_local(t, src) << KP_SRC_TESTS;
    s->src_hot[hot].src = src;
    s->src_hot[hot].key = k;
    return k;
}

/* What of @src a walk on @t can see (see KP_SRC_TESTS). */
static inline guint64
src_key(KubeProxyState *s, const KubeProxyTable *t, guint32 src)
{
    if (!s->src_by_class) {
        return src;
    }
    guint hot = (src * 2654435769u) >> (32 - KP_SRC_HOT_BITS);
    if (G_LIKELY(s->src_hot[hot].src == src && src != 0)) {
        return s->src_hot[hot].key;
    }
    return src_key_miss(s, t, src, hot);
}

/* memo_for() when @t is not the table the memos describe: they all go,
 * and the -s tests are gathered anew. */
static G_NO_INLINE void memo_restart(KubeProxyState *s, const KubeProxyTable *t)
{
    g_hash_table_remove_all(s->memos);
    memset(s->hot, 0, sizeof s->hot);
    src_tests_collect(s, t);
    memset(s->src_hot, 0, sizeof s->src_hot);
    s->memo_serial = t->serial;
}

/* memo_for() past the hot slots: the table of all memos, then a new one
 * (everything forgotten first when too many are remembered). */
static G_NO_INLINE KpMemo *
memo_find(KubeProxyState *s, const KpFlowKey *key, guint h)
{
    KpMemo *m = g_hash_table_lookup(s->memos, key);
    if (m == NULL) {
        if (g_hash_table_size(s->memos) >= KP_MEMO_FLOWS) {
            g_hash_table_remove_all(s->memos);
            memset(s->hot, 0, sizeof s->hot);
        }
        m = g_new0(KpMemo, 1);
        m->key = *key;
        m->root = -1;
        g_hash_table_insert(s->memos, &m->key, m);
    }
    s->hot[h] = m;
    return m;
}

/* The memo for a packet on @t, made when absent. Starts over when the
 * table changed or too many packets are remembered. Inline up to the hot
 * slots, where most lookups end. */
static inline KpMemo *memo_for(KubeProxyState *s,
                               const KubeProxyTable *t,
                               guint32 src,
                               guint32 dst,
                               gint dport,
                               gint proto,
                               gboolean src_local)
{
    if (G_UNLIKELY(s->memo_serial != t->serial)) {
        memo_restart(s, t);
    }
    KpFlowKey key = { src_key(s, t, src), dst, dport, proto, src_local != 0 };
    /* The top bits of a multiplicative hash: one node's flows differ
     * mostly by port, so the port lands in the high half. */
    guint64 x =
        (key.src ^ ((guint64)dst << 23) ^ ((guint64)(guint)dport << 40) ^
         (guint64)(guint)proto ^ ((guint64)key.src_local << 8)) *
        G_GUINT64_CONSTANT(0x9E3779B97F4A7C15);
    guint h = (guint)(x >> (64 - KP_MEMO_HOT_BITS));
    KpMemo *m = s->hot[h];
    if (G_LIKELY(m != NULL && flow_equal(&m->key, &key))) {
        return m;
    }
    return memo_find(s, &key, h);
}

/* Files the walk @w just made (its draws and its result) in @m. */
static void memo_add(KpMemo *m, const KpWalk *w, const KpResult *res)
{
    if (w->touched_state) {
        m->uncacheable = TRUE;
        return;
    }
    if (w->n_draws > KP_MEMO_DEPTH) {
        return; /* too deep to keep: walked for real each time */
    }
    if (m->nodes == NULL) {
        m->nodes = g_array_new(FALSE, FALSE, sizeof(KpMemoNode));
        m->leaves = g_array_new(FALSE, FALSE, sizeof(KpResult));
    }
    gint32 leaf = -(gint32)m->leaves->len - 2;
    g_array_append_val(m->leaves, *res);
    /* Follow the draws from the root; make nodes past the known part. */
    gint32 node = -1; /* the node whose branch we are at; -1: the root */
    guint branch = 0;
    for (guint i = 0; i <= w->n_draws; i++) {
        gint32 next = node < 0 ? m->root
                               : g_array_index(m->nodes, KpMemoNode, node)
                                     .next[branch];
        if (i == w->n_draws || next == -1) {
            if (i == w->n_draws) {
                g_assert(next == -1);
                next = leaf;
            } else {
                KpMemoNode n = { w->thresholds[i], { -1, -1 } };
                g_array_append_val(m->nodes, n); /* may move the array */
                next = (gint32)m->nodes->len - 1;
            }
            if (node < 0) {
                m->root = next;
            } else {
                g_array_index(m->nodes, KpMemoNode, node).next[branch] = next;
            }
            if (i == w->n_draws) {
                break;
            }
        }
        node = next;
        const KpMemoNode *n = &g_array_index(m->nodes, KpMemoNode, node);
        g_assert(n->threshold == w->thresholds[i]);
        branch = w->draws[i] < n->threshold;
    }
}

/* Follows @m's tree with fresh draws from @rng. TRUE: a leaf, copied to
 * @out; FALSE: a branch nobody walked, and @rng put back as it was, so
 * that the real walk draws the same values again. */
static inline gboolean memo_follow(const KpMemo *m, Rng *rng, KpResult *out)
{
    const Rng before = *rng;
    gint32 at = m->root;
    for (guint n = 0; at >= 0 && n < KP_MEMO_DEPTH; n++) {
        const KpMemoNode *node = &g_array_index(m->nodes, KpMemoNode, at);
        guint32 v = rng_u32(rng) & 0x7fffffffu;
        at = node->next[v < node->threshold];
    }
    if (G_LIKELY(at <= -2)) {
        *out = g_array_index(m->leaves, KpResult, -at - 2);
        return TRUE;
    }
    *rng = before;
    return FALSE;
}

/* kube_proxy_walk() past its memo: a walk for real, filed in @memo when
 * there is one. Apart, so that the memo's path does not set up this one's
 * frame of a few hundred bytes on every packet. */
static G_GNUC_NO_INLINE void walk_unmemoized(const KubeProxyTable *t,
                                             KubeProxyState *state,
                                             const KpPacket *pkt,
                                             Rng *rng,
                                             SimTime now,
                                             KpResult *out,
                                             Trace *tr,
                                             const char *node_name,
                                             KpMemo *memo,
                                             gint proto,
                                             const char *proto_name)
{
    memset(out, 0, sizeof *out);
    out->verdict = KP_ACCEPT_LOCAL;
    g_return_if_fail(t != NULL);
    g_return_if_fail(pkt != NULL && pkt->proto != NULL);
    g_return_if_fail(rng != NULL);
    guint32 thresholds[KP_MEMO_DEPTH], draws[KP_MEMO_DEPTH];
    KpWalk w = { 0 };
    w.thresholds = thresholds;
    w.draws = draws;
    w.t = t;
    w.state = state;
    w.rng = rng;
    w.now = now;
    w.tr = tr;
    w.node = node_name != NULL ? node_name : t->node_name;
    w.dport = pkt->dst_port;
    w.proto = proto;
    w.proto_name = proto_name;
    w.src_local = pkt->src_local;
    w.ct = KP_CT_NEW;
    /* Parse outside the checks: G_DISABLE_CHECKS removes them. */
    gboolean src_ok = TRUE, dst_ok = TRUE;
    if (pkt->src_addr != 0) {
        w.src = pkt->src_addr;
    } else {
        src_ok = kube_proxy__parse_ipv4(pkt->src_ip, &w.src, NULL);
    }
    if (pkt->dst_addr != 0) {
        w.dst = pkt->dst_addr;
    } else {
        dst_ok = kube_proxy__parse_ipv4(pkt->dst_ip, &w.dst, NULL);
    }
    g_return_if_fail(w.proto > 0);
    g_return_if_fail(src_ok && dst_ok);
    if (memo == NULL && state != NULL && tr == NULL) {
        /* Addresses given as text: the memo once they are parsed. */
        memo = memo_for(state, t, w.src, w.dst, w.dport, w.proto,
                        w.src_local);
        if (!memo->uncacheable && memo_follow(memo, rng, out)) {
            return;
        }
    }
    walk_packet(&w, out);
    if (memo != NULL && !memo->uncacheable) {
        memo_add(memo, &w, out);
    }
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
    /* The memo first: most walks end there, before any set-up. */
    KpMemo *memo = NULL;
    const char *proto_name = NULL;
    gint proto = pkt != NULL && pkt->proto != NULL
                     ? proto_of_usual(pkt->proto, &proto_name)
                     : 0;
    if (state != NULL && tr == NULL && t != NULL && rng != NULL &&
        proto > 0 && pkt->src_addr != 0 && pkt->dst_addr != 0) {
        memo = memo_for(state, t, pkt->src_addr, pkt->dst_addr,
                        pkt->dst_port, proto, pkt->src_local);
        if (G_LIKELY(!memo->uncacheable) && memo_follow(memo, rng, out)) {
            return;
        }
    }
    walk_unmemoized(t, state, pkt, rng, now, out, tr, node_name, memo, proto,
                    proto_name);
}

