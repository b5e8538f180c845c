/* cli-report.c: `ingress-sim report`: one self-contained HTML file for a
 * room or a ticket: the run's summary, its charts and the path diagram as
 * inline SVG, the analyze findings, and narrated traces of sample requests.
 * No script, no network, no file beside it: CSS and SVG are inline. The
 * command line layer: it asks models/ to run and analyze, viz/ to draw,
 * and only lays out what they return. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "models/analyze.h"
#include "models/runner.h"
#include "sim/cli.h"
#include "viz/chart.h"
#include "viz/diagram.h"

/* Sample requests traced when no --url is given: the scenario's distinct
 * request templates, in order, at most this many (one colour each on the
 * diagram). */
#define REPORT_MAX_SAMPLES 6

static const char report_css[] =
    ":root{--ink:#1f2328;--muted:#57606a;--rule:#d8dee4;--wash:#f3f5f7;"
    "--ok:#009e73;--bad:#d55e00;--warn:#e69f00;--accent:#0072b2}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0 auto;max-width:1320px;padding:24px;color:var(--ink);"
    "font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif}\n"
    "h1{font-size:28px;margin:0 0 4px}h2{font-size:22px;margin:40px 0 12px;"
    "padding-bottom:4px;border-bottom:1px solid var(--rule)}\n"
    "h3{font-size:17px;margin:24px 0 8px}\n"
    "code,pre{font:14px/1.45 ui-monospace,'DejaVu Sans Mono',monospace}\n"
    "pre{background:var(--wash);padding:12px;overflow-x:auto;"
    "border-radius:6px}\n"
    ".meta{color:var(--muted)}\n"
    "nav a{margin-right:16px;color:var(--accent)}\n"
    ".kpis{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}\n"
    ".kpi{background:var(--wash);border-radius:6px;padding:8px 14px;"
    "min-width:130px}\n"
    ".kpi b{display:block;font-size:22px}\n"
    ".kpi span{color:var(--muted);font-size:13px}\n"
    ".kpi.bad b{color:var(--bad)}\n"
    "figure{margin:16px 0;border:1px solid var(--rule);border-radius:6px;"
    "padding:8px;background:#fff}\n"
    "figure svg{display:block;width:100%;height:auto}\n"
    "figcaption{color:var(--muted);font-size:14px;padding:4px 8px 0}\n"
    ".findings{list-style:none;padding:0}\n"
    ".findings li{padding:6px 10px;border-left:4px solid var(--rule);"
    "margin:6px 0;background:var(--wash)}\n"
    ".findings .Error{border-color:var(--bad)}\n"
    ".findings .Warning{border-color:var(--warn)}\n"
    ".findings .Info{border-color:var(--accent)}\n"
    ".trace{border:1px solid var(--rule);border-radius:6px;padding:4px 16px "
    "12px;margin:16px 0}\n"
    ".trace ol{list-style:none;padding:0;margin:0}\n"
    ".trace li{display:flex;gap:12px;padding:8px 0;border-top:1px solid "
    "var(--wash)}\n"
    ".trace .n{flex:0 0 28px;height:28px;border-radius:14px;"
    "background:var(--accent);color:#fff;text-align:center;font-weight:bold;"
    "line-height:28px}\n"
    ".trace .n.end{background:var(--muted)}\n"
    ".trace p{margin:2px 0}\n"
    ".trace .head{color:var(--muted);font-size:14px}\n"
    ".trace .head b{color:var(--ink)}\n"
    ".trace .rule{color:var(--muted);font-size:14px}\n"
    ".outcome{font-weight:bold}.outcome::first-letter{text-transform:"
    "uppercase}.outcome.ok{color:var(--ok)}"
    ".outcome.bad{color:var(--bad)}\n"
    ".hint{background:#fff4e5;border-left:4px solid var(--warn);"
    "padding:8px 12px}\n"
    "details{font-size:14px;color:var(--muted)}\n";

/* The chart captions: what to read in each. */
static const char *const chart_captions[CHART_N] = {
    "Latency CDF per route: the share of outcomes at or below each latency "
    "(log scale).",
    "p50 and p99 latency per second, with the failure events of the "
    "timeline.",
    "Outcomes per second by kind (responses by class, connections, "
    "failures by reason).",
    "Where the time went: mean time per step of the path.",
};

/* Appends @text HTML-escaped. */
static void esc(GString *out, const char *text)
{
    g_autofree char *e = g_markup_escape_text(text != NULL ? text : "", -1);
    g_string_append(out, e);
}

