/* cli-shard.c: shard.json written run by run and read back with the line
 * and column of each member, so a refused shard points at its culprit; the
 * digest that tells two scenarios apart. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "models/ynode.h"
#include "sim/cli-shard.h"
#include "sim/cli.h"
#include "sim/outfile.h"

void shard_set_clear(ShardSet *set)
{
    g_clear_pointer(&set->ingress_sim, g_free);
    g_clear_pointer(&set->scenario, g_free);
    g_clear_pointer(&set->scenario_file, g_free);
    g_clear_pointer(&set->scenario_sha256, g_free);
    g_clear_pointer(&set->duration, g_free);
}

/* A count as typed: digits only, at most @max. */
static gboolean parse_count(const char *text, guint max, guint *out)
{
    guint64 v;
    if (!g_ascii_isdigit(text[0]) ||
        !g_ascii_string_to_unsigned(text, 10, 0, max, &v, NULL)) {
        return FALSE;
    }
    *out = (guint)v;
    return TRUE;
}

gboolean shard_parse_spec(const char *text, guint *k, guint *n, char **msg)
{
    g_auto(GStrv) parts = g_strsplit(text, "/", 3);
    if (g_strv_length(parts) != 2 || !parse_count(parts[0], G_MAXUINT, k) ||
        !parse_count(parts[1], G_MAXUINT, n)) {
        *msg = g_strdup_printf("'%s' is not K/N (shard K of N, e.g. 1/4)",
                               text);
        return FALSE;
    }
    if (*n == 0) {
        *msg = g_strdup_printf("'%s': N, the number of shards, must be at "
                               "least 1",
                               text);
        return FALSE;
    }
    if (*k == 0 || *k > *n) {
        *msg = g_strdup_printf("'%s': K must be from 1 to %u", text, *n);
        return FALSE;
    }
    return TRUE;
}

void shard_block(guint k, guint n, guint r, guint *first, guint *count)
{
    *first = *count = 0;
    g_return_if_fail(k >= 1 && k <= n);
    guint64 lo = (guint64)(k - 1) * r / n;
    guint64 hi = (guint64)k * r / n;
    *first = (guint)lo;
    *count = (guint)(hi - lo);
}

/* ---- the digest ---------------------------------------------------------- */

static gboolean digest_file(GChecksum *sum, GHashTable *seen, const char *path,
                            GError **error)
{
    if (!g_hash_table_add(seen, g_strdup(path))) {
        return TRUE;
    }
    GStatBuf pre;
    if (g_stat(path, &pre) == 0 && !S_ISREG(pre.st_mode)) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_IO,
                    "'%s' is not a regular file", path);
        return FALSE; /* a FIFO would block the digest for good */
    }
    FILE *fp = g_fopen(path, "rb");
    GStatBuf st;
    if (fp == NULL || fstat(fileno(fp), &st) != 0) {
        int e = errno;
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_IO,
                    "%s: %s", path, g_strerror(e));
        if (fp != NULL) {
            fclose(fp);
        }
        return FALSE;
    }
    /* The length first: file boundaries are part of what is digested. */
    char head[32];
    g_snprintf(head, sizeof head, "%" G_GINT64_FORMAT "\n", (gint64)st.st_size);
    g_checksum_update(sum, (const guchar *)head, (gssize)strlen(head));
    guchar buf[65536];
    gsize n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
        g_checksum_update(sum, buf, (gssize)n);
    }
    gboolean ok = !ferror(fp);
    fclose(fp);
    if (!ok) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_IO,
                    "%s: read error", path);
    }
    return ok;
}

