/* app-response.c: the answers of the sample apps (bodies and headers), how
 * Envoy forwards them or answers itself, and a pod's own TLS handshake
 * behind PASSTHROUGH (models, step 9 and the way back; see app-response.h).
 * Every body here cites the upstream code it imitates. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "models/app-response.h"
#include "models/ipv4.h"

/* ---- the response object ----------------------------------------------- */

AppResponse *app_response_new(void)
{
    return g_new0(AppResponse, 1);
}

static void response_reset(AppResponse *r)
{
    g_clear_pointer(&r->headers, kv_list_free);
    if (r->body != NULL) {
        g_string_free(r->body, TRUE);
        r->body = NULL;
    }
    r->status = 0;
    r->http_version = NULL;
}

void app_response_free(AppResponse *r)
{
    if (r == NULL) {
        return;
    }
    response_reset(r);
    g_free(r);
}

/* Appends a header even when the name is already there (KvList's set
 * replaces): a response may repeat a name. */
static void hdr_add(KvList *kv, const char *name, const char *value)
{
    g_ptr_array_add(kv->keys, g_strdup(name));
    g_ptr_array_add(kv->values, g_strdup(value));
}

static void hdr_remove(KvList *kv, const char *name)
{
    for (guint i = kv->keys->len; i-- > 0;) {
        if (g_ascii_strcasecmp(g_ptr_array_index(kv->keys, i), name) == 0) {
            g_ptr_array_remove_index(kv->keys, i);
            g_ptr_array_remove_index(kv->values, i);
        }
    }
}

/* Replaces every @name by one @name: @value, kept where the first was. */
static void hdr_set(KvList *kv, const char *name, const char *value)
{
    for (guint i = 0; i < kv->keys->len; i++) {
        if (g_ascii_strcasecmp(g_ptr_array_index(kv->keys, i), name) == 0) {
            g_free(g_ptr_array_index(kv->values, i));
            g_ptr_array_index(kv->values, i) = g_strdup(value);
            for (guint j = kv->keys->len; j-- > i + 1;) {
                if (g_ascii_strcasecmp(g_ptr_array_index(kv->keys, j), name) ==
                    0) {
                    g_ptr_array_remove_index(kv->keys, j);
                    g_ptr_array_remove_index(kv->values, j);
                }
            }
            return;
        }
    }
    hdr_add(kv, name, value);
}

static const char *hdr_get(const KvList *kv, const char *name)
{
    for (guint i = 0; kv != NULL && i < kv->keys->len; i++) {
        if (g_ascii_strcasecmp(g_ptr_array_index(kv->keys, i), name) == 0) {
            return g_ptr_array_index(kv->values, i);
        }
    }
    return NULL;
}

static KvList *hdr_copy(const KvList *kv)
{
    KvList *out = kv_list_new();
    for (guint i = 0; kv != NULL && i < kv->keys->len; i++) {
        hdr_add(out, g_ptr_array_index(kv->keys, i),
                g_ptr_array_index(kv->values, i));
    }
    return out;
}

AppResponse *app_response_copy(const AppResponse *r)
{
    if (r == NULL) {
        return NULL;
    }
    AppResponse *c = app_response_new();
    c->status = r->status;
    c->http_version = r->http_version;
    c->headers = r->headers != NULL ? hdr_copy(r->headers) : NULL;
    c->body =
        r->body != NULL ? g_string_new_len(r->body->str, r->body->len) : NULL;
    return c;
}

const char *app_response_header(const AppResponse *r, const char *name)
{
    g_return_val_if_fail(r != NULL && name != NULL, NULL);
    return hdr_get(r->headers, name);
}

/* ---- statuses (hot path: no allocation) -------------------------------- */

/* Length of @path without its query or fragment. */
static gsize path_len(const char *path)
{
    return strcspn(path, "?#");
}

static gboolean path_is(const char *path, gsize n, const char *lit)
{
    return strlen(lit) == n && strncmp(path, lit, n) == 0;
}

static gboolean path_under(const char *path, gsize n, const char *prefix)
{
    gsize k = strlen(prefix);
    return n > k && strncmp(path, prefix, k) == 0;
}

/* Digits of @s[0..n) as a number in [lo, hi]; FALSE otherwise. */
static gboolean parse_num(const char *s, gsize n, gint lo, gint hi, gint *out)
{
    if (n == 0 || n > 9) {
        return FALSE;
    }
    gint v = 0;
    for (gsize i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i])) {
            return FALSE;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi) {
        return FALSE;
    }
    *out = v;
    return TRUE;
}

/* httpbin's routes (go-httpbin httpbin/httpbin.go Handler(); the Python
 * httpbin has the same ones): /status/N answers N (100-599, else 400),
 * /delay/N waits N s, at most 10 (the Python httpbin's min(delay, 10); the
 * go-httpbin default MaxDuration is 10 s too), fixed endpoints answer 200,
 * redirects 302, anything else 404. */
