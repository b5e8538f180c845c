/* ynode.c: libyaml events folded into YNode trees with 1-based marks, under
 * input limits, and the typed readers that turn nodes into located errors. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <yaml.h>

#include "models/ynode.h"

G_DEFINE_QUARK(scenario-error-quark, scenario_error)

static const YLimits default_limits = {
    .max_file_bytes = 64u << 20,
    .max_documents = 10000,
    .max_depth = 64,
    .max_nodes = 2000000,
    .max_scalar_len = 1u << 20,
};

const YLimits *ylimits_default(void)
{
    return &default_limits;
}

void ynode_error(GError **error, const YNode *node, ScenarioError code,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (node != NULL) {
        g_set_error(error, SCENARIO_ERROR, code, "%s:%u:%u: error: %s",
                    node->file, node->line, node->col, msg);
    } else {
        g_set_error(error, SCENARIO_ERROR, code, "error: %s", msg);
    }
}

char *ynode_where(const YNode *node)
{
    if (node == NULL) {
        return g_strdup("-");
    }
    return g_strdup_printf("%s:%u:%u", node->file, node->line, node->col);
}

void ynode_free(YNode *node)
{
    if (node == NULL) {
        return;
    }
    g_free(node->scalar);
    if (node->items != NULL) {
        g_ptr_array_unref(node->items);
    }
    g_free(node);
}

static YNode *ynode_alloc(YNodeKind kind, const char *file,
                          const yaml_mark_t *mark)
{
    YNode *n = g_new0(YNode, 1);
    n->kind = kind;
    n->file = file;
    n->line = (guint)mark->line + 1;
    n->col = (guint)mark->column + 1;
    if (kind != YNODE_SCALAR) {
        n->items = g_ptr_array_new_with_free_func((GDestroyNotify)ynode_free);
    }
    return n;
}

/* Deep copy, for aliases: each expansion counts against the node budget, so
 * a billion-laughs document stops at the limit instead of eating memory. */
static YNode *ynode_copy(const YNode *src, gsize *budget)
{
    if (*budget == 0) {
        return NULL;
    }
    (*budget)--;
    YNode *n = g_new0(YNode, 1);
    *n = *src;
    n->scalar = g_strdup(src->scalar);
    if (src->items != NULL) {
        n->items = g_ptr_array_new_full(src->items->len,
                                        (GDestroyNotify)ynode_free);
        for (guint i = 0; i < src->items->len; i++) {
            YNode *c = ynode_copy(g_ptr_array_index(src->items, i), budget);
            if (c == NULL) {
                ynode_free(n);
                return NULL;
            }
            g_ptr_array_add(n->items, c);
        }
    }
    return n;
}

typedef struct {
    yaml_parser_t parser;  /* libyaml state */
    const char *file;      /* interned name for marks */
    const YLimits *limits; /* never NULL */
    gsize budget;          /* nodes left before max_nodes */
    GHashTable *anchors;   /* anchor name -> YNode* (borrowed from tree) */
    const char *text;      /* the input, for locating reader errors */
    gsize len;             /* its length in bytes */
} Loader;

