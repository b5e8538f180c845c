/* test-gateway-docs.c: the Istio docs-test case loader (tests): parses a
 * case file in place, makes its certificates with openssl and its Secrets
 * from its kubectl setup commands, and writes a scenario text. */
#include "config.h"

#include <string.h>

#include "tests/test-gateway-docs.h"
#include "tests/test-gateway-util.h"

static void request_free(gpointer p)
{
    DocsRequest *r = p;
    kv_list_free(r->headers);
    g_strfreev(r->alpn);
    g_free(r);
}

void docs_case_free(DocsCase *dc)
{
    if (dc == NULL) {
        return;
    }
    if (dc->workdir != NULL) {
        gwt_rm_tree(dc->workdir);
        g_free(dc->workdir);
    }
    g_ptr_array_unref(dc->requests);
    g_ptr_array_unref(dc->expect);
    g_ptr_array_unref(dc->derived);
    if (dc->yaml != NULL) {
        g_ptr_array_unref(dc->yaml);
    }
    g_free(dc);
}

char *docs_cases_dir(void)
{
    const char *src = g_getenv("SIM_SRCDIR");
    return g_build_filename(src != NULL ? src : ".", "..", "shared",
                            "reference", "istio-docs-tests", NULL);
}

static void facts(const YNode *seq, GPtrArray *out)
{
    for (guint i = 0; i < ynode_len(seq); i++) {
        const YNode *m = ynode_at(seq, i);
        if (m->kind != YNODE_MAP) {
            continue;
        }
        DocsFact *f = g_new0(DocsFact, 1);
        f->request = ynode_str(ynode_get(m, "request"));
        f->map = m;
        g_ptr_array_add(out, f);
    }
}

DocsCase *docs_case_load(const char *path, GError **error)
{
    g_autoptr(DocsCase) dc = g_new0(DocsCase, 1);
    dc->requests = g_ptr_array_new_with_free_func(request_free);
    dc->expect = g_ptr_array_new_with_free_func(g_free);
    dc->derived = g_ptr_array_new_with_free_func(g_free);
    dc->yaml = ynode_load_file(path, NULL, error);
    if (dc->yaml == NULL) {
        return NULL;
    }
    if (dc->yaml->len != 1) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_SYNTAX,
                    "%s: expected one YAML document", path);
        return NULL;
    }
    const YNode *doc = g_ptr_array_index(dc->yaml, 0);
    dc->path = doc->file;
    dc->id = ynode_str(ynode_get(doc, "id"));
    dc->scope = ynode_str_or(ynode_get(doc, "scope"), "");
    dc->api = ynode_str_or(ynode_get(doc, "api"), "istio");
    dc->profile = ynode_str_or(ynode_path(doc, "platform.profile"), "default");
    dc->ns = ynode_str_or(ynode_path(doc, "platform.namespace"), "default");
    dc->manifests = ynode_str_or(ynode_get(doc, "manifests"), "");
    dc->setup = ynode_get(doc, "setup_commands");
    dc->fixtures = ynode_get(doc, "tls_fixtures");
    const YNode *reqs = ynode_get(doc, "requests");
    for (guint i = 0; i < ynode_len(reqs); i++) {
        const YNode *m = ynode_at(reqs, i);
        DocsRequest *r = g_new0(DocsRequest, 1);
        g_ptr_array_add(dc->requests, r);
        r->id = ynode_str_or(ynode_get(m, "id"), "");
        r->scheme = ynode_str_or(ynode_get(m, "scheme"), "http");
        gint64 port = 0;
        const YNode *pn = ynode_get(m, "port");
        if (pn != NULL && !ynode_to_int(pn, 1, 65535, &port, error)) {
            return NULL;
        }
        r->port = (gint)port;
        r->host = ynode_str(ynode_get(m, "host"));
        r->sni = ynode_str(ynode_get(m, "sni"));
        if (r->sni != NULL && r->sni[0] == '\0') {
            r->sni = NULL;
        }
        r->path = ynode_str_or(ynode_get(m, "path"), "/");
        r->method = ynode_str_or(ynode_get(m, "method"), "GET");
        r->headers = kv_list_new();
        const YNode *h = ynode_get(m, "headers");
        for (guint j = 0; j < ynode_len(h) && h->kind == YNODE_MAP; j++) {
            g_autofree char *k =
                g_ascii_strdown(ynode_key_at(h, j)->scalar, -1);
            kv_list_set(r->headers, k, ynode_str_or(ynode_value_at(h, j), ""));
        }
        const YNode *a = ynode_get(m, "alpn");
        if (a != NULL && a->kind == YNODE_SEQ) {
            r->alpn = g_new0(char *, ynode_len(a) + 1);
            for (guint j = 0; j < ynode_len(a); j++) {
                r->alpn[j] = g_strdup(ynode_str_or(ynode_at(a, j), ""));
            }
        }
        const YNode *tv = ynode_get(m, "tls_verify");
        gboolean verify = TRUE;
        if (tv != NULL && !ynode_to_bool(tv, &verify, error)) {
            return NULL;
        }
        r->cacert = verify ? ynode_str(ynode_get(m, "cacert")) : NULL;
        r->client_cert = ynode_str(ynode_get(m, "client_cert"));
        gint64 rep = 1;
        const YNode *rn = ynode_get(m, "repeat");
        if (rn != NULL && !ynode_to_int(rn, 1, 100000, &rep, error)) {
            return NULL;
        }
        r->repeat = (gint)rep;
    }
    facts(ynode_get(doc, "expect"), dc->expect);
    facts(ynode_get(doc, "derived"), dc->derived);
    return g_steal_pointer(&dc);
}

