/* test-accesslog.c: Istio's access-log formats (T-1 TEXT, T-2 JSON) through
 * models/accesslog.h: exact fields of sample lines, format/parse round
 * trips, %START_TIME% rendering, and the `run --access-log` writer. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "models/accesslog.h"
#include "models/replay.h"
#include "models/runner.h"

/* A gateway line as Istio's default TEXT format writes it (T-1), with a
 * route name that holds a blank. */
static const char *const SAMPLE_HTTP =
    "[2024-05-01T12:00:00.123Z] \"GET /api/v1?x=1 HTTP/1.1\" 200 - "
    "via_upstream - \"-\" 0 1234 15 14 \"203.0.113.7\" \"curl/8.4.0\" "
    "\"6f1c2d3e-1111-4222-8333-444455556666\" \"counter.example.com\" "
    "\"10.244.1.5:8080\" outbound|80||counter.default.svc.cluster.local "
    "10.244.0.7:40112 10.244.0.7:8443 10.0.0.9:51234 counter.example.com "
    "default/counter http[0]\n";

/* A TCP connection: "- - -", response code 0, most fields unset. */
static const char *const SAMPLE_TCP =
    "[2024-05-01T12:00:01.000Z] \"- - -\" 0 - - - \"-\" 120 340 2045 - "
    "\"-\" \"-\" \"-\" \"-\" \"10.244.2.3:3306\" "
    "outbound|3306||mysql.default.svc.cluster.local 10.244.0.7:51000 "
    "10.244.0.7:3306 10.0.0.9:40000 - -\r\n";

static void test_text_sample_fields(void **state)
{
    AccessLogFields a;
    g_autofree char *why = NULL;
    assert_true(access_log_parse_text(SAMPLE_HTTP, &a, &why));
    const char *want[ACCESS_LOG_N_FIELDS] = {
        [ACCESS_LOG_START_TIME] = "2024-05-01T12:00:00.123Z",
        [ACCESS_LOG_METHOD] = "GET",
        [ACCESS_LOG_PATH] = "/api/v1?x=1",
        [ACCESS_LOG_PROTOCOL] = "HTTP/1.1",
        [ACCESS_LOG_RESPONSE_CODE] = "200",
        [ACCESS_LOG_RESPONSE_CODE_DETAILS] = "via_upstream",
        [ACCESS_LOG_BYTES_RECEIVED] = "0",
        [ACCESS_LOG_BYTES_SENT] = "1234",
        [ACCESS_LOG_DURATION] = "15",
        [ACCESS_LOG_UPSTREAM_SERVICE_TIME] = "14",
        [ACCESS_LOG_X_FORWARDED_FOR] = "203.0.113.7",
        [ACCESS_LOG_USER_AGENT] = "curl/8.4.0",
        [ACCESS_LOG_REQUEST_ID] = "6f1c2d3e-1111-4222-8333-444455556666",
        [ACCESS_LOG_AUTHORITY] = "counter.example.com",
        [ACCESS_LOG_UPSTREAM_HOST] = "10.244.1.5:8080",
        [ACCESS_LOG_UPSTREAM_CLUSTER] =
            "outbound|80||counter.default.svc.cluster.local",
        [ACCESS_LOG_UPSTREAM_LOCAL_ADDRESS] = "10.244.0.7:40112",
        [ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS] = "10.244.0.7:8443",
        [ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS] = "10.0.0.9:51234",
        [ACCESS_LOG_REQUESTED_SERVER_NAME] = "counter.example.com",
        [ACCESS_LOG_ROUTE_NAME] = "default/counter http[0]",
    };
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        if (g_strcmp0(a.f[i], want[i]) != 0) {
            fail_msg("%s: got '%s', want '%s'", access_log_field_key(i),
                     a.f[i] != NULL ? a.f[i] : "(unset)",
                     want[i] != NULL ? want[i] : "(unset)");
        }
    }
    access_log_fields_clear(&a);
}

static void test_text_tcp_sample_is_mostly_unset(void **state)
{
    AccessLogFields a;
    g_autofree char *why = NULL;
    assert_true(access_log_parse_text(SAMPLE_TCP, &a, &why));
    assert_null(a.f[ACCESS_LOG_METHOD]);
    assert_null(a.f[ACCESS_LOG_PATH]);
    assert_null(a.f[ACCESS_LOG_PROTOCOL]);
    assert_string_equal(a.f[ACCESS_LOG_RESPONSE_CODE], "0");
    assert_null(a.f[ACCESS_LOG_RESPONSE_FLAGS]);
    assert_null(a.f[ACCESS_LOG_AUTHORITY]);
    assert_string_equal(a.f[ACCESS_LOG_DURATION], "2045");
    assert_string_equal(a.f[ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS],
                        "10.244.0.7:3306");
    assert_null(a.f[ACCESS_LOG_REQUESTED_SERVER_NAME]);
    assert_null(a.f[ACCESS_LOG_ROUTE_NAME]); /* "-" then CR LF */
    access_log_fields_clear(&a);
}

static void expect_bad(const char *line, const char *needle)
{
    AccessLogFields a;
    char *why = NULL;
    assert_false(access_log_parse_text(line, &a, &why));
    assert_non_null(why);
    if (strstr(why, needle) == NULL) {
        fail_msg("'%s' lacks '%s'", why, needle);
    }
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        assert_null(a.f[i]);
    }
    g_free(why);
}

static void test_text_bad_shapes(void **state)
{
    expect_bad("", "START_TIME");
    expect_bad("2024-05-01T12:00:00.123Z GET / 200", "START_TIME");
    expect_bad("[2024-05-01T12:00:00.123Z] GET / HTTP/1.1", "METHOD PATH");
    expect_bad("[t] \"GET /\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" \"-\" "
               "\"h\" \"-\" - - - - - r",
               "three parts");
    expect_bad("[t] \"GET / HTTP/1.1\" OK - - - \"-\" 0 0 1 - \"-\" \"-\" "
               "\"-\" \"h\" \"-\" - - - - - r",
               "response_code) is not a number");
    /* Truncated after the authority. */
    expect_bad("[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
               "\"-\" \"h\"",
               "upstream_host");
    /* Everything but the route name. */
    expect_bad("[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
               "\"-\" \"h\" \"-\" - - - - -",
               "ROUTE_NAME");
}

