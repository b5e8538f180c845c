/* results.c: folds request outcomes into counters, histograms and a
 * per-second series, and writes them as results.json and a summary. */
#include "config.h"

#include <string.h>

#include "models/results-private.h"

const char *fail_reason_name(FailReason r)
{
    static const char *const names[] = { "refused", "reset", "timeout",
                                         "tls-handshake" };
    g_return_val_if_fail(r < FAIL_N_REASONS, "?");
    return names[r];
}

const char *phase_name(Phase p)
{
    static const char *const names[] = { "client_lb",   "lb_node",
                                         "node",        "gateway",
                                         "upstream",    "app_queue",
                                         "app_service" };
    g_return_val_if_fail(p < PHASE_N, "?");
    return names[p];
}

static void tally_free(gpointer p)
{
    Tally *t = p;
    hist_free(t->latency);
    g_free(t);
}

static void second_clear(gpointer p)
{
    hist_free(((Second *)p)->latency);
}

void results__event_clear(gpointer p)
{
    g_free(((TimelineEvent *)p)->what);
}

Results *results_new(const char *scenario, guint64 seed)
{
    Results *r = g_new0(Results, 1);
    results__forget_second(r);
    r->scenario = g_strdup(scenario);
    r->seed = seed;
    r->status = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                      g_free);
    r->flags = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                     g_free);
    r->fails = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                     g_free);
    r->routes = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                      tally_free);
    r->clusters = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                        tally_free);
    r->pods = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                    tally_free);
    r->traffic = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                       tally_free);
    r->nodes = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                     tally_free);
    r->gateway_pods = g_hash_table_new_full(g_direct_hash, g_direct_equal,
                                            NULL, tally_free);
    r->latency = hist_new();
    r->seconds = g_array_new(FALSE, TRUE, sizeof(Second));
    g_array_set_clear_func(r->seconds, second_clear);
    r->events = g_array_new(FALSE, TRUE, sizeof(TimelineEvent));
    g_array_set_clear_func(r->events, results__event_clear);
    r->bad_examples = g_ptr_array_new_with_free_func(g_free);
    return r;
}

void results_free(Results *r)
{
    if (r == NULL) {
        return;
    }
    g_free(r->scenario);
    g_hash_table_unref(r->status);
    g_hash_table_unref(r->flags);
    g_hash_table_unref(r->fails);
    g_hash_table_unref(r->routes);
    g_hash_table_unref(r->clusters);
    g_hash_table_unref(r->pods);
    g_hash_table_unref(r->traffic);
    g_hash_table_unref(r->nodes);
    g_hash_table_unref(r->gateway_pods);
    hist_free(r->latency);
    g_array_unref(r->seconds);
    g_array_unref(r->events);
    g_ptr_array_unref(r->bad_examples);
    g_free(r);
}

guint64 *results__counter(GHashTable *h, gpointer key)
{
    guint64 *v = g_hash_table_lookup(h, key);
    if (v == NULL) {
        v = g_new0(guint64, 1);
        g_hash_table_insert(h, key, v);
    }
    return v;
}

void results__add_count(GHashTable *h, gpointer key, guint64 n)
{
    *results__counter(h, key) += n;
}

static void bump(GHashTable *h, gpointer key)
{
    results__add_count(h, key, 1);
}

Tally *results__tally(GHashTable *h, const char *key)
{
    Tally *t = g_hash_table_lookup(h, key);
    if (t == NULL) {
        t = g_new0(Tally, 1);
        t->latency = hist_new();
        g_hash_table_insert(h, (gpointer)key, t);
    }
    return t;
}

/* second_at() of a time in another second than the last one's. */
static G_NO_INLINE Second *second_find(Results *r, SimTime at)
{
    guint idx = (guint)(at / SIM_S);
    if (idx >= r->seconds->len) {
        g_array_set_size(r->seconds, idx + 1);
    }
    r->sec_from = (SimTime)idx * SIM_S;
    r->sec_memo = &g_array_index(r->seconds, Second, idx);
    return r->sec_memo;
}

/* The Second of @at (>= 0). Every request asks twice (sent, then its
 * outcome), nearly always for the second asked before: a compare instead
 * of a 64-bit division. */
static inline Second *second_at(Results *r, SimTime at)
{
    if (G_LIKELY((guint64)(at - r->sec_from) < (guint64)SIM_S)) {
        return r->sec_memo;
    }
    return second_find(r, at);
}

