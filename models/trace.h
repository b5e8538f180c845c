/* trace.h: the record of why a request went where it went. Every model's
 * decision function takes a nullable Trace and, when given one, says what it
 * decided and the rule that made it (DESIGN principle 1: one decision path;
 * `trace` and `run` call the same functions). */
#pragma once

#include <glib.h>

#include "sim/time.h"

G_BEGIN_DECLS

typedef struct {
    guint step;       /* 1..9, the article's numbering */
    char *component;  /* "load balancer", "kube-proxy", "Envoy listener" ... */
    char *node;       /* node where it happened, or NULL */
    SimTime at;       /* simulated time the step started */
    char *decision;   /* what was decided, one sentence */
    char *reason;     /* the rule, with its source where apt; nullable */
} TraceStep;

typedef struct _Trace Trace;

Trace *trace_new(void);
void trace_free(Trace *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Trace, trace_free)

/* Appends a step. @reason_fmt may be NULL. Callers on the hot path guard
 * with `if (tr != NULL)` (or use TRACE below) so no string is built when no
 * one traces. */
void trace_add(Trace *t, guint step, const char *component, const char *node,
               SimTime at, const char *decision, const char *reason_fmt, ...)
    G_GNUC_PRINTF(7, 8);

/* Like trace_add, with a formatted decision and a fixed reason. */
void trace_addf(Trace *t, guint step, const char *component, const char *node,
                SimTime at, const char *reason, const char *decision_fmt, ...)
    G_GNUC_PRINTF(7, 8);

guint trace_len(const Trace *t);
const TraceStep *trace_step(const Trace *t, guint i);

/* Named facts a step establishes (listener, route_config, cluster, pod...),
 * so `trace --json` can fill its fixed keys from the same run. Later values
 * replace earlier ones (a retry's pod replaces the first). */
void trace_set(Trace *t, const char *key, const char *value);
void trace_set_int(Trace *t, const char *key, gint64 value);
/* A list-valued fact (filter chain server names). @values NULL-terminated. */
void trace_set_strv(Trace *t, const char *key, const char *const *values);
const char *trace_get(const Trace *t, const char *key);      /* nullable */
gboolean trace_get_int(const Trace *t, const char *key, gint64 *out);
const char *const *trace_get_strv(const Trace *t, const char *key);

#define TRACE(tr, ...)                  \
    do {                                \
        if ((tr) != NULL) {             \
            trace_add((tr), __VA_ARGS__); \
        }                               \
    } while (0)

G_END_DECLS
