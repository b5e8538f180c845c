/* dist-private.h: what dist.c keeps to itself, for tests/test-dist.c only:
 * the lognormal's rounded exp(), checked there against exp() itself. */
#pragma once

#include "sim/dist.h"

G_BEGIN_DECLS

/* What a lognormal draw makes of ln(sample) = @x: exp(@x) rounded to the
 * nearest ns as dist_sample() rounds (0 below 0.5, SIM_TIME_MAX from
 * about 9.2e18), by dist.c's inline exp() with glibc's exp() behind it
 * near a rounding boundary. Always equal to the same rounding of exp(). */
SimTime dist__round_exp(double x);

G_END_DECLS
