/* cli-run.c: `ingress-sim run`: simulates a scenario's traffic through the
 * nine steps, prints the summary with its balance line, writes results.json
 * (atomically) into --out; with --replications or --shard, a replication
 * set on all cores (sim/cli-replicate.c). */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "models/accesslog.h"
#include "models/runner.h"
#include "sim/cli-replicate.h"
#include "sim/cli.h"
#include "viz/viz.h"

typedef struct {
    gint64 seed;          /* -1: the scenario's */
    gboolean json;        /* results.json on stdout instead of a summary */
    gboolean quiet;       /* no summary */
    gint64 replications;  /* R: seeds seed .. seed + R - 1 */
    gint64 jobs;          /* processes at once; 0: one per core */
    char *shard;          /* "K/N", or NULL */
} RunOptions;

#define RUN_MAX_JOBS 1024

typedef struct {
    gboolean tty;         /* stderr is a terminal: show progress */
} Progress;

/* Exit status of a run stopped by SIGINT: 128 + 2, as shells report it. */
#define RUN_INTERRUPTED 130

/* SIGINT (GLib source, dispatched from progress()): finish the slice, write
 * what ran so far, marked partial. */
static gboolean on_sigint(gpointer runner)
{
    runner_cancel(runner);
    return G_SOURCE_CONTINUE;
}

static void progress(const World *w, SimTime now, SimTime end, gpointer data)
{
    const Progress *pr = data;
    /* Between slices: deliver a pending SIGINT to on_sigint(). */
    g_main_context_iteration(NULL, FALSE);
    if (!pr->tty) {
        return;
    }
    double pct = end > 0 ? 100.0 * (double)MIN(now, end) / (double)end : 100.0;
    fprintf(stderr, "\r%5.1f%%  t=%.1fs  sent %" G_GUINT64_FORMAT "   ", pct,
            (double)now / 1e9, results_n_sent(w->results));
}

/* A usage error of run: the message and the hint, exit 2. */
static int run_usage(const char *msg)
{
    g_printerr("ingress-sim run: %s\nTry 'ingress-sim run --help'.\n", msg);
    return CLI_USAGE;
}

static gboolean shard_add_run(const char *run, gpointer writer,
                              GError **error)
{
    return shard_writer_add(writer, run, error);
}

/* --replications R, or --shard K/N of R: the set (or this shard's share of
 * it) runs on @jobs processes, pooled in replication order. */
static int run_set(const Scenario *s, const char *scenario_path,
                   guint64 seed, const char *duration, const RunOptions *o,
                   guint k, guint n, gsize max_pending, const char *dir)
{
    guint r = (guint)o->replications;
    guint first = 0, count = r;
    ShardSet set = { 0 };
    GError *error = NULL;
    g_autoptr(ShardWriter) writer = NULL;
    g_autofree char *made = NULL;
    if (o->shard != NULL) {
        shard_block(k, n, r, &first, &count);
        set = (ShardSet){
            .ingress_sim = g_strdup(PACKAGE_VERSION),
            .scenario = g_strdup(s->name),
            .scenario_file = g_strdup(scenario_path),
            .scenario_sha256 = shard_scenario_sha256(s, &error),
            /* Canonical (sim_time_format()), as merge compares it. */
            .duration = duration != NULL ? sim_time_format(s->duration) : NULL,
            .seed = seed,
            .replications = r,
            .shard = k,
            .shards = n,
        };
        if (set.scenario_sha256 == NULL) {
            cli_print_error(error);
            g_clear_error(&error);
            shard_set_clear(&set);
            return CLI_ERROR;
        }
    }
    /* The output folder before the set runs, not after hours of it. */
    if (!cli_make_dir(dir, &made, &error)) {
        cli_print_error(error);
        g_clear_error(&error);
        shard_set_clear(&set);
        return CLI_ERROR;
    }
    if (o->shard != NULL) {
        writer = shard_writer_new(dir, &set, &error);
    }
    g_autoptr(Replications) reps = replications_new(s->name, seed);
    guint jobs = o->jobs > 0 ? (guint)o->jobs : g_get_num_processors();
    ReplicateSpec spec = {
        .s = s,
        .seed = seed,
        .first = first,
        .count = count,
        .jobs = MAX(MIN(jobs, count), 1),
        .max_pending = max_pending,
        .progress = isatty(STDERR_FILENO),
    };
    SetTally tally;
    set_tally_init(&tally);
    if ((o->shard != NULL && writer == NULL) ||
        !cli_replicate(&spec, reps, &tally,
                       writer != NULL ? shard_add_run : NULL, writer,
                       &error)) {
        gboolean interrupted =
            g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        cli_print_error(error);
        g_clear_error(&error);
        g_clear_pointer(&writer, shard_writer_free);
        cli_unmake_dir(dir, made);
        shard_set_clear(&set);
        return interrupted ? 130 : CLI_ERROR;
    }
    /* shard.json is committed last, with the results and pictures. */
    SetOutput out = { .cmd = "run", .dir = dir, .json = o->json,
                      .quiet = o->quiet,
                      .shard = o->shard != NULL ? &set : NULL,
                      .writer = writer, .made = made };
    int rc = cli_set_write(s, seed, reps, &tally, &out);
    shard_set_clear(&set);
    return rc;
}

