# tests/docs.mk: the Istio docs-test cases through the whole simulation
# (included by Makefile.am). Reads ../shared/reference/istio-docs-tests in
# place (SIM_SRCDIR), as tests/test-docs-cases does at the gateway level.
#
# The response model the full-path test needs (models/app-response.[ch]:
# the sample apps' bodies and headers, Envoy's local replies) is listed here
# with it; it belongs with the path's models (models/models.mk) and can move
# there.
libingress_a_SOURCES += \
	models/app-response.c models/app-response.h

unit_tests += tests/test-docs-full
tests_test_docs_full_SOURCES = tests/test-docs-full.c \
	tests/test-gateway-docs.c tests/test-gateway-docs.h \
	tests/test-gateway-util.c tests/test-gateway-util.h
tests_test_docs_full_CFLAGS = $(test_cflags)
tests_test_docs_full_LDADD = $(test_ldadd)
