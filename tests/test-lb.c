/* test-lb.c: models/lb.h on the node-down lesson: round-robin over the
 * backends in rotation, which the health checks change (the list of them
 * is kept as checks move a backend, not rebuilt per connection). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

#include "models/lb.h"
#include "models/runner.h"

static Scenario *node_down(void)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path =
        g_build_filename(src != NULL ? src : ".", "scenarios", "lessons",
                         "node-down.yaml", NULL);
    GError *error = NULL;
    Scenario *s = scenario_load(path, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    return s;
}

static guint node_index(const World *w, const char *name)
{
    for (guint i = 0; i < w->n_nodes; i++) {
        if (g_strcmp0(w->nodes[i].node->name, name) == 0) {
            return i;
        }
    }
    fail_msg("no node %s", name);
    return 0;
}

/* Six connections to port 80: the nodes picked, as a bit set, each
 * released at once. Round-robin over n backends picks each of them. */
static guint picks(World *w)
{
    guint seen = 0;
    for (guint i = 0; i < 6; i++) {
        guint node = G_MAXUINT;
        gint node_port = 0;
        assert_int_equal(lb_pick(w->lb, 80, "192.0.2.7", &node, &node_port,
                                 NULL, sim_now(w->engine)),
                         LB_FORWARD);
        assert_int_equal(node_port, 30080);
        assert_true(node < w->n_nodes);
        seen |= 1u << node;
        lb_release(w->lb, node);
    }
    return seen;
}

static void test_round_robin_follows_rotation(void **state)
{
    g_autoptr(Scenario) s = node_down();
    GError *error = NULL;
    g_autoptr(Runner) run = runner_new(s, 1, &error);
    assert_non_null(run);
    World *w = runner_world(run);
    guint w3 = node_index(w, "worker-3");
    guint all = (1u << node_index(w, "worker-1")) |
                (1u << node_index(w, "worker-2")) | (1u << w3);

    assert_true(lb_in_rotation(w->lb, w3));
    assert_int_equal(picks(w), all);

    /* worker-3 is down from 20 s; three failed checks 2 s apart. */
    sim_run(w->engine, 30 * SIM_S);
    assert_false(lb_in_rotation(w->lb, w3));
    assert_int_equal(picks(w), all & ~(1u << w3));

    /* Up again at 40 s; two passed checks put it back. */
    sim_run(w->engine, 50 * SIM_S);
    assert_true(lb_in_rotation(w->lb, w3));
    assert_int_equal(picks(w), all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin_follows_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
