/* cli-merge.c: `ingress-sim merge`: combines the shard.json files of a
 * replication set, run anywhere, into the results.json and charts that one
 * `run --replications R` would have written, byte for byte. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "models/ynode.h"
#include "sim/cli-replicate.h"
#include "sim/cli-shard.h"
#include "sim/cli.h"

/* One member of ShardSet as text, to compare and to quote. */
typedef struct {
    const char *member; /* in shard.json */
    char *value;        /* owned */
    const char *why;    /* what differing means */
} SetField;

#define N_SET_FIELDS 7

static void set_fields(const ShardSet *s, SetField f[N_SET_FIELDS])
{
    f[0] = (SetField){ "scenario", g_strdup_printf("'%s'", s->scenario),
                       "shards of different scenarios" };
    f[1] = (SetField){ "scenario_sha256", g_strdup(s->scenario_sha256),
                       "the scenario, or a file it reads, changed between "
                       "shards" };
    f[2] = (SetField){ "seed", g_strdup_printf("%" G_GUINT64_FORMAT, s->seed),
                       "shards of sets with different seeds" };
    f[3] = (SetField){ "duration",
                       s->duration != NULL
                           ? g_strdup_printf("'%s'", s->duration)
                           : g_strdup("null (spec.duration)"),
                       "shards run with different --duration" };
    f[4] = (SetField){ "replications",
                       g_strdup_printf("%u", s->replications),
                       "shards of sets of different sizes (--replications)" };
    f[5] = (SetField){ "shards", g_strdup_printf("%u", s->shards),
                       "shards of different splits (N in --shard K/N)" };
    f[6] = (SetField){ "ingress_sim", g_strdup_printf("'%s'", s->ingress_sim),
                       "shards run by different versions of ingress-sim" };
}

static void set_fields_clear(SetField f[N_SET_FIELDS])
{
    for (guint i = 0; i < N_SET_FIELDS; i++) {
        g_free(f[i].value);
    }
}

/* @f is of the same set as @first (read from @first_path). */
static gboolean same_set(const ShardFile *f, const ShardSet *first,
                         const char *first_path, GError **error)
{
    SetField a[N_SET_FIELDS], b[N_SET_FIELDS];
    set_fields(first, a);
    set_fields(shard_file_set(f), b);
    gboolean ok = TRUE;
    for (guint i = 0; i < N_SET_FIELDS && ok; i++) {
        if (strcmp(a[i].value, b[i].value) != 0) {
            shard_file_error(f, a[i].member, 0, error,
                             "%s %s here, %s in %s: %s cannot merge",
                             a[i].member, b[i].value, a[i].value, first_path,
                             a[i].why);
            ok = FALSE;
        }
    }
    set_fields_clear(a);
    set_fields_clear(b);
    return ok;
}

/* "2/4 (replications 1..1)" for each shard of @set not in @have. */
static char *missing_text(const ShardSet *set, GPtrArray *have)
{
    GString *s = g_string_new(NULL);
    guint n = 0;
    for (guint k = 1; k <= set->shards; k++) {
        if (g_ptr_array_index(have, k - 1) != NULL) {
            continue;
        }
        if (n == 10) { /* a list, not a wall of text */
            g_string_append(s, ", and more");
            break;
        }
        guint first = 0, count = 0;
        shard_block(k, set->shards, set->replications, &first, &count);
        g_string_append_printf(s,
                               "%s%u/%u (replications %u..%u, seeds "
                               "%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ")",
                               n++ > 0 ? ", " : "", k, set->shards, first,
                               first + count - 1, set->seed + first,
                               set->seed + first + count - 1);
    }
    return g_string_free(s, FALSE);
}

/* Pass 1: every file read and checked against the first; each shard once,
 * all present. @by_shard gets the paths by K - 1. @set gets the first
 * file's set (the caller clears it). */
