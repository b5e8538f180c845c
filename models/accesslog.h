/* accesslog.h: Istio's gateway access log (TEXT T-1, JSON T-2 of
 * ingress-stages-spec section 6): the line format, its tokenizer, and the
 * streaming writer behind `run --access-log`, so one run's log replays. */
#pragma once

#include <glib.h>

#include "models/request.h"
#include "models/world.h"

G_BEGIN_DECLS

/* Simulated time 0 is this instant in the log's %START_TIME%:
 * 2024-01-01T00:00:00.000Z. Fixed (never the wall clock) so that the same
 * scenario and seed write the same bytes. */
#define ACCESS_LOG_EPOCH_UNIX G_GINT64_CONSTANT(1704067200)

/* The load balancer's own address (it is also the source of its health
 * checks, models/lb.c). A request that never reached a node is logged with
 * %DOWNSTREAM_LOCAL_ADDRESS% = this address and the load balancer port, so
 * the replay knows the port it was sent to. */
#define ACCESS_LOG_LB_ADDRESS "203.0.113.1"

/* The operators of Istio's default TEXT format, in its order (T-1); their
 * JSON keys (T-2) are access_log_field_key(). */
typedef enum {
    ACCESS_LOG_START_TIME,            /* [%START_TIME%] */
    ACCESS_LOG_METHOD,                /* %REQ(:METHOD)% */
    ACCESS_LOG_PATH,                  /* %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% */
    ACCESS_LOG_PROTOCOL,              /* %PROTOCOL% */
    ACCESS_LOG_RESPONSE_CODE,         /* %RESPONSE_CODE% */
    ACCESS_LOG_RESPONSE_FLAGS,        /* %RESPONSE_FLAGS% */
    ACCESS_LOG_RESPONSE_CODE_DETAILS, /* %RESPONSE_CODE_DETAILS% */
    /* %CONNECTION_TERMINATION_DETAILS% */
    ACCESS_LOG_CONNECTION_TERMINATION_DETAILS,
    /* "%UPSTREAM_TRANSPORT_FAILURE_REASON%" */
    ACCESS_LOG_UPSTREAM_TRANSPORT_FAILURE_REASON,
    ACCESS_LOG_BYTES_RECEIVED, /* %BYTES_RECEIVED% */
    ACCESS_LOG_BYTES_SENT,     /* %BYTES_SENT% */
    ACCESS_LOG_DURATION,       /* %DURATION%, ms */
    /* %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%, ms */
    ACCESS_LOG_UPSTREAM_SERVICE_TIME,
    ACCESS_LOG_X_FORWARDED_FOR,           /* "%REQ(X-FORWARDED-FOR)%" */
    ACCESS_LOG_USER_AGENT,                /* "%REQ(USER-AGENT)%" */
    ACCESS_LOG_REQUEST_ID,                /* "%REQ(X-REQUEST-ID)%" */
    ACCESS_LOG_AUTHORITY,                 /* "%REQ(:AUTHORITY)%" */
    ACCESS_LOG_UPSTREAM_HOST,             /* "%UPSTREAM_HOST%" */
    ACCESS_LOG_UPSTREAM_CLUSTER,          /* %UPSTREAM_CLUSTER_RAW% */
    ACCESS_LOG_UPSTREAM_LOCAL_ADDRESS,    /* %UPSTREAM_LOCAL_ADDRESS% */
    ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS,  /* %DOWNSTREAM_LOCAL_ADDRESS% */
    ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS, /* %DOWNSTREAM_REMOTE_ADDRESS% */
    ACCESS_LOG_REQUESTED_SERVER_NAME,     /* %REQUESTED_SERVER_NAME% */
    /* %ROUTE_NAME%: the rest of the line (names may hold blanks) */
    ACCESS_LOG_ROUTE_NAME,
    ACCESS_LOG_N_FIELDS
} AccessLogField;

typedef enum {
    ACCESS_LOG_TEXT, /* Istio's default EnvoyTextLogFormat (T-1) */
    ACCESS_LOG_JSON, /* EnvoyJSONLogFormatIstio, one object a line (T-2) */
} AccessLogFormat;

/* "text" / "json" (as --access-log-format takes them). FALSE: unknown. */
gboolean access_log_format_parse(const char *name, AccessLogFormat *out);

/* T-2 JSON key of @f ("start_time", "route_name", ...). */
const char *access_log_field_key(AccessLogField f);
/* The field whose JSON key is @key, or -1. */
gint access_log_field_by_key(const char *key);

/* One line's values, indexed by AccessLogField; NULL is unset (Envoy's
 * "-" in TEXT, null in JSON). Who owns the strings is the user's business:
 * the writer fills it with borrowed ones; access_log_parse_text() puts
 * them all in one owned block, @store; others may own each value (free
 * either kind with access_log_fields_clear()); access_log_split_text()
 * leaves them in the caller's line. */
typedef struct {
    char *f[ACCESS_LOG_N_FIELDS]; /* field values, NULL: unset */
    char *store;                  /* non-NULL: every f[i] points into it */
} AccessLogFields;

/* Frees the store or else every value, and sets them to NULL. */
void access_log_fields_clear(AccessLogFields *a);

/* Appends one line in @fmt (with its final newline) to @out. TEXT writes
 * values raw, as Envoy does, except control characters, which become '_'
 * so that a line stays one line. JSON escapes, writes the T-2 keys in the
 * spec's order, null for unset, and numbers for response_code,
 * bytes_received, bytes_sent and duration (when they are decimal digits). */
void access_log_append(GString *out,
                       AccessLogFormat fmt,
                       const AccessLogFields *a);

