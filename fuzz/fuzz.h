/* fuzz.h: what the fuzz targets (fuzz-*.c), their shared helpers and the
 * standalone driver share. A target is built twice: with libFuzzer (make
 * fuzz) and with run-standalone.c, which replays corpus files in make check. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/* The libFuzzer entry points. Initialize is optional (weak in the drivers). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Once per process: GLib warnings and criticals abort (a failed
 * g_return_if_fail is a finding), other log levels are dropped. */
void fuzz_setup(void);

/* Aborts unless @error is set and its message is located as DESIGN.md
 * principle 7 asks: "FILE:LINE:COLUMN: error: ...". */
void fuzz_check_located(const GError *error);

/* The source tree (SIM_SRCDIR, else "."), for targets that read seed
 * configurations. (transfer none) */
const char *fuzz_srcdir(void);

/* Aborts with @what on stderr when @cond is false (asserts that stay in
 * every build, whatever G_DISABLE_ASSERT says). */
#define FUZZ_CHECK(cond, what)                                                 \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fuzz_fail(__FILE__, __LINE__, (what));                             \
        }                                                                      \
    } while (0)
G_NORETURN void fuzz_fail(const char *file, int line, const char *what);

G_END_DECLS
