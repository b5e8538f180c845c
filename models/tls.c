/* tls.c: PEM certificates and keys through GnuTLS, and the handshake's
 * certificate checks (trust, validity at simulated time, host name). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "models/tls.h"

/* clang-format off */
G_DEFINE_QUARK(tls-error-quark, tls_error)
/* clang-format on */

/* Longest path walked from leaf to anchor, anchor included; GnuTLS's own
 * default limit (DEFAULT_MAX_VERIFY_DEPTH in lib/gnutls_int.h). */
#define TLS_MAX_PATH 16

/* Signatures, CA flags and constraints only: validity is checked against
 * the simulated clock by tls_cert_verify itself. */
#define TLS_VERIFY_FLAGS                 \
    (GNUTLS_VERIFY_DISABLE_TIME_CHECKS | \
     GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS)

struct _TlsCert {
    gnutls_x509_crt_t *certs; /* file order, leaf first; the array is from
                               * gnutls_x509_crt_list_import2 (gnutls_free),
                               * each certificate owned */
    guint n;                  /* entries in certs, >= 1 */
    char *what;               /* source named in messages, owned */
};

static void datum_clear(gnutls_datum_t *d)
{
    gnutls_free(d->data);
    d->size = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(gnutls_datum_t, datum_clear)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_x509_privkey_t,
                                gnutls_x509_privkey_deinit,
                                NULL)

/* ---- Parsing ------------------------------------------------------------- */

static const char pem_cert_header[] = "-----BEGIN CERTIFICATE-----";
static const char pem_x509_header[] = "-----BEGIN X509 CERTIFICATE-----";

/* Finds @needle in the @len bytes at @hay (which may hold NULs, unlike
 * what g_strstr_len accepts). Returns: offset, or -1. */
static gssize mem_find(const char *hay, gsize len, const char *needle)
{
    gsize nlen = strlen(needle);
    if (nlen == 0 || len < nlen) {
        return -1;
    }
    for (gsize i = 0; i + nlen <= len; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0) {
            return (gssize)i;
        }
    }
    return -1;
}

/* 1-based line of byte @off of @pem. */
static guint line_of(const char *pem, gsize off)
{
    guint line = 1;
    for (gsize i = 0; i < off; i++) {
        if (pem[i] == '\n') {
            line++;
        }
    }
    return line;
}

/* The error for input that holds no certificate block, with the likely
 * mistake named. */
static void
set_no_cert_error(GError **error, const char *pem, gsize len, const char *what)
{
    if (mem_find(pem, len, "PRIVATE KEY-----") >= 0) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "%s holds a private key, not a certificate "
                    "(are tls.crt and tls.key swapped?)",
                    what);
    } else if (len >= 14 && memcmp(pem, "LS0tLS1CRUdJTi", 14) == 0) {
        /* "LS0tLS1CRUdJTi" is base64 of "-----BEGIN". */
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "%s is base64 text, not PEM: it was base64-encoded "
                    "twice (a Secret's data: holds the PEM file encoded "
                    "once; stringData: holds it as is)",
                    what);
    } else if ((guchar)pem[0] == 0x30) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "%s looks like a DER (binary) certificate; PEM is "
                    "needed: openssl x509 -inform der -in FILE -out FILE.pem",
                    what);
    } else {
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "%s holds no PEM certificate (no \"%s\" line)", what,
                    pem_cert_header);
    }
}

/* After gnutls refused the whole list: imports the blocks one at a time to
 * say which one is broken and why. */
