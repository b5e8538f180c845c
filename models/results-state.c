/* results-state.c: a run's Results as exact, mergeable state: written by
 * one process (a replication, a shard), read back and merged by another, so
 * that the merged results.json is the one a single process would write. */
#include "config.h"

#include <string.h>

#include "models/results-private.h"

G_DEFINE_QUARK(results-error-quark, results_error)

/* The state's layout; bump it when the layout changes (readers refuse
 * other versions rather than misread them). */
#define STATE_VERSION 1

/* The Tally tables, by the name the state gives them. */
static const char *const tally_names[] = { "routes", "clusters", "pods",
                                           "traffic", "nodes",
                                           "gateway_pods" };
#define N_TALLIES RESULTS_N_TALLIES
G_STATIC_ASSERT(G_N_ELEMENTS(tally_names) == RESULTS_N_TALLIES);

/* ---- merging ------------------------------------------------------------- */

static void add_counts(GHashTable *dst, GHashTable *src)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, src);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        results__add_count(dst, k, *(guint64 *)v);
    }
}

static void add_tallies(GHashTable *dst, GHashTable *src)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, src);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const Tally *s = v;
        Tally *d = results__tally(dst, k);
        d->count += s->count;
        hist_merge(d->latency, s->latency);
    }
}

static void add_seconds(GArray *dst, const GArray *src)
{
    if (src->len > dst->len) {
        g_array_set_size(dst, src->len);
    }
    for (guint i = 0; i < src->len; i++) {
        const Second *s = &g_array_index(src, Second, i);
        Second *d = &g_array_index(dst, Second, i);
        d->sent += s->sent;
        for (guint c = 0; c < G_N_ELEMENTS(d->by_class); c++) {
            d->by_class[c] += s->by_class[c];
        }
        d->connections += s->connections;
        for (guint f = 0; f < FAIL_N_REASONS; f++) {
            d->failures[f] += s->failures[f];
        }
        if (s->latency != NULL) {
            if (d->latency == NULL) {
                d->latency = hist_new();
            }
            hist_merge(d->latency, s->latency);
        }
    }
}

/* Appends a copy of @e to @out unless an event at the same time with the
 * same text is already there: those are at its tail, since @out grows in
 * time order. */
static void append_event(GArray *out, const TimelineEvent *e)
{
    for (guint i = out->len; i > 0; i--) {
        const TimelineEvent *o = &g_array_index(out, TimelineEvent, i - 1);
        if (o->at != e->at) {
            break;
        }
        if (strcmp(o->what, e->what) == 0) {
            return;
        }
    }
    TimelineEvent c = { .at = e->at, .what = g_strdup(e->what) };
    g_array_append_val(out, c);
}

/* Each list is in time order (events are recorded as the run goes): a
 * merge of the two, @dst's first at equal times. */
static void merge_events(Results *dst, const GArray *src)
{
    GArray *out = g_array_sized_new(FALSE, TRUE, sizeof(TimelineEvent),
                                    dst->events->len + src->len);
    g_array_set_clear_func(out, results__event_clear);
    guint i = 0, j = 0;
    while (i < dst->events->len || j < src->len) {
        const TimelineEvent *a =
            i < dst->events->len ? &g_array_index(dst->events, TimelineEvent, i)
                                 : NULL;
        const TimelineEvent *b =
            j < src->len ? &g_array_index(src, TimelineEvent, j) : NULL;
        if (a != NULL && (b == NULL || a->at <= b->at)) {
            append_event(out, a);
            i++;
        } else {
            append_event(out, b);
            j++;
        }
    }
    g_array_unref(dst->events);
    dst->events = out;
}

void results_merge(Results *dst, const Results *src)
{
    g_return_if_fail(dst != NULL && src != NULL && dst != src);
    dst->sent += src->sent;
    dst->responses += src->responses;
    dst->connections += src->connections;
    dst->failures += src->failures;
    dst->reused += src->reused;
    add_counts(dst->status, src->status);
    add_counts(dst->flags, src->flags);
    add_counts(dst->fails, src->fails);
    GHashTable *dt[N_TALLIES], *st[N_TALLIES];
    results__tally_tables(dst, dt);
    results__tally_tables(src, st);
    for (guint i = 0; i < N_TALLIES; i++) {
        add_tallies(dt[i], st[i]);
    }
    /* A stale dst stays so: its seconds get src's below. */
    hist_merge(dst->latency, results__latency(src));
    for (guint p = 0; p < PHASE_N; p++) {
        dst->phase_ns[p] += src->phase_ns[p];
    }
    add_seconds(dst->seconds, src->seconds);
    results__forget_second(dst);
    merge_events(dst, src->events);
    dst->bad_lines += src->bad_lines;
    for (guint i = 0; i < src->bad_examples->len &&
                      dst->bad_examples->len < RESULTS_BAD_EXAMPLES;
         i++) {
        const char *ex = g_ptr_array_index(src->bad_examples, i);
        if (!g_ptr_array_find_with_equal_func(dst->bad_examples, ex,
                                              g_str_equal, NULL)) {
            g_ptr_array_add(dst->bad_examples, g_strdup(ex));
        }
    }
}

