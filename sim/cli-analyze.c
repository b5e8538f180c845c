/* cli-analyze.c: `ingress-sim analyze SCENARIO [--json]`: istioctl analyze's
 * messages and exit status for a scenario, plus the ISM messages only the
 * whole path shows (command line layer over models/analyze.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "models/analyze.h"
#include "sim/cli.h"

/* istioctl colors the level when stdout is a terminal and TERM is not
 * "dumb". Cite: istio istioctl/pkg/util/formatting/formatter.go,
 * IstioctlColorDefault(). */
static gboolean want_color(void)
{
    const char *term = g_getenv("TERM");
    return isatty(fileno(stdout)) &&
           (term == NULL || g_ascii_strcasecmp(term, "dumb") != 0);
}

static char *describe_codes(void)
{
    GString *d = g_string_new(
        "Prints istioctl analyze's messages for the scenario's manifests, in\n"
        "istioctl's format, each pointing at FILE:LINE of the manifest:\n"
        "  Error [IST0101] (VirtualService default/counter app.yaml:12) "
        "Referenced ...\n"
        "IST codes are istioctl's (https://istio.io/latest/docs/reference/"
        "config/analysis/);\nISM codes are ingress-sim's own, for what "
        "istioctl cannot see: the load\nbalancer, node ports and what the "
        "gateway compiler made of the manifests\n(docs/analyze.md).\n\n"
        "Exit status: 0 when nothing reached the failure threshold (Error by\n"
        "default; warnings alone exit 0, as istioctl), 79 when something "
        "did\n(istioctl's code, also with --json), 1 when the scenario cannot "
        "be\nloaded or an Istio object is invalid (IST0106; the located "
        "error is\nalso on stderr), 2 on a usage error.\n\nMessages:\n");
    guint n = 0;
    const AnalyzeMessageType *t = analyze_message_types(&n);
    for (guint i = 0; i < n; i++) {
        g_string_append_printf(d, "  %s %-7s %s\n", t[i].code,
                               analyze_level_name(t[i].level), t[i].name);
    }
    g_string_append(d, "\nExamples:\n"
                       "  ingress-sim analyze scenarios/article.yaml\n"
                       "  ingress-sim analyze my-manifests.yaml --json | "
                       "jq '.[] | select(.level == \"Error\")'");
    return g_string_free(d, FALSE);
}

static gboolean
parse_level(const char *opt, const char *text, AnalyzeLevel *out)
{
    if (text == NULL) {
        return TRUE;
    }
    if (!analyze_level_parse(text, out)) {
        g_printerr("ingress-sim analyze: %s must be Error, Warning or Info, "
                   "not '%s'\nTry 'ingress-sim analyze --help'.\n",
                   opt, text);
        return FALSE;
    }
    return TRUE;
}

int cli_analyze(int argc, char **argv)
{
    gboolean json = FALSE;
    g_autofree char *failure = NULL;
    g_autofree char *output = NULL;
    GOptionEntry entries[] = {
        { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
          "Print the messages as JSON (the shape of istioctl analyze -o json)",
          NULL },
        { "failure-threshold", 0, 0, G_OPTION_ARG_STRING, &failure,
          "Lowest level that makes the exit status 79 (default Error)",
          "LEVEL" },
        { "output-threshold", 0, 0, G_OPTION_ARG_STRING, &output,
          "Lowest level printed (default Info)", "LEVEL" },
        G_OPTION_ENTRY_NULL
    };
    g_autofree char *description = describe_codes();
    if (!cli_parse("analyze", "SCENARIO",
                   "Report misconfigurations (istioctl analyze codes).",
                   description, entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    AnalyzeLevel fail_at = ANALYZE_ERROR;
    AnalyzeLevel show_at = ANALYZE_INFO;
    if (!parse_level("--failure-threshold", failure, &fail_at) ||
        !parse_level("--output-threshold", output, &show_at)) {
        return CLI_USAGE;
    }
    if (argc != 2) {
        g_printerr("ingress-sim analyze: expected one SCENARIO\n"
                   "Try 'ingress-sim analyze --help'.\n");
        return CLI_USAGE;
    }
    g_autoptr(Scenario) s = cli_load(argv[1]);
    if (s == NULL) {
        return CLI_ERROR;
    }
    g_autoptr(GPtrArray) all = analyze_scenario(s);
    /* As istioctl: the output threshold filters what is printed, the exit
     * status looks at every message. Cite: istio istioctl/pkg/analyze/
     * analyze.go, Analyze() (FilterOutLowerThan, errorIfMessagesExceed
     * Threshold). */
    g_autoptr(GPtrArray) shown = g_ptr_array_new();
    for (guint i = 0; i < all->len; i++) {
        AnalyzeMessage *m = g_ptr_array_index(all, i);
        if (m->type->level <= show_at) {
            g_ptr_array_add(shown, m);
        }
    }
    if (json) {
        g_autoptr(JsonNode) root = analyze_messages_to_json(shown);
        g_autoptr(JsonGenerator) gen = json_generator_new();
        json_generator_set_pretty(gen, TRUE);
        json_generator_set_indent_char(gen, '\t');
        json_generator_set_indent(gen, 1);
        json_generator_set_root(gen, root);
        g_autofree char *text = json_generator_to_data(gen, NULL);
        printf("%s\n", text);
    } else {
        gboolean color = want_color();
        for (guint i = 0; i < shown->len; i++) {
            g_autofree char *line =
                analyze_message_format(g_ptr_array_index(shown, i), color);
            printf("%s\n", line);
        }
    }
    fflush(stdout);
    /* An invalid Istio object is bad input: besides its IST0106 line, the
     * located error on stderr and status 1, as every subcommand
     * (DESIGN.md principle 7, SCENARIO.md exit statuses). */
    if (analyze_input_error(all) != NULL) {
        for (guint i = 0; i < all->len; i++) {
            const AnalyzeMessage *m = g_ptr_array_index(all, i);
            if (m->error == NULL) {
                continue;
            }
            if (strstr(m->error, "error: ") != NULL) {
                g_printerr("%s\n", m->error);
            } else {
                g_printerr("ingress-sim: error: %s\n", m->error);
            }
        }
        return CLI_ERROR;
    }
    if (shown->len == 0) {
        g_printerr("\u2714 No validation issues found when analyzing %s.\n",
                   argv[1]);
    }
    if (analyze_found_issues(all, fail_at)) {
        g_printerr("Error: Analyzers found issues when analyzing %s.\n"
                   "See https://istio.io/latest/docs/reference/config/"
                   "analysis for more information about causes and "
                   "resolutions.\n",
                   argv[1]);
        return ANALYZE_EXIT_ISSUES;
    }
    return CLI_OK;
}