static void set_bad_block_error(
    GError **error, const char *pem, gsize len, const char *what, int list_rc)
{
    guint nth = 0;
    gsize off = 0;
    while (off < len) {
        gssize at = mem_find(pem + off, len - off, pem_cert_header);
        gssize at2 = mem_find(pem + off, len - off, pem_x509_header);
        if (at < 0 || (at2 >= 0 && at2 < at)) {
            at = at2;
        }
        if (at < 0) {
            break;
        }
        gsize start = off + (gsize)at;
        nth++;
        g_auto(gnutls_x509_crt_t) crt = NULL;
        int rc = gnutls_x509_crt_init(&crt);
        if (rc >= 0) {
            gnutls_datum_t d = { (unsigned char *)(pem + start),
                                 (unsigned)(len - start) };
            rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
        }
        if (rc < 0) {
            g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                        "%s: certificate %u (line %u) is not a valid PEM "
                        "certificate: %s",
                        what, nth, line_of(pem, start), gnutls_strerror(rc));
            return;
        }
        off = start + 1;
    }
    g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                "%s: cannot read the PEM certificates: %s", what,
                gnutls_strerror(list_rc));
}

TlsCert *
tls_cert_parse(const char *pem, gsize len, const char *what, GError **error)
{
    g_return_val_if_fail(pem != NULL || len == 0, NULL);
    g_return_val_if_fail(what != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (len == 0) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "%s is empty; a PEM certificate (\"%s\") is needed", what,
                    pem_cert_header);
        return NULL;
    }
    if (len > G_MAXUINT) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "%s is too large for a certificate (%" G_GSIZE_FORMAT
                    " bytes)",
                    what, len);
        return NULL;
    }
    if (mem_find(pem, len, pem_cert_header) < 0 &&
        mem_find(pem, len, pem_x509_header) < 0) {
        set_no_cert_error(error, pem, len, what);
        return NULL;
    }

    gnutls_x509_crt_t *list = NULL;
    unsigned int n = 0;
    gnutls_datum_t d = { (unsigned char *)pem, (unsigned)len };
    /* No flags: keep file order (leaf first, as Envoy serves tls.crt), and
     * no GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED: an unsorted chain is a
     * verification matter, not a parse error. import2 sizes the list. */
    int rc =
        gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0) {
        for (unsigned int i = 0; rc >= 0 && i < n; i++) {
            gnutls_x509_crt_deinit(list[i]);
        }
        gnutls_free(list);
        set_bad_block_error(error, pem, len, what, rc);
        return NULL;
    }

    TlsCert *c = g_new0(TlsCert, 1);
    c->certs = list;
    c->n = n;
    c->what = g_strdup(what);
    return c;
}

TlsCert *tls_cert_load_file(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_FAILED, "%s", local->message);
        return NULL;
    }
    return tls_cert_parse(data, len, path, error);
}

void tls_cert_free(TlsCert *c)
{
    if (c == NULL) {
        return;
    }
    for (guint i = 0; i < c->n; i++) {
        gnutls_x509_crt_deinit(c->certs[i]);
    }
    gnutls_free(c->certs);
    g_free(c->what);
    g_free(c);
}

guint tls_cert_chain_len(const TlsCert *c)
{
    g_return_val_if_fail(c != NULL, 0);
    return c->n;
}

/* ---- Names and times ----------------------------------------------------- */

/* Subject (or issuer) DN of @crt as gnutls_x509_crt_get_dn2 prints it. */
static char *crt_dn(gnutls_x509_crt_t crt, gboolean issuer)
{
    g_auto(gnutls_datum_t) d = { NULL, 0 };
    int rc = issuer ? gnutls_x509_crt_get_issuer_dn2(crt, &d)
                    : gnutls_x509_crt_get_dn2(crt, &d);
    if (rc < 0 || d.data == NULL) {
        return g_strdup("");
    }
    return g_strndup((const char *)d.data, d.size);
}

char *tls_cert_subject(const TlsCert *c)
{
    g_return_val_if_fail(c != NULL, NULL);
    return crt_dn(c->certs[0], FALSE);
}

char *tls_cert_issuer(const TlsCert *c)
{
    g_return_val_if_fail(c != NULL, NULL);
    return crt_dn(c->certs[0], TRUE);
}

/* Adds @crt's SAN dNSNames to @out (if given) in order; tells whether it
 * has any dNSName or iPAddress SAN, which rules out the CN fallback. */
