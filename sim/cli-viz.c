/* cli-viz.c: `ingress-sim diagram` (the nine-step path of a scenario, with
 * traced requests on it) and `ingress-sim chart` (a run's charts redrawn
 * from its saved results.json). The drawing itself is viz/'s. */
#include "config.h"

#include <errno.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "sim/cli.h"
#include "viz/viz.h"

int cli_diagram(int argc, char **argv)
{
    g_autofree char *output = NULL, *at_text = NULL, *results_file = NULL;
    g_auto(GStrv) urls = NULL;
    gint64 seed = -1;
    GOptionEntry entries[] = {
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
          "The picture to write: FILE.svg or FILE.png (the extension picks "
          "the format)",
          "FILE" },
        { "url", 'u', 0, G_OPTION_ARG_STRING_ARRAY, &urls,
          "Trace this request and draw its path, repeatable (up to 6)", "URL" },
        { "at", 0, 0, G_OPTION_ARG_STRING, &at_text,
          "Send the traced requests at simulated time T (default 0s)", "T" },
        { "seed", 's', 0, G_OPTION_ARG_INT64, &seed,
          "Seed of the random choices (default: the scenario's)", "N" },
        { "results", 'r', 0, G_OPTION_ARG_FILENAME, &results_file,
          "Draw a saved run's traffic on the hops (its results.json)", "FILE" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(
            "diagram", "SCENARIO",
            "Draw the nine-step path of a scenario (SVG or PNG).",
            "Client, load balancer, the nodes with their kube-proxy and pods, "
            "the\ningressgateway Service and pods with the Gateways and "
            "VirtualServices that\nconfigure them, the application Services "
            "and their pods; steps numbered\n1 to 9. With --url, each "
            "request is traced (as `trace` does) and its path\ndrawn in its "
            "own colour up to the step where it ended, with why.\n\n"
            "Examples:\n"
            "  ingress-sim diagram scenarios/article.yaml -o article.svg\n"
            "  ingress-sim diagram scenarios/lessons/article-as-written.yaml "
            "-o w.png \\\n"
            "      --url http://counter.example.com/ --url "
            "https://counter.example.com/",
            entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    if (argc != 2 || output == NULL) {
        g_printerr("ingress-sim diagram: expected SCENARIO and -o FILE\nTry "
                   "'ingress-sim diagram --help'.\n");
        return CLI_USAGE;
    }
    GError *error = NULL;
    VizFormat fmt;
    if (!viz_format_from_path(output, &fmt, &error)) {
        g_printerr("ingress-sim diagram: %s\n", error->message);
        g_error_free(error);
        return CLI_USAGE;
    }
    guint n_urls = urls != NULL ? g_strv_length(urls) : 0;
    if (n_urls > 6) {
        g_printerr("ingress-sim diagram: at most 6 --url (one colour each)\n");
        return CLI_USAGE;
    }
    SimTime at = 0;
    if (!cli_parse_at("diagram", at_text, &at) ||
        !cli_check_urls("diagram", "--url", (const char *const *)urls,
                        n_urls)) {
        return CLI_USAGE;
    }
    g_autoptr(Scenario) s = cli_load(argv[1]);
    if (s == NULL) {
        return CLI_ERROR;
    }
    g_autoptr(JsonParser) parser = NULL;
    JsonNode *results = NULL;
    if (results_file != NULL) {
        parser = json_parser_new();
        if (!cli_json_load(parser, results_file, &error)) {
            cli_print_error(error);
            g_error_free(error);
            return CLI_ERROR;
        }
        results = json_parser_get_root(parser);
    }
    TraceResult traced[6];
    DiagramPath paths[6];
    guint n_traced = 0;
    int rc = CLI_OK;
    for (guint i = 0; i < n_urls; i++) {
        TraceRequest req = { .url = urls[i], .at = at, .seed = seed };
        if (!cli_trace_one(s, &req, &traced[i], &error)) {
            cli_print_error(error);
            g_clear_error(&error);
            trace_result_clear(&traced[i]);
            rc = CLI_ERROR;
            break;
        }
        n_traced++;
        paths[i] = (DiagramPath){ urls[i], traced[i].tr, &traced[i].out };
    }
    if (rc == CLI_OK) {
        DiagramInput in = {
            .scenario = s,
            .seed = seed >= 0 ? (guint64)seed : s->seed,
            .results = results,
            .paths = paths,
            .n_paths = n_traced,
        };
        if (!diagram_write(&in, output, NULL, &error)) {
            g_printerr("ingress-sim diagram: %s\n", error->message);
            g_clear_error(&error);
            rc = CLI_ERROR;
        }
    }
    for (guint i = 0; i < n_traced; i++) {
        trace_result_clear(&traced[i]);
    }
    viz_fonts_release();
    return rc;
}

int cli_chart(int argc, char **argv)
{
    g_autofree char *out = NULL;
    GOptionEntry entries[] = {
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out,
          "Folder for the charts (default: the folder of RESULTS)", "DIR" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse("chart", "RESULTS",
                   "Redraw a run's charts from its results.json.",
                   "Writes DIR/latency-cdf, latency-time, throughput and "
                   "breakdown, each as\n.svg and .png, from a results.json "
                   "that `run` saved (the path diagram needs\nthe scenario: "
                   "use `diagram SCENARIO --results FILE`).\n\n"
                   "Example:\n"
                   "  ingress-sim chart out/results.json -o slides/",
                   entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    if (argc != 2) {
        g_printerr("ingress-sim chart: expected one results.json\nTry "
                   "'ingress-sim chart --help'.\n");
        return CLI_USAGE;
    }
    GError *error = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!cli_json_load(parser, argv[1], &error)) {
        cli_print_error(error);
        g_error_free(error);
        return CLI_ERROR;
    }
    g_autoptr(ChartInput) in =
        chart_input_new(json_parser_get_root(parser), &error);
    if (in == NULL) {
        g_printerr("ingress-sim chart: %s: %s\n", argv[1], error->message);
        g_error_free(error);
        return CLI_ERROR;
    }
    g_autofree char *dir =
        out != NULL ? g_strdup(out) : g_path_get_dirname(argv[1]);
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        g_printerr("ingress-sim chart: cannot create %s: %s\n", dir,
                   g_strerror(errno));
        return CLI_ERROR;
    }
    gboolean ok = chart_write_all(in, dir, NULL, &error);
    viz_fonts_release();
    if (!ok) {
        g_printerr("ingress-sim chart: %s\n", error->message);
        g_error_free(error);
        return CLI_ERROR;
    }
    return CLI_OK;
}