char *shard_scenario_sha256(const Scenario *s, GError **error)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autoptr(GHashTable) seen =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (!digest_file(sum, seen, s->file, error)) {
        return NULL;
    }
    /* Every YAML document, also of included and applied files, is kept in
     * the cluster's documents with its file; built-in defaults are named
     * "<...>" (models/cluster.c) and come with the version, which the set
     * records apart. */
    for (guint i = 0; i < s->cluster->docs->len; i++) {
        const YNode *d = g_ptr_array_index(s->cluster->docs, i);
        if (d->file == NULL || d->file[0] == '<') {
            continue;
        }
        if (!digest_file(sum, seen, d->file, error)) {
            return NULL;
        }
    }
    for (guint i = 0; i < s->traffic->len; i++) {
        const TrafficSpec *t = g_ptr_array_index(s->traffic, i);
        GError *e = NULL;
        if (t->trace_file != NULL && !digest_file(sum, seen, t->trace_file, &e)) {
            /* Said where the scenario names the file. */
            const YNode *n = ynode_path(t->where, "trace.file");
            ynode_error(error, n != NULL ? n : t->where, SCENARIO_ERROR_IO,
                        "trace: %s", e->message);
            g_error_free(e);
            return NULL;
        }
    }
    return g_strdup(g_checksum_get_string(sum));
}

/* ---- runs ---------------------------------------------------------------- */

char *shard_run_text(const ShardRun *run, const Results *r)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "replication");
    json_builder_add_int_value(b, run->index);
    json_builder_set_member_name(b, "seed");
    json_builder_add_int_value(b, (gint64)run->seed);
    json_builder_set_member_name(b, "drained");
    json_builder_add_boolean_value(b, run->drained);
    json_builder_set_member_name(b, "events");
    json_builder_add_int_value(b, (gint64)run->events);
    json_builder_set_member_name(b, "state");
    json_builder_add_value(b, results_state_to_json(r));
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}

static gboolean member_uint(JsonObject *o, const char *name, guint64 max,
                            guint64 *out)
{
    JsonNode *n = json_object_get_member(o, name);
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_INT64 ||
        json_node_get_int(n) < 0 || (guint64)json_node_get_int(n) > max) {
        return FALSE;
    }
    *out = (guint64)json_node_get_int(n);
    return TRUE;
}

/* The first member of @o not in @known (NULL-terminated), or NULL: a
 * shard file names nothing it does not use, as a scenario does not. */
static const char *unknown_member(JsonObject *o, const char *const *known)
{
    g_autoptr(GList) names = json_object_get_members(o);
    for (GList *l = names; l != NULL; l = l->next) {
        if (!g_strv_contains(known, l->data)) {
            return l->data;
        }
    }
    return NULL;
}

Results *shard_run_parse(JsonNode *node, ShardRun *run, GError **error)
{
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node)
                                                 : NULL;
    JsonNode *d = o != NULL ? json_object_get_member(o, "drained") : NULL;
    guint64 i = 0;
    if (o == NULL || !member_uint(o, "replication", G_MAXUINT, &i) ||
        !member_uint(o, "seed", G_MAXINT64, &run->seed) ||
        !member_uint(o, "events", G_MAXINT64, &run->events) || d == NULL ||
        !JSON_NODE_HOLDS_VALUE(d) ||
        json_node_get_value_type(d) != G_TYPE_BOOLEAN ||
        json_object_get_member(o, "state") == NULL) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "not a run: expected {\"replication\": N, \"seed\": N, "
                    "\"drained\": true|false, \"events\": N, \"state\": "
                    "{...}}");
        return NULL;
    }
    static const char *const run_members[] = { "replication", "seed",
                                                "drained", "events", "state",
                                                NULL };
    const char *odd = unknown_member(o, run_members);
    if (odd != NULL) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "unknown field '%s' in a run", odd);
        return NULL;
    }
    run->index = (guint)i;
    run->drained = json_node_get_boolean(d);
    GError *local = NULL;
    Results *r = results_state_from_json(json_object_get_member(o, "state"),
                                         &local);
    if (r == NULL) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "replication %u: state.%s", run->index, local->message);
        g_error_free(local);
        return NULL;
    }
    /* "drained" says the balance holds; the state's counts must agree, or
     * a merged set would claim a balance it does not have. */
    if (run->drained && results_n_in_flight(r) != 0) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "replication %u is marked drained, but its state has %"
                    G_GUINT64_FORMAT " requests sent and never ended",
                    run->index, results_n_in_flight(r));
        results_free(r);
        return NULL;
    }
    return r;
}

