/* accesslog.c: Istio's access-log line formats (T-1 TEXT, T-2 JSON), the
 * TEXT tokenizer the replay reads with, and the `run --access-log` writer. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h> /* the TEXT tokenizer's compares */
#endif

#include <glib/gstdio.h>

#include "models/accesslog.h"
#include "models/app-response.h"

/* ---- the formats --------------------------------------------------------- */

/* T-2 keys, indexed by AccessLogField (T-1 order). */
static const char *const field_keys[ACCESS_LOG_N_FIELDS] = {
    [ACCESS_LOG_START_TIME] = "start_time",
    [ACCESS_LOG_METHOD] = "method",
    [ACCESS_LOG_PATH] = "path",
    [ACCESS_LOG_PROTOCOL] = "protocol",
    [ACCESS_LOG_RESPONSE_CODE] = "response_code",
    [ACCESS_LOG_RESPONSE_FLAGS] = "response_flags",
    [ACCESS_LOG_RESPONSE_CODE_DETAILS] = "response_code_details",
    [ACCESS_LOG_CONNECTION_TERMINATION_DETAILS] =
        "connection_termination_details",
    [ACCESS_LOG_UPSTREAM_TRANSPORT_FAILURE_REASON] =
        "upstream_transport_failure_reason",
    [ACCESS_LOG_BYTES_RECEIVED] = "bytes_received",
    [ACCESS_LOG_BYTES_SENT] = "bytes_sent",
    [ACCESS_LOG_DURATION] = "duration",
    [ACCESS_LOG_UPSTREAM_SERVICE_TIME] = "upstream_service_time",
    [ACCESS_LOG_X_FORWARDED_FOR] = "x_forwarded_for",
    [ACCESS_LOG_USER_AGENT] = "user_agent",
    [ACCESS_LOG_REQUEST_ID] = "request_id",
    [ACCESS_LOG_AUTHORITY] = "authority",
    [ACCESS_LOG_UPSTREAM_HOST] = "upstream_host",
    [ACCESS_LOG_UPSTREAM_CLUSTER] = "upstream_cluster",
    [ACCESS_LOG_UPSTREAM_LOCAL_ADDRESS] = "upstream_local_address",
    [ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS] = "downstream_local_address",
    [ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS] = "downstream_remote_address",
    [ACCESS_LOG_REQUESTED_SERVER_NAME] = "requested_server_name",
    [ACCESS_LOG_ROUTE_NAME] = "route_name",
};

/* The order T-2 lists the keys in (EnvoyJSONLogFormatIstio), which the
 * JSON writer follows. */
static const AccessLogField json_order[ACCESS_LOG_N_FIELDS] = {
    ACCESS_LOG_START_TIME,
    ACCESS_LOG_ROUTE_NAME,
    ACCESS_LOG_METHOD,
    ACCESS_LOG_PATH,
    ACCESS_LOG_PROTOCOL,
    ACCESS_LOG_RESPONSE_CODE,
    ACCESS_LOG_RESPONSE_FLAGS,
    ACCESS_LOG_RESPONSE_CODE_DETAILS,
    ACCESS_LOG_CONNECTION_TERMINATION_DETAILS,
    ACCESS_LOG_BYTES_RECEIVED,
    ACCESS_LOG_BYTES_SENT,
    ACCESS_LOG_DURATION,
    ACCESS_LOG_UPSTREAM_SERVICE_TIME,
    ACCESS_LOG_X_FORWARDED_FOR,
    ACCESS_LOG_USER_AGENT,
    ACCESS_LOG_REQUEST_ID,
    ACCESS_LOG_AUTHORITY,
    ACCESS_LOG_UPSTREAM_HOST,
    ACCESS_LOG_UPSTREAM_CLUSTER,
    ACCESS_LOG_UPSTREAM_LOCAL_ADDRESS,
    ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS,
    ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS,
    ACCESS_LOG_REQUESTED_SERVER_NAME,
    ACCESS_LOG_UPSTREAM_TRANSPORT_FAILURE_REASON,
};

/* T-1 after `[%START_TIME%] "%METHOD% %PATH% %PROTOCOL%" `: each operator
 * and whether it stands in quotes; %ROUTE_NAME% follows as the rest of the
 * line. Writer and tokenizer both walk this table, so they cannot drift. */
static const struct {
    AccessLogField field; /* the operator */
    gboolean quoted;      /* written as "%OP%" */
} text_tail[] = {
    { ACCESS_LOG_RESPONSE_CODE, FALSE },
    { ACCESS_LOG_RESPONSE_FLAGS, FALSE },
    { ACCESS_LOG_RESPONSE_CODE_DETAILS, FALSE },
    { ACCESS_LOG_CONNECTION_TERMINATION_DETAILS, FALSE },
    { ACCESS_LOG_UPSTREAM_TRANSPORT_FAILURE_REASON, TRUE },
    { ACCESS_LOG_BYTES_RECEIVED, FALSE },
    { ACCESS_LOG_BYTES_SENT, FALSE },
    { ACCESS_LOG_DURATION, FALSE },
    { ACCESS_LOG_UPSTREAM_SERVICE_TIME, FALSE },
    { ACCESS_LOG_X_FORWARDED_FOR, TRUE },
    { ACCESS_LOG_USER_AGENT, TRUE },
    { ACCESS_LOG_REQUEST_ID, TRUE },
    { ACCESS_LOG_AUTHORITY, TRUE },
    { ACCESS_LOG_UPSTREAM_HOST, TRUE },
    { ACCESS_LOG_UPSTREAM_CLUSTER, FALSE },
    { ACCESS_LOG_UPSTREAM_LOCAL_ADDRESS, FALSE },
    { ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS, FALSE },
    { ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS, FALSE },
    { ACCESS_LOG_REQUESTED_SERVER_NAME, FALSE },
};

/* Fields the JSON format types as numbers (and the tokenizer checks). */
static gboolean field_is_number(AccessLogField f)
{
    return f == ACCESS_LOG_RESPONSE_CODE || f == ACCESS_LOG_BYTES_RECEIVED ||
           f == ACCESS_LOG_BYTES_SENT || f == ACCESS_LOG_DURATION;
}

