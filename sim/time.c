/* time.c: duration and rate parsing and printing for SimTime (see time.h).
 * Exact integer arithmetic throughout, so a scenario's "0.1s" is 1e8 ns. */
#include "sim/time.h"

#include <math.h>
#include <string.h>

#ifndef __SIZEOF_INT128__
#error "sim/time.c needs unsigned __int128 (gcc or clang on a 64-bit target)"
#endif

typedef struct {
    const char *name; /* as written after the number */
    guint64 ns;       /* its length in nanoseconds */
} DurationUnit;

/* Go's time.ParseDuration table, including both spellings of micro
 * (U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU). */
static const DurationUnit duration_units[] = {
    { "ns", 1 },
    { "us", 1000 },
    { "\xc2\xb5s", 1000 },
    { "\xce\xbcs", 1000 },
    { "ms", 1000000 },
    { "s", 1000000000 },
    { "m", G_GUINT64_CONSTANT(60000000000) },
    { "h", G_GUINT64_CONSTANT(3600000000000) },
};

/* 10^18 is the largest power of ten below G_MAXUINT64 / 10, so the fraction
 * accumulator never overflows; later digits are below 1e-6 ns for any unit. */
#define FRACTION_SCALE_MAX G_GUINT64_CONSTANT(1000000000000000000)

