# models/tls.mk: certificate parsing and verification (included by Makefile.am).
libingress_a_SOURCES += models/tls.c models/tls.h
unit_tests += tests/test-tls
tests_test_tls_CFLAGS = $(test_cflags)
tests_test_tls_LDADD = $(test_ldadd)
EXTRA_DIST += tests/make-certs.sh