const DocsRequest *docs_case_request(const DocsCase *dc, const char *id)
{
    for (guint i = 0; i < dc->requests->len; i++) {
        const DocsRequest *r = g_ptr_array_index(dc->requests, i);
        if (g_strcmp0(r->id, id) == 0) {
            return r;
        }
    }
    return NULL;
}

/* ---- certificates -------------------------------------------------------- */

static gboolean run(char **argv, GError **error)
{
    gint status = 0;
    g_autofree char *err = NULL;
    if (!g_spawn_sync(NULL, argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                      NULL, NULL, &err, &status, error)) {
        return FALSE;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_FAILED, "%s: %s",
                    argv[0], err != NULL ? err : "failed");
        return FALSE;
    }
    return TRUE;
}

static char *key_path_for(const char *crt)
{
    if (g_str_has_suffix(crt, ".crt")) {
        g_autofree char *base = g_strndup(crt, strlen(crt) - 4);
        return g_strconcat(base, ".key", NULL);
    }
    return g_strconcat(crt, ".key", NULL);
}

/* "CN=a.example.com/O=x" -> its CN value. */
static char *subject_cn(const char *subject)
{
    g_auto(GStrv) parts = g_strsplit(subject, "/", -1);
    for (guint i = 0; parts[i] != NULL; i++) {
        if (g_str_has_prefix(parts[i], "CN=")) {
            return g_strdup(parts[i] + 3);
        }
    }
    return g_strdup("localhost");
}

static gboolean make_ca(const char *dir,
                        const char *crt,
                        const char *key,
                        const char *subject,
                        GError **error)
{
    g_autofree char *c = g_build_filename(dir, crt, NULL);
    g_autofree char *k = g_build_filename(dir, key, NULL);
    g_autofree char *cdir = g_path_get_dirname(c);
    g_mkdir_with_parents(cdir, 0700);
    g_autofree char *subj = g_strdup_printf("/%s", subject);
    char *argv[] = { (char *)"openssl",
                     (char *)"req",
                     (char *)"-x509",
                     (char *)"-sha256",
                     (char *)"-nodes",
                     (char *)"-days",
                     (char *)"365",
                     (char *)"-newkey",
                     (char *)"ec",
                     (char *)"-pkeyopt",
                     (char *)"ec_paramgen_curve:prime256v1",
                     (char *)"-subj",
                     subj,
                     (char *)"-keyout",
                     k,
                     (char *)"-out",
                     c,
                     NULL };
    return run(argv, error);
}

