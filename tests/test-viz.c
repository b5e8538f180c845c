/* test-viz.c: the charts and the path diagram through their headers:
 * structure, not pixels (what each picture says, from the record of every
 * string drawn and in the SVG's <desc>), PNG sizes, same input -> same
 * bytes, and a layout with no overlaps for every bundled scenario. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "models/results.h"
#include "models/scenario.h"
#include "sim/cli.h"
#include "tests/png-valid.h"
#include "viz/chart.h"
#include "viz/diagram.h"
#include "viz/draw.h"
#include "viz/png-private.h"
#include "viz/png.h"
#include "viz/svgtext-private.h"
#include "viz/viz.h"

/* ---- helpers ------------------------------------------------------------- */

/* A results document with two routes, gateway replies with flags, kernel
 * failures at two steps and a failure timeline. */
static JsonNode *sample_results(void)
{
    g_autoptr(Results) r = results_new("viz-sample", 7);
    const char *routes[] = { g_intern_static_string("default/counter http[0]"),
                             g_intern_static_string("VirtualService "
                                                    "default/mysql tcp[0]") };
    const char *clusters[] = {
        g_intern_static_string("outbound|80||counter.default.svc.cluster."
                               "local"),
        g_intern_static_string("outbound|3306||mysql.default.svc.cluster."
                               "local")
    };
    const char *pods[] = { g_intern_static_string("default/counter-0"),
                           g_intern_static_string("default/mysql-0") };
    const char *traffic = g_intern_static_string("browsers");
    for (guint i = 0; i < 3000; i++) {
        SimTime at = (SimTime)i * 10 * SIM_MS; /* 30 s, 100/s */
        results_sent(r, at);
        RequestOutcome o = { 0 };
        o.sent = at;
        o.traffic = traffic;
        o.flags = "-";
        guint k = i % 10 == 0 ? 1 : 0;
        if (i % 97 == 5) {
            o.kind = OUTCOME_FAILURE;
            o.step = i % 2 ? 3 : 9;
            o.reason = i % 2 ? FAIL_REFUSED : FAIL_TIMEOUT;
            o.done = at + SIM_S;
        } else if (i % 89 == 3) {
            o.kind = OUTCOME_RESPONSE;
            o.status = 503;
            o.flags = "UH";
            o.from_gateway = TRUE;
            o.step = 8;
            o.route = routes[0];
            o.cluster = clusters[0];
            o.done = at + 2 * SIM_MS;
        } else {
            o.kind = k == 1 ? OUTCOME_CONNECTION : OUTCOME_RESPONSE;
            o.status = 200;
            o.step = 9;
            o.route = routes[k];
            o.cluster = clusters[k];
            o.pod = pods[k];
            /* 5..60 ms, spread so the CDF has a shape. */
            o.done = at + (5 + (i * 7919) % 55) * SIM_MS + (i % 13) * SIM_US;
            for (guint p = 0; p < PHASE_N; p++) {
                o.phase[p] = (SimTime)(p + 1) * 100 * SIM_US;
            }
        }
        results_record(r, &o);
    }
    results_event(r, 10 * SIM_S, "node-down worker-2");
    results_event(r, 16 * SIM_S, "load balancer: worker-2 out of rotation");
    results_event(r, 20 * SIM_S, "node-up worker-2");
    return results_to_json(r);
}

