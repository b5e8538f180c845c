/* png.c: PNG files for viz/ with our own deflate encoder, made for charts:
 * long runs of one colour and rows that repeat the row above. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "viz/png.h"

#ifdef __SSE2__
#include <emmintrin.h> /* the checksum's sums and match lengths, sixteen
                        * bytes a step */
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <tmmintrin.h> /* pshufb for row_convert_ssse3() */
#endif

/* Why not zlib: its hash chains look for matches at any distance, which
 * pays off on photographs; a chart is mostly runs of one colour and rows
 * equal to the row above, and zlib spent ~6 ms a chart finding them. Here
 * a match is only ever tried at distance 1 (a run of one byte), 3 (a run
 * of one pixel) and one row (the row above), by comparing words: about
 * one instruction a byte on the flat parts. Anti-aliased text is coded
 * byte by byte, with Huffman codes fitted to each block. Format: RFC 1950
 * (zlib stream) and RFC 1951 (deflate); PNG: W3C, 2nd ed., 2003. */

#define MIN_MATCH    3
#define MAX_MATCH    258
#define MAX_DIST     32768
#define BLOCK_TOKENS 16384 /* tokens per deflate block: its codes adapt */
#define N_LIT        286   /* literal/length alphabet */
#define N_DIST       30    /* distance alphabet */
#define N_CL         19    /* code length alphabet */
#define ADLER_MOD    65521u
#define ADLER_NMAX   5552 /* bytes before a and b could overflow 32 bits */

/* A token: a literal byte, or MATCH | distance << 9 | length. */
#define MATCH 0x80000000u

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
} Deflate;

static void bits_reserve(Deflate *d, gsize bytes)
{
    if (d->pos + bytes > d->out->len) {
        g_byte_array_set_size(d->out, (guint)(d->pos + bytes));
    }
}

