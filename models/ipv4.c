/* ipv4.c: dotted-quad IPv4 text to and from host-order integers (see
 * ipv4.h); the one parser the cluster, kube-proxy and the world share. */
#include "models/ipv4.h"

#include <string.h>

gboolean ipv4_parse(const char *text, guint32 *addr)
{
    if (text == NULL) {
        return FALSE;
    }
    const guchar *s = (const guchar *)text;
    guint32 a = 0;
    for (guint part = 0; part < 4; part++) {
        /* Up to three digits; inet_pton4 (glibc, and RFC 6943's strict
         * form) refuses a leading zero ("01"). Unsigned d: one compare
         * tells a digit. */
        guint d = (guint)s[0] - '0';
        if (d > 9) {
            return FALSE;
        }
        guint v = d;
        s++;
        if ((d = (guint)s[0] - '0') <= 9) {
            if (v == 0) {
                return FALSE;
            }
            v = v * 10 + d;
            s++;
            if ((d = (guint)s[0] - '0') <= 9) {
                v = v * 10 + d;
                s++;
                if (v > 255 || (guint)s[0] - '0' <= 9) {
                    return FALSE;
                }
            }
        }
        if (s[0] != (part < 3 ? '.' : '\0')) {
            return FALSE;
        }
        s++;
        a = (a << 8) | v;
    }
    *addr = a;
    return TRUE;
}

gboolean ipv4_parse_cidr(const char *text, guint32 *addr, guint *prefix)
{
    if (text == NULL) {
        return FALSE;
    }
    char buf[IPV4_TEXT_MAX];
    const char *slash = strchr(text, '/');
    gsize n = slash != NULL ? (gsize)(slash - text) : strlen(text);
    if (n >= sizeof buf) {
        return FALSE;
    }
    memcpy(buf, text, n);
    buf[n] = '\0';
    guint32 a;
    if (!ipv4_parse(buf, &a)) {
        return FALSE;
    }
    guint64 len = 32;
    if (slash != NULL &&
        !g_ascii_string_to_unsigned(slash + 1, 10, 0, 32, &len, NULL)) {
        return FALSE;
    }
    if (addr != NULL) {
        *addr = a;
    }
    if (prefix != NULL) {
        *prefix = (guint)len;
    }
    return TRUE;
}

char *ipv4_format(guint32 addr, char *buf)
{
    char *o = buf;
    for (gint shift = 24; shift >= 0; shift -= 8) {
        guint v = (addr >> shift) & 0xff;
        if (v >= 100) {
            *o++ = (char)('0' + v / 100);
        }
        if (v >= 10) {
            *o++ = (char)('0' + v / 10 % 10);
        }
        *o++ = (char)('0' + v % 10);
        *o++ = shift > 0 ? '.' : '\0';
    }
    return buf;
}