static gboolean has_item(GPtrArray *items, const char *role, const char *text)
{
    for (guint i = 0; i < items->len; i++) {
        const VizItem *it = g_ptr_array_index(items, i);
        if ((role == NULL || strcmp(it->role, role) == 0) &&
            strcmp(it->text, text) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static const VizItem *find_role(GPtrArray *items, const char *role)
{
    for (guint i = 0; i < items->len; i++) {
        const VizItem *it = g_ptr_array_index(items, i);
        if (strcmp(it->role, role) == 0) {
            return it;
        }
    }
    return NULL;
}

static guint count_role(GPtrArray *items, const char *role)
{
    guint n = 0;
    for (guint i = 0; i < items->len; i++) {
        n += strcmp(((const VizItem *)g_ptr_array_index(items, i))->role,
                    role) == 0;
    }
    return n;
}

/* @needle, XML-escaped, is in the SVG bytes (its <title> or <desc>). */
static void assert_svg_says(GBytes *svg, const char *needle)
{
    gsize len;
    const char *data = g_bytes_get_data(svg, &len);
    g_autofree char *esc = g_markup_escape_text(needle, -1);
    if (g_strstr_len(data, (gssize)len, esc) == NULL) {
        fail_msg("the SVG does not say '%s'", needle);
    }
}

static gboolean is_ancestor(GPtrArray *items, gint a, gint b)
{
    for (gint p = ((const VizItem *)g_ptr_array_index(items, b))->parent;
         p >= 0; p = ((const VizItem *)g_ptr_array_index(items, p))->parent) {
        if (p == a) {
            return TRUE;
        }
    }
    return FALSE;
}

/* No two boxes or strings share area unless one is inside the other (its
 * parent chain says so); regions are checked against regions only; every
 * string lies inside its parent. */
static void assert_layout_clean(GPtrArray *items, const char *what)
{
    for (guint i = 0; i < items->len; i++) {
        const VizItem *a = g_ptr_array_index(items, i);
        if (a->parent >= 0) {
            const VizItem *p = g_ptr_array_index(items, a->parent);
            if (!viz_rect_contains(&p->rect, &a->rect, 1.0)) {
                fail_msg("%s: '%s' (%s) sticks out of '%s' (%s): "
                         "%.1f,%.1f %.1fx%.1f in %.1f,%.1f %.1fx%.1f",
                         what, a->text, a->role, p->text, p->role, a->rect.x,
                         a->rect.y, a->rect.w, a->rect.h, p->rect.x, p->rect.y,
                         p->rect.w, p->rect.h);
            }
        }
        for (guint j = i + 1; j < items->len; j++) {
            const VizItem *b = g_ptr_array_index(items, j);
            if ((a->kind == VIZ_ITEM_REGION) != (b->kind == VIZ_ITEM_REGION)) {
                continue;
            }
            if (!viz_rect_intersects(&a->rect, &b->rect) ||
                is_ancestor(items, (gint)i, (gint)j) ||
                is_ancestor(items, (gint)j, (gint)i)) {
                continue;
            }
            fail_msg("%s: '%s' (%s) overlaps '%s' (%s): %.1f,%.1f %.1fx%.1f "
                     "and %.1f,%.1f %.1fx%.1f",
                     what, a->text, a->role, b->text, b->role, a->rect.x,
                     a->rect.y, a->rect.w, a->rect.h, b->rect.x, b->rect.y,
                     b->rect.w, b->rect.h);
        }
    }
}

static void assert_all_steps(GPtrArray *items, const char *what)
{
    for (guint s = 1; s <= 9; s++) {
        char num[4];
        g_snprintf(num, sizeof num, "%u", s);
        if (!has_item(items, "step", num)) {
            fail_msg("%s: step %u is not numbered", what, s);
        }
    }
}

/* Width and height from a PNG's IHDR chunk. */
static void png_size(const char *path, guint32 *w, guint32 *h)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    assert_true(g_file_get_contents(path, &data, &len, NULL));
    assert_true(len > 24);
    assert_memory_equal(data, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(data + 12, "IHDR", 4);
    const guint8 *u = (const guint8 *)data;
    *w = (guint32)u[16] << 24 | (guint32)u[17] << 16 | (guint32)u[18] << 8 |
         u[19];
    *h = (guint32)u[20] << 24 | (guint32)u[21] << 16 | (guint32)u[22] << 8 |
         u[23];
}

/* Pictures go under one temporary folder in SIM_BUILDDIR, removed at the
 * end (distcheck wants a clean build tree) unless VIZ_TEST_KEEP is set,
 * for a person to look at them. */
static char *out_root;

static char *out_dir(const char *name)
{
    if (out_root == NULL) {
        const char *base = g_getenv("SIM_BUILDDIR");
        out_root = g_build_filename(base != NULL ? base : g_get_tmp_dir(),
                                    "test-viz-XXXXXX", NULL);
        assert_non_null(g_mkdtemp(out_root));
    }
    g_autofree char *dir = g_build_filename(out_root, name, NULL);
    assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
    return g_steal_pointer(&dir);
}

static void rm_tree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR) &&
        !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        for (const char *e = d != NULL ? g_dir_read_name(d) : NULL; e != NULL;
             e = g_dir_read_name(d)) {
            g_autofree char *child = g_build_filename(path, e, NULL);
            rm_tree(child);
        }
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static char *src_path(const char *rel)
{
    const char *src = g_getenv("SIM_SRCDIR");
    return g_build_filename(src != NULL ? src : ".", rel, NULL);
}

/* ---- the drawing kit ----------------------------------------------------- */

static void test_ticks_are_round(void **state)
{
    double lo = 0, hi = 97;
    g_autoptr(GArray) t = viz_ticks_linear(&lo, &hi, 6);
    assert_true(lo == 0 && hi == 100);
    assert_int_equal(t->len, 6);
    assert_string_equal(g_array_index(t, VizTick, 1).label, "20");
    lo = 0;
    hi = 0.37;
    g_autoptr(GArray) f = viz_ticks_linear(&lo, &hi, 6);
    assert_true(hi == 0.4);
    assert_string_equal(g_array_index(f, VizTick, 1).label, "0.05");
    lo = 0;
    hi = 12345;
    g_autoptr(GArray) k = viz_ticks_linear(&lo, &hi, 6);
    assert_string_equal(g_array_index(k, VizTick, k->len - 1).label, "14,000");
    lo = 3;
    hi = 250;
    g_autoptr(GArray) l = viz_ticks_log_ms(&lo, &hi);
    assert_true(lo == 1 && hi == 1000);
    const char *want[] = { "1 ms", "10 ms", "100 ms", "1 s" };
    guint n = 0;
    for (guint i = 0; i < l->len; i++) {
        const VizTick *v = &g_array_index(l, VizTick, i);
        if (v->major) {
            assert_string_equal(v->label, want[n++]);
        }
    }
    assert_int_equal(n, 4);
}

static void test_numbers_read_well(void **state)
{
    char b[32];
    viz_format_count(13205, b, sizeof b);
    assert_string_equal(b, "13,205");
    viz_format_count(7, b, sizeof b);
    assert_string_equal(b, "7");
    viz_format_ms(0.25, b, sizeof b);
    assert_string_equal(b, "250 µs");
    viz_format_ms(12.81, b, sizeof b);
    assert_string_equal(b, "12.8 ms");
    viz_format_ms(1500, b, sizeof b);
    assert_string_equal(b, "1.5 s");
    viz_format_share(0.4412, b, sizeof b);
    assert_string_equal(b, "44%");
    viz_format_share(0.00533, b, sizeof b);
    assert_string_equal(b, "0.53%");
    viz_format_share(0.00016, b, sizeof b);
    assert_string_equal(b, "0.016%");
    viz_format_share(0.00001, b, sizeof b);
    assert_string_equal(b, "<0.01%");
}

static void test_format_follows_extension(void **state)
{
    VizFormat f;
    assert_true(viz_format_from_path("a/b.SVG", &f, NULL));
    assert_int_equal(f, VIZ_FORMAT_SVG);
    assert_true(viz_format_from_path("x.png", &f, NULL));
    assert_int_equal(f, VIZ_FORMAT_PNG);
    GError *error = NULL;
    assert_false(viz_format_from_path("x.jpg", &f, &error));
    assert_true(g_error_matches(error, VIZ_ERROR, VIZ_ERROR_FORMAT));
    g_error_free(error);
}

/* ---- results.json ------------------------------------------------------- */

static void test_results_carry_a_cdf_per_route(void **state)
{
    g_autoptr(JsonNode) root = sample_results();
    JsonObject *cdf =
        json_object_get_object_member(json_node_get_object(root), "cdf_ms");
    assert_non_null(cdf);
    assert_int_equal(json_object_get_size(cdf), 2);
    JsonArray *pts = json_object_get_array_member(cdf, "default/counter "
                                                       "http[0]");
    guint n = json_array_get_length(pts);
    assert_true(n > 10 && n <= 200);
    double last_x = -1, last_q = -1;
    for (guint i = 0; i < n; i++) {
        JsonArray *p = json_array_get_array_element(pts, i);
        double x = json_array_get_double_element(p, 0);
        double q = json_array_get_double_element(p, 1);
        assert_true(x >= last_x && q >= last_q && q <= 1.0);
        last_x = x;
        last_q = q;
    }
    assert_true(last_q == 1.0);
}

static void test_chart_input_refuses_other_json(void **state)
{
    g_autoptr(JsonParser) p = json_parser_new();
    assert_true(json_parser_load_from_data(p, "{\"a\": 1}", -1, NULL));
    GError *error = NULL;
    ChartInput *in = chart_input_new(json_parser_get_root(p), &error);
    assert_null(in);
    assert_true(g_error_matches(error, VIZ_ERROR, VIZ_ERROR_INPUT));
    g_error_free(error);
}

/* ---- charts ------------------------------------------------------------- */

static GPtrArray *render_chart(const ChartInput *in, ChartKind k, GBytes **svg)
{
    GPtrArray *items = NULL;
    GError *error = NULL;
    *svg = chart_render(in, k, VIZ_FORMAT_SVG, &items, &error);
    if (*svg == NULL) {
        fail_msg("%s: %s", chart_stem(k), error->message);
    }
    const VizItem *title = find_role(items, "title");
    assert_non_null(title);
    if (strstr(title->text, "viz-sample") == NULL ||
        strstr(title->text, "seed 7") == NULL) {
        fail_msg("%s: title '%s' lacks the scenario and seed", chart_stem(k),
                 title->text);
    }
    assert_svg_says(*svg, title->text);
    assert_true(count_role(items, "axis") >= 1);
    assert_true(count_role(items, "tick") >= 4);
    return items;
}

static void test_cdf_chart_names_each_route(void **state)
{
    g_autoptr(JsonNode) root = sample_results();
    g_autoptr(ChartInput) in = chart_input_new(root, NULL);
    g_autoptr(GBytes) svg = NULL;
    g_autoptr(GPtrArray) items = render_chart(in, CHART_LATENCY_CDF, &svg);
    assert_true(has_item(items, "axis", "latency (log scale)"));
    assert_true(has_item(items, "axis", "requests at or below (%)"));
    assert_true(has_item(items, "legend", "default/counter http[0]"));
    assert_true(has_item(items, "legend",
                         "VirtualService default/mysql "
                         "tcp[0]"));
    assert_true(has_item(items, "tick", "10 ms"));
    assert_svg_says(svg, "default/counter http[0]");
    assert_svg_says(svg, "latency (log scale)");
}

static void test_time_charts_mark_the_events(void **state)
{
    g_autoptr(JsonNode) root = sample_results();
    g_autoptr(ChartInput) in = chart_input_new(root, NULL);
    g_autoptr(GBytes) svg = NULL;
    g_autoptr(GPtrArray) items = render_chart(in, CHART_LATENCY_TIME, &svg);
    assert_true(has_item(items, "legend", "p50 per second"));
    assert_true(has_item(items, "legend", "p99 per second"));
    assert_true(has_item(items, "legend", "scenario timeline"));
    assert_true(has_item(items, "legend", "what followed"));
    assert_true(has_item(items, "event", "10 s node-down worker-2"));
    assert_true(has_item(items, "event", "20 s node-up worker-2"));
    assert_true(has_item(items, "axis", "time since the start of the run (s)"));
    assert_svg_says(svg, "10 s node-down worker-2");

    g_autoptr(GBytes) svg2 = NULL;
    g_autoptr(GPtrArray) t = render_chart(in, CHART_THROUGHPUT, &svg2);
    assert_true(has_item(t, "legend", "2xx responses"));
    assert_true(has_item(t, "legend", "TCP connections proxied"));
    assert_true(has_item(t, "legend", "5xx responses"));
    assert_true(has_item(t, "legend", "failed: refused"));
    assert_true(has_item(t, "legend", "failed: timeout"));
    /* The reason's Envoy flag, with its count (31 503 UH above). */
    gboolean flag = FALSE;
    for (guint i = 0; i < t->len; i++) {
        const VizItem *it = g_ptr_array_index(t, i);
        flag |= strcmp(it->role, "legend") == 0 &&
                g_str_has_prefix(it->text, "UH ×");
    }
    assert_true(flag);
    assert_true(has_item(t, "legend-detail", "no healthy upstream"));
    assert_true(has_item(t, "event", "10 s node-down worker-2"));
    assert_svg_says(svg2, "failed: refused");
}

static void test_breakdown_names_every_step(void **state)
{
    g_autoptr(JsonNode) root = sample_results();
    g_autoptr(ChartInput) in = chart_input_new(root, NULL);
    g_autoptr(GBytes) svg = NULL;
    g_autoptr(GPtrArray) items = render_chart(in, CHART_BREAKDOWN, &svg);
    const char *steps[] = { "1–2", "2–3", "3–5", "5–7", "8", "9" };
    for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
        assert_true(has_item(items, "step", steps[i]));
    }
    assert_true(has_item(items, "legend", "application pod: queue"));
    assert_true(has_item(items, "legend", "application pod: service"));
    assert_true(has_item(items, "axis", "mean time per request (ms)"));
}

static void test_charts_without_cdf_still_draw(void **state)
{
    g_autoptr(JsonNode) root = sample_results();
    json_object_remove_member(json_node_get_object(root), "cdf_ms");
    g_autoptr(ChartInput) in = chart_input_new(root, NULL);
    g_autoptr(GBytes) svg = NULL;
    g_autoptr(GPtrArray) items = render_chart(in, CHART_LATENCY_CDF, &svg);
    const VizItem *note = find_role(items, "note");
    assert_non_null(note);
    assert_non_null(strstr(note->text, "percentiles only"));
}

static void test_same_input_same_bytes(void **state)
{
    g_autoptr(JsonNode) root = sample_results();
    g_autoptr(ChartInput) in = chart_input_new(root, NULL);
    for (guint k = 0; k < CHART_N; k++) {
        for (guint f = 0; f < 2; f++) {
            g_autoptr(GBytes) a = chart_render(in, k, f, NULL, NULL);
            g_autoptr(GBytes) b = chart_render(in, k, f, NULL, NULL);
            assert_non_null(a);
            if (!g_bytes_equal(a, b)) {
                g_autofree char *dir = out_dir("same");
                g_autofree char *pa = g_build_filename(dir, "a", NULL);
                g_autofree char *pb = g_build_filename(dir, "b", NULL);
                g_file_set_contents(pa, g_bytes_get_data(a, NULL),
                                    (gssize)g_bytes_get_size(a), NULL);
                g_file_set_contents(pb, g_bytes_get_data(b, NULL),
                                    (gssize)g_bytes_get_size(b), NULL);
                fail_msg("%s.%s: two renders differ (see %s)", chart_stem(k),
                         viz_format_extension(f), dir);
            }
        }
    }
    g_autofree char *path = src_path("scenarios/article.yaml");
    g_autoptr(Scenario) s = scenario_load(path, NULL);
    assert_non_null(s);
    DiagramInput di = { .scenario = s, .seed = 1, .results = root };
    g_autoptr(GBytes) a =
        diagram_render(&di, VIZ_FORMAT_SVG, NULL, NULL, NULL, NULL);
    g_autoptr(GBytes) b =
        diagram_render(&di, VIZ_FORMAT_SVG, NULL, NULL, NULL, NULL);
    assert_true(g_bytes_equal(a, b));
}

static void test_files_written_with_their_sizes(void **state)
{
    g_autoptr(JsonNode) root = sample_results();
    g_autofree char *path = src_path("scenarios/article.yaml");
    g_autoptr(Scenario) s = scenario_load(path, NULL);
    assert_non_null(s);
    g_autofree char *dir = out_dir("run");
    g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func(g_free);
    GError *error = NULL;
    if (!viz_write_run(s, 7, root, dir, written, &error)) {
        fail_msg("%s", error->message);
    }
    assert_int_equal(written->len, 2 * CHART_N + 2);
    for (guint i = 0; i < written->len; i++) {
        const char *p = g_ptr_array_index(written, i);
        assert_true(g_file_test(p, G_FILE_TEST_IS_REGULAR));
        if (g_str_has_suffix(p, ".png")) {
            guint32 w, h;
            png_size(p, &w, &h);
            assert_int_equal(w, 1280);
            assert_true(h >= 720);
            if (strstr(p, "diagram") == NULL) {
                assert_int_equal(h, 720);
            }
        } else {
            g_autofree char *svg = NULL;
            assert_true(g_file_get_contents(p, &svg, NULL, NULL));
            assert_non_null(strstr(svg, "width=\"1280px\""));
            assert_non_null(strstr(svg, "<title>"));
        }
    }
    /* Only the pictures: no temporary file left behind. */
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;
    for (const char *e = g_dir_read_name(d); e != NULL;
         e = g_dir_read_name(d)) {
        assert_true(g_str_has_suffix(e, ".svg") || g_str_has_suffix(e, ".png"));
        n++;
    }
    assert_int_equal(n, 2 * CHART_N + 2);
}

static void test_failed_write_leaves_nothing(void **state)
{
    g_autoptr(JsonNode) root = sample_results();
    g_autoptr(ChartInput) in = chart_input_new(root, NULL);
    g_autofree char *dir = out_dir("missing");
    g_autofree char *gone = g_build_filename(dir, "no", "such", NULL);
    GError *error = NULL;
    assert_false(chart_write_all(in, gone, NULL, &error));
    assert_true(g_error_matches(error, VIZ_ERROR, VIZ_ERROR_WRITE));
    g_error_free(error);
    assert_false(g_file_test(gone, G_FILE_TEST_EXISTS));
}

/* ---- the diagram -------------------------------------------------------- */

static GPtrArray *render_diagram(const DiagramInput *in, const char *what)
{
    GPtrArray *items = NULL;
    GError *error = NULL;
    double w = 0, h = 0;
    g_autoptr(GBytes) svg =
        diagram_render(in, VIZ_FORMAT_SVG, &items, &w, &h, &error);
    if (svg == NULL) {
        fail_msg("%s: %s", what, error->message);
    }
    assert_true(w == 1280 && h >= 720);
    assert_layout_clean(items, what);
    assert_all_steps(items, what);
    const VizItem *title = find_role(items, "title");
    assert_non_null(title);
    assert_svg_says(svg, title->text);
    return items;
}

/* Every scenario under SIM_SRCDIR/@folder, laid out bare and with a run's
 * results on it. */
static void check_folder(const char *folder)
{
    g_autofree char *dir = src_path(folder);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (const char *e = g_dir_read_name(d); e != NULL;
         e = g_dir_read_name(d)) {
        if (g_str_has_suffix(e, ".yaml")) {
            g_ptr_array_add(names, g_strdup(e));
        }
    }
    assert_true(names->len > 0);
    g_autoptr(JsonNode) results = sample_results();
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path =
            g_build_filename(dir, g_ptr_array_index(names, i), NULL);
        GError *error = NULL;
        g_autoptr(Scenario) s = scenario_load(path, &error);
        if (s == NULL) {
            fail_msg("%s: %s", path, error->message);
        }
        DiagramInput bare = { .scenario = s, .seed = s->seed };
        g_autoptr(GPtrArray) a = render_diagram(&bare, path);
        assert_true(has_item(
            a, "node",
            ((K8sNode *)g_ptr_array_index(s->cluster->nodes, 0))->name));
        DiagramInput run = { .scenario = s,
                             .seed = s->seed,
                             .results = results };
        g_autoptr(GPtrArray) b = render_diagram(&run, path);
        assert_true(has_item(
            b, "node",
            ((K8sNode *)g_ptr_array_index(s->cluster->nodes, 0))->name));
    }
}

