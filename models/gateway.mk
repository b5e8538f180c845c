# models/gateway.mk: the gateway model (istiod-like compile, Envoy listener,
# router, config dump) and its tests (included by Makefile.am).
libingress_a_SOURCES += \
	models/host.c models/host.h \
	models/istio.c models/istio.h \
	models/gateway.h models/gateway-private.h \
	models/gateway-compile.c models/gateway-ingress.c \
	models/gateway-listener.c models/router.c \
	models/config-dump.c
