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

/* The next 32 random bits. */
guint32 rng_u32(Rng *r);

/* Uniform on [0, 1) with 53 random bits (two draws), so every double of the
 * form k / 2^53 is equally likely. */
double rng_double(Rng *r);

/* Uniform on [0, @n), exactly (no modulo bias): Lemire's multiply-and-reject,
 * one draw almost always. @n must be > 0. */
guint32 rng_below(Rng *r, guint32 n);

G_END_DECLS