static void test_diagram_layout_bundled(void **state)
{
    check_folder("scenarios");
    check_folder("scenarios/lessons");
}

/* 10 nodes, 50 pods with long names, 8 Services: no overlaps, names
 * elided inside their boxes. */
static void test_diagram_layout_large(void **state)
{
    GString *y = g_string_new(
        "apiVersion: ingress-sim/v1\nkind: Scenario\nmetadata: {name: big}\n"
        "spec:\n  nodes:\n");
    for (guint i = 0; i < 10; i++) {
        g_string_append_printf(y,
                               "  - {name: worker-node-with-a-long-name-%u, "
                               "zone: z%u}\n",
                               i, i % 3);
    }
    static const struct {
        const char *name;
        guint replicas;
    } apps[] = { { "istio-ingressgateway", 4 },
                 { "checkout-service-with-a-very-long-deployment-name", 12 },
                 { "cart", 8 },
                 { "catalog", 6 },
                 { "payments", 5 },
                 { "search", 5 },
                 { "recommendations", 4 },
                 { "ads", 3 },
                 { "frontend", 3 } };
    for (guint i = 0; i < G_N_ELEMENTS(apps); i++) {
        gboolean gw = i == 0;
        const char *ns = gw ? "istio-system" : "shop";
        g_string_append_printf(
            y,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s, "
            "namespace: %s}\nspec:\n  replicas: %u\n  selector: {matchLabels: "
            "{app: %s}}\n  template:\n    metadata: {labels: {app: %s%s}}\n"
            "    spec: {containers: [{name: c, image: x}]}\n",
            apps[i].name, ns, apps[i].replicas, apps[i].name, apps[i].name,
            gw ? ", istio: ingressgateway" : "");
        if (!gw) {
            g_string_append_printf(
                y,
                "---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, "
                "namespace: shop}\nspec:\n  selector: {app: %s}\n  ports: "
                "[{port: 80, targetPort: 8080}]\n",
                apps[i].name, apps[i].name);
        }
    }
    g_string_append(y,
                    "---\napiVersion: networking.istio.io/v1\nkind: "
                    "Gateway\nmetadata: {name: gw, namespace: istio-system}\n"
                    "spec:\n  selector: {istio: ingressgateway}\n  servers:\n"
                    "  - {hosts: ['*'], port: {name: http, number: 80, "
                    "protocol: HTTP}}\n");
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load_string("big.yaml", y->str, &error);
    g_string_free(y, TRUE);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    assert_int_equal(s->cluster->pods->len, 50);
    DiagramInput in = { .scenario = s, .seed = 1 };
    g_autoptr(GPtrArray) items = render_diagram(&in, "big");
    gboolean elided = FALSE;
    for (guint i = 0; i < items->len; i++) {
        const VizItem *it = g_ptr_array_index(items, i);
        if (g_str_has_prefix(it->text, "checkout-service-with-a-very-long") &&
            strcmp(it->role, "label") == 0) {
            elided |= it->elided;
        }
    }
    assert_true(elided);
    g_autofree char *dir = out_dir("big");
    g_autofree char *png = g_build_filename(dir, "big.png", NULL);
    assert_true(diagram_write(&in, png, NULL, NULL));
    guint32 w, h;
    png_size(png, &w, &h);
    assert_int_equal(w, 1280);
    assert_true(h > 720);
}

