/* test-replay.c: replayed traces through models/replay.h: each format's
 * parser with exact values, the time memo, the reorder window, T-4 port
 * mapping, bad lines with their numbers (cut as fgets() cut them),
 * the speed factor, start/stop, the reorder window, located errors. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "models/accesslog.h"
#include "models/ipv4.h"
#include "models/replay-private.h"
#include "models/replay-window.h"
#include "models/replay.h"
#include "models/runner.h"

static Scenario *load_article(void)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(src != NULL ? src : ".",
                                             "scenarios", "article.yaml", NULL);
    GError *error = NULL;
    Scenario *s = scenario_load(path, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    return s;
}

static const char *gateway_ip(const Scenario *s)
{
    g_autoptr(GPtrArray) pods = cluster_gateway_pods(s->cluster);
    assert_true(pods->len > 0);
    return ((const K8sPod *)g_ptr_array_index(pods, 0))->ip;
}

static void parse_ok(ReplayParser *p, const char *line, ReplayRecord *rec)
{
    g_autofree char *why = NULL;
    ReplayLine rc = replay_parser_line(p, line, FALSE, rec, &why);
    if (rc != REPLAY_LINE_OK) {
        fail_msg("'%s': %s", line, why != NULL ? why : "skipped");
    }
}

static void parse_bad(ReplayParser *p, const char *line, const char *needle)
{
    ReplayRecord rec;
    char *why = NULL;
    assert_int_equal(replay_parser_line(p, line, FALSE, &rec, &why),
                     REPLAY_LINE_BAD);
    assert_non_null(why);
    if (strstr(why, needle) == NULL) {
        fail_msg("'%s' lacks '%s'", why, needle);
    }
    assert_null(rec.method);
    assert_null(rec.headers);
    g_free(why);
}

/* ---- parsing ------------------------------------------------------------- */

static void test_format_names_and_times(void **state)
{
    ReplayFormat f;
    assert_true(replay_format_parse("istio-json", &f));
    assert_int_equal(f, REPLAY_ISTIO_JSON);
    assert_true(replay_format_parse("istio-text", &f));
    assert_int_equal(f, REPLAY_ISTIO_TEXT);
    assert_true(replay_format_parse("csv", &f));
    assert_int_equal(f, REPLAY_CSV);
    assert_false(replay_format_parse("har", &f));

    gint64 ns = 0;
    assert_true(replay_parse_time("2024-01-01T00:00:00.123Z", &ns));
    assert_int_equal(ns, (ACCESS_LOG_EPOCH_UNIX * 1000 + 123) * 1000000);
    assert_true(replay_parse_time("2024-01-01T01:00:00.5+01:00", &ns));
    assert_int_equal(ns, ACCESS_LOG_EPOCH_UNIX * 1000000000 + 500000000);
    assert_true(replay_parse_time("2024-01-01T00:00:00", &ns)); /* UTC */
    assert_int_equal(ns, ACCESS_LOG_EPOCH_UNIX * 1000000000);
    assert_true(replay_parse_time("1704067200123", &ns));
    assert_int_equal(ns, G_GINT64_CONSTANT(1704067200123) * 1000000);
    assert_false(replay_parse_time("yesterday", &ns));
    assert_false(replay_parse_time("", &ns));
    assert_false(replay_parse_time("12345678901234567890", &ns));
    assert_false(replay_parse_time("-5", &ns));
}

/* The parser remembers a minute's start and adds each line's seconds to
 * it, and a second's and adds the milliseconds (models/replay.c). That
 * is exact only if glib's result for a given minute is that minute plus
 * the milliseconds, for every millisecond: see
 * that it is, for minutes in a leap year's February and at a year's end,
 * and that the parser gives the same times as replay_parse_time() for
 * lines in and out of time order, across minutes and shapes. */
static void test_time_memo_is_exact(void **state)
{
    const char *minutes[] = { "2024-02-29T23:59:", "2023-12-31T23:59:",
                              "1999-01-01T00:00:" };
    for (guint m = 0; m < G_N_ELEMENTS(minutes); m++) {
        g_autofree char *zero = g_strdup_printf("%s00.000Z", minutes[m]);
        gint64 base = 0;
        assert_true(replay_parse_time(zero, &base));
        for (guint ms = 0; ms < 60000; ms++) {
            char text[32];
            g_snprintf(text, sizeof text, "%s%02u.%03uZ", minutes[m],
                       ms / 1000, ms % 1000);
            gint64 ns = 0;
            assert_true(replay_parse_time(text, &ns));
            if (ns != base + (gint64)ms * 1000000) {
                fail_msg("%s: %" G_GINT64_FORMAT " ns off", text,
                         ns - base - (gint64)ms * 1000000);
            }
        }
    }
    g_autoptr(ReplayParser) p = replay_parser_new(NULL, REPLAY_ISTIO_TEXT);
    const char *times[] = {
        "2024-01-01T00:00:59.999Z", "2024-01-01T00:00:00.000Z",
        "2024-01-01T00:01:00.001Z", "2024-01-01T00:00:30.500Z",
        "2024-01-01T00:00:30.5Z",   "2024-01-01T00:00:60.000Z",
        "2024-01-01T00:00:07.250+01:00", "2024-01-01T00:00:07.250Z",
        "2024-01-01t00:00:07.250Z", "1704067200123",
        "2024-02-30T00:00:01.000Z", "2024-02-30T00:00:02.000Z",
        "2024-02-30T00:00:02.000ZZ", "2024-02-30T00:00:02.0000Z",
        "2024-01-01T00:00:07.250Z", "2024-01-01T00:00:07.25Z",
        "2024-01-01T00:00:07.2500Z", "2024-01-01T00:00:07.250ZZ",
        "2024-01-01T00:00:7.250Z",
        /* One second's milliseconds, good and bad, then its neighbours. */
        "2024-01-01T00:00:07.250Z", "2024-01-01T00:00:07.251Z",
        "2024-01-01T00:00:07.2x1Z", "2024-01-01T00:00:07.25:Z",
        "2024-01-01T00:00:07.999z", "2024-01-01T00:00:07.999Z",
        "2024-01-01T00:00:08.000Z", "2024-01-01T00:00:07.001Z",
        "2024-01-01T00:01:07.001Z", "2024-01-01T00:00:07.002Z",
    };
    for (guint i = 0; i < G_N_ELEMENTS(times); i++) {
        g_autofree char *line = g_strdup_printf(
            "[%s] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
            "\"-\" \"h\" \"-\" - - - - - r",
            times[i]);
        gint64 want = 0;
        gboolean ok = replay_parse_time(times[i], &want);
        ReplayRecord rec;
        char *why = NULL;
        ReplayLine rc = replay_parser_line(p, line, FALSE, &rec, &why);
        assert_int_equal(rc, ok ? REPLAY_LINE_OK : REPLAY_LINE_BAD);
        if (ok) {
            assert_int_equal(rec.t_ns, want);
            replay_record_clear(&rec);
        }
        g_free(why);
    }
}

/* Takes the window's earliest line and checks it against @ref (ReplayItem:
 * what was pushed and not yet taken), a brute-force reference: the least
 * (t, line) of it, which then leaves @ref. @ask: check the min first. */
static void pop_checked(ReplayWindow *w, GArray *ref, gboolean ask)
{
    guint m = 0;
    for (guint i = 1; i < ref->len; i++) {
        const ReplayItem *a = &g_array_index(ref, ReplayItem, i);
        const ReplayItem *b = &g_array_index(ref, ReplayItem, m);
        if (a->t_ns < b->t_ns || (a->t_ns == b->t_ns && a->line < b->line)) {
            m = i;
        }
    }
    const ReplayItem *want = &g_array_index(ref, ReplayItem, m);
    if (ask) {
        const ReplayItem *min = replay_window_min(w);
        assert_non_null(min);
        assert_int_equal(min->line, want->line);
    }
    ReplayItem got = replay_window_pop(w);
    assert_int_equal(got.line, want->line);
    assert_true(got.t_ns == want->t_ns);
    g_free(got.block);
    g_array_remove_index_fast(ref, m);
}

/* Pushes a line at @t_ns into @w and @ref alike. */
static void push_both(ReplayWindow *w, GArray *ref, gint64 t_ns, guint64 line)
{
    ReplayItem it = { t_ns, line, g_strdup("x") };
    g_array_append_val(ref, it);
    replay_window_push(w, &it);
}

/* The end of a round of pushes: the lengths agree, and two times in three
 * (when there is one) a line is taken and checked. TRUE: one was. */
static gboolean round_end(ReplayWindow *w, GArray *ref, GRand *rng,
                          gboolean ask)
{
    assert_int_equal(replay_window_len(w), ref->len);
    if (ref->len == 0 || g_rand_int_range(rng, 0, 3) == 0) {
        return FALSE;
    }
    pop_checked(w, ref, ask);
    return TRUE;
}

/* The reorder window gives lines back in (start, line) order whatever the
 * mix: in order, a little behind (the run), far behind (the heap), ties,
 * and pops between pushes; it frees what it still holds. */
static void test_window_order(void **state)
{
    GRand *rng = g_rand_new_with_seed(7);
    g_autoptr(GArray) ref = g_array_new(FALSE, FALSE, sizeof(ReplayItem));
    ReplayWindow *w = replay_window_new();
    guint64 line = 0;
    gint64 t = 0;
    for (guint round = 0; round < 20000; round++) {
        guint pushes = (guint)g_rand_int_range(rng, 0, 4);
        for (guint i = 0; i < pushes; i++) {
            t += g_rand_int_range(rng, 0, 3);
            gint64 back = 0;
            switch (g_rand_int_range(rng, 0, 4)) {
            case 0:
                back = g_rand_int_range(rng, 0, 40);
                break;
            case 1:
                back = g_rand_int_range(rng, 0, 2000);
                break;
            default:
                break;
            }
            push_both(w, ref, t - back, ++line);
        }
        round_end(w, ref, rng, TRUE);
    }
    replay_window_free(w); /* frees the blocks still held */
    g_rand_free(rng);
}

/* The window at the scale of real logs: times in ms steps (the window's
 * buckets) and in finer ones, lines up to a few seconds behind, some
 * beyond the ring's 131 s either way, gaps of minutes; pops between
 * pushes, in (start, line) order against a brute-force reference. Half
 * the rounds ask for the min before their pushes and pop without asking
 * again, as the reader does (the window keeps where the min was). */
