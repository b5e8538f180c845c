/* gateway-listener.c: steps 5 and 6 at request time (models): the Envoy
 * listener by port, the filter chain by SNI, TLS termination or
 * passthrough, the Gateway server; then hands HTTP to router.c (step 7). */
#include "config.h"

#include <string.h>

#include "models/gateway-private.h"
#include "sim/zero.h"

/* Istio mTLS ALPNs an AUTO_PASSTHROUGH chain requires (R10.3). */
static const char *const istio_alpns[] = {
    "istio",          "istio-peer-exchange",
    "istio-http/1.0", "istio-http/1.1",
    "istio-h2",       NULL
};

const char *gateway_outcome_name(GatewayOutcome o)
{
    switch (o) {
    case GATEWAY_REFUSED:
        return "refused";
    case GATEWAY_RESET:
        return "reset";
    case GATEWAY_TLS_FAILED:
        return "tls-handshake";
    case GATEWAY_LOCAL_REPLY:
        return "local-reply";
    case GATEWAY_FORWARD:
        return "forward";
    }
    return "?";
}

/* gateway_decision_release() (gateway.h) of a decision that owns a
 * buffer. */
void gateway__decision_free_owned(GatewayDecision *d)
{
    g_clear_pointer(&d->reason_buf, g_free);
    g_clear_pointer(&d->location, g_free);
    g_clear_pointer(&d->path_buf, g_free);
    g_clear_pointer(&d->authority_buf, g_free);
}

void gateway_decision_clear(GatewayDecision *d)
{
    if (d == NULL) {
        return;
    }
    gateway_decision_release(d);
    memset(d, 0, sizeof *d);
}

const GwTarget *gateway__pick_target(const GwDestinations *d, Rng *rng)
{
    if (d->targets == NULL || d->targets->len == 0) {
        return NULL;
    }
    if (d->targets->len == 1 || d->total_weight == 0 || rng == NULL) {
        return g_ptr_array_index(d->targets, 0);
    }
    /* Cite: envoy source/common/router/config_impl.cc,
     * WeightedClustersConfig::pickCluster(): random % total, cumulative. */
    guint32 draw = rng_below(rng, d->total_weight);
    guint32 acc = 0;
    for (guint i = 0; i < d->targets->len; i++) {
        const GwTarget *t = g_ptr_array_index(d->targets, i);
        acc += t->weight;
        if (draw < acc) {
            return t;
        }
    }
    return g_ptr_array_index(d->targets, d->targets->len - 1);
}