static gint
httpbin_status(const char *path, gsize n, SimTime *extra, const char **why)
{
    if (path_under(path, n, "/status/")) {
        gint code = 0;
        if (parse_num(path + 8, n - 8, 100, 599, &code)) {
            *why = "httpbin /status/N answers N";
            return code;
        }
        *why = "httpbin: /status/ with a bad code answers 400";
        return 400;
    }
    if (path_under(path, n, "/delay/")) {
        char num[32];
        gsize k = MIN(n - 7, sizeof num - 1);
        memcpy(num, path + 7, k);
        num[k] = '\0';
        char *end = NULL;
        double s = g_ascii_strtod(num, &end);
        if (end == num || s < 0) {
            *why = "httpbin: /delay/ with a bad duration answers 400";
            return 400;
        }
        s = MIN(s, 10.0);
        *extra = (SimTime)(s * (double)SIM_S);
        *why = "httpbin /delay/N waits N seconds (at most 10)";
        return 200;
    }
    static const char *const known[] = { "/",
                                         "/get",
                                         "/headers",
                                         "/ip",
                                         "/user-agent",
                                         "/anything",
                                         "/post",
                                         "/put",
                                         "/delete",
                                         "/patch",
                                         "/uuid",
                                         "/html",
                                         "/json",
                                         "/xml",
                                         "/robots.txt",
                                         "/deny",
                                         "/cookies",
                                         "/gzip",
                                         "/deflate",
                                         "/hostname",
                                         "/response-headers",
                                         "/encoding/utf8",
                                         "/forms/post",
                                         NULL };
    for (guint i = 0; known[i] != NULL; i++) {
        if (path_is(path, n, known[i])) {
            *why = "httpbin endpoint";
            return 200;
        }
    }
    static const char *const under[] = { "/anything/", "/base64/", "/bytes/",
                                         "/stream/",   "/range/",  "/cache/",
                                         "/etag/",     NULL };
    for (guint i = 0; under[i] != NULL; i++) {
        if (path_under(path, n, under[i])) {
            *why = "httpbin endpoint";
            return 200;
        }
    }
    if (path_under(path, n, "/redirect/") ||
        path_under(path, n, "/relative-redirect/") ||
        path_under(path, n, "/absolute-redirect/") ||
        path_is(path, n, "/redirect-to")) {
        *why = "httpbin redirects answer 302";
        return 302;
    }
    *why = "httpbin has no such endpoint";
    return 404;
}

gint app_response_status(WorkloadPreset preset,
                         const char *method,
                         const char *path,
                         SimTime *extra,
                         const char **why)
{
    *extra = 0;
    if (path == NULL || path[0] == '\0') {
        path = "/";
    }
    if (method == NULL) {
        method = "GET";
    }
    gsize n = path_len(path);
    gboolean get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    switch (preset) {
    case PRESET_HTTPBIN:
        return httpbin_status(path, n, extra, why);
    case PRESET_HELLOWORLD:
        /* samples/helloworld/src/app.py: Flask routes /hello and /health;
         * anything else is Flask's 404. */
        if (path_is(path, n, "/hello") || path_is(path, n, "/health")) {
            *why = "helloworld app.py serves /hello and /health";
            return 200;
        }
        *why = "helloworld serves only /hello and /health";
        return 404;
    case PRESET_NGINX:
        /* The image's default server: static files of
         * /usr/share/nginx/html (index.html, 50x.html); other methods on
         * a static file are 405. */
        if (!get) {
            *why = "nginx serves static files: other methods are 405";
            return 405;
        }
        if (path_is(path, n, "/") || path_is(path, n, "/index.html") ||
            path_is(path, n, "/50x.html")) {
            *why = "nginx's default site";
            return 200;
        }
        *why = "nginx: no such file";
        return 404;
    case PRESET_PRODUCTPAGE:
        /* samples/bookinfo/src/productpage/productpage.py routes. */
        if (path_is(path, n, "/login")) {
            *why = "productpage /login (POST) redirects to the page";
            return strcmp(method, "POST") == 0 ? 302 : 405;
        }
        if (path_is(path, n, "/logout")) {
            *why = "productpage /logout redirects to the page";
            return 302;
        }
        if (path_is(path, n, "/") || path_is(path, n, "/index.html") ||
            path_is(path, n, "/productpage") || path_is(path, n, "/health") ||
            path_is(path, n, "/api/v1/products") ||
            path_under(path, n, "/api/v1/products/")) {
            *why = "bookinfo productpage route";
            return 200;
        }
        *why = "productpage has no such route";
        return 404;
    case PRESET_TCP_ECHO:
    case PRESET_NONE:
        break;
    }
    *why = "the workload's default answer";
    return 200;
}

/* ---- small writers ----------------------------------------------------- */

/* Appends @s as a JSON string (Go's encoding/json with SetEscapeHTML
 * false: quote, backslash and control characters escaped). */
static void json_str(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (*p < 0x20) {
                g_string_append_printf(out, "\\u%04x", *p);
            } else {
                g_string_append_c(out, (char)*p);
            }
        }
    }
    g_string_append_c(out, '"');
}

/* Go's textproto.CanonicalMIMEHeaderKey: upper case the first letter and
 * each letter after '-', lower case the rest ("x-forwarded-for" ->
 * "X-Forwarded-For"); a name with other than token characters stays as
 * it is. Werkzeug shows names the same way. (transfer full) */
static char *canonical_name(const char *name)
{
    for (const char *p = name; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL) {
            return g_strdup(name);
        }
    }
    char *out = g_strdup(name);
    gboolean up = TRUE;
    for (char *p = out; *p != '\0'; p++) {
        *p = up ? g_ascii_toupper(*p) : g_ascii_tolower(*p);
        up = *p == '-';
    }
    return out;
}

typedef struct {
    char *name;        /* canonical */
    GPtrArray *values; /* char*, owned */
} HeaderGroup;

static void group_free(gpointer p)
{
    HeaderGroup *g = p;
    g_free(g->name);
    g_ptr_array_unref(g->values);
    g_free(g);
}

static gint group_cmp(gconstpointer a, gconstpointer b)
{
    const HeaderGroup *x = *(HeaderGroup *const *)a;
    const HeaderGroup *y = *(HeaderGroup *const *)b;
    return strcmp(x->name, y->name);
}

/* The request's headers as a Go http.Header (canonical name -> values in
 * arrival order), names sorted as encoding/json sorts map keys; Host added
 * from the authority (go-httpbin getRequestHeaders sets it). */