static void test_window_order_ms(void **state)
{
    static const gint64 step[] = { 1000000, 1000, 333333 };
    for (guint k = 0; k < G_N_ELEMENTS(step); k++) {
        GRand *rng = g_rand_new_with_seed(11 + k);
        g_autoptr(GArray) ref = g_array_new(FALSE, FALSE, sizeof(ReplayItem));
        ReplayWindow *w = replay_window_new();
        guint64 line = 0;
        gint64 t = 1700000000 * G_GINT64_CONSTANT(1000000000);
        guint64 popped = 0;
        for (guint round = 0; round < 30000; round++) {
            gboolean asked = g_rand_boolean(rng);
            if (asked) {
                replay_window_min(w);
            }
            guint pushes = (guint)g_rand_int_range(rng, 0, 4);
            for (guint i = 0; i < pushes; i++) {
                t += step[k] * g_rand_int_range(rng, 0, 3);
                gint64 back = 0;
                switch (g_rand_int_range(rng, 0, 50)) {
                case 0:
                    back = 200 * G_GINT64_CONSTANT(1000000000); /* far */
                    break;
                case 1:
                    t += 300 * G_GINT64_CONSTANT(1000000000); /* a gap */
                    break;
                case 2:
                    back = -140 * G_GINT64_CONSTANT(1000000000); /* ahead */
                    break;
                default:
                    back = step[k] * g_rand_int_range(rng, 0, 3000);
                    break;
                }
                push_both(w, ref, t - back, ++line);
            }
            popped += round_end(w, ref, rng, !asked);
        }
        assert_true(popped > 10000);
        replay_window_free(w); /* frees the blocks still held */
        g_rand_free(rng);
    }
}

/* Start times at the ends of gint64, beyond the queue's 146 years from
 * the first line, still come out in (start, line) order. */
static void test_window_far_times(void **state)
{
    static const gint64 t[] = {
        0,
        G_MAXINT64,
        G_MININT64,
        (G_GINT64_CONSTANT(1) << 62) + 5, /* after the queue's span */
        -(G_GINT64_CONSTANT(1) << 62) - 5, /* before it */
        -(G_GINT64_CONSTANT(1) << 62),    /* its first ns */
        G_MAXINT64,                       /* a tie: line order */
        -1,
    };
    static const guint64 want[] = { 3, 5, 6, 8, 1, 4, 2, 7 };
    ReplayWindow *w = replay_window_new();
    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        ReplayItem it = { t[i], i + 1, g_strdup("x") };
        replay_window_push(w, &it);
    }
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        const ReplayItem *min = replay_window_min(w);
        assert_non_null(min);
        assert_int_equal(min->line, want[i]);
        ReplayItem got = replay_window_pop(w);
        assert_int_equal(got.line, want[i]);
        assert_true(got.t_ns == t[want[i] - 1]);
        g_free(got.block);
    }
    assert_null(replay_window_min(w));
    replay_window_free(w);
}

/* T-1 line of a request that reached the gateway on its https port. */
static void test_text_line_fields(void **state)
{
    g_autoptr(Scenario) s = load_article();
    g_autoptr(ReplayParser) p = replay_parser_new(s, REPLAY_ISTIO_TEXT);
    g_autofree char *line = g_strdup_printf(
        "[2024-05-01T12:00:00.123Z] \"POST /api/v1?x=1 HTTP/2\" 200 - "
        "via_upstream - \"-\" 0 1234 15 14 \"-\" \"curl/8.4.0\" "
        "\"6f1c2d3e-1111-4222-8333-444455556666\" \"Counter.Example.com:443\" "
        "\"10.244.1.5:8080\" outbound|80||counter.default.svc.cluster.local "
        "%s:40112 %s:8443 10.0.0.9:51234 counter.example.com "
        "default/counter http[0]\n",
        gateway_ip(s), gateway_ip(s));
    ReplayRecord r;
    parse_ok(p, line, &r);
    assert_int_equal(r.t_ns, G_GINT64_CONSTANT(1714564800123) * 1000000);
    assert_int_equal(r.scheme, URL_HTTPS);
    assert_int_equal(r.lb_port, 443); /* 8443 -> Service https -> 30443 */
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/api/v1?x=1");
    assert_string_equal(r.authority, "Counter.Example.com:443");
    assert_string_equal(r.host, "counter.example.com");
    assert_string_equal(r.sni, "counter.example.com");
    assert_string_equal(r.client_ip, "10.0.0.9");
    assert_int_equal(kv_list_len(r.headers), 2);
    assert_string_equal(kv_list_get(r.headers, "user-agent"), "curl/8.4.0");
    assert_string_equal(kv_list_get(r.headers, "x-request-id"),
                        "6f1c2d3e-1111-4222-8333-444455556666");
    replay_record_clear(&r);
}

/* ---- what the parser hands the reader (replay-private.h) ---------------- */

/* replay__parse_line() of a copy of @line (as the reader hands it: its
 * length known, no newline needed): the view's lengths must be its
 * strings', and its client address ipv4_parse() of its client_ip. */
static ReplayLine parse_view(ReplayParser *p,
                             const char *line,
                             char **copy,
                             ReplayView *v)
{
    gsize n = strlen(line);
    *copy = g_strndup(line, n);
    g_autofree char *why = NULL;
    ReplayLine rc = replay__parse_line(p, *copy, n, FALSE, v, &why);
    if (rc != REPLAY_LINE_OK) {
        return rc;
    }
    assert_int_equal(v->method_len, strlen(v->method));
    assert_int_equal(v->authority_len, strlen(v->authority));
    assert_int_equal(v->path_len, strlen(v->path));
    assert_int_equal(v->sni_len, v->sni != NULL ? strlen(v->sni) : 0);
    assert_true(v->host_len <= strlen(v->host));
    for (guint i = 0; i < v->n_headers; i++) {
        assert_int_equal(v->hdr_value_lens[i], strlen(v->hdr_values[i]));
        assert_int_equal(v->hdr_name_lens[i], strlen(v->hdr_names[i]));
    }
    guint32 addr = 0;
    if (v->client_ip[0] != '\0' && !ipv4_parse(v->client_ip, &addr)) {
        addr = 0;
    }
    assert_int_equal(v->client_addr, addr);
    return rc;
}

/* An Istio TEXT line with @xff, @authority, @local and @remote put in. */
static char *text_line(const char *xff,
                       const char *authority,
                       const char *local,
                       const char *remote)
{
    return g_strdup_printf(
        "[2024-05-01T12:00:00.123Z] \"GET /api HTTP/1.1\" 200 - via_upstream "
        "- \"-\" 0 0 8 2 \"%s\" \"curl/8\" \"id-1\" \"%s\" \"10.244.0.3:8080\" "
        "outbound|80||c %s %s %s - default/counter http[0]",
        xff, authority, "10.244.0.2:32770", local, remote);
}

/* The client's address is read while the remote address is checked:
 * exactly what ipv4_parse() makes of the client_ip the line gives. */