static gboolean crt_san_names(gnutls_x509_crt_t crt, GPtrArray *out)
{
    gboolean any = FALSE;
    for (unsigned int seq = 0;; seq++) {
        size_t size = 0;
        int rc =
            gnutls_x509_crt_get_subject_alt_name(crt, seq, NULL, &size, NULL);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            break;
        }
        if (rc != GNUTLS_E_SHORT_MEMORY_BUFFER && rc < 0) {
            /* An unreadable entry ends the list, as in GnuTLS's check. */
            break;
        }
        g_autofree char *buf = g_malloc0(size + 1);
        rc = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &size, NULL);
        if (rc == GNUTLS_SAN_DNSNAME) {
            any = TRUE;
            if (out != NULL) {
                g_ptr_array_add(out, g_strndup(buf, size));
            }
        } else if (rc == GNUTLS_SAN_IPADDRESS) {
            any = TRUE;
        } else if (rc < 0) {
            break;
        }
    }
    return any;
}

/* The single commonName of @crt, or NULL when none or several (RFC 6125
 * 6.4.4 as GnuTLS applies it in gnutls_x509_crt_check_hostname2). */
static char *crt_single_cn(gnutls_x509_crt_t crt)
{
    size_t size = 0;
    int rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 1,
                                           0, NULL, &size);
    if (rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        return NULL;
    }
    size = 0;
    rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
                                       NULL, &size);
    if (rc != GNUTLS_E_SHORT_MEMORY_BUFFER) {
        return NULL;
    }
    g_autofree char *buf = g_malloc0(size + 1);
    rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
                                       buf, &size);
    if (rc < 0) {
        return NULL;
    }
    return g_steal_pointer(&buf);
}

GStrv tls_cert_dns_names(const TlsCert *c)
{
    g_return_val_if_fail(c != NULL, NULL);
    GPtrArray *names = g_ptr_array_new();
    if (!crt_san_names(c->certs[0], names)) {
        char *cn = crt_single_cn(c->certs[0]);
        if (cn != NULL) {
            g_ptr_array_add(names, cn);
        }
    }
    g_ptr_array_add(names, NULL);
    return (GStrv)g_ptr_array_free(names, FALSE);
}

gboolean tls_cert_matches_host(const TlsCert *c, const char *hostname)
{
    g_return_val_if_fail(c != NULL, FALSE);
    g_return_val_if_fail(hostname != NULL, FALSE);
    return gnutls_x509_crt_check_hostname2(c->certs[0], hostname, 0) != 0;
}

static gint64 crt_not_before(gnutls_x509_crt_t crt)
{
    return (gint64)gnutls_x509_crt_get_activation_time(crt);
}

static gint64 crt_not_after(gnutls_x509_crt_t crt)
{
    time_t t = gnutls_x509_crt_get_expiration_time(crt);
    if (t == GNUTLS_X509_NO_WELL_DEFINED_EXPIRATION) {
        return G_MAXINT64;
    }
    return (gint64)t;
}

gint64 tls_cert_not_before(const TlsCert *c)
{
    g_return_val_if_fail(c != NULL, 0);
    return crt_not_before(c->certs[0]);
}

gint64 tls_cert_not_after(const TlsCert *c)
{
    g_return_val_if_fail(c != NULL, 0);
    return crt_not_after(c->certs[0]);
}