static inline void bits_put(Deflate *d, guint32 v, guint n)
{
    d->acc |= (guint64)v << d->nacc;
    d->nacc += n;
    if (d->nacc >= 32) {
        guint8 *p = d->out->data + d->pos;
        p[0] = (guint8)d->acc;
        p[1] = (guint8)(d->acc >> 8);
        p[2] = (guint8)(d->acc >> 16);
        p[3] = (guint8)(d->acc >> 24);
        d->pos += 4;
        d->acc >>= 32;
        d->nacc -= 32;
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
    bits_put(d, last ? 1 : 0, 1);
    bits_put(d, 2, 2); /* dynamic Huffman codes */
    bits_put(d, hlit - 257, 5);
    bits_put(d, hdist - 1, 5);
    bits_put(d, hclen - 4, 4);
    for (guint i = 0; i < hclen; i++) {
        bits_put(d, cllen[cl_order[i]], 3);
    }
    static const guint8 cl_extra[3] = { 2, 3, 7 };
    for (guint i = 0; i < nsym; i++) {
        bits_put(d, clcode[sym[i]], cllen[sym[i]]);
        if (sym[i] >= 16) {
            bits_put(d, ext[i], cl_extra[sym[i] - 16]);
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
        if (!(tk & MATCH)) {
            bits_put(d, lcode[tk], llen[tk]);
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
        bits_put(d, len_bits, len_n);
        bits_put(d, dist_bits, dist_n);
    }
    bits_put(d, lcode[256], llen[256]);
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

static inline void token_match(Deflate *d, guint len, guint dist)
{
    d->tok[d->ntok++] = MATCH | dist << 9 | len;
    d->lit_freq[257 + tables()->len_code[len]]++;
    d->dist_freq[dist_code(dist)]++;
    if (d->ntok == BLOCK_TOKENS) {
        block_write(d, FALSE);
    }
}

/* How many of the @max bytes at @p equal those at @q: sixteen at a time
 * with SSE2 (one compare and one mask a step; most matches are the 258
 * bytes of a run or of the row above), else eight. */
static inline guint match_len(const guint8 *p, const guint8 *q, guint max)
{
    guint n = 0;
#ifdef __SSE2__
    while (n + 16 <= max) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + n));
        __m128i y = _mm_loadu_si128((const __m128i *)(q + n));
        guint same = (guint)_mm_movemask_epi8(_mm_cmpeq_epi8(x, y));
        if (same != 0xffff) {
            return n + (guint)__builtin_ctz(~same);
        }
        n += 16;
    }
#endif
    while (n + 8 <= max) {
        guint64 x, y;
        memcpy(&x, p + n, 8);
        memcpy(&y, q + n, 8);
        guint64 diff = x ^ y;
        if (diff != 0) {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
            return n + (guint)__builtin_ctzll(diff) / 8;
#else
            return n + (guint)__builtin_clzll(diff) / 8;
#endif
        }
        n += 8;
    }
    while (n < max && p[n] == q[n]) {
        n++;
    }
    return n;
}

/* Whether the three bytes at @p equal those at @q, with one compare of
 * words: most bytes of anti-aliased text match no candidate, and this is
 * all such a candidate costs. Reads a fourth byte at @p and @q. */
static inline gboolean same3(const guint8 *p, const guint8 *q)
{
    guint32 x, y;
    memcpy(&x, p, 4);
    memcpy(&y, q, 4);
    return ((x ^ y) & GUINT32_FROM_LE(0x00ffffffu)) == 0;
}

/* Makes @dist the best match at @p + @i when it is longer than *@best.
 * Only a candidate whose first three bytes match is measured: the others
 * could not be coded as a match anyway. */
static inline void match_try(const guint8 *p,
                             guint i,
                             gsize back,
                             guint dist,
                             guint max,
                             guint *best,
                             guint *best_dist)
{
    if (*best >= max || dist == 0 || dist > back + i ||
        !same3(p + i, p + i - dist)) {
        return;
    }
    guint len = match_len(p + i, p + i - dist, max);
    if (len > *best) {
        *best = len;
        *best_dist = dist;
    }
}

/* Codes the @n bytes at @p (one scanline, filter byte first), whose
 * buffer has a byte to spare after them (same3()). @back bytes before @p
 * are earlier stream bytes a match may reach into. */
static void row_code(Deflate *d, const guint8 *p, guint n, gsize back, guint up)
{
    /* Below the first row every candidate lies within reach. */
    const gboolean reach = up > 0 && back >= up;
    guint i = 0;
    while (i < n) {
        guint best = 0, best_dist = 0, max = MIN(n - i, MAX_MATCH);
        /* Most bytes coded here are anti-aliased text, where no candidate
         * matches: three compares of words and out, without match_try()'s
         * bookkeeping. */
        if (reach && max >= MIN_MATCH && !same3(p + i, p + i - 1) &&
            !same3(p + i, p + i - 3) && !same3(p + i, p + i - up)) {
            token_literal(d, p[i++]);
            continue;
        }
        if (max >= MIN_MATCH) {
            match_try(p, i, back, 1, max, &best, &best_dist);
            match_try(p, i, back, 3, max, &best, &best_dist);
            match_try(p, i, back, up, max, &best, &best_dist);
        }
        if (best < MIN_MATCH) {
            token_literal(d, p[i++]);
            continue;
        }
        token_match(d, best, best_dist);
        i += best;
    }
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

/* A pixel's R, G, B as the low three bytes of a little-endian word. */
static inline guint32 pixel_rgb(guint32 p)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
    return GUINT32_SWAP_LE_BE(p) >> 8; /* one bswap */
#else
    return (p >> 16 & 0xff) | (p & 0xff00) | (p & 0xff) << 16;
#endif
}

static inline void store_le32(guint8 *dst, guint32 v)
{
    v = GUINT32_TO_LE(v);
    memcpy(dst, &v, 4);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define ROW_CONVERT_SSSE3 1
/* Four pixels (B, G, R, unused in memory) to twelve bytes R, G, B with one
 * pshufb: a quarter of the scalar loop's instructions. SSSE3 is not in the
 * x86-64 baseline we build for, hence the check at run time. Converts
 * pixels four at a time while 16 bytes can be stored: the four after the
 * twelve are overwritten by the next step or lie in the buffer's spare
 * bytes. Returns how many pixels it converted. */
__attribute__((target("ssse3"))) static guint
row_convert_ssse3(const guint8 *src, guint width, guint8 *o)
{
    const __m128i order =
        _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    guint x = 0;
    for (; x + 4 <= width; x += 4, o += 12) {
        __m128i px = _mm_loadu_si128((const __m128i *)(src + 4 * (gsize)x));
        _mm_storeu_si128((__m128i *)o, _mm_shuffle_epi8(px, order));
    }
    return x;
}

static gboolean cpu_has_ssse3(void)
{
    static gint known = -1; /* -1 not asked yet, else 0 or 1 */
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("ssse3") ? 1 : 0;
    }
    return known == 1;
}
#endif

/* One row of pixels as PNG scanline bytes: filter type 0 (None) and the
 * pixels as R, G, B. Why None: runs and the row above are found by the
 * matcher itself, which on these pictures beats the Up filter. Four pixels
 * go out as three words, not twelve byte stores. */
static void row_convert(const guint8 *src, guint width, guint8 *dst)
{
    const guint32 *s = (const guint32 *)src;
    guint8 *o = dst + 1;
    guint x = 0;
    dst[0] = 0;
#if ROW_CONVERT_SSSE3
    if (cpu_has_ssse3()) {
        x = row_convert_ssse3(src, width, o);
        o += 3 * x;
    }
#endif
    for (; x + 4 <= width; x += 4, o += 12) {
        guint32 q0 = pixel_rgb(s[x]), q1 = pixel_rgb(s[x + 1]),
                q2 = pixel_rgb(s[x + 2]), q3 = pixel_rgb(s[x + 3]);
        store_le32(o, q0 | q1 << 24);
        store_le32(o + 4, q1 >> 8 | q2 << 16);
        store_le32(o + 8, q2 >> 16 | q3 << 8);
    }
    for (; x < width; x++, o += 3) {
        guint32 q = pixel_rgb(s[x]);
        o[0] = (guint8)q;
        o[1] = (guint8)(q >> 8);
        o[2] = (guint8)(q >> 16);
    }
}

/* Adler-32's two sums over the @n bytes at @p alone (mod 65521): a run of
 * them appended to a stream at (a, b) gives (a + A, b + n * a + B). B is
 * the sum of each byte times how many bytes are left from it, n down to 1,
 * which lets SSE2 take sixteen bytes a step (weights 16 to 1 and the sums
 * before the step times 16): a tenth of the byte loop's instructions. */
static void row_sums(const guint8 *p, guint n, guint32 *sum_a, guint32 *sum_b)
{
    guint64 a = 0, b = 0; /* b < 255 * n * n / 2: no overflow */
    guint i = 0;
#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128();
    const __m128i w_lo = _mm_setr_epi16(16, 15, 14, 13, 12, 11, 10, 9);
    const __m128i w_hi = _mm_setr_epi16(8, 7, 6, 5, 4, 3, 2, 1);
    __m128i va = zero;   /* bytes so far, in two 64-bit lanes */
    __m128i vpre = zero; /* the sum of va before each step */
    __m128i vw = zero;   /* weighted bytes, four 32-bit lanes */
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + i));
        vpre = _mm_add_epi64(vpre, va);
        va = _mm_add_epi64(va, _mm_sad_epu8(x, zero));
        vw =
            _mm_add_epi32(vw, _mm_madd_epi16(_mm_unpacklo_epi8(x, zero), w_lo));
        vw =
            _mm_add_epi32(vw, _mm_madd_epi16(_mm_unpackhi_epi8(x, zero), w_hi));
    }
    guint64 la[2], lpre[2];
    guint32 lw[4];
    _mm_storeu_si128((__m128i *)la, va);
    _mm_storeu_si128((__m128i *)lpre, vpre);
    _mm_storeu_si128((__m128i *)lw, vw);
    a = la[0] + la[1];
    b = 16 * (lpre[0] + lpre[1]) + (guint64)lw[0] + lw[1] + lw[2] + lw[3];
