/* draw.h: the drawing kit every picture of viz/ shares: one cairo_t drawing
 * function rendered to PNG or SVG (atomically), a colour-blind-safe palette,
 * pango text, round ticks, and a record of every string and box drawn. */
#pragma once

#include <cairo.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <pango/pangocairo.h>

G_BEGIN_DECLS

#define VIZ_ERROR (viz_error_quark())
GQuark viz_error_quark(void);

typedef enum {
    VIZ_ERROR_FORMAT, /* an output name that is neither .png nor .svg */
    VIZ_ERROR_INPUT,  /* results.json without what a chart needs */
    VIZ_ERROR_CAIRO,  /* cairo failed (its status text in the message) */
    VIZ_ERROR_WRITE,  /* the file could not be written */
} VizError;

typedef enum {
    VIZ_FORMAT_PNG, /* 8-bit RGB raster, 1 px per unit */
    VIZ_FORMAT_SVG, /* SVG 1.1, units are px */
} VizFormat;

/* The format named by @path's extension (.png or .svg, any case).
 * FALSE with VIZ_ERROR_FORMAT otherwise. */
gboolean viz_format_from_path(const char *path, VizFormat *out, GError **error);
const char *viz_format_extension(VizFormat f); /* "png" or "svg" */

/* ---- colours -------------------------------------------------------------
 * Okabe & Ito's eight colours ("Color Universal Design", 2008), told apart
 * with every common colour-vision deficiency. Series take them in the order
 * of viz_color(): blue, orange, bluish green, vermillion, reddish purple,
 * sky blue, yellow, black. */
typedef struct {
    double r; /* red, 0..1 */
    double g; /* green, 0..1 */
    double b; /* blue, 0..1 */
} VizColor;

#define VIZ_RGB(hex)                                                      \
    ((VizColor){ ((hex) >> 16 & 255) / 255.0, ((hex) >> 8 & 255) / 255.0, \
                 ((hex)&255) / 255.0 })
#define VIZ_BLUE       VIZ_RGB(0x0072B2)
#define VIZ_ORANGE     VIZ_RGB(0xE69F00)
#define VIZ_GREEN      VIZ_RGB(0x009E73)
#define VIZ_VERMILLION VIZ_RGB(0xD55E00)
#define VIZ_PURPLE     VIZ_RGB(0xCC79A7)
#define VIZ_SKY        VIZ_RGB(0x56B4E9)
#define VIZ_YELLOW     VIZ_RGB(0xF0E442)
#define VIZ_BLACK      VIZ_RGB(0x000000)
/* Neutrals for text, rules and fills. */
#define VIZ_INK   VIZ_RGB(0x1F2328)
#define VIZ_MUTED VIZ_RGB(0x57606A)
#define VIZ_FAINT VIZ_RGB(0x8C959F)
#define VIZ_GRID  VIZ_RGB(0xD8DEE4)
#define VIZ_WASH  VIZ_RGB(0xF3F5F7)
#define VIZ_PAPER VIZ_RGB(0xFFFFFF)

/* The @i-th series colour, cycling through the eight. */
VizColor viz_color(guint i);
void viz_set_color(cairo_t *cr, VizColor c, double alpha);
/* @c mixed with white: @t = 0 is @c, 1 is white (fills behind text). */
VizColor viz_tint(VizColor c, double t);

/* ---- the record ----------------------------------------------------------
 * Every string drawn and every box a layout places is recorded with its
 * device-space rectangle, so tests can check what a picture says and that
 * nothing overlaps, without reading pixels (cairo's SVG draws glyphs, not
 * <text>). The SVG also carries the strings in <title> and <desc>. */
typedef enum {
    VIZ_ITEM_TEXT,   /* a string; rect is its logical extent as drawn */
    VIZ_ITEM_BOX,    /* a component or badge; must not overlap others */
    VIZ_ITEM_REGION, /* a background band; checked against regions only */
} VizItemKind;

typedef struct {
    double x; /* left */
    double y; /* top */
    double w; /* width, >= 0 */
    double h; /* height, >= 0 */
} VizRect;

