/* draw.c: the drawing kit of viz/: PNG and SVG from one drawing function,
 * pango text with fixed metrics, the Okabe-Ito palette, round ticks, and
 * the record of strings and boxes that tests read instead of pixels. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <cairo-svg.h>
#include <glib.h>

#include "sim/outfile.h"
#include "viz/draw.h"
#include "viz/png.h"
#include "viz/svgtext.h"

G_DEFINE_QUARK(viz - error - quark, viz_error)

gboolean viz_format_from_path(const char *path, VizFormat *out, GError **error)
{
    g_return_val_if_fail(path != NULL && out != NULL, FALSE);
    const char *dot = strrchr(path, '.');
    if (dot != NULL && g_ascii_strcasecmp(dot, ".png") == 0) {
        *out = VIZ_FORMAT_PNG;
        return TRUE;
    }
    if (dot != NULL && g_ascii_strcasecmp(dot, ".svg") == 0) {
        *out = VIZ_FORMAT_SVG;
        return TRUE;
    }
    g_set_error(error, VIZ_ERROR, VIZ_ERROR_FORMAT,
                "%s: the name must end in .svg or .png (the format follows "
                "the extension)",
                path);
    return FALSE;
}

const char *viz_format_extension(VizFormat f)
{
    return f == VIZ_FORMAT_SVG ? "svg" : "png";
}

/* ---- colours ------------------------------------------------------------- */

VizColor viz_color(guint i)
{
    static const guint32 hex[] = { 0x0072B2, 0xE69F00, 0x009E73, 0xD55E00,
                                   0xCC79A7, 0x56B4E9, 0xF0E442, 0x000000 };
    return VIZ_RGB(hex[i % G_N_ELEMENTS(hex)]);
}

void viz_set_color(cairo_t *cr, VizColor c, double alpha)
{
    if (alpha >= 1.0) {
        cairo_set_source_rgb(cr, c.r, c.g, c.b);
    } else {
        cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
    }
}

VizColor viz_tint(VizColor c, double t)
{
    VizColor out = { c.r + (1.0 - c.r) * t, c.g + (1.0 - c.g) * t,
                     c.b + (1.0 - c.b) * t };
    return out;
}

/* ---- the record ---------------------------------------------------------- */

void viz_item_free(gpointer p)
{
    VizItem *it = p;
    if (it == NULL) {
        return;
    }
    g_free(it->role);
    g_free(it->text);
    g_free(it);
}

gboolean viz_rect_intersects(const VizRect *a, const VizRect *b)
{
    /* Half a pixel of tolerance: anti-aliased edges that touch are fine. */
    const double eps = 0.5;
    return a->x + a->w > b->x + eps && b->x + b->w > a->x + eps &&
           a->y + a->h > b->y + eps && b->y + b->h > a->y + eps;
}

gboolean
viz_rect_contains(const VizRect *outer, const VizRect *inner, double slack)
{
    return inner->x >= outer->x - slack && inner->y >= outer->y - slack &&
           inner->x + inner->w <= outer->x + outer->w + slack &&
           inner->y + inner->h <= outer->y + outer->h + slack;
}

/* ---- the canvas ---------------------------------------------------------- */

/* The one pango context every canvas shares (NULL until the first).
 * Why one: pango caches fonts per context options, and asking fontconfig
 * for a font costs ~0.8M instructions (FcConfigSubstitute); a context per
 * canvas, its options merged from each surface's (image and SVG surfaces
 * differ), asked again for every font of every picture. Pango is not
 * thread-safe: canvases are made and used in one thread. */
static PangoContext *shared_pango;

static PangoContext *pango_shared(void)
{
    if (shared_pango != NULL) {
        return shared_pango;
    }
    PangoFontMap *map = pango_cairo_font_map_get_default();
    PangoContext *ctx = pango_font_map_create_context(map);
    /* No hinting and unhinted metrics: glyph advances are the font's own,
     * so a string measures the same on an image and an SVG surface, and
     * the layout does not depend on the format. Only these options: the
     * context is never updated from a surface. */
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(ctx, fo);
    cairo_font_options_destroy(fo);
    pango_cairo_context_set_resolution(ctx, 96.0);
    pango_context_set_round_glyph_positions(ctx, FALSE);
    shared_pango = ctx;
    return ctx;
}

VizCanvas *viz_canvas_new(cairo_t *cr, double width, double height)
{
    g_return_val_if_fail(cr != NULL, NULL);
    VizCanvas *cv = g_new0(VizCanvas, 1);
    cv->cr = cr;
    cv->width = width;
    cv->height = height;
    cv->pango = g_object_ref(pango_shared());
    cv->items = g_ptr_array_new_with_free_func(viz_item_free);
    cv->parents = g_array_new(FALSE, FALSE, sizeof(gint));
    return cv;
}