gboolean access_log_format_parse(const char *name, AccessLogFormat *out)
{
    g_return_val_if_fail(out != NULL, FALSE);
    if (g_strcmp0(name, "text") == 0) {
        *out = ACCESS_LOG_TEXT;
        return TRUE;
    }
    if (g_strcmp0(name, "json") == 0) {
        *out = ACCESS_LOG_JSON;
        return TRUE;
    }
    return FALSE;
}

const char *access_log_field_key(AccessLogField f)
{
    g_return_val_if_fail(f < ACCESS_LOG_N_FIELDS, NULL);
    return field_keys[f];
}

gint access_log_field_by_key(const char *key)
{
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        if (strcmp(field_keys[i], key) == 0) {
            return (gint)i;
        }
    }
    return -1;
}

void access_log_fields_clear(AccessLogFields *a)
{
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        if (a->store == NULL) {
            g_free(a->f[i]);
        }
        a->f[i] = NULL;
    }
    g_clear_pointer(&a->store, g_free);
}

static gboolean is_digits(const char *s)
{
    if (s == NULL || *s == '\0') {
        return FALSE;
    }
    for (; *s != '\0'; s++) {
        if (!g_ascii_isdigit(*s)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* A TEXT value: control characters become '_' (a line stays a line); an
 * unquoted value also loses its blanks and is never empty, so that it
 * stays one token. */
static void put_text(GString *o, const char *v, gboolean quoted)
{
    if (v == NULL || (!quoted && *v == '\0')) {
        g_string_append_c(o, '-');
        return;
    }
    for (const char *p = v; *p != '\0'; p++) {
        guchar c = (guchar)*p;
        gboolean bad = c < 0x20 || c == 0x7f || (!quoted && c == ' ');
        g_string_append_c(o, bad ? '_' : *p);
    }
}

static void put_json_string(GString *o, const char *v)
{
    g_string_append_c(o, '"');
    for (const char *p = v; *p != '\0'; p++) {
        guchar c = (guchar)*p;
        switch (c) {
        case '"':
            g_string_append(o, "\\\"");
            break;
        case '\\':
            g_string_append(o, "\\\\");
            break;
        case '\n':
            g_string_append(o, "\\n");
            break;
        case '\r':
            g_string_append(o, "\\r");
            break;
        case '\t':
            g_string_append(o, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                g_string_append_printf(o, "\\u%04x", c);
            } else {
                g_string_append_c(o, (char)c);
            }
        }
    }
    g_string_append_c(o, '"');
}

void access_log_append(GString *out,
                       AccessLogFormat fmt,
                       const AccessLogFields *a)
{
    g_return_if_fail(out != NULL && a != NULL);
    if (fmt == ACCESS_LOG_JSON) {
        g_string_append_c(out, '{');
        for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
            AccessLogField f = json_order[i];
            const char *v = a->f[f];
            g_string_append_printf(out, "%s\"%s\":", i > 0 ? "," : "",
                                   field_keys[f]);
            if (v == NULL) {
                g_string_append(out, "null");
            } else if (field_is_number(f) && is_digits(v) &&
                       (v[0] != '0' || v[1] == '\0')) {
                g_string_append(out, v);
            } else {
                put_json_string(out, v);
            }
        }
        g_string_append(out, "}\n");
        return;
    }
    g_string_append_c(out, '[');
    put_text(out, a->f[ACCESS_LOG_START_TIME], FALSE);
    g_string_append(out, "] \"");
    put_text(out, a->f[ACCESS_LOG_METHOD], FALSE);
    g_string_append_c(out, ' ');
    /* The tokenizer splits at the first and the last blank: a path may
     * hold blanks. */
    put_text(out, a->f[ACCESS_LOG_PATH], TRUE);
    g_string_append_c(out, ' ');
    put_text(out, a->f[ACCESS_LOG_PROTOCOL], FALSE);
    g_string_append_c(out, '"');
    for (guint i = 0; i < G_N_ELEMENTS(text_tail); i++) {
        g_string_append_c(out, ' ');
        if (text_tail[i].quoted) {
            g_string_append_c(out, '"');
        }
        put_text(out, a->f[text_tail[i].field], text_tail[i].quoted);
        if (text_tail[i].quoted) {
            g_string_append_c(out, '"');
        }
    }
    g_string_append_c(out, ' ');
    /* The last field may hold blanks ("default/counter http[0]"). */
    const char *route = a->f[ACCESS_LOG_ROUTE_NAME];
    put_text(out, route != NULL && *route != '\0' ? route : NULL, TRUE);
    g_string_append_c(out, '\n');
}

/* ---- the TEXT tokenizer -------------------------------------------------- */

/* The splitter finds a line's blanks 64 bytes at a time, as the bits of a
 * word (bit i for byte base + i): one pass of compares over the line, then
 * a bit scan a field, where a byte-by-byte search costs a compare and a
 * branch a byte. Bytes at or past the end count as blanks, so that the end
 * ends a field as a blank does and every search stops there. */

/* The blanks of the 64 bytes at @p, eight bytes at a time. A byte of
 * x ^ "        " is zero where x holds a blank; the test below sets the
 * high bit of exactly those bytes, with no carry from one byte into the
 * next. The multiply gathers the eight flags into the top byte: each
 * lands alone on its bit (flag j on bit 56 + j), none on another's. */
static guint64 blank_bits_swar(const char *p)
{
    const guint64 low7 = G_GUINT64_CONSTANT(0x7f7f7f7f7f7f7f7f);
    const guint64 pat = G_GUINT64_CONSTANT(0x2020202020202020);
    const guint64 gather = G_GUINT64_CONSTANT(0x0102040810204080);
    guint64 bits = 0;
    for (guint i = 0; i < 8; i++) {
        guint64 x;
        memcpy(&x, p + 8 * i, sizeof x);
        x = GUINT64_FROM_LE(x) ^ pat;
        guint64 zero = ~(((x & low7) + low7) | x | low7);
        bits |= (((zero >> 7) * gather) >> 56) << (8 * i);
    }
    return bits;
}

#ifdef __SSE2__
/* The blanks of the 16 bytes at @p (SSE2 is x86-64's baseline). */
static inline guint64 blank_bits_16(const char *p, __m128i blank)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    return (guint64)(guint)_mm_movemask_epi8(_mm_cmpeq_epi8(x, blank));
}

/* blank_bits_swar(), sixteen bytes a compare. */
G_ALWAYS_INLINE static inline guint64 blank_bits_sse2(const char *p)
{
    const __m128i blank = _mm_set1_epi8(' ');
    return blank_bits_16(p, blank) | blank_bits_16(p + 16, blank) << 16 |
           blank_bits_16(p + 32, blank) << 32 |
           blank_bits_16(p + 48, blank) << 48;
}
#endif

/* The blanks of 64 bytes, by SSE2 where the build has it unless
 * @portable. */
G_ALWAYS_INLINE static inline guint64 blank_bits(const char *p,
                                                 gboolean portable)
{
#ifdef __SSE2__
    return portable ? blank_bits_swar(p) : blank_bits_sse2(p);
#else
    (void)portable; /* the only scan there is */
    return blank_bits_swar(p);
#endif
}

/* The blanks of the block at @base of @line (@n bytes), all bits when
 * the block starts at or past the end. The block the end cuts is the 64
 * bytes that end at the end, moved into place (or, on a line shorter than
 * that, a copy padded with blanks): the buffer may end with the line. */
G_ALWAYS_INLINE static inline guint64
block_bits(const char *line, gsize n, gsize base, gboolean portable)
{
    if (base >= n) {
        return ~G_GUINT64_CONSTANT(0);
    }
    if (n - base >= 64) {
        return blank_bits(line + base, portable);
    }
    guint64 past = ~G_GUINT64_CONSTANT(0) << (n - base); /* 1..63 */
    if (n >= 64) {
        return blank_bits(line + n - 64, portable) >> (base + 64 - n) | past;
    }
    char pad[64];
    memset(pad, ' ', sizeof pad);
    memcpy(pad, line, n);
    return blank_bits(pad, portable); /* base is 0 */
}

/* Every field, for split_text()'s @want. */
#define ACCESS_LOG_ALL_FIELDS ((1u << ACCESS_LOG_N_FIELDS) - 1)
G_STATIC_ASSERT(ACCESS_LOG_N_FIELDS < 32);

/* Blocks of blanks the splitter finds before it starts, in one loop: a
 * line of up to 512 bytes (Istio's lines have 200 to 400) needs no more. */
#define SPLIT_WORDS 8

/* The splitter's place in the line: the blanks not handed out yet, in
 * order as the splitter reaches them. Each field is NUL-terminated as
 * soon as it is taken: the byte after it (']', a blank or a closing quote)
 * is behind the scan by then, which never looks back. The helpers below
 * are inlined into split_text(), which keeps all this in registers (else
 * each store through a char pointer would reload it). */
typedef struct {
    char *line;           /* the trimmed line */
    gsize n;              /* its bytes; line[n] is a NUL */
    gsize base;           /* the 64-byte block of bits */
    guint64 bits;         /* its blanks not handed out yet */
    gboolean portable;    /* the SWAR scan even where SSE2 is there (a
                           * constant once inlined) */
    const guint64 *words; /* block_bits() of the first blocks, up to the
                           * one that holds the end or SPLIT_WORDS */
    guint32 want;         /* the fields to set, 1 << AccessLogField (a
                           * constant once inlined) */
    AccessLogSpans *out;  /* the values and their bytes */
} Split;

/* block_bits() out of line, for the blocks past SPLIT_WORDS. */
G_NO_INLINE static guint64
far_block_bits(const char *line, gsize n, gsize base, gboolean portable)
{
    return block_bits(line, n, base, portable);
}

/* The next blank (or the end, or a position past it) not handed out. */
G_ALWAYS_INLINE static inline gsize split_pop(Split *sp)
{
    while (G_UNLIKELY(sp->bits == 0)) {
        sp->base += 64;
        sp->bits = sp->base < 64 * SPLIT_WORDS
                       ? sp->words[sp->base / 64]
                       : far_block_bits(sp->line, sp->n, sp->base,
                                        sp->portable);
    }
    gsize at = sp->base + (guint)__builtin_ctzll(sp->bits);
    sp->bits &= sp->bits - 1;
    return at;
}

/* Hands out no blank before @pos (the start of the scan). */
G_ALWAYS_INLINE static inline void split_seek(Split *sp, gsize pos)
{
    if (pos - sp->base >= 64) {
        sp->base = pos & ~(gsize)63;
        sp->bits = sp->base < 64 * SPLIT_WORDS
                       ? sp->words[sp->base / 64]
                       : far_block_bits(sp->line, sp->n, sp->base,
                                        sp->portable);
    }
    sp->bits &= ~G_GUINT64_CONSTANT(0) << (pos & 63);
}

/* Sets field @f to line[@s, @e) ("-" is unset) and ends it with a NUL,
 * if it is wanted. */
G_ALWAYS_INLINE static inline void
split_set(Split *sp, AccessLogField f, gsize s, gsize e)
{
    if ((sp->want & 1u << f) == 0) {
        return;
    }
    char *v = sp->line + s;
    gboolean unset = e - s == 1 && v[0] == '-';
    sp->out->a.f[f] = unset ? NULL : v;
    sp->out->len[f] = unset ? 0 : e - s;
    sp->line[e] = '\0';
}

/* Where the field after the blank at @e (< n) starts: past more blanks,
 * handed out as they are passed. Trailing blanks are gone: a blank has a
 * field after it. */
G_ALWAYS_INLINE static inline gsize split_start(Split *sp, gsize e)
{
    gsize s = e + 1;
    while (G_UNLIKELY(sp->line[s] == ' ')) {
        split_pop(sp);
        s++;
    }
    return s;
}

/* A word after the blank *@e (< n): up to the next blank or the end,
 * which goes into *@e; where it starts goes into *@s. FALSE: a quote
 * where a word should start. */
G_ALWAYS_INLINE static inline gboolean
split_word(Split *sp, gsize *e, gsize *s, AccessLogField f)
{
    *s = split_start(sp, *e);
    if (sp->line[*s] == '"') {
        return FALSE;
    }
    *e = split_pop(sp);
    split_set(sp, f, *s, *e);
    return TRUE;
}

/* The end of a "..." field whose value starts at @s: the first '"' at or
 * after @s followed by a blank or the end is the closing one (Envoy does
 * not escape quotes inside values). Returns the blank (or the end) after
 * it, or G_MAXSIZE when there is none. The first and the last blank
 * inside the value go into @first/@last (G_MAXSIZE: none). */
G_ALWAYS_INLINE static inline gsize
split_close(Split *sp, gsize s, gsize *first, gsize *last)
{
    *first = *last = G_MAXSIZE;
    for (;;) {
        gsize b = split_pop(sp);
        if (G_LIKELY(b > s && sp->line[b - 1] == '"')) {
            return b;
        }
        if (b >= sp->n) {
            return G_MAXSIZE;
        }
        *first = MIN(*first, b);
        *last = b;
    }
}

/* A "..." field after the blank *@e (< n); the blank or the end after it
 * goes into *@e. FALSE: no opening quote, or no closing one. */
G_ALWAYS_INLINE static inline gboolean
split_quoted(Split *sp, gsize *e, AccessLogField f)
{
    gsize s = split_start(sp, *e);
    gsize first, last;
    if (sp->line[s] != '"') {
        return FALSE;
    }
    gsize b = split_close(sp, s + 1, &first, &last);
    if (b == G_MAXSIZE) {
        return FALSE;
    }
    split_set(sp, f, s + 1, b - 1);
    *e = b;
    return TRUE;
}

/* "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" after the
 * blank *@e (< n), split at its first and its last blank (a path may hold
 * blanks); the blank or the end after it goes into *@e. Its own "-" is
 * not unset: it needs three parts. NULL, or what is wrong. */
G_ALWAYS_INLINE static inline const char *split_request(Split *sp, gsize *e)
{
    gsize o = split_start(sp, *e);
    gsize sp1, sp2;
    gsize b = sp->line[o] == '"' ? split_close(sp, o + 1, &sp1, &sp2)
                                 : G_MAXSIZE;
    if (b == G_MAXSIZE) {
        return "no quoted \"METHOD PATH PROTOCOL\" after the time";
    }
    if (sp1 == G_MAXSIZE || sp1 == sp2) {
        return "\"METHOD PATH PROTOCOL\" needs three parts";
    }
    split_set(sp, ACCESS_LOG_METHOD, o + 1, sp1);
    split_set(sp, ACCESS_LOG_PATH, sp1 + 1, sp2);
    split_set(sp, ACCESS_LOG_PROTOCOL, sp2 + 1, b - 1);
    *e = b;
    return NULL;
}

/* memchr(@line, ']', @n): a default %START_TIME% ends at byte 25, so two
 * SSE2 compares find it where the line has 32 bytes. */
G_ALWAYS_INLINE static inline char *
find_close(char *line, gsize n, gboolean portable)
{
#ifdef __SSE2__
    if (!portable && n >= 32) {
        const __m128i close = _mm_set1_epi8(']');
        __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)line);
        __m128i x1 =
            _mm_loadu_si128((const __m128i *)(const void *)(line + 16));
        guint m = (guint)_mm_movemask_epi8(_mm_cmpeq_epi8(x0, close)) |
                  (guint)_mm_movemask_epi8(_mm_cmpeq_epi8(x1, close)) << 16;
        if (m != 0) {
            return line + __builtin_ctz(m);
        }
    }
