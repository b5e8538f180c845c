/* cli-replicate.c: runs a replication set on this machine, one fork()ed
 * process per replication and --jobs at once, pools them in replication
 * order; and writes a set's results.json, charts and summary.
 *
 * Processes, not threads: a replication is a whole World, and a process
 * shares nothing with the others by construction, whatever a model keeps
 * in a static (models/endpoints.c has a process-wide counter) now or
 * later. Each child starts from the same state, the parent's after the
 * scenario loaded, exactly as a plain `run` starts its run; it sends its
 * results state (exact: sim/hist.h) through a pipe and exits. The parent
 * starts no thread of its own before forking (no GLib signal source, no
 * fonts), so the children inherit no lock held by another thread. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "models/runner.h"
#include "models/ynode.h"
#include "sim/cli-replicate.h"
#include "sim/cli.h"
#include "viz/viz.h"

typedef struct {
    pid_t pid;
    guint index;    /* the replication */
    int out_fd;     /* its results, -1 once at end of file */
    int err_fd;     /* its stderr, -1 once at end of file */
    GString *out;
    GString *err;
} Child;

static gboolean write_all(int fd, const char *p, gsize n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return FALSE;
        }
        p += w;
        n -= (gsize)w;
    }
    return TRUE;
}

/* In the child: runs replication @index and sends shard_run_text() to
 * @fd. Errors go to stderr (the parent's pipe); never returns. _exit, not
 * exit: the parent's atexit handlers and stdio buffers are not ours. */
G_GNUC_NORETURN static void child_main(const ReplicateSpec *spec, guint index,
                                       int fd)
{
    guint64 seed = spec->seed + index;
    GError *error = NULL;
    Runner *runner = runner_new(spec->s, seed, &error);
    if (runner == NULL) {
        cli_print_error(error);
        _exit(CLI_ERROR);
    }
    runner_set_max_pending(runner, spec->max_pending);
    ShardRun run = { .index = index, .seed = seed };
    run.drained = runner_run(runner, NULL, NULL);
    if (runner_error(runner) != NULL) {
        cli_print_error(runner_error(runner));
        _exit(CLI_ERROR);
    }
    World *w = runner_world(runner);
    run.events = sim_events_handled(w->engine);
    char *text = shard_run_text(&run, w->results);
    _exit(write_all(fd, text, strlen(text)) ? CLI_OK : CLI_ERROR);
}

static void child_clear(gpointer p)
{
    Child *c = p;
    if (c->out_fd >= 0) {
        close(c->out_fd);
    }
    if (c->err_fd >= 0) {
        close(c->err_fd);
    }
    if (c->out != NULL) {
        g_string_free(c->out, TRUE);
    }
    g_string_free(c->err, TRUE);
}

static gboolean child_start(const ReplicateSpec *spec, guint index,
                            GArray *running, GError **error)
{
    int out[2], err[2];
    if (pipe(out) != 0) {
        goto failed;
    }
    if (pipe(err) != 0) {
        close(out[0]);
        close(out[1]);
        goto failed;
    }
    /* Whatever stdio holds would otherwise be written twice. */
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        errno = e;
        goto failed;
    }
    if (pid == 0) {
#ifdef __linux__
        /* A replication has no reason to outlive the set (a SIGKILL or
         * crash of the parent included). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        if (getppid() != parent) {
            _exit(1); /* the parent died before the line above */
        }
        /* Ctrl-C reaches the whole process group; the parent stops the
         * children itself (SIGTERM), so that it, not a child's death by
         * SIGINT, decides what the set reports (exit 130). */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_DFL);
        close(out[0]);
        close(err[0]);
        for (guint i = 0; i < running->len; i++) {
            const Child *o = &g_array_index(running, Child, i);
            if (o->out_fd >= 0) {
                close(o->out_fd);
            }
            if (o->err_fd >= 0) {
                close(o->err_fd);
            }
        }
        dup2(err[1], STDERR_FILENO);
        close(err[1]);
        child_main(spec, index, out[1]);
    }
    close(out[1]);
    close(err[1]);
    Child c = { .pid = pid, .index = index, .out_fd = out[0],
                .err_fd = err[0], .out = g_string_new(NULL),
                .err = g_string_new(NULL) };
    g_array_append_val(running, c);
    return TRUE;
failed:
    g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_FAILED,
                "cannot start replication %u: %s", index,
                g_strerror(errno));
    return FALSE;
}

/* Reads what is there from *@fd into @into; at end of file closes it and
 * sets it to -1. */
static void drain_fd(int *fd, GString *into)
{
    char buf[65536];
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
    }
    if (n > 0) {
        g_string_append_len(into, buf, n);
        return;
    }
    close(*fd);
    *fd = -1;
}

/* Waits for a child whose pipes are both closed; its results text, or
 * NULL and @error saying why it failed. */
