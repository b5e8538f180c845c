/* cli-trace.c: `ingress-sim trace`: sends one request through the same
 * simulation `run` uses (the cluster as it stands at --at) and prints every
 * decision with the rule behind it, as numbered sentences or JSON. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "models/lb.h"
#include "models/path.h"
#include "models/world.h"
#include "sim/cli.h"

static void on_done(const Request *r, gpointer data)
{
    TraceResult *t = data;
    t->out = r->out;
    t->ended = TRUE;
    t->response = app_response_copy(r->resp);
    const char *verify = r->tr != NULL ? trace_get(r->tr, "tls_verify") : NULL;
    t->tls_verify = verify == NULL                 ? NULL
                    : strcmp(verify, "ok") == 0 ? "ok"
                                                : "failed";
    if (r->tr != NULL) {
        t->tls_subject = g_strdup(trace_get(r->tr, "tls_subject"));
    }
    if (r->dec != NULL) {
        t->location = g_strdup(r->dec->location);
        if (r->dec->outcome == GATEWAY_FORWARD) {
            t->up_path = g_strdup(r->dec->path);
            t->up_authority = g_strdup(r->dec->authority);
        }
    }
}

void trace_result_clear(TraceResult *r)
{
    trace_free(r->tr);
    url_clear(&r->url);
    g_free(r->sni);
    g_free(r->location);
    g_free(r->up_path);
    g_free(r->up_authority);
    app_response_free(r->response);
    g_free(r->tls_subject);
    memset(r, 0, sizeof *r);
}

gboolean cli_trace_one(const Scenario *s, const TraceRequest *req,
                       TraceResult *out, GError **error)
{
    memset(out, 0, sizeof *out);
    g_autofree char *msg = NULL;
    if (!url_parse(req->url, &out->url, &msg)) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_BAD_VALUE, "%s", msg);
        return FALSE;
    }
    g_autoptr(World) w =
        world_new(s, req->seed >= 0 ? (guint64)req->seed : s->seed, error);
    if (w == NULL) {
        return FALSE;
    }
    out->tr = trace_new();
    Path *p = path_new(w);
    path_set_done(p, on_done, out);
    lb_start(w->lb);
    world_schedule_failures(w);
    sim_run(w->engine, req->at);

    const Url *url = &out->url;
    gboolean tls = url->scheme == URL_HTTPS || url->scheme == URL_TLS;
    const char *host = kv_list_get(req->headers, "host");
    Request *r = path_request_new(p);
    r->scheme = url->scheme;
    r->lb_port = url->port;
    r->host = url->host;
    r->authority = host != NULL ? host : url->authority;
    r->path = url->path;
    r->method = req->method != NULL ? req->method : "GET";
    r->headers = req->headers;
    if (tls && !req->no_sni) {
        out->sni = g_strdup(req->sni != NULL ? req->sni : url->host);
    }
    r->sni = out->sni;
    r->anchors = req->anchors;
    r->client_cert = req->client_cert;
    r->alpn = tls ? req->alpn : NULL;
    r->body = req->body;
    r->out.traffic = g_intern_static_string("trace");
    g_strlcpy(r->client_ip, "203.0.113.10", sizeof r->client_ip);
    r->tr = out->tr;
    path_send(p, r);
    /* Health checks run forever: step until this request has ended. */
    SimTime t = req->at;
    while (!out->ended && t < req->at + 3600 * SIM_S) {
        t += SIM_S;
        sim_run(w->engine, t);
    }
    path_free(p);
    return TRUE;
}

static void add_str(JsonBuilder *b, const char *key, const char *value)
{
    json_builder_set_member_name(b, key);
    if (value != NULL) {
        json_builder_add_string_value(b, value);
    } else {
        json_builder_add_null_value(b);
    }
}

static const char *origin_of(const RequestOutcome *o)
{
    if (o->kind != OUTCOME_RESPONSE) {
        return NULL;
    }
    return o->from_gateway ? "gateway" : "app";
}

/* "response": what the client read (SCENARIO.md extension; every key is
 * always there, null where it does not apply): the HTTP version, the
 * headers in wire order (an object; a repeated name keeps its last value),
 * the body as text. A stream has only a body; a failure has none. */