void viz_canvas_free(VizCanvas *cv)
{
    if (cv == NULL) {
        return;
    }
    g_object_unref(cv->pango);
    g_ptr_array_unref(cv->items);
    g_array_unref(cv->parents);
    g_free(cv);
}

VizCanvas *viz_canvas_new_measure(void)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(s);
    cairo_surface_destroy(s); /* cr keeps its reference */
    return viz_canvas_new(cr, 1, 1);
}

void viz_canvas_free_measure(VizCanvas *cv)
{
    if (cv == NULL) {
        return;
    }
    cairo_t *cr = cv->cr;
    viz_canvas_free(cv);
    cairo_destroy(cr);
}

static gint current_parent(const VizCanvas *cv)
{
    return cv->parents->len > 0
               ? g_array_index(cv->parents, gint, cv->parents->len - 1)
               : -1;
}

static gint record(VizCanvas *cv,
                   VizItemKind kind,
                   const char *role,
                   const char *text,
                   const VizRect *r,
                   gboolean elided)
{
    VizItem *it = g_new0(VizItem, 1);
    it->kind = kind;
    it->role = g_strdup(role != NULL ? role : "");
    it->text = g_strdup(text != NULL ? text : "");
    it->rect = *r;
    it->parent = current_parent(cv);
    it->elided = elided;
    g_ptr_array_add(cv->items, it);
    return (gint)cv->items->len - 1;
}

gint viz_record(VizCanvas *cv,
                VizItemKind kind,
                const char *role,
                const char *text,
                const VizRect *r)
{
    g_return_val_if_fail(cv != NULL && r != NULL, -1);
    return record(cv, kind, role, text, r, FALSE);
}

void viz_push_parent(VizCanvas *cv, gint parent)
{
    g_array_append_val(cv->parents, parent);
}

void viz_pop_parent(VizCanvas *cv)
{
    g_return_if_fail(cv->parents->len > 0);
    g_array_set_size(cv->parents, cv->parents->len - 1);
}

/* ---- text ---------------------------------------------------------------- */

/* Sets up @layout for @text in font @f.
 * Why one family, named as the font names itself: pango 1.50 measures a
 * font's metrics (which every layout asks for) by laying out a sample
 * sentence in a context of its own, with the font's own description
 * (pango_font_describe_with_absolute_size()). With "DejaVu Sans,sans-serif"
 * that description differed from ours, so every font was loaded twice:
 * fontconfig's substitution (~0.8M instructions) and sort again, ~1.6M a
 * font and 21 fonts a run. Named as the font names itself, the sample
 * finds ours loaded. No generic fallback is lost: fontconfig adds
 * sans-serif, and monospace for DejaVu Sans Mono (45-latin.conf). */
static void
layout_setup(PangoLayout *layout, const VizFont *f, const char *text)
{
    PangoFontDescription *d = pango_font_description_new();
    pango_font_description_set_family(d, f->mono ? "DejaVu Sans Mono"
                                                 : "DejaVu Sans");
    pango_font_description_set_weight(d, f->bold ? PANGO_WEIGHT_BOLD
                                                 : PANGO_WEIGHT_NORMAL);
    pango_font_description_set_absolute_size(d, f->size * PANGO_SCALE);
    pango_layout_set_font_description(layout, d);
    pango_font_description_free(d);
    if (f->max_width > 0) {
        pango_layout_set_width(layout, (int)(f->max_width * PANGO_SCALE));
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
        if (f->wrap && f->max_lines > 0) {
            pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
            pango_layout_set_height(layout, -f->max_lines);
        } else {
            pango_layout_set_ellipsize(layout, f->wrap ? PANGO_ELLIPSIZE_NONE
                                               : f->elide_end
                                                   ? PANGO_ELLIPSIZE_END
                                                   : PANGO_ELLIPSIZE_MIDDLE);
            /* -1 with an ellipsis: one line per paragraph, elided. */
            pango_layout_set_height(layout, -1);
        }
    } else {
        pango_layout_set_width(layout, -1);
        pango_layout_set_height(layout, -1);
        pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_NONE);
    }
    pango_layout_set_alignment(layout, f->align);
    pango_layout_set_text(layout, text, -1);
}

/* A string laid out in a font, kept for the process: a picture measures
 * its strings and draws them, once for the PNG and once for the SVG, and
 * the diagram measures them once more to lay itself out; pango's
 * itemizing, shaping and line breaking (~60,000 instructions a string)
 * now happen once per string and font. */
typedef struct {
    PangoLayout *layout; /* laid out in shared_pango, never changed */
    double x, y, w, h;   /* its logical extents, px */
    gboolean elided;     /* an ellipsis shows */
} Laid;

