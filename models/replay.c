/* replay.c: replayed traces (step 1): parsers for Istio TEXT/JSON access logs
 * and CSV, and T-4 field resolution. The reader that turns lines into
 * arrivals is models/replay-reader.c. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "models/accesslog.h"
#include "models/host.h"
#include "models/ipv4.h"
#include "models/replay-private.h"

gboolean replay_format_parse(const char *name, ReplayFormat *out)
{
    g_return_val_if_fail(out != NULL, FALSE);
    if (g_strcmp0(name, "istio-json") == 0) {
        *out = REPLAY_ISTIO_JSON;
    } else if (g_strcmp0(name, "istio-text") == 0) {
        *out = REPLAY_ISTIO_TEXT;
    } else if (g_strcmp0(name, "csv") == 0) {
        *out = REPLAY_CSV;
    } else {
        return FALSE;
    }
    return TRUE;
}

void replay_record_clear(ReplayRecord *rec)
{
    g_clear_pointer(&rec->method, g_free);
    g_clear_pointer(&rec->host, g_free);
    g_clear_pointer(&rec->authority, g_free);
    g_clear_pointer(&rec->path, g_free);
    g_clear_pointer(&rec->sni, g_free);
    g_clear_pointer(&rec->headers, kv_list_free);
    memset(rec, 0, sizeof *rec);
}

/* ---- times --------------------------------------------------------------- */

gboolean replay_parse_time(const char *text, gint64 *out_ns)
{
    if (text == NULL || *text == '\0') {
        return FALSE;
    }
    gboolean digits = TRUE;
    for (const char *p = text; *p != '\0'; p++) {
        digits = digits && g_ascii_isdigit(*p);
    }
    if (digits) {
        /* Epoch milliseconds; 18 digits is already far past year 9999. */
        guint64 ms = 0;
        if (strlen(text) > 15 ||
            !g_ascii_string_to_unsigned(text, 10, 0, G_MAXINT64 / 1000000, &ms,
                                        NULL)) {
            return FALSE;
        }
        *out_ns = (gint64)ms * 1000000;
        return TRUE;
    }
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(text, utc);
    if (dt == NULL) {
        return FALSE;
    }
    gint64 us = g_date_time_to_unix(dt) * G_USEC_PER_SEC +
                g_date_time_get_microsecond(dt);
    /* ns since 1970 fit in 64 bits for years 1678..2262 only. */
    if (us > G_MAXINT64 / 1000 || us < G_MININT64 / 1000) {
        return FALSE;
    }
    *out_ns = us * 1000;
    return TRUE;
}

/* ---- the parser and the port map ----------------------------------------- */

/* Addresses the port memo keeps, and their longest text: a log names the
 * same few gateway pods or nodes on every line. */
#define PORT_MEMO_N 8
#define PORT_MEMO_LEN 48
/* Sets of the memo of client quads: 512. */
#define CLIENT_MEMO_BITS 9
#define CLIENT_MEMO_SETS (1u << CLIENT_MEMO_BITS)

/* One client quad remembered (ReplayParser.quads). */
typedef struct {
    guint64 k0, k1; /* its bytes, NULs past its end */
    guint32 addr;   /* client_addr for it */
    guint8 len;     /* its bytes, 0: unused */
    guint8 ok;      /* TRUE: a quad as skip_quad() takes one (a byte:
                     * 24 bytes an entry, 24 KiB a parser) */
} QuadMemo;

/* "2024-01-01T00:00:": what lines of the same minute share. */
#define TIME_PREFIX_LEN 17
/* "2024-01-01T00:00:00.": what lines of the same second share. */
#define SECOND_PREFIX_LEN 20

struct _ReplayParser {
    ReplayFormat fmt;         /* what the lines are */
    const Scenario *s;        /* nullable, borrowed: the port map */
    const K8sService *gw_svc; /* the gateway Service, nullable */
    GPtrArray *gw_pods;       /* const K8sPod*: gateway pods (container) */
    JsonParser *json;         /* reused for every JSON line */
    /* Memos (a log repeats itself), pure functions of the text. */
    char time_prefix[TIME_PREFIX_LEN]; /* of the last %START_TIME% that
                                        * glib parsed; zeros: none */
    gint64 time_base;         /* that minute's ns since the epoch */
    guint64 second_key[3];    /* the first SECOND_PREFIX_LEN bytes of a
                               * %START_TIME% of that minute (load64()
                               * words, the last of four bytes); zeros:
                               * none */
    gint64 second_base;       /* that second's ns since the epoch */
    struct {
        char addr[PORT_MEMO_LEN]; /* "ip:port", NUL-terminated */
        gsize len;                /* its bytes */
        gint lb_port;             /* replay_parser_lb_port() of it */
    } ports[PORT_MEMO_N];
    guint n_ports;            /* entries in use */
    guint next_port;          /* the entry the next new address replaces */
    guint8 port_hints[64];    /* the entry an address was last found in,
                               * by a hash of it (a wrong hint costs the
                               * walk, no more) */
    /* Dotted quads of client addresses, two ways a set by a hash of
     * their bytes: a log's clients come back (a miss costs a parse, as
     * without the memo). A new quad takes way 0, whose quad moves to 1. */
    QuadMemo quads[CLIENT_MEMO_SETS][2];
    /* What the current line's ReplayView borrows. */
    AccessLogFields json_fields;  /* a JSON line's values (owned) */
    ReplayRecord csv;             /* a CSV line, resolved */
    const char *hdr_names[3];     /* an Istio line's headers */
    const char *hdr_values[3];
    gsize hdr_name_lens[3];       /* their bytes */
    gsize hdr_value_lens[3];
    GArray *lens;                 /* gsize: a CSV view's header lengths,
                                   * values then names */
};

ReplayParser *replay_parser_new(const Scenario *s, ReplayFormat fmt)
{
    ReplayParser *p = g_new0(ReplayParser, 1);
    p->fmt = fmt;
    p->s = s;
    if (s != NULL && s->cluster != NULL) {
        p->gw_svc = cluster_gateway_service(s->cluster);
        p->gw_pods = cluster_gateway_pods(s->cluster);
    } else {
        p->gw_pods = g_ptr_array_new();
    }
    if (fmt == REPLAY_ISTIO_JSON) {
        p->json = json_parser_new_immutable();
    }
    p->lens = g_array_new(FALSE, FALSE, sizeof(gsize));
    return p;
}

void replay_parser_free(ReplayParser *p)
{
    if (p == NULL) {
        return;
    }
    g_ptr_array_unref(p->gw_pods);
    g_clear_object(&p->json);
    access_log_fields_clear(&p->json_fields);
    replay_record_clear(&p->csv);
    g_array_unref(p->lens);
    g_free(p);
}

