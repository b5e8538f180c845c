/* replay-private.h: what the trace parsers (models/replay.c) hand the
 * reader (models/replay-reader.c): a line resolved without copying it. */
#pragma once

#include "models/replay.h"

G_BEGIN_DECLS

/* The lists of header names an Istio line can have (ReplayView.hdr_set):
 * each of its three headers present or not. */
#define REPLAY_HDR_SETS 8

/* One line resolved as a ReplayRecord is, but borrowing its strings from
 * the line and from the parser: valid until the parser reads another line
 * or the line's buffer changes. The reader copies it once, into the block
 * its request takes over; replay_parser_line() copies it into a record. */
typedef struct {
    gint64 t_ns;                    /* as ReplayRecord */
    UrlScheme scheme;               /* as ReplayRecord */
    gint lb_port;                   /* as ReplayRecord */
    const char *method;             /* as ReplayRecord, never NULL */
    const char *host;               /* host_len bytes (not NUL-ended) */
    gsize host_len;                 /* bytes of host */
    gboolean host_fold;             /* host is an authority's: lower-case
                                     * it as it is copied */
    const char *authority;          /* as ReplayRecord, never NULL */
    const char *path;               /* as ReplayRecord, never NULL */
    const char *sni;                /* as ReplayRecord, NULL: none */
    guint n_headers;                /* pairs in names/values */
    gboolean hdr_static;            /* the names are string literals (an
                                     * Istio line's), not the line's */
    guint hdr_set;                  /* with hdr_static, which list of
                                     * literals they are: bit i for the
                                     * i-th of the Istio line's headers
                                     * (< REPLAY_HDR_SETS), so that equal
                                     * lists are equal numbers */
    const char *const *hdr_names;   /* lower-case, distinct */
    const char *const *hdr_values;  /* the value of each name */
    char client_ip[16];             /* as ReplayRecord */
    /* What the parser knew anyway, so the reader measures nothing again:
     * the bytes of method, authority, path and sni (0 for a NULL sni),
     * of each header value and each header name, and client_ip read as
     * ipv4_parse() reads it (0: empty or not an address). */
    gsize method_len;
    gsize authority_len;
    gsize path_len;
    gsize sni_len;
    const gsize *hdr_value_lens;    /* n_headers of them */
    const gsize *hdr_name_lens;     /* n_headers of them */
    guint32 client_addr;
} ReplayView;

/* replay_parser_line() without copies: @text (@n bytes, NUL at text[n],
 * none before) is the line with or without its newline, and is changed
 * in place (the TEXT fields are ended where they lie). @v is set on
 * REPLAY_LINE_OK. Cost for an Istio TEXT line: one pass over it, no
 * allocation (memos for its time prefix and its local address). */
ReplayLine replay__parse_line(ReplayParser *p,
                              char *text,
                              gsize n,
                              gboolean first,
                              ReplayView *v,
                              char **why);

G_END_DECLS