static gboolean time_fail(char **err_msg, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static gboolean time_fail(char **err_msg, const char *fmt, ...)
{
    if (err_msg != NULL) {
        va_list ap;
        va_start(ap, fmt);
        *err_msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return FALSE;
}

static const DurationUnit *time_find_unit(const char *s, gsize len)
{
    for (gsize i = 0; i < G_N_ELEMENTS(duration_units); i++) {
        const char *name = duration_units[i].name;
        if (strlen(name) == len && memcmp(name, s, len) == 0) {
            return &duration_units[i];
        }
    }
    return NULL;
}

#define DURATION_HINT \
    "expected a number with a unit (ns, us, ms, s, m, h), e.g. 250ms"

gboolean sim_time_parse(const char *text, SimTime *out, char **err_msg)
{
    g_return_val_if_fail(text != NULL, FALSE);
    g_return_val_if_fail(out != NULL, FALSE);

    const char *p = text;
    if (*p == '-') {
        return time_fail(err_msg,
                         "invalid duration \"%s\": must not be negative", text);
    }
    if (*p == '+') {
        p++;
    }
    if (strcmp(p, "0") == 0) {
        *out = 0;
        return TRUE;
    }
    if (*p == '\0') {
        return time_fail(err_msg, "invalid duration \"%s\": " DURATION_HINT,
                         text);
    }

    guint64 total = 0;
    while (*p != '\0') {
        /* NUMBER: [digits][.digits], at least one digit on either side. */
        guint64 whole = 0;
        gboolean too_large = FALSE;
        const char *start = p;
        while (g_ascii_isdigit(*p)) {
            if (!g_uint64_checked_mul(&whole, whole, 10) ||
                !g_uint64_checked_add(&whole, whole, (guint64)(*p - '0'))) {
                too_large = TRUE;
            }
            p++;
        }
        gboolean have_digits = p > start;
        guint64 frac = 0;
        guint64 scale = 1;
        if (*p == '.') {
            p++;
            const char *frac_start = p;
            while (g_ascii_isdigit(*p)) {
                if (scale < FRACTION_SCALE_MAX) {
                    frac = frac * 10 + (guint64)(*p - '0');
                    scale *= 10;
                }
                p++;
            }
            have_digits = have_digits || p > frac_start;
        }
        if (!have_digits) {
            return time_fail(err_msg, "invalid duration \"%s\": " DURATION_HINT,
                             text);
        }

        /* UNIT: everything up to the next number. */
        const char *unit_start = p;
        while (*p != '\0' && *p != '.' && !g_ascii_isdigit(*p)) {
            p++;
        }
        if (p == unit_start) {
            return time_fail(
                err_msg,
                "invalid duration \"%s\": missing unit; " DURATION_HINT, text);
        }
        const DurationUnit *unit =
            time_find_unit(unit_start, (gsize)(p - unit_start));
        if (unit == NULL) {
            return time_fail(err_msg,
                             "invalid duration \"%s\": unknown unit "
                             "\"%.*s\"; " DURATION_HINT,
                             text, (int)(p - unit_start), unit_start);
        }

        guint64 part = 0;
        too_large = too_large || !g_uint64_checked_mul(&part, whole, unit->ns);
        if (frac > 0) {
            /* frac/scale < 1, so this adds at most unit->ns. */
            unsigned __int128 f = (unsigned __int128)frac * unit->ns;
            guint64 frac_ns = (guint64)((f + scale / 2) / scale);
            too_large =
                too_large || !g_uint64_checked_add(&part, part, frac_ns);
        }
        too_large = too_large || !g_uint64_checked_add(&total, total, part);
        if (too_large || total > (guint64)G_MAXINT64) {
            return time_fail(err_msg,
                             "invalid duration \"%s\": too large (at most "
                             "2562047h47m16.854775807s)",
                             text);
        }
    }
    *out = (SimTime)total;
    return TRUE;
}

char *sim_time_format(SimTime t)
{
    static const struct {
        guint64 ns;       /* unit length */
        guint digits;     /* decimals needed for an exact fraction */
        const char *name; /* suffix */
    } units[] = {
        { 1000000000, 9, "s" },
        { 1000000, 6, "ms" },
        { 1000, 3, "us" },
        { 1, 0, "ns" },
    };

    if (t == 0) {
        return g_strdup("0s");
    }
    const char *sign = t < 0 ? "-" : "";
    /* Unsigned negation, so G_MININT64 has a magnitude too. */
    guint64 mag = t < 0 ? (guint64)0 - (guint64)t : (guint64)t;
    gsize i = 0;
    while (mag < units[i].ns) {
        i++;
    }
    guint64 whole = mag / units[i].ns;
    guint64 frac = mag % units[i].ns;
    if (frac == 0) {
        return g_strdup_printf("%s%" G_GUINT64_FORMAT "%s", sign, whole,
                               units[i].name);
    }
    guint digits = units[i].digits;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    return g_strdup_printf("%s%" G_GUINT64_FORMAT ".%0*" G_GUINT64_FORMAT "%s",
                           sign, whole, (int)digits, frac, units[i].name);
}

double sim_time_to_ms(SimTime t)
{
    return (double)t / (double)SIM_MS;
}

#define RATE_HINT "expected NUMBER/UNIT with unit s, m or h, e.g. 200/s"

gboolean sim_rate_parse(const char *text, double *per_second, char **err_msg)
{
    g_return_val_if_fail(text != NULL, FALSE);
    g_return_val_if_fail(per_second != NULL, FALSE);

    if (text[0] == '-') {
        return time_fail(
            err_msg, "invalid rate \"%s\": must be greater than zero", text);
    }
    const char *slash = strchr(text, '/');
    if (slash == NULL) {
        return time_fail(err_msg, "invalid rate \"%s\": " RATE_HINT, text);
    }

    /* Check the digits ourselves: g_ascii_strtod() would also take "inf",
     * "nan", hex and exponents, none of which belong in a scenario. */
    guint n_digits = 0;
    guint n_dots = 0;
    for (const char *c = text; c < slash; c++) {
        if (g_ascii_isdigit(*c)) {
            n_digits++;
        } else if (*c == '.') {
            n_dots++;
        } else {
            n_digits = 0;
            break;
        }
    }
    if (n_digits == 0 || n_dots > 1) {
        return time_fail(err_msg, "invalid rate \"%s\": " RATE_HINT, text);
    }

    double per_unit_second;
    if (strcmp(slash + 1, "s") == 0) {
        per_unit_second = 1.0;
    } else if (strcmp(slash + 1, "m") == 0) {
        per_unit_second = 60.0;
    } else if (strcmp(slash + 1, "h") == 0) {
        per_unit_second = 3600.0;
    } else {
        return time_fail(err_msg,
                         "invalid rate \"%s\": unknown unit \"%s\"; " RATE_HINT,
                         text, slash + 1);
    }

    g_autofree char *number = g_strndup(text, (gsize)(slash - text));
    double value = g_ascii_strtod(number, NULL);
    if (!isfinite(value)) {
        return time_fail(err_msg, "invalid rate \"%s\": too large", text);
    }
    if (value <= 0.0) {
        return time_fail(
            err_msg, "invalid rate \"%s\": must be greater than zero", text);
    }
    *per_second = value / per_unit_second;
    return TRUE;
}