typedef struct {
    VizItemKind kind; /* what it is */
    char *role;       /* "title", "axis", "tick", "legend", "step", ... */
    char *text;       /* the whole string (before any elision), or a box's
                       * name */
    VizRect rect;     /* where, in device units (px) */
    gint parent;      /* index of the item it sits in, or -1 */
    gboolean elided;  /* text shortened to fit (an ellipsis shows) */
} VizItem;

void viz_item_free(gpointer item);
/* TRUE when the two rectangles share area (touching edges do not). */
gboolean viz_rect_intersects(const VizRect *a, const VizRect *b);
/* TRUE when @inner lies within @outer (with @slack px of tolerance). */
gboolean
viz_rect_contains(const VizRect *outer, const VizRect *inner, double slack);

/* ---- the canvas ---------------------------------------------------------- */

typedef struct {
    cairo_t *cr;  /* where to draw (borrowed) */
    double width; /* picture size in px */
    double height;
    PangoContext *pango; /* fixed font options: no hinting, so text
                          * measures the same on PNG and SVG; shared by
                          * every canvas of the thread (a reference) */
    GPtrArray *items;    /* VizItem*, the record, drawing order (owned) */
    GArray *parents;     /* gint stack: items recorded get the top one */
    struct VizSvgText *svg_text; /* SVG: where strings go instead of
                                  * cairo's glyphs (svgtext.h; borrowed),
                                  * else NULL */
} VizCanvas;

/* A canvas over @cr (borrowed; must outlive it). */
VizCanvas *viz_canvas_new(cairo_t *cr, double width, double height);
void viz_canvas_free(VizCanvas *cv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VizCanvas, viz_canvas_free)
/* A canvas on a 1x1 image surface, to measure text and lay out before the
 * picture's size is known. Free with viz_canvas_free_measure(). */
VizCanvas *viz_canvas_new_measure(void);
void viz_canvas_free_measure(VizCanvas *cv);

/* Records a box or region; returns its index (for viz_push_parent). */
gint viz_record(VizCanvas *cv,
                VizItemKind kind,
                const char *role,
                const char *text,
                const VizRect *r);
/* Items recorded until the matching pop get @parent as their parent. */
void viz_push_parent(VizCanvas *cv, gint parent);
void viz_pop_parent(VizCanvas *cv);

/* ---- text ---------------------------------------------------------------- */

typedef struct {
    double size;          /* pixel size of the font */
    gboolean bold;        /* bold weight */
    gboolean mono;        /* monospace (ports, flags) */
    VizColor color;       /* ink */
    double max_width;     /* > 0: lines longer than this are elided (or
                           * wrapped when @wrap) */
    gboolean wrap;        /* wrap at word boundaries within max_width */
    gint max_lines;       /* > 0 with wrap: at most this many lines, the last
                           * one elided */
    gboolean elide_end;   /* elide at the end (default: the middle, which
                           * keeps pod ordinals and ports visible) */
    PangoAlignment align; /* for wrapped text */
} VizFont;

/* Where (x, y) is on the text's box: a horizontal and a vertical part. */
typedef enum {
    VIZ_LEFT = 0,
    VIZ_CENTER = 1,
    VIZ_RIGHT = 2,
    VIZ_TOP = 0,
    VIZ_MIDDLE = 4,
    VIZ_BOTTOM = 8,
} VizAnchor;

/* The box @text would take. */
void viz_text_size(
    VizCanvas *cv, const VizFont *f, const char *text, double *w, double *h);
/* Draws @text (plain, not markup) with its @anchor point at (x, y) and
 * records it with @role. @out (nullable) gets the rectangle drawn. */
void viz_text(VizCanvas *cv,
              const VizFont *f,
              double x,
              double y,
              int anchor,
              const char *role,
              const char *text,
              VizRect *out);
/* The same turned a quarter left (reads bottom to top), for y-axis titles;
 * (x, y) is the centre of the turned box. */
void viz_text_vertical(VizCanvas *cv,
                       const VizFont *f,
                       double x,
                       double y,
                       const char *role,
                       const char *text);

/* ---- shapes -------------------------------------------------------------- */

