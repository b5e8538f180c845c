# tests/tests.mk: the lead's unit and end-to-end tests (included by
# Makefile.am); each module's own tests are listed in its fragment.
unit_tests += tests/test-scenario
tests_test_scenario_CFLAGS = $(test_cflags)
tests_test_scenario_LDADD = $(test_ldadd)

script_tests += tests/check-run.sh

unit_tests += tests/test-lessons
tests_test_lessons_CFLAGS = $(test_cflags)
tests_test_lessons_LDADD = $(test_ldadd)

# Replication sets: the exact results state, pooling, shard blocks (unit);
# run --replications/--shard and merge end to end (script).
unit_tests += tests/test-replications
tests_test_replications_CFLAGS = $(test_cflags)
tests_test_replications_LDADD = $(test_ldadd)
script_tests += tests/check-shard.sh
