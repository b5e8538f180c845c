/* app.c: the application pod model (step 9): queueing with concurrency and
 * a queue limit, service times, the `responses` table and sample presets. */
#include "config.h"

#include <string.h>

#include "models/app.h"
#include "models/app-response.h"

struct _AppPod {
    const WorkloadSpec *ws; /* borrowed from the scenario */
    WorkloadPreset preset;  /* sample behaviour */
    guint busy;             /* requests being served */
    guint queued;           /* requests waiting */
    Request *head, *tail;   /* FIFO of waiting requests (Request.next) */
};

AppPod *app_pod_new(const WorkloadSpec *ws, WorkloadPreset preset)
{
    AppPod *a = g_new0(AppPod, 1);
    a->ws = ws;
    a->preset = preset;
    return a;
}

void app_pod_free(AppPod *a)
{
    g_free(a);
}

const char *app_preset_name(WorkloadPreset p)
{
    static const char *const names[] = { "none",     "httpbin", "helloworld",
                                         "tcp-echo", "nginx",   "productpage" };
    return names[p];
}

WorkloadPreset app_preset_for(const WorkloadSpec *ws, const K8sPod *pod)
{
    if (ws->preset != PRESET_NONE) {
        return ws->preset;
    }
    /* SCENARIO.md: a container image of one of Istio's samples gets that
     * sample's behaviour. */
    const char *image = k8s_pod_image(pod);
    if (strstr(image, "httpbin") != NULL) {
        return PRESET_HTTPBIN;
    }
    if (strstr(image, "helloworld") != NULL) {
        return PRESET_HELLOWORLD;
    }
    if (strstr(image, "tcp-echo") != NULL) {
        return PRESET_TCP_ECHO;
    }
    if (strstr(image, "examples-bookinfo-productpage") != NULL) {
        return PRESET_PRODUCTPAGE;
    }
    /* The nginx image itself ("nginx", "nginx:1.27", "docker.io/library/
     * nginx", "nginxinc/nginx-unprivileged"), not images that merely
     * contain the word (ingress-nginx controllers). */
    const char *base = strrchr(image, '/');
    base = base != NULL ? base + 1 : image;
    gsize n = strcspn(base, ":@");
    if ((n == 5 && strncmp(base, "nginx", 5) == 0) ||
        (n == 18 && strncmp(base, "nginx-unprivileged", 18) == 0)) {
        return PRESET_NGINX;
    }
    return PRESET_NONE;
}

AppAdmit app_pod_admit(AppPod *a, Request *r)
{
    if (a->busy < (guint)a->ws->concurrency) {
        a->busy++;
        return APP_START;
    }
    if (a->queued >= (guint)a->ws->queue_limit) {
        return APP_REJECTED;
    }
    r->next = NULL;
    if (a->tail != NULL) {
        a->tail->next = r;
    } else {
        a->head = r;
    }
    a->tail = r;
    a->queued++;
    return APP_QUEUED;
}

Request *app_pod_finish(AppPod *a)
{
    g_assert(a->busy > 0);
    Request *r = a->head;
    if (r == NULL) {
        a->busy--;
        return NULL;
    }
    a->head = r->next;
    if (a->head == NULL) {
        a->tail = NULL;
    }
    r->next = NULL;
    a->queued--;
    return r; /* takes over the freed server: busy unchanged */
}

WorkloadPreset app_pod_preset(const AppPod *a)
{
    return a->preset;
}

guint app_pod_busy(const AppPod *a)
{
    return a->busy;
}

guint app_pod_queued(const AppPod *a)
{
    return a->queued;
}

Request *app_pod_drain(AppPod *a)
{
    Request *r = a->head;
    a->head = a->tail = NULL;
    a->queued = 0;
    a->busy = 0;
    return r;
}

SimTime app_pod_serve(AppPod *a, const Request *r, Rng *rng, gint *status,
                      SimTime at, const char *pod_name, const char *node)
{
    const WorkloadSpec *ws = a->ws;
    SimTime t = dist_sample(&ws->service_time, rng);
    const char *why = "the workload's default answer";
    gboolean stream = r->scheme == URL_TCP || r->scheme == URL_TLS;
    *status = stream ? 0 : 200;
    const char *path = r->path != NULL ? r->path : "/";
    if (!stream && a->preset != PRESET_NONE && a->preset != PRESET_TCP_ECHO) {
        /* The sample apps' routes (models/app-response.c), the same rule
         * that writes their bodies for a traced request. */
        SimTime extra = 0;
        *status = app_response_status(a->preset, r->method, path, &extra, &why);
        t += extra;
    } else if (a->preset == PRESET_TCP_ECHO) {
        why = "tcp-echo echoes each line with its prefix";
    }
    for (guint i = 0; i < ws->responses->len; i++) {
        const WorkloadResponse *wr =
            &g_array_index(ws->responses, WorkloadResponse, i);
        if (!g_str_has_prefix(path, wr->path_prefix)) {
            continue;
        }
        if (wr->status != 0 && !stream) {
            *status = wr->status;
        }
        if (wr->has_delay) {
            t += dist_sample(&wr->delay, rng);
        }
        why = "the workload's responses table (first matching pathPrefix)";
        break;
    }
    if (r->tr != NULL) {
        g_autofree char *st = sim_time_format(t);
        if (stream) {
            trace_addf(r->tr, 9, "application pod", node, at, why,
                       "pod %s accepts the stream (session %s, %u busy, %u "
                       "queued)",
                       pod_name, st, a->busy, a->queued);
        } else {
            trace_addf(r->tr, 9, "application pod", node, at, why,
                       "pod %s answers %d to %s %s after %s", pod_name,
                       *status, r->method != NULL ? r->method : "GET", path,
                       st);
        }
    }
    return t;
}
