/* test-host.c: Istio host Matches/SubsetOf/Intersection and Envoy's domain
 * and SNI lookups (R5.3, R5.4, R9.2, R9.5) (tests -> models/host). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "models/host.h"

static void test_R5_3_matches_and_subset(void **state)
{
    assert_true(host_matches("*.example.com", "a.b.example.com"));
    assert_false(host_matches("*.example.com", "example.com"));
    assert_true(host_matches("*", "anything"));
    assert_true(host_matches("*.example.com", "*.a.example.com"));
    assert_true(host_matches("*.a.example.com", "*.example.com"));
    assert_false(host_matches("a.example.com", "b.example.com"));
    assert_true(host_subset_of("a.example.com", "*.example.com"));
    assert_false(host_subset_of("*.example.com", "a.example.com"));
    assert_true(host_subset_of("*.a.example.com", "*.example.com"));
    assert_false(host_subset_of("*.example.com", "*.a.example.com"));
    assert_true(host_subset_of("*", "*"));
    assert_true(host_subset_of("*.example.com", "*"));
    assert_false(host_subset_of("example.com", "*.example.com"));
}

static void test_R5_4_intersection_keeps_more_specific(void **state)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new();
    g_autoptr(GPtrArray) b = g_ptr_array_new();
    g_ptr_array_add(a, (gpointer) "*");
    g_ptr_array_add(b, (gpointer) "a.example.com");
    g_ptr_array_add(b, (gpointer) "*.org");
    g_autoptr(GPtrArray) i1 = host_intersection(a, b);
    assert_int_equal(i1->len, 2);
    assert_string_equal(g_ptr_array_index(i1, 0), "a.example.com");
    assert_string_equal(g_ptr_array_index(i1, 1), "*.org");
    g_ptr_array_set_size(a, 0);
    g_ptr_array_add(a, (gpointer) "*.example.com");
    g_autoptr(GPtrArray) i2 = host_intersection(a, b);
    assert_int_equal(i2->len, 1);
    assert_string_equal(g_ptr_array_index(i2, 0), "a.example.com");
}

static void test_R9_5_domain_lookup_order(void **state)
{
    g_autoptr(HostDomainTable) t = host_domain_table_new();
    int exact, suffix_long, suffix_short, prefix, any;
    host_domain_table_add(t, "*", &any);
    host_domain_table_add(t, "*.example.com", &suffix_short);
    host_domain_table_add(t, "*.b.example.com", &suffix_long);
    host_domain_table_add(t, "A.example.com", &exact);
    host_domain_table_add(t, "foo.*", &prefix);
    assert_false(host_domain_table_add(t, "a.example.com", &any));
    host_domain_table_finish(t);
    HostMatchKind k;
    const char *dom = NULL;
    assert_ptr_equal(
        host_domain_table_lookup(t, "a.EXAMPLE.com:8080", &k, &dom), &exact);
    assert_int_equal(k, HOST_MATCH_EXACT);
    assert_string_equal(dom, "a.example.com");
    assert_ptr_equal(host_domain_table_lookup(t, "x.b.example.com", &k, NULL),
                     &suffix_long);
    assert_ptr_equal(host_domain_table_lookup(t, "x.y.example.com", &k, NULL),
                     &suffix_short);
    /* The wildcard needs at least one character: not the apex. */
    assert_ptr_equal(host_domain_table_lookup(t, "example.com", &k, NULL),
                     &any);
    assert_ptr_equal(host_domain_table_lookup(t, "foo.bar", &k, NULL), &prefix);
    assert_int_equal(k, HOST_MATCH_PREFIX);
    assert_ptr_equal(host_domain_table_lookup(t, "10.0.0.1:80", &k, NULL),
                     &any);
    assert_ptr_equal(host_domain_table_lookup(t, "[::1]:80", &k, NULL), &any);
}

/* The lookup memo (host.c's HostMemo) never changes an answer: twelve
 * authorities, more than it holds, asked round after round in a shifting
 * order, answer as a fresh table answers each; and a domain added after
 * lookups is seen at once. */
static HostDomainTable *order_table(int *v)
{
    HostDomainTable *t = host_domain_table_new();
    host_domain_table_add(t, "*", &v[0]);
    host_domain_table_add(t, "*.example.com", &v[1]);
    host_domain_table_add(t, "*.b.example.com", &v[2]);
    host_domain_table_add(t, "A.example.com", &v[3]);
    host_domain_table_add(t, "foo.*", &v[4]);
    host_domain_table_finish(t);
    return t;
}

