/* png-private.h: what png.c shows its tests (tests/test-viz.c) and no one
 * else: which instructions find the runs, so that one machine tests all. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How row_masks() compares pixels; each level may use those below it. */
typedef enum {
    VIZ_PNG_SIMD_SCALAR, /* a pixel a step */
    VIZ_PNG_SIMD_SSE2,   /* 16 a step (x86-64 baseline) */
    VIZ_PNG_SIMD_AVX2,   /* 32 a step, where the CPU has it: the default */
} VizPngSimd;

/* For tests only: from now on the encoder uses at most @level, in every
 * thread (set it while no PNG is being encoded). FALSE, and nothing
 * changed, where the build or the CPU has no @level. The bytes written
 * must not depend on it. */
gboolean viz_png__set_simd(VizPngSimd level);

G_END_DECLS
