/* replay-reader.c: the streaming reader of a replayed trace: reads lines in
 * big blocks, parses each where it lies, and keeps one arrival scheduled
 * and a bounded reorder window of lines in memory. */
/* strchrnul(): one pass finds a line's end and any NUL before it. */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#ifdef __SSE2__
#include <emmintrin.h> /* the blocks' non-temporal stores */
#endif

#include "models/client.h"
#include "models/ipv4.h"
#include "models/replay-private.h"
#include "models/replay-window.h"
#include "sim/arena.h"

/* The read buffer. It holds a whole line of REPLAY_MAX_LINE + 1 bytes
 * (the longest fgets() would have returned) and what came after it. */
#define READ_BLOCK (256 * 1024)
G_STATIC_ASSERT(READ_BLOCK > 2 * (REPLAY_MAX_LINE + 1));
/* ... but it is filled READ_CHUNK bytes at a time past what is left, so
 * the part in use stays at its front, in the core's own caches: filled
 * whole, the 256 KiB swept through the L2 every 900 lines, and at 200k
 * lines/s (3,000 requests in flight) evicted what the requests needed
 * next. Cachegrind (L2 as the last level, 2 MB): 8.70M -> 7.81M misses
 * for a 200k-line replay; the kernel's copy into the buffer, which it
 * does not see, hits warm lines too. A read() per 110 lines. */
#define READ_CHUNK (32 * 1024)
G_STATIC_ASSERT(READ_CHUNK <= READ_BLOCK);

/* Lists of header names that requests share (an Istio line has at most
 * three names, always the same literals: REPLAY_HDR_SETS lists cover a
 * log). */
#define KEY_SETS_N REPLAY_HDR_SETS

/* Line blocks come in sizes BLOCK_GRAIN apart, up to BLOCK_CLASSES of
 * them, and are kept for reuse (LinePool): a malloc() and a free() a line
 * cost more than the rest of its copying. A longer line's block is
 * allocated and freed on its own. */
#define BLOCK_GRAIN 32
#define BLOCK_CLASSES 32

/* The head of a buffered line's block, which its request takes over
 * (Request.owned): this, then those of method, host, authority, path and
 * sni that the world's name table did not take, NUL-terminated, then the
 * headers: their values, each after its name unless the names are a
 * shared list. */
typedef struct _LineHead LineHead;
struct _LineHead {
    guint8 cls;          /* size class (1..BLOCK_CLASSES), 0: no class */
    guint8 scheme;       /* UrlScheme, as ReplayRecord */
    guint8 has_sni;      /* the sni string is meaningful */
    guint8 names_fixed;  /* host, authority and sni interned: the
                          * request's Request.names_fixed; 2 if method
                          * and path are too (Request.all_fixed) */
    guint16 n_headers;   /* headers after the strings (a line of 64 KiB
                          * holds fewer than 22k) */
    gint32 lb_port;      /* as ReplayRecord */
    guint32 client_addr; /* ReplayView.client_addr */
    char client_ip[16];  /* as ReplayRecord */
    GPtrArray *keys;     /* the header names, a LinePool.key_sets list;
                          * NULL: each name is in the block before its
                          * value */
    const char *str[5];  /* method, host, authority, path, sni: interned
                          * (World.names) or in the block */
    guint32 hdr_at[];    /* n_headers pairs: the offsets of each header's
                          * name (unused with keys) and value */
};
/* A header takes at least three bytes of a line ("a:;"). */
G_STATIC_ASSERT(REPLAY_MAX_LINE / 3 < G_MAXUINT16);

/* A request's header list (Request.owned_headers): the names a shared
 * list or own_keys, the values its block's strings. Only requests in
 * flight hold one, not the lines waiting in the window, so a few
 * thousand go round the pool with their arrays. */
typedef struct _HeaderList HeaderList;
struct _HeaderList {
    KvList kv;           /* first: what the request reads */
    GPtrArray *own_keys; /* names of a line without a shared list, NULL
                          * until one; kept across reuse */
};

/* A stack of free pointers. Giving a block or a list back pushes its
 * address here and writes nothing into it: by the time its request ends
 * (milliseconds, thousands of lines later) it is out of the caches, and
 * a free list linked through it cost a miss a line. (A GPtrArray would
 * do, at a library call for each push and pop, two a line.) */