guint64 results_n_reused(const Results *r)
{
    return r->reused;
}

void results_sent(Results *r, SimTime at)
{
    r->sent++;
    second_at(r, at)->sent++;
}

const gboolean results__tally_latency[RESULTS_N_TALLIES] = {
    TRUE, FALSE, FALSE, TRUE, FALSE, FALSE
};

void results__tally_tables(const Results *r,
                           GHashTable *t[RESULTS_N_TALLIES])
{
    t[0] = r->routes;
    t[1] = r->clusters;
    t[2] = r->pods;
    t[3] = r->traffic;
    t[4] = r->nodes;
    t[5] = r->gateway_pods;
}

/* bump() of r->status through a one-entry memo: nearly every response
 * has the status of the one before. Counters are never freed before the
 * results, so the memo stays valid. */
static void bump_status(Results *r, gint key)
{
    if (r->status_memo == NULL || r->status_memo_key != key) {
        r->status_memo = results__counter(r->status, GINT_TO_POINTER(key));
        r->status_memo_key = key;
    }
    (*r->status_memo)++;
}

/* The slot of @key in a table's recent lookups: the top bits of the
 * address times 2^64 / phi (Knuth's multiplicative hashing). The address
 * shifted right by 4, as before, put "worker-1" and "worker-2", interned
 * 9 bytes apart, in one slot, and a run alternating between them missed
 * every time: half of all requests took a hash lookup. */
static inline guint recent_slot(const char *key)
{
    G_STATIC_ASSERT((RESULTS_RECENT & (RESULTS_RECENT - 1)) == 0);
    guint64 h = (guint64)GPOINTER_TO_SIZE(key) *
                G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
    return (guint)(h >> (64 - __builtin_ctz(RESULTS_RECENT)));
}

/* Counts an outcome in tally table @i (results__tally_tables()'s order,
 * *@table) under @key (interned; NULL: not counted), and adds the tally's
 * histogram to @hists when the outcome is @timed and the table keeps
 * latencies. Always inline with a constant @i: each of results_record()'s
 * six calls gets its own memo row and latency choice folded in, where a
 * loop over arrays of keys and tables cost a fifth of recording. */
static inline G_ALWAYS_INLINE void record_tally(Results *r,
                                                guint i,
                                                GHashTable *const *table,
                                                const char *key,
                                                gboolean timed,
                                                Hist **hists,
                                                guint *n_hists)
{
    if (key == NULL) {
        return;
    }
    guint slot = recent_slot(key);
    Tally *t;
    if (G_LIKELY(r->recent[i][slot].key == key)) {
        t = r->recent[i][slot].tally;
    } else {
        t = results__tally(*table, key);
        r->recent[i][slot].key = key;
        r->recent[i][slot].tally = t;
    }
    t->count++;
    if (timed && results__tally_latency[i]) {
        hists[(*n_hists)++] = t->latency;
    }
}

void results_record(Results *r, const RequestOutcome *o)
{
    SimTime lat = o->done - o->sent;
    Second *sec = second_at(r, o->sent);
    g_assert(r->responses + r->connections + r->failures < r->sent);
    r->reused += o->reused ? 1 : 0;
    switch (o->kind) {
    case OUTCOME_RESPONSE:
        r->responses++;
        bump_status(r, (o->status << 1) | (o->from_gateway ? 1 : 0));
        if (o->from_gateway && o->flags != NULL) {
            bump(r->flags, (gpointer)g_intern_string(o->flags));
        }
        sec->by_class[CLAMP(o->status / 100, 1, 5)]++;
        break;
    case OUTCOME_CONNECTION:
        r->connections++;
        sec->connections++;
        break;
    case OUTCOME_FAILURE:
        r->failures++;
        bump(r->fails, GINT_TO_POINTER((o->step << 8) | o->reason));
        sec->failures[o->reason]++;
        break;
    }
    gboolean timed = o->kind != OUTCOME_FAILURE;
    /* The histograms this outcome's latency goes into, recorded at once. */
    Hist *hists[2 + RESULTS_N_TALLIES];
    guint n_hists = 0;
    if (timed) {
        if (sec->latency == NULL) {
            sec->latency = hist_new();
        }
        /* r->latency is made from the seconds' (results__latency()). */
        r->latency_stale = TRUE;
        hists[n_hists++] = sec->latency;
        /* Unrolled: seven adds, where the loop's own upkeep (r and o
         * may alias, so no vector add) cost as much again. */
#pragma GCC unroll 8
        for (guint p = 0; p < PHASE_N; p++) {
            r->phase_ns[p] += (guint64)o->phase[p];
        }
    }
    /* In results__tally_tables()'s order. */
    record_tally(r, 0, &r->routes, o->route, timed, hists, &n_hists);
    record_tally(r, 1, &r->clusters, o->cluster, timed, hists, &n_hists);
    record_tally(r, 2, &r->pods, o->pod, timed, hists, &n_hists);
    record_tally(r, 3, &r->traffic, o->traffic, timed, hists, &n_hists);
    record_tally(r, 4, &r->nodes, o->node, timed, hists, &n_hists);
    record_tally(r, 5, &r->gateway_pods, o->gateway_pod, timed, hists,
                 &n_hists);
    hist_record_each(hists, n_hists, lat);
}