static GPtrArray *header_groups(const AppRequest *req)
{
    GPtrArray *gs = g_ptr_array_new_with_free_func(group_free);
    const KvList *h = req->headers;
    guint n = h != NULL ? h->keys->len : 0;
    for (guint i = 0; i <= n; i++) {
        g_autofree char *name = NULL;
        const char *value;
        if (i < n) {
            if (g_ascii_strcasecmp(g_ptr_array_index(h->keys, i), "host") ==
                0) {
                continue;
            }
            name = canonical_name(g_ptr_array_index(h->keys, i));
            value = g_ptr_array_index(h->values, i);
        } else {
            if (req->authority == NULL) {
                continue;
            }
            name = g_strdup("Host");
            value = req->authority;
        }
        HeaderGroup *g = NULL;
        for (guint j = 0; j < gs->len && g == NULL; j++) {
            HeaderGroup *x = g_ptr_array_index(gs, j);
            if (strcmp(x->name, name) == 0) {
                g = x;
            }
        }
        if (g == NULL) {
            g = g_new0(HeaderGroup, 1);
            g->name = g_steal_pointer(&name);
            g->values = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(gs, g);
        }
        g_ptr_array_add(g->values, g_strdup(value));
    }
    g_ptr_array_sort(gs, group_cmp);
    return gs;
}

/* Indentation of @depth levels of two spaces. */
static void indent(GString *out, guint depth)
{
    for (guint i = 0; i < depth; i++) {
        g_string_append(out, "  ");
    }
}

/* "headers": {...} at @depth. @lists: go-httpbin's []string values;
 * otherwise Python httpbin's one string per name (values joined ","). */
static void
json_headers(GString *out, const AppRequest *req, guint depth, gboolean lists)
{
    g_autoptr(GPtrArray) gs = header_groups(req);
    g_string_append(out, "{\n");
    for (guint i = 0; i < gs->len; i++) {
        const HeaderGroup *g = g_ptr_array_index(gs, i);
        indent(out, depth + 1);
        json_str(out, g->name);
        g_string_append(out, ": ");
        if (lists) {
            g_string_append(out, "[\n");
            for (guint j = 0; j < g->values->len; j++) {
                indent(out, depth + 2);
                json_str(out, g_ptr_array_index(g->values, j));
                g_string_append(out, j + 1 < g->values->len ? ",\n" : "\n");
            }
            indent(out, depth + 1);
            g_string_append(out, "]");
        } else {
            g_autofree char *joined = NULL;
            g_ptr_array_add(g->values, NULL);
            joined = g_strjoinv(",", (char **)g->values->pdata);
            g_ptr_array_remove_index(g->values, g->values->len - 1);
            json_str(out, joined);
        }
        g_string_append(out, i + 1 < gs->len ? ",\n" : "\n");
    }
    indent(out, depth);
    g_string_append(out, "}");
}

/* The query string of @path as a JSON object of lists (go-httpbin "args"),
 * keys in order of appearance, not decoded beyond '+'. */
static void json_args(GString *out, const char *path, guint depth)
{
    const char *q = strchr(path, '?');
    if (q == NULL || q[1] == '\0') {
        g_string_append(out, "{}");
        return;
    }
    g_auto(GStrv) pairs = g_strsplit(q + 1, "&", -1);
    g_string_append(out, "{\n");
    guint n = g_strv_length(pairs);
    for (guint i = 0; i < n; i++) {
        const char *eq = strchr(pairs[i], '=');
        g_autofree char *k = eq != NULL
                                 ? g_strndup(pairs[i], (gsize)(eq - pairs[i]))
                                 : g_strdup(pairs[i]);
        g_autofree char *v = g_strdup(eq != NULL ? eq + 1 : "");
        g_strdelimit(v, "+", ' ');
        indent(out, depth + 1);
        json_str(out, k);
        g_string_append(out, ": [\n");
        indent(out, depth + 2);
        json_str(out, v);
        g_string_append(out, "\n");
        indent(out, depth + 1);
        g_string_append(out, i + 1 < n ? "],\n" : "]\n");
    }
    indent(out, depth);
    g_string_append(out, "}");
}

/* go-httpbin getClientIP: the first X-Forwarded-For entry, else the peer. */
static char *client_origin(const AppRequest *req)
{
    const char *xff = hdr_get(req->headers, "x-forwarded-for");
    if (xff != NULL && xff[0] != '\0') {
        g_autofree char *first = g_strndup(xff, strcspn(xff, ","));
        return g_strstrip(g_steal_pointer(&first));
    }
    return g_strdup(req->remote_addr != NULL ? req->remote_addr : "");
}

/* go-httpbin getURL: X-Forwarded-Proto, the Host, the path. */
static char *request_url(const AppRequest *req)
{
    const char *proto = hdr_get(req->headers, "x-forwarded-proto");
    if (proto == NULL) {
        proto = req->scheme != NULL ? req->scheme : "http";
    }
    return g_strdup_printf("%s://%s%s", proto,
                           req->authority != NULL ? req->authority : "",
                           req->path != NULL ? req->path : "/");
}

/* ---- the containers' own configuration --------------------------------- */

/* The first container of @pod's manifest (a Pod, or the template of the
 * Deployment it was made from), or NULL. */
static const YNode *pod_container(const K8sPod *pod)
{
    const YNode *doc = pod->meta.doc;
    if (doc == NULL) {
        return NULL;
    }
    /* A generated pod's document is its Deployment's (models/cluster.c). */
    const YNode *spec = g_strcmp0(ynode_str(ynode_get(doc, "kind")), "Pod") == 0
                            ? ynode_get(doc, "spec")
                            : ynode_path(doc, "spec.template.spec");
    const YNode *cs = spec != NULL ? ynode_get(spec, "containers") : NULL;
    return cs != NULL && ynode_len(cs) > 0 ? ynode_at(cs, 0) : NULL;
}

