# models/replay.mk: replayed traces (Istio access logs, CSV) and the access
# log `run --access-log` writes, with their tests (included by Makefile.am).
libingress_a_SOURCES += \
	models/replay.c models/replay.h models/replay-private.h \
	models/replay-reader.c \
	models/replay-window.c models/replay-window.h \
	models/accesslog.c models/accesslog.h

unit_tests += tests/test-replay tests/test-accesslog
tests_test_replay_CFLAGS = $(test_cflags)
tests_test_replay_LDADD = $(test_ldadd)
tests_test_accesslog_CFLAGS = $(test_cflags)
tests_test_accesslog_LDADD = $(test_ldadd)

script_tests += tests/check-replay.sh
EXTRA_DIST += bench/bench-replay.sh
