# docs/docs.mk: the manual page, the lessons that follow the article and
# their README (issue 9), the test that runs each lesson's command and
# the one that opens `report` in a headless browser
# (included by Makefile.am).
dist_man1_MANS = docs/ingress-sim.1

lessons2dir = $(pkgdatadir)/scenarios/lessons
dist_lessons2_DATA = scenarios/lessons/README.md \
	scenarios/lessons/add-port.yaml \
	scenarios/lessons/add-port-no-gateway-server.yaml \
	scenarios/lessons/add-port-no-virtualservice.yaml \
	scenarios/lessons/add-port-no-service-port.yaml \
	scenarios/lessons/add-port-no-lb-listener.yaml \
	scenarios/lessons/tls-credential.yaml \
	scenarios/lessons/tls-missing-secret.yaml \
	scenarios/lessons/hosts.yaml \
	scenarios/lessons/gateway-without-virtualservice.yaml \
	scenarios/lessons/etp-local.yaml \
	scenarios/lessons/etp-local-health-check.yaml \
	scenarios/lessons/canary.yaml \
	scenarios/lessons/timeout.yaml
addportdir = $(pkgdatadir)/scenarios/lessons/add-port
dist_addport_DATA = scenarios/lessons/add-port/app.yaml \
	scenarios/lessons/add-port/gateway.yaml \
	scenarios/lessons/add-port/virtualservice.yaml \
	scenarios/lessons/add-port/gateway-service.yaml
etplocaldir = $(pkgdatadir)/scenarios/lessons/etp-local
dist_etplocal_DATA = scenarios/lessons/etp-local/gateway-service.yaml

script_tests += tests/check-lessons.sh tests/check-report.sh
