/* cli-pending.c: subcommands of the contract whose models are still being
 * built (analyze: issue 3, diagram: issue 6). They say so plainly and exit
 * 1 rather than print something that looks like an answer. */
#include "config.h"

#include "sim/cli.h"

static int pending(const char *name, const char *what, int argc, char **argv)
{
    GOptionEntry entries[] = { G_OPTION_ENTRY_NULL };
    if (!cli_parse(name, "SCENARIO", what, NULL, entries, &argc, &argv)) {
        return CLI_USAGE;
    }
    g_printerr("ingress-sim %s: error: not available in this version yet\n",
               name);
    return CLI_ERROR;
}

int cli_analyze(int argc, char **argv)
{
    return pending("analyze", "Report misconfigurations (istioctl analyze "
                              "codes).",
                   argc, argv);
}

int cli_diagram(int argc, char **argv)
{
    return pending("diagram", "Draw the nine-step path (SVG or PNG).", argc,
                   argv);
}