/* Authorities for the memo tests: more than a memo holds, in every case,
 * with and without ports, exact, wildcard, IP and empty. */
static const char *const memo_authorities[] = {
    "a.example.com",   "A.EXAMPLE.COM:80", "x.b.example.com",
    "x.y.example.com", "example.com",      "foo.bar",
    "foo.bar:8080",    "10.0.0.1:80",      "[::1]:80",
    "",                "a.example.com:1",  "B.example.com",
};

static void test_R9_5_memo_never_changes_an_answer(void **state)
{
    const char *const *auth = memo_authorities;
    int v[5];
    gpointer want[G_N_ELEMENTS(memo_authorities)];
    HostMatchKind want_kind[G_N_ELEMENTS(memo_authorities)];
    for (guint i = 0; i < G_N_ELEMENTS(memo_authorities); i++) {
        g_autoptr(HostDomainTable) fresh = order_table(v);
        want[i] = host_domain_table_lookup(fresh, auth[i], &want_kind[i], NULL);
    }
    g_autoptr(HostDomainTable) t = order_table(v);
    for (guint round = 0; round < 5; round++) {
        for (guint j = 0; j < G_N_ELEMENTS(memo_authorities); j++) {
            guint i = (j * (round + 1) + round) % G_N_ELEMENTS(memo_authorities);
            HostMatchKind k;
            assert_ptr_equal(host_domain_table_lookup(t, auth[i], &k, NULL),
                             want[i]);
            assert_int_equal(k, want_kind[i]);
        }
    }
    int late;
    host_domain_table_add(t, "b.example.com", &late);
    host_domain_table_finish(t);
    assert_ptr_equal(host_domain_table_lookup(t, "B.example.com", NULL, NULL),
                     &late);
}

static void test_R9_5_no_star_no_match(void **state)
{
    g_autoptr(HostDomainTable) t = host_domain_table_new();
    int v;
    host_domain_table_add(t, "a.example.com", &v);
    host_domain_table_finish(t);
    HostMatchKind k;
    assert_null(host_domain_table_lookup(t, "b.example.com", &k, NULL));
    assert_int_equal(k, HOST_MATCH_NONE);
    assert_null(host_domain_table_lookup(t, NULL, &k, NULL));
}

static void test_R9_2_sni_lookup(void **state)
{
    g_autoptr(HostSniTable) t = host_sni_table_new();
    int exact, w1, w2, all;
    host_sni_table_add(t, "a.b.example.com", &exact);
    host_sni_table_add(t, "*.b.example.com", &w1);
    host_sni_table_add(t, "*.example.com", &w2);
    assert_false(host_sni_table_add(t, "*.example.com", &all));
    const char *m = NULL;
    assert_ptr_equal(host_sni_table_lookup(t, "A.b.example.com", &m), &exact);
    assert_ptr_equal(host_sni_table_lookup(t, "c.b.example.com", &m), &w1);
    assert_string_equal(m, "*.b.example.com");
    assert_ptr_equal(host_sni_table_lookup(t, "x.y.z.example.com", &m), &w2);
    assert_null(host_sni_table_lookup(t, "example.com", &m));
    assert_null(host_sni_table_lookup(t, NULL, &m));
    host_sni_table_set_match_all(t, &all);
    assert_ptr_equal(host_sni_table_lookup(t, "example.com", &m), &all);
    assert_null(m);
    assert_ptr_equal(host_sni_table_lookup(t, NULL, &m), &all);
}

/* The SNI memo (host.c's SniMemo) never changes an answer: more names
 * than it has slots, in several orders and cases, against a fresh table
 * per name; one buffer rewritten in place (a replayed line's block
 * reused) answers for what it holds now; names too long to memoize;
 * adds and the match-all chain after lookups. */