static const char *container_env(const YNode *c, const char *name)
{
    const YNode *env = c != NULL ? ynode_get(c, "env") : NULL;
    for (guint i = 0; i < ynode_len(env); i++) {
        const YNode *e = ynode_at(env, i);
        if (g_strcmp0(ynode_str(ynode_get(e, "name")), name) == 0) {
            return ynode_str(ynode_get(e, "value"));
        }
    }
    return NULL;
}

/* tcp-echo's prefix: its second argument (samples/tcp-echo/src/main.go:
 * "ports prefix"), the sample manifests pass ["9000,9001,9002", "one"];
 * without args the image's CMD ["9000", "hello"] applies (its
 * Dockerfile). */
static const char *tcp_echo_prefix(const K8sPod *pod)
{
    const YNode *c = pod != NULL ? pod_container(pod) : NULL;
    const YNode *args = c != NULL ? ynode_get(c, "args") : NULL;
    if (ynode_len(args) >= 2 && ynode_str(ynode_at(args, 1)) != NULL) {
        return ynode_str(ynode_at(args, 1));
    }
    return "hello";
}

/* helloworld's version: SERVICE_VERSION from the manifest, else the one
 * the image was built with (examples-helloworld-v2: build arg
 * service_version, default v1: samples/helloworld/src/Dockerfile). */
static char *helloworld_version(const K8sPod *pod)
{
    const YNode *c = pod != NULL ? pod_container(pod) : NULL;
    const char *v = container_env(c, "SERVICE_VERSION");
    if (v != NULL) {
        return g_strdup(v);
    }
    const char *image = pod != NULL ? k8s_pod_image(pod) : "";
    const char *h = strstr(image, "helloworld-");
    if (h != NULL) {
        h += strlen("helloworld-");
        gsize n = strcspn(h, ":@/");
        if (n > 0) {
            return g_strndup(h, n);
        }
    }
    return g_strdup("v1");
}

/* The Python httpbin (kennethreitz/httpbin, kong/httpbin: the sample
 * before istio 1.24) rather than go-httpbin. */
static gboolean python_httpbin(const K8sPod *pod)
{
    const char *image = pod != NULL ? k8s_pod_image(pod) : "";
    return strstr(image, "go-httpbin") == NULL &&
           (strstr(image, "kennethreitz/httpbin") != NULL ||
            strstr(image, "kong/httpbin") != NULL ||
            strstr(image, "citizenstig/httpbin") != NULL);
}

/* ---- app bodies -------------------------------------------------------- */

/* kennethreitz httpbin helpers.py ASCII_ART, as curl prints it (135 bytes,
 * the length Istio's access-log task shows for /status/418). */
static const char teapot_art[] = "\n"
                                 "    -=[ teapot ]=-\n"
                                 "\n"
                                 "       _...._\n"
                                 "     .'  _ _ `.\n"
                                 "    | .\"` ^ `\". _,\n"
                                 "    \\_;`\"---\"`|//\n"
                                 "      |       ;/\n"
                                 "      \\_     _/\n"
                                 "        `\"\"\"`\n";

/* nginx's /usr/share/nginx/html/index.html (the image's default site). */
static const char nginx_index[] =
    "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n"
    "<style>\nhtml { color-scheme: light dark; }\nbody { width: 35em; "
    "margin: 0 auto;\nfont-family: Tahoma, Verdana, Arial, sans-serif; }\n"
    "</style>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see "
    "this page, the nginx web server is successfully installed and\nworking. "
    "Further configuration is required.</p>\n\n<p>For online documentation "
    "and support please refer to\n<a href=\"http://nginx.org/\">nginx.org</a>."
    "<br/>\nCommercial support is available at\n<a href=\"http://nginx.com/\">"
    "nginx.com</a>.</p>\n\n<p><em>Thank you for using nginx.</em></p>\n"
    "</body>\n</html>\n";

/* Flask's (werkzeug's) 404 page. */
static const char flask_404[] =
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n"
    "<h1>Not Found</h1>\n<p>The requested URL was not found on the server. "
    "If you entered the URL manually please check your spelling and try "
    "again.</p>\n";

static void set_body(AppResponse *out,
                     const char *content_type,
                     const char *body,
                     gsize len)
{
    if (content_type != NULL) {
        hdr_set(out->headers, "content-type", content_type);
    }
    out->body = g_string_new_len(body, (gssize)len);
}

/* go-httpbin's error body (helpers.go writeError). */
static void go_httpbin_error(AppResponse *out, gint status, const char *text)
{
    g_autofree char *b = g_strdup_printf(
        "{\n  \"status_code\": %d,\n  \"error\": \"%s\"\n}\n", status, text);
    set_body(out, "application/json; charset=utf-8", b, strlen(b));
}