/* What of a VizFont shapes the layout (not its colour), zeroed padding
 * and all, followed in the key by the text. */
typedef struct {
    double size;
    double max_width;
    gint32 max_lines;
    gint32 align;
    guint8 bold, mono, wrap, elide_end;
} LaidKey;

static GHashTable *laid_strings; /* GBytes* (LaidKey, text) -> Laid* */

static void laid_free(gpointer p)
{
    Laid *l = p;
    g_object_unref(l->layout);
    g_free(l);
}

static GBytes *laid_key(const VizFont *f, const char *text)
{
    LaidKey k;
    memset(&k, 0, sizeof k);
    k.size = f->size;
    k.max_width = f->max_width;
    k.max_lines = f->max_lines;
    k.align = f->align;
    k.bold = f->bold != FALSE;
    k.mono = f->mono != FALSE;
    k.wrap = f->wrap != FALSE;
    k.elide_end = f->elide_end != FALSE;
    gsize n = strlen(text);
    guint8 *buf = g_malloc(sizeof k + n);
    memcpy(buf, &k, sizeof k);
    memcpy(buf + sizeof k, text, n);
    return g_bytes_new_take(buf, sizeof k + n);
}

/* @text laid out in @f (borrowed; lives until viz_fonts_release()). */
static const Laid *laid_get(const VizFont *f, const char *text)
{
    if (laid_strings == NULL) {
        laid_strings =
            g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                  (GDestroyNotify)g_bytes_unref, laid_free);
    }
    GBytes *key = laid_key(f, text);
    Laid *l = g_hash_table_lookup(laid_strings, key);
    if (l != NULL) {
        g_bytes_unref(key);
        return l;
    }
    l = g_new0(Laid, 1);
    l->layout = pango_layout_new(pango_shared());
    layout_setup(l->layout, f, text);
    PangoRectangle log;
    pango_layout_get_extents(l->layout, NULL, &log);
    l->x = (double)log.x / PANGO_SCALE;
    l->y = (double)log.y / PANGO_SCALE;
    l->w = (double)log.width / PANGO_SCALE;
    l->h = (double)log.height / PANGO_SCALE;
    l->elided = pango_layout_is_ellipsized(l->layout);
    g_hash_table_insert(laid_strings, key, l);
    return l;
}

void viz_text_size(
    VizCanvas *cv, const VizFont *f, const char *text, double *w, double *h)
{
    g_return_if_fail(cv != NULL && f != NULL && text != NULL);
    const Laid *l = laid_get(f, text);
    if (w != NULL) {
        *w = l->w;
    }
    if (h != NULL) {
        *h = l->h;
    }
}

/* On an SVG canvas, hands @layout, its origin at (x, y) in user units,
 * to svgtext.c and draws the marker that says where its glyphs go: the
 * whole page painted in the marker's colour, half transparent. Why a
 * paint: cairo never leaves one out, whatever the clip, and writes it as
 * a <rect> with six numbers, where a 1 px rectangle filled was a path
 * with fourteen (~2,500 instructions each through cairo's printf) and a
 * path to record first. Not opaque: cairo would drop everything drawn
 * before an opaque paint. FALSE when cairo is to draw the glyphs. Leaves
 * @c as the source, as drawing them would. */
static gboolean svg_text_show(
    VizCanvas *cv, PangoLayout *layout, double x, double y, VizColor c)
{
    if (cv->svg_text == NULL) {
        return FALSE;
    }
    /* The origin as pango's renderer takes it: cairo's current point,
     * which is rounded to 1/256 px. */
    cairo_t *cr = cv->cr;
    double ox, oy;
    cairo_move_to(cr, x, y);
    cairo_get_current_point(cr, &ox, &oy);
    cairo_new_path(cr);
    cairo_matrix_t m;
    cairo_get_matrix(cr, &m);
    if (!viz_svg_text_add(cv->svg_text, layout, ox, oy, c, &m)) {
        return FALSE;
    }
    viz_set_color(cr, VIZ_SVG_TEXT_MARKER, VIZ_SVG_TEXT_MARKER_ALPHA);
    cairo_paint(cr);
    viz_set_color(cr, c, 1.0);
    return TRUE;
}

