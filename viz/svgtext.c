/* svgtext.c: an SVG picture's strings as <use>s of glyph outlines we
 * format ourselves, kept for the process (see svgtext.h for why). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "viz/svgtext-private.h"
#include "viz/svgtext.h"

/* ---- numbers ------------------------------------------------------------- */

/* Appends @n bytes at @p: in place while @s has room, which it nearly
 * always has (g_string_append_len() costs ~150 instructions a call). */
static inline void put_bytes(GString *s, const char *p, gsize n)
{
    if (s->len + n < s->allocated_len) {
        memcpy(s->str + s->len, p, n);
        s->len += n;
        s->str[s->len] = '\0';
    } else {
        g_string_append_len(s, p, (gssize)n);
    }
}

#define put_literal(s, lit) put_bytes((s), "" lit, sizeof(lit) - 1)

/* @v rounded to @decimals (<= 8) places, trailing zeros dropped, as
 * cairo's SVG surface writes them but without printf: integers only, into
 * a buffer appended once (a tenth of g_string_append_printf()'s cost). */
static void put_num_any(GString *s, double v, guint decimals)
{
    static const double scale[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8 };
    double r = v * scale[decimals];
    gboolean neg = r < 0;
    guint64 n = (guint64)((neg ? -r : r) + 0.5);
    guint64 one = (guint64)scale[decimals];
    guint64 ip = n / one, fp = n % one;
    char buf[48];
    char *end = buf + sizeof buf, *p = end;
    if (fp != 0) {
        guint k = decimals;
        while (fp % 10 == 0) {
            fp /= 10;
            k--;
        }
        while (k-- > 0) {
            *--p = (char)('0' + fp % 10);
            fp /= 10;
        }
        *--p = '.';
    }
    do {
        *--p = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip > 0);
    if (neg && n != 0) {
        *--p = '-';
    }
    put_bytes(s, p, (gsize)(end - p));
}

/* What put_num_any() writes after the integer part of f / 1024 (f <
 * 1024) to six places: "" for 0, ".5", ".000977". Why: every number of a
 * glyph outline is a multiple of 1/256 (cairo's 24.8 fixed point) and
 * every glyph position one of 1/1024 (pango units) off a whole or 1/256
 * pixel, so nearly all numbers written are q + f / 1024, whose decimals
 * can be looked up instead of worked out digit by digit. */
typedef struct {
    char s[8]; /* NUL-terminated */
    guint8 n;  /* strlen(s) */
} Decimals;

static gpointer decimals_init(gpointer data)
{
    Decimals *t = data;
    for (guint f = 0; f < 1024; f++) {
        /* f * 976.5625 rounded half up: put_num_any()'s n % 1e6. */
        guint fp = (f * 15625 + 8) >> 4, k = 6;
        if (fp == 0) {
            continue; /* "" */
        }
        while (fp % 10 == 0) {
            fp /= 10;
            k--;
        }
        t[f].s[0] = '.';
        t[f].n = (guint8)(k + 1);
        for (; k > 0; k--) {
            t[f].s[k] = (char)('0' + fp % 10);
            fp /= 10;
        }
    }
    return t;
}

/* @v as put_num_any() writes it, looked up (Decimals) when @decimals is 6
 * and @v is a multiple of 1/1024: the same text for a seventh of the
 * instructions. Only for |v * 1024| < 2^39: there put_num_any()'s
 * v * 1e6 (t * 15625 / 16) fits the 53 bits of a double, and so does its
 * + 0.5, so it rounds once, as the table does. Past 2^53 / 15625 (about
 * 2^39.07, |v| ~ 5.6e8, far beyond any picture) it rounds twice and can
 * differ in the last digit, first at t = 576460752319. */