void viz_rounded_rect(cairo_t *cr, const VizRect *r, double radius);
/* A filled circle with a number in it (the nine steps); records a box and
 * the number as text with role "step". */
void viz_step_badge(VizCanvas *cv,
                    double cx,
                    double cy,
                    double radius,
                    guint step,
                    VizColor fill);
/* An arrow head at (x, y) pointing along (dx, dy). */
void viz_arrow_head(
    cairo_t *cr, double x, double y, double dx, double dy, double size);

/* ---- numbers and ticks --------------------------------------------------- */

typedef struct {
    double v;       /* value on the axis */
    gboolean major; /* labelled and with a grid line */
    char label[32]; /* text, "" for minor ticks */
} VizTick;

/* Round linear ticks (1, 2 or 5 times a power of ten) covering [*lo, *hi],
 * about @target of them; widens *lo and *hi to the outer ticks. Labels
 * have as many decimals as the step needs and thousands separators.
 * Returns: (transfer full) GArray of VizTick. */
GArray *viz_ticks_linear(double *lo, double *hi, guint target);
/* Log ticks over [*lo, *hi] (both > 0, in ms): every decade major and
 * labelled as a duration ("100 µs", "1 ms", "1 s"); 2 and 5 minor, and
 * labelled too when the range spans at most two decades. Widens to whole
 * decades. Returns: (transfer full) GArray of VizTick. */
GArray *viz_ticks_log_ms(double *lo, double *hi);

/* "13,205": digits in groups of three, whatever the locale. */
void viz_format_count(guint64 n, char *buf, gsize size);
/* A duration given in ms, in the unit that reads best: "250 µs",
 * "12.8 ms", "1.5 s"; three significant digits at most. */
void viz_format_ms(double ms, char *buf, gsize size);
/* "44%", "4.4%", "0.44%", "0.016%", "<0.01%". */
void viz_format_share(double fraction, char *buf, gsize size);

/* ---- reading results.json ------------------------------------------------
 * Lookups that never warn: a missing key or a value of another type reads
 * as NULL or 0, so an older or hand-edited results.json still draws. */

/* Member @key of @o when it is an object / array, else NULL (borrowed). */
JsonObject *viz_json_object(JsonObject *o, const char *key);
JsonArray *viz_json_array(JsonObject *o, const char *key);
/* A number member (integer or double), else 0. */
double viz_json_number(JsonObject *o, const char *key);
/* A number node, else 0. */
double viz_json_node_number(JsonNode *n);
/* A string member, else NULL (borrowed). */
const char *viz_json_string(JsonObject *o, const char *key);
/* Element @i of @a when it is an object, else NULL. */
JsonObject *viz_json_element_object(JsonArray *a, guint i);
/* The "count" of member @key of @o (results.json's {name: {count}} maps). */
guint64 viz_json_count_of(JsonObject *o, const char *key);

/* Drops the fonts and layouts kept for the process, and pango's default
 * font map (per thread and never freed, which leak checkers report);
 * cairo's own caches stay, reachable. Call once drawing is over; drawing
 * again afterwards loads them again. */
void viz_fonts_release(void);

/* ---- output -------------------------------------------------------------- */

/* Draws the picture into @cv (already filled white). */
typedef void (*VizDrawFunc)(VizCanvas *cv, gpointer data);

/* Renders @draw at @width x @height px as @fmt. SVG output gets a <title>
 * (the first item with role "title") and a <desc> listing every string
 * drawn, in order. @items (nullable) receives the record: (transfer full)
 * GPtrArray of VizItem*. Returns: (transfer full) the file's bytes, or NULL
 * with VIZ_ERROR_CAIRO. Same input, same bytes. */
GBytes *viz_render(VizFormat fmt,
                   double width,
                   double height,
                   VizDrawFunc draw,
                   gpointer data,
                   GPtrArray **items,
                   GError **error);

/* viz_render() into @path, format from the extension, written to a
 * temporary file beside it and renamed over it, so a failure leaves no
 * partial file (g_file_set_contents). */
gboolean viz_write(const char *path,
                   double width,
                   double height,
                   VizDrawFunc draw,
                   gpointer data,
                   GPtrArray **items,
                   GError **error);

G_END_DECLS
