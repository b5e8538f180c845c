# tests/bad.mk: never crash, never half-write (issue 8): the malformed
# inputs of tests/bad/ and their runner, the fuzz targets replayed over
# their corpora in make check, `make fuzz` (libFuzzer) and the valgrind
# script (run by hand: tests/valgrind.sh). Included by Makefile.am.
script_tests += tests/check-bad.sh
EXTRA_DIST += tests/bad tests/valgrind.sh tests/valgrind.supp

# Each fuzz target built with run-standalone.c: runs once over its seed
# corpus and regressions (FUZZ_CORPORA, folders under SIM_SRCDIR).
fuzz_corpus_programs = fuzz/corpus-scenario fuzz/corpus-url \
	fuzz/corpus-router fuzz/corpus-replay
unit_tests += $(fuzz_corpus_programs)
fuzz_common = fuzz/fuzz.h fuzz/fuzz-common.c fuzz/run-standalone.c
fuzz_corpus_scenario_SOURCES = fuzz/fuzz-scenario.c $(fuzz_common)
fuzz_corpus_scenario_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPORA='"fuzz/corpus/scenario:fuzz/regressions/scenario:scenarios:tests/bad"'
fuzz_corpus_scenario_LDADD = libingress.a $(DEPS_LIBS)
fuzz_corpus_url_SOURCES = fuzz/fuzz-url.c $(fuzz_common)
fuzz_corpus_url_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPORA='"fuzz/corpus/url:fuzz/regressions/url"'
fuzz_corpus_url_LDADD = libingress.a $(DEPS_LIBS)
fuzz_corpus_router_SOURCES = fuzz/fuzz-router.c $(fuzz_common)
fuzz_corpus_router_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPORA='"fuzz/corpus/router:fuzz/regressions/router"'
fuzz_corpus_router_LDADD = libingress.a $(DEPS_LIBS)
fuzz_corpus_replay_SOURCES = fuzz/fuzz-replay.c $(fuzz_common)
fuzz_corpus_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPORA='"fuzz/corpus/replay:fuzz/regressions/replay"'
fuzz_corpus_replay_LDADD = libingress.a $(DEPS_LIBS)
EXTRA_DIST += fuzz/README.md fuzz/fuzz.sh fuzz/router.yaml fuzz/corpus \
	fuzz/regressions

# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS='scenario url router replay']
# [FUZZ_JOBS=1]: libFuzzer with ASan+UBSan, clang; see fuzz/fuzz.sh.
FUZZ_CC = clang
FUZZ_SECONDS = 60
FUZZ_TARGETS = scenario url router replay
FUZZ_JOBS = 1
FUZZ_FLAGS =
fuzz:
	@srcdir='$(abs_top_srcdir)' builddir='$(abs_top_builddir)' \
	FUZZ_CC='$(FUZZ_CC)' FUZZ_SECONDS='$(FUZZ_SECONDS)' \
	FUZZ_TARGETS='$(FUZZ_TARGETS)' FUZZ_JOBS='$(FUZZ_JOBS)' \
	FUZZ_FLAGS='$(FUZZ_FLAGS)' \
	FUZZ_CPPFLAGS="$(DEFS) -I$(abs_top_builddir) -I$(abs_top_srcdir) $(AM_CPPFLAGS) $(DEPS_CFLAGS)" \
	FUZZ_LIBS='$(DEPS_LIBS) $(LIBS)' \
	FUZZ_SOURCES='$(libingress_a_SOURCES)' \
	$(SHELL) $(srcdir)/fuzz/fuzz.sh
.PHONY: fuzz
clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz-build
.PHONY: clean-fuzz