void results_event(Results *r, SimTime at, const char *what)
{
    TimelineEvent e = { .at = at, .what = g_strdup(what) };
    g_array_append_val(r->events, e);
}

void results_bad_line(Results *r, const char *file, guint64 line)
{
    r->bad_lines++;
    if (r->bad_examples->len < RESULTS_BAD_EXAMPLES) {
        g_ptr_array_add(r->bad_examples,
                        g_strdup_printf("%s:%" G_GUINT64_FORMAT, file, line));
    }
}

guint64 results_n_sent(const Results *r)
{
    return r->sent;
}

guint64 results_n_responses(const Results *r)
{
    return r->responses;
}

guint64 results_n_connections(const Results *r)
{
    return r->connections;
}

guint64 results_n_failures(const Results *r)
{
    return r->failures;
}

guint64 results_n_in_flight(const Results *r)
{
    return r->sent - r->responses - r->connections - r->failures;
}

guint64 results_count_status(const Results *r, gint status)
{
    guint64 n = 0;
    for (gint g = 0; g < 2; g++) {
        guint64 *v = g_hash_table_lookup(r->status,
                                         GINT_TO_POINTER((status << 1) | g));
        n += v != NULL ? *v : 0;
    }
    return n;
}

guint64 results_count_failures(const Results *r, guint step, FailReason why)
{
    guint64 n = 0;
    for (guint s = (step == 0 ? 1 : step); s <= (step == 0 ? 9 : step); s++) {
        guint64 *v = g_hash_table_lookup(r->fails, GINT_TO_POINTER((s << 8) | why));
        n += v != NULL ? *v : 0;
    }
    return n;
}

guint64 results_count_pod(const Results *r, const char *pod)
{
    const Tally *t = g_hash_table_lookup(r->pods, g_intern_string(pod));
    return t != NULL ? t->count : 0;
}

const Hist *results__latency(const Results *r)
{
    if (r->latency_stale) {
        /* A memo of the seconds, not state (see Results.latency). */
        Results *mr = (Results *)r;
        hist_reset(mr->latency);
        for (guint i = 0; i < r->seconds->len; i++) {
            const Second *s = &g_array_index(r->seconds, Second, i);
            if (s->latency != NULL) {
                hist_merge(mr->latency, s->latency);
            }
        }
        mr->latency_stale = FALSE;
    }
    return r->latency;
}

const Hist *results_latency(const Results *r)
{
    return results__latency(r);
}

/* ---- JSON ---------------------------------------------------------------- */

static double ms(gint64 ns)
{
    return (double)ns / 1e6;
}

static void add_percentiles(JsonBuilder *b, const Hist *h)
{
    static const double ps[] = { 50, 90, 99, 99.9 };
    static const char *const names[] = { "p50", "p90", "p99", "p99.9" };
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "count");
    json_builder_add_int_value(b, (gint64)hist_count(h));
    for (guint i = 0; i < G_N_ELEMENTS(ps); i++) {
        json_builder_set_member_name(b, names[i]);
        json_builder_add_double_value(b, ms(hist_percentile(h, ps[i])));
    }
    json_builder_set_member_name(b, "mean");
    json_builder_add_double_value(b, hist_count(h) ? hist_mean(h) / 1e6 : 0.0);
    json_builder_set_member_name(b, "max");
    json_builder_add_double_value(b, ms(hist_max(h)));
    json_builder_end_object(b);
}

gint results__cmp_key_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

