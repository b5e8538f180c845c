/* png.c: PNG files for viz/ with our own deflate encoder, made for charts:
 * long runs of one colour and rows that repeat the row above. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "viz/png-private.h"
#include "viz/png.h"

#ifdef __SSE2__
#include <emmintrin.h> /* row_masks(), sixteen pixels a step */
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h> /* row_masks_avx2(), where the CPU has AVX2 */
#endif

/* Why not zlib: its hash chains look for matches at any distance, which
 * pays off on photographs; a chart is mostly runs of one colour and rows
 * equal to the row above, and zlib spent ~6 ms a chart finding them. Here
 * the pixels themselves are compared, many at a time (row_masks()): a run
 * equal to the pixels above is a match one row back, a run of one pixel a
 * match three bytes back, anything else (anti-aliased text) three
 * literals, with Huffman codes fitted to each block. Format: RFC 1950 (zlib
 * stream) and RFC 1951 (deflate); PNG: W3C, 2nd ed., 2003. */

#define MIN_MATCH    3
#define MAX_MATCH    258
#define MAX_DIST     32768
#define BLOCK_TOKENS 16384 /* tokens per deflate block: its codes adapt */
#define N_LIT        286   /* literal/length alphabet */
#define N_DIST       30    /* distance alphabet */
#define N_CL         19    /* code length alphabet */
#define ADLER_MOD    65521u

/* A token: a literal byte, PIXEL | 0xRRGGBB (three literals), or
 * MATCH | distance << 9 | length. */
#define MATCH 0x80000000u
#define PIXEL 0x40000000u

typedef struct {
    guint16 len_code[MAX_MATCH + 1]; /* length -> code - 257 */
    guint32 crc[4][256]; /* PNG's CRC-32: [0] of each byte, [k] of the
                          * byte followed by k zero bytes */
} Tables;

static const guint16 len_base[29] = { 3,   4,   5,   6,   7,  8,  9,  10,
                                      11,  13,  15,  17,  19, 23, 27, 31,
                                      35,  43,  51,  59,  67, 83, 99, 115,
                                      131, 163, 195, 227, 258 };
static const guint8 len_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1,
                                      1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                      4, 4, 4, 4, 5, 5, 5, 5, 0 };
/* The order code length code lengths are sent in (RFC 1951 3.2.7). */
static const guint8 cl_order[N_CL] = { 16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                       11, 4,  12, 3, 13, 2, 14, 1, 15 };

static gpointer tables_init(gpointer data)
{
    Tables *t = data;
    for (guint c = 0; c < 28; c++) {
        for (guint k = 0; k < (1u << len_extra[c]); k++) {
            guint len = len_base[c] + k;
            if (len < MAX_MATCH) {
                t->len_code[len] = (guint16)c;
            }
        }
    }
    t->len_code[MAX_MATCH] = 28;
    for (guint32 n = 0; n < 256; n++) {
        guint32 c = n;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        t->crc[0][n] = c;
    }
    for (guint32 n = 0; n < 256; n++) {
        for (guint k = 1; k < 4; k++) {
            guint32 c = t->crc[k - 1][n];
            t->crc[k][n] = t->crc[0][c & 0xff] ^ (c >> 8);
        }
    }
    return t;
}

static const Tables *tables(void)
{
    static Tables t;
    static GOnce once = G_ONCE_INIT;
    return g_once(&once, tables_init, &t);
}

/* Distance code and its extra bits for 1 <= @d <= 32768. */
static guint dist_code(guint d)
{
    if (d <= 4) {
        return d - 1;
    }
    guint top = g_bit_storage(d - 1) - 1; /* >= 2 */
    return 2 * top + ((d - 1) >> (top - 1) & 1);
}

static guint dist_extra(guint code)
{
    return code < 4 ? 0 : code / 2 - 1;
}

static guint dist_base(guint code)
{
    return code < 4 ? code + 1 : 1 + ((2 + (code & 1)) << (code / 2 - 1));
}

/* ---- Huffman codes ------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;
    return x < y ? -1 : x > y;
}

/* Optimal code lengths for the @n frequencies @f (a Huffman tree built
 * with two queues); ties go by symbol, so the same counts give the same
 * code. One used symbol still gets a 1-bit code and a partner: inflaters
 * reject incomplete codes. */
