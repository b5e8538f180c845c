/* fuzz-common.c: helpers every fuzz target links (see fuzz.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"

/* GLib makes fatal messages raise SIGTRAP, which libFuzzer does not catch:
 * abort() instead, so the input is saved as a crash. */
static void log_handler(const char *domain, GLogLevelFlags level,
                        const char *message, gpointer data)
{
    if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL |
                  G_LOG_LEVEL_WARNING)) != 0) {
        fprintf(stderr, "%s: %s\n", domain != NULL ? domain : "(none)",
                message);
        abort();
    }
}

void fuzz_setup(void)
{
    static gboolean done;
    if (done) {
        return;
    }
    done = TRUE;
    g_log_set_default_handler(log_handler, NULL);
}

G_NORETURN void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what);
    abort();
}

/* Does @m start with "FILE:LINE:COLUMN: error: "? FILE may hold colons. */
static gboolean is_located(const char *m)
{
    const char *e = strstr(m, ": error: ");
    if (e == NULL || e == m) {
        return FALSE;
    }
    /* Back over ":COLUMN" and ":LINE", each at least one digit. */
    const char *p = e;
    for (int field = 0; field < 2; field++) {
        const char *digits_end = p;
        while (p > m && g_ascii_isdigit(p[-1])) {
            p--;
        }
        if (p == digits_end || p == m || p[-1] != ':') {
            return FALSE;
        }
        p--;
    }
    return p > m; /* a file name before the line */
}

void fuzz_check_located(const GError *error)
{
    if (error == NULL) {
        fuzz_fail(__FILE__, __LINE__, "failed without a GError");
    }
    if (!is_located(error->message)) {
        fprintf(stderr, "unlocated error: %s\n", error->message);
        fuzz_fail(__FILE__, __LINE__, "error message without FILE:LINE:COL");
    }
}

const char *fuzz_srcdir(void)
{
    const char *d = g_getenv("SIM_SRCDIR");
    return d != NULL && d[0] != '\0' ? d : ".";
}
