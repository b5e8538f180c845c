/* hist.h: a mergeable log-linear histogram of non-negative ns values, in the
 * manner of HdrHistogram. Models record latencies into it; the summary,
 * results.json and viz/ charts read percentiles and buckets back out. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Buckets: values 0..255 each have their own bucket (exact); above that,
 * every power of two [2^e, 2^(e+1)) is cut into 128 equal buckets, so a
 * bucket is at most 1/128 of its lower bound wide and its midpoint is within
 * 1/256 (0.39%) of any value in it. This covers every non-negative gint64,
 * so nothing is clamped at the top. Rows of 128 counters (1 KiB) are
 * allocated the first time a value lands in them; an empty Hist is 576
 * bytes on x86-64, a Hist of latencies between 1us and 10s about 25 KiB. */
typedef struct _Hist Hist;

#define HIST_ERROR (hist_error_quark())
GQuark hist_error_quark(void);

typedef enum {
    HIST_ERROR_PARSE, /* not text that hist_serialize() writes */
} HistError;

/* Returns: (transfer full) an empty histogram; free with hist_free(). */
Hist *hist_new(void);
/* Frees @h; NULL is a no-op. */
void hist_free(Hist *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Hist, hist_free)

/* Counts one @v (< 0 counts as 0). O(1); allocates only when @v is the first
 * value in its power of two. */
void hist_record(Hist *h, gint64 v);
/* Counts @v @n times; @n == 0 changes nothing. */
void hist_record_n(Hist *h, gint64 v, guint64 n);
/* hist_record(@hs[i], @v) for each of the @n histograms: one outcome
 * lands in several (all, its second, its route, its traffic), and where
 * it lands is worked out once. */
void hist_record_each(Hist *const *hs, guint n, gint64 v);

/* Adds @src's counts into @dst. Exact: afterwards every query on @dst
 * answers as if @dst had recorded all of @src's values too. @src is
 * borrowed and must not be @dst. */
void hist_merge(Hist *dst, const Hist *src);

/* Back to empty; keeps its rows, so refilling it does not allocate. */
void hist_reset(Hist *h);

/* Values recorded. */
guint64 hist_count(const Hist *h);
/* Exact smallest and largest values recorded; 0 when empty. */
gint64 hist_min(const Hist *h);
gint64 hist_max(const Hist *h);
/* Exact mean (a 128-bit integer sum over the count, rounded once to a
 * double); 0 when empty. */
double hist_mean(const Hist *h);

/* The value at percentile @p in [0, 100], nearest-rank: the smallest
 * recorded value v such that at least ceil(@p / 100 * count) values are
 * <= v, reported as the midpoint of v's bucket clamped into [min, max]
 * (so within 0.39% of v, exact below 256, exact at p = 0 and p = 100).
 * 0 when empty. Cost: O(buckets), at most 7296. */
gint64 hist_percentile(const Hist *h, double p);

/* The number of non-empty buckets. O(1). */
gsize hist_n_buckets(const Hist *h);
/* The @i-th non-empty bucket in increasing order: every value in
 * [*@lo, *@hi] lands there, and *@count were recorded. Returns FALSE when
 * @i >= hist_n_buckets(). Out pointers may be NULL. Cost: O(57 + 128), so
 * walking all buckets for a CDF chart is linear in their number. */
gboolean
hist_bucket(const Hist *h, gsize i, gint64 *lo, gint64 *hi, guint64 *count);

/* One line of text, exact, to merge histograms across processes:
 * "v1 MIN MAX SUM COUNT" then, if not empty, " IDX:N,IDX:N,..." with bucket
 * indexes increasing (the layout above, 128 per row; "v1" names it).
 * Returns: (transfer full) free with g_free(). */
char *hist_serialize(const Hist *h);

/* Reads hist_serialize()'s text back, checking that it is consistent
 * (counts add up, min and max fall in the first and last buckets).
 * Returns: (transfer full) a new Hist, or NULL with @error set
 * (HIST_ERROR_PARSE). @text is borrowed. */
Hist *hist_deserialize(const char *text, GError **error);

G_END_DECLS