static void huff_build(const guint32 *f, guint n, guint8 *len)
{
    guint64 leaf[N_LIT];
    guint w[2 * N_LIT], parent[2 * N_LIT], depth[2 * N_LIT];
    guint m = 0;
    memset(len, 0, n);
    for (guint i = 0; i < n; i++) {
        if (f[i] > 0) {
            leaf[m++] = (guint64)f[i] << 16 | i;
        }
    }
    if (m < 2) {
        guint used = m == 1 ? (guint)(leaf[0] & 0xffff) : 0;
        len[used] = 1;
        len[used == 0 ? 1 : 0] = 1;
        return;
    }
    qsort(leaf, m, sizeof leaf[0], cmp_u64);
    for (guint i = 0; i < m; i++) {
        w[i] = (guint)(leaf[i] >> 16);
    }
    guint next_leaf = 0, next_node = m, made = m;
    for (guint k = 0; k + 1 < m; k++) {
        guint pick[2];
        for (int j = 0; j < 2; j++) {
            gboolean take_leaf =
                next_leaf < m &&
                (next_node == made || w[next_leaf] <= w[next_node]);
            pick[j] = take_leaf ? next_leaf++ : next_node++;
        }
        w[made] = w[pick[0]] + w[pick[1]];
        parent[pick[0]] = parent[pick[1]] = made;
        made++;
    }
    depth[made - 1] = 0;
    for (guint i = made - 1; i-- > 0;) {
        depth[i] = depth[parent[i]] + 1;
    }
    for (guint i = 0; i < m; i++) {
        len[leaf[i] & 0xffff] = (guint8)depth[i];
    }
}

/* Code lengths of at most @limit bits: when the optimal code is deeper,
 * the counts are flattened (halved, kept nonzero) until it fits. */
static void huff_lengths(const guint32 *freq, guint n, guint limit, guint8 *len)
{
    guint32 f[N_LIT];
    memcpy(f, freq, n * sizeof f[0]);
    for (;;) {
        huff_build(f, n, len);
        guint max = 0;
        for (guint i = 0; i < n; i++) {
            max = MAX(max, len[i]);
        }
        if (max <= limit) {
            return;
        }
        for (guint i = 0; i < n; i++) {
            f[i] = f[i] > 0 ? (f[i] >> 1) | 1 : 0;
        }
    }
}

/* Canonical codes for @len, bit-reversed: deflate sends Huffman codes
 * first bit first into a stream packed from the low bit. */
static void huff_codes(const guint8 *len, guint n, guint16 *code)
{
    guint count[16] = { 0 }, next[16] = { 0 };
    for (guint i = 0; i < n; i++) {
        count[len[i]]++;
    }
    count[0] = 0;
    guint c = 0;
    for (guint bits = 1; bits < 16; bits++) {
        c = (c + count[bits - 1]) << 1;
        next[bits] = c;
    }
    for (guint i = 0; i < n; i++) {
        if (len[i] == 0) {
            continue;
        }
        guint v = next[len[i]]++, r = 0;
        for (guint b = 0; b < len[i]; b++) {
            r = r << 1 | (v >> b & 1);
        }
        code[i] = (guint16)r;
    }
}

/* ---- the encoder -------------------------------------------------------- */

typedef struct {
    GByteArray *out; /* the PNG so far; the stream goes at the end */
    gsize pos;       /* bytes of @out written (its len is capacity) */
    guint64 acc;     /* bits not yet stored, low bit first */
    guint nacc;      /* how many, < 32 between calls */
    guint32 *tok;    /* tokens of the block being gathered */
    guint ntok;
    guint32 lit_freq[N_LIT];
    guint32 dist_freq[N_DIST];
    guint32 adler_a, adler_b; /* Adler-32 of the bytes coded so far */
    const guint16 *len_code;  /* tables()->len_code */
} Deflate;

static void bits_reserve(Deflate *d, gsize bytes)
{
    if (d->pos + bytes > d->out->len) {
        g_byte_array_set_size(d->out, (guint)(d->pos + bytes));
    }
}

/* Bits on their way out, in locals of block_write(): a store through
 * @p may alias anything, so bits put through the Deflate had its fields
 * reloaded after every store. */
typedef struct {
    guint64 acc; /* bits not yet stored, low bit first */
    guint nacc;  /* how many, < 32 between calls */
    guint8 *p;   /* where the next four bytes go */
} BitOut;

static inline void out_put(BitOut *o, guint32 v, guint n)
{
    o->acc |= (guint64)v << o->nacc;
    o->nacc += n;
    if (o->nacc >= 32) {
        guint32 w = GUINT32_TO_LE((guint32)o->acc);
        memcpy(o->p, &w, 4);
        o->p += 4;
        o->acc >>= 32;
        o->nacc -= 32;
    }
}

