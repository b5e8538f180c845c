/* host.c: Istio host-name comparison (compile time) and Envoy's domain and
 * SNI lookups (request time) for the gateway model (models -> gateway). */
#include "config.h"

#include <string.h>

#include "models/host.h"

/* Longest host we lower-case on the stack; longer ones (never valid DNS
 * names, but a client may send them) take one allocation. */
#define HOST_STACK_LEN 256

/* ---- Istio ------------------------------------------------------------- */

gboolean host_is_wildcard(const char *h)
{
    g_return_val_if_fail(h != NULL, FALSE);
    return h[0] == '*';
}

static gboolean has_suffix(const char *s, const char *suffix)
{
    gsize ls = strlen(s);
    gsize lx = strlen(suffix);
    return lx <= ls && memcmp(s + ls - lx, suffix, lx) == 0;
}

gboolean host_matches(const char *a, const char *b)
{
    g_return_val_if_fail(a != NULL && b != NULL, FALSE);
    gboolean wa = host_is_wildcard(a);
    gboolean wb = host_is_wildcard(b);
    if (wa && wb) {
        /* Both wildcards: the longer suffix must end with the shorter. */
        if (strlen(a) < strlen(b)) {
            return has_suffix(b + 1, a + 1);
        }
        return has_suffix(a + 1, b + 1);
    }
    if (wa) {
        return has_suffix(b, a + 1);
    }
    if (wb) {
        return has_suffix(a, b + 1);
    }
    return strcmp(a, b) == 0;
}

gboolean host_subset_of(const char *a, const char *b)
{
    g_return_val_if_fail(a != NULL && b != NULL, FALSE);
    if (strcmp(a, b) == 0) {
        return TRUE;
    }
    if (!host_is_wildcard(b)) {
        return FALSE;
    }
    if (host_is_wildcard(a)) {
        return strlen(a) >= strlen(b) && has_suffix(a + 1, b + 1);
    }
    return has_suffix(a, b + 1);
}

static void add_unique(GPtrArray *out, const char *h)
{
    for (guint i = 0; i < out->len; i++) {
        if (strcmp(g_ptr_array_index(out, i), h) == 0) {
            return;
        }
    }
    g_ptr_array_add(out, (gpointer)h);
}

GPtrArray *host_intersection(const GPtrArray *a, const GPtrArray *b)
{
    g_return_val_if_fail(a != NULL && b != NULL, NULL);
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < a->len; i++) {
        const char *x = g_ptr_array_index(a, i);
        for (guint j = 0; j < b->len; j++) {
            const char *y = g_ptr_array_index(b, j);
            if (host_subset_of(x, y)) {
                add_unique(out, x);
            } else if (host_subset_of(y, x)) {
                add_unique(out, y);
            }
        }
    }
    return out;
}

const char *host_split_namespace(const char *h, char **ns_out)
{
    g_return_val_if_fail(h != NULL && ns_out != NULL, h);
    const char *slash = strchr(h, '/');
    if (slash == NULL) {
        *ns_out = NULL;
        return h;
    }
    *ns_out = g_strndup(h, (gsize)(slash - h));
    return slash + 1;
}

/* ---- shared helpers ------------------------------------------------------ */

/* Lower-cases @len bytes of @s into @stack (HOST_STACK_LEN) or, when too
 * long, into a new buffer stored in @heap (caller frees). Returns the
 * NUL-terminated copy. */
static char *lower_copy(const char *s, gsize len, char *stack, char **heap)
{
    char *dst = stack;
    *heap = NULL;
    if (len >= HOST_STACK_LEN) {
        *heap = g_malloc(len + 1);
        dst = *heap;
    }
    for (gsize i = 0; i < len; i++) {
        dst[i] = g_ascii_tolower(s[i]);
    }
    dst[len] = '\0';
    return dst;
}

/* ---- Envoy domains --------------------------------------------------------
 */

/* One wildcard domain: the fixed part without '*'. */
typedef struct {
    char *fixed;    /* ".foo.com" for "*.foo.com", "foo." for "foo.*" */
    gsize len;      /* strlen(fixed) */
    char *domain;   /* the domain as added (lower-cased) */
    gpointer value; /* the virtual host */
    guint order;    /* insertion order: stable ties */
} DomainWild;

