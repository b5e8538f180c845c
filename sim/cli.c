/* cli.c: what the subcommands share: option parsing with teaching --help,
 * scenario loading with located errors, atomic writes, JSON text. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "sim/cli.h"

gboolean cli_parse(const char *name, const char *params, const char *summary,
                   const char *description, const GOptionEntry *entries,
                   int *argc, char ***argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new(params);
    g_autofree char *prg = g_strdup_printf("ingress-sim %s", name);
    g_set_prgname(prg);
    g_option_context_set_summary(ctx, summary);
    g_option_context_set_description(ctx, description);
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *error = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        g_printerr("ingress-sim %s: %s\nTry 'ingress-sim %s --help'.\n", name,
                   error->message, name);
        g_error_free(error);
        return FALSE;
    }
    return TRUE;
}

void cli_print_error(const GError *error)
{
    if (strstr(error->message, "error: ") != NULL) {
        g_printerr("%s\n", error->message);
    } else {
        g_printerr("ingress-sim: error: %s\n", error->message);
    }
}

gboolean cli_check_urls(const char *cmd, const char *opt,
                        const char *const *urls, guint n)
{
    for (guint i = 0; i < n; i++) {
        Url check;
        g_autofree char *msg = NULL;
        if (!url_parse(urls[i], &check, &msg)) {
            g_printerr("ingress-sim %s: %s%s%s\n", cmd, opt,
                       opt[0] != '\0' ? ": " : "", msg);
            return FALSE;
        }
        url_clear(&check);
    }
    return TRUE;
}

gboolean cli_parse_at(const char *cmd, const char *text, SimTime *out)
{
    *out = 0;
    if (text == NULL) {
        return TRUE;
    }
    g_autofree char *msg = NULL;
    if (!sim_time_parse(text, out, &msg)) {
        g_printerr("ingress-sim %s: --at: %s\n", cmd, msg);
        return FALSE;
    }
    return TRUE;
}

gboolean cli_apply_duration(const char *cmd, Scenario *s, const char *text)
{
    g_autofree char *msg = NULL;
    SimTime d = 0;
    if (!sim_time_parse(text, &d, &msg) || d <= 0 ||
        d > SCENARIO_MAX_DURATION) {
        g_printerr("ingress-sim %s: --duration: %s\n", cmd,
                   msg != NULL ? msg
                               : "must be greater than 0 and at most 720h "
                                 "(as spec.duration)");
        return FALSE;
    }
    s->duration = d;
    s->duration_set = TRUE; /* also ends replayed traces */
    for (guint i = 0; i < s->traffic->len; i++) {
        TrafficSpec *t = g_ptr_array_index(s->traffic, i);
        t->stop = t->stop_given ? MIN(t->stop, d) : d;
    }
    return TRUE;
}

Scenario *cli_load(const char *path)
{
    GError *error = NULL;
    Scenario *s = scenario_load(path, &error);
    if (s == NULL) {
        cli_print_error(error);
        g_error_free(error);
        return NULL;
    }
    for (guint i = 0; i < s->cluster->skipped->len; i++) {
        g_printerr("%s\n", (const char *)g_ptr_array_index(s->cluster->skipped, i));
    }
    return s;
}

gboolean cli_write_atomic(const char *path, const char *contents, gssize len,
                          GError **error)
{
    /* g_file_set_contents writes a temporary file beside @path and renames
     * it over: readers never see half a file. */
    return g_file_set_contents(path, contents, len, error);
}

char *cli_json_text(JsonNode *node, gboolean pretty)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, pretty);
    json_generator_set_indent(gen, 2);
    json_generator_set_root(gen, node);
    g_autofree char *text = json_generator_to_data(gen, NULL);
    return g_strconcat(text, "\n", NULL);
}