#else
    (void)portable;
#endif
    return memchr(line, ']', n);
}

/* Are the @n bytes at @s decimal digits, and at least one? */
static inline gboolean is_digits_n(const char *s, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        if ((guint)(guchar)s[i] - '0' > 9) {
            return FALSE;
        }
    }
    return n > 0;
}

/* The fast path's blanks: the one after %START_TIME%, two inside the
 * request, the one after it, and one after each of text_tail's fields. */
#define FAST_BLANKS (4 + G_N_ELEMENTS(text_tail))

/* The index of the lowest set bit of @bits (not 0). On x86-64, bsf: gcc
 * writes __builtin_ctzll() as tzcnt after a xor that breaks a false
 * dependency on its output register, an instruction more a blank. */
G_ALWAYS_INLINE static inline guint low_bit(guint64 bits)
{
#if defined(__x86_64__) && defined(__GNUC__)
    guint64 at;
    __asm__("bsfq %1, %0" : "=r"(at) : "rm"(bits) : "cc");
    return (guint)at;
#else
    return (guint)__builtin_ctzll(bits);
#endif
}

/* The first FAST_BLANKS blanks of a line for split_fast(), into @b, from
 * the blocks split_text() scanned (@words; the last one is at @last).
 * FALSE: fewer than that there. Unrolled: each blank's bit scan is one
 * bsf (low_bit()), an add and a store. */