/* Eight bytes at @p as a number, the first byte lowest. */
static inline guint64 load64(const char *p)
{
    guint64 x;
    memcpy(&x, p, sizeof x);
    return GUINT64_FROM_LE(x);
}

/* Four bytes at @p as a number, the first byte lowest. */
static inline guint32 load32(const char *p)
{
    guint32 x;
    memcpy(&x, p, sizeof x);
    return GUINT32_FROM_LE(x);
}

/* g_ascii_isdigit(@c) in one compare (unsigned), without its table. */
static inline gboolean is_digit(char c)
{
    return (guint)(guchar)c - '0' <= 9;
}

/* A port as g_ascii_string_to_unsigned(@text, 10, 1, 65535) reads it
 * (decimal digits only, leading zeros allowed, no sign or blank), at a
 * tenth of its cost: every line has two addresses. */
static gboolean parse_port(const char *text, gint *port)
{
    guint v = 0;
    if (*text == '\0') {
        return FALSE;
    }
    for (const char *c = text; *c != '\0'; c++) {
        if (!is_digit(*c)) {
            return FALSE;
        }
        v = v * 10 + (guint)(*c - '0');
        if (v > 65535) {
            return FALSE;
        }
    }
    *port = (gint)v;
    return v >= 1;
}

/* Would parse_port() take the @n bytes at @text (NUL-ended)? The same
 * test with the length known: digits, at least one, and 1..65535; up to
 * nine digits cannot overflow before the last compare. */
