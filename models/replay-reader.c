/* replay-reader.c: the streaming reader of a replayed trace: reads lines in
 * big blocks, parses each where it lies, and keeps one arrival scheduled
 * and a bounded reorder window of lines in memory. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "models/client.h"
#include "models/ipv4.h"
#include "models/replay-private.h"
#include "models/replay-window.h"

/* Bytes read from the file at once. It holds a whole line of
 * REPLAY_MAX_LINE + 1 bytes (the longest fgets() would have returned). */
#define READ_BLOCK (256 * 1024)
G_STATIC_ASSERT(READ_BLOCK > 2 * (REPLAY_MAX_LINE + 1));

/* Lists of header names that requests share (an Istio line has at most
 * three names, always the same literals, so a few lists cover a log). */
#define KEY_SETS_N 8

/* The head of a buffered line's block, one allocation that its request
 * takes over (Request.owned): this, then method, host, authority, path and
 * sni NUL-terminated, then the headers: their values, each after its name
 * unless the names are a shared list. */
typedef struct {
    UrlScheme scheme;   /* as ReplayRecord */
    gint lb_port;       /* as ReplayRecord */
    gboolean has_sni;   /* the sni string is meaningful */
    guint n_headers;    /* headers after the five strings */
    gint key_set;       /* Replay.key_sets[] holding their names, or -1:
                         * each name is in the block before its value */
    char client_ip[16]; /* as ReplayRecord */
    guint32 client_addr; /* ReplayView.client_addr */
    guint32 at[6];      /* offsets of the five strings and the headers */
} LineHead;

typedef struct _HeaderPool HeaderPool;

struct _Replay {
    World *w;              /* borrowed */
    Path *path;            /* borrowed */
    const TrafficSpec *ts; /* borrowed: speed, start */
    const char *name;      /* interned traffic name */
    const char *file;      /* ts->trace_file, for bad-line reports */
    FILE *fp;              /* NULL once the file is read or closed */
    ReplayParser *parser;  /* the format's parser */
    char *buf;             /* READ_BLOCK + 1 bytes (room for a NUL after a
                            * last line without its newline) */
    gsize head;            /* the next line starts at buf + head */
    gsize tail;            /* bytes in buf */
    gboolean eof;          /* the file has no more bytes */
    gboolean read_error;   /* ... because a read failed */
    guint64 line_no;       /* lines read */
    ReplayWindow *window;  /* lines held, in start order */
    gint64 max_read_t;     /* latest start time read so far */
    gboolean started;      /* t_first is set */
    gint64 t_first;        /* start time of the first line replayed */
    gint64 last_t;         /* latest start time replayed */
    ReplayItem next;       /* the line whose arrival is scheduled */
    gboolean has_next;     /* next is set (an arrival is pending) */
    SimTime start;         /* the entry's start */
    SimTime stop;          /* no arrival at or after; SIM_TIME_MAX: none */
    double speed;          /* replay speed factor (> 0) */
    guint32 ev_arrival;    /* event kind, ctx = this replay */
    guint64 sent;          /* requests sent */
    guint64 bad;           /* lines that did not parse */
    guint64 late;          /* lines behind the reorder window */
    /* Header names as a KvList's keys (char*, no free function): each
     * request's list takes a reference instead of an array of its own. */
    GPtrArray *key_sets[KEY_SETS_N];
    guint n_key_sets;      /* key_sets in use */
    HeaderPool *pool;      /* header lists for reuse (one reference) */
};

/* ---- lines --------------------------------------------------------------- */

/* Moves what is left to the front and reads until the buffer is full or
 * the file ends. */
static void refill(Replay *rp)
{
    gsize have = rp->tail - rp->head;
    memmove(rp->buf, rp->buf + rp->head, have);
    rp->head = 0;
    rp->tail = have;
    while (!rp->eof && rp->tail < READ_BLOCK) {
        gsize got = fread(rp->buf + rp->tail, 1, READ_BLOCK - rp->tail, rp->fp);
        rp->tail += got;
        if (got == 0) {
            rp->eof = TRUE;
            rp->read_error = ferror(rp->fp) != 0;
        }
    }
}

