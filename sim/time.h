/* time.h: simulated time as integer nanoseconds, and the parsers and printers
 * for Kubernetes-style durations ("250ms") and rates ("200/s"). Bottom of
 * scenario -> models -> sim: everything that speaks of time includes this. */
#pragma once

#include <math.h>

#include <glib.h>

G_BEGIN_DECLS

/* Nanoseconds since the start of the run. An integer, never a double, so
 * that equal times compare equal and ties fall to the queue's FIFO rule. */
typedef gint64 SimTime;

#define SIM_NS       ((SimTime)1)
#define SIM_US       ((SimTime)1000)
#define SIM_MS       ((SimTime)1000000)
#define SIM_S        ((SimTime)1000000000)
#define SIM_MIN      ((SimTime)60 * SIM_S)
#define SIM_TIME_MAX ((SimTime)G_MAXINT64)

/* llround(@x), the same for every @x, inline: a gap drawn as a double
 * becomes nanoseconds once per generated request, and libm's llround()
 * is a call and about 27 instructions. For 0 <= @x < 2^62 the integer
 * part is taken and the fraction, which x - trunc(x) gives exactly, is
 * compared with 0.5 (halves away from zero, as llround()); anything
 * else (negative, huge, NaN) goes to llround() itself. */
static inline gint64 sim_time_llround(double x)
{
    if (G_LIKELY(x >= 0.0 && x < 0x1p62)) {
        gint64 i = (gint64)x;
        return i + (x - (double)i >= 0.5 ? 1 : 0);
    }
    return llround(x);
}

/* Parses a duration the way Go's time.ParseDuration does (which is what
 * Kubernetes and Istio use): one or more NUMBER UNIT pairs, e.g. "250ms",
 * "1.5s", "2m30s"; units ns, us (also µs, μs), ms, s, m, h; "0" alone needs
 * no unit. A leading "+" is allowed; any "-" is an error (a negative duration
 * is never meaningful in a scenario). No whitespace, no exponents.
 *
 * Fractions are exact: digits are parsed as integers, so "0.1s" is exactly
 * 100000000 ns. A fraction finer than 1 ns rounds to the nearest ns (halves
 * up); fraction digits past the 18th are ignored. A sum above SIM_TIME_MAX
 * (about 292 years) is an error.
 *
 * Returns TRUE and sets *out, or FALSE, leaves *out alone and, if @err_msg is
 * not NULL, sets it to a one-line message quoting @text: (transfer full),
 * free with g_free(). @text is borrowed. */
gboolean sim_time_parse(const char *text, SimTime *out, char **err_msg);

/* The shortest exact text for @t that sim_time_parse() reads back to @t:
 * 0 -> "0s", 1500000000 -> "1.5s", 250000000 -> "250ms", 300000 -> "300us",
 * 1 -> "1ns". The unit is s when |t| >= 1s (never m or h, so every JSON
 * value has the same unit), else the largest of ms, us, ns that keeps the
 * integer part non-zero; trailing fraction zeros are dropped. Negative
 * values get a leading "-" (which sim_time_parse() refuses).
 * Returns: (transfer full) free with g_free(). */
char *sim_time_format(SimTime t);

/* @t in milliseconds, for charts and JSON; inexact above 2^53 ns. */
double sim_time_to_ms(SimTime t);

/* Parses a rate "NUMBER/UNIT" with UNIT s, m or h: "200/s", "10/m", "0.5/s",
 * "1000/h". NUMBER is decimal digits with an optional fraction. Zero or
 * negative rates are errors (a generator that never fires is written by
 * leaving it out). Returns TRUE and sets *per_second, or FALSE and sets
 * *err_msg as sim_time_parse() does. */
gboolean sim_rate_parse(const char *text, double *per_second, char **err_msg);

G_END_DECLS