/* A quote inside a quoted value (Envoy does not escape) stays in it unless
 * a blank follows it. */
static void test_text_quote_inside_value(void **state)
{
    AccessLogFields a;
    g_autofree char *why = NULL;
    assert_true(access_log_parse_text(
        "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" "
        "\"Mozilla/5.0 \"x\"y\" \"-\" \"h\" \"-\" - - - - - r",
        &a, &why));
    assert_string_equal(a.f[ACCESS_LOG_USER_AGENT], "Mozilla/5.0 \"x\"y");
    access_log_fields_clear(&a);
}

static void fill_all(AccessLogFields *a)
{
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        a->f[i] = g_strdup_printf("v%u", i);
    }
    g_free(a->f[ACCESS_LOG_RESPONSE_CODE]);
    a->f[ACCESS_LOG_RESPONSE_CODE] = g_strdup("503");
    g_free(a->f[ACCESS_LOG_DURATION]);
    a->f[ACCESS_LOG_DURATION] = g_strdup("12");
    g_free(a->f[ACCESS_LOG_BYTES_RECEIVED]);
    a->f[ACCESS_LOG_BYTES_RECEIVED] = g_strdup("0");
    g_free(a->f[ACCESS_LOG_BYTES_SENT]);
    a->f[ACCESS_LOG_BYTES_SENT] = g_strdup("7");
    g_free(a->f[ACCESS_LOG_USER_AGENT]);
    a->f[ACCESS_LOG_USER_AGENT] = g_strdup("agent with blanks");
    g_free(a->f[ACCESS_LOG_ROUTE_NAME]);
    a->f[ACCESS_LOG_ROUTE_NAME] =
        g_strdup("VirtualService default/mysql tcp[0]");
}

static void test_text_round_trip(void **state)
{
    for (guint unset = 0; unset <= ACCESS_LOG_N_FIELDS; unset++) {
        AccessLogFields a = { { NULL }, NULL };
        fill_all(&a);
        if (unset < ACCESS_LOG_N_FIELDS) {
            g_clear_pointer(&a.f[unset], g_free); /* each one "-" in turn */
        }
        g_autoptr(GString) line = g_string_new(NULL);
        access_log_append(line, ACCESS_LOG_TEXT, &a);
        assert_true(g_str_has_suffix(line->str, "\n"));
        assert_null(strchr(line->str, '\n') + 1 == line->str + line->len
                        ? NULL
                        : "more than one line");
        AccessLogFields b;
        g_autofree char *why = NULL;
        if (!access_log_parse_text(line->str, &b, &why)) {
            fail_msg("%s: %s", line->str, why);
        }
        for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
            assert_string_equal(a.f[i] != NULL ? a.f[i] : "(unset)",
                                b.f[i] != NULL ? b.f[i] : "(unset)");
        }
        access_log_fields_clear(&a);
        access_log_fields_clear(&b);
    }
}

/* ---- the splitter's two scans (SSE2 where built, and the portable one) -- */

/* One split of a copy of @line by each scan: they must agree on every
 * value (where it lies in the line), every length and the message. */
typedef struct {
    gboolean ok;      /* did it split */
    char *why;        /* else why (owned) */
    char *copy;       /* the line the values lie in (owned) */
    AccessLogSpans s; /* the values */
} Split2;

static void split2_clear(Split2 *x)
{
    g_free(x->why);
    g_free(x->copy);
}

static void split_by(const char *line, gboolean portable, Split2 *x)
{
    gsize n = strlen(line);
    x->copy = g_strndup(line, n);
    x->why = NULL;
    x->ok = portable
                ? access_log__split_text_portable(x->copy, n, &x->s, &x->why)
                : access_log_split_text_len(x->copy, n, &x->s, &x->why);
}

/* access_log_split_request() of @line agrees with the full split @x on
 * the line (bad or not, and why) and on the request's fields. */
static void expect_request_agrees(const char *line, const Split2 *x)
{
    gsize n = strlen(line);
    g_autofree char *copy = g_strndup(line, n);
    g_autofree char *why = NULL;
    AccessLogSpans r;
    assert_int_equal(access_log_split_request(copy, n, &r, &why), x->ok);
    assert_string_equal(why != NULL ? why : "", x->why != NULL ? x->why : "");
    for (guint i = 0; x->ok && i < ACCESS_LOG_N_FIELDS; i++) {
        if ((ACCESS_LOG_REQUEST_FIELDS & 1u << i) == 0) {
            continue;
        }
        const char *a = x->s.a.f[i], *b = r.a.f[i];
        assert_int_equal(a != NULL ? a - x->copy : -1,
                         b != NULL ? b - copy : -1);
        assert_int_equal(x->s.len[i], r.len[i]);
        if (b != NULL) {
            assert_int_equal(strlen(b), r.len[i]);
        }
    }
}

/* access_log__split_fast() of @line: what it takes it takes as the exact
 * walk (@exact, the portable split) does; what it leaves it leaves as it
 * was (but for the NUL at the trimmed end). TRUE: it took the line. */
static gboolean expect_fast_exact(const char *line, const Split2 *exact)
{
    gsize n = strlen(line);
    g_autofree char *copy = g_strndup(line, n);
    AccessLogSpans f;
    memset(&f, 0x5a, sizeof f);
    if (!access_log__split_fast(copy, n, &f)) {
        gsize t = strlen(copy);
        assert_true(t <= n);
        assert_memory_equal(copy, line, t);
        for (gsize i = 0; i < sizeof f; i++) {
            assert_int_equal(((const guchar *)&f)[i], 0x5a);
        }
        return FALSE;
    }
    assert_true(exact->ok);
    assert_null(f.a.store);
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        const char *a = exact->s.a.f[i], *b = f.a.f[i];
        assert_int_equal(a != NULL ? a - exact->copy : -1,
                         b != NULL ? b - copy : -1);
        assert_int_equal(exact->s.len[i], f.len[i]);
        if (b != NULL) {
            assert_string_equal(a, b);
        }
    }
    return TRUE;
}

