/* test-upstream.c: models/upstream.h on the article's world: picks stay
 * within the cluster asked for, and circuit-breaker pools are per cluster,
 * when requests to clusters interleave. Pools and endpoint lists are
 * remembered in small direct-mapped memos; with two clusters each stays
 * in its slot (hits after a first miss), with sixteen they share slots
 * (misses that evict). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

#include "models/runner.h"
#include "models/upstream.h"

#define COUNTER "outbound|80||counter.default.svc.cluster.local"
#define MYSQL   "outbound|3306||mysql.default.svc.cluster.local"

static Scenario *article(void)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(src != NULL ? src : ".",
                                             "scenarios", "article.yaml", NULL);
    GError *error = NULL;
    Scenario *s = scenario_load(path, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    return s;
}

static const GatewaySnapshot *gateway_of(const World *w)
{
    for (guint i = 0; i < w->n_pods; i++) {
        if (w->pods[i].is_gateway) {
            return w->pods[i].gw;
        }
    }
    fail_msg("no gateway pod");
    return NULL;
}

/* Each test's world: the article's, and its gateway's snapshot. */
typedef struct {
    Scenario *s;
    Runner *run;
    World *w;
    const GatewaySnapshot *snap;
} Art;

static int art_setup(void **state)
{
    Art *a = g_new0(Art, 1);
    a->s = article();
    GError *error = NULL;
    a->run = runner_new(a->s, 1, &error);
    assert_non_null(a->run);
    a->w = runner_world(a->run);
    a->snap = gateway_of(a->w);
    *state = a;
    return 0;
}

static int art_teardown(void **state)
{
    Art *a = *state;
    runner_free(a->run);
    scenario_free(a->s);
    g_free(a);
    return 0;
}

/* Picks for counter and mysql in turn, in runs of one to three of each:
 * every pick is a pod of the cluster's own Service, and every counter
 * pod is picked (LEAST_REQUEST over all three). */
static void test_picks_stay_in_their_cluster(void **state)
{
    const Art *a = *state;
    World *w = a->w;
    const GatewaySnapshot *snap = a->snap;
    const GatewayCluster *counter = gateway_find_cluster(snap, COUNTER);
    const GatewayCluster *mysql = gateway_find_cluster(snap, MYSQL);
    assert_non_null(counter);
    assert_non_null(mysql);
    Upstream *u = upstream_new(w);
    Rng rng;
    rng_init_named(&rng, 1, "test-upstream");
    guint counter_seen = 0; /* bit per pod index */
    for (guint i = 0; i < 60; i++) {
        gboolean to_counter = (i / (i % 3 + 1)) % 2 == 0;
        const GatewayCluster *gc = to_counter ? counter : mysql;
        UpstreamHost h;
        assert_true(upstream_pick(u, gc, &rng, NULL, NULL, 0, &h, NULL, 0,
                                  NULL));
        assert_true(h.pod >= 0 && (guint)h.pod < w->n_pods);
        const char *ref = w->pods[h.pod].ref;
        if (to_counter) {
            assert_true(g_str_has_prefix(ref, "default/counter-"));
            assert_int_equal(h.port, 8080);
            counter_seen |= 1u << h.pod;
        } else {
            assert_string_equal(ref, "default/mysql-0");
            assert_int_equal(h.port, 3306);
        }
    }
    assert_int_equal(__builtin_popcount(counter_seen), 3);
    upstream_free(u);
}

/* Admissions and releases interleaved over the two clusters: each
 * cluster's pool counts its own (a release with none counted is a
 * critical, fatal under the test environment's G_DEBUG). */
static void test_pools_are_per_cluster(void **state)
{
    const Art *a = *state;
    World *w = a->w;
    const GatewaySnapshot *snap = a->snap;
    const GatewayCluster *counter = gateway_find_cluster(snap, COUNTER);
    const GatewayCluster *mysql = gateway_find_cluster(snap, MYSQL);
    Upstream *u = upstream_new(w);
    int waiter;
    for (guint i = 0; i < 3; i++) {
        assert_int_equal(upstream_admit(u, counter, &waiter, NULL, 0, NULL),
                         UPSTREAM_GO);
    }
    assert_int_equal(upstream_admit(u, mysql, &waiter, NULL, 0, NULL),
                     UPSTREAM_GO);
    assert_null(upstream_release(u, mysql));
    for (guint i = 0; i < 3; i++) {
        assert_null(upstream_release(u, counter));
        assert_int_equal(upstream_admit(u, mysql, &waiter, NULL, 0, NULL),
                         UPSTREAM_GO);
        assert_null(upstream_release(u, mysql));
    }
    upstream_free(u);
}

/* Sixteen clusters (copies of counter under other names, one connection
 * each), more than the pools remembered, so names share slots: each
 * cluster's second request waits in its own pool and is the one handed
 * the connection when that cluster's first lets go, in any order. */
static void test_pools_of_many_clusters(void **state)
{
    const Art *a = *state;
    World *w = a->w;
    const GatewayCluster *counter =
        gateway_find_cluster(a->snap, COUNTER);
    enum { N = 16 };
    GatewayCluster gc[N];
    int first[N], second[N];
    Upstream *u = upstream_new(w);
    for (guint i = 0; i < N; i++) {
        g_autofree char *name = g_strdup_printf("test-upstream/c%u", i);
        gc[i] = *counter;
        gc[i].name = (char *)g_intern_string(name); /* never freed */
        gc[i].max_connections = 1;
        assert_int_equal(upstream_admit(u, &gc[i], &first[i], NULL, 0, NULL),
                         UPSTREAM_GO);
    }
    for (guint i = 0; i < N; i++) {
        guint j = (i * 7) % N; /* another order */
        assert_int_equal(upstream_admit(u, &gc[j], &second[j], NULL, 0, NULL),
                         UPSTREAM_WAIT);
    }
    for (guint i = 0; i < N; i++) {
        guint j = (i * 5 + 3) % N;
        assert_ptr_equal(upstream_release(u, &gc[j]), &second[j]);
    }
    for (guint i = 0; i < N; i++) {
        assert_null(upstream_release(u, &gc[N - 1 - i]));
    }
    upstream_free(u);
}