G_ALWAYS_INLINE static inline gboolean
fast_blanks(const guint64 *words, guint last, guint *b)
{
    guint base = 0;
    guint64 bits = words[0];
#pragma GCC unroll 32
    for (guint k = 0; k < FAST_BLANKS; k++) {
        while (G_UNLIKELY(bits == 0)) {
            if (base >= last) {
                return FALSE;
            }
            base += 64;
            bits = words[base / 64];
        }
        guint at = base + low_bit(bits);
        /* Taken here: else gcc sinks each scan to where it is used and
         * keeps every step's bits on the stack till then. */
        __asm__("" : "+r"(at));
        b[k] = at;
        bits &= bits - 1;
    }
    return TRUE;
}

/* Is the word line[@s, @e) (not empty) what split_text() takes for field
 * @f of text_tail: no quote first, and for a number "-" or digits? */
G_ALWAYS_INLINE static inline gboolean
fast_word(const char *line, gsize s, gsize e, AccessLogField f)
{
    guint c = (guchar)line[s];
    if (c == '"') {
        return FALSE;
    }
    if (!field_is_number(f)) {
        return TRUE;
    }
    /* Most numbers in a log are one to three bytes long: "0", "-",
     * "200" (is_digits_n()'s loop costs twice as much). */
    gsize len = e - s;
    if (len == 1) {
        return c - '0' <= 9 || c == '-';
    }
    if (len <= 3) {
        return c - '0' <= 9 && (guint)(guchar)line[s + 1] - '0' <= 9 &&
               (len == 2 || (guint)(guchar)line[s + 2] - '0' <= 9);
    }
    return is_digits_n(line + s, len);
}

