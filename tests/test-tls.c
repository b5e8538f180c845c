/* test-tls.c: unit tests of models/tls.h (PEM parsing, chain, time and host
 * checks, key pairing) on a PKI that tests/make-certs.sh creates at run time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "models/tls.h"

/* The PKI of one test run (cmocka group state). */
typedef struct {
    char *dir; /* temp dir holding example_certs1/ and example_certs2/ */
} Pki;

#define C1 "example_certs1/"
#define C2 "example_certs2/"

static const gint64 hour = 3600;

/* Removes @path and, if it is a directory, everything below it. */
static void remove_tree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR) &&
        !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name = NULL;
        while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            remove_tree(child);
        }
    }
    g_remove(path);
}

static int pki_setup(void **state)
{
    const char *base = g_getenv("SIM_BUILDDIR");
    const char *src = g_getenv("SIM_SRCDIR");
    if (base == NULL) {
        base = g_get_tmp_dir();
    }
    if (src == NULL) {
        src = ".";
    }
    g_autofree char *dir = g_build_filename(base, "test-tls-XXXXXX", NULL);
    if (g_mkdtemp(dir) == NULL) {
        fprintf(stderr, "cannot make a temp dir under %s\n", base);
        return -1;
    }
    g_autofree char *script =
        g_build_filename(src, "tests", "make-certs.sh", NULL);
    char *argv[] = { (char *)"/bin/sh", script, dir, NULL };
    g_autofree char *err_out = NULL;
    gint status = 0;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                      NULL, &err_out, &status, &error) ||
        !g_spawn_check_wait_status(status, &error)) {
        fprintf(stderr, "%s: %s\n%s", script, error->message,
                err_out != NULL ? err_out : "");
        remove_tree(dir);
        return -1;
    }
    Pki *pki = g_new0(Pki, 1);
    pki->dir = g_steal_pointer(&dir);
    *state = pki;
    return 0;
}

static int pki_teardown(void **state)
{
    Pki *pki = *state;
    if (pki != NULL) {
        remove_tree(pki->dir);
        g_free(pki->dir);
        g_free(pki);
    }
    return 0;
}

/* The bytes of @rel under the PKI dir. */
static char *pki_read(void **state, const char *rel, gsize *len)
{
    Pki *pki = *state;
    g_autofree char *path = g_build_filename(pki->dir, rel, NULL);
    char *data = NULL;
    g_autoptr(GError) error = NULL;
    if (!g_file_get_contents(path, &data, len, &error)) {
        fail_msg("%s", error->message);
    }
    return data;
}

/* A TlsCert parsed from the file(s) @rel..., concatenated (a CA bundle). */
static TlsCert *pki_cert(void **state, const char *rel, ...)
{
    g_autoptr(GString) all = g_string_new(NULL);
    va_list ap;
    va_start(ap, rel);
    for (const char *r = rel; r != NULL; r = va_arg(ap, const char *)) {
        gsize len = 0;
        g_autofree char *data = pki_read(state, r, &len);
        g_string_append_len(all, data, (gssize)len);
    }
    va_end(ap);
    g_autoptr(GError) error = NULL;
    TlsCert *c = tls_cert_parse(all->str, all->len, rel, &error);
    if (c == NULL) {
        fail_msg("%s: %s", rel, error->message);
    }
    return c;
}

/* Asserts tls_cert_verify's outcome and that its detail contains @want. */
static void check_verify(const TlsCert *chain,
                         const TlsCert *anchors,
                         const char *host,
                         gint64 now,
                         TlsVerifyResult expect,
                         const char *want)
{
    g_autofree char *detail = NULL;
    TlsVerifyResult r = tls_cert_verify(chain, anchors, host, now, &detail);
    if (r != expect || detail == NULL || strstr(detail, want) == NULL) {
        fail_msg("got %s (%s), want %s (... %s ...)", tls_verify_result_name(r),
                 detail ? detail : "(null)", tls_verify_result_name(expect),
                 want);
    }
    /* Without the out-parameter the outcome is the same. */
    assert_int_equal(tls_cert_verify(chain, anchors, host, now, NULL), expect);
}

/* Asserts that parsing @pem fails with TLS_ERROR_PARSE and a message
 * containing @what and @want. */
