/* run-standalone.c: a main() for the fuzz targets without libFuzzer, so
 * every target also builds with the project's compiler and runs in make
 * check: it feeds each corpus file to LLVMFuzzerTestOneInput once.
 *   fuzz/corpus-NAME [FILE|DIR]...
 * Without arguments it reads the corpora named at build time (FUZZ_CORPORA,
 * colon-separated folders under $SIM_SRCDIR). A crash is the test failing;
 * otherwise it exits 0 (77, skipped, when it found no input at all). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"

#ifndef FUZZ_CORPORA
#error "define FUZZ_CORPORA, e.g. -DFUZZ_CORPORA='\"fuzz/corpus/url\"'"
#endif

/* Targets that need no start-up leave LLVMFuzzerInitialize undefined. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static guint n_run;

static void run_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) error = NULL;
    if (!g_file_get_contents(path, &data, &len, &error)) {
        fprintf(stderr, "run-standalone: %s\n", error->message);
        exit(1);
    }
    /* A copy of exactly @len bytes, so ASan sees reads past the end; never
     * NULL, as libFuzzer never passes NULL (an empty file is 0 bytes). */
    uint8_t *copy = g_malloc(len > 0 ? len : 1);
    memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    g_free(copy);
    n_run++;
}

static void run_path(const char *path)
{
    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        run_file(path);
        return;
    }
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while (dir != NULL && (n = g_dir_read_name(dir)) != NULL) {
        if (n[0] != '.') {
            g_ptr_array_add(names, g_build_filename(path, n, NULL));
        }
    }
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0); /* a stable order */
    for (guint i = 0; i < names->len; i++) {
        run_path(g_ptr_array_index(names, i));
    }
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            run_path(argv[i]);
        }
    } else {
        g_auto(GStrv) dirs = g_strsplit(FUZZ_CORPORA, ":", -1);
        for (guint i = 0; dirs[i] != NULL; i++) {
            g_autofree char *p = g_build_filename(fuzz_srcdir(), dirs[i], NULL);
            if (g_file_test(p, G_FILE_TEST_IS_DIR)) {
                run_path(p);
            }
        }
    }
    printf("%s: %u inputs, no crash\n", argv[0], n_run);
    return n_run > 0 ? 0 : 77;
}