/* ---- writing ------------------------------------------------------------- */

struct _ShardWriter {
    char *path;      /* DIR/shard.json (owned) */
    OutFile *out;    /* its temporary file until committed, or NULL */
    guint runs;      /* written so far */
};

static gboolean writer_failed(ShardWriter *w, int e, GError **error)
{
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                "%s:1:1: error: cannot write: %s", w->path, g_strerror(e));
    return FALSE;
}


ShardWriter *shard_writer_new(const char *dir, const ShardSet *set,
                              GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, SHARD_FORMAT);
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, SHARD_VERSION);
    const char *strs[] = { "ingress_sim", set->ingress_sim,
                           "scenario", set->scenario,
                           "scenario_file", set->scenario_file,
                           "scenario_sha256", set->scenario_sha256,
                           "duration", set->duration };
    for (guint i = 0; i < G_N_ELEMENTS(strs); i += 2) {
        json_builder_set_member_name(b, strs[i]);
        if (strs[i + 1] != NULL) {
            json_builder_add_string_value(b, strs[i + 1]);
        } else {
            json_builder_add_null_value(b);
        }
    }
    const char *ints[] = { "seed", "replications", "shard", "shards" };
    const guint64 vals[] = { set->seed, set->replications, set->shard,
                             set->shards };
    for (guint i = 0; i < G_N_ELEMENTS(ints); i++) {
        json_builder_set_member_name(b, ints[i]);
        json_builder_add_int_value(b, (gint64)vals[i]);
    }
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autofree char *head = cli_json_text(root, TRUE);
    /* The header object without its closing brace, then the runs: one a
     * line, so a run is easy to find and a refused one is located. */
    char *brace = strrchr(head, '}');
    g_assert(brace != NULL);
    *brace = '\0';
    g_strchomp(head);

    ShardWriter *w = g_new0(ShardWriter, 1);
    w->path = g_build_filename(dir, "shard.json", NULL);
    w->out = out_file_open(w->path, error); /* located errors */
    if (w->out == NULL) {
        shard_writer_free(w);
        return NULL;
    }
    if (fprintf(out_file_stream(w->out), "%s,\n  \"runs\" : [\n", head) < 0) {
        writer_failed(w, errno, error);
        shard_writer_free(w);
        return NULL;
    }
    return w;
}

gboolean shard_writer_add(ShardWriter *w, const char *run, GError **error)
{
    g_return_val_if_fail(w != NULL && w->out != NULL, FALSE);
    if (fprintf(out_file_stream(w->out), "%s%s", w->runs > 0 ? ",\n" : "",
                run) < 0) {
        return writer_failed(w, errno, error);
    }
    w->runs++;
    return TRUE;
}

gboolean shard_writer_commit(ShardWriter *w, GError **error)
{
    g_return_val_if_fail(w != NULL && w->out != NULL, FALSE);
    /* A failed write here leaves the stream's error set: the commit
     * reports it and removes the temporary file. */
    fprintf(out_file_stream(w->out), "\n  ]\n}\n");
    return out_file_commit(g_steal_pointer(&w->out), error);
}

void shard_writer_free(ShardWriter *w)
{
    if (w == NULL) {
        return;
    }
    out_file_abort(w->out);
    g_free(w->path);
    g_free(w);
}

/* ---- reading ------------------------------------------------------------- */

struct _ShardFile {
    char *path;
    char *text;            /* the file */
    GArray *line_starts;   /* gsize: offset of each line's first byte */
    GHashTable *members;   /* top-level member name -> offset + 1 of its key */
    GArray *run_pos;       /* gsize: offset of each run's '{' */
    JsonParser *parser;
    JsonArray *runs;       /* borrowed from the parser's tree */
    ShardSet set;
};

/* While parsing: where each top-level member and each element object of
 * a top-level array starts. json-glib reports a member once its value is
 * parsed, so its key is found by searching back from there. */
typedef struct {
    ShardFile *f;
    gint depth;
    GArray *elems; /* starts in the top-level array being parsed */
} LocCtx;