/* split_text() of a line of the usual shape, which is most of a log: one
 * blank between fields, none inside a quoted value or the request but
 * the two that split it, no quote in the way, numbers where numbers go.
 * There the fields lie between the first FAST_BLANKS blanks and the exact
 * walk's care (runs of blanks, quotes inside values, where a value ends)
 * is moot: each condition below is one the walk would find true of the
 * same blanks. FALSE: the line is not of that shape (or it is bad), and
 * neither it nor @out has been touched: split_text() takes it the exact
 * way, bad-line messages and all. @words as split_text() has them. */
G_ALWAYS_INLINE static inline gboolean split_fast(char *line,
                                                  gsize n,
                                                  const guint64 *words,
                                                  gboolean portable,
                                                  guint32 want,
                                                  AccessLogSpans *out)
{
    guint b[FAST_BLANKS]; /* < 64 * SPLIT_WORDS */
    /* The last block split_text() scanned. */
    guint last = (guint)MIN(n & ~(gsize)63, 64 * (SPLIT_WORDS - 1));
    if (!fast_blanks(words, last, b)) {
        return FALSE;
    }
    /* The last blank ends the last field but %ROUTE_NAME%; later bits
     * stand for bytes past the end. */
    if (b[FAST_BLANKS - 1] >= n || line[0] != '[') {
        return FALSE;
    }
    /* [%START_TIME%]: its first ']' is right before the first blank. */
    char *close = find_close(line, n, portable);
    if (close == NULL || (gsize)(close - line) + 1 != b[0]) {
        return FALSE;
    }
    /* "METHOD PATH PROTOCOL": only the last of its blanks has a quote
     * before it, so split_close() stops there. */
    if (line[b[0] + 1] != '"' || line[b[1] - 1] == '"' ||
        line[b[2] - 1] == '"' || line[b[3] - 1] != '"') {
        return FALSE;
    }
    /* The tail: no field empty (no run of blanks); a quoted one longer
     * than its opening quote and closed right before its blank. */
#pragma GCC unroll 32
    for (guint i = 0; i < G_N_ELEMENTS(text_tail); i++) {
        gsize s = b[3 + i] + 1, e = b[4 + i];
        gboolean ok = text_tail[i].quoted
                          ? e > s + 1 && line[s] == '"' && line[e - 1] == '"'
                          : e > s && fast_word(line, s, e, text_tail[i].field);
        if (!ok) {
            return FALSE;
        }
    }
    /* Sure now: the values, as split_text() sets them. */
    Split sp = { line, n, 0, 0, portable, words, want, out };
    out->a.store = NULL;
    split_set(&sp, ACCESS_LOG_START_TIME, 1, b[0] - 1);
    split_set(&sp, ACCESS_LOG_METHOD, b[0] + 2, b[1]);
    split_set(&sp, ACCESS_LOG_PATH, b[1] + 1, b[2]);
    split_set(&sp, ACCESS_LOG_PROTOCOL, b[2] + 1, b[3] - 1);
#pragma GCC unroll 32
    for (guint i = 0; i < G_N_ELEMENTS(text_tail); i++) {
        gsize s = b[3 + i] + 1, e = b[4 + i];
        if (text_tail[i].quoted) {
            split_set(&sp, text_tail[i].field, s + 1, e - 1);
        } else {
            split_set(&sp, text_tail[i].field, s, e);
        }
    }
    /* %ROUTE_NAME%: the rest of the line, after the blanks. */
    gsize e = b[FAST_BLANKS - 1] + 1;
    while (line[e] == ' ') {
        e++;
    }
    split_set(&sp, ACCESS_LOG_ROUTE_NAME, e, n);
    return TRUE;
}

/* A bad line: @msg (transfer full) into @why, no values. */
static gboolean split_fail(AccessLogSpans *out, char **why, char *msg)
{
    *why = msg;
    memset(out, 0, sizeof *out);
    return FALSE;
}

/* The start of split_text(): trims @line (@n bytes) of its newline and
 * trailing blanks, ends it with a NUL there and finds the blanks of its
 * blocks into @words (the whole ones, then the one the end cuts or
 * starts, up to SPLIT_WORDS). Returns the trimmed length. */
