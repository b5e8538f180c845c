/* main.c: ingress-sim's entry point: picks the subcommand and hands over.
 * Everything else lives in libingress.a so tests link the same code. */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "sim/cli.h"

static const char usage[] =
    "Usage: ingress-sim SUBCOMMAND SCENARIO [options]\n"
    "\n"
    "Simulates the path a request takes into Kubernetes through an Istio\n"
    "ingress gateway, in nine steps: client, load balancer, node and\n"
    "kube-proxy, ingressgateway Service, gateway pod (Envoy), Gateway,\n"
    "VirtualService, application Service, application pod.\n"
    "\n"
    "Subcommands:\n"
    "  run          simulate the scenario's traffic; summary, results.json\n"
    "  trace        one request through the nine steps, every decision and why\n"
    "  config-dump  the Envoy /config_dump of a gateway pod\n"
    "  iptables     the nat and filter rules kube-proxy writes on a node\n"
    "  analyze      misconfigurations, istioctl-analyze style\n"
    "  diagram      the path as a picture (SVG or PNG)\n"
    "  chart        redraw a run's charts from its results.json\n"
    "  report       one self-contained HTML report: summary, charts, path,\n"
    "               findings, narrated sample requests\n"
    "  merge        combine the shard.json files of run --shard K/N into the\n"
    "               results of the whole replication set\n"
    "\n"
    "SCENARIO is a YAML file: a Scenario document and ordinary Kubernetes and\n"
    "Istio manifests (plain manifests work too; everything has a default).\n"
    "\n"
    "Examples:\n"
    "  ingress-sim run scenarios/article.yaml\n"
    "  ingress-sim trace scenarios/article.yaml https://counter.example.com/\n"
    "  ingress-sim iptables scenarios/article.yaml --node worker-1\n"
    "  ingress-sim report scenarios/article.yaml -o report.html\n"
    "  ingress-sim run scenarios/article.yaml --replications 8\n"
    "\n"
    "'ingress-sim SUBCOMMAND --help' explains each one.\n";

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (argc < 2) {
        g_printerr("%s", usage);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        g_print("%s", usage);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        g_print("ingress-sim %s\n", PACKAGE_VERSION);
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "run", cli_run },
        { "trace", cli_trace },
        { "config-dump", cli_config_dump },
        { "iptables", cli_iptables },
        { "analyze", cli_analyze },
        { "diagram", cli_diagram },
        { "chart", cli_chart },
        { "report", cli_report },
        { "merge", cli_merge },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cmds); i++) {
        if (strcmp(cmd, cmds[i].name) == 0) {
            return cmds[i].fn(argc - 1, argv + 1);
        }
    }
    g_printerr("ingress-sim: unknown subcommand '%s'\n\n%s", cmd, usage);
    return CLI_USAGE;
}
