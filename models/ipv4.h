/* ipv4.h: IPv4 addresses as the models compare them (host-order guint32)
 * and as people write them, read and written without libc's locale-aware,
 * allocation-prone paths: every simulated packet goes through here. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longest dotted form with its NUL: "255.255.255.255". */
#define IPV4_TEXT_MAX 16

/* "a.b.c.d", each part 0..255 in decimal as inet_pton(AF_INET) accepts it
 * (no leading zeros, nothing after). TRUE and *@addr (host order), or
 * FALSE and *@addr untouched. */
gboolean ipv4_parse(const char *text, guint32 *addr);

/* "a.b.c.d" or "a.b.c.d/n" (n 0..32; no "/n" means 32): the address as
 * written (host bits kept) and the prefix length. FALSE for anything
 * else. Either out pointer may be NULL. */
gboolean ipv4_parse_cidr(const char *text, guint32 *addr, guint *prefix);

/* Writes @addr's dotted form into @buf (at least IPV4_TEXT_MAX bytes) and
 * returns @buf. */
char *ipv4_format(guint32 addr, char *buf);

G_END_DECLS
