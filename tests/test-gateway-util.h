/* test-gateway-util.h: helpers shared by the gateway tests: load a YAML
 * scenario string, compile the gateway pod, build requests, and a PKI made
 * at test time (tests -> models/gateway). */
#pragma once

#include <glib.h>

#include "models/gateway.h"
#include "models/scenario.h"

G_BEGIN_DECLS

/* A loaded scenario and the snapshot of its first gateway pod. */
typedef struct {
    Scenario *sc;          /* owned */
    GatewaySnapshot *snap; /* owned; NULL when compile failed */
    GError *error;         /* owned; the load or compile error */
} GwtFixture;

/* Loads @yaml (manifests, optionally a Scenario document) and compiles the
 * first gateway pod. Never NULL; check ->snap / ->error. */
GwtFixture *gwt_load(const char *yaml);
void gwt_free(GwtFixture *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GwtFixture, gwt_free)

/* A plain HTTP request to pod port @port. Strings are borrowed. */
GatewayRequest gwt_http(gint port, const char *authority, const char *path);
/* An HTTPS request (SNI @sni, nullable; ALPN h2,http/1.1; no verify). */
GatewayRequest
gwt_https(gint port, const char *sni, const char *authority, const char *path);
/* A raw TCP (@tls FALSE) or TLS (@tls TRUE, SNI @sni) stream. */
GatewayRequest gwt_stream(gint port, gboolean tls, const char *sni);

/* Decides @req on @f's snapshot with a fixed-seed Rng (stream "test"). */
void gwt_decide(const GwtFixture *f,
                const GatewayRequest *req,
                GatewayDecision *out);

/* Creates a PKI with tests/make-certs.sh under SIM_BUILDDIR (or TMPDIR);
 * Returns: (transfer full) the directory, or NULL when openssl fails. */
char *gwt_pki_new(void);
/* Removes a directory tree made by gwt_pki_new or a docs case. */
void gwt_rm_tree(const char *path);
/* Reads @dir/@rel as text. Returns: (transfer full) or NULL. */
char *gwt_read(const char *dir, const char *rel);
/* Indents @pem by @n spaces per line for a YAML block scalar.
 * Returns: (transfer full). */
char *gwt_indent(const char *pem, guint n);

G_END_DECLS
