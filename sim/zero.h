/* zero.h: zeroing a fixed-size block with inline 16-byte stores (sim ->
 * models' per-request structs), where memset() of a constant size becomes
 * `rep stos`: one instruction per 8 bytes and a slow start on real
 * hardware. Here 600 bytes are 38 stores. */
#pragma once

#include <string.h>

#include <glib.h>

G_BEGIN_DECLS

/* One 16-byte store of any alignment (GCC vector extension: SSE2 on
 * x86-64, whatever the target has elsewhere). */
typedef guint64 SimZero16 __attribute__((vector_size(16), aligned(1),
                                         may_alias));

/* Sets @n bytes at @p to 0; @n a multiple of 8. Meant for a constant @n,
 * which the compiler unrolls into stores (no loop, no call). Cost: n / 16
 * stores, plus one for a last 8 bytes. */
static inline void sim_zero(void *p, gsize n)
{
    g_assert(n % 8 == 0);
    SimZero16 *v = p;
#pragma GCC unroll 64
    for (gsize i = 0; i < n / 16; i++) {
        v[i] = (SimZero16){ 0, 0 };
    }
    if (n % 16 != 0) {
        memcpy((char *)p + n - 8, &(guint64){ 0 }, 8);
    }
}

G_END_DECLS