/* The last few authorities looked up, as the client wrote them, with
 * their answers: traffic repeats a handful of Host headers, and the port
 * strip, lower-casing and hashing of each was half of routing a request.
 * A memo, not state: a lookup answers the same with or without it. */
#define HOST_MEMO 4
#define HOST_MEMO_KEY 64

typedef struct {
    gsize len;          /* 0: empty; else strlen(key) + 1 */
    char key[HOST_MEMO_KEY];
    gpointer found;
    HostMatchKind kind; /* domain tables only */
    const char *dom;    /* the domain, or the SNI name that matched */
} HostMemo;

/* The slot of @m remembering the @len bytes at @s, or NULL. */
static inline const HostMemo *memo_find(const HostMemo *m, const char *s,
                                        gsize len)
{
    for (guint i = 0; i < HOST_MEMO; i++) {
        if (m[i].len == len + 1 && memcmp(m[i].key, s, len) == 0) {
            return &m[i];
        }
    }
    return NULL;
}

/* Remembers @answer for the @len bytes at @s in the slot of @m that
 * *@next names (round robin), if the key fits. */
static void memo_put(HostMemo *m, guint *next, const char *s, gsize len,
                     const HostMemo *answer)
{
    if (len >= HOST_MEMO_KEY) {
        return;
    }
    HostMemo *slot = &m[(*next)++ % HOST_MEMO];
    *slot = *answer;
    slot->len = len + 1;
    memcpy(slot->key, s, len);
}

/* The last few answers for fixed strings (host_*_lookup_fixed()), by the
 * string's address: its bytes never change while the table lives, so the
 * address alone names them, and no length or bytes are compared. Empty
 * slots have addr NULL, which no fixed lookup asks by. */
typedef struct {
    const char *addr;   /* the string looked up, or NULL: empty */
    gpointer found;
    HostMatchKind kind; /* domain tables only */
    const char *dom;    /* the domain, or the SNI name that matched */
} HostAddrMemo;

/* The slot of @addr's answer in @m, or NULL. */
static inline const HostAddrMemo *addr_memo_find(const HostAddrMemo *m,
                                                 const char *addr)
{
    for (guint i = 0; i < HOST_MEMO; i++) {
        if (m[i].addr == addr) {
            return &m[i];
        }
    }
    return NULL;
}

struct _HostDomainTable {
    GHashTable *exact; /* lower-cased domain (owned) -> value */
    GPtrArray *suffix; /* DomainWild*, longest first after finish */
    GPtrArray *prefix; /* DomainWild*, longest first after finish */
    gpointer any;      /* value of the "*" domain, or NULL */
    guint count;       /* domains added, for stable sort ties */
    HostMemo memo[HOST_MEMO]; /* emptied by every add */
    guint memo_next;          /* the slot the next answer replaces */
    HostAddrMemo by_addr[HOST_MEMO]; /* emptied with memo */
    guint addr_next;                 /* as memo_next */
};

static void domain_wild_free(gpointer p)
{
    DomainWild *w = p;
    g_free(w->fixed);
    g_free(w->domain);
    g_free(w);
}

HostDomainTable *host_domain_table_new(void)
{
    HostDomainTable *t = g_new0(HostDomainTable, 1);
    t->exact = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    t->suffix = g_ptr_array_new_with_free_func(domain_wild_free);
    t->prefix = g_ptr_array_new_with_free_func(domain_wild_free);
    return t;
}

void host_domain_table_free(HostDomainTable *t)
{
    if (t == NULL) {
        return;
    }
    g_hash_table_unref(t->exact);
    g_ptr_array_unref(t->suffix);
    g_ptr_array_unref(t->prefix);
    g_free(t);
}