static void put_num(GString *s, double v, guint decimals)
{
    double t = v * 1024.0; /* exact: a power of two */
    if (decimals != 6 || !(fabs(t) < 0x1p39) || t != (double)(gint64)t) {
        put_num_any(s, v, decimals);
        return;
    }
    static Decimals table[1024];
    static GOnce once = G_ONCE_INIT;
    const Decimals *dec = g_once(&once, decimals_init, table);
    gboolean neg = t < 0;
    guint64 k = (guint64)(neg ? -t : t);
    guint64 ip = k >> 10;
    const Decimals *frac = &dec[k & 1023];
    char buf[48];
    char *end = buf + sizeof buf, *p = end;
    do {
        *--p = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip > 0);
    if (neg && k != 0) {
        *--p = '-';
    }
    put_bytes(s, p, (gsize)(end - p));
    put_bytes(s, frac->s, frac->n);
}

void viz_svg_text__put_num(GString *s, double v, guint decimals)
{
    put_num(s, v, decimals);
}

void viz_svg_text__put_num_any(GString *s, double v, guint decimals)
{
    put_num_any(s, v, decimals);
}

/* ---- outlines, kept for the process -------------------------------------- */

typedef struct {
    cairo_scaled_font_t *font; /* a reference */
    gulong glyph;              /* the font's glyph index */
    char *d;                   /* its outline as SVG path data, "" if none */
} Outline;

static GHashTable *outlines; /* Outline* -> itself, by font and glyph */
static cairo_t *outline_cr;  /* where glyph paths are made (1x1 image) */

static guint outline_hash(gconstpointer p)
{
    const Outline *o = p;
    return g_direct_hash(o->font) * 31u + (guint)o->glyph;
}

static gboolean outline_equal(gconstpointer a, gconstpointer b)
{
    const Outline *x = a, *y = b;
    return x->font == y->font && x->glyph == y->glyph;
}

static void outline_free(gpointer p)
{
    Outline *o = p;
    cairo_scaled_font_destroy(o->font);
    g_free(o->d);
    g_free(o);
}

/* Path data of @path. Its points are cairo's 24.8 fixed-point numbers,
 * written to six places like cairo's own. */
static char *path_format(const cairo_path_t *path)
{
    GString *s = g_string_sized_new(512);
    for (int i = 0; i < path->num_data; i += path->data[i].header.length) {
        const cairo_path_data_t *d = &path->data[i];
        guint points = 0;
        switch (d->header.type) {
        case CAIRO_PATH_MOVE_TO:
            put_literal(s, "M");
            points = 1;
            break;
        case CAIRO_PATH_LINE_TO:
            put_literal(s, "L");
            points = 1;
            break;
        case CAIRO_PATH_CURVE_TO:
            put_literal(s, "C");
            points = 3;
            break;
        case CAIRO_PATH_CLOSE_PATH:
            put_literal(s, "Z");
            break;
        }
        for (guint k = 1; k <= points; k++) {
            put_literal(s, " ");
            put_num(s, d[k].point.x, 6);
            put_literal(s, " ");
            put_num(s, d[k].point.y, 6);
        }
        put_literal(s, " ");
    }
    if (s->len > 0) {
        g_string_truncate(s, s->len - 1);
    }
    return g_string_free(s, FALSE);
}

static char *outline_format(cairo_scaled_font_t *font, gulong glyph)
{
    if (outline_cr == NULL) {
        cairo_surface_t *surf =
            cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
        outline_cr = cairo_create(surf);
        cairo_surface_destroy(surf); /* the context keeps a reference */
    }
    cairo_set_scaled_font(outline_cr, font);
    cairo_new_path(outline_cr);
    cairo_glyph_t g = { .index = glyph, .x = 0, .y = 0 };
    cairo_glyph_path(outline_cr, &g, 1);
    cairo_path_t *path = cairo_copy_path(outline_cr);
    char *d =
        path->status == CAIRO_STATUS_SUCCESS ? path_format(path) : g_strdup("");
    cairo_path_destroy(path);
    cairo_new_path(outline_cr);
    return d;
}

static Outline *outline_get(cairo_scaled_font_t *font, gulong glyph)
{
    if (outlines == NULL) {
        outlines = g_hash_table_new_full(outline_hash, outline_equal, NULL,
                                         outline_free);
    }
    Outline probe = { .font = font, .glyph = glyph };
    Outline *o = g_hash_table_lookup(outlines, &probe);
    if (o == NULL) {
        o = g_new0(Outline, 1);
        o->font = cairo_scaled_font_reference(font);
        o->glyph = glyph;
        o->d = outline_format(font, glyph);
        g_hash_table_add(outlines, o);
    }
    return o;
}

