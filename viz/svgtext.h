/* svgtext.h: the text of an SVG picture written by us rather than by
 * cairo's SVG surface, which prints every number of every glyph outline
 * with printf("%f") (~1,900 instructions a number: two thirds of an SVG's
 * cost) and again for every picture. Here a glyph's outline is formatted
 * once per process and font, with integer arithmetic, and each picture
 * defines the glyphs it uses. Where a string goes in the drawing order,
 * cairo paints a marker in a colour of its own (a <rect> over the page),
 * which viz_svg_text_finish() replaces with the string's glyphs. */
#pragma once

#include <glib.h>
#include <pango/pangocairo.h>

#include "viz/draw.h"

G_BEGIN_DECLS

/* The marker's fill, and how cairo 1.16 writes it in an SVG. No picture
 * uses pure magenta. Painted half transparent: never opaque (draw.c). */
#define VIZ_SVG_TEXT_MARKER       VIZ_RGB(0xFF00FF)
#define VIZ_SVG_TEXT_MARKER_ALPHA 0.5
#define VIZ_SVG_TEXT_MARKER_CSS   "fill:rgb(100%,0%,100%)"

typedef struct VizSvgText VizSvgText;

VizSvgText *viz_svg_text_new(void);
void viz_svg_text_free(VizSvgText *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VizSvgText, viz_svg_text_free)

/* Adds the glyphs of @layout, its origin at (@x, @y) in user units, in
 * colour @c; @m (nullable: identity) takes user units to the picture's
 * (turned text). The caller then draws one marker. FALSE, and nothing
 * added, when the layout has glyphs pango draws as boxes of hex digits:
 * draw it with pango_cairo_show_layout() instead. */
gboolean viz_svg_text_add(VizSvgText *t,
                          PangoLayout *layout,
                          double x,
                          double y,
                          VizColor c,
                          const cairo_matrix_t *m);

/* Replaces the markers of @svg, in order, with the strings added, and
 * appends to @defs the <defs> of the glyphs they use. FALSE, with @svg
 * untouched, when the markers are not one per string added (cairo left
 * one out): render the picture again without viz_svg_text. */
gboolean viz_svg_text_finish(VizSvgText *t, GByteArray *svg, GString *defs);

/* Drops the outlines kept for the process, with their fonts (done by
 * viz_fonts_release(), with the rest of the fonts). */
void viz_svg_text_release(void);

G_END_DECLS