static gboolean alpn_offers(const char *const *alpn, const char *proto)
{
    for (guint i = 0; alpn != NULL && alpn[i] != NULL; i++) {
        if (strcmp(alpn[i], proto) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static void finish(GatewayDecision *out,
                   GatewayOutcome o,
                   guint step,
                   gint status,
                   const char *flags,
                   const char *reason)
{
    out->outcome = o;
    out->step = step;
    out->status = status;
    out->flags = flags;
    out->reason = reason;
}

static void fail_buf(GatewayDecision *out,
                     GatewayOutcome o,
                     guint step,
                     const char *flags,
                     char *reason_owned)
{
    g_free(out->reason_buf);
    out->reason_buf = reason_owned;
    finish(out, o, step, 0, flags, out->reason_buf);
}

static const char *chain_kind_text(GwChainKind k)
{
    switch (k) {
    case GW_CHAIN_HTTP:
        return "plain-text HTTP";
    case GW_CHAIN_HTTPS:
        return "HTTPS (TLS terminated, HTTP routes)";
    case GW_CHAIN_TCP:
        return "opaque TCP proxy";
    case GW_CHAIN_TLS_TCP:
        return "TLS terminated, TCP proxy";
    case GW_CHAIN_PASSTHROUGH:
        return "TLS passthrough by SNI";
    case GW_CHAIN_AUTO_PASSTHROUGH:
        return "AUTO_PASSTHROUGH (SNI-DNAT)";
    }
    return "?";
}

/* A terminating chain ends TLS; ALPN picks h2 when the chain offers it and
 * the client does, else HTTP/1.1 when the client offers that (R11). */
static void tls_terminate(const GwFilterChain *ch,
                          const GatewayRequest *req,
                          GatewayDecision *out)
{
    out->tls_terminated = TRUE;
    if (ch->alpn_h2 && alpn_offers(req->alpn, "h2")) {
        out->alpn = "h2";
    } else if (alpn_offers(req->alpn, "http/1.1")) {
        out->alpn = "http/1.1";
    }
}

/* Step 5, TLS: what a handshake on a terminating chain gives. Returns FALSE
 * (with @out filled) when it fails. Order as in a TLS 1.3 handshake: the
 * client checks the server certificate, then the server checks the client
 * certificate it requested. */
static gboolean tls_handshake(const GwFilterChain *ch,
                              const GatewayRequest *req,
                              GatewayDecision *out,
                              Trace *tr,
                              SimTime at,
                              const char *node)
{
    out->certificate = ch->certificate;
    if (req->tls_resumed) {
        /* The session outlives the credential: SDS updates do not touch
         * connections already established. */
        tls_terminate(ch, req, out);
        if (tr != NULL) {
            trace_addf(tr, 5, "Envoy TLS", node, at,
                       "keep-alive: the TLS session of this connection is "
                       "already established",
                       "no handshake: the connection's TLS session (%s) "
                       "goes on",
                       ch->certificate != NULL ? ch->certificate : "-");
        }
        return TRUE;
    }
    if (ch->cert_problem != NULL) {
        fail_buf(out, GATEWAY_TLS_FAILED, 5, "-",
                 g_strdup_printf("R16: no usable server certificate: %s",
                                 ch->cert_problem));
        TRACE(tr, 5, "Envoy TLS", node, at,
              "TLS handshake fails: the chain has no usable certificate", "%s",
              out->reason);
        return FALSE;
    }
    if (req->client_anchors != NULL) {
        g_autofree char *detail = NULL;
        TlsVerifyResult vr =
            tls_cert_verify(ch->server_cert, req->client_anchors,
                            req->verify_host, req->now_unix, &detail);
        if (vr != TLS_VERIFY_OK) {
            fail_buf(out, GATEWAY_TLS_FAILED, 5, "-",
                     g_strdup_printf("the client rejects the gateway's "
                                     "certificate %s: %s",
                                     ch->certificate, detail));
            TRACE(tr, 5, "Envoy TLS", node, at,
                  "the client aborts the handshake", "%s", out->reason);
            return FALSE;
        }
    }
    gboolean want =
        ch->mode == ISTIO_TLS_MUTUAL || ch->mode == ISTIO_TLS_OPTIONAL_MUTUAL;
    if (ch->mode == ISTIO_TLS_MUTUAL && req->client_cert == NULL) {
        finish(out, GATEWAY_TLS_FAILED, 5, 0, "-",
               "R11: MUTUAL requires a client certificate: Envoy sends the "
               "alert certificate_required");
        TRACE(tr, 5, "Envoy TLS", node, at,
              "TLS handshake fails: no client certificate", "%s", out->reason);
        return FALSE;
    }
    if (want && req->client_cert != NULL) {
        g_autofree char *detail = NULL;
        TlsVerifyResult vr = tls_cert_verify(req->client_cert, ch->ca, NULL,
                                             req->now_unix, &detail);
        if (vr != TLS_VERIFY_OK) {
            fail_buf(out, GATEWAY_TLS_FAILED, 5, "-",
                     g_strdup_printf("R11: the gateway rejects the client "
                                     "certificate: %s",
                                     detail));
            TRACE(tr, 5, "Envoy TLS", node, at,
                  "TLS handshake fails: client certificate rejected", "%s",
                  out->reason);
            return FALSE;
        }
    }
    tls_terminate(ch, req, out);
    if (tr != NULL) {
        trace_addf(tr, 5, "Envoy TLS", node, at,
                   "R11: the chain terminates TLS with the credential of its "
                   "server; ALPN from the client's offer",
                   "TLS %s terminated with certificate %s%s%s",
                   istio_tls_mode_name(ch->mode), ch->certificate,
                   out->alpn != NULL ? ", ALPN " : "",
                   out->alpn != NULL ? out->alpn : "");
    }
    return TRUE;
}

/* tcp_proxy: weighted choice once per connection (R10, R8.6). */
static void decide_tcp(const GwFilterChain *ch,
                       Rng *rng,
                       GatewayDecision *out,
                       Trace *tr,
                       SimTime at,
                       const char *node)
{
    const GwTarget *t = gateway__pick_target(&ch->tcp, rng);
    g_assert(t != NULL);
    out->tcp = TRUE;
    out->cluster_name = t->name;
    out->route = ch->tcp_source;
    if (t->cluster == NULL) {
        finish(out, GATEWAY_RESET, 8, 0, "NC",
               "R8.5: the tcp_proxy cluster does not exist: the connection "
               "is closed (NC)");
        if (tr != NULL) {
            trace_set(tr, "cluster", t->name);
            trace_addf(tr, 8, "Envoy tcp_proxy", node, at, out->reason,
                       "cluster %s not found", t->name);
        }
        return;
    }
    out->cluster = t->cluster;
    finish(out, GATEWAY_FORWARD, 8, 0, "-", NULL);
    if (tr != NULL) {
        trace_set(tr, "route", ch->tcp_source);
        trace_set(tr, "cluster", t->name);
        if (ch->tcp.total_weight > 0) {
            trace_addf(tr, 8, "Envoy tcp_proxy", node, at,
                       "R8.6: weighted choice per connection",
                       "%s proxies the connection to %s (weight %u of %u)",
                       ch->tcp_source, t->name, t->weight,
                       ch->tcp.total_weight);
        } else {
            trace_addf(tr, 8, "Envoy tcp_proxy", node, at,
                       "R10.1: the first VirtualService tcp route that "
                       "matches the server wins it",
                       "%s proxies the connection to %s", ch->tcp_source,
                       t->name);
        }
    }
}

/* Steps 5 to 7, every time: gateway_decide() without its memo. */
static void decide_steps(const GatewaySnapshot *s,
                         const GatewayRequest *req,
                         Rng *rng,
                         GatewayDecision *out,
                         Trace *tr,
                         SimTime at,
                         const char *node)
{
    sim_zero(out, sizeof *out);
    out->flags = "-";
    out->path = req->path;
    out->authority = req->authority;

    /* Step 5: listener by destination port (R9.1). */
    const GwListener *l = NULL;
    for (guint i = 0; i < s->listeners->len && l == NULL; i++) {
        const GwListener *x = g_ptr_array_index(s->listeners, i);
        if (x->port == req->port &&
            (x->any_addr || g_strcmp0(x->bind, s->pod->ip) == 0)) {
            l = x;
        }
    }
    if (l == NULL) {
        finish(out, GATEWAY_REFUSED, 5, 0, "-",
               "R1.3: no Envoy listener on this port (no Gateway server "
               "resolves to it, or it has no filter chain, R4.6): the pod "
               "answers RST");
        if (tr != NULL) {
            trace_addf(tr, 5, "Envoy listener", node, at, out->reason,
                       "nothing listens on port %d of %s", req->port,
                       s->pod_ref);
        }
        return;
    }
    out->listener = l->name;
    if (tr != NULL) {
        trace_set(tr, "listener", l->name);
        trace_addf(tr, 5, "Envoy listener", node, at,
                   "R3.1, R3.2: one listener per resolved (target) port",
                   "listener %s accepts the connection", l->name);
    }

    /* Filter chain by SNI (R9.2, R9.3). */
    const char *sni = req->tls ? req->sni : NULL;
    const char *matched = NULL;
    const GwFilterChain *ch =
        req->names_fixed ? host_sni_table_lookup_fixed(l->sni, sni, &matched)
                         : host_sni_table_lookup(l->sni, sni, &matched);
    if (ch != NULL && ch->kind == GW_CHAIN_AUTO_PASSTHROUGH) {
        gboolean ok = FALSE;
        for (guint i = 0; istio_alpns[i] != NULL && !ok; i++) {
            ok = alpn_offers(req->alpn, istio_alpns[i]);
        }
        if (!ok) {
            ch = NULL; /* application_protocols do not match */
        }
    }
    if (ch == NULL) {
        finish(out, GATEWAY_RESET, 5, 0, "NR",
               sni != NULL
                   ? "R9.3: no filter chain matches the SNI: Envoy closes "
                     "the connection (filter_chain_not_found)"
                   : "R9.3: no SNI, and every filter chain requires a server "
                     "name: Envoy closes the connection "
                     "(filter_chain_not_found)");
        if (tr != NULL) {
            trace_addf(tr, 5, "Envoy filter chain", node, at, out->reason,
                       "no filter chain of %s for SNI %s", l->name,
                       sni != NULL ? sni : "(none)");
        }
        return;
    }
    out->chain_matched = TRUE;
    out->server_names = (const char *const *)ch->server_names;
    out->server = ch->server_ref;
    if (tr != NULL) {
        if (ch->server_names == NULL) {
            trace_set(tr, "filter_chain", "match-all");
        } else {
            trace_set_strv(tr, "filter_chain",
                           (const char *const *)ch->server_names);
        }
        trace_addf(tr, 5, "Envoy filter chain", node, at,
                   matched != NULL
                       ? "R9.2: exact server name, then the longest wildcard, "
                         "then a chain without server names"
                       : "R9.2: no server name matched; the chain without "
                         "server_names takes the connection",
                   "filter chain #%u (%s)%s%s chosen%s%s", ch->index,
                   chain_kind_text(ch->kind),
                   matched != NULL ? " by server name " : "",
                   matched != NULL ? matched : "",
                   sni != NULL ? " for SNI " : " (no SNI)",
                   sni != NULL ? sni : "");
    }

    /* TLS or plain text on the chain. */
    switch (ch->kind) {
    case GW_CHAIN_HTTPS:
    case GW_CHAIN_TLS_TCP:
        if (!req->tls) {
            finish(out, GATEWAY_RESET, 5, 0, "-",
                   "plain-text bytes reached a TLS-terminating filter chain: "
                   "the TLS handshake fails and Envoy closes the connection");
            TRACE(tr, 5, "Envoy TLS", node, at, "no ClientHello", "%s",
                  out->reason);
            return;
        }
        if (!tls_handshake(ch, req, out, tr, at, node)) {
            return;
        }
        break;
    case GW_CHAIN_HTTP:
        if (req->tls) {
            finish(out, GATEWAY_TLS_FAILED, 5, 0, "-",
                   "the chain speaks plain-text HTTP: the ClientHello is not "
                   "HTTP and the client's handshake fails (wrong version "
                   "number)");
            TRACE(tr, 5, "Envoy TLS", node, at, "no TLS on this chain", "%s",
                  out->reason);
            return;
        }
        break;
    case GW_CHAIN_TCP:
    case GW_CHAIN_PASSTHROUGH:
    case GW_CHAIN_AUTO_PASSTHROUGH:
        break;
    }

    /* Step 6: the Gateway server that made the chain. */
    if (tr != NULL) {
        trace_set(tr, "server", ch->server_ref);
        if (ch->certificate != NULL) {
            trace_set(tr, "certificate", ch->certificate);
        }
        const IstioServer *sv = ch->server;
        g_autoptr(GString) hosts = g_string_new(NULL);
        for (guint i = 0; i < sv->hosts->len; i++) {
            g_string_append_printf(
                hosts, "%s%s", i > 0 ? ", " : "",
                (const char *)g_ptr_array_index(sv->hosts, i));
        }
        trace_addf(tr, 6, "Gateway", node, at,
                   ch->kind == GW_CHAIN_HTTP
                       ? "R4.2: plain HTTP servers on one port share one "
                         "chain and route table"
                   : ch->kind == GW_CHAIN_TCP
                       ? "R10.1: an opaque TCP server is one tcp_proxy "
                         "chain; the first matching VirtualService owns it"
                   : ch->kind == GW_CHAIN_PASSTHROUGH ||
                           ch->kind == GW_CHAIN_AUTO_PASSTHROUGH
                       ? "R10.2, R10.3: a passthrough chain per SNI, TLS "
                         "left to the backend"
                       : "R4.3, R9.4: each TLS server has its own chain",
                   "%s (%s %d, hosts %s) applies", ch->server_ref,
                   sv->protocol_text, sv->number, hosts->str);
    }

    switch (ch->kind) {
    case GW_CHAIN_TCP:
    case GW_CHAIN_TLS_TCP:
    case GW_CHAIN_PASSTHROUGH:
    case GW_CHAIN_AUTO_PASSTHROUGH:
        decide_tcp(ch, rng, out, tr, at, node);
        return;
    case GW_CHAIN_HTTP:
    case GW_CHAIN_HTTPS:
        break;
    }
    if (!req->http) {
        finish(out, GATEWAY_RESET, 7, 0, "DPE",
               "the HTTP connection manager received bytes that are not "
               "HTTP: Envoy closes the connection (DPE)");
        TRACE(tr, 7, "Envoy HTTP", node, at, "not an HTTP request", "%s",
              out->reason);
        return;
    }
    router__decide(s, ch->route_config, req, rng, out, tr, at, node);
}

/* ---- the decision memo ---------------------------------------------------
 * Why: a generated request is one of a few templates, and for one of them
 * on one port the steps above come to the same decision every time unless
 * they draw (weighted clusters, fault and mirror percentages), allocate
 * (rewrites, redirects, failure texts) or check a certificate against the
 * clock (anchors, client certificates). Those are never remembered; the
 * rest is, by the addresses of the request's strings, which all_fixed
 * says stay put for the run. They were 8% of a request's instructions. */

/* Slots per snapshot, in sets of two (the newer kept first): a scenario has
 * a few templates, but keys hashed by address collide. Direct-mapped in 8
 * slots, the bench's replay (a handful of keys) missed 9.5% of its
 * decisions, each a run of the steps and, while requests still held the
 * old one, an allocation. */
#define GW_DECISION_SLOTS 64
/* GwDecisionKey.bits */
#define GW_KEY_USED    (1u << 0) /* the slot holds a decision */
#define GW_KEY_TLS     (1u << 1)
#define GW_KEY_RESUMED (1u << 2)
#define GW_KEY_HTTP    (1u << 3)

/* Everything of a GatewayRequest that steps 5-7 read when nothing is
 * verified against the clock (no anchors, no client certificate). */
typedef struct {
    const char *path;
    const char *authority;
    const char *method;
    const char *scheme;
    const char *sni;
    const char *const *alpn;
    const KvList *headers;
    gint port;
    guint bits; /* GW_KEY_*; 0: an empty slot */
} GwDecisionKey;

/* A remembered decision, handed out by address (gateway_decide_shared()):
 * requests in flight read it where it is, so a slot taken by another key
 * leaves it to them and it goes when the last of them lets go. */
typedef struct {
    GatewayDecision dec; /* first: the address handed out; owns nothing */
    guint refs;          /* requests holding it */
    gboolean in_slot;    /* a slot of the memo points to it */
} GwSharedDecision;

struct _GwDecisionMemo {
    GwDecisionKey key[GW_DECISION_SLOTS];
    GwSharedDecision *dec[GW_DECISION_SLOTS]; /* NULL where key is unused */
};

void gateway__decision_memo_free(GwDecisionMemo *m)
{
    if (m == NULL) {
        return;
    }
    for (guint i = 0; i < GW_DECISION_SLOTS; i++) {
        /* Requests hold their snapshot too, so none holds one now. */
        g_warn_if_fail(m->dec[i] == NULL || m->dec[i]->refs == 0);
        g_free(m->dec[i]);
    }
    g_free(m);
}

/* A shared decision's reference given back. */
static void decision_unshare(const GatewayDecision *d)
{
    GwSharedDecision *sd = (GwSharedDecision *)(void *)d;
    g_return_if_fail(sd->refs > 0);
    if (--sd->refs == 0 && !sd->in_slot) {
        g_free(sd);
    }
}

static inline guint decision_key_bits(const GatewayRequest *req)
{
    return GW_KEY_USED | (req->tls ? GW_KEY_TLS : 0) |
           (req->tls_resumed ? GW_KEY_RESUMED : 0) |
           (req->http ? GW_KEY_HTTP : 0);
}

/* Is @k @req's key? Compared field by field, with no key built: this is
 * most of a remembered decision's cost. */
static inline gboolean decision_key_is(const GwDecisionKey *k,
                                       const GatewayRequest *req)
{
    return k->path == req->path && k->authority == req->authority &&
           k->port == req->port && k->bits == decision_key_bits(req) &&
           k->method == req->method && k->scheme == req->scheme &&
           k->sni == req->sni && k->alpn == req->alpn &&
           k->headers == req->headers;
}

/* The first slot of @req's set (the other is the next one): the top
 * bits of a multiplicative hash of the strings that tell templates apart
 * most often, and the port. */
static inline guint decision_set(const GatewayRequest *req)
{
    guint64 h = ((guint64)GPOINTER_TO_SIZE(req->path) ^
                 ((guint64)GPOINTER_TO_SIZE(req->authority) << 7) ^
                 (guint64)(guint)req->port) *
                G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
    G_STATIC_ASSERT((GW_DECISION_SLOTS & (GW_DECISION_SLOTS - 1)) == 0);
    return 2 * (guint)(h >> (65 - __builtin_ctz(GW_DECISION_SLOTS)));
}

/* Swaps slots @a and @b (their keys and decisions). */
static inline void memo_swap(GwDecisionMemo *m, guint a, guint b)
{
    GwDecisionKey k = m->key[a];
    GwSharedDecision *d = m->dec[a];
    m->key[a] = m->key[b];
    m->dec[a] = m->dec[b];
    m->key[b] = k;
    m->dec[b] = d;
}

/* The steps into @own, and what they decided remembered first in @s's
 * set @set when it can be handed out again (see above); the set's
 * earlier remembered decision goes. */
static G_NO_INLINE void decide_and_remember(const GatewaySnapshot *s,
                                            const GatewayRequest *req,
                                            Rng *rng,
                                            GatewayDecision *own,
                                            guint set,
                                            SimTime at,
                                            const char *node)
{
    guint64 drawn_before = rng->state;
    decide_steps(s, req, rng, own, NULL, at, node);
    if (rng->state != drawn_before || own->reason_buf != NULL ||
        own->location != NULL || own->path_buf != NULL ||
        own->authority_buf != NULL) {
        return;
    }
    /* A memo, as the host tables' (host.c): the snapshot is shared
     * read-only, but what it remembers never changes an answer. */
    GatewaySnapshot *ms = (GatewaySnapshot *)s;
    if (ms->decisions == NULL) {
        ms->decisions = g_new0(GwDecisionMemo, 1);
    }
    GwDecisionMemo *m = ms->decisions;
    /* The newer of the set moves second; the older's slot is written. */
    memo_swap(m, set, set + 1);
    guint slot = set;
    GwSharedDecision *sd = m->dec[slot];
    if (sd != NULL && sd->refs > 0) {
        sd->in_slot = FALSE; /* its last request frees it */
        sd = NULL;
    }
    if (sd == NULL) {
        sd = g_new(GwSharedDecision, 1);
        sd->refs = 0;
        sd->in_slot = TRUE;
        m->dec[slot] = sd;
    }
    sd->dec = *own;
    m->key[slot] = (GwDecisionKey){
        .path = req->path,
        .authority = req->authority,
        .method = req->method,
        .scheme = req->scheme,
        .sni = req->sni,
        .alpn = req->alpn,
        .headers = req->headers,
        .port = req->port,
        .bits = decision_key_bits(req),
    };
}

const GatewayDecision *gateway_decide_shared(const GatewaySnapshot *s,
                                             const GatewayRequest *req,
                                             Rng *rng,
                                             GatewayDecision *own,
                                             Trace *tr,
                                             SimTime at,
                                             const char *node)
{
    g_return_val_if_fail(s != NULL && req != NULL && own != NULL, NULL);
    if (!req->all_fixed || tr != NULL || rng == NULL ||
        req->client_anchors != NULL || req->client_cert != NULL) {
        decide_steps(s, req, rng, own, tr, at, node);
        return own;
    }
    guint set = decision_set(req);
    GwDecisionMemo *m = s->decisions;
    if (m != NULL) {
        if (decision_key_is(&m->key[set], req)) {
            m->dec[set]->refs++;
            return &m->dec[set]->dec;
        }
        /* Not moved first on a hit: two keys of one set taking turns
         * would swap their 160 bytes of keys at every request. */
        if (decision_key_is(&m->key[set + 1], req)) {
            m->dec[set + 1]->refs++;
            return &m->dec[set + 1]->dec;
        }
    }
    decide_and_remember(s, req, rng, own, set, at, node);
    return own;
}

void gateway_decision_drop(const GatewayDecision *d, GatewayDecision *own)
{
    if (d == own) {
        gateway_decision_release(own);
    } else if (d != NULL) {
        decision_unshare(d);
    }
}

void gateway_decide(const GatewaySnapshot *s,
                    const GatewayRequest *req,
                    Rng *rng,
                    GatewayDecision *out,
                    Trace *tr,
                    SimTime at,
                    const char *node)
{
    g_return_if_fail(s != NULL && req != NULL && out != NULL);
    const GatewayDecision *d =
        gateway_decide_shared(s, req, rng, out, tr, at, node);
    if (d != out) {
        *out = *d;
        decision_unshare(d);
    }
}