static int check_shards(char **paths, guint n_paths, ShardSet *set,
                        GPtrArray *by_shard, GError **error)
{
    g_autofree char *first_path = NULL;
    g_autoptr(GPtrArray) where = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < n_paths; i++) {
        g_autoptr(ShardFile) f = shard_file_load(paths[i], error);
        if (f == NULL) {
            return CLI_ERROR;
        }
        const ShardSet *fs = shard_file_set(f);
        if (i == 0) {
            *set = (ShardSet){
                .ingress_sim = g_strdup(fs->ingress_sim),
                .scenario = g_strdup(fs->scenario),
                .scenario_file = g_strdup(fs->scenario_file),
                .scenario_sha256 = g_strdup(fs->scenario_sha256),
                .duration = g_strdup(fs->duration),
                .seed = fs->seed,
                .replications = fs->replications,
                .shard = fs->shard,
                .shards = fs->shards,
            };
            first_path = g_strdup(paths[i]);
            g_ptr_array_set_size(by_shard, (gint)fs->shards);
            g_ptr_array_set_size(where, (gint)fs->shards);
        } else if (!same_set(f, set, first_path, error)) {
            return CLI_ERROR;
        }
        guint k = fs->shard;
        const char *had = g_ptr_array_index(by_shard, k - 1);
        if (had != NULL && strcmp(had, paths[i]) == 0) {
            shard_file_error(f, "shard", 0, error, "%s given twice",
                             paths[i]);
            return CLI_ERROR;
        }
        if (had != NULL) {
            shard_file_error(f, "shard", 0, error,
                             "shard %u/%u again: %s is shard %u/%u too (each "
                             "shard once)",
                             k, fs->shards,
                             (char *)g_ptr_array_index(where, k - 1), k,
                             fs->shards);
            return CLI_ERROR;
        }
        g_ptr_array_index(by_shard, k - 1) = paths[i];
        g_ptr_array_index(where, k - 1) = shard_file_where(f, "shard", 0);
    }
    g_autofree char *missing = missing_text(set, by_shard);
    if (missing[0] != '\0') {
        g_autofree char *dur =
            set->duration != NULL
                ? g_strdup_printf(" --duration %s", set->duration)
                : g_strdup("");
        /* Located at the first shard given: the set it belongs to. */
        const char *at = NULL;
        for (guint k = 0; k < where->len && at == NULL; k++) {
            at = g_ptr_array_index(where, k);
        }
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_BAD_REFERENCE,
                    "%s: error: the set of %u replications "
                    "of '%s' (seed %" G_GUINT64_FORMAT ") is in %u shards; "
                    "missing: %s. Run each with: ingress-sim run %s "
                    "--replications %u --shard K/%u --seed %" G_GUINT64_FORMAT
                    "%s",
                    at != NULL ? at : "ingress-sim merge",
                    set->replications, set->scenario, set->seed, set->shards,
                    missing, set->scenario_file, set->replications,
                    set->shards, set->seed, dur);
        return CLI_ERROR;
    }
    return CLI_OK;
}

/* The scenario the shards ran, as they ran it: loaded, --duration applied,
 * its digest the shards' own. NULL when not (printed). */
static Scenario *load_scenario(const ShardSet *set, const char *given,
                               const char *first_path)
{
    const char *path = given != NULL ? given : set->scenario_file;
    g_autoptr(Scenario) s = cli_load(path);
    if (s == NULL) {
        if (given == NULL) {
            g_printerr("ingress-sim merge: the shards name the scenario "
                       "'%s' (as `run` was given it); from elsewhere, give "
                       "it with --scenario FILE\n",
                       path);
        }
        return NULL;
    }
    if (set->duration != NULL &&
        !cli_apply_duration("merge", s, set->duration)) {
        return NULL;
    }
    GError *error = NULL;
    g_autofree char *sha = shard_scenario_sha256(s, &error);
    if (sha == NULL) {
        cli_print_error(error);
        g_error_free(error);
        return NULL;
    }
    if (strcmp(sha, set->scenario_sha256) != 0) {
        g_autoptr(ShardFile) f = shard_file_load(first_path, NULL);
        g_autofree char *where =
            f != NULL ? shard_file_where(f, "scenario_sha256", 0)
                      : g_strdup(first_path);
        g_printerr("%s: error: the shards ran another scenario than %s "
                   "(sha256 of it and the files it reads: %s, now %s): "
                   "give the one they ran with --scenario FILE\n",
                   where, path, set->scenario_sha256, sha);
        return NULL;
    }
    return g_steal_pointer(&s);
}