static char *child_finish(Child *c, guint64 seed, GError **error)
{
    int status = 0;
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && c->out->len > 0) {
        if (c->err->len > 0) {
            g_printerr("%s", c->err->str); /* notes and warnings */
        }
        return g_string_free(g_steal_pointer(&c->out), FALSE);
    }
    g_strchomp(c->err->str);
    if (c->err->str[0] != '\0' && strstr(c->err->str, "error: ") != NULL) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_FAILED, "%s", c->err->str);
    } else {
        g_autofree char *how =
            WIFSIGNALED(status)
                ? g_strdup_printf("was killed by signal %d (%s)",
                                  WTERMSIG(status),
                                  g_strsignal(WTERMSIG(status)))
                : g_strdup_printf("exited with status %d",
                                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_FAILED,
                    "replication %u (seed %" G_GUINT64_FORMAT
                    ") %s%s%s",
                    c->index, seed + c->index, how,
                    c->err->str[0] != '\0' ? ": " : "", c->err->str);
    }
    return NULL;
}

/* Stops and reaps the children still running (after a failure). */
static void children_stop(GArray *running)
{
    for (guint i = 0; i < running->len; i++) {
        kill(g_array_index(running, Child, i).pid, SIGTERM);
    }
    for (guint i = 0; i < running->len; i++) {
        int status;
        while (waitpid(g_array_index(running, Child, i).pid, &status, 0) < 0 &&
               errno == EINTR) {
        }
    }
    g_array_set_size(running, 0);
}

void set_tally_init(SetTally *t)
{
    t->undrained = G_MAXUINT;
    t->events = 0;
}

void set_tally_add(SetTally *t, const ShardRun *run)
{
    if (!run->drained && t->undrained == G_MAXUINT) {
        t->undrained = run->index;
    }
    t->events += run->events;
}

/* Pools the run in @text (replication @index) into @set. */
static gboolean pool_one(const char *text, guint index, Replications *set,
                         SetTally *tally, ReplicateRunFunc on_run,
                         gpointer data, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    GError *local = NULL;
    ShardRun run = { .index = G_MAXUINT };
    g_autoptr(Results) r = NULL;
    if (json_parser_load_from_data(parser, text, -1, &local)) {
        r = shard_run_parse(json_parser_get_root(parser), &run, &local);
    }
    if (r == NULL || run.index != index) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_FAILED,
                    "replication %u sent back what is "
                    "not its results (%s)",
                    index, local != NULL ? local->message : "another index");
        g_clear_error(&local);
        return FALSE;
    }
    replications_add(set, index, run.seed, r);
    set_tally_add(tally, &run);
    return on_run == NULL || on_run(text, data, error);
}

/* "N/M replications done, J running" on stderr, when either changed. */
static void show_progress(const ReplicateSpec *spec, guint done,
                          guint running, guint shown[2])
{
    if (spec->progress && (done != shown[0] || running != shown[1])) {
        fprintf(stderr, "\r%u/%u replications done, %u running   ", done,
                spec->count, running);
        shown[0] = done;
        shown[1] = running;
    }
}