static void event_clear(yaml_event_t *ev)
{
    yaml_event_delete(ev);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(yaml_event_t, event_clear)

/* libyaml's reader errors (bad UTF-8, control characters) carry a byte
 * offset, not a mark: count lines and characters up to it. */
static yaml_mark_t reader_mark(const Loader *ld, gsize offset)
{
    yaml_mark_t m = { 0 };
    for (gsize i = 0; i < offset && i < ld->len; i++) {
        if (ld->text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else if (((guchar)ld->text[i] & 0xc0) != 0x80) {
            m.column++; /* a character starts here (not a continuation) */
        }
    }
    return m;
}

static gboolean loader_next(Loader *ld, yaml_event_t *ev, GError **error)
{
    if (!yaml_parser_parse(&ld->parser, ev)) {
        yaml_mark_t m = ld->parser.problem_mark;
        const char *problem =
            ld->parser.problem ? ld->parser.problem : "parse error";
        if (ld->parser.error == YAML_READER_ERROR) {
            m = reader_mark(ld, ld->parser.problem_offset);
        }
        /* "while scanning a quoted scalar": where that started is the
         * culprit when the file simply ended; else a hint. */
        g_autofree char *note = NULL;
        if (ld->parser.context != NULL) {
            const yaml_mark_t *c = &ld->parser.context_mark;
            if (strstr(problem, "end of stream") != NULL) {
                note = g_strdup_printf(" (the file ends at %zu:%zu)",
                                       m.line + 1, m.column + 1);
                m = *c;
            } else if (c->line != m.line || c->column != m.column) {
                note = g_strdup_printf(" (it starts at %zu:%zu)", c->line + 1,
                                       c->column + 1);
            }
        }
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "%s:%zu:%zu: error: invalid YAML: %s%s%s%s", ld->file,
                    m.line + 1, m.column + 1, problem,
                    ld->parser.context ? " " : "",
                    ld->parser.context ? ld->parser.context : "",
                    note != NULL ? note : "");
        memset(ev, 0, sizeof *ev);
        return FALSE;
    }
    return TRUE;
}

static gboolean located_limit(Loader *ld, const yaml_mark_t *m,
                              GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static gboolean located_limit(Loader *ld, const yaml_mark_t *m,
                              GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_TOO_LARGE,
                "%s:%zu:%zu: error: %s", ld->file, m->line + 1, m->column + 1,
                what);
    return FALSE;
}

/* Levels below @n, @n included (a scalar is 1). Bounded: every tree the
 * loader built is within max_depth. */
static guint ynode_height(const YNode *n)
{
    guint h = 0;
    for (guint i = 0; n->items != NULL && i < n->items->len; i++) {
        guint c = ynode_height(g_ptr_array_index(n->items, i));
        h = MAX(h, c); /* not MAX(h, call): the macro would call twice */
    }
    return h + 1;
}

static YNode *load_node(Loader *ld, yaml_event_t *first, guint depth,
                        GError **error);

static void remember_anchor(Loader *ld, const yaml_char_t *anchor, YNode *n)
{
    if (anchor != NULL) {
        g_hash_table_replace(ld->anchors, g_strdup((const char *)anchor), n);
    }
}

static gboolean map_has_key(const YNode *map, const char *key)
{
    for (guint i = 0; i + 1 < map->items->len; i += 2) {
        const YNode *k = g_ptr_array_index(map->items, i);
        if (k->scalar != NULL && strcmp(k->scalar, key) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static YNode *load_collection(Loader *ld, yaml_event_t *first, guint depth,
                              GError **error)
{
    gboolean is_map = first->type == YAML_MAPPING_START_EVENT;
    yaml_event_type_t end =
        is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    g_autoptr(YNode) n = ynode_alloc(is_map ? YNODE_MAP : YNODE_SEQ, ld->file,
                                     &first->start_mark);
    remember_anchor(ld, is_map ? first->data.mapping_start.anchor
                               : first->data.sequence_start.anchor,
                    n);
    for (;;) {
        g_auto(yaml_event_t) ev = { 0 };
        if (!loader_next(ld, &ev, error)) {
            return NULL;
        }
        if (ev.type == end) {
            break;
        }
        YNode *child = load_node(ld, &ev, depth + 1, error);
        if (child == NULL) {
            return NULL;
        }
        gboolean is_key = is_map && (n->items->len % 2 == 0);
        if (is_key && child->kind != YNODE_SCALAR) {
            ynode_error(error, child, SCENARIO_ERROR_SYNTAX,
                        "a mapping key must be a plain value");
            ynode_free(child);
            return NULL;
        }
        /* Kubernetes' strict decoder refuses duplicate keys; so do we,
         * because the silent last-one-wins hides typos. */
        if (is_key && map_has_key(n, child->scalar)) {
            ynode_error(error, child, SCENARIO_ERROR_SYNTAX,
                        "duplicate key '%s'", child->scalar);
            ynode_free(child);
            return NULL;
        }
        g_ptr_array_add(n->items, child);
    }
    return g_steal_pointer(&n);
}

static YNode *load_node(Loader *ld, yaml_event_t *ev, guint depth,
                        GError **error)
{
    if (depth > ld->limits->max_depth) {
        located_limit(ld, &ev->start_mark, error,
                      "nesting deeper than the limit of %u levels",
                      ld->limits->max_depth);
        return NULL;
    }
    if (ld->budget == 0) {
        located_limit(ld, &ev->start_mark, error,
                      "more YAML nodes than the limit of %zu (aliases "
                      "count once per use)",
                      ld->limits->max_nodes);
        return NULL;
    }
    ld->budget--;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        if (ev->data.scalar.length > ld->limits->max_scalar_len) {
            located_limit(ld, &ev->start_mark, error,
                          "a value longer than the limit of %zu bytes",
                          ld->limits->max_scalar_len);
            return NULL;
        }
        YNode *n = ynode_alloc(YNODE_SCALAR, ld->file, &ev->start_mark);
        n->scalar = g_strndup((const char *)ev->data.scalar.value,
                              ev->data.scalar.length);
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
                   ev->data.scalar.style == YAML_ANY_SCALAR_STYLE;
        remember_anchor(ld, ev->data.scalar.anchor, n);
        return n;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return load_collection(ld, ev, depth, error);
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        YNode *target = g_hash_table_lookup(ld->anchors, name);
        if (target == NULL) {
            g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                        "%s:%zu:%zu: error: unknown alias '*%s'", ld->file,
                        ev->start_mark.line + 1, ev->start_mark.column + 1,
                        name);
            return NULL;
        }
        /* The copy must respect the depth limit where it lands too. */
        if (depth + ynode_height(target) > ld->limits->max_depth + 1) {
            located_limit(ld, &ev->start_mark, error,
                          "alias '*%s' nests deeper than the limit of %u "
                          "levels",
                          name, ld->limits->max_depth);
            return NULL;
        }
        YNode *n = ynode_copy(target, &ld->budget);
        if (n == NULL) {
            located_limit(ld, &ev->start_mark, error,
                          "alias expansion exceeds the limit of %zu nodes "
                          "(a 'billion laughs' document?)",
                          ld->limits->max_nodes);
            return NULL;
        }
        n->line = (guint)ev->start_mark.line + 1;
        n->col = (guint)ev->start_mark.column + 1;
        return n;
    }
    default:
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "%s:%zu:%zu: error: unexpected YAML event", ld->file,
                    ev->start_mark.line + 1, ev->start_mark.column + 1);
        return NULL;
    }
}