/* Appends the SVG document @svg inline: without its XML prolog, with every
 * id and reference to one prefixed by @prefix, so the glyphs and clips of
 * one picture never resolve to another's (cairo numbers them the same way
 * in each file). */
static void append_svg(GString *out, GBytes *svg, const char *prefix)
{
    gsize len = 0;
    const char *data = g_bytes_get_data(svg, &len);
    g_autofree char *text = g_strndup(data, len);
    const char *p = strstr(text, "<svg");
    if (p == NULL) {
        return;
    }
    static const char *const refs[] = { "id=\"", "href=\"#", "url(#" };
    while (*p != '\0') {
        const char *next = NULL;
        guint which = 0;
        for (guint i = 0; i < G_N_ELEMENTS(refs); i++) {
            const char *q = strstr(p, refs[i]);
            if (q != NULL && (next == NULL || q < next)) {
                next = q;
                which = i;
            }
        }
        if (next == NULL) {
            g_string_append(out, p);
            break;
        }
        next += strlen(refs[which]);
        g_string_append_len(out, p, next - p);
        g_string_append(out, prefix);
        p = next;
    }
    g_string_append_c(out, '\n');
}

static gint64 member_int(JsonObject *o, const char *name)
{
    if (o == NULL || !json_object_has_member(o, name)) {
        return 0;
    }
    return json_object_get_int_member(o, name);
}

static double member_double(JsonObject *o, const char *name)
{
    if (o == NULL || !json_object_has_member(o, name)) {
        return 0.0;
    }
    return json_object_get_double_member(o, name);
}

static void
kpi(GString *out, const char *value, const char *label, gboolean bad)
{
    g_string_append_printf(out, "<div class=\"kpi%s\"><b>", bad ? " bad" : "");
    esc(out, value);
    g_string_append(out, "</b><span>");
    esc(out, label);
    g_string_append(out, "</span></div>\n");
}

static void
section_summary(GString *out, JsonNode *results, const char *summary)
{
    JsonObject *root = json_node_get_object(results);
    JsonObject *tot = json_object_has_member(root, "totals")
                          ? json_object_get_object_member(root, "totals")
                          : NULL;
    JsonObject *lat = json_object_has_member(root, "latency_ms")
                          ? json_object_get_object_member(root, "latency_ms")
                          : NULL;
    g_string_append(out, "<section id=\"summary\"><h2>Summary</h2>\n"
                         "<div class=\"kpis\">\n");
    gint64 sent = member_int(tot, "sent");
    gint64 failed = member_int(tot, "failures");
    char buf[64];
    g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, sent);
    kpi(out, buf, "requests sent", FALSE);
    g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT,
               member_int(tot, "responses"));
    kpi(out, buf, "HTTP responses", FALSE);
    g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT,
               member_int(tot, "connections"));
    kpi(out, buf, "TCP/TLS connections", FALSE);
    g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT " (%.1f%%)", failed,
               sent > 0 ? 100.0 * (double)failed / (double)sent : 0.0);
    kpi(out, buf, "failures (no response)", failed > 0);
    g_snprintf(buf, sizeof buf, "%.3g ms", member_double(lat, "p50"));
    kpi(out, buf, "latency p50", FALSE);
    g_snprintf(buf, sizeof buf, "%.3g ms", member_double(lat, "p99"));
    kpi(out, buf, "latency p99", FALSE);
    g_string_append(out, "</div>\n<pre>");
    esc(out, summary);
    g_string_append(out, "</pre></section>\n");
}

static gboolean section_charts(GString *out, JsonNode *results, GError **error)
{
    g_autoptr(ChartInput) in = chart_input_new(results, error);
    if (in == NULL) {
        return FALSE;
    }
    g_string_append(out, "<section id=\"charts\"><h2>Charts</h2>\n");
    for (guint k = 0; k < CHART_N; k++) {
        g_autoptr(GBytes) svg =
            chart_render(in, (ChartKind)k, VIZ_FORMAT_SVG, NULL, error);
        if (svg == NULL) {
            return FALSE;
        }
        g_string_append_printf(out,
                               "<figure class=\"chart\" id=\"chart-%s\">\n",
                               chart_stem((ChartKind)k));
        g_autofree char *prefix = g_strdup_printf("%s-", chart_stem(k));
        append_svg(out, svg, prefix);
        g_string_append(out, "<figcaption>");
        esc(out, chart_captions[k]);
        g_string_append(out, "</figcaption></figure>\n");
    }
    g_string_append(out, "</section>\n");
    return TRUE;
}

