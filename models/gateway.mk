# models/gateway.mk: the gateway model (istiod-like compile, Envoy listener,
# router, config dump) and its tests (included by Makefile.am).
libingress_a_SOURCES += \
	models/host.c models/host.h \
	models/istio.c models/istio.h \
	models/gateway.h models/gateway-private.h \
	models/gateway-compile.c models/gateway-ingress.c \
	models/gateway-listener.c models/router.c \
	models/config-dump.c

unit_tests += tests/test-host tests/test-gateway tests/test-docs-cases
tests_test_host_CFLAGS = $(test_cflags)
tests_test_host_LDADD = $(test_ldadd)
tests_test_gateway_SOURCES = tests/test-gateway.c \
	tests/test-gateway-util.c tests/test-gateway-util.h
tests_test_gateway_CFLAGS = $(test_cflags)
tests_test_gateway_LDADD = $(test_ldadd)
# Reads ../shared/reference/istio-docs-tests in place (SIM_SRCDIR).
tests_test_docs_cases_SOURCES = tests/test-docs-cases.c \
	tests/test-gateway-util.c tests/test-gateway-util.h \
	tests/test-gateway-docs.c tests/test-gateway-docs.h
tests_test_docs_cases_CFLAGS = $(test_cflags)
tests_test_docs_cases_LDADD = $(test_ldadd)
