/* diagram.c: lays out and draws the nine-step path diagram from a loaded
 * scenario (viz layer), with a run's counts or traced requests on top. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <glib.h>

#include "models/cluster.h"
#include "models/istio.h"
#include "viz/diagram.h"

/* ---- geometry (px) -------------------------------------------------------
 * Columns left to right: client and load balancer; then the node lanes,
 * across which sit kube-proxy, the ingressgateway Service, the gateway
 * pods, the application Services and the application pods. Services span
 * lanes (they are cluster-wide); pods sit in the lane of their node. */
#define W         ((double)DIAGRAM_WIDTH)
#define M         24.0  /* picture margin */
#define LEFT_W    168.0 /* client and load balancer column */
#define GAP_LB    50.0  /* load balancer to the lanes */
#define BAND_PAD  10.0  /* lane edge to its boxes */
#define KP_W      120.0 /* kube-proxy column */
#define GAP       36.0  /* between columns */
#define GWSVC_W   160.0 /* ingressgateway Service column */
#define POD_W     196.0 /* gateway and application pod columns */
#define GAP_BUS   56.0  /* gateway pods to application Services */
#define SVC_W     150.0 /* application Service column */
#define BAND_HEAD 26.0  /* lane title row */
#define CHIP_GAP  6.0   /* between pods stacked in a lane */
#define BAND_GAP  10.0  /* between lanes */
#define PAD       7.0   /* box edge to its text */
#define BADGE_R   10.5  /* step badge radius */
#define MAX_SVCS  12    /* application Services drawn; the rest counted */

#define X_LEFT   M
#define X_BAND   (M + LEFT_W + GAP_LB)
#define X_KP     (X_BAND + BAND_PAD)
#define X_GWSVC  (X_KP + KP_W + GAP)
#define X_GWPOD  (X_GWSVC + GWSVC_W + GAP)
#define X_BUS    (X_GWPOD + POD_W + 20.0)
#define X_SVC    (X_GWPOD + POD_W + GAP_BUS)
#define X_POD    (X_SVC + SVC_W + GAP)
#define X_BAND_R (X_POD + POD_W + BAND_PAD)

typedef enum {
    COL_LEFT,  /* steps 1-2 */
    COL_KP,    /* step 3 */
    COL_GWSVC, /* step 4 */
    COL_GWPOD, /* steps 5-7 */
    COL_SVC,   /* step 8 */
    COL_POD,   /* step 9 */
} Column;

static double column_x(Column c)
{
    static const double xs[] = { X_LEFT, X_KP, X_GWSVC, X_GWPOD, X_SVC, X_POD };
    return xs[c];
}

static Column step_column(guint step)
{
    static const Column cols[] = { COL_LEFT,  COL_LEFT,  COL_LEFT,  COL_KP,
                                   COL_GWSVC, COL_GWPOD, COL_GWPOD, COL_GWPOD,
                                   COL_SVC,   COL_POD };
    return cols[MIN(step, 9u)];
}

static const char *const step_words[10] = {
    "",
    "client sends to a load balancer port",
    "load balancer picks a healthy node",
    "kube-proxy: NodePort → gateway pod (iptables DNAT)",
    "ingressgateway Service: port → targetPort, ready endpoints",
    "gateway pod (Envoy): listener, filter chain, TLS",
    "Gateway: ports, protocols, hosts, certificates",
    "VirtualService: routes by host, path, port",
    "application Service: Envoy picks an endpoint (EDS)",
    "application pod serves it (queue, concurrency)",
};

/* ---- boxes and their text ------------------------------------------------ */

typedef struct {
    VizFont font; /* how it is set */
    char *text;   /* what it says (owned) */
    char *role;   /* record role (owned) */
} Line;

static void line_free(gpointer p)
{
    Line *l = p;
    g_free(l->text);
    g_free(l->role);
    g_free(l);
}

typedef struct {
    VizRect r;        /* where */
    char *name;       /* recorded name (owned) */
    const char *role; /* "client", "pod", "service", ... */
    GPtrArray *lines; /* Line*, top to bottom */
    guint step;       /* step badge in the corner; 0: none */
    VizColor accent;  /* border or stripe colour */
    VizColor fill;    /* background */
    gboolean stripe;  /* a colour stripe on the left (pods) */
    gboolean dashed;  /* dashed border: a virtual thing (Services) */
    double border;    /* border width */
    guint paths;      /* bit k: traced request k passed through it */
} DBox;

static void box_free(gpointer p)
{
    DBox *b = p;
    g_free(b->name);
    g_ptr_array_unref(b->lines);
    g_free(b);
}

static VizFont font(double size, gboolean bold, VizColor c)
{
    VizFont f = { .size = size, .bold = bold, .color = c };
    return f;
}

static VizFont f_title(void)
{
    return font(14.5, TRUE, VIZ_INK);
}

/* A name that may take two lines rather than lose its middle. */
static VizFont f_name(void)
{
    VizFont f = font(14.5, TRUE, VIZ_INK);
    f.wrap = TRUE;
    f.max_lines = 2;
    return f;
}

/* Gateway things: slate, so application Services keep the colours. */
#define GW_COLOR VIZ_RGB(0x4A5A6E)

static VizFont f_detail(void)
{
    return font(12.5, FALSE, VIZ_MUTED);
}

static VizFont f_mono(void)
{
    VizFont f = font(12, FALSE, VIZ_INK);
    f.mono = TRUE;
    return f;
}