/* The article as written: http is refused at step 3, https gets a 200;
 * both paths drawn, each with its outcome. */
static void test_diagram_draws_traced_paths(void **state)
{
    g_autofree char *path =
        src_path("scenarios/lessons/article-as-written.yaml");
    g_autoptr(Scenario) s = scenario_load(path, NULL);
    assert_non_null(s);
    const char *urls[] = { "http://counter.example.com/",
                           "https://counter.example.com/" };
    TraceResult tr[2];
    DiagramPath paths[2];
    for (guint i = 0; i < 2; i++) {
        TraceRequest req = { .url = urls[i], .seed = -1 };
        GError *error = NULL;
        if (!cli_trace_one(s, &req, &tr[i], &error)) {
            fail_msg("%s", error->message);
        }
        paths[i] = (DiagramPath){ urls[i], tr[i].tr, &tr[i].out };
    }
    DiagramInput in = {
        .scenario = s, .seed = 1, .paths = paths, .n_paths = 2
    };
    g_autoptr(GPtrArray) items = render_diagram(&in, "traced");
    assert_true(has_item(items, "url", urls[0]));
    assert_true(has_item(items, "url", urls[1]));
    assert_true(has_item(items, "outcome", "✕ failed at step 3: refused"));
    assert_true(has_item(items, "outcome", "✓ 200 from the app"));
    g_autofree char *dir = out_dir("traced");
    g_autofree char *png = g_build_filename(dir, "as-written.png", NULL);
    assert_true(diagram_write(&in, png, NULL, NULL));
    for (guint i = 0; i < 2; i++) {
        trace_result_clear(&tr[i]);
    }
}