static gsize offset_now(LocCtx *c, JsonParser *p)
{
    guint line = json_parser_get_current_line(p);
    guint pos = json_parser_get_current_pos(p);
    if (line == 0 || line > c->f->line_starts->len) {
        return 0;
    }
    gsize off = g_array_index(c->f->line_starts, gsize, line - 1);
    return off + (pos > 0 ? pos - 1 : 0);
}

static void on_object_start(JsonParser *p, gpointer data)
{
    LocCtx *c = data;
    if (c->depth == 2 && c->elems != NULL) {
        gsize off = offset_now(c, p);
        g_array_append_val(c->elems, off);
    }
    c->depth++;
}

static void on_array_start(JsonParser *p, gpointer data)
{
    LocCtx *c = data;
    (void)p;
    if (c->depth == 1) {
        g_clear_pointer(&c->elems, g_array_unref);
        c->elems = g_array_new(FALSE, FALSE, sizeof(gsize));
    }
    c->depth++;
}

static void on_end(JsonParser *p, gpointer node, gpointer data)
{
    (void)p;
    (void)node;
    ((LocCtx *)data)->depth--;
}

static void on_member(JsonParser *p, JsonObject *o, const char *name,
                      gpointer data)
{
    LocCtx *c = data;
    (void)o;
    if (c->depth != 1) {
        return;
    }
    gsize end = MIN(offset_now(c, p) + 1, strlen(c->f->text));
    g_autofree char *key = g_strdup_printf("\"%s\"", name);
    const char *at = g_strrstr_len(c->f->text, (gssize)end, key);
    gsize off = at != NULL ? (gsize)(at - c->f->text) : 0;
    g_hash_table_insert(c->f->members, g_strdup(name),
                        GSIZE_TO_POINTER(off + 1));
    if (strcmp(name, "runs") == 0 && c->elems != NULL) {
        g_array_unref(c->f->run_pos);
        c->f->run_pos = g_steal_pointer(&c->elems);
    }
}

static char *where_at(const ShardFile *f, gsize off)
{
    guint lo = 0, hi = f->line_starts->len;
    while (hi - lo > 1) {
        guint mid = (lo + hi) / 2;
        if (g_array_index(f->line_starts, gsize, mid) <= off) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    gsize col = off - g_array_index(f->line_starts, gsize, lo) + 1;
    return g_strdup_printf("%s:%u:%zu", f->path, lo + 1, col);
}

char *shard_file_where(const ShardFile *f, const char *member, guint run)
{
    if (member == NULL) {
        if (run < f->run_pos->len) {
            return where_at(f, g_array_index(f->run_pos, gsize, run));
        }
        member = "runs";
    }
    gsize off = GPOINTER_TO_SIZE(g_hash_table_lookup(f->members, member));
    return where_at(f, off > 0 ? off - 1 : 0);
}

void shard_file_error(const ShardFile *f, const char *member, guint run,
                      GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *where = shard_file_where(f, member, run);
    g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_BAD_VALUE,
                "%s: error: %s", where, msg);
}

/* Member @name of the root as a string (nullable: JSON null gives NULL). */
static gboolean header_str(ShardFile *f, JsonObject *o, const char *name,
                           gboolean nullable, char **out, GError **error)
{
    JsonNode *n = json_object_get_member(o, name);
    if (n != NULL && nullable && JSON_NODE_HOLDS_NULL(n)) {
        *out = NULL;
        return TRUE;
    }
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_STRING) {
        shard_file_error(f, name, 0, error,
                         "\"%s\": expected a string%s", name,
                         n == NULL ? ", and the file has none" : "");
        return FALSE;
    }
    *out = g_strdup(json_node_get_string(n));
    return TRUE;
}

