/* fuzz-replay.c: arbitrary bytes as a replayed trace (models/replay.h): each
 * line through the parsers of the three formats (istio-json, istio-text,
 * csv), with and without a scenario's port map. A line is a request, a
 * skip or a bad line with a reason; a request is well formed. */
#include "config.h"

#include <string.h>

#include "fuzz/fuzz.h"
#include "models/replay.h"

static Scenario *article; /* the port map: gateway Service and listeners */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    g_autofree char *p =
        g_build_filename(fuzz_srcdir(), "scenarios", "article.yaml", NULL);
    article = scenario_load(p, NULL); /* NULL: fuzz without the map */
    return 0;
}

static void check_record(const ReplayRecord *rec)
{
    FUZZ_CHECK(rec->scheme <= URL_TLS, "scheme out of range");
    FUZZ_CHECK(rec->lb_port >= -1 && rec->lb_port <= 65535,
               "lb_port out of range");
    FUZZ_CHECK(rec->method != NULL && rec->host != NULL &&
                   rec->authority != NULL && rec->path != NULL,
               "a request with a NULL field");
    FUZZ_CHECK(memchr(rec->client_ip, '\0', sizeof rec->client_ip) != NULL,
               "client_ip not terminated");
    gboolean stream = rec->scheme == URL_TCP || rec->scheme == URL_TLS;
    FUZZ_CHECK(stream || rec->path[0] != '\0', "an HTTP request without path");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    g_autofree char *text = g_strndup((const char *)data, size);
    g_auto(GStrv) lines = g_strsplit(text, "\n", 256);
    static const ReplayFormat fmts[] = { REPLAY_ISTIO_JSON, REPLAY_ISTIO_TEXT,
                                         REPLAY_CSV };
    for (guint f = 0; f < G_N_ELEMENTS(fmts); f++) {
        for (guint m = 0; m < 2; m++) {
            g_autoptr(ReplayParser) p =
                replay_parser_new(m == 0 ? NULL : article, fmts[f]);
            for (guint i = 0; lines[i] != NULL; i++) {
                ReplayRecord rec;
                char *why = NULL;
                ReplayLine r = replay_parser_line(p, lines[i], i == 0, &rec,
                                                  &why);
                FUZZ_CHECK(r == REPLAY_LINE_OK || r == REPLAY_LINE_SKIP ||
                               r == REPLAY_LINE_BAD,
                           "replay_parser_line: result out of range");
                if (r == REPLAY_LINE_BAD) {
                    FUZZ_CHECK(why != NULL && why[0] != '\0',
                               "a bad line without a reason");
                    g_free(why);
                    continue;
                }
                if (r == REPLAY_LINE_OK) {
                    check_record(&rec);
                }
                replay_record_clear(&rec);
            }
            replay_parser_lb_port(p, lines[0] != NULL ? lines[0] : "");
        }
    }
    gint64 ns = 0;
    replay_parse_time(text, &ns);
    ReplayFormat out;
    replay_format_parse(text, &out);
    return 0;
}