/* "2027-11-26T08:21:13Z", or "never" past year 9999. */
static char *format_time(gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    if (dt == NULL) {
        return g_strdup(t > 0 ? "never" : "before year 1");
    }
    return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* ---- Verification -------------------------------------------------------- */

/* How the walk from the leaf towards an anchor ended. */
typedef enum {
    WALK_TRUSTED,     /* path ends at an anchor */
    WALK_NO_ISSUER,   /* no anchor nor served cert names cur's issuer */
    WALK_SELF_SIGNED, /* reached a self-issued certificate not trusted */
    WALK_BAD_LINK,    /* an issuer by name, but GnuTLS refused the link */
    WALK_TOO_LONG,    /* more than TLS_MAX_PATH certificates */
} WalkEnd;

/* The path curl's OpenSSL would build (trusted-first issuer lookup), kept
 * to explain a failure and to know whose validity to check. */
typedef struct {
    gnutls_x509_crt_t path[TLS_MAX_PATH]; /* leaf first; borrowed; when
                                           * trusted the last is an anchor
                                           * (or the anchor is the leaf) */
    guint n;                              /* entries in path, >= 1 */
    WalkEnd end;                          /* why the walk stopped */
    unsigned int link_status;             /* GnuTLS status of the refused link
                                           * (WALK_BAD_LINK), else 0 */
} TlsWalk;

/* Whether GnuTLS accepts @issuer as the signer of @crt (signature, CA flag,
 * key usage), treating @issuer as trusted. Stores the status in @status. */
static gboolean
link_ok(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer, unsigned int *status)
{
    unsigned int st = 0;
    int rc = gnutls_x509_crt_verify(crt, &issuer, 1, TLS_VERIFY_FLAGS, &st);
    if (rc < 0) {
        st = GNUTLS_CERT_INVALID;
    }
    *status = st;
    return st == 0;
}

/* Walks from the leaf: the anchors first (curl's OpenSSL looks there first,
 * X509_V_FLAG_TRUSTED_FIRST), then the unused served certificates in file
 * order. Cost: O(path * (anchors + chain)) issuer checks. */
static void walk_path(const TlsCert *chain, const TlsCert *anchors, TlsWalk *w)
{
    g_autofree gboolean *used = g_new0(gboolean, chain->n);
    gnutls_x509_crt_t cur = chain->certs[0];
    used[0] = TRUE;
    w->n = 0;
    w->path[w->n++] = cur;
    w->link_status = 0;
    for (;;) {
        for (guint i = 0; i < anchors->n; i++) {
            if (gnutls_x509_crt_equals(cur, anchors->certs[i])) {
                w->end = WALK_TRUSTED; /* the anchor is cur itself */
                return;
            }
        }
        unsigned int bad = 0;
        for (guint i = 0; i < anchors->n; i++) {
            unsigned int st = 0;
            if (!gnutls_x509_crt_check_issuer(cur, anchors->certs[i])) {
                continue;
            }
            if (link_ok(cur, anchors->certs[i], &st)) {
                if (w->n == TLS_MAX_PATH) {
                    w->end = WALK_TOO_LONG;
                    return;
                }
                w->path[w->n++] = anchors->certs[i];
                w->end = WALK_TRUSTED;
                return;
            }
            if (bad == 0) {
                bad = st;
            }
        }
        if (gnutls_x509_crt_check_issuer(cur, cur)) {
            w->end = bad != 0 ? WALK_BAD_LINK : WALK_SELF_SIGNED;
            w->link_status = bad;
            return;
        }
        gnutls_x509_crt_t next = NULL;
        for (guint i = 1; i < chain->n && next == NULL; i++) {
            unsigned int st = 0;
            if (used[i] ||
                !gnutls_x509_crt_check_issuer(cur, chain->certs[i])) {
                continue;
            }
            if (link_ok(cur, chain->certs[i], &st)) {
                used[i] = TRUE;
                next = chain->certs[i];
            } else if (bad == 0) {
                bad = st;
            }
        }
        if (next == NULL) {
            w->end = bad != 0 ? WALK_BAD_LINK : WALK_NO_ISSUER;
            w->link_status = bad;
            return;
        }
        if (w->n == TLS_MAX_PATH) {
            w->end = WALK_TOO_LONG;
            return;
        }
        w->path[w->n++] = next;
        cur = next;
    }
}

/* curl's (OpenSSL's X509_verify_cert_error_string) wording for a refused
 * link, from GnuTLS's status bits. */
static const char *link_reason(unsigned int status)
{
    if (status & GNUTLS_CERT_SIGNER_NOT_CA) {
        return "invalid CA certificate";
    }
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM) {
        return "certificate signature uses an insecure algorithm";
    }
    if (status & GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE) {
        return "certificate chain violates its issuer's constraints";
    }
    return "certificate signature failure";
}