static void check_parse_error(const char *pem, gsize len, const char *want)
{
    const char *what = "secret istio-system/httpbin-credential tls.crt";
    g_autoptr(GError) error = NULL;
    g_autoptr(TlsCert) c = tls_cert_parse(pem, len, what, &error);
    assert_null(c);
    assert_true(g_error_matches(error, TLS_ERROR, TLS_ERROR_PARSE));
    if (strstr(error->message, what) == NULL ||
        strstr(error->message, want) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", error->message, want);
    }
}

/* ---- Parsing and names --------------------------------------------------- */

static void test_subject_issuer(void **state)
{
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) ca = pki_cert(state, C1 "example.com.crt", NULL);
    assert_int_equal(tls_cert_chain_len(leaf), 1);
    g_autofree char *subject = tls_cert_subject(leaf);
    g_autofree char *issuer = tls_cert_issuer(leaf);
    g_autofree char *ca_subject = tls_cert_subject(ca);
    g_autofree char *ca_issuer = tls_cert_issuer(ca);
    /* DER order, as -subj gave them. */
    assert_string_equal(subject,
                        "CN=httpbin.example.com,O=httpbin organization");
    assert_string_equal(issuer, "O=example Inc.,CN=example.com");
    assert_string_equal(ca_subject, "O=example Inc.,CN=example.com");
    assert_string_equal(ca_issuer, ca_subject);
}

static void test_chain_len(void **state)
{
    g_autoptr(TlsCert) full =
        pki_cert(state, C1 "httpbin.example.com.fullchain.crt", NULL);
    g_autoptr(TlsCert) bundle =
        pki_cert(state, C2 "example.com.crt", C1 "example.com.crt",
                 C1 "intermediate.crt", NULL);
    assert_int_equal(tls_cert_chain_len(full), 2);
    assert_int_equal(tls_cert_chain_len(bundle), 3);
    /* The leaf is the first certificate. */
    g_autofree char *subject = tls_cert_subject(full);
    assert_string_equal(subject,
                        "CN=httpbin.example.com,O=httpbin organization");
}

static void test_dns_names(void **state)
{
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) wild =
        pki_cert(state, C1 "wildcard.example.com.crt", NULL);
    g_autoptr(TlsCert) ca = pki_cert(state, C1 "example.com.crt", NULL);
    g_auto(GStrv) a = tls_cert_dns_names(leaf);
    g_auto(GStrv) b = tls_cert_dns_names(wild);
    g_auto(GStrv) c = tls_cert_dns_names(ca);
    assert_int_equal(g_strv_length(a), 1);
    assert_string_equal(a[0], "httpbin.example.com");
    assert_int_equal(g_strv_length(b), 1);
    assert_string_equal(b[0], "*.example.com");
    /* No SAN: the CN, as GnuTLS's and curl's host checks fall back. */
    assert_int_equal(g_strv_length(c), 1);
    assert_string_equal(c[0], "example.com");
    assert_true(tls_cert_matches_host(ca, "example.com"));
}

static void test_matches_host(void **state)
{
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) wild =
        pki_cert(state, C1 "wildcard.example.com.crt", NULL);
    assert_true(tls_cert_matches_host(leaf, "httpbin.example.com"));
    assert_true(tls_cert_matches_host(leaf, "HTTPBIN.Example.COM"));
    assert_false(tls_cert_matches_host(leaf, "helloworld.example.com"));
    assert_false(tls_cert_matches_host(leaf, "example.com"));
    /* RFC 6125 6.4.3: the wildcard covers exactly one label. */
    assert_true(tls_cert_matches_host(wild, "a.example.com"));
    assert_true(tls_cert_matches_host(wild, "httpbin.example.com"));
    assert_false(tls_cert_matches_host(wild, "a.b.example.com"));
    assert_false(tls_cert_matches_host(wild, "example.com"));
    assert_false(tls_cert_matches_host(wild, "a.example.org"));
}

static void test_times(void **state)
{
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) wild =
        pki_cert(state, C1 "wildcard.example.com.crt", NULL);
    gint64 nb = tls_cert_not_before(leaf);
    gint64 na = tls_cert_not_after(leaf);
    /* -days 365 / 730 from "now" when the script ran. */
    assert_int_equal(na - nb, 365 * 24 * hour);
    assert_int_equal(tls_cert_not_after(wild) - tls_cert_not_before(wild),
                     730 * 24 * hour);
    gint64 wall = g_get_real_time() / G_USEC_PER_SEC;
    assert_true(nb <= wall && nb > wall - 24 * hour);
}