/* The next piece of the file as fgets(buf, REPLAY_MAX_LINE + 2) returned
 * it, so that lines are counted and cut as they always were: up to and with
 * the next '\n', at most REPLAY_MAX_LINE + 1 bytes. Returns its length
 * (*@out: where it is, writable); 0: the file has ended, or a read failed
 * (fgets() drops a line it could not finish). */
static gsize next_piece(Replay *rp, char **out)
{
    const gsize most = REPLAY_MAX_LINE + 1;
    char *s = rp->buf + rp->head;
    gsize have = rp->tail - rp->head;
    char *nl = memchr(s, '\n', MIN(have, most));
    if (nl == NULL && have < most && !rp->eof) {
        refill(rp);
        s = rp->buf;
        have = rp->tail;
        nl = memchr(s, '\n', MIN(have, most));
    }
    if (nl == NULL && rp->read_error) {
        return 0;
    }
    gsize n = nl != NULL ? (gsize)(nl - s) + 1 : MIN(have, most);
    rp->head += n;
    *out = s;
    return n;
}

/* Skips to the end of the current line (after one too long). */
static void skip_line(Replay *rp)
{
    for (;;) {
        char *s = rp->buf + rp->head;
        gsize have = rp->tail - rp->head;
        char *nl = memchr(s, '\n', have);
        if (nl != NULL) {
            rp->head += (gsize)(nl - s) + 1;
            return;
        }
        rp->head = rp->tail;
        if (rp->eof) {
            return;
        }
        refill(rp);
    }
}

static void close_file(Replay *rp)
{
    if (rp->fp != NULL) {
        fclose(rp->fp);
        rp->fp = NULL;
    }
    g_clear_pointer(&rp->buf, g_free);
}

/* ---- blocks -------------------------------------------------------------- */

/* Copies @n bytes of @s to @w as a string (lower case if @fold); returns
 * the offset after it. */
static guint32 put(char *block, guint32 at, const char *s, gsize n, gboolean fold)
{
    char *w = block + at;
    if (fold) {
        for (gsize i = 0; i < n; i++) {
            /* g_ascii_tolower(), inline: it is a call a byte */
            w[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 'a' - 'A') : s[i];
        }
    } else {
        memcpy(w, s, n);
    }
    w[n] = '\0';
    return at + (guint32)n + 1;
}

/* The shared list of @v's header names (string literals), or -1 when
 * they are no literals or the lists are all taken. */
static gint key_set_of(Replay *rp, const ReplayView *v)
{
    if (!v->hdr_static) {
        return -1;
    }
    for (guint i = 0; i < rp->n_key_sets; i++) {
        const GPtrArray *k = rp->key_sets[i];
        gboolean same = k->len == v->n_headers;
        for (guint j = 0; same && j < k->len; j++) {
            same = g_ptr_array_index(k, j) == (gpointer)v->hdr_names[j];
        }
        if (same) {
            return (gint)i;
        }
    }
    if (rp->n_key_sets == KEY_SETS_N) {
        return -1;
    }
    GPtrArray *k = g_ptr_array_sized_new(v->n_headers);
    for (guint j = 0; j < v->n_headers; j++) {
        g_ptr_array_add(k, (gpointer)v->hdr_names[j]);
    }
    rp->key_sets[rp->n_key_sets] = k;
    return (gint)rp->n_key_sets++;
}

/* The block of @v: one allocation, what its request needs. */
static char *pack(Replay *rp, const ReplayView *v)
{
    const char *s[5] = { v->method, v->host, v->authority, v->path,
                         v->sni != NULL ? v->sni : "" };
    const gsize len[5] = { v->method_len, v->host_len, v->authority_len,
                           v->path_len, v->sni_len };
    gsize total = sizeof(LineHead) + len[0] + len[1] + len[2] + len[3] +
                  len[4] + 5;
    gint key_set = v->n_headers > 0 ? key_set_of(rp, v) : -1;
    for (guint i = 0; i < v->n_headers; i++) {
        total += v->hdr_value_lens[i] + 1;
        total += key_set < 0 ? v->hdr_name_lens[i] + 1 : 0;
    }
    char *block = g_malloc(total);
    LineHead *h = (LineHead *)(void *)block;
    h->scheme = v->scheme;
    h->lb_port = v->lb_port;
    h->has_sni = v->sni != NULL;
    h->n_headers = v->n_headers;
    h->key_set = key_set;
    memcpy(h->client_ip, v->client_ip, sizeof h->client_ip);
    h->client_addr = v->client_addr;
    guint32 at = sizeof(LineHead);
    for (guint i = 0; i < 5; i++) {
        h->at[i] = at;
        at = put(block, at, s[i], len[i], i == 1 && v->host_fold);
    }
    h->at[5] = at;
    for (guint i = 0; i < v->n_headers; i++) {
        if (key_set < 0) {
            at = put(block, at, v->hdr_names[i], v->hdr_name_lens[i], FALSE);
        }
        at = put(block, at, v->hdr_values[i], v->hdr_value_lens[i], FALSE);
    }
    return block;
}