static gboolean wild_has(const GPtrArray *arr, const char *domain)
{
    for (guint i = 0; i < arr->len; i++) {
        const DomainWild *w = g_ptr_array_index(arr, i);
        if (strcmp(w->domain, domain) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

gboolean
host_domain_table_add(HostDomainTable *t, const char *domain, gpointer value)
{
    g_return_val_if_fail(t != NULL && domain != NULL, FALSE);
    memset(t->memo, 0, sizeof t->memo);
    memset(t->by_addr, 0, sizeof t->by_addr);
    g_autofree char *d = g_ascii_strdown(domain, -1);
    gsize len = strlen(d);
    if (strcmp(d, "*") == 0) {
        if (t->any != NULL) {
            return FALSE;
        }
        t->any = value;
        return TRUE;
    }
    if (len > 1 && d[0] == '*') {
        if (wild_has(t->suffix, d)) {
            return FALSE;
        }
        DomainWild *w = g_new0(DomainWild, 1);
        w->fixed = g_strdup(d + 1);
        w->len = len - 1;
        w->domain = g_steal_pointer(&d);
        w->value = value;
        w->order = t->count++;
        g_ptr_array_add(t->suffix, w);
        return TRUE;
    }
    if (len > 1 && d[len - 1] == '*') {
        if (wild_has(t->prefix, d)) {
            return FALSE;
        }
        DomainWild *w = g_new0(DomainWild, 1);
        w->fixed = g_strndup(d, len - 1);
        w->len = len - 1;
        w->domain = g_steal_pointer(&d);
        w->value = value;
        w->order = t->count++;
        g_ptr_array_add(t->prefix, w);
        return TRUE;
    }
    if (g_hash_table_contains(t->exact, d)) {
        return FALSE;
    }
    t->count++;
    g_hash_table_insert(t->exact, g_steal_pointer(&d), value);
    return TRUE;
}

static gint wild_cmp(gconstpointer a, gconstpointer b)
{
    const DomainWild *x = *(const DomainWild *const *)a;
    const DomainWild *y = *(const DomainWild *const *)b;
    if (x->len != y->len) {
        return x->len > y->len ? -1 : 1;
    }
    return x->order < y->order ? -1 : (x->order > y->order ? 1 : 0);
}

void host_domain_table_finish(HostDomainTable *t)
{
    g_return_if_fail(t != NULL);
    memset(t->memo, 0, sizeof t->memo);
    memset(t->by_addr, 0, sizeof t->by_addr);
    g_ptr_array_sort(t->suffix, wild_cmp);
    g_ptr_array_sort(t->prefix, wild_cmp);
}

gsize host_authority_len(const char *authority)
{
    /* Only a colon after the closing ']' of an IPv6 literal starts a
     * port; two colons without brackets are a bare IPv6 address. */
    const char *colon = strrchr(authority, ':');
    const char *bracket = strrchr(authority, ']');
    if (colon == NULL || (bracket != NULL && bracket > colon) ||
        (authority[0] != '[' && strchr(authority, ':') != colon)) {
        return strlen(authority);
    }
    return (gsize)(colon - authority);
}

/* A domain lookup's answer: @found, with @kind and @dom into the
 * nullable outs. */
static inline gpointer answer(gpointer found,
                              HostMatchKind kind,
                              const char *dom,
                              HostMatchKind *kind_out,
                              const char **domain_out)
{
    if (kind_out != NULL) {
        *kind_out = kind;
    }
    if (domain_out != NULL) {
        *domain_out = dom;
    }
    return found;
}

/* Out of line, as the other misses below: the hits then need no stack
 * frame for the lower-cased copy. */
static G_NO_INLINE gpointer lookup_uncached(const HostDomainTable *t,
                                const char *authority,
                                HostMatchKind *kind_out,
                                const char **domain_out)
{
    HostMatchKind kind = HOST_MATCH_NONE;
    const char *dom = NULL;
    gpointer found = NULL;
    const char *a = authority != NULL ? authority : "";
    /* ignore_port_in_host_matching */
    gsize len = host_authority_len(a);
    char stack[HOST_STACK_LEN];
    g_autofree char *heap = NULL;
    const char *host = lower_copy(a, len, stack, &heap);

    /* (1) exact */
    gpointer orig_key = NULL;
    if (g_hash_table_lookup_extended(t->exact, host, &orig_key, &found)) {
        kind = HOST_MATCH_EXACT;
        dom = orig_key;
        goto done;
    }
    /* (2) suffix wildcards, longest first; the '*' must match at least one
     * character, so the fixed part must be strictly shorter than the host. */
    for (guint i = 0; i < t->suffix->len; i++) {
        const DomainWild *w = g_ptr_array_index(t->suffix, i);
        if (w->len < len &&
            memcmp(host + len - w->len, w->fixed, w->len) == 0) {
            found = w->value;
            kind = HOST_MATCH_SUFFIX;
            dom = w->domain;
            goto done;
        }
    }
    /* (3) prefix wildcards, longest first */
    for (guint i = 0; i < t->prefix->len; i++) {
        const DomainWild *w = g_ptr_array_index(t->prefix, i);
        if (w->len < len && memcmp(host, w->fixed, w->len) == 0) {
            found = w->value;
            kind = HOST_MATCH_PREFIX;
            dom = w->domain;
            goto done;
        }
    }
    /* (4) "*" */
    if (t->any != NULL) {
        found = t->any;
        kind = HOST_MATCH_ANY;
        dom = "*";
    }
done:
    return answer(found, kind, dom, kind_out, domain_out);
}

gpointer host_domain_table_lookup(const HostDomainTable *t,
                                  const char *authority,
                                  HostMatchKind *kind_out,
                                  const char **domain_out)
{
    g_return_val_if_fail(t != NULL, NULL);
    const char *a = authority != NULL ? authority : "";
    gsize len = strlen(a);
    const HostMemo *hit = memo_find(t->memo, a, len);
    HostMemo fresh;
    if (hit == NULL) {
        fresh.found = lookup_uncached(t, a, &fresh.kind, &fresh.dom);
        hit = &fresh;
        /* The memo is the one thing a lookup changes (see HostMemo). */
        HostDomainTable *mt = (HostDomainTable *)t;
        memo_put(mt->memo, &mt->memo_next, a, len, &fresh);
    }
    return answer(hit->found, hit->kind, hit->dom, kind_out, domain_out);
}

/* A miss of host_domain_table_lookup_fixed(): the plain lookup, its
 * answer remembered by @authority's address. */
static G_NO_INLINE const HostAddrMemo *
domain_fixed_miss(const HostDomainTable *t, const char *authority)
{
    /* A memo, as HostMemo. */
    HostDomainTable *mt = (HostDomainTable *)t;
    HostAddrMemo *m = &mt->by_addr[mt->addr_next++ % HOST_MEMO];
    m->found = host_domain_table_lookup(t, authority, &m->kind, &m->dom);
    m->addr = authority;
    return m;
}

gpointer host_domain_table_lookup_fixed(const HostDomainTable *t,
                                        const char *authority,
                                        HostMatchKind *kind_out,
                                        const char **domain_out)
{
    g_return_val_if_fail(t != NULL, NULL);
    if (authority == NULL) {
        return host_domain_table_lookup(t, authority, kind_out, domain_out);
    }
    const HostAddrMemo *hit = addr_memo_find(t->by_addr, authority);
    if (hit == NULL) {
        hit = domain_fixed_miss(t, authority);
    }
    return answer(hit->found, hit->kind, hit->dom, kind_out, domain_out);
}

/* ---- Envoy SNI ------------------------------------------------------------
 */


struct _HostSniTable {
    GHashTable *exact;      /* lower-cased name (owned) -> value */
    GHashTable *wildcard;   /* lower-cased suffix ".example.com" (owned) ->
                             * value, for the name "*.example.com" */
    GHashTable *names;      /* suffix -> the configured "*.x" name (owned) */
    gpointer match_all;     /* value for chains without server_names */
    gboolean has_match_all; /* match_all was set */
    /* The last few server names looked up, as the client sent them, with
     * their answers (dom: the name that matched): as for domains, for the
     * lower-casing and the hash lookups of every TLS request's SNI
     * (about 100 instructions a request). */
    HostMemo memo[HOST_MEMO]; /* emptied by every add and set_match_all */
    guint memo_next;         /* the slot the next answer replaces */
    HostAddrMemo by_addr[HOST_MEMO]; /* emptied with memo */
    guint addr_next;                 /* as memo_next */
};

HostSniTable *host_sni_table_new(void)
{
    HostSniTable *t = g_new0(HostSniTable, 1);
    t->exact = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    t->wildcard = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    t->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return t;
}

void host_sni_table_free(HostSniTable *t)
{
    if (t == NULL) {
        return;
    }
    g_hash_table_unref(t->exact);
    g_hash_table_unref(t->wildcard);
    g_hash_table_unref(t->names);
    g_free(t);
}

gboolean
host_sni_table_add(HostSniTable *t, const char *server_name, gpointer value)
{
    g_return_val_if_fail(t != NULL && server_name != NULL, FALSE);
    memset(t->memo, 0, sizeof t->memo);
    memset(t->by_addr, 0, sizeof t->by_addr);
    g_autofree char *n = g_ascii_strdown(server_name, -1);
    if (n[0] == '*' && n[1] == '.') {
        if (g_hash_table_contains(t->wildcard, n + 1)) {
            return FALSE;
        }
        g_hash_table_insert(t->names, g_strdup(n + 1), g_strdup(n));
        g_hash_table_insert(t->wildcard, g_strdup(n + 1), value);
        return TRUE;
    }
    if (g_hash_table_contains(t->exact, n)) {
        return FALSE;
    }
    g_hash_table_insert(t->exact, g_steal_pointer(&n), value);
    return TRUE;
}

void host_sni_table_set_match_all(HostSniTable *t, gpointer value)
{
    g_return_if_fail(t != NULL);
    memset(t->memo, 0, sizeof t->memo);
    memset(t->by_addr, 0, sizeof t->by_addr);
    if (!t->has_match_all) {
        t->match_all = value;
        t->has_match_all = TRUE;
    }
}

static G_NO_INLINE gpointer sni_lookup_uncached(const HostSniTable *t,
                                    const char *sni,
                                    gsize len,
                                    const char **matched_out)
{
    const char *matched = NULL;
    gpointer found = NULL;
    if (len > 0) {
        char stack[HOST_STACK_LEN];
        g_autofree char *heap = NULL;
        const char *name = lower_copy(sni, len, stack, &heap);
        gpointer key = NULL;
        if (g_hash_table_lookup_extended(t->exact, name, &key, &found)) {
            matched = key;
            goto done;
        }
        /* Leftmost dot first = longest wildcard suffix first. */
        for (const char *dot = strchr(name, '.'); dot != NULL;
             dot = strchr(dot + 1, '.')) {
            if (g_hash_table_lookup_extended(t->wildcard, dot, NULL, &found)) {
                matched = g_hash_table_lookup(t->names, dot);
                goto done;
            }
        }
    }
    found = t->match_all;
done:
    *matched_out = matched;
    return found;
}

gpointer host_sni_table_lookup(const HostSniTable *t,
                               const char *sni,
                               const char **matched_out)
{
    g_return_val_if_fail(t != NULL, NULL);
    if (sni == NULL || sni[0] == '\0') {
        /* No SNI (every plain-text request): only the match-all chain. */
        if (matched_out != NULL) {
            *matched_out = NULL;
        }
        return t->match_all;
    }
    const char *s = sni;
    gsize len = strlen(s);
    const HostMemo *hit = memo_find(t->memo, s, len);
    HostMemo fresh;
    if (hit == NULL) {
        fresh.found = sni_lookup_uncached(t, s, len, &fresh.dom);
        hit = &fresh;
        HostSniTable *mt = (HostSniTable *)t; /* as for domains */
        memo_put(mt->memo, &mt->memo_next, s, len, &fresh);
    }
    if (matched_out != NULL) {
        *matched_out = hit->dom;
    }
    return hit->found;
}

/* A miss of host_sni_table_lookup_fixed(), as domain_fixed_miss(). */
static G_NO_INLINE const HostAddrMemo *sni_fixed_miss(const HostSniTable *t,
                                                      const char *sni)
{
    HostSniTable *mt = (HostSniTable *)t;
    HostAddrMemo *m = &mt->by_addr[mt->addr_next++ % HOST_MEMO];
    m->found = host_sni_table_lookup(t, sni, &m->dom);
    m->addr = sni;
    return m;
}

gpointer host_sni_table_lookup_fixed(const HostSniTable *t,
                                     const char *sni,
                                     const char **matched_out)
{
    g_return_val_if_fail(t != NULL, NULL);
    if (sni == NULL) {
        return host_sni_table_lookup(t, sni, matched_out);
    }
    const HostAddrMemo *hit = addr_memo_find(t->by_addr, sni);
    if (hit == NULL) {
        hit = sni_fixed_miss(t, sni);
    }
    if (matched_out != NULL) {
        *matched_out = hit->dom;
    }
    return hit->found;
}