static void add_line(DBox *b, VizFont f, const char *role, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static void add_line(DBox *b, VizFont f, const char *role, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Line *l = g_new0(Line, 1);
    l->font = f;
    l->text = g_strdup_vprintf(fmt, ap);
    l->role = g_strdup(role);
    va_end(ap);
    g_ptr_array_add(b->lines, l);
}

static DBox *
box_new(GPtrArray *all, const char *role, const char *name, guint step)
{
    DBox *b = g_new0(DBox, 1);
    b->role = role;
    b->name = g_strdup(name);
    b->lines = g_ptr_array_new_with_free_func(line_free);
    b->step = step;
    b->accent = VIZ_MUTED;
    b->fill = VIZ_PAPER;
    b->border = 1.5;
    g_ptr_array_add(all, b);
    return b;
}

/* Room left of the text: the badge or the stripe. */
static double box_indent(const DBox *b, gint line)
{
    if (b->stripe) {
        return 8.0;
    }
    return line == 0 && b->step > 0 ? 2 * BADGE_R + 6 : 0;
}

/* Lays out @b's lines at width @w (each wraps or elides to fit): @tops
 * (nullable, one per line) gets each line's top relative to the box top.
 * The first line of a box with a step badge is centred on the badge and
 * the next starts below it. Returns the box height. */
static double box_lines(VizCanvas *cv, DBox *b, double w, double *tops)
{
    double y = PAD;
    for (guint i = 0; i < b->lines->len; i++) {
        Line *l = g_ptr_array_index(b->lines, i);
        l->font.max_width = w - 2 * PAD - box_indent(b, (gint)i);
        double lh;
        viz_text_size(cv, &l->font, l->text, NULL, &lh);
        double top = y;
        if (i == 0 && b->step > 0) {
            top = MAX(PAD, PAD + BADGE_R - lh / 2);
            y = MAX(top + lh, PAD + 2 * BADGE_R) + 1;
        } else {
            y = top + lh + 1;
        }
        if (tops != NULL) {
            tops[i] = top;
        }
    }
    if (b->lines->len == 0 && b->step > 0) {
        y = PAD + 2 * BADGE_R;
    }
    return y + PAD;
}

static double box_text_height(VizCanvas *cv, DBox *b, double w)
{
    return box_lines(cv, b, w, NULL);
}

/* The widest line, for boxes that size to their text. */
static double box_text_width(VizCanvas *cv, const DBox *b, double max_w)
{
    double w = 0;
    for (guint i = 0; i < b->lines->len; i++) {
        const Line *l = g_ptr_array_index(b->lines, i);
        VizFont f = l->font;
        f.max_width = 0;
        double lw;
        viz_text_size(cv, &f, l->text, &lw, NULL);
        w = MAX(w, lw + box_indent(b, (gint)i));
    }
    return MIN(w + 2 * PAD + 1, max_w);
}

/* ---- what the diagram shows ---------------------------------------------- */

typedef struct {
    const K8sPod *pod;  /* the manifest pod */
    char *ref;          /* "ns/name" (owned) */
    gboolean gateway;   /* an ingress gateway pod */
    gint svc;           /* first shown application Service selecting it */
    guint node;         /* lane */
    DBox *box;          /* its chip */
    gboolean has_count; /* results count it */
    guint64 count;      /* outcomes it served */
    GString *events;    /* "crashed 30s", from the run's events; nullable */
} DPod;

typedef struct {
    const K8sNode *node; /* the node */
    VizRect band;        /* its lane */
    DBox *kp;            /* its kube-proxy */
    GPtrArray *gw;       /* DPod*, gateway pods on it */
    GPtrArray *app;      /* DPod*, other pods on it */
    gboolean backend;    /* the load balancer forwards to it */
    gboolean has_count;  /* results count requests per node */
    guint64 count;       /* requests the load balancer sent it */
    GString *events;     /* "down 20s–40s", from the run's events */
    gint band_item;      /* record index of the lane, while drawing */
} DNode;

typedef struct {
    const K8sService *svc; /* the Service */
    DBox *box;             /* its box */
    GPtrArray *pods;       /* DPod* it selects */
    VizColor color;        /* its pods' stripe and edges */
    gboolean has_count;    /* results count its cluster(s) */
    guint64 count;         /* outcomes routed to its cluster(s) */
    double want_y;         /* centre it would like (its pods' middle) */
} DSvc;

typedef struct {
    DBox *box;  /* the note */
    Column col; /* column it belongs under */
} DNote;

/* The diagram laid out: what it shows and where, before drawing. */
typedef struct {
    const DiagramInput *in; /* what to draw (borrowed) */
    double height;          /* picture height */
    char *title;            /* owned */
    char *subtitle;         /* owned */
    GPtrArray *boxes;       /* DBox*, every box (owned) */
    GPtrArray *nodes;       /* DNode* (owned) */
    GPtrArray *pods;        /* DPod* (owned) */
    GPtrArray *svcs;        /* DSvc* (owned) */
    GPtrArray *configs;     /* DBox* config chips (in boxes) */
    GPtrArray *notes;       /* DNote* (owned) */
    guint hidden_svcs;      /* application Services not drawn */
    DBox *client;           /* step 1 (in boxes) */
    DBox *lb;               /* step 2 (in boxes) */
    DBox *gwsvc;            /* step 4, spans the lanes (in boxes) */
    double y_title;         /* rows, top to bottom */
    double y_panel;         /* configuration heading */
    double y_headers;       /* column headers */
    double headers_h;       /* their height */
    double y_bands;         /* first lane */
    double y_bands_end;     /* below the last lane */
    double y_footer;        /* step legend */
    GArray *footer;         /* VizRect per step 1..9 (index 0 unused) */
    char *help;             /* how to read it, top left (owned) */
    VizRect help_r;         /* where */
    guint64 sent;           /* results: requests sent; 0 without results */
    guint64 routed;         /* results: outcomes with a cluster */
    gboolean has_results;   /* drawn with a run's results */
} Diagram;

static void dpod_free(gpointer p)
{
    DPod *d = p;
    g_free(d->ref);
    if (d->events != NULL) {
        g_string_free(d->events, TRUE);
    }
    g_free(d);
}

static void dnode_free(gpointer p)
{
    DNode *n = p;
    g_ptr_array_unref(n->gw);
    g_ptr_array_unref(n->app);
    if (n->events != NULL) {
        g_string_free(n->events, TRUE);
    }
    g_free(n);
}

static void dsvc_free(gpointer p)
{
    DSvc *s = p;
    g_ptr_array_unref(s->pods);
    g_free(s);
}

static void diagram_free(Diagram *d)
{
    if (d == NULL) {
        return;
    }
    g_free(d->title);
    g_free(d->subtitle);
    g_free(d->help);
    g_ptr_array_unref(d->nodes);
    g_ptr_array_unref(d->pods);
    g_ptr_array_unref(d->svcs);
    g_ptr_array_unref(d->configs);
    g_ptr_array_unref(d->notes);
    g_ptr_array_unref(d->boxes);
    g_array_unref(d->footer);
    g_free(d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Diagram, diagram_free)

static DPod *find_pod(const Diagram *d, const char *ref)
{
    for (guint i = 0; ref != NULL && i < d->pods->len; i++) {
        DPod *p = g_ptr_array_index(d->pods, i);
        if (strcmp(p->ref, ref) == 0) {
            return p;
        }
    }
    return NULL;
}

static DNode *find_node(const Diagram *d, const char *name)
{
    for (guint i = 0; name != NULL && i < d->nodes->len; i++) {
        DNode *n = g_ptr_array_index(d->nodes, i);
        if (strcmp(n->node->name, name) == 0) {
            return n;
        }
    }
    return NULL;
}

/* The shown Service an Envoy cluster name "outbound|PORT|SUBSET|FQDN"
 * points at, or -1. */
static gint svc_of_cluster(const Diagram *d, const char *cluster)
{
    if (cluster == NULL) {
        return -1;
    }
    g_auto(GStrv) parts = g_strsplit(cluster, "|", 4);
    if (g_strv_length(parts) != 4) {
        return -1;
    }
    for (guint i = 0; i < d->svcs->len; i++) {
        const DSvc *s = g_ptr_array_index(d->svcs, i);
        if (s->svc->fqdn != NULL && strcmp(s->svc->fqdn, parts[3]) == 0) {
            return (gint)i;
        }
    }
    return -1;
}

/* "ns/name" appears in @text as a whole word. */
static gboolean mentions(const char *text, const char *ref)
{
    if (text == NULL) {
        return FALSE;
    }
    gsize n = strlen(ref);
    for (const char *p = strstr(text, ref); p != NULL; p = strstr(p + 1, ref)) {
        gboolean start = p == text || p[-1] == ' ';
        gboolean end = p[n] == '\0' || p[n] == ' ';
        if (start && end) {
            return TRUE;
        }
    }
    return FALSE;
}

static char *count_text(guint64 n, guint64 total)
{
    char c[32], s[16];
    viz_format_count(n, c, sizeof c);
    if (total == 0) {
        return g_strdup(c);
    }
    viz_format_share((double)n / (double)total, s, sizeof s);
    return g_strdup_printf("%s · %s", c, s);
}

/* ---- gathering ----------------------------------------------------------- */

static VizColor svc_color(guint i)
{
    /* Okabe-Ito minus vermillion (failures), reddish purple
     * (configuration) and yellow (too light on white). */
    static const guint32 hex[] = { 0x0072B2, 0xE69F00, 0x009E73, 0x56B4E9,
                                   0x000000 };
    return VIZ_RGB(hex[i % G_N_ELEMENTS(hex)]);
}

static void gather_topology(Diagram *d)
{
    const Scenario *s = d->in->scenario;
    const Cluster *c = s->cluster;
    for (guint i = 0; i < c->nodes->len; i++) {
        DNode *n = g_new0(DNode, 1);
        n->node = g_ptr_array_index(c->nodes, i);
        n->gw = g_ptr_array_new();
        n->app = g_ptr_array_new();
        for (guint b = 0; s->lb.backends != NULL && b < s->lb.backends->len;
             b++) {
            if (strcmp(g_ptr_array_index(s->lb.backends, b), n->node->name) ==
                0) {
                n->backend = TRUE;
            }
        }
        g_ptr_array_add(d->nodes, n);
    }
    g_autoptr(GPtrArray) gw = cluster_gateway_pods(c);
    for (guint i = 0; i < c->pods->len; i++) {
        const K8sPod *pod = g_ptr_array_index(c->pods, i);
        DNode *n = find_node(d, pod->node_name);
        if (n == NULL) {
            continue;
        }
        DPod *p = g_new0(DPod, 1);
        p->pod = pod;
        p->ref = g_strdup_printf("%s/%s", pod->meta.ns, pod->meta.name);
        p->svc = -1;
        p->node = (guint)n->node->index;
        guint at;
        p->gateway = g_ptr_array_find(gw, pod, &at);
        g_ptr_array_add(p->gateway ? n->gw : n->app, p);
        g_ptr_array_add(d->pods, p);
    }
    K8sService *gsvc = cluster_gateway_service(c);
    for (guint i = 0; i < c->services->len; i++) {
        const K8sService *svc = g_ptr_array_index(c->services, i);
        if (svc == gsvc || svc->selector == NULL) {
            continue;
        }
        g_autoptr(GPtrArray) sel =
            cluster_select_pods(c, svc->meta.ns, svc->selector);
        gboolean any_app = FALSE;
        for (guint j = 0; j < sel->len; j++) {
            const K8sPod *pod = g_ptr_array_index(sel, j);
            g_autofree char *ref =
                g_strdup_printf("%s/%s", pod->meta.ns, pod->meta.name);
            DPod *p = find_pod(d, ref);
            any_app |= p != NULL && !p->gateway;
        }
        if (!any_app) {
            continue;
        }
        if (d->svcs->len >= MAX_SVCS) {
            d->hidden_svcs++;
            continue;
        }
        DSvc *ds = g_new0(DSvc, 1);
        ds->svc = svc;
        ds->pods = g_ptr_array_new();
        ds->color = svc_color(d->svcs->len);
        for (guint j = 0; j < sel->len; j++) {
            const K8sPod *pod = g_ptr_array_index(sel, j);
            g_autofree char *ref =
                g_strdup_printf("%s/%s", pod->meta.ns, pod->meta.name);
            DPod *p = find_pod(d, ref);
            if (p != NULL && !p->gateway) {
                g_ptr_array_add(ds->pods, p);
                if (p->svc < 0) {
                    p->svc = (gint)d->svcs->len;
                }
            }
        }
        g_ptr_array_add(d->svcs, ds);
    }
    /* Within a lane, application pods grouped by their Service. */
    for (guint i = 0; i < d->nodes->len; i++) {
        DNode *n = g_ptr_array_index(d->nodes, i);
        for (guint a = 1; a < n->app->len; a++) {
            for (guint b = a; b > 0; b--) {
                DPod *x = g_ptr_array_index(n->app, b - 1);
                DPod *y = g_ptr_array_index(n->app, b);
                guint kx = x->svc < 0 ? G_MAXUINT : (guint)x->svc;
                guint ky = y->svc < 0 ? G_MAXUINT : (guint)y->svc;
                if (kx <= ky) {
                    break;
                }
                n->app->pdata[b - 1] = y;
                n->app->pdata[b] = x;
            }
        }
    }
}

static void gather_results(Diagram *d)
{
    if (d->in->results == NULL ||
        JSON_NODE_TYPE(d->in->results) != JSON_NODE_OBJECT) {
        return;
    }
    JsonObject *root = json_node_get_object(d->in->results);
    d->has_results = TRUE;
    d->sent = (guint64)MAX(
        viz_json_number(viz_json_object(root, "totals"), "sent"), 0.0);
    JsonObject *pods = viz_json_object(root, "pods");
    JsonObject *nodes = viz_json_object(root, "nodes");
    JsonObject *gwpods = viz_json_object(root, "gateway_pods");
    for (guint i = 0; i < d->pods->len; i++) {
        DPod *p = g_ptr_array_index(d->pods, i);
        JsonObject *src = p->gateway ? gwpods : pods;
        if (src != NULL) {
            p->has_count = TRUE;
            p->count = viz_json_count_of(src, p->ref);
        }
    }
    for (guint i = 0; nodes != NULL && i < d->nodes->len; i++) {
        DNode *n = g_ptr_array_index(d->nodes, i);
        n->has_count = TRUE;
        n->count = viz_json_count_of(nodes, n->node->name);
    }
    /* The failure timeline, on what it hit: "down 20s–40s" on a node,
     * "crashed 30s" on a pod (the run's events, as the models wrote them). */
    JsonArray *events = viz_json_array(root, "events");
    for (guint i = 0; events != NULL && i < json_array_get_length(events);
         i++) {
        JsonObject *e = viz_json_element_object(events, i);
        const char *text = viz_json_string(e, "event");
        if (text == NULL) {
            continue;
        }
        char at[32];
        viz_format_ms(viz_json_number(e, "at_s") * 1000.0, at, sizeof at);
        static const struct {
            const char *prefix; /* event text start */
            const char *words;  /* what the diagram says */
            gboolean node;      /* names a node (else "ns/pod") */
        } kinds[] = {
            { "node-down ", "down ", TRUE },
            { "node-up ", "–", TRUE },
            { "pod-crash ", "crashed ", FALSE },
            { "pod-restart ", "restarted ", FALSE },
        };
        for (guint k = 0; k < G_N_ELEMENTS(kinds); k++) {
            if (!g_str_has_prefix(text, kinds[k].prefix)) {
                continue;
            }
            const char *target = text + strlen(kinds[k].prefix);
            GString **acc = NULL;
            if (kinds[k].node) {
                DNode *n = find_node(d, target);
                acc = n != NULL ? &n->events : NULL;
            } else {
                DPod *p = find_pod(d, target);
                acc = p != NULL ? &p->events : NULL;
            }
            if (acc == NULL) {
                break;
            }
            if (*acc == NULL) {
                *acc = g_string_new(NULL);
            } else if (k != 1) {
                g_string_append(*acc, ", ");
            }
            g_string_append_printf(*acc, "%s%s", kinds[k].words, at);
            break;
        }
    }
    JsonObject *clusters = viz_json_object(root, "clusters");
    if (clusters != NULL) {
        for (guint i = 0; i < d->svcs->len; i++) {
            ((DSvc *)g_ptr_array_index(d->svcs, i))->has_count = TRUE;
        }
        g_autoptr(GList) names = json_object_get_members(clusters);
        for (GList *l = names; l != NULL; l = l->next) {
            guint64 n = viz_json_count_of(clusters, l->data);
            d->routed += n;
            gint si = svc_of_cluster(d, l->data);
            if (si >= 0) {
                ((DSvc *)g_ptr_array_index(d->svcs, si))->count += n;
            }
        }
    }
}

/* ---- box contents -------------------------------------------------------- */

static void fill_left(Diagram *d)
{
    const Scenario *s = d->in->scenario;
    d->client = box_new(d->boxes, "client", "client", 1);
    add_line(d->client, f_title(), "label", "client");
    guint shown = 0;
    for (guint i = 0; i < s->traffic->len; i++) {
        const TrafficSpec *t = g_ptr_array_index(s->traffic, i);
        if (shown == 3) {
            add_line(d->client, f_detail(), "detail", "+%u more",
                     s->traffic->len - i);
            break;
        }
        if (t->arrival == ARRIVAL_TRACE) {
            add_line(d->client, f_detail(), "detail", "%s: replayed log",
                     t->name);
        } else if (t->steps != NULL && t->steps->len > 0) {
            add_line(d->client, f_detail(), "detail",
                     "%s: %g/s, %u rate step%s", t->name, t->rate,
                     t->steps->len, t->steps->len == 1 ? "" : "s");
        } else {
            add_line(d->client, f_detail(), "detail", "%s: %g/s", t->name,
                     t->rate);
        }
        shown++;
    }
    if (d->has_results) {
        char n[32];
        viz_format_count(d->sent, n, sizeof n);
        add_line(d->client, font(12.5, TRUE, VIZ_INK), "count", "%s sent", n);
    }

    d->lb = box_new(d->boxes, "load-balancer", "load balancer", 2);
    add_line(d->lb, f_title(), "label", "load balancer");
    add_line(d->lb, f_detail(), "detail", "%s",
             lb_algorithm_name(s->lb.algorithm));
    GArray *ls = s->lb.listeners;
    for (guint i = 0; ls != NULL && i < ls->len; i++) {
        if (i == 6) {
            add_line(d->lb, f_detail(), "detail", "+%u more ports",
                     ls->len - i);
            break;
        }
        const LbListener *l = &g_array_index(ls, LbListener, i);
        add_line(d->lb, f_mono(), "port", ":%d → node :%d", l->port,
                 l->node_port);
    }
    if (s->lb.health.enabled) {
        g_autofree char *every = sim_time_format(s->lb.health.interval);
        add_line(d->lb, f_detail(), "detail", "checks :%d every %s",
                 s->lb.health.node_port, every);
    }
}

static void fill_gateway_service(Diagram *d)
{
    const K8sService *svc = cluster_gateway_service(d->in->scenario->cluster);
    d->gwsvc = box_new(d->boxes, "service",
                       svc != NULL ? svc->meta.name : "ingressgateway", 0);
    d->gwsvc->dashed = TRUE;
    d->gwsvc->accent = GW_COLOR;
    d->gwsvc->fill = viz_tint(GW_COLOR, 0.9);
    if (svc == NULL) {
        d->gwsvc->accent = VIZ_VERMILLION;
        add_line(d->gwsvc, f_title(), "label", "no ingressgateway Service");
        add_line(d->gwsvc, f_detail(), "detail",
                 "nothing selects the gateway pods");
        return;
    }
    add_line(d->gwsvc, f_name(), "label", "%s", svc->meta.name);
    static const char *const types[] = { "ClusterIP", "NodePort",
                                         "LoadBalancer", "ExternalName" };
    add_line(d->gwsvc, f_detail(), "detail", "%s", svc->meta.ns);
    add_line(d->gwsvc, f_detail(), "detail", "type %s", types[svc->type]);
    if (svc->external_policy == K8S_POLICY_LOCAL) {
        VizFont fw = f_detail();
        fw.wrap = TRUE;
        add_line(d->gwsvc, fw, "detail", "externalTrafficPolicy: Local");
    }
    VizFont cap = f_detail();
    cap.size = 11.5;
    add_line(d->gwsvc, cap, "detail", "nodePort port→target");
    for (guint i = 0; i < svc->ports->len; i++) {
        const K8sServicePort *p = &g_array_index(svc->ports, K8sServicePort, i);
        g_autofree char *target =
            p->target_port_name != NULL
                ? g_strdup(p->target_port_name)
                : g_strdup_printf("%d", p->target_port > 0 ? p->target_port
                                                           : p->port);
        if (p->node_port > 0) {
            add_line(d->gwsvc, f_mono(), "port", ":%d %d→%s", p->node_port,
                     p->port, target);
        } else {
            add_line(d->gwsvc, f_mono(), "port", "%d→%s", p->port, target);
        }
        if (p->name != NULL) {
            VizFont f = f_detail();
            f.size = 11.5;
            add_line(d->gwsvc, f, "detail", "  %s", p->name);
        }
    }
}

static void fill_nodes(Diagram *d)
{
    for (guint i = 0; i < d->nodes->len; i++) {
        DNode *n = g_ptr_array_index(d->nodes, i);
        g_autofree char *name = g_strdup_printf("kube-proxy %s", n->node->name);
        n->kp = box_new(d->boxes, "kube-proxy", name, 0);
        n->kp->accent = VIZ_MUTED;
        n->kp->fill = VIZ_WASH;
        add_line(n->kp, font(13.5, TRUE, VIZ_INK), "label", "kube-proxy");
        add_line(n->kp, f_detail(), "detail", "iptables rules");
        if (!n->backend) {
            add_line(n->kp, font(12, FALSE, VIZ_VERMILLION), "detail",
                     "not a load balancer backend");
        }
        if (n->has_count) {
            g_autofree char *c = count_text(n->count, d->sent);
            add_line(n->kp, font(12, TRUE, VIZ_INK), "count", "%s", c);
        }
        if (n->events != NULL) {
            add_line(n->kp, font(12, TRUE, VIZ_VERMILLION), "event", "node %s",
                     n->events->str);
        }
        for (guint k = 0; k < 2; k++) {
            GPtrArray *list = k == 0 ? n->gw : n->app;
            for (guint j = 0; j < list->len; j++) {
                DPod *p = g_ptr_array_index(list, j);
                p->box = box_new(d->boxes, "pod", p->ref, 0);
                p->box->stripe = TRUE;
                p->box->border = 1.0;
                if (p->gateway) {
                    p->box->accent = GW_COLOR;
                    p->box->fill = viz_tint(GW_COLOR, 0.88);
                } else if (p->svc >= 0) {
                    DSvc *s = g_ptr_array_index(d->svcs, p->svc);
                    p->box->accent = s->color;
                    p->box->fill = viz_tint(s->color, 0.88);
                } else {
                    p->box->accent = VIZ_FAINT;
                    p->box->fill = VIZ_WASH;
                }
                add_line(p->box, font(13, FALSE, VIZ_INK), "label", "%s",
                         p->pod->meta.name);
                if (p->has_count) {
                    guint64 total = 0;
                    if (p->svc >= 0) {
                        total =
                            ((DSvc *)g_ptr_array_index(d->svcs, p->svc))->count;
                    }
                    g_autofree char *c = count_text(p->count, total);
                    add_line(p->box, font(11.5, FALSE, VIZ_MUTED), "count",
                             "%s", c);
                }
                if (p->events != NULL) {
                    add_line(p->box, font(11.5, TRUE, VIZ_VERMILLION), "event",
                             "%s", p->events->str);
                }
            }
        }
    }
    for (guint i = 0; i < d->svcs->len; i++) {
        DSvc *s = g_ptr_array_index(d->svcs, i);
        g_autofree char *ref =
            g_strdup_printf("%s/%s", s->svc->meta.ns, s->svc->meta.name);
        s->box = box_new(d->boxes, "service", ref, 0);
        s->box->dashed = TRUE;
        s->box->accent = s->color;
        s->box->fill = viz_tint(s->color, 0.9);
        add_line(s->box, f_name(), "label", "%s", s->svc->meta.name);
        GString *ports = g_string_new(NULL);
        for (guint j = 0; j < s->svc->ports->len && j < 3; j++) {
            const K8sServicePort *p =
                &g_array_index(s->svc->ports, K8sServicePort, j);
            g_string_append_printf(ports, "%s%d", j > 0 ? " " : ":", p->port);
        }
        add_line(s->box, f_detail(), "detail", "%s %s", s->svc->meta.ns,
                 ports->str);
        g_string_free(ports, TRUE);
        if (s->has_count) {
            g_autofree char *c = count_text(s->count, d->routed);
            add_line(s->box, font(12, TRUE, VIZ_INK), "count", "%s", c);
        }
    }
}

/* "HTTP 80 · HTTPS 443 · TCP 3306" */
static char *gateway_summary(const K8sMeta *meta)
{
    GError *error = NULL;
    g_autoptr(IstioGateway) g = istio_gateway_parse(meta, &error);
    if (g == NULL) {
        g_error_free(error);
        return g_strdup("does not parse: see analyze");
    }
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < g->servers->len; i++) {
        const IstioServer *sv = g_ptr_array_index(g->servers, i);
        g_string_append_printf(s, "%s%s %d", i > 0 ? " · " : "",
                               sv->protocol_text, sv->number);
    }
    if (g->servers->len == 0) {
        g_string_append(s, "no servers");
    }
    return g_string_free(s, FALSE);
}

static void append_destinations(GString *s, GPtrArray *route)
{
    for (guint i = 0; route != NULL && i < route->len; i++) {
        const IstioDestination *dst = g_ptr_array_index(route, i);
        g_autofree char *host = g_strdup(dst->host);
        char *cut = strstr(host, ".svc.cluster.local");
        if (cut != NULL) {
            *cut = '\0';
        }
        g_string_append_printf(s, "%s%s", s->len > 0 ? ", " : "→ ", host);
        if (dst->port > 0) {
            g_string_append_printf(s, ":%d", dst->port);
        }
        if (dst->subset != NULL) {
            g_string_append_printf(s, " (%s)", dst->subset);
        }
    }
}

/* "→ counter:80, mysql:3306" */
static char *virtual_service_summary(const K8sMeta *meta)
{
    GError *error = NULL;
    g_autoptr(IstioVirtualService) vs =
        istio_virtual_service_parse(meta, &error);
    if (vs == NULL) {
        g_error_free(error);
        return g_strdup("does not parse: see analyze");
    }
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < vs->http->len; i++) {
        const IstioHttpRoute *r = g_ptr_array_index(vs->http, i);
        if (r->has_redirect && r->route->len == 0) {
            g_string_append(s, s->len > 0 ? ", redirect" : "redirect");
        } else if (r->has_direct && r->route->len == 0) {
            g_string_append_printf(s, "%sdirect %d", s->len > 0 ? ", " : "",
                                   r->direct_status);
        }
        append_destinations(s, r->route);
    }
    for (guint i = 0; i < vs->tcp->len; i++) {
        append_destinations(
            s, ((IstioL4Route *)g_ptr_array_index(vs->tcp, i))->route);
    }
    for (guint i = 0; i < vs->tls->len; i++) {
        append_destinations(
            s, ((IstioL4Route *)g_ptr_array_index(vs->tls, i))->route);
    }
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < vs->hosts->len; i++) {
        g_string_append_printf(out, "%s%s", i > 0 ? " " : "",
                               (const char *)g_ptr_array_index(vs->hosts, i));
    }
    g_string_append_printf(out, " %s", s->len > 0 ? s->str : "no routes");
    g_string_free(s, TRUE);
    return g_string_free(out, FALSE);
}

