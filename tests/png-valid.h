/* png-valid.h: checks a PNG as viz_png_encode() writes them further than
 * reading it with cairo does (test-viz and png-check; tests -> viz). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* NULL when @data (@len bytes) is a PNG as viz_png_encode() writes them
 * (8-bit RGB, no interlace, filter 0 on every line) that libpng, through
 * cairo, reads, and whose zlib stream checks out: every chunk's CRC-32,
 * the zlib header, and the Adler-32 at the stream's end against the one
 * worked out here from the pixels read back. libpng checks the Adler-32
 * too, but only when it gets to inflate the stream's end, and cairo calls
 * every libpng error "out of memory": this says which check failed and
 * does not depend on how libpng feeds zlib. Else (transfer full) what is
 * wrong. When it returns NULL and @pixels is not NULL, *@pixels gets
 * (transfer full) the pixels read, 0x00RRGGBB, *@w x *@h of them, row by
 * row. */
char *png_valid_check(
    const guint8 *data, gsize len, guint32 **pixels, guint *w, guint *h);

G_END_DECLS