int cli_run(int argc, char **argv)
{
    RunOptions o = { .seed = -1, .replications = 1 };
    g_autofree char *out = NULL;
    g_autofree char *duration = NULL;
    g_autofree char *access_log = NULL;
    g_autofree char *access_log_format = NULL;
    g_autofree char *shard = NULL;
    gint64 max_pending = (gint64)RUNNER_MAX_PENDING_DEFAULT;
    GOptionEntry entries[] = {
        { "seed", 's', 0, G_OPTION_ARG_INT64, &o.seed,
          "Seed of every random choice (default: the scenario's spec.seed)",
          "N" },
        { "duration", 'd', 0, G_OPTION_ARG_STRING, &duration,
          "How long the traffic generators run, e.g. 30s (default: "
          "spec.duration)",
          "T" },
        { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
          "Folder for results.json and charts (default ./out)", "DIR" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &o.json,
          "Print results.json to stdout instead of the summary", NULL },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
          "Print nothing on success", NULL },
        { "access-log", 0, 0, G_OPTION_ARG_FILENAME, &access_log,
          "Write every request as the gateway logs it, one line as each "
          "ends (a trace to replay)",
          "FILE" },
        { "access-log-format", 0, 0, G_OPTION_ARG_STRING, &access_log_format,
          "Istio's default TEXT format, or JSON (default text)", "text|json" },
        { "replications", 'r', 0, G_OPTION_ARG_INT64, &o.replications,
          "Run the scenario R times, seeds N .. N+R-1, in parallel; "
          "results pooled, with the mean and 95% interval across them "
          "(default 1)",
          "R" },
        { "jobs", 'j', 0, G_OPTION_ARG_INT64, &o.jobs,
          "Replications run at once (default: one per core)", "J" },
        { "shard", 0, 0, G_OPTION_ARG_STRING, &shard,
          "Run only shard K of N of the replications and write DIR/"
          "shard.json for `ingress-sim merge`",
          "K/N" },
        { "max-pending", 0, 0, G_OPTION_ARG_INT64, &max_pending,
          "Stop with an error when more than N events are pending or N "
          "requests in flight (default 10000000: a few GB)",
          "N" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse("run", "SCENARIO",
                   "Simulate the scenario's traffic through the nine steps.",
                   "Every request sent ends as a response (from the app or "
                   "generated by Envoy), a\nproxied TCP connection, or a "
                   "failure with the step and reason that ended it.\nThe "
                   "summary ends with the balance line\n"
                   "  balance: sent N = responses R + failures F\n"
                   "and the run exits 1 if it does not hold.\n\n"
                   "Writes DIR/results.json (counts by status and origin, "
                   "failures by step and\nreason, latency percentiles per "
                   "route, a per-second series, the failure\nevents). Same "
                   "scenario and seed: the same bytes.\n\n"
                   "Ctrl-C (SIGINT) stops the run cleanly: results.json "
                   "covers the time simulated\nso far, with \"partial\": "
                   "true, and the exit status is 130.\n\n"
                   "--replications R runs the scenario R times, seed N+i for "
                   "replication i (N:\n--seed or spec.seed), each in a process "
                   "of its own, --jobs at once. results.json\nthen pools them "
                   "(counts, histograms and the series added up, exactly) "
                   "and adds\n\"replications\" (each one's figures) and "
                   "\"across_replications\" (mean and 95%\ninterval of sent, "
                   "failures, failure_ratio, p50_ms, p99_ms). The bytes do "
                   "not\ndepend on --jobs. --shard K/N runs only the K-th of "
                   "N contiguous blocks of the\nR replications and also "
                   "writes DIR/shard.json; `ingress-sim merge` combines\nthe "
                   "N shard.json files into the results.json of the whole set "
                   "(docs/scaling.md:\na Kubernetes Indexed Job, GNU "
                   "parallel). Ctrl-C stops every replication and\nwrites "
                   "nothing.\n\n"
                   "--access-log FILE writes the requests as Istio's gateway "
                   "logs them (TEXT\nformat, or JSON), START_TIME counted "
                   "from 2024-01-01T00:00:00Z at simulated\ntime 0; a "
                   "scenario's traffic `trace: {file: FILE, format: "
                   "istio-text}`\nreplays it.\n\n"
                   "Examples:\n"
                   "  ingress-sim run scenarios/article.yaml\n"
                   "  ingress-sim run scenarios/article.yaml --seed 7 "
                   "--duration 30s --out /tmp/a\n"
                   "  ingress-sim run scenarios/article.yaml --json | jq "
                   ".totals\n"
                   "  ingress-sim run scenarios/article.yaml --access-log "
                   "/tmp/access.log\n"
                   "  ingress-sim run scenarios/article.yaml --replications 8 "
                   "--out /tmp/r8\n"
                   "  ingress-sim run scenarios/article.yaml --replications 32 "
                   "--shard 3/8 --out out/3\n"
                   "  ingress-sim merge out/*/shard.json --out merged",
                   entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    if (argc != 2) {
        return run_usage("expected one SCENARIO");
    }
    if (max_pending <= 0) {
        return run_usage("--max-pending: must be greater than 0");
    }
    if (o.replications < 1 || o.replications > RUN_MAX_REPLICATIONS) {
        g_autofree char *m = g_strdup_printf(
            "--replications: %" G_GINT64_FORMAT " is not between 1 and %d",
            o.replications, RUN_MAX_REPLICATIONS);
        return run_usage(m);
    }
    if (o.jobs < 0 || o.jobs > RUN_MAX_JOBS) {
        g_autofree char *m = g_strdup_printf(
            "--jobs: %" G_GINT64_FORMAT " is not between 0 (one per core) "
            "and %d",
            o.jobs, RUN_MAX_JOBS);
        return run_usage(m);
    }
    guint shard_k = 0, shard_n = 0;
    if (shard != NULL) {
        g_autofree char *msg = NULL;
        if (!shard_parse_spec(shard, &shard_k, &shard_n, &msg)) {
            g_autofree char *m = g_strdup_printf("--shard: %s", msg);
            return run_usage(m);
        }
        if (shard_n > o.replications) {
            g_autofree char *m = g_strdup_printf(
                "--shard %s needs at least %u replications, one a shard "
                "(--replications R, R >= N); there are %" G_GINT64_FORMAT,
                shard, shard_n, o.replications);
            return run_usage(m);
        }
        o.shard = shard;
    }
    gboolean is_set = o.replications > 1 || o.shard != NULL;
    if (is_set && access_log != NULL) {
        return run_usage("--access-log writes one run's requests: not with "
                         "--replications or --shard");
    }
    AccessLogFormat al_fmt = ACCESS_LOG_TEXT;
    if (access_log_format != NULL &&
        !access_log_format_parse(access_log_format, &al_fmt)) {
        g_autofree char *m = g_strdup_printf(
            "--access-log-format: '%s' is not text or json",
            access_log_format);
        return run_usage(m);
    }
    g_autoptr(Scenario) s = cli_load(argv[1]);
    if (s == NULL) {
        return CLI_ERROR;
    }
    if (duration != NULL && !cli_apply_duration("run", s, duration)) {
        return CLI_USAGE;
    }
    guint64 seed = o.seed >= 0 ? (guint64)o.seed : s->seed;
    if (is_set && seed > (guint64)G_MAXINT64 - (guint64)(o.replications - 1)) {
        return run_usage("--seed: the seeds of the replications, seed + i, "
                         "must stay below 2^63");
    }
    if (is_set) {
        return run_set(s, argv[1], seed, duration, &o, shard_k, shard_n,
                       (gsize)max_pending, out != NULL ? out : "out");
    }
    GError *error = NULL;
    g_autoptr(Runner) runner = runner_new(s, seed, &error);
    if (runner == NULL) {
        cli_print_error(error);
        g_error_free(error);
        return CLI_ERROR;
    }
    World *w = runner_world(runner);
    runner_set_max_pending(runner, (gsize)max_pending);
    /* The output folder before the run, not after hours of it. */
    const char *dir = out != NULL ? out : "out";
    g_autofree char *made = NULL;
    if (!cli_make_dir(dir, &made, &error)) {
        cli_print_error(error);
        g_error_free(error);
        return CLI_ERROR;
    }
    AccessLog *al = NULL;
    if (access_log != NULL) {
        al = access_log_open(access_log, al_fmt, w, &error);
        if (al == NULL) {
            cli_print_error(error);
            g_error_free(error);
            cli_unmake_dir(dir, made);
            return CLI_ERROR;
        }
        path_set_done(runner_path(runner), access_log_on_done, al);
    }
    Progress pr = { .tty = isatty(STDERR_FILENO) };
    guint sigint = g_unix_signal_add(SIGINT, on_sigint, runner);
    gboolean drained = runner_run(runner, progress, &pr);
    g_source_remove(sigint);
    if (pr.tty) {
        fprintf(stderr, "\r%60s\r", "");
    }
    if (runner_error(runner) != NULL) {
        /* Stopped to protect memory: an error, and nothing written. */
        access_log_discard(g_steal_pointer(&al));
        cli_print_error(runner_error(runner));
        cli_unmake_dir(dir, made);
        return CLI_ERROR;
    }
    gboolean partial = runner_cancelled(runner);
    if (al != NULL) {
        path_set_done(runner_path(runner), NULL, NULL);
    }
    g_autoptr(JsonNode) json = results_to_json(w->results);
    json_object_set_boolean_member(json_node_get_object(json), "partial",
                                   partial);
    g_autofree char *text = cli_json_text(json, TRUE);
    int rc = CLI_OK;
    /* The access log lands with the results, or not at all: its writes
     * are checked first (a full disk), its rename comes last, and any
     * failure removes what was written. */
    g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func(g_free);
    if ((al != NULL && !access_log_finish(al, &error)) ||
        !cli_write_outputs(s, seed, json, text, dir, written, &error) ||
        (al != NULL && !access_log_close(g_steal_pointer(&al), &error))) {
        cli_print_error(error);
        g_clear_error(&error);
        access_log_discard(g_steal_pointer(&al));
        cli_remove_files(written);
        cli_unmake_dir(dir, made);
        rc = CLI_ERROR;
    }
    if (o.json) {
        fputs(text, stdout);
    } else if (!o.quiet) {
        g_autofree char *sum = results_summary(w->results);
        fputs(sum, stdout);
        guint64 ev = sim_events_handled(w->engine);
        guint64 n = results_n_sent(w->results);
        printf("engine: %" G_GUINT64_FORMAT " events, %.1f per request\n", ev,
               n > 0 ? (double)ev / (double)n : 0.0);
    }
    if (partial) {
        g_autofree char *at = sim_time_format(sim_now(w->engine));
        g_printerr("ingress-sim run: interrupted at %s of simulated time: "
                   "the results are partial\n",
                   at);
        return rc == CLI_OK ? RUN_INTERRUPTED : rc;
    }
    if (!drained) {
        g_printerr("ingress-sim run: error: %" G_GUINT64_FORMAT
                   " requests never ended: the balance does not hold\n",
                   results_n_in_flight(w->results));
        rc = CLI_ERROR;
    }
    return rc;
}