static gboolean make_leaf(const char *dir,
                          const char *crt,
                          const char *key,
                          const char *subject,
                          const char *ca_crt,
                          const char *ca_key,
                          guint serial,
                          GError **error)
{
    g_autofree char *c = g_build_filename(dir, crt, NULL);
    g_autofree char *k = g_build_filename(dir, key, NULL);
    g_autofree char *csr = g_strconcat(c, ".csr", NULL);
    g_autofree char *ext = g_strconcat(c, ".ext", NULL);
    g_autofree char *cc = g_build_filename(dir, ca_crt, NULL);
    g_autofree char *ck = g_build_filename(dir, ca_key, NULL);
    g_autofree char *cdir = g_path_get_dirname(c);
    g_mkdir_with_parents(cdir, 0700);
    g_autofree char *subj = g_strdup_printf("/%s", subject);
    g_autofree char *cn = subject_cn(subject);
    g_autofree char *exts = g_strdup_printf(
        "basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth, "
        "clientAuth\nsubjectAltName = DNS:%s\n",
        cn);
    g_autofree char *ser = g_strdup_printf("%u", serial);
    if (!g_file_set_contents(ext, exts, -1, error)) {
        return FALSE;
    }
    char *req[] = { (char *)"openssl",
                    (char *)"req",
                    (char *)"-out",
                    csr,
                    (char *)"-newkey",
                    (char *)"ec",
                    (char *)"-pkeyopt",
                    (char *)"ec_paramgen_curve:prime256v1",
                    (char *)"-nodes",
                    (char *)"-keyout",
                    k,
                    (char *)"-subj",
                    subj,
                    NULL };
    char *sign[] = { (char *)"openssl",
                     (char *)"x509",
                     (char *)"-req",
                     (char *)"-sha256",
                     (char *)"-days",
                     (char *)"365",
                     (char *)"-CA",
                     cc,
                     (char *)"-CAkey",
                     ck,
                     (char *)"-set_serial",
                     ser,
                     (char *)"-in",
                     csr,
                     (char *)"-out",
                     c,
                     (char *)"-extfile",
                     ext,
                     NULL };
    return run(req, error) && run(sign, error);
}

static const YNode *fixture(const DocsCase *dc, const char *id)
{
    for (guint i = 0; i < ynode_len(dc->fixtures); i++) {
        const YNode *f = ynode_at(dc->fixtures, i);
        if (g_strcmp0(ynode_str(ynode_get(f, "id")), id) == 0) {
            return f;
        }
    }
    return NULL;
}

static char *fixture_key(const YNode *f)
{
    const char *k = ynode_str(ynode_get(f, "key"));
    return k != NULL ? g_strdup(k)
                     : key_path_for(ynode_str(ynode_get(f, "id")));
}

static gboolean make_fixtures(DocsCase *dc, GError **error)
{
    for (guint pass = 0; pass < 2; pass++) {
        for (guint i = 0; i < ynode_len(dc->fixtures); i++) {
            const YNode *f = ynode_at(dc->fixtures, i);
            const char *id = ynode_str(ynode_get(f, "id"));
            const char *kind = ynode_str_or(ynode_get(f, "kind"), "leaf");
            const char *subject =
                ynode_str_or(ynode_get(f, "subject"), "CN=localhost");
            g_autofree char *key = fixture_key(f);
            gboolean ca = strcmp(kind, "ca") == 0;
            if (id == NULL || ca != (pass == 0)) {
                continue;
            }
            if (ca) {
                if (!make_ca(dc->workdir, id, key, subject, error)) {
                    return FALSE;
                }
                continue;
            }
            const char *issuer = ynode_str(ynode_get(f, "issuer"));
            const YNode *isf = issuer != NULL ? fixture(dc, issuer) : NULL;
            if (isf == NULL) {
                g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_FAILED,
                            "fixture %s: unknown issuer", id);
                return FALSE;
            }
            g_autofree char *ikey = fixture_key(isf);
            if (!make_leaf(dc->workdir, id, key, subject, issuer, ikey, i + 1,
                           error)) {
                return FALSE;
            }
        }
    }
    return TRUE;
}

TlsCert *docs_case_cert(const DocsCase *dc, const char *fixture_id)
{
    g_autofree char *text = gwt_read(dc->workdir, fixture_id);
    if (text == NULL) {
        return NULL;
    }
    return tls_cert_parse(text, strlen(text), fixture_id, NULL);
}

/* ---- secrets from setup commands
 * ---------------------------------------------- */

typedef struct {
    char *ns;     /* namespace */
    char *name;   /* secret name */
    char *type;   /* kubernetes.io/tls or Opaque */
    KvList *data; /* key -> PEM text */
} DocsSecret;

static void secret_free(gpointer p)
{
    DocsSecret *s = p;
    g_free(s->ns);
    g_free(s->name);
    g_free(s->type);
    kv_list_free(s->data);
    g_free(s);
}