static gboolean header_uint(ShardFile *f, JsonObject *o, const char *name,
                            guint64 min, guint64 max, guint64 *out,
                            GError **error)
{
    if (!member_uint(o, name, max, out) || *out < min) {
        gboolean has = json_object_has_member(o, name);
        shard_file_error(f, name, 0, error,
                         "\"%s\": expected an integer from %" G_GUINT64_FORMAT
                         " to %" G_GUINT64_FORMAT "%s",
                         name, min, max, has ? "" : ", and the file has none");
        return FALSE;
    }
    return TRUE;
}

static gboolean read_header(ShardFile *f, JsonObject *o, GError **error)
{
    g_autofree char *format = NULL;
    guint64 version, seed, r, k, n;
    if (!json_object_has_member(o, "format")) {
        shard_file_error(f, "format", 0, error,
                         "not a shard file: no \"format\": \"" SHARD_FORMAT
                         "\" (`run --shard K/N --out DIR` writes "
                         "DIR/shard.json)");
        return FALSE;
    }
    if (!header_str(f, o, "format", FALSE, &format, error)) {
        return FALSE;
    }
    static const char *const header_members[] = {
        "format",   "version", "ingress_sim",  "scenario", "scenario_file",
        "scenario_sha256", "duration", "seed", "replications", "shard",
        "shards",   "runs",    NULL
    };
    const char *odd = unknown_member(o, header_members);
    if (odd != NULL) {
        shard_file_error(f, odd, 0, error, "unknown field '%s'", odd);
        return FALSE;
    }
    if (strcmp(format, SHARD_FORMAT) != 0) {
        shard_file_error(f, "format", 0, error,
                         "format '%s', not '" SHARD_FORMAT "'", format);
        return FALSE;
    }
    if (!header_uint(f, o, "version", 0, G_MAXINT64, &version, error)) {
        return FALSE;
    }
    if (version != SHARD_VERSION) {
        shard_file_error(f, "version", 0, error,
                         "shard file version %" G_GUINT64_FORMAT
                         ", but this ingress-sim reads version %d: merge "
                         "with the ingress-sim that ran it",
                         version, SHARD_VERSION);
        return FALSE;
    }
    ShardSet *s = &f->set;
    if (!header_str(f, o, "ingress_sim", FALSE, &s->ingress_sim, error) ||
        !header_str(f, o, "scenario", FALSE, &s->scenario, error) ||
        !header_str(f, o, "scenario_file", FALSE, &s->scenario_file, error) ||
        !header_str(f, o, "scenario_sha256", FALSE, &s->scenario_sha256,
                    error) ||
        !header_str(f, o, "duration", TRUE, &s->duration, error) ||
        !header_uint(f, o, "seed", 0, G_MAXINT64, &seed, error) ||
        !header_uint(f, o, "replications", 1, RUN_MAX_REPLICATIONS, &r,
                     error) ||
        !header_uint(f, o, "shards", 1, r, &n, error) ||
        !header_uint(f, o, "shard", 1, n, &k, error)) {
        return FALSE;
    }
    SimTime d = 0;
    g_autofree char *why = NULL;
    if (s->duration != NULL && !sim_time_parse(s->duration, &d, &why)) {
        shard_file_error(f, "duration", 0, error, "duration '%s': %s",
                         s->duration, why);
        return FALSE;
    }
    if (s->duration != NULL) {
        /* Compared as the canonical text: "5000ms" and "5s" are one. */
        g_free(s->duration);
        s->duration = sim_time_format(d);
    }
    s->seed = seed;
    s->replications = (guint)r;
    s->shards = (guint)n;
    s->shard = (guint)k;
    JsonNode *runs = json_object_get_member(o, "runs");
    if (runs == NULL || !JSON_NODE_HOLDS_ARRAY(runs)) {
        shard_file_error(f, "runs", 0, error,
                         "\"runs\": expected an array of runs");
        return FALSE;
    }
    f->runs = json_node_get_array(runs);
    guint first = 0, count = 0;
    shard_block(s->shard, s->shards, s->replications, &first, &count);
    if (json_array_get_length(f->runs) != count) {
        shard_file_error(f, "runs", 0, error,
                         "%u runs, but shard %u/%u of %u replications has "
                         "%u (replications %u to %u): the file is truncated "
                         "or was edited",
                         json_array_get_length(f->runs), s->shard, s->shards,
                         s->replications, count, first, first + count - 1);
        return FALSE;
    }
    return TRUE;
}