/* ---- Verification -------------------------------------------------------- */

static void test_verify_ok(void **state)
{
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) full =
        pki_cert(state, C1 "httpbin.example.com.fullchain.crt", NULL);
    g_autoptr(TlsCert) ca1 = pki_cert(state, C1 "example.com.crt", NULL);
    gint64 now = tls_cert_not_before(leaf) + hour;
    check_verify(leaf, ca1, "httpbin.example.com", now, TLS_VERIFY_OK, "ok");
    check_verify(full, ca1, "httpbin.example.com", now, TLS_VERIFY_OK, "ok");
    /* NULL host name: chain only (Envoy checking a client certificate). */
    check_verify(leaf, ca1, NULL, now, TLS_VERIFY_OK, "ok");
}

static void test_verify_other_ca(void **state)
{
    g_autoptr(TlsCert) leaf1 =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) leaf2 =
        pki_cert(state, C2 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) ca1 = pki_cert(state, C1 "example.com.crt", NULL);
    g_autoptr(TlsCert) ca2 = pki_cert(state, C2 "example.com.crt", NULL);
    g_autoptr(TlsCert) both =
        pki_cert(state, C2 "example.com.crt", C1 "example.com.crt", NULL);
    gint64 now = tls_cert_not_before(leaf2) + hour;
    /* CA2 has CA1's name but not its key: the leaf's authority key id
     * names no anchor, as `openssl verify` says too. */
    check_verify(leaf1, ca2, "httpbin.example.com", now, TLS_VERIFY_UNTRUSTED,
                 "unable to get local issuer certificate");
    check_verify(leaf2, ca1, "httpbin.example.com", now, TLS_VERIFY_UNTRUSTED,
                 "unable to get local issuer certificate");
    check_verify(leaf2, ca2, "httpbin.example.com", now, TLS_VERIFY_OK, "ok");
    /* A bundle with both trusts both. */
    check_verify(leaf1, both, "httpbin.example.com", now, TLS_VERIFY_OK, "ok");
    check_verify(leaf2, both, "httpbin.example.com", now, TLS_VERIFY_OK, "ok");
    /* Untrusted wins over a wrong host name (curl checks the name last). */
    check_verify(leaf1, ca2, "helloworld.example.com", now,
                 TLS_VERIFY_UNTRUSTED, "local issuer");
}

static void test_verify_hostname(void **state)
{
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) wild =
        pki_cert(state, C1 "wildcard.example.com.crt", NULL);
    g_autoptr(TlsCert) ca1 = pki_cert(state, C1 "example.com.crt", NULL);
    gint64 now = tls_cert_not_before(leaf) + hour;
    check_verify(leaf, ca1, "helloworld.example.com", now,
                 TLS_VERIFY_HOSTNAME_MISMATCH,
                 "no alternative certificate subject name matches target "
                 "host name 'helloworld.example.com' (SAN DNS: "
                 "httpbin.example.com)");
    check_verify(wild, ca1, "a.example.com", now, TLS_VERIFY_OK, "ok");
    check_verify(wild, ca1, "a.b.example.com", now,
                 TLS_VERIFY_HOSTNAME_MISMATCH, "'a.b.example.com'");
    check_verify(wild, ca1, "example.com", now, TLS_VERIFY_HOSTNAME_MISMATCH,
                 "*.example.com");
    /* A CN-only certificate (the CA itself) is named by its CN. */
    check_verify(ca1, ca1, "other.example.com", now,
                 TLS_VERIFY_HOSTNAME_MISMATCH,
                 "certificate subject name 'example.com' does not match "
                 "target host name 'other.example.com'");
}