static GPtrArray *load_stream(Loader *ld, GError **error)
{
    g_autoptr(GPtrArray) docs =
        g_ptr_array_new_with_free_func((GDestroyNotify)ynode_free);
    for (;;) {
        g_auto(yaml_event_t) ev = { 0 };
        if (!loader_next(ld, &ev, error)) {
            return NULL;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            break;
        }
        if (ev.type != YAML_DOCUMENT_START_EVENT) {
            continue; /* STREAM_START */
        }
        if (docs->len >= ld->limits->max_documents) {
            located_limit(ld, &ev.start_mark, error,
                          "more documents than the limit of %u",
                          ld->limits->max_documents);
            return NULL;
        }
        g_hash_table_remove_all(ld->anchors);
        g_auto(yaml_event_t) body = { 0 };
        if (!loader_next(ld, &body, error)) {
            return NULL;
        }
        YNode *root = NULL;
        if (body.type != YAML_DOCUMENT_END_EVENT) {
            root = load_node(ld, &body, 0, error);
            if (root == NULL) {
                return NULL;
            }
            g_auto(yaml_event_t) end = { 0 };
            if (!loader_next(ld, &end, error)) {
                ynode_free(root);
                return NULL;
            }
        }
        /* "---" followed by nothing, or a document that is only null,
         * is an empty document: kubectl skips those too. */
        if (root != NULL && !ynode_is_null(root)) {
            g_ptr_array_add(docs, root);
        } else {
            ynode_free(root);
        }
    }
    return g_steal_pointer(&docs);
}

GPtrArray *ynode_load_string(const char *name, const char *text, gsize len,
                             const YLimits *limits, GError **error)
{
    Loader ld = { 0 };
    ld.file = g_intern_string(name);
    ld.limits = limits != NULL ? limits : &default_limits;
    ld.budget = ld.limits->max_nodes;
    if (len > ld.limits->max_file_bytes) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_TOO_LARGE,
                    "%s:1:1: error: file is larger than the limit of %zu "
                    "bytes",
                    ld.file, ld.limits->max_file_bytes);
        return NULL;
    }
    ld.anchors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ld.text = text;
    ld.len = len;
    yaml_parser_initialize(&ld.parser);
    yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text,
                                 len);
    GPtrArray *docs = load_stream(&ld, error);
    yaml_parser_delete(&ld.parser);
    g_hash_table_unref(ld.anchors);
    return docs;
}

GPtrArray *ynode_load_file(const char *path, const YLimits *limits,
                           GError **error)
{
    const YLimits *lim = limits != NULL ? limits : &default_limits;
    g_autoptr(GMappedFile) mf = NULL;
    GError *io = NULL;
    GStatBuf st;
    if (g_stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_IO,
                    "%s:1:1: error: is a directory, not a YAML file", path);
        return NULL;
    }
    /* A FIFO or device would block or never end: only regular files. */
    if (g_stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_IO,
                    "%s:1:1: error: not a regular file", path);
        return NULL;
    }
    if (g_stat(path, &st) == 0 && (gsize)st.st_size > lim->max_file_bytes) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_TOO_LARGE,
                    "%s:1:1: error: file is larger than the limit of %zu "
                    "bytes",
                    path, lim->max_file_bytes);
        return NULL;
    }
    mf = g_mapped_file_new(path, FALSE, &io);
    if (mf == NULL) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_IO,
                    "%s:1:1: error: cannot read: %s", path, io->message);
        g_error_free(io);
        return NULL;
    }
    const char *text = g_mapped_file_get_contents(mf);
    gsize len = g_mapped_file_get_length(mf);
    return ynode_load_string(path, text != NULL ? text : "", len, lim, error);
}

