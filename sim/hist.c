/* hist.c: the log-linear histogram of hist.h. Layout: row 0 holds values
 * 0..127, row r >= 1 holds [128 << (r-1), 256 << (r-1)) in 128 buckets of
 * width 1 << (r-1); a bucket's global index is row * 128 + sub. */
#include "sim/hist.h"

#include <math.h>
#include <string.h>

#ifndef __SIZEOF_INT128__
#error "sim/hist.c needs unsigned __int128 (gcc or clang on a 64-bit target)"
#endif

#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS) /* buckets per row */
#define HIST_ROWS     57                    /* row 56 ends at 2^63 - 1 */
#define HIST_N_INDEX  (HIST_ROWS * HIST_SUB)

typedef unsigned __int128 HistSum;

struct _Hist {
    guint64 count;                  /* values recorded */
    gint64 min;                     /* smallest; G_MAXINT64 when empty */
    gint64 max;                     /* largest; 0 when empty */
    HistSum sum;                    /* exact sum of values recorded */
    guint32 n_nonempty;             /* buckets with a count > 0 */
    guint8 row_nonempty[HIST_ROWS]; /* the same per row, 0..128 */
    guint64 *rows[HIST_ROWS];       /* HIST_SUB counts each, or NULL until
                                       a value first lands in the row */
};

GQuark hist_error_quark(void)
{
    return g_quark_from_static_string("hist-error-quark");
}

/* Where @v (>= 0) is counted. */
static inline void hist_locate(guint64 v, guint *row, guint *sub)
{
    if (v < HIST_SUB) {
        *row = 0;
        *sub = (guint)v;
        return;
    }
    guint e = 63u - (guint)__builtin_clzll(v); /* v in [2^e, 2^(e+1)) */
    *row = e - (HIST_SUB_BITS - 1);
    *sub = (guint)(v >> (e - HIST_SUB_BITS)) - HIST_SUB;
}

static void hist_bounds(guint row, guint sub, gint64 *lo, gint64 *hi)
{
    if (row == 0) {
        *lo = *hi = sub;
        return;
    }
    guint shift = row - 1;
    guint64 l = (guint64)(HIST_SUB + sub) << shift;
    *lo = (gint64)l;
    *hi = (gint64)(l + ((G_GUINT64_CONSTANT(1) << shift) - 1));
}

Hist *hist_new(void)
{
    Hist *h = g_new0(Hist, 1);
    h->min = G_MAXINT64;
    return h;
}

void hist_free(Hist *h)
{
    if (h == NULL) {
        return;
    }
    for (guint r = 0; r < HIST_ROWS; r++) {
        g_free(h->rows[r]);
    }
    g_free(h);
}

static guint64 *hist_row(Hist *h, guint row)
{
    if (G_UNLIKELY(h->rows[row] == NULL)) {
        h->rows[row] = g_new0(guint64, HIST_SUB);
    }
    return h->rows[row];
}

/* Counts @v (>= 0, in cell @row/@sub) @n times into @h. */
static inline void
hist_add(Hist *h, guint row, guint sub, gint64 v, guint64 n)
{
    guint64 *cell = &hist_row(h, row)[sub];
    if (*cell == 0) {
        h->row_nonempty[row]++;
        h->n_nonempty++;
    }
    *cell += n;
    h->count += n;
    h->sum += (HistSum)(guint64)v * n;
    if (v < h->min) {
        h->min = v;
    }
    if (v > h->max) {
        h->max = v;
    }
}

void hist_record_n(Hist *h, gint64 v, guint64 n)
{
    g_return_if_fail(h != NULL);
    if (n == 0) {
        return;
    }
    if (v < 0) {
        v = 0;
    }
    guint row, sub;
    hist_locate((guint64)v, &row, &sub);
    hist_add(h, row, sub, v, n);
}

void hist_record(Hist *h, gint64 v)
{
    hist_record_n(h, v, 1);
}

void hist_record_each(Hist *const *hs, guint n, gint64 v)
{
    g_return_if_fail(hs != NULL || n == 0);
    if (v < 0) {
        v = 0;
    }
    guint row, sub;
    hist_locate((guint64)v, &row, &sub);
    for (guint i = 0; i < n; i++) {
        hist_add(hs[i], row, sub, v, 1);
    }
}

void hist_merge(Hist *dst, const Hist *src)
{
    g_return_if_fail(dst != NULL && src != NULL);
    g_return_if_fail(dst != src);
    for (guint r = 0; r < HIST_ROWS; r++) {
        if (src->row_nonempty[r] == 0) {
            continue;
        }
        guint64 *d = hist_row(dst, r);
        const guint64 *s = src->rows[r];
        for (guint i = 0; i < HIST_SUB; i++) {
            if (s[i] != 0 && d[i] == 0) {
                dst->row_nonempty[r]++;
                dst->n_nonempty++;
            }
            d[i] += s[i];
        }
    }
    dst->count += src->count;
    dst->sum += src->sum;
    dst->min = MIN(dst->min, src->min);
    dst->max = MAX(dst->max, src->max);
}

