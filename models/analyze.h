/* analyze.h: `ingress-sim analyze`: istioctl analyze's messages for a
 * scenario's manifests (IST codes) plus what only the whole path shows (ISM
 * codes: load balancer, node ports, the compiled gateway). Models layer. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "models/scenario.h"

G_BEGIN_DECLS

/* Message levels, in istioctl's sort order (worst first).
 * Cite: istio pkg/config/analysis/diag/level.go and messages.go, Sort(). */
typedef enum {
    ANALYZE_ERROR,   /* the configuration does not work as written */
    ANALYZE_WARNING, /* probably not what was meant */
    ANALYZE_INFO,    /* worth knowing */
} AnalyzeLevel;

/* istioctl's exit status when messages at or above the failure threshold
 * (Error by default) were found. Cite: istio istioctl/cmd (exit codes),
 * ExitAnalyzerFoundIssues = 79. */
#define ANALYZE_EXIT_ISSUES 79

/* One kind of message: a row of docs/analyze.md. Static. */
typedef struct {
    const char *code;   /* "IST0101" (istioctl's) or "ISM0001" (ours) */
    const char *name;   /* istioctl's message name, e.g.
                         * "ReferencedResourceNotFound" */
    AnalyzeLevel level; /* fixed per code, as in istioctl's messages.yaml */
    const char *when;   /* one sentence: what makes the analyzers report it */
} AnalyzeMessageType;

/* One reported message. Strings are owned. */
typedef struct {
    const AnalyzeMessageType *type; /* code, name, level (static) */
    char *text;  /* the rendered message, as istioctl words it */
    char *kind;  /* origin kind ("Gateway", "Scenario"); NULL: none */
    char *ns;    /* origin namespace; NULL for cluster-scoped */
    char *name;  /* origin name; NULL when kind is NULL */
    char *file;  /* manifest file of the reference; NULL: unknown */
    guint line;  /* 1-based line in @file; 0: unknown */
    char *error; /* IST0106 only: the models' located error "FILE:LINE:COL:
                  * error: ...", for stderr and exit status 1 (DESIGN.md
                  * principle 7); else NULL */
} AnalyzeMessage;

void analyze_message_free(AnalyzeMessage *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AnalyzeMessage, analyze_message_free)

/* Every message type, IST codes then ISM codes, ascending. @n_out receives
 * the count. Returns: (transfer none). */
const AnalyzeMessageType *analyze_message_types(guint *n_out);
/* The type with @code, or NULL. */
const AnalyzeMessageType *analyze_message_type(const char *code);

/* "Error", "Warning", "Info". */
const char *analyze_level_name(AnalyzeLevel level);
/* Parses a level name (case-insensitive). FALSE when unknown. */
gboolean analyze_level_parse(const char *text, AnalyzeLevel *out);

/* Runs every analyzer on @s (its Cluster, load balancer and the gateway
 * snapshots compiled for its gateway pods). Invalid Istio objects become
 * IST0106 messages rather than errors, as in istioctl. Cost: one gateway
 * compile per distinct gateway workload, plus O(objects^2) comparisons.
 * Returns: (transfer full) AnalyzeMessage*, sorted as istioctl sorts them
 * (level, code, origin, text) and without duplicates. */
GPtrArray *analyze_scenario(const Scenario *s);

/* "Kind ns/name" (istioctl's friendly name), or NULL without an origin.
 * Returns: (transfer full). */
char *analyze_message_origin(const AnalyzeMessage *m);
/* "file:line", or NULL when unknown. Returns: (transfer full). */
char *analyze_message_reference(const AnalyzeMessage *m);

/* istioctl's log line: "Error [IST0101] (VirtualService ns/name f.yaml:12)
 * Referenced gateway not found: \"gw\"". @color adds istioctl's terminal
 * colors to the level. Returns: (transfer full), no newline.
 * Cite: istio istioctl/pkg/util/formatting/formatter.go, render(). */
char *analyze_message_format(const AnalyzeMessage *m, gboolean color);

/* The shape of `istioctl analyze -o json`: an array of {code,
 * documentationUrl, level, message, origin, reference}, origin and
 * reference present when known. Returns: (transfer full).
 * Cite: istio pkg/config/analysis/diag/message.go, Unstructured(). */
JsonNode *analyze_messages_to_json(const GPtrArray *msgs);

/* The first message that carries a located input error (an invalid Istio
 * object), or NULL. The command line prints every such error on stderr and
 * exits 1, as every subcommand does for bad input. */
const AnalyzeMessage *analyze_input_error(const GPtrArray *msgs);

/* TRUE when some message is at @threshold or worse. */
gboolean analyze_found_issues(const GPtrArray *msgs, AnalyzeLevel threshold);

G_END_DECLS
