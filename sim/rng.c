/* rng.c: PCG32 (see rng.h). Reference: pcg_basic.c by M. E. O'Neill,
 * https://www.pcg-random.org/download.html; checked by tests/test-rng.c. */
#include "sim/rng.h"

#define PCG32_MULT G_GUINT64_CONSTANT(6364136223846793005)

guint32 rng_u32(Rng *r)
{
    guint64 old = r->state;
    r->state = old * PCG32_MULT + r->inc;
    guint32 xorshifted = (guint32)(((old >> 18) ^ old) >> 27);
    guint32 rot = (guint32)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((0u - rot) & 31));
}

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

double rng_double(Rng *r)
{
    guint64 hi = rng_u32(r) >> 5; /* 27 bits */
    guint64 lo = rng_u32(r) >> 6; /* 26 bits */
    return (double)((hi << 26) | lo) * (1.0 / 9007199254740992.0);
}

/* D. Lemire, "Fast Random Integer Generation in an Interval", ACM TOMACS
 * 2019: the high word of x*n is uniform once low words below 2^32 mod n
 * are rejected; the division is only paid when a rejection is possible. */
guint32 rng_below(Rng *r, guint32 n)
{
    g_return_val_if_fail(n > 0, 0);
    guint64 m = (guint64)rng_u32(r) * n;
    guint32 low = (guint32)m;
    if (low < n) {
        guint32 threshold = (0u - n) % n;
        while (low < threshold) {
            m = (guint64)rng_u32(r) * n;
            low = (guint32)m;
        }
    }
    return (guint32)(m >> 32);
}
