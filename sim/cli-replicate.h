/* cli-replicate.h: a replication set on this machine's cores (each
 * replication in a process of its own, pooled in replication order), and
 * what `run --replications` and `merge` write from a set: the same
 * results.json, charts and summary whichever of them made it. */
#pragma once

#include <glib.h>

#include "models/replications.h"
#include "models/scenario.h"
#include "sim/cli-shard.h"

G_BEGIN_DECLS

typedef struct {
    const Scenario *s;
    guint64 seed;       /* the set's base: replication i runs seed + i */
    guint first, count; /* the replications to run here */
    guint jobs;         /* processes at once, >= 1 */
    gsize max_pending;  /* runner_set_max_pending() of each */
    gboolean progress;  /* "N/M replications done" on stderr */
} ReplicateSpec;

/* What the runs of a set add up to besides their results. */
typedef struct {
    guint undrained; /* the first replication whose requests did not all
                      * end, or G_MAXUINT */
    guint64 events;  /* engine events of every run */
} SetTally;

void set_tally_init(SetTally *t);
void set_tally_add(SetTally *t, const ShardRun *run);

/* Gets each run's line for shard.json, in replication order; FALSE (with
 * @error) stops the set. */
typedef gboolean (*ReplicateRunFunc)(const char *run, gpointer data,
                                     GError **error);

/* Runs the replications, at most @spec->jobs at once, each in a fork()ed
 * process that sends its results state back through a pipe, and adds them
 * to @set (and @tally) in replication order, whatever order they finish
 * in: --jobs 1 and --jobs 8 give the same bytes. FALSE with @error
 * (printable as is) when a replication failed: the error it printed, or
 * the signal that killed it; the others are then stopped. */
gboolean cli_replicate(const ReplicateSpec *spec, Replications *set,
                       SetTally *tally, ReplicateRunFunc on_run,
                       gpointer data, GError **error);

typedef struct {
    const char *cmd;       /* "run" or "merge", for messages */
    const char *dir;       /* --out */
    gboolean json;         /* results.json on stdout, not the summary */
    gboolean quiet;        /* no summary */
    const ShardSet *shard; /* nullable: the set is this shard's share */
    ShardWriter *writer;   /* nullable: committed after the outputs */
    const char *made;      /* nullable: the topmost folder the command
                            * made (cli_make_dir()), removed on failure */
} SetOutput;

/* Writes DIR/results.json (replications_to_json(), "partial": false, and
 * "shard" for a shard's share) and the charts (of @s, the set's base
 * @seed in the diagram's title), then prints the summary with the engine
 * line of @tally. With one replication the files are those of a plain
 * `run`. Returns the exit status: 1 also when a replication's balance does
 * not hold (said on stderr, as a plain run says it). */
int cli_set_write(const Scenario *s, guint64 seed, const Replications *set,
                  const SetTally *tally, const SetOutput *o);

G_END_DECLS