static void test_view_client_address(void **state)
{
    g_autoptr(ReplayParser) p = replay_parser_new(NULL, REPLAY_ISTIO_TEXT);
    static const struct {
        const char *xff;    /* "-": none */
        const char *remote; /* %DOWNSTREAM_REMOTE_ADDRESS% */
        const char *ip;     /* client_ip */
        guint32 addr;       /* client_addr */
    } cases[] = {
        { "-", "10.0.0.9:51234", "10.0.0.9", 0x0a000009 },
        { "-", "198.51.100.22:53432", "198.51.100.22", 0xc6336416 },
        { "-", "255.255.255.255:1", "255.255.255.255", 0xffffffff },
        { "-", "0.0.0.0:65535", "0.0.0.0", 0 },
        /* skip_quad() takes a leading zero, ipv4_parse() does not */
        { "-", "01.2.3.4:80", "01.2.3.4", 0 },
        { "-", "1.2.3.004:80", "1.2.3.004", 0 },
        /* not "a.b.c.d:port": the long way */
        { "-", "1.2.3.4", "1.2.3.4", 0x01020304 },
        { "-", "1.2.3.4:0", "", 0 },
        { "-", "1.2.3.4:65536", "", 0 },
        { "-", "1.2.3.4:000080", "1.2.3.4", 0x01020304 },
        /* ports of eight digits and more: the long way, the same reading */
        { "-", "1.2.3.4:00000080", "1.2.3.4", 0x01020304 },
        { "-", "1.2.3.4:0000065536", "", 0 },
        /* a ':' before the port's, in the quad or right before it */
        { "-", "1.2:3.4.5:80", "", 0 },
        { "-", "1.2.3.4::80", "", 0 },
        { "-", "1.2.3.4:8:80", "", 0 },
        { "-", "256.1.1.1:1", "", 0 },
        { "-", "1.2.3.4.5:6", "", 0 },
        { "-", "1234.1.1.1:1", "", 0 },
        { "-", "[2001:db8::1]:4444", "", 0 },
        { "-", "-", "", 0 },
        /* X-Forwarded-For's first entry first */
        { " 198.51.100.9, 10.0.0.1", "10.0.0.9:5", "198.51.100.9",
          0xc6336409 },
        { "300.1.1.1", "10.0.0.9:5", "10.0.0.9", 0x0a000009 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *line = text_line(cases[i].xff, "h.example.com",
                                          "10.244.0.2:8080", cases[i].remote);
        g_autofree char *copy = NULL;
        ReplayView v;
        assert_int_equal(parse_view(p, line, &copy, &v), REPLAY_LINE_OK);
        if (strcmp(v.client_ip, cases[i].ip) != 0 ||
            v.client_addr != cases[i].addr) {
            fail_msg("%s: client '%s' %08x, want '%s' %08x", cases[i].remote,
                     v.client_ip, v.client_addr, cases[i].ip, cases[i].addr);
        }
    }
}

/* A dotted quad as the long way takes one: four parts of 1-3 digits,
 * each <= 255, dots between, nothing more. */
static gboolean ref_quad(const char *s, gsize n)
{
    guint parts = 0, digits = 0, v = 0;
    for (gsize i = 0; i <= n; i++) {
        if (i < n && g_ascii_isdigit(s[i])) {
            v = v * 10 + (guint)(s[i] - '0');
            if (++digits > 3) {
                return FALSE;
            }
        } else if ((i == n || s[i] == '.') && digits > 0 && v <= 255) {
            parts++;
            digits = v = 0;
        } else {
            return FALSE;
        }
    }
    return parts == 4;
}

/* client_ip as T-4 reads @remote without X-Forwarded-For, written plainly:
 * "quad:port" (port 1..65535, decimal digits, leading zeros allowed),
 * else the whole of it when it is a quad, else none. */
static char *ref_client(const char *remote)
{
    const char *colon = strrchr(remote, ':');
    if (colon != NULL && colon[1] != '\0') {
        guint64 port = 0;
        gboolean digits = TRUE;
        for (const char *c = colon + 1; *c != '\0'; c++) {
            digits = digits && g_ascii_isdigit(*c);
            port = MIN(port * 10 + (guint)(*c - '0'), 1000000);
        }
        if (digits && port >= 1 && port <= 65535) {
            gsize n = (gsize)(colon - remote);
            return ref_quad(remote, n) ? g_strndup(remote, n) : g_strdup("");
        }
    }
    return g_strdup(ref_quad(remote, strlen(remote)) ? remote : "");
}

/* The client quads' memo: one parser that meets thousands of remote
 * addresses, many twice or more (hits, and quads pushed out of their set
 * and read again), reads each as a fresh parser does and as ref_client()
 * says; the addresses cover the 16 bytes the memo keys on (half of them
 * alike in the first eight), ports of one to ten digits and quads that
 * are not quads. */
static void test_view_client_memo(void **state)
{
    g_autoptr(ReplayParser) p = replay_parser_new(NULL, REPLAY_ISTIO_TEXT);
    GRand *rng = g_rand_new_with_seed(20261126);
    static const char *const odd_parts[] = { "0", "00", "010", "255", "256",
                                             "999", "1000", "", "x" };
    for (guint round = 0; round < 6000; round++) {
        /* Some quads again and again: the first 300 rounds' seeds. */
        guint seed = round % 3 == 0 ? (guint)g_rand_int_range(rng, 0, 300)
                                    : round;
        GRand *q = g_rand_new_with_seed(seed);
        g_autoptr(GString) remote = g_string_new(NULL);
        if (seed % 2 == 0) {
            /* Quads alike in their first eight bytes, "198.51.1", so
             * that many share a set of the memo and differ after. */
            g_string_append_printf(remote, "198.51.1%02d.%d:",
                                   g_rand_int_range(q, 0, 100),
                                   g_rand_int_range(q, 0, 256));
        }
        for (guint part = 0; part < 4 && remote->len == 0; part++) {
            if (g_rand_int_range(q, 0, 40) == 0) {
                g_string_append(remote,
                                odd_parts[g_rand_int_range(
                                    q, 0, G_N_ELEMENTS(odd_parts))]);
            } else {
                g_string_append_printf(remote, "%d",
                                       g_rand_int_range(q, 0, 256));
            }
            g_string_append_c(remote, part < 3 ? '.' : ':');
        }
        g_rand_free(q);
        guint port_digits = (guint)g_rand_int_range(rng, 1, 11);
        for (guint d = 0; d < port_digits; d++) {
            g_string_append_c(remote,
                              (char)('0' + g_rand_int_range(rng, 0, 10)));
        }
        if (g_rand_int_range(rng, 0, 50) == 0) {
            g_string_truncate(remote, remote->len - port_digits - 1);
        }
        g_autofree char *line = text_line("-", "h.example.com",
                                          "10.244.0.2:8080", remote->str);
        g_autofree char *copy = NULL, *fresh_copy = NULL;
        ReplayView v, w;
        assert_int_equal(parse_view(p, line, &copy, &v), REPLAY_LINE_OK);
        g_autoptr(ReplayParser) fresh =
            replay_parser_new(NULL, REPLAY_ISTIO_TEXT);
        assert_int_equal(parse_view(fresh, line, &fresh_copy, &w),
                         REPLAY_LINE_OK);
        g_autofree char *want = ref_client(remote->str);
        if (strcmp(v.client_ip, want) != 0 ||
            strcmp(w.client_ip, want) != 0 || v.client_addr != w.client_addr) {
            fail_msg("%s: client '%s' %08x, fresh '%s' %08x, want '%s'",
                     remote->str, v.client_ip, v.client_addr, w.client_ip,
                     w.client_addr, want);
        }
    }
    g_rand_free(rng);
}

/* The lengths come from the splitter (TEXT) or the JSON values, the host
 * from the authority; TCP and TLS lines have fixed ones. */
static void test_view_lengths(void **state)
{
    g_autoptr(ReplayParser) p = replay_parser_new(NULL, REPLAY_ISTIO_TEXT);
    static const struct {
        const char *authority;
        gsize host_len;
    } hosts[] = {
        { "Counter.Example.com:443", 19 }, { "counter.example.com", 19 },
        { "[::1]:8443", 5 },               { "[::1]", 5 },
        { "a:b:c", 5 },                    { "h:", 1 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(hosts); i++) {
        g_autofree char *line = text_line("1.2.3.4", hosts[i].authority,
                                          "10.244.0.2:8080", "10.0.0.9:5");
        g_autofree char *copy = NULL;
        ReplayView v;
        assert_int_equal(parse_view(p, line, &copy, &v), REPLAY_LINE_OK);
        assert_string_equal(v.method, "GET");
        assert_int_equal(v.method_len, 3);
        assert_int_equal(v.path_len, 4);
        assert_int_equal(v.authority_len, strlen(hosts[i].authority));
        assert_int_equal(v.host_len, hosts[i].host_len);
        assert_true(v.host_fold);
        assert_int_equal(v.n_headers, 3);
        assert_string_equal(v.hdr_names[0], "x-forwarded-for");
        assert_int_equal(v.hdr_name_lens[0], 15);
        assert_int_equal(v.hdr_value_lens[0], 7);
        assert_int_equal(v.hdr_name_lens[1], 10);
        assert_int_equal(v.hdr_value_lens[1], 6);
        assert_int_equal(v.hdr_name_lens[2], 12);
        assert_int_equal(v.hdr_value_lens[2], 4);
        assert_int_equal(v.client_addr, 0x01020304);
    }
    /* TLS passthrough: the host is the SNI, no method or authority. */
    g_autofree char *copy = NULL;
    ReplayView v;
    assert_int_equal(
        parse_view(p,
                   "[2024-05-01T12:00:01.000Z] \"- - -\" 0 - - - \"-\" 1 2 3 "
                   "- \"-\" \"-\" \"-\" \"-\" \"-\" - - 10.244.0.2:8443 "
                   "10.0.0.9:40000 db.example.com -\r\n",
                   &copy, &v),
        REPLAY_LINE_OK);
    assert_int_equal(v.scheme, URL_TLS);
    assert_int_equal(v.method_len, 0);
    assert_int_equal(v.authority_len, 0);
    assert_int_equal(v.path_len, 1);
    assert_int_equal(v.sni_len, 14);
    assert_int_equal(v.host_len, 14);
    assert_false(v.host_fold);
    assert_int_equal(v.n_headers, 0);
    assert_int_equal(v.client_addr, 0x0a000009);
    g_clear_pointer(&copy, g_free);
    /* JSON: "-" and "" are absent, as in TEXT. */
    g_autoptr(ReplayParser) j = replay_parser_new(NULL, REPLAY_ISTIO_JSON);
    assert_int_equal(
        parse_view(j,
                   "{\"start_time\":\"2024-05-01T12:00:00.123Z\","
                   "\"method\":\"PUT\",\"path\":\"/x y\",\"protocol\":"
                   "\"HTTP/2\",\"authority\":\"H.example.com:8443\","
                   "\"x_forwarded_for\":\"-\",\"user_agent\":\"\","
                   "\"request_id\":\"abc\",\"downstream_local_address\":"
                   "\"10.244.0.2:8080\",\"downstream_remote_address\":"
                   "\"01.2.3.4:9\",\"requested_server_name\":\"sni\"}",
                   &copy, &v),
        REPLAY_LINE_OK);
    assert_int_equal(v.method_len, 3);
    assert_int_equal(v.path_len, 4);
    assert_int_equal(v.authority_len, 18);
    assert_int_equal(v.host_len, 13);
    assert_int_equal(v.sni_len, 3);
    assert_int_equal(v.n_headers, 1);
    assert_string_equal(v.hdr_names[0], "x-request-id");
    assert_int_equal(v.hdr_value_lens[0], 3);
    assert_string_equal(v.client_ip, "01.2.3.4");
    assert_int_equal(v.client_addr, 0);
}

/* The port memo tells addresses of the same length apart (two 8-byte
 * compares for 8 to 16 bytes, memcmp() beyond) and keeps long ones out. */
static void test_view_port_memo(void **state)
{
    g_autoptr(Scenario) s = load_article();
    g_autoptr(ReplayParser) p = replay_parser_new(s, REPLAY_ISTIO_TEXT);
    const K8sNode *node = g_ptr_array_index(s->cluster->nodes, 0);
    g_autofree char *gw1 = g_strdup_printf("%s:8080", gateway_ip(s));
    g_autofree char *gw2 = g_strdup_printf("%s:8443", gateway_ip(s));
    g_autofree char *np = g_strdup_printf("%s:30443", node->ip);
    g_autofree char *nines = g_strnfill(60, '9');
    g_autofree char *lng = g_strdup_printf("%s:80", nines);
    const char *locals[] = { gw1, gw2, np, "10.1.2.3:30080", "10.1.2.3:30081",
                             "10.1.2.33:8443", "10.1.2.3:8443",
                             ACCESS_LOG_LB_ADDRESS ":3306", "1.2.3.4:1",
                             "10.111.222.33:30443", lng, "1:2", "x" };
    for (guint round = 0; round < 3; round++) {
        for (guint i = 0; i < G_N_ELEMENTS(locals); i++) {
            g_autofree char *line =
                text_line("-", "h", locals[i], "10.0.0.9:5");
            g_autofree char *copy = NULL;
            ReplayView v;
            assert_int_equal(parse_view(p, line, &copy, &v), REPLAY_LINE_OK);
            gint want = replay_parser_lb_port(p, locals[i]);
            if (want <= 0) {
                want = 80;
            }
            if (v.lb_port != want) {
                fail_msg("%s: port %d, want %d", locals[i], v.lb_port, want);
            }
        }
    }
}

/* A line of REPLAY_MAX_LINE bytes (the longest the reader hands over) and
 * one a byte longer parse whole. */
static void test_view_longest_line(void **state)
{
    g_autoptr(ReplayParser) p = replay_parser_new(NULL, REPLAY_ISTIO_TEXT);
    g_autofree char *shortest = text_line("-", "h", "10.244.0.2:8080",
                                          "10.0.0.9:5");
    for (gsize extra = 0; extra < 2; extra++) {
        gsize path = 4 + REPLAY_MAX_LINE + extra - strlen(shortest);
        g_autofree char *pad = g_strnfill(path - 1, 'a');
        g_autofree char *line = g_strdup_printf(
            "[2024-05-01T12:00:00.123Z] \"GET /%s HTTP/1.1\" 200 - "
            "via_upstream - \"-\" 0 0 8 2 \"-\" \"curl/8\" \"id-1\" \"h\" "
            "\"10.244.0.3:8080\" outbound|80||c 10.244.0.2:32770 "
            "10.244.0.2:8080 10.0.0.9:5 - default/counter http[0]",
            pad);
        assert_int_equal(strlen(line), REPLAY_MAX_LINE + extra);
        g_autofree char *copy = NULL;
        ReplayView v;
        assert_int_equal(parse_view(p, line, &copy, &v), REPLAY_LINE_OK);
        assert_int_equal(v.path_len, path);
        assert_int_equal(v.client_addr, 0x0a000009);
    }
}

/* X-Forwarded-For's first entry is the client (T-4: behind SNAT). */
static void test_text_xff_and_plain_http(void **state)
{
    g_autoptr(Scenario) s = load_article();
    g_autoptr(ReplayParser) p = replay_parser_new(s, REPLAY_ISTIO_TEXT);
    ReplayRecord r;
    parse_ok(p,
             "[2024-05-01T12:00:00.000Z] \"GET / HTTP/1.1\" 404 NR "
             "route_not_found - \"-\" 0 0 0 - \" 198.51.100.9, 10.0.0.1\" "
             "\"-\" \"-\" \"counter.example.com\" \"-\" - - 10.9.9.9:8080 "
             "192.168.0.11:40000 - -",
             &r);
    assert_int_equal(r.scheme, URL_HTTP);
    assert_int_equal(r.lb_port, 80); /* unknown pod, targetPort 8080 */
    assert_string_equal(r.client_ip, "198.51.100.9");
    assert_null(r.sni);
    assert_string_equal(kv_list_get(r.headers, "x-forwarded-for"),
                        " 198.51.100.9, 10.0.0.1");
    assert_null(kv_list_get(r.headers, "user-agent"));
    replay_record_clear(&r);
}

static void test_text_tcp_and_tls_lines(void **state)
{
    g_autoptr(Scenario) s = load_article();
    g_autoptr(ReplayParser) p = replay_parser_new(s, REPLAY_ISTIO_TEXT);
    ReplayRecord r;
    parse_ok(p,
             "[2024-05-01T12:00:01.000Z] \"- - -\" 0 - - - \"-\" 120 340 "
             "2045 - \"-\" \"-\" \"-\" \"-\" \"10.244.2.3:3306\" "
             "outbound|3306||mysql.default.svc.cluster.local 10.244.0.7:51000 "
             "10.244.0.7:3306 10.0.0.9:40000 - -",
             &r);
    assert_int_equal(r.scheme, URL_TCP);
    assert_int_equal(r.lb_port, 3306);
    assert_string_equal(r.method, "");
    assert_string_equal(r.authority, "");
    assert_string_equal(r.path, "/");
    assert_null(r.sni);
    assert_null(r.headers);
    assert_string_equal(r.client_ip, "10.0.0.9");
    replay_record_clear(&r);
    /* TLS passthrough: a TCP line with SNI. */
    parse_ok(p,
             "[2024-05-01T12:00:01.000Z] \"- - -\" 0 - - - \"-\" 1 2 3 - "
             "\"-\" \"-\" \"-\" \"-\" \"-\" - - - [2001:db8::1]:4444 "
             "db.example.com -",
             &r);
    assert_int_equal(r.scheme, URL_TLS);
    assert_int_equal(r.lb_port, 443); /* no address: SNI implies 443 */
    assert_string_equal(r.sni, "db.example.com");
    assert_string_equal(r.host, "db.example.com");
    assert_string_equal(r.client_ip, ""); /* IPv6: not for the models */
    replay_record_clear(&r);
}

/* %DOWNSTREAM_LOCAL_ADDRESS% back to the LB port, by whose address it is. */
static void test_port_map(void **state)
{
    g_autoptr(Scenario) s = load_article();
    g_autoptr(ReplayParser) p = replay_parser_new(s, REPLAY_ISTIO_TEXT);
    const char *gw = gateway_ip(s);
    const K8sNode *n = g_ptr_array_index(s->cluster->nodes, 0);
    g_autofree char *a1 = g_strdup_printf("%s:8080", gw);
    g_autofree char *a2 = g_strdup_printf("%s:8443", gw);
    g_autofree char *a3 = g_strdup_printf("%s:3306", gw);
    g_autofree char *a4 = g_strdup_printf("%s:30443", n->ip);
    g_autofree char *a5 = g_strdup_printf("%s:31021", n->ip);
    assert_int_equal(replay_parser_lb_port(p, a1), 80);
    assert_int_equal(replay_parser_lb_port(p, a2), 443);
    assert_int_equal(replay_parser_lb_port(p, a3), 3306);
    assert_int_equal(replay_parser_lb_port(p, a4), 443);
    /* A Service nodePort no listener forwards to: the Service port. */
    assert_int_equal(replay_parser_lb_port(p, a5), 15021);
    assert_int_equal(replay_parser_lb_port(p, ACCESS_LOG_LB_ADDRESS ":8080"),
                     8080);
    assert_int_equal(replay_parser_lb_port(p, "10.1.2.3:30080"), 80);
    assert_int_equal(replay_parser_lb_port(p, "10.1.2.3:8443"), 443);
    assert_int_equal(replay_parser_lb_port(p, "10.1.2.3:9999"), 9999);
    assert_int_equal(replay_parser_lb_port(p, "[fd00::5]:8080"), 80);
    assert_int_equal(replay_parser_lb_port(p, "10.1.2.3"), -1);
    assert_int_equal(replay_parser_lb_port(p, "fd00::5"), -1);
    assert_int_equal(replay_parser_lb_port(p, NULL), -1);
    /* Without a scenario the port is taken as it is. */
    g_autoptr(ReplayParser) bare = replay_parser_new(NULL, REPLAY_ISTIO_TEXT);
    assert_int_equal(replay_parser_lb_port(bare, a1), 8080);
}

static void test_text_bad_lines(void **state)
{
    g_autoptr(Scenario) s = load_article();
    g_autoptr(ReplayParser) p = replay_parser_new(s, REPLAY_ISTIO_TEXT);
    parse_bad(p, "hello world", "START_TIME");
    parse_bad(p,
              "[not a time] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" "
              "\"-\" \"-\" \"h\" \"-\" - - - - - r",
              "neither RFC 3339");
    parse_bad(p,
              "[2024-05-01T12:00:00Z] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 "
              "1 - \"-\" \"-\" \"-\" \"-\" \"-\" - - - - - r",
              "no authority");
    parse_bad(p,
              "[2024-05-01T12:00:00Z] \"- /x HTTP/1.1\" 200 - - - \"-\" 0 0 "
              "1 - \"-\" \"-\" \"-\" \"h\" \"-\" - - - - - r",
              "no method");
    ReplayRecord rec;
    char *why = NULL;
    assert_int_equal(replay_parser_line(p, "  \r\n", FALSE, &rec, &why),
                     REPLAY_LINE_SKIP);
    assert_null(why);
}

static void test_json_lines(void **state)
{
    g_autoptr(Scenario) s = load_article();
    g_autoptr(ReplayParser) p = replay_parser_new(s, REPLAY_ISTIO_JSON);
    const char *gw = gateway_ip(s);
    /* T-2 as Envoy writes it: numbers, nulls, "-" flags, other keys. */
    g_autofree char *line = g_strdup_printf(
        "{\"start_time\":\"2024-05-01T12:00:00.250Z\",\"route_name\":"
        "\"default\",\"method\":\"GET\",\"path\":\"/status/418\","
        "\"protocol\":\"HTTP/1.1\",\"response_code\":418,"
        "\"response_flags\":\"-\",\"bytes_received\":0,\"duration\":4,"
        "\"x_forwarded_for\":null,\"user_agent\":\"k6\",\"request_id\":null,"
        "\"authority\":\"httpbin.example.com\",\"upstream_host\":null,"
        "\"downstream_local_address\":\"%s:8080\","
        "\"downstream_remote_address\":\"10.0.0.7:1234\","
        "\"requested_server_name\":null,\"istio_policy_status\":null}",
        gw);
    ReplayRecord r;
    parse_ok(p, line, &r);
    assert_int_equal(r.t_ns, G_GINT64_CONSTANT(1714564800250) * 1000000);
    assert_int_equal(r.scheme, URL_HTTP);
    assert_int_equal(r.lb_port, 80);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.path, "/status/418");
    assert_string_equal(r.authority, "httpbin.example.com");
    assert_string_equal(r.client_ip, "10.0.0.7");
    assert_int_equal(kv_list_len(r.headers), 1);
    assert_string_equal(kv_list_get(r.headers, "user-agent"), "k6");
    replay_record_clear(&r);
    /* T-4 compact object: ts in epoch ms, host, port, sni, client. */
    parse_ok(p,
             "{\"ts\":1714564800123,\"method\":\"GET\",\"path\":\"/a\","
             "\"host\":\"a.example.com\",\"port\":443,\"sni\":"
             "\"a.example.com\",\"client\":\"10.1.1.1\",\"conn\":\"c1\"}",
             &r);
    assert_int_equal(r.t_ns, G_GINT64_CONSTANT(1714564800123) * 1000000);
    assert_int_equal(r.scheme, URL_HTTPS);
    assert_int_equal(r.lb_port, 443);
    assert_string_equal(r.host, "a.example.com");
    assert_string_equal(r.sni, "a.example.com");
    assert_string_equal(r.client_ip, "10.1.1.1");
    replay_record_clear(&r);
    /* T-4 compact TCP stream. */
    parse_ok(p,
             "{\"ts\":\"2024-05-01T12:00:00Z\",\"proto\":\"TCP\","
             "\"port\":3306}",
             &r);
    assert_int_equal(r.scheme, URL_TCP);
    assert_int_equal(r.lb_port, 3306);
    replay_record_clear(&r);

    parse_bad(p, "{\"start_time\":", "not JSON");
    parse_bad(p, "[1,2]", "not a JSON object");
    parse_bad(p, "{\"method\":\"GET\",\"path\":\"/\",\"authority\":\"h\"}",
              "no start time");
    parse_bad(p, "{\"ts\":1,\"method\":{\"x\":1}}", "wrong type");
    parse_bad(p, "{\"ts\":1,\"port\":70000}", "wrong type");
}

/* What the JSON writer writes, the JSON reader reads (same T-2 keys). */
static void test_json_writer_reader_agree(void **state)
{
    g_autoptr(Scenario) s = load_article();
    g_autoptr(ReplayParser) p = replay_parser_new(s, REPLAY_ISTIO_JSON);
    g_autoptr(ReplayParser) t = replay_parser_new(s, REPLAY_ISTIO_TEXT);
    g_autofree char *dla = g_strdup_printf("%s:8443", gateway_ip(s));
    AccessLogFields a = { { NULL }, NULL };
    a.f[ACCESS_LOG_START_TIME] = (char *)"2024-01-01T00:00:01.500Z";
    a.f[ACCESS_LOG_METHOD] = (char *)"PUT";
    a.f[ACCESS_LOG_PATH] = (char *)"/x y"; /* a blank, for the tokenizer */
    a.f[ACCESS_LOG_PROTOCOL] = (char *)"HTTP/1.1";
    a.f[ACCESS_LOG_RESPONSE_CODE] = (char *)"201";
    a.f[ACCESS_LOG_AUTHORITY] = (char *)"counter.example.com";
    a.f[ACCESS_LOG_REQUEST_ID] = (char *)"id-1";
    a.f[ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS] = dla;
    a.f[ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS] = (char *)"198.51.100.4:33000";
    a.f[ACCESS_LOG_REQUESTED_SERVER_NAME] = (char *)"counter.example.com";
    for (guint k = 0; k < 2; k++) {
        g_autoptr(GString) line = g_string_new(NULL);
        access_log_append(line, k == 0 ? ACCESS_LOG_JSON : ACCESS_LOG_TEXT, &a);
        ReplayRecord r;
        parse_ok(k == 0 ? p : t, line->str, &r);
        assert_int_equal(r.t_ns,
                         (ACCESS_LOG_EPOCH_UNIX * 1000 + 1500) * 1000000);
        assert_int_equal(r.scheme, URL_HTTPS);
        assert_int_equal(r.lb_port, 443);
        assert_string_equal(r.method, "PUT");
        assert_string_equal(r.path, "/x y");
        assert_string_equal(r.authority, "counter.example.com");
        assert_string_equal(r.sni, "counter.example.com");
        assert_string_equal(r.client_ip, "198.51.100.4");
        assert_string_equal(kv_list_get(r.headers, "x-request-id"), "id-1");
        replay_record_clear(&r);
    }
}

static void test_csv_lines(void **state)
{
    g_autoptr(ReplayParser) p = replay_parser_new(NULL, REPLAY_CSV);
    ReplayRecord r;
    char *why = NULL;
    assert_int_equal(
        replay_parser_line(p, "timestamp,method,url,headers\n", TRUE, &r, &why),
        REPLAY_LINE_SKIP);
    assert_int_equal(replay_parser_line(p, "\xef\xbb\xbfTimestamp,method,url",
                                        TRUE, &r, &why),
                     REPLAY_LINE_SKIP);
    parse_ok(p,
             "2024-01-01T00:00:00.010Z,POST,https://Counter.example.com/api,"
             "\"x-user: alice; Host: other.example.com ;x-forwarded-for: "
             "203.0.113.9\"\r\n",
             &r);
    assert_int_equal(r.t_ns, (ACCESS_LOG_EPOCH_UNIX * 1000 + 10) * 1000000);
    assert_int_equal(r.scheme, URL_HTTPS);
    assert_int_equal(r.lb_port, 443);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.host, "counter.example.com");
    assert_string_equal(r.authority, "other.example.com");
    assert_string_equal(r.path, "/api");
    assert_string_equal(r.sni, "counter.example.com");
    assert_string_equal(r.client_ip, "203.0.113.9");
    assert_int_equal(kv_list_len(r.headers), 3);
    assert_string_equal(kv_list_get(r.headers, "x-user"), "alice");
    assert_string_equal(kv_list_get(r.headers, "host"), "other.example.com");
    replay_record_clear(&r);
    /* Epoch ms, no headers, empty method, a port in the URL. */
    parse_ok(p, "1704067200500,,http://a.example.com:8080/x?y=1", &r);
    assert_int_equal(r.t_ns, G_GINT64_CONSTANT(1704067200500) * 1000000);
    assert_int_equal(r.scheme, URL_HTTP);
    assert_int_equal(r.lb_port, 8080);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.authority, "a.example.com:8080");
    assert_string_equal(r.path, "/x?y=1");
    assert_null(r.sni);
    assert_null(r.headers);
    assert_string_equal(r.client_ip, "");
    replay_record_clear(&r);
    /* A TCP stream; quoted "" inside a field. */
    parse_ok(p, "1704067200500,GET,tcp://db.example.com:3306,\"x: \"\"q\"\"\"",
             &r);
    assert_int_equal(r.scheme, URL_TCP);
    assert_int_equal(r.lb_port, 3306);
    assert_string_equal(r.method, "");
    assert_string_equal(kv_list_get(r.headers, "x"), "\"q\"");
    replay_record_clear(&r);

    parse_bad(p, "timestamp,method,url", "neither RFC 3339"); /* not first */
    parse_bad(p, "1704067200500,GET", "2 columns");
    parse_bad(p, "1704067200500,GET,http://a/,h: v,extra", "5 columns");
    parse_bad(p, "1704067200500,GET,ftp://a/", "scheme must be");
    parse_bad(p, "1704067200500,GET,http://a/,novalue", "not 'name: value'");
    parse_bad(p, "1704067200500,GET,\"http://a/", "unterminated quote");
}