/* json-glib says "<data>:LINE:COL: Parse error: what"; we say
 * "PATH:LINE:COL: error: what", as for every input file. */
ShardFile *shard_file_load(const char *path, GError **error)
{
    g_autoptr(ShardFile) f = g_new0(ShardFile, 1);
    f->path = g_strdup(path);
    f->line_starts = g_array_new(FALSE, FALSE, sizeof(gsize));
    f->run_pos = g_array_new(FALSE, FALSE, sizeof(gsize));
    f->members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    gsize len = 0;
    if (!cli_json_read(path, &f->text, &len, error)) {
        return NULL;
    }
    gsize zero = 0;
    g_array_append_val(f->line_starts, zero);
    for (gsize i = 0; i < len; i++) {
        if (f->text[i] == '\n') {
            gsize next = i + 1;
            g_array_append_val(f->line_starts, next);
        }
    }
    f->parser = json_parser_new_immutable();
    LocCtx ctx = { .f = f };
    g_signal_connect(f->parser, "object-start", G_CALLBACK(on_object_start),
                     &ctx);
    g_signal_connect(f->parser, "array-start", G_CALLBACK(on_array_start),
                     &ctx);
    g_signal_connect(f->parser, "object-end", G_CALLBACK(on_end), &ctx);
    g_signal_connect(f->parser, "array-end", G_CALLBACK(on_end), &ctx);
    g_signal_connect(f->parser, "object-member", G_CALLBACK(on_member), &ctx);
    gboolean parsed = cli_json_parse(f->parser, path, f->text, len, error);
    g_signal_handlers_disconnect_by_data(f->parser, &ctx);
    g_clear_pointer(&ctx.elems, g_array_unref);
    if (!parsed) {
        return NULL;
    }
    JsonNode *root = json_parser_get_root(f->parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "%s:1:1: error: not a shard file (expected a JSON "
                    "object, \"format\": \"" SHARD_FORMAT "\")",
                    path);
        return NULL;
    }
    if (!read_header(f, json_node_get_object(root), error)) {
        return NULL;
    }
    return g_steal_pointer(&f);
}

void shard_file_free(ShardFile *f)
{
    if (f == NULL) {
        return;
    }
    shard_set_clear(&f->set);
    g_clear_object(&f->parser);
    g_free(f->path);
    g_free(f->text);
    g_array_unref(f->line_starts);
    g_array_unref(f->run_pos);
    g_hash_table_unref(f->members);
    g_free(f);
}

const char *shard_file_path(const ShardFile *f)
{
    return f->path;
}

const ShardSet *shard_file_set(const ShardFile *f)
{
    return &f->set;
}

guint shard_file_n_runs(const ShardFile *f)
{
    return json_array_get_length(f->runs);
}

Results *shard_file_run(const ShardFile *f, guint i, ShardRun *run,
                        GError **error)
{
    g_return_val_if_fail(i < shard_file_n_runs(f), NULL);
    GError *local = NULL;
    g_autoptr(Results) r =
        shard_run_parse(json_array_get_element(f->runs, i), run, &local);
    if (r == NULL) {
        shard_file_error(f, NULL, i, error, "%s", local->message);
        g_error_free(local);
        return NULL;
    }
    guint first = 0, count = 0;
    shard_block(f->set.shard, f->set.shards, f->set.replications, &first,
                &count);
    if (run->index != first + i || run->seed != f->set.seed + first + i) {
        shard_file_error(f, NULL, i, error,
                         "run %u is replication %u with seed %" G_GUINT64_FORMAT
                         ", but shard %u/%u's run %u is replication %u with "
                         "seed %" G_GUINT64_FORMAT,
                         i + 1, run->index, run->seed, f->set.shard,
                         f->set.shards,
                         i + 1, first + i, f->set.seed + first + i);
        return NULL;
    }
    return g_steal_pointer(&r);
}