/* Splits @line both ways (and the request's fields alone), checks that
 * they agree and that each length is its value's, and returns the SSE2
 * split in @x. */
static void split_both(const char *line, Split2 *x)
{
    Split2 y;
    split_by(line, FALSE, x);
    split_by(line, TRUE, &y);
    expect_request_agrees(line, x);
    expect_fast_exact(line, &y);
    assert_int_equal(x->ok, y.ok);
    assert_string_equal(x->why != NULL ? x->why : "",
                        y.why != NULL ? y.why : "");
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        const char *a = x->s.a.f[i], *b = y.s.a.f[i];
        assert_int_equal(a != NULL ? a - x->copy : -1,
                         b != NULL ? b - y.copy : -1);
        assert_int_equal(x->s.len[i], y.s.len[i]);
        assert_int_equal(x->s.len[i], a != NULL ? strlen(a) : 0);
    }
    assert_null(x->s.a.store);
    if (!x->ok) {
        assert_non_null(x->why);
    }
    split2_clear(&y);
}

/* What access_log_append() writes for @a must split back to @a, by both
 * scans. */
static void expect_round_trip(const AccessLogFields *a)
{
    g_autoptr(GString) line = g_string_new(NULL);
    access_log_append(line, ACCESS_LOG_TEXT, a);
    Split2 x;
    split_both(line->str, &x);
    if (!x.ok) {
        fail_msg("%s: %s", line->str, x.why);
    }
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        assert_string_equal(a->f[i] != NULL ? a->f[i] : "(unset)",
                            x.s.a.f[i] != NULL ? x.s.a.f[i] : "(unset)");
    }
    split2_clear(&x);
}

/* Every field starts and ends on each side of the 16- and 64-byte lines
 * the scans work in: the path grows a byte at a time. */
static void test_split_fields_straddle_blocks(void **state)
{
    for (guint k = 0; k < 200; k++) {
        AccessLogFields a = { { NULL }, NULL };
        fill_all(&a);
        g_free(a.f[ACCESS_LOG_PATH]);
        a.f[ACCESS_LOG_PATH] = g_strnfill(k + 1, 'p');
        a.f[ACCESS_LOG_PATH][0] = '/';
        if (k % 3 == 0) {
            g_clear_pointer(&a.f[ACCESS_LOG_RESPONSE_FLAGS], g_free);
            g_clear_pointer(&a.f[ACCESS_LOG_X_FORWARDED_FOR], g_free);
        }
        expect_round_trip(&a);
        access_log_fields_clear(&a);
    }
}

/* Lines of 0 to 600 bytes, cut anywhere: both scans agree on every prefix
 * of a good line, good or bad, around the ends of 64-byte blocks too. */
static void test_split_every_prefix(void **state)
{
    g_autoptr(GString) line = g_string_new(SAMPLE_HTTP);
    g_string_truncate(line, line->len - 1);
    g_string_insert(line, 30, "/padding/to/cross/more/blocks/of/the/scan/");
    for (gsize n = 0; n <= line->len; n++) {
        g_autofree char *cut = g_strndup(line->str, n);
        Split2 x;
        split_both(cut, &x);
        /* Good once a byte of the route name is there. */
        assert_int_equal(x.ok,
                         n > line->len - strlen("default/counter http[0]"));
        split2_clear(&x);
    }
}

/* Envoy does not escape a quote inside a quoted value: only a quote with a
 * blank (or the end) after it closes. */
static void test_split_quote_inside_quotes(void **state)
{
    Split2 x;
    split_both("[t] \"GET /a\"b HTTP/1.1\" 200 - - - \"\" 0 0 1 - \"a\"b\" "
               "\"x\"y z\" \"\" \"h\"\"\" \"-\" - - - - - \"r\"",
               &x);
    assert_true(x.ok);
    assert_string_equal(x.s.a.f[ACCESS_LOG_PATH], "/a\"b");
    assert_string_equal(x.s.a.f[ACCESS_LOG_X_FORWARDED_FOR], "a\"b");
    assert_string_equal(x.s.a.f[ACCESS_LOG_USER_AGENT], "x\"y z");
    /* An empty quoted value is set and empty, not unset. */
    assert_string_equal(x.s.a.f[ACCESS_LOG_UPSTREAM_TRANSPORT_FAILURE_REASON],
                        "");
    assert_int_equal(x.s.len[ACCESS_LOG_UPSTREAM_TRANSPORT_FAILURE_REASON], 0);
    assert_string_equal(x.s.a.f[ACCESS_LOG_REQUEST_ID], "");
    assert_string_equal(x.s.a.f[ACCESS_LOG_AUTHORITY], "h\"\"");
    assert_int_equal(x.s.len[ACCESS_LOG_AUTHORITY], 3);
    /* A quoted "-" is unset; the route keeps its quotes. */
    assert_null(x.s.a.f[ACCESS_LOG_UPSTREAM_HOST]);
    assert_int_equal(x.s.len[ACCESS_LOG_UPSTREAM_HOST], 0);
    assert_null(x.s.a.f[ACCESS_LOG_UPSTREAM_CLUSTER]);
    assert_string_equal(x.s.a.f[ACCESS_LOG_ROUTE_NAME], "\"r\"");
    split2_clear(&x);
    /* A quote cannot close itself; no closing quote at all. */
    split_both("[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \" x\" "
               "\"-\" \"h\" \"-\" - - - - - r",
               &x);
    assert_true(x.ok);
    assert_string_equal(x.s.a.f[ACCESS_LOG_USER_AGENT], " x");
    split2_clear(&x);
    split_both("[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \" 1 2",
               &x);
    assert_false(x.ok);
    assert_string_equal(x.why, "field 15 (user_agent) missing or malformed");
    split2_clear(&x);
    split_both("[t] \"GET / HTTP/1.1\" 200 - - - \"", &x);
    assert_string_equal(
        x.why, "field 9 (upstream_transport_failure_reason) missing or "
               "malformed");
    split2_clear(&x);
}

/* Blanks between fields are one separator however many; trailing blanks
 * and CRs go. */