static gboolean section_diagram(GString *out,
                                const Scenario *s,
                                guint64 seed,
                                JsonNode *results,
                                const TraceResult *traced,
                                char **urls,
                                guint n,
                                GError **error)
{
    DiagramPath paths[REPORT_MAX_SAMPLES];
    for (guint i = 0; i < n; i++) {
        paths[i] = (DiagramPath){ urls[i], traced[i].tr, &traced[i].out };
    }
    DiagramInput in = {
        .scenario = s,
        .seed = seed,
        .results = results,
        .paths = paths,
        .n_paths = n,
    };
    g_autoptr(GBytes) svg =
        diagram_render(&in, VIZ_FORMAT_SVG, NULL, NULL, NULL, error);
    if (svg == NULL) {
        return FALSE;
    }
    g_string_append(out, "<section id=\"diagram\"><h2>The path</h2>\n"
                         "<figure class=\"chart diagram\" "
                         "id=\"chart-diagram\">\n");
    append_svg(out, svg, "diagram-");
    g_string_append(out, "<figcaption>The nine steps of the scenario, with "
                         "the run's traffic on each hop and the sample "
                         "requests below drawn on top.</figcaption>"
                         "</figure></section>\n");
    return TRUE;
}

static void section_analyze(GString *out, const Scenario *s)
{
    g_autoptr(GPtrArray) msgs = analyze_scenario(s);
    g_string_append(out, "<section id=\"findings\"><h2>Findings</h2>\n");
    if (msgs->len == 0) {
        g_string_append(out, "<p>ingress-sim analyze found nothing to "
                             "report.</p></section>\n");
        return;
    }
    g_string_append_printf(out,
                           "<p>What <code>ingress-sim analyze</code> "
                           "reports (%u message%s, istioctl's codes "
                           "and ingress-sim's own):</p>\n"
                           "<ul class=\"findings\">\n",
                           msgs->len, msgs->len == 1 ? "" : "s");
    for (guint i = 0; i < msgs->len; i++) {
        const AnalyzeMessage *m = g_ptr_array_index(msgs, i);
        g_autofree char *line = analyze_message_format(m, FALSE);
        g_string_append_printf(out, "<li class=\"%s\"><code>",
                               analyze_level_name(m->type->level));
        esc(out, line);
        g_string_append(out, "</code></li>\n");
    }
    g_string_append(out, "</ul></section>\n");
}

static void trace_article(GString *out,
                          guint index,
                          const char *url,
                          const Scenario *s,
                          const TraceResult *t)
{
    g_autoptr(Narration) n = cli_trace_narrate(s, t);
    const RequestOutcome *o = &t->out;
    gboolean ok = o->kind != OUTCOME_FAILURE &&
                  !(o->kind == OUTCOME_RESPONSE && o->status >= 400);
    g_string_append_printf(out,
                           "<article class=\"trace\" id=\"trace-%u\">"
                           "<h3><code>",
                           index + 1);
    esc(out, url);
    g_string_append_printf(out, "</code></h3>\n<p class=\"outcome %s\">",
                           ok ? "ok" : "bad");
    esc(out, n->outcome);
    g_string_append(out, "</p>\n<ol>\n");
    const NarratedStep *first = &g_array_index(n->steps, NarratedStep, 0);
    for (guint i = 0; i < n->steps->len; i++) {
        const NarratedStep *ns = &g_array_index(n->steps, NarratedStep, i);
        gboolean end = i > 0 && i + 1 == n->steps->len && ns->step == 1;
        g_autofree char *at = cli_duration_text(ns->at - first->at);
        g_autofree char *took =
            ns->took >= 0 ? cli_duration_text(ns->took) : NULL;
        g_string_append_printf(out, "<li><span class=\"n%s\">",
                               end ? " end" : "");
        if (end) {
            g_string_append(out, "&#8592;");
        } else {
            g_string_append_printf(out, "%u", ns->step);
        }
        g_string_append(out, "</span><div><p class=\"head\"><b>");
        esc(out, end ? "back at the client" : ns->name);
        g_string_append(out, "</b>");
        if (ns->where != NULL) {
            g_string_append(out, " on ");
            esc(out, ns->where);
        }
        g_string_append_printf(out, " &middot; at %s%s", i > 0 ? "+" : "", at);
        if (took != NULL) {
            g_string_append_printf(out, " &middot; took %s", took);
        }
        g_string_append(out, "</p>\n<p>");
        esc(out, ns->sentence);
        g_string_append(out, "</p>\n");
        if (ns->rule != NULL) {
            g_string_append(out, "<p class=\"rule\">Rule: ");
            esc(out, ns->rule);
            g_string_append(out, "</p>\n");
        }
        if (ns->background != NULL && !end) {
            g_string_append(out, "<details><summary>Background</summary><p>");
            esc(out, ns->background);
            g_string_append(out, "</p></details>\n");
        }
        g_string_append(out, "</div></li>\n");
    }
    g_string_append(out, "</ol>\n<p class=\"timing\">Where the time went: ");
    esc(out, n->timing);
    g_string_append(out, "</p>\n");
    if (n->hint != NULL) {
        g_string_append(out, "<p class=\"hint\"><b>What to change:</b> ");
        esc(out, n->hint);
        g_string_append(out, "</p>\n");
    }
    g_string_append(out, "</article>\n");
}