/* ---- reading ------------------------------------------------------------- */

/* Reads one line into the window (or counts it bad). */
static void read_one(Replay *rp)
{
    char *s = NULL;
    gsize n = next_piece(rp, &s);
    if (n == 0) {
        if (rp->read_error) {
            /* A read error ends the trace where it happened. */
            rp->bad++;
            results_bad_line(rp->w->results, rp->file, rp->line_no + 1);
        }
        close_file(rp);
        return;
    }
    rp->line_no++;
    /* The text ends at a NUL, as the C string fgets() made of it. */
    const char *nul = memchr(s, '\0', n);
    gsize len = nul != NULL ? (gsize)(nul - s) : n;
    if (len > REPLAY_MAX_LINE && s[len - 1] != '\n') {
        /* Too long for the buffer: skip the rest of the line. */
        skip_line(rp);
        rp->bad++;
        results_bad_line(rp->w->results, rp->file, rp->line_no);
        return;
    }
    if (nul == NULL && s[len - 1] == '\n') {
        len--; /* its NUL goes where the newline was */
    }
    /* else: a last line without its newline, the NUL goes at buf[tail],
     * or a NUL already ends it */
    s[len] = '\0';
    ReplayView v;
    g_autofree char *why = NULL;
    switch (replay__parse_line(rp->parser, s, len, rp->line_no == 1, &v,
                               &why)) {
    case REPLAY_LINE_SKIP:
        return;
    case REPLAY_LINE_BAD:
        rp->bad++;
        results_bad_line(rp->w->results, rp->file, rp->line_no);
        return;
    case REPLAY_LINE_OK:
        break;
    }
    ReplayItem it = { v.t_ns, rp->line_no, pack(rp, &v) };
    rp->max_read_t = MAX(rp->max_read_t, it.t_ns);
    replay_window_push(rp->window, &it);
}

/* Reads until the earliest line held is safe to replay: a line at least
 * REPLAY_REORDER_WINDOW later has been read, or the window is full, or the
 * file has ended. Amortized one line per arrival. */
static void fill(Replay *rp)
{
    while (rp->fp != NULL && replay_window_len(rp->window) < REPLAY_REORDER_MAX) {
        const ReplayItem *min = replay_window_min(rp->window);
        if (min != NULL && rp->max_read_t - min->t_ns >= REPLAY_REORDER_WINDOW) {
            break;
        }
        read_one(rp);
    }
}

/* ---- arrivals ------------------------------------------------------------ */

static SimTime arrival_of(const Replay *rp, gint64 t_ns)
{
    double off = (double)(t_ns - rp->t_first) / rp->speed;
    if (off <= 0) {
        return rp->start;
    }
    if (off >= (double)(SIM_TIME_MAX - rp->start)) {
        return SIM_TIME_MAX;
    }
    return rp->start + (SimTime)llround(off);
}

/* Ends the replay: nothing more is read or scheduled. */
static void finish(Replay *rp)
{
    close_file(rp);
    replay_window_clear(rp->window);
}

static void schedule_next(Replay *rp)
{
    fill(rp);
    if (replay_window_len(rp->window) == 0) {
        finish(rp);
        return;
    }
    ReplayItem it = replay_window_pop(rp->window);
    if (!rp->started) {
        rp->started = TRUE;
        rp->t_first = it.t_ns;
        rp->last_t = it.t_ns;
    }
    if (it.t_ns < rp->last_t) {
        rp->late++; /* behind the window: it goes now */
    } else {
        rp->last_t = it.t_ns;
    }
    SimTime now = sim_now(rp->w->engine);
    SimTime at = MAX(arrival_of(rp, it.t_ns), now);
    if (at >= rp->stop || at == SIM_TIME_MAX) {
        g_free(it.block);
        finish(rp);
        return;
    }
    rp->next = it;
    rp->has_next = TRUE;
    sim_schedule(rp->w->engine, at, rp->ev_arrival, 0, NULL);
}

