/* cli-shard.h: the shard file (DIR/shard.json): the exact, mergeable state
 * of one share of a replication set, so `merge` on one machine writes the
 * results.json that one process running the whole set would have written.
 * Also how a set is cut into shards and what identifies a set. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "models/results.h"
#include "models/scenario.h"

G_BEGIN_DECLS

/* The layout of shard.json, a JSON object (docs/scaling.md):
 *   "format": "ingress-sim shard", "version": SHARD_VERSION,
 *   "ingress_sim": the version that ran it,
 *   "scenario", "scenario_file", "scenario_sha256", "duration" (--duration
 *   as given, or null), "seed" (the set's base seed), "replications" (R),
 *   "shard" (K), "shards" (N),
 *   "runs": one object a line, in replication order:
 *     {"replication": i, "seed": base + i, "drained": bool, "events": N,
 *      "state": results_state_to_json()}
 * A reader refuses another format or version rather than misread it. */
#define SHARD_FORMAT "ingress-sim shard"
#define SHARD_VERSION 1

/* A set's size, bounded so a typo cannot start a billion processes one
 * after the other (run) nor make merge allocate per shard of a forged
 * header; a cluster runs bigger sets as several sets. */
#define RUN_MAX_REPLICATIONS 100000

/* What makes shards parts of one set (all but @shard must agree). */
typedef struct {
    char *ingress_sim;     /* PACKAGE_VERSION of the run */
    char *scenario;        /* metadata.name */
    char *scenario_file;   /* the path given to run */
    char *scenario_sha256; /* shard_scenario_sha256() */
    char *duration;        /* --duration as given, or NULL */
    guint64 seed;          /* replication i ran seed + i */
    guint replications;    /* R, the whole set */
    guint shard;           /* K, 1..N */
    guint shards;          /* N */
} ShardSet;

void shard_set_clear(ShardSet *set);

/* "K/N" with 1 <= K <= N. FALSE with *@msg (transfer full) saying what is
 * wrong. */
gboolean shard_parse_spec(const char *text, guint *k, guint *n, char **msg);

/* Shard K of N of R replications runs the contiguous block *@first ..
 * *@first + *@count - 1 (0-based): floor((K-1)R/N) up to floor(KR/N), so
 * blocks differ in size by one at most and a shard is a seed range. */
void shard_block(guint k, guint n, guint r, guint *first, guint *count);

/* SHA-256 (hex) of everything the scenario read: the scenario file, each
 * manifest file it included or applies, each trace it replays, each one's
 * length and bytes in load order. Paths are not part of it: the same files
 * elsewhere give the same digest. NULL and @error when a file cannot be
 * read. */
char *shard_scenario_sha256(const Scenario *s, GError **error);

/* One replication's run, besides its results. */
typedef struct {
    guint index;      /* the replication, 0-based */
    guint64 seed;     /* the set's seed + index */
    gboolean drained; /* every request ended: the balance holds */
    guint64 events;   /* engine events handled */
} ShardRun;

/* @run and @r as a line of shard.json (and what a replication's process
 * sends to `run`), without a newline. Returns: (transfer full). */
char *shard_run_text(const ShardRun *run, const Results *r);
/* Reads shard_run_text()'s object back into *@run. Returns: (transfer
 * full) the run's results, or NULL and a SCENARIO_ERROR without location
 * (the caller adds it). */
Results *shard_run_parse(JsonNode *node, ShardRun *run, GError **error);

/* ---- writing --------------------------------------------------------- */

typedef struct _ShardWriter ShardWriter;

/* Starts DIR/shard.json as a temporary file beside it. */
ShardWriter *shard_writer_new(const char *dir, const ShardSet *set,
                              GError **error);
/* Appends a run (shard_run_text()); runs go in replication order. */
gboolean shard_writer_add(ShardWriter *w, const char *run, GError **error);
/* Closes the file and renames it to DIR/shard.json. */
gboolean shard_writer_commit(ShardWriter *w, GError **error);
/* Frees @w; the temporary file of an uncommitted writer is removed. */
void shard_writer_free(ShardWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShardWriter, shard_writer_free)

/* ---- reading --------------------------------------------------------- */

typedef struct _ShardFile ShardFile;

/* Reads and checks one shard.json: JSON, format and version, every member
 * of ShardSet present with its type, "runs" an array. NULL and a located
 * SCENARIO_ERROR ("PATH:LINE:COL: error: ...") otherwise. */
ShardFile *shard_file_load(const char *path, GError **error);
void shard_file_free(ShardFile *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShardFile, shard_file_free)

const char *shard_file_path(const ShardFile *f);
const ShardSet *shard_file_set(const ShardFile *f);
guint shard_file_n_runs(const ShardFile *f);
/* "PATH:LINE:COL" of the key of top-level member @member (1:1 when the
 * file has none), or of run @run when @member is NULL. Returns: (transfer
 * full). */
char *shard_file_where(const ShardFile *f, const char *member, guint run);
/* Sets @error to "WHERE: error: MESSAGE", WHERE as shard_file_where(). */
void shard_file_error(const ShardFile *f, const char *member, guint run,
                      GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
/* Run @i of the file: its results (transfer full), and the located error
 * when it is not a run or not the replication the file's block says. */
Results *shard_file_run(const ShardFile *f, guint i, ShardRun *run,
                        GError **error);

G_END_DECLS