gint results__cmp_key_int(gconstpointer a, gconstpointer b)
{
    gint x = GPOINTER_TO_INT(*(gconstpointer const *)a);
    gint y = GPOINTER_TO_INT(*(gconstpointer const *)b);
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* Hash tables in key order, never hash order (CONVENTIONS pitfalls). */
GPtrArray *results__sorted_keys(GHashTable *h, GCompareFunc cmp)
{
    GPtrArray *keys = g_ptr_array_sized_new(g_hash_table_size(h));
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, h);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        g_ptr_array_add(keys, k);
    }
    g_ptr_array_sort(keys, cmp);
    return keys;
}

static void add_tallies(JsonBuilder *b, const char *name, GHashTable *h,
                        gboolean with_latency)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_object(b);
    g_autoptr(GPtrArray) keys = results__sorted_keys(h, results__cmp_key_str);
    for (guint i = 0; i < keys->len; i++) {
        const char *k = g_ptr_array_index(keys, i);
        const Tally *t = g_hash_table_lookup(h, k);
        json_builder_set_member_name(b, k);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "count");
        json_builder_add_int_value(b, (gint64)t->count);
        if (with_latency) {
            json_builder_set_member_name(b, "latency_ms");
            add_percentiles(b, t->latency);
        }
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
}

