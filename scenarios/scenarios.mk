# scenarios/scenarios.mk: the bundled scenarios, shipped in the tarball
# (included by Makefile.am).
scenariodir = $(pkgdatadir)/scenarios
dist_scenario_DATA = scenarios/article.yaml
articledir = $(pkgdatadir)/scenarios/article
dist_article_DATA = scenarios/article/manifests.yaml \
	scenarios/article/gateway-service.yaml scenarios/article/example-ca.crt
lessonsdir = $(pkgdatadir)/scenarios/lessons
dist_lessons_DATA = scenarios/lessons/article-as-written.yaml \
	scenarios/lessons/node-down.yaml scenarios/lessons/pod-crash.yaml \
	scenarios/lessons/pod-crash-no-retries.yaml \
	scenarios/lessons/node-down-outlier.yaml scenarios/lessons/circuit-breaker.yaml \
	scenarios/lessons/gateway-restart.yaml \
	scenarios/lessons/gateway-restart-short-drain.yaml \
	scenarios/lessons/config-change.yaml scenarios/lessons/secret-removed.yaml \
	scenarios/lessons/readiness-flap.yaml \
	scenarios/lessons/keepalive-gateway-restart.yaml
counterdir = $(pkgdatadir)/scenarios/lessons/counter
dist_counter_DATA = scenarios/lessons/counter/app.yaml \
	scenarios/lessons/counter/tls.yaml scenarios/lessons/counter/vs.yaml
EXTRA_DIST += docs/scenario.md
# Replayed traces and their lessons (models/replay.mk).
dist_lessons_DATA += scenarios/lessons/replay-article.yaml \
	scenarios/lessons/replay-istio-json.yaml scenarios/lessons/replay-csv.yaml
tracesdir = $(pkgdatadir)/scenarios/traces
dist_traces_DATA = scenarios/traces/article-1s.log \
	scenarios/traces/gateway-json.log scenarios/traces/requests.csv