void viz_text(VizCanvas *cv,
              const VizFont *f,
              double x,
              double y,
              int anchor,
              const char *role,
              const char *text,
              VizRect *out)
{
    g_return_if_fail(cv != NULL && f != NULL && text != NULL);
    const Laid *l = laid_get(f, text);
    int hz = anchor & 3;
    int vt = anchor & 12;
    double left = hz == VIZ_CENTER  ? x - l->w / 2
                  : hz == VIZ_RIGHT ? x - l->w
                                    : x;
    double top = vt == VIZ_MIDDLE   ? y - l->h / 2
                 : vt == VIZ_BOTTOM ? y - l->h
                                    : y;
    cairo_t *cr = cv->cr;
    if (!svg_text_show(cv, l->layout, left - l->x, top - l->y, f->color)) {
        viz_set_color(cr, f->color, 1.0);
        cairo_move_to(cr, left - l->x, top - l->y);
        pango_cairo_show_layout(cr, l->layout);
        cairo_new_path(cr);
    }
    VizRect r = { left, top, l->w, l->h };
    record(cv, VIZ_ITEM_TEXT, role, text, &r, l->elided);
    if (out != NULL) {
        *out = r;
    }
}

/* The context of turned text: shared_pango's options, its matrix set to
 * the turn of each string drawn (NULL until the first). Its own, so that
 * turning it never makes the strings kept in shared_pango lay out again. */
static PangoContext *turned_pango;

/* Records turned text @l centred on (x, y). */
static void turned_record(VizCanvas *cv,
                          double x,
                          double y,
                          const Laid *l,
                          const char *role,
                          const char *text)
{
    VizRect r = { x - l->h / 2, y - l->w / 2, l->h, l->w };
    record(cv, VIZ_ITEM_TEXT, role, text, &r, l->elided);
}

void viz_text_vertical(VizCanvas *cv,
                       const VizFont *f,
                       double x,
                       double y,
                       const char *role,
                       const char *text)
{
    g_return_if_fail(cv != NULL && f != NULL && text != NULL);
    const Laid *l = laid_get(f, text);
    cairo_t *cr = cv->cr;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -G_PI / 2);
    /* SVG: the string as laid out straight, turned by the SVG. */
    if (svg_text_show(cv, l->layout, -l->w / 2 - l->x, -l->h / 2 - l->y,
                      f->color)) {
        cairo_restore(cr);
        turned_record(cv, x, y, l, role, text);
        return;
    }
    if (turned_pango == NULL) {
        turned_pango = pango_context_new();
        pango_context_set_font_map(turned_pango,
                                   pango_context_get_font_map(cv->pango));
        pango_cairo_context_set_font_options(
            turned_pango, pango_cairo_context_get_font_options(cv->pango));
        pango_cairo_context_set_resolution(turned_pango, 96.0);
        pango_context_set_round_glyph_positions(turned_pango, FALSE);
    }
    /* What pango_cairo_update_layout() does but for the surface's font
     * options: the string is laid out for the turn it is drawn at. */
    cairo_matrix_t m;
    cairo_get_matrix(cr, &m);
    PangoMatrix pm = { m.xx, m.xy, m.yx, m.yy, 0, 0 };
    pango_context_set_matrix(turned_pango, &pm);
    PangoLayout *turned = pango_layout_new(turned_pango);
    layout_setup(turned, f, text);
    viz_set_color(cr, f->color, 1.0);
    cairo_move_to(cr, -l->w / 2 - l->x, -l->h / 2 - l->y);
    pango_cairo_show_layout(cr, turned);
    g_object_unref(turned);
    cairo_new_path(cr);
    cairo_restore(cr);
    turned_record(cv, x, y, l, role, text);
}

/* ---- shapes -------------------------------------------------------------- */

void viz_rounded_rect(cairo_t *cr, const VizRect *r, double radius)
{
    double rad = MIN(radius, MIN(r->w, r->h) / 2);
    double x = r->x, y = r->y, w = r->w, h = r->h;
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + w - rad, y + rad, rad, -G_PI / 2, 0);
    cairo_arc(cr, x + w - rad, y + h - rad, rad, 0, G_PI / 2);
    cairo_arc(cr, x + rad, y + h - rad, rad, G_PI / 2, G_PI);
    cairo_arc(cr, x + rad, y + rad, rad, G_PI, 3 * G_PI / 2);
    cairo_close_path(cr);
}

void viz_step_badge(VizCanvas *cv,
                    double cx,
                    double cy,
                    double radius,
                    guint step,
                    VizColor fill)
{
    cairo_t *cr = cv->cr;
    cairo_new_path(cr);
    cairo_arc(cr, cx, cy, radius, 0, 2 * G_PI);
    viz_set_color(cr, fill, 1.0);
    cairo_fill(cr);
    char num[8];
    g_snprintf(num, sizeof num, "%u", step);
    char name[16];
    g_snprintf(name, sizeof name, "step %u", step);
    VizRect r = { cx - radius, cy - radius, 2 * radius, 2 * radius };
    gint idx = record(cv, VIZ_ITEM_BOX, "step-badge", name, &r, FALSE);
    viz_push_parent(cv, idx);
    VizFont f = { .size = radius * 1.15, .bold = TRUE, .color = VIZ_PAPER };
    viz_text(cv, &f, cx, cy, VIZ_CENTER | VIZ_MIDDLE, "step", num, NULL);
    viz_pop_parent(cv);
}