#endif
    for (; i < n; i++) {
        a += p[i];
        b += a;
    }
    *sum_a = (guint32)(a % ADLER_MOD);
    *sum_b = (guint32)(b % ADLER_MOD);
}

/* Appends to the stream's checksum @n bytes whose own sums are @sum_a and
 * @sum_b (row_sums()). */
static void adler_append(Deflate *d, guint n, guint32 sum_a, guint32 sum_b)
{
    guint64 a = d->adler_a, b = d->adler_b;
    b += (guint64)n * a + sum_b;
    a += sum_a;
    d->adler_a = (guint32)(a % ADLER_MOD);
    d->adler_b = (guint32)(b % ADLER_MOD);
}

/* A scanline of @n bytes equal to the one before it: matches one row
 * back. */
static void row_repeat(Deflate *d, guint n)
{
    for (guint left = n; left > 0;) {
        /* The last match must still be MIN_MATCH long. */
        guint len = left <= MAX_MATCH              ? left
                    : left - MAX_MATCH < MIN_MATCH ? left - MIN_MATCH
                                                   : MAX_MATCH;
        token_match(d, len, n);
        left -= len;
    }
}

static void idat_write(
    Deflate *d, const guint8 *px, guint width, guint height, gsize stride)
{
    guint row = 1 + 3 * width;
    guint up = row <= MAX_DIST ? row : 0;
    /* Two scanlines side by side: the one being coded and the one above,
     * which its matches may reach back into. */
    g_autofree guint8 *win =
        g_malloc0(2 * (gsize)row + 4); /* spare: same3(), row_convert_ssse3() */
    guint8 *cur = win + row;
    guint32 sum_a = 0, sum_b = 0; /* row_sums() of @cur */
    static const guint8 zlib_header[2] = { 0x78, 0x01 };
    bits_reserve(d, 2);
    memcpy(d->out->data + d->pos, zlib_header, 2);
    d->pos += 2;
    for (guint y = 0; y < height; y++) {
        const guint8 *src = px + (gsize)y * stride;
        /* Half the rows of a chart repeat the one above: compare the
         * pixels before converting any. */
        if (y > 0 && up > 0 &&
            memcmp(src, src - stride, 4 * (gsize)width) == 0) {
            row_repeat(d, row);
            adler_append(d, row, sum_a, sum_b);
            continue;
        }
        if (y > 0) {
            memcpy(win, cur, row);
        }
        row_convert(src, width, cur);
        row_code(d, cur, row, y > 0 ? row : 0, up);
        /* One pass over the row for the checksum, not one per token. */
        row_sums(cur, row, &sum_a, &sum_b);
        adler_append(d, row, sum_a, sum_b);
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
    Deflate d = { .out = out, .pos = at + 8, .adler_a = 1 };
    d.tok = g_new(guint32, BLOCK_TOKENS);
    idat_write(&d, px, width, height, stride);
    g_free(d.tok);
    g_byte_array_set_size(out, (guint)d.pos);
    chunk_close(out, at, "IDAT", (guint32)(d.pos - at - 8));
    chunk_append(out, "IEND", NULL, 0);
}