static void test_R9_2_sni_memo_never_changes_an_answer(void **state)
{
    int exact, w1, w2, all;
    const char *names[] = {
        "a.b.example.com", "c.b.example.com", "x.y.z.example.com",
        "example.com",     "A.B.EXAMPLE.COM", "C.b.Example.com",
        "",                "q.example.com",   "b.example.com",
        "a-very-long-server-name-that-the-memo-will-not-keep-0123456789"
        ".b.example.com",
    };
    const char *want_m[G_N_ELEMENTS(names)];
    gpointer want[G_N_ELEMENTS(names)];
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autoptr(HostSniTable) fresh = host_sni_table_new();
        host_sni_table_add(fresh, "a.b.example.com", &exact);
        host_sni_table_add(fresh, "*.b.example.com", &w1);
        host_sni_table_add(fresh, "*.example.com", &w2);
        want[i] = host_sni_table_lookup(fresh, names[i], &want_m[i]);
        /* Keys of fresh die with it: keep what they said. */
        want_m[i] = want_m[i] != NULL ? g_intern_string(want_m[i]) : NULL;
    }
    assert_ptr_equal(want[0], &exact);
    assert_ptr_equal(want[4], &exact);
    assert_ptr_equal(want[5], &w1);
    assert_null(want[3]);
    assert_ptr_equal(want[9], &w1);
    g_autoptr(HostSniTable) t = host_sni_table_new();
    host_sni_table_add(t, "a.b.example.com", &exact);
    host_sni_table_add(t, "*.b.example.com", &w1);
    host_sni_table_add(t, "*.example.com", &w2);
    for (guint round = 0; round < 5; round++) {
        for (guint j = 0; j < G_N_ELEMENTS(names); j++) {
            guint i = (j * (round + 1) + round) % G_N_ELEMENTS(names);
            const char *m = "unset";
            assert_ptr_equal(host_sni_table_lookup(t, names[i], &m), want[i]);
            if (want_m[i] == NULL) {
                assert_null(m);
            } else {
                assert_string_equal(m, want_m[i]);
            }
        }
    }
    /* One buffer, three contents. */
    char buf[32];
    g_strlcpy(buf, "a.b.example.com", sizeof buf);
    assert_ptr_equal(host_sni_table_lookup(t, buf, NULL), &exact);
    g_strlcpy(buf, "z.b.example.com", sizeof buf);
    assert_ptr_equal(host_sni_table_lookup(t, buf, NULL), &w1);
    g_strlcpy(buf, "z.b.example.co", sizeof buf);
    assert_null(host_sni_table_lookup(t, buf, NULL));
    /* What was looked up before an add or the match-all chain. */
    assert_null(host_sni_table_lookup(t, "other.org", NULL));
    assert_null(host_sni_table_lookup(t, NULL, NULL));
    int late;
    host_sni_table_add(t, "other.org", &late);
    assert_ptr_equal(host_sni_table_lookup(t, "other.org", NULL), &late);
    host_sni_table_set_match_all(t, &all);
    assert_ptr_equal(host_sni_table_lookup(t, NULL, NULL), &all);
    assert_ptr_equal(host_sni_table_lookup(t, "", NULL), &all);
    assert_ptr_equal(host_sni_table_lookup(t, "example.com", NULL), &all);
}

/* The lookups of fixed strings (host_*_lookup_fixed(), remembered by
 * address) answer as the plain ones: each of more strings than the memo
 * holds, asked round after round, answers what a fresh table answers;
 * two addresses with one text answer alike; what was asked before an
 * add is asked again afterwards. */
