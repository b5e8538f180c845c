/* test-arena.c: sim/arena.h: pieces 16-byte aligned, never overlapping,
 * as big as a chunk, taken from 2 MiB chunks, all freed at once (ASan). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "sim/arena.h"

static void test_pieces_aligned_and_apart(void **state)
{
    g_autoptr(Arena) a = arena_new();
    assert_int_equal(arena_size(a), 0);
    /* Sizes 1..1000 bytes, each piece filled with its own byte: a later
     * piece that overlapped an earlier one would change it. */
    GPtrArray *pieces = g_ptr_array_new();
    for (guint i = 1; i <= 3000; i++) {
        gsize n = 1 + (i * 37) % 1000;
        guchar *p = arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((guintptr)p % 16, 0);
        memset(p, (int)(i & 0xff), n);
        g_ptr_array_add(pieces, p);
    }
    for (guint i = 1; i <= 3000; i++) {
        gsize n = 1 + (i * 37) % 1000;
        const guchar *p = g_ptr_array_index(pieces, i - 1);
        assert_int_equal(p[0], i & 0xff);
        assert_int_equal(p[n - 1], i & 0xff);
    }
    /* About 1.5 MB in 16-byte steps: one chunk, or two. */
    assert_true(arena_size(a) >= ARENA_CHUNK && arena_size(a) <= 2 * ARENA_CHUNK);
    g_ptr_array_unref(pieces);
}

static void test_whole_chunks(void **state)
{
    g_autoptr(Arena) a = arena_new();
    char *x = arena_alloc(a, ARENA_CHUNK);
    memset(x, 1, ARENA_CHUNK);
    assert_int_equal((guintptr)x % ARENA_CHUNK, 0); /* huge-page aligned */
    char *y = arena_alloc(a, 16); /* no room left: a new chunk */
    assert_true(y < x || y >= x + ARENA_CHUNK);
    assert_int_equal(arena_size(a), 2 * ARENA_CHUNK);
    arena_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_aligned_and_apart),
        cmocka_unit_test(test_whole_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