static void test_split_blank_runs_and_trailing(void **state)
{
    const char *parts[] = {
        "[2024-05-01T12:00:00.123Z]", "\"GET  /a  b  HTTP/1.1\"", "200", "-",
        "via_upstream", "-", "\"-\"", "0", "1234", "15", "14", "\"-\"",
        "\"curl/8.4.0\"", "\"id\"", "\"h\"", "\"-\"", "c", "-", "-",
        "10.0.0.9:51234", "-", "default/counter  http[0]",
    };
    for (guint k = 1; k < 80; k += 13) {
        g_autoptr(GString) line = g_string_new(NULL);
        for (guint i = 0; i < G_N_ELEMENTS(parts); i++) {
            g_string_append(line, parts[i]);
            for (guint j = 0; i + 1 < G_N_ELEMENTS(parts) && j < k; j++) {
                g_string_append_c(line, ' ');
            }
        }
        g_string_append(line, k % 2 ? " \r \r\n" : "   ");
        Split2 x;
        split_both(line->str, &x);
        if (!x.ok) {
            fail_msg("%u blanks: %s", k, x.why);
        }
        assert_string_equal(x.s.a.f[ACCESS_LOG_METHOD], "GET");
        /* The path is between the first and the last blank. */
        assert_string_equal(x.s.a.f[ACCESS_LOG_PATH], " /a  b ");
        assert_string_equal(x.s.a.f[ACCESS_LOG_PROTOCOL], "HTTP/1.1");
        assert_string_equal(x.s.a.f[ACCESS_LOG_RESPONSE_CODE_DETAILS],
                            "via_upstream");
        assert_string_equal(x.s.a.f[ACCESS_LOG_DURATION], "15");
        assert_string_equal(x.s.a.f[ACCESS_LOG_USER_AGENT], "curl/8.4.0");
        assert_string_equal(x.s.a.f[ACCESS_LOG_UPSTREAM_CLUSTER], "c");
        assert_string_equal(x.s.a.f[ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS],
                            "10.0.0.9:51234");
        assert_null(x.s.a.f[ACCESS_LOG_REQUESTED_SERVER_NAME]);
        assert_string_equal(x.s.a.f[ACCESS_LOG_ROUTE_NAME],
                            "default/counter  http[0]");
        assert_int_equal(x.s.len[ACCESS_LOG_ROUTE_NAME], 24);
        split2_clear(&x);
    }
}