/* ---- writing ------------------------------------------------------------- */

static void add_uint(JsonBuilder *b, guint64 v)
{
    json_builder_add_int_value(b, (gint64)v);
}

static void add_hist(JsonBuilder *b, const Hist *h)
{
    if (h == NULL) {
        json_builder_add_null_value(b);
        return;
    }
    g_autofree char *text = hist_serialize(h);
    json_builder_add_string_value(b, text);
}

JsonNode *results_state_to_json(const Results *r)
{
    g_return_val_if_fail(r != NULL, NULL);
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "state");
    json_builder_add_int_value(b, STATE_VERSION);
    json_builder_set_member_name(b, "scenario");
    json_builder_add_string_value(b, r->scenario);
    json_builder_set_member_name(b, "seed");
    add_uint(b, r->seed);

    /* [sent, responses, connections, failures, reused] */
    json_builder_set_member_name(b, "totals");
    json_builder_begin_array(b);
    add_uint(b, r->sent);
    add_uint(b, r->responses);
    add_uint(b, r->connections);
    add_uint(b, r->failures);
    add_uint(b, r->reused);
    json_builder_end_array(b);

    /* [[status, 1 if from the gateway else 0, count], ...] */
    json_builder_set_member_name(b, "status");
    json_builder_begin_array(b);
    g_autoptr(GPtrArray) sk = results__sorted_keys(r->status, results__cmp_key_int);
    for (guint i = 0; i < sk->len; i++) {
        gpointer k = g_ptr_array_index(sk, i);
        json_builder_begin_array(b);
        json_builder_add_int_value(b, GPOINTER_TO_INT(k) >> 1);
        json_builder_add_int_value(b, GPOINTER_TO_INT(k) & 1);
        add_uint(b, *(guint64 *)g_hash_table_lookup(r->status, k));
        json_builder_end_array(b);
    }
    json_builder_end_array(b);

    /* [[flags, count], ...] */
    json_builder_set_member_name(b, "flags");
    json_builder_begin_array(b);
    g_autoptr(GPtrArray) fk = results__sorted_keys(r->flags, results__cmp_key_str);
    for (guint i = 0; i < fk->len; i++) {
        gpointer k = g_ptr_array_index(fk, i);
        json_builder_begin_array(b);
        json_builder_add_string_value(b, k);
        add_uint(b, *(guint64 *)g_hash_table_lookup(r->flags, k));
        json_builder_end_array(b);
    }
    json_builder_end_array(b);

    /* [[step, reason, count], ...] */
    json_builder_set_member_name(b, "failures");
    json_builder_begin_array(b);
    g_autoptr(GPtrArray) xk = results__sorted_keys(r->fails, results__cmp_key_int);
    for (guint i = 0; i < xk->len; i++) {
        gpointer k = g_ptr_array_index(xk, i);
        json_builder_begin_array(b);
        json_builder_add_int_value(b, GPOINTER_TO_INT(k) >> 8);
        json_builder_add_string_value(b,
                                      fail_reason_name(GPOINTER_TO_INT(k) & 255));
        add_uint(b, *(guint64 *)g_hash_table_lookup(r->fails, k));
        json_builder_end_array(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "latency");
    add_hist(b, results__latency(r));

    /* Summed ns per phase, in Phase order. */
    json_builder_set_member_name(b, "phase_ns");
    json_builder_begin_array(b);
    for (guint p = 0; p < PHASE_N; p++) {
        add_uint(b, r->phase_ns[p]);
    }
    json_builder_end_array(b);

    /* {table: [[key, count, latency], ...], ...} */
    json_builder_set_member_name(b, "tallies");
    json_builder_begin_object(b);
    GHashTable *tables[N_TALLIES];
    results__tally_tables(r, tables);
    for (guint t = 0; t < N_TALLIES; t++) {
        json_builder_set_member_name(b, tally_names[t]);
        json_builder_begin_array(b);
        g_autoptr(GPtrArray) keys = results__sorted_keys(tables[t], results__cmp_key_str);
        for (guint i = 0; i < keys->len; i++) {
            const char *k = g_ptr_array_index(keys, i);
            const Tally *ta = g_hash_table_lookup(tables[t], k);
            json_builder_begin_array(b);
            json_builder_add_string_value(b, k);
            add_uint(b, ta->count);
            add_hist(b, ta->latency);
            json_builder_end_array(b);
        }
        json_builder_end_array(b);
    }
    json_builder_end_object(b);

    /* One a second: [sent, [1xx..5xx], connections, [failures by reason in
     * FailReason order], latency or null]. */
    json_builder_set_member_name(b, "seconds");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->seconds->len; i++) {
        const Second *s = &g_array_index(r->seconds, Second, i);
        json_builder_begin_array(b);
        add_uint(b, s->sent);
        json_builder_begin_array(b);
        for (guint c = 1; c <= 5; c++) {
            add_uint(b, s->by_class[c]);
        }
        json_builder_end_array(b);
        add_uint(b, s->connections);
        json_builder_begin_array(b);
        for (guint f = 0; f < FAIL_N_REASONS; f++) {
            add_uint(b, s->failures[f]);
        }
        json_builder_end_array(b);
        add_hist(b, s->latency);
        json_builder_end_array(b);
    }
    json_builder_end_array(b);

    /* [[ns, text], ...] */
    json_builder_set_member_name(b, "events");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->events->len; i++) {
        const TimelineEvent *e = &g_array_index(r->events, TimelineEvent, i);
        json_builder_begin_array(b);
        json_builder_add_int_value(b, e->at);
        json_builder_add_string_value(b, e->what);
        json_builder_end_array(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "bad_lines");
    add_uint(b, r->bad_lines);
    json_builder_set_member_name(b, "bad_examples");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->bad_examples->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(r->bad_examples, i));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* ---- reading ------------------------------------------------------------- */