/* ---- the PNG encoder ------------------------------------------------------
 */

/* A picture of @w x @h with every kind of row the encoder treats apart:
 * noise (literals of every value, many blocks), runs of one pixel longer
 * than a match and across the masks' 64-bit words, pixels repeating every
 * third, rows repeating the one above (whole, and but for a few pixels, so
 * that the "equal to the pixel above" masks decide), and a row of long
 * runs that differs from the one above here and there. The top byte,
 * padding in cairo's RGB24, is 0xff as cairo leaves it: pixels equal in
 * RGB are equal words, so every run is there to be found. */
static guint32 *png_test_pixels(guint w, guint h, guint32 seed)
{
    guint32 *px = g_new(guint32, (gsize)w * h);
    for (guint y = 0; y < h; y++) {
        const guint32 *above = px + (gsize)(y > 0 ? y - 1 : 0) * w;
        for (guint x = 0; x < w; x++) {
            seed = seed * 1664525u + 1013904223u;
            guint32 noise = seed >> 8, v;
            switch (y % 9) {
            case 0:
                v = noise;
                break;
            case 1: /* a run of white */
                v = 0xffffff;
                break;
            case 2: /* pixels that repeat every third */
                v = x % 3 == 0 ? 0x0072B2 : 0xE69F00;
                break;
            case 3: /* the row above: one memcmp, no masks */
                v = above[x];
                break;
            case 4: /* the row above but for a pixel in 97 */
                v = x % 97 == 5 ? noise : above[x];
                break;
            case 5: /* runs of 7 */
                v = x / 7 % 2 ? 0x123456 : 0x123457;
                break;
            case 6: /* runs of 40 to 300 pixels, two of a colour apart */
                v = 0x00A000 + (x + 17 * y) / (40 + y % 261) % 5;
                break;
            case 7: /* the runs above, a pixel in 53 changed */
                v = x % 53 == 11 ? 0xCC79A7 : above[x];
                break;
            default:
                v = (x + y) * 0x010101u & 0xffffff;
                break;
            }
            px[(gsize)y * w + x] = v | 0xff000000u;
        }
    }
    return px;
}