YNode *ynode_get_key(const YNode *map, const char *key)
{
    if (map == NULL || map->kind != YNODE_MAP) {
        return NULL;
    }
    for (guint i = 0; i + 1 < map->items->len; i += 2) {
        YNode *k = g_ptr_array_index(map->items, i);
        if (strcmp(k->scalar, key) == 0) {
            return k;
        }
    }
    return NULL;
}

YNode *ynode_get(const YNode *map, const char *key)
{
    if (map == NULL || map->kind != YNODE_MAP) {
        return NULL;
    }
    for (guint i = 0; i + 1 < map->items->len; i += 2) {
        YNode *k = g_ptr_array_index(map->items, i);
        if (strcmp(k->scalar, key) == 0) {
            return g_ptr_array_index(map->items, i + 1);
        }
    }
    return NULL;
}

YNode *ynode_path(const YNode *node, const char *dotted)
{
    g_auto(GStrv) parts = g_strsplit(dotted, ".", -1);
    const YNode *cur = node;
    for (guint i = 0; parts[i] != NULL && cur != NULL; i++) {
        cur = ynode_get(cur, parts[i]);
    }
    return (YNode *)cur;
}

guint ynode_len(const YNode *node)
{
    if (node == NULL || node->items == NULL) {
        return 0;
    }
    return node->kind == YNODE_MAP ? node->items->len / 2 : node->items->len;
}

YNode *ynode_at(const YNode *seq, guint i)
{
    g_return_val_if_fail(seq != NULL && seq->kind == YNODE_SEQ, NULL);
    g_return_val_if_fail(i < seq->items->len, NULL);
    return g_ptr_array_index(seq->items, i);
}

YNode *ynode_key_at(const YNode *map, guint i)
{
    g_return_val_if_fail(map != NULL && map->kind == YNODE_MAP, NULL);
    return g_ptr_array_index(map->items, 2 * i);
}

YNode *ynode_value_at(const YNode *map, guint i)
{
    g_return_val_if_fail(map != NULL && map->kind == YNODE_MAP, NULL);
    return g_ptr_array_index(map->items, 2 * i + 1);
}

gboolean ynode_is_null(const YNode *node)
{
    if (node == NULL) {
        return TRUE;
    }
    if (node->kind != YNODE_SCALAR || !node->plain) {
        return FALSE;
    }
    const char *s = node->scalar;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *ynode_str(const YNode *node)
{
    if (node == NULL || node->kind != YNODE_SCALAR || ynode_is_null(node)) {
        return NULL;
    }
    return node->scalar;
}

const char *ynode_str_or(const YNode *node, const char *fallback)
{
    const char *s = ynode_str(node);
    return s != NULL ? s : fallback;
}

static const char *kind_name(const YNode *node)
{
    if (ynode_is_null(node)) {
        return "null";
    }
    switch (node->kind) {
    case YNODE_MAP:
        return "a mapping";
    case YNODE_SEQ:
        return "a list";
    default:
        return "a value";
    }
}

gboolean ynode_to_string(const YNode *node, const char **out, GError **error)
{
    if (node == NULL || node->kind != YNODE_SCALAR || ynode_is_null(node)) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "expected a string, found %s", kind_name(node));
        return FALSE;
    }
    *out = node->scalar;
    return TRUE;
}

gboolean ynode_to_int(const YNode *node, gint64 min, gint64 max, gint64 *out,
                      GError **error)
{
    if (node == NULL || node->kind != YNODE_SCALAR || ynode_is_null(node)) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "expected an integer, found %s", kind_name(node));
        return FALSE;
    }
    gint64 v = 0;
    GError *e = NULL;
    if (!g_ascii_string_to_signed(node->scalar, 10, G_MININT64, G_MAXINT64,
                                  &v, &e)) {
        g_error_free(e);
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "expected an integer, found '%s'", node->scalar);
        return FALSE;
    }
    if (v < min || v > max) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "%" G_GINT64_FORMAT " is out of range (%" G_GINT64_FORMAT
                    "..%" G_GINT64_FORMAT ")",
                    v, min, max);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