/* Each reader sets @error (naming @what, the member's path) and returns
 * FALSE/NULL when the node is not what the writer above writes. */

static gboolean bad(GError **error, const char *what, const char *expected)
{
    g_set_error(error, RESULTS_ERROR, RESULTS_ERROR_STATE,
                "%s: expected %s", what, expected);
    return FALSE;
}

static gboolean read_uint(JsonNode *n, const char *what, guint64 *out,
                          GError **error)
{
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_INT64 ||
        json_node_get_int(n) < 0) {
        return bad(error, what, "an integer >= 0");
    }
    *out = (guint64)json_node_get_int(n);
    return TRUE;
}

static const char *read_str(JsonNode *n, const char *what, GError **error)
{
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_STRING) {
        bad(error, what, "a string");
        return NULL;
    }
    return json_node_get_string(n);
}

/* The array at @n, of exactly @len items unless @len is -1. */
static JsonArray *read_array(JsonNode *n, const char *what, gint len,
                             GError **error)
{
    if (n == NULL || !JSON_NODE_HOLDS_ARRAY(n)) {
        bad(error, what, "an array");
        return NULL;
    }
    JsonArray *a = json_node_get_array(n);
    if (len >= 0 && json_array_get_length(a) != (guint)len) {
        g_autofree char *exp = g_strdup_printf("an array of %d", len);
        bad(error, what, exp);
        return NULL;
    }
    return a;
}

/* A histogram, or NULL in *@out for JSON null when @nullable. */
static gboolean read_hist(JsonNode *n, const char *what, gboolean nullable,
                          Hist **out, GError **error)
{
    *out = NULL;
    if (nullable && n != NULL && JSON_NODE_HOLDS_NULL(n)) {
        return TRUE;
    }
    const char *text = read_str(n, what, error);
    if (text == NULL) {
        return FALSE;
    }
    GError *local = NULL;
    *out = hist_deserialize(text, &local);
    if (*out == NULL) {
        g_set_error(error, RESULTS_ERROR, RESULTS_ERROR_STATE, "%s: %s", what,
                    local->message);
        g_error_free(local);
        return FALSE;
    }
    return TRUE;
}

