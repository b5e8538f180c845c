# models/models.mk: the objects and the request path's models (included by
# Makefile.am).
libingress_a_SOURCES += \
	models/ynode.c models/ynode.h \
	models/k8s.c models/k8s.h \
	models/cluster.c models/cluster.h \
	models/endpoints.c models/endpoints.h \
	models/ipv4.c models/ipv4.h \
	models/scenario.c models/scenario.h \
	models/trace.c models/trace.h
libingress_a_SOURCES += \
	models/results.c models/results.h \
	models/results-private.h models/results-state.c \
	models/replications.c models/replications.h \
	models/request.h \
	models/name-table.c models/name-table.h \
	models/world.c models/world.h \
	models/client.c models/client.h \
	models/lb.c models/lb.h \
	models/upstream.c models/upstream.h \
	models/app.c models/app.h \
	models/path.c models/path.h \
	models/runner.c models/runner.h

unit_tests += tests/test-ipv4
tests_test_ipv4_CFLAGS = $(test_cflags)
tests_test_ipv4_LDADD = $(test_ldadd)

unit_tests += tests/test-upstream
tests_test_upstream_CFLAGS = $(test_cflags)
tests_test_upstream_LDADD = $(test_ldadd)

unit_tests += tests/test-lb
tests_test_lb_CFLAGS = $(test_cflags)
tests_test_lb_LDADD = $(test_ldadd)