/* Endpoint lists of more Service ports than are remembered: counter's,
 * mysql's and fourteen ports no endpoint list knows (copies of counter's
 * port: lists are keyed by the port itself), picked from in turn. Each
 * pick sees its own port's list: counter and mysql pods, or none. */
static void test_endpoints_of_many_ports(void **state)
{
    const Art *a = *state;
    World *w = a->w;
    const GatewaySnapshot *snap = a->snap;
    enum { N = 16 };
    GatewayCluster gc[N];
    K8sServicePort ports[N];
    gc[0] = *gateway_find_cluster(snap, COUNTER);
    gc[1] = *gateway_find_cluster(snap, MYSQL);
    for (guint i = 2; i < N; i++) {
        gc[i] = gc[0];
        ports[i] = *gc[0].service_port;
        gc[i].service_port = &ports[i];
    }
    Upstream *u = upstream_new(w);
    Rng rng;
    rng_init_named(&rng, 1, "test-upstream");
    for (guint round = 0; round < 3; round++) {
        for (guint i = 0; i < N; i++) {
            guint j = (i * 7 + round) % N;
            UpstreamHost h;
            gboolean ok = upstream_pick(u, &gc[j], &rng, NULL, NULL, 0, &h,
                                        NULL, 0, NULL);
            if (j >= 2) {
                assert_false(ok);
                continue;
            }
            assert_true(ok);
            assert_true(g_str_has_prefix(w->pods[h.pod].ref,
                                         j == 0 ? "default/counter-"
                                                : "default/mysql-0"));
        }
    }
    upstream_free(u);
}

/* Outlier detection ejects a counter pod for a while: picks avoid it
 * then, and after the ejection has run out they take all three pods
 * again (the shortcut over the Ready list is back once no host is
 * ejected, not only before the first ejection ever). */
static void test_picks_after_an_ejection_ends(void **state)
{
    const Art *a = *state;
    World *w = a->w;
    GatewayCluster gc = *gateway_find_cluster(a->snap, COUNTER);
    gc.outlier_detection = TRUE;
    gc.consecutive_5xx = 1;
    gc.outlier_interval = SIM_S;
    gc.base_ejection_time = 5 * SIM_S;
    gc.max_ejection_time = 5 * SIM_S;
    gc.max_ejection_percent = 100;
    Upstream *u = upstream_new(w);
    Rng rng;
    rng_init_named(&rng, 1, "test-upstream/eject");
    UpstreamHost h;
    assert_true(upstream_pick(u, &gc, &rng, NULL, NULL, 0, &h, NULL, 0, NULL));
    gint bad = h.pod;
    upstream_report(u, &gc, bad, TRUE, SIM_S, NULL, NULL);
    assert_true(upstream_ejected(u, bad, 2 * SIM_S));
    assert_false(upstream_ejected(u, bad, 6 * SIM_S)); /* 1 s + 5 s */
    for (SimTime at = 2 * SIM_S; at < 12 * SIM_S; at += SIM_S) {
        guint seen = 0;
        for (guint i = 0; i < 30; i++) {
            assert_true(upstream_pick(u, &gc, &rng, NULL, NULL, 0, &h, NULL,
                                      at, NULL));
            seen |= 1u << h.pod;
        }
        gboolean ejected = at < 6 * SIM_S;
        assert_int_equal(__builtin_popcount(seen), ejected ? 2 : 3);
        assert_int_equal((seen >> bad) & 1, ejected ? 0 : 1);
    }
    upstream_free(u);
}

/* world_pod_accepts_port() remembers one port per pod: asked in turn for
 * a declared port, another and the first again, it answers as
 * k8s_pod_accepts_port() every time. */
static void test_pod_accepts_port_memo(void **state)
{
    Art *a = *state;
    const gint ports[] = { 8080, 3306, 9999, 8080, 0, 3306, 3306, 1 };
    guint accepted = 0;
    for (guint round = 0; round < 3; round++) {
        for (guint i = 0; i < a->w->n_pods; i++) {
            PodState *ps = &a->w->pods[i];
            for (guint k = 0; k < G_N_ELEMENTS(ports); k++) {
                gboolean want = k8s_pod_accepts_port(ps->pod, ports[k]);
                assert_int_equal(world_pod_accepts_port(ps, ports[k]), want);
                accepted += want;
            }
        }
    }
    assert_true(accepted > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_picks_stay_in_their_cluster, art_setup, art_teardown),
        cmocka_unit_test_setup_teardown(test_pools_are_per_cluster, art_setup, art_teardown),
        cmocka_unit_test_setup_teardown(test_pools_of_many_clusters, art_setup, art_teardown),
        cmocka_unit_test_setup_teardown(test_endpoints_of_many_ports, art_setup, art_teardown),
        cmocka_unit_test_setup_teardown(test_picks_after_an_ejection_ends, art_setup, art_teardown),
        cmocka_unit_test_setup_teardown(test_pod_accepts_port_memo, art_setup, art_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