static void add_config(Diagram *d,
                       const char *kind,
                       const K8sMeta *meta,
                       guint step,
                       char *summary)
{
    g_autofree char *ref = g_strdup_printf("%s/%s", meta->ns, meta->name);
    g_autofree char *name = g_strdup_printf("%s %s", kind, ref);
    DBox *b = box_new(d->boxes, "config", name, step);
    b->accent = VIZ_PURPLE;
    b->fill = viz_tint(VIZ_PURPLE, 0.9);
    VizFont fk = font(11.5, TRUE, VIZ_MUTED);
    add_line(b, fk, "kind", "%s", kind);
    add_line(b, font(13, TRUE, VIZ_INK), "label", "%s", ref);
    add_line(b, f_detail(), "detail", "%s", summary);
    g_free(summary);
    g_ptr_array_add(d->configs, b);
}

static void fill_configs(Diagram *d)
{
    const Cluster *c = d->in->scenario->cluster;
    for (guint i = 0; i < c->gateways->len; i++) {
        const K8sMeta *m = g_ptr_array_index(c->gateways, i);
        add_config(d, "Gateway", m, 6, gateway_summary(m));
    }
    for (guint i = 0; i < c->virtual_services->len; i++) {
        const K8sMeta *m = g_ptr_array_index(c->virtual_services, i);
        add_config(d, "VirtualService", m, 7, virtual_service_summary(m));
    }
    for (guint i = 0; i < c->ingresses->len; i++) {
        const K8sMeta *m = g_ptr_array_index(c->ingresses, i);
        add_config(d, "Ingress", m, 7,
                   g_strdup("becomes a Gateway and a VirtualService"));
    }
    for (guint i = 0; i < c->destination_rules->len; i++) {
        const K8sMeta *m = g_ptr_array_index(c->destination_rules, i);
        add_config(d, "DestinationRule", m, 8,
                   g_strdup("subsets and traffic policy"));
    }
    if (d->configs->len == 0) {
        DBox *b = box_new(d->boxes, "config", "no configuration", 6);
        b->accent = VIZ_VERMILLION;
        add_line(b, font(13, TRUE, VIZ_VERMILLION), "label",
                 "no Gateway, no VirtualService");
        add_line(b, f_detail(), "detail",
                 "Envoy has no listener to route with");
        g_ptr_array_add(d->configs, b);
    }
}

