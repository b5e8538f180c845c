/* trace.c: keeps the steps and named facts a traced request collects on its
 * way; read by `trace` (text and JSON) and by `diagram --url`. */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "models/trace.h"

typedef struct {
    char *key;   /* fact name ("listener") */
    char *value; /* text value, or NULL for a list */
    GStrv list;  /* list value, or NULL */
    gboolean is_int; /* value holds a decimal integer */
} TraceFact;

struct _Trace {
    GArray *steps; /* TraceStep */
    GArray *facts; /* TraceFact, first-set order */
};

static void step_clear(gpointer p)
{
    TraceStep *s = p;
    g_free(s->component);
    g_free(s->node);
    g_free(s->decision);
    g_free(s->reason);
}

static void fact_clear(gpointer p)
{
    TraceFact *f = p;
    g_free(f->key);
    g_free(f->value);
    g_strfreev(f->list);
}

Trace *trace_new(void)
{
    Trace *t = g_new0(Trace, 1);
    t->steps = g_array_new(FALSE, TRUE, sizeof(TraceStep));
    g_array_set_clear_func(t->steps, step_clear);
    t->facts = g_array_new(FALSE, TRUE, sizeof(TraceFact));
    g_array_set_clear_func(t->facts, fact_clear);
    return t;
}

void trace_free(Trace *t)
{
    if (t == NULL) {
        return;
    }
    g_array_unref(t->steps);
    g_array_unref(t->facts);
    g_free(t);
}

static void add_step(Trace *t, guint step, const char *component,
                     const char *node, SimTime at, char *decision,
                     char *reason)
{
    TraceStep s = {
        .step = step,
        .component = g_strdup(component),
        .node = g_strdup(node),
        .at = at,
        .decision = decision,
        .reason = reason,
    };
    g_array_append_val(t->steps, s);
}

void trace_add(Trace *t, guint step, const char *component, const char *node,
               SimTime at, const char *decision, const char *reason_fmt, ...)
{
    g_return_if_fail(t != NULL);
    char *reason = NULL;
    if (reason_fmt != NULL) {
        va_list ap;
        va_start(ap, reason_fmt);
        reason = g_strdup_vprintf(reason_fmt, ap);
        va_end(ap);
    }
    add_step(t, step, component, node, at, g_strdup(decision), reason);
}

void trace_addf(Trace *t, guint step, const char *component, const char *node,
                SimTime at, const char *reason, const char *decision_fmt, ...)
{
    g_return_if_fail(t != NULL);
    va_list ap;
    va_start(ap, decision_fmt);
    char *decision = g_strdup_vprintf(decision_fmt, ap);
    va_end(ap);
    add_step(t, step, component, node, at, decision, g_strdup(reason));
}

guint trace_len(const Trace *t)
{
    return t->steps->len;
}

const TraceStep *trace_step(const Trace *t, guint i)
{
    g_return_val_if_fail(i < t->steps->len, NULL);
    return &g_array_index(t->steps, TraceStep, i);
}

static TraceFact *fact_slot(Trace *t, const char *key)
{
    for (guint i = 0; i < t->facts->len; i++) {
        TraceFact *f = &g_array_index(t->facts, TraceFact, i);
        if (strcmp(f->key, key) == 0) {
            g_free(f->value);
            g_strfreev(f->list);
            f->value = NULL;
            f->list = NULL;
            f->is_int = FALSE;
            return f;
        }
    }
    TraceFact nf = { .key = g_strdup(key) };
    g_array_append_val(t->facts, nf);
    return &g_array_index(t->facts, TraceFact, t->facts->len - 1);
}

static const TraceFact *fact_find(const Trace *t, const char *key)
{
    for (guint i = 0; i < t->facts->len; i++) {
        const TraceFact *f = &g_array_index(t->facts, TraceFact, i);
        if (strcmp(f->key, key) == 0) {
            return f;
        }
    }
    return NULL;
}

void trace_set(Trace *t, const char *key, const char *value)
{
    g_return_if_fail(t != NULL);
    fact_slot(t, key)->value = g_strdup(value);
}

void trace_set_int(Trace *t, const char *key, gint64 value)
{
    g_return_if_fail(t != NULL);
    TraceFact *f = fact_slot(t, key);
    f->value = g_strdup_printf("%" G_GINT64_FORMAT, value);
    f->is_int = TRUE;
}

void trace_set_strv(Trace *t, const char *key, const char *const *values)
{
    g_return_if_fail(t != NULL);
    fact_slot(t, key)->list =
        values != NULL ? g_strdupv((char **)values) : g_new0(char *, 1);
}

const char *trace_get(const Trace *t, const char *key)
{
    const TraceFact *f = fact_find(t, key);
    return f != NULL ? f->value : NULL;
}

gboolean trace_get_int(const Trace *t, const char *key, gint64 *out)
{
    const TraceFact *f = fact_find(t, key);
    if (f == NULL || !f->is_int) {
        return FALSE;
    }
    *out = g_ascii_strtoll(f->value, NULL, 10);
    return TRUE;
}

const char *const *trace_get_strv(const Trace *t, const char *key)
{
    const TraceFact *f = fact_find(t, key);
    return f != NULL ? (const char *const *)f->list : NULL;
}