typedef struct {
    gpointer *v;
    guint n;
    guint cap;
} Spares;

static void spares_push(Spares *st, gpointer p)
{
    if (G_UNLIKELY(st->n == st->cap)) {
        st->cap = MAX(2 * st->cap, 64);
        st->v = g_renew(gpointer, st->v, st->cap);
    }
    st->v[st->n++] = p;
}

static gpointer spares_pop(Spares *st)
{
    return st->n > 0 ? st->v[--st->n] : NULL;
}

typedef struct _LinePool LinePool;

/* A size class as a request names it (Request.release_data), so that
 * giving its block back needs nothing read from the block. */
typedef struct {
    LinePool *pool;
    guint cls; /* 0: a block of no class, freed */
} BlockClass;

/* What requests give back and the next lines reuse: blocks by size class,
 * header lists, and the shared lists of header names. Requests can
 * outlive their Replay (runner.c frees the client before the path
 * releases what is still in flight), so the pool counts its users: the
 * Replay and each request holding a block from it. */
struct _LinePool {
    guint refs;
    BlockClass classes[BLOCK_CLASSES + 1]; /* each class's name */
    Spares spare[BLOCK_CLASSES + 1];       /* free blocks of each class */
    Spares spare_lists;                    /* free HeaderList */
    GPtrArray *key_sets[KEY_SETS_N];       /* char*, no free function; by
                                            * ReplayView.hdr_set, NULL
                                            * until a line has it */
    Arena *blocks;                         /* where classed blocks come
                                            * from (huge pages) */
};

/* A string the world's name table gave back for the line's bytes, and
 * for an authority the host interned with it: a log repeats a handful of
 * methods, hosts and paths, and comparing a line's field with the last
 * one of its length costs a few loads where hashing it into the table
 * cost ~90 instructions (four fields a line). */
#define NAME_MEMO 4
typedef struct {
    const char *s;    /* interned, NULL: empty slot */
    gsize len;
    const char *host; /* authority_memo: the host of s, interned */
} NameMemo;

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
    LinePool *pool;        /* blocks for reuse (one reference) */
    char *stage;           /* BLOCK_CLASSES * BLOCK_GRAIN bytes, 64-byte
                            * aligned: where pack() builds a block */
    /* The last names interned, by field and length & 3 (NameMemo). */
    NameMemo method_memo[NAME_MEMO];
    NameMemo authority_memo[NAME_MEMO];
    NameMemo path_memo[NAME_MEMO];
    NameMemo sni_memo[NAME_MEMO];
};

/* ---- the pool ------------------------------------------------------------ */

static LinePool *line_pool_new(void)
{
    LinePool *lp = g_new0(LinePool, 1);
    lp->refs = 1;
    lp->blocks = arena_new();
    for (guint c = 0; c <= BLOCK_CLASSES; c++) {
        lp->classes[c] = (BlockClass){ lp, c };
    }
    return lp;
}

static void line_pool_unref(LinePool *lp)
{
    if (--lp->refs > 0) {
        return;
    }
    /* Classed blocks are the arena's; class 0 has no spares. */
    for (guint c = 0; c <= BLOCK_CLASSES; c++) {
        g_free(lp->spare[c].v);
    }
    arena_free(lp->blocks);
    for (guint i = 0; i < lp->spare_lists.n; i++) {
        HeaderList *l = lp->spare_lists.v[i];
        g_ptr_array_unref(l->kv.values);
        if (l->own_keys != NULL) {
            g_ptr_array_unref(l->own_keys);
        }
        g_free(l);
    }
    g_free(lp->spare_lists.v);
    for (guint i = 0; i < KEY_SETS_N; i++) {
        if (lp->key_sets[i] != NULL) {
            g_ptr_array_unref(lp->key_sets[i]);
        }
    }
    g_free(lp);
}

/* A block of at least @size bytes, its class into @cls (0: allocated on
 * its own). Nothing is written into it: pack() streams it whole. */