static void secret_drop(GPtrArray *secrets, const char *ns, const char *name)
{
    for (guint i = 0; i < secrets->len; i++) {
        DocsSecret *s = g_ptr_array_index(secrets, i);
        if (strcmp(s->ns, ns) == 0 && strcmp(s->name, name) == 0) {
            g_ptr_array_remove_index(secrets, i);
            return;
        }
    }
}

/* One "kubectl ... secret ..." command; FALSE with @error when a named file
 * is missing. Other commands (configmaps) are ignored. */
static gboolean
apply_command(DocsCase *dc, const char *cmd, GPtrArray *secrets, GError **error)
{
    g_auto(GStrv) argv = NULL;
    if (!g_shell_parse_argv(cmd, NULL, &argv, NULL)) {
        return TRUE;
    }
    const char *ns = dc->ns;
    const char *verb = NULL;
    const char *type = NULL;
    const char *name = NULL;
    gboolean secret = FALSE;
    g_autoptr(GPtrArray) opts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 1; argv[i] != NULL; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-n") == 0 || strcmp(a, "--namespace") == 0) &&
            argv[i + 1] != NULL) {
            ns = argv[++i];
        } else if (g_str_has_prefix(a, "--") && strchr(a, '=') != NULL) {
            g_ptr_array_add(opts, g_strdup(a + 2));
        } else if (g_str_has_prefix(a, "--") && argv[i + 1] != NULL) {
            g_ptr_array_add(opts, g_strdup_printf("%s=%s", a + 2, argv[i + 1]));
            i++;
        } else if (verb == NULL) {
            verb = a;
        } else if (!secret && strcmp(a, "secret") == 0) {
            secret = TRUE;
        } else if (secret && strcmp(verb, "create") == 0 && type == NULL) {
            type = a;
        } else if (secret && name == NULL) {
            name = a;
        }
    }
    if (!secret || name == NULL) {
        return TRUE;
    }
    secret_drop(secrets, ns, name);
    if (strcmp(verb, "delete") == 0) {
        return TRUE;
    }
    DocsSecret *s = g_new0(DocsSecret, 1);
    s->ns = g_strdup(ns);
    s->name = g_strdup(name);
    s->type =
        g_strdup(g_strcmp0(type, "tls") == 0 ? "kubernetes.io/tls" : "Opaque");
    s->data = kv_list_new();
    g_ptr_array_add(secrets, s);
    for (guint i = 0; i < opts->len; i++) {
        const char *o = g_ptr_array_index(opts, i);
        const char *key = NULL;
        const char *file = NULL;
        g_autofree char *k2 = NULL;
        if (g_str_has_prefix(o, "key=")) {
            key = "tls.key";
            file = o + 4;
        } else if (g_str_has_prefix(o, "cert=")) {
            key = "tls.crt";
            file = o + 5;
        } else if (g_str_has_prefix(o, "from-file=")) {
            const char *spec = o + 10;
            const char *eq = strchr(spec, '=');
            if (eq != NULL) {
                k2 = g_strndup(spec, (gsize)(eq - spec));
                file = eq + 1;
            } else {
                k2 = g_path_get_basename(spec);
                file = spec;
            }
            key = k2;
        } else {
            continue;
        }
        g_autofree char *text = gwt_read(dc->workdir, file);
        if (text == NULL) {
            g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_FAILED,
                        "%s: setup file %s was not made from tls_fixtures",
                        dc->id, file);
            return FALSE;
        }
        kv_list_set(s->data, key, text);
    }
    return TRUE;
}

/* A setup given in prose ("a certificate is available"): every
 * credentialName of the manifests without a Secret gets a self-signed one
 * in the gateway's namespace. */
static gboolean
provision_prose(DocsCase *dc, GPtrArray *secrets, GError **error)
{
    g_autoptr(GRegex) re =
        g_regex_new("credentialName:\\s*([A-Za-z0-9.-]+)", 0, 0, NULL);
    g_autoptr(GMatchInfo) mi = NULL;
    g_regex_match(re, dc->manifests, 0, &mi);
    guint n = 0;
    while (g_match_info_matches(mi)) {
        g_autofree char *name = g_match_info_fetch(mi, 1);
        gboolean have = FALSE;
        for (guint i = 0; i < secrets->len; i++) {
            have = have ||
                   strcmp(((DocsSecret *)g_ptr_array_index(secrets, i))->name,
                          name) == 0;
        }
        if (!have) {
            g_autofree char *crt = g_strdup_printf("prose/%s.crt", name);
            g_autofree char *key = g_strdup_printf("prose/%s.key", name);
            g_autofree char *subj = g_strdup_printf("CN=%s", name);
            if (!make_ca(dc->workdir, crt, key, subj, error)) {
                return FALSE;
            }
            g_autofree char *cmd = g_strdup_printf(
                "kubectl create -n istio-system secret tls %s --key=%s "
                "--cert=%s",
                name, key, crt);
            if (!apply_command(dc, cmd, secrets, error)) {
                return FALSE;
            }
        }
        n++;
        g_match_info_next(mi, NULL);
    }
    return TRUE;
}