/* Header lists that requests gave back, for the next lines: a list is a
 * struct and two arrays, three allocations and three frees a line
 * otherwise. Requests can outlive their Replay (runner.c frees the client
 * before the path releases what is still in flight), so the pool counts
 * its users: the Replay and each request holding a list from it. */
struct _HeaderPool {
    guint refs;
    GPtrArray *spare; /* KvList*, keys NULL, values empty */
};

static void spare_free(gpointer p)
{
    KvList *kv = p;
    g_ptr_array_unref(kv->values);
    g_free(kv);
}

static HeaderPool *header_pool_new(void)
{
    HeaderPool *hp = g_new0(HeaderPool, 1);
    hp->refs = 1;
    hp->spare = g_ptr_array_new_with_free_func(spare_free);
    return hp;
}

static void header_pool_unref(HeaderPool *hp)
{
    if (--hp->refs == 0) {
        g_ptr_array_unref(hp->spare);
        g_free(hp);
    }
}

/* Request.release_owned for replayed requests: the list goes back to the
 * pool (its key array, shared or its own, is dropped), the block is
 * freed. */
static void header_pool_take(Request *r, gpointer data)
{
    HeaderPool *hp = data;
    KvList *kv = g_steal_pointer(&r->owned_headers);
    if (kv != NULL) {
        g_clear_pointer(&kv->keys, g_ptr_array_unref);
        g_ptr_array_set_size(kv->values, 0);
        g_ptr_array_add(hp->spare, kv);
    }
    g_clear_pointer(&r->owned, g_free);
    header_pool_unref(hp);
}

/* The headers that start at @w as a KvList whose arrays have no free
 * function: the strings stay the block's, which the request owns beside
 * the list (Request.owned), so kv_list_free() frees the list alone. The
 * names are @keys (shared, one more reference) or, when NULL, in the block
 * before each value. Names are distinct (the parsers saw to it), as
 * kv_list_set() would have made them. The list comes from @hp's spares
 * when it has one. */
static KvList *
headers_in_block(HeaderPool *hp, const char *w, guint n, GPtrArray *keys)
{
    KvList *kv;
    if (hp->spare->len > 0) {
        kv = g_ptr_array_steal_index_fast(hp->spare, hp->spare->len - 1);
    } else {
        kv = g_new(KvList, 1);
        kv->values = g_ptr_array_sized_new(n);
    }
    kv->keys = keys != NULL ? g_ptr_array_ref(keys) : g_ptr_array_sized_new(n);
    for (guint i = 0; i < n; i++) {
        if (keys == NULL) {
            g_ptr_array_add(kv->keys, (gpointer)w);
            w += strlen(w) + 1;
        }
        g_ptr_array_add(kv->values, (gpointer)w);
        w += strlen(w) + 1;
    }
    return kv;
}

/* The request of @it, which hands its block over to @r. */
static void fill_request(Replay *rp, Request *r, ReplayItem *it)
{
    const char *b = it->block;
    const LineHead *h = (const LineHead *)(const void *)b;
    r->scheme = h->scheme;
    r->lb_port = h->lb_port;
    r->method = b + h->at[0];
    r->host = b + h->at[1];
    r->authority = b + h->at[2];
    r->path = b + h->at[3];
    r->sni = h->has_sni ? b + h->at[4] : NULL;
    if (h->n_headers > 0) {
        r->owned_headers = headers_in_block(
            rp->pool, b + h->at[5], h->n_headers,
            h->key_set >= 0 ? rp->key_sets[h->key_set] : NULL);
        r->headers = r->owned_headers;
    }
    r->traffic = rp->name;
    /* The address parsed once here, as the generators do, rather than by
     * kube-proxy's walk and each later reader (Request.client_addr). */
    if (h->client_ip[0] != '\0') {
        memcpy(r->client_ip, h->client_ip, sizeof r->client_ip);
        r->client_addr = h->client_addr;
    } else {
        /* As the generators: clients from 198.51.100.0/24 (TEST-NET-2). */
        r->client_addr = client_test_net_addr((guint)(1 + rp->sent % 250),
                                              r->client_ip);
    }
    r->owned = g_steal_pointer(&it->block);
    r->release_owned = header_pool_take;
    r->release_data = rp->pool;
    rp->pool->refs++;
}

