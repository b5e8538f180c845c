/* png-check.c: `png-check FILE...` exits 1 naming the first PNG that
 * png_valid_check() refuses (check-run.sh, on the charts of a run). */
#include "config.h"

#include <stdio.h>

#include <glib.h>

#include "tests/png-valid.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: png-check FILE.png...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        g_autofree char *data = NULL;
        gsize len = 0;
        g_autoptr(GError) error = NULL;
        if (!g_file_get_contents(argv[i], &data, &len, &error)) {
            fprintf(stderr, "png-check: %s\n", error->message);
            return 1;
        }
        g_autofree char *why =
            png_valid_check((const guint8 *)data, len, NULL, NULL, NULL);
        if (why != NULL) {
            fprintf(stderr, "png-check: %s: %s\n", argv[i], why);
            return 1;
        }
    }
    return 0;
}