static void response_json(JsonBuilder *b, const AppResponse *r)
{
    json_builder_set_member_name(b, "response");
    json_builder_begin_object(b);
    add_str(b, "http_version", r != NULL ? r->http_version : NULL);
    json_builder_set_member_name(b, "headers");
    if (r != NULL && r->headers != NULL) {
        json_builder_begin_object(b);
        for (guint i = 0; i < kv_list_len(r->headers); i++) {
            json_builder_set_member_name(
                b, g_ptr_array_index(r->headers->keys, i));
            json_builder_add_string_value(
                b, g_ptr_array_index(r->headers->values, i));
        }
        json_builder_end_object(b);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "body");
    if (r != NULL && r->body != NULL) {
        g_autofree char *text = g_utf8_make_valid(r->body->str,
                                                  (gssize)r->body->len);
        json_builder_add_string_value(b, text);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_end_object(b);
}

/* The response as curl -i shows it, after the narration. */
static void response_text(const AppResponse *r)
{
    if (r == NULL) {
        return;
    }
    if (r->http_version != NULL) {
        g_print("\nResponse: HTTP/%s %d\n", r->http_version, r->status);
        for (guint i = 0; r->headers != NULL && i < kv_list_len(r->headers);
             i++) {
            g_print("%s: %s\n",
                    (const char *)g_ptr_array_index(r->headers->keys, i),
                    (const char *)g_ptr_array_index(r->headers->values, i));
        }
    } else {
        g_print("\nThe stream received%s\n",
                r->body != NULL ? ":" : " nothing.");
    }
    if (r->body != NULL && r->body->len > 0) {
        g_print("%s%s", r->http_version != NULL ? "\n" : "", r->body->str);
        if (r->body->str[r->body->len - 1] != '\n') {
            g_print("\n");
        }
    }
}

static JsonNode *trace_json(const TraceResult *t, const char *method,
                            SimTime at)
{
    const Trace *tr = t->tr;
    const RequestOutcome *o = &t->out;
    const Url *url = &t->url;
    const char *sni = t->sni;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *ats = sim_time_format(at);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "request");
    json_builder_begin_object(b);
    g_autofree char *u = g_strdup_printf("%s://%s%s", url_scheme_name(url->scheme),
                                         url->authority, url->path);
    add_str(b, "url", u);
    add_str(b, "method", method);
    add_str(b, "host", url->host);
    add_str(b, "sni", sni);
    json_builder_set_member_name(b, "lb_port");
    json_builder_add_int_value(b, url->port);
    add_str(b, "at", ats);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "outcome");
    json_builder_begin_object(b);
    const char *kinds[] = { "response", "connection", "failure" };
    add_str(b, "kind", kinds[o->kind]);
    json_builder_set_member_name(b, "status");
    if (o->kind == OUTCOME_RESPONSE) {
        json_builder_add_int_value(b, o->status);
    } else {
        json_builder_add_null_value(b);
    }
    add_str(b, "response_flags", o->kind == OUTCOME_RESPONSE ? o->flags : NULL);
    add_str(b, "origin", origin_of(o));
    json_builder_set_member_name(b, "step");
    json_builder_add_int_value(b, o->step);
    add_str(b, "reason",
            o->kind == OUTCOME_FAILURE ? fail_reason_name(o->reason) : NULL);
    add_str(b, "location", t->location);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "gateway");
    json_builder_begin_object(b);
    add_str(b, "pod", trace_get(tr, "gateway_pod"));
    add_str(b, "listener", trace_get(tr, "listener"));
    json_builder_set_member_name(b, "filter_chain");
    /* The listener sets "filter_chain" to "match-all" or to the chain's
     * server_names list. */
    const char *const *names = trace_get_strv(tr, "filter_chain");
    if (names != NULL) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "server_names");
        json_builder_begin_array(b);
        for (guint i = 0; names[i] != NULL; i++) {
            json_builder_add_string_value(b, names[i]);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    } else if (trace_get(tr, "filter_chain") != NULL) {
        json_builder_add_string_value(b, trace_get(tr, "filter_chain"));
    } else {
        json_builder_add_null_value(b);
    }
    add_str(b, "certificate", trace_get(tr, "certificate"));
    add_str(b, "server", trace_get(tr, "server"));
    add_str(b, "route_config", trace_get(tr, "route_config"));
    add_str(b, "virtual_host", trace_get(tr, "virtual_host"));
    add_str(b, "route", trace_get(tr, "route"));
    add_str(b, "cluster", trace_get(tr, "cluster"));
    json_builder_end_object(b);

    json_builder_set_member_name(b, "upstream");
    json_builder_begin_object(b);
    add_str(b, "pod", trace_get(tr, "upstream_pod"));
    add_str(b, "node", trace_get(tr, "upstream_node"));
    add_str(b, "path", t->up_path);
    add_str(b, "authority", t->up_authority);
    gint64 attempts = 0;
    json_builder_set_member_name(b, "attempts");
    if (trace_get_int(tr, "attempts", &attempts)) {
        json_builder_add_int_value(b, attempts);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_end_object(b);

    response_json(b, t->response);

    json_builder_set_member_name(b, "steps");
    json_builder_begin_array(b);
    for (guint i = 0; i < trace_len(tr); i++) {
        const TraceStep *s = trace_step(tr, i);
        g_autofree char *sat = sim_time_format(s->at);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "step");
        json_builder_add_int_value(b, s->step);
        add_str(b, "component", s->component);
        add_str(b, "node", s->node);
        add_str(b, "at", sat);
        add_str(b, "decision", s->decision);
        add_str(b, "reason", s->reason);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static gboolean parse_header(const char *h, KvList *headers)
{
    const char *colon = strchr(h, ':');
    if (colon == NULL || colon == h) {
        return FALSE;
    }
    g_autofree char *name = g_ascii_strdown(h, colon - h);
    g_strstrip(name);
    g_autofree char *value = g_strstrip(g_strdup(colon + 1));
    kv_list_set(headers, name, value);
    return TRUE;
}

static TlsCert *load_cert(const char *path, const char *what)
{
    if (path == NULL) {
        return NULL;
    }
    GError *error = NULL;
    TlsCert *c = tls_cert_load_file(path, &error);
    if (c == NULL) {
        g_printerr("ingress-sim trace: %s %s: %s\n", what, path, error->message);
        g_error_free(error);
    }
    return c;
}

int cli_trace(int argc, char **argv)
{
    static const char *const curl_alpn[] = { "h2", "http/1.1", NULL };
    g_autofree char *method = NULL, *sni = NULL, *at_text = NULL;
    g_autofree char *cacert = NULL, *cert = NULL, *key = NULL;
    g_auto(GStrv) header_args = NULL;
    gboolean no_sni = FALSE, json = FALSE;
    TraceTextOptions text_opt = { 0 };
    gint64 seed = -1;
    GOptionEntry entries[] = {
        { "method", 'X', 0, G_OPTION_ARG_STRING, &method,
          "HTTP method (default GET)", "M" },
        { "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &header_args,
          "A request header, repeatable; 'Host: x' sets the authority",
          "'K: V'" },
        { "sni", 0, 0, G_OPTION_ARG_STRING, &sni,
          "TLS server name (default: the URL host for https/tls)", "NAME" },
        { "no-sni", 0, 0, G_OPTION_ARG_NONE, &no_sni,
          "Send no SNI at all (as curl to an IP address)", NULL },
        { "at", 0, 0, G_OPTION_ARG_STRING, &at_text,
          "Send at simulated time T: failures and health checks up to T "
          "count (default 0s)",
          "T" },
        { "seed", 's', 0, G_OPTION_ARG_INT64, &seed,
          "Seed of the random choices along the way", "N" },
        { "cacert", 0, 0, G_OPTION_ARG_FILENAME, &cacert,
          "Verify the gateway's certificate against these PEM anchors, as "
          "curl --cacert (default: no verification, as curl -k)",
          "FILE" },
        { "cert", 0, 0, G_OPTION_ARG_FILENAME, &cert,
          "Client certificate (PEM) for MUTUAL servers", "FILE" },
        { "key", 0, 0, G_OPTION_ARG_FILENAME, &key,
          "Private key of --cert", "FILE" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "Print one JSON object (keys of SCENARIO.md) instead of sentences",
          NULL },
        { "explain", 'e', 0, G_OPTION_ARG_NONE, &text_opt.explain,
          "Add background for newcomers: two or three sentences a step",
          NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &text_opt.verbose,
          "Every recorded decision, kube-proxy's iptables rules one by one",
          NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse("trace", "SCENARIO URL",
                   "Follow one request through the nine steps.",
                   "The request runs in the same simulation as `run`, so what "
                   "it shows is what\n`run` does: the load balancer's pick, "
                   "kube-proxy's rule walk, the Envoy\nlistener and filter "
                   "chain, the Gateway server, the VirtualService route,\nthe "
                   "cluster and the pod, each with the rule that decided.\n\n"
                   "The text tells it one step a paragraph: what was decided, "
                   "the rule, when and\nhow long it took; then the outcome, "
                   "where the time went and, when the\nrequest failed, what "
                   "to change. --explain adds background for newcomers,\n"
                   "--verbose every recorded decision (iptables rule by "
                   "rule); --json the\ncontract of SCENARIO.md.\n\n"
                   "URL: http://, https:// (TLS with SNI), tcp:// or tls:// "
                   "streams; the port\nis the load balancer's (default 80 or "
                   "443).\n\n"
                   "Examples:\n"
                   "  ingress-sim trace scenarios/article.yaml "
                   "http://counter.example.com/\n"
                   "  ingress-sim trace scenarios/article.yaml "
                   "https://counter.example.com/ --json\n"
                   "  ingress-sim trace scenarios/article.yaml "
                   "https://counter.example.com/ \\\n"
                   "      --cacert scenarios/article/example-ca.crt --explain\n"
                   "  ingress-sim trace scenarios/lessons/add-port-no-"
                   "service-port.yaml \\\n"
                   "      tcp://cache.example.com:6379 --verbose\n"
                   "  ingress-sim trace my.yaml http://10.0.0.1/ -H 'Host: "
                   "app.example.com' --at 25s",
                   entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    if (argc != 3) {
        g_printerr("ingress-sim trace: expected SCENARIO and URL\nTry "
                   "'ingress-sim trace --help'.\n");
        return CLI_USAGE;
    }
    const char *url_arg = argv[2];
    SimTime at = 0;
    if (!cli_check_urls("trace", "", &url_arg, 1) ||
        !cli_parse_at("trace", at_text, &at)) {
        return CLI_USAGE;
    }
    g_autoptr(KvList) headers = kv_list_new();
    for (guint i = 0; header_args != NULL && header_args[i] != NULL; i++) {
        if (!parse_header(header_args[i], headers)) {
            g_printerr("ingress-sim trace: --header '%s': expected 'Name: "
                       "value'\n",
                       header_args[i]);
            return CLI_USAGE;
        }
    }
    if ((cert == NULL) != (key == NULL)) {
        g_printerr("ingress-sim trace: --cert and --key go together\n");
        return CLI_USAGE;
    }
    g_autoptr(Scenario) s = cli_load(argv[1]);
    if (s == NULL) {
        return CLI_ERROR;
    }
    g_autoptr(TlsCert) anchors = load_cert(cacert, "--cacert");
    g_autoptr(TlsCert) client_cert = load_cert(cert, "--cert");
    if ((cacert != NULL && anchors == NULL) || (cert != NULL && client_cert == NULL)) {
        return CLI_ERROR;
    }
    GError *error = NULL;
    if (key != NULL) {
        g_autofree char *pem = NULL;
        gsize len = 0;
        if (!g_file_get_contents(key, &pem, &len, &error) ||
            !tls_key_matches_cert(pem, len, client_cert, &error)) {
            g_printerr("ingress-sim trace: --key %s: %s\n", key, error->message);
            g_error_free(error);
            return CLI_ERROR;
        }
    }
    TraceRequest req = {
        .url = argv[2],
        .method = method,
        .headers = headers,
        .sni = sni,
        .no_sni = no_sni,
        .at = at,
        .seed = seed,
        .anchors = anchors,
        .client_cert = client_cert,
        /* What curl (built with HTTP/2) offers on every TLS connection;
         * cli_trace_one() sends it on https/tls URLs only. */
        .alpn = curl_alpn,
    };
    TraceResult res;
    if (!cli_trace_one(s, &req, &res, &error)) {
        cli_print_error(error);
        g_error_free(error);
        trace_result_clear(&res);
        return CLI_ERROR;
    }
    int rc = CLI_OK;
    if (!res.ended) {
        g_printerr("ingress-sim trace: error: the request did not end within "
                   "an hour of simulated time\n");
        rc = CLI_ERROR;
    } else if (json) {
        g_autoptr(JsonNode) node =
            trace_json(&res, method != NULL ? method : "GET", at);
        g_autofree char *text = cli_json_text(node, TRUE);
        fputs(text, stdout);
    } else {
        g_autofree char *text = cli_trace_text(s, &res, &text_opt);
        fputs(text, stdout);
        response_text(res.response);
    }
    trace_result_clear(&res);
    return rc;
}
