/* cli.h: the subcommands of ingress-sim and what they share (loading a
 * scenario with located errors, atomic file writes, exit codes). The only
 * layer that ties models, engine and viz together (DESIGN.md). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "models/app-response.h"
#include "models/results.h"
#include "models/scenario.h"
#include "models/tls.h"
#include "models/trace.h"

G_BEGIN_DECLS

/* Exit statuses (SCENARIO.md). */
#define CLI_OK 0
#define CLI_ERROR 1
#define CLI_USAGE 2

/* Each subcommand: argv[0] is the subcommand name. */
int cli_run(int argc, char **argv);
int cli_trace(int argc, char **argv);
int cli_config_dump(int argc, char **argv);
int cli_iptables(int argc, char **argv);
int cli_analyze(int argc, char **argv);
int cli_diagram(int argc, char **argv);
int cli_chart(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_merge(int argc, char **argv);

/* Parses @entries for subcommand @name; prints the error and a hint on
 * failure. Returns FALSE on a usage error. */
gboolean cli_parse(const char *name, const char *params, const char *summary,
                   const char *description, const GOptionEntry *entries,
                   int *argc, char ***argv);

/* Loads the scenario, printing its notes (skipped kinds) to stderr.
 * NULL: the error was printed. */
Scenario *cli_load(const char *path);

/* Usage checks the subcommands share; each prints "ingress-sim CMD:
 * OPT: problem" and returns FALSE (then exit CLI_USAGE). */
/* Each of @urls (@n of them) parses as a request URL. @opt may be "". */
gboolean cli_check_urls(const char *cmd, const char *opt,
                        const char *const *urls, guint n);
/* --at T: @text NULL leaves *out at 0. */
gboolean cli_parse_at(const char *cmd, const char *text, SimTime *out);
/* --duration T applied as `run` applies it: the scenario ends at T (also a
 * replayed trace), generators without a stop of their own run until T. */
gboolean cli_apply_duration(const char *cmd, Scenario *s, const char *text);

/* Prints "ingress-sim: <message>" (messages from models are already
 * "FILE:LINE:COL: error: ..."). */
void cli_print_error(const GError *error);

/* Writes @contents to @path through a temporary file and a rename, so a
 * failure leaves any previous file intact. */
gboolean cli_write_atomic(const char *path, const char *contents, gssize len,
                          GError **error);
/* JSON text of @node, pretty and with a final newline (transfer full). */
char *cli_json_text(JsonNode *node, gboolean pretty);

/* Creates the output folder @dir and its missing parents. *@made gets the
 * topmost folder this created (transfer full), NULL when @dir was there:
 * what cli_unmake_dir() removes again when the command fails. FALSE with
 * "DIR:1:1: error: cannot create folder: ..." */
gboolean cli_make_dir(const char *dir, char **made, GError **error);
/* Removes @dir and its parents up to @made (nullable: nothing), each only
 * when empty: a failed command leaves no folder it made behind. */
void cli_unmake_dir(const char *dir, const char *made);

/* Writes @dir/results.json (@text, the document @json) and the run's
 * pictures of @s. All or nothing: on failure every file it wrote is
 * removed again. @written (nullable) gets their paths (transfer full), for
 * a caller whose later step can still fail (cli_remove_files()). */
gboolean cli_write_outputs(const Scenario *s, guint64 seed, JsonNode *json,
                           const char *text, const char *dir,
                           GPtrArray *written, GError **error);
/* Removes each path of @written (char*). */
void cli_remove_files(const GPtrArray *written);

/* JSON files the commands read (results.json, shard.json) nest no deeper
 * than this: json-glib's parser recurses once a level, and a hostile file
 * of 100k '[' overflowed the stack. */
#define CLI_JSON_MAX_DEPTH 64

/* Reads the JSON file @path into @text (transfer full) and @len: a
 * regular file only (a FIFO would block, a pipe cannot be read again),
 * nested at most CLI_JSON_MAX_DEPTH deep; errors as "PATH:LINE:COLUMN:
 * error: ...". */
gboolean cli_json_read(const char *path, char **text, gsize *len,
                       GError **error);
/* Parses @text (@len bytes, read from @path) with @parser, whose signal
 * handlers see the parse; a syntax error as "PATH:LINE:COLUMN: error:". */
gboolean cli_json_parse(JsonParser *parser, const char *path,
                        const char *text, gsize len, GError **error);
/* cli_json_read() then cli_json_parse(). */
gboolean cli_json_load(JsonParser *parser, const char *path, GError **error);

/* One traced request (what `trace` and `diagram --url` share). */
typedef struct {
    const char *url;          /* as typed */
    const char *method;       /* nullable: GET */
    const KvList *headers;    /* nullable; "host" overrides the authority */
    const char *sni;          /* nullable: the URL host for https/tls */
    gboolean no_sni;          /* send none */
    SimTime at;               /* simulated time to send at */
    gint64 seed;              /* -1: the scenario's */
    const TlsCert *anchors;   /* nullable (--cacert) */
    const TlsCert *client_cert; /* nullable (--cert) */
    const char *const *alpn;  /* ALPN offer, NULL-terminated; nullable:
                               * none (the trace command offers curl's
                               * "h2", "http/1.1" on https) */
    const char *body;         /* request body, or the bytes a tcp/tls stream
                               * sends, e.g. "hello\n" to tcp-echo;
                               * nullable */
} TraceRequest;

typedef struct {
    Trace *tr;                /* every step and fact (owned) */
    RequestOutcome out;       /* how it ended */
    Url url;                  /* the parsed URL (owned) */
    char *sni;                /* SNI sent, or NULL (owned) */
    char *location;           /* redirect Location, or NULL (owned) */
    char *up_path;            /* path and authority sent upstream (owned) */
    char *up_authority;
    gboolean ended;           /* FALSE: still in flight after an hour */
    AppResponse *response;    /* what the client read: status line,
                               * headers, body (HTTP), or the bytes a
                               * stream received; NULL on a failure
                               * (owned) */
    const char *tls_verify;   /* the client's check of the server
                               * certificate (--cacert): "ok", "failed", or
                               * NULL when it did not verify (static) */
    char *tls_subject;        /* subject of the certificate a pod served
                               * itself (TLS passthrough), or NULL (owned) */
} TraceResult;

/* Runs the scenario's world (failures, health checks) up to @req->at, sends
 * the request and runs until it ends. FALSE with @error for a bad URL or a
 * scenario the gateway compiler rejects. */
gboolean cli_trace_one(const Scenario *s, const TraceRequest *req,
                       TraceResult *out, GError **error);
void trace_result_clear(TraceResult *r);

/* ---- narrated traces (sim/cli-trace-text.c) ---- */

typedef struct {
    gboolean verbose; /* every recorded decision, rule by rule */
    gboolean explain; /* two or three sentences of background a step */
} TraceTextOptions;

/* One step of the article's nine as a reader needs it: consecutive
 * records of the same step, condensed (kube-proxy's rule walk included). */
typedef struct {
    guint step;             /* 1..9; the client's last word is step 1 too */
    const char *name;       /* "load balancer" ... (static) */
    char *where;            /* node, or NULL */
    SimTime at;             /* when the step started */
    SimTime took;           /* until the next step started; -1: the last */
    char *sentence;         /* what was decided, one sentence */
    char *rule;             /* the rule that decided, or NULL */
    const char *background; /* for newcomers (static), or NULL */
} NarratedStep;

typedef struct {
    GArray *steps;  /* NarratedStep, in order */
    char *outcome;  /* how it ended, one sentence */
    char *timing;   /* where the time went, one sentence */
    char *hint;     /* what to change, or NULL when nothing failed */
} Narration;

/* Returns: (transfer full) the narration of @t. @s (nullable) is the
 * scenario it ran in; the hint names its ports, nodes and Gateways. */
Narration *cli_trace_narrate(const Scenario *s, const TraceResult *t);
void narration_free(Narration *n);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Narration, narration_free)
/* What to change, keyed on the failing step, reason and flags; NULL when
 * the request succeeded. Returns: (transfer full). */
char *cli_trace_hint(const Scenario *s, const TraceResult *t);
/* The text `trace` prints. Returns: (transfer full). */
char *cli_trace_text(const Scenario *s, const TraceResult *t,
                     const TraceTextOptions *opt);
/* "304us", "2.3ms", "127s". Returns: (transfer full). */
char *cli_duration_text(SimTime t);

G_END_DECLS
