/* test-gateway-util.c: helpers shared by the gateway tests (tests ->
 * models/gateway): scenario loading, requests, a PKI made at test time. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "tests/test-gateway-util.h"

GwtFixture *gwt_load(const char *yaml)
{
    GwtFixture *f = g_new0(GwtFixture, 1);
    f->sc = scenario_load_string("test.yaml", yaml, &f->error);
    if (f->sc == NULL) {
        return f;
    }
    g_autoptr(GPtrArray) pods = cluster_gateway_pods(f->sc->cluster);
    if (pods->len == 0) {
        g_set_error(&f->error, SCENARIO_ERROR, SCENARIO_ERROR_FAILED,
                    "no gateway pod");
        return f;
    }
    f->snap =
        gateway_compile(f->sc->cluster, g_ptr_array_index(pods, 0), &f->error);
    return f;
}

void gwt_free(GwtFixture *f)
{
    if (f == NULL) {
        return;
    }
    gateway_snapshot_unref(f->snap);
    scenario_free(f->sc);
    g_clear_error(&f->error);
    g_free(f);
}

static const char *const alpn_h2[] = { "h2", "http/1.1", NULL };

GatewayRequest gwt_http(gint port, const char *authority, const char *path)
{
    GatewayRequest r = { 0 };
    r.port = port;
    r.http = TRUE;
    r.scheme = "http";
    r.method = "GET";
    r.authority = authority;
    r.path = path;
    r.now_unix = (gint64)(g_get_real_time() / G_USEC_PER_SEC);
    return r;
}

GatewayRequest
gwt_https(gint port, const char *sni, const char *authority, const char *path)
{
    GatewayRequest r = gwt_http(port, authority, path);
    r.tls = TRUE;
    r.sni = sni;
    r.alpn = alpn_h2;
    r.scheme = "https";
    r.verify_host = sni;
    return r;
}

GatewayRequest gwt_stream(gint port, gboolean tls, const char *sni)
{
    GatewayRequest r = { 0 };
    r.port = port;
    r.tls = tls;
    r.sni = sni;
    r.verify_host = sni;
    r.now_unix = (gint64)(g_get_real_time() / G_USEC_PER_SEC);
    return r;
}

void gwt_decide(const GwtFixture *f,
                const GatewayRequest *req,
                GatewayDecision *out)
{
    Rng rng;
    rng_init_named(&rng, 1, "test");
    gateway_decide(f->snap, req, &rng, out, NULL, 0, NULL);
}

void gwt_rm_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d != NULL) {
        const char *n;
        while ((n = g_dir_read_name(d)) != NULL) {
            g_autofree char *child = g_build_filename(path, n, NULL);
            gwt_rm_tree(child);
        }
        g_dir_close(d);
    }
    g_remove(path);
}

char *gwt_pki_new(void)
{
    const char *base = g_getenv("SIM_BUILDDIR");
    const char *src = g_getenv("SIM_SRCDIR");
    g_autofree char *dir = g_build_filename(
        base != NULL ? base : g_get_tmp_dir(), "test-gw-pki-XXXXXX", NULL);
    if (g_mkdtemp(dir) == NULL) {
        return NULL;
    }
    g_autofree char *script = g_build_filename(src != NULL ? src : ".", "tests",
                                               "make-certs.sh", NULL);
    char *argv[] = { (char *)"/bin/sh", script, dir, NULL };
    gint status = 0;
    if (!g_spawn_sync(NULL, argv, NULL,
                      G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, NULL, NULL, &status, NULL) ||
        !g_spawn_check_wait_status(status, NULL)) {
        gwt_rm_tree(dir);
        return NULL;
    }
    return g_steal_pointer(&dir);
}

char *gwt_read(const char *dir, const char *rel)
{
    g_autofree char *p = g_build_filename(dir, rel, NULL);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL)) {
        return NULL;
    }
    return text;
}

char *gwt_indent(const char *pem, guint n)
{
    g_auto(GStrv) lines = g_strsplit(pem, "\n", -1);
    GString *out = g_string_new(NULL);
    for (guint i = 0; lines[i] != NULL; i++) {
        if (lines[i][0] == '\0') {
            continue;
        }
        for (guint k = 0; k < n; k++) {
            g_string_append_c(out, ' ');
        }
        g_string_append(out, lines[i]);
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}
