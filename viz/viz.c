/* viz.c: everything `run` draws after results.json (the command line's one
 * call into viz/): the four charts and the path diagram, SVG and PNG. */
#include "config.h"

#include <glib.h>

#include "viz/viz.h"

static gboolean write_all(const Scenario *s,
                          guint64 seed,
                          JsonNode *results,
                          const char *dir,
                          GPtrArray *written,
                          GError **error)
{
    g_autoptr(ChartInput) in = chart_input_new(results, error);
    if (in == NULL || !chart_write_all(in, dir, written, error)) {
        return FALSE;
    }
    DiagramInput di = { .scenario = s, .seed = seed, .results = results };
    g_autofree char *svg = g_build_filename(dir, "diagram.svg", NULL);
    g_autofree char *png = g_build_filename(dir, "diagram.png", NULL);
    const char *const paths[] = { svg, png };
    return diagram_write_each(&di, paths, G_N_ELEMENTS(paths), written, error);
}

gboolean viz_write_run(const Scenario *s,
                       guint64 seed,
                       JsonNode *results,
                       const char *dir,
                       GPtrArray *written,
                       GError **error)
{
    g_return_val_if_fail(s != NULL && results != NULL && dir != NULL, FALSE);
    gboolean ok = write_all(s, seed, results, dir, written, error);
    viz_fonts_release();
    return ok;
}
