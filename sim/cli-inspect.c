/* cli-inspect.c: the subcommands that show compiled configuration instead
 * of simulating: `config-dump` (Envoy /config_dump of a gateway pod) and
 * `iptables` (kube-proxy's rules on a node). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "models/endpoints.h"
#include "models/gateway.h"
#include "models/kube-proxy.h"
#include "sim/cli.h"

int cli_config_dump(int argc, char **argv)
{
    g_autofree char *pod_ref = NULL;
    GOptionEntry entries[] = {
        { "pod", 'p', 0, G_OPTION_ARG_STRING, &pod_ref,
          "Gateway pod to dump (default: the first ingress gateway pod)",
          "NAMESPACE/POD" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse("config-dump", "SCENARIO",
                   "Print the Envoy configuration istiod would push to a "
                   "gateway pod.",
                   "The output has the shape of Envoy's admin /config_dump "
                   "(v3): listeners,\nroute configurations and clusters, so "
                   "the jq recipes used on a real pod work.\n\n"
                   "Examples:\n"
                   "  ingress-sim config-dump scenarios/article.yaml\n"
                   "  ingress-sim config-dump scenarios/article.yaml --pod "
                   "istio-system/istio-ingressgateway-1\n"
                   "  ingress-sim config-dump scenarios/article.yaml | jq "
                   "'.configs[] |\n    select(.\"@type\"|endswith(\"RoutesConfigDump\")) "
                   "|\n    .dynamic_route_configs[].route_config.virtual_hosts[] "
                   "| {name, domains}'",
                   entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    if (argc != 2) {
        g_printerr("ingress-sim config-dump: expected one SCENARIO\n");
        return CLI_USAGE;
    }
    g_autoptr(Scenario) s = cli_load(argv[1]);
    if (s == NULL) {
        return CLI_ERROR;
    }
    g_autoptr(GPtrArray) pods = cluster_gateway_pods(s->cluster);
    const K8sPod *pod = pods->len > 0 ? g_ptr_array_index(pods, 0) : NULL;
    if (pod_ref != NULL) {
        g_auto(GStrv) parts = g_strsplit(pod_ref, "/", 2);
        pod = parts[1] != NULL ? cluster_find_pod(s->cluster, parts[0], parts[1])
                               : NULL;
        if (pod == NULL || !g_ptr_array_find(pods, pod, NULL)) {
            GString *names = g_string_new(NULL);
            for (guint i = 0; i < pods->len; i++) {
                const K8sPod *p = g_ptr_array_index(pods, i);
                g_string_append_printf(names, "%s%s/%s", i ? ", " : "",
                                       p->meta.ns, p->meta.name);
            }
            g_printerr("ingress-sim config-dump: error: no gateway pod '%s' "
                       "(gateway pods: %s)\n",
                       pod_ref, names->str);
            g_string_free(names, TRUE);
            return CLI_ERROR;
        }
    }
    if (pod == NULL) {
        g_printerr("ingress-sim config-dump: error: the scenario has no "
                   "ingress gateway pod\n");
        return CLI_ERROR;
    }
    GError *error = NULL;
    g_autoptr(GatewaySnapshot) snap = gateway_compile(s->cluster, pod, &error);
    if (snap == NULL) {
        cli_print_error(error);
        g_error_free(error);
        return CLI_ERROR;
    }
    g_autofree char *text = gateway_config_dump(snap);
    fputs(text, stdout);
    return CLI_OK;
}

int cli_iptables(int argc, char **argv)
{
    g_autofree char *node = NULL;
    GOptionEntry entries[] = {
        { "node", 'n', 0, G_OPTION_ARG_STRING, &node,
          "Node whose rules to print (default: the first node)", "NAME" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse("iptables", "SCENARIO",
                   "Print the iptables rules kube-proxy writes on a node.",
                   "The filter and nat tables in iptables-save form, as "
                   "kube-proxy (iptables mode)\nwrites them for the "
                   "scenario's Services and endpoints at time 0: chain names\n"
                   "hashed as kube-proxy hashes them, the statistic "
                   "probabilities, comments.\nThe simulated packets walk "
                   "exactly these rules.\n\n"
                   "Examples:\n"
                   "  ingress-sim iptables scenarios/article.yaml --node "
                   "worker-2 | grep KUBE-NODEPORTS\n"
                   "  ingress-sim iptables scenarios/lessons/etp-local.yaml "
                   "--node worker-3 | grep 'no local'",
                   entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    if (argc != 2) {
        g_printerr("ingress-sim iptables: expected one SCENARIO\n");
        return CLI_USAGE;
    }
    g_autoptr(Scenario) s = cli_load(argv[1]);
    if (s == NULL) {
        return CLI_ERROR;
    }
    g_autoptr(EndpointSet) es = endpoint_set_new(s->cluster, NULL);
    GError *error = NULL;
    if (kube_proxy_cli_print(s->cluster, es, node, &error) != 0) {
        cli_print_error(error);
        g_error_free(error);
        return CLI_ERROR;
    }
    return CLI_OK;
}
