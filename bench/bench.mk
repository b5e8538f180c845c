# bench/bench.mk: `make bench`, the figures of issue 7 (never pass/fail):
# built with the configured flags and run by bench/bench.sh; the published
# figures come from `./configure --enable-lto` and `make pgo` (no
# sanitizers; docs/performance.md). Included
# by Makefile.am.
EXTRA_PROGRAMS = bench/bench-queue bench/bench-router
bench_bench_queue_SOURCES = bench/bench-queue.c
bench_bench_queue_LDADD = libingress.a $(DEPS_LIBS)
bench_bench_router_SOURCES = bench/bench-router.c
bench_bench_router_LDADD = libingress.a $(DEPS_LIBS)
CLEANFILES = $(EXTRA_PROGRAMS)
EXTRA_DIST += bench/bench.sh bench/compare.sh docs/performance.md

bench: ingress-sim $(EXTRA_PROGRAMS)
	@SIM_BUILD_FLAGS='$(CFLAGS) $(LTO_CFLAGS) $(PGO_CFLAGS)'"$$(test -f pgo-data/stamp && echo ' -fprofile-use (make pgo)')" \
	SIM_BIN='$(abs_top_builddir)/ingress-sim' \
	SIM_BENCH_BIN='$(abs_top_builddir)/bench' \
	SIM_SRCDIR='$(abs_top_srcdir)' $(SHELL) '$(srcdir)/bench/bench.sh'
.PHONY: bench

# `make pgo`: ingress-sim rebuilt with profile feedback (gcc -fprofile-use),
# trained on the bundled scenarios: the article and every lesson, which
# between them take each step's common and failure paths, and the
# article's minute of traffic replayed from its own access log (13k lines:
# the lessons' 250 would leave the replay path looking cold); not on the
# bench's own scaled-up article. Then `make bench` measures that binary
# (bench.sh says so). A later `make` after a source change recompiles what
# changed without the profile. Not part of `make check`.
PGO_DIR = $(abs_top_builddir)/pgo-data
PGO_CFLAGS =
pgo-clean-objects:
	rm -f $(libingress_a_OBJECTS) $(ingress_sim_OBJECTS) libingress.a \
		ingress-sim
pgo:
	rm -rf '$(PGO_DIR)' && $(MKDIR_P) '$(PGO_DIR)/out'
	$(MAKE) $(AM_MAKEFLAGS) pgo-clean-objects
	$(MAKE) $(AM_MAKEFLAGS) ingress-sim PGO_CFLAGS='-fprofile-generate \
		-fprofile-update=single -fprofile-dir=$(PGO_DIR)'
	for s in '$(abs_top_srcdir)'/scenarios/article.yaml \
		'$(abs_top_srcdir)'/scenarios/lessons/*.yaml; do \
		./ingress-sim run "$$s" --quiet --out '$(PGO_DIR)/out' \
			>/dev/null 2>&1 || true; \
	done
	./ingress-sim run '$(abs_top_srcdir)'/scenarios/article.yaml --quiet \
		--out '$(PGO_DIR)/out' --access-log '$(PGO_DIR)/article.log' \
		>/dev/null 2>&1 || true
	sed -e "s|\.\./traces/article-1s\.log|$(PGO_DIR)/article.log|" \
		-e "s|\.\./article/|$(abs_top_srcdir)/scenarios/article/|g" \
		'$(abs_top_srcdir)'/scenarios/lessons/replay-article.yaml \
		> '$(PGO_DIR)/replay.yaml'
	./ingress-sim run '$(PGO_DIR)/replay.yaml' --quiet \
		--out '$(PGO_DIR)/out' >/dev/null 2>&1 || true
	$(MAKE) $(AM_MAKEFLAGS) pgo-clean-objects
	$(MAKE) $(AM_MAKEFLAGS) ingress-sim PGO_CFLAGS='-fprofile-use \
		-fprofile-partial-training -Wno-missing-profile \
		-fprofile-dir=$(PGO_DIR)'
	touch '$(PGO_DIR)/stamp'
.PHONY: pgo pgo-clean-objects clean-pgo
clean-local: clean-pgo
clean-pgo:
	rm -rf '$(PGO_DIR)'