/* Stores the bits left, up to the next byte boundary. */
static void bits_flush(Deflate *d)
{
    while (d->nacc > 0) {
        d->out->data[d->pos++] = (guint8)d->acc;
        d->acc >>= 8;
        d->nacc = d->nacc > 8 ? d->nacc - 8 : 0;
    }
    d->acc = 0;
}

/* Run-length codes for the code lengths @all (RFC 1951 3.2.7): symbols
 * in @sym, the extra bits' values in @ext; returns how many. */
static guint cl_encode(const guint8 *all, guint n, guint8 *sym, guint8 *ext)
{
    guint k = 0;
    for (guint i = 0; i < n;) {
        guint8 v = all[i];
        guint run = 1;
        while (i + run < n && all[i + run] == v) {
            run++;
        }
        if (v == 0 && run >= 3) {
            guint r = MIN(run, 138u);
            sym[k] = r >= 11 ? 18 : 17;
            ext[k++] = (guint8)(r >= 11 ? r - 11 : r - 3);
            i += r;
            continue;
        }
        sym[k] = v;
        ext[k++] = 0;
        i++;
        if (v == 0 || run < 4) {
            continue;
        }
        guint rest = run - 1;
        while (rest >= 3) {
            guint r = MIN(rest, 6u);
            sym[k] = 16;
            ext[k++] = (guint8)(r - 3);
            rest -= r;
            i += r;
        }
    }
    return k;
}

/* Writes the tokens gathered as one block with codes fitted to them. */
static void block_write(Deflate *d, gboolean last)
{
    const Tables *t = tables();
    guint8 llen[N_LIT], dlen[N_DIST], cllen[N_CL];
    guint16 lcode[N_LIT], dcode[N_DIST], clcode[N_CL];
    d->lit_freq[256] = 1; /* end of block */
    huff_lengths(d->lit_freq, N_LIT, 15, llen);
    huff_lengths(d->dist_freq, N_DIST, 15, dlen);
    huff_codes(llen, N_LIT, lcode);
    huff_codes(dlen, N_DIST, dcode);
    guint hlit = N_LIT, hdist = N_DIST, hclen = N_CL;
    while (hlit > 257 && llen[hlit - 1] == 0) {
        hlit--;
    }
    while (hdist > 1 && dlen[hdist - 1] == 0) {
        hdist--;
    }
    guint8 all[N_LIT + N_DIST], sym[N_LIT + N_DIST], ext[N_LIT + N_DIST];
    memcpy(all, llen, hlit);
    memcpy(all + hlit, dlen, hdist);
    guint nsym = cl_encode(all, hlit + hdist, sym, ext);
    guint32 cl_freq[N_CL] = { 0 };
    for (guint i = 0; i < nsym; i++) {
        cl_freq[sym[i]]++;
    }
    huff_lengths(cl_freq, N_CL, 7, cllen);
    huff_codes(cllen, N_CL, clcode);
    while (hclen > 4 && cllen[cl_order[hclen - 1]] == 0) {
        hclen--;
    }
    /* Header: < 70 bytes; a token: < 48 bits. */
    bits_reserve(d, 128 + nsym * 3 + (gsize)d->ntok * 6);
    BitOut o = { d->acc, d->nacc, d->out->data + d->pos };
    out_put(&o, last ? 1 : 0, 1);
    out_put(&o, 2, 2); /* dynamic Huffman codes */
    out_put(&o, hlit - 257, 5);
    out_put(&o, hdist - 1, 5);
    out_put(&o, hclen - 4, 4);
    for (guint i = 0; i < hclen; i++) {
        out_put(&o, cllen[cl_order[i]], 3);
    }
    static const guint8 cl_extra[3] = { 2, 3, 7 };
    for (guint i = 0; i < nsym; i++) {
        out_put(&o, clcode[sym[i]], cllen[sym[i]]);
        if (sym[i] >= 16) {
            out_put(&o, ext[i], cl_extra[sym[i] - 16]);
        }
    }
    /* A match goes out as two puts, each a code and its extra bits (at
     * most 20 and 28 bits), worked out again only when it differs from
     * the match before: most are the same 258 bytes one row or one byte
     * back. */
    guint32 prev = 0; /* the match before; no match is 0 */
    guint32 len_bits = 0, dist_bits = 0;
    guint len_n = 0, dist_n = 0;
    for (guint i = 0; i < d->ntok; i++) {
        guint32 tk = d->tok[i];
        if (tk & PIXEL) {
            /* Two codes in one put: each is 15 bits at most. */
            guint r = tk >> 16 & 255, g = tk >> 8 & 255, b = tk & 255;
            out_put(&o, lcode[r] | (guint32)lcode[g] << llen[r],
                    llen[r] + llen[g]);
            out_put(&o, lcode[b], llen[b]);
            continue;
        }
        if (!(tk & MATCH)) {
            out_put(&o, lcode[tk], llen[tk]);
            continue;
        }
        if (tk != prev) {
            guint len = tk & 511, dist = (tk & ~MATCH) >> 9;
            guint lc = t->len_code[len], dc = dist_code(dist);
            len_bits = lcode[257 + lc] | (len - len_base[lc]) << llen[257 + lc];
            len_n = llen[257 + lc] + len_extra[lc];
            dist_bits = dcode[dc] | (dist - dist_base(dc)) << dlen[dc];
            dist_n = dlen[dc] + dist_extra(dc);
            prev = tk;
        }
        out_put(&o, len_bits, len_n);
        out_put(&o, dist_bits, dist_n);
    }
    out_put(&o, lcode[256], llen[256]);
    d->acc = o.acc;
    d->nacc = o.nacc;
    d->pos = (gsize)(o.p - d->out->data);
    d->ntok = 0;
    memset(d->lit_freq, 0, sizeof d->lit_freq);
    memset(d->dist_freq, 0, sizeof d->dist_freq);
}