/* Pass 2: the runs, shard by shard, in replication order. */
static gboolean pool_shards(GPtrArray *by_shard, const ShardSet *set,
                            Replications *reps, SetTally *tally,
                            GError **error)
{
    for (guint k = 1; k <= by_shard->len; k++) {
        g_autoptr(ShardFile) f =
            shard_file_load(g_ptr_array_index(by_shard, k - 1), error);
        if (f == NULL) {
            return FALSE;
        }
        if (shard_file_set(f)->shard != k) {
            shard_file_error(f, "shard", 0, error,
                             "changed while merging: now shard %u, was %u",
                             shard_file_set(f)->shard, k);
            return FALSE;
        }
        for (guint i = 0; i < shard_file_n_runs(f); i++) {
            ShardRun run;
            g_autoptr(Results) r = shard_file_run(f, i, &run, error);
            if (r == NULL) {
                return FALSE;
            }
            replications_add(reps, run.index, run.seed, r);
            set_tally_add(tally, &run);
        }
    }
    if (replications_n(reps) != set->replications) {
        /* Pass 1 counted them; only a file rewritten since can differ. */
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "%s:1:1: error: changed while merging: %u replications "
                    "in the shards, %u when they were checked",
                    (const char *)g_ptr_array_index(by_shard,
                                                    by_shard->len - 1),
                    replications_n(reps), set->replications);
        return FALSE;
    }
    return TRUE;
}

int cli_merge(int argc, char **argv)
{
    g_autofree char *out = NULL;
    g_autofree char *scenario = NULL;
    gboolean json = FALSE, quiet = FALSE;
    GOptionEntry entries[] = {
        { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
          "Folder for results.json and charts (default ./out)", "DIR" },
        { "scenario", 0, 0, G_OPTION_ARG_FILENAME, &scenario,
          "The scenario the shards ran (default: the path they name, as "
          "`run` was given it)",
          "FILE" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "Print results.json to stdout instead of the summary", NULL },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet,
          "Print nothing on success", NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse("merge", "SHARD.json...",
                   "Combine the shards of a replication set into its results.",
                   "`run --replications R --shard K/N --out DIR` runs the "
                   "K-th of N blocks of the\nR replications (anywhere: "
                   "another machine, a pod of a Kubernetes Job) and\nwrites "
                   "DIR/shard.json, the exact state of its runs. merge reads "
                   "the N files\nand writes DIR/results.json and the charts: "
                   "the same bytes as one\n`run --replications R` on one "
                   "machine (histograms merge exactly).\n\n"
                   "It refuses, with exit status 1 and the file, line and "
                   "column, a shard given\ntwice, shards of different sets "
                   "(scenario, the files it reads, seed,\n--duration, R, N, "
                   "ingress-sim version), and says which shards are "
                   "missing.\nThe charts need the scenario: the path the "
                   "shards name, or --scenario FILE;\nits digest must match "
                   "theirs.\n\n"
                   "Examples:\n"
                   "  ingress-sim run s.yaml --replications 32 --shard 1/2 "
                   "--out out/1\n"
                   "  ingress-sim run s.yaml --replications 32 --shard 2/2 "
                   "--out out/2\n"
                   "  ingress-sim merge out/*/shard.json --out merged\n"
                   "  parallel ingress-sim run s.yaml --replications 32 "
                   "--shard {}/8 --out out/{} \\\n"
                   "      --quiet ::: $(seq 8)   # then merge as above",
                   entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    if (argc < 2) {
        g_printerr("ingress-sim merge: expected SHARD.json files\nTry "
                   "'ingress-sim merge --help'.\n");
        return CLI_USAGE;
    }
    GError *error = NULL;
    ShardSet set = { 0 };
    g_autoptr(GPtrArray) by_shard = g_ptr_array_new();
    if (check_shards(argv + 1, (guint)argc - 1, &set, by_shard, &error) !=
        CLI_OK) {
        cli_print_error(error);
        g_error_free(error);
        shard_set_clear(&set);
        return CLI_ERROR;
    }
    g_autoptr(Scenario) s = load_scenario(&set, scenario, argv[1]);
    if (s == NULL) {
        shard_set_clear(&set);
        return CLI_ERROR;
    }
    g_autoptr(Replications) reps = replications_new(s->name, set.seed);
    SetTally tally;
    set_tally_init(&tally);
    if (!pool_shards(by_shard, &set, reps, &tally, &error)) {
        cli_print_error(error);
        g_error_free(error);
        shard_set_clear(&set);
        return CLI_ERROR;
    }
    SetOutput o = { .cmd = "merge", .dir = out != NULL ? out : "out",
                    .json = json, .quiet = quiet };
    int rc = cli_set_write(s, set.seed, reps, &tally, &o);
    shard_set_clear(&set);
    return rc;
}