/* ---- the reader in a world ---------------------------------------------- */

typedef struct {
    GArray *sent;     /* SimTime: when each request left the client */
    GPtrArray *paths; /* char*: its path */
} Seen;

static void seen_done(const Request *r, gpointer data)
{
    Seen *s = data;
    g_array_append_val(s->sent, r->out.sent);
    g_ptr_array_add(s->paths, g_strdup(r->path));
}

typedef struct {
    char *dir;   /* temporary folder */
    char *trace; /* the trace file in it */
    Scenario *s; /* owned */
    World *w;    /* owned */
    Path *p;     /* owned */
    Replay *rp;  /* owned */
    Seen seen;   /* what ended */
} Bed;

/* A scenario with one trace entry (@entry_extra: start/stop keys), and
 * @spec_extra in its spec (e.g. a duration); bare default manifests, so
 * every request is answered 404 NR by the gateway. Not started: what
 * ends is recorded in b->seen unless the caller sets its own done. */
static void bed_load(Bed *b,
                     const char *trace_text,
                     gssize trace_len,
                     const char *format,
                     const char *entry_extra,
                     const char *spec_extra)
{
    memset(b, 0, sizeof *b);
    b->dir = g_dir_make_tmp("replay-XXXXXX", NULL);
    b->trace = g_build_filename(b->dir, "trace.log", NULL);
    assert_true(g_file_set_contents(b->trace, trace_text, trace_len, NULL));
    g_autofree char *yaml =
        g_strdup_printf("apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n%s"
                        "  traffic:\n  - name: replay\n%s"
                        "    trace: {file: '%s', format: %s, speed: 2}\n",
                        spec_extra, entry_extra, b->trace, format);
    GError *error = NULL;
    b->s = scenario_load_string("t.yaml", yaml, &error);
    if (b->s == NULL) {
        fail_msg("%s", error->message);
    }
    b->w = world_new(b->s, 1, &error);
    assert_non_null(b->w);
    b->p = path_new(b->w);
    b->rp =
        replay_open(b->w, b->p, g_ptr_array_index(b->s->traffic, 0), &error);
    if (b->rp == NULL) {
        fail_msg("%s", error->message);
    }
    b->seen.sent = g_array_new(FALSE, FALSE, sizeof(SimTime));
    b->seen.paths = g_ptr_array_new_with_free_func(g_free);
    path_set_done(b->p, seen_done, &b->seen);
}

