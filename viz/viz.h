/* viz.h: what the command line asks of viz/ after a run: every chart and
 * the path diagram, as SVG and PNG, into the output folder. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "models/scenario.h"
#include "viz/chart.h"
#include "viz/diagram.h"
#include "viz/draw.h"

G_BEGIN_DECLS

/* Writes DIR/{latency-cdf,latency-time,throughput,breakdown,diagram}.{svg,
 * png} from @results (results_to_json()'s document, borrowed) and the
 * scenario @s it came from, each atomically. @written (nullable) gets the
 * paths (char*, transfer full). FALSE with a VIZ_ERROR on the first file
 * that could not be drawn or written. Releases the fonts when done
 * (viz_fonts_release()): call it when no other cairo object is alive. */
gboolean viz_write_run(const Scenario *s,
                       guint64 seed,
                       JsonNode *results,
                       const char *dir,
                       GPtrArray *written,
                       GError **error);

G_END_DECLS