G_ALWAYS_INLINE static inline gsize
split_scan(char *line, gsize n, gboolean portable, guint64 *words)
{
    while (n > 0 &&
           (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) {
        n--;
    }
    line[n] = '\0';
    gsize n_whole = MIN(n / 64, SPLIT_WORDS);
#pragma GCC unroll 8
    for (gsize k = 0; k < n_whole; k++) {
        words[k] = blank_bits(line + 64 * k, portable);
    }
    if (n_whole < SPLIT_WORDS) {
        words[n_whole] = block_bits(line, n, 64 * n_whole, portable);
    }
    return n;
}

/* access_log_split_text_len(), with the scan of @portable, setting the
 * fields of @want, trying split_fast() first if @fast (constants: each
 * caller gets its own copy). */
G_ALWAYS_INLINE static inline gboolean split_text(char *line,
                                                  gsize n,
                                                  AccessLogSpans *out,
                                                  gboolean portable,
                                                  gboolean fast,
                                                  guint32 want,
                                                  char **why)
{
    guint64 words[SPLIT_WORDS];
    n = split_scan(line, n, portable, words);
    if (fast && split_fast(line, n, words, portable, want, out)) {
        return TRUE;
    }
    Split sp = { line, n, 0, words[0], portable, words, want, out };
    out->a.store = NULL; /* every field is set below */

    /* [%START_TIME%] */
    char *close = line[0] == '[' ? find_close(line, n, portable) : NULL;
    if (close == NULL) {
        return split_fail(out, why,
                          g_strdup("does not start with [START_TIME]"));
    }
    gsize e = (gsize)(close - line) + 1; /* a blank, if all is well */
    gboolean blank = line[e] == ' ';
    split_set(&sp, ACCESS_LOG_START_TIME, 1, e - 1);
    const char *what = "no quoted \"METHOD PATH PROTOCOL\" after the time";
    if (blank) {
        split_seek(&sp, e + 1); /* e < n - 1: a field follows the blank */
        what = split_request(&sp, &e);
    }
    if (what != NULL) {
        return split_fail(out, why, g_strdup(what));
    }
    /* Unrolled, each field's kind is a constant: no table walk a field. */
#pragma GCC unroll 32
    for (guint i = 0; i < G_N_ELEMENTS(text_tail); i++) {
        AccessLogField f = text_tail[i].field;
        gsize s = 0;
        gboolean ok = e < n && (text_tail[i].quoted
                                    ? split_quoted(&sp, &e, f)
                                    : split_word(&sp, &e, &s, f));
        if (!ok) {
            return split_fail(out, why,
                              g_strdup_printf("field %u (%s) missing or "
                                              "malformed",
                                              i + 5, field_keys[f]));
        }
        /* (From what the scan holds: the stores above may alias it.) */
        gsize len = e - s;
        if (field_is_number(f) && !(len == 1 && line[s] == '-') &&
            !is_digits_n(line + s, len)) {
            return split_fail(out, why,
                              g_strdup_printf("field %u (%s) is not a "
                                              "number: '%.*s'",
                                              i + 5, field_keys[f], (int)len,
                                              line + s));
        }
    }
    /* %ROUTE_NAME%: the rest of the line, after the blanks. */
    if (e >= n) {
        return split_fail(out, why,
                          g_strdup("no ROUTE_NAME at the end of the line"));
    }
    e++;
    while (line[e] == ' ') {
        e++;
    }
    split_set(&sp, ACCESS_LOG_ROUTE_NAME, e, n);
    return TRUE;
}

gboolean access_log_split_text(char *line, AccessLogFields *out, char **why)
{
    g_return_val_if_fail(line != NULL && out != NULL, FALSE);
    AccessLogSpans spans;
    gboolean ok = access_log_split_text_len(line, strlen(line), &spans, why);
    *out = spans.a;
    return ok;
}

gboolean
access_log_split_text_len(char *line, gsize n, AccessLogSpans *out, char **why)
{
    g_return_val_if_fail(line != NULL && out != NULL, FALSE);
    return split_text(line, n, out, FALSE, TRUE, ACCESS_LOG_ALL_FIELDS, why);
}

gboolean access_log_split_request(char *line,
                                  gsize n,
                                  AccessLogSpans *out,
                                  char **why)
{
    g_return_val_if_fail(line != NULL && out != NULL, FALSE);
    return split_text(line, n, out, FALSE, TRUE, ACCESS_LOG_REQUEST_FIELDS,
                      why);
}

gboolean access_log__split_text_portable(char *line,
                                         gsize n,
                                         AccessLogSpans *out,
                                         char **why)
{
    g_return_val_if_fail(line != NULL && out != NULL, FALSE);
    return split_text(line, n, out, TRUE, FALSE, ACCESS_LOG_ALL_FIELDS, why);
}

gboolean access_log__split_fast(char *line, gsize n, AccessLogSpans *out)
{
    g_return_val_if_fail(line != NULL && out != NULL, FALSE);
    guint64 words[SPLIT_WORDS];
    n = split_scan(line, n, FALSE, words);
    return split_fast(line, n, words, FALSE, ACCESS_LOG_ALL_FIELDS, out);
}

gboolean
access_log_parse_text(const char *line, AccessLogFields *out, char **why)
{
    g_return_val_if_fail(line != NULL && out != NULL, FALSE);
    char *store = g_strdup(line);
    if (!access_log_split_text(store, out, why)) {
        g_free(store);
        return FALSE;
    }
    out->store = store;
    return TRUE;
}

/* ---- times --------------------------------------------------------------- */

/* Days since 1970-01-01 to a proleptic Gregorian date. Cite: H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms", civil_from_days(). */
static void civil_from_days(gint64 z, gint64 *y, guint *m, guint *d)
{
    z += 719468;
    gint64 era = (z >= 0 ? z : z - 146096) / 146097;
    guint doe = (guint)(z - era * 146097);
    guint yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    guint doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    guint mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (gint64)yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

void access_log_format_time(gint64 unix_ms, char *buf, gsize len)
{
    gint64 secs = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
    gint64 ms = unix_ms - secs * 1000;
    gint64 days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    gint64 sod = secs - days * 86400;
    gint64 y = 0;
    guint m = 0, d = 0;
    civil_from_days(days, &y, &m, &d);
    g_snprintf(buf, len,
               "%04" G_GINT64_FORMAT "-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d,
               (guint)(sod / 3600), (guint)(sod / 60 % 60), (guint)(sod % 60),
               (guint)ms);
}

/* ---- the writer ---------------------------------------------------------- */

struct _AccessLog {
    FILE *fp;            /* the temporary file, NULL once closed */
    char *path;          /* where it goes in the end (symlinks resolved) */
    char *tmp;           /* "<path>.XXXXXX" written meanwhile, or NULL:
                          * path is no regular file, written directly */
    AccessLogFormat fmt; /* TEXT or JSON */
    const World *w;      /* borrowed: addresses, the seed */
    GString *line;       /* reused for every line */
    guint64 n;           /* lines written */
    int write_errno;     /* first write error, 0: none */
    /* Scratch for the values of one line (access_log_fields_for()). */
    char start[40];       /* %START_TIME% */
    char code[16];        /* %RESPONSE_CODE% */
    char duration[24];    /* %DURATION% */
    char service[24];     /* upstream service time */
    char request_id[APP_REQUEST_ID_LEN];  /* generated x-request-id */
    char up_host[64];     /* %UPSTREAM_HOST% */
    char up_local[64];    /* %UPSTREAM_LOCAL_ADDRESS% */
    char down_local[64];  /* %DOWNSTREAM_LOCAL_ADDRESS% */
    char down_remote[64]; /* %DOWNSTREAM_REMOTE_ADDRESS% */
    char termination[48]; /* the simulator's failure note */
};

AccessLog *access_log_open(const char *path,
                           AccessLogFormat fmt,
                           const World *w,
                           GError **error)
{
    g_return_val_if_fail(path != NULL && w != NULL, NULL);
    /* A symlink is followed, not replaced; a FIFO, a device or any other
     * file that is not a regular one is written as it is (a rename would
     * replace it); a regular file (or a new one) is written beside its
     * final name, under a name of our own, and renamed at the end. */
    g_autofree char *target = realpath(path, NULL);
    if (target == NULL) {
        /* Not there yet; or a symlink to a file not there yet, which is
         * made where the link points. */
        g_autofree char *link = g_file_read_link(path, NULL);
        if (link != NULL && !g_path_is_absolute(link)) {
            g_autofree char *dir = g_path_get_dirname(path);
            target = g_build_filename(dir, link, NULL);
        } else {
            target = link != NULL ? g_steal_pointer(&link) : g_strdup(path);
        }
    }
    GStatBuf st;
    gboolean special = g_stat(target, &st) == 0 && !S_ISREG(st.st_mode);
    g_autofree char *tmp = NULL;
    FILE *fp = NULL;
    int e = 0;
    if (special) {
        fp = g_fopen(target, "wb");
        e = fp == NULL ? errno : 0;
    } else {
        tmp = g_strconcat(target, ".XXXXXX", NULL);
        int fd = g_mkstemp_full(tmp, O_WRONLY, 0644);
        fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
        e = fp == NULL ? errno : 0;
        if (fp == NULL && fd >= 0) {
            close(fd);
            g_remove(tmp);
        }
    }
    if (fp == NULL) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s:1:1: error: cannot create access log: %s", path,
                    g_strerror(e));
        return NULL;
    }
    AccessLog *al = g_new0(AccessLog, 1);
    al->fp = fp;
    al->path = g_steal_pointer(&target);
    al->tmp = g_steal_pointer(&tmp);
    al->fmt = fmt;
    al->w = w;
    al->line = g_string_sized_new(512);
    return al;
}

