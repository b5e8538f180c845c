/* png-valid.c: a PNG of viz_png_encode() checked chunk by chunk and its
 * Adler-32 against the pixels cairo reads back (see png-valid.h). */
#include "config.h"

#include <string.h>

#include <cairo.h>

#include "tests/png-valid.h"

static guint32 be32(const guint8 *p)
{
    return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 |
           p[3];
}

/* CRC-32 of PNG (ISO 3309), a bit at a time: slow, and written apart from
 * png.c's tables on purpose. */
static guint32 crc32_of(const guint8 *p, gsize n)
{
    guint32 c = 0xffffffffu;
    for (gsize i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
    }
    return c ^ 0xffffffffu;
}

typedef struct {
    const guint8 *data;
    gsize len, at;
} Reader;

static cairo_status_t
read_bytes(void *closure, unsigned char *buf, unsigned int n)
{
    Reader *r = closure;
    if (r->len - r->at < n) {
        return CAIRO_STATUS_READ_ERROR;
    }
    memcpy(buf, r->data + r->at, n);
    r->at += n;
    return CAIRO_STATUS_SUCCESS;
}

/* The IDAT chunks' data, joined: the zlib stream. Checks the CRCs and
 * the header on the way. */
static char *chunks_read(const guint8 *data, gsize len, GByteArray *z)
{
    static const guint8 sig[8] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'
    };
    if (len < 8 || memcmp(data, sig, 8) != 0) {
        return g_strdup("no PNG signature");
    }
    gboolean ended = FALSE, headed = FALSE;
    for (gsize at = 8; at < len;) {
        if (ended) {
            return g_strdup_printf("bytes after IEND at %" G_GSIZE_FORMAT, at);
        }
        if (len - at < 12 || be32(data + at) > len - at - 12) {
            return g_strdup_printf("chunk at %" G_GSIZE_FORMAT " cut short",
                                   at);
        }
        guint32 n = be32(data + at);
        const guint8 *type = data + at + 4, *body = type + 4;
        if (crc32_of(type, 4 + (gsize)n) != be32(body + n)) {
            return g_strdup_printf("bad CRC on %.4s at %" G_GSIZE_FORMAT,
                                   (const char *)type, at);
        }
        if (!headed) {
            /* 8-bit RGB (colour type 2), deflate, filters 0, no interlace */
            static const guint8 rest[5] = { 8, 2, 0, 0, 0 };
            if (memcmp(type, "IHDR", 4) != 0 || n != 13 ||
                memcmp(body + 8, rest, 5) != 0) {
                return g_strdup("not an 8-bit RGB IHDR first");
            }
            headed = TRUE;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            g_byte_array_append(z, body, n);
        } else if (memcmp(type, "IEND", 4) == 0) {
            ended = TRUE;
        }
        at += 12 + (gsize)n;
    }
    if (!ended) {
        return g_strdup("no IEND");
    }
    /* RFC 1950 2.2: deflate, window <= 32K, no dictionary, check bits. */
    if (z->len < 6 || (z->data[0] & 0x0f) != 8 || z->data[0] >> 4 > 7 ||
        (z->data[1] & 0x20) != 0 || (z->data[0] << 8 | z->data[1]) % 31 != 0) {
        return g_strdup("bad zlib header");
    }
    return NULL;
}

/* Adler-32 (RFC 1950 8.2) of the scanlines of @px: a filter byte 0,
 * then R, G and B of each pixel. */
static guint32 adler_of(const guint32 *px, guint w, guint h)
{
    guint64 a = 1, b = 0;
    for (guint y = 0; y < h; y++) {
        for (guint x = 0; x <= 3 * w; x++) {
            guint32 c = x == 0 ? 0 : px[(gsize)y * w + (x - 1) / 3];
            guint byte = x == 0 ? 0 : c >> (8 * (2 - (x - 1) % 3)) & 255;
            a = (a + byte) % 65521;
            b = (b + a) % 65521;
        }
    }
    return (guint32)(b << 16 | a);
}

char *png_valid_check(
    const guint8 *data, gsize len, guint32 **pixels, guint *w, guint *h)
{
    g_autoptr(GByteArray) z = g_byte_array_new();
    char *why = chunks_read(data, len, z);
    if (why != NULL) {
        return why;
    }
    Reader r = { data, len, 0 };
    cairo_surface_t *img =
        cairo_image_surface_create_from_png_stream(read_bytes, &r);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        why =
            g_strdup_printf("libpng, through cairo, refuses it (\"%s\" "
                            "stands for any libpng error)",
                            cairo_status_to_string(cairo_surface_status(img)));
        cairo_surface_destroy(img);
        return why;
    }
    guint iw = (guint)cairo_image_surface_get_width(img);
    guint ih = (guint)cairo_image_surface_get_height(img);
    const guint8 *src = cairo_image_surface_get_data(img);
    gsize stride = (gsize)cairo_image_surface_get_stride(img);
    guint32 *px = g_new(guint32, (gsize)iw * ih);
    for (guint y = 0; y < ih; y++) {
        const guint32 *row = (const guint32 *)(src + y * stride);
        for (guint x = 0; x < iw; x++) {
            px[(gsize)y * iw + x] = row[x] & 0xffffff;
        }
    }
    cairo_surface_destroy(img);
    guint32 want = adler_of(px, iw, ih), got = be32(z->data + z->len - 4);
    if (want != got) {
        g_free(px);
        return g_strdup_printf("Adler-32 %08x at the stream's end, %08x "
                               "from the pixels",
                               got, want);
    }
    if (pixels != NULL) {
        *pixels = px;
        *w = iw;
        *h = ih;
    } else {
        g_free(px);
    }
    return NULL;
}