static inline gboolean is_port(const char *text, gsize n)
{
    if (n == 0 || n > 9) {
        gint port;
        return parse_port(text, &port);
    }
    guint v = 0;
    for (gsize i = 0; i < n; i++) {
        if (!is_digit(text[i])) {
            return FALSE;
        }
        v = v * 10 + (guint)(text[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

/* "ip:port" / "[v6]:port" into its parts. FALSE: no port. */
static gboolean
split_address(const char *addr, char *ip, gsize ip_len, gint *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr) {
        return FALSE;
    }
    gint v = 0;
    if (!parse_port(colon + 1, &v)) {
        return FALSE;
    }
    const char *s = addr;
    gsize n = (gsize)(colon - addr);
    if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
        s++;
        n -= 2;
    } else if (memchr(s, ':', n) != NULL) {
        return FALSE; /* a bare IPv6 address has no port */
    }
    gsize k = MIN(ip_len - 1, n);
    memcpy(ip, s, k);
    ip[k] = '\0';
    *port = v;
    return TRUE;
}

/* The LB listener forwarding to @node_port, or -1. */
static gint listener_for_node_port(const ReplayParser *p, gint node_port)
{
    const GArray *ls = p->s->lb.listeners;
    for (guint i = 0; ls != NULL && i < ls->len; i++) {
        const LbListener *l = &g_array_index(ls, LbListener, i);
        if (l->node_port == node_port) {
            return l->port;
        }
    }
    return -1;
}

/* The gateway pods' port behind Service port @sp (numeric or named). */
static gint service_target_port(const ReplayParser *p, const K8sServicePort *sp)
{
    /* The first gateway pod that names the port decides. */
    for (guint i = 0; sp->target_port == 0 && sp->target_port_name != NULL &&
                      i < p->gw_pods->len;
         i++) {
        const K8sPod *pod = g_ptr_array_index(p->gw_pods, i);
        if (k8s_pod_named_port(pod, sp->target_port_name) > 0) {
            return k8s_service_port_target(sp, pod);
        }
    }
    return k8s_service_port_target(sp, NULL);
}

/* Service port @sp back to the LB: the listener on its nodePort, else the
 * Service port itself (a LoadBalancer Service's own port). */
static gint lb_port_of_service_port(const ReplayParser *p,
                                    const K8sServicePort *sp)
{
    gint lp = sp->node_port > 0 ? listener_for_node_port(p, sp->node_port) : -1;
    return lp > 0 ? lp : sp->port;
}

typedef enum {
    PORT_IS_TARGET,    /* a gateway pod's port (what Envoy logs) */
    PORT_IS_NODE_PORT, /* a node's port (request ended at the node) */
    PORT_IS_UNKNOWN,   /* an address we do not know: try every reading */
} PortKind;

static gint map_port(const ReplayParser *p, PortKind kind, gint port)
{
    const GArray *sps = p->gw_svc != NULL ? p->gw_svc->ports : NULL;
    if (kind != PORT_IS_TARGET) {
        gint lp = listener_for_node_port(p, port);
        if (lp > 0) {
            return lp;
        }
        for (guint i = 0; sps != NULL && i < sps->len; i++) {
            const K8sServicePort *sp = &g_array_index(sps, K8sServicePort, i);
            if (sp->node_port == port) {
                return sp->port;
            }
        }
    }
    if (kind != PORT_IS_NODE_PORT) {
        for (guint i = 0; sps != NULL && i < sps->len; i++) {
            const K8sServicePort *sp = &g_array_index(sps, K8sServicePort, i);
            if (service_target_port(p, sp) == port) {
                return lb_port_of_service_port(p, sp);
            }
        }
    }
    return port;
}

gint replay_parser_lb_port(const ReplayParser *p, const char *address)
{
    char ip[64];
    gint port = 0;
    if (address == NULL || !split_address(address, ip, sizeof ip, &port)) {
        return -1;
    }
    if (p->s == NULL || p->s->cluster == NULL) {
        return port;
    }
    if (strcmp(ip, ACCESS_LOG_LB_ADDRESS) == 0) {
        return port; /* the load balancer itself (our own logs) */
    }
    const GPtrArray *nodes = p->s->cluster->nodes;
    for (guint i = 0; nodes != NULL && i < nodes->len; i++) {
        const K8sNode *n = g_ptr_array_index(nodes, i);
        if (g_strcmp0(n->ip, ip) == 0) {
            return map_port(p, PORT_IS_NODE_PORT, port);
        }
    }
    for (guint i = 0; i < p->gw_pods->len; i++) {
        const K8sPod *pod = g_ptr_array_index(p->gw_pods, i);
        if (g_strcmp0(pod->ip, ip) == 0) {
            return map_port(p, PORT_IS_TARGET, port);
        }
    }
    /* A log from elsewhere: a listener's nodePort, a Service nodePort, a
     * gateway targetPort, in that order; else the port as it is. */
    return map_port(p, PORT_IS_UNKNOWN, port);
}

/* Are the @n bytes at @a and @b the same? Two loads a side for 8 to 16
 * bytes ("10.244.0.2:8080" has 15), the most common address length;
 * memcmp() otherwise. (Inlined always: the PGO build called it.) */
G_ALWAYS_INLINE static inline gboolean
same_bytes(const char *a, const char *b, gsize n)
{
    if (n >= 8 && n <= 16) {
        guint64 a0, a1, b0, b1;
        memcpy(&a0, a, 8);
        memcpy(&b0, b, 8);
        memcpy(&a1, a + n - 8, 8);
        memcpy(&b1, b + n - 8, 8);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    return memcmp(a, b, n) == 0;
}

/* Is port memo entry @i that of @address (@n bytes)? (Inlined always:
 * the PGO build kept a call to it for the hint's one compare.) */
G_ALWAYS_INLINE static inline gboolean
port_memo_is(const ReplayParser *p, guint i, const char *address, gsize n)
{
    return p->ports[i].len == n && same_bytes(p->ports[i].addr, address, n);
}

/* replay_parser_lb_port() of @address (@n bytes, NUL-ended), remembered
 * for the last few addresses: the lookup walks nodes, pods and Service
 * ports (a few hundred instructions a line otherwise). The entry found
 * last for an address of this hash (of the words same_bytes() compares)
 * is tried first: one compare, where the walk took a few. */
static gint lb_port_memo(ReplayParser *p, const char *address, gsize n)
{
    if (address == NULL || n >= PORT_MEMO_LEN || n == 0) {
        return replay_parser_lb_port(p, address);
    }
    guint64 h = n;
    if (n >= 8 && n <= 16) {
        h = (load64(address) ^ load64(address + n - 8)) *
            G_GUINT64_CONSTANT(0x9e3779b97f4a7c15) >> 58;
    }
    guint8 *hint = &p->port_hints[h % G_N_ELEMENTS(p->port_hints)];
    if (*hint < p->n_ports && port_memo_is(p, *hint, address, n)) {
        return p->ports[*hint].lb_port;
    }
    for (guint i = 0; i < p->n_ports; i++) {
        if (port_memo_is(p, i, address, n)) {
            *hint = (guint8)i;
            return p->ports[i].lb_port;
        }
    }
    guint slot = p->n_ports < PORT_MEMO_N ? p->n_ports++
                                          : p->next_port++ % PORT_MEMO_N;
    memcpy(p->ports[slot].addr, address, n + 1);
    p->ports[slot].len = n;
    p->ports[slot].lb_port = replay_parser_lb_port(p, address);
    *hint = (guint8)slot;
    return p->ports[slot].lb_port;
}

/* Does @t have the shape of %START_TIME%'s default from byte @from on
 * ("YYYY-MM-DDTHH:MM:SS.mmmZ"), with seconds below 60? Then *@ms is SS.mmm
 * in milliseconds. */
static gboolean envoy_time_shape(const char *t, guint from, gint64 *ms)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (guint i = from; i < sizeof shape - 1; i++) {
        gboolean ok = shape[i] == 'd' ? g_ascii_isdigit(t[i]) : t[i] == shape[i];
        if (!ok) {
            return FALSE; /* also at a NUL: no shape character is one */
        }
    }
    if (t[sizeof shape - 1] != '\0') {
        return FALSE;
    }
    *ms = ((t[17] - '0') * 10 + (t[18] - '0')) * 1000 + (t[20] - '0') * 100 +
          (t[21] - '0') * 10 + (t[22] - '0');
    return *ms < 60000;
}

/* envoy_time_shape(@t, TIME_PREFIX_LEN, @ms) for a @t of 24 bytes (and
 * its NUL): the eight bytes "SS.mmmZ\0" at byte 17 as one word. Each byte
 * xor its expected one ('0' for a digit) is zero, or at most 9 for a
 * digit: + 0x76 sets bit 7 of a byte above 9 (bit 7 of the byte itself
 * too is tested), with no carry from one byte into the next. */
static inline gboolean envoy_seconds(const char *t, gint64 *ms)
{
    const guint64 want = G_GUINT64_CONSTANT(0x005a3030302e3030);
    const guint64 other = G_GUINT64_CONSTANT(0xffff000000ff0000);
    const guint64 digit7 = G_GUINT64_CONSTANT(0x00007f7f7f007f7f);
    const guint64 digit8 = G_GUINT64_CONSTANT(0x0000808080008080);
    const guint64 low7 = G_GUINT64_CONSTANT(0x7676767676767676);
    guint64 x;
    memcpy(&x, t + TIME_PREFIX_LEN, sizeof x);
    x = GUINT64_FROM_LE(x) ^ want;
    if ((x & other) != 0 || ((((x & digit7) + low7) | x) & digit8) != 0) {
        return FALSE;
    }
    guint b0 = (guint)(x & 0xff), b1 = (guint)(x >> 8 & 0xff);
    guint b3 = (guint)(x >> 24 & 0xff), b4 = (guint)(x >> 32 & 0xff);
    guint b5 = (guint)(x >> 40 & 0xff);
    *ms = (gint64)((b0 * 10 + b1) * 1000 + b3 * 100 + b4 * 10 + b5);
    return *ms < 60000;
}

/* envoy_time_shape(@t, SECOND_PREFIX_LEN, @ms) for a @t of 24 bytes:
 * "mmmZ" at byte 20 as one word (the NUL after it is the caller's
 * business: a field of 24 bytes ends there). *@ms is the milliseconds
 * alone. See envoy_seconds() for the digit test. */
static inline gboolean envoy_millis(const char *t, gint64 *ms)
{
    guint32 x = load32(t + SECOND_PREFIX_LEN) ^ 0x5a303030u; /* "000Z" */
    if ((x & 0xff000000u) != 0 ||
        ((((x & 0x7f7f7fu) + 0x767676u) | x) & 0x808080u) != 0) {
        return FALSE;
    }
    *ms = (gint64)((x & 0xff) * 100 + (x >> 8 & 0xff) * 10 + (x >> 16 & 0xff));
    return TRUE;
}

/* replay_parse_time() of @text (@n bytes, NUL-ended), with the minute and
 * the second remembered: lines of one minute differ in their seconds
 * only, of one second (most lines, at a thousand a second or more) in
 * their milliseconds only, and glib's parse (a GDateTime a line) costs
 * more than the rest of the line.
 * Exact: for a given minute glib's result is that minute plus the
 * milliseconds (tests/test-replay.c checks it for every millisecond of a
 * minute). */
static gboolean
parse_time_memo(ReplayParser *p, const char *text, gsize n, gint64 *ns)
{
    gint64 ms = 0;
    if (n != sizeof "YYYY-MM-DDTHH:MM:SS.mmmZ" - 1) {
        return replay_parse_time(text, ns);
    }
    /* The remembered second: check the milliseconds only. */
    guint64 key[3] = { load64(text), load64(text + 8), load32(text + 16) };
    if (((key[0] ^ p->second_key[0]) | (key[1] ^ p->second_key[1]) |
         (key[2] ^ p->second_key[2])) == 0 &&
        envoy_millis(text, &ms)) {
        *ns = p->second_base + ms * 1000000;
        return TRUE;
    }
    /* The remembered minute: check the seconds only. */
    if (memcmp(text, p->time_prefix, TIME_PREFIX_LEN) != 0 ||
        !envoy_seconds(text, &ms)) {
        if (!envoy_time_shape(text, 0, &ms)) {
            return replay_parse_time(text, ns);
        }
        if (!replay_parse_time(text, ns)) {
            return FALSE;
        }
        memcpy(p->time_prefix, text, TIME_PREFIX_LEN);
        p->time_base = *ns - ms * 1000000;
    }
    *ns = p->time_base + ms * 1000000;
    memcpy(p->second_key, key, sizeof key);
    p->second_base = *ns - ms % 1000 * 1000000;
    return TRUE;
}

/* ---- T-4 resolution ------------------------------------------------------ */

/* "-" and "" are absent (T-4 rules). */
static const char *present(const char *v)
{
    return v != NULL && *v != '\0' && strcmp(v, "-") != 0 ? v : NULL;
}

/* A line's fields with their bytes, what resolve() reads: lens[f] is 0
 * exactly when field f is absent as present() says ("-", "" or unset).
 * The TEXT splitter's lengths are that already (it leaves no "-"). */
typedef struct {
    const AccessLogFields *a; /* the values */
    const gsize *lens;        /* and their bytes, 0: absent */
} Fields;

/* Field @f's value as it lies, and its bytes into *@len: 0 when absent
 * (as present() says), and then the value is not one (NULL, "" or "-"):
 * callers test the length, which is one load where present() needed two
 * and a select. */
G_ALWAYS_INLINE static inline const char *
field_at(const Fields *fs, AccessLogField f, gsize *len)
{
    *len = fs->lens[f];
    return fs->a->f[f];
}

/* field_at() of one of the ACCESS_LOG_REQUEST_FIELDS, the only ones a
 * TEXT line sets: checked when compiled, as @f is a constant. (A g_assert
 * there kept the PGO+LTO build from inlining it: a call a field.) */
#define field(fs, f, len)                                                    \
    (G_STATIC_ASSERT_EXPR((ACCESS_LOG_REQUEST_FIELDS & 1u << (f)) != 0),     \
     field_at((fs), (f), (len)))

/* Moves *@s past a dotted quad (four parts of 1-3 digits, each <= 255)
 * and returns TRUE, or returns FALSE. */
static gboolean skip_quad(const char **s)
{
    const char *p = *s;
    for (guint part = 0; part < 4; part++) {
        guint v = 0, digits = 0;
        while (g_ascii_isdigit(*p) && digits < 4) {
            v = v * 10 + (guint)(*p++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255) {
            return FALSE;
        }
        if (part < 3 && *p++ != '.') {
            return FALSE;
        }
    }
    *s = p;
    return TRUE;
}

/* A dotted-quad IPv4 address (what the load balancer and kube-proxy
 * models take as a source address). */
static gboolean is_ipv4(const char *s)
{
    return skip_quad(&s) && *s == '\0';
}

/* One part of a dotted quad at @s as skip_quad() takes it (1-3 digits,
 * <= 255), appended to *@addr; *@lead0 is set when it has a leading zero.
 * Returns the byte after it, or NULL. The digits are read one by one, so
 * nothing past the string's NUL. */
static inline const char *
quad_part(const char *s, guint32 *addr, gboolean *lead0)
{
    guint d0 = (guint)(guchar)s[0] - '0';
    if (d0 > 9) {
        return NULL;
    }
    guint d1 = (guint)(guchar)s[1] - '0';
    if (d1 > 9) {
        *addr = *addr << 8 | d0;
        return s + 1;
    }
    *lead0 = *lead0 || d0 == 0;
    guint d2 = (guint)(guchar)s[2] - '0';
    if (d2 > 9) {
        *addr = *addr << 8 | (d0 * 10 + d1);
        return s + 2;
    }
    guint val = d0 * 100 + d1 * 10 + d2;
    if (val > 255 || is_digit(s[3])) {
        return NULL;
    }
    *addr = *addr << 8 | val;
    return s + 3;
}

/* The dotted quad at @s as skip_quad() takes it (1-3 digits a part,
 * each <= 255): returns the byte after it, or NULL. *@addr is the
 * address as ipv4_parse() reads the quad, or 0 when a part has a leading
 * zero (which ipv4_parse() refuses) or there is no quad. */
static const char *quad_parse(const char *s, guint32 *addr)
{
    guint32 a = 0;
    gboolean lead0 = FALSE;
    *addr = 0;
    for (guint part = 0; part < 4; part++) {
        s = quad_part(s, &a, &lead0);
        if (s == NULL || (part < 3 && *s++ != '.')) {
            return NULL;
        }
    }
    *addr = lead0 ? 0 : a;
    return s;
}

/* The low @n bytes (0..8) of @x, the others zero. */
static inline guint64 low_bytes(guint64 x, gsize n)
{
    return n >= 8 ? x : x & ((G_GUINT64_CONSTANT(1) << (8 * n)) - 1);
}

/* is_port() of the last @len bytes (1..7) of the eight bytes of @tail
 * (load64()), in a few word operations instead of a multiply and two
 * compares a digit. Each byte xor '0' is at most 9 for a digit: + 0x76
 * sets bit 7 of a byte above 9 (see envoy_seconds()). Digits, with '0's
 * before them to eight, compare as their value does when read first byte
 * highest (a byte swap of load64()'s reading, on any host): 1..65535 is
 * "00000001".."00065535". */
static inline gboolean is_port_tail(guint64 tail, gsize len)
{
    const guint64 zeros = G_GUINT64_CONSTANT(0x3030303030303030);
    const guint64 low7 = G_GUINT64_CONSTANT(0x7f7f7f7f7f7f7f7f);
    const guint64 over9 = G_GUINT64_CONSTANT(0x7676767676767676);
    const guint64 high = G_GUINT64_CONSTANT(0x8080808080808080);
    guint64 keep = ~G_GUINT64_CONSTANT(0) << (8 * (8 - len));
    guint64 d = tail ^ zeros;
    if (((((d & low7) + over9) | d) & high & keep) != 0) {
        return FALSE;
    }
    guint64 be = GUINT64_SWAP_LE_BE((tail & keep) | (zeros & ~keep));
    return be > GUINT64_SWAP_LE_BE(zeros) &&
           be <= GUINT64_SWAP_LE_BE(G_GUINT64_CONSTANT(0x3533353536303030));
}

/* The bytes after the last ':' of the eight bytes of @tail (load64()):
 * 0..7, or 8 when there is none. The test flags exactly the bytes that
 * are ':' (no carry crosses a byte: each adds at most 0x7f to 0x7f). */
static inline gsize after_last_colon(guint64 tail)
{
    const guint64 colons = G_GUINT64_CONSTANT(0x3a3a3a3a3a3a3a3a);
    const guint64 low7 = G_GUINT64_CONSTANT(0x7f7f7f7f7f7f7f7f);
    guint64 t = tail ^ colons;
    guint64 z = ~(((t & low7) + low7) | t | low7);
    return z == 0 ? 8 : 7 - (63 - (gsize)__builtin_clzll(z)) / 8;
}

/* The quad @remote[0, @len) (7..15 bytes, a byte after it) as
 * quad_parse() takes it, ending right there: from the memo or parsed
 * into it, keyed on its bytes. FALSE: not a quad. */
static gboolean
quad_memo(ReplayParser *p, const char *remote, gsize len, guint32 *addr)
{
    guint64 k0 = low_bytes(load64(remote), len);
    /* Bytes 8..len-1, from the eight that end at len. */
    guint64 k1 = len > 8 ? load64(remote + len - 8) >> (8 * (16 - len)) : 0;
    guint64 h = (k0 ^ k1 * 31) * G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
    /* The top bits of the product: each depends on every bit of k0, k1. */
    QuadMemo *set = p->quads[h >> (64 - CLIENT_MEMO_BITS)];
    for (guint way = 0; way < 2; way++) {
        if (set[way].len == len && set[way].k0 == k0 && set[way].k1 == k1) {
            *addr = set[way].addr;
            return set[way].ok;
        }
    }
    set[1] = set[0];
    set[0].ok = quad_parse(remote, &set[0].addr) == remote + len;
    set[0].k0 = k0;
    set[0].k1 = k1;
    set[0].len = (guint8)len;
    *addr = set[0].addr;
    return set[0].ok;
}

/* The client of "a.b.c.d:port" (a dotted quad, then a port as
 * split_address() takes one) into @v: what split_address() and is_ipv4()
 * make of it, and the address as ipv4_parse() reads the quad: skip_quad()'s
 * rules (1-3 digits a part, each <= 255); a part with a leading zero,
 * which ipv4_parse() refuses, gives address 0. The port is the digits
 * after the last ':' (up to seven: the word that ends the address), the
 * quad all before it; its reading comes from the memo. FALSE: not of
 * that form (the caller takes the long way, which also covers every
 * other form). */
static gboolean
client_of_remote(ReplayParser *p, const char *remote, gsize n, ReplayView *v)
{
    if (n < 9) {
        return FALSE; /* "a.b.c.d:p" has nine */
    }
    guint64 tail = load64(remote + n - 8);
    gsize port = after_last_colon(tail); /* of up to 7 digits */
    gsize len = n - port - 1;            /* the quad's, if port < 8 */
    guint32 addr = 0;
    if (port == 0 || port == 8 || len < 7 || len > 15 ||
        !is_port_tail(tail, port) || !quad_memo(p, remote, len, &addr)) {
        return FALSE;
    }
    /* 7 to 15 bytes: two overlapping copies, not a call to memcpy(). */
    if (len >= 8) {
        memcpy(v->client_ip, remote, 8);
        memcpy(v->client_ip + len - 8, remote + len - 8, 8);
    } else {
        memcpy(v->client_ip, remote, 4);
        memcpy(v->client_ip + len - 4, remote + len - 4, 4);
    }
    v->client_ip[len] = '\0';
    v->client_addr = addr;
    return TRUE;
}

/* The first entry of an X-Forwarded-For list, trimmed, into @ip. */
static gboolean first_xff(const char *xff, char *ip, gsize len)
{
    while (*xff == ' ') {
        xff++;
    }
    gsize n = strcspn(xff, ", ");
    if (n == 0 || n >= len) {
        return FALSE;
    }
    memcpy(ip, xff, n);
    ip[n] = '\0';
    return TRUE;
}

static void add_header(ReplayRecord *rec, const char *name, const char *value)
{
    if (value == NULL) {
        return;
    }
    if (rec->headers == NULL) {
        rec->headers = kv_list_new();
    }
    kv_list_set(rec->headers, name, value);
}

/* An Istio line's header as the @n-th of the view, if it has a value
 * (@len not 0): names are fixed and distinct (@name a string literal),
 * values borrowed (@len bytes). Returns the headers then. */
#define view_header(p, n, name, value, len)                                 \
    view_header_n((p), (n), "" name, sizeof(name) - 1, (value), (len))
static inline guint view_header_n(ReplayParser *p,
                                  guint n,
                                  const char *name,
                                  gsize name_len,
                                  const char *value,
                                  gsize len)
{
    if (len == 0) {
        return n;
    }
    p->hdr_names[n] = name;
    p->hdr_name_lens[n] = name_len;
    p->hdr_values[n] = value;
    p->hdr_value_lens[n] = len;
    return n + 1;
}

/* The bytes of @authority's host (host_authority_len()) for @n bytes,
 * NUL-ended: without a colon, all of them. */
static inline gsize authority_host_len(const char *authority, gsize n)
{
    return memchr(authority, ':', n) == NULL ? n
                                             : host_authority_len(authority);
}

/* Is @proto (@n bytes) "TCP" in any case (g_ascii_strcasecmp())? */
static inline gboolean is_tcp(const char *proto, gsize n)
{
    return n == 3 && (proto[0] | 0x20) == 't' && (proto[1] | 0x20) == 'c' &&
           (proto[2] | 0x20) == 'p';
}

/* The line's time into @v. FALSE with @why when it has none or one no
 * parser takes. */
static inline gboolean
resolve_time(ReplayParser *p, const Fields *fs, ReplayView *v, char **why)
{
    gsize len;
    const char *start = field(fs, ACCESS_LOG_START_TIME, &len);
    if (len == 0) {
        *why = g_strdup("no start time");
        return FALSE;
    }
    if (!parse_time_memo(p, start, len, &v->t_ns)) {
        *why = g_strdup_printf("start time '%s' is neither RFC 3339 nor "
                               "epoch milliseconds",
                               start);
        return FALSE;
    }
    return TRUE;
}

/* Is the line a TCP one: its protocol "TCP", or no request at all? */
static inline gboolean resolve_tcp(const Fields *fs)
{
    gsize proto_len, method_len, path_len;
    const char *proto = field(fs, ACCESS_LOG_PROTOCOL, &proto_len);
    if (proto_len != 0) {
        return is_tcp(proto, proto_len);
    }
    field(fs, ACCESS_LOG_METHOD, &method_len);
    field(fs, ACCESS_LOG_PATH, &path_len);
    return method_len == 0 && path_len == 0;
}

/* The load balancer port into @v: @port (a T-4 compact "port"), else
 * the one behind the local address, else the scheme's. */
static inline void
resolve_port(ReplayParser *p, const Fields *fs, gint port, ReplayView *v)
{
    gsize local_len;
    if (port <= 0) {
        const char *local =
            field(fs, ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS, &local_len);
        port = lb_port_memo(p, local_len != 0 ? local : NULL, local_len);
    }
    if (port <= 0) {
        port = v->sni != NULL ? 443 : 80;
    }
    v->lb_port = port;
}

/* Scheme, method, authority, host and path into @v (v->sni and
 * v->lb_port set). FALSE with @why: an HTTP line without one of them. */
static inline gboolean
resolve_request(const Fields *fs, gboolean tcp, ReplayView *v, char **why)
{
    if (tcp) {
        v->scheme = v->sni != NULL ? URL_TLS : URL_TCP;
        v->method = "";
        v->method_len = 0;
        v->authority = "";
        v->authority_len = 0;
        v->host = v->sni != NULL ? v->sni : "";
        v->host_len = v->sni_len;
        v->host_fold = FALSE;
        v->path = "/";
        v->path_len = 1;
        return TRUE;
    }
    gsize method_len, path_len, authority_len;
    const char *method = field(fs, ACCESS_LOG_METHOD, &method_len);
    const char *path = field(fs, ACCESS_LOG_PATH, &path_len);
    const char *authority = field(fs, ACCESS_LOG_AUTHORITY, &authority_len);
    if (method_len == 0 || path_len == 0 || authority_len == 0) {
        *why = g_strdup_printf("an HTTP line needs method, path and "
                               "authority (no %s)",
                               method_len == 0 ? "method"
                               : path_len == 0 ? "path"
                                               : "authority");
        return FALSE;
    }
    v->scheme = v->sni != NULL || v->lb_port == 443 ? URL_HTTPS : URL_HTTP;
    v->method = method;
    v->method_len = method_len;
    v->path = path;
    v->path_len = path_len;
    v->authority = authority;
    v->authority_len = authority_len;
    /* The host: without its port, lower case. */
    v->host = authority;
    v->host_len = authority_host_len(authority, authority_len);
    v->host_fold = TRUE;
    return TRUE;
}

/* The client into @v: X-Forwarded-For's first entry (T-4: behind a SNAT
 * the original client is only there), else the downstream remote
 * address, with or without its port. */
static inline void
resolve_client(ReplayParser *p, const Fields *fs, ReplayView *v)
{
    gsize xff_len, remote_len;
    const char *xff = field(fs, ACCESS_LOG_X_FORWARDED_FOR, &xff_len);
    const char *remote =
        field(fs, ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS, &remote_len);
    if (xff_len == 0 && remote_len != 0 &&
        client_of_remote(p, remote, remote_len, v)) {
        return; /* the usual line: the remote address is "a.b.c.d:port" */
    }
    v->client_ip[0] = '\0';
    v->client_addr = 0;
    char ip[64] = "";
    gint rport = 0;
    if (xff_len == 0 || !first_xff(xff, ip, sizeof ip) || !is_ipv4(ip)) {
        ip[0] = '\0';
        if (remote_len != 0 &&
            !split_address(remote, ip, sizeof ip, &rport)) {
            g_strlcpy(ip, remote, sizeof ip);
        }
    }
    if (is_ipv4(ip)) {
        memcpy(v->client_ip, ip, strlen(ip) + 1); /* at most 15 bytes */
        if (!ipv4_parse(v->client_ip, &v->client_addr)) {
            v->client_addr = 0;
        }
    }
}

/* An HTTP line's headers into @v (the names an Istio line logs). */
static inline void
resolve_headers(ReplayParser *p, const Fields *fs, gboolean tcp, ReplayView *v)
{
    v->n_headers = 0;
    v->hdr_static = TRUE;
    v->hdr_set = 0;
    v->hdr_names = p->hdr_names;
    v->hdr_values = p->hdr_values;
    v->hdr_name_lens = p->hdr_name_lens;
    v->hdr_value_lens = p->hdr_value_lens;
    if (tcp) {
        return;
    }
    gsize xff_len, ua_len, id_len;
    const char *xff = field(fs, ACCESS_LOG_X_FORWARDED_FOR, &xff_len);
    const char *ua = field(fs, ACCESS_LOG_USER_AGENT, &ua_len);
    const char *id = field(fs, ACCESS_LOG_REQUEST_ID, &id_len);
    guint n = view_header(p, 0, "x-forwarded-for", xff, xff_len);
    n = view_header(p, n, "user-agent", ua, ua_len);
    v->n_headers = view_header(p, n, "x-request-id", id, id_len);
    v->hdr_set = (xff_len != 0) | (ua_len != 0) << 1 | (id_len != 0) << 2;
}

/* @line_fields: the line's fields; @port: a T-4 compact "port" (LB port),
 * or -1. Fills all of @v, the lengths and the client's address too. Each step
 * reads the fields it wants as it goes: read all first, they lived on
 * the stack across the calls. */
static ReplayLine resolve(ReplayParser *p,
                          const Fields *line_fields,
                          gint port,
                          ReplayView *v,
                          char **why)
{
    /* A copy no call can reach: its two pointers stay in registers. */
    const Fields copy = *line_fields, *fs = &copy;
    if (!resolve_time(p, fs, v, why)) {
        return REPLAY_LINE_BAD;
    }
    gboolean tcp = resolve_tcp(fs);
    const char *sni = field(fs, ACCESS_LOG_REQUESTED_SERVER_NAME, &v->sni_len);
    v->sni = v->sni_len != 0 ? sni : NULL;
    resolve_port(p, fs, port, v);
    if (!resolve_request(fs, tcp, v, why)) {
        return REPLAY_LINE_BAD;
    }
    resolve_client(p, fs, v);
    resolve_headers(p, fs, tcp, v);
    return REPLAY_LINE_OK;
}

/* ---- JSON lines (T-2 objects, T-4 compact objects) ----------------------- */

/* A member's value as text: strings as they are, numbers printed; NULL for
 * null or absent. Returns: (transfer full). */
static char *member_text(JsonObject *o, const char *key, gboolean *bad)
{
    JsonNode *n = json_object_get_member(o, key);
    if (n == NULL || JSON_NODE_HOLDS_NULL(n)) {
        return NULL;
    }
    if (!JSON_NODE_HOLDS_VALUE(n)) {
        *bad = TRUE;
        return NULL;
    }
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_STRING) {
        return g_strdup(json_node_get_string(n));
    }
    if (t == G_TYPE_INT64) {
        return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
    }
    if (t == G_TYPE_DOUBLE) {
        double d = json_node_get_double(n);
        if (!isfinite(d) || fabs(d) > 9e15) {
            *bad = TRUE;
            return NULL;
        }
        return g_strdup_printf("%" G_GINT64_FORMAT, (gint64)llround(d));
    }
    *bad = TRUE;
    return NULL;
}

static ReplayLine
parse_json(ReplayParser *p, const char *line, ReplayView *v, char **why)
{
    GError *err = NULL;
    if (!json_parser_load_from_data(p->json, line, -1, &err)) {
        *why = g_strdup_printf("not JSON: %s", err->message);
        g_error_free(err);
        return REPLAY_LINE_BAD;
    }
    JsonNode *root = json_parser_get_root(p->json);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        *why = g_strdup("not a JSON object");
        return REPLAY_LINE_BAD;
    }
    JsonObject *o = json_node_get_object(root);
    /* The view borrows the values until the next line. */
    AccessLogFields *a = &p->json_fields;
    access_log_fields_clear(a);
    gboolean bad = FALSE;
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        a->f[i] = member_text(o, access_log_field_key(i), &bad);
    }
    /* T-4 compact keys, where the Istio key is absent (first present
     * wins): ts, host, proto, client, sni, port. */
    static const struct {
        const char *key;      /* compact key */
        AccessLogField field; /* the Istio field it stands for */
    } compact[] = {
        { "ts", ACCESS_LOG_START_TIME },
        { "method", ACCESS_LOG_METHOD },
        { "path", ACCESS_LOG_PATH },
        { "host", ACCESS_LOG_AUTHORITY },
        { "proto", ACCESS_LOG_PROTOCOL },
        { "client", ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS },
        { "sni", ACCESS_LOG_REQUESTED_SERVER_NAME },
    };
    for (guint i = 0; i < G_N_ELEMENTS(compact); i++) {
        if (present(a->f[compact[i].field]) == NULL) {
            g_free(a->f[compact[i].field]);
            a->f[compact[i].field] = member_text(o, compact[i].key, &bad);
        }
    }
    g_autofree char *port_text = member_text(o, "port", &bad);
    gint port = -1;
    guint64 pv = 0;
    if (port_text != NULL &&
        !g_ascii_string_to_unsigned(port_text, 10, 1, 65535, &pv, NULL)) {
        bad = TRUE;
    }
    port = port_text != NULL ? (gint)pv : -1;
    if (bad) {
        *why = g_strdup("a member has the wrong type");
        return REPLAY_LINE_BAD;
    }
    gsize lens[ACCESS_LOG_N_FIELDS];
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        lens[i] = present(a->f[i]) != NULL ? strlen(a->f[i]) : 0;
    }
    Fields fs = { a, lens };
    return resolve(p, &fs, port, v, why);
}