/* Replays the whole trace. */
static void bed_run(Bed *b)
{
    replay_start(b->rp);
    sim_run(b->w->engine, SIM_TIME_MAX); /* no health checks: it ends */
    assert_false(replay_pending(b->rp));
    assert_int_equal(path_in_flight(b->p), 0);
}

static void bed_open_n(Bed *b,
                       const char *trace_text,
                       gssize trace_len,
                       const char *format,
                       const char *entry_extra,
                       const char *spec_extra)
{
    bed_load(b, trace_text, trace_len, format, entry_extra, spec_extra);
    bed_run(b);
}

static void bed_open(Bed *b,
                     const char *trace_text,
                     const char *format,
                     const char *entry_extra,
                     const char *spec_extra)
{
    bed_open_n(b, trace_text, -1, format, entry_extra, spec_extra);
}

static void bed_close(Bed *b)
{
    replay_free(b->rp);
    path_free(b->p);
    world_free(b->w);
    scenario_free(b->s);
    g_array_unref(b->seen.sent);
    g_ptr_array_unref(b->seen.paths);
    g_remove(b->trace);
    g_rmdir(b->dir);
    g_free(b->trace);
    g_free(b->dir);
}

static char *csv_line(double t_s, const char *path)
{
    return g_strdup_printf(
        "%" G_GINT64_FORMAT ",GET,http://x.example.com%s\n",
        G_GINT64_CONSTANT(1704067200000) + (gint64)(t_s * 1000), path);
}

/* Bad lines are counted with their numbers, and not fatal. */
static void test_bad_lines_counted_with_numbers(void **state)
{
    GString *t = g_string_new("timestamp,method,url\n"); /* 1: header */
    g_autofree char *l2 = csv_line(0, "/a");
    g_string_append(t, l2);          /* 2 */
    g_string_append(t, "garbage\n"); /* 3: bad */
    g_autofree char *l4 = csv_line(1, "/b");
    g_string_append(t, l4);    /* 4 */
    g_string_append_c(t, '1'); /* 5: too long */
    for (guint i = 0; i < REPLAY_MAX_LINE + 10; i++) {
        g_string_append_c(t, 'x');
    }
    g_string_append(t, "\n\n");                      /* 6: blank */
    g_string_append(t, "1704067200000,GET,nourl\n"); /* 7: bad */
    g_autofree char *l8 = csv_line(2, "/c");
    g_string_append(t, l8); /* 8, no EOL */
    g_string_truncate(t, t->len - 1);
    Bed b;
    bed_open(&b, t->str, "csv", "", "");
    g_string_free(t, TRUE);
    assert_int_equal(replay_n_sent(b.rp), 3);
    assert_int_equal(replay_n_bad(b.rp), 3);
    assert_int_equal(b.seen.sent->len, 3);
    g_autoptr(JsonNode) json = results_to_json(b.w->results);
    JsonObject *sk = json_object_get_object_member(json_node_get_object(json),
                                                   "trace_lines_skipped");
    assert_int_equal(json_object_get_int_member(sk, "count"), 3);
    JsonArray *ex = json_object_get_array_member(sk, "examples");
    assert_int_equal(json_array_get_length(ex), 3);
    const char *want[] = { "3", "5", "7" };
    for (guint i = 0; i < 3; i++) {
        g_autofree char *w = g_strdup_printf("%s:%s", b.trace, want[i]);
        assert_string_equal(json_array_get_string_element(ex, i), w);
    }
    g_autofree char *sum = results_summary(b.w->results);
    assert_non_null(strstr(sum, "trace lines skipped: 3"));
    bed_close(&b);
}

/* The reader cuts lines as fgets() into a REPLAY_MAX_LINE + 2 buffer
 * did: a NUL ends a line's text, a line of REPLAY_MAX_LINE bytes is read
 * whole and one byte more is too long, however lines fall across the
 * reader's blocks; CRLF and a missing last newline are fine. */
static void test_reader_cuts_lines_as_fgets(void **state)
{
    GString *t = g_string_new(NULL);
    guint line = 0, bad[8], n_bad = 0, sent = 0;
    /* Enough short lines to cross the reader's blocks several times. */
    for (guint i = 0; i < 30000; i++) {
        g_autofree char *l = csv_line(i * 0.001, "/short");
        g_string_append(t, l);
        line++;
        sent++;
    }
    /* A NUL in the URL: the text ends there, the line still counts. */
    g_string_append(t, "1704067230000,GET,http://x.example.com/n");
    g_string_append_len(t, "\0garbage,,,\r\n", 13);
    line++;
    sent++;
    /* A line of REPLAY_MAX_LINE bytes (path padded), then one byte more. */
    for (guint extra = 0; extra < 2; extra++) {
        g_autofree char *l = csv_line(31, "/p");
        gsize pad = REPLAY_MAX_LINE + extra - (strlen(l) - 1);
        g_string_append_len(t, l, (gssize)strlen(l) - 1);
        for (gsize i = 0; i < pad; i++) {
            g_string_append_c(t, 'a');
        }
        g_string_append_c(t, '\n');
        line++;
        if (extra == 0) {
            sent++;
        } else {
            bad[n_bad++] = line;
        }
    }
    /* A line longer than a block, then a good one with CRLF. */
    g_string_append(t, "1704067232000,GET,http://x.example.com/");
    for (guint i = 0; i < 600000; i++) {
        g_string_append_c(t, 'b');
    }
    g_string_append_c(t, '\n');
    bad[n_bad++] = ++line;
    g_string_append(t, "1704067233000,GET,http://x.example.com/crlf\r\n");
    line++;
    sent++;
    g_string_append(t, "bad line\n");
    bad[n_bad++] = ++line;
    /* The last line, without its newline. */
    g_string_append(t, "1704067234000,GET,http://x.example.com/last");
    line++;
    sent++;
    Bed b;
    bed_open_n(&b, t->str, (gssize)t->len, "csv", "", "");
    g_string_free(t, TRUE);
    assert_int_equal(replay_n_sent(b.rp), sent);
    assert_int_equal(replay_n_bad(b.rp), n_bad);
    g_autoptr(JsonNode) json = results_to_json(b.w->results);
    JsonObject *sk = json_object_get_object_member(json_node_get_object(json),
                                                   "trace_lines_skipped");
    JsonArray *ex = json_object_get_array_member(sk, "examples");
    assert_int_equal(json_array_get_length(ex), n_bad);
    for (guint i = 0; i < n_bad; i++) {
        g_autofree char *w = g_strdup_printf("%s:%u", b.trace, bad[i]);
        assert_string_equal(json_array_get_string_element(ex, i), w);
    }
    gboolean saw_nul = FALSE, saw_last = FALSE, saw_crlf = FALSE;
    for (guint i = 0; i < b.seen.paths->len; i++) {
        const char *path = g_ptr_array_index(b.seen.paths, i);
        saw_nul = saw_nul || strcmp(path, "/n") == 0;
        saw_last = saw_last || strcmp(path, "/last") == 0;
        saw_crlf = saw_crlf || strcmp(path, "/crlf") == 0;
    }
    assert_true(saw_nul && saw_last && saw_crlf);
    bed_close(&b);
}