/* The port Envoy connected to on @pod for @c: the Service's targetPort,
 * by number or by the container port's name. */
static gint upstream_port(const GatewayCluster *c, const K8sPod *pod)
{
    return c->service_port != NULL
               ? k8s_service_port_target(c->service_port, pod)
               : c->port;
}

/* %RESPONSE_CODE_DETAILS% for what ended the request (Envoy's
 * StreamInfo::ResponseCodeDetails values); NULL where we are not sure. */
/* Is @flag one of the comma-separated response flags in @flags? Envoy
 * joins several ("DI,NC", "UT,URX"), so neither equality nor a suffix
 * test will do. */
static gboolean has_flag(const char *flags, const char *flag)
{
    gsize n = strlen(flag);
    for (const char *p = flags; p != NULL; p = strchr(p, ',')) {
        p += *p == ',';
        if (strncmp(p, flag, n) == 0 && (p[n] == ',' || p[n] == '\0')) {
            return TRUE;
        }
    }
    return FALSE;
}

static const char *code_details(const RequestOutcome *o)
{
    if (o->kind != OUTCOME_RESPONSE) {
        return NULL;
    }
    if (!o->from_gateway) {
        return "via_upstream";
    }
    const char *f = o->flags != NULL ? o->flags : "-";
    if (has_flag(f, "NR")) {
        return "route_not_found";
    }
    if (has_flag(f, "NC")) {
        return "cluster_not_found";
    }
    if (has_flag(f, "UH")) {
        return "no_healthy_upstream";
    }
    if (has_flag(f, "UF")) {
        return "upstream_reset_before_response_started{connection_failure}";
    }
    if (has_flag(f, "UT")) {
        return "response_timeout";
    }
    if (has_flag(f, "FI")) {
        return "fault_filter_abort";
    }
    return NULL;
}