/* ---- CSV ----------------------------------------------------------------- */

/* RFC 4180 fields of one line (quotes, "" inside quotes). NULL: an
 * unterminated quote. Returns: (transfer full) char* array. */
static GPtrArray *csv_split(const char *line)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    const char *p = line;
    for (;;) {
        GString *f = g_string_new(NULL);
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0') {
                    g_string_free(f, TRUE);
                    g_ptr_array_unref(out);
                    return NULL;
                }
                if (*p == '"' && p[1] == '"') {
                    g_string_append_c(f, '"');
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    g_string_append_c(f, *p++);
                }
            }
            while (*p != '\0' && *p != ',') {
                g_string_append_c(f, *p++); /* lenient: text after quote */
            }
        } else {
            while (*p != '\0' && *p != ',') {
                g_string_append_c(f, *p++);
            }
        }
        g_ptr_array_add(out, g_strstrip(g_string_free(f, FALSE)));
        if (*p != ',') {
            break;
        }
        p++;
    }
    return out;
}

/* "k: v; k2: v2" into @rec's headers (names lower case). */
static gboolean csv_headers(const char *text, ReplayRecord *rec, char **why)
{
    g_auto(GStrv) parts = g_strsplit(text, ";", -1);
    for (guint i = 0; parts[i] != NULL; i++) {
        char *h = g_strstrip(parts[i]);
        if (*h == '\0') {
            continue;
        }
        char *colon = strchr(h, ':');
        if (colon == NULL || colon == h) {
            *why = g_strdup_printf("header '%s' is not 'name: value'", h);
            return FALSE;
        }
        *colon = '\0';
        g_autofree char *name = g_ascii_strdown(g_strstrip(h), -1);
        add_header(rec, name, g_strstrip(colon + 1));
    }
    return TRUE;
}

