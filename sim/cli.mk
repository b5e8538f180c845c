# sim/cli.mk: the command line, the one layer that ties models, engine and
# viz together (included by Makefile.am).
libingress_a_SOURCES += \
	sim/cli.c sim/cli.h \
	sim/cli-run.c \
	sim/cli-replicate.c sim/cli-replicate.h \
	sim/cli-shard.c sim/cli-shard.h \
	sim/cli-merge.c \
	sim/cli-trace.c \
	sim/cli-trace-text.c \
	sim/cli-report.c \
	sim/cli-inspect.c \
	sim/cli-analyze.c \
	sim/cli-viz.c
# Replication sets, shard.json and merge (sim/cli-replicate.c, cli-shard.c,
# cli-merge.c).
EXTRA_DIST += docs/scaling.md
