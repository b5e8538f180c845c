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
    static const char *const names[] = { "diagram.svg", "diagram.png" };
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *path = g_build_filename(dir, names[i], NULL);
        if (!diagram_write(&di, path, NULL, error)) {
            return FALSE;
        }
        if (written != NULL) {
            g_ptr_array_add(written, g_steal_pointer(&path));
        }
    }
    return TRUE;
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