static ReplayLine parse_csv(ReplayParser *p,
                            const char *line,
                            gboolean first,
                            ReplayRecord *rec,
                            char **why)
{
    g_autoptr(GPtrArray) f = csv_split(line);
    if (f == NULL) {
        *why = g_strdup("unterminated quote");
        return REPLAY_LINE_BAD;
    }
    const char *ts = g_ptr_array_index(f, 0);
    if (first && (g_ascii_strcasecmp(ts, "timestamp") == 0 ||
                  g_ascii_strcasecmp(ts, "ts") == 0 ||
                  g_ascii_strcasecmp(ts, "time") == 0)) {
        return REPLAY_LINE_SKIP; /* the optional header line */
    }
    if (f->len < 3 || f->len > 4) {
        *why = g_strdup_printf("%u columns, expected timestamp,method,url"
                               "[,headers]",
                               f->len);
        return REPLAY_LINE_BAD;
    }
    if (!replay_parse_time(ts, &rec->t_ns)) {
        *why = g_strdup_printf("timestamp '%s' is neither RFC 3339 nor "
                               "epoch milliseconds",
                               ts);
        return REPLAY_LINE_BAD;
    }
    Url url;
    g_autofree char *msg = NULL;
    if (!url_parse(g_ptr_array_index(f, 2), &url, &msg)) {
        *why = g_steal_pointer(&msg);
        return REPLAY_LINE_BAD;
    }
    if (f->len == 4 && !csv_headers(g_ptr_array_index(f, 3), rec, why)) {
        url_clear(&url);
        replay_record_clear(rec);
        return REPLAY_LINE_BAD;
    }
    const char *method = g_ptr_array_index(f, 1);
    gboolean tls = url.scheme == URL_HTTPS || url.scheme == URL_TLS;
    gboolean http = url.scheme == URL_HTTP || url.scheme == URL_HTTPS;
    const char *host_header = kv_list_get(rec->headers, "host");
    rec->scheme = url.scheme;
    rec->lb_port = url.port;
    rec->method = g_strdup(!http ? "" : *method != '\0' ? method : "GET");
    rec->host = g_strdup(url.host);
    rec->authority =
        g_strdup(host_header != NULL ? host_header : url.authority);
    rec->path = g_strdup(url.path);
    rec->sni = tls ? g_strdup(url.host) : NULL;
    const char *xff = kv_list_get(rec->headers, "x-forwarded-for");
    char ip[64];
    if (xff != NULL && first_xff(xff, ip, sizeof ip) && is_ipv4(ip)) {
        g_strlcpy(rec->client_ip, ip, sizeof rec->client_ip);
    }
    url_clear(&url);
    (void)p;
    return REPLAY_LINE_OK;
}