static inline void token_literal(Deflate *d, guint8 v)
{
    d->tok[d->ntok++] = v;
    d->lit_freq[v]++;
    if (d->ntok == BLOCK_TOKENS) {
        block_write(d, FALSE);
    }
}

/* Three literals, a pixel's R, G and B, as one token: a third of the
 * tokens to gather and to walk in block_write(). */
static inline void token_pixel(Deflate *d, guint32 rgb)
{
    d->tok[d->ntok++] = PIXEL | (rgb & 0xffffff);
    d->lit_freq[rgb >> 16 & 255]++;
    d->lit_freq[rgb >> 8 & 255]++;
    d->lit_freq[rgb & 255]++;
    if (d->ntok == BLOCK_TOKENS) {
        block_write(d, FALSE);
    }
}

static inline void token_match(Deflate *d, guint len, guint dist)
{
    d->tok[d->ntok++] = MATCH | dist << 9 | len;
    d->lit_freq[257 + d->len_code[len]]++;
    d->dist_freq[dist_code(dist)]++;
    if (d->ntok == BLOCK_TOKENS) {
        block_write(d, FALSE);
    }
}

/* Pixels compare by their RGB alone. In cairo's RGB24 "the upper 8 bits
 * [are] unused" (cairo_format_t's documentation): nothing promises 0xff
 * there, though the pixman we build with leaves it, and were it compared
 * it would decide the runs and so the bytes written. The SIMD paths shift
 * it out of both words (<< 8) before comparing. */
#define RGB_MASK 0xffffffu

static inline gboolean rgb_equal(guint32 a, guint32 b)
{
    return ((a ^ b) & RGB_MASK) == 0;
}

/* Whether rows @a and @b of @w pixels have the same RGB: memcmp() first,
 * which settles it where the padding agrees, as it does in cairo's
 * fast paths. */