/* One line saying why the walk failed. */
static char *walk_detail(const TlsWalk *w)
{
    gnutls_x509_crt_t last = w->path[w->n - 1];
    g_autofree char *subject = crt_dn(last, FALSE);
    g_autofree char *issuer = crt_dn(last, TRUE);
    switch (w->end) {
    case WALK_NO_ISSUER:
        return g_strdup_printf("unable to get local issuer certificate (issuer "
                               "'%s' of '%s' is neither a trust anchor nor "
                               "in the served chain)",
                               issuer, subject);
    case WALK_SELF_SIGNED:
        return g_strdup_printf("%s ('%s' is not a trust anchor)",
                               w->n == 1 ? "self-signed certificate"
                                         : "self-signed certificate in "
                                           "certificate chain",
                               subject);
    case WALK_BAD_LINK:
        return g_strdup_printf("%s (issuer '%s' of '%s')",
                               link_reason(w->link_status), issuer, subject);
    case WALK_TOO_LONG:
        return g_strdup_printf("certificate chain too long (over %d)",
                               TLS_MAX_PATH);
    case WALK_TRUSTED:
        break;
    }
    g_assert_not_reached();
}

/* GnuTLS's own one-line account of @status, for the rare case where our walk
 * found a path GnuTLS still refused: a path length or name constraint, or
 * two anchors sharing the issuer's name without key ids, where GnuTLS tries
 * only one of them (so does OpenSSL, though not always the same one). */
static char *gnutls_detail(unsigned int status)
{
    g_auto(gnutls_datum_t) out = { NULL, 0 };
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
                                                     &out, 0) < 0 ||
        out.data == NULL) {
        return g_strdup_printf("certificate verification failed (GnuTLS "
                               "status 0x%x)",
                               status);
    }
    char *text = g_strndup((const char *)out.data, out.size);
    return g_strstrip(text);
}

/* Checks validity at @now from the top of @path down to the leaf (the order
 * of OpenSSL's internal_verify, so the first failure is the one curl
 * reports). */
static TlsVerifyResult
check_times(gnutls_x509_crt_t const *path, guint n, gint64 now, char **detail)
{
    for (guint k = n; k-- > 0;) {
        gint64 nb = crt_not_before(path[k]);
        gint64 na = crt_not_after(path[k]);
        if (now >= nb && now <= na) {
            continue;
        }
        g_autofree char *subject = crt_dn(path[k], FALSE);
        g_autofree char *snow = format_time(now);
        if (now < nb) {
            g_autofree char *snb = format_time(nb);
            *detail = g_strdup_printf("certificate is not yet valid ('%s' "
                                      "notBefore %s, now %s)",
                                      subject, snb, snow);
            return TLS_VERIFY_NOT_YET_VALID;
        }
        g_autofree char *sna = format_time(na);
        *detail = g_strdup_printf("certificate has expired ('%s' notAfter %s, "
                                  "now %s)",
                                  subject, sna, snow);
        return TLS_VERIFY_EXPIRED;
    }
    return TLS_VERIFY_OK;
}

/* curl's wording for a name mismatch (lib/vtls/openssl.c, verifyhost):
 * with SAN names it lists none of them; without, it quotes the CN. We add
 * the names so the user sees what the certificate is for. */
static char *hostname_detail(gnutls_x509_crt_t leaf, const char *hostname)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    if (crt_san_names(leaf, names)) {
        g_ptr_array_add(names, NULL);
        g_autofree char *list = g_strjoinv(", ", (char **)names->pdata);
        return g_strdup_printf("no alternative certificate subject name "
                               "matches target host name '%s' (SAN DNS: %s)",
                               hostname, list[0] != '\0' ? list : "none");
    }
    g_autofree char *cn = crt_single_cn(leaf);
    return g_strdup_printf("certificate subject name '%s' does not match "
                           "target host name '%s'",
                           cn != NULL ? cn : "", hostname);
}