/* @rec (a CSV line's, which the parser keeps) as a view. */
static void view_of_record(const ReplayRecord *rec, ReplayView *v)
{
    v->t_ns = rec->t_ns;
    v->scheme = rec->scheme;
    v->lb_port = rec->lb_port;
    v->method = rec->method;
    v->host = rec->host;
    v->host_len = strlen(rec->host);
    v->host_fold = FALSE;
    v->authority = rec->authority;
    v->path = rec->path;
    v->sni = rec->sni;
    v->n_headers = kv_list_len(rec->headers);
    v->hdr_static = FALSE;
    v->hdr_set = 0;
    v->hdr_names = NULL;
    v->hdr_values = NULL;
    if (v->n_headers > 0) {
        v->hdr_names = (const char *const *)rec->headers->keys->pdata;
        v->hdr_values = (const char *const *)rec->headers->values->pdata;
    }
    memcpy(v->client_ip, rec->client_ip, sizeof v->client_ip);
}

/* The lengths and the client address of @v (ReplayView): for a CSV line,
 * whose values are the record's (an Istio line's resolve() knows them). */
static void view_measure(ReplayParser *p, ReplayView *v)
{
    v->method_len = strlen(v->method);
    v->authority_len = strlen(v->authority);
    v->path_len = strlen(v->path);
    v->sni_len = v->sni != NULL ? strlen(v->sni) : 0;
    g_array_set_size(p->lens, 2 * v->n_headers);
    gsize *lens = (gsize *)(void *)p->lens->data;
    for (guint i = 0; i < v->n_headers; i++) {
        lens[i] = strlen(v->hdr_values[i]);
        lens[v->n_headers + i] = strlen(v->hdr_names[i]);
    }
    v->hdr_value_lens = lens;
    v->hdr_name_lens = lens + v->n_headers;
    if (v->client_ip[0] == '\0' || !ipv4_parse(v->client_ip, &v->client_addr)) {
        v->client_addr = 0;
    }
}