static LineHead *line_block_new(LinePool *lp, gsize size, guint *cls)
{
    guint c = (guint)((size + BLOCK_GRAIN - 1) / BLOCK_GRAIN);
    if (c > BLOCK_CLASSES) {
        *cls = 0;
        return g_malloc(size);
    }
    *cls = c;
    LineHead *h = spares_pop(&lp->spare[c]);
    return h != NULL ? h : arena_alloc(lp->blocks, (gsize)c * BLOCK_GRAIN);
}

/* Copies @n bytes (a multiple of 32) from @src to @dst (16-byte
 * aligned) by non-temporal stores: a line's block is read ~65k lines
 * after it is written, out of the caches by then whatever the stores do,
 * and written through the cache it cost a read of its two lines first
 * and pushed two lines of what the run reads next out of the L2. */
static void stream_block(void *dst, const void *src, gsize n)
{
#ifdef __SSE2__
    __m128i *d = dst;
    const __m128i *s = src;
    G_STATIC_ASSERT(BLOCK_GRAIN % 32 == 0);
    for (gsize i = 0; i < n / 16; i += 2) { /* a class is 32-byte steps */
        _mm_stream_si128(d + i, _mm_load_si128(s + i));
        _mm_stream_si128(d + i + 1, _mm_load_si128(s + i + 1));
    }
#else
    memcpy(dst, src, n);
#endif
}

/* Takes @block of class @cls back (a block of line_block_new()'s). */
static void line_block_give(LinePool *lp, char *block, guint cls)
{
    if (cls == 0) {
        g_free(block);
    } else {
        spares_push(&lp->spare[cls], block);
    }
}

/* line_block_give(), the class read from the block: for the blocks that
 * never went to a request (still warm, or at the end). */
static void line_block_free(LinePool *lp, char *block)
{
    line_block_give(lp, block, ((LineHead *)(void *)block)->cls);
}

/* The header list of @h's line (@block), from the pool's spares when it
 * has one: its arrays have no free function (the strings are the
 * block's, the names a shared list's or the block's). */
static KvList *header_list_new(LinePool *lp, const LineHead *h,
                               const char *block)
{
    HeaderList *l = spares_pop(&lp->spare_lists);
    if (l == NULL) {
        l = g_new0(HeaderList, 1);
        l->kv.values = g_ptr_array_sized_new(h->n_headers);
    }
    guint n = h->n_headers;
    g_ptr_array_set_size(l->kv.values, n);
    if (h->keys != NULL) {
        l->kv.keys = h->keys;
    } else {
        if (l->own_keys == NULL) {
            l->own_keys = g_ptr_array_sized_new(n);
        }
        g_ptr_array_set_size(l->own_keys, n);
        l->kv.keys = l->own_keys;
    }
    for (guint i = 0; i < n; i++) {
        if (h->keys == NULL) {
            l->kv.keys->pdata[i] = (gpointer)(block + h->hdr_at[2 * i]);
        }
        l->kv.values->pdata[i] = (gpointer)(block + h->hdr_at[2 * i + 1]);
    }
    return &l->kv;
}

static void header_list_free(LinePool *lp, KvList *kv)
{
    spares_push(&lp->spare_lists, kv); /* kv is a HeaderList's first */
}

/* ---- lines --------------------------------------------------------------- */

/* Moves what is left to the front and reads READ_CHUNK more bytes, or
 * until the buffer is full or the file ends. */
