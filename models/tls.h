/* tls.h: X.509 certificates made real with GnuTLS: parse the PEM of a
 * Kubernetes TLS Secret or of --cacert/--cert, and decide a TLS handshake's
 * certificate checks as curl (client side) and Envoy (the gateway) would.
 *
 * Place: models. The gateway model (step 7, TLS termination) calls it with
 * Secret data (models/k8s.h) and the trace options; it has no state of its
 * own and never reads the clock: times are passed in as unix seconds so the
 * simulated time decides expiry and tests are deterministic. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Errors a user can cause: unreadable PEM, a key that is not the
 * certificate's. Domain TLS_ERROR. */
#define TLS_ERROR (tls_error_quark())
GQuark tls_error_quark(void);

typedef enum {
    TLS_ERROR_PARSE,        /* not a PEM certificate / private key */
    TLS_ERROR_KEY_MISMATCH, /* a valid key, but not for this certificate */
    TLS_ERROR_FAILED,       /* anything else (file unreadable, too large) */
} TlsError;

/* A parsed PEM chain: one or more certificates, leaf first, in file order.
 * Immutable after parsing. GnuTLS does not promise that one certificate
 * object may be used from two threads at once: keep a TlsCert to one thread
 * (the simulation loop is single-threaded). */
typedef struct _TlsCert TlsCert;

/* Parses every "-----BEGIN CERTIFICATE-----" block of @pem (@len bytes, need
 * not be NUL-terminated; other PEM blocks are skipped, as Envoy and curl do).
 * @what names the source for messages, e.g. "secret
 * istio-system/httpbin-credential tls.crt"; it is copied.
 * Errors: TLS_ERROR_PARSE with a message that names @what and, where it can
 * guess, the mistake (a private key, DER, base64 encoded twice, empty).
 * Cost: linear in @len plus one ASN.1 decode per certificate.
 * Returns: (transfer full) the chain, never empty; free with tls_cert_free. */
TlsCert *
tls_cert_parse(const char *pem, gsize len, const char *what, GError **error);

/* Reads @path (e.g. curl's --cacert FILE) and parses it; @what in messages
 * is the path. Errors: TLS_ERROR_FAILED when unreadable, else as parse.
 * Returns: (transfer full). */
TlsCert *tls_cert_load_file(const char *path, GError **error);

void tls_cert_free(TlsCert *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsCert, tls_cert_free)

/* Number of certificates in the file, >= 1. */
guint tls_cert_chain_len(const TlsCert *c);

/* The leaf's subject / issuer DN as GnuTLS prints it
 * (gnutls_x509_crt_get_dn2, as certtool and curl's GnuTLS backend show it):
 * attributes in certificate order, comma separated, RFC 4514 escaping, e.g.
 * "CN=httpbin.example.com,O=httpbin organization" for -subj
 * "/CN=httpbin.example.com/O=httpbin organization".
 * Returns: (transfer full), never NULL ("" if the name is unreadable). */
char *tls_cert_subject(const TlsCert *c);
char *tls_cert_issuer(const TlsCert *c);

/* The leaf's subjectAltName dNSNames in certificate order. If it has no
 * dNSName and no iPAddress SAN, its one commonName instead, the fallback
 * GnuTLS's hostname check (and curl) apply; empty if neither.
 * Returns: (transfer full) NULL-terminated, never NULL. */
GStrv tls_cert_dns_names(const TlsCert *c);

/* Whether the leaf is valid for @hostname (a DNS name or an IP literal),
 * with gnutls_x509_crt_check_hostname2() semantics (RFC 6125): case
 * insensitive, a wildcard only as the whole leftmost label and covering
 * exactly one label ("*.example.com" matches "a.example.com", not
 * "a.b.example.com" nor "example.com"), CN only when there is no SAN. */
gboolean tls_cert_matches_host(const TlsCert *c, const char *hostname);

/* The leaf's validity, unix seconds (UTC). A notAfter of 99991231235959Z
 * ("no well-defined expiration", RFC 5280 4.1.2.5) is G_MAXINT64. A
 * certificate is valid at t when not_before <= t <= not_after (the
 * boundaries are valid, as in OpenSSL and GnuTLS). */
gint64 tls_cert_not_before(const TlsCert *c);
gint64 tls_cert_not_after(const TlsCert *c);

/* Outcome of tls_cert_verify, in the order the checks run: trust first,
 * then validity times, then the host name (curl checks the name only after
 * the chain verified). */
typedef enum {
    TLS_VERIFY_OK,
    TLS_VERIFY_UNTRUSTED,         /* no path to an anchor, bad signature */
    TLS_VERIFY_EXPIRED,           /* some certificate of the path */
    TLS_VERIFY_NOT_YET_VALID,     /* some certificate of the path */
    TLS_VERIFY_HOSTNAME_MISMATCH, /* leaf not valid for the host name */
    TLS_VERIFY_BAD_ANCHORS,       /* no usable trust anchors */
} TlsVerifyResult;

/* Verifies @chain (as served: leaf first, then intermediates, in any order
 * after the leaf; extra certificates are ignored) against the trust anchors
 * @anchors (a CA bundle; an anchor may also be the leaf itself), then the
 * host name unless @hostname is NULL. This is what curl --cacert does with
 * the server's chain, and what Envoy does with a client certificate under
 * MUTUAL (with @hostname NULL).
 * Signatures, CA flags and constraints are checked by GnuTLS with its time
 * checks disabled; the validity of each certificate on the path (anchor
 * included, as OpenSSL does) is then checked here against @now_unix, from
 * the anchor down to the leaf, the first failure winning.
 * @detail: (out) (optional) (transfer full): one line saying why, with
 * curl's wording without its "SSL certificate problem: " / "SSL: " prefix,
 * e.g. "unable to get local issuer certificate", "certificate has expired
 * (...)", "no alternative certificate subject name matches target host name
 * 'x' (...)"; "ok" on success.
 * Cost: one signature check per link, twice (GnuTLS's verdict, and the path
 * walk that explains it); fine per handshake, not per request at 100k rps. */
TlsVerifyResult tls_cert_verify(const TlsCert *chain,
                                const TlsCert *anchors,
                                const char *hostname,
                                gint64 now_unix,
                                char **detail);

/* Stable names for JSON: "ok", "untrusted", "expired", "not_yet_valid",
 * "hostname_mismatch", "bad_anchors". */
const char *tls_verify_result_name(TlsVerifyResult r);

/* The curl exit code this outcome gives: 0 for TLS_VERIFY_OK, 77
 * (CURLE_SSL_CACERT_BADFILE) for TLS_VERIFY_BAD_ANCHORS, 60
 * (CURLE_PEER_FAILED_VERIFICATION) otherwise. */
int tls_verify_result_curl_exit(TlsVerifyResult r);

/* Whether the private key @key_pem (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC,
 * unencrypted as Envoy needs) is the one of @c's leaf public key. Envoy
 * refuses to load a Secret whose tls.key does not match tls.crt.
 * Returns: TRUE when they pair; FALSE with TLS_ERROR_PARSE (unreadable or
 * encrypted key) or TLS_ERROR_KEY_MISMATCH (a key, but another one's). */
gboolean tls_key_matches_cert(const char *key_pem,
                              gsize len,
                              const TlsCert *c,
                              GError **error);

G_END_DECLS
