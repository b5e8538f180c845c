/* ynode.h: a YAML document as a small tree that remembers where each node
 * stood (file, line, column), so every later error can point at its culprit.
 * First stage of scenario -> models: everything that reads YAML reads this. */
#pragma once

#include <glib.h>

#include "sim/time.h"

G_BEGIN_DECLS

/* The error domain of everything a user's files can cause. Every message is
 * complete and printable as is: "FILE:LINE:COLUMN: error: what". */
#define SCENARIO_ERROR (scenario_error_quark())
GQuark scenario_error_quark(void);

typedef enum {
    SCENARIO_ERROR_SYNTAX,        /* not YAML, or not the shape we read */
    SCENARIO_ERROR_UNKNOWN_FIELD, /* a key we do not know (Scenario doc) */
    SCENARIO_ERROR_BAD_VALUE,     /* wrong type, out of range */
    SCENARIO_ERROR_BAD_REFERENCE, /* names something that does not exist */
    SCENARIO_ERROR_TOO_LARGE,     /* exceeds a documented input limit */
    SCENARIO_ERROR_IO,            /* file cannot be read */
    SCENARIO_ERROR_FAILED,        /* anything else */
} ScenarioError;

typedef enum {
    YNODE_SCALAR,
    YNODE_MAP,
    YNODE_SEQ,
} YNodeKind;

typedef struct _YNode YNode;
struct _YNode {
    YNodeKind kind;   /* what this node is */
    const char *file; /* interned (g_intern_string): never freed */
    guint line;       /* 1-based line of the node's first character */
    guint col;        /* 1-based column */
    char *scalar;     /* YNODE_SCALAR: the text; NULL otherwise */
    gboolean plain;   /* scalar written without quotes (typing needs it) */
    GPtrArray *items; /* MAP: key, value, key, value...; SEQ: the items;
                       * NULL for scalars. Owns its YNodes. */
};

/* Input limits: a hostile or mistaken file is stopped with a located error
 * before it can exhaust memory (billion laughs, deep nesting). */
typedef struct {
    gsize max_file_bytes;  /* default 64 MiB */
    guint max_documents;   /* default 10000 */
    guint max_depth;       /* default 64 */
    gsize max_nodes;       /* per file, aliases expanded; default 2,000,000 */
    gsize max_scalar_len;  /* default 1 MiB */
} YLimits;

/* The defaults above. */
const YLimits *ylimits_default(void);

/* Parses every document of a YAML stream. Returns: (transfer full) an array
 * of YNode* documents (empty documents are skipped), freed with
 * g_ptr_array_unref(); NULL and @error on failure. @limits may be NULL. */
GPtrArray *ynode_load_file(const char *path, const YLimits *limits,
                           GError **error);
GPtrArray *ynode_load_string(const char *name, const char *text, gsize len,
                             const YLimits *limits, GError **error);

void ynode_free(YNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(YNode, ynode_free)

/* Map lookup; NULL when @map is NULL, not a map, or lacks @key. */
YNode *ynode_get(const YNode *map, const char *key);
/* The key node of @key in @map (for pointing errors at a key). */
YNode *ynode_get_key(const YNode *map, const char *key);
/* Follows a dotted path of map keys: ynode_path(doc, "metadata.name"). */
YNode *ynode_path(const YNode *node, const char *dotted);

guint ynode_len(const YNode *node);      /* seq items, map pairs, else 0 */
YNode *ynode_at(const YNode *seq, guint i);
YNode *ynode_key_at(const YNode *map, guint i);
YNode *ynode_value_at(const YNode *map, guint i);

/* YAML 1.1/1.2 core null: a plain "", "~", "null". */
gboolean ynode_is_null(const YNode *node);

/* Scalar text, or NULL when @node is absent, null or not a scalar. */
const char *ynode_str(const YNode *node);
/* The same, or @fallback. */
const char *ynode_str_or(const YNode *node, const char *fallback);

/* Typed readers: each accepts NULL/absent as "use the default" only where
 * its caller checks that first; on a wrong type or range they set @error at
 * the node's location and return FALSE. */
gboolean ynode_to_string(const YNode *node, const char **out, GError **error);
gboolean ynode_to_int(const YNode *node, gint64 min, gint64 max, gint64 *out,
                      GError **error);
gboolean ynode_to_double(const YNode *node, double min, double max,
                         double *out, GError **error);
gboolean ynode_to_bool(const YNode *node, gboolean *out, GError **error);
/* A Kubernetes-style duration ("250ms"); a bare number is refused. */
gboolean ynode_to_duration(const YNode *node, SimTime *out, GError **error);
/* A port 1..65535; the YAML value may be a number or a numeric string. */
gboolean ynode_to_port(const YNode *node, gint *out, GError **error);
/* Requires @node to be a map / a sequence. */
gboolean ynode_expect_map(const YNode *node, const char *what, GError **error);
gboolean ynode_expect_seq(const YNode *node, const char *what, GError **error);

/* Sets @error to "FILE:LINE:COL: error: <fmt>" at @node (nullable: then
 * no location). */
void ynode_error(GError **error, const YNode *node, ScenarioError code,
                 const char *fmt, ...) G_GNUC_PRINTF(4, 5);
/* "FILE:LINE:COL" of @node, for notes and analyzer output. Returns: (transfer
 * full). */
char *ynode_where(const YNode *node);

/* For the Scenario document: every key of @map must be in @allowed
 * (NULL-terminated); otherwise an UNKNOWN_FIELD error naming the key and,
 * where one is close (edit distance <= 2), "did you mean 'x'?". */
gboolean ynode_check_keys(const YNode *map, const char *what,
                          const char *const *allowed, GError **error);

/* Levenshtein-close suggestion among @candidates, or NULL. */
const char *ynode_suggest(const char *word, const char *const *candidates);

G_END_DECLS