static void on_arrival(SimEngine *e, gpointer ctx, const SimEvent *ev)
{
    Replay *rp = ctx;
    g_assert(rp->has_next);
    rp->has_next = FALSE;
    Request *r = path_request_new(rp->path);
    fill_request(rp, r, &rp->next);
    rp->sent++;
    path_send(rp->path, r);
    schedule_next(rp);
}

/* ---- the replay ---------------------------------------------------------- */

Replay *replay_open(World *w, Path *p, const TrafficSpec *ts, GError **error)
{
    g_return_val_if_fail(w != NULL && p != NULL && ts != NULL, NULL);
    g_return_val_if_fail(ts->arrival == ARRIVAL_TRACE, NULL);
    ReplayFormat fmt;
    if (!replay_format_parse(ts->trace_format, &fmt)) {
        const YNode *n = ynode_path(ts->where, "trace.format");
        ynode_error(error, n != NULL ? n : ts->where, SCENARIO_ERROR_BAD_VALUE,
                    "unknown trace format '%s' (istio-json, istio-text or "
                    "csv)",
                    ts->trace_format);
        return NULL;
    }
    /* A folder reads as one bad line, a FIFO blocks the run for good:
     * a trace is a regular file (as the YAML loader wants its files). */
    GStatBuf st;
    if (g_stat(ts->trace_file, &st) == 0 && !S_ISREG(st.st_mode)) {
        const YNode *n = ynode_path(ts->where, "trace.file");
        ynode_error(error, n != NULL ? n : ts->where, SCENARIO_ERROR_IO,
                    "trace '%s' is not a regular file", ts->trace_file);
        return NULL;
    }
    FILE *fp = g_fopen(ts->trace_file, "rb");
    if (fp == NULL) {
        int e = errno;
        const YNode *n = ynode_path(ts->where, "trace.file");
        ynode_error(error, n != NULL ? n : ts->where, SCENARIO_ERROR_IO,
                    "cannot open trace '%s': %s", ts->trace_file,
                    g_strerror(e));
        return NULL;
    }
    Replay *rp = g_new0(Replay, 1);
    rp->w = w;
    rp->path = p;
    rp->ts = ts;
    rp->name = g_intern_string(ts->name);
    rp->file = ts->trace_file;
    rp->fp = fp;
    rp->parser = replay_parser_new(w->s, fmt);
    rp->buf = g_malloc(READ_BLOCK + 1);
    rp->window = replay_window_new();
    rp->pool = header_pool_new();
    rp->max_read_t = G_MININT64;
    rp->start = ts->start;
    rp->speed = ts->speed > 0 ? ts->speed : 1.0;
    /* SCENARIO.md: a replayed trace runs to its last line unless a
     * duration is set; an explicit `stop` always applies. */
    gboolean explicit_stop =
        ts->where != NULL && ynode_get(ts->where, "stop") != NULL;
    rp->stop = explicit_stop || w->s->duration_set ? ts->stop : SIM_TIME_MAX;
    rp->ev_arrival =
        sim_engine_register(w->engine, "replay-arrival", on_arrival, NULL, rp);
    return rp;
}

void replay_start(Replay *rp)
{
    g_return_if_fail(rp != NULL && !rp->started && !rp->has_next);
    schedule_next(rp);
}

gboolean replay_pending(const Replay *rp)
{
    return rp->has_next;
}

guint64 replay_n_sent(const Replay *rp)
{
    return rp->sent;
}

guint64 replay_n_bad(const Replay *rp)
{
    return rp->bad;
}

guint64 replay_n_late(const Replay *rp)
{
    return rp->late;
}

void replay_free(Replay *rp)
{
    if (rp == NULL) {
        return;
    }
    finish(rp);
    if (rp->has_next) {
        g_clear_pointer(&rp->next.block, g_free);
    }
    replay_window_free(rp->window);
    replay_parser_free(rp->parser);
    /* Requests still out keep the lists they use, and the pool. */
    for (guint i = 0; i < rp->n_key_sets; i++) {
        g_ptr_array_unref(rp->key_sets[i]);
    }
    header_pool_unref(rp->pool);
    g_free(rp);
}
