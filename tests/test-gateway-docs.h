/* test-gateway-docs.h: loads one case of ../shared/reference/istio-docs-tests
 * (read in place) into a struct, makes its certificates and secrets at test
 * time, and turns it into a scenario; reusable by later full-path tests. */
#pragma once

#include <glib.h>

#include "models/k8s.h"
#include "models/tls.h"
#include "models/ynode.h"

G_BEGIN_DECLS

/* One request of a case. Strings point into the case's YAML tree. */
typedef struct {
    const char *id;          /* "r1" */
    const char *scheme;      /* http, https, tcp */
    gint port;               /* LB / Service port (80, 443, 31400) */
    const char *host;        /* Host/:authority as given ("$INGRESS_HOST") */
    const char *sni;         /* NULL: no SNI ("" in the file too) */
    const char *path;        /* "/status/200"; "/" when absent */
    const char *method;      /* "GET" */
    KvList *headers;         /* lower-case names, owned */
    GStrv alpn;              /* owned, NULL when absent */
    const char *cacert;      /* fixture id or NULL (no verification) */
    const char *client_cert; /* fixture id or NULL */
    gint repeat;             /* 1 unless given */
} DocsRequest;

/* One `expect` or `derived` entry: its YAML map (borrowed). */
typedef struct {
    const char *request; /* the request id, or NULL */
    const YNode *map;    /* every key as written */
} DocsFact;

typedef struct {
    GPtrArray *yaml;       /* YNode* documents of the case file, owned */
    const char *path;      /* the case file */
    const char *id;        /* case id */
    const char *scope;     /* ingress, ingress+mesh, mesh-only, docs-prose */
    const char *api;       /* istio, k8s-ingress */
    const char *profile;   /* default, demo */
    const char *ns;        /* platform.namespace */
    const char *manifests; /* the multi-document YAML, verbatim */
    const YNode *setup;    /* setup_commands sequence, nullable */
    const YNode *fixtures; /* tls_fixtures sequence, nullable */
    GPtrArray *requests;   /* DocsRequest*, owned */
    GPtrArray *expect;     /* DocsFact*, owned */
    GPtrArray *derived;    /* DocsFact*, owned */
    char *workdir;         /* where certificates were made, or NULL */
} DocsCase;

/* Reads @path. Returns: (transfer full) or NULL with @error. */
DocsCase *docs_case_load(const char *path, GError **error);
void docs_case_free(DocsCase *dc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DocsCase, docs_case_free)

/* The directory holding the cases: $SIM_SRCDIR/../shared/reference/
 * istio-docs-tests. Returns: (transfer full). */
char *docs_cases_dir(void);

/* Makes the case's tls_fixtures with openssl under a new work directory
 * and returns a scenario text: a Scenario document (profile), the
 * manifests, and Secrets for its kubectl setup commands (a setup given in
 * prose gets a self-signed certificate for each missing credentialName).
 * Returns: (transfer full) or NULL with @error. */
char *docs_case_scenario(DocsCase *dc, GError **error);

/* A fixture file made by docs_case_scenario, parsed. (transfer full) */
TlsCert *docs_case_cert(const DocsCase *dc, const char *fixture_id);

/* The DocsRequest named @id, or NULL. */
const DocsRequest *docs_case_request(const DocsCase *dc, const char *id);

G_END_DECLS
