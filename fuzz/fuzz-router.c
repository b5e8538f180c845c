/* fuzz-router.c: random requests against compiled gateway configurations.
 * At start it compiles every gateway pod of a few configurations (the
 * bundled scenarios, fuzz/router.yaml and, when present, the Istio docs
 * cases next to the source tree); each input picks one snapshot and spells
 * a request (port, TLS, SNI, ALPN, method, authority, path, headers).
 * gateway_decide() must come back with a valid outcome, step, flags and
 * reason, the same decision for the same random stream, with or without a
 * trace (DESIGN.md principle 1: one decision path). */
#include "config.h"

#include <string.h>

#include "fuzz/fuzz.h"
#include "models/gateway.h"
#include "models/scenario.h"

typedef struct {
    GatewaySnapshot *snap; /* owned ref */
    GPtrArray *ports;      /* listener ports (GINT_TO_POINTER) */
} Target;

static GPtrArray *scenarios; /* Scenario*: the snapshots borrow them */
static GArray *targets;      /* Target */
static TlsCert *anchors;     /* the article's CA, for clients that verify */

static void add_scenario(Scenario *s)
{
    g_ptr_array_add(scenarios, s);
    g_autoptr(GPtrArray) pods = cluster_gateway_pods(s->cluster);
    for (guint i = 0; i < pods->len; i++) {
        g_autoptr(GError) error = NULL;
        GatewaySnapshot *snap =
            gateway_compile(s->cluster, g_ptr_array_index(pods, i), &error);
        if (snap == NULL) {
            continue; /* the docs cases include rejected configurations */
        }
        Target t = { snap, gateway_listener_ports(snap) };
        g_array_append_val(targets, t);
    }
}

static void add_file(const char *path)
{
    g_autoptr(GError) error = NULL;
    Scenario *s = scenario_load(path, &error);
    if (s == NULL) {
        g_printerr("fuzz-router: skipping %s: %s\n", path, error->message);
        return;
    }
    add_scenario(s);
}

/* A docs case keeps its manifests in one multi-line string. */
static void add_docs_case(const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) docs = ynode_load_file(path, NULL, &error);
    if (docs == NULL || docs->len != 1) {
        return;
    }
    const char *m = ynode_str(ynode_get(g_ptr_array_index(docs, 0),
                                        "manifests"));
    Scenario *s = m != NULL ? scenario_load_string(path, m, &error) : NULL;
    if (s != NULL) {
        add_scenario(s);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    scenarios = g_ptr_array_new();
    targets = g_array_new(FALSE, TRUE, sizeof(Target));
    const char *src = fuzz_srcdir();
    static const char *const files[] = {
        "fuzz/router.yaml",
        "scenarios/article.yaml",
        "scenarios/lessons/article-as-written.yaml",
        "scenarios/lessons/node-down.yaml",
        "scenarios/lessons/pod-crash.yaml",
    };
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *p = g_build_filename(src, files[i], NULL);
        if (g_file_test(p, G_FILE_TEST_EXISTS)) {
            add_file(p);
        }
    }
    g_autofree char *docs = g_build_filename(src, "..", "shared", "reference",
                                             "istio-docs-tests", NULL);
    g_autoptr(GDir) dir = g_dir_open(docs, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while (dir != NULL && (n = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_suffix(n, ".yaml")) {
            g_ptr_array_add(names, g_build_filename(docs, n, NULL));
        }
    }
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    for (guint i = 0; i < names->len; i++) {
        add_docs_case(g_ptr_array_index(names, i));
    }
    g_autofree char *ca_path =
        g_build_filename(src, "scenarios", "article", "example-ca.crt", NULL);
    g_autofree char *ca = NULL;
    gsize ca_len = 0;
    if (g_file_get_contents(ca_path, &ca, &ca_len, NULL)) {
        anchors = tls_cert_parse(ca, ca_len, "example-ca.crt", NULL);
    }
    g_printerr("fuzz-router: %u gateway snapshots from %u configurations\n",
               targets->len, scenarios->len);
    if (targets->len == 0) {
        fuzz_fail(__FILE__, __LINE__, "no gateway snapshot compiled: set "
                                      "SIM_SRCDIR to the source tree");
    }
    return 0;
}

/* Reads the input as: byte 0 target, byte 1 flags, bytes 2-3 port, bytes
 * 4-11 seed, then lines: SNI, method, authority, path, headers "k: v". */
typedef struct {
    const uint8_t *p;
    size_t n;
} Input;

static guint take(Input *in, guint bytes)
{
    guint v = 0;
    for (guint i = 0; i < bytes; i++) {
        v = (v << 8) | (in->n > 0 ? *in->p : 0);
        if (in->n > 0) {
            in->p++;
            in->n--;
        }
    }
    return v;
}

