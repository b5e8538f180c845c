/* arena.c: bump allocation from huge-page-friendly chunks (see arena.h). */
#include "config.h"

#include <string.h>
#include <sys/mman.h>

#include "sim/arena.h"

struct _Arena {
    GPtrArray *chunks; /* ARENA_CHUNK each, g_aligned_alloc()ed */
    char *at;          /* the next free byte of the last chunk */
    char *end;         /* its end */
};

Arena *arena_new(void)
{
    Arena *a = g_new0(Arena, 1);
    a->chunks = g_ptr_array_new_with_free_func(g_aligned_free);
    return a;
}

void arena_free(Arena *a)
{
    if (a == NULL) {
        return;
    }
    g_ptr_array_unref(a->chunks);
    g_free(a);
}

/* 2 MiB-aligned memory for @bytes, marked for huge pages. */
static gpointer huge_alloc(gsize bytes)
{
    gsize whole = (bytes + ARENA_CHUNK - 1) / ARENA_CHUNK * ARENA_CHUNK;
    char *c = g_aligned_alloc(1, whole, ARENA_CHUNK);
#ifdef MADV_HUGEPAGE
    /* Advice only: without transparent huge pages it fails, and the
     * memory is plain memory. */
    (void)madvise(c, whole, MADV_HUGEPAGE);
#endif
    return c;
}

gpointer arena_array_new0(gsize bytes)
{
    g_return_val_if_fail(bytes > 0, NULL);
    gpointer p = huge_alloc(bytes);
    memset(p, 0, bytes);
    return p;
}

void arena_array_free(gpointer p)
{
    g_aligned_free(p);
}

gpointer arena_alloc(Arena *a, gsize bytes)
{
    g_return_val_if_fail(a != NULL && bytes > 0 && bytes <= ARENA_CHUNK, NULL);
    bytes = (bytes + 15) & ~(gsize)15;
    if (G_UNLIKELY((gsize)(a->end - a->at) < bytes)) {
        /* What is left of the last chunk (less than a piece) is lost. */
        char *c = huge_alloc(ARENA_CHUNK);
        g_ptr_array_add(a->chunks, c);
        a->at = c;
        a->end = c + ARENA_CHUNK;
    }
    gpointer p = a->at;
    a->at += bytes;
    return p;
}

gsize arena_size(const Arena *a)
{
    return (gsize)a->chunks->len * ARENA_CHUNK;
}