void viz_arrow_head(
    cairo_t *cr, double x, double y, double dx, double dy, double size)
{
    double len = hypot(dx, dy);
    if (len <= 0) {
        return;
    }
    dx /= len;
    dy /= len;
    cairo_new_path(cr);
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x - size * dx + size * 0.5 * dy,
                  y - size * dy - size * 0.5 * dx);
    cairo_line_to(cr, x - size * dx - size * 0.5 * dy,
                  y - size * dy + size * 0.5 * dx);
    cairo_close_path(cr);
    cairo_fill(cr);
}

/* ---- numbers and ticks --------------------------------------------------- */

void viz_format_count(guint64 n, char *buf, gsize size)
{
    char digits[32];
    g_snprintf(digits, sizeof digits, "%" G_GUINT64_FORMAT, n);
    gsize len = strlen(digits);
    GString *s = g_string_sized_new(len + len / 3);
    for (gsize i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            g_string_append_c(s, ',');
        }
        g_string_append_c(s, digits[i]);
    }
    g_strlcpy(buf, s->str, size);
    g_string_free(s, TRUE);
}

/* @v with @decimals, trailing zeros kept (ticks line up), and thousands
 * separators in the integer part. */
static void format_fixed(double v, int decimals, char *buf, gsize size)
{
    char tmp[64];
    g_snprintf(tmp, sizeof tmp, "%.*f", decimals, fabs(v));
    if (strcmp(tmp, "0") == 0 || strspn(tmp, "0.") == strlen(tmp)) {
        v = 0; /* no "-0" */
    }
    char *dot = strchr(tmp, '.');
    gsize ilen = dot != NULL ? (gsize)(dot - tmp) : strlen(tmp);
    GString *s = g_string_new(v < 0 ? "-" : "");
    for (gsize i = 0; i < ilen; i++) {
        if (i > 0 && (ilen - i) % 3 == 0) {
            g_string_append_c(s, ',');
        }
        g_string_append_c(s, tmp[i]);
    }
    if (dot != NULL) {
        g_string_append(s, dot);
    }
    g_strlcpy(buf, s->str, size);
    g_string_free(s, TRUE);
}

/* Three significant digits, no trailing zeros. */
static void format_sig3(double v, char *buf, gsize size)
{
    int decimals = v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3;
    char tmp[64];
    g_snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
    if (strchr(tmp, '.') != NULL) {
        gsize n = strlen(tmp);
        while (n > 0 && tmp[n - 1] == '0') {
            tmp[--n] = '\0';
        }
        if (n > 0 && tmp[n - 1] == '.') {
            tmp[--n] = '\0';
        }
    }
    g_strlcpy(buf, tmp, size);
}

void viz_format_ms(double ms, char *buf, gsize size)
{
    char num[48];
    if (ms <= 0) {
        g_strlcpy(buf, "0 ms", size);
    } else if (ms < 1.0) {
        format_sig3(ms * 1000.0, num, sizeof num);
        g_snprintf(buf, size, "%s µs", num);
    } else if (ms < 1000.0) {
        format_sig3(ms, num, sizeof num);
        g_snprintf(buf, size, "%s ms", num);
    } else {
        format_sig3(ms / 1000.0, num, sizeof num);
        g_snprintf(buf, size, "%s s", num);
    }
}

void viz_format_share(double fraction, char *buf, gsize size)
{
    double pct = fraction * 100.0;
    if (pct <= 0) {
        g_strlcpy(buf, "0%", size);
    } else if (pct < 0.01) {
        g_strlcpy(buf, "<0.01%", size);
    } else if (pct >= 10) {
        g_snprintf(buf, size, "%.0f%%", pct);
    } else if (pct >= 1) {
        g_snprintf(buf, size, "%.1f%%", pct);
    } else {
        /* Two significant digits: 0.53%, 0.016%. */
        int decimals = 1 - (int)floor(log10(pct));
        g_snprintf(buf, size, "%.*f%%", decimals, pct);
    }
}

/* The round step (1, 2 or 5 x 10^k) nearest to @raw (Heckbert, "Nice
 * numbers for graph labels", Graphics Gems, 1990). */
static double nice_step(double raw)
{
    double p = pow(10.0, floor(log10(raw)));
    double m = raw / p;
    double step = m < 1.5 ? 1.0 : m < 3.0 ? 2.0 : m < 7.0 ? 5.0 : 10.0;
    return step * p;
}