gboolean ynode_to_double(const YNode *node, double min, double max,
                         double *out, GError **error)
{
    if (node == NULL || node->kind != YNODE_SCALAR || ynode_is_null(node)) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "expected a number, found %s", kind_name(node));
        return FALSE;
    }
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(node->scalar, &end);
    if (end == node->scalar || *end != '\0' || errno != 0 || v != v) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "expected a number, found '%s'", node->scalar);
        return FALSE;
    }
    if (v < min || v > max) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "%s is out of range (%g..%g)", node->scalar, min, max);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

gboolean ynode_to_bool(const YNode *node, gboolean *out, GError **error)
{
    const char *s = ynode_str(node);
    if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
                      strcmp(s, "TRUE") == 0)) {
        *out = TRUE;
        return TRUE;
    }
    if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
                      strcmp(s, "FALSE") == 0)) {
        *out = FALSE;
        return TRUE;
    }
    ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                "expected true or false, found %s%s%s",
                s != NULL ? "'" : "", s != NULL ? s : kind_name(node),
                s != NULL ? "'" : "");
    return FALSE;
}

gboolean ynode_to_duration(const YNode *node, SimTime *out, GError **error)
{
    const char *s = ynode_str(node);
    if (s == NULL) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "expected a duration such as 250ms, found %s",
                    kind_name(node));
        return FALSE;
    }
    g_autofree char *msg = NULL;
    if (!sim_time_parse(s, out, &msg)) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE, "%s", msg);
        return FALSE;
    }
    return TRUE;
}

gboolean ynode_to_port(const YNode *node, gint *out, GError **error)
{
    gint64 v = 0;
    if (!ynode_to_int(node, 1, 65535, &v, NULL)) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "expected a port number 1..65535, found %s%s%s",
                    ynode_str(node) ? "'" : "",
                    ynode_str(node) ? ynode_str(node) : kind_name(node),
                    ynode_str(node) ? "'" : "");
        return FALSE;
    }
    *out = (gint)v;
    return TRUE;
}

gboolean ynode_expect_map(const YNode *node, const char *what, GError **error)
{
    if (node == NULL || node->kind != YNODE_MAP) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "%s must be a mapping, found %s", what, kind_name(node));
        return FALSE;
    }
    return TRUE;
}

gboolean ynode_expect_seq(const YNode *node, const char *what, GError **error)
{
    if (node == NULL || node->kind != YNODE_SEQ) {
        ynode_error(error, node, SCENARIO_ERROR_BAD_VALUE,
                    "%s must be a list, found %s", what, kind_name(node));
        return FALSE;
    }
    return TRUE;
}

static guint edit_distance(const char *a, const char *b)
{
    gsize la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) {
        return G_MAXUINT;
    }
    guint prev[65], cur[65];
    for (gsize j = 0; j <= lb; j++) {
        prev[j] = (guint)j;
    }
    for (gsize i = 1; i <= la; i++) {
        cur[0] = (guint)i;
        for (gsize j = 1; j <= lb; j++) {
            guint sub = prev[j - 1] + (g_ascii_tolower(a[i - 1]) !=
                                       g_ascii_tolower(b[j - 1]));
            guint del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = MIN(sub, MIN(del, ins));
        }
        memcpy(prev, cur, sizeof(guint) * (lb + 1));
    }
    return prev[lb];
}

const char *ynode_suggest(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    guint best_d = 3;
    for (guint i = 0; candidates[i] != NULL; i++) {
        guint d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

gboolean ynode_check_keys(const YNode *map, const char *what,
                          const char *const *allowed, GError **error)
{
    if (!ynode_expect_map(map, what, error)) {
        return FALSE;
    }
    for (guint i = 0; i < ynode_len(map); i++) {
        const YNode *k = ynode_key_at(map, i);
        gboolean ok = FALSE;
        for (guint j = 0; allowed[j] != NULL && !ok; j++) {
            ok = strcmp(allowed[j], k->scalar) == 0;
        }
        if (!ok) {
            const char *hint = ynode_suggest(k->scalar, allowed);
            if (hint != NULL) {
                ynode_error(error, k, SCENARIO_ERROR_UNKNOWN_FIELD,
                            "unknown field '%s' in %s; did you mean '%s'?",
                            k->scalar, what, hint);
            } else {
                g_autofree char *list = g_strjoinv(", ", (char **)allowed);
                ynode_error(error, k, SCENARIO_ERROR_UNKNOWN_FIELD,
                            "unknown field '%s' in %s (known: %s)", k->scalar,
                            what, list);
            }
            return FALSE;
        }
    }
    return TRUE;
}