/* "Objects without metadata.namespace belong in platform.namespace"
 * (README of the cases): when that is not "default", add the namespace to
 * block-style metadata that lacks one (kubectl apply -n NS). */
static char *with_namespace(const char *manifests, const char *ns)
{
    if (strcmp(ns, "default") == 0) {
        return g_strdup(manifests);
    }
    g_auto(GStrv) lines = g_strsplit(manifests, "\n", -1);
    GString *out = g_string_new(NULL);
    for (guint i = 0; lines[i] != NULL; i++) {
        g_string_append(out, lines[i]);
        g_string_append_c(out, '\n');
        if (strcmp(lines[i], "metadata:") != 0) {
            continue;
        }
        gboolean has = FALSE;
        for (guint j = i + 1; lines[j] != NULL && lines[j][0] == ' '; j++) {
            has = has || g_str_has_prefix(lines[j], "  namespace:");
        }
        if (!has) {
            g_string_append_printf(out, "  namespace: %s\n", ns);
        }
    }
    return g_string_free(out, FALSE);
}

char *docs_case_scenario(DocsCase *dc, GError **error)
{
    if (dc->workdir == NULL) {
        const char *base = g_getenv("SIM_BUILDDIR");
        g_autofree char *tmpl = g_build_filename(
            base != NULL ? base : g_get_tmp_dir(), "test-docs-XXXXXX", NULL);
        if (g_mkdtemp(tmpl) == NULL) {
            g_set_error(error, SCENARIO_ERROR, SCENARIO_ERROR_IO,
                        "cannot make %s", tmpl);
            return NULL;
        }
        dc->workdir = g_steal_pointer(&tmpl);
    }
    if (!make_fixtures(dc, error)) {
        return NULL;
    }
    g_autoptr(GPtrArray) secrets = g_ptr_array_new_with_free_func(secret_free);
    gboolean prose = FALSE;
    for (guint i = 0; i < ynode_len(dc->setup); i++) {
        const char *cmd = ynode_str_or(ynode_at(dc->setup, i), "");
        if (!g_str_has_prefix(cmd, "kubectl")) {
            prose = TRUE;
            continue;
        }
        if (!apply_command(dc, cmd, secrets, error)) {
            return NULL;
        }
    }
    /* A docs-prose page that shows no secret at all assumes one exists. */
    if (dc->setup == NULL && g_strcmp0(dc->scope, "docs-prose") == 0) {
        prose = TRUE;
    }
    if (prose && !provision_prose(dc, secrets, error)) {
        return NULL;
    }
    GString *out = g_string_new(NULL);
    g_autofree char *manifests = with_namespace(dc->manifests, dc->ns);
    g_string_append_printf(out,
                           "apiVersion: ingress-sim/v1\nkind: Scenario\n"
                           "metadata: {name: %s}\nspec:\n  istio: {profile: "
                           "%s}\n---\n%s\n",
                           dc->id, dc->profile, manifests);
    for (guint i = 0; i < secrets->len; i++) {
        const DocsSecret *s = g_ptr_array_index(secrets, i);
        g_string_append_printf(out,
                               "---\napiVersion: v1\nkind: Secret\nmetadata: "
                               "{name: %s, namespace: %s}\ntype: %s\n"
                               "stringData:\n",
                               s->name, s->ns, s->type);
        for (guint j = 0; j < kv_list_len(s->data); j++) {
            g_autofree char *ind =
                gwt_indent(g_ptr_array_index(s->data->values, j), 4);
            g_string_append_printf(
                out, "  %s: |\n%s",
                (const char *)g_ptr_array_index(s->data->keys, j), ind);
        }
    }
    return g_string_free(out, FALSE);
}