GArray *viz_ticks_linear(double *lo, double *hi, guint target)
{
    GArray *ticks = g_array_new(FALSE, TRUE, sizeof(VizTick));
    double a = *lo, b = *hi;
    if (!(b > a)) {
        b = a + 1.0;
    }
    double step = nice_step((b - a) / MAX(target, 2));
    double first = floor(a / step + 1e-9) * step;
    double last = ceil(b / step - 1e-9) * step;
    int decimals = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
    guint n = (guint)llround((last - first) / step);
    for (guint i = 0; i <= n; i++) {
        VizTick t = { .v = first + step * i, .major = TRUE };
        format_fixed(t.v, decimals, t.label, sizeof t.label);
        g_array_append_val(ticks, t);
    }
    *lo = first;
    *hi = last;
    return ticks;
}

GArray *viz_ticks_log_ms(double *lo, double *hi)
{
    GArray *ticks = g_array_new(FALSE, TRUE, sizeof(VizTick));
    double a = MAX(*lo, 1e-6), b = MAX(*hi, a * 10.0);
    int e0 = (int)floor(log10(a) + 1e-9);
    int e1 = (int)ceil(log10(b) - 1e-9);
    if (e1 <= e0) {
        e1 = e0 + 1;
    }
    gboolean label_minor = e1 - e0 <= 2;
    for (int e = e0; e <= e1; e++) {
        static const double mult[] = { 1, 2, 5 };
        for (guint m = 0; m < G_N_ELEMENTS(mult); m++) {
            if (e == e1 && m > 0) {
                break;
            }
            VizTick t = { .v = mult[m] * pow(10.0, e), .major = m == 0 };
            if (t.major || label_minor) {
                viz_format_ms(t.v, t.label, sizeof t.label);
            }
            g_array_append_val(ticks, t);
        }
    }
    *lo = pow(10.0, e0);
    *hi = pow(10.0, e1);
    return ticks;
}

/* ---- reading results.json ------------------------------------------------ */

static JsonNode *json_member(JsonObject *o, const char *key, JsonNodeType type)
{
    if (o == NULL || !json_object_has_member(o, key)) {
        return NULL;
    }
    JsonNode *n = json_object_get_member(o, key);
    return JSON_NODE_TYPE(n) == type ? n : NULL;
}

JsonObject *viz_json_object(JsonObject *o, const char *key)
{
    JsonNode *n = json_member(o, key, JSON_NODE_OBJECT);
    return n != NULL ? json_node_get_object(n) : NULL;
}

JsonArray *viz_json_array(JsonObject *o, const char *key)
{
    JsonNode *n = json_member(o, key, JSON_NODE_ARRAY);
    return n != NULL ? json_node_get_array(n) : NULL;
}

double viz_json_node_number(JsonNode *n)
{
    if (n == NULL || JSON_NODE_TYPE(n) != JSON_NODE_VALUE) {
        return 0.0;
    }
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_INT64) {
        return (double)json_node_get_int(n);
    }
    if (t == G_TYPE_DOUBLE) {
        return json_node_get_double(n);
    }
    return 0.0;
}

double viz_json_number(JsonObject *o, const char *key)
{
    return viz_json_node_number(json_member(o, key, JSON_NODE_VALUE));
}

const char *viz_json_string(JsonObject *o, const char *key)
{
    JsonNode *n = json_member(o, key, JSON_NODE_VALUE);
    if (n == NULL || json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return json_node_get_string(n);
}

JsonObject *viz_json_element_object(JsonArray *a, guint i)
{
    if (a == NULL || i >= json_array_get_length(a)) {
        return NULL;
    }
    JsonNode *n = json_array_get_element(a, i);
    return JSON_NODE_TYPE(n) == JSON_NODE_OBJECT ? json_node_get_object(n)
                                                 : NULL;
}

guint64 viz_json_count_of(JsonObject *o, const char *key)
{
    double v = viz_json_number(viz_json_object(o, key), "count");
    return v > 0 ? (guint64)v : 0;
}

/* ---- output -------------------------------------------------------------- */

static cairo_status_t
append_bytes(void *closure, const unsigned char *data, unsigned int len)
{
    g_byte_array_append(closure, data, len);
    return CAIRO_STATUS_SUCCESS;
}

typedef struct {
    GHashTable *ids; /* cairo's number (string) -> ours (GUINT) */
} Renumber;

static gboolean renumber_one(const GMatchInfo *m, GString *out, gpointer data)
{
    Renumber *rn = data;
    g_autofree char *lead = g_match_info_fetch(m, 1);
    g_autofree char *num = g_match_info_fetch(m, 2);
    gpointer ours = g_hash_table_lookup(rn->ids, num);
    if (ours == NULL) {
        ours = GUINT_TO_POINTER(g_hash_table_size(rn->ids) + 1);
        g_hash_table_insert(rn->ids, g_steal_pointer(&num), ours);
    }
    g_string_append_printf(out, "%ssurface%u", lead, GPOINTER_TO_UINT(ours));
    return FALSE;
}

/* cairo 1.16 names SVG groups "surface<N>" after a process-wide counter of
 * surfaces, so the same picture drawn twice in one process (or after other
 * pictures) would differ. Renumber them in order of appearance: same input,
 * same bytes, whatever was drawn before. */
static void svg_renumber(GByteArray *svg)
{
    static GRegex *re = NULL;
    if (g_once_init_enter(&re)) {
        GRegex *r =
            g_regex_new("(id=\"|#)surface([0-9]+)", G_REGEX_OPTIMIZE, 0, NULL);
        g_once_init_leave(&re, r);
    }
    Renumber rn = { g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          NULL) };
    g_autofree char *out =
        g_regex_replace_eval(re, (const char *)svg->data, (gssize)svg->len, 0,
                             0, renumber_one, &rn, NULL);
    g_hash_table_unref(rn.ids);
    if (out != NULL) {
        g_byte_array_set_size(svg, 0);
        g_byte_array_append(svg, (const guint8 *)out, (guint)strlen(out));
    }
}