void access_log_fields_for(AccessLog *al, const Request *r, AccessLogFields *a)
{
    const World *w = al->w;
    const RequestOutcome *o = &r->out;
    gboolean http = r->scheme == URL_HTTP || r->scheme == URL_HTTPS;
    memset(a, 0, sizeof *a);
    /* The writer only borrows: the strings stay the request's and ours. */
#define SET(field, value) (a->f[(field)] = (char *)(value))

    /* START_TIME: when the client sent it (replay sends it then again). */
    access_log_format_time(ACCESS_LOG_EPOCH_UNIX * 1000 + o->sent / SIM_MS,
                           al->start, sizeof al->start);
    SET(ACCESS_LOG_START_TIME, al->start);
    if (http) {
        gboolean h2 = r->dec != NULL && g_strcmp0(r->dec->alpn, "h2") == 0;
        SET(ACCESS_LOG_METHOD, r->method);
        SET(ACCESS_LOG_PATH, r->path);
        SET(ACCESS_LOG_PROTOCOL, h2 ? "HTTP/2" : "HTTP/1.1");
        SET(ACCESS_LOG_AUTHORITY, r->authority);
    }
    g_snprintf(al->code, sizeof al->code, "%d",
               o->kind == OUTCOME_RESPONSE ? o->status : 0);
    SET(ACCESS_LOG_RESPONSE_CODE, al->code);
    SET(ACCESS_LOG_RESPONSE_FLAGS, o->flags != NULL ? o->flags : "-");
    SET(ACCESS_LOG_RESPONSE_CODE_DETAILS, code_details(o));
    if (o->kind == OUTCOME_FAILURE) {
        /* Our note (Envoy would not have logged a request that never
         * reached it): which step ended it and why. */
        g_snprintf(al->termination, sizeof al->termination, "sim_step%u_%s",
                   o->step, fail_reason_name(o->reason));
        SET(ACCESS_LOG_CONNECTION_TERMINATION_DETAILS, al->termination);
    }
    SET(ACCESS_LOG_BYTES_RECEIVED, "0");
    SET(ACCESS_LOG_BYTES_SENT, "0");
    g_snprintf(al->duration, sizeof al->duration, "%" G_GINT64_FORMAT,
               (o->done - o->sent) / SIM_MS);
    SET(ACCESS_LOG_DURATION, al->duration);
    if (http && o->kind == OUTCOME_RESPONSE && !o->from_gateway) {
        SimTime t = o->phase[PHASE_UPSTREAM] + o->phase[PHASE_APP_QUEUE] +
                    o->phase[PHASE_APP_SERVICE];
        g_snprintf(al->service, sizeof al->service, "%" G_GINT64_FORMAT,
                   t / SIM_MS);
        SET(ACCESS_LOG_UPSTREAM_SERVICE_TIME, al->service);
    }
    if (http) {
        SET(ACCESS_LOG_X_FORWARDED_FOR,
            kv_list_get(r->headers, "x-forwarded-for"));
        SET(ACCESS_LOG_USER_AGENT, kv_list_get(r->headers, "user-agent"));
        /* The id the app received (Envoy replaced the client's). */
        app_request_id(w->seed, r->id, al->request_id);
        SET(ACCESS_LOG_REQUEST_ID, al->request_id);
    }
    gboolean at_gateway = o->step >= 5;
    const PodState *gw = at_gateway ? &w->pods[r->gw_pod] : NULL;
    if (r->app_pod >= 0 && gw != NULL && r->dec != NULL && r->dec->cluster != NULL) {
        const K8sPod *pod = w->pods[r->app_pod].pod;
        g_snprintf(al->up_host, sizeof al->up_host, "%s:%d", pod->ip,
                   upstream_port(r->dec->cluster, pod));
        SET(ACCESS_LOG_UPSTREAM_HOST, al->up_host);
        /* An ephemeral port of Linux's default range, from the id. */
        g_snprintf(al->up_local, sizeof al->up_local, "%s:%u", gw->pod->ip,
                   (guint)(32768 + r->id % 28232));
        SET(ACCESS_LOG_UPSTREAM_LOCAL_ADDRESS, al->up_local);
    }
    SET(ACCESS_LOG_UPSTREAM_CLUSTER, o->cluster);
    if (gw != NULL) {
        g_snprintf(al->down_local, sizeof al->down_local, "%s:%d", gw->pod->ip,
                   r->gw_port);
    } else if (r->node_port != 0) {
        g_snprintf(al->down_local, sizeof al->down_local, "%s:%d",
                   w->nodes[r->node].node->ip, r->node_port);
    } else {
        g_snprintf(al->down_local, sizeof al->down_local, "%s:%d",
                   ACCESS_LOG_LB_ADDRESS, r->lb_port);
    }
    SET(ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS, al->down_local);
    if (r->client_ip[0] != '\0') {
        g_snprintf(al->down_remote, sizeof al->down_remote, "%s:%u",
                   r->client_ip, (guint)(32768 + (r->id * 7919) % 28232));
        SET(ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS, al->down_remote);
    }
    SET(ACCESS_LOG_REQUESTED_SERVER_NAME, r->sni);
    SET(ACCESS_LOG_ROUTE_NAME, o->route);
#undef SET
}

void access_log_write(AccessLog *al, const Request *r)
{
    g_return_if_fail(al != NULL && r != NULL && al->fp != NULL);
    AccessLogFields a;
    access_log_fields_for(al, r, &a);
    g_string_truncate(al->line, 0);
    access_log_append(al->line, al->fmt, &a);
    if (fwrite(al->line->str, 1, al->line->len, al->fp) != al->line->len &&
        al->write_errno == 0) {
        al->write_errno = errno != 0 ? errno : EIO;
    }
    al->n++;
}

void access_log_on_done(const Request *r, gpointer al)
{
    access_log_write(al, r);
}

guint64 access_log_n_lines(const AccessLog *al)
{
    return al->n;
}

static void writer_free(AccessLog *al)
{
    g_free(al->path);
    g_free(al->tmp);
    g_string_free(al->line, TRUE);
    g_free(al);
}

gboolean access_log_finish(AccessLog *al, GError **error)
{
    g_return_val_if_fail(al != NULL && al->fp != NULL, FALSE);
    int e = al->write_errno;
    if (fflush(al->fp) != 0 && e == 0) {
        e = errno;
    }
    if (fclose(al->fp) != 0 && e == 0) {
        e = errno;
    }
    al->fp = NULL;
    if (e != 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s:1:1: error: cannot write access log: %s", al->path,
                    g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

gboolean access_log_close(AccessLog *al, GError **error)
{
    g_return_val_if_fail(al != NULL, FALSE);
    if (al->fp != NULL && !access_log_finish(al, error)) {
        access_log_discard(al);
        return FALSE;
    }
    if (al->tmp != NULL && g_rename(al->tmp, al->path) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s:1:1: error: cannot rename %s into place: %s",
                    al->path, al->tmp, g_strerror(e));
        access_log_discard(al);
        return FALSE;
    }
    writer_free(al);
    return TRUE;
}

void access_log_discard(AccessLog *al)
{
    if (al == NULL) {
        return;
    }
    if (al->fp != NULL) {
        fclose(al->fp);
    }
    if (al->tmp != NULL) { /* a special file keeps what was written */
        g_remove(al->tmp);
    }
    writer_free(al);
}
