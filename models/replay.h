/* replay.h: step 1 from a recorded trace: Istio access logs (TEXT T-1,
 * JSON T-2 or ksim-trace T-4) and CSV, read line by line and replayed as
 * arrivals, with memory bounded by a reorder window, not by the trace. */
#pragma once

#include <glib.h>

#include "models/path.h"
#include "models/world.h"

G_BEGIN_DECLS

/* Lines longer than this are bad lines (the reader's buffer is fixed). */
#define REPLAY_MAX_LINE (64 * 1024)
/* Envoy logs a request when it ends, so a log is ordered by end time and
 * %START_TIME% goes back by up to the longest request in flight. The
 * reader holds lines until it has read one this much later (trace time)
 * and replays in start order. 130 s covers the 127 s a client waits on a
 * dead node (tcp_syn_retries), so a run's own log replays in order. */
#define REPLAY_REORDER_WINDOW (130 * SIM_S)
/* ... but never more than this many lines at once: memory stays bounded
 * whatever the rate; a line later than that is sent at once ("late"). */
#define REPLAY_REORDER_MAX 65536

typedef enum {
    REPLAY_ISTIO_JSON, /* "istio-json": T-2 objects or T-4 compact ones */
    REPLAY_ISTIO_TEXT, /* "istio-text": Istio's default TEXT format T-1 */
    REPLAY_CSV,        /* "csv": timestamp,method,url[,headers] */
} ReplayFormat;

/* "istio-json", "istio-text", "csv". FALSE: unknown. */
gboolean replay_format_parse(const char *name, ReplayFormat *out);

/* One trace line resolved to what the client sends (T-4 field resolution).
 * Strings owned; free with replay_record_clear(). */
typedef struct {
    gint64 t_ns;        /* start time, ns since the Unix epoch */
    UrlScheme scheme;   /* http/https, or tcp/tls for a TCP line */
    gint lb_port;       /* load balancer port */
    char *method;       /* "GET"; "" for tcp/tls */
    char *host;         /* authority without port, lower case; "" for tcp
                         * without SNI */
    char *authority;    /* Host header as logged; "" for tcp/tls */
    char *path;         /* original path (X-ENVOY-ORIGINAL-PATH?:PATH); "/"
                         * for tcp/tls */
    char *sni;          /* requested_server_name, NULL: none */
    KvList *headers;    /* x-forwarded-for, user-agent, x-request-id (Istio
                         * formats) or the CSV's; NULL when none */
    char client_ip[16]; /* XFF's first entry, else the downstream remote
                         * address; "" when the line has neither or it is
                         * not IPv4 (the reader then numbers clients in
                         * 198.51.100.0/24, as the generators do) */
} ReplayRecord;

void replay_record_clear(ReplayRecord *rec);

/* Parses lines of one format. @s (nullable, borrowed, must outlive the
 * parser) supplies the port map: %DOWNSTREAM_LOCAL_ADDRESS% is a gateway
 * pod's targetPort, a node's nodePort or the load balancer's port, mapped
 * back to the load balancer port through the gateway Service and the
 * scenario's listeners; without @s the port is taken as is. */
typedef struct _ReplayParser ReplayParser;

ReplayParser *replay_parser_new(const Scenario *s, ReplayFormat fmt);
void replay_parser_free(ReplayParser *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ReplayParser, replay_parser_free)

typedef enum {
    REPLAY_LINE_OK,   /* @rec filled */
    REPLAY_LINE_SKIP, /* blank, or the CSV header line: not a request */
    REPLAY_LINE_BAD,  /* does not parse: @why says why */
} ReplayLine;

/* Parses one line (without or with its newline). @first: the file's first
 * line (a CSV header is allowed there). On REPLAY_LINE_BAD, @why (transfer
 * full) says why and @rec is left cleared. */
ReplayLine replay_parser_line(ReplayParser *p,
                              const char *line,
                              gboolean first,
                              ReplayRecord *rec,
                              char **why);

/* The load balancer port behind @address ("ip:port", "[v6]:port"), or
 * -1 when @address has no port. */
gint replay_parser_lb_port(const ReplayParser *p, const char *address);

/* RFC 3339 ("2024-01-01T00:00:00.123Z", offsets allowed; no zone means
 * UTC) or integer epoch milliseconds, to ns since the Unix epoch. */
gboolean replay_parse_time(const char *text, gint64 *out_ns);

/* ---- the reader that feeds the path ------------------------------------- */

typedef struct _Replay Replay;

/* Opens @ts's trace (ARRIVAL_TRACE). Errors, located at the traffic
 * entry's trace.file / trace.format node: SCENARIO_ERROR_IO when the file
 * cannot be opened, SCENARIO_ERROR_BAD_VALUE for an unknown format.
 * @w, @p and @ts are borrowed and must outlive the replay. */
Replay *replay_open(World *w, Path *p, const TrafficSpec *ts, GError **error);
/* Reads up to the first arrival and schedules it. Each arrival, when it
 * fires, sends its request and schedules the next: one pending event and
 * at most REPLAY_REORDER_MAX buffered lines at any time. Arrival of a line
 * at time t: start + (t - t_first) / speed; none at or after the entry's
 * stop (explicit `stop`, or the scenario's duration when one was set). */
void replay_start(Replay *rp);
/* Is an arrival still scheduled (the trace not yet exhausted)? */
gboolean replay_pending(const Replay *rp);
/* Requests sent, bad lines, and lines that came later than the reorder
 * window allowed (sent at once) so far. */
guint64 replay_n_sent(const Replay *rp);
guint64 replay_n_bad(const Replay *rp);
guint64 replay_n_late(const Replay *rp);
/* Closes the file and frees what is buffered. A pending arrival (its event
 * carries no data) is dropped unseen when the engine is cleared, as
 * path_free() does; the engine must not run after this. NULL: no-op. */
void replay_free(Replay *rp);

G_END_DECLS
