/* analyze-private.h: what the analyzers (analyze-*.c) share: the parsed
 * objects, the compiled gateway snapshots and the message sink. Only
 * models/analyze*.c include it. */
#pragma once

#include <glib.h>

#include "models/analyze.h"
#include "models/gateway.h"
#include "models/istio.h"

G_BEGIN_DECLS

/* The state of one analysis run. */
typedef struct {
    const Scenario *s;        /* the scenario (borrowed) */
    const Cluster *c;         /* s->cluster */
    GPtrArray *gateways;      /* IstioGateway* or NULL (invalid), aligned with
                               * c->gateways */
    GPtrArray *vss;           /* IstioVirtualService* or NULL, aligned with
                               * c->virtual_services */
    GPtrArray *drs;           /* IstioDestinationRule* or NULL, aligned with
                               * c->destination_rules */
    gboolean invalid;         /* some object failed validation (IST0106): the
                               * gateway compiler refuses such a cluster, so
                               * the snapshot analyzers do not run */
    GPtrArray *snapshots;     /* GatewaySnapshot*, one per distinct gateway
                               * workload, pod order; empty when invalid */
    GHashTable *explained;    /* const YNode* destinations that an IST
                               * message already explains (IST0101 host,
                               * host:port, subset; IST0112): ISM0007 skips
                               * them so one cause gives one message */
    GHashTable *port_missing; /* const YNode* Gateway servers reported by
                               * IST0162: ISM0004 skips them */
    GPtrArray *out;           /* AnalyzeMessage*, report order */
} AnalyzeCtx;

/* Reports message @code (a code of the type table) about @origin (a
 * manifest object; nullable) at @where (nullable: the object's document).
 * @fmt renders the message text. */
void analyze__report(AnalyzeCtx *cx,
                     const char *code,
                     const K8sMeta *origin,
                     const YNode *where,
                     const char *fmt,
                     ...) G_GNUC_PRINTF(5, 6);
/* The same about the Scenario document (load balancer, nodes). */
void analyze__report_scenario(AnalyzeCtx *cx,
                              const char *code,
                              const YNode *where,
                              const char *fmt,
                              ...) G_GNUC_PRINTF(4, 5);

/* Go's %q of @s: double-quoted, with \" \\ and control characters escaped.
 * Returns: (transfer full). */
char *analyze__quote(const char *s);
/* Go's %v of a []string: "[a b c]". @items: char*. (transfer full) */
char *analyze__list(const GPtrArray *items);
/* Kubernetes' labels.SelectorFromSet(sel).String(): "k1=v1,k2=v2" sorted
 * by key; "" for an empty or NULL selector. (transfer full) */
char *analyze__selector_string(const KvList *sel);
/* The strings of a YAML sequence as written (hosts, gateways), skipping
 * non-scalars. Returns: (transfer container) borrowed char*. */
GPtrArray *analyze__strings(const YNode *seq);

/* The Service named by destination host @host (as written) of an object in
 * namespace @ns: short names expand in @ns (R8.1), then the FQDN must be a
 * Service's. NULL when none. Cite: istio pkg/config/analysis/analyzers/
 * util/service_lookup.go, GetDestinationHost(). */
const K8sService *analyze__service_for_host(const AnalyzeCtx *cx,
                                            const char *host,
                                            const char *ns);

/* The analyzers, grouped as istio groups them under
 * pkg/config/analysis/analyzers/. */
void analyze__gateways(AnalyzeCtx *cx);          /* analyze-gateway.c */
void analyze__virtual_services(AnalyzeCtx *cx);  /* analyze-virtualservice.c */
void analyze__destination_rules(AnalyzeCtx *cx); /* analyze-destinationrule.c */
void analyze__compiled(AnalyzeCtx *cx);          /* analyze-compiled.c */
void analyze__path(AnalyzeCtx *cx);              /* analyze-path.c */

G_END_DECLS
