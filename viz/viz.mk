# viz/viz.mk: charts and path diagrams with cairo and pango (included by
# Makefile.am).
libingress_a_SOURCES += \
	viz/draw.c viz/draw.h \
	viz/png.c viz/png.h viz/png-private.h \
	viz/svgtext.c viz/svgtext.h viz/svgtext-private.h \
	viz/chart.c viz/chart.h \
	viz/diagram.c viz/diagram.h \
	viz/viz.c viz/viz.h

unit_tests += tests/test-viz
tests_test_viz_SOURCES = tests/test-viz.c tests/png-valid.c tests/png-valid.h
tests_test_viz_CFLAGS = $(test_cflags)
tests_test_viz_LDADD = $(test_ldadd)

# Checks the charts a run writes (check-run.sh): Adler-32 and CRCs, which
# reading them with cairo leaves unchecked.
check_PROGRAMS += tests/png-check
tests_png_check_SOURCES = tests/png-check.c tests/png-valid.c tests/png-valid.h
tests_png_check_LDADD = $(DEPS_LIBS)
