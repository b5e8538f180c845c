/* results-private.h: the inside of Results, shared by results.c (folding
 * outcomes, results.json) and results-state.c (the exact state for merging
 * across processes); nothing else includes it. */
#pragma once

#include "models/results.h"

G_BEGIN_DECLS

/* Tally tables, and lookups remembered per table (a power of 2). */
#define RESULTS_N_TALLIES 6
#define RESULTS_RECENT 64

typedef struct {
    guint64 count; /* outcomes */
    Hist *latency; /* of responses and connections */
} Tally;

typedef struct {
    guint64 sent;
    guint64 by_class[6];          /* responses: index status/100 (1..5) */
    guint64 connections;
    guint64 failures[FAIL_N_REASONS];
    Hist *latency;                /* nullable until the first outcome */
} Second;

typedef struct {
    SimTime at;
    char *what;
} TimelineEvent;

struct _Results {
    char *scenario;
    guint64 seed;
    guint64 sent, responses, connections, failures;
    guint64 reused;       /* outcomes sent on a kept-alive connection */
    GHashTable *status;   /* (status << 1 | from_gateway) -> guint64* */
    guint64 *status_memo; /* the counter of status_memo_key, or NULL */
    gint status_memo_key;
    GHashTable *flags;    /* interned flags -> guint64* (gateway replies) */
    GHashTable *fails;    /* (step << 8 | reason) -> guint64* */
    GHashTable *routes;   /* interned route -> Tally* */
    GHashTable *clusters; /* interned cluster -> Tally* */
    GHashTable *pods;     /* interned pod -> Tally* */
    GHashTable *traffic;  /* interned traffic name -> Tally* */
    GHashTable *nodes;    /* interned node name -> Tally* (LB's choice) */
    GHashTable *gateway_pods; /* interned "ns/pod" -> Tally* */
    Hist *latency;        /* all responses and connections: read it
                           * through results__latency(), which makes it
                           * up to date */
    gboolean latency_stale; /* outcomes were recorded (into their seconds
                             * only) since latency was last made as the
                             * merge of every second's latency, which it
                             * always equals once made */
    guint64 phase_ns[PHASE_N]; /* summed over recorded outcomes */
    GArray *seconds;      /* Second, index = second of `sent` */
    SimTime sec_from;     /* the second second_at() found last starts
                           * here (RESULTS_NO_SECOND: none) ... */
    Second *sec_memo;     /* ... and is this one of seconds; forgotten
                           * (results__forget_second()) by anything else
                           * that resizes seconds */
    GArray *events;       /* TimelineEvent */
    guint64 bad_lines;
    GPtrArray *bad_examples; /* char* "file:line", the first
                              * RESULTS_BAD_EXAMPLES */
    /* Per tally table (results.c's order), the tallies last looked up,
     * direct-mapped by a hash of the key's address: a request's route,
     * cluster, traffic and pods are nearly always ones seen just before,
     * and a hash lookup each was a tenth of recording it. 64 slots, not 8:
     * a table has a handful of keys, and two of them sharing a slot (1 in
     * 8 per pair before) made every other request miss. Tallies are never
     * removed, so an entry stays valid; results_new() zeroes it. */
    struct {
        const char *key;
        Tally *tally;
    } recent[RESULTS_N_TALLIES][RESULTS_RECENT];
};

/* Results.sec_from of a memo that holds no second: at - it is never below
 * a second for a time >= 0. */
#define RESULTS_NO_SECOND (-4 * SIM_S)

/* For whoever resizes Results.seconds but second_at() (results.c). */
static inline void results__forget_second(Results *r)
{
    r->sec_from = RESULTS_NO_SECOND;
    r->sec_memo = NULL;
}

/* results_bad_line() keeps this many examples. */
#define RESULTS_BAD_EXAMPLES 20

/* Shared by results.c and results-state.c (defined in results.c). */
/* *@h[@key] += @n, a guint64 made when missing. */
/* @h's counter for @key (guint64* values), made at 0 when absent. */
guint64 *results__counter(GHashTable *h, gpointer key);
void results__add_count(GHashTable *h, gpointer key, guint64 n);
/* The Tally of @key (interned) in @h, made empty when missing. */
Tally *results__tally(GHashTable *h, const char *key);
/* @r's latency of all responses and connections: results_record() puts
 * an outcome into its second's histogram only (one histogram fewer per
 * request), and this merges the seconds' again, once per batch of
 * outcomes, the first time it is asked. Returns: (transfer none). */
const Hist *results__latency(const Results *r);
/* The tally tables in their fixed order: routes, clusters, pods, traffic,
 * nodes, gateway_pods. */
void results__tally_tables(const Results *r,
                           GHashTable *t[RESULTS_N_TALLIES]);
/* Per tally table (the order above): its latency is reported
 * (results.json's routes and traffic); the others only count. */
extern const gboolean results__tally_latency[RESULTS_N_TALLIES];
/* GArray clear function of TimelineEvent. */
void results__event_clear(gpointer p);
/* @h's keys in @cmp order, never hash order: same run, same bytes.
 * Returns: (transfer full) the keys, borrowed from @h. */
GPtrArray *results__sorted_keys(GHashTable *h, GCompareFunc cmp);
/* Comparators of results__sorted_keys() for integer and string keys. */
gint results__cmp_key_int(gconstpointer a, gconstpointer b);
gint results__cmp_key_str(gconstpointer a, gconstpointer b);

G_END_DECLS
