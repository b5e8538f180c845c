/* app.h: step 9, an application pod: a FIFO queue in front of `concurrency`
 * servers, a service-time distribution, a queue limit (503 beyond it) and
 * the answers of Istio's sample apps (httpbin, helloworld, tcp-echo), nginx
 * and bookinfo's productpage (their routes and bodies: app-response.h). */
#pragma once

#include <glib.h>

#include "models/request.h"
#include "models/scenario.h"
#include "sim/rng.h"

G_BEGIN_DECLS

typedef struct _AppPod AppPod;

typedef enum {
    APP_START,    /* a server is free: serve now */
    APP_QUEUED,   /* waits in the queue */
    APP_REJECTED, /* queue full: the pod answers 503 at once */
} AppAdmit;

/* @ws borrowed (lives with the scenario); @preset resolved by the caller
 * (app_preset_for). */
AppPod *app_pod_new(const WorkloadSpec *ws, WorkloadPreset preset);
void app_pod_free(AppPod *a);

/* The sample app an image is, when the workload names none. */
WorkloadPreset app_preset_for(const WorkloadSpec *ws, const K8sPod *pod);
const char *app_preset_name(WorkloadPreset p);

AppAdmit app_pod_admit(AppPod *a, Request *r);
/* A served request left; returns the next queued one, now being served, or
 * NULL. */
Request *app_pod_finish(AppPod *a);
/* How long @r takes and what it answers (status 0 for a TCP stream).
 * Records the rule in @r->tr. */
SimTime app_pod_serve(AppPod *a, const Request *r, Rng *rng, gint *status,
                      SimTime at, const char *pod_name, const char *node);
/* The preset the pod runs (its bodies: models/app-response.h). */
WorkloadPreset app_pod_preset(const AppPod *a);
guint app_pod_busy(const AppPod *a);
guint app_pod_queued(const AppPod *a);
/* The crashed pod's waiting requests, handed back to be failed; the queue
 * is empty afterwards. Returns the head of a `next`-linked list. */
Request *app_pod_drain(AppPod *a);

G_END_DECLS