static void httpbin_body(AppResponse *out,
                         const K8sPod *pod,
                         const AppRequest *req,
                         gint status)
{
    gboolean py = python_httpbin(pod);
    const char *path = req->path != NULL ? req->path : "/";
    gsize n = path_len(path);
    const char *json_ct =
        py ? "application/json" : "application/json; charset=utf-8";
    if (py) {
        /* Flask behind gunicorn, with flask-cors (httpbin/core.py). */
        hdr_add(out->headers, "server", "gunicorn/19.9.0");
        hdr_add(out->headers, "access-control-allow-origin", "*");
        hdr_add(out->headers, "access-control-allow-credentials", "true");
    } else {
        /* go-httpbin middleware.go metaRequests: CORS on every answer. */
        hdr_add(out->headers, "access-control-allow-credentials", "true");
        hdr_add(out->headers, "access-control-allow-origin", "*");
    }
    if (path_under(path, n, "/status/")) {
        /* go-httpbin handlers.go doStatus/createSpecialCases: text/plain,
         * 418 "I'm a teapot!" with X-More-Info; the Python httpbin
         * (helpers.py status_code) answers 418 with its ASCII_ART. */
        hdr_set(out->headers, "content-type",
                py ? "text/html; charset=utf-8" : "text/plain; charset=utf-8");
        if (status == 418) {
            hdr_add(out->headers, "x-more-info",
                    "http://tools.ietf.org/html/rfc2324");
            if (py) {
                set_body(out, NULL, teapot_art, sizeof teapot_art - 1);
            } else {
                set_body(out, NULL, "I'm a teapot!", 13);
            }
        } else if (status == 401) {
            hdr_add(out->headers, "www-authenticate",
                    "Basic realm=\"Fake Realm\"");
        } else if (status >= 300 && status < 400 && status != 304) {
            hdr_add(out->headers, "location", "/redirect/1");
        }
        return;
    }
    if (status == 404) {
        if (py) {
            set_body(out, "text/html", flask_404, sizeof flask_404 - 1);
        } else {
            go_httpbin_error(out, 404, "Not Found");
        }
        return;
    }
    if (status == 400) {
        go_httpbin_error(out, 400, "Bad Request");
        return;
    }
    if (status != 200) {
        return;
    }
    GString *b = g_string_new(NULL);
    if (path_is(path, n, "/headers")) {
        /* go-httpbin Headers: {"headers": http.Header}, lists of values;
         * Python httpbin: one string per name. */
        g_string_append(b, "{\n  \"headers\": ");
        json_headers(b, req, 1, !py);
        g_string_append(b, "\n}\n");
    } else if (path_is(path, n, "/ip")) {
        g_autofree char *origin = client_origin(req);
        g_string_append(b, "{\n  \"origin\": ");
        json_str(b, origin);
        g_string_append(b, "\n}\n");
    } else if (path_is(path, n, "/user-agent")) {
        const char *ua = hdr_get(req->headers, "user-agent");
        g_string_append(b, "{\n  \"user-agent\": ");
        json_str(b, ua != NULL ? ua : "");
        g_string_append(b, "\n}\n");
    } else if (path_is(path, n, "/get") || path_under(path, n, "/delay/") ||
               path_is(path, n, "/anything") ||
               path_under(path, n, "/anything/") || path_is(path, n, "/post") ||
               path_is(path, n, "/put") || path_is(path, n, "/patch") ||
               path_is(path, n, "/delete")) {
        /* go-httpbin noBodyResponse (GET) / bodyResponse (the others and
         * /delay, which answers as RequestWithBody), fields in struct
         * order. */
        gboolean with_body = !path_is(path, n, "/get");
        g_autofree char *origin = client_origin(req);
        g_autofree char *url = request_url(req);
        g_string_append(b, "{\n  \"args\": ");
        json_args(b, path, 1);
        if (with_body) {
            g_string_append(b, ",\n  \"data\": ");
            json_str(b, req->body != NULL ? req->body : "");
            g_string_append(b, ",\n  \"files\": {},\n  \"form\": {}");
        }
        g_string_append(b, ",\n  \"headers\": ");
        json_headers(b, req, 1, !py);
        if (with_body) {
            g_string_append(b, ",\n  \"json\": null");
        }
        g_string_append(b, ",\n  \"method\": ");
        json_str(b, req->method != NULL ? req->method : "GET");
        g_string_append(b, ",\n  \"origin\": ");
        json_str(b, origin);
        g_string_append(b, ",\n  \"url\": ");
        json_str(b, url);
        g_string_append(b, "\n}\n");
    } else {
        /* Other endpoints: their shape is not modelled; an empty JSON
         * object keeps the status and the content type honest. */
        g_string_append(b, "{}\n");
    }
    set_body(out, json_ct, b->str, b->len);
    g_string_free(b, TRUE);
}

static void helloworld_body(AppResponse *out,
                            const K8sPod *pod,
                            const AppRequest *req,
                            gint status)
{
    const char *path = req->path != NULL ? req->path : "/";
    gsize n = path_len(path);
    hdr_add(out->headers, "server", "gunicorn");
    if (status == 404) {
        set_body(out, "text/html; charset=utf-8", flask_404,
                 sizeof flask_404 - 1);
        return;
    }
    if (status != 200) {
        return;
    }
    if (path_is(path, n, "/health")) {
        set_body(out, "text/html; charset=utf-8", "Helloworld is healthy", 21);
        return;
    }
    /* app.py hello(): 'Hello version: %s, instance: %s\n' with
     * SERVICE_VERSION and HOSTNAME (the pod's name). */
    g_autofree char *version = helloworld_version(pod);
    g_autofree char *b =
        g_strdup_printf("Hello version: %s, instance: %s\n", version,
                        pod != NULL ? pod->meta.name : "helloworld");
    set_body(out, "text/html; charset=utf-8", b, strlen(b));
}

static void nginx_body(AppResponse *out, gint status)
{
    hdr_add(out->headers, "server", "nginx");
    if (status == 200) {
        set_body(out, "text/html", nginx_index, sizeof nginx_index - 1);
        hdr_add(out->headers, "accept-ranges", "bytes");
        return;
    }
    const char *text = status == 404   ? "404 Not Found"
                       : status == 405 ? "405 Not Allowed"
                       : status == 400 ? "400 Bad Request"
                                       : NULL;
    if (text != NULL) {
        g_autofree char *b = g_strdup_printf(
            "<html>\n<head><title>%s</title></head>\n<body>\n<center><h1>%s"
            "</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n",
            text, text);
        set_body(out, "text/html", b, strlen(b));
    }
}