static void refill(Replay *rp)
{
    gsize have = rp->tail - rp->head;
    memmove(rp->buf, rp->buf + rp->head, have);
    rp->head = 0;
    rp->tail = have;
    gsize want = MIN(READ_BLOCK, have + READ_CHUNK);
    while (!rp->eof && rp->tail < want) {
        gsize got = fread(rp->buf + rp->tail, 1, want - rp->tail, rp->fp);
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
    while (nl == NULL && have < most && !rp->eof) {
        /* A chunk at a time until the line ends or is too long. */
        gsize looked = have;
        refill(rp);
        s = rp->buf;
        have = rp->tail;
        nl = memchr(s + looked, '\n', MIN(have, most) - MIN(looked, most));
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

/* g_ascii_tolower() of @n bytes of @s into @w, eight bytes at a time: a
 * byte is an upper-case letter when it is ASCII (high bit clear) and its
 * low seven bits added to two constants carry into the high bit for >=
 * 'A' but not for > 'Z'; such a byte gets 0x20. */
static void ascii_down(char *w, const char *s, gsize n)
{
    const guint64 ones = G_GUINT64_CONSTANT(0x0101010101010101);
    const guint64 highs = 0x80 * ones;
    gsize i = 0;
    for (; i + 8 <= n; i += 8) {
        guint64 x;
        memcpy(&x, s + i, 8);
        guint64 low7 = x & (0x7f * ones);
        guint64 ge_a = low7 + (0x80 - 'A') * ones;
        guint64 gt_z = low7 + (0x7f - 'Z') * ones;
        guint64 upper = (ge_a ^ gt_z) & ~x & highs;
        x |= upper >> 2;
        memcpy(w + i, &x, 8);
    }
    for (; i < n; i++) {
        w[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 'a' - 'A') : s[i];
    }
}

/* Copies @n bytes of @s to @w as a string (lower case if @fold); returns
 * the offset after it. */
/* memcpy() of a field's few bytes: overlapping word moves up to 64
 * bytes. The PGO build had turned the library call for the usual 36-byte
 * x-request-id into a `rep movsl`, whose start-up alone was an eighth of
 * parse_one()'s samples. */
static inline void copy_small(char *w, const char *s, gsize n)
{
    if (n < 8 || n > 64) {
        memcpy(w, s, n);
        return;
    }
    for (gsize i = 0; i + 8 < n; i += 8) {
        guint64 x;
        memcpy(&x, s + i, 8);
        /* Kept a word move: else gcc sees the loop as a memcpy() again. */
        __asm__("" : "+r"(x));
        memcpy(w + i, &x, 8);
    }
    guint64 y;
    memcpy(&y, s + n - 8, 8);
    memcpy(w + n - 8, &y, 8);
}

static guint32 put(char *block, guint32 at, const char *s, gsize n, gboolean fold)
{
    char *w = block + at;
    if (fold) {
        ascii_down(w, s, n);
    } else {
        copy_small(w, s, n);
    }
    w[n] = '\0';
    return at + (guint32)n + 1;
}

/* The shared list of @v's header names (string literals), or NULL when
 * they are no literals. Found by the list's number, not by comparing
 * each name with each list's. */
static GPtrArray *key_set_of(LinePool *lp, const ReplayView *v)
{
    if (!v->hdr_static) {
        return NULL;
    }
    g_assert(v->hdr_set < KEY_SETS_N);
    GPtrArray **k = &lp->key_sets[v->hdr_set];
    if (*k == NULL) {
        *k = g_ptr_array_sized_new(v->n_headers);
        for (guint j = 0; j < v->n_headers; j++) {
            g_ptr_array_add(*k, (gpointer)v->hdr_names[j]);
        }
    }
    return *k;
}

static inline guint64 load8(const char *s)
{
    guint64 w;
    memcpy(&w, s, 8);
    return w;
}

static inline guint32 load4(const char *s)
{
    guint32 w;
    memcpy(&w, s, 4);
    return w;
}

/* memcmp(@a, @b, @n) == 0, by overlapping 8-byte loads up to 32 bytes
 * (the usual method, host and path), reading nothing outside either. */
static inline gboolean same_bytes(const char *a, const char *b, gsize n)
{
    if (n >= 8) {
        if (n > 32) {
            return memcmp(a, b, n) == 0;
        }
        guint64 d = (load8(a) ^ load8(b)) |
                    (load8(a + n - 8) ^ load8(b + n - 8));
        if (n > 16) {
            d |= (load8(a + 8) ^ load8(b + 8)) |
                 (load8(a + n - 16) ^ load8(b + n - 16));
        }
        return d == 0;
    }
    if (n >= 4) {
        return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
    }
    /* 1 to 3 bytes ("GET", "/"): the first, the middle and the last are
     * all of them, without a loop. */
    return n == 0 || ((a[0] ^ b[0]) | (a[n / 2] ^ b[n / 2]) |
                      (a[n - 1] ^ b[n - 1])) == 0;
}

/* The memo slot of @s (@n bytes) in @m, or NULL. */
G_ALWAYS_INLINE static inline NameMemo *
memo_hit(NameMemo *m, const char *s, gsize n)
{
    NameMemo *e = &m[n & (NAME_MEMO - 1)];
    return e->s != NULL && e->len == n && same_bytes(e->s, s, n) ? e : NULL;
}

/* intern_field() that the memo did not answer. */
G_NO_INLINE static const char *
intern_miss(NameTable *nt, NameMemo *m, const char *s, gsize n)
{
    const char *in = name_table_intern(nt, s, n);
    if (in != NULL) {
        m[n & (NAME_MEMO - 1)] = (NameMemo){ in, n, NULL };
    }
    return in;
}

/* @s (@n bytes) interned in @nt, through @m; NULL when the table is
 * full. An empty string is a literal's: its address is as fixed as an
 * interned one's. Inlined always: the memo answers nearly every line,
 * in fewer instructions than a call's saves and restores. */
G_ALWAYS_INLINE static inline const char *
intern_field(NameTable *nt, NameMemo *m, const char *s, gsize n)
{
    if (n == 0) {
        return "";
    }
    const NameMemo *hit = memo_hit(m, s, n);
    if (G_LIKELY(hit != NULL)) {
        return hit->s;
    }
    return intern_miss(nt, m, s, n);
}

/* The authority of @v interned into *@auth and its host (lower case,
 * without the port) into *@host, both NULL when the table is full. */
static void intern_authority(Replay *rp,
                             const ReplayView *v,
                             const char **auth,
                             const char **host)
{
    gsize n = v->authority_len;
    const NameMemo *hit = memo_hit(rp->authority_memo, v->authority, n);
    if (hit != NULL) {
        *auth = hit->s;
        *host = hit->host;
        return;
    }
    *auth = *host = NULL;
    if (v->host_len > NAME_TABLE_MAX_LEN) {
        return;
    }
    char buf[NAME_TABLE_MAX_LEN];
    ascii_down(buf, v->host, v->host_len);
    const char *a = name_table_intern(rp->w->names, v->authority, n);
    const char *h = v->host_len == 0 ? ""
                                     : name_table_intern(rp->w->names, buf,
                                                         v->host_len);
    if (a != NULL && h != NULL) {
        rp->authority_memo[n & (NAME_MEMO - 1)] = (NameMemo){ a, n, h };
        *auth = a;
        *host = h;
    }
}

/* @v's method, host, authority, path and sni from the world's name
 * table into @in, each NULL where the table has no room; @s and @len
 * get the strings as they would go into a block. */
static void intern_names(Replay *rp,
                         const ReplayView *v,
                         const char **in,
                         const char **s,
                         gsize *len)
{
    s[0] = v->method;
    s[1] = v->host;
    s[2] = v->authority;
    s[3] = v->path;
    s[4] = v->sni != NULL ? v->sni : "";
    len[0] = v->method_len;
    len[1] = v->host_len;
    len[2] = v->authority_len;
    len[3] = v->path_len;
    len[4] = v->sni_len;
    NameTable *names = rp->w->names;
    in[0] = intern_field(names, rp->method_memo, s[0], len[0]);
    in[3] = intern_field(rp->w->paths, rp->path_memo, s[3], len[3]);
    in[4] = intern_field(names, rp->sni_memo, s[4], len[4]);
    if (v->host_fold) {
        intern_authority(rp, v, &in[2], &in[1]);
    } else {
        /* A TCP line's: the authority empty, the host its SNI. */
        in[2] = intern_field(names, rp->authority_memo, s[2], len[2]);
        in[1] = v->host == v->sni
                    ? in[4]
                    : intern_field(names, rp->sni_memo, s[1], len[1]);
    }
}

/* The block of @v, what its request needs. */
static char *pack(Replay *rp, const ReplayView *v)
{
    const char *in[5], *s[5];
    gsize len[5];
    intern_names(rp, v, in, s, len);
    /* Most lines: every name interned, no string of theirs in the block
     * (one test, where the loops below were ten). */
    gboolean all_in = in[0] != NULL && in[1] != NULL && in[2] != NULL &&
                      in[3] != NULL && in[4] != NULL;
    gsize head = sizeof(LineHead) + 2 * v->n_headers * sizeof(guint32);
    gsize total = head;
    for (guint i = 0; !all_in && i < 5; i++) {
        total += in[i] == NULL ? len[i] + 1 : 0;
    }
    GPtrArray *keys = v->n_headers > 0 ? key_set_of(rp->pool, v) : NULL;
    for (guint i = 0; i < v->n_headers; i++) {
        total += v->hdr_value_lens[i] + 1;
        total += keys == NULL ? v->hdr_name_lens[i] + 1 : 0;
    }
    guint cls;
    char *block = (char *)line_block_new(rp->pool, total, &cls);
    /* Built where it is read back at once (the stage), then streamed to
     * the block; a block of no class is built in place. Pointers into it
     * are the block's. */
    char *w = cls != 0 ? rp->stage : block;
    LineHead *h = (LineHead *)(void *)w;
    h->cls = (guint8)cls;
    h->scheme = (guint8)v->scheme;
    h->lb_port = v->lb_port;
    h->has_sni = v->sni != NULL;
    h->names_fixed = in[1] != NULL && in[2] != NULL &&
                     (v->sni == NULL || in[4] != NULL);
    if (h->names_fixed && in[0] != NULL && in[3] != NULL) {
        h->names_fixed = 2;
    }
    h->n_headers = (guint16)v->n_headers;
    h->keys = keys;
    memcpy(h->client_ip, v->client_ip, sizeof h->client_ip);
    h->client_addr = v->client_addr;
    guint32 at = (guint32)head;
    if (all_in) {
        memcpy(h->str, in, sizeof h->str);
    }
    for (guint i = 0; !all_in && i < 5; i++) {
        if (in[i] != NULL) {
            h->str[i] = in[i];
        } else {
            h->str[i] = block + at;
            at = put(w, at, s[i], len[i], i == 1 && v->host_fold);
        }
    }
    for (guint i = 0; i < v->n_headers; i++) {
        h->hdr_at[2 * i] = at;
        if (keys == NULL) {
            at = put(w, at, v->hdr_names[i], v->hdr_name_lens[i], FALSE);
        }
        h->hdr_at[2 * i + 1] = at;
        at = put(w, at, v->hdr_values[i], v->hdr_value_lens[i], FALSE);
    }
    if (cls != 0) {
        stream_block(block, w, (gsize)cls * BLOCK_GRAIN);
    }
    return block;
}

/* ---- reading ------------------------------------------------------------- */

static void parse_one(Replay *rp, char *s, gsize len);

/* Reads one line into the window (or counts it bad). */
static void read_one(Replay *rp)
{
    char *s = rp->buf + rp->head;
    /* The usual line, whole in the buffer and without a NUL: found in
     * one pass up to its newline (the NUL after the data stops it). The
     * rest takes next_piece(), which cuts lines as fgets() did. */
    rp->buf[rp->tail] = '\0';
    char *e = strchrnul(s, '\n');
    if (*e == '\n' && (gsize)(e - s) <= REPLAY_MAX_LINE) {
        rp->head += (gsize)(e - s) + 1;
        rp->line_no++;
        *e = '\0';
        parse_one(rp, s, (gsize)(e - s));
        return;
    }
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
    parse_one(rp, s, len);
}

/* Parses line rp->line_no, @s (@len bytes and a NUL), into the window,
 * or counts it bad. */
static void parse_one(Replay *rp, char *s, gsize len)
{
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
        /* max_read_t - min >= the window, without overflowing for times
         * centuries apart: min was read, so it is at most max_read_t, and
         * a difference too big for a gint64 is past any window. */
        gint64 ahead = 0;
        if (min != NULL &&
            (__builtin_sub_overflow(rp->max_read_t, min->t_ns, &ahead) ||
             ahead >= REPLAY_REORDER_WINDOW)) {
            break;
        }
        read_one(rp);
    }
}

/* ---- arrivals ------------------------------------------------------------ */

static SimTime arrival_of(const Replay *rp, gint64 t_ns)
{
    /* At speed 1 the offset is the difference itself, when a double holds
     * it exactly (104 days): what llround() below gives, without it. */
    const gint64 exact = G_GINT64_CONSTANT(1) << 53;
    gint64 d = 0;
    if (__builtin_sub_overflow(t_ns, rp->t_first, &d)) {
        /* Lines 1678 and 2262 apart (what a time can say) are further
         * apart than a gint64 of ns: one is behind, the other beyond any
         * run. */
        return t_ns < rp->t_first ? rp->start : SIM_TIME_MAX;
    }
    if (rp->speed == 1.0 && d > 0 && d < exact &&
        SIM_TIME_MAX - rp->start >= exact) {
        return rp->start + d;
    }
    double off = (double)d / rp->speed;
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
    while (replay_window_len(rp->window) > 0) {
        line_block_free(rp->pool, replay_window_pop(rp->window).block);
    }
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
        line_block_free(rp->pool, it.block);
        finish(rp);
        return;
    }
    rp->next = it;
    rp->has_next = TRUE;
    sim_schedule(rp->w->engine, at, rp->ev_arrival, 0, NULL);
}

/* Request.release_owned for replayed requests: the block and the header
 * list go back to the pool; @data is the block's class (BlockClass). */
static void line_release(Request *r, gpointer data)
{
    const BlockClass *bc = data;
    LinePool *lp = bc->pool;
    if (r->owned_headers != NULL) {
        header_list_free(lp, g_steal_pointer(&r->owned_headers));
    }
    line_block_give(lp, g_steal_pointer(&r->owned), bc->cls);
    line_pool_unref(lp);
}

/* Request.headers_load of a replayed request: its header list from its
 * block, given back by line_release(), not freed by kv_list_free(). */
static void line_headers_load(Request *r)
{
    const BlockClass *bc = r->release_data;
    const LineHead *h = (const LineHead *)(const void *)r->owned;
    r->owned_headers = header_list_new(bc->pool, h, r->owned);
    r->headers = r->owned_headers;
}

/* The request of @it, which hands its block over to @r. */
static void fill_request(Replay *rp, Request *r, ReplayItem *it)
{
    char *b = it->block;
    LineHead *h = (LineHead *)(void *)b;
    r->scheme = h->scheme;
    r->lb_port = h->lb_port;
    r->method = h->str[0];
    r->host = h->str[1];
    r->authority = h->str[2];
    r->path = h->str[3];
    r->sni = h->has_sni ? h->str[4] : NULL;
    r->names_fixed = h->names_fixed != 0;
    /* The line's every name interned: the gateway may remember what it
     * decides for them, unless its routes read the headers (path.c). */
    r->all_fixed = h->names_fixed == 2;
    /* The headers stay in the block until something reads them
     * (request_headers()): most runs never do, and a list built at every
     * arrival came off the pool cold, a cache miss or two a line at 200k
     * lines/s. */
    r->headers_load = h->n_headers > 0 ? line_headers_load : NULL;
    r->out.traffic = rp->name;
    /* The address parsed once, by the parser, as the generators do,
     * rather than by kube-proxy's walk and each later reader
     * (Request.client_addr). */
    if (h->client_ip[0] != '\0') {
        memcpy(r->client_ip, h->client_ip, sizeof r->client_ip);
        r->client_addr = h->client_addr;
    } else {
        /* As the generators: clients from 198.51.100.0/24 (TEST-NET-2). */
        r->client_addr = client_test_net_addr((guint)(1 + rp->sent % 250),
                                              r->client_ip);
    }
    r->owned = g_steal_pointer(&it->block);
    r->release_owned = line_release;
    r->release_data = &rp->pool->classes[h->cls];
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
    rp->pool = line_pool_new();
    rp->stage = g_aligned_alloc(BLOCK_CLASSES, BLOCK_GRAIN, 64);
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
        line_block_free(rp->pool, g_steal_pointer(&rp->next.block));
    }
    replay_window_free(rp->window);
    replay_parser_free(rp->parser);
    /* Requests still out keep the pool, and the lists they use. */
    line_pool_unref(rp->pool);
    g_aligned_free(rp->stage);
    g_free(rp);
}