/* Reads @n unsigned integers of array @a into @out. */
static gboolean read_uints(JsonArray *a, const char *what, guint64 *out,
                           guint n, GError **error)
{
    for (guint i = 0; i < n; i++) {
        g_autofree char *w = g_strdup_printf("%s[%u]", what, i);
        if (!read_uint(json_array_get_element(a, i), w, &out[i], error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean read_status(Results *r, JsonArray *list, GError **error)
{
    for (guint i = 0; i < json_array_get_length(list); i++) {
        g_autofree char *w = g_strdup_printf("status[%u]", i);
        JsonArray *a = read_array(json_array_get_element(list, i), w, 3, error);
        guint64 v[3];
        if (a == NULL || !read_uints(a, w, v, 3, error)) {
            return FALSE;
        }
        if (v[0] > 999 || v[1] > 1) {
            return bad(error, w, "[status 0..999, origin 0 or 1, count]");
        }
        results__add_count(r->status, GINT_TO_POINTER((gint)(v[0] << 1 | v[1])), v[2]);
    }
    return TRUE;
}

static gboolean read_flags(Results *r, JsonArray *list, GError **error)
{
    for (guint i = 0; i < json_array_get_length(list); i++) {
        g_autofree char *w = g_strdup_printf("flags[%u]", i);
        JsonArray *a = read_array(json_array_get_element(list, i), w, 2, error);
        const char *f = a != NULL ? read_str(json_array_get_element(a, 0), w,
                                             error)
                                  : NULL;
        guint64 n;
        if (f == NULL || !read_uint(json_array_get_element(a, 1), w, &n, error)) {
            return FALSE;
        }
        results__add_count(r->flags, (gpointer)g_intern_string(f), n);
    }
    return TRUE;
}

static gboolean read_fails(Results *r, JsonArray *list, GError **error)
{
    for (guint i = 0; i < json_array_get_length(list); i++) {
        g_autofree char *w = g_strdup_printf("failures[%u]", i);
        JsonArray *a = read_array(json_array_get_element(list, i), w, 3, error);
        guint64 step, n;
        const char *why = NULL;
        if (a == NULL ||
            !read_uint(json_array_get_element(a, 0), w, &step, error) ||
            (why = read_str(json_array_get_element(a, 1), w, error)) == NULL ||
            !read_uint(json_array_get_element(a, 2), w, &n, error)) {
            return FALSE;
        }
        guint reason = 0;
        while (reason < FAIL_N_REASONS &&
               strcmp(fail_reason_name(reason), why) != 0) {
            reason++;
        }
        if (step < 1 || step > 9 || reason == FAIL_N_REASONS) {
            return bad(error, w, "[step 1..9, a failure reason, count]");
        }
        results__add_count(r->fails, GINT_TO_POINTER((gint)(step << 8 | reason)), n);
    }
    return TRUE;
}

static gboolean read_tallies(Results *r, JsonNode *n, GError **error)
{
    if (n == NULL || !JSON_NODE_HOLDS_OBJECT(n)) {
        return bad(error, "tallies", "an object");
    }
    JsonObject *o = json_node_get_object(n);
    GHashTable *tables[N_TALLIES];
    results__tally_tables(r, tables);
    for (guint t = 0; t < N_TALLIES; t++) {
        g_autofree char *tw = g_strdup_printf("tallies.%s", tally_names[t]);
        JsonArray *list = read_array(json_object_get_member(o, tally_names[t]),
                                     tw, -1, error);
        if (list == NULL) {
            return FALSE;
        }
        for (guint i = 0; i < json_array_get_length(list); i++) {
            g_autofree char *w = g_strdup_printf("%s[%u]", tw, i);
            JsonArray *a =
                read_array(json_array_get_element(list, i), w, 3, error);
            const char *key =
                a != NULL ? read_str(json_array_get_element(a, 0), w, error)
                          : NULL;
            guint64 count;
            Hist *h = NULL;
            if (key == NULL ||
                !read_uint(json_array_get_element(a, 1), w, &count, error) ||
                !read_hist(json_array_get_element(a, 2), w, FALSE, &h,
                           error)) {
                return FALSE;
            }
            Tally *ta = results__tally(tables[t], g_intern_string(key));
            ta->count += count;
            hist_merge(ta->latency, h);
            hist_free(h);
        }
    }
    return TRUE;
}

static gboolean read_seconds(Results *r, JsonArray *list, GError **error)
{
    g_array_set_size(r->seconds, json_array_get_length(list));
    results__forget_second(r);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        g_autofree char *w = g_strdup_printf("seconds[%u]", i);
        Second *s = &g_array_index(r->seconds, Second, i);
        JsonArray *a = read_array(json_array_get_element(list, i), w, 5, error);
        if (a == NULL ||
            !read_uint(json_array_get_element(a, 0), w, &s->sent, error) ||
            !read_uint(json_array_get_element(a, 2), w, &s->connections,
                       error)) {
            return FALSE;
        }
        JsonArray *cls = read_array(json_array_get_element(a, 1), w, 5, error);
        JsonArray *fl = cls != NULL ? read_array(json_array_get_element(a, 3),
                                                 w, FAIL_N_REASONS, error)
                                    : NULL;
        if (fl == NULL || !read_uints(cls, w, &s->by_class[1], 5, error) ||
            !read_uints(fl, w, s->failures, FAIL_N_REASONS, error) ||
            !read_hist(json_array_get_element(a, 4), w, TRUE, &s->latency,
                       error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean read_events(Results *r, JsonArray *list, GError **error)
{
    for (guint i = 0; i < json_array_get_length(list); i++) {
        g_autofree char *w = g_strdup_printf("events[%u]", i);
        JsonArray *a = read_array(json_array_get_element(list, i), w, 2, error);
        guint64 at;
        const char *what = NULL;
        if (a == NULL || !read_uint(json_array_get_element(a, 0), w, &at, error) ||
            (what = read_str(json_array_get_element(a, 1), w, error)) == NULL) {
            return FALSE;
        }
        results_event(r, (SimTime)at, what);
    }
    return TRUE;
}

static gboolean read_bad_lines(Results *r, JsonObject *o, GError **error)
{
    JsonArray *ex = read_array(json_object_get_member(o, "bad_examples"),
                               "bad_examples", -1, error);
    if (ex == NULL || !read_uint(json_object_get_member(o, "bad_lines"),
                                 "bad_lines", &r->bad_lines, error)) {
        return FALSE;
    }
    for (guint i = 0; i < json_array_get_length(ex); i++) {
        g_autofree char *w = g_strdup_printf("bad_examples[%u]", i);
        const char *e = read_str(json_array_get_element(ex, i), w, error);
        if (e == NULL) {
            return FALSE;
        }
        g_ptr_array_add(r->bad_examples, g_strdup(e));
    }
    return TRUE;
}

Results *results_state_from_json(JsonNode *state, GError **error)
{
    g_return_val_if_fail(state != NULL, NULL);
    if (!JSON_NODE_HOLDS_OBJECT(state)) {
        bad(error, "state", "an object");
        return NULL;
    }
    JsonObject *o = json_node_get_object(state);
    guint64 version = 0, seed = 0;
    if (!read_uint(json_object_get_member(o, "state"), "state", &version,
                   error)) {
        return NULL;
    }
    if (version != STATE_VERSION) {
        g_set_error(error, RESULTS_ERROR, RESULTS_ERROR_STATE,
                    "state: version %" G_GUINT64_FORMAT ", but this "
                    "ingress-sim reads version %d",
                    version, STATE_VERSION);
        return NULL;
    }
    const char *name = read_str(json_object_get_member(o, "scenario"),
                                "scenario", error);
    if (name == NULL ||
        !read_uint(json_object_get_member(o, "seed"), "seed", &seed, error)) {
        return NULL;
    }
    g_autoptr(Results) r = results_new(name, seed);
    guint64 totals[5];
    JsonArray *ta = read_array(json_object_get_member(o, "totals"), "totals",
                               5, error);
    JsonArray *phases = ta != NULL ? read_array(json_object_get_member(o,
                                                                       "phase_ns"),
                                                "phase_ns", PHASE_N, error)
                                   : NULL;
    if (phases == NULL || !read_uints(ta, "totals", totals, 5, error) ||
        !read_uints(phases, "phase_ns", r->phase_ns, PHASE_N, error)) {
        return NULL;
    }
    r->sent = totals[0];
    r->responses = totals[1];
    r->connections = totals[2];
    r->failures = totals[3];
    r->reused = totals[4];
    /* results_n_in_flight() subtracts: the outcomes never exceed the sent. */
    if (r->responses > r->sent || r->connections > r->sent - r->responses ||
        r->failures > r->sent - r->responses - r->connections) {
        bad(error, "totals", "responses + connections + failures <= sent");
        return NULL;
    }
    static const char *const lists[] = { "status", "flags", "failures",
                                         "seconds", "events" };
    JsonArray *arr[G_N_ELEMENTS(lists)];
    for (guint i = 0; i < G_N_ELEMENTS(lists); i++) {
        arr[i] = read_array(json_object_get_member(o, lists[i]), lists[i], -1,
                            error);
        if (arr[i] == NULL) {
            return NULL;
        }
    }
    Hist *lat = NULL;
    if (!read_status(r, arr[0], error) || !read_flags(r, arr[1], error) ||
        !read_fails(r, arr[2], error) || !read_seconds(r, arr[3], error) ||
        !read_events(r, arr[4], error) ||
        !read_tallies(r, json_object_get_member(o, "tallies"), error) ||
        !read_bad_lines(r, o, error) ||
        !read_hist(json_object_get_member(o, "latency"), "latency", FALSE,
                   &lat, error)) {
        return NULL;
    }
    hist_free(r->latency);
    r->latency = lat;
    r->latency_stale = FALSE;
    return g_steal_pointer(&r);
}
