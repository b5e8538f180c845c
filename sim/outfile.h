/* outfile.h: a file written beside its path and renamed over it, so that
 * readers see the old file or the whole new one, never half of either. */
#pragma once

#include <stdio.h>

#include <glib.h>

G_BEGIN_DECLS

/* Why not g_file_set_contents(): it fsyncs a file it replaces (ext4's
 * zero-length-after-a-crash workaround), twice a file, and a run writes
 * eleven: on a busy disk that was most of a small run's wall time (a
 * 100k-request bench run took 0.56 s of wall time for 0.17 s of CPU).
 * A simulator's outputs are made again by running it again; what they
 * must never be is half written, which the rename alone ensures. */
typedef struct _OutFile OutFile;

/* A temporary file "@path.XXXXXX" (mode 0666 less the umask, as the
 * file would get), open for writing. Returns: (transfer full) NULL with
 * @error when it cannot be made. Errors here are G_FILE_ERROR and read
 * "PATH:1:1: error: cannot create: REASON" (or "cannot write"). */
OutFile *out_file_open(const char *path, GError **error);

/* Where to write: (transfer none) valid until commit or abort. */
FILE *out_file_stream(OutFile *f);

/* Closes the temporary file and renames it over the path; frees @f.
 * FALSE with @error ("cannot write") when a write, the close or the
 * rename failed: then the temporary file is gone and the path untouched. */
gboolean out_file_commit(OutFile *f, GError **error);

/* Closes and removes the temporary file; frees @f. NULL: no-op. */
void out_file_abort(OutFile *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OutFile, out_file_abort)

/* @path's contents become the @len bytes at @data (-1: a string), as
 * out_file_open(), a write and out_file_commit(). */
gboolean out_file_write(const char *path,
                        const void *data,
                        gssize len,
                        GError **error);

G_END_DECLS