/* Tokenizes one TEXT line (T-1) into @out (owned strings; "-" becomes
 * NULL). Quoted fields end at a '"' followed by a space or the end of the
 * line (Envoy does not escape quotes inside values); %ROUTE_NAME% is the
 * rest of the line. FALSE with a one-line @why (transfer full) when the
 * line does not have T-1's shape; @out is then cleared. */
gboolean
access_log_parse_text(const char *line, AccessLogFields *out, char **why);
/* The same without a copy, for a reader that owns its line buffer: the
 * line loses its trailing newline and blanks, and each field is
 * NUL-terminated where it lies as it is taken (so the line is no longer
 * one string, whether it split or not). @out borrows from @line: never
 * access_log_fields_clear() it. */
gboolean access_log_split_text(char *line, AccessLogFields *out, char **why);
/* One TEXT line's fields as access_log_split_text_len() gives them. */
typedef struct {
    AccessLogFields a;              /* as access_log_split_text() */
    gsize len[ACCESS_LOG_N_FIELDS]; /* the bytes of each: 0 when unset,
                                     * and for a quoted "" */
} AccessLogSpans;

/* access_log_split_text() for a reader that knows the line's length: @n
 * bytes (a NUL at line[n] and none before), and each field's bytes, so
 * that nobody measures them again. Cost: one pass of SSE2 compares over
 * the line (eight bytes at a time without SSE2), then a bit scan a blank
 * and a check or two a field for a line of the usual shape (one blank
 * between fields, none inside a value: access_log__split_fast()), else
 * the exact walk's bit scan and care a field; no allocation (but for
 * @why). */
gboolean
access_log_split_text_len(char *line, gsize n, AccessLogSpans *out, char **why);
/* The fields of what the client sent: all a replay reads (T-4). */
#define ACCESS_LOG_REQUEST_FIELDS                                             \
    (1u << ACCESS_LOG_START_TIME | 1u << ACCESS_LOG_METHOD |                  \
     1u << ACCESS_LOG_PATH | 1u << ACCESS_LOG_PROTOCOL |                      \
     1u << ACCESS_LOG_X_FORWARDED_FOR | 1u << ACCESS_LOG_USER_AGENT |         \
     1u << ACCESS_LOG_REQUEST_ID | 1u << ACCESS_LOG_AUTHORITY |               \
     1u << ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS |                              \
     1u << ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS |                             \
     1u << ACCESS_LOG_REQUESTED_SERVER_NAME)
/* access_log_split_text_len() that sets the ACCESS_LOG_REQUEST_FIELDS
 * only: the others are checked as ever (a line bad for one of them is
 * bad), but neither set in @out nor NUL-ended in @line; read none of them.
 * For the replay, which reads no more and splits every line. */
gboolean access_log_split_request(char *line,
                                  gsize n,
                                  AccessLogSpans *out,
                                  char **why);
/* access_log_split_text_len(), always with the portable scan that stands
 * in for SSE2 elsewhere and always the exact walk (never the fast path):
 * for tests, which check that both agree. */
gboolean access_log__split_text_portable(char *line,
                                         gsize n,
                                         AccessLogSpans *out,
                                         char **why);

/* The fast path of access_log_split_text_len() (for lines of the usual
 * shape: one blank between fields, none inside quoted values or the path)
 * alone: TRUE when it took the line, and then @out as the exact walk sets
 * it; FALSE when it left the line to the exact walk, with @line (but for
 * the NUL that ends its trimmed length) and @out untouched. For tests,
 * which check both that it takes the usual lines and that whatever it
 * takes, it takes as the exact walk (the portable split) does. */
gboolean access_log__split_fast(char *line, gsize n, AccessLogSpans *out);

/* "2024-01-01T00:00:00.123Z" for @unix_ms milliseconds since the Unix epoch
 * (UTC, milliseconds, as %START_TIME%'s default). @buf holds >= 32 bytes. */
void access_log_format_time(gint64 unix_ms, char *buf, gsize len);

/* ---- the writer of `run --access-log` ---------------------------------- */

typedef struct _AccessLog AccessLog;

/* Opens a temporary file beside @path (a special file such as a FIFO is
 * written directly); access_log_close() renames it to @path.
 * @w is borrowed (pod and node addresses) and must outlive the writer.
 * NULL with a G_FILE_ERROR when the file cannot be created. */
AccessLog *access_log_open(const char *path,
                           AccessLogFormat fmt,
                           const World *w,
                           GError **error);
/* The line Envoy would write for @r, which has ended (its outcome is set).
 * Cost: one formatted line into stdio's buffer; no allocation. */
void access_log_write(AccessLog *al, const Request *r);
/* access_log_write() as a PathDoneFunc (@al is the AccessLog). */
void access_log_on_done(const Request *r, gpointer al);
/* The fields of @r's line into @a (borrowing @r's strings and @al's
 * scratch buffers, valid until the next call). For tests. */
void access_log_fields_for(AccessLog *al, const Request *r, AccessLogFields *a);
/* Lines written so far. */
guint64 access_log_n_lines(const AccessLog *al);
/* Flushes and closes the file, not yet in place: FALSE with
 * "PATH:1:1: error: ..." when a write failed (a full disk), so a caller
 * can give up before writing anything else. Then access_log_close() or
 * access_log_discard(). */
gboolean access_log_finish(AccessLog *al, GError **error);
/* access_log_finish() if not done, then renames the file into place and
 * frees @al. On failure the temporary file is removed, @al freed and
 * @error set. */
gboolean access_log_close(AccessLog *al, GError **error);
/* Closes, removes the temporary file and frees @al (a run that failed).
 * NULL is a no-op. */
void access_log_discard(AccessLog *al);

G_END_DECLS