/* speed 2, start 5s: lines at +0, +1 s, +3 s arrive at 5, 5.5, 6.5 s. */
static void test_speed_and_start(void **state)
{
    g_autofree char *a = csv_line(100, "/a");
    g_autofree char *c = csv_line(103, "/c");
    g_autofree char *m = csv_line(101, "/b");
    g_autofree char *t = g_strconcat(a, m, c, NULL);
    Bed b;
    bed_open(&b, t, "csv", "    start: 5s\n", "");
    assert_int_equal(b.seen.sent->len, 3);
    SimTime want[] = { 5 * SIM_S, 5500 * SIM_MS, 6500 * SIM_MS };
    for (guint i = 0; i < 3; i++) {
        gboolean found = FALSE;
        for (guint j = 0; j < b.seen.sent->len; j++) {
            found = found || g_array_index(b.seen.sent, SimTime, j) == want[i];
        }
        if (!found) {
            fail_msg("no request sent at %" G_GINT64_FORMAT " ns", want[i]);
        }
    }
    bed_close(&b);
}

/* An explicit stop ends the replay; without duration nor stop the trace
 * runs to its last line, past the default 10 s. */
static void test_stop_and_run_to_the_end(void **state)
{
    GString *t = g_string_new(NULL);
    for (guint i = 0; i < 60; i++) {
        g_autofree char *l = csv_line(i, "/");
        g_string_append(t, l); /* one a second: 0..59 s, at speed 2 */
    }
    Bed b;
    bed_open(&b, t->str, "csv", "    stop: 10s\n", "");
    assert_int_equal(replay_n_sent(b.rp), 20); /* 0, 0.5 ... 9.5 s */
    bed_close(&b);
    bed_open(&b, t->str, "csv", "", "  duration: 5s\n");
    assert_int_equal(replay_n_sent(b.rp), 10);
    bed_close(&b);
    bed_open(&b, t->str, "csv", "", "");
    assert_int_equal(replay_n_sent(b.rp), 60);
    bed_close(&b);
    g_string_free(t, TRUE);

    /* Through the runner, as `run` does it: the run goes on to 29.5 s. */
    g_autofree char *dir = g_dir_make_tmp("replay-XXXXXX", NULL);
    g_autofree char *trace = g_build_filename(dir, "t.csv", NULL);
    g_autofree char *l0 = csv_line(0, "/");
    g_autofree char *l1 = csv_line(59, "/");
    g_autofree char *text = g_strconcat(l0, l1, NULL);
    assert_true(g_file_set_contents(trace, text, -1, NULL));
    g_autofree char *yaml = g_strdup_printf(
        "kind: Scenario\napiVersion: ingress-sim/v1\nspec:\n  traffic:\n"
        "  - trace: {file: '%s', format: csv, speed: 2}\n",
        trace);
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load_string("t.yaml", yaml, &error);
    g_autoptr(Runner) run = runner_new(s, 1, &error);
    Seen seen = { g_array_new(FALSE, FALSE, sizeof(SimTime)),
                  g_ptr_array_new_with_free_func(g_free) };
    path_set_done(runner_path(run), seen_done, &seen);
    assert_true(runner_run(run, NULL, NULL));
    assert_int_equal(seen.sent->len, 2);
    assert_int_equal(g_array_index(seen.sent, SimTime, 1), 29500 * SIM_MS);
    g_array_unref(seen.sent);
    g_ptr_array_unref(seen.paths);
    g_remove(trace);
    g_rmdir(dir);
}

/* Each request's header list carries its own line's values though the
 * lists are reused (replay-reader.c's pool), and a replay freed before
 * the path, with requests still out, leaves their lists valid until the
 * path lets them go (runner.c's order; ASan checks the rest). */
static void header_matches_path(const Request *r, gpointer data)
{
    guint *n = data;
    const char *v = kv_list_get(r->headers, "x-n");
    assert_non_null(v);
    assert_string_equal(v, r->path + 1); /* path "/<n>", header "<n>" */
    (*n)++;
}

static void test_header_lists_reused_and_outlive_the_replay(void **state)
{
    GString *t = g_string_new(NULL);
    for (guint i = 0; i < 400; i++) { /* one every 0.5 ms, speed 2 */
        g_string_append_printf(
            t, "%" G_GINT64_FORMAT ",GET,http://x.example.com/%u,x-n: %u; "
               "user-agent: t\n",
            G_GINT64_CONSTANT(1704067200000) + i, i, i);
    }
    Bed b;
    bed_load(&b, t->str, -1, "csv", "", "");
    g_string_free(t, TRUE);
    guint done = 0;
    path_set_done(b.p, header_matches_path, &done);
    replay_start(b.rp);
    sim_run(b.w->engine, 100 * SIM_MS + SIM_MS / 4);
    assert_true(done > 100);               /* lists went round the pool */
    assert_true(path_in_flight(b.p) > 0);  /* and some are still out */
    bed_close(&b); /* the replay first, then the path: runner.c's order */
}

/* 300 CSV lines, one a ms: line i a GET of http://@host/i with headers
 * @hdr(i). Returns: (transfer full). */
static char *csv_300(const char *host, guint paths,
                     const char *(*hdr)(guint i))
{
    GString *t = g_string_new(NULL);
    for (guint i = 0; i < 300; i++) {
        g_string_append_printf(t,
                               "%" G_GINT64_FORMAT ",GET,http://%s/%u,%s\n",
                               G_GINT64_CONSTANT(1704067200000) + i, host,
                               i % paths, hdr(i));
    }
    return g_string_free(t, FALSE);
}

/* Runs csv_300(counter.example.com, @paths, @hdr) through the article
 * with @docs appended; returns its results (transfer full). */