static void check_decision(const GatewayDecision *d, const GatewayRequest *r)
{
    FUZZ_CHECK(d->outcome <= GATEWAY_FORWARD, "outcome out of range");
    FUZZ_CHECK(gateway_outcome_name(d->outcome) != NULL, "outcome name");
    FUZZ_CHECK(d->step >= 5 && d->step <= 8, "step not 5..8");
    FUZZ_CHECK(d->flags != NULL && d->flags[0] != '\0', "no flags");
    if (strcmp(d->flags, "-") != 0) {
        for (const char *c = d->flags; *c != '\0'; c++) {
            FUZZ_CHECK(g_ascii_isupper(*c) || *c == ',', "flags not Envoy's");
        }
    }
    switch (d->outcome) {
    case GATEWAY_FORWARD:
        FUZZ_CHECK(d->cluster != NULL, "FORWARD without a cluster");
        FUZZ_CHECK(d->cluster->service != NULL &&
                       d->cluster->service_port != NULL,
                   "FORWARD to a cluster without a Service port");
        if (!d->tcp) {
            FUZZ_CHECK(d->path != NULL && d->authority != NULL,
                       "HTTP FORWARD without path or authority");
        }
        break;
    case GATEWAY_LOCAL_REPLY:
        FUZZ_CHECK(d->status >= 100 && d->status <= 599,
                   "local reply status not 100..599");
        FUZZ_CHECK(r->http, "local reply to a TCP stream");
        FUZZ_CHECK(d->reason != NULL, "local reply without reason");
        break;
    default:
        FUZZ_CHECK(d->reason != NULL, "failure without a reason");
        FUZZ_CHECK(d->status == 0, "failure with an HTTP status");
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Input in = { data, size };
    const Target *t = &g_array_index(targets, Target, take(&in, 1) %
                                                          targets->len);
    guint flags = take(&in, 1);
    guint port = take(&in, 2);
    guint64 seed = ((guint64)take(&in, 4) << 32) | take(&in, 4);
    g_autofree char *text = g_strndup((const char *)in.p, in.n);
    g_auto(GStrv) lines = g_strsplit(text, "\n", 64);
    guint nl = g_strv_length(lines);

    GatewayRequest r = { 0 };
    if ((flags & 0x80) != 0 && t->ports->len > 0) {
        port = (guint)GPOINTER_TO_INT(
            g_ptr_array_index(t->ports, port % t->ports->len));
    }
    r.port = (gint)port;
    r.tls = (flags & 0x01) != 0;
    r.http = (flags & 0x02) != 0;
    r.sni = (flags & 0x04) != 0 && nl > 0 ? lines[0] : NULL;
    static const char *const h2[] = { "h2", "http/1.1", NULL };
    static const char *const istio[] = { "istio-peer-exchange", "istio",
                                         NULL };
    r.alpn = (flags & 0x10) != 0 ? ((flags & 0x20) != 0 ? istio : h2) : NULL;
    r.client_anchors = (flags & 0x40) != 0 ? anchors : NULL;
    r.scheme = r.tls ? "https" : "http";
    r.method = nl > 1 ? lines[1] : "GET";
    r.authority = nl > 2 ? lines[2] : "counter.example.com";
    r.verify_host = r.authority;
    r.path = nl > 3 ? lines[3] : "/";
    g_autoptr(KvList) headers = kv_list_new();
    for (guint i = 4; i < nl; i++) {
        g_auto(GStrv) kv = g_strsplit(lines[i], ":", 2);
        if (kv[0] != NULL && kv[1] != NULL) {
            g_autofree char *k = g_ascii_strdown(kv[0], -1);
            kv_list_set(headers, k, g_strstrip(kv[1]));
        }
    }
    r.headers = headers;
    r.now_unix = G_GINT64_CONSTANT(1735689600); /* 2025-01-01 */

    GatewayDecision a, b;
    Rng ra, rb;
    rng_init(&ra, seed, 1);
    rng_init(&rb, seed, 1);
    gateway_decide(t->snap, &r, &ra, &a, NULL, 0, "node");
    check_decision(&a, &r);
    /* The same decision when traced (one decision path). */
    g_autoptr(Trace) tr = trace_new();
    gateway_decide(t->snap, &r, &rb, &b, (flags & 0x08) != 0 ? tr : NULL,
                   0, "node");
    check_decision(&b, &r);
    FUZZ_CHECK(a.outcome == b.outcome && a.step == b.step &&
                   a.status == b.status && strcmp(a.flags, b.flags) == 0 &&
                   a.cluster == b.cluster,
               "the traced decision differs from the untraced one");
    if ((flags & 0x08) != 0) {
        FUZZ_CHECK(trace_len(tr) > 0, "a traced decision left no step");
    }
    gateway_decision_clear(&a);
    gateway_decision_clear(&b);
    return 0;
}
