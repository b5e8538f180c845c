/* replications.c: pools a replication set's results in replication order
 * and adds, across replications, the mean and 95% interval of the figures
 * people compare (sent, failures, failure ratio, p50, p99). */
#include "config.h"

#include <math.h>

#include "models/replications.h"

typedef struct {
    guint index;
    guint64 seed;
    guint64 sent, responses, connections, failures;
    double p50_ms, p99_ms;
} Figures;

struct _Replications {
    Results *pooled;  /* owned */
    GArray *figures;  /* Figures, in replication order */
};

Replications *replications_new(const char *scenario, guint64 base_seed)
{
    Replications *set = g_new0(Replications, 1);
    set->pooled = results_new(scenario, base_seed);
    set->figures = g_array_new(FALSE, TRUE, sizeof(Figures));
    return set;
}

void replications_free(Replications *set)
{
    if (set == NULL) {
        return;
    }
    results_free(set->pooled);
    g_array_unref(set->figures);
    g_free(set);
}

void replications_add(Replications *set, guint index, guint64 seed,
                      const Results *r)
{
    g_return_if_fail(set != NULL && r != NULL);
    g_return_if_fail(set->figures->len == 0 ||
                     index > g_array_index(set->figures, Figures,
                                           set->figures->len - 1)
                                 .index);
    results_merge(set->pooled, r);
    const Hist *lat = results_latency(r);
    Figures f = {
        .index = index,
        .seed = seed,
        .sent = results_n_sent(r),
        .responses = results_n_responses(r),
        .connections = results_n_connections(r),
        .failures = results_n_failures(r),
        .p50_ms = (double)hist_percentile(lat, 50) / 1e6,
        .p99_ms = (double)hist_percentile(lat, 99) / 1e6,
    };
    g_array_append_val(set->figures, f);
}

guint replications_n(const Replications *set)
{
    return set->figures->len;
}

const Results *replications_pooled(const Replications *set)
{
    return set->pooled;
}

/* ---- across replications ------------------------------------------------- */

double replications_t975(guint df)
{
    /* t(0.975, df) for df 1..30, then 40, 60, 120 and the normal limit;
     * between 30 and infinity, linear in 1/df (within 3e-5 relative). */
    static const double t[] = {
        12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836,
        2.446911851,  2.364624252, 2.306004135, 2.262157163, 2.228138852,
        2.200985160,  2.178812830, 2.160368656, 2.144786688, 2.131449546,
        2.119905299,  2.109815578, 2.100922040, 2.093024054, 2.085963447,
        2.079613845,  2.073873068, 2.068657610, 2.063898562, 2.059538553,
        2.055529439,  2.051830516, 2.048407142, 2.045229642, 2.042272456,
    };
    static const double knot_df[] = { 30, 40, 60, 120 };
    static const double knot_t[] = { 2.042272456, 2.021075390, 2.000297822,
                                     1.979930405, 1.959963985 };
    g_return_val_if_fail(df >= 1, t[0]);
    if (df <= G_N_ELEMENTS(t)) {
        return t[df - 1];
    }
    double x = 1.0 / df;
    for (guint i = 0; i < G_N_ELEMENTS(knot_df); i++) {
        double hi = 1.0 / knot_df[i];
        double lo = i + 1 < G_N_ELEMENTS(knot_df) ? 1.0 / knot_df[i + 1] : 0.0;
        if (x >= lo) {
            return knot_t[i + 1] + (knot_t[i] - knot_t[i + 1]) * (x - lo) /
                                       (hi - lo);
        }
    }
    g_return_val_if_reached(knot_t[G_N_ELEMENTS(knot_t) - 1]);
}

typedef struct {
    double mean, stddev, low, high;
} Interval;

/* Mean and Student's t interval of @n >= 2 values (with one replication
 * there is no set to describe: its documents are a plain run's). */
static Interval interval_of(const double *x, guint n)
{
    Interval iv = { 0.0, 0.0, 0.0, 0.0 };
    g_return_val_if_fail(n >= 2, iv);
    double sum = 0.0;
    for (guint i = 0; i < n; i++) {
        sum += x[i];
    }
    iv.mean = sum / n;
    double ss = 0.0;
    for (guint i = 0; i < n; i++) {
        ss += (x[i] - iv.mean) * (x[i] - iv.mean);
    }
    iv.stddev = sqrt(ss / (n - 1));
    double half = replications_t975(n - 1) * iv.stddev / sqrt((double)n);
    iv.low = iv.mean - half;
    iv.high = iv.mean + half;
    return iv;
}