/* The scenario's distinct request URLs, in order (transfer full). */
static GPtrArray *sample_urls(const Scenario *s)
{
    GPtrArray *urls = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < s->traffic->len; i++) {
        const TrafficSpec *t = g_ptr_array_index(s->traffic, i);
        for (guint k = 0; t->requests != NULL && k < t->requests->len; k++) {
            const RequestTemplate *rt =
                &g_array_index(t->requests, RequestTemplate, k);
            g_autofree char *u =
                g_strdup_printf("%s://%s%s", url_scheme_name(rt->url.scheme),
                                rt->url.authority, rt->url.path);
            gboolean seen = FALSE;
            for (guint j = 0; j < urls->len && !seen; j++) {
                seen = strcmp(g_ptr_array_index(urls, j), u) == 0;
            }
            if (!seen && urls->len < REPORT_MAX_SAMPLES) {
                g_ptr_array_add(urls, g_steal_pointer(&u));
            }
        }
    }
    return urls;
}


int cli_report(int argc, char **argv)
{
    g_autofree char *output = NULL, *duration = NULL, *at_text = NULL;
    g_auto(GStrv) url_args = NULL;
    gint64 seed_opt = -1;
    GOptionEntry entries[] = {
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
          "The HTML file to write (required)", "FILE.html" },
        { "seed", 's', 0, G_OPTION_ARG_INT64, &seed_opt,
          "Seed of every random choice (default: the scenario's)", "N" },
        { "duration", 'd', 0, G_OPTION_ARG_STRING, &duration,
          "How long the traffic generators run (default: spec.duration)", "T" },
        { "url", 'u', 0, G_OPTION_ARG_STRING_ARRAY, &url_args,
          "A sample request to trace, repeatable, up to 6 (default: the "
          "scenario's request URLs)",
          "URL" },
        { "at", 0, 0, G_OPTION_ARG_STRING, &at_text,
          "Send the sample requests at simulated time T (default 0s)", "T" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse("report", "SCENARIO",
                   "Write one self-contained HTML report of a scenario.",
                   "Runs the scenario as `run` does and writes one HTML file "
                   "with everything\ninline (CSS and SVG; no script, no "
                   "network, nothing beside it): the summary,\nthe charts, "
                   "the path diagram, the findings of `analyze`, and the "
                   "narrated\ntrace of each sample request (as `trace` "
                   "tells it, with what to change).\n\n"
                   "Examples:\n"
                   "  ingress-sim report scenarios/article.yaml -o "
                   "report.html\n"
                   "  ingress-sim report scenarios/lessons/node-down.yaml -o "
                   "node-down.html \\\n"
                   "      --url http://counter.example.com/ --at 21s",
                   entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    if (argc != 2 || output == NULL) {
        g_printerr("ingress-sim report: expected SCENARIO and -o FILE.html\n"
                   "Try 'ingress-sim report --help'.\n");
        return CLI_USAGE;
    }
    guint n_args = url_args != NULL ? g_strv_length(url_args) : 0;
    if (n_args > REPORT_MAX_SAMPLES) {
        g_printerr("ingress-sim report: at most %d --url\n",
                   REPORT_MAX_SAMPLES);
        return CLI_USAGE;
    }
    SimTime at = 0;
    if (!cli_check_urls("report", "--url", (const char *const *)url_args,
                        n_args) ||
        !cli_parse_at("report", at_text, &at)) {
        return CLI_USAGE;
    }
    g_autoptr(Scenario) s = cli_load(argv[1]);
    if (s == NULL) {
        return CLI_ERROR;
    }
    if (duration != NULL && !cli_apply_duration("report", s, duration)) {
        return CLI_USAGE;
    }
    guint64 seed = seed_opt >= 0 ? (guint64)seed_opt : s->seed;

    /* The run. */
    GError *error = NULL;
    g_autoptr(Runner) runner = runner_new(s, seed, &error);
    if (runner == NULL) {
        cli_print_error(error);
        g_error_free(error);
        return CLI_ERROR;
    }
    gboolean balanced = runner_run(runner, NULL, NULL);
    World *w = runner_world(runner);
    g_autoptr(JsonNode) results = results_to_json(w->results);
    g_autofree char *summary = results_summary(w->results);

    /* The sample requests. */
    g_autoptr(GPtrArray) urls = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < n_args; i++) {
        g_ptr_array_add(urls, g_strdup(url_args[i]));
    }
    if (n_args == 0) {
        g_ptr_array_unref(urls);
        urls = sample_urls(s);
    }
    TraceResult traced[REPORT_MAX_SAMPLES];
    guint n_traced = 0;
    int rc = CLI_OK;
    for (guint i = 0; i < urls->len; i++) {
        TraceRequest req = {
            .url = g_ptr_array_index(urls, i),
            .at = at,
            .seed = (gint64)seed,
        };
        if (!cli_trace_one(s, &req, &traced[n_traced], &error)) {
            cli_print_error(error);
            g_clear_error(&error);
            trace_result_clear(&traced[n_traced]);
            rc = CLI_ERROR;
            break;
        }
        n_traced++;
    }

    g_autoptr(GString) html = g_string_new(NULL);
    if (rc == CLI_OK) {
        g_string_append(html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                              "<meta charset=\"utf-8\">\n"
                              "<meta name=\"viewport\" content=\"width="
                              "device-width, initial-scale=1\">\n<title>"
                              "ingress-sim report: ");
        esc(html, s->name);
        g_string_append_printf(html,
                               "</title>\n<style>\n%s</style>\n"
                               "</head>\n<body>\n<header><h1>",
                               report_css);
        esc(html, s->name);
        g_string_append(html, "</h1>\n");
        if (s->description != NULL) {
            g_string_append(html, "<p>");
            esc(html, s->description);
            g_string_append(html, "</p>\n");
        }
        g_autofree char *dur = cli_duration_text(s->duration);
        g_string_append(html, "<p class=\"meta\">Scenario <code>");
        esc(html, argv[1]);
        g_string_append_printf(html,
                               "</code>, seed %" G_GUINT64_FORMAT
                               ", traffic for %s; ingress-sim %s.</p>\n"
                               "<nav><a href=\"#summary\">Summary</a>"
                               "<a href=\"#charts\">Charts</a>"
                               "<a href=\"#diagram\">Path</a>"
                               "<a href=\"#findings\">Findings</a>"
                               "<a href=\"#traces\">Sample requests</a>"
                               "</nav></header>\n<main>\n",
                               seed, dur, PACKAGE_VERSION);
        section_summary(html, results, summary);
        if (!section_charts(html, results, &error) ||
            !section_diagram(html, s, seed, results, traced,
                             (char **)urls->pdata, n_traced, &error)) {
            g_printerr("ingress-sim report: %s\n", error->message);
            g_clear_error(&error);
            rc = CLI_ERROR;
        }
    }
    if (rc == CLI_OK) {
        section_analyze(html, s);
        g_string_append(html, "<section id=\"traces\"><h2>Sample "
                              "requests</h2>\n<p>Each traced through the "
                              "same simulation, one paragraph a step: what "
                              "was decided, the rule, the time; then what to "
                              "change when it failed. "
                              "<code>ingress-sim trace</code> prints the "
                              "same.</p>\n");
        for (guint i = 0; i < n_traced; i++) {
            trace_article(html, i, g_ptr_array_index(urls, i), s, &traced[i]);
        }
        g_string_append(html, "</section>\n</main>\n</body>\n</html>\n");
        if (!cli_write_atomic(output, html->str, (gssize)html->len, &error)) {
            g_printerr("ingress-sim report: %s\n", error->message);
            g_clear_error(&error);
            rc = CLI_ERROR;
        }
    }
    for (guint i = 0; i < n_traced; i++) {
        trace_result_clear(&traced[i]);
    }
    if (rc == CLI_OK && !balanced) {
        g_printerr("ingress-sim report: error: %" G_GUINT64_FORMAT
                   " requests never ended: the balance does not hold\n",
                   results_n_in_flight(w->results));
        rc = CLI_ERROR;
    }
    return rc;
}