static void test_R9_5_fixed_lookups_answer_as_plain_ones(void **state)
{
    const char *const *auth = memo_authorities;
    int v[5];
    gpointer want[G_N_ELEMENTS(memo_authorities)];
    HostMatchKind want_kind[G_N_ELEMENTS(memo_authorities)];
    const char *want_dom[G_N_ELEMENTS(memo_authorities)];
    g_autoptr(HostDomainTable) plain = order_table(v);
    for (guint i = 0; i < G_N_ELEMENTS(memo_authorities); i++) {
        want[i] = host_domain_table_lookup(plain, auth[i], &want_kind[i],
                                           &want_dom[i]);
    }
    assert_ptr_equal(want[0], &v[3]);
    assert_ptr_equal(want[2], &v[2]);
    assert_ptr_equal(want[5], &v[4]);
    g_autoptr(HostDomainTable) t = order_table(v);
    for (guint round = 0; round < 5; round++) {
        for (guint j = 0; j < G_N_ELEMENTS(memo_authorities); j++) {
            guint i = (j * (round + 1) + round) % G_N_ELEMENTS(memo_authorities);
            HostMatchKind k = HOST_MATCH_NONE;
            const char *dom = NULL;
            assert_ptr_equal(host_domain_table_lookup_fixed(t, auth[i], &k,
                                                            &dom),
                             want[i]);
            assert_int_equal(k, want_kind[i]);
            assert_string_equal(dom, want_dom[i]);
        }
    }
    assert_ptr_equal(host_domain_table_lookup_fixed(t, NULL, NULL, NULL),
                     &v[0]);
    /* Another address with one of the texts. */
    char copy[32];
    g_strlcpy(copy, "x.b.example.com", sizeof copy);
    assert_ptr_equal(host_domain_table_lookup_fixed(t, copy, NULL, NULL),
                     &v[2]);
    /* Asked before an add, and after it. */
    static const char late_name[] = "late.example.com";
    assert_ptr_equal(host_domain_table_lookup_fixed(t, late_name, NULL, NULL),
                     &v[1]);
    int late;
    host_domain_table_add(t, "late.example.com", &late);
    host_domain_table_finish(t);
    assert_ptr_equal(host_domain_table_lookup_fixed(t, late_name, NULL, NULL),
                     &late);

    /* SNI. */
    int exact, w1, w2, all;
    g_autoptr(HostSniTable) s = host_sni_table_new();
    host_sni_table_add(s, "a.b.example.com", &exact);
    host_sni_table_add(s, "*.b.example.com", &w1);
    host_sni_table_add(s, "*.example.com", &w2);
    static const char *const names[] = {
        "a.b.example.com", "c.b.example.com", "x.y.z.example.com",
        "example.com",     "A.B.EXAMPLE.COM", "",
        "q.example.com",   "b.example.com",
    };
    const gpointer want_sni[] = { &exact, &w1,  &w2,  NULL,
                                         &exact, NULL, &w2,  &w2 };
    static const char *const want_m[] = {
        "a.b.example.com", "*.b.example.com", "*.example.com", NULL,
        "a.b.example.com", NULL,              "*.example.com", "*.example.com",
    };
    for (guint round = 0; round < 3; round++) {
        for (guint j = 0; j < G_N_ELEMENTS(names); j++) {
            guint i = (j * (round + 1) + round) % G_N_ELEMENTS(names);
            const char *m = "unset";
            assert_ptr_equal(host_sni_table_lookup_fixed(s, names[i], &m),
                             want_sni[i]);
            if (want_m[i] == NULL) {
                assert_null(m);
            } else {
                assert_string_equal(m, want_m[i]);
            }
        }
    }
    const char *m = "unset";
    assert_null(host_sni_table_lookup_fixed(s, NULL, &m));
    assert_null(m);
    static const char other[] = "other.org";
    assert_null(host_sni_table_lookup_fixed(s, other, NULL));
    int late_sni;
    host_sni_table_add(s, "other.org", &late_sni);
    assert_ptr_equal(host_sni_table_lookup_fixed(s, other, NULL), &late_sni);
    host_sni_table_set_match_all(s, &all);
    assert_ptr_equal(host_sni_table_lookup_fixed(s, NULL, NULL), &all);
    assert_ptr_equal(host_sni_table_lookup_fixed(s, names[3], &m), &all);
    assert_null(m);
    assert_ptr_equal(host_sni_table_lookup_fixed(s, names[5], NULL), &all);
}

static void test_R5_1_split_namespace(void **state)
{
    char *ns = NULL;
    assert_string_equal(host_split_namespace("foo/a.com", &ns), "a.com");
    assert_string_equal(ns, "foo");
    g_free(ns);
    assert_string_equal(host_split_namespace("a.com", &ns), "a.com");
    assert_null(ns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R5_3_matches_and_subset),
        cmocka_unit_test(test_R5_4_intersection_keeps_more_specific),
        cmocka_unit_test(test_R9_5_domain_lookup_order),
        cmocka_unit_test(test_R9_5_memo_never_changes_an_answer),
        cmocka_unit_test(test_R9_5_no_star_no_match),
        cmocka_unit_test(test_R9_2_sni_lookup),
        cmocka_unit_test(test_R9_2_sni_memo_never_changes_an_answer),
        cmocka_unit_test(test_R9_5_fixed_lookups_answer_as_plain_ones),
        cmocka_unit_test(test_R5_1_split_namespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