static void test_verify_expiry(void **state)
{
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) wild =
        pki_cert(state, C1 "wildcard.example.com.crt", NULL);
    g_autoptr(TlsCert) ca1 = pki_cert(state, C1 "example.com.crt", NULL);
    const char *host = "httpbin.example.com";
    /* The path is valid from the later notBefore to the earlier notAfter,
     * both ends included. */
    gint64 nb = MAX(tls_cert_not_before(leaf), tls_cert_not_before(ca1));
    gint64 na = MIN(tls_cert_not_after(leaf), tls_cert_not_after(ca1));
    check_verify(leaf, ca1, host, nb, TLS_VERIFY_OK, "ok");
    check_verify(leaf, ca1, host, na, TLS_VERIFY_OK, "ok");
    check_verify(leaf, ca1, host, na + 1, TLS_VERIFY_EXPIRED,
                 "certificate has expired");
    check_verify(leaf, ca1, host, nb - 1, TLS_VERIFY_NOT_YET_VALID,
                 "certificate is not yet valid");
    /* Both expired: the anchor is named, as OpenSSL's internal_verify
     * checks from the top of the path down. */
    check_verify(leaf, ca1, host, tls_cert_not_after(leaf) + 400 * 24 * hour,
                 TLS_VERIFY_EXPIRED,
                 "'O=example Inc.,CN=example.com' notAfter");
    /* Expiry beats a wrong host name. */
    check_verify(leaf, ca1, "helloworld.example.com", na + 1,
                 TLS_VERIFY_EXPIRED, "expired");
    /* The wildcard leaf outlives CA1: an expired anchor fails the path, and
     * the detail names the anchor. */
    gint64 ca_na = tls_cert_not_after(ca1);
    assert_true(ca_na + 1 < tls_cert_not_after(wild));
    check_verify(wild, ca1, "a.example.com", ca_na, TLS_VERIFY_OK, "ok");
    check_verify(wild, ca1, "a.example.com", ca_na + 1, TLS_VERIFY_EXPIRED,
                 "'O=example Inc.,CN=example.com' notAfter");
}

static void test_verify_client(void **state)
{
    g_autoptr(TlsCert) client =
        pki_cert(state, C1 "client.example.com.crt", NULL);
    g_autoptr(TlsCert) ca1 = pki_cert(state, C1 "example.com.crt", NULL);
    g_autoptr(TlsCert) ca2 = pki_cert(state, C2 "example.com.crt", NULL);
    g_autofree char *subject = tls_cert_subject(client);
    assert_string_equal(subject, "CN=client.example.com,O=client organization");
    gint64 now = tls_cert_not_before(client) + hour;
    check_verify(client, ca1, NULL, now, TLS_VERIFY_OK, "ok");
    check_verify(client, ca2, NULL, now, TLS_VERIFY_UNTRUSTED, "issuer");
}

static void test_verify_intermediate(void **state)
{
    g_autoptr(TlsCert) chain =
        pki_cert(state, C1 "chain.example.com.chain.crt", NULL);
    g_autoptr(TlsCert) leaf = pki_cert(state, C1 "chain.example.com.crt", NULL);
    g_autoptr(TlsCert) inter = pki_cert(state, C1 "intermediate.crt", NULL);
    g_autoptr(TlsCert) ca1 = pki_cert(state, C1 "example.com.crt", NULL);
    g_autoptr(TlsCert) ca2 = pki_cert(state, C2 "example.com.crt", NULL);
    const char *host = "chain.example.com";
    gint64 now = tls_cert_not_before(leaf) + hour;
    assert_int_equal(tls_cert_chain_len(chain), 2);
    check_verify(chain, ca1, host, now, TLS_VERIFY_OK, "ok");
    /* tls.crt without the intermediate: the classic misconfiguration. */
    check_verify(leaf, ca1, host, now, TLS_VERIFY_UNTRUSTED,
                 "unable to get local issuer certificate (issuer "
                 "'O=example Inc.,CN=example Inc. Intermediate'");
    /* An intermediate as anchor is enough (curl sets partial chains). */
    check_verify(leaf, inter, host, now, TLS_VERIFY_OK, "ok");
    check_verify(chain, ca2, host, now, TLS_VERIFY_UNTRUSTED, "issuer");
}

static void test_verify_self_signed(void **state)
{
    g_autoptr(TlsCert) ca1 = pki_cert(state, C1 "example.com.crt", NULL);
    g_autoptr(TlsCert) ca2 = pki_cert(state, C2 "example.com.crt", NULL);
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) full =
        pki_cert(state, C1 "httpbin.example.com.fullchain.crt", NULL);
    gint64 now = tls_cert_not_before(leaf) + hour;
    check_verify(ca1, ca2, NULL, now, TLS_VERIFY_UNTRUSTED,
                 "self-signed certificate ('O=example Inc.,CN=example.com' "
                 "is not a trust anchor)");
    /* Serving the root does not make it trusted. */
    check_verify(full, ca2, NULL, now, TLS_VERIFY_UNTRUSTED,
                 "self-signed certificate in certificate chain");
    /* A pinned leaf: the anchor is the served certificate itself. */
    check_verify(leaf, leaf, "httpbin.example.com", now, TLS_VERIFY_OK, "ok");
}