static ReplayLine parse_line(ReplayParser *p,
                             char *text,
                             gsize n,
                             gboolean first,
                             ReplayView *v,
                             char **why)
{
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r')) {
        n--;
    }
    text[n] = '\0';
    char *t = text;
    if (first && (guchar)t[0] == 0xef && (guchar)t[1] == 0xbb &&
        (guchar)t[2] == 0xbf) {
        t += 3; /* a UTF-8 byte order mark */
    }
    const char *q = t;
    while (*q == ' ' || *q == '\t') {
        q++;
    }
    if (*q == '\0') {
        return REPLAY_LINE_SKIP;
    }
    switch (p->fmt) {
    case REPLAY_ISTIO_JSON:
        return parse_json(p, t, v, why);
    case REPLAY_CSV: {
        replay_record_clear(&p->csv);
        ReplayLine rc = parse_csv(p, t, first, &p->csv, why);
        if (rc == REPLAY_LINE_OK) {
            view_of_record(&p->csv, v);
            view_measure(p, v);
        }
        return rc;
    }
    case REPLAY_ISTIO_TEXT:
        break;
    }
    AccessLogSpans a;
    if (!access_log_split_request(t, n - (gsize)(t - text), &a, why)) {
        return REPLAY_LINE_BAD;
    }
    Fields fs = { &a.a, a.len };
    return resolve(p, &fs, -1, v, why);
}