/* tls_cert_verify without the optional out-parameter: always sets *@why. */
static TlsVerifyResult verify_chain(const TlsCert *chain,
                                    const TlsCert *anchors,
                                    const char *hostname,
                                    gint64 now,
                                    char **why)
{
    if (anchors == NULL || anchors->n == 0) {
        *why = g_strdup("no trust anchors (the CA file holds no certificate)");
        return TLS_VERIFY_BAD_ANCHORS;
    }

    /* GnuTLS's verdict. The trust list borrows the anchors: deinit with
     * all == 0 leaves them to us. */
    gnutls_x509_trust_list_t tl = NULL;
    unsigned int status = 0;
    int rc = gnutls_x509_trust_list_init(&tl, 0);
    if (rc < 0) {
        *why = g_strdup_printf("certificate verification failed: %s",
                               gnutls_strerror(rc));
        return TLS_VERIFY_UNTRUSTED;
    }
    rc = gnutls_x509_trust_list_add_cas(tl, anchors->certs, anchors->n, 0);
    if (rc <= 0) {
        gnutls_x509_trust_list_deinit(tl, 0);
        *why = g_strdup_printf("cannot use the trust anchors of %s",
                               anchors->what);
        return TLS_VERIFY_BAD_ANCHORS;
    }
    rc = gnutls_x509_trust_list_verify_crt2(tl, chain->certs, chain->n, NULL, 0,
                                            TLS_VERIFY_FLAGS, &status, NULL);
    gnutls_x509_trust_list_deinit(tl, 0);
    if (rc < 0) {
        *why = g_strdup_printf("certificate verification failed: %s",
                               gnutls_strerror(rc));
        return TLS_VERIFY_UNTRUSTED;
    }

    TlsWalk w;
    walk_path(chain, anchors, &w);
    if (status != 0) {
        *why = w.end != WALK_TRUSTED ? walk_detail(&w) : gnutls_detail(status);
        return TLS_VERIFY_UNTRUSTED;
    }

    /* Trusted. Validity of the path; should our walk ever disagree with
     * GnuTLS, check every served certificate instead. */
    TlsVerifyResult r = w.end == WALK_TRUSTED
                            ? check_times(w.path, w.n, now, why)
                            : check_times(chain->certs, chain->n, now, why);
    if (r != TLS_VERIFY_OK) {
        return r;
    }

    if (hostname != NULL &&
        !gnutls_x509_crt_check_hostname2(chain->certs[0], hostname, 0)) {
        *why = hostname_detail(chain->certs[0], hostname);
        return TLS_VERIFY_HOSTNAME_MISMATCH;
    }
    *why = g_strdup("ok");
    return TLS_VERIFY_OK;
}

TlsVerifyResult tls_cert_verify(const TlsCert *chain,
                                const TlsCert *anchors,
                                const char *hostname,
                                gint64 now_unix,
                                char **detail)
{
    g_return_val_if_fail(chain != NULL, TLS_VERIFY_UNTRUSTED);
    g_autofree char *why = NULL;
    TlsVerifyResult r = verify_chain(chain, anchors, hostname, now_unix, &why);
    if (detail != NULL) {
        *detail = g_steal_pointer(&why);
    }
    return r;
}

const char *tls_verify_result_name(TlsVerifyResult r)
{
    switch (r) {
    case TLS_VERIFY_OK:
        return "ok";
    case TLS_VERIFY_UNTRUSTED:
        return "untrusted";
    case TLS_VERIFY_EXPIRED:
        return "expired";
    case TLS_VERIFY_NOT_YET_VALID:
        return "not_yet_valid";
    case TLS_VERIFY_HOSTNAME_MISMATCH:
        return "hostname_mismatch";
    case TLS_VERIFY_BAD_ANCHORS:
        return "bad_anchors";
    }
    g_return_val_if_reached("unknown");
}

