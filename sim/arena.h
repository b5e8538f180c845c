/* arena.h: memory handed out in small pieces from 2 MiB chunks that the
 * kernel may back with huge pages, and given back all at once. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Why: a replay holds 65,536 lines' blocks and thousands of requests in
 * flight, touched a few at a time all over 30 MB: with 4 KiB pages most
 * touches also missed the TLB (GLIBC_TUNABLES=glibc.malloc.hugetlb=1 took
 * a 10M-line replay from 13.0 to 11.5 s). Chunks of 2 MiB, 2 MiB-aligned,
 * marked MADV_HUGEPAGE, get huge pages where the kernel's transparent
 * huge pages are "madvise" or "always"; elsewhere they are plain memory. */
typedef struct _Arena Arena;

#define ARENA_CHUNK (2u * 1024 * 1024)

/* Returns: (transfer full) an empty arena; free with arena_free(). */
Arena *arena_new(void);
/* Frees every piece the arena gave. NULL: no-op. */
void arena_free(Arena *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Arena, arena_free)

/* @bytes (1..ARENA_CHUNK) of uninitialized memory, 16-byte aligned, valid
 * until arena_free(). Pieces are never given back one by one: callers
 * keep their own free lists. */
gpointer arena_alloc(Arena *a, gsize bytes);

/* Bytes taken from the system so far (whole chunks). */
gsize arena_size(const Arena *a);

/* One array of @bytes, zeroed, 2 MiB-aligned and marked for huge pages
 * as the arena's chunks: for the few big arrays a run reads all over
 * (the reorder window's). Free with arena_array_free(). */
gpointer arena_array_new0(gsize bytes);
void arena_array_free(gpointer p);

G_END_DECLS
