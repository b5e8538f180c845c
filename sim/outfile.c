/* outfile.c: files written whole or not at all (see outfile.h): a
 * temporary file beside the path, renamed over it once complete. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sim/outfile.h"

struct _OutFile {
    char *path; /* the file to replace */
    char *tmp;  /* "<path>.XXXXXX", open on fp */
    FILE *fp;
};

/* "PATH:1:1: error: @what: ..." as the command line prints it whole
 * (cli_print_error()), with errno @e. */
static void set_errno_error(GError **error, int e, const char *what,
                            const char *path)
{
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                "%s:1:1: error: %s: %s", path, what, g_strerror(e));
}

OutFile *out_file_open(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autofree char *tmp = g_strconcat(path, ".XXXXXX", NULL);
    int fd = g_mkstemp_full(tmp, O_WRONLY, 0666);
    if (fd < 0) {
        set_errno_error(error, errno, "cannot create", path);
        return NULL;
    }
    FILE *fp = fdopen(fd, "wb");
    if (fp == NULL) {
        int e = errno;
        close(fd);
        g_unlink(tmp);
        set_errno_error(error, e, "cannot create", path);
        return NULL;
    }
    OutFile *f = g_new0(OutFile, 1);
    f->path = g_strdup(path);
    f->tmp = g_steal_pointer(&tmp);
    f->fp = fp;
    return f;
}

FILE *out_file_stream(OutFile *f)
{
    g_return_val_if_fail(f != NULL, NULL);
    return f->fp;
}

static void out_file_free(OutFile *f)
{
    g_free(f->path);
    g_free(f->tmp);
    g_free(f);
}

gboolean out_file_commit(OutFile *f, GError **error)
{
    g_return_val_if_fail(f != NULL, FALSE);
    /* ferror() first: a failed write that fclose()'s flush does not
     * repeat still fails the file. */
    gboolean wrote = ferror(f->fp) == 0;
    int e = errno;
    if (fclose(f->fp) != 0) {
        wrote = FALSE;
        e = errno;
    }
    f->fp = NULL;
    if (!wrote) {
        g_unlink(f->tmp);
        set_errno_error(error, e != 0 ? e : EIO, "cannot write", f->path);
        out_file_free(f);
        return FALSE;
    }
    if (g_rename(f->tmp, f->path) != 0) {
        e = errno;
        g_unlink(f->tmp);
        set_errno_error(error, e, "cannot write", f->path);
        out_file_free(f);
        return FALSE;
    }
    out_file_free(f);
    return TRUE;
}

void out_file_abort(OutFile *f)
{
    if (f == NULL) {
        return;
    }
    if (f->fp != NULL) {
        fclose(f->fp);
        g_unlink(f->tmp);
    }
    out_file_free(f);
}

gboolean out_file_write(const char *path,
                        const void *data,
                        gssize len,
                        GError **error)
{
    g_return_val_if_fail(path != NULL && (data != NULL || len == 0), FALSE);
    gsize n = len < 0 ? strlen(data) : (gsize)len;
    OutFile *f = out_file_open(path, error);
    if (f == NULL) {
        return FALSE;
    }
    errno = 0;
    /* A short write leaves ferror() set: out_file_commit() reports it. */
    (void)fwrite(data, 1, n, f->fp);
    return out_file_commit(f, error);
}