static JsonNode *
run_csv_paths(guint paths, const char *(*hdr)(guint i), const char *docs)
{
    const char *src = g_getenv("SIM_SRCDIR");
    src = src != NULL ? src : ".";
    g_autofree char *dir = g_dir_make_tmp("replay-XXXXXX", NULL);
    g_autofree char *trace = g_build_filename(dir, "t.csv", NULL);
    g_autofree char *text = csv_300("counter.example.com", paths, hdr);
    assert_true(g_file_set_contents(trace, text, -1, NULL));
    g_autofree char *yaml = g_strdup_printf(
        "apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n"
        "  include: ['%s/scenarios/article/manifests.yaml',\n"
        "            '%s/scenarios/article/gateway-service.yaml']\n"
        "  traffic:\n"
        "  - {name: replay, trace: {file: '%s', format: csv}}\n"
        "---\n%s",
        src, src, trace, docs);
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load_string("t.yaml", yaml, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    g_autoptr(Runner) run = runner_new(s, 1, &error);
    assert_non_null(run);
    assert_true(runner_run(run, NULL, NULL));
    g_remove(trace);
    g_rmdir(dir);
    return results_to_json(runner_world(run)->results);
}

/* run_csv_paths() with every line a path of its own. */
static JsonNode *run_csv_with(const char *(*hdr)(guint i), const char *docs)
{
    return run_csv_paths(300, hdr, docs);
}

/* The count of @key in results member @table, 0 if absent. */
static gint64 count_in(JsonNode *json, const char *table, const char *key)
{
    JsonObject *t =
        json_object_get_object_member(json_node_get_object(json), table);
    if (!json_object_has_member(t, key)) {
        return 0;
    }
    return json_object_get_int_member(json_object_get_object_member(t, key),
                                      "count");
}

static const char *canary_every_third(guint i)
{
    return i % 3 == 0 ? "x-canary: yes" : "user-agent: t";
}

static const char *one_user(guint i)
{
    return i % 2 == 0 ? "x-user: alice" : "x-user: alice; user-agent: t";
}

#define COUNTER_V1 "outbound|80|v1|counter.default.svc.cluster.local"
#define COUNTER_V2 "outbound|80|v2|counter.default.svc.cluster.local"
#define COUNTER_SUBSETS                                                     \
    "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"           \
    "metadata: {name: counter, namespace: default}\n"                       \
    "spec:\n  host: counter\n  subsets:\n"                                  \
    "  - name: v1\n    labels: {version: v1}\n"                              \
    "    trafficPolicy: {loadBalancer: {consistentHash: "                   \
    "{httpHeaderName: x-user}}}\n"                                          \
    "  - {name: v2, labels: {version: v2}}\n"                                \
    "---\n"                                                                 \
    "apiVersion: apps/v1\nkind: Deployment\n"                               \
    "metadata: {name: counter-v2, namespace: default}\n"                    \
    "spec:\n  replicas: 1\n"                                                \
    "  selector: {matchLabels: {app: counter, version: v2}}\n"              \
    "  template:\n    metadata: {labels: {app: counter, version: v2}}\n"     \
    "    spec:\n      containers:\n"                                         \
    "      - {name: counter, image: example/counter:2.0, "                  \
    "ports: [{containerPort: 8080}]}\n"

/* x-canary: yes to subset v2, the rest to v1. */
#define CANARY_ROUTES                                                       \
    "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"           \
    "metadata: {name: canary, namespace: default}\n"                       \
    "spec:\n  hosts: [counter.example.com]\n"                              \
    "  gateways: [istio-system/default-gateway]\n"                         \
    "  http:\n"                                                            \
    "  - match: [{headers: {x-canary: {exact: 'yes'}}}]\n"                 \
    "    route: [{destination: {host: counter, subset: v2, "               \
    "port: {number: 80}}}]\n"                                              \
    "  - route: [{destination: {host: counter, subset: v1, "               \
    "port: {number: 80}}}]\n"                                              \
    "---\n" COUNTER_SUBSETS

/* A replayed line's headers stay in its block until read (Request.
 * headers_load). A route that matches on a header must still see them at
 * the gateway: every third line says "x-canary: yes" and goes to subset
 * v2, the rest to v1. */
static void test_lazy_headers_reach_route_matches(void **state)
{
    g_autoptr(JsonNode) json = run_csv_with(canary_every_third, CANARY_ROUTES);
    assert_int_equal(count_in(json, "clusters", COUNTER_V2), 100);
    assert_int_equal(count_in(json, "clusters", COUNTER_V1), 200);
}

/* The same on one path: every line's names are interned, so the gateway
 * could remember one decision for them all (Request.all_fixed); but its
 * routes read the headers, which are each line's own, so it decides each
 * line afresh. */
static void test_header_routes_decide_each_line_of_one_path(void **state)
{
    g_autoptr(JsonNode) json =
        run_csv_paths(1, canary_every_third, CANARY_ROUTES);
    assert_int_equal(count_in(json, "clusters", COUNTER_V2), 100);
    assert_int_equal(count_in(json, "clusters", COUNTER_V1), 200);
}

/* ... and a consistent hash on a header must hash them, though no route
 * reads headers: one x-user, one of v1's three pods for all 300. */
static void test_lazy_headers_reach_the_hash(void **state)
{
    g_autoptr(JsonNode) json = run_csv_with(
        one_user,
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        "metadata: {name: sticky, namespace: default}\n"
        "spec:\n  hosts: [counter.example.com]\n"
        "  gateways: [istio-system/default-gateway]\n"
        "  http:\n"
        "  - route: [{destination: {host: counter, subset: v1, "
        "port: {number: 80}}}]\n"
        "---\n" COUNTER_SUBSETS);
    assert_int_equal(count_in(json, "clusters", COUNTER_V1), 300);
    JsonObject *pods = json_object_get_object_member(
        json_node_get_object(json), "pods");
    assert_int_equal(json_object_get_size(pods), 1);
}

/* Hosts a.example.com and aaaaaaaa2aaaaaaaa.example.com to subset v1,
 * b.example.com to v2, anything else to the article's "*"
 * VirtualService (cluster counter, no subset). */
#define HOSTS_TO_SUBSETS                                                    \
    "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"            \
    "metadata: {name: a, namespace: default}\n"                             \
    "spec:\n  hosts: [a.example.com, aaaaaaaa2aaaaaaaa.example.com]\n"      \
    "  gateways: [istio-system/default-gateway]\n"                          \
    "  http:\n  - route: [{destination: {host: counter, subset: v1, "        \
    "port: {number: 80}}}]\n"                                               \
    "---\n"                                                                 \
    "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"            \
    "metadata: {name: b, namespace: default}\n"                             \
    "spec:\n  hosts: [b.example.com]\n"                                     \
    "  gateways: [istio-system/default-gateway]\n"                          \
    "  http:\n  - route: [{destination: {host: counter, subset: v2, "        \
    "port: {number: 80}}}]\n"                                               \
    "---\n" COUNTER_SUBSETS

/* The world's name table: one pointer per distinct byte string (lengths
 * around the hash's 8-byte words, strings that differ in one byte
 * anywhere), NUL-terminated copies; NULL once full (by count or bytes)
 * or for a string too long, while those already in are still found. */
static void test_name_table(void **state)
{
    g_autoptr(NameTable) t = name_table_new(1000, 1 << 20);
    const char *first[41][3];
    for (guint round = 0; round < 2; round++) {
        for (guint n = 0; n <= 40; n++) {
            for (guint v = 0; v < 3; v++) {
                char buf[48];
                for (guint i = 0; i < n; i++) {
                    buf[i] = (char)('a' + (i * 7 + n) % 26);
                }
                if (v > 0 && n > 0) {
                    buf[v == 1 ? 0 : n - 1] = '#'; /* first or last byte */
                }
                buf[n] = 'X'; /* past the end: never read into the name */
                const char *in = name_table_intern(t, buf, n);
                assert_non_null(in);
                assert_int_equal(strlen(in), n);
                assert_memory_equal(in, buf, n);
                if (round == 0) {
                    first[n][v] = in;
                } else {
                    assert_ptr_equal(in, first[n][v]);
                }
            }
        }
    }
    /* n == 0 has one string for its three tries, n == 1 two ("#"). */
    assert_int_equal(name_table_len(t), 1 + 2 + 39 * 3);
    char big[NAME_TABLE_MAX_LEN + 1];
    memset(big, 'z', sizeof big);
    assert_null(name_table_intern(t, big, sizeof big));
    assert_non_null(name_table_intern(t, big, sizeof big - 1));

    g_autoptr(NameTable) few = name_table_new(2, 1 << 20);
    const char *a = name_table_intern(few, "a.example.com", 13);
    assert_non_null(name_table_intern(few, "b.example.com", 13));
    assert_null(name_table_intern(few, "c.example.com", 13));
    assert_ptr_equal(name_table_intern(few, "a.example.com", 13), a);
    g_autoptr(NameTable) small = name_table_new(100, 20);
    assert_non_null(name_table_intern(small, "a.example.com", 13));
    assert_null(name_table_intern(small, "b.example.com", 13)); /* 28 > 20 */
    assert_non_null(name_table_intern(small, "b", 1));
}

/* Path done hook: a request's names_fixed says exactly whether its host
 * and authority are the world's interned strings (which the gateway may
 * remember by address), and the counts of each kind. */
typedef struct {
    World *w;
    guint fixed, copied;
} FixedSeen;

static void names_fixed_is_interned(const Request *r, gpointer data)
{
    FixedSeen *fs = data;
    NameTable *nt = fs->w->names;
    gboolean in = name_table_intern(nt, r->host, strlen(r->host)) == r->host &&
                  name_table_intern(nt, r->authority, strlen(r->authority)) ==
                      r->authority;
    assert_int_equal(r->names_fixed, in);
    if (in) {
        fs->fixed++;
    } else {
        fs->copied++;
    }
}

/* A replayed line's host and authority are interned (World.names) and
 * the gateway remembers its answers by their addresses
 * (Request.names_fixed): each line must still get its own host's route,
 * whatever the lines around it asked, in any case and with a port; and
 * when the table is full, the lines it could not take (copied into their
 * blocks, names_fixed FALSE) must too. Six authorities in turn, 50 each:
 * a.example.com, B.Example.COM, b.example.com, c.example.com:80 and two
 * of 29 bytes that differ in the middle only (the reader's memo compares
 * them by words, and puts names of one length in one slot). */
static const char *host_in_turn(guint i)
{
    static const char *const auth[] = {
        "host: a.example.com",
        "host: B.Example.COM",
        "host: b.example.com",
        "host: c.example.com:80",
        "host: aaaaaaaa1aaaaaaaa.example.com",
        "host: aaaaaaaa2aaaaaaaa.example.com",
    };
    return auth[i % G_N_ELEMENTS(auth)];
}

static void test_interned_names_route_each_line(void **state)
{
    const char *src = g_getenv("SIM_SRCDIR");
    src = src != NULL ? src : ".";
    g_autofree char *dir = g_dir_make_tmp("replay-XXXXXX", NULL);
    g_autofree char *docs = g_build_filename(dir, "hosts.yaml", NULL);
    assert_true(g_file_set_contents(docs, HOSTS_TO_SUBSETS, -1, NULL));
    g_autofree char *spec = g_strdup_printf(
        "  include: ['%s/scenarios/article/manifests.yaml',\n"
        "            '%s/scenarios/article/gateway-service.yaml', '%s']\n",
        src, src, docs);
    g_autofree char *text = csv_300("x.example.com", 300, host_in_turn);
    /* The world's tables; then room for four names only (GET, the first
     * authority, the URL's host x.example.com, which a CSV line's host
     * is, and B.Example.COM): the lines of the first two authorities
     * fixed, the rest copied; then room for two paths only, which must
     * cost the names nothing. */
    for (guint small = 0; small < 3; small++) {
        Bed b;
        bed_load(&b, text, -1, "csv", "", spec);
        if (small == 1) {
            name_table_free(b.w->names);
            b.w->names = name_table_new(4, 4096);
        } else if (small == 2) {
            name_table_free(b.w->paths);
            b.w->paths = name_table_new(2, 4096);
        }
        FixedSeen fs = { b.w, 0, 0 };
        path_set_done(b.p, names_fixed_is_interned, &fs);
        bed_run(&b);
        assert_int_equal(fs.fixed, small == 1 ? 100 : 300);
        assert_int_equal(fs.copied, small == 1 ? 200 : 0);
        /* GET, six authorities and x.example.com; 300 paths. */
        assert_int_equal(name_table_len(b.w->names),
                         small == 1 ? 4 : 1 + 6 + 1);
        assert_int_equal(name_table_len(b.w->paths), small == 2 ? 2 : 300);
        g_autoptr(JsonNode) json = results_to_json(b.w->results);
        assert_int_equal(count_in(json, "clusters", COUNTER_V1), 100);
        assert_int_equal(count_in(json, "clusters", COUNTER_V2), 100);
        assert_int_equal(
            count_in(json, "clusters",
                     "outbound|80||counter.default.svc.cluster.local"),
            100);
        bed_close(&b);
    }
    g_remove(docs);
    g_rmdir(dir);
}

/* Replays the Istio TEXT lines of @t (freed) with @check as the path's
 * done hook, counting into a guint: no line bad, @want requests checked. */
static void replay_text_checked(GString *t, PathDoneFunc check, guint want)
{
    Bed b;
    bed_load(&b, t->str, -1, "istio-text", "", "");
    g_string_free(t, TRUE);
    guint done = 0;
    path_set_done(b.p, check, &done);
    bed_run(&b);
    assert_int_equal(replay_n_bad(b.rp), 0);
    assert_int_equal(done, want);
    bed_close(&b);
}

/* The reader's own copy of a TEXT line: the host lower-cased eight bytes
 * at a time (hosts of every length around that), the client address as
 * the parser read it. */
static void host_and_client_match(const Request *r, gpointer data)
{
    guint *n = data;
    g_autofree char *want = g_ascii_strdown(r->authority, -1);
    char *colon = strchr(want, ':');
    if (colon != NULL) {
        *colon = '\0';
    }
    assert_string_equal(r->host, want);
    guint32 addr = 0;
    assert_true(ipv4_parse(r->client_ip, &addr));
    assert_int_equal(r->client_addr, addr);
    (*n)++;
}

static void test_reader_folds_host_and_reads_client(void **state)
{
    static const char letters[] = "aBcDeFgHiJkLmNoPqRsTuVwXyZ@[`{09-.";
    GString *t = g_string_new(NULL);
    for (guint i = 0; i < 40; i++) {
        GString *host = g_string_new(NULL);
        for (guint j = 0; j <= i; j++) {
            g_string_append_c(host, letters[(i + j) % (sizeof letters - 1)]);
        }
        g_string_append_printf(
            t,
            "[2024-01-01T00:00:00.%03uZ] \"GET /%u HTTP/1.1\" 200 - "
            "via_upstream - \"-\" 0 0 1 1 \"-\" \"-\" \"id-%u\" "
            "\"%s%s\" \"10.0.0.1:80\" outbound|80||a.default.svc.cluster.local "
            "10.0.0.2:1 10.0.0.2:80 192.0.%u.%u:%u - -\n",
            i, i, i, host->str, i % 2 ? ":8080" : "", i, 255 - i, 1000 + i);
        g_string_free(host, TRUE);
    }
    replay_text_checked(t, host_and_client_match, 40);
}

/* Path done hook: each request's "METHOD PATH", into a GPtrArray. */
static void method_and_path(const Request *r, gpointer data)
{
    g_ptr_array_add(data, g_strdup_printf("%s %s", r->method, r->path));
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The reader's memo of names takes a line's method or path for the last
 * one of its length only when all their bytes agree: names of one to
 * three bytes that differ in their first, middle or last byte only, in
 * turn, each request as its line says. */
static void test_short_names_differ_anywhere(void **state)
{
    static const char *const methods[] = { "GET", "GAT", "PAT", "PAX",
                                           "A",   "B",   "AB",  "BB" };
    static const char *const paths[] = { "/",   "/a",  "/b",  "/a1", "/b1",
                                         "/bb", "/ba", "x",   "xy" };
    GString *t = g_string_new(NULL);
    g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < 72; i++) {
        const char *m = methods[i % G_N_ELEMENTS(methods)];
        const char *path = paths[i % G_N_ELEMENTS(paths)];
        g_string_append_printf(
            t,
            "[2024-01-01T00:00:00.%03uZ] \"%s %s HTTP/1.1\" 200 - "
            "via_upstream - \"-\" 0 0 1 1 \"-\" \"-\" \"id-%u\" "
            "\"a.example.com\" \"10.0.0.1:80\" "
            "outbound|80||a.default.svc.cluster.local "
            "10.0.0.2:1 10.0.0.2:80 192.0.2.1:1000 - -\n",
            i, m, path, i);
        g_ptr_array_add(want, g_strdup_printf("%s %s", m, path));
    }
    Bed b;
    bed_load(&b, t->str, -1, "istio-text", "", "");
    g_string_free(t, TRUE);
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
    path_set_done(b.p, method_and_path, got);
    bed_run(&b);
    assert_int_equal(replay_n_bad(b.rp), 0);
    assert_int_equal(got->len, want->len);
    g_ptr_array_sort(got, compare_strings);
    g_ptr_array_sort(want, compare_strings);
    for (guint i = 0; i < want->len; i++) {
        assert_string_equal(g_ptr_array_index(got, i),
                            g_ptr_array_index(want, i));
    }
    bed_close(&b);
}

/* Path done hook: a TEXT line's headers, each logged or "-" by the bits
 * of the number in its path (see test_istio_header_lists()). */
static void istio_headers_match(const Request *r, gpointer data)
{
    guint *n = data;
    guint i = (guint)g_ascii_strtoull(r->path + 1, NULL, 10);
    /* A done hook sees a const request; the headers load on demand. */
    const KvList *h = request_headers((Request *)r);
    static const char *const names[] = { "x-forwarded-for", "user-agent",
                                         "x-request-id" };
    guint have = 0;
    for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
        const char *v = kv_list_get(h, names[k]);
        if ((i >> k & 1) == 0) {
            assert_null(v);
            continue;
        }
        g_autofree char *want = g_strdup_printf("%c%u", 'a' + k, i);
        assert_non_null(v);
        assert_string_equal(v, want);
        have++;
    }
    assert_int_equal(h != NULL ? kv_list_len(h) : 0, have);
    (*n)++;
}