/* Three strings: one straight, one turned, one with a character no font
 * has (pango draws a box of hex digits for it). */
static void draw_three_strings(VizCanvas *cv, gpointer data)
{
    (void)data;
    VizFont f = { .size = 14, .color = VIZ_INK };
    viz_text(cv, &f, 20, 20, VIZ_LEFT | VIZ_TOP, "title", "straight text",
             NULL);
    viz_text_vertical(cv, &f, 100, 100, "axis", "turned text");
    viz_text(cv, &f, 20, 160, VIZ_LEFT | VIZ_TOP, "label", "box \U0010FFFD",
             NULL);
}

static gsize count_in(GBytes *b, const char *needle)
{
    gsize len, n = 0;
    const char *data = g_bytes_get_data(b, &len);
    const char *end = data + len;
    for (const char *p = data; (p = g_strstr_len(p, end - p, needle)) != NULL;
         p++) {
        n++;
    }
    return n;
}

/* put_num() looks the decimals of k / 1024 up where put_num_any() works
 * them out, and must write the same text: for k of every size, both
 * signs, around each power of two (where carries and the float's last
 * bits change), and past 2^53 / 15625 (~2^39.07), where put_num_any()'s
 * v * 1e6 stops being exact and the table must not be used: k =
 * 576460752319 is the first k it writes otherwise. */
static void test_svg_numbers_agree(void **state)
{
    (void)state;
    g_autoptr(GString) a = g_string_new(NULL);
    g_autoptr(GString) b = g_string_new(NULL);
    guint64 seed = 1;
    guint checked = 0;
    for (guint i = 0; i < 200000; i++) {
        gint64 k;
        if (i < 2) {
            k = i ? -576460752319 : 576460752319;
        } else if (i < 2 + 2 * 54 * 9) {
            /* 2^j - 4 .. 2^j + 4, j = 0 .. 53, both signs */
            guint m = i - 2, j = m / 9 % 54;
            k = ((gint64)1 << j) + (gint64)(m % 9) - 4;
            k = m / (54 * 9) ? -k : k;
        } else {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            guint bits = (guint)(seed >> 58) % 51; /* magnitude 2^0..2^50 */
            k = (gint64)(seed >> 13 >> (50 - bits));
            k = seed & 1 ? -k : k;
        }
        double v = (double)k / 1024.0;
        guint decimals = i % 7 == 3 ? (guint)(i / 7 % 9) : 6;
        g_string_truncate(a, 0);
        g_string_truncate(b, 0);
        viz_svg_text__put_num(a, v, decimals);
        viz_svg_text__put_num_any(b, v, decimals);
        if (strcmp(a->str, b->str) != 0) {
            fail_msg("%" G_GINT64_FORMAT "/1024 to %u places: put_num %s, "
                     "put_num_any %s",
                     k, decimals, a->str, b->str);
        }
        checked++;
    }
    assert_int_equal(checked, 200000);
    /* And the text itself, for a few. */
    static const struct {
        gint64 k;
        const char *text;
    } known[] = {
        { 0, "0" },        { -1, "-0.000977" },  { 512, "0.5" },
        { -1536, "-1.5" }, { 1023, "0.999023" }, { 1025, "1.000977" }
    };
    for (guint i = 0; i < G_N_ELEMENTS(known); i++) {
        g_string_truncate(a, 0);
        viz_svg_text__put_num(a, (double)known[i].k / 1024.0, 6);
        assert_string_equal(a->str, known[i].text);
    }
}

