/* name-table.h: a bounded set of interned strings that lives as long as its
 * world: replayed lines' methods, hosts, authorities, paths and SNI names. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Why: a replayed line's strings were copied into its block, which the
 * gateway then read and hashed two steps later, long out of the caches at
 * 200k lines/s. Interned, a log's few hosts and paths are shared, hot
 * strings, and their addresses name them for the whole run, so the
 * gateway can remember its lookups by address (Request.names_fixed) as it
 * does for generated traffic. Bounded: a log of a million distinct paths
 * fills its table (the world keeps paths in a table of their own, so
 * hosts keep their room), and the rest are copied into their blocks as
 * before. */
typedef struct _NameTable NameTable;

/* The longest string interned; longer ones are not. */
#define NAME_TABLE_MAX_LEN 256

/* Returns: (transfer full) an empty table that takes up to @max_names
 * strings of up to @max_bytes bytes in all; free with name_table_free(). */
NameTable *name_table_new(guint max_names, gsize max_bytes);
void name_table_free(NameTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NameTable, name_table_free)

/* The interned copy of the @n bytes at @s (NUL-terminated, valid until the
 * table is freed; the same pointer for the same bytes), or NULL when it is
 * not there and the table is full or @n > NAME_TABLE_MAX_LEN. Deterministic:
 * which strings get in depends only on the order they are asked for. Cost:
 * a hash of the bytes, a probe or two and a compare. */
const char *name_table_intern(NameTable *t, const char *s, gsize n);

/* Strings interned so far. */
guint name_table_len(const NameTable *t);

G_END_DECLS
