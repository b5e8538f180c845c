# sim/sim.mk: the sim part of the build (included by Makefile.am).
# The engine primitives; each has a cmocka test in tests/test-NAME.c.
libingress_a_SOURCES += \
	sim/time.c sim/time.h \
	sim/rng.c sim/rng.h \
	sim/dist.c sim/dist.h sim/dist-private.h \
	sim/hist.c sim/hist.h \
	sim/queue.c sim/queue.h sim/queue-private.h \
	sim/engine.c sim/engine.h \
	sim/outfile.c sim/outfile.h \
	sim/arena.c sim/arena.h \
	sim/zero.h

unit_tests += \
	tests/test-time tests/test-rng tests/test-dist \
	tests/test-hist tests/test-queue tests/test-engine tests/test-outfile \
	tests/test-arena

tests_test_time_CFLAGS = $(test_cflags)
tests_test_time_LDADD = $(test_ldadd)
tests_test_rng_CFLAGS = $(test_cflags)
tests_test_rng_LDADD = $(test_ldadd)
tests_test_dist_CFLAGS = $(test_cflags)
tests_test_dist_LDADD = $(test_ldadd)
tests_test_hist_CFLAGS = $(test_cflags)
tests_test_hist_LDADD = $(test_ldadd)
tests_test_queue_CFLAGS = $(test_cflags)
tests_test_queue_LDADD = $(test_ldadd)
tests_test_engine_CFLAGS = $(test_cflags)
tests_test_engine_LDADD = $(test_ldadd)
tests_test_outfile_CFLAGS = $(test_cflags)
tests_test_outfile_LDADD = $(test_ldadd)
tests_test_arena_CFLAGS = $(test_cflags)
tests_test_arena_LDADD = $(test_ldadd)

# bench/bench-queue.c is built by `make bench` (bench/bench.mk) or by hand.