static void test_verify_bad_anchors(void **state)
{
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    gint64 now = tls_cert_not_before(leaf) + hour;
    check_verify(leaf, NULL, "httpbin.example.com", now, TLS_VERIFY_BAD_ANCHORS,
                 "no trust anchors");
}

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(tls_verify_result_name(TLS_VERIFY_OK), "ok");
    assert_string_equal(tls_verify_result_name(TLS_VERIFY_UNTRUSTED),
                        "untrusted");
    assert_string_equal(tls_verify_result_name(TLS_VERIFY_EXPIRED), "expired");
    assert_string_equal(tls_verify_result_name(TLS_VERIFY_NOT_YET_VALID),
                        "not_yet_valid");
    assert_string_equal(tls_verify_result_name(TLS_VERIFY_HOSTNAME_MISMATCH),
                        "hostname_mismatch");
    assert_string_equal(tls_verify_result_name(TLS_VERIFY_BAD_ANCHORS),
                        "bad_anchors");
    assert_int_equal(tls_verify_result_curl_exit(TLS_VERIFY_OK), 0);
    assert_int_equal(tls_verify_result_curl_exit(TLS_VERIFY_UNTRUSTED), 60);
    assert_int_equal(tls_verify_result_curl_exit(TLS_VERIFY_EXPIRED), 60);
    assert_int_equal(tls_verify_result_curl_exit(TLS_VERIFY_HOSTNAME_MISMATCH),
                     60);
    assert_int_equal(tls_verify_result_curl_exit(TLS_VERIFY_BAD_ANCHORS), 77);
}

/* ---- Keys ---------------------------------------------------------------- */

static void test_key_pairing(void **state)
{
    g_autoptr(TlsCert) leaf1 =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    g_autoptr(TlsCert) client =
        pki_cert(state, C1 "client.example.com.crt", NULL);
    gsize n1 = 0;
    gsize n2 = 0;
    gsize nc = 0;
    g_autofree char *key1 = pki_read(state, C1 "httpbin.example.com.key", &n1);
    g_autofree char *key2 = pki_read(state, C2 "httpbin.example.com.key", &n2);
    g_autofree char *keyc = pki_read(state, C1 "client.example.com.key", &nc);
    g_autoptr(GError) error = NULL;

    /* RSA (CA1's httpbin) and EC (client) pairs. */
    assert_true(tls_key_matches_cert(key1, n1, leaf1, &error));
    assert_null(error);
    assert_true(tls_key_matches_cert(keyc, nc, client, &error));
    assert_null(error);

    /* CA2's httpbin key with CA1's certificate: same names, other key. */
    assert_false(tls_key_matches_cert(key2, n2, leaf1, &error));
    assert_true(g_error_matches(error, TLS_ERROR, TLS_ERROR_KEY_MISMATCH));
    assert_non_null(strstr(error->message, "does not match"));
    g_clear_error(&error);
    assert_false(tls_key_matches_cert(key1, n1, client, &error));
    assert_true(g_error_matches(error, TLS_ERROR, TLS_ERROR_KEY_MISMATCH));
    g_clear_error(&error);
}

