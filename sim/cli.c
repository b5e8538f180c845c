/* cli.c: what the subcommands share: option parsing with teaching --help,
 * scenario loading with located errors, atomic writes, JSON text. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "sim/cli.h"
#include "sim/outfile.h"
#include "viz/viz.h"

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

/* *@at becomes its parent folder (freed and replaced); FALSE at the root,
 * which is its own parent (*@at unchanged). */
static gboolean to_parent(char **at)
{
    char *parent = g_path_get_dirname(*at);
    if (strcmp(parent, *at) == 0) {
        g_free(parent);
        return FALSE;
    }
    g_free(*at);
    *at = parent;
    return TRUE;
}

gboolean cli_make_dir(const char *dir, char **made, GError **error)
{
    g_return_val_if_fail(dir != NULL && made != NULL, FALSE);
    *made = NULL;
    /* The topmost missing folder: the parent chain up to one that exists. */
    g_autofree char *top = NULL;
    g_autofree char *at = g_strdup(dir);
    while (!g_file_test(at, G_FILE_TEST_EXISTS)) {
        g_free(top);
        top = g_strdup(at);
        if (!to_parent(&at)) {
            break;
        }
    }
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s:1:1: error: cannot create folder: %s", dir,
                    g_strerror(e));
        cli_unmake_dir(dir, top);
        return FALSE;
    }
    *made = g_steal_pointer(&top);
    return TRUE;
}

void cli_unmake_dir(const char *dir, const char *made)
{
    if (dir == NULL || made == NULL) {
        return;
    }
    g_autofree char *at = g_strdup(dir);
    for (;;) {
        if (g_rmdir(at) != 0 || strcmp(at, made) == 0) {
            return; /* not empty (or gone): its parents are not either */
        }
        if (!to_parent(&at)) {
            return;
        }
    }
}

void cli_remove_files(const GPtrArray *written)
{
    for (guint i = 0; written != NULL && i < written->len; i++) {
        g_remove(g_ptr_array_index(written, i));
    }
}

gboolean cli_write_outputs(const Scenario *s, guint64 seed, JsonNode *json,
                           const char *text, const char *dir,
                           GPtrArray *written, GError **error)
{
    g_autoptr(GPtrArray) mine = g_ptr_array_new_with_free_func(g_free);
    char *path = g_build_filename(dir, "results.json", NULL);
    if (!cli_write_atomic(path, text, -1, error)) {
        g_free(path);
        return FALSE;
    }
    g_ptr_array_add(mine, path);
    if (!viz_write_run(s, seed, json, dir, mine, error)) {
        cli_remove_files(mine);
        return FALSE;
    }
    for (guint i = 0; written != NULL && i < mine->len; i++) {
        g_ptr_array_add(written, g_strdup(g_ptr_array_index(mine, i)));
    }
    return TRUE;
}

/* Line and column (from 1) of byte @at of @text. */
static void text_position(const char *text, gsize at, guint *line, guint *col)
{
    *line = 1;
    *col = 1;
    for (gsize i = 0; i < at; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* The byte where @text first opens a level deeper than @max (strings
 * skipped), or -1. */
static gssize json_too_deep(const char *text, gsize len, guint max)
{
    guint depth = 0;
    gboolean in_string = FALSE;
    for (gsize i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_string = FALSE;
            }
        } else if (c == '"') {
            in_string = TRUE;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                return (gssize)i;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return -1;
}

/* json-glib's "<data>:LINE:COL: Parse error: MSG" as PATH:LINE:COL. */
static void json_parse_error(const char *path, const char *msg, GError **error)
{
    static const char sep[] = ": Parse error: ";
    const char *rest = g_str_has_prefix(msg, "<data>:") ? msg + 7 : NULL;
    const char *pe = rest != NULL ? strstr(rest, sep) : NULL;
    guint line = 0, col = 0;
    if (pe != NULL && sscanf(rest, "%u:%u", &line, &col) == 2) {
        /* At the end of the file json-glib counts columns from 0. */
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "%s:%u:%u: error: %s", path, line, MAX(col, 1),
                    pe + strlen(sep));
    } else {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "%s:1:1: error: %s", path, msg);
    }
}

gboolean cli_json_read(const char *path, char **text, gsize *len,
                       GError **error)
{
    g_return_val_if_fail(path != NULL && text != NULL && len != NULL, FALSE);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_IO,
                    g_file_test(path, G_FILE_TEST_EXISTS)
                        ? "%s:1:1: error: not a regular file"
                        : "%s:1:1: error: cannot read: no such file",
                    path);
        return FALSE;
    }
    g_autofree char *t = NULL;
    gsize n = 0;
    GError *local = NULL;
    if (!g_file_get_contents(path, &t, &n, &local)) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_IO,
                    "%s:1:1: error: cannot read: %s", path, local->message);
        g_error_free(local);
        return FALSE;
    }
    gssize deep = json_too_deep(t, n, CLI_JSON_MAX_DEPTH);
    if (deep >= 0) {
        guint line, col;
        text_position(t, (gsize)deep, &line, &col);
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_TOO_LARGE,
                    "%s:%u:%u: error: JSON nested deeper than %d levels",
                    path, line, col, CLI_JSON_MAX_DEPTH);
        return FALSE;
    }
    *text = g_steal_pointer(&t);
    *len = n;
    return TRUE;
}

gboolean cli_json_parse(JsonParser *parser, const char *path,
                        const char *text, gsize len, GError **error)
{
    g_return_val_if_fail(parser != NULL && path != NULL && text != NULL,
                         FALSE);
    GError *local = NULL;
    if (!json_parser_load_from_data(parser, text, (gssize)len, &local)) {
        json_parse_error(path, local->message, error);
        g_error_free(local);
        return FALSE;
    }
    return TRUE;
}

gboolean cli_json_load(JsonParser *parser, const char *path, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    return cli_json_read(path, &text, &len, error) &&
           cli_json_parse(parser, path, text, len, error);
}

gboolean cli_write_atomic(const char *path, const char *contents, gssize len,
                          GError **error)
{
    return out_file_write(path, contents, len, error);
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