void hist_reset(Hist *h)
{
    g_return_if_fail(h != NULL);
    for (guint r = 0; r < HIST_ROWS; r++) {
        if (h->rows[r] != NULL) {
            memset(h->rows[r], 0, HIST_SUB * sizeof(guint64));
        }
    }
    memset(h->row_nonempty, 0, sizeof h->row_nonempty);
    h->n_nonempty = 0;
    h->count = 0;
    h->sum = 0;
    h->min = G_MAXINT64;
    h->max = 0;
}

guint64 hist_count(const Hist *h)
{
    g_return_val_if_fail(h != NULL, 0);
    return h->count;
}

gint64 hist_min(const Hist *h)
{
    g_return_val_if_fail(h != NULL, 0);
    return h->count == 0 ? 0 : h->min;
}

gint64 hist_max(const Hist *h)
{
    g_return_val_if_fail(h != NULL, 0);
    return h->max;
}

double hist_mean(const Hist *h)
{
    g_return_val_if_fail(h != NULL, 0.0);
    if (h->count == 0) {
        return 0.0;
    }
    /* Quotient and remainder first, so only the final division rounds. */
    HistSum q = h->sum / h->count;
    guint64 rem = (guint64)(h->sum % h->count);
    return (double)q + (double)rem / (double)h->count;
}

gint64 hist_percentile(const Hist *h, double p)
{
    g_return_val_if_fail(h != NULL, 0);
    g_return_val_if_fail(p >= 0.0 && p <= 100.0, 0);
    if (h->count == 0) {
        return 0;
    }
    if (p == 0.0) {
        return h->min;
    }
    if (p == 100.0) {
        return h->max;
    }
    guint64 rank = (guint64)ceil(p / 100.0 * (double)h->count);
    rank = CLAMP(rank, 1, h->count);
    guint64 seen = 0;
    for (guint r = 0; r < HIST_ROWS; r++) {
        if (h->row_nonempty[r] == 0) {
            continue;
        }
        for (guint i = 0; i < HIST_SUB; i++) {
            seen += h->rows[r][i];
            if (seen >= rank) {
                gint64 lo, hi;
                hist_bounds(r, i, &lo, &hi);
                return CLAMP(lo + (hi - lo) / 2, h->min, h->max);
            }
        }
    }
    g_return_val_if_reached(h->max);
}

gsize hist_n_buckets(const Hist *h)
{
    g_return_val_if_fail(h != NULL, 0);
    return h->n_nonempty;
}

gboolean
hist_bucket(const Hist *h, gsize i, gint64 *lo, gint64 *hi, guint64 *count)
{
    g_return_val_if_fail(h != NULL, FALSE);
    if (i >= h->n_nonempty) {
        return FALSE;
    }
    for (guint r = 0; r < HIST_ROWS; r++) {
        if (i >= h->row_nonempty[r]) {
            i -= h->row_nonempty[r];
            continue;
        }
        for (guint s = 0; s < HIST_SUB; s++) {
            if (h->rows[r][s] == 0) {
                continue;
            }
            if (i > 0) {
                i--;
                continue;
            }
            gint64 l, u;
            hist_bounds(r, s, &l, &u);
            if (lo != NULL) {
                *lo = l;
            }
            if (hi != NULL) {
                *hi = u;
            }
            if (count != NULL) {
                *count = h->rows[r][s];
            }
            return TRUE;
        }
    }
    g_return_val_if_reached(FALSE);
}

