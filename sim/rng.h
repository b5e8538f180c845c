/* rng.h: PCG32 random streams, one per model instance, so that a run is a
 * pure function of the scenario seed (DESIGN principle 4). Used by sim/dist
 * and by every model that makes a random choice. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* PCG32 (XSH-RR output, 64-bit LCG state), after M. E. O'Neill,
 * pcg-random.org, pcg_basic.c. A small value: keep it inside the model that
 * draws from it; copying it forks the stream. */
typedef struct {
    guint64 state; /* LCG state, advanced on every draw */
    guint64 inc;   /* LCG increment, always odd; selects the stream */
} Rng;

/* Same as pcg32_srandom_r(r, seed, stream). Streams differ in @stream's low
 * 63 bits (the top bit is shifted out, as in the reference). */
void rng_init(Rng *r, guint64 seed, guint64 stream);

/* 64-bit FNV-1a of the bytes of @s: the same on every run and platform,
 * for every choice keyed by a string (stream names, consistent hashing,
 * the load balancer's source hash). */
guint64 rng_hash(const char *s);

/* The stream id rng_init_named() uses: 64-bit FNV-1a of the UTF-8 bytes of
 * @name. Depends on nothing but the bytes, so it is the same on every run
 * and platform, and naming a new model instance never shifts another's. */
guint64 rng_stream_id(const char *name);

/* rng_init(r, seed, rng_stream_id(name)). @name is borrowed, e.g. "lb/0" or
 * "pod/app-7d9f/2". */
void rng_init_named(Rng *r, guint64 seed, const char *name);

#define RNG_PCG32_MULT G_GUINT64_CONSTANT(6364136223846793005)

/* The next 32 random bits. Inline, with rng_double() and rng_below(): a
 * run draws a few times per request from a dozen files, and the call
 * around these ten instructions cost as much as the draw itself. */
static inline guint32 rng_u32(Rng *r)
{
    guint64 old = r->state;
    r->state = old * RNG_PCG32_MULT + r->inc;
    guint32 xorshifted = (guint32)(((old >> 18) ^ old) >> 27);
    guint32 rot = (guint32)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((0u - rot) & 31));
}

/* Uniform on [0, 1) with 53 random bits (two draws), so every double of the
 * form k / 2^53 is equally likely. */
static inline double rng_double(Rng *r)
{
    guint64 hi = rng_u32(r) >> 5; /* 27 bits */
    guint64 lo = rng_u32(r) >> 6; /* 26 bits */
    return (double)((hi << 26) | lo) * (1.0 / 9007199254740992.0);
}

/* The rare rest of rng_below(): the draw @m = x * @n might be rejected
 * (its low word is below @n). Not for callers: rng_below() only. */
guint32 rng__below_retry(Rng *r, guint32 n, guint64 m);

/* Uniform on [0, @n), exactly (no modulo bias): Lemire's multiply-and-reject,
 * one draw almost always. @n must be > 0. D. Lemire, "Fast Random Integer
 * Generation in an Interval", ACM TOMACS 2019: the high word of x*n is
 * uniform once low words below 2^32 mod n are rejected; the division is
 * only paid when a rejection is possible, out of line. */
static inline guint32 rng_below(Rng *r, guint32 n)
{
    g_return_val_if_fail(n > 0, 0);
    guint64 m = (guint64)rng_u32(r) * n;
    if (G_UNLIKELY((guint32)m < n)) {
        return rng__below_retry(r, n, m);
    }
    return (guint32)(m >> 32);
}

G_END_DECLS