void viz_svg_text_release(void)
{
    g_clear_pointer(&outlines, g_hash_table_unref);
    g_clear_pointer(&outline_cr, cairo_destroy);
}

/* ---- one picture --------------------------------------------------------- */

struct VizSvgText {
    GHashTable *ids; /* Outline* -> its number in this picture + 1 */
    GPtrArray *used; /* Outline* (borrowed), by number */
    GPtrArray *runs; /* char*: each string's <g> of <use>s, drawing order */
};

VizSvgText *viz_svg_text_new(void)
{
    VizSvgText *t = g_new0(VizSvgText, 1);
    t->ids = g_hash_table_new(g_direct_hash, g_direct_equal);
    t->used = g_ptr_array_new();
    t->runs = g_ptr_array_new_with_free_func(g_free);
    return t;
}

void viz_svg_text_free(VizSvgText *t)
{
    if (t == NULL) {
        return;
    }
    g_hash_table_unref(t->ids);
    g_ptr_array_unref(t->used);
    g_ptr_array_unref(t->runs);
    g_free(t);
}

/* The picture's number for @o, given in order of first use. */
static guint glyph_number(VizSvgText *t, Outline *o)
{
    gpointer v = g_hash_table_lookup(t->ids, o);
    if (v == NULL) {
        g_ptr_array_add(t->used, o);
        v = GUINT_TO_POINTER(t->used->len);
        g_hash_table_insert(t->ids, o, v);
    }
    return GPOINTER_TO_UINT(v) - 1;
}

/* TRUE when every glyph of @layout is a font's own, in a cairo font. */
static gboolean layout_plain(PangoLayout *layout)
{
    gboolean ok = TRUE;
    PangoLayoutIter *it = pango_layout_get_iter(layout);
    do {
        PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);
        if (run == NULL) {
            continue;
        }
        ok = PANGO_IS_CAIRO_FONT(run->item->analysis.font);
        for (int i = 0; ok && i < run->glyphs->num_glyphs; i++) {
            ok = !(run->glyphs->glyphs[i].glyph & PANGO_GLYPH_UNKNOWN_FLAG);
        }
    } while (ok && pango_layout_iter_next_run(it));
    pango_layout_iter_free(it);
    return ok;
}

static void put_use(GString *g, guint number, double x, double y)
{
    put_literal(g, "  <use xlink:href=\"#t");
    put_num(g, number, 0);
    put_literal(g, "\" x=\"");
    put_num(g, x, 6);
    put_literal(g, "\" y=\"");
    put_num(g, y, 6);
    put_literal(g, "\"/>\n");
}

/* The glyphs of one run, placed as pango's cairo renderer places them. */
static void run_add(VizSvgText *t,
                    GString *g,
                    PangoLayoutIter *it,
                    PangoLayoutRun *run,
                    double x,
                    double y)
{
    PangoRectangle log;
    pango_layout_iter_get_run_extents(it, NULL, &log);
    int baseline = pango_layout_iter_get_baseline(it);
    cairo_scaled_font_t *font = pango_cairo_font_get_scaled_font(
        PANGO_CAIRO_FONT(run->item->analysis.font));
    int at = log.x;
    for (int i = 0; i < run->glyphs->num_glyphs; i++) {
        const PangoGlyphInfo *gi = &run->glyphs->glyphs[i];
        if (gi->glyph != PANGO_GLYPH_EMPTY) {
            Outline *o = outline_get(font, gi->glyph);
            if (o->d[0] != '\0') { /* a space draws nothing */
                put_use(g, glyph_number(t, o),
                        x + (double)(at + gi->geometry.x_offset) / PANGO_SCALE,
                        y + (double)(baseline + gi->geometry.y_offset) /
                                PANGO_SCALE);
            }
        }
        at += gi->geometry.width;
    }
}

