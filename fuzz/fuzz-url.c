/* fuzz-url.c: the small text parsers a user's input reaches: request URLs
 * (url_parse), durations and rates (sim_time_parse, which Istio's fields
 * use too, sim_rate_parse), and host names as Istio compares them and Envoy
 * looks them up (host.h: authorities with ports, SNI, wildcards). */
#include "config.h"

#include <string.h>

#include "fuzz/fuzz.h"
#include "models/host.h"
#include "models/istio.h"
#include "models/scenario.h"
#include "sim/time.h"

static HostDomainTable *domains; /* a route config's virtual hosts */
static HostSniTable *snis;       /* a listener's filter chains */

static void tables_init(void)
{
    static const char *const d[] = { "counter.example.com", "*.example.com",
                                     "*-api.example.com", "shop.*",
                                     "Mixed.Case.COM", "*" };
    static const char *const n[] = { "counter.example.com", "*.example.com",
                                     "*.com", "a.b.c.d" };
    domains = host_domain_table_new();
    for (guint i = 0; i < G_N_ELEMENTS(d); i++) {
        host_domain_table_add(domains, d[i], GUINT_TO_POINTER(i + 1));
    }
    host_domain_table_finish(domains);
    snis = host_sni_table_new();
    for (guint i = 0; i < G_N_ELEMENTS(n); i++) {
        host_sni_table_add(snis, n[i], GUINT_TO_POINTER(i + 1));
    }
    host_sni_table_set_match_all(snis, GUINT_TO_POINTER(100));
}

static void check_url(const char *text)
{
    Url u;
    char *msg = NULL;
    if (!url_parse(text, &u, &msg)) {
        FUZZ_CHECK(msg != NULL && msg[0] != '\0', "url_parse: no message");
        g_free(msg);
        return;
    }
    FUZZ_CHECK(msg == NULL, "url_parse: message on success");
    FUZZ_CHECK(u.scheme <= URL_TLS, "url_parse: scheme out of range");
    FUZZ_CHECK(u.host != NULL && u.host[0] != '\0', "url_parse: no host");
    FUZZ_CHECK(u.port >= 1 && u.port <= 65535, "url_parse: port range");
    FUZZ_CHECK(u.path != NULL && u.path[0] != '\0', "url_parse: no path");
    FUZZ_CHECK(u.authority != NULL &&
                   g_str_has_prefix(u.authority, u.host),
               "url_parse: authority is not host[:port]");
    FUZZ_CHECK(url_scheme_name(u.scheme) != NULL, "url_scheme_name");
    /* The parsed parts go on to the gateway: look them up like it does. */
    host_domain_table_lookup(domains, u.authority, NULL, NULL);
    host_sni_table_lookup(snis, u.host, NULL);
    url_clear(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (domains == NULL) {
        tables_init();
    }
    g_autofree char *text = g_strndup((const char *)data, size);
    check_url(text);

    SimTime t = 0;
    char *msg = NULL;
    if (sim_time_parse(text, &t, &msg)) {
        FUZZ_CHECK(t >= 0, "sim_time_parse: negative");
        g_autofree char *back = sim_time_format(t);
        SimTime again = -1;
        FUZZ_CHECK(sim_time_parse(back, &again, NULL) && again == t,
                   "sim_time_format does not parse back to the same time");
    } else {
        FUZZ_CHECK(msg != NULL, "sim_time_parse: no message");
        g_free(msg);
        msg = NULL;
    }
    double rate = 0;
    if (sim_rate_parse(text, &rate, &msg)) {
        FUZZ_CHECK(rate > 0 && rate < G_MAXDOUBLE, "sim_rate_parse: range");
    } else {
        g_free(msg);
    }

    /* Host names: the input as one name, and split in two at a newline. */
    const char *nl = strchr(text, '\n');
    g_autofree char *a = nl != NULL ? g_strndup(text, (gsize)(nl - text))
                                    : g_strdup(text);
    const char *b = nl != NULL ? nl + 1 : "*.example.com";
    host_domain_table_lookup(domains, a, NULL, NULL);
    host_sni_table_lookup(snis, a, NULL);
    gboolean m1 = host_matches(a, b), m2 = host_matches(b, a);
    FUZZ_CHECK(m1 == m2, "host_matches is not symmetric");
    if (host_subset_of(a, b)) {
        FUZZ_CHECK(host_matches(a, b), "a subset that does not match");
    }
    char *ns = NULL;
    const char *name = host_split_namespace(a, &ns);
    FUZZ_CHECK(name != NULL, "host_split_namespace: no name");
    g_free(ns);
    return 0;
}
