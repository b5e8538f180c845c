/* replay-window.h: the reorder window of a replayed trace (models/replay.c):
 * lines held until they are safe to replay, taken out in start order. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A line waiting in the window. */
typedef struct {
    gint64 t_ns;  /* start time, ns since the Unix epoch */
    guint64 line; /* line number: ties keep file order */
    char *block;  /* owned (g_free): what its request needs, laid out by
                   * models/replay.c */
} ReplayItem;

typedef struct _ReplayWindow ReplayWindow;

ReplayWindow *replay_window_new(void);
/* Frees the window and the blocks it holds. NULL: no-op. */
void replay_window_free(ReplayWindow *w);
/* Lines held. */
guint replay_window_len(const ReplayWindow *w);
/* The earliest line held, (t_ns, line) order; NULL when empty. Valid until
 * the next push or pop. */
const ReplayItem *replay_window_min(ReplayWindow *w);
/* Adds @it (its block is the window's now). Cost: O(1) for a line within
 * 131 s after the earliest held (and not before the last taken out), in
 * any order; O(log n) for one outside. A bucket of lines with times finer
 * than a ms that came out of order is sorted once, when it comes first. */
void replay_window_push(ReplayWindow *w, const ReplayItem *it);
/* Takes the earliest line out (its block is the caller's). The window
 * must not be empty. */
ReplayItem replay_window_pop(ReplayWindow *w);
/* Frees every block held and empties the window. */
void replay_window_clear(ReplayWindow *w);

G_END_DECLS
