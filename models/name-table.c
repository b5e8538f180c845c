/* name-table.c: interned strings for a world (see name-table.h): open
 * addressing over a power-of-two array, strings in one GStringChunk. */
#include "config.h"

#include <string.h>

#include "models/name-table.h"

typedef struct {
    guint64 hash;  /* name_hash() of the string, 0: an empty slot */
    const char *s; /* in the chunk */
    gsize len;
} Slot;

struct _NameTable {
    Slot *slots;
    guint mask;        /* slots - 1: at least twice max_names */
    guint len;         /* strings in */
    guint max_names;
    gsize bytes;       /* their bytes, NULs included */
    gsize max_bytes;
    GStringChunk *chunk;
};

NameTable *name_table_new(guint max_names, gsize max_bytes)
{
    NameTable *t = g_new0(NameTable, 1);
    guint slots = 16;
    while (slots < 2 * (gsize)max_names && slots < G_MAXUINT / 2) {
        slots *= 2;
    }
    t->slots = g_new0(Slot, slots);
    t->mask = slots - 1;
    t->max_names = MIN(max_names, slots / 2);
    t->max_bytes = max_bytes;
    t->chunk = g_string_chunk_new(MIN(max_bytes, 64 * 1024) + 1);
    return t;
}

void name_table_free(NameTable *t)
{
    if (t == NULL) {
        return;
    }
    g_string_chunk_free(t->chunk);
    g_free(t->slots);
    g_free(t);
}

guint name_table_len(const NameTable *t)
{
    return t->len;
}

static inline guint64 load8(const char *s)
{
    guint64 w;
    memcpy(&w, s, 8);
    return w;
}

/* The bytes eight at a time, each word mixed in with a multiply (hosts
 * and paths are a few words long: a byte-at-a-time hash cost more than
 * the rest of the lookup). The last word overlaps the one before it
 * rather than being read past the end. Never 0, the empty slot's mark. */
static inline guint64 name_hash(const char *s, gsize n)
{
    const guint64 k = G_GUINT64_CONSTANT(0x9E3779B97F4A7C15);
    guint64 h = (guint64)n * k;
    if (n >= 8) {
        for (gsize i = 0; i + 8 < n; i += 8) {
            h = (h ^ load8(s + i)) * k;
            h ^= h >> 29;
        }
        h = (h ^ load8(s + n - 8)) * k;
    } else {
        guint64 w = 0;
        for (gsize i = 0; i < n; i++) {
            w = w << 8 | (guchar)s[i];
        }
        h = (h ^ w) * k;
    }
    h ^= h >> 32;
    return h | 1;
}

const char *name_table_intern(NameTable *t, const char *s, gsize n)
{
    if (n > NAME_TABLE_MAX_LEN) {
        return NULL;
    }
    guint64 h = name_hash(s, n);
    for (guint i = (guint)h & t->mask;; i = (i + 1) & t->mask) {
        Slot *sl = &t->slots[i];
        if (sl->hash == h && sl->len == n && memcmp(sl->s, s, n) == 0) {
            return sl->s;
        }
        if (sl->hash == 0) {
            if (t->len == t->max_names || t->bytes + n + 1 > t->max_bytes) {
                return NULL;
            }
            sl->hash = h;
            sl->s = g_string_chunk_insert_len(t->chunk, s, (gssize)n);
            sl->len = n;
            t->len++;
            t->bytes += n + 1;
            return sl->s;
        }
    }
}
