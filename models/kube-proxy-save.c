/* kube-proxy-save.c: prints a compiled KubeProxyTable as iptables-save /
 * iptables-restore text, one "-A" line per KpRule, arguments in the order
 * kube-proxy writes them (step 3; models -> the `iptables` command, traces).
 * Cite: kubernetes pkg/proxy/iptables/proxier.go syncProxyRules(). */
#include "config.h"

#include <string.h>

#include "models/kube-proxy-private.h"

static void append_ctstates(GString *out, guint32 states)
{
    static const struct {
        guint32 bit;
        const char *name;
    } names[] = {
        { KP_CT_NEW, "NEW" },         { KP_CT_INVALID, "INVALID" },
        { KP_CT_RELATED, "RELATED" }, { KP_CT_ESTABLISHED, "ESTABLISHED" },
        { KP_CT_DNAT, "DNAT" },
    };
    gboolean first = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        if ((states & names[i].bit) != 0) {
            g_string_append_printf(out, "%s%s", first ? "" : ",",
                                   names[i].name);
            first = FALSE;
        }
    }
}

static void append_match(GString *out, const KpMatch *m)
{
    const char *neg = m->negate ? " !" : "";
    switch (m->kind) {
    case KP_M_COMMENT:
        if (m->quoted) {
            g_string_append_printf(out, " -m comment --comment \"%s\"",
                                   m->text);
        } else {
            g_string_append_printf(out, " -m comment --comment %s", m->text);
        }
        break;
    case KP_M_PROTO:
        g_string_append_printf(out, " -m %s -p %s", m->text, m->text);
        break;
    case KP_M_SRC:
        g_string_append_printf(out, "%s -s %s", neg, m->text);
        break;
    case KP_M_DST:
        g_string_append_printf(out, "%s -d %s", neg, m->text);
        break;
    case KP_M_DPORT:
        g_string_append_printf(out, " --dport %d", m->num);
        break;
    case KP_M_SRC_TYPE_LOCAL:
        g_string_append(out, " -m addrtype --src-type LOCAL");
        break;
    case KP_M_DST_TYPE_LOCAL:
        g_string_append(out, " -m addrtype --dst-type LOCAL");
        break;
    case KP_M_STATISTIC:
        g_string_append_printf(
            out, " -m statistic --mode random --probability %s", m->text);
        break;
    case KP_M_RECENT_RCHECK:
        g_string_append_printf(out,
                               " -m recent --name %s --rcheck --seconds %d "
                               "--reap",
                               m->text, m->num);
        break;
    case KP_M_RECENT_SET:
        g_string_append_printf(out, " -m recent --name %s --set", m->text);
        break;
    case KP_M_MARK:
        g_string_append_printf(out, " -m mark%s --mark 0x%x/0x%x", neg,
                               m->value, m->value);
        break;
    case KP_M_CTSTATE:
        g_string_append_printf(out, " -m conntrack%s --ctstate ", neg);
        append_ctstates(out, m->value);
        break;
    case KP_M_NFACCT:
        g_string_append_printf(out, " -m nfacct --nfacct-name %s", m->text);
        break;
    }
}

void kube_proxy__rule_text(const KubeProxyTable *t,
                           const KpChain *c,
                           const KpRule *r,
                           GString *out)
{
    g_string_append_printf(out, "-A %s", c->name);
    for (guint i = 0; i < r->n_matches; i++) {
        append_match(out, &r->matches[i]);
    }
    switch (r->target) {
    case KP_T_NONE:
        break;
    case KP_T_JUMP: {
        const KpChain *to = g_ptr_array_index(t->chains, r->jump);
        g_string_append_printf(out, " -j %s", to->name);
        break;
    }
    case KP_T_RETURN:
        g_string_append(out, " -j RETURN");
        break;
    case KP_T_ACCEPT:
        g_string_append(out, " -j ACCEPT");
        break;
    case KP_T_DROP:
        g_string_append(out, " -j DROP");
        break;
    case KP_T_REJECT:
        g_string_append(out, " -j REJECT");
        break;
    case KP_T_DNAT:
        g_string_append_printf(out, " -j DNAT --to-destination %s",
                               r->dnat_text);
        break;
    case KP_T_MARK_OR:
        g_string_append_printf(out, " -j MARK --or-mark 0x%x", r->value);
        break;
    case KP_T_MARK_XOR:
        g_string_append_printf(out, " -j MARK --xor-mark 0x%x", r->value);
        break;
    case KP_T_MASQUERADE:
        g_string_append(out, " -j MASQUERADE");
        if (r->random_fully) {
            g_string_append(out, " --random-fully");
        }
        break;
    }
}

/* The built-in chains printed with KP_SAVE_HOOKS, in iptables-save's order. */
static void
builtins(const KubeProxyTable *t, KpTableId table, guint out[3], guint *n)
{
    if (table == KP_TABLE_FILTER) {
        out[0] = t->hook_filter_input;
        out[1] = t->hook_filter_forward;
        out[2] = t->hook_filter_output;
    } else {
        out[0] = t->hook_nat_prerouting;
        out[1] = t->hook_nat_output;
        out[2] = t->hook_nat_postrouting;
    }
    *n = 3;
}

static void save_table(const KubeProxyTable *t,
                       KpTableId table,
                       KpSaveFlags flags,
                       GString *out)
{
    const gboolean hooks = (flags & KP_SAVE_HOOKS) != 0;
    g_autoptr(GArray) chains = g_array_new(FALSE, FALSE, sizeof(guint));
    if (hooks) {
        guint b[3];
        guint n = 0;
        builtins(t, table, b, &n);
        g_array_append_vals(chains, b, n);
    }
    const GArray *order = t->order[table];
    for (guint i = 0; i < order->len; i++) {
        guint ci = g_array_index(order, guint, i);
        const KpChain *c = g_ptr_array_index(t->chains, ci);
        if (c->declared || hooks) {
            g_array_append_val(chains, ci);
        }
    }
    g_string_append(out, table == KP_TABLE_FILTER ? "*filter\n" : "*nat\n");
    for (guint i = 0; i < chains->len; i++) {
        const KpChain *c =
            g_ptr_array_index(t->chains, g_array_index(chains, guint, i));
        g_string_append_printf(out, ":%s %s [0:0]\n", c->name,
                               c->builtin ? "ACCEPT" : "-");
    }
    for (guint i = 0; i < chains->len; i++) {
        const KpChain *c =
            g_ptr_array_index(t->chains, g_array_index(chains, guint, i));
        for (guint j = 0; j < c->rules->len; j++) {
            kube_proxy__rule_text(t, c, &g_array_index(c->rules, KpRule, j),
                                  out);
            g_string_append_c(out, '\n');
        }
    }
    g_string_append(out, "COMMIT\n");
}

char *kube_proxy_save_full(const KubeProxyTable *t, KpSaveFlags flags)
{
    g_return_val_if_fail(t != NULL, NULL);
    GString *out = g_string_sized_new(4096);
    save_table(t, KP_TABLE_FILTER, flags, out);
    save_table(t, KP_TABLE_NAT, flags, out);
    return g_string_free(out, FALSE);
}

char *kube_proxy_save(const KubeProxyTable *t)
{
    return kube_proxy_save_full(t, KP_SAVE_RESTORE);
}