/* Puts <title> and <desc> right after the root <svg ...> tag: the strings
 * become searchable and screen readers announce the picture. Then @defs,
 * the glyphs of svgtext.c, defined before any use. */
static void
svg_add_text(GByteArray *svg, const GPtrArray *items, const char *defs)
{
    const char *title = NULL;
    GString *desc = g_string_new(NULL);
    for (guint i = 0; i < items->len; i++) {
        const VizItem *it = g_ptr_array_index(items, i);
        if (it->kind != VIZ_ITEM_TEXT || it->text[0] == '\0') {
            continue;
        }
        if (title == NULL && strcmp(it->role, "title") == 0) {
            title = it->text;
        }
        g_autofree char *esc = g_markup_escape_text(it->text, -1);
        g_string_append_printf(desc, "%s\n", esc);
    }
    g_autofree char *esc_title =
        g_markup_escape_text(title != NULL ? title : "", -1);
    /* Appended, not printf'd: @defs is most of an SVG (~2.5M
     * instructions a run through vasprintf). */
    g_autoptr(GString) block = g_string_new("\n<title>");
    g_string_append(block, esc_title);
    g_string_append(block, "</title>\n<desc>\n");
    g_string_append_len(block, desc->str, (gssize)desc->len);
    g_string_append(block, "</desc>");
    g_string_append(block, defs);
    g_string_free(desc, TRUE);
    /* The root element is the first "<svg" after the XML declaration. */
    const char *text = (const char *)svg->data;
    gsize len = svg->len;
    const char *root = g_strstr_len(text, (gssize)len, "<svg");
    const char *end =
        root != NULL ? memchr(root, '>', len - (gsize)(root - text)) : NULL;
    if (end == NULL) {
        return;
    }
    gsize at = (gsize)(end - text) + 1;
    g_byte_array_set_size(svg, (guint)(len + block->len));
    memmove(svg->data + at + block->len, svg->data + at, len - at);
    memcpy(svg->data + at, block->str, block->len);
}

/* No cairo_debug_reset_static_data() at the end: cairo's caches are
 * reachable from its statics, which leak checkers do not report (the
 * ASan + LSan suite is clean without it), and it aborted whenever one of
 * pango's font-sorting threads still held a font ('live_entries == 0',
 * seen once in about five runs of check-lessons, even after waiting for
 * the font map to go). */
void viz_fonts_release(void)
{
    viz_svg_text_release();
    g_clear_pointer(&laid_strings, g_hash_table_unref);
    g_clear_object(&turned_pango);
    g_clear_object(&shared_pango);
    pango_cairo_font_map_set_default(NULL);
}

/* LeakSanitizer calls this hook, when the program defines it, for the
 * suppressions to apply (compiler-rt lsan_interface.h); other builds never
 * call it. fontconfig 2.14 loses ~300 bytes parsing the system's font
 * configuration, in the thread pango starts to load it: nothing that
 * viz_fonts_release() or we could free. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

/* ...and without a report of the suppression on every exit. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}

/* An RGB24 image surface whose pixels are not cleared first, as
 * cairo_image_surface_create()'s are (calloc: ~1.7M instructions a
 * picture): render() paints all of them white before anything else. The
 * surface owns the pixels. */
static cairo_surface_t *image_create(int w, int h)
{
    static const cairo_user_data_key_t pixels_key;
    int stride = cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, w);
    guint8 *px = g_malloc((gsize)stride * (gsize)h);
    cairo_surface_t *s = cairo_image_surface_create_for_data(
        px, CAIRO_FORMAT_RGB24, w, h, stride);
    if (cairo_surface_set_user_data(s, &pixels_key, px, g_free) !=
        CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        g_free(px);
        return cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    }
    return s;
}

