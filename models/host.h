/* host.h: host names as Istio compares them while compiling (Matches,
 * SubsetOf, Intersection) and as Envoy looks them up per request (virtual
 * host domains, filter-chain server names). Used by the gateway model. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- Istio (compile time, case-sensitive strings) ------------------------ */

/* TRUE when @h starts with '*' ("*" or "*.example.com"). */
gboolean host_is_wildcard(const char *h);

/* Symmetric overlap: some name is covered by both @a and @b.
 * Cite: istio pkg/config/host/name.go, Name.Matches(). R5.3. */
gboolean host_matches(const char *a, const char *b);

/* One-way coverage: every name covered by @a is covered by @b
 * ("a.example.com" is a subset of "*.example.com"; "*" covers all).
 * Cite: istio pkg/config/host/name.go, Name.SubsetOf(). R5.3. */
gboolean host_subset_of(const char *a, const char *b);

/* For each pair (x of @a, y of @b): x when x is a subset of y, else y when y
 * is a subset of x, else nothing; duplicates dropped, order of first
 * appearance (outer loop over @a). Both arrays hold char*.
 * Returns: (transfer full) GPtrArray of borrowed char* (pointing into @a or
 * @b; free the array only).
 * Cite: istio pkg/config/host/names.go, Names.Intersection(). R5.4. */
GPtrArray *host_intersection(const GPtrArray *a, const GPtrArray *b);

/* Splits a Gateway server host "ns/name" into its namespace part (NULL when
 * there is no '/') and returns the name part (pointing into @h).
 * @ns_out receives (transfer full) the namespace or NULL. */
const char *host_split_namespace(const char *h, char **ns_out);

/* ---- Envoy virtual-host domains (request time) ----------------------------
 */

/* A table of Envoy virtual-host domains (lower-cased at add time) mapping to
 * opaque values: exact names in a hash, suffix wildcards ("*.foo.com",
 * "*-bar.foo.com") and prefix wildcards ("foo.*") in arrays sorted longest
 * first, and the "*" domain. Built once per route config at compile time;
 * lookups do not allocate for hosts up to 255 bytes. */
typedef struct _HostDomainTable HostDomainTable;

HostDomainTable *host_domain_table_new(void);
void host_domain_table_free(HostDomainTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostDomainTable, host_domain_table_free)

/* Adds @domain -> @value. A domain already present keeps its first value
 * (Envoy would reject the duplicate; istiod never emits one). Returns FALSE
 * on a duplicate. */
gboolean
host_domain_table_add(HostDomainTable *t, const char *domain, gpointer value);

/* Sorts the wildcard lists; call once after the last add. */
void host_domain_table_finish(HostDomainTable *t);

/* What kind of domain matched, for the trace. */
typedef enum {
    HOST_MATCH_NONE,   /* no domain covers the host */
    HOST_MATCH_EXACT,  /* exact domain */
    HOST_MATCH_SUFFIX, /* suffix wildcard "*.foo.com" */
    HOST_MATCH_PREFIX, /* prefix wildcard "foo.*" */
    HOST_MATCH_ANY,    /* the "*" domain */
} HostMatchKind;

/* Envoy's virtual-host selection for @authority (the raw Host/:authority):
 * the port is stripped (ignore_port_in_host_matching), the rest lower-cased,
 * then (1) exact, (2) longest suffix wildcard matching at least one
 * character, (3) longest prefix wildcard, (4) "*". @kind_out and
 * @domain_out (the matched domain as added, lower-cased) are nullable.
 * Returns the value or NULL. No allocation for hosts up to 255 bytes.
 * Cite: envoy source/common/router/config_impl.cc,
 * RouteMatcher::findVirtualHost(), findWildcardVirtualHost(). R9.5. */
gpointer host_domain_table_lookup(const HostDomainTable *t,
                                  const char *authority,
                                  HostMatchKind *kind_out,
                                  const char **domain_out);

/* host_domain_table_lookup() for an @authority whose bytes never change
 * while @t lives (a scenario's request template): the answer is
 * remembered by the string's address, so a repeat costs a few pointer
 * compares and no length, bytes or hash. A string that may be rewritten
 * or freed meanwhile (a replayed line's) must use the plain lookup. */
gpointer host_domain_table_lookup_fixed(const HostDomainTable *t,
                                        const char *authority,
                                        HostMatchKind *kind_out,
                                        const char **domain_out);

/* ---- Envoy filter-chain server names (request time) -----------------------
 */

/* Server names of the filter chains of one listener: exact names, wildcard
 * names "*.example.com", and the match-all entry (chains without
 * server_names). Lookups are ASCII case-insensitive and do not allocate for
 * names up to 255 bytes. */
typedef struct _HostSniTable HostSniTable;

HostSniTable *host_sni_table_new(void);
void host_sni_table_free(HostSniTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostSniTable, host_sni_table_free)

/* Adds a server name (exact or "*.suffix"); first value wins on duplicates,
 * as Envoy rejects them. Returns FALSE on a duplicate. */
gboolean
host_sni_table_add(HostSniTable *t, const char *server_name, gpointer value);
/* Sets the value for connections whose SNI matches no name (chains without
 * server_names); the first call wins. */
void host_sni_table_set_match_all(HostSniTable *t, gpointer value);

/* Envoy's filter-chain choice by SNI: exact name, then wildcard suffixes
 * from longest to shortest ("a.b.c.com": "*.b.c.com", "*.c.com", "*.com"),
 * then the match-all chain. @sni NULL or "" (no SNI) matches only the
 * match-all chain. @matched_out (nullable) receives the configured name that
 * matched, or NULL for match-all.
 * Cite: envoy source/common/listener_manager/filter_chain_manager_impl.cc,
 * FilterChainManagerImpl::findFilterChainForServerName(). R9.2, R9.3. */
gpointer host_sni_table_lookup(const HostSniTable *t,
                               const char *sni,
                               const char **matched_out);

/* host_sni_table_lookup() for an @sni whose bytes never change while @t
 * lives, remembered by its address (as host_domain_table_lookup_fixed()).
 */
gpointer host_sni_table_lookup_fixed(const HostSniTable *t,
                                     const char *sni,
                                     const char **matched_out);

/* Length of the host part of an authority: without ":port", an IPv6
 * literal keeping its brackets (a bare IPv6 address has no port). The
 * one place that splits an authority (Envoy's strip_port / Istio's host
 * matching). */
gsize host_authority_len(const char *authority);

G_END_DECLS
