/* png.h: an RGB24 image as a PNG file, with a deflate encoder made for
 * charts (flat colours, long runs) rather than for photographs. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Appends to @out an 8-bit RGB PNG (no alpha, no interlace) of the
 * @width x @height pixels at @px, rows @stride bytes apart, each pixel a
 * native-endian guint32 0xXXRRGGBB: cairo's CAIRO_FORMAT_RGB24, whose top
 * byte is padding that cairo may leave 0xff, 0x00 or anything (not
 * ARGB32: alpha would be dropped). The top byte is never read: same RGB,
 * same bytes. Costs about one pass over the pixels: runs and rows that
 * repeat are found by comparing words, never by hashing. */
void viz_png_encode(
    const guint8 *px, guint width, guint height, gsize stride, GByteArray *out);

G_END_DECLS