/* The figures compared across replications, by results.json name. */
static const char *const figure_names[] = { "sent", "failures",
                                            "failure_ratio", "p50_ms",
                                            "p99_ms" };
#define N_FIGURES G_N_ELEMENTS(figure_names)

static double figure_value(const Figures *f, guint which)
{
    switch (which) {
    case 0:
        return (double)f->sent;
    case 1:
        return (double)f->failures;
    case 2:
        return f->sent > 0 ? (double)f->failures / (double)f->sent : 0.0;
    case 3:
        return f->p50_ms;
    default:
        return f->p99_ms;
    }
}

static Interval figure_interval(const Replications *set, guint which)
{
    guint n = set->figures->len;
    g_autofree double *x = g_new(double, MAX(n, 1));
    for (guint i = 0; i < n; i++) {
        x[i] = figure_value(&g_array_index(set->figures, Figures, i), which);
    }
    return interval_of(x, n);
}

JsonNode *replications_to_json(const Replications *set)
{
    g_return_val_if_fail(set != NULL, NULL);
    JsonNode *root = results_to_json(set->pooled);
    if (set->figures->len == 1) {
        return root;
    }
    JsonObject *o = json_node_get_object(root);
    JsonArray *list = json_array_new();
    for (guint i = 0; i < set->figures->len; i++) {
        const Figures *f = &g_array_index(set->figures, Figures, i);
        JsonObject *e = json_object_new();
        json_object_set_int_member(e, "replication", f->index);
        json_object_set_int_member(e, "seed", (gint64)f->seed);
        json_object_set_int_member(e, "sent", (gint64)f->sent);
        json_object_set_int_member(e, "responses", (gint64)f->responses);
        json_object_set_int_member(e, "connections", (gint64)f->connections);
        json_object_set_int_member(e, "failures", (gint64)f->failures);
        json_object_set_double_member(e, "p50_ms", f->p50_ms);
        json_object_set_double_member(e, "p99_ms", f->p99_ms);
        json_array_add_object_element(list, e);
    }
    json_object_set_array_member(o, "replications", list);

    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "n");
    json_builder_add_int_value(b, set->figures->len);
    json_builder_set_member_name(b, "confidence");
    json_builder_add_double_value(b, 0.95);
    for (guint k = 0; k < N_FIGURES; k++) {
        Interval iv = figure_interval(set, k);
        json_builder_set_member_name(b, figure_names[k]);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "mean");
        json_builder_add_double_value(b, iv.mean);
        json_builder_set_member_name(b, "stddev");
        json_builder_add_double_value(b, iv.stddev);
        json_builder_set_member_name(b, "ci95");
        json_builder_begin_array(b);
        json_builder_add_double_value(b, iv.low);
        json_builder_add_double_value(b, iv.high);
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_object_set_member(o, "across_replications", json_builder_get_root(b));
    return root;
}

char *replications_summary(const Replications *set)
{
    g_return_val_if_fail(set != NULL, NULL);
    g_autofree char *pooled = results_summary(set->pooled);
    guint n = set->figures->len;
    if (n < 2) {
        return g_steal_pointer(&pooled);
    }
    const Figures *first = &g_array_index(set->figures, Figures, 0);
    const Figures *last = &g_array_index(set->figures, Figures, n - 1);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "%u replications, seeds %" G_GUINT64_FORMAT
                           "..%" G_GUINT64_FORMAT ", pooled:\n",
                           n, first->seed, last->seed);
    g_string_append(s, pooled);
    g_string_append(s, "across replications:        mean   95% interval\n");
    for (guint k = 0; k < N_FIGURES; k++) {
        Interval iv = figure_interval(set, k);
        const char *fmt = k == 2 ? "  %-16s %12.6f   [%.6f, %.6f]\n"
                                 : "  %-16s %12.3f   [%.3f, %.3f]\n";
        g_string_append_printf(s, fmt, figure_names[k], iv.mean, iv.low,
                               iv.high);
    }
    return g_string_free(s, FALSE);
}