JsonNode *results_to_json(const Results *r)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "scenario");
    json_builder_add_string_value(b, r->scenario);
    json_builder_set_member_name(b, "seed");
    json_builder_add_int_value(b, (gint64)r->seed);
    json_builder_set_member_name(b, "totals");
    json_builder_begin_object(b);
    const char *tn[] = { "sent",     "responses", "connections",
                         "failures", "in_flight", "reused" };
    guint64 tv[] = { r->sent,     r->responses,           r->connections,
                     r->failures, results_n_in_flight(r), r->reused };
    for (guint i = 0; i < G_N_ELEMENTS(tn); i++) {
        json_builder_set_member_name(b, tn[i]);
        json_builder_add_int_value(b, (gint64)tv[i]);
    }
    json_builder_set_member_name(b, "balanced");
    json_builder_add_boolean_value(b, results_n_in_flight(r) == 0);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "responses");
    json_builder_begin_array(b);
    g_autoptr(GPtrArray) sk = results__sorted_keys(r->status, results__cmp_key_int);
    for (guint i = 0; i < sk->len; i++) {
        gint key = GPOINTER_TO_INT(g_ptr_array_index(sk, i));
        guint64 *n = g_hash_table_lookup(r->status, GINT_TO_POINTER(key));
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "status");
        json_builder_add_int_value(b, key >> 1);
        json_builder_set_member_name(b, "origin");
        json_builder_add_string_value(b, (key & 1) ? "gateway" : "app");
        json_builder_set_member_name(b, "count");
        json_builder_add_int_value(b, (gint64)*n);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "response_flags");
    json_builder_begin_object(b);
    g_autoptr(GPtrArray) fk = results__sorted_keys(r->flags, results__cmp_key_str);
    for (guint i = 0; i < fk->len; i++) {
        const char *k = g_ptr_array_index(fk, i);
        json_builder_set_member_name(b, k);
        json_builder_add_int_value(b, (gint64) * (guint64 *)g_hash_table_lookup(r->flags, k));
    }
    json_builder_end_object(b);

    json_builder_set_member_name(b, "failures");
    json_builder_begin_array(b);
    g_autoptr(GPtrArray) fl = results__sorted_keys(r->fails, results__cmp_key_int);
    for (guint i = 0; i < fl->len; i++) {
        gint key = GPOINTER_TO_INT(g_ptr_array_index(fl, i));
        guint64 *n = g_hash_table_lookup(r->fails, GINT_TO_POINTER(key));
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "step");
        json_builder_add_int_value(b, key >> 8);
        json_builder_set_member_name(b, "reason");
        json_builder_add_string_value(b, fail_reason_name(key & 255));
        json_builder_set_member_name(b, "count");
        json_builder_add_int_value(b, (gint64)*n);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "latency_ms");
    add_percentiles(b, results__latency(r));

    json_builder_set_member_name(b, "breakdown_ms");
    json_builder_begin_object(b);
    guint64 timed = hist_count(results__latency(r));
    for (guint p = 0; p < PHASE_N; p++) {
        json_builder_set_member_name(b, phase_name(p));
        json_builder_add_double_value(
            b, timed ? (double)r->phase_ns[p] / (double)timed / 1e6 : 0.0);
    }
    json_builder_end_object(b);

    add_tallies(b, "routes", r->routes, results__tally_latency[0]);

    /* "cdf_ms": {route: [[ms, fraction], ...]}, for the latency CDF chart
     * (viz/chart.c): fraction of the route's timed outcomes at or below ms,
     * ms being each histogram bucket's upper bound (clamped to the largest
     * value), after a first point [min, 0]. At most 200 points: a bucket is
     * kept when the fraction rose by dq or the value grew by a factor dx
     * since the last kept one (and the last always); both thresholds grow
     * until the route fits. O(buckets * 185) per route. */
    json_builder_set_member_name(b, "cdf_ms");
    json_builder_begin_object(b);
    g_autoptr(GPtrArray) ck = results__sorted_keys(r->routes, results__cmp_key_str);
    for (guint i = 0; i < ck->len; i++) {
        const char *k = g_ptr_array_index(ck, i);
        const Tally *t = g_hash_table_lookup(r->routes, k);
        gsize nb = hist_n_buckets(t->latency);
        guint64 total = hist_count(t->latency);
        g_autofree gint64 *xs = g_new0(gint64, nb + 1);
        g_autofree guint64 *ppm = g_new0(guint64, nb + 1);
        g_autofree gboolean *keep = g_new0(gboolean, nb + 1);
        guint64 cum = 0;
        for (gsize j = 0; j < nb; j++) {
            gint64 hi = 0;
            guint64 c = 0;
            hist_bucket(t->latency, j, NULL, &hi, &c);
            cum += c;
            xs[j] = MIN(hi, hist_max(t->latency));
            ppm[j] = (cum * 1000000 + total / 2) / total;
        }
        double dq = 5000, dx = 1.02;
        guint kept = G_MAXUINT;
        while (kept > 199) {
            gint64 x_last = hist_min(t->latency);
            guint64 q_last = 0;
            kept = 0;
            for (gsize j = 0; j < nb; j++) {
                keep[j] = j + 1 == nb || (double)(ppm[j] - q_last) >= dq ||
                          (double)xs[j] >= (double)MAX(x_last, 1) * dx;
                if (keep[j]) {
                    x_last = xs[j];
                    q_last = ppm[j];
                    kept++;
                }
            }
            dq *= 1.5;
            dx = 1.0 + (dx - 1.0) * 1.5;
        }
        json_builder_set_member_name(b, k);
        json_builder_begin_array(b);
        for (gsize j = 0; nb > 0 && j <= nb; j++) {
            if (j > 0 && !keep[j - 1]) {
                continue;
            }
            json_builder_begin_array(b);
            json_builder_add_double_value(
                b, ms(j == 0 ? hist_min(t->latency) : xs[j - 1]));
            json_builder_add_double_value(
                b, j == 0 ? 0.0 : (double)ppm[j - 1] / 1e6);
            json_builder_end_array(b);
        }
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
    add_tallies(b, "clusters", r->clusters, results__tally_latency[1]);
    add_tallies(b, "pods", r->pods, results__tally_latency[2]);
    add_tallies(b, "traffic", r->traffic, results__tally_latency[3]);
    add_tallies(b, "nodes", r->nodes, results__tally_latency[4]);
    add_tallies(b, "gateway_pods", r->gateway_pods, results__tally_latency[5]);

    json_builder_set_member_name(b, "series");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->seconds->len; i++) {
        const Second *s = &g_array_index(r->seconds, Second, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "t");
        json_builder_add_int_value(b, i);
        json_builder_set_member_name(b, "sent");
        json_builder_add_int_value(b, (gint64)s->sent);
        for (guint c = 1; c <= 5; c++) {
            char name[8];
            g_snprintf(name, sizeof name, "%uxx", c);
            json_builder_set_member_name(b, name);
            json_builder_add_int_value(b, (gint64)s->by_class[c]);
        }
        json_builder_set_member_name(b, "connections");
        json_builder_add_int_value(b, (gint64)s->connections);
        json_builder_set_member_name(b, "failures");
        json_builder_begin_object(b);
        for (guint f = 0; f < FAIL_N_REASONS; f++) {
            json_builder_set_member_name(b, fail_reason_name(f));
            json_builder_add_int_value(b, (gint64)s->failures[f]);
        }
        json_builder_end_object(b);
        json_builder_set_member_name(b, "p50_ms");
        json_builder_add_double_value(b, s->latency ? ms(hist_percentile(s->latency, 50)) : 0.0);
        json_builder_set_member_name(b, "p99_ms");
        json_builder_add_double_value(b, s->latency ? ms(hist_percentile(s->latency, 99)) : 0.0);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "events");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->events->len; i++) {
        const TimelineEvent *e = &g_array_index(r->events, TimelineEvent, i);
        g_autofree char *at = sim_time_format(e->at);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "at");
        json_builder_add_string_value(b, at);
        json_builder_set_member_name(b, "at_s");
        json_builder_add_double_value(b, (double)e->at / 1e9);
        json_builder_set_member_name(b, "event");
        json_builder_add_string_value(b, e->what);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "trace_lines_skipped");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "count");
    json_builder_add_int_value(b, (gint64)r->bad_lines);
    json_builder_set_member_name(b, "examples");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->bad_examples->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(r->bad_examples, i));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);

    json_builder_end_object(b);
    return json_builder_get_root(b);
}