/* An Istio line's header names are one of a few shared lists (which of
 * its three headers it logged): each request has its own line's, for
 * every list, in turn. */
static void test_istio_header_lists(void **state)
{
    GString *t = g_string_new(NULL);
    for (guint i = 0; i < 64; i++) {
        char v[3][16];
        for (guint k = 0; k < 3; k++) {
            if (i >> k & 1) {
                g_snprintf(v[k], sizeof v[k], "%c%u", 'a' + k, i);
            } else {
                g_strlcpy(v[k], "-", sizeof v[k]);
            }
        }
        g_string_append_printf(
            t,
            "[2024-01-01T00:00:00.%03uZ] \"GET /%u HTTP/1.1\" 200 - "
            "via_upstream - \"-\" 0 0 1 1 \"%s\" \"%s\" \"%s\" "
            "\"a.example.com\" \"10.0.0.1:80\" "
            "outbound|80||a.default.svc.cluster.local "
            "10.0.0.2:1 10.0.0.2:80 192.0.2.1:1000 - -\n",
            i, i, v[0], v[1], v[2]);
    }
    replay_text_checked(t, istio_headers_match, 64);
}

/* Start times centuries apart, further than a gint64 of ns: the later
 * line is beyond any run and ends the replay (UBSan checks the sums). */
static void test_times_centuries_apart(void **state)
{
    Bed b;
    bed_open(&b,
             "2250-01-01T00:00:00.000Z,GET,http://x.example.com/late\n"
             "1700-01-01T00:00:00.000Z,GET,http://x.example.com/early\n",
             "csv", "", "");
    assert_int_equal(replay_n_bad(b.rp), 0);
    assert_int_equal(replay_n_sent(b.rp), 1); /* 1700's; 2250's never */
    assert_string_equal(g_ptr_array_index(b.seen.paths, 0), "/early");
    bed_close(&b);
}

/* Lines out of start order within the window replay in start order; a line
 * behind what was already replayed goes at once and counts as late. */
static void test_reorder_window(void **state)
{
    g_autofree char *a = csv_line(0, "/0");
    g_autofree char *b5 = csv_line(5, "/5");
    g_autofree char *b2 = csv_line(2, "/2");
    g_autofree char *b1 = csv_line(1, "/1");
    g_autofree char *t = g_strconcat(a, b5, b2, b1, NULL);
    Bed b;
    bed_open(&b, t, "csv", "", "");
    assert_int_equal(replay_n_late(b.rp), 0);
    SimTime want[] = { 0, 500 * SIM_MS, SIM_S, 2500 * SIM_MS };
    GArray *sent = b.seen.sent;
    assert_int_equal(sent->len, 4);
    for (guint i = 0; i < 4; i++) {
        gboolean found = FALSE;
        for (guint j = 0; j < 4; j++) {
            found = found || g_array_index(sent, SimTime, j) == want[i];
        }
        assert_true(found);
    }
    bed_close(&b);

    /* 0, 200 s, 340 s, then 100 s: read after 200 s was replayed. */
    g_autofree char *c200 = csv_line(200, "/200");
    g_autofree char *c340 = csv_line(340, "/340");
    g_autofree char *c100 = csv_line(100, "/100");
    g_autofree char *t2 = g_strconcat(a, c200, c340, c100, NULL);
    bed_open(&b, t2, "csv", "", "");
    assert_int_equal(replay_n_late(b.rp), 1);
    assert_int_equal(replay_n_sent(b.rp), 4);
    for (guint i = 0; i < b.seen.paths->len; i++) {
        if (strcmp(g_ptr_array_index(b.seen.paths, i), "/100") == 0) {
            /* Sent with the 200 s line (at speed 2: 100 s). */
            assert_int_equal(g_array_index(b.seen.sent, SimTime, i),
                             100 * SIM_S);
        }
    }
    bed_close(&b);
}

static void expect_open_error(const char *trace_yaml,
                              const char *bad_format,
                              const char *needle,
                              gint code,
                              guint line,
                              guint col)
{
    g_autofree char *yaml = g_strdup_printf(
        "apiVersion: ingress-sim/v1\nkind: Scenario\nspec:\n  traffic:\n"
        "  - name: r\n    trace:\n%s",
        trace_yaml);
    GError *error = NULL;
    g_autoptr(Scenario) s = scenario_load_string("t.yaml", yaml, &error);
    assert_non_null(s);
    if (bad_format != NULL) {
        /* The loader checks formats too; replay_open() must not rely on
         * it (scenarios built in code). */
        TrafficSpec *ts = g_ptr_array_index(s->traffic, 0);
        g_free(ts->trace_format);
        ts->trace_format = g_strdup(bad_format);
    }
    Runner *run = runner_new(s, 1, &error);
    assert_null(run);
    assert_true(g_error_matches(error, SCENARIO_ERROR, code));
    g_autofree char *prefix =
        g_strdup_printf("t.yaml:%u:%u: error: ", line, col);
    if (!g_str_has_prefix(error->message, prefix) ||
        strstr(error->message, needle) == NULL) {
        fail_msg("'%s' lacks '%s' or '%s'", error->message, prefix, needle);
    }
    g_error_free(error);
}

static void test_open_errors_are_located(void **state)
{
    expect_open_error("      file: /nonexistent/trace.log\n", NULL,
                      "cannot open trace '/nonexistent/trace.log'",
                      SCENARIO_ERROR_IO, 7, 13);
    expect_open_error("      file: /dev/null\n      format: csv\n", "har",
                      "unknown trace format 'har'", SCENARIO_ERROR_BAD_VALUE, 8,
                      15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names_and_times),
        cmocka_unit_test(test_time_memo_is_exact),
        cmocka_unit_test(test_window_order),
        cmocka_unit_test(test_window_far_times),
        cmocka_unit_test(test_window_order_ms),
        cmocka_unit_test(test_reader_folds_host_and_reads_client),
        cmocka_unit_test(test_short_names_differ_anywhere),
        cmocka_unit_test(test_istio_header_lists),
        cmocka_unit_test(test_times_centuries_apart),
        cmocka_unit_test(test_text_line_fields),
        cmocka_unit_test(test_text_xff_and_plain_http),
        cmocka_unit_test(test_text_tcp_and_tls_lines),
        cmocka_unit_test(test_view_client_address),
        cmocka_unit_test(test_view_client_memo),
        cmocka_unit_test(test_view_lengths),
        cmocka_unit_test(test_view_port_memo),
        cmocka_unit_test(test_view_longest_line),
        cmocka_unit_test(test_port_map),
        cmocka_unit_test(test_text_bad_lines),
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_json_writer_reader_agree),
        cmocka_unit_test(test_csv_lines),
        cmocka_unit_test(test_bad_lines_counted_with_numbers),
        cmocka_unit_test(test_reader_cuts_lines_as_fgets),
        cmocka_unit_test(test_speed_and_start),
        cmocka_unit_test(test_stop_and_run_to_the_end),
        cmocka_unit_test(test_header_lists_reused_and_outlive_the_replay),
        cmocka_unit_test(test_lazy_headers_reach_route_matches),
        cmocka_unit_test(test_header_routes_decide_each_line_of_one_path),
        cmocka_unit_test(test_lazy_headers_reach_the_hash),
        cmocka_unit_test(test_name_table),
        cmocka_unit_test(test_interned_names_route_each_line),
        cmocka_unit_test(test_reorder_window),
        cmocka_unit_test(test_open_errors_are_located),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