static void hist_append_sum(GString *out, HistSum v)
{
    char buf[48]; /* 2^128 has 39 digits */
    gsize i = sizeof buf;
    buf[--i] = '\0';
    do {
        buf[--i] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    g_string_append(out, buf + i);
}

char *hist_serialize(const Hist *h)
{
    g_return_val_if_fail(h != NULL, NULL);
    GString *out = g_string_new("v1 ");
    g_string_append_printf(out, "%" G_GINT64_FORMAT " %" G_GINT64_FORMAT " ",
                           hist_min(h), hist_max(h));
    hist_append_sum(out, h->sum);
    g_string_append_printf(out, " %" G_GUINT64_FORMAT, h->count);
    char sep = ' ';
    for (guint r = 0; r < HIST_ROWS; r++) {
        if (h->row_nonempty[r] == 0) {
            continue;
        }
        for (guint s = 0; s < HIST_SUB; s++) {
            if (h->rows[r][s] != 0) {
                g_string_append_printf(out, "%c%u:%" G_GUINT64_FORMAT, sep,
                                       r * HIST_SUB + s, h->rows[r][s]);
                sep = ',';
            }
        }
    }
    return g_string_free(out, FALSE);
}

static Hist *hist_parse_error(GError **error, const char *what)
{
    g_set_error(error, HIST_ERROR, HIST_ERROR_PARSE,
                "invalid histogram: %s (expected \"v1 MIN MAX SUM COUNT "
                "[IDX:N,...]\")",
                what);
    return NULL;
}

static gboolean hist_parse_sum(const char *s, HistSum *out)
{
    HistSum v = 0;
    const HistSum max = ~(HistSum)0;
    if (*s == '\0') {
        return FALSE;
    }
    for (; *s != '\0'; s++) {
        if (!g_ascii_isdigit(*s)) {
            return FALSE;
        }
        guint d = (guint)(*s - '0');
        if (v > (max - d) / 10) {
            return FALSE;
        }
        v = v * 10 + d;
    }
    *out = v;
    return TRUE;
}

static gboolean hist_parse_u64(const char *s, guint64 max, guint64 *out)
{
    /* g_ascii_string_to_unsigned() takes a leading '+' or '-'; we do not. */
    return g_ascii_isdigit(s[0]) &&
           g_ascii_string_to_unsigned(s, 10, 0, max, out, NULL);
}

Hist *hist_deserialize(const char *text, GError **error)
{
    g_return_val_if_fail(text != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    g_auto(GStrv) fields = g_strsplit(text, " ", -1);
    guint n_fields = g_strv_length(fields);
    if (n_fields < 5 || n_fields > 6) {
        return hist_parse_error(error, "wrong number of fields");
    }
    if (strcmp(fields[0], "v1") != 0) {
        return hist_parse_error(error, "unknown version");
    }
    guint64 min, max, count;
    HistSum sum;
    if (!hist_parse_u64(fields[1], G_MAXINT64, &min) ||
        !hist_parse_u64(fields[2], G_MAXINT64, &max) ||
        !hist_parse_sum(fields[3], &sum) ||
        !hist_parse_u64(fields[4], G_MAXUINT64, &count)) {
        return hist_parse_error(error, "bad MIN, MAX, SUM or COUNT");
    }

    g_autoptr(Hist) h = hist_new();
    if (n_fields == 5) {
        if (count != 0 || min != 0 || max != 0 || sum != 0) {
            return hist_parse_error(error, "no buckets but not empty");
        }
        return g_steal_pointer(&h);
    }

    g_auto(GStrv) cells = g_strsplit(fields[5], ",", -1);
    guint64 total = 0;
    gint64 first_idx = -1;
    guint64 idx = 0;
    for (guint i = 0; cells[i] != NULL; i++) {
        char *colon = strchr(cells[i], ':');
        if (colon == NULL) {
            return hist_parse_error(error, "bucket without ':'");
        }
        *colon = '\0';
        guint64 n;
        guint64 prev = idx;
        if (!hist_parse_u64(cells[i], HIST_N_INDEX - 1, &idx) ||
            !hist_parse_u64(colon + 1, G_MAXUINT64, &n) || n == 0) {
            return hist_parse_error(error, "bad bucket index or count");
        }
        if (i > 0 && idx <= prev) {
            return hist_parse_error(error, "bucket indexes not increasing");
        }
        if (!g_uint64_checked_add(&total, total, n)) {
            return hist_parse_error(error, "counts overflow");
        }
        guint row = (guint)(idx / HIST_SUB);
        hist_row(h, row)[idx % HIST_SUB] = n;
        h->row_nonempty[row]++;
        h->n_nonempty++;
        if (first_idx < 0) {
            first_idx = (gint64)idx;
        }
    }
    guint min_row, min_sub, max_row, max_sub;
    hist_locate(min, &min_row, &min_sub);
    hist_locate(max, &max_row, &max_sub);
    if (total != count || min_row * HIST_SUB + min_sub != (guint64)first_idx ||
        max_row * HIST_SUB + max_sub != idx) {
        return hist_parse_error(error, "MIN, MAX or COUNT disagree with "
                                       "the buckets");
    }
    if (sum < (HistSum)min * count || sum > (HistSum)max * count) {
        return hist_parse_error(error, "SUM outside MIN * COUNT .. MAX * "
                                       "COUNT");
    }
    h->count = count;
    h->min = (gint64)min;
    h->max = (gint64)max;
    h->sum = sum;
    return g_steal_pointer(&h);
}