/* svgtext.c writes the glyphs of straight and turned strings where cairo
 * drew its markers, none of which is left; a string pango draws boxes
 * for is cairo's; and the SVG is the same every time. */
static void test_svg_text_in_place_of_markers(void **state)
{
    (void)state;
    g_autoptr(GPtrArray) items = NULL;
    g_autoptr(GBytes) svg = viz_render(VIZ_FORMAT_SVG, 240, 240,
                                       draw_three_strings, NULL, &items, NULL);
    assert_non_null(svg);
    assert_int_equal(count_in(svg, "fill:rgb(100%,0%,100%)"), 0);
    assert_true(count_in(svg, "<use xlink:href=\"#t") >= 20);
    assert_int_equal(count_in(svg, "transform=\"matrix(0,-1,1,0,"), 1);
    assert_true(count_in(svg, "<use xlink:href=\"#glyph") >= 1);
    assert_true(count_in(svg, "<symbol overflow=\"visible\" id=\"t0\">") == 1);
    assert_int_equal(items->len, 3);
    assert_svg_says(svg, "turned text");
    g_autoptr(GBytes) again = viz_render(VIZ_FORMAT_SVG, 240, 240,
                                         draw_three_strings, NULL, NULL, NULL);
    assert_true(g_bytes_equal(svg, again));
}

/* Whatever the size and content, libpng (through cairo) reads back the
 * very pixels encoded, and the checksums are right (png_valid_check());
 * the same pixels give the same bytes. */
static void test_png_round_trips(void **state)
{
    (void)state;
    static const guint sizes[][2] = { { 1, 1 },     { 2, 3 },    { 5, 7 },
                                      { 49, 18 },   { 257, 13 }, { 1280, 40 },
                                      { 300, 300 }, { 11000, 9 } };
    for (guint k = 0; k < G_N_ELEMENTS(sizes); k++) {
        guint w = sizes[k][0], h = sizes[k][1];
        g_autofree guint32 *px = png_test_pixels(w, h, k + 1);
        g_autoptr(GByteArray) png = g_byte_array_new();
        viz_png_encode((const guint8 *)px, w, h, 4 * (gsize)w, png);
        g_autoptr(GByteArray) again = g_byte_array_new();
        viz_png_encode((const guint8 *)px, w, h, 4 * (gsize)w, again);
        assert_int_equal(png->len, again->len);
        assert_memory_equal(png->data, again->data, png->len);
        g_autofree guint32 *read = NULL;
        guint rw = 0, rh = 0;
        g_autofree char *why =
            png_valid_check(png->data, png->len, &read, &rw, &rh);
        if (why != NULL) {
            fail_msg("%u x %u: %s", w, h, why);
        }
        assert_int_equal(rw, w);
        assert_int_equal(rh, h);
        for (gsize i = 0; i < (gsize)w * h; i++) {
            if (read[i] != (px[i] & 0xffffff)) {
                fail_msg("%u x %u: pixel (%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                         ") read as %06x, not %06x",
                         w, h, i % w, i / w, read[i], px[i] & 0xffffff);
            }
        }
    }
}

/* The top byte of an RGB24 pixel is padding, which cairo leaves 0xff,
 * 0x00 or anything depending on the path pixman takes: it must not change
 * a byte written, wherever it differs (between neighbours, between a row
 * and the one above, or over a whole row that repeats the one above). */
static void test_png_ignores_padding(void **state)
{
    (void)state;
    static const guint sizes[][2] = {
        { 1, 2 }, { 49, 18 }, { 100, 27 }, { 400, 27 }, { 1280, 9 }
    };
    for (guint k = 0; k < G_N_ELEMENTS(sizes); k++) {
        guint w = sizes[k][0], h = sizes[k][1];
        gsize n = (gsize)w * h;
        g_autofree guint32 *px = png_test_pixels(w, h, k + 7);
        g_autoptr(GByteArray) want = g_byte_array_new();
        viz_png_encode((const guint8 *)px, w, h, 4 * (gsize)w, want);
        guint32 seed = k;
        for (guint pass = 0; pass < 3; pass++) {
            for (gsize i = 0; i < n; i++) {
                seed = seed * 1664525u + 1013904223u;
                guint32 top = pass == 0   ? 0
                              : pass == 1 ? seed & 0xff000000u
                                          : (i / w % 2) << 24; /* by row */
                px[i] = (px[i] & 0xffffff) | top;
            }
            g_autoptr(GByteArray) got = g_byte_array_new();
            viz_png_encode((const guint8 *)px, w, h, 4 * (gsize)w, got);
            if (got->len != want->len ||
                memcmp(got->data, want->data, want->len) != 0) {
                fail_msg("%u x %u, padding pass %u: other bytes", w, h, pass);
            }
        }
    }
}

/* The encoder back to the widest instructions there are. */
static int png_simd_restore(void **state)
{
    (void)state;
    if (!viz_png__set_simd(VIZ_PNG_SIMD_AVX2)) {
        viz_png__set_simd(VIZ_PNG_SIMD_SSE2);
    }
    return 0;
}

