# models/analyze.mk: `ingress-sim analyze`: istioctl analyze's messages and
# ingress-sim's own (ISM), with their tests (included by Makefile.am).
libingress_a_SOURCES += \
	models/analyze.c models/analyze.h models/analyze-private.h \
	models/analyze-gateway.c models/analyze-virtualservice.c \
	models/analyze-destinationrule.c models/analyze-compiled.c \
	models/analyze-path.c

unit_tests += tests/test-analyze
tests_test_analyze_CFLAGS = $(test_cflags)
tests_test_analyze_LDADD = $(test_ldadd)

script_tests += tests/check-analyze.sh

analyzelessonsdir = $(pkgdatadir)/scenarios/lessons
dist_analyzelessons_DATA = scenarios/lessons/analyze-four-places.yaml \
	scenarios/lessons/analyze-references.yaml
EXTRA_DIST += docs/analyze.md