/* ---- notes: failures, outcomes, traced requests -------------------------- */

static DBox *note_new(Diagram *d, Column col, const char *name, VizColor accent)
{
    DNote *n = g_new0(DNote, 1);
    n->box = box_new(d->boxes, "note", name, 0);
    n->box->accent = accent;
    n->box->fill = viz_tint(accent, 0.9);
    n->box->border = 2.0;
    n->col = col;
    g_ptr_array_add(d->notes, n);
    return n->box;
}

static const char *flag_words(const char *flag)
{
    static const char *const t[][2] = {
        { "NR", "no route" },
        { "UH", "no healthy upstream" },
        { "UF", "upstream connect failed" },
        { "UO", "circuit breaker" },
        { "NC", "no cluster" },
        { "UT", "upstream timeout" },
        { "URX", "retries exhausted" },
        { "FI", "fault injected" },
        { "DI", "delay injected" },
        { "UC", "upstream closed" },
        { "LR", "local reset" },
        { "UR", "upstream reset" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        if (strcmp(t[i][0], flag) == 0) {
            return t[i][1];
        }
    }
    return "Envoy flag";
}

static void notes_from_results(Diagram *d)
{
    if (!d->has_results) {
        return;
    }
    JsonObject *root = json_node_get_object(d->in->results);
    JsonArray *fails = viz_json_array(root, "failures");
    /* One note per step that failed requests, its reasons listed. */
    DBox *cur = NULL;
    guint cur_step = 0;
    for (guint i = 0; fails != NULL && i < json_array_get_length(fails); i++) {
        JsonObject *f = viz_json_element_object(fails, i);
        guint step = (guint)viz_json_number(f, "step");
        const char *reason = viz_json_string(f, "reason");
        guint64 n = (guint64)MAX(viz_json_number(f, "count"), 0.0);
        if (step < 1 || step > 9 || n == 0) {
            continue;
        }
        if (cur == NULL || step != cur_step) {
            char name[32];
            g_snprintf(name, sizeof name, "failed at step %u", step);
            cur = note_new(d, step_column(step), name, VIZ_VERMILLION);
            cur->step = step;
            add_line(cur, font(13.5, TRUE, VIZ_VERMILLION), "label",
                     "failed at step %u", step);
            cur_step = step;
        }
        g_autofree char *c = count_text(n, d->sent);
        add_line(cur, font(12.5, FALSE, VIZ_INK), "failure", "%s ×%s",
                 reason != NULL ? reason : "?", c);
    }
    /* What Envoy answered itself (404 NR, 503 UH ...). */
    JsonArray *resp = viz_json_array(root, "responses");
    guint64 app = 0;
    DBox *gw = NULL;
    for (guint i = 0; resp != NULL && i < json_array_get_length(resp); i++) {
        JsonObject *r = viz_json_element_object(resp, i);
        const char *origin = viz_json_string(r, "origin");
        guint64 n = (guint64)MAX(viz_json_number(r, "count"), 0.0);
        gint status = (gint)viz_json_number(r, "status");
        if (origin == NULL || strcmp(origin, "gateway") != 0) {
            app += n;
            continue;
        }
        if (gw == NULL) {
            gw = note_new(d, COL_GWPOD, "Envoy answered", VIZ_ORANGE);
            add_line(gw, font(13.5, TRUE, VIZ_INK), "label",
                     "Envoy answered itself");
        }
        g_autofree char *c = count_text(n, d->sent);
        add_line(gw, font(12.5, FALSE, VIZ_INK), "response", "%d ×%s", status,
                 c);
    }
    JsonObject *flags = viz_json_object(root, "response_flags");
    if (gw != NULL && flags != NULL) {
        g_autoptr(GList) names = json_object_get_members(flags);
        names = g_list_sort(names, (GCompareFunc)strcmp);
        for (GList *l = names; l != NULL; l = l->next) {
            char c[32];
            viz_format_count((guint64)MAX(viz_json_number(flags, l->data), 0.0),
                             c, sizeof c);
            add_line(gw, font(12.5, FALSE, VIZ_MUTED), "flag", "%s %s ×%s",
                     (const char *)l->data, flag_words(l->data), c);
        }
    }
    guint64 conns = (guint64)MAX(
        viz_json_number(viz_json_object(root, "totals"), "connections"), 0.0);
    if (app + conns > 0) {
        DBox *ok = note_new(d, COL_POD, "reached the app", VIZ_GREEN);
        add_line(ok, font(13.5, TRUE, VIZ_INK), "label", "✓ reached the app");
        if (app > 0) {
            g_autofree char *c = count_text(app, d->sent);
            add_line(ok, font(12.5, FALSE, VIZ_INK), "count", "%s responses",
                     c);
        }
        if (conns > 0) {
            g_autofree char *c = count_text(conns, d->sent);
            add_line(ok, font(12.5, FALSE, VIZ_INK), "count",
                     "%s TCP connections", c);
        }
    }
}

/* The step where traced request @p stopped going forward. */
static guint path_last_step(const DiagramPath *p)
{
    const RequestOutcome *o = p->out;
    if (o->kind == OUTCOME_FAILURE ||
        (o->kind == OUTCOME_RESPONSE && o->from_gateway)) {
        return CLAMP(o->step, 1u, 9u);
    }
    return 9;
}

static VizColor path_color(guint k)
{
    static const guint32 hex[] = { 0x0072B2, 0xE69F00, 0x009E73,
                                   0xCC79A7, 0x56B4E9, 0x000000 };
    return VIZ_RGB(hex[k % G_N_ELEMENTS(hex)]);
}

static void notes_from_paths(Diagram *d)
{
    for (guint k = 0; k < d->in->n_paths; k++) {
        const DiagramPath *p = &d->in->paths[k];
        const RequestOutcome *o = p->out;
        const Trace *tr = p->trace;
        guint last = path_last_step(p);
        DBox *b = note_new(d, step_column(last), p->url, path_color(k));
        b->paths = 1u << MIN(k, 31u);
        add_line(b, font(13, TRUE, VIZ_INK), "url", "%s", p->url);
        gboolean bad = o->kind == OUTCOME_FAILURE ||
                       (o->kind == OUTCOME_RESPONSE && o->status >= 400);
        VizFont fo = font(13, TRUE, bad ? VIZ_VERMILLION : VIZ_GREEN);
        switch (o->kind) {
        case OUTCOME_RESPONSE:
            if (o->from_gateway) {
                add_line(b, fo, "outcome", "%s %d from Envoy at step %u%s%s",
                         bad ? "✕" : "↩", o->status, o->step,
                         strcmp(o->flags, "-") != 0 ? ", flags " : "",
                         strcmp(o->flags, "-") != 0 ? o->flags : "");
            } else {
                add_line(b, fo, "outcome", "%s %d from the app",
                         bad ? "✕" : "✓", o->status);
            }
            break;
        case OUTCOME_CONNECTION:
            add_line(b, fo, "outcome", "✓ connection proxied to the app");
            break;
        case OUTCOME_FAILURE:
            add_line(b, fo, "outcome", "✕ failed at step %u: %s", o->step,
                     fail_reason_name(o->reason));
            break;
        }
        /* The last decision of the step where it ended, as trace says it,
         * with its rule unless that is an iptables line. */
        g_autofree char *why = NULL;
        for (guint i = 0; tr != NULL && i < trace_len(tr); i++) {
            const TraceStep *s = trace_step(tr, i);
            if (s->step != last) {
                continue;
            }
            g_free(why);
            gboolean rule = s->reason != NULL && s->reason[0] != '\0' &&
                            !g_str_has_prefix(s->reason, "-A ") &&
                            strcmp(s->reason, s->decision) != 0;
            why = rule ? g_strdup_printf("%s — %s", s->decision, s->reason)
                       : g_strdup(s->decision);
        }
        const char *pod = trace_get(tr, "upstream_pod");
        if (last == 9 && pod != NULL) {
            add_line(b, f_detail(), "detail", "served by %s", pod);
        } else if (why != NULL) {
            VizFont fw = f_detail();
            fw.wrap = TRUE;
            fw.max_lines = 3;
            add_line(b, fw, "detail", "%s", why);
        }
    }
}

/* ---- layout -------------------------------------------------------------- */

static double stack_height(VizCanvas *cv, GPtrArray *pods)
{
    double h = 0;
    for (guint i = 0; i < pods->len; i++) {
        DPod *p = g_ptr_array_index(pods, i);
        p->box->r.h = box_text_height(cv, p->box, POD_W);
        h += p->box->r.h + (i > 0 ? CHIP_GAP : 0);
    }
    return h;
}

static void place_stack(GPtrArray *pods, double x, double y)
{
    for (guint i = 0; i < pods->len; i++) {
        DPod *p = g_ptr_array_index(pods, i);
        p->box->r.x = x;
        p->box->r.y = y;
        p->box->r.w = POD_W;
        y += p->box->r.h + CHIP_GAP;
    }
}

/* Flow layout of @boxes (already sized) from @x0 to @x1 starting at @y;
 * returns the y below the last row. */
static double flow(GPtrArray *boxes, double x0, double x1, double y, double gap)
{
    double x = x0, row_h = 0;
    for (guint i = 0; i < boxes->len; i++) {
        DBox *b = g_ptr_array_index(boxes, i);
        if (x > x0 && x + b->r.w > x1) {
            x = x0;
            y += row_h + gap;
            row_h = 0;
        }
        b->r.x = x;
        b->r.y = y;
        x += b->r.w + gap;
        row_h = MAX(row_h, b->r.h);
    }
    return y + row_h;
}

static const char *header_text(Column c)
{
    static const char *const t[] = { "",
                                     "node · kube-proxy",
                                     "ingressgateway Service",
                                     "gateway pods (Envoy)",
                                     "application Services",
                                     "application pods" };
    return t[c];
}

static guint header_step(Column c)
{
    static const guint s[] = { 0, 3, 4, 5, 8, 9 };
    return s[c];
}

static double column_w(Column c)
{
    static const double w[] = { LEFT_W, KP_W, GWSVC_W, POD_W, SVC_W, POD_W };
    return w[c];
}

static VizFont header_font(Column c)
{
    VizFont f = font(14, TRUE, VIZ_INK);
    f.wrap = TRUE;
    f.max_width = column_w(c) - 2 * BADGE_R - 6;
    return f;
}

static VizFont help_font(void)
{
    VizFont f = font(12.5, FALSE, VIZ_MUTED);
    f.wrap = TRUE;
    f.max_width = X_GWSVC - M - 28;
    return f;
}

static void layout(Diagram *d, VizCanvas *cv)
{
    /* Title rows. */
    VizFont ft = font(24, TRUE, VIZ_INK);
    VizFont fs = font(15, FALSE, VIZ_MUTED);
    double th, sh;
    viz_text_size(cv, &ft, d->title, NULL, &th);
    viz_text_size(cv, &fs, d->subtitle, NULL, &sh);
    d->y_title = M - 4;
    double y = d->y_title + th + 2 + sh;

    /* Configuration chips, flowing over the gateway columns. */
    d->y_panel = y + 14;
    VizFont fh = font(13, TRUE, VIZ_MUTED);
    double hh;
    viz_text_size(cv, &fh, "x", NULL, &hh);
    for (guint i = 0; i < d->configs->len; i++) {
        DBox *b = g_ptr_array_index(d->configs, i);
        b->r.w = MAX(box_text_width(cv, b, 330), 150);
        b->r.h = box_text_height(cv, b, b->r.w);
    }
    y = flow(d->configs, X_GWSVC, W - M, d->y_panel + hh + 6, 10);

    /* How to read it, left of the configuration. */
    VizFont fhelp = help_font();
    double help_h;
    viz_text_size(cv, &fhelp, d->help, NULL, &help_h);
    d->help_r = (VizRect){ M, d->y_panel, fhelp.max_width, help_h };
    y = MAX(y, d->y_panel + help_h);

    /* Column headers. */
    d->y_headers = y + 24;
    d->headers_h = 2 * BADGE_R;
    for (Column c = COL_KP; c <= COL_POD; c++) {
        VizFont f = header_font(c);
        double h;
        viz_text_size(cv, &f, header_text(c), NULL, &h);
        d->headers_h = MAX(d->headers_h, h);
    }
    d->y_bands = d->y_headers + d->headers_h + 10;

    /* Lanes: each as tall as its tallest column. */
    y = d->y_bands;
    for (guint i = 0; i < d->nodes->len; i++) {
        DNode *n = g_ptr_array_index(d->nodes, i);
        n->kp->r = (VizRect){ X_KP, 0, KP_W, 0 };
        n->kp->r.h = box_text_height(cv, n->kp, KP_W);
        double content = MAX(
            n->kp->r.h, MAX(stack_height(cv, n->gw), stack_height(cv, n->app)));
        n->band = (VizRect){ X_BAND, y, X_BAND_R - X_BAND,
                             BAND_HEAD + content + BAND_PAD };
        y += n->band.h + BAND_GAP;
    }
    double bands_h = y - BAND_GAP - d->y_bands;

    /* Boxes that span lanes need room too: the left column, the gateway
     * Service and the stack of application Services. */
    d->client->r.w = d->lb->r.w = LEFT_W;
    d->client->r.h = box_text_height(cv, d->client, LEFT_W);
    d->lb->r.h = box_text_height(cv, d->lb, LEFT_W);
    double need = d->client->r.h + 40 + d->lb->r.h;
    d->gwsvc->r.w = GWSVC_W;
    need = MAX(need, box_text_height(cv, d->gwsvc, GWSVC_W));
    double svcs_h = 0;
    for (guint i = 0; i < d->svcs->len; i++) {
        DSvc *s = g_ptr_array_index(d->svcs, i);
        s->box->r.w = SVC_W;
        s->box->r.h = box_text_height(cv, s->box, SVC_W);
        svcs_h += s->box->r.h + (i > 0 ? 12 : 0);
    }
    need = MAX(need, svcs_h);
    if (d->nodes->len > 0 && need > bands_h) {
        double extra = (need - bands_h) / d->nodes->len;
        y = d->y_bands;
        for (guint i = 0; i < d->nodes->len; i++) {
            DNode *n = g_ptr_array_index(d->nodes, i);
            n->band.y = y;
            n->band.h += extra;
            y += n->band.h + BAND_GAP;
        }
        bands_h = need;
    }
    bands_h = MAX(bands_h, need);
    d->y_bands_end = d->y_bands + bands_h;

    /* Inside each lane: kube-proxy and pods, centred in their rows. */
    for (guint i = 0; i < d->nodes->len; i++) {
        DNode *n = g_ptr_array_index(d->nodes, i);
        double top = n->band.y + BAND_HEAD;
        n->kp->r.y = top;
        place_stack(n->gw, X_GWPOD, top);
        place_stack(n->app, X_POD, top);
    }

    /* Client at the top of the left column, the load balancer centred on
     * the lanes below it. */
    d->client->r.x = d->lb->r.x = X_LEFT;
    d->client->r.y = d->y_bands;
    d->lb->r.y = MAX(d->client->r.y + d->client->r.h + 40,
                     d->y_bands + bands_h / 2 - d->lb->r.h / 2);
    d->lb->r.y = MIN(d->lb->r.y, d->y_bands_end - d->lb->r.h);

    /* The gateway Service spans every lane. */
    d->gwsvc->r.x = X_GWSVC;
    d->gwsvc->r.y = d->y_bands;
    d->gwsvc->r.h = bands_h;

    /* Application Services: each near the middle of its pods, then pushed
     * apart (down, then back up from the bottom) so none overlap. */
    for (guint i = 0; i < d->svcs->len; i++) {
        DSvc *s = g_ptr_array_index(d->svcs, i);
        double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
        for (guint j = 0; j < s->pods->len; j++) {
            const DPod *p = g_ptr_array_index(s->pods, j);
            lo = MIN(lo, p->box->r.y);
            hi = MAX(hi, p->box->r.y + p->box->r.h);
        }
        s->want_y = s->pods->len > 0 ? (lo + hi) / 2 : d->y_bands;
        s->box->r.x = X_SVC;
    }
    /* Halfway between its pods' middle and an even share of the height,
     * in the order of their pods, so many Services spread out. */
    guint n_svcs = d->svcs->len;
    g_autofree DSvc **order = g_new0(DSvc *, MAX(n_svcs, 1));
    for (guint i = 0; i < n_svcs; i++) {
        order[i] = g_ptr_array_index(d->svcs, i);
        for (guint j = i; j > 0 && order[j - 1]->want_y > order[j]->want_y;
             j--) {
            DSvc *t = order[j - 1];
            order[j - 1] = order[j];
            order[j] = t;
        }
    }
    double next = d->y_bands;
    for (guint i = 0; i < n_svcs; i++) {
        DSvc *s = order[i];
        double slot = d->y_bands + (i + 0.5) * bands_h / n_svcs;
        double want = (s->want_y + slot) / 2;
        s->box->r.y = MAX(next, want - s->box->r.h / 2);
        next = s->box->r.y + s->box->r.h + 12;
    }
    double limit = d->y_bands_end;
    for (guint i = n_svcs; i > 0; i--) {
        DSvc *s = order[i - 1];
        if (s->box->r.y + s->box->r.h > limit) {
            s->box->r.y = limit - s->box->r.h;
        }
        limit = s->box->r.y - 12;
    }

    /* Notes under their columns, in rows: first each note's row and x
     * (the first row with room at or right of its column), then each
     * row's y from the tallest note above it. */
    guint n_notes = d->notes->len;
    g_autofree guint *row_of = g_new0(guint, MAX(n_notes, 1));
    g_autofree double *rights = g_new0(double, MAX(n_notes, 1));
    g_autofree double *heights = g_new0(double, MAX(n_notes, 1));
    guint n_rows = 0;
    for (guint i = 0; i < n_notes; i++) {
        DBox *b = ((DNote *)g_ptr_array_index(d->notes, i))->box;
        Column col = ((DNote *)g_ptr_array_index(d->notes, i))->col;
        b->r.w = MAX(box_text_width(cv, b, 340), 160);
        b->r.h = box_text_height(cv, b, b->r.w);
        double want = MIN(column_x(col), W - M - b->r.w);
        guint r = 0;
        while (r < n_rows && MAX(want, rights[r] + 12) + b->r.w > W - M) {
            r++;
        }
        if (r == n_rows) {
            rights[n_rows++] = -G_MAXDOUBLE;
        }
        b->r.x = MAX(want, rights[r] + 12);
        rights[r] = b->r.x + b->r.w;
        heights[r] = MAX(heights[r], b->r.h);
        row_of[i] = r;
    }
    double notes_end = d->y_bands_end;
    for (guint i = 0; i < n_notes; i++) {
        DBox *b = ((DNote *)g_ptr_array_index(d->notes, i))->box;
        b->r.y = d->y_bands_end + 22;
        for (guint r = 0; r < row_of[i]; r++) {
            b->r.y += heights[r] + 12;
        }
        notes_end = MAX(notes_end, b->r.y + b->r.h);
    }

    /* The nine steps, as a legend along the bottom. */
    VizFont ff = font(12.5, FALSE, VIZ_INK);
    double x = M;
    double fy = 0, row_h = 0;
    g_array_set_size(d->footer, 10);
    for (guint s = 1; s <= 9; s++) {
        double w, h;
        viz_text_size(cv, &ff, step_words[s], &w, &h);
        VizRect r = { 0, 0, 2 * BADGE_R + 6 + w, MAX(h, 2 * BADGE_R) };
        if (x > M && x + r.w > W - M) {
            x = M;
            fy += row_h + 8;
            row_h = 0;
        }
        r.x = x;
        r.y = fy;
        x += r.w + 22;
        row_h = MAX(row_h, r.h);
        g_array_index(d->footer, VizRect, s) = r;
    }
    double footer_h = fy + row_h;
    d->height = MAX(720.0, notes_end + 26 + footer_h + M);
    d->y_footer = d->height - M - footer_h;
    for (guint s = 1; s <= 9; s++) {
        g_array_index(d->footer, VizRect, s).y += d->y_footer;
    }
}

static Diagram *diagram_build(const DiagramInput *in, VizCanvas *cv)
{
    Diagram *d = g_new0(Diagram, 1);
    d->in = in;
    d->boxes = g_ptr_array_new_with_free_func(box_free);
    d->nodes = g_ptr_array_new_with_free_func(dnode_free);
    d->pods = g_ptr_array_new_with_free_func(dpod_free);
    d->svcs = g_ptr_array_new_with_free_func(dsvc_free);
    d->configs = g_ptr_array_new();
    d->notes = g_ptr_array_new_with_free_func(g_free);
    d->footer = g_array_new(FALSE, TRUE, sizeof(VizRect));
    const Scenario *s = in->scenario;
    d->title = g_strdup_printf("The path into the cluster, nine steps — %s, "
                               "seed %" G_GUINT64_FORMAT,
                               s->name, in->seed);
    gather_topology(d);
    gather_results(d);
    guint n_gw = 0;
    for (guint i = 0; i < d->pods->len; i++) {
        n_gw += ((DPod *)g_ptr_array_index(d->pods, i))->gateway ? 1 : 0;
    }
    GString *sub = g_string_new(NULL);
    g_string_append_printf(sub,
                           "%u nodes · %u gateway pods · %u application "
                           "pods · %u application Services",
                           d->nodes->len, n_gw, d->pods->len - n_gw,
                           d->svcs->len + d->hidden_svcs);
    if (d->hidden_svcs > 0) {
        g_string_append_printf(sub, " (%u not drawn)", d->hidden_svcs);
    }
    if (in->n_paths > 0) {
        g_string_append_printf(sub, " · %u traced request%s", in->n_paths,
                               in->n_paths > 1 ? "s" : "");
    } else if (d->has_results) {
        g_string_append(sub, " · a run's traffic: line width = share");
    }
    d->subtitle = g_string_free(sub, FALSE);
    GString *help = g_string_new(
        "How to read it: a request goes left to right. Dashed boxes are "
        "Services: virtual, made real by kube-proxy's rules and Envoy's "
        "endpoints. Pods sit in the lane of their node.");
    if (in->n_paths > 0) {
        g_string_append(help, " Thick coloured lines: the traced requests, "
                              "each to the step where it ended.");
    } else if (d->has_results) {
        g_string_append(help, " Line width: share of the run's requests.");
    }
    d->help = g_string_free(help, FALSE);
    fill_left(d);
    fill_gateway_service(d);
    fill_nodes(d);
    fill_configs(d);
    notes_from_results(d);
    notes_from_paths(d);

    /* Boxes a traced request went through get its colour. */
    for (guint k = 0; k < in->n_paths && k < 32; k++) {
        const DiagramPath *p = &in->paths[k];
        guint last = path_last_step(p);
        guint bit = 1u << k;
        d->client->paths |= bit;
        if (last >= 2) {
            d->lb->paths |= bit;
        }
        DNode *n = find_node(d, trace_get(p->trace, "lb_node"));
        if (n != NULL && last >= 3) {
            n->kp->paths |= bit;
        }
        if (last >= 4) {
            d->gwsvc->paths |= bit;
        }
        DPod *gp = find_pod(d, trace_get(p->trace, "gateway_pod"));
        if (gp != NULL && last >= 5) {
            gp->box->paths |= bit;
        }
        for (guint i = 0; i < d->configs->len; i++) {
            DBox *b = g_ptr_array_index(d->configs, i);
            const char *ref = strchr(b->name, ' ');
            if (ref == NULL) {
                continue;
            }
            ref++;
            if ((b->step == 6 &&
                 mentions(trace_get(p->trace, "server"), ref)) ||
                (b->step == 7 && mentions(trace_get(p->trace, "route"), ref))) {
                b->paths |= bit;
            }
        }
        gint si = svc_of_cluster(d, trace_get(p->trace, "cluster"));
        if (si >= 0 && last >= 8) {
            ((DSvc *)g_ptr_array_index(d->svcs, si))->box->paths |= bit;
        }
        DPod *up = find_pod(d, trace_get(p->trace, "upstream_pod"));
        if (up != NULL && last >= 9) {
            up->box->paths |= bit;
        }
    }
    layout(d, cv);
    return d;
}

/* ---- drawing ------------------------------------------------------------- */

static void draw_box(VizCanvas *cv, const DBox *b)
{
    cairo_t *cr = cv->cr;
    viz_rounded_rect(cr, &b->r, b->stripe ? 4 : 7);
    viz_set_color(cr, b->fill, 1.0);
    cairo_fill_preserve(cr);
    cairo_save(cr);
    if (b->dashed) {
        double dash[] = { 6, 3 };
        cairo_set_dash(cr, dash, 2, 0);
    }
    viz_set_color(cr, b->accent, 1.0);
    cairo_set_line_width(cr, b->border);
    cairo_stroke(cr);
    cairo_restore(cr);
    if (b->stripe) {
        VizRect s = { b->r.x, b->r.y, 5, b->r.h };
        viz_rounded_rect(cr, &s, 2.5);
        viz_set_color(cr, b->accent, 1.0);
        cairo_fill(cr);
    }
    /* A ring inside the box in the colour of the first traced request
     * that went through it (inside, so boxes never grow into others). */
    for (guint k = 0; k < 32; k++) {
        if ((b->paths & (1u << k)) == 0) {
            continue;
        }
        VizRect in = { b->r.x + 1.5, b->r.y + 1.5, b->r.w - 3, b->r.h - 3 };
        viz_rounded_rect(cr, &in, b->stripe ? 3 : 6);
        viz_set_color(cr, path_color(k), 1.0);
        cairo_set_line_width(cr, 3.0);
        cairo_stroke(cr);
        break;
    }
    gint idx = viz_record(cv, VIZ_ITEM_BOX, b->role, b->name, &b->r);
    viz_push_parent(cv, idx);
    if (b->step > 0) {
        viz_step_badge(cv, b->r.x + PAD + BADGE_R, b->r.y + PAD + BADGE_R,
                       BADGE_R, b->step, VIZ_INK);
    }
    g_autofree double *tops = g_new0(double, MAX(b->lines->len, 1));
    box_lines(cv, (DBox *)b, b->r.w, tops);
    for (guint i = 0; i < b->lines->len; i++) {
        const Line *l = g_ptr_array_index(b->lines, i);
        viz_text(cv, &l->font, b->r.x + PAD + box_indent(b, (gint)i),
                 b->r.y + tops[i], VIZ_LEFT | VIZ_TOP, l->role, l->text, NULL);
    }
    viz_pop_parent(cv);
}

/* A flow from (x0, y0) to (x1, y1): a horizontal-tangent curve. */
static void curve(cairo_t *cr, double x0, double y0, double x1, double y1)
{
    double dx = (x1 - x0) / 2;
    cairo_move_to(cr, x0, y0);
    if (fabs(y1 - y0) < 0.5) {
        cairo_line_to(cr, x1, y1);
    } else {
        cairo_curve_to(cr, x0 + dx, y0, x1 - dx, y1, x1, y1);
    }
}

typedef struct {
    double width;    /* line width */
    VizColor color;  /* stroke */
    double alpha;    /* opacity */
    gboolean dashed; /* no traffic seen */
} EdgeStyle;

static void edge(cairo_t *cr,
                 double x0,
                 double y0,
                 double x1,
                 double y1,
                 const EdgeStyle *st,
                 gboolean arrow)
{
    cairo_save(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    if (st->dashed) {
        double dash[] = { 4, 4 };
        cairo_set_dash(cr, dash, 2, 0);
    }
    viz_set_color(cr, st->color, st->alpha);
    cairo_set_line_width(cr, st->width);
    double head = arrow ? MAX(8.0, st->width + 5) : 0;
    curve(cr, x0, y0, x1 - head * 0.8, y1);
    cairo_stroke(cr);
    if (arrow) {
        viz_arrow_head(cr, x1, y1, 1, 0, head);
    }
    cairo_restore(cr);
}

/* The style of a hop that carried @n of @total (has: counted at all). */
static EdgeStyle flow_style(gboolean has, guint64 n, guint64 total, VizColor c)
{
    EdgeStyle st = { 2.0, c, 0.75, FALSE };
    if (has && total > 0) {
        double share = (double)n / (double)total;
        st.width = 1.5 + 10.0 * share;
        st.dashed = n == 0;
        st.alpha = n == 0 ? 0.5 : 0.6;
    }
    return st;
}

static double cy(const VizRect *r)
{
    return r->y + r->h / 2;
}

static void draw_edges(VizCanvas *cv, const Diagram *d)
{
    cairo_t *cr = cv->cr;
    VizColor slate = VIZ_RGB(0x4A5A6E);
    /* 1: client to load balancer, downwards. */
    {
        const VizRect *a = &d->client->r, *b = &d->lb->r;
        double x = a->x + a->w / 2;
        cairo_save(cr);
        viz_set_color(cr, slate, 0.75);
        cairo_set_line_width(cr, 3.0);
        cairo_move_to(cr, x, a->y + a->h);
        cairo_line_to(cr, x, b->y - 8);
        cairo_stroke(cr);
        viz_arrow_head(cr, x, b->y, 0, 1, 10);
        cairo_restore(cr);
    }
    guint64 node_total = 0;
    for (guint i = 0; i < d->nodes->len; i++) {
        node_total += ((DNode *)g_ptr_array_index(d->nodes, i))->count;
    }
    /* 2: load balancer to each backend's kube-proxy; 3: on to the
     * gateway Service. */
    for (guint i = 0; i < d->nodes->len; i++) {
        const DNode *n = g_ptr_array_index(d->nodes, i);
        EdgeStyle st = flow_style(n->has_count, n->count, node_total, slate);
        if (n->backend) {
            edge(cr, d->lb->r.x + d->lb->r.w, cy(&d->lb->r), n->kp->r.x,
                 cy(&n->kp->r), &st, TRUE);
        }
        edge(cr, n->kp->r.x + n->kp->r.w, cy(&n->kp->r), d->gwsvc->r.x,
             cy(&n->kp->r), &st, TRUE);
    }
    /* 4: the Service to each gateway pod; 5-8: pods onto the bus. */
    double bus_lo = G_MAXDOUBLE, bus_hi = -G_MAXDOUBLE;
    guint64 gw_total = 0;
    for (guint i = 0; i < d->pods->len; i++) {
        const DPod *p = g_ptr_array_index(d->pods, i);
        gw_total += p->gateway ? p->count : 0;
    }
    for (guint i = 0; i < d->pods->len; i++) {
        const DPod *p = g_ptr_array_index(d->pods, i);
        if (!p->gateway) {
            continue;
        }
        EdgeStyle st = flow_style(p->has_count, p->count, gw_total, slate);
        double y = cy(&p->box->r);
        edge(cr, d->gwsvc->r.x + d->gwsvc->r.w, y, p->box->r.x, y, &st, TRUE);
        EdgeStyle out = st;
        out.dashed = FALSE;
        edge(cr, p->box->r.x + p->box->r.w, y, X_BUS, y, &out, FALSE);
        bus_lo = MIN(bus_lo, y);
        bus_hi = MAX(bus_hi, y);
    }
    for (guint i = 0; i < d->svcs->len; i++) {
        const DSvc *s = g_ptr_array_index(d->svcs, i);
        bus_lo = MIN(bus_lo, cy(&s->box->r));
        bus_hi = MAX(bus_hi, cy(&s->box->r));
    }
    if (bus_hi >= bus_lo) {
        cairo_save(cr);
        viz_set_color(cr, slate, 0.75);
        cairo_set_line_width(cr, 3.0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
        cairo_move_to(cr, X_BUS, bus_lo);
        cairo_line_to(cr, X_BUS, bus_hi);
        cairo_stroke(cr);
        cairo_restore(cr);
    }
    /* 8: bus to each application Service; 9: Service to its pods. */
    for (guint i = 0; i < d->svcs->len; i++) {
        const DSvc *s = g_ptr_array_index(d->svcs, i);
        EdgeStyle st = flow_style(s->has_count, s->count, d->routed, slate);
        edge(cr, X_BUS, cy(&s->box->r), s->box->r.x, cy(&s->box->r), &st, TRUE);
        for (guint j = 0; j < s->pods->len; j++) {
            const DPod *p = g_ptr_array_index(s->pods, j);
            /* Widths are shares of all routed traffic, on every hop, so
             * a thin Service's pods stay thin. */
            EdgeStyle ps =
                flow_style(p->has_count, p->count, d->routed, s->color);
            edge(cr, s->box->r.x + s->box->r.w, cy(&s->box->r), p->box->r.x,
                 cy(&p->box->r), &ps, TRUE);
        }
    }
}

/* A red cross where a traced request stopped. */
static void draw_stop(cairo_t *cr, double x, double y)
{
    cairo_save(cr);
    cairo_arc(cr, x, y, 11, 0, 2 * G_PI);
    viz_set_color(cr, VIZ_PAPER, 1.0);
    cairo_fill_preserve(cr);
    viz_set_color(cr, VIZ_VERMILLION, 1.0);
    cairo_set_line_width(cr, 2.5);
    cairo_stroke(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_width(cr, 3.0);
    cairo_move_to(cr, x - 5, y - 5);
    cairo_line_to(cr, x + 5, y + 5);
    cairo_move_to(cr, x + 5, y - 5);
    cairo_line_to(cr, x - 5, y + 5);
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* The traced requests: a thick line in each one's colour over the hops it
 * took, to the step where it ended. */
static void draw_paths(VizCanvas *cv, const Diagram *d)
{
    cairo_t *cr = cv->cr;
    g_autofree const VizRect **stops =
        g_new0(const VizRect *, MAX(d->in->n_paths, 1));
    guint n_stops = 0;
    for (guint k = 0; k < d->in->n_paths; k++) {
        const DiagramPath *p = &d->in->paths[k];
        guint last = path_last_step(p);
        gboolean failed = p->out->kind == OUTCOME_FAILURE;
        double off = ((double)k - (d->in->n_paths - 1) / 2.0) * 7.0;
        EdgeStyle st = { 5.0, path_color(k), 0.9, FALSE };
        const VizRect *lb = &d->lb->r;
        double sx = lb->x + lb->w, sy = cy(lb) + off;
        DNode *n = find_node(d, trace_get(p->trace, "lb_node"));
        DPod *gp = find_pod(d, trace_get(p->trace, "gateway_pod"));
        gint si = svc_of_cluster(d, trace_get(p->trace, "cluster"));
        DPod *up = find_pod(d, trace_get(p->trace, "upstream_pod"));
        /* Each hop is drawn when the request made it past its start. */
        if (n != NULL && last >= 3) {
            double y = cy(&n->kp->r) + off;
            edge(cr, sx, sy, n->kp->r.x, y, &st, TRUE);
            sx = n->kp->r.x + n->kp->r.w;
            sy = y;
            if (last >= 4) {
                edge(cr, sx, sy, d->gwsvc->r.x, sy, &st, TRUE);
                sx = d->gwsvc->r.x + d->gwsvc->r.w;
            }
        }
        if (gp != NULL && last >= 5) {
            double y = cy(&gp->box->r) + off;
            cairo_save(cr);
            viz_set_color(cr, st.color, st.alpha);
            cairo_set_line_width(cr, st.width);
            cairo_move_to(cr, d->gwsvc->r.x + d->gwsvc->r.w - 12, sy);
            cairo_line_to(cr, d->gwsvc->r.x + d->gwsvc->r.w - 12, y);
            cairo_stroke(cr);
            cairo_restore(cr);
            edge(cr, d->gwsvc->r.x + d->gwsvc->r.w - 12, y, gp->box->r.x, y,
                 &st, TRUE);
            sx = gp->box->r.x + gp->box->r.w;
            sy = y;
        }
        if (si >= 0 && last >= 8) {
            const DSvc *s = g_ptr_array_index(d->svcs, si);
            double y = cy(&s->box->r) + off;
            cairo_save(cr);
            viz_set_color(cr, st.color, st.alpha);
            cairo_set_line_width(cr, st.width);
            cairo_move_to(cr, sx, sy);
            cairo_line_to(cr, X_BUS + off, sy);
            cairo_line_to(cr, X_BUS + off, y);
            cairo_stroke(cr);
            cairo_restore(cr);
            edge(cr, X_BUS + off, y, s->box->r.x, y, &st, TRUE);
            sx = s->box->r.x + s->box->r.w;
            sy = y;
            if (up != NULL && last >= 9) {
                edge(cr, sx, sy, up->box->r.x, cy(&up->box->r) + off, &st,
                     TRUE);
            }
        }
        if (failed || (p->out->kind == OUTCOME_RESPONSE &&
                       p->out->from_gateway && p->out->status >= 400)) {
            /* Mark the box where it stopped. */
            const VizRect *at = lb;
            if (last >= 3 && n != NULL) {
                at = &n->kp->r;
            }
            if (last >= 4) {
                at = &d->gwsvc->r;
            }
            if (last >= 5 && gp != NULL) {
                at = &gp->box->r;
            }
            if (last >= 8 && si >= 0) {
                at = &((DSvc *)g_ptr_array_index(d->svcs, si))->box->r;
            }
            if (last >= 9 && up != NULL) {
                at = &up->box->r;
            }
            /* One cross per box, however many requests stopped there. */
            gboolean seen = FALSE;
            for (guint j = 0; j < n_stops; j++) {
                seen |= stops[j] == at;
            }
            if (!seen) {
                stops[n_stops++] = at;
                double y = at == &d->gwsvc->r ? sy : cy(at);
                draw_stop(cr, at->x + at->w + 12, y);
            }
        }
    }
}

static void draw_headers(VizCanvas *cv, const Diagram *d)
{
    cairo_t *cr = cv->cr;
    /* Lanes first: the background everything sits on. */
    for (guint i = 0; i < d->nodes->len; i++) {
        DNode *n = g_ptr_array_index(d->nodes, i);
        viz_rounded_rect(cr, &n->band, 10);
        viz_set_color(cr, VIZ_WASH, 1.0);
        cairo_fill_preserve(cr);
        viz_set_color(cr, VIZ_GRID, 1.0);
        cairo_set_line_width(cr, 1.0);
        cairo_stroke(cr);
        n->band_item =
            viz_record(cv, VIZ_ITEM_REGION, "node", n->node->name, &n->band);
        viz_push_parent(cv, n->band_item);
        VizFont fn = font(13.5, TRUE, VIZ_INK);
        fn.max_width = X_GWSVC - 8 - (n->band.x + BAND_PAD);
        VizRect r;
        viz_text(cv, &fn, n->band.x + BAND_PAD, n->band.y + 5,
                 VIZ_LEFT | VIZ_TOP, "node", n->node->name, &r);
        g_autofree char *zone = g_strdup_printf("zone %s", n->node->zone);
        VizFont fz = font(12, FALSE, VIZ_MUTED);
        fz.max_width = X_GWSVC - 8 - (r.x + r.w + 8);
        if (fz.max_width > 30) {
            viz_text(cv, &fz, r.x + r.w + 8, r.y + r.h - 1,
                     VIZ_LEFT | VIZ_BOTTOM, "detail", zone, NULL);
        }
        viz_pop_parent(cv);
    }
    /* Column headers with their step numbers. */
    for (Column c = COL_KP; c <= COL_POD; c++) {
        double x = column_x(c);
        double y = d->y_headers;
        viz_step_badge(cv, x + BADGE_R, y + BADGE_R, BADGE_R, header_step(c),
                       VIZ_INK);
        VizFont f = header_font(c);
        viz_text(cv, &f, x + 2 * BADGE_R + 6, y, VIZ_LEFT | VIZ_TOP, "header",
                 header_text(c), NULL);
    }
    /* Configuration: heading, and a dashed "configures" line down to the
     * gateway pods. */
    VizFont fh = font(13, TRUE, VIZ_MUTED);
    viz_text(cv, &fh, X_GWSVC, d->y_panel, VIZ_LEFT | VIZ_TOP, "header",
             "configuration: istiod compiles it into every gateway pod's "
             "Envoy (xDS)",
             NULL);
    double lo = 0; /* below the lowest configuration chip */
    for (guint i = 0; i < d->configs->len; i++) {
        const DBox *b = g_ptr_array_index(d->configs, i);
        lo = MAX(lo, b->r.y + b->r.h);
    }
    cairo_save(cr);
    double dash[] = { 5, 4 };
    cairo_set_dash(cr, dash, 2, 0);
    viz_set_color(cr, VIZ_PURPLE, 1.0);
    cairo_set_line_width(cr, 2.0);
    double x = X_GWPOD + POD_W - 20;
    cairo_move_to(cr, x, lo + 3);
    cairo_line_to(cr, x, d->y_headers - 9);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    viz_arrow_head(cr, x, d->y_headers - 2, 0, 1, 8);
    cairo_restore(cr);
}

static void draw_footer(VizCanvas *cv, const Diagram *d)
{
    VizFont ff = font(12.5, FALSE, VIZ_INK);
    for (guint s = 1; s <= 9; s++) {
        const VizRect *r = &g_array_index(d->footer, VizRect, s);
        viz_step_badge(cv, r->x + BADGE_R, r->y + r->h / 2, BADGE_R, s,
                       VIZ_MUTED);
        viz_text(cv, &ff, r->x + 2 * BADGE_R + 6, r->y + r->h / 2,
                 VIZ_LEFT | VIZ_MIDDLE, "legend", step_words[s], NULL);
    }
}

static void draw(VizCanvas *cv, gpointer data)
{
    const Diagram *d = data;
    VizFont ft = font(24, TRUE, VIZ_INK);
    ft.max_width = W - 2 * M;
    ft.elide_end = TRUE;
    VizRect r;
    viz_text(cv, &ft, M, d->y_title, VIZ_LEFT | VIZ_TOP, "title", d->title, &r);
    VizFont fs = font(15, FALSE, VIZ_MUTED);
    fs.max_width = W - 2 * M;
    fs.elide_end = TRUE;
    viz_text(cv, &fs, M, r.y + r.h + 2, VIZ_LEFT | VIZ_TOP, "subtitle",
             d->subtitle, NULL);
    VizFont fhelp = help_font();
    viz_text(cv, &fhelp, d->help_r.x, d->help_r.y, VIZ_LEFT | VIZ_TOP, "help",
             d->help, NULL);
    draw_headers(cv, d);
    draw_edges(cv, d);
    draw_paths(cv, d);
    for (guint i = 0; i < d->boxes->len; i++) {
        draw_box(cv, g_ptr_array_index(d->boxes, i));
    }
    draw_footer(cv, d);
}

GBytes *diagram_render(const DiagramInput *in,
                       VizFormat fmt,
                       GPtrArray **items,
                       double *width,
                       double *height,
                       GError **error)
{
    g_return_val_if_fail(in != NULL && in->scenario != NULL, NULL);
    VizCanvas *m = viz_canvas_new_measure();
    g_autoptr(Diagram) d = diagram_build(in, m);
    viz_canvas_free_measure(m);
    if (width != NULL) {
        *width = W;
    }
    if (height != NULL) {
        *height = d->height;
    }
    return viz_render(fmt, W, d->height, draw, d, items, error);
}

gboolean diagram_write(const DiagramInput *in,
                       const char *path,
                       GPtrArray **items,
                       GError **error)
{
    g_return_val_if_fail(in != NULL && path != NULL, FALSE);
    VizFormat fmt;
    if (!viz_format_from_path(path, &fmt, error)) {
        return FALSE;
    }
    VizCanvas *m = viz_canvas_new_measure();
    g_autoptr(Diagram) d = diagram_build(in, m);
    viz_canvas_free_measure(m);
    return viz_write(path, W, d->height, draw, d, items, error);
}

gboolean diagram_write_each(const DiagramInput *in,
                            const char *const *paths,
                            guint n,
                            GPtrArray *written,
                            GError **error)
{
    g_return_val_if_fail(in != NULL && (paths != NULL || n == 0), FALSE);
    VizCanvas *m = viz_canvas_new_measure();
    g_autoptr(Diagram) d = diagram_build(in, m);
    viz_canvas_free_measure(m);
    for (guint i = 0; i < n; i++) {
        VizFormat fmt;
        if (!viz_format_from_path(paths[i], &fmt, error) ||
            !viz_write(paths[i], W, d->height, draw, d, NULL, error)) {
            return FALSE;
        }
        if (written != NULL) {
            g_ptr_array_add(written, g_strdup(paths[i]));
        }
    }
    return TRUE;
}