static void
productpage_body(AppResponse *out, const AppRequest *req, gint status)
{
    const char *path = req->path != NULL ? req->path : "/";
    gsize n = path_len(path);
    if (status == 302) {
        /* productpage.py login()/logout(): redirect to the page. */
        hdr_add(out->headers, "location", "productpage");
        hdr_set(out->headers, "content-type", "text/html; charset=utf-8");
        return;
    }
    if (status == 404 || status == 405) {
        set_body(out, "text/html; charset=utf-8", flask_404,
                 sizeof flask_404 - 1);
        return;
    }
    if (status != 200) {
        return;
    }
    if (path_is(path, n, "/health")) {
        set_body(out, "text/html; charset=utf-8", "Product page is healthy",
                 23);
        return;
    }
    if (path_under(path, n, "/api/v1/products") ||
        path_is(path, n, "/api/v1/products")) {
        static const char products[] =
            "[{\"id\": 0, \"title\": \"The Comedy of Errors\", "
            "\"descriptionHtml\": \"<a href=\\\"https://en.wikipedia.org/wiki/"
            "The_Comedy_of_Errors\\\">Wikipedia Summary</a>: The Comedy of "
            "Errors is one of <b>William Shakespeare's</b> early plays. It is "
            "his shortest and one of his most farcical comedies, with a major "
            "part of the humour coming from slapstick and mistaken identity, "
            "in addition to puns and word play.\"}]";
        set_body(out, "application/json", products, sizeof products - 1);
        return;
    }
    /* templates/productpage.html and index.html extend base.html, whose
     * <title> is "Simple Bookstore App". What the page shows of details
     * and reviews comes from the mesh calls productpage makes (sidecar
     * hops beyond the nine steps): not rendered here. */
    gboolean page = path_is(path, n, "/productpage");
    g_autofree char *b = g_strdup_printf(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <title>Simple Bookstore App"
        "</title>\n  </head>\n  <body>\n%s  </body>\n</html>\n",
        page ? "    <h3 class=\"text-center text-primary\">The Comedy of "
               "Errors</h3>\n    <!-- details and reviews: in-mesh calls, "
               "not simulated -->\n"
             : "    <p>Hello! This is a simple bookstore application "
               "consisting of three services.</p>\n");
    set_body(out, "text/html; charset=utf-8", b, strlen(b));
}

/* tcp-echo: each line the client sent comes back as "<prefix> <line>"; a
 * last line without a newline is never answered (ReadBytes('\n') returns
 * it with EOF and the handler returns). */
static void
tcp_echo_stream(AppResponse *out, const K8sPod *pod, const char *payload)
{
    if (payload == NULL || payload[0] == '\0') {
        return;
    }
    const char *prefix = tcp_echo_prefix(pod);
    GString *b = g_string_new(NULL);
    for (const char *p = payload; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL) {
            break;
        }
        g_string_append_printf(b, "%s %.*s\n", prefix, (int)(nl - p), p);
        p = nl + 1;
    }
    out->body = b;
}

void app_response_build(AppResponse *out,
                        WorkloadPreset preset,
                        const K8sPod *pod,
                        const AppRequest *req,
                        gint status,
                        gboolean stream)
{
    g_return_if_fail(out != NULL && req != NULL);
    response_reset(out);
    if (stream) {
        if (preset == PRESET_TCP_ECHO) {
            tcp_echo_stream(out, pod, req->body);
        }
        return;
    }
    out->status = status;
    out->http_version = "1.1";
    out->headers = kv_list_new();
    const char *method = req->method != NULL ? req->method : "GET";
    const char *path = req->path != NULL ? req->path : "/";
    /* The body belongs to the preset's own answer; a status the scenario's
     * `responses` table imposed says nothing about it. */
    SimTime extra = 0;
    const char *why = NULL;
    gboolean own =
        preset != PRESET_NONE &&
        app_response_status(preset, method, path, &extra, &why) == status;
    if (own) {
        switch (preset) {
        case PRESET_HTTPBIN:
            httpbin_body(out, pod, req, status);
            break;
        case PRESET_HELLOWORLD:
            helloworld_body(out, pod, req, status);
            break;
        case PRESET_NGINX:
            nginx_body(out, status);
            break;
        case PRESET_PRODUCTPAGE:
            productpage_body(out, req, status);
            break;
        case PRESET_TCP_ECHO:
        case PRESET_NONE:
            break;
        }
    }
    gsize len = out->body != NULL ? out->body->len : 0;
    g_autofree char *cl = g_strdup_printf("%" G_GSIZE_FORMAT, len);
    if (status != 204 && status != 304) {
        hdr_set(out->headers, "content-length", cl);
    }
    if (strcmp(method, "HEAD") == 0 || status == 204 || status == 304) {
        if (out->body != NULL) {
            g_string_free(out->body, TRUE);
            out->body = NULL;
        }
    }
}

/* ---- Envoy ------------------------------------------------------------- */

