/* chart.h: the charts of a run, drawn from results.json alone (so `chart`
 * can redraw saved results): latency CDF per route, p50/p99 over time with
 * the failure events, throughput and failures over time, time per step. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "viz/draw.h"

G_BEGIN_DECLS

typedef enum {
    CHART_LATENCY_CDF,  /* latency CDF per route, log time axis */
    CHART_LATENCY_TIME, /* p50 and p99 per second, event markers */
    CHART_THROUGHPUT,   /* outcomes per second, stacked, event markers */
    CHART_BREAKDOWN,    /* mean time per step (where the time went) */
    CHART_N
} ChartKind;

/* Every chart is drawn at this size (px); text is sized to be read at it
 * from the back of a room. */
#define CHART_WIDTH  1280
#define CHART_HEIGHT 720

/* The file stem of chart @k: "latency-cdf", "latency-time", "throughput",
 * "breakdown". */
const char *chart_stem(ChartKind k);

/* results.json read into what the charts draw (opaque). */
typedef struct _ChartInput ChartInput;

/* Reads @results (borrowed; results_to_json()'s document or the same read
 * back from a file). NULL with VIZ_ERROR_INPUT when it is not one. Keys
 * added later (cdf_ms) are optional: without cdf_ms the CDF is drawn
 * through the percentiles. Returns: (transfer full). */
ChartInput *chart_input_new(JsonNode *results, GError **error);
void chart_input_free(ChartInput *in);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChartInput, chart_input_free)

/* Draws chart @k as @fmt. @items (nullable): the record of what was drawn
 * (transfer full, VizItem*). Returns: (transfer full) the file's bytes. */
GBytes *chart_render(const ChartInput *in,
                     ChartKind k,
                     VizFormat fmt,
                     GPtrArray **items,
                     GError **error);

/* Writes every chart into @dir as STEM.svg and STEM.png, atomically each.
 * @written (nullable) gets the paths written (char*, transfer full). */
gboolean chart_write_all(const ChartInput *in,
                         const char *dir,
                         GPtrArray *written,
                         GError **error);

G_END_DECLS