int tls_verify_result_curl_exit(TlsVerifyResult r)
{
    switch (r) {
    case TLS_VERIFY_OK:
        return 0;
    case TLS_VERIFY_BAD_ANCHORS:
        return 77; /* CURLE_SSL_CACERT_BADFILE */
    case TLS_VERIFY_UNTRUSTED:
    case TLS_VERIFY_EXPIRED:
    case TLS_VERIFY_NOT_YET_VALID:
    case TLS_VERIFY_HOSTNAME_MISMATCH:
        return 60; /* CURLE_PEER_FAILED_VERIFICATION */
    }
    g_return_val_if_reached(60);
}

/* ---- Keys ---------------------------------------------------------------- */

/* The SHA-256 key id (a hash of the SubjectPublicKeyInfo) of @crt or @key;
 * equal ids mean the same public key. Returns the size, 0 on failure. */
static size_t crt_key_id(gnutls_x509_crt_t crt, guchar *buf, size_t cap)
{
    size_t size = cap;
    if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, buf, &size) <
        0) {
        return 0;
    }
    return size;
}

static size_t privkey_key_id(gnutls_x509_privkey_t key, guchar *buf, size_t cap)
{
    size_t size = cap;
    if (gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, buf,
                                       &size) < 0) {
        return 0;
    }
    return size;
}

gboolean tls_key_matches_cert(const char *key_pem,
                              gsize len,
                              const TlsCert *c,
                              GError **error)
{
    g_return_val_if_fail(key_pem != NULL || len == 0, FALSE);
    g_return_val_if_fail(c != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    if (len == 0) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "the private key for %s is empty", c->what);
        return FALSE;
    }
    if (len > G_MAXUINT) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "the private key for %s is too large", c->what);
        return FALSE;
    }
    if (mem_find(key_pem, len, "ENCRYPTED") >= 0) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "the private key for %s is encrypted; Envoy needs it "
                    "without a passphrase (openssl pkey -in KEY -out "
                    "KEY.plain)",
                    c->what);
        return FALSE;
    }
    if (mem_find(key_pem, len, "PRIVATE KEY-----") < 0) {
        if (mem_find(key_pem, len, pem_cert_header) >= 0) {
            g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                        "the private key for %s holds a certificate, not a "
                        "key (are tls.crt and tls.key swapped?)",
                        c->what);
        } else {
            g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                        "the private key for %s holds no PEM private key "
                        "(no \"-----BEGIN PRIVATE KEY-----\" line)",
                        c->what);
        }
        return FALSE;
    }

    g_auto(gnutls_x509_privkey_t) key = NULL;
    gnutls_datum_t d = { (unsigned char *)key_pem, (unsigned)len };
    int rc = gnutls_x509_privkey_init(&key);
    if (rc >= 0) {
        rc = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
    }
    if (rc < 0) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_PARSE,
                    "the private key for %s is not a readable PEM private "
                    "key: %s",
                    c->what, gnutls_strerror(rc));
        return FALSE;
    }

    guchar kid[64];
    guchar cid[64];
    size_t kn = privkey_key_id(key, kid, sizeof kid);
    size_t cn = crt_key_id(c->certs[0], cid, sizeof cid);
    if (kn == 0 || cn == 0) {
        g_set_error(error, TLS_ERROR, TLS_ERROR_FAILED,
                    "cannot compare the private key with the certificate of "
                    "%s (unsupported key type)",
                    c->what);
        return FALSE;
    }
    if (kn != cn || memcmp(kid, cid, kn) != 0) {
        g_autofree char *subject = crt_dn(c->certs[0], FALSE);
        g_set_error(error, TLS_ERROR, TLS_ERROR_KEY_MISMATCH,
                    "the private key does not match the certificate of %s "
                    "('%s'): Envoy rejects the pair",
                    c->what, subject);
        return FALSE;
    }
    return TRUE;
}
