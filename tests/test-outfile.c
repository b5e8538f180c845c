/* test-outfile.c: sim/outfile.h: a file replaced whole through a temporary
 * file beside it, no temporary file left behind, errors that name the path. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "sim/outfile.h"

/* The names in @dir, sorted, joined by spaces. */
static char *listing(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL) {
        g_ptr_array_add(names, g_strdup(n));
    }
    g_ptr_array_sort(names, (GCompareFunc)(void *)g_strcmp0);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

static char *contents(const char *path)
{
    char *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

/* Written, replaced, streamed, aborted: the path holds the last whole
 * file, the folder nothing else, the mode what the umask leaves of 0666. */
static void test_write_replace_abort(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("outfile-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "results.json", NULL);
    GError *error = NULL;
    assert_true(out_file_write(path, "first", -1, &error));
    assert_true(out_file_write(path, "second\0x", 8, &error));
    g_autofree char *second = contents(path);
    assert_memory_equal(second, "second\0x", 8);

    OutFile *f = out_file_open(path, &error);
    assert_non_null(f);
    fprintf(out_file_stream(f), "third %d", 3);
    g_autofree char *mid = contents(path); /* not yet */
    assert_memory_equal(mid, "second\0x", 8);
    assert_true(out_file_commit(f, &error));
    g_autofree char *third = contents(path);
    assert_string_equal(third, "third 3");

    f = out_file_open(path, &error);
    fputs("never", out_file_stream(f));
    out_file_abort(f);
    out_file_abort(NULL);
    g_autofree char *still = contents(path);
    assert_string_equal(still, "third 3");
    g_autofree char *names = listing(dir);
    assert_string_equal(names, "results.json");

    mode_t mask = umask(022);
    umask(mask);
    GStatBuf st;
    assert_int_equal(g_stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
    g_remove(path);
    g_rmdir(dir);
}

/* A folder that is not there: a G_FILE_ERROR located at the path,
 * nothing written; a folder where the file should go: the rename fails,
 * located, and no temporary file is left. */
static void test_errors_name_the_path(void **state)
{
    GError *error = NULL;
    assert_false(out_file_write("/nonexistent-dir/x/a.svg", "x", 1, &error));
    assert_true(error->domain == G_FILE_ERROR);
    assert_int_equal(error->code, G_FILE_ERROR_NOENT);
    assert_true(g_str_has_prefix(error->message, "/nonexistent-dir/x/a.svg:1:1: "
                                                 "error: cannot create: "));
    g_clear_error(&error);
    assert_null(out_file_open("/nonexistent-dir/x/a.svg", &error));
    assert_true(g_str_has_prefix(error->message, "/nonexistent-dir/x/a.svg:1:1: "
                                                 "error: cannot create: "));
    g_clear_error(&error);

    g_autofree char *dir = g_dir_make_tmp("outfile-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "results.json", NULL);
    assert_int_equal(g_mkdir(path, 0755), 0);
    assert_false(out_file_write(path, "x", 1, &error));
    g_autofree char *want = g_strdup_printf("%s:1:1: error: cannot write: ",
                                            path);
    assert_true(g_str_has_prefix(error->message, want));
    g_clear_error(&error);
    g_autofree char *names = listing(dir);
    assert_string_equal(names, "results.json");
    g_rmdir(path);
    g_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_replace_abort),
        cmocka_unit_test(test_errors_name_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
