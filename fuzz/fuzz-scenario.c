/* fuzz-scenario.c: arbitrary bytes as a scenario file (the Scenario document
 * and manifests): scenario_load_string() must give a Scenario or a located
 * error, never crash; a loaded scenario must also build its world (gateway
 * snapshots, kube-proxy tables) or fail with a located error. */
#include "config.h"

#include <string.h>

#include "fuzz/fuzz.h"
#include "models/scenario.h"
#include "models/world.h"

/* Worlds bigger than this are loaded but not built: building is linear in
 * pods x services per node and would make each input slow, not unsafe. */
#define FUZZ_MAX_PODS 500
#define FUZZ_MAX_NODES 20

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    /* scenario_load_string() reads a C string: text ends at a NUL. */
    g_autofree char *text = g_strndup((const char *)data, size);
    GError *error = NULL;
    /* First under small limits: reaching the real ones (2,000,000 nodes)
     * takes seconds under ASan, which libFuzzer would call a hang. The
     * limit code paths are the same, with smaller numbers. */
    static const YLimits small = {
        .max_file_bytes = 1u << 20,
        .max_documents = 1000,
        .max_depth = 64,
        .max_nodes = 100000,
        .max_scalar_len = 1u << 16,
    };
    GPtrArray *docs = ynode_load_string("fuzz.yaml", text, strlen(text),
                                        &small, &error);
    if (docs == NULL) {
        fuzz_check_located(error);
        gboolean too_large =
            g_error_matches(error, SCENARIO_ERROR, SCENARIO_ERROR_TOO_LARGE);
        g_clear_error(&error);
        if (too_large) {
            return 0;
        }
    } else {
        g_ptr_array_unref(docs);
    }
    Scenario *s = scenario_load_string("fuzz.yaml", text, &error);
    if (s == NULL) {
        fuzz_check_located(error);
        g_error_free(error);
        return 0;
    }
    FUZZ_CHECK(error == NULL, "a loaded scenario also set an error");
    FUZZ_CHECK(s->cluster != NULL && s->cluster->nodes->len > 0,
               "a loaded scenario has no nodes");
    FUZZ_CHECK(s->duration > 0, "a loaded scenario has no duration");
    if (s->cluster->pods->len <= FUZZ_MAX_PODS &&
        s->cluster->nodes->len <= FUZZ_MAX_NODES) {
        World *w = world_new(s, s->seed, &error);
        if (w == NULL) {
            fuzz_check_located(error);
            g_error_free(error);
        } else {
            world_free(w);
        }
    }
    scenario_free(s);
    return 0;
}