/* viz_render(); for SVG, the strings written by svgtext.c when
 * @own_text, else by cairo. */
static GBytes *render(VizFormat fmt,
                      double width,
                      double height,
                      VizDrawFunc draw,
                      gpointer data,
                      gboolean own_text,
                      GPtrArray **items,
                      GError **error)
{
    int iw = (int)ceil(width), ih = (int)ceil(height);
    g_autoptr(GByteArray) buf = g_byte_array_new();
    g_autoptr(VizSvgText) text = NULL;
    cairo_surface_t *surf;
    if (fmt == VIZ_FORMAT_SVG) {
        surf = cairo_svg_surface_create_for_stream(append_bytes, buf, iw, ih);
        /* SVG 1.1 in px: the file opens at the size it was drawn at. */
        cairo_svg_surface_restrict_to_version(surf, CAIRO_SVG_VERSION_1_1);
        cairo_svg_surface_set_document_unit(surf, CAIRO_SVG_UNIT_PX);
        text = own_text ? viz_svg_text_new() : NULL;
    } else {
        surf = image_create(iw, ih);
    }
    cairo_t *cr = cairo_create(surf);
    viz_set_color(cr, VIZ_PAPER, 1.0);
    cairo_paint(cr);
    VizCanvas *cv = viz_canvas_new(cr, width, height);
    cv->svg_text = text;
    draw(cv, data);
    cairo_status_t st = cairo_status(cr);
    GPtrArray *record_items = g_ptr_array_ref(cv->items);
    viz_canvas_free(cv);
    cairo_destroy(cr);
    cairo_surface_flush(surf);
    if (st == CAIRO_STATUS_SUCCESS) {
        st = cairo_surface_status(surf);
    }
    if (st == CAIRO_STATUS_SUCCESS && fmt == VIZ_FORMAT_PNG) {
        viz_png_encode(cairo_image_surface_get_data(surf), (guint)iw, (guint)ih,
                       (gsize)cairo_image_surface_get_stride(surf), buf);
    }
    cairo_surface_finish(surf);
    if (st == CAIRO_STATUS_SUCCESS) {
        st = cairo_surface_status(surf);
    }
    cairo_surface_destroy(surf);
    if (st != CAIRO_STATUS_SUCCESS) {
        g_set_error(error, VIZ_ERROR, VIZ_ERROR_CAIRO, "drawing failed: %s",
                    cairo_status_to_string(st));
        g_ptr_array_unref(record_items);
        return NULL;
    }
    g_autoptr(GString) defs = g_string_new(NULL);
    if (text != NULL && !viz_svg_text_finish(text, buf, defs)) {
        /* A marker went missing: never seen, but cairo's to draw then. */
        g_ptr_array_unref(record_items);
        return render(fmt, width, height, draw, data, FALSE, items, error);
    }
    if (fmt == VIZ_FORMAT_SVG) {
        svg_renumber(buf);
        svg_add_text(buf, record_items, defs->str);
    }
    if (items != NULL) {
        *items = record_items;
    } else {
        g_ptr_array_unref(record_items);
    }
    return g_byte_array_free_to_bytes(g_steal_pointer(&buf));
}

GBytes *viz_render(VizFormat fmt,
                   double width,
                   double height,
                   VizDrawFunc draw,
                   gpointer data,
                   GPtrArray **items,
                   GError **error)
{
    g_return_val_if_fail(draw != NULL && width >= 1 && height >= 1, NULL);
    return render(fmt, width, height, draw, data, TRUE, items, error);
}

gboolean viz_write(const char *path,
                   double width,
                   double height,
                   VizDrawFunc draw,
                   gpointer data,
                   GPtrArray **items,
                   GError **error)
{
    VizFormat fmt;
    if (!viz_format_from_path(path, &fmt, error)) {
        return FALSE;
    }
    g_autoptr(GBytes) bytes =
        viz_render(fmt, width, height, draw, data, items, error);
    if (bytes == NULL) {
        return FALSE;
    }
    gsize len = 0;
    const char *data_ = g_bytes_get_data(bytes, &len);
    GError *werr = NULL;
    if (!out_file_write(path, data_, (gssize)len, &werr)) {
        /* Located already ("PATH:1:1: error: ..."). */
        g_set_error_literal(error, VIZ_ERROR, VIZ_ERROR_WRITE, werr->message);
        g_error_free(werr);
        if (items != NULL && *items != NULL) {
            g_ptr_array_unref(*items);
            *items = NULL;
        }
        return FALSE;
    }
    return TRUE;
}