void app_response_via_envoy(AppResponse *r,
                            const char *alpn,
                            SimTime upstream_time)
{
    g_return_if_fail(r != NULL && r->headers != NULL);
    r->http_version = g_strcmp0(alpn, "h2") == 0 ? "2" : "1.1";
    g_autofree char *ms =
        g_strdup_printf("%" G_GINT64_FORMAT, upstream_time / SIM_MS);
    hdr_set(r->headers, "x-envoy-upstream-service-time", ms);
    /* HTTP/2 forbids connection-specific headers (RFC 9113 8.2.2). */
    if (strcmp(r->http_version, "2") == 0) {
        hdr_remove(r->headers, "connection");
        hdr_remove(r->headers, "transfer-encoding");
        hdr_remove(r->headers, "keep-alive");
    }
    hdr_set(r->headers, "server", "istio-envoy");
}

/* The body of an Envoy local reply for response flags @flags. */
static const char *local_reply_text(gint status, const char *flags)
{
    if (flags == NULL) {
        return NULL;
    }
    gboolean retried = strstr(flags, "URX") != NULL;
    if (strstr(flags, "FI") != NULL) {
        return "fault filter abort";
    }
    if (strstr(flags, "UH") != NULL) {
        return "no healthy upstream";
    }
    if (strstr(flags, "UT") != NULL) {
        return "upstream request timeout";
    }
    if (strstr(flags, "UF") != NULL) {
        return retried ? "upstream connect error or disconnect/reset before "
                         "headers. retried and the latest reset reason: "
                         "connection failure"
                       : "upstream connect error or disconnect/reset before "
                         "headers. reset reason: connection failure";
    }
    if (strstr(flags, "UO") != NULL) {
        return "upstream connect error or disconnect/reset before headers. "
               "reset reason: overflow";
    }
    if (strstr(flags, "UC") != NULL) {
        return "upstream connect error or disconnect/reset before headers. "
               "reset reason: connection termination";
    }
    return NULL; /* NR, NC and redirects: empty body */
}

void app_response_local_reply(AppResponse *out,
                              gint status,
                              const char *flags,
                              const char *location,
                              const char *body,
                              const char *alpn,
                              gboolean head)
{
    g_return_if_fail(out != NULL);
    response_reset(out);
    out->status = status;
    out->http_version = g_strcmp0(alpn, "h2") == 0 ? "2" : "1.1";
    out->headers = kv_list_new();
    if (location != NULL) {
        hdr_add(out->headers, "location", location);
    }
    const char *text = body != NULL ? body : local_reply_text(status, flags);
    gsize len = text != NULL ? strlen(text) : 0;
    g_autofree char *cl = g_strdup_printf("%" G_GSIZE_FORMAT, len);
    hdr_add(out->headers, "content-length", cl);
    if (len > 0) {
        hdr_add(out->headers, "content-type", "text/plain");
        if (!head) {
            out->body = g_string_new_len(text, (gssize)len);
        }
    }
    hdr_add(out->headers, "server", "istio-envoy");
}

/* RFC 1918 or loopback: Envoy's default internal address check
 * (Network::Utility::isInternalAddress). */
