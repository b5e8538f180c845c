/* replay.c: replayed traces (step 1): parsers for Istio TEXT/JSON access logs
 * and CSV, T-4 field resolution, and a streaming reader that keeps one
 * arrival scheduled and a bounded reorder window of lines in memory. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "models/accesslog.h"
#include "models/host.h"
#include "models/replay.h"

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

struct _ReplayParser {
    ReplayFormat fmt;         /* what the lines are */
    const Scenario *s;        /* nullable, borrowed: the port map */
    const K8sService *gw_svc; /* the gateway Service, nullable */
    GPtrArray *gw_pods;       /* const K8sPod*: gateway pods (container) */
    JsonParser *json;         /* reused for every JSON line */
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
    return p;
}

void replay_parser_free(ReplayParser *p)
{
    if (p == NULL) {
        return;
    }
    g_ptr_array_unref(p->gw_pods);
    g_clear_object(&p->json);
    g_free(p);
}

/* "ip:port" / "[v6]:port" into its parts. FALSE: no port. */
static gboolean
split_address(const char *addr, char *ip, gsize ip_len, gint *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr) {
        return FALSE;
    }
    guint64 v = 0;
    if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &v, NULL)) {
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
    g_strlcpy(ip, s, MIN(ip_len, n + 1));
    *port = (gint)v;
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

/* ---- T-4 resolution ------------------------------------------------------ */

/* "-" and "" are absent (T-4 rules). */
static const char *present(const char *v)
{
    return v != NULL && *v != '\0' && strcmp(v, "-") != 0 ? v : NULL;
}

/* A dotted-quad IPv4 address (what the load balancer and kube-proxy
 * models take as a source address). */
static gboolean is_ipv4(const char *s)
{
    for (guint part = 0; part < 4; part++) {
        guint v = 0, digits = 0;
        while (g_ascii_isdigit(*s) && digits < 4) {
            v = v * 10 + (guint)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255) {
            return FALSE;
        }
        if (part < 3 && *s++ != '.') {
            return FALSE;
        }
    }
    return *s == '\0';
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

/* Host of an authority: without its port, lower case. */
static char *authority_host(const char *authority)
{
    return g_ascii_strdown(authority, (gssize)host_authority_len(authority));
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

/* @a: the line's fields; @port: a T-4 compact "port" (LB port), or -1. */
static ReplayLine resolve(const ReplayParser *p,
                          AccessLogFields *a,
                          gint port,
                          ReplayRecord *rec,
                          char **why)
{
    const char *start = present(a->f[ACCESS_LOG_START_TIME]);
    if (start == NULL) {
        *why = g_strdup("no start time");
        return REPLAY_LINE_BAD;
    }
    if (!replay_parse_time(start, &rec->t_ns)) {
        *why = g_strdup_printf("start time '%s' is neither RFC 3339 nor "
                               "epoch milliseconds",
                               start);
        return REPLAY_LINE_BAD;
    }
    const char *method = present(a->f[ACCESS_LOG_METHOD]);
    const char *path = present(a->f[ACCESS_LOG_PATH]);
    const char *proto = present(a->f[ACCESS_LOG_PROTOCOL]);
    const char *authority = present(a->f[ACCESS_LOG_AUTHORITY]);
    const char *sni = present(a->f[ACCESS_LOG_REQUESTED_SERVER_NAME]);
    gboolean tcp = (proto != NULL && g_ascii_strcasecmp(proto, "TCP") == 0) ||
                   (proto == NULL && method == NULL && path == NULL);
    if (port <= 0) {
        port = replay_parser_lb_port(
            p, present(a->f[ACCESS_LOG_DOWNSTREAM_LOCAL_ADDRESS]));
    }
    if (port <= 0) {
        port = sni != NULL ? 443 : 80;
    }
    rec->lb_port = port;
    rec->sni = g_strdup(sni);
    if (tcp) {
        rec->scheme = sni != NULL ? URL_TLS : URL_TCP;
        rec->method = g_strdup("");
        rec->authority = g_strdup("");
        rec->host = g_strdup(sni != NULL ? sni : "");
        rec->path = g_strdup("/");
    } else {
        if (method == NULL || path == NULL || authority == NULL) {
            *why = g_strdup_printf("an HTTP line needs method, path and "
                                   "authority (no %s)",
                                   method == NULL ? "method"
                                   : path == NULL ? "path"
                                                  : "authority");
            replay_record_clear(rec);
            return REPLAY_LINE_BAD;
        }
        rec->scheme = sni != NULL || port == 443 ? URL_HTTPS : URL_HTTP;
        rec->method = g_strdup(method);
        rec->path = g_strdup(path);
        rec->authority = g_strdup(authority);
        rec->host = authority_host(authority);
    }
    /* The client: X-Forwarded-For's first entry (T-4: behind a SNAT the
     * original client is only there), else the downstream remote address,
     * with or without its port. */
    const char *xff = present(a->f[ACCESS_LOG_X_FORWARDED_FOR]);
    const char *remote = present(a->f[ACCESS_LOG_DOWNSTREAM_REMOTE_ADDRESS]);
    char ip[64] = "";
    gint rport = 0;
    if (xff == NULL || !first_xff(xff, ip, sizeof ip) || !is_ipv4(ip)) {
        ip[0] = '\0';
        if (remote != NULL && !split_address(remote, ip, sizeof ip, &rport)) {
            g_strlcpy(ip, remote, sizeof ip);
        }
    }
    if (is_ipv4(ip)) {
        g_strlcpy(rec->client_ip, ip, sizeof rec->client_ip);
    }
    if (!tcp) {
        add_header(rec, "x-forwarded-for", xff);
        add_header(rec, "user-agent", present(a->f[ACCESS_LOG_USER_AGENT]));
        add_header(rec, "x-request-id", present(a->f[ACCESS_LOG_REQUEST_ID]));
    }
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
parse_json(ReplayParser *p, const char *line, ReplayRecord *rec, char **why)
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
    AccessLogFields a = { { NULL }, NULL };
    gboolean bad = FALSE;
    for (guint i = 0; i < ACCESS_LOG_N_FIELDS; i++) {
        a.f[i] = member_text(o, access_log_field_key(i), &bad);
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
        if (present(a.f[compact[i].field]) == NULL) {
            g_free(a.f[compact[i].field]);
            a.f[compact[i].field] = member_text(o, compact[i].key, &bad);
        }
    }
    g_autofree char *port_text = member_text(o, "port", &bad);
    gint port = -1;
    guint64 v = 0;
    if (port_text != NULL &&
        !g_ascii_string_to_unsigned(port_text, 10, 1, 65535, &v, NULL)) {
        bad = TRUE;
    }
    port = port_text != NULL ? (gint)v : -1;
    ReplayLine rc = REPLAY_LINE_BAD;
    if (bad) {
        *why = g_strdup("a member has the wrong type");
    } else {
        rc = resolve(p, &a, port, rec, why);
    }
    access_log_fields_clear(&a);
    return rc;
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
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        n--;
    }
    g_autofree char *text = g_strndup(line, n);
    const char *t = text;
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
        return parse_json(p, t, rec, why);
    case REPLAY_CSV:
        return parse_csv(p, t, first, rec, why);
    case REPLAY_ISTIO_TEXT:
        break;
    }
    AccessLogFields a;
    if (!access_log_parse_text(t, &a, why)) {
        return REPLAY_LINE_BAD;
    }
    ReplayLine rc = resolve(p, &a, -1, rec, why);
    access_log_fields_clear(&a);
    return rc;
}

/* ---- the reader ---------------------------------------------------------- */

/* A line waiting in the reorder window, packed: one allocation. */
typedef struct {
    gint64 t_ns;        /* start time, ns since the Unix epoch */
    guint64 line;       /* line number: ties keep file order */
    UrlScheme scheme;   /* as ReplayRecord */
    gint lb_port;       /* as ReplayRecord */
    gboolean has_sni;   /* the sni string is meaningful */
    guint n_headers;    /* header pairs after the five strings */
    char client_ip[16]; /* as ReplayRecord */
    char *block;        /* method, host, authority, path, sni, then n_headers
                         * (name, value) pairs, each NUL-terminated; owned
                         * until handed to the request */
} ReplayItem;

struct _Replay {
    World *w;              /* borrowed */
    Path *path;            /* borrowed */
    const TrafficSpec *ts; /* borrowed: speed, start */
    const char *name;      /* interned traffic name */
    const char *file;      /* ts->trace_file, for bad-line reports */
    FILE *fp;              /* NULL once the file is read or closed */
    ReplayParser *parser;  /* the format's parser */
    char *buf;             /* REPLAY_MAX_LINE + 2 bytes, fgets buffer */
    guint64 line_no;       /* lines read */
    GArray *heap;          /* ReplayItem: min-heap on (t_ns, line) */
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
};

static void item_clear(ReplayItem *it)
{
    g_clear_pointer(&it->block, g_free);
}

static gboolean item_less(const ReplayItem *a, const ReplayItem *b)
{
    return a->t_ns < b->t_ns || (a->t_ns == b->t_ns && a->line < b->line);
}

/* O(log n) push onto the array heap: parents move down into the hole,
 * the item is written once (items are 64 bytes; swaps cost double). */
static void heap_push(GArray *h, const ReplayItem *it)
{
    g_array_set_size(h, h->len + 1);
    ReplayItem *a = (ReplayItem *)(void *)h->data;
    guint i = h->len - 1;
    while (i > 0) {
        guint parent = (i - 1) / 2;
        if (!item_less(it, &a[parent])) {
            break;
        }
        a[i] = a[parent];
        i = parent;
    }
    a[i] = *it;
}

/* O(log n) pop of the earliest; the heap must not be empty. The last item
 * sinks from the root through a hole, as in heap_push(). */
static ReplayItem heap_pop(GArray *h)
{
    ReplayItem *a = (ReplayItem *)(void *)h->data;
    ReplayItem top = a[0];
    const ReplayItem last = a[h->len - 1];
    guint n = h->len - 1, i = 0;
    for (;;) {
        guint l = 2 * i + 1;
        if (l >= n) {
            break;
        }
        guint m = l + 1 < n && item_less(&a[l + 1], &a[l]) ? l + 1 : l;
        if (!item_less(&a[m], &last)) {
            break;
        }
        a[i] = a[m];
        i = m;
    }
    a[i] = last;
    g_array_set_size(h, n);
    return top;
}

static void pack(const ReplayRecord *rec, guint64 line, ReplayItem *it)
{
    const char *s[5] = { rec->method, rec->host, rec->authority, rec->path,
                         rec->sni != NULL ? rec->sni : "" };
    guint nh = rec->headers != NULL ? kv_list_len(rec->headers) : 0;
    gsize total = 0;
    for (guint i = 0; i < 5; i++) {
        total += strlen(s[i]) + 1;
    }
    for (guint i = 0; i < nh; i++) {
        total += strlen(g_ptr_array_index(rec->headers->keys, i)) + 1;
        total += strlen(g_ptr_array_index(rec->headers->values, i)) + 1;
    }
    memset(it, 0, sizeof *it);
    it->t_ns = rec->t_ns;
    it->line = line;
    it->scheme = rec->scheme;
    it->lb_port = rec->lb_port;
    it->has_sni = rec->sni != NULL;
    it->n_headers = nh;
    memcpy(it->client_ip, rec->client_ip, sizeof it->client_ip);
    it->block = g_malloc(total);
    char *w = it->block;
    for (guint i = 0; i < 5 + 2 * nh; i++) {
        const char *v =
            i < 5 ? s[i]
            : (i - 5) % 2 == 0
                ? g_ptr_array_index(rec->headers->keys, (i - 5) / 2)
                : g_ptr_array_index(rec->headers->values, (i - 5) / 2);
        gsize n = strlen(v) + 1;
        memcpy(w, v, n);
        w += n;
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

/* Reads one line into the window (or counts it bad). */
static void read_one(Replay *rp)
{
    if (fgets(rp->buf, REPLAY_MAX_LINE + 2, rp->fp) == NULL) {
        if (ferror(rp->fp)) {
            /* A read error ends the trace where it happened. */
            rp->bad++;
            results_bad_line(rp->w->results, rp->file, rp->line_no + 1);
        }
        close_file(rp);
        return;
    }
    rp->line_no++;
    gsize n = strlen(rp->buf);
    if (n > REPLAY_MAX_LINE && rp->buf[n - 1] != '\n') {
        /* Too long for the buffer: skip the rest of the line. */
        int c;
        do {
            c = fgetc(rp->fp);
        } while (c != EOF && c != '\n');
        rp->bad++;
        results_bad_line(rp->w->results, rp->file, rp->line_no);
        return;
    }
    ReplayRecord rec;
    g_autofree char *why = NULL;
    switch (
        replay_parser_line(rp->parser, rp->buf, rp->line_no == 1, &rec, &why)) {
    case REPLAY_LINE_SKIP:
        return;
    case REPLAY_LINE_BAD:
        rp->bad++;
        results_bad_line(rp->w->results, rp->file, rp->line_no);
        return;
    case REPLAY_LINE_OK:
        break;
    }
    ReplayItem it;
    pack(&rec, rp->line_no, &it);
    replay_record_clear(&rec);
    rp->max_read_t = MAX(rp->max_read_t, it.t_ns);
    heap_push(rp->heap, &it);
}

/* Reads until the earliest line held is safe to replay: a line at least
 * REPLAY_REORDER_WINDOW later has been read, or the window is full, or the
 * file has ended. Amortized one line per arrival. */
static void fill(Replay *rp)
{
    while (rp->fp != NULL && rp->heap->len < REPLAY_REORDER_MAX) {
        if (rp->heap->len > 0) {
            const ReplayItem *min = &g_array_index(rp->heap, ReplayItem, 0);
            if (rp->max_read_t - min->t_ns >= REPLAY_REORDER_WINDOW) {
                break;
            }
        }
        read_one(rp);
    }
}

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
    for (guint i = 0; i < rp->heap->len; i++) {
        item_clear(&g_array_index(rp->heap, ReplayItem, i));
    }
    g_array_set_size(rp->heap, 0);
}

static void schedule_next(Replay *rp)
{
    fill(rp);
    if (rp->heap->len == 0) {
        finish(rp);
        return;
    }
    ReplayItem it = heap_pop(rp->heap);
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
        item_clear(&it);
        finish(rp);
        return;
    }
    rp->next = it;
    rp->has_next = TRUE;
    sim_schedule(rp->w->engine, at, rp->ev_arrival, 0, NULL);
}

/* The request of @it, which hands its block over to @r. */
static void fill_request(Replay *rp, Request *r, ReplayItem *it)
{
    const char *s[5];
    const char *w = it->block;
    for (guint i = 0; i < 5; i++) {
        s[i] = w;
        w += strlen(w) + 1;
    }
    r->scheme = it->scheme;
    r->lb_port = it->lb_port;
    r->method = s[0];
    r->host = s[1];
    r->authority = s[2];
    r->path = s[3];
    r->sni = it->has_sni ? s[4] : NULL;
    if (it->n_headers > 0) {
        r->owned_headers = kv_list_new();
        for (guint i = 0; i < it->n_headers; i++) {
            const char *k = w;
            w += strlen(w) + 1;
            kv_list_set(r->owned_headers, k, w);
            w += strlen(w) + 1;
        }
        r->headers = r->owned_headers;
    }
    r->owned = g_steal_pointer(&it->block);
    r->traffic = rp->name;
    if (it->client_ip[0] != '\0') {
        memcpy(r->client_ip, it->client_ip, sizeof r->client_ip);
    } else {
        /* As the generators: clients from 198.51.100.0/24 (TEST-NET-2). */
        g_snprintf(r->client_ip, sizeof r->client_ip, "198.51.100.%u",
                   (guint)(1 + rp->sent % 250));
    }
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
    rp->buf = g_malloc(REPLAY_MAX_LINE + 2);
    rp->heap = g_array_new(FALSE, FALSE, sizeof(ReplayItem));
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
        item_clear(&rp->next);
    }
    g_array_unref(rp->heap);
    replay_parser_free(rp->parser);
    g_free(rp);
}
