# sim/sim.mk: the sim part of the build (included by Makefile.am).
libingress_a_SOURCES += \
	sim/time.c sim/time.h sim/rng.c sim/rng.h sim/dist.c sim/dist.h \
	sim/hist.c sim/hist.h sim/queue.c sim/queue.h sim/engine.c sim/engine.h
