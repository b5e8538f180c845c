/* rng.c: PCG32 (see rng.h). Reference: pcg_basic.c by M. E. O'Neill,
 * https://www.pcg-random.org/download.html; checked by tests/test-rng.c. */
#include "sim/rng.h"

void rng_init(Rng *r, guint64 seed, guint64 stream)
{
    r->state = 0;
    r->inc = (stream << 1) | 1;
    rng_u32(r);
    r->state += seed;
    rng_u32(r);
}

guint64 rng_hash(const char *s)
{
    g_return_val_if_fail(s != NULL, 0);
    guint64 h = G_GUINT64_CONSTANT(0xcbf29ce484222325);
    for (const guchar *p = (const guchar *)s; *p != '\0'; p++) {
        h ^= *p;
        h *= G_GUINT64_CONSTANT(0x100000001b3);
    }
    return h;
}

guint64 rng_stream_id(const char *name)
{
    return rng_hash(name);
}

void rng_init_named(Rng *r, guint64 seed, const char *name)
{
    rng_init(r, seed, rng_stream_id(name));
}

/* See rng_below() in rng.h: low words below 2^32 mod n are rejected. */
guint32 rng__below_retry(Rng *r, guint32 n, guint64 m)
{
    guint32 threshold = (0u - n) % n;
    while ((guint32)m < threshold) {
        m = (guint64)rng_u32(r) * n;
    }
    return (guint32)(m >> 32);
}