char *results_summary(const Results *r)
{
    const Hist *lat = results__latency(r);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "scenario %s, seed %" G_GUINT64_FORMAT "\n",
                           r->scenario, r->seed);
    g_string_append_printf(s,
                           "sent %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT
                           " responses, %" G_GUINT64_FORMAT
                           " connections, %" G_GUINT64_FORMAT " failures\n",
                           r->sent, r->responses, r->connections, r->failures);
    if (r->reused > 0) {
        g_string_append_printf(s,
                               "keep-alive: %" G_GUINT64_FORMAT
                               " requests on a connection kept from an "
                               "earlier one\n",
                               r->reused);
    }
    g_autoptr(GPtrArray) sk = results__sorted_keys(r->status, results__cmp_key_int);
    if (sk->len > 0) {
        g_string_append(s, "responses by status:\n");
    }
    for (guint i = 0; i < sk->len; i++) {
        gint key = GPOINTER_TO_INT(g_ptr_array_index(sk, i));
        guint64 *n = g_hash_table_lookup(r->status, GINT_TO_POINTER(key));
        g_string_append_printf(s, "  %d from %-7s %10" G_GUINT64_FORMAT "\n",
                               key >> 1, (key & 1) ? "gateway" : "app", *n);
    }
    g_autoptr(GPtrArray) fl = results__sorted_keys(r->fails, results__cmp_key_int);
    if (fl->len > 0) {
        g_string_append(s, "failures by step and reason:\n");
    }
    for (guint i = 0; i < fl->len; i++) {
        gint key = GPOINTER_TO_INT(g_ptr_array_index(fl, i));
        guint64 *n = g_hash_table_lookup(r->fails, GINT_TO_POINTER(key));
        g_string_append_printf(s, "  step %d %-14s %10" G_GUINT64_FORMAT "\n",
                               key >> 8, fail_reason_name(key & 255), *n);
    }
    if (hist_count(lat) > 0) {
        g_string_append_printf(
            s, "latency (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f\n",
            ms(hist_percentile(lat, 50)), ms(hist_percentile(lat, 90)),
            ms(hist_percentile(lat, 99)), ms(hist_percentile(lat, 99.9)));
    }
    g_autoptr(GPtrArray) rk = results__sorted_keys(r->routes, results__cmp_key_str);
    if (rk->len > 0) {
        g_string_append(s, "per route:                                   count     p50 ms     p99 ms\n");
    }
    for (guint i = 0; i < rk->len; i++) {
        const char *k = g_ptr_array_index(rk, i);
        const Tally *t = g_hash_table_lookup(r->routes, k);
        g_string_append_printf(s, "  %-40s %9" G_GUINT64_FORMAT " %10.3f %10.3f\n",
                               k, t->count, ms(hist_percentile(t->latency, 50)),
                               ms(hist_percentile(t->latency, 99)));
    }
    if (r->bad_lines > 0) {
        g_string_append_printf(s, "trace lines skipped: %" G_GUINT64_FORMAT "\n",
                               r->bad_lines);
    }
    g_string_append_printf(s,
                           "balance: sent %" G_GUINT64_FORMAT
                           " = responses %" G_GUINT64_FORMAT
                           " + failures %" G_GUINT64_FORMAT "%s\n",
                           r->sent, r->responses + r->connections, r->failures,
                           results_n_in_flight(r) == 0 ? "" : "  (DOES NOT HOLD)");
    return g_string_free(s, FALSE);
}