static gboolean rows_equal(const guint32 *a, const guint32 *b, guint w)
{
    if (memcmp(a, b, 4 * (gsize)w) == 0) {
        return TRUE;
    }
    for (guint x = 0; x < w; x++) {
        if (!rgb_equal(a[x], b[x])) {
            return FALSE;
        }
    }
    return TRUE;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define ROW_MASKS_AVX2 1
/* Bit k: pixel k at @p has the RGB of pixel k at @q, for k < 32. */
__attribute__((target("avx2"))) static inline guint32
eq32_avx2(const guint32 *p, const guint32 *q)
{
#define RGB8(a) _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(a)), 8)
#define EQ8(k)                                              \
    ((guint32)_mm256_movemask_ps(_mm256_castsi256_ps(       \
         _mm256_cmpeq_epi32(RGB8(p + (k)), RGB8(q + (k))))) \
     << (k))
    return EQ8(0) | EQ8(8) | EQ8(16) | EQ8(24);
#undef EQ8
#undef RGB8
}

/* row_masks() from pixel @x (a multiple of 32, not 0: pixel x - 1 is
 * read) on, 32 pixels a step with AVX2: eight compared at once and their
 * bits taken with one movemask, 40% fewer instructions than SSE2's
 * packing of sixteen. AVX2 is not in the x86-64 baseline we build for,
 * hence the check at run time. Returns where it stopped. */
__attribute__((target("avx2"))) static guint
row_masks_avx2(const guint32 *cur,
               const guint32 *above,
               guint x,
               guint w,
               guint64 *up_m,
               guint64 *left_m)
{
    if (above == NULL) {
        for (; x + 32 <= w; x += 32) {
            left_m[x / 64] |= (guint64)eq32_avx2(cur + x, cur + x - 1)
                              << (x % 64);
        }
        return x;
    }
    for (; x + 32 <= w; x += 32) {
        left_m[x / 64] |= (guint64)eq32_avx2(cur + x, cur + x - 1) << (x % 64);
        up_m[x / 64] |= (guint64)eq32_avx2(cur + x, above + x) << (x % 64);
    }
    return x;
}

static gboolean cpu_has_avx2(void)
{
    static gint known = -1; /* -1 not asked yet, else 0 or 1 */
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return known == 1;
}
#endif

/* The widest instructions row_masks() may use: lowered by tests alone
 * (viz_png__set_simd()), to run every path on one machine. */
static VizPngSimd simd_max = VIZ_PNG_SIMD_AVX2;

gboolean viz_png__set_simd(VizPngSimd level)
{
    g_return_val_if_fail(level <= VIZ_PNG_SIMD_AVX2, FALSE);
#ifndef __SSE2__
    if (level >= VIZ_PNG_SIMD_SSE2) {
        return FALSE;
    }
#endif
#ifdef ROW_MASKS_AVX2
    if (level == VIZ_PNG_SIMD_AVX2 && !cpu_has_avx2()) {
        return FALSE;
    }
#else
    if (level == VIZ_PNG_SIMD_AVX2) {
        return FALSE;
    }
#endif
    simd_max = level;
    return TRUE;
}

#ifdef __SSE2__
/* Four pixels from @p, their padding shifted out (rgb_equal()). */
static inline __m128i rgb4_sse2(const guint32 *p)
{
    return _mm_slli_epi32(_mm_loadu_si128((const __m128i *)p), 8);
}
#endif

/* Which pixels of a row equal their neighbour in RGB, one bit a pixel:
 * bit x of @up_m (when @above is not NULL) says pixel x of @cur equals
 * pixel x of @above, bit x of @left_m that it equals pixel x - 1 (never
 * for x = 0). The padding byte is left out (rgb_equal()). AVX2 or SSE2
 * take 32 or 16 pixels a step, two or three instructions a pixel; then a
 * run is a count of trailing ones. */
static void row_masks(const guint32 *cur,
                      const guint32 *above,
                      guint w,
                      guint64 *up_m,
                      guint64 *left_m)
{
    gsize words = ((gsize)w + 63) / 64;
    memset(left_m, 0, words * sizeof *left_m);
    if (above != NULL) {
        memset(up_m, 0, words * sizeof *up_m);
    }
    guint x = 0;
    /* The first 32 one by one: pixel -1 may lie before the buffer. */
    for (; x < w && x < 32; x++) {
        if (x > 0 && rgb_equal(cur[x], cur[x - 1])) {
            left_m[0] |= (guint64)1 << x;
        }
        if (above != NULL && rgb_equal(cur[x], above[x])) {
            up_m[0] |= (guint64)1 << x;
        }
    }
#ifdef ROW_MASKS_AVX2
    if (simd_max >= VIZ_PNG_SIMD_AVX2 && cpu_has_avx2()) {
        x = row_masks_avx2(cur, above, x, w, up_m, left_m);
    }
#endif
#ifdef __SSE2__
    /* x is a multiple of 16 here: a step's bits stay in one word. */
    const guint sse2_w = simd_max >= VIZ_PNG_SIMD_SSE2 ? w : 0;
    for (; x + 16 <= sse2_w; x += 16) {
        const guint32 *c = cur + x;
        __m128i c0 = rgb4_sse2(c), c1 = rgb4_sse2(c + 4);
        __m128i c2 = rgb4_sse2(c + 8), c3 = rgb4_sse2(c + 12);
        __m128i e01 = _mm_packs_epi32(_mm_cmpeq_epi32(c0, rgb4_sse2(c - 1)),
                                      _mm_cmpeq_epi32(c1, rgb4_sse2(c + 3)));
        __m128i e23 = _mm_packs_epi32(_mm_cmpeq_epi32(c2, rgb4_sse2(c + 7)),
                                      _mm_cmpeq_epi32(c3, rgb4_sse2(c + 11)));
        guint64 bits = (guint)_mm_movemask_epi8(_mm_packs_epi16(e01, e23));
        left_m[x / 64] |= bits << (x % 64);
        if (above != NULL) {
            const guint32 *a = above + x;
            e01 = _mm_packs_epi32(_mm_cmpeq_epi32(c0, rgb4_sse2(a)),
                                  _mm_cmpeq_epi32(c1, rgb4_sse2(a + 4)));
            e23 = _mm_packs_epi32(_mm_cmpeq_epi32(c2, rgb4_sse2(a + 8)),
                                  _mm_cmpeq_epi32(c3, rgb4_sse2(a + 12)));
            bits = (guint)_mm_movemask_epi8(_mm_packs_epi16(e01, e23));
            up_m[x / 64] |= bits << (x % 64);
        }
    }
#endif
    for (; x < w; x++) {
        if (rgb_equal(cur[x], cur[x - 1])) {
            left_m[x / 64] |= (guint64)1 << (x % 64);
        }
        if (above != NULL && rgb_equal(cur[x], above[x])) {
            up_m[x / 64] |= (guint64)1 << (x % 64);
        }
    }
}

/* How many bits of @m are set from bit @x on, at most @max; @flip
 * (0 or ~0) counts clear bits of @m | @m2 instead. Bits past a row's end
 * are clear, so a run stops there. */
static inline guint
run_of(const guint64 *m, const guint64 *m2, guint64 flip, guint x, guint max)
{
    guint n = 0;
    if (max == 0) {
        return 0; /* bit @x may lie past the masks */
    }
    for (;;) {
        guint i = x + n, sh = i % 64;
        guint64 word = m[i / 64] | (m2 != NULL ? m2[i / 64] : 0);
        /* The bits shifted in are set in @zeros: a run reaching them goes
         * on into the next word. */
        guint64 zeros = ~((word ^ flip) >> sh);
        if (zeros != 0 && __builtin_ctzll(zeros) < 64 - (int)sh) {
            return MIN(n + (guint)__builtin_ctzll(zeros), max);
        }
        n += 64 - sh;
        if (n >= max) {
            return max;
        }
    }
}

static inline guint run_bits(const guint64 *m, guint x, guint max)
{
    return run_of(m, NULL, 0, x, max);
}

/* Matches of @len >= MIN_MATCH bytes in all, @dist back: as many of
 * MAX_MATCH as fit, the last still MIN_MATCH long. */
static inline void matches_put(Deflate *d, guint len, guint dist)
{
    while (len > MAX_MATCH) {
        guint n = len - MAX_MATCH < MIN_MATCH ? len - MIN_MATCH : MAX_MATCH;
        token_match(d, n, dist);
        len -= n;
    }
    token_match(d, len, dist);
}

static void put_be32(guint8 *p, guint32 v)
{
    p[0] = (guint8)(v >> 24);
    p[1] = (guint8)(v >> 16);
    p[2] = (guint8)(v >> 8);
    p[3] = (guint8)v;
}

/* Four bytes a step (the tables of tables_init()): a third of the
 * instructions of a byte at a time on the IDAT chunk. */
static guint32 crc_update(guint32 crc, const guint8 *p, gsize len)
{
    const guint32(*tab)[256] = tables()->crc;
    gsize i = 0;
    for (; i + 4 <= len; i += 4) {
        guint32 w;
        memcpy(&w, p + i, 4);
        w = crc ^ GUINT32_FROM_LE(w);
        crc = tab[3][w & 0xff] ^ tab[2][w >> 8 & 0xff] ^
              tab[1][w >> 16 & 0xff] ^ tab[0][w >> 24];
    }
    for (; i < len; i++) {
        crc = tab[0][(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    }
    return crc;
}

/* A chunk of @len data bytes already at @out[@at + 8]: fills in its length
 * and type before them and appends its CRC. */
static void
chunk_close(GByteArray *out, gsize at, const char *type, guint32 len)
{
    put_be32(out->data + at, len);
    memcpy(out->data + at + 4, type, 4);
    guint32 crc = crc_update(0xffffffffu, out->data + at + 4, 4 + (gsize)len);
    guint8 b[4];
    put_be32(b, crc ^ 0xffffffffu);
    g_byte_array_append(out, b, 4);
}

static void
chunk_append(GByteArray *out, const char *type, const guint8 *data, guint32 len)
{
    gsize at = out->len;
    g_byte_array_set_size(out, (guint)(at + 8));
    if (len > 0) {
        g_byte_array_append(out, data, len);
    }
    chunk_close(out, at, type, len);
}

/* Adler-32's two sums over one scanline alone (mod 65521): A is the sum
 * of its bytes, B the sum of each byte times how many bytes are left from
 * it (n down to 1). A run of such lines appended to a stream at (a, b)
 * gives (a + A, b + n * a + B). */
typedef struct {
    gint64 a; /* A; in [0, ADLER_MOD) between rows */
    gint64 b; /* B; likewise */
} RowSums;

/* Adds to @s (@sign 1) or takes from it (-1) what @k pixels of colour @c
 * from pixel @x bring to a scanline of @n bytes. R of pixel x is byte
 * 1 + 3x, so it counts n - 1 - 3x times, G once less, B twice less: over
 * the run that is an arithmetic series, so a run costs as much as one
 * pixel. */
static inline void
sums_run(RowSums *s, gint64 n, guint x, guint k, guint32 c, gint64 sign)
{
    gint64 r = c >> 16 & 255, g = c >> 8 & 255, b = c & 255;
    gint64 h = r + g + b, kk = k;
    gint64 weights = kk * (n - 1 - 3 * (gint64)x) - 3 * kk * (kk - 1) / 2;
    s->a += sign * kk * h;
    s->b += sign * (h * weights - kk * (g + 2 * b));
}

/* What changes in @s where pixel @x is @c and was @p above. */
static inline void
sums_pixel(RowSums *s, gint64 n, guint x, guint32 c, guint32 p)
{
    gint64 dr = (gint64)(c >> 16 & 255) - (gint64)(p >> 16 & 255);
    gint64 dg = (gint64)(c >> 8 & 255) - (gint64)(p >> 8 & 255);
    gint64 db = (gint64)(c & 255) - (gint64)(p & 255);
    s->a += dr + dg + db;
    s->b += (n - 1 - 3 * (gint64)x) * (dr + dg + db) - dg - 2 * db;
}

/* One row: its pixels, the row above and the masks of both (row_masks()). */
typedef struct {
    const guint32 *cur;        /* the pixels */
    const guint32 *above;      /* the row above; NULL for the first */
    guint w;                   /* pixels in a row */
    const guint64 *up_m;       /* row_masks() of @cur over @above */
    const guint64 *left_m;     /* row_masks() of @cur */
    const guint64 *above_left; /* row_masks() of @above */
} Row;

/* Codes the scanline of row @r (filter byte 0, then R, G, B of each
 * pixel) and turns @s from the sums of the scanline above (all zero when
 * none) into its own. Why pixels and not bytes: a run of pixels equal to
 * the one before is one match 3 bytes back, a run equal to the pixels
 * above one match @up bytes back (one row), and any other pixel three
 * literals; the runs are read off the masks, and no scanline is made: a
 * literal is read from the pixel itself. The sums change only where a
 * pixel differs from the one above, and by whole runs (sums_run()): the
 * checksum costs next to nothing. Each match decides its distance alone,
 * the shorter tried first and kept when it is as long: it codes in fewer
 * bits. @up is 0 when a row is too long to reach back. */
static void row_code(Deflate *d, const Row *r, guint up, RowSums *s)
{
    const guint32 *cur = r->cur, *above = r->above;
    const guint w = r->w;
    const gboolean reach = above != NULL && up > 0;
    const gint64 n = 1 + 3 * (gint64)w;
    const guint most = MAX_MATCH / 3; /* pixels in a match */
    guint x = reach ? run_bits(r->up_m, 0, MIN(w, most - 1)) : 0;
    if (x > 0) {
        /* The filter byte above is 0 too. */
        token_match(d, 1 + 3 * x, up);
    } else {
        token_literal(d, 0);
    }
    while (x < w) {
        /* Pixels equal to neither neighbour, read off the masks at once. */
        guint lits =
            run_of(r->left_m, reach ? r->up_m : NULL, ~(guint64)0, x, w - x);
        for (guint end = x + lits; x < end; x++) {
            guint32 c = cur[x];
            token_pixel(d, c);
            sums_pixel(s, n, x, c, above != NULL ? above[x] : 0);
        }
        if (x == w) {
            break;
        }
        guint max = MIN(w - x, most);
        guint rl = run_bits(r->left_m, x, max);
        guint ru = reach && rl < max ? run_bits(r->up_m, x, max) : 0;
        if (rl >= ru) {
            token_match(d, 3 * rl, 3);
            if (above == NULL) {
                sums_run(s, n, x, rl, cur[x], 1);
            } else if (run_bits(r->up_m, x, rl) < rl) {
                /* The run, less what was above it, run by run. */
                sums_run(s, n, x, rl, cur[x], 1);
                for (guint j = x, end = x + rl; j < end;) {
                    guint m = 1 + run_bits(r->above_left, j + 1, end - j - 1);
                    sums_run(s, n, j, m, above[j], -1);
                    j += m;
                }
            }
            x += rl;
        } else {
            token_match(d, 3 * ru, up);
            x += ru;
        }
    }
    s->a = (s->a % ADLER_MOD + ADLER_MOD) % ADLER_MOD;
    s->b = (s->b % ADLER_MOD + ADLER_MOD) % ADLER_MOD;
}

/* Appends to the stream's checksum a scanline of @n bytes with sums @s. */
static void adler_append(Deflate *d, guint n, const RowSums *s)
{
    guint64 a = d->adler_a, b = d->adler_b;
    b += (guint64)n * a + (guint64)s->b;
    a += (guint64)s->a;
    d->adler_a = (guint32)(a % ADLER_MOD);
    d->adler_b = (guint32)(b % ADLER_MOD);
}

static void idat_write(
    Deflate *d, const guint8 *px, guint width, guint height, gsize stride)
{
    guint row = 1 + 3 * width;
    guint up = row <= MAX_DIST ? row : 0;
    RowSums sums = { 0, 0 }; /* of the scanline before */
    gsize words = ((gsize)width + 63) / 64;
    /* The up mask, and the left masks of this row and the one above. */
    g_autofree guint64 *masks = g_new0(guint64, 3 * words);
    guint64 *up_m = masks, *left_m = masks + words;
    guint64 *above_left = left_m + words;
    static const guint8 zlib_header[2] = { 0x78, 0x01 };
    bits_reserve(d, 2);
    memcpy(d->out->data + d->pos, zlib_header, 2);
    d->pos += 2;
    for (guint y = 0; y < height; y++) {
        const guint8 *src = px + (gsize)y * stride;
        const guint8 *above = y > 0 ? src - stride : NULL;
        /* Half the rows of a chart repeat the one above (and so do its
         * masks). */
        if (above != NULL && up > 0 &&
            rows_equal((const guint32 *)src, (const guint32 *)above, width)) {
            matches_put(d, row, up);
        } else {
            Row r = { (const guint32 *)src,
                      (const guint32 *)above,
                      width,
                      up_m,
                      left_m,
                      above_left };
            row_masks(r.cur, r.above, width, up_m, left_m);
            row_code(d, &r, up, &sums);
            guint64 *t = left_m;
            left_m = above_left;
            above_left = t;
        }
        adler_append(d, row, &sums);
    }
    block_write(d, TRUE);
    bits_reserve(d, 8);
    bits_flush(d);
    put_be32(d->out->data + d->pos, d->adler_b << 16 | d->adler_a);
    d->pos += 4;
}

void viz_png_encode(
    const guint8 *px, guint width, guint height, gsize stride, GByteArray *out)
{
    g_return_if_fail(px != NULL && width > 0 && height > 0 && out != NULL);
    static const guint8 sig[8] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'
    };
    g_byte_array_append(out, sig, 8);
    guint8 ihdr[13] = { 0, 0, 0, 0, 0, 0, 0, 0, 8, /* bits per sample */
                        2,                         /* colour type: RGB */
                        0, 0, 0 }; /* deflate, adaptive filters, no
                                    * interlace */
    put_be32(ihdr, width);
    put_be32(ihdr + 4, height);
    chunk_append(out, "IHDR", ihdr, sizeof ihdr);
    gsize at = out->len;
    Deflate d = {
        .out = out, .pos = at + 8, .adler_a = 1, .len_code = tables()->len_code
    };
    d.tok = g_new(guint32, BLOCK_TOKENS);
    idat_write(&d, px, width, height, stride);
    g_free(d.tok);
    g_byte_array_set_size(out, (guint)d.pos);
    chunk_close(out, at, "IDAT", (guint32)(d.pos - at - 8));
    chunk_append(out, "IEND", NULL, 0);
}