static gboolean internal_ipv4(const char *ip)
{
    guint32 a;
    if (!ipv4_parse(ip, &a)) {
        return FALSE;
    }
    return (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == 0xac1 ||
           (a >> 16) == 0xc0a8;
}

void app_request_id(guint64 seed, guint64 id, char buf[APP_REQUEST_ID_LEN])
{
    /* splitmix64 (Steele, Lea, Flood 2014) twice over seed and id. */
    guint64 x = seed ^ (id * G_GUINT64_CONSTANT(0xd1342543de82ef95));
    guint64 h[2];
    for (guint i = 0; i < 2; i++) {
        guint64 z = (x += G_GUINT64_CONSTANT(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT(0x94d049bb133111eb);
        h[i] = z ^ (z >> 31);
    }
    g_snprintf(buf, APP_REQUEST_ID_LEN,
               "%08x-%04x-4%03x-%04x-%012" G_GINT64_MODIFIER "x",
               (guint)(h[0] >> 32), (guint)((h[0] >> 16) & 0xffff),
               (guint)(h[0] & 0xfff),
               (guint)(0x8000 | ((h[1] >> 48) & 0x3fff)),
               (guint64)(h[1] & G_GUINT64_CONSTANT(0xffffffffffff)));
}

KvList *app_request_headers_via_envoy(const KvList *client,
                                      const GatewayDecision *d,
                                      const char *scheme,
                                      const char *downstream_ip,
                                      guint64 seed,
                                      guint64 request_id,
                                      guint attempt)
{
    g_return_val_if_fail(d != NULL, NULL);
    KvList *h = kv_list_new();
    if (d->authority != NULL) {
        hdr_add(h, "host", d->authority);
    }
    const char *xff = NULL;
    for (guint i = 0; client != NULL && i < client->keys->len; i++) {
        const char *k = g_ptr_array_index(client->keys, i);
        const char *v = g_ptr_array_index(client->values, i);
        if (g_ascii_strcasecmp(k, "host") == 0 ||
            g_ascii_strncasecmp(k, "x-envoy-", 8) == 0 ||
            g_ascii_strcasecmp(k, "x-request-id") == 0) {
            continue;
        }
        if (g_ascii_strcasecmp(k, "x-forwarded-for") == 0) {
            xff = v;
            continue;
        }
        g_autofree char *lk = g_ascii_strdown(k, -1);
        hdr_add(h, lk, v);
    }
    const char *ip = downstream_ip != NULL ? downstream_ip : "";
    g_autofree char *fwd =
        xff != NULL ? g_strdup_printf("%s,%s", xff, ip) : g_strdup(ip);
    hdr_set(h, "x-forwarded-for", fwd);
    hdr_set(h, "x-forwarded-proto", scheme != NULL ? scheme : "http");
    char rid[APP_REQUEST_ID_LEN];
    app_request_id(seed, request_id, rid);
    hdr_set(h, "x-request-id", rid);
    if (internal_ipv4(downstream_ip)) {
        hdr_set(h, "x-envoy-internal", "true");
    }
    g_autofree char *att = g_strdup_printf("%u", MAX(attempt, 1u));
    hdr_set(h, "x-envoy-attempt-count", att);
    if (d->cluster != NULL && d->cluster->host != NULL) {
        g_autofree char *op =
            g_strdup_printf("%s:%d/*", d->cluster->host, d->cluster->port);
        hdr_set(h, "x-envoy-decorator-operation", op);
    }
    for (guint i = 0; d->headers_remove != NULL && i < d->headers_remove->len;
         i++) {
        hdr_remove(h, g_ptr_array_index(d->headers_remove, i));
    }
    for (guint i = 0; d->headers_set != NULL && i < d->headers_set->keys->len;
         i++) {
        g_autofree char *lk =
            g_ascii_strdown(g_ptr_array_index(d->headers_set->keys, i), -1);
        hdr_set(h, lk, g_ptr_array_index(d->headers_set->values, i));
    }
    for (guint i = 0; d->headers_add != NULL && i < d->headers_add->keys->len;
         i++) {
        g_autofree char *lk =
            g_ascii_strdown(g_ptr_array_index(d->headers_add->keys, i), -1);
        hdr_add(h, lk, g_ptr_array_index(d->headers_add->values, i));
    }
    return h;
}

/* ---- a pod's own TLS --------------------------------------------------- */

/* The first Secret with a tls.crt that @pod's first container mounts. */
static const K8sSecret *mounted_tls_secret(const Cluster *c, const K8sPod *pod)
{
    if (c == NULL || pod->spec.containers->len == 0) {
        return NULL;
    }
    const K8sContainer *ct = g_ptr_array_index(pod->spec.containers, 0);
    for (guint i = 0; ct->mounts != NULL && i < ct->mounts->len; i++) {
        const K8sVolumeMount *m = &g_array_index(ct->mounts, K8sVolumeMount, i);
        for (guint j = 0;
             pod->spec.volumes != NULL && j < pod->spec.volumes->len; j++) {
            const K8sVolume *v =
                &g_array_index(pod->spec.volumes, K8sVolume, j);
            if (v->secret_name == NULL || g_strcmp0(v->name, m->name) != 0) {
                continue;
            }
            const K8sSecret *s =
                cluster_find_secret(c, pod->meta.ns, v->secret_name);
            if (s != NULL && kv_list_get(s->data, "tls.crt") != NULL) {
                return s;
            }
        }
    }
    return NULL;
}

AppTlsResult app_tls_handshake(const Cluster *c,
                               const K8sPod *pod,
                               WorkloadPreset preset,
                               const TlsCert *anchors,
                               const char *verify_host,
                               gint64 now_unix,
                               char **detail,
                               char **subject)
{
    g_return_val_if_fail(pod != NULL, APP_TLS_PLAINTEXT);
    if (detail != NULL) {
        *detail = NULL;
    }
    if (subject != NULL) {
        *subject = NULL;
    }
    const K8sSecret *s = mounted_tls_secret(c, pod);
    if (s == NULL) {
        if (preset != PRESET_NONE) {
            if (detail != NULL) {
                *detail = g_strdup_printf(
                    "%s (%s) speaks plain text on its port: the client's "
                    "ClientHello gets no TLS answer (curl: wrong version "
                    "number)",
                    pod->meta.name, k8s_pod_image(pod));
            }
            return APP_TLS_PLAINTEXT;
        }
        if (anchors != NULL) {
            if (detail != NULL) {
                *detail = g_strdup_printf(
                    "%s mounts no Secret with a tls.crt: the certificate it "
                    "serves is not in the manifests, so the client's check "
                    "cannot pass here",
                    pod->meta.name);
            }
            return APP_TLS_REJECTED;
        }
        if (detail != NULL) {
            *detail = g_strdup_printf("%s terminates TLS (certificate not in "
                                      "the manifests; the client does not "
                                      "verify)",
                                      pod->meta.name);
        }
        return APP_TLS_OK;
    }
    g_autofree char *what =
        g_strdup_printf("secret %s/%s tls.crt", s->meta.ns, s->meta.name);
    if (anchors == NULL && subject == NULL) {
        if (detail != NULL) {
            *detail = g_strdup_printf("%s serves the certificate of %s; the "
                                      "client does not verify",
                                      pod->meta.name, what);
        }
        return APP_TLS_OK;
    }
    const char *pem = kv_list_get(s->data, "tls.crt");
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsCert) cert = tls_cert_parse(pem, strlen(pem), what, &err);
    if (cert == NULL) {
        if (detail != NULL) {
            *detail = g_strdup_printf("%s cannot load its certificate: %s",
                                      pod->meta.name, err->message);
        }
        return APP_TLS_PLAINTEXT; /* nginx refuses to start the server */
    }
    if (subject != NULL) {
        *subject = tls_cert_subject(cert);
    }
    if (anchors == NULL) {
        if (detail != NULL) {
            *detail = g_strdup_printf("%s serves the certificate of %s; the "
                                      "client does not verify",
                                      pod->meta.name, what);
        }
        return APP_TLS_OK;
    }
    g_autofree char *why = NULL;
    TlsVerifyResult vr =
        tls_cert_verify(cert, anchors, verify_host, now_unix, &why);
    if (detail != NULL) {
        *detail = g_strdup_printf("%s serves the certificate of %s: %s",
                                  pod->meta.name, what,
                                  vr == TLS_VERIFY_OK ? "SSL certificate "
                                                        "verify ok"
                                                      : why);
    }
    return vr == TLS_VERIFY_OK ? APP_TLS_OK : APP_TLS_REJECTED;
}