gboolean viz_svg_text_add(VizSvgText *t,
                          PangoLayout *layout,
                          double x,
                          double y,
                          VizColor c,
                          const cairo_matrix_t *m)
{
    g_return_val_if_fail(t != NULL && layout != NULL, FALSE);
    if (!layout_plain(layout)) {
        return FALSE;
    }
    GString *g = g_string_new("<g style=\"fill:rgb(");
    put_num(g, c.r * 100, 6);
    g_string_append(g, "%,");
    put_num(g, c.g * 100, 6);
    g_string_append(g, "%,");
    put_num(g, c.b * 100, 6);
    g_string_append(g, "%);fill-opacity:1;\"");
    if (m != NULL && (m->xx != 1 || m->yx != 0 || m->xy != 0 || m->yy != 1 ||
                      m->x0 != 0 || m->y0 != 0)) {
        const double v[6] = { m->xx, m->yx, m->xy, m->yy, m->x0, m->y0 };
        g_string_append(g, " transform=\"matrix(");
        for (guint i = 0; i < 6; i++) {
            put_num(g, v[i], 6);
            g_string_append(g, i < 5 ? "," : ")\"");
        }
    }
    g_string_append(g, ">\n");
    PangoLayoutIter *it = pango_layout_get_iter(layout);
    do {
        PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);
        if (run != NULL) {
            run_add(t, g, it, run, x, y);
        }
    } while (pango_layout_iter_next_run(it));
    pango_layout_iter_free(it);
    g_string_append(g, "</g>");
    g_ptr_array_add(t->runs, g_string_free(g, FALSE));
    return TRUE;
}

/* The element of @svg around the marker at @hit: from its '<' to its '>'. */
static gboolean marker_element(
    const GByteArray *svg, gsize hit, gsize from, gsize *start, gsize *end)
{
    const guint8 *d = svg->data;
    gsize s = hit;
    while (s > from && d[s] != '<') {
        s--;
    }
    const guint8 *gt = memchr(d + hit, '>', svg->len - hit);
    if (d[s] != '<' || gt == NULL) {
        return FALSE;
    }
    *start = s;
    *end = (gsize)(gt - d) + 1;
    return TRUE;
}

gboolean viz_svg_text_finish(VizSvgText *t, GByteArray *svg, GString *defs)
{
    g_return_val_if_fail(t != NULL && svg != NULL && defs != NULL, FALSE);
    const gsize mlen = strlen(VIZ_SVG_TEXT_MARKER_CSS);
    g_autoptr(GByteArray) out = g_byte_array_sized_new(svg->len + svg->len / 2);
    gsize from = 0;
    guint k = 0;
    for (;;) {
        const char *rest = (const char *)svg->data + from;
        const char *hit = g_strstr_len(rest, (gssize)(svg->len - from),
                                       VIZ_SVG_TEXT_MARKER_CSS);
        if (hit == NULL) {
            break;
        }
        gsize start, end;
        gsize at = (gsize)(hit - (const char *)svg->data);
        if (k == t->runs->len || !marker_element(svg, at, from, &start, &end)) {
            return FALSE;
        }
        g_byte_array_append(out, svg->data + from, (guint)(start - from));
        const char *run = g_ptr_array_index(t->runs, k++);
        g_byte_array_append(out, (const guint8 *)run, (guint)strlen(run));
        from = MAX(end, at + mlen);
    }
    if (k != t->runs->len) {
        return FALSE;
    }
    g_byte_array_append(out, svg->data + from, (guint)(svg->len - from));
    g_byte_array_set_size(svg, 0);
    g_byte_array_append(svg, out->data, out->len);
    if (t->used->len == 0) {
        return TRUE;
    }
    g_string_append(defs, "\n<defs>\n");
    for (guint i = 0; i < t->used->len; i++) {
        const Outline *o = g_ptr_array_index(t->used, i);
        g_string_append(defs, "<symbol overflow=\"visible\" id=\"t");
        put_num(defs, i, 0);
        g_string_append(defs, "\">\n<path style=\"stroke:none;\" d=\"");
        g_string_append(defs, o->d);
        g_string_append(defs, "\"/>\n</symbol>\n");
    }
    g_string_append(defs, "</defs>");
    return TRUE;
}