/* Scalar, SSE2 and AVX2 find the same runs, so write the same bytes,
 * whatever the width: each size of a last step (widths 1 to 70), steps
 * across the masks' 64-bit words, and padding bytes at random in the
 * SIMD runs against 0xff in the scalar one. AVX2 only where the CPU has
 * it, which is said once. */
static void test_png_simd_paths_agree(void **state)
{
    (void)state;
    static const guint wide[] = { 100, 127, 128, 129, 400, 1000 };
    static const VizPngSimd levels[] = { VIZ_PNG_SIMD_SSE2, VIZ_PNG_SIMD_AVX2 };
    gboolean tried[G_N_ELEMENTS(levels)] = { FALSE };
    for (guint k = 0; k < 70 + G_N_ELEMENTS(wide); k++) {
        guint w = k < 70 ? k + 1 : wide[k - 70], h = 18;
        gsize n = (gsize)w * h;
        g_autofree guint32 *px = png_test_pixels(w, h, w);
        assert_true(viz_png__set_simd(VIZ_PNG_SIMD_SCALAR));
        g_autoptr(GByteArray) want = g_byte_array_new();
        viz_png_encode((const guint8 *)px, w, h, 4 * (gsize)w, want);
        guint32 seed = w;
        for (gsize i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            px[i] = (px[i] & 0xffffff) | (seed & 0xff000000u);
        }
        for (guint l = 0; l < G_N_ELEMENTS(levels); l++) {
            if (!viz_png__set_simd(levels[l])) {
                continue;
            }
            tried[l] = TRUE;
            g_autoptr(GByteArray) got = g_byte_array_new();
            viz_png_encode((const guint8 *)px, w, h, 4 * (gsize)w, got);
            if (got->len != want->len ||
                memcmp(got->data, want->data, want->len) != 0) {
                fail_msg("width %u: %s wrote other bytes than scalar", w,
                         l == 0 ? "SSE2" : "AVX2");
            }
        }
    }
#ifdef __x86_64__
    assert_true(tried[0]); /* SSE2 is in the x86-64 baseline */
#endif
    if (!tried[1]) {
        print_message("test_png_simd_paths_agree: no AVX2 here, "
                      "not tested\n");
    }
}

/* png_valid_check() refuses a chunk whose CRC is off, and a stream whose
 * Adler-32 is off though the CRC over it is right. */
static void test_png_check_sees_bad_checksums(void **state)
{
    (void)state;
    g_autofree guint32 *px = png_test_pixels(64, 9, 3);
    g_autoptr(GByteArray) png = g_byte_array_new();
    viz_png_encode((const guint8 *)px, 64, 9, 4 * 64, png);
    g_autofree char *ok =
        png_valid_check(png->data, png->len, NULL, NULL, NULL);
    assert_null(ok);
    /* The IDAT's last four bytes, before its CRC and the 12-byte IEND. */
    gsize adler = png->len - 12 - 4 - 4;
    png->data[adler + 3] ^= 1;
    g_autofree char *bad_crc =
        png_valid_check(png->data, png->len, NULL, NULL, NULL);
    assert_non_null(bad_crc);
    assert_non_null(strstr(bad_crc, "bad CRC on IDAT"));
    /* The CRC made right again: only the Adler-32 is wrong now. The IDAT
     * follows the signature (8 bytes) and the IHDR (25). */
    gsize idat = 8 + 25;
    assert_memory_equal(png->data + idat + 4, "IDAT", 4);
    guint32 n = (guint32)png->data[idat] << 24 |
                (guint32)png->data[idat + 1] << 16 |
                (guint32)png->data[idat + 2] << 8 | png->data[idat + 3];
    assert_int_equal(idat + 12 + n + 12, png->len);
    guint32 crc = 0xffffffffu;
    for (gsize i = idat + 4; i < idat + 8 + n; i++) {
        crc ^= png->data[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
    }
    crc ^= 0xffffffffu;
    for (int b = 0; b < 4; b++) {
        png->data[idat + 8 + n + b] = (guint8)(crc >> (24 - 8 * b));
    }
    g_autofree char *bad_adler =
        png_valid_check(png->data, png->len, NULL, NULL, NULL);
    assert_non_null(bad_adler);
    assert_null(strstr(bad_adler, "CRC"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks_are_round),
        cmocka_unit_test(test_png_round_trips),
        cmocka_unit_test(test_png_check_sees_bad_checksums),
        cmocka_unit_test(test_png_ignores_padding),
        cmocka_unit_test_teardown(test_png_simd_paths_agree, png_simd_restore),
        cmocka_unit_test(test_svg_text_in_place_of_markers),
        cmocka_unit_test(test_svg_numbers_agree),
        cmocka_unit_test(test_numbers_read_well),
        cmocka_unit_test(test_format_follows_extension),
        cmocka_unit_test(test_results_carry_a_cdf_per_route),
        cmocka_unit_test(test_chart_input_refuses_other_json),
        cmocka_unit_test(test_cdf_chart_names_each_route),
        cmocka_unit_test(test_time_charts_mark_the_events),
        cmocka_unit_test(test_breakdown_names_every_step),
        cmocka_unit_test(test_charts_without_cdf_still_draw),
        cmocka_unit_test(test_same_input_same_bytes),
        cmocka_unit_test(test_files_written_with_their_sizes),
        cmocka_unit_test(test_failed_write_leaves_nothing),
        cmocka_unit_test(test_diagram_layout_bundled),
        cmocka_unit_test(test_diagram_layout_large),
        cmocka_unit_test(test_diagram_draws_traced_paths),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    viz_fonts_release();
    if (out_root != NULL) {
        if (g_getenv("VIZ_TEST_KEEP") != NULL) {
            g_printerr("test-viz: pictures kept in %s\n", out_root);
        } else {
            rm_tree(out_root);
        }
        g_free(out_root);
    }
    return failed;
}