static void test_key_errors(void **state)
{
    g_autoptr(TlsCert) leaf =
        pki_cert(state, C1 "httpbin.example.com.crt", NULL);
    gsize n = 0;
    g_autofree char *crt = pki_read(state, C1 "httpbin.example.com.crt", &n);
    g_autoptr(GError) error = NULL;
    const char *junk = "this is not a key\n";
    const char *bad = "-----BEGIN PRIVATE KEY-----\nAAAA!!!!\n"
                      "-----END PRIVATE KEY-----\n";
    const char *enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                      "-----END ENCRYPTED PRIVATE KEY-----\n";

    assert_false(tls_key_matches_cert(junk, strlen(junk), leaf, &error));
    assert_true(g_error_matches(error, TLS_ERROR, TLS_ERROR_PARSE));
    assert_non_null(strstr(error->message, "no PEM private key"));
    g_clear_error(&error);
    assert_false(tls_key_matches_cert(crt, n, leaf, &error));
    assert_true(g_error_matches(error, TLS_ERROR, TLS_ERROR_PARSE));
    assert_non_null(strstr(error->message, "swapped"));
    g_clear_error(&error);
    assert_false(tls_key_matches_cert(bad, strlen(bad), leaf, &error));
    assert_true(g_error_matches(error, TLS_ERROR, TLS_ERROR_PARSE));
    assert_non_null(strstr(error->message, "not a readable PEM private key"));
    g_clear_error(&error);
    assert_false(tls_key_matches_cert(enc, strlen(enc), leaf, &error));
    assert_true(g_error_matches(error, TLS_ERROR, TLS_ERROR_PARSE));
    assert_non_null(strstr(error->message, "encrypted"));
    g_clear_error(&error);
    assert_false(tls_key_matches_cert("", 0, leaf, &error));
    assert_true(g_error_matches(error, TLS_ERROR, TLS_ERROR_PARSE));
}

/* ---- Parse errors -------------------------------------------------------- */

static void test_parse_errors(void **state)
{
    gsize n = 0;
    gsize nk = 0;
    g_autofree char *full =
        pki_read(state, C1 "httpbin.example.com.fullchain.crt", &n);
    g_autofree char *key = pki_read(state, C1 "httpbin.example.com.key", &nk);
    const char *garbage = "hello, I am not a certificate\n";
    check_parse_error(garbage, strlen(garbage), "holds no PEM certificate");
    check_parse_error("", 0, "is empty");
    check_parse_error(key, nk, "holds a private key");

    /* Encoded twice (Secret data: base64 of the base64). */
    g_autofree char *twice = g_base64_encode((const guchar *)full, n);
    check_parse_error(twice, strlen(twice), "encoded twice");

    /* DER. */
    static const char der[] = { 0x30, (char)0x82, 0x01, 0x0a, 0x02, 0x01 };
    check_parse_error(der, sizeof der, "DER");

    /* The second certificate of the chain broken: named with its line. */
    char *second = strstr(full + 1, "-----BEGIN CERTIFICATE-----");
    assert_non_null(second);
    guint line = 1;
    for (const char *p = full; p < second; p++) {
        line += *p == '\n';
    }
    char *body = strchr(second, '\n') + 1;
    memset(body, '!', 10);
    g_autofree char *want = g_strdup_printf("certificate 2 (line %u)", line);
    check_parse_error(full, n, want);

    /* A truncated block. */
    check_parse_error(full, (gsize)(second - full) + 40, "certificate 2");
}

static void test_load_file(void **state)
{
    Pki *pki = *state;
    g_autofree char *path =
        g_build_filename(pki->dir, C1 "example.com.crt", NULL);
    g_autofree char *missing = g_build_filename(pki->dir, "nope.crt", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(TlsCert) ca = tls_cert_load_file(path, &error);
    assert_non_null(ca);
    assert_int_equal(tls_cert_chain_len(ca), 1);
    g_autoptr(TlsCert) none = tls_cert_load_file(missing, &error);
    assert_null(none);
    assert_true(g_error_matches(error, TLS_ERROR, TLS_ERROR_FAILED));
    assert_non_null(strstr(error->message, "nope.crt"));
}

int main(void)
{
    g_autofree char *openssl = g_find_program_in_path("openssl");
    if (openssl == NULL) {
        fprintf(stderr, "test-tls: openssl not found, skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject_issuer),
        cmocka_unit_test(test_chain_len),
        cmocka_unit_test(test_dns_names),
        cmocka_unit_test(test_matches_host),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_verify_ok),
        cmocka_unit_test(test_verify_other_ca),
        cmocka_unit_test(test_verify_hostname),
        cmocka_unit_test(test_verify_expiry),
        cmocka_unit_test(test_verify_client),
        cmocka_unit_test(test_verify_intermediate),
        cmocka_unit_test(test_verify_self_signed),
        cmocka_unit_test(test_verify_bad_anchors),
        cmocka_unit_test(test_result_names),
        cmocka_unit_test(test_key_pairing),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