ReplayLine replay__parse_line(ReplayParser *p,
                              char *text,
                              gsize n,
                              gboolean first,
                              ReplayView *v,
                              char **why)
{
    return parse_line(p, text, n, first, v, why);
}

/* A view's strings, copied into @rec. */
static void record_of_view(const ReplayView *v, ReplayRecord *rec)
{
    rec->t_ns = v->t_ns;
    rec->scheme = v->scheme;
    rec->lb_port = v->lb_port;
    rec->method = g_strdup(v->method);
    rec->host = v->host_fold ? g_ascii_strdown(v->host, (gssize)v->host_len)
                             : g_strndup(v->host, v->host_len);
    rec->authority = g_strdup(v->authority);
    rec->path = g_strdup(v->path);
    rec->sni = g_strdup(v->sni);
    for (guint i = 0; i < v->n_headers; i++) {
        add_header(rec, v->hdr_names[i], v->hdr_values[i]);
    }
    memcpy(rec->client_ip, v->client_ip, sizeof rec->client_ip);
}

ReplayLine replay_parser_line(ReplayParser *p,
                              const char *line,
                              gboolean first,
                              ReplayRecord *rec,
                              char **why)
{
    g_return_val_if_fail(p != NULL && line != NULL && rec != NULL,
                         REPLAY_LINE_BAD);
    memset(rec, 0, sizeof *rec);
    gsize n = strlen(line);
    g_autofree char *text = g_strndup(line, n);
    ReplayView v;
    ReplayLine rc = replay__parse_line(p, text, n, first, &v, why);
    if (rc == REPLAY_LINE_OK) {
        record_of_view(&v, rec);
    }
    return rc;
}