/* The signal that asked the set to stop (SIGINT, SIGTERM), or 0. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

gboolean cli_replicate(const ReplicateSpec *spec, Replications *set,
                       SetTally *tally, ReplicateRunFunc on_run,
                       gpointer data, GError **error)
{
    g_return_val_if_fail(spec->jobs >= 1, FALSE);
    g_autoptr(GArray) running = g_array_new(FALSE, TRUE, sizeof(Child));
    g_array_set_clear_func(running, child_clear);
    /* Finished runs waiting for the ones before them, by index - first. */
    g_autoptr(GPtrArray) done = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_set_size(done, (gint)spec->count);
    guint launched = 0, finished = 0, next = 0;
    GError *fail = NULL;
    guint shown[2] = { G_MAXUINT, G_MAXUINT };
    /* Ctrl-C, or SIGTERM from a job runner: stop every replication, write
     * nothing. No SA_RESTART, so poll() returns at once. */
    struct sigaction sa = { .sa_handler = on_stop_signal }, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    while (next < spec->count && fail == NULL) {
        if (stop_signal != 0) {
            g_set_error(&fail, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "interrupted (%s): every replication stopped, "
                        "nothing written",
                        stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        while (running->len < spec->jobs && launched < spec->count) {
            if (!child_start(spec, spec->first + launched, running, &fail)) {
                break;
            }
            launched++;
        }
        if (fail != NULL) {
            break;
        }
        show_progress(spec, finished, running->len, shown);
        g_autofree struct pollfd *fds = g_new0(struct pollfd, running->len * 2);
        nfds_t nfds = 0;
        for (guint i = 0; i < running->len; i++) {
            const Child *c = &g_array_index(running, Child, i);
            fds[nfds++] = (struct pollfd){ .fd = c->out_fd, .events = POLLIN };
            fds[nfds++] = (struct pollfd){ .fd = c->err_fd, .events = POLLIN };
        }
        /* A bounded wait: a signal just before poll() is still seen. */
        if (poll(fds, nfds, 200) < 0 && errno != EINTR) {
            g_set_error(&fail, SCENARIO_ERROR, SCENARIO_ERROR_FAILED,
                        "poll: %s", g_strerror(errno));
            break;
        }
        for (guint i = running->len; i-- > 0;) {
            Child *c = &g_array_index(running, Child, i);
            if (c->out_fd >= 0 && fds[2 * i].revents != 0) {
                drain_fd(&c->out_fd, c->out);
            }
            if (c->err_fd >= 0 && fds[2 * i + 1].revents != 0) {
                drain_fd(&c->err_fd, c->err);
            }
            if (c->out_fd >= 0 || c->err_fd >= 0) {
                continue;
            }
            char *text = child_finish(c, spec->seed, &fail);
            if (text != NULL) {
                g_ptr_array_index(done, c->index - spec->first) = text;
            }
            g_array_remove_index(running, i);
            finished++;
            if (fail != NULL) {
                break;
            }
        }
        while (fail == NULL && next < spec->count &&
               g_ptr_array_index(done, next) != NULL) {
            if (!pool_one(g_ptr_array_index(done, next), spec->first + next,
                          set, tally, on_run, data, &fail)) {
                break;
            }
            g_clear_pointer(&g_ptr_array_index(done, next), g_free);
            next++;
        }
        show_progress(spec, finished, running->len, shown);
    }
    children_stop(running);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (spec->progress) {
        fprintf(stderr, "\r%60s\r", "");
    }
    if (fail != NULL) {
        g_propagate_error(error, fail);
        return FALSE;
    }
    return TRUE;
}

/* ---- what a set writes --------------------------------------------------- */

int cli_set_write(const Scenario *s, guint64 seed, const Replications *set,
                  const SetTally *tally, const SetOutput *o)
{
    g_autoptr(JsonNode) json = replications_to_json(set);
    JsonObject *root = json_node_get_object(json);
    /* As a plain run says it: a set is never partial (Ctrl-C stops it
     * without writing anything). */
    json_object_set_boolean_member(root, "partial", FALSE);
    if (o->shard != NULL) {
        guint first = 0, count = 0;
        shard_block(o->shard->shard, o->shard->shards,
                    o->shard->replications, &first, &count);
        JsonObject *sh = json_object_new();
        json_object_set_int_member(sh, "shard", o->shard->shard);
        json_object_set_int_member(sh, "shards", o->shard->shards);
        json_object_set_int_member(sh, "replications", o->shard->replications);
        json_object_set_int_member(sh, "first_replication", first);
        json_object_set_int_member(sh, "last_replication", first + count - 1);
        json_object_set_object_member(root, "shard", sh);
    }
    g_autofree char *text = cli_json_text(json, TRUE);
    GError *error = NULL;
    int rc = CLI_OK;
    g_autofree char *made = NULL;
    g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func(g_free);
    if (!cli_make_dir(o->dir, &made, &error) ||
        !cli_write_outputs(s, seed, json, text, o->dir, written, &error) ||
        (o->writer != NULL && !shard_writer_commit(o->writer, &error))) {
        cli_print_error(error);
        g_clear_error(&error);
        cli_remove_files(written);
        cli_unmake_dir(o->dir, made != NULL ? made : o->made);
        rc = CLI_ERROR;
    }
    if (o->json) {
        fputs(text, stdout);
    } else if (!o->quiet) {
        g_autofree char *sum = replications_summary(set);
        fputs(sum, stdout);
        if (o->shard != NULL) {
            guint first = 0, count = 0;
            shard_block(o->shard->shard, o->shard->shards,
                        o->shard->replications, &first, &count);
            printf("shard %u/%u of a set of %u replications: replications "
                   "%u..%u, seeds %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                   "\n",
                   o->shard->shard, o->shard->shards, o->shard->replications,
                   first, first + count - 1, seed + first,
                   seed + first + count - 1);
        }
        guint64 n = results_n_sent(replications_pooled(set));
        printf("engine: %" G_GUINT64_FORMAT " events, %.1f per request\n",
               tally->events, n > 0 ? (double)tally->events / (double)n : 0.0);
    }
    if (tally->undrained != G_MAXUINT) {
        g_printerr("ingress-sim %s: error: replication %u (seed "
                   "%" G_GUINT64_FORMAT "): requests never ended: the "
                   "balance does not hold\n",
                   o->cmd, tally->undrained, seed + tally->undrained);
        rc = CLI_ERROR;
    }
    return rc;
}