/* A non-number in each numeric field makes the line bad, saying which. */
static void test_split_numbers(void **state)
{
    static const struct {
        guint field;    /* 1-based, as the message counts */
        const char *key;
    } numeric[] = {
        { 5, "response_code" },
        { 10, "bytes_received" },
        { 11, "bytes_sent" },
        { 12, "duration" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(numeric); i++) {
        for (guint bad = 0; bad < 3; bad++) {
            const char *value = bad == 0 ? "1x" : bad == 1 ? "x" : "+7";
            char *f[25] = { NULL };
            f[5] = "200";
            f[10] = "0";
            f[11] = "0";
            f[12] = "8";
            f[numeric[i].field] = (char *)value;
            g_autofree char *line = g_strdup_printf(
                "[t] \"GET / HTTP/1.1\" %s - - - \"-\" %s %s %s - \"-\" "
                "\"-\" \"-\" \"h\" \"-\" - - - - - r",
                f[5], f[10], f[11], f[12]);
            Split2 x;
            split_both(line, &x);
            g_autofree char *want =
                g_strdup_printf("field %u (%s) is not a number: '%s'",
                                numeric[i].field, numeric[i].key, value);
            assert_false(x.ok);
            assert_string_equal(x.why, want);
            split2_clear(&x);
        }
    }
    /* "-" is unset, not a bad number; leading zeros are digits. */
    Split2 x;
    split_both("[t] \"GET / HTTP/1.1\" - - - - \"-\" 007 - 0 - \"-\" \"-\" "
               "\"-\" \"h\" \"-\" - - - - - r",
               &x);
    assert_true(x.ok);
    assert_null(x.s.a.f[ACCESS_LOG_RESPONSE_CODE]);
    assert_string_equal(x.s.a.f[ACCESS_LOG_BYTES_RECEIVED], "007");
    assert_null(x.s.a.f[ACCESS_LOG_BYTES_SENT]);
    assert_string_equal(x.s.a.f[ACCESS_LOG_DURATION], "0");
    split2_clear(&x);
}

/* The longest line the replay reads, and [START_TIME] far in. */
static void test_split_long_lines(void **state)
{
    AccessLogFields a = { { NULL }, NULL };
    fill_all(&a);
    g_autoptr(GString) line = g_string_new(NULL);
    access_log_append(line, ACCESS_LOG_TEXT, &a);
    gsize agent =
        REPLAY_MAX_LINE - (line->len - 1) + strlen("agent with blanks");
    g_free(a.f[ACCESS_LOG_USER_AGENT]);
    a.f[ACCESS_LOG_USER_AGENT] = g_strnfill(agent, 'a');
    for (gsize i = 7; i < agent; i += 7) {
        a.f[ACCESS_LOG_USER_AGENT][i] = ' ';
    }
    g_string_truncate(line, 0);
    access_log_append(line, ACCESS_LOG_TEXT, &a);
    assert_int_equal(line->len, REPLAY_MAX_LINE + 1); /* with its newline */
    expect_round_trip(&a);
    Split2 x;
    split_both(line->str, &x);
    assert_int_equal(x.s.len[ACCESS_LOG_USER_AGENT], agent);
    assert_string_equal(x.s.a.f[ACCESS_LOG_ROUTE_NAME],
                        "VirtualService default/mysql tcp[0]");
    split2_clear(&x);
    access_log_fields_clear(&a);
    /* A time of 100 bytes: its ']' is past what the SSE2 look-up covers. */
    g_autofree char *t = g_strnfill(100, '9');
    g_autofree char *l2 = g_strdup_printf(
        "[%s] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" \"-\" "
        "\"h\" \"-\" - - - - - r",
        t);
    split_both(l2, &x);
    assert_true(x.ok);
    assert_string_equal(x.s.a.f[ACCESS_LOG_START_TIME], t);
    assert_int_equal(x.s.len[ACCESS_LOG_START_TIME], 100);
    split2_clear(&x);
    /* Lines that end at their ']', of each length around a block's. */
    for (gsize n = 2; n < 200; n++) {
        g_autofree char *time = g_strnfill(n - 2, '1');
        g_autofree char *only = g_strdup_printf("[%s]", time);
        split_both(only, &x);
        assert_string_equal(
            x.why, "no quoted \"METHOD PATH PROTOCOL\" after the time");
        split2_clear(&x);
    }
    /* No ']' at all, in a line longer than 32 bytes. */
    split_both("[2024-05-01T12:00:00.123Z \"GET / HTTP/1.1\" 200", &x);
    assert_string_equal(x.why, "does not start with [START_TIME]");
    split2_clear(&x);
}

/* A usual line of our own writer's and one as Istio writes it: the fast
 * path takes them, and what it takes is what the exact walk takes. */
static void test_split_fast_takes_usual_lines(void **state)
{
    const char *r50k =
        "[2024-01-01T00:00:00.002Z] \"GET / HTTP/1.1\" 200 - via_upstream - "
        "\"-\" 0 0 7 1 \"-\" \"-\" \"019ff0b8-4cf2-424f-aa00-3962bfc6ef27\" "
        "\"counter.example.com\" \"10.244.2.2:8080\" "
        "outbound|80||counter.default.svc.cluster.local 10.244.0.2:32786 "
        "10.244.0.2:8080 198.51.100.16:34150 - default/counter http[0]\n";
    const char *lines[] = { SAMPLE_HTTP, SAMPLE_TCP, r50k };
    for (guint i = 0; i < G_N_ELEMENTS(lines); i++) {
        Split2 y;
        split_by(lines[i], TRUE, &y);
        assert_true(y.ok);
        assert_true(expect_fast_exact(lines[i], &y));
        split2_clear(&y);
    }
    gsize n = strlen(r50k);
    g_autofree char *copy = g_strndup(r50k, n);
    AccessLogSpans f;
    assert_true(access_log__split_fast(copy, n, &f));
    assert_string_equal(f.a.f[ACCESS_LOG_START_TIME],
                        "2024-01-01T00:00:00.002Z");
    assert_string_equal(f.a.f[ACCESS_LOG_METHOD], "GET");
    assert_string_equal(f.a.f[ACCESS_LOG_PATH], "/");
    assert_int_equal(f.len[ACCESS_LOG_PATH], 1);
    assert_string_equal(f.a.f[ACCESS_LOG_PROTOCOL], "HTTP/1.1");
    assert_string_equal(f.a.f[ACCESS_LOG_RESPONSE_CODE], "200");
    assert_null(f.a.f[ACCESS_LOG_RESPONSE_FLAGS]);
    assert_null(f.a.f[ACCESS_LOG_UPSTREAM_TRANSPORT_FAILURE_REASON]);
    assert_string_equal(f.a.f[ACCESS_LOG_DURATION], "7");
    assert_null(f.a.f[ACCESS_LOG_X_FORWARDED_FOR]);
    assert_int_equal(f.len[ACCESS_LOG_X_FORWARDED_FOR], 0);
    assert_string_equal(f.a.f[ACCESS_LOG_REQUEST_ID],
                        "019ff0b8-4cf2-424f-aa00-3962bfc6ef27");
    assert_int_equal(f.len[ACCESS_LOG_REQUEST_ID], 36);
    assert_string_equal(f.a.f[ACCESS_LOG_AUTHORITY], "counter.example.com");
    assert_string_equal(f.a.f[ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS],
                        "10.244.0.2:8080");
    assert_string_equal(f.a.f[ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS],
                        "198.51.100.16:34150");
    assert_null(f.a.f[ACCESS_LOG_REQUESTED_SERVER_NAME]);
    assert_string_equal(f.a.f[ACCESS_LOG_ROUTE_NAME], "default/counter http[0]");
    assert_int_equal(f.len[ACCESS_LOG_ROUTE_NAME], 23);
}

/* Lines just off the usual shape: the fast path leaves each to the exact
 * walk, which takes it (@why NULL) or finds it bad with @why. */
static void test_split_fast_leaves_the_unusual(void **state)
{
    static const struct {
        const char *line;
        const char *why; /* the exact walk's verdict, NULL: it splits */
    } cases[] = {
        /* Two blanks between fields; a blank inside the path or a value. */
        { "[t] \"GET / HTTP/1.1\"  200 - - - \"-\" 0 0 1 - \"-\" \"-\" \"-\" "
          "\"h\" \"-\" - - - - - r", NULL },
        { "[t] \"GET /a b HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r", NULL },
        { "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"a b\" "
          "\"-\" \"h\" \"-\" - - - - - r", NULL },
        /* A quote before a blank inside the request closes it early. */
        { "[t] \"GET\" / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "\"METHOD PATH PROTOCOL\" needs three parts" },
        { "[t] \"GET /\" HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "\"METHOD PATH PROTOCOL\" needs three parts" },
        /* An empty method: its blank right after the opening quote. */
        { "[t] \" / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" \"-\" "
          "\"h\" \"-\" - - - - - r", NULL },
        /* A lone quote cannot close itself. */
        { "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \" x\" "
          "\"-\" \"h\" \"-\" - - - - - r", NULL },
        /* A quote opening an unquoted field, none opening a quoted one. */
        { "[t] \"GET / HTTP/1.1\" \"200\" - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "field 5 (response_code) missing or malformed" },
        { "[t] \"GET / HTTP/1.1\" 200 - - - - 0 0 1 - \"-\" \"-\" \"-\" "
          "\"h\" \"-\" - - - - - r",
          "field 9 (upstream_transport_failure_reason) missing or malformed" },
        /* Not a number; a "-" with more after it. */
        { "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 1x 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "field 11 (bytes_sent) is not a number: '1x'" },
        { "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 -1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "field 12 (duration) is not a number: '-1'" },
        /* A non-digit in each place of a number of one to four bytes. */
        { "[t] \"GET / HTTP/1.1\" 20x - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "field 5 (response_code) is not a number: '20x'" },
        { "[t] \"GET / HTTP/1.1\" 2x0 - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "field 5 (response_code) is not a number: '2x0'" },
        { "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" x 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "field 10 (bytes_received) is not a number: 'x'" },
        { "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1/ - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "field 12 (duration) is not a number: '1/'" },
        { "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 123: 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "field 11 (bytes_sent) is not a number: '123:'" },
        /* No route name; a ']' inside the time; a blank inside it. */
        { "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - -",
          "no ROUTE_NAME at the end of the line" },
        { "[t]x] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "no quoted \"METHOD PATH PROTOCOL\" after the time" },
        { "[t x] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r", NULL },
        { "t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 0 1 - \"-\" \"-\" "
          "\"-\" \"h\" \"-\" - - - - - r",
          "does not start with [START_TIME]" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        Split2 y;
        split_by(cases[i].line, TRUE, &y);
        if (expect_fast_exact(cases[i].line, &y)) {
            fail_msg("the fast path took case %u: %s", i, cases[i].line);
        }
        assert_int_equal(y.ok, cases[i].why == NULL);
        assert_string_equal(y.why != NULL ? y.why : "(none)",
                            cases[i].why != NULL ? cases[i].why : "(none)");
        split2_clear(&y);
        Split2 x;
        split_both(cases[i].line, &x); /* and the fast split agrees */
        split2_clear(&x);
    }
    /* The same line without the oddity: taken, with numbers of one to
     * five digits. */
    const char *usual = "[t] \"GET / HTTP/1.1\" 200 - - - \"-\" 0 12 1 - "
                        "\"-\" \"-\" \"-\" \"h\" \"-\" - - - - - r";
    Split2 y;
    split_by(usual, TRUE, &y);
    assert_true(expect_fast_exact(usual, &y));
    assert_string_equal(y.s.a.f[ACCESS_LOG_BYTES_SENT], "12");
    split2_clear(&y);
    const char *longer = "[t] \"GET / HTTP/1.1\" 503 - - - \"-\" 1234 "
                         "98765 - - \"-\" \"-\" \"-\" \"h\" \"-\" - - - - - r";
    split_by(longer, TRUE, &y);
    assert_true(expect_fast_exact(longer, &y));
    assert_string_equal(y.s.a.f[ACCESS_LOG_BYTES_RECEIVED], "1234");
    assert_string_equal(y.s.a.f[ACCESS_LOG_BYTES_SENT], "98765");
    assert_null(y.s.a.f[ACCESS_LOG_DURATION]);
    split2_clear(&y);
}

/* Random lines, mostly of T-1's shape and broken at random: the scans
 * agree (split_both() checks every value and length). */
static void test_split_scans_agree(void **state)
{
    static const char alphabet[] = "  \"\"-[]09ax:./\r";
    GRand *rng = g_rand_new_with_seed(20261126);
    for (guint round = 0; round < 20000; round++) {
        g_autoptr(GString) line = g_string_new(round % 2 ? SAMPLE_HTTP
                                                         : SAMPLE_TCP);
        guint edits = g_rand_int_range(rng, 0, 6);
        for (guint e = 0; e < edits && line->len > 0; e++) {
            gsize at = (gsize)g_rand_int_range(rng, 0, (gint32)line->len);
            char c = alphabet[g_rand_int_range(rng, 0, sizeof alphabet - 1)];
            switch (g_rand_int_range(rng, 0, 4)) {
            case 0:
                line->str[at] = c;
                break;
            case 1:
                g_string_insert_c(line, (gssize)at, c);
                break;
            case 2:
                g_string_erase(line, (gssize)at, 1);
                break;
            default:
                g_string_truncate(line, at);
                break;
            }
        }
        Split2 x;
        split_both(line->str, &x);
        split2_clear(&x);
    }
    g_rand_free(rng);
}

static void test_text_writer_keeps_one_line(void **state)
{
    AccessLogFields a = { { NULL }, NULL };
    a.f[ACCESS_LOG_START_TIME] = (char *)"2024-01-01T00:00:00.000Z";
    a.f[ACCESS_LOG_USER_AGENT] = (char *)"evil\nagent";
    a.f[ACCESS_LOG_REQUESTED_SERVER_NAME] = (char *)"a b";
    a.f[ACCESS_LOG_UPSTREAM_CLUSTER] = (char *)"";
    g_autoptr(GString) line = g_string_new(NULL);
    access_log_append(line, ACCESS_LOG_TEXT, &a);
    assert_string_equal(
        line->str, "[2024-01-01T00:00:00.000Z] \"- - -\" - - - - \"-\" - - - "
                   "- \"-\" \"evil_agent\" \"-\" \"-\" \"-\" - - - - a_b -\n");
}

static void test_json_writer_exact(void **state)
{
    AccessLogFields a = { { NULL }, NULL };
    a.f[ACCESS_LOG_START_TIME] = (char *)"2024-01-01T00:00:00.250Z";
    a.f[ACCESS_LOG_METHOD] = (char *)"GET";
    a.f[ACCESS_LOG_PATH] = (char *)"/a\"b\\c";
    a.f[ACCESS_LOG_PROTOCOL] = (char *)"HTTP/1.1";
    a.f[ACCESS_LOG_RESPONSE_CODE] = (char *)"404";
    a.f[ACCESS_LOG_RESPONSE_FLAGS] = (char *)"NR";
    a.f[ACCESS_LOG_BYTES_RECEIVED] = (char *)"0";
    a.f[ACCESS_LOG_BYTES_SENT] = (char *)"007"; /* not a JSON number */
    a.f[ACCESS_LOG_DURATION] = (char *)"3";
    a.f[ACCESS_LOG_UPSTREAM_SERVICE_TIME] = (char *)"2";
    a.f[ACCESS_LOG_AUTHORITY] = (char *)"x.example.com";
    a.f[ACCESS_LOG_USER_AGENT] = (char *)"tab\there";
    a.f[ACCESS_LOG_ROUTE_NAME] = (char *)"r 1";
    g_autoptr(GString) line = g_string_new(NULL);
    access_log_append(line, ACCESS_LOG_JSON, &a);
    assert_string_equal(
        line->str,
        "{\"start_time\":\"2024-01-01T00:00:00.250Z\",\"route_name\":\"r 1\","
        "\"method\":\"GET\",\"path\":\"/a\\\"b\\\\c\",\"protocol\":"
        "\"HTTP/1.1\",\"response_code\":404,\"response_flags\":\"NR\","
        "\"response_code_details\":null,"
        "\"connection_termination_details\":null,\"bytes_received\":0,"
        "\"bytes_sent\":\"007\",\"duration\":3,\"upstream_service_time\":"
        "\"2\",\"x_forwarded_for\":null,\"user_agent\":\"tab\\there\","
        "\"request_id\":null,\"authority\":\"x.example.com\","
        "\"upstream_host\":null,\"upstream_cluster\":null,"
        "\"upstream_local_address\":null,\"downstream_local_address\":null,"
        "\"downstream_remote_address\":null,\"requested_server_name\":null,"
        "\"upstream_transport_failure_reason\":null}\n");
    /* Every T-2 key, and valid JSON. */
    g_autoptr(JsonParser) p = json_parser_new();
    assert_true(json_parser_load_from_data(p, line->str, -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    assert_int_equal(json_object_get_size(o), ACCESS_LOG_N_FIELDS);
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        assert_true(json_object_has_member(o, access_log_field_key(i)));
        assert_int_equal(access_log_field_by_key(access_log_field_key(i)), i);
    }
    assert_int_equal(access_log_field_by_key("nope"), -1);
}

static void test_format_names(void **state)
{
    AccessLogFormat f = ACCESS_LOG_JSON;
    assert_true(access_log_format_parse("text", &f));
    assert_int_equal(f, ACCESS_LOG_TEXT);
    assert_true(access_log_format_parse("json", &f));
    assert_int_equal(f, ACCESS_LOG_JSON);
    assert_false(access_log_format_parse("istio-json", &f));
    assert_false(access_log_format_parse(NULL, &f));
}

static void test_start_time_rendering(void **state)
{
    char buf[40];
    access_log_format_time(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    access_log_format_time(ACCESS_LOG_EPOCH_UNIX * 1000 + 123, buf, sizeof buf);
    assert_string_equal(buf, "2024-01-01T00:00:00.123Z");
    access_log_format_time(G_GINT64_CONSTANT(951782400000) + 86399999, buf,
                           sizeof buf);
    assert_string_equal(buf, "2000-02-29T23:59:59.999Z");
    /* Against GLib over many instants from 1970 to 2100. */
    guint64 x = 12345;
    for (guint i = 0; i < 2000; i++) {
        x = x * G_GUINT64_CONSTANT(6364136223846793005) + 1442695040888963407;
        gint64 ms = (gint64)(x >> 22) % G_GINT64_CONSTANT(4102444800000);
        access_log_format_time(ms, buf, sizeof buf);
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(ms / 1000);
        g_autofree char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
        g_autofree char *want =
            g_strdup_printf("%s.%03dZ", s, (int)(ms % 1000));
        assert_string_equal(buf, want);
    }
}

/* ---- the writer on a real run ------------------------------------------- */

typedef struct {
    AccessLog *al;    /* borrowed */
    GPtrArray *lines; /* char*: the fields of the first requests, as text */
} Capture;

static void capture(const Request *r, gpointer data)
{
    Capture *c = data;
    access_log_write(c->al, r);
    if (c->lines->len < 400) {
        AccessLogFields a;
        access_log_fields_for(c->al, r, &a);
        GString *s = g_string_new(NULL);
        access_log_append(s, ACCESS_LOG_TEXT, &a);
        g_ptr_array_add(c->lines, g_string_free(s, FALSE));
    }
}

static Scenario *article(SimTime duration)
{
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *path = g_build_filename(src != NULL ? src : ".",
                                             "scenarios", "article.yaml", NULL);
    GError *error = NULL;
    Scenario *s = scenario_load(path, &error);
    if (s == NULL) {
        fail_msg("%s", error->message);
    }
    s->duration = duration;
    for (guint i = 0; i < s->traffic->len; i++) {
        TrafficSpec *t = g_ptr_array_index(s->traffic, i);
        t->stop = duration;
    }
    return s;
}

/* Is @addr "ip:port" of a gateway pod? */
static gboolean is_gateway_address(const World *w, const char *addr, gint port)
{
    for (guint i = 0; i < w->n_pods; i++) {
        if (!w->pods[i].is_gateway) {
            continue;
        }
        g_autofree char *want =
            g_strdup_printf("%s:%d", w->pods[i].pod->ip, port);
        if (g_strcmp0(addr, want) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

/* Files in @dir (the writer's temporary has a name of its own). */
static guint files_in(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;
    while (d != NULL && g_dir_read_name(d) != NULL) {
        n++;
    }
    return n;
}

static void test_writer_on_the_article(void **state)
{
    g_autoptr(Scenario) s = article(SIM_S);
    GError *error = NULL;
    g_autoptr(Runner) run = runner_new(s, 1, &error);
    assert_non_null(run);
    World *w = runner_world(run);
    g_autofree char *dir = g_dir_make_tmp("accesslog-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "access.log", NULL);
    Capture c = { access_log_open(file, ACCESS_LOG_TEXT, w, &error),
                  g_ptr_array_new_with_free_func(g_free) };
    assert_non_null(c.al);
    path_set_done(runner_path(run), capture, &c);
    assert_true(runner_run(run, NULL, NULL));
    assert_int_equal(files_in(dir), 1); /* the temporary */
    assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
    guint64 n = access_log_n_lines(c.al);
    assert_int_equal(n, results_n_sent(w->results));
    assert_true(access_log_close(c.al, &error));
    assert_int_equal(files_in(dir), 1); /* renamed: only access.log */
    assert_true(g_file_test(file, G_FILE_TEST_EXISTS));

    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(file, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    assert_int_equal(g_strv_length(lines), n + 1); /* last one empty */
    guint http = 0, tcp = 0;
    for (guint i = 0; i < n; i++) {
        AccessLogFields a;
        g_autofree char *why = NULL;
        if (!access_log_parse_text(lines[i], &a, &why)) {
            fail_msg("line %u: %s: %s", i + 1, why, lines[i]);
        }
        assert_true(
            g_str_has_prefix(a.f[ACCESS_LOG_START_TIME], "2024-01-01T00:00:0"));
        if (a.f[ACCESS_LOG_METHOD] != NULL) {
            http++;
            assert_string_equal(a.f[ACCESS_LOG_METHOD], "GET");
            assert_string_equal(a.f[ACCESS_LOG_PATH], "/");
            assert_string_equal(a.f[ACCESS_LOG_PROTOCOL], "HTTP/1.1");
            assert_string_equal(a.f[ACCESS_LOG_RESPONSE_CODE], "200");
            assert_string_equal(a.f[ACCESS_LOG_RESPONSE_CODE_DETAILS],
                                "via_upstream");
            assert_string_equal(a.f[ACCESS_LOG_AUTHORITY],
                                "counter.example.com");
            assert_string_equal(a.f[ACCESS_LOG_ROUTE_NAME],
                                "default/counter http[0]");
            assert_string_equal(a.f[ACCESS_LOG_UPSTREAM_CLUSTER],
                                "outbound|80||counter.default.svc.cluster."
                                "local");
            assert_int_equal(strlen(a.f[ACCESS_LOG_REQUEST_ID]), 36);
            assert_non_null(a.f[ACCESS_LOG_UPSTREAM_SERVICE_TIME]);
            /* A gateway pod's own address and port (targetPort). */
            gboolean https = a.f[ACCESS_LOG_REQUESTED_SERVER_NAME] != NULL;
            assert_true(
                is_gateway_address(w, a.f[ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS],
                                   https ? 8443 : 8080));
            assert_true(
                g_str_has_suffix(a.f[ACCESS_LOG_UPSTREAM_HOST], ":8080"));
        } else {
            tcp++;
            assert_null(a.f[ACCESS_LOG_PATH]);
            assert_null(a.f[ACCESS_LOG_AUTHORITY]);
            assert_string_equal(a.f[ACCESS_LOG_RESPONSE_CODE], "0");
            assert_string_equal(a.f[ACCESS_LOG_UPSTREAM_CLUSTER],
                                "outbound|3306||mysql.default.svc.cluster."
                                "local");
            assert_true(is_gateway_address(
                w, a.f[ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS], 3306));
        }
        assert_true(g_str_has_prefix(a.f[ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS],
                                     "198.51.100."));
        access_log_fields_clear(&a);
    }
    assert_true(http > 100);
    assert_true(tcp > 5);
    /* The file holds exactly what the hook saw, in the same order. */
    for (guint i = 0; i < c.lines->len; i++) {
        g_autofree char *l = g_strconcat(lines[i], "\n", NULL);
        assert_string_equal(l, g_ptr_array_index(c.lines, i));
    }
    g_ptr_array_unref(c.lines);
    g_remove(file);
    g_rmdir(dir);
}

static void test_writer_same_seed_same_bytes(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("accesslog-XXXXXX", NULL);
    char *text[2] = { NULL, NULL };
    for (guint k = 0; k < 2; k++) {
        g_autoptr(Scenario) s = article(SIM_S / 2);
        GError *error = NULL;
        g_autoptr(Runner) run = runner_new(s, 7, &error);
        g_autofree char *file = g_strdup_printf("%s/a%u.json", dir, k);
        AccessLog *al =
            access_log_open(file, ACCESS_LOG_JSON, runner_world(run), &error);
        path_set_done(runner_path(run), access_log_on_done, al);
        assert_true(runner_run(run, NULL, NULL));
        assert_true(access_log_close(al, &error));
        assert_true(g_file_get_contents(file, &text[k], NULL, NULL));
        g_remove(file);
    }
    assert_true(strlen(text[0]) > 1000);
    assert_string_equal(text[0], text[1]);
    g_free(text[0]);
    g_free(text[1]);
    g_rmdir(dir);
}

static void test_writer_errors_and_discard(void **state)
{
    g_autoptr(Scenario) s = article(SIM_S / 10);
    GError *error = NULL;
    g_autoptr(Runner) run = runner_new(s, 1, &error);
    AccessLog *al = access_log_open("/nonexistent-dir/x/access.log",
                                    ACCESS_LOG_TEXT, runner_world(run), &error);
    assert_null(al);
    assert_true(error->domain == G_FILE_ERROR);
    assert_non_null(strstr(error->message, "/nonexistent-dir/x/access.log"));
    g_clear_error(&error);

    g_autofree char *dir = g_dir_make_tmp("accesslog-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "a.log", NULL);
    al = access_log_open(file, ACCESS_LOG_TEXT, runner_world(run), &error);
    assert_non_null(al);
    assert_int_equal(files_in(dir), 1); /* the temporary */
    access_log_discard(al);
    assert_int_equal(files_in(dir), 0);
    access_log_discard(NULL);
    /* A folder is no file to write: refused at once, nothing made. */
    g_autofree char *sub = g_build_filename(dir, "d", NULL);
    assert_int_equal(g_mkdir(sub, 0700), 0);
    al = access_log_open(sub, ACCESS_LOG_TEXT, runner_world(run), &error);
    assert_null(al);
    assert_non_null(strstr(error->message, "cannot create access log"));
    g_clear_error(&error);
    assert_int_equal(files_in(dir), 1); /* d itself */
    g_rmdir(sub);
    g_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_sample_fields),
        cmocka_unit_test(test_text_tcp_sample_is_mostly_unset),
        cmocka_unit_test(test_text_bad_shapes),
        cmocka_unit_test(test_text_quote_inside_value),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_split_fields_straddle_blocks),
        cmocka_unit_test(test_split_every_prefix),
        cmocka_unit_test(test_split_quote_inside_quotes),
        cmocka_unit_test(test_split_blank_runs_and_trailing),
        cmocka_unit_test(test_split_numbers),
        cmocka_unit_test(test_split_long_lines),
        cmocka_unit_test(test_split_fast_takes_usual_lines),
        cmocka_unit_test(test_split_fast_leaves_the_unusual),
        cmocka_unit_test(test_split_scans_agree),
        cmocka_unit_test(test_text_writer_keeps_one_line),
        cmocka_unit_test(test_json_writer_exact),
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_start_time_rendering),
        cmocka_unit_test(test_writer_on_the_article),
        cmocka_unit_test(test_writer_same_seed_same_bytes),
        cmocka_unit_test(test_writer_errors_and_discard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
