/* svgtext-private.h: what svgtext.c shows its tests (tests/test-viz.c)
 * and no one else: its two ways of writing a number, which must agree. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* For tests only: append @v as svgtext.c writes the numbers of an SVG,
 * through the table of decimals where it applies (put_num()), or always
 * digit by digit (put_num_any()), to @decimals (<= 8) places. */
void viz_svg_text__put_num(GString *s, double v, guint decimals);
void viz_svg_text__put_num_any(GString *s, double v, guint decimals);

G_END_DECLS
