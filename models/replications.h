/* replications.h: the results of a replication set (replication i of the
 * set runs the scenario with seed base + i): pooled across replications in
 * replication order, each replication's key figures, and their mean with a
 * 95% confidence interval. What `run --replications` and `merge` write. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "models/results.h"

G_BEGIN_DECLS

typedef struct _Replications Replications;

/* An empty set: pooled results named @scenario with seed @base_seed.
 * Returns: (transfer full). */
Replications *replications_new(const char *scenario, guint64 base_seed);
void replications_free(Replications *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Replications, replications_free)

/* Folds in replication @index (seed @seed): results_merge() into the
 * pooled results and its key figures noted. @index must be greater than
 * the last one added: pooling in replication order is what makes the
 * bytes the same however the set was run (one process or many, any
 * --jobs, sharded and merged). @r is borrowed. */
void replications_add(Replications *set, guint index, guint64 seed,
                      const Results *r);

/* Replications added so far. */
guint replications_n(const Replications *set);
/* The pooled results (transfer none). */
const Results *replications_pooled(const Replications *set);

/* results.json of the set: with one replication exactly results_to_json()
 * of it (a plain run's document); with more, the pooled document plus
 *   "replications": [{"replication", "seed", "sent", "responses",
 *                     "connections", "failures", "p50_ms", "p99_ms"}...]
 *   "across_replications": {"n", "confidence": 0.95,
 *       FIGURE: {"mean", "stddev", "ci95": [low, high]}...}
 * for the figures sent, failures, failure_ratio (failures / sent), p50_ms
 * and p99_ms (there is always more than one replication here).
 * The interval is mean +- t(0.975, n-1) * stddev / sqrt(n), Student's t
 * from a table (exact to 9 digits up to 30 degrees of freedom, within
 * 3e-5 beyond), so no libm call can make two machines disagree.
 * Returns: (transfer full). */
JsonNode *replications_to_json(const Replications *set);

/* The summary `run` prints: results_summary() of the pool, then one line
 * per figure with its mean and interval. Returns: (transfer full). */
char *replications_summary(const Replications *set);

/* Student's t quantile at 0.975 for @df >= 1 degrees of freedom. */
double replications_t975(guint df);

G_END_DECLS
