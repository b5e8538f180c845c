# bench/bench.mk: `make bench`, the figures of issue 7 (never pass/fail):
# built with the configured flags and run by bench/bench.sh; the published
# figures come from `./configure --enable-lto` (no sanitizers). Included
# by Makefile.am.
EXTRA_PROGRAMS = bench/bench-queue bench/bench-router
bench_bench_queue_SOURCES = bench/bench-queue.c
bench_bench_queue_LDADD = libingress.a $(DEPS_LIBS)
bench_bench_router_SOURCES = bench/bench-router.c
bench_bench_router_LDADD = libingress.a $(DEPS_LIBS)
CLEANFILES = $(EXTRA_PROGRAMS)
EXTRA_DIST += bench/bench.sh

bench: ingress-sim $(EXTRA_PROGRAMS)
	SIM_BUILD_FLAGS='$(CFLAGS) $(LTO_CFLAGS)' \
	SIM_BIN='$(abs_top_builddir)/ingress-sim' \
	SIM_BENCH_BIN='$(abs_top_builddir)/bench' \
	SIM_SRCDIR='$(abs_top_srcdir)' $(SHELL) '$(srcdir)/bench/bench.sh'
.PHONY: bench
