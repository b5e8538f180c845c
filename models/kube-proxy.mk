# models/kube-proxy.mk: step 3, kube-proxy in iptables mode (compile, save,
# packet walk) and its tests; included by Makefile.am.
libingress_a_SOURCES += \
	models/kube-proxy.c models/kube-proxy.h models/kube-proxy-private.h \
	models/kube-proxy-save.c models/kube-proxy-walk.c

unit_tests += tests/test-kube-proxy
tests_test_kube_proxy_CFLAGS = $(test_cflags)
tests_test_kube_proxy_LDADD = $(test_ldadd)

EXTRA_DIST += \
	tests/golden/kube-proxy-overall.txt \
	tests/golden/kube-proxy-repeated.txt \
	tests/golden/kube-proxy-itp-cluster.txt \
	tests/golden/kube-proxy-itp-local.txt \
	tests/golden/kube-proxy-itp-local-none.txt \
	tests/golden/kube-proxy-etp-local.txt \
	tests/golden/kube-proxy-term-local-ready.txt \
	tests/golden/kube-proxy-term-local-terminating.txt \
	tests/golden/kube-proxy-term-local-remote.txt \
	tests/golden/kube-proxy-term-local-none.txt \
	tests/golden/kube-proxy-term-cluster-ready.txt
